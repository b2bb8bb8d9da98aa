// SPDX-License-Identifier: MIT
/*
 * sluice rdma server: registers a buffer, answers one `sluice rdma TEST`
 * client over sluice's exchange (rdma_xchg.c) and serves its requests
 * until the client says it is done: WRITEs and READs need nothing of the
 * server but progress, SENDs land in receives posted in message-sized
 * slots before the answer. It notices a client that dies, and prints what
 * it received.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sluice/dma.h>
#include <sluice/rdma.h>

#include "poll.h"
#include "rdma_tool.h"
#include "rdma_xchg.h"
#include "sluice.h"

#define RD_DEF_SERVER_SIZE (8u << 20)
#define RD_MAX_SERVER_SIZE (1u << 30)

static const char server_help[] =
	"usage: sluice rdma server PORT [options]\n"
	"\n"
	"Register a buffer and answer one `sluice rdma TEST` client, then exit.\n"
	"The client reaches it over TCP on the address and port number of the\n"
	"RoCE port (udp: ports), or on --listen.\n"
	"\n"
	"  --size B          bytes of the buffer (default 8M, at most 1 GiB)\n"
	"  --listen ADDR[:PORT]  side channel address (default: a udp: port's\n"
	"                    address and port; other ports 0.0.0.0:4791)\n"
	"  --mtu B           largest path MTU accepted (default 4096)\n"
	"  --target SPEC     the buffer's bytes go on to host, file:PATH or\n"
	"                    cuda:N through the staging engine as WRITEs land;\n"
	"                    the answer to the client's \"done\" comes once they\n"
	"                    are all on the target (file: fdatasync)\n"
	"  --staging-size B  staging buffer bytes (default 1M; K/M are KiB/MiB)\n"
	"  --depth N         staging buffers in flight (default 8)\n"
	"  --busy            never sleep between empty polls\n"
	"  --json            print the result as JSON on stdout\n"
	"  --oob perftest    serve perftest's ib_* tools instead (--oob "
	"perftest\n"
	"                    --help for its options)\n"
	"\n"
	"example:\n"
	"  sluice rdma server udp:127.0.0.1:4791 &\n"
	"  sluice rdma write-bw udp:127.0.0.1:4792 --to 127.0.0.1:4791\n";

static void rd_refuse(int fd, struct rd_msg *m, const char *fmt, ...)
	SL_PRINTF_T(3, 4);
static void rd_refuse(int fd, struct rd_msg *m, const char *fmt, ...)
{
	uint8_t b[RD_MSG_LEN];
	va_list ap;

	m->status = 1;
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
	rd_pack(m, b);
	rd_write_full(fd, b, sizeof(b));
	cli_warnx("refused a client: %s", m->reason);
}

/*
 * --target: every byte a WRITE places in the buffer is staged on to the
 * target at the same offset (sl_rdma_mr_on_write). Contiguous bytes are
 * gathered into transfers of the staging size (across messages: a client
 * writing a file in order makes full-size transfers); a jump sends what is
 * gathered, and so does the end of the session. With every staging buffer in flight the
 * hook waits for the oldest, inside sl_rdma_progress: the next packets, and
 * so the requester, wait too, instead of the buffer running ahead of the
 * target.
 */
struct rd_target {
	struct sl_dma_target *t;
	struct sl_dma_stage *s;
	const uint8_t *base;
	uint64_t lo, hi; /* gathered, not yet given to the stager */
	uint32_t chunk;
	int err; /* the stream's -errno, once it failed */
	char why[256];
};

static void tgt_send(struct rd_target *g, bool all)
{
	while (!g->err && g->hi > g->lo && (all || g->hi - g->lo >= g->chunk)) {
		uint32_t n = (uint32_t)(g->hi - g->lo < g->chunk ?
						g->hi - g->lo :
						g->chunk);
		int r = sl_dma_stage_sink(g->s, g->lo, g->base + g->lo, n,
					  NULL);

		if (r == -EAGAIN) {
			r = sl_dma_stage_poll(g->s, true);
			if (r >= 0)
				continue;
		}
		if (r) {
			g->err = r;
			snprintf(g->why, sizeof(g->why), "%s", sl_last_error());
			break;
		}
		g->lo += n;
	}
}

static void tgt_on_write(void *ctx, uint64_t off, uint32_t len, bool last)
{
	struct rd_target *g = ctx;

	if (off != g->hi) {
		tgt_send(g, true);
		g->lo = g->hi = off;
	}
	g->hi = off + len;
	(void)last;
	tgt_send(g, false);
}

static void tgt_open(struct rd_target *g, const char *spec, uint64_t size,
		     uint32_t staging, uint32_t depth, const uint8_t *base)
{
	struct sl_dma_stage_opts so = { .sz = sizeof(so),
					.buf_size = staging,
					.depth = depth };

	g->t = sl_dma_target_open(spec, NULL);
	if (!g->t)
		cli_die("--target %s: %s", spec, sl_last_error());
	if (sl_dma_target_reserve(g->t, size))
		cli_die("--target %s: %s", spec, sl_last_error());
	g->s = sl_dma_stage_create(g->t, &so);
	if (!g->s)
		cli_die("--target %s: %s", spec, sl_last_error());
	g->base = base;
	g->chunk = sl_dma_stage_buf_size(g->s);
}

/* Send what is gathered and wait until it is all on the target. 0 or the
 * stream's -errno (g->why says where). */
static int tgt_finish(struct rd_target *g)
{
	int r;

	tgt_send(g, true);
	if (g->err)
		return g->err;
	r = sl_dma_stage_flush(g->s);
	if (r) {
		g->err = r;
		snprintf(g->why, sizeof(g->why), "%s", sl_last_error());
	}
	return r;
}

static struct json_object *tgt_json(struct rd_target *g)
{
	struct sl_dma_stage_stats st = { .sz = sizeof(st) };
	struct json_object *o = json_object_new_object();

	sl_dma_stage_get_stats(g->s, &st);
	json_object_object_add(
		o, "spec", json_object_new_string(sl_dma_target_name(g->t)));
	json_object_object_add(
		o, "note", json_object_new_string(sl_dma_target_note(g->t)));
	json_object_object_add(o, "acked_bytes",
			       json_object_new_uint64(st.acked_bytes));
	json_object_object_add(o, "transfers",
			       json_object_new_uint64(st.retired));
	json_object_object_add(o, "stalls", json_object_new_uint64(st.stalls));
	json_object_object_add(o, "error",
			       g->err ? json_object_new_string(g->why) : NULL);
	return o;
}

int rd_server(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "busy", no_argument, NULL, 'b' },
		{ "target", required_argument, NULL, 'T' },
		{ "staging-size", required_argument, NULL, 'S' },
		{ "depth", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_addr listen_a = { 0 }, local;
	uint64_t size = RD_DEF_SERVER_SIZE, recvs = 0, recv_bytes = 0;
	uint64_t recv_err = 0, t0 = 0, t1 = 0, last_check = 0;
	bool have_listen = false, json = false, done = false;
	uint8_t max_mtu = 5, b[RD_MSG_LEN];
	struct cli_idle idle = { 0 };
	struct sl_rdma_mr *mr;
	struct rd_target tg = { 0 };
	const char *target = NULL;
	uint32_t staging = 1u << 20, depth = 8;
	struct rd_ctx c = { 0 };
	struct rd_msg hello, ans = { 0 };
	const char *why = "";
	uint32_t slots = 0, slot_size = 0, i;
	uint8_t *buf;
	int lfd, fd, ch, rc = 0;
	char abuf[64];

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hjs:", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			size = cli_opt_u64("--size", optarg, 8,
					   RD_MAX_SERVER_SIZE);
			break;
		case 'l':
			cli_opt_addr("--listen", optarg, true, &listen_a);
			have_listen = true;
			break;
		case 'm':
			max_mtu = rd_opt_mtu(optarg);
			break;
		case 'b':
			idle.busy = true;
			break;
		case 'T':
			target = optarg;
			break;
		case 'S':
			staging = (uint32_t)cli_opt_bytes("--staging-size",
							  optarg,
							  SL_DMA_BUF_MIN,
							  SL_DMA_BUF_MAX);
			if (staging % 4096)
				cli_usage_fail("--staging-size %s: give a "
					       "multiple of 4096",
					       optarg);
			break;
		case 'D':
			depth = (uint32_t)cli_opt_u64("--depth", optarg, 1,
						      SL_DMA_DEPTH_MAX);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(server_help, stdout);
			return 0;
		default:
			cli_opt_bad(ch, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (a spec such as udp:ADDR:4791)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);

	rd_open(&c, argv[optind],
		SL_RDMA_ACCESS_REMOTE_WRITE | SL_RDMA_ACCESS_REMOTE_READ);
	if (!have_listen) {
		if (!strcmp(c.info.driver, "udp")) {
			listen_a = c.info.addr;
		} else {
			listen_a.family = AF_INET;
			listen_a.v4.s_addr = htonl(INADDR_ANY);
		}
	}
	if (!listen_a.port)
		listen_a.port = SL_RDMA_UDP_PORT;
	/* page-aligned so READ and WRITE targets sit as in a real region */
	buf = aligned_alloc(4096, (size + 4095) & ~(uint64_t)4095);
	if (!buf)
		cli_die("--size %" PRIu64 ": out of memory", size);
	memset(buf, 0, size);
	mr = sl_rdma_reg_mr(c.pd, buf, size,
			    SL_RDMA_ACCESS_LOCAL_WRITE |
				    SL_RDMA_ACCESS_REMOTE_WRITE |
				    SL_RDMA_ACCESS_REMOTE_READ);
	if (!mr)
		cli_die("registering %" PRIu64 " bytes: %s", size,
			sl_last_error());
	if (target) {
		tgt_open(&tg, target, size, staging, depth, buf);
		sl_rdma_mr_on_write(mr, tgt_on_write, &tg);
	}

	lfd = rd_listen(&listen_a);
	if (!json)
		fprintf(stderr,
			"sluice: rdma: server: waiting on TCP %s, %" PRIu64
			" byte buffer\n",
			sl_addr_format(&listen_a, abuf, sizeof(abuf)), size);
	fd = rd_accept(lfd);
	if (fd < 0) {
		rd_close(&c);
		return 0;
	}
	if (rd_read_full(fd, b, sizeof(b), sl_time_ns() + 5000000000ull,
			 &why) ||
	    rd_unpack(b, &hello))
		cli_die("client hello: %s", *why ? why : "not a sluice client");
	rd_local_addr(&c, fd, &local);

	ans.test = hello.test;
	if (hello.test < RD_WRITE_BW || hello.test > RD_READ_LAT) {
		rd_refuse(fd, &ans, "unknown test %u", hello.test);
		cli_die("client asked for unknown test %u", hello.test);
	}
	if (hello.size > size) {
		rd_refuse(fd, &ans,
			  "messages of %u bytes; the buffer has %" PRIu64,
			  hello.size, size);
		cli_die("client messages of %u bytes do not fit the %" PRIu64
			" byte buffer (--size)",
			hello.size, size);
	}
	if (max_mtu > rd_max_mtu(&c))
		max_mtu = rd_max_mtu(&c);
	max_mtu = rd_path_mtu(fd, max_mtu);
	c.mtu = hello.mtu < max_mtu ? hello.mtu : max_mtu;
	ans.mtu = c.mtu;
	ans.qpn = sl_rdma_qp_num(c.qp);
	ans.psn = rd_psn();
	ans.addr = local;
	memcpy(ans.mac, c.info.mac, SL_ETH_ALEN);
	ans.rkey = sl_rdma_mr_rkey(mr);
	ans.va = (uintptr_t)buf;
	ans.len = size;
	ans.size = hello.size;
	rd_connect(&c, &local, ans.psn, &hello);
	if (hello.test == RD_SEND_BW) {
		/* receives in slots of the message size, posted before the
		 * answer so the first SEND finds one */
		slot_size = hello.size ? hello.size : 1;
		slots = (uint32_t)(size / slot_size);
		if (slots > RD_SQ_DEPTH)
			slots = RD_SQ_DEPTH;
		for (i = 0; i < slots; i++) {
			struct sl_rdma_sge sge = {
				(uintptr_t)buf + (uint64_t)i * slot_size,
				slot_size, sl_rdma_mr_lkey(mr)
			};

			if (sl_rdma_post_recv(c.qp, i, &sge))
				cli_die("post_recv: %s", sl_last_error());
		}
	}
	rd_pack(&ans, b);
	if (rd_write_full(fd, b, sizeof(b)))
		cli_die("answering the client: %s", strerror(errno));
	fcntl(fd, F_SETFL, O_NONBLOCK);

	while (!cli_stop && !done) {
		struct sl_rdma_wc wc[32];
		int n = sl_rdma_progress(c.qp), k, j;
		uint64_t now;

		k = sl_rdma_poll_cq(c.cq, 32, wc);
		for (j = 0; j < k; j++) {
			struct sl_rdma_sge sge;

			if (wc[j].status != SL_RDMA_WC_SUCCESS) {
				recv_err++;
				continue;
			}
			if (!recvs)
				t0 = sl_time_ns();
			recvs++;
			recv_bytes += wc[j].byte_len;
			sge = (struct sl_rdma_sge){
				(uintptr_t)buf + wc[j].wr_id * slot_size,
				slot_size, sl_rdma_mr_lkey(mr)
			};
			sl_rdma_post_recv(c.qp, wc[j].wr_id, &sge);
		}
		if (tg.s)
			sl_dma_stage_poll(tg.s, false);
		cli_idle_poll(&idle, (unsigned)(n + k));
		/* the side channel: a syscall, so not on every turn */
		now = sl_time_ns();
		if (now - last_check >= 1000000) {
			uint8_t d;
			ssize_t r = recv(fd, &d, 1, 0);

			last_check = now;
			if (r == 1 && d == RD_DONE) {
				done = true;
			} else if (r == 0 || (r < 0 && errno != EAGAIN &&
					      errno != EINTR)) {
				cli_warnx("the client went away before it was "
					  "done");
				rc = 1;
				break;
			}
		}
	}
	t1 = sl_time_ns();
	/* "done" is answered once the bytes are on the target: a client
	 * that hears it may trust the file (or the GPU) */
	if (done && tg.s && tgt_finish(&tg)) {
		cli_warnx("--target: %s", tg.why);
		done = false;
		rc = 1;
	}
	if (done) {
		uint8_t d = RD_DONE;

		fcntl(fd, F_SETFL, 0);
		rd_write_full(fd, &d, 1);
	}
	close(fd);
	if (json) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "test",
				       json_object_new_string(rd_test_name(
					       (enum rd_test)hello.test)));
		json_object_object_add(r, "size",
				       json_object_new_uint64(hello.size));
		json_object_object_add(r, "recvs",
				       json_object_new_uint64(recvs));
		json_object_object_add(r, "recv_bytes",
				       json_object_new_uint64(recv_bytes));
		json_object_object_add(r, "recv_errors",
				       json_object_new_uint64(recv_err));
		json_object_object_add(r, "done",
				       json_object_new_boolean(done));
		json_object_object_add(r, "qp", rd_json_qp(c.qp));
		json_object_object_add(r, "port", cli_json_port(c.port));
		if (tg.s)
			json_object_object_add(r, "target", tgt_json(&tg));
		cli_json_print(r);
	} else {
		printf("rdma server: %s from %s%s",
		       rd_test_name((enum rd_test)hello.test),
		       sl_addr_format(&hello.addr, abuf, sizeof(abuf)),
		       done ? ", done" : ", stopped");
		if (hello.test == RD_SEND_BW)
			printf(", %" PRIu64 " receives, %" PRIu64
			       " bytes in %.3f s",
			       recvs, recv_bytes,
			       recvs ? cli_secs(t1 - t0) : 0);
		printf("\n");
		if (tg.s) {
			struct sl_dma_stage_stats st = { .sz = sizeof(st) };

			sl_dma_stage_get_stats(tg.s, &st);
			printf("target %s: %" PRIu64 " bytes on it in %" PRIu64
			       " transfers%s%s%s%s\n",
			       sl_dma_target_name(tg.t), st.acked_bytes,
			       st.retired,
			       *sl_dma_target_note(tg.t) ? "; " : "",
			       sl_dma_target_note(tg.t), tg.err ? "; " : "",
			       tg.err ? tg.why : "");
		}
	}
	sl_rdma_dereg_mr(mr);
	if (tg.s)
		sl_dma_stage_destroy(tg.s);
	if (tg.t)
		sl_dma_target_close(tg.t);
	rd_close(&c);
	free(buf);
	return rc;
}
