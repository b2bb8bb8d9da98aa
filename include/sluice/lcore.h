/* SPDX-License-Identifier: MIT */
/*
 * Dedicated cores: a poll loop per worker, each on a CPU of its own.
 *
 * A set of workers (struct sl_lcores) is launched one worker at a time,
 * each pinned to the CPU it is given before it runs a line of its function
 * (the way DPDK's rte_eal_remote_launch runs a function on an lcore), then
 * asked to stop and waited for. Each worker is a thread with its own
 * sl_thread_index(), so it has its own cache in every pool; it owns the
 * queues the application hands it (a queue's bursts are one thread's at a
 * time, port.h), so workers share no lock on the fast path: the only thing
 * they read in common is the set's stop flag.
 *
 * What makes a core dedicated is the host's configuration, not this code:
 * sl_lcore_check() reports, for a CPU and the interface its queues are on,
 * whether the CPU is isolated (isolcpus, nohz_full, rcu_nocbs), which IRQs
 * and kernel threads (NAPI, RCU) may run on it, its frequency governor and
 * whether it sits on the device's NUMA node, each with the fix. It never
 * refuses: a worker on an ordinary core works, only slower and less evenly.
 */
#ifndef SLUICE_LCORE_H
#define SLUICE_LCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Workers in one set; like the pools' caches, at most one per thread
 * index. */
#define SL_LCORE_MAX SL_MAX_THREADS
/* sl_lcore_id() and sl_lcore_cpu() outside a worker. */
#define SL_LCORE_NONE 0xffffffffu

struct sl_lcores;

/* A worker's function: 0, or a negative errno that sl_lcores_wait()
 * returns. It polls until sl_lcore_stopping() (or its own condition). */
typedef int (*sl_lcore_fn)(void *arg);

/* An empty set. NULL with errno (ENOMEM). Thread-safe. */
SL_API struct sl_lcores *sl_lcores_new(void);

/*
 * Start fn(arg) on a new thread pinned to cpu. Returns the worker's lcore
 * id (0, 1, ... in launch order), or -errno with sl_last_error() set:
 * -EINVAL cpu is not in the calling thread's CPU affinity (the message
 * lists the CPUs it has), -EBUSY a worker of this set already runs on cpu,
 * -ENOSPC the set has SL_LCORE_MAX workers, -EAGAIN (or another errno) the
 * thread could not be made. Control path; one thread at a time per set.
 */
SL_API int sl_lcore_launch(struct sl_lcores *s, unsigned cpu, sl_lcore_fn fn,
			   void *arg);

/* The calling worker's lcore id, SL_LCORE_NONE outside a worker. Fast
 * path. */
SL_API unsigned sl_lcore_id(void);
/* The CPU the calling worker is pinned to, SL_LCORE_NONE outside one. */
SL_API unsigned sl_lcore_cpu(void);

/* Whether the calling worker's set was asked to stop (false outside a
 * worker). Fast path: a thread-local load and a relaxed load. */
SL_API bool sl_lcore_stopping(void);

/* Ask every worker of the set to return. Thread-safe and
 * async-signal-safe (one atomic store). */
SL_API void sl_lcores_stop(struct sl_lcores *s);

/*
 * Wait for every worker of the set to return (it does not ask them to:
 * sl_lcores_stop() does). rets, if not NULL, gets each worker's return by
 * lcore id. Returns 0 when all returned 0, else the first non-zero return
 * in lcore order, with sl_last_error() naming the worker and its CPU.
 * Control path; a second wait returns the same without waiting.
 */
SL_API int sl_lcores_wait(struct sl_lcores *s, int *rets);

/* Workers launched in the set. */
SL_API unsigned sl_lcores_count(const struct sl_lcores *s);

/* Stop, wait for and free the set (NULL: nothing). */
SL_API void sl_lcores_free(struct sl_lcores *s);

/*
 * A CPU list as the kernel writes them and taskset takes them, "0-3,8,10":
 * its CPUs in the order written into cpus[0..max). Returns how many, or
 * -EINVAL (message in sl_last_error(): empty, not a number, a range
 * backwards, a CPU twice, a CPU at or above 4096, more than max). Control
 * path, thread-safe.
 */
SL_API int sl_cpu_list_parse(const char *list, unsigned *cpus, unsigned max);

/* ---- what makes a core dedicated --------------------------------------- */

enum sl_lcore_level {
	SL_LCORE_OK = 0, /* as a dedicated core wants it */
	SL_LCORE_NOTE, /* cannot tell, or nothing to do here (a VM) */
	SL_LCORE_WARN, /* costs the worker; .fix says what to do */
};

struct sl_lcore_finding {
	char check[16]; /* "isolcpus", "nohz_full", "rcu_nocbs", "irqs",
			 * "kthreads", "governor", "numa" */
	enum sl_lcore_level level;
	char what[256]; /* what was found, one line */
	char fix[256]; /* what to do ("" when nothing) */
};

#define SL_LCORE_MAX_FINDINGS 16

struct sl_lcore_report {
	size_t sz; /* sizeof(struct sl_lcore_report), set by the caller */
	unsigned cpu;
	unsigned n; /* findings in f */
	unsigned warnings; /* of them at SL_LCORE_WARN */
	struct sl_lcore_finding f[SL_LCORE_MAX_FINDINGS];
};

/*
 * Check what makes cpu a dedicated core, for queues on interface ifname
 * (NULL or "": no device, the NUMA check says so), into out. Reads
 * /sys and /proc, or the trees named by the environment variables
 * SLUICE_SYSFS_ROOT and SLUICE_PROC_ROOT (tests use fake ones); a file it
 * cannot read makes its finding a note, never an error. Returns 0, or
 * -EINVAL (out NULL or its sz too small). Control path, thread-safe.
 */
SL_API int sl_lcore_check(unsigned cpu, const char *ifname,
			  struct sl_lcore_report *out);

#ifdef __cplusplus
}
#endif
#endif
