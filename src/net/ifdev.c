// SPDX-License-Identifier: MIT
/*
 * Device facts from sysfs (see ifdev.h). virtio features are the string
 * /sys/class/net/IF/device/features: one '0' or '1' per feature bit, bit 0
 * first, as the virtio core prints the negotiated set.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

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
