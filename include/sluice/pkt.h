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
#define SL_PKT_F_L4_CSUM_NONE (1u << 1) /* UDP checksum left 0 (IPv4 only) */
#define SL_PKT_F_FAULT_CORRUPT (1u << 2) /* a fault decorator flipped a bit */

/* sl_pkt.state, kept by pools in debug mode to catch double frees */
#define SL_PKT_STATE_FREE 0x5a
#define SL_PKT_STATE_USED 0xa5

struct sl_pkt {
	uint8_t *data; /* first byte of the frame */
	struct sl_pool *pool; /* the pool the buffer returns to */
	uint64_t rx_ts; /* receive time, sl_time_ns() clock, if SL_PKT_F_RX_TS */
	uint64_t user; /* the application's, never touched by sluice */
	uint32_t len; /* bytes of frame at data */
	uint32_t idx; /* buffer index inside its pool */
	uint16_t room; /* bytes of buffer after the metadata */
	uint16_t headroom0; /* headroom after a reset (the pool's) */
	uint16_t port; /* port id it was received on */
	uint16_t queue; /* queue it was received on */
	uint16_t flags; /* SL_PKT_F_* */
	uint8_t state; /* SL_PKT_STATE_* in debug pools */
	uint8_t rsvd[5];
} SL_CACHE_ALIGNED;

_Static_assert(sizeof(struct sl_pkt) == SL_PKT_META,
	       "struct sl_pkt must fill exactly the metadata area");

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
