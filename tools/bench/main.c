// SPDX-License-Identifier: MIT
/*
 * sluice bench: the capability-versus-risk report (issue 4). One run
 * measures, for every receive path this host has, what it can do (receive
 * and forwarding rate at 64-byte frames, round-trip percentiles at a low
 * rate, CPU time per received packet) next to what it costs (privileges,
 * what the kernel no longer sees, how broad the support is: DESIGN.md's
 * table), and prints one table, with --json and --svg renderings of it.
 * This file is the command: its options, the test bed's set-up, the
 * rounds over the rows and the host facts of the report; the phases are
 * the other files of tools/bench/ (bench.h says which), sharing one
 * struct bench that is passed to them.
 *
 * As root it builds the veth test bed (bed/testbed.h) the way
 * bench/rx_bench.c does: namespace A sends with the in-kernel live-frames
 * generator on CPU 0, namespace B runs the path under test on CPU 1 with
 * the veth's NAPI threaded and pinned there too, so that a row pays for all
 * of its receive work on its own CPU. Without root (or without a test bed)
 * it measures what it can in one process (local.c) and says what it
 * skipped and why.
 *
 * Benchmarks report, they never judge: the speed goals are printed
 * as met or not met and the exit status does not depend on them. The
 * machine is shared, so each figure is the best of --reps rounds (rounds go
 * over all rows so a busy spell does not hit one row only), after a
 * warm-up, and a row that took nearly all that was offered says it
 * measured the sender.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static const char bench_help[] =
	"usage: sluice bench [--quick] [--json FILE] [--svg FILE] [--peers]\n"
	"                    [--scale | --rdma | --run [--spin US]]\n"
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
	"  --scale          instead: receive and forwarding rate of an xdp\n"
	"                   port as queues and pinned cores grow (1, 2, ...),\n"
	"                   with the efficiency of each added core\n"
	"  --rdma           instead: RDMA write-bw and read-bw (64 KiB) over\n"
	"                   udp and xdp ports next to one TCP stream (iperf3)\n"
	"  --run            instead: sockperf ping-pong (p50/p99/p99.9 of "
	"half\n"
	"                   the round trip) and throughput (msg/s, Gbit/s) "
	"with\n"
	"                   and without `sluice run`, per path (kernel, "
	"packet,\n"
	"                   xdp, auto): server under it, both under it, each\n"
	"                   also spinning; ratios against the plain programs\n"
	"                   (--quick: 1 s sockperf runs, about 100 s in all)\n"
	"  --spin US        --run's spin rows: SLUICE_RUN_SPIN=US (default "
	"20)\n"
	"\n"
	"examples:\n"
	"  sudo sluice bench\n"
	"  sudo sluice bench --quick --json bench.json --svg bench.svg\n"
	"  sudo sluice bench --peers\n"
	"  sudo sluice bench --scale --quick\n"
	"  sudo sluice bench --rdma\n"
	"  sudo sluice bench --run --quick\n";
/* ---- small helpers ------------------------------------------------------ */

double bench_now_s(void)
{
	return cli_secs(sl_time_ns());
}

void bench_sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR && !cli_stop)
		;
}

/* utime + stime of a whole process (all threads), in ns. */
uint64_t bench_proc_cpu_ns(int pid)
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
static void parse_args(struct bench *b, int argc, char **argv)
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
		{ "scale", no_argument, NULL, 'S' },
		{ "rdma", no_argument, NULL, 'R' },
		{ "run", no_argument, NULL, 'U' },
		{ "spin", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	double dur = 0;
	long reps = 0, pings = 0;
	bool spin = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			b->cfg.quick = true;
			break;
		case 'j':
			b->cfg.json = optarg;
			break;
		case 's':
			b->cfg.svg = optarg;
			break;
		case 'p':
			b->cfg.peers = true;
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
			b->cfg.only = optarg;
			break;
		case 'S':
			b->cfg.scale = true;
			break;
		case 'R':
			b->cfg.rdma = true;
			break;
		case 'U':
			b->cfg.run = true;
			break;
		case 'P':
			b->cfg.run_spin_us = (unsigned)cli_opt_u64(
				"--spin", optarg, 1, 1000000);
			spin = true;
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
	if (b->cfg.scale + b->cfg.rdma + b->cfg.run > 1)
		cli_usage_fail("--scale, --rdma and --run: one at a time");
	if (spin && !b->cfg.run)
		cli_usage_fail("--spin: only with --run");
	if (!spin)
		b->cfg.run_spin_us = 20;
	b->cfg.duration = b->cfg.quick ? 0.4 : 1.0;
	b->cfg.warmup = b->cfg.quick ? 0.2 : 0.3;
	b->cfg.reps = b->cfg.quick ? 1 : 2;
	b->cfg.pings = b->cfg.quick ? 1000 : 5000;
	b->cfg.rtt_max_s = b->cfg.quick ? 0.5 : 2.0;
	if (dur > 0)
		b->cfg.duration = dur;
	if (reps)
		b->cfg.reps = (unsigned)reps;
	if (pings) { /* asked for: all of them, however long */
		b->cfg.pings = (unsigned)pings;
		b->cfg.rtt_max_s = 3600;
	}
	if (b->cfg.only) {
		char list[256], *tok, *save;

		snprintf(list, sizeof(list), "%s", b->cfg.only);
		for (tok = strtok_r(list, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			bool known = !strcmp(tok, "pair");

			for (unsigned i = 0; i < bench_n_bed_rows; i++)
				known |= !strcmp(tok, bench_bed_rows[i].path);
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
	static struct bench bench = { .copy_mode = "copy-native" };
	struct bench *b = &bench;
	struct tb_opts to = { .sz = sizeof(to), .queues = 1 };
	char header[512], cpu[128], date[32], load0[32], load1[32];
	char why_local[200] = "", why_fewer[200] = "";
	const char *refusal;
	struct json_object *host, *modes;
	struct utsname un;
	time_t t = time(NULL);
	double start = bench_now_s();
	unsigned i;
	int rc = 0;

	parse_args(b, argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_measure_jitter(b); /* before anything of ours runs */
	uname(&un);
	rxc_cpu_model(cpu, sizeof(cpu));
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
	rxc_loadavg(load0, sizeof(load0));

	refusal = bed_refusal();
	if (b->cfg.scale)
		to.queues = bench_scale_queues();
	if (!refusal) {
		int err = tb_up(&b->tb, &to);

		/* --scale: a bed that cannot have several queues still
		 * gives the one-core point, and the output says why */
		if (err && to.queues > 1) {
			snprintf(why_fewer, sizeof(why_fewer), "%s",
				 tb_error());
			to.queues = 1;
			err = tb_up(&b->tb, &to);
		}

		if (err) {
			snprintf(why_local, sizeof(why_local), "test bed: %s",
				 tb_error());
		} else if (tb_enter(&b->tb, TB_B) ||
			   rxc_frame(&b->tb, SRC_PORT, DST_PORT, b->frame)) {
			snprintf(why_local, sizeof(why_local),
				 "test bed: cannot enter it");
			tb_down(&b->tb);
		} else {
			b->have_bed = true;
		}
	} else {
		snprintf(why_local, sizeof(why_local), "%s", refusal);
	}

	if (b->cfg.run) {
		if (!b->have_bed) {
			printf("sluice bench --run: no test bed (%s): "
			       "nothing measured\n",
			       why_local);
			return 0;
		}
		rc = bench_run_apps(b);
		tb_enter(&b->tb, TB_HOME);
		tb_down(&b->tb);
		for (i = 0; i < SL_ARRAY_SIZE_T(b->jit); i++)
			cli_hist_free(b->jit[i].h);
		return rc ? 1 : 0;
	}
	if (b->cfg.rdma) {
		if (!b->have_bed) {
			printf("sluice bench --rdma: no test bed (%s): "
			       "nothing measured\n",
			       why_local);
			return 0;
		}
		rc = bench_run_rdma(b);
		tb_enter(&b->tb, TB_HOME);
		tb_down(&b->tb);
		for (i = 0; i < SL_ARRAY_SIZE_T(b->jit); i++)
			cli_hist_free(b->jit[i].h);
		return rc ? 1 : 0;
	}
	if (b->cfg.scale) {
		if (!b->have_bed) {
			printf("sluice bench --scale: no test bed (%s): "
			       "nothing measured\n",
			       why_local);
			return 0;
		}
		b->ifa = b->tb.end[TB_A].ifname;
		b->ifb = b->tb.end[TB_B].ifname;
		if (rxc_napi_setup(&b->tb, TB_B, b->ifb))
			cli_warnx("no GRO/threaded NAPI on %s: receive work "
				  "runs on the senders' CPUs",
				  b->ifb);
		rc = bench_run_scale(b, to.queues,
				     why_fewer[0] ? why_fewer : NULL);
		tb_enter(&b->tb, TB_HOME);
		tb_down(&b->tb);
		for (i = 0; i < SL_ARRAY_SIZE_T(b->jit); i++)
			cli_hist_free(b->jit[i].h);
		return rc ? 1 : 0;
	}
	if (b->have_bed) {
		b->rows = bench_bed_rows;
		b->n_rows = bench_n_bed_rows;
		b->ifa = b->tb.end[TB_A].ifname;
		b->ifb = b->tb.end[TB_B].ifname;
		if (rxc_napi_setup(&b->tb, TB_B, b->ifb))
			cli_warnx("no GRO/threaded NAPI on %s: receive work "
				  "runs on the sender's CPU",
				  b->ifb);
		printf("sluice bench: test bed %s (%s -> %s), %.2f s per "
		       "rate after %.2f s, %u pings, %u round(s)\n",
		       b->tb.name, b->tb.end[TB_A].ns, b->tb.end[TB_B].ns,
		       b->cfg.duration, b->cfg.warmup, b->cfg.pings,
		       b->cfg.reps);
	} else {
		b->rows = bench_local_rows;
		b->n_rows = bench_n_local_rows;
		printf("sluice bench: no test bed (%s): measuring pair and "
		       "udp on loopback only\n",
		       why_local);
	}
	for (i = 0; i < b->n_rows; i++)
		if (!b->have_bed && b->rows[i].kind != K_LOCAL &&
		    bench_selected(b, &b->rows[i]))
			snprintf(b->rows[i].skipped, sizeof(b->rows[i].skipped),
				 "%s", why_local);

	for (unsigned rep = 0; rep < b->cfg.reps && !cli_stop; rep++) {
		for (i = 0; i < b->n_rows && !cli_stop; i++) {
			struct row *r = &b->rows[i];
			double t_row;

			if (!bench_selected(b, r) ||
			    (!b->have_bed && r->kind != K_LOCAL))
				continue;
			/* zero-copy refused once is refused every time */
			if (rep && !r->ran && r->skipped[0])
				continue;
			printf("  round %u: %-18s ", rep + 1, r->path);
			fflush(stdout);
			t_row = bench_now_s();
			switch (r->kind) {
			case K_DROP:
				bench_run_drop(b, r);
				break;
			case K_PORT:
				bench_run_port(b, r);
				break;
			case K_TESTPMD:
				bench_run_testpmd(b, r);
				break;
			case K_LOCAL:
				bench_run_local(b, r, i);
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
			printf(" [%.1f s]\n", bench_now_s() - t_row);
		}
	}
	if (b->have_bed) {
		tb_enter(&b->tb, TB_HOME);
		tb_down(&b->tb);
	}
	rxc_loadavg(load1, sizeof(load1));
	snprintf(header, sizeof(header),
		 "%s  Linux %s  %s (%ld CPUs)  load %s before, %s after  "
		 "%s%s%s%s",
		 date, un.release, cpu, sysconf(_SC_NPROCESSORS_ONLN), load0,
		 load1, b->have_bed ? "veth test bed, " : "no test bed: ",
		 b->have_bed ? (b->sender && strcmp(b->sender, "xdp-live") ?
					"AF_PACKET port sender (this kernel "
					"refuses XDP live frames: ~1 Mpps at "
					"most)" :
					"XDP live-frames sender") :
			       why_local,
		 b->have_bed ? " on CPU 0, " : "",
		 b->have_bed ? "receiver + NAPI on CPU 1" : "");
	bench_print_table(b, header);
	printf("(%.1f s in all)\n", bench_now_s() - start);

	host = json_object_new_object();
	json_object_object_add(host, "kernel",
			       json_object_new_string(un.release));
	json_object_object_add(host, "cpu_model", json_object_new_string(cpu));
	json_object_object_add(
		host, "cores",
		json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(
		host, "driver",
		json_object_new_string(b->have_bed ? "veth" : "loopback"));
	modes = json_object_new_object();
	for (i = 0; i < b->n_rows; i++)
		if (b->rows[i].ran)
			json_object_object_add(
				modes, b->rows[i].path,
				json_object_new_string(b->rows[i].mode));
	json_object_object_add(host, "modes", modes);
	json_object_object_add(host, "queues", json_object_new_int(1));
	if (b->copy_mode_why[0])
		json_object_object_add(
			host, "xdp_copy_mode",
			json_object_new_string(b->copy_mode_why));
	json_object_object_add(host, "date", json_object_new_string(date));
	json_object_object_add(host, "root",
			       json_object_new_boolean(geteuid() == 0));
	json_object_object_add(host, "test_bed",
			       json_object_new_boolean(b->have_bed));
	if (b->have_bed && b->sender)
		json_object_object_add(host, "sender",
				       json_object_new_string(b->sender));
	if (b->have_bed && b->sender_why[0])
		json_object_object_add(host, "why_not_live_frames",
				       json_object_new_string(b->sender_why));
	if (!b->have_bed)
		json_object_object_add(host, "why_no_test_bed",
				       json_object_new_string(why_local));
	json_object_object_add(host, "load_before",
			       json_object_new_string(load0));
	json_object_object_add(host, "load_after",
			       json_object_new_string(load1));
	json_object_object_add(host, "frame_len",
			       json_object_new_int(FRAME_LEN + 4));
	json_object_object_add(host, "duration_s",
			       bench_jnum(b->cfg.duration, 3));
	json_object_object_add(host, "rounds",
			       json_object_new_int((int)b->cfg.reps));
	json_object_object_add(host, "pings",
			       json_object_new_int((int)b->cfg.pings));
	json_object_object_add(host, "jitter", bench_jitter_json(b));
	if (b->cfg.json)
		rc |= bench_write_json(b, host);
	json_object_put(host);
	if (b->cfg.svg) {
		char title[160];

		snprintf(title, sizeof(title), "%s, Linux %s, %s", date,
			 un.release,
			 b->have_bed ? "veth test bed" : "no test bed");
		rc |= bench_write_svg(b, title);
	}
	for (i = 0; i < SL_ARRAY_SIZE_T(b->jit); i++)
		cli_hist_free(b->jit[i].h);
	return rc ? 1 : 0;
}
