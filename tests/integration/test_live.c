// SPDX-License-Identifier: MIT
/*
 * Integration test of the in-kernel traffic generator (sl_live_run): frames
 * sent from namespace A over a veth pair must reach a UDP socket in
 * namespace B with their sequence numbers, spread over the requested source
 * ports, and with checksums the kernel accepts (bad ones would be dropped
 * and counted in InCsumErrors). A second, quiet veth pair (no addresses,
 * IPv6 off, so the kernel sends nothing on it) carries runs into the
 * count-and-drop sink, which must count exactly the frames asked for: few
 * or many, below or not a multiple of the batch, paced or not, and while
 * the generator's thread is moved between CPUs mid-run as the scheduler
 * may do (the kernel only keeps it in place within a batch). Needs root;
 * creates and removes its own namespaces (sl-lt<pid>a/b), also when a test
 * fails. The option checks run unprivileged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sluice/live.h>

#include "core/log.h"
#include "sltest.h"

#define SPORT 9000
#define DPORT 9999

static char ns_a[32], ns_b[32];
static int fd_a = -1, fd_b = -1, fd_home = -1;
static int have_bed;
static uint8_t mac_a[SL_ETH_ALEN], mac_b[SL_ETH_ALEN];
static uint8_t mac_qa[SL_ETH_ALEN], mac_qb[SL_ETH_ALEN];

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
	/* the quiet pair sl-lt2 <-> sl-lt3 for the sink: with IPv6 off and
	 * no address the kernel sends nothing there (no router
	 * solicitation, MLD or ARP) that the sink would count */
	if (sh("ip -n %s link add sl-lt2 type veth peer name sl-lt3 netns %s",
	       ns_a, ns_b) ||
	    sh("ip netns exec %s sysctl -qw net.ipv6.conf.sl-lt2.disable_ipv6=1 "
	       "&& ip -n %s link set sl-lt2 up",
	       ns_a, ns_a) ||
	    sh("ip netns exec %s sysctl -qw net.ipv6.conf.sl-lt3.disable_ipv6=1 "
	       "&& ip -n %s link set sl-lt3 up",
	       ns_b, ns_b))
		return -1;
	if (read_mac(ns_a, "sl-lt0", mac_a) ||
	    read_mac(ns_b, "sl-lt1", mac_b) ||
	    read_mac(ns_a, "sl-lt2", mac_qa) ||
	    read_mac(ns_b, "sl-lt3", mac_qb))
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

/*
 * Moves a thread back and forth between two CPUs while a run goes on, as
 * the scheduler may: pthread_setaffinity_np() on a thread inside a batch
 * waits until the kernel lets it move (between batches or calls), so each
 * flip that returns is a move made.
 */
struct mover {
	pthread_t target, thread;
	cpu_set_t old;
	int cpu[2];
	atomic_int stop;
	unsigned moves;
};

static void *mover_main(void *arg)
{
	struct mover *m = arg;

	for (unsigned i = 0; !atomic_load(&m->stop); i++) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(m->cpu[i & 1], &set);
		if (pthread_setaffinity_np(m->target, sizeof(set), &set) == 0)
			m->moves++;
		usleep(2000);
	}
	return NULL;
}

/* Start moving the calling thread; skips the test without two CPUs. */
static void mover_start(struct mover *m)
{
	int n = 0;

	memset(m, 0, sizeof(*m));
	m->target = pthread_self();
	assert_int_equal(
		pthread_getaffinity_np(m->target, sizeof(m->old), &m->old), 0);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &m->old))
			m->cpu[n++] = c;
	if (n < 2)
		sl_test_skip("needs two CPUs to move the generator between");
	assert_int_equal(pthread_create(&m->thread, NULL, mover_main, m), 0);
}

/* Stop, give the thread back its CPUs; returns the moves made. */
static unsigned mover_stop(struct mover *m)
{
	atomic_store(&m->stop, 1);
	pthread_join(m->thread, NULL);
	pthread_setaffinity_np(m->target, sizeof(m->old), &m->old);
	return m->moves;
}

/* Send count frames with flows ports from A and read them in B; cpu -2:
 * any CPU, and the thread is moved between two meanwhile. */
static void send_and_check(int v6, unsigned count, unsigned flows,
			   uint64_t rate, int cpu, struct rx *rx)
{
	struct mover mv;
	struct sl_udp_params p = { 0 };
	struct sl_live_result res = { .sz = sizeof(res) };
	uint8_t frame[128];
	uint8_t *seen;
	int len, fd, err, big = 64 << 20;
	long csum0, csum1;

	if (cpu < -1) /* first, as it may skip the test */
		mover_start(&mv);
	seen = calloc(count, 1);
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
		.cpu = cpu < -1 ? -1 : cpu,
	};
	err = sl_live_run(&o, &res);
	if (err == -EOPNOTSUPP) { /* this host's kernel refuses live frames */
		if (cpu < -1)
			mover_stop(&mv);
		close(fd);
		sl_test_skip("%s", sl_last_error());
	}
	if (cpu < -1) /* the thread was moved to and fro meanwhile */
		assert_true(mover_stop(&mv) >= 2);
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
	send_and_check(0, 10000, 4, 100000, 0, &rx);
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
	send_and_check(1, 3000, 3, 100000, 0, &rx);
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
	send_and_check(0, 20000, 2, 0, 0, &rx);
	/* at full speed some loss is allowed, but not most, and whatever
	 * arrives is intact and in its flow */
	assert_true(rx.got > 10000);
	assert_int_equal(rx.dup, 0);
	assert_int_equal(rx.bad_port, 0);
}

/* Paced, on no CPU in particular and moved between two mid-run: still
 * exactly the count, each sequence number once (a per-CPU counter sent
 * up to the count again from each CPU, restarting the sequence at 0). */
static void test_moved_paced_exact(void **state)
{
	struct rx rx;

	(void)state;
	check_bed();
	send_and_check(0, 3000, 2, 20000, -2, &rx);
	assert_int_equal(rx.got, 3000);
	assert_int_equal(rx.dup, 0);
	assert_int_equal(rx.out_of_range, 0);
	assert_int_equal(rx.bad_port, 0);
}

/* Frames the sink has counted once it stopped rising for 300 ms. */
static uint64_t sink_settle(const struct sl_live_sink *sink)
{
	uint64_t n = sl_live_sink_count(sink), last;
	int still = 0;

	for (int i = 0; i < 100 && still < 6; i++) {
		usleep(50000);
		last = n;
		n = sl_live_sink_count(sink);
		still = n == last ? still + 1 : 0;
	}
	return n;
}

/*
 * Watches the sink's count from another thread while a paced run goes on
 * and keeps the largest excess, over any two samples, of the frames
 * counted between them over what the rate allows in that time: a burst.
 * Each sample is bracketed by the clock before and after the read, so a
 * late sample only widens the window it ends.
 */
struct burst_probe {
	const struct sl_live_sink *sink;
	uint64_t rate;
	pthread_t thread;
	atomic_int stop;
	unsigned n;
	struct {
		uint64_t before, after, count;
	} s[4096];
	double excess; /* frames */
};

static void *probe_main(void *arg)
{
	struct burst_probe *bp = arg;

	while (!atomic_load(&bp->stop) && bp->n < SL_ARRAY_SIZE(bp->s)) {
		bp->s[bp->n].before = sl_time_ns();
		bp->s[bp->n].count = sl_live_sink_count(bp->sink);
		bp->s[bp->n].after = sl_time_ns();
		bp->n++;
		usleep(1000);
	}
	return NULL;
}

static void probe_stop(struct burst_probe *bp)
{
	atomic_store(&bp->stop, 1);
	pthread_join(bp->thread, NULL);
	bp->excess = 0;
	for (unsigned i = 0; i < bp->n; i++)
		for (unsigned j = i + 1; j < bp->n; j++) {
			double e = (double)(bp->s[j].count - bp->s[i].count) -
				   (double)bp->rate *
					   (double)(bp->s[j].after -
						    bp->s[i].before) /
					   1e9;

			bp->excess = SL_MAX(bp->excess, e);
		}
}

/*
 * One run on the quiet pair into the count-and-drop sink: res.frames and
 * the sink's count must both be the count asked for (when no duration
 * may come first). cpu -2: any CPU and
 * moved between two mid-run. With bp, bp->rate set, the sink is watched for
 * bursts during the run. Returns the frames the sink counted.
 */
static uint64_t sink_run_probed(uint64_t count, double duration, uint64_t rate,
				uint32_t batch, int cpu,
				struct sl_live_result *res,
				struct burst_probe *bp)
{
	struct sl_udp_params p = { 0 };
	struct sl_live_sink *sink = NULL;
	struct mover mv;
	uint8_t frame[128];
	uint64_t got;
	unsigned moves;
	int len, err;

	memcpy(p.src_mac, mac_qa, SL_ETH_ALEN);
	memcpy(p.dst_mac, mac_qb, SL_ETH_ALEN);
	assert_int_equal(sl_addr_parse("10.66.2.1:9000", false, &p.src), 0);
	assert_int_equal(sl_addr_parse("10.66.2.2:9999", false, &p.dst), 0);
	len = sl_udp_build(frame, sizeof(frame), &p, NULL, 18);
	assert_true(len > 0);

	/* first, as it may skip the test: nothing must stay attached */
	if (cpu < -1)
		mover_start(&mv);
	/* native mode: it also gives the veth peer the NAPI live frames need */
	assert_int_equal(enter(fd_b), 0);
	err = sl_live_sink_attach((int)if_nametoindex("sl-lt3"), true, &sink);
	if (err)
		print_message("sink: %s\n", sl_last_error());
	assert_int_equal(err, 0);

	assert_int_equal(enter(fd_a), 0);
	struct sl_live_opts o = {
		.sz = sizeof(o),
		.ifindex = (int)if_nametoindex("sl-lt2"),
		.frame = frame,
		.frame_len = (size_t)len,
		.count = count,
		.duration_s = duration,
		.rate_pps = rate,
		.cpu = cpu < -1 ? -1 : cpu,
		.batch_size = batch,
	};
	if (bp) {
		bp->sink = sink;
		assert_int_equal(
			pthread_create(&bp->thread, NULL, probe_main, bp), 0);
	}
	err = sl_live_run(&o, res);
	if (bp)
		probe_stop(bp);
	moves = cpu < -1 ? mover_stop(&mv) : 2;
	got = sink_settle(sink);
	/* detached by ifindex in the current namespace: the sink's */
	enter(fd_b);
	sl_live_sink_detach(sink);
	if (err != -EOPNOTSUPP) /* refused: no time to move it */
		assert_true(moves >= 2); /* the thread was moved to and fro */
	if (err == -EOPNOTSUPP) /* this host's kernel refuses live frames */
		sl_test_skip("%s", sl_last_error());
	if (err)
		print_message("sl_live_run: %s\n", sl_last_error());
	assert_int_equal(err, 0);
	assert_false(res->interrupted);
	/* what the generator reports is what arrived */
	assert_int_equal(res->frames, got);
	if (count && !duration) {
		if (got != count)
			print_message("count %llu batch %u rate %llu cpu %d: "
				      "sink got %llu\n",
				      (unsigned long long)count, batch,
				      (unsigned long long)rate, cpu,
				      (unsigned long long)got);
		assert_int_equal(got, count);
	}
	return got;
}

static uint64_t sink_run(uint64_t count, double duration, uint64_t rate,
			 uint32_t batch, int cpu, struct sl_live_result *res)
{
	return sink_run_probed(count, duration, rate, batch, cpu, res, NULL);
}

/* Counts below the batch, equal to it, not a multiple of it and many
 * batches: exactly that many arrive, paced or not, pinned or moved. */
static void test_sink_exact_counts(void **state)
{
	static const uint64_t counts[] = { 1, 10, 64, 1037, 20000 };
	struct sl_live_result res = { .sz = sizeof(res) };

	(void)state;
	check_bed();
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		sink_run(counts[i], 0, 0, 0, 0, &res);
		sink_run(counts[i], 0, 0, 16, -1, &res);
		sink_run(counts[i], 0, 200000, 0, 0, &res);
	}
	/* and moved between CPUs mid-run, at full speed and paced */
	sink_run(200037, 0, 0, 0, -2, &res); /* several calls */
	sink_run(5000, 0, 50000, 0, -2, &res);
	sink_run(777, 0, 20000, 256, -2, &res);
}

/*
 * A paced run of duration D at rate R: exactly R x D frames, never faster
 * than the rate, and about D long plus the pauses between BPF_PROG_RUN
 * calls (~20 ms each), which the result reports. The kernel sends nothing
 * in a pause and the generator does not catch up after one: that would be
 * a burst of 20 ms of frames (400 at 20 kpps, 20000 at 1 Mpps) where the
 * receiver expects an even stream; within a call it catches up 1 ms or 32
 * frames at most after a stall (bpf/live.bpf.c).
 */
static void paced_duration(double d, uint64_t rate)
{
	struct burst_probe *bp = calloc(1, sizeof(*bp));
	struct sl_live_result res = { .sz = sizeof(res) };
	uint64_t want = (uint64_t)(d * (double)rate + 0.5), got;
	double lag = SL_MAX(32.0, (double)rate / 1000);

	assert_non_null(bp);
	bp->rate = rate;
	got = sink_run_probed(0, d, rate, 0, -1, &res, bp);
	print_message("%.1f s at %llu pps: %llu frames in %.3f s, %u calls, "
		      "%.3f s paused, largest burst %.0f frames over the "
		      "rate\n",
		      d, (unsigned long long)rate, (unsigned long long)got,
		      res.seconds, res.calls, res.paused_s, bp->excess);
	assert_int_equal(got, want);
	assert_true(res.calls >= 1);
	assert_true(res.paused_s > 0 && res.paused_s < res.seconds);
	/* the frames alone take (want - 1) / rate */
	assert_true(res.seconds >= (double)(want - 1) / (double)rate);
	/* the pauses and a call's iterations left after the last frame (a
	 * few % of it) on top */
	assert_true(res.seconds < d + res.paused_s + 0.1 + 0.1 * d);
	/* the sink sees frames a little late at times (NAPI), so a little
	 * more than the 1 ms catch-up */
	assert_true(bp->n > 10);
	assert_true(bp->excess <= lag + SL_MAX(16.0, (double)rate / 4000));
	free(bp);
}

static void test_sink_duration_rate(void **state)
{
	struct sl_live_result res = { .sz = sizeof(res) };
	uint64_t got;

	(void)state;
	check_bed();
	paced_duration(0.5, 20000);
	paced_duration(0.2, 1000);
	paced_duration(0.3, 1000000);
	/* the count comes first */
	got = sink_run(2000, 5, 20000, 0, -1, &res);
	assert_int_equal(got, 2000);
	assert_true(res.seconds < 0.1 + res.paused_s + 0.1);
	/* rate x duration comes first */
	got = sink_run(100000, 0.3, 20000, 0, -1, &res);
	assert_int_equal(got, 6000);
	/* at full speed the duration is wall time, pauses included: it
	 * lasts what was asked, within 30 ms here when the host is quiet
	 * (the last call is cut by the pauses seen so far); it may overrun
	 * by more on a loaded host, where the last call's pause or its
	 * iterations can take longer than the ones before */
	got = sink_run(0, 0.6, 0, 0, -1, &res);
	print_message("0.6 s at full speed: %llu frames in %.3f s, %u calls, "
		      "%.3f s paused\n",
		      (unsigned long long)got, res.seconds, res.calls,
		      res.paused_s);
	assert_true(res.seconds >= 0.57 && res.seconds <= 0.72);
	assert_true(got > 0);
}

static void expect_einval(struct sl_live_opts *o, const char *msg)
{
	struct sl_live_result res = { .sz = sizeof(res) };

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
	o.flows = 0;
	/* the public structs' sz rule (core/opts.h), both ways */
	o.sz = 0;
	expect_einval(&o, "sl_live_opts.sz is 0");
	o.sz = sizeof(o);
	{
		struct sl_live_result res = { .sz = 0 };

		assert_int_equal(sl_live_run(&o, &res), -EINVAL);
		if (!strstr(sl_last_error(), "out->sz is 0"))
			fail_msg("message '%s'", sl_last_error());
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_ipv4_four_flows),
		cmocka_unit_test(test_ipv6_three_flows),
		cmocka_unit_test(test_ipv4_max_rate),
		cmocka_unit_test(test_moved_paced_exact),
		cmocka_unit_test(test_sink_exact_counts),
		cmocka_unit_test(test_sink_duration_rate),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
