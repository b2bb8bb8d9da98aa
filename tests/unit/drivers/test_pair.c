// SPDX-License-Identifier: MIT
/*
 * The pair driver: frames both ways, several queues, back-pressure at a full
 * ring, a closed end, an end opened twice, bad specs, own pools outliving
 * their port while their packets are in flight, an end reconnecting in a
 * loop; every scenario ends with the pool full.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sltest.h"

#include "core/log.h"

static struct sl_pool *pool;

static int setup(void **state)
{
	(void)state;
	pool = sl_test_pool(4096);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sl_pool_destroy(pool);
	return 0;
}

/* sl_port_opts.flags for open_end */
static unsigned open_flags;

#define SL_ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0]))

static struct sl_port *open_end(const char *name, int end, const char *opts,
				uint32_t ring_size, uint16_t port_id)
{
	struct sl_port_opts o = { .sz = sizeof(o),
				  .pool = pool,
				  .ring_size = ring_size,
				  .port_id = port_id,
				  .flags = open_flags };
	char spec[256];
	struct sl_port *p;

	snprintf(spec, sizeof(spec), "pair:%s/%d%s", name, end, opts);
	p = sl_port_open(spec, &o);
	if (!p)
		fail_msg("%s: %s", spec, sl_last_error());
	return p;
}

/* n frames of len bytes, frame i filled with (seed + i) */
static void make_frames(struct sl_pkt **pkts, unsigned n, uint32_t len,
			unsigned seed)
{
	unsigned i;

	assert_int_equal(sl_pkt_alloc_bulk(pool, pkts, n), 0);
	for (i = 0; i < n; i++) {
		memset(sl_pkt_append(pkts[i], len), (int)(seed + i) & 0xff,
		       len);
	}
}

static void check_frames(struct sl_pkt **pkts, unsigned n, uint32_t len,
			 unsigned seed)
{
	unsigned i, j;

	for (i = 0; i < n; i++) {
		assert_int_equal(pkts[i]->len, len);
		for (j = 0; j < len; j++)
			assert_int_equal(pkts[i]->data[j],
					 (uint8_t)((seed + i) & 0xff));
	}
}

static void test_both_directions(void **state)
{
	struct sl_pkt *tx[16], *rx[32];
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_queue_stats qs = { .sz = sizeof(qs) };
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port *a, *b;
	char name[64];
	uint64_t t0;

	(void)state;
	sl_test_name("pair", name, sizeof(name));
	a = open_end(name, 0, "", 0, 7);
	open_flags = SL_PORT_F_RX_TS; /* b takes receive times, a does not */
	b = open_end(name, 1, "", 0, 9);
	open_flags = 0;
	assert_int_equal(sl_port_info(a, &info), 0);
	assert_string_equal(info.driver, "pair");
	assert_string_equal(info.mode, "ring");
	assert_int_equal(info.n_queues, 1);
	assert_int_equal(info.port_id, 7);
	assert_int_equal(info.state, SL_PORT_UP);
	assert_string_equal(info.decorators, "");
	assert_ptr_equal(sl_port_pool(a), pool);

	/* nothing there yet */
	assert_int_equal(sl_rx_burst(b, 0, rx, 32), 0);

	t0 = sl_time_ns();
	make_frames(tx, 16, 100, 1);
	assert_int_equal(sl_tx_burst(a, 0, tx, 16), 16);
	assert_int_equal(sl_rx_burst(a, 0, rx, 32), 0); /* not a loopback */
	assert_int_equal(sl_rx_burst(b, 0, rx, 32), 16);
	check_frames(rx, 16, 100, 1);
	assert_int_equal(rx[0]->port, 9);
	assert_int_equal(rx[0]->queue, 0);
	assert_true(rx[0]->flags & SL_PKT_F_RX_TS);
	assert_true(rx[0]->rx_ts >= t0);

	/* and back: b forwards what it got */
	assert_int_equal(sl_tx_burst(b, 0, rx, 16), 16);
	assert_int_equal(sl_rx_burst(a, 0, rx, 32), 16);
	check_frames(rx, 16, 100, 1);
	assert_int_equal(rx[3]->port, 7);
	/* b's receive time is not a's */
	assert_false(rx[3]->flags & SL_PKT_F_RX_TS);
	sl_pkt_free_bulk(rx, 16);

	assert_int_equal(sl_port_stats(a, &st), 0);
	assert_int_equal(st.n_queues, 1);
	assert_int_equal(st.tx_packets, 16);
	assert_int_equal(st.tx_bytes, 1600);
	assert_int_equal(st.rx_packets, 16);
	assert_int_equal(st.rx_bytes, 1600);
	assert_int_equal(sl_port_queue_stats(a, 0, &qs), 0);
	assert_int_equal(qs.tx_packets, 16);
	assert_int_equal(st.tx_full, 0);
	/* no driver counters: only the port layer's tx_csum_sw and
	 * tx_csum_unfillable */
	assert_int_equal(sl_port_xstats(a, NULL, 0), 2);

	assert_int_equal(sl_port_close(a), 0);
	assert_int_equal(sl_port_close(b), 0);
	sl_test_pool_full(pool);
}

/*
 * The sender scans a burst for packets whose port, queue or flags the
 * receiver must not see as they are, several packets at a time: whichever
 * packet of a burst of any length needs it, every packet arrives stamped,
 * and the byte counts add up lengths that all differ. Lengths up to 20
 * cover the scan's odd head and two of its 8-packet passes. b's port id 5
 * is 0b101: port 4 lacks one of its bits and only the scan's sum can see
 * it; ports 4 and 1 in one burst OR together to 5, so an OR alone would
 * pass them.
 */
static void test_stamp_any_position(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pkt *tx[20], *rx[20];
	uint64_t bytes = 0, sent_bytes;
	struct sl_port *a, *b;
	unsigned n, bad, i, what;
	char name[64];

	(void)state;
	sl_test_name("pair-stamp", name, sizeof(name));
	a = open_end(name, 0, "", 0, 3);
	b = open_end(name, 1, "", 0, 5);
	for (n = 1; n <= 20; n++) {
		for (bad = 0; bad < n; bad++) {
			for (what = 0; what < 4; what++) {
				assert_int_equal(sl_pkt_alloc_bulk(pool, tx, n),
						 0);
				sent_bytes = 0;
				for (i = 0; i < n; i++) {
					uint32_t len = 60 + 7 * i + bad;

					memset(sl_pkt_append(tx[i], len), 1,
					       len);
					sent_bytes += len;
					/* as if received on b: nothing to
					 * change on the way to b */
					tx[i]->port = 5;
					tx[i]->queue = 0;
					tx[i]->flags = 0;
				}
				if (what == 0)
					tx[bad]->port = 4;
				else if (what == 1)
					tx[bad]->queue = 1;
				else if (what == 2)
					tx[bad]->flags = SL_PKT_RX_CSUM_MASK;
				else {
					tx[bad]->port = 4;
					tx[(bad + 1) % n]->port = 1;
				}
				assert_int_equal(
					sl_tx_burst(a, 0, tx, (uint16_t)n), n);
				assert_int_equal(sl_rx_burst(b, 0, rx, 20), n);
				for (i = 0; i < n; i++) {
					assert_int_equal(rx[i]->port, 5);
					assert_int_equal(rx[i]->queue, 0);
					assert_int_equal(rx[i]->flags, 0);
					assert_int_equal(rx[i]->len,
							 60 + 7 * i + bad);
				}
				sl_pkt_free_bulk(rx, (uint16_t)n);
				bytes += sent_bytes;
			}
		}
	}
	assert_int_equal(sl_port_stats(a, &st), 0);
	assert_int_equal(st.tx_bytes, bytes);
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.rx_bytes, bytes);
	assert_int_equal(sl_port_close(a), 0);
	assert_int_equal(sl_port_close(b), 0);
	sl_test_pool_full(pool);
}

static void test_queues(void **state)
{
	static const uint16_t bad_q[] = { 4, SL_PORT_MAX_QUEUES - 1,
					  SL_PORT_MAX_QUEUES, 65535 };
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_queue_stats qs = { .sz = sizeof(qs) };
	struct sl_pkt *tx[8], *rx[16];
	struct sl_port *a, *b;
	char name[64];
	unsigned i;
	uint16_t q;

	(void)state;
	sl_test_name("pairq", name, sizeof(name));
	a = open_end(name, 0, ",queues=4", 0, 0);
	b = open_end(name, 1, "", 0, 1); /* takes the pair's 4 queues */
	for (q = 0; q < 4; q++) {
		make_frames(tx, 8, 64 + q, q * 10);
		assert_int_equal(sl_tx_burst(a, q, tx, 8), 8);
	}
	for (q = 0; q < 4; q++) {
		assert_int_equal(sl_rx_burst(b, q, rx, 16), 8);
		check_frames(rx, 8, 64 + q, q * 10);
		assert_int_equal(rx[5]->queue, q);
		sl_pkt_free_bulk(rx, 8);
		assert_int_equal(sl_rx_burst(b, q, rx, 16), 0);
	}
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.n_queues, 4);
	assert_int_equal(st.rx_packets, 32);
	assert_int_equal(sl_port_queue_stats(b, 2, &qs), 0);
	assert_int_equal(qs.rx_packets, 8);
	assert_int_equal(qs.rx_bytes, 8 * 66);
	/* a queue the port does not have: no stats; bursts move nothing,
	 * below the queue limit, at it and past it */
	errno = 0;
	assert_int_equal(sl_port_queue_stats(b, 4, &qs), -EINVAL);
	assert_int_equal(errno, EINVAL);
	make_frames(tx, 8, 64, 0);
	for (i = 0; i < SL_ARRAY_SIZE_(bad_q); i++) {
		assert_int_equal(sl_tx_burst(a, bad_q[i], tx, 8), 0);
		assert_int_equal(sl_rx_burst(b, bad_q[i], rx, 16), 0);
	}
	sl_pkt_free_bulk(tx, 8);
	assert_int_equal(sl_port_stats(a, &st), 0);
	assert_int_equal(st.tx_packets, 32);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);

	/* the second end cannot ask for another number */
	sl_test_name("pairq", name, sizeof(name));
	a = open_end(name, 0, ",queues=2", 0, 0);
	{
		struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
		char spec[128], msg[256];

		snprintf(spec, sizeof(spec), "pair:%s/1,queues=3", name);
		assert_null(sl_port_open(spec, &o));
		assert_int_equal(errno, EINVAL);
		snprintf(msg, sizeof(msg),
			 "%s: pair '%s' has 2 queue(s) (set by end 0), not 3",
			 spec, name);
		assert_string_equal(sl_last_error(), msg);
	}
	sl_port_close(a);
	sl_test_pool_full(pool);
}

static void test_backpressure(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pkt *tx[40], *rx[40];
	struct sl_port *a, *b;
	char name[64];

	(void)state;
	sl_test_name("pairbp", name, sizeof(name));
	a = open_end(name, 0, "", 10, 0); /* rounded up to 16 */
	b = open_end(name, 1, "", 10, 0);
	make_frames(tx, 40, 60, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 40), 16);
	/* the caller keeps the rest: nothing lost, nothing taken */
	assert_int_equal(sl_tx_burst(a, 0, tx + 16, 24), 0);
	assert_int_equal(sl_rx_burst(b, 0, rx, 10), 10);
	check_frames(rx, 10, 60, 0);
	sl_pkt_free_bulk(rx, 10);
	assert_int_equal(sl_tx_burst(a, 0, tx + 16, 24), 10);
	assert_int_equal(sl_rx_burst(b, 0, rx, 40), 16);
	check_frames(rx, 16, 60, 10);
	sl_pkt_free_bulk(rx, 16);
	assert_int_equal(sl_tx_burst(a, 0, tx + 26, 14), 14);
	assert_int_equal(sl_rx_burst(b, 0, rx, 40), 14);
	check_frames(rx, 14, 60, 26);
	sl_pkt_free_bulk(rx, 14);

	assert_int_equal(sl_port_stats(a, &st), 0);
	assert_int_equal(st.tx_packets, 40);
	assert_int_equal(st.tx_full, 3); /* 3 bursts cut short */
	assert_int_equal(st.tx_dropped + st.tx_errors, 0);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
}

static void test_end_closed(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pkt *tx[8], *rx[8];
	struct sl_port *a, *b;
	char name[64];

	(void)state;
	sl_test_name("pairc", name, sizeof(name));
	a = open_end(name, 0, "", 0, 0);
	b = open_end(name, 1, "", 0, 0);
	/* in flight towards b when it closes: freed */
	make_frames(tx, 8, 60, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 8), 8);
	sl_port_close(b);
	sl_test_pool_full(pool);

	/* b gone: a's sends are taken, freed and counted as errors */
	make_frames(tx, 8, 60, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 8), 8);
	sl_test_pool_full(pool);
	assert_int_equal(sl_port_stats(a, &st), 0);
	assert_int_equal(st.tx_errors, 8);
	assert_int_equal(st.tx_packets, 8);

	/* b comes back: the link works again, with nothing stale */
	b = open_end(name, 1, "", 0, 0);
	assert_int_equal(sl_rx_burst(b, 0, rx, 8), 0);
	make_frames(tx, 4, 60, 3);
	assert_int_equal(sl_tx_burst(a, 0, tx, 4), 4);
	assert_int_equal(sl_rx_burst(b, 0, rx, 8), 4);
	check_frames(rx, 4, 60, 3);
	sl_pkt_free_bulk(rx, 4);

	/* in flight towards a from b, a closes, then b: all freed */
	make_frames(tx, 5, 60, 0);
	assert_int_equal(sl_tx_burst(b, 0, tx, 5), 5);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);

	/* and the name is free again: both ends can be opened */
	a = open_end(name, 0, "", 0, 0);
	b = open_end(name, 1, "", 0, 0);
	sl_port_close(b);
	sl_port_close(a);
	sl_test_pool_full(pool);
}

static void test_already_open_and_bad_specs(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	struct sl_port *a;
	char name[64], spec[128], msg[256];

	(void)state;
	sl_test_name("pairdup", name, sizeof(name));
	a = open_end(name, 0, "", 0, 0);
	snprintf(spec, sizeof(spec), "pair:%s/0", name);
	assert_null(sl_port_open(spec, &o));
	assert_int_equal(errno, EBUSY);
	snprintf(msg, sizeof(msg), "%s: end 0 of pair '%s' is already open",
		 spec, name);
	assert_string_equal(sl_last_error(), msg);
	sl_port_close(a);

	assert_null(sl_port_open("pair:x", &o));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(sl_last_error(),
			    "pair:x: expected pair:NAME/0 or pair:NAME/1");
	assert_null(sl_port_open("pair:x/2", &o));
	assert_string_equal(sl_last_error(),
			    "pair:x/2: bad end '2' (expected pair:NAME/0 or "
			    "pair:NAME/1)");
	assert_null(sl_port_open("pair:x/", &o));
	assert_string_equal(sl_last_error(),
			    "pair:x/: bad end '' (expected pair:NAME/0 or "
			    "pair:NAME/1)");
	assert_null(sl_port_open("pair:/0", &o));
	assert_string_equal(sl_last_error(),
			    "pair:/0: empty pair name before '/'");
	assert_null(sl_port_open("pair:x/00", &o));
	assert_null(sl_port_open("pair:x/0,write", &o));
	assert_string_equal(
		sl_last_error(),
		"pair:x/0,write: option 'write' not taken by driver "
		"pair");
	/* a failed open leaves nothing behind: the name is still free */
	a = sl_port_open("pair:x/0", &o);
	assert_non_null(a);
	sl_port_close(a);
	sl_test_pool_full(pool);

	/* opts must say their size */
	{
		struct sl_port_opts z = { .pool = pool };

		assert_null(sl_port_open("pair:x/0", &z));
		assert_int_equal(errno, EINVAL);
	}
}

/* Ports with their own pools: packets in flight from an end that closes
 * stay valid until the other end has read them. */
static void test_own_pools(void **state)
{
	struct sl_pkt *tx[5], *rx[8];
	struct sl_port *a, *b;
	char name[64], spec[128];
	unsigned i;

	(void)state;
	sl_test_name("pairown", name, sizeof(name));
	snprintf(spec, sizeof(spec), "pair:%s/0", name);
	a = sl_port_open(spec, NULL);
	assert_non_null(a);
	snprintf(spec, sizeof(spec), "pair:%s/1", name);
	b = sl_port_open(spec, NULL);
	assert_non_null(b);
	assert_int_equal(sl_pool_capacity(sl_port_pool(a)), 4096);

	assert_int_equal(sl_pkt_alloc_bulk(sl_port_pool(a), tx, 5), 0);
	for (i = 0; i < 5; i++)
		memset(sl_pkt_append(tx[i], 80), 0x40 + (int)i, 80);
	assert_int_equal(sl_tx_burst(a, 0, tx, 5), 5);
	sl_port_close(a);
	assert_int_equal(sl_rx_burst(b, 0, rx, 8), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(rx[i]->len, 80);
		assert_int_equal(rx[i]->data[79], 0x40 + i);
	}
	sl_pkt_free_bulk(rx, 5);
	sl_port_close(b);

	/* the same, closing the receiving end last with packets unread */
	snprintf(spec, sizeof(spec), "pair:%s/0", name);
	a = sl_port_open(spec, NULL);
	snprintf(spec, sizeof(spec), "pair:%s/1", name);
	b = sl_port_open(spec, NULL);
	assert_int_equal(sl_pkt_alloc_bulk(sl_port_pool(a), tx, 5), 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 5), 5);
	sl_port_close(a);
	sl_port_close(b);
}

/* Without SL_PORT_F_RX_TS a port stamps no receive time, unless it
 * captures (the capture file needs them) or is asked to later. */
static void test_rx_ts_opt_in(void **state)
{
	struct sl_pkt *tx[4], *rx[8];
	struct sl_port *a, *b;
	char name[64], file[256], opts[300];
	uint64_t t0;
	uint16_t q;

	(void)state;
	sl_test_name("pairts", name, sizeof(name));
	a = open_end(name, 0, "", 0, 0);
	b = open_end(name, 1, "", 0, 0);
	make_frames(tx, 4, 60, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 4), 4);
	assert_int_equal(sl_rx_burst(b, 0, rx, 8), 4);
	assert_false(rx[0]->flags & SL_PKT_F_RX_TS);
	sl_pkt_free_bulk(rx, 4);
	sl_port_close(b);

	sl_test_tmpfile("pairts.pcap", file, sizeof(file));
	snprintf(opts, sizeof(opts), ",capture=%s", file);
	b = open_end(name, 1, opts, 0, 0);
	make_frames(tx, 4, 60, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 4), 4);
	assert_int_equal(sl_rx_burst(b, 0, rx, 8), 4);
	assert_true(rx[3]->flags & SL_PKT_F_RX_TS);
	sl_pkt_free_bulk(rx, 4);
	sl_port_close(b);
	sl_port_close(a);

	/* turned on in use, on every queue (the port switches the receive
	 * it calls) */
	sl_test_name("pairts2", name, sizeof(name));
	a = open_end(name, 0, ",queues=2", 0, 0);
	b = open_end(name, 1, "", 0, 0);
	for (q = 0; q < 2; q++) {
		make_frames(tx, 2, 60, 0);
		assert_int_equal(sl_tx_burst(a, q, tx, 2), 2);
		assert_int_equal(sl_rx_burst(b, q, rx, 8), 2);
		assert_false(rx[1]->flags & SL_PKT_F_RX_TS);
		sl_pkt_free_bulk(rx, 2);
	}
	t0 = sl_time_ns();
	assert_int_equal(sl_port_rx_ts_on(b), 0);
	for (q = 0; q < 2; q++) {
		make_frames(tx, 2, 60, 0);
		assert_int_equal(sl_tx_burst(a, q, tx, 2), 2);
		assert_int_equal(sl_rx_burst(b, q, rx, 8), 2);
		assert_true(rx[1]->flags & SL_PKT_F_RX_TS);
		assert_true(rx[1]->rx_ts >= t0);
		sl_pkt_free_bulk(rx, 2);
	}
	sl_port_close(b);
	sl_port_close(a);
	sl_test_pool_full(pool);
}

/*
 * Receive counters count a packet when it lands in the end's queue (its
 * sender counts it in), as a NIC counts what reaches its receive ring:
 * before any receive, whatever the receiver's burst sizes then. A reopened
 * end counts from zero, and what was left for the closed one is not its.
 */
static void test_rx_counts(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_queue_stats qs = { .sz = sizeof(qs) };
	struct sl_pkt *tx[16], *rx[16];
	struct sl_port *a, *b;
	char name[64];
	unsigned i;

	(void)state;
	sl_test_name("pairby", name, sizeof(name));
	a = open_end(name, 0, "", 0, 0);
	b = open_end(name, 1, "", 0, 0);
	make_frames(tx, 8, 100, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 8), 8);
	make_frames(tx, 8, 60, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 8), 8);
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.rx_packets, 16);
	assert_int_equal(st.rx_bytes, 8 * 100 + 8 * 60);
	assert_int_equal(sl_port_queue_stats(b, 0, &qs), 0);
	assert_int_equal(qs.rx_packets, 16);
	assert_int_equal(qs.rx_bytes, 1280);
	/* taken in three bursts that stop inside the sent ones: no change */
	assert_int_equal(sl_rx_burst(b, 0, rx, 3), 3);
	assert_int_equal(sl_rx_burst(b, 0, rx + 3, 7), 7);
	assert_int_equal(sl_rx_burst(b, 0, rx + 10, 16), 6);
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.rx_packets, 16);
	assert_int_equal(st.rx_bytes, 1280);
	for (i = 0; i < 16; i++)
		assert_int_equal(rx[i]->len, i < 8 ? 100 : 60);
	sl_pkt_free_bulk(rx, 16);
	make_frames(tx, 4, 50, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 4), 4);
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.rx_packets, 20);
	assert_int_equal(st.rx_bytes, 1480);
	/* two left for b when it closes: freed, and not the new b's */
	make_frames(tx, 2, 70, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 2), 2);
	sl_port_close(b);
	b = open_end(name, 1, "", 0, 0);
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.rx_packets, 0);
	assert_int_equal(st.rx_bytes, 0);
	make_frames(tx, 1, 90, 0);
	assert_int_equal(sl_tx_burst(a, 0, tx, 1), 1);
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.rx_packets, 1);
	assert_int_equal(st.rx_bytes, 90);
	assert_int_equal(sl_rx_burst(b, 0, rx, 16), 1);
	assert_int_equal(rx[0]->len, 90);
	sl_pkt_free(rx[0]);
	/* the sender's own counters are its sends, all of them */
	assert_int_equal(sl_port_stats(a, &st), 0);
	assert_int_equal(st.tx_packets, 23);
	assert_int_equal(st.tx_bytes, 1280 + 200 + 140 + 90);
	assert_int_equal(st.rx_packets, 0);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
}

/* Resident memory of this process, in bytes. */
static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* One life of a reconnecting end: open b with its own pool of n_bufs,
 * send n frames numbered from *seq towards the other end, close b with
 * them in flight. */
static void reconnect_once(const char *name, uint32_t n_bufs, unsigned n,
			   uint32_t *seq)
{
	struct sl_port_opts o = { .sz = sizeof(o), .n_bufs = n_bufs };
	struct sl_pkt *pkts[8];
	struct sl_port *b;
	char spec[128];
	unsigned i, k = 0;

	snprintf(spec, sizeof(spec), "pair:%s/1", name);
	b = sl_port_open(spec, &o);
	assert_non_null(b);
	while (sl_pkt_alloc_bulk(sl_port_pool(b), pkts, n) != 0)
		; /* the other thread still holds some (threaded test) */
	for (i = 0; i < n; i++) {
		uint32_t v = (*seq)++;

		memcpy(sl_pkt_append(pkts[i], 64), &v, sizeof(v));
	}
	while (k < n)
		k += sl_tx_burst(b, 0, pkts + k, (uint16_t)(n - k));
	sl_port_close(b);
}

/* a receives up to n frames and checks they continue *seq. */
static unsigned receive_in_order(struct sl_port *a, unsigned n, uint32_t *seq,
				 unsigned *bad)
{
	struct sl_pkt *rx[8];
	uint16_t got = sl_rx_burst(a, 0, rx, (uint16_t)SL_MIN(n, 8u));
	unsigned i;

	for (i = 0; i < got; i++) {
		uint32_t v;

		memcpy(&v, rx[i]->data, sizeof(v));
		if (v != (*seq)++)
			(*bad)++;
	}
	sl_pkt_free_bulk(rx, got);
	return got;
}

/* RSS says nothing under ASan: freed memory waits in its quarantine
 * (256 MB by default), so there the loop checks the frames and the pool,
 * not the memory. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANS_SOMETHING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MEANS_SOMETHING 0
#endif
#endif
#ifndef RSS_MEANS_SOMETHING
#define RSS_MEANS_SOMETHING 1
#endif

/* An end that reconnects 10000 times while the other stays open: the
 * pools its ports made are reused, not piled up (memory stays flat), and
 * the frames in flight at each close all arrive, once. */
static void test_reconnect_loop(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o), .n_bufs = 64 };
	uint32_t sent = 0, seen = 0;
	uint64_t rss0 = 0;
	struct sl_port *a, *b;
	unsigned i, bad = 0;
	char name[64], spec[128];

	(void)state;
	sl_test_name("pairre", name, sizeof(name));
	a = open_end(name, 0, "", 1024, 0);
	for (i = 0; i < 10000; i++) {
		struct sl_pkt *late;

		/* a frame towards b that b never reads: freed at b's close */
		assert_int_equal(sl_pkt_alloc_bulk(pool, &late, 1), 0);
		reconnect_once(name, 64, 4, &sent);
		/* b is closed now: a's frame is an error, freed by tx */
		assert_int_equal(sl_tx_burst(a, 0, &late, 1), 1);
		assert_int_equal(receive_in_order(a, 8, &seen, &bad), 4);
		if (i == 100)
			rss0 = rss_bytes();
		/* each leaked pool would be ~130 KiB: stop long before the
		 * machine notices */
		if (RSS_MEANS_SOMETHING && i > 100 && i % 1000 == 0 &&
		    rss_bytes() > rss0 + 16 * 1024 * 1024)
			fail_msg("RSS grew from %llu to %llu bytes after %u "
				 "reconnects",
				 (unsigned long long)rss0,
				 (unsigned long long)rss_bytes(), i);
	}
	assert_int_equal(bad, 0);
	assert_int_equal(seen, 40000);
	assert_true(!RSS_MEANS_SOMETHING ||
		    rss_bytes() < rss0 + 16 * 1024 * 1024);

	/* the next b gets the one pool all those frames went back to */
	snprintf(spec, sizeof(spec), "pair:%s/1", name);
	b = sl_port_open(spec, &o);
	assert_non_null(b);
	sl_pool_cache_flush(sl_port_pool(b));
	sl_test_pool_full(sl_port_pool(b));
	sl_port_close(b);
	sl_port_close(a);
	sl_pool_cache_flush(pool);
	sl_test_pool_full(pool);
}

/* The same with the two ends on two threads: a receives and frees into
 * the pool while b's thread closes, reopens and adopts it (the
 * ThreadSanitizer run checks the hand-over). The pools are larger than a
 * thread's cache, so that what a frees does not all stay in a's cache. */
struct reconnector {
	const char *name;
	unsigned rounds;
	uint32_t sent;
};

static void *reconnector(void *arg)
{
	struct reconnector *r = arg;
	unsigned i;

	for (i = 0; i < r->rounds; i++)
		reconnect_once(r->name, 1024, 4, &r->sent);
	return NULL;
}

static void test_reconnect_threads(void **state)
{
	struct reconnector r = { .rounds = 2000 };
	uint32_t seen = 0;
	struct sl_port *a;
	unsigned bad = 0;
	char name[64];
	pthread_t t;

	(void)state;
	sl_test_name("pairrt", name, sizeof(name));
	r.name = name;
	a = open_end(name, 0, "", 1024, 0);
	assert_int_equal(pthread_create(&t, NULL, reconnector, &r), 0);
	while (seen < 4 * r.rounds)
		receive_in_order(a, 4 * r.rounds - seen, &seen, &bad);
	pthread_join(t, NULL);
	assert_int_equal(bad, 0);
	assert_int_equal(r.sent, 4 * r.rounds);
	sl_port_close(a);
}

/* Two threads, one per end: the ring under real concurrency. */
struct flow {
	struct sl_port *port;
	unsigned n;
	unsigned bad;
};

static void *sender(void *arg)
{
	struct flow *f = arg;
	struct sl_pkt *pkts[32];
	unsigned sent = 0;

	while (sent < f->n) {
		unsigned want = SL_MIN(32u, f->n - sent), i, k = 0;

		if (sl_pkt_alloc_bulk(pool, pkts, want) != 0)
			continue;
		for (i = 0; i < want; i++) {
			uint32_t seq = sent + i;

			memcpy(sl_pkt_append(pkts[i], 64), &seq, sizeof(seq));
		}
		while (k < want)
			k += sl_tx_burst(f->port, 0, pkts + k,
					 (uint16_t)(want - k));
		sent += want;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct sl_pkt *rx[64];
	struct flow f;
	struct sl_port *a, *b;
	pthread_t t;
	char name[64];
	unsigned got = 0, i;

	(void)state;
	sl_test_name("pairmt", name, sizeof(name));
	a = open_end(name, 0, "", 64, 0);
	b = open_end(name, 1, "", 64, 0);
	f = (struct flow){ .port = a, .n = 200000 };
	assert_int_equal(pthread_create(&t, NULL, sender, &f), 0);
	while (got < f.n) {
		uint16_t n = sl_rx_burst(b, 0, rx, 64);

		for (i = 0; i < n; i++) {
			uint32_t seq;

			memcpy(&seq, rx[i]->data, sizeof(seq));
			if (seq != got + i)
				f.bad++;
		}
		sl_pkt_free_bulk(rx, n);
		got += n;
	}
	pthread_join(t, NULL);
	assert_int_equal(f.bad, 0);
	assert_int_equal(sl_rx_burst(b, 0, rx, 64), 0);
	sl_port_close(a);
	sl_port_close(b);
	sl_pool_cache_flush(pool);
	sl_test_pool_full(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_directions),
		cmocka_unit_test(test_queues),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_end_closed),
		cmocka_unit_test(test_already_open_and_bad_specs),
		cmocka_unit_test(test_own_pools),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_rx_ts_opt_in),
		cmocka_unit_test(test_rx_counts),
		cmocka_unit_test(test_stamp_any_position),
		cmocka_unit_test(test_reconnect_loop),
		cmocka_unit_test(test_reconnect_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
