// SPDX-License-Identifier: MIT
/*
 * Regions and pools: what the region got and why, buffer layout and
 * headroom, bulk get/put all-or-none, the free count across per-thread
 * caches, double and foreign frees caught in debug mode, and many threads
 * sharing one pool without losing or duplicating a buffer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sltest.h"

static unsigned long free_hugepages(void)
{
	unsigned long v = 0;
	FILE *f = fopen(
		"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
		"r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static void test_region_reports(void **state)
{
	struct sl_region_opts o = { .sz = sizeof(o) };
	struct sl_region *r;

	(void)state;
	r = sl_region_create(3 << 20, &o);
	assert_non_null(r);
	assert_true(sl_region_len(r) >= (3u << 20));
	memset(sl_region_base(r), 0xab, sl_region_len(r)); /* all writable */
	if (sl_region_is_huge(r)) {
		assert_int_equal(sl_region_page_size(r), 2u << 20);
	} else {
		/* the note says why and how to get hugepages */
		assert_non_null(strstr(sl_region_note(r), "nr_hugepages"));
		assert_int_equal(sl_region_len(r) % sl_region_page_size(r), 0);
	}
	if (!sl_region_is_locked(r))
		assert_non_null(strstr(sl_region_note(r), "mlock"));
	sl_region_destroy(r);

	o.huge = SL_HUGE_NEVER;
	r = sl_region_create(100, &o);
	assert_non_null(r);
	assert_false(sl_region_is_huge(r));
	assert_true(sl_region_len(r) >= 100);
	sl_region_destroy(r);

	assert_null(sl_region_create(0, NULL));
	assert_int_equal(errno, EINVAL);
}

static void test_region_require_huge(void **state)
{
	struct sl_region_opts o = { .sz = sizeof(o), .huge = SL_HUGE_REQUIRE };
	struct sl_region *r;

	(void)state;
	if (free_hugepages() >= 2) {
		r = sl_region_create(4 << 20, &o);
		assert_non_null(r);
		assert_true(sl_region_is_huge(r));
		sl_region_destroy(r);
		return;
	}
	/* none reserved: the failure says what to run */
	r = sl_region_create(4 << 20, &o);
	assert_null(r);
	assert_int_equal(errno, ENOMEM);
	assert_non_null(strstr(sl_last_error(), "/proc/sys/vm/nr_hugepages"));
}

static void test_pool_layout(void **state)
{
	struct sl_pool *p = sl_test_pool(64);
	struct sl_pkt *pkt;
	uint8_t *d;

	(void)state;
	assert_int_equal(sl_pool_capacity(p), 64);
	assert_int_equal(sl_pool_avail(p), 64);
	pkt = sl_pkt_alloc(p);
	assert_non_null(pkt);
	assert_ptr_equal(pkt->pool, p);
	assert_int_equal(pkt->len, 0);
	assert_int_equal(sl_pkt_headroom(pkt), SL_PKT_HEADROOM);
	assert_int_equal(sl_pkt_tailroom(pkt),
			 SL_PKT_BUF_SIZE - SL_PKT_META - SL_PKT_HEADROOM);
	assert_ptr_equal(sl_pool_pkt(p, pkt->idx), pkt);
	/* data area is inside the pool's region */
	assert_true((uintptr_t)pkt->data >=
		    (uintptr_t)sl_region_base(sl_pool_region(p)));

	d = sl_pkt_append(pkt, 100);
	assert_non_null(d);
	memset(d, 1, 100);
	assert_int_equal(pkt->len, 100);
	d = sl_pkt_prepend(pkt, 14);
	assert_ptr_equal(d, pkt->data);
	assert_int_equal(pkt->len, 114);
	assert_int_equal(sl_pkt_headroom(pkt), SL_PKT_HEADROOM - 14);
	assert_null(sl_pkt_prepend(pkt, SL_PKT_HEADROOM)); /* too much */
	assert_int_equal(pkt->len, 114); /* unchanged */
	assert_null(sl_pkt_append(pkt, 4096));
	assert_int_equal(sl_pkt_adj(pkt, 14), 0);
	assert_int_equal(sl_pkt_trim(pkt, 200), -1);
	assert_int_equal(sl_pkt_trim(pkt, 100), 0);
	assert_int_equal(pkt->len, 0);
	assert_int_equal(sl_pkt_set(pkt, "abc", 3), 0);
	assert_memory_equal(pkt->data, "abc", 3);

	assert_int_equal(sl_pool_avail(p), 63);
	sl_pkt_free(pkt);
	sl_test_pool_full(p);
	sl_pool_destroy(p);
}

static void test_pool_bulk_all_or_none(void **state)
{
	struct sl_pool_opts o = { .sz = sizeof(o), .n_bufs = 100 };
	struct sl_pkt *pkts[100], *more[8];
	struct sl_pool_stats st;
	struct sl_pool *p;
	unsigned i;

	(void)state;
	/* cached mode (no debug flag) unless SLUICE_DEBUG forces it */
	p = sl_pool_create(&o);
	assert_non_null(p);
	for (i = 0; i < 100; i += 20)
		assert_int_equal(sl_pool_get_bulk(p, pkts + i, 20), 0);
	assert_int_equal(sl_pool_avail(p), 0);
	assert_int_equal(sl_pool_get_bulk(p, more, 1), -ENOBUFS);
	assert_null(sl_pkt_alloc(p));
	sl_pool_get_stats(p, &st);
	assert_true(st.get_fail >= 2);
	/* every buffer handed out once */
	for (i = 0; i < 100; i++) {
		unsigned j;

		for (j = i + 1; j < 100; j++)
			assert_ptr_not_equal(pkts[i], pkts[j]);
	}
	sl_pool_put_bulk(p, pkts, 50);
	assert_int_equal(sl_pool_avail(p), 50);
	/* all or none: 60 is more than there is */
	assert_int_equal(sl_pool_get_bulk(p, more, 8), 0);
	sl_pool_put_bulk(p, more, 8);
	sl_pkt_free_bulk(pkts + 50, 50);
	assert_int_equal(sl_pool_avail(p), 100);
	sl_pool_cache_flush(p);
	assert_int_equal(sl_pool_avail(p), 100);
	sl_pool_destroy(p);
}

static void test_pool_double_free(void **state)
{
	struct sl_pool *p = sl_test_pool(16), *q = sl_test_pool(16);
	struct sl_pool_stats st;
	struct sl_pkt *pkt, *other, fake;

	(void)state;
	pkt = sl_pkt_alloc(p);
	sl_pkt_free(pkt);
	sl_pkt_free(pkt); /* twice */
	sl_pool_get_stats(p, &st);
	assert_int_equal(st.double_free, 1);
	assert_int_equal(sl_pool_avail(p), 16); /* not taken back twice */

	other = sl_pkt_alloc(q);
	sl_pool_put_bulk(p, &other, 1); /* into the wrong pool */
	memset(&fake, 0, sizeof(fake));
	fake.pool = p;
	sl_pkt_free(&fake);
	sl_pool_get_stats(p, &st);
	assert_int_equal(st.foreign_free, 2);
	assert_int_equal(sl_pool_avail(p), 16);
	sl_pkt_free(other);
	sl_test_pool_full(q);
	sl_pool_destroy(p);
	sl_pool_destroy(q);
}

static void test_pool_bad_opts(void **state)
{
	struct sl_pool_opts o = { .sz = sizeof(o), .buf_size = 1000 };

	(void)state;
	assert_null(sl_pool_create(&o));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "multiple of 64"));
	o.buf_size = 512;
	o.headroom = 500;
	assert_null(sl_pool_create(&o));
	assert_non_null(strstr(sl_last_error(), "headroom"));
	o.headroom = 0;
	o.cache_size = 4096;
	assert_null(sl_pool_create(&o));
	assert_non_null(strstr(sl_last_error(), "cache size"));
}

struct worker {
	struct sl_pool *p;
	unsigned rounds;
	unsigned fails;
};

/* Take bursts, mark them as ours, check nobody else marked them meanwhile,
 * give them back. */
static void *pool_worker(void *arg)
{
	struct worker *w = arg;
	struct sl_pkt *pkts[32];
	uint64_t me = (uint64_t)(uintptr_t)w;
	unsigned r, i, n;

	for (r = 0; r < w->rounds; r++) {
		n = 1 + r % 32;
		if (sl_pool_get_bulk(w->p, pkts, n) != 0) {
			w->fails++;
			continue;
		}
		for (i = 0; i < n; i++)
			pkts[i]->user = me;
		for (i = 0; i < n; i++)
			if (pkts[i]->user != me)
				w->fails += 1000000; /* shared buffer */
		sl_pool_put_bulk(w->p, pkts, n);
	}
	sl_pool_cache_flush(w->p);
	return NULL;
}

static void test_pool_threads(void **state)
{
	struct sl_pool_opts o = { .sz = sizeof(o), .n_bufs = 2048 };
	struct worker w[4];
	pthread_t th[4];
	struct sl_pool *p;
	unsigned i;

	(void)state;
	p = sl_pool_create(&o);
	assert_non_null(p);
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ .p = p, .rounds = 200000 };
		pthread_create(&th[i], NULL, pool_worker, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		/* 2048 buffers, 4 threads caching at most 512+32 each */
		assert_int_equal(w[i].fails, 0);
	}
	assert_int_equal(sl_pool_avail(p), 2048);
	sl_pool_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_reports),
		cmocka_unit_test(test_region_require_huge),
		cmocka_unit_test(test_pool_layout),
		cmocka_unit_test(test_pool_bulk_all_or_none),
		cmocka_unit_test(test_pool_double_free),
		cmocka_unit_test(test_pool_bad_opts),
		cmocka_unit_test(test_pool_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
