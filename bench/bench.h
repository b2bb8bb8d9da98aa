/* SPDX-License-Identifier: MIT */
/*
 * What the benchmark programs share, so that the sluice and DPDK sides
 * measure exactly the same way: the clock, how long and how often a row
 * runs, how a rate is chosen from the repetitions, CPU pinning, and the one
 * line per row that scripts/bench.sh turns into the table.
 *
 * Each row is run BENCH_REPS times for about BENCH_SECONDS each (both can be
 * set in the environment) and reports the best run: noise on a shared
 * machine only ever makes a run slower. Single-thread runs are further cut
 * into short slices, and a run counts its median slice (bench_loop).
 */
#ifndef SL_BENCH_H
#define SL_BENCH_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_BURST 32
#define BENCH_RING_SIZE 1024

static inline uint64_t bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double bench_env(const char *name, double def)
{
	const char *e = getenv(name);

	return e && *e ? strtod(e, NULL) : def;
}

static inline uint64_t bench_run_ns(void)
{
	return (uint64_t)(bench_env("BENCH_SECONDS", 0.3) * 1e9);
}

static inline unsigned bench_reps(void)
{
	unsigned n = (unsigned)bench_env("BENCH_REPS", 5);

	return n ? n : 1;
}

/* Pin the calling thread to one CPU; quietly does nothing if it cannot. */
static inline void bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

#define BENCH_SLICE_ITERS 1024
#define BENCH_MAX_SLICES 65536

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * A single-thread row: call body(ctx) (one iteration moves `per` items) for
 * the run time, timing each slice of BENCH_SLICE_ITERS iterations (tens of
 * microseconds). A run's rate is its median slice: another process taking
 * the CPU for a while spoils a few slices, not the run. The row's rate is
 * the best run's, in items per second. Always inlined, so body is a direct
 * (and inlinable) call in both programs rather than an indirect one.
 */
static inline __attribute__((always_inline)) double
bench_loop(void (*body)(void *ctx), void *ctx, unsigned per)
{
	static double slice[BENCH_MAX_SLICES];
	uint64_t run = bench_run_ns();
	double best = 0;
	unsigned rep, i, n;

	/* warm-up: caches, branch predictors, page faults */
	for (i = 0; i < 10000; i++)
		body(ctx);
	for (rep = 0; rep < bench_reps(); rep++) {
		uint64_t start = bench_now(), t0 = start, t1;

		n = 0;
		do {
			for (i = 0; i < BENCH_SLICE_ITERS; i++)
				body(ctx);
			t1 = bench_now();
			slice[n++] = (double)BENCH_SLICE_ITERS * per * 1e9 /
				     (double)(t1 - t0);
			t0 = t1;
		} while (t1 - start < run && n < BENCH_MAX_SLICES);
		qsort(slice, n, sizeof(slice[0]), bench_cmp_double);
		if (slice[n / 2] > best)
			best = slice[n / 2];
	}
	return best;
}

/*
 * Two-thread rows: the calling thread produces, a consumer on the other CPU
 * takes, publishing its running count after every burst (a store to a line
 * of its own, so polling stop does not suffer). The program supplies how to
 * start and join the consumer (a pthread, or a DPDK lcore).
 */
struct bench_2t {
	int ready; /* atomic: consumer is running */
	int stop; /* atomic: producer is done */
	void *ctx;
	uint64_t count __attribute__((aligned(128))); /* atomic: items taken */
};

static inline void bench_2t_ready(struct bench_2t *b)
{
	__atomic_store_n(&b->ready, 1, __ATOMIC_RELEASE);
}

static inline int bench_2t_stopped(struct bench_2t *b)
{
	return __atomic_load_n(&b->stop, __ATOMIC_ACQUIRE);
}

static inline void bench_2t_count(struct bench_2t *b, uint64_t n)
{
	__atomic_store_n(&b->count, n, __ATOMIC_RELAXED);
}

/*
 * Run a two-thread row: launch starts a consumer that calls bench_2t_ready,
 * then until bench_2t_stopped takes bursts and calls bench_2t_count with
 * its total, then empties the ring; join waits for it. The calling thread
 * calls produce(b->ctx) for the run time and reads the consumer's count
 * every BENCH_2T_WINDOW_NS. A run's rate is its median window among those
 * where the consumer took something, the row's the best run's, in items per
 * second taken by the consumer. When another process shares a CPU, the
 * consumer is off it for whole scheduler ticks: those windows measure the
 * other process, not the ring.
 */
#define BENCH_2T_WINDOW_NS 50000
static inline __attribute__((always_inline)) double
bench_2t_run(struct bench_2t *b, void (*produce)(void *ctx),
	     void (*launch)(struct bench_2t *b),
	     void (*join)(struct bench_2t *b))
{
	static double slice[BENCH_MAX_SLICES];
	uint64_t run = bench_run_ns();
	double best = 0;
	unsigned rep, i, n;

	for (rep = 0; rep < bench_reps(); rep++) {
		uint64_t start, t0, t1, c0, c1;

		b->ready = 0;
		b->stop = 0;
		b->count = 0;
		launch(b);
		while (!__atomic_load_n(&b->ready, __ATOMIC_ACQUIRE))
			;
		n = 0;
		start = t0 = bench_now();
		c0 = __atomic_load_n(&b->count, __ATOMIC_RELAXED);
		do {
			for (i = 0; i < 64; i++)
				produce(b->ctx);
			t1 = bench_now();
			if (t1 - t0 < BENCH_2T_WINDOW_NS)
				continue;
			c1 = __atomic_load_n(&b->count, __ATOMIC_RELAXED);
			/* no progress: the consumer was off its CPU */
			if (c1 != c0)
				slice[n++] = (double)(c1 - c0) * 1e9 /
					     (double)(t1 - t0);
			t0 = t1;
			c0 = c1;
		} while (t1 - start < run && n < BENCH_MAX_SLICES);
		__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
		join(b);
		if (!n)
			continue;
		qsort(slice, n, sizeof(slice[0]), bench_cmp_double);
		if (slice[n / 2] > best)
			best = slice[n / 2];
	}
	return best;
}

/* Whether to run row key: BENCH_ONLY, when set, is a comma-separated list
 * of keys (for working on one row); the others then print nothing. */
static inline int bench_want(const char *key)
{
	const char *only = getenv("BENCH_ONLY"), *p;
	size_t len = strlen(key);

	if (!only || !*only)
		return 1;
	for (p = only; (p = strstr(p, key)); p += len)
		if ((p == only || p[-1] == ',') &&
		    (p[len] == ',' || p[len] == '\0'))
			return 1;
	return 0;
}

/* One result line: "row<TAB>key<TAB>items per second<TAB>note". A rate of
 * 0 means not measured; the note says why. */
static inline void bench_report(const char *key, double rate, const char *note)
{
	printf("row\t%s\t%.0f\t%s\n", key, rate, note ? note : "");
	fflush(stdout);
}

#endif
