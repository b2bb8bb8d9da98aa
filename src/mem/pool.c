// SPDX-License-Identifier: MIT
/*
 * Packet buffer pools.
 *
 * The buffers live in one region; each starts with its struct sl_pkt, set up
 * once here (pool, index, room, headroom) so the fast path only resets data
 * and length. Free buffers sit in per-thread caches (inline code in mem.h)
 * in front of a shared store, a stack under a spinlock: a thread goes to
 * the store only when its cache runs empty or over full, and then moves
 * half a cache at once, so the lock is taken once per cache_size/2 buffers
 * at worst. A stack rather than a FIFO hands back recently used, cache-warm
 * buffers first.
 *
 * Debug mode bypasses the caches so that every free is checked against the
 * buffer's state byte: a double free or a buffer from elsewhere is counted,
 * reported through the log callback, and not taken back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sluice/mem.h>

#include "core/log.h"
#include "core/opts.h"
#include "core/registry.h"

struct sl_pool_priv {
	pthread_spinlock_t lock; /* guards stack and n_free */
	uint32_t n_free;
	struct sl_pkt **stack;
	struct sl_region *region;
	uint32_t headroom;
	size_t caches_len;
	_Atomic uint64_t double_free;
	_Atomic uint64_t foreign_free;
	_Atomic uint64_t get_fail;
	char name[32];
};

/* Debug builds check every free; others when SLUICE_DEBUG=1 says so. */
static bool env_debug(void)
{
	const char *v = getenv("SLUICE_DEBUG");

#ifdef SL_DEBUG
	if (!v)
		return true;
#endif
	return v && *v && strcmp(v, "0") != 0;
}

struct sl_pool *sl_pool_create(const struct sl_pool_opts *opts)
{
	struct sl_pool_opts o = { 0 };
	struct sl_region_opts ro = { .sz = sizeof(ro) };
	struct sl_pool_priv *pv;
	struct sl_pool *p;
	uint32_t i;
	int err;

	if (sl_opts_in(&o, sizeof(o), opts, "sl_pool_create", "sl_pool_opts"))
		return NULL;
	if (!o.n_bufs)
		o.n_bufs = 4096;
	if (!o.buf_size)
		o.buf_size = SL_PKT_BUF_SIZE;
	if (!o.headroom)
		o.headroom = SL_PKT_HEADROOM;
	if (!o.cache_size && !(o.flags & SL_POOL_F_NO_CACHE))
		o.cache_size = 256;
	if (o.flags & SL_POOL_F_NO_CACHE)
		o.cache_size = 0;
	if (!o.name)
		o.name = "pool";
	if (env_debug())
		o.flags |= SL_POOL_F_DEBUG;

	if (o.buf_size % SL_CACHE_LINE || o.buf_size < 256 ||
	    o.buf_size > 65536) {
		sl_fail(EINVAL,
			"pool %s: buffer size %u: must be a multiple of 64 from 256 to 65536",
			o.name, o.buf_size);
		return NULL;
	}
	if (o.headroom > o.buf_size - SL_PKT_META - 64) {
		sl_fail(EINVAL,
			"pool %s: headroom %u leaves less than 64 bytes of a %u-byte buffer",
			o.name, o.headroom, o.buf_size);
		return NULL;
	}
	if (o.n_bufs > (1u << 24)) {
		sl_fail(EINVAL, "pool %s: %u buffers: at most %u", o.name,
			o.n_bufs, 1u << 24);
		return NULL;
	}
	if (o.cache_size > SL_POOL_CACHE_MAX) {
		sl_fail(EINVAL, "pool %s: cache size %u: at most %u", o.name,
			o.cache_size, SL_POOL_CACHE_MAX);
		return NULL;
	}

	p = calloc(1, sizeof(*p));
	pv = calloc(1, sizeof(*pv));
	if (pv)
		pv->stack = calloc(o.n_bufs, sizeof(*pv->stack));
	if (p)
		p->priv = pv;
	if (!p || !pv || !pv->stack)
		goto nomem;
	pthread_spin_init(&pv->lock, PTHREAD_PROCESS_PRIVATE);
	sl_strlcpy(pv->name, o.name, sizeof(pv->name));
	pv->headroom = o.headroom;

	ro.huge = o.huge;
	pv->region = sl_region_create((size_t)o.n_bufs * o.buf_size, &ro);
	if (!pv->region) {
		char why[512];

		sl_strlcpy(why, sl_last_error(), sizeof(why));
		sl_fail(errno, "pool %s: %s", o.name, why);
		goto fail;
	}
	if (o.cache_size) {
		/* mmap: zeroed, and only the caches of threads that use the
		 * pool are ever touched */
		pv->caches_len = SL_MAX_THREADS * sizeof(struct sl_pool_cache);
		p->caches = mmap(NULL, pv->caches_len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p->caches == MAP_FAILED) {
			p->caches = NULL;
			goto nomem;
		}
	}
	p->base = sl_region_base(pv->region);
	p->buf_size = o.buf_size;
	p->n_bufs = o.n_bufs;
	p->cache_size = o.cache_size;
	p->flags = o.flags;

	for (i = 0; i < o.n_bufs; i++) {
		struct sl_pkt *pkt = sl_pool_pkt(p, i);

		pkt->pool = p;
		pkt->idx = i;
		pkt->room = (uint16_t)(o.buf_size - SL_PKT_META);
		pkt->headroom0 = (uint16_t)o.headroom;
		pkt->state = SL_PKT_STATE_FREE;
		sl_pkt_reset(pkt);
		/* buffer 0 on top: handed out first */
		pv->stack[o.n_bufs - 1 - i] = pkt;
	}
	pv->n_free = o.n_bufs;
	sl_reg_add(SL_REG_POOL, p, o.name); /* for telemetry */
	return p;

nomem:
	sl_fail(ENOMEM, "pool %s: out of memory for %u buffers", o.name,
		o.n_bufs);
fail:
	err = errno ? errno : ENOMEM;
	if (p) {
		sl_pool_destroy(p);
	} else if (pv) {
		free(pv->stack);
		free(pv);
	}
	errno = err;
	return NULL;
}

void sl_pool_destroy(struct sl_pool *p)
{
	struct sl_pool_priv *pv;

	if (!p)
		return;
	sl_reg_del(p); /* first: waits out a telemetry read of it */
	pv = p->priv;
	if (pv) {
		if (p->caches)
			munmap(p->caches, pv->caches_len);
		sl_region_destroy(pv->region);
		free(pv->stack);
		pthread_spin_destroy(&pv->lock);
		free(pv);
	}
	free(p);
}

/* Move up to n buffers from the store to dst; returns how many. */
static unsigned store_take(struct sl_pool_priv *pv, struct sl_pkt **dst,
			   unsigned n)
{
	pthread_spin_lock(&pv->lock);
	if (n > pv->n_free)
		n = pv->n_free;
	pv->n_free -= n;
	memcpy(dst, &pv->stack[pv->n_free], n * sizeof(*dst));
	pthread_spin_unlock(&pv->lock);
	return n;
}

static void store_give(struct sl_pool_priv *pv, struct sl_pkt *const *src,
		       unsigned n)
{
	pthread_spin_lock(&pv->lock);
	memcpy(&pv->stack[pv->n_free], src, n * sizeof(*src));
	pv->n_free += n;
	pthread_spin_unlock(&pv->lock);
}

int sl_pool_cache_refill(struct sl_pool *p, struct sl_pool_cache *c, unsigned n)
{
	/* refill to half a cache beyond what this call needs */
	unsigned want = p->cache_size / 2 + n - c->len;

	c->len += store_take(p->priv, &c->objs[c->len], want);
	if (c->len < n) {
		atomic_fetch_add_explicit(&p->priv->get_fail, 1,
					  memory_order_relaxed);
		return -ENOBUFS;
	}
	return 0;
}

void sl_pool_cache_spill(struct sl_pool *p, struct sl_pool_cache *c)
{
	/* down to half a cache: the next frees and gets both have room */
	unsigned keep = p->cache_size / 2;

	store_give(p->priv, &c->objs[keep], c->len - keep);
	c->len = keep;
}

void sl_pool_cache_flush(struct sl_pool *p)
{
	unsigned t = sl_thread_index();
	struct sl_pool_cache *c;

	if (!p->cache_size || t >= SL_MAX_THREADS)
		return;
	c = sl_pool_cache_of(p, t);
	store_give(p->priv, c->objs, c->len);
	c->len = 0;
}

int sl_pool_get_bulk_slow(struct sl_pool *p, struct sl_pkt **pkts, unsigned n)
{
	struct sl_pool_priv *pv = p->priv;
	unsigned got, i;

	pthread_spin_lock(&pv->lock);
	if (pv->n_free < n) {
		pthread_spin_unlock(&pv->lock);
		/* what this thread caches counts too before saying no */
		sl_pool_cache_flush(p);
		pthread_spin_lock(&pv->lock);
		if (pv->n_free < n) {
			pthread_spin_unlock(&pv->lock);
			atomic_fetch_add_explicit(&pv->get_fail, 1,
						  memory_order_relaxed);
			return -ENOBUFS;
		}
	}
	pthread_spin_unlock(&pv->lock);
	got = store_take(pv, pkts, n);
	if (got < n) { /* another thread got there first */
		store_give(pv, pkts, got);
		atomic_fetch_add_explicit(&pv->get_fail, 1,
					  memory_order_relaxed);
		return -ENOBUFS;
	}
	if (p->flags & SL_POOL_F_DEBUG)
		for (i = 0; i < n; i++)
			pkts[i]->state = SL_PKT_STATE_USED;
	return 0;
}

/* In debug mode: is pkt one of p's buffers, and in use? */
static bool debug_check(struct sl_pool *p, struct sl_pkt *pkt)
{
	struct sl_pool_priv *pv = p->priv;
	uintptr_t off = (uintptr_t)pkt - (uintptr_t)p->base;

	if ((uintptr_t)pkt < (uintptr_t)p->base ||
	    off >= (uintptr_t)p->n_bufs * p->buf_size || off % p->buf_size) {
		atomic_fetch_add_explicit(&pv->foreign_free, 1,
					  memory_order_relaxed);
		sl_warn("pool %s: free of %p, which is not one of its buffers",
			pv->name, (void *)pkt);
		return false;
	}
	if (pkt->state != SL_PKT_STATE_USED) {
		atomic_fetch_add_explicit(&pv->double_free, 1,
					  memory_order_relaxed);
		sl_warn("pool %s: buffer %u freed twice", pv->name,
			(unsigned)(off / p->buf_size));
		return false;
	}
	pkt->state = SL_PKT_STATE_FREE;
	return true;
}

void sl_pool_put_bulk_slow(struct sl_pool *p, struct sl_pkt *const *pkts,
			   unsigned n)
{
	struct sl_pool_priv *pv = p->priv;
	unsigned i;

	if (!(p->flags & SL_POOL_F_DEBUG)) {
		store_give(pv, pkts, n);
		return;
	}
	/* one at a time: a bad entry must not stop the good ones */
	for (i = 0; i < n; i++)
		if (debug_check(p, pkts[i]))
			store_give(pv, &pkts[i], 1);
}

unsigned sl_pool_avail(const struct sl_pool *p)
{
	struct sl_pool_priv *pv = p->priv;
	unsigned n, t;

	pthread_spin_lock(&pv->lock);
	n = pv->n_free;
	pthread_spin_unlock(&pv->lock);
	if (p->caches)
		for (t = 0; t < SL_MAX_THREADS; t++)
			n += __atomic_load_n(&p->caches[t].len,
					     __ATOMIC_RELAXED);
	return n;
}

unsigned sl_pool_capacity(const struct sl_pool *p)
{
	return p->n_bufs;
}

void sl_pool_get_stats(const struct sl_pool *p, struct sl_pool_stats *out)
{
	struct sl_pool_priv *pv = p->priv;

	out->double_free = atomic_load(&pv->double_free);
	out->foreign_free = atomic_load(&pv->foreign_free);
	out->get_fail = atomic_load(&pv->get_fail);
}

struct sl_region *sl_pool_region(const struct sl_pool *p)
{
	return p->priv->region;
}

uint32_t sl_pool_headroom(const struct sl_pool *p)
{
	return p->priv->headroom;
}
