/* SPDX-License-Identifier: MIT */
/*
 * Where payloads can go by DMA on this host: the PCI devices that matter
 * for it (NICs, GPUs and accelerators, NVMe and other storage), how any two
 * of them are linked, and for a (source, target) pair whether the source
 * can write straight into the target's memory or the payloads must be
 * staged through pinned host memory, with every reason and its fix.
 *
 * The PCI tree comes from hwloc (a live machine, or an XML topology that
 * hwloc exported); what hwloc does not know comes from sysfs: ACS on the
 * bridges between two devices, IOMMU groups and their domain type, the
 * bound drivers, and the peer-memory modules. A link is classed as
 * `nvidia-smi topo -m` does:
 *
 *   X     the same device
 *   PIX   through at most one PCIe switch (its ports count as one bridge)
 *   PXB   through several PCIe bridges, not through a host bridge
 *   PHB   through a PCIe host bridge (the CPU's root complex)
 *   NODE  across host bridges within one NUMA node
 *   SYS   across NUMA nodes (the SMP interconnect)
 *
 * Only PIX and PXB let peer traffic stay below the CPU; everything else is
 * staged. All of it is control path. A topology object is read-only once
 * opened: any number of threads may query one at the same time.
 */
#ifndef SLUICE_DMA_TOPO_H
#define SLUICE_DMA_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sl_dma_topo;

struct sl_dma_topo_opts {
	size_t sz; /* sizeof(struct sl_dma_topo_opts) */
	/* an hwloc XML topology to read instead of this machine; NULL: the
	 * environment's SLUICE_TOPO_XML, else the live machine */
	const char *xml;
	/* where sysfs is; NULL: SLUICE_SYSFS_ROOT, else "/sys" (tests
	 * point both at fixtures) */
	const char *sysfs_root;
};

/*
 * Discover the devices and their tree. opts may be NULL. Returns NULL with
 * errno and a message: EOPNOTSUPP when sluice was built without hwloc,
 * ENOENT/EINVAL when the XML cannot be read, EIO when hwloc fails. A
 * machine without PCI devices (or hwloc without its PCI backend) opens with
 * no devices and says why in sl_dma_topo_host()'s `unread`.
 */
SL_API struct sl_dma_topo *
sl_dma_topo_open(const struct sl_dma_topo_opts *opts);
SL_API void sl_dma_topo_close(struct sl_dma_topo *t);

enum sl_dma_dev_kind {
	SL_DMA_DEV_NIC = 0, /* PCI class 02 */
	SL_DMA_DEV_GPU, /* class 03 */
	SL_DMA_DEV_ACCEL, /* class 12 or 0b40: device memory, like a GPU */
	SL_DMA_DEV_STORAGE, /* class 01: NVMe, SATA, virtio-blk */
};

/* "nic", "gpu", "accel", "storage"; NULL for anything else. */
SL_API const char *sl_dma_dev_kind_name(enum sl_dma_dev_kind k);

struct sl_dma_dev {
	size_t sz; /* sizeof(struct sl_dma_dev), set by the caller */
	enum sl_dma_dev_kind kind;
	/* NIC: its interface ("eth0"); storage: its block device ("vda");
	 * GPU and accelerators: "gpu0", "accel0" in PCI order; the bus id
	 * when a NIC or disk has no name */
	char name[32];
	char bus_id[16]; /* "0000:17:00.0" */
	char driver[32]; /* bound driver from sysfs; "" none or unknown */
	char model[64]; /* hwloc's device name, "" unknown */
	uint16_t vendor_id, device_id;
	uint16_t class_id; /* PCI class and subclass, 0x0200 */
	int numa_node; /* -1 unknown or several */
	int iommu_group; /* -1 none or unknown */
};

/* How many devices the topology holds (NICs, GPUs, accelerators, storage
 * in PCI order); 0 when t is NULL. */
SL_API unsigned sl_dma_topo_count(const struct sl_dma_topo *t);

/* Device i into *out. 0, or -EINVAL (bad i, out NULL, out->sz too small). */
SL_API int sl_dma_topo_dev(const struct sl_dma_topo *t, unsigned i,
			   struct sl_dma_dev *out);

/*
 * The index of a device by name: its name, another name the OS gives it
 * (card0, mlx5_0, nvme0n1), or its bus id ("0000:17:00.0" or "17:00.0").
 * A port spec prefix ("xdp:eth0") is skipped. Returns the index, or
 * -ENODEV with a message.
 */
SL_API int sl_dma_topo_find(const struct sl_dma_topo *t, const char *name);

enum sl_dma_link {
	SL_DMA_LINK_X = 0,
	SL_DMA_LINK_PIX,
	SL_DMA_LINK_PXB,
	SL_DMA_LINK_PHB,
	SL_DMA_LINK_NODE,
	SL_DMA_LINK_SYS,
};

/* "X", "PIX", "PXB", "PHB", "NODE", "SYS"; NULL for anything else. */
SL_API const char *sl_dma_link_name(enum sl_dma_link l);

/* The link class of devices a and b (indexes), or -EINVAL. */
SL_API int sl_dma_topo_link(const struct sl_dma_topo *t, unsigned a,
			    unsigned b);

/* host-wide facts that decide peer DMA */
struct sl_dma_host {
	size_t sz; /* sizeof(struct sl_dma_host), set by the caller */
	char source[128]; /* "live" or the XML path */
	int iommus; /* units in /sys/class/iommu; 0 none */
	int iommu_groups; /* -1 none */
	/* the default domain type of the groups ("identity", "DMA",
	 * "DMA-FQ"; "" no IOMMU), read from the first group that has one */
	char iommu_type[16];
	bool peermem; /* nvidia_peermem (or the older nv_peer_mem) loaded */
	bool nvidia_fs; /* GPUDirect Storage's module loaded */
	char unread[256]; /* what could not be read, and why ("" if all) */
};

/* Host facts into *out: 0 or -EINVAL. */
SL_API int sl_dma_topo_host(const struct sl_dma_topo *t,
			    struct sl_dma_host *out);

/* what a reason is about: a program keys on these, a person reads text */
enum sl_dma_why {
	SL_DMA_WHY_HOST_ONLY = 0, /* the source fills host memory only */
	SL_DMA_WHY_TARGET, /* the target has no memory to place payloads in */
	SL_DMA_WHY_LINK, /* the devices meet at or above the host bridge */
	SL_DMA_WHY_ACS, /* a bridge redirects peer traffic upstream */
	SL_DMA_WHY_ACS_UNREAD, /* a bridge's ACS could not be read */
	SL_DMA_WHY_NO_DRIVER, /* a device has no driver bound */
	SL_DMA_WHY_PEERMEM, /* no peer-memory path between the drivers */
	SL_DMA_WHY_GDS, /* storage into GPU memory needs nvidia_fs */
	SL_DMA_WHY_IOMMU, /* the IOMMU translates peer DMA */
};

/* "host-only", "target", "link", "acs", "acs-unread", "no-driver",
 * "peermem", "gds", "iommu"; NULL for anything else. */
SL_API const char *sl_dma_why_name(enum sl_dma_why w);

struct sl_dma_reason {
	enum sl_dma_why why;
	bool blocking; /* false: advice, direct may still work */
	char text[200];
	char fix[200]; /* what a user can do ("" none) */
};

#define SL_DMA_MAX_REASONS 8

struct sl_dma_verdict {
	size_t sz; /* sizeof(struct sl_dma_verdict), set by the caller */
	bool direct; /* no blocking reason: the source may DMA into target */
	enum sl_dma_link link;
	int source, target; /* device indexes */
	unsigned n_reasons;
	struct sl_dma_reason reasons[SL_DMA_MAX_REASONS];
};

/*
 * Whether `source` can DMA straight into `target`'s memory (names as
 * sl_dma_topo_find takes them). A source given as a port spec of a path
 * that fills host memory only ("xdp:eth0", "packet:eth0") is never direct.
 * Every reason found is listed, blocking or not. Returns 0, -ENODEV (no
 * such device), -EINVAL (the same device twice, bad arguments); with a
 * message.
 */
SL_API int sl_dma_topo_verdict(const struct sl_dma_topo *t, const char *source,
			       const char *target, struct sl_dma_verdict *out);

#ifdef __cplusplus
}
#endif
#endif
