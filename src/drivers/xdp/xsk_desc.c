// SPDX-License-Identifier: MIT
/*
 * Checked reads of the kernel-produced AF_XDP rings; see xsk_desc.h. Kept
 * apart from the driver so a unit test can run them over a fake ring in
 * ordinary memory, without a kernel socket.
 */
#include "drivers/xdp/xsk_desc.h"

unsigned sl_xsk_rx_take(struct xsk_ring_cons *rx, const struct sl_xsk_geom *g,
			uint8_t slot, uint16_t port, uint16_t queue,
			struct sl_pkt **pkts, unsigned n,
			struct sl_pkt **recycle, unsigned *n_recycle,
			struct sl_xsk_take_counts *c)
{
	unsigned got, i, out = 0, rec = 0;
	uint32_t idx = 0;

	/* peek does the acquire load of the producer index, which pairs with
	 * the kernel's release store after it wrote the descriptors */
	got = xsk_ring_cons__peek(rx, n, &idx);
	for (i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(rx, idx + i);
		/* one read of each field: the kernel (or a bug) may change
		 * the ring under us, and the check must cover what is used */
		uint64_t addr = __atomic_load_n(&d->addr, __ATOMIC_RELAXED);
		uint32_t len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
		enum sl_xsk_bad bad = sl_xsk_check_rx(g, addr, len, slot);
		struct sl_pkt *p;

		if (sl_unlikely(bad != SL_XSK_OK)) {
			c->invalid++;
			if (bad == SL_XSK_BAD_OFFSET || bad == SL_XSK_BAD_LEN) {
				g->owner[addr >> g->shift] = SL_XSK_OWN_NONE;
				recycle[rec++] = sl_xsk_pkt(g, addr);
				c->recycled++;
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
		pkts[out++] = p;
	}
	if (got)
		xsk_ring_cons__release(rx, got);
	*n_recycle = rec;
	return out;
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
