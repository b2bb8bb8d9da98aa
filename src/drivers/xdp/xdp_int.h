/* SPDX-License-Identifier: MIT */
/*
 * The AF_XDP driver's own header: what its four files share. Not API; no
 * other part of the tree includes it.
 *
 *   xdp.c    open (mode choice, the refusals' wording), close, xstats
 *   fast.c   the receive and transmit bursts
 *   umem.c   UMEMs and sockets: creation, sharing, the parked owner,
 *            giving buffers back
 *   ifreg.c  interfaces: the steering program per interface, ethtool
 *
 * The registries (UMEMs by pool, interfaces by namespace and ifindex) are
 * under reg_lock; the fast path never takes it.
 */
#ifndef SL_DRIVERS_XDP_XDP_INT_H
#define SL_DRIVERS_XDP_XDP_INT_H

#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "drivers/xdp/steer.h"
#include "drivers/xdp/xsk_desc.h"
#include "net/match.h"
#include "port/driver.h"

#define XDP_BURST 256 /* descriptors handled per ring read */
#define XDP_FILL_BATCH 64 /* fill ring top-ups, in buffers */
#define XDP_PACKET_HEADROOM_ 256 /* the kernel's, in front of every frame */
/* Multi-buffer frames (XDP_USE_SG): each queue copies the frames of more
 * than one chunk into buffers of the port's second pool, this many per
 * queue of this size (16 KiB: a 9000-byte MTU and then some) */
#define XDP_MB_BUFS 512
#define XDP_MB_BUF_SIZE 16384
/* TX descriptors one frame may take in copy mode: the kernel refuses a
 * frame of more than MAX_SKB_FRAGS (17) with EOVERFLOW; 16 keeps clear */
#define XDP_TX_MAX_FRAGS 16
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4) /* Linux 6.6 */
#endif
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

extern const char *const xdp_mode_name[MODE_N];
extern const char *const xdp_mode_path[MODE_N];

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
	bool sg; /* bound with XDP_USE_SG: frames may span chunks */
	bool sg_refused; /* asked for it, and the kernel said no */
	int sg_err; /* ... with this errno */
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
	/* the program puts arrival times in front of the frames it steers
	 * (a port with receive times asked): every port of the interface
	 * takes them off (fast.c), read once a burst */
	bool stamps;
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
	uint32_t max_tx; /* largest frame sent (several chunks with sg) */
	struct sl_xsk_mb mb; /* multi-buffer receive: pool NULL without sg */
	uint64_t next_check_ns; /* coarse clock: next idle device check */
	uint32_t tx_budget; /* frames one copy-mode kick sends */
	bool tx_pending; /* frames left in the TX ring after a kick */
	uint32_t tx_last_cons; /* TX ring consumer when last seen moving */
	uint64_t tx_cons_ns; /* coarse clock then */
	/* driver counters, written by the queue's thread only */
	uint64_t rx_invalid_desc;
	uint64_t tx_invalid_comp;
	uint64_t tx_copied;
	uint64_t fill_ring_empty;
	uint64_t fill_recycled; /* completions put straight into the fill ring */
	uint64_t wakeups; /* kicks: TX (sendto) and fill (recvfrom) */
	uint64_t tx_wakeups; /* of which TX */
	uint64_t tx_stall_kicks; /* of which TX the kernel did not ask for */
	uint64_t link_checks; /* idle recvfrom calls asking for the device */
	uint64_t rx_mb_frames; /* frames of several chunks received, copied */
	uint64_t rx_mb_invalid; /* ... refused: malformed descriptor runs */
	uint64_t rx_mb_too_long; /* ... dropped: longer than an mb buffer */
	uint64_t tx_mb_frames; /* frames sent in several descriptors */
	uint64_t tx_too_long; /* frames dropped: longer than max_tx */
} SL_CACHE_ALIGNED;

struct xdp_priv {
	struct xdp_umem *um;
	struct xdp_iface *ifc;
	struct sl_pool *mb_pool; /* frames of several chunks (with sg) */
	char ifname[IFNAMSIZ];
	int ifindex;
	uint32_t qbase;
	uint16_t n;
	int gone; /* the device went away: set once, read by every burst */
	struct xdp_q *q[SL_PORT_MAX_QUEUES];
};

extern pthread_mutex_t xdp_reg_lock;
extern struct xdp_umem *xdp_umems;
extern struct xdp_iface *xdp_ifaces;

static inline bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static inline uint32_t log2u(uint32_t v)
{
	uint32_t s = 0;

	while ((1u << s) < v)
		s++;
	return s;
}

/* xdp.c: libxdp's messages go to our log (debug), never to stderr */
SL_PRINTF(2, 0)
int xdp_libxdp_print(enum libxdp_print_level level, const char *fmt,
		     va_list ap);

/* fast.c: the bursts; reap gives completed TX buffers back, refill tops
 * the fill ring up (at open, then from the bursts) */
void xdp_reap(struct xdp_q *q);
void xdp_refill(struct sl_port *port, struct xdp_q *q);
uint16_t xdp_rx_burst(struct sl_port *port, uint16_t queue,
		      struct sl_pkt **pkts, uint16_t n);
uint16_t xdp_tx_burst(struct sl_port *port, uint16_t queue,
		      struct sl_pkt **pkts, uint16_t n);

/* umem.c, locked */
int xdp_pool_geom(const struct sl_spec *spec, struct sl_pool *pool,
		  struct sl_xsk_geom *g, uint32_t *headroom);
struct xdp_umem *xdp_umem_find(struct sl_pool *pool,
			       const struct sl_xsk_geom *g);
int xdp_q_create(struct xdp_priv *pv, struct xdp_umem *u, uint32_t dq,
		 uint32_t ring, uint16_t bind_flags, struct xdp_q **out);
void xdp_q_destroy(struct xdp_q *q);
void xdp_umem_put(struct xdp_umem *u);
void xdp_umem_release(struct xdp_umem *u);
void xdp_umem_free(struct xdp_umem *u);

/* ifreg.c: interface facts (any thread) and the steering registry
 * (locked) */
uint64_t xdp_netns_id(void);
void xdp_driver_name(const char *ifname, char *out, size_t len);
unsigned xdp_rx_queues(const char *ifname);
void xdp_get_mac(const char *ifname, uint8_t *mac);
struct xdp_iface *xdp_iface_find(uint64_t ns, int ifindex);
void xdp_iface_put(struct xdp_iface *f);
int xdp_detach_foreign(const struct sl_spec *spec, int ifindex,
		       const char *who);
/* sl_port_set_match: the steering program's rules, where the port is the
 * only one on it. */
int xdp_set_match(struct sl_port *port, const char *text,
		  const struct sl_match *m);
/* sl_port_rx_ts_on: the steering program stamps arrival times. */
int xdp_rx_ts_on(struct sl_port *port);
int xdp_steer_attach_new(struct sl_port *port, const struct sl_spec *spec,
			 struct xdp_priv *pv, enum xdp_mode m,
			 const struct sl_match *match, struct sl_steer **out);

#endif
