/* SPDX-License-Identifier: MIT */
/*
 * What the drivers over a kernel device (packet, xdp) share when that
 * device goes away (deleted, or moved to another namespace): each driver
 * finds out its own way (a getsockname, an ENXIO), then the port goes to
 * SL_PORT_ERROR once, with the same words on every driver, and its bursts
 * stop calling the kernel.
 */
#ifndef SL_DRIVERS_COMMON_GONE_H
#define SL_DRIVERS_COMMON_GONE_H

#include <stdbool.h>

struct sl_port;

/* Whether the device is gone (*gone set by sl_drv_set_gone). Fast path:
 * one relaxed load, which every burst may make. */
static inline bool sl_drv_gone(const int *gone)
{
	return __atomic_load_n(gone, __ATOMIC_RELAXED);
}

/*
 * The device ifname (ifindex) under the port, opened by driver drv, went
 * away: set *gone (the port's one flag, shared by its queues), and the
 * first time only put the port in SL_PORT_ERROR with "DRV:IFNAME:
 * interface gone (...)" and log it. Returns true if this call set it.
 * Thread-safe (any queue's thread); cold, called once in a port's life.
 */
bool sl_drv_set_gone(struct sl_port *port, int *gone, const char *drv,
		     const char *ifname, int ifindex);

#endif
