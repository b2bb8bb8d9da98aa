// SPDX-License-Identifier: MIT
/*
 * Device facts (see ifdev.h). virtio features are the string
 * /sys/class/net/IF/device/features: one '0' or '1' per feature bit, bit 0
 * first, as the virtio core prints the negotiated set.
 */
#include <errno.h>
#include <limits.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/net.h>

#include "core/log.h"
#include "net/ifdev.h"

#define VIRTIO_F_ACCESS_PLATFORM 33 /* the device uses the DMA API */

bool sl_if_zc_blocker(const char *ifname, const char *driver, char *why,
		      size_t len)
{
	char path[PATH_MAX], feat[256] = "";
	FILE *f;

	if (len)
		why[0] = '\0';
	if (!driver || strcmp(driver, "virtio_net"))
		return false;
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/features",
		 ifname);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(feat, sizeof(feat), f))
		feat[0] = '\0';
	fclose(f);
	if (strlen(feat) <= VIRTIO_F_ACCESS_PLATFORM ||
	    feat[VIRTIO_F_ACCESS_PLATFORM] == '1')
		return false;
	snprintf(why, len,
		 "virtio_net gives zero-copy only to a device using the DMA "
		 "API (VIRTIO_F_ACCESS_PLATFORM); %s does not, the bind fails "
		 "(EINVAL); qemu: iommu_platform=on,disable-legacy=on",
		 ifname);
	return true;
}

/* A request on ifname through an AF_INET datagram socket (fd, or one of its
 * own when fd < 0): 0 or -errno. */
static int if_ioctl(int fd, unsigned long req, const char *ifname,
		    struct ifreq *ifr)
{
	int own = -1, r;

	if (fd < 0) {
		own = fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	sl_strlcpy(ifr->ifr_name, ifname, sizeof(ifr->ifr_name));
	r = ioctl(fd, req, ifr) < 0 ? -errno : 0;
	if (own >= 0)
		close(own);
	return r;
}

int sl_if_hwaddr(const char *ifname, uint8_t *mac, unsigned short *type)
{
	struct ifreq ifr;
	int r;

	memset(&ifr, 0, sizeof(ifr));
	r = if_ioctl(-1, SIOCGIFHWADDR, ifname, &ifr);
	if (r)
		return r;
	if (mac)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, SL_ETH_ALEN);
	if (type)
		*type = ifr.ifr_hwaddr.sa_family;
	return 0;
}

int sl_if_ethtool(int fd, const char *ifname, void *cmd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_data = cmd;
	return if_ioctl(fd, SIOCETHTOOL, ifname, &ifr);
}

uint64_t sl_netns_id(void)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) != 0)
		return 0;
	return (uint64_t)st.st_ino;
}
