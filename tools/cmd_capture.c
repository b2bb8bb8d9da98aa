// SPDX-License-Identifier: MIT
/*
 * sluice capture: write what a port receives to a pcap file with
 * nanosecond timestamps (libpcap's dumper), for tcpdump, tshark or
 * Wireshark. Timestamps are the receive times the driver stamped
 * (CLOCK_MONOTONIC), moved to wall-clock time by the offset between the two
 * clocks taken once at the start.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "poll.h"
#include "sluice.h"

/* records carry receive times: the port must take them */
static const struct sl_port_opts rx_ts_opts = { .sz = sizeof(rx_ts_opts),
						.flags = SL_PORT_F_RX_TS };

#define CAP_BURST 64
#define CAP_SNAPLEN 262144

static const char capture_help[] =
	"usage: sluice capture PORT -w FILE.pcap [options]\n"
	"\n"
	"Write the frames PORT receives to a pcap file (nanosecond "
	"timestamps).\n"
	"\n"
	"  -w, --write FILE  the pcap file (required; replaced if it exists)\n"
	"  --count N         stop after N frames\n"
	"  --duration S      stop after S seconds\n"
	"  --busy            never sleep between empty polls\n"
	"  --json            print the result as JSON on stdout\n" SL_PRIVS_HELP
	"\n"
	"examples:\n"
	"  sluice capture udp:127.0.0.1:9000 -w /tmp/in.pcap --count 100\n"
	"  sluice capture xdp:veth1,match=udp:9000 -w in.pcap --duration 5\n"
	"  tshark -r in.pcap\n";

int cmd_capture(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "write", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "busy", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_pkt *pkts[CAP_BURST];
	struct cli_idle idle = { 0 };
	uint64_t count = 0, rx = 0, bytes = 0, t0, now, end = 0;
	int64_t wall_off;
	double duration = 0;
	const char *file = NULL;
	bool json = false;
	struct timespec rt;
	struct cli_status st;
	struct sl_port *port;
	pcap_dumper_t *dump;
	pcap_t *pd;
	unsigned nq, q;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hjw:c:d:", lo, NULL)) != -1) {
		switch (c) {
		case 'w':
			file = optarg;
			break;
		case 'c':
			count = cli_opt_u64("--count", optarg, 1, UINT64_MAX);
			break;
		case 'd':
			duration = cli_opt_seconds("--duration", optarg);
			break;
		case 'b':
			idle.busy = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(capture_help, stdout);
			return 0;
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail(
			"missing PORT (a spec such as udp:127.0.0.1:9000)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);
	if (!file)
		cli_usage_fail("-w FILE.pcap is required");

	pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, CAP_SNAPLEN,
						  PCAP_TSTAMP_PRECISION_NANO);
	if (!pd)
		cli_die("pcap: out of memory");
	dump = pcap_dump_open(pd, file);
	if (!dump)
		cli_die("-w %s: %s", file, pcap_geterr(pd));
	port = cli_open_port_opts(argv[optind], NULL, &rx_ts_opts);
	{
		struct sl_port_info info = { .sz = sizeof(info) };

		sl_port_info(port, &info);
		nq = info.n_queues ? info.n_queues : 1;
	}

	clock_gettime(CLOCK_REALTIME, &rt);
	t0 = now = sl_time_ns();
	wall_off = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (int64_t)t0;
	if (duration > 0)
		end = t0 + (uint64_t)(duration * 1e9);
	cli_status_init(&st, json);
	/* the pcap file is open: from here on it is only written */
	cli_privs_drop(&port, 1, true);
	while (!cli_stop) {
		unsigned got = 0;

		for (q = 0; q < nq; q++) {
			uint16_t n, i;

			if (count && rx >= count)
				break;
			n = sl_rx_burst(port, (uint16_t)q, pkts, CAP_BURST);
			now = sl_time_ns();
			for (i = 0; i < n; i++) {
				struct sl_pkt *p = pkts[i];
				struct pcap_pkthdr ph;
				uint64_t ts;

				if (count && rx >= count)
					break; /* the rest is received, not kept */
				ts = (uint64_t)((int64_t)((p->flags &
							   SL_PKT_F_RX_TS) ?
								  p->rx_ts :
								  now) +
						wall_off);
				/* with nanosecond precision tv_usec holds ns */
				ph.ts.tv_sec = (time_t)(ts / 1000000000ull);
				ph.ts.tv_usec =
					(suseconds_t)(ts % 1000000000ull);
				ph.len = p->len;
				ph.caplen = p->len < CAP_SNAPLEN ? p->len :
								   CAP_SNAPLEN;
				pcap_dump((u_char *)dump, &ph, p->data);
				rx++;
				bytes += p->len;
			}
			if (n)
				sl_pkt_free_bulk(pkts, n);
			got += n;
		}
		cli_idle_poll(&idle, got);
		if (!got)
			now = sl_time_ns();
		cli_status_tick(&st, now, "capture", rx, bytes, 0);
		if (count && rx >= count)
			break;
		if (end && now >= end)
			break;
	}
	now = sl_time_ns();
	cli_status_end(&st);
	if (pcap_dump_flush(dump))
		cli_die("-w %s: write failed", file);
	pcap_dump_close(dump);
	pcap_close(pd);
	if (json) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "file", json_object_new_string(file));
		json_object_object_add(r, "frames", json_object_new_uint64(rx));
		json_object_object_add(r, "bytes",
				       json_object_new_uint64(bytes));
		json_object_object_add(
			r, "elapsed_s",
			json_object_new_double(cli_secs(now - t0)));
		json_object_object_add(r, "interrupted",
				       json_object_new_boolean(cli_stop));
		json_object_object_add(r, "port", cli_json_port(port));
		cli_json_print(r);
	} else {
		printf("capture: %" PRIu64 " frames (%" PRIu64
		       " bytes) written to %s in %.3f s\n",
		       rx, bytes, file, cli_secs(now - t0));
	}
	sl_port_close(port);
	return 0;
}
