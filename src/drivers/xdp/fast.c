// SPDX-License-Identifier: MIT
/*
 * The AF_XDP driver's receive and transmit bursts (see xdp.c for the
 * driver, xsk_desc.c for the checks every descriptor passes). No
 * allocation, no lock, no log here; the only system calls are the kernel
 * kicks the rings ask for and the idle device check.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "drivers/common/gone.h"
#include "drivers/xdp/xdp_int.h"
#include "steer_abi.h" /* bpf/: the program's metadata */

/*
 * Who does what, once per burst (issue 17: each burst did the other
 * direction's work too, and a forwarding loop reaped completions twice per
 * iteration and made system calls from its receive side):
 *
 *   receive   takes RX descriptors, tops the fill ring up (first with the
 *             socket's own completed TX buffers, straight from the
 *             completion ring: no pool round trip, one ownership write),
 *             and calls the kernel only when the ring asks (need_wakeup),
 *             when busy polling, or for the idle device check.
 *   transmit  posts, reaps completions into the pool only when they would
 *             hold the kernel up (completion ring half full, or no TX
 *             room), and kicks the kernel once per burst.
 *
 * A copy-mode kick sends at most the socket's TX budget per call: 32
 * frames before Linux 6.17, the whole TX ring since, once the socket asks
 * with XDP_MAX_TX_SKB_BUDGET (set at open, see xdp_tx_budget). With the
 * old budget a burst needs several calls; frames a kick could not send
 * (budget, EAGAIN, EBUSY) leave tx_pending set, and the next burst of
 * either direction kicks again, so a program that sends once and then
 * only receives still sees its frames leave.
 */
#define XDP_KICK_MAX 16 /* copy-mode calls per kick, old kernels only */

static uint32_t tx_waiting(const struct xdp_q *q)
{
	return q->tx.size -
	       xsk_prod_nb_free((struct xsk_ring_prod *)&q->tx, q->tx.size);
}

static uint64_t coarse_ns(void);

/*
 * Zero-copy: the driver sends from the TX ring on its own while it keeps
 * need_wakeup clear, and a socket that trusts the flag never kicks then.
 * A driver that leaves frames in the ring with the flag clear would hold
 * them for ever; once in the lab (virtio-net, Linux 7.3) three forwarded
 * frames never left, which later runs did not repeat. So frames waiting
 * while the ring's consumer has not moved for XDP_TX_STALL_NS get a kick
 * all the same, counted in tx_stall_kicks: a coarse clock read per burst
 * while frames wait, nothing else.
 */
#define XDP_TX_STALL_NS (2 * 1000 * 1000ull)

static bool tx_stalled(struct xdp_q *q)
{
	uint32_t cons = __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE);
	uint64_t now = coarse_ns();

	if (cons != q->tx_last_cons || !q->tx_cons_ns) {
		q->tx_last_cons = cons;
		q->tx_cons_ns = now;
		return false;
	}
	return now - q->tx_cons_ns > XDP_TX_STALL_NS;
}

/* Give completed TX buffers back to the pool. */
void xdp_reap(struct xdp_q *q)
{
	struct sl_pkt *done[XDP_BURST];
	struct sl_xsk_take_counts c = { 0 };
	unsigned n;

	do {
		n = sl_xsk_comp_take(&q->comp, q->g, q->slot, done, XDP_BURST,
				     &c);
		if (n)
			sl_pool_put_bulk(q->pool, done, n);
	} while (n == XDP_BURST);
	q->tx_invalid_comp += c.invalid;
}

/* Kick TX (above). Returns true when the kernel says the socket is no
 * longer bound: its device went away (ENXIO; a device that is only down
 * gives ENETDOWN, and the next burst tries again). */
static bool kick_tx(struct xdp_q *q)
{
	uint32_t waiting = tx_waiting(q);
	unsigned calls = 1;
	bool stalled = false;

	/* set while frames wait: the next burst of either direction comes
	 * back here (zero-copy: for the stall check) */
	q->tx_pending = waiting != 0;
	if (!waiting)
		return false;
	if (!xsk_ring_prod__needs_wakeup(&q->tx)) {
		if (q->um->mode != MODE_ZC || !(stalled = tx_stalled(q)))
			return false;
	}
	if (q->um->mode != MODE_ZC)
		calls = SL_MIN((waiting + q->tx_budget - 1) / q->tx_budget,
			       XDP_KICK_MAX);
	while (calls--) {
		q->wakeups++;
		q->tx_wakeups++;
		q->tx_stall_kicks += stalled;
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) == 0)
			continue;
		if (errno == EAGAIN) /* completion ring full: make room */
			xdp_reap(q);
		else if (sl_unlikely(errno == ENXIO))
			return true;
		else if (errno != EINTR)
			break; /* EBUSY, ENETDOWN, ...: the next burst tries */
	}
	q->tx_pending = tx_waiting(q) != 0;
	return false;
}

/* The vDSO's coarse clock: no system call, a few ns, ticks of 1-4 ms. */
static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Arrival times. A port with receive times (SL_PORT_F_RX_TS) has the
 * steering program put each frame's arrival (bpf_ktime_get_ns, the clock
 * of sl_time_ns) in front of it (SL_STEER_F_RX_TS, struct sl_steer_meta),
 * and every port of the interface takes that off again; the port that asked
 * stamps the frame with it, the burst's read time standing in for a frame
 * without (no headroom for the program's bpf_xdp_adjust_head). Returns the
 * bytes taken off, for the byte count.
 */
static uint64_t rx_unstamp(struct sl_pkt *const *pkts, unsigned n, bool ts)
{
	uint64_t now = ts ? sl_time_ns() : 0, cut = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		struct sl_pkt *p = pkts[i];
		struct sl_steer_meta m;

		if (ts) {
			p->rx_ts = now;
			p->flags |= SL_PKT_F_RX_TS;
		}
		if (p->len < sizeof(m) + SL_ETH_HLEN)
			continue;
		memcpy(&m, p->data, sizeof(m));
		if (m.magic != SL_STEER_META_MAGIC)
			continue;
		if (ts && m.ts_ns <= now)
			p->rx_ts = m.ts_ns;
		sl_pkt_adj(p, sizeof(m));
		cut += sizeof(m);
	}
	return cut;
}

static bool port_gone(const struct xdp_priv *pv)
{
	return __atomic_load_n(&pv->gone, __ATOMIC_RELAXED);
}

/* The device went away: say so once, for the whole port (every queue is
 * on that device). Called from a burst, once in the port's life. */
__attribute__((cold, noinline)) static void xdp_gone(struct sl_port *port)
{
	struct xdp_priv *pv = port->priv;

	sl_drv_set_gone(port, &pv->gone, "xdp", pv->ifname, pv->ifindex);
}

/* A burst that moved nothing: at most every XDP_GONE_CHECK_NS, ask the
 * kernel whether the socket is still bound (a non-blocking recvfrom does
 * nothing else in copy mode; ENXIO: unbound). */
static void idle_check(struct sl_port *port, struct xdp_q *q)
{
	uint64_t now = coarse_ns();

	if (sl_likely(now < q->next_check_ns))
		return;
	q->next_check_ns = now + XDP_GONE_CHECK_NS;
	q->link_checks++;
	if (recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 &&
	    errno == ENXIO)
		xdp_gone(port);
}

/* Top the fill ring up to fill_target: first with the socket's own
 * completed TX buffers, then from the pool, in batches. When the pool is
 * dry the kernel goes on with what it has (or drops, counted by
 * XDP_STATISTICS); the next call tries again, so nothing stalls. */
void xdp_refill(struct sl_port *port, struct xdp_q *q)
{
	struct sl_pkt *b[XDP_FILL_BATCH];
	uint32_t idx, want, i;

	if (q->fill_target - q->in_fill < XDP_FILL_BATCH / 4)
		return;
	if (xsk_cons_nb_avail(&q->comp, 1)) {
		struct sl_xsk_take_counts c = { 0 };
		uint32_t n =
			sl_xsk_comp_recycle(&q->comp, &q->fill, q->g, q->slot,
					    q->fill_target - q->in_fill, &c);

		q->in_fill += n;
		q->fill_recycled += n;
		q->tx_invalid_comp += c.invalid;
	}
	while (q->fill_target - q->in_fill >= XDP_FILL_BATCH / 4) {
		want = SL_MIN(q->fill_target - q->in_fill, XDP_FILL_BATCH);
		if (sl_pool_get_bulk(q->pool, b, want) != 0) {
			want = XDP_FILL_BATCH / 4;
			if (sl_pool_get_bulk(q->pool, b, want) != 0) {
				port->qstats[q->queue].rx_nombuf++;
				if (q->in_fill == 0)
					q->fill_ring_empty++;
				return;
			}
		}
		/* in_fill <= fill_target <= ring size: the room is there */
		if (xsk_ring_prod__reserve(&q->fill, want, &idx) != want) {
			sl_pool_put_bulk(q->pool, b, want);
			return;
		}
		for (i = 0; i < want; i++) {
			uint64_t a = sl_xsk_chunk_addr(q->g, b[i]);

			q->g->owner[a >> q->g->shift] = q->slot;
			*xsk_ring_prod__fill_addr(&q->fill, idx + i) = a;
		}
		xsk_ring_prod__submit(&q->fill, want);
		q->in_fill += want;
	}
}

uint16_t xdp_rx_burst(struct sl_port *port, uint16_t queue,
		      struct sl_pkt **pkts, uint16_t n)
{
	struct xdp_priv *pv = port->priv;
	struct xdp_q *q = pv->q[queue];
	struct sl_port_qstats *st = &port->qstats[queue];
	struct sl_pkt *rec[XDP_BURST + SL_XSK_MAX_FRAGS + 1];
	struct sl_xsk_take_counts c = { 0 };
	unsigned got, n_rec = 0;
	bool gone = port_gone(pv);

	if (n > XDP_BURST)
		n = XDP_BURST;
	/* busy polling: this call is what runs the device's NAPI, so it
	 * comes before the ring is read (the kernel's xdpsock does the
	 * same); it also answers ENXIO once the device is gone */
	if (q->busy_poll && sl_likely(!gone)) {
		q->wakeups++;
		if (recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 &&
		    sl_unlikely(errno == ENXIO)) {
			xdp_gone(port);
			gone = true;
		}
	}
	got = sl_xsk_rx_take_mb(&q->rx, q->g, q->slot, q->port_id, queue, pkts,
				n, rec, &n_rec, &q->mb, &c);
	q->in_fill -= (uint32_t)c.taken;
	if (sl_unlikely(__atomic_load_n(&pv->ifc->stamps, __ATOMIC_ACQUIRE)))
		c.bytes -= rx_unstamp(pkts, got, port->rx_ts);
	else if (port->rx_ts)
		sl_port_rx_stamp(port, pkts, got);
	if (sl_unlikely(n_rec))
		sl_pool_put_bulk(q->pool, rec, n_rec);
	if (sl_unlikely(c.invalid)) {
		q->rx_invalid_desc += c.invalid;
		st->rx_invalid += c.invalid;
	}
	if (sl_unlikely(c.mb_frames | c.mb_bad | c.mb_too_long | c.mb_nobuf)) {
		q->rx_mb_frames += c.mb_frames;
		q->rx_mb_invalid += c.mb_bad;
		q->rx_mb_too_long += c.mb_too_long;
		st->rx_dropped += c.mb_too_long;
		st->rx_nombuf += c.mb_nobuf;
	}
	st->rx_packets += got;
	st->rx_bytes += c.bytes;
	xdp_refill(port, q);
	if (sl_unlikely(q->tx_pending) && !gone && kick_tx(q)) {
		xdp_gone(port);
		gone = true;
	}
	if (got || q->busy_poll || sl_unlikely(gone))
		return (uint16_t)got; /* gone: what the ring held, then 0 */
	/* zero-copy drivers sleep until told there is fill ring to use;
	 * the call answers ENXIO once the device is gone */
	if (xsk_ring_prod__needs_wakeup(&q->fill)) {
		q->wakeups++;
		if (recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 &&
		    sl_unlikely(errno == ENXIO))
			xdp_gone(port);
	} else {
		idle_check(port, q);
	}
	return (uint16_t)got;
}

/* The chunks frame p takes on the TX ring: 1 when it fits one, more on a
 * multi-buffer socket, 0 when it is too long to send at all. */
static uint32_t tx_chunks(const struct xdp_q *q, const struct sl_pkt *p)
{
	if (sl_likely(p->len <= q->max_copy))
		return 1;
	if (p->len > q->max_tx)
		return 0;
	return (p->len + q->max_copy - 1) / q->max_copy;
}

/*
 * The frames of pkts[0..n) as TX descriptors of our pool, into out (and
 * contd: more of the frame follows): those of other pools copied into
 * buffers of ours (taken from the pool in one call, the originals freed in
 * one call), a frame longer than a chunk into several (multi-buffer
 * sockets), never more than room descriptors. A frame goes whole or not
 * at all: it stays with the caller when its chunks do not fit room or our
 * pool is dry (back-pressure). A frame too long to send is taken and
 * dropped (counted). Returns how many of pkts are taken; *n_out is the
 * number of descriptors.
 */
static uint32_t copy_in(struct xdp_q *q, struct sl_port_qstats *st,
			struct sl_pkt *const *pkts, uint32_t n, uint32_t room,
			struct sl_pkt **out, uint8_t *contd, uint32_t *n_out)
{
	struct sl_pkt *fresh[XDP_BURST], *old[XDP_BURST];
	uint32_t i, k = 0, nd = 0, n_old = 0, want = 0, nc, f, off;

	for (i = 0; i < n && want < room; i++)
		if (pkts[i]->pool != q->pool)
			want += tx_chunks(q, pkts[i]);
	want = SL_MIN(want, room);
	while (want && sl_pool_get_bulk(q->pool, fresh, want) != 0)
		want /= 2;
	for (i = 0; i < n; i++) {
		struct sl_pkt *p = pkts[i];

		if (sl_likely(p->pool == q->pool)) {
			if (nd == room)
				break;
			contd[nd] = 0;
			out[nd++] = p;
			continue;
		}
		nc = tx_chunks(q, p);
		if (!nc) {
			/* cannot be sent: taken, dropped */
			st->tx_dropped++;
			q->tx_too_long++;
			old[n_old++] = p;
			continue;
		}
		if (nd + nc > room || k + nc > want)
			break; /* no room or our pool is dry: the caller keeps
				* it (never half a frame on the ring) */
		for (f = 0, off = 0; f < nc; f++, off += q->max_copy) {
			struct sl_pkt *b = fresh[k++];

			sl_pkt_set(b, p->data + off,
				   SL_MIN(p->len - off, q->max_copy));
			contd[nd] = f + 1 < nc;
			out[nd++] = b;
		}
		q->tx_mb_frames += nc > 1;
		old[n_old++] = p;
		q->tx_copied++;
	}
	if (k < want)
		sl_pool_put_bulk(q->pool, fresh + k, want - k);
	sl_pkt_free_bulk(old, n_old);
	*n_out = nd;
	return i;
}

uint16_t xdp_tx_burst(struct sl_port *port, uint16_t queue,
		      struct sl_pkt **pkts, uint16_t n)
{
	struct xdp_priv *pv = port->priv;
	struct xdp_q *q = pv->q[queue];
	struct sl_port_qstats *st = &port->qstats[queue];
	const struct sl_xsk_geom *g = q->g;
	struct sl_pkt *const *src = pkts, *copied[XDP_BURST];
	uint8_t contd_buf[XDP_BURST], *contd = NULL;
	uint32_t idx, room, i, nd, taken, foreign = 0, frames = 0;
	uint64_t bytes = 0;

	/* the device went away: take nothing, the caller keeps its packets */
	if (sl_unlikely(port_gone(pv)))
		return 0;
	if (n > XDP_BURST)
		n = XDP_BURST;
	/* completions hold buffers, and in copy mode the kernel sends only
	 * while the completion ring has room: give them back when they
	 * could hold it up, else leave them for the fill ring (recycle) */
	room = xsk_prod_nb_free(&q->tx, n);
	if (room < n ||
	    xsk_cons_nb_avail(&q->comp, q->comp.size / 2) >= q->comp.size / 2) {
		xdp_reap(q);
		room = xsk_prod_nb_free(&q->tx, n);
	}
	if (room > XDP_BURST)
		room = XDP_BURST;
	nd = taken = SL_MIN(room, n);
	for (i = 0; i < taken; i++)
		foreign += pkts[i]->pool != q->pool;
	if (sl_unlikely(foreign)) {
		taken = copy_in(q, st, pkts, n, room, copied, contd_buf, &nd);
		src = copied;
		contd = contd_buf;
	}
	if (nd && xsk_ring_prod__reserve(&q->tx, nd, &idx) != nd)
		nd = taken = 0; /* cannot happen: room was counted above */
	for (i = 0; i < nd; i++) {
		struct sl_pkt *p = src[i];
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx + i);
		uint64_t addr = (uint64_t)(p->data - g->base);
		bool more = contd && contd[i];

		g->owner[addr >> g->shift] = q->slot | SL_XSK_OWN_TX;
		d->addr = addr;
		d->len = p->len;
		d->options = more ? XDP_PKT_CONTD : 0;
		bytes += p->len;
		frames += !more;
	}
	if (nd)
		xsk_ring_prod__submit(&q->tx, nd);
	if ((nd || q->tx_pending) && sl_unlikely(kick_tx(q))) {
		/* posted to a ring nobody reads any more: never sent; the
		 * buffers come back to the pool at close */
		xdp_gone(port);
		st->tx_errors += frames;
		return (uint16_t)taken;
	}
	st->tx_packets += frames;
	st->tx_bytes += bytes;
	if (taken < n) {
		st->tx_full++;
		/* a ring that stays full, with no kick to tell (zero-copy
		 * without need_wakeup): ask now and then */
		if (!taken)
			idle_check(port, q);
	}
	return (uint16_t)taken;
}
