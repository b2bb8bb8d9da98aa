// SPDX-License-Identifier: MIT
/*
 * sluice bench: round trips on the veth test bed. A port in A of the row's
 * kind (udp, packet on A's veth, xdp in the same mode; see pinger_main)
 * pings one 64-byte UDP frame at a time, so that both ends take the path
 * under test; B echoes with a spinning loop on CPU 1 (bed.c's receiver in
 * echo mode), B's NAPI unthreaded so that it runs inside the pinger's
 * transmit, A's likewise inside the echo's (see bench_run_rtt and
 * pinger_open); round trips go into a log-linear histogram (tools/hist.c).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "bench.h"

/* ---- round trips: a port of the row's kind in A pinging B --------------- */

/*
 * The pinger is a sluice port in A of the same kind as the row's (udp:
 * a udp port, packet: a packet port, xdp: an xdp port in the same mode,
 * busy-poll twins likewise; testpmd's AF_XDP and AF_PACKET rows an xdp and
 * a packet port), so that both ends of a round trip take the path under
 * test. It sends one UDP frame at a time (sl_udp_send_to: full checksums,
 * the bed's MACs and addresses), polls the same port for the echo and
 * counts a ping without an answer within PING_TIMEOUT_NS as lost.
 */
struct pinger {
	struct bench *b;
	pthread_t thread;
	const struct row *row;
	unsigned count, warm;
	struct cli_hist *h;
	uint64_t lost;
	int err;
	char msg[160]; /* why the port in A did not open */
	char note[120]; /* what the port in A refused */
};

static struct sl_port *pinger_open(struct bench *b, struct pinger *p)
{
	struct sl_port_opts po = { .sz = sizeof(po), .n_bufs = 4096 };
	struct sl_port *port;
	char spec[160];

	bench_row_spec(b, p->row, TB_A, true, spec, sizeof(spec));
	for (int ms = 0;; ms += 50) { /* see open_b_port */
		port = sl_port_open(spec, &po);
		if (port || errno != EBUSY || ms >= 2000)
			break;
		bench_sleep_s(0.05);
	}
	if (!port) {
		snprintf(p->msg, sizeof(p->msg), "port in A: %.140s",
			 *sl_last_error() ? sl_last_error() : strerror(errno));
		return NULL;
	}
	/*
	 * A's NAPI (veth has one while an XDP program is attached) is made
	 * unthreaded: then veth runs it in softirq on the CPU that sends to
	 * A, i.e. inside the echo's transmit on CPU 1, with no thread to
	 * wake. Measured (xdp-copy p50/p99/p99.9 us, 100k pings): unthreaded
	 * 4.6/6.2/42, kthread on CPU 1 5.4/19/107, kthread on CPU 0 (with
	 * the pinger and B's NAPI) 33/65/96. run_fwd threads it again.
	 */
	if (!strncmp(spec, "xdp:", 4))
		bench_set_threaded(b, TB_A, b->ifa, false);
	bench_note_refusal(port, "A: ", p->note, sizeof(p->note));
	return port;
}

static void *pinger_main(void *arg)
{
	struct pinger *p = arg;
	struct bench *b = p->b;
	struct sl_udp_params hp = { 0 };
	struct sl_pkt *in[8];
	struct sl_port *port;
	uint8_t buf[FRAME_LEN];
	uint64_t deadline;
	size_t plen;

	p->err = tb_enter(&b->tb, TB_A);
	if (p->err)
		return NULL;
	rxc_pin_self(SENDER_CPU);
	port = pinger_open(b, p);
	if (!port) {
		p->err = -EIO;
		return NULL;
	}
	hp.src.family = hp.dst.family = AF_INET;
	hp.src.v4 = b->tb.end[TB_A].ip4;
	hp.dst.v4 = b->tb.end[TB_B].ip4;
	hp.src.port = SRC_PORT;
	hp.dst.port = DST_PORT;
	memcpy(hp.src_mac, b->tb.end[TB_A].mac, SL_ETH_ALEN);
	memcpy(hp.dst_mac, b->tb.end[TB_B].mac, SL_ETH_ALEN);
	plen = FRAME_LEN - sl_udp_hdr_len(&hp); /* a 64-byte frame */
	memset(buf, 0, sizeof(buf));
	deadline = sl_time_ns() + (uint64_t)(b->cfg.rtt_max_s * 1e9);
	for (unsigned i = 0, miss = 0;
	     i < p->warm + p->count && !cli_stop && miss < PING_GIVE_UP &&
	     sl_time_ns() < deadline;
	     i++) {
		uint64_t t0 = sl_time_ns(), t1, before = p->h->n;
		bool done = false;
		int rc;

		cli_put_be64(buf, i);
		cli_put_be64(buf + 8, t0);
		while ((rc = sl_udp_send_to(port, 0, &hp, buf, plen)) ==
			       -EAGAIN &&
		       sl_time_ns() - t0 < PING_TIMEOUT_NS)
			;
		if (rc) {
			p->lost += i >= p->warm;
			miss += i >= p->warm;
			continue;
		}
		while (!done) {
			uint16_t n = sl_rx_burst(port, 0, in, 8);

			t1 = sl_time_ns();
			for (uint16_t k = 0; k < n; k++) {
				struct sl_udp_view v;

				if (!done && !sl_udp_parse(in[k], &v) &&
				    v.len >= 16 &&
				    cli_get_be64(v.payload) == i) {
					done = true;
					if (i >= p->warm)
						cli_hist_record(p->h, t1 - t0);
				}
			}
			if (n)
				sl_pkt_free_bulk(in, n);
			if (!done && t1 - t0 > PING_TIMEOUT_NS) {
				p->lost += i >= p->warm;
				break;
			}
			if (!n) /* B's NAPI kthread shares this CPU */
				sched_yield();
		}
		miss = p->h->n > before || i < p->warm ? 0 : miss + 1;
	}
	sl_port_close(port);
	return NULL;
}

void bench_run_rtt(struct bench *b, struct row *row)
{
	struct pinger p = { .b = b,
			    .row = row,
			    .count = b->cfg.pings,
			    .warm = b->cfg.pings / 20 + 10 };
	int err;

	p.h = cli_hist_new();
	if (!p.h)
		return;
	/*
	 * B's NAPI unthreaded, as A's is (pinger_open): veth then runs it in
	 * softirq inside the pinger's transmit on CPU 0, and the frame is in
	 * B's socket before the pinger's send returns, with no kthread to
	 * wake. xdp-copy p50/p99.9 (us, 20000 pings, two runs each):
	 * unthreaded 3.7/29 and 3.6/30, kthread on CPU 0 beside the pinger
	 * 4.7/45 and 4.6/44; udp and packet did not change (7.5-7.8, 2.7).
	 * A kthread beside the spinning echo was worse again: a thread
	 * spinning without system calls is preempted only at the next tick.
	 * The rate phases want it threaded: run_rtt restores that.
	 */
	bench_set_threaded(b, TB_B, b->ifb, false);
	err = pthread_create(&p.thread, NULL, pinger_main, &p);
	if (!err) {
		pthread_join(p.thread, NULL);
		if (!p.err)
			bench_keep_rtt(row, p.h, p.lost);
		else if (p.msg[0])
			snprintf(row->note, sizeof(row->note), "RTT: %s",
				 p.msg);
		if (p.note[0] && !row->note[0])
			snprintf(row->note, sizeof(row->note), "%s", p.note);
	}
	cli_hist_free(p.h);
	bench_set_threaded(b, TB_B, b->ifb, true);
}
