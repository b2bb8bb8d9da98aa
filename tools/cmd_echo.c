// SPDX-License-Identifier: MIT
/*
 * sluice echo: answer every UDP frame to its sender by turning it around in
 * place (MACs, IP addresses, UDP ports; payload kept), the other end of
 * `sluice ping`. The loop is the one of fwd (cli_relay_run).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cores.h"
#include "sluice.h"

static const char echo_help[] =
	"usage: sluice echo PORT [options]\n"
	"\n"
	"Send every UDP frame received back to its sender (MACs, IPs and "
	"ports\n"
	"swapped, payload unchanged), with checksums every kernel accepts: a\n"
	"checksum a local sender left partial (veth) is completed. Other "
	"frames,\n"
	"and frames that arrived with a bad checksum, are dropped and "
	"counted.\n"
	"\n"
	"  --count N        stop after N frames\n"
	"  --duration S     stop after S seconds\n"
	"  --busy           never sleep between empty polls (lower latency)\n"
	"  --json           print the result as JSON on stdout\n" CLI_CORES_HELP
		SL_PRIVS_HELP "\n"
	"examples:\n"
	"  sluice echo udp:127.0.0.1:7000 --busy\n"
	"  sluice echo xdp:veth1,match=udp:7000\n";

int cmd_echo(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "busy", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "cores", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cli_relay r = {
		.what = "echo", .n = 1, .turn = true, .swap_ip = true
	};
	struct cli_cores cores = { 0 };
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hjc:d:", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			r.count = cli_opt_u64("--count", optarg, 1, UINT64_MAX);
			break;
		case 'd':
			r.duration_s = cli_opt_seconds("--duration", optarg);
			break;
		case 'b':
			r.busy = true;
			break;
		case 'j':
			r.json = true;
			break;
		case 'C':
			cli_cores_parse(&cores, optarg);
			r.cores = &cores;
			break;
		case 'h':
			fputs(echo_help, stdout);
			return 0;
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail(
			"missing PORT (a spec such as udp:127.0.0.1:7000)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);
	r.in[0] = r.out[0] = cli_open_port(argv[optind], NULL);
	rc = cli_relay_run(&r);
	sl_port_close(r.in[0]);
	return rc;
}
