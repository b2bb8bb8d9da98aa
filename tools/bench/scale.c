// SPDX-License-Identifier: MIT
/*
 * sluice bench --scale: receive and forwarding rates as queues and cores
 * grow (issue 16). For k = 1, 2, ... cores, one xdp port on k queues of
 * B's veth (the bed is made with as many queues as the curve goes), a
 * pinned worker per queue (include/sluice/lcore.h) counting what it
 * receives, or turning it around for the forwarding rate, which an XDP
 * count-and-drop program on A counts as in bed.c. The curve is printed with
 * what each added core brought: the rate per core against one core's, and
 * the CPU time per frame (the workers' and their NAPI threads').
 *
 * Spreading the load: each point sets both veth ends to k queues (ethtool
 * -L), so that every queue a frame can land on is served; veth hands a frame sent by XDP (the live-frames
 * sender) to the peer's receive queue of the sending CPU (veth_xdp_xmit:
 * the CPU number modulo the queues), whatever its flow, so k queues get
 * frames from k senders, sender i on CPU i; a kernel that refuses live
 * frames leaves bed/rxcore.c's AF_PACKET sender, given 16 flows here,
 * whose transmit queue (and so the peer's receive queue) follows each
 * flow's hash: a queue that got almost nothing says so in the output.
 * Where senders and receivers must share CPUs (this 2-CPU VM) the output
 * says that too: the curve then shows sharing, not scaling.
 *
 * A benchmark: it reports, it asserts nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sluice/lcore.h>

#include "bench.h"

#define SCALE_MAX 8
#define SCALE_NAPI 16
#define SCALE_FLOWS 16
#define SCALE_SPREAD 0.05 /* a queue below this share of its part: unfed */

/* One receiving worker, on one queue. */
struct scale_w {
	struct sl_port *port;
	uint16_t q;
	int mode; /* M_RX or M_FWD, set by the main thread */
	uint64_t rx; /* published */
	int tid; /* published once running */
} SL_CACHE_ALIGNED;

/* One point of the curve. */
struct scale_pt {
	unsigned k;
	bool ran, have_fwd;
	double rx, offered, fwd, cpu_ns;
	char note[160];
};

struct scale {
	struct bench *b;
	unsigned kmax, ncpu;
	int rx_cpu[SCALE_MAX];
	struct scale_w w[SCALE_MAX];
	unsigned k;
	int napi[SCALE_NAPI];
	unsigned n_napi;
	struct scale_pt pt[SCALE_MAX + 1];
	/* one frame per flow for the AF_PACKET sender, whose transmit queue
	 * (so the veth peer's receive queue) follows the flow's hash */
	uint8_t frames[SCALE_FLOWS][FRAME_LEN];
	const char *sender;
};

static int scale_worker(void *arg)
{
	struct scale_w *w = arg;
	const struct timespec nap = { 0, RX_IDLE_DEEP_NS };
	struct sl_pkt *pkts[BURST];
	uint64_t n = 0;

	__atomic_store_n(&w->tid, (int)syscall(SYS_gettid), __ATOMIC_RELAXED);
	while (!sl_lcore_stopping()) {
		int mode = __atomic_load_n(&w->mode, __ATOMIC_RELAXED);
		uint16_t got = sl_rx_burst(w->port, w->q, pkts, BURST);

		if (!got) {
			nanosleep(&nap, NULL);
			continue;
		}
		n += got;
		__atomic_store_n(&w->rx, n, __ATOMIC_RELAXED);
		bench_turn(w->port, w->q, pkts, got, mode != M_RX);
	}
	return 0;
}

static uint64_t workers_rx(const struct scale *s, uint64_t *per)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < s->k; i++) {
		uint64_t v = __atomic_load_n(&s->w[i].rx, __ATOMIC_RELAXED);

		if (per)
			per[i] = v;
		n += v;
	}
	return n;
}

static uint64_t workers_cpu(const struct scale *s)
{
	uint64_t ns = 0;

	for (unsigned i = 0; i < s->k; i++) {
		int tid = __atomic_load_n(&s->w[i].tid, __ATOMIC_RELAXED);

		if (tid > 0)
			ns += rxc_task_cpu_ns(tid);
	}
	for (unsigned i = 0; i < s->n_napi; i++)
		ns += rxc_task_cpu_ns(s->napi[i]);
	return ns;
}

/*
 * k senders (sender i on CPU i: veth's receive queue i) for warm-up +
 * duration, at full speed or paced at pace Mpps in all; over the duration,
 * what the workers received (sink NULL) or what A's sink counted. Returns
 * Mpps, negative when a sender failed (msg says why); the offered rate,
 * CPU ns per frame and the workers' shares in *offered, *cpu_ns, share[].
 */
static double scale_measure(struct scale *s, struct sl_live_sink *sink,
			    double pace, double *offered, double *cpu_ns,
			    double *share, char *msg, size_t len)
{
	struct bench *b = s->b;
	struct rxc_sender snd[SCALE_MAX];
	uint64_t c0, c1, u0, u1, p0[SCALE_MAX], p1[SCALE_MAX];
	unsigned i, started = 0;
	double t0, t1, got = -1;

	memset(snd, 0, sizeof(snd));
	for (i = 0; i < s->k; i++) {
		snd[i].tb = &b->tb;
		snd[i].frame = b->frame;
		snd[i].frame_len = sizeof(b->frame);
		snd[i].frames = s->frames[0];
		snd[i].n_frames = SCALE_FLOWS;
		snd[i].cpu = (int)i;
		snd[i].seconds = b->cfg.warmup + b->cfg.duration + 0.2;
		snd[i].rate_pps = (uint64_t)(pace * 1e6 / s->k);
		if (pthread_create(&snd[i].thread, NULL, rxc_sender_main,
				   &snd[i])) {
			snprintf(msg, len, "sender thread: %s",
				 strerror(errno));
			break;
		}
		started++;
	}
	if (started == s->k) {
		bench_sleep_s(b->cfg.warmup);
		c0 = sink ? sl_live_sink_count(sink) : workers_rx(s, NULL);
		workers_rx(s, p0);
		u0 = workers_cpu(s);
		t0 = bench_now_s();
		bench_sleep_s(b->cfg.duration);
		c1 = sink ? sl_live_sink_count(sink) : workers_rx(s, NULL);
		workers_rx(s, p1);
		u1 = workers_cpu(s);
		t1 = bench_now_s();
		got = (double)(c1 - c0) / (t1 - t0) / 1e6;
		*cpu_ns = c1 > c0 && u1 > u0 ?
				  (double)(u1 - u0) / (double)(c1 - c0) :
				  0;
		for (i = 0; i < s->k; i++)
			share[i] = p1[i] - p0[i] && c1 > c0 ?
					   (double)(p1[i] - p0[i]) /
						   (double)(c1 - c0) :
					   0;
	}
	*offered = 0;
	for (i = 0; i < started; i++) {
		pthread_join(snd[i].thread, NULL);
		if (snd[i].engine)
			s->sender = snd[i].engine;
		if (snd[i].err && got >= 0) {
			snprintf(msg, len, "%s", snd[i].msg);
			got = -1;
		}
		*offered += snd[i].res.mpps;
	}
	return got;
}

/* The best of full speed and, when the path took less than it was
 * offered, an even pace of twice what it took (see search() in bed.c: on
 * veth an overrun costs the receiver). */
static double scale_best(struct scale *s, struct sl_live_sink *sink,
			 struct scale_pt *p, double *share, char *msg,
			 size_t len)
{
	double off = 0, cpu = 0, got, off2 = 0, cpu2 = 0, got2;
	double sh2[SCALE_MAX];

	got = scale_measure(s, sink, 0, &off, &cpu, share, msg, len);
	if (got <= 0 || got >= SENDER_BOUND * off || s->b->cfg.quick ||
	    cli_stop)
		goto out;
	got2 = scale_measure(s, sink, 2 * got, &off2, &cpu2, sh2, msg, len);
	if (got2 > got) {
		got = got2;
		off = off2;
		cpu = cpu2;
		memcpy(share, sh2, sizeof(sh2));
	}
out:
	if (!sink) {
		p->offered = off;
		p->cpu_ns = cpu;
	}
	return got;
}

/* The NAPI threads of B's veth, receive queue j's on worker j's CPU (veth
 * makes them in queue order, so pid order is queue order). */
static void scale_pin_napi(struct scale *s)
{
	int n = rxc_pin_napi(s->b->ifb, s->rx_cpu[0], s->napi, SCALE_NAPI);

	s->n_napi = n < 0 ? 0 : n > SCALE_NAPI ? SCALE_NAPI : (unsigned)n;
	for (unsigned j = 0; j < s->n_napi; j++) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(s->rx_cpu[j % s->k], &set);
		sched_setaffinity(s->napi[j], sizeof(set), &set);
	}
}

static void scale_point(struct scale *s, unsigned k)
{
	struct bench *b = s->b;
	struct scale_pt *p = &s->pt[k];
	struct sl_port_opts po = { .sz = sizeof(po) };
	struct sl_live_sink *sink = NULL;
	struct sl_lcores *set;
	struct sl_port *port = NULL;
	double share[SCALE_MAX];
	char spec[200], msg[160] = "";
	unsigned i;

	p->k = k;
	s->k = k;
	/* k queues on both ends: what A sends (by flow hash) lands on one
	 * of B's k, all served */
	for (int end = TB_A; end <= TB_B; end++) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd),
			 "ethtool -L %s rx %u tx %u >/dev/null 2>&1",
			 b->tb.end[end].ifname, k, k);
		if (tb_run(&b->tb, end, cmd) && k < s->kmax)
			snprintf(p->note, sizeof(p->note),
				 "ethtool -L failed: %u of the %u queues "
				 "served; frames on the others go to the "
				 "kernel",
				 k, s->kmax);
	}
	po.ring_size = RX_DEEP_RING;
	po.n_bufs = 4 * RX_DEEP_RING * k;
	snprintf(spec, sizeof(spec), "xdp:%s,mode=%s,match=udp:%u", b->ifb,
		 b->copy_mode, DST_PORT);
	if (k > 1)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
			 ",queues=0-%u", k - 1);
	/* a port closed just before may hold its queues for a moment */
	for (int ms = 0; ms <= 2000 && !port; ms += 50) {
		port = sl_port_open(spec, &po);
		if (!port && errno != EBUSY)
			break;
		if (!port)
			bench_sleep_s(0.05);
	}
	if (!port) {
		snprintf(p->note, sizeof(p->note), "%s: %.120s", spec,
			 sl_last_error());
		return;
	}
	set = sl_lcores_new();
	memset(s->w, 0, sizeof(s->w));
	for (i = 0; set && i < k; i++) {
		s->w[i].port = port;
		s->w[i].q = (uint16_t)i;
		s->w[i].mode = M_RX;
		if (sl_lcore_launch(set, (unsigned)s->rx_cpu[i], scale_worker,
				    &s->w[i]) < 0) {
			snprintf(p->note, sizeof(p->note), "%.150s",
				 sl_last_error());
			break;
		}
	}
	if (!set || i < k)
		goto out;
	scale_pin_napi(s);
	p->rx = scale_best(s, NULL, p, share, msg, sizeof(msg));
	if (p->rx < 0) {
		snprintf(p->note, sizeof(p->note), "%.150s", msg);
		goto out;
	}
	p->ran = true;
	if (!p->note[0] && p->rx >= SENDER_BOUND * p->offered)
		snprintf(p->note, sizeof(p->note),
			 "took %.0f%% of what was offered: the senders' rate, "
			 "not the path's",
			 p->offered > 0 ? 100 * p->rx / p->offered : 0);
	for (i = 0; i < k; i++)
		if (k > 1 && share[i] < SCALE_SPREAD / k) {
			snprintf(p->note, sizeof(p->note),
				 "queue %u got %.1f%% of the frames: the "
				 "sender (%s) did not spread them",
				 i, 100 * share[i], s->sender);
			break;
		}
	/* forwarding: turned around on the same queue, counted in A */
	if (tb_enter(&b->tb, TB_A) == 0 &&
	    sl_live_sink_attach(b->tb.end[TB_A].ifindex, true, &sink) == 0) {
		tb_enter(&b->tb, TB_B);
		for (i = 0; i < k; i++)
			__atomic_store_n(&s->w[i].mode, M_FWD,
					 __ATOMIC_RELAXED);
		p->fwd = scale_best(s, sink, p, share, msg, sizeof(msg));
		p->have_fwd = p->fwd >= 0;
		tb_enter(&b->tb, TB_A);
		sl_live_sink_detach(sink);
	}
	tb_enter(&b->tb, TB_B);
out:
	sl_lcores_free(set);
	sl_port_close(port);
}

static void scale_print(struct scale *s)
{
	const struct scale_pt *one = &s->pt[1];

	printf("\n  cores  queues  rx Mpps  per core  efficiency  fwd Mpps  "
	       "efficiency  CPU ns/frame  added core\n");
	for (unsigned k = 1; k <= s->kmax; k++) {
		const struct scale_pt *p = &s->pt[k];
		double eff = one->ran && one->rx > 0 ?
				     p->rx / (k * one->rx) * 100 :
				     0;
		double feff = one->have_fwd && one->fwd > 0 ?
				      p->fwd / (k * one->fwd) * 100 :
				      0;
		double add = k > 1 && one->rx > 0 && s->pt[k - 1].ran ?
				     (p->rx - s->pt[k - 1].rx) / one->rx * 100 :
				     100;

		if (!p->ran) {
			printf("  %5u  %6u  not measured: %s\n", k, k,
			       p->note[0] ? p->note : "stopped");
			continue;
		}
		printf("  %5u  %6u  %7.3f  %8.3f  %9.0f%%  ", k, k, p->rx,
		       p->rx / k, eff);
		if (p->have_fwd)
			printf("%8.3f  %9.0f%%  ", p->fwd, feff);
		else
			printf("%8s  %10s  ", "-", "-");
		printf("%12.0f  %+9.0f%%\n", p->cpu_ns, add);
		if (p->note[0])
			printf("         note: %s\n", p->note);
	}
	printf("  (efficiency: the rate against k times one core's; added "
	       "core: what the k-th core added, in one core's rate)\n");
}

static int scale_json(struct scale *s)
{
	struct json_object *o = json_object_new_object(), *a, *h;
	struct bench *b = s->b;
	int rc = 0;

	h = json_object_new_object();
	json_object_object_add(h, "cpus", json_object_new_int((int)s->ncpu));
	json_object_object_add(h, "queues", json_object_new_int((int)s->kmax));
	json_object_object_add(h, "sender",
			       json_object_new_string(s->sender ? s->sender :
								  "none"));
	json_object_object_add(h, "xdp_mode",
			       json_object_new_string(b->copy_mode));
	json_object_object_add(h, "frame_len",
			       json_object_new_int(FRAME_LEN + 4));
	json_object_object_add(h, "duration_s", bench_jnum(b->cfg.duration, 3));
	json_object_object_add(o, "host", h);
	a = json_object_new_array();
	for (unsigned k = 1; k <= s->kmax; k++) {
		const struct scale_pt *p = &s->pt[k];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "cores", json_object_new_int((int)k));
		json_object_object_add(e, "queues",
				       json_object_new_int((int)k));
		json_object_object_add(e, "rx_mpps",
				       p->ran ? bench_jnum(p->rx, 4) : NULL);
		json_object_object_add(e, "offered_mpps",
				       p->ran ? bench_jnum(p->offered, 4) :
						NULL);
		json_object_object_add(e, "fwd_mpps",
				       p->have_fwd ? bench_jnum(p->fwd, 4) :
						     NULL);
		json_object_object_add(e, "cpu_ns_per_frame",
				       p->ran ? bench_jnum(p->cpu_ns, 1) :
						NULL);
		json_object_object_add(
			e, "efficiency",
			p->ran && s->pt[1].ran && s->pt[1].rx > 0 ?
				bench_jnum(p->rx / (k * s->pt[1].rx), 3) :
				NULL);
		if (p->note[0])
			json_object_object_add(e, "note",
					       json_object_new_string(p->note));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "scale", a);
	if (json_object_to_file_ext(b->cfg.json, o, JSON_C_TO_STRING_PRETTY)) {
		cli_warnx("--json %s: cannot write it", b->cfg.json);
		rc = -1;
	}
	json_object_put(o);
	return rc;
}

unsigned bench_scale_queues(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned k = n > 0 ? (unsigned)n / 2 : 1;

	/* senders and receivers on CPUs of their own where the host has
	 * them; at least 2 (sharing, on a 2-CPU host) */
	return k < 2 ? 2 : k > SCALE_MAX ? SCALE_MAX : k;
}

int bench_run_scale(struct bench *b, unsigned queues, const char *why_fewer)
{
	static struct scale s;
	unsigned k;
	bool shared;

	memset(&s, 0, sizeof(s));
	s.b = b;
	for (k = 0; k < SCALE_FLOWS; k++)
		if (rxc_frame(&b->tb, (uint16_t)(SRC_PORT + k), DST_PORT,
			      s.frames[k]))
			memcpy(s.frames[k], b->frame, FRAME_LEN);
	s.ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	s.kmax = queues ? queues : 1;
	/* receivers from the last CPU down: 1 core is the rest of the
	 * bench's RX_CPU on a 2-CPU host; senders from CPU 0 up */
	for (k = 0; k < s.kmax; k++)
		s.rx_cpu[k] = (int)((s.ncpu - 1 - k + s.ncpu) % s.ncpu);
	shared = 2 * s.kmax > s.ncpu;
	printf("sluice bench --scale: test bed %s, %u queue(s) per veth end, "
	       "xdp %s, %u-byte frames, %.2f s per rate after %.2f s\n",
	       b->tb.name, s.kmax, b->copy_mode, FRAME_LEN + 4, b->cfg.duration,
	       b->cfg.warmup);
	if (why_fewer)
		printf("  the bed cannot give %u queues: %s\n",
		       bench_scale_queues(), why_fewer);
	printf("  k cores: workers on CPUs %d..%d (downwards), one per "
	       "queue; senders on CPUs 0..k-1, one per queue\n",
	       s.rx_cpu[0], s.rx_cpu[s.kmax - 1]);
	if (shared)
		printf("  this host has %u CPUs: from %u cores on, senders and "
		       "receivers share CPUs, and the curve shows sharing "
		       "more than scaling\n",
		       s.ncpu, s.ncpu / 2 + 1);
	for (k = 1; k <= s.kmax && !cli_stop; k++) {
		double t = bench_now_s();

		printf("  %u core(s) ... ", k);
		fflush(stdout);
		scale_point(&s, k);
		if (s.pt[k].ran)
			printf("rx %.3f Mpps (offered %.3f)%s [%.1f s]\n",
			       s.pt[k].rx, s.pt[k].offered,
			       s.pt[k].have_fwd ? ", fwd measured" : "",
			       bench_now_s() - t);
		else
			printf("not measured: %s\n", s.pt[k].note);
	}
	if (s.sender && strcmp(s.sender, "xdp-live"))
		printf("  sender: %s, %u flows (this kernel refuses XDP live "
		       "frames): ~1 Mpps at most, so the curve may show the "
		       "sender\n",
		       s.sender, SCALE_FLOWS);
	scale_print(&s);
	return b->cfg.json ? scale_json(&s) : 0;
}
