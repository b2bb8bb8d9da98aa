// SPDX-License-Identifier: MIT
/*
 * Integration test of the in-kernel traffic generator (sl_live_run): frames
 * sent from namespace A over a veth pair must reach a UDP socket in
 * namespace B with their sequence numbers, spread over the requested source
 * ports, and with checksums the kernel accepts (bad ones would be dropped
 * and counted in InCsumErrors). Needs root; creates and removes its own
 * namespaces (sl-lt<pid>a/b), also when a test fails. The option checks run
 * unprivileged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/xdp/live.h"
#include "sltest.h"

#define SPORT 9000
#define DPORT 9999

static char ns_a[32], ns_b[32];
static int fd_a = -1, fd_b = -1, fd_home = -1;
static int have_bed;
static uint8_t mac_a[SL_ETH_ALEN], mac_b[SL_ETH_ALEN];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void bed_down(void)
{
	if (ns_a[0])
		sh("ip netns del %s 2>/dev/null", ns_a);
	if (ns_b[0])
		sh("ip netns del %s 2>/dev/null", ns_b);
}

static int enter(int fd)
{
	return setns(fd, CLONE_NEWNET);
}

static int read_mac(const char *ns, const char *ifname, uint8_t *mac)
{
	char cmd[160], buf[32];
	unsigned v[6];
	FILE *f;
	int ok;

	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s cat /sys/class/net/%s/address", ns, ifname);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	ok = fgets(buf, sizeof(buf), f) &&
	     sscanf(buf, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
		    &v[5]) == 6;
	pclose(f);
	for (int i = 0; ok && i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return ok ? 0 : -1;
}

/* A: sl-lt0 10.66.1.1 fd66:1::1 <-> B: sl-lt1 10.66.1.2 fd66:1::2, with
 * pinned neighbours; GRO on B's end gives it NAPI, without which veth
 * drops every redirected frame. */
static int bed_up(void)
{
	char path[64];

	snprintf(ns_a, sizeof(ns_a), "sl-lt%da", (int)getpid());
	snprintf(ns_b, sizeof(ns_b), "sl-lt%db", (int)getpid());
	bed_down();
	if (sh("ip netns add %s && ip netns add %s", ns_a, ns_b) ||
	    sh("ip -n %s link add sl-lt0 type veth peer name sl-lt1 netns %s",
	       ns_a, ns_b) ||
	    sh("ip -n %s addr add 10.66.1.1/24 dev sl-lt0 && "
	       "ip -n %s addr add fd66:1::1/64 dev sl-lt0 nodad && "
	       "ip -n %s link set sl-lt0 up",
	       ns_a, ns_a, ns_a) ||
	    sh("ip -n %s addr add 10.66.1.2/24 dev sl-lt1 && "
	       "ip -n %s addr add fd66:1::2/64 dev sl-lt1 nodad && "
	       "ip -n %s link set sl-lt1 up",
	       ns_b, ns_b, ns_b) ||
	    sh("ip netns exec %s ethtool -K sl-lt1 gro on >/dev/null", ns_b))
		return -1;
	if (read_mac(ns_a, "sl-lt0", mac_a) || read_mac(ns_b, "sl-lt1", mac_b))
		return -1;
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns_a);
	fd_a = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns_b);
	fd_b = open(path, O_RDONLY);
	fd_home = open("/proc/self/ns/net", O_RDONLY);
	return fd_a < 0 || fd_b < 0 || fd_home < 0 ? -1 : 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	atexit(bed_down);
	have_bed = bed_up() == 0;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (fd_home >= 0)
		enter(fd_home);
	bed_down();
	return 0;
}

/* InCsumErrors of the Udp (or Udp6) counters of the current namespace. */
static long csum_errors(int v6)
{
	char head[1024] = "", line[1024];
	long val = -1;
	FILE *f =
		fopen(v6 ? "/proc/self/net/snmp6" : "/proc/self/net/snmp", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *hs, *vs, *h, *v;

		if (v6) {
			if (sscanf(line, "Udp6InCsumErrors %ld", &val) == 1)
				break;
			continue;
		}
		if (strncmp(line, "Udp:", 4) != 0)
			continue;
		if (!head[0]) { /* first "Udp:" line names the columns */
			memcpy(head, line, sizeof(head));
			continue;
		}
		h = strtok_r(head, " \n", &hs);
		v = strtok_r(line, " \n", &vs);
		while (h && v && strcmp(h, "InCsumErrors") != 0) {
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		if (h && v)
			val = atol(v);
		break;
	}
	fclose(f);
	return val;
}

struct rx {
	unsigned got, bad_port, dup, out_of_range;
	unsigned per_flow[8];
};

/* Send count frames with flows ports from A and read them in B. */
static void send_and_check(int v6, unsigned count, unsigned flows,
			   uint64_t rate, struct rx *rx)
{
	struct sl_udp_params p = { 0 };
	struct sl_live_result res;
	uint8_t frame[128];
	uint8_t *seen = calloc(count, 1);
	int len, fd, err, big = 64 << 20;
	long csum0, csum1;

	assert_non_null(seen);
	memset(rx, 0, sizeof(*rx));
	memcpy(p.src_mac, mac_a, SL_ETH_ALEN);
	memcpy(p.dst_mac, mac_b, SL_ETH_ALEN);
	assert_int_equal(sl_addr_parse(v6 ? "[fd66:1::1]:9000" :
					    "10.66.1.1:9000",
				       false, &p.src),
			 0);
	assert_int_equal(sl_addr_parse(v6 ? "[fd66:1::2]:9999" :
					    "10.66.1.2:9999",
				       false, &p.dst),
			 0);
	len = sl_udp_build(frame, sizeof(frame), &p, NULL, 32);
	assert_true(len > 0);
	memset(frame + len - 32, 0xab, 32);
	/* the template's checksum is deliberately wrong: the generator must
	 * recompute it, or every datagram would be dropped */
	frame[len - 32 - 2] ^= 0x5a;

	/* receiver in B, large enough to hold every datagram */
	assert_int_equal(enter(fd_b), 0);
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (v6) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6,
					  .sin6_port = htons(DPORT) };
		inet_pton(AF_INET6, "fd66:1::2", &a.sin6_addr);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons(DPORT) };
		inet_pton(AF_INET, "10.66.1.2", &a.sin_addr);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	csum0 = csum_errors(v6);

	assert_int_equal(enter(fd_a), 0);
	struct sl_live_opts o = {
		.sz = sizeof(o),
		.ifindex = (int)if_nametoindex("sl-lt0"),
		.frame = frame,
		.frame_len = (size_t)len,
		.flows = flows,
		.count = count,
		.rate_pps = rate,
		.cpu = 0,
	};
	err = sl_live_run(&o, &res);
	if (err)
		print_message("sl_live_run: %s\n", sl_last_error());
	assert_int_equal(err, 0);
	assert_int_equal(res.frames, count);

	assert_int_equal(enter(fd_b), 0);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		union {
			struct sockaddr_in v4;
			struct sockaddr_in6 v6;
		} from;
		socklen_t fl = sizeof(from);
		uint8_t buf[64];
		uint64_t seq = 0;
		uint16_t sport;
		ssize_t n;

		if (poll(&pfd, 1, 500) <= 0)
			break;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &fl);
		if (n != 32)
			continue;
		rx->got++;
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | buf[i];
		sport = ntohs(v6 ? from.v6.sin6_port : from.v4.sin_port);
		if (seq >= count) {
			rx->out_of_range++;
			continue;
		}
		if (seen[seq]++)
			rx->dup++;
		if (sport != SPORT + seq % flows)
			rx->bad_port++;
		if (sport >= SPORT && sport < SPORT + 8)
			rx->per_flow[sport - SPORT]++;
	}
	csum1 = csum_errors(v6);
	close(fd);
	free(seen);
	assert_true(csum0 >= 0);
	assert_int_equal(csum1, csum0);
}

static void check_bed(void)
{
	if (geteuid() != 0)
		sl_test_skip("needs root (network namespaces, BPF)");
	if (!have_bed)
		sl_test_skip("could not set up namespaces and veth (ip, "
			     "ethtool?)");
}

static void test_ipv4_four_flows(void **state)
{
	struct rx rx;

	(void)state;
	check_bed();
	send_and_check(0, 10000, 4, 100000, &rx);
	/* a modest rate into a large socket buffer: nothing may be lost */
	assert_int_equal(rx.got, 10000);
	assert_int_equal(rx.dup, 0);
	assert_int_equal(rx.out_of_range, 0);
	assert_int_equal(rx.bad_port, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rx.per_flow[i], 2500);
	for (int i = 4; i < 8; i++)
		assert_int_equal(rx.per_flow[i], 0);
}

static void test_ipv6_three_flows(void **state)
{
	struct rx rx;

	(void)state;
	check_bed();
	send_and_check(1, 3000, 3, 100000, &rx);
	assert_int_equal(rx.got, 3000);
	assert_int_equal(rx.dup, 0);
	assert_int_equal(rx.bad_port, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rx.per_flow[i], 1000);
}

static void test_ipv4_max_rate(void **state)
{
	struct rx rx;

	(void)state;
	check_bed();
	send_and_check(0, 20000, 2, 0, &rx);
	/* at full speed some loss is allowed, but not most, and whatever
	 * arrives is intact and in its flow */
	assert_true(rx.got > 10000);
	assert_int_equal(rx.dup, 0);
	assert_int_equal(rx.bad_port, 0);
}

static void expect_einval(struct sl_live_opts *o, const char *msg)
{
	struct sl_live_result res;

	assert_int_equal(sl_live_run(o, &res), -EINVAL);
	if (!strstr(sl_last_error(), msg))
		fail_msg("message '%s' lacks '%s'", sl_last_error(), msg);
}

static void test_bad_opts(void **state)
{
	static uint8_t big[SL_LIVE_MAX_FRAME + 1];
	uint8_t frame[64] = { 0 };
	struct sl_live_opts o = { .sz = sizeof(o),
				  .ifindex = 1,
				  .frame = frame,
				  .frame_len = sizeof(frame),
				  .count = 1,
				  .cpu = -1 };

	(void)state;
	o.ifindex = 0;
	expect_einval(&o, "ifindex 0");
	o.ifindex = 1;
	o.frame_len = 0;
	expect_einval(&o, "empty frame");
	o.frame = big;
	o.frame_len = sizeof(big);
	expect_einval(&o, "over 4096");
	o.frame = frame;
	o.frame_len = sizeof(frame);
	o.count = 0;
	expect_einval(&o, "count or a duration");
	o.count = 1;
	o.flows = 4; /* zero frame: not UDP */
	expect_einval(&o, "UDP");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_ipv4_four_flows),
		cmocka_unit_test(test_ipv6_three_flows),
		cmocka_unit_test(test_ipv4_max_rate),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
