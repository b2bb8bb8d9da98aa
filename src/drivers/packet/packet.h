/* SPDX-License-Identifier: MIT */
/*
 * What the packet driver offers beyond the driver interface: the socket
 * behind a queue, for tests that read a socket option back (SO_BUSY_POLL,
 * PACKET_VERSION) and for tools. Internal: not in the public headers.
 */
#ifndef SL_DRIVERS_PACKET_H
#define SL_DRIVERS_PACKET_H

#include <stdint.h>

struct sl_port;

/* The AF_PACKET socket of the port's queue, or -1 when port is not a
 * packet port (a decorated one is fine) or has no such queue. The port
 * keeps it: do not close it or receive from it. Control path. */
int sl_packet_queue_fd(struct sl_port *port, uint16_t queue);

#endif
