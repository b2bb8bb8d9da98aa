/* SPDX-License-Identifier: MIT */
/*
 * Checked walks of the AF_PACKET receive rings (TPACKET_V2 frame slots,
 * TPACKET_V3 blocks) that the kernel shares with us through mmap.
 *
 * The kernel writes block and frame headers into memory the process can
 * also write, and the walk follows the offsets they hold (offset_to_first_
 * pkt, tp_mac, tp_next_offset). So nothing read from a header is followed
 * before it is checked against its block or slot: a header that points
 * outside is counted (bad_desc, and in the burst's invalid) and its frame
 * dropped, never read past. In v3 the rest of a block with such a header
 * is abandoned and the block given back. Each header field is read once:
 * the kernel (or a bug) may change it under us, and the check must cover
 * what is used.
 *
 * The ring is only memory here, no socket: the packet driver points it at
 * its mapping, the unit tests and the fuzz target at bytes of their own.
 * Fast path: no allocation, no logging, no system calls. One thread per
 * ring (the queue's receive thread) owns the walk state and the counters.
 */
#ifndef SL_DRIVERS_PACKET_TPACKET_H
#define SL_DRIVERS_PACKET_TPACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/pkt.h>

/* ring bytes budgeted per frame; in v2 the size of a frame slot */
#define SL_TPACKET_FRAME 2048u

struct sl_tpacket_ring {
	uint8_t *base; /* the ring: n_blocks x block_size bytes */
	uint32_t block_size;
	uint32_t n_blocks;
	uint32_t n_frames; /* v2: slots of SL_TPACKET_FRAME bytes */
	bool v2; /* TPACKET_V2 frame ring, else TPACKET_V3 block ring */
	bool skip_outgoing; /* the kernel cannot: look at sll_pkttype */
	/* sl_time_ns's clock minus CLOCK_REALTIME, set before a take that
	 * stamps: each frame's receive time is then the kernel's, taken when
	 * it reached the socket (tp_sec, tp_nsec), on sl_time_ns's clock */
	int64_t ts_off;
	/* walk state */
	uint32_t cur; /* v3: block being read; v2: next frame slot */
	uint32_t left; /* v3: frames left in the block; 0: not opened */
	uint32_t off; /* v3: next frame's offset inside the block */
	/* counters since init; read (racily) by the xstats call */
	uint64_t csum_partial; /* L4 checksums left to finish (CSUMNOTREADY) */
	uint64_t truncated; /* snaplen < len, or too big for a buffer */
	uint64_t bad_desc; /* block or frame header out of bounds */
};

/* What one sl_tpacket_take adds up. */
struct sl_tpacket_counts {
	uint64_t bytes; /* of the frames handed over */
	uint64_t dropped; /* truncated frames (also in ring->truncated) */
	uint64_t invalid; /* bad frame headers (also in ring->bad_desc) */
};

/*
 * Point r at a ring of n_blocks x block_size bytes at base, and start the
 * walk at its first block or slot. base and block_size aligned to 8 (a
 * block descriptor's alignment); v2: block_size a multiple of
 * SL_TPACKET_FRAME (the slots are contiguous, as the packet driver asks
 * the kernel for them). Returns 0, or -EINVAL for a geometry the walk
 * cannot keep inside the ring. Control path.
 */
int sl_tpacket_init(struct sl_tpacket_ring *r, uint8_t *base, bool v2,
		    uint32_t block_size, uint32_t n_blocks);

/*
 * How many frames, up to max, the kernel has handed over from the current
 * position on: v2, ready slots; v3, the frames of the current block (which
 * it opens if the kernel has handed it over; blocks with a bad header are
 * counted in bad_desc and given back on the way). 0: the ring is empty.
 */
unsigned sl_tpacket_avail(struct sl_tpacket_ring *r, unsigned max);

/*
 * Copy up to n frames (n no more than the last sl_tpacket_avail gave) into
 * the buffers bufs[0..n), giving ring space back as it goes. Each frame is
 * put as it was on the wire (a VLAN tag the kernel stripped put back), and
 * stamped with port, queue, now (rx_ts) and its checksum state. The filled
 * buffers are bufs[0..k) and also out[0..k); returns k. bufs[k..n) are
 * unused. A truncated frame is dropped and counted in c->dropped, a frame
 * the port sent itself (skip_outgoing) skipped, a bad header counted in
 * c->invalid (in v3 the rest of its block is abandoned, and the call ends).
 */
unsigned sl_tpacket_take(struct sl_tpacket_ring *r, struct sl_pkt **bufs,
			 unsigned n, struct sl_pkt **out, uint16_t port,
			 uint16_t queue, uint64_t now,
			 struct sl_tpacket_counts *c);

#endif
