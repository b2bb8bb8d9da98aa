// SPDX-License-Identifier: MIT
/*
 * Standalone xdp and packet ports whose interface goes away (root, own
 * veth test bed: port in side B, kernel sockets in side A). For xdp in copy
 * mode and packet with tpacket=v3 and v2:
 * - the interface deleted under a port that only receives (a slow poller:
 *   one burst per millisecond): the port is in SL_PORT_ERROR within 200 ms,
 *   info.error names the interface, its ifindex and what happened; then
 *   100k receive and transmit bursts return 0 in under a second (xdp: with
 *   no call into the kernel, by its own counters); counters stay readable;
 *   a packet held from before is intact, before and after close; close
 *   works and the steering program and its BPF link are unloaded;
 * - deleted under a port that sends: ERROR right after the first transmit
 *   burst that follows;
 * - moved to another namespace (xdp and packet v3): ERROR, and after close
 *   the interface, alive in its new namespace, carries no XDP program;
 * - set down, renamed, then up: not an error: the port stays UP while
 *   bursting on the down interface, and traffic resumes both ways when it
 *   is up.
 * The pool is full and the bed's namespaces gone after every scenario.
 */
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#include <sluice/probe.h>
#include <sluice/udp.h>

#define PORT 7500

/* A port under test: its driver and the spec's options after the match. */
struct kind {
	const char *drv;
	const char *opts;
};

static const struct kind XDP = { "xdp", ",mode=copy" };
static const struct kind V3 = { "packet", "" };
static const struct kind V2 = { "packet", ",tpacket=v2" };

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
	assert_false(tb_ns_exists(bed.end[0].ns));
	assert_false(tb_ns_exists(bed.end[1].ns));
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
	return 0;
}

static void bed_up(void)
{
	struct tb_opts o = { .sz = sizeof(o) };

	if (geteuid() != 0)
		sl_test_skip("needs root (network namespaces, XDP)");
	itest_bed_up(&bed, &o);
	/* native XDP on veth sees only frames without GSO: as test_xdp */
	itest_sh(&bed,
		 "ip netns exec %s ethtool -K %s tso off gso off >/dev/null",
		 bed.end[0].ns, bed.end[0].ifname);
}

/* Open a port of kind k on B's interface, in side B. */
static struct sl_port *open_b(const struct kind *k)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	char spec[160];
	struct sl_port *p;

	snprintf(spec, sizeof(spec), "%s:%s,match=udp:%u%s", k->drv,
		 bed.end[1].ifname, PORT, k->opts);
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	p = sl_port_open(spec, &o);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	if (!p)
		fail_msg("%s: %s", spec, sl_last_error());
	return p;
}

static struct sl_port_info info_of(struct sl_port *port)
{
	struct sl_port_info info = { .sz = sizeof(info) };

	assert_int_equal(sl_port_info(port, &info), 0);
	return info;
}

/* A frame from A comes in, goes back out turned around (UDP checksum
 * cleared, legal over IPv4: A's veth may leave it partial), and A gets it. */
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
	if (!itest_wait(fd, 2000))
		fail_msg("no reply to '%s'", msg);
	n = recv(fd, back, sizeof(back) - 1, 0);
	assert_true(n > 0);
	back[n] = '\0';
	assert_string_equal(back, msg);
	/* the other copies itest_exchange() may have made the port receive */
	while (itest_wait(fd, 0) && recv(fd, back, sizeof(back), 0) > 0)
		;
}

/* A 60-byte frame from the pool, for transmit bursts. */
static struct sl_pkt *frame60(void)
{
	struct sl_pkt *p = sl_pkt_alloc(pool);

	assert_non_null(p);
	memset(p->data, 0, 60);
	p->len = 60;
	return p;
}

/*
 * Burst on queue 0 in B, one burst a millisecond, for up to ms or until the
 * port's state is `want`: receive only (an idle application), or receive
 * and send a frame (tx). Returns the state; *took_ns the time it took.
 */
static int burst_until(struct sl_port *port, int want, int ms, bool tx,
		       uint64_t *took_ns)
{
	uint64_t t0 = sl_time_ns(), end = t0 + (uint64_t)ms * 1000000u;
	struct sl_port_info info;
	struct sl_pkt *p;

	assert_int_equal(tb_enter(&bed, TB_B), 0);
	for (;;) {
		info = info_of(port);
		if (info.state == want || sl_time_ns() >= end)
			break;
		while (sl_rx_burst(port, 0, &p, 1) == 1)
			sl_pkt_free(p);
		if (tx) {
			p = frame60();
			if (sl_tx_burst(port, 0, &p, 1) != 1)
				sl_pkt_free(p);
		}
		usleep(1000);
	}
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	if (took_ns)
		*took_ns = sl_time_ns() - t0;
	return info.state;
}

/* info.error as the driver words it: "DRIVER:IFACE: interface gone
 * (ifindex N deleted or moved out of this namespace)". */
static void check_gone_error(struct sl_port *port, const char *drv)
{
	struct sl_port_info info = info_of(port);
	char want[256];

	printf("# %s\n", info.error);
	assert_int_equal(info.state, SL_PORT_ERROR);
	snprintf(want, sizeof(want),
		 "%s:%s: interface gone (ifindex %d deleted or moved out of "
		 "this namespace)",
		 drv, bed.end[1].ifname, bed.end[1].ifindex);
	assert_string_equal(info.error, want);
}

/*
 * Deleted under an idle port: ERROR within 200 ms of bursting, then bursts
 * return 0 at once, the held packet is intact, close works.
 */
static void deleted_idle(const struct kind *k)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pkt *held, *p;
	uint32_t prog = 0, link = 0;
	uint64_t took, t0, rx_before, wake = 0, checks = 0;
	bool xdp = !strcmp(k->drv, "xdp");
	int fd, i;

	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, PORT);
	struct sl_port *port = open_b(k);

	roundtrip(port, fd, "before the delete");
	held = itest_exchange(&bed, port, fd, PORT, "held across the delete",
			      3000);
	assert_non_null(held);
	if (xdp)
		itest_our_xdp(&bed, &prog, &link);
	assert_int_equal(sl_port_stats(port, &st), 0);
	rx_before = st.rx_packets;
	assert_true(rx_before >= 2);
	assert_int_equal(info_of(port).state, SL_PORT_UP);

	itest_sh(&bed, "ip -n %s link del %s", bed.end[1].ns,
		 bed.end[1].ifname);
	assert_int_equal(burst_until(port, SL_PORT_ERROR, 2000, false, &took),
			 SL_PORT_ERROR);
	printf("# %s%s: ERROR %.1f ms after the delete (idle receive)\n",
	       k->drv, k->opts, (double)took / 1e6);
	assert_true(took < 200000000ull);
	check_gone_error(port, k->drv);

	/* bursts go on returning 0, quickly, and (xdp, by its counters)
	 * without calling into the kernel */
	if (xdp) {
		wake = sl_test_xstat(port, "wakeups");
		checks = sl_test_xstat(port, "link_checks");
	}
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	t0 = sl_time_ns();
	for (i = 0; i < 100000; i++) {
		assert_int_equal(sl_rx_burst(port, 0, &p, 1), 0);
		assert_int_equal(sl_tx_burst(port, 0, &held, 1), 0);
	}
	took = sl_time_ns() - t0;
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	printf("# 100k receive + transmit bursts in ERROR: %.1f ms\n",
	       (double)took / 1e6);
	assert_true(took < 1000000000ull);
	if (xdp) {
		assert_int_equal(sl_test_xstat(port, "wakeups"), wake);
		assert_int_equal(sl_test_xstat(port, "link_checks"), checks);
	}
	/* counters are still there and did not move backwards */
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_true(st.rx_packets >= rx_before);
	assert_int_equal(info_of(port).state, SL_PORT_ERROR);

	/* the packet held from before is intact, before and after close (it
	 * is from the test's pool, which outlives the port) */
	assert_memory_equal(held->data + held->len - 22,
			    "held across the delete", 22);
	assert_int_equal(sl_port_close(port), 0);
	assert_memory_equal(held->data + held->len - 22,
			    "held across the delete", 22);
	sl_pkt_free(held);
	if (xdp)
		assert_true(itest_xdp_unloaded(prog, link));
	close(fd);
}

/* Deleted under a port that sends: the first transmit burst says so. */
static void deleted_busy(const struct kind *k)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_pkt *p;
	uint16_t took;
	int fd;

	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, PORT);
	struct sl_port *port = open_b(k);

	roundtrip(port, fd, "before the delete");
	itest_sh(&bed, "ip -n %s link del %s", bed.end[1].ns,
		 bed.end[1].ifname);
	assert_int_equal(info_of(port).state, SL_PORT_UP);
	p = frame60();
	assert_int_equal(tb_enter(&bed, TB_B), 0);
	took = sl_tx_burst(port, 0, &p, 1);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	/* xdp posts the frame before the kick tells (the port owns it,
	 * counted in tx_errors); packet hears it from sendmmsg and leaves
	 * it with the caller */
	if (!took)
		sl_pkt_free(p);
	check_gone_error(port, k->drv);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_int_equal(st.tx_errors, took);
	assert_int_equal(st.tx_packets, 1); /* the roundtrip's */
	assert_int_equal(sl_port_close(port), 0);
	close(fd);
}

/* Moved to side A's namespace: gone from the port's; after close the
 * interface, alive over there, carries no XDP program. */
static void moved(const struct kind *k)
{
	struct sl_iface_facts f = { .sz = sizeof(f) };
	uint64_t took;
	int fd;

	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, PORT);
	struct sl_port *port = open_b(k);

	roundtrip(port, fd, "before the move");
	itest_sh(&bed, "ip -n %s link set %s netns %s", bed.end[1].ns,
		 bed.end[1].ifname, bed.end[0].ns);
	assert_int_equal(burst_until(port, SL_PORT_ERROR, 2000, false, &took),
			 SL_PORT_ERROR);
	printf("# %s%s: ERROR %.1f ms after the move\n", k->drv, k->opts,
	       (double)took / 1e6);
	assert_true(took < 200000000ull);
	check_gone_error(port, k->drv);
	assert_int_equal(sl_port_close(port), 0);

	assert_int_equal(tb_enter(&bed, TB_A), 0);
	assert_int_equal(sl_probe_iface(bed.end[1].ifname, &f), 0);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	assert_int_equal(f.n_xdp_progs, 0);
	close(fd);
}

/* Set down, renamed, then up: not gone. The port stays UP while bursting
 * both ways on the down interface, and traffic resumes when it is up (the
 * sockets are bound to the device, not to its name). */
static void down_up(const struct kind *k)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_port_info info;
	uint64_t rx_before, tx_before;
	int fd;

	bed_up();
	fd = itest_udp_bound(&bed, TB_A, 0, PORT);
	struct sl_port *port = open_b(k);

	roundtrip(port, fd, "before down");
	assert_int_equal(sl_port_stats(port, &st), 0);
	rx_before = st.rx_packets;
	tx_before = st.tx_packets;

	itest_sh(&bed, "ip -n %s link set %s down", bed.end[1].ns,
		 bed.end[1].ifname);
	assert_int_equal(burst_until(port, SL_PORT_ERROR, 300, true, NULL),
			 SL_PORT_UP);
	/* a fixed name: B's namespace is the bed's own */
	itest_sh(&bed,
		 "ip -n %s link set %s name sl-renamed && "
		 "ip -n %s link set sl-renamed up",
		 bed.end[1].ns, bed.end[1].ifname, bed.end[1].ns);
	assert_int_equal(burst_until(port, SL_PORT_ERROR, 100, false, NULL),
			 SL_PORT_UP);

	roundtrip(port, fd, "after up");
	info = info_of(port);
	assert_int_equal(info.state, SL_PORT_UP);
	assert_string_equal(info.error, "");
	assert_string_equal(info.name, bed.end[1].ifname); /* as opened */
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_true(st.rx_packets > rx_before);
	assert_true(st.tx_packets > tx_before);
	assert_int_equal(sl_port_close(port), 0);
	close(fd);
}

static void test_xdp_deleted_idle(void **state)
{
	(void)state;
	deleted_idle(&XDP);
}

static void test_v3_deleted_idle(void **state)
{
	(void)state;
	deleted_idle(&V3);
}

static void test_v2_deleted_idle(void **state)
{
	(void)state;
	deleted_idle(&V2);
}

static void test_xdp_deleted_busy(void **state)
{
	(void)state;
	deleted_busy(&XDP);
}

static void test_v3_deleted_busy(void **state)
{
	(void)state;
	deleted_busy(&V3);
}

static void test_v2_deleted_busy(void **state)
{
	(void)state;
	deleted_busy(&V2);
}

static void test_xdp_moved(void **state)
{
	(void)state;
	moved(&XDP);
}

static void test_v3_moved(void **state)
{
	(void)state;
	moved(&V3);
}

static void test_xdp_down_up(void **state)
{
	(void)state;
	down_up(&XDP);
}

static void test_v3_down_up(void **state)
{
	(void)state;
	down_up(&V3);
}

static void test_v2_down_up(void **state)
{
	(void)state;
	down_up(&V2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_xdp_deleted_idle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v3_deleted_idle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v2_deleted_idle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xdp_deleted_busy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v3_deleted_busy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v2_deleted_busy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xdp_moved, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v3_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_down_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v3_down_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v2_down_up, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
