// SPDX-License-Identifier: MIT
/* The XDP steering program: its parser matches exactly the frames its rules
 * name (IPv4 with options, IPv6, one VLAN tag) and passes the rest; attached
 * to a veth in generic mode with no socket bound, everything still reaches
 * the kernel while the counters tell matched from passed; detaching, or the
 * death of the process that attached it, leaves no program on the link. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <signal.h>
#include <sys/wait.h>

#include <bpf/bpf.h>

#include "common.h"
#include "drivers/xdp/steer.h"

static struct tb bed;
static struct sl_steer *steer;

static int teardown(void **state)
{
	(void)state;
	tb_enter(NULL, TB_HOME);
	sl_steer_destroy(steer);
	steer = NULL;
	tb_down(&bed);
	return 0;
}

static void need_root(void)
{
	if (geteuid() != 0)
		sl_test_skip("needs root: BPF programs and network namespaces");
}

static struct sl_steer_rule rule(const char *s)
{
	struct sl_steer_rule r;

	assert_int_equal(sl_steer_rule_parse(s, &r), 0);
	return r;
}

/* --- frames for BPF_PROG_TEST_RUN ------------------------------------- */

struct frame {
	uint8_t b[256];
	size_t len;
};

static void put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put16(struct frame *f, uint16_t v)
{
	v = htons(v);
	put(f, &v, 2);
}

/* Ethernet, optional VLAN tags (tpid list), then ethertype. */
static void eth(struct frame *f, int vlans, uint16_t tpid, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	int i;

	f->len = 0;
	put(f, macs, sizeof(macs));
	for (i = 0; i < vlans; i++) {
		put16(f, tpid);
		put16(f, 100 + i);
	}
	put16(f, type);
}

static void ipv4(struct frame *f, uint8_t proto, int opt_words, uint16_t frag)
{
	uint8_t h[20] = { (uint8_t)(0x40 | (5 + opt_words)),
			  0,
			  0,
			  0,
			  0,
			  0,
			  0,
			  0,
			  64,
			  proto };
	uint8_t nop[4] = { 1, 1, 1, 1 };
	int i;

	h[6] = (uint8_t)(frag >> 8);
	h[7] = (uint8_t)frag;
	h[2] = 0;
	h[3] = (uint8_t)(20 + 4 * opt_words + 8 + 4);
	h[12] = 10, h[15] = 1, h[16] = 10, h[19] = 2;
	put(f, h, sizeof(h));
	for (i = 0; i < opt_words; i++)
		put(f, nop, sizeof(nop));
}

static void ipv6(struct frame *f, uint8_t next)
{
	uint8_t h[40] = { 0x60, 0, 0, 0, 0, 12, next, 64 };

	h[8] = 0xfd, h[23] = 1, h[24] = 0xfd, h[39] = 2;
	put(f, h, sizeof(h));
}

static void udp(struct frame *f, uint16_t dport)
{
	put16(f, 40000);
	put16(f, dport);
	put16(f, 12);
	put16(f, 0);
	put(f, "data", 4);
}

struct verdict {
	uint64_t matched, passed;
};

/* Run one frame through the program; what it did to the counters. */
static struct verdict run(const struct frame *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b,
		    .data_size_in = (__u32)f->len, .repeat = 1);
	struct sl_steer_stats a, b;
	struct verdict v;

	assert_int_equal(sl_steer_read_stats(steer, &a), 0);
	assert_int_equal(bpf_prog_test_run_opts(sl_steer_prog_fd(steer), &o),
			 0);
	/* no socket is bound: matched frames fall back to the kernel too */
	assert_int_equal(o.retval, XDP_PASS);
	assert_int_equal(sl_steer_read_stats(steer, &b), 0);
	v.matched = b.matched - a.matched;
	v.passed = b.passed - a.passed;
	assert_int_equal(b.redirect_failed - a.redirect_failed, v.matched);
	assert_int_equal(v.matched + v.passed, 1);
	return v;
}

#define MATCHED(f) assert_int_equal(run(f).matched, 1)
#define PASSED(f) assert_int_equal(run(f).passed, 1)

static void test_parser(void **state)
{
	struct sl_steer_rule rules[2];
	struct frame f;
	int err;

	(void)state;
	need_root();
	rules[0] = rule("udp:7777");
	rules[1] = rule("udp:9000-9010");
	err = sl_steer_load(&steer, rules, 2);
	if (err == -EPERM)
		sl_test_skip("cannot load BPF: %s", sl_last_error());
	assert_int_equal(err, 0);

	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0), udp(&f, 7777);
	MATCHED(&f);
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0), udp(&f, 7778);
	PASSED(&f);
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0), udp(&f, 9000);
	MATCHED(&f);
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0), udp(&f, 9010);
	MATCHED(&f);
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0), udp(&f, 9011);
	PASSED(&f);
	/* IPv4 options move the UDP header */
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 3, 0), udp(&f, 7777);
	MATCHED(&f);
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 10, 0), udp(&f, 9005);
	MATCHED(&f);
	/* fragments pass, first or not */
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0x2000),
		udp(&f, 7777);
	PASSED(&f);
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0x0010),
		udp(&f, 7777);
	PASSED(&f);
	/* TCP to the same port is not UDP */
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_TCP, 0, 0), udp(&f, 7777);
	PASSED(&f);
	/* one VLAN tag, 802.1Q or 802.1ad */
	eth(&f, 1, ETH_P_8021Q, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0),
		udp(&f, 7777);
	MATCHED(&f);
	eth(&f, 1, ETH_P_8021AD, ETH_P_IPV6), ipv6(&f, IPPROTO_UDP),
		udp(&f, 7777);
	MATCHED(&f);
	/* two tags are more than the program reads */
	eth(&f, 2, ETH_P_8021Q, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0),
		udp(&f, 7777);
	PASSED(&f);
	/* IPv6, and IPv6 with an extension header (passes) */
	eth(&f, 0, 0, ETH_P_IPV6), ipv6(&f, IPPROTO_UDP), udp(&f, 7777);
	MATCHED(&f);
	eth(&f, 0, 0, ETH_P_IPV6), ipv6(&f, IPPROTO_UDP), udp(&f, 53);
	PASSED(&f);
	eth(&f, 0, 0, ETH_P_IPV6), ipv6(&f, 0 /* hop-by-hop */),
		put(&f, "\x11\0\1\4\0\0\0\0", 8), udp(&f, 7777);
	PASSED(&f);
	/* truncated: the UDP header is cut short, or the IPv4 options are
	 * longer than the frame */
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0), udp(&f, 7777);
	f.len = 14 + 20 + 4;
	PASSED(&f);
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 10, 0);
	f.len -= 8;
	PASSED(&f);
	eth(&f, 0, 0, ETH_P_IPV6), ipv6(&f, IPPROTO_UDP);
	f.len -= 1;
	PASSED(&f);
	/* ARP passes ... */
	eth(&f, 0, 0, ETH_P_ARP), put(&f, "\0\1\x08\0\6\4\0\1", 8);
	PASSED(&f);

	/* ... unless the rule is "all"; no rules match nothing */
	rules[0] = rule("all");
	assert_int_equal(sl_steer_set_rules(steer, rules, 1), 0);
	MATCHED(&f);
	assert_int_equal(sl_steer_set_rules(steer, NULL, 0), 0);
	eth(&f, 0, 0, ETH_P_IP), ipv4(&f, IPPROTO_UDP, 0, 0), udp(&f, 7777);
	PASSED(&f);
}

/* What `ip link` says about XDP on side B's veth. */
static int ip_link_shows_xdp(void)
{
	char cmd[128], out[1024];

	snprintf(cmd, sizeof(cmd), "ip -d link show dev %s", bed.end[1].ifname);
	assert_int_equal(tb_capture(&bed, TB_B, cmd, out, sizeof(out)), 0);
	return strstr(out, "xdp") != NULL;
}

static int find_in_b(char *who, size_t len)
{
	int ret;

	assert_int_equal(tb_enter(&bed, TB_B), 0);
	ret = sl_steer_find_attached(bed.end[1].ifindex, who, len);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	return ret;
}

static void test_generic_mode_passes_everything(void **state)
{
	struct sl_steer_rule r;
	struct sl_steer_stats st;
	struct sl_steer *second = NULL;
	char who[256], msg[32];
	int fd7777, fd7778, fd6, i, err;
	const int n = 5;

	(void)state;
	need_root();
	itest_bed_up(&bed, NULL);
	r = rule("udp:7777");
	assert_int_equal(sl_steer_load(&steer, &r, 1), 0);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_NONE);

	assert_int_equal(tb_enter(&bed, TB_B), 0);
	err = sl_steer_attach(steer, bed.end[1].ifindex, SL_STEER_MODE_SKB);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	if (err)
		fail_msg("attach: %s", sl_last_error());
	assert_true(ip_link_shows_xdp());
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_OURS);
	assert_non_null(strstr(who, "sl_steer (sluice) mode skb"));

	/* a second program is refused, and the message says what is there */
	assert_int_equal(sl_steer_load(&second, &r, 1), 0);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	err = sl_steer_attach(second, bed.end[1].ifindex, SL_STEER_MODE_SKB);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	sl_steer_destroy(second);
	assert_true(err == -EBUSY || err == -EEXIST);
	assert_non_null(strstr(sl_last_error(), "sl_steer (sluice)"));

	/* no socket bound: the matching flow still reaches the kernel */
	fd7777 = itest_udp_bound(&bed, TB_B, 0, 7777);
	fd7778 = itest_udp_bound(&bed, TB_B, 0, 7778);
	fd6 = itest_udp_bound(&bed, TB_B, 1, 7777);
	for (i = 0; i < n; i++) {
		snprintf(msg, sizeof(msg), "to 7777 #%d", i);
		itest_udp_send(&bed, TB_A, 0, 7777, msg);
		itest_udp_expect(fd7777, msg);
		snprintf(msg, sizeof(msg), "to 7778 #%d", i);
		itest_udp_send(&bed, TB_A, 0, 7778, msg);
		itest_udp_expect(fd7778, msg);
	}
	itest_udp_send(&bed, TB_A, 1, 7777, "v6 to 7777");
	itest_udp_expect(fd6, "v6 to 7777");
	close(fd7777);
	close(fd7778);
	close(fd6);
	assert_true(itest_ping(&bed, TB_A, 0));
	assert_true(itest_ping(&bed, TB_A, 1));
	assert_true(itest_ping(&bed, TB_B, 0));

	assert_int_equal(sl_steer_read_stats(steer, &st), 0);
	printf("# counters: matched %llu passed %llu redirect_failed %llu\n",
	       (unsigned long long)st.matched, (unsigned long long)st.passed,
	       (unsigned long long)st.redirect_failed);
	/* exactly the datagrams to 7777; at least the 5 to 7778 and the
	 * echo requests and replies passed (the kernel may add its own) */
	assert_int_equal(st.matched, n + 1);
	assert_int_equal(st.redirect_failed, n + 1);
	assert_true(st.passed >= (uint64_t)n + 3);

	assert_int_equal(sl_steer_detach(steer), 0);
	assert_false(ip_link_shows_xdp());
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_NONE);
	assert_int_equal(sl_steer_detach(steer), -ENOENT);
}

/* A program that is not ours: XDP_PASS, named "other". */
static void test_foreign_program_is_told_apart(void **state)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_SKB_MODE);
	char who[256];
	int pfd, lfd;

	(void)state;
	need_root();
	itest_bed_up(&bed, NULL);
	pfd = bpf_prog_load(BPF_PROG_TYPE_XDP, "other", "MIT", prog, 2, NULL);
	assert_true(pfd >= 0);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	lfd = bpf_link_create(pfd, bed.end[1].ifindex, BPF_XDP, &lo);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	assert_true(lfd >= 0);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_OTHER);
	assert_non_null(strstr(who, "other (not sluice) mode skb"));
	close(lfd);
	close(pfd);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_NONE);
}

static void test_killed_owner_leaves_no_program(void **state)
{
	struct sl_steer_rule r;
	char who[256], c;
	int pfd[2], status, i, found = -1;
	pid_t pid;

	(void)state;
	need_root();
	itest_bed_up(&bed, NULL);
	r = rule("udp:7777");
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sl_steer *s;

		close(pfd[0]);
		if (sl_steer_load(&s, &r, 1) || tb_enter(&bed, TB_B) ||
		    sl_steer_attach(s, bed.end[1].ifindex, SL_STEER_MODE_SKB))
			_exit(2);
		if (write(pfd[1], "k", 1) != 1)
			_exit(3);
		pause();
		_exit(4);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		waitpid(pid, &status, 0);
		fail_msg("child could not attach (status %d)", status);
	}
	close(pfd[0]);
	assert_int_equal(find_in_b(who, sizeof(who)), SL_STEER_FOUND_OURS);
	assert_true(ip_link_shows_xdp());
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* the link is released with the dead process's files */
	for (i = 0; i < 100; i++) {
		found = find_in_b(who, sizeof(who));
		if (found == SL_STEER_FOUND_NONE)
			break;
		usleep(10000);
	}
	assert_int_equal(found, SL_STEER_FOUND_NONE);
	assert_false(ip_link_shows_xdp());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_parser, teardown),
		cmocka_unit_test_teardown(test_generic_mode_passes_everything,
					  teardown),
		cmocka_unit_test_teardown(test_foreign_program_is_told_apart,
					  teardown),
		cmocka_unit_test_teardown(test_killed_owner_leaves_no_program,
					  teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
