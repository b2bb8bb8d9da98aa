// SPDX-License-Identifier: MIT
/*
 * The RDMA transport between the test bed's two namespaces (root), over
 * `udp:` ports, over `xdp:` ports on UDP 4791, and over `auto:` ports that
 * take the udp path (which RDMA must treat as the socket path it is,
 * although the port's driver is "auto"): side A is the requester,
 * side B the responder,
 * and B's port captures what it receives and sends. A WRITE, a READ that
 * crosses the PSN wrap, a SEND and a WRITE with immediate, and both atomics
 * complete with the right data. Then the capture is checked twice:
 * - by the test itself: every frame is RoCEv2 with a correct ICRC
 *   (on udp: ports recomputed over the socket path's canonical IPv4
 *   header, on xdp: ports exactly as sent), and the
 *   opcodes expected of the transfer are all there;
 * - by tshark: every frame decodes as RRoCE, none is malformed, and its
 *   opcode and PSN are the ones the test read.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#include <sluice/rdma.h>

static struct tb bed;
static struct sl_pool *pool;

static int setup(void **state)
{
	(void)state;
	pool = sl_test_pool(4096);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tb_enter(NULL, TB_HOME);
	tb_down(&bed);
	sl_test_pool_full(pool);
	sl_pool_destroy(pool);
	return 0;
}

/* the path under test: kernel UDP sockets, or AF_XDP ports where every
 * byte on the wire (IP ID and flags included) is ours; or auto: ports that
 * take the udp path (risk=low), which RDMA must see as the socket path it
 * is */
static bool use_xdp, use_auto;

struct side {
	struct sl_port *port;
	struct sl_rdma_pd *pd;
	struct sl_rdma_cq *cq;
	struct sl_rdma_qp *qp;
};

static void side_open(struct side *s, int which, const char *opts)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	/* the defaults but for the remote operations the responder takes
	 * (none by default, as with verbs) */
	struct sl_rdma_qp_attr attr = {
		.sz = sizeof(attr),
		.access = SL_RDMA_ACCESS_REMOTE_WRITE |
			  SL_RDMA_ACCESS_REMOTE_READ |
			  SL_RDMA_ACCESS_REMOTE_ATOMIC,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.min_rnr_timer = 1,
		.max_rd_atomic = 16,
		.max_dest_rd_atomic = 16,
	};
	char spec[256];

	if (use_xdp)
		snprintf(spec, sizeof(spec), "xdp:%s,match=udp:%d%s",
			 bed.end[which].ifname, SL_RDMA_UDP_PORT, opts);
	else if (use_auto)
		snprintf(spec, sizeof(spec), "auto:%s,risk=low,match=udp:%d%s",
			 bed.end[which].ifname, SL_RDMA_UDP_PORT, opts);
	else
		snprintf(spec, sizeof(spec), "udp:%s:%d%s",
			 bed.end[which].ip4_str, SL_RDMA_UDP_PORT, opts);
	assert_int_equal(tb_enter(&bed, which), 0);
	s->port = sl_port_open(spec, &o);
	assert_int_equal(tb_enter(&bed, TB_HOME), 0);
	if (!s->port)
		fail_msg("%s: %s", spec, sl_last_error());
	s->pd = sl_rdma_pd_create();
	s->cq = sl_rdma_cq_create(256);
	assert_true(s->pd && s->cq);
	s->qp = sl_rdma_qp_create(s->pd, s->port, 0, s->cq, s->cq, &attr);
	if (!s->qp)
		fail_msg("qp_create: %s", sl_last_error());
}

static void side_connect(struct side *s, int which, const struct side *peer,
			 uint32_t sq_psn, uint32_t rq_psn)
{
	struct sl_rdma_qp_conn c = { .sz = sizeof(c) };

	/* local family 0: the udp: port's own address; an xdp port writes
	 * every header itself, so it is told addresses and MACs */
	if (use_xdp) {
		c.local.family = AF_INET;
		c.local.v4 = bed.end[which].ip4;
		memcpy(c.local_mac, bed.end[which].mac, 6);
		memcpy(c.remote_mac, bed.end[!which].mac, 6);
	}
	c.remote.family = AF_INET;
	c.remote.v4 = bed.end[!which].ip4;
	c.remote_qpn = sl_rdma_qp_num(peer->qp);
	c.sq_psn = sq_psn;
	c.rq_psn = rq_psn;
	c.mtu = 3; /* 1024: veth MTU 1500 */
	if (sl_rdma_qp_connect(s->qp, &c))
		fail_msg("qp_connect: %s", sl_last_error());
}

static void side_close(struct side *s)
{
	assert_int_equal(sl_rdma_qp_destroy(s->qp), 0);
	assert_int_equal(sl_rdma_cq_destroy(s->cq), 0);
	assert_int_equal(sl_rdma_pd_destroy(s->pd), 0);
	assert_int_equal(sl_port_close(s->port), 0);
}

/* Progress both sides until `who` has a completion (5 s at most). */
static void wait_wc(struct side *sd, int who, struct sl_rdma_wc *wc)
{
	uint64_t end = sl_time_ns() + 5000000000ull;

	while (sl_rdma_poll_cq(sd[who].cq, 1, wc) == 0) {
		if (sl_time_ns() > end)
			fail_msg("no completion on side %c within 5 s",
				 "AB"[who]);
		sl_rdma_progress(sd[0].qp);
		sl_rdma_progress(sd[1].qp);
	}
	if (wc->status != SL_RDMA_WC_SUCCESS)
		fail_msg("side %c wr %llu: %s", "AB"[who],
			 (unsigned long long)wc -> wr_id,
			 sl_rdma_wc_status_str(wc->status));
}

#define MAX_FRAMES 4096

struct seen {
	unsigned n;
	uint8_t op[MAX_FRAMES];
	uint32_t psn[MAX_FRAMES];
	unsigned by_op[32];
};

/* Read the capture back through a pcap: port and check every frame. */
static void read_capture(const char *file, struct seen *sn)
{
	struct sl_port_opts o = { .sz = sizeof(o), .pool = pool };
	char spec[300];
	struct sl_port *p;
	struct sl_pkt *pk[32];
	uint16_t n;
	uint64_t end = sl_time_ns() + 5000000000ull;

	memset(sn, 0, sizeof(*sn));
	snprintf(spec, sizeof(spec), "pcap:%s", file);
	p = sl_port_open(spec, &o);
	if (!p)
		fail_msg("%s: %s", spec, sl_last_error());
	for (;;) {
		struct sl_port_info info = { .sz = sizeof(info) };

		n = sl_rx_burst(p, 0, pk, 32);
		for (uint16_t i = 0; i < n; i++) {
			struct sl_frame f;
			const uint8_t *b, *u;

			assert_int_equal(
				sl_frame_parse(pk[i]->data, pk[i]->len, &f), 0);
			assert_int_equal(f.l4_proto, SL_IPPROTO_UDP);
			b = pk[i]->data + f.payload_off;
			/* every frame is RoCEv2 with a correct ICRC */
			u = pk[i]->data + f.l4_off;
			assert_int_equal(u[2] << 8 | u[3], SL_RDMA_UDP_PORT);
			assert_true(f.payload_len >= 16);
			/* udp: the kernel wrote the IP header, so the ICRC
			 * is over the canonical one (ID 0, DF); xdp: exact */
			if (sl_rdma_icrc_check(pk[i]->data, pk[i]->len,
					       !use_xdp))
				fail_msg("frame %u (opcode 0x%02x): bad ICRC",
					 sn->n + 1, b[0]);
			assert_true(sn->n < MAX_FRAMES);
			assert_true(b[0] < 32); /* RC */
			sn->op[sn->n] = b[0];
			sn->psn[sn->n] = (uint32_t)b[9] << 16 |
					 (uint32_t)b[10] << 8 | b[11];
			sn->by_op[b[0]]++;
			sn->n++;
		}
		sl_pkt_free_bulk(pk, n);
		if (n == 0) {
			assert_int_equal(sl_port_info(p, &info), 0);
			if (info.state == SL_PORT_EOF)
				break;
			assert_true(sl_time_ns() < end);
		}
	}
	assert_int_equal(sl_port_close(p), 0);
}

/* tshark's view: protocol, opcode and PSN of every frame, none malformed */
static void check_tshark(const char *file, const struct seen *sn)
{
	char cmd[512], line[256];
	FILE *f;
	unsigned i = 0;

	if (system("command -v tshark >/dev/null 2>&1") != 0)
		sl_test_skip("tshark is not installed (apt-get install "
			     "tshark)");
	snprintf(cmd, sizeof(cmd),
		 "tshark -r '%s' --disable-protocol rpcordma -T fields "
		 "-E occurrence=f -e _ws.col.Protocol -e infiniband.bth.opcode "
		 "-e infiniband.bth.psn -e _ws.malformed 2>/dev/null",
		 file);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char proto[32] = "", mal[64] = "";
		unsigned op, psn;
		int k = sscanf(line, "%31[^\t]\t%u\t%u\t%63[^\n]", proto, &op,
			       &psn, mal);

		if (k < 3)
			fail_msg("tshark frame %u: '%s'", i + 1, line);
		assert_true(i < sn->n);
		if (strcmp(proto, "RRoCE") || k == 4 || op != sn->op[i] ||
		    psn != sn->psn[i])
			fail_msg("tshark frame %u: '%s' (we read opcode %u "
				 "PSN %u)",
				 i + 1, line, sn->op[i], sn->psn[i]);
		i++;
	}
	assert_int_equal(pclose(f), 0);
	assert_int_equal(i, sn->n);
}

static void transfer(void)
{
	struct side sd[2];
	char cap[256], opts[300];
	size_t n = 200000;
	uint8_t *src, *rd, *tgt, *rbuf;
	uint64_t *ctr, old = 0;
	struct sl_rdma_mr *msrc, *mrd, *mold, *mtgt, *mrbuf, *mctr;
	struct sl_rdma_send_wr wr;
	struct sl_rdma_wc wc;
	struct sl_rdma_sge sge;
	struct seen *sn;
	const char *keep = getenv("SL_RDMA_CAPTURE");

	itest_bed_up(&bed, NULL);
	/* SL_RDMA_CAPTURE=FILE keeps the capture there to look at */
	if (keep)
		snprintf(cap, sizeof(cap), "%s", keep);
	else
		sl_test_tmpfile("rdma-b.pcap", cap, sizeof(cap));
	snprintf(opts, sizeof(opts), ",capture=%s", cap);
	side_open(&sd[0], TB_A, "");
	side_open(&sd[1], TB_B, opts);
	/* A starts just before the PSN wrap */
	side_connect(&sd[0], TB_A, &sd[1], 0xffffe0, 700);
	side_connect(&sd[1], TB_B, &sd[0], 700, 0xffffe0);

	src = malloc(n);
	rd = calloc(1, n);
	tgt = calloc(1, n);
	rbuf = calloc(1, 8192);
	ctr = aligned_alloc(8, 64);
	assert_true(src && rd && tgt && rbuf && ctr);
	memset(ctr, 0, 64);
	for (size_t i = 0; i < n; i++)
		src[i] = (uint8_t)(i * 31 + 7);
	msrc = sl_rdma_reg_mr(sd[0].pd, src, n, 0);
	mrd = sl_rdma_reg_mr(sd[0].pd, rd, n, SL_RDMA_ACCESS_LOCAL_WRITE);
	mold = sl_rdma_reg_mr(sd[0].pd, &old, 8, SL_RDMA_ACCESS_LOCAL_WRITE);
	mtgt = sl_rdma_reg_mr(sd[1].pd, tgt, n,
			      SL_RDMA_ACCESS_LOCAL_WRITE |
				      SL_RDMA_ACCESS_REMOTE_WRITE |
				      SL_RDMA_ACCESS_REMOTE_READ);
	mrbuf = sl_rdma_reg_mr(sd[1].pd, rbuf, 8192,
			       SL_RDMA_ACCESS_LOCAL_WRITE);
	mctr = sl_rdma_reg_mr(sd[1].pd, ctr, 64,
			      SL_RDMA_ACCESS_LOCAL_WRITE |
				      SL_RDMA_ACCESS_REMOTE_ATOMIC);
	assert_true(msrc && mrd && mold && mtgt && mrbuf && mctr);

	/* WRITE 100000 bytes: 98 packets */
	wr = (struct sl_rdma_send_wr){
		.wr_id = 1,
		.opcode = SL_RDMA_WR_RDMA_WRITE,
		.sge = { (uintptr_t)src, 100000, sl_rdma_mr_lkey(msrc) },
		.rkey = sl_rdma_mr_rkey(mtgt),
		.remote_addr = (uintptr_t)tgt + 8,
	};
	assert_int_equal(sl_rdma_post_send(sd[0].qp, &wr), 0);
	wait_wc(sd, 0, &wc);
	assert_memory_equal(tgt + 8, src, 100000);

	/* READ 60000 bytes back */
	wr = (struct sl_rdma_send_wr){
		.wr_id = 2,
		.opcode = SL_RDMA_WR_RDMA_READ,
		.sge = { (uintptr_t)rd, 60000, sl_rdma_mr_lkey(mrd) },
		.rkey = sl_rdma_mr_rkey(mtgt),
		.remote_addr = (uintptr_t)tgt + 1000,
	};
	assert_int_equal(sl_rdma_post_send(sd[0].qp, &wr), 0);
	wait_wc(sd, 0, &wc);
	assert_int_equal(wc.opcode, SL_RDMA_WC_RDMA_READ);
	assert_memory_equal(rd, src + 992, 60000);

	/* SEND with immediate, 3000 bytes, and WRITE with immediate */
	sge = (struct sl_rdma_sge){ (uintptr_t)rbuf, 8192,
				    sl_rdma_mr_lkey(mrbuf) };
	assert_int_equal(sl_rdma_post_recv(sd[1].qp, 10, &sge), 0);
	assert_int_equal(sl_rdma_post_recv(sd[1].qp, 11, &sge), 0);
	wr = (struct sl_rdma_send_wr){
		.wr_id = 3,
		.opcode = SL_RDMA_WR_SEND_WITH_IMM,
		.sge = { (uintptr_t)src + 5, 3000, sl_rdma_mr_lkey(msrc) },
		.imm = 0xdeadbeef,
	};
	assert_int_equal(sl_rdma_post_send(sd[0].qp, &wr), 0);
	wait_wc(sd, 1, &wc);
	assert_int_equal(wc.wr_id, 10);
	assert_int_equal(wc.byte_len, 3000);
	assert_int_equal(wc.imm, 0xdeadbeef);
	assert_memory_equal(rbuf, src + 5, 3000);
	wait_wc(sd, 0, &wc);
	wr = (struct sl_rdma_send_wr){
		.wr_id = 4,
		.opcode = SL_RDMA_WR_RDMA_WRITE_WITH_IMM,
		.sge = { (uintptr_t)src, 17, sl_rdma_mr_lkey(msrc) },
		.imm = 7,
		.rkey = sl_rdma_mr_rkey(mtgt),
		.remote_addr = (uintptr_t)tgt + 150000,
	};
	assert_int_equal(sl_rdma_post_send(sd[0].qp, &wr), 0);
	wait_wc(sd, 1, &wc);
	assert_int_equal(wc.opcode, SL_RDMA_WC_RECV_RDMA_WITH_IMM);
	assert_memory_equal(tgt + 150000, src, 17);
	wait_wc(sd, 0, &wc);

	/* both atomics */
	ctr[2] = 100;
	wr = (struct sl_rdma_send_wr){
		.wr_id = 5,
		.opcode = SL_RDMA_WR_ATOMIC_FETCH_AND_ADD,
		.sge = { (uintptr_t)&old, 8, sl_rdma_mr_lkey(mold) },
		.rkey = sl_rdma_mr_rkey(mctr),
		.remote_addr = (uintptr_t)&ctr[2],
		.compare_add = 5,
	};
	assert_int_equal(sl_rdma_post_send(sd[0].qp, &wr), 0);
	wait_wc(sd, 0, &wc);
	assert_int_equal(old, 100);
	wr.wr_id = 6;
	wr.opcode = SL_RDMA_WR_ATOMIC_CMP_AND_SWP;
	wr.compare_add = 105;
	wr.swap = 1;
	assert_int_equal(sl_rdma_post_send(sd[0].qp, &wr), 0);
	wait_wc(sd, 0, &wc);
	assert_int_equal(old, 105);
	assert_int_equal(ctr[2], 1);

	sl_rdma_dereg_mr(msrc);
	sl_rdma_dereg_mr(mrd);
	sl_rdma_dereg_mr(mold);
	sl_rdma_dereg_mr(mtgt);
	sl_rdma_dereg_mr(mrbuf);
	sl_rdma_dereg_mr(mctr);
	side_close(&sd[0]);
	side_close(&sd[1]); /* writes the capture out */

	sn = calloc(1, sizeof(*sn));
	assert_non_null(sn);
	read_capture(cap, sn);
	printf("# %u frames captured\n", sn->n);
	assert_true(sn->by_op[0x06] >= 1 && sn->by_op[0x07] >= 96 &&
		    sn->by_op[0x08] >= 1); /* WRITE First, Middle, Last */
	assert_true(sn->by_op[0x0c] >= 1); /* READ request */
	assert_true(sn->by_op[0x0d] >= 1 && sn->by_op[0x0e] >= 57 &&
		    sn->by_op[0x0f] >= 1); /* READ responses */
	assert_true(sn->by_op[0x00] >= 1 && sn->by_op[0x01] >= 1 &&
		    sn->by_op[0x03] >= 1); /* SEND First/Middle/Last-Imm */
	assert_true(sn->by_op[0x0b] >= 1); /* WRITE Only with Immediate */
	assert_true(sn->by_op[0x11] >= 1); /* ACK */
	assert_true(sn->by_op[0x13] >= 1 && sn->by_op[0x14] >= 1 &&
		    sn->by_op[0x12] >= 2); /* atomics and their ACKs */
	check_tshark(cap, sn);
	if (!keep)
		unlink(cap);
	free(sn);
	free(src);
	free(rd);
	free(tgt);
	free(rbuf);
	free(ctr);
}

static void test_udp_transfer(void **state)
{
	(void)state;
	use_xdp = use_auto = false;
	transfer();
}

static void test_xdp_transfer(void **state)
{
	(void)state;
	use_auto = false;
	use_xdp = true;
	transfer();
}

static void test_auto_udp_transfer(void **state)
{
	(void)state;
	use_xdp = false;
	use_auto = true;
	transfer();
	use_auto = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_transfer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xdp_transfer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_auto_udp_transfer, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
