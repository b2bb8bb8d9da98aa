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
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	"  --json            print the result as JSON on stdout\n"
	"\n"
	"Loss counts from sequence 0 to the gen's --count (or the highest\n"
	"sequence seen): start the sink before the gen. Without gen payload a\n"
	"frame counts as foreign. Frames from an xdp-live gen carry no send\n"
	"time: then no latency is reported.\n" SL_PRIVS_HELP "\n"
	"examples:\n"
	"  sluice sink udp:127.0.0.1:9000 --duration 10\n"
	"  sluice sink 'udp:127.0.0.1:9000,fault=drop:0.1,seed=3' --idle 1 "
	"--json\n"
	"  sluice sink xdp:veth1,match=udp:9000 --duration 30\n";

int cmd_sink(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "idle", required_argument, NULL, 'i' },
		{ "no-auto-stop", no_argument, NULL, 'A' },
		{ "busy", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_pkt *pkts[SINK_BURST];
	struct cli_idle idle = { 0 };
	uint64_t count = 0, rx = 0, bytes = 0, foreign = 0, gen = 0;
	uint64_t t0, now, end = 0, idle_ns = 0, last_rx = 0, no_ts = 0;
	uint64_t first_rx = 0;
	double duration = 0, idle_s = 0;
	bool json = false, auto_stop = true;
	struct cli_status st;
	struct cli_track tr;
	struct cli_hist *h;
	struct sl_port *port;
	const char *spec;
	unsigned nq, q;
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

	h = cli_hist_new();
	if (!h || cli_track_init(&tr))
		cli_die("out of memory");
	port = cli_open_port_opts(spec, NULL, &rx_ts_opts);
	sl_port_info(port, &info);
	nq = info.n_queues ? info.n_queues : 1;

	cli_status_init(&st, json);
	cli_privs_drop(&port, 1, true);
	t0 = now = sl_time_ns();
	if (duration > 0)
		end = t0 + (uint64_t)(duration * 1e9);
	idle_ns = (uint64_t)(idle_s * 1e9);
	while (!cli_stop) {
		unsigned got = 0;

		for (q = 0; q < nq; q++) {
			uint16_t n, i;

			n = sl_rx_burst(port, (uint16_t)q, pkts, SINK_BURST);
			if (!n)
				continue;
			now = sl_time_ns();
			got += n;
			for (i = 0; i < n; i++) {
				struct sl_pkt *p = pkts[i];
				struct cli_gen_info g;
				uint64_t rts;

				bytes += p->len;
				if (cli_gen_parse(p->data, p->len, &g)) {
					foreign++;
					continue;
				}
				gen++;
				cli_track_record(&tr, &g);
				if (!g.ts) {
					no_ts++;
					continue;
				}
				rts = (p->flags & SL_PKT_F_RX_TS) ? p->rx_ts :
								    now;
				if (rts >= g.tx_ns)
					cli_hist_record(h, rts - g.tx_ns);
			}
			sl_pkt_free_bulk(pkts, n);
			rx += n;
		}
		cli_idle_poll(&idle, got);
		if (got) {
			last_rx = now;
			if (!first_rx)
				first_rx = now;
		} else {
			now = sl_time_ns();
		}
		cli_status_tick(&st, now, "sink", rx, bytes,
				cli_track_lost(&tr));
		if (count && rx >= count)
			break;
		if (end && now >= end)
			break;
		if (idle_ns && last_rx && now - last_rx >= idle_ns)
			break;
		if (auto_stop && cli_track_complete(&tr))
			break;
	}
	now = sl_time_ns();
	cli_status_end(&st);

	/* rates over the time frames were arriving, not the wait before */
	double secs = cli_secs(now - t0);
	double active =
		first_rx ? cli_secs((last_rx > first_rx ? last_rx : first_rx) -
				    first_rx) :
			   0;
	const char *lat_note = NULL;

	if (gen && !h->n)
		lat_note = no_ts == gen ? "no timestamps (xdp-live sender)" :
					  "no timestamps";
	if (json) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "rx_packets",
				       json_object_new_uint64(rx));
		json_object_object_add(r, "rx_bytes",
				       json_object_new_uint64(bytes));
		json_object_object_add(r, "gen_packets",
				       json_object_new_uint64(gen));
		json_object_object_add(r, "foreign",
				       json_object_new_uint64(foreign));
		json_object_object_add(
			r, "expected",
			json_object_new_uint64(
				tr.any || tr.have_total ?
					tr.unique + cli_track_lost(&tr) :
					0));
		json_object_object_add(
			r, "lost", json_object_new_uint64(cli_track_lost(&tr)));
		json_object_object_add(r, "duplicates",
				       json_object_new_uint64(tr.dups));
		json_object_object_add(r, "reordered",
				       json_object_new_uint64(tr.reordered));
		json_object_object_add(r, "late",
				       json_object_new_uint64(tr.late));
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
		       gen, cli_track_lost(&tr), tr.dups, tr.reordered,
		       foreign);
		if (lat_note)
			printf("  one-way latency: %s\n", lat_note);
		else if (h->n)
			cli_print_hist_us("  one-way latency:", h);
	}
	sl_port_close(port);
	cli_track_fini(&tr);
	cli_hist_free(h);
	return 0;
}
