// SPDX-License-Identifier: MIT
/*
 * sluice bench: the host's jitter, measured before anything of ours runs.
 * Every path's round-trip tail rests on it (a ping in flight while either
 * CPU is taken away waits for it), so the report prints it beside the
 * round trips, in the JSON too, and judges the p99.9 goal against it.
 */
#include <pthread.h>
#include <stdio.h>

#include "bench.h"

/* ---- host jitter -------------------------------------------------------- */

/*
 * How often, and for how long, the host takes a CPU away from a thread
 * that never sleeps: timer ticks, interrupts, and in a VM the exits they
 * cost. Every path's round-trip tail rests on this: a ping in flight while
 * either CPU is taken away waits for it. One thread per CPU, both at once
 * as a round trip uses both, spins on the clock for JITTER_S and records
 * every gap over JITTER_MIN_NS.
 */

static void *jitter_main(void *arg)
{
	struct jitter *j = arg;
	uint64_t start, prev, end, lost = 0, n_long = 0;

	rxc_pin_self(j->cpu);
	start = prev = sl_time_ns();
	end = start + (uint64_t)(JITTER_S * 1e9);
	for (uint64_t t; (t = sl_time_ns()) < end; prev = t) {
		if (t - prev < JITTER_MIN_NS)
			continue;
		cli_hist_record(j->h, t - prev);
		lost += t - prev;
		n_long += t - prev >= JITTER_LONG_NS;
	}
	j->lost = (double)lost / (double)(end - start);
	j->per_s = (double)j->h->n / JITTER_S;
	j->long_per_s = (double)n_long / JITTER_S;
	return NULL;
}

void bench_measure_jitter(struct bench *b)
{
	unsigned i, started = 0;

	for (i = 0; i < SL_ARRAY_SIZE_T(b->jit); i++) {
		b->jit[i].cpu = (int)i;
		b->jit[i].h = cli_hist_new();
		if (!b->jit[i].h || pthread_create(&b->jit[i].thread, NULL,
						   jitter_main, &b->jit[i]))
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(b->jit[i].thread, NULL);
	b->have_jitter = started == SL_ARRAY_SIZE_T(b->jit);
}

/* The share of round trips of rtt_us that meet a long gap on either CPU:
 * above 0.1%, a p99.9 of twice the p50 is out of reach on this host. */
double bench_jitter_hit(struct bench *b, double rtt_us)
{
	if (!b->have_jitter)
		return 0;
	return (b->jit[0].long_per_s + b->jit[1].long_per_s) * rtt_us * 1e-6;
}

struct json_object *bench_jitter_json(struct bench *b)
{
	struct json_object *a;

	if (!b->have_jitter)
		return NULL;
	a = json_object_new_array();
	for (unsigned i = 0; i < SL_ARRAY_SIZE_T(b->jit); i++) {
		const struct jitter *j = &b->jit[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "cpu", json_object_new_int(j->cpu));
		json_object_object_add(e, "gaps_per_s",
				       bench_jnum(j->per_s, 1));
		json_object_object_add(e, "long_gaps_per_s",
				       bench_jnum(j->long_per_s, 1));
		json_object_object_add(
			e, "gap_p50_us",
			bench_jnum((double)cli_hist_percentile(j->h, 50) / 1e3,
				   2));
		json_object_object_add(
			e, "gap_p99_us",
			bench_jnum((double)cli_hist_percentile(j->h, 99) / 1e3,
				   2));
		json_object_object_add(e, "gap_max_us",
				       bench_jnum((double)j->h->max / 1e3, 2));
		json_object_object_add(e, "time_lost_pct",
				       bench_jnum(100 * j->lost, 3));
		json_object_array_add(a, e);
	}
	return a;
}

void bench_print_jitter(struct bench *b)
{
	if (!b->have_jitter)
		return;
	printf("host jitter (a thread spinning on each CPU for %.1f s, both "
	       "at once):\n",
	       JITTER_S);
	for (unsigned i = 0; i < SL_ARRAY_SIZE_T(b->jit); i++) {
		const struct jitter *j = &b->jit[i];

		printf("  CPU %d: %.0f gaps/s over %.0f us, %.0f/s over %.0f "
		       "us; gap p50 %.1f us, p99 %.1f us, max %.1f us; %.2f%% "
		       "of its time\n",
		       j->cpu, j->per_s, JITTER_MIN_NS / 1e3, j->long_per_s,
		       JITTER_LONG_NS / 1e3,
		       (double)cli_hist_percentile(j->h, 50) / 1e3,
		       (double)cli_hist_percentile(j->h, 99) / 1e3,
		       (double)cli_hist_percentile(j->h, 100) / 1e3,
		       100 * j->lost);
	}
}
