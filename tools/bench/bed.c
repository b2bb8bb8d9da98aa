// SPDX-License-Identifier: MIT
/*
 * sluice bench: the receive and forwarding runs on the veth test bed. Per
 * path, with one port kept open in B:
 *   rx   B counts and frees what it receives, at full speed and at
 *        paced loads (see search(): an overrun on veth costs the
 *        receiver, so the figure is the path's best load);
 *   fwd  B turns every frame around (sl_udp_swap) and sends it back on the
 *        same port; an XDP count-and-drop program on A's veth counts what
 *        returns. Live frames carry full UDP checksums, so swapped frames
 *        stay valid;
 *   cpu  the receiver thread's CPU time (CLOCK_THREAD_CPUTIME_ID) plus that
 *        of B's NAPI kthread (/proc/PID/schedstat) over the rx window,
 *        divided by the frames received.
 * Paths: the udp port (kernel socket), packet, xdp in the faster copy mode
 * of a probe (native or generic XDP), xdp zero-copy (refused on veth: the
 * row says why), each also with the ports' busy_poll option (packet's row
 * says why it has no effect), the XDP-drop ceiling, and with --peers
 * dpdk-testpmd's AF_XDP and AF_PACKET PMDs (rxonly, then 5tswap for fwd and
 * rtt; NAPI pinning and testpmd control are bed/rxcore.c, shared with
 * bench/rx_bench.c). The round trips of each row are rtt.c's.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* ---- NAPI kthreads of the bed's veths ----------------------------------- */

/* Pin the NAPI kthreads of ifname to cpu (bed/rxcore.c); with record,
 * keep their pids for the CPU count. */
/* veth's NAPI for ifname (in namespace end) threaded or not */
void bench_set_threaded(struct bench *b, int end, const char *ifname, bool on)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "echo %d > /sys/class/net/%s/threaded 2>/dev/null", on,
		 ifname);
	tb_run(&b->tb, end, cmd);
}

static int pin_napi(struct bench *b, const char *ifname, int cpu, bool record)
{
	int n = rxc_pin_napi(ifname, cpu, record ? b->napi_pids : NULL,
			     MAX_NAPI);

	if (record)
		b->n_napi = n < MAX_NAPI ? (unsigned)n : MAX_NAPI;
	return n;
}

static uint64_t napi_cpu_ns(struct bench *b)
{
	uint64_t ns = 0;

	for (unsigned i = 0; i < b->n_napi; i++)
		ns += rxc_task_cpu_ns(b->napi_pids[i]);
	return ns;
}

/* ---- the receiver under test (B, CPU 1) --------------------------------- */

static void *rx_main(void *arg)
{
	struct rx *r = arg;
	const struct timespec nap = { 0, r->idle_ns };
	struct sl_pkt *pkts[BURST];
	uint64_t n = 0;

	rxc_pin_self(RX_CPU);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int mode = atomic_load_explicit(&r->mode, memory_order_relaxed);
		uint16_t got = sl_rx_burst(r->port, 0, pkts, BURST);

		if (!got) {
			/* the echo spins for latency; rate rows sleep (see
			 * RX_IDLE_NS) */
			if (mode != M_ECHO)
				nanosleep(&nap, NULL);
			continue;
		}
		n += got;
		atomic_store_explicit(&r->count, n, memory_order_relaxed);
		bench_turn(r->port, 0, pkts, got, mode != M_RX);
	}
	return NULL;
}

uint64_t bench_rx_cpu_ns(struct rx *r)
{
	struct timespec ts;

	if (!r->have_clock || clock_gettime(r->clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* packet and xdp ports get deep rings and sleep long (see RX_IDLE_NS) */
static bool deep(const struct row *row)
{
	return row->drv &&
	       (!strcmp(row->drv, "packet") || !strcmp(row->drv, "xdp"));
}

int bench_rx_start(struct rx *r, struct sl_port *port, long idle_ns)
{
	int err;

	r->port = port;
	r->idle_ns = idle_ns;
	atomic_store(&r->stop, false);
	atomic_store(&r->mode, M_RX);
	err = pthread_create(&r->thread, NULL, rx_main, r);
	if (err)
		return -err;
	r->have_thread = true;
	r->have_clock = pthread_getcpuclockid(r->thread, &r->clock) == 0;
	return 0;
}

void bench_rx_stop(struct rx *r)
{
	atomic_store(&r->stop, true);
	if (r->have_thread)
		pthread_join(r->thread, NULL);
	r->have_thread = false;
}

/* ---- one path on the bed ------------------------------------------------ */

/* Where a measurement counts frames (bed.c, local.c): B's receiver
 * thread, an XDP count-and-drop program, or testpmd's counters. */
struct meas {
	struct rx *rx;
	struct sl_live_sink *sink;
	struct testpmd *pmd;
	bool cpu; /* also count CPU time */
};

static uint64_t meas_count(const struct meas *m)
{
	if (m->sink)
		return sl_live_sink_count(m->sink);
	if (m->pmd)
		return testpmd_stat(m->pmd, "RX-packets:");
	return atomic_load_explicit(&m->rx->count, memory_order_relaxed);
}

static uint64_t meas_cpu(struct bench *b, const struct meas *m)
{
	uint64_t ns = napi_cpu_ns(b);

	if (m->pmd)
		return ns + bench_proc_cpu_ns(m->pmd->pid);
	if (m->rx)
		return ns + bench_rx_cpu_ns(m->rx);
	return ns;
}

/*
 * Run the sender for warm-up + duration, at full speed or paced at paced
 * Mpps, and count, over the duration, what m counts. Returns Mpps (negative: the sender failed, msg says why),
 * the sender's offered rate in *offered, and CPU ns per packet in *cpu_ns
 * when m->cpu.
 */
static double measure(struct bench *b, const struct meas *m, double paced,
		      double *offered, double *cpu_ns, char *msg, size_t len)
{
	struct rxc_sender s = { .tb = &b->tb,
				.frame = b->frame,
				.frame_len = sizeof(b->frame),
				.cpu = SENDER_CPU,
				.seconds =
					b->cfg.warmup + b->cfg.duration + 0.2,
				.rate_pps = (uint64_t)(paced * 1e6) };
	uint64_t c0, c1, u0 = 0, u1 = 0;
	double t0, t1;
	int err;

	err = pthread_create(&s.thread, NULL, rxc_sender_main, &s);
	if (err) {
		snprintf(msg, len, "sender thread: %s", strerror(err));
		return -1;
	}
	bench_sleep_s(b->cfg.warmup);
	c0 = meas_count(m);
	if (m->cpu)
		u0 = meas_cpu(b, m);
	t0 = bench_now_s();
	bench_sleep_s(b->cfg.duration);
	c1 = meas_count(m);
	t1 = bench_now_s();
	if (m->cpu)
		u1 = meas_cpu(b, m);
	pthread_join(s.thread, NULL);
	if (s.engine)
		b->sender = s.engine;
	if (s.live_why[0])
		snprintf(b->sender_why, sizeof(b->sender_why), "%s",
			 s.live_why);
	if (s.err) {
		snprintf(msg, len, "%s", s.msg);
		return -1;
	}
	*offered = s.res.mpps;
	if (cpu_ns)
		*cpu_ns = c1 > c0 && u1 > u0 ?
				  (double)(u1 - u0) / (double)(c1 - c0) :
				  0;
	return (double)(c1 - c0) / (t1 - t0) / 1e6;
}

/*
 * What a path takes at its best: full speed first, then evenly paced loads
 * of 2x and 4x (steps: how many of these) what it took at full speed,
 * while the sender still reaches the pace, and one halfway between the
 * best and the next when the best was taken whole. No step is skipped because the
 * one before brought nothing: on a shared machine one bad second would
 * end the search.
 * With again >= 0 (a later round) only that pace is measured again (0: full
 * speed). Fills rr: the curve, the best point, CPU ns at the best point
 * (when m->cpu). Returns the best point's Mpps; negative: the sender failed
 * before any point, msg says why.
 *
 * Why not full speed alone: on veth an overrun costs the receiver. Every
 * frame veth refuses goes back, on the sender's CPU, into the live-frames
 * page pool's ring, whose producer lock the receiver's NAPI also takes for
 * every frame it is done with; the two CPUs then fight over that lock and
 * the receiver takes fewer frames the harder it is overrun (perf: 25-45%
 * of its CPU in that lock; xdp-copy took 2.7-3.2 Mpps at full speed, 4.8
 * at an even 6 Mpps, and the udp socket 0.38 against 0.65). A NIC drops
 * an overrun in hardware, at no cost to the host, so the figure that says
 * what a path can do is its best load, as RFC 2544 finds a device's
 * throughput by varying the offered rate. The full-speed figure stays in
 * the JSON (rx_full_mpps), and the whole curve (rx_curve).
 */

static int point(struct bench *b, const struct meas *m, double pace,
		 struct rx_round *rr, char *msg, size_t len)
{
	struct point p = { .paced = pace };
	double cpu = 0;

	p.got = measure(b, m, pace, &p.offered, m->cpu ? &cpu : NULL, msg, len);
	if (p.got < 0)
		return -1;
	rr->pts[rr->n++] = p;
	if (rr->n == 1 || p.got > rr->best.got) {
		rr->best = p;
		rr->cpu_ns = cpu;
	}
	return 0;
}

static double search(struct bench *b, const struct meas *m, double again,
		     unsigned steps, struct rx_round *rr, char *msg, size_t len)
{
	double full;

	rr->n = 0;
	if (point(b, m, again > 0 ? again : 0, rr, msg, len))
		return -1;
	full = rr->pts[0].got;
	if (again >= 0 || full >= SENDER_BOUND * rr->pts[0].offered ||
	    full <= 0)
		return rr->best.got;
	for (double pace = PACE_STEP * full;
	     steps-- && rr->n < MAX_POINTS && !cli_stop && pace < LIVE_MAX_MPPS;
	     pace *= PACE_STEP) {
		if (point(b, m, pace, rr, msg, len))
			break; /* keep what was measured */
		/* the sender cannot go faster: more would be full speed */
		if (rr->pts[rr->n - 1].offered < 0.9 * pace)
			break;
	}
	/* the best load was taken whole and the next one overran it: the
	 * path's best lies between the two, so one more load halfway (on
	 * a log scale) narrows it */
	if (rr->best.paced > 0 && rr->n < MAX_POINTS && !cli_stop &&
	    rr->best.got >= SENDER_BOUND * rr->best.offered &&
	    rr->pts[rr->n - 1].paced > rr->best.paced)
		point(b, m, rr->best.paced * sqrt(PACE_STEP), rr, msg, len);
	return rr->best.got;
}

/* Forwarding: count in A what B sends back. */
static void run_fwd(struct bench *b, struct row *row)
{
	struct meas m = { 0 };
	struct rx_round rr = { 0 };
	double mpps;
	char msg[160];
	int err;

	err = tb_enter(&b->tb, TB_A);
	if (!err)
		err = sl_live_sink_attach(b->tb.end[TB_A].ifindex, true,
					  &m.sink);
	if (err) {
		snprintf(row->note, sizeof(row->note), "fwd counter: %s",
			 sl_last_error());
		tb_enter(&b->tb, TB_B);
		return;
	}
	/* A's NAPI (native XDP gives it one) on the sender's CPU: the
	 * counting side must not take the receiver's CPU */
	tb_run(&b->tb, TB_A,
	       "for f in /sys/class/net/*/threaded;"
	       " do echo 1 > $f; done 2>/dev/null");
	tb_enter(&b->tb, TB_B);
	pin_napi(b, b->ifa, SENDER_CPU, false);
	pin_napi(b, b->ifb, RX_CPU, true);
	mpps = search(b, &m, row->have_fwd ? row->fwd_paced : -1, FWD_STEPS,
		      &rr, msg, sizeof(msg));
	tb_enter(&b->tb, TB_A);
	sl_live_sink_detach(m.sink);
	tb_enter(&b->tb, TB_B);
	if (mpps >= 0)
		bench_keep_fwd(row, &rr.best, &rr.pts[0]);
}

void bench_run_drop(struct bench *b, struct row *row)
{
	struct meas m = { .cpu = true };
	struct rx_round rr = { 0 };
	double mpps;
	char msg[160];
	int err;

	err = sl_live_sink_attach(b->tb.end[TB_B].ifindex, true, &m.sink);
	if (err) {
		/* native XDP missing: the generic ceiling is the next best */
		err = sl_live_sink_attach(b->tb.end[TB_B].ifindex, false,
					  &m.sink);
		snprintf(row->mode, sizeof(row->mode), "generic XDP");
	} else {
		snprintf(row->mode, sizeof(row->mode), "native XDP");
	}
	if (err) {
		snprintf(row->skipped, sizeof(row->skipped), "%s",
			 sl_last_error());
		return;
	}
	pin_napi(b, b->ifb, RX_CPU, true);
	mpps = search(b, &m, bench_again(row), RX_STEPS, &rr, msg, sizeof(msg));
	sl_live_sink_detach(m.sink);
	if (mpps < 0) {
		if (!row->ran)
			snprintf(row->skipped, sizeof(row->skipped), "%s", msg);
		return;
	}
	bench_keep_rx(row, &rr);
	row->ran = true;
	row->skipped[0] = '\0';
	bench_note_sender_bound(row);
}

static struct sl_port *open_b_port(struct bench *b, struct row *row, bool rtt)
{
	struct sl_port_opts po = { .sz = sizeof(po), .n_bufs = 8192 };
	struct sl_port *port;
	char spec[160];

	if (deep(row)) { /* rings full and in flight, and the app's bursts */
		po.ring_size = RX_DEEP_RING;
		po.n_bufs = 4 * RX_DEEP_RING;
	}
	bench_row_spec(b, row, TB_B, rtt, spec, sizeof(spec));
	/* a port closed just before may hold the queue for a moment (the
	 * kernel releases an AF_XDP socket in the background) */
	for (int ms = 0;; ms += 50) {
		port = sl_port_open(spec, &po);
		if (port || errno != EBUSY || ms >= 2000)
			break;
		bench_sleep_s(0.05);
	}
	if (!port) {
		snprintf(row->skipped, sizeof(row->skipped), "%s",
			 *sl_last_error() ? sl_last_error() : strerror(errno));
		return NULL;
	}
	return port;
}

/* Receive rate of the path row with the xdp copy mode mode, for the probe
 * below; negative when the port did not open or the sender failed. */
static double probe_rx(struct bench *b, struct row *row, const char *mode)
{
	struct rx r = { 0 };
	struct meas m = { .rx = &r };
	const char *keep = b->copy_mode;
	struct rx_round rr = { 0 };
	struct sl_port *port;
	double mpps = -1;
	char msg[160], skip[sizeof(row->skipped)];

	memcpy(skip, row->skipped, sizeof(skip));
	b->copy_mode = mode;
	port = open_b_port(b, row, false);
	b->copy_mode = keep;
	memcpy(row->skipped, skip, sizeof(skip));
	if (!port)
		return -1;
	if (bench_rx_start(&r, port, RX_IDLE_DEEP_NS) == 0) {
		pin_napi(b, b->ifb, RX_CPU, true);
		mpps = search(b, &m, -1, PROBE_STEPS, &rr, msg, sizeof(msg));
		bench_rx_stop(&r);
	}
	sl_port_close(port);
	return mpps;
}

/*
 * Which copy mode is faster here: on veth native XDP usually is (frames
 * reach the socket without an skb), but a kernel or driver may differ, and
 * the row must show the fastest copy mode the host has.
 */
static void choose_copy_mode(struct bench *b, struct row *row)
{
	double nat = -1, gen = -1;

	/* one search each: the two modes differ by 2-3x on veth, more than
	 * the noise of one round */
	nat = probe_rx(b, row, "copy-native");
	gen = probe_rx(b, row, "copy-generic");

	b->copy_mode_chosen = true;
	b->copy_mode = gen > nat ? "copy-generic" : "copy-native";
	snprintf(b->copy_mode_why, sizeof(b->copy_mode_why),
		 "%s: faster in probes (best native %.3f, generic %.3f Mpps)",
		 b->copy_mode, nat, gen);
}

void bench_run_port(struct bench *b, struct row *row)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct rx r = { 0 };
	struct meas m = { .rx = &r, .cpu = true };
	struct rx_round rr = { 0 };
	struct sl_port *port;
	bool v2 = !strcmp(row->drv, "packet");
	double mpps;
	char msg[160];

	if (row->busy && v2) {
		snprintf(row->skipped, sizeof(row->skipped),
			 "the kernel does not busy-poll AF_PACKET sockets "
			 "(they record no NAPI id, which sk_busy_loop needs): "
			 "the row would repeat packet's");
		return;
	}
	if (!b->copy_mode_chosen && !strncmp(row->opts, "mode=COPY,", 10))
		choose_copy_mode(b, row);
	port = open_b_port(b, row, false);
	if (!port)
		return;
	if (sl_port_info(port, &info) == 0)
		snprintf(row->mode, sizeof(row->mode), "%.28s%s", info.mode,
			 v2 ? " (RTT: v2)" : "");
	bench_note_refusal(port, "", row->note, sizeof(row->note));
	if (bench_rx_start(&r, port,
			   deep(row) ? RX_IDLE_DEEP_NS : RX_IDLE_NS)) {
		snprintf(row->skipped, sizeof(row->skipped),
			 "receiver thread failed");
		sl_port_close(port);
		return;
	}
	/* rx */
	pin_napi(b, b->ifb, RX_CPU, true);
	mpps = search(b, &m, bench_again(row), RX_STEPS, &rr, msg, sizeof(msg));
	if (mpps < 0) {
		bench_rx_stop(&r);
		sl_port_close(port);
		if (!row->ran)
			snprintf(row->skipped, sizeof(row->skipped), "%s", msg);
		return;
	}
	bench_keep_rx(row, &rr);
	row->ran = true;
	row->skipped[0] = '\0';
	/* fwd */
	atomic_store(&r.mode, M_FWD);
	run_fwd(b, row);
	/* rtt: packet reopens with a frame ring (see row_spec) */
	if (v2) {
		bench_rx_stop(&r);
		sl_port_close(port);
		port = open_b_port(b, row, true);
		if (!port || bench_rx_start(&r, port, RX_IDLE_DEEP_NS)) {
			snprintf(
				row->note, sizeof(row->note),
				"RTT: the tpacket=v2 port did not open: %.150s",
				port ? "receiver thread failed" : row->skipped);
			row->skipped[0] = '\0';
			sl_port_close(port);
			return;
		}
	}
	atomic_store(&r.mode, M_ECHO);
	bench_sleep_s(0.05); /* the backlog of the fwd phase drains */
	bench_run_rtt(b, row);
	bench_rx_stop(&r);
	sl_port_close(port);
	if (!row->note[0])
		bench_note_sender_bound(row);
}

void bench_run_testpmd(struct bench *b, struct row *row)
{
	struct testpmd t;
	struct meas m = { .pmd = &t, .cpu = true };
	struct rx_round rr = { 0 };
	double mpps;
	char msg[200];

	if (testpmd_start(&t, &b->tb, TB_B, b->ifb, row->drv, row->opts,
			  SENDER_CPU, RX_CPU, msg, sizeof(msg))) {
		if (!row->ran)
			snprintf(row->skipped, sizeof(row->skipped), "%s", msg);
		testpmd_stop(&t);
		return;
	}
	testpmd_mode(&t, row->mode, sizeof(row->mode));
	pin_napi(b, b->ifb, RX_CPU, true);
	mpps = search(b, &m, bench_again(row), RX_STEPS, &rr, msg, sizeof(msg));
	if (mpps >= 0) {
		bench_keep_rx(row, &rr);
		row->ran = true;
		row->skipped[0] = '\0';
		bench_note_sender_bound(row);
		if (!row->note[0])
			snprintf(row->note, sizeof(row->note),
				 "testpmd polls: its CPU time is a whole "
				 "core, busy or not");
		/* 5tswap turns frames around like sl_udp_swap (MACs, IPs,
		 * ports): the forwarding and echo of the other rows */
		if (testpmd_cmd(&t, "stop\nset fwd 5tswap\nstart\n", 5.0) ==
		    0) {
			run_fwd(b, row);
			bench_run_rtt(b, row);
		} else {
			snprintf(row->note, sizeof(row->note),
				 "no 5tswap forwarding mode: fwd/rtt "
				 "not measured");
		}
	} else if (!row->ran) {
		snprintf(row->skipped, sizeof(row->skipped), "%s", msg);
	}
	testpmd_stop(&t);
}
