// SPDX-License-Identifier: MIT
/*
 * sluice sink: receive on every queue of a port and account for what
 * arrives: frames and bytes, and for frames with a gen payload (track.h)
 * loss, duplicates, reordering, and the one-way latency from the send time
 * in the payload to the receive time (same host, CLOCK_MONOTONIC) in a
 * log-linear histogram. Frames without the payload count as foreign.
 *
 * It stops at --count frames, after --duration, --idle seconds without a
 * frame, on SIGINT/SIGTERM, or (unless --no-auto-stop) when every frame of
 * a gen run that announced its total has arrived; it prints its result in
 * every case.
 *
 * With --cores each core runs a worker over its share of the queues, with
 * its own counters, loss tracker and histogram (no lock, no shared line);
 * the main thread watches their published counters for the stop
 * conditions and folds their results together at the end. Without it the
 * main thread polls every queue itself, as one worker.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cores.h"
#include "hist.h"
#include "poll.h"
#include "sluice.h"
#include "track.h"

/* latencies from receive times: the port must take them */
static const struct sl_port_opts rx_ts_opts = { .sz = sizeof(rx_ts_opts),
						.flags = SL_PORT_F_RX_TS };

#define SINK_BURST 64

static const char sink_help[] =
	"usage: sluice sink PORT [options]\n"
	"\n"
	"Receive, count, and from the payloads of `sluice gen` report loss,\n"
	"duplicates, reordering and one-way latency (p50 ... max).\n"
	"\n"
	"  --count N         stop after N frames\n"
	"  --duration S      stop after S seconds\n"
	"  --idle S          stop S seconds after the last frame (once one "
	"came)\n"
	"  --no-auto-stop    do not stop when a gen run with a known count\n"
	"                    has fully arrived\n"
	"  --busy            never sleep between empty polls (lower latency)\n"
	"  --json            print the result as JSON on stdout\n" CLI_CORES_HELP
	"\n"
	"Loss counts from sequence 0 to the gen's --count (or the highest\n"
	"sequence seen): start the sink before the gen. Without gen payload a\n"
	"frame counts as foreign. Frames from an xdp-live gen carry no send\n"
	"time: then no latency is reported.\n" SL_PRIVS_HELP "\n"
	"examples:\n"
	"  sluice sink udp:127.0.0.1:9000 --duration 10\n"
	"  sluice sink 'udp:127.0.0.1:9000,fault=drop:0.1,seed=3' --idle 1 "
	"--json\n"
	"  sluice sink xdp:veth1,match=udp:9000 --duration 30\n"
	"  sluice sink xdp:veth1,match=udp:9000,queues=0-1 --cores 0-1\n";

/* One worker: its queues are first, first + step, ... below nq. The
 * fields the main thread reads while it runs are published with cli_st. */
struct sink_w {
	struct sl_port *port;
	struct cli_qcount *qc;
	unsigned first, step, nq;
	bool busy;
	uint64_t rx, bytes, foreign, gen, no_ts; /* rx, bytes published */
	uint64_t first_rx, last_rx; /* published */
	uint64_t unique, total; /* of tr, published */
	struct cli_track tr;
	struct cli_hist *h;
} SL_CACHE_ALIGNED;

/* One pass over the worker's queues; frames received. */
static unsigned sink_poll(struct sink_w *w)
{
	struct sl_pkt *pkts[SINK_BURST];
	unsigned got = 0, q;
	uint64_t now = 0;

	for (q = w->first; q < w->nq; q += w->step) {
		uint64_t b = 0;
		uint16_t n, i;

		n = sl_rx_burst(w->port, (uint16_t)q, pkts, SINK_BURST);
		if (!n)
			continue;
		now = sl_time_ns();
		got += n;
		for (i = 0; i < n; i++) {
			struct sl_pkt *p = pkts[i];
			struct cli_gen_info g;
			uint64_t rts;

			b += p->len;
			if (cli_gen_parse(p->data, p->len, &g)) {
				w->foreign++;
				continue;
			}
			w->gen++;
			cli_track_record(&w->tr, &g);
			if (!g.ts) {
				w->no_ts++;
				continue;
			}
			rts = (p->flags & SL_PKT_F_RX_TS) ? p->rx_ts : now;
			if (rts >= g.tx_ns)
				cli_hist_record(w->h, rts - g.tx_ns);
		}
		sl_pkt_free_bulk(pkts, n);
		w->qc[q].rx += n;
		w->qc[q].bytes += b;
		cli_st(&w->bytes, w->bytes + b);
	}
	if (got) {
		cli_st(&w->rx, w->rx + got);
		cli_st(&w->last_rx, now);
		if (!w->first_rx)
			cli_st(&w->first_rx, now);
		cli_st(&w->unique, w->tr.unique);
		if (w->tr.have_total)
			cli_st(&w->total, w->tr.total);
	}
	return got;
}

static int sink_worker(void *arg)
{
	struct sink_w *w = arg;
	struct cli_idle idle = { .busy = w->busy };

	while (!cli_stop && !sl_lcore_stopping())
		cli_idle_poll(&idle, sink_poll(w));
	sl_pool_cache_flush(sl_port_pool(w->port));
	return 0;
}

static int sink_w_init(struct sink_w *w, struct sl_port *port,
		       struct cli_qcount *qc, unsigned nq, bool busy)
{
	memset(w, 0, sizeof(*w));
	w->port = port;
	w->qc = qc;
	w->nq = nq;
	w->step = 1;
	w->busy = busy;
	w->h = cli_hist_new();
	return w->h && !cli_track_init(&w->tr) ? 0 : -1;
}

static void sink_w_fini(struct sink_w *w)
{
	cli_track_fini(&w->tr);
	cli_hist_free(w->h);
}

/* Fold worker src's results into dst (after the workers are done). */
static void sink_w_fold(struct sink_w *dst, const struct sink_w *src)
{
	dst->rx += src->rx;
	dst->bytes += src->bytes;
	dst->foreign += src->foreign;
	dst->gen += src->gen;
	dst->no_ts += src->no_ts;
	if (src->first_rx && (!dst->first_rx || src->first_rx < dst->first_rx))
		dst->first_rx = src->first_rx;
	if (src->last_rx > dst->last_rx)
		dst->last_rx = src->last_rx;
	cli_track_merge(&dst->tr, &src->tr);
	cli_hist_merge(dst->h, src->h);
}

int cmd_sink(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "idle", required_argument, NULL, 'i' },
		{ "no-auto-stop", no_argument, NULL, 'A' },
		{ "busy", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "cores", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_port_info info = { .sz = sizeof(info) };
	struct cli_qcount qc[SL_PORT_MAX_QUEUES];
	struct cli_idle idle = { 0 };
	struct json_object *checks = NULL;
	struct sl_lcores *set = NULL;
	struct cli_cores cores = { 0 };
	uint64_t count = 0, rx = 0, bytes = 0;
	uint64_t t0, now, end = 0, idle_ns = 0, last_rx = 0;
	double duration = 0, idle_s = 0;
	bool json = false, auto_stop = true;
	struct sink_w *ws, *t;
	struct cli_status st;
	struct sl_port *port;
	const char *spec;
	unsigned nq, w, nw;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hjc:d:", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			count = cli_opt_u64("--count", optarg, 1, UINT64_MAX);
			break;
		case 'd':
			duration = cli_opt_seconds("--duration", optarg);
			break;
		case 'i':
			idle_s = cli_opt_seconds("--idle", optarg);
			break;
		case 'A':
			auto_stop = false;
			break;
		case 'b':
			idle.busy = true;
			break;
		case 'j':
			json = true;
			break;
		case 'C':
			cli_cores_parse(&cores, optarg);
			break;
		case 'h':
			fputs(sink_help, stdout);
			return 0;
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail(
			"missing PORT (a spec such as udp:127.0.0.1:9000)");
	spec = argv[optind++];
	if (optind < argc)
		cli_usage_fail("unexpected argument '%s'", argv[optind]);

	port = cli_open_port_opts(spec, NULL, &rx_ts_opts);
	sl_port_info(port, &info);
	nq = info.n_queues ? info.n_queues : 1;
	cli_cores_fit(&cores, nq, spec);
	/* worker 0 is the main thread without --cores; with it, worker w
	 * serves queues w, w + n, ... and ws[n] is where they are folded */
	nw = cores.n ? cores.n : 1;
	ws = aligned_alloc(SL_CACHE_LINE, (nw + 1) * sizeof(*ws));
	if (!ws)
		cli_die("out of memory");
	memset(qc, 0, sizeof(qc));
	for (w = 0; w <= nw; w++) {
		if (sink_w_init(&ws[w], port, qc, nq, idle.busy))
			cli_die("out of memory");
		ws[w].first = w;
		ws[w].step = nw;
	}
	checks = cli_cores_check(&cores, port, json);

	cli_status_init(&st, json);
	cli_privs_drop(&port, 1, true);
	t0 = now = sl_time_ns();
	if (duration > 0)
		end = t0 + (uint64_t)(duration * 1e9);
	idle_ns = (uint64_t)(idle_s * 1e9);
	if (cores.n)
		set = cli_cores_launch(&cores, sink_worker, ws, sizeof(*ws));
	while (!cli_stop) {
		uint64_t unique = 0, total = 0;
		unsigned got = 0;

		if (!set) {
			got = sink_poll(&ws[0]);
			cli_idle_poll(&idle, got);
		} else {
			/* the workers poll; this thread only watches */
			struct timespec nap = { 0, 1000000 };

			nanosleep(&nap, NULL);
		}
		rx = bytes = 0;
		for (w = 0; w < nw; w++) {
			uint64_t l = cli_ld(&ws[w].last_rx);

			rx += cli_ld(&ws[w].rx);
			bytes += cli_ld(&ws[w].bytes);
			unique += cli_ld(&ws[w].unique);
			if (cli_ld(&ws[w].total))
				total = cli_ld(&ws[w].total);
			if (l > last_rx)
				last_rx = l;
		}
		now = got && ws[0].last_rx ? ws[0].last_rx : sl_time_ns();
		cli_status_tick(&st, now, "sink", rx, bytes,
				set ? 0 : cli_track_lost(&ws[0].tr));
		if (count && rx >= count)
			break;
		if (end && now >= end)
			break;
		if (idle_ns && last_rx && now > last_rx &&
		    now - last_rx >= idle_ns)
			break;
		if (auto_stop && !set && cli_track_complete(&ws[0].tr))
			break;
		/* the workers' trackers together: a run's frames spread
		 * over queues each see once */
		if (auto_stop && set && total && unique >= total)
			break;
	}
	if (set)
		cli_cores_join(set);
	now = sl_time_ns();
	cli_status_end(&st);
	t = &ws[nw];
	for (w = 0; w < nw; w++)
		sink_w_fold(t, &ws[w]);

	/* rates over the time frames were arriving, not the wait before */
	double secs = cli_secs(now - t0);
	double active = t->first_rx ? cli_secs((t->last_rx > t->first_rx ?
							t->last_rx :
							t->first_rx) -
					       t->first_rx) :
				      0;
	const char *lat_note = NULL;
	struct cli_track *tr = &t->tr;
	struct cli_hist *h = t->h;

	rx = t->rx;
	bytes = t->bytes;
	if (t->gen && !h->n)
		lat_note = t->no_ts == t->gen ?
				   "no timestamps (xdp-live sender)" :
				   "no timestamps";
	if (json) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "rx_packets",
				       json_object_new_uint64(rx));
		json_object_object_add(r, "rx_bytes",
				       json_object_new_uint64(bytes));
		json_object_object_add(r, "gen_packets",
				       json_object_new_uint64(t->gen));
		json_object_object_add(r, "foreign",
				       json_object_new_uint64(t->foreign));
		json_object_object_add(
			r, "expected",
			json_object_new_uint64(
				tr->any || tr->have_total ?
					tr->unique + cli_track_lost(tr) :
					0));
		json_object_object_add(
			r, "lost", json_object_new_uint64(cli_track_lost(tr)));
		json_object_object_add(r, "duplicates",
				       json_object_new_uint64(tr->dups));
		json_object_object_add(r, "reordered",
				       json_object_new_uint64(tr->reordered));
		json_object_object_add(r, "late",
				       json_object_new_uint64(tr->late));
		json_object_object_add(r, "elapsed_s",
				       json_object_new_double(secs));
		json_object_object_add(r, "active_s",
				       json_object_new_double(active));
		json_object_object_add(
			r, "pps",
			json_object_new_double(active > 0 ? rx / active : 0));
		json_object_object_add(
			r, "bps",
			json_object_new_double(
				active > 0 ? bytes * 8.0 / active : 0));
		json_object_object_add(r, "latency_us",
				       h->n ? cli_json_hist_us(h) : NULL);
		if (lat_note)
			json_object_object_add(
				r, "latency_note",
				json_object_new_string(lat_note));
		json_object_object_add(r, "fault_dropped",
				       json_object_new_uint64(cli_port_xstat(
					       port, "fault_dropped")));
		json_object_object_add(r, "interrupted",
				       json_object_new_boolean(cli_stop));
		if (cores.n) {
			json_object_object_add(r, "queues",
					       cli_json_queues(&cores, qc, nq));
			json_object_object_add(r, "cores", checks);
			checks = NULL;
		}
		json_object_object_add(r, "port", cli_json_port(port));
		cli_json_print(r);
	} else {
		printf("sink: %" PRIu64 " frames, %" PRIu64
		       " bytes in %.3f s (%.0f pps, %.1f Mb/s while "
		       "receiving)\n",
		       rx, bytes, secs, active > 0 ? rx / active : 0,
		       active > 0 ? bytes * 8.0 / active / 1e6 : 0);
		printf("  gen frames %" PRIu64 ": lost %" PRIu64
		       ", duplicates %" PRIu64 ", reordered %" PRIu64
		       "; foreign %" PRIu64 "\n",
		       t->gen, cli_track_lost(tr), tr->dups, tr->reordered,
		       t->foreign);
		if (lat_note)
			printf("  one-way latency: %s\n", lat_note);
		else if (h->n)
			cli_print_hist_us("  one-way latency:", h);
		if (cores.n)
			cli_print_queues(&cores, qc, nq);
	}
	json_object_put(checks);
	sl_port_close(port);
	for (w = 0; w <= nw; w++)
		sink_w_fini(&ws[w]);
	free(ws);
	return 0;
}
