/* SPDX-License-Identifier: MIT */
/*
 * --cores LIST for the packet subcommands (fwd, sink, gen, echo): one
 * worker per CPU of the list, pinned (include/sluice/lcore.h), queue i of
 * the port served by the worker on LIST[i % n], so no two workers touch a
 * queue and none takes a lock. Each worker keeps its own counters; the
 * main thread only reads them (relaxed loads of what the workers store
 * with relaxed stores) for the stop conditions and the status line, and
 * sums them once the workers are done.
 *
 * Without --cores (n == 0) the subcommands run as before: one thread.
 */
#ifndef SL_TOOLS_CORES_H
#define SL_TOOLS_CORES_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/lcore.h>

#include "sluice.h"

struct cli_cores {
	unsigned n; /* 0: no --cores */
	unsigned cpu[SL_LCORE_MAX];
	const char *arg;
};

#define CLI_CORES_HELP                                                           \
	"  --cores LIST      poll on these CPUs (0-1, 2,4), one pinned worker\n" \
	"                    each; queue i goes to LIST[i mod n] (the port\n"    \
	"                    needs queues=A-B); per-queue counters in the\n"     \
	"                    result\n"

/* Parse --cores or exit 2 with the reason. */
void cli_cores_parse(struct cli_cores *c, const char *arg);

/* Exit 2 unless every core gets a queue of the nq the port has. */
void cli_cores_fit(const struct cli_cores *c, unsigned nq, const char *spec);

/* The worker (index into cpu[]) that serves queue q. */
static inline unsigned cli_core_of(const struct cli_cores *c, unsigned q)
{
	return q % c->n;
}

/*
 * The dedicated-core checks of each core for the port's interface, as
 * `sluice doctor` reports: a line on stderr per finding that is not OK,
 * with its fix. Returns them as JSON ({"cpu": N, "warnings": N,
 * "checks": [...]} per core) for the result, or NULL when n is 0.
 */
struct json_object *cli_cores_check(const struct cli_cores *c,
				    struct sl_port *port, bool quiet);

/* Launch fn(args + w * stride) on cpu[w] for each worker w; on a failure
 * stop those launched and exit 1 with the library's message. */
struct sl_lcores *cli_cores_launch(const struct cli_cores *c, sl_lcore_fn fn,
				   void *args, size_t stride);

/* Stop the workers, wait for them, free the set; exit 1 with the message
 * of a worker that failed. */
void cli_cores_join(struct sl_lcores *s);

/* Per-queue counters, written only by the queue's worker, read once the
 * workers are done; a line each, so two workers never share one. */
struct cli_qcount {
	uint64_t rx, tx, bytes;
} SL_CACHE_ALIGNED;

/* Relaxed load/store of a counter another thread reads or writes. */
static inline uint64_t cli_ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void cli_st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* "queues": [{"queue": q, "core": cpu, "rx_packets", "tx_packets",
 * "bytes"}] of nq queues. */
struct json_object *cli_json_queues(const struct cli_cores *c,
				    const struct cli_qcount *qc, unsigned nq);
/* The same as text, a line per queue. */
void cli_print_queues(const struct cli_cores *c, const struct cli_qcount *qc,
		      unsigned nq);

#endif
