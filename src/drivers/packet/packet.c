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
 * at once, however long the application keeps its packets. Every block
 * and frame header read from the ring is bounds-checked against its block
 * or slot before it is followed. Then one path (frame_deliver) does what
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
 *
 * Over 800 lines (both ring versions, fanout and the control path together):
 * its split by job is issue 15's redesign, which takes the whole tree's
 * layout at once.
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
#include "drivers/packet/packet.h"
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
#define PKT_FRAME_SLOT 2048 /* ring bytes budgeted per frame */
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
	uint8_t *ring;
	size_t ring_len;
	uint32_t block_size;
	uint32_t n_blocks;
	uint32_t n_frames; /* v2: frame slots of PKT_FRAME_SLOT bytes */
	bool v2; /* TPACKET_V2 frame ring, else TPACKET_V3 block ring */
	bool busy_poll; /* kick the kernel when the ring is empty */
	/* receive state, owned by the queue's rx thread */
	uint32_t cur; /* v3: block being read; v2: next frame slot */
	uint32_t left; /* v3: frames left in the block; 0: not opened */
	uint32_t off; /* v3: next frame's offset inside the block */
	bool skip_outgoing; /* the kernel cannot: look at sll_pkttype */
	uint64_t rx_busy_polls; /* recvfrom kicks on an empty ring */
	uint32_t napi_id; /* SO_INCOMING_NAPI_ID once the kernel has one */
	uint32_t idle; /* empty polls while it has none */
	uint64_t next_check_ns; /* coarse clock: next idle device check */
	uint64_t rx_csum_partial; /* L4 checksums left to finish (CSUMNOTREADY) */
	uint64_t rx_truncated; /* snaplen < len, or too big for a buffer */
	uint64_t rx_bad_desc; /* block or frame header out of bounds */
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
	q->v2 = pp->v2;
	if (set_int(q->fd, SOL_PACKET, PACKET_VERSION,
		    q->v2 ? TPACKET_V2 : TPACKET_V3)) {
		err = errno;
		return sl_spec_fail(spec, err, "TPACKET_V%c refused: %s",
				    q->v2 ? '2' : '3', strerror(err));
	}
	if (q->v2) {
		struct tpacket_req req2;
		uint32_t per_block = PKT_V2_BLOCK / PKT_FRAME_SLOT;

		/* ring_size frames, rounded up to whole blocks: slots are
		 * contiguous in the mapping (block size = slots x slot size),
		 * so slot i is at i * PKT_FRAME_SLOT */
		q->block_size = PKT_V2_BLOCK;
		q->n_blocks = (uint32_t)SL_MAX(1u, (ring_size + per_block - 1) /
							   per_block);
		q->n_frames = q->n_blocks * per_block;
		memset(&req2, 0, sizeof(req2));
		req2.tp_block_size = q->block_size;
		req2.tp_block_nr = q->n_blocks;
		req2.tp_frame_size = PKT_FRAME_SLOT;
		req2.tp_frame_nr = q->n_frames;
		if (setsockopt(q->fd, SOL_PACKET, PACKET_RX_RING, &req2,
			       sizeof(req2))) {
			err = errno;
			return sl_spec_fail(
				spec, err,
				"cannot set up a receive ring of %u "
				"x %u-byte frames: %s",
				q->n_frames, PKT_FRAME_SLOT, strerror(err));
		}
	} else {
		struct tpacket_req3 req;

		q->block_size = pow2_at_least(bytes / PKT_BLOCKS);
		q->n_blocks = (uint32_t)SL_MAX(8u, bytes / q->block_size);
		memset(&req, 0, sizeof(req));
		req.tp_block_size = q->block_size;
		req.tp_block_nr = q->n_blocks;
		req.tp_frame_size = PKT_FRAME_SLOT;
		req.tp_frame_nr = q->block_size / PKT_FRAME_SLOT * q->n_blocks;
		req.tp_retire_blk_tov = PKT_RETIRE_MS;
		if (setsockopt(q->fd, SOL_PACKET, PACKET_RX_RING, &req,
			       sizeof(req))) {
			err = errno;
			return sl_spec_fail(
				spec, err,
				"cannot set up a receive ring of %u "
				"x %u bytes: %s",
				q->n_blocks, q->block_size, strerror(err));
		}
	}
	q->ring_len = (size_t)q->block_size * q->n_blocks;
	q->ring = mmap(NULL, q->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       q->fd, 0);
	if (q->ring == MAP_FAILED) {
		err = errno;
		q->ring = NULL;
		return sl_spec_fail(spec, err, "cannot map the ring: %s",
				    strerror(err));
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
			pp->q[i].skip_outgoing = true;
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

		if (q->ring)
			munmap(q->ring, q->ring_len);
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
	struct ifreq ifr;
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
	memset(&ifr, 0, sizeof(ifr));
	sl_strlcpy(ifr.ifr_name, pp->ifname, sizeof(ifr.ifr_name));
	if (ioctl(pp->q[0].fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(port->info.mac, ifr.ifr_hwaddr.sa_data, SL_ETH_ALEN);
	port->n_queues = (uint16_t)pp->n_q;
	snprintf(port->info.mode, sizeof(port->info.mode), "tpacket-v%c%s",
		 pp->v2 ? '2' : '3', pp->bypass ? "+qdisc-bypass" : "");
	sl_strlcpy(port->info.name, pp->ifname, sizeof(port->info.name));
	sl_dbg("%s: %u queue(s), %u blocks of %u bytes, match %s", spec->text,
	       pp->n_q, pp->q[0].n_blocks, pp->q[0].block_size,
	       sl_match_format(&pp->match, rules, sizeof(rules)));
	return 0;
fail:
	pkt_close(port);
	return err;
}

/* ---- receive ---------------------------------------------------------- */

/*
 * A frame as the ring walks (v2 and v3) hand it to frame_deliver: read
 * from its tpacket2_hdr or tpacket3_hdr once that header, and data..
 * data + snaplen, are known to lie inside its slot or block.
 */
struct pkt_frame {
	const uint8_t *data; /* the frame, at tp_mac */
	uint32_t snaplen; /* bytes there */
	uint32_t len; /* bytes it had (tp_len) */
	uint32_t status; /* tp_status */
	uint16_t vlan_tci, vlan_tpid;
	bool outgoing; /* sll_pkttype PACKET_OUTGOING (skip_outgoing only) */
};

/*
 * Whether the kernel marked a frame outgoing, from the struct sockaddr_ll
 * it writes after a header of hdr_len bytes: 1 or 0, or -1 when that would
 * run into the frame (at mac).
 */
static inline int sll_outgoing(const uint8_t *h, size_t hdr_len, uint32_t mac)
{
	size_t at = TPACKET_ALIGN(hdr_len);

	if (at + sizeof(struct sockaddr_ll) > mac)
		return -1;
	return ((const struct sockaddr_ll *)(h + at))->sll_pkttype ==
	       PACKET_OUTGOING;
}

/*
 * What the kernel says of a frame's L4 checksum (tp_status): left for the
 * device to finish (CHECKSUM_PARTIAL: a local sender, a veth peer; the
 * field holds only the pseudo-header sum), verified by the device
 * (CHECKSUM_UNNECESSARY), or nothing. The frame is handed over as it is:
 * completing a PARTIAL checksum is work only a frame sent on needs, and
 * the sender asks for it (SL_PKT_F_TX_L4_CSUM).
 */
static inline uint16_t rx_csum_flags(struct pkt_q *q, uint32_t status)
{
	if (sl_unlikely(status & TP_STATUS_CSUMNOTREADY)) {
		q->rx_csum_partial++;
		return SL_PKT_RX_CSUM(SL_CSUM_UNKNOWN, SL_CSUM_PARTIAL);
	}
	if (status & TP_STATUS_CSUM_VALID)
		return SL_PKT_RX_CSUM(SL_CSUM_UNKNOWN, SL_CSUM_GOOD);
	return 0;
}

/*
 * Copy a frame into p as it was on the wire, whichever ring it came from:
 * the VLAN tag the kernel stripped put back after the MACs, with its
 * checksum state and receive time in p->flags. Returns 1 (p filled), 0 (dropped and counted:
 * truncated by the ring, or too big for a buffer) or 2 (an outgoing frame,
 * skipped).
 */
static inline int frame_deliver(struct pkt_q *q, const struct pkt_frame *f,
				struct sl_pkt *p)
{
	uint32_t room = p->room - p->headroom0, len = f->snaplen;
	bool vlan = (f->status & TP_STATUS_VLAN_VALID) && len >= 12;

	if (sl_unlikely(f->outgoing))
		return 2;
	if (sl_unlikely(len < f->len || len + (vlan ? 4 : 0) > room)) {
		q->rx_truncated++;
		return 0;
	}
	if (vlan) {
		uint16_t tpid = (f->status & TP_STATUS_VLAN_TPID_VALID) ?
					f->vlan_tpid :
					ETH_P_8021Q;
		uint16_t tag[2] = { htons(tpid), htons(f->vlan_tci) };

		memcpy(p->data, f->data, 12);
		memcpy(p->data + 12, tag, 4);
		memcpy(p->data + 16, f->data + 12, len - 12);
		p->len = len + 4;
	} else {
		memcpy(p->data, f->data, len);
		p->len = len;
	}
	p->flags = rx_csum_flags(q, f->status);
	return 1;
}

/* -- tpacket=v3: a ring of blocks -- */

static inline struct tpacket_block_desc *block_at(struct pkt_q *q, uint32_t i)
{
	return (struct tpacket_block_desc *)(q->ring +
					     (size_t)i * q->block_size);
}

/* Give the current block back to the kernel and move to the next. */
static inline void block_done(struct pkt_q *q)
{
	struct tpacket_block_desc *bd = block_at(q, q->cur);

	/* release: our reads of the block happen before the kernel's
	 * rewrite of it (pairs with the kernel's smp_rmb in
	 * prb_lookup_block / its status check) */
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
			 __ATOMIC_RELEASE);
	q->left = 0;
	q->cur = q->cur + 1 == q->n_blocks ? 0 : q->cur + 1;
}

/* Open the current block if the kernel has handed it over: true when there
 * are frames to read. */
static inline bool block_open(struct pkt_q *q)
{
	struct tpacket_block_desc *bd = block_at(q, q->cur);

	for (;;) {
		uint32_t num, first;

		/* acquire: pairs with the kernel's smp_wmb before it sets
		 * TP_STATUS_USER, so the frames are visible */
		if (!(__atomic_load_n(&bd->hdr.bh1.block_status,
				      __ATOMIC_ACQUIRE) &
		      TP_STATUS_USER))
			return false;
		num = bd->hdr.bh1.num_pkts;
		first = bd->hdr.bh1.offset_to_first_pkt;
		if (num && first >= sizeof(*bd) && first < q->block_size) {
			q->left = num;
			q->off = first;
			return true;
		}
		if (num)
			q->rx_bad_desc++;
		block_done(q);
		bd = block_at(q, q->cur);
	}
}

/*
 * Copy the next frame of the open block into p and move past it (giving
 * the block back after its last frame). Returns as frame_deliver, or -1: a
 * header points outside the block, and the caller abandons the rest of it.
 */
static inline int v3_frame_copy(struct pkt_q *q, struct sl_pkt *p)
{
	const uint8_t *blk = (const uint8_t *)block_at(q, q->cur);
	const struct tpacket3_hdr *h;
	struct pkt_frame f;
	uint32_t mac, next;
	int r;

	if (q->off > q->block_size - sizeof(*h))
		return -1;
	h = (const struct tpacket3_hdr *)(blk + q->off);
	/* each field read once: the kernel shares this memory */
	mac = h->tp_mac;
	f.snaplen = h->tp_snaplen;
	next = h->tp_next_offset;
	if (mac > q->block_size - q->off ||
	    f.snaplen > q->block_size - q->off - mac)
		return -1;
	f.data = (const uint8_t *)h + mac;
	f.len = h->tp_len;
	f.status = h->tp_status;
	f.vlan_tci = (uint16_t)h->hv1.tp_vlan_tci;
	f.vlan_tpid = h->hv1.tp_vlan_tpid;
	f.outgoing = false;
	if (sl_unlikely(q->skip_outgoing)) {
		int o = sll_outgoing((const uint8_t *)h, sizeof(*h), mac);

		if (o < 0)
			return -1;
		f.outgoing = o;
	}
	r = frame_deliver(q, &f, p);
	if (--q->left == 0) {
		block_done(q);
	} else {
		if (next == 0 || next > q->block_size - q->off)
			return -1;
		q->off += next;
	}
	return r;
}

/* -- tpacket=v2: a ring of frame slots -- */

static inline struct tpacket2_hdr *slot_at(struct pkt_q *q, uint32_t i)
{
	return (struct tpacket2_hdr *)(q->ring + (size_t)i * PKT_FRAME_SLOT);
}

/* Whether the kernel has handed slot i over. */
static inline bool slot_ready(struct pkt_q *q, uint32_t i)
{
	/* acquire: pairs with the smp_wmb in the kernel's
	 * __packet_set_status, after it wrote the frame and its header */
	return __atomic_load_n(&slot_at(q, i)->tp_status, __ATOMIC_ACQUIRE) &
	       TP_STATUS_USER;
}

/*
 * Copy the frame in the current slot (which the caller found ready) into p
 * and give the slot back at once. Returns as frame_deliver, or -1: its
 * header points outside the slot, and the frame is dropped.
 */
static inline int v2_frame_copy(struct pkt_q *q, struct sl_pkt *p)
{
	struct tpacket2_hdr *h = slot_at(q, q->cur);
	struct pkt_frame f;
	uint32_t mac = h->tp_mac;
	int r = -1;

	f.snaplen = h->tp_snaplen;
	if (mac >= sizeof(*h) && mac <= PKT_FRAME_SLOT &&
	    f.snaplen <= PKT_FRAME_SLOT - mac) {
		f.data = (const uint8_t *)h + mac;
		f.len = h->tp_len;
		f.status = h->tp_status;
		f.vlan_tci = h->tp_vlan_tci;
		f.vlan_tpid = h->tp_vlan_tpid;
		f.outgoing = false;
		r = 0;
		if (sl_unlikely(q->skip_outgoing)) {
			r = sll_outgoing((const uint8_t *)h, sizeof(*h), mac);
			f.outgoing = r == 1;
		}
		if (r >= 0)
			r = frame_deliver(q, &f, p);
	}
	/* release: our reads of the slot happen before the kernel's
	 * rewrite of it (it checks for TP_STATUS_KERNEL under its lock) */
	__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	q->cur = q->cur + 1 == q->n_frames ? 0 : q->cur + 1;
	return r;
}

/* How many slots from the current one on are ready, up to max. */
static inline unsigned v2_ready(struct pkt_q *q, unsigned max)
{
	uint32_t i = q->cur;
	unsigned k;

	for (k = 0; k < max && slot_ready(q, i); k++)
		i = i + 1 == q->n_frames ? 0 : i + 1;
	return k;
}

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

static bool port_gone(const struct pkt_priv *pp)
{
	return __atomic_load_n(&pp->gone, __ATOMIC_RELAXED);
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
	if (__atomic_exchange_n(&pp->gone, 1, __ATOMIC_RELAXED))
		return true;
	sl_port_set_state(port, SL_PORT_ERROR,
			  "packet:%s: interface gone (ifindex %d deleted or "
			  "moved out of this namespace)",
			  pp->ifname, pp->ifindex);
	sl_warn("packet:%s: interface gone (ifindex %d deleted or moved out "
		"of this namespace); the port is in ERROR, close it",
		pp->ifname, pp->ifindex);
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
	struct sl_queue_stats *st = &port->qstats[queue];
	uint64_t now = 0, bytes = 0;
	unsigned got = 0, dropped = 0;
	bool empty = false;

	while (got < n) {
		unsigned want, i, used = 0, avail;

		want = SL_MIN((unsigned)n - got, (unsigned)PKT_BATCH);
		if (q->v2) {
			avail = v2_ready(q, want);
		} else {
			if (!q->left && !block_open(q))
				avail = 0;
			else
				avail = q->left;
		}
		if (!avail) {
			empty = true;
			break;
		}
		/* avail >= want: the loop below stays inside what the
		 * kernel handed over (v2: ready slots; v3: the block) */
		want = SL_MIN(want, avail);
		while (sl_pkt_alloc_bulk(port->pool, q->bufs, want) != 0) {
			st->rx_nombuf++;
			want /= 2;
			if (want == 0)
				goto out;
		}
		if (!now && port->rx_ts) /* one clock read per burst */
			now = sl_time_ns();
		for (i = 0; i < want; i++) {
			struct sl_pkt *p = q->bufs[used];
			int r = q->v2 ? v2_frame_copy(q, p) :
					v3_frame_copy(q, p);

			if (sl_unlikely(r < 0)) {
				q->rx_bad_desc++;
				st->rx_invalid++;
				if (q->v2)
					continue; /* its slot is back */
				block_done(q);
				break;
			}
			if (sl_unlikely(r != 1)) {
				dropped += r == 0;
				continue;
			}
			p->port = port->port_id;
			p->queue = queue;
			p->rx_ts = now;
			if (now)
				p->flags |= SL_PKT_F_RX_TS;
			bytes += p->len;
			pkts[got++] = p;
			used++;
		}
		if (used < want)
			sl_pkt_free_bulk(q->bufs + used, want - used);
	}
out:
	/* gone: what the ring held, then 0 without a system call */
	if (got == 0 && empty && sl_likely(!port_gone(pp))) {
		if (q->busy_poll)
			busy_kick(q);
		idle_check(port, q);
	}
	st->rx_packets += got;
	st->rx_bytes += bytes;
	st->rx_dropped += dropped;
	return (uint16_t)got;
}

/* ---- send ------------------------------------------------------------- */

static uint16_t pkt_tx(struct sl_port *port, uint16_t queue,
		       struct sl_pkt **pkts, uint16_t n)
{
	struct pkt_priv *pp = port->priv;
	struct pkt_q *q = &pp->q[queue];
	struct sl_queue_stats *st = &port->qstats[queue];
	unsigned i = 0, j;
	bool retried = false;

	/* the device went away: take nothing, the caller keeps its packets */
	if (sl_unlikely(port_gone(pp)))
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
		trunc += q->rx_truncated;
		bad += q->rx_bad_desc;
		csum += q->rx_csum_partial;
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
};
