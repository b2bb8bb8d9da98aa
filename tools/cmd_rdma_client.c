// SPDX-License-Identifier: MIT
/*
 * sluice rdma write-bw|read-bw|send-bw|write-lat|read-lat: one test
 * against `sluice rdma server`, reached with sluice's exchange
 * (rdma_xchg.c). Bandwidth tests keep --window work requests outstanding
 * and time the run from the first post to the last completion. Latency
 * tests run one work request at a time and time each from post to
 * completion: a WRITE's completion needs the responder's ACK, so this is a
 * round trip (perftest's write_lat reports half of a ping-pong instead).
 * At the end the client says "done" on the side channel; the server's
 * answer means it saw every request.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sluice/rdma.h>

#include "hist.h"
#include "rdma_tool.h"
#include "rdma_xchg.h"
#include "sluice.h"

#define RD_MAX_LOCAL (64u << 20) /* client buffer: window * size at most */
#define RD_STALL_NS 10000000000ull /* no completion for this long: fail */

static const char client_help[] =
	"usage: sluice rdma write-bw|read-bw|send-bw|write-lat|read-lat PORT\n"
	"                   --to ADDR[:PORT] [options]\n"
	"\n"
	"One RDMA test against `sluice rdma server` over the RoCEv2 RC "
	"transport.\n"
	"Bandwidth tests keep --window work requests outstanding and print\n"
	"bytes/s and messages/s; latency tests run one at a time and print the\n"
	"post-to-completion time (a round trip) as percentiles p50, p90, p99,\n"
	"p99.9 and max.\n"
	"\n"
	"  --to ADDR[:PORT]  the server's RoCE address; its side channel is TCP\n"
	"                    on the same address and port (default port 4791)\n"
	"  --size B          message bytes (default 65536 for *-bw, 8 for "
	"*-lat)\n"
	"  --iters N         messages (default 1000 for *-bw, 10000 for *-lat)\n"
	"  --window N        outstanding work requests, *-bw (default: 2 MiB\n"
	"                    worth, 1..128; at most 256)\n"
	"  --mtu B           path MTU 256..4096 (default 1024)\n"
	"  --timeout S       to reach the server (default 5)\n"
	"  --json            print the result as JSON on stdout\n"
	"  --from FILE       write-bw: WRITE the file, in order, to the same\n"
	"                    offsets of the server's buffer (one pass; with\n"
	"                    `server --target` it lands in the target)\n"
	"  --oob perftest    the server is perftest's ib_* tool (--oob "
	"perftest\n"
	"                    --help for its options)\n"
	"\n"
	"PORT is the local RoCE port: udp:ADDR:PORT, or "
	"xdp:IFACE,match=udp:4791.\n"
	"\n"
	"example:\n"
	"  sluice rdma server udp:127.0.0.1:4791 &\n"
	"  sluice rdma write-lat udp:127.0.0.1:4792 --to 127.0.0.1:4791\n";

int rd_client(enum rd_test test, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "from", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *from = NULL;
	uint64_t flen = 0;
	bool lat = test == RD_WRITE_LAT || test == RD_READ_LAT;
	bool rd = test == RD_READ_BW || test == RD_READ_LAT;
	uint64_t size = lat ? 8 : 65536, iters = lat ? 10000 : 1000;
	uint64_t window = 0, timeout_ns = 5000000000ull;
	uint64_t posted = 0, completed = 0, t0, t1, last_wc, slots, tpost = 0;
	struct sl_addr to = { 0 }, local;
	bool have_to = false, json = false;
	struct rd_ctx c = { .mtu = 3 };
	struct rd_msg hello = { 0 }, ans;
	uint8_t b[RD_MSG_LEN], d;
	struct sl_rdma_mr *mr;
	struct cli_hist *h = NULL;
	const char *why = "";
	uint8_t *buf;
	size_t blen;
	char abuf[64];
	int fd, ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hjt:s:n:w:", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			cli_opt_addr("--to", optarg, true, &to);
			have_to = true;
			break;
		case 's':
			size = cli_opt_u64("--size", optarg, 1,
					   SL_RDMA_MAX_MSG);
			break;
		case 'n':
			iters = cli_opt_u64("--iters", optarg, 1, 1000000000);
			break;
		case 'w':
			window =
				cli_opt_u64("--window", optarg, 1, RD_SQ_DEPTH);
			break;
		case 'm':
			c.mtu = rd_opt_mtu(optarg);
			break;
		case 'T':
			timeout_ns = (uint64_t)(cli_opt_seconds("--timeout",
								optarg) *
						1e9);
			break;
		case 'j':
			json = true;
			break;
		case 'f':
			from = optarg;
			break;
		case 'h':
			fputs(client_help, stdout);
			return 0;
		default:
			cli_opt_bad(ch, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (a spec such as udp:ADDR:0)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);
	if (!have_to)
		cli_usage_fail("--to ADDR[:PORT] is required (the server)");
	if (!to.port)
		to.port = SL_RDMA_UDP_PORT;
	if (lat) {
		if (window > 1)
			cli_usage_fail("--window: latency tests run one work "
				       "request at a time");
		window = 1;
	} else if (!window) {
		window = (2u << 20) / size;
		window = window < 1 ? 1 : window > 128 ? 128 : window;
	}
	/* each outstanding request has its own local slot (READs land in
	 * it); past RD_MAX_LOCAL they share, which is fine for bandwidth */
	slots = RD_MAX_LOCAL / size;
	slots = slots < 1 ? 1 : slots > window ? window : slots;
	blen = (size_t)(slots * size);
	if (from) {
		if (test != RD_WRITE_BW)
			cli_usage_fail("--from: write-bw only");
		buf = rd_map_file(from, &flen);
		/* the file in order: message i is bytes i*size.. of it, at
		 * the same offset of the server's buffer */
		iters = (flen + size - 1) / size;
		blen = (size_t)flen;
	}

	rd_open(&c, argv[optind], 0);
	if (!strcmp(c.info.driver, "udp") && c.info.addr.family != to.family)
		cli_usage_fail("--to: an IPv%c server for an IPv%c port",
			       to.family == AF_INET6 ? '6' : '4',
			       c.info.addr.family == AF_INET6 ? '6' : '4');
	if (!from) {
		buf = aligned_alloc(4096, (blen + 4095) & ~(size_t)4095);
		if (!buf)
			cli_die("--size %" PRIu64 ": out of memory", size);
		for (size_t i = 0; i < blen; i++)
			buf[i] = (uint8_t)(i * 31 + 7);
	}
	h = cli_hist_new();
	if (!h)
		cli_die("out of memory");
	mr = sl_rdma_reg_mr(c.pd, buf, blen, SL_RDMA_ACCESS_LOCAL_WRITE);
	if (!mr)
		cli_die("registering %zu bytes: %s", blen, sl_last_error());

	fd = rd_dial(&to, sl_time_ns() + timeout_ns);
	rd_local_addr(&c, fd, &local);
	hello.test = (uint8_t)test;
	if (rd_path_mtu(fd, c.mtu) < c.mtu) {
		cli_warnx("--mtu %u: the path to the server carries at most "
			  "%u-byte RoCE payloads; using that",
			  128u << c.mtu, 128u << rd_path_mtu(fd, c.mtu));
		c.mtu = rd_path_mtu(fd, c.mtu);
	}
	hello.mtu = c.mtu;
	hello.qpn = sl_rdma_qp_num(c.qp);
	hello.psn = rd_psn();
	hello.addr = local;
	hello.size = (uint32_t)size;
	memcpy(hello.mac, c.info.mac, SL_ETH_ALEN);
	rd_pack(&hello, b);
	if (rd_write_full(fd, b, sizeof(b)) ||
	    rd_read_full(fd, b, sizeof(b), sl_time_ns() + timeout_ns, &why) ||
	    rd_unpack(b, &ans))
		cli_die("no answer from the server at %s: %s",
			sl_addr_format(&to, abuf, sizeof(abuf)),
			*why ? why : "not a sluice rdma server");
	if (ans.status)
		cli_die("the server refused: %s", ans.reason);
	if (ans.len < size)
		cli_die("the server's buffer has %" PRIu64 " bytes, less than "
			"--size %" PRIu64,
			ans.len, size);
	if (from && ans.len < flen)
		cli_die("the server's buffer has %" PRIu64 " bytes, less than "
			"%s (%" PRIu64 "): give it --size",
			ans.len, from, flen);
	c.mtu = ans.mtu;
	rd_connect(&c, &local, hello.psn, &ans);

	t0 = last_wc = sl_time_ns();
	while (completed < iters && !cli_stop) {
		struct sl_rdma_wc wc[32];
		uint64_t now;
		int k, j;

		while (posted < iters && posted - completed < window) {
			uint64_t slot = posted % slots;
			/* the remote buffer is used round-robin in message
			 * sized steps, as perftest does */
			uint64_t roff = (posted % (ans.len / size)) * size;
			struct sl_rdma_send_wr wr = {
				.wr_id = posted,
				.opcode = test == RD_SEND_BW ? SL_RDMA_WR_SEND :
					  rd ? SL_RDMA_WR_RDMA_READ :
					       SL_RDMA_WR_RDMA_WRITE,
				.sge = { (uintptr_t)buf + slot * size,
					 (uint32_t)size, sl_rdma_mr_lkey(mr) },
				.rkey = ans.rkey,
				.remote_addr = ans.va + roff,
			};
			int r;

			if (from) {
				roff = posted * size;
				wr.sge.addr = (uintptr_t)buf + roff;
				wr.sge.length = (uint32_t)(flen - roff < size ?
								   flen - roff :
								   size);
				wr.remote_addr = ans.va + roff;
			}

			if (lat)
				tpost = sl_time_ns();
			r = sl_rdma_post_send(c.qp, &wr);
			if (r == -ENOMEM)
				break;
			if (r)
				cli_die("post_send: %s", strerror(-r));
			posted++;
		}
		sl_rdma_progress(c.qp);
		k = sl_rdma_poll_cq(c.cq, 32, wc);
		now = sl_time_ns();
		for (j = 0; j < k; j++) {
			if (wc[j].status != SL_RDMA_WC_SUCCESS)
				cli_die("work request %" PRIu64 " completed "
					"with %s%s",
					wc[j].wr_id,
					sl_rdma_wc_status_str(wc[j].status),
					wc[j].status == SL_RDMA_WC_RETRY_EXC_ERR ?
						" (the server stopped "
						"answering)" :
						"");
			if (lat)
				cli_hist_record(h, now - tpost);
			completed++;
		}
		if (k)
			last_wc = now;
		else if (now - last_wc > RD_STALL_NS)
			cli_die("no completion for %.0f s; the server is not "
				"answering",
				cli_secs(RD_STALL_NS));
	}
	t1 = sl_time_ns();
	if (cli_stop)
		cli_die("interrupted after %" PRIu64 " of %" PRIu64
			" work requests",
			completed, iters);

	/* tell the server; its answer means it saw every request */
	d = RD_DONE;
	if (rd_write_full(fd, &d, 1) ||
	    rd_read_full(fd, &d, 1, sl_time_ns() + timeout_ns, &why))
		cli_warnx("the server did not confirm the end: %s", why);
	close(fd);

	{
		double secs = cli_secs(t1 - t0);
		double bps = secs > 0 ? (double)(completed * size) / secs : 0;
		double mps = secs > 0 ? (double)completed / secs : 0;

		if (json) {
			struct json_object *r = json_object_new_object();

			json_object_object_add(
				r, "test",
				json_object_new_string(rd_test_name(test)));
			json_object_object_add(r, "size",
					       json_object_new_uint64(size));
			json_object_object_add(
				r, "iters", json_object_new_uint64(completed));
			json_object_object_add(r, "window",
					       json_object_new_uint64(window));
			json_object_object_add(
				r, "mtu", json_object_new_int(128 << c.mtu));
			json_object_object_add(
				r, "bytes",
				json_object_new_uint64(completed * size));
			json_object_object_add(r, "elapsed_s",
					       json_object_new_double(secs));
			json_object_object_add(r, "bytes_per_s",
					       json_object_new_double(bps));
			json_object_object_add(
				r, "gbit_per_s",
				json_object_new_double(bps * 8 / 1e9));
			json_object_object_add(r, "msgs_per_s",
					       json_object_new_double(mps));
			if (lat)
				json_object_object_add(r, "latency_us",
						       cli_json_hist_us(h));
			json_object_object_add(r, "qp", rd_json_qp(c.qp));
			json_object_object_add(r, "port",
					       cli_json_port(c.port));
			cli_json_print(r);
		} else {
			printf("%s: %" PRIu64 " x %" PRIu64
			       " B in %.3f s: %.0f bytes/s (%.3f Gbit/s), "
			       "%.0f msgs/s\n",
			       rd_test_name(test), completed, size, secs, bps,
			       bps * 8 / 1e9, mps);
			if (lat)
				cli_print_hist_us("  latency:", h);
		}
	}
	sl_rdma_dereg_mr(mr);
	rd_close(&c);
	cli_hist_free(h);
	if (from)
		munmap(buf, flen);
	else
		free(buf);
	return 0;
}
