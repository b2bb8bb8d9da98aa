// SPDX-License-Identifier: MIT
/*
 * Checked reads of the kernel-produced AF_XDP rings; see xsk_desc.h. Kept
 * apart from the driver so a unit test can run them over a fake ring in
 * ordinary memory, without a kernel socket.
 */
#include <stdbool.h>
#include <string.h>

#include <sluice/mem.h>

#include "drivers/xdp/xsk_desc.h"

/* A fragment of a refused frame: its chunk back to the caller when it was
 * ours (the checks of sl_xsk_check_rx_min, any length). */
static void frag_drop(const struct sl_xsk_geom *g, uint8_t slot, uint64_t addr,
		      uint32_t len, struct sl_pkt **recycle, unsigned *rec,
		      struct sl_xsk_take_counts *c)
{
	enum sl_xsk_bad bad = sl_xsk_check_rx_min(g, addr, len, slot, 0);

	c->invalid++;
	if (bad == SL_XSK_BAD_ADDR || bad == SL_XSK_BAD_OWNER)
		return;
	g->owner[addr >> g->shift] = SL_XSK_OWN_NONE;
	recycle[(*rec)++] = sl_xsk_pkt(g, addr);
	c->recycled++;
	c->taken++;
}

/*
 * The frame whose first descriptor is ring entry idx + i (XDP_PKT_CONTD
 * set, or the rest of a refused frame when mb->skip): read up to its last
 * descriptor, peeking past *got when our own n cut it (the kernel publishes
 * all of a frame's descriptors with one producer store, after writing them:
 * net/xdp/xsk.c reserves them all or none; so a frame still unfinished
 * when nothing more is published never will be, and is refused). Puts the
 * copied packet in *out (NULL if none). Returns the index past the frame.
 * Out of line: single-chunk frames never come here.
 */
__attribute__((noinline)) static unsigned
take_frame(struct xsk_ring_cons *rx, const struct sl_xsk_geom *g, uint8_t slot,
	   uint32_t idx, unsigned i, unsigned *got, struct sl_xsk_mb *mb,
	   struct sl_pkt **out, struct sl_pkt **recycle, unsigned *rec,
	   struct sl_xsk_take_counts *c)
{
	uint64_t addr[SL_XSK_MAX_FRAGS];
	uint32_t len[SL_XSK_MAX_FRAGS], opt = XDP_PKT_CONTD, more, at;
	unsigned k = 0, j, owned = 0;
	uint64_t total = 0;
	bool bad = false;
	struct sl_pkt *p;
	uint8_t *dst;

	*out = NULL;
	if (mb->skip) {
		while (mb->skip && i < *got) {
			const struct xdp_desc *d =
				xsk_ring_cons__rx_desc(rx, idx + i);
			uint64_t a =
				__atomic_load_n(&d->addr, __ATOMIC_RELAXED);
			uint32_t l = __atomic_load_n(&d->len, __ATOMIC_RELAXED);

			opt = __atomic_load_n(&d->options, __ATOMIC_RELAXED);
			frag_drop(g, slot, a, l, recycle, rec, c);
			i++;
			if (!(opt & XDP_PKT_CONTD))
				mb->skip = 0;
		}
		return i;
	}
	while (k < SL_XSK_MAX_FRAGS && (opt & XDP_PKT_CONTD)) {
		const struct xdp_desc *d;
		enum sl_xsk_bad r;

		if (i == *got) {
			more = xsk_ring_cons__peek(rx, SL_XSK_MAX_FRAGS - k,
						   &at);
			if (!more)
				break;
			*got += more;
		}
		d = xsk_ring_cons__rx_desc(rx, idx + i);
		/* one read of each field, as in the single-chunk path */
		addr[k] = __atomic_load_n(&d->addr, __ATOMIC_RELAXED);
		len[k] = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
		opt = __atomic_load_n(&d->options, __ATOMIC_RELAXED);
		r = sl_xsk_check_rx_min(g, addr[k], len[k], slot,
					k ? 0 : SL_XSK_MIN_FRAME);
		bad |= r != SL_XSK_OK;
		/* a chunk of ours is claimed as it is read, so that the
		 * same chunk twice in one frame is refused the second time
		 * (its tag is no longer ours), never given back twice; the
		 * caller gives it back after the copy below */
		if (r == SL_XSK_OK || r == SL_XSK_BAD_OFFSET ||
		    r == SL_XSK_BAD_LEN) {
			g->owner[addr[k] >> g->shift] = SL_XSK_OWN_NONE;
			recycle[(*rec)++] = sl_xsk_pkt(g, addr[k]);
			c->taken++;
			owned++;
		}
		total += len[k];
		k++;
		i++;
	}
	if (opt & XDP_PKT_CONTD) {
		/* too many fragments, or the last one never came: the rest
		 * of a frame too long is dropped as it comes */
		bad = true;
		if (k == SL_XSK_MAX_FRAGS)
			mb->skip = 1;
	}
	if (bad || !mb->pool) {
		c->mb_bad++;
		c->invalid += k;
		c->recycled += owned;
		return i;
	}
	p = sl_pkt_alloc(mb->pool);
	if (p && total > sl_pkt_tailroom(p)) {
		sl_pkt_free(p);
		c->mb_too_long++;
		return i;
	}
	if (!p) {
		c->mb_nobuf++;
		return i;
	}
	dst = p->data;
	for (j = 0; j < k; j++) {
		memcpy(dst, g->base + addr[j], len[j]);
		dst += len[j];
	}
	p->len = (uint32_t)total;
	c->bytes += total;
	c->mb_frames++;
	*out = p;
	return i;
}

unsigned sl_xsk_rx_take_mb(struct xsk_ring_cons *rx,
			   const struct sl_xsk_geom *g, uint8_t slot,
			   uint16_t port, uint16_t queue, struct sl_pkt **pkts,
			   unsigned n, struct sl_pkt **recycle,
			   unsigned *n_recycle, struct sl_xsk_mb *mb,
			   struct sl_xsk_take_counts *c)
{
	struct sl_xsk_mb none = { 0 };
	unsigned got, first, i = 0, out = 0, rec = 0;
	uint32_t idx = 0;

	if (!mb)
		mb = &none;
	/* peek does the acquire load of the producer index, which pairs with
	 * the kernel's release store after it wrote the descriptors */
	got = first = xsk_ring_cons__peek(rx, n, &idx);
	/* a new frame only from the first n descriptors: one packet each at
	 * most, so pkts (room for n) never overflows */
	while (i < first) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(rx, idx + i);
		/* one read of each field: the kernel (or a bug) may change
		 * the ring under us, and the check must cover what is used */
		uint64_t addr = __atomic_load_n(&d->addr, __ATOMIC_RELAXED);
		uint32_t len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
		uint32_t opt = __atomic_load_n(&d->options, __ATOMIC_RELAXED);
		enum sl_xsk_bad bad;
		struct sl_pkt *p;

		if (sl_unlikely((opt & XDP_PKT_CONTD) || mb->skip)) {
			i = take_frame(rx, g, slot, idx, i, &got, mb, &p,
				       recycle, &rec, c);
			if (p) {
				p->port = port;
				p->queue = queue;
				pkts[out++] = p;
			}
			continue;
		}
		i++;
		bad = sl_xsk_check_rx(g, addr, len, slot);
		if (sl_unlikely(bad != SL_XSK_OK)) {
			c->invalid++;
			if (bad == SL_XSK_BAD_OFFSET || bad == SL_XSK_BAD_LEN) {
				g->owner[addr >> g->shift] = SL_XSK_OWN_NONE;
				recycle[rec++] = sl_xsk_pkt(g, addr);
				c->recycled++;
				c->taken++;
			}
			continue;
		}
		g->owner[addr >> g->shift] = SL_XSK_OWN_NONE;
		p = sl_xsk_pkt(g, addr);
		p->data = g->base + addr;
		p->len = len;
		p->flags = 0;
		p->port = port;
		p->queue = queue;
		c->bytes += len;
		c->taken++;
		pkts[out++] = p;
	}
	/* what a frame's run peeked past its end stays for the next call */
	if (got > i)
		xsk_ring_cons__cancel(rx, got - i);
	if (i)
		xsk_ring_cons__release(rx, i);
	*n_recycle = rec;
	return out;
}

unsigned sl_xsk_rx_take(struct xsk_ring_cons *rx, const struct sl_xsk_geom *g,
			uint8_t slot, uint16_t port, uint16_t queue,
			struct sl_pkt **pkts, unsigned n,
			struct sl_pkt **recycle, unsigned *n_recycle,
			struct sl_xsk_take_counts *c)
{
	return sl_xsk_rx_take_mb(rx, g, slot, port, queue, pkts, n, recycle,
				 n_recycle, NULL, c);
}

unsigned sl_xsk_comp_take(struct xsk_ring_cons *comp,
			  const struct sl_xsk_geom *g, uint8_t slot,
			  struct sl_pkt **pkts, unsigned n,
			  struct sl_xsk_take_counts *c)
{
	unsigned got, i, out = 0;
	uint32_t idx = 0;

	got = xsk_ring_cons__peek(comp, n, &idx);
	for (i = 0; i < got; i++) {
		uint64_t addr =
			__atomic_load_n(xsk_ring_cons__comp_addr(comp, idx + i),
					__ATOMIC_RELAXED);

		if (sl_unlikely(sl_xsk_check_comp(g, addr, slot) !=
				SL_XSK_OK)) {
			c->invalid++;
			continue;
		}
		g->owner[addr >> g->shift] = SL_XSK_OWN_NONE;
		pkts[out++] = sl_xsk_pkt(g, addr);
	}
	if (got)
		xsk_ring_cons__release(comp, got);
	return out;
}

uint32_t sl_xsk_comp_recycle(struct xsk_ring_cons *comp,
			     struct xsk_ring_prod *fill,
			     const struct sl_xsk_geom *g, uint8_t slot,
			     uint32_t want, struct sl_xsk_take_counts *c)
{
	uint32_t got, ci = 0, fi = 0, i, out = 0;

	got = xsk_ring_cons__peek(comp, want, &ci);
	if (!got)
		return 0;
	if (xsk_ring_prod__reserve(fill, got, &fi) != got) {
		xsk_ring_cons__cancel(comp, got);
		return 0;
	}
	for (i = 0; i < got; i++) {
		uint64_t a =
			__atomic_load_n(xsk_ring_cons__comp_addr(comp, ci + i),
					__ATOMIC_RELAXED);

		if (sl_unlikely(sl_xsk_check_comp(g, a, slot) != SL_XSK_OK)) {
			c->invalid++;
			continue;
		}
		a &= ~(uint64_t)(g->chunk - 1);
		g->owner[a >> g->shift] = slot;
		*xsk_ring_prod__fill_addr(fill, fi + out++) = a;
	}
	xsk_ring_cons__release(comp, got);
	/* slots reserved for refused completions were not written: give
	 * them back (the cached producer index is the caller's alone) */
	fill->cached_prod -= got - out;
	if (out)
		xsk_ring_prod__submit(fill, out);
	return out;
}
