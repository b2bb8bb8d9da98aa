// SPDX-License-Identifier: MIT
/*
 * The pcap writer; see pcapw.h. The timestamps are taken on the monotonic
 * clock on the fast path (a packet's rx_ts, the burst's clock read) and
 * turned into wall-clock time with one offset read at open, so a capture
 * costs no extra clock read and its times never step backwards.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "net/pcapw.h"

struct sl_pcapw {
	pcap_t *dead; /* the format: link type, snaplen, precision */
	pcap_dumper_t *dump;
	int64_t wall_off; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
};

struct sl_pcapw *sl_pcapw_open(const char *file, char *why, size_t len)
{
	struct sl_pcapw *w = calloc(1, sizeof(*w));
	struct timespec rt, mono;
	FILE *f;
	int err;

	if (!w) {
		snprintf(why, len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	w->dead = pcap_open_dead_with_tstamp_precision(
		DLT_EN10MB, SL_PCAPW_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
	if (!w->dead) {
		free(w);
		snprintf(why, len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	f = fopen(file, "wb");
	if (!f) {
		err = errno;
		snprintf(why, len, "%s", strerror(err));
		goto fail;
	}
	/* a larger buffer than stdio's default: fewer write calls */
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	w->dump = pcap_dump_fopen(w->dead, f);
	if (!w->dump) {
		err = EIO;
		snprintf(why, len, "%s", pcap_geterr(w->dead));
		fclose(f);
		goto fail;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	w->wall_off = ((int64_t)rt.tv_sec - (int64_t)mono.tv_sec) * 1000000000 +
		      ((int64_t)rt.tv_nsec - (int64_t)mono.tv_nsec);
	return w;
fail:
	pcap_close(w->dead);
	free(w);
	errno = err;
	return NULL;
}

bool sl_pcapw_put(struct sl_pcapw *w, const struct sl_pkt *p, uint64_t mono_ns)
{
	uint64_t t = mono_ns + (uint64_t)w->wall_off;
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(t / 1000000000ull);
	/* a nanosecond dumper reads tv_usec as nanoseconds */
	h.ts.tv_usec = (suseconds_t)(t % 1000000000ull);
	h.len = p->len;
	h.caplen = SL_MIN(p->len, SL_PCAPW_SNAPLEN);
	pcap_dump((u_char *)w->dump, &h, p->data);
	return h.caplen == h.len;
}

int sl_pcapw_flush(struct sl_pcapw *w)
{
	return pcap_dump_flush(w->dump);
}

void sl_pcapw_close(struct sl_pcapw *w)
{
	if (!w)
		return;
	pcap_dump_close(w->dump); /* flushes and closes the file */
	pcap_close(w->dead);
	free(w);
}
