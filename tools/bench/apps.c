// SPDX-License-Identifier: MIT
/*
 * sluice bench --run: unmodified UDP programs with and without `sluice run`
 * (docs/run.md) on the test bed, in the same run. The programs are
 * sockperf's: `sockperf server` in B on CPU 1, `sockperf ping-pong` (the
 * latency: sockperf reports half the round trip) and `sockperf throughput`
 * (what the server received, per second) in A on CPU 0, 64-byte messages.
 * Rows: the plain programs (the baseline every ratio is against), then per
 * path of `sluice run --path` (kernel, packet, xdp, and auto when it chose
 * none of those): the server under sluice run with a kernel client and
 * both under it, each also with SLUICE_RUN_SPIN (a blocking receive spins
 * that long before it sleeps; on the kernel path, which sluice run does
 * not serve, sockperf's own busy loop instead, so that spinning sluice
 * rows have a spinning kernel to be compared with). Where each socket
 * really ran is read from
 * the programs' reports (--report=FILE), so a row that fell back to the
 * kernel says so.
 *
 * The veth facts that decide the set-up: veth does the receiver's kernel
 * work on the sender's CPU, unless the receiving veth has threaded NAPI,
 * whose kthread can be pinned to the receiver's CPU. Ping-pong runs with
 * NAPI unthreaded on both ends, as rtt.c's round trips (no kthread to wake
 * on either side); throughput with B's NAPI threaded and pinned to CPU 1,
 * so that the receiver pays for its receive work, as the rate rows of
 * bed.c do. A spinning receiver on CPU 1 competes with that kthread: the
 * spin rows show what that costs.
 *
 * Each program is started with fork and exec (ip netns exec, taskset) and
 * stopped by its pid; a benchmark: it reports, it never judges.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"

#define RUN_MSG 64 /* bytes of UDP payload per message */
#define RUN_PORT0 11200 /* a new server port per start */
#define RUN_MAX_ROWS 20

struct app_row {
	const char *path; /* sluice run --path; NULL: the plain programs */
	bool client; /* the client under sluice run too */
	bool spin; /* both with SLUICE_RUN_SPIN */
	char name[48];
	/* results, each the best of the rounds */
	bool have_pp, have_tp;
	double p50, p99, p999; /* us, half round trip */
	uint64_t samples;
	double mps, gbit; /* received by the server */
	double sent_mps; /* what the client sent */
	char srv_on[40], cli_on[40]; /* where the sockets ran */
	char why[200]; /* why a figure is missing */
	double last_p50, last_mps; /* this round's, for the progress line */
};

struct apps {
	struct bench *b;
	char self[256]; /* this binary: its `run` */
	char dir[64]; /* outputs and reports */
	unsigned port; /* the next server port */
	unsigned spin_us;
	double pp_s, tp_s; /* sockperf -t */
	struct app_row rows[RUN_MAX_ROWS];
	unsigned n;
};

/* ---- programs in the bed ------------------------------------------------- */

/*
 * Start argv in side's namespace on cpu, stdout and stderr into out, with
 * SLUICE_RUN_SPIN=spin (sluice run reads it; the plain programs do not).
 * ip netns exec and taskset exec, as sluice run does, so the pid is the
 * program's. Returns the pid, or -1.
 */
static pid_t spawn(struct apps *x, int side, int cpu, unsigned spin,
		   char *const *argv, const char *out)
{
	const char *av[32];
	char cpus[8], sp[16];
	unsigned n = 0;
	pid_t pid;

	snprintf(cpus, sizeof(cpus), "%d", cpu);
	snprintf(sp, sizeof(sp), "%u", spin);
	av[n++] = "ip";
	av[n++] = "netns";
	av[n++] = "exec";
	av[n++] = x->b->tb.end[side].ns;
	av[n++] = "taskset";
	av[n++] = "-c";
	av[n++] = cpus;
	for (unsigned i = 0; argv[i] && n + 1 < SL_ARRAY_SIZE_T(av); i++)
		av[n++] = argv[i];
	av[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDONLY);

		/* never outlive the bench */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0)
			dup2(nul, 0);
		setenv("SLUICE_RUN_SPIN", sp, 1);
		setenv("SLUICE_NO_STATUS", "1", 1);
		execvp(av[0], (char *const *)av);
		_exit(127);
	}
	return pid;
}

/* Wait at most max_s for pid; then kill it. Returns its exit status, or
 * -1 when it had to be killed. */
static int reap(pid_t pid, double max_s)
{
	double end = bench_now_s() + max_s;
	int st;

	while (bench_now_s() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r < 0)
			return -1;
		bench_sleep_s(0.01);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Whether a UDP socket is bound to port in B (this thread is in B). */
static bool bound_in_b(unsigned port)
{
	char line[256];
	unsigned lport;
	bool r = false;
	FILE *f = fopen("/proc/thread-self/net/udp", "r");

	if (!f)
		return false;
	/* "  sl: local_address:port remote ...", in hex */
	while (!r && fgets(line, sizeof(line), f))
		r = sscanf(line, " %*u: %*x:%x", &lport) == 1 && lport == port;
	fclose(f);
	return r;
}

/* The number after key in the file's text, or -1. */
static double num_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtod(p + strlen(key), NULL) : -1;
}

static void slurp(const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* Where a socket ran, from a sluice run report: "xdp", or "kernel: WHY"
 * when it fell back; want: a text its line holds (the server's ":PORT "),
 * or NULL; dflt when no line says (--path kernel tracks nothing). */
static void where(const char *report, const char *want, const char *dflt,
		  char *out, size_t len)
{
	char text[4096], *line, *save, *p, *why;

	slurp(report, text, sizeof(text));
	snprintf(out, len, "%s", dflt);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if ((want && !strstr(line, want)) ||
		    !(p = strstr(line, " path=")))
			continue;
		p += 6;
		why = strstr(line, " why=\"");
		if (why && !strncmp(p, "kernel ", 7))
			snprintf(out, len, "kernel: %.*s",
				 (int)strcspn(why + 6, "\""), why + 6);
		else
			snprintf(out, len, "%.*s", (int)strcspn(p, " "), p);
		break;
	}
}

/* ---- one measurement ---------------------------------------------------- */

/* A row whose sockets are the kernel's: the plain programs, or
 * --path kernel (sluice run serves none of them). */
static bool kernel_row(const struct app_row *r)
{
	return !r->path || !strcmp(r->path, "kernel");
}

/* The argv of one side's program: [SELF run --path=P --report=FILE --]
 * sockperf MODE ARGS; opt: room for the two options. */
static void app_argv(struct apps *x, const struct app_row *r, bool under,
		     const char *report, char **av, char (*opt)[128],
		     char *const *prog)
{
	unsigned n = 0;

	if (under) {
		snprintf(opt[0], sizeof(opt[0]), "--path=%s", r->path);
		snprintf(opt[1], sizeof(opt[1]), "--report=%s", report);
		av[n++] = x->self;
		av[n++] = "run";
		av[n++] = opt[0];
		av[n++] = opt[1];
		av[n++] = "--";
	}
	for (unsigned i = 0; prog[i]; i++)
		av[n++] = prog[i];
	av[n] = NULL;
}

/*
 * One run of mode ("pp" or "tp") for row r: a server in B, the client in
 * A for secs, the server stopped. srv_out and cli_out are the programs'
 * outputs; the reports' places go in r. Returns 0, or -1 with r->why set.
 */
static int one(struct apps *x, struct app_row *r, const char *mode, double secs,
	       char *srv_out, char *cli_out, size_t len)
{
	struct bench *b = x->b;
	char sf[96], cf[96], srep[96], crep[96], port[8], t[16], msg[8];
	char ipb[16], want[16], feed[96];
	char *srv[] = { "sockperf", "sr", "-i", ipb, "-p", port, NULL };
	char *cli[] = { "sockperf", (char *)mode, "-i", ipb, "-p", port, "-t",
			t,	    "-m",	  msg,	NULL };
	/* the kernel's sockets, spinning: sockperf's own busy receive loop
	 * (recvfrom on a non-blocking socket; -F needs a feed file) */
	char *srv_spin[] = { "sockperf", "sr", "-f",	       feed,
			     "-F",	 "r",  "--nonblocked", NULL };
	char *cli_spin[] = { "sockperf",     (char *)mode, "-f",
			     feed,	     "-F",	   "r",
			     "--nonblocked", "-t",	   t,
			     "-m",	     msg,	   NULL };
	char *av[24], opt[2][128];
	unsigned spin = r->spin ? x->spin_us : 0, p = x->port++;
	bool kspin = r->spin && kernel_row(r);
	pid_t s, c;
	int rc, i;
	FILE *ff;

	snprintf(ipb, sizeof(ipb), "%s", b->tb.end[TB_B].ip4_str);
	snprintf(port, sizeof(port), "%u", p);
	snprintf(feed, sizeof(feed), "%s/f%u.feed", x->dir, p);
	if (kspin) {
		ff = fopen(feed, "w");
		if (!ff || fprintf(ff, "U:%s:%u\n", ipb, p) < 0 || fclose(ff)) {
			snprintf(r->why, sizeof(r->why), "%s: %s", feed,
				 strerror(errno));
			return -1;
		}
	}
	snprintf(t, sizeof(t), "%.0f", secs);
	snprintf(msg, sizeof(msg), "%d", RUN_MSG);
	snprintf(sf, sizeof(sf), "%s/s%u.out", x->dir, p);
	snprintf(cf, sizeof(cf), "%s/c%u.out", x->dir, p);
	snprintf(srep, sizeof(srep), "%s/s%u.report", x->dir, p);
	snprintf(crep, sizeof(crep), "%s/c%u.report", x->dir, p);

	app_argv(x, r, r->path != NULL, srep, av, opt, kspin ? srv_spin : srv);
	s = spawn(x, TB_B, RX_CPU, spin, av, sf);
	if (s < 0) {
		snprintf(r->why, sizeof(r->why), "fork: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 200 && !bound_in_b(p); i++) {
		if (waitpid(s, NULL, WNOHANG) == s) {
			s = -1;
			break;
		}
		bench_sleep_s(0.01);
	}
	if (s < 0 || i == 200) {
		slurp(sf, srv_out, len);
		snprintf(r->why, sizeof(r->why),
			 "the server did not start: %.150s", srv_out);
		if (s > 0) {
			kill(s, SIGKILL);
			reap(s, 2);
		}
		return -1;
	}
	/* the port opens and its XDP program attaches right after bind */
	bench_sleep_s(0.1);
	if (!strcmp(mode, "tp"))
		rxc_pin_napi(b->ifb, RX_CPU, NULL, 0);

	app_argv(x, r, r->path && r->client, crep, av, opt,
		 kspin && r->client ? cli_spin : cli);
	c = spawn(x, TB_A, SENDER_CPU, spin, av, cf);
	rc = c < 0 ? -1 : reap(c, secs + 15);
	kill(s, SIGINT);
	if (reap(s, 5) < 0)
		snprintf(r->why, sizeof(r->why),
			 "the server did not stop "
			 "on SIGINT");
	slurp(sf, srv_out, len);
	slurp(cf, cli_out, len);
	if (r->path) {
		/* --path kernel tracks no socket: no report line */
		const char *dflt = strcmp(r->path, "kernel") ? "? (no report)" :
							       "kernel";

		snprintf(want, sizeof(want), ":%u ", p);
		where(srep, want, dflt, r->srv_on, sizeof(r->srv_on));
		if (r->client)
			where(crep, NULL, dflt, r->cli_on, sizeof(r->cli_on));
	}
	if (rc) {
		snprintf(r->why, sizeof(r->why),
			 "sockperf %s exited %d: %.150s", mode, rc, cli_out);
		return -1;
	}
	return 0;
}

static void run_row(struct apps *x, struct app_row *r)
{
	struct bench *b = x->b;
	static char so[16384], co[16384];
	double p50, p99, p999, got, sent, rate;
	const char *vd;

	r->last_p50 = r->last_mps = -1;
	/* ping-pong: NAPI unthreaded on both ends (see the top) */
	bench_set_threaded(b, TB_A, b->ifa, false);
	bench_set_threaded(b, TB_B, b->ifb, false);
	if (one(x, r, "pp", x->pp_s, so, co, sizeof(so)) == 0) {
		p50 = num_after(co, "percentile 50.000 =");
		p99 = num_after(co, "percentile 99.000 =");
		p999 = num_after(co, "percentile 99.900 =");
		if (p50 > 0 && p99 >= p50 && p999 >= p99) {
			r->last_p50 = p50;
			if (!r->have_pp || p50 < r->p50)
				r->p50 = p50;
			if (!r->have_pp || p99 < r->p99)
				r->p99 = p99;
			if (!r->have_pp || p999 < r->p999)
				r->p999 = p999;
			vd = strstr(co, "[Valid Duration]");
			r->samples = vd ? (uint64_t)num_after(
						  vd, "ReceivedMessages=") :
					  0;
			r->have_pp = true;
		} else if (!r->have_pp) {
			snprintf(r->why, sizeof(r->why),
				 "ping-pong: no percentiles in sockperf's "
				 "output: %.120s",
				 co);
		}
	}
	/* throughput: B's NAPI threaded, on the server's CPU */
	bench_set_threaded(b, TB_B, b->ifb, true);
	if (one(x, r, "tp", x->tp_s, so, co, sizeof(so)) == 0) {
		got = num_after(so, "Total ");
		sent = num_after(co, "Total of ");
		rate = num_after(co, "Message Rate is ");
		if (got > 0 && sent > 0 && rate > 0) {
			double mps = rate * (got < sent ? got / sent : 1) / 1e6;

			r->last_mps = mps;

			if (!r->have_tp || mps > r->mps) {
				r->mps = mps;
				r->gbit = mps * 1e6 * RUN_MSG * 8 / 1e9;
				r->sent_mps = rate / 1e6;
			}
			r->have_tp = true;
		} else if (!r->have_tp) {
			snprintf(r->why, sizeof(r->why),
				 "throughput: no counts in sockperf's "
				 "output (server: %.60s; client: %.60s)",
				 so, co);
		}
	}
	if (r->have_pp && r->have_tp)
		r->why[0] = '\0';
}

/* ---- the rows and the table ---------------------------------------------- */

static void add(struct apps *x, const char *path, bool client, bool spin)
{
	struct app_row *r = &x->rows[x->n++];

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->client = client;
	r->spin = spin;
	if (!path)
		snprintf(r->name, sizeof(r->name), "kernel (no sluice run)");
	else
		snprintf(r->name, sizeof(r->name), "%s: %s%s", path,
			 client ? "both" : "server", spin ? ", spin" : "");
	snprintf(r->srv_on, sizeof(r->srv_on), "-");
	snprintf(r->cli_on, sizeof(r->cli_on), "-");
}

static void cell(char *buf, size_t len, bool have, double v, int d)
{
	if (have)
		snprintf(buf, len, "%.*f", d, v);
	else
		snprintf(buf, len, "-");
}

static void print_table(struct apps *x)
{
	const struct app_row *k = &x->rows[0];
	const struct app_row *best_pp = NULL, *best_tp = NULL;
	const struct app_row *best_spin = NULL, *kspin = NULL;

	printf("\n%-22s %-14s %-14s %7s %7s %7s %7s %8s %7s %7s\n", "row",
	       "server on", "client on", "p50 us", "p99", "p99.9", "x p50",
	       "Mmsg/s", "Gbit/s", "x msg/s");
	for (unsigned i = 0; i < x->n; i++) {
		const struct app_row *r = &x->rows[i];
		char a[16], c[16], d[16], e[16], f[16], g[16], h[16];

		cell(a, sizeof(a), r->have_pp, r->p50, 2);
		cell(c, sizeof(c), r->have_pp, r->p99, 2);
		cell(d, sizeof(d), r->have_pp, r->p999, 2);
		cell(e, sizeof(e), r->have_pp && k->have_pp,
		     k->p50 > 0 ? r->p50 / k->p50 : 0, 2);
		cell(f, sizeof(f), r->have_tp, r->mps, 3);
		cell(g, sizeof(g), r->have_tp, r->gbit, 3);
		cell(h, sizeof(h), r->have_tp && k->have_tp && k->mps > 0,
		     k->mps > 0 ? r->mps / k->mps : 0, 2);
		printf("%-22s %-14.40s %-14.40s %7s %7s %7s %7s %8s %7s %7s%s%s\n",
		       r->name, r->path ? r->srv_on : "kernel",
		       r->path && r->client ? r->cli_on : "kernel", a, c, d, e,
		       f, g, h, r->why[0] ? "  " : "", r->why);
		/* the goals are the bypass paths': --path kernel rows are
		 * the kernel's sockets again */
		if (kernel_row(r)) {
			if (r->spin && r->client)
				kspin = r;
			continue;
		}
		if (r->have_pp && (!best_pp || r->p50 < best_pp->p50))
			best_pp = r;
		if (r->have_pp && r->spin && r->client &&
		    (!best_spin || r->p50 < best_spin->p50))
			best_spin = r;
		if (r->have_tp && (!best_tp || r->mps > best_tp->mps))
			best_tp = r;
	}
	printf("sockperf server in B on CPU %d, clients in A on CPU %d, %d-byte "
	       "messages.\np50/p99/p99.9: sockperf ping-pong, HALF the round "
	       "trip (sockperf's latency), in us;\nMmsg/s, Gbit/s: sockperf "
	       "throughput, what the server received per second (UDP "
	       "payload);\nx p50, x msg/s: against the first row, measured in "
	       "this run. server/client on:\nwhere the socket ran (the sluice "
	       "run report); spin: SLUICE_RUN_SPIN=%u on both sides;\nkernel "
	       "spin rows: sockperf's own busy loop (-F r --nonblocked), "
	       "sluice run\nserves none of those sockets.\n",
	       RX_CPU, SENDER_CPU, RUN_MSG, x->spin_us);
	bench_print_jitter(x->b);
	printf("speed goals, reported, never enforced:\n");
	if (!best_pp || !k->have_pp)
		printf("  %-40s unknown (a row it needs did not run)\n",
		       "sluice run p50 <= 0.6x kernel's");
	else
		printf("  %-40s %s: %.2f vs 0.60 x %.2f us (ratio %.2f, %s)\n",
		       "sluice run p50 <= 0.6x kernel's",
		       best_pp->p50 <= 0.6 * k->p50 ? "met" : "NOT met",
		       best_pp->p50, k->p50, best_pp->p50 / k->p50,
		       best_pp->name);
	if (best_spin && kspin && kspin->have_pp)
		printf("  %-40s %s: %.2f vs 0.60 x %.2f us (ratio %.2f, %s "
		       "vs %s)\n",
		       "... against the kernel spinning too",
		       best_spin->p50 <= 0.6 * kspin->p50 ? "met" : "NOT met",
		       best_spin->p50, kspin->p50, best_spin->p50 / kspin->p50,
		       best_spin->name, kspin->name);
	if (!best_tp || !k->have_tp || k->mps <= 0)
		printf("  %-40s unknown (a row it needs did not run)\n",
		       "sluice run msg/s >= 3x kernel's");
	else
		printf("  %-40s %s: %.3f vs 3.00 x %.3f Mmsg/s (ratio %.2f, "
		       "%s)\n",
		       "sluice run msg/s >= 3x kernel's",
		       best_tp->mps >= 3 * k->mps ? "met" : "NOT met",
		       best_tp->mps, k->mps, best_tp->mps / k->mps,
		       best_tp->name);
}

static int write_json(struct apps *x)
{
	struct json_object *o = json_object_new_object(),
			   *a = json_object_new_array();
	int rc = 0;

	for (unsigned i = 0; i < x->n; i++) {
		const struct app_row *r = &x->rows[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "row",
				       json_object_new_string(r->name));
		json_object_object_add(
			e, "path",
			r->path ? json_object_new_string(r->path) : NULL);
		json_object_object_add(e, "client_under_run",
				       json_object_new_boolean(r->path &&
							       r->client));
		json_object_object_add(
			e, "spin_us",
			json_object_new_int(r->spin ? (int)x->spin_us : 0));
		json_object_object_add(
			e, "server_on",
			json_object_new_string(r->path ? r->srv_on : "kernel"));
		json_object_object_add(
			e, "client_on",
			json_object_new_string(
				r->path && r->client ? r->cli_on : "kernel"));
		if (r->have_pp) {
			struct json_object *l = json_object_new_object();

			json_object_object_add(l, "p50", bench_jnum(r->p50, 3));
			json_object_object_add(l, "p99", bench_jnum(r->p99, 3));
			json_object_object_add(l, "p999",
					       bench_jnum(r->p999, 3));
			json_object_object_add(
				l, "samples",
				json_object_new_uint64(r->samples));
			json_object_object_add(e, "half_rtt_us", l);
		} else {
			json_object_object_add(e, "half_rtt_us", NULL);
		}
		json_object_object_add(e, "mmsg_per_s",
				       r->have_tp ? bench_jnum(r->mps, 4) :
						    NULL);
		json_object_object_add(e, "gbit_per_s",
				       r->have_tp ? bench_jnum(r->gbit, 4) :
						    NULL);
		json_object_object_add(e, "sent_mmsg_per_s",
				       r->have_tp ? bench_jnum(r->sent_mps, 4) :
						    NULL);
		if (r->why[0])
			json_object_object_add(e, "why",
					       json_object_new_string(r->why));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "run", a);
	json_object_object_add(o, "msg_bytes", json_object_new_int(RUN_MSG));
	json_object_object_add(o, "spin_us",
			       json_object_new_int((int)x->spin_us));
	if (json_object_to_file_ext(x->b->cfg.json, o,
				    JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE)) {
		cli_warnx("--json %s: cannot write it", x->b->cfg.json);
		rc = -1;
	}
	json_object_put(o);
	return rc;
}

/* rm -r of our own directory: the files we made in it */
static void clean_dir(const char *dir)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		cli_warnx("--run: could not remove %s", dir);
}

int bench_run_apps(struct bench *b)
{
	static struct apps x;
	static const char *const paths[] = { "kernel", "packet", "xdp",
					     "auto" };
	ssize_t l;
	int rc = 0;

	x.b = b;
	x.port = RUN_PORT0;
	x.spin_us = b->cfg.run_spin_us;
	/* whole seconds (sockperf's -t); each client also waits 2 s
	 * before it starts, and ping-pong keeps the last t - 0.45 s */
	x.pp_s = b->cfg.quick ? 1 : 3;
	x.tp_s = b->cfg.quick ? 1 : 2;
	if (system("command -v sockperf >/dev/null 2>&1")) {
		printf("sluice bench --run: sockperf is not installed "
		       "(scripts/deps.sh): nothing measured\n");
		return 0;
	}
	l = readlink("/proc/self/exe", x.self, sizeof(x.self) - 1);
	if (l <= 0) {
		cli_warnx("--run: cannot find this binary: %s",
			  strerror(errno));
		return -1;
	}
	x.self[l] = '\0';
	snprintf(x.dir, sizeof(x.dir), "/tmp/sl-benchrun.XXXXXX");
	if (!mkdtemp(x.dir)) {
		cli_warnx("--run: mkdtemp: %s", strerror(errno));
		return -1;
	}
	b->ifa = b->tb.end[TB_A].ifname;
	b->ifb = b->tb.end[TB_B].ifname;
	if (rxc_napi_setup(&b->tb, TB_B, b->ifb))
		cli_warnx("no GRO/threaded NAPI on %s: receive work runs on "
			  "the sender's CPU",
			  b->ifb);
	add(&x, NULL, false, false);
	for (unsigned p = 0; p < SL_ARRAY_SIZE_T(paths); p++)
		for (int k = 0; k < 4; k++)
			add(&x, paths[p], k & 1, k & 2);
	printf("sluice bench --run: test bed %s, sockperf ping-pong %.0f s "
	       "and throughput %.0f s per row, %u round(s), spin rows %u us\n",
	       b->tb.name, x.pp_s, x.tp_s, b->cfg.reps, x.spin_us);
	for (unsigned rep = 0; rep < b->cfg.reps && !cli_stop; rep++) {
		for (unsigned i = 0; i < x.n && !cli_stop; i++) {
			struct app_row *r = &x.rows[i];
			double t0 = bench_now_s();

			/* auto: measured once; when it chose a path of the
			 * rows above, its other rows would repeat them */
			if (r->path && !strcmp(r->path, "auto") &&
			    (r->client || r->spin)) {
				const struct app_row *a0 = r -
							   (r->client ? 1 : 0) -
							   (r->spin ? 2 : 0);
				bool same = false;

				for (unsigned j = 1; j < i; j++)
					same |= x.rows[j].path &&
						strcmp(x.rows[j].path,
						       "auto") &&
						!strcmp(x.rows[j].srv_on,
							a0->srv_on);
				if (same) {
					snprintf(
						r->why, sizeof(r->why),
						"auto chose %s, as the %s rows",
						a0->srv_on, a0->srv_on);
					continue;
				}
			}
			printf("  round %u: %-22s ", rep + 1, r->name);
			fflush(stdout);
			run_row(&x, r);
			if (r->last_p50 > 0)
				printf("p50 %.2f us ", r->last_p50);
			if (r->last_mps > 0)
				printf("%.3f Mmsg/s ", r->last_mps);
			if (r->why[0])
				printf("(%s) ", r->why);
			printf("[%.1f s]\n", bench_now_s() - t0);
		}
	}
	print_table(&x);
	if (b->cfg.json)
		rc = write_json(&x);
	clean_dir(x.dir);
	return rc;
}
