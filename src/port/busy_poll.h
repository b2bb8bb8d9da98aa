/* SPDX-License-Identifier: MIT */
/*
 * Busy polling for the drivers whose receive path is a kernel socket (udp,
 * packet, xdp): one set of socket options and constants, so that the
 * `busy_poll` flag means the same on every driver.
 *
 * With SO_BUSY_POLL set, a non-blocking receive call on an empty socket
 * runs the device's NAPI poll once in the calling thread (net/core/
 * datagram.c: __skb_try_recv_datagram -> sk_busy_loop, for udp, packet
 * and AF_XDP sockets alike) instead of waiting for the softirq.
 * SO_PREFER_BUSY_POLL (Linux 5.11) keeps the softirq from taking the queue
 * back while the application polls; SO_BUSY_POLL_BUDGET (5.11) bounds the
 * frames one poll handles. Raising any of them needs CAP_NET_ADMIN.
 *
 * A poll() with a zero timeout is not a substitute: fs/select.c asks
 * sock_poll to busy-loop only when the global sysctl net.core.busy_poll
 * is set, whatever the socket's own SO_BUSY_POLL says.
 *
 * Busy polling only does something when the socket has recorded the NAPI
 * id of the queue its traffic arrives on (sk_napi_id); on a device without
 * NAPI (a veth without XDP or GRO) the receive call just returns.
 */
#ifndef SL_PORT_BUSY_POLL_H
#define SL_PORT_BUSY_POLL_H

#include <stdbool.h>

struct sl_port;

#define SL_BUSY_POLL_US 20 /* SO_BUSY_POLL: how long one call may spin */
#define SL_BUSY_POLL_BUDGET 64 /* SO_BUSY_POLL_BUDGET: frames per poll */

/*
 * Turn busy polling on for fd: SO_PREFER_BUSY_POLL, SO_BUSY_POLL and
 * SO_BUSY_POLL_BUDGET. 0, or -errno with errno set and *opt (if not NULL)
 * naming the option the kernel refused; the socket is then left as it was
 * (no half set-up). Control path; thread-safe.
 */
int sl_busy_poll_set(int fd, const char **opt);

/*
 * sl_busy_poll_set, recording a refusal in the port's info (path
 * "busy-poll", "NAME: the kernel refused busy polling (OPTION: REASON)",
 * with a hint when it is a missing CAP_NET_ADMIN). A refusal is not an
 * error: the port works without. Returns whether busy polling is on. Call
 * once per socket; only the first refusal of a port is recorded.
 */
bool sl_busy_poll_enable(struct sl_port *port, int fd, const char *name);

/* SO_BUSY_POLL as the kernel holds it for fd (microseconds), or -errno. */
int sl_busy_poll_get(int fd);

#endif
