// SPDX-License-Identifier: MIT
/*
 * The hardened frame parser: Ethernet, up to two VLAN tags, ARP, IPv4 (with
 * options), IPv6 (with a bounded extension-header walk), UDP and ICMP/ICMPv6.
 * It only reads through struct sl_cursor, and each IP or UDP length field,
 * once checked against what is there, narrows the cursor, so no later read
 * can run past it.
 *
 * What the offsets mean past L3 (net.h has the fields):
 *   UDP             payload after the 8-byte header, payload_len = UDP len - 8
 *   ICMP/v6 echo    payload after the 8-byte echo header (type, code, csum,
 *                   id, seq), payload_len = rest of the IP payload
 *   other ICMP/v6   payload after the 4 bytes every ICMP message has (type,
 *                   code, csum): the next 4 are type-specific, so they are
 *                   left to the caller as part of the payload
 *   fragments,      payload_off = l4_off, payload_len = the rest of the IP
 *   other protos    payload: nothing past L3 is interpreted
 *   ARP             l4_off = payload_off = end of the ARP header, len 0
 *   unknown L2 type l4_off = payload_off = l3_off, the rest of the frame
 * so for IP frames the L4 length is always
 *   payload_off - l4_off + payload_len.
 *
 * Fragments: an IPv4 packet with MF or a non-zero offset, or an IPv6
 * fragment header with M or a non-zero offset, is SL_FRAME_IP_FRAG and its
 * L4 header is not parsed, the first fragment included: its UDP length and
 * checksum cover the reassembled datagram, so they cannot be checked here.
 * An IPv6 "atomic" fragment (offset 0, M clear, RFC 6946) is a whole packet
 * and is parsed through.
 */
#include <errno.h>
#include <string.h>

#include <sluice/net.h>

#include "net/cursor.h"

static bool ipv6_is_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51;
}

/*
 * L4 inside an IP payload; c is limited to that payload, whose length was
 * already checked against the frame, so running out of bytes here means the
 * length fields contradict each other: -EBADMSG.
 */
static int parse_l4(struct sl_cursor *c, uint8_t proto, bool v6,
		    struct sl_frame *out)
{
	const uint8_t *h;

	out->l4_proto = proto;
	out->l4_off = (uint16_t)c->off;
	if (proto == SL_IPPROTO_UDP) {
		uint16_t ulen;

		h = sl_cursor_pull(c, sizeof(struct sl_udp_hdr));
		if (!h)
			return -EBADMSG;
		ulen = sl_get_be16(h + 4);
		if (ulen < sizeof(struct sl_udp_hdr) ||
		    ulen - sizeof(struct sl_udp_hdr) > sl_cursor_left(c))
			return -EBADMSG;
		out->payload_off = (uint16_t)c->off;
		out->payload_len = ulen - (uint32_t)sizeof(struct sl_udp_hdr);
		return 0;
	}
	if ((!v6 && proto == SL_IPPROTO_ICMP) ||
	    (v6 && proto == SL_IPPROTO_ICMPV6)) {
		bool echo;

		h = sl_cursor_peek(c, 1);
		if (!h)
			return -EBADMSG;
		if (v6)
			echo = h[0] == SL_ICMPV6_ECHO_REQUEST ||
			       h[0] == SL_ICMPV6_ECHO_REPLY;
		else
			echo = h[0] == SL_ICMP_ECHO_REQUEST ||
			       h[0] == SL_ICMP_ECHO_REPLY;
		if (!sl_cursor_skip(c, echo ? sizeof(struct sl_icmp_echo) : 4))
			return -EBADMSG;
	}
	out->payload_off = (uint16_t)c->off;
	out->payload_len = (uint32_t)sl_cursor_left(c);
	return 0;
}

static int parse_ipv4(struct sl_cursor *c, struct sl_frame *out)
{
	const uint8_t *h = sl_cursor_peek(c, sizeof(struct sl_ipv4_hdr));
	size_t ihl, tot;
	uint16_t frag;

	if (!h)
		return -EMSGSIZE;
	if (h[0] >> 4 != 4)
		return -EBADMSG;
	ihl = (size_t)(h[0] & 0xf) * 4;
	if (ihl < sizeof(struct sl_ipv4_hdr))
		return -EBADMSG;
	tot = sl_get_be16(h + 2);
	if (tot < ihl)
		return -EBADMSG;
	/* tot_len bounds the packet: what follows is Ethernet padding */
	if (!sl_cursor_limit(c, tot) || !sl_cursor_skip(c, ihl))
		return -EMSGSIZE;
	if (ihl > sizeof(struct sl_ipv4_hdr))
		out->flags |= SL_FRAME_IP_OPTS;
	frag = sl_get_be16(h + 6);
	if (frag & 0x3fff) { /* MF or a fragment offset */
		out->flags |= SL_FRAME_IP_FRAG;
		out->l4_proto = h[9];
		out->l4_off = out->payload_off = (uint16_t)c->off;
		out->payload_len = (uint32_t)sl_cursor_left(c);
		return 0;
	}
	return parse_l4(c, h[9], false, out);
}

static int parse_ipv6(struct sl_cursor *c, struct sl_frame *out)
{
	const uint8_t *h = sl_cursor_pull(c, sizeof(struct sl_ipv6_hdr));
	unsigned n_ext = 0;
	uint8_t next;

	if (!h)
		return -EMSGSIZE;
	if (h[0] >> 4 != 6)
		return -EBADMSG;
	if (!sl_cursor_limit(c, sl_get_be16(h + 4)))
		return -EMSGSIZE;
	next = h[6];
	/*
	 * Extension headers, at most SL_IPV6_MAX_EXT of them: a chain of
	 * headers is a classic way to make a parser spin or to hide the L4
	 * header past what middleboxes look at. Each header must fit in the
	 * payload the IPv6 length announced.
	 */
	while (ipv6_is_ext(next)) {
		const uint8_t *e;
		size_t hl;

		if (++n_ext > SL_IPV6_MAX_EXT)
			return -ELOOP;
		out->flags |= SL_FRAME_IP_EXT;
		e = sl_cursor_peek(c, 2);
		if (!e)
			return -EBADMSG;
		if (next == 44) { /* fragment: fixed 8 bytes */
			uint16_t fo;

			e = sl_cursor_pull(c, 8);
			if (!e)
				return -EBADMSG;
			fo = sl_get_be16(e + 2);
			if ((fo & 0xfff8) || (fo & 1)) { /* offset or M */
				out->flags |= SL_FRAME_IP_FRAG;
				out->l4_proto = e[0];
				out->l4_off = out->payload_off =
					(uint16_t)c->off;
				out->payload_len = (uint32_t)sl_cursor_left(c);
				return 0;
			}
			next = e[0];
			continue;
		}
		if (next == 51) /* AH counts 4-byte units, minus 2 */
			hl = ((size_t)e[1] + 2) * 4;
		else
			hl = ((size_t)e[1] + 1) * 8;
		next = e[0];
		if (!sl_cursor_skip(c, hl))
			return -EBADMSG;
	}
	return parse_l4(c, next, true, out);
}

static int parse_arp(struct sl_cursor *c, struct sl_frame *out)
{
	const uint8_t *h = sl_cursor_pull(c, sizeof(struct sl_arp_hdr));

	if (!h)
		return -EMSGSIZE;
	if (sl_get_be16(h) != 1 || sl_get_be16(h + 2) != SL_ETHERTYPE_IPV4 ||
	    h[4] != SL_ETH_ALEN || h[5] != 4)
		return -EBADMSG;
	out->l4_off = out->payload_off = (uint16_t)c->off;
	out->payload_len = 0;
	return 0;
}

int sl_frame_parse(const void *frame, size_t len, struct sl_frame *out)
{
	struct sl_cursor c;
	uint16_t type;

	memset(out, 0, sizeof(*out));
	/* offsets are 16 bits and lengths 32: larger is no Ethernet frame */
	if (len > UINT32_MAX)
		return -EMSGSIZE;
	out->frame_len = (uint32_t)len;
	sl_cursor_init(&c, frame, len);
	if (!sl_cursor_skip(&c, 2 * SL_ETH_ALEN) || !sl_cursor_be16(&c, &type))
		return -EMSGSIZE;
	while ((type == SL_ETHERTYPE_VLAN || type == SL_ETHERTYPE_QINQ) &&
	       out->n_vlan < SL_VLAN_MAX_TAGS) {
		uint16_t tci;

		if (!sl_cursor_be16(&c, &tci) || !sl_cursor_be16(&c, &type))
			return -EMSGSIZE;
		out->vlan_tci[out->n_vlan++] = tci;
	}
	/* a third tag is left as an unknown EtherType */
	out->ethertype = type;
	out->l3_off = (uint16_t)c.off;
	switch (type) {
	case SL_ETHERTYPE_IPV4:
		out->l3 = SL_L3_IPV4;
		return parse_ipv4(&c, out);
	case SL_ETHERTYPE_IPV6:
		out->l3 = SL_L3_IPV6;
		return parse_ipv6(&c, out);
	case SL_ETHERTYPE_ARP:
		out->l3 = SL_L3_ARP;
		return parse_arp(&c, out);
	default:
		out->l3 = SL_L3_NONE;
		out->l4_off = out->payload_off = out->l3_off;
		out->payload_len = (uint32_t)sl_cursor_left(&c);
		return 0;
	}
}

/* ---- checksum verification -------------------------------------------- */

/* 0x0000 and 0xffff are the two one's-complement zeros: a sender may store
 * either, and the receiver's check (the sum over everything folds to zero)
 * accepts both, so compare modulo 0xffff. */
static bool csum_match(uint16_t computed, uint16_t stored)
{
	if (computed == 0xffff)
		computed = 0;
	if (stored == 0xffff)
		stored = 0;
	return computed == stored;
}

int sl_frame_verify_csum(const void *frame, const struct sl_frame *f)
{
	const uint8_t *b = frame;
	const uint8_t *l4 = b + f->l4_off;
	size_t l4_len;
	uint16_t stored;

	if (f->l3 != SL_L3_IPV4 && f->l3 != SL_L3_IPV6)
		return 0;
	l4_len = (size_t)(f->payload_off - f->l4_off) + f->payload_len;
	if (f->l3 == SL_L3_IPV4) {
		const struct sl_ipv4_hdr *ip =
			(const struct sl_ipv4_hdr *)(b + f->l3_off);
		size_t ihl = (size_t)(b[f->l3_off] & 0xf) * 4;

		if (sl_csum_fold(sl_csum_partial(ip, ihl, 0)) != 0)
			return -EBADMSG;
		if (f->flags & SL_FRAME_IP_FRAG)
			return 0;
		if (f->l4_proto == SL_IPPROTO_UDP) {
			memcpy(&stored, l4 + 6, 2);
			if (stored == 0) /* none */
				return 0;
		} else if (f->l4_proto == SL_IPPROTO_ICMP) {
			if (l4_len < 4) /* parse guarantees it; be safe */
				return -EBADMSG;
			memcpy(&stored, l4 + 2, 2);
		} else {
			return 0;
		}
		return csum_match(sl_ipv4_l4_csum(ip, f->l4_proto, l4, l4_len),
				  stored) ?
			       0 :
			       -EBADMSG;
	}
	if (f->flags & SL_FRAME_IP_FRAG)
		return 0;
	if (f->l4_proto == SL_IPPROTO_UDP) {
		memcpy(&stored, l4 + 6, 2);
		if (stored == 0) /* mandatory over IPv6 (RFC 8200 8.1) */
			return -EBADMSG;
	} else if (f->l4_proto == SL_IPPROTO_ICMPV6) {
		if (l4_len < 4)
			return -EBADMSG;
		memcpy(&stored, l4 + 2, 2);
	} else {
		return 0;
	}
	return csum_match(sl_ipv6_l4_csum(
				  (const struct sl_ipv6_hdr *)(b + f->l3_off),
				  f->l4_proto, l4, l4_len),
			  stored) ?
		       0 :
		       -EBADMSG;
}
