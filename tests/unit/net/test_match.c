// SPDX-License-Identifier: MIT
/*
 * Match rules: the parser takes the documented forms and refuses the rest
 * with a message naming the fault; the classic BPF program the compiler
 * makes is accepted by the kernel's checker, and gives, when run by
 * libpcap's independent interpreter (bpf_filter), the same answer as the
 * reference matcher on built frames of every kind (IPv4/IPv6, tagged or
 * not, matching ports and not, ICMP, ARP, fragments, truncations) and on
 * random mutations of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sltest.h"

#include "core/log.h"
#include "net/match.h"

static void test_parse(void **state)
{
	static const char *const good[] = {
		"",	     "all",	      "udp:1",
		"udp:65535", "udp:9000-9010", "udp:53+udp:9000-9100",
		"udp:7+all", "udp:5-5",	      "none",
	};
	static const struct {
		const char *s, *msg;
	} bad[] = {
		{ "tcp:80", "expected all, none, udp:PORT or udp:LO-HI" },
		{ "none+udp:5", "none takes nothing, so it stands alone" },
		{ "udp:5+none", "none takes nothing, so it stands alone" },
		{ "NONE", "expected all, none" },
		{ "udp:", "ports are numbers from 1 to 65535" },
		{ "udp:0", "ports are numbers from 1 to 65535" },
		{ "udp:65536", "ports are numbers from 1 to 65535" },
		{ "udp:-5", "ports are numbers" },
		{ "udp:5-", "ports are numbers" },
		{ "udp:+5", "ports are numbers" },
		{ "+udp:5", "empty rule" },
		{ "udp:9-3", "range 9-3 is empty" },
		{ "udp:1 ", "ports are numbers" },
		{ "udp:1+", "empty rule" },
		{ "ALL", "expected all" },
		{ "udp:1+udp:2+udp:3+udp:4+udp:5+udp:6+udp:7+udp:8+udp:9+"
		  "udp:10+udp:11+udp:12+udp:13+udp:14+udp:15+udp:16+udp:17",
		  "more than 16 rules" },
	};
	struct sl_match m;
	char buf[256];
	unsigned i;

	(void)state;
	for (i = 0; i < SL_ARRAY_SIZE(good); i++) {
		struct sl_match again;

		assert_int_equal(sl_match_parse(good[i], &m), 0);
		sl_match_format(&m, buf, sizeof(buf));
		assert_int_equal(sl_match_parse(buf, &again), 0);
		assert_memory_equal(&m, &again, sizeof(m));
	}
	assert_int_equal(sl_match_parse(NULL, &m), 0);
	assert_true(sl_match_is_all(&m));
	assert_int_equal(sl_match_parse("udp:9000-9010", &m), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.rule[0].kind, SL_MATCH_UDP);
	assert_int_equal(m.rule[0].lo, 9000);
	assert_int_equal(m.rule[0].hi, 9010);
	assert_false(sl_match_is_all(&m));
	assert_string_equal(sl_match_format(&m, buf, sizeof(buf)),
			    "udp:9000-9010");
	assert_int_equal(sl_match_parse("none", &m), 0);
	assert_int_equal(m.n, 0);
	assert_false(sl_match_is_all(&m));
	assert_string_equal(sl_match_format(&m, buf, sizeof(buf)), "none");
	for (i = 0; i < SL_ARRAY_SIZE(bad); i++) {
		memset(&m, 0x5a, sizeof(m));
		assert_int_equal(sl_match_parse(bad[i].s, &m), -EINVAL);
		if (!strstr(sl_last_error(), bad[i].msg))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].s,
				 sl_last_error(), bad[i].msg);
		assert_int_equal(m.n, 0x5a5a5a5a); /* untouched */
	}
}

/* The frames every program is checked against. */
struct frameset {
	uint8_t f[64][256];
	size_t len[64];
	unsigned n;
};

static void add(struct frameset *s, const void *b, int len)
{
	assert_true(len > 0 && len <= 256 && s->n < 64);
	memcpy(s->f[s->n], b, (size_t)len);
	s->len[s->n++] = (size_t)len;
}

static void make_frames(struct frameset *s)
{
	static const uint16_t ports[] = { 53, 999, 1000, 1001, 9000, 65535 };
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct sl_udp_params hp;
	uint8_t b[256];
	unsigned i, v6, tag;
	int n;

	memset(s, 0, sizeof(*s));
	for (v6 = 0; v6 < 2; v6++) {
		for (tag = 0; tag < 2; tag++) {
			memset(&hp, 0, sizeof(hp));
			sl_addr_parse(v6 ? "[fd00::1]:4000" : "10.1.1.1:4000",
				      false, &hp.src);
			sl_addr_parse(v6 ? "[fd00::2]:1" : "10.1.1.2:1", false,
				      &hp.dst);
			hp.vlan_tci = tag ? 100 : 0;
			for (i = 0; i < SL_ARRAY_SIZE(ports); i++) {
				hp.dst.port = ports[i];
				n = sl_udp_build(b, sizeof(b), &hp, "abcd", 4);
				add(s, b, n);
			}
			n = sl_icmp_echo_build(b, sizeof(b), &hp, false, 1, 1,
					       "abcd", 4);
			add(s, b, n);
		}
	}
	n = sl_arp_build(b, sizeof(b), SL_ARP_REQUEST, mac, hp.src.v4, mac,
			 hp.dst.v4);
	add(s, b, n);
	/* IPv4 with options: the port is found behind them */
	memset(&hp, 0, sizeof(hp));
	sl_addr_parse("10.1.1.1:4000", false, &hp.src);
	sl_addr_parse("10.1.1.2:1000", false, &hp.dst);
	n = sl_udp_build(b + 4, sizeof(b) - 4, &hp, "abcd", 4);
	memmove(b, b + 4, 14 + 20);
	b[14] = 0x46; /* IHL 6 */
	memset(b + 14 + 20, 1, 4); /* NOP options */
	add(s, b, n + 4);
	/* a first fragment (matches) and a later one (no UDP header) */
	n = sl_udp_build(b, sizeof(b), &hp, "abcd", 4);
	b[14 + 6] = 0x20; /* MF */
	add(s, b, n);
	b[14 + 6] = 0x00;
	b[14 + 7] = 0x08;
	add(s, b, n);
	/* 802.1ad outer tag, QinQ (two tags: not matched) */
	hp.vlan_tci = 5;
	n = sl_udp_build(b, sizeof(b), &hp, "abcd", 4);
	b[12] = 0x88;
	b[13] = 0xa8;
	add(s, b, n);
	memmove(b + 16, b + 12, (size_t)n - 12);
	b[12] = 0x88, b[13] = 0xa8, b[14] = 0, b[15] = 9;
	b[16] = 0x81, b[17] = 0x00;
	add(s, b, n + 4);
	/* truncations of a matching frame, down to nothing */
	hp.vlan_tci = 0;
	n = sl_udp_build(b, sizeof(b), &hp, "abcd", 4);
	for (i = 0; i < 6; i++)
		add(s, b,
		    14 + 20 + 3 - (int)i * 6 > 0 ? 14 + 20 + 3 - (int)i * 6 :
						   1);
}

static unsigned run(const struct sock_filter *prog, const uint8_t *f,
		    size_t len)
{
	return bpf_filter((const struct bpf_insn *)prog, f, (u_int)len,
			  (u_int)len);
}

static void check_agree(const struct sl_match *m, const struct frameset *s,
			unsigned *matched)
{
	struct sock_filter prog[SL_MATCH_CBPF_MAX];
	int n = sl_match_cbpf(m, prog, SL_ARRAY_SIZE(prog));
	unsigned i;

	assert_true(n > 0 && n <= SL_MATCH_CBPF_MAX);
	for (i = 0; i < s->n; i++) {
		bool want = sl_match_frame(m, s->f[i], s->len[i]);
		unsigned got = run(prog, s->f[i], s->len[i]);

		if (got != (want ? SL_MATCH_SNAP : 0))
			fail_msg("frame %u (%zu bytes): filter says %u, "
				 "reference %d",
				 i, s->len[i], got, want);
		*matched += want;
	}
}

static void test_cbpf_agrees(void **state)
{
	static const char *const rules[] = {
		"all",
		"udp:1000",
		"udp:999-1001",
		"udp:53+udp:9000",
		"udp:1-65535",
		"udp:1001-65535",
		"udp:2+udp:4+udp:6+udp:8+"
		"udp:10+udp:12+udp:14+udp:16+udp:18+udp:20+udp:22+udp:24+"
		"udp:26+udp:28+udp:30+udp:32-1000",
	};
	static struct frameset s;
	struct sl_match m;
	unsigned i, matched;

	(void)state;
	make_frames(&s);
	for (i = 0; i < SL_ARRAY_SIZE(rules); i++) {
		assert_int_equal(sl_match_parse(rules[i], &m), 0);
		matched = 0;
		check_agree(&m, &s, &matched);
		/* not a vacuous agreement: each rule set matches some frames
		 * and refuses others (all: every one) */
		assert_true(matched > 0);
		if (i == 0)
			assert_int_equal(matched, s.n);
		else
			assert_true(matched < s.n);
	}
	/* none: a program that takes nothing, on every frame */
	assert_int_equal(sl_match_parse("none", &m), 0);
	matched = 0;
	check_agree(&m, &s, &matched);
	assert_int_equal(matched, 0);
	/* what a user expects of udp:1000 */
	assert_int_equal(sl_match_parse("udp:1000", &m), 0);
	matched = 0;
	for (i = 0; i < s.n; i++)
		matched += sl_match_frame(&m, s.f[i], s.len[i]);
	/* v4, v4 tagged, v6, v6 tagged, options, first fragment, 802.1ad */
	assert_int_equal(matched, 7);
}

static void test_cbpf_random(void **state)
{
	static struct frameset s;
	struct sl_match m;
	unsigned i, r, matched = 0, rounds = 20000;

	(void)state;
	make_frames(&s);
	srand(7);
	assert_int_equal(sl_match_parse("udp:1000+udp:53-60", &m), 0);
	for (r = 0; r < rounds; r++) {
		struct frameset one;
		unsigned k = (unsigned)rand() % s.n, flips = 1 + rand() % 3;

		one.n = 1;
		one.len[0] = s.len[k];
		memcpy(one.f[0], s.f[k], s.len[k]);
		for (i = 0; i < flips; i++)
			one.f[0][(unsigned)rand() % one.len[0]] ^=
				(uint8_t)(1u << (rand() % 8));
		if (rand() % 8 == 0)
			one.len[0] = (unsigned)rand() % (one.len[0] + 1);
		check_agree(&m, &one, &matched);
	}
	assert_true(matched > 0 && matched < rounds);
}

static void test_kernel_accepts(void **state)
{
	static const char *const rules[] = { "all", "udp:9000",
					     "udp:1-10+udp:20-30+udp:443",
					     "none" };
	struct sock_filter prog[SL_MATCH_CBPF_MAX];
	struct sl_match m;
	unsigned i;

	(void)state;
	/* the kernel checks a classic program when it is attached to any
	 * socket, so an unprivileged UDP socket tells if it is valid */
	for (i = 0; i < SL_ARRAY_SIZE(rules); i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		int n;
		struct sock_fprog fp;

		assert_true(fd >= 0);
		assert_int_equal(sl_match_parse(rules[i], &m), 0);
		n = sl_match_cbpf(&m, prog, SL_ARRAY_SIZE(prog));
		assert_true(n > 0);
		fp.len = (unsigned short)n;
		fp.filter = prog;
		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp,
			       sizeof(fp)))
			fail_msg("%s: kernel refused: %s", rules[i],
				 strerror(errno));
		close(fd);
	}
	/* the largest program: 16 ranges */
	assert_int_equal(sl_match_parse("udp:1-2+udp:3-4+udp:5-6+udp:7-8+"
					"udp:9-10+udp:11-12+udp:13-14+"
					"udp:15-16+udp:17-18+udp:19-20+"
					"udp:21-22+udp:23-24+udp:25-26+"
					"udp:27-28+udp:29-30+udp:31-32",
					&m),
			 0);
	assert_int_equal(sl_match_cbpf(&m, prog, SL_ARRAY_SIZE(prog)),
			 SL_MATCH_CBPF_MAX);
	/* too small an output array */
	assert_int_equal(sl_match_parse("udp:9000", &m), 0);
	assert_int_equal(sl_match_cbpf(&m, prog, 5), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cbpf_agrees),
		cmocka_unit_test(test_cbpf_random),
		cmocka_unit_test(test_kernel_accepts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
