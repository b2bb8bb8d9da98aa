// SPDX-License-Identifier: MIT
/*
 * sluice's XDP steering program. Frames that match one of the port's rules go
 * to the AF_XDP socket bound to their RX queue; everything else goes on to
 * the kernel stack, so ARP, SSH and ping keep working while an application
 * owns a flow. When no socket is bound at the queue the frame passes too
 * (bpf_redirect_map's fallback action), so a half-set-up port never
 * black-holes traffic.
 *
 * Every header read is preceded by an explicit bounds check against
 * data_end: that is what the verifier requires, and it is also what keeps a
 * truncated or hostile frame from being misparsed. Anything the parser does
 * not understand (IPv6 extension headers, IPv4 fragments, a second VLAN tag)
 * passes to the kernel.
 *
 * The program takes multi-buffer frames ("xdp.frags": BPF_F_XDP_HAS_FRAGS),
 * so that an interface carries an MTU above a page with it attached (veth
 * refuses one to a program without) and AF_XDP sockets bound with
 * XDP_USE_SG get frames of several chunks. Of such a frame data..data_end
 * is only the first buffer: the bounds checks above hold for it as they
 * do for a whole frame, and a frame whose headers do not all lie in its
 * first buffer (no driver splits that early) is not matched and passes.
 * The loader falls back to a plain "xdp" program on kernels before 5.18.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "steer_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SL_STEER_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} sl_steer_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_steer_conf);
} sl_steer_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_steer_counters);
} sl_steer_stats SEC(".maps");

/* A marker in .rodata, readable with bpftool, for humans wondering whose
 * program this is. */
const char sl_steer_owner[] = "sluice steering program";

struct sl_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* The UDP destination port of the frame in host order, or -1 when the frame
 * is not a UDP datagram this program understands. */
static __always_inline int udp_dport(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *l3;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return -1;
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) ||
	    proto == bpf_htons(ETH_P_8021AD)) {
		struct sl_vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > data_end)
			return -1;
		proto = vh->proto;
		l3 = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return -1;
		if (ip->version != 4 || ip->protocol != IPPROTO_UDP)
			return -1;
		/* fragments: only the first carries the UDP header, and
		 * diverting part of a datagram helps nobody */
		if (ip->frag_off & bpf_htons(0x3fff))
			return -1;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return -1;
		udp = l3 + ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		if (ip6->version != 6 || ip6->nexthdr != IPPROTO_UDP)
			return -1;
		udp = (void *)(ip6 + 1);
	} else {
		return -1;
	}
	if ((void *)(udp + 1) > data_end)
		return -1;
	return bpf_ntohs(udp->dest);
}

/*
 * The arrival time in front of the frame (SL_STEER_F_RX_TS). Not in the
 * XDP metadata: a multi-buffer program may not call bpf_xdp_adjust_meta.
 * A frame without headroom for it goes unstamped.
 */
static __always_inline void stamp(struct xdp_md *ctx)
{
	struct sl_steer_meta *m;
	void *data_end;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*m)))
		return;
	m = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if ((void *)(m + 1) > data_end)
		return;
	m->magic = SL_STEER_META_MAGIC;
	m->ts_ns = bpf_ktime_get_ns();
}

SEC("xdp.frags")
int sl_steer(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct sl_steer_counters *cnt;
	struct sl_steer_conf *conf;
	__u32 zero = 0, i, n;
	int port = -2; /* not parsed yet */
	int match = 0;
	long ret;

	cnt = bpf_map_lookup_elem(&sl_steer_stats, &zero);
	conf = bpf_map_lookup_elem(&sl_steer_rules, &zero);
	if (!cnt || !conf)
		return XDP_PASS;

	n = conf->n_rules;
	for (i = 0; i < SL_STEER_MAX_RULES; i++) {
		struct sl_steer_rule_abi *r = &conf->rule[i];

		if (i >= n)
			break;
		if (r->kind == SL_STEER_ALL) {
			match = 1;
			break;
		}
		if (r->kind != SL_STEER_UDP)
			continue;
		if (port == -2)
			port = udp_dport(data, data_end);
		if (port >= r->lo && port <= r->hi) {
			match = 1;
			break;
		}
	}
	if (!match) {
		cnt->passed++;
		return XDP_PASS;
	}
	cnt->matched++;
	ret = bpf_redirect_map(&sl_steer_xsks, ctx->rx_queue_index, XDP_PASS);
	if (ret != XDP_REDIRECT)
		cnt->redirect_failed++;
	else if (conf->flags & SL_STEER_F_RX_TS)
		/* only a frame that goes to a socket: the kernel must get
		 * the others as they came (the redirect itself happens once
		 * the program has returned) */
		stamp(ctx);
	return ret;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
