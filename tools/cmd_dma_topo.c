// SPDX-License-Identifier: MIT
/*
 * sluice dma topo [--json] [--xml FILE] [--sysfs DIR] [SOURCE TARGET]:
 * where payloads can go by DMA here (include/sluice/dma_topo.h). Without
 * a pair it prints the NICs, GPUs and storage with their link classes as
 * a matrix (as `nvidia-smi topo -m` does) and the host facts that decide
 * peer DMA; with SOURCE and TARGET, the verdict: direct or staged, every
 * reason and its fix. Exit 0 (a pair: direct), 1 (a pair: staged; or the
 * topology could not be read), 2 on a usage error. The matrix printers
 * are shared with `sluice doctor`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <sluice/dma_topo.h>
#include <sluice/sluice.h>

#include "sluice.h"

static json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice dma topo [--json] [--xml FILE] [--sysfs DIR] "
		"[SOURCE TARGET]\n"
		"  The NICs, GPUs and storage of this host, how each pair is "
		"linked (X, PIX,\n  PXB, PHB, NODE, SYS as nvidia-smi topo "
		"-m), IOMMU and peer-memory drivers.\n"
		"  With SOURCE and TARGET (interface, block device, gpuN, bus "
		"id, or a port\n  spec like xdp:eth0): whether SOURCE can DMA "
		"straight into TARGET's memory\n  or payloads are staged "
		"through host memory, why, and the fix. Exit 0\n  direct, 1 "
		"staged.\n"
		"  --xml FILE   an hwloc XML topology instead of this machine "
		"(SLUICE_TOPO_XML)\n"
		"  --sysfs DIR  sysfs root for ACS, IOMMU and drivers "
		"(SLUICE_SYSFS_ROOT)\n");
}

static bool dev_at(struct sl_dma_topo *t, unsigned i, struct sl_dma_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->sz = sizeof(*d);
	return sl_dma_topo_dev(t, i, d) == 0;
}

static void host_line(struct sl_dma_topo *t)
{
	struct sl_dma_host h = { .sz = sizeof(h) };

	if (sl_dma_topo_host(t, &h))
		return;
	if (h.iommus > 0)
		printf("  iommu: %d unit(s), %d group(s), type %s", h.iommus,
		       h.iommu_groups, h.iommu_type[0] ? h.iommu_type : "?");
	else
		printf("  iommu: none");
	printf("; peer memory: nvidia_peermem %s, nvidia_fs %s\n",
	       h.peermem ? "loaded" : "not loaded",
	       h.nvidia_fs ? "loaded" : "not loaded");
	if (h.unread[0])
		printf("  unread: %s\n", h.unread);
}

void cli_dma_matrix_print(struct sl_dma_topo *t)
{
	unsigned n = sl_dma_topo_count(t), i, j;
	struct sl_dma_host h = { .sz = sizeof(h) };
	struct sl_dma_dev a;
	int w = 6;
	char numa[16];

	sl_dma_topo_host(t, &h);
	printf("dma topology (%s)\n", h.source);
	if (!n) {
		printf("  no NIC, GPU or storage device found\n");
		host_line(t);
		return;
	}
	for (i = 0; i < n; i++)
		if (dev_at(t, i, &a) && (int)strlen(a.name) + 2 > w)
			w = (int)strlen(a.name) + 2;
	printf("  %-*s", w, "");
	for (i = 0; i < n; i++)
		if (dev_at(t, i, &a))
			printf("%-*s", w, a.name);
	printf("%-6s%-14s%-8s%s\n", "NUMA", "bus id", "kind", "driver");
	for (i = 0; i < n; i++) {
		if (!dev_at(t, i, &a))
			continue;
		printf("  %-*s", w, a.name);
		for (j = 0; j < n; j++)
			printf("%-*s", w,
			       sl_dma_link_name(sl_dma_topo_link(t, i, j)) ?:
									     "?");
		if (a.numa_node < 0)
			snprintf(numa, sizeof(numa), "?");
		else
			snprintf(numa, sizeof(numa), "%d", a.numa_node);
		printf("%-6s%-14s%-8s%s\n", numa, a.bus_id,
		       sl_dma_dev_kind_name(a.kind),
		       a.driver[0] ? a.driver : "-");
	}
	printf("  X same device, PIX one PCIe switch, PXB several PCIe "
	       "bridges, PHB a host\n  bridge (the CPU), NODE host bridges "
	       "of one NUMA node, SYS across NUMA nodes\n");
	host_line(t);
}

json_object *cli_dma_topo_json(struct sl_dma_topo *t)
{
	struct sl_dma_host h = { .sz = sizeof(h) };
	json_object *o = json_object_new_object(), *devs, *m, *pairs, *ho;
	unsigned n = sl_dma_topo_count(t), i, j;
	struct sl_dma_dev a, b;

	sl_dma_topo_host(t, &h);
	json_object_object_add(o, "source", jstr(h.source));
	devs = json_object_new_array();
	m = json_object_new_object();
	pairs = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *d, *row;

		if (!dev_at(t, i, &a))
			continue;
		d = json_object_new_object();
		json_object_object_add(d, "name", jstr(a.name));
		json_object_object_add(d, "kind",
				       jstr(sl_dma_dev_kind_name(a.kind)));
		json_object_object_add(d, "bus_id", jstr(a.bus_id));
		json_object_object_add(d, "driver", jstr(a.driver));
		json_object_object_add(d, "model", jstr(a.model));
		json_object_object_add(
			d, "numa_node",
			a.numa_node < 0 ? NULL :
					  json_object_new_int(a.numa_node));
		json_object_object_add(
			d, "iommu_group",
			a.iommu_group < 0 ? NULL :
					    json_object_new_int(a.iommu_group));
		json_object_array_add(devs, d);
		row = json_object_new_object();
		for (j = 0; j < n; j++) {
			const char *l =
				sl_dma_link_name(sl_dma_topo_link(t, i, j));

			if (!dev_at(t, j, &b))
				continue;
			json_object_object_add(row, b.name, jstr(l));
			if (j > i) {
				json_object *p = json_object_new_object();

				json_object_object_add(p, "a", jstr(a.name));
				json_object_object_add(p, "b", jstr(b.name));
				json_object_object_add(p, "link", jstr(l));
				json_object_array_add(pairs, p);
			}
		}
		json_object_object_add(m, a.name, row);
	}
	json_object_object_add(o, "devices", devs);
	json_object_object_add(o, "matrix", m);
	json_object_object_add(o, "pairs", pairs);
	ho = json_object_new_object();
	json_object_object_add(ho, "iommus", json_object_new_int(h.iommus));
	json_object_object_add(ho, "iommu_groups",
			       h.iommu_groups < 0 ?
				       NULL :
				       json_object_new_int(h.iommu_groups));
	json_object_object_add(ho, "iommu_type", jstr(h.iommu_type));
	json_object_object_add(ho, "nvidia_peermem",
			       json_object_new_boolean(h.peermem));
	json_object_object_add(ho, "nvidia_fs",
			       json_object_new_boolean(h.nvidia_fs));
	json_object_object_add(o, "host", ho);
	json_object_object_add(o, "unread", jstr(h.unread));
	return o;
}

static json_object *verdict_json(const char *src, const char *dst,
				 const struct sl_dma_verdict *v)
{
	json_object *o = json_object_new_object(), *rs;
	unsigned i;

	json_object_object_add(o, "source", jstr(src));
	json_object_object_add(o, "target", jstr(dst));
	json_object_object_add(o, "direct", json_object_new_boolean(v->direct));
	json_object_object_add(o, "link", jstr(sl_dma_link_name(v->link)));
	rs = json_object_new_array();
	for (i = 0; i < v->n_reasons; i++) {
		const struct sl_dma_reason *r = &v->reasons[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "code",
				       jstr(sl_dma_why_name(r->why)));
		json_object_object_add(e, "blocking",
				       json_object_new_boolean(r->blocking));
		json_object_object_add(e, "text", jstr(r->text));
		json_object_object_add(e, "fix", jstr(r->fix));
		json_object_array_add(rs, e);
	}
	json_object_object_add(o, "reasons", rs);
	return o;
}

static void verdict_print(const char *src, const char *dst,
			  const struct sl_dma_verdict *v)
{
	unsigned i;

	printf("%s -> %s: %s (%s)\n", src, dst, v->direct ? "direct" : "staged",
	       sl_dma_link_name(v->link));
	for (i = 0; i < v->n_reasons; i++) {
		const struct sl_dma_reason *r = &v->reasons[i];

		printf("  - [%s%s] %s\n", sl_dma_why_name(r->why),
		       r->blocking ? "" : ", advice", r->text);
		if (r->fix[0])
			printf("    fix: %s\n", r->fix);
	}
}

int cmd_dma_topo(int argc, char **argv)
{
	struct sl_dma_topo_opts o = { .sz = sizeof(o) };
	struct sl_dma_verdict v = { .sz = sizeof(v) };
	const char *pair[2] = { NULL, NULL };
	struct sl_dma_topo *t;
	unsigned npair = 0;
	bool json = false;
	int i, ret = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--xml") ||
			   !strcmp(argv[i], "--sysfs")) {
			if (i + 1 >= argc)
				cli_usage_fail("%s: needs a value", argv[i]);
			if (argv[i][2] == 'x')
				o.xml = argv[++i];
			else
				o.sysfs_root = argv[++i];
		} else if (argv[i][0] == '-') {
			usage(stderr);
			cli_usage_fail("unknown option %s", argv[i]);
		} else if (npair < 2) {
			pair[npair++] = argv[i];
		} else {
			cli_usage_fail("give SOURCE and TARGET, no more");
		}
	}
	if (npair == 1)
		cli_usage_fail("give SOURCE and TARGET, or neither");
	t = sl_dma_topo_open(&o);
	if (!t)
		cli_die("%s", sl_last_error());
	if (npair == 2) {
		if (sl_dma_topo_verdict(t, pair[0], pair[1], &v)) {
			sl_dma_topo_close(t);
			cli_die("%s", sl_last_error());
		}
		if (json)
			cli_json_print(verdict_json(pair[0], pair[1], &v));
		else
			verdict_print(pair[0], pair[1], &v);
		ret = v.direct ? 0 : 1;
	} else if (json) {
		cli_json_print(cli_dma_topo_json(t));
	} else {
		cli_dma_matrix_print(t);
	}
	sl_dma_topo_close(t);
	return ret;
}
