// SPDX-License-Identifier: MIT
/*
 * Decorators over pair ports: faults are deterministic for a seed, happen
 * at about the rate asked, are all counted, and each kind is observable;
 * tx through a fault decorator over a tiny ring loses nothing; a capture
 * file read back with libpcap holds what the application sent and received,
 * in order. Every scenario ends with the pool full.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static struct sl_port *open_end(const char *name, int end, const char *opts,
				uint32_t ring_size)
{
	struct sl_port_opts o = { .sz = sizeof(o),
				  .pool = pool,
				  .ring_size = ring_size };
	char spec[512];
	struct sl_port *p;

	snprintf(spec, sizeof(spec), "pair:%s/%d%s", name, end, opts);
	p = sl_port_open(spec, &o);
	if (!p)
		fail_msg("%s: %s", spec, sl_last_error());
	return p;
}

static uint32_t seq_of(const struct sl_pkt *p)
{
	uint32_t s;

	memcpy(&s, p->data + 14, sizeof(s));
	return s;
}

/* Send frames first..first+n-1 (64 bytes, seq at offset 14) from a. */
static void send_seq(struct sl_port *a, uint32_t first, unsigned n)
{
	struct sl_pkt *pkts[64];
	unsigned done = 0;

	while (done < n) {
		unsigned k = SL_MIN(64u, n - done), i, sent = 0;

		assert_int_equal(sl_pkt_alloc_bulk(pool, pkts, k), 0);
		for (i = 0; i < k; i++) {
			uint8_t *d = sl_pkt_append(pkts[i], 64);
			uint32_t s = first + done + i;

			memset(d, 0xee, 64);
			memcpy(d + 14, &s, sizeof(s));
		}
		sent = sl_tx_burst(a, 0, pkts, (uint16_t)k);
		assert_int_equal(sent, k);
		done += k;
	}
}

/* Receive everything waiting on b (bursts of 32), recording sequence
 * numbers in seqs (up to max); returns how many frames came. */
static unsigned recv_all(struct sl_port *b, uint32_t *seqs, unsigned max)
{
	struct sl_pkt *pkts[32];
	unsigned got = 0, i, idle = 0;

	/* a couple of empty bursts: held frames come out at the latest on
	 * the next call */
	while (idle < 2) {
		uint16_t n = sl_rx_burst(b, 0, pkts, 32);

		idle = n ? 0 : idle + 1;
		for (i = 0; i < n; i++, got++)
			if (got < max)
				seqs[got] = seq_of(pkts[i]);
		sl_pkt_free_bulk(pkts, n);
	}
	return got;
}

/* Run n frames through a port with the given fault options on the rx side;
 * return how many came out, with their sequence numbers in seqs. */
static unsigned run_rx_faults(const char *opts, unsigned n, uint32_t *seqs,
			      unsigned max, uint64_t *dropped)
{
	struct sl_port *a, *b;
	char name[64];
	unsigned got = 0, done = 0;

	sl_test_name("deco", name, sizeof(name));
	a = open_end(name, 0, "", 1024);
	b = open_end(name, 1, opts, 1024);
	while (done < n) {
		unsigned k = SL_MIN(512u, n - done);

		send_seq(a, done, k);
		done += k;
		got += recv_all(b, seqs + SL_MIN(got, max),
				max - SL_MIN(got, max));
	}
	if (dropped)
		*dropped = sl_test_xstat(b, "fault_dropped");
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
	return got;
}

static void test_drop_rate(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port *a, *b;
	uint32_t *seqs = calloc(10000, sizeof(*seqs));
	char name[64];
	unsigned got = 0, done = 0, i;
	uint64_t dropped;

	(void)state;
	sl_test_name("drop", name, sizeof(name));
	a = open_end(name, 0, "", 1024);
	b = open_end(name, 1, ",fault=drop:0.1,seed=42", 1024);
	while (done < 10000) {
		send_seq(a, done, 500);
		done += 500;
		got += recv_all(b, seqs + got, 10000 - got);
	}
	dropped = sl_test_xstat(b, "fault_dropped");
	/* every frame is delivered or counted, and about 10% dropped */
	assert_int_equal(got + dropped, 10000);
	assert_true(dropped > 850 && dropped < 1150);
	assert_int_equal(sl_test_xstat(b, "fault_duplicated"), 0);
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.rx_dropped, dropped);
	assert_int_equal(st.rx_packets, 10000);
	/* in order, no duplicates */
	for (i = 1; i < got; i++)
		assert_true(seqs[i] > seqs[i - 1]);
	/* the sender was not touched: faults on b only (a has just the
	 * port layer's two checksum counters) */
	assert_int_equal(sl_port_xstats(a, NULL, 0), 2);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
	free(seqs);
}

static void test_deterministic(void **state)
{
	const char *opts = ",fault=drop:0.2,dup:0.1,reorder:0.1,seed=9";
	uint32_t *s1 = calloc(4000, sizeof(uint32_t));
	uint32_t *s2 = calloc(4000, sizeof(uint32_t));
	uint32_t *s3 = calloc(4000, sizeof(uint32_t));
	unsigned n1, n2, n3;
	uint64_t d1, d2;

	(void)state;
	n1 = run_rx_faults(opts, 3000, s1, 4000, &d1);
	n2 = run_rx_faults(opts, 3000, s2, 4000, &d2);
	assert_int_equal(n1, n2);
	assert_int_equal(d1, d2);
	assert_memory_equal(s1, s2, n1 * sizeof(uint32_t));
	/* another seed: other faults */
	n3 = run_rx_faults(",fault=drop:0.2,dup:0.1,reorder:0.1,seed=10", 3000,
			   s3, 4000, NULL);
	assert_true(n3 != n1 || memcmp(s1, s3, n1 * sizeof(uint32_t)) != 0);
	free(s1);
	free(s2);
	free(s3);
}

static void test_dup(void **state)
{
	struct sl_port *a, *b;
	uint32_t seqs[3000];
	char name[64];
	unsigned got, i, dups = 0;

	(void)state;
	sl_test_name("dup", name, sizeof(name));
	a = open_end(name, 0, "", 1024);
	b = open_end(name, 1, ",fault=dup:0.5", 1024);
	send_seq(a, 0, 1000);
	got = recv_all(b, seqs, 3000);
	assert_int_equal(got, 1000 + sl_test_xstat(b, "fault_duplicated"));
	assert_true(got > 1350 && got < 1650);
	/* a copy comes right after its original */
	for (i = 1; i < got; i++) {
		if (seqs[i] == seqs[i - 1])
			dups++;
		else
			assert_int_equal(seqs[i], seqs[i - 1] + 1);
	}
	assert_int_equal(dups, got - 1000);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
}

static void test_reorder(void **state)
{
	struct sl_port *a, *b;
	uint32_t seqs[1000];
	bool seen[1000] = { false };
	char name[64];
	unsigned got, i, swaps = 0;
	uint64_t reordered;

	(void)state;
	sl_test_name("reorder", name, sizeof(name));
	a = open_end(name, 0, "", 1024);
	b = open_end(name, 1, ",fault=reorder:0.2", 1024);
	send_seq(a, 0, 1000);
	got = recv_all(b, seqs, 1000);
	reordered = sl_test_xstat(b, "fault_reordered");
	/* nothing lost or made up: a permutation of 0..999 */
	assert_int_equal(got, 1000);
	for (i = 0; i < got; i++) {
		assert_true(seqs[i] < 1000);
		assert_false(seen[seqs[i]]);
		seen[seqs[i]] = true;
	}
	/* each held frame lets exactly one other overtake it */
	for (i = 1; i < got; i++)
		if (seqs[i] < seqs[i - 1]) {
			assert_int_equal(seqs[i] + 1, seqs[i - 1]);
			swaps++;
		}
	assert_true(reordered > 100);
	assert_true(swaps == reordered || swaps + 1 == reordered);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
}

static void test_corrupt(void **state)
{
	struct sl_pkt *pkts[64];
	struct sl_port *a, *b;
	char name[64];
	unsigned i, j;

	(void)state;
	sl_test_name("corrupt", name, sizeof(name));
	a = open_end(name, 0, "", 1024);
	b = open_end(name, 1, ",fault=corrupt:1", 1024);
	send_seq(a, 0, 64);
	assert_int_equal(sl_rx_burst(b, 0, pkts, 64), 64);
	for (i = 0; i < 64; i++) {
		uint8_t want[64];
		uint32_t s = i;
		unsigned bits = 0;

		memset(want, 0xee, 64);
		memcpy(want + 14, &s, sizeof(s));
		assert_int_equal(pkts[i]->len, 64);
		for (j = 0; j < 64; j++)
			bits += (unsigned)__builtin_popcount(pkts[i]->data[j] ^
							     want[j]);
		assert_int_equal(bits, 1); /* exactly one bit flipped */
		assert_true(pkts[i]->flags & SL_PKT_F_FAULT_CORRUPT);
	}
	sl_pkt_free_bulk(pkts, 64);
	assert_int_equal(sl_test_xstat(b, "fault_corrupted"), 64);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
}

static void test_direction(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port *a, *b;
	uint32_t seqs[100];
	char name[64];

	(void)state;
	sl_test_name("dir", name, sizeof(name));
	a = open_end(name, 0, "", 1024);
	b = open_end(name, 1, ",fault=drop:1,dir:tx", 1024);
	/* b receives untouched */
	send_seq(a, 0, 100);
	assert_int_equal(recv_all(b, seqs, 100), 100);
	/* b's sends are all dropped, taken and counted */
	send_seq(b, 0, 100);
	assert_int_equal(recv_all(a, seqs, 100), 0);
	assert_int_equal(sl_test_xstat(b, "fault_dropped"), 100);
	assert_int_equal(sl_port_stats(b, &st), 0);
	assert_int_equal(st.tx_dropped, 100);
	assert_int_equal(st.tx_packets, 0);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);

	a = open_end(name, 0, ",fault=drop:1,dir:rx", 1024);
	b = open_end(name, 1, "", 1024);
	send_seq(a, 0, 10);
	assert_int_equal(recv_all(b, seqs, 100), 10);
	send_seq(b, 0, 10);
	assert_int_equal(recv_all(a, seqs, 100), 0);
	assert_int_equal(sl_test_xstat(a, "fault_dropped"), 10);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
}

/* Faults on tx over a ring of 8: the sender sees back-pressure, the
 * receiver gets every frame (and the copies), in the end nothing leaks. */
static void test_tx_backpressure(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pkt *pkts[32], *rx[16];
	bool *seen = calloc(5000, sizeof(bool));
	struct sl_port *a, *b;
	char name[64];
	unsigned next = 0, got = 0, short_bursts = 0, i, idle = 0;
	uint64_t dups;

	(void)state;
	sl_test_name("txbp", name, sizeof(name));
	a = open_end(name, 0, ",fault=dup:0.3,reorder:0.3,seed=3", 8);
	b = open_end(name, 1, "", 8);
	while (next < 5000) {
		unsigned k = SL_MIN(32u, 5000 - next), sent;

		assert_int_equal(sl_pkt_alloc_bulk(pool, pkts, k), 0);
		for (i = 0; i < k; i++) {
			uint32_t s = next + i;

			memcpy(sl_pkt_append(pkts[i], 64) + 14, &s, 4);
		}
		sent = sl_tx_burst(a, 0, pkts, (uint16_t)k);
		if (sent < k)
			short_bursts++;
		/* what was not taken is still ours */
		sl_pkt_free_bulk(pkts + sent, k - sent);
		next += sent;
		uint16_t n = sl_rx_burst(b, 0, rx, 5);

		for (i = 0; i < n; i++)
			seen[seq_of(rx[i])] = true;
		sl_pkt_free_bulk(rx, n);
		got += n;
	}
	/* drain: empty tx bursts push the backlog out */
	while (idle < 3) {
		uint16_t n;

		sl_tx_burst(a, 0, NULL, 0);
		n = sl_rx_burst(b, 0, rx, 16);
		for (i = 0; i < n; i++)
			seen[seq_of(rx[i])] = true;
		sl_pkt_free_bulk(rx, n);
		got += n;
		idle = n ? 0 : idle + 1;
	}
	dups = sl_test_xstat(a, "fault_duplicated");
	assert_true(short_bursts > 0);
	assert_true(dups > 0);
	assert_int_equal(got, 5000 + dups);
	for (i = 0; i < 5000; i++)
		assert_true(seen[i]);
	assert_int_equal(sl_port_stats(a, &st), 0);
	assert_int_equal(st.tx_packets, 5000 + dups);
	assert_int_equal(st.tx_dropped + st.tx_errors, 0);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
	free(seen);
}

/* Packets held by decorators at close go back to the pool. */
static void test_close_frees_held(void **state)
{
	struct sl_pkt *pkts[32];
	struct sl_port *a, *b;
	char name[64];
	unsigned i;

	(void)state;
	sl_test_name("held", name, sizeof(name));
	a = open_end(name, 0, ",fault=dup:1,reorder:0.5", 4);
	b = open_end(name, 1, ",fault=dup:1,reorder:1", 4);
	/* a's tx backlog fills up behind the ring of 4 */
	assert_int_equal(sl_pkt_alloc_bulk(pool, pkts, 32), 0);
	for (i = 0; i < 32; i++)
		sl_pkt_append(pkts[i], 60);
	i = sl_tx_burst(a, 0, pkts, 32);
	assert_true(i > 0);
	sl_pkt_free_bulk(pkts + i, 32 - i);
	/* b holds one back and has dups waiting for a larger burst */
	assert_int_equal(sl_rx_burst(b, 0, pkts, 1), 1);
	sl_pkt_free(pkts[0]);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);
}

static void test_capture(void **state)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	char name[64], file[256], opts[300], err[PCAP_ERRBUF_SIZE];
	struct sl_pkt *pkts[8];
	struct sl_port *a, *b;
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *pc;
	uint64_t last = 0;
	unsigned i;
	/* the order the application saw: a sends 0..4, receives 100..102,
	 * sends 5 */
	const uint32_t order[] = { 0, 1, 2, 3, 4, 100, 101, 102, 5 };

	(void)state;
	sl_test_name("cap", name, sizeof(name));
	sl_test_tmpfile("cap.pcap", file, sizeof(file));
	snprintf(opts, sizeof(opts), ",capture=%s", file);
	a = open_end(name, 0, opts, 1024);
	b = open_end(name, 1, "", 1024);
	assert_int_equal(sl_port_info(a, &info), 0);
	assert_string_equal(info.decorators, "capture");

	send_seq(a, 0, 5);
	send_seq(b, 100, 3);
	assert_int_equal(sl_rx_burst(a, 0, pkts, 8), 3);
	assert_int_equal(seq_of(pkts[2]), 102);
	sl_pkt_free_bulk(pkts, 3);
	send_seq(a, 5, 1);
	assert_int_equal(sl_rx_burst(b, 0, pkts, 8), 6);
	sl_pkt_free_bulk(pkts, 6);
	assert_int_equal(sl_test_xstat(a, "capture_frames"), 9);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);

	pc = pcap_open_offline_with_tstamp_precision(
		file, PCAP_TSTAMP_PRECISION_NANO, err);
	assert_non_null(pc);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	for (i = 0; i < SL_ARRAY_SIZE(order); i++) {
		uint64_t t;
		uint32_t s;

		assert_int_equal(pcap_next_ex(pc, &h, &d), 1);
		assert_int_equal(h->len, 64);
		assert_int_equal(h->caplen, 64);
		memcpy(&s, d + 14, 4);
		assert_int_equal(s, order[i]);
		assert_int_equal(d[0], 0xee);
		t = (uint64_t)h->ts.tv_sec * 1000000000ull +
		    (uint64_t)h->ts.tv_usec;
		assert_true(t >= last);
		assert_true(h->ts.tv_sec > 1600000000); /* wall clock */
		last = t;
	}
	assert_int_equal(pcap_next_ex(pc, &h, &d), PCAP_ERROR_BREAK);
	pcap_close(pc);
}

/* Capture and faults together: the capture shows what the application
 * received, after the faults. */
static void test_capture_with_faults(void **state)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	char name[64], file[256], opts[300], err[PCAP_ERRBUF_SIZE];
	uint32_t seqs[200];
	struct sl_port *a, *b;
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned got, i;
	pcap_t *pc;

	(void)state;
	sl_test_name("capf", name, sizeof(name));
	sl_test_tmpfile("capf.pcap", file, sizeof(file));
	snprintf(opts, sizeof(opts), ",capture=%s,fault=drop:0.3,dup:0.2",
		 file);
	a = open_end(name, 0, "", 1024);
	b = open_end(name, 1, opts, 1024);
	assert_int_equal(sl_port_info(b, &info), 0);
	assert_string_equal(info.decorators, "capture,fault");
	send_seq(a, 0, 100);
	got = recv_all(b, seqs, 200);
	assert_int_equal(got, 100 - sl_test_xstat(b, "fault_dropped") +
				      sl_test_xstat(b, "fault_duplicated"));
	assert_int_equal(sl_test_xstat(b, "capture_frames"), got);
	sl_port_close(a);
	sl_port_close(b);
	sl_test_pool_full(pool);

	pc = pcap_open_offline(file, err);
	assert_non_null(pc);
	for (i = 0; i < got; i++) {
		uint32_t s;

		assert_int_equal(pcap_next_ex(pc, &h, &d), 1);
		memcpy(&s, d + 14, 4);
		assert_int_equal(s, seqs[i]);
	}
	assert_int_equal(pcap_next_ex(pc, &h, &d), PCAP_ERROR_BREAK);
	pcap_close(pc);
}

static void open_bad(const char *opts, const char *what)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	char spec[300], msg[400];

	snprintf(spec, sizeof(spec), "pair:bad/0%s", opts);
	errno = 0;
	assert_null(sl_port_open(spec, &o));
	assert_int_not_equal(errno, 0);
	snprintf(msg, sizeof(msg), "%s: %s", spec, what);
	assert_string_equal(sl_last_error(), msg);
}

static void test_bad_options(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	struct sl_port *p;

	(void)state;
	open_bad(",fault=drop:x",
		 "fault: bad probability 'x' for drop (expected a number from "
		 "0 to 1)");
	open_bad(",fault=drop:1.5", "fault: bad probability '1.5' for drop "
				    "(expected a number from 0 to 1)");
	open_bad(",fault=foo:0.1", "fault: unknown fault 'foo' (known: drop, "
				   "dup, reorder, corrupt, dir)");
	open_bad(",fault=drop:0.1,dup", "fault: 'dup' needs a value (dup:P)");
	open_bad(",fault=drop:0.1,drop:0.2", "fault: 'drop' given twice");
	open_bad(",fault=dir:up", "fault: bad dir 'up' (expected rx, tx or "
				  "both)");
	open_bad(",capture=/nonexistent-dir/x.pcap",
		 "capture: cannot write '/nonexistent-dir/x.pcap': No such "
		 "file or directory");
	/* nothing was left open by the failures */
	p = sl_port_open("pair:bad/0", &o);
	assert_non_null(p);
	sl_port_close(p);
	sl_test_pool_full(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_rate),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_tx_backpressure),
		cmocka_unit_test(test_close_frees_held),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_capture_with_faults),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
