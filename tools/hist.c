// SPDX-License-Identifier: MIT
/*
 * The log-linear histogram of hist.h: slot arithmetic, merge, percentiles.
 * Percentiles walk the slots (~40 000) once: a control-path cost, paid when
 * a result is printed, never per value.
 */
#include <stdlib.h>
#include <string.h>

#include "hist.h"

struct cli_hist *cli_hist_new(void)
{
	struct cli_hist *h = calloc(1, sizeof(*h));

	if (h)
		h->min = UINT64_MAX;
	return h;
}

void cli_hist_free(struct cli_hist *h)
{
	free(h);
}

void cli_hist_reset(struct cli_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void cli_hist_merge(struct cli_hist *dst, const struct cli_hist *src)
{
	unsigned i;

	if (!src->n)
		return;
	for (i = 0; i < SL_HIST_SLOTS; i++)
		dst->slot[i] += src->slot[i];
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t cli_hist_slot_low(unsigned i)
{
	unsigned e, k;

	if (i < 2 * SL_HIST_SUB)
		return i;
	e = (i - 2 * SL_HIST_SUB) / SL_HIST_SUB + 11;
	k = (i - 2 * SL_HIST_SUB) % SL_HIST_SUB;
	return (uint64_t)(SL_HIST_SUB + k) << (e - 10);
}

uint64_t cli_hist_slot_high(unsigned i)
{
	unsigned e;

	if (i < 2 * SL_HIST_SUB)
		return i;
	e = (i - 2 * SL_HIST_SUB) / SL_HIST_SUB + 11;
	return cli_hist_slot_low(i) + (1ull << (e - 10)) - 1;
}

uint64_t cli_hist_percentile(const struct cli_hist *h, double q)
{
	uint64_t want, seen = 0, v;
	unsigned i;

	if (!h->n)
		return 0;
	if (q >= 100.0)
		return h->max;
	if (q <= 0.0)
		return h->min;
	/* the rank of the value asked for, 1-based, rounded up: p50 of two
	 * values is the first, as "at or below which 50 % lie" says */
	want = (uint64_t)(q / 100.0 * (double)h->n);
	if ((double)want < q / 100.0 * (double)h->n)
		want++;
	if (want == 0)
		want = 1;
	for (i = 0; i < SL_HIST_SLOTS; i++) {
		seen += h->slot[i];
		if (seen >= want)
			break;
	}
	if (i == SL_HIST_SLOTS)
		return h->max;
	v = cli_hist_slot_low(i) +
	    (cli_hist_slot_high(i) - cli_hist_slot_low(i)) / 2;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

double cli_hist_mean(const struct cli_hist *h)
{
	return h->n ? (double)h->sum / (double)h->n : 0.0;
}
