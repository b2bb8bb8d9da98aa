// SPDX-License-Identifier: MIT
/*
 * sluice bench --rdma: RDMA bandwidth next to TCP's on the test bed.
 * write-bw and read-bw of 64 KiB messages over sluice's RoCEv2 transport,
 * on udp ports and on xdp ports, and one TCP stream of iperf3 (iperf2
 * where iperf3 is missing), each with its client in namespace A on CPU 0
 * and its server in B on CPU 1, in the same run. The veth gets a 9000-byte
 * MTU first, so that RoCE's largest path MTU (4096) fits and TCP gets the
 * same link. The sluice ends are this very binary (/proc/self/exe) run in
 * the namespaces, as a user would run them; the figures are theirs (JSON).
 * A benchmark: it reports, it never judges; the goal line says whether
 * RDMA WRITE reached half of TCP's rate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"

#define RDMA_PORT 4791
#define TCP_PORT 5201
#define RDMA_MTU_LINK 9000
#define RDMA_MSG 65536

struct rdma_pt {
	const char *path, *test;
	double gbit; /* < 0: did not run */
	unsigned mtu;
	char note[200];
};

/* The first number after "key": in a JSON text, or -1. */
static double json_num(const char *text, const char *key)
{
	struct json_object *o = json_tokener_parse(text), *v;
	double d = -1;

	if (o && json_object_object_get_ex(o, key, &v))
		d = json_object_get_double(v);
	json_object_put(o);
	return d;
}

/* Wait until B listens on TCP port p (the side channel), at most 5 s. */
static bool b_listens(struct bench *b, unsigned p)
{
	char cmd[96], out[256];

	snprintf(cmd, sizeof(cmd), "ss -Hltn 'sport = :%u'", p);
	for (int i = 0; i < 100; i++) {
		if (tb_capture(&b->tb, TB_B, cmd, out, sizeof(out)) == 0 &&
		    out[0])
			return true;
		bench_sleep_s(0.05);
	}
	return false;
}

static void run_rdma(struct bench *b, const char *self, struct rdma_pt *pt,
		     unsigned iters)
{
	const struct tb_end *a = &b->tb.end[TB_A];
	const struct tb_end *e = &b->tb.end[TB_B];
	bool xdp = !strcmp(pt->path, "xdp"), v6 = !strcmp(pt->path, "udp6");
	char cmd[768], out[8192], sa[96], sb[96];
	double v;

	if (xdp) {
		snprintf(sa, sizeof(sa), "xdp:%s,match=udp:%u", a->ifname,
			 RDMA_PORT);
		snprintf(sb, sizeof(sb), "xdp:%s,match=udp:%u", e->ifname,
			 RDMA_PORT);
	} else if (v6) {
		snprintf(sa, sizeof(sa), "udp:[%s]:%u", a->ip6_str,
			 RDMA_PORT + 1);
		snprintf(sb, sizeof(sb), "udp:[%s]:%u", e->ip6_str, RDMA_PORT);
	} else {
		snprintf(sa, sizeof(sa), "udp:%s:%u", a->ip4_str,
			 RDMA_PORT + 1);
		snprintf(sb, sizeof(sb), "udp:%s:%u", e->ip4_str, RDMA_PORT);
	}
	snprintf(cmd, sizeof(cmd),
		 "timeout 60 taskset -c %d %s rdma server %s --size %u "
		 ">/dev/null 2>&1 &",
		 RX_CPU, self, sb, 16 * RDMA_MSG);
	tb_run(&b->tb, TB_B, cmd);
	if (!b_listens(b, RDMA_PORT)) {
		snprintf(pt->note, sizeof(pt->note),
			 "the server did not "
			 "start");
		pt->gbit = -1;
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "taskset -c %d %s rdma %s %s --to %s%s%s:%u --size %u "
		 "--iters %u --mtu 4096 --json 2>&1",
		 SENDER_CPU, self, pt->test, sa, v6 ? "[" : "",
		 v6 ? e->ip6_str : e->ip4_str, v6 ? "]" : "", RDMA_PORT,
		 RDMA_MSG, iters);
	out[0] = '\0';
	tb_capture(&b->tb, TB_A, cmd, out, sizeof(out));
	v = json_num(out, "gbit_per_s");
	pt->gbit = v;
	pt->mtu =
		(unsigned)(json_num(out, "mtu") > 0 ? json_num(out, "mtu") : 0);
	if (v < 0)
		snprintf(pt->note, sizeof(pt->note), "%.190s", out);
	/* the server ends with the client's "done"; make sure before the
	 * next one takes the port */
	for (int i = 0; i < 40 && b_listens(b, RDMA_PORT); i++)
		bench_sleep_s(0.05);
}

static void run_tcp(struct bench *b, struct rdma_pt *pt, double secs)
{
	const struct tb_end *e = &b->tb.end[TB_B];
	char cmd[512], out[16384], pidfile[64];
	bool v3 = system("command -v iperf3 >/dev/null 2>&1") == 0;

	if (!v3 && system("command -v iperf >/dev/null 2>&1") != 0) {
		pt->gbit = -1;
		snprintf(pt->note, sizeof(pt->note),
			 "neither iperf3 nor iperf installed (scripts/deps.sh "
			 "bench)");
		return;
	}
	pt->path = v3 ? "iperf3 TCP" : "iperf2 TCP";
	/* iperf2 has no one-shot server: it is ended by its PID (timeout's,
	 * which passes the signal on), never by name */
	snprintf(pidfile, sizeof(pidfile), "/tmp/sl-bench-iperf.%d",
		 (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 v3 ? "timeout 30 taskset -c %d iperf3 -s -1 -p %u >/dev/null "
		      "2>&1 &" :
		      "timeout 30 taskset -c %d iperf -s -p %u >/dev/null "
		      "2>&1 & echo $! >%s",
		 RX_CPU, TCP_PORT, pidfile);
	tb_run(&b->tb, TB_B, cmd);
	if (!b_listens(b, TCP_PORT)) {
		pt->gbit = -1;
		snprintf(pt->note, sizeof(pt->note),
			 "the TCP server did not "
			 "start");
		return;
	}
	if (v3) {
		snprintf(cmd, sizeof(cmd),
			 "taskset -c %d iperf3 -c %s -p %u -t %.0f -J 2>&1",
			 SENDER_CPU, e->ip4_str, TCP_PORT, secs);
		out[0] = '\0';
		tb_capture(&b->tb, TB_A, cmd, out, sizeof(out));
		{
			struct json_object *o = json_tokener_parse(out), *x;

			pt->gbit = -1;
			if (o && json_object_object_get_ex(o, "end", &x) &&
			    json_object_object_get_ex(x, "sum_received", &x) &&
			    json_object_object_get_ex(x, "bits_per_second", &x))
				pt->gbit = json_object_get_double(x) / 1e9;
			json_object_put(o);
		}
	} else {
		double bps = -1;
		char *last;

		snprintf(cmd, sizeof(cmd),
			 "taskset -c %d iperf -c %s -p %u -t %.0f -y C 2>&1",
			 SENDER_CPU, e->ip4_str, TCP_PORT, secs);
		out[0] = '\0';
		tb_capture(&b->tb, TB_A, cmd, out, sizeof(out));
		/* CSV: the last field is bits per second */
		last = strrchr(out, ',');
		if (last)
			bps = strtod(last + 1, NULL);
		pt->gbit = bps > 0 ? bps / 1e9 : -1;
		snprintf(cmd, sizeof(cmd),
			 "[ -s %s ] && kill $(cat %s) 2>/dev/null; rm -f %s",
			 pidfile, pidfile, pidfile);
		tb_run(&b->tb, TB_B, cmd);
	}
	if (pt->gbit < 0)
		snprintf(pt->note, sizeof(pt->note), "%.190s", out);
}

int bench_run_rdma(struct bench *b)
{
	struct rdma_pt pts[] = {
		{ "udp", "write-bw", -1, 0, "" },
		{ "udp", "read-bw", -1, 0, "" },
		{ "udp6", "write-bw", -1, 0, "" },
		{ "udp6", "read-bw", -1, 0, "" },
		{ "xdp", "write-bw", -1, 0, "" },
		{ "xdp", "read-bw", -1, 0, "" },
		{ "TCP", "stream", -1, 0, "" },
	};
	const unsigned n = SL_ARRAY_SIZE_T(pts);
	unsigned iters = b->cfg.quick ? 3000 : 20000;
	double tcp, best_write = -1;
	char self[256], cmd[160];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int rc = 0;

	if (l <= 0) {
		cli_warnx("--rdma: cannot find this binary: %s",
			  strerror(errno));
		return -1;
	}
	self[l] = '\0';
	for (int s = TB_A; s <= TB_B; s++) {
		snprintf(cmd, sizeof(cmd), "ip link set %s mtu %u",
			 b->tb.end[s].ifname, RDMA_MTU_LINK);
		if (tb_run(&b->tb, s, cmd))
			cli_warnx("--rdma: could not set MTU %u on %s",
				  RDMA_MTU_LINK, b->tb.end[s].ifname);
	}
	printf("sluice bench --rdma: test bed %s, MTU %u, %u-byte messages, "
	       "clients in A on CPU %d, servers in B on CPU %d\n",
	       b->tb.name, RDMA_MTU_LINK, RDMA_MSG, SENDER_CPU, RX_CPU);
	for (unsigned i = 0; i + 1 < n && !cli_stop; i++) {
		run_rdma(b, self, &pts[i], iters);
		if (!strcmp(pts[i].test, "write-bw") &&
		    pts[i].gbit > best_write)
			best_write = pts[i].gbit;
	}
	run_tcp(b, &pts[n - 1], b->cfg.quick ? 2 : 4);
	tcp = pts[n - 1].gbit;
	printf("%-12s %-10s %9s %8s %9s\n", "path", "test", "Gbit/s", "x TCP",
	       "path MTU");
	for (unsigned i = 0; i < n; i++) {
		char g[16] = "-", r[16] = "-", m[16] = "-";

		if (pts[i].gbit >= 0)
			snprintf(g, sizeof(g), "%.3f", pts[i].gbit);
		if (pts[i].gbit >= 0 && tcp > 0)
			snprintf(r, sizeof(r), "%.2f", pts[i].gbit / tcp);
		if (pts[i].mtu)
			snprintf(m, sizeof(m), "%u", pts[i].mtu);
		printf("%-12s %-10s %9s %8s %9s%s%s\n", pts[i].path,
		       pts[i].test, g, r, m, pts[i].note[0] ? "  " : "",
		       pts[i].note);
	}
	printf("speed goal, reported, never enforced:\n  RDMA WRITE >= 0.5x "
	       "TCP    ");
	if (best_write < 0 || tcp <= 0)
		printf("unknown (a figure it needs is missing)\n");
	else
		printf("%s: %.3f vs 0.50 x %.3f Gbit/s (ratio %.2f)\n",
		       best_write >= 0.5 * tcp ? "met" : "NOT met", best_write,
		       tcp, best_write / tcp);
	if (b->cfg.json) {
		struct json_object *o = json_object_new_object(),
				   *a = json_object_new_array();

		for (unsigned i = 0; i < n; i++) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(
				e, "path", json_object_new_string(pts[i].path));
			json_object_object_add(
				e, "test", json_object_new_string(pts[i].test));
			json_object_object_add(
				e, "gbit_per_s",
				pts[i].gbit >= 0 ? bench_jnum(pts[i].gbit, 4) :
						   NULL);
			if (pts[i].mtu)
				json_object_object_add(
					e, "path_mtu",
					json_object_new_int((int)pts[i].mtu));
			if (pts[i].note[0])
				json_object_object_add(
					e, "note",
					json_object_new_string(pts[i].note));
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "rdma", a);
		json_object_object_add(o, "link_mtu",
				       json_object_new_int(RDMA_MTU_LINK));
		if (json_object_to_file_ext(b->cfg.json, o,
					    JSON_C_TO_STRING_PRETTY)) {
			cli_warnx("--json %s: cannot write it", b->cfg.json);
			rc = -1;
		}
		json_object_put(o);
	}
	return rc;
}
