/* SPDX-License-Identifier: MIT */
/*
 * What this host can do for kernel bypass, and what each path costs here.
 *
 * Three layers of answers, all control path:
 *  - kernel features (sl_probe_feature): one cached probe per feature, the
 *    first call does the work and later calls return the stored answer;
 *  - facts about the host (sl_probe_host: memory, CPU, privileges, IOMMU,
 *    RDMA) and about one interface (sl_probe_iface: driver, queues, XDP
 *    support and programs, link), read fresh on every call;
 *  - a verdict per path (udp, packet, xdp-copy, xdp-zc) on an interface:
 *    available or not, the first reason why not, its risk and the command
 *    that fixes what is missing (sl_probe_paths).
 *
 * Everything works without privileges: what could not be read is reported
 * as unknown (-1, or a note in `unread`) instead of failing the call.
 * Interfaces are looked up in the calling thread's network namespace.
 */
#ifndef SLUICE_PROBE_H
#define SLUICE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sl_feature {
	SL_FEAT_BPF_SYSCALL = 0, /* bpf(2), 3.18 */
	SL_FEAT_AF_XDP, /* AF_XDP sockets, 4.18 */
	SL_FEAT_BTF, /* kernel BTF in /sys/kernel/btf/vmlinux, 5.4 */
	SL_FEAT_XDP_NEED_WAKEUP, /* XDP_USE_NEED_WAKEUP, 5.4 */
	SL_FEAT_IO_URING, /* io_uring_setup(2), 5.1 */
	SL_FEAT_BPF_LINK_XDP, /* BPF links for XDP, 5.9 */
	SL_FEAT_XDP_LIVE_FRAMES, /* BPF_F_TEST_XDP_LIVE_FRAMES, 5.18 */
	SL_FEAT_NETDEV_GENL, /* netdev genl family, XDP features, 6.3 */
	SL_FEAT_HUGETLB, /* hugetlbfs pages (2 MiB) configurable */
	SL_FEAT__COUNT,
};

/* "af_xdp", "bpf_link_xdp", ...: a stable name (JSON keys), or NULL. */
SL_API const char *sl_feature_name(enum sl_feature f);

/*
 * Whether the running kernel has feature f: 1 yes, 0 no, -errno when the
 * probe itself failed. why (may be NULL) gets one line on how that was
 * decided ("socket(AF_XDP) answered EPERM: present", "kernel 6.1 >= 5.9").
 * Cached after the first call; thread-safe.
 */
SL_API int sl_probe_feature(enum sl_feature f, char *why, size_t len);

/* Drop the cached answers (tests, or after a kernel module load). */
SL_API void sl_probe_reset(void);

/* bits of sl_iface_facts.xdp_features, as the kernel's netdev family
 * reports them (NETDEV_XDP_ACT_*) */
#define SL_XDP_ACT_BASIC (1u << 0)
#define SL_XDP_ACT_REDIRECT (1u << 1)
#define SL_XDP_ACT_NDO_XMIT (1u << 2)
#define SL_XDP_ACT_XSK_ZEROCOPY (1u << 3)
#define SL_XDP_ACT_HW_OFFLOAD (1u << 4)
#define SL_XDP_ACT_RX_SG (1u << 5)
#define SL_XDP_ACT_NDO_XMIT_SG (1u << 6)

#define SL_PROBE_MAX_XDP_PROGS 4

struct sl_xdp_prog_fact {
	uint32_t id;
	char mode[8]; /* "skb", "drv", "hw" */
	char name[32]; /* "" when it could not be read (needs CAP_SYS_ADMIN) */
	bool ours; /* sluice's steering program */
};

struct sl_iface_facts {
	size_t sz; /* sizeof(struct sl_iface_facts), set by the caller */
	char name[16];
	int ifindex;
	char driver[32]; /* "veth", "ixgbe", ... ("" unknown) */
	char driver_version[32];
	char bus_info[32];
	int mtu; /* -1 unknown */
	bool up; /* administratively up */
	bool running; /* carrier */
	char operstate[16]; /* "up", "down", "unknown", ... */
	int numa_node; /* -1 when none or unknown */
	/* queues: from ethtool channels when the driver reports them, else
	 * from the device's queue counts; -1 unknown */
	int rx_queues, tx_queues, combined_queues;
	int max_rx_queues, max_tx_queues, max_combined_queues;
	char queues_source[16]; /* "ethtool", "netlink" */
	/* RX queues a socket can bind: rx + combined channels (veth reports
	 * its queues as both, so there it is rx); -1 unknown */
	int rx_queues_total;
	/* XDP support as the kernel reports it (6.3+); xdp_features_known is
	 * false on older kernels */
	bool xdp_features_known;
	uint64_t xdp_features; /* SL_XDP_ACT_* */
	int xdp_zc_max_segs; /* -1 unknown */
	unsigned n_xdp_progs;
	struct sl_xdp_prog_fact xdp_progs[SL_PROBE_MAX_XDP_PROGS];
	char unread[256]; /* what could not be read, and why ("" if all) */
};

/*
 * Facts about the interface `name` in the calling thread's namespace.
 * Returns 0 (unreadable facts stay at -1/"" and are named in `unread`),
 * -ENODEV when there is no such interface, -EINVAL on bad arguments; with a
 * message. Thread-safe.
 */
SL_API int sl_probe_iface(const char *name, struct sl_iface_facts *out);

/* capability bits of sl_host_facts.caps */
#define SL_CAPF_NET_ADMIN (1u << 0)
#define SL_CAPF_NET_RAW (1u << 1)
#define SL_CAPF_BPF (1u << 2)
#define SL_CAPF_IPC_LOCK (1u << 3)
#define SL_CAPF_SYS_ADMIN (1u << 4)

struct sl_host_facts {
	size_t sz; /* sizeof(struct sl_host_facts), set by the caller */
	char kernel[64]; /* uname release */
	int kernel_major, kernel_minor;
	int unprivileged_bpf_disabled; /* the sysctl; -1 unknown */
	/* hugepages, -1 unknown */
	long huge_2m_total, huge_2m_free;
	long huge_1g_total, huge_1g_free;
	uint64_t memlock_cur, memlock_max; /* bytes; UINT64_MAX unlimited */
	int cores; /* online */
	char isolated[64]; /* isolcpus list ("" none) */
	char nohz_full[64];
	char governor[32]; /* cpu0's, "" when no cpufreq */
	unsigned caps; /* effective SL_CAPF_* */
	int uid, euid;
	int iommu_groups; /* -1 when no IOMMU is on */
	unsigned n_rdma;
	char rdma[128]; /* device names, comma separated */
	char unread[256];
};

/* Facts about the host. 0 or -EINVAL; never fails for lack of privileges.
 * Thread-safe. */
SL_API int sl_probe_host(struct sl_host_facts *out);

/*
 * Whether netfilter looks at traffic that a bypass path (xdp, packet) takes
 * from it, in the calling thread's network namespace: a base chain of
 * nftables (iptables-nft too) on prerouting, input, output or postrouting
 * of ip, ip6 or inet, or any netdev chain, that holds a rule or drops by
 * policy; or a legacy iptables table with rules. 1 yes, with the first one
 * found in where ("nftables inet filter chain input (input): 3 rules"), 0
 * no, -errno when it cannot be read (EPERM without CAP_NET_ADMIN), with a
 * message. Whether a rule would match a given port is not decided.
 * Control path, thread-safe.
 */
SL_API int sl_probe_netfilter(char *where, size_t len);

/* Names of the capability bits set in caps: "net_admin,net_raw" ("" if
 * none). */
SL_API void sl_probe_caps_str(unsigned caps, char *buf, size_t len);

enum sl_risk {
	SL_RISK_LOW = 0, /* the kernel stack guards everything */
	SL_RISK_MEDIUM, /* diverted flows bypass filtering and tracking */
	SL_RISK_HIGH, /* as medium, and memory pinned to the NIC */
};

/* "low", "medium", "high"; sl_risk_parse gives -EINVAL on anything else. */
SL_API const char *sl_risk_name(enum sl_risk r);
SL_API int sl_risk_parse(const char *s, enum sl_risk *out);

enum sl_path {
	SL_PATH_XDP_ZC = 0, /* fastest first: the order auto: walks */
	SL_PATH_XDP_COPY,
	SL_PATH_PACKET,
	SL_PATH_UDP,
	SL_PATH__COUNT,
};

/* "xdp-zc", "xdp-copy", "packet", "udp" */
SL_API const char *sl_path_name(enum sl_path p);
SL_API enum sl_risk sl_path_risk(enum sl_path p);

struct sl_path_verdict {
	enum sl_path path;
	bool available;
	enum sl_risk risk;
	char reason[200]; /* the first reason it is not available ("" if it is) */
	char fix[200]; /* the command that fixes it ("" if none or not needed) */
	char note[200]; /* advice that does not block it (hugepages, queues) */
};

struct sl_path_opts {
	size_t sz; /* sizeof(struct sl_path_opts) */
	unsigned queues; /* queues the application wants; 0: 1 */
	const char *binary; /* for the setcap line; NULL: "BINARY" */
};

/*
 * The verdict for every path on interface `iface` (in the calling thread's
 * namespace), in the order xdp-zc, xdp-copy, packet, udp. opts may be NULL.
 * Returns 0, -ENODEV when there is no such interface, -EINVAL; with a
 * message. Thread-safe.
 */
SL_API int sl_probe_paths(const char *iface, const struct sl_path_opts *opts,
			  struct sl_path_verdict out[SL_PATH__COUNT]);

/* The interface's first IPv4 address (network order) into *addr: 0, or
 * -EADDRNOTAVAIL / -ENODEV with a message. */
SL_API int sl_probe_iface_ipv4(const char *iface, uint32_t *addr);

#ifdef __cplusplus
}
#endif
#endif
