// SPDX-License-Identifier: MIT
/*
 * Unit tests for the udp driver, unprivileged, on loopback only: frames
 * between two udp ports and between a udp port and a plain kernel socket
 * (IPv4 and IPv6), a flood into a small receiver, a peer that vanishes and
 * comes back, frames that cannot be sent, oversized datagrams, an empty
 * pool, and bad specs; busy_poll: with CAP_NET_ADMIN the socket carries
 * SO_BUSY_POLL and frames flow as without, and without it (dropped in a
 * child when running as root) the port still opens, lists the refusal and
 * moves frames; GSO runs on send; GRO on receive: runs a kernel socket
 * sends with UDP_SEGMENT come out datagram by datagram, cut across
 * bursts, with the pool running dry in the middle of a run, and the same
 * with gro=off. Every scenario ends with the pool full again. One file
 * over 800 lines: every scenario uses the same kernel-socket helpers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sltest.h"

#include "drivers/udp/udp.h"
#include "port/busy_poll.h"

#define WAIT_MS 2000

static struct sl_port *open_port(const char *spec, struct sl_pool *pool)
{
	struct sl_port_opts o = { .sz = sizeof(o),
				  .pool = pool,
				  .flags = SL_PORT_F_RX_TS };
	struct sl_port *port = sl_port_open(spec, &o);

	if (!port)
		fail_msg("sl_port_open(%s): %s", spec, sl_last_error());
	return port;
}

static struct sl_addr port_addr(struct sl_port *port)
{
	struct sl_port_info info = { .sz = sizeof(info) };

	assert_int_equal(sl_port_info(port, &info), 0);
	return info.addr;
}

static struct sl_port_stats port_stats(struct sl_port *port)
{
	struct sl_port_stats st = { .sz = sizeof(st) };

	assert_int_equal(sl_port_stats(port, &st), 0);
	return st;
}

/* A UDP frame from src to dst in a fresh packet of pool. */
static struct sl_pkt *udp_frame(struct sl_pool *pool, const struct sl_addr *src,
				const struct sl_addr *dst, const void *payload,
				size_t len)
{
	struct sl_udp_params p = { .src = *src, .dst = *dst };
	struct sl_pkt *pkt = sl_pkt_alloc(pool);
	int n;

	assert_non_null(pkt);
	n = sl_udp_build(pkt->data, sl_pkt_tailroom(pkt), &p, payload, len);
	assert_true(n > 0);
	pkt->len = (uint32_t)n;
	return pkt;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed);
}

/* Receive until want frames arrived or WAIT_MS passed; returns how many. */
static unsigned rx_wait(struct sl_port *port, struct sl_pkt **pkts,
			unsigned want)
{
	unsigned got = 0;

	for (int t = 0; t < WAIT_MS && got < want; t++) {
		got += sl_rx_burst(port, 0, pkts + got,
				   (uint16_t)(want - got < 64 ? want - got :
								64));
		if (got < want)
			usleep(1000);
	}
	return got;
}

static void sleep_ms(unsigned ms)
{
	usleep(ms * 1000);
}

/* A plain kernel UDP socket bound to addr (port 0: any); *bound gets the
 * address. -1 when the family is not available here. */
static int ksock(const char *addr, struct sl_addr *bound)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct sl_addr a;
	int fd;

	assert_int_equal(sl_addr_parse(addr, false, &a), 0);
	fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (a.family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = a.v6;
		s6->sin6_port = htons(a.port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr = a.v4;
		s4->sin_port = htons(a.port);
		sl = sizeof(*s4);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		close(fd);
		return -1;
	}
	sl = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*bound = a;
	if (a.family == AF_INET6)
		bound->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		bound->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static socklen_t to_ss(const struct sl_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = a->v6;
		s6->sin6_port = htons(a->port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_addr = a->v4;
	s4->sin_port = htons(a->port);
	return sizeof(*s4);
}

static void ksend(int fd, const struct sl_addr *to, const void *b, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_ss(to, &ss);

	assert_int_equal(sendto(fd, b, n, 0, (struct sockaddr *)&ss, sl),
			 (ssize_t)n);
}

static ssize_t krecv(int fd, void *b, size_t n, struct sl_addr *from)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t r;

	if (poll(&pfd, 1, WAIT_MS) != 1)
		return -1;
	r = recvfrom(fd, b, n, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
	if (r >= 0 && from) {
		memset(from, 0, sizeof(*from));
		from->family = ss.ss_family;
		if (ss.ss_family == AF_INET6) {
			from->v6 = ((struct sockaddr_in6 *)&ss)->sin6_addr;
			from->port =
				ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		} else {
			from->v4 = ((struct sockaddr_in *)&ss)->sin_addr;
			from->port =
				ntohs(((struct sockaddr_in *)&ss)->sin_port);
		}
	}
	return r;
}

/* A received frame carries payload from src to dst, with valid headers. */
static void check_rx_frame(const struct sl_pkt *pkt, const struct sl_addr *src,
			   const struct sl_addr *dst, const void *payload,
			   size_t len)
{
	struct sl_frame f;
	uint16_t port;

	assert_int_equal(sl_frame_parse(pkt->data, pkt->len, &f), 0);
	assert_int_equal(f.l4_proto, SL_IPPROTO_UDP);
	assert_int_equal(f.payload_len, len);
	assert_memory_equal(pkt->data + f.payload_off, payload, len);
	assert_int_equal(sl_frame_verify_csum(pkt->data, &f), 0);
	assert_true(pkt->flags & SL_PKT_F_RX_TS);
	assert_true(pkt->rx_ts > 0);
	if (src->family == AF_INET6) {
		assert_int_equal(f.l3, SL_L3_IPV6);
		assert_memory_equal(pkt->data + f.l3_off + 8, &src->v6, 16);
		assert_memory_equal(pkt->data + f.l3_off + 24, &dst->v6, 16);
		/* IPv6: the checksum is there and right */
		assert_int_equal(sl_pkt_rx_l3_csum(pkt), SL_CSUM_NONE);
		assert_int_equal(sl_pkt_rx_l4_csum(pkt), SL_CSUM_GOOD);
		assert_true(pkt->data[f.l4_off + 6] | pkt->data[f.l4_off + 7]);
	} else {
		assert_int_equal(f.l3, SL_L3_IPV4);
		assert_memory_equal(pkt->data + f.l3_off + 12, &src->v4, 4);
		assert_memory_equal(pkt->data + f.l3_off + 16, &dst->v4, 4);
		assert_int_equal(sl_pkt_rx_l3_csum(pkt), SL_CSUM_GOOD);
		assert_int_equal(sl_pkt_rx_l4_csum(pkt), SL_CSUM_NONE);
	}
	{
		/* what the driver says is what a check in software finds */
		enum sl_csum l3, l4;

		sl_frame_csum_state(pkt->data, &f, &l3, &l4);
		assert_int_equal(l3, sl_pkt_rx_l3_csum(pkt));
		assert_int_equal(l4, sl_pkt_rx_l4_csum(pkt));
	}
	memcpy(&port, pkt->data + f.l4_off, 2);
	assert_int_equal(ntohs(port), src->port);
	memcpy(&port, pkt->data + f.l4_off + 2, 2);
	assert_int_equal(ntohs(port), dst->port);
}

/* ---- two udp ports, and a udp port with a kernel socket ---------------- */

static void two_ports(const char *spec, const char *kaddr)
{
	struct sl_pool *pool = sl_test_pool(512);
	struct sl_port *a = open_port(spec, pool), *b = open_port(spec, pool);
	struct sl_addr aa = port_addr(a), ba = port_addr(b), ka, from;
	struct sl_pkt *pkts[64];
	uint8_t payload[32][1200], kbuf[2048];
	struct sl_port_stats st;
	unsigned i, got;
	int kfd;

	assert_int_not_equal(aa.port, 0);
	assert_int_not_equal(ba.port, aa.port);
	/* a -> b, 32 frames of different sizes, in order */
	for (i = 0; i < 32; i++) {
		fill(payload[i], sizeof(payload[i]), i);
		pkts[i] = udp_frame(pool, &aa, &ba, payload[i], 1 + i * 37);
	}
	assert_int_equal(sl_tx_burst(a, 0, pkts, 32), 32);
	got = rx_wait(b, pkts, 32);
	assert_int_equal(got, 32);
	for (i = 0; i < 32; i++) {
		check_rx_frame(pkts[i], &aa, &ba, payload[i], 1 + i * 37);
		assert_int_equal(pkts[i]->port, 0);
		assert_int_equal(pkts[i]->queue, 0);
	}
	/* b -> a: send the received frames back with addresses swapped */
	sl_pkt_free_bulk(pkts, 32);
	for (i = 0; i < 8; i++)
		pkts[i] = udp_frame(pool, &ba, &aa, payload[i], 100);
	assert_int_equal(sl_tx_burst(b, 0, pkts, 8), 8);
	assert_int_equal(rx_wait(a, pkts, 8), 8);
	for (i = 0; i < 8; i++)
		check_rx_frame(pkts[i], &ba, &aa, payload[i], 100);
	sl_pkt_free_bulk(pkts, 8);
	st = port_stats(a);
	assert_int_equal(st.tx_packets, 32);
	assert_int_equal(st.rx_packets, 8);
	assert_int_equal(st.rx_errors + st.rx_dropped + st.tx_dropped, 0);

	/* kernel socket -> a: the sender's address shows in the frame */
	kfd = ksock(kaddr, &ka);
	assert_true(kfd >= 0);
	ksend(kfd, &aa, payload[3], 555);
	assert_int_equal(rx_wait(a, pkts, 1), 1);
	check_rx_frame(pkts[0], &ka, &aa, payload[3], 555);
	sl_pkt_free(pkts[0]);
	/* a -> kernel socket: payload and source port as sent */
	pkts[0] = udp_frame(pool, &aa, &ka, payload[4], 1000);
	assert_int_equal(sl_tx_burst(a, 0, pkts, 1), 1);
	assert_int_equal(krecv(kfd, kbuf, sizeof(kbuf), &from), 1000);
	assert_memory_equal(kbuf, payload[4], 1000);
	assert_true(sl_addr_equal(&from, &aa));
	close(kfd);

	assert_int_equal(sl_port_close(a), 0);
	assert_int_equal(sl_port_close(b), 0);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

static void test_ipv4(void **state)
{
	(void)state;
	two_ports("udp:127.0.0.1:0", "127.0.0.1:0");
}

static bool have_ipv6(void)
{
	struct sl_addr a;
	int fd = ksock("[::1]:0", &a);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_ipv6(void **state)
{
	(void)state;
	if (!have_ipv6()) {
		sl_test_skip("no IPv6 loopback (::1) on this host");
		return;
	}
	two_ports("udp:[::1]:0", "[::1]:0");
}

/* Bound to the wildcard: the frame's destination is the address the
 * datagram was sent to (IP_PKTINFO), not 0.0.0.0. */
static void test_wildcard_pktinfo(void **state)
{
	struct sl_pool *pool = sl_test_pool(64);
	struct sl_port *p = open_port("udp:0.0.0.0:0", pool);
	struct sl_addr pa = port_addr(p), to, ka;
	struct sl_pkt *pkt;
	int kfd = ksock("127.0.0.1:0", &ka);

	(void)state;
	assert_true(kfd >= 0);
	assert_int_equal(sl_addr_parse("127.0.0.1:0", false, &to), 0);
	to.port = pa.port;
	ksend(kfd, &to, "where to?", 9);
	assert_int_equal(rx_wait(p, &pkt, 1), 1);
	check_rx_frame(pkt, &ka, &to, "where to?", 9);
	sl_pkt_free(pkt);
	close(kfd);
	sl_port_close(p);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

static void test_info(void **state)
{
	struct sl_pool *pool = sl_test_pool(64);
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_addr ka;
	int kfd = ksock("127.0.0.1:0", &ka);
	char spec[128], want[64];
	struct sl_port *p;

	(void)state;
	assert_true(kfd >= 0);
	snprintf(spec, sizeof(spec), "udp:127.0.0.1:0,peer=127.0.0.1:%u",
		 ka.port);
	p = open_port(spec, pool);
	assert_int_equal(sl_port_info(p, &info), 0);
	assert_string_equal(info.driver, "udp");
	assert_string_equal(info.mode, "socket");
	assert_int_equal(info.n_queues, 1);
	assert_int_equal(info.addr.family, AF_INET);
	assert_int_not_equal(info.addr.port, 0);
	snprintf(want, sizeof(want), "127.0.0.1:%u", info.addr.port);
	assert_string_equal(info.name, want);
	assert_true(sl_addr_equal(&info.peer, &ka));
	/* the fd to sleep on is the socket; no queue 1; none on a pair */
	assert_true(sl_port_queue_fd(p, 0) >= 0);
	assert_int_equal(sl_port_queue_fd(p, 1), -EINVAL);
	assert_int_equal(sl_port_queue_fd(NULL, 0), -EINVAL);
	sl_port_close(p);
	p = sl_port_open("pair:sl-udp-qfd/0", NULL);
	assert_non_null(p);
	assert_int_equal(sl_port_queue_fd(p, 0), -ENOTSUP);
	sl_port_close(p);
	close(kfd);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

/* ---- flood, oversized datagrams, empty pool ---------------------------- */

/*
 * 10000 frames into a receiver with the smallest socket buffer: what does
 * not arrive is counted. The kernel counts what it drops in the buffers
 * it was about to queue: one per datagram, unless a GSO run reaches a GRO
 * socket whole (sender gso on, receiver gro on), when a dropped run
 * counts once: then exact says false.
 */
static void flood_case(const char *tx_spec, const char *rx_spec, bool exact)
{
	struct sl_pool *pool = sl_test_pool(1024);
	struct sl_port_opts ro = { .sz = sizeof(ro),
				   .pool = pool,
				   .ring_size = 1 /* smallest buffers */ };
	struct sl_port *tx = open_port(tx_spec, pool);
	struct sl_port *rx = sl_port_open(rx_spec, &ro);
	struct sl_addr ta = port_addr(tx), ra;
	struct sl_port_stats ts, rs;
	uint8_t payload[1400];
	uint64_t taken = 0, received = 0, short_bursts = 0, drops;
	struct sl_pkt *pkts[64];
	unsigned i, got;

	assert_non_null(rx);
	ra = port_addr(rx);
	fill(payload, sizeof(payload), 1);
	/* 10000 frames as fast as they go, nobody receiving */
	while (taken < 10000) {
		unsigned n = 10000 - taken < 64 ? (unsigned)(10000 - taken) :
						  64,
			 t;

		for (i = 0; i < n; i++)
			pkts[i] = udp_frame(pool, &ta, &ra, payload,
					    sizeof(payload));
		t = sl_tx_burst(tx, 0, pkts, (uint16_t)n);
		if (t < n) {
			short_bursts++;
			sl_pkt_free_bulk(pkts + t, n - t);
		}
		taken += t;
	}
	/* drain (loopback delivers at send time: what is queued is all
	 * there), then a marker so the kernel's drop count is reported */
	while ((got = sl_rx_burst(rx, 0, pkts, 64)) > 0) {
		received += got;
		sl_pkt_free_bulk(pkts, got);
	}
	pkts[0] = udp_frame(pool, &ta, &ra, "marker", 6);
	assert_int_equal(sl_tx_burst(tx, 0, pkts, 1), 1);
	got = rx_wait(rx, pkts, 1);
	assert_int_equal(got, 1);
	sl_pkt_free(pkts[0]);
	received++;

	ts = port_stats(tx);
	rs = port_stats(rx);
	drops = sl_test_xstat(rx, "udp_kernel_drops");
	print_message("# flood %s -> %s: taken %llu sent %llu full %llu "
		      "received %llu kernel drops %llu\n",
		      tx_spec, rx_spec, (unsigned long long)taken,
		      (unsigned long long)ts.tx_packets,
		      (unsigned long long)ts.tx_full,
		      (unsigned long long)received, (unsigned long long)drops);
	/* everything taken is accounted for */
	assert_int_equal(taken + 1,
			 ts.tx_packets + ts.tx_dropped + ts.tx_errors);
	assert_int_equal(ts.tx_full, short_bursts);
	assert_int_equal(rs.rx_packets, received);
	/* the receiver could not keep up: the sender was pushed back or
	 * the kernel dropped, and counted it */
	assert_true(short_bursts > 0 || drops > 0);
	if (exact)
		assert_int_equal(received + drops, ts.tx_packets);
	else
		assert_true(received + drops <= ts.tx_packets &&
			    received < ts.tx_packets);
	sl_port_close(tx);
	sl_port_close(rx);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

static void test_flood(void **state)
{
	(void)state;
	/* runs cut up at the receiving socket, or never made */
	flood_case("udp:127.0.0.1:0", "udp:127.0.0.1:0,gro=off", true);
	flood_case("udp:127.0.0.1:0,gso=off", "udp:127.0.0.1:0", true);
	/* runs that reach the socket whole */
	flood_case("udp:127.0.0.1:0", "udp:127.0.0.1:0", false);
}

static void test_oversized(void **state)
{
	struct sl_pool *pool = sl_test_pool(64);
	struct sl_port *p = open_port("udp:127.0.0.1:0", pool);
	struct sl_addr pa = port_addr(p), ka;
	static uint8_t big[8000];
	struct sl_pkt *pkt;
	struct sl_port_stats st;
	int kfd = ksock("127.0.0.1:0", &ka);

	(void)state;
	assert_true(kfd >= 0);
	fill(big, sizeof(big), 2);
	ksend(kfd, &pa, big, sizeof(big)); /* larger than a pool buffer */
	ksend(kfd, &pa, big, 100);
	assert_int_equal(rx_wait(p, &pkt, 1), 1);
	check_rx_frame(pkt, &ka, &pa, big, 100);
	sl_pkt_free(pkt);
	st = port_stats(p);
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(st.rx_packets, 1);
	assert_int_equal(sl_test_xstat(p, "udp_rx_truncated"), 1);
	close(kfd);
	sl_port_close(p);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

static void test_nombuf(void **state)
{
	struct sl_pool *pool = sl_test_pool(8);
	struct sl_port *p = open_port("udp:127.0.0.1:0", pool);
	struct sl_addr pa = port_addr(p), ka;
	struct sl_pkt *all[8], *pkts[8];
	int kfd = ksock("127.0.0.1:0", &ka);

	(void)state;
	assert_true(kfd >= 0);
	assert_int_equal(sl_pkt_alloc_bulk(pool, all, 8), 0);
	ksend(kfd, &pa, "one", 3);
	ksend(kfd, &pa, "two", 3);
	sleep_ms(20);
	assert_int_equal(sl_rx_burst(p, 0, pkts, 8), 0);
	assert_true(port_stats(p).rx_nombuf > 0);
	sl_pkt_free_bulk(all, 8);
	assert_int_equal(rx_wait(p, pkts, 2), 2);
	check_rx_frame(pkts[0], &ka, &pa, "one", 3);
	check_rx_frame(pkts[1], &ka, &pa, "two", 3);
	sl_pkt_free_bulk(pkts, 2);
	close(kfd);
	sl_port_close(p);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

/* ---- what cannot be sent ----------------------------------------------- */

static void test_not_sendable(void **state)
{
	struct sl_pool *pool = sl_test_pool(64);
	struct sl_port *p = open_port("udp:127.0.0.1:0", pool);
	struct sl_addr pa = port_addr(p), ka, v6a, v6b;
	struct sl_udp_params up;
	struct sl_pkt *pkts[8];
	struct sl_port_stats st;
	uint8_t buf[64];
	int kfd = ksock("127.0.0.1:0", &ka), n;

	(void)state;
	assert_true(kfd >= 0);
	/* udp, arp, icmp echo, udp over IPv6, garbage, udp */
	pkts[0] = udp_frame(pool, &pa, &ka, "first", 5);
	pkts[1] = sl_pkt_alloc(pool);
	n = sl_arp_build(pkts[1]->data, 64, SL_ARP_REQUEST, buf, pa.v4, NULL,
			 ka.v4);
	pkts[1]->len = (uint32_t)n;
	pkts[2] = sl_pkt_alloc(pool);
	memset(&up, 0, sizeof(up));
	up.src = pa;
	up.dst = ka;
	n = sl_icmp_echo_build(pkts[2]->data, 256, &up, false, 1, 1, "ping", 4);
	pkts[2]->len = (uint32_t)n;
	assert_int_equal(sl_addr_parse("[::1]:5", false, &v6a), 0);
	assert_int_equal(sl_addr_parse("[::1]:6", false, &v6b), 0);
	pkts[3] = udp_frame(pool, &v6a, &v6b, "v6", 2);
	pkts[4] = sl_pkt_alloc(pool);
	memset(pkts[4]->data, 0x45, 30);
	pkts[4]->len = 30;
	pkts[5] = udp_frame(pool, &pa, &ka, "last", 4);
	assert_int_equal(sl_tx_burst(p, 0, pkts, 6), 6);
	st = port_stats(p);
	assert_int_equal(st.tx_packets, 2);
	assert_int_equal(st.tx_dropped, 4);
	assert_int_equal(st.tx_errors, 0);
	/* the sendable ones arrive, in order */
	assert_int_equal(krecv(kfd, buf, sizeof(buf), NULL), 5);
	assert_memory_equal(buf, "first", 5);
	assert_int_equal(krecv(kfd, buf, sizeof(buf), NULL), 4);
	assert_memory_equal(buf, "last", 4);
	close(kfd);
	sl_port_close(p);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

/* ---- a peer that vanishes, then comes back ----------------------------- */

static void test_peer_vanishes(void **state)
{
	struct sl_pool *pool = sl_test_pool(128);
	struct sl_addr ka, ka2, pa;
	struct sl_pkt *pkts[4];
	struct sl_port_stats st;
	char spec[128], buf[64];
	struct sl_port *p;
	int kfd = ksock("127.0.0.1:0", &ka), tries;
	uint64_t taken = 0;

	(void)state;
	assert_true(kfd >= 0);
	snprintf(spec, sizeof(spec), "udp:127.0.0.1:0,peer=127.0.0.1:%u",
		 ka.port);
	p = open_port(spec, pool);
	pa = port_addr(p);
	pkts[0] = udp_frame(pool, &pa, &ka, "hello", 5);
	taken += sl_tx_burst(p, 0, pkts, 1);
	assert_int_equal(krecv(kfd, buf, sizeof(buf), NULL), 5);
	close(kfd);

	/* the ICMP port unreachable comes back: receive reports it */
	for (tries = 0; tries < 100 && port_stats(p).rx_errors == 0; tries++) {
		pkts[0] = udp_frame(pool, &pa, &ka, "anyone?", 7);
		assert_int_equal(sl_tx_burst(p, 0, pkts, 1), 1);
		taken++;
		sleep_ms(2);
		assert_int_equal(sl_rx_burst(p, 0, pkts, 4), 0);
	}
	assert_true(port_stats(p).rx_errors > 0);
	/* ... and so does send: taken, counted, freed */
	for (tries = 0; tries < 100 && port_stats(p).tx_errors == 0; tries++) {
		pkts[0] = udp_frame(pool, &pa, &ka, "anyone?", 7);
		assert_int_equal(sl_tx_burst(p, 0, pkts, 1), 1);
		taken++;
		sleep_ms(2);
	}
	st = port_stats(p);
	assert_true(st.tx_errors > 0);
	assert_int_equal(taken, st.tx_packets + st.tx_errors + st.tx_dropped);
	/* every frame sent came back; the port keeps only the buffers its
	 * last receive burst did not fill (4 asked), until close */
	assert_true(sl_pool_avail(pool) + 4 >= sl_pool_capacity(pool));

	/* a new peer on the same port: the port works both ways again */
	snprintf(buf, sizeof(buf), "127.0.0.1:%u", ka.port);
	kfd = ksock(buf, &ka2);
	assert_true(kfd >= 0);
	sleep_ms(5);
	(void)sl_rx_burst(p, 0, pkts, 4); /* clear a late error */
	pkts[0] = udp_frame(pool, &pa, &ka, "back", 4);
	assert_int_equal(sl_tx_burst(p, 0, pkts, 1), 1);
	assert_int_equal(krecv(kfd, buf, sizeof(buf), NULL), 4);
	assert_memory_equal(buf, "back", 4);
	ksend(kfd, &pa, "reply", 5);
	assert_int_equal(rx_wait(p, pkts, 1), 1);
	check_rx_frame(pkts[0], &ka2, &pa, "reply", 5);
	sl_pkt_free(pkts[0]);
	close(kfd);
	sl_port_close(p);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

/* ---- busy_poll ------------------------------------------------------------ */

static bool have_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

static bool drop_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	d[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &h, d) == 0;
}

/* The refusal the port lists for busy polling, or NULL. */
static const char *busy_refusal(struct sl_port *p, struct sl_port_info *info)
{
	unsigned i;

	info->sz = sizeof(*info);
	assert_int_equal(sl_port_info(p, info), 0);
	for (i = 0; i < info->n_refused; i++)
		if (strcmp(info->refused[i].path, "busy-poll") == 0)
			return info->refused[i].why;
	return NULL;
}

/* SO_BUSY_POLL of a socket nobody touched (net.core.busy_read). */
static int busy_poll_default(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), v;

	assert_true(fd >= 0);
	v = sl_busy_poll_get(fd);
	close(fd);
	return v;
}

static void test_busy_poll(void **state)
{
	struct sl_pool *pool;
	struct sl_port_info info;
	struct sl_port *p;
	const char *why;

	(void)state;
	/* frames flow as without the flag, whether the kernel took it */
	two_ports("udp:127.0.0.1:0,busy_poll", "127.0.0.1:0");
	if (have_ipv6())
		two_ports("udp:[::1]:0,busy_poll", "[::1]:0");
	if (!have_cap(CAP_NET_ADMIN))
		sl_test_skip(
			"needs CAP_NET_ADMIN to see SO_BUSY_POLL set "
			"(the refusal is tested by test_busy_poll_refused)");
	pool = sl_test_pool(64);
	p = open_port("udp:127.0.0.1:0,busy_poll", pool);
	why = busy_refusal(p, &info);
	if (why)
		fail_msg("refused: %s", why);
	assert_true(sl_udp_socket_fd(p) >= 0);
	assert_int_equal(sl_busy_poll_get(sl_udp_socket_fd(p)),
			 SL_BUSY_POLL_US);
	sl_port_close(p);
	/* and not without the flag */
	p = open_port("udp:127.0.0.1:0", pool);
	assert_int_equal(sl_busy_poll_get(sl_udp_socket_fd(p)),
			 busy_poll_default());
	assert_null(busy_refusal(p, &info));
	sl_port_close(p);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

/* Without CAP_NET_ADMIN: 0, or which check failed. */
static int refused_case(void)
{
	struct sl_pool *pool = sl_test_pool(64);
	struct sl_port_info info;
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	struct sl_port *p = sl_port_open("udp:127.0.0.1:0,busy_poll", &o);
	struct sl_addr pa, ka;
	struct sl_pkt *pkt;
	const char *why;
	int kfd, r = 0;

	if (!p)
		return 1;
	why = busy_refusal(p, &info);
	if (!why ||
	    !strstr(why, "127.0.0.1:0: the kernel refused busy "
			 "polling (SO_PREFER_BUSY_POLL: ") ||
	    !strstr(why, "needs CAP_NET_ADMIN"))
		r = 2;
	/* left as it was, not half set up */
	else if (sl_busy_poll_get(sl_udp_socket_fd(p)) != busy_poll_default())
		r = 3;
	/* and it still moves datagrams */
	pa = port_addr(p);
	kfd = ksock("127.0.0.1:0", &ka);
	ksend(kfd, &pa, "still here", 10);
	if (!r && rx_wait(p, &pkt, 1) != 1)
		r = 4;
	else if (!r)
		sl_pkt_free(pkt);
	close(kfd);
	sl_port_close(p);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
	return r;
}

static void test_busy_poll_refused(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (!have_cap(CAP_NET_ADMIN)) {
		assert_int_equal(refused_case(), 0);
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(drop_cap(CAP_NET_ADMIN) ? refused_case() : 10);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- bad specs ---------------------------------------------------------- */

/*
 * Runs of frames to one destination go out as GSO runs, and the receiver
 * sees each datagram as it was: a burst of 40 full-size datagrams and a
 * shorter last one to kernel socket A, then 3 to socket B, then 2 more to
 * A (runs break on a new destination, a size larger than the run's, and
 * after a shorter one). Every datagram arrives with its bytes and in
 * order; with gso=off the same burst goes datagram by datagram.
 */
static void gso_case(const char *spec, bool want_runs, bool no_gso_last)
{
	static const size_t sizes[] = { 1200, 1200, 700, 1200, 300 };
	struct sl_pool_opts po = { .sz = sizeof(po),
				   .n_bufs = 256,
				   .buf_size = 4096 };
	struct sl_pool *pool = sl_pool_create(&po);
	struct sl_addr ka, kb, me;
	int fa = ksock("127.0.0.1:0", &ka), fb = ksock("127.0.0.1:0", &kb);
	struct sl_port *port;
	struct sl_pkt *pkts[64];
	uint8_t b[2048], want[2048];
	unsigned n = 0, i, seq_a = 0, seq_b = 0;

	assert_non_null(pool);
	assert_true(fa >= 0 && fb >= 0);
	port = open_port(spec, pool);
	me = port_addr(port);
	/* A: 40 x 1200, then 700 (shorter: the run ends with it) */
	for (i = 0; i < 41; i++) {
		fill(b, 1200, i);
		pkts[n++] = udp_frame(pool, &me, &ka, b, i < 40 ? 1200 : 700);
	}
	for (i = 0; i < 3; i++) { /* B */
		fill(b, 1200, 100 + i);
		pkts[n++] = udp_frame(pool, &me, &kb, b, sizes[i]);
	}
	for (i = 0; i < 2; i++) { /* A again */
		fill(b, 1200, 200 + i);
		pkts[n++] = udp_frame(pool, &me, &ka, b, sizes[3 + i]);
		/* with TX_NO_GSO on the second, no run: one datagram each */
		if (i == 1 && no_gso_last)
			pkts[n - 1]->flags |= SL_PKT_F_TX_NO_GSO;
	}
	assert_int_equal(sl_tx_burst(port, 0, pkts, (uint16_t)n), n);
	for (i = 0; i < 43; i++) {
		size_t len = i < 40 ? 1200 : i == 40 ? 700 : sizes[3 + i - 41];
		unsigned seed = i < 41 ? i : 200 + i - 41;

		fill(want, len, seed);
		assert_int_equal(krecv(fa, b, sizeof(b), NULL), (ssize_t)len);
		assert_memory_equal(b, want, len);
		seq_a++;
	}
	for (i = 0; i < 3; i++) {
		fill(want, sizes[i], 100 + i);
		assert_int_equal(krecv(fb, b, sizeof(b), NULL),
				 (ssize_t)sizes[i]);
		assert_memory_equal(b, want, sizes[i]);
		seq_b++;
	}
	assert_int_equal(seq_a + seq_b, n);
	assert_int_equal(port_stats(port).tx_packets, n);
	if (want_runs) {
		/* A's 41, B's first two (1200, 1200; 700 is shorter: in),
		 * A's last two (1200 then 300) */
		assert_int_equal(sl_test_xstat(port, "udp_gso_runs"),
				 no_gso_last ? 2 : 3);
		assert_int_equal(sl_test_xstat(port, "udp_gso_segs"),
				 41 + 3 + (no_gso_last ? 0 : 2));
	} else {
		assert_int_equal(sl_test_xstat(port, "udp_gso_runs"), 0);
	}
	assert_int_equal(sl_test_xstat(port, "udp_gso_refused"), 0);
	sl_port_close(port);
	sl_pool_destroy(pool);
	close(fa);
	close(fb);
}

static void test_gso(void **state)
{
	(void)state;
	gso_case("udp:127.0.0.1:0", true, false);
	gso_case("udp:127.0.0.1:0", true, true);
	gso_case("udp:127.0.0.1:0,gso=off", false, false);
}

/* ---- GRO: runs of datagrams in one receive ---------------------------- */

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h */
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Whether this kernel takes UDP_GRO on a socket (Linux 5.0): if not, a
 * udp port receives datagram by datagram and no run ever arrives whole. */
static bool have_gro(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;
	bool ok = fd >= 0 &&
		  setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof(on)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Send b as one UDP GSO message, cut by the kernel into seg-byte
 * datagrams (the last one shorter when len is no multiple of seg). False
 * when the kernel does not take UDP_SEGMENT (before Linux 4.18). */
static bool ksend_gso(int fd, const struct sl_addr *to, const void *b,
		      size_t len, uint16_t seg)
{
	struct sockaddr_storage ss;
	struct iovec iov = { .iov_base = (void *)b, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} c;
	struct msghdr mh = { .msg_name = &ss,
			     .msg_namelen = to_ss(to, &ss),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t r;

	cm->cmsg_level = IPPROTO_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	r = sendmsg(fd, &mh, 0);
	if (r < 0 && (errno == EINVAL || errno == ENOPROTOOPT))
		return false;
	assert_int_equal(r, (ssize_t)len);
	return true;
}

/* The runs gro_case sends: n datagrams of size bytes, then one of last
 * bytes (none when 0); a run of 1 is a plain send. */
static const struct gro_run {
	unsigned n;
	uint16_t size, last;
} gro_runs[] = {
	{ 20, 1000, 333 }, /* a pool buffer holds the first and a bit */
	{ 6, 1200, 17 },
	{ 3, 500, 0 }, /* no shorter last one */
	{ 1, 77, 0 }, /* one datagram, no run */
};
#define GRO_DGRAMS (21 + 7 + 3 + 1)

/* The length of datagram k of gro_runs (its bytes: fill(..., k)). */
static size_t gro_dgram_len(unsigned k)
{
	unsigned r = 0;
	size_t len;

	while (k >= gro_runs[r].n + (gro_runs[r].last ? 1 : 0)) {
		k -= gro_runs[r].n + (gro_runs[r].last ? 1 : 0);
		r++;
	}
	len = k < gro_runs[r].n ? gro_runs[r].size : gro_runs[r].last;
	return len;
}

/*
 * A kernel socket sends gro_runs with UDP_SEGMENT to a udp port, which
 * hands out exactly those datagrams, in order, with their bytes and the
 * frame every datagram gets (addresses, ports, checksum states, receive
 * time), never more than n a burst: runs are cut across bursts. With GRO
 * each run arrives as one buffer (xstats udp_gro_*); with gro=off the
 * kernel cuts them up first and the frames are the same.
 */
static void gro_case(const char *kaddr, bool gro, uint16_t n)
{
	struct sl_pool *pool = sl_test_pool(256);
	struct sl_addr pa, ka;
	struct sl_port *port;
	struct sl_pkt *pkts[GRO_DGRAMS + 64];
	static uint8_t run[32768];
	uint8_t want[2048];
	char spec[64];
	unsigned k = 0, got = 0, r, i;
	int kfd = ksock(kaddr, &ka);

	assert_true(kfd >= 0);
	snprintf(spec, sizeof(spec), "udp:%s%s", kaddr, gro ? "" : ",gro=off");
	port = open_port(spec, pool);
	pa = port_addr(port);
	for (r = 0; r < sizeof(gro_runs) / sizeof(gro_runs[0]); r++) {
		unsigned cnt = gro_runs[r].n + (gro_runs[r].last ? 1 : 0);
		size_t off = 0;

		for (i = 0; i < cnt; i++) {
			size_t len = gro_dgram_len(k);

			fill(run + off, len, k++);
			off += len;
		}
		if (cnt == 1) {
			ksend(kfd, &pa, run, off);
		} else if (!ksend_gso(kfd, &pa, run, off, gro_runs[r].size)) {
			sl_test_skip("the kernel does not take UDP_SEGMENT");
			goto out;
		}
	}
	for (int t = 0; t < WAIT_MS && got < GRO_DGRAMS; t++) {
		uint16_t b = sl_rx_burst(port, 0, pkts + got, n);

		assert_true(b <= n);
		got += b;
		if (!b)
			usleep(1000);
	}
	assert_int_equal(got, GRO_DGRAMS);
	assert_int_equal(sl_rx_burst(port, 0, pkts + got, n), 0);
	for (k = 0; k < GRO_DGRAMS; k++) {
		size_t len = gro_dgram_len(k);

		fill(want, len, k);
		check_rx_frame(pkts[k], &ka, &pa, want, len);
	}
	if (gro && have_gro()) {
		assert_int_equal(sl_test_xstat(port, "udp_gro_buffers"), 3);
		assert_int_equal(sl_test_xstat(port, "udp_gro_segs"),
				 21 + 7 + 3);
	} else {
		if (gro)
			print_message("# no UDP_GRO on this kernel\n");
		assert_int_equal(sl_test_xstat(port, "udp_gro_buffers"), 0);
	}
	assert_int_equal(port_stats(port).rx_packets, GRO_DGRAMS);
	assert_int_equal(port_stats(port).rx_dropped, 0);
	assert_int_equal(port_stats(port).rx_nombuf, 0);
	sl_pkt_free_bulk(pkts, got);
out:
	sl_port_close(port);
	close(kfd);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

static void gro_cases(const char *kaddr)
{
	for (unsigned i = 0; i < 2; i++) {
		gro_case(kaddr, i == 0, 1);
		gro_case(kaddr, i == 0, 3);
		gro_case(kaddr, i == 0, 64);
	}
}

/*
 * The pool runs dry while a run is being cut: the burst hands out what it
 * can, counts rx_nombuf, and the rest comes in later bursts, nothing lost,
 * nothing overwritten. Datagrams larger than a buffer in a run are dropped
 * and counted as without GRO, the shorter last one still arrives.
 */
static void gro_dry_case(const char *kaddr, const char *opt)
{
	struct sl_pool *pool = sl_test_pool(48);
	struct sl_addr pa, ka;
	struct sl_port *port;
	struct sl_pkt *pkts[40], *hog[48];
	static uint8_t run[16384];
	uint8_t want[600];
	char spec[64];
	unsigned got, nh = 0, k;
	uint64_t nombuf;
	int kfd = ksock(kaddr, &ka);

	assert_true(kfd >= 0);
	snprintf(spec, sizeof(spec), "udp:%s%s", kaddr, opt);
	port = open_port(spec, pool);
	pa = port_addr(port);
	/* 30 x 500 and 123: the first burst of 4 takes the run's first 4 */
	for (k = 0; k < 31; k++)
		fill(run + k * 500, k < 30 ? 500 : 123, k);
	if (!ksend_gso(kfd, &pa, run, 30 * 500 + 123, 500)) {
		sl_test_skip("the kernel does not take UDP_SEGMENT");
		goto out;
	}
	got = 0;
	for (int t = 0; t < WAIT_MS && !got; t++) {
		got = sl_rx_burst(port, 0, pkts, 4);
		if (!got)
			usleep(1000);
	}
	assert_int_equal(got, 4);
	/* the rest of the pool to someone else */
	while (nh < 48 && (hog[nh] = sl_pkt_alloc(pool)) != NULL)
		nh++;
	nombuf = port_stats(port).rx_nombuf;
	assert_int_equal(sl_rx_burst(port, 0, pkts + got, 4), 0);
	assert_true(port_stats(port).rx_nombuf > nombuf);
	/* two buffers back: two datagrams, the next ones */
	assert_true(nh >= 2);
	sl_pkt_free_bulk(hog + nh - 2, 2);
	nh -= 2;
	assert_int_equal(sl_rx_burst(port, 0, pkts + got, 4), 2);
	got += 2;
	sl_pkt_free_bulk(hog, nh);
	for (int t = 0; t < WAIT_MS && got < 31; t++) {
		unsigned b = sl_rx_burst(port, 0, pkts + got, 4);

		got += b;
		if (!b)
			usleep(1000);
	}
	assert_int_equal(got, 31);
	for (k = 0; k < 31; k++) {
		fill(want, k < 30 ? 500 : 123, k);
		check_rx_frame(pkts[k], &ka, &pa, want, k < 30 ? 500 : 123);
	}
	assert_int_equal(port_stats(port).rx_dropped, 0);
	assert_int_equal(port_stats(port).rx_packets, 31);
	sl_pkt_free_bulk(pkts, got);

	/* 3 x 3000, larger than a buffer, and 100 */
	for (k = 0; k < 4; k++)
		fill(run + k * 3000, k < 3 ? 3000 : 100, 50 + k);
	assert_true(ksend_gso(kfd, &pa, run, 3 * 3000 + 100, 3000));
	assert_int_equal(rx_wait(port, pkts, 1), 1);
	fill(want, 100, 53);
	check_rx_frame(pkts[0], &ka, &pa, want, 100);
	sl_pkt_free(pkts[0]);
	assert_int_equal(port_stats(port).rx_dropped, 3);
	assert_int_equal(sl_test_xstat(port, "udp_rx_truncated"), 3);
out:
	sl_port_close(port);
	close(kfd);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

static void test_gro(void **state)
{
	(void)state;
	gro_cases("127.0.0.1:0");
	gro_dry_case("127.0.0.1:0", "");
	gro_dry_case("127.0.0.1:0", ",gro=off");
	if (!have_ipv6()) {
		sl_test_skip("no IPv6 loopback (::1) on this host");
		return;
	}
	gro_cases("[::1]:0");
	gro_dry_case("[::1]:0", "");
	gro_dry_case("[::1]:0", ",gro=off");
}

static void check_bad_spec(const char *spec, const char *msg)
{
	struct sl_port *p = sl_port_open(spec, NULL);

	if (p) {
		sl_port_close(p);
		fail_msg("'%s' opened", spec);
	}
	assert_true(errno != 0);
	if (!strstr(sl_last_error(), msg))
		fail_msg("'%s': \"%s\" lacks \"%s\"", spec, sl_last_error(),
			 msg);
}

static void test_bad_specs(void **state)
{
	(void)state;
	check_bad_spec("udp:1.2.3:80", "udp:1.2.3:80: bad address '1.2.3'");
	check_bad_spec("udp:127.0.0.1", "missing port in '127.0.0.1'");
	check_bad_spec("udp:127.0.0.1:99999", "bad port '99999'");
	check_bad_spec("udp:::1:80", "IPv6 address needs brackets");
	check_bad_spec("udp:127.0.0.1:0,peer=1.2.3:80",
		       "bad peer: bad address '1.2.3'");
	check_bad_spec("udp:127.0.0.1:0,peer=127.0.0.1",
		       "bad peer: missing port");
	check_bad_spec("udp:127.0.0.1:0,peer=[::1]:80", "bad peer '[::1]:80'");
	check_bad_spec("udp:127.0.0.1:0,peer=127.0.0.1:0", "port 0");
	check_bad_spec("udp:127.0.0.1:0,busy_poll=1",
		       "udp:127.0.0.1:0,busy_poll=1: bad busy_poll '1': it "
		       "is a flag");
	check_bad_spec("udp:127.0.0.1:0,gso=yes",
		       "bad gso 'yes': on (the default) or off");
	check_bad_spec("udp:127.0.0.1:0,gro=1",
		       "bad gro '1': on (the default) or off");
	check_bad_spec("udp:127.0.0.1:0,tpacket=v2",
		       "option 'tpacket' not taken by driver udp");
	/* an address that is not ours */
	check_bad_spec("udp:192.0.2.1:9", "cannot bind 192.0.2.1:9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_wildcard_pktinfo),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_nombuf),
		cmocka_unit_test(test_not_sendable),
		cmocka_unit_test(test_peer_vanishes),
		cmocka_unit_test(test_busy_poll),
		cmocka_unit_test(test_busy_poll_refused),
		cmocka_unit_test(test_gso),
		cmocka_unit_test(test_gro),
		cmocka_unit_test(test_bad_specs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
