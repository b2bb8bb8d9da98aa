// SPDX-License-Identifier: MIT
/*
 * The pcap driver: "pcap:FILE" replays a pcap or pcapng file (libpcap reads
 * both), "pcap:FILE,write" records what the port is given. One queue.
 *
 * Replay copies each frame into a buffer of the port's pool and hands it out
 * through rx_burst, as fast as the caller asks; frames larger than a buffer
 * are counted in rx_dropped, frames cut short in the file (caplen < len) are
 * delivered as cut. At the end of the file the port state becomes
 * SL_PORT_EOF and rx returns 0; a truncated or corrupt file ends the same
 * way after the frames read up to the damage, with libpcap's message in
 * info.error. Only Ethernet (DLT_EN10MB) files are accepted: ports carry
 * Ethernet frames.
 *
 * Record writes each frame with the time it was sent (nanoseconds), then
 * frees it; the file is flushed at close. rx returns 0. The writer
 * (net/pcapw.c) is the one capture=FILE writes with, so both files are
 * alike.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "net/pcapw.h"
#include "port/driver.h"

struct pcap_priv {
	pcap_t *pcap; /* read mode: the file */
	struct sl_pcapw *dump; /* write mode */
	bool eof;
	uint64_t frames; /* read or written */
	uint64_t snapped; /* frames stored shorter than they were */
};

static int open_read(struct sl_port *port, const struct sl_spec *spec,
		     struct pcap_priv *pp)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int dlt;

	pp->pcap = pcap_open_offline_with_tstamp_precision(
		spec->target, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pp->pcap)
		return sl_spec_fail(spec, errno == ENOENT ? ENOENT : EINVAL,
				    "cannot read '%s': %s", spec->target,
				    errbuf);
	dlt = pcap_datalink(pp->pcap);
	if (dlt != DLT_EN10MB) {
		const char *name = pcap_datalink_val_to_name(dlt);

		pcap_close(pp->pcap);
		pp->pcap = NULL;
		return sl_spec_fail(spec, EINVAL,
				    "link type %s (%d) is not Ethernet: only "
				    "DLT_EN10MB files can be replayed",
				    name ? name : "unknown", dlt);
	}
	sl_strlcpy(port->info.mode, "read", sizeof(port->info.mode));
	return 0;
}

static int open_write(struct sl_port *port, const struct sl_spec *spec,
		      struct pcap_priv *pp)
{
	char why[256];

	pp->dump = sl_pcapw_open(spec->target, why, sizeof(why));
	if (!pp->dump)
		return sl_spec_fail(spec, errno, "cannot write '%s': %s",
				    spec->target, why);
	sl_strlcpy(port->info.mode, "write", sizeof(port->info.mode));
	return 0;
}

static int pcap_drv_open(struct sl_port *port, const struct sl_spec *spec)
{
	struct pcap_priv *pp = port->priv;
	const char *w = sl_spec_get(spec, "write");
	uint32_t nq;
	int err;

	if (w && *w)
		return sl_spec_fail(spec, EINVAL,
				    "option 'write' takes no value (use "
				    "pcap:FILE,write)");
	err = sl_spec_u32(spec, "queues", 1, 1, SL_PORT_MAX_QUEUES, &nq);
	if (err)
		return err;
	if (nq != 1)
		return sl_spec_fail(spec, EINVAL,
				    "the pcap driver has one queue, not %u",
				    nq);
	err = w ? open_write(port, spec, pp) : open_read(port, spec, pp);
	if (err)
		return err;
	port->n_queues = 1;
	sl_strlcpy(port->info.name, spec->target, sizeof(port->info.name));
	return 0;
}

static void pcap_drv_close(struct sl_port *port)
{
	struct pcap_priv *pp = port->priv;

	sl_pcapw_close(pp->dump); /* flushes and closes the file */
	if (pp->pcap)
		pcap_close(pp->pcap);
	pp->dump = NULL;
	pp->pcap = NULL;
}

static void reached_end(struct sl_port *port, struct pcap_priv *pp, int rc)
{
	pp->eof = true;
	if (rc == PCAP_ERROR)
		/* truncated or corrupt: "truncated dump file; tried to read
		 * 100 captured bytes, only got 12", ... */
		sl_port_set_state(port, SL_PORT_EOF, "%s",
				  pcap_geterr(pp->pcap));
	else
		sl_port_set_state(port, SL_PORT_EOF, NULL);
}

static uint16_t pcap_drv_rx(struct sl_port *port, uint16_t queue,
			    struct sl_pkt **pkts, uint16_t n)
{
	struct pcap_priv *pp = port->priv;
	struct sl_port_qstats *st = &port->qstats[queue];
	struct sl_pkt *p = NULL;
	uint16_t got = 0;
	uint64_t now, bytes = 0;

	if (pp->eof || pp->dump)
		return 0;
	now = port->rx_ts ? sl_time_ns() : 0;
	while (got < n) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int rc;

		/* take the buffer first: a frame read from the file and not
		 * delivered for lack of one would be lost */
		if (!p && !(p = sl_pkt_alloc(port->pool))) {
			st->rx_nombuf++;
			break;
		}
		rc = pcap_next_ex(pp->pcap, &h, &data);
		if (rc != 1) {
			reached_end(port, pp, rc);
			break;
		}
		if (sl_pkt_set(p, data, h->caplen) != 0) {
			st->rx_dropped++;
			continue; /* keep p for the next frame */
		}
		if (h->caplen < h->len)
			pp->snapped++;
		p->port = port->port_id;
		p->queue = queue;
		p->rx_ts = now;
		if (now)
			p->flags |= SL_PKT_F_RX_TS;
		bytes += p->len;
		pkts[got++] = p;
		p = NULL;
	}
	if (p)
		sl_pkt_free(p);
	pp->frames += got;
	st->rx_packets += got;
	st->rx_bytes += bytes;
	return got;
}

static uint16_t pcap_drv_tx(struct sl_port *port, uint16_t queue,
			    struct sl_pkt **pkts, uint16_t n)
{
	struct pcap_priv *pp = port->priv;
	struct sl_port_qstats *st = &port->qstats[queue];
	uint64_t t, bytes = 0;
	uint16_t i;

	if (!pp->dump) {
		/* a replay port cannot send: take, count, free */
		st->tx_dropped += n;
		sl_pkt_free_bulk(pkts, n);
		return n;
	}
	t = sl_time_ns();
	for (i = 0; i < n; i++) {
		if (!sl_pcapw_put(pp->dump, pkts[i], t))
			pp->snapped++;
		bytes += pkts[i]->len;
	}
	sl_pkt_free_bulk(pkts, n);
	pp->frames += n;
	st->tx_packets += n;
	st->tx_bytes += bytes;
	return n;
}

static int pcap_drv_xstats(struct sl_port *port, struct sl_xstat *out,
			   unsigned n)
{
	struct pcap_priv *pp = port->priv;

	sl_xstat_put(out, n, 0, "pcap_frames", pp->frames);
	sl_xstat_put(out, n, 1, "pcap_snapped", pp->snapped);
	sl_xstat_put(out, n, 2, "pcap_eof", pp->eof);
	return 3;
}

static const char *const pcap_keys[] = { "write", NULL };

const struct sl_driver sl_driver_pcap = {
	.name = "pcap",
	.caps = SL_DRV_CAP_PAD_POOL,
	.keys = pcap_keys,
	.priv_size = sizeof(struct pcap_priv),
	.open = pcap_drv_open,
	.close = pcap_drv_close,
	.rx_burst = pcap_drv_rx,
	.tx_burst = pcap_drv_tx,
	.xstats = pcap_drv_xstats,
};
