// SPDX-License-Identifier: MIT
/*
 * sluice doctor [IFACE...] [--json]: what this host can do for kernel
 * bypass and what each path would cost here, from the library's probe
 * (include/sluice/probe.h), and how its NICs, GPUs and storage are linked
 * for DMA (include/sluice/dma_topo.h, the matrix `sluice dma topo`
 * prints). Without interfaces it reports every interface of the network
 * namespace but lo. The text layout is for people; --json gives the
 * same facts under stable keys for scripts and tests. Exit 0
 * when at least one bypass path (packet, xdp-copy, xdp-zc) is available on
 * the interfaces reported, 1 otherwise, 2 on a usage error. Needs no
 * privileges: what it could not read is listed under "unread".
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <sluice/dma_topo.h>
#include <sluice/probe.h>
#include <sluice/sluice.h>

#include "sluice.h"

#define MAX_IFACES 64
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const cap_names[] = { "net_admin", "net_raw", "bpf",
					 "ipc_lock", "sys_admin" };
static const struct {
	uint64_t bit;
	const char *name;
} xdp_acts[] = {
	{ SL_XDP_ACT_BASIC, "basic" },
	{ SL_XDP_ACT_REDIRECT, "redirect" },
	{ SL_XDP_ACT_NDO_XMIT, "ndo-xmit" },
	{ SL_XDP_ACT_XSK_ZEROCOPY, "xsk-zerocopy" },
	{ SL_XDP_ACT_HW_OFFLOAD, "hw-offload" },
	{ SL_XDP_ACT_RX_SG, "rx-sg" },
	{ SL_XDP_ACT_NDO_XMIT_SG, "ndo-xmit-sg" },
};

struct report {
	struct sl_host_facts host;
	unsigned n;
	struct {
		struct sl_iface_facts f;
		struct sl_path_verdict v[SL_PATH__COUNT];
		int err;
		char errmsg[256];
	} ifc[MAX_IFACES];
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sluice doctor [IFACE...] [--json]\n"
		   "  What this host can do for kernel bypass: kernel "
		   "features, interfaces,\n  memory, CPUs, privileges, and "
		   "per path (udp, packet, xdp-copy, xdp-zc)\n  whether it "
		   "is available, why not, its risk and the command that "
		   "fixes it;\n  and for DMA how its NICs, GPUs and storage "
		   "are linked (X, PIX, PXB,\n  PHB, NODE, SYS: sluice dma "
		   "topo).\n  Without IFACE: every interface but lo. Exit "
		   "0 when a bypass path is\n  available, 1 otherwise.\n");
}

static void copy(char *dst, const char *src, size_t len)
{
	snprintf(dst, len, "%s", src);
}

static json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static json_object *jint_or_null(long v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static json_object *host_json(const struct sl_host_facts *h)
{
	json_object *o = json_object_new_object(), *k, *f, *m, *c, *p, *caps,
		    *missing, *r, *nf;
	unsigned i;
	char why[128], *s, *save = NULL, buf[sizeof(h->rdma)];
	int nfr;

	k = json_object_new_object();
	json_object_object_add(k, "release", jstr(h->kernel));
	json_object_object_add(k, "major",
			       json_object_new_int(h->kernel_major));
	json_object_object_add(k, "minor",
			       json_object_new_int(h->kernel_minor));
	json_object_object_add(k, "unprivileged_bpf_disabled",
			       jint_or_null(h->unprivileged_bpf_disabled));
	f = json_object_new_object();
	for (i = 0; i < SL_FEAT__COUNT; i++) {
		json_object *e = json_object_new_object();
		int ret =
			sl_probe_feature((enum sl_feature)i, why, sizeof(why));

		json_object_object_add(e, "present",
				       ret < 0 ? NULL :
						 json_object_new_boolean(ret));
		json_object_object_add(e, "how", jstr(why));
		json_object_object_add(f, sl_feature_name((enum sl_feature)i),
				       e);
	}
	json_object_object_add(k, "features", f);
	json_object_object_add(o, "kernel", k);

	m = json_object_new_object();
	json_object_object_add(m, "hugepages_2m_total",
			       jint_or_null(h->huge_2m_total));
	json_object_object_add(m, "hugepages_2m_free",
			       jint_or_null(h->huge_2m_free));
	json_object_object_add(m, "hugepages_1g_total",
			       jint_or_null(h->huge_1g_total));
	json_object_object_add(m, "hugepages_1g_free",
			       jint_or_null(h->huge_1g_free));
	/* unlimited as -1: JSON numbers cannot hold UINT64_MAX portably */
	json_object_object_add(
		m, "memlock_bytes",
		json_object_new_int64(h->memlock_cur == UINT64_MAX ?
					      -1 :
					      (int64_t)h->memlock_cur));
	json_object_object_add(
		m, "memlock_max_bytes",
		json_object_new_int64(h->memlock_max == UINT64_MAX ?
					      -1 :
					      (int64_t)h->memlock_max));
	json_object_object_add(o, "memory", m);

	c = json_object_new_object();
	json_object_object_add(c, "cores", json_object_new_int(h->cores));
	json_object_object_add(c, "isolated", jstr(h->isolated));
	json_object_object_add(c, "nohz_full", jstr(h->nohz_full));
	json_object_object_add(c, "governor", jstr(h->governor));
	json_object_object_add(o, "cpu", c);
	nf = json_object_new_object();
	nfr = sl_probe_netfilter(why, sizeof(why));
	json_object_object_add(nf, "rules",
			       nfr < 0 ? NULL : json_object_new_boolean(nfr));
	json_object_object_add(nf, "where",
			       jstr(nfr < 0 ? sl_last_error() : why));
	json_object_object_add(o, "netfilter", nf);

	p = json_object_new_object();
	caps = json_object_new_object();
	missing = json_object_new_array();
	for (i = 0; i < ARRAY_SIZE(cap_names); i++) {
		bool has = h->caps & (1u << i);

		json_object_object_add(caps, cap_names[i],
				       json_object_new_boolean(has));
		if (!has)
			json_object_array_add(missing, jstr(cap_names[i]));
	}
	json_object_object_add(p, "uid", json_object_new_int(h->uid));
	json_object_object_add(p, "euid", json_object_new_int(h->euid));
	json_object_object_add(p, "capabilities", caps);
	json_object_object_add(p, "missing", missing);
	json_object_object_add(o, "privileges", p);

	json_object_object_add(o, "iommu_groups",
			       jint_or_null(h->iommu_groups));
	r = json_object_new_array();
	snprintf(buf, sizeof(buf), "%s", h->rdma);
	for (s = strtok_r(buf, "; ", &save); s; s = strtok_r(NULL, "; ", &save))
		json_object_array_add(r, jstr(s));
	json_object_object_add(o, "rdma", r);
	json_object_object_add(o, "unread", jstr(h->unread));
	return o;
}

static json_object *path_json(const struct sl_path_verdict *v,
			      const char *iface)
{
	json_object *o = json_object_new_object();

	if (iface)
		json_object_object_add(o, "interface", jstr(iface));
	json_object_object_add(o, "path", jstr(sl_path_name(v->path)));
	json_object_object_add(o, "available",
			       json_object_new_boolean(v->available));
	json_object_object_add(o, "reason", jstr(v->reason));
	json_object_object_add(o, "risk", jstr(sl_risk_name(v->risk)));
	json_object_object_add(o, "fix", jstr(v->fix));
	json_object_object_add(o, "note", jstr(v->note));
	return o;
}

static json_object *iface_json(const struct sl_iface_facts *f,
			       const struct sl_path_verdict *v)
{
	json_object *o = json_object_new_object(), *q, *x, *feats, *progs,
		    *paths, *l;
	unsigned i;

	json_object_object_add(o, "name", jstr(f->name));
	json_object_object_add(o, "ifindex", json_object_new_int(f->ifindex));
	json_object_object_add(o, "driver", jstr(f->driver));
	json_object_object_add(o, "driver_version", jstr(f->driver_version));
	json_object_object_add(o, "bus_info", jstr(f->bus_info));
	json_object_object_add(o, "mtu", jint_or_null(f->mtu));
	json_object_object_add(o, "numa_node", jint_or_null(f->numa_node));
	l = json_object_new_object();
	json_object_object_add(l, "up", json_object_new_boolean(f->up));
	json_object_object_add(l, "running",
			       json_object_new_boolean(f->running));
	json_object_object_add(l, "operstate", jstr(f->operstate));
	json_object_object_add(o, "link", l);

	q = json_object_new_object();
	json_object_object_add(q, "rx", jint_or_null(f->rx_queues));
	json_object_object_add(q, "tx", jint_or_null(f->tx_queues));
	json_object_object_add(q, "combined", jint_or_null(f->combined_queues));
	json_object_object_add(q, "max_rx", jint_or_null(f->max_rx_queues));
	json_object_object_add(q, "max_tx", jint_or_null(f->max_tx_queues));
	json_object_object_add(q, "max_combined",
			       jint_or_null(f->max_combined_queues));
	json_object_object_add(q, "rx_total", jint_or_null(f->rx_queues_total));
	json_object_object_add(q, "source", jstr(f->queues_source));
	json_object_object_add(o, "queues", q);

	x = json_object_new_object();
	json_object_object_add(x, "features_known",
			       json_object_new_boolean(f->xdp_features_known));
	feats = json_object_new_array();
	for (i = 0; i < ARRAY_SIZE(xdp_acts); i++)
		if (f->xdp_features & xdp_acts[i].bit)
			json_object_array_add(feats, jstr(xdp_acts[i].name));
	json_object_object_add(x, "features", feats);
	json_object_object_add(
		x, "native",
		f->xdp_features_known ?
			json_object_new_boolean(f->xdp_features &
						SL_XDP_ACT_BASIC) :
			NULL);
	json_object_object_add(x, "generic", json_object_new_boolean(true));
	json_object_object_add(
		x, "zero_copy",
		f->xdp_features_known ?
			json_object_new_boolean(f->xdp_features &
						SL_XDP_ACT_XSK_ZEROCOPY) :
			NULL);
	json_object_object_add(x, "zc_max_segs",
			       jint_or_null(f->xdp_zc_max_segs));
	progs = json_object_new_array();
	for (i = 0; i < f->n_xdp_progs; i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(
			p, "id", json_object_new_int64(f->xdp_progs[i].id));
		json_object_object_add(p, "name", jstr(f->xdp_progs[i].name));
		json_object_object_add(p, "mode", jstr(f->xdp_progs[i].mode));
		json_object_object_add(
			p, "ours",
			json_object_new_boolean(f->xdp_progs[i].ours));
		json_object_array_add(progs, p);
	}
	json_object_object_add(x, "programs", progs);
	json_object_object_add(o, "xdp", x);
	json_object_object_add(o, "unread", jstr(f->unread));

	paths = json_object_new_array();
	for (i = 0; i < SL_PATH__COUNT; i++)
		json_object_array_add(paths, path_json(&v[i], NULL));
	json_object_object_add(o, "paths", paths);
	return o;
}

static const char *num(long v, char *buf, size_t len)
{
	if (v < 0)
		return "?";
	snprintf(buf, len, "%ld", v);
	return buf;
}

static const char *bytes(uint64_t v, char *buf, size_t len)
{
	if (v == UINT64_MAX)
		return "unlimited";
	if (v >= (1ull << 20))
		snprintf(buf, len, "%llu MiB", (unsigned long long)(v >> 20));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)(v >> 10));
	return buf;
}

static void print_text(const struct report *r)
{
	const struct sl_host_facts *h = &r->host;
	char a[32], b[32], c[32], d[32], why[128], caps[96];
	unsigned i, k;
	int nfr;

	printf("kernel      %s\n", h->kernel);
	for (i = 0; i < SL_FEAT__COUNT; i++) {
		int ret =
			sl_probe_feature((enum sl_feature)i, why, sizeof(why));

		printf("  %-16s %-4s %s\n", sl_feature_name((enum sl_feature)i),
		       ret < 0 ? "?" :
		       ret     ? "yes" :
				 "no",
		       why);
	}
	printf("  unprivileged bpf disabled: %s\n",
	       num(h->unprivileged_bpf_disabled, a, sizeof(a)));
	printf("memory      hugepages 2M: %s reserved, %s free; 1G: %s "
	       "reserved, %s free; memlock %s\n",
	       num(h->huge_2m_total, a, sizeof(a)),
	       num(h->huge_2m_free, b, sizeof(b)),
	       num(h->huge_1g_total, c, sizeof(c)),
	       num(h->huge_1g_free, d, sizeof(d)),
	       bytes(h->memlock_cur, why, sizeof(why)));
	printf("cpu         %d cores; isolated: %s; nohz_full: %s; governor: "
	       "%s\n",
	       h->cores, h->isolated[0] ? h->isolated : "none",
	       h->nohz_full[0] ? h->nohz_full : "none",
	       h->governor[0] ? h->governor : "n/a");
	sl_probe_caps_str(h->caps, caps, sizeof(caps));
	printf("privileges  uid %d euid %d; capabilities: %s\n", h->uid,
	       h->euid, caps[0] ? caps : "none");
	if (h->iommu_groups < 0)
		printf("iommu       off (no groups); ");
	else
		printf("iommu       %d group(s); ", h->iommu_groups);
	printf("rdma: %s\n", h->n_rdma ? h->rdma : "none");
	nfr = sl_probe_netfilter(why, sizeof(why));
	if (nfr < 0)
		printf("firewall    %s\n", sl_last_error());
	else if (nfr)
		printf("firewall    %s: xdp and packet skip it (sluice run "
		       "keeps sockets on the kernel)\n",
		       why);
	else
		printf("firewall    no netfilter rule that xdp or packet would "
		       "skip\n");
	if (h->unread[0])
		printf("unread      %s\n", h->unread);

	for (i = 0; i < r->n; i++) {
		const struct sl_iface_facts *f = &r->ifc[i].f;

		printf("\n");
		if (r->ifc[i].err) {
			printf("%s: %s\n", f->name, r->ifc[i].errmsg);
			continue;
		}
		printf("%s (ifindex %d): driver %s %s, mtu %d, %s%s, numa %s\n",
		       f->name, f->ifindex, f->driver[0] ? f->driver : "?",
		       f->driver_version, f->mtu, f->up ? "up" : "down",
		       f->running ? "" : " (no carrier)",
		       num(f->numa_node, a, sizeof(a)));
		printf("  queues    %d usable for RX: rx %s tx %s combined %s "
		       "(max rx %s tx %s combined %s, %s)\n",
		       f->rx_queues_total, num(f->rx_queues, a, sizeof(a)),
		       num(f->tx_queues, b, sizeof(b)),
		       num(f->combined_queues, c, sizeof(c)),
		       num(f->max_rx_queues, d, sizeof(d)),
		       num(f->max_tx_queues, why, sizeof(why)),
		       num(f->max_combined_queues, caps, sizeof(caps)),
		       f->queues_source);
		if (f->xdp_features_known)
			printf("  xdp       native %s, zero-copy %s "
			       "(max segs %d), generic yes\n",
			       f->xdp_features & SL_XDP_ACT_BASIC ? "yes" :
								    "no",
			       f->xdp_features & SL_XDP_ACT_XSK_ZEROCOPY ?
				       "yes" :
				       "no",
			       f->xdp_zc_max_segs);
		else
			printf("  xdp       support not reported (kernel < "
			       "6.3); generic yes\n");
		for (k = 0; k < f->n_xdp_progs; k++)
			printf("  attached  id %u %s mode %s%s\n",
			       f->xdp_progs[k].id,
			       f->xdp_progs[k].name[0] ? f->xdp_progs[k].name :
							 "(name unreadable)",
			       f->xdp_progs[k].mode,
			       f->xdp_progs[k].ours ? " (sluice)" : "");
		if (f->unread[0])
			printf("  unread    %s\n", f->unread);
		printf("  %-9s %-5s %-6s %s\n", "path", "ok", "risk",
		       "why not / fix");
		for (k = 0; k < SL_PATH__COUNT; k++) {
			const struct sl_path_verdict *v = &r->ifc[i].v[k];

			printf("  %-9s %-5s %-6s %s\n", sl_path_name(v->path),
			       v->available ? "yes" : "no",
			       sl_risk_name(v->risk), v->reason);
			if (v->fix[0])
				printf("  %-9s %-5s %-6s fix: %s\n", "", "", "",
				       v->fix);
			if (v->note[0])
				printf("  %-9s %-5s %-6s note: %s\n", "", "",
				       "", v->note);
		}
	}
}

int cmd_doctor(int argc, char **argv)
{
	struct sl_path_opts po = { .sz = sizeof(po) };
	struct sl_dma_topo *topo;
	char self[PATH_MAX], topo_err[256];
	struct report *r;
	bool json = false, bypass = false;
	int i, ret;
	unsigned k, p;
	ssize_t n;

	r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, "sluice: doctor: out of memory\n");
		return 1;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		po.binary = self;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			free(r);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "sluice: doctor: unknown option %s\n",
				argv[i]);
			usage(stderr);
			free(r);
			return 2;
		} else if (r->n < MAX_IFACES) {
			copy(r->ifc[r->n++].f.name, argv[i],
			     sizeof(r->ifc[0].f.name));
		}
	}
	if (!r->n) {
		struct if_nameindex *ni = if_nameindex(), *e;

		for (e = ni; e && e->if_index && r->n < MAX_IFACES; e++)
			if (strcmp(e->if_name, "lo"))
				copy(r->ifc[r->n++].f.name, e->if_name,
				     sizeof(r->ifc[0].f.name));
		if_freenameindex(ni);
	}
	r->host.sz = sizeof(r->host);
	sl_probe_host(&r->host);
	/* NICs, GPUs and storage with their link classes: where payloads
	 * could go by DMA (SLUICE_TOPO_XML reads another machine's) */
	topo = sl_dma_topo_open(NULL);
	if (!topo)
		copy(topo_err, sl_last_error(), sizeof(topo_err));
	for (k = 0; k < r->n; k++) {
		char name[16];

		copy(name, r->ifc[k].f.name, sizeof(name));
		r->ifc[k].f.sz = sizeof(r->ifc[k].f);
		r->ifc[k].err = sl_probe_iface(name, &r->ifc[k].f);
		if (!r->ifc[k].err)
			r->ifc[k].err = sl_probe_paths(name, &po, r->ifc[k].v);
		if (r->ifc[k].err) {
			copy(r->ifc[k].errmsg, sl_last_error(),
			     sizeof(r->ifc[k].errmsg));
			copy(r->ifc[k].f.name, name, sizeof(r->ifc[k].f.name));
			continue;
		}
		for (p = 0; p < SL_PATH__COUNT; p++)
			if (r->ifc[k].v[p].available && p != SL_PATH_UDP)
				bypass = true;
	}

	if (json) {
		json_object *o = host_json(&r->host), *ifs, *paths, *dt;

		ifs = json_object_new_array();
		paths = json_object_new_array();
		for (k = 0; k < r->n; k++) {
			if (r->ifc[k].err) {
				json_object *e = json_object_new_object();

				json_object_object_add(e, "name",
						       jstr(r->ifc[k].f.name));
				json_object_object_add(e, "error",
						       jstr(r->ifc[k].errmsg));
				json_object_array_add(ifs, e);
				continue;
			}
			json_object_array_add(ifs, iface_json(&r->ifc[k].f,
							      r->ifc[k].v));
			for (p = 0; p < SL_PATH__COUNT; p++)
				json_object_array_add(
					paths, path_json(&r->ifc[k].v[p],
							 r->ifc[k].f.name));
		}
		json_object_object_add(o, "interfaces", ifs);
		json_object_object_add(o, "paths", paths);
		json_object_object_add(o, "bypass_available",
				       json_object_new_boolean(bypass));
		if (topo) {
			dt = cli_dma_topo_json(topo);
		} else {
			dt = json_object_new_object();
			json_object_object_add(dt, "error", jstr(topo_err));
		}
		json_object_object_add(o, "dma_topology", dt);
		printf("%s\n",
		       json_object_to_json_string_ext(
			       o, JSON_C_TO_STRING_PRETTY |
					  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		print_text(r);
		printf("\n");
		if (topo)
			cli_dma_matrix_print(topo);
		else
			printf("dma topology: unavailable: %s\n", topo_err);
		printf("\n%s\n", bypass ?
					 "bypass: at least one path available" :
					 "bypass: no path available");
	}
	ret = bypass ? 0 : 1;
	sl_dma_topo_close(topo);
	free(r);
	return ret;
}
