/* SPDX-License-Identifier: MIT */
/*
 * Decorators: what the port layer adds around any driver's bursts when the
 * spec asks for it (capture=FILE, fault=..., seed=N). Internal to port/.
 */
#ifndef SL_PORT_DECO_H
#define SL_PORT_DECO_H

#include "port/driver.h"

/* Set port->deco from the spec's capture/fault/seed keys (left NULL when
 * there are none). 0, or -errno with a message naming the spec. Called
 * after the driver's open, so n_queues is known. */
int sl_deco_open(struct sl_port *port, const struct sl_spec *spec);

/* Flush the capture and free every packet the decorators hold. */
void sl_deco_close(struct sl_port *port);

/* The bursts with decorators: same contract as sl_rx_burst/sl_tx_burst. */
uint16_t sl_deco_rx(struct sl_port *port, uint16_t queue, struct sl_pkt **pkts,
		    uint16_t n);
uint16_t sl_deco_tx(struct sl_port *port, uint16_t queue, struct sl_pkt **pkts,
		    uint16_t n);

/* Decorator counters, like sl_port_xstats: fills up to n, returns how many
 * there are. */
unsigned sl_deco_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n);

#endif
