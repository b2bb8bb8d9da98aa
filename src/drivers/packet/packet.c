// SPDX-License-Identifier: MIT
/*
 * The packet driver: "packet:IFACE[,match=RULES][,fanout=N][,qdisc_bypass]
 * [,tpacket=v2|v3][,busy_poll]", AF_PACKET sockets with memory-mapped
 * receive rings. Needs CAP_NET_RAW only.
 *
 * Receive, tpacket=v3 (the default): the kernel writes frames into a ring
 * of blocks shared with us (mmap); a block comes to user space when full or
 * after the retire timeout, and is given back as soon as its frames are
 * copied out. Ring sizes, from opts->ring_size (frames, default 1024):
 * 2 KiB per frame, in 16 blocks (at least 8) of 64 KiB..1 MiB: 128 KiB
 * blocks by default. Enough blocks that the kernel always has free ones
 * while we copy one out; a 128 KiB block holds ~1000 small frames, which at
 * 1 Mpps fills about as fast as the 1 ms retire timeout hands a partly
 * filled block over, so neither rate nor latency waits long on the other.
 * 1 ms is the smallest timeout the kernel takes: at low rates a frame may
 * wait that long, so a request/response exchange costs a millisecond.
 *
 * Receive, tpacket=v2: a ring of ring_size fixed 2 KiB frame slots (in
 * 64 KiB blocks), each with its own tp_status: a frame is ours as soon as
 * the kernel has written it, with no retire timeout, and its slot goes back
 * the moment it is copied out. The latency choice: one status word per
 * frame instead of one per block, so somewhat more cache traffic at high
 * rates, and a frame larger than a slot is truncated (counted).
 *
 * Both: the copy into pool buffers is unavoidable on AF_PACKET (the ring
 * is not the pool's memory), and it is also what lets ring space go back
 * at once, however long the application keeps its packets. The ring walks
 * are in tpacket.c, apart so they can be tested and fuzzed without a
 * socket: every block and frame header read from the ring is bounds-checked
 * against its block or slot before it is followed, and one that points
 * outside is a counted drop. Then one path (frame_deliver) does what
 * both rings share: a VLAN tag the kernel stripped (tp_vlan_tci) is put
 * back, so the application sees the frame as it was on the wire, and a UDP
 * checksum a local sender left partial is completed. PACKET_IGNORE_OUTGOING
 * keeps the port's own sends (and the host's) out of its receive ring.
 *
 * busy_poll: SO_PREFER_BUSY_POLL, SO_BUSY_POLL and SO_BUSY_POLL_BUDGET on
 * every socket (port/busy_poll.h); a refusal (no CAP_NET_ADMIN) is listed
 * in sl_port_info and the port works without. Nothing calls into the
 * kernel while a ring has frames, so when a queue's ring is empty the
 * receive burst makes one non-blocking recvfrom() on its socket: that is
 * where the kernel busy-polls a packet socket (net/core/datagram.c,
 * __skb_try_recv_datagram -> sk_busy_loop; the ring keeps the socket's
 * own queue empty, so the call returns EAGAIN and consumes nothing).
 * poll() with a zero timeout would not do: it busy-polls only when the
 * global sysctl net.core.busy_poll is set. But sk_busy_loop needs the NAPI
 * id the socket last received from, and AF_PACKET never records one (as of
 * Linux 6.18): so far the kernel does no busy polling for packet sockets,
 * and the driver makes the call only once the socket reports a NAPI id
 * (busy_kick), looking again now and then. The options are set anyway, so
 * a kernel that records the id gets busy polling without a change here.
 *
 * Transmit: sendmmsg() on the bound socket straight from the pool buffers
 * (the kernel copies them into skbs: no copy here, and the packets are
 * freed on return). EAGAIN/ENOBUFS (socket buffer or device queue full)
 * is back-pressure: the burst returns what it took. A TPACKET_V3 TX ring
 * would need a second copy (pool buffer into the ring) to save a system
 * call per batch; it has not been measured against this yet. On a veth
 * pair, 60-byte frames, one core sending and receiving: 0.6-0.76 Mpps
 * through the qdisc, 0.9 Mpps with qdisc_bypass. `qdisc_bypass` sets
 * PACKET_QDISC_BYPASS: frames go straight to the driver, skipping the
 * qdisc (faster, but traffic control and its counters no longer see them).
 *
 * match=: a classic BPF socket filter (src/net/match.c), so only matching
 * frames are copied to user space. Opening goes: socket with protocol 0
 * (hooked to nothing yet), ring, a filter that drops everything, bind,
 * fanout join, and only then the real filter: no frame that arrived before
 * the port was fully set up (unfiltered, or duplicated on a socket not yet
 * in its fanout group) ever reaches the ring, so nothing has to be drained.
 *
 * The device going away (deleted, or moved to another namespace): on
 * NETDEV_UNREGISTER the kernel unhooks every packet socket bound to it and
 * sets its ifindex to -1 for good (net/packet/af_packet.c, packet_notifier;
 * it also sets sk_err ENETDOWN, but it does that for a device merely set
 * down too: SO_ERROR cannot tell). So sendmmsg answers ENXIO (no device;
 * down is ENETDOWN), which a sending port sees at once, and getsockname()
 * reads sll_ifindex -1 (without clearing anything), which a receive burst
 * that found the ring empty asks at most every PKT_GONE_CHECK_NS (a coarse
 * clock read, no system call, in between; nothing per frame). The port
 * then goes to SL_PORT_ERROR, once, and its bursts stop calling the
 * kernel: receive still hands over what the ring held, transmit takes
 * nothing. A device set down and up again is not gone; the sk_err the
 * kernel left at down comes back from the first send after up, in place of
 * that frame's result, so the frame is tried once more (pkt_tx).
 *
 * fanout=N: N sockets, one per queue, in one PACKET_FANOUT group
 * (PACKET_FANOUT_HASH: a flow stays on one queue; FLAG_DEFRAG: IP
 * fragments are reassembled first so they hash, and match, together). The
 * group id is chosen by the kernel (FLAG_UNIQUEID), so two ports never join
 * each other's group by accident.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/cursor.h"
#include "drivers/common/gone.h"
#include "drivers/packet/packet.h"
#include "drivers/packet/tpacket.h"
#include "net/ifdev.h"
#include "net/match.h"
#include "port/driver.h"

/* Linux 4.12 */
#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif

/* Linux 6.10; older uapi headers lack it */
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

#define PKT_BATCH 64 /* frames per sendmmsg / per pool allocation */
#define PKT_FRAME_SLOT SL_TPACKET_FRAME /* ring bytes budgeted per frame */
#define PKT_BLOCK_MIN (64u << 10)
#define PKT_BLOCK_MAX (1u << 20)
#define PKT_BLOCKS 16
#define PKT_V2_BLOCK (64u << 10) /* v2: 32 frame slots per block */
#define PKT_RETIRE_MS 1
#define PKT_SNDBUF (1 << 20)
#define PKT_NAPI_RECHECK 1024 /* empty polls between NAPI id looks */
/* an idle queue asks whether its device is still there this often: well
 * within the ~100 ms a user waits for the port to say so */
#define PKT_GONE_CHECK_NS (50 * 1000 * 1000ull)

struct pkt_q {
	int fd;
	size_t ring_len;
	bool busy_poll; /* kick the kernel when the ring is empty */
	/* receive state, owned by the queue's rx thread */
	struct sl_tpacket_ring rx; /* the mapped ring and its walk */
	uint64_t rx_busy_polls; /* recvfrom kicks on an empty ring */
	uint32_t napi_id; /* SO_INCOMING_NAPI_ID once the kernel has one */
	uint32_t idle; /* empty polls while it has none */
	uint64_t next_check_ns; /* coarse clock: next idle device check */
	struct sl_pkt *bufs[PKT_BATCH];
	/* transmit scratch, owned by the queue's tx thread */
	struct mmsghdr msgs[PKT_BATCH] SL_CACHE_ALIGNED;
	struct iovec iov[PKT_BATCH];
	/* PACKET_STATISTICS reads and clears: the sums so far */
	uint64_t k_packets, k_drops, k_freeze;
} SL_CACHE_ALIGNED;

struct pkt_priv {
	char ifname[IF_NAMESIZE];
	int ifindex;
	bool bypass;
	bool v2; /* tpacket=v2 */
	bool busy_poll; /* busy_poll given */
	unsigned n_q;
	int gone; /* the device went away: set once, read by every burst */
	struct pkt_q *q;
	struct sl_match match;
	pthread_mutex_t stats_lock;
};

/* ---- open / close ----------------------------------------------------- */

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static int attach(int fd, struct sock_filter *prog, unsigned len)
{
	struct sock_fprog fp = { .len = (unsigned short)len, .filter = prog };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
}

static uint32_t pow2_at_least(uint64_t v)
{
	uint32_t r = PKT_BLOCK_MIN;

	while (r < v && r < PKT_BLOCK_MAX)
		r <<= 1;
	return r;
}

/* Socket, options, ring and the drop-all filter; not bound yet. */
static int q_open(struct sl_port *port, const struct sl_spec *spec,
		  struct pkt_q *q, uint32_t ring_size)
{
	struct pkt_priv *pp = port->priv;
	static struct sock_filter drop_all[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	uint64_t bytes = (uint64_t)ring_size * PKT_FRAME_SLOT;
	uint32_t block_size, n_blocks, n_frames;
	bool v2 = pp->v2;
	uint8_t *ring;
	int err;

	/* protocol 0: the socket sees nothing until bind() names one */
	q->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (q->fd < 0) {
		err = errno;
		if (err == EPERM || err == EACCES)
			return sl_spec_fail(spec, err,
					    "needs CAP_NET_RAW: run as root or "
					    "setcap cap_net_raw+ep BINARY");
		return sl_spec_fail(spec, err,
				    "cannot make a packet socket: %s",
				    strerror(err));
	}
	if (set_int(q->fd, SOL_PACKET, PACKET_VERSION,
		    v2 ? TPACKET_V2 : TPACKET_V3)) {
		err = errno;
		return sl_spec_fail(spec, err, "TPACKET_V%c refused: %s",
				    v2 ? '2' : '3', strerror(err));
	}
	if (v2) {
		struct tpacket_req req2;
		uint32_t per_block = PKT_V2_BLOCK / PKT_FRAME_SLOT;

		/* ring_size frames, rounded up to whole blocks: slots are
		 * contiguous in the mapping (block size = slots x slot size),
		 * so slot i is at i * PKT_FRAME_SLOT */
		block_size = PKT_V2_BLOCK;
		n_blocks = (uint32_t)SL_MAX(1u, (ring_size + per_block - 1) /
							per_block);
		n_frames = n_blocks * per_block;
		memset(&req2, 0, sizeof(req2));
		req2.tp_block_size = block_size;
		req2.tp_block_nr = n_blocks;
		req2.tp_frame_size = PKT_FRAME_SLOT;
		req2.tp_frame_nr = n_frames;
		if (setsockopt(q->fd, SOL_PACKET, PACKET_RX_RING, &req2,
			       sizeof(req2))) {
			err = errno;
			return sl_spec_fail(
				spec, err,
				"cannot set up a receive ring of %u "
				"x %u-byte frames: %s",
				n_frames, PKT_FRAME_SLOT, strerror(err));
		}
	} else {
		struct tpacket_req3 req;

		block_size = pow2_at_least(bytes / PKT_BLOCKS);
		n_blocks = (uint32_t)SL_MAX(8u, bytes / block_size);
		memset(&req, 0, sizeof(req));
		req.tp_block_size = block_size;
		req.tp_block_nr = n_blocks;
		req.tp_frame_size = PKT_FRAME_SLOT;
		req.tp_frame_nr = block_size / PKT_FRAME_SLOT * n_blocks;
		req.tp_retire_blk_tov = PKT_RETIRE_MS;
		if (setsockopt(q->fd, SOL_PACKET, PACKET_RX_RING, &req,
			       sizeof(req))) {
			err = errno;
			return sl_spec_fail(
				spec, err,
				"cannot set up a receive ring of %u "
				"x %u bytes: %s",
				n_blocks, block_size, strerror(err));
		}
	}
	q->ring_len = (size_t)block_size * n_blocks;
	ring = mmap(NULL, q->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		    q->fd, 0);
	if (ring == MAP_FAILED) {
		err = errno;
		return sl_spec_fail(spec, err, "cannot map the ring: %s",
				    strerror(err));
	}
	if (sl_tpacket_init(&q->rx, ring, v2, block_size, n_blocks)) {
		munmap(ring, q->ring_len);
		return sl_spec_fail(spec, EINVAL,
				    "ring of %u x %u bytes: no walk fits it",
				    n_blocks, block_size);
	}
	/* Linux 4.20: without it the port would receive its own frames */
	if (set_int(q->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)) {
		err = errno;
		return sl_spec_fail(spec, err,
				    "PACKET_IGNORE_OUTGOING refused (%s): "
				    "needs Linux 4.20 or later",
				    strerror(err));
	}
	if (pp->bypass && set_int(q->fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1)) {
		err = errno;
		return sl_spec_fail(spec, err,
				    "PACKET_QDISC_BYPASS refused: %s",
				    strerror(err));
	}
	if (pp->busy_poll)
		q->busy_poll = sl_busy_poll_enable(port, q->fd, pp->ifname);
	{
		int want = PKT_SNDBUF;

		if (setsockopt(q->fd, SOL_SOCKET, SO_SNDBUFFORCE, &want,
			       sizeof(want)))
			(void)setsockopt(q->fd, SOL_SOCKET, SO_SNDBUF, &want,
					 sizeof(want));
	}
	if (attach(q->fd, drop_all, 1)) {
		err = errno;
		return sl_spec_fail(spec, err, "cannot attach a filter: %s",
				    strerror(err));
	}
	return 0;
}

static int q_bind(const struct sl_spec *spec, struct pkt_q *q, int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};

	if (bind(q->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		int err = errno;

		return sl_spec_fail(spec, err,
				    "cannot bind to the interface: %s",
				    strerror(err));
	}
	return 0;
}

/*
 * Put every socket in one fanout group whose id the kernel picks. A group
 * has its own hook, which ignores the sockets' PACKET_IGNORE_OUTGOING: it
 * takes a flag of its own (Linux 6.10), and before that the driver drops
 * outgoing frames itself by their sll_pkttype.
 */
static int fanout_val(unsigned id, unsigned type_flags)
{
	/* id in the low 16 bits, type and flags above: the flags reach bit
	 * 31, so shift as unsigned */
	return (int)((uint32_t)type_flags << 16 | (id & 0xffff));
}

static int fanout_join(const struct sl_spec *spec, struct pkt_priv *pp)
{
	int type = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG |
		   PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	int v = 0;
	socklen_t l = sizeof(v);
	unsigned i;

	if (set_int(pp->q[0].fd, SOL_PACKET, PACKET_FANOUT,
		    fanout_val(0, (unsigned)(type |
					     PACKET_FANOUT_FLAG_UNIQUEID)))) {
		type &= ~PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
		for (i = 0; i < pp->n_q; i++)
			pp->q[i].rx.skip_outgoing = true;
		if (set_int(pp->q[0].fd, SOL_PACKET, PACKET_FANOUT,
			    fanout_val(0,
				       (unsigned)(type |
						  PACKET_FANOUT_FLAG_UNIQUEID))))
			v = -1;
	}
	if (v == -1 ||
	    getsockopt(pp->q[0].fd, SOL_PACKET, PACKET_FANOUT, &v, &l)) {
		int err = errno;

		return sl_spec_fail(spec, err, "cannot make a fanout group: %s",
				    strerror(err));
	}
	for (i = 1; i < pp->n_q; i++) {
		if (set_int(pp->q[i].fd, SOL_PACKET, PACKET_FANOUT,
			    fanout_val((unsigned)v, (unsigned)type))) {
			int err = errno;

			return sl_spec_fail(spec, err,
					    "cannot join fanout group %d: %s",
					    v & 0xffff, strerror(err));
		}
	}
	return 0;
}

static void pkt_close(struct sl_port *port)
{
	struct pkt_priv *pp = port->priv;
	unsigned i;

	if (!pp->q)
		return;
	for (i = 0; i < pp->n_q; i++) {
		struct pkt_q *q = &pp->q[i];

		if (q->rx.base)
			munmap(q->rx.base, q->ring_len);
		if (q->fd >= 0)
			close(q->fd);
	}
	free(pp->q);
	pp->q = NULL;
	pthread_mutex_destroy(&pp->stats_lock);
}

static int pkt_open(struct sl_port *port, const struct sl_spec *spec)
{
	struct pkt_priv *pp = port->priv;
	const char *bypass = sl_spec_get(spec, "qdisc_bypass");
	const char *busy = sl_spec_get(spec, "busy_poll");
	const char *tpv = sl_spec_get(spec, "tpacket");
	struct sock_filter prog[SL_MATCH_CBPF_MAX];
	uint32_t fanout, queues;
	char rules[256];
	int n_insn, err;
	unsigned i;

	pthread_mutex_init(&pp->stats_lock, NULL);
	if (!spec->target[0] || strlen(spec->target) >= IF_NAMESIZE ||
	    strpbrk(spec->target, "/ \t"))
		return sl_spec_fail(spec, EINVAL,
				    "bad interface name '%s' (1 to %d "
				    "characters, no '/' or spaces)",
				    spec->target, IF_NAMESIZE - 1);
	sl_strlcpy(pp->ifname, spec->target, sizeof(pp->ifname));
	err = sl_spec_u32(spec, "fanout", 0, 1, SL_PORT_MAX_QUEUES, &fanout);
	if (!err)
		err = sl_spec_u32(spec, "queues", 0, 1, SL_PORT_MAX_QUEUES,
				  &queues);
	if (err)
		return err;
	if (fanout && queues && fanout != queues)
		return sl_spec_fail(spec, EINVAL,
				    "fanout=%u and queues=%u disagree (one "
				    "socket per queue: give one of them)",
				    fanout, queues);
	pp->n_q = fanout ? fanout : queues ? queues : 1;
	if (bypass && bypass[0])
		return sl_spec_fail(spec, EINVAL,
				    "bad qdisc_bypass '%s': it is a flag, "
				    "without a value",
				    bypass);
	pp->bypass = bypass != NULL;
	if (busy && busy[0])
		return sl_spec_fail(spec, EINVAL,
				    "bad busy_poll '%s': it is a flag, "
				    "without a value",
				    busy);
	pp->busy_poll = busy != NULL;
	if (tpv && strcmp(tpv, "v2") && strcmp(tpv, "v3"))
		return sl_spec_fail(spec, EINVAL,
				    "bad tpacket '%s': v2 (a frame ring, "
				    "lowest latency) or v3 (a block ring, "
				    "the default)",
				    tpv);
	pp->v2 = tpv && !strcmp(tpv, "v2");
	if (sl_match_parse(sl_spec_get(spec, "match"), &pp->match))
		return sl_spec_fail(spec, EINVAL, "%s", sl_last_error());
	n_insn = sl_match_cbpf(&pp->match, prog, SL_ARRAY_SIZE(prog));
	if (n_insn < 0)
		return sl_spec_fail(spec, -n_insn, "cannot compile the match");
	pp->ifindex = (int)if_nametoindex(pp->ifname);
	if (pp->ifindex == 0)
		return sl_spec_fail(spec, ENODEV, "no such interface");

	pp->q = aligned_alloc(SL_CACHE_LINE, pp->n_q * sizeof(*pp->q));
	if (!pp->q)
		return sl_spec_fail(spec, ENOMEM, "out of memory");
	memset(pp->q, 0, pp->n_q * sizeof(*pp->q));
	for (i = 0; i < pp->n_q; i++)
		pp->q[i].fd = -1;
	for (i = 0; i < pp->n_q; i++) {
		err = q_open(port, spec, &pp->q[i], port->opts->ring_size);
		if (err)
			goto fail;
	}
	for (i = 0; i < pp->n_q; i++) {
		err = q_bind(spec, &pp->q[i], pp->ifindex);
		if (err)
			goto fail;
	}
	if (pp->n_q > 1) {
		err = fanout_join(spec, pp);
		if (err)
			goto fail;
	}
	/* set up: now let frames in */
	for (i = 0; i < pp->n_q; i++) {
		if (attach(pp->q[i].fd, prog, (unsigned)n_insn)) {
			err = sl_spec_fail(spec, errno,
					   "the kernel refused the match "
					   "filter: %s",
					   strerror(errno));
			goto fail;
		}
	}
	(void)sl_if_hwaddr(pp->ifname, port->info.mac, NULL);
	port->n_queues = (uint16_t)pp->n_q;
	snprintf(port->info.mode, sizeof(port->info.mode), "tpacket-v%c%s",
		 pp->v2 ? '2' : '3', pp->bypass ? "+qdisc-bypass" : "");
	sl_strlcpy(port->info.name, pp->ifname, sizeof(port->info.name));
	sl_dbg("%s: %u queue(s), %u blocks of %u bytes, match %s", spec->text,
	       pp->n_q, pp->q[0].rx.n_blocks, pp->q[0].rx.block_size,
	       sl_match_format(&pp->match, rules, sizeof(rules)));
	return 0;
fail:
	pkt_close(port);
	return err;
}

/* ---- receive ---------------------------------------------------------- */

/*
 * busy_poll, on an empty ring: the documented kick, a non-blocking
 * recvfrom() that runs the device's NAPI poll in this thread (it returns
 * EAGAIN: the ring keeps the socket's queue empty). sk_busy_loop does
 * nothing until the socket has recorded the NAPI id of its traffic, which
 * AF_PACKET does not do (tpacket_rcv never calls sk_mark_napi_id; on Linux
 * 6.18 a packet socket on a NAPI veth reads SO_INCOMING_NAPI_ID 0 where a
 * UDP socket reads the id): until it has one, one empty poll in
 * PKT_NAPI_RECHECK looks again instead of paying a useless system call
 * every time.
 */
static void busy_kick(struct pkt_q *q)
{
	if (sl_unlikely(!q->napi_id)) {
		socklen_t l = sizeof(q->napi_id);

		if (q->idle++ % PKT_NAPI_RECHECK)
			return;
		if (getsockopt(q->fd, SOL_SOCKET, SO_INCOMING_NAPI_ID,
			       &q->napi_id, &l) ||
		    !q->napi_id) {
			q->napi_id = 0;
			return;
		}
	}
	q->rx_busy_polls++;
	(void)recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

/* The vDSO's coarse clock: no system call, a few ns, ticks of 1-4 ms. */
static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Whether q's socket lost its device: the kernel set its ifindex to -1 on
 * NETDEV_UNREGISTER, and getsockname reads it back. If so, the port goes to
 * ERROR (once for all its queues: they share the device). Not when the
 * call itself fails: that tells nothing.
 */
__attribute__((cold, noinline)) static bool device_lost(struct sl_port *port,
							struct pkt_q *q)
{
	struct pkt_priv *pp = port->priv;
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);

	memset(&sll, 0, sizeof(sll));
	if (getsockname(q->fd, (struct sockaddr *)&sll, &len) != 0 ||
	    sll.sll_ifindex == pp->ifindex)
		return false;
	sl_drv_set_gone(port, &pp->gone, "packet", pp->ifname, pp->ifindex);
	return true;
}

/* A receive burst found the ring empty: at most every PKT_GONE_CHECK_NS,
 * look whether the device is still there. */
static void idle_check(struct sl_port *port, struct pkt_q *q)
{
	uint64_t now = coarse_ns();

	if (sl_likely(now < q->next_check_ns))
		return;
	q->next_check_ns = now + PKT_GONE_CHECK_NS;
	device_lost(port, q);
}

static uint16_t pkt_rx(struct sl_port *port, uint16_t queue,
		       struct sl_pkt **pkts, uint16_t n)
{
	struct pkt_priv *pp = port->priv;
	struct pkt_q *q = &pp->q[queue];
	struct sl_port_qstats *st = &port->qstats[queue];
	struct sl_tpacket_counts c = { 0 };
	uint64_t now = 0;
	unsigned got = 0;
	bool empty = false;

	while (got < n) {
		unsigned want, used, avail;

		want = SL_MIN((unsigned)n - got, (unsigned)PKT_BATCH);
		avail = sl_tpacket_avail(&q->rx, want);
		if (!avail) {
			empty = true;
			break;
		}
		/* avail >= want: the take stays inside what the kernel
		 * handed over (v2: ready slots; v3: the block) */
		want = SL_MIN(want, avail);
		while (sl_pkt_alloc_bulk(port->pool, q->bufs, want) != 0) {
			st->rx_nombuf++;
			want /= 2;
			if (want == 0)
				goto out;
		}
		if (!now && port->rx_ts) {
			/* the frames carry the kernel's wall-clock times */
			struct timespec rt;

			clock_gettime(CLOCK_REALTIME, &rt);
			now = sl_time_ns();
			q->rx.ts_off =
				(int64_t)now -
				(int64_t)((uint64_t)rt.tv_sec * 1000000000ull +
					  (uint64_t)rt.tv_nsec);
		}
		used = sl_tpacket_take(&q->rx, q->bufs, want, pkts + got,
				       port->port_id, queue, now, &c);
		got += used;
		if (used < want)
			sl_pkt_free_bulk(q->bufs + used, want - used);
	}
out:
	/* gone: what the ring held, then 0 without a system call */
	if (got == 0 && empty && sl_likely(!sl_drv_gone(&pp->gone))) {
		if (q->busy_poll)
			busy_kick(q);
		idle_check(port, q);
	}
	st->rx_packets += got;
	st->rx_bytes += c.bytes;
	st->rx_dropped += c.dropped;
	st->rx_invalid += c.invalid;
	return (uint16_t)got;
}

/* ---- send ------------------------------------------------------------- */

static uint16_t pkt_tx(struct sl_port *port, uint16_t queue,
		       struct sl_pkt **pkts, uint16_t n)
{
	struct pkt_priv *pp = port->priv;
	struct pkt_q *q = &pp->q[queue];
	struct sl_port_qstats *st = &port->qstats[queue];
	unsigned i = 0, j;
	bool retried = false;

	/* the device went away: take nothing, the caller keeps its packets */
	if (sl_unlikely(sl_drv_gone(&pp->gone)))
		return 0;
	while (i < n) {
		unsigned cnt = SL_MIN((unsigned)n - i, (unsigned)PKT_BATCH);
		int r;

		for (j = 0; j < cnt; j++) {
			struct msghdr *mh = &q->msgs[j].msg_hdr;

			q->iov[j].iov_base = pkts[i + j]->data;
			q->iov[j].iov_len = pkts[i + j]->len;
			memset(mh, 0, sizeof(*mh));
			mh->msg_iov = &q->iov[j];
			mh->msg_iovlen = 1;
		}
		r = sendmmsg(q->fd, q->msgs, cnt, MSG_DONTWAIT);
		if (r > 0) {
			for (j = 0; j < (unsigned)r; j++)
				st->tx_bytes += pkts[i + j]->len;
			st->tx_packets += (unsigned)r;
			/* the kernel copied them into skbs */
			sl_pkt_free_bulk(pkts + i, (unsigned)r);
			i += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS) {
			st->tx_full++;
			break;
		}
		/* no device (ENXIO, where one that is down gives ENETDOWN):
		 * gone for good; the rest stays with the caller */
		if (sl_unlikely(errno == ENXIO) && device_lost(port, q))
			break;
		/* A device set down marks the socket (sk_err ENETDOWN,
		 * packet_notifier) and the kernel returns that mark on the
		 * first send after it is up again (sock_alloc_send_pskb reads
		 * and clears sk_err), in place of the frame's own result: try
		 * once more, so that the first frame after up is not lost. */
		if (errno == ENETDOWN && !retried) {
			retried = true;
			continue;
		}
		/* this frame cannot be sent (too short, over the MTU, link
		 * down...): take it, count it, go on */
		st->tx_errors++;
		sl_pkt_free(pkts[i]);
		i++;
	}
	return (uint16_t)i;
}

/* ---- counters --------------------------------------------------------- */

static int pkt_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n)
{
	struct pkt_priv *pp = port->priv;
	uint64_t packets = 0, drops = 0, freeze = 0, trunc = 0, bad = 0;
	uint64_t csum = 0, busy = 0;
	unsigned i;

	pthread_mutex_lock(&pp->stats_lock);
	for (i = 0; i < pp->n_q; i++) {
		struct pkt_q *q = &pp->q[i];
		struct tpacket_stats_v3 ks;
		socklen_t l = sizeof(ks);

		/* the kernel clears its counters on every read: add up */
		if (getsockopt(q->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &l) ==
		    0) {
			q->k_packets += ks.tp_packets;
			q->k_drops += ks.tp_drops;
			q->k_freeze += ks.tp_freeze_q_cnt;
		}
		packets += q->k_packets;
		drops += q->k_drops;
		freeze += q->k_freeze;
		trunc += q->rx.truncated;
		bad += q->rx.bad_desc;
		csum += q->rx.csum_partial;
		busy += q->rx_busy_polls;
	}
	pthread_mutex_unlock(&pp->stats_lock);
	sl_xstat_put(out, n, 0, "packet_kernel_packets", packets);
	sl_xstat_put(out, n, 1, "packet_kernel_drops", drops);
	sl_xstat_put(out, n, 2, "packet_freeze_q_cnt", freeze);
	sl_xstat_put(out, n, 3, "packet_rx_truncated", trunc);
	sl_xstat_put(out, n, 4, "packet_rx_bad_desc", bad);
	sl_xstat_put(out, n, 5, "packet_rx_csum_partial", csum);
	sl_xstat_put(out, n, 6, "packet_busy_polls", busy);
	return 7;
}

static const char *const pkt_keys[] = { "match",   "fanout",	"qdisc_bypass",
					"tpacket", "busy_poll", NULL };

int sl_packet_queue_fd(struct sl_port *port, uint16_t queue)
{
	struct pkt_priv *pp;

	if (!port || port->drv != &sl_driver_packet)
		return -1;
	pp = port->priv;
	return pp->q && queue < pp->n_q ? pp->q[queue].fd : -1;
}

/* sl_port_set_match: a new filter on every queue's socket (the kernel
 * swaps it whole: each frame meets the old or the new one). */
static int pkt_set_match(struct sl_port *port, const char *text,
			 const struct sl_match *m)
{
	struct pkt_priv *pp = port->priv;
	struct sock_filter prog[SL_MATCH_CBPF_MAX];
	int n_insn = sl_match_cbpf(m, prog, SL_ARRAY_SIZE(prog));
	unsigned i;

	(void)text;
	if (n_insn < 0)
		return sl_fail(-n_insn, "%s: cannot compile the match",
			       port->info.spec);
	for (i = 0; i < pp->n_q; i++)
		if (attach(pp->q[i].fd, prog, (unsigned)n_insn))
			return sl_fail(errno,
				       "%s: the kernel refused the match "
				       "filter: %s",
				       port->info.spec, strerror(errno));
	pp->match = *m;
	return 0;
}

const struct sl_driver sl_driver_packet = {
	.name = "packet",
	.caps = SL_DRV_CAP_PAD_POOL,
	.keys = pkt_keys,
	.priv_size = sizeof(struct pkt_priv),
	.open = pkt_open,
	.close = pkt_close,
	.rx_burst = pkt_rx,
	.tx_burst = pkt_tx,
	.xstats = pkt_xstats,
	.queue_fd = sl_packet_queue_fd,
	.set_match = pkt_set_match,
};
