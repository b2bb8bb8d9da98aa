// SPDX-License-Identifier: MIT
/*
 * sluice rdma pingpong: rdma-core's ibv_rc_pingpong, as server and as
 * client, so that sluice's RoCEv2 transport meets a stack no one here
 * wrote (Linux's rxe in the lab, any RoCE NIC). See rd_pingpong's help.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rdma_tool.h"
#include "sluice.h"

/* ---- pingpong: rdma-core's ibv_rc_pingpong, both ways ------------------ */

/*
 * ibv_rc_pingpong's out-of-band exchange, as rdma-core's example does it:
 * over TCP (default port 18515) the client sends
 * "LLLL:QQQQQQ:PPPPPP:GGGG...G" (LID, QPN and PSN in hex, the GID as 32
 * hex digits of its 16 bytes in order) with its NUL, 52 bytes; the server
 * connects its QP and answers the same; the client writes "done" with
 * its NUL. Then each side sends --iters SENDs of --size bytes from one
 * buffer: the client first, the server after each receive, into the same
 * buffer, so the server returns what it got. On RoCE the LID is 0 and the
 * GID is the IPv4-mapped address (::ffff:a.b.c.d).
 */
#define PP_MSG 52
#define PP_RECV_ID 1
#define PP_SEND_ID 2
#define PP_PAGE 4096

/*
 * The data, with --chk. rdma-core's client (-c) sends its buffer as it
 * made it: 0x7b everywhere but a 0 at the start of each page, which is
 * also all its server checks. sluice's client sends the same zeros at page
 * starts and a counting pattern elsewhere, so a -c server is satisfied and
 * every byte of what comes back can be checked: the server returns what
 * it received. A sluice server accepts either, whole.
 */
static uint8_t pp_byte(size_t i, bool rich)
{
	if (i % PP_PAGE == 0)
		return 0;
	return rich ? (uint8_t)(i * 7 + 13) : 0x7b;
}

static bool pp_check(const uint8_t *b, size_t size, bool rich)
{
	size_t i;

	for (i = 0; i < size; i++)
		if (b[i] != pp_byte(i, rich))
			return false;
	return true;
}

static const char pp_help[] =
	"usage: sluice rdma pingpong PORT [--to ADDR] [options]\n"
	"\n"
	"RC SEND/RECV ping-pong with rdma-core's ibv_rc_pingpong on the other\n"
	"end (or another sluice): its out-of-band exchange over TCP, its\n"
	"message pattern. Without --to it waits for a client, as\n"
	"`ibv_rc_pingpong` does without a host; with --to it is the client.\n"
	"\n"
	"  --to ADDR         the server (ibv_rc_pingpong -g IDX running there)\n"
	"  --oob-port N      TCP port of the exchange (default 18515)\n"
	"  --size B          message bytes (default 4096)\n"
	"  --iters N         exchanges (default 1000)\n"
	"  --mtu B           path MTU, 256..4096 (default 1024)\n"
	"  --chk             check every byte received: what a client gets back\n"
	"                    is what it sent; a server gets ibv_rc_pingpong -c's\n"
	"                    buffer or a sluice client's (zeros at page starts,\n"
	"                    which is what ibv_rc_pingpong -c checks)\n"
	"  --timeout S       to reach or hear from the peer (default 10)\n"
	"  --json            print the result as JSON on stdout\n"
	"\n"
	"PORT: udp:ADDR:4791 (IPv4), or xdp:IFACE,match=udp:4791.\n"
	"\n"
	"example (the guest of scripts/lab.sh runs rdma-core's side):\n"
	"  sluice rdma pingpong udp:10.78.0.1:4791 --iters 100 --chk\n"
	"  ibv_rc_pingpong -d rxe0 -g 1 -n 100 -c 10.78.0.1   (in the guest)\n";

static void pp_msg(char *m, uint32_t qpn, uint32_t psn, const struct sl_addr *a)
{
	uint8_t gid[16];
	int i, n;

	rd_gid_v4(gid, a);
	n = snprintf(m, PP_MSG, "%04x:%06x:%06x:", 0, qpn & 0xffffff,
		     psn & 0xffffff);
	for (i = 0; i < 16; i++)
		n += snprintf(m + n, (size_t)(PP_MSG - n), "%02x", gid[i]);
}

/* Parse a peer's message: its QPN, PSN and IPv4 address (from the GID). */
static int pp_parse(const char *m, uint32_t *qpn, uint32_t *psn,
		    struct sl_addr *a)
{
	unsigned lid, q, p, i;
	char g[33];
	uint8_t gid[16];

	if (memchr(m, '\0', PP_MSG) == NULL ||
	    sscanf(m, "%x:%x:%x:%32s", &lid, &q, &p, g) != 4 || strlen(g) != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		unsigned b;

		if (sscanf(g + 2 * i, "%2x", &b) != 1)
			return -1;
		gid[i] = (uint8_t)b;
	}
	/* RoCEv2 over IPv4 only: ::ffff:a.b.c.d */
	if (rd_gid_addr(gid, a))
		return -1;
	*qpn = q;
	*psn = p;
	return 0;
}

int rd_pingpong(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "oob-port", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "chk", no_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rd_ctx c = { .mtu = 3 };
	struct sl_rdma_qp_conn q = { .sz = sizeof(q) };
	struct sl_addr to = { 0 }, local, oob;
	uint64_t size = 4096, iters = 1000, scnt = 0, rcnt = 0, bad = 0;
	uint64_t t0, deadline, last;
	double timeout = 10;
	bool client = false, chk = false, json = false;
	char msg[PP_MSG], buf[64];
	const char *why = NULL;
	unsigned pending, routs = 0, depth = RD_SQ_DEPTH / 2, i;
	uint16_t oob_port = 18515;
	uint8_t *mem;
	struct sl_rdma_mr *mr;
	struct sl_rdma_sge sge;
	int opt, fd, lfd = -1;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (opt) {
		case 't':
			rd_opt_ipv4("--to", optarg, &to);
			client = true;
			break;
		case 'o':
			oob_port = (uint16_t)cli_opt_u64("--oob-port", optarg,
							 1, 65535);
			break;
		case 's':
			size = cli_opt_u64("--size", optarg, 1, 1u << 24);
			break;
		case 'n':
			iters = cli_opt_u64("--iters", optarg, 1, UINT32_MAX);
			break;
		case 'm':
			c.mtu = rd_opt_mtu(optarg);
			break;
		case 'c':
			chk = true;
			break;
		case 'T':
			timeout = cli_opt_seconds("--timeout", optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(pp_help, stdout);
			return 0;
		default:
			cli_opt_bad(opt, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (udp:ADDR:4791 or "
			       "xdp:IFACE,match=udp:4791)");
	rd_open(&c, argv[optind], 0);
	mem = aligned_alloc(4096, (size + 4095) & ~(uint64_t)4095);
	if (!mem)
		cli_die("no memory for %" PRIu64 " bytes", size);
	memset(mem, 0x7b, size);
	if (client && chk)
		for (i = 0; i < size; i++)
			mem[i] = pp_byte(i, true);
	mr = sl_rdma_reg_mr(c.pd, mem, size, SL_RDMA_ACCESS_LOCAL_WRITE);
	if (!mr)
		cli_die("memory region: %s", sl_last_error());
	sge = (struct sl_rdma_sge){ .addr = (uintptr_t)mem,
				    .length = (uint32_t)size,
				    .lkey = sl_rdma_mr_lkey(mr) };
	for (i = 0; i < depth; i++)
		if (sl_rdma_post_recv(c.qp, PP_RECV_ID, &sge) == 0)
			routs++;
	q.sq_psn = rd_psn();
	deadline = sl_time_ns() + (uint64_t)(timeout * 1e9);

	/* the exchange */
	if (client) {
		to.port = oob_port;
		fd = rd_dial(&to, deadline);
		rd_local_addr(&c, fd, &local);
		pp_msg(msg, sl_rdma_qp_num(c.qp), q.sq_psn, &local);
		if (rd_write_full(fd, msg, PP_MSG) ||
		    rd_read_full(fd, msg, PP_MSG, deadline, &why))
			cli_die("exchange with %s: %s",
				sl_addr_format(&to, buf, sizeof(buf)),
				why ? why : strerror(errno));
		(void)rd_write_full(fd, "done", sizeof("done"));
	} else {
		rd_oob_addr(&c, oob_port, &oob);
		lfd = rd_listen(&oob);
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			cli_die("accept: %s", strerror(errno));
		rd_local_addr(&c, fd, &local);
		if (rd_read_full(fd, msg, PP_MSG, sl_time_ns() + 30000000000ull,
				 &why))
			cli_die("exchange: %s", why);
	}
	if (pp_parse(msg, &q.remote_qpn, &q.rq_psn, &q.remote))
		cli_die("the peer's address '%.*s' is not LID:QPN:PSN:GID with "
			"an IPv4-mapped GID (ibv_rc_pingpong needs -g with the "
			"RoCE v2 IPv4 GID's index)",
			PP_MSG, msg);
	q.local = local;
	q.mtu = c.mtu;
	memcpy(q.local_mac, c.info.mac, SL_ETH_ALEN);
	rd_peer_mac(&c, &q.remote, q.remote_mac);
	if (sl_rdma_qp_connect(c.qp, &q))
		cli_die("connecting the queue pair: %s", sl_last_error());
	if (!client) {
		char done[8];

		pp_msg(msg, sl_rdma_qp_num(c.qp), q.sq_psn, &local);
		if (rd_write_full(fd, msg, PP_MSG))
			cli_die("exchange: %s", strerror(errno));
		/* the client's "done", if it says it */
		(void)rd_read_full(fd, done, sizeof("done"),
				   sl_time_ns() + 2000000000ull, &why);
		close(lfd);
	}
	close(fd);

	/* the ping-pong, as rc_pingpong's completion loop runs it */
	pending = PP_RECV_ID;
	t0 = last = sl_time_ns();
	if (client) {
		struct sl_rdma_send_wr wr = { .wr_id = PP_SEND_ID,
					      .opcode = SL_RDMA_WR_SEND,
					      .sge = sge };

		if (sl_rdma_post_send(c.qp, &wr))
			cli_die("post send: %s", sl_last_error());
		pending |= PP_SEND_ID;
	}
	while ((rcnt < iters || scnt < iters) && !cli_stop) {
		struct sl_rdma_wc wc[16];
		int k, j;

		sl_rdma_progress(c.qp);
		k = sl_rdma_poll_cq(c.cq, 16, wc);
		if (!k) {
			if (sl_time_ns() - last > (uint64_t)(timeout * 1e9))
				cli_die("no completion for %.0f s (sent %" PRIu64
					", received %" PRIu64 " of %" PRIu64
					")",
					timeout, scnt, rcnt, iters);
			continue;
		}
		last = sl_time_ns();
		for (j = 0; j < k; j++) {
			if (wc[j].status != SL_RDMA_WC_SUCCESS)
				cli_die("%s completed with %s",
					wc[j].wr_id == PP_SEND_ID ? "a send" :
								    "a receive",
					sl_rdma_wc_status_str(wc[j].status));
			if (wc[j].wr_id == PP_SEND_ID) {
				scnt++;
			} else {
				rcnt++;
				if (chk)
					bad += client ?
						       !pp_check(mem, size,
								 true) :
						       !pp_check(mem, size,
								 true) &&
							       !pp_check(mem,
									 size,
									 false);
				if (--routs <= 1)
					while (routs < depth &&
					       !sl_rdma_post_recv(
						       c.qp, PP_RECV_ID, &sge))
						routs++;
			}
			pending &= ~(unsigned)wc[j].wr_id;
			if (scnt < iters && !pending) {
				struct sl_rdma_send_wr wr = {
					.wr_id = PP_SEND_ID,
					.opcode = SL_RDMA_WR_SEND,
					.sge = sge
				};

				if (sl_rdma_post_send(c.qp, &wr))
					cli_die("post send: %s",
						sl_last_error());
				pending = PP_RECV_ID | PP_SEND_ID;
			}
		}
	}
	{
		double secs = cli_secs(sl_time_ns() - t0);

		if (json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(
				o, "role",
				json_object_new_string(client ? "client" :
								"server"));
			json_object_object_add(o, "sent",
					       json_object_new_uint64(scnt));
			json_object_object_add(o, "received",
					       json_object_new_uint64(rcnt));
			json_object_object_add(o, "size",
					       json_object_new_uint64(size));
			json_object_object_add(o, "checked",
					       json_object_new_boolean(chk));
			json_object_object_add(o, "bad_messages",
					       json_object_new_uint64(bad));
			json_object_object_add(o, "elapsed_s",
					       json_object_new_double(secs));
			json_object_object_add(o, "qp", rd_json_qp(c.qp));
			cli_json_print(o);
		} else {
			printf("pingpong: %" PRIu64 " sent, %" PRIu64
			       " received of %" PRIu64 " bytes in %.3f s%s\n",
			       scnt, rcnt, size, secs,
			       chk ? (bad ? ", DATA WRONG" : ", data checked") :
				     "");
		}
	}
	sl_rdma_dereg_mr(mr);
	free(mem);
	rd_close(&c);
	return bad || cli_stop ? 1 : 0;
}
