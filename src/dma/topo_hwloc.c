// SPDX-License-Identifier: MIT
/*
 * The PCI tree from hwloc: for each NIC, GPU, accelerator and storage
 * controller, its names (the OS devices hwloc attaches to it), its chain
 * of bridges up to the host bridge, and the NUMA nodes of the object the
 * host bridge hangs from. hwloc's topology is freed before returning: the
 * records hold all the link class and the verdict need. Built without
 * hwloc (meson found no libhwloc-dev), opening a topology fails with a
 * message that says what to install.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "dma/topo_int.h"

#ifndef SL_HAVE_HWLOC

int topo_hwloc_load(struct sl_dma_topo *t, const char *xml)
{
	(void)t;
	(void)xml;
	return sl_fail(EOPNOTSUPP,
		       "dma topo: sluice was built without hwloc; install "
		       "libhwloc-dev (scripts/deps.sh) and rebuild");
}

#else

#include <hwloc.h>

#if HWLOC_API_VERSION < 0x00020000
#error "hwloc 2.0 or later is needed"
#endif

/* hwloc 3 made OS device types flags and renamed BLOCK to STORAGE */
#if HWLOC_API_VERSION >= 0x00030000
#define OSDEV_IS(o, what) ((o)->attr->osdev.type & HWLOC_OBJ_OSDEV_##what)
#else
#define OSDEV_IS(o, what) ((o)->attr->osdev.type == HWLOC_OBJ_OSDEV_##what)
#endif

static int kind_of(unsigned class_id, enum sl_dma_dev_kind *k)
{
	switch (class_id >> 8) {
	case 0x01:
		*k = SL_DMA_DEV_STORAGE;
		return 0;
	case 0x02:
		*k = SL_DMA_DEV_NIC;
		return 0;
	case 0x03:
		*k = SL_DMA_DEV_GPU;
		return 0;
	case 0x12:
		*k = SL_DMA_DEV_ACCEL;
		return 0;
	case 0x0b:
		if (class_id == 0x0b40) { /* co-processor */
			*k = SL_DMA_DEV_ACCEL;
			return 0;
		}
		return -1;
	default:
		return -1;
	}
}

static void bus_id(char *buf, size_t len, unsigned dom, unsigned bus,
		   unsigned dev, unsigned fn)
{
	snprintf(buf, len, "%04x:%02x:%02x.%x", dom & 0xffff, bus & 0xff,
		 dev & 0x1f, fn & 0x7);
}

/* The OS device names hwloc attached: the one that names this kind of
 * device becomes the name, the others aliases. */
static void names(struct topo_dev *d, hwloc_obj_t pci)
{
	unsigned na = 0;
	hwloc_obj_t c;

	for (c = pci->io_first_child; c; c = c->next_sibling) {
		bool primary;

		if (c->type != HWLOC_OBJ_OS_DEVICE || !c->name)
			continue;
		switch (d->d.kind) {
		case SL_DMA_DEV_NIC:
			primary = OSDEV_IS(c, NETWORK);
			break;
		case SL_DMA_DEV_STORAGE:
#if HWLOC_API_VERSION >= 0x00030000
			primary = OSDEV_IS(c, STORAGE);
#else
			primary = OSDEV_IS(c, BLOCK);
#endif
			break;
		default: /* GPUs are numbered: card0 and cuda0 are aliases */
			primary = false;
			break;
		}
		if (primary && !d->d.name[0]) {
			sl_strlcpy(d->d.name, c->name, sizeof(d->d.name));
		} else if (na < TOPO_MAX_ALIAS) {
			sl_strlcpy(d->alias[na++], c->name,
				   sizeof(d->alias[0]));
		}
	}
}

static void chain(struct topo_dev *d, hwloc_topology_t topo, hwloc_obj_t pci)
{
	hwloc_obj_t p, anc;

	for (p = pci->parent; p && p->type == HWLOC_OBJ_BRIDGE; p = p->parent) {
		struct topo_bridge *b;

		if (d->n_up == TOPO_MAX_UP)
			break;
		b = &d->up[d->n_up++];
		b->id = p->gp_index;
		b->host = p->attr->bridge.upstream_type ==
			  HWLOC_OBJ_BRIDGE_HOST;
		if (!b->host) {
			const struct hwloc_pcidev_attr_s *u =
				&p->attr->bridge.upstream.pci;

			bus_id(b->bus_id, sizeof(b->bus_id), u->domain, u->bus,
			       u->dev, u->func);
		}
	}
	anc = hwloc_get_non_io_ancestor_obj(topo, pci);
	if (anc && anc->nodeset && !hwloc_bitmap_iszero(anc->nodeset)) {
		hwloc_bitmap_list_snprintf(d->nodeset, sizeof(d->nodeset),
					   anc->nodeset);
		if (hwloc_bitmap_weight(anc->nodeset) == 1)
			d->d.numa_node = hwloc_bitmap_first(anc->nodeset);
	}
}

static int walk(struct sl_dma_topo *t, hwloc_topology_t topo)
{
	unsigned n_gpu = 0, n_accel = 0;
	hwloc_obj_t o = NULL;

	while ((o = hwloc_get_next_pcidev(topo, o))) {
		const struct hwloc_pcidev_attr_s *a = &o->attr->pcidev;
		enum sl_dma_dev_kind kind;
		struct topo_dev *d;
		const char *model;

		if (kind_of(a->class_id, &kind))
			continue;
		d = topo_add(t);
		if (!d)
			return sl_fail(ENOMEM, "dma topo: out of memory");
		d->d.kind = kind;
		bus_id(d->d.bus_id, sizeof(d->d.bus_id), a->domain, a->bus,
		       a->dev, a->func);
		d->d.vendor_id = a->vendor_id;
		d->d.device_id = a->device_id;
		d->d.class_id = a->class_id;
		model = hwloc_obj_get_info_by_name(o, "PCIDevice");
		if (model)
			sl_strlcpy(d->d.model, model, sizeof(d->d.model));
		names(d, o);
		if (kind == SL_DMA_DEV_GPU)
			snprintf(d->d.name, sizeof(d->d.name), "gpu%u",
				 n_gpu++);
		else if (kind == SL_DMA_DEV_ACCEL)
			snprintf(d->d.name, sizeof(d->d.name), "accel%u",
				 n_accel++);
		else if (!d->d.name[0])
			/* an InfiniBand port has mlx5_0 and no interface */
			sl_strlcpy(d->d.name,
				   d->alias[0][0] ? d->alias[0] : d->d.bus_id,
				   sizeof(d->d.name));
		chain(d, topo, o);
	}
	return 0;
}

#if HWLOC_API_VERSION >= 0x00020100
static const char *const skip_components[] = { "pci",	   "opencl", "gl",
					       "cuda",	   "nvml",   "rsmi",
					       "levelzero" };
#endif

int topo_hwloc_load(struct sl_dma_topo *t, const char *xml)
{
	hwloc_topology_t topo;
	unsigned i;
	int err;

	if (hwloc_topology_init(&topo))
		return sl_fail(ENOMEM, "dma topo: hwloc_topology_init failed");
	/* bridges stay only where they lead to a device that matters: a
	 * GPU, NIC, storage or co-processor */
	hwloc_topology_set_io_types_filter(topo,
					   HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
#if HWLOC_API_VERSION >= 0x00020100
	/* hwloc's Linux backend reads the PCI tree from sysfs itself; the
	 * plugins would add nothing the link class uses: pci (libpciaccess)
	 * leaks its ID database, and the GPU ones start runtimes (CUDA,
	 * OpenCL, ROCm) only to name devices */
	for (i = 0; i < SL_ARRAY_SIZE(skip_components); i++)
		hwloc_topology_set_components(
			topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST,
			skip_components[i]);
#endif
	if (xml && hwloc_topology_set_xml(topo, xml)) {
		err = sl_fail(errno == ENOENT ? ENOENT : EINVAL,
			      "dma topo: hwloc cannot read the topology XML "
			      "%s: %s",
			      xml, strerror(errno));
		goto out;
	}
	if (hwloc_topology_load(topo)) {
		err = sl_fail(EIO, "dma topo: hwloc could not load %s: %s",
			      xml ? xml : "this machine's topology",
			      strerror(errno));
		goto out;
	}
	err = walk(t, topo);
	if (!err && !hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PCI_DEVICE))
		topo_unread(t, "hwloc found no PCI devices (without its PCI "
			       "backend, the Debian package libhwloc-plugins, "
			       "it finds none)");
out:
	hwloc_topology_destroy(topo);
	return err;
}

#endif
