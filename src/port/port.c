// SPDX-License-Identifier: MIT
/*
 * The port API: open a port from a spec string, run its bursts, report what
 * it is and what it counted, close it.
 *
 * sl_port_open parses the spec, finds the driver, allocates the port, its
 * driver state and its per-queue counters (cache-line aligned), takes the
 * caller's pool or makes one, lets the driver open, then wraps the driver's
 * bursts in the decorators the spec asks for. Any failure undoes all of it
 * and leaves the message from the step that failed in sl_last_error().
 *
 * The bursts are thin: without decorators they call the driver directly, so
 * a port costs one indirect call over the driver itself. Queue numbers are
 * checked in debug builds only (the fast path trusts its caller).
 *
 * Lifetimes: a port's own pool is destroyed at close, after the driver has
 * given back every packet it held. Packets of that pool still held by the
 * application, or by another port, become invalid then; pass a shared
 * opts->pool when packets outlive the port they came from.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/opts.h"
#include "core/registry.h"
#include "net/match.h"
#include "port/deco.h"
#include "port/driver.h"
#include "port/spec.h"

#define DEFAULT_N_BUFS 4096
#define DEFAULT_RING_SIZE 1024

static void *zalloc_aligned(size_t len)
{
	void *p;

	len = (len + SL_CACHE_LINE - 1) & ~(size_t)(SL_CACHE_LINE - 1);
	if (!len)
		len = SL_CACHE_LINE;
	p = aligned_alloc(SL_CACHE_LINE, len);
	if (p)
		memset(p, 0, len);
	return p;
}

/*
 * Buffers of a port's own pool: one line more than the default for the
 * drivers that allow it. With 2048-byte buffers the metadata of every
 * packet falls in the same two L1 sets and their loads and stores 4 KiB
 * apart alias: bench_sluice's pair row ran at a third of its speed. An
 * AF_XDP UMEM (xdp, and auto, which may open xdp) keeps 2048.
 */
static uint32_t own_buf_size(const struct sl_driver *drv)
{
	if (drv->caps & SL_DRV_CAP_PAD_POOL)
		return SL_PKT_BUF_SIZE + SL_CACHE_LINE;
	return SL_PKT_BUF_SIZE;
}

static void port_free(struct sl_port *port)
{
	if (port->own_pool && port->pool)
		sl_pool_destroy(port->pool);
	free(port->priv);
	free(port->qstats);
	free(port->qx);
	pthread_mutex_destroy(&port->lock);
	free(port);
}

/*
 * The bursts are inline in sluice/port.h; these make the library export
 * them too (C99: an extern declaration of an inline function emits its
 * definition here). In every build (meson defines no NDEBUG) a queue the
 * port does not have moves nothing rather than indexing past the driver's
 * queues: its entry of the burst table is burst_none, and a number past
 * the table's end takes its last entry (a compare with a constant).
 */
extern inline uint16_t sl_rx_burst(struct sl_port *port, uint16_t queue,
				   struct sl_pkt **pkts, uint16_t n);
extern inline uint16_t sl_tx_burst(struct sl_port *port, uint16_t queue,
				   struct sl_pkt **pkts, uint16_t n);

/* What SL_PKT_F_TX_* ask, done in software for a path that cannot do it:
 * a test of one flags word per packet when nobody asks. */
static inline void tx_csum(struct sl_port *port, uint16_t queue,
			   struct sl_pkt **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (sl_likely(!(pkts[i]->flags & SL_PKT_F_TX_CSUM)))
			continue;
		port->qx[queue].tx_csum_sw++;
		if (sl_unlikely(sl_pkt_csum_fill(pkts[i]) != 0))
			port->qx[queue].tx_csum_unfillable++;
	}
}

/* What sl_tx_burst does when a decorator or the software checksum fill is
 * in the way (port_fp_set). */
static uint16_t tx_slow(struct sl_port *port, uint16_t queue,
			struct sl_pkt **pkts, uint16_t n)
{
	/* a driver that fills in its own pass over the packets does so
	 * unless a decorator must see the frames as they will leave */
	if (!(port->drv->caps & SL_DRV_CAP_TX_CSUM) &&
	    (!(port->drv->caps & SL_DRV_CAP_TX_CSUM_SW) || port->deco))
		tx_csum(port, queue, pkts, n);
	if (!port->deco)
		return port->drv->tx_burst(port, queue, pkts, n);
	return sl_deco_tx(port, queue, pkts, n);
}

/* What a burst on a queue the port does not have calls. */
static uint16_t burst_none(struct sl_port *port, uint16_t queue,
			   struct sl_pkt **pkts, uint16_t n)
{
	(void)port;
	(void)queue;
	(void)pkts;
	(void)n;
	return 0;
}

/* What the bursts call, once the driver and the decorators are open: the
 * driver's own bursts when nothing is in the way (the path fills
 * SL_PKT_F_TX_* itself, or in its own pass). */
static void port_fp_set(struct sl_port *port)
{
	const struct sl_driver *drv = port->drv;
	sl_burst_fn_ *rx = port->deco ? sl_deco_rx : sl_port_drv_rx(port);
	sl_burst_fn_ *tx =
		!port->deco && (drv->caps &
				(SL_DRV_CAP_TX_CSUM | SL_DRV_CAP_TX_CSUM_SW)) ?
			drv->tx_burst :
			tx_slow;
	unsigned q;

	for (q = 0; q <= SL_PORT_MAX_QUEUES; q++) {
		port->fp.rx[q] = q < port->n_queues ? rx : burst_none;
		port->fp.tx[q] = q < port->n_queues ? tx : burst_none;
	}
}

struct sl_port *sl_port_open(const char *spec_str,
			     const struct sl_port_opts *opts)
{
	struct sl_port_opts o = { .sz = sizeof(o) };
	const struct sl_driver *drv;
	struct sl_port *port;
	struct sl_spec *spec;
	uint32_t want_queues;
	int err;

	if (sl_opts_in(&o, sizeof(o), opts, "sl_port_open", "sl_port_opts"))
		return NULL;
	if (!o.n_bufs)
		o.n_bufs = DEFAULT_N_BUFS;
	if (!o.ring_size)
		o.ring_size = DEFAULT_RING_SIZE;

	/* a spec is ~5 KiB: keep it off the caller's stack */
	spec = malloc(sizeof(*spec));
	if (!spec) {
		sl_fail(ENOMEM, "sl_port_open: out of memory");
		return NULL;
	}
	err = sl_spec_parse(spec_str, spec);
	if (err)
		goto fail_spec;
	want_queues = 1;
	if (sl_spec_has(spec, "queues")) {
		uint64_t first, count;

		/* the form was checked by the parser */
		sl_spec_parse_queues(sl_spec_get(spec, "queues"), &first,
				     &count);
		want_queues = (uint32_t)count;
	}
	drv = sl_driver_find(spec->driver);

	port = zalloc_aligned(sizeof(*port));
	if (!port) {
		err = sl_spec_fail(spec, ENOMEM, "out of memory");
		goto fail_spec;
	}
	pthread_mutex_init(&port->lock, NULL);
	port->drv = drv;
	port->priv = zalloc_aligned(drv->priv_size);
	port->qstats = zalloc_aligned(SL_PORT_MAX_QUEUES *
				      sizeof(struct sl_port_qstats));
	port->qx = zalloc_aligned(SL_PORT_MAX_QUEUES * sizeof(*port->qx));
	if (!port->priv || !port->qstats || !port->qx) {
		err = sl_spec_fail(spec, ENOMEM, "out of memory");
		goto fail_port;
	}
	if (o.pool) {
		port->pool = o.pool;
	} else {
		struct sl_pool_opts po = { .sz = sizeof(po),
					   .n_bufs = o.n_bufs,
					   .buf_size = own_buf_size(drv),
					   .name = spec->driver };

		port->pool = sl_pool_create(&po);
		if (!port->pool) {
			err = sl_spec_fail(spec, errno ? errno : ENOMEM,
					   "cannot make the port's pool of %u "
					   "buffers: %s",
					   o.n_bufs, sl_last_error());
			goto fail_port;
		}
		port->own_pool = true;
	}
	port->n_queues = 1;
	port->port_id = o.port_id;
	port->rx_ts = !!(o.flags & SL_PORT_F_RX_TS);
	port->opts = &o;
	sl_strlcpy(port->info.spec, spec->text, sizeof(port->info.spec));
	sl_strlcpy(port->info.driver, drv->name, sizeof(port->info.driver));
	port->info.port_id = o.port_id;
	port->info.state = SL_PORT_UP;

	err = drv->open(port, spec);
	port->opts = NULL;
	if (err)
		goto fail_port;
	if (port->n_queues < 1 || port->n_queues > SL_PORT_MAX_QUEUES ||
	    (sl_spec_has(spec, "queues") && port->n_queues != want_queues)) {
		unsigned got = port->n_queues;

		drv->close(port);
		err = sl_spec_fail(spec, EINVAL,
				   "driver %s opened %u queue(s), not the %u "
				   "asked for",
				   drv->name, got, want_queues);
		goto fail_port;
	}
	port->info.n_queues = port->n_queues;
	/* a driver with frames longer than a buffer of its pool says so */
	if (!port->info.max_frame)
		port->info.max_frame = port->pool->buf_size - SL_PKT_META -
				       sl_pool_headroom(port->pool);

	err = sl_deco_open(port, spec);
	if (err) {
		drv->close(port);
		goto fail_port;
	}
	port_fp_set(port);
	free(spec);
	/* listed for telemetry; unlisted it still works */
	sl_reg_add(SL_REG_PORT, port, NULL);
	sl_telemetry_env_start();
	return port;

fail_port:
	port_free(port);
fail_spec:
	free(spec);
	errno = -err;
	return NULL;
}

int sl_port_close(struct sl_port *port)
{
	if (!port)
		return sl_fail(EINVAL, "sl_port_close: no port");
	/* first: waits out a telemetry read of this port */
	sl_reg_del(port);
	/* decorators hold packets and a capture file: they go first, while
	 * the driver and the pool are still there */
	sl_deco_close(port);
	port->drv->close(port);
	port_free(port);
	return 0;
}

/* Every counter, in the order of the structs (driver.h, port.h). */
#define QSTATS(X) SL_QUEUE_STATS_FIELDS(X)

/* A counter the list above misses would be left zero: the public structs
 * have exactly its fields (sl_port_qstats is made from it). */
#define ONE(f) +1
_Static_assert(sizeof(struct sl_queue_stats) ==
		       sizeof(size_t) + (0 QSTATS(ONE)) * sizeof(uint64_t),
	       "struct sl_queue_stats has a counter QSTATS does not list");
_Static_assert(sizeof(struct sl_port_stats) ==
		       offsetof(struct sl_port_stats, rx_packets) +
			       (0 QSTATS(ONE)) * sizeof(uint64_t),
	       "struct sl_port_stats has a counter QSTATS does not list");
#undef ONE

/* Counters are written by the queue's thread without atomics; reading each
 * 64-bit word with a relaxed atomic load gives consistent values without
 * stopping it (aligned 64-bit loads do not tear on x86-64 and arm64), from
 * any thread: the telemetry server's too. */
static void read_qstats(struct sl_port *port, uint16_t queue,
			struct sl_queue_stats *dst)
{
	const struct sl_port_qstats *src = &port->qstats[queue];

#define LOAD(f) dst->f = __atomic_load_n(&src->f, __ATOMIC_RELAXED);
	QSTATS(LOAD)
#undef LOAD
	if (port->drv->qstats)
		port->drv->qstats(port, queue, dst);
}

int sl_port_stats(struct sl_port *port, struct sl_port_stats *out)
{
	struct sl_port_stats st;
	struct sl_queue_stats q;
	size_t sz;
	unsigned i;

	if (!port)
		return sl_fail(EINVAL, "sl_port_stats: no port");
	if (sl_opts_out(out, sizeof(st), &sz, "sl_port_stats", "sl_port_stats"))
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	st.n_queues = port->n_queues;
	for (i = 0; i < port->n_queues; i++) {
		read_qstats(port, (uint16_t)i, &q);
#define ADD(f) st.f += q.f;
		QSTATS(ADD)
#undef ADD
	}
	st.sz = out->sz;
	memcpy(out, &st, sz);
	return 0;
}

int sl_port_queue_stats(struct sl_port *port, uint16_t queue,
			struct sl_queue_stats *out)
{
	struct sl_queue_stats q;
	size_t sz;

	if (!port)
		return sl_fail(EINVAL, "sl_port_queue_stats: no port");
	if (sl_opts_out(out, sizeof(q), &sz, "sl_port_queue_stats",
			"sl_queue_stats"))
		return -EINVAL;
	if (queue >= port->n_queues)
		return sl_fail(EINVAL,
			       "sl_port_queue_stats: queue %u of a port with "
			       "%u (0..%u)",
			       queue, port->n_queues, port->n_queues - 1u);
	read_qstats(port, queue, &q);
	q.sz = out->sz;
	memcpy(out, &q, sz);
	return 0;
}

int sl_port_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n)
{
	unsigned i;
	int r;

	if (!port || (n && !out))
		return sl_fail(EINVAL, "sl_port_xstats: %s",
			       !port ? "no port" : "no output");
	i = sl_deco_xstats(port, out, n);
	if (!(port->drv->caps & SL_DRV_CAP_TX_CSUM)) {
		uint64_t sw = 0, bad = 0;
		unsigned q;

		for (q = 0; q < port->n_queues; q++) {
			sw += __atomic_load_n(&port->qx[q].tx_csum_sw,
					      __ATOMIC_RELAXED);
			bad += __atomic_load_n(&port->qx[q].tx_csum_unfillable,
					       __ATOMIC_RELAXED);
		}
		sl_xstat_put(out, n, i++, "tx_csum_sw", sw);
		sl_xstat_put(out, n, i++, "tx_csum_unfillable", bad);
	}
	if (!port->drv->xstats)
		return (int)i;
	r = port->drv->xstats(port, i < n ? out + i : NULL, i < n ? n - i : 0);
	if (r < 0)
		return r;
	return (int)i + r;
}

const char *sl_port_path(struct sl_port *port)
{
	if (!port)
		return "none";
	return port->drv->path ? port->drv->path(port) : port->drv->name;
}

int sl_port_queue_fd(struct sl_port *port, uint16_t queue)
{
	if (!port || queue >= port->n_queues)
		return -EINVAL;
	return port->drv->queue_fd ? port->drv->queue_fd(port, queue) :
				     -ENOTSUP;
}

int sl_port_set_match(struct sl_port *port, const char *match)
{
	struct sl_match m;
	int err;

	if (!port)
		return sl_fail(EINVAL, "sl_port_set_match: no port");
	if (sl_match_parse(match, &m))
		return -EINVAL; /* the parser's message */
	if (!port->drv->set_match)
		return sl_fail(EOPNOTSUPP,
			       "%s: the %s driver cannot change its match "
			       "in place",
			       port->info.spec, port->drv->name);
	/* the driver locks what it shares (auto: its switch lock, which
	 * takes port->lock inside) */
	err = port->drv->set_match(port, match ? match : "", &m);
	return err;
}

int sl_port_rx_ts_on(struct sl_port *port)
{
	int err;

	if (!port)
		return sl_fail(EINVAL, "sl_port_rx_ts_on: no port");
	err = port->drv->rx_ts_on ? port->drv->rx_ts_on(port) : 0;
	if (err)
		return err;
	/* bursts read it once each */
	__atomic_store_n(&port->rx_ts, true, __ATOMIC_RELEASE);
	/* a driver with a stamping receive of its own: the bursts call it
	 * from now on (a decorator picks it itself, burst by burst) */
	if (!port->deco && port->drv->rx_burst_ts) {
		unsigned q;

		for (q = 0; q < port->n_queues; q++)
			__atomic_store_n(&port->fp.rx[q],
					 port->drv->rx_burst_ts,
					 __ATOMIC_RELAXED);
	}
	return 0;
}

int sl_port_info(struct sl_port *port, struct sl_port_info *out)
{
	size_t sz;

	if (!port)
		return sl_fail(EINVAL, "sl_port_info: no port");
	if (sl_opts_out(out, sizeof(port->info), &sz, "sl_port_info",
			"sl_port_info"))
		return -EINVAL;
	pthread_mutex_lock(&port->lock);
	port->info.sz = out->sz;
	memcpy(out, &port->info, sz);
	pthread_mutex_unlock(&port->lock);
	return 0;
}

struct sl_pool *sl_port_pool(struct sl_port *port)
{
	return port ? port->pool : NULL;
}

void sl_port_refuse(struct sl_port *port, const char *path, const char *fmt,
		    ...)
{
	struct sl_port_refusal *r;
	va_list ap;

	pthread_mutex_lock(&port->lock);
	if (port->info.n_refused < SL_PORT_MAX_REFUSED) {
		r = &port->info.refused[port->info.n_refused++];
		sl_strlcpy(r->path, path, sizeof(r->path));
		va_start(ap, fmt);
		vsnprintf(r->why, sizeof(r->why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&port->lock);
}

void sl_port_set_state(struct sl_port *port, enum sl_port_state state,
		       const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&port->lock);
	port->info.state = state;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(port->info.error, sizeof(port->info.error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&port->lock);
}
