/* SPDX-License-Identifier: MIT */
/*
 * What the udp driver offers beyond the driver interface: the socket
 * behind a port, for tests that read a socket option back (SO_BUSY_POLL)
 * and for tools. Internal: not in the public headers.
 */
#ifndef SL_DRIVERS_UDP_H
#define SL_DRIVERS_UDP_H

struct sl_port;

/* The port's UDP socket, or -1 when port is not a udp port (a decorated
 * one is fine). The port keeps it: do not close it or receive from it.
 * Control path. */
int sl_udp_socket_fd(struct sl_port *port);

#endif
