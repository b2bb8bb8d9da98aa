/* SPDX-License-Identifier: MIT */
/*
 * Live telemetry: a process's open ports, pools and RDMA QPs, answered on
 * a unix socket while it runs, in the manner of DPDK's telemetry. Opt-in:
 * SLUICE_TELEMETRY=1 (the default path) or SLUICE_TELEMETRY=PATH in the
 * environment starts it at the first sl_port_open; sl_telemetry_start
 * starts it explicitly. `sluice stats PID` and `sluice top` are its
 * clients; docs/telemetry.md has the commands and the answers.
 *
 * The socket is SOCK_SEQPACKET: a client gets a greeting,
 * {"version": "...", "pid": N, "max_output_len": N}, then sends one query
 * per message ("/ports", "/port/stats,0", ...) and gets one JSON object
 * per message back. The default path is /run/sluice/PID.sock, in a
 * directory made 0700.
 *
 * The server is one thread, which reads the counters the data path already
 * keeps (relaxed atomic loads; nothing is added to the fast path) and
 * never holds what a burst needs. It serves at most a few clients at
 * once, drops one that stays idle for a few seconds or does not read its
 * answers, and refuses more. A child of fork() has no server (nor the
 * parent's socket); it may start its own.
 */
#ifndef SLUICE_TELEMETRY_H
#define SLUICE_TELEMETRY_H

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Start the server on a unix socket at path, or at the default path if
 * path is NULL. A stale socket file at path (no one listening) is
 * replaced; a live one is not (-EADDRINUSE). 0 or -errno (-EALREADY: a
 * server runs already), with the reason in sl_last_error(). Thread-safe.
 * Control path.
 */
SL_API int sl_telemetry_start(const char *path);

/* Stop the server and remove its socket. 0, or -ENOENT if none runs.
 * Thread-safe. Control path. */
SL_API int sl_telemetry_stop(void);

/* The socket's path while a server runs, else "". Thread-safe. */
SL_API const char *sl_telemetry_path(void);

#ifdef __cplusplus
}
#endif
#endif
