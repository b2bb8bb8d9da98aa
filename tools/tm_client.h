/* SPDX-License-Identifier: MIT */
/*
 * The client side of live telemetry (include/sluice/telemetry.h), shared
 * by `sluice stats` and `sluice top`: finding the sluice processes of this
 * host by their sockets in /run/sluice, and asking one of them for a
 * snapshot of everything it has open.
 */
#ifndef SL_TOOLS_TM_CLIENT_H
#define SL_TOOLS_TM_CLIENT_H

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>

#define TMC_DIR "/run/sluice"

/* The socket paths of the live sluice processes in TMC_DIR, sorted by PID,
 * into paths[0..n) (each TMC_PATH bytes); returns how many there are. A
 * socket nobody answers on whose PID is gone is removed on the way. */
#define TMC_PATH 108
unsigned tmc_discover(char (*paths)[TMC_PATH], unsigned n);

/* The socket of a PID ("1234") or a path (anything with a '/'). */
void tmc_path_of(const char *arg, char path[TMC_PATH]);

/* Connect and read the greeting: a descriptor, or -errno. */
int tmc_connect(const char *path);

/* One query: its answer's value (the object under the command's key), to
 * json_object_put; NULL with errno set and *err (if given) saying why. */
struct json_object *tmc_query(int fd, const char *query, char *err,
			      size_t err_len);

/* A process's /stats, each port with its "xstats" (if xstats): NULL and
 * err on failure. */
struct json_object *tmc_snapshot(const char *path, bool xstats, char *err,
				 size_t err_len);

/* A number member of obj (0 if there is none). */
uint64_t tmc_u64(struct json_object *obj, const char *key);
/* A string member of obj ("" if there is none). */
const char *tmc_str(struct json_object *obj, const char *key);

#endif
