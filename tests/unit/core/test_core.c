// SPDX-License-Identifier: MIT
/* Core services: errors reach sl_last_error and the log callback, thread
 * indexes are unique among live threads and reused after exit. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "sltest.h"
#include "core/log.h"

static char seen[256];
static enum sl_log_level seen_level;

static void capture_log(enum sl_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	seen_level = level;
	sl_strlcpy(seen, msg, sizeof(seen));
}

static void test_fail_reports(void **state)
{
	(void)state;
	sl_set_log(capture_log, NULL);
	errno = 0;
	assert_int_equal(sl_fail(EINVAL, "bad %s '%d'", "thing", 7), -EINVAL);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(sl_last_error(), "bad thing '7'");
	assert_string_equal(seen, "bad thing '7'");
	assert_int_equal(seen_level, SL_LOG_ERROR);
	sl_set_log(NULL, NULL);
}

static void test_version_and_clock(void **state)
{
	uint64_t a, b;

	(void)state;
	assert_non_null(strchr(sl_version(), '.'));
	a = sl_time_ns();
	b = sl_time_ns();
	assert_true(b >= a);
	assert_true(a > 0);
}

#define N_THREADS 8

static unsigned idx[N_THREADS];

static void *take_index(void *arg)
{
	unsigned *slot = arg;

	*slot = sl_thread_index();
	/* asked twice, same answer */
	assert_int_equal(*slot, sl_thread_index());
	return NULL;
}

static void test_thread_index(void **state)
{
	pthread_t th[N_THREADS];
	unsigned i, me = sl_thread_index();

	(void)state;
	assert_true(me < SL_MAX_THREADS);
	for (i = 0; i < N_THREADS; i++)
		pthread_create(&th[i], NULL, take_index, &idx[i]);
	for (i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < N_THREADS; i++) {
		assert_true(idx[i] < SL_MAX_THREADS);
		assert_int_not_equal(idx[i], me);
	}
	/* many more threads than indexes, one after another: indexes are
	 * given back at exit, so none runs out */
	for (i = 0; i < 4 * SL_MAX_THREADS; i++) {
		unsigned got;

		pthread_create(&th[0], NULL, take_index, &got);
		pthread_join(th[0], NULL);
		assert_true(got < SL_MAX_THREADS);
	}
}

static pthread_barrier_t barrier;

static void *hold_index(void *arg)
{
	unsigned *slot = arg;

	*slot = sl_thread_index();
	pthread_barrier_wait(&barrier); /* all alive at once */
	return NULL;
}

static void test_thread_index_unique(void **state)
{
	pthread_t th[N_THREADS];
	unsigned got[N_THREADS], i, j;

	(void)state;
	pthread_barrier_init(&barrier, NULL, N_THREADS);
	for (i = 0; i < N_THREADS; i++)
		pthread_create(&th[i], NULL, hold_index, &got[i]);
	for (i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < N_THREADS; i++)
		for (j = i + 1; j < N_THREADS; j++)
			assert_int_not_equal(got[i], got[j]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_reports),
		cmocka_unit_test(test_version_and_clock),
		cmocka_unit_test(test_thread_index),
		cmocka_unit_test(test_thread_index_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
