// SPDX-License-Identifier: MIT
/*
 * Frame builders: UDP and ICMP echo over IPv4/IPv6 (with an optional 802.1Q
 * tag), and ARP. Headers are written with memcpy from packed structs, so buf
 * needs no alignment. The payload may already sit in buf where it belongs
 * (pass NULL) or overlap it: it is moved with memmove, before the headers
 * are written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <sluice/net.h>

#define MAX_UDP_PAYLOAD 65507 /* 65535 - IPv4 header - UDP header */

static size_t l2_len(const struct sl_udp_params *p)
{
	return SL_ETH_HLEN + (p->vlan_tci ? sizeof(struct sl_vlan_hdr) : 0);
}

static size_t l3_len(const struct sl_udp_params *p)
{
	return p->src.family == AF_INET6 ? sizeof(struct sl_ipv6_hdr) :
					   sizeof(struct sl_ipv4_hdr);
}

size_t sl_udp_hdr_len(const struct sl_udp_params *p)
{
	if (p->src.family != AF_INET && p->src.family != AF_INET6)
		return 0;
	return l2_len(p) + l3_len(p) + sizeof(struct sl_udp_hdr);
}

/*
 * Check the request and lay out the frame: returns the total length with
 * the payload in place, or a negative error.
 */
static int prepare(void *buf, size_t cap, const struct sl_udp_params *p,
		   size_t l4_hdr, const void *payload, size_t len)
{
	size_t total;

	if ((p->src.family != AF_INET && p->src.family != AF_INET6) ||
	    p->src.family != p->dst.family)
		return -EAFNOSUPPORT;
	if (len > MAX_UDP_PAYLOAD)
		return -EMSGSIZE;
	total = l2_len(p) + l3_len(p) + l4_hdr + len;
	if (!buf || total > cap)
		return -ENOSPC;
	if (payload && len)
		memmove((uint8_t *)buf + total - len, payload, len);
	return (int)total;
}

/* Ethernet, tag and IP header for an L4 segment of l4_len bytes; returns
 * where the L4 header goes. */
static uint8_t *write_l2_l3(uint8_t *b, const struct sl_udp_params *p,
			    uint8_t proto, size_t l4_len)
{
	struct sl_eth_hdr eth;
	uint16_t type = htons(p->src.family == AF_INET6 ? SL_ETHERTYPE_IPV6 :
							  SL_ETHERTYPE_IPV4);
	uint8_t ttl = p->ttl ? p->ttl : 64;

	memcpy(eth.dst, p->dst_mac, SL_ETH_ALEN);
	memcpy(eth.src, p->src_mac, SL_ETH_ALEN);
	if (p->vlan_tci) {
		struct sl_vlan_hdr vlan = { .tci = htons(p->vlan_tci),
					    .type = type };

		eth.type = htons(SL_ETHERTYPE_VLAN);
		memcpy(b, &eth, sizeof(eth));
		b += sizeof(eth);
		memcpy(b, &vlan, sizeof(vlan));
		b += sizeof(vlan);
	} else {
		eth.type = type;
		memcpy(b, &eth, sizeof(eth));
		b += sizeof(eth);
	}
	if (p->src.family == AF_INET6) {
		struct sl_ipv6_hdr ip6 = {
			.vtc_flow = htonl(6u << 28 | (uint32_t)p->tos << 20),
			.payload_len = htons((uint16_t)l4_len),
			.next = proto,
			.hop_limit = ttl,
		};

		memcpy(ip6.src, &p->src.v6, 16);
		memcpy(ip6.dst, &p->dst.v6, 16);
		memcpy(b, &ip6, sizeof(ip6));
		return b + sizeof(ip6);
	} else {
		struct sl_ipv4_hdr ip = {
			.ver_ihl = 0x45,
			.tos = p->tos,
			.tot_len = htons((uint16_t)(sizeof(ip) + l4_len)),
			.id = htons(p->ip_id),
			.frag_off = p->flags & SL_BUILD_NO_DF ?
					    0 :
					    htons(0x4000), /* DF */
			.ttl = ttl,
			.proto = proto,
			.src = p->src.v4.s_addr,
			.dst = p->dst.v4.s_addr,
		};

		ip.csum = sl_ipv4_csum(&ip);
		memcpy(b, &ip, sizeof(ip));
		return b + sizeof(ip);
	}
}

/* The L4 checksum of the segment at l4, whose IP header ends there. */
static uint16_t l4_csum(const struct sl_udp_params *p, const uint8_t *l4,
			uint8_t proto, size_t l4_len)
{
	if (p->src.family == AF_INET6)
		return sl_ipv6_l4_csum((const struct sl_ipv6_hdr *)(l4 - 40),
				       proto, l4, l4_len);
	return sl_ipv4_l4_csum((const struct sl_ipv4_hdr *)(l4 - 20), proto, l4,
			       l4_len);
}

int sl_udp_build(void *buf, size_t cap, const struct sl_udp_params *p,
		 const void *payload, size_t len)
{
	size_t l4_len = sizeof(struct sl_udp_hdr) + len;
	struct sl_udp_hdr udp;
	uint8_t *l4;
	int total;

	total = prepare(buf, cap, p, sizeof(udp), payload, len);
	if (total < 0)
		return total;
	l4 = write_l2_l3(buf, p, SL_IPPROTO_UDP, l4_len);
	udp.sport = htons(p->src.port);
	udp.dport = htons(p->dst.port);
	udp.len = htons((uint16_t)l4_len);
	udp.csum = 0;
	memcpy(l4, &udp, sizeof(udp));
	/* the UDP checksum is optional over IPv4 only (RFC 768, RFC 8200) */
	if (p->src.family == AF_INET6 || !(p->flags & SL_BUILD_NO_L4_CSUM)) {
		udp.csum = l4_csum(p, l4, SL_IPPROTO_UDP, l4_len);
		memcpy(l4 + 6, &udp.csum, 2);
	}
	return total;
}

int sl_icmp_echo_build(void *buf, size_t cap, const struct sl_udp_params *p,
		       bool reply, uint16_t id, uint16_t seq, const void *data,
		       size_t len)
{
	size_t l4_len = sizeof(struct sl_icmp_echo) + len;
	bool v6 = p->src.family == AF_INET6;
	uint8_t proto = v6 ? SL_IPPROTO_ICMPV6 : SL_IPPROTO_ICMP;
	struct sl_icmp_echo e = { 0 };
	uint8_t *l4;
	int total;

	total = prepare(buf, cap, p, sizeof(e), data, len);
	if (total < 0)
		return total;
	l4 = write_l2_l3(buf, p, proto, l4_len);
	if (v6)
		e.type = reply ? SL_ICMPV6_ECHO_REPLY : SL_ICMPV6_ECHO_REQUEST;
	else
		e.type = reply ? SL_ICMP_ECHO_REPLY : SL_ICMP_ECHO_REQUEST;
	e.id = htons(id);
	e.seq = htons(seq);
	memcpy(l4, &e, sizeof(e));
	e.csum = l4_csum(p, l4, proto, l4_len);
	memcpy(l4 + 2, &e.csum, 2);
	return total;
}

int sl_arp_build(void *buf, size_t cap, uint16_t oper,
		 const uint8_t sha[SL_ETH_ALEN], struct in_addr spa,
		 const uint8_t tha[SL_ETH_ALEN], struct in_addr tpa)
{
	static const uint8_t bcast[SL_ETH_ALEN] = { 0xff, 0xff, 0xff,
						    0xff, 0xff, 0xff };
	struct sl_eth_hdr eth;
	struct sl_arp_hdr arp = {
		.htype = htons(1),
		.ptype = htons(SL_ETHERTYPE_IPV4),
		.hlen = SL_ETH_ALEN,
		.plen = 4,
		.oper = htons(oper),
	};
	bool request = oper == SL_ARP_REQUEST;

	if (!buf || cap < sizeof(eth) + sizeof(arp))
		return -ENOSPC;
	memcpy(eth.dst, request || !tha ? bcast : tha, SL_ETH_ALEN);
	memcpy(eth.src, sha, SL_ETH_ALEN);
	eth.type = htons(SL_ETHERTYPE_ARP);
	memcpy(arp.sha, sha, SL_ETH_ALEN);
	memcpy(arp.spa, &spa, 4);
	/* a request does not know the target's MAC yet: zeros (RFC 826) */
	if (!request && tha)
		memcpy(arp.tha, tha, SL_ETH_ALEN);
	memcpy(arp.tpa, &tpa, 4);
	memcpy(buf, &eth, sizeof(eth));
	memcpy((uint8_t *)buf + sizeof(eth), &arp, sizeof(arp));
	return (int)(sizeof(eth) + sizeof(arp));
}
