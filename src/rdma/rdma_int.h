/* SPDX-License-Identifier: MIT */
/*
 * Internal hooks of the RDMA transport for tests and the fuzz target.
 */
#ifndef SL_RDMA_INT_H
#define SL_RDMA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/rdma.h>

/* Skip ICRC verification on qp's port queue (the fuzz target cannot forge
 * CRCs); everything after it runs as usual. */
void rdma_skip_icrc(struct sl_rdma_qp *qp, bool skip);

/* Hand one received Ethernet frame to qp's port queue as if it came from
 * the port (demultiplexed by DestQP). The frame is not kept. */
void rdma_input_frame(struct sl_rdma_qp *qp, const uint8_t *frame, size_t len);

/* Make a region valid again after a SEND with Invalidate named it (the
 * fuzz target keeps its regions across inputs). */
void rdma_mr_revalidate(struct sl_rdma_mr *mr);

/* The responder's expected PSN and MSN. */
uint32_t rdma_qp_epsn(const struct sl_rdma_qp *qp);
uint32_t rdma_qp_msn(const struct sl_rdma_qp *qp);

#endif
