// SPDX-License-Identifier: MIT
/* Shared unit-test helpers; see sltest.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sltest.h"

struct sl_pool *sl_test_pool(unsigned n)
{
	struct sl_pool_opts o = { .sz = sizeof(o),
				  .n_bufs = n,
				  .flags = SL_POOL_F_DEBUG,
				  .name = "test" };
	struct sl_pool *p = sl_pool_create(&o);

	if (!p)
		fail_msg("sl_pool_create: %s", sl_last_error());
	return p;
}

void sl_test_pool_full(struct sl_pool *p)
{
	struct sl_pool_stats st;

	sl_pool_get_stats(p, &st);
	assert_int_equal(st.double_free, 0);
	assert_int_equal(st.foreign_free, 0);
	assert_int_equal(sl_pool_avail(p), sl_pool_capacity(p));
}

const char *sl_test_name(const char *what, char *buf, size_t len)
{
	static unsigned seq;

	snprintf(buf, len, "sl-%s-%d-%u", what, (int)getpid(), seq++);
	return buf;
}

static char tmpdir[64];

static void tmpdir_remove(void)
{
	char cmd[128];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

const char *sl_test_tmpfile(const char *name, char *buf, size_t len)
{
	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/sl-test-XXXXXX");
		if (!mkdtemp(tmpdir))
			fail_msg("mkdtemp failed");
		atexit(tmpdir_remove);
	}
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

uint64_t sl_test_bound_ns(uint64_t ns)
{
	const char *v = getenv("SL_TEST_TIME_SCALE");
	unsigned long k = v ? strtoul(v, NULL, 10) : 1;

	return ns * (k ? k : 1);
}

uint64_t sl_test_xstat(struct sl_port *port, const char *name)
{
	struct sl_xstat xs[128];
	int n = sl_port_xstats(port, xs, 128), i;

	assert_true(n > 0 && n <= 128);
	for (i = 0; i < n; i++)
		if (strcmp(xs[i].name, name) == 0)
			return xs[i].value;
	fail_msg("no xstat %s", name);
	return 0;
}

struct sl_pkt *sl_test_rx_one(struct sl_port *port, uint16_t queue, int ms)
{
	uint64_t end = sl_time_ns() + (uint64_t)ms * 1000000u;
	struct sl_pkt *p;

	do {
		if (sl_rx_burst(port, queue, &p, 1) == 1)
			return p;
		usleep(200);
	} while (sl_time_ns() < end);
	return NULL;
}
