// SPDX-License-Identifier: MIT
/*
 * A plugin built against the installed sluice (-shared -fPIC, pkg-config)
 * and loaded by dlopen_host.c. Two threads take and give back buffers of
 * one pool through the inline fast path (sl_pool_get_bulk and
 * sl_pool_put_bulk read the thread index from the plugin's own code), each
 * with its own index and so its own cache (a barrier keeps both alive
 * together: an index is reused once its thread exits); at the end every
 * buffer is back.
 */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */

#include <pthread.h>
#include <stdio.h>

#include <sluice/sluice.h>

int plugin_run(char *why, size_t len);

#define ROUNDS 10000
#define BURST 32

static pthread_barrier_t both;

struct worker {
	struct sl_pool *pool;
	unsigned index;
	int err;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct sl_pkt *pkts[BURST];
	unsigned i;

	w->index = sl_thread_index();
	pthread_barrier_wait(&both);
	for (i = 0; i < ROUNDS; i++) {
		if (sl_pool_get_bulk(w->pool, pkts, BURST)) {
			w->err = 1;
			break;
		}
		pkts[0]->len = i; /* the buffer is ours: write to it */
		sl_pool_put_bulk(w->pool, pkts, BURST);
	}
	if (sl_thread_index() != w->index)
		w->err = 2;
	sl_pool_cache_flush(w->pool);
	return NULL;
}

int plugin_run(char *why, size_t len)
{
	struct sl_pool_opts o = { .sz = sizeof(o), .n_bufs = 1024 };
	struct worker w[2] = { { 0 } };
	pthread_t t[2];
	struct sl_pool *p;
	int i, err = 0;

	p = sl_pool_create(&o);
	if (!p) {
		snprintf(why, len, "sl_pool_create: %s", sl_last_error());
		return 1;
	}
	pthread_barrier_init(&both, NULL, 2);
	for (i = 0; i < 2; i++) {
		w[i].pool = p;
		if (pthread_create(&t[i], NULL, work, &w[i])) {
			snprintf(why, len, "pthread_create failed");
			return 1;
		}
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&both);
	if (w[0].err || w[1].err)
		err = snprintf(why, len, "a thread's bulk calls failed (%d %d)",
			       w[0].err, w[1].err);
	else if (w[0].index == w[1].index || w[0].index >= SL_MAX_THREADS ||
		 w[1].index >= SL_MAX_THREADS)
		err = snprintf(why, len,
			       "thread indexes %u and %u: want two distinct "
			       "ones below %u",
			       w[0].index, w[1].index, SL_MAX_THREADS);
	else if (sl_pool_avail(p) != sl_pool_capacity(p))
		err = snprintf(why, len, "%u of %u buffers back",
			       sl_pool_avail(p), sl_pool_capacity(p));
	sl_pool_destroy(p);
	return err ? 1 : 0;
}
