/* SPDX-License-Identifier: MIT */
/*
 * The library's one pcap writer, for the capture decorator (capture=FILE)
 * and the pcap driver's record mode (pcap:FILE,write): libpcap's dumper
 * with the file format both promise, Ethernet (DLT_EN10MB), snaplen 65535,
 * nanosecond timestamps in wall-clock time, through a 64 KiB stdio buffer.
 * Not thread-safe: a writer shared by threads is the caller's to lock.
 */
#ifndef SL_NET_PCAPW_H
#define SL_NET_PCAPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/pkt.h>

#define SL_PCAPW_SNAPLEN 65535u /* longest frame stored whole */

struct sl_pcapw;

/*
 * Create (or replace) file and write the pcap header. Returns the writer,
 * or NULL with errno set and why (len bytes) saying what failed, for the
 * caller's message ("cannot write FILE: WHY"). Control path.
 */
struct sl_pcapw *sl_pcapw_open(const char *file, char *why, size_t len);

/*
 * Write frame p, received or sent at mono_ns (sl_time_ns's clock; stored
 * as wall-clock time), cut at SL_PCAPW_SNAPLEN. Returns false when it was
 * cut. Fast path as far as a capture goes: no allocation; a write call
 * when the stdio buffer fills.
 */
bool sl_pcapw_put(struct sl_pcapw *w, const struct sl_pkt *p, uint64_t mono_ns);

/* Push what is buffered to the file: 0, or -1 if the write failed. */
int sl_pcapw_flush(struct sl_pcapw *w);

/* Flush, close the file and free w; NULL is fine. */
void sl_pcapw_close(struct sl_pcapw *w);

#endif
