/* SPDX-License-Identifier: MIT */
/*
 * sluice's own out-of-band exchange (rdma_xchg.c), which `sluice rdma
 * server` (cmd_rdma_server.c) and its tests (cmd_rdma_client.c) speak.
 */
#ifndef SLUICE_TOOLS_RDMA_XCHG_H
#define SLUICE_TOOLS_RDMA_XCHG_H

#include <stdint.h>

#include <sluice/sluice.h>

#include "rdma_tool.h"

#define RD_MSG_LEN 128
#define RD_DONE 'D' /* one byte each way at the end */

/*
 * The hello and its answer, 128 bytes, big endian:
 *
 *   0 u32 magic  4 u8 version  5 u8 test  6 u8 mtu  7 u8 status (0 ok)
 *   8 u32 qpn   12 u32 psn    16 u8 family (4/6)  18 u16 port
 *  20 u8 addr[16]  36 u8 mac[6]  44 u32 rkey  48 u64 va  56 u64 len
 *  64 u32 size  68 char reason[60] (status != 0)
 */
struct rd_msg {
	uint8_t test, mtu, status;
	uint32_t qpn, psn, rkey, size;
	uint64_t va, len;
	struct sl_addr addr;
	uint8_t mac[SL_ETH_ALEN];
	char reason[60];
};

/* m into RD_MSG_LEN bytes at b; b's RD_MSG_LEN bytes into m (0, or -1 when
 * they are not a hello or answer of this version). */
void rd_pack(const struct rd_msg *m, uint8_t *b);
int rd_unpack(const uint8_t *b, struct rd_msg *m);
/* Connect c's QP to the peer of a hello or answer (cli_die on failure). */
void rd_connect(struct rd_ctx *c, const struct sl_addr *local, uint32_t sq_psn,
		const struct rd_msg *peer);

#endif
