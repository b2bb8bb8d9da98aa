// SPDX-License-Identifier: MIT
/*
 * Multi-buffer frames on xdp ports (root only; skipped otherwise): a veth
 * bed with an MTU of 9000 on both ends, side A a plain kernel host, side B
 * the port. Checked here: datagrams of 3000, 4096 and 8000 bytes from a
 * kernel socket arrive whole, as one packet each, payload and UDP checksum
 * right (the test sums them), in native and generic mode, with UMEM chunks
 * of 2048 and 4096 bytes; the port sends them back, 8000 bytes in several
 * descriptors, and the socket gets them intact; the counters say so. With
 * mb=off the port opens with a chunk's limit, says so, and counts what it
 * cannot take or send. A packet of several chunks held when the port closes
 * stays valid. After every scenario the pool has every buffer back.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common.h"

#define PORT 7310
#define MTU 9000

static struct tb bed;
static struct sl_pool *pool;

static int teardown(void **state)
{
	(void)state;
	tb_enter(NULL, TB_HOME);
	if (pool)
		sl_pool_destroy(pool);
	pool = NULL;
	tb_down(&bed);
	return 0;
}

/* The bed with MTU 9000 on both ends, A's checksum and segmentation
 * offloads off (so that its datagrams carry a whole UDP checksum, and
 * reach B's native XDP: veth runs it only for frames it may GRO), and a
 * pool of buf_size buffers for the port. */
static void bed_up(uint32_t buf_size)
{
	struct tb_opts o = { .sz = sizeof(o) };
	struct sl_pool_opts po = { .sz = sizeof(po),
				   .n_bufs = 4096,
				   .buf_size = buf_size,
				   .flags = SL_POOL_F_DEBUG,
				   .name = "test-mb" };
	char cmd[192];

	if (geteuid() != 0)
		sl_test_skip("needs root: AF_XDP, BPF and network namespaces");
	itest_bed_up(&bed, &o);
	snprintf(cmd, sizeof(cmd), "ip link set dev %s mtu %d",
		 bed.end[0].ifname, MTU);
	assert_int_equal(tb_run(&bed, TB_A, cmd), 0);
	snprintf(cmd, sizeof(cmd), "ip link set dev %s mtu %d",
		 bed.end[1].ifname, MTU);
	assert_int_equal(tb_run(&bed, TB_B, cmd), 0);
	snprintf(cmd, sizeof(cmd),
		 "ethtool -K %s tx off tso off gso off >/dev/null",
		 bed.end[0].ifname);
	if (tb_run(&bed, TB_A, cmd) != 0)
		sl_test_skip("ethtool could not turn offloads off on the peer");
	pool = sl_pool_create(&po);
	if (!pool)
		fail_msg("sl_pool_create: %s", sl_last_error());
}

static struct sl_port *open_b(const char *opts)
{
	struct sl_port_opts po = { .sz = sizeof(po), .pool = pool };
	struct sl_port *port;
	char spec[256];

	snprintf(spec, sizeof(spec), "xdp:%s,match=udp:%d%s", bed.end[1].ifname,
		 PORT, opts);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	port = sl_port_open(spec, &po);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	if (!port)
		fail_msg("open %s: %s", spec, sl_last_error());
	return port;
}

static void fill(uint8_t *b, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

static int send_dgram(int fd, int v6, const void *b, size_t len)
{
	struct sockaddr_in to4 = { .sin_family = AF_INET,
				   .sin_port = htons(PORT),
				   .sin_addr = bed.end[1].ip4 };
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons(PORT),
				    .sin6_addr = bed.end[1].ip6 };

	return (int)(v6 ? sendto(fd, b, len, 0, (struct sockaddr *)&to6,
				 sizeof(to6)) :
			  sendto(fd, b, len, 0, (struct sockaddr *)&to4,
				 sizeof(to4)));
}

/* The UDP header's offset in frame f, checked as a kernel datagram to
 * PORT of ulen bytes (header included). */
static size_t udp_at(const uint8_t *f, int v6, size_t ulen)
{
	size_t l4 = v6 ? 14 + 40 : 14 + (size_t)(f[14] & 0xf) * 4;

	assert_int_equal(f[12] << 8 | f[13], v6 ? 0x86dd : 0x0800);
	assert_int_equal(f[v6 ? 14 + 6 : 14 + 9], IPPROTO_UDP);
	assert_int_equal(f[l4 + 2] << 8 | f[l4 + 3], PORT);
	assert_int_equal(f[l4 + 4] << 8 | f[l4 + 5], ulen);
	return l4;
}

/* The UDP checksum of the datagram at l4, summed by the test: the field
 * must be what the sum over the pseudo-header and the datagram gives. */
static void check_udp_csum(uint8_t *f, int v6, size_t l4, size_t ulen)
{
	uint16_t have, want;

	memcpy(&have, f + l4 + 6, 2);
	f[l4 + 6] = f[l4 + 7] = 0;
	want = v6 ? sl_ipv6_l4_csum((const struct sl_ipv6_hdr *)(f + 14),
				    IPPROTO_UDP, f + l4, (uint32_t)ulen) :
		    sl_ipv4_l4_csum((const struct sl_ipv4_hdr *)(f + 14),
				    IPPROTO_UDP, f + l4, (uint32_t)ulen);
	memcpy(f + l4 + 6, &have, 2);
	assert_int_equal(have, want);
}

/* Swap the frame's MACs, addresses and ports; the checksum stays right
 * (every swap keeps the one's complement sum). */
static void turn_around(uint8_t *f, int v6, size_t l4)
{
	size_t alen = v6 ? 16 : 4, src = 14 + (v6 ? 8 : 12);
	uint8_t t[16];

	memcpy(t, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, t, 6);
	memcpy(t, f + src, alen);
	memcpy(f + src, f + src + alen, alen);
	memcpy(f + src + alen, t, alen);
	memcpy(t, f + l4, 2);
	memcpy(f + l4, f + l4 + 2, 2);
	memcpy(f + l4 + 2, t, 2);
}

/*
 * A kernel socket in A sends a datagram of len bytes; the port gets it
 * whole in one packet, checks it, sends it back, and the socket gets it
 * intact. Returns whether the packet spanned UMEM chunks (it came in a
 * buffer of another pool than the port's).
 */
static int echo(struct sl_port *port, int fd, int v6, size_t len, unsigned seed)
{
	static uint8_t out[MTU], back[MTU];
	struct sl_pkt *p;
	size_t l4;
	int spanned;
	ssize_t n;

	fill(out, len, seed);
	assert_int_equal(send_dgram(fd, v6, out, len), len);
	p = sl_test_rx_one(port, 0, 2000);
	if (!p)
		fail_msg("%zu bytes: nothing received (steer_matched %llu, "
			 "xsk_rx_dropped %llu, rx_mb_invalid %llu)",
			 len,
			 (unsigned long long)sl_test_xstat(port,
							   "steer_matched"),
			 (unsigned long long)sl_test_xstat(port,
							   "xsk_rx_dropped"),
			 (unsigned long long)sl_test_xstat(port,
							   "rx_mb_invalid"));
	l4 = udp_at(p->data, v6, len + 8);
	assert_int_equal(p->len, l4 + 8 + len);
	assert_memory_equal(p->data + l4 + 8, out, len);
	check_udp_csum(p->data, v6, l4, len + 8);
	spanned = p->pool != pool;
	turn_around(p->data, v6, l4);
	assert_int_equal(sl_tx_burst(port, 0, &p, 1), 1);
	assert_true(itest_wait(fd, 2000));
	n = recv(fd, back, sizeof(back), 0);
	assert_int_equal(n, len);
	assert_memory_equal(back, out, len);
	return spanned;
}

/* 3000, 4096 and 8000 bytes over IPv4, 8000 over IPv6, on a port opened
 * with opts; chunk is the pool's buffer size. */
static void three_sizes(const char *opts, uint32_t chunk)
{
	static const size_t sizes[] = { 3000, 4096, 8000 };
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port_info info = { .sz = sizeof(info) };
	uint64_t spanned = 0, bytes = 0;
	struct sl_port *port;
	int fd4, fd6;
	unsigned i;

	bed_up(chunk);
	port = open_b(opts);
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_int_equal(sl_test_xstat(port, "multi_buffer"), 1);
	assert_true(info.max_frame >= MTU + 14);
	assert_int_equal(sl_test_xstat(port, "max_frame"), info.max_frame);
	fd4 = itest_udp_bound(&bed, TB_A, 0, 41100);
	fd6 = itest_udp_bound(&bed, TB_A, 1, 41101);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t frame = 14 + 20 + 8 + sizes[i];

		/* a frame spans chunks exactly when it is longer than one */
		assert_int_equal(echo(port, fd4, 0, sizes[i], i),
				 frame > chunk - SL_PKT_META - SL_PKT_HEADROOM);
		spanned += frame > chunk - SL_PKT_META - SL_PKT_HEADROOM;
		bytes += frame;
	}
	assert_int_equal(echo(port, fd6, 1, 8000, 9), 1);
	spanned++;
	bytes += 14 + 40 + 8 + 8000;
	close(fd4);
	close(fd6);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_int_equal(st.rx_packets, 4);
	assert_int_equal(st.rx_bytes, bytes);
	assert_int_equal(st.tx_packets, 4);
	assert_int_equal(st.tx_bytes, bytes);
	assert_int_equal(st.rx_invalid, 0);
	assert_int_equal(st.rx_dropped, 0);
	assert_int_equal(st.tx_dropped, 0);
	assert_int_equal(sl_test_xstat(port, "rx_mb_frames"), spanned);
	assert_int_equal(sl_test_xstat(port, "tx_mb_frames"), spanned);
	assert_int_equal(sl_test_xstat(port, "rx_mb_invalid"), 0);
	assert_int_equal(sl_test_xstat(port, "xsk_rx_dropped"), 0);
	assert_int_equal(sl_port_close(port), 0);
	sl_test_pool_full(pool);
}

static void test_native_2048(void **state)
{
	(void)state;
	three_sizes(",mode=copy-native", 2048);
}

static void test_native_4096(void **state)
{
	(void)state;
	three_sizes(",mode=copy-native", 4096);
}

static void test_generic_4096(void **state)
{
	(void)state;
	three_sizes(",mode=copy-generic", 4096);
}

/* mb=off: a chunk per frame, as before multi-buffer; what does not fit is
 * counted, never handed over in pieces. */
static void test_mb_off(void **state)
{
	static uint8_t b[8000];
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pool_opts po = { .sz = sizeof(po),
				   .n_bufs = 64,
				   .buf_size = 16384,
				   .name = "test-big" };
	struct sl_pool *big;
	struct sl_port *port;
	struct sl_pkt *p;
	int fd;

	(void)state;
	bed_up(4096);
	port = open_b(",mode=copy-native,mb=off");
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_int_equal(sl_test_xstat(port, "multi_buffer"), 0);
	assert_int_equal(info.max_frame, 4096 - SL_PKT_META - SL_PKT_HEADROOM);
	fd = itest_udp_bound(&bed, TB_A, 0, 41102);
	/* one that fits still goes both ways */
	assert_int_equal(echo(port, fd, 0, 3000, 1), 0);
	/* one that does not: the kernel drops it, counted there */
	fill(b, sizeof(b), 2);
	assert_int_equal(send_dgram(fd, 0, b, sizeof(b)), sizeof(b));
	assert_null(sl_test_rx_one(port, 0, 300));
	assert_true(sl_test_xstat(port, "xsk_rx_dropped") >= 1);
	/* and one too long to send is taken and dropped, counted */
	big = sl_pool_create(&po);
	assert_non_null(big);
	p = sl_pkt_alloc(big);
	assert_non_null(p);
	assert_int_equal(sl_pkt_set(p, b, sizeof(b)), 0);
	assert_int_equal(sl_tx_burst(port, 0, &p, 1), 1);
	assert_int_equal(sl_test_xstat(port, "tx_too_long"), 1);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_int_equal(st.tx_dropped, 1);
	assert_int_equal(sl_pool_avail(big), sl_pool_capacity(big));
	close(fd);
	assert_int_equal(sl_port_close(port), 0);
	sl_pool_destroy(big);
	sl_test_pool_full(pool);
}

/* A multi-buffer packet still held when its port closes stays valid. */
static void test_held_past_close(void **state)
{
	static uint8_t b[8000];
	struct sl_port *port;
	struct sl_pkt *p;
	size_t l4;
	int fd;

	(void)state;
	bed_up(2048);
	port = open_b(",mode=copy-native");
	fd = itest_udp_bound(&bed, TB_A, 0, 41103);
	fill(b, sizeof(b), 3);
	assert_int_equal(send_dgram(fd, 0, b, sizeof(b)), sizeof(b));
	p = sl_test_rx_one(port, 0, 2000);
	assert_non_null(p);
	assert_ptr_not_equal(p->pool, pool);
	assert_int_equal(sl_port_close(port), 0);
	l4 = udp_at(p->data, 0, sizeof(b) + 8);
	assert_memory_equal(p->data + l4 + 8, b, sizeof(b));
	sl_pkt_free(p);
	close(fd);
	sl_test_pool_full(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_native_2048, teardown),
		cmocka_unit_test_teardown(test_native_4096, teardown),
		cmocka_unit_test_teardown(test_generic_4096, teardown),
		cmocka_unit_test_teardown(test_mb_off, teardown),
		cmocka_unit_test_teardown(test_held_past_close, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
