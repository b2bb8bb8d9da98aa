/* SPDX-License-Identifier: MIT */
/*
 * The bounds-checked reader every sluice parser goes through (frames, RDMA
 * headers, descriptors): a view of len bytes with a read offset. A read that
 * does not fit returns NULL/false and leaves the cursor where it was, so a
 * parser only has to check the result of each read, never do arithmetic on
 * lengths itself.
 *
 * Invariant: off <= len. Every check is written as "n > len - off", which
 * cannot overflow given the invariant (an "off + n > len" check could wrap
 * for a huge n taken from a length field). Nothing requires alignment:
 * multi-byte values are read byte by byte.
 */
#ifndef SL_NET_CURSOR_H
#define SL_NET_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_cursor {
	const uint8_t *p; /* first byte of the view */
	size_t len; /* bytes in the view */
	size_t off; /* next byte to read, <= len */
};

static inline void sl_cursor_init(struct sl_cursor *c, const void *p,
				  size_t len)
{
	c->p = (const uint8_t *)p;
	c->len = p ? len : 0;
	c->off = 0;
}

/* Bytes left to read. */
static inline size_t sl_cursor_left(const struct sl_cursor *c)
{
	return c->len - c->off;
}

/* The next n bytes without consuming them, or NULL when fewer are left. */
static inline const uint8_t *sl_cursor_peek(const struct sl_cursor *c, size_t n)
{
	if (n > c->len - c->off || !c->p)
		return NULL;
	return c->p + c->off;
}

/* The next n bytes, consumed, or NULL (cursor unchanged). */
static inline const uint8_t *sl_cursor_pull(struct sl_cursor *c, size_t n)
{
	const uint8_t *r = sl_cursor_peek(c, n);

	if (r)
		c->off += n;
	return r;
}

/* Skip n bytes: false (cursor unchanged) when fewer are left. */
static inline bool sl_cursor_skip(struct sl_cursor *c, size_t n)
{
	return sl_cursor_pull(c, n) != NULL;
}

/* Keep only the next n bytes in view (for a length field that bounds what
 * follows): false (cursor unchanged) when fewer are left. */
static inline bool sl_cursor_limit(struct sl_cursor *c, size_t n)
{
	if (n > c->len - c->off)
		return false;
	c->len = c->off + n;
	return true;
}

static inline bool sl_cursor_u8(struct sl_cursor *c, uint8_t *v)
{
	const uint8_t *b = sl_cursor_pull(c, 1);

	if (!b)
		return false;
	*v = b[0];
	return true;
}

/* Big-endian reads into host order; false (cursor unchanged, *v untouched)
 * when the bytes are not there. */
static inline bool sl_cursor_be16(struct sl_cursor *c, uint16_t *v)
{
	const uint8_t *b = sl_cursor_pull(c, 2);

	if (!b)
		return false;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return true;
}

static inline bool sl_cursor_be32(struct sl_cursor *c, uint32_t *v)
{
	const uint8_t *b = sl_cursor_pull(c, 4);

	if (!b)
		return false;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
	     (uint32_t)b[3];
	return true;
}

static inline bool sl_cursor_be64(struct sl_cursor *c, uint64_t *v)
{
	const uint8_t *b = sl_cursor_pull(c, 8);
	uint64_t r = 0;
	int i;

	if (!b)
		return false;
	for (i = 0; i < 8; i++)
		r = r << 8 | b[i];
	*v = r;
	return true;
}

/* Big-endian value of 2 bytes at b (for fields of a header already pulled
 * whole). */
static inline uint16_t sl_get_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

#endif
