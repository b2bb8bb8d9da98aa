/* SPDX-License-Identifier: MIT */
/*
 * The driver interface: the only port header drivers include.
 *
 * A driver fills in a struct sl_driver and is listed in the table in
 * port/drivers.c. sl_port_open parses the spec, allocates the struct
 * sl_port with priv_size bytes of driver state, sets n_queues to 1 and calls
 * open(); the driver sets n_queues, fills info (mode, name, addresses,
 * refusals) and returns 0, or returns -errno after sl_fail() with a message
 * that names the spec part at fault. close() releases everything, including
 * packets the driver still holds.
 *
 * Bursts follow the public contract (port.h): counts, never errors; drivers
 * count into port->qstats[queue]. What a receive costs per packet is the
 * point of a port, so the per-packet work is only what the application
 * asked for:
 *
 *  - packets and bytes are always counted, bytes from what the path hands
 *    over anyway (a descriptor's or a syscall's length, or the length the
 *    driver just wrote), never by reading a packet line that the receive
 *    would not otherwise touch; a driver that only passes pointers (pair)
 *    has the sender count them for the receiver, as the packet lands in
 *    its queue, and reports them through qstats();
 *  - port and queue are stamped where the driver writes the packet's
 *    metadata anyway (it fills data and len); a driver that only passes
 *    pointers (pair) has the sender stamp them, on a line it just used;
 *  - a receive time only when port->rx_ts (SL_PORT_F_RX_TS, or a capture
 *    decorator): one sl_time_ns() per burst, sl_port_rx_stamp() or the
 *    same inside the driver's own loop; otherwise SL_PKT_F_RX_TS is clear.
 *
 * The port layer adds decorators (capture, fault) around the driver's
 * bursts; drivers do not see them. It also bounds the queue number: a
 * burst reaches the driver only for a queue below n_queues (the table in
 * sl_port.fp, set once open() and the decorators are done).
 */
#ifndef SL_PORT_DRIVER_H
#define SL_PORT_DRIVER_H

#include <pthread.h>

#include <sluice/mem.h>
#include <sluice/port.h>

#include "core/log.h"
#include "port/busy_poll.h" /* the busy_poll flag, the same on every driver */
#include "port/spec.h"

struct sl_port;

/* sl_driver.caps */
/* The path computes checksums itself (a kernel socket): sl_tx_burst leaves
 * SL_PKT_F_TX_* to it and does no software fill. */
#define SL_DRV_CAP_TX_CSUM (1u << 0)
/* The driver reads every packet it sends anyway: it does the software fill
 * of SL_PKT_F_TX_* itself, in that pass, with sl_port_tx_csum_one(), so
 * that sl_tx_burst does not make a second pass over the packets (it still
 * does when a decorator must see the filled frames). */
#define SL_DRV_CAP_TX_CSUM_SW (1u << 1)
/* The port's own pool may have buffers of any size (it is no UMEM): the
 * port pads them so that packet metadata spreads over the cache sets. */
#define SL_DRV_CAP_PAD_POOL (1u << 2)

struct sl_match; /* net/match.h */

struct sl_driver {
	const char *name; /* the spec prefix */
	unsigned caps; /* SL_DRV_CAP_* */
	const char *const *keys; /* option keys it takes, NULL-terminated */
	size_t priv_size;
	int (*open)(struct sl_port *port, const struct sl_spec *spec);
	void (*close)(struct sl_port *port);
	uint16_t (*rx_burst)(struct sl_port *port, uint16_t queue,
			     struct sl_pkt **pkts, uint16_t n);
	uint16_t (*tx_burst)(struct sl_port *port, uint16_t queue,
			     struct sl_pkt **pkts, uint16_t n);
	/* optional: the receive to call while port->rx_ts is on; a driver
	 * that gives it has an rx_burst that stamps nothing and reads no
	 * port->rx_ts (pair: that one test per burst cost its row of
	 * `make bench` 4-6%); sl_port_drv_rx picks */
	uint16_t (*rx_burst_ts)(struct sl_port *port, uint16_t queue,
				struct sl_pkt **pkts, uint16_t n);
	/* optional: counters of sl_queue_stats the driver keeps elsewhere
	 * than in port->qstats, written over what was read there (pair: the
	 * receive counters, which the sender counts); any thread */
	void (*qstats)(struct sl_port *port, uint16_t queue,
		       struct sl_queue_stats *st);
	/* optional: like sl_port_xstats, for the driver's own counters */
	int (*xstats)(struct sl_port *port, struct sl_xstat *out, unsigned n);
	/* optional: the driver moving frames now (sl_port_path); without it
	 * the driver's own name */
	const char *(*path)(struct sl_port *port);
	/* optional: sl_port_queue_fd; without it -ENOTSUP */
	int (*queue_fd)(struct sl_port *port, uint16_t queue);
	/* optional: sl_port_set_match, the rules text (as the caller gave
	 * it) and parsed; without it -EOPNOTSUPP. No lock held: the driver
	 * takes what it shares. */
	int (*set_match)(struct sl_port *port, const char *text,
			 const struct sl_match *m);
	/* optional: what sl_port_rx_ts_on needs of the driver beyond
	 * port->rx_ts (xdp: the program's stamps); no lock held */
	int (*rx_ts_on)(struct sl_port *port);
};

struct sl_deco; /* decorators: port/deco.c */

/*
 * A queue's counters, written by the queue's thread without atomics (the
 * drivers' and decorators' bursts). Not the public struct sl_queue_stats,
 * whose layout is ABI: sl_port_stats and sl_port_queue_stats copy from
 * here field by field (port.c), so this one may change freely. Its fields
 * are the public list's (SL_QUEUE_STATS_FIELDS), so the two never differ. One cache
 * line per queue: queues run on different threads.
 */
#define SL_PORT_QSTATS_FIELD(name) uint64_t name;
struct sl_port_qstats {
	SL_QUEUE_STATS_FIELDS(SL_PORT_QSTATS_FIELD)
} SL_CACHE_ALIGNED;
#undef SL_PORT_QSTATS_FIELD

/* Counters the port layer keeps per queue, written by the queue's thread. */
struct sl_port_qx {
	uint64_t tx_csum_sw; /* checksums filled in software (SL_PKT_F_TX_*) */
	uint64_t tx_csum_unfillable; /* asked of a frame without one: sent as is */
} SL_CACHE_ALIGNED;

struct sl_port {
	/* first: sl_rx_burst and sl_tx_burst read it (sluice/port.h); the
	 * port layer sets it once open() and the decorators are done */
	struct sl_port_fp_ fp;
	const struct sl_driver *drv;
	void *priv; /* priv_size bytes, zeroed, cache-line aligned */
	struct sl_pool *pool; /* receive buffers */
	bool own_pool;
	bool rx_ts; /* stamp receive times: read on every rx burst */
	uint16_t n_queues;
	uint16_t port_id;
	const struct sl_port_opts *opts; /* valid during open() only */
	struct sl_port_qstats *qstats; /* SL_PORT_MAX_QUEUES of them */
	struct sl_port_qx *qx; /* port-layer counters, one line per queue */
	struct sl_port_info info; /* drivers fill mode, name, ... in open() */
	struct sl_deco *deco; /* NULL when no decorator */
	pthread_mutex_t lock; /* control path */
};

/* Record a faster path that was refused, for sl_port_info. */
void sl_port_refuse(struct sl_port *port, const char *path, const char *fmt,
		    ...) SL_PRINTF(3, 4);
/* Mark the port EOF or ERROR with a message (the data path goes on
 * returning 0). */
void sl_port_set_state(struct sl_port *port, enum sl_port_state state,
		       const char *fmt, ...) SL_PRINTF(3, 4);

/* The driver's receive to call now: its rx_burst_ts while the port stamps
 * receive times, when it has one. For the port layer's own paths (the
 * burst table, the decorators). */
static inline sl_burst_fn_ *sl_port_drv_rx(const struct sl_port *port)
{
	if (port->drv->rx_burst_ts &&
	    __atomic_load_n(&port->rx_ts, __ATOMIC_ACQUIRE))
		return port->drv->rx_burst_ts;
	return port->drv->rx_burst;
}

/* Stamp n received packets with one clock read when the port asks for
 * receive times; nothing otherwise. For drivers whose receive loop does
 * not touch the packets. Fast path. */
static inline void sl_port_rx_stamp(const struct sl_port *port,
				    struct sl_pkt *const *pkts, unsigned n)
{
	uint64_t now;
	unsigned i;

	if (!port->rx_ts || !n)
		return;
	now = sl_time_ns();
	for (i = 0; i < n; i++) {
		pkts[i]->rx_ts = now;
		pkts[i]->flags |= SL_PKT_F_RX_TS;
	}
}

/* The software fill of SL_PKT_F_TX_* for one packet that asks for it, with
 * its counters (SL_DRV_CAP_TX_CSUM_SW drivers). Fast path. */
static inline void sl_port_tx_csum_one(struct sl_port *port, uint16_t queue,
				       struct sl_pkt *p)
{
	port->qx[queue].tx_csum_sw++;
	if (sl_unlikely(sl_pkt_csum_fill(p) != 0))
		port->qx[queue].tx_csum_unfillable++;
}

/* Helper for xstats callbacks: store (name, value) at out[i] if i < n. */
static inline void sl_xstat_put(struct sl_xstat *out, unsigned n, unsigned i,
				const char *name, uint64_t value)
{
	if (i < n) {
		sl_strlcpy(out[i].name, name, sizeof(out[i].name));
		out[i].value = value;
	}
}

extern const struct sl_driver sl_driver_udp;
extern const struct sl_driver sl_driver_pair;
extern const struct sl_driver sl_driver_pcap;
extern const struct sl_driver sl_driver_packet;
extern const struct sl_driver sl_driver_auto;
#ifdef SL_HAVE_XDP /* set by the build when libxdp and libbpf are there */
extern const struct sl_driver sl_driver_xdp;
#endif

/* Every driver, in the order "unknown driver" messages list them; NULL at
 * the end. */
extern const struct sl_driver *const sl_drivers[];

/* The driver registered under name, or NULL. */
const struct sl_driver *sl_driver_find(const char *name);

#endif
