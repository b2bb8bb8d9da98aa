// SPDX-License-Identifier: MIT
/*
 * The pcap driver: record then replay byte for byte, a truncated file, a
 * pcapng file, files that must be refused (not Ethernet, not a capture),
 * frames larger than a buffer; the pool full after every scenario.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sltest.h"

#include "core/log.h"

static struct sl_pool *pool;

static int setup(void **state)
{
	(void)state;
	pool = sl_test_pool(1024);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sl_pool_destroy(pool);
	return 0;
}

static struct sl_port *open_spec(bool write, const char *file)
{
	struct sl_port_opts o = { .sz = sizeof(o),
				  .pool = pool,
				  .flags = SL_PORT_F_RX_TS };
	char spec[512];
	struct sl_port *p;

	snprintf(spec, sizeof(spec), "pcap:%s%s", file, write ? ",write" : "");
	p = sl_port_open(spec, &o);
	if (!p)
		fail_msg("%s: %s", spec, sl_last_error());
	return p;
}

static uint32_t frame_len(unsigned i)
{
	return 60 + (i * 37) % 1455; /* 60..1514 */
}

static void fill(uint8_t *d, uint32_t len, unsigned i)
{
	uint32_t j;

	for (j = 0; j < len; j++)
		d[j] = (uint8_t)(i * 7 + j);
}

/* Record n frames to file through a write port. */
static void record(const char *file, unsigned n)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port *w = open_spec(true, file);
	struct sl_pkt *pkts[16], *rx[4];
	unsigned i = 0;

	assert_int_equal(sl_port_info(w, &info), 0);
	assert_string_equal(info.mode, "write");
	assert_string_equal(info.name, file);
	assert_int_equal(sl_rx_burst(w, 0, rx, 4), 0);
	while (i < n) {
		unsigned k = SL_MIN(16u, n - i), j;

		assert_int_equal(sl_pkt_alloc_bulk(pool, pkts, k), 0);
		for (j = 0; j < k; j++)
			fill(sl_pkt_append(pkts[j], frame_len(i + j)),
			     frame_len(i + j), i + j);
		assert_int_equal(sl_tx_burst(w, 0, pkts, (uint16_t)k), k);
		i += k;
	}
	assert_int_equal(sl_port_stats(w, &st), 0);
	assert_int_equal(st.tx_packets, n);
	sl_port_close(w);
	sl_test_pool_full(pool);
}

/* Replay file, checking it gives frames 0..n-1; returns the port (at EOF). */
static struct sl_port *replay(const char *file, unsigned n)
{
	struct sl_port *r = open_spec(false, file);
	struct sl_pkt *pkts[32];
	uint8_t want[2048];
	unsigned got = 0, i;
	uint16_t k;

	while ((k = sl_rx_burst(r, 0, pkts, 32)) > 0) {
		for (i = 0; i < k; i++, got++) {
			assert_true(got < n);
			assert_int_equal(pkts[i]->len, frame_len(got));
			fill(want, frame_len(got), got);
			assert_memory_equal(pkts[i]->data, want,
					    frame_len(got));
			assert_true(pkts[i]->flags & SL_PKT_F_RX_TS);
		}
		sl_pkt_free_bulk(pkts, k);
	}
	assert_int_equal(got, n);
	sl_test_pool_full(pool);
	return r;
}

static void test_record_replay(void **state)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_xstat xs[8];
	struct sl_pkt *pkts[4];
	char file[256];
	struct sl_port *r;
	int n, i;

	(void)state;
	sl_test_tmpfile("rr.pcap", file, sizeof(file));
	record(file, 300);
	r = replay(file, 300);
	assert_int_equal(sl_port_info(r, &info), 0);
	assert_string_equal(info.driver, "pcap");
	assert_string_equal(info.mode, "read");
	assert_int_equal(info.state, SL_PORT_EOF);
	assert_string_equal(info.error, "");
	assert_int_equal(sl_port_stats(r, &st), 0);
	assert_int_equal(st.rx_packets, 300);
	n = sl_port_xstats(r, xs, 8);
	assert_int_equal(n, 5); /* 2 of the port layer, 3 of the driver */
	for (i = 0; i < n; i++) {
		if (!strcmp(xs[i].name, "pcap_eof"))
			assert_int_equal(xs[i].value, 1);
		if (!strcmp(xs[i].name, "pcap_frames"))
			assert_int_equal(xs[i].value, 300);
	}
	/* at EOF rx stays 0; a replay port takes and drops what it is sent */
	assert_int_equal(sl_rx_burst(r, 0, pkts, 4), 0);
	assert_int_equal(sl_pkt_alloc_bulk(pool, pkts, 2), 0);
	assert_int_equal(sl_tx_burst(r, 0, pkts, 2), 2);
	assert_int_equal(sl_port_stats(r, &st), 0);
	assert_int_equal(st.tx_dropped, 2);
	sl_port_close(r);
	sl_test_pool_full(pool);

	/* the file is an ordinary nanosecond pcap libpcap reads */
	{
		char err[PCAP_ERRBUF_SIZE];
		pcap_t *pc = pcap_open_offline_with_tstamp_precision(
			file, PCAP_TSTAMP_PRECISION_NANO, err);
		struct pcap_pkthdr *h;
		const u_char *d;

		assert_non_null(pc);
		assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
		assert_int_equal(pcap_get_tstamp_precision(pc),
				 PCAP_TSTAMP_PRECISION_NANO);
		assert_int_equal(pcap_next_ex(pc, &h, &d), 1);
		assert_int_equal(h->len, frame_len(0));
		assert_true(h->ts.tv_sec > 1600000000); /* wall clock */
		pcap_close(pc);
	}
}

static void test_truncated(void **state)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	char file[256];
	struct sl_port *r;
	off_t cut = 24; /* file header */
	unsigned i;

	(void)state;
	sl_test_tmpfile("trunc.pcap", file, sizeof(file));
	record(file, 10);
	/* cut in the middle of frame 7's data */
	for (i = 0; i < 7; i++)
		cut += 16 + frame_len(i);
	cut += 16 + 10;
	assert_int_equal(truncate(file, cut), 0);
	r = replay(file, 7);
	assert_int_equal(sl_port_info(r, &info), 0);
	assert_int_equal(info.state, SL_PORT_EOF);
	assert_non_null(strstr(info.error, "truncated dump file"));
	sl_port_close(r);

	/* cut in a record header */
	cut = 24 + 16 + frame_len(0) + 5;
	assert_int_equal(truncate(file, cut), 0);
	r = replay(file, 1);
	assert_int_equal(sl_port_info(r, &info), 0);
	assert_int_equal(info.state, SL_PORT_EOF);
	assert_non_null(strstr(info.error, "truncated"));
	sl_port_close(r);
	sl_test_pool_full(pool);
}

static void put32(FILE *f, uint32_t v)
{
	assert_int_equal(fwrite(&v, 4, 1, f), 1);
}

static void put16(FILE *f, uint16_t v)
{
	assert_int_equal(fwrite(&v, 2, 1, f), 1);
}

/* A pcapng file (host byte order, as the format allows): section header,
 * one Ethernet interface, n enhanced packet blocks with frames 0..n-1. */
static void write_pcapng(const char *file, unsigned n, uint16_t linktype)
{
	FILE *f = fopen(file, "wb");
	uint8_t buf[2048];
	unsigned i;

	assert_non_null(f);
	put32(f, 0x0a0d0d0a); /* SHB */
	put32(f, 28);
	put32(f, 0x1a2b3c4d);
	put16(f, 1);
	put16(f, 0);
	put32(f, 0xffffffff); /* section length unknown */
	put32(f, 0xffffffff);
	put32(f, 28);
	put32(f, 1); /* IDB */
	put32(f, 20);
	put16(f, linktype);
	put16(f, 0);
	put32(f, 65535);
	put32(f, 20);
	for (i = 0; i < n; i++) {
		uint32_t len = frame_len(i), pad = (4 - len % 4) % 4;

		put32(f, 6); /* EPB */
		put32(f, 32 + len + pad);
		put32(f, 0); /* interface */
		put32(f, 0); /* timestamp high, low */
		put32(f, i);
		put32(f, len);
		put32(f, len);
		fill(buf, len, i);
		memset(buf + len, 0, pad);
		assert_int_equal(fwrite(buf, 1, len + pad, f), len + pad);
		put32(f, 32 + len + pad);
	}
	assert_int_equal(fclose(f), 0);
}

static void test_pcapng(void **state)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	char file[256], spec[300];
	struct sl_port *r;

	(void)state;
	sl_test_tmpfile("ng.pcapng", file, sizeof(file));
	write_pcapng(file, 20, 1 /* LINKTYPE_ETHERNET */);
	r = replay(file, 20);
	assert_int_equal(sl_port_info(r, &info), 0);
	assert_int_equal(info.state, SL_PORT_EOF);
	assert_string_equal(info.error, "");
	sl_port_close(r);

	/* not Ethernet: refused at open */
	write_pcapng(file, 1, 101 /* LINKTYPE_RAW */);
	snprintf(spec, sizeof(spec), "pcap:%s", file);
	assert_null(sl_port_open(spec, &o));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "is not Ethernet: only "
						"DLT_EN10MB files can be "
						"replayed"));
	assert_memory_equal(sl_last_error(), spec, strlen(spec));
	sl_test_pool_full(pool);
}

static void test_not_ethernet(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	char file[256], spec[300], msg[1024];
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *d;
	struct pcap_pkthdr h = { .caplen = 20, .len = 20 };
	uint8_t ip[20] = { 0x45 };

	(void)state;
	sl_test_tmpfile("raw.pcap", file, sizeof(file));
	d = pcap_dump_open(dead, file);
	assert_non_null(d);
	pcap_dump((u_char *)d, &h, ip);
	pcap_dump_close(d);
	pcap_close(dead);

	snprintf(spec, sizeof(spec), "pcap:%s", file);
	assert_null(sl_port_open(spec, &o));
	assert_int_equal(errno, EINVAL);
	snprintf(msg, sizeof(msg),
		 "%s: link type RAW (%d) is not Ethernet: only DLT_EN10MB "
		 "files can be replayed",
		 spec, DLT_RAW);
	assert_string_equal(sl_last_error(), msg);
	sl_test_pool_full(pool);
}

static void test_refused(void **state)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	char file[256], spec[300], msg[1024];
	FILE *f;

	(void)state;
	sl_test_tmpfile("garbage.pcap", file, sizeof(file));
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("this is not a capture file at all, just some words\n", f);
	fclose(f);
	snprintf(spec, sizeof(spec), "pcap:%s", file);
	assert_null(sl_port_open(spec, &o));
	snprintf(msg, sizeof(msg), "%s: cannot read '%s': unknown file format",
		 spec, file);
	assert_string_equal(sl_last_error(), msg);

	/* an empty file */
	f = fopen(file, "w");
	fclose(f);
	assert_null(sl_port_open(spec, &o));
	assert_memory_equal(sl_last_error(), spec, strlen(spec));

	sl_test_tmpfile("missing.pcap", file, sizeof(file));
	snprintf(spec, sizeof(spec), "pcap:%s", file);
	assert_null(sl_port_open(spec, &o));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(sl_last_error(), "No such file"));

	assert_null(sl_port_open("pcap:/nonexistent-dir/x.pcap,write", &o));
	assert_string_equal(sl_last_error(),
			    "pcap:/nonexistent-dir/x.pcap,write: cannot write "
			    "'/nonexistent-dir/x.pcap': No such file or "
			    "directory");
	assert_null(sl_port_open("pcap:x.pcap,write=1", &o));
	assert_string_equal(
		sl_last_error(),
		"pcap:x.pcap,write=1: option 'write' takes no value "
		"(use pcap:FILE,write)");
	assert_null(sl_port_open("pcap:x.pcap,write,queues=2", &o));
	assert_string_equal(sl_last_error(),
			    "pcap:x.pcap,write,queues=2: the pcap driver has "
			    "one queue, not 2");
	sl_test_pool_full(pool);
}

/* A frame larger than the replay pool's buffers is counted, not delivered. */
static void test_big_frame(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pool_opts po = { .sz = sizeof(po),
				   .n_bufs = 8,
				   .buf_size = 4096,
				   .flags = SL_POOL_F_DEBUG };
	struct sl_pool *big = sl_pool_create(&po);
	struct sl_port_opts o = { .sz = sizeof(o), .pool = big };
	struct sl_pkt *pkts[3];
	char file[256], spec[300];
	struct sl_port *w, *r;
	uint32_t lens[3] = { 100, 3000, 200 }, i;

	(void)state;
	assert_non_null(big);
	sl_test_tmpfile("big.pcap", file, sizeof(file));
	snprintf(spec, sizeof(spec), "pcap:%s,write", file);
	w = sl_port_open(spec, &o);
	assert_non_null(w);
	assert_int_equal(sl_pkt_alloc_bulk(big, pkts, 3), 0);
	for (i = 0; i < 3; i++)
		memset(sl_pkt_append(pkts[i], lens[i]), (int)i, lens[i]);
	assert_int_equal(sl_tx_burst(w, 0, pkts, 3), 3);
	sl_port_close(w);
	sl_test_pool_full(big);
	sl_pool_destroy(big);

	r = open_spec(false, file);
	assert_int_equal(sl_rx_burst(r, 0, pkts, 3), 2);
	assert_int_equal(pkts[0]->len, 100);
	assert_int_equal(pkts[1]->len, 200);
	assert_int_equal(pkts[1]->data[0], 2);
	sl_pkt_free_bulk(pkts, 2);
	assert_int_equal(sl_port_stats(r, &st), 0);
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(st.rx_packets, 2);
	sl_port_close(r);
	sl_test_pool_full(pool);
}

/* An empty pool stalls the replay without losing a frame. */
static void test_nombuf(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pkt *hold[1024], *pkts[8];
	char file[256];
	struct sl_port *r;
	unsigned n = sl_pool_avail(pool);

	(void)state;
	sl_test_tmpfile("nombuf.pcap", file, sizeof(file));
	record(file, 5);
	r = open_spec(false, file);
	assert_int_equal(sl_pkt_alloc_bulk(pool, hold, n - 2), 0);
	assert_int_equal(sl_rx_burst(r, 0, pkts, 8), 2);
	assert_int_equal(sl_rx_burst(r, 0, pkts + 2, 8), 0);
	assert_int_equal(sl_port_stats(r, &st), 0);
	assert_true(st.rx_nombuf >= 1);
	sl_pkt_free_bulk(hold, n - 2);
	assert_int_equal(sl_rx_burst(r, 0, pkts + 2, 8), 3);
	assert_int_equal(pkts[2]->len, frame_len(2));
	assert_int_equal(pkts[4]->len, frame_len(4));
	sl_pkt_free_bulk(pkts, 5);
	sl_port_close(r);
	sl_test_pool_full(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_replay),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_pcapng),
		cmocka_unit_test(test_not_ethernet),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_big_frame),
		cmocka_unit_test(test_nombuf),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
