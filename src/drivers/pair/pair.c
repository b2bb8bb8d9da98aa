// SPDX-License-Identifier: MIT
/*
 * The pair driver: "pair:NAME/0" and "pair:NAME/1" are the two ends of an
 * in-process link, for tests and pipelines between threads.
 *
 * Each direction has one bounded single-producer/single-consumer ring
 * (sl_ring) of packet pointers per queue: nothing is copied, a packet keeps
 * its pool and goes back there when it is freed. A full ring is
 * back-pressure (tx takes fewer), never a loss. A process-wide registry,
 * under a mutex, finds pairs by name: the first end opened creates the
 * pair, the other attaches, and the pair goes away when both are closed.
 *
 * A receive here is only pointers, so everything per packet is done once,
 * by the sender, on lines it has just used: the checksum fill it asked
 * for, the receiver's port id and queue, the flags the receiver must not
 * inherit, and the receiver's counters, which count a packet when it lands
 * in the receiver's queue, as a NIC counts what reaches its receive ring
 * (struct link). The receiver touches a packet only to stamp a receive
 * time, when its port asked for them.
 *
 * When one end is closed the other's tx takes what it is given, frees it and
 * counts tx_errors (a peer that is gone is an error, not back-pressure that
 * would stall the sender forever). Packets in flight towards an end are
 * freed when it closes. Packets in flight from an end that closes stay
 * deliverable; if they come from the closing port's own pool, the pair
 * keeps that pool alive (the port hands it over, an "orphan") until the
 * pair goes away.
 *
 * An end that closes and reopens over and over (a client reconnecting)
 * must not pile up orphans. An orphan cannot be freed early: its packets
 * may sit in the peer's hands or be in the middle of a free on the peer's
 * thread, and the pair sees neither (frees go straight to the pool). So a
 * reopening end that would make its own pool adopts an orphan of the same
 * shape instead: the orphan becomes its pool again (late frees of the old
 * packets land in it, as they would have), and the fresh pool, which no
 * packet can be from yet, is destroyed. Orphans then stay at one per end
 * as long as reopens ask for the same pool size.
 */
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/ring.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "port/driver.h"

/*
 * One direction of one queue: the ring, and the packets and bytes ever put
 * in it. Those are the receiving end's receive counters, counted when a
 * packet lands in its queue, as a NIC counts what reaches its receive ring
 * (pair_qstats reads them): the sender reads each length in its pass
 * anyway, and the receiver then touches no counter at all. Counting them at
 * the receiver, from burst totals the sender left (so as not to read the
 * packets there), cost the pair row of `make bench` 8-10%.
 */
struct link {
	struct sl_ring *ring;
	uint64_t pushed SL_CACHE_ALIGNED; /* the sender's */
	uint64_t pushed_bytes;
};

static void link_free(struct link *l)
{
	if (!l)
		return;
	sl_ring_destroy(l->ring);
	free(l);
}

static struct link *link_new(uint32_t size)
{
	struct link *l = aligned_alloc(SL_CACHE_LINE, sizeof(*l));

	if (!l)
		return NULL;
	memset(l, 0, sizeof(*l));
	l->ring = sl_ring_create(size, SL_RING_SP_ENQ | SL_RING_SC_DEQ);
	if (!l->ring) {
		link_free(l);
		return NULL;
	}
	return l;
}

/* Receive up to n packets from the link. */
static inline unsigned link_pop(struct link *l, struct sl_pkt **pkts,
				unsigned n)
{
	return sl_ring_dequeue_burst(l->ring, (void **)pkts, n);
}

/* The link's packets (what 0) or bytes (1) taken in so far; any thread. */
static uint64_t link_count(const struct link *l, unsigned what)
{
	return __atomic_load_n(what ? &l->pushed_bytes : &l->pushed,
			       __ATOMIC_RELAXED);
}

/* Free everything in the link; the caller is its only receiver (the
 * sender may still be running). */
static void link_drain(struct link *l)
{
	struct sl_pkt *pkts[64];
	unsigned n;

	while ((n = link_pop(l, pkts, SL_ARRAY_SIZE(pkts))) > 0)
		sl_pkt_free_bulk(pkts, n);
}

/* ---- the registry ------------------------------------------------------- */

struct pair {
	struct pair *next;
	char name[256];
	uint16_t n_queues;
	uint32_t ring_size;
	_Atomic bool open[2]; /* read by the other end's tx */
	_Atomic uint16_t port_id[2]; /* the open ends' ids: the peer stamps */
	struct sl_pool **orphans; /* pools handed over by closed ends, not
				   * yet adopted by a reopened one */
	unsigned n_orphans;
	struct link *link[2][SL_PORT_MAX_QUEUES]; /* [from end][queue] */
};

/* A queue's outbound link, and the free slots of its ring as last seen
 * (they only grow behind the producer's back): the producer's own line. */
struct pair_txq {
	struct link *link;
	uint32_t room;
} SL_CACHE_ALIGNED;

/* The links and the peer's fields each burst reads, found once at open
 * rather than through the pair on every burst. */
struct pair_end {
	struct pair *pair;
	unsigned end;
	const _Atomic bool *peer_open;
	const _Atomic uint16_t *peer_id;
	struct link *rx[SL_PORT_MAX_QUEUES];
	/* the inbound links' counts when this end opened: its receive
	 * counters are what came since */
	uint64_t rx_base[SL_PORT_MAX_QUEUES][2];
	struct pair_txq txq[SL_PORT_MAX_QUEUES];
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pair *registry;

static void pair_destroy(struct pair *p)
{
	unsigned e, q;

	for (e = 0; e < 2; e++)
		for (q = 0; q < p->n_queues; q++)
			if (p->link[e][q]) {
				link_drain(p->link[e][q]);
				link_free(p->link[e][q]);
			}
	for (e = 0; e < p->n_orphans; e++)
		sl_pool_destroy(p->orphans[e]);
	free(p->orphans);
	free(p);
}

/* Whether pool a can stand in for b: the same buffers, caching and
 * checks, so a port cannot tell which one it got. */
static bool pool_same_shape(const struct sl_pool *a, const struct sl_pool *b)
{
	return a->n_bufs == b->n_bufs && a->buf_size == b->buf_size &&
	       a->cache_size == b->cache_size && a->flags == b->flags &&
	       sl_pool_headroom(a) == sl_pool_headroom(b);
}

/*
 * Give a port that made its own pool an orphan of the same shape instead
 * (see the top of the file). Under registry_lock.
 */
static void adopt_orphan(struct pair *p, struct sl_port *port)
{
	unsigned i;

	if (!port->own_pool)
		return;
	for (i = 0; i < p->n_orphans; i++)
		if (pool_same_shape(p->orphans[i], port->pool))
			break;
	if (i == p->n_orphans)
		return;
	/* nothing has come out of the fresh pool yet: no packet to outlive */
	sl_pool_destroy(port->pool);
	port->pool = p->orphans[i];
	p->orphans[i] = p->orphans[--p->n_orphans];
}

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t s = 2;

	while (s < v && s < SL_RING_SIZE_MAX)
		s <<= 1;
	return s;
}

static int pair_open(struct sl_port *port, const struct sl_spec *spec)
{
	struct pair_end *pe = port->priv;
	const char *slash = strrchr(spec->target, '/');
	char name[sizeof(spec->target)];
	uint32_t nq;
	struct pair *p;
	unsigned end, e, q;
	int err = 0;

	if (!slash)
		return sl_spec_fail(spec, EINVAL,
				    "expected pair:NAME/0 or pair:NAME/1");
	if (slash == spec->target)
		return sl_spec_fail(spec, EINVAL, "empty pair name before '/'");
	if (strcmp(slash + 1, "0") != 0 && strcmp(slash + 1, "1") != 0)
		return sl_spec_fail(spec, EINVAL,
				    "bad end '%s' (expected pair:NAME/0 or "
				    "pair:NAME/1)",
				    slash + 1);
	end = slash[1] == '1';
	memcpy(name, spec->target, (size_t)(slash - spec->target));
	name[slash - spec->target] = '\0';
	err = sl_spec_u32(spec, "queues", 1, 1, SL_PORT_MAX_QUEUES, &nq);
	if (err)
		return err;

	pthread_mutex_lock(&registry_lock);
	for (p = registry; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			break;
	if (p) {
		if (atomic_load(&p->open[end])) {
			err = sl_spec_fail(
				spec, EBUSY,
				"end %u of pair '%s' is already open", end,
				name);
			goto out;
		}
		if (sl_spec_has(spec, "queues") && nq != p->n_queues) {
			err = sl_spec_fail(spec, EINVAL,
					   "pair '%s' has %u queue(s) (set by "
					   "end %u), not %u",
					   name, p->n_queues, !end, nq);
			goto out;
		}
		/* whatever a closed end left in its inbound rings (a racing
		 * sender) is stale: start empty */
		for (q = 0; q < p->n_queues; q++)
			link_drain(p->link[!end][q]);
		adopt_orphan(p, port);
	} else {
		p = calloc(1, sizeof(*p));
		if (!p) {
			err = sl_spec_fail(spec, ENOMEM, "out of memory");
			goto out;
		}
		sl_strlcpy(p->name, name, sizeof(p->name));
		p->n_queues = (uint16_t)nq;
		p->ring_size = pow2_at_least(port->opts->ring_size);
		for (e = 0; e < 2; e++)
			for (q = 0; q < nq; q++)
				if (!(p->link[e][q] = link_new(p->ring_size)))
					err = -ENOMEM;
		if (err) {
			pair_destroy(p);
			err = sl_spec_fail(spec, ENOMEM, "out of memory");
			goto out;
		}
		p->next = registry;
		registry = p;
	}
	atomic_store(&p->port_id[end], port->port_id);
	atomic_store(&p->open[end], true);
	pe->pair = p;
	pe->end = end;
	pe->peer_open = &p->open[!end];
	pe->peer_id = &p->port_id[!end];
	for (q = 0; q < p->n_queues; q++) {
		pe->rx[q] = p->link[!end][q];
		pe->rx_base[q][0] = link_count(pe->rx[q], 0);
		pe->rx_base[q][1] = link_count(pe->rx[q], 1);
		pe->txq[q].link = p->link[end][q];
	}
	port->n_queues = p->n_queues;
	sl_strlcpy(port->info.mode, "ring", sizeof(port->info.mode));
	sl_strlcpy(port->info.name, spec->target, sizeof(port->info.name));
out:
	pthread_mutex_unlock(&registry_lock);
	return err;
}

static void pair_close(struct sl_port *port)
{
	struct pair_end *pe = port->priv;
	struct pair *p = pe->pair, **pp;
	unsigned q, end = pe->end;

	pthread_mutex_lock(&registry_lock);
	atomic_store(&p->open[end], false);
	/* this end was the consumer of these rings: nobody else reads them */
	for (q = 0; q < p->n_queues; q++)
		link_drain(p->link[!end][q]);
	if (atomic_load(&p->open[!end])) {
		/* packets from this port's own pool may still be in flight
		 * towards the peer: keep the pool alive as long as the pair */
		if (port->own_pool) {
			struct sl_pool **o = realloc(
				p->orphans, (p->n_orphans + 1) * sizeof(*o));

			if (o) {
				p->orphans = o;
				p->orphans[p->n_orphans++] = port->pool;
				port->own_pool = false;
			} else {
				/* cannot keep it: take our packets back
				 * (the peer might be reading: a small risk
				 * only on an allocation failure) */
				for (q = 0; q < p->n_queues; q++)
					link_drain(p->link[end][q]);
			}
		}
	} else {
		for (pp = &registry; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		pair_destroy(p);
	}
	pthread_mutex_unlock(&registry_lock);
}

static uint16_t pair_rx(struct sl_port *port, uint16_t queue,
			struct sl_pkt **pkts, uint16_t n)
{
	struct pair_end *pe = port->priv;

	/* the sender stamped port, queue and flags, and counted them in:
	 * nothing to read or count here */
	return (uint16_t)link_pop(pe->rx[queue], pkts, n);
}

/* The same, while the port stamps receive times (SL_PORT_F_RX_TS,
 * capture=, sl_port_rx_ts_on). */
static uint16_t pair_rx_ts(struct sl_port *port, uint16_t queue,
			   struct sl_pkt **pkts, uint16_t n)
{
	uint16_t got = pair_rx(port, queue, pkts, n);

	sl_port_rx_stamp(port, pkts, got);
	return got;
}

/* The receive counters: what the inbound link took in since this end
 * opened (struct link). */
static void pair_qstats(struct sl_port *port, uint16_t queue,
			struct sl_queue_stats *st)
{
	struct pair_end *pe = port->priv;

	st->rx_packets = link_count(pe->rx[queue], 0) - pe->rx_base[queue][0];
	st->rx_bytes = link_count(pe->rx[queue], 1) - pe->rx_base[queue][1];
}

/* What a sent packet must not carry to the other end, and the fill it
 * asks for (see tx_fix). */
#define PAIR_TX_FLAGS                                                  \
	(SL_PKT_F_TX_CSUM | SL_PKT_F_TX_NO_GSO | SL_PKT_RX_CSUM_MASK | \
	 SL_PKT_F_RX_TS)

/* The rare packet whose flags need work: the checksum fill it asks for
 * (done here: SL_DRV_CAP_TX_CSUM_SW); the checksum states it was received
 * with (the sender may have changed the frame after whatever checked it:
 * unknown at the other end); its receive time (not the other end's). */
static void tx_fix(struct sl_port *port, uint16_t queue, struct sl_pkt *p)
{
	if (p->flags & SL_PKT_F_TX_CSUM)
		sl_port_tx_csum_one(port, queue, p);
	p->flags = (uint16_t)(p->flags & ~PAIR_TX_FLAGS);
}

/*
 * Per packet, the sender needs its length (both byte counts) and whether
 * port, queue and the flags above already read what the receiver must see.
 * len, idx, port, queue and flags are the first 14 bytes of one 16-byte
 * word (pkt.h keeps them together for this): one load per packet gives
 * both, lengths summed in the low lane, port/queue/flags compared in the
 * high one.
 */
_Static_assert(offsetof(struct sl_pkt, idx) ==
			       offsetof(struct sl_pkt, len) + 4 &&
		       offsetof(struct sl_pkt, port) ==
			       offsetof(struct sl_pkt, len) + 8 &&
		       offsetof(struct sl_pkt, queue) ==
			       offsetof(struct sl_pkt, len) + 10 &&
		       offsetof(struct sl_pkt, flags) ==
			       offsetof(struct sl_pkt, len) + 12,
	       "pair_tx reads len, port, queue and flags as one 16-byte word");
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pair_tx reads the packet word as little-endian lanes"
#endif

/* What the pass over a burst finds: its bytes, and the bits of port,
 * queue and flags in which some packet differs from the expected. */
struct scan {
	uint64_t bytes;
	uint64_t diff;
};

#ifdef __SSE2__
static inline __m128i pkt_word(const struct sl_pkt *p)
{
	return _mm_loadu_si128((const __m128i *)((const uint8_t *)p +
						 offsetof(struct sl_pkt, len)));
}

/*
 * The pass is bound by loads (two per packet: its pointer, its word) and
 * by the vector ops beside them, so it does two per packet: an add, whose
 * low lane sums the lengths and whose high lane sums port|queue, and an
 * OR. Every packet holds the expected port and queue when the OR equals
 * them (no packet has a bit they lack, so none is more) and the sum is n
 * times them (so none is less): exact while n * expect fits the 32 bits
 * compared, as it does for any burst up to 1024 packets; a burst where it
 * does not reports a difference and goes the slow way. Eight packets a
 * pass, in two chains of each op.
 */
static inline void scan_burst(struct sl_pkt *const *pkts, unsigned n,
			      uint64_t expect, struct scan *sc)
{
	__m128i s0 = _mm_setzero_si128(), s1 = s0, o0 = s0, o1 = s0;
	struct sl_pkt *const *p = pkts, *const *end = pkts + n;
	struct sl_pkt *const *head = pkts + (n & 7u);
	uint64_t sum, all;

	/* the odd ones first: the loop's sums then go straight to the end
	 * (the other way round costs register copies on every pass) */
	for (; p != head; p++) {
		__m128i v = pkt_word(*p);

		s1 = _mm_add_epi64(s1, v);
		o1 = _mm_or_si128(o1, v);
	}
	for (; p != end; p += 8) {
		__m128i v0 = pkt_word(p[0]), v1 = pkt_word(p[1]);
		__m128i v2 = pkt_word(p[2]), v3 = pkt_word(p[3]);
		__m128i v4 = pkt_word(p[4]), v5 = pkt_word(p[5]);
		__m128i v6 = pkt_word(p[6]), v7 = pkt_word(p[7]);

		s0 = _mm_add_epi64(s0, _mm_add_epi64(v0, v2));
		s1 = _mm_add_epi64(s1, _mm_add_epi64(v1, v3));
		o0 = _mm_or_si128(o0, _mm_or_si128(v0, v2));
		o1 = _mm_or_si128(o1, _mm_or_si128(v1, v3));
		s0 = _mm_add_epi64(s0, _mm_add_epi64(v4, v6));
		s1 = _mm_add_epi64(s1, _mm_add_epi64(v5, v7));
		o0 = _mm_or_si128(o0, _mm_or_si128(v4, v6));
		o1 = _mm_or_si128(o1, _mm_or_si128(v5, v7));
	}
	s0 = _mm_add_epi64(s0, s1);
	o0 = _mm_or_si128(o0, o1);
	/* the low lane is len | idx << 32: lengths (each at most a buffer's
	 * uint16_t room, at most 65535 of them a burst) never carry into
	 * the index half */
	sc->bytes = (uint64_t)_mm_cvtsi128_si64(s0) & 0xffffffffu;
	sum = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s0, s0));
	all = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(o0, o0));
	/* port and queue are the high lane's low 32 bits: what lies above
	 * them only carries further up */
	sc->diff = (all ^ expect) | (uint32_t)(sum ^ ((uint64_t)n * expect)) |
		   ((uint64_t)n * expect) >> 32;
}
#else
static inline void scan_burst(struct sl_pkt *const *pkts, unsigned n,
			      uint64_t expect, struct scan *sc)
{
	uint64_t bytes = 0, diff = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct sl_pkt *p = pkts[i];
		uint64_t w;

		memcpy(&w, (const uint8_t *)p + offsetof(struct sl_pkt, port),
		       sizeof(w));
		bytes += p->len;
		diff |= w ^ expect;
	}
	sc->bytes = bytes;
	sc->diff = diff;
}
#endif

/* Stamp what the receiver would on every packet of a burst in which
 * some packet needs it. Out of line, as tx_gone: pair_tx then saves fewer
 * registers on every burst. */
__attribute__((cold, noinline)) static void
tx_fix_all(struct sl_port *port, uint16_t queue, struct sl_pkt **pkts,
	   uint16_t n, uint16_t peer)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (pkts[i]->flags & PAIR_TX_FLAGS)
			tx_fix(port, queue, pkts[i]);
		pkts[i]->port = peer;
		pkts[i]->queue = queue;
	}
}

/* The peer is closed: take the burst, free it, count it as errors. */
__attribute__((cold, noinline)) static uint16_t
tx_gone(struct sl_port_qstats *st, struct sl_pkt **pkts, uint16_t n)
{
	st->tx_errors += n;
	sl_pkt_free_bulk(pkts, n);
	return n;
}

static uint16_t pair_tx(struct sl_port *port, uint16_t queue,
			struct sl_pkt **pkts, uint16_t n)
{
	struct pair_end *pe = port->priv;
	struct sl_port_qstats *st = &port->qstats[queue];
	struct pair_txq *tq = &pe->txq[queue];
	struct link *l = tq->link;
	uint64_t expect, care;
	struct scan sc;
	uint16_t sent, peer;

	if (sl_unlikely(
		    !atomic_load_explicit(pe->peer_open, memory_order_acquire)))
		return tx_gone(st, pkts, n);
	/* know first how many the ring takes: only those may be changed
	 * (the caller keeps the rest as they were) */
	if (tq->room < n)
		tq->room = sl_ring_free_count(l->ring);
	sent = (uint16_t)SL_MIN(n, tq->room);
	tq->room -= sent;
	peer = atomic_load_explicit(pe->peer_id, memory_order_relaxed);
	/* port, queue and flags as the word's high lane holds them */
	expect = (uint64_t)peer | (uint64_t)queue << 16;
	care = 0xffffffffull | (uint64_t)PAIR_TX_FLAGS << 32;
	/*
	 * The one pass over what is sent, before the ring publishes it (the
	 * peer may free the packets once they are in): lengths for both
	 * byte counts, and whether any packet needs what the receiver would
	 * stamp (one from another port, flags to fix). As few loads as can
	 * be, and no branch: the row is bound by loads, and a test and a
	 * store per packet cost bench_sluice's pair row half its rate.
	 * Packets that go back and forth between the ends need no write.
	 */
	scan_burst(pkts, sent, expect, &sc);
	if (sl_unlikely(sc.diff & care))
		tx_fix_all(port, queue, pkts, sent, peer);
	/* the peer's receive counters, read from any thread (pair_qstats);
	 * only this one writes them, so a relaxed store is a plain one */
	__atomic_store_n(&l->pushed, l->pushed + sent, __ATOMIC_RELAXED);
	__atomic_store_n(&l->pushed_bytes, l->pushed_bytes + sc.bytes,
			 __ATOMIC_RELAXED);
	/* takes all: the ring had at least room free, and only we fill it */
	sl_ring_enqueue_burst(l->ring, (void *const *)pkts, sent);
	if (sent < n)
		st->tx_full++;
	st->tx_packets += sent;
	st->tx_bytes += sc.bytes;
	return sent;
}

static const char *const pair_keys[] = { NULL };

const struct sl_driver sl_driver_pair = {
	.name = "pair",
	.caps = SL_DRV_CAP_TX_CSUM_SW | SL_DRV_CAP_PAD_POOL,
	.keys = pair_keys,
	.priv_size = sizeof(struct pair_end),
	.open = pair_open,
	.close = pair_close,
	.rx_burst = pair_rx,
	.tx_burst = pair_tx,
	.rx_burst_ts = pair_rx_ts,
	.qstats = pair_qstats,
};
