/* SPDX-License-Identifier: MIT */
/*
 * Memory regions and packet buffer pools.
 *
 * A region is one contiguous mapping, on 2 MiB hugepages when the host has
 * them reserved and on ordinary pages otherwise, locked in memory; it says
 * which it got and why (sl_region_note). A pool cuts a region into
 * fixed-size buffers, each starting with its struct sl_pkt. For AF_XDP the
 * region is the UMEM.
 *
 * Pools have a per-thread cache (indexed by sl_thread_index()) in front of a
 * shared store: get and put touch only the caller's cache until it runs
 * empty or over full, then move half a cache at a time. sl_pool_avail counts
 * every free buffer, cached or not, so tests can check that a scenario gave
 * back all it took. In debug mode (SL_POOL_F_DEBUG, or SLUICE_DEBUG=1 in the
 * environment when the pool is made) a buffer freed twice, or freed into a
 * pool it does not belong to, is caught, counted and not taken back.
 */
#ifndef SLUICE_MEM_H
#define SLUICE_MEM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sluice/core.h>
#include <sluice/pkt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- regions ---------------------------------------------------------- */

struct sl_region;

enum sl_huge {
	SL_HUGE_AUTO = 0, /* 2 MiB pages if reserved, else ordinary pages */
	SL_HUGE_NEVER, /* ordinary pages */
	SL_HUGE_REQUIRE, /* fail with ENOMEM when hugepages are not there */
};

struct sl_region_opts {
	size_t sz; /* sizeof(struct sl_region_opts) */
	enum sl_huge huge;
	bool no_lock; /* do not mlock (locking failures are never fatal) */
};

/* Map len bytes (rounded up to the page size used). opts may be NULL.
 * Returns NULL with errno set on failure. Control path, thread-safe. */
SL_API struct sl_region *sl_region_create(size_t len,
					  const struct sl_region_opts *opts);
SL_API void sl_region_destroy(struct sl_region *r);
SL_API void *sl_region_base(const struct sl_region *r);
SL_API size_t sl_region_len(const struct sl_region *r);
/* Page size backing the region: 2 MiB or the base page size. */
SL_API size_t sl_region_page_size(const struct sl_region *r);
SL_API bool sl_region_is_huge(const struct sl_region *r);
SL_API bool sl_region_is_locked(const struct sl_region *r);
/* Why the region is not on hugepages or not locked, with the command that
 * fixes it; "" when it got both. */
SL_API const char *sl_region_note(const struct sl_region *r);

/* ---- pools ------------------------------------------------------------ */

#define SL_POOL_F_DEBUG (1u << 0) /* catch double and foreign frees */
#define SL_POOL_F_NO_CACHE (1u << 1) /* no per-thread caches */

#define SL_POOL_CACHE_MAX 512

struct sl_pool_opts {
	size_t sz; /* sizeof(struct sl_pool_opts) */
	uint32_t n_bufs; /* default 4096 */
	uint32_t buf_size; /* bytes per buffer, metadata included: default
			    * SL_PKT_BUF_SIZE; a multiple of 64, 256..65536 */
	uint32_t headroom; /* default SL_PKT_HEADROOM */
	uint32_t cache_size; /* per-thread cache, default 256, at most
			      * SL_POOL_CACHE_MAX */
	unsigned flags; /* SL_POOL_F_* */
	enum sl_huge huge; /* how to back the pool's own region */
	const char *name; /* for messages */
};

struct sl_pool_stats {
	uint64_t double_free; /* debug mode: buffers freed while free */
	uint64_t foreign_free; /* debug mode: buffers not from this pool */
	uint64_t get_fail; /* bulk gets refused for lack of buffers */
};

/* Per-thread cache; internal, exposed for the inline fast path. */
struct sl_pool_cache {
	uint32_t len;
	uint32_t rsvd[15];
	struct sl_pkt *objs[2 * SL_POOL_CACHE_MAX];
} SL_CACHE_ALIGNED;

/* Internal, exposed for the inline fast path: use the functions. */
struct sl_pool {
	uint8_t *base; /* first buffer */
	uint32_t buf_size;
	uint32_t n_bufs;
	uint32_t cache_size; /* 0: no caches */
	uint32_t flags;
	struct sl_pool_cache *caches; /* SL_MAX_THREADS of them */
	struct sl_pool_priv *priv; /* shared store, region, stats */
};

/* Make a pool with its own region. NULL with errno set on failure (message
 * in sl_last_error()). opts may be NULL for the defaults. Control path. */
SL_API struct sl_pool *sl_pool_create(const struct sl_pool_opts *opts);
/* Release the pool and its region. Buffers still out are lost with it. */
SL_API void sl_pool_destroy(struct sl_pool *p);

/* Free buffers, cached ones included. Exact when no other thread is using
 * the pool; thread-safe. */
SL_API unsigned sl_pool_avail(const struct sl_pool *p);
SL_API unsigned sl_pool_capacity(const struct sl_pool *p);
SL_API void sl_pool_get_stats(const struct sl_pool *p,
			      struct sl_pool_stats *out);
SL_API struct sl_region *sl_pool_region(const struct sl_pool *p);
SL_API uint32_t sl_pool_headroom(const struct sl_pool *p);
/* Give the calling thread's cached buffers back to the shared store. */
SL_API void sl_pool_cache_flush(struct sl_pool *p);

/* Slow paths of the inline calls below (store access, debug checks). */
SL_API int sl_pool_get_bulk_slow(struct sl_pool *p, struct sl_pkt **pkts,
				 unsigned n);
SL_API void sl_pool_put_bulk_slow(struct sl_pool *p, struct sl_pkt *const *pkts,
				  unsigned n);
SL_API int sl_pool_cache_refill(struct sl_pool *p, struct sl_pool_cache *c,
				unsigned n);
SL_API void sl_pool_cache_spill(struct sl_pool *p, struct sl_pool_cache *c);

static inline struct sl_pool_cache *sl_pool_cache_of(struct sl_pool *p,
						     unsigned t)
{
	return &p->caches[t];
}

/*
 * Take exactly n buffers (all or none): 0, or -ENOBUFS with nothing taken.
 * The buffers are not reset: see sl_pkt_alloc_bulk. Fast path, thread-safe.
 */
static inline int sl_pool_get_bulk(struct sl_pool *p, struct sl_pkt **pkts,
				   unsigned n)
{
	unsigned t = sl_thread_index();
	struct sl_pool_cache *c;
	struct sl_pkt **src;
	unsigned i, len;

	if (sl_unlikely(t >= SL_MAX_THREADS || n > p->cache_size ||
			(p->flags & SL_POOL_F_DEBUG)))
		return sl_pool_get_bulk_slow(p, pkts, n);
	c = sl_pool_cache_of(p, t);
	if (sl_unlikely(c->len < n) && sl_pool_cache_refill(p, c, n) < 0)
		return -ENOBUFS;
	len = c->len;
	/* last in, first out: the most recently freed buffers are cache-hot.
	 * A pointer walk (not objs[len - 1 - i] with a 32-bit index) lets the
	 * compiler vectorise the copy. */
	src = &c->objs[len];
	for (i = 0; i < n; i++)
		pkts[i] = *--src;
	c->len = len - n;
	return 0;
}

/* Give back n buffers, all from this pool. Fast path, thread-safe. */
static inline void sl_pool_put_bulk(struct sl_pool *p,
				    struct sl_pkt *const *pkts, unsigned n)
{
	unsigned t = sl_thread_index();
	struct sl_pool_cache *c;

	if (sl_unlikely(t >= SL_MAX_THREADS || n > p->cache_size ||
			(p->flags & SL_POOL_F_DEBUG))) {
		sl_pool_put_bulk_slow(p, pkts, n);
		return;
	}
	c = sl_pool_cache_of(p, t);
	memcpy(&c->objs[c->len], pkts, n * sizeof(*pkts));
	c->len += n;
	if (sl_unlikely(c->len > p->cache_size))
		sl_pool_cache_spill(p, c);
}

/* Buffer number idx of the pool (no check). */
static inline struct sl_pkt *sl_pool_pkt(const struct sl_pool *p, uint32_t idx)
{
	return (struct sl_pkt *)(p->base + (size_t)idx * p->buf_size);
}

/* Take n reset buffers (all or none): 0 or -ENOBUFS. Fast path. */
static inline int sl_pkt_alloc_bulk(struct sl_pool *p, struct sl_pkt **pkts,
				    unsigned n)
{
	unsigned i;

	if (sl_unlikely(sl_pool_get_bulk(p, pkts, n) != 0))
		return -ENOBUFS;
	for (i = 0; i < n; i++)
		sl_pkt_reset(pkts[i]);
	return 0;
}

/* One reset buffer, or NULL when the pool is empty. Fast path. */
static inline struct sl_pkt *sl_pkt_alloc(struct sl_pool *p)
{
	struct sl_pkt *pkt;

	if (sl_unlikely(sl_pool_get_bulk(p, &pkt, 1) != 0))
		return NULL;
	sl_pkt_reset(pkt);
	return pkt;
}

static inline void sl_pkt_free(struct sl_pkt *pkt)
{
	sl_pool_put_bulk(pkt->pool, &pkt, 1);
}

/* Free n packets that may come from different pools (each run of packets
 * from one pool goes back in one call). Fast path. */
static inline void sl_pkt_free_bulk(struct sl_pkt *const *pkts, unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		struct sl_pool *p = pkts[i]->pool;
		unsigned j = i + 1;

		while (j < n && pkts[j]->pool == p && j - i < p->cache_size)
			j++;
		sl_pool_put_bulk(p, pkts + i, j - i);
		i = j;
	}
}

/* A copy of pkt's frame in a fresh buffer of pool p (same headroom offset,
 * port, queue, timestamp and flags), or NULL when p is empty or the frame
 * does not fit. Fast path. */
static inline struct sl_pkt *sl_pkt_clone(struct sl_pool *p,
					  const struct sl_pkt *pkt)
{
	struct sl_pkt *c = sl_pkt_alloc(p);

	if (!c)
		return NULL;
	if (sl_pkt_set(c, pkt->data, pkt->len) != 0) {
		sl_pkt_free(c);
		return NULL;
	}
	c->port = pkt->port;
	c->queue = pkt->queue;
	c->rx_ts = pkt->rx_ts;
	c->flags = pkt->flags;
	return c;
}

#ifdef __cplusplus
}
#endif
#endif
