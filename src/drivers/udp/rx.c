// SPDX-License-Identifier: MIT
/*
 * The udp driver's receive side (what the frames look like is at the top
 * of udp.c).
 *
 * recvmmsg() takes a batch of messages straight into pool buffers, each
 * placed so that the headers fit in front of it (in the headroom when
 * there is room, else inside the buffer); the headers are then written
 * there, one frame per datagram.
 *
 * With GRO (UDP_GRO, Linux 5.0; on unless gro=off) the kernel may hand
 * over one message holding a run of datagrams of one flow, all of the
 * size its UDP_GRO control message gives but a shorter last one: a GSO
 * run that crossed a veth or loopback whole, or frames the device's GRO
 * merged. One trip through the socket for the run instead of one per
 * datagram. The application still gets one frame per datagram, in order,
 * exactly as without GRO, never more than it asked for: the rest of the
 * run waits for the next burst, and no new receive starts before the last
 * one is handed out.
 *
 * A message may then be up to 64 KiB, and a message that does not fit is
 * truncated by the kernel (its datagrams lost), so each message of a GRO
 * receive is one pool buffer followed by its own 64 KiB slot of scratch
 * (one iovec each). Why this layout: a message of one datagram, the usual
 * case when nothing merges, fills only its pool buffer and costs no copy,
 * as without GRO; in a run, the first datagram stays in its pool buffer
 * and every other one is copied once from the slot into a buffer of its
 * own (a frame of its own needs a buffer of its own: the copy is the
 * least it can cost). The slot mirrors the message at the same offsets:
 * what landed in the pool buffer past the first datagram (less than a
 * buffer) is copied into the slot, so that the first buffer can be handed
 * out at once and the rest of the run is one range of the slot. Receiving
 * a run straight into a chain of pool buffers would save that copy only
 * when the datagram size, known after the receive, happened to be the
 * buffers' size: otherwise datagrams straddle buffers. The scratch is
 * reserved, not committed: a GRO receive takes at most UDP_GRO_MSGS
 * messages, 4 MiB of address space, and only the pages runs reach become
 * memory.
 *
 * The pool running dry while a run is cut up: the datagrams not handed
 * out stay in the slot and come in a later burst, like datagrams left in
 * the socket (each failed allocation counts in rx_nombuf). None is lost.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drivers/udp/udp_int.h"

int udp_rx_gro_enable(struct udp_priv *u)
{
	size_t len = (size_t)UDP_GRO_MSGS * UDP_GRO_SLOT;
	int on = 1, err;
	void *m;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	if (setsockopt(u->fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on))) {
		err = errno;
		munmap(m, len);
		return -err;
	}
	u->rx.scratch = m;
	return 0;
}

void udp_rx_close(struct udp_priv *u)
{
	struct udp_rx *rx = &u->rx;

	if (rx->next < rx->n_msgs)
		sl_pkt_free_bulk(rx->bufs + rx->next, rx->n_msgs - rx->next);
	rx->next = rx->n_msgs = 0;
	rx->seg_off = rx->seg_end = 0;
	if (rx->n_spare)
		sl_pkt_free_bulk(rx->spare, rx->n_spare);
	rx->n_spare = 0;
	if (rx->scratch)
		munmap(rx->scratch, (size_t)UDP_GRO_MSGS * UDP_GRO_SLOT);
	rx->scratch = NULL;
}

/* Where a datagram was sent to, from its control messages (the bound
 * address when they are missing), and the GRO size: 0 when the message
 * is one datagram. Also picks up the kernel drop count. */
static uint32_t rx_cmsgs(struct udp_priv *u, struct msghdr *mh,
			 struct sl_addr *to)
{
	struct cmsghdr *cm;
	uint32_t gro = 0;

	*to = u->local;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			to->v4 = pi.ipi_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			to->v6 = pi.ipi6_addr;
		} else if (cm->cmsg_level == SOL_SOCKET &&
			   cm->cmsg_type == SO_RXQ_OVFL) {
			memcpy(&u->kernel_drops, CMSG_DATA(cm),
			       sizeof(u->kernel_drops));
		} else if (cm->cmsg_level == IPPROTO_UDP &&
			   cm->cmsg_type == UDP_GRO) {
			int g;

			memcpy(&g, CMSG_DATA(cm), sizeof(g));
			gro = g > 0 ? (uint32_t)g : 0;
		}
	}
	return gro;
}

/* Offset from the buffer start (after the metadata) where the frame of a
 * received datagram begins: headers in the headroom when they fit. */
static inline size_t rx_frame_start(const struct udp_priv *u,
				    const struct sl_pkt *p)
{
	return p->headroom0 >= u->hdr_len ? p->headroom0 - u->hdr_len : 0;
}

/* How many datagrams of size bytes (the last one shorter) make len. */
static inline uint32_t rx_count(uint32_t len, uint32_t size)
{
	return (len + size - 1) / size;
}

/* Write the frame of a len-byte datagram into p, around the payload
 * already in place (payload NULL) or copied from payload. Returns the
 * frame's length, or -1. */
static inline int rx_frame(struct udp_priv *u, struct sl_port *port,
			   uint16_t queue, struct sl_pkt *p,
			   struct sl_udp_params *hp, const void *payload,
			   uint32_t len)
{
	uint8_t *frame = sl_pkt_buf(p) + rx_frame_start(u, p);
	uint64_t now = u->rx.now;
	int flen;

	hp->ip_id = u->ip_id++;
	flen = sl_udp_build(frame, p->room - (size_t)(frame - sl_pkt_buf(p)),
			    hp, payload, len);
	if (sl_unlikely(flen < 0))
		return -1;
	p->data = frame;
	p->len = (uint32_t)flen;
	p->port = port->port_id;
	p->queue = queue;
	p->rx_ts = now;
	p->flags = (uint16_t)((now ? SL_PKT_F_RX_TS : 0) | u->rx_csum);
	return flen;
}

/*
 * Receive a batch of messages into rx->bufs, at most n (UDP_GRO_MSGS with
 * GRO). Returns how many came: 0 when the socket is empty, or the pool.
 */
static unsigned rx_recv(struct udp_priv *u, struct sl_port *port,
			struct sl_port_qstats *st, unsigned n)
{
	struct udp_rx *rx = &u->rx;
	unsigned want = SL_MIN(n, rx->scratch ? (unsigned)UDP_GRO_MSGS :
						(unsigned)UDP_BATCH);
	unsigned i, have;
	int r;

	have = SL_MIN(rx->n_spare, want);
	rx->n_spare -= have;
	memcpy(rx->bufs, rx->spare + rx->n_spare, have * sizeof(*rx->bufs));
	if (have < want) {
		unsigned need = want - have;

		/* all-or-none allocation: ask for less until it works */
		while (need && sl_pkt_alloc_bulk(port->pool, rx->bufs + have,
						 need) != 0) {
			st->rx_nombuf++;
			need /= 2;
		}
		want = have + need;
		if (want == 0)
			return 0;
	}
	for (i = 0; i < want; i++) {
		struct sl_pkt *p = rx->bufs[i];
		size_t start = rx_frame_start(u, p) + u->hdr_len;
		struct msghdr *mh = &rx->msgs[i].msg_hdr;
		struct iovec *iov = rx->iov[i];

		iov[0].iov_base = sl_pkt_buf(p) + start;
		iov[0].iov_len = p->room - start;
		mh->msg_iovlen = 1;
		if (rx->scratch) {
			/* room < 64 KiB: the slot's tail is never empty */
			iov[1].iov_base = rx->scratch +
					  (size_t)i * UDP_GRO_SLOT +
					  iov[0].iov_len;
			iov[1].iov_len = UDP_GRO_SLOT - iov[0].iov_len;
			mh->msg_iovlen = 2;
		}
		mh->msg_name = &rx->names[i];
		mh->msg_namelen = sizeof(rx->names[i]);
		mh->msg_iov = iov;
		mh->msg_control = rx->cmsg[i].buf;
		mh->msg_controllen = sizeof(rx->cmsg[i].buf);
		mh->msg_flags = 0;
	}
	r = recvmmsg(u->fd, rx->msgs, want, MSG_DONTWAIT, NULL);
	if (r < 0) {
		/* ECONNREFUSED: a connected peer's ICMP error, reported once */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			st->rx_errors++;
		r = 0;
	}
	/* buffers not filled wait for the next burst (room: n_spare +
	 * want - have <= UDP_BATCH) */
	for (i = (unsigned)r; i < want; i++)
		rx->spare[rx->n_spare++] = rx->bufs[i];
	rx->next = 0;
	rx->n_msgs = (unsigned)r;
	/* one clock read per receive, if asked */
	rx->now = r > 0 && port->rx_ts ? sl_time_ns() : 0;
	return (unsigned)r;
}

/*
 * Message i of the last receive: its first (or only) datagram becomes the
 * frame in its own buffer, put in *out (returns 1), or is counted and its
 * buffer goes to drop[] (returns 0). When more datagrams follow (GRO),
 * they become the run being cut.
 */
static unsigned rx_msg(struct udp_priv *u, struct sl_port *port, uint16_t queue,
		       unsigned i, struct sl_pkt **out, unsigned *n_drop,
		       uint64_t *bytes)
{
	struct udp_rx *rx = &u->rx;
	struct sl_port_qstats *st = &port->qstats[queue];
	struct msghdr *mh = &rx->msgs[i].msg_hdr;
	struct sl_pkt *p = rx->bufs[i];
	uint32_t len = rx->msgs[i].msg_len;
	uint32_t cap = (uint32_t)rx->iov[i][0].iov_len, size;
	struct sl_udp_params hp;
	int flen;

	memset(&hp, 0, sizeof(hp));
	memcpy(hp.dst_mac, udp_mac_port, SL_ETH_ALEN);
	memcpy(hp.src_mac, udp_mac_kernel, SL_ETH_ALEN);
	udp_from_sockaddr(&rx->names[i], &hp.src);
	size = rx_cmsgs(u, mh, &hp.dst);
	if (u->family == AF_INET)
		hp.flags = SL_BUILD_NO_L4_CSUM;
	if (sl_unlikely(mh->msg_flags & MSG_TRUNC)) {
		/* larger than the buffer (without GRO): lost */
		u->rx_truncated++;
		st->rx_dropped++;
		goto drop;
	}
	if (size == 0 || size >= len) {
		size = len;
	} else {
		uint8_t *slot = rx->scratch + (size_t)i * UDP_GRO_SLOT;

		u->gro_bufs++;
		u->gro_segs += rx_count(len, size);
		if (sl_unlikely(hp.src.family != u->family)) {
			st->rx_invalid += rx_count(len, size);
			goto drop;
		}
		/* the rest of the run, one range of the slot */
		if (size < cap)
			memcpy(slot + size,
			       (uint8_t *)rx->iov[i][0].iov_base + size,
			       SL_MIN(cap, len) - size);
		rx->seg_hp = hp;
		rx->seg_msg = i;
		rx->seg_off = size;
		rx->seg_end = len;
		rx->seg_size = size;
		rx->seg_cap = cap;
	}
	if (sl_unlikely(size > cap)) {
		/* larger than a buffer, the kernel took it into the slot */
		u->rx_truncated++;
		st->rx_dropped++;
		goto drop;
	}
	flen = rx_frame(u, port, queue, p, &hp, NULL, size);
	if (sl_unlikely(flen < 0 || hp.src.family != u->family)) {
		st->rx_invalid++;
		goto drop;
	}
	*bytes += (uint32_t)flen;
	*out = p;
	return 1;
drop:
	rx->drop[(*n_drop)++] = p;
	return 0;
}

/*
 * Hand out up to n datagrams of the run being cut, each copied from the
 * slot into a fresh buffer; returns how many. Fewer, and the run still
 * pending, when the pool runs dry (counted in rx_nombuf).
 */
static unsigned rx_cut(struct udp_priv *u, struct sl_port *port, uint16_t queue,
		       struct sl_pkt **out, unsigned n, uint64_t *bytes)
{
	struct udp_rx *rx = &u->rx;
	struct sl_port_qstats *st = &port->qstats[queue];
	const uint8_t *slot = rx->scratch + (size_t)rx->seg_msg * UDP_GRO_SLOT;
	unsigned want, got = 0, i;

	/* datagrams larger than a buffer are dropped as without GRO: all
	 * of a run but a shorter last one, when its size is too large */
	while (rx->seg_off < rx->seg_end &&
	       SL_MIN(rx->seg_size, rx->seg_end - rx->seg_off) > rx->seg_cap) {
		u->rx_truncated++;
		st->rx_dropped++;
		rx->seg_off += SL_MIN(rx->seg_size, rx->seg_end - rx->seg_off);
	}
	want = SL_MIN(n, rx_count(rx->seg_end - rx->seg_off, rx->seg_size));
	while (want && sl_pkt_alloc_bulk(port->pool, out, want) != 0) {
		st->rx_nombuf++;
		want /= 2;
	}
	for (i = 0; i < want; i++) {
		struct sl_pkt *p = out[i];
		uint32_t len = SL_MIN(rx->seg_size, rx->seg_end - rx->seg_off);
		int flen = rx_frame(u, port, queue, p, &rx->seg_hp,
				    slot + rx->seg_off, len);

		rx->seg_off += len;
		if (sl_unlikely(flen < 0)) {
			st->rx_invalid++;
			sl_pkt_free(p);
			continue;
		}
		*bytes += (uint32_t)flen;
		out[got++] = p;
	}
	return got;
}

uint16_t udp_rx_burst(struct sl_port *port, uint16_t queue,
		      struct sl_pkt **pkts, uint16_t n)
{
	struct udp_priv *u = port->priv;
	struct sl_port_qstats *st = &port->qstats[queue];
	struct udp_rx *rx = &u->rx;
	unsigned got = 0, n_drop = 0;
	uint64_t bytes = 0;

	if (sl_unlikely(n == 0))
		return 0;
	/* a receive only once the last one is all handed out */
	if (rx->seg_off == rx->seg_end && rx->next == rx->n_msgs &&
	    rx_recv(u, port, st, n) == 0)
		return 0;
	while (got < n) {
		if (rx->seg_off < rx->seg_end) {
			got += rx_cut(u, port, queue, pkts + got, n - got,
				      &bytes);
			if (rx->seg_off < rx->seg_end)
				break; /* n reached, or the pool is dry */
		} else if (rx->next < rx->n_msgs) {
			got += rx_msg(u, port, queue, rx->next++, pkts + got,
				      &n_drop, &bytes);
		} else {
			break;
		}
	}
	if (n_drop)
		sl_pkt_free_bulk(rx->drop, n_drop);
	st->rx_packets += got;
	st->rx_bytes += bytes;
	return (uint16_t)got;
}
