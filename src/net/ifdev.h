/* SPDX-License-Identifier: MIT */
/*
 * Facts about a network device that netlink does not tell, or not as
 * simply: sysfs, the hardware-address and ethtool ioctls, and the network
 * namespace the caller is in. One copy each for the layers above (drivers,
 * probe, policy); all control path.
 */
#ifndef SL_NET_IFDEV_H
#define SL_NET_IFDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * ifname's hardware address (SIOCGIFHWADDR): its SL_ETH_ALEN bytes into mac
 * and its ARPHRD_* type into *type, each when not NULL. Returns 0, or
 * -errno with mac and *type untouched.
 */
int sl_if_hwaddr(const char *ifname, uint8_t *mac, unsigned short *type);

/*
 * One ethtool request (SIOCETHTOOL) on ifname: cmd is the struct ethtool_*
 * whose first field names the command. fd is a socket to make it on, or -1
 * for one opened for the call. Returns 0 or -errno.
 */
int sl_if_ethtool(int fd, const char *ifname, void *cmd);

/* The calling thread's network namespace (its inode number), 0 when
 * unknown (no /proc, or a seccomp filter). */
uint64_t sl_netns_id(void);

#endif
