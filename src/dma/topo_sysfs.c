// SPDX-License-Identifier: MIT
/*
 * What hwloc does not know, from sysfs (under the topology's sysfs root, so
 * tests point it at a fake tree): the ACS capability of the bridges (its
 * control register, from the bridge's config space), the bound drivers,
 * IOMMU units, groups and their domain type, and the peer-memory modules.
 * Everything read here is optional: what cannot be read stays unknown.
 * Config space is parsed through one bounds-checked reader (cfg16/cfg32)
 * and its capability list is followed a bounded number of hops, so a
 * truncated or looping list ends the walk instead of the process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "dma/topo_int.h"

#define CFG_EXT 0x100 /* PCIe extended capabilities start here */
#define CFG_MAX 4096
#define ECAP_ACS 0x000d

static bool cfg16(const uint8_t *cfg, size_t len, size_t off, uint16_t *v)
{
	if (off > len || len - off < 2)
		return false;
	*v = (uint16_t)(cfg[off] | cfg[off + 1] << 8);
	return true;
}

static bool cfg32(const uint8_t *cfg, size_t len, size_t off, uint32_t *v)
{
	uint16_t lo, hi;

	if (!cfg16(cfg, len, off, &lo) || !cfg16(cfg, len, off + 2, &hi))
		return false;
	*v = (uint32_t)hi << 16 | lo;
	return true;
}

int topo_acs_parse(const uint8_t *cfg, size_t len, uint16_t *ctrl)
{
	size_t off = CFG_EXT;
	unsigned hop;
	uint32_t h;

	if (!cfg || len < CFG_EXT + 4)
		return -ENODATA;
	/* each capability takes at least 4 bytes: more hops is a loop */
	for (hop = 0; hop < (CFG_MAX - CFG_EXT) / 4; hop++) {
		if (!cfg32(cfg, len, off, &h) || h == 0 || h == 0xffffffffu)
			return 0;
		if ((h & 0xffff) == ECAP_ACS)
			return cfg16(cfg, len, off + 6, ctrl) ? 1 : -ENODATA;
		off = h >> 20;
		if (off < CFG_EXT || off & 3)
			return 0;
	}
	return 0;
}

static void path_of(const struct sl_dma_topo *t, char *buf, size_t len,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A path under the sysfs root; a truncated one just fails to open. */
static void path_of(const struct sl_dma_topo *t, char *buf, size_t len,
		    const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = (size_t)snprintf(buf, len, "%s/", t->sysfs);
	if (n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

int topo_acs_read(const struct sl_dma_topo *t, const char *bus_id,
		  uint16_t *ctrl)
{
	uint8_t cfg[CFG_MAX];
	char path[PATH_MAX];
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	path_of(t, path, sizeof(path), "bus/pci/devices/%s/config", bus_id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return (int)r;
	}
	while (n < sizeof(cfg)) {
		r = read(fd, cfg + n, sizeof(cfg) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	r = topo_acs_parse(cfg, n, ctrl);
	if (r != -ENODATA)
		return (int)r;
	/* conventional PCI has no extended space; a short read of a longer
	 * file is the kernel keeping it from an unprivileged reader */
	return st.st_size <= CFG_EXT && n == (size_t)st.st_size ? 0 : -EACCES;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		ret = -EIO;
	fclose(f);
	if (!ret)
		buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

/* The last component of a symlink's target ("../../bus/pci/drivers/ice"
 * gives "ice"). */
static int link_base(const char *path, char *buf, size_t len)
{
	char tgt[PATH_MAX];
	ssize_t n = readlink(path, tgt, sizeof(tgt) - 1);
	const char *s;

	if (n < 0)
		return -errno;
	tgt[n] = '\0';
	s = strrchr(tgt, '/');
	sl_strlcpy(buf, s ? s + 1 : tgt, len);
	return 0;
}

void topo_sysfs_dev(const struct sl_dma_topo *t, struct topo_dev *d)
{
	char path[PATH_MAX], grp[32], *end;
	long g;

	path_of(t, path, sizeof(path), "bus/pci/devices/%s/driver",
		d->d.bus_id);
	if (link_base(path, d->d.driver, sizeof(d->d.driver)))
		d->d.driver[0] = '\0';
	path_of(t, path, sizeof(path), "bus/pci/devices/%s/iommu_group",
		d->d.bus_id);
	if (!link_base(path, grp, sizeof(grp))) {
		g = strtol(grp, &end, 10);
		if (end != grp && !*end && g >= 0 && g < 1000000)
			d->d.iommu_group = (int)g;
	}
}

/* Entries of a directory but . and ..; -1 when it cannot be read. */
static int count_dir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

bool topo_module(const struct sl_dma_topo *t, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	path_of(t, path, sizeof(path), "module/%s", name);
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

bool topo_module_proprietary(const struct sl_dma_topo *t, const char *name)
{
	char path[PATH_MAX], taint[32];

	path_of(t, path, sizeof(path), "module/%s/taint", name);
	return !read_line(path, taint, sizeof(taint)) && strchr(taint, 'P');
}

int topo_group_type(const struct sl_dma_topo *t, int group, char *buf,
		    size_t len)
{
	char path[PATH_MAX];

	path_of(t, path, sizeof(path), "kernel/iommu_groups/%d/type", group);
	return read_line(path, buf, len);
}

void topo_sysfs_host(struct sl_dma_topo *t)
{
	char path[PATH_MAX];
	unsigned i;
	int n;

	path_of(t, path, sizeof(path), "class/iommu");
	n = count_dir(path);
	t->host.iommus = n < 0 ? 0 : n;
	path_of(t, path, sizeof(path), "kernel/iommu_groups");
	n = count_dir(path);
	t->host.iommu_groups = n > 0 ? n : -1;
	/* the devices' groups first: those are the ones that matter */
	for (i = 0; i < t->n && !t->host.iommu_type[0]; i++)
		if (t->devs[i].d.iommu_group >= 0 &&
		    topo_group_type(t, t->devs[i].d.iommu_group,
				    t->host.iommu_type,
				    sizeof(t->host.iommu_type)))
			t->host.iommu_type[0] = '\0';
	if (!t->host.iommu_type[0] && t->host.iommu_groups > 0 &&
	    topo_group_type(t, 0, t->host.iommu_type,
			    sizeof(t->host.iommu_type)))
		t->host.iommu_type[0] = '\0';
	t->host.peermem = topo_module(t, "nvidia_peermem") ||
			  topo_module(t, "nv_peer_mem");
	t->host.nvidia_fs = topo_module(t, "nvidia_fs");
}
