// SPDX-License-Identifier: MIT
/*
 * sluice rdma TEST --oob perftest: perftest's own out-of-band exchange, so
 * that ib_write_bw, ib_read_bw, ib_send_bw, ib_atomic_bw, ib_write_lat and
 * ib_read_lat (linux-rdma/perftest) run against sluice as client or as
 * server, over Linux's rxe or a RoCE NIC.
 *
 * This file reads the options and hands over to a role:
 * cmd_rdma_pt_server.c or cmd_rdma_pt_client.c, which speak perftest's
 * exchange through rdma_pt_xchg.c (its wire format is described there).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rdma_pt.h"
#include "rdma_tool.h"
#include "sluice.h"

#define PT_OOB_PORT 18515

static const char pt_help[] =
	"usage: sluice rdma server PORT --oob perftest [--tool ib_TOOL] "
	"[options]\n"
	"       sluice rdma write-bw|read-bw|send-bw|write-lat|read-lat PORT\n"
	"                   --oob perftest --to ADDR [options]\n"
	"\n"
	"perftest's own exchange (TCP 18515), so that perftest's tools are the\n"
	"other end: as clients of `sluice rdma server`, or as servers of a\n"
	"sluice test. RC over RoCE v2, IPv4 GIDs (give perftest -x with the\n"
	"IPv4 RoCE v2 GID index). Pass both ends the same -s and -n.\n"
	"\n"
	"  --tool T          server: the client's tool, one of ib_write_bw\n"
	"                    (default), ib_read_bw, ib_send_bw, ib_atomic_bw,\n"
	"                    ib_write_lat, ib_read_lat\n"
	"  --to ADDR         client: the perftest server's address\n"
	"  --oob-port N      TCP port of the exchange (default 18515)\n"
	"  --size B          message bytes, as perftest's -s (default 65536\n"
	"                    for bandwidth, 2 for latency, 8 for atomics)\n"
	"  --iters N         messages, as perftest's -n (default 1000)\n"
	"  --window N        client: outstanding requests, as perftest's -t\n"
	"                    (default 128; READs also at most the peer's\n"
	"                    outstanding reads)\n"
	"  --buffer B        server: bytes of the registered region (default\n"
	"                    what the client's walk needs: the larger of the\n"
	"                    size and the 4096-byte cycle)\n"
	"  --mtu B           largest path MTU offered, 256..4096 (default the\n"
	"                    largest the port's buffers hold, 4096 on udp:;\n"
	"                    the smaller of the two ends' offers wins)\n"
	"  --timeout S       without a word from the peer (default 30)\n"
	"  --verify          write-bw: READ back what the WRITEs left and check\n"
	"                    every byte (the server's region must allow READ:\n"
	"                    sluice's and tests/lab/verbs_peer.py's do,\n"
	"                    ib_write_bw's does not)\n"
	"  --json            print the result as JSON on stdout\n"
	"\n"
	"Data checked: ib_write_lat's bytes (zeros, the iteration in the last\n"
	"byte), ib_atomic_bw's fetch-and-adds (the targets sum to -n), the\n"
	"size of every ib_send_bw message; perftest itself checks nothing.\n"
	"Not spoken: rdma_cm (-R), several QPs (-q), duplex (-b), UD/UC/XRC/DC,\n"
	"--run_infinitely, -a (all sizes), --report_per_port.\n"
	"\n"
	"example (the guest of scripts/lab.sh runs perftest):\n"
	"  sluice rdma server udp:10.78.0.1:4791 --oob perftest --tool "
	"ib_write_bw\n"
	"  ib_write_bw -d rxe0 -x 1 -n 1000 10.78.0.1   (in the guest)\n";

bool rd_wants_perftest(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--oob=perftest"))
			return true;
		if (!strcmp(argv[i], "--oob") && i + 1 < argc) {
			if (strcmp(argv[i + 1], "perftest"))
				cli_usage_fail("--oob %s: the exchanges are "
					       "sluice's (default) and "
					       "perftest",
					       argv[i + 1]);
			return true;
		}
	}
	return false;
}

void pt_result(struct json_object *r, bool json, const char *line)
{
	if (json) {
		cli_json_print(r);
		return;
	}
	fputs(line, stdout);
	json_object_put(r);
}

int rd_perftest(enum rd_test test, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "oob", required_argument, NULL, 'O' },
		{ "tool", required_argument, NULL, 'k' },
		{ "to", required_argument, NULL, 't' },
		{ "oob-port", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "buffer", required_argument, NULL, 'B' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verify", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum pt_tool tool = pt_tool_of(test);
	struct rd_ctx c = { 0 };
	struct pt_sess s = { .fd = -1, .c = &c, .timeout_ns = 30000000000ull };
	struct sl_addr to = { 0 };
	uint64_t size = 0, iters = 1000, window = 128, region = 0;
	uint8_t max_mtu = 5;
	uint16_t oob_port = PT_OOB_PORT;
	bool json = false, have_to = false, mtu_given = false, verify = false;
	int ch, rc;
	unsigned i;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hj", lo, NULL)) != -1) {
		switch (ch) {
		case 'O':
			break; /* rd_wants_perftest checked it */
		case 'k':
			for (i = 0; i < SL_ARRAY_SIZE_T(pt_names); i++)
				if (!strcmp(optarg, pt_names[i]) ||
				    !strcmp(optarg, pt_names[i] + 3))
					break;
			if (i == SL_ARRAY_SIZE_T(pt_names))
				cli_usage_fail("--tool %s: one of ib_write_bw, "
					       "ib_read_bw, ib_send_bw, "
					       "ib_atomic_bw, ib_write_lat, "
					       "ib_read_lat",
					       optarg);
			tool = (enum pt_tool)i;
			break;
		case 't':
			rd_opt_ipv4("--to", optarg, &to);
			have_to = true;
			break;
		case 'o':
			oob_port = (uint16_t)cli_opt_u64("--oob-port", optarg,
							 1, 65535);
			break;
		case 's':
			size = cli_opt_u64("--size", optarg, 1,
					   SL_RDMA_MAX_MSG);
			break;
		case 'n':
			iters = cli_opt_u64("--iters", optarg, 1, 1000000000);
			break;
		case 'w':
			window = cli_opt_u64("--window", optarg, 1,
					     RD_SQ_DEPTH / 2);
			break;
		case 'B':
			region = cli_opt_u64("--buffer", optarg, 8, 1u << 30);
			break;
		case 'm':
			max_mtu = rd_opt_mtu(optarg);
			mtu_given = true;
			break;
		case 'T':
			s.timeout_ns = (uint64_t)(cli_opt_seconds("--timeout",
								  optarg) *
						  1e9);
			break;
		case 'V':
			verify = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(pt_help, stdout);
			return 0;
		default:
			cli_opt_bad(ch, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (udp:ADDR:4791 or "
			       "xdp:IFACE,match=udp:4791)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);
	if (test == RD_SERVER && have_to)
		cli_usage_fail("--to is for the tests; a server waits");
	if (test != RD_SERVER && !have_to)
		cli_usage_fail("--to ADDR is required (the perftest server)");
	if (verify && test != RD_WRITE_BW)
		cli_usage_fail("--verify reads back what write-bw wrote");
	if (!size)
		size = tool == PT_ATOMIC_BW ? 8 :
		       tool >= PT_WRITE_LAT ? 2 :
					      65536;
	if (tool == PT_ATOMIC_BW && size != 8)
		cli_usage_fail("--size: atomics are 8 bytes");
	if (region && region < size)
		cli_usage_fail("--buffer %" PRIu64 " is under --size %" PRIu64,
			       region, size);
	if (test != RD_SERVER && size * window > (64u << 20))
		window = (64u << 20) / size ? (64u << 20) / size : 1;
	to.port = oob_port;
	s.client = test != RD_SERVER;

	rd_open(&c, argv[optind],
		SL_RDMA_ACCESS_REMOTE_WRITE | SL_RDMA_ACCESS_REMOTE_READ |
			SL_RDMA_ACCESS_REMOTE_ATOMIC);
	if (max_mtu > rd_max_mtu(&c)) {
		if (mtu_given)
			cli_warnx("--mtu: this port's buffers hold a path MTU "
				  "of %u at most",
				  128u << rd_max_mtu(&c));
		max_mtu = rd_max_mtu(&c);
	}
	if (test == RD_SERVER)
		rc = pt_server(&s, tool, size, iters, region, max_mtu, oob_port,
			       json);
	else
		rc = pt_client(&s, test, &to, size, iters, window, max_mtu,
			       verify, json);
	if (s.fd >= 0)
		close(s.fd);
	rd_close(&c);
	return rc;
}
