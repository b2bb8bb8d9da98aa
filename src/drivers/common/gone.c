// SPDX-License-Identifier: MIT
/*
 * The device under a port went away; see gone.h. One place, so that every
 * driver words it the same (tests and users match the message).
 */
#include "drivers/common/gone.h"
#include "port/driver.h"

__attribute__((cold)) bool sl_drv_set_gone(struct sl_port *port, int *gone,
					   const char *drv, const char *ifname,
					   int ifindex)
{
	if (__atomic_exchange_n(gone, 1, __ATOMIC_RELAXED))
		return false;
	sl_port_set_state(port, SL_PORT_ERROR,
			  "%s:%s: interface gone (ifindex %d deleted or "
			  "moved out of this namespace)",
			  drv, ifname, ifindex);
	sl_warn("%s:%s: interface gone (ifindex %d deleted or moved out of "
		"this namespace); the port is in ERROR, close it",
		drv, ifname, ifindex);
	return true;
}
