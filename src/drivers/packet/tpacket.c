// SPDX-License-Identifier: MIT
/*
 * Checked walks of the AF_PACKET receive rings; see tpacket.h. Kept apart
 * from the driver so a unit test and a fuzz target can run them over bytes
 * in ordinary memory, without a kernel socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>

#include <sluice/core.h>

#include "drivers/packet/tpacket.h"

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
	uint64_t ts; /* tp_sec, tp_nsec: when the kernel queued it (wall
		      * clock, ns) */
};

int sl_tpacket_init(struct sl_tpacket_ring *r, uint8_t *base, bool v2,
		    uint32_t block_size, uint32_t n_blocks)
{
	/* v3: a block holds its descriptor and at least one frame header,
	 * which the walk's bounds checks take for granted; and every block
	 * starts aligned for its descriptor (the kernel's are page-aligned) */
	if (!base || !n_blocks ||
	    (((uintptr_t)base | block_size) &
	     (_Alignof(struct tpacket_block_desc) - 1)) ||
	    block_size < sizeof(struct tpacket_block_desc) +
				 sizeof(struct tpacket3_hdr) ||
	    (v2 && (block_size % SL_TPACKET_FRAME ||
		    (uint64_t)n_blocks * (block_size / SL_TPACKET_FRAME) >
			    UINT32_MAX)))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->v2 = v2;
	r->block_size = block_size;
	r->n_blocks = n_blocks;
	r->n_frames = v2 ? n_blocks * (block_size / SL_TPACKET_FRAME) : 0;
	return 0;
}

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
static inline uint16_t rx_csum_flags(struct sl_tpacket_ring *r, uint32_t status)
{
	if (sl_unlikely(status & TP_STATUS_CSUMNOTREADY)) {
		r->csum_partial++;
		return SL_PKT_RX_CSUM(SL_CSUM_UNKNOWN, SL_CSUM_PARTIAL);
	}
	if (status & TP_STATUS_CSUM_VALID)
		return SL_PKT_RX_CSUM(SL_CSUM_UNKNOWN, SL_CSUM_GOOD);
	return 0;
}

/*
 * Copy a frame into p as it was on the wire, whichever ring it came from:
 * the VLAN tag the kernel stripped put back after the MACs, with its
 * checksum state and receive time in p->flags. Returns 1 (p filled), 0
 * (dropped and counted: truncated by the ring, or too big for a buffer) or
 * 2 (an outgoing frame, skipped).
 */
static inline int frame_deliver(struct sl_tpacket_ring *r,
				const struct pkt_frame *f, struct sl_pkt *p)
{
	uint32_t room = p->room - p->headroom0, len = f->snaplen;
	bool vlan = (f->status & TP_STATUS_VLAN_VALID) && len >= 12;

	if (sl_unlikely(f->outgoing))
		return 2;
	if (sl_unlikely(len < f->len || len + (vlan ? 4 : 0) > room)) {
		r->truncated++;
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
	p->flags = rx_csum_flags(r, f->status);
	p->rx_ts = f->ts; /* the wall clock's: sl_tpacket_take turns it */
	return 1;
}

/* -- tpacket=v3: a ring of blocks -- */

/* The kernel puts every frame header at a multiple of 8 (V3_ALIGNMENT in
 * af_packet.c); one that is not even aligned for its type is not a header. */
#define V3_HDR_ALIGN (_Alignof(struct tpacket3_hdr) - 1)

static inline struct tpacket_block_desc *block_at(struct sl_tpacket_ring *r,
						  uint32_t i)
{
	return (struct tpacket_block_desc *)(r->base +
					     (size_t)i * r->block_size);
}

/* Give the current block back to the kernel and move to the next. */
static inline void block_done(struct sl_tpacket_ring *r)
{
	struct tpacket_block_desc *bd = block_at(r, r->cur);

	/* release: our reads of the block happen before the kernel's
	 * rewrite of it (pairs with the kernel's smp_rmb in
	 * prb_lookup_block / its status check) */
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
			 __ATOMIC_RELEASE);
	r->left = 0;
	r->cur = r->cur + 1 == r->n_blocks ? 0 : r->cur + 1;
}

/* Open the current block if the kernel has handed it over: true when there
 * are frames to read. */
static inline bool block_open(struct sl_tpacket_ring *r)
{
	struct tpacket_block_desc *bd = block_at(r, r->cur);

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
		if (num && first >= sizeof(*bd) && first < r->block_size &&
		    !(first & V3_HDR_ALIGN)) {
			r->left = num;
			r->off = first;
			return true;
		}
		if (num)
			r->bad_desc++;
		block_done(r);
		bd = block_at(r, r->cur);
	}
}

/*
 * Copy the next frame of the open block into p and move past it (giving
 * the block back after its last frame). Returns as frame_deliver, or -1: a
 * header points outside the block, and the caller abandons the rest of it.
 */
static inline int v3_frame_copy(struct sl_tpacket_ring *r, struct sl_pkt *p)
{
	const uint8_t *blk = (const uint8_t *)block_at(r, r->cur);
	const struct tpacket3_hdr *h;
	struct pkt_frame f;
	uint32_t mac, next;
	int ret;

	if (r->off > r->block_size - sizeof(*h))
		return -1;
	h = (const struct tpacket3_hdr *)(blk + r->off);
	/* each field read once: the kernel shares this memory */
	mac = h->tp_mac;
	f.snaplen = h->tp_snaplen;
	next = h->tp_next_offset;
	if (mac > r->block_size - r->off ||
	    f.snaplen > r->block_size - r->off - mac)
		return -1;
	f.data = (const uint8_t *)h + mac;
	f.len = h->tp_len;
	f.status = h->tp_status;
	f.vlan_tci = (uint16_t)h->hv1.tp_vlan_tci;
	f.vlan_tpid = h->hv1.tp_vlan_tpid;
	f.ts = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
	f.outgoing = false;
	if (sl_unlikely(r->skip_outgoing)) {
		int o = sll_outgoing((const uint8_t *)h, sizeof(*h), mac);

		if (o < 0)
			return -1;
		f.outgoing = o;
	}
	ret = frame_deliver(r, &f, p);
	if (--r->left == 0) {
		block_done(r);
	} else {
		if (next == 0 || next > r->block_size - r->off ||
		    (next & V3_HDR_ALIGN))
			return -1;
		r->off += next;
	}
	return ret;
}

/* -- tpacket=v2: a ring of frame slots -- */

static inline struct tpacket2_hdr *slot_at(struct sl_tpacket_ring *r,
					   uint32_t i)
{
	return (struct tpacket2_hdr *)(r->base + (size_t)i * SL_TPACKET_FRAME);
}

/* Whether the kernel has handed slot i over. */
static inline bool slot_ready(struct sl_tpacket_ring *r, uint32_t i)
{
	/* acquire: pairs with the smp_wmb in the kernel's
	 * __packet_set_status, after it wrote the frame and its header */
	return __atomic_load_n(&slot_at(r, i)->tp_status, __ATOMIC_ACQUIRE) &
	       TP_STATUS_USER;
}

/*
 * Copy the frame in the current slot (which the caller found ready) into p
 * and give the slot back at once. Returns as frame_deliver, or -1: its
 * header points outside the slot, and the frame is dropped.
 */
static inline int v2_frame_copy(struct sl_tpacket_ring *r, struct sl_pkt *p)
{
	struct tpacket2_hdr *h = slot_at(r, r->cur);
	struct pkt_frame f;
	uint32_t mac = h->tp_mac;
	int ret = -1;

	f.snaplen = h->tp_snaplen;
	if (mac >= sizeof(*h) && mac <= SL_TPACKET_FRAME &&
	    f.snaplen <= SL_TPACKET_FRAME - mac) {
		f.data = (const uint8_t *)h + mac;
		f.len = h->tp_len;
		f.status = h->tp_status;
		f.vlan_tci = h->tp_vlan_tci;
		f.vlan_tpid = h->tp_vlan_tpid;
		f.ts = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
		f.outgoing = false;
		ret = 0;
		if (sl_unlikely(r->skip_outgoing)) {
			ret = sll_outgoing((const uint8_t *)h, sizeof(*h), mac);
			f.outgoing = ret == 1;
		}
		if (ret >= 0)
			ret = frame_deliver(r, &f, p);
	}
	/* release: our reads of the slot happen before the kernel's
	 * rewrite of it (it checks for TP_STATUS_KERNEL under its lock) */
	__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	r->cur = r->cur + 1 == r->n_frames ? 0 : r->cur + 1;
	return ret;
}

/* How many slots from the current one on are ready, up to max. */
static inline unsigned v2_ready(struct sl_tpacket_ring *r, unsigned max)
{
	uint32_t i = r->cur;
	unsigned k;

	for (k = 0; k < max && slot_ready(r, i); k++)
		i = i + 1 == r->n_frames ? 0 : i + 1;
	return k;
}

unsigned sl_tpacket_avail(struct sl_tpacket_ring *r, unsigned max)
{
	if (r->v2)
		return v2_ready(r, max);
	if (!r->left && !block_open(r))
		return 0;
	return r->left;
}

unsigned sl_tpacket_take(struct sl_tpacket_ring *r, struct sl_pkt **bufs,
			 unsigned n, struct sl_pkt **out, uint16_t port,
			 uint16_t queue, uint64_t now,
			 struct sl_tpacket_counts *c)
{
	unsigned i, used = 0;

	/* n <= avail: the loop stays inside what the kernel handed over
	 * (v2: ready slots; v3: the open block, whose end stops it too) */
	for (i = 0; i < n && (r->v2 || r->left); i++) {
		struct sl_pkt *p = bufs[used];
		int k = r->v2 ? v2_frame_copy(r, p) : v3_frame_copy(r, p);

		if (sl_unlikely(k < 0)) {
			r->bad_desc++;
			c->invalid++;
			if (r->v2)
				continue; /* its slot is back */
			block_done(r);
			break;
		}
		if (sl_unlikely(k != 1)) {
			c->dropped += k == 0;
			continue;
		}
		p->port = port;
		p->queue = queue;
		if (now) { /* 0: receive times are off on this port */
			/* the kernel's, on sl_time_ns's clock; the burst's
			 * read time where the ring has no offset or the
			 * header's time is not one (after the read) */
			uint64_t t = p->rx_ts + (uint64_t)r->ts_off;

			p->rx_ts = r->ts_off && p->rx_ts && t <= now ? t : now;
			p->flags |= SL_PKT_F_RX_TS;
		} else {
			p->rx_ts = 0;
		}
		c->bytes += p->len;
		out[used++] = p;
	}
	return used;
}
