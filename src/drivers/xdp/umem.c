// SPDX-License-Identifier: MIT
/*
 * The AF_XDP driver's UMEMs and sockets: a pool's region registered once
 * and shared by every socket given that pool, a slot per socket for the
 * ownership tags, the UMEM owner's socket parked until its UMEM goes, and
 * every buffer the kernel held given back to the pool at close. Control
 * path, under xdp_reg_lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_xdp.h>

#include "drivers/xdp/xdp_int.h"

/* The pool's region as a UMEM geometry, or -EINVAL with why. */
int xdp_pool_geom(const struct sl_spec *spec, struct sl_pool *pool,
		  struct sl_xsk_geom *g, uint32_t *headroom)
{
	uint32_t bs = pool->buf_size, hr = sl_pool_headroom(pool);
	long page = sysconf(_SC_PAGESIZE);

	if (!is_pow2(bs) || bs < 2048 || (long)bs > page)
		return sl_spec_fail(
			spec, EINVAL,
			"pool buffers of %u bytes cannot be a UMEM: AF_XDP "
			"(aligned mode) needs a power of two from 2048 to the "
			"page size (%ld); make the pool with buf_size 2048",
			bs, page);
	if ((uint8_t *)sl_region_base(sl_pool_region(pool)) != pool->base ||
	    ((uintptr_t)pool->base & (uintptr_t)(page - 1)))
		return sl_spec_fail(spec, EINVAL,
				    "the pool's buffers do not start on a "
				    "page: it cannot be a UMEM");
	*headroom = SL_PKT_META;
	if (hr > XDP_PACKET_HEADROOM_)
		*headroom += hr - XDP_PACKET_HEADROOM_;
	if (*headroom + XDP_PACKET_HEADROOM_ + 64 > bs)
		return sl_spec_fail(spec, EINVAL,
				    "pool headroom %u leaves no room for a "
				    "frame in a %u-byte UMEM chunk",
				    hr, bs);
	g->base = pool->base;
	g->chunk = bs;
	g->shift = log2u(bs);
	g->len = (uint64_t)pool->n_bufs << g->shift;
	return 0;
}

/*
 * The UMEM of this pool's region. The entry goes with the last port on the
 * pool (xdp_umem_put), so a pool destroyed after closing its ports leaves none;
 * the region is compared too, so that an entry left by a pool destroyed
 * with ports still open is never taken for a new pool malloc'ed at the same
 * address: the kernel pinned the old region's pages, not the new ones.
 */
struct xdp_umem *xdp_umem_find(struct sl_pool *pool,
			       const struct sl_xsk_geom *g)
{
	struct xdp_umem *u;

	for (u = xdp_umems; u; u = u->next)
		if (u->pool == pool && u->g.base == g->base &&
		    u->g.len == g->len && u->g.chunk == g->chunk)
			return u;
	return NULL;
}

static int slot_get(struct xdp_umem *u)
{
	int s;

	for (s = 1; s <= SL_XSK_MAX_SLOTS; s++)
		if (!u->slot_used[s]) {
			u->slot_used[s] = true;
			return s;
		}
	return -1;
}

/* Give the pool every buffer the kernel held for this socket (fill ring,
 * RX in flight, TX not completed). Only after the socket is gone. */
static void reclaim(struct xdp_q *q)
{
	const struct sl_xsk_geom *g = q->g;
	uint64_t i, n = g->len >> g->shift;

	for (i = 0; i < n; i++) {
		uint8_t o = g->owner[i];

		if (o && (o & ~SL_XSK_OWN_TX) == q->slot) {
			struct sl_pkt *p =
				(struct sl_pkt *)(g->base + (i << g->shift));

			g->owner[i] = SL_XSK_OWN_NONE;
			sl_pool_put_bulk(q->pool, &p, 1);
		}
	}
	q->in_fill = 0;
}

/* Close a queue's socket and give its buffers back. The UMEM owner's
 * socket shares the UMEM's fd, which libxdp keeps open (bound) until the
 * UMEM goes: it waits in u->parked and xdp_umem_release finishes it. Locked. */
void xdp_q_destroy(struct xdp_q *q)
{
	struct xdp_umem *u = q->um;
	libxdp_print_fn_t old;

	if (q->xsk) {
		xdp_reap(q);
		if (xsk_umem__fd(u->umem) == q->fd) {
			u->parked = q;
			return;
		}
		old = libxdp_set_print(xdp_libxdp_print);
		xsk_socket__delete(q->xsk); /* closes the fd: unbound */
		libxdp_set_print(old);
		q->xsk = NULL;
		reclaim(q);
	}
	u->slot_used[q->slot] = false;
	free(q);
}

/* Delete the UMEM and its owner socket, then give back what the owner's
 * rings held (only now is the kernel done with them). Locked. */
void xdp_umem_release(struct xdp_umem *u)
{
	struct xdp_q *o = u->parked;
	libxdp_print_fn_t old;

	old = libxdp_set_print(xdp_libxdp_print);
	if (o && o->xsk)
		xsk_socket__delete(o->xsk);
	if (u->umem)
		xsk_umem__delete(u->umem);
	libxdp_set_print(old);
	u->umem = NULL;
	u->parked = NULL;
	if (o) {
		o->xsk = NULL;
		reclaim(o);
		u->slot_used[o->slot] = false;
		free(o);
	}
}

void xdp_umem_free(struct xdp_umem *u)
{
	struct xdp_umem **pp;

	xdp_umem_release(u);
	for (pp = &xdp_umems; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	free(u->g.owner);
	free(u);
}

/* Drop one queue's reference to the UMEM; the last one deletes it. */
void xdp_umem_put(struct xdp_umem *u)
{
	if (--u->refs == 0)
		xdp_umem_free(u);
}

/* Register the pool's region as u's UMEM; q's fill and completion rings
 * become the UMEM's own (the first socket's). 0 or -errno. */
static int umem_create(struct xdp_umem *u, struct xdp_q *q)
{
	struct xsk_umem_config uc = {
		.fill_size = u->ring_size,
		.comp_size = u->ring_size,
		.frame_size = u->g.chunk,
		/* the kernel adds XDP_PACKET_HEADROOM: frames land where
		 * sl_pkt_reset puts data */
		.frame_headroom = u->headroom,
	};
	int err;

	err = xsk_umem__create(&u->umem, u->g.base, u->g.len, &q->fill,
			       &q->comp, &uc);
	if (err)
		u->umem = NULL;
	return err;
}

/* The parked owner's device went away: the kernel unbound its socket and
 * nothing can take it over, so its buffers come back now rather than with
 * the UMEM. Its fd is the UMEM's and stays open until then. Locked. */
static void parked_drop(struct xdp_umem *u)
{
	struct xdp_q *o = u->parked;
	libxdp_print_fn_t old;

	u->parked = NULL;
	old = libxdp_set_print(xdp_libxdp_print);
	xsk_socket__delete(o->xsk); /* the owner's: the fd is not closed */
	libxdp_set_print(old);
	o->xsk = NULL;
	reclaim(o);
	u->slot_used[o->slot] = false;
	free(o);
}

/*
 * Whether the parked owner is still bound to device queue dq of interface
 * pv->ifname in this namespace. The namespace inode alone could name
 * another namespace once the first is gone, and an ifindex another device:
 * the name must match and still have that index here, and the socket must
 * not have been told that its device went away (ENETDOWN, dropped then).
 * The parked socket pins its own namespace, so while it lives no other
 * namespace gets that inode. Locked.
 */
static bool parked_fits(struct xdp_umem *u, const struct xdp_priv *pv,
			uint32_t dq)
{
	struct xdp_q *q = u->parked;
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (!q)
		return false;
	if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
	    soerr) {
		sl_dbg("xdp:%s: parked socket of queue %u dropped: %s",
		       q->ifname, q->dev_queue, strerror(soerr));
		parked_drop(u);
		return false;
	}
	return q->ifindex == pv->ifindex && q->netns == xdp_netns_id() &&
	       q->dev_queue == dq && !strcmp(q->ifname, pv->ifname) &&
	       (int)if_nametoindex(pv->ifname) == q->ifindex;
}

#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 /* Linux 6.17 */
#endif
#define XDP_TX_BUDGET_OLD 32 /* net/xdp/xsk.c TX_BATCH_SIZE */

/*
 * How many frames one copy-mode sendto sends. Before Linux 6.17 the kernel
 * stops after 32 (TX_BATCH_SIZE), so a burst of 256 took eight system
 * calls; since 6.17 a socket may raise its own budget up to its TX ring
 * (XDP_MAX_TX_SKB_BUDGET), and one call sends a whole burst. An older
 * kernel refuses the option (ENOPROTOOPT): the kick then loops. Zero-copy
 * sockets send from the driver, whatever the budget.
 */
static uint32_t tx_budget(int fd, uint32_t ring, uint16_t bind_flags)
{
	unsigned b = ring;

	if (!(bind_flags & XDP_COPY))
		return ring;
	if (setsockopt(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &b, sizeof(b)) == 0)
		return ring;
	return XDP_TX_BUDGET_OLD;
}

/*
 * Make the socket of device queue dq on the UMEM u (a new UMEM's first
 * socket becomes its owner). For a new UMEM, bind_flags say copy or
 * zero-copy; shared sockets inherit the owner's. Returns 0 or -errno (the
 * errno of the step that failed, no message). Locked.
 */
int xdp_q_create(struct xdp_priv *pv, struct xdp_umem *u, uint32_t dq,
		 uint32_t ring, uint16_t bind_flags, struct xdp_q **out)
{
	struct xsk_socket_config sc = {
		.rx_size = ring,
		.tx_size = ring,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = bind_flags,
	};
	libxdp_print_fn_t old;
	struct xdp_q *q;
	int err, slot, tries;

	if (parked_fits(u, pv, dq)) {
		q = u->parked;
		/* the UMEM owner of a closed port, still bound to this very
		 * queue: take it over, fill ring and all */
		u->parked = NULL;
		u->refs++;
		q->busy_poll = false;
		q->rx_invalid_desc = q->tx_invalid_comp = 0;
		q->fill_recycled = 0;
		q->tx_copied = q->fill_ring_empty = q->wakeups = 0;
		q->tx_wakeups = q->tx_stall_kicks = 0;
		q->link_checks = 0;
		q->rx_mb_frames = q->rx_mb_invalid = q->rx_mb_too_long = 0;
		q->tx_mb_frames = q->tx_too_long = 0;
		q->mb.skip = 0;
		*out = q;
		return 0;
	}
	q = aligned_alloc(SL_CACHE_LINE, sizeof(*q));
	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	slot = slot_get(u);
	if (slot < 0) {
		free(q);
		return -ENOSPC;
	}
	q->slot = (uint8_t)slot;
	q->um = u;
	q->g = &u->g;
	q->pool = u->pool;
	q->dev_queue = dq;
	q->ifindex = pv->ifindex;
	q->netns = xdp_netns_id();
	sl_strlcpy(q->ifname, pv->ifname, sizeof(q->ifname));
	q->max_copy = u->g.chunk - SL_PKT_META - sl_pool_headroom(u->pool);
	old = libxdp_set_print(xdp_libxdp_print);
	for (tries = 0;; tries++) {
		bool made = false;

		if (!u->umem) {
			err = umem_create(u, q);
			if (err)
				goto fail;
			made = true;
		}
		err = xsk_socket__create_shared(&q->xsk, pv->ifname, dq,
						u->umem, &q->rx, &q->tx,
						&q->fill, &q->comp, &sc);
		if (!err)
			break;
		q->xsk = NULL;
		/* multi-buffer frames: Linux 6.6 knows XDP_USE_SG, and a
		 * zero-copy driver must offer it (xdp_zc_max_segs); where
		 * refused the UMEM goes on without, a chunk per frame */
		if (made && (sc.bind_flags & XDP_USE_SG) &&
		    (err == -EINVAL || err == -EOPNOTSUPP)) {
			xsk_umem__delete(u->umem);
			u->umem = NULL;
			sc.bind_flags &= (uint16_t)~XDP_USE_SG;
			u->sg_refused = true;
			u->sg_err = -err;
			tries--;
			continue;
		}
		/* A socket of a process that just died (or just closed)
		 * keeps its queue until the kernel's deferred release runs:
		 * wait for it a little rather than fail. libxdp cannot retry
		 * a bind on a UMEM's own socket, so a new UMEM starts over. */
		if (made) {
			/* unmaps the fill and completion rings too (libxdp
			 * 1.3: xdp-tools#177), closes the owner's fd */
			xsk_umem__delete(u->umem);
			u->umem = NULL;
		}
		if (err != -EBUSY || tries >= BUSY_RETRIES)
			goto fail;
		usleep(BUSY_WAIT_US);
	}
	if (tries)
		sl_dbg("xdp:%s: queue %u was busy for %d ms", pv->ifname, dq,
		       tries * BUSY_WAIT_US / 1000);
	libxdp_set_print(old);
	/* the owner's bind decides for the UMEM: sockets sharing it
	 * inherit its multi-buffer flag (the kernel's XDP_UMEM_SG_FLAG) */
	if (xsk_umem__fd(u->umem) == xsk_socket__fd(q->xsk))
		u->sg = (sc.bind_flags & XDP_USE_SG) != 0;
	q->max_tx = u->sg ? q->max_copy * XDP_TX_MAX_FRAGS : q->max_copy;
	q->fd = xsk_socket__fd(q->xsk);
	q->tx_budget = tx_budget(q->fd, ring, bind_flags);
	u->refs++;
	*out = q;
	return 0;
fail:
	libxdp_set_print(old);
	u->slot_used[q->slot] = false;
	free(q);
	return err;
}
