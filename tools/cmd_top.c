// SPDX-License-Identifier: MIT
/*
 * sluice top: a live view of every sluice process on this host that
 * serves telemetry (include/sluice/telemetry.h): rates per port and per
 * queue, drops, pool occupancy and RDMA retransmits, redrawn each
 * interval. Rates are differences between two snapshots over the time the
 * process itself stamped on them, so a slow answer skews nothing.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice.h"
#include "tm_client.h"

#define MAX_PROCS 256

static const char top_help[] =
	"usage: sluice top [PID|SOCKET ...] [options]\n"
	"\n"
	"Every sluice process here that serves telemetry (started with\n"
	"SLUICE_TELEMETRY=1; sockets in " TMC_DIR "), or those named, redrawn\n"
	"each interval: packets and megabits per second per port (and per\n"
	"queue of a port with several), drops, pool buffers in use, and per\n"
	"RDMA QP its packet rates and retransmits. Ctrl-C quits.\n"
	"\n"
	"  --interval S      seconds between views (default 1)\n"
	"  --iterations N    stop after N views (default: until stopped)\n"
	"\n"
	"examples:\n"
	"  SLUICE_TELEMETRY=1 sluice sink udp:127.0.0.1:9000 &\n"
	"  sluice top\n";

struct proc {
	uint64_t pid;
	struct json_object *st;
};

/* A rate in a 9-wide column: 950, 12.3k, 4.56M, 1.23G. */
static const char *rate(char *b, size_t n, double v)
{
	if (v < 1000)
		snprintf(b, n, "%.0f", v);
	else if (v < 1e6)
		snprintf(b, n, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(b, n, "%.2fM", v / 1e6);
	else
		snprintf(b, n, "%.2fG", v / 1e9);
	return b;
}

static struct json_object *by_id(struct json_object *st, const char *list,
				 uint64_t id, const char *key)
{
	struct json_object *a, *o;
	size_t i;

	if (!st || !json_object_object_get_ex(st, list, &a))
		return NULL;
	for (i = 0; i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		if (tmc_u64(o, key) == id)
			return o;
	}
	return NULL;
}

/* The per-second difference of a counter between two objects (0 without
 * a previous one, or if the counter went back: a port reopened). */
static double per_s(struct json_object *now, struct json_object *was,
		    const char *key, double secs)
{
	uint64_t a = tmc_u64(now, key), b = tmc_u64(was, key);

	if (!was || secs <= 0 || a < b)
		return 0;
	return (double)(a - b) / secs;
}

static uint64_t drops(struct json_object *o)
{
	return tmc_u64(o, "rx_dropped") + tmc_u64(o, "rx_nombuf") +
	       tmc_u64(o, "tx_dropped");
}

static void row(const char *pid, const char *comm, const char *port,
		const char *q, const char *spec, struct json_object *o,
		struct json_object *was, double secs)
{
	char a[16], b[16], c[16], d[16], e[16];
	double dr = 0;

	if (was && drops(o) >= drops(was) && secs > 0)
		dr = (double)(drops(o) - drops(was)) / secs;
	printf("%-8s %-10.10s %4s %3s %-28.28s %8s %8s %8s %8s %7s %9" PRIu64
	       "\n",
	       pid, comm, port, q, spec,
	       rate(a, sizeof(a), per_s(o, was, "rx_packets", secs)),
	       rate(b, sizeof(b), per_s(o, was, "tx_packets", secs)),
	       rate(c, sizeof(c), per_s(o, was, "rx_bytes", secs) * 8),
	       rate(d, sizeof(d), per_s(o, was, "tx_bytes", secs) * 8),
	       rate(e, sizeof(e), dr), drops(o));
}

static void view_ports(struct proc *now, unsigned n, struct proc *was,
		       unsigned n_was)
{
	unsigned i, k;

	printf("%-8s %-10s %4s %3s %-28s %8s %8s %8s %8s %7s %9s\n", "PID",
	       "COMM", "PORT", "Q", "SPEC", "RX pps", "TX pps", "RX bps",
	       "TX bps", "DROP/s", "DROPS");
	for (i = 0; i < n; i++) {
		struct json_object *st = now[i].st, *old = NULL, *ports;
		double secs = 0;
		char pid[24];
		size_t p;

		for (k = 0; k < n_was; k++)
			if (was[k].pid == now[i].pid)
				old = was[k].st;
		if (old)
			secs = (double)(tmc_u64(st, "time_ns") -
					tmc_u64(old, "time_ns")) /
			       1e9;
		snprintf(pid, sizeof(pid), "%" PRIu64, now[i].pid);
		if (!json_object_object_get_ex(st, "ports", &ports) ||
		    !json_object_array_length(ports)) {
			printf("%-8s %-10.10s (no ports open)\n", pid,
			       tmc_str(st, "comm"));
			continue;
		}
		for (p = 0; p < json_object_array_length(ports); p++) {
			struct json_object *o =
				json_object_array_get_idx(ports, p);
			uint64_t id = tmc_u64(o, "id");
			struct json_object *po = by_id(old, "ports", id, "id");
			struct json_object *qs, *pq;
			char ids[24];
			size_t q;

			snprintf(ids, sizeof(ids), "%" PRIu64, id);
			row(pid, tmc_str(st, "comm"), ids, "*",
			    tmc_str(o, "spec"), o, po, secs);
			if (!json_object_object_get_ex(o, "queues", &qs) ||
			    json_object_array_length(qs) < 2)
				continue;
			for (q = 0; q < json_object_array_length(qs); q++) {
				struct json_object *qo =
					json_object_array_get_idx(qs, q);
				char qn[24];

				pq = po ? by_id(po, "queues",
						tmc_u64(qo, "queue"), "queue") :
					  NULL;
				snprintf(qn, sizeof(qn), "%" PRIu64,
					 tmc_u64(qo, "queue"));
				row("", "", "", qn, "", qo, pq, secs);
			}
		}
	}
}

static void view_pools(struct proc *now, unsigned n)
{
	struct json_object *a, *o;
	unsigned i;
	size_t p;

	printf("\n%-8s %4s %-16s %10s %10s %6s %9s\n", "PID", "POOL", "NAME",
	       "IN USE", "OF", "%", "GET FAIL");
	for (i = 0; i < n; i++) {
		if (!json_object_object_get_ex(now[i].st, "pools", &a))
			continue;
		for (p = 0; p < json_object_array_length(a); p++) {
			uint64_t cap, use;

			o = json_object_array_get_idx(a, p);
			cap = tmc_u64(o, "capacity");
			use = tmc_u64(o, "in_use");
			printf("%-8" PRIu64 " %4" PRIu64 " %-16.16s %10" PRIu64
			       " %10" PRIu64 " %5.1f%% %9" PRIu64 "\n",
			       now[i].pid, tmc_u64(o, "id"), tmc_str(o, "name"),
			       use, cap,
			       cap ? 100.0 * (double)use / (double)cap : 0,
			       tmc_u64(o, "get_fail"));
		}
	}
}

static void view_qps(struct proc *now, unsigned n, struct proc *was,
		     unsigned n_was)
{
	struct json_object *a, *o;
	bool head = false;
	unsigned i, k;
	size_t p;

	for (i = 0; i < n; i++) {
		struct json_object *old = NULL;
		double secs = 0;

		if (!json_object_object_get_ex(now[i].st, "qps", &a) ||
		    !json_object_array_length(a))
			continue;
		if (!head)
			printf("\n%-8s %4s %8s %-5s %4s %8s %8s %8s %9s %8s\n",
			       "PID", "QP", "QPN", "STATE", "PORT", "TX pps",
			       "RX pps", "RETX/s", "RETX", "TIMEOUTS");
		head = true;
		for (k = 0; k < n_was; k++)
			if (was[k].pid == now[i].pid)
				old = was[k].st;
		if (old)
			secs = (double)(tmc_u64(now[i].st, "time_ns") -
					tmc_u64(old, "time_ns")) /
			       1e9;
		for (p = 0; p < json_object_array_length(a); p++) {
			struct json_object *w;
			char x[16], y[16], z[16];

			o = json_object_array_get_idx(a, p);
			w = by_id(old, "qps", tmc_u64(o, "id"), "id");
			printf("%-8" PRIu64 " %4" PRIu64 " %#8" PRIx64
			       " %-5s %4s %8s %8s %8s %9" PRIu64 " %8" PRIu64
			       "\n",
			       now[i].pid, tmc_u64(o, "id"), tmc_u64(o, "qpn"),
			       tmc_str(o, "state"), tmc_str(o, "port"),
			       rate(x, sizeof(x), per_s(o, w, "tx_pkts", secs)),
			       rate(y, sizeof(y), per_s(o, w, "rx_pkts", secs)),
			       rate(z, sizeof(z),
				    per_s(o, w, "retransmits", secs)),
			       tmc_u64(o, "retransmits"),
			       tmc_u64(o, "timeouts"));
		}
	}
}

int cmd_top(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char paths[MAX_PROCS][TMC_PATH];
	static struct proc now[MAX_PROCS], was[MAX_PROCS];
	unsigned n = 0, n_was = 0, i, named = 0;
	uint64_t iterations = 0, done = 0;
	double interval = 1;
	bool tty = isatty(STDOUT_FILENO);
	char err[512];
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hi:n:", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			interval = cli_opt_seconds("--interval", optarg);
			if (interval < 0.1)
				cli_usage_fail("--interval %s: at least 0.1",
					       optarg);
			break;
		case 'n':
			iterations = cli_opt_u64("--iterations", optarg, 1,
						 UINT64_MAX);
			break;
		case 'h':
			fputs(top_help, stdout);
			return 0;
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	for (; optind < argc && named < MAX_PROCS; optind++)
		tmc_path_of(argv[optind], paths[named++]);

	while (!cli_stop) {
		unsigned found = named ? named : tmc_discover(paths, MAX_PROCS);
		struct timespec ts = {
			.tv_sec = (time_t)interval,
			.tv_nsec =
				(long)((interval - (double)(time_t)interval) *
				       1e9),
		};

		for (i = n = 0; i < found; i++) {
			now[n].st =
				tmc_snapshot(paths[i], false, err, sizeof(err));
			if (!now[n].st)
				continue; /* gone since: not shown */
			now[n].pid = tmc_u64(now[n].st, "pid");
			n++;
		}
		if (tty)
			printf("\033[H\033[J");
		printf("sluice top: %u process%s, every %g s%s\n\n", n,
		       n == 1 ? "" : "es", interval,
		       tty ? " (Ctrl-C quits)" : "");
		view_ports(now, n, was, n_was);
		view_pools(now, n);
		view_qps(now, n, was, n_was);
		if (!tty)
			printf("\n");
		fflush(stdout);
		for (i = 0; i < n_was; i++)
			json_object_put(was[i].st);
		memcpy(was, now, n * sizeof(now[0]));
		n_was = n;
		if (iterations && ++done >= iterations)
			break;
		nanosleep(&ts, NULL); /* a signal cuts it short */
	}
	for (i = 0; i < n_was; i++)
		json_object_put(was[i].st);
	return 0;
}
