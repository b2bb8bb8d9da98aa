// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/net: frames built with the builders parse back to
 * what was asked for; malformed, truncated and contradictory frames are
 * refused without reading past the end (prefixes are copied into exactly
 * sized heap buffers so ASan sees any overread); checksums match known
 * vectors and a plain reference implementation; address strings parse and
 * fail with the documented messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sltest.h"

#include "net/cursor.h"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

static struct sl_udp_params params(bool v6, uint16_t tci)
{
	struct sl_udp_params p;

	memset(&p, 0, sizeof(p));
	memcpy(p.src_mac, mac_a, 6);
	memcpy(p.dst_mac, mac_b, 6);
	p.vlan_tci = tci;
	if (v6) {
		assert_int_equal(
			sl_addr_parse("[2001:db8::1]:1234", false, &p.src), 0);
		assert_int_equal(
			sl_addr_parse("[2001:db8::2]:5678", false, &p.dst), 0);
	} else {
		assert_int_equal(sl_addr_parse("10.0.0.1:1234", false, &p.src),
				 0);
		assert_int_equal(sl_addr_parse("10.0.0.2:5678", false, &p.dst),
				 0);
	}
	p.ip_id = 77;
	return p;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed);
}

/* Parse a copy of frame[0..len) held in an exactly sized heap buffer, so
 * ASan catches a read of even one byte past the end. */
static int parse_exact(const uint8_t *frame, size_t len, struct sl_frame *f)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, frame, len);
	rc = sl_frame_parse(copy, len, f);
	if (rc == 0)
		assert_int_equal(sl_frame_verify_csum(copy, f) == 0 ||
					 sl_frame_verify_csum(copy, f) ==
						 -EBADMSG,
				 1);
	free(copy);
	return rc;
}

/* ---- UDP, ICMP, ARP round trips ----------------------------------------- */

static void check_udp(bool v6, uint16_t tci)
{
	struct sl_udp_params p = params(v6, tci);
	uint8_t payload[100], buf[512];
	struct sl_frame f;
	size_t l3 = 14 + (tci ? 4 : 0), l4 = l3 + (v6 ? 40 : 20);
	uint16_t port;
	int n;

	fill(payload, sizeof(payload), 3);
	n = sl_udp_build(buf, sizeof(buf), &p, payload, sizeof(payload));
	assert_int_equal(n, (int)(l4 + 8 + sizeof(payload)));
	assert_int_equal(sl_udp_hdr_len(&p), l4 + 8);
	assert_int_equal(parse_exact(buf, (size_t)n, &f), 0);
	assert_int_equal(f.n_vlan, tci ? 1 : 0);
	if (tci)
		assert_int_equal(f.vlan_tci[0], tci);
	assert_int_equal(f.ethertype,
			 v6 ? SL_ETHERTYPE_IPV6 : SL_ETHERTYPE_IPV4);
	assert_int_equal(f.l3, v6 ? SL_L3_IPV6 : SL_L3_IPV4);
	assert_int_equal(f.l3_off, l3);
	assert_int_equal(f.l4_off, l4);
	assert_int_equal(f.l4_proto, SL_IPPROTO_UDP);
	assert_int_equal(f.payload_off, l4 + 8);
	assert_int_equal(f.payload_len, sizeof(payload));
	assert_int_equal(f.frame_len, n);
	assert_int_equal(f.flags, 0);
	assert_memory_equal(buf + f.payload_off, payload, sizeof(payload));
	assert_memory_equal(buf, mac_b, 6);
	assert_memory_equal(buf + 6, mac_a, 6);
	memcpy(&port, buf + f.l4_off, 2);
	assert_int_equal(ntohs(port), 1234);
	memcpy(&port, buf + f.l4_off + 2, 2);
	assert_int_equal(ntohs(port), 5678);
	if (v6) {
		assert_memory_equal(buf + l3 + 8, &p.src.v6, 16);
		assert_memory_equal(buf + l3 + 24, &p.dst.v6, 16);
		assert_int_equal(buf[l3 + 7], 64); /* hop limit default */
	} else {
		assert_memory_equal(buf + l3 + 12, &p.src.v4, 4);
		assert_memory_equal(buf + l3 + 16, &p.dst.v4, 4);
		assert_int_equal(buf[l3 + 8], 64);
		assert_int_equal(buf[l3 + 6] & 0x40, 0x40); /* DF */
	}
	assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	/* a flipped payload bit is caught */
	buf[f.payload_off + 17] ^= 0x10;
	assert_int_equal(sl_frame_verify_csum(buf, &f), -EBADMSG);
}

static void test_udp_v4(void **state)
{
	(void)state;
	check_udp(false, 0);
	check_udp(false, 0x0123);
}

static void test_udp_v6(void **state)
{
	(void)state;
	check_udp(true, 0);
	check_udp(true, 0x0fff);
}

static void test_udp_no_csum(void **state)
{
	struct sl_udp_params p = params(false, 0);
	uint8_t buf[256];
	struct sl_frame f;
	int n;

	(void)state;
	p.flags = SL_BUILD_NO_L4_CSUM;
	n = sl_udp_build(buf, sizeof(buf), &p, "hello", 5);
	assert_true(n > 0);
	assert_int_equal(sl_frame_parse(buf, (size_t)n, &f), 0);
	assert_int_equal(buf[f.l4_off + 6] | buf[f.l4_off + 7], 0);
	assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	/* over IPv6 the flag is ignored: the checksum is mandatory ... */
	p = params(true, 0);
	p.flags = SL_BUILD_NO_L4_CSUM;
	n = sl_udp_build(buf, sizeof(buf), &p, "hello", 5);
	assert_int_equal(sl_frame_parse(buf, (size_t)n, &f), 0);
	assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	/* ... and a zero one is refused */
	buf[f.l4_off + 6] = buf[f.l4_off + 7] = 0;
	assert_int_equal(sl_frame_verify_csum(buf, &f), -EBADMSG);
}

/* SL_BUILD_NO_DF: DF clear and the given identification, header checksum
 * right; IPv6 (no DF) builds as without it */
static void test_udp_no_df(void **state)
{
	struct sl_udp_params p = params(false, 0);
	uint8_t buf[256];
	struct sl_frame f;
	int n;

	(void)state;
	p.flags = SL_BUILD_NO_DF;
	p.ip_id = 0xbeef;
	n = sl_udp_build(buf, sizeof(buf), &p, "hello", 5);
	assert_int_equal(parse_exact(buf, (size_t)n, &f), 0);
	assert_int_equal(buf[14 + 6] & 0xe0, 0);
	assert_int_equal(buf[14 + 4] << 8 | buf[14 + 5], 0xbeef);
	assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	p.flags = 0;
	n = sl_udp_build(buf, sizeof(buf), &p, "hello", 5);
	assert_int_equal(buf[14 + 6] & 0xe0, 0x40);
	p = params(true, 0);
	p.flags = SL_BUILD_NO_DF;
	n = sl_udp_build(buf, sizeof(buf), &p, "hello", 5);
	assert_int_equal(parse_exact(buf, (size_t)n, &f), 0);
	assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
}

static void test_build_errors(void **state)
{
	struct sl_udp_params p = params(false, 0);
	uint8_t buf[128];
	uint8_t *big;

	(void)state;
	assert_int_equal(sl_udp_build(buf, 14 + 20 + 8 + 9, &p, "0123456789",
				      10),
			 -ENOSPC);
	assert_int_equal(sl_udp_build(buf, 14 + 20 + 8 + 10, &p, "0123456789",
				      10),
			 14 + 20 + 8 + 10);
	p.dst.family = AF_INET6;
	assert_int_equal(sl_udp_build(buf, sizeof(buf), &p, "x", 1),
			 -EAFNOSUPPORT);
	p.src.family = p.dst.family = AF_UNIX;
	assert_int_equal(sl_udp_build(buf, sizeof(buf), &p, "x", 1),
			 -EAFNOSUPPORT);
	assert_int_equal(sl_udp_hdr_len(&p), 0);
	p = params(false, 0);
	big = calloc(1, 70000);
	assert_non_null(big);
	assert_int_equal(sl_udp_build(big, 70000, &p, NULL, 65508), -EMSGSIZE);
	assert_int_equal(sl_udp_build(big, 70000, &p, NULL, 65507),
			 14 + 20 + 8 + 65507);
	free(big);
	assert_int_equal(sl_icmp_echo_build(buf, 20, &p, false, 1, 2, NULL, 0),
			 -ENOSPC);
	assert_int_equal(sl_arp_build(buf, 41, SL_ARP_REQUEST, mac_a, p.src.v4,
				      NULL, p.dst.v4),
			 -ENOSPC);
}

/* Payload NULL: the bytes already in place are kept and checksummed (what
 * the udp driver does after receiving straight into the buffer). */
static void test_build_in_place(void **state)
{
	struct sl_udp_params p = params(true, 5);
	size_t h = sl_udp_hdr_len(&p);
	uint8_t buf[300], payload[77];
	struct sl_frame f;
	int n;

	(void)state;
	fill(payload, sizeof(payload), 9);
	memcpy(buf + h, payload, sizeof(payload));
	n = sl_udp_build(buf, sizeof(buf), &p, NULL, sizeof(payload));
	assert_int_equal(n, (int)(h + sizeof(payload)));
	assert_int_equal(sl_frame_parse(buf, (size_t)n, &f), 0);
	assert_memory_equal(buf + f.payload_off, payload, sizeof(payload));
	assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	/* overlapping payload (at the start of buf) is moved, not clobbered */
	memcpy(buf, payload, sizeof(payload));
	n = sl_udp_build(buf, sizeof(buf), &p, buf, sizeof(payload));
	assert_int_equal(sl_frame_parse(buf, (size_t)n, &f), 0);
	assert_memory_equal(buf + f.payload_off, payload, sizeof(payload));
	assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
}

static void check_icmp(bool v6, bool reply)
{
	struct sl_udp_params p = params(v6, 0);
	uint8_t data[33], buf[256];
	struct sl_frame f;
	uint16_t v;
	int n;

	fill(data, sizeof(data), 1);
	n = sl_icmp_echo_build(buf, sizeof(buf), &p, reply, 0x1234, 7, data,
			       sizeof(data));
	assert_int_equal(n, 14 + (v6 ? 40 : 20) + 8 + (int)sizeof(data));
	assert_int_equal(parse_exact(buf, (size_t)n, &f), 0);
	assert_int_equal(f.l4_proto, v6 ? SL_IPPROTO_ICMPV6 : SL_IPPROTO_ICMP);
	assert_int_equal(f.payload_off, f.l4_off + 8);
	assert_int_equal(f.payload_len, sizeof(data));
	if (v6)
		assert_int_equal(buf[f.l4_off], reply ? SL_ICMPV6_ECHO_REPLY :
							SL_ICMPV6_ECHO_REQUEST);
	else
		assert_int_equal(buf[f.l4_off], reply ? SL_ICMP_ECHO_REPLY :
							SL_ICMP_ECHO_REQUEST);
	memcpy(&v, buf + f.l4_off + 4, 2);
	assert_int_equal(ntohs(v), 0x1234);
	memcpy(&v, buf + f.l4_off + 6, 2);
	assert_int_equal(ntohs(v), 7);
	assert_memory_equal(buf + f.payload_off, data, sizeof(data));
	assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	buf[f.payload_off] ^= 1;
	assert_int_equal(sl_frame_verify_csum(buf, &f), -EBADMSG);
	buf[f.payload_off] ^= 1;
	/* another ICMP type: payload after the 4 common bytes */
	buf[f.l4_off] = v6 ? 1 : 3; /* destination unreachable */
	assert_int_equal(sl_frame_parse(buf, (size_t)n, &f), 0);
	assert_int_equal(f.payload_off, f.l4_off + 4);
	assert_int_equal(f.payload_len, sizeof(data) + 4);
}

static void test_icmp(void **state)
{
	(void)state;
	check_icmp(false, false);
	check_icmp(false, true);
	check_icmp(true, false);
	check_icmp(true, true);
}

static void test_arp(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct in_addr spa = { htonl(0x0a000001) }, tpa = { htonl(0x0a000002) };
	uint8_t buf[64];
	struct sl_frame f;
	int n;

	(void)state;
	n = sl_arp_build(buf, sizeof(buf), SL_ARP_REQUEST, mac_a, spa, mac_b,
			 tpa);
	assert_int_equal(n, 42);
	assert_int_equal(parse_exact(buf, 42, &f), 0);
	assert_int_equal(f.l3, SL_L3_ARP);
	assert_int_equal(f.l3_off, 14);
	assert_int_equal(f.payload_off, 42);
	assert_int_equal(f.payload_len, 0);
	assert_memory_equal(buf, bcast, 6);
	assert_int_equal(buf[21], SL_ARP_REQUEST);
	assert_memory_equal(buf + 22, mac_a, 6);
	assert_memory_equal(buf + 28, &spa, 4);
	assert_memory_equal(buf + 38, &tpa, 4);
	n = sl_arp_build(buf, sizeof(buf), SL_ARP_REPLY, mac_a, spa, mac_b,
			 tpa);
	assert_int_equal(parse_exact(buf, 42, &f), 0);
	assert_memory_equal(buf, mac_b, 6);
	assert_memory_equal(buf + 32, mac_b, 6);
	/* padded to the Ethernet minimum: still fine */
	memset(buf + 42, 0, 18);
	assert_int_equal(parse_exact(buf, 60, &f), 0);
	/* not Ethernet/IPv4 */
	buf[15] = 6;
	assert_int_equal(parse_exact(buf, 42, &f), -EBADMSG);
	buf[15] = 1;
	buf[18] = 16; /* hlen */
	assert_int_equal(parse_exact(buf, 42, &f), -EBADMSG);
}

/* ---- IPv4 options and fragments, IPv6 extension headers ----------------- */

/* An IPv4 UDP frame with opt_len bytes of options (NOPs). */
static int ipv4_with_options(uint8_t *buf, size_t cap, size_t opt_len)
{
	struct sl_udp_params p = params(false, 0);
	uint8_t tmp[256];
	int n = sl_udp_build(tmp, sizeof(tmp), &p, "payload!", 8);
	struct sl_ipv4_hdr ip;

	assert_true(n > 0 && (size_t)n + opt_len <= cap);
	memcpy(buf, tmp, 34);
	memset(buf + 34, 1, opt_len); /* NOP */
	memcpy(buf + 34 + opt_len, tmp + 34, (size_t)n - 34);
	memcpy(&ip, buf + 14, 20);
	ip.ver_ihl = (uint8_t)(0x40 | (20 + opt_len) / 4);
	ip.tot_len = htons((uint16_t)(ntohs(ip.tot_len) + opt_len));
	memcpy(buf + 14, &ip, 20);
	ip.csum = 0;
	memcpy(buf + 14, &ip, 20);
	ip.csum = sl_ipv4_csum((const struct sl_ipv4_hdr *)(buf + 14));
	memcpy(buf + 14, &ip, 20);
	return n + (int)opt_len;
}

static void test_ipv4_options(void **state)
{
	uint8_t buf[512];
	struct sl_frame f;
	size_t opt;
	int n;

	(void)state;
	for (opt = 4; opt <= 40; opt += 4) {
		n = ipv4_with_options(buf, sizeof(buf), opt);
		assert_int_equal(parse_exact(buf, (size_t)n, &f), 0);
		assert_true(f.flags & SL_FRAME_IP_OPTS);
		assert_int_equal(f.l4_off, 34 + opt);
		assert_int_equal(f.payload_len, 8);
		assert_memory_equal(buf + f.payload_off, "payload!", 8);
		assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	}
}

static void test_ipv4_fragments(void **state)
{
	struct sl_udp_params p = params(false, 0);
	uint8_t buf[256];
	struct sl_frame f;
	int n = sl_udp_build(buf, sizeof(buf), &p, "fragment", 8);
	uint16_t fo[] = { 0x2000 /* MF, first */, 0x0010, 0x2010 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(fo) / sizeof(fo[0]); i++) {
		struct sl_ipv4_hdr *ip = (struct sl_ipv4_hdr *)(buf + 14);

		ip->frag_off = htons(fo[i]);
		ip->csum = sl_ipv4_csum(ip);
		assert_int_equal(parse_exact(buf, (size_t)n, &f), 0);
		assert_true(f.flags & SL_FRAME_IP_FRAG);
		assert_int_equal(f.l4_proto, SL_IPPROTO_UDP);
		assert_int_equal(f.l4_off, 34);
		assert_int_equal(f.payload_off, 34);
		assert_int_equal(f.payload_len, 16);
		assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	}
}

/* An IPv6 UDP frame with the extension headers in types[] (one byte of
 * next-header each) in front of the UDP header. */
static size_t ipv6_with_ext(uint8_t *buf, const uint8_t *types, unsigned n,
			    uint16_t frag_field)
{
	struct sl_udp_params p = params(true, 0);
	uint8_t tmp[256];
	int len = sl_udp_build(tmp, sizeof(tmp), &p, "ext", 3);
	size_t off = 54, ext = 0;
	unsigned i;
	uint16_t pl;

	assert_true(len > 0);
	memcpy(buf, tmp, 54);
	buf[20] = types[0];
	for (i = 0; i < n; i++) {
		uint8_t next = i + 1 < n ? types[i + 1] : SL_IPPROTO_UDP;
		size_t hl;

		switch (types[i]) {
		case 44:
			hl = 8;
			break;
		case 51:
			hl = 12; /* len field 1: (1 + 2) * 4 */
			break;
		default:
			hl = 16; /* len field 1: (1 + 1) * 8 */
			break;
		}
		memset(buf + off, 0, hl);
		buf[off] = next;
		if (types[i] == 44) {
			uint16_t v = htons(frag_field);

			memcpy(buf + off + 2, &v, 2);
		} else {
			buf[off + 1] = 1;
		}
		off += hl;
		ext += hl;
	}
	memcpy(buf + off, tmp + 54, (size_t)len - 54);
	pl = htons((uint16_t)(len - 54 + ext));
	memcpy(buf + 18, &pl, 2);
	return (size_t)len + ext;
}

static void test_ipv6_ext(void **state)
{
	static const uint8_t kinds[] = { 0, 43, 60, 51, 44, 60, 43, 60, 0 };
	uint8_t buf[512];
	struct sl_frame f;
	size_t len;

	(void)state;
	/* each kind alone, then SL_IPV6_MAX_EXT of them */
	for (unsigned i = 0; i < 5; i++) {
		len = ipv6_with_ext(buf, kinds + i, 1, 0);
		assert_int_equal(parse_exact(buf, len, &f), 0);
		assert_int_equal(f.l4_proto, SL_IPPROTO_UDP);
		assert_true(f.flags & SL_FRAME_IP_EXT);
		assert_false(f.flags & SL_FRAME_IP_FRAG);
		assert_int_equal(f.payload_len, 3);
		assert_memory_equal(buf + f.payload_off, "ext", 3);
		/* the UDP checksum does not cover extension headers */
		assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	}
	len = ipv6_with_ext(buf, kinds, SL_IPV6_MAX_EXT, 0);
	assert_int_equal(parse_exact(buf, len, &f), 0);
	assert_int_equal(f.l4_off, 54 + 16 * 3 + 12 + 8 + 16 * 3);
	assert_memory_equal(buf + f.payload_off, "ext", 3);
	/* one more is refused */
	len = ipv6_with_ext(buf, kinds, SL_IPV6_MAX_EXT + 1, 0);
	assert_int_equal(parse_exact(buf, len, &f), -ELOOP);
	/* a non-first fragment, and a first one (M set): no L4 */
	len = ipv6_with_ext(buf, kinds + 4, 1, 0x0008);
	assert_int_equal(parse_exact(buf, len, &f), 0);
	assert_true(f.flags & SL_FRAME_IP_FRAG);
	assert_int_equal(f.l4_off, 54 + 8);
	assert_int_equal(f.payload_len, 11);
	len = ipv6_with_ext(buf, kinds + 4, 1, 0x0001);
	assert_int_equal(parse_exact(buf, len, &f), 0);
	assert_true(f.flags & SL_FRAME_IP_FRAG);
	/* an extension header longer than the payload announced */
	len = ipv6_with_ext(buf, kinds, 1, 0);
	buf[55] = 200;
	assert_int_equal(parse_exact(buf, len, &f), -EBADMSG);
}

/* ---- malformed and truncated frames ------------------------------------ */

static void test_contradictions(void **state)
{
	struct sl_udp_params p = params(false, 0);
	uint8_t buf[256], orig[256];
	struct sl_frame f;
	int n = sl_udp_build(orig, sizeof(orig), &p, "0123456789", 10);
	uint16_t v;

	(void)state;
#define RESET() memcpy(buf, orig, (size_t)n)
#define PUT16(off, val) (v = htons(val), memcpy(buf + (off), &v, 2))
	RESET();
	buf[14] = 0x55; /* version 5 */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
	RESET();
	buf[14] = 0x44; /* IHL 4 */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
	RESET();
	buf[14] = 0x4f; /* IHL 15: 60 bytes, more than the IP packet */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
	RESET();
	PUT16(16, 19); /* tot_len < IHL * 4 */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
	RESET();
	PUT16(16, (uint16_t)(n - 14 + 1)); /* tot_len past the frame */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EMSGSIZE);
	RESET();
	PUT16(38, 7); /* UDP len < 8 */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
	RESET();
	PUT16(38, 19); /* UDP len past the IP payload */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
	RESET();
	PUT16(16, 20 + 6); /* IP payload too short for a UDP header */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
	RESET();
	PUT16(38, 12); /* UDP shorter than the IP payload: UDP length wins */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), 0);
	assert_int_equal(f.payload_len, 4);
	RESET();
	PUT16(16, 20 + 18); /* IP shorter than the frame: padding after */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), 0);
	assert_int_equal(f.payload_len, 10);
	assert_int_equal(f.frame_len, n);

	/* IPv6: bad version, payload length past the frame */
	p = params(true, 0);
	n = sl_udp_build(orig, sizeof(orig), &p, "0123456789", 10);
	RESET();
	buf[14] = 0x40;
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
	RESET();
	PUT16(18, (uint16_t)(n - 54 + 1));
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EMSGSIZE);
	RESET();
	PUT16(18, 4); /* payload shorter than a UDP header */
	assert_int_equal(parse_exact(buf, (size_t)n, &f), -EBADMSG);
#undef RESET
#undef PUT16
}

static void test_l2(void **state)
{
	uint8_t buf[64];
	struct sl_frame f;
	uint16_t v;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(parse_exact(buf, 0, &f), -EMSGSIZE);
	assert_int_equal(sl_frame_parse(NULL, 0, &f), -EMSGSIZE);
	assert_int_equal(parse_exact(buf, 13, &f), -EMSGSIZE);
	/* unknown EtherType: the rest of the frame is payload */
	v = htons(0x88b5);
	memcpy(buf + 12, &v, 2);
	assert_int_equal(parse_exact(buf, 64, &f), 0);
	assert_int_equal(f.l3, SL_L3_NONE);
	assert_int_equal(f.ethertype, 0x88b5);
	assert_int_equal(f.payload_off, 14);
	assert_int_equal(f.payload_len, 50);
	/* QinQ + 802.1Q + a third tag: the third stays unparsed */
	v = htons(SL_ETHERTYPE_QINQ);
	memcpy(buf + 12, &v, 2);
	v = htons(0x0064);
	memcpy(buf + 14, &v, 2);
	v = htons(SL_ETHERTYPE_VLAN);
	memcpy(buf + 16, &v, 2);
	v = htons(0x00c8);
	memcpy(buf + 18, &v, 2);
	v = htons(SL_ETHERTYPE_VLAN);
	memcpy(buf + 20, &v, 2);
	assert_int_equal(parse_exact(buf, 64, &f), 0);
	assert_int_equal(f.n_vlan, 2);
	assert_int_equal(f.vlan_tci[0], 100);
	assert_int_equal(f.vlan_tci[1], 200);
	assert_int_equal(f.ethertype, SL_ETHERTYPE_VLAN);
	assert_int_equal(f.l3_off, 22);
	assert_int_equal(parse_exact(buf, 17, &f), -EMSGSIZE);
}

/* Every prefix of a valid frame is an error or parses to the same result
 * (a cut in Ethernet padding), never a read past the end. */
static void check_prefixes(const uint8_t *frame, size_t len)
{
	struct sl_frame full, f;
	size_t k;

	assert_int_equal(parse_exact(frame, len, &full), 0);
	for (k = 0; k < len; k++) {
		int rc = parse_exact(frame, k, &f);

		if (rc == 0) {
			assert_int_equal(f.l3, full.l3);
			assert_int_equal(f.l4_off, full.l4_off);
			assert_int_equal(f.payload_off, full.payload_off);
			assert_true((size_t)f.payload_off + f.payload_len <= k);
			if (full.l3 != SL_L3_NONE)
				assert_int_equal(f.payload_len,
						 full.payload_len);
		} else {
			assert_true(rc == -EMSGSIZE || rc == -EBADMSG);
		}
	}
}

static void test_truncation(void **state)
{
	uint8_t buf[512], payload[64];
	struct sl_udp_params p;
	struct in_addr a = { htonl(0x0a000001) };
	int n;

	(void)state;
	fill(payload, sizeof(payload), 5);
	for (int v6 = 0; v6 < 2; v6++) {
		for (int tci = 0; tci < 2; tci++) {
			p = params(v6, (uint16_t)tci * 42);
			n = sl_udp_build(buf, sizeof(buf), &p, payload, 21);
			check_prefixes(buf, (size_t)n);
			n = sl_icmp_echo_build(buf, sizeof(buf), &p, false, 1,
					       2, payload, 13);
			check_prefixes(buf, (size_t)n);
		}
	}
	/* minimum-size frame: padding after a small UDP datagram */
	p = params(false, 0);
	n = sl_udp_build(buf, sizeof(buf), &p, "x", 1);
	memset(buf + n, 0, (size_t)(60 - n));
	check_prefixes(buf, 60);
	n = sl_arp_build(buf, sizeof(buf), SL_ARP_REQUEST, mac_a, a, NULL, a);
	check_prefixes(buf, (size_t)n);
	n = ipv4_with_options(buf, sizeof(buf), 12);
	check_prefixes(buf, (size_t)n);
	{
		static const uint8_t kinds[] = { 0, 43, 44, 51, 60 };
		size_t len = ipv6_with_ext(buf, kinds, 5, 0);

		check_prefixes(buf, len);
	}
}

/* Random bytes behind a valid Ethernet + IP start: whatever comes back,
 * the offsets stay inside the frame. */
static void test_random_garbage(void **state)
{
	uint8_t buf[128];
	struct sl_frame f;
	unsigned i, j;

	(void)state;
	srand(42);
	for (i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand() % 128);

		for (j = 0; j < sizeof(buf); j++)
			buf[j] = (uint8_t)rand();
		buf[12] = (i & 1) ? 0x86 : 0x08;
		buf[13] = (i & 1) ? 0xdd : 0x00;
		buf[14] = (uint8_t)((i & 1) ? 0x60 : 0x45);
		if (parse_exact(buf, len, &f) == 0) {
			assert_true(f.l3_off <= len && f.l4_off <= len);
			assert_true((size_t)f.payload_off + f.payload_len <=
				    len);
		}
	}
}

/* ---- checksums -------------------------------------------------------- */

/* The obvious big-endian 16-bit loop, folded. */
static uint16_t ref_sum(const uint8_t *b, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* equal as one's-complement numbers (0 and 0xffff are both zero) */
static bool ones_eq(uint16_t a, uint16_t b)
{
	return (a == 0xffff ? 0 : a) == (b == 0xffff ? 0 : b);
}

static void test_csum_vectors(void **state)
{
	/* RFC 1071 section 3: sum 0xddf2, checksum 0x220d */
	static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03,
				       0xf4, 0xf5, 0xf6, 0xf7 };
	/* a captured IPv4 header, checksum 0xb861 */
	static const uint8_t ip[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
				      0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
				      0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint8_t copy[sizeof(ip) + 1];

	(void)state;
	assert_int_equal(ntohs(sl_csum_fold(sl_csum_partial(rfc, 8, 0))),
			 0x220d);
	assert_int_equal(ntohs(sl_ipv4_csum((const void *)ip)), 0xb861);
	assert_int_equal(sl_csum_fold(sl_csum_partial(ip, 20, 0)), 0);
	/* at an odd address too */
	memcpy(copy + 1, ip, sizeof(ip));
	assert_int_equal(ntohs(sl_ipv4_csum((const void *)(copy + 1))), 0xb861);
	assert_int_equal(sl_csum_partial(rfc, 0, 0), 0);
}

static void test_csum_random(void **state)
{
	uint8_t buf[300];
	size_t off, len, i;

	(void)state;
	srand(7);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	memset(buf + 100, 0xff, 64); /* long carries */
	for (off = 0; off < 8; off++) {
		for (len = 0; len <= 280; len++) {
			uint16_t got = ntohs((uint16_t)~sl_csum_fold(
				sl_csum_partial(buf + off, len, 0)));

			assert_true(ones_eq(got, ref_sum(buf + off, len, 0)));
		}
	}
	/* sums of even pieces continue */
	assert_true(ones_eq(sl_csum_fold(sl_csum_partial(
				    buf + 64, 77, sl_csum_partial(buf, 64, 0))),
			    sl_csum_fold(sl_csum_partial(buf, 141, 0))));
}

/* UDP checksum by the book: pseudo-header then segment, big-endian. */
static uint16_t ref_udp(const uint8_t *frame, const struct sl_frame *f)
{
	const uint8_t *l3 = frame + f->l3_off, *l4 = frame + f->l4_off;
	size_t l4_len = f->payload_len + 8;
	uint8_t seg[2048];
	uint32_t sum = 0;
	uint16_t r;

	memcpy(seg, l4, l4_len);
	seg[6] = seg[7] = 0;
	if (f->l3 == SL_L3_IPV4)
		sum = ref_sum(l3 + 12, 8, 0);
	else
		sum = ref_sum(l3 + 8, 32, 0);
	sum += SL_IPPROTO_UDP + (uint32_t)l4_len;
	r = (uint16_t)~ref_sum(seg, l4_len, sum);
	return r ? r : 0xffff;
}

static void test_csum_udp_reference(void **state)
{
	uint8_t payload[1500], buf[2048];
	struct sl_frame f;
	unsigned i;

	(void)state;
	srand(11);
	for (i = 0; i < 400; i++) {
		struct sl_udp_params p = params(i & 1, 0);
		size_t len = (size_t)(rand() % 1400);
		uint16_t stored;
		int n;

		for (size_t j = 0; j < len; j++)
			payload[j] = (uint8_t)rand();
		p.src.port = (uint16_t)rand();
		p.dst.v4.s_addr = (uint32_t)rand();
		p.dst.v6.s6_addr[15] = (uint8_t)rand();
		n = sl_udp_build(buf, sizeof(buf), &p, payload, len);
		assert_true(n > 0);
		assert_int_equal(sl_frame_parse(buf, (size_t)n, &f), 0);
		memcpy(&stored, buf + f.l4_off + 6, 2);
		assert_int_equal(ntohs(stored), ref_udp(buf, &f));
		assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	}
}

/* RFC 1624 updates give what a full recomputation gives. */
static void test_csum_incremental(void **state)
{
	struct sl_udp_params p = params(false, 0);
	uint8_t buf[256];
	struct sl_frame f;
	unsigned i;
	int n;

	(void)state;
	srand(3);
	n = sl_udp_build(buf, sizeof(buf), &p, "incremental update", 18);
	assert_int_equal(sl_frame_parse(buf, (size_t)n, &f), 0);
	for (i = 0; i < 2000; i++) {
		struct sl_ipv4_hdr *ip = (struct sl_ipv4_hdr *)(buf + 14);
		struct sl_udp_hdr *udp = (struct sl_udp_hdr *)(buf + 34);
		uint32_t old32 = ip->dst, new32 = (uint32_t)rand();
		uint16_t old16 = udp->dport, new16 = (uint16_t)rand();
		uint16_t full;

		if (i % 5 == 0)
			new32 = 0; /* edge values */
		if (i % 7 == 0)
			new16 = 0xffff;
		/* the address is in the IP header and the pseudo-header */
		ip->dst = new32;
		ip->csum = sl_csum_update32(ip->csum, old32, new32);
		udp->csum = sl_csum_update32(udp->csum, old32, new32);
		udp->dport = new16;
		udp->csum = sl_csum_update16(udp->csum, old16, new16);
		assert_true(ones_eq(ip->csum, sl_ipv4_csum(ip)));
		full = sl_ipv4_l4_csum(ip, SL_IPPROTO_UDP, udp, 8 + 18);
		assert_true(ones_eq(udp->csum, full));
		assert_int_equal(sl_frame_verify_csum(buf, &f), 0);
	}
}

/* ---- cursor ----------------------------------------------------------- */

static void test_cursor(void **state)
{
	static const uint8_t b[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct sl_cursor c;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	(void)state;
	sl_cursor_init(&c, b, sizeof(b));
	assert_true(sl_cursor_u8(&c, &v8));
	assert_int_equal(v8, 1);
	assert_true(sl_cursor_be16(&c, &v16));
	assert_int_equal(v16, 0x0203);
	assert_false(sl_cursor_skip(&c, SIZE_MAX)); /* no wrap-around */
	assert_null(sl_cursor_peek(&c, SIZE_MAX - 1));
	assert_true(sl_cursor_be64(&c, &v64));
	assert_int_equal(v64, 0x0405060708090a0bull);
	assert_int_equal(sl_cursor_left(&c), 0);
	assert_false(sl_cursor_u8(&c, &v8));
	assert_non_null(sl_cursor_peek(&c, 0));
	sl_cursor_init(&c, b, sizeof(b));
	assert_true(sl_cursor_limit(&c, 5));
	assert_false(sl_cursor_limit(&c, 6));
	assert_true(sl_cursor_be32(&c, &v32));
	assert_int_equal(v32, 0x01020304);
	assert_false(sl_cursor_be16(&c, &v16)); /* 1 byte left in view */
	assert_int_equal(c.off, 4);
	sl_cursor_init(&c, NULL, 10);
	assert_int_equal(sl_cursor_left(&c), 0);
	assert_null(sl_cursor_peek(&c, 0));
}

/* ---- addresses -------------------------------------------------------- */

static void check_bad(const char *s, bool opt, const char *msg)
{
	struct sl_addr a;

	assert_int_equal(sl_addr_parse(s, opt, &a), -EINVAL);
	assert_int_equal(errno, EINVAL);
	if (strcmp(sl_last_error(), msg) != 0)
		fail_msg("'%s': got \"%s\", want \"%s\"", s, sl_last_error(),
			 msg);
}

static void test_addr(void **state)
{
	struct sl_addr a, b;
	char s[64];

	(void)state;
	assert_int_equal(sl_addr_parse("1.2.3.4:80", false, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.port, 80);
	assert_int_equal(ntohl(a.v4.s_addr), 0x01020304);
	assert_string_equal(sl_addr_format(&a, s, sizeof(s)), "1.2.3.4:80");
	assert_int_equal(sl_addr_parse("[2001:db8::1]:65535", false, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.port, 65535);
	assert_int_equal(a.v6.s6_addr[15], 1);
	assert_string_equal(sl_addr_format(&a, s, sizeof(s)),
			    "[2001:db8::1]:65535");
	assert_int_equal(sl_addr_parse(s, false, &b), 0);
	assert_true(sl_addr_equal(&a, &b));
	b.port = 1;
	assert_false(sl_addr_equal(&a, &b));
	assert_int_equal(sl_addr_parse("0.0.0.0:0", false, &a), 0);
	assert_int_equal(a.port, 0);
	/* bare addresses where the port is optional */
	assert_int_equal(sl_addr_parse("10.1.2.3", true, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.port, 0);
	assert_int_equal(sl_addr_parse("2001:db8::5", true, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(sl_addr_parse("[::1]", true, &a), 0);
	assert_int_equal(a.v6.s6_addr[15], 1);
	assert_int_equal(sl_addr_parse("::", true, &b), 0);
	assert_false(sl_addr_equal(&a, &b));
	assert_int_equal(sl_addr_parse("10.1.2.3:9", true, &a), 0);
	assert_int_equal(a.port, 9);
	/* truncated formatting stays terminated */
	assert_string_equal(sl_addr_format(&a, s, 5), "10.1");

	check_bad("1.2.3:80", false, "bad address '1.2.3'");
	check_bad("1.2.3.4:99999", false, "bad port '99999'");
	check_bad("1.2.3.4:", false, "bad port ''");
	check_bad("1.2.3.4:+80", false, "bad port '+80'");
	check_bad("1.2.3.4:8o", false, "bad port '8o'");
	check_bad("1.2.3.4", false, "missing port in '1.2.3.4'");
	check_bad("[::1]", false, "missing port in '[::1]'");
	check_bad("::1:80", false, "IPv6 address needs brackets: '[::1]:80'");
	check_bad("2001:db8::1", false,
		  "IPv6 address needs brackets: '[::1]:80'");
	check_bad("[::g]:80", false, "bad address '::g'");
	check_bad("[1.2.3.4]:80", false, "bad address '1.2.3.4'");
	check_bad("[::1]:", false, "bad port ''");
	check_bad("localhost:80", false, "bad address 'localhost'");
	check_bad("1.2.3.4.5", true, "bad address '1.2.3.4.5'");
	check_bad("", true, "missing address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_v4),
		cmocka_unit_test(test_udp_v6),
		cmocka_unit_test(test_udp_no_csum),
		cmocka_unit_test(test_udp_no_df),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_build_in_place),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_ext),
		cmocka_unit_test(test_contradictions),
		cmocka_unit_test(test_l2),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_csum_vectors),
		cmocka_unit_test(test_csum_random),
		cmocka_unit_test(test_csum_udp_reference),
		cmocka_unit_test(test_csum_incremental),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
