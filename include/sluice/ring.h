/* SPDX-License-Identifier: MIT */
/*
 * Lock-free rings of pointers: bounded, a power of two in size, single- or
 * multi-producer and single- or multi-consumer, chosen when the ring is made.
 *
 * Each side (producer, consumer) has its public tail (what the other side
 * may use), its head (multi mode only: what has been reserved), and a private
 * copy of the other side's tail. A side reads the other's tail, a cache line
 * that moves between cores, only when its copy says there is not enough room
 * or items: in a steady stream most calls touch only their own lines and the
 * slots (the libxdp xsk.h habit).
 *
 * Positions are free-running 32-bit counters; a slot is pos & mask, so a
 * ring of size N holds N items, and "used" is prod.tail - cons.tail modulo
 * 2^32. Multi-producer (consumer) sides reserve with a compare-and-swap on
 * head, copy, then wait for earlier reservations to publish before moving
 * tail past theirs (DPDK rte_ring's algorithm). Single sides skip the CAS:
 * their tail is the only position they need.
 *
 * The enqueue/dequeue calls are the fast path: static inline, no locks, no
 * allocation, no system calls, counts rather than errors.
 */
#ifndef SLUICE_RING_H
#define SLUICE_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_RING_SP_ENQ (1u << 0) /* one producer thread at a time */
#define SL_RING_SC_DEQ (1u << 1) /* one consumer thread at a time */

#define SL_RING_SIZE_MAX (1u << 28) /* slots; keeps positions far from 2^31 */

/*
 * Make a ring of size slots (a power of two, 1..SL_RING_SIZE_MAX); it holds
 * size items. flags: SL_RING_SP_ENQ, SL_RING_SC_DEQ; without them any number
 * of threads may enqueue (dequeue) at once. Returns NULL with errno set
 * (EINVAL for a bad size or flag, ENOMEM); the message is in sl_last_error().
 * Control path, thread-safe.
 */
SL_API struct sl_ring *sl_ring_create(unsigned size, unsigned flags);

/* Free the ring. Items still in it are the caller's to account for. */
SL_API void sl_ring_destroy(struct sl_ring *r);

/* Most items the ring holds (its size). */
SL_API unsigned sl_ring_capacity(const struct sl_ring *r);

/* ---- internal, exposed for the inline fast path: use the functions ---- */

#define SL_RING_SIDE_ALIGN (2 * SL_CACHE_LINE)

/*
 * One side of the ring, on two line pairs (128 bytes: Intel's adjacent-line
 * prefetcher pulls lines in pairs, which would make neighbours falsely
 * share). The first holds what only this side's threads touch: head (the
 * CAS target), the copy of the other side's tail, and constants. The second
 * holds tail, which the other side polls. Apart, the other side's polling
 * does not take away the line this side reads and writes on every call;
 * together (as in rte_ring), the two-thread SP/SC benchmark row was about
 * a fifth slower here.
 */
struct sl_ring_side {
	uint32_t head; /* multi mode: positions before it are reserved */
	uint32_t other; /* last tail seen of the other side (never ahead) */
	uint32_t lim; /* producer: capacity; consumer: 0 (see sl_ring_room_) */
	uint32_t mask; /* size - 1 */
	uint32_t size;
	uint32_t single; /* SP/SC: one thread at a time, no CAS */
	/* positions before it are published to the other side */
	uint32_t tail __attribute__((aligned(SL_RING_SIDE_ALIGN)));
} __attribute__((aligned(SL_RING_SIDE_ALIGN)));

struct sl_ring {
	struct sl_ring_side prod;
	struct sl_ring_side cons;
	uint32_t flags;
	void *slots[] __attribute__((aligned(SL_RING_SIDE_ALIGN)));
};

#define SL_RING_INLINE static inline __attribute__((always_inline))

/* Be kind to the sibling hyper-thread while spinning on another thread. */
SL_RING_INLINE void sl_ring_relax_(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * Room this side may use from pos, given tail `other` of the other side:
 * free slots for the producer (lim = capacity), items for the consumer
 * (lim = 0). Signed: a stale `other` (multi mode) can make it negative, and
 * a stale value must only ever look like less room, never wrap into more.
 */
SL_RING_INLINE int32_t sl_ring_room_(const struct sl_ring_side *s,
				     uint32_t other, uint32_t pos)
{
	return (int32_t)(s->lim + other - pos);
}

/*
 * Room at pos for a single-thread side, refreshing the private copy of the
 * other side's tail only when it does not cover n.
 */
SL_RING_INLINE uint32_t sl_ring_room_single_(struct sl_ring_side *s,
					     const struct sl_ring_side *o,
					     uint32_t pos, unsigned n)
{
	int32_t room = sl_ring_room_(s, s->other, pos);

	if (sl_unlikely(room < 0 || (uint32_t)room < n)) {
		/*
		 * Acquire pairs with the release store of the other side's
		 * tail: for the producer, the consumer has finished reading
		 * the slots it hands back before we overwrite them; for the
		 * consumer, the producer's slot writes are visible before we
		 * read them. Later calls that use the copy come after this
		 * load in program order, so they are covered too.
		 */
		s->other = __atomic_load_n(&o->tail, __ATOMIC_ACQUIRE);
		room = sl_ring_room_(s, s->other, pos);
	}
	return (uint32_t)room;
}

/*
 * Multi-thread side: reserve up to n positions (exactly n if fixed) by moving
 * head with a CAS. Returns how many, and the first in *start.
 */
SL_RING_INLINE unsigned sl_ring_reserve_multi_(struct sl_ring_side *s,
					       const struct sl_ring_side *o,
					       unsigned n, bool fixed,
					       uint32_t *start)
{
	uint32_t head, other;
	int32_t room;
	unsigned m;

	/*
	 * Acquire orders this load before the loads of the other side's tail
	 * below, so that (head aside) room is computed from a tail at least as
	 * new as the head. The CAS would catch a stale head anyway.
	 */
	head = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
	do {
		/*
		 * The shared copy of the other side's tail is written by any
		 * thread of this side, release after its acquire load of the
		 * tail; our acquire here pairs with that store, which chains
		 * us to the other side's release of the tail (see below).
		 * Writers may race and leave an older value: harmless, a
		 * stale tail only looks like less room.
		 */
		other = __atomic_load_n(&s->other, __ATOMIC_ACQUIRE);
		room = sl_ring_room_(s, other, head);
		if (sl_unlikely(room < 0 || (uint32_t)room < n)) {
			/* pairs with the other side's release store of tail */
			other = __atomic_load_n(&o->tail, __ATOMIC_ACQUIRE);
			__atomic_store_n(&s->other, other, __ATOMIC_RELEASE);
			room = sl_ring_room_(s, other, head);
		}
		if (room <= 0)
			return 0;
		m = (uint32_t)room < n ? (uint32_t)room : n;
		if (fixed && m < n)
			return 0;
		/*
		 * Relaxed is enough: the CAS only divides positions between
		 * threads of this side; what the slots hold is published by
		 * the release store of tail. On failure head is reloaded.
		 */
	} while (!__atomic_compare_exchange_n(&s->head, &head, head + m, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	*start = head;
	return m;
}

/*
 * Multi-thread side: publish [start, start + n) once every earlier
 * reservation of this side has been published, so tail only ever covers
 * finished copies.
 */
SL_RING_INLINE void sl_ring_publish_multi_(struct sl_ring_side *s,
					   uint32_t start, unsigned n)
{
	/*
	 * Acquire pairs with the release store of the thread that published
	 * up to start: its slot accesses then happen before our release
	 * below, so the other side, acquiring our tail, sees them too.
	 */
	while (__atomic_load_n(&s->tail, __ATOMIC_ACQUIRE) != start)
		sl_ring_relax_();
	/* pairs with the other side's acquire load of this tail */
	__atomic_store_n(&s->tail, start + n, __ATOMIC_RELEASE);
}

/*
 * Copy n pointers: 8 at a time with a fixed-size memcpy, which compiles to a
 * few vector moves (no call), then one by one for the rest. (Fixed 4- and
 * 2-pointer steps for the rest would be a little faster but make GCC warn,
 * -Warray-bounds, in callers whose arrays are shorter than 4.)
 */
SL_RING_INLINE void sl_ring_copy_(void **dst, void *const *src, unsigned n)
{
	for (; n >= 8; n -= 8, dst += 8, src += 8)
		__builtin_memcpy(dst, src, 8 * sizeof(void *));
	for (; n; n--)
		*dst++ = *src++;
}

/* Copy n items into the slots from position pos, wrapping at the end. */
SL_RING_INLINE void sl_ring_copy_in_(struct sl_ring *r, uint32_t pos,
				     void *const *objs, unsigned n)
{
	uint32_t idx = pos & r->prod.mask, first = r->prod.size - idx;

	if (sl_likely(n <= first)) {
		sl_ring_copy_(&r->slots[idx], objs, n);
		return;
	}
	sl_ring_copy_(&r->slots[idx], objs, first);
	sl_ring_copy_(r->slots, objs + first, n - first);
}

/* Copy n items out of the slots from position pos, wrapping at the end. */
SL_RING_INLINE void sl_ring_copy_out_(struct sl_ring *r, uint32_t pos,
				      void **objs, unsigned n)
{
	uint32_t idx = pos & r->cons.mask, first = r->cons.size - idx;

	if (sl_likely(n <= first)) {
		sl_ring_copy_(objs, &r->slots[idx], n);
		return;
	}
	sl_ring_copy_(objs, &r->slots[idx], first);
	sl_ring_copy_(objs + first, r->slots, n - first);
}

SL_RING_INLINE unsigned sl_ring_enqueue_(struct sl_ring *r, void *const *objs,
					 unsigned n, bool fixed)
{
	struct sl_ring_side *s = &r->prod;
	uint32_t pos;
	unsigned room;

	if (s->single) {
		/* only this thread writes prod.tail: a plain read of our own */
		pos = __atomic_load_n(&s->tail, __ATOMIC_RELAXED);
		room = sl_ring_room_single_(s, &r->cons, pos, n);
		if (room < n) {
			if (fixed || room == 0)
				return 0;
			n = room;
		}
		sl_ring_copy_in_(r, pos, objs, n);
		/* pairs with the consumer's acquire load of prod.tail */
		__atomic_store_n(&s->tail, pos + n, __ATOMIC_RELEASE);
		return n;
	}
	n = sl_ring_reserve_multi_(s, &r->cons, n, fixed, &pos);
	if (n == 0)
		return 0;
	sl_ring_copy_in_(r, pos, objs, n);
	sl_ring_publish_multi_(s, pos, n);
	return n;
}

SL_RING_INLINE unsigned sl_ring_dequeue_(struct sl_ring *r, void **objs,
					 unsigned n, bool fixed)
{
	struct sl_ring_side *s = &r->cons;
	uint32_t pos;
	unsigned room;

	if (s->single) {
		/* only this thread writes cons.tail: a plain read of our own */
		pos = __atomic_load_n(&s->tail, __ATOMIC_RELAXED);
		room = sl_ring_room_single_(s, &r->prod, pos, n);
		if (room < n) {
			if (fixed || room == 0)
				return 0;
			n = room;
		}
		sl_ring_copy_out_(r, pos, objs, n);
		/*
		 * Pairs with the producer's acquire load of cons.tail: our
		 * reads of the slots are done before it may overwrite them.
		 */
		__atomic_store_n(&s->tail, pos + n, __ATOMIC_RELEASE);
		return n;
	}
	n = sl_ring_reserve_multi_(s, &r->prod, n, fixed, &pos);
	if (n == 0)
		return 0;
	sl_ring_copy_out_(r, pos, objs, n);
	sl_ring_publish_multi_(s, pos, n);
	return n;
}

/* ---- fast path -------------------------------------------------------- */

/*
 * Enqueue up to n items; returns how many (the first ones), 0 when full.
 * Thread-safe for any number of producers unless the ring is SL_RING_SP_ENQ.
 * Fast path.
 */
SL_RING_INLINE unsigned sl_ring_enqueue_burst(struct sl_ring *r,
					      void *const *objs, unsigned n)
{
	return sl_ring_enqueue_(r, objs, n, false);
}

/* Enqueue all n items or none: returns n or 0. Otherwise as above. */
SL_RING_INLINE unsigned sl_ring_enqueue_bulk(struct sl_ring *r,
					     void *const *objs, unsigned n)
{
	return sl_ring_enqueue_(r, objs, n, true);
}

/*
 * Dequeue up to n items, oldest first, into objs; returns how many, 0 when
 * empty. Thread-safe for any number of consumers unless the ring is
 * SL_RING_SC_DEQ. Fast path.
 */
SL_RING_INLINE unsigned sl_ring_dequeue_burst(struct sl_ring *r, void **objs,
					      unsigned n)
{
	return sl_ring_dequeue_(r, objs, n, false);
}

/* Dequeue exactly n items or none: returns n or 0. Otherwise as above. */
SL_RING_INLINE unsigned sl_ring_dequeue_bulk(struct sl_ring *r, void **objs,
					     unsigned n)
{
	return sl_ring_dequeue_(r, objs, n, true);
}

/*
 * Items in the ring. Exact when no enqueue or dequeue is running; while they
 * are, an estimate between 0 and the capacity. Thread-safe.
 */
static inline unsigned sl_ring_count(const struct sl_ring *r)
{
	/*
	 * cons.tail first (acquire keeps the second load after it): prod.tail
	 * read later is never behind it, so the difference cannot wrap.
	 */
	uint32_t c = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
	uint32_t p = __atomic_load_n(&r->prod.tail, __ATOMIC_RELAXED);
	uint32_t used = p - c;

	return used > r->prod.size ? r->prod.size : used;
}

/* Free slots: capacity - count. Same caveats. Thread-safe. */
static inline unsigned sl_ring_free_count(const struct sl_ring *r)
{
	return r->prod.size - sl_ring_count(r);
}

static inline bool sl_ring_empty(const struct sl_ring *r)
{
	return sl_ring_count(r) == 0;
}

static inline bool sl_ring_full(const struct sl_ring *r)
{
	return sl_ring_count(r) == r->prod.size;
}

#ifdef __cplusplus
}
#endif
#endif
