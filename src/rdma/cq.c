// SPDX-License-Identifier: MIT
/*
 * Completion queues: a ring the application polls, filled by the engines
 * on the progress path (never blocking: a full ring counts an overflow and
 * drops the completion), and the completions of send and receive WQEs.
 * A QP counts its CQs atomically, so a CQ in use is not destroyed.
 */
#include <errno.h>
#include <stdlib.h>

#include <sluice/rdma.h>

#include "core/log.h"
#include "rdma/rdma_int.h"
#include "rdma/wire.h"

const char *sl_rdma_wc_status_str(int s)
{
	switch (s) {
	case SL_RDMA_WC_SUCCESS:
		return "SUCCESS";
	case SL_RDMA_WC_LOC_LEN_ERR:
		return "LOC_LEN_ERR";
	case SL_RDMA_WC_LOC_QP_OP_ERR:
		return "LOC_QP_OP_ERR";
	case SL_RDMA_WC_LOC_PROT_ERR:
		return "LOC_PROT_ERR";
	case SL_RDMA_WC_WR_FLUSH_ERR:
		return "WR_FLUSH_ERR";
	case SL_RDMA_WC_BAD_RESP_ERR:
		return "BAD_RESP_ERR";
	case SL_RDMA_WC_REM_INV_REQ_ERR:
		return "REM_INV_REQ_ERR";
	case SL_RDMA_WC_REM_ACCESS_ERR:
		return "REM_ACCESS_ERR";
	case SL_RDMA_WC_REM_OP_ERR:
		return "REM_OP_ERR";
	case SL_RDMA_WC_RETRY_EXC_ERR:
		return "RETRY_EXC_ERR";
	case SL_RDMA_WC_RNR_RETRY_EXC_ERR:
		return "RNR_RETRY_EXC_ERR";
	}
	return "?";
}

struct sl_rdma_cq *sl_rdma_cq_create(unsigned depth)
{
	struct sl_rdma_cq *cq;

	if (depth == 0 || depth > (1u << 24)) {
		sl_fail(EINVAL, "rdma: cq depth %u out of range 1..2^24",
			depth);
		return NULL;
	}
	cq = calloc(1, sizeof(*cq));
	if (cq)
		cq->ring = calloc(depth, sizeof(*cq->ring));
	if (!cq || !cq->ring) {
		free(cq);
		sl_fail(ENOMEM, "rdma: no memory for a cq of %u", depth);
		return NULL;
	}
	cq->depth = depth;
	return cq;
}

int sl_rdma_cq_destroy(struct sl_rdma_cq *cq)
{
	if (!cq)
		return 0;
	if (__atomic_load_n(&cq->refs, __ATOMIC_ACQUIRE))
		return sl_fail(EBUSY, "rdma: cq still used by a queue pair");
	free(cq->ring);
	free(cq);
	return 0;
}

int sl_rdma_poll_cq(struct sl_rdma_cq *cq, int n, struct sl_rdma_wc *wc)
{
	int k = 0;

	while (k < n && cq->head != cq->tail) {
		wc[k++] = cq->ring[cq->head % cq->depth];
		cq->head++;
	}
	return k;
}

uint64_t sl_rdma_cq_overflows(const struct sl_rdma_cq *cq)
{
	return cq->overflows;
}

static void cq_push(struct sl_rdma_cq *cq, const struct sl_rdma_wc *wc)
{
	if (cq->tail - cq->head >= cq->depth) {
		cq->overflows++;
		return;
	}
	cq->ring[cq->tail % cq->depth] = *wc;
	cq->tail++;
}

static int wc_opcode(int wr_op)
{
	switch (wr_op) {
	case SL_RDMA_WR_RDMA_WRITE:
	case SL_RDMA_WR_RDMA_WRITE_WITH_IMM:
		return SL_RDMA_WC_RDMA_WRITE;
	case SL_RDMA_WR_RDMA_READ:
		return SL_RDMA_WC_RDMA_READ;
	case SL_RDMA_WR_ATOMIC_CMP_AND_SWP:
		return SL_RDMA_WC_COMP_SWAP;
	case SL_RDMA_WR_ATOMIC_FETCH_AND_ADD:
		return SL_RDMA_WC_FETCH_ADD;
	}
	return SL_RDMA_WC_SEND;
}

void rdma_sq_complete(struct sl_rdma_qp *qp, struct swqe *w, int status,
		      uint8_t syn)
{
	struct sl_rdma_wc wc = {
		.wr_id = w->wr.wr_id,
		.status = status,
		.opcode = wc_opcode(w->wr.opcode),
		.byte_len = w->wr.sge.length,
		.qp_num = qp->qpn,
		.vendor_err = syn,
	};

	cq_push(qp->scq, &wc);
}

void rdma_rq_complete(struct sl_rdma_qp *qp, struct rwqe *w, int status,
		      int opcode, uint32_t len, bool has_imm, uint32_t imm)
{
	struct sl_rdma_wc wc = {
		.wr_id = w->wr_id,
		.status = status,
		.opcode = opcode,
		.byte_len = len,
		.imm = imm,
		.has_imm = has_imm,
		.qp_num = qp->qpn,
	};

	cq_push(qp->rcq, &wc);
}
