/* SPDX-License-Identifier: MIT */
/*
 * What the topology files share (src/dma/topo*.c): the object behind
 * struct sl_dma_topo, filled once by the hwloc walk (topo_hwloc.c) and the
 * sysfs reads (topo_sysfs.c), read-only after; the link class
 * (topo.c) and the verdict (topo_verdict.c) work on these records alone, so
 * neither needs hwloc.
 */
#ifndef SL_DMA_TOPO_INT_H
#define SL_DMA_TOPO_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/dma_topo.h>

#define TOPO_MAX_UP 16
#define TOPO_MAX_ALIAS 4

/* one bridge above a device */
struct topo_bridge {
	uint64_t id; /* hwloc's gp_index: unique in one topology */
	bool host; /* a host bridge (root complex), else PCI-to-PCI */
	char bus_id[16]; /* a PCI bridge's own bus id; "" for a host bridge */
};

struct topo_dev {
	struct sl_dma_dev d;
	char alias[TOPO_MAX_ALIAS][32]; /* other OS names ("" unused) */
	unsigned n_up;
	struct topo_bridge up[TOPO_MAX_UP]; /* parent first, up to the top */
	char nodeset[64]; /* NUMA nodes of the first non-I/O ancestor */
};

struct sl_dma_topo {
	char sysfs[PATH_MAX];
	struct sl_dma_host host;
	unsigned n, cap;
	struct topo_dev *devs;
};

/* topo.c */
/* Append a device (zeroed); NULL on ENOMEM. */
struct topo_dev *topo_add(struct sl_dma_topo *t);
/* Append "what; " to t->host.unread, truncating. */
void topo_unread(struct sl_dma_topo *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * The link class of a and b; *ia and *ib get the index of the bridge where
 * they meet in each one's up[] (-1 when they meet above every bridge), so
 * up[0..*ia] and up[0..*ib) are the bridges peer traffic passes.
 */
enum sl_dma_link topo_link(const struct topo_dev *a, const struct topo_dev *b,
			   int *ia, int *ib);

/* The length of a port spec's "xdp:" prefix in name, 0 when it has none. */
size_t topo_spec_prefix(const char *name);

/* topo_hwloc.c: discover the devices and their bridges. 0 or -errno with
 * a message. */
int topo_hwloc_load(struct sl_dma_topo *t, const char *xml);

/* topo_sysfs.c */
/*
 * Find the ACS extended capability in a device's config space (len bytes
 * of it). 1 found (*ctrl: its control register), 0 there is none,
 * -ENODATA when len does not reach the extended space. Bounds-checked:
 * takes any bytes.
 */
int topo_acs_parse(const uint8_t *cfg, size_t len, uint16_t *ctrl);
/* The same from sysfs for bridge bus_id: also -EACCES when only the
 * first bytes could be read (the extended space needs root). */
int topo_acs_read(const struct sl_dma_topo *t, const char *bus_id,
		  uint16_t *ctrl);
/* ACS control bits that send peer traffic upstream: P2P Request Redirect
 * and P2P Completion Redirect */
#define TOPO_ACS_RR 0x0004u
#define TOPO_ACS_CR 0x0008u
/* Fill a device's driver and IOMMU group. */
void topo_sysfs_dev(const struct sl_dma_topo *t, struct topo_dev *d);
/* The domain type of IOMMU group `group` ("DMA-FQ"): 0 or -errno. */
int topo_group_type(const struct sl_dma_topo *t, int group, char *buf,
		    size_t len);
/* Fill the host facts: IOMMU, groups, peer-memory modules. */
void topo_sysfs_host(struct sl_dma_topo *t);
/* Whether module `name` is loaded (/sys/module/NAME). */
bool topo_module(const struct sl_dma_topo *t, const char *name);
/* Whether module `name` is loaded and taints the kernel as proprietary
 * ('P' in /sys/module/NAME/taint). */
bool topo_module_proprietary(const struct sl_dma_topo *t, const char *name);

#endif
