// SPDX-License-Identifier: MIT
/*
 * sluice ping: UDP round trips against `sluice echo` (or any UDP echo that
 * returns the payload). Each request carries the gen payload of sluice.h
 * with its send time; the answer brings it back, so the round trip is
 * measured from the payload and needs no state per request. Requests go out
 * every --interval whether or not answers came (like ping), so a slow echo
 * shows as latency, not as a slower rate.
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

/* round trips from receive times: the port must take them */
static const struct sl_port_opts rx_ts_opts = { .sz = sizeof(rx_ts_opts),
						.flags = SL_PORT_F_RX_TS };

#define PING_BURST 32

static const char ping_help[] =
	"usage: sluice ping PORT --to ADDR:PORT [options]\n"
	"\n"
	"UDP round trips against an echo (sluice echo, or any UDP echo that\n"
	"returns the payload, such as socat's); prints loss and round-trip\n"
	"percentiles p50, p90, p99, p99.9 and max. Answers with a bad checksum\n"
	"are counted, not taken.\n"
	"\n"
	"  --to ADDR:PORT    the echo (required)\n"
	"  --from ADDR:PORT  source (default: the udp: port's address, or the\n"
	"                    kernel's choice for --to)\n"
	"  --count N         requests (default 100)\n"
	"  --interval US     microseconds between requests (default 1000)\n"
	"  --size B          frame bytes (default and least: 70, 90 over IPv6)\n"
	"  --timeout MS      wait for the last answers (default 1000)\n"
	"  --dst-mac MAC     next hop's MAC (ignored by udp: ports)\n"
	"  --src-mac MAC     source MAC\n"
	"  --busy            never sleep between empty polls\n"
	"  --one             one request at a time: the next waits for the\n"
	"                    answer (or --timeout), then --interval\n"
	"  --json            print the result as JSON on stdout\n" SL_PRIVS_HELP
	"\n"
	"examples:\n"
	"  sluice echo udp:127.0.0.1:7000 &\n"
	"  sluice ping udp:127.0.0.1:0 --to 127.0.0.1:7000 --count 1000 "
	"--interval 100\n";

int cmd_ping(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "dst-mac", required_argument, NULL, 'D' },
		{ "src-mac", required_argument, NULL, 'S' },
		{ "busy", no_argument, NULL, 'b' },
		{ "one", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_udp_params hp = { 0 };
	struct sl_pkt *pkts[PING_BURST];
	struct cli_idle idle = { 0 };
	struct sl_addr from = { 0 };
	uint64_t count = 100, interval_ns = 1000000, timeout_ns = 1000000000;
	uint64_t sent = 0, t0, now, next, last_send = 0, foreign = 0;
	uint64_t bad_csum = 0;
	uint32_t size = 0, min;
	bool have_to = false, have_from = false, json = false, one = false;
	bool have_dmac = false, have_smac = false;
	uint8_t payload[9216];
	struct cli_status st;
	struct cli_track tr;
	struct cli_hist *h;
	struct sl_port *port;
	struct sl_pool *pool;
	size_t hlen, plen;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hjt:c:i:s:", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			cli_opt_addr("--to", optarg, false, &hp.dst);
			have_to = true;
			break;
		case 'f':
			cli_opt_addr("--from", optarg, true, &from);
			have_from = true;
			break;
		case 'c':
			count = cli_opt_u64("--count", optarg, 1, 100000000);
			break;
		case 'i':
			interval_ns =
				cli_opt_u64("--interval", optarg, 1, 60000000) *
				1000;
			break;
		case 's':
			size = (uint32_t)cli_opt_u64("--size", optarg, 0, 9000);
			break;
		case 'T':
			timeout_ns =
				cli_opt_u64("--timeout", optarg, 1, 3600000) *
				1000000;
			break;
		case 'D':
			cli_opt_mac("--dst-mac", optarg, hp.dst_mac);
			have_dmac = true;
			break;
		case 'S':
			cli_opt_mac("--src-mac", optarg, hp.src_mac);
			have_smac = true;
			break;
		case 'b':
			idle.busy = true;
			break;
		case 'o':
			one = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(ping_help, stdout);
			return 0;
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (a spec such as udp:127.0.0.1:0)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);
	if (!have_to)
		cli_usage_fail("--to ADDR:PORT is required");
	if (have_from && from.family != hp.dst.family)
		cli_usage_fail("--from: not the address family of --to");
	/* the round trip needs the send time and the total in the payload */
	min = (hp.dst.family == AF_INET6 ? 62 : 42) + SL_GEN_MIN_TOTAL;
	if (!size)
		size = min;
	if (size < min)
		cli_usage_fail("--size %u: too small: a ping frame needs at "
			       "least %u bytes",
			       size, min);

	port = cli_open_port_opts(argv[optind], NULL, &rx_ts_opts);
	pool = sl_port_pool(port);
	sl_port_info(port, &info);
	if (!strcmp(info.driver, "udp") && info.addr.family != hp.dst.family)
		cli_usage_fail("--to: an IPv%c destination for an IPv%c port",
			       hp.dst.family == AF_INET6 ? '6' : '4',
			       info.addr.family == AF_INET6 ? '6' : '4');
	if (have_from)
		hp.src = from;
	else if (info.addr.family == hp.dst.family)
		hp.src = info.addr;
	else if (cli_kernel_src(&hp.dst, &hp.src))
		cli_die("--to: no route to it; give --from");
	if (!hp.src.port)
		hp.src.port = 10001;
	if (!have_smac)
		memcpy(hp.src_mac, info.mac, SL_ETH_ALEN);
	if (!have_dmac && cli_arp_lookup(&hp.dst, hp.dst_mac))
		memset(hp.dst_mac, 0xff, SL_ETH_ALEN);
	hlen = sl_udp_hdr_len(&hp);
	plen = size - hlen;
	memset(payload, 0, sizeof(payload));
	cli_put_be32(payload + SL_GEN_OFF_MAGIC,
		     SL_GEN_MAGIC | SL_GEN_F_TS | SL_GEN_F_TOTAL);
	cli_put_be64(payload + SL_GEN_OFF_TOTAL, count);

	h = cli_hist_new();
	if (!h || cli_track_init(&tr))
		cli_die("out of memory");
	cli_status_init(&st, json);
	cli_privs_drop(&port, 1, true);
	t0 = now = next = sl_time_ns();
	while (!cli_stop) {
		uint16_t n, i;

		/* --one: the next request waits for this one's answer (or
		 * its --timeout), so that no server ever holds two */
		if (sent < count && now >= next &&
		    (!one || tr.unique >= sent ||
		     now - last_send >= timeout_ns)) {
			struct sl_pkt *p = sl_pkt_alloc(pool);

			if (p) {
				int len;

				cli_put_be64(payload + SL_GEN_OFF_SEQ, sent);
				cli_put_be64(payload + SL_GEN_OFF_TS, now);
				len = sl_udp_build(p->data, sl_pkt_tailroom(p),
						   &hp, payload, plen);
				if (len < 0)
					cli_die("--size %u: does not fit the "
						"port's buffers",
						size);
				p->len = (uint32_t)len;
				if (sl_tx_burst(port, 0, &p, 1) == 1) {
					sent++;
					last_send = now;
					next += interval_ns;
					/* after a stall, do not burst */
					if (next < now)
						next = now;
				} else {
					sl_pkt_free(p);
				}
			}
		}
		n = sl_rx_burst(port, 0, pkts, PING_BURST);
		now = sl_time_ns();
		for (i = 0; i < n; i++) {
			struct cli_gen_info g;

			/* an answer damaged on its way is no answer */
			if (sl_pkt_csum_bad(pkts[i])) {
				bad_csum++;
				continue;
			}
			if (cli_gen_parse(pkts[i]->data, pkts[i]->len, &g) ||
			    !g.ts) {
				foreign++;
				continue;
			}
			cli_track_record(&tr, &g);
			if (now >= g.tx_ns)
				cli_hist_record(
					h, ((pkts[i]->flags & SL_PKT_F_RX_TS) &&
							    pkts[i]->rx_ts >=
								    g.tx_ns ?
						    pkts[i]->rx_ts :
						    now) -
						   g.tx_ns);
		}
		if (n)
			sl_pkt_free_bulk(pkts, n);
		/* sleeping is fine only while no request is due soon */
		if (!n && (sent >= count || next > now + 100000))
			cli_idle_poll(&idle, 0);
		else
			cli_idle_poll(&idle, 1);
		cli_status_tick(&st, now, "ping", tr.unique, tr.unique * size,
				sent - (tr.unique < sent ? tr.unique : sent));
		if (sent >= count &&
		    (tr.unique >= count || now - last_send >= timeout_ns))
			break;
	}
	now = sl_time_ns();
	cli_status_end(&st);
	{
		uint64_t got = tr.unique < sent ? tr.unique : sent;
		uint64_t lost = sent - got;

		if (json) {
			struct json_object *r = json_object_new_object();

			json_object_object_add(r, "sent",
					       json_object_new_uint64(sent));
			json_object_object_add(r, "received",
					       json_object_new_uint64(got));
			json_object_object_add(r, "lost",
					       json_object_new_uint64(lost));
			json_object_object_add(r, "duplicates",
					       json_object_new_uint64(tr.dups));
			json_object_object_add(
				r, "reordered",
				json_object_new_uint64(tr.reordered));
			json_object_object_add(r, "foreign",
					       json_object_new_uint64(foreign));
			json_object_object_add(
				r, "bad_csum",
				json_object_new_uint64(bad_csum));
			json_object_object_add(
				r, "rtt_us", h->n ? cli_json_hist_us(h) : NULL);
			json_object_object_add(
				r, "elapsed_s",
				json_object_new_double(cli_secs(now - t0)));
			json_object_object_add(
				r, "interrupted",
				json_object_new_boolean(cli_stop));
			json_object_object_add(r, "port", cli_json_port(port));
			cli_json_print(r);
		} else {
			printf("ping: %" PRIu64 " sent, %" PRIu64
			       " received, %" PRIu64 " lost (%.1f%%), %" PRIu64
			       " duplicates, %" PRIu64 " bad checksums\n",
			       sent, got, lost,
			       sent ? 100.0 * (double)lost / (double)sent : 0,
			       tr.dups, bad_csum);
			cli_print_hist_us("  round trip:", h);
		}
	}
	sl_port_close(port);
	cli_track_fini(&tr);
	cli_hist_free(h);
	return 0;
}
