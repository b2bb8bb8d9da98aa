// SPDX-License-Identifier: MIT
/*
 * The xdp driver on the veth test bed (root only; skipped otherwise). Side
 * A is a plain kernel host, side B runs the port. Checked here: datagrams
 * from a kernel socket in A arrive byte for byte at the port (IPv4, IPv6,
 * generic and native copy mode), the reply sent with sl_tx_burst reaches
 * the socket; only the matching flow is diverted, ping, TCP and other UDP
 * ports still reach B's kernel; a SIGKILLed owner leaves no program behind;
 * zero-copy is refused on veth with the reason, auto mode falls back and
 * says why; an open that finds its queue held by another socket fails
 * leaving nothing behind; a foreign XDP program blocks the open unless replace is given;
 * two ports on one pool share the UMEM and forward without a copy; a dry
 * pool is counted and recovered from. After every scenario the pool has
 * every buffer back.
 */
#include <dirent.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "drivers/xdp/steer.h"

#define PORT 7300

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

static void need_root(void)
{
	if (geteuid() != 0)
		sl_test_skip("needs root: AF_XDP, BPF and network namespaces");
}

static void bed_up(unsigned queues)
{
	struct tb_opts o = { .sz = sizeof(o), .queues = queues };

	need_root();
	itest_bed_up(&bed, &o);
	pool = sl_test_pool(4096);
}

/* Open an xdp port on B's interface: "xdp:IF<opts>". */
static struct sl_port *open_b(const char *opts, struct sl_pool *p)
{
	struct sl_port_opts po = { .sz = sizeof(po), .pool = p };
	struct sl_port *port;
	char spec[256];

	snprintf(spec, sizeof(spec), "xdp:%s%s", bed.end[1].ifname, opts);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	port = sl_port_open(spec, &po);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	return port;
}

static struct sl_port *must_open_b(const char *opts)
{
	struct sl_port *port = open_b(opts, pool);

	if (!port)
		fail_msg("open %s: %s", opts, sl_last_error());
	return port;
}

static int find_in_b(char *who, size_t len)
{
	int r;

	assert_int_equal(tb_enter(&bed, TB_B), 0);
	r = sl_steer_find_attached(bed.end[1].ifindex, who, len);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	return r;
}

/* Lines of /proc/self/maps naming a socket: an AF_XDP socket's rings while
 * it is open. Read here, not by a shell command, for the same reason as
 * n_fds. */
static unsigned n_maps(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "socket:"))
			n++;
	fclose(f);
	return n;
}

/* Open fds, counted without the one reading the directory. Not with
 * popen("ls /proc/PID/fd"): the pipe's write end is still open here for a
 * moment after the command starts, so ls counted it in some runs and not
 * in others (a failed open then seemed to leave an fd behind). */
static unsigned n_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The frame a kernel UDP socket in A sent to B:PORT from port sport, with
 * `msg` as payload: check every header field a user relies on, and the
 * payload byte for byte.
 */
static void check_frame(const struct sl_pkt *p, int v6, uint16_t sport,
			const char *msg)
{
	const struct tb_end *a = &bed.end[0], *b = &bed.end[1];
	const uint8_t *f = p->data;
	size_t l3 = 14, l4, mlen = strlen(msg);
	uint16_t v;

	assert_memory_equal(f, b->mac, 6);
	assert_memory_equal(f + 6, a->mac, 6);
	v = (uint16_t)(f[12] << 8 | f[13]);
	if (!v6) {
		assert_int_equal(v, 0x0800);
		assert_int_equal(f[l3] >> 4, 4);
		assert_int_equal(f[l3 + 9], IPPROTO_UDP);
		assert_memory_equal(f + l3 + 12, &a->ip4, 4);
		assert_memory_equal(f + l3 + 16, &b->ip4, 4);
		l4 = l3 + (size_t)(f[l3] & 0xf) * 4;
	} else {
		assert_int_equal(v, 0x86dd);
		assert_int_equal(f[l3 + 6], IPPROTO_UDP);
		assert_memory_equal(f + l3 + 8, &a->ip6, 16);
		assert_memory_equal(f + l3 + 24, &b->ip6, 16);
		l4 = l3 + 40;
	}
	assert_int_equal(f[l4] << 8 | f[l4 + 1], sport);
	assert_int_equal(f[l4 + 2] << 8 | f[l4 + 3], PORT);
	assert_int_equal(f[l4 + 4] << 8 | f[l4 + 5], 8 + mlen);
	assert_true(p->len >= l4 + 8 + mlen);
	assert_memory_equal(f + l4 + 8, msg, mlen);
}

/* Turn the frame around in place: MACs, addresses, ports swapped, and the
 * UDP checksum computed afresh (veth hands over kernel-sent datagrams
 * with only the pseudo-header sum in it: CHECKSUM_PARTIAL). */
static void turn_around(struct sl_pkt *p, int v6)
{
	uint8_t *f = p->data, t[16];
	size_t l3 = 14, l4, alen = v6 ? 16 : 4, src = v6 ? 8 : 12;
	uint16_t ulen, v;

	memcpy(t, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, t, 6);
	memcpy(t, f + l3 + src, alen);
	memcpy(f + l3 + src, f + l3 + src + alen, alen);
	memcpy(f + l3 + src + alen, t, alen);
	l4 = v6 ? l3 + 40 : l3 + (size_t)(f[l3] & 0xf) * 4;
	memcpy(t, f + l4, 2);
	memcpy(f + l4, f + l4 + 2, 2);
	memcpy(f + l4 + 2, t, 2);
	ulen = (uint16_t)(f[l4 + 4] << 8 | f[l4 + 5]);
	f[l4 + 6] = f[l4 + 7] = 0;
	v = 0;
	if (!v6)
		v = sl_ipv4_l4_csum((const struct sl_ipv4_hdr *)(f + l3),
				    IPPROTO_UDP, f + l4, ulen);
	else
		v = sl_ipv6_l4_csum((const struct sl_ipv6_hdr *)(f + l3),
				    IPPROTO_UDP, f + l4, ulen);
	memcpy(f + l4 + 6, &v, 2);
}

/* A UDP socket of A sends to B:PORT; the port receives it byte for byte;
 * the reply it sends comes back to the socket. */
static void roundtrip(struct sl_port *port, int v6, uint16_t sport)
{
	char msg[64], back[64];
	struct sl_pkt *p;
	ssize_t n;
	int fd;

	fd = itest_udp_bound(&bed, TB_A, v6, sport);
	snprintf(msg, sizeof(msg), "sluice xdp %s from %u", v6 ? "v6" : "v4",
		 sport);
	{
		const struct tb_end *b = &bed.end[1];
		struct sockaddr_in to4 = { .sin_family = AF_INET,
					   .sin_port = htons(PORT),
					   .sin_addr = b->ip4 };
		struct sockaddr_in6 to6 = { .sin6_family = AF_INET6,
					    .sin6_port = htons(PORT),
					    .sin6_addr = b->ip6 };

		n = v6 ? sendto(fd, msg, strlen(msg), 0,
				(struct sockaddr *)&to6, sizeof(to6)) :
			 sendto(fd, msg, strlen(msg), 0,
				(struct sockaddr *)&to4, sizeof(to4));
		assert_int_equal(n, strlen(msg));
	}
	p = sl_test_rx_one(port, 0, 2000);
	if (!p)
		fail_msg("nothing received (steer_matched %llu, xsk_rx_dropped "
			 "%llu)",
			 (unsigned long long)sl_test_xstat(port,
							   "steer_matched"),
			 (unsigned long long)sl_test_xstat(port,
							   "xsk_rx_dropped"));
	/* zero copy: the frame is in the pool's buffer, at the headroom */
	assert_ptr_equal(p->pool, pool);
	assert_int_equal(sl_pkt_headroom(p), SL_PKT_HEADROOM);
	check_frame(p, v6, sport, msg);
	turn_around(p, v6);
	assert_int_equal(sl_tx_burst(port, 0, &p, 1), 1);

	assert_true(itest_wait(fd, 2000));
	n = recv(fd, back, sizeof(back) - 1, 0);
	assert_int_equal(n, strlen(msg));
	back[n] = '\0';
	assert_string_equal(back, msg);
	close(fd);
}

static void close_and_check(struct sl_port *port)
{
	assert_int_equal(sl_port_close(port), 0);
	sl_test_pool_full(pool);
}

static void test_generic_v4_v6_roundtrip(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port *port;

	(void)state;
	bed_up(1);
	port = must_open_b(",match=udp:7300,mode=copy-generic");
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_string_equal(info.driver, "xdp");
	assert_string_equal(info.mode, "copy-generic");
	assert_string_equal(info.name, bed.end[1].ifname);
	assert_memory_equal(info.mac, bed.end[1].mac, 6);
	roundtrip(port, 0, 41000);
	roundtrip(port, 1, 41001);
	roundtrip(port, 0, 41002);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_int_equal(st.rx_packets, 3);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.rx_invalid, 0);
	assert_int_equal(sl_test_xstat(port, "steer_matched"), 3);
	assert_int_equal(sl_test_xstat(port, "rx_invalid_desc"), 0);
	assert_int_equal(sl_test_xstat(port, "tx_copied"), 0);
	close_and_check(port);
}

/* Native mode on veth: the peer must hand frames to NAPI, which it does
 * once its TSO is off (veth only runs the receiver's native XDP for
 * frames eligible for GRO). */
static void test_native_roundtrip(void **state)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port *port;
	char cmd[128];

	(void)state;
	bed_up(1);
	snprintf(cmd, sizeof(cmd), "ethtool -K %s tso off gso off >/dev/null",
		 bed.end[0].ifname);
	if (tb_run(&bed, TB_A, cmd) != 0)
		sl_test_skip("ethtool could not turn TSO off on the peer");
	port = must_open_b(",match=udp:7300,mode=copy");
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_string_equal(info.mode, "copy-native");
	roundtrip(port, 0, 41010);
	roundtrip(port, 1, 41011);
	close_and_check(port);
}

static void test_kernel_keeps_the_rest(void **state)
{
	struct sl_port *port;
	struct sl_pkt *p;
	int lfd, cfd, afd, fd_other, fd_same;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(7400) };

	(void)state;
	bed_up(1);
	port = must_open_b(",match=udp:7300,mode=copy-generic");
	/* ping both ways, both families */
	assert_true(itest_ping(&bed, TB_A, 0));
	assert_true(itest_ping(&bed, TB_A, 1));
	assert_true(itest_ping(&bed, TB_B, 0));
	/* TCP from A to B */
	a.sin_addr = bed.end[1].ip4;
	lfd = itest_socket(&bed, TB_B, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	cfd = itest_socket(&bed, TB_A, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_true(itest_wait(lfd, 2000));
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(write(cfd, "tcp ok", 6), 6);
	assert_true(itest_wait(afd, 2000));
	{
		char buf[16] = { 0 };

		assert_int_equal(read(afd, buf, sizeof(buf)), 6);
		assert_string_equal(buf, "tcp ok");
	}
	close(afd);
	close(cfd);
	close(lfd);
	/* UDP to another port reaches B's kernel socket; to PORT it does not:
	 * the port takes it */
	fd_other = itest_udp_bound(&bed, TB_B, 0, 7301);
	fd_same = itest_udp_bound(&bed, TB_B, 0, PORT);
	itest_udp_send(&bed, TB_A, 0, 7301, "to the kernel");
	itest_udp_expect(fd_other, "to the kernel");
	itest_udp_send(&bed, TB_A, 0, PORT, "to the port");
	p = sl_test_rx_one(port, 0, 2000);
	assert_non_null(p);
	sl_pkt_free(p);
	assert_false(itest_wait(fd_same, 200));
	close(fd_other);
	close(fd_same);
	assert_true(sl_test_xstat(port, "steer_passed") >= 4);
	close_and_check(port);
	/* closed: the flow is the kernel's again */
	fd_same = itest_udp_bound(&bed, TB_B, 0, PORT);
	itest_udp_send(&bed, TB_A, 0, PORT, "kernel again");
	itest_udp_expect(fd_same, "kernel again");
	close(fd_same);
}

/* sl_port_set_match: the rules change in place, a frame already in the
 * ring stays, the port works on; bad rules and drivers without it are
 * refused */
static void test_set_match(void **state)
{
	struct sl_port *port, *pair;
	struct sl_pkt *p;
	int fd_other;

	(void)state;
	bed_up(1);
	port = must_open_b(",match=udp:7300,mode=copy-generic");
	fd_other = itest_udp_bound(&bed, TB_B, 0, 7301);
	itest_udp_send(&bed, TB_A, 0, 7301, "kernel first");
	itest_udp_expect(fd_other, "kernel first");
	/* waiting in the ring while the rules change */
	itest_udp_send(&bed, TB_A, 0, PORT, "waiting");
	usleep(100000);
	assert_int_equal(sl_port_set_match(port, "udp:7300+udp:7301"), 0);
	p = sl_test_rx_one(port, 0, 2000);
	assert_non_null(p);
	sl_pkt_free(p);
	itest_udp_send(&bed, TB_A, 0, 7301, "port now");
	p = sl_test_rx_one(port, 0, 2000);
	assert_non_null(p);
	sl_pkt_free(p);
	assert_false(itest_wait(fd_other, 200));
	assert_int_equal(sl_port_set_match(port, "udp:7300"), 0);
	itest_udp_send(&bed, TB_A, 0, 7301, "kernel again");
	itest_udp_expect(fd_other, "kernel again");
	assert_int_equal(sl_port_set_match(port, "udp:0"), -EINVAL);
	assert_non_null(strstr(sl_last_error(), "udp:0"));
	/* none: the port is held and takes nothing, its own number
	 * included; then takes it again */
	assert_int_equal(sl_port_set_match(port, "none"), 0);
	close(fd_other);
	fd_other = itest_udp_bound(&bed, TB_B, 0, PORT);
	itest_udp_send(&bed, TB_A, 0, PORT, "kernel while none");
	itest_udp_expect(fd_other, "kernel while none");
	assert_null(sl_test_rx_one(port, 0, 200));
	close(fd_other);
	fd_other = itest_udp_bound(&bed, TB_B, 0, 7301);
	assert_int_equal(sl_port_set_match(port, "udp:7300"), 0);
	roundtrip(port, 0, 41020);
	close(fd_other);
	close_and_check(port);
	pair = sl_port_open("pair:sl-setmatch/0", NULL);
	assert_non_null(pair);
	assert_int_equal(sl_port_set_match(pair, "udp:1"), -EOPNOTSUPP);
	sl_port_close(pair);
}

static void test_sigkill_leaves_nothing(void **state)
{
	struct sl_port *port;
	char who[256], c;
	int pfd[2], status, i, found = -1;
	pid_t pid;

	(void)state;
	bed_up(1);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sl_port *cp;

		close(pfd[0]);
		cp = open_b(",match=udp:7300,mode=copy-generic", NULL);
		if (!cp)
			_exit(2);
		if (write(pfd[1], "k", 1) != 1)
			_exit(3);
		pause();
		_exit(4);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		waitpid(pid, &status, 0);
		fail_msg("child could not open the port (status %d)", status);
	}
	close(pfd[0]);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_OURS);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	for (i = 0; i < 100; i++) {
		found = find_in_b(who, sizeof(who));
		if (found == SL_STEER_FOUND_NONE)
			break;
		usleep(10000);
	}
	assert_int_equal(found, SL_STEER_FOUND_NONE);
	/* and a new port opens at once, on the same queue */
	port = must_open_b(",match=udp:7300,mode=copy-generic");
	roundtrip(port, 0, 41020);
	close_and_check(port);
}

static void test_zc_refused_auto_falls_back(void **state)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port *port;
	unsigned maps, fds;
	char who[256];

	(void)state;
	bed_up(1);
	maps = n_maps();
	fds = n_fds();
	port = open_b(",match=udp:7300,mode=zc", pool);
	assert_null(port);
	printf("# mode=zc: %s\n", sl_last_error());
	assert_non_null(strstr(sl_last_error(), "zero-copy"));
	assert_non_null(strstr(sl_last_error(), "veth"));
	/* nothing left behind by the failed open */
	sl_test_pool_full(pool);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_NONE);

	assert_int_equal(n_maps(), maps);
	assert_int_equal(n_fds(), fds);
	port = must_open_b(",match=udp:7300");
	/* the count sees the rings of a live socket */
	assert_true(n_maps() >= maps + 4);
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_true(!strcmp(info.mode, "copy-native") ||
		    !strcmp(info.mode, "copy-generic"));
	assert_true(info.n_refused >= 1);
	assert_string_equal(info.refused[0].path, "xdp-zc");
	printf("# auto: mode %s, refused %s: %s\n", info.mode,
	       info.refused[0].path, info.refused[0].why);
	assert_non_null(strstr(info.refused[0].why, "veth"));
	assert_non_null(strstr(info.refused[0].why, "EOPNOTSUPP"));
	close_and_check(port);
	/* the refused attempts and the port left no mapping, no fd */
	assert_int_equal(n_maps(), maps);
	assert_int_equal(n_fds(), fds);
}

/* A socket that is not a port's holds queue 0: the open waits for it (the
 * EBUSY retries, each with a new UMEM), fails, and leaves no mapping, no
 * fd and no program behind. */
static void test_busy_queue_leaves_nothing(void **state)
{
	struct sockaddr_xdp sx = { .sxdp_family = AF_XDP,
				   .sxdp_flags = XDP_COPY };
	struct xdp_umem_reg mr = { .len = 64 * 2048, .chunk_size = 2048 };
	unsigned maps, fds;
	char who[256];
	void *area;
	int fd, sz = 64;

	(void)state;
	bed_up(1);
	area = aligned_alloc(4096, 64 * 2048);
	assert_non_null(area);
	mr.addr = (uintptr_t)area;
	fd = itest_socket(&bed, TB_B, AF_XDP, SOCK_RAW, 0);
	assert_int_equal(setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)),
			 0);
	assert_int_equal(setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &sz,
				    sizeof(sz)),
			 0);
	assert_int_equal(setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &sz,
				    sizeof(sz)),
			 0);
	assert_int_equal(setsockopt(fd, SOL_XDP, XDP_RX_RING, &sz, sizeof(sz)),
			 0);
	sx.sxdp_ifindex = (uint32_t)bed.end[1].ifindex;
	assert_int_equal(bind(fd, (struct sockaddr *)&sx, sizeof(sx)), 0);
	maps = n_maps();
	fds = n_fds();

	assert_null(open_b(",match=udp:7300,mode=copy-generic", pool));
	printf("# busy: %s\n", sl_last_error());
	assert_non_null(strstr(sl_last_error(), "taken by another AF_XDP"));
	sl_test_pool_full(pool);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_NONE);
	assert_int_equal(n_maps(), maps);
	assert_int_equal(n_fds(), fds);
	close(fd);
	free(area);
	/* the queue is free again: the port opens on it */
	close_and_check(must_open_b(",match=udp:7300,mode=copy-generic"));
	assert_int_equal(n_maps(), maps);
	assert_int_equal(n_fds(), fds - 1);
}

static void test_foreign_program(void **state)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port *port;
	char who[256];
	int pfd, err;

	(void)state;
	bed_up(1);
	pfd = bpf_prog_load(BPF_PROG_TYPE_XDP, "stranger", "MIT", prog, 2,
			    NULL);
	assert_true(pfd >= 0);
	/* the old netlink attach: it stays after its fd is closed */
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	err = bpf_xdp_attach(bed.end[1].ifindex, pfd, XDP_FLAGS_SKB_MODE, NULL);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	close(pfd);
	assert_int_equal(err, 0);

	port = open_b(",match=udp:7300,mode=copy-generic", pool);
	assert_null(port);
	printf("# foreign: %s\n", sl_last_error());
	assert_non_null(strstr(sl_last_error(), "stranger"));
	assert_non_null(strstr(sl_last_error(), "id "));
	assert_non_null(strstr(sl_last_error(), "replace"));
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_OTHER);

	port = must_open_b(",match=udp:7300,mode=copy-generic,replace");
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_OURS);
	roundtrip(port, 0, 41030);
	close_and_check(port);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_NONE);
}

/* Two ports on one pool, on two queues of B: one UMEM, and a frame
 * received on one is sent by the other without a copy. */
static void test_shared_umem_forward(void **state)
{
	struct sl_port *p0, *p1, *again, *rxp = NULL, *txp = NULL;
	struct sl_pkt *p;
	char back[64];
	ssize_t n;
	int fd;

	(void)state;
	bed_up(2);
	p0 = must_open_b(",match=udp:7300,mode=copy-generic,queue=0");
	p1 = must_open_b(",match=udp:7300,mode=copy-generic,queue=1");
	/* a queue has one socket */
	again = open_b(",match=udp:7300,queue=1", pool);
	assert_null(again);
	assert_non_null(strstr(sl_last_error(), "another open port"));
	/* a different rule set cannot share the interface's program */
	again = open_b(",match=udp:9999,mode=copy-generic,queue=1", pool);
	assert_null(again);
	assert_non_null(strstr(sl_last_error(), "same match="));

	fd = itest_udp_bound(&bed, TB_A, 0, 41040);
	{
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons(PORT),
					  .sin_addr = bed.end[1].ip4 };

		assert_int_equal(sendto(fd, "fwd", 3, 0, (struct sockaddr *)&to,
					sizeof(to)),
				 3);
	}
	/* veth picks the RX queue from the sender's TX queue: either */
	{
		uint64_t end = now_ms() + 2000;

		p = NULL;
		while (now_ms() < end) {
			if (sl_rx_burst(p0, 0, &p, 1) == 1) {
				rxp = p0;
				txp = p1;
				break;
			}
			if (sl_rx_burst(p1, 0, &p, 1) == 1) {
				rxp = p1;
				txp = p0;
				break;
			}
			usleep(200);
		}
	}
	assert_non_null(rxp);
	turn_around(p, 0);
	/* sent by the port it did not arrive on: same UMEM, no copy */
	assert_int_equal(sl_tx_burst(txp, 0, &p, 1), 1);
	assert_true(itest_wait(fd, 2000));
	n = recv(fd, back, sizeof(back), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(back, "fwd", 3);
	assert_int_equal(sl_test_xstat(txp, "tx_copied"), 0);
	close(fd);
	/* the UMEM owner closes first; its queue opens again at once */
	assert_int_equal(sl_port_close(p0), 0);
	p0 = must_open_b(",match=udp:7300,mode=copy-generic,queue=0");
	assert_int_equal(sl_port_close(p1), 0);
	assert_int_equal(sl_port_close(p0), 0);
	sl_test_pool_full(pool);
}

/* queues=2: one socket per queue on one UMEM, counted per queue; busy
 * polling is set up or its refusal recorded. */
static void test_two_queues(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_queue_stats q0 = { .sz = sizeof(q0) }, q1 = q0;
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port *port;
	struct sl_pkt *p;
	uint64_t end;
	unsigned i, got = 0;
	int fd;

	(void)state;
	bed_up(2);
	port = must_open_b(",match=udp:7300,mode=copy-generic,queues=2,"
			   "busy_poll");
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_int_equal(info.n_queues, 2);
	for (i = 0; i < info.n_refused; i++)
		printf("# refused %s: %s\n", info.refused[i].path,
		       info.refused[i].why);
	fd = itest_udp_bound(&bed, TB_A, 0, 41060);
	for (i = 0; i < 20; i++) {
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons(PORT),
					  .sin_addr = bed.end[1].ip4 };

		assert_int_equal(sendto(fd, "q", 1, 0, (struct sockaddr *)&to,
					sizeof(to)),
				 1);
	}
	end = now_ms() + 2000;
	while (got < 20 && now_ms() < end) {
		for (i = 0; i < 2; i++)
			while (sl_rx_burst(port, (uint16_t)i, &p, 1) == 1) {
				assert_int_equal(p->queue, i);
				sl_pkt_free(p);
				got++;
			}
		usleep(200);
	}
	assert_int_equal(got, 20);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_int_equal(st.n_queues, 2);
	assert_int_equal(sl_port_queue_stats(port, 0, &q0), 0);
	assert_int_equal(sl_port_queue_stats(port, 1, &q1), 0);
	assert_int_equal(q0.rx_packets + q1.rx_packets, 20);
	assert_int_equal(st.rx_packets, 20);
	close(fd);
	close_and_check(port);
	/* a queue the device does not have */
	assert_null(open_b(",match=udp:7300,queue=1,queues=2", pool));
	assert_non_null(strstr(sl_last_error(), "ethtool -L"));
}

/* The application holds every buffer: the port counts the dry pool, and
 * frames flow again as soon as buffers come back. */
static void test_dry_pool_recovers(void **state)
{
	struct sl_port_opts po = { .sz = sizeof(po) };
	struct sl_port *port;
	struct sl_pool *small;
	struct sl_pkt *held[512], *p;
	unsigned n_held = 0, i;
	char spec[128];
	int fd;

	(void)state;
	bed_up(1);
	small = sl_test_pool(256);
	po.pool = small;
	snprintf(spec, sizeof(spec), "xdp:%s,match=udp:7300,mode=copy-generic",
		 bed.end[1].ifname);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	port = sl_port_open(spec, &po);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	if (!port)
		fail_msg("open: %s", sl_last_error());
	/* take what the fill ring did not */
	while (n_held < 512 && (p = sl_pkt_alloc(small)))
		held[n_held++] = p;
	fd = itest_udp_bound(&bed, TB_A, 0, 41050);
	{
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons(PORT),
					  .sin_addr = bed.end[1].ip4 };

		/* more frames than the fill ring holds */
		for (i = 0; i < 200; i++) {
			assert_int_equal(sendto(fd, "x", 1, 0,
						(struct sockaddr *)&to,
						sizeof(to)),
					 1);
			while (n_held < 512 &&
			       sl_rx_burst(port, 0, &held[n_held], 1) == 1)
				n_held++;
		}
	}
	usleep(50000);
	while (n_held < 512 && sl_rx_burst(port, 0, &held[n_held], 1) == 1)
		n_held++;
	/* everything is with the application now */
	assert_int_equal(n_held, 256);
	assert_true(sl_test_xstat(port, "fill_ring_empty") > 0);
	{
		struct sl_port_stats st = { .sz = sizeof(st) };

		assert_int_equal(sl_port_stats(port, &st), 0);
		assert_true(st.rx_nombuf > 0);
	}
	assert_true(
		sl_test_xstat(port, "xsk_rx_dropped") +
			sl_test_xstat(port, "xsk_rx_fill_ring_empty_descs") >
		0);
	sl_pkt_free_bulk(held, n_held);
	n_held = 0;
	/* one rx call tops the fill ring up again: the next frame comes */
	assert_int_equal(sl_rx_burst(port, 0, held, 1), 0);
	{
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons(PORT),
					  .sin_addr = bed.end[1].ip4 };

		assert_int_equal(sendto(fd, "again", 5, 0,
					(struct sockaddr *)&to, sizeof(to)),
				 5);
	}
	p = sl_test_rx_one(port, 0, 2000);
	assert_non_null(p);
	sl_pkt_free(p);
	close(fd);
	assert_int_equal(sl_port_close(port), 0);
	sl_test_pool_full(small);
	sl_pool_destroy(small);
}

static void test_bad_specs(void **state)
{
	struct sl_port *port;

	(void)state;
	bed_up(1);
	port = open_b(",mode=copy-generic", pool);
	assert_null(port);
	assert_non_null(strstr(sl_last_error(), "match="));
	port = open_b(",match=udp:7300,queue=3", pool);
	assert_null(port);
	assert_non_null(strstr(sl_last_error(), "ethtool -L"));
	port = open_b(",match=udp:7300,mode=fast", pool);
	assert_null(port);
	assert_non_null(strstr(sl_last_error(), "bad mode"));
	sl_test_pool_full(pool);
	{
		/* a pool whose buffers cannot be UMEM chunks */
		struct sl_pool_opts o = { .sz = sizeof(o),
					  .n_bufs = 256,
					  .buf_size = 1536 };
		struct sl_pool *odd = sl_pool_create(&o);

		assert_non_null(odd);
		port = open_b(",match=udp:7300", odd);
		assert_null(port);
		assert_non_null(strstr(sl_last_error(), "power of two"));
		sl_pool_destroy(odd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_generic_v4_v6_roundtrip,
					  teardown),
		cmocka_unit_test_teardown(test_native_roundtrip, teardown),
		cmocka_unit_test_teardown(test_kernel_keeps_the_rest, teardown),
		cmocka_unit_test_teardown(test_set_match, teardown),
		cmocka_unit_test_teardown(test_sigkill_leaves_nothing,
					  teardown),
		cmocka_unit_test_teardown(test_zc_refused_auto_falls_back,
					  teardown),
		cmocka_unit_test_teardown(test_busy_queue_leaves_nothing,
					  teardown),
		cmocka_unit_test_teardown(test_foreign_program, teardown),
		cmocka_unit_test_teardown(test_shared_umem_forward, teardown),
		cmocka_unit_test_teardown(test_two_queues, teardown),
		cmocka_unit_test_teardown(test_dry_pool_recovers, teardown),
		cmocka_unit_test_teardown(test_bad_specs, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
