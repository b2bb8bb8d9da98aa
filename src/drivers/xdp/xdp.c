// SPDX-License-Identifier: MIT
/*
 * The AF_XDP driver: "xdp:IFACE[,queue=N][,queues=N|A-B][,mode=...]
 * [,match=RULES][,replace][,busy_poll]".
 *
 * The UMEM is the port's pool region: chunk = pool buffer, and the UMEM
 * headroom is SL_PKT_META (plus whatever the pool asks beyond the kernel's
 * XDP_PACKET_HEADROOM), so the kernel writes a frame exactly where
 * sl_pkt_reset would put it and a received frame is handed over by setting
 * data and len on the struct sl_pkt at the start of its chunk: no copy.
 * Ports given the same pool share one UMEM (the first socket owns it, the
 * others bind with XDP_SHARED_UMEM and their own fill and completion
 * rings), so forwarding between them only posts an address.
 *
 * Only traffic the port's match= rules name reaches the sockets: our
 * steering program (steer.c), attached through a BPF link so that it dies
 * with the process, redirects matching frames to the socket of their RX
 * queue and passes every other frame to the kernel. One program per
 * interface, shared by the ports on it (different queues).
 *
 * Every descriptor the kernel hands back is checked (xsk_desc.c) before it
 * is followed, and the driver knows which chunks the kernel holds, per
 * socket, so that close gives every one of them back to the pool.
 *
 * Two process-wide registries, under one mutex (control path only): UMEMs
 * by pool and steering programs by (network namespace, ifindex).
 *
 * The device going away (deleted, or moved to another namespace) is told
 * by the kernel to the calls the fast path makes anyway: on
 * NETDEV_UNREGISTER it unbinds every socket on the device (net/xdp/xsk.c,
 * xsk_notifier -> xsk_unbind_dev), and from then on sendto and recvfrom
 * return ENXIO (xsk_check_common), where a device merely down gives
 * ENETDOWN. So the TX kick notices at once on a port that sends; a port
 * that only waits makes one non-blocking recvfrom per XDP_GONE_CHECK_NS of
 * empty receive bursts (a coarse clock read, no system call, on the others;
 * nothing per packet). The port then goes to SL_PORT_ERROR, once, and its
 * bursts stop calling the kernel: receive still hands over what the RX ring
 * held, transmit takes nothing. Close gives everything back as usual.
 *
 * Over 800 lines (the bursts, UMEM sharing and the control path together):
 * its split by job is issue 15's redesign, which takes the whole tree's
 * layout at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "steer_abi.h" /* bpf/: the program's ABI */
#include "drivers/xdp/steer.h"
#include "drivers/xdp/xsk_desc.h"
#include "net/ifdev.h"
#include "net/match.h"
#include "port/driver.h"

#define XDP_BURST 256 /* descriptors handled per ring read */
#define XDP_FILL_BATCH 64 /* fill ring top-ups, in buffers */
#define XDP_PACKET_HEADROOM_ 256 /* the kernel's, in front of every frame */
#define BUSY_RETRIES 100 /* 10 ms apart: a dead socket's queue frees */
#define BUSY_WAIT_US 10000
/* an idle queue asks the kernel whether its device is still there this
 * often: well within the ~100 ms a user waits for the port to say so */
#define XDP_GONE_CHECK_NS (50 * 1000 * 1000ull)

#define PERM_HINT                                                               \
	"needs CAP_NET_ADMIN, CAP_BPF and CAP_NET_RAW (run as root, or setcap " \
	"cap_net_admin,cap_bpf,cap_net_raw+ep BINARY)"

enum xdp_mode {
	MODE_ZC = 0, /* XDP_ZEROCOPY, program in the driver */
	MODE_NATIVE, /* XDP_COPY, program in the driver */
	MODE_GENERIC, /* XDP_COPY, program after the skb is built */
	MODE_N,
};

static const char *const mode_name[MODE_N] = { "zc", "copy-native",
					       "copy-generic" };
static const char *const mode_path[MODE_N] = { "xdp-zc", "xdp-copy-native",
					       "xdp-copy-generic" };

/* One UMEM: a pool's region registered with the kernel. */
struct xdp_umem {
	struct xdp_umem *next;
	struct sl_pool *pool;
	struct xsk_umem *umem;
	struct sl_xsk_geom g;
	enum xdp_mode mode; /* fixed by the first socket; shared ones follow */
	unsigned refs; /* queues of open ports using it */
	uint32_t ring_size; /* fill/completion sizes given at creation */
	uint32_t headroom; /* UMEM frame headroom (pool_geom) */
	bool slot_used[SL_XSK_MAX_SLOTS + 1];
	/* The owner socket's fd is the UMEM's: libxdp keeps it bound until
	 * the UMEM goes, so an owner whose port closes first waits here. */
	struct xdp_q *parked;
};

/* One steering program attached to one interface. */
struct xdp_iface {
	struct xdp_iface *next;
	uint64_t netns;
	int ifindex;
	struct sl_steer *steer;
	enum xdp_mode mode;
	struct sl_match match;
	uint64_t busy_q; /* device queues with a socket of ours */
	unsigned refs; /* ports */
};

/* One queue: an AF_XDP socket and its four rings. */
struct xdp_q {
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_socket *xsk;
	struct xdp_umem *um;
	struct sl_pool *pool;
	const struct sl_xsk_geom *g;
	int fd;
	uint8_t slot;
	bool busy_poll;
	uint16_t port_id;
	uint16_t queue; /* port queue number */
	uint32_t dev_queue; /* device RX/TX queue */
	int ifindex; /* device, in the namespace netns */
	uint64_t netns;
	char ifname[IFNAMSIZ];
	uint32_t fill_target; /* buffers kept with the kernel for RX */
	uint32_t in_fill; /* buffers given to the fill ring, not back yet */
	uint32_t max_copy; /* largest frame a buffer of ours takes */
	uint64_t next_check_ns; /* coarse clock: next idle device check */
	uint32_t tx_last_cons; /* TX ring consumer when last seen moving */
	uint64_t tx_cons_ns; /* coarse clock then */
	/* driver counters, written by the queue's thread only */
	uint64_t rx_invalid_desc;
	uint64_t tx_invalid_comp;
	uint64_t tx_copied;
	uint64_t fill_ring_empty;
	uint64_t wakeups; /* kicks: TX (sendto) and fill (recvfrom) */
	uint64_t tx_wakeups; /* of which TX */
	uint64_t tx_stall_kicks; /* of which TX the kernel did not ask for */
	uint64_t link_checks; /* idle recvfrom calls asking for the device */
} SL_CACHE_ALIGNED;

struct xdp_priv {
	struct xdp_umem *um;
	struct xdp_iface *ifc;
	char ifname[IFNAMSIZ];
	int ifindex;
	uint32_t qbase;
	uint16_t n;
	int gone; /* the device went away: set once, read by every burst */
	struct xdp_q *q[SL_PORT_MAX_QUEUES];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xdp_umem *umems;
static struct xdp_iface *ifaces;

/* ---- libxdp's messages go to our log, never to stderr ----------------- */

SL_PRINTF(2, 0)
static int xdp_libxdp_print(enum libxdp_print_level level, const char *fmt,
			    va_list ap)
{
	(void)level;
	sl_vlog(SL_LOG_DEBUG, fmt, ap);
	return 0;
}

/* ---- small helpers ---------------------------------------------------- */

static uint64_t netns_id(void)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) != 0)
		return 0;
	return (uint64_t)st.st_ino;
}

static int ethtool_ioctl(const char *ifname, void *data)
{
	struct ifreq ifr;
	int fd, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	sl_strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	ifr.ifr_data = data;
	r = ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
	close(fd);
	return r;
}

/* The kernel driver's name ("veth", "ice", ...) or "?". */
static void driver_name(const char *ifname, char *out, size_t len)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };

	if (ethtool_ioctl(ifname, &di) == 0 && di.driver[0])
		sl_strlcpy(out, di.driver, len);
	else
		sl_strlcpy(out, "?", len);
}

/* RX queues the device has now, or 0 when it does not say. */
static unsigned rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };

	if (ethtool_ioctl(ifname, &ch) != 0)
		return 0;
	return ch.rx_count + ch.combined_count;
}

static void get_mac(const char *ifname, uint8_t *mac)
{
	struct ifreq ifr;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	sl_strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, SL_ETH_ALEN);
	close(fd);
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t log2u(uint32_t v)
{
	uint32_t s = 0;

	while ((1u << s) < v)
		s++;
	return s;
}

/* ---- the fast path ---------------------------------------------------- */

/*
 * Wake the kernel to send what the TX ring still holds. In copy mode the
 * sending is done inside sendto(), a bounded batch per call (32 frames on
 * this kernel): a kick only after posting new frames strands the tail of a
 * long burst, and once the ring is full nothing new is posted and nothing
 * is kicked: TX stalls. So both bursts kick while frames are waiting, and
 * in copy mode a kick goes on until the ring is empty (or XDP_KICK_MAX
 * calls), since each call sends only its batch: one call per burst of 256
 * held xdp-copy forwarding to ~32 frames per receive burst. In zero-copy
 * mode one call wakes the driver, which sends the lot.
 */
#define XDP_KICK_MAX 16

static bool tx_waiting(struct xdp_q *q)
{
	return xsk_prod_nb_free(&q->tx, q->tx.size) < q->tx.size;
}

static uint64_t coarse_ns(void);

/*
 * Zero-copy: the driver sends from the TX ring on its own while it keeps
 * need_wakeup clear, and a socket that trusts the flag never kicks then.
 * A driver that leaves frames in the ring with the flag clear would hold
 * them for ever; once in the lab (virtio-net, Linux 7.3) three forwarded
 * frames never left, which later runs did not repeat. So frames waiting
 * while the ring's consumer has not moved for XDP_TX_STALL_NS get a kick
 * all the same, counted in tx_stall_kicks: a coarse clock read per burst
 * while frames wait, nothing else.
 */
#define XDP_TX_STALL_NS (2 * 1000 * 1000ull)

static bool tx_stalled(struct xdp_q *q)
{
	uint32_t cons = __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE);
	uint64_t now = coarse_ns();

	if (cons != q->tx_last_cons || !q->tx_cons_ns) {
		q->tx_last_cons = cons;
		q->tx_cons_ns = now;
		return false;
	}
	return now - q->tx_cons_ns > XDP_TX_STALL_NS;
}

static void reap_completions(struct xdp_q *q);

/* Kick TX (above). Returns true when the kernel says the socket is no
 * longer bound: its device went away (ENXIO; a device that is only down
 * gives ENETDOWN, and the next burst tries again). */
static bool kick_tx(struct xdp_q *q)
{
	unsigned calls = q->um->mode == MODE_ZC ? 1 : XDP_KICK_MAX;
	bool stalled = false;

	if (!xsk_ring_prod__needs_wakeup(&q->tx)) {
		if (q->um->mode != MODE_ZC || !tx_waiting(q) ||
		    !(stalled = tx_stalled(q)))
			return false;
	}
	while (calls-- && tx_waiting(q)) {
		q->wakeups++;
		q->tx_wakeups++;
		q->tx_stall_kicks += stalled;
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) == 0)
			continue;
		if (errno == EAGAIN) /* completion ring full: make room */
			reap_completions(q);
		else if (sl_unlikely(errno == ENXIO))
			return true;
		else if (errno != EINTR)
			break; /* EBUSY, ENETDOWN, ...: the next burst tries */
	}
	return false;
}

/* The vDSO's coarse clock: no system call, a few ns, ticks of 1-4 ms. */
static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool port_gone(const struct xdp_priv *pv)
{
	return __atomic_load_n(&pv->gone, __ATOMIC_RELAXED);
}

/* The device went away: say so once, for the whole port (every queue is
 * on that device). Called from a burst, once in the port's life. */
__attribute__((cold, noinline)) static void xdp_gone(struct sl_port *port)
{
	struct xdp_priv *pv = port->priv;

	if (__atomic_exchange_n(&pv->gone, 1, __ATOMIC_RELAXED))
		return;
	sl_port_set_state(port, SL_PORT_ERROR,
			  "xdp:%s: interface gone (ifindex %d deleted or "
			  "moved out of this namespace)",
			  pv->ifname, pv->ifindex);
	sl_warn("xdp:%s: interface gone (ifindex %d deleted or moved out of "
		"this namespace); the port is in ERROR, close it",
		pv->ifname, pv->ifindex);
}

/* A burst that moved nothing: at most every XDP_GONE_CHECK_NS, ask the
 * kernel whether the socket is still bound (a non-blocking recvfrom does
 * nothing else in copy mode; ENXIO: unbound). */
static void idle_check(struct sl_port *port, struct xdp_q *q)
{
	uint64_t now = coarse_ns();

	if (sl_likely(now < q->next_check_ns))
		return;
	q->next_check_ns = now + XDP_GONE_CHECK_NS;
	q->link_checks++;
	if (recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 &&
	    errno == ENXIO)
		xdp_gone(port);
}

/* Give completed TX buffers back to the pool. */
static void reap_completions(struct xdp_q *q)
{
	struct sl_pkt *done[XDP_BURST];
	struct sl_xsk_take_counts c = { 0 };
	unsigned n;

	do {
		n = sl_xsk_comp_take(&q->comp, q->g, q->slot, done, XDP_BURST,
				     &c);
		if (n)
			sl_pool_put_bulk(q->pool, done, n);
	} while (n == XDP_BURST);
	q->tx_invalid_comp += c.invalid;
}

/* Top the fill ring up to fill_target from the pool, in batches. When the
 * pool is dry the kernel goes on with what it has (or drops, counted by
 * XDP_STATISTICS); the next call tries again, so nothing stalls. */
static void refill(struct sl_port *port, struct xdp_q *q)
{
	struct sl_pkt *b[XDP_FILL_BATCH];
	uint32_t idx, want, i;

	while (q->fill_target - q->in_fill >= XDP_FILL_BATCH / 4) {
		want = SL_MIN(q->fill_target - q->in_fill, XDP_FILL_BATCH);
		if (sl_pool_get_bulk(q->pool, b, want) != 0) {
			want = XDP_FILL_BATCH / 4;
			if (sl_pool_get_bulk(q->pool, b, want) != 0) {
				port->qstats[q->queue].rx_nombuf++;
				if (q->in_fill == 0)
					q->fill_ring_empty++;
				return;
			}
		}
		/* in_fill <= fill_target <= ring size: the room is there */
		if (xsk_ring_prod__reserve(&q->fill, want, &idx) != want) {
			sl_pool_put_bulk(q->pool, b, want);
			return;
		}
		for (i = 0; i < want; i++) {
			uint64_t a = sl_xsk_chunk_addr(q->g, b[i]);

			q->g->owner[a >> q->g->shift] = q->slot;
			*xsk_ring_prod__fill_addr(&q->fill, idx + i) = a;
		}
		xsk_ring_prod__submit(&q->fill, want);
		q->in_fill += want;
	}
}

static uint16_t xdp_rx_burst(struct sl_port *port, uint16_t queue,
			     struct sl_pkt **pkts, uint16_t n)
{
	struct xdp_priv *pv = port->priv;
	struct xdp_q *q = pv->q[queue];
	struct sl_queue_stats *st = &port->qstats[queue];
	struct sl_pkt *rec[XDP_BURST];
	struct sl_xsk_take_counts c = { 0 };
	unsigned got, n_rec = 0;
	bool gone = port_gone(pv);

	reap_completions(q);
	if (sl_likely(!gone) && sl_unlikely(kick_tx(q))) {
		xdp_gone(port);
		gone = true;
	}
	if (n > XDP_BURST)
		n = XDP_BURST;
	got = sl_xsk_rx_take(&q->rx, q->g, q->slot, q->port_id, queue, pkts, n,
			     rec, &n_rec, &c);
	q->in_fill -= got + n_rec;
	sl_port_rx_stamp(port, pkts, got);
	if (sl_unlikely(n_rec))
		sl_pool_put_bulk(q->pool, rec, n_rec);
	if (sl_unlikely(c.invalid)) {
		q->rx_invalid_desc += c.invalid;
		st->rx_invalid += c.invalid;
	}
	st->rx_packets += got;
	st->rx_bytes += c.bytes;
	refill(port, q);
	if (got || sl_unlikely(gone))
		return (uint16_t)got; /* gone: what the ring held, then 0 */
	/* zero-copy drivers sleep until told there is fill ring to use;
	 * with busy polling the recvfrom is what runs the driver's NAPI.
	 * Either way the call answers ENXIO once the device is gone. */
	if (xsk_ring_prod__needs_wakeup(&q->fill) || q->busy_poll) {
		q->wakeups++;
		if (recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 &&
		    sl_unlikely(errno == ENXIO))
			xdp_gone(port);
	} else {
		idle_check(port, q);
	}
	return (uint16_t)got;
}

/* Put a packet from another pool into a buffer of ours. NULL when our pool
 * is dry. */
static struct sl_pkt *copy_in(struct xdp_q *q, struct sl_pkt *p)
{
	struct sl_pkt *c;

	if (sl_pool_get_bulk(q->pool, &c, 1) != 0)
		return NULL;
	if (sl_pkt_set(c, p->data, p->len) != 0) {
		sl_pool_put_bulk(q->pool, &c, 1);
		return NULL;
	}
	return c;
}

static uint16_t xdp_tx_burst(struct sl_port *port, uint16_t queue,
			     struct sl_pkt **pkts, uint16_t n)
{
	struct xdp_priv *pv = port->priv;
	struct xdp_q *q = pv->q[queue];
	struct sl_queue_stats *st = &port->qstats[queue];
	const struct sl_xsk_geom *g = q->g;
	uint32_t idx, room, i, posted = 0, taken = 0;
	uint64_t bytes = 0;

	/* the device went away: take nothing, the caller keeps its packets */
	if (sl_unlikely(port_gone(pv)))
		return 0;
	reap_completions(q);
	room = xsk_prod_nb_free(&q->tx, n);
	if (room > n)
		room = n;
	if (room && xsk_ring_prod__reserve(&q->tx, room, &idx) != room)
		room = 0;
	for (i = 0; i < room; i++) {
		struct sl_pkt *p = pkts[i];
		struct xdp_desc *d;
		uint64_t addr;

		if (sl_unlikely(p->pool != q->pool)) {
			struct sl_pkt *c;

			if (p->len > q->max_copy) {
				/* cannot be sent from a chunk: taken, dropped */
				st->tx_dropped++;
				sl_pkt_free(p);
				taken++;
				continue;
			}
			c = copy_in(q, p);
			if (!c)
				break; /* our pool is dry: back-pressure */
			sl_pkt_free(p);
			q->tx_copied++;
			p = c;
		}
		addr = (uint64_t)(p->data - g->base);
		g->owner[addr >> g->shift] = q->slot | SL_XSK_OWN_TX;
		d = xsk_ring_prod__tx_desc(&q->tx, idx + posted);
		d->addr = addr;
		d->len = p->len;
		d->options = 0;
		bytes += p->len;
		posted++;
		taken++;
	}
	/* give back the slots reserved but not written (libxdp has no
	 * cancel for a producer ring; the cached index is ours alone) */
	q->tx.cached_prod -= room - posted;
	if (posted)
		xsk_ring_prod__submit(&q->tx, posted);
	if (sl_unlikely(kick_tx(q))) {
		/* posted to a ring nobody reads any more: never sent; the
		 * buffers come back to the pool at close */
		xdp_gone(port);
		st->tx_errors += posted;
		return (uint16_t)taken;
	}
	st->tx_packets += posted;
	st->tx_bytes += bytes;
	if (taken < n) {
		st->tx_full++;
		/* a ring that stays full, with no kick to tell (zero-copy
		 * without need_wakeup): ask now and then */
		if (!taken)
			idle_check(port, q);
	}
	return (uint16_t)taken;
}

/* ---- control path: sockets and UMEMs ---------------------------------- */

/* The pool's region as a UMEM geometry, or -EINVAL with why. */
static int pool_geom(const struct sl_spec *spec, struct sl_pool *pool,
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
 * pool (umem_put), so a pool destroyed after closing its ports leaves none;
 * the region is compared too, so that an entry left by a pool destroyed
 * with ports still open is never taken for a new pool malloc'ed at the same
 * address: the kernel pinned the old region's pages, not the new ones.
 */
static struct xdp_umem *umem_find(struct sl_pool *pool,
				  const struct sl_xsk_geom *g)
{
	struct xdp_umem *u;

	for (u = umems; u; u = u->next)
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
 * UMEM goes: it waits in u->parked and umem_release finishes it. Locked. */
static void q_destroy(struct xdp_q *q)
{
	struct xdp_umem *u = q->um;
	libxdp_print_fn_t old;

	if (q->xsk) {
		reap_completions(q);
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
static void umem_release(struct xdp_umem *u)
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

static void umem_free(struct xdp_umem *u)
{
	struct xdp_umem **pp;

	umem_release(u);
	for (pp = &umems; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	free(u->g.owner);
	free(u);
}

/* Drop one queue's reference to the UMEM; the last one deletes it. */
static void umem_put(struct xdp_umem *u)
{
	if (--u->refs == 0)
		umem_free(u);
}

static const char *errname(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "?";
}

/*
 * Explain a bind/attach errno in the words of the mode that failed. A
 * zero-copy refusal says what the kernel rejected where it can be known
 * (a device that cannot give it although its driver offers it), else what
 * was asked of it, rather than guess that the driver lacks it.
 */
static void mode_why(enum xdp_mode m, int err, const char *drv,
		     const struct xdp_priv *pv, const struct xdp_umem *u,
		     unsigned queue, char *why, size_t len)
{
	if (m == MODE_ZC && (err == EOPNOTSUPP || err == EINVAL) &&
	    sl_if_zc_blocker(pv->ifname, drv, why, len))
		return;
	if (m == MODE_ZC && err == EOPNOTSUPP)
		snprintf(why, len,
			 "zero-copy not supported by driver %s (%s): it has "
			 "no AF_XDP zero-copy support",
			 drv, errname(err));
	else if (m == MODE_ZC && err == EINVAL)
		snprintf(why, len,
			 "driver %s refused the zero-copy bind (EINVAL) of "
			 "queue %u with UMEM chunks of %u bytes, %u bytes of "
			 "headroom beyond the kernel's %u",
			 drv, queue, u->g.chunk, u->headroom,
			 XDP_PACKET_HEADROOM_);
	else if (m != MODE_GENERIC && err == EOPNOTSUPP)
		snprintf(why, len,
			 "driver %s has no native XDP (%s); generic mode "
			 "works everywhere, slower",
			 drv, errname(err));
	else if (err == EBUSY)
		snprintf(why, len,
			 "busy (EBUSY): another AF_XDP socket or XDP program "
			 "holds this queue or interface");
	else
		snprintf(why, len, "%s (%s)", strerror(err), errname(err));
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
	return q->ifindex == pv->ifindex && q->netns == netns_id() &&
	       q->dev_queue == dq && !strcmp(q->ifname, pv->ifname) &&
	       (int)if_nametoindex(pv->ifname) == q->ifindex;
}

/*
 * Make the socket of device queue dq on the UMEM u (a new UMEM's first
 * socket becomes its owner). For a new UMEM, bind_flags say copy or
 * zero-copy; shared sockets inherit the owner's. Returns 0 or -errno (the
 * errno of the step that failed, no message). Locked.
 */
static int q_create(struct xdp_priv *pv, struct xdp_umem *u, uint32_t dq,
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
		q->tx_copied = q->fill_ring_empty = q->wakeups = 0;
		q->tx_wakeups = q->tx_stall_kicks = 0;
		q->link_checks = 0;
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
	q->netns = netns_id();
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
	q->fd = xsk_socket__fd(q->xsk);
	u->refs++;
	*out = q;
	return 0;
fail:
	libxdp_set_print(old);
	u->slot_used[q->slot] = false;
	free(q);
	return err;
}

/* ---- control path: the steering program ------------------------------ */

static struct xdp_iface *iface_find(uint64_t ns, int ifindex)
{
	struct xdp_iface *f;

	for (f = ifaces; f; f = f->next)
		if (f->netns == ns && f->ifindex == ifindex)
			return f;
	return NULL;
}

static void iface_put(struct xdp_iface *f)
{
	struct xdp_iface **pp;

	if (--f->refs)
		return;
	sl_steer_destroy(f->steer); /* closes the link: detached */
	for (pp = &ifaces; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	free(f);
}

/* Detach whatever XDP program sits on the interface (replace). */
static int detach_foreign(const struct sl_spec *spec, int ifindex,
			  const char *who)
{
	char still[200];
	int r;

	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	r = sl_steer_find_attached(ifindex, still, sizeof(still));
	if (r == SL_STEER_FOUND_NONE)
		return 0;
	return sl_spec_fail(spec, EBUSY,
			    "replace: could not detach %s (a program "
			    "attached through a BPF link goes only when its "
			    "owner closes it)",
			    r > 0 ? still : who);
}

static int steer_attach_new(struct sl_port *port, const struct sl_spec *spec,
			    struct xdp_priv *pv, enum xdp_mode m,
			    const struct sl_match *match, struct sl_steer **out)
{
	struct sl_steer_rule rules[SL_MATCH_MAX_RULES];
	struct sl_steer *s;
	unsigned i;
	int err;

	(void)port;
	for (i = 0; i < match->n; i++) {
		rules[i].kind = match->rule[i].kind == SL_MATCH_ALL ?
					SL_STEER_RULE_ALL :
					SL_STEER_RULE_UDP;
		rules[i].lo = match->rule[i].lo;
		rules[i].hi = match->rule[i].hi;
	}
	err = sl_steer_load(&s, rules, match->n);
	if (err) {
		if (err == -EPERM)
			return sl_spec_fail(spec, EPERM, PERM_HINT);
		return sl_spec_fail(spec, -err, "%s", sl_last_error());
	}
	err = sl_steer_attach(s, pv->ifindex,
			      m == MODE_GENERIC ? SL_STEER_MODE_SKB :
						  SL_STEER_MODE_DRV);
	if (err) {
		sl_steer_destroy(s);
		return err; /* the caller words the refusal */
	}
	*out = s;
	return 0;
}

/* ---- open / close ----------------------------------------------------- */

static void xdp_close_locked(struct sl_port *port)
{
	struct xdp_priv *pv = port->priv;
	unsigned i;

	for (i = 0; i < pv->n; i++)
		if (pv->q[i] && pv->ifc) {
			sl_steer_set_xsk(pv->ifc->steer, pv->q[i]->dev_queue,
					 -1);
			pv->ifc->busy_q &= ~(1ull << pv->q[i]->dev_queue);
		}
	if (pv->ifc)
		iface_put(pv->ifc);
	pv->ifc = NULL;
	/* last queue first, so that a UMEM owner goes with its UMEM */
	for (i = pv->n; i-- > 0;) {
		struct xdp_q *q = pv->q[i];

		if (!q)
			continue;
		pv->q[i] = NULL;
		q_destroy(q);
		umem_put(pv->um);
	}
	pv->um = NULL;
	pv->n = 0;
}

static void xdp_close(struct sl_port *port)
{
	pthread_mutex_lock(&reg_lock);
	xdp_close_locked(port);
	pthread_mutex_unlock(&reg_lock);
}

/* queue=N, queues=N (from queue) or queues=A-B. */
static int parse_queues(const struct sl_spec *spec, uint32_t *base, uint32_t *n)
{
	const char *qs = sl_spec_get(spec, "queues");
	uint64_t a, b;
	int err;

	err = sl_spec_u32(spec, "queue", 0, 0, 1023, base);
	if (err)
		return err;
	*n = 1;
	if (!qs)
		return 0;
	if (strchr(qs, '-')) {
		char lo[16], *dash;

		if (sl_spec_has(spec, "queue"))
			return sl_spec_fail(spec, EINVAL,
					    "give queue=N or queues=A-B, not "
					    "both");
		sl_strlcpy(lo, qs, sizeof(lo));
		dash = strchr(lo, '-');
		if (dash)
			*dash = '\0';
		if (!dash || sl_spec_parse_u64(lo, &a) ||
		    sl_spec_parse_u64(strchr(qs, '-') + 1, &b) || b < a ||
		    b - a + 1 > SL_PORT_MAX_QUEUES || b > 1023)
			return sl_spec_fail(spec, EINVAL,
					    "bad queues '%s': expected A-B "
					    "with A <= B, at most %d queues",
					    qs, SL_PORT_MAX_QUEUES);
		*base = (uint32_t)a;
		*n = (uint32_t)(b - a + 1);
		return 0;
	}
	if (sl_spec_parse_u64(qs, &a) || a < 1 || a > SL_PORT_MAX_QUEUES)
		return sl_spec_fail(spec, EINVAL,
				    "bad queues '%s': expected 1 to %d or A-B",
				    qs, SL_PORT_MAX_QUEUES);
	*n = (uint32_t)a;
	return 0;
}

static int parse_mode(const struct sl_spec *spec, bool try[MODE_N])
{
	const char *m = sl_spec_get(spec, "mode");

	memset(try, 0, MODE_N * sizeof(bool));
	if (!m || !strcmp(m, "auto")) {
		try[MODE_ZC] = try[MODE_NATIVE] = try[MODE_GENERIC] = true;
	} else if (!strcmp(m, "copy")) {
		try[MODE_NATIVE] = try[MODE_GENERIC] = true;
	} else if (!strcmp(m, "zc")) {
		try[MODE_ZC] = true;
	} else if (!strcmp(m, "copy-native") || !strcmp(m, "native")) {
		try[MODE_NATIVE] = true;
	} else if (!strcmp(m, "copy-generic") || !strcmp(m, "generic") ||
		   !strcmp(m, "skb")) {
		try[MODE_GENERIC] = true;
	} else {
		return sl_spec_fail(spec, EINVAL,
				    "bad mode '%s': expected auto, copy, zc, "
				    "copy-native or copy-generic",
				    m);
	}
	return 0;
}

static bool match_equal(const struct sl_match *a, const struct sl_match *b)
{
	unsigned i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->rule[i].kind != b->rule[i].kind ||
		    a->rule[i].lo != b->rule[i].lo ||
		    a->rule[i].hi != b->rule[i].hi)
			return false;
	return true;
}

/* Bring up every queue's socket in mode m, and the program if this port
 * is the interface's first. 0, or -errno with the refusal in why. */
static int try_mode(struct sl_port *port, const struct sl_spec *spec,
		    struct xdp_priv *pv, enum xdp_mode m,
		    struct sl_match *match, uint32_t ring, const char *drv,
		    char *why, size_t why_len)
{
	struct xdp_umem *u = pv->um;
	uint16_t flags = XDP_USE_NEED_WAKEUP;
	struct sl_steer *steer = NULL;
	unsigned i;
	int err;

	flags |= m == MODE_ZC ? XDP_ZEROCOPY : XDP_COPY;
	if (pv->ifc && pv->ifc->mode != m &&
	    (pv->ifc->mode == MODE_GENERIC || m == MODE_GENERIC)) {
		snprintf(why, why_len,
			 "the interface's steering program, shared with "
			 "another port, runs in %s mode",
			 pv->ifc->mode == MODE_GENERIC ? "generic (skb)" :
							 "native (driver)");
		return -EBUSY;
	}
	if (u->umem && u->mode != m) {
		snprintf(why, why_len,
			 "the pool's UMEM is already in %s mode (a UMEM has "
			 "one mode, set by its first socket)",
			 mode_name[u->mode]);
		return -EBUSY;
	}
	if (!u->umem)
		u->mode = m;
	for (i = 0; i < pv->n; i++) {
		err = q_create(pv, u, pv->qbase + i, ring, flags, &pv->q[i]);
		if (err)
			goto fail_q;
	}
	if (!pv->ifc) {
		err = steer_attach_new(port, spec, pv, m, match, &steer);
		if (err) {
			if (err == -EPERM || err == -EACCES)
				goto fail_keep;
			mode_why(m, -err, drv, pv, u, pv->qbase, why, why_len);
			snprintf(why + strlen(why), why_len - strlen(why),
				 " [attaching the program]");
			goto fail_sockets;
		}
		pv->ifc = calloc(1, sizeof(*pv->ifc));
		if (!pv->ifc) {
			sl_steer_destroy(steer);
			err = sl_spec_fail(spec, ENOMEM, "out of memory");
			goto fail_keep;
		}
		pv->ifc->netns = netns_id();
		pv->ifc->ifindex = pv->ifindex;
		pv->ifc->steer = steer;
		pv->ifc->mode = m;
		pv->ifc->match = *match;
		pv->ifc->refs = 1;
		pv->ifc->next = ifaces;
		ifaces = pv->ifc;
	} else {
		pv->ifc->refs++;
	}
	for (i = 0; i < pv->n; i++) {
		err = sl_steer_set_xsk(pv->ifc->steer, pv->qbase + i,
				       pv->q[i]->fd);
		if (err) {
			err = sl_spec_fail(spec, -err, "%s", sl_last_error());
			xdp_close_locked(port);
			return err;
		}
		pv->ifc->busy_q |= 1ull << (pv->qbase + i);
	}
	return 0;

fail_q:
	if (err == -EPERM || err == -EACCES) {
		err = sl_spec_fail(spec, EPERM, PERM_HINT);
		goto fail_keep;
	}
	if (err == -EBUSY) {
		/* held for longer than a dying socket takes: another mode
		 * would find it just as busy */
		err = sl_spec_fail(spec, EBUSY,
				   "queue %u of %s is taken by another AF_XDP "
				   "socket (EBUSY)",
				   pv->qbase + i, pv->ifname);
		goto fail_keep;
	}
	mode_why(m, -err, drv, pv, u, pv->qbase + i, why, why_len);
	if (i > 0)
		snprintf(why + strlen(why), why_len - strlen(why),
			 " [queue %u]", pv->qbase + i);
	goto undo;
fail_sockets:
	goto undo;
fail_keep:
	/* an error no other mode can cure: the message is set already */
	why[0] = '\0';
undo:
	/* last queue first: the UMEM owner (queue 0 of a new UMEM) goes
	 * last, with the UMEM, when nobody else uses it */
	for (i = pv->n; i-- > 0;)
		if (pv->q[i]) {
			q_destroy(pv->q[i]);
			pv->q[i] = NULL;
			u->refs--;
		}
	if (!u->refs)
		umem_release(u);
	return err;
}

static int xdp_open(struct sl_port *port, const struct sl_spec *spec)
{
	struct xdp_priv *pv = port->priv;
	struct sl_match match;
	struct sl_xsk_geom g = { 0 };
	bool try[MODE_N];
	uint32_t ring = port->opts->ring_size, qbase, nq, headroom = 0, cap;
	unsigned have, i;
	char drv[32], who[200], why[232], all[768];
	const char *mstr;
	int err = 0, found, m;

	if (!spec->target[0] || strlen(spec->target) >= IFNAMSIZ)
		return sl_spec_fail(spec, EINVAL,
				    "expected an interface name (at most %d "
				    "characters)",
				    IFNAMSIZ - 1);
	sl_strlcpy(pv->ifname, spec->target, sizeof(pv->ifname));
	err = parse_queues(spec, &qbase, &nq);
	if (!err)
		err = parse_mode(spec, try);
	if (err)
		return err;
	mstr = sl_spec_get(spec, "match");
	if (!mstr || !mstr[0])
		return sl_spec_fail(
			spec, EINVAL,
			"say which traffic to take from the kernel: "
			"match=udp:PORT, match=udp:LO-HI (joined with +), or "
			"match=all for every frame (ARP, SSH and ping "
			"included: the host loses them on this interface)");
	err = sl_match_parse(mstr, &match);
	if (err)
		return sl_spec_fail(spec, -err, "%s", sl_last_error());
	if (!is_pow2(ring) || ring < 64 || ring > 16384)
		return sl_spec_fail(spec, EINVAL,
				    "ring size %u: AF_XDP rings need a power "
				    "of two from 64 to 16384",
				    ring);
	err = pool_geom(spec, port->pool, &g, &headroom);
	if (err)
		return err;
	cap = sl_pool_capacity(port->pool);
	if (cap / (2 * nq) < XDP_FILL_BATCH)
		return sl_spec_fail(spec, EINVAL,
				    "a pool of %u buffers is too small for %u "
				    "queue(s): give each at least %u",
				    cap, nq, 2 * XDP_FILL_BATCH);

	pv->ifindex = (int)if_nametoindex(pv->ifname);
	if (!pv->ifindex)
		return sl_spec_fail(spec, ENODEV,
				    "no interface %s in this network namespace",
				    pv->ifname);
	if (qbase + nq > SL_STEER_MAX_QUEUES)
		return sl_spec_fail(spec, EINVAL,
				    "queues up to %d only (the steering "
				    "program's socket map)",
				    SL_STEER_MAX_QUEUES - 1);
	have = rx_queues(pv->ifname);
	if (have && qbase + nq > have)
		return sl_spec_fail(
			spec, EINVAL,
			"queue%s %u%s%.0u: %s has %u RX queue%s (ethtool -L %s "
			"combined %u gives it more, where the driver allows)",
			nq > 1 ? "s" : "", qbase, nq > 1 ? "-" : "",
			nq > 1 ? qbase + nq - 1 : 0, pv->ifname, have,
			have == 1 ? "" : "s", pv->ifname, qbase + nq);
	/* RSS spreads flows over every RX queue; frames matching match= on a
	 * queue no socket serves go to the kernel (steer_redirect_failed):
	 * say so now rather than let a user wonder where they went */
	if (have > nq)
		sl_warn("xdp:%s: this port serves %s %u%s%.0u of the %u RX "
			"queues of %s: matching frames that RSS puts on the "
			"others go to the kernel unless other ports serve "
			"them (counted in steer_redirect_failed); queues=0-%u "
			"serves them all",
			pv->ifname, nq > 1 ? "queues" : "queue", qbase,
			nq > 1 ? "-" : "", nq > 1 ? qbase + nq - 1 : 0, have,
			pv->ifname, have - 1);
	if (geteuid() != 0) {
		int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

		if (fd < 0 && (errno == EPERM || errno == EACCES))
			return sl_spec_fail(spec, EPERM, PERM_HINT);
		if (fd >= 0)
			close(fd);
	}
	driver_name(pv->ifname, drv, sizeof(drv));

	pthread_mutex_lock(&reg_lock);
	pv->ifc = iface_find(netns_id(), pv->ifindex);
	if (pv->ifc && !match_equal(&pv->ifc->match, &match)) {
		char a[128], b[128];

		sl_match_format(&pv->ifc->match, a, sizeof(a));
		sl_match_format(&match, b, sizeof(b));
		pv->ifc = NULL;
		err = sl_spec_fail(spec, EBUSY,
				   "another port on %s steers match=%s; ports "
				   "sharing an interface share one program and "
				   "must use the same match= (not %s)",
				   pv->ifname, a, b);
		goto out;
	}
	for (i = 0; pv->ifc && i < nq; i++)
		if (pv->ifc->busy_q & (1ull << (qbase + i))) {
			pv->ifc = NULL;
			err = sl_spec_fail(spec, EBUSY,
					   "queue %u of %s belongs to another "
					   "open port; each queue takes one",
					   qbase + i, pv->ifname);
			goto out;
		}
	if (!pv->ifc) {
		found = sl_steer_find_attached(pv->ifindex, who, sizeof(who));
		if (found < 0) {
			err = found == -EPERM ?
				      sl_spec_fail(spec, EPERM, PERM_HINT) :
				      found;
			goto out;
		}
		if (found == SL_STEER_FOUND_OURS) {
			err = sl_spec_fail(spec, EBUSY,
					   "another sluice process steers %s "
					   "already (%s)",
					   pv->ifname, who);
			goto out;
		}
		if (found == SL_STEER_FOUND_OTHER) {
			if (!sl_spec_has(spec, "replace")) {
				err = sl_spec_fail(
					spec, EBUSY,
					"%s already carries an XDP program "
					"that is not sluice's: %s; add "
					",replace to detach it",
					pv->ifname, who);
				goto out;
			}
			err = detach_foreign(spec, pv->ifindex, who);
			if (err)
				goto out;
			sl_warn("xdp:%s: replaced the XDP program that was there: %s",
				pv->ifname, who);
		}
	}

	pv->um = umem_find(port->pool, &g);
	if (!pv->um) {
		pv->um = calloc(1, sizeof(*pv->um));
		if (pv->um)
			pv->um->g = g;
		if (pv->um)
			pv->um->g.owner = calloc(g.len >> g.shift, 1);
		if (!pv->um || !pv->um->g.owner) {
			if (pv->um)
				free(pv->um);
			pv->um = NULL;
			err = sl_spec_fail(spec, ENOMEM, "out of memory");
			goto out;
		}
		pv->um->pool = port->pool;
		pv->um->ring_size = ring;
		pv->um->headroom = headroom;
		pv->um->next = umems;
		umems = pv->um;
	}
	pv->n = (uint16_t)nq;
	pv->qbase = qbase;

	err = -EINVAL;
	all[0] = '\0';
	for (m = 0; m < MODE_N; m++) {
		size_t used = strlen(all);

		if (!try[m])
			continue;
		why[0] = '\0';
		err = try_mode(port, spec, pv, (enum xdp_mode)m, &match, ring,
			       drv, why, sizeof(why));
		if (!err || !why[0])
			break; /* opened, or an error that is not a refusal */
		sl_port_refuse(port, mode_path[m], "%s: %s", pv->ifname, why);
		sl_info("xdp:%s: %s refused: %s", pv->ifname, mode_name[m],
			why);
		snprintf(all + used, sizeof(all) - used, "%s%s: %s",
			 used ? "; " : "", mode_name[m], why);
	}
	if (err) {
		if (why[0] && try[MODE_ZC] && !try[MODE_NATIVE])
			err = sl_spec_fail(spec, -err,
					   "mode=zc refused: %s; mode=copy or "
					   "mode=auto work on any interface",
					   why);
		else if (why[0])
			err = sl_spec_fail(spec, -err,
					   "no AF_XDP mode could be set up: %s",
					   all);
		if (pv->um && !pv->um->refs)
			umem_free(pv->um);
		pv->um = NULL;
		pv->n = 0;
		goto out;
	}
	for (i = 0; i < nq; i++) {
		struct xdp_q *q = pv->q[i];

		q->port_id = port->port_id;
		q->queue = (uint16_t)i;
		q->fill_target = SL_MIN(pv->um->ring_size, cap / (2 * nq));
		q->fill_target &= ~(uint32_t)(XDP_FILL_BATCH / 4 - 1);
		if (sl_spec_has(spec, "busy_poll"))
			q->busy_poll =
				sl_busy_poll_enable(port, q->fd, pv->ifname);
		refill(port, q);
	}
	port->n_queues = (uint16_t)nq;
	sl_strlcpy(port->info.mode, mode_name[pv->um->mode],
		   sizeof(port->info.mode));
	sl_strlcpy(port->info.name, pv->ifname, sizeof(port->info.name));
	get_mac(pv->ifname, port->info.mac);
	if (!strcmp(drv, "veth") && pv->um->mode == MODE_NATIVE)
		sl_info("xdp:%s: native XDP on veth sees only frames from a "
			"peer with an XDP program or with TSO off; use "
			"mode=copy-generic if nothing arrives",
			pv->ifname);
	err = 0;
out:
	pthread_mutex_unlock(&reg_lock);
	return err;
}

static int xdp_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n)
{
	struct xdp_priv *pv = port->priv;
	struct xdp_statistics ks, sum = { 0 };
	struct sl_steer_stats ss = { 0 };
	uint64_t inv = 0, comp = 0, copied = 0, empty = 0, wake = 0, checks = 0;
	uint64_t txwake = 0, stall = 0;
	unsigned i, k = 0;

	pthread_mutex_lock(&reg_lock);
	for (i = 0; i < pv->n; i++) {
		struct xdp_q *q = pv->q[i];
		socklen_t len = sizeof(ks);

		inv += __atomic_load_n(&q->rx_invalid_desc, __ATOMIC_RELAXED);
		comp += __atomic_load_n(&q->tx_invalid_comp, __ATOMIC_RELAXED);
		copied += __atomic_load_n(&q->tx_copied, __ATOMIC_RELAXED);
		empty += __atomic_load_n(&q->fill_ring_empty, __ATOMIC_RELAXED);
		wake += __atomic_load_n(&q->wakeups, __ATOMIC_RELAXED);
		txwake += __atomic_load_n(&q->tx_wakeups, __ATOMIC_RELAXED);
		stall += __atomic_load_n(&q->tx_stall_kicks, __ATOMIC_RELAXED);
		checks += __atomic_load_n(&q->link_checks, __ATOMIC_RELAXED);
		memset(&ks, 0, sizeof(ks));
		if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &ks, &len) ==
		    0) {
			sum.rx_dropped += ks.rx_dropped;
			sum.rx_invalid_descs += ks.rx_invalid_descs;
			sum.tx_invalid_descs += ks.tx_invalid_descs;
			sum.rx_ring_full += ks.rx_ring_full;
			sum.rx_fill_ring_empty_descs +=
				ks.rx_fill_ring_empty_descs;
			sum.tx_ring_empty_descs += ks.tx_ring_empty_descs;
		}
	}
	if (pv->ifc)
		sl_steer_read_stats(pv->ifc->steer, &ss);
	pthread_mutex_unlock(&reg_lock);

	sl_xstat_put(out, n, k++, "rx_invalid_desc", inv);
	sl_xstat_put(out, n, k++, "tx_invalid_comp", comp);
	sl_xstat_put(out, n, k++, "tx_copied", copied);
	sl_xstat_put(out, n, k++, "fill_ring_empty", empty);
	sl_xstat_put(out, n, k++, "wakeups", wake);
	sl_xstat_put(out, n, k++, "tx_wakeups", txwake);
	sl_xstat_put(out, n, k++, "tx_stall_kicks", stall);
	sl_xstat_put(out, n, k++, "link_checks", checks);
	sl_xstat_put(out, n, k++, "xsk_rx_dropped", sum.rx_dropped);
	sl_xstat_put(out, n, k++, "xsk_rx_invalid_descs", sum.rx_invalid_descs);
	sl_xstat_put(out, n, k++, "xsk_tx_invalid_descs", sum.tx_invalid_descs);
	sl_xstat_put(out, n, k++, "xsk_rx_ring_full", sum.rx_ring_full);
	sl_xstat_put(out, n, k++, "xsk_rx_fill_ring_empty_descs",
		     sum.rx_fill_ring_empty_descs);
	sl_xstat_put(out, n, k++, "xsk_tx_ring_empty_descs",
		     sum.tx_ring_empty_descs);
	sl_xstat_put(out, n, k++, "steer_matched", ss.matched);
	sl_xstat_put(out, n, k++, "steer_passed", ss.passed);
	sl_xstat_put(out, n, k++, "steer_redirect_failed", ss.redirect_failed);
	return (int)k;
}

static const char *const xdp_keys[] = { "queue",   "mode",	"match",
					"replace", "busy_poll", NULL };

const struct sl_driver sl_driver_xdp = {
	.name = "xdp",
	.keys = xdp_keys,
	.priv_size = sizeof(struct xdp_priv),
	.open = xdp_open,
	.close = xdp_close,
	.rx_burst = xdp_rx_burst,
	.tx_burst = xdp_tx_burst,
	.xstats = xdp_xstats,
};
