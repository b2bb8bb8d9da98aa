// SPDX-License-Identifier: MIT
/*
 * The worker runtime of include/sluice/lcore.h: threads pinned at creation
 * (pthread_attr_setaffinity_np, so the first instruction of a worker already
 * runs on its CPU and its first pool-cache fill is node-local), a stop flag
 * per set, and the CPU-list parser the --cores options and the checks share.
 *
 * The stop flag is the one word the workers of a set share; it sits on a
 * cache line of its own, written once (stop) and read with relaxed loads:
 * a worker sees it at its next poll, which is all a stop needs.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <sluice/lcore.h>

#include "core/log.h"
#include "lcore/lcore.h"

#define LIST_CPU_MAX 4096 /* the highest CPU a list may name, exclusive */

struct lcore {
	pthread_t th;
	struct sl_lcores *set;
	sl_lcore_fn fn;
	void *arg;
	unsigned id, cpu;
	int ret;
	bool joined;
};

struct sl_lcores {
	atomic_bool stop SL_CACHE_ALIGNED;
	unsigned n SL_CACHE_ALIGNED;
	struct lcore lc[SL_LCORE_MAX];
};

static __thread struct lcore *self;

struct sl_lcores *sl_lcores_new(void)
{
	struct sl_lcores *s = aligned_alloc(SL_CACHE_LINE, sizeof(*s));

	if (!s) {
		sl_fail(ENOMEM, "lcore: out of memory");
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	atomic_init(&s->stop, false);
	return s;
}

static void *lcore_main(void *p)
{
	struct lcore *lc = p;
	char name[16];

	self = lc;
	/* best effort: a seccomp filter may refuse prctl */
	snprintf(name, sizeof(name), "sl-lcore-%u", lc->id);
	(void)prctl(PR_SET_NAME, name, 0, 0, 0);
	lc->ret = lc->fn(lc->arg);
	self = NULL;
	return NULL;
}

/* "0-1,3" of a CPU set, for messages */
static void fmt_set(const cpu_set_t *set, char *buf, size_t size)
{
	size_t off = 0;
	int c, first = -1;

	buf[0] = 0;
	for (c = 0; c <= CPU_SETSIZE && off < size; c++) {
		bool in = c < CPU_SETSIZE && CPU_ISSET(c, set);

		if (in && first < 0)
			first = c;
		if (in || first < 0)
			continue;
		if (first == c - 1)
			off += (size_t)snprintf(buf + off, size - off, "%s%d",
						off ? "," : "", first);
		else
			off += (size_t)snprintf(buf + off, size - off,
						"%s%d-%d", off ? "," : "",
						first, c - 1);
		first = -1;
	}
	if (!buf[0])
		snprintf(buf, size, "none");
}

int sl_lcore_launch(struct sl_lcores *s, unsigned cpu, sl_lcore_fn fn,
		    void *arg)
{
	char have[256];
	pthread_attr_t attr;
	struct lcore *lc;
	cpu_set_t set;
	unsigned i;
	int err;

	if (!s || !fn)
		return sl_fail(EINVAL, "lcore: launch without a set or a "
				       "function");
	if (s->n >= SL_LCORE_MAX)
		return sl_fail(ENOSPC, "lcore: a set has at most %u workers",
			       SL_LCORE_MAX);
	for (i = 0; i < s->n; i++)
		if (s->lc[i].cpu == cpu)
			return sl_fail(EBUSY,
				       "lcore: cpu %u already runs lcore %u: "
				       "one worker per core",
				       cpu, i);
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		return sl_fail(errno, "lcore: cannot read the CPU affinity: %s",
			       strerror(errno));
	if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &set)) {
		fmt_set(&set, have, sizeof(have));
		return sl_fail(EINVAL,
			       "lcore: cpu %u is not in this process's CPU "
			       "affinity (%s): pick one of those, or run it "
			       "with more (taskset -c, the cgroup's cpuset)",
			       cpu, have);
	}
	lc = &s->lc[s->n];
	memset(lc, 0, sizeof(*lc));
	lc->set = s;
	lc->fn = fn;
	lc->arg = arg;
	lc->id = s->n;
	lc->cpu = cpu;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	err = pthread_attr_init(&attr);
	if (!err)
		err = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (!err)
		err = pthread_create(&lc->th, &attr, lcore_main, lc);
	pthread_attr_destroy(&attr);
	if (err)
		return sl_fail(err,
			       "lcore: cannot start a worker on cpu %u: %s",
			       cpu, strerror(err));
	s->n++;
	return (int)lc->id;
}

unsigned sl_lcore_id(void)
{
	return self ? self->id : SL_LCORE_NONE;
}

unsigned sl_lcore_cpu(void)
{
	return self ? self->cpu : SL_LCORE_NONE;
}

bool sl_lcore_stopping(void)
{
	struct lcore *lc = self;

	return lc && atomic_load_explicit(&lc->set->stop, memory_order_relaxed);
}

void sl_lcores_stop(struct sl_lcores *s)
{
	if (s)
		atomic_store_explicit(&s->stop, true, memory_order_relaxed);
}

int sl_lcores_wait(struct sl_lcores *s, int *rets)
{
	int first = 0;
	unsigned i;

	if (!s)
		return sl_fail(EINVAL, "lcore: wait without a set");
	for (i = 0; i < s->n; i++) {
		struct lcore *lc = &s->lc[i];

		if (!lc->joined) {
			pthread_join(lc->th, NULL);
			lc->joined = true;
		}
		if (rets)
			rets[i] = lc->ret;
		if (lc->ret && !first) {
			first = lc->ret;
			sl_fail(first < 0 ? -first : EIO,
				"lcore %u (cpu %u) returned %d (%s)", i,
				lc->cpu, first,
				first < 0 ? strerror(-first) : "not an errno");
		}
	}
	return first;
}

unsigned sl_lcores_count(const struct sl_lcores *s)
{
	return s ? s->n : 0;
}

void sl_lcores_free(struct sl_lcores *s)
{
	if (!s)
		return;
	sl_lcores_stop(s);
	(void)sl_lcores_wait(s, NULL);
	free(s);
}

/* ---- CPU lists --------------------------------------------------------- */

/* One number at *p, advanced past it: 0, or -1 when there is none or it
 * is LIST_CPU_MAX or more. */
static int list_num(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= LIST_CPU_MAX)
			return -1;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

/*
 * The parser behind sl_cpu_list_parse and sl_cpu_list_has: CPUs into
 * cpus[0..max) when cpus is given, and into the bitmap seen. Returns the
 * count, or -1 with why filled (no message is logged: the checks read
 * lists from files and must stay quiet).
 */
static int list_parse(const char *list, unsigned *cpus, unsigned max,
		      uint64_t *seen, char *why, size_t wsz)
{
	const char *p = list;
	unsigned n = 0, a, b, c;

	if (!*p) {
		snprintf(why, wsz, "empty (want e.g. 0-1 or 2,4)");
		return -1;
	}
	for (;;) {
		if (list_num(&p, &a)) {
			snprintf(why, wsz,
				 "want CPU numbers below %u, as 0-1 or 2,4",
				 LIST_CPU_MAX);
			return -1;
		}
		b = a;
		if (*p == '-') {
			p++;
			if (list_num(&p, &b)) {
				snprintf(why, wsz,
					 "a range wants a number after '-' "
					 "(below %u)",
					 LIST_CPU_MAX);
				return -1;
			}
			if (b < a) {
				snprintf(why, wsz, "range %u-%u is backwards",
					 a, b);
				return -1;
			}
		}
		for (c = a; c <= b; c++) {
			if (seen[c / 64] & (1ull << (c % 64))) {
				snprintf(why, wsz, "cpu %u twice", c);
				return -1;
			}
			seen[c / 64] |= 1ull << (c % 64);
			if (cpus && n >= max) {
				snprintf(why, wsz, "more than %u CPUs", max);
				return -1;
			}
			if (cpus)
				cpus[n] = c;
			n++;
		}
		if (!*p)
			return (int)n;
		if (*p != ',') {
			snprintf(why, wsz,
				 "unexpected '%c' (want e.g. 0-1 or "
				 "2,4)",
				 *p);
			return -1;
		}
		p++;
	}
}

int sl_cpu_list_parse(const char *list, unsigned *cpus, unsigned max)
{
	uint64_t seen[LIST_CPU_MAX / 64] = { 0 };
	char why[128];
	int n;

	if (!list || !cpus)
		return sl_fail(EINVAL, "cpu list: none given");
	n = list_parse(list, cpus, max, seen, why, sizeof(why));
	if (n < 0)
		return sl_fail(EINVAL, "cpu list '%s': %s", list, why);
	return n;
}

int sl_cpu_list_has(const char *list, unsigned cpu)
{
	uint64_t seen[LIST_CPU_MAX / 64] = { 0 };
	char why[128];

	if (cpu >= LIST_CPU_MAX ||
	    list_parse(list, NULL, 0, seen, why, sizeof(why)) < 0)
		return -1;
	return !!(seen[cpu / 64] & (1ull << (cpu % 64)));
}
