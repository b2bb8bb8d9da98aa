// SPDX-License-Identifier: MIT
/*
 * In-kernel traffic generator: loads bpf/live.bpf.c (compiled with clang
 * -target bpf and linked in as the array sl_live_bpf_obj by bpf/embed.py,
 * like the steering program: no file at run time) and runs it with
 * bpf_prog_test_run_opts() in XDP live-frames mode, in calls of `repeat`
 * iterations, until the count or the duration is reached.
 *
 * How the kernel side works (net/bpf/test_run.c, bpf_test_run_xdp_live):
 * each BPF_PROG_RUN call creates a page pool of batch_size pages, each
 * initialised with a copy of the template; it then runs the program on
 * batch_size pages at a time, redirects the frames the program asked for,
 * flushes, and loops until `repeat` frames have been run, checking for
 * signals and rescheduling between batches. Migration is disabled only
 * within a batch: between batches (and between calls) the thread may move
 * to another CPU unless it is pinned (o->cpu). So the program's counter,
 * which numbers the frames and enforces the count, is one slot for the
 * whole run and not per CPU; a per-CPU one let a run that moved send up to
 * the count again from the new CPU.
 *
 * Each call costs a pause of ~20-40 ms whatever its size, in which the
 * kernel sends nothing: with repeat > 1 it adds the program to the XDP
 * dispatcher on entry and removes it on exit, and each change waits in
 * synchronize_rcu(). So calls are long, and sized from how fast the
 * kernel ran the last one: ro.duration, its time per iteration without
 * the pauses, and for paced runs the program's own clock (first to last
 * iteration of the call). Sizing from wall time, pauses included, as this
 * file once did, took the kernel for slower than it is and made several
 * short calls, each with its pause: a 0.5 s run at 20 kpps sent 7,700
 * frames, not 10,000. The first call is short and measures.
 *
 * Pacing therefore cannot be done by sleeping between calls; the program
 * does it (bpf/live.bpf.c): it sends when a frame is due and drops the
 * iterations that come too early, so frames are evenly spaced within a
 * call, and it stops sending at the count. A pause is lost time: the
 * program's clock restarts with each call rather than catch up with a
 * burst of 20 ms of frames. So a paced run with a duration is given the
 * count rate x duration, its calls are sized from the time the frames
 * still due take at the rate (plus a margin: too few iterations cost
 * another call and its pause, too many only the time to run them once the
 * count is reached), and it lasts the duration plus its pauses. The
 * duration still ends a run at a rate the host cannot reach: after that
 * long (and 5%) of the kernel running the program. At full speed the
 * duration is wall time, pauses included, as there is no rate to keep.
 */
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <sluice/live.h>
#include <sluice/net.h>

#include "core/log.h"
#include "core/opts.h"

/* The object file, generated from bpf/live.bpf.c at build time. */
extern const unsigned char sl_live_bpf_obj[];
extern const size_t sl_live_bpf_obj_len;

/* Mirrors struct sl_live_conf in bpf/live.bpf.c: the program's .rodata,
 * written before load. Its size is checked against .rodata's. */
struct sl_live_conf {
	uint32_t ifindex;
	uint32_t flows;
	uint16_t sport;
	uint16_t udp_off;
	uint16_t seq_off;
	uint16_t csum;
	uint64_t gap; /* 1/16 ns */
	uint64_t lag; /* 1/16 ns */
	uint64_t limit;
};

/* Mirrors struct sl_live_stats in bpf/live.bpf.c. */
struct sl_live_stats {
	uint64_t frames;
	uint64_t held;
	uint64_t next;
	uint64_t first;
	uint64_t last;
};

/* What user space works out from the template for the program. */
struct live_tmpl {
	uint8_t *frame; /* our copy, checksum fixed */
	uint16_t udp_off; /* 0: not UDP */
	uint16_t seq_off; /* 0: no room for a sequence number */
	uint16_t sport; /* host order */
	uint8_t csum; /* 1: program keeps the checksum valid */
};

#define CHUNK_MIN 4096u
#define CHUNK_MAX (1u << 28)
/* The first call measures how fast iterations go: up to ~60 ms here, as
 * the first few ms run slower, but at most what the run needs at 10 ns per
 * iteration (the fastest one could be) */
#define CHUNK_FIRST (1u << 20)
#define FAST_ITER_NS 10.0
#define CALL_NS 250000000ull /* ~250 ms per call at full speed */
/* A paced call lasts up to 2 s: with iterations that slow down mid-call
 * (another load on the CPU) the last one can outlast its last frame by
 * the margin and a little more */
#define CALL_NS_PACED 2000000000ull
/* A paced call asks for this much more time than its frames need, and 1
 * ms: 5% after the first call, which runs a few % slower than the ones
 * after it (measured: 2-8%), then 2% */
#define PACE_MARGIN_FIRST 1.05
#define PACE_MARGIN 1.02
#define PACE_SLACK_NS 1000000.0
/* A paced run with a duration stops after this much of the kernel running
 * the program (duration x margin + slack), for a rate the host cannot
 * reach; loose, so that a reachable rate always gets to its count in spite
 * of the time stolen from the CPU, which the kernel counts as running */
#define BUSY_MARGIN 1.05
#define BUSY_SLACK_NS 5000000.0

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The kernel's live-frames limit: a page minus the XDP headroom (256), the
 * struct xdp_page_head it keeps in front of the frame and the aligned
 * skb_shared_info at the end (688 bytes together on x86-64). */
static size_t kernel_max_frame(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return (page > 688 ? (size_t)page : 4096) - 688;
}

static int check_opts(const struct sl_live_opts *o)
{
	if (o->ifindex <= 0)
		return sl_fail(EINVAL,
			       "xdp-live: ifindex %d: needs the index of the "
			       "interface to send on",
			       o->ifindex);
	if (!o->frame || o->frame_len == 0)
		return sl_fail(EINVAL, "xdp-live: empty frame");
	if (o->frame_len < SL_ETH_HLEN)
		return sl_fail(
			EINVAL,
			"xdp-live: frame of %zu bytes is shorter than an "
			"Ethernet header (%d)",
			o->frame_len, SL_ETH_HLEN);
	if (o->frame_len > SL_LIVE_MAX_FRAME)
		return sl_fail(EINVAL,
			       "xdp-live: frame of %zu bytes is over %d bytes "
			       "(live frames must fit in one page)",
			       o->frame_len, SL_LIVE_MAX_FRAME);
	if (o->flows > SL_LIVE_MAX_FLOWS)
		return sl_fail(EINVAL, "xdp-live: %u flows: at most %d",
			       o->flows, SL_LIVE_MAX_FLOWS);
	if (!(o->duration_s >= 0) || !isfinite(o->duration_s))
		return sl_fail(EINVAL, "xdp-live: bad duration %g s",
			       o->duration_s);
	if (o->count == 0 && o->duration_s == 0)
		return sl_fail(EINVAL,
			       "xdp-live: needs a frame count or a duration");
	if (o->batch_size > SL_LIVE_MAX_BATCH)
		return sl_fail(EINVAL, "xdp-live: batch size %u: at most %d",
			       o->batch_size, SL_LIVE_MAX_BATCH);
	if (o->cpu < -1 || o->cpu >= CPU_SETSIZE)
		return sl_fail(EINVAL, "xdp-live: bad cpu %d", o->cpu);
	return 0;
}

/*
 * Copy the template and find what the program rewrites. A UDP frame gets a
 * correct UDP checksum in our copy, because the program only ever updates
 * it incrementally: a wrong one would stay wrong in every frame.
 */
static int prepare_template(const struct sl_live_opts *o, struct live_tmpl *t)
{
	struct sl_frame f;
	struct sl_udp_hdr udp;
	uint32_t flows = o->flows ? o->flows : 1;
	uint16_t csum;
	size_t udp_len;
	int err;

	t->frame = malloc(o->frame_len);
	if (!t->frame)
		return sl_fail(ENOMEM, "xdp-live: out of memory");
	memcpy(t->frame, o->frame, o->frame_len);

	err = sl_frame_parse(t->frame, o->frame_len, &f);
	if (err || (f.l3 != SL_L3_IPV4 && f.l3 != SL_L3_IPV6) ||
	    f.l4_proto != SL_IPPROTO_UDP || (f.flags & SL_FRAME_IP_FRAG)) {
		if (flows > 1)
			return sl_fail(
				EINVAL,
				"xdp-live: %u flows need an IPv4 or IPv6 "
				"UDP frame (template is not one%s)",
				flows, err ? ": malformed" : "");
		return 0; /* sent as it is */
	}
	memcpy(&udp, t->frame + f.l4_off, sizeof(udp));
	t->sport = ntohs(udp.sport);
	if (flows > 1 && (uint32_t)t->sport + flows - 1 > 0xffff)
		return sl_fail(EINVAL,
			       "xdp-live: source port %u + %u flows runs past "
			       "65535",
			       t->sport, flows);
	t->udp_off = f.l4_off;
	if (f.payload_len >= 8)
		t->seq_off = f.payload_off;

	if (f.l3 == SL_L3_IPV4 && udp.csum == 0)
		return 0; /* "no checksum": stays valid whatever we change */
	udp_len = ntohs(udp.len);
	udp.csum = 0;
	memcpy(t->frame + f.l4_off, &udp, sizeof(udp));
	if (f.l3 == SL_L3_IPV4)
		csum = sl_ipv4_l4_csum(
			(const struct sl_ipv4_hdr *)(t->frame + f.l3_off),
			SL_IPPROTO_UDP, t->frame + f.l4_off, udp_len);
	else
		csum = sl_ipv6_l4_csum(
			(const struct sl_ipv6_hdr *)(t->frame + f.l3_off),
			SL_IPPROTO_UDP, t->frame + f.l4_off, udp_len);
	udp.csum = csum;
	memcpy(t->frame + f.l4_off, &udp, sizeof(udp));
	t->csum = 1;
	return 0;
}

/*
 * Open the embedded object with only the program `want` to be loaded (the
 * object holds the generator and the receivers' drop-and-count program).
 */
static int live_open(struct bpf_object **out, const char *want)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "sl_live");
	struct bpf_program *prog;
	struct bpf_object *obj;
	int err;

	obj = bpf_object__open_mem(sl_live_bpf_obj, sl_live_bpf_obj_len, &oo);
	if (!obj) {
		err = errno ? errno : EINVAL;
		return sl_fail(err, "xdp-live: cannot open the BPF object: %s",
			       strerror(err));
	}
	bpf_object__for_each_program(prog, obj) bpf_program__set_autoload(
		prog, strcmp(bpf_program__name(prog), want) == 0);
	*out = obj;
	return 0;
}

static int live_load(struct bpf_object *obj)
{
	int err = bpf_object__load(obj);

	if (err == -EPERM || err == -EACCES)
		return sl_fail(EPERM, "xdp-live: needs CAP_BPF and "
				      "CAP_NET_ADMIN (run as root)");
	if (err)
		return sl_fail(-err,
			       "xdp-live: loading the XDP program failed: %s",
			       strerror(-err));
	return 0;
}

/* Map the first failure of a run to what the user should do about it. */
static int run_error(int err, size_t frame_len)
{
	if (err == -EINVAL && frame_len > kernel_max_frame())
		return sl_fail(EINVAL,
			       "xdp-live: the kernel refused a %zu-byte frame: "
			       "live frames hold at most %zu bytes here",
			       frame_len, kernel_max_frame());
	if (err == -EINVAL)
		return sl_fail(EOPNOTSUPP,
			       "xdp-live: kernel lacks "
			       "BPF_F_TEST_XDP_LIVE_FRAMES (needs Linux 5.18)");
	/* the program loaded, which takes CAP_BPF and CAP_NET_ADMIN: a
	 * refusal now is the host's policy (a patched kernel, a sandbox),
	 * not missing privileges, and nothing this process can change */
	if (err == -EPERM || err == -EACCES)
		return sl_fail(EOPNOTSUPP,
			       "xdp-live: not supported on this host: the "
			       "kernel refused BPF_F_TEST_XDP_LIVE_FRAMES "
			       "(%s) although the program loaded with CAP_BPF "
			       "and CAP_NET_ADMIN, so a kernel or sandbox "
			       "policy forbids it; --engine port sends "
			       "through a port instead",
			       strerror(-err));
	return sl_fail(-err, "xdp-live: BPF_PROG_RUN failed: %s",
		       strerror(-err));
}

/* The run's single slot of state. */
static int read_stats(struct bpf_object *obj, struct sl_live_stats *st)
{
	uint32_t key = 0;

	memset(st, 0, sizeof(*st));
	return bpf_map_lookup_elem(
		bpf_object__find_map_fd_by_name(obj, "sl_live_stats"), &key,
		st);
}

/* Restart the pacing clock at the next call's first iteration: the time
 * between calls is lost, not caught up (see bpf/live.bpf.c). */
static int pace_restart(struct bpf_object *obj)
{
	struct sl_live_stats st;
	uint32_t key = 0;
	int err = read_stats(obj, &st);

	if (err)
		return err;
	st.next = 0;
	st.first = 0;
	st.last = 0;
	return bpf_map_update_elem(
		bpf_object__find_map_fd_by_name(obj, "sl_live_stats"), &key,
		&st, BPF_ANY);
}

/* What run_loop() has learnt from the calls made so far. */
struct live_clock {
	double iter_ns; /* kernel time per iteration (ro.duration) */
	double pace_ns; /* paced: wall time per iteration within a call */
	double busy_ns; /* kernel time running the program, all calls */
	double pause_ns; /* wall time of the calls minus that: the pauses */
	uint32_t calls;
};

/*
 * Iterations for the next call; 0: stop here. A paced run asks for the
 * time its remaining frames take at the rate, plus a margin: iterations
 * left over once the count is reached only cost time (they are dropped),
 * while too few cost one more call and its pause. A full-speed run asks
 * for CALL_NS, and the last call for what is left of the duration after
 * the call's own pause.
 */
static uint64_t next_chunk(const struct sl_live_opts *o, uint64_t limit,
			   uint64_t sent, uint64_t now, uint64_t end,
			   double max_busy_ns, const struct live_clock *c)
{
	double want, n;

	if (!c->calls) {
		/* long enough to measure, short enough to fit what is asked
		 * even if iterations went faster than they do anywhere */
		n = (double)CHUNK_FIRST;
		if (o->rate_pps)
			n = SL_MIN(n, (double)limit * 1e9 /
					      (double)o->rate_pps /
					      FAST_ITER_NS);
		else if (end != UINT64_MAX)
			n = SL_MIN(n, (double)(end - now) / FAST_ITER_NS);
	} else if (o->rate_pps) {
		want = (double)(limit - sent) * 1e9 / (double)o->rate_pps;
		want = want * (c->calls == 1 ? PACE_MARGIN_FIRST :
					       PACE_MARGIN) +
		       PACE_SLACK_NS;
		want = SL_MIN(want, (double)CALL_NS_PACED);
		n = want / c->pace_ns;
		/* a rate the host cannot reach: stop at the duration */
		n = SL_MIN(n, (max_busy_ns - c->busy_ns) / c->iter_ns + 1);
	} else {
		want = (double)CALL_NS;
		if (end != UINT64_MAX) {
			double pause = c->pause_ns / c->calls;
			double left = (double)(end - now);

			/* closer to the end when stopping than after
			 * another call's pause */
			if (left < pause / 2)
				return 0;
			want = SL_MIN(want, left - pause);
		}
		n = want / c->iter_ns;
	}
	n = SL_MIN(SL_MAX(n, (double)CHUNK_MIN), (double)CHUNK_MAX);
	/* at full speed every iteration sends: ask for exactly the rest */
	if (limit && !o->rate_pps)
		n = SL_MIN(n, (double)(limit - sent));
	return (uint64_t)n;
}

/* Run calls until done; returns 0 or the first failure (-errno). */
static int run_loop(struct bpf_object *obj, const struct sl_live_opts *o,
		    uint64_t limit, const struct live_tmpl *tmpl,
		    struct sl_live_result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = tmpl->frame,
		    .data_size_in = (uint32_t)o->frame_len,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		    .batch_size = o->batch_size ? o->batch_size :
						  SL_LIVE_DEFAULT_BATCH);
	int prog_fd = bpf_program__fd(
		bpf_object__find_program_by_name(obj, "sl_live"));
	struct live_clock c = { 0 };
	struct sl_live_stats st = { 0 };
	uint64_t t0 = now_ns(), t = t0, sent = 0;
	/* full speed: the duration is wall time, pauses included; paced:
	 * the count (rate x duration) ends the run, and the duration only
	 * bounds the time spent sending for a rate the host cannot reach */
	uint64_t end = o->duration_s > 0 && !o->rate_pps ?
			       t0 + (uint64_t)(o->duration_s * 1e9) :
			       UINT64_MAX;
	double max_busy_ns =
		o->duration_s > 0 && o->rate_pps ?
			o->duration_s * 1e9 * BUSY_MARGIN + BUSY_SLACK_NS :
			INFINITY;
	int err = 0;

	while ((!limit || sent < limit) && t < end && c.busy_ns < max_busy_ns) {
		uint64_t n =
			next_chunk(o, limit, sent, t, end, max_busy_ns, &c);
		uint64_t t1, s0 = sent;
		double span;

		if (!n)
			break;
		if (o->rate_pps && c.calls) {
			err = pace_restart(obj);
			if (err)
				break;
		}
		ro.repeat = (uint32_t)n;
		err = bpf_prog_test_run_opts(prog_fd, &ro);
		t1 = now_ns();
		if (err)
			break;
		err = read_stats(obj, &st);
		if (err)
			break;
		sent = st.frames;
		c.calls++;
		/* ro.duration: kernel time per iteration, in whole ns */
		c.iter_ns = SL_MAX((double)ro.duration + 0.5, 1.0);
		c.busy_ns += c.iter_ns * (double)n;
		/* the program's own clock, for paced runs: first to last
		 * iteration, so preemption within the call counts too, as it
		 * does for the pacing */
		span = st.last > st.first ? (double)(st.last - st.first) / 16 :
					    c.iter_ns * (double)n;
		c.pace_ns = SL_MAX(span / (double)n, 1.0);
		if (!o->rate_pps)
			span = c.iter_ns * (double)n;
		c.pause_ns += SL_MAX((double)(t1 - t) - span, 0.0);
		sl_dbg("xdp-live: call %u: %llu iterations, %llu frames, "
		       "%.1f ms (%.1f sending), %.1f ns per iteration",
		       c.calls, (unsigned long long)n,
		       (unsigned long long)(sent - s0), (double)(t1 - t) / 1e6,
		       span / 1e6, c.iter_ns);
		t = t1;
	}
	res->seconds = (double)(now_ns() - t0) / 1e9;
	res->calls = c.calls;
	res->paused_s = c.pause_ns / 1e9;
	if (err == -EINTR) {
		res->interrupted = 1;
		return 0;
	}
	return err;
}

/* sl_live_run() on options checked for their sz, into our own result */
static int live_run(const struct sl_live_opts *uo, struct sl_live_result *res)
{
	struct sl_live_opts o = *uo;
	struct live_tmpl t = { 0 };
	struct bpf_object *obj = NULL;
	struct sl_live_conf conf = { 0 };
	struct sl_live_stats st;
	struct bpf_map *rodata;
	size_t conf_sz = 0;
	cpu_set_t old_set, set;
	char ifname[IF_NAMESIZE];
	int pinned = 0, err;

	err = check_opts(&o);
	if (err)
		return err;
	if (!if_indextoname((unsigned)o.ifindex, ifname))
		return sl_fail(ENODEV,
			       "xdp-live: no interface with index %d in this "
			       "network namespace",
			       o.ifindex);
	err = prepare_template(&o, &t);
	if (err)
		goto out;

	if (o.cpu >= 0) {
		if (pthread_getaffinity_np(pthread_self(), sizeof(old_set),
					   &old_set)) {
			err = sl_fail(EINVAL, "xdp-live: cannot read affinity");
			goto out;
		}
		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
			err = sl_fail(EINVAL,
				      "xdp-live: cpu %d is not available to "
				      "this thread",
				      o.cpu);
			goto out;
		}
		pinned = 1;
	}

	err = live_open(&obj, "sl_live");
	if (err)
		goto out;
	rodata = bpf_object__find_map_by_name(obj, ".rodata");
	if (!rodata || !bpf_map__initial_value(rodata, &conf_sz) ||
	    conf_sz != sizeof(conf)) {
		err = sl_fail(EINVAL, "xdp-live: the BPF object does not match "
				      "this loader (rebuild)");
		goto out;
	}
	conf.ifindex = (uint32_t)o.ifindex;
	conf.flows = o.flows ? o.flows : 1;
	conf.sport = t.sport;
	conf.udp_off = t.udp_off;
	conf.seq_off = t.seq_off;
	conf.csum = t.csum;
	/* 1/16 ns units keep a few-Mpps rate exact to well under 1% */
	conf.gap = o.rate_pps ? (uint64_t)(16e9 / (double)o.rate_pps + 0.5) : 0;
	/* catch up at most 1 ms (32 frames at low rates) after a stall */
	conf.lag = SL_MAX(32 * conf.gap, 16000000ull);
	conf.limit = o.count;
	/* a paced run with a duration sends rate x duration frames, at
	 * least one; the count if that comes first */
	if (o.rate_pps && o.duration_s > 0) {
		/* + 0.5: rounded by the cast; 1e19 fits in 64 bits */
		double d =
			SL_MIN(o.duration_s * (double)o.rate_pps + 0.5, 1e19);

		d = SL_MAX(d, 1.0);
		if (!o.count || d < (double)o.count)
			conf.limit = (uint64_t)d;
	}
	err = bpf_map__set_initial_value(rodata, &conf, sizeof(conf));
	if (err) {
		err = sl_fail(-err, "xdp-live: cannot configure the program");
		goto out;
	}
	err = live_load(obj);
	if (err)
		goto out;

	err = run_loop(obj, &o, conf.limit, &t, res);
	if (!read_stats(obj, &st))
		res->frames = st.frames;
	if (res->seconds > 0)
		res->mpps = (double)res->frames / res->seconds / 1e6;
	/* frames were sent before a later chunk failed: still an error, as
	 * the caller did not get what it asked for */
	if (err)
		err = run_error(err, o.frame_len);
out:
	bpf_object__close(obj);
	if (pinned)
		pthread_setaffinity_np(pthread_self(), sizeof(old_set),
				       &old_set);
	free(t.frame);
	return err;
}

int sl_live_run(const struct sl_live_opts *uo, struct sl_live_result *res)
{
	struct sl_live_result r = { .sz = sizeof(r) };
	struct sl_live_opts o;
	size_t n;
	int err;

	if (!uo || !res)
		return sl_fail(EINVAL, "xdp-live: NULL options or result");
	err = sl_opts_out(res, sizeof(r), &n, "sl_live_run", "sl_live_result");
	if (!err)
		err = sl_opts_in(&o, sizeof(o), uo, "sl_live_run",
				 "sl_live_opts");
	if (err)
		return err;
	err = live_run(&o, &r);
	/* the caller's sz stays: it says what its struct holds */
	memcpy((char *)res + sizeof(r.sz), (char *)&r + sizeof(r.sz),
	       n - sizeof(r.sz));
	return err;
}

/* ---- receiver for tests and measurements ------------------------------ */

struct sl_live_sink {
	struct bpf_object *obj;
	int ifindex;
	uint32_t flags;
	int count_fd;
};

int sl_live_sink_attach(int ifindex, bool native, struct sl_live_sink **out)
{
	struct sl_live_sink *s;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return sl_fail(ENOMEM, "xdp-live: out of memory");
	s->ifindex = ifindex;
	s->flags = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	err = live_open(&s->obj, "sl_live_sink");
	if (!err)
		err = live_load(s->obj);
	if (err)
		goto fail;
	s->count_fd =
		bpf_object__find_map_fd_by_name(s->obj, "sl_live_sink_count");
	/* never replace a program someone else attached */
	err = bpf_xdp_attach(ifindex,
			     bpf_program__fd(bpf_object__find_program_by_name(
				     s->obj, "sl_live_sink")),
			     s->flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err) {
		err = sl_fail(-err,
			      "xdp-live: attaching the sink to ifindex %d "
			      "(%s mode) failed: %s",
			      ifindex, native ? "native" : "generic",
			      strerror(-err));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	bpf_object__close(s->obj);
	free(s);
	return err;
}

uint64_t sl_live_sink_count(const struct sl_live_sink *s)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v, sum = 0;
	uint32_t key = 0;

	if (ncpu <= 0)
		return 0;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (bpf_map_lookup_elem(s->count_fd, &key, v) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

void sl_live_sink_detach(struct sl_live_sink *s)
{
	if (!s)
		return;
	bpf_xdp_detach(s->ifindex, s->flags, NULL);
	bpf_object__close(s->obj);
	free(s);
}
