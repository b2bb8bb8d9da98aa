// SPDX-License-Identifier: MIT
/*
 * sluice fwd: forward frames from one port to another (both directions),
 * or back out of the same port with the MAC addresses swapped (l2fwd), and
 * with --swap-ip the IP addresses and UDP ports too. The loop here
 * (cli_relay_run) also serves `sluice echo`, which is a turn-around with
 * addresses swapped.
 *
 * With --cores a pinned worker per core relays its share of the queues
 * (queue q of each port, out by queue q of the other), with its own
 * counters; the main thread watches and sums them.
 *
 * It stops after --count frames, --duration, on SIGINT/SIGTERM, or when
 * every receiving port is a finite source that has run dry (pcap replay).
 *
 * Ownership: every frame received is either taken by sl_tx_burst or freed
 * here and counted in "dropped" (back-pressure), "not_turned" (a frame
 * --swap-ip cannot turn around: not UDP) or "bad_csum" (a frame that came
 * damaged: answering it would hide the damage), so nothing leaks.
 *
 * Checksums: every frame sent is one the kernel at the other end accepts.
 * A turn-around keeps right checksums right (a swap keeps the sum); a
 * checksum a local sender left for its device (PARTIAL: a kernel socket
 * across veth) is completed on send, in software where the port cannot.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cores.h"
#include "poll.h"
#include "sluice.h"

#define RELAY_BURST 64
#define FWD_POOL_BUFS 16384 /* two ports of up to 4 queues each */

static const char fwd_help[] =
	"usage: sluice fwd PORT [PORT2] [options]\n"
	"\n"
	"Forward frames from PORT to PORT2 and from PORT2 to PORT; with PORT\n"
	"alone, send each frame back out of PORT with its MAC addresses\n"
	"swapped (l2fwd).\n"
	"\n"
	"  --swap-ip        also swap IP addresses and UDP ports (checksums "
	"stay\n"
	"                   valid); non-UDP frames and frames with a bad\n"
	"                   checksum are then dropped, counted\n"
	"  --count N        stop after N frames received\n"
	"  --duration S     stop after S seconds\n"
	"  --busy           never sleep between empty polls\n"
	"  --json           print the result as JSON on stdout\n" CLI_CORES_HELP
	"\n"
	"On a udp: port a frame goes where its IP header says, so l2fwd there\n"
	"needs --swap-ip (it is then the same as `sluice echo`). Two ports\n"
	"share one pool: two xdp: ports share one UMEM, so a frame received\n"
	"on one goes out of the other without a copy (xstat tx_copied).\n" SL_PRIVS_HELP
	"\n"
	"examples:\n"
	"  sluice fwd xdp:veth1 --duration 30\n"
	"  sluice fwd packet:veth1 packet:veth2\n"
	"  sluice fwd udp:127.0.0.1:9000 --swap-ip\n";

struct relay_counts {
	uint64_t rx, tx, bytes, dropped, not_turned, bad_csum;
};

/* Make p ready to go out: 0, or -EBADMSG (not UDP) / -EILSEQ (bad
 * checksum) for a frame --swap-ip refuses. */
static inline int relay_turn(const struct cli_relay *r, struct sl_pkt *p)
{
	if (r->swap_ip)
		return sl_udp_swap(p);
	if (r->turn)
		cli_frame_swap_mac(p->data, p->len);
	sl_pkt_csum_forward(p);
	return 0;
}

static bool all_eof(const struct cli_relay *r)
{
	unsigned d;

	for (d = 0; d < r->n; d++) {
		struct sl_port_info i = { .sz = sizeof(i) };

		if (sl_port_info(r->in[d], &i) || i.state == SL_PORT_UP) {
			/* a write-only pcap port never receives: not a source */
			if (!strcmp(i.driver, "pcap") &&
			    strstr(i.mode, "write"))
				continue;
			return false;
		}
	}
	return true;
}

/* One worker: of each direction d, the queues first, first + step, ...
 * below nq[d]; rx, bytes and drops published for the main thread. */
struct relay_w {
	const struct cli_relay *r;
	unsigned first, step, nq[2], oq[2];
	struct relay_counts k[2];
	struct cli_qcount *qc[2];
	uint64_t rx, bytes, drops; /* published */
} SL_CACHE_ALIGNED;

/* One pass over the worker's queues; frames received. */
static unsigned relay_poll(struct relay_w *w)
{
	const struct cli_relay *r = w->r;
	struct sl_pkt *pkts[RELAY_BURST];
	unsigned got = 0, d, q;

	for (d = 0; d < r->n; d++) {
		struct relay_counts *k = &w->k[d];

		for (q = w->first; q < w->nq[d]; q += w->step) {
			uint16_t n, i, m = 0, t;
			uint64_t b = 0;

			n = sl_rx_burst(r->in[d], (uint16_t)q, pkts,
					RELAY_BURST);
			if (!n)
				continue;
			got += n;
			k->rx += n;
			for (i = 0; i < n; i++) {
				struct sl_pkt *p = pkts[i];
				int e;

				b += p->len;
				e = relay_turn(r, p);
				if (sl_unlikely(e)) {
					if (e == -EILSEQ)
						k->bad_csum++;
					else
						k->not_turned++;
					sl_pkt_free(p);
					continue;
				}
				pkts[m++] = p;
			}
			k->bytes += b;
			t = sl_tx_burst(r->out[d], (uint16_t)(q % w->oq[d]),
					pkts, m);
			k->tx += t;
			if (t < m) {
				k->dropped += m - t;
				sl_pkt_free_bulk(pkts + t, m - t);
			}
			w->qc[d][q].rx += n;
			w->qc[d][q].tx += t;
			w->qc[d][q].bytes += b;
		}
	}
	if (got) {
		cli_st(&w->rx, w->k[0].rx + w->k[1].rx);
		cli_st(&w->bytes, w->k[0].bytes + w->k[1].bytes);
		cli_st(&w->drops, w->k[0].dropped + w->k[1].dropped +
					  w->k[0].not_turned +
					  w->k[1].not_turned +
					  w->k[0].bad_csum + w->k[1].bad_csum);
	}
	return got;
}

static int relay_worker(void *arg)
{
	struct relay_w *w = arg;
	struct cli_idle idle = { .busy = w->r->busy };

	unsigned d;

	while (!cli_stop && !sl_lcore_stopping())
		cli_idle_poll(&idle, relay_poll(w));
	/* what this worker's cache holds goes back (a pool flushed twice
	 * has nothing the second time) */
	for (d = 0; d < w->r->n; d++) {
		sl_pool_cache_flush(sl_port_pool(w->r->in[d]));
		sl_pool_cache_flush(sl_port_pool(w->r->out[d]));
	}
	return 0;
}

int cli_relay_run(const struct cli_relay *r)
{
	static struct cli_qcount qc[2][SL_PORT_MAX_QUEUES];
	struct cli_cores none = { 0 };
	const struct cli_cores *cores = r->cores ? r->cores : &none;
	struct cli_idle idle = { .busy = r->busy };
	struct json_object *checks;
	struct sl_lcores *set = NULL;
	struct relay_counts k[2];
	unsigned nq[2] = { 1, 1 }, oq[2] = { 1, 1 }, d, w, nw, most = 1;
	uint64_t t0, now, end = 0, rx = 0, bytes = 0, drops = 0, seen = 0;
	struct cli_status st;
	struct relay_w *ws;

	memset(k, 0, sizeof(k));
	memset(qc, 0, sizeof(qc));
	for (d = 0; d < r->n; d++) {
		struct sl_port_info i = { .sz = sizeof(i) };

		nq[d] = sl_port_info(r->in[d], &i) == 0 && i.n_queues ?
				i.n_queues :
				1;
		oq[d] = sl_port_info(r->out[d], &i) == 0 && i.n_queues ?
				i.n_queues :
				1;
		if (nq[d] > most)
			most = nq[d];
		/* a worker's frames leave on its own queue's number: with
		 * fewer out queues two workers would share one */
		if (cores->n && oq[d] < nq[d])
			cli_usage_fail("--cores: %u queue(s) out for %u in: "
				       "give both ports as many queues",
				       oq[d], nq[d]);
	}
	cli_cores_fit(cores, most, "the ports");
	nw = cores->n ? cores->n : 1;
	ws = aligned_alloc(SL_CACHE_LINE, nw * sizeof(*ws));
	if (!ws)
		cli_die("out of memory");
	memset(ws, 0, nw * sizeof(*ws));
	for (w = 0; w < nw; w++) {
		ws[w].r = r;
		ws[w].first = w;
		ws[w].step = nw;
		memcpy(ws[w].nq, nq, sizeof(nq));
		memcpy(ws[w].oq, oq, sizeof(oq));
		ws[w].qc[0] = qc[0];
		ws[w].qc[1] = qc[1];
	}
	checks = cli_cores_check(cores, r->in[0], r->json);
	cli_status_init(&st, r->json);
	cli_privs_drop(r->in, r->n, true);
	t0 = now = sl_time_ns();
	if (r->duration_s > 0)
		end = t0 + (uint64_t)(r->duration_s * 1e9);
	if (cores->n)
		set = cli_cores_launch(cores, relay_worker, ws, sizeof(*ws));
	while (!cli_stop) {
		unsigned got = 0;

		if (!set) {
			got = relay_poll(&ws[0]);
			cli_idle_poll(&idle, got);
		} else {
			struct timespec nap = { 0, 1000000 };

			nanosleep(&nap, NULL);
		}
		now = sl_time_ns();
		rx = bytes = drops = 0;
		for (w = 0; w < nw; w++) {
			rx += cli_ld(&ws[w].rx);
			bytes += cli_ld(&ws[w].bytes);
			drops += cli_ld(&ws[w].drops);
		}
		if (set) {
			got = rx != seen;
			seen = rx;
		}
		cli_status_tick(&st, now, r->what, rx, bytes, drops);
		if (r->count && rx >= r->count)
			break;
		/* a finite source (pcap replay) that ran dry ends the run */
		if (!got && all_eof(r))
			break;
		if (end && now >= end)
			break;
	}
	if (set)
		cli_cores_join(set);
	now = sl_time_ns();
	cli_status_end(&st);
	for (w = 0; w < nw; w++)
		for (d = 0; d < 2; d++) {
			k[d].rx += ws[w].k[d].rx;
			k[d].tx += ws[w].k[d].tx;
			k[d].bytes += ws[w].k[d].bytes;
			k[d].dropped += ws[w].k[d].dropped;
			k[d].not_turned += ws[w].k[d].not_turned;
			k[d].bad_csum += ws[w].k[d].bad_csum;
		}
	rx = k[0].rx + k[1].rx;
	bytes = k[0].bytes + k[1].bytes;
	free(ws);
	if (r->json) {
		struct json_object *o = json_object_new_object(), *a;
		double secs = cli_secs(now - t0);

		json_object_object_add(o, "rx_packets",
				       json_object_new_uint64(rx));
		json_object_object_add(o, "rx_bytes",
				       json_object_new_uint64(bytes));
		json_object_object_add(
			o, "tx_packets",
			json_object_new_uint64(k[0].tx + k[1].tx));
		json_object_object_add(
			o, "dropped",
			json_object_new_uint64(k[0].dropped + k[1].dropped));
		json_object_object_add(o, "not_turned",
				       json_object_new_uint64(k[0].not_turned +
							      k[1].not_turned));
		json_object_object_add(
			o, "bad_csum",
			json_object_new_uint64(k[0].bad_csum + k[1].bad_csum));
		json_object_object_add(o, "elapsed_s",
				       json_object_new_double(secs));
		json_object_object_add(
			o, "pps",
			json_object_new_double(secs > 0 ? rx / secs : 0));
		json_object_object_add(o, "interrupted",
				       json_object_new_boolean(cli_stop));
		if (cores->n) {
			/* per queue of PORT, and of PORT2 (its frames
			 * leave by PORT) */
			json_object_object_add(o, "queues",
					       cli_json_queues(cores, qc[0],
							       nq[0]));
			if (r->n > 1)
				json_object_object_add(
					o, "queues2",
					cli_json_queues(cores, qc[1], nq[1]));
			json_object_object_add(o, "cores", checks);
			checks = NULL;
		}
		a = json_object_new_array();
		json_object_array_add(a, cli_json_port(r->in[0]));
		if (r->n > 1)
			json_object_array_add(a, cli_json_port(r->in[1]));
		json_object_object_add(o, "ports", a);
		cli_json_print(o);
	} else {
		printf("%s: received %" PRIu64 " frames (%" PRIu64
		       " bytes), sent %" PRIu64 ", dropped %" PRIu64
		       " (back-pressure) + %" PRIu64 " (not UDP) + %" PRIu64
		       " (bad checksum) in %.3f s\n",
		       r->what, rx, bytes, k[0].tx + k[1].tx,
		       k[0].dropped + k[1].dropped,
		       k[0].not_turned + k[1].not_turned,
		       k[0].bad_csum + k[1].bad_csum, cli_secs(now - t0));
		for (d = 0; cores->n && d < r->n; d++) {
			if (r->n > 1)
				printf("  %s:\n", d ? "PORT2" : "PORT");
			cli_print_queues(cores, qc[d], nq[d]);
		}
	}
	json_object_put(checks);
	return 0;
}

int cmd_fwd(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "swap-ip", no_argument, NULL, 'I' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "busy", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "cores", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cli_relay r = { .what = "fwd" };
	struct cli_cores cores = { 0 };
	struct sl_port *a, *b = NULL;
	struct sl_pool *pool = NULL;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hjc:d:", lo, NULL)) != -1) {
		switch (c) {
		case 'I':
			r.swap_ip = true;
			break;
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
			fputs(fwd_help, stdout);
			return 0;
		default:
			cli_opt_bad(c, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT");
	if (argc - optind > 2)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 2]);
	if (argc - optind == 2) {
		/*
		 * One pool for both ports: two xdp ports then share one UMEM
		 * and a frame received on one is sent by the other without a
		 * copy (tx_copied stays 0); other paths do not mind. Room for
		 * both ports' fill rings and what is in flight between them.
		 */
		struct sl_pool_opts po = { .sz = sizeof(po),
					   .n_bufs = FWD_POOL_BUFS,
					   .name = "fwd" };
		struct sl_port_opts o = { .sz = sizeof(o) };

		pool = sl_pool_create(&po);
		if (!pool)
			cli_die("a pool of %u buffers: %s", FWD_POOL_BUFS,
				sl_last_error());
		o.pool = pool;
		a = cli_open_port_opts(argv[optind], "PORT", &o);
		b = cli_open_port_opts(argv[optind + 1], "PORT2", &o);
		r.n = 2;
		r.in[0] = a, r.out[0] = b;
		r.in[1] = b, r.out[1] = a;
		r.turn = r.swap_ip;
	} else {
		a = cli_open_port(argv[optind], "PORT");
		r.n = 1;
		r.in[0] = r.out[0] = a;
		r.turn = true;
	}
	rc = cli_relay_run(&r);
	if (b)
		sl_port_close(b);
	sl_port_close(a);
	if (pool)
		sl_pool_destroy(pool);
	return rc;
}
