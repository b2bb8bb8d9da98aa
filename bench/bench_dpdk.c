// SPDX-License-Identifier: MIT
/*
 * DPDK's side of the core benchmarks, row for row the same as
 * bench_sluice.c: rte_ring (one thread, and a producer/consumer pair on two
 * lcores), rte_mempool bulk get+put with a per-lcore cache of 256, and a
 * pair of ring-PMD ports (rte_eth_from_rings), DPDK's in-process link.
 *
 * Built only when libdpdk is installed; DPDK is never a dependency of the
 * library. EAL runs without hugepages, PCI, telemetry or shared files, on
 * lcores 0 (main: producer, single-thread rows) and 1 (consumer).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "bench.h"

/* ---- rings ------------------------------------------------------------ */

struct ring_ctx {
	struct rte_ring *r;
	void *objs[BENCH_BURST];
	void *out[BENCH_BURST];
};

static void ring_1t_body(void *arg)
{
	struct ring_ctx *c = arg;
	unsigned n;

	n = rte_ring_enqueue_burst(c->r, c->objs, BENCH_BURST, NULL);
	rte_ring_dequeue_burst(c->r, c->out, n, NULL);
}

static double ring_1t(const char *name, unsigned flags)
{
	struct ring_ctx c;
	double rate;
	unsigned i;

	c.r = rte_ring_create(name, BENCH_RING_SIZE, SOCKET_ID_ANY, flags);
	if (!c.r)
		return 0;
	for (i = 0; i < BENCH_BURST; i++)
		c.objs[i] = &c.objs[i];
	rate = bench_loop(ring_1t_body, &c, BENCH_BURST);
	rte_ring_free(c.r);
	return rate;
}

static void ring_2t_produce(void *arg)
{
	struct ring_ctx *c = arg;

	rte_ring_enqueue_burst(c->r, c->objs, BENCH_BURST, NULL);
}

static int ring_2t_consumer(void *arg)
{
	struct bench_2t *b = arg;
	struct ring_ctx *c = b->ctx;
	void *out[BENCH_BURST];
	uint64_t n = 0;

	bench_2t_ready(b);
	while (!bench_2t_stopped(b)) {
		n += rte_ring_dequeue_burst(c->r, out, BENCH_BURST, NULL);
		bench_2t_count(b, n);
	}
	while (rte_ring_dequeue_burst(c->r, out, BENCH_BURST, NULL))
		;
	return 0;
}

static unsigned worker_lcore;

static void consumer_launch(struct bench_2t *b)
{
	if (rte_eal_remote_launch(ring_2t_consumer, b, worker_lcore)) {
		fprintf(stderr, "rte_eal_remote_launch failed\n");
		exit(1);
	}
}

static void consumer_join(struct bench_2t *b)
{
	(void)b;
	rte_eal_wait_lcore(worker_lcore);
}

static double ring_2t(const char *name, unsigned flags)
{
	struct ring_ctx c;
	struct bench_2t b = { .ctx = &c };
	double rate;
	unsigned i;

	if (worker_lcore == RTE_MAX_LCORE)
		return 0;
	c.r = rte_ring_create(name, BENCH_RING_SIZE, SOCKET_ID_ANY, flags);
	if (!c.r)
		return 0;
	for (i = 0; i < BENCH_BURST; i++)
		c.objs[i] = &c.objs[i];
	rate = bench_2t_run(&b, ring_2t_produce, consumer_launch,
			    consumer_join);
	rte_ring_free(c.r);
	return rate;
}

/* ---- mempool ---------------------------------------------------------- */

static void pool_body(void *arg)
{
	struct rte_mempool *mp = arg;
	void *objs[BENCH_BURST];

	if (rte_mempool_get_bulk(mp, objs, BENCH_BURST) == 0)
		rte_mempool_put_bulk(mp, objs, BENCH_BURST);
}

static double pool_bulk(char *note, size_t len)
{
	/* as sluice's default pool: 4096 (here 2^12 - 1, DPDK's advice)
	 * buffers of 2048 bytes, cache 256 */
	struct rte_mempool *mp;
	double rate;

	mp = rte_mempool_create("bench", 4095, 2048, 256, 0, NULL, NULL, NULL,
				NULL, SOCKET_ID_ANY, 0);
	if (!mp) {
		snprintf(note, len, "rte_mempool_create: %s",
			 rte_strerror(rte_errno));
		return 0;
	}
	rate = bench_loop(pool_body, mp, BENCH_BURST);
	rte_mempool_free(mp);
	return rate;
}

/* ---- pair of ring-PMD ports ------------------------------------------- */

struct pair_ctx {
	uint16_t end[2];
	struct rte_mbuf *hand[BENCH_BURST];
	unsigned n_hand;
	unsigned dir;
	uint64_t moved;
};

static void pair_body(void *arg)
{
	struct pair_ctx *c = arg;
	uint16_t tx = c->end[c->dir], rx = c->end[c->dir ^ 1];
	uint16_t sent, got;

	sent = rte_eth_tx_burst(tx, 0, c->hand, (uint16_t)c->n_hand);
	if (sent < c->n_hand)
		memmove(c->hand, c->hand + sent,
			(c->n_hand - sent) * sizeof(c->hand[0]));
	c->n_hand -= sent;
	got = rte_eth_rx_burst(rx, 0, c->hand + c->n_hand,
			       (uint16_t)(BENCH_BURST - c->n_hand));
	c->n_hand += got;
	c->moved += got;
	c->dir ^= 1;
}

static int port_start(uint16_t port, struct rte_mempool *mb)
{
	struct rte_eth_conf conf;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) < 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, SOCKET_ID_ANY, NULL, mb) <
		    0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, SOCKET_ID_ANY, NULL) < 0 ||
	    rte_eth_dev_start(port) < 0)
		return -1;
	return 0;
}

static double pair_rt(char *note, size_t len)
{
	struct pair_ctx c = { 0 };
	struct rte_ring *ab, *ba;
	struct rte_mempool *mb;
	int p0, p1;
	double rate;
	unsigned i;

	/* one thread per queue, as with sluice ports: SP/SC rings */
	ab = rte_ring_create("pair_ab", BENCH_RING_SIZE, SOCKET_ID_ANY,
			     RING_F_SP_ENQ | RING_F_SC_DEQ);
	ba = rte_ring_create("pair_ba", BENCH_RING_SIZE, SOCKET_ID_ANY,
			     RING_F_SP_ENQ | RING_F_SC_DEQ);
	mb = rte_pktmbuf_pool_create("pair_mb", 4095, 256, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (!ab || !ba || !mb) {
		snprintf(note, len, "skipped: %s", rte_strerror(rte_errno));
		return 0;
	}
	p0 = rte_eth_from_rings("pair0", &ba, 1, &ab, 1, SOCKET_ID_ANY);
	p1 = rte_eth_from_rings("pair1", &ab, 1, &ba, 1, SOCKET_ID_ANY);
	if (p0 < 0 || p1 < 0 || port_start((uint16_t)p0, mb) ||
	    port_start((uint16_t)p1, mb)) {
		snprintf(note, len, "skipped: ring PMD ports: %s",
			 rte_strerror(rte_errno));
		return 0;
	}
	c.end[0] = (uint16_t)p0;
	c.end[1] = (uint16_t)p1;
	if (rte_pktmbuf_alloc_bulk(mb, c.hand, BENCH_BURST)) {
		snprintf(note, len, "skipped: no mbufs");
		return 0;
	}
	c.n_hand = BENCH_BURST;
	for (i = 0; i < BENCH_BURST; i++)
		memset(rte_pktmbuf_append(c.hand[i], 64), 0xab, 64);
	rate = bench_loop(pair_body, &c, BENCH_BURST);
	if (c.moved < BENCH_BURST * 10000ull) {
		snprintf(note, len, "only %llu packets moved",
			 (unsigned long long)c.moved);
		rate = 0;
	}
	rte_pktmbuf_free_bulk(c.hand, c.n_hand);
	return rate;
}

int main(int argc, char **argv)
{
	/*
	 * No hugepages (ordinary memory), no PCI scan, no telemetry socket,
	 * no files in /var/run: this host's EAL needs nothing set up.
	 */
	char *eal_args[] = {
		argv[0],    "--no-huge",	 "-m",		"256",
		"--no-pci", "--no-telemetry",	 "--no-shconf", "-l",
		"0-1",	    "--log-level=error", NULL
	};
	int eal_argc = (int)(sizeof(eal_args) / sizeof(eal_args[0])) - 1;
	char note[256] = "";

	(void)argc;
	if (rte_eal_init(eal_argc, eal_args) < 0) {
		fprintf(stderr, "bench_dpdk: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	worker_lcore = rte_get_next_lcore(-1, 1, 0);
	if (bench_want("ring_sp_1t"))
		bench_report("ring_sp_1t",
			     ring_1t("sp1", RING_F_SP_ENQ | RING_F_SC_DEQ),
			     NULL);
	if (bench_want("ring_mp_1t"))
		bench_report("ring_mp_1t", ring_1t("mp1", 0), NULL);
	if (bench_want("ring_sp_2t"))
		bench_report("ring_sp_2t",
			     ring_2t("sp2", RING_F_SP_ENQ | RING_F_SC_DEQ),
			     worker_lcore == RTE_MAX_LCORE ? "no second lcore" :
							     NULL);
	if (bench_want("ring_mp_2t"))
		bench_report("ring_mp_2t", ring_2t("mp2", 0), NULL);
	if (bench_want("pool_bulk"))
		bench_report("pool_bulk", pool_bulk(note, sizeof(note)), note);
	note[0] = '\0';
	if (bench_want("pair_rt"))
		bench_report("pair_rt", pair_rt(note, sizeof(note)), note);
	rte_eal_cleanup();
	return 0;
}
