/* SPDX-License-Identifier: MIT */
/*
 * A log-linear histogram of 64-bit values (nanoseconds, in the tool) with
 * three significant digits, in the manner of HdrHistogram: values below
 * 2048 have a slot each; above, every power of two is cut into 1024 equal
 * slots, so a slot is never wider than 1/1024 of its values (0.1 %). Memory
 * is fixed (one array inside the struct, ~320 KiB, so allocate it, do not put
 * it on the stack), recording is O(1) with no allocation, and two
 * histograms merge by adding their arrays: a sender and a receiver thread
 * can each keep one.
 */
#ifndef SL_TOOLS_HIST_H
#define SL_TOOLS_HIST_H

#include <stdint.h>

#define SL_HIST_SUB 1024 /* slots per power of two above 2^11 */
#define SL_HIST_MAX_EXP 47 /* values >= 2^48 are recorded as 2^48 - 1 */
#define SL_HIST_SLOTS (2 * SL_HIST_SUB + (SL_HIST_MAX_EXP - 10) * SL_HIST_SUB)

struct cli_hist {
	uint64_t n; /* values recorded */
	uint64_t min, max; /* exact; min is UINT64_MAX while n == 0 */
	uint64_t sum; /* for the mean; wraps only after ~5e9 hours of ns */
	uint64_t slot[SL_HIST_SLOTS];
};

/* A zeroed histogram from calloc, or NULL (errno ENOMEM). */
struct cli_hist *cli_hist_new(void);
void cli_hist_free(struct cli_hist *h);
void cli_hist_reset(struct cli_hist *h);

/* The slot of value v (exported for the unit test). */
static inline unsigned cli_hist_slot(uint64_t v)
{
	unsigned e, shift;

	if (v < 2 * SL_HIST_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	if (e > SL_HIST_MAX_EXP)
		return SL_HIST_SLOTS - 1;
	shift = e - 10; /* keeps the top 11 bits: 1024..2047 */
	return 2 * SL_HIST_SUB + (e - 11) * SL_HIST_SUB +
	       (unsigned)((v >> shift) - SL_HIST_SUB);
}

/* Record one value. O(1), no allocation: usable on a fast path. */
static inline void cli_hist_record(struct cli_hist *h, uint64_t v)
{
	h->slot[cli_hist_slot(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* Add every value of src to dst. */
void cli_hist_merge(struct cli_hist *dst, const struct cli_hist *src);

/* The smallest and largest value slot i holds. */
uint64_t cli_hist_slot_low(unsigned i);
uint64_t cli_hist_slot_high(unsigned i);

/* The value below or at which q (0..100) percent of the values lie: the
 * middle of its slot, clamped to [min, max], so within 0.1 % of the true
 * value; 0 when the histogram is empty. q = 100 gives max exactly. */
uint64_t cli_hist_percentile(const struct cli_hist *h, double q);

/* Mean of the recorded values, 0 when empty. */
double cli_hist_mean(const struct cli_hist *h);

#endif
