/* SPDX-License-Identifier: MIT */
/*
 * Packet headers: Ethernet, 802.1Q, ARP, IPv4, IPv6, UDP, ICMP/ICMPv6 echo.
 * Layouts, a hardened frame parser, builders, and Internet checksums.
 *
 * Every multi-byte header field is in network byte order. The parser reads
 * through one bounds-checked cursor: malformed input returns an error code
 * and never reads outside [frame, frame + len).
 */
#ifndef SLUICE_NET_H
#define SLUICE_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>
#include <sluice/pkt.h> /* enum sl_csum */

#ifdef __cplusplus
extern "C" {
#endif

#define SL_ETH_ALEN 6
#define SL_ETH_HLEN 14
#define SL_ETHERTYPE_IPV4 0x0800
#define SL_ETHERTYPE_ARP 0x0806
#define SL_ETHERTYPE_VLAN 0x8100
#define SL_ETHERTYPE_QINQ 0x88A8
#define SL_ETHERTYPE_IPV6 0x86DD

#define SL_IPPROTO_ICMP 1
#define SL_IPPROTO_TCP 6
#define SL_IPPROTO_UDP 17
#define SL_IPPROTO_ICMPV6 58

#define SL_ICMP_ECHO_REPLY 0
#define SL_ICMP_ECHO_REQUEST 8
#define SL_ICMPV6_ECHO_REQUEST 128
#define SL_ICMPV6_ECHO_REPLY 129

#define SL_ARP_REQUEST 1
#define SL_ARP_REPLY 2

#define SL_VLAN_MAX_TAGS 2 /* 802.1ad outer + 802.1Q inner */
#define SL_IPV6_MAX_EXT 8 /* extension headers walked before giving up */

struct sl_eth_hdr {
	uint8_t dst[SL_ETH_ALEN];
	uint8_t src[SL_ETH_ALEN];
	uint16_t type;
} __attribute__((packed));

struct sl_vlan_hdr {
	uint16_t tci; /* PCP(3) DEI(1) VID(12) */
	uint16_t type; /* encapsulated EtherType */
} __attribute__((packed));

struct sl_arp_hdr { /* Ethernet + IPv4 ARP only */
	uint16_t htype; /* 1 */
	uint16_t ptype; /* 0x0800 */
	uint8_t hlen; /* 6 */
	uint8_t plen; /* 4 */
	uint16_t oper;
	uint8_t sha[SL_ETH_ALEN];
	uint8_t spa[4];
	uint8_t tha[SL_ETH_ALEN];
	uint8_t tpa[4];
} __attribute__((packed));

struct sl_ipv4_hdr {
	uint8_t ver_ihl;
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag_off; /* flags(3) offset(13) */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src;
	uint32_t dst;
} __attribute__((packed));

struct sl_ipv6_hdr {
	uint32_t vtc_flow; /* version(4) traffic class(8) flow label(20) */
	uint16_t payload_len;
	uint8_t next;
	uint8_t hop_limit;
	uint8_t src[16];
	uint8_t dst[16];
} __attribute__((packed));

struct sl_udp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint16_t len;
	uint16_t csum;
} __attribute__((packed));

struct sl_icmp_echo { /* ICMP and ICMPv6 echo share this layout */
	uint8_t type;
	uint8_t code;
	uint16_t csum;
	uint16_t id;
	uint16_t seq;
} __attribute__((packed));

/* ---- addresses -------------------------------------------------------- */

/* An IPv4 or IPv6 address with a UDP port (host byte order). */
struct sl_addr {
	int family; /* AF_INET or AF_INET6 */
	uint16_t port;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* Parse "1.2.3.4:80", "[2001:db8::1]:80", or, when port_optional, also
 * "1.2.3.4" and "2001:db8::1" (port 0). Returns 0, or -EINVAL with a message
 * naming the bad part ("bad address '1.2.3'", "bad port '99999'") in
 * sl_last_error(). Control path, thread-safe. */
SL_API int sl_addr_parse(const char *s, bool port_optional,
			 struct sl_addr *out);
/* "1.2.3.4:80" or "[::1]:80" into buf; returns buf. */
SL_API char *sl_addr_format(const struct sl_addr *a, char *buf, size_t len);
SL_API bool sl_addr_equal(const struct sl_addr *a, const struct sl_addr *b);

/* ---- parsing ---------------------------------------------------------- */

enum sl_l3 {
	SL_L3_NONE = 0, /* unknown EtherType: payload at l3_off */
	SL_L3_ARP,
	SL_L3_IPV4,
	SL_L3_IPV6,
};

/* sl_frame.flags */
#define SL_FRAME_IP_FRAG (1u << 0) /* IP fragment: no L4 header parsed */
#define SL_FRAME_IP_OPTS (1u << 1) /* IPv4 options present (skipped) */
#define SL_FRAME_IP_EXT (1u << 2) /* IPv6 extension headers (walked) */

/* What sl_frame_parse found; offsets are from the start of the frame. */
struct sl_frame {
	uint16_t n_vlan; /* tags seen (0..SL_VLAN_MAX_TAGS) */
	uint16_t vlan_tci[SL_VLAN_MAX_TAGS]; /* host order, outer first */
	uint16_t ethertype; /* host order, after the tags */
	uint16_t l3_off; /* IP/ARP header */
	uint16_t l4_off; /* UDP/ICMP/... header (after options/extensions) */
	uint16_t payload_off; /* after the UDP or ICMP echo header */
	uint32_t payload_len; /* by the IP/UDP length fields, not the frame */
	uint32_t frame_len; /* len as given */
	uint8_t l3; /* enum sl_l3 */
	uint8_t l4_proto; /* IP protocol / last next-header; 0 for ARP */
	uint16_t flags; /* SL_FRAME_* */
};

/*
 * Parse an Ethernet frame down to its payload. Returns 0, or a negative
 * error that leaves *out partially filled:
 *   -EMSGSIZE  truncated: a header or a length field runs past len;
 *   -EBADMSG   malformed: bad IP version, IHL < 5, IP/UDP length fields that
 *              contradict each other, ARP not Ethernet/IPv4;
 *   -ELOOP     more than SL_IPV6_MAX_EXT IPv6 extension headers.
 * Unknown EtherTypes and IP protocols are not errors: parsing stops there.
 * Trailing bytes after the IP packet (Ethernet padding) are allowed. Fast
 * path, thread-safe, never reads outside the frame.
 */
SL_API int sl_frame_parse(const void *frame, size_t len, struct sl_frame *out);

/* Check the IPv4 header checksum and the UDP/ICMP/ICMPv6 checksum of a
 * parsed frame: 0 if every checksum present is right (a UDP/IPv4 checksum of
 * 0 means "none"), -EBADMSG otherwise. */
SL_API int sl_frame_verify_csum(const void *frame, const struct sl_frame *f);

/*
 * The checksum states of a parsed frame, found in software (enum sl_csum,
 * pkt.h): *l3 GOOD or BAD for IPv4, NONE otherwise; *l4 GOOD, BAD, NONE
 * (UDP/IPv4 checksum 0, a fragment, no checksum known) or PARTIAL (wrong,
 * but exactly the pseudo-header sum that a local sender leaves for its
 * device: CHECKSUM_PARTIAL). UDP, TCP, ICMP and ICMPv6 are checked. Fast
 * path, thread-safe: one pass over the IPv4 header and one over L4.
 */
SL_API void sl_frame_csum_state(const void *frame, const struct sl_frame *f,
				enum sl_csum *l3, enum sl_csum *l4);

/* True when the L4 checksum field of a parsed frame holds exactly the
 * pseudo-header sum (the CHECKSUM_PARTIAL seed): a test on the headers
 * only, for forwarders that do not verify every frame. */
SL_API bool sl_frame_csum_is_seed(const void *frame, const struct sl_frame *f);

/* sl_frame_csum_fill: what to fill in */
#define SL_CSUM_FILL_L3 (1u << 0) /* the IPv4 header checksum */
#define SL_CSUM_FILL_L4 (1u << 1) /* the UDP/TCP/ICMP/ICMPv6 checksum */

/* Compute and store the checksums what asks for in a parsed frame, in
 * place (a UDP checksum computed as 0 is stored as 0xffff). Returns 0, or
 * -EPROTONOSUPPORT when L4 was asked of a frame without a checksum sluice
 * can fill (not IP, a fragment, another protocol): the L3 part is still
 * done. Fast path, thread-safe. */
SL_API int sl_frame_csum_fill(void *frame, const struct sl_frame *f,
			      unsigned what);

/* ---- checksums -------------------------------------------------------- */

/* One's-complement sum of len bytes added to sum (not folded). */
SL_API uint32_t sl_csum_partial(const void *buf, size_t len, uint32_t sum);

static inline uint16_t sl_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IPv4 header checksum (over ihl*4 bytes, the csum field taken as 0),
 * ready to store. */
SL_API uint16_t sl_ipv4_csum(const struct sl_ipv4_hdr *ip);
/* The L4 checksum (UDP, ICMPv6, ... with the pseudo-header; plain ICMP over
 * IPv4 has none, so sl_csum_fold(sl_csum_partial()) is used for it) over l4
 * of l4_len bytes, its csum field taken as 0, ready to store (a computed UDP
 * 0 is returned as 0xffff). */
SL_API uint16_t sl_ipv4_l4_csum(const struct sl_ipv4_hdr *ip, uint8_t proto,
				const void *l4, size_t l4_len);
SL_API uint16_t sl_ipv6_l4_csum(const struct sl_ipv6_hdr *ip6, uint8_t proto,
				const void *l4, size_t l4_len);

/* Incremental update (RFC 1624, eqn. 3) of a stored checksum when a 16- or
 * 32-bit field (network order values) changes from old to new. */
static inline uint16_t sl_csum_update16(uint16_t csum, uint16_t old_v,
					uint16_t new_v)
{
	uint32_t s = (uint16_t)~csum;

	s += (uint16_t)~old_v;
	s += new_v;
	return sl_csum_fold(s);
}

static inline uint16_t sl_csum_update32(uint16_t csum, uint32_t old_v,
					uint32_t new_v)
{
	csum = sl_csum_update16(csum, (uint16_t)(old_v >> 16),
				(uint16_t)(new_v >> 16));
	return sl_csum_update16(csum, (uint16_t)old_v, (uint16_t)new_v);
}

/* ---- builders --------------------------------------------------------- */

/* sl_udp_params.flags */
#define SL_BUILD_NO_L4_CSUM (1u << 0) /* IPv4: leave the UDP checksum 0 */
/* IPv4: DF clear, as the kernel sends for IP_PMTUDISC_DONT, _INTERFACE and
 * _OMIT; ip_id should then differ per datagram (routers may fragment) */
#define SL_BUILD_NO_DF (1u << 1)

/* Addressing of a UDP (or ICMP echo) frame to build. */
struct sl_udp_params {
	uint8_t dst_mac[SL_ETH_ALEN];
	uint8_t src_mac[SL_ETH_ALEN];
	uint16_t vlan_tci; /* host order; 0: no tag */
	struct sl_addr src; /* family decides IPv4/IPv6; port = UDP sport */
	struct sl_addr dst; /* same family as src; port = UDP dport */
	uint8_t ttl; /* TTL / hop limit; 0 means 64 */
	uint8_t tos; /* TOS / traffic class */
	uint16_t ip_id; /* IPv4 identification (host order) */
	unsigned flags; /* SL_BUILD_* */
};

/* Write Ethernet [802.1Q] IP UDP headers and len bytes of payload (payload
 * NULL: leave those bytes as they are, checksum computed over them) into
 * buf of cap bytes, IPv4 with DF set unless SL_BUILD_NO_DF. Returns the frame length, or -ENOSPC
 * (nothing useful written), -EAFNOSUPPORT (families differ or unknown),
 * -EMSGSIZE (len over 65507). Thread-safe. */
SL_API int sl_udp_build(void *buf, size_t cap, const struct sl_udp_params *p,
			const void *payload, size_t len);
/* Headers only: bytes sl_udp_build puts in front of the payload. */
SL_API size_t sl_udp_hdr_len(const struct sl_udp_params *p);

/* ICMP (IPv4) or ICMPv6 echo request/reply with id, seq and len bytes of
 * data; ports in p are ignored. Same returns as sl_udp_build. */
SL_API int sl_icmp_echo_build(void *buf, size_t cap,
			      const struct sl_udp_params *p, bool reply,
			      uint16_t id, uint16_t seq, const void *data,
			      size_t len);

/* ARP request (tha ignored, sent to broadcast) or reply over Ethernet.
 * Addresses in network order. Returns the frame length (42) or -ENOSPC. */
SL_API int sl_arp_build(void *buf, size_t cap, uint16_t oper,
			const uint8_t sha[SL_ETH_ALEN], struct in_addr spa,
			const uint8_t tha[SL_ETH_ALEN], struct in_addr tpa);

#ifdef __cplusplus
}
#endif
#endif
