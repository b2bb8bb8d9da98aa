// SPDX-License-Identifier: MIT
/*
 * The gen-payload reader and the sequence account of track.h. Recording is
 * O(1) amortised: moving the window forward clears the bits it passes, at
 * most one per sequence number.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sluice.h"
#include "track.h"

#define W SL_TRACK_WINDOW

int cli_gen_parse(const uint8_t *frame, uint32_t len, struct cli_gen_info *out)
{
	const uint8_t *pl;
	struct sl_frame f;
	uint32_t magic;

	if (sl_frame_parse(frame, len, &f) || f.l4_proto != SL_IPPROTO_UDP ||
	    (f.l3 != SL_L3_IPV4 && f.l3 != SL_L3_IPV6) ||
	    (f.flags & SL_FRAME_IP_FRAG) || f.payload_len < SL_GEN_MIN_MAGIC)
		return -1;
	pl = frame + f.payload_off;
	magic = cli_get_be32(pl + SL_GEN_OFF_MAGIC);
	if ((magic & SL_GEN_MAGIC_MASK) != SL_GEN_MAGIC)
		return -1;
	out->payload_len = f.payload_len;
	out->seq = cli_get_be64(pl + SL_GEN_OFF_SEQ);
	out->ts = (magic & SL_GEN_F_TS) && f.payload_len >= SL_GEN_MIN_TS;
	out->tx_ns = out->ts ? cli_get_be64(pl + SL_GEN_OFF_TS) : 0;
	out->has_total = (magic & SL_GEN_F_TOTAL) &&
			 f.payload_len >= SL_GEN_MIN_TOTAL;
	out->total = out->has_total ? cli_get_be64(pl + SL_GEN_OFF_TOTAL) : 0;
	return 0;
}

int cli_track_init(struct cli_track *t)
{
	memset(t, 0, sizeof(*t));
	t->bits = calloc(W / 64, sizeof(uint64_t));
	return t->bits ? 0 : -ENOMEM;
}

void cli_track_fini(struct cli_track *t)
{
	free(t->bits);
	t->bits = NULL;
}

static inline bool test_set(uint64_t *bits, uint64_t seq)
{
	uint64_t b = seq % W, m = 1ull << (b % 64);
	bool was = bits[b / 64] & m;

	bits[b / 64] |= m;
	return was;
}

static inline void clear(uint64_t *bits, uint64_t seq)
{
	uint64_t b = seq % W;

	bits[b / 64] &= ~(1ull << (b % 64));
}

void cli_track_record(struct cli_track *t, const struct cli_gen_info *g)
{
	uint64_t s = g->seq, i;

	if (g->has_total) {
		t->total = g->total;
		t->have_total = true;
	}
	if (!t->any) {
		t->any = true;
		t->max_seq = s;
		test_set(t->bits, s);
		t->unique++;
		return;
	}
	if (s > t->max_seq) {
		if (s - t->max_seq >= W)
			memset(t->bits, 0, W / 8);
		else
			for (i = t->max_seq + 1; i < s; i++)
				clear(t->bits, i);
		clear(t->bits, s);
		test_set(t->bits, s);
		t->max_seq = s;
		t->unique++;
	} else if (t->max_seq - s < W) {
		if (test_set(t->bits, s)) {
			t->dups++;
		} else {
			t->unique++;
			t->reordered++;
		}
	} else {
		t->late++;
		t->reordered++;
		t->unique++;
	}
}

uint64_t cli_track_lost(const struct cli_track *t)
{
	uint64_t expected;

	if (!t->any)
		return t->have_total ? t->total : 0;
	expected = t->max_seq + 1;
	if (t->have_total && t->total > expected)
		expected = t->total;
	return expected > t->unique ? expected - t->unique : 0;
}

bool cli_track_complete(const struct cli_track *t)
{
	return t->have_total && t->unique >= t->total;
}

void cli_track_merge(struct cli_track *dst, const struct cli_track *src)
{
	uint64_t i, both = 0;

	if (src->have_total) {
		dst->total = src->total;
		dst->have_total = true;
	}
	if (!src->any)
		return;
	if (!dst->any) {
		dst->any = true;
		dst->max_seq = src->max_seq;
		memcpy(dst->bits, src->bits, W / 8);
		dst->unique = src->unique;
		dst->dups = src->dups;
		dst->reordered = src->reordered;
		dst->late = src->late;
		return;
	}
	for (i = 0; i < W / 64; i++) {
		both += (uint64_t)__builtin_popcountll(dst->bits[i] &
						       src->bits[i]);
		dst->bits[i] |= src->bits[i];
	}
	dst->unique += src->unique - both;
	dst->dups += src->dups + both;
	dst->reordered += src->reordered;
	dst->late += src->late;
	if (src->max_seq > dst->max_seq)
		dst->max_seq = src->max_seq;
}
