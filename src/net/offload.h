/* SPDX-License-Identifier: MIT */
/*
 * Checksum state for callers inside src/net that parsed the frame already
 * (offload.c), so a fast-path caller does not parse it twice.
 */
#ifndef SL_NET_OFFLOAD_H
#define SL_NET_OFFLOAD_H

#include <sluice/net.h>
#include <sluice/pkt.h>

/* sl_pkt_csum_check for a frame f that sl_frame_parse found in p. */
void sl_pkt_csum_check_parsed(struct sl_pkt *p, const struct sl_frame *f);

#endif
