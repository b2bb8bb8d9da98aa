// SPDX-License-Identifier: MIT
/* The worker runtime: workers start on the CPUs asked for, each knows its
 * lcore id, stop and wait end them, a worker's error comes back from the
 * wait, and a CPU outside the process's affinity is refused with a message
 * that says which it has. Also the CPU-list parser behind --cores. */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include <sluice/lcore.h>

#include "sltest.h"

struct seen {
	unsigned id, cpu, ran_on, tindex;
	int ret;
	atomic_bool started;
};

static int spin_until_stop(void *arg)
{
	struct seen *s = arg;

	s->id = sl_lcore_id();
	s->cpu = sl_lcore_cpu();
	s->ran_on = (unsigned)sched_getcpu();
	s->tindex = sl_thread_index();
	atomic_store(&s->started, true);
	while (!sl_lcore_stopping())
		sched_yield();
	/* pinned: still there after the loop */
	if ((unsigned)sched_getcpu() != s->cpu)
		return -EXDEV;
	return s->ret;
}

/* The CPUs this thread may run on, at most max. */
static unsigned allowed(unsigned *cpus, unsigned max)
{
	cpu_set_t set;
	unsigned c, n = 0;

	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static void wait_started(struct seen *s, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		while (!atomic_load(&s[i].started))
			sched_yield();
}

static void test_launch_stop_wait(void **state)
{
	unsigned cpus[4], n, i;
	struct seen s[4];
	struct sl_lcores *set;
	int rets[4];

	(void)state;
	memset(s, 0, sizeof(s));
	n = allowed(cpus, 4);
	assert_true(n >= 1);
	assert_int_equal(sl_lcore_id(), SL_LCORE_NONE);
	assert_int_equal(sl_lcore_cpu(), SL_LCORE_NONE);
	assert_false(sl_lcore_stopping());
	set = sl_lcores_new();
	assert_non_null(set);
	for (i = 0; i < n; i++)
		assert_int_equal(sl_lcore_launch(set, cpus[i], spin_until_stop,
						 &s[i]),
				 (int)i);
	assert_int_equal(sl_lcores_count(set), n);
	wait_started(s, n);
	sl_lcores_stop(set);
	assert_int_equal(sl_lcores_wait(set, rets), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(rets[i], 0);
		assert_int_equal(s[i].id, i);
		assert_int_equal(s[i].cpu, cpus[i]);
		/* pinned before its first instruction */
		assert_int_equal(s[i].ran_on, cpus[i]);
		/* each its own pool cache */
		if (i)
			assert_int_not_equal(s[i].tindex, s[i - 1].tindex);
	}
	/* a second wait returns the same at once */
	assert_int_equal(sl_lcores_wait(set, NULL), 0);
	sl_lcores_free(set);
}

static void test_worker_error(void **state)
{
	unsigned cpus[2], n;
	struct seen s[2];
	struct sl_lcores *set;
	int rets[2];

	(void)state;
	memset(s, 0, sizeof(s));
	n = allowed(cpus, 2);
	set = sl_lcores_new();
	assert_non_null(set);
	s[n - 1].ret = -EIO;
	assert_int_equal(sl_lcore_launch(set, cpus[0], spin_until_stop, &s[0]),
			 0);
	if (n > 1)
		assert_int_equal(sl_lcore_launch(set, cpus[1], spin_until_stop,
						 &s[1]),
				 1);
	wait_started(s, n);
	sl_lcores_stop(set);
	assert_int_equal(sl_lcores_wait(set, rets), -EIO);
	assert_int_equal(rets[n - 1], -EIO);
	assert_non_null(strstr(sl_last_error(), "returned -5"));
	sl_lcores_free(set);
}

static void test_cpu_not_allowed(void **state)
{
	unsigned cpus[2], n, c;
	struct sl_lcores *set;
	cpu_set_t set_all, one;
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	set = sl_lcores_new();
	assert_non_null(set);
	assert_int_equal(sched_getaffinity(0, sizeof(set_all), &set_all), 0);
	for (c = 0; c < CPU_SETSIZE && CPU_ISSET(c, &set_all); c++)
		;
	assert_int_equal(sl_lcore_launch(set, c, spin_until_stop, &s), -EINVAL);
	assert_non_null(strstr(sl_last_error(), "not in this process's CPU "
						"affinity"));
	/* narrowed to one CPU, another one the machine has is refused too */
	n = allowed(cpus, 2);
	if (n > 1) {
		CPU_ZERO(&one);
		CPU_SET(cpus[0], &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
		assert_int_equal(sl_lcore_launch(set, cpus[1], spin_until_stop,
						 &s),
				 -EINVAL);
		assert_non_null(strstr(sl_last_error(), "cpu"));
		assert_int_equal(
			sched_setaffinity(0, sizeof(set_all), &set_all), 0);
	}
	assert_int_equal(sl_lcores_count(set), 0);
	/* one worker per core */
	assert_int_equal(sl_lcore_launch(set, cpus[0], spin_until_stop, &s), 0);
	assert_int_equal(sl_lcore_launch(set, cpus[0], spin_until_stop, &s),
			 -EBUSY);
	sl_lcores_free(set); /* stops and waits */
}

static void test_cpu_list(void **state)
{
	static const char *const bad[] = { "",	  "a",	   "1-0",  "1,,2",
					   "0,0", "0-2,1", "4096", "1-",
					   "1 ",  "-1",	   "0-1x" };
	unsigned c[8];
	size_t i;

	(void)state;
	assert_int_equal(sl_cpu_list_parse("0-1", c, 8), 2);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 1);
	assert_int_equal(sl_cpu_list_parse("2,4", c, 8), 2);
	assert_int_equal(c[0], 2);
	assert_int_equal(c[1], 4);
	/* the order written is the order of the queues */
	assert_int_equal(sl_cpu_list_parse("5,0-2", c, 8), 4);
	assert_int_equal(c[0], 5);
	assert_int_equal(c[3], 2);
	assert_int_equal(sl_cpu_list_parse("0-8", c, 8), -EINVAL);
	assert_non_null(strstr(sl_last_error(), "more than 8"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sl_cpu_list_parse(bad[i], c, 8), -EINVAL);
		assert_non_null(strstr(sl_last_error(), "cpu list"));
	}
	assert_int_equal(sl_cpu_list_parse(NULL, c, 8), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_launch_stop_wait),
		cmocka_unit_test(test_worker_error),
		cmocka_unit_test(test_cpu_not_allowed),
		cmocka_unit_test(test_cpu_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
