/* SPDX-License-Identifier: MIT */
/*
 * Checked reads of the AF_XDP rings the kernel produces (RX and completion).
 *
 * The kernel writes descriptors into memory the process can also write, and
 * a descriptor is an offset into the UMEM that the driver turns into a
 * pointer and then writes through (the struct sl_pkt at the start of the
 * chunk). So nothing read from those rings is followed before it is
 * checked: the address must lie inside the UMEM, the frame must end inside
 * its chunk and must not overlap the packet metadata, and the chunk must be
 * one this very socket handed to the kernel (through its fill ring for RX,
 * through its TX ring for completions). The last check is what keeps a
 * descriptor repeated by mistake from handing one buffer out twice.
 *
 * Ownership is a byte per chunk (struct sl_xsk_geom.owner): 0 while the
 * buffer is in the pool or with the application, the socket's slot while it
 * sits in that socket's fill ring, slot | SL_XSK_OWN_TX while it is in its TX
 * ring; a completed TX buffer may go straight back into the same socket's
 * fill ring (sl_xsk_comp_recycle), from slot | SL_XSK_OWN_TX to slot. Each
 * byte is written only by the thread that owns the buffer at the
 * time, so no atomics are needed. Fast path, no allocation, no logging.
 */
#ifndef SL_DRIVERS_XDP_XSK_DESC_H
#define SL_DRIVERS_XDP_XSK_DESC_H

#include <stdint.h>

#include <xdp/xsk.h>

#include <sluice/pkt.h>

#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0) /* Linux 6.6: more of this frame follows */
#endif

#define SL_XSK_OWN_NONE 0
#define SL_XSK_OWN_TX 0x80 /* | slot: in that socket's TX ring */
#define SL_XSK_MAX_SLOTS 127 /* sockets per UMEM: slots 1..127 */

/* Ethernet header: anything shorter is not a frame */
#define SL_XSK_MIN_FRAME 14
/* Descriptors one multi-buffer frame may span: the kernel's MAX_SKB_FRAGS
 * (17 by default, 45 at most) plus one, with room to spare; a frame of more
 * is refused whole */
#define SL_XSK_MAX_FRAGS 48

struct sl_xsk_geom {
	uint8_t *base; /* UMEM start: the pool's buffer 0 */
	uint64_t len; /* n_chunks << shift */
	uint32_t chunk; /* chunk (= pool buffer) size, a power of two */
	uint32_t shift; /* log2(chunk) */
	uint8_t *owner; /* one tag per chunk, see above */
};

/* Why a descriptor was refused (0: it is fine). */
enum sl_xsk_bad {
	SL_XSK_OK = 0,
	SL_XSK_BAD_ADDR, /* outside the UMEM */
	SL_XSK_BAD_OWNER, /* a chunk this socket did not give the kernel */
	SL_XSK_BAD_OFFSET, /* frame starts inside the packet metadata */
	SL_XSK_BAD_LEN, /* frame too short or runs past its chunk */
};

/* Check an RX descriptor for socket `slot` (1..127) whose frame (or
 * fragment) holds at least min_len bytes. Returns an enum sl_xsk_bad. When
 * the address and the owner are right but the frame is not
 * (SL_XSK_BAD_OFFSET, SL_XSK_BAD_LEN), the chunk is still ours: the caller
 * recycles it. */
static inline enum sl_xsk_bad sl_xsk_check_rx_min(const struct sl_xsk_geom *g,
						  uint64_t addr, uint32_t len,
						  uint8_t slot,
						  uint32_t min_len)
{
	uint64_t off;

	if (addr >= g->len)
		return SL_XSK_BAD_ADDR;
	if (g->owner[addr >> g->shift] != slot)
		return SL_XSK_BAD_OWNER;
	off = addr & (g->chunk - 1);
	if (off < SL_PKT_META)
		return SL_XSK_BAD_OFFSET;
	if (len < min_len || len > g->chunk - off)
		return SL_XSK_BAD_LEN;
	return SL_XSK_OK;
}

/* A whole frame, or the first fragment of one: an Ethernet header at least. */
static inline enum sl_xsk_bad sl_xsk_check_rx(const struct sl_xsk_geom *g,
					      uint64_t addr, uint32_t len,
					      uint8_t slot)
{
	return sl_xsk_check_rx_min(g, addr, len, slot, SL_XSK_MIN_FRAME);
}

/* Check a completion: the address of a frame this socket sent. */
static inline enum sl_xsk_bad sl_xsk_check_comp(const struct sl_xsk_geom *g,
						uint64_t addr, uint8_t slot)
{
	if (addr >= g->len)
		return SL_XSK_BAD_ADDR;
	if (g->owner[addr >> g->shift] != (slot | SL_XSK_OWN_TX))
		return SL_XSK_BAD_OWNER;
	return SL_XSK_OK;
}

/* The packet (buffer start) of the chunk holding addr; addr checked. */
static inline struct sl_pkt *sl_xsk_pkt(const struct sl_xsk_geom *g,
					uint64_t addr)
{
	return (struct sl_pkt *)(g->base + (addr & ~(uint64_t)(g->chunk - 1)));
}

/* The UMEM address of a buffer's chunk start (what the fill ring takes). */
static inline uint64_t sl_xsk_chunk_addr(const struct sl_xsk_geom *g,
					 const struct sl_pkt *pkt)
{
	return (uint64_t)((const uint8_t *)pkt - g->base);
}

/* Counts one burst of ring reads adds to. */
struct sl_xsk_take_counts {
	uint64_t bytes; /* RX: bytes of the frames handed over */
	uint64_t invalid; /* descriptors refused */
	uint64_t recycled; /* refused, but the chunk was ours: see recycle */
	uint64_t taken; /* RX: chunks the kernel gave back (pkts + recycle) */
	uint64_t mb_frames; /* RX: multi-buffer frames handed over, copied */
	uint64_t mb_bad; /* RX: multi-buffer frames refused as malformed */
	uint64_t mb_too_long; /* RX: ... longer than a buffer of mb->pool */
	uint64_t mb_nobuf; /* RX: ... dropped, mb->pool was empty */
};

/*
 * Multi-buffer receive (XDP_USE_SG): a frame in several descriptors, each
 * but the last with XDP_PKT_CONTD, is copied into one buffer of pool (its
 * chunks go to recycle), so that the application still gets one contiguous
 * packet. pool NULL: the socket has no multi-buffer frames, and a
 * descriptor with XDP_PKT_CONTD is malformed. skip is the reader's state
 * across calls: set while the rest of a refused frame is still to come,
 * and dropped as it comes.
 */
struct sl_xsk_mb {
	struct sl_pool *pool;
	uint32_t skip;
};

/*
 * Read up to n RX descriptors of socket `slot` and release them. Each good
 * one becomes a packet at pkts[i], with no copy: the struct sl_pkt at the
 * start of its chunk gets data = base + addr, len, flags 0, port and queue.
 * A frame of several descriptors (see struct sl_xsk_mb) becomes one packet
 * of mb->pool; the last frame may take up to SL_XSK_MAX_FRAGS descriptors
 * beyond n. A bad descriptor, or a frame with one, is counted and dropped;
 * each chunk that was still ours is put in recycle[] (room for n +
 * SL_XSK_MAX_FRAGS + 1) for the caller to give back. Returns how many
 * packets are in pkts; *n_recycle says how many in recycle.
 */
unsigned sl_xsk_rx_take_mb(struct xsk_ring_cons *rx,
			   const struct sl_xsk_geom *g, uint8_t slot,
			   uint16_t port, uint16_t queue, struct sl_pkt **pkts,
			   unsigned n, struct sl_pkt **recycle,
			   unsigned *n_recycle, struct sl_xsk_mb *mb,
			   struct sl_xsk_take_counts *c);

/* sl_xsk_rx_take_mb for a socket without multi-buffer frames. */
unsigned sl_xsk_rx_take(struct xsk_ring_cons *rx, const struct sl_xsk_geom *g,
			uint8_t slot, uint16_t port, uint16_t queue,
			struct sl_pkt **pkts, unsigned n,
			struct sl_pkt **recycle, unsigned *n_recycle,
			struct sl_xsk_take_counts *c);

/*
 * Read up to n completions of socket `slot` and release them: each good
 * one's packet goes to pkts (to be freed by the caller). Bad ones are
 * counted in c->invalid and skipped. Returns how many are in pkts.
 */
unsigned sl_xsk_comp_take(struct xsk_ring_cons *comp,
			  const struct sl_xsk_geom *g, uint8_t slot,
			  struct sl_pkt **pkts, unsigned n,
			  struct sl_xsk_take_counts *c);

/*
 * Move up to want completions of socket `slot` straight into its fill ring,
 * checked as sl_xsk_comp_take checks them: the chunk a good completion
 * names goes into the fill ring (at its chunk address) and its tag from
 * slot | SL_XSK_OWN_TX to slot, with no pool round trip and no write to the
 * UMEM. Bad ones are counted in c->invalid and skipped. The fill ring must
 * have room for want (the caller's accounting says so); when it has not,
 * nothing moves. Returns how many went into the fill ring.
 */
uint32_t sl_xsk_comp_recycle(struct xsk_ring_cons *comp,
			     struct xsk_ring_prod *fill,
			     const struct sl_xsk_geom *g, uint8_t slot,
			     uint32_t want, struct sl_xsk_take_counts *c);

#endif
