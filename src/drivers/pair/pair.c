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
 * inherit; the length rides in the ring slot for the receiver's byte
 * count. The receiver touches a packet only to stamp a receive time, when
 * its port asked for them.
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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/ring.h>

#include "port/driver.h"

/*
 * A ring slot holds the packet's address with its length in the top 16
 * bits, so that the receiver counts bytes without reading the packet: its
 * metadata line was last written by the sender, often on another core.
 * Packets live in pool regions that sl_region maps without an address
 * hint, and Linux gives such mappings addresses below 2^47 (x86-64, with
 * 5-level paging too) or 2^48 (arm64); a length fits 16 bits (sl_pkt.room
 * does).
 */
#define SLOT_LEN_SHIFT 48
#define SLOT_ADDR_MASK ((UINT64_C(1) << SLOT_LEN_SHIFT) - 1)

static inline void *slot_of(struct sl_pkt *p)
{
	return (void *)((uintptr_t)p | (uintptr_t)p->len << SLOT_LEN_SHIFT);
}

/* Turn n slots back into packets in place; returns their bytes. */
static inline uint64_t slots_to_pkts(struct sl_pkt **pkts, unsigned n)
{
	uint64_t bytes = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		uintptr_t v = (uintptr_t)pkts[i];

		bytes += v >> SLOT_LEN_SHIFT;
		pkts[i] = (struct sl_pkt *)(v & SLOT_ADDR_MASK);
	}
	return bytes;
}

/* Free everything in the ring; the caller is its only consumer (the
 * producer may still be running). */
static void ring_drain(struct sl_ring *r)
{
	struct sl_pkt *pkts[64];
	unsigned n;

	while ((n = sl_ring_dequeue_burst(r, (void **)pkts,
					  SL_ARRAY_SIZE(pkts))) > 0) {
		slots_to_pkts(pkts, n);
		sl_pkt_free_bulk(pkts, n);
	}
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
	struct sl_ring *ring[2][SL_PORT_MAX_QUEUES]; /* [from end][queue] */
};

/* Free slots of a queue's outbound ring, as last seen (it only grows
 * behind the producer's back): the producer's own line. */
struct pair_txq {
	uint32_t room;
} SL_CACHE_ALIGNED;

struct pair_end {
	struct pair *pair;
	unsigned end;
	struct pair_txq txq[SL_PORT_MAX_QUEUES];
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pair *registry;

static void pair_destroy(struct pair *p)
{
	unsigned e, q;

	for (e = 0; e < 2; e++)
		for (q = 0; q < p->n_queues; q++)
			if (p->ring[e][q]) {
				ring_drain(p->ring[e][q]);
				sl_ring_destroy(p->ring[e][q]);
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
			ring_drain(p->ring[!end][q]);
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
				if (!(p->ring[e][q] = sl_ring_create(
					      p->ring_size,
					      SL_RING_SP_ENQ | SL_RING_SC_DEQ)))
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
		ring_drain(p->ring[!end][q]);
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
					ring_drain(p->ring[end][q]);
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
	struct sl_queue_stats *st = &port->qstats[queue];
	uint16_t got;

	got = (uint16_t)sl_ring_dequeue_burst(pe->pair->ring[!pe->end][queue],
					      (void **)pkts, n);
	if (!got)
		return 0;
	/* the sender stamped port, queue and flags: nothing to read here */
	st->rx_bytes += slots_to_pkts(pkts, got);
	st->rx_packets += got;
	sl_port_rx_stamp(port, pkts, got);
	return got;
}

/* Flags a sent packet must not carry to the other end: the checksum
 * fill it asks for is done here (SL_DRV_CAP_TX_CSUM_SW); the sender may have changed the frame
 * after whatever checked it, so its checksums are unknown there; its
 * receive time is not the other end's. */
#define PAIR_TX_FLAGS (SL_PKT_F_TX_CSUM | SL_PKT_RX_CSUM_MASK | SL_PKT_F_RX_TS)

static uint16_t pair_tx(struct sl_port *port, uint16_t queue,
			struct sl_pkt **pkts, uint16_t n)
{
	struct pair_end *pe = port->priv;
	struct sl_queue_stats *st = &port->qstats[queue];
	struct pair_txq *tq = &pe->txq[queue];
	struct pair *pr = pe->pair;
	struct sl_ring *ring;
	uint16_t sent, i, peer;
	uint64_t bytes = 0;

	if (sl_unlikely(!atomic_load_explicit(&pr->open[!pe->end],
					      memory_order_acquire))) {
		st->tx_errors += n;
		sl_pkt_free_bulk(pkts, n);
		return n;
	}
	ring = pr->ring[pe->end][queue];
	/* know first how many the ring takes: only those may be stamped
	 * (the caller keeps the rest as they were) */
	if (tq->room < n)
		tq->room = sl_ring_free_count(ring);
	sent = (uint16_t)SL_MIN(n, tq->room);
	tq->room -= sent;
	peer = atomic_load_explicit(&pr->port_id[!pe->end],
				    memory_order_relaxed);
	for (i = 0; i < sent;) {
		void *slots[64];
		unsigned k = SL_MIN(64u, (unsigned)(sent - i)), j;

		/*
		 * The one pass over what is sent: the checksum fill asked
		 * for, then what the receiver would stamp, all before the ring
		 * publishes the packets (the peer may free them once they are
		 * in). Plain stores: testing first whether a field changes
		 * made bench_sluice's pair row a fifth slower.
		 */
		for (j = 0; j < k; j++) {
			struct sl_pkt *p = pkts[i + j];

			if (sl_unlikely(p->flags & SL_PKT_F_TX_CSUM))
				sl_port_tx_csum_one(port, queue, p);
			p->flags = (uint16_t)(p->flags & ~PAIR_TX_FLAGS);
			p->port = peer;
			p->queue = queue;
			bytes += p->len;
			slots[j] = slot_of(p);
		}
		/* takes all k: the ring had at least room free, and only
		 * we fill it */
		sl_ring_enqueue_burst(ring, slots, k);
		i = (uint16_t)(i + k);
	}
	if (sent < n)
		st->tx_full++;
	st->tx_packets += sent;
	st->tx_bytes += bytes;
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
};
