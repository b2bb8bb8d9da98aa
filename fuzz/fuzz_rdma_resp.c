// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the RDMA responder: arbitrary packets handed to a
 * connected RC queue pair must never crash, hang, or touch memory outside
 * the registered regions, nor write a region without the right to.
 *
 * Each input gets a fresh QP (so a crash reproduces from its input alone),
 * connected to a made-up peer, ICRC verification skipped through the test
 * hook so the fuzzer gets past it, and two receives posted. The regions
 * live at a fixed address (so the corpus can name their VAs), each between
 * PROT_NONE guard pages, and one of them is the tail of a page whose head
 * is a canary checked after every input:
 *
 *   0x5e0000001000  R1, 4096 B, remote write/read/atomic, rkey 0x101
 *   0x5e0000003000  R2, 4096 B, remote read only (must never change), 0x201
 *   0x5e0000005c18  R3, 1000 B at the end of its page, all rights, 0x301
 *   0x5e0000007000  receive buffers, 2 x 2048 B, lkey 0x401
 *   R4: R1's page again, registered in another PD (wrong PD), 0x501
 *
 * Input: a flags byte, then records of a 16-bit big-endian length and that
 * many bytes, one packet each (up to 32). Flags bit 0: the records are
 * whole Ethernet frames, as they are; otherwise each record is the RoCE
 * part (BTH up to the ICRC) and gets Ethernet/IPv4/UDP headers from the
 * peer. Either way DestQP is set to the QP's number (where an untagged
 * IPv4 frame has it) unless bit 1 is set. The
 * responder's ePSN starts at 100; the path MTU is 1024.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sluice/mem.h>
#include <sluice/port.h>
#include <sluice/rdma.h>

#include "rdma/rdma_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PG 4096
#define BASE ((uintptr_t)0x5e0000000000ull)
#define R3_LEN 1000
#define MAX_PKTS 32
#define HDRS (14 + 20 + 8)

static struct sl_pool *pool;
static struct sl_port *port, *peer;
static struct sl_rdma_pd *pd, *pd2;
static struct sl_rdma_cq *cq;
static uint8_t *area; /* 9 pages: guard, R1, guard, R2, guard, R3, ... */
static uint8_t *r1, *r2, *r3page, *rqbuf;
static uint32_t rq_lkey;
static uint64_t r2_sum;
static struct sl_rdma_mr *m[5];
static bool verbose; /* SL_FUZZ_VERBOSE set: a line of counters per input */

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_rdma_resp: %s\n", what);
		abort();
	}
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void setup(void)
{
	struct sl_pool_opts po = { .sz = sizeof(po),
				   .n_bufs = 4096,
				   .buf_size = 2048,
				   .huge = SL_HUGE_NEVER,
				   .name = "fuzz-rdma" };
	struct sl_port_opts pto = { .sz = sizeof(pto) };

	/* a fixed address lets the corpus name VAs; anywhere else still
	 * fuzzes, only less deep */
	area = mmap((void *)BASE, 9 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (area == MAP_FAILED)
		area = mmap(NULL, 9 * PG, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(area != MAP_FAILED, "mmap");
	for (int i = 0; i < 9; i += 2)
		check(mprotect(area + i * PG, PG, PROT_NONE) == 0, "mprotect");
	r1 = area + 1 * PG;
	r2 = area + 3 * PG;
	r3page = area + 5 * PG;
	rqbuf = area + 7 * PG;
	for (int i = 0; i < PG; i++) {
		r1[i] = (uint8_t)i;
		r2[i] = (uint8_t)(i * 7 + 3);
		r3page[i] = 0xa5;
	}
	r2_sum = fnv(r2, PG);
	verbose = getenv("SL_FUZZ_VERBOSE") != NULL;

	pool = sl_pool_create(&po);
	check(pool != NULL, "pool");
	pto.pool = pool;
	port = sl_port_open("pair:fuzzrdma/0", &pto);
	peer = sl_port_open("pair:fuzzrdma/1", &pto);
	check(port && peer, "ports");
	pd = sl_rdma_pd_create();
	pd2 = sl_rdma_pd_create();
	cq = sl_rdma_cq_create(256);
	check(pd && pd2 && cq, "pd/cq");
	/* the keys are deterministic in a fresh process: 0x101, 0x201, ... */
	m[0] = sl_rdma_reg_mr(pd, r1, PG, 15);
	m[1] = sl_rdma_reg_mr(pd, r2, PG, SL_RDMA_ACCESS_REMOTE_READ);
	m[2] = sl_rdma_reg_mr(pd, r3page + PG - R3_LEN, R3_LEN, 15);
	m[3] = sl_rdma_reg_mr(pd, rqbuf, PG, SL_RDMA_ACCESS_LOCAL_WRITE);
	m[4] = sl_rdma_reg_mr(pd2, r1, PG, 15);
	for (int i = 0; i < 5; i++)
		check(m[i] != NULL, "reg_mr");
	rq_lkey = sl_rdma_mr_lkey(m[3]);
}

static size_t ip_csum_fix(uint8_t *ip)
{
	uint32_t s = 0;

	ip[10] = ip[11] = 0;
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = ~s & 0xffff;
	ip[10] = (uint8_t)(s >> 8);
	ip[11] = (uint8_t)s;
	return 20;
}

/* Wrap one RoCE packet (BTH .. ICRC) into the frame the peer would send. */
static size_t wrap(uint8_t *f, const uint8_t *roce, size_t len, uint32_t qpn,
		   bool set_qpn)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 1, 2,
					 0, 0, 0, 0, 2, 8, 0 };
	uint8_t *ip = f + 14, *udp = ip + 20;
	size_t ulen = 8 + len;

	memcpy(f, eth, 14);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + ulen) >> 8);
	ip[3] = (uint8_t)(20 + ulen);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (const uint8_t[]){ 10, 0, 0, 2, 10, 0, 0, 1 }, 8);
	ip_csum_fix(ip);
	udp[0] = 0xc0;
	udp[1] = 0x00;
	udp[2] = 4791 >> 8;
	udp[3] = 4791 & 0xff;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	udp[6] = udp[7] = 0;
	memcpy(udp + 8, roce, len);
	if (set_qpn && len >= 8) {
		udp[8 + 5] = (uint8_t)(qpn >> 16);
		udp[8 + 6] = (uint8_t)(qpn >> 8);
		udp[8 + 7] = (uint8_t)qpn;
	}
	return HDRS + len;
}

/* Take what the responder sent, so the link never fills. */
static void drain_peer(void)
{
	struct sl_pkt *pk[64];
	uint16_t n;

	while ((n = sl_rx_burst(peer, 0, pk, 64)) > 0)
		sl_pkt_free_bulk(pk, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sl_rdma_qp_attr attr = {
		.sz = sizeof(struct sl_rdma_qp_attr),
		.access = SL_RDMA_ACCESS_REMOTE_WRITE |
			  SL_RDMA_ACCESS_REMOTE_READ |
			  SL_RDMA_ACCESS_REMOTE_ATOMIC,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.min_rnr_timer = 1,
		.max_rd_atomic = 4,
		.max_dest_rd_atomic = 4,
		.max_send_wr = 16,
		.max_recv_wr = 16,
	};
	static uint8_t frame[HDRS + 65536];
	struct sl_rdma_qp_conn c = { .sz = sizeof(c) };
	struct sl_rdma_qp *qp;
	struct sl_rdma_wc wc[16];
	uint8_t flags;
	size_t off = 1;

	if (!pool)
		setup();
	if (size < 1)
		return 0;
	flags = data[0];
	qp = sl_rdma_qp_create(pd, port, 0, cq, cq, &attr);
	check(qp != NULL, "qp_create");
	c.local.family = AF_INET;
	c.local.v4.s_addr = htonl(0x0a000001);
	c.remote.family = AF_INET;
	c.remote.v4.s_addr = htonl(0x0a000002);
	c.remote_qpn = 0x77;
	c.sq_psn = 5000;
	c.rq_psn = 100;
	c.mtu = 3;
	check(sl_rdma_qp_connect(qp, &c) == 0, "connect");
	rdma_skip_icrc(qp, true);
	for (int i = 0; i < 2; i++) {
		struct sl_rdma_sge sge = { (uintptr_t)(rqbuf + i * 2048), 2048,
					   rq_lkey };

		check(sl_rdma_post_recv(qp, (uint64_t)i, &sge) == 0, "recv");
	}

	for (int n = 0; n < MAX_PKTS && size - off >= 2; n++) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		size_t flen;
		uint8_t *f;

		off += 2;
		if (len > size - off)
			len = size - off;
		/* an exactly sized heap copy: ASan sees a one-byte overread */
		if (flags & 1) {
			flen = len;
			f = malloc(flen ? flen : 1);
			check(f != NULL, "malloc");
			memcpy(f, data + off, len);
			/* QP numbers change from input to input: set DestQP
			 * where an untagged IPv4 frame has it */
			if (!(flags & 2) && flen >= HDRS + 8) {
				uint32_t qpn = sl_rdma_qp_num(qp);

				f[HDRS + 5] = (uint8_t)(qpn >> 16);
				f[HDRS + 6] = (uint8_t)(qpn >> 8);
				f[HDRS + 7] = (uint8_t)qpn;
			}
		} else {
			flen = wrap(frame, data + off, len, sl_rdma_qp_num(qp),
				    !(flags & 2));
			f = malloc(flen);
			check(f != NULL, "malloc");
			memcpy(f, frame, flen);
		}
		rdma_input_frame(qp, f, flen);
		free(f);
		off += len;
		/* READ responses read memory when they are sent */
		sl_rdma_progress(qp);
		drain_peer();
	}
	for (int i = 0; i < 4; i++) {
		sl_rdma_progress(qp);
		drain_peer();
	}
	while (sl_rdma_poll_cq(cq, 16, wc) > 0)
		;
	if (verbose) { /* to see what a corpus file reaches */
		struct sl_rdma_qp_stats st;

		sl_rdma_qp_stats(qp, &st);
		fprintf(stderr,
			"state %d epsn %u msn %u rx %llu tx %llu acks %llu "
			"seq-naks %llu rnr-naks %llu err-naks %llu dups %llu\n",
			sl_rdma_qp_state(qp), rdma_qp_epsn(qp), rdma_qp_msn(qp),
			(unsigned long long)st.rx_pkts,
			(unsigned long long)st.tx_pkts,
			(unsigned long long)st.acks_sent,
			(unsigned long long)st.seq_naks_sent,
			(unsigned long long)st.rnr_naks_sent,
			(unsigned long long)st.err_naks_sent,
			(unsigned long long)st.dup_reqs);
	}
	check(sl_rdma_qp_destroy(qp) == 0, "qp_destroy");
	while (sl_rdma_poll_cq(cq, 16, wc) > 0)
		;
	drain_peer();

	/* a SEND with Invalidate may have named one: undo it, so the next
	 * input starts from the same state */
	for (int i = 0; i < 5; i++)
		rdma_mr_revalidate(m[i]);

	/* nothing outside a region, nothing without the right */
	for (int i = 0; i < PG - R3_LEN; i++)
		check(r3page[i] == 0xa5, "canary before R3 overwritten");
	check(fnv(r2, PG) == r2_sum, "read-only region R2 written");
	/* every packet buffer is back in the pool */
	sl_pool_cache_flush(pool);
	check(sl_pool_avail(pool) == sl_pool_capacity(pool),
	      "packet buffers leaked");
	return 0;
}
