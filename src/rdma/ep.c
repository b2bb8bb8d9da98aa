// SPDX-License-Identifier: MIT
/*
 * Port queues: the glue between QPs and a port. All QPs on the same port
 * and queue share one port queue: its transmit queue, which every packet
 * a QP builds goes into (rdma_tx_pkt), and its receive side, which checks
 * a frame (RoCEv2 over UDP, ICRC, known QP, the connected peer) before it
 * hands it to the QP's completer or responder. The list of port queues
 * changes under rdma_tab_lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/mem.h>
#include <sluice/port.h>
#include <sluice/rdma.h>

#include "core/log.h"
#include "net/cursor.h"
#include "rdma/rdma_int.h"
#include "rdma/wire.h"

static struct ep *eps;

/*
 * Follow the port's path. A udp: port is a socket path: the kernel writes
 * the IPv4 and UDP headers (ID 0 and DF, the socket's port), so the ICRC is
 * computed over those. An auto: port can move between such a path and the
 * raw ones (xdp, packet), so it is asked again on every progress call: a
 * pointer compare while the path stays the same.
 */
void rdma_ep_path(struct ep *ep)
{
	const char *p = sl_port_path(ep->port);

	if (sl_likely(p == ep->path))
		return;
	ep->path = p;
	ep->socket_path = strcmp(p, "udp") == 0;
	ep->sock_port = 0;
	if (ep->socket_path) {
		/* ~2 KiB to zero: only when the path changed */
		struct sl_port_info info = { .sz = sizeof(info) };

		if (sl_port_info(ep->port, &info) == 0)
			ep->sock_port = info.addr.port;
	}
}

/*
 * A port that takes frames longer than a buffer of its pool (an xdp port
 * with multi-buffer frames) sends the frames of a path MTU that needs them
 * from buffers of a pool of the port queue's own: the port copies them
 * into its chunks as it sends. The others keep building in the port's
 * pool, without a copy. Sized for the largest path MTU, 4096, over IPv6.
 * 0 or -errno.
 */
static int ep_big_pool(struct ep *ep, uint32_t max_frame)
{
	uint32_t frame =
		SL_MIN(max_frame, 14u + 40 + 8 + BTH_LEN + RETH_LEN + IMM_LEN +
					  4096 + 3 + ICRC_LEN);
	struct sl_pool_opts po = {
		.sz = sizeof(po),
		.n_bufs = 2 * EP_TXQ,
		.buf_size = (SL_PKT_META + SL_PKT_HEADROOM + frame + 63) & ~63u,
		.name = "rdma-big",
	};

	ep->big = sl_pool_create(&po);
	if (!ep->big)
		return -errno;
	ep->big_room = po.buf_size - SL_PKT_META - sl_pool_headroom(ep->big);
	return 0;
}

struct ep *rdma_ep_get(struct sl_port *port, uint16_t queue)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct ep *ep;

	for (ep = eps; ep; ep = ep->next)
		if (ep->port == port && ep->queue == queue) {
			ep->refs++;
			return ep;
		}
	if (sl_port_info(port, &info))
		return NULL;
	/* the ICRC covers the IPv4 ID, which the kernel counts per socket
	 * on a connected one: sluice could not say what it sends */
	if (!strcmp(info.driver, "udp") && info.peer.family == AF_INET) {
		sl_fail(EINVAL,
			"rdma: %s: a udp: port with peer= is connected, and "
			"the kernel numbers its IPv4 IDs, which the ICRC "
			"covers; open it without peer=",
			info.spec);
		return NULL;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		sl_fail(ENOMEM, "rdma: no memory");
		return NULL;
	}
	ep->port = port;
	ep->queue = queue;
	ep->refs = 1;
	ep->pool = sl_port_pool(port);
	ep->room =
		ep->pool->buf_size - SL_PKT_META - sl_pool_headroom(ep->pool);
	if (info.max_frame > ep->room && ep_big_pool(ep, info.max_frame)) {
		free(ep);
		return NULL;
	}
	rdma_ep_path(ep);
	ep->next = eps;
	eps = ep;
	return ep;
}

void rdma_ep_put(struct ep *ep)
{
	struct ep **pp;

	if (--ep->refs)
		return;
	for (pp = &eps; *pp; pp = &(*pp)->next)
		if (*pp == ep) {
			*pp = ep->next;
			break;
		}
	sl_pkt_free_bulk(ep->txq, ep->txn);
	sl_pool_destroy(ep->big);
	free(ep);
}

unsigned rdma_ep_flush(struct ep *ep)
{
	uint16_t n;

	if (!ep->txn)
		return 0;
	n = sl_tx_burst(ep->port, ep->queue, ep->txq, (uint16_t)ep->txn);
	if (n < ep->txn)
		memmove(ep->txq, ep->txq + n,
			(ep->txn - n) * sizeof(ep->txq[0]));
	ep->txn -= n;
	return n;
}

/* Build one packet for qp and queue it on its port queue. false when there
 * is no room or no buffer (the protocol recovers: a lost packet). */
bool rdma_tx_pkt(struct sl_rdma_qp *qp, uint8_t op, uint32_t psn, bool se,
		 bool ackreq, const uint8_t *ext, unsigned extlen,
		 const void *pay, uint32_t plen)
{
	struct ep *ep = qp->ep;
	unsigned pad = (0u - plen) & 3;
	size_t roce = BTH_LEN + extlen + plen + pad + ICRC_LEN;
	struct sl_pkt *p;
	uint8_t *d, *r, *udp;
	uint32_t icrc;
	int len;

	if (ep->txn >= EP_TXQ)
		return false;
	p = sl_pkt_alloc(qp->hdr_len + roce > ep->room && ep->big ? ep->big :
								    ep->pool);
	if (!p) {
		qp->st.tx_nobuf++;
		return false;
	}
	d = p->data;
	if (qp->hdr_len + roce > sl_pkt_tailroom(p)) {
		sl_pkt_free(p);
		qp->st.tx_nobuf++;
		return false;
	}
	r = d + qp->hdr_len;
	r[0] = op;
	r[1] = (uint8_t)((se ? BTH_SE : 0) | pad << 4);
	put_be16(r + 2, 0xffff);
	r[4] = 0;
	put_be24(r + 5, qp->conn.remote_qpn);
	r[8] = ackreq ? BTH_ACKREQ : 0;
	put_be24(r + 9, psn & PSN_MASK);
	if (extlen)
		memcpy(r + BTH_LEN, ext, extlen);
	if (plen)
		memcpy(r + BTH_LEN + extlen, pay, plen);
	memset(r + BTH_LEN + extlen + plen, 0, pad + ICRC_LEN);
	/* on a socket path the kernel sends from the socket's port */
	qp->hp.src.port = qp->ep->socket_path && qp->ep->sock_port ?
				  qp->ep->sock_port :
				  qp->conn.udp_sport;
	len = sl_udp_build(d, sl_pkt_tailroom(p), &qp->hp, NULL, roce);
	if (len < 0) {
		sl_pkt_free(p);
		qp->st.tx_nobuf++;
		return false;
	}
	udp = d + SL_ETH_HLEN + qp->ip_len;
	icrc = rdma_icrc_calc(d + SL_ETH_HLEN, qp->ip_len, udp, 8 + roce,
			      false);
	r += roce - ICRC_LEN;
	r[0] = (uint8_t)icrc;
	r[1] = (uint8_t)(icrc >> 8);
	r[2] = (uint8_t)(icrc >> 16);
	r[3] = (uint8_t)(icrc >> 24);
	if (qp->ip_len == 40) {
		/* the UDP checksum was summed over a zero ICRC: redo it */
		uint16_t c;

		memset(udp + 6, 0, 2);
		c = sl_ipv6_l4_csum(
			(const struct sl_ipv6_hdr *)(d + SL_ETH_HLEN),
			SL_IPPROTO_UDP, udp, 8 + roce);
		memcpy(udp + 6, &c, 2);
	}
	p->len = (uint32_t)len;
	/* the ICRC covers the IPv4 ID, which GSO would renumber */
	if (qp->ip_len == 20)
		p->flags |= SL_PKT_F_TX_NO_GSO;
	ep->txq[ep->txn++] = p;
	qp->st.tx_pkts++;
	return true;
}

static bool pkey_match(uint16_t a, uint16_t b)
{
	return (a & 0x7fff) && (a & 0x7fff) == (b & 0x7fff) &&
	       ((a | b) & 0x8000);
}

void rdma_ep_rx(struct ep *ep, const uint8_t *frame, size_t len)
{
	struct sl_frame f;
	struct rdma_hdr h;
	struct sl_rdma_qp *qp;
	const uint8_t *l3, *udp;
	size_t ip_len;

	if (sl_frame_parse(frame, len, &f) != 0 ||
	    f.l4_proto != SL_IPPROTO_UDP ||
	    (f.flags & (SL_FRAME_IP_FRAG | SL_FRAME_IP_EXT)) ||
	    (f.l3 != SL_L3_IPV4 && f.l3 != SL_L3_IPV6)) {
		ep->st.rx_not_roce++;
		return;
	}
	ip_len = f.l4_off - f.l3_off;
	if (ip_len != (f.l3 == SL_L3_IPV4 ? 20u : 40u) ||
	    f.payload_len < BTH_LEN + ICRC_LEN) {
		ep->st.rx_not_roce++;
		return;
	}
	l3 = frame + f.l3_off;
	udp = frame + f.l4_off;
	if (!ep->no_icrc) {
		const uint8_t *w = frame + f.payload_off + f.payload_len - 4;
		uint32_t c = rdma_icrc_calc(l3, ip_len, udp,
					    8 + (size_t)f.payload_len,
					    ep->socket_path);

		if (w[0] != (uint8_t)c || w[1] != (uint8_t)(c >> 8) ||
		    w[2] != (uint8_t)(c >> 16) || w[3] != (uint8_t)(c >> 24)) {
			uint32_t stored = (uint32_t)w[0] | (uint32_t)w[1] << 8 |
					  (uint32_t)w[2] << 16 |
					  (uint32_t)w[3] << 24;
			uint16_t id;

			/* a socket path sees no IPv4 ID; a sender other than
			 * sluice (rxe) writes its own: right for some ID is
			 * right, and counted (wire.h) */
			if (!ep->socket_path || ip_len != 20 ||
			    rdma_icrc_solve_id(l3, udp,
					       8 + (size_t)f.payload_len,
					       stored, &id)) {
				ep->st.rx_bad_icrc++;
				return;
			}
			ep->st.rx_icrc_id_unseen++;
		}
	}
	if (rdma_parse(frame + f.payload_off, f.payload_len, &h)) {
		ep->st.rx_not_roce++;
		return;
	}
	qp = rdma_qp_tab[h.dqpn % QP_TAB];
	if (!qp || qp->qpn != h.dqpn || qp->ep != ep ||
	    qp->state == SL_RDMA_QPS_INIT || !pkey_match(h.pkey, 0xffff) ||
	    sl_get_be16(udp + 2) != qp->conn.local.port) {
		ep->st.rx_unknown_qp++;
		return;
	}
	/* the source must be the connected peer */
	if (f.l3 == SL_L3_IPV4 ?
		    qp->conn.remote.family != AF_INET ||
			    memcmp(l3 + 12, &qp->conn.remote.v4, 4) :
		    qp->conn.remote.family != AF_INET6 ||
			    memcmp(l3 + 8, &qp->conn.remote.v6, 16)) {
		ep->st.rx_unknown_qp++;
		return;
	}
	qp->st.rx_pkts++;
	if (h.flags & OPF_RESP)
		rdma_comp_rx(qp, &h);
	else
		rdma_resp_rx(qp, &h);
}

void rdma_input_frame(struct sl_rdma_qp *qp, const uint8_t *frame, size_t len)
{
	rdma_ep_rx(qp->ep, frame, len);
}

void rdma_skip_icrc(struct sl_rdma_qp *qp, bool skip)
{
	qp->ep->no_icrc = skip;
}
