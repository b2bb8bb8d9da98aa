// SPDX-License-Identifier: MIT
/*
 * Device facts from sysfs (see ifdev.h). virtio features are the string
 * /sys/class/net/IF/device/features: one '0' or '1' per feature bit, bit 0
 * first, as the virtio core prints the negotiated set.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/ifdev.h"

#define VIRTIO_F_ACCESS_PLATFORM 33 /* the device uses the DMA API */

static bool driver_is(const char *ifname, const char *want)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/driver", ifname);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	base = strrchr(link, '/');
	return strcmp(base ? base + 1 : link, want) == 0;
}

bool sl_if_zc_blocker(const char *ifname, char *why, size_t len)
{
	char path[PATH_MAX], feat[256] = "";
	FILE *f;

	if (len)
		why[0] = '\0';
	if (!driver_is(ifname, "virtio_net"))
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
