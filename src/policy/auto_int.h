/* SPDX-License-Identifier: MIT */
/*
 * The auto: meta-driver's private state, shared by its two files: auto.c
 * (open, health checks, switching, bursts) and auto_ctl.c (the control
 * calls that read or change the port in use: xstats, events, path, fd,
 * match, receive times).
 */
#ifndef SL_POLICY_AUTO_INT_H
#define SL_POLICY_AUTO_INT_H

#include <net/if.h>
#include <pthread.h>

#include <sluice/auto.h>
#include <sluice/probe.h>

#include "port/driver.h"

struct mnl_socket;

#define AUTO_CHECK_NS (100 * 1000 * 1000ull) /* health check period */
#define AUTO_MAX_EVENTS 16

struct auto_qflag {
	int busy;
} SL_CACHE_ALIGNED;

struct auto_priv {
	/* read by every burst */
	struct sl_port *inner;
	int switching;
	uint64_t next_check_ns; /* queue 0's thread only */
	bool dead; /* no path left */
	bool waiting; /* dead because the interface went: watch for it */

	/* control */
	char iface[IFNAMSIZ];
	enum sl_risk risk;
	char match[256];
	uint32_t queues;
	bool queues_given;
	enum sl_path path;
	int ifindex;
	int tried_ifindex; /* while waiting: the last one that failed to open */
	uint64_t netns; /* the port's network namespace (inode), 0: unknown */
	bool warned_ns; /* a check came from another namespace: said once */
	uint32_t xdp_prog_id; /* ours, on xdp paths; 0 otherwise */
	struct mnl_socket *nl; /* health checks, in the port's namespace */
	struct sl_port_qstats *inner_qstats; /* the inner port's own */
	struct sl_pool *pool;
	uint32_t ring_size;
	uint16_t port_id;
	unsigned flags;
	pthread_mutex_t ctl; /* switching, xstats, events */
	uint64_t fallbacks;
	uint64_t events_lost;
	unsigned ev_head, ev_n;
	struct sl_auto_event ev[AUTO_MAX_EVENTS];
	struct auto_qflag q[SL_PORT_MAX_QUEUES];
};

extern const struct sl_driver sl_driver_auto;

static inline struct auto_priv *auto_of(struct sl_port *port)
{
	return port && port->drv == &sl_driver_auto ? port->priv : NULL;
}

/* auto_ctl.c: the driver's control entries */
int auto_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n);
const char *auto_path(struct sl_port *port);
int auto_queue_fd(struct sl_port *port, uint16_t queue);
int auto_set_match(struct sl_port *port, const char *text,
		   const struct sl_match *m);
int auto_rx_ts_on(struct sl_port *port);

#endif
