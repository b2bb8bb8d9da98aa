// SPDX-License-Identifier: MIT
/*
 * sluice rdma: bandwidth and latency of the RoCEv2 RC transport
 * (sluice/rdma.h) between two processes, in the manner of the perftest
 * tools (ib_write_bw, ib_read_lat). `sluice rdma server PORT` registers a
 * buffer and answers; `sluice rdma TEST PORT --to ADDR` runs one test
 * against it.
 *
 * The queue pairs learn about each other out of band, over TCP: sluice's
 * own exchange by default, perftest's with --oob perftest, and
 * ibv_rc_pingpong's for `sluice rdma pingpong`.
 *
 * The files, by job: this one dispatches; rdma_tool.c has what every test
 * shares (the port and queue pair, the TCP side channel, the options);
 * rdma_xchg.c is sluice's own exchange, cmd_rdma_server.c and
 * cmd_rdma_client.c its two ends; cmd_rdma_pp.c speaks ibv_rc_pingpong's
 * exchange and cmd_rdma_pt*.c perftest's (--oob perftest).
 */
#include <stdio.h>
#include <string.h>

#include "rdma_tool.h"
#include "sluice.h"

static const char *const rd_names[] = {
	"server", "write-bw", "read-bw", "send-bw", "write-lat", "read-lat",
};

const char *rd_test_name(enum rd_test t)
{
	return rd_names[t];
}

static const char rdma_help[] =
	"usage: sluice rdma server PORT [options]\n"
	"       sluice rdma write-bw|read-bw|send-bw|write-lat|read-lat PORT\n"
	"                   --to ADDR[:PORT] [options]\n"
	"       sluice rdma pingpong PORT [--to ADDR] [options]   (with "
	"ibv_rc_pingpong)\n"
	"\n"
	"RDMA bandwidth and latency over the RoCEv2 RC transport, in the style\n"
	"of perftest. `sluice rdma TEST --help` for the options; with\n"
	"--oob perftest the other end is perftest itself (--oob perftest "
	"--help).\n";

int cmd_rdma(int argc, char **argv)
{
	unsigned i;

	if (argc < 2)
		cli_usage_fail("missing TEST: server, write-bw, read-bw, "
			       "send-bw, write-lat or read-lat");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(rdma_help, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "pingpong"))
		return rd_pingpong(argc - 1, argv + 1);
	for (i = 0; i < SL_ARRAY_SIZE_T(rd_names); i++) {
		if (strcmp(argv[1], rd_names[i]))
			continue;
		if (rd_wants_perftest(argc - 1, argv + 1))
			return rd_perftest((enum rd_test)i, argc - 1, argv + 1);
		if (i == RD_SERVER)
			return rd_server(argc - 1, argv + 1);
		return rd_client((enum rd_test)i, argc - 1, argv + 1);
	}
	cli_usage_fail("unknown test '%s': server, write-bw, read-bw, send-bw, "
		       "write-lat or read-lat",
		       argv[1]);
}
