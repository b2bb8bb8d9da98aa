// SPDX-License-Identifier: MIT
/*
 * Unit tests of the tool's latency histogram (tools/hist.c): slots keep
 * three significant digits, percentiles land where a sorted array puts
 * them, merging equals recording everything in one, and extremes do not
 * break it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hist.h"

/* every value is within 0.1 % of its slot's bounds, and slots are ordered */
static void test_slots_precision(void **state)
{
	uint64_t v;
	unsigned prev = 0;

	(void)state;
	for (v = 1; v < (1ull << 40); v += v / 997 + 1) {
		unsigned s = cli_hist_slot(v);
		uint64_t lo = cli_hist_slot_low(s), hi = cli_hist_slot_high(s);

		assert_true(s >= prev);
		prev = s;
		assert_true(lo <= v && v <= hi);
		assert_true((double)(hi - lo) <= (double)v / 1000.0);
	}
	/* exact below 2048 */
	assert_int_equal(cli_hist_slot(2047), 2047);
	assert_int_equal(cli_hist_slot_low(cli_hist_slot(2048)), 2048);
	/* beyond the range, clamped into the last slot */
	assert_int_equal(cli_hist_slot(UINT64_MAX), SL_HIST_SLOTS - 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* percentiles agree with the sorted values within 0.1 % */
static void test_percentiles_match_sorted(void **state)
{
	static const double qs[] = { 50, 90, 99, 99.9 };
	enum { N = 100000 };
	uint64_t *vals = malloc(N * sizeof(*vals));
	struct cli_hist *h = cli_hist_new();
	unsigned i, k;

	(void)state;
	assert_non_null(vals);
	assert_non_null(h);
	srand(42);
	for (i = 0; i < N; i++) {
		/* a long tail: most values 1-10 us, some up to 10 ms */
		uint64_t v = 1000 + (uint64_t)rand() % 9000;

		if (i % 100 == 0)
			v *= 1 + (uint64_t)rand() % 1000;
		vals[i] = v;
		cli_hist_record(h, v);
	}
	qsort(vals, N, sizeof(*vals), cmp_u64);
	for (k = 0; k < 4; k++) {
		uint64_t want = vals[(size_t)(qs[k] / 100.0 * N + 0.5) - 1];
		uint64_t got = cli_hist_percentile(h, qs[k]);
		double err = got > want ? (double)(got - want) :
					  (double)(want - got);

		assert_true(err <= (double)want / 1000.0 + 1);
	}
	assert_int_equal(cli_hist_percentile(h, 100), vals[N - 1]);
	assert_int_equal(h->min, vals[0]);
	assert_int_equal(h->n, N);
	assert_true(cli_hist_percentile(h, 50) <= cli_hist_percentile(h, 90));
	assert_true(cli_hist_percentile(h, 99) <= cli_hist_percentile(h, 99.9));
	free(vals);
	cli_hist_free(h);
}

/* two halves merged give the same answers as one histogram of all */
static void test_merge(void **state)
{
	struct cli_hist *a = cli_hist_new(), *b = cli_hist_new(),
			*all = cli_hist_new();
	uint64_t v;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(all);
	for (v = 1; v < 5000000; v = v * 3 / 2 + 1) {
		cli_hist_record((v & 1) ? a : b, v);
		cli_hist_record(all, v);
	}
	cli_hist_merge(a, b);
	assert_int_equal(a->n, all->n);
	assert_int_equal(a->min, all->min);
	assert_int_equal(a->max, all->max);
	assert_int_equal(a->sum, all->sum);
	assert_memory_equal(a->slot, all->slot, sizeof(a->slot));
	assert_int_equal(cli_hist_percentile(a, 99),
			 cli_hist_percentile(all, 99));
	cli_hist_free(a);
	cli_hist_free(b);
	cli_hist_free(all);
}

/* empty, single value, and reset */
static void test_edges(void **state)
{
	struct cli_hist *h = cli_hist_new();

	(void)state;
	assert_non_null(h);
	assert_int_equal(cli_hist_percentile(h, 50), 0);
	assert_true(cli_hist_mean(h) == 0.0);
	cli_hist_record(h, 123456789);
	/* one value: every percentile is that value, clamped to min/max */
	assert_int_equal(cli_hist_percentile(h, 50), 123456789);
	assert_int_equal(cli_hist_percentile(h, 99.9), 123456789);
	cli_hist_record(h, 0);
	assert_int_equal(cli_hist_percentile(h, 50), 0);
	assert_int_equal(cli_hist_percentile(h, 100), 123456789);
	cli_hist_reset(h);
	assert_int_equal(h->n, 0);
	assert_int_equal(cli_hist_percentile(h, 99), 0);
	cli_hist_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_precision),
		cmocka_unit_test(test_percentiles_match_sorted),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
