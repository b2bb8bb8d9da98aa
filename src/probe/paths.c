// SPDX-License-Identifier: MIT
/*
 * The verdict per path on one interface: whether udp, packet, xdp-copy and
 * xdp-zc can be opened here, the first thing that stops each, its risk
 * (DESIGN.md's capability-versus-risk table) and the exact command that
 * fixes what is missing. The checks are ordered as an operator would fix
 * them: the link, the kernel, the build, privileges, limits, then the
 * interface's own configuration, so that the reason shown is the one to
 * act on first. A verdict is a prediction from facts; auto: still opens
 * the path to be sure and records what the driver itself said.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/opts.h"
#include "net/ifdev.h"
#include "port/driver.h"
#include "probe/probe.h"

/* A UMEM of the default port pool (4096 buffers of 2 KiB) per queue: what
 * an xdp port pins against RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK. */
#define UMEM_BYTES_PER_QUEUE (4096ull * 2048)

static const char *const path_names[SL_PATH__COUNT] = {
	[SL_PATH_XDP_ZC] = "xdp-zc",
	[SL_PATH_XDP_COPY] = "xdp-copy",
	[SL_PATH_PACKET] = "packet",
	[SL_PATH_UDP] = "udp",
};

static const enum sl_risk path_risks[SL_PATH__COUNT] = {
	[SL_PATH_XDP_ZC] = SL_RISK_HIGH,
	[SL_PATH_XDP_COPY] = SL_RISK_MEDIUM,
	[SL_PATH_PACKET] = SL_RISK_MEDIUM,
	[SL_PATH_UDP] = SL_RISK_LOW,
};

static const char *const risk_names[] = { "low", "medium", "high" };

const char *sl_path_name(enum sl_path p)
{
	return (unsigned)p < SL_PATH__COUNT ? path_names[p] : "?";
}

enum sl_risk sl_path_risk(enum sl_path p)
{
	return (unsigned)p < SL_PATH__COUNT ? path_risks[p] : SL_RISK_HIGH;
}

const char *sl_risk_name(enum sl_risk r)
{
	return (unsigned)r < SL_ARRAY_SIZE(risk_names) ? risk_names[r] : "?";
}

int sl_risk_parse(const char *s, enum sl_risk *out)
{
	unsigned i;

	for (i = 0; s && i < SL_ARRAY_SIZE(risk_names); i++) {
		if (!strcmp(s, risk_names[i])) {
			*out = (enum sl_risk)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void set(char *dst, size_t len, const char *fmt, ...) SL_PRINTF(3, 4);

static void set(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

#define NO(v, ...)                                                  \
	do {                                                        \
		(v)->available = false;                             \
		set((v)->reason, sizeof((v)->reason), __VA_ARGS__); \
	} while (0)
#define FIX(v, ...) set((v)->fix, sizeof((v)->fix), __VA_ARGS__)

static bool has_ipv4(const char *iface)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, iface))
			found = true;
	freeifaddrs(ifa);
	return found;
}

static void mib(char *buf, size_t len, uint64_t bytes)
{
	if (bytes == UINT64_MAX)
		snprintf(buf, len, "unlimited");
	else if (bytes >= (1u << 20))
		snprintf(buf, len, "%llu MiB",
			 (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, len, "%llu KiB",
			 (unsigned long long)(bytes >> 10));
}

/* Checks shared by both XDP paths; false when one stopped it. */
static bool xdp_common(struct sl_path_verdict *v,
		       const struct sl_iface_facts *f,
		       const struct sl_host_facts *h, unsigned queues,
		       const char *bin)
{
	unsigned need = SL_CAPF_NET_ADMIN | SL_CAPF_NET_RAW;
	bool cap_bpf = h->kernel_major > 5 ||
		       (h->kernel_major == 5 && h->kernel_minor >= 8);
	uint64_t pin = UMEM_BYTES_PER_QUEUE * queues;
	char a[32], b[32];
	unsigned i;

	if (sl_probe_feature(SL_FEAT_AF_XDP, NULL, 0) != 1) {
		NO(v, "the kernel has no AF_XDP sockets (Linux 4.18, "
		      "CONFIG_XDP_SOCKETS)");
		FIX(v, "boot a kernel built with CONFIG_XDP_SOCKETS=y");
		return false;
	}
	if (!sl_driver_find("xdp")) {
		NO(v, "this build of sluice has no AF_XDP driver (libxdp "
		      "was missing when it was built)");
		FIX(v, "apt-get install libxdp-dev, then rebuild sluice");
		return false;
	}
	/* CAP_BPF (5.8) splits loading programs off CAP_SYS_ADMIN */
	if (!(h->caps & SL_CAPF_SYS_ADMIN) &&
	    (!cap_bpf || !(h->caps & SL_CAPF_BPF)))
		need |= cap_bpf ? SL_CAPF_BPF : SL_CAPF_SYS_ADMIN;
	if ((h->caps & need) != need) {
		char missing[64];

		sl_probe_caps_str(need & ~h->caps, missing, sizeof(missing));
		NO(v, "needs CAP_NET_ADMIN, CAP_NET_RAW and %s; missing: %s",
		   cap_bpf ? "CAP_BPF" : "CAP_SYS_ADMIN", missing);
		FIX(v, "setcap cap_net_raw,cap_net_admin,%s+ep %s",
		    cap_bpf ? "cap_bpf" : "cap_sys_admin", bin);
		return false;
	}
	if (!(h->caps & SL_CAPF_IPC_LOCK) && h->memlock_cur < pin) {
		mib(a, sizeof(a), h->memlock_cur);
		mib(b, sizeof(b), pin);
		NO(v,
		   "locked-memory limit %s is below the %s the UMEM of %u "
		   "queue(s) pins",
		   a, b, queues);
		FIX(v,
		    "ulimit -l unlimited (systemd: LimitMEMLOCK=infinity), "
		    "or setcap cap_ipc_lock+ep %s",
		    bin);
		return false;
	}
	for (i = 0; i < f->n_xdp_progs; i++) {
		const struct sl_xdp_prog_fact *p = &f->xdp_progs[i];

		if (p->ours)
			continue;
		NO(v,
		   "%s already runs XDP program id %u%s%s (mode %s); "
		   "sluice will not replace it",
		   f->name, p->id, p->name[0] ? " " : "", p->name, p->mode);
		FIX(v,
		    "ip link set dev %s xdp off   # only if nothing needs "
		    "that program",
		    f->name);
		return false;
	}
	if (f->rx_queues_total >= 0 && (unsigned)f->rx_queues_total < queues) {
		NO(v, "%s has %d RX queue(s); %u wanted", f->name,
		   f->rx_queues_total, queues);
		if (f->max_combined_queues > 0 &&
		    (unsigned)f->max_combined_queues < queues)
			FIX(v,
			    "the driver allows at most %d: ask for fewer "
			    "queues",
			    f->max_combined_queues);
		else
			FIX(v, "ethtool -L %s combined %u", f->name, queues);
		return false;
	}
	return true;
}

int sl_probe_paths(const char *iface, const struct sl_path_opts *opts,
		   struct sl_path_verdict out[SL_PATH__COUNT])
{
	struct sl_path_opts o = { .sz = sizeof(o) };
	struct sl_iface_facts f = { .sz = sizeof(f) };
	struct sl_host_facts h = { .sz = sizeof(h) };
	struct sl_path_verdict *v;
	const char *bin;
	unsigned queues, p;
	int err, spread;
	char zc_why[256];

	if (!iface || !out)
		return sl_fail(EINVAL, "sl_probe_paths: no %s",
			       !iface ? "interface" : "output");
	if (sl_opts_in(&o, sizeof(o), opts, "sl_probe_paths", "sl_path_opts"))
		return -EINVAL;
	queues = o.queues ? o.queues : 1;
	bin = o.binary ? o.binary : "BINARY";
	err = sl_probe_iface(iface, &f);
	if (err)
		return err;
	sl_probe_host(&h);

	for (p = 0; p < SL_PATH__COUNT; p++) {
		v = &out[p];
		memset(v, 0, sizeof(*v));
		v->path = (enum sl_path)p;
		v->risk = path_risks[p];
		v->available = true;
		if (!f.up) {
			NO(v, "%s is down", f.name);
			FIX(v, "ip link set dev %s up", f.name);
		}
	}

	v = &out[SL_PATH_UDP];
	if (v->available && !has_ipv4(f.name)) {
		NO(v, "%s has no IPv4 address for the udp socket to bind",
		   f.name);
		FIX(v, "ip addr add ADDR/PREFIX dev %s", f.name);
	}

	v = &out[SL_PATH_PACKET];
	if (v->available && !(h.caps & SL_CAPF_NET_RAW)) {
		NO(v, "needs CAP_NET_RAW");
		FIX(v, "setcap cap_net_raw+ep %s", bin);
	}

	v = &out[SL_PATH_XDP_COPY];
	if (v->available && xdp_common(v, &f, &h, queues, bin) &&
	    f.xdp_features_known && !(f.xdp_features & SL_XDP_ACT_BASIC))
		set(v->note, sizeof(v->note),
		    "driver %s has no native XDP: generic mode (after the "
		    "kernel builds the skb, slower)",
		    f.driver[0] ? f.driver : "?");

	v = &out[SL_PATH_XDP_ZC];
	if (!v->available) {
		/* the link is down: reason set above */
	} else if (!out[SL_PATH_XDP_COPY].available) {
		*v = out[SL_PATH_XDP_COPY];
		v->path = SL_PATH_XDP_ZC;
		v->risk = path_risks[SL_PATH_XDP_ZC];
		v->note[0] = '\0';
	} else if (f.xdp_features_known &&
		   !(f.xdp_features & SL_XDP_ACT_XSK_ZEROCOPY)) {
		NO(v,
		   "driver %s does not offer AF_XDP zero-copy (its XDP "
		   "features lack xsk-zerocopy)",
		   f.driver[0] ? f.driver : "?");
		FIX(v, "none on this interface: zero-copy needs a NIC whose "
		       "driver supports it (ice, i40e, ixgbe, mlx5, ...)");
	} else if (sl_if_zc_blocker(f.name, f.driver, zc_why, sizeof(zc_why))) {
		/* offered by the driver, refused by this device */
		NO(v, "%s", zc_why);
		FIX(v, "give the VM's NIC the platform DMA API (qemu: -device "
		       "virtio-net-pci,iommu_platform=on,disable-legacy=on)");
	} else if (!f.xdp_features_known) {
		set(v->note, sizeof(v->note),
		    "the kernel (< 6.3) does not say whether %s supports "
		    "zero-copy: opening it will tell",
		    f.driver[0] ? f.driver : "the driver");
	}
	if (v->available && h.huge_2m_free >= 0 &&
	    (uint64_t)h.huge_2m_free * (2u << 20) <
		    UMEM_BYTES_PER_QUEUE * queues)
		set(v->note, sizeof(v->note),
		    "no free 2 MiB hugepages for the UMEM: 4 KiB pages cost "
		    "IOTLB misses; echo 512 > /proc/sys/vm/nr_hugepages");
	/* more queues only help when the driver allows them */
	spread = h.cores;
	if (f.max_combined_queues > 0 || f.max_rx_queues > 0)
		spread = SL_MIN(spread,
				SL_MAX(f.max_combined_queues, f.max_rx_queues));
	for (p = 0; p < SL_PATH_PACKET; p++) {
		v = &out[p];
		if (v->available && !v->note[0] && f.rx_queues_total == 1 &&
		    spread > 1)
			set(v->note, sizeof(v->note),
			    "one RX queue: one core receives; ethtool -L %s "
			    "combined %d spreads the load",
			    f.name, spread);
	}
	return 0;
}
