// SPDX-License-Identifier: MIT
/*
 * Unit tests of the probe (features, host and interface facts, path
 * verdicts), of the auto: driver on the loopback interface (risk=low: the
 * udp path, which needs no privileges), and of sl_drop_privileges in child
 * processes (dropping is irreversible). Unprivileged; the checks that need
 * root to mean anything skip without it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sltest.h"

#include <sluice/auto.h>
#include <sluice/privs.h>
#include <sluice/probe.h>

static void test_feature_names(void **state)
{
	unsigned i, j;

	(void)state;
	for (i = 0; i < SL_FEAT__COUNT; i++) {
		const char *n = sl_feature_name((enum sl_feature)i);

		assert_non_null(n);
		for (j = 0; j < i; j++)
			assert_string_not_equal(
				n, sl_feature_name((enum sl_feature)j));
	}
	assert_null(sl_feature_name(SL_FEAT__COUNT));
	assert_int_equal(sl_probe_feature(SL_FEAT__COUNT, NULL, 0), -EINVAL);
}

static void test_feature_cached(void **state)
{
	char why1[128], why2[128];
	unsigned i;

	(void)state;
	for (i = 0; i < SL_FEAT__COUNT; i++) {
		int a = sl_probe_feature((enum sl_feature)i, why1,
					 sizeof(why1));
		int b = sl_probe_feature((enum sl_feature)i, why2,
					 sizeof(why2));

		assert_true(a == 0 || a == 1);
		assert_int_equal(a, b);
		assert_string_equal(why1, why2);
		assert_true(strlen(why1) > 0);
	}
	/* facts of this kernel the other answers must agree with */
	if (access("/sys/kernel/btf/vmlinux", F_OK) == 0)
		assert_int_equal(sl_probe_feature(SL_FEAT_BTF, NULL, 0), 1);
	sl_probe_reset();
	assert_int_equal(sl_probe_feature(SL_FEAT_BPF_SYSCALL, why1,
					  sizeof(why1)),
			 sl_probe_feature(SL_FEAT_BPF_SYSCALL, NULL, 0));
}

static void test_host(void **state)
{
	struct sl_host_facts h = { .sz = sizeof(h) };
	struct rlimit rl;
	struct utsname u;

	(void)state;
	assert_int_equal(sl_probe_host(&h), 0);
	assert_int_equal(uname(&u), 0);
	assert_string_equal(h.kernel, u.release);
	assert_true(h.kernel_major >= 3);
	assert_int_equal(h.cores, (int)sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	if (rl.rlim_cur != RLIM_INFINITY)
		assert_int_equal(h.memlock_cur, rl.rlim_cur);
	assert_int_equal(h.uid, (int)getuid());
	if (geteuid() == 0)
		assert_true(h.caps & SL_CAPF_NET_RAW);
	if (h.huge_2m_total >= 0)
		assert_true(h.huge_2m_free <= h.huge_2m_total);

	h.sz = 0;
	assert_int_equal(sl_probe_host(&h), -EINVAL);
	assert_int_equal(sl_probe_host(NULL), -EINVAL);
}

static void test_iface_lo(void **state)
{
	struct sl_iface_facts f = { .sz = sizeof(f) };

	(void)state;
	assert_int_equal(sl_probe_iface("lo", &f), 0);
	assert_string_equal(f.name, "lo");
	assert_int_equal(f.ifindex, 1);
	assert_true(f.mtu >= 1500);
	assert_true(f.up);
	assert_true(f.rx_queues >= 1);
	assert_int_equal(f.n_xdp_progs, 0);
}

static void test_iface_errors(void **state)
{
	struct sl_iface_facts f = { .sz = sizeof(f) };
	struct sl_path_verdict v[SL_PATH__COUNT];

	(void)state;
	assert_int_equal(sl_probe_iface("sl-nosuch0", &f), -ENODEV);
	assert_non_null(strstr(sl_last_error(), "sl-nosuch0"));
	assert_int_equal(sl_probe_iface("an-interface-name-too-long", &f),
			 -ENODEV);
	assert_int_equal(sl_probe_paths("sl-nosuch0", NULL, v), -ENODEV);
	f.sz = 0;
	assert_int_equal(sl_probe_iface("lo", &f), -EINVAL);
	assert_int_equal(sl_probe_iface(NULL, &f), -EINVAL);
}

static void test_risk_names(void **state)
{
	enum sl_risk r;

	(void)state;
	assert_int_equal(sl_risk_parse("low", &r), 0);
	assert_int_equal(r, SL_RISK_LOW);
	assert_int_equal(sl_risk_parse("high", &r), 0);
	assert_int_equal(r, SL_RISK_HIGH);
	assert_int_equal(sl_risk_parse("HIGH", &r), -EINVAL);
	assert_int_equal(sl_risk_parse(NULL, &r), -EINVAL);
	assert_string_equal(sl_risk_name(SL_RISK_MEDIUM), "medium");
	assert_string_equal(sl_path_name(SL_PATH_XDP_COPY), "xdp-copy");
	assert_int_equal(sl_path_risk(SL_PATH_UDP), SL_RISK_LOW);
	assert_int_equal(sl_path_risk(SL_PATH_XDP_ZC), SL_RISK_HIGH);
	assert_int_equal(sl_path_risk(SL_PATH_PACKET), SL_RISK_MEDIUM);
}

static void test_paths_lo(void **state)
{
	struct sl_path_verdict v[SL_PATH__COUNT];
	struct sl_host_facts h = { .sz = sizeof(h) };
	unsigned p;

	(void)state;
	assert_int_equal(sl_probe_paths("lo", NULL, v), 0);
	assert_int_equal(sl_probe_host(&h), 0);
	for (p = 0; p < SL_PATH__COUNT; p++) {
		assert_int_equal(v[p].path, p);
		assert_int_equal(v[p].risk, sl_path_risk((enum sl_path)p));
		/* an unavailable path always says why */
		if (!v[p].available)
			assert_true(strlen(v[p].reason) > 0);
		else
			assert_string_equal(v[p].reason, "");
	}
	/* lo has 127.0.0.1 */
	assert_true(v[SL_PATH_UDP].available);
	/* the packet verdict follows CAP_NET_RAW */
	assert_int_equal(v[SL_PATH_PACKET].available,
			 !!(h.caps & SL_CAPF_NET_RAW));
	/* loopback has no zero-copy */
	assert_false(v[SL_PATH_XDP_ZC].available);
}

/* Run fn in a child; its exit status is the test's verdict (0 = pass). */
static int in_child(int (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* With no capabilities, the verdicts name what is missing and the setcap
 * line that grants it. */
static int child_no_caps(void)
{
	struct sl_privs_opts o = { .sz = sizeof(o) };
	struct sl_path_opts po = { .sz = sizeof(po), .binary = "/usr/bin/x" };
	struct sl_path_verdict v[SL_PATH__COUNT];
	struct sl_host_facts h = { .sz = sizeof(h) };

	if (sl_drop_privileges(&o))
		return 10;
	if (sl_probe_host(&h) || h.caps != 0)
		return 11;
	if (sl_probe_paths("lo", &po, v))
		return 12;
	if (v[SL_PATH_PACKET].available ||
	    !strstr(v[SL_PATH_PACKET].reason, "CAP_NET_RAW") ||
	    strcmp(v[SL_PATH_PACKET].fix, "setcap cap_net_raw+ep /usr/bin/x"))
		return 13;
	if (v[SL_PATH_XDP_COPY].available ||
	    !strstr(v[SL_PATH_XDP_COPY].fix, "cap_net_admin") ||
	    !strstr(v[SL_PATH_XDP_COPY].fix, "/usr/bin/x"))
		return 14;
	if (!v[SL_PATH_UDP].available)
		return 15;
	return 0;
}

static void test_paths_without_caps(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_no_caps), 0);
}

/* After the filter, the poll loop's calls work and new access does not. */
static int child_seccomp(void)
{
	struct sl_privs_opts o = { .sz = sizeof(o), .seccomp = true };
	struct pollfd p;
	int fds[2];
	char c = 'x';

	if (pipe(fds))
		return 10;
	if (sl_drop_privileges(&o))
		return 11;
	if (write(fds[1], &c, 1) != 1)
		return 12;
	p.fd = fds[0];
	p.events = POLLIN;
	if (poll(&p, 1, 1000) != 1 || read(fds[0], &c, 1) != 1 || c != 'x')
		return 13;
	if (sl_time_ns() == 0)
		return 14;
	free(malloc(1 << 20)); /* mmap and munmap are allowed */
	if (socket(AF_INET, SOCK_DGRAM, 0) >= 0 || errno != EPERM)
		return 15;
	if (open("/etc/hostname", O_RDONLY) >= 0 || errno != EPERM)
		return 16;
	return 0;
}

static void test_privs_seccomp(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_seccomp), 0);
}

static int child_keep(void)
{
	struct sl_privs_opts o = { .sz = sizeof(o),
				   .keep_caps = SL_PRIV_CAP(CAP_NET_RAW),
				   .user = "nobody" };
	struct sl_host_facts h = { .sz = sizeof(h) };
	int fd;

	if (sl_drop_privileges(&o))
		return 10;
	if (getuid() != 65534 && geteuid() == 0)
		return 11;
	if (sl_probe_host(&h) || h.caps != SL_CAPF_NET_RAW)
		return 12;
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		return 13;
	close(fd);
	/* and CAP_NET_ADMIN is gone: no new interface */
	if (sl_drop_privileges(NULL))
		return 14;
	if (socket(AF_PACKET, SOCK_RAW, 0) >= 0)
		return 15;
	return 0;
}

static void test_privs_keep_and_user(void **state)
{
	(void)state;
	if (geteuid() != 0)
		sl_test_skip("needs root to have capabilities to keep");
	assert_int_equal(in_child(child_keep), 0);
}

static void test_privs_bad_user(void **state)
{
	struct sl_privs_opts o = { .sz = sizeof(o), .user = "sl-no-such-user" };

	(void)state;
	/* fails before dropping anything, so it is safe in this process */
	assert_int_equal(sl_drop_privileges(&o), -ENOENT);
	assert_non_null(strstr(sl_last_error(), "sl-no-such-user"));
	o.sz = 0;
	assert_int_equal(sl_drop_privileges(&o), -EINVAL);
}

static void test_auto_spec_errors(void **state)
{
	(void)state;
	assert_null(sl_port_open("auto:lo,risk=bogus", NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(sl_last_error(), "bad risk 'bogus'"));
	assert_null(sl_port_open("auto:sl-nosuch0", NULL));
	assert_int_equal(errno, ENODEV);
	/* risk=low leaves udp only, which needs one port to bind */
	assert_null(sl_port_open("auto:lo,risk=low", NULL));
	assert_non_null(strstr(sl_last_error(), "match=udp:PORT"));
	assert_non_null(strstr(sl_last_error(), "xdp-zc"));
}

static void test_auto_low_is_udp(void **state)
{
	struct sl_pool *pool = sl_test_pool(256);
	struct sl_port_opts po = { .sz = sizeof(po), .pool = pool };
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sl_auto_event ev[4];
	struct sl_pkt *pkts[8];
	struct sl_port *port;
	uint16_t got = 0;
	int fd, i, tries;
	char spec[64];

	(void)state;
	/* a free port: bind, read it back, release */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	socklen_t sl = sizeof(to);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&to, &sl), 0);
	close(fd);

	snprintf(spec, sizeof(spec), "auto:lo,risk=low,match=udp:%u",
		 ntohs(to.sin_port));
	port = sl_port_open(spec, &po);
	if (!port)
		fail_msg("%s: %s", spec, sl_last_error());
	assert_int_equal(sl_port_info(port, &info), 0);
	assert_string_equal(info.driver, "auto");
	assert_memory_equal(info.mode, "udp/", 4);
	/* every faster path passed over, each for its risk */
	assert_int_equal(info.n_refused, 3);
	for (i = 0; i < 3; i++)
		assert_non_null(strstr(info.refused[i].why, "above the "
							    "accepted low"));
	assert_string_equal(info.refused[0].path, "xdp-zc");
	assert_string_equal(info.refused[2].path, "packet");

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(sendto(fd, "hello", 5, 0,
					(struct sockaddr *)&to, sizeof(to)),
				 5);
	close(fd);
	for (tries = 0; got < 3 && tries < 1000; tries++) {
		got += sl_rx_burst(port, 0, pkts + got, 8 - got);
		if (got < 3)
			usleep(1000);
	}
	assert_int_equal(got, 3);
	for (i = 0; i < got; i++)
		sl_pkt_free(pkts[i]);
	assert_int_equal(sl_port_stats(port, &st), 0);
	assert_int_equal(st.rx_packets, 3);
	/* a healthy port has nothing to report and stays where it is */
	assert_int_equal(sl_auto_check(port), 0);
	assert_int_equal(sl_auto_events(port, ev, 4), 0);
	assert_int_equal(sl_port_close(port), 0);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
}

static void test_auto_events_not_auto(void **state)
{
	struct sl_auto_event ev;
	struct sl_port *p = sl_port_open("pair:sl-probe-ev/0", NULL);

	(void)state;
	assert_non_null(p);
	assert_int_equal(sl_auto_events(p, &ev, 1), -EINVAL);
	assert_int_equal(sl_auto_check(p), -EINVAL);
	sl_port_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_names),
		cmocka_unit_test(test_feature_cached),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_iface_lo),
		cmocka_unit_test(test_iface_errors),
		cmocka_unit_test(test_risk_names),
		cmocka_unit_test(test_paths_lo),
		cmocka_unit_test(test_paths_without_caps),
		cmocka_unit_test(test_privs_seccomp),
		cmocka_unit_test(test_privs_keep_and_user),
		cmocka_unit_test(test_privs_bad_user),
		cmocka_unit_test(test_auto_spec_errors),
		cmocka_unit_test(test_auto_low_is_udp),
		cmocka_unit_test(test_auto_events_not_auto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
