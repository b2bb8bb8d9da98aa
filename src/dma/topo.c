// SPDX-License-Identifier: MIT
/*
 * The topology object (include/sluice/dma_topo.h): open fills it from hwloc
 * and sysfs once, then every query reads the records, so queries are cheap
 * and thread-safe. The link class is decided here from each device's chain
 * of bridges, the way nvidia-smi and NCCL class paths: where two chains
 * first share a bridge, and what kind of bridge that is.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/opts.h"
#include "dma/topo_int.h"

static const char *const kind_names[] = { "nic", "gpu", "accel", "storage" };
static const char *const link_names[] = { "X",	 "PIX",	 "PXB",
					  "PHB", "NODE", "SYS" };

const char *sl_dma_dev_kind_name(enum sl_dma_dev_kind k)
{
	return (unsigned)k < SL_ARRAY_SIZE(kind_names) ? kind_names[k] : NULL;
}

const char *sl_dma_link_name(enum sl_dma_link l)
{
	return (unsigned)l < SL_ARRAY_SIZE(link_names) ? link_names[l] : NULL;
}

struct topo_dev *topo_add(struct sl_dma_topo *t)
{
	struct topo_dev *d;

	if (t->n == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 16;
		struct topo_dev *nd = realloc(t->devs, cap * sizeof(*nd));

		if (!nd)
			return NULL;
		t->devs = nd;
		t->cap = cap;
	}
	d = &t->devs[t->n++];
	memset(d, 0, sizeof(*d));
	d->d.sz = sizeof(d->d);
	d->d.numa_node = -1;
	d->d.iommu_group = -1;
	return d;
}

void topo_unread(struct sl_dma_topo *t, const char *fmt, ...)
{
	size_t len = strlen(t->host.unread);
	size_t room = sizeof(t->host.unread) - len;
	va_list ap;

	if (room <= 1)
		return;
	if (len) {
		snprintf(t->host.unread + len, room, "; ");
		len = strlen(t->host.unread);
		room = sizeof(t->host.unread) - len;
	}
	va_start(ap, fmt);
	vsnprintf(t->host.unread + len, room, fmt, ap);
	va_end(ap);
}

enum sl_dma_link topo_link(const struct topo_dev *a, const struct topo_dev *b,
			   int *ia, int *ib)
{
	unsigned i, j;

	*ia = *ib = -1;
	if (a == b)
		return SL_DMA_LINK_X;
	for (i = 0; i < a->n_up; i++)
		for (j = 0; j < b->n_up; j++) {
			if (a->up[i].id != b->up[j].id)
				continue;
			*ia = (int)i;
			*ib = (int)j;
			if (a->up[i].host)
				return SL_DMA_LINK_PHB;
			/* a switch's upstream port and its downstream ports
			 * are one hop: under it through one port each */
			return i <= 1 && j <= 1 ? SL_DMA_LINK_PIX :
						  SL_DMA_LINK_PXB;
		}
	/* different host bridges: the NUMA nodes of their attachment decide;
	 * unknown on either side counts as apart */
	if (a->nodeset[0] && !strcmp(a->nodeset, b->nodeset))
		return SL_DMA_LINK_NODE;
	return SL_DMA_LINK_SYS;
}

struct sl_dma_topo *sl_dma_topo_open(const struct sl_dma_topo_opts *opts)
{
	struct sl_dma_topo_opts o;
	struct sl_dma_topo *t;
	const char *xml, *root;
	unsigned i;
	int err;

	if (sl_opts_in(&o, sizeof(o), opts, "sl_dma_topo_open",
		       "sl_dma_topo_opts"))
		return NULL;
	xml = o.xml ? o.xml : getenv("SLUICE_TOPO_XML");
	if (xml && !*xml)
		xml = NULL;
	root = o.sysfs_root ? o.sysfs_root : getenv("SLUICE_SYSFS_ROOT");
	if (!root || !*root)
		root = "/sys";
	t = calloc(1, sizeof(*t));
	if (!t) {
		sl_fail(ENOMEM, "dma topo: out of memory");
		return NULL;
	}
	sl_strlcpy(t->sysfs, root, sizeof(t->sysfs));
	t->host.sz = sizeof(t->host);
	sl_strlcpy(t->host.source, xml ? xml : "live", sizeof(t->host.source));
	err = topo_hwloc_load(t, xml);
	if (err) {
		sl_dma_topo_close(t);
		errno = -err;
		return NULL;
	}
	for (i = 0; i < t->n; i++)
		topo_sysfs_dev(t, &t->devs[i]);
	topo_sysfs_host(t);
	return t;
}

void sl_dma_topo_close(struct sl_dma_topo *t)
{
	if (!t)
		return;
	free(t->devs);
	free(t);
}

unsigned sl_dma_topo_count(const struct sl_dma_topo *t)
{
	return t ? t->n : 0;
}

int sl_dma_topo_dev(const struct sl_dma_topo *t, unsigned i,
		    struct sl_dma_dev *out)
{
	size_t n, sz;

	if (!t || i >= t->n)
		return sl_fail(EINVAL, "sl_dma_topo_dev: no device %u", i);
	if (sl_opts_out(out, sizeof(*out), &n, "sl_dma_topo_dev", "sl_dma_dev"))
		return -EINVAL;
	sz = out->sz;
	memcpy(out, &t->devs[i].d, n);
	out->sz = sz;
	return 0;
}

/* "0000:17:00.0" matches "0000:17:00.0" and "17:00.0" */
static bool bus_id_is(const char *bus_id, const char *name)
{
	size_t a = strlen(bus_id), b = strlen(name);

	if (!strcasecmp(bus_id, name))
		return true;
	return b == 7 && a == 12 && !strcasecmp(bus_id + 5, name);
}

size_t topo_spec_prefix(const char *name)
{
	size_t n = 0;
	bool hex = true;

	while (isalpha((unsigned char)name[n])) {
		if (!isxdigit((unsigned char)name[n]))
			hex = false;
		n++;
	}
	/* "xdp:", "packet:"; "0000:17:00.0" and "dead:..." are bus ids */
	return n && name[n] == ':' && !hex ? n + 1 : 0;
}

int sl_dma_topo_find(const struct sl_dma_topo *t, const char *name)
{
	char iface[32];
	size_t p, n;
	unsigned i, k;

	if (!t || !name || !*name)
		return sl_fail(EINVAL, "sl_dma_topo_find: no name");
	/* a port spec ("xdp:eth0", "packet:eth0,capture=f"): its interface */
	p = topo_spec_prefix(name);
	if (p) {
		n = strcspn(name + p, ":,");
		if (n >= sizeof(iface))
			n = sizeof(iface) - 1;
		memcpy(iface, name + p, n);
		iface[n] = '\0';
		name = iface;
	}
	for (i = 0; i < t->n; i++) {
		const struct topo_dev *d = &t->devs[i];

		if (!strcmp(d->d.name, name) || bus_id_is(d->d.bus_id, name))
			return (int)i;
		for (k = 0; k < TOPO_MAX_ALIAS; k++)
			if (d->alias[k][0] && !strcmp(d->alias[k], name))
				return (int)i;
	}
	return sl_fail(ENODEV,
		       "dma topo: no NIC, GPU or storage device '%s' in the "
		       "topology (%s)",
		       name, t->host.source);
}

int sl_dma_topo_link(const struct sl_dma_topo *t, unsigned a, unsigned b)
{
	int ia, ib;

	if (!t || a >= t->n || b >= t->n)
		return sl_fail(EINVAL, "sl_dma_topo_link: no device %u or %u",
			       a, b);
	return (int)topo_link(&t->devs[a], &t->devs[b], &ia, &ib);
}

int sl_dma_topo_host(const struct sl_dma_topo *t, struct sl_dma_host *out)
{
	size_t n, sz;

	if (!t)
		return sl_fail(EINVAL, "sl_dma_topo_host: no topology");
	if (sl_opts_out(out, sizeof(*out), &n, "sl_dma_topo_host",
			"sl_dma_host"))
		return -EINVAL;
	sz = out->sz;
	memcpy(out, &t->host, n);
	out->sz = sz;
	return 0;
}
