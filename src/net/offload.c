// SPDX-License-Identifier: MIT
/*
 * Checksum offload in software: what a receive path left UNKNOWN found out
 * (sl_pkt_csum_check), what a transmit path cannot compute filled in
 * (sl_pkt_csum_fill), and the CHECKSUM_PARTIAL seed recognised.
 *
 * Why the seed matters: a datagram a kernel socket sends over veth (or any
 * device that offers checksum offload) carries in its L4 checksum field
 * only the sum of the pseudo-header, folded but not inverted, which the
 * device was to complete; veth never does, because the receiving kernel
 * trusts the skb's CHECKSUM_PARTIAL state. A bypass path sees the bytes
 * without that state. Turned around as it is, such a frame is one every
 * kernel drops (UdpInCsumErrors). So: a wrong L4 checksum that equals the
 * seed exactly is PARTIAL (intact data, field to complete), any other wrong
 * value is BAD (damaged data).
 *
 * Sums come from csum.c: host-order 16-bit words, stored as they fold.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <sluice/net.h>
#include <sluice/pkt.h>

#include "net/offload.h"

/* Where the L4 checksum field is, or -1 when there is none to check. */
static int l4_field(const struct sl_frame *f, size_t l4_len)
{
	if ((f->l3 != SL_L3_IPV4 && f->l3 != SL_L3_IPV6) ||
	    (f->flags & SL_FRAME_IP_FRAG))
		return -1;
	switch (f->l4_proto) {
	case SL_IPPROTO_UDP:
		return l4_len >= 8 ? 6 : -1;
	case SL_IPPROTO_TCP:
		return l4_len >= 20 ? 16 : -1;
	case SL_IPPROTO_ICMP:
		return f->l3 == SL_L3_IPV4 && l4_len >= 4 ? 2 : -1;
	case SL_IPPROTO_ICMPV6:
		return f->l3 == SL_L3_IPV6 && l4_len >= 4 ? 2 : -1;
	default:
		return -1;
	}
}

static size_t l4_len_of(const struct sl_frame *f)
{
	return (size_t)(f->payload_off - f->l4_off) + f->payload_len;
}

/* One's-complement zeros: 0x0000 and 0xffff are the same value. */
static bool same(uint16_t a, uint16_t b)
{
	return (a == 0xffff ? 0 : a) == (b == 0xffff ? 0 : b);
}

/* The folded, not inverted, pseudo-header sum: what the seed holds. */
static uint16_t seed_of(const uint8_t *b, const struct sl_frame *f,
			size_t l4_len)
{
	uint64_t s;

	if (f->l3 == SL_L3_IPV4) {
		s = sl_csum_partial(b + f->l3_off + 12, 8, 0);
		s += htons(f->l4_proto) + htons((uint16_t)l4_len);
	} else {
		s = sl_csum_partial(b + f->l3_off + 8, 32, 0);
		s += htons((uint16_t)(l4_len >> 16)) + htons((uint16_t)l4_len) +
		     htons(f->l4_proto);
	}
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint16_t)~sl_csum_fold((uint32_t)s);
}

/* The value the L4 checksum field should hold. */
static uint16_t l4_want(const uint8_t *b, const struct sl_frame *f,
			size_t l4_len)
{
	const uint8_t *l4 = b + f->l4_off;

	if (f->l3 == SL_L3_IPV4)
		return sl_ipv4_l4_csum(
			(const struct sl_ipv4_hdr *)(b + f->l3_off),
			f->l4_proto, l4, l4_len);
	return sl_ipv6_l4_csum((const struct sl_ipv6_hdr *)(b + f->l3_off),
			       f->l4_proto, l4, l4_len);
}

static enum sl_csum l3_state(const uint8_t *b, const struct sl_frame *f)
{
	size_t ihl;

	if (f->l3 != SL_L3_IPV4)
		return SL_CSUM_NONE;
	ihl = (size_t)(b[f->l3_off] & 0xf) * 4;
	return sl_csum_fold(sl_csum_partial(b + f->l3_off, ihl, 0)) == 0 ?
		       SL_CSUM_GOOD :
		       SL_CSUM_BAD;
}

static enum sl_csum l4_state(const uint8_t *b, const struct sl_frame *f)
{
	size_t l4_len = l4_len_of(f);
	int off = l4_field(f, l4_len);
	uint16_t stored;

	if (off < 0)
		return SL_CSUM_NONE;
	memcpy(&stored, b + f->l4_off + off, 2);
	if (f->l4_proto == SL_IPPROTO_UDP && stored == 0)
		/* none over IPv4; forbidden over IPv6 (RFC 8200 8.1) */
		return f->l3 == SL_L3_IPV4 ? SL_CSUM_NONE : SL_CSUM_BAD;
	if (same(l4_want(b, f, l4_len), stored))
		return SL_CSUM_GOOD;
	/* ICMP over IPv4 has no pseudo-header, so no seed either */
	if (f->l4_proto != SL_IPPROTO_ICMP &&
	    same(seed_of(b, f, l4_len), stored))
		return SL_CSUM_PARTIAL;
	return SL_CSUM_BAD;
}

void sl_frame_csum_state(const void *frame, const struct sl_frame *f,
			 enum sl_csum *l3, enum sl_csum *l4)
{
	*l3 = l3_state(frame, f);
	*l4 = l4_state(frame, f);
}

bool sl_frame_csum_is_seed(const void *frame, const struct sl_frame *f)
{
	const uint8_t *b = frame;
	size_t l4_len = l4_len_of(f);
	int off = l4_field(f, l4_len);
	uint16_t stored;

	if (off < 0 || f->l4_proto == SL_IPPROTO_ICMP)
		return false;
	memcpy(&stored, b + f->l4_off + off, 2);
	return same(seed_of(b, f, l4_len), stored);
}

int sl_frame_csum_fill(void *frame, const struct sl_frame *f, unsigned what)
{
	uint8_t *b = frame;
	size_t l4_len = l4_len_of(f);
	int off;
	uint16_t c;

	if ((what & SL_CSUM_FILL_L3) && f->l3 == SL_L3_IPV4) {
		struct sl_ipv4_hdr *ip = (struct sl_ipv4_hdr *)(b + f->l3_off);

		c = sl_ipv4_csum(ip);
		memcpy(&ip->csum, &c, 2);
	}
	if (!(what & SL_CSUM_FILL_L4))
		return 0;
	off = l4_field(f, l4_len);
	if (off < 0)
		return -EPROTONOSUPPORT;
	/* the stored field is taken out of the sum, whatever it holds */
	c = l4_want(b, f, l4_len);
	memcpy(b + f->l4_off + off, &c, 2);
	return 0;
}

/* ---- packets ----------------------------------------------------------- */

void sl_pkt_csum_check_parsed(struct sl_pkt *p, const struct sl_frame *f)
{
	enum sl_csum l3 = sl_pkt_rx_l3_csum(p), l4 = sl_pkt_rx_l4_csum(p);

	if (l3 == SL_CSUM_UNKNOWN)
		l3 = l3_state(p->data, f);
	if (l4 == SL_CSUM_UNKNOWN)
		l4 = l4_state(p->data, f);
	sl_pkt_set_rx_csum(p, l3, l4);
}

void sl_pkt_csum_check(struct sl_pkt *p)
{
	enum sl_csum l3 = sl_pkt_rx_l3_csum(p), l4 = sl_pkt_rx_l4_csum(p);
	struct sl_frame f;

	if (sl_likely(l3 != SL_CSUM_UNKNOWN && l4 != SL_CSUM_UNKNOWN))
		return;
	if (sl_frame_parse(p->data, p->len, &f) != 0) {
		sl_pkt_set_rx_csum(p, SL_CSUM_BAD,
				   l4 == SL_CSUM_UNKNOWN ? SL_CSUM_NONE : l4);
		return;
	}
	sl_pkt_csum_check_parsed(p, &f);
}

void sl_pkt_csum_forward(struct sl_pkt *p)
{
	enum sl_csum l4 = sl_pkt_rx_l4_csum(p);
	struct sl_frame f;

	if (l4 == SL_CSUM_PARTIAL) {
		p->flags |= SL_PKT_F_TX_L4_CSUM;
		return;
	}
	if (l4 != SL_CSUM_UNKNOWN || sl_frame_parse(p->data, p->len, &f))
		return;
	if (sl_frame_csum_is_seed(p->data, &f))
		p->flags |= SL_PKT_F_TX_L4_CSUM;
}

int sl_pkt_csum_fill(struct sl_pkt *p)
{
	unsigned what = 0;
	struct sl_frame f;
	int err;

	if (p->flags & SL_PKT_F_TX_IP_CSUM)
		what |= SL_CSUM_FILL_L3;
	if (p->flags & SL_PKT_F_TX_L4_CSUM)
		what |= SL_CSUM_FILL_L4;
	p->flags &= (uint16_t)~SL_PKT_F_TX_CSUM;
	if (!what)
		return 0;
	if (sl_frame_parse(p->data, p->len, &f) != 0)
		return -EBADMSG;
	err = sl_frame_csum_fill(p->data, &f, what);
	return err ? -EBADMSG : 0;
}
