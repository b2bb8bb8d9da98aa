// SPDX-License-Identifier: MIT
/*
 * The datagram helper (sl_udp_parse, sl_udp_swap): UDP frames seen as
 * datagrams, on top of the hardened frame parser. Fast path: no
 * allocation, no system call, nothing logged. sl_udp_send_to, which sends
 * through a port, is the port layer's (src/port/udp_send.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <sluice/mem.h>
#include <sluice/udp.h>

#include "net/offload.h"

/* Parse p as UDP: 0, -EBADMSG or -EPROTONOSUPPORT (see udp.h). */
static int parse_udp(const uint8_t *b, uint32_t len, struct sl_frame *f)
{
	if (sl_frame_parse(b, len, f) != 0)
		return -EBADMSG;
	if ((f->l3 != SL_L3_IPV4 && f->l3 != SL_L3_IPV6) ||
	    f->l4_proto != SL_IPPROTO_UDP || (f->flags & SL_FRAME_IP_FRAG))
		return -EPROTONOSUPPORT;
	return 0;
}

int sl_udp_parse(const struct sl_pkt *p, struct sl_udp_view *out)
{
	const uint8_t *b = p->data;
	struct sl_frame f;
	uint16_t sport, dport;
	int err = parse_udp(b, p->len, &f);

	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	memcpy(out->dst_mac, b, SL_ETH_ALEN);
	memcpy(out->src_mac, b + SL_ETH_ALEN, SL_ETH_ALEN);
	if (f.n_vlan)
		out->vlan_tci = f.vlan_tci[f.n_vlan - 1];
	memcpy(&sport, b + f.l4_off, 2);
	memcpy(&dport, b + f.l4_off + 2, 2);
	out->src.port = ntohs(sport);
	out->dst.port = ntohs(dport);
	if (f.l3 == SL_L3_IPV4) {
		out->src.family = out->dst.family = AF_INET;
		out->ttl = b[f.l3_off + 8];
		out->tos = b[f.l3_off + 1];
		memcpy(&out->src.v4, b + f.l3_off + 12, 4);
		memcpy(&out->dst.v4, b + f.l3_off + 16, 4);
	} else {
		out->src.family = out->dst.family = AF_INET6;
		out->ttl = b[f.l3_off + 7];
		out->tos = (uint8_t)((b[f.l3_off] & 0x0f) << 4 |
				     b[f.l3_off + 1] >> 4);
		memcpy(&out->src.v6, b + f.l3_off + 8, 16);
		memcpy(&out->dst.v6, b + f.l3_off + 24, 16);
	}
	out->payload = p->data + f.payload_off;
	out->len = f.payload_len;
	return 0;
}

static inline void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/*
 * Why no checksum changes: the IPv4 header checksum and the UDP checksum
 * (over the pseudo-header, which holds both addresses, and the header,
 * which holds both ports) are one's-complement sums of 16-bit words, and a
 * sum does not depend on the order of its terms. Swapping source and
 * destination only reorders words that are all summed, so every checksum
 * stays what it was: right if it was right, a PARTIAL seed if it was one
 * (then the port completes it on send), wrong if it was wrong (refused).
 */
int sl_udp_swap(struct sl_pkt *p)
{
	uint8_t *b = p->data;
	struct sl_frame f;

	if (parse_udp(b, p->len, &f) != 0)
		return -EBADMSG;
	sl_pkt_csum_check_parsed(p, &f); /* the frame is parsed: once */
	if (sl_pkt_rx_l3_csum(p) == SL_CSUM_BAD ||
	    sl_pkt_rx_l4_csum(p) == SL_CSUM_BAD)
		return -EILSEQ;
	if (sl_pkt_rx_l4_csum(p) == SL_CSUM_PARTIAL)
		p->flags |= SL_PKT_F_TX_L4_CSUM;
	swap_bytes(b, b + SL_ETH_ALEN, SL_ETH_ALEN);
	if (f.l3 == SL_L3_IPV4)
		swap_bytes(b + f.l3_off + 12, b + f.l3_off + 16, 4);
	else
		swap_bytes(b + f.l3_off + 8, b + f.l3_off + 24, 16);
	swap_bytes(b + f.l4_off, b + f.l4_off + 2, 2);
	return 0;
}
