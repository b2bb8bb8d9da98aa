/* SPDX-License-Identifier: MIT */
/*
 * struct sl_pkt: the handle of one packet buffer.
 *
 * Every pool buffer starts with its struct sl_pkt (SL_PKT_META bytes), then
 * headroom, then the frame. For AF_XDP the pool's region is the UMEM, so a
 * frame the kernel writes lands right after this metadata and is handed to
 * the application without a copy.
 *
 *   | struct sl_pkt (64) | headroom ... | frame data (len) | tailroom |
 *   ^ buffer start        ^ sl_pkt_buf   ^ data
 *
 * Ownership: a packet from sl_rx_burst or an allocation belongs to the
 * caller until it gives it to sl_tx_burst (which takes the ones it accepted)
 * or frees it.
 */
#ifndef SLUICE_PKT_H
#define SLUICE_PKT_H

#include <stdint.h>
#include <string.h>

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sl_pool;

#define SL_PKT_META 64 /* bytes of metadata at the start of every buffer */
#define SL_PKT_HEADROOM 256 /* default headroom in front of the frame */
#define SL_PKT_BUF_SIZE 2048 /* default buffer size, metadata included */

/* sl_pkt.flags */
#define SL_PKT_F_RX_TS (1u << 0) /* rx_ts holds the receive time */
/* bit 1: free (was SL_PKT_F_L4_CSUM_NONE, now SL_CSUM_NONE in RX_L4) */
#define SL_PKT_F_FAULT_CORRUPT (1u << 2) /* a fault decorator flipped a bit */

/*
 * What is known of a received frame's checksums, one state per layer, the
 * way DPDK's mbuf carries RX_IP_CKSUM_* and RX_L4_CKSUM_*. Each driver says
 * what its path tells it, for free (see docs/ports.md, "Checksums"):
 *
 *   udp     L3 GOOD (IPv4) or NONE (IPv6); L4 NONE (IPv4: the frame is
 *           made with a UDP checksum of 0, the kernel checked the
 *           datagram) or GOOD (IPv6: computed); the kernel drops bad ones
 *   packet  L4 PARTIAL when the kernel says the checksum was left for the
 *           device to finish (TP_STATUS_CSUMNOTREADY), GOOD when a device
 *           verified it (TP_STATUS_CSUM_VALID), UNKNOWN otherwise
 *   xdp     UNKNOWN: this kernel's XDP hints carry no checksum state
 *   pair, pcap  UNKNOWN
 *
 * sl_pkt_csum_check finds out the UNKNOWN ones in software. Reset with the
 * packet (sl_pkt_reset), so a new frame starts UNKNOWN.
 */
enum sl_csum {
	SL_CSUM_UNKNOWN = 0, /* nobody checked */
	SL_CSUM_GOOD = 1, /* checked: right */
	SL_CSUM_BAD = 2, /* checked: wrong, the frame was damaged */
	/* nothing to check: L3 not IPv4; L4 a UDP/IPv4 checksum of 0, an IP
	 * fragment, or a protocol without a checksum sluice knows */
	SL_CSUM_NONE = 3,
	/* L4 only: the field holds the pseudo-header sum that a sender on
	 * this host left for its device to finish (Linux CHECKSUM_PARTIAL,
	 * e.g. a kernel socket's datagram over veth). The data never crossed
	 * a wire and is intact, but no receiver accepts the field as it is:
	 * to send the frame on, ask for SL_PKT_F_TX_L4_CSUM. */
	SL_CSUM_PARTIAL = 4,
};

#define SL_PKT_RX_L3_SHIFT 4
#define SL_PKT_RX_L3_MASK (3u << SL_PKT_RX_L3_SHIFT)
#define SL_PKT_RX_L4_SHIFT 6
#define SL_PKT_RX_L4_MASK (7u << SL_PKT_RX_L4_SHIFT)
#define SL_PKT_RX_CSUM_MASK (SL_PKT_RX_L3_MASK | SL_PKT_RX_L4_MASK)
/* The flags bits for an L3 and an L4 state (enum sl_csum). */
#define SL_PKT_RX_CSUM(l3, l4)                               \
	((uint16_t)(((unsigned)(l3) << SL_PKT_RX_L3_SHIFT) | \
		    ((unsigned)(l4) << SL_PKT_RX_L4_SHIFT)))

/*
 * Transmit offloads, as DPDK's RTE_MBUF_F_TX_IP_CKSUM / _UDP_CKSUM: set on
 * a packet handed to sl_tx_burst, they make the port fill in the IPv4
 * header checksum and the L4 (UDP, TCP, ICMP, ICMPv6) checksum before the
 * frame leaves: in software on pair, pcap, packet and xdp ports (counted in
 * the xstat tx_csum_sw), by the kernel on udp ports (which always does).
 * Nothing is computed for a packet without them. sl_tx_burst clears them.
 */
#define SL_PKT_F_TX_IP_CSUM (1u << 9)
#define SL_PKT_F_TX_L4_CSUM (1u << 10)
#define SL_PKT_F_TX_CSUM (SL_PKT_F_TX_IP_CSUM | SL_PKT_F_TX_L4_CSUM)
/*
 * The frame's IPv4 header must leave as it was built: never merged into a
 * segmentation run (UDP GSO on udp ports), because segmentation numbers
 * the IPv4 Identification of each datagram it cuts (0, 1, 2, ...) and an
 * end-to-end check covers it: RoCEv2's ICRC (sluice/rdma.h sets it on
 * every IPv4 frame it sends). Kept by sl_tx_burst.
 */
#define SL_PKT_F_TX_NO_GSO (1u << 11)

/* sl_pkt.state, kept by pools in debug mode to catch double frees */
#define SL_PKT_STATE_FREE 0x5a
#define SL_PKT_STATE_USED 0xa5

struct sl_pkt {
	uint8_t *data; /* first byte of the frame */
	struct sl_pool *pool; /* the pool the buffer returns to */
	uint64_t rx_ts; /* receive time, sl_time_ns() clock, if SL_PKT_F_RX_TS
			 * (ports opened with SL_PORT_F_RX_TS) */
	uint64_t user; /* the application's, never touched by sluice */
	uint32_t len; /* bytes of frame at data */
	uint32_t idx; /* buffer index inside its pool */
	uint16_t port; /* port id it was received on */
	uint16_t queue; /* queue it was received on */
	uint16_t flags; /* SL_PKT_F_* */
	uint16_t room; /* bytes of buffer after the metadata */
	uint16_t headroom0; /* headroom after a reset (the pool's) */
	uint8_t state; /* SL_PKT_STATE_* in debug pools */
	uint8_t rsvd[5];
} SL_CACHE_ALIGNED;

_Static_assert(sizeof(struct sl_pkt) == SL_PKT_META,
	       "struct sl_pkt must fill exactly the metadata area");

/* The receive checksum states of p (enum sl_csum). Fast path. */
static inline enum sl_csum sl_pkt_rx_l3_csum(const struct sl_pkt *p)
{
	return (enum sl_csum)((p->flags & SL_PKT_RX_L3_MASK) >>
			      SL_PKT_RX_L3_SHIFT);
}

static inline enum sl_csum sl_pkt_rx_l4_csum(const struct sl_pkt *p)
{
	return (enum sl_csum)((p->flags & SL_PKT_RX_L4_MASK) >>
			      SL_PKT_RX_L4_SHIFT);
}

/* Record states for p (drivers, and sl_pkt_csum_check). */
static inline void sl_pkt_set_rx_csum(struct sl_pkt *p, enum sl_csum l3,
				      enum sl_csum l4)
{
	p->flags = (uint16_t)((p->flags & ~SL_PKT_RX_CSUM_MASK) |
			      SL_PKT_RX_CSUM(l3, l4));
}

/*
 * Find out, in software, the checksum states of p that are UNKNOWN, and
 * record them in p->flags: L3 GOOD/BAD for IPv4 (else NONE); L4 GOOD, BAD,
 * NONE, or PARTIAL when the wrong value is exactly the pseudo-header sum a
 * local sender left for its device. States the path already knew are kept
 * and cost nothing; an UNKNOWN L4 costs one pass over the L4 bytes. A
 * frame that does not parse is BAD at L3. Fast path, thread-safe for
 * distinct packets. Defined in src/net (offload.c).
 */
SL_API void sl_pkt_csum_check(struct sl_pkt *p);

/* True when some checksum of p is BAD after sl_pkt_csum_check(p): the
 * frame was damaged on its way and must not be answered. Fast path. */
static inline int sl_pkt_csum_bad(struct sl_pkt *p)
{
	sl_pkt_csum_check(p);
	return sl_pkt_rx_l3_csum(p) == SL_CSUM_BAD ||
	       sl_pkt_rx_l4_csum(p) == SL_CSUM_BAD;
}

/*
 * Make p fit to send on: ask for its L4 checksum to be completed
 * (SL_PKT_F_TX_L4_CSUM) when it is PARTIAL, or when it is UNKNOWN and its
 * field holds exactly the pseudo-header sum (a cheap test on the headers:
 * completing an already right checksum gives the same value). For
 * forwarders that do not want to verify every frame. Fast path.
 */
SL_API void sl_pkt_csum_forward(struct sl_pkt *p);

/*
 * Do now, in software, what p's SL_PKT_F_TX_* flags ask, and clear them.
 * Returns 0, or -EBADMSG when the frame does not parse or carries no
 * checksum that can be filled (flags cleared, frame unchanged). Called by
 * sl_tx_burst for the paths that need it; applications rarely do. Fast
 * path.
 */
SL_API int sl_pkt_csum_fill(struct sl_pkt *p);

/* First byte after the metadata: where headroom starts. */
static inline uint8_t *sl_pkt_buf(struct sl_pkt *p)
{
	return (uint8_t *)p + SL_PKT_META;
}

static inline uint32_t sl_pkt_headroom(const struct sl_pkt *p)
{
	return (uint32_t)(p->data - ((const uint8_t *)p + SL_PKT_META));
}

static inline uint32_t sl_pkt_tailroom(const struct sl_pkt *p)
{
	return p->room - sl_pkt_headroom(p) - p->len;
}

/* Empty the packet: data at the pool's headroom, length 0, no flags. */
static inline void sl_pkt_reset(struct sl_pkt *p)
{
	p->data = sl_pkt_buf(p) + p->headroom0;
	p->len = 0;
	p->flags = 0;
}

/* Grow the frame at the front by n bytes; returns the new data pointer, or
 * NULL (packet unchanged) when the headroom is too small. */
static inline uint8_t *sl_pkt_prepend(struct sl_pkt *p, uint32_t n)
{
	if (n > sl_pkt_headroom(p))
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}

/* Grow the frame at the end by n bytes; returns a pointer to the first new
 * byte, or NULL (packet unchanged) when the tailroom is too small. */
static inline uint8_t *sl_pkt_append(struct sl_pkt *p, uint32_t n)
{
	uint8_t *tail = p->data + p->len;

	if (n > sl_pkt_tailroom(p))
		return NULL;
	p->len += n;
	return tail;
}

/* Remove n bytes from the front; returns 0, or -1 (unchanged) if len < n. */
static inline int sl_pkt_adj(struct sl_pkt *p, uint32_t n)
{
	if (n > p->len)
		return -1;
	p->data += n;
	p->len -= n;
	return 0;
}

/* Remove n bytes from the end; returns 0, or -1 (unchanged) if len < n. */
static inline int sl_pkt_trim(struct sl_pkt *p, uint32_t n)
{
	if (n > p->len)
		return -1;
	p->len -= n;
	return 0;
}

/* Replace the frame with len bytes from src; returns 0, or -1 (unchanged)
 * when they do not fit after the pool's headroom. */
static inline int sl_pkt_set(struct sl_pkt *p, const void *src, uint32_t len)
{
	if (len > (uint32_t)p->room - p->headroom0)
		return -1;
	sl_pkt_reset(p);
	memcpy(p->data, src, len);
	p->len = len;
	return 0;
}

#ifdef __cplusplus
}
#endif
#endif
