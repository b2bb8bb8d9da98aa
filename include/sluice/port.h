/* SPDX-License-Identifier: MIT */
/*
 * Ports: one burst API over every path.
 *
 * A port is opened from a spec string, the same on the command line and in
 * code:
 *
 *   udp:ADDR:PORT[,peer=ADDR:PORT]   kernel UDP socket (IPv6: [ADDR]:PORT)
 *   pair:NAME/0, pair:NAME/1         the two ends of an in-process link
 *   pcap:FILE[,write]                replay a pcap/pcapng file, or record
 *   packet:IFACE[,match=all|none|udp:PORT[-PORT][+...]][,fanout=N]
 *       [,qdisc_bypass]
 *                                    AF_PACKET, TPACKET_V3 (CAP_NET_RAW)
 *   xdp:IFACE,match=RULES[,queue=N][,queues=N|A-B][,mode=auto|copy|zc]
 *       [,replace][,busy_poll]       AF_XDP (CAP_NET_ADMIN, CAP_BPF)
 *
 * followed by options any port takes:
 *
 *   queues=N                          queues (drivers that have several)
 *   capture=FILE.pcap                 pcap (ns timestamps) of what the
 *                                     application received (after faults)
 *                                     and sent (before faults), in order
 *   fault=drop:P,dup:P,reorder:P,corrupt:P[,dir:rx|tx|both],seed=N
 *                                     deterministic faults on what passes
 *                                     (both directions unless dir: says;
 *                                     seed 1 by default); counted in the
 *                                     xstats fault_dropped, ...
 *
 * Ports carry Ethernet frames on every driver. The control calls (open,
 * close, stats, info) are thread-safe; a queue's rx and tx bursts must be
 * called by one thread at a time (different queues may run on different
 * threads).
 */
#ifndef SLUICE_PORT_H
#define SLUICE_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>
#include <sluice/net.h>
#include <sluice/pkt.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sl_port;
struct sl_pool;

#define SL_PORT_MAX_QUEUES 64
#define SL_PORT_MAX_REFUSED 8

struct sl_port_opts {
	size_t sz; /* sizeof(struct sl_port_opts) */
	struct sl_pool *pool; /* receive buffers; NULL: the port makes one */
	uint32_t n_bufs; /* size of the port's own pool (default 4096) */
	uint32_t ring_size; /* driver ring sizes where they apply (def. 1024) */
	uint16_t port_id; /* stamped in sl_pkt.port on receive */
	unsigned flags; /* SL_PORT_F_* */
};

/*
 * sl_port_opts.flags. SL_PORT_F_RX_TS: stamp received packets with the
 * time of their receive burst (sl_pkt.rx_ts, flag SL_PKT_F_RX_TS; one clock
 * read per burst). Off, received packets carry no time and cost no write
 * for it: ask for it where a latency or a capture needs it (a port opened
 * with capture= turns it on itself).
 */
#define SL_PORT_F_RX_TS (1u << 0)

/*
 * Open a port. opts may be NULL. Returns NULL with errno set on failure;
 * sl_last_error() names the part of the spec at fault, e.g.
 * "udp:1.2.3:80: bad address '1.2.3'". Control path, thread-safe.
 */
SL_API struct sl_port *sl_port_open(const char *spec,
				    const struct sl_port_opts *opts);

/* Close the port, freeing every packet it still holds (decorators' and
 * driver's). A pool the port made itself is destroyed with it: packets from
 * it that the application still holds become invalid, so pass opts->pool
 * when packets outlive the port. 0 or -errno. Control path. */
SL_API int sl_port_close(struct sl_port *port);

/* ---- internal, exposed for the inline bursts below: use them ---- */

typedef uint16_t sl_burst_fn_(struct sl_port *port, uint16_t queue,
			      struct sl_pkt **pkts, uint16_t n);

/*
 * The first bytes of every port: the function each queue's bursts call,
 * set when the port opens (sl_port_rx_ts_on may later switch a receive to
 * the driver's stamping one). The bursts are inline on it (the habit of
 * DPDK's rte_eth_fp_ops), so that a burst is one indirect call into the
 * driver, or into the port layer's path when a decorator or a software
 * checksum fill is in the way. The last entry, and
 * those of queues the port does not have, hold a function that moves
 * nothing: a bad queue number costs no test of a loaded value (on the pair
 * row of `make bench`, a test of the port's queue count cost 5%, and an
 * exported function around the call another 3-7%).
 */
struct sl_port_fp_ {
	sl_burst_fn_ *rx[SL_PORT_MAX_QUEUES + 1];
	sl_burst_fn_ *tx[SL_PORT_MAX_QUEUES + 1];
};

/* The entry of queue in the tables above. */
#define SL_PORT_FP_Q_(queue) \
	((queue) < SL_PORT_MAX_QUEUES ? (queue) : SL_PORT_MAX_QUEUES)

/*
 * Receive up to n frames from a queue into pkts; returns how many. The
 * packets belong to the caller. Never blocks, never fails: errors and drops
 * go to the queue's counters; a queue the port does not have moves nothing.
 * Fast path. (C99 inline: the library also exports it, for callers that
 * do not inline, and for binaries built against older headers.)
 */
SL_API inline uint16_t sl_rx_burst(struct sl_port *port, uint16_t queue,
				   struct sl_pkt **pkts, uint16_t n)
{
	const struct sl_port_fp_ *fp = (const struct sl_port_fp_ *)port;

	/* relaxed: sl_port_rx_ts_on may switch a queue's entry meanwhile */
	sl_burst_fn_ *rx = __atomic_load_n(&fp->rx[SL_PORT_FP_Q_(queue)],
					   __ATOMIC_RELAXED);

	return rx(port, queue, pkts, n);
}

/*
 * Send up to n frames from pkts; returns how many it took (the first ones).
 * The port owns the packets it took, sent or dropped (and counted); the
 * caller keeps the rest, so a return below n is back-pressure. A queue the
 * port does not have takes nothing. Fast path.
 */
SL_API inline uint16_t sl_tx_burst(struct sl_port *port, uint16_t queue,
				   struct sl_pkt **pkts, uint16_t n)
{
	const struct sl_port_fp_ *fp = (const struct sl_port_fp_ *)port;

	return fp->tx[SL_PORT_FP_Q_(queue)](port, queue, pkts, n);
}

/*
 * Counters. A port's totals and each queue's counters are two output
 * structs, each with its own `sz` (core.h), read by two calls: neither
 * struct holds the other and neither has an array sized by the queue
 * limit, so a new counter (at the end of both) or a higher
 * SL_PORT_MAX_QUEUES changes no layout a built caller relies on. One call
 * per queue (not an array with its element size) keeps the one sz rule as
 * it is for every other struct; reading stats is the control path, where
 * a call per queue costs nothing that matters.
 */
struct sl_queue_stats {
	size_t sz; /* sizeof(struct sl_queue_stats), set by the caller */
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_dropped; /* received then dropped (not UDP, filter, fault) */
	uint64_t rx_errors; /* socket/driver errors while receiving */
	uint64_t rx_nombuf; /* receive stalled for lack of pool buffers */
	uint64_t rx_invalid; /* bad descriptors or frames, dropped */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_dropped; /* taken but not sent: not sendable, fault */
	uint64_t tx_errors; /* taken, the send failed (peer gone, ...) */
	uint64_t tx_full; /* bursts cut short by back-pressure */
};

/* The counters of sl_queue_stats and sl_port_stats, in their order, for
 * code that walks them by name (JSON, Prometheus): X(name) for each. */
#define SL_QUEUE_STATS_FIELDS(X) \
	X(rx_packets)            \
	X(rx_bytes)              \
	X(rx_dropped)            \
	X(rx_errors)             \
	X(rx_nombuf)             \
	X(rx_invalid)            \
	X(tx_packets)            \
	X(tx_bytes)              \
	X(tx_dropped)            \
	X(tx_errors)             \
	X(tx_full)

/* The same counters as sl_queue_stats, summed over the port's queues. */
struct sl_port_stats {
	size_t sz; /* sizeof(struct sl_port_stats), set by the caller */
	uint16_t n_queues; /* queues 0..n_queues-1 for sl_port_queue_stats */
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_dropped;
	uint64_t rx_errors;
	uint64_t rx_nombuf;
	uint64_t rx_invalid;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_dropped;
	uint64_t tx_errors;
	uint64_t tx_full;
};

/* The port's totals now. 0 or -errno. Thread-safe (values read without
 * stopping the data path, each one consistent). Control path. */
SL_API int sl_port_stats(struct sl_port *port, struct sl_port_stats *out);

/* One queue's counters now, read as sl_port_stats reads them. 0, or
 * -EINVAL (no port, out->sz too small, queue not below n_queues).
 * Thread-safe. Control path. */
SL_API int sl_port_queue_stats(struct sl_port *port, uint16_t queue,
			       struct sl_queue_stats *out);

/* Driver and decorator counters by name ("fault_dropped", "pcap_eof", ...). */
struct sl_xstat {
	char name[48];
	uint64_t value;
};

/* Fill up to n; returns how many there are in all (call with n = 0 to
 * size), or -errno. */
SL_API int sl_port_xstats(struct sl_port *port, struct sl_xstat *out,
			  unsigned n);

/*
 * A port's state, in sl_port_info. SL_PORT_ERROR is final, except on an
 * auto: port, which may reopen on a new path (include/sluice/auto.h).
 *
 * The device a port is bound to going away (xdp: and packet: ports; the
 * interface deleted, or moved to another network namespace) is such an
 * error: the port moves to SL_PORT_ERROR with info.error naming it and
 * what happened, e.g. "xdp:eth1: interface gone (ifindex 42 deleted or
 * moved out of this namespace)". A port that sends notices on its next
 * transmit burst (xdp zero-copy: once its ring stays full); one that only
 * receives, within ~50 ms of receive bursts that find nothing. Nothing is
 * spent per packet: the kernel says so to calls the bursts make anyway,
 * and an idle queue asks it at most every 50 ms. From then on a receive
 * burst hands over what had already arrived and then returns 0, a
 * transmit burst takes nothing (returns 0), and neither calls into the
 * kernel; counters stay readable, packets the application holds stay
 * valid (those of the port's own pool until it is closed), and
 * sl_port_close works and leaves nothing attached. An interface set down
 * is not an error: the port stays UP and traffic resumes when it is up.
 * udp: ports are not bound to a device and never see this.
 */
enum sl_port_state {
	SL_PORT_UP = 0,
	SL_PORT_EOF, /* a finite source is exhausted (pcap replay) */
	SL_PORT_ERROR, /* a fatal error; info.error says which */
};

/* A faster path the port did not get, and why. */
struct sl_port_refusal {
	char path[24]; /* "xdp-zc", "xdp-copy", ... */
	char why[232];
};

struct sl_port_info {
	size_t sz; /* sizeof(struct sl_port_info), set by the caller */
	char driver[16]; /* "udp", "pair", "pcap", ... */
	char mode[32]; /* what the driver really got: "socket", "read", ... */
	char name[256]; /* interface, file, pair end, or local address */
	char spec[512]; /* the spec the port was opened with */
	char decorators[64]; /* "capture,fault" or "" */
	uint16_t n_queues;
	uint16_t port_id;
	int state; /* enum sl_port_state */
	char error[256]; /* fatal error or why EOF came early; "" if none */
	uint8_t mac[SL_ETH_ALEN]; /* local MAC where there is one */
	struct sl_addr addr; /* local address (udp) */
	struct sl_addr peer; /* peer address (udp, peer=) */
	unsigned n_refused;
	struct sl_port_refusal refused[SL_PORT_MAX_REFUSED];
	/* the longest frame, in bytes, the port receives and sends whole:
	 * a buffer of its pool, or more on xdp ports with multi-buffer
	 * frames (those come in buffers of another pool, the port's own) */
	uint32_t max_frame;
};

/* What the port really is. 0 or -errno. Thread-safe. */
SL_API int sl_port_info(struct sl_port *port, struct sl_port_info *out);

/*
 * The driver moving the port's frames now: the port's own ("udp", "xdp",
 * ...) or, on an auto: port, the path in use ("none" while it has none).
 * The strings are static: a caller that must follow a change of path (a
 * protocol that frames differently on a socket path) compares pointers.
 * Call it from the thread that runs the port's bursts. Fast path.
 */
SL_API const char *sl_port_path(struct sl_port *port);

/*
 * A file descriptor that poll() and epoll report readable when the queue
 * may have frames to receive, for an application that sleeps between
 * bursts: the AF_XDP socket on xdp ports (a poll on it also gives the
 * kernel the fill-ring wake-up it may need), the socket on packet and udp
 * ports; on an auto: port the one of the path in use, which changes when
 * the path does (ask again when sl_port_path changes). The port owns it:
 * never close it or read from it. Readable is a hint: a burst says what is
 * there. Returns the fd, or -ENOTSUP where the path has none (pair, pcap,
 * an auto: port with no path), -EINVAL (no port, no such queue).
 * Thread-safe; cheap enough to call before each sleep.
 */
SL_API int sl_port_queue_fd(struct sl_port *port, uint16_t queue);

/*
 * Change the port's match= rules in place (match='s grammar: "udp:53",
 * "udp:5000-5010+udp:53", "all", "none"; NULL or "" is all): from now on
 * the port takes the frames these name, and the others go on to the
 * kernel, without closing the port or losing what it holds. For xdp (its
 * steering program's rules), packet (its socket filter) and auto: ports
 * (the path in use, and the paths it falls back to later). -EOPNOTSUPP
 * for other drivers and an auto: port on its udp path, -EBUSY for an xdp
 * port whose steering program another port of the interface shares,
 * -EINVAL for bad rules; with a message. A frame being steered while the rules change may
 * go either way. Control path; safe beside the port's bursts.
 */
SL_API int sl_port_set_match(struct sl_port *port, const char *match);

/*
 * Turn receive times on for an open port, as SL_PORT_F_RX_TS at open does
 * (xdp ports then have the steering program stamp each frame's arrival):
 * bursts from now on stamp. They stay on. 0 or -errno with a message.
 * Control path; safe beside the port's bursts.
 */
SL_API int sl_port_rx_ts_on(struct sl_port *port);

/* The pool receive buffers come from. */
SL_API struct sl_pool *sl_port_pool(struct sl_port *port);

#ifdef __cplusplus
}
#endif
#endif
