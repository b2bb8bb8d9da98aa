// SPDX-License-Identifier: MIT
/*
 * Internet checksums (RFC 1071): the one's-complement sum, the IPv4 header
 * checksum and the UDP/ICMP/ICMPv6 checksums with their pseudo-headers.
 *
 * Sums are kept in the byte order of memory, as RFC 1071 section 2(B)
 * allows: 16-bit words are loaded in host order, so the folded result can be
 * stored into a header field as it is, on any host, with no byte swap. Wide
 * words are summed in a 64-bit accumulator with end-around carry: 2^64 - 1 is
 * a multiple of 2^16 - 1, so a sum of 64-bit words folds to the same value
 * as the sum of their 16-bit halves.
 */
#include <arpa/inet.h>
#include <string.h>

#include <sluice/net.h>

/* acc + v with the carry out of bit 63 added back in */
static inline uint64_t add64(uint64_t acc, uint64_t v)
{
	acc += v;
	return acc + (acc < v);
}

static inline uint32_t fold64(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32); /* <= 2^33 - 2 */
	acc = (acc & 0xffffffffu) + (acc >> 32); /* <= 2^32 - 1 */
	return (uint32_t)acc;
}

/*
 * Words are loaded with memcpy, so buf may have any alignment. The word
 * boundaries are those of buf, not of memory: a sum over an odd-length
 * piece can only be continued by the last piece.
 */
uint32_t sl_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;

	/* four independent 64-bit loads per round keep the adds pipelined */
	while (len >= 32) {
		uint64_t w[4];

		memcpy(w, p, sizeof(w));
		acc = add64(acc, w[0]);
		acc = add64(acc, w[1]);
		acc = add64(acc, w[2]);
		acc = add64(acc, w[3]);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		acc = add64(acc, w);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc = add64(acc, w);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc = add64(acc, w);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* the odd byte is the first of a word whose second byte is 0 */
		uint16_t w = 0;

		memcpy(&w, p, 1);
		acc = add64(acc, w);
	}
	return fold64(acc);
}

uint16_t sl_ipv4_csum(const struct sl_ipv4_hdr *ip)
{
	size_t ihl = (size_t)(ip->ver_ihl & 0xf) * 4;
	uint32_t sum = sl_csum_partial(ip, ihl, 0);

	/* take the stored checksum out: adding ~x subtracts x */
	return sl_csum_fold(fold64((uint64_t)sum + (uint16_t)~ip->csum));
}

/* Offset of the checksum field in the L4 header, or -1 if unknown. */
static int l4_csum_off(uint8_t proto)
{
	switch (proto) {
	case SL_IPPROTO_UDP:
		return 6;
	case SL_IPPROTO_TCP:
		return 16;
	case SL_IPPROTO_ICMP:
	case SL_IPPROTO_ICMPV6:
		return 2;
	default:
		return -1;
	}
}

/* The sum over l4 with its checksum field taken as 0, then folded into the
 * value to store. */
static uint16_t l4_finish(uint32_t sum, uint8_t proto, const void *l4,
			  size_t l4_len)
{
	int off = l4_csum_off(proto);
	uint16_t r;

	sum = sl_csum_partial(l4, l4_len, sum);
	if (off >= 0 && (size_t)off + 2 <= l4_len) {
		uint16_t stored;

		memcpy(&stored, (const uint8_t *)l4 + off, 2);
		sum = fold64((uint64_t)sum + (uint16_t)~stored);
	}
	r = sl_csum_fold(sum);
	/* a UDP checksum of 0 means "none": a computed 0 is sent as 0xffff */
	if (proto == SL_IPPROTO_UDP && r == 0)
		r = 0xffff;
	return r;
}

uint16_t sl_ipv4_l4_csum(const struct sl_ipv4_hdr *ip, uint8_t proto,
			 const void *l4, size_t l4_len)
{
	uint32_t src, dst;
	uint64_t sum;

	if (proto == SL_IPPROTO_ICMP) /* no pseudo-header */
		return l4_finish(0, proto, l4, l4_len);
	memcpy(&src, &ip->src, 4);
	memcpy(&dst, &ip->dst, 4);
	sum = (uint64_t)src + dst + htons(proto) + htons((uint16_t)l4_len);
	return l4_finish(fold64(sum), proto, l4, l4_len);
}

uint16_t sl_ipv6_l4_csum(const struct sl_ipv6_hdr *ip6, uint8_t proto,
			 const void *l4, size_t l4_len)
{
	/* src and dst: the 32 bytes after the first 8 */
	uint64_t s = sl_csum_partial((const uint8_t *)ip6 + 8, 32, 0);

	/* upper-layer length is 32 bits, next header in the last byte */
	s += htons((uint16_t)(l4_len >> 16)) + htons((uint16_t)l4_len);
	s += htons(proto);
	return l4_finish(fold64(s), proto, l4, l4_len);
}
