// SPDX-License-Identifier: MIT
/*
 * sluice bench without a test bed (not root, or one CPU): the two rows
 * one process can measure, a `pair` link and the udp port on loopback,
 * fed by a port sender thread on CPU 0 while bed.c's receiver takes them
 * on CPU 1: receive, forwarding and round trips, as on the bed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

/* ---- without a test bed: pair and udp on loopback ----------------------- */

struct local_tx {
	pthread_t thread;
	struct sl_port *port;
	const uint8_t *frame;
	uint32_t len;
	int mode; /* M_RX: send only; M_FWD: send and count returns;
		   * M_ECHO: ping-pong */
	double seconds;
	unsigned pings, warm;
	/* out */
	uint64_t sent, back;
	struct cli_hist *h;
	uint64_t lost;
	_Atomic uint64_t back_now;
};

static void *local_tx_main(void *arg)
{
	struct local_tx *t = arg;
	struct sl_pool *pool = sl_port_pool(t->port);
	struct sl_pkt *pkts[BURST], *in[BURST];
	uint64_t end = sl_time_ns() + (uint64_t)(t->seconds * 1e9);

	rxc_pin_self(SENDER_CPU);
	if (t->mode == M_ECHO) {
		for (unsigned i = 0; i < t->warm + t->pings && !cli_stop; i++) {
			uint64_t t0 = sl_time_ns(), t1;
			struct sl_pkt *p = sl_pkt_alloc(pool);
			bool done = false;

			if (!p)
				break;
			sl_pkt_set(p, t->frame, t->len);
			cli_put_be64(p->data + t->len - 8, i);
			if (!sl_tx_burst(t->port, 0, &p, 1)) {
				sl_pkt_free(p);
				t->lost += i >= t->warm;
				continue;
			}
			while (!done) {
				uint16_t n = sl_rx_burst(t->port, 0, in, 1);

				t1 = sl_time_ns();
				if (n) {
					done = cli_get_be64(in[0]->data +
							    in[0]->len - 8) ==
					       i;
					sl_pkt_free(in[0]);
					if (done && i >= t->warm)
						cli_hist_record(t->h, t1 - t0);
				}
				if (!done && t1 - t0 > PING_TIMEOUT_NS) {
					t->lost += i >= t->warm;
					break;
				}
			}
		}
		return NULL;
	}
	while (!cli_stop && sl_time_ns() < end) {
		int n = sl_pkt_alloc_bulk(pool, pkts, 32);
		uint16_t took;

		if (n == 0) {
			for (int i = 0; i < 32; i++) {
				sl_pkt_set(pkts[i], t->frame, t->len);
			}
			took = sl_tx_burst(t->port, 0, pkts, 32);
			if (took < 32)
				sl_pkt_free_bulk(pkts + took, 32u - took);
			t->sent += took;
		}
		if (t->mode == M_FWD) {
			uint16_t got = sl_rx_burst(t->port, 0, in, BURST);

			sl_pkt_free_bulk(in, got);
			t->back += got;
			atomic_store_explicit(&t->back_now, t->back,
					      memory_order_relaxed);
		}
	}
	return NULL;
}

void bench_run_local(struct bench *b, struct row *row, unsigned idx)
{
	struct sl_port_opts po = { .sz = sizeof(po), .n_bufs = 8192 };
	struct sl_udp_params up = { 0 };
	char spec_a[96], spec_b[96];
	struct sl_port *pa, *pb;
	struct local_tx t = { 0 };
	struct rx_round rr = { 0 };
	struct rx r = { 0 };
	uint64_t c0, c1, u0, u1;
	double t0, t1, dur = b->cfg.warmup + b->cfg.duration;
	uint8_t fr[FRAME_LEN];
	int len;

	if (!strcmp(row->drv, "pair")) {
		snprintf(spec_a, sizeof(spec_a), "pair:slbench%d/0",
			 (int)getpid());
		snprintf(spec_b, sizeof(spec_b), "pair:slbench%d/1",
			 (int)getpid());
		snprintf(row->mode, sizeof(row->mode), "in-process");
	} else {
		/* ports derived from the pid, so parallel runs do not meet */
		unsigned port = 20000 + (unsigned)getpid() % 20000 + idx * 2;

		snprintf(spec_a, sizeof(spec_a), "udp:127.0.0.1:%u", port + 1);
		snprintf(spec_b, sizeof(spec_b), "udp:127.0.0.1:%u", port);
		snprintf(row->mode, sizeof(row->mode), "socket, loopback");
		up.src.port = (uint16_t)(port + 1);
		up.dst.port = (uint16_t)port;
	}
	up.src.family = up.dst.family = AF_INET;
	up.src.v4.s_addr = up.dst.v4.s_addr = htonl(INADDR_LOOPBACK);
	if (!up.src.port)
		up.src.port = SRC_PORT, up.dst.port = DST_PORT;
	len = sl_udp_build(fr, sizeof(fr), &up, NULL,
			   FRAME_LEN - sl_udp_hdr_len(&up));
	pa = sl_port_open(spec_a, &po);
	pb = pa ? sl_port_open(spec_b, &po) : NULL;
	if (!pa || !pb || len != FRAME_LEN) {
		snprintf(row->skipped, sizeof(row->skipped), "%s",
			 sl_last_error());
		if (pa)
			sl_port_close(pa);
		return;
	}
	t.h = cli_hist_new();
	if (!t.h || bench_rx_start(&r, pb, RX_IDLE_NS)) {
		snprintf(row->skipped, sizeof(row->skipped), "out of memory");
		goto out;
	}
	t.port = pa;
	t.frame = fr;
	t.len = FRAME_LEN;
	for (int mode = M_RX; mode <= M_ECHO && !cli_stop; mode++) {
		t.mode = mode;
		t.seconds = dur + 0.1;
		t.sent = t.back = 0;
		t.pings = b->cfg.pings;
		t.warm = b->cfg.pings / 20 + 10;
		atomic_store(&t.back_now, 0);
		atomic_store(&r.mode, mode);
		t0 = bench_now_s();
		if (pthread_create(&t.thread, NULL, local_tx_main, &t))
			break;
		if (mode == M_ECHO) {
			pthread_join(t.thread, NULL);
			bench_keep_rtt(row, t.h, t.lost);
			break;
		}
		bench_sleep_s(b->cfg.warmup);
		c0 = mode == M_RX ? atomic_load(&r.count) :
				    atomic_load(&t.back_now);
		u0 = bench_rx_cpu_ns(&r);
		t0 = bench_now_s();
		bench_sleep_s(b->cfg.duration);
		c1 = mode == M_RX ? atomic_load(&r.count) :
				    atomic_load(&t.back_now);
		u1 = bench_rx_cpu_ns(&r);
		t1 = bench_now_s();
		pthread_join(t.thread, NULL);
		/* one process, no live sender: full speed is the only load */
		rr.pts[0] = (struct point){
			.offered = (double)t.sent / dur / 1e6,
			.got = (double)(c1 - c0) / (t1 - t0) / 1e6,
		};
		rr.n = 1;
		rr.best = rr.pts[0];
		if (mode == M_RX) {
			rr.cpu_ns = c1 > c0 ? (double)(u1 - u0) /
						      (double)(c1 - c0) :
					      0;
			bench_keep_rx(row, &rr);
			row->ran = true;
		} else {
			bench_keep_fwd(row, &rr.best, &rr.pts[0]);
		}
	}
	if (!strcmp(row->drv, "udp"))
		snprintf(row->note, sizeof(row->note),
			 "loopback: the kernel's receive work runs on the "
			 "sender's CPU, not counted");
out:
	bench_rx_stop(&r);
	cli_hist_free(t.h);
	sl_port_close(pa);
	sl_port_close(pb);
}
