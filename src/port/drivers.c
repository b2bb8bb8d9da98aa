// SPDX-License-Identifier: MIT
/*
 * The driver table: every path a spec can name. A new driver adds its
 * struct sl_driver here and its folder to src/drivers/meson.build. The
 * order is the order "unknown driver" messages list them in.
 */
#include <string.h>

#include "port/driver.h"

const struct sl_driver *const sl_drivers[] = {
	&sl_driver_udp, /* kernel UDP socket */
	&sl_driver_pair, /* in-process link */
	&sl_driver_pcap, /* pcap file */
	&sl_driver_packet, /* AF_PACKET */
#ifdef SL_HAVE_XDP /* the build sets it when libxdp is there */
	&sl_driver_xdp, /* AF_XDP */
#endif
	&sl_driver_auto, /* the best path within the accepted risk */
	NULL,
};

const struct sl_driver *sl_driver_find(const char *name)
{
	const struct sl_driver *const *d;

	for (d = sl_drivers; *d; d++)
		if (strcmp((*d)->name, name) == 0)
			return *d;
	return NULL;
}
