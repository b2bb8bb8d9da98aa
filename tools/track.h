/* SPDX-License-Identifier: MIT */
/*
 * Reading gen payloads at the receiving end (sink, ping): recognise the
 * payload of sluice.h in a frame, and keep the account of sequence numbers
 * seen: unique, duplicated, out of order, and from that lost.
 *
 * The sequence is global over a gen run (all flows share one counter), so
 * loss and duplicates are exact however the flows are spread; "reordered"
 * counts frames that arrive after a higher sequence number did. Duplicates
 * are recognised within a window of the last SL_TRACK_WINDOW sequence
 * numbers (fixed memory); an older frame counts as reordered and late.
 * Loss is counted from sequence 0 up to the run's announced total (or the
 * highest number seen when the run had no --count), so start the sink
 * before the gen.
 */
#ifndef SL_TOOLS_TRACK_H
#define SL_TOOLS_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#define SL_TRACK_WINDOW (1u << 20) /* sequence numbers, a bit each */

struct cli_track {
	uint64_t unique, dups, reordered, late;
	uint64_t max_seq;
	uint64_t total; /* announced by the sender, if have_total */
	bool any, have_total;
	uint64_t *bits; /* SL_TRACK_WINDOW bits, bit (seq % WINDOW) */
};

/* What a frame's payload says. */
struct cli_gen_info {
	uint64_t seq, tx_ns, total;
	bool ts, has_total;
	uint32_t payload_len;
};

/* 0 and *out when frame is a UDP frame with a gen payload; -1 otherwise
 * (foreign). Fast path. */
int cli_gen_parse(const uint8_t *frame, uint32_t len, struct cli_gen_info *out);

/* 0, or -ENOMEM. */
int cli_track_init(struct cli_track *t);
void cli_track_fini(struct cli_track *t);
void cli_track_record(struct cli_track *t, const struct cli_gen_info *g);
/* Frames of the run not seen (so far). */
uint64_t cli_track_lost(const struct cli_track *t);
/* Every frame of a run with an announced total has arrived. */
bool cli_track_complete(const struct cli_track *t);
/*
 * Fold src into dst: what two sinks (two --cores workers) saw of one run,
 * as if one had seen it all. A sequence number both saw counts as a
 * duplicate. Exact while the two highest sequences are close (workers fed
 * by RSS are bursts apart); once they are a large part of SL_TRACK_WINDOW
 * apart, a bit may stand for two sequences and duplicates are approximate.
 */
void cli_track_merge(struct cli_track *dst, const struct cli_track *src);

#endif
