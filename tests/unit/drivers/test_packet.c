// SPDX-License-Identifier: MIT
/*
 * The packet driver. Without privileges: bad specs are refused with
 * messages naming the fault, and a missing interface or a missing
 * CAP_NET_RAW says so (as root the capability is dropped in a child to see
 * that message). With CAP_NET_RAW and CAP_SYS_ADMIN: in a private network
 * namespace of the test's own (so nothing is attached to the host's
 * interfaces), on its loopback: a match=udp:PORT port sees a kernel
 * socket's datagram to PORT exactly once (its own outgoing copy ignored)
 * and not the one to another port; a frame sent with sl_tx_burst reaches a
 * kernel socket; a VLAN-tagged frame the kernel untags on receive comes
 * back byte for byte with its tag; fanout=2 receives every datagram on
 * one of its two queues; xstats count; all of it with tpacket=v3 (the
 * default) and tpacket=v2. busy_poll: every socket of the port carries
 * SO_BUSY_POLL, an empty receive kicks the kernel (packet_busy_polls) only
 * when the socket has a NAPI id to busy-poll, and frames flow; without CAP_NET_ADMIN (dropped in a child) the port opens,
 * lists the refusal and still receives. The pool is full after each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sltest.h"

#include <sluice/udp.h>

#include "drivers/packet/packet.h"
#include "port/busy_poll.h"

static struct sl_pool *pool;
static int home_ns = -1;

static int setup(void **state)
{
	(void)state;
	pool = sl_test_pool(1024);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
	return 0;
}

static struct sl_port *open_port(const char *spec)
{
	struct sl_port_opts o = { .sz = sizeof(o),
				  .pool = pool,
				  .ring_size = 256,
				  .flags = SL_PORT_F_RX_TS };

	return sl_port_open(spec, &o);
}

static void expect_refused(const char *spec, int err, const char *msg)
{
	struct sl_port *p = open_port(spec);

	if (p) {
		sl_port_close(p);
		fail_msg("%s: opened", spec);
	}
	assert_int_equal(errno, err);
	if (!strstr(sl_last_error(), msg))
		fail_msg("%s: message '%s' lacks '%s'", spec, sl_last_error(),
			 msg);
}

static void test_bad_specs(void **state)
{
	(void)state;
	expect_refused("packet:", EINVAL, "packet:: nothing after 'packet:'");
	expect_refused("packet:abcdefghijklmnopq", EINVAL,
		       "bad interface name");
	expect_refused("packet:lo,match=tcp:80", EINVAL,
		       "packet:lo,match=tcp:80: bad match 'tcp:80'");
	expect_refused("packet:lo,match=udp:0", EINVAL, "1 to 65535");
	expect_refused("packet:lo,fanout=0", EINVAL, "bad fanout '0'");
	expect_refused("packet:lo,fanout=65", EINVAL, "bad fanout");
	expect_refused("packet:lo,fanout=2,queues=3", EINVAL,
		       "fanout=2 and queues=3 disagree");
	expect_refused("packet:lo,qdisc_bypass=1", EINVAL,
		       "bad qdisc_bypass '1': it is a flag");
	expect_refused("packet:lo,ring=5", EINVAL, "ring");
	expect_refused("packet:x,tpacket=v4", EINVAL,
		       "packet:x,tpacket=v4: bad tpacket 'v4': v2 (a frame "
		       "ring, lowest latency) or v3 (a block ring, the "
		       "default)");
	expect_refused("packet:lo,tpacket", EINVAL, "bad tpacket ''");
	expect_refused("packet:lo,tpacket=V2", EINVAL, "bad tpacket 'V2'");
	expect_refused("packet:lo,busy_poll=yes", EINVAL,
		       "packet:lo,busy_poll=yes: bad busy_poll 'yes': it is "
		       "a flag, without a value");
	expect_refused("packet:nosuch0", ENODEV,
		       "packet:nosuch0: no such interface");
	assert_string_equal(sl_last_error(),
			    "packet:nosuch0: no such interface");
}

static bool have_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

static void test_no_cap(void **state)
{
	const char *want = "packet:lo: needs CAP_NET_RAW: run as root or "
			   "setcap cap_net_raw+ep BINARY";
	pid_t pid;
	int status;

	(void)state;
	if (!have_cap(CAP_NET_RAW)) {
		expect_refused("packet:lo", EPERM, want);
		assert_string_equal(sl_last_error(), want);
		return;
	}
	/* drop CAP_NET_RAW in a child and look at the message there */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct h = {
			_LINUX_CAPABILITY_VERSION_3, 0
		};
		struct __user_cap_data_struct d[2];
		struct sl_port *p;

		if (syscall(SYS_capget, &h, d))
			_exit(2);
		d[0].effective &= ~(1u << CAP_NET_RAW);
		if (syscall(SYS_capset, &h, d))
			_exit(3);
		p = open_port("packet:lo");
		if (p)
			_exit(4);
		_exit(errno == EPERM && strcmp(sl_last_error(), want) == 0 ? 0 :
									     5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- on the loopback of a private namespace --------------------------- */

static int own_ns_setup(void **state)
{
	struct ifreq ifr;
	int fd;

	setup(state);
	if (!have_cap(CAP_NET_RAW) || !have_cap(CAP_SYS_ADMIN))
		return 0;
	home_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(home_ns >= 0);
	if (unshare(CLONE_NEWNET)) {
		close(home_ns);
		home_ns = -1;
		return 0;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	/* frames injected on lo go through input routing, which refuses
	 * 127/8 as martian: an ordinary address for the tx test */
	{
		struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;

		memset(&ifr, 0, sizeof(ifr));
		strcpy(ifr.ifr_name, "lo");
		a->sin_family = AF_INET;
		inet_pton(AF_INET, "10.99.0.1", &a->sin_addr);
		assert_int_equal(ioctl(fd, SIOCSIFADDR, &ifr), 0);
	}
	close(fd);
	return 0;
}

static int own_ns_teardown(void **state)
{
	if (home_ns >= 0) {
		assert_int_equal(setns(home_ns, CLONE_NEWNET), 0);
		close(home_ns);
		home_ns = -1;
	}
	return teardown(state);
}

#define NEED_NS()                                                           \
	do {                                                                \
		if (home_ns < 0)                                            \
			sl_test_skip("needs CAP_NET_RAW and CAP_SYS_ADMIN " \
				     "(a private network namespace)");      \
	} while (0)

static int udp_socket(uint16_t bind_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(bind_port),
				 .sin_addr.s_addr = htonl(0x0a630001) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (bind_port)
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void udp_send(int fd, uint16_t port, const void *msg, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(0x0a630001) };

	assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&a,
				sizeof(a)),
			 (ssize_t)len);
}

/* Receive on every queue for up to ms (stopping early once `want` frames
 * are in); returns how many came, into pkts. */
static unsigned rx_wait(struct sl_port *p, struct sl_pkt **pkts, unsigned cap,
			unsigned want, int ms, unsigned *per_q)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	unsigned got = 0, q;
	uint64_t end = sl_time_ns() + (uint64_t)ms * 1000000u;

	assert_int_equal(sl_port_info(p, &info), 0);
	while (sl_time_ns() < end) {
		for (q = 0; q < info.n_queues && got < cap; q++) {
			unsigned n = sl_rx_burst(p, (uint16_t)q, pkts + got,
						 (uint16_t)(cap - got));

			if (per_q)
				per_q[q] += n;
			got += n;
		}
		if (got >= want)
			break;
		usleep(1000);
	}
	return got;
}

static void lo_rx_tx(const char *tpv)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	char spec[64], mode[32];
	struct sl_pkt *pkts[8];
	struct sl_udp_view v;
	struct sl_udp_params hp;
	struct sl_xstat xs[16];
	struct sl_port *p;
	char buf[64];
	int fd, kfd, n, i;
	bool seen = false;

	NEED_NS();
	snprintf(spec, sizeof(spec), "packet:lo,match=udp:7001%s%s",
		 tpv ? ",tpacket=" : "", tpv ? tpv : "");
	snprintf(mode, sizeof(mode), "tpacket-%s", tpv ? tpv : "v3");
	p = open_port(spec);
	if (!p)
		fail_msg("%s", sl_last_error());
	assert_int_equal(sl_port_info(p, &info), 0);
	assert_string_equal(info.driver, "packet");
	assert_string_equal(info.mode, mode);
	assert_string_equal(info.name, "lo");
	assert_int_equal(info.n_queues, 1);

	fd = udp_socket(0);
	kfd = udp_socket(7002);
	udp_send(fd, 7002, "other port", 10); /* not matched */
	udp_send(fd, 7001, "to the port", 11);
	/* once: lo's outgoing copy is ignored, only the incoming one seen */
	assert_int_equal(rx_wait(p, pkts, 8, 2, 300, NULL), 1);
	assert_int_equal(sl_udp_parse(pkts[0], &v), 0);
	assert_int_equal(v.dst.port, 7001);
	assert_int_equal(v.len, 11);
	assert_memory_equal(v.payload, "to the port", 11);
	assert_true(pkts[0]->flags & SL_PKT_F_RX_TS);
	sl_pkt_free(pkts[0]);
	/* the kernel socket on 7002 got its datagram as usual */
	assert_int_equal(recv(kfd, buf, sizeof(buf), MSG_DONTWAIT), 10);

	/* send with sl_tx_burst: a kernel socket receives it */
	memset(&hp, 0, sizeof(hp));
	sl_addr_parse("10.99.0.2:7003", false, &hp.src);
	sl_addr_parse("10.99.0.1:7002", false, &hp.dst);
	pkts[0] = sl_pkt_alloc(pool);
	n = sl_udp_build(pkts[0]->data, sl_pkt_tailroom(pkts[0]), &hp,
			 "from the port", 13);
	assert_true(n > 0);
	pkts[0]->len = (uint32_t)n;
	assert_int_equal(sl_tx_burst(p, 0, pkts, 1), 1);
	{
		struct pollfd pf = { .fd = kfd, .events = POLLIN };
		struct sl_port_stats ps = { .sz = sizeof(ps) };

		assert_int_equal(sl_port_stats(p, &ps), 0);
		assert_int_equal(ps.tx_errors, 0);
		assert_int_equal(ps.tx_packets, 1);
		assert_int_equal(poll(&pf, 1, 1000), 1);
	}
	assert_int_equal(recv(kfd, buf, sizeof(buf), 0), 13);
	assert_memory_equal(buf, "from the port", 13);
	/* nothing else came in */
	assert_int_equal(rx_wait(p, pkts, 8, 1, 50, NULL), 0);

	n = sl_port_xstats(p, xs, 16);
	assert_int_equal(n, 9); /* 2 of the port layer, 7 of the driver */
	for (i = 0; i < n; i++) {
		if (strcmp(xs[i].name, "packet_kernel_packets") == 0) {
			assert_int_equal(xs[i].value, 1);
			seen = true;
		}
		if (strcmp(xs[i].name, "packet_kernel_drops") == 0)
			assert_int_equal(xs[i].value, 0);
		/* not without busy_poll */
		if (strcmp(xs[i].name, "packet_busy_polls") == 0)
			assert_int_equal(xs[i].value, 0);
	}
	assert_true(seen);
	close(fd);
	close(kfd);
	assert_int_equal(sl_port_close(p), 0);
}

static void test_lo_rx_tx(void **state)
{
	(void)state;
	lo_rx_tx(NULL);
}

static void test_lo_rx_tx_v2(void **state)
{
	(void)state;
	lo_rx_tx("v2");
}

static void test_lo_rx_tx_v3(void **state)
{
	(void)state;
	lo_rx_tx("v3");
}

static void lo_vlan_restored(const char *rx_spec, const char *tx_spec,
			     const char *tx_mode)
{
	struct sl_port *p, *tx;
	struct sl_pkt *pkts[4], *s;
	struct sl_udp_params hp;
	uint8_t sent[256];
	int n;

	NEED_NS();
	p = open_port(rx_spec);
	tx = open_port(tx_spec);
	if (!p || !tx)
		fail_msg("%s", sl_last_error());
	{
		struct sl_port_info info = { .sz = sizeof(info) };

		assert_int_equal(sl_port_info(tx, &info), 0);
		assert_string_equal(info.mode, tx_mode);
	}
	memset(&hp, 0, sizeof(hp));
	hp.vlan_tci = 0x3123; /* PCP 1, VID 0x123 */
	sl_addr_parse("127.0.0.1:7011", false, &hp.src);
	sl_addr_parse("127.0.0.1:7010", false, &hp.dst);
	s = sl_pkt_alloc(pool);
	n = sl_udp_build(s->data, sl_pkt_tailroom(s), &hp, "tagged", 6);
	assert_true(n > 0);
	s->len = (uint32_t)n;
	memcpy(sent, s->data, (size_t)n);
	assert_int_equal(sl_tx_burst(tx, 0, &s, 1), 1);
	/* lo untags it on receive (tp_vlan_tci): the filter sees an untagged
	 * frame, and the driver puts the tag back */
	assert_int_equal(rx_wait(p, pkts, 4, 1, 1000, NULL), 1);
	assert_int_equal(pkts[0]->len, n);
	assert_memory_equal(pkts[0]->data, sent, (size_t)n);
	sl_pkt_free(pkts[0]);
	/* tx's port sees nothing of its own (match=all, outgoing ignored)
	 * but did see the incoming copy on lo */
	assert_int_equal(rx_wait(tx, pkts, 4, 4, 50, NULL), 1);
	assert_int_equal(pkts[0]->len, n);
	sl_pkt_free(pkts[0]);
	assert_int_equal(sl_port_close(p), 0);
	assert_int_equal(sl_port_close(tx), 0);
}

static void test_lo_vlan_restored(void **state)
{
	(void)state;
	lo_vlan_restored("packet:lo,match=udp:7010", "packet:lo,qdisc_bypass",
			 "tpacket-v3+qdisc-bypass");
}

static void test_lo_vlan_restored_v2(void **state)
{
	(void)state;
	lo_vlan_restored("packet:lo,match=udp:7010,tpacket=v2",
			 "packet:lo,qdisc_bypass,tpacket=v2",
			 "tpacket-v2+qdisc-bypass");
}

static void lo_fanout(const char *spec)
{
	struct sl_port *p;
	struct sl_pkt *pkts[256];
	unsigned per_q[2] = { 0, 0 }, got, i;
	int fds[32];

	NEED_NS();
	p = open_port(spec);
	if (!p)
		fail_msg("%s", sl_last_error());
	/* 32 flows (source ports), 4 datagrams each */
	for (i = 0; i < 32; i++)
		fds[i] = udp_socket((uint16_t)(7100 + i));
	for (i = 0; i < 128; i++)
		udp_send(fds[i % 32], 7020, "fan", 3);
	got = rx_wait(p, pkts, 256, 128, 1000, per_q);
	assert_int_equal(got, 128);
	/* both queues got flows; hashing keeps each flow on one queue */
	assert_true(per_q[0] > 0 && per_q[1] > 0);
	for (i = 0; i < got; i++) {
		unsigned j;

		for (j = 0; j < got; j++) {
			struct sl_udp_view a, b;

			assert_int_equal(sl_udp_parse(pkts[i], &a), 0);
			assert_int_equal(sl_udp_parse(pkts[j], &b), 0);
			if (a.src.port == b.src.port)
				assert_int_equal(pkts[i]->queue,
						 pkts[j]->queue);
		}
	}
	sl_pkt_free_bulk(pkts, got);
	for (i = 0; i < 32; i++)
		close(fds[i]);
	assert_int_equal(sl_port_close(p), 0);
}

static void test_lo_fanout(void **state)
{
	(void)state;
	lo_fanout("packet:lo,fanout=2,match=udp:7020");
}

static void test_lo_fanout_v2(void **state)
{
	(void)state;
	lo_fanout("packet:lo,fanout=2,match=udp:7020,tpacket=v2");
}

/* ---- busy_poll ---------------------------------------------------------- */

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

static unsigned napi_id(int fd)
{
	unsigned id = 0;
	socklen_t l = sizeof(id);

	assert_int_equal(getsockopt(fd, SOL_SOCKET,
				    56 /* SO_INCOMING_NAPI_ID */, &id, &l),
			 0);
	return id;
}

static void lo_busy_poll(const char *tpv)
{
	struct sl_port_info info;
	struct sl_pkt *pkts[8];
	struct sl_port *p;
	char spec[96];
	const char *why;
	int fd;

	NEED_NS();
	if (!have_cap(CAP_NET_ADMIN))
		sl_test_skip("needs CAP_NET_ADMIN for busy polling");
	snprintf(spec, sizeof(spec),
		 "packet:lo,fanout=2,busy_poll,match=udp:7030,tpacket=%s", tpv);
	p = open_port(spec);
	if (!p)
		fail_msg("%s", sl_last_error());
	why = busy_refusal(p, &info);
	if (why)
		fail_msg("refused: %s", why);
	/* on every socket of the port */
	assert_int_equal(sl_busy_poll_get(sl_packet_queue_fd(p, 0)),
			 SL_BUSY_POLL_US);
	assert_int_equal(sl_busy_poll_get(sl_packet_queue_fd(p, 1)),
			 SL_BUSY_POLL_US);
	assert_int_equal(sl_packet_queue_fd(p, 2), -1);
	/* an empty ring makes the receive call into the kernel, once the
	 * socket has a NAPI id to busy-poll (lo has none; AF_PACKET records
	 * none so far): not before */
	assert_int_equal(sl_rx_burst(p, 0, pkts, 8), 0);
	assert_int_equal(sl_rx_burst(p, 1, pkts, 8), 0);
	assert_int_equal(sl_test_xstat(p, "packet_busy_polls"),
			 napi_id(sl_packet_queue_fd(p, 0)) ? 2 : 0);
	/* which takes nothing from the ring: frames still flow */
	fd = udp_socket(0);
	udp_send(fd, 7030, "busy", 4);
	assert_int_equal(rx_wait(p, pkts, 8, 1, 1000, NULL), 1);
	assert_int_equal(pkts[0]->len, 14 + 20 + 8 + 4);
	assert_memory_equal(pkts[0]->data + 42, "busy", 4);
	sl_pkt_free(pkts[0]);
	close(fd);
	assert_int_equal(sl_port_close(p), 0);
}

static void test_lo_busy_poll_v3(void **state)
{
	(void)state;
	lo_busy_poll("v3");
}

static void test_lo_busy_poll_v2(void **state)
{
	(void)state;
	lo_busy_poll("v2");
}

/* In a child without CAP_NET_ADMIN: 0, or which check failed. */
static int busy_refused_case(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	struct sl_port_info info;
	struct sl_pkt *pkt;
	struct sl_port *p;
	const char *why;
	int fd, r = 0;

	if (syscall(SYS_capget, &h, d))
		return 10;
	d[0].effective &= ~(1u << CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return 11;
	p = open_port("packet:lo,fanout=2,busy_poll,match=udp:7031,"
		      "tpacket=v2");
	if (!p)
		return 1;
	why = busy_refusal(p, &info);
	if (!why ||
	    !strstr(why, "lo: the kernel refused busy polling "
			 "(SO_PREFER_BUSY_POLL: ") ||
	    !strstr(why, "needs CAP_NET_ADMIN"))
		r = 2;
	else if (info.n_refused != 1) /* once, not per socket */
		r = 3;
	else if (sl_busy_poll_get(sl_packet_queue_fd(p, 1)) != 0)
		r = 4;
	else if (sl_rx_burst(p, 0, &pkt, 1) != 0 ||
		 sl_test_xstat(p, "packet_busy_polls") != 0)
		r = 5; /* no kicks when the kernel said no */
	if (!r) {
		fd = udp_socket(0);
		udp_send(fd, 7031, "still", 5);
		if (rx_wait(p, &pkt, 1, 1, 1000, NULL) != 1)
			r = 6;
		else
			sl_pkt_free(pkt);
		close(fd);
	}
	sl_port_close(p);
	return r;
}

static void test_lo_busy_poll_refused(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	NEED_NS();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(busy_refused_case());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_specs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lo_rx_tx, own_ns_setup,
						own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_vlan_restored,
						own_ns_setup, own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_fanout, own_ns_setup,
						own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_rx_tx_v2, own_ns_setup,
						own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_rx_tx_v3, own_ns_setup,
						own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_vlan_restored_v2,
						own_ns_setup, own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_fanout_v2, own_ns_setup,
						own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_busy_poll_v3,
						own_ns_setup, own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_busy_poll_v2,
						own_ns_setup, own_ns_teardown),
		cmocka_unit_test_setup_teardown(test_lo_busy_poll_refused,
						own_ns_setup, own_ns_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
