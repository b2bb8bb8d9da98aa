/* SPDX-License-Identifier: MIT */
/*
 * sluice bench's own header: what its phases share. One struct bench holds
 * the options, the rows and the test bed, and is passed to every phase;
 * the files, by phase:
 *   main.c    the command: options, the bed's set-up, the rounds;
 *   rows.c    what is measured: the rows, their ports' specs, the figures
 *             kept over rounds;
 *   bed.c     receive and forwarding runs on the veth test bed;
 *   rtt.c     round trips on the bed;
 *   local.c   without a bed: pair and udp on loopback in one process;
 *   jitter.c  the host's jitter;
 *   report.c  the table, the goals and the JSON;
 *   svg.c     the chart;
 *   scale.c   --scale: rates as queues and cores grow;
 *   rdma.c    --rdma: RDMA bandwidth next to TCP's;
 *   apps.c    --run: sockperf with and without `sluice run`.
 * Internal to the command: nothing here is the library's (no sl_ names).
 */
#ifndef SLUICE_TOOLS_BENCH_H
#define SLUICE_TOOLS_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <sluice/live.h>

#include "hist.h"
#include "rxcore.h"
#include "sluice.h"
#include "testbed.h"

#define SENDER_CPU 0
#define RX_CPU 1
#define FRAME_LEN RXC_FRAME_LEN
#define SRC_PORT 9000
#define DST_PORT 9999
#define BURST 256
/*
 * How long B's receiver sleeps when its port is empty, and how deep the
 * port's rings are: a spinning receiver starves the NAPI kthread that
 * shares its CPU, and every wake-up costs a timer interrupt, which is
 * dear in a VM (20-40 us here, see the host's jitter line). So a port with
 * deep rings sleeps long: 16384 frames are 2.7 ms at 6 Mpps, and a 1 ms
 * sleep took xdp-copy from 4.9-5.1 to 5.8-6.1 Mpps and packet from 0.72 to
 * 0.77-0.83 (ring 1024 / 100 us before). A udp socket's buffer is its
 * default SO_RCVBUF (~300 small datagrams): it keeps 100 us, which did
 * best for it (0.69 against 0.49-0.64 with 0.5-1 ms).
 */
#define RX_IDLE_NS 100000
#define RX_IDLE_DEEP_NS 1000000
#define RX_DEEP_RING 16384
#define PING_TIMEOUT_NS 10000000ull
#define PING_GIVE_UP 50 /* lost in a row: the path does not answer */
#define LIVE_MAX_MPPS 20.0 /* above any pace the live sender reaches */

/* What a path costs: DESIGN.md's table. */
struct risk {
	const char *privileges;
	const char *kernel_loses; /* what the kernel no longer sees or filters */
	const char *support;
};

enum kind {
	K_DROP, /* XDP count-and-drop on B: the ceiling */
	K_PORT, /* a sluice port in B */
	K_TESTPMD, /* dpdk-testpmd in B */
	K_LOCAL, /* no test bed: pair or udp on loopback, one process */
};

/* One offered load and what the path took at it. */
struct point {
	double paced; /* Mpps the sender was paced at; 0: full speed */
	double offered, got; /* Mpps */
};

#define MAX_POINTS 6 /* full speed + at most 5 paced loads */

/* One round's search over loads (search() in bed.c): the curve and its
 * best point */
struct rx_round {
	struct point pts[MAX_POINTS];
	unsigned n;
	struct point best;
	double cpu_ns;
};

struct row {
	const char *path; /* JSON "path", --only */
	enum kind kind;
	const char *drv; /* K_PORT/K_LOCAL: driver; K_TESTPMD: vdev */
	const char *opts; /* spec options, or vdev arguments */
	bool busy; /* a -busypoll row */
	const struct risk *risk;
	bool peer; /* only with --peers */
	/* results */
	bool ran;
	char skipped[200];
	char mode[40];
	char note[200];
	double rx_mpps,
		offered_mpps; /* the best load point (search() in bed.c) */
	double rx_full_mpps, rx_full_offered; /* at full speed */
	double fwd_mpps, fwd_offered;
	double fwd_full_mpps, fwd_paced;
	struct point curve[MAX_POINTS]; /* rx at each load, best round */
	unsigned n_curve;
	bool have_fwd, have_rtt, have_cpu;
	double p50, p99, p999;
	uint64_t pings, lost;
	double cpu_ns;
	double rx_paced; /* the best point's pace, Mpps; 0: full speed */
	/* this round's, for the progress line */
	double last_rx, last_offered, last_full, last_paced;
};

#define MAX_NAPI 8 /* NAPI kthreads of B's veth counted for CPU time */

/* One CPU's spinning thread and the gaps it saw (jitter.c). */
struct jitter {
	pthread_t thread;
	int cpu;
	struct cli_hist *h; /* gaps, ns */
	double lost; /* share of the time in gaps */
	double per_s, long_per_s; /* gaps a second: all, longer than LONG */
};

/* The options (main.c's parse_args). */
struct bench_cfg {
	double duration, warmup;
	double rtt_max_s; /* a row's pings stop after this long */
	unsigned reps, pings;
	const char *json, *svg, *only;
	bool quick, peers, scale, rdma, run;
	unsigned run_spin_us; /* --run's spin rows: SLUICE_RUN_SPIN */
};

/*
 * One run of the command: made by cmd_bench() and passed to every phase.
 * Not shared between threads but for the read-only parts a phase's own
 * threads read (cfg, tb, frame).
 */
struct bench {
	struct bench_cfg cfg;
	struct row *rows; /* bench_bed_rows, or bench_local_rows without a bed */
	unsigned n_rows;
	struct tb tb;
	bool have_bed;
	/* which sender fed the bed (rxcore.h: "xdp-live", "packet port")
	 * and, for the fallback, why the kernel refused live frames */
	const char *sender;
	char sender_why[200];
	const char *ifa, *ifb; /* the veth ends in A and B */
	uint8_t frame[FRAME_LEN]; /* what the live sender sends, A to B */
	/* The xdp copy mode of the xdp-copy rows ("mode=COPY" in their
	 * options): the faster of native and generic XDP in a probe before
	 * the first. */
	const char *copy_mode;
	bool copy_mode_chosen;
	char copy_mode_why[120];
	int napi_pids[MAX_NAPI]; /* B's NAPI kthreads, for their CPU time */
	unsigned n_napi;
	struct jitter jit[2];
	bool have_jitter;
};

/* What B does with a received burst: free it (rx), or turn every UDP
 * frame around (sl_udp_swap) and send it back out of queue q (fwd, echo);
 * what cannot be turned or sent is freed. Fast path. */
static inline void bench_turn(struct sl_port *port, uint16_t q,
			      struct sl_pkt **pkts, uint16_t got, bool turn)
{
	uint16_t i, k = 0, took;

	if (!turn) {
		sl_pkt_free_bulk(pkts, got);
		return;
	}
	for (i = 0; i < got; i++) {
		if (sl_udp_swap(pkts[i]))
			sl_pkt_free(pkts[i]);
		else
			pkts[k++] = pkts[i];
	}
	took = sl_tx_burst(port, q, pkts, k);
	if (took < k)
		sl_pkt_free_bulk(pkts + took, k - took);
}

/* B's receiver thread (bed.c): counts, turns frames around, or echoes */
enum rx_mode { M_RX, M_FWD, M_ECHO };

struct rx {
	struct sl_port *port;
	pthread_t thread;
	bool have_thread;
	atomic_bool stop;
	_Atomic int mode;
	_Atomic uint64_t count; /* frames received */
	clockid_t clock; /* the thread's CPU clock */
	bool have_clock;
	long idle_ns; /* sleep when the port is empty */
};

/* the search over loads (bed.c) */
#define PACE_STEP 2.0
#define RX_STEPS (b->cfg.quick ? 1u : 2u) /* --quick: 2x only */
#define FWD_STEPS 1
#define PROBE_STEPS 1
#define SENDER_BOUND 0.9 /* took this share of the offered: sender-bound */

/* the host's jitter (jitter.c) */
#define JITTER_S 0.5
#define JITTER_MIN_NS 2000
#define JITTER_LONG_NS 10000 /* "long": more than a fast path's round trip */

extern struct row bench_bed_rows[];
extern const unsigned bench_n_bed_rows;
/* Without a bed: the two rows one process can measure, then the bed's
 * rows, reported skipped with the reason. */
extern struct row bench_local_rows[];
extern const unsigned bench_n_local_rows;

/* main.c */
double bench_now_s(void);
void bench_sleep_s(double s);
uint64_t bench_proc_cpu_ns(int pid);

/* rows.c */
void bench_row_spec(struct bench *b, const struct row *row, int end, bool rtt,
		    char *spec, size_t len);
void bench_note_refusal(struct sl_port *port, const char *who, char *note,
			size_t len);
double bench_again(const struct row *row);
void bench_keep_rx(struct row *row, const struct rx_round *rr);
void bench_keep_fwd(struct row *row, const struct point *best,
		    const struct point *full);
void bench_keep_rtt(struct row *row, const struct cli_hist *h, uint64_t lost);
void bench_note_sender_bound(struct row *row);
struct row *bench_row_get(struct bench *b, const char *path);
bool bench_selected(struct bench *b, const struct row *r);

/* bed.c */
void bench_set_threaded(struct bench *b, int end, const char *ifname, bool on);
uint64_t bench_rx_cpu_ns(struct rx *r);
int bench_rx_start(struct rx *r, struct sl_port *port, long idle_ns);
void bench_rx_stop(struct rx *r);
void bench_run_drop(struct bench *b, struct row *row);
void bench_run_port(struct bench *b, struct row *row);
void bench_run_testpmd(struct bench *b, struct row *row);

/* rtt.c */
void bench_run_rtt(struct bench *b, struct row *row);

/* local.c */
void bench_run_local(struct bench *b, struct row *row, unsigned idx);

/* jitter.c */
void bench_measure_jitter(struct bench *b);
double bench_jitter_hit(struct bench *b, double rtt_us);
struct json_object *bench_jitter_json(struct bench *b);
void bench_print_jitter(struct bench *b);

/* report.c */
void bench_print_table(struct bench *b, const char *header);
struct json_object *bench_jnum(double v, int decimals);
int bench_write_json(struct bench *b, struct json_object *host);

/* scale.c: the queues the bed gets for --scale, and the run on it (the
 * bed up with queues queues, B entered; why_fewer: why not more) */
unsigned bench_scale_queues(void);
int bench_run_scale(struct bench *b, unsigned queues, const char *why_fewer);
/* --rdma (rdma.c): RDMA bandwidth on udp and xdp ports next to TCP's */
int bench_run_rdma(struct bench *b);

/* --run (apps.c): sockperf's latency and throughput with and without
 * sluice run, per path */
int bench_run_apps(struct bench *b);

/* svg.c */
int bench_write_svg(struct bench *b, const char *header);

#endif
