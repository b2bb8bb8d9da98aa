// SPDX-License-Identifier: MIT
/*
 * Unit tests of the DMA topology (include/sluice/dma_topo.h) on hwloc XML
 * topologies of real servers (tests/fixtures/topo/, written by gen.py
 * there) and fake sysfs trees each test writes into a temporary folder:
 * config spaces with and without ACS redirect on the bridges, bound
 * drivers, IOMMU groups, the peer-memory modules. They assert the link
 * class of each pair and the verdict's reasons and fixes, as a user reads
 * them. The ACS parser gets malformed config spaces too. Unprivileged;
 * built without hwloc, the tests that need it skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sltest.h"

#include "dma/topo_int.h"
#include <sluice/dma_topo.h>

static char fixtures[1024];
static char root[64]; /* the fake sysfs of the running test */

/* ---- the fake sysfs ---------------------------------------------------- */

static void mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

static void put(const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void link_to(const char *rel, const char *target)
{
	char path[PATH_MAX], dir[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	assert_int_equal(symlink(target, path), 0);
}

static void dir_at(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	mkdirs(path);
}

static void put16(uint8_t *c, unsigned off, uint16_t v)
{
	c[off] = (uint8_t)v;
	c[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *c, unsigned off, uint32_t v)
{
	put16(c, off, (uint16_t)v);
	put16(c, off + 2, (uint16_t)(v >> 16));
}

/* A bridge's 4 KiB config space: AER at 0x100, then ACS at 0x148 with
 * control register ctrl when acs. */
static void bridge_cfg(const char *bdf, bool acs, uint16_t ctrl)
{
	uint8_t cfg[4096] = { 0 };
	char rel[128];

	put16(cfg, 0, 0x10b5);
	put32(cfg, 0x100, 0x0001u | 1u << 16 | (acs ? 0x148u << 20 : 0));
	if (acs) {
		put32(cfg, 0x148, 0x000du | 1u << 16);
		put16(cfg, 0x14c, 0x005f); /* SV TB RR CR UF EC */
		put16(cfg, 0x14e, ctrl);
	}
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/config", bdf);
	put(rel, cfg, sizeof(cfg));
}

static void driver(const char *bdf, const char *drv)
{
	char rel[128], tgt[128];

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver", bdf);
	snprintf(tgt, sizeof(tgt), "../../../bus/pci/drivers/%s", drv);
	link_to(rel, tgt);
}

static void iommu_group(const char *bdf, int group, const char *type)
{
	char rel[128], tgt[128];

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/iommu_group", bdf);
	snprintf(tgt, sizeof(tgt), "../../../kernel/iommu_groups/%d", group);
	link_to(rel, tgt);
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/type", group);
	put(rel, type, strlen(type));
}

/* pix.xml's host: ACS on the switch's downstream ports (control
 * `acs_ctrl` on the GPU's), redirect on the root port above the switch,
 * which peer traffic under the switch never reaches */
struct pix_opts {
	uint16_t acs_ctrl;
	bool peermem;
	bool iommu;
	bool gpu_driver;
};

static void pix_sysfs(const struct pix_opts *o)
{
	bridge_cfg("0000:15:01.0", true, 0x001d);
	bridge_cfg("0000:16:00.0", false, 0);
	bridge_cfg("0000:17:00.0", true, o->acs_ctrl);
	bridge_cfg("0000:17:01.0", true, 0);
	bridge_cfg("0000:17:02.0", true, 0);
	bridge_cfg("0000:1a:00.0", false, 0);
	bridge_cfg("0000:1b:00.0", true, 0);
	if (o->gpu_driver)
		driver("0000:18:00.0", "nvidia");
	driver("0000:1c:00.0", "nvidia");
	driver("0000:19:00.0", "mlx5_core");
	driver("0000:1e:00.0", "nvme");
	driver("0000:3b:00.0", "ice");
	put("module/nvidia/taint", "PO\n", 3);
	if (o->peermem)
		dir_at("module/nvidia_peermem");
	if (o->iommu) {
		dir_at("class/iommu/dmar0");
		iommu_group("0000:18:00.0", 41, "DMA-FQ\n");
		iommu_group("0000:19:00.0", 42, "DMA-FQ\n");
	}
}

static int setup(void **state)
{
	const char *src = getenv("SL_SOURCE_ROOT");
	char tmpl[] = "/tmp/sl-dmatopo-XXXXXX";

	(void)state;
	snprintf(fixtures, sizeof(fixtures), "%s/tests/fixtures/topo",
		 src ? src : ".");
	assert_non_null(mkdtemp(tmpl));
	snprintf(root, sizeof(root), "%s", tmpl);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	/* only ever our own mkdtemp folder */
	if (!strncmp(root, "/tmp/sl-dmatopo-", 16)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		assert_int_equal(system(cmd), 0);
	}
	return 0;
}

static struct sl_dma_topo *open_xml(const char *name)
{
	struct sl_dma_topo_opts o = { .sz = sizeof(o), .sysfs_root = root };
	char xml[PATH_MAX];
	struct sl_dma_topo *t;

	snprintf(xml, sizeof(xml), "%s/%s", fixtures, name);
	o.xml = xml;
	t = sl_dma_topo_open(&o);
	if (!t && errno == EOPNOTSUPP)
		sl_test_skip("built without hwloc: %s", sl_last_error());
	if (!t)
		fail_msg("sl_dma_topo_open(%s): %s", xml, sl_last_error());
	return t;
}

static int idx(struct sl_dma_topo *t, const char *name)
{
	int i = sl_dma_topo_find(t, name);

	if (i < 0)
		fail_msg("no device %s: %s", name, sl_last_error());
	return i;
}

static const char *link_of(struct sl_dma_topo *t, const char *a, const char *b)
{
	return sl_dma_link_name(sl_dma_topo_link(t, idx(t, a), idx(t, b)));
}

static void verdict(struct sl_dma_topo *t, const char *s, const char *d,
		    struct sl_dma_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->sz = sizeof(*v);
	if (sl_dma_topo_verdict(t, s, d, v))
		fail_msg("verdict %s -> %s: %s", s, d, sl_last_error());
}

/* The reason of kind why, NULL if none. */
static const struct sl_dma_reason *reason(const struct sl_dma_verdict *v,
					  enum sl_dma_why why)
{
	unsigned i;

	for (i = 0; i < v->n_reasons; i++)
		if (v->reasons[i].why == why)
			return &v->reasons[i];
	return NULL;
}

static void assert_has(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("'%s' lacks '%s'", s, part);
}

/* ---- ACS parser -------------------------------------------------------- */

static void test_acs_parse(void **state)
{
	uint8_t cfg[4096] = { 0 };
	uint16_t ctrl = 0;

	(void)state;
	put32(cfg, 0x100, 0x0001u | 1u << 16 | 0x148u << 20);
	put32(cfg, 0x148, 0x000du | 1u << 16);
	put16(cfg, 0x14e, 0x0004);
	assert_int_equal(topo_acs_parse(cfg, sizeof(cfg), &ctrl), 1);
	assert_int_equal(ctrl, TOPO_ACS_RR);
	/* cut inside the ACS capability, before the extended space */
	assert_int_equal(topo_acs_parse(cfg, 0x14e, &ctrl), -ENODATA);
	assert_int_equal(topo_acs_parse(cfg, 64, &ctrl), -ENODATA);
	assert_int_equal(topo_acs_parse(NULL, 0, &ctrl), -ENODATA);
	/* a next pointer at itself: a bounded walk, no ACS */
	put32(cfg, 0x100, 0x0001u | 1u << 16 | 0x100u << 20);
	assert_int_equal(topo_acs_parse(cfg, sizeof(cfg), &ctrl), 0);
	/* next below the extended space, unaligned, past the end */
	put32(cfg, 0x100, 0x0001u | 0x040u << 20);
	assert_int_equal(topo_acs_parse(cfg, sizeof(cfg), &ctrl), 0);
	put32(cfg, 0x100, 0x0001u | 0x149u << 20);
	assert_int_equal(topo_acs_parse(cfg, sizeof(cfg), &ctrl), 0);
	put32(cfg, 0x100, 0x0001u | 0xffcu << 20);
	put32(cfg, 0xffc, 0x000du);
	assert_int_equal(topo_acs_parse(cfg, sizeof(cfg), &ctrl), -ENODATA);
	/* no capabilities at all: zeros, or all ones (device gone) */
	memset(cfg + 0x100, 0, 16);
	assert_int_equal(topo_acs_parse(cfg, sizeof(cfg), &ctrl), 0);
	memset(cfg + 0x100, 0xff, 4);
	assert_int_equal(topo_acs_parse(cfg, sizeof(cfg), &ctrl), 0);
}

/* ---- link classes ------------------------------------------------------ */

static void test_pix_devices(void **state)
{
	struct pix_opts po = { .peermem = true, .gpu_driver = true };
	struct sl_dma_dev d = { .sz = sizeof(d) };
	struct sl_dma_topo *t;
	int i;

	(void)state;
	pix_sysfs(&po);
	t = open_xml("pix.xml");
	assert_int_equal(sl_dma_topo_count(t), 5);
	i = idx(t, "gpu0");
	assert_int_equal(sl_dma_topo_dev(t, (unsigned)i, &d), 0);
	assert_string_equal(d.bus_id, "0000:18:00.0");
	assert_int_equal(d.kind, SL_DMA_DEV_GPU);
	assert_int_equal(d.vendor_id, 0x10de);
	assert_int_equal(d.class_id, 0x0302);
	assert_string_equal(d.driver, "nvidia");
	assert_int_equal(d.numa_node, 0);
	assert_has(d.model, "A100");
	/* every name a user might give */
	assert_int_equal(idx(t, "card1"), i);
	assert_int_equal(idx(t, "0000:18:00.0"), i);
	assert_int_equal(idx(t, "18:00.0"), i);
	i = idx(t, "ens1f0np0");
	assert_int_equal(idx(t, "mlx5_0"), i);
	assert_int_equal(idx(t, "xdp:ens1f0np0"), i);
	assert_int_equal(idx(t, "packet:ens1f0np0,capture=x.pcap"), i);
	assert_int_equal(sl_dma_topo_dev(t, (unsigned)i, &d), 0);
	assert_int_equal(d.kind, SL_DMA_DEV_NIC);
	assert_string_equal(d.driver, "mlx5_core");
	assert_int_equal(sl_dma_topo_dev(t, (unsigned)idx(t, "nvme0n1"), &d),
			 0);
	assert_int_equal(d.kind, SL_DMA_DEV_STORAGE);
	assert_string_equal(d.bus_id, "0000:1e:00.0");
	assert_int_equal(d.iommu_group, -1);
	assert_int_equal(sl_dma_topo_find(t, "eth9"), -ENODEV);
	assert_has(sl_last_error(), "eth9");
	sl_dma_topo_close(t);
}

static void test_pix_links(void **state)
{
	struct pix_opts po = { .peermem = true, .gpu_driver = true };
	struct sl_dma_topo *t;

	(void)state;
	pix_sysfs(&po);
	t = open_xml("pix.xml");
	assert_string_equal(link_of(t, "gpu0", "gpu0"), "X");
	assert_string_equal(link_of(t, "gpu0", "ens1f0np0"), "PIX");
	assert_string_equal(link_of(t, "ens1f0np0", "gpu0"), "PIX");
	assert_string_equal(link_of(t, "gpu1", "ens1f0np0"), "PXB");
	assert_string_equal(link_of(t, "gpu0", "gpu1"), "PXB");
	assert_string_equal(link_of(t, "gpu0", "nvme0n1"), "PHB");
	assert_string_equal(link_of(t, "ens1f0np0", "nvme0n1"), "PHB");
	assert_string_equal(link_of(t, "gpu0", "ens2f0"), "NODE");
	assert_string_equal(link_of(t, "nvme0n1", "ens2f0"), "NODE");
	sl_dma_topo_close(t);
}

static void test_sys_links(void **state)
{
	struct sl_dma_dev d = { .sz = sizeof(d) };
	struct sl_dma_verdict v;
	const struct sl_dma_reason *r;
	struct sl_dma_topo *t;

	(void)state;
	driver("0000:17:00.0", "nvidia");
	driver("0000:ca:00.0", "mlx5_core");
	dir_at("module/nvidia_peermem");
	t = open_xml("sys.xml");
	assert_int_equal(sl_dma_topo_count(t), 3);
	assert_string_equal(link_of(t, "gpu0", "ens6f0np0"), "SYS");
	assert_string_equal(link_of(t, "gpu0", "nvme0n1"), "NODE");
	assert_string_equal(link_of(t, "nvme0n1", "mlx5_0"), "SYS");
	assert_int_equal(sl_dma_topo_dev(t, (unsigned)idx(t, "ens6f0np0"), &d),
			 0);
	assert_int_equal(d.numa_node, 1);
	verdict(t, "ens6f0np0", "gpu0", &v);
	assert_false(v.direct);
	assert_int_equal(v.link, SL_DMA_LINK_SYS);
	r = reason(&v, SL_DMA_WHY_LINK);
	assert_non_null(r);
	assert_true(r->blocking);
	assert_has(r->text, "NIC ens6f0np0 0000:ca:00.0 (NUMA 1) and GPU gpu0 "
			    "0000:17:00.0 (NUMA 0)");
	assert_has(r->text, "(SYS)");
	assert_has(r->fix, "one socket");
	/* the drivers are fine: the link is the one reason */
	assert_int_equal(v.n_reasons, 1);
	sl_dma_topo_close(t);
}

/* ---- verdicts ---------------------------------------------------------- */

static void test_pix_direct(void **state)
{
	struct pix_opts po = { .peermem = true, .gpu_driver = true };
	struct sl_dma_verdict v;
	struct sl_dma_topo *t;
	unsigned i;

	(void)state;
	pix_sysfs(&po);
	t = open_xml("pix.xml");
	verdict(t, "ens1f0np0", "gpu0", &v);
	for (i = 0; i < v.n_reasons; i++)
		print_message("reason: %s\n", v.reasons[i].text);
	assert_true(v.direct);
	assert_int_equal(v.link, SL_DMA_LINK_PIX);
	assert_int_equal(v.n_reasons, 0);
	assert_int_equal(v.source, idx(t, "ens1f0np0"));
	assert_int_equal(v.target, idx(t, "gpu0"));
	/* through two switches: still below the CPU */
	verdict(t, "mlx5_0", "gpu1", &v);
	assert_true(v.direct);
	assert_int_equal(v.link, SL_DMA_LINK_PXB);
	sl_dma_topo_close(t);
}

static void test_pix_acs(void **state)
{
	struct pix_opts po = { .acs_ctrl = 0x001d,
			       .peermem = true,
			       .iommu = true,
			       .gpu_driver = true };
	const struct sl_dma_reason *r;
	struct sl_dma_verdict v;
	struct sl_dma_host h = { .sz = sizeof(h) };
	struct sl_dma_topo *t;
	unsigned i;

	(void)state;
	pix_sysfs(&po);
	t = open_xml("pix.xml");
	verdict(t, "ens1f0np0", "gpu0", &v);
	assert_false(v.direct);
	assert_int_equal(v.link, SL_DMA_LINK_PIX);
	r = reason(&v, SL_DMA_WHY_ACS);
	assert_non_null(r);
	assert_true(r->blocking);
	assert_has(r->text,
		   "ACS redirect on bridge 0000:17:00.0: peer "
		   "traffic between NIC ens1f0np0 0000:19:00.0 and "
		   "GPU gpu0 0000:18:00.0 goes up to the root complex");
	assert_has(r->fix, "setpci -s 0000:17:00.0 ECAP_ACS+6.w=0000:000c");
	assert_has(r->fix, "BIOS");
	/* the root port above the switch redirects too, but peer traffic
	 * turns at the switch and never reaches it */
	for (i = 0; i < v.n_reasons; i++)
		assert_null(strstr(v.reasons[i].text, "0000:15:01.0"));
	r = reason(&v, SL_DMA_WHY_IOMMU);
	assert_non_null(r);
	assert_false(r->blocking);
	assert_has(r->text, "group 41, DMA-FQ");
	assert_has(r->fix, "iommu=pt");
	assert_int_equal(v.n_reasons, 2);
	/* the NIC's own port is clean: gpu1 is reachable */
	verdict(t, "ens1f0np0", "gpu1", &v);
	assert_true(v.direct);
	assert_int_equal(sl_dma_topo_host(t, &h), 0);
	assert_int_equal(h.iommus, 1);
	assert_int_equal(h.iommu_groups, 2);
	assert_string_equal(h.iommu_type, "DMA-FQ");
	assert_true(h.peermem);
	assert_false(h.nvidia_fs);
	sl_dma_topo_close(t);
}

static void test_pix_drivers(void **state)
{
	struct pix_opts po = { 0 };
	const struct sl_dma_reason *r;
	struct sl_dma_verdict v;
	struct sl_dma_topo *t;

	(void)state;
	pix_sysfs(&po);
	t = open_xml("pix.xml");
	/* gpu0 has no driver bound */
	verdict(t, "ens1f0np0", "gpu0", &v);
	assert_false(v.direct);
	r = reason(&v, SL_DMA_WHY_NO_DRIVER);
	assert_non_null(r);
	assert_has(r->text, "no driver bound to GPU gpu0 0000:18:00.0");
	/* gpu1's proprietary driver, no nvidia_peermem */
	verdict(t, "ens1f0np0", "gpu1", &v);
	assert_false(v.direct);
	r = reason(&v, SL_DMA_WHY_PEERMEM);
	assert_non_null(r);
	assert_has(r->text, "nvidia_peermem not loaded");
	assert_string_equal(r->fix,
			    "modprobe nvidia_peermem (it comes with the NVIDIA "
			    "driver)");
	assert_int_equal(v.n_reasons, 1);
	/* the open kernel modules export dma-buf to mlx5: no peermem
	 * needed */
	put("module/nvidia/taint", "O\n", 2);
	verdict(t, "ens1f0np0", "gpu1", &v);
	assert_true(v.direct);
	/* but the E810's driver imports none, and it is a NODE away */
	verdict(t, "ens2f0", "gpu1", &v);
	assert_false(v.direct);
	assert_non_null(reason(&v, SL_DMA_WHY_LINK));
	assert_non_null(reason(&v, SL_DMA_WHY_PEERMEM));
	/* NVMe into an NVIDIA GPU: GPUDirect Storage */
	verdict(t, "nvme0n1", "gpu1", &v);
	r = reason(&v, SL_DMA_WHY_GDS);
	assert_non_null(r);
	assert_has(r->text, "nvidia_fs not loaded");
	assert_has(r->fix, "modprobe nvidia_fs");
	sl_dma_topo_close(t);
}

static void test_xdp_host_only(void **state)
{
	struct pix_opts po = { .peermem = true, .gpu_driver = true };
	const struct sl_dma_reason *r;
	struct sl_dma_verdict v;
	struct sl_dma_topo *t;

	(void)state;
	pix_sysfs(&po);
	t = open_xml("pix.xml");
	verdict(t, "xdp:ens1f0np0", "gpu0", &v);
	assert_false(v.direct);
	assert_int_equal(v.link, SL_DMA_LINK_PIX);
	r = reason(&v, SL_DMA_WHY_HOST_ONLY);
	assert_non_null(r);
	assert_true(r->blocking);
	assert_has(r->text, "xdp:ens1f0np0: AF_XDP fills host memory only");
	assert_has(r->text, "can never DMA into GPU gpu0");
	assert_has(r->fix, "RDMA");
	assert_int_equal(v.n_reasons, 1);
	verdict(t, "packet:ens1f0np0", "gpu0", &v);
	assert_false(v.direct);
	assert_has(reason(&v, SL_DMA_WHY_HOST_ONLY)->text,
		   "packet: the kernel fills host memory only");
	sl_dma_topo_close(t);
}

static void test_vm(void **state)
{
	const struct sl_dma_reason *r;
	struct sl_dma_verdict v;
	struct sl_dma_topo *t;

	(void)state;
	driver("0000:00:02.0", "virtio-pci");
	driver("0000:00:03.0", "virtio-pci");
	t = open_xml("vm.xml");
	assert_int_equal(sl_dma_topo_count(t), 2);
	assert_string_equal(link_of(t, "eth0", "vda"), "PHB");
	verdict(t, "eth0", "vda", &v);
	assert_false(v.direct);
	assert_int_equal(v.link, SL_DMA_LINK_PHB);
	r = reason(&v, SL_DMA_WHY_LINK);
	assert_non_null(r);
	assert_string_equal(
		r->text, "NIC eth0 0000:00:03.0 and storage vda 0000:00:02.0 "
			 "meet only at the host bridge (PHB): peer traffic "
			 "would cross the CPU; staged");
	assert_has(r->fix, "one PCIe switch");
	r = reason(&v, SL_DMA_WHY_TARGET);
	assert_non_null(r);
	assert_has(r->text, "storage vda 0000:00:02.0 has no memory");
	sl_dma_topo_close(t);
}

/* ---- the API's edges --------------------------------------------------- */

static void test_env_and_errors(void **state)
{
	struct sl_dma_topo_opts o = { .sz = sizeof(o) };
	struct sl_dma_host h = { .sz = sizeof(h) };
	struct sl_dma_dev d = { .sz = 0 };
	struct sl_dma_verdict v = { .sz = sizeof(v) };
	char xml[PATH_MAX], big[sizeof(o) + 8] = { 0 };
	struct sl_dma_topo *t;

	(void)state;
	snprintf(xml, sizeof(xml), "%s/vm.xml", fixtures);
	setenv("SLUICE_TOPO_XML", xml, 1);
	setenv("SLUICE_SYSFS_ROOT", root, 1);
	t = sl_dma_topo_open(NULL);
	unsetenv("SLUICE_TOPO_XML");
	unsetenv("SLUICE_SYSFS_ROOT");
	if (!t && errno == EOPNOTSUPP)
		sl_test_skip("built without hwloc: %s", sl_last_error());
	assert_non_null(t);
	assert_int_equal(sl_dma_topo_host(t, &h), 0);
	assert_string_equal(h.source, xml);
	assert_int_equal(h.iommus, 0);
	assert_int_equal(h.iommu_groups, -1);
	assert_false(h.peermem);
	assert_string_equal(h.unread, "");
	assert_int_equal(sl_dma_topo_dev(t, 0, &d), -EINVAL);
	d.sz = sizeof(d);
	assert_int_equal(sl_dma_topo_dev(t, 2, &d), -EINVAL);
	assert_int_equal(sl_dma_topo_link(t, 0, 2), -EINVAL);
	assert_int_equal(sl_dma_topo_verdict(t, "eth0", "eth0", &v), -EINVAL);
	assert_int_equal(sl_dma_topo_verdict(t, "eth0", "gpu7", &v), -ENODEV);
	assert_int_equal(sl_dma_topo_verdict(t, "eth0", "vda", NULL), -EINVAL);
	sl_dma_topo_close(t);

	o.xml = "/nonexistent/topo.xml";
	assert_null(sl_dma_topo_open(&o));
	assert_has(sl_last_error(), "/nonexistent/topo.xml");
	/* a newer caller's opts with a field this library lacks, set */
	memcpy(big, &o, sizeof(o));
	*(size_t *)big = sizeof(big);
	big[sizeof(o) + 1] = 1;
	assert_null(sl_dma_topo_open((struct sl_dma_topo_opts *)big));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sl_dma_topo_count(NULL), 0);
	assert_null(sl_dma_link_name((enum sl_dma_link)6));
	assert_string_equal(sl_dma_link_name(SL_DMA_LINK_NODE), "NODE");
	assert_string_equal(sl_dma_dev_kind_name(SL_DMA_DEV_STORAGE),
			    "storage");
	assert_string_equal(sl_dma_why_name(SL_DMA_WHY_IOMMU), "iommu");
	assert_null(sl_dma_why_name((enum sl_dma_why)99));
	sl_dma_topo_close(NULL);
}

/* This machine, as hwloc sees it: opens, and names are unique. */
static void test_live(void **state)
{
	struct sl_dma_topo_opts o = { .sz = sizeof(o), .sysfs_root = "/sys" };
	struct sl_dma_dev a = { .sz = sizeof(a) }, b = { .sz = sizeof(b) };
	struct sl_dma_topo *t;
	unsigned i, j;

	(void)state;
	unsetenv("SLUICE_TOPO_XML");
	t = sl_dma_topo_open(&o);
	if (!t && errno == EOPNOTSUPP)
		sl_test_skip("built without hwloc: %s", sl_last_error());
	assert_non_null(t);
	for (i = 0; i < sl_dma_topo_count(t); i++) {
		assert_int_equal(sl_dma_topo_dev(t, i, &a), 0);
		assert_int_equal(sl_dma_topo_find(t, a.name), (int)i);
		for (j = 0; j < i; j++) {
			assert_int_equal(sl_dma_topo_dev(t, j, &b), 0);
			assert_string_not_equal(a.name, b.name);
		}
	}
	sl_dma_topo_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acs_parse),
		cmocka_unit_test_setup_teardown(test_pix_devices, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pix_links, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sys_links, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pix_direct, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pix_acs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pix_drivers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xdp_host_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_and_errors, setup,
						teardown),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
