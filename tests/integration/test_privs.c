// SPDX-License-Identifier: MIT
/*
 * sl_drop_privileges on the veth test bed (root): a child process opens an
 * xdp port (and a packet port) in side B, drops every capability (then, in
 * a second case, also becomes nobody and installs the seccomp filter), and
 * shows that
 * - a datagram from a kernel socket in A still arrives on each open port,
 *   and the frame turned around and sent still reaches A;
 * - it can no longer open a raw socket, load or attach an XDP program, or
 *   open a new xdp port.
 * Dropping is irreversible, hence the child; it reports by exit status
 * (0 pass, else the number of the check that failed, printed).
 */
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "common.h"

#include "drivers/xdp/steer.h"

#include <sluice/privs.h>
#include <sluice/udp.h>

#define PORT_XDP 7500
#define PORT_PKT 7502

static struct tb bed;

static int teardown(void **state)
{
	(void)state;
	tb_enter(NULL, TB_HOME);
	tb_down(&bed);
	return 0;
}

#define CHECK(n, cond)                                                   \
	do {                                                             \
		if (!(cond)) {                                           \
			printf("# check %d failed: %s (%s)\n", n, #cond, \
			       sl_last_error());                         \
			return n;                                        \
		}                                                        \
	} while (0)

/* Send msg from fd (in A) to B:port, get it on `port`, send it back turned
 * around (UDP checksum cleared: see test_auto.c), and read it in A. 0 or
 * the failing step. */
static int roundtrip(struct sl_port *port, int fd, uint16_t dport,
		     const char *msg)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(dport),
				  .sin_addr = bed.end[1].ip4 };
	uint64_t end = sl_time_ns() + 3000000000ull;
	struct sl_pkt *p = NULL;
	char back[64];
	size_t l4;
	ssize_t n;

	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&to,
		   sizeof(to)) != (ssize_t)strlen(msg))
		return 1;
	while (sl_time_ns() < end && sl_rx_burst(port, 0, &p, 1) != 1)
		usleep(500);
	if (!p)
		return 2;
	if (sl_udp_swap(p))
		return 3;
	l4 = 14 + (size_t)(p->data[14] & 0xf) * 4;
	p->data[l4 + 6] = p->data[l4 + 7] = 0;
	if (sl_tx_burst(port, 0, &p, 1) != 1)
		return 4;
	if (!itest_wait(fd, 2000))
		return 5;
	n = recv(fd, back, sizeof(back) - 1, 0);
	if (n <= 0)
		return 6;
	back[n] = '\0';
	return strcmp(back, msg) ? 7 : 0;
}

static void *idle_thread(void *arg)
{
	return arg;
}

static int child(const struct sl_privs_opts *po)
{
	struct sl_pool *pool = sl_test_pool(4096);
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(7501),
				 .sin_addr = bed.end[0].ip4 };
	struct sl_port *xp, *pp, *again;
	struct sl_steer *s = NULL;
	char spec[96];
	int fd, raw, r;

	CHECK(10, tb_enter(&bed, TB_A) == 0);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(11, fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(12, tb_enter(&bed, TB_B) == 0);
	snprintf(spec, sizeof(spec), "xdp:%s,match=udp:%u,mode=copy",
		 bed.end[1].ifname, PORT_XDP);
	xp = sl_port_open(spec, &o);
	CHECK(13, xp != NULL);
	snprintf(spec, sizeof(spec), "packet:%s,match=udp:%u",
		 bed.end[1].ifname, PORT_PKT);
	pp = sl_port_open(spec, &o);
	CHECK(14, pp != NULL);

	CHECK(20, sl_drop_privileges(po) == 0);

	r = roundtrip(xp, fd, PORT_XDP, "xdp after the drop");
	if (r)
		printf("# xdp roundtrip step %d\n", r);
	CHECK(21, r == 0);
	r = roundtrip(pp, fd, PORT_PKT, "packet after the drop");
	if (r)
		printf("# packet roundtrip step %d\n", r);
	CHECK(22, r == 0);

	raw = socket(AF_PACKET, SOCK_RAW, 0);
	CHECK(30, raw < 0 && errno == EPERM);
	raw = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	CHECK(31, raw < 0 && errno == EPERM);
	/* no program can be loaded, so none attached */
	CHECK(32, sl_steer_load(&s, NULL, 0) < 0);
	/* the port closes fine, and cannot be opened again */
	CHECK(33, sl_port_close(xp) == 0);
	snprintf(spec, sizeof(spec), "xdp:%s,match=udp:%u,mode=copy",
		 bed.end[1].ifname, PORT_XDP);
	again = sl_port_open(spec, &o);
	/* with the filter, it fails even earlier (no socket to look the
	 * interface up with) */
	CHECK(34, again == NULL && (po->seccomp || errno == EPERM));
	printf("# reopening: %s\n", sl_last_error());
	if (po->seccomp) {
		pthread_t th;
		pid_t pid;

		/* threads (the --cores workers) start under the filter;
		 * processes do not */
		CHECK(35, pthread_create(&th, NULL, idle_thread, NULL) == 0 &&
				  pthread_join(th, NULL) == 0);
		pid = fork();
		if (pid == 0)
			_exit(0);
		CHECK(36, pid < 0 && errno == EPERM);
	}
	return 0;
}

static void run(const struct sl_privs_opts *po)
{
	struct tb_opts o = { .sz = sizeof(o) };
	char cmd[128];
	pid_t pid;
	int st;

	if (geteuid() != 0)
		sl_test_skip("needs root (network namespaces, XDP)");
	itest_bed_up(&bed, &o);
	snprintf(cmd, sizeof(cmd), "ethtool -K %s tso off gso off >/dev/null",
		 bed.end[0].ifname);
	if (tb_run(&bed, TB_A, cmd) != 0)
		sl_test_skip("ethtool could not turn TSO off on the peer");
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r = child(po);

		fflush(stdout);
		_exit(r);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_caps_dropped(void **state)
{
	struct sl_privs_opts po = { .sz = sizeof(po) };

	(void)state;
	run(&po);
}

static void test_nobody_and_seccomp(void **state)
{
	struct sl_privs_opts po = { .sz = sizeof(po),
				    .user = "nobody",
				    .seccomp = true };

	(void)state;
	run(&po);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_caps_dropped, teardown),
		cmocka_unit_test_teardown(test_nobody_and_seccomp, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
