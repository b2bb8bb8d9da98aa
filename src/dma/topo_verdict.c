// SPDX-License-Identifier: MIT
/*
 * The verdict for (source, target): may the source DMA straight into the
 * target's memory, or must payloads be staged through pinned host memory?
 * Every check runs, so the user sees every reason at once, each with a fix
 * when there is one:
 *
 *  - the path: AF_XDP and the kernel's sockets fill host memory only;
 *  - the target: only GPUs and accelerators have memory to place into;
 *  - the link: peer traffic must stay below the host bridge (PIX, PXB);
 *  - ACS on every bridge the traffic passes: P2P redirect sends it up to
 *    the root complex;
 *  - the drivers: a NIC registers GPU memory through nvidia_peermem or a
 *    dma-buf the GPU's driver exports and the NIC's imports; storage
 *    reaches NVIDIA memory through GPUDirect Storage (nvidia_fs);
 *  - the IOMMU (advice only): translated peer DMA needs mappings that not
 *    every driver makes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/opts.h"
#include "dma/topo_int.h"

#define PCI_VENDOR_NVIDIA 0x10de

static const char *const why_names[] = {
	"host-only", "target",	"link", "acs",	 "acs-unread",
	"no-driver", "peermem", "gds",	"iommu",
};

const char *sl_dma_why_name(enum sl_dma_why w)
{
	return (unsigned)w < SL_ARRAY_SIZE(why_names) ? why_names[w] : NULL;
}

/* GPU drivers that export device memory as dma-buf for peers; nvidia only
 * in its open kernel modules (those do not taint the kernel 'P') */
static const char *const exporters[] = { "amdgpu", "i915", "xe", "habanalabs" };
/* NIC drivers whose RDMA side registers memory from a dma-buf */
static const char *const importers[] = { "mlx5_core", "efa", "bnxt_en" };

static bool in(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

static void add(struct sl_dma_verdict *v, enum sl_dma_why why, bool blocking,
		const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add(struct sl_dma_verdict *v, enum sl_dma_why why, bool blocking,
		const char *fix, const char *fmt, ...)
{
	struct sl_dma_reason *r;
	va_list ap;

	if (blocking)
		v->direct = false;
	if (v->n_reasons == SL_DMA_MAX_REASONS)
		return;
	r = &v->reasons[v->n_reasons++];
	r->why = why;
	r->blocking = blocking;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	sl_strlcpy(r->fix, fix ? fix : "", sizeof(r->fix));
}

/* "GPU gpu0 0000:17:00.0", "NIC eth0 0000:3b:00.0", "NIC 0000:3b:00.0" */
static const char *desc(const struct topo_dev *d, char *buf, size_t len)
{
	static const char *const kinds[] = { "NIC", "GPU", "accelerator",
					     "storage" };
	const char *k = (unsigned)d->d.kind < SL_ARRAY_SIZE(kinds) ?
				kinds[d->d.kind] :
				"device";

	if (!strcmp(d->d.name, d->d.bus_id))
		snprintf(buf, len, "%s %s", k, d->d.bus_id);
	else
		snprintf(buf, len, "%s %s %s", k, d->d.name, d->d.bus_id);
	return buf;
}

static void check_path(struct sl_dma_verdict *v, const char *spec,
		       const char *sd, const char *td)
{
	size_t p = topo_spec_prefix(spec);

	if (!p)
		return;
	if (p == 4 && !strncmp(spec, "xdp:", 4))
		add(v, SL_DMA_WHY_HOST_ONLY, true,
		    "for a direct path use the NIC through RDMA (verbs) "
		    "with peer memory",
		    "%s: AF_XDP fills host memory only (its UMEM is pinned "
		    "user pages): %s can never DMA into %s through it; staged",
		    spec, sd, td);
	else
		add(v, SL_DMA_WHY_HOST_ONLY, true,
		    "for a direct path use the NIC through RDMA (verbs) "
		    "with peer memory",
		    "%.*s: the kernel fills host memory only: %s cannot DMA "
		    "into %s through it; staged",
		    (int)p - 1, spec, sd, td);
}

static void check_link(struct sl_dma_verdict *v, const struct topo_dev *s,
		       const struct topo_dev *t, const char *sd, const char *td)
{
	static const char fix[] =
		"put both under one PCIe switch (slots that `nvidia-smi topo "
		"-m` or lstopo shows as PIX or PXB)";

	switch (v->link) {
	case SL_DMA_LINK_PHB:
		add(v, SL_DMA_WHY_LINK, true, fix,
		    "%s and %s meet only at the host bridge (PHB): peer "
		    "traffic would cross the CPU; staged",
		    sd, td);
		break;
	case SL_DMA_LINK_NODE:
		add(v, SL_DMA_WHY_LINK, true, fix,
		    "%s and %s hang from different host bridges of one NUMA "
		    "node (NODE): peer traffic would cross the CPU; staged",
		    sd, td);
		break;
	case SL_DMA_LINK_SYS:
		add(v, SL_DMA_WHY_LINK, true,
		    "use a NIC and a GPU of one socket, under one PCIe switch",
		    "%s (NUMA %s) and %s (NUMA %s) are on different sockets "
		    "(SYS): peer traffic would cross the SMP interconnect; "
		    "staged",
		    sd, s->nodeset[0] ? s->nodeset : "?", td,
		    t->nodeset[0] ? t->nodeset : "?");
		break;
	default:
		break;
	}
}

static void check_bridge(struct sl_dma_verdict *v, const struct sl_dma_topo *t,
			 const struct topo_bridge *b, const char *sd,
			 const char *td)
{
	char fix[200];
	uint16_t ctrl = 0;
	int ret;

	if (b->host || !b->bus_id[0])
		return;
	ret = topo_acs_read(t, b->bus_id, &ctrl);
	if (ret == 1 && ctrl & (TOPO_ACS_RR | TOPO_ACS_CR)) {
		snprintf(fix, sizeof(fix),
			 "setpci -s %s ECAP_ACS+6.w=0000:000c (P2P redirect "
			 "off until reboot), or turn ACS off in the BIOS",
			 b->bus_id);
		add(v, SL_DMA_WHY_ACS, true, fix,
		    "ACS redirect on bridge %s: peer traffic between %s and "
		    "%s goes up to the root complex; staged",
		    b->bus_id, sd, td);
	} else if (ret < 0) {
		add(v, SL_DMA_WHY_ACS_UNREAD, false,
		    ret == -EACCES ? "run as root to read it" : NULL,
		    "ACS of bridge %s unread (%s): if it redirects, peer "
		    "traffic goes to the root complex",
		    b->bus_id,
		    ret == -EACCES ? "its extended config space needs root" :
				     strerror(-ret));
	}
}

static void check_acs(struct sl_dma_verdict *v, const struct sl_dma_topo *t,
		      const struct topo_dev *s, const struct topo_dev *d,
		      int is, int id, const char *sd, const char *td)
{
	int i;

	if (v->link != SL_DMA_LINK_PIX && v->link != SL_DMA_LINK_PXB)
		return;
	/* up the source's side to where they meet, down the target's */
	for (i = 0; i <= is; i++)
		check_bridge(v, t, &s->up[i], sd, td);
	for (i = 0; i < id; i++)
		check_bridge(v, t, &d->up[i], sd, td);
}

static void check_drivers(struct sl_dma_verdict *v, const struct sl_dma_topo *t,
			  const struct topo_dev *s, const struct topo_dev *d,
			  const char *sd, const char *td)
{
	char fix[200];

	/* GPU to GPU is the GPU runtime's peer access, not a driver pair */
	if (s->d.kind != SL_DMA_DEV_NIC && s->d.kind != SL_DMA_DEV_STORAGE)
		return;
	if (!d->d.driver[0] || !s->d.driver[0]) {
		const struct topo_dev *x = d->d.driver[0] ? s : d;

		snprintf(fix, sizeof(fix), "bind %s's driver (modprobe it)",
			 x->d.bus_id);
		add(v, SL_DMA_WHY_NO_DRIVER, true, fix, "no driver bound to %s",
		    x == s ? sd : td);
		return;
	}
	if (d->d.vendor_id == PCI_VENDOR_NVIDIA) {
		if (s->d.kind == SL_DMA_DEV_STORAGE) {
			if (!t->host.nvidia_fs)
				add(v, SL_DMA_WHY_GDS, true,
				    "install GPUDirect Storage (nvidia-fs) and "
				    "modprobe nvidia_fs",
				    "nvidia_fs not loaded: %s cannot DMA into "
				    "%s's memory",
				    sd, td);
			return;
		}
		if (t->host.peermem)
			return;
		/* the open modules export dma-buf to an importing NIC */
		if (!topo_module_proprietary(t, d->d.driver) &&
		    in(s->d.driver, importers, SL_ARRAY_SIZE(importers)))
			return;
		add(v, SL_DMA_WHY_PEERMEM, true,
		    "modprobe nvidia_peermem (it comes with the NVIDIA driver)",
		    "nvidia_peermem not loaded: %s (driver %s) cannot "
		    "register %s's memory",
		    sd, s->d.driver, td);
		return;
	}
	if (s->d.kind == SL_DMA_DEV_STORAGE) {
		add(v, SL_DMA_WHY_PEERMEM, true, NULL,
		    "no peer-memory path from %s into %s (driver %s): only "
		    "NVIDIA's GPUDirect Storage moves storage into GPU memory",
		    sd, td, d->d.driver);
		return;
	}
	if (!in(d->d.driver, exporters, SL_ARRAY_SIZE(exporters)))
		add(v, SL_DMA_WHY_PEERMEM, true, NULL,
		    "%s's driver %s does not export its memory as dma-buf for "
		    "peers",
		    td, d->d.driver);
	if (!in(s->d.driver, importers, SL_ARRAY_SIZE(importers)))
		add(v, SL_DMA_WHY_PEERMEM, true,
		    "use a NIC whose RDMA driver imports dma-buf (mlx5, efa, "
		    "bnxt)",
		    "%s's driver %s cannot import a dma-buf", sd, s->d.driver);
}

static void check_iommu(struct sl_dma_verdict *v, const struct sl_dma_topo *t,
			const struct topo_dev *d, const char *td)
{
	char type[16];

	if (d->d.iommu_group < 0 ||
	    topo_group_type(t, d->d.iommu_group, type, sizeof(type)))
		return;
	if (strcmp(type, "DMA") && strcmp(type, "DMA-FQ"))
		return;
	add(v, SL_DMA_WHY_IOMMU, false,
	    "boot with iommu=pt if peer transfers fail",
	    "the IOMMU translates DMA for %s (group %d, %s): peer DMA needs "
	    "mappings in it that not every driver makes",
	    td, d->d.iommu_group, type);
}

int sl_dma_topo_verdict(const struct sl_dma_topo *t, const char *source,
			const char *target, struct sl_dma_verdict *out)
{
	struct sl_dma_verdict v = { .sz = sizeof(v), .direct = true };
	const struct topo_dev *s, *d;
	char sd[64], td[64];
	int si, ti, is, id;
	size_t n, sz;

	if (!t || !source || !target)
		return sl_fail(EINVAL, "sl_dma_topo_verdict: no %s",
			       !t ? "topology" : "source or target");
	if (sl_opts_out(out, sizeof(*out), &n, "sl_dma_topo_verdict",
			"sl_dma_verdict"))
		return -EINVAL;
	si = sl_dma_topo_find(t, source);
	if (si < 0)
		return si;
	ti = sl_dma_topo_find(t, target);
	if (ti < 0)
		return ti;
	if (si == ti)
		return sl_fail(EINVAL, "dma topo: %s and %s are one device",
			       source, target);
	s = &t->devs[si];
	d = &t->devs[ti];
	desc(s, sd, sizeof(sd));
	desc(d, td, sizeof(td));
	v.source = si;
	v.target = ti;
	v.link = topo_link(s, d, &is, &id);

	check_path(&v, source, sd, td);
	check_link(&v, s, d, sd, td);
	check_acs(&v, t, s, d, is, id, sd, td);
	/* the drivers and the IOMMU matter for device memory only */
	if (d->d.kind == SL_DMA_DEV_GPU || d->d.kind == SL_DMA_DEV_ACCEL) {
		check_drivers(&v, t, s, d, sd, td);
		check_iommu(&v, t, d, td);
	} else {
		add(&v, SL_DMA_WHY_TARGET, true, NULL,
		    "%s has no memory to place payloads in: direct DMA "
		    "targets a GPU or an accelerator",
		    td);
	}

	sz = out->sz;
	memcpy(out, &v, n);
	out->sz = sz;
	return 0;
}
