// SPDX-License-Identifier: MIT
/*
 * sluice bench: what is measured. The rows (one per receive path, with
 * its risk: privileges, what the kernel no longer sees, how broad the
 * support is), the port spec each row opens in A and B, which rows --only
 * and --peers select, and how a round's figures are kept: every figure is
 * the best of the rounds, as other work on a shared machine only ever
 * slows a path down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const struct risk risk_udp = { "none", "nothing (full stack)",
				      "every host" };
static const struct risk risk_packet = {
	"CAP_NET_RAW", "TX qdisc if bypassed (RX still goes up the stack)",
	"every Linux"
};
static const struct risk risk_xdp = {
	"CAP_NET_ADMIN + CAP_BPF", "filtering/tracking of the diverted flows",
	"most drivers, veth"
};
static const struct risk risk_zc = { "CAP_NET_ADMIN + CAP_BPF, ZC driver",
				     "same as xdp; memory pinned to the NIC",
				     "a short list of NICs" };
static const struct risk risk_drop = { "CAP_NET_ADMIN + CAP_BPF",
				       "everything: dropped before the stack",
				       "most drivers, veth" };
static const struct risk risk_pair = { "none",
				       "nothing (in-process, no kernel)",
				       "everywhere (in-process)" };
static const struct risk risk_pmd_xdp = {
	"root (DPDK EAL), CAP_NET_ADMIN + CAP_BPF",
	"the whole queue: all its traffic", "most drivers, veth; needs DPDK"
};
static const struct risk risk_pmd_pkt = { "root (DPDK EAL), CAP_NET_RAW",
					  "TX qdisc; sees all frames (promisc)",
					  "every Linux; needs DPDK" };

struct row bench_bed_rows[] = {
	{ "xdp-drop", K_DROP, NULL, NULL, false, &risk_drop, false },
	{ "udp", K_PORT, "udp", "", false, &risk_udp, false },
	{ "udp-busypoll", K_PORT, "udp", "", true, &risk_udp, false },
	{ "packet", K_PORT, "packet", "", false, &risk_packet, false },
	{ "packet-busypoll", K_PORT, "packet", "", true, &risk_packet, false },
	{ "xdp-copy", K_PORT, "xdp", "mode=COPY,", false, &risk_xdp, false },
	{ "xdp-copy-busypoll", K_PORT, "xdp", "mode=COPY,busy_poll,", true,
	  &risk_xdp, false },
	{ "xdp-zc", K_PORT, "xdp", "mode=zc,", false, &risk_zc, false },
	{ "xdp-zc-busypoll", K_PORT, "xdp", "mode=zc,busy_poll,", true,
	  &risk_zc, false },
	{ "testpmd-af_xdp", K_TESTPMD, "net_af_xdp0",
	  ",start_queue=0,queue_count=1", false, &risk_pmd_xdp, true },
	{ "testpmd-af_packet", K_TESTPMD, "net_af_packet0", "", false,
	  &risk_pmd_pkt, true },
};

/* Without a bed: the two rows one process can measure, then the bed's
 * rows, reported skipped with the reason. */
struct row bench_local_rows[] = {
	{ "pair", K_LOCAL, "pair", NULL, false, &risk_pair, false },
	{ "udp", K_LOCAL, "udp", NULL, false, &risk_udp, false },
	{ "udp-busypoll", K_PORT, NULL, NULL, true, &risk_udp, false },
	{ "packet", K_PORT, NULL, NULL, false, &risk_packet, false },
	{ "packet-busypoll", K_PORT, NULL, NULL, true, &risk_packet, false },
	{ "xdp-copy", K_PORT, NULL, NULL, false, &risk_xdp, false },
	{ "xdp-copy-busypoll", K_PORT, NULL, NULL, true, &risk_xdp, false },
	{ "xdp-zc", K_PORT, NULL, NULL, false, &risk_zc, false },
	{ "xdp-zc-busypoll", K_PORT, NULL, NULL, true, &risk_zc, false },
	{ "xdp-drop", K_DROP, NULL, NULL, false, &risk_drop, false },
	{ "testpmd-af_xdp", K_TESTPMD, NULL, NULL, false, &risk_pmd_xdp, true },
	{ "testpmd-af_packet", K_TESTPMD, NULL, NULL, false, &risk_pmd_pkt,
	  true },
};

/* The xdp copy mode of the xdp-copy rows ("mode=COPY" in their options):
 * the faster of native and generic XDP in a probe before the first. */
/*
 * The spec of a row's port in A (the pinger) or B. Both ends take the
 * path under test; testpmd rows ping from the sluice port of the same
 * kind. For round trips a packet port takes tpacket=v2: a TPACKET_V3
 * block is handed over when full or after its 1 ms retire timeout, which
 * would be all that the row's RTT measured (~1 ms); v2 hands each frame
 * over at once. Throughput keeps the default v3.
 */
void bench_row_spec(struct bench *b, const struct row *row, int end, bool rtt,
		    char *spec, size_t len)
{
	const char *drv = row->drv, *opts = row->opts;
	const char *ifname = end == TB_A ? b->ifa : b->ifb;
	unsigned port = end == TB_A ? SRC_PORT : DST_PORT;
	const char *v2 = "";

	if (row->kind == K_TESTPMD) {
		drv = strstr(row->drv, "af_xdp") ? "xdp" : "packet";
		opts = strcmp(drv, "xdp") ? "" : "mode=COPY,";
	}
	if (rtt && !strcmp(drv, "packet"))
		v2 = "tpacket=v2,";
	if (!strcmp(drv, "udp"))
		snprintf(spec, len, "udp:%s:%u%s", b->tb.end[end].ip4_str, port,
			 row->busy ? ",busy_poll" : "");
	else if (!strncmp(opts, "mode=COPY,", 10))
		snprintf(spec, len, "%s:%s,mode=%s,%smatch=udp:%u", drv, ifname,
			 b->copy_mode, opts + 10, port);
	else
		snprintf(spec, len, "%s:%s,%s%smatch=udp:%u", drv, ifname, opts,
			 v2, port);
}

/* A busy-poll refusal the port recorded, into note */
void bench_note_refusal(struct sl_port *port, const char *who, char *note,
			size_t len)
{
	struct sl_port_info info = { .sz = sizeof(info) };

	if (sl_port_info(port, &info) == 0)
		for (unsigned i = 0; i < info.n_refused; i++)
			if (!strcmp(info.refused[i].path, "busy-poll"))
				snprintf(note, len, "%s%s", who,
					 info.refused[i].why);
}

/* Later rounds measure again at the load the first round found best. */
double bench_again(const struct row *row)
{
	return row->ran ? row->rx_paced : -1.0;
}

void bench_keep_rx(struct row *row, const struct rx_round *rr)
{
	row->last_rx = rr->best.got;
	row->last_offered = rr->best.offered;
	row->last_full = rr->pts[0].paced > 0 ? 0 : rr->pts[0].got;
	row->last_paced = rr->best.paced;
	if (rr->pts[0].paced == 0 &&
	    (!row->ran || rr->pts[0].got > row->rx_full_mpps)) {
		row->rx_full_mpps = rr->pts[0].got;
		row->rx_full_offered = rr->pts[0].offered;
	}
	if (row->rx_mpps >= rr->best.got && row->ran)
		return;
	row->rx_mpps = rr->best.got;
	row->offered_mpps = rr->best.offered;
	row->rx_paced = rr->best.paced;
	memcpy(row->curve, rr->pts, sizeof(rr->pts[0]) * rr->n);
	row->n_curve = rr->n;
	if (rr->cpu_ns > 0) {
		row->cpu_ns = rr->cpu_ns;
		row->have_cpu = true;
	}
}

void bench_keep_fwd(struct row *row, const struct point *best,
		    const struct point *full)
{
	if (full->paced == 0 &&
	    (!row->have_fwd || full->got > row->fwd_full_mpps))
		row->fwd_full_mpps = full->got;
	if (row->have_fwd && row->fwd_mpps >= best->got)
		return;
	row->fwd_mpps = best->got;
	row->fwd_paced = best->paced;
	row->fwd_offered = best->offered;
	row->have_fwd = true;
}

/* Each percentile is the best of the rounds, as the rates are: the order
 * p50 <= p99 <= p99.9 holds for the minima since it holds in every round. */
void bench_keep_rtt(struct row *row, const struct cli_hist *h, uint64_t lost)
{
	double p50, p99, p999;

	if (!h->n)
		return;
	p50 = (double)cli_hist_percentile(h, 50) / 1e3;
	p99 = (double)cli_hist_percentile(h, 99) / 1e3;
	p999 = (double)cli_hist_percentile(h, 99.9) / 1e3;
	if (!row->have_rtt || p50 < row->p50)
		row->p50 = p50;
	if (!row->have_rtt || p99 < row->p99)
		row->p99 = p99;
	if (!row->have_rtt || p999 < row->p999)
		row->p999 = p999;
	if (!row->have_rtt || lost < row->lost)
		row->lost = lost;
	row->pings = h->n;
	row->have_rtt = true;
}

void bench_note_sender_bound(struct row *row)
{
	if (row->rx_paced == 0 && row->offered_mpps > 0 &&
	    row->rx_mpps > SENDER_BOUND * row->offered_mpps)
		snprintf(row->note, sizeof(row->note),
			 "sender-bound: took %.0f%% of what was offered",
			 100.0 * row->rx_mpps / row->offered_mpps);
}

struct row *bench_row_get(struct bench *b, const char *path)
{
	for (unsigned i = 0; i < b->n_rows; i++)
		if (!strcmp(b->rows[i].path, path) && b->rows[i].ran)
			return &b->rows[i];
	return NULL;
}

bool bench_selected(struct bench *b, const struct row *r)
{
	char list[256], *tok, *save;

	if (r->peer && !b->cfg.peers)
		return false;
	if (!b->cfg.only)
		return true;
	snprintf(list, sizeof(list), "%s", b->cfg.only);
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, r->path))
			return true;
	return false;
}

const unsigned bench_n_bed_rows = SL_ARRAY_SIZE_T(bench_bed_rows);
const unsigned bench_n_local_rows = SL_ARRAY_SIZE_T(bench_local_rows);
