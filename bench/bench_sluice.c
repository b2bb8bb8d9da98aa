// SPDX-License-Identifier: MIT
/*
 * sluice's side of the core benchmarks: rings (one thread doing enqueue then
 * dequeue bursts, and a producer/consumer pair of threads on the two CPUs),
 * pool bulk get+put, and a pair port's tx+rx. bench_dpdk.c runs the same
 * rows on DPDK; scripts/bench.sh puts both in one table. Every rate is in
 * items (or packets) per second, best of BENCH_REPS runs (bench.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sluice/sluice.h>

#include "bench.h"

/* ---- rings ------------------------------------------------------------ */

struct ring_ctx {
	struct sl_ring *r;
	void *objs[BENCH_BURST];
	void *out[BENCH_BURST];
};

static void ring_1t_body(void *arg)
{
	struct ring_ctx *c = arg;
	unsigned n;

	n = sl_ring_enqueue_burst(c->r, c->objs, BENCH_BURST);
	sl_ring_dequeue_burst(c->r, c->out, n);
}

static double ring_1t(unsigned flags)
{
	struct ring_ctx c;
	double rate;
	unsigned i;

	c.r = sl_ring_create(BENCH_RING_SIZE, flags);
	if (!c.r)
		return 0;
	for (i = 0; i < BENCH_BURST; i++)
		c.objs[i] = &c.objs[i];
	rate = bench_loop(ring_1t_body, &c, BENCH_BURST);
	sl_ring_destroy(c.r);
	return rate;
}

static void ring_2t_produce(void *arg)
{
	struct ring_ctx *c = arg;

	sl_ring_enqueue_burst(c->r, c->objs, BENCH_BURST);
}

static void *ring_2t_consumer(void *arg)
{
	struct bench_2t *b = arg;
	struct ring_ctx *c = b->ctx;
	void *out[BENCH_BURST];
	uint64_t n = 0;

	bench_pin(1);
	bench_2t_ready(b);
	while (!bench_2t_stopped(b)) {
		n += sl_ring_dequeue_burst(c->r, out, BENCH_BURST);
		bench_2t_count(b, n);
	}
	while (sl_ring_dequeue_burst(c->r, out, BENCH_BURST))
		;
	return NULL;
}

static pthread_t consumer_th;

static void consumer_launch(struct bench_2t *b)
{
	if (pthread_create(&consumer_th, NULL, ring_2t_consumer, b)) {
		perror("pthread_create");
		exit(1);
	}
}

static void consumer_join(struct bench_2t *b)
{
	(void)b;
	pthread_join(consumer_th, NULL);
}

static double ring_2t(unsigned flags)
{
	struct ring_ctx c;
	struct bench_2t b = { .ctx = &c };
	double rate;
	unsigned i;

	c.r = sl_ring_create(BENCH_RING_SIZE, flags);
	if (!c.r)
		return 0;
	for (i = 0; i < BENCH_BURST; i++)
		c.objs[i] = &c.objs[i];
	rate = bench_2t_run(&b, ring_2t_produce, consumer_launch,
			    consumer_join);
	sl_ring_destroy(c.r);
	return rate;
}

/* ---- pool ------------------------------------------------------------- */

static void pool_body(void *arg)
{
	struct sl_pool *p = arg;
	struct sl_pkt *pkts[BENCH_BURST];

	if (sl_pool_get_bulk(p, pkts, BENCH_BURST) == 0)
		sl_pool_put_bulk(p, pkts, BENCH_BURST);
}

static double pool_bulk(char *note, size_t len)
{
	/* the defaults, like an application's: 4096 buffers, cache 256 */
	struct sl_pool_opts o = { .sz = sizeof(o), .name = "bench" };
	struct sl_pool *p = sl_pool_create(&o);
	struct sl_pkt *pkt;
	double rate;

	if (!p) {
		snprintf(note, len, "pool: %s", sl_last_error());
		return 0;
	}
	if (p->flags & SL_POOL_F_DEBUG)
		snprintf(note, len, "debug pool (SLUICE_DEBUG set?)");
	/* a failed get would be counted as work: make sure it cannot fail */
	pkt = sl_pkt_alloc(p);
	if (!pkt) {
		snprintf(note, len, "pool: empty after create");
		sl_pool_destroy(p);
		return 0;
	}
	sl_pkt_free(pkt);
	rate = bench_loop(pool_body, p, BENCH_BURST);
	sl_pool_destroy(p);
	return rate;
}

/* ---- pair port -------------------------------------------------------- */

struct pair_ctx {
	struct sl_port *end[2];
	struct sl_pkt *hand[BENCH_BURST]; /* packets we hold */
	unsigned n_hand;
	unsigned dir; /* which end sends next */
	uint64_t moved; /* packets received, for a sanity check */
};

/* One hop: send what we hold from one end, receive it at the other. */
static void pair_body(void *arg)
{
	struct pair_ctx *c = arg;
	struct sl_port *tx = c->end[c->dir], *rx = c->end[c->dir ^ 1];
	uint16_t sent, got;

	sent = sl_tx_burst(tx, 0, c->hand, (uint16_t)c->n_hand);
	if (sent < c->n_hand)
		memmove(c->hand, c->hand + sent,
			(c->n_hand - sent) * sizeof(c->hand[0]));
	c->n_hand -= sent;
	got = sl_rx_burst(rx, 0, c->hand + c->n_hand,
			  (uint16_t)(BENCH_BURST - c->n_hand));
	c->n_hand += got;
	c->moved += got;
	c->dir ^= 1;
}

static void pair_drain(struct pair_ctx *c)
{
	struct sl_pkt *pkts[BENCH_BURST];
	unsigned e;
	uint16_t n;

	for (e = 0; e < 2; e++)
		while ((n = sl_rx_burst(c->end[e], 0, pkts, BENCH_BURST)))
			sl_pkt_free_bulk(pkts, n);
	sl_pkt_free_bulk(c->hand, c->n_hand);
	c->n_hand = 0;
}

static double pair_rt(char *note, size_t len)
{
	struct pair_ctx c = { 0 };
	char spec[64];
	double rate;
	unsigned i;

	for (i = 0; i < 2; i++) {
		snprintf(spec, sizeof(spec), "pair:bench-%d/%u", (int)getpid(),
			 i);
		c.end[i] = sl_port_open(spec, NULL);
		if (!c.end[i]) {
			snprintf(note, len, "skipped: %s", sl_last_error());
			if (i)
				sl_port_close(c.end[0]);
			return 0;
		}
	}
	if (sl_pkt_alloc_bulk(sl_port_pool(c.end[0]), c.hand, BENCH_BURST)) {
		snprintf(note, len, "skipped: no buffers in the port's pool");
		rate = 0;
		goto out;
	}
	c.n_hand = BENCH_BURST;
	for (i = 0; i < BENCH_BURST; i++)
		memset(sl_pkt_append(c.hand[i], 64), 0xab, 64);
	rate = bench_loop(pair_body, &c, BENCH_BURST);
	/* a link that drops everything would look fast: check it moved */
	if (c.moved < BENCH_BURST * 10000ull) {
		snprintf(note, len, "only %llu packets moved",
			 (unsigned long long)c.moved);
		rate = 0;
	}
	pair_drain(&c);
out:
	sl_port_close(c.end[0]);
	sl_port_close(c.end[1]);
	return rate;
}

int main(void)
{
	char note[256] = "";

	bench_pin(0);
	if (bench_want("ring_sp_1t"))
		bench_report("ring_sp_1t",
			     ring_1t(SL_RING_SP_ENQ | SL_RING_SC_DEQ), NULL);
	if (bench_want("ring_mp_1t"))
		bench_report("ring_mp_1t", ring_1t(0), NULL);
	if (bench_want("ring_sp_2t"))
		bench_report("ring_sp_2t",
			     ring_2t(SL_RING_SP_ENQ | SL_RING_SC_DEQ), NULL);
	if (bench_want("ring_mp_2t"))
		bench_report("ring_mp_2t", ring_2t(0), NULL);
	if (bench_want("pool_bulk"))
		bench_report("pool_bulk", pool_bulk(note, sizeof(note)), note);
	note[0] = '\0';
	if (bench_want("pair_rt"))
		bench_report("pair_rt", pair_rt(note, sizeof(note)), note);
	return 0;
}
