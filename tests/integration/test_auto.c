// SPDX-License-Identifier: MIT
/*
 * auto: ports on the veth test bed (root), port in side B, kernel sockets
 * in side A:
 * - risk=medium picks xdp (veth has native XDP), risk=high too (veth has no
 *   zero-copy, and says why), risk=low picks udp; the path taken is never
 *   above the accepted risk and traffic flows both ways on each;
 * - as an unprivileged user (a child that dropped to nobody) auto: takes
 *   udp and records why each faster path was refused;
 * - fallback: the XDP program is detached from under a running port (by
 *   its BPF link, as another process would); the port notices, moves to
 *   the packet path, raises an event, keeps its counters, and the packets
 *   the application held from before stay valid. The pool is full at the
 *   end of every scenario.
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <bpf/bpf.h>

#include "common.h"

#include <sluice/auto.h>
#include <sluice/privs.h>
#include <sluice/probe.h>
#include <sluice/udp.h>

#define PORT 7400

static struct sl_testbed bed;
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
	sl_testbed_enter(NULL, SL_TESTBED_HOME);
	sl_testbed_down(&bed);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
	return 0;
}

static void bed_up(void)
{
	struct sl_testbed_opts o = { .sz = sizeof(o) };
	char cmd[128];

	if (geteuid() != 0)
		sl_test_skip("needs root (network namespaces, XDP)");
	itest_bed_up(&bed, &o);
	/* as test_xdp does for native mode on veth: no GSO frames from A */
	snprintf(cmd, sizeof(cmd), "ethtool -K %s tso off gso off >/dev/null",
		 bed.end[0].ifname);
	if (sl_testbed_run(&bed, SL_TESTBED_A, cmd) != 0)
		sl_test_skip("ethtool could not turn TSO off on the peer");
}

static struct sl_port *open_b(const char *opts)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	char spec[160];
	struct sl_port *p;

	snprintf(spec, sizeof(spec), "auto:%s,match=udp:%u%s",
		 bed.end[1].ifname, PORT, opts);
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_B), 0);
	p = sl_port_open(spec, &o);
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_HOME), 0);
	if (!p)
		fail_msg("%s: %s", spec, sl_last_error());
	return p;
}

/* The path an auto port is on, from info.mode ("xdp-copy/copy-native"). */
static enum sl_path path_of(struct sl_port *p, struct sl_port_info *info)
{
	unsigned i;

	info->sz = sizeof(*info);
	assert_int_equal(sl_port_info(p, info), 0);
	assert_string_equal(info->driver, "auto");
	for (i = 0; i < SL_PATH__COUNT; i++) {
		const char *n = sl_path_name((enum sl_path)i);

		if (!strncmp(info->mode, n, strlen(n)) &&
		    info->mode[strlen(n)] == '/')
			return (enum sl_path)i;
	}
	fail_msg("unknown mode '%s'", info->mode);
	return SL_PATH__COUNT;
}

/* Send `msg` from fd (in A) to B:PORT every 100 ms until the port gets a
 * frame carrying it, bursting in B's namespace (a fallback reopens there).
 * Returns the packet, or NULL after ms. */
static struct sl_pkt *exchange(struct sl_port *port, int fd, const char *msg,
			       int ms)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(PORT),
				  .sin_addr = bed.end[1].ip4 };
	uint64_t end = sl_time_ns() + (uint64_t)ms * 1000000u, next = 0;
	struct sl_pkt *p, *found = NULL;

	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_B), 0);
	while (!found && sl_time_ns() < end) {
		if (sl_time_ns() >= next) {
			assert_int_equal(sendto(fd, msg, strlen(msg), 0,
						(struct sockaddr *)&to,
						sizeof(to)),
					 strlen(msg));
			next = sl_time_ns() + 100000000u;
		}
		while (sl_rx_burst(port, 0, &p, 1) == 1) {
			if (!found && p->len >= strlen(msg) &&
			    !memcmp(p->data + p->len - strlen(msg), msg,
				    strlen(msg)))
				found = p;
			else
				sl_pkt_free(p);
		}
		usleep(500);
	}
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_HOME), 0);
	return found;
}

/* Turn an IPv4 UDP frame around. The UDP checksum is cleared (legal over
 * IPv4): A's veth leaves it partial (checksum offload), and XDP hands the
 * frame over as it was on the wire, so keeping it would keep a bad sum. */
static void turn_around(struct sl_pkt *p)
{
	size_t l4;

	assert_int_equal(sl_udp_swap(p), 0);
	l4 = 14 + (size_t)(p->data[14] & 0xf) * 4;
	assert_true(p->len >= l4 + 8);
	p->data[l4 + 6] = p->data[l4 + 7] = 0;
}

/* A frame from A comes in, goes back out turned around, and A gets it. */
static void roundtrip(struct sl_port *port, int fd, const char *msg)
{
	struct sl_pkt *p = exchange(port, fd, msg, 3000);
	char back[128];
	ssize_t n;

	if (!p)
		fail_msg("'%s' never arrived", msg);
	turn_around(p);
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_B), 0);
	assert_int_equal(sl_tx_burst(port, 0, &p, 1), 1);
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_HOME), 0);
	/* several copies may have been sent; the first back is enough */
	if (!itest_wait(fd, 2000)) {
		struct sl_port_stats st = { .sz = sizeof(st) };
		struct sl_xstat xs[40];
		int k, nx;

		sl_port_stats(port, &st);
		printf("# tx %llu dropped %llu errors %llu\n",
		       (unsigned long long)st.total.tx_packets,
		       (unsigned long long)st.total.tx_dropped,
		       (unsigned long long)st.total.tx_errors);
		nx = sl_port_xstats(port, xs, 40);
		for (k = 0; k < nx && k < 40; k++)
			printf("#  %s %llu\n", xs[k].name,
			       (unsigned long long)xs[k].value);
		fail_msg("no reply to '%s'", msg);
	}
	n = recv(fd, back, sizeof(back) - 1, 0);
	assert_true(n > 0);
	back[n] = '\0';
	assert_string_equal(back, msg);
}

static void test_risk_levels(void **state)
{
	static const struct {
		const char *opt;
		enum sl_risk risk;
	} cases[] = {
		{ ",risk=low", SL_RISK_LOW },
		{ "", SL_RISK_MEDIUM }, /* the default */
		{ ",risk=medium", SL_RISK_MEDIUM },
		{ ",risk=high", SL_RISK_HIGH },
	};
	struct sl_port_info info;
	unsigned i, r;
	int fd;

	(void)state;
	bed_up();
	fd = itest_udp_bound(&bed, SL_TESTBED_A, 0, 7401);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sl_port *port = open_b(cases[i].opt);
		enum sl_path p = path_of(port, &info);
		char msg[64];

		printf("# %s: %s\n", cases[i].opt, info.mode);
		assert_true(sl_path_risk(p) <= cases[i].risk);
		if (cases[i].risk == SL_RISK_LOW)
			assert_int_equal(p, SL_PATH_UDP);
		else
			assert_int_equal(p, SL_PATH_XDP_COPY);
		/* veth has no zero-copy: high passes over it and says why */
		assert_string_equal(info.refused[0].path, "xdp-zc");
		if (cases[i].risk == SL_RISK_HIGH)
			assert_non_null(
				strstr(info.refused[0].why, "zero-copy"));
		else
			assert_non_null(strstr(info.refused[0].why,
					       "above the accepted"));
		for (r = 0; r < info.n_refused; r++)
			printf("#   refused %s: %s\n", info.refused[r].path,
			       info.refused[r].why);
		snprintf(msg, sizeof(msg), "auto risk case %u", i);
		roundtrip(port, fd, msg);
		assert_int_equal(sl_port_close(port), 0);
	}
	close(fd);
}

/* As nobody, with no capabilities: udp, and the refusals say why. */
static int child_unprivileged(void)
{
	struct sl_privs_opts po = { .sz = sizeof(po), .user = "nobody" };
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	struct sl_port_info info = { .sz = sizeof(info) };
	char spec[96];
	struct sl_port *p;

	if (sl_testbed_enter(&bed, SL_TESTBED_B))
		return 10;
	if (sl_drop_privileges(&po))
		return 11;
	snprintf(spec, sizeof(spec), "auto:%s,risk=high,match=udp:%u",
		 bed.end[1].ifname, PORT);
	p = sl_port_open(spec, &o);
	if (!p) {
		printf("# %s\n", sl_last_error());
		return 12;
	}
	sl_port_info(p, &info);
	printf("# unprivileged: %s\n", info.mode);
	if (strncmp(info.mode, "udp/", 4))
		return 13;
	if (info.n_refused != 3 ||
	    !strstr(info.refused[1].why, "CAP_NET_ADMIN") ||
	    !strstr(info.refused[2].why, "setcap cap_net_raw+ep"))
		return 14;
	sl_port_close(p);
	return 0;
}

static void test_unprivileged_udp(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	bed_up();
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_unprivileged());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Detach the XDP link holding program prog_id, as another process with
 * the privileges would (BPF_LINK_DETACH). 0 or -errno. */
static int detach_link_of(uint32_t prog_id)
{
	uint32_t id = 0;

	while (bpf_link_get_next_id(id, &id) == 0) {
		struct bpf_link_info li;
		uint32_t len = sizeof(li);
		int fd = bpf_link_get_fd_by_id(id), err;

		if (fd < 0)
			continue;
		memset(&li, 0, sizeof(li));
		if (bpf_obj_get_info_by_fd(fd, &li, &len) == 0 &&
		    li.type == BPF_LINK_TYPE_XDP && li.prog_id == prog_id) {
			err = bpf_link_detach(fd);
			close(fd);
			return err;
		}
		close(fd);
	}
	return -ENOENT;
}

static void test_fallback_when_xdp_removed(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_iface_facts f = { .sz = sizeof(f) };
	struct sl_port_info info;
	struct sl_auto_event ev[4];
	struct sl_pkt *held, *p;
	uint64_t before;
	int fd, n;

	(void)state;
	bed_up();
	fd = itest_udp_bound(&bed, SL_TESTBED_A, 0, 7402);
	struct sl_port *port = open_b(",risk=medium");

	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	roundtrip(port, fd, "before the fallback");
	/* one the application keeps across the switch */
	held = exchange(port, fd, "held across", 3000);
	assert_non_null(held);

	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_B), 0);
	assert_int_equal(sl_probe_iface(bed.end[1].ifname, &f), 0);
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_HOME), 0);
	assert_int_equal(f.n_xdp_progs, 1);
	assert_true(f.xdp_progs[0].ours);
	assert_int_equal(detach_link_of(f.xdp_progs[0].id), 0);
	assert_int_equal(sl_port_stats(port, &st), 0);
	before = st.total.rx_packets;

	/* the bursts notice within their 100 ms check and reopen */
	roundtrip(port, fd, "after the fallback");
	assert_int_equal(path_of(port, &info), SL_PATH_PACKET);
	n = sl_auto_events(port, ev, 4);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].kind, SL_AUTO_EVENT_FALLBACK);
	assert_string_equal(ev[0].from, "xdp-copy");
	assert_string_equal(ev[0].to, "packet");
	assert_non_null(strstr(ev[0].why, "XDP program"));
	printf("# event: %s -> %s: %s\n", ev[0].from, ev[0].to, ev[0].why);

	/* counters went on from where they were */
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_true(st.total.rx_packets > before);
	assert_true(st.total.tx_packets >= 2);

	/* the packet held from the xdp path is intact and can be sent */
	assert_int_equal(memcmp(held->data + held->len - 11, "held across", 11),
			 0);
	turn_around(held);
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_B), 0);
	assert_int_equal(sl_tx_burst(port, 0, &held, 1), 1);
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_HOME), 0);
	{
		char back[64];
		ssize_t m;
		bool seen = false;

		while (!seen && itest_wait(fd, 2000)) {
			m = recv(fd, back, sizeof(back) - 1, 0);
			assert_true(m > 0);
			back[m] = '\0';
			seen = !strcmp(back, "held across");
		}
		assert_true(seen);
	}
	/* nothing left of ours on the interface */
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_B), 0);
	assert_int_equal(sl_probe_iface(bed.end[1].ifname, &f), 0);
	assert_int_equal(sl_testbed_enter(&bed, SL_TESTBED_HOME), 0);
	assert_int_equal(f.n_xdp_progs, 0);
	while (sl_rx_burst(port, 0, &p, 1) == 1)
		sl_pkt_free(p);
	assert_int_equal(sl_port_close(port), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_risk_levels, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_udp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fallback_when_xdp_removed,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
