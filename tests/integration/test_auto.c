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
 *   the application held from before stay valid;
 * - the interface itself: deleted under a running xdp path (ERROR naming
 *   it, NO_PATH event, bursts return 0 at once, program and link unloaded,
 *   held packet intact); set down and up (traffic resumes on the same
 *   path); deleted and made again under the same name, between two checks
 *   and after a while in ERROR (the port reopens on the new ifindex, from
 *   the fastest path, on xdp, packet and udp); renamed (followed) then
 *   moved to another namespace (gone); gone and back with a second queue
 *   bursting in its own thread all along;
 * - no path left: XDP program removed after the application dropped its
 *   privileges, with match=all: ERROR, not a spin.
 * The pool is full and the bed's namespaces gone at the end of every
 * scenario.
 */
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
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

static struct tb bed;
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
	tb_enter(NULL, TB_HOME);
	tb_down(&bed);
	/* nothing of the bed left behind, whatever the test did to it */
	assert_false(tb_ns_exists(bed.end[0].ns));
	assert_false(tb_ns_exists(bed.end[1].ns));
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
	return 0;
}

static void bed_up(void)
{
	struct tb_opts o = { .sz = sizeof(o) };
	char cmd[128];

	if (geteuid() != 0)
		sl_test_skip("needs root (network namespaces, XDP)");
	itest_bed_up(&bed, &o);
	/* as test_xdp does for native mode on veth: no GSO frames from A */
	snprintf(cmd, sizeof(cmd), "ethtool -K %s tso off gso off >/dev/null",
		 bed.end[0].ifname);
	if (tb_run(&bed, TB_A, cmd) != 0)
		sl_test_skip("ethtool could not turn TSO off on the peer");
}

static struct sl_port *open_b(const char *opts)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	char spec[160];
	struct sl_port *p;

	snprintf(spec, sizeof(spec), "auto:%s,match=udp:%u%s",
		 bed.end[1].ifname, PORT, opts);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	p = sl_port_open(spec, &o);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
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

/* A frame from A comes in, goes back out turned around, and A gets it. */
static void roundtrip(struct sl_port *port, int fd, const char *msg)
{
	struct sl_pkt *p = itest_exchange(&bed, port, fd, PORT, msg, 3000);
	char back[128];
	ssize_t n;

	if (!p)
		fail_msg("'%s' never arrived", msg);
	itest_turn_around(p);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	assert_int_equal(sl_tx_burst(port, 0, &p, 1), 1);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	/* several copies may have been sent; the first back is enough */
	if (!itest_wait(fd, 2000)) {
		struct sl_port_stats st = { .sz = sizeof(st) };
		struct sl_xstat xs[40];
		int k, nx;

		sl_port_stats(port, &st);
		printf("# tx %llu dropped %llu errors %llu\n",
		       (unsigned long long)st.tx_packets,
		       (unsigned long long)st.tx_dropped,
		       (unsigned long long)st.tx_errors);
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
	fd = itest_udp_bound(&bed, TB_A, 0, 7401);
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

/* sl_port_set_match on an auto: port: the path in use takes the new
 * rules (a datagram to the added port arrives), the old port goes back to
 * the kernel; on its udp path (risk=low) it is refused */
static void test_set_match(void **state)
{
	struct sl_port_info info;
	struct sl_port *port;
	struct sl_pkt *p;
	char rules[64];
	int fd, kfd;

	(void)state;
	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, 7402);
	port = open_b("");
	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	snprintf(rules, sizeof(rules), "udp:%u", PORT + 1);
	assert_int_equal(sl_port_set_match(port, rules), 0);
	p = itest_exchange(&bed, port, fd, PORT + 1, "to the new rule", 3000);
	assert_non_null(p);
	sl_pkt_free(p);
	/* PORT is the kernel's again */
	kfd = itest_udp_bound(&bed, TB_B, 0, PORT);
	itest_udp_send(&bed, TB_A, 0, PORT, "kernel's again");
	itest_udp_expect(kfd, "kernel's again");
	close(kfd);
	assert_int_equal(sl_port_close(port), 0);
	port = open_b(",risk=low");
	assert_int_equal(path_of(port, &info), SL_PATH_UDP);
	assert_int_equal(sl_port_set_match(port, rules), -EOPNOTSUPP);
	assert_int_equal(sl_port_close(port), 0);
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

	if (tb_enter(&bed, TB_B))
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
	fd = itest_udp_bound(&bed, TB_A, 0, 7402);
	struct sl_port *port = open_b(",risk=medium");

	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	roundtrip(port, fd, "before the fallback");
	/* one the application keeps across the switch */
	held = itest_exchange(&bed, port, fd, PORT, "held across", 3000);
	assert_non_null(held);

	assert_int_equal(tb_enter(&bed, TB_B), 0);
	assert_int_equal(sl_probe_iface(bed.end[1].ifname, &f), 0);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	assert_int_equal(f.n_xdp_progs, 1);
	assert_true(f.xdp_progs[0].ours);
	assert_int_equal(detach_link_of(f.xdp_progs[0].id), 0);
	assert_int_equal(sl_port_stats(port, &st), 0);
	before = st.rx_packets;

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
	assert_true(st.rx_packets > before);
	assert_true(st.tx_packets >= 2);

	/* the packet held from the xdp path is intact and can be sent */
	assert_int_equal(memcmp(held->data + held->len - 11, "held across", 11),
			 0);
	itest_turn_around(held);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	assert_int_equal(sl_tx_burst(port, 0, &held, 1), 1);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
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
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	assert_int_equal(sl_probe_iface(bed.end[1].ifname, &f), 0);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	assert_int_equal(f.n_xdp_progs, 0);
	while (sl_rx_burst(port, 0, &p, 1) == 1)
		sl_pkt_free(p);
	assert_int_equal(sl_port_close(port), 0);
	close(fd);
}

/* --- the interface itself goes away, goes down, comes back --- */

/* Delete the bed's veth pair (both ends go) from side B. */
static void bed_delete_link(void)
{
	itest_sh(&bed, "ip -n %s link del %s", bed.end[1].ns,
		 bed.end[1].ifname);
}

/* Make the veth pair again as the bed made it: same names, MACs and
 * addresses, new ifindexes. `del_first` deletes the old pair in the same
 * command, so no burst runs in between. */
static void bed_recreate_link(bool del_first)
{
	const struct tb_end *a = &bed.end[0], *b = &bed.end[1];
	char pre[128] = "";

	if (del_first)
		snprintf(pre, sizeof(pre), "ip -n %s link del %s && ", b->ns,
			 b->ifname);
	itest_sh(
		&bed,
		"%sip -n %s link add %s address %s numtxqueues %u numrxqueues %u "
		"type veth peer name %s netns %s address %s numtxqueues %u "
		"numrxqueues %u",
		pre, b->ns, b->ifname, b->mac_str, bed.queues, bed.queues,
		a->ifname, a->ns, a->mac_str, bed.queues, bed.queues);
	for (int s = 0; s < 2; s++) {
		const struct tb_end *me = &bed.end[s], *peer = &bed.end[!s];

		itest_sh(
			&bed,
			"ip -n %s link set %s addrgenmode none && "
			"ip -n %s addr add %s/24 dev %s && "
			"ip -n %s link set %s up && "
			"ip -n %s neigh replace %s lladdr %s dev %s nud permanent",
			me->ns, me->ifname, me->ns, me->ip4_str, me->ifname,
			me->ns, me->ifname, me->ns, peer->ip4_str,
			peer->mac_str, me->ifname);
	}
	itest_sh(&bed,
		 "ip netns exec %s ethtool -K %s tso off gso off >/dev/null",
		 a->ns, a->ifname);
}

/* Burst both ways on queue 0 in B for up to ms, until the port's state is
 * `want`. Every burst must return 0 once the port is in ERROR; a packet
 * offered for sending that is not taken is freed. Returns the state. */
static int burst_until_state(struct sl_port *port, int want, int ms)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	uint64_t end = sl_time_ns() + (uint64_t)ms * 1000000u;
	struct sl_pkt *p;

	assert_int_equal(tb_enter(&bed, TB_B), 0);
	for (;;) {
		assert_int_equal(sl_port_info(port, &info), 0);
		if (info.state == want || sl_time_ns() >= end)
			break;
		while (sl_rx_burst(port, 0, &p, 1) == 1)
			sl_pkt_free(p);
		p = sl_pkt_alloc(pool);
		assert_non_null(p);
		memset(p->data, 0, 60);
		p->len = 60;
		if (sl_tx_burst(port, 0, &p, 1) != 1)
			sl_pkt_free(p);
		usleep(1000);
	}
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	return info.state;
}

static void print_events(struct sl_auto_event *ev, int n)
{
	for (int i = 0; i < n; i++)
		printf("# event %d: %s -> %s: %s\n", ev[i].kind, ev[i].from,
		       ev[i].to, ev[i].why);
}

static void test_iface_deleted(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port_info info;
	struct sl_auto_event ev[4];
	struct sl_pkt *held, *p;
	uint32_t prog, link;
	uint64_t t0, rx_before;
	int fd, n, i;

	(void)state;
	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, 7403);
	struct sl_port *port = open_b("");

	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	roundtrip(port, fd, "before the delete");
	held = itest_exchange(&bed, port, fd, PORT, "held across the delete",
			      3000);
	assert_non_null(held);
	itest_our_xdp(&bed, &prog, &link);
	assert_int_equal(sl_port_stats(port, &st), 0);
	rx_before = st.rx_packets;

	bed_delete_link();
	t0 = sl_time_ns();
	assert_int_equal(burst_until_state(port, SL_PORT_ERROR, 2000),
			 SL_PORT_ERROR);
	printf("# ERROR after %.0f ms\n", (double)(sl_time_ns() - t0) / 1e6);
	info.sz = sizeof(info);
	assert_int_equal(sl_port_info(port, &info), 0);
	printf("# state %d mode '%s' error '%s'\n", info.state, info.mode,
	       info.error);
	assert_non_null(strstr(info.error, bed.end[1].ifname));
	assert_non_null(strstr(info.error, "went away"));
	assert_string_equal(info.mode, "none");
	n = sl_auto_events(port, ev, 4);
	print_events(ev, n);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].kind, SL_AUTO_EVENT_NO_PATH);
	assert_string_equal(ev[0].from, "xdp-copy");
	assert_string_equal(ev[0].to, "");
	assert_non_null(strstr(ev[0].why, bed.end[1].ifname));

	/* bursts go on returning 0, quickly: no retry loop behind them */
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	t0 = sl_time_ns();
	for (i = 0; i < 100000; i++) {
		assert_int_equal(sl_rx_burst(port, 0, &p, 1), 0);
		assert_int_equal(sl_tx_burst(port, 0, &held, 1), 0);
	}
	assert_true(sl_time_ns() - t0 < 2000000000ull);
	assert_int_equal(sl_auto_check(port), -ENOLINK);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);

	/* the dead path let go of everything: program and link unloaded */
	assert_true(itest_xdp_unloaded(prog, link));
	/* counters are still there and did not move backwards */
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_true(st.rx_packets >= rx_before);
	/* the packet held from before is intact and goes back to the pool */
	assert_int_equal(memcmp(held->data + held->len - 22,
				"held across the delete", 22),
			 0);
	sl_pkt_free(held);
	assert_int_equal(sl_port_close(port), 0);
	close(fd);
}

/* Everything of the port's on the wire side is gone: the events so far,
 * printed, and the count of those of `kind`. */
static int count_events(struct sl_port *port, int kind,
			struct sl_auto_event *last)
{
	struct sl_auto_event ev[16];
	int n = sl_auto_events(port, ev, 16), k = 0;

	assert_true(n >= 0);
	print_events(ev, n);
	for (int i = 0; i < n; i++)
		if (ev[i].kind == kind) {
			k++;
			if (last)
				*last = ev[i];
		}
	return k;
}

static void test_iface_down_up(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port_info info;
	uint64_t rx_before, tx_before;
	int fd;

	(void)state;
	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, 7404);
	struct sl_port *port = open_b("");

	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	roundtrip(port, fd, "before down");
	assert_int_equal(sl_port_stats(port, &st), 0);
	rx_before = st.rx_packets;
	tx_before = st.tx_packets;

	itest_sh(&bed, "ip -n %s link set %s down", bed.end[1].ns,
		 bed.end[1].ifname);
	/* down is not gone: the port stays up, on its path, and waits */
	assert_int_equal(burst_until_state(port, SL_PORT_ERROR, 500),
			 SL_PORT_UP);
	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	itest_sh(&bed, "ip -n %s link set %s up", bed.end[1].ns,
		 bed.end[1].ifname);

	roundtrip(port, fd, "after up");
	printf("# after down/up: %s\n", info.mode);
	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	assert_int_equal(info.state, SL_PORT_UP);
	assert_int_equal(count_events(port, SL_AUTO_EVENT_NO_PATH, NULL), 0);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_true(st.rx_packets > rx_before);
	assert_true(st.tx_packets > tx_before);
	assert_int_equal(sl_port_close(port), 0);
	close(fd);
}

static void test_iface_recreated(void **state)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port_info info;
	struct sl_auto_event ev;
	uint32_t prog, link, prog2, link2;
	uint64_t rx_before;
	int fd, old_ifindex;

	(void)state;
	bed_up();
	old_ifindex = bed.end[1].ifindex;
	fd = itest_udp_bound(&bed, TB_A, 0, 7405);
	struct sl_port *port = open_b("");

	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	roundtrip(port, fd, "first interface");
	itest_our_xdp(&bed, &prog, &link);
	assert_int_equal(sl_port_stats(port, &st), 0);
	rx_before = st.rx_packets;

	/* deleted and made again between two checks: the port reopens on
	 * the new interface, on the fastest path again */
	bed_recreate_link(true);
	/* a check from outside the port's namespace must not reopen there */
	assert_int_equal(sl_auto_check(port), -EXDEV);
	assert_non_null(strstr(sl_last_error(), "network namespace"));
	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	assert_int_equal(info.state, SL_PORT_UP);
	roundtrip(port, fd, "second interface");
	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	assert_int_equal(info.state, SL_PORT_UP);
	assert_int_equal(count_events(port, SL_AUTO_EVENT_REOPENED, &ev), 1);
	assert_string_equal(ev.from, "xdp-copy");
	assert_string_equal(ev.to, "xdp-copy");
	assert_non_null(strstr(ev.why, "went away"));
	assert_true(itest_xdp_unloaded(prog, link));
	assert_true(itest_our_xdp(&bed, &prog2, &link2) != old_ifindex);
	assert_true(prog2 != prog);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_true(st.rx_packets > rx_before);
	rx_before = st.rx_packets;

	/* deleted for a while: ERROR, then back when the interface is */
	bed_delete_link();
	assert_int_equal(burst_until_state(port, SL_PORT_ERROR, 2000),
			 SL_PORT_ERROR);
	assert_int_equal(count_events(port, SL_AUTO_EVENT_NO_PATH, NULL), 1);
	assert_true(itest_xdp_unloaded(prog2, link2));
	bed_recreate_link(false);
	assert_int_equal(burst_until_state(port, SL_PORT_UP, 2000), SL_PORT_UP);
	info.sz = sizeof(info);
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_string_equal(info.error, "");
	assert_int_equal(count_events(port, SL_AUTO_EVENT_REOPENED, &ev), 1);
	assert_string_equal(ev.from, "");
	assert_string_equal(ev.to, "xdp-copy");
	roundtrip(port, fd, "third interface");
	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_true(st.rx_packets > rx_before);
	/* a third interface under the same name, and our program on it */
	assert_true(itest_our_xdp(&bed, &prog, &link) != old_ifindex);
	assert_int_equal(sl_port_close(port), 0);
	assert_true(itest_xdp_unloaded(prog, link));
	close(fd);
}

/*
 * The path fails and nothing below it can be had: the application dropped
 * its privileges after opening (so packet is refused: no CAP_NET_RAW) and
 * match=all rules out udp. In a child, since dropping is for good; the
 * parent detaches the XDP program. Exit codes say what went wrong.
 */
static int child_no_path(int ready, int go)
{
	struct sl_privs_opts po = { .sz = sizeof(po), .user = "nobody" };
	struct sl_pool_opts pop = { .sz = sizeof(pop),
				    .n_bufs = 1024,
				    .flags = SL_POOL_F_DEBUG };
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_auto_event ev[4];
	struct sl_pool *cp;
	struct sl_port *p;
	struct sl_pkt *pk;
	uint64_t end, t0;
	char spec[96], c = 'r';
	int n, i;

	cp = sl_pool_create(&pop);
	if (!cp || tb_enter(&bed, TB_B))
		return 10;
	struct sl_port_opts o = { .sz = sizeof(o), .pool = cp };

	snprintf(spec, sizeof(spec), "auto:%s,match=all", bed.end[1].ifname);
	p = sl_port_open(spec, &o);
	if (!p) {
		printf("# %s\n", sl_last_error());
		return 11;
	}
	sl_port_info(p, &info);
	if (strncmp(info.mode, "xdp-copy/", 9))
		return 12;
	if (sl_drop_privileges(&po))
		return 13;
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		return 14;
	end = sl_time_ns() + 2000000000ull;
	do {
		while (sl_rx_burst(p, 0, &pk, 1) == 1)
			sl_pkt_free(pk);
		usleep(1000);
		sl_port_info(p, &info);
	} while (info.state != SL_PORT_ERROR && sl_time_ns() < end);
	printf("# no path: state %d error '%s'\n", info.state, info.error);
	if (info.state != SL_PORT_ERROR || !strstr(info.error, "no path"))
		return 15;
	n = sl_auto_events(p, ev, 4);
	for (i = 0; i < n; i++)
		printf("# event %d: %s -> %s: %s\n", ev[i].kind, ev[i].from,
		       ev[i].to, ev[i].why);
	if (n != 1 || ev[0].kind != SL_AUTO_EVENT_NO_PATH ||
	    !strstr(ev[0].why, "XDP program") || !strstr(ev[0].why, "packet"))
		return 16;
	/* no spin: bursts and checks return at once, and keep failing */
	t0 = sl_time_ns();
	for (i = 0; i < 100000; i++)
		if (sl_rx_burst(p, 0, &pk, 1) != 0)
			return 17;
	if (sl_time_ns() - t0 > 2000000000ull)
		return 18;
	if (sl_auto_check(p) != -ENOLINK)
		return 19;
	if (sl_port_close(p))
		return 20;
	if (sl_pool_avail(cp) != sl_pool_capacity(cp))
		return 21;
	sl_pool_destroy(cp);
	return 0;
}

static void test_no_path_left(void **state)
{
	int ready[2], go[2], st;
	uint32_t prog = 0, link = 0;
	pid_t pid;
	char c;

	(void)state;
	bed_up();
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = child_no_path(ready[1], go[0]);

		fflush(stdout);
		_exit(rc);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) == 1) {
		itest_our_xdp(&bed, &prog, &link);
		assert_int_equal(detach_link_of(prog), 0);
		assert_int_equal(write(go[1], "g", 1), 1);
	}
	close(go[1]);
	close(ready[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(prog != 0);
	assert_true(itest_xdp_unloaded(prog, link));
}

/*
 * Renamed under a running port: the sockets and the program are bound to
 * the device, so the port follows it, takes the new name and says so;
 * then the device moves to another namespace, which from the port's is
 * the interface going away: ERROR, waiting for the name.
 */
static void test_iface_renamed_then_moved(void **state)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_auto_event ev;
	char newname[IFNAMSIZ];
	uint32_t prog, link;
	int fd;

	(void)state;
	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, 7406);
	struct sl_port *port = open_b("");

	roundtrip(port, fd, "before the rename");
	itest_our_xdp(&bed, &prog, &link);
	snprintf(newname, sizeof(newname), "%.12s-r", bed.name);
	itest_sh(&bed,
		 "ip -n %s link set %s down && ip -n %s link set %s name %s && "
		 "ip -n %s link set %s up",
		 bed.end[1].ns, bed.end[1].ifname, bed.end[1].ns,
		 bed.end[1].ifname, newname, bed.end[1].ns, newname);
	roundtrip(port, fd, "after the rename");
	/* the bursts look every 100 ms; make sure one look happened */
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	assert_int_equal(sl_auto_check(port), 0);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	assert_string_equal(info.name, newname);
	assert_int_equal(count_events(port, SL_AUTO_EVENT_RENAMED, &ev), 1);
	assert_string_equal(ev.from, bed.end[1].ifname);
	assert_string_equal(ev.to, newname);

	itest_sh(&bed, "ip -n %s link set %s netns %s", bed.end[1].ns, newname,
		 bed.end[0].ns);
	assert_int_equal(burst_until_state(port, SL_PORT_ERROR, 2000),
			 SL_PORT_ERROR);
	assert_int_equal(sl_port_info(port, &info), 0);
	printf("# moved away: %s\n", info.error);
	assert_non_null(strstr(info.error, "went away"));
	assert_int_equal(count_events(port, SL_AUTO_EVENT_NO_PATH, NULL), 1);
	assert_true(itest_xdp_unloaded(prog, link));
	assert_int_equal(sl_port_close(port), 0);
	close(fd);
}

/* Queue 1's thread: bursts both ways until told to stop. */
struct q1_job {
	struct sl_port *port;
	int stop;
	uint64_t bursts, got;
	int err;
};

static void *q1_loop(void *arg)
{
	struct q1_job *j = arg;
	struct sl_pkt *p[8];
	uint16_t n, i;

	j->err = tb_enter(&bed, TB_B);
	while (!j->err && !__atomic_load_n(&j->stop, __ATOMIC_ACQUIRE)) {
		n = sl_rx_burst(j->port, 1, p, 8);
		j->got += n;
		for (i = 0; i < n; i++)
			sl_pkt_free(p[i]);
		p[0] = sl_pkt_alloc(pool);
		if (p[0]) {
			memset(p[0]->data, 0, 60);
			p[0]->len = 60;
			if (sl_tx_burst(j->port, 1, p, 1) != 1)
				sl_pkt_free(p[0]);
		}
		j->bursts++;
	}
	return NULL;
}

/* Two queues, queue 1 bursting in its own thread all along while the
 * interface goes and comes back under queue 0's checks: no crash, no hang,
 * nothing lost. */
static void test_iface_gone_two_queues(void **state)
{
	struct tb_opts o = { .sz = sizeof(o), .queues = 2 };
	struct sl_port_info info = { .sz = sizeof(info) };
	struct q1_job j = { 0 };
	pthread_t t;
	uint64_t b;
	int fd;

	(void)state;
	if (geteuid() != 0)
		sl_test_skip("needs root (network namespaces, XDP)");
	itest_bed_up(&bed, &o);
	fd = itest_udp_bound(&bed, TB_A, 0, 7407);
	j.port = open_b(",queues=2");
	assert_int_equal(sl_port_info(j.port, &info), 0);
	printf("# %s, %u queues\n", info.mode, info.n_queues);
	assert_int_equal(info.n_queues, 2);
	assert_int_equal(pthread_create(&t, NULL, q1_loop, &j), 0);

	bed_delete_link();
	assert_int_equal(burst_until_state(j.port, SL_PORT_ERROR, 2000),
			 SL_PORT_ERROR);
	b = __atomic_load_n(&j.bursts, __ATOMIC_RELAXED);
	bed_recreate_link(false);
	assert_int_equal(burst_until_state(j.port, SL_PORT_UP, 2000),
			 SL_PORT_UP);
	assert_int_equal(sl_port_info(j.port, &info), 0);
	printf("# back: %s, %u queues\n", info.mode, info.n_queues);
	assert_int_equal(info.n_queues, 2);
	assert_int_equal(path_of(j.port, &info), SL_PATH_XDP_COPY);
	assert_int_equal(count_events(j.port, SL_AUTO_EVENT_REOPENED, NULL), 1);
	usleep(100000);
	__atomic_store_n(&j.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.err, 0);
	/* queue 1 went on bursting through all of it */
	assert_true(j.bursts > b);
	assert_int_equal(sl_port_close(j.port), 0);
	close(fd);
}

/* The interface re-created under the udp path (risk=low) and under the
 * packet path (where a fallback from xdp left the port): the port reopens
 * on the new one, from the fastest path the risk allows. */
static void test_iface_recreated_udp_packet(void **state)
{
	struct sl_port_info info;
	struct sl_auto_event ev;
	uint32_t prog, link;
	int fd;

	(void)state;
	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, 7408);

	struct sl_port *port = open_b(",risk=low");

	assert_int_equal(path_of(port, &info), SL_PATH_UDP);
	roundtrip(port, fd, "udp, first interface");
	bed_recreate_link(true);
	roundtrip(port, fd, "udp, second interface");
	/* the socket is bound to the address, back on the new interface, so
	 * traffic may flow before a look at the link: make one */
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	assert_true(sl_auto_check(port) >= 0);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	roundtrip(port, fd, "udp, reopened");
	assert_int_equal(path_of(port, &info), SL_PATH_UDP);
	assert_int_equal(count_events(port, SL_AUTO_EVENT_REOPENED, &ev), 1);
	assert_string_equal(ev.from, "udp");
	assert_string_equal(ev.to, "udp");
	assert_int_equal(sl_port_close(port), 0);

	port = open_b("");
	itest_our_xdp(&bed, &prog, &link);
	assert_int_equal(detach_link_of(prog), 0);
	roundtrip(port, fd, "packet, second interface");
	assert_int_equal(path_of(port, &info), SL_PATH_PACKET);
	bed_recreate_link(true);
	roundtrip(port, fd, "third interface");
	assert_int_equal(path_of(port, &info), SL_PATH_XDP_COPY);
	assert_int_equal(count_events(port, SL_AUTO_EVENT_REOPENED, &ev), 1);
	assert_string_equal(ev.from, "packet");
	assert_string_equal(ev.to, "xdp-copy");
	assert_true(itest_xdp_unloaded(prog, link));
	itest_our_xdp(&bed, &prog, &link);
	assert_int_equal(sl_port_close(port), 0);
	assert_true(itest_xdp_unloaded(prog, link));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_risk_levels, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_set_match, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_udp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fallback_when_xdp_removed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_iface_deleted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iface_down_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iface_recreated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_path_left, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iface_renamed_then_moved,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_iface_gone_two_queues,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_iface_recreated_udp_packet,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
