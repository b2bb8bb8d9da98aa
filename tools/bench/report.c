// SPDX-License-Identifier: MIT
/*
 * sluice bench: the report. The table (one line per row, its figures next
 * to its risk), the speed goals, printed as met or not met and never
 * enforced, and the same figures as JSON (--json) with the host facts
 * main.c gathers.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

struct goal {
	const char *what;
	double num, den, factor;
	bool le; /* num <= factor * den, else >= */
	bool known, met;
	bool tail; /* a p99.9 goal: the host's jitter bounds it */
};

static unsigned goals(struct bench *b, struct goal *g)
{
	struct row *x = bench_row_get(b, "xdp-copy"),
		   *u = bench_row_get(b, "udp");
	struct row *pmd = bench_row_get(b, "testpmd-af_xdp");
	struct row *drop = bench_row_get(b, "xdp-drop");
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

void bench_print_table(struct bench *b, const char *header)
{
	struct row *sock = bench_row_get(b, "udp");
	struct goal g[8];
	unsigned ng, i;

	printf("\n%s\n", header);
	printf("%-18s %7s %7s %7s %8s %8s %8s %7s  %-20s %-26s %-42s %s\n",
	       "path", "rx Mpps", "x udp", "fwd", "RTT p50", "p99", "p99.9",
	       "CPU ns", "mode", "privileges", "kernel no longer sees",
	       "support");
	for (i = 0; i < b->n_rows; i++) {
		struct row *r = &b->rows[i];
		char rx[16], xs[16], fw[16], p50[16], p99[16], p999[16], cp[16];

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
		cell(p50, sizeof(p50), r->have_rtt, r->p50, 1);
		cell(p99, sizeof(p99), r->have_rtt, r->p99, 1);
		cell(p999, sizeof(p999), r->have_rtt, r->p999, 1);
		cell(cp, sizeof(cp), r->have_cpu, r->cpu_ns, 0);
		printf("%-18s %7s %7s %7s %8s %8s %8s %7s  %-20s %-26s %-42s "
		       "%s\n",
		       r->path, rx, xs, fw, p50, p99, p999, cp, r->mode,
		       r->risk->privileges, r->risk->kernel_loses,
		       r->risk->support);
	}
	printf("Mpps: millions of 64-byte frames per second; x udp: rx "
	       "ratio to the kernel socket row;\nfwd: frames turned "
	       "around and counted back at the sender; RTT in us%s;\nCPU "
	       "ns: receiver thread%s per received frame\n",
	       b->have_bed ? " (a port of the row's kind in A pings one frame "
			     "at a time on CPU 0, B echoes on CPU 1)" :
			     "",
	       b->have_bed ? " + B's NAPI kthread" : "");
	for (i = 0; i < b->n_rows; i++) {
		struct row *r = &b->rows[i];

		if (r->ran && (r->note[0] || r->lost))
			printf("note: %s: %s%s(offered %.3f Mpps%s)\n", r->path,
			       r->note, r->note[0] ? " " : "", r->offered_mpps,
			       r->lost ? ", some pings lost" : "");
	}
	if (b->copy_mode_why[0])
		printf("xdp copy mode: %s\n", b->copy_mode_why);
	bench_print_jitter(b);
	ng = goals(b, g);
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
		if (g[i].tail && b->have_jitter)
			printf("  %-40s (host: a %.1f us round trip meets a "
			       "gap over %.0f us in %.2f%% of cases; p99.9 "
			       "allows 0.1%%)\n",
			       "", g[i].den, JITTER_LONG_NS / 1e3,
			       100 * bench_jitter_hit(b, g[i].den));
	}
}

struct json_object *bench_jnum(double v, int decimals)
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
				       p->paced > 0 ? bench_jnum(p->paced, 4) :
						      NULL);
		json_object_object_add(e, "offered_mpps",
				       bench_jnum(p->offered, 4));
		json_object_object_add(e, "rx_mpps", bench_jnum(p->got, 4));
		json_object_array_add(a, e);
	}
	return a;
}

int bench_write_json(struct bench *b, struct json_object *host)
{
	struct json_object *o = json_object_new_object();
	struct json_object *res = json_object_new_array();
	struct json_object *gl = json_object_new_array();
	struct row *sock = bench_row_get(b, "udp");
	struct goal g[8];
	unsigned ng, i;
	int rc;

	json_object_object_add(o, "host", json_object_get(host));
	for (i = 0; i < b->n_rows; i++) {
		struct row *r = &b->rows[i];
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
		json_object_object_add(e, "rx_mpps", bench_jnum(r->rx_mpps, 4));
		json_object_object_add(e, "offered_mpps",
				       bench_jnum(r->offered_mpps, 4));
		json_object_object_add(
			e, "paced_mpps",
			r->rx_paced > 0 ? bench_jnum(r->rx_paced, 4) : NULL);
		json_object_object_add(e, "rx_full_mpps",
				       bench_jnum(r->rx_full_mpps, 4));
		json_object_object_add(e, "rx_curve", curve_json(r));
		json_object_object_add(
			e, "fwd_mpps",
			r->have_fwd ? bench_jnum(r->fwd_mpps, 4) : NULL);
		json_object_object_add(
			e, "fwd_full_mpps",
			r->have_fwd ? bench_jnum(r->fwd_full_mpps, 4) : NULL);
		if (r->have_rtt) {
			struct json_object *rt = json_object_new_object();

			json_object_object_add(rt, "p50",
					       bench_jnum(r->p50, 2));
			json_object_object_add(rt, "p99",
					       bench_jnum(r->p99, 2));
			json_object_object_add(rt, "p999",
					       bench_jnum(r->p999, 2));
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
				       r->have_cpu ? bench_jnum(r->cpu_ns, 1) :
						     NULL);
		if (sock && sock->rx_mpps > 0)
			json_object_object_add(
				e, "x_udp",
				bench_jnum(r->rx_mpps / sock->rx_mpps, 3));
		json_object_object_add(e, "risk", rk);
		json_object_object_add(e, "note",
				       json_object_new_string(r->note));
		json_object_array_add(res, e);
	}
	json_object_object_add(o, "results", res);
	ng = goals(b, g);
	for (i = 0; i < ng; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "goal",
				       json_object_new_string(g[i].what));
		json_object_object_add(
			e, "met",
			g[i].known ? json_object_new_boolean(g[i].met) : NULL);
		if (g[i].known)
			json_object_object_add(e, "value",
					       bench_jnum(g[i].num, 4)),
				json_object_object_add(
					e, "limit",
					bench_jnum(g[i].factor * g[i].den, 4));
		if (g[i].known && g[i].tail && b->have_jitter)
			json_object_object_add(
				e, "host_gap_share",
				bench_jnum(bench_jitter_hit(b, g[i].den), 5));
		json_object_array_add(gl, e);
	}
	json_object_object_add(o, "goals", gl);
	rc = json_object_to_file_ext(b->cfg.json, o,
				     JSON_C_TO_STRING_PRETTY |
					     JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(o);
	if (rc) {
		fprintf(stderr, "sluice: bench: --json %s: %s\n", b->cfg.json,
			strerror(errno));
		return 1;
	}
	return 0;
}
