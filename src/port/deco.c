// SPDX-License-Identifier: MIT
/*
 * Decorators: capture and fault injection around any driver's bursts.
 *
 * capture=FILE writes a pcap (nanosecond timestamps) of what the
 * application sees: the frames sl_rx_burst hands it, after any fault, and
 * the frames sl_tx_burst takes from it, before any fault. One file serves
 * every queue, so writes are serialised by a mutex taken once per burst (a
 * capture is a debugging aid the user asked for); the file is written
 * through a 64 KiB stdio buffer, flushed at most every 100 ms from the
 * burst path (using the clock read the burst makes anyway) and at close.
 *
 * fault=drop:P,dup:P,reorder:P,corrupt:P[,dir:rx|tx|both] with seed=N
 * (default 1) applies faults to received frames (after the driver) and to
 * sent frames (before the driver). Each queue and direction has its own
 * splitmix64 generator seeded from (seed, direction, queue), so the same
 * seed and the same traffic give the same faults, whatever the other
 * queues do. Per frame, in this order: drop (freed and counted), corrupt
 * (one random bit flipped, SL_PKT_F_FAULT_CORRUPT set), reorder (held back
 * and let out right after the next frame, or at the end of the next burst
 * call in that direction if no frame comes, so nothing is stuck), dup (a
 * copy from the port's pool goes out right after the frame).
 *
 * Ownership on tx: every frame the decorator takes goes into a small
 * per-queue backlog it owns (with the dups and the released held frame),
 * and the backlog is what goes to the driver. Each call first flushes the
 * backlog, then takes frames from the caller only while the backlog has
 * room for the worst case a frame can produce, so a full driver is
 * back-pressure to the caller, never a loss. On rx the same backlog holds
 * frames that did not fit in the caller's array (dups, released frames);
 * they are delivered first on the next call, and the driver is asked for
 * more only when the backlog is empty.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "net/pcapw.h"
#include "port/deco.h"
#include "port/driver.h"
#include "port/spec.h"

#define CHUNK 32 /* frames asked from the rx driver at once */
#define BL_SIZE 128 /* backlog ring: > 3 * CHUNK + 1, a power of two */
#define BL_MASK (BL_SIZE - 1)
#define TX_ROOM \
	4 /* backlog room one tx frame may need: it, a dup, the
		   * held frame it releases, and the end-of-call release */
#define FLUSH_NS 100000000ull /* capture flush period */
#define P_ONE 9007199254740992.0 /* 2^53: probabilities as 53-bit ints */

_Static_assert(BL_SIZE > 3 * CHUNK + 1, "rx backlog must take a chunk");
_Static_assert((BL_SIZE & BL_MASK) == 0, "backlog size is a power of two");

enum { DIR_RX = 0, DIR_TX = 1 };

enum { F_DROP, F_DUP, F_REORDER, F_CORRUPT, F_N };

static const char *const fault_names[F_N] = { "drop", "dup", "reorder",
					      "corrupt" };

/* One queue in one direction. Only that queue's thread touches it, except
 * the counters, which xstats reads. */
struct deco_dir {
	uint64_t rng;
	struct sl_pkt *held; /* reorder: the frame held back */
	bool held_old; /* held since before the current call */
	uint32_t bl_head, bl_n;
	uint64_t count[F_N];
	struct sl_pkt *bl[BL_SIZE];
} SL_CACHE_ALIGNED;

struct deco_queue {
	struct deco_dir dir[2];
};

struct sl_deco {
	/* fault */
	bool fault;
	bool fault_dir[2]; /* faults apply to rx, tx */
	uint64_t thresh[F_N]; /* event when (rand >> 11) < thresh */
	bool active[2]; /* the direction goes through the decorator */
	/* capture */
	struct sl_pcapw *cap;
	pthread_mutex_t cap_lock;
	uint64_t cap_frames;
	uint64_t cap_last_flush;
	struct deco_queue *q; /* n_queues */
};

/* splitmix64 (Steele, Lea, Flood 2014): small, fast, and good enough to
 * decide faults; never rand(), whose state is global. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline bool hit(struct deco_dir *s, uint64_t thresh)
{
	/* no draw for a fault that is off, so enabling one fault does not
	 * need to be paid for by the others */
	return thresh && (rng_next(&s->rng) >> 11) < thresh;
}

static inline void bl_push(struct deco_dir *s, struct sl_pkt *p)
{
	s->bl[(s->bl_head + s->bl_n++) & BL_MASK] = p;
}

static inline struct sl_pkt *bl_pop(struct deco_dir *s)
{
	struct sl_pkt *p = s->bl[s->bl_head];

	s->bl_head = (s->bl_head + 1) & BL_MASK;
	s->bl_n--;
	return p;
}

/* Where a frame goes once it has passed the fault stage: the caller's
 * array while it has room (rx), else the backlog. */
struct sink {
	struct sl_pkt **pkts;
	uint16_t out, n;
};

static inline void emit(struct deco_dir *s, struct sink *k, struct sl_pkt *p)
{
	if (k && k->out < k->n)
		k->pkts[k->out++] = p;
	else
		bl_push(s, p);
}

/* The fault stage for one frame (see the file comment for the order). */
static void fault_one(struct sl_port *port, struct sl_deco *d,
		      struct deco_dir *s, int dir, uint16_t q, struct sl_pkt *f,
		      struct sink *k)
{
	struct sl_pkt *dup = NULL;

	if (hit(s, d->thresh[F_DROP])) {
		s->count[F_DROP]++;
		if (dir == DIR_RX)
			port->qstats[q].rx_dropped++;
		else
			port->qstats[q].tx_dropped++;
		sl_pkt_free(f);
		return;
	}
	if (hit(s, d->thresh[F_CORRUPT]) && f->len) {
		uint64_t bit = rng_next(&s->rng) % ((uint64_t)f->len * 8);

		f->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		/* what the path knew of its checksums no longer holds: a
		 * check must find the damage, as a real receiver would */
		f->flags = (uint16_t)((f->flags & ~SL_PKT_RX_CSUM_MASK) |
				      SL_PKT_F_FAULT_CORRUPT);
		s->count[F_CORRUPT]++;
	}
	if (hit(s, d->thresh[F_REORDER]) && !s->held) {
		s->held = f;
		s->held_old = false;
		s->count[F_REORDER]++;
		return;
	}
	if (hit(s, d->thresh[F_DUP])) {
		dup = sl_pkt_clone(port->pool, f);
		if (dup)
			s->count[F_DUP]++;
	}
	emit(s, k, f);
	if (dup)
		emit(s, k, dup);
	if (s->held) {
		emit(s, k, s->held);
		s->held = NULL;
	}
}

/* ---- capture ------------------------------------------------------------ */

static void capture(struct sl_deco *d, struct sl_pkt *const *pkts, unsigned n,
		    bool use_rx_ts, uint64_t now)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct sl_pkt *p = pkts[i];

		sl_pcapw_put(d->cap, p,
			     (use_rx_ts && (p->flags & SL_PKT_F_RX_TS)) ?
				     p->rx_ts :
				     now);
	}
	d->cap_frames += n;
	if (now - d->cap_last_flush >= FLUSH_NS) {
		sl_pcapw_flush(d->cap);
		d->cap_last_flush = now;
	}
}

/* ---- bursts ------------------------------------------------------------- */

uint16_t sl_deco_rx(struct sl_port *port, uint16_t queue, struct sl_pkt **pkts,
		    uint16_t n)
{
	struct sl_deco *d = port->deco;
	struct deco_dir *s = &d->q[queue].dir[DIR_RX];
	struct sink k = { .pkts = pkts, .out = 0, .n = n };

	if (!d->active[DIR_RX])
		return sl_port_drv_rx(port)(port, queue, pkts, n);

	if (!d->fault_dir[DIR_RX]) {
		k.out = sl_port_drv_rx(port)(port, queue, pkts, n);
	} else {
		if (s->held)
			s->held_old = true;
		while (s->bl_n && k.out < n)
			pkts[k.out++] = bl_pop(s);
		/* ask the driver only with an empty backlog: a chunk then
		 * always fits (each frame makes at most three) */
		while (k.out < n && s->bl_n == 0) {
			struct sl_pkt *tmp[CHUNK];
			uint16_t want = SL_MIN(n - k.out, CHUNK), got, i;

			got = sl_port_drv_rx(port)(port, queue, tmp, want);
			for (i = 0; i < got; i++)
				fault_one(port, d, s, DIR_RX, queue, tmp[i],
					  &k);
			if (got < want)
				break;
		}
		if (s->held && s->held_old) {
			emit(s, &k, s->held);
			s->held = NULL;
		}
	}
	if (d->cap) {
		uint64_t now = sl_time_ns();

		pthread_mutex_lock(&d->cap_lock);
		capture(d, pkts, k.out, true, now);
		pthread_mutex_unlock(&d->cap_lock);
	}
	return k.out;
}

/* Give the backlog to the driver; returns how many it took. */
static unsigned tx_flush(struct sl_port *port, uint16_t queue,
			 struct deco_dir *s)
{
	unsigned sent = 0;

	while (s->bl_n) {
		uint16_t len = (uint16_t)SL_MIN(s->bl_n, BL_SIZE - s->bl_head);
		uint16_t k = port->drv->tx_burst(port, queue,
						 &s->bl[s->bl_head], len);

		s->bl_head = (s->bl_head + k) & BL_MASK;
		s->bl_n -= k;
		sent += k;
		if (k < len)
			break;
	}
	return sent;
}

uint16_t sl_deco_tx(struct sl_port *port, uint16_t queue, struct sl_pkt **pkts,
		    uint16_t n)
{
	struct sl_deco *d = port->deco;
	struct deco_dir *s = &d->q[queue].dir[DIR_TX];
	bool fault = d->fault_dir[DIR_TX];
	uint16_t taken = 0;
	uint64_t now = 0;

	if (!d->active[DIR_TX])
		return port->drv->tx_burst(port, queue, pkts, n);
	if (d->cap)
		now = sl_time_ns();
	if (s->held)
		s->held_old = true;
	tx_flush(port, queue, s);
	for (;;) {
		/* the capture's lock covers writing the file, never the
		 * driver's transmit (tx_flush): other queues capture
		 * meanwhile */
		if (d->cap)
			pthread_mutex_lock(&d->cap_lock);
		while (taken < n && BL_SIZE - s->bl_n >= TX_ROOM) {
			struct sl_pkt *f = pkts[taken++];

			/* the app's view: what the port took, before a fault
			 * or the driver can change or free it */
			if (d->cap)
				capture(d, &f, 1, false, now);
			if (fault)
				fault_one(port, d, s, DIR_TX, queue, f, NULL);
			else
				bl_push(s, f);
		}
		if (d->cap)
			pthread_mutex_unlock(&d->cap_lock);
		if (tx_flush(port, queue, s) == 0 || taken == n)
			break;
	}
	if (s->held && s->held_old) {
		bl_push(s, s->held); /* room: TX_ROOM kept one slot */
		s->held = NULL;
		tx_flush(port, queue, s);
	}
	return taken;
}

/* ---- set-up ------------------------------------------------------------- */

static int parse_fault(struct sl_deco *d, const struct sl_spec *spec,
		       const char *list)
{
	bool seen[F_N + 1] = { false };
	char buf[256];
	char *item, *save = NULL;

	d->fault_dir[DIR_RX] = d->fault_dir[DIR_TX] = true;
	sl_strlcpy(buf, list, sizeof(buf));
	if (!buf[0] || buf[0] == ',' || buf[strlen(buf) - 1] == ',' ||
	    strstr(buf, ",,"))
		return sl_spec_fail(spec, EINVAL,
				    "fault: empty item in '%s' (expected "
				    "drop:P,dup:P,reorder:P,corrupt:P)",
				    list);
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *val = strchr(item, ':');
		double prob;
		int f;

		if (val)
			*val++ = '\0';
		for (f = 0; f < F_N; f++)
			if (strcmp(item, fault_names[f]) == 0)
				break;
		if (f == F_N && strcmp(item, "dir") != 0)
			return sl_spec_fail(spec, EINVAL,
					    "fault: unknown fault '%s' (known: "
					    "drop, dup, reorder, corrupt, dir)",
					    item);
		if (seen[f])
			return sl_spec_fail(spec, EINVAL,
					    "fault: '%s' given twice", item);
		seen[f] = true;
		if (!val || !*val)
			return sl_spec_fail(spec, EINVAL,
					    "fault: '%s' needs a value (%s:%s)",
					    item, item,
					    f == F_N ? "rx|tx|both" : "P");
		if (f == F_N) {
			bool rx = strcmp(val, "rx") == 0;
			bool tx = strcmp(val, "tx") == 0;

			if (!rx && !tx && strcmp(val, "both") != 0)
				return sl_spec_fail(spec, EINVAL,
						    "fault: bad dir '%s' "
						    "(expected rx, tx or both)",
						    val);
			d->fault_dir[DIR_RX] = !tx;
			d->fault_dir[DIR_TX] = !rx;
			continue;
		}
		if (sl_spec_parse_prob(val, &prob))
			return sl_spec_fail(
				spec, EINVAL,
				"fault: bad probability '%s' for %s "
				"(expected a number from 0 to 1)",
				val, item);
		d->thresh[f] = (uint64_t)(prob * P_ONE);
	}
	d->fault = true;
	return 0;
}

static int open_capture(struct sl_deco *d, const struct sl_spec *spec,
			const char *file)
{
	char why[256];

	d->cap = sl_pcapw_open(file, why, sizeof(why));
	if (!d->cap)
		return sl_spec_fail(spec, errno,
				    "capture: cannot write '%s': %s", file,
				    why);
	pthread_mutex_init(&d->cap_lock, NULL);
	d->cap_last_flush = sl_time_ns();
	return 0;
}

static void deco_free(struct sl_port *port, struct sl_deco *d)
{
	unsigned q, dir;

	if (d->q) {
		for (q = 0; q < port->n_queues; q++) {
			for (dir = 0; dir < 2; dir++) {
				struct deco_dir *s = &d->q[q].dir[dir];

				if (s->held)
					sl_pkt_free(s->held);
				while (s->bl_n)
					sl_pkt_free(bl_pop(s));
			}
		}
		free(d->q);
	}
	if (d->cap) {
		sl_pcapw_close(d->cap); /* flushes and closes the file */
		pthread_mutex_destroy(&d->cap_lock);
	}
	free(d);
}

int sl_deco_open(struct sl_port *port, const struct sl_spec *spec)
{
	const char *fault = sl_spec_get(spec, "fault");
	const char *file = sl_spec_get(spec, "capture");
	const char *seed_s = sl_spec_get(spec, "seed");
	struct sl_deco *d;
	uint64_t seed = 1;
	unsigned q, dir;
	int err;

	if (!fault && !file)
		return 0;
	if (seed_s && sl_spec_parse_u64(seed_s, &seed))
		return sl_spec_fail(spec, EINVAL, "bad seed '%s'", seed_s);
	d = calloc(1, sizeof(*d));
	if (!d)
		return sl_spec_fail(spec, ENOMEM, "out of memory");
	if (fault) {
		err = parse_fault(d, spec, fault);
		if (err)
			goto fail;
	}
	if (file) {
		err = open_capture(d, spec, file);
		if (err)
			goto fail;
		/* the file carries receive times: the driver must take them */
		port->rx_ts = true;
	}
	d->q = aligned_alloc(SL_CACHE_LINE,
			     port->n_queues * sizeof(struct deco_queue));
	if (!d->q) {
		err = sl_spec_fail(spec, ENOMEM, "out of memory");
		goto fail;
	}
	memset(d->q, 0, port->n_queues * sizeof(struct deco_queue));
	for (q = 0; q < port->n_queues; q++)
		for (dir = 0; dir < 2; dir++) {
			uint64_t s = seed ^
				     (0x5851f42d4c957f2dull * (dir + 1)) ^
				     ((uint64_t)q << 32);

			/* one extra round decorrelates nearby seeds */
			d->q[q].dir[dir].rng = rng_next(&s);
		}
	for (dir = 0; dir < 2; dir++)
		d->active[dir] = d->cap || (d->fault && d->fault_dir[dir]);
	snprintf(port->info.decorators, sizeof(port->info.decorators), "%s%s%s",
		 d->cap ? "capture" : "", d->cap && d->fault ? "," : "",
		 d->fault ? "fault" : "");
	port->deco = d;
	return 0;

fail:
	deco_free(port, d);
	return err;
}

void sl_deco_close(struct sl_port *port)
{
	if (!port->deco)
		return;
	deco_free(port, port->deco);
	port->deco = NULL;
}

unsigned sl_deco_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n)
{
	static const char *const names[F_N] = { "fault_dropped",
						"fault_duplicated",
						"fault_reordered",
						"fault_corrupted" };
	struct sl_deco *d = port->deco;
	unsigned i = 0, f, q, dir;

	if (!d)
		return 0;
	if (d->fault) {
		for (f = 0; f < F_N; f++) {
			uint64_t v = 0;

			for (q = 0; q < port->n_queues; q++)
				for (dir = 0; dir < 2; dir++)
					v += __atomic_load_n(
						&d->q[q].dir[dir].count[f],
						__ATOMIC_RELAXED);
			sl_xstat_put(out, n, i++, names[f], v);
		}
	}
	if (d->cap) {
		pthread_mutex_lock(&d->cap_lock);
		sl_xstat_put(out, n, i++, "capture_frames", d->cap_frames);
		pthread_mutex_unlock(&d->cap_lock);
	}
	return i;
}
