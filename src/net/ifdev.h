/* SPDX-License-Identifier: MIT */
/*
 * Facts about a network device that sysfs tells and netlink does not, for
 * the drivers' error messages and the probe (both above src/net).
 */
#ifndef SL_NET_IFDEV_H
#define SL_NET_IFDEV_H

#include <stdbool.h>
#include <stddef.h>

/*
 * What stops AF_XDP zero-copy on ifname, whose driver (the name ethtool
 * gives, which the caller has) advertises it
 * (the kernel's XDP features say xsk-zerocopy), written in why with the
 * fix; true when something does, false (why = "") when nothing known
 * does. Today: a virtio-net device without VIRTIO_F_ACCESS_PLATFORM, whose
 * queues have no DMA device for the XSK pool (virtnet_xsk_pool_enable
 * answers EINVAL). Reads sysfs of the calling namespace. Control path.
 */
bool sl_if_zc_blocker(const char *ifname, const char *driver, char *why,
		      size_t len);

#endif
