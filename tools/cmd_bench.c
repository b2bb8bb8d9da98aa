// SPDX-License-Identifier: MIT
/*
 * sluice bench: the capability-versus-risk report (issue 4). One run
 * measures, for every receive path this host has, what it can do (receive
 * and forwarding rate at 64-byte frames, round-trip percentiles at a low
 * rate, CPU time per received packet) next to what it costs (privileges,
 * what the kernel no longer sees, how broad the support is: DESIGN.md's
 * table), and prints one table, with --json and --svg renderings of it.
 *
 * As root it builds the veth test bed (tests/lib/testbed.h) the way
 * bench/rx_bench.c does: namespace A sends with the in-kernel live-frames
 * generator on CPU 0, namespace B runs the path under test on CPU 1 with
 * the veth's NAPI threaded and pinned there too, so that a row pays for all
 * of its receive work on its own CPU. Per path, with one port kept open:
 *   rx   B counts and frees what it receives, at full speed and at
 *        paced loads (see search(): an overrun on veth costs the
 *        receiver, so the figure is the path's best load);
 *   fwd  B turns every frame around (sl_udp_swap) and sends it back on the
 *        same port; an XDP count-and-drop program on A's veth counts what
 *        returns. Live frames carry full UDP checksums, so swapped frames
 *        stay valid;
 *   rtt  a port in A of the row's kind (udp, packet on A's veth, xdp in
 *        the same mode; see pinger_main) pings one 64-byte UDP frame at a
 *        time, so that both ends take the path under test; B echoes with
 *        a spinning loop on CPU 1, B's NAPI kthread moved to CPU 0 beside
 *        the pinger (which yields between empty polls), A's NAPI
 *        unthreaded so that it runs inside the echo's transmit (see
 *        run_rtt and pinger_open); round trips go into a log-linear
 *        histogram (tools/hist.c);
 *   cpu  the receiver thread's CPU time (CLOCK_THREAD_CPUTIME_ID) plus that
 *        of B's NAPI kthread (/proc/PID/schedstat) over the rx window,
 *        divided by the frames received.
 * Paths: the udp port (kernel socket), packet (tpacket=v2 for round trips,
 * see row_spec), xdp in the faster copy mode of a probe (native or generic
 * XDP), xdp zero-copy (refused on veth: the row says why), each also with
 * the ports' busy_poll option (packet's row says why it has no effect), the
 * XDP-drop ceiling, and with --peers
 * dpdk-testpmd's AF_XDP and AF_PACKET PMDs (rxonly, then 5tswap for fwd and
 * rtt; NAPI pinning and testpmd control are bench/rxcore.c, shared with
 * bench/rx_bench.c).
 *
 * Without root (or without a test bed) it measures what it can in one
 * process: a `pair` link and the udp port on loopback, fed by a port
 * sender thread, and says what it skipped and why.
 *
 * Benchmarks report, they never judge: the speed goals are printed
 * as met or not met and the exit status does not depend on them. The
 * machine is shared, so each figure is the best of --reps rounds (rounds go
 * over all rows so a busy spell does not hit one row only), after a
 * warm-up, and a row that took nearly all that was offered says it
 * measured the sender.
 *
 * Over 800 lines (one file for every phase of the bench): its split by job
 * is issue 15's redesign, which takes the whole tree's layout at once.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <sluice/live.h>

#include "hist.h"
#include "rxcore.h"
#include "sluice.h"
#include "testbed.h"

#define SENDER_CPU 0
#define RX_CPU 1
#define FRAME_LEN SL_BENCH_FRAME_LEN
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

static const char bench_help[] =
	"usage: sluice bench [--quick] [--json FILE] [--svg FILE] [--peers]\n"
	"                    [--duration S] [--reps N] [--pings N] "
	"[--only PATH,...]\n"
	"\n"
	"What kernel bypass buys on this host and what it costs: for each "
	"receive\n"
	"path (kernel UDP socket, packet, xdp copy, xdp zero-copy, each also "
	"with\n"
	"busy polling) the receive and forwarding rate at 64-byte frames, the "
	"round\n"
	"trip p50/p99/p99.9 at a low rate and the CPU time per packet, next to "
	"the\n"
	"privileges each needs and what the kernel no longer sees. As root on "
	"a\n"
	"veth test bed (two namespaces); without root, pair and udp on "
	"loopback.\n"
	"\n"
	"  --quick          short rounds, under 30 s in all\n"
	"  --json FILE      write host facts and every figure as JSON\n"
	"  --svg FILE       write a chart (throughput and latency per path)\n"
	"  --peers          add dpdk-testpmd rows (AF_XDP and AF_PACKET PMDs)\n"
	"  --duration S     measuring window per rate (default 1, quick 0.4)\n"
	"  --reps N         rounds, best figure per row (default 2, quick 1)\n"
	"  --pings N        round trips per row (default 5000, quick 1000;\n"
	"                   at most 2 s of them, quick 0.5 s)\n"
	"  --only LIST      paths to run (udp,packet,xdp-copy,...,xdp-drop)\n"
	"\n"
	"examples:\n"
	"  sudo sluice bench\n"
	"  sudo sluice bench --quick --json bench.json --svg bench.svg\n"
	"  sudo sluice bench --peers\n";

/* ---- the rows ----------------------------------------------------------- */

struct risk {
	const char *privileges;
	const char *kernel_loses; /* what the kernel no longer sees or filters */
	const char *support;
};

static const struct risk risk_udp = { "none", "nothing (full stack)",
				      "every host" };
static const struct risk risk_packet = {
	"CAP_NET_RAW", "TX qdisc if bypassed (RX still goes up the stack)",
	"every Linux"
};
static const struct risk risk_xdp = {
	"CAP_NET_ADMIN + CAP_BPF", "filtering/tracking of the diverted flows",
	"most drivers, veth"
};
static const struct risk risk_zc = { "CAP_NET_ADMIN + CAP_BPF, ZC driver",
				     "same as xdp; memory pinned to the NIC",
				     "a short list of NICs" };
static const struct risk risk_drop = { "CAP_NET_ADMIN + CAP_BPF",
				       "everything: dropped before the stack",
				       "most drivers, veth" };
static const struct risk risk_pair = { "none",
				       "nothing (in-process, no kernel)",
				       "everywhere (in-process)" };
static const struct risk risk_pmd_xdp = {
	"root (DPDK EAL), CAP_NET_ADMIN + CAP_BPF",
	"the whole queue: all its traffic", "most drivers, veth; needs DPDK"
};
static const struct risk risk_pmd_pkt = { "root (DPDK EAL), CAP_NET_RAW",
					  "TX qdisc; sees all frames (promisc)",
					  "every Linux; needs DPDK" };

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

/* One round's search over loads (search()): the curve and its best point */
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
	double rx_mpps, offered_mpps; /* the best load point (search()) */
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

static struct row bed_rows[] = {
	{ "xdp-drop", K_DROP, NULL, NULL, false, &risk_drop, false },
	{ "udp", K_PORT, "udp", "", false, &risk_udp, false },
	{ "udp-busypoll", K_PORT, "udp", "", true, &risk_udp, false },
	{ "packet", K_PORT, "packet", "", false, &risk_packet, false },
	{ "packet-busypoll", K_PORT, "packet", "", true, &risk_packet, false },
	{ "xdp-copy", K_PORT, "xdp", "mode=COPY,", false, &risk_xdp, false },
	{ "xdp-copy-busypoll", K_PORT, "xdp", "mode=COPY,busy_poll,", true,
	  &risk_xdp, false },
	{ "xdp-zc", K_PORT, "xdp", "mode=zc,", false, &risk_zc, false },
	{ "xdp-zc-busypoll", K_PORT, "xdp", "mode=zc,busy_poll,", true,
	  &risk_zc, false },
	{ "testpmd-af_xdp", K_TESTPMD, "net_af_xdp0",
	  ",start_queue=0,queue_count=1", false, &risk_pmd_xdp, true },
	{ "testpmd-af_packet", K_TESTPMD, "net_af_packet0", "", false,
	  &risk_pmd_pkt, true },
};

/* Without a bed: the two rows one process can measure, then the bed's
 * rows, reported skipped with the reason. */
static struct row local_rows[] = {
	{ "pair", K_LOCAL, "pair", NULL, false, &risk_pair, false },
	{ "udp", K_LOCAL, "udp", NULL, false, &risk_udp, false },
	{ "udp-busypoll", K_PORT, NULL, NULL, true, &risk_udp, false },
	{ "packet", K_PORT, NULL, NULL, false, &risk_packet, false },
	{ "packet-busypoll", K_PORT, NULL, NULL, true, &risk_packet, false },
	{ "xdp-copy", K_PORT, NULL, NULL, false, &risk_xdp, false },
	{ "xdp-copy-busypoll", K_PORT, NULL, NULL, true, &risk_xdp, false },
	{ "xdp-zc", K_PORT, NULL, NULL, false, &risk_zc, false },
	{ "xdp-zc-busypoll", K_PORT, NULL, NULL, true, &risk_zc, false },
	{ "xdp-drop", K_DROP, NULL, NULL, false, &risk_drop, false },
	{ "testpmd-af_xdp", K_TESTPMD, NULL, NULL, false, &risk_pmd_xdp, true },
	{ "testpmd-af_packet", K_TESTPMD, NULL, NULL, false, &risk_pmd_pkt,
	  true },
};

static struct row *rows;
static unsigned n_rows;

static struct {
	double duration, warmup;
	double rtt_max_s; /* a row's pings stop after this long */
	unsigned reps, pings;
	const char *json, *svg, *only;
	bool quick, peers;
} cfg;

static struct sl_testbed tb;
static bool have_bed;
static const char *ifa, *ifb;
static uint8_t frame[FRAME_LEN];
/* The xdp copy mode of the xdp-copy rows ("mode=COPY" in their options):
 * the faster of native and generic XDP in a probe before the first. */
static const char *copy_mode = "copy-native";
static bool copy_mode_chosen;
static char copy_mode_why[120];

/* ---- small helpers ------------------------------------------------------ */

static double now_s(void)
{
	return cli_secs(sl_time_ns());
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR && !cli_stop)
		;
}

static void read_load(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, len, "?");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, " ")] = '\0';
	fclose(f);
}

/* utime + stime of a whole process (all threads), in ns. */
static uint64_t proc_cpu_ns(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after "pid (comm)": state is field 3, utime 14, stime 15 */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* ---- NAPI kthreads of the bed's veths ----------------------------------- */

#define MAX_NAPI 8
static int napi_pids[MAX_NAPI];
static unsigned n_napi;

/* Pin the NAPI kthreads of ifname to cpu (bench/rxcore.c); with record,
 * keep their pids for the CPU count. */
/* veth's NAPI for ifname (in namespace end) threaded or not */
static void set_threaded(int end, const char *ifname, bool on)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "echo %d > /sys/class/net/%s/threaded 2>/dev/null", on,
		 ifname);
	sl_testbed_run(&tb, end, cmd);
}

static int pin_napi(const char *ifname, int cpu, bool record)
{
	int n = sl_bench_pin_napi(ifname, cpu, record ? napi_pids : NULL,
				  MAX_NAPI);

	if (record)
		n_napi = n < MAX_NAPI ? (unsigned)n : MAX_NAPI;
	return n;
}

static uint64_t napi_cpu_ns(void)
{
	uint64_t ns = 0;

	for (unsigned i = 0; i < n_napi; i++)
		ns += sl_bench_task_cpu_ns(napi_pids[i]);
	return ns;
}

/* ---- the live-frames sender (A, CPU 0) ---------------------------------- */

/* ---- the receiver under test (B, CPU 1) --------------------------------- */

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

static void *rx_main(void *arg)
{
	struct rx *r = arg;
	const struct timespec nap = { 0, r->idle_ns };
	struct sl_pkt *pkts[BURST];
	uint64_t n = 0;

	sl_bench_pin_self(RX_CPU);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int mode = atomic_load_explicit(&r->mode, memory_order_relaxed);
		uint16_t got = sl_rx_burst(r->port, 0, pkts, BURST);
		uint16_t i, k = 0, took;

		if (!got) {
			/* the echo spins for latency; rate rows sleep (see
			 * RX_IDLE_NS) */
			if (mode != M_ECHO)
				nanosleep(&nap, NULL);
			continue;
		}
		n += got;
		atomic_store_explicit(&r->count, n, memory_order_relaxed);
		if (mode == M_RX) {
			sl_pkt_free_bulk(pkts, got);
			continue;
		}
		for (i = 0; i < got; i++) {
			if (sl_udp_swap(pkts[i]))
				sl_pkt_free(pkts[i]);
			else
				pkts[k++] = pkts[i];
		}
		took = sl_tx_burst(r->port, 0, pkts, k);
		if (took < k)
			sl_pkt_free_bulk(pkts + took, k - took);
	}
	return NULL;
}

static uint64_t rx_cpu_ns(struct rx *r)
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

static int rx_start(struct rx *r, struct sl_port *port, long idle_ns)
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

static void rx_stop(struct rx *r)
{
	atomic_store(&r->stop, true);
	if (r->have_thread)
		pthread_join(r->thread, NULL);
	r->have_thread = false;
}

/* ---- round trips: a port of the row's kind in A pinging B --------------- */

/*
 * The pinger is a sluice port in A of the same kind as the row's (udp:
 * a udp port, packet: a packet port, xdp: an xdp port in the same mode,
 * busy-poll twins likewise; testpmd's AF_XDP and AF_PACKET rows an xdp and
 * a packet port), so that both ends of a round trip take the path under
 * test. It sends one UDP frame at a time (sl_udp_send_to: full checksums,
 * the bed's MACs and addresses), polls the same port for the echo and
 * counts a ping without an answer within PING_TIMEOUT_NS as lost.
 */
struct pinger {
	pthread_t thread;
	const struct row *row;
	unsigned count, warm;
	struct cli_hist *h;
	uint64_t lost;
	int err;
	char msg[160]; /* why the port in A did not open */
	char note[120]; /* what the port in A refused */
};

/*
 * The spec of a row's port in A (the pinger) or B. Both ends take the
 * path under test; testpmd rows ping from the sluice port of the same
 * kind. For round trips a packet port takes tpacket=v2: a TPACKET_V3
 * block is handed over when full or after its 1 ms retire timeout, which
 * would be all that the row's RTT measured (~1 ms); v2 hands each frame
 * over at once. Throughput keeps the default v3.
 */
static void row_spec(const struct row *row, int end, bool rtt, char *spec,
		     size_t len)
{
	const char *drv = row->drv, *opts = row->opts;
	const char *ifname = end == SL_TESTBED_A ? ifa : ifb;
	unsigned port = end == SL_TESTBED_A ? SRC_PORT : DST_PORT;
	const char *v2 = "";

	if (row->kind == K_TESTPMD) {
		drv = strstr(row->drv, "af_xdp") ? "xdp" : "packet";
		opts = strcmp(drv, "xdp") ? "" : "mode=COPY,";
	}
	if (rtt && !strcmp(drv, "packet"))
		v2 = "tpacket=v2,";
	if (!strcmp(drv, "udp"))
		snprintf(spec, len, "udp:%s:%u%s", tb.end[end].ip4_str, port,
			 row->busy ? ",busy_poll" : "");
	else if (!strncmp(opts, "mode=COPY,", 10))
		snprintf(spec, len, "%s:%s,mode=%s,%smatch=udp:%u", drv, ifname,
			 copy_mode, opts + 10, port);
	else
		snprintf(spec, len, "%s:%s,%s%smatch=udp:%u", drv, ifname, opts,
			 v2, port);
}

/* A busy-poll refusal the port recorded, into note */
static void note_refusal(struct sl_port *port, const char *who, char *note,
			 size_t len)
{
	struct sl_port_info info = { .sz = sizeof(info) };

	if (sl_port_info(port, &info) == 0)
		for (unsigned i = 0; i < info.n_refused; i++)
			if (!strcmp(info.refused[i].path, "busy-poll"))
				snprintf(note, len, "%s%s", who,
					 info.refused[i].why);
}

static struct sl_port *pinger_open(struct pinger *p)
{
	struct sl_port_opts po = { .sz = sizeof(po), .n_bufs = 4096 };
	struct sl_port *port;
	char spec[160];

	row_spec(p->row, SL_TESTBED_A, true, spec, sizeof(spec));
	for (int ms = 0;; ms += 50) { /* see open_b_port */
		port = sl_port_open(spec, &po);
		if (port || errno != EBUSY || ms >= 2000)
			break;
		sleep_s(0.05);
	}
	if (!port) {
		snprintf(p->msg, sizeof(p->msg), "port in A: %.140s",
			 *sl_last_error() ? sl_last_error() : strerror(errno));
		return NULL;
	}
	/*
	 * A's NAPI (veth has one while an XDP program is attached) is made
	 * unthreaded: then veth runs it in softirq on the CPU that sends to
	 * A, i.e. inside the echo's transmit on CPU 1, with no thread to
	 * wake. Measured (xdp-copy p50/p99/p99.9 us, 100k pings): unthreaded
	 * 4.6/6.2/42, kthread on CPU 1 5.4/19/107, kthread on CPU 0 (with
	 * the pinger and B's NAPI) 33/65/96. run_fwd threads it again.
	 */
	if (!strncmp(spec, "xdp:", 4))
		set_threaded(SL_TESTBED_A, ifa, false);
	note_refusal(port, "A: ", p->note, sizeof(p->note));
	return port;
}

static void *pinger_main(void *arg)
{
	struct pinger *p = arg;
	struct sl_udp_params hp = { 0 };
	struct sl_pkt *in[8];
	struct sl_port *port;
	uint8_t buf[FRAME_LEN];
	uint64_t deadline;
	size_t plen;

	p->err = sl_testbed_enter(&tb, SL_TESTBED_A);
	if (p->err)
		return NULL;
	sl_bench_pin_self(SENDER_CPU);
	port = pinger_open(p);
	if (!port) {
		p->err = -EIO;
		return NULL;
	}
	hp.src.family = hp.dst.family = AF_INET;
	hp.src.v4 = tb.end[SL_TESTBED_A].ip4;
	hp.dst.v4 = tb.end[SL_TESTBED_B].ip4;
	hp.src.port = SRC_PORT;
	hp.dst.port = DST_PORT;
	memcpy(hp.src_mac, tb.end[SL_TESTBED_A].mac, SL_ETH_ALEN);
	memcpy(hp.dst_mac, tb.end[SL_TESTBED_B].mac, SL_ETH_ALEN);
	plen = FRAME_LEN - sl_udp_hdr_len(&hp); /* a 64-byte frame */
	memset(buf, 0, sizeof(buf));
	deadline = sl_time_ns() + (uint64_t)(cfg.rtt_max_s * 1e9);
	for (unsigned i = 0, miss = 0;
	     i < p->warm + p->count && !cli_stop && miss < PING_GIVE_UP &&
	     sl_time_ns() < deadline;
	     i++) {
		uint64_t t0 = sl_time_ns(), t1, before = p->h->n;
		bool done = false;
		int rc;

		cli_put_be64(buf, i);
		cli_put_be64(buf + 8, t0);
		while ((rc = sl_udp_send_to(port, 0, &hp, buf, plen)) ==
			       -EAGAIN &&
		       sl_time_ns() - t0 < PING_TIMEOUT_NS)
			;
		if (rc) {
			p->lost += i >= p->warm;
			miss += i >= p->warm;
			continue;
		}
		while (!done) {
			uint16_t n = sl_rx_burst(port, 0, in, 8);

			t1 = sl_time_ns();
			for (uint16_t k = 0; k < n; k++) {
				struct sl_udp_view v;

				if (!done && !sl_udp_parse(in[k], &v) &&
				    v.len >= 16 &&
				    cli_get_be64(v.payload) == i) {
					done = true;
					if (i >= p->warm)
						cli_hist_record(p->h, t1 - t0);
				}
			}
			if (n)
				sl_pkt_free_bulk(in, n);
			if (!done && t1 - t0 > PING_TIMEOUT_NS) {
				p->lost += i >= p->warm;
				break;
			}
			if (!n) /* B's NAPI kthread shares this CPU */
				sched_yield();
		}
		miss = p->h->n > before || i < p->warm ? 0 : miss + 1;
	}
	sl_port_close(port);
	return NULL;
}

/* ---- recording a round's figures ---------------------------------------- */

/* Later rounds measure again at the load the first round found best. */
static double again(const struct row *row)
{
	return row->ran ? row->rx_paced : -1.0;
}

static void keep_rx(struct row *row, const struct rx_round *rr)
{
	row->last_rx = rr->best.got;
	row->last_offered = rr->best.offered;
	row->last_full = rr->pts[0].paced > 0 ? 0 : rr->pts[0].got;
	row->last_paced = rr->best.paced;
	if (rr->pts[0].paced == 0 &&
	    (!row->ran || rr->pts[0].got > row->rx_full_mpps)) {
		row->rx_full_mpps = rr->pts[0].got;
		row->rx_full_offered = rr->pts[0].offered;
	}
	if (row->rx_mpps >= rr->best.got && row->ran)
		return;
	row->rx_mpps = rr->best.got;
	row->offered_mpps = rr->best.offered;
	row->rx_paced = rr->best.paced;
	memcpy(row->curve, rr->pts, sizeof(rr->pts[0]) * rr->n);
	row->n_curve = rr->n;
	if (rr->cpu_ns > 0) {
		row->cpu_ns = rr->cpu_ns;
		row->have_cpu = true;
	}
}

static void keep_fwd(struct row *row, const struct point *best,
		     const struct point *full)
{
	if (full->paced == 0 &&
	    (!row->have_fwd || full->got > row->fwd_full_mpps))
		row->fwd_full_mpps = full->got;
	if (row->have_fwd && row->fwd_mpps >= best->got)
		return;
	row->fwd_mpps = best->got;
	row->fwd_paced = best->paced;
	row->fwd_offered = best->offered;
	row->have_fwd = true;
}

/* Each percentile is the best of the rounds, as the rates are: the order
 * p50 <= p99 <= p99.9 holds for the minima since it holds in every round. */
static void keep_rtt(struct row *row, const struct cli_hist *h, uint64_t lost)
{
	double p50, p99, p999;

	if (!h->n)
		return;
	p50 = (double)cli_hist_percentile(h, 50) / 1e3;
	p99 = (double)cli_hist_percentile(h, 99) / 1e3;
	p999 = (double)cli_hist_percentile(h, 99.9) / 1e3;
	if (!row->have_rtt || p50 < row->p50)
		row->p50 = p50;
	if (!row->have_rtt || p99 < row->p99)
		row->p99 = p99;
	if (!row->have_rtt || p999 < row->p999)
		row->p999 = p999;
	if (!row->have_rtt || lost < row->lost)
		row->lost = lost;
	row->pings = h->n;
	row->have_rtt = true;
}

/* ---- one path on the bed ------------------------------------------------ */

struct meas {
	/* where the count comes from */
	struct rx *rx;
	struct sl_live_sink *sink;
	struct sl_testpmd *pmd;
	bool cpu; /* also count CPU time */
};

static uint64_t meas_count(const struct meas *m)
{
	if (m->sink)
		return sl_live_sink_count(m->sink);
	if (m->pmd)
		return sl_testpmd_stat(m->pmd, "RX-packets:");
	return atomic_load_explicit(&m->rx->count, memory_order_relaxed);
}

static uint64_t meas_cpu(const struct meas *m)
{
	uint64_t ns = napi_cpu_ns();

	if (m->pmd)
		return ns + proc_cpu_ns(m->pmd->pid);
	if (m->rx)
		return ns + rx_cpu_ns(m->rx);
	return ns;
}

/*
 * Run the sender for warm-up + duration, at full speed or paced at paced
 * Mpps, and count, over the duration, what m counts. Returns Mpps (negative: the sender failed, msg says why),
 * the sender's offered rate in *offered, and CPU ns per packet in *cpu_ns
 * when m->cpu.
 */
static double measure(const struct meas *m, double paced, double *offered,
		      double *cpu_ns, char *msg, size_t len)
{
	struct sl_bench_sender s = { .tb = &tb,
				     .frame = frame,
				     .frame_len = sizeof(frame),
				     .cpu = SENDER_CPU,
				     .seconds = cfg.warmup + cfg.duration + 0.2,
				     .rate_pps = (uint64_t)(paced * 1e6) };
	uint64_t c0, c1, u0 = 0, u1 = 0;
	double t0, t1;
	int err;

	err = pthread_create(&s.thread, NULL, sl_bench_sender_main, &s);
	if (err) {
		snprintf(msg, len, "sender thread: %s", strerror(err));
		return -1;
	}
	sleep_s(cfg.warmup);
	c0 = meas_count(m);
	if (m->cpu)
		u0 = meas_cpu(m);
	t0 = now_s();
	sleep_s(cfg.duration);
	c1 = meas_count(m);
	t1 = now_s();
	if (m->cpu)
		u1 = meas_cpu(m);
	pthread_join(s.thread, NULL);
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
#define PACE_STEP 2.0
#define RX_STEPS (cfg.quick ? 1u : 2u) /* --quick: 2x only */
#define FWD_STEPS 1
#define PROBE_STEPS 1
#define SENDER_BOUND 0.9 /* took this share of the offered: sender-bound */

static int point(const struct meas *m, double pace, struct rx_round *rr,
		 char *msg, size_t len)
{
	struct point p = { .paced = pace };
	double cpu = 0;

	p.got = measure(m, pace, &p.offered, m->cpu ? &cpu : NULL, msg, len);
	if (p.got < 0)
		return -1;
	rr->pts[rr->n++] = p;
	if (rr->n == 1 || p.got > rr->best.got) {
		rr->best = p;
		rr->cpu_ns = cpu;
	}
	return 0;
}

static double search(const struct meas *m, double again, unsigned steps,
		     struct rx_round *rr, char *msg, size_t len)
{
	double full;

	rr->n = 0;
	if (point(m, again > 0 ? again : 0, rr, msg, len))
		return -1;
	full = rr->pts[0].got;
	if (again >= 0 || full >= SENDER_BOUND * rr->pts[0].offered ||
	    full <= 0)
		return rr->best.got;
	for (double pace = PACE_STEP * full;
	     steps-- && rr->n < MAX_POINTS && !cli_stop && pace < LIVE_MAX_MPPS;
	     pace *= PACE_STEP) {
		if (point(m, pace, rr, msg, len))
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
		point(m, rr->best.paced * sqrt(PACE_STEP), rr, msg, len);
	return rr->best.got;
}

/* Forwarding: count in A what B sends back. */
static void run_fwd(struct row *row)
{
	struct meas m = { 0 };
	struct rx_round rr = { 0 };
	double mpps;
	char msg[160];
	int err;

	err = sl_testbed_enter(&tb, SL_TESTBED_A);
	if (!err)
		err = sl_live_sink_attach(tb.end[SL_TESTBED_A].ifindex, true,
					  &m.sink);
	if (err) {
		snprintf(row->note, sizeof(row->note), "fwd counter: %s",
			 sl_last_error());
		sl_testbed_enter(&tb, SL_TESTBED_B);
		return;
	}
	/* A's NAPI (native XDP gives it one) on the sender's CPU: the
	 * counting side must not take the receiver's CPU */
	sl_testbed_run(&tb, SL_TESTBED_A,
		       "for f in /sys/class/net/*/threaded;"
		       " do echo 1 > $f; done 2>/dev/null");
	sl_testbed_enter(&tb, SL_TESTBED_B);
	pin_napi(ifa, SENDER_CPU, false);
	pin_napi(ifb, RX_CPU, true);
	mpps = search(&m, row->have_fwd ? row->fwd_paced : -1, FWD_STEPS, &rr,
		      msg, sizeof(msg));
	sl_testbed_enter(&tb, SL_TESTBED_A);
	sl_live_sink_detach(m.sink);
	sl_testbed_enter(&tb, SL_TESTBED_B);
	if (mpps >= 0)
		keep_fwd(row, &rr.best, &rr.pts[0]);
}

static void run_rtt(struct row *row)
{
	struct pinger p = { .row = row,
			    .count = cfg.pings,
			    .warm = cfg.pings / 20 + 10 };
	int err;

	p.h = cli_hist_new();
	if (!p.h)
		return;
	/*
	 * B's NAPI unthreaded, as A's is (pinger_open): veth then runs it in
	 * softirq inside the pinger's transmit on CPU 0, and the frame is in
	 * B's socket before the pinger's send returns, with no kthread to
	 * wake. xdp-copy p50/p99.9 (us, 20000 pings, two runs each):
	 * unthreaded 3.7/29 and 3.6/30, kthread on CPU 0 beside the pinger
	 * 4.7/45 and 4.6/44; udp and packet did not change (7.5-7.8, 2.7).
	 * A kthread beside the spinning echo was worse again: a thread
	 * spinning without system calls is preempted only at the next tick.
	 * The rate phases want it threaded: run_rtt restores that.
	 */
	set_threaded(SL_TESTBED_B, ifb, false);
	err = pthread_create(&p.thread, NULL, pinger_main, &p);
	if (!err) {
		pthread_join(p.thread, NULL);
		if (!p.err)
			keep_rtt(row, p.h, p.lost);
		else if (p.msg[0])
			snprintf(row->note, sizeof(row->note), "RTT: %s",
				 p.msg);
		if (p.note[0] && !row->note[0])
			snprintf(row->note, sizeof(row->note), "%s", p.note);
	}
	cli_hist_free(p.h);
	set_threaded(SL_TESTBED_B, ifb, true);
}

static void note_sender_bound(struct row *row)
{
	if (row->rx_paced == 0 && row->offered_mpps > 0 &&
	    row->rx_mpps > SENDER_BOUND * row->offered_mpps)
		snprintf(row->note, sizeof(row->note),
			 "sender-bound: took %.0f%% of what was offered",
			 100.0 * row->rx_mpps / row->offered_mpps);
}

static void run_drop(struct row *row)
{
	struct meas m = { .cpu = true };
	struct rx_round rr = { 0 };
	double mpps;
	char msg[160];
	int err;

	err = sl_live_sink_attach(tb.end[SL_TESTBED_B].ifindex, true, &m.sink);
	if (err) {
		/* native XDP missing: the generic ceiling is the next best */
		err = sl_live_sink_attach(tb.end[SL_TESTBED_B].ifindex, false,
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
	pin_napi(ifb, RX_CPU, true);
	mpps = search(&m, again(row), RX_STEPS, &rr, msg, sizeof(msg));
	sl_live_sink_detach(m.sink);
	if (mpps < 0) {
		if (!row->ran)
			snprintf(row->skipped, sizeof(row->skipped), "%s", msg);
		return;
	}
	keep_rx(row, &rr);
	row->ran = true;
	row->skipped[0] = '\0';
	note_sender_bound(row);
}

static struct sl_port *open_b_port(struct row *row, bool rtt)
{
	struct sl_port_opts po = { .sz = sizeof(po), .n_bufs = 8192 };
	struct sl_port *port;
	char spec[160];

	if (deep(row)) { /* rings full and in flight, and the app's bursts */
		po.ring_size = RX_DEEP_RING;
		po.n_bufs = 4 * RX_DEEP_RING;
	}
	row_spec(row, SL_TESTBED_B, rtt, spec, sizeof(spec));
	/* a port closed just before may hold the queue for a moment (the
	 * kernel releases an AF_XDP socket in the background) */
	for (int ms = 0;; ms += 50) {
		port = sl_port_open(spec, &po);
		if (port || errno != EBUSY || ms >= 2000)
			break;
		sleep_s(0.05);
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
static double probe_rx(struct row *row, const char *mode)
{
	struct rx r = { 0 };
	struct meas m = { .rx = &r };
	const char *keep = copy_mode;
	struct rx_round rr = { 0 };
	struct sl_port *port;
	double mpps = -1;
	char msg[160], skip[sizeof(row->skipped)];

	memcpy(skip, row->skipped, sizeof(skip));
	copy_mode = mode;
	port = open_b_port(row, false);
	copy_mode = keep;
	memcpy(row->skipped, skip, sizeof(skip));
	if (!port)
		return -1;
	if (rx_start(&r, port, RX_IDLE_DEEP_NS) == 0) {
		pin_napi(ifb, RX_CPU, true);
		mpps = search(&m, -1, PROBE_STEPS, &rr, msg, sizeof(msg));
		rx_stop(&r);
	}
	sl_port_close(port);
	return mpps;
}

/*
 * Which copy mode is faster here: on veth native XDP usually is (frames
 * reach the socket without an skb), but a kernel or driver may differ, and
 * the row must show the fastest copy mode the host has.
 */
static void choose_copy_mode(struct row *row)
{
	double nat = -1, gen = -1;

	/* one search each: the two modes differ by 2-3x on veth, more than
	 * the noise of one round */
	nat = probe_rx(row, "copy-native");
	gen = probe_rx(row, "copy-generic");

	copy_mode_chosen = true;
	copy_mode = gen > nat ? "copy-generic" : "copy-native";
	snprintf(copy_mode_why, sizeof(copy_mode_why),
		 "%s: faster in probes (best native %.3f, generic %.3f Mpps)",
		 copy_mode, nat, gen);
}

static void run_port(struct row *row)
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
	if (!copy_mode_chosen && !strncmp(row->opts, "mode=COPY,", 10))
		choose_copy_mode(row);
	port = open_b_port(row, false);
	if (!port)
		return;
	if (sl_port_info(port, &info) == 0)
		snprintf(row->mode, sizeof(row->mode), "%.28s%s", info.mode,
			 v2 ? " (RTT: v2)" : "");
	note_refusal(port, "", row->note, sizeof(row->note));
	if (rx_start(&r, port, deep(row) ? RX_IDLE_DEEP_NS : RX_IDLE_NS)) {
		snprintf(row->skipped, sizeof(row->skipped),
			 "receiver thread failed");
		sl_port_close(port);
		return;
	}
	/* rx */
	pin_napi(ifb, RX_CPU, true);
	mpps = search(&m, again(row), RX_STEPS, &rr, msg, sizeof(msg));
	if (mpps < 0) {
		rx_stop(&r);
		sl_port_close(port);
		if (!row->ran)
			snprintf(row->skipped, sizeof(row->skipped), "%s", msg);
		return;
	}
	keep_rx(row, &rr);
	row->ran = true;
	row->skipped[0] = '\0';
	/* fwd */
	atomic_store(&r.mode, M_FWD);
	run_fwd(row);
	/* rtt: packet reopens with a frame ring (see row_spec) */
	if (v2) {
		rx_stop(&r);
		sl_port_close(port);
		port = open_b_port(row, true);
		if (!port || rx_start(&r, port, RX_IDLE_DEEP_NS)) {
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
	sleep_s(0.05); /* the backlog of the fwd phase drains */
	run_rtt(row);
	rx_stop(&r);
	sl_port_close(port);
	if (!row->note[0])
		note_sender_bound(row);
}

static void run_testpmd(struct row *row)
{
	struct sl_testpmd t;
	struct meas m = { .pmd = &t, .cpu = true };
	struct rx_round rr = { 0 };
	double mpps;
	char msg[200];

	if (sl_testpmd_start(&t, &tb, SL_TESTBED_B, ifb, row->drv, row->opts,
			     SENDER_CPU, RX_CPU, msg, sizeof(msg))) {
		if (!row->ran)
			snprintf(row->skipped, sizeof(row->skipped), "%s", msg);
		sl_testpmd_stop(&t);
		return;
	}
	sl_testpmd_mode(&t, row->mode, sizeof(row->mode));
	pin_napi(ifb, RX_CPU, true);
	mpps = search(&m, again(row), RX_STEPS, &rr, msg, sizeof(msg));
	if (mpps >= 0) {
		keep_rx(row, &rr);
		row->ran = true;
		row->skipped[0] = '\0';
		note_sender_bound(row);
		if (!row->note[0])
			snprintf(row->note, sizeof(row->note),
				 "testpmd polls: its CPU time is a whole "
				 "core, busy or not");
		/* 5tswap turns frames around like sl_udp_swap (MACs, IPs,
		 * ports): the forwarding and echo of the other rows */
		if (sl_testpmd_cmd(&t, "stop\nset fwd 5tswap\nstart\n", 5.0) ==
		    0) {
			run_fwd(row);
			run_rtt(row);
		} else {
			snprintf(row->note, sizeof(row->note),
				 "no 5tswap forwarding mode: fwd/rtt "
				 "not measured");
		}
	} else if (!row->ran) {
		snprintf(row->skipped, sizeof(row->skipped), "%s", msg);
	}
	sl_testpmd_stop(&t);
}

/* ---- without a test bed: pair and udp on loopback ----------------------- */

struct local_tx {
	pthread_t thread;
	struct sl_port *port;
	const uint8_t *frame;
	uint32_t len;
	int mode; /* M_RX: send only; M_FWD: send and count returns;
		   * M_ECHO: ping-pong */
	double seconds;
	unsigned pings, warm;
	/* out */
	uint64_t sent, back;
	struct cli_hist *h;
	uint64_t lost;
	_Atomic uint64_t back_now;
};

static void *local_tx_main(void *arg)
{
	struct local_tx *t = arg;
	struct sl_pool *pool = sl_port_pool(t->port);
	struct sl_pkt *pkts[BURST], *in[BURST];
	uint64_t end = sl_time_ns() + (uint64_t)(t->seconds * 1e9);

	sl_bench_pin_self(SENDER_CPU);
	if (t->mode == M_ECHO) {
		for (unsigned i = 0; i < t->warm + t->pings && !cli_stop; i++) {
			uint64_t t0 = sl_time_ns(), t1;
			struct sl_pkt *p = sl_pkt_alloc(pool);
			bool done = false;

			if (!p)
				break;
			sl_pkt_set(p, t->frame, t->len);
			cli_put_be64(p->data + t->len - 8, i);
			if (!sl_tx_burst(t->port, 0, &p, 1)) {
				sl_pkt_free(p);
				t->lost += i >= t->warm;
				continue;
			}
			while (!done) {
				uint16_t n = sl_rx_burst(t->port, 0, in, 1);

				t1 = sl_time_ns();
				if (n) {
					done = cli_get_be64(in[0]->data +
							    in[0]->len - 8) ==
					       i;
					sl_pkt_free(in[0]);
					if (done && i >= t->warm)
						cli_hist_record(t->h, t1 - t0);
				}
				if (!done && t1 - t0 > PING_TIMEOUT_NS) {
					t->lost += i >= t->warm;
					break;
				}
			}
		}
		return NULL;
	}
	while (!cli_stop && sl_time_ns() < end) {
		int n = sl_pkt_alloc_bulk(pool, pkts, 32);
		uint16_t took;

		if (n == 0) {
			for (int i = 0; i < 32; i++) {
				sl_pkt_set(pkts[i], t->frame, t->len);
			}
			took = sl_tx_burst(t->port, 0, pkts, 32);
			if (took < 32)
				sl_pkt_free_bulk(pkts + took, 32u - took);
			t->sent += took;
		}
		if (t->mode == M_FWD) {
			uint16_t got = sl_rx_burst(t->port, 0, in, BURST);

			sl_pkt_free_bulk(in, got);
			t->back += got;
			atomic_store_explicit(&t->back_now, t->back,
					      memory_order_relaxed);
		}
	}
	return NULL;
}

static void run_local(struct row *row, unsigned idx)
{
	struct sl_port_opts po = { .sz = sizeof(po), .n_bufs = 8192 };
	struct sl_udp_params up = { 0 };
	char spec_a[96], spec_b[96];
	struct sl_port *a, *b;
	struct local_tx t = { 0 };
	struct rx_round rr = { 0 };
	struct rx r = { 0 };
	uint64_t c0, c1, u0, u1;
	double t0, t1, dur = cfg.warmup + cfg.duration;
	uint8_t fr[FRAME_LEN];
	int len;

	if (!strcmp(row->drv, "pair")) {
		snprintf(spec_a, sizeof(spec_a), "pair:slbench%d/0",
			 (int)getpid());
		snprintf(spec_b, sizeof(spec_b), "pair:slbench%d/1",
			 (int)getpid());
		snprintf(row->mode, sizeof(row->mode), "in-process");
	} else {
		/* ports derived from the pid, so parallel runs do not meet */
		unsigned pb = 20000 + (unsigned)getpid() % 20000 + idx * 2;

		snprintf(spec_a, sizeof(spec_a), "udp:127.0.0.1:%u", pb + 1);
		snprintf(spec_b, sizeof(spec_b), "udp:127.0.0.1:%u", pb);
		snprintf(row->mode, sizeof(row->mode), "socket, loopback");
		up.src.port = (uint16_t)(pb + 1);
		up.dst.port = (uint16_t)pb;
	}
	up.src.family = up.dst.family = AF_INET;
	up.src.v4.s_addr = up.dst.v4.s_addr = htonl(INADDR_LOOPBACK);
	if (!up.src.port)
		up.src.port = SRC_PORT, up.dst.port = DST_PORT;
	len = sl_udp_build(fr, sizeof(fr), &up, NULL,
			   FRAME_LEN - sl_udp_hdr_len(&up));
	a = sl_port_open(spec_a, &po);
	b = a ? sl_port_open(spec_b, &po) : NULL;
	if (!a || !b || len != FRAME_LEN) {
		snprintf(row->skipped, sizeof(row->skipped), "%s",
			 sl_last_error());
		if (a)
			sl_port_close(a);
		return;
	}
	t.h = cli_hist_new();
	if (!t.h || rx_start(&r, b, RX_IDLE_NS)) {
		snprintf(row->skipped, sizeof(row->skipped), "out of memory");
		goto out;
	}
	t.port = a;
	t.frame = fr;
	t.len = FRAME_LEN;
	for (int mode = M_RX; mode <= M_ECHO && !cli_stop; mode++) {
		t.mode = mode;
		t.seconds = dur + 0.1;
		t.sent = t.back = 0;
		t.pings = cfg.pings;
		t.warm = cfg.pings / 20 + 10;
		atomic_store(&t.back_now, 0);
		atomic_store(&r.mode, mode);
		t0 = now_s();
		if (pthread_create(&t.thread, NULL, local_tx_main, &t))
			break;
		if (mode == M_ECHO) {
			pthread_join(t.thread, NULL);
			keep_rtt(row, t.h, t.lost);
			break;
		}
		sleep_s(cfg.warmup);
		c0 = mode == M_RX ? atomic_load(&r.count) :
				    atomic_load(&t.back_now);
		u0 = rx_cpu_ns(&r);
		t0 = now_s();
		sleep_s(cfg.duration);
		c1 = mode == M_RX ? atomic_load(&r.count) :
				    atomic_load(&t.back_now);
		u1 = rx_cpu_ns(&r);
		t1 = now_s();
		pthread_join(t.thread, NULL);
		/* one process, no live sender: full speed is the only load */
		rr.pts[0] = (struct point){
			.offered = (double)t.sent / dur / 1e6,
			.got = (double)(c1 - c0) / (t1 - t0) / 1e6,
		};
		rr.n = 1;
		rr.best = rr.pts[0];
		if (mode == M_RX) {
			rr.cpu_ns = c1 > c0 ? (double)(u1 - u0) /
						      (double)(c1 - c0) :
					      0;
			keep_rx(row, &rr);
			row->ran = true;
		} else {
			keep_fwd(row, &rr.best, &rr.pts[0]);
		}
	}
	if (!strcmp(row->drv, "udp"))
		snprintf(row->note, sizeof(row->note),
			 "loopback: the kernel's receive work runs on the "
			 "sender's CPU, not counted");
out:
	rx_stop(&r);
	cli_hist_free(t.h);
	sl_port_close(a);
	sl_port_close(b);
}

/* ---- host jitter -------------------------------------------------------- */

/*
 * How often, and for how long, the host takes a CPU away from a thread
 * that never sleeps: timer ticks, interrupts, and in a VM the exits they
 * cost. Every path's round-trip tail rests on this: a ping in flight while
 * either CPU is taken away waits for it. One thread per CPU, both at once
 * as a round trip uses both, spins on the clock for JITTER_S and records
 * every gap over JITTER_MIN_NS.
 */
#define JITTER_S 0.5
#define JITTER_MIN_NS 2000
#define JITTER_LONG_NS 10000 /* "long": more than a fast path's round trip */

struct jitter {
	pthread_t thread;
	int cpu;
	struct cli_hist *h; /* gaps, ns */
	double lost; /* share of the time in gaps */
	double per_s, long_per_s; /* gaps a second: all, longer than LONG */
};

static struct jitter jit[2];
static bool have_jitter;

static void *jitter_main(void *arg)
{
	struct jitter *j = arg;
	uint64_t start, prev, end, lost = 0, n_long = 0;

	sl_bench_pin_self(j->cpu);
	start = prev = sl_time_ns();
	end = start + (uint64_t)(JITTER_S * 1e9);
	for (uint64_t t; (t = sl_time_ns()) < end; prev = t) {
		if (t - prev < JITTER_MIN_NS)
			continue;
		cli_hist_record(j->h, t - prev);
		lost += t - prev;
		n_long += t - prev >= JITTER_LONG_NS;
	}
	j->lost = (double)lost / (double)(end - start);
	j->per_s = (double)j->h->n / JITTER_S;
	j->long_per_s = (double)n_long / JITTER_S;
	return NULL;
}

static void measure_jitter(void)
{
	unsigned i, started = 0;

	for (i = 0; i < SL_ARRAY_SIZE_T(jit); i++) {
		jit[i].cpu = (int)i;
		jit[i].h = cli_hist_new();
		if (!jit[i].h ||
		    pthread_create(&jit[i].thread, NULL, jitter_main, &jit[i]))
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(jit[i].thread, NULL);
	have_jitter = started == SL_ARRAY_SIZE_T(jit);
}

/* The share of round trips of rtt_us that meet a long gap on either CPU:
 * above 0.1%, a p99.9 of twice the p50 is out of reach on this host. */
static double jitter_hit(double rtt_us)
{
	if (!have_jitter)
		return 0;
	return (jit[0].long_per_s + jit[1].long_per_s) * rtt_us * 1e-6;
}

static struct json_object *jnum(double v, int decimals);

static struct json_object *jitter_json(void)
{
	struct json_object *a;

	if (!have_jitter)
		return NULL;
	a = json_object_new_array();
	for (unsigned i = 0; i < SL_ARRAY_SIZE_T(jit); i++) {
		const struct jitter *j = &jit[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "cpu", json_object_new_int(j->cpu));
		json_object_object_add(e, "gaps_per_s", jnum(j->per_s, 1));
		json_object_object_add(e, "long_gaps_per_s",
				       jnum(j->long_per_s, 1));
		json_object_object_add(
			e, "gap_p50_us",
			jnum((double)cli_hist_percentile(j->h, 50) / 1e3, 2));
		json_object_object_add(
			e, "gap_p99_us",
			jnum((double)cli_hist_percentile(j->h, 99) / 1e3, 2));
		json_object_object_add(e, "gap_max_us",
				       jnum((double)j->h->max / 1e3, 2));
		json_object_object_add(e, "time_lost_pct",
				       jnum(100 * j->lost, 3));
		json_object_array_add(a, e);
	}
	return a;
}

static void print_jitter(void)
{
	if (!have_jitter)
		return;
	printf("host jitter (a thread spinning on each CPU for %.1f s, both "
	       "at once):\n",
	       JITTER_S);
	for (unsigned i = 0; i < SL_ARRAY_SIZE_T(jit); i++) {
		const struct jitter *j = &jit[i];

		printf("  CPU %d: %.0f gaps/s over %.0f us, %.0f/s over %.0f "
		       "us; gap p50 %.1f us, p99 %.1f us, max %.1f us; %.2f%% "
		       "of its time\n",
		       j->cpu, j->per_s, JITTER_MIN_NS / 1e3, j->long_per_s,
		       JITTER_LONG_NS / 1e3,
		       (double)cli_hist_percentile(j->h, 50) / 1e3,
		       (double)cli_hist_percentile(j->h, 99) / 1e3,
		       (double)cli_hist_percentile(j->h, 100) / 1e3,
		       100 * j->lost);
	}
}

/* ---- report ------------------------------------------------------------- */

static struct row *row_get(const char *path)
{
	for (unsigned i = 0; i < n_rows; i++)
		if (!strcmp(rows[i].path, path) && rows[i].ran)
			return &rows[i];
	return NULL;
}

struct goal {
	const char *what;
	double num, den, factor;
	bool le; /* num <= factor * den, else >= */
	bool known, met;
	bool tail; /* a p99.9 goal: the host's jitter bounds it */
};

static unsigned goals(struct goal *g)
{
	struct row *x = row_get("xdp-copy"), *u = row_get("udp");
	struct row *pmd = row_get("testpmd-af_xdp");
	struct row *drop = row_get("xdp-drop");
	unsigned n = 0;

	g[n++] = (struct goal){ "xdp-copy rx >= 3x udp rx",
				x ? x->rx_mpps : 0,
				u ? u->rx_mpps : 0,
				3.0,
				false,
				x && u && u->rx_mpps > 0 };
	g[n++] = (struct goal){ "xdp-copy rx >= 1.2x testpmd-af_xdp rx",
				x ? x->rx_mpps : 0,
				pmd ? pmd->rx_mpps : 0,
				1.2,
				false,
				x && pmd && pmd->rx_mpps > 0 };
	g[n++] = (struct goal){ "xdp-copy rx >= 0.5x xdp-drop ceiling",
				x ? x->rx_mpps : 0,
				drop ? drop->rx_mpps : 0,
				0.5,
				false,
				x && drop && drop->rx_mpps > 0 };
	g[n++] = (struct goal){ "xdp-copy RTT p50 <= 0.7x udp RTT p50",
				x ? x->p50 : 0,
				u ? u->p50 : 0,
				0.7,
				true,
				x && u && x->have_rtt && u->have_rtt };
	g[n++] = (struct goal){ "xdp-copy RTT p99.9 <= 2x its p50",
				x ? x->p999 : 0,
				x ? x->p50 : 0,
				2.0,
				true,
				x && x->have_rtt,
				.tail = true };
	for (unsigned i = 0; i < n; i++)
		if (g[i].known)
			g[i].met = g[i].le ?
					   g[i].num <= g[i].factor * g[i].den :
					   g[i].num >= g[i].factor * g[i].den;
	return n;
}

static void cell(char *buf, size_t len, bool have, double v, int decimals)
{
	if (have)
		snprintf(buf, len, "%.*f", decimals, v);
	else
		snprintf(buf, len, "-");
}

static void print_table(const char *header)
{
	struct row *sock = row_get("udp");
	struct goal g[8];
	unsigned ng, i;

	printf("\n%s\n", header);
	printf("%-18s %7s %7s %7s %8s %8s %8s %7s  %-20s %-26s %-42s %s\n",
	       "path", "rx Mpps", "x udp", "fwd", "RTT p50", "p99", "p99.9",
	       "CPU ns", "mode", "privileges", "kernel no longer sees",
	       "support");
	for (i = 0; i < n_rows; i++) {
		struct row *r = &rows[i];
		char rx[16], xs[16], fw[16], a[16], b[16], c[16], cp[16];

		if (!r->ran) {
			if (!r->skipped[0])
				continue; /* not selected */
			printf("%-18s skipped: %s\n", r->path, r->skipped);
			continue;
		}
		cell(rx, sizeof(rx), true, r->rx_mpps, 3);
		cell(xs, sizeof(xs), sock && sock->rx_mpps > 0,
		     sock ? r->rx_mpps / sock->rx_mpps : 0, 2);
		cell(fw, sizeof(fw), r->have_fwd, r->fwd_mpps, 3);
		cell(a, sizeof(a), r->have_rtt, r->p50, 1);
		cell(b, sizeof(b), r->have_rtt, r->p99, 1);
		cell(c, sizeof(c), r->have_rtt, r->p999, 1);
		cell(cp, sizeof(cp), r->have_cpu, r->cpu_ns, 0);
		printf("%-18s %7s %7s %7s %8s %8s %8s %7s  %-20s %-26s %-42s "
		       "%s\n",
		       r->path, rx, xs, fw, a, b, c, cp, r->mode,
		       r->risk->privileges, r->risk->kernel_loses,
		       r->risk->support);
	}
	printf("Mpps: millions of 64-byte frames per second; x udp: rx "
	       "ratio to the kernel socket row;\nfwd: frames turned "
	       "around and counted back at the sender; RTT in us%s;\nCPU "
	       "ns: receiver thread%s per received frame\n",
	       have_bed ? " (a port of the row's kind in A pings one frame "
			  "at a time on CPU 0, B echoes on CPU 1)" :
			  "",
	       have_bed ? " + B's NAPI kthread" : "");
	for (i = 0; i < n_rows; i++) {
		struct row *r = &rows[i];

		if (r->ran && (r->note[0] || r->lost))
			printf("note: %s: %s%s(offered %.3f Mpps%s)\n", r->path,
			       r->note, r->note[0] ? " " : "", r->offered_mpps,
			       r->lost ? ", some pings lost" : "");
	}
	if (copy_mode_why[0])
		printf("xdp copy mode: %s\n", copy_mode_why);
	print_jitter();
	ng = goals(g);
	printf("speed goals, reported, never enforced:\n");
	for (i = 0; i < ng; i++) {
		if (!g[i].known) {
			printf("  %-40s unknown (a row it needs did not run)\n",
			       g[i].what);
			continue;
		}
		printf("  %-40s %s: %.3f vs %.2f x %.3f = %.3f (ratio %.2f)\n",
		       g[i].what, g[i].met ? "met" : "NOT met", g[i].num,
		       g[i].factor, g[i].den, g[i].factor * g[i].den,
		       g[i].den > 0 ? g[i].num / g[i].den : 0);
		if (g[i].tail && have_jitter)
			printf("  %-40s (host: a %.1f us round trip meets a "
			       "gap over %.0f us in %.2f%% of cases; p99.9 "
			       "allows 0.1%%)\n",
			       "", g[i].den, JITTER_LONG_NS / 1e3,
			       100 * jitter_hit(g[i].den));
	}
}

static struct json_object *jnum(double v, int decimals)
{
	double m = pow(10, decimals);

	return json_object_new_double(round(v * m) / m);
}

/* The receive search of the round that gave the row's figure: what the
 * path took at each offered load (paced: null at full speed). */
static struct json_object *curve_json(const struct row *r)
{
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < r->n_curve; i++) {
		const struct point *p = &r->curve[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "paced_mpps",
				       p->paced > 0 ? jnum(p->paced, 4) : NULL);
		json_object_object_add(e, "offered_mpps", jnum(p->offered, 4));
		json_object_object_add(e, "rx_mpps", jnum(p->got, 4));
		json_object_array_add(a, e);
	}
	return a;
}

static int write_json(struct json_object *host)
{
	struct json_object *o = json_object_new_object();
	struct json_object *res = json_object_new_array();
	struct json_object *gl = json_object_new_array();
	struct row *sock = row_get("udp");
	struct goal g[8];
	unsigned ng, i;
	int rc;

	json_object_object_add(o, "host", json_object_get(host));
	for (i = 0; i < n_rows; i++) {
		struct row *r = &rows[i];
		struct json_object *e, *rk;

		if (!r->ran && !r->skipped[0])
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "path",
				       json_object_new_string(r->path));
		rk = json_object_new_object();
		json_object_object_add(
			rk, "privileges",
			json_object_new_string(r->risk->privileges));
		json_object_object_add(
			rk, "kernel_no_longer_sees",
			json_object_new_string(r->risk->kernel_loses));
		json_object_object_add(
			rk, "hardware_support",
			json_object_new_string(r->risk->support));
		if (!r->ran) {
			json_object_object_add(
				e, "skipped",
				json_object_new_string(r->skipped));
			json_object_object_add(e, "risk", rk);
			json_object_array_add(res, e);
			continue;
		}
		json_object_object_add(e, "mode",
				       json_object_new_string(r->mode));
		json_object_object_add(e, "rx_mpps", jnum(r->rx_mpps, 4));
		json_object_object_add(e, "offered_mpps",
				       jnum(r->offered_mpps, 4));
		json_object_object_add(e, "paced_mpps",
				       r->rx_paced > 0 ? jnum(r->rx_paced, 4) :
							 NULL);
		json_object_object_add(e, "rx_full_mpps",
				       jnum(r->rx_full_mpps, 4));
		json_object_object_add(e, "rx_curve", curve_json(r));
		json_object_object_add(e, "fwd_mpps",
				       r->have_fwd ? jnum(r->fwd_mpps, 4) :
						     NULL);
		json_object_object_add(e, "fwd_full_mpps",
				       r->have_fwd ? jnum(r->fwd_full_mpps, 4) :
						     NULL);
		if (r->have_rtt) {
			struct json_object *rt = json_object_new_object();

			json_object_object_add(rt, "p50", jnum(r->p50, 2));
			json_object_object_add(rt, "p99", jnum(r->p99, 2));
			json_object_object_add(rt, "p999", jnum(r->p999, 2));
			json_object_object_add(
				rt, "samples",
				json_object_new_uint64(r->pings));
			json_object_object_add(rt, "lost",
					       json_object_new_uint64(r->lost));
			json_object_object_add(e, "rtt_us", rt);
		} else {
			json_object_object_add(e, "rtt_us", NULL);
		}
		json_object_object_add(e, "cpu_ns_per_pkt",
				       r->have_cpu ? jnum(r->cpu_ns, 1) : NULL);
		if (sock && sock->rx_mpps > 0)
			json_object_object_add(e, "x_udp",
					       jnum(r->rx_mpps / sock->rx_mpps,
						    3));
		json_object_object_add(e, "risk", rk);
		json_object_object_add(e, "note",
				       json_object_new_string(r->note));
		json_object_array_add(res, e);
	}
	json_object_object_add(o, "results", res);
	ng = goals(g);
	for (i = 0; i < ng; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "goal",
				       json_object_new_string(g[i].what));
		json_object_object_add(
			e, "met",
			g[i].known ? json_object_new_boolean(g[i].met) : NULL);
		if (g[i].known)
			json_object_object_add(e, "value", jnum(g[i].num, 4)),
				json_object_object_add(
					e, "limit",
					jnum(g[i].factor * g[i].den, 4));
		if (g[i].known && g[i].tail && have_jitter)
			json_object_object_add(e, "host_gap_share",
					       jnum(jitter_hit(g[i].den), 5));
		json_object_array_add(gl, e);
	}
	json_object_object_add(o, "goals", gl);
	rc = json_object_to_file_ext(cfg.json, o,
				     JSON_C_TO_STRING_PRETTY |
					     JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(o);
	if (rc) {
		fprintf(stderr, "sluice: bench: --json %s: %s\n", cfg.json,
			strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- SVG ---------------------------------------------------------------- */

static void svg_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}

/* The first n characters of s, escaped, with "..." when cut. */
static void svg_text_n(FILE *f, const char *s, size_t n)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%.*s%s", (int)n, s,
		 strlen(s) > n ? "..." : "");
	svg_text(f, buf);
}

/* log10 of a round trip in us, from 1 us (0) up */
static double lg(double us)
{
	return us > 1 ? log10(us) : 0;
}

/*
 * Two panels side by side, one line per path: throughput (rx and fwd
 * bars, Mpps, linear) and round trip (a bar to p50, a whisker to p99.9
 * with a tick at p99, microseconds on a log scale from 1 us, so that a p50
 * of tens of us and a tail of milliseconds both show). Hand-written: no dependency.
 */
/*
 * A skipped row's reason, across both charts (it has no bars), on two
 * lines of a row's height, cut at a space: at 10 px a line of SVG_LINE
 * characters fits the width of the two charts.
 */
#define SVG_LINE 110

static void svg_skipped(FILE *f, const char *why, int x, int y)
{
	size_t len = strlen(why), cut = len;
	char line[SVG_LINE + 1];

	if (len > SVG_LINE) {
		for (cut = SVG_LINE; cut > SVG_LINE / 2 && why[cut] != ' ';
		     cut--)
			;
		if (why[cut] != ' ')
			cut = SVG_LINE;
	}
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#888\">"
		"skipped: ",
		x, y + 12);
	snprintf(line, sizeof(line), "%.*s", (int)cut, why);
	svg_text(f, line); /* no "...": the second line goes on */
	fprintf(f, "</text>\n");
	if (cut >= len)
		return;
	while (why[cut] == ' ')
		cut++;
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#888\">", x,
		y + 26);
	svg_text_n(f, why + cut, SVG_LINE);
	fprintf(f, "</text>\n");
}

static int write_svg(const char *header)
{
	const int lw = 150, pw = 330, gap = 40, top = 70, lh = 34;
	struct row *shown[32];
	unsigned n = 0, i;
	double max_rate = 0, max_us = 0;
	int w, h;
	FILE *f;

	for (i = 0; i < n_rows && n < SL_ARRAY_SIZE_T(shown); i++) {
		struct row *r = &rows[i];

		if (!r->ran && !r->skipped[0])
			continue;
		shown[n++] = r;
		if (r->ran) {
			max_rate = fmax(max_rate,
					fmax(r->rx_mpps,
					     r->have_fwd ? r->fwd_mpps : 0));
			if (r->have_rtt)
				max_us = fmax(max_us, r->p999);
		}
	}
	if (max_rate <= 0)
		max_rate = 1;
	if (max_us <= 0)
		max_us = 1;
	w = lw + 2 * pw + gap + 30;
	h = top + (int)n * lh + 60;
	f = fopen(cfg.svg, "w");
	if (!f) {
		fprintf(stderr, "sluice: bench: --svg %s: %s\n", cfg.svg,
			strerror(errno));
		return 1;
	}
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"10\" y=\"20\" font-size=\"15\" "
		"font-weight=\"bold\">sluice bench: ",
		w, h, w, h);
	svg_text(f, header);
	fprintf(f,
		"</text>\n"
		"<text x=\"%d\" y=\"50\" font-weight=\"bold\">Throughput, "
		"Mpps (64-byte frames)</text>\n"
		"<rect x=\"%d\" y=\"40\" width=\"10\" height=\"10\" "
		"fill=\"#3b75af\"/><text x=\"%d\" y=\"50\">rx</text>\n"
		"<rect x=\"%d\" y=\"40\" width=\"10\" height=\"10\" "
		"fill=\"#ef8636\"/><text x=\"%d\" y=\"50\">fwd</text>\n"
		"<text x=\"%d\" y=\"50\" font-weight=\"bold\">Round trip, us "
		"(bar p50, tick p99, line p99.9)</text>\n",
		lw, lw + 230, lw + 244, lw + 270, lw + 284, lw + pw + gap);
	for (double us = 1; us <= fmax(max_us, 10) * 1.001; us *= 10) {
		double x = lw + pw + gap +
			   (pw - 130) / log10(fmax(max_us, 10)) * lg(us);

		fprintf(f,
			"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\" "
			"font-size=\"9\" fill=\"#777\" "
			"text-anchor=\"middle\">%g</text>\n",
			x, top - 4, x, top + (int)n * lh, x,
			top + (int)n * lh + 12, us);
	}
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" font-size=\"9\" fill=\"#777\">"
		"us, log scale</text>\n",
		lw + 2 * pw + gap - 120, top + (int)n * lh + 24);
	for (i = 0; i < n; i++) {
		struct row *r = shown[i];
		int y = top + (int)i * lh, x2 = lw + pw + gap;

		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
			lw - 8, y + 16);
		svg_text(f, r->path);
		fprintf(f, "</text>\n");
		if (!r->ran) {
			svg_skipped(f, r->skipped, lw, y);
			continue;
		}
		fprintf(f,
			"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"12\" "
			"fill=\"#3b75af\"/><text x=\"%.1f\" y=\"%d\" "
			"font-size=\"10\">%.3f</text>\n",
			lw, y + 2, (pw - 50) * r->rx_mpps / max_rate,
			lw + (pw - 50) * r->rx_mpps / max_rate + 3, y + 12,
			r->rx_mpps);
		if (r->have_fwd)
			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"12\" fill=\"#ef8636\"/><text "
				"x=\"%.1f\" y=\"%d\" font-size=\"10\">%.3f"
				"</text>\n",
				lw, y + 16, (pw - 50) * r->fwd_mpps / max_rate,
				lw + (pw - 50) * r->fwd_mpps / max_rate + 3,
				y + 26, r->fwd_mpps);
		if (r->have_rtt) {
			/* log scale from 1 us: p50 and a ms tail both show */
			double s = (pw - 130) / log10(fmax(max_us, 10));

			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"16\" fill=\"#5a9e5a\"/>\n"
				"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
				"y2=\"%d\" stroke=\"#333\"/>\n"
				"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
				"y2=\"%d\" stroke=\"#333\" "
				"stroke-width=\"2\"/>\n"
				"<text x=\"%.1f\" y=\"%d\" font-size=\"10\">"
				"%.1f / %.1f / %.1f</text>\n",
				x2, y + 4, s * lg(r->p50), x2 + s * lg(r->p50),
				y + 12, x2 + s * lg(r->p999), y + 12,
				x2 + s * lg(r->p99), y + 6, x2 + s * lg(r->p99),
				y + 18, x2 + s * lg(r->p999) + 4, y + 16,
				r->p50, r->p99, r->p999);
		}
	}
	fprintf(f,
		"<text x=\"10\" y=\"%d\" font-size=\"10\" fill=\"#555\">"
		"RTT labels: p50 / p99 / p99.9 us. Best of %u round(s); "
		"see the table for modes, CPU per packet and the risk "
		"columns.</text>\n</svg>\n",
		h - 20, cfg.reps);
	if (fclose(f)) {
		fprintf(stderr, "sluice: bench: --svg %s: %s\n", cfg.svg,
			strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static bool selected(const struct row *r)
{
	char list[256], *tok, *save;

	if (r->peer && !cfg.peers)
		return false;
	if (!cfg.only)
		return true;
	snprintf(list, sizeof(list), "%s", cfg.only);
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, r->path))
			return true;
	return false;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "svg", required_argument, NULL, 's' },
		{ "peers", no_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "reps", required_argument, NULL, 'r' },
		{ "pings", required_argument, NULL, 'n' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	double dur = 0;
	long reps = 0, pings = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			cfg.quick = true;
			break;
		case 'j':
			cfg.json = optarg;
			break;
		case 's':
			cfg.svg = optarg;
			break;
		case 'p':
			cfg.peers = true;
			break;
		case 'd':
			dur = cli_opt_seconds("--duration", optarg);
			if (dur > 30)
				cli_usage_fail("--duration %s: too long: at "
					       "most 30 seconds",
					       optarg);
			break;
		case 'r':
			reps = (long)cli_opt_u64("--reps", optarg, 1, 10);
			break;
		case 'n':
			pings = (long)cli_opt_u64("--pings", optarg, 10,
						  1000000);
			break;
		case 'o':
			cfg.only = optarg;
			break;
		case 'h':
			fputs(bench_help, stdout);
			exit(0);
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (optind < argc)
		cli_usage_fail("unexpected argument '%s'", argv[optind]);
	cfg.duration = cfg.quick ? 0.4 : 1.0;
	cfg.warmup = cfg.quick ? 0.2 : 0.3;
	cfg.reps = cfg.quick ? 1 : 2;
	cfg.pings = cfg.quick ? 1000 : 5000;
	cfg.rtt_max_s = cfg.quick ? 0.5 : 2.0;
	if (dur > 0)
		cfg.duration = dur;
	if (reps)
		cfg.reps = (unsigned)reps;
	if (pings) { /* asked for: all of them, however long */
		cfg.pings = (unsigned)pings;
		cfg.rtt_max_s = 3600;
	}
	if (cfg.only) {
		char list[256], *tok, *save;

		snprintf(list, sizeof(list), "%s", cfg.only);
		for (tok = strtok_r(list, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			bool known = !strcmp(tok, "pair");

			for (unsigned i = 0; i < SL_ARRAY_SIZE_T(bed_rows); i++)
				known |= !strcmp(tok, bed_rows[i].path);
			if (!known)
				cli_usage_fail(
					"--only: unknown path '%s' (udp, "
					"packet, xdp-copy, xdp-zc, "
					"...-busypoll, xdp-drop, pair, "
					"testpmd-af_xdp, "
					"testpmd-af_packet)",
					tok);
		}
	}
}

/* Why the bed cannot be used, or NULL. */
static const char *bed_refusal(void)
{
	if (geteuid() != 0)
		return "needs root (network namespaces, veth, XDP programs)";
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return "needs 2 CPUs (sender and receiver)";
	return NULL;
}

int cmd_bench(int argc, char **argv)
{
	struct sl_testbed_opts to = { .sz = sizeof(to), .queues = 1 };
	char header[512], cpu[128], date[32], load0[32], load1[32];
	char why_local[200] = "";
	const char *refusal;
	struct json_object *host, *modes;
	struct utsname un;
	time_t t = time(NULL);
	double start = now_s();
	unsigned i;
	int rc = 0;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	measure_jitter(); /* before anything of ours runs */
	uname(&un);
	sl_bench_cpu_model(cpu, sizeof(cpu));
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
	read_load(load0, sizeof(load0));

	refusal = bed_refusal();
	if (!refusal) {
		int err = sl_testbed_up(&tb, &to);

		if (err) {
			snprintf(why_local, sizeof(why_local), "test bed: %s",
				 sl_testbed_error());
		} else if (sl_testbed_enter(&tb, SL_TESTBED_B) ||
			   sl_bench_frame(&tb, SRC_PORT, DST_PORT, frame)) {
			snprintf(why_local, sizeof(why_local),
				 "test bed: cannot enter it");
			sl_testbed_down(&tb);
		} else {
			have_bed = true;
		}
	} else {
		snprintf(why_local, sizeof(why_local), "%s", refusal);
	}

	if (have_bed) {
		rows = bed_rows;
		n_rows = SL_ARRAY_SIZE_T(bed_rows);
		ifa = tb.end[SL_TESTBED_A].ifname;
		ifb = tb.end[SL_TESTBED_B].ifname;
		/* veth has NAPI only with GRO or XDP: GRO on, threaded,
		 * so that the receive work runs on the receiver's CPU */
		{
			char cmd[256];

			snprintf(cmd, sizeof(cmd),
				 "ethtool -K %s gro on >/dev/null 2>&1 && "
				 "echo 1 > /sys/class/net/%s/threaded",
				 ifb, ifb);
			if (sl_testbed_run(&tb, SL_TESTBED_B, cmd))
				cli_warnx("no GRO/threaded NAPI on %s: receive "
					  "work runs on the sender's CPU",
					  ifb);
		}
		printf("sluice bench: test bed %s (%s -> %s), %.2f s per "
		       "rate after %.2f s, %u pings, %u round(s)\n",
		       tb.name, tb.end[SL_TESTBED_A].ns,
		       tb.end[SL_TESTBED_B].ns, cfg.duration, cfg.warmup,
		       cfg.pings, cfg.reps);
	} else {
		rows = local_rows;
		n_rows = SL_ARRAY_SIZE_T(local_rows);
		printf("sluice bench: no test bed (%s): measuring pair and "
		       "udp on loopback only\n",
		       why_local);
	}
	for (i = 0; i < n_rows; i++)
		if (!have_bed && rows[i].kind != K_LOCAL && selected(&rows[i]))
			snprintf(rows[i].skipped, sizeof(rows[i].skipped), "%s",
				 why_local);

	for (unsigned rep = 0; rep < cfg.reps && !cli_stop; rep++) {
		for (i = 0; i < n_rows && !cli_stop; i++) {
			struct row *r = &rows[i];
			double t_row;

			if (!selected(r) || (!have_bed && r->kind != K_LOCAL))
				continue;
			/* zero-copy refused once is refused every time */
			if (rep && !r->ran && r->skipped[0])
				continue;
			printf("  round %u: %-18s ", rep + 1, r->path);
			fflush(stdout);
			t_row = now_s();
			switch (r->kind) {
			case K_DROP:
				run_drop(r);
				break;
			case K_PORT:
				run_port(r);
				break;
			case K_TESTPMD:
				run_testpmd(r);
				break;
			case K_LOCAL:
				run_local(r, i);
				break;
			}
			if (r->ran && r->last_full > 0 &&
			    r->last_full < r->last_rx)
				printf("rx %.3f Mpps (offered %.3f, paced; "
				       "full speed: %.3f)",
				       r->last_rx, r->last_offered,
				       r->last_full);
			else if (r->ran && r->last_paced > 0)
				printf("rx %.3f Mpps (offered %.3f, paced)",
				       r->last_rx, r->last_offered);
			else if (r->ran)
				printf("rx %.3f Mpps (offered %.3f)",
				       r->last_rx, r->last_offered);
			else
				printf("skipped: %s", r->skipped);
			printf(" [%.1f s]\n", now_s() - t_row);
		}
	}
	if (have_bed) {
		sl_testbed_enter(&tb, SL_TESTBED_HOME);
		sl_testbed_down(&tb);
	}
	read_load(load1, sizeof(load1));
	snprintf(header, sizeof(header),
		 "%s  Linux %s  %s (%ld CPUs)  load %s before, %s after  "
		 "%s%s",
		 date, un.release, cpu, sysconf(_SC_NPROCESSORS_ONLN), load0,
		 load1,
		 have_bed ? "veth test bed, XDP live-frames sender on CPU 0, "
			    "receiver + NAPI on CPU 1" :
			    "no test bed: ",
		 have_bed ? "" : why_local);
	print_table(header);
	printf("(%.1f s in all)\n", now_s() - start);

	host = json_object_new_object();
	json_object_object_add(host, "kernel",
			       json_object_new_string(un.release));
	json_object_object_add(host, "cpu_model", json_object_new_string(cpu));
	json_object_object_add(
		host, "cores",
		json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(host, "driver",
			       json_object_new_string(have_bed ? "veth" :
								 "loopback"));
	modes = json_object_new_object();
	for (i = 0; i < n_rows; i++)
		if (rows[i].ran)
			json_object_object_add(
				modes, rows[i].path,
				json_object_new_string(rows[i].mode));
	json_object_object_add(host, "modes", modes);
	json_object_object_add(host, "queues", json_object_new_int(1));
	if (copy_mode_why[0])
		json_object_object_add(host, "xdp_copy_mode",
				       json_object_new_string(copy_mode_why));
	json_object_object_add(host, "date", json_object_new_string(date));
	json_object_object_add(host, "root",
			       json_object_new_boolean(geteuid() == 0));
	json_object_object_add(host, "test_bed",
			       json_object_new_boolean(have_bed));
	if (!have_bed)
		json_object_object_add(host, "why_no_test_bed",
				       json_object_new_string(why_local));
	json_object_object_add(host, "load_before",
			       json_object_new_string(load0));
	json_object_object_add(host, "load_after",
			       json_object_new_string(load1));
	json_object_object_add(host, "frame_len",
			       json_object_new_int(FRAME_LEN + 4));
	json_object_object_add(host, "duration_s", jnum(cfg.duration, 3));
	json_object_object_add(host, "rounds",
			       json_object_new_int((int)cfg.reps));
	json_object_object_add(host, "pings",
			       json_object_new_int((int)cfg.pings));
	json_object_object_add(host, "jitter", jitter_json());
	if (cfg.json)
		rc |= write_json(host);
	json_object_put(host);
	if (cfg.svg) {
		char title[160];

		snprintf(title, sizeof(title), "%s, Linux %s, %s", date,
			 un.release,
			 have_bed ? "veth test bed" : "no test bed");
		rc |= write_svg(title);
	}
	for (i = 0; i < SL_ARRAY_SIZE_T(jit); i++)
		cli_hist_free(jit[i].h);
	return rc ? 1 : 0;
}
