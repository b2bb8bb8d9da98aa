// SPDX-License-Identifier: MIT
/*
 * The requester: turns the work requests of the send queue into packets.
 * The send queue is a ring of WQEs with three indexes, head (oldest not
 * completed) <= cur (being sent) <= tail (next free). Each WQE gets its PSN
 * range once, when first sent; go-back-N moves cur (and the packet offset
 * inside it) back to the WQE holding the PSN to resend, and since
 * segmentation is deterministic the same packets come out with the same
 * PSNs. A READ resent from response k is a new READ request at PSN
 * first+k for the remaining bytes (rxe req_retry). Also its timers: the
 * ACK timeout and the RNR wait.
 */
#include <sluice/rdma.h>

#include "core/log.h"
#include "rdma/rdma_int.h"
#include "rdma/wire.h"

#define REQ_WINDOW_MIN 8
#define REQ_BURST 64 /* request packets per progress call and QP */
#define ACKREQ_EVERY 64 /* AckReq at least this often (rxe) */

/* The oldest PSN not acknowledged (where a retry starts). */
static uint32_t retry_point(const struct sl_rdma_qp *qp)
{
	const struct swqe *w;

	if (!outstanding(qp))
		return qp->req_psn;
	w = &qp->sq[qp->sq_head & qp->sq_mask];
	return (w->first_psn + w->done) & PSN_MASK;
}

void rdma_timer_kick(struct sl_rdma_qp *qp)
{
	qp->timer = (outstanding(qp) && qp->timeout_ns && !qp->rnr_wait) ?
			    sl_time_ns() + qp->timeout_ns :
			    0;
}

/* Go back to psn: the next packet sent is the one that had it. */
void rdma_goback(struct sl_rdma_qp *qp, uint32_t psn)
{
	uint32_t from = retry_point(qp);

	if (psn_cmp(psn, from) < 0)
		psn = from; /* already acknowledged before it */
	/* a loss: go-back-N resends the whole window, so shrink it */
	qp->cwnd = SL_MAX(qp->cwnd / 2, REQ_WINDOW_MIN);
	for (uint32_t i = qp->sq_head; i != qp->sq_tail; i++) {
		struct swqe *w = &qp->sq[i & qp->sq_mask];
		uint32_t k;

		if (!w->started)
			break;
		k = (psn - w->first_psn) & PSN_MASK;
		if (k < w->npsn) {
			if (k < w->done)
				k = w->done;
			qp->sq_cur = i;
			qp->cur_off = k;
			qp->req_psn = (w->first_psn + k) & PSN_MASK;
			qp->gb_valid = true;
			qp->gb_psn = qp->req_psn;
			qp->gb_hi = qp->rsp_last;
			return;
		}
	}
}

static unsigned rd_atomic_out(const struct sl_rdma_qp *qp)
{
	unsigned n = 0;

	for (uint32_t i = qp->sq_head; i != qp->sq_cur; i++)
		n += is_rd_atomic(qp->sq[i & qp->sq_mask].wr.opcode);
	return n;
}

static uint8_t write_op(const struct swqe *w, bool first, bool last)
{
	bool imm = w->wr.opcode == SL_RDMA_WR_RDMA_WRITE_WITH_IMM;

	if (first && last)
		return imm ? RC_WRITE_ONLY_IMM : RC_WRITE_ONLY;
	if (first)
		return RC_WRITE_FIRST;
	if (!last)
		return RC_WRITE_MIDDLE;
	return imm ? RC_WRITE_LAST_IMM : RC_WRITE_LAST;
}

static uint8_t send_op(const struct swqe *w, bool first, bool last)
{
	int o = w->wr.opcode;

	if (first && last)
		return o == SL_RDMA_WR_SEND_WITH_IMM ? RC_SEND_ONLY_IMM :
		       o == SL_RDMA_WR_SEND_WITH_INV ? RC_SEND_ONLY_INV :
						       RC_SEND_ONLY;
	if (first)
		return RC_SEND_FIRST;
	if (!last)
		return RC_SEND_MIDDLE;
	return o == SL_RDMA_WR_SEND_WITH_IMM ? RC_SEND_LAST_IMM :
	       o == SL_RDMA_WR_SEND_WITH_INV ? RC_SEND_LAST_INV :
					       RC_SEND_LAST;
}

/* Send the next packet of sq[cur]; false when it could not be built. */
static bool req_one(struct sl_rdma_qp *qp, struct swqe *w)
{
	uint32_t k = qp->cur_off;
	uint32_t psn = (w->first_psn + k) & PSN_MASK;
	uint8_t ext[ATMETH_LEN];
	const struct sl_rdma_send_wr *wr = &w->wr;
	uint32_t next_off = k + 1, end;
	bool ok;

	if (wr->opcode == SL_RDMA_WR_RDMA_READ) {
		uint64_t off = (uint64_t)k * qp->pmtu;

		put_be64(ext, wr->remote_addr + off);
		put_be32(ext + 8, wr->rkey);
		put_be32(ext + 12, (uint32_t)(wr->sge.length - off));
		ok = rdma_tx_pkt(qp, RC_READ_REQ, psn, false, true, ext,
				 RETH_LEN, NULL, 0);
		next_off = w->npsn;
	} else if (is_atomic(wr->opcode)) {
		put_be64(ext, wr->remote_addr);
		put_be32(ext + 8, wr->rkey);
		put_be64(ext + 12, wr->opcode == SL_RDMA_WR_ATOMIC_CMP_AND_SWP ?
					   wr->swap :
					   wr->compare_add);
		put_be64(ext + 20, wr->opcode == SL_RDMA_WR_ATOMIC_CMP_AND_SWP ?
					   wr->compare_add :
					   0);
		ok = rdma_tx_pkt(qp,
				 wr->opcode == SL_RDMA_WR_ATOMIC_CMP_AND_SWP ?
					 RC_CMP_SWAP :
					 RC_FETCH_ADD,
				 psn, false, true, ext, ATMETH_LEN, NULL, 0);
	} else {
		bool first = k == 0, last = k + 1 == w->npsn;
		uint64_t off = (uint64_t)k * qp->pmtu;
		uint32_t plen = (uint32_t)SL_MIN((uint64_t)qp->pmtu,
						 wr->sge.length - off);
		bool write = wr->opcode == SL_RDMA_WR_RDMA_WRITE ||
			     wr->opcode == SL_RDMA_WR_RDMA_WRITE_WITH_IMM;
		uint8_t op = write ? write_op(w, first, last) :
				     send_op(w, first, last);
		unsigned extlen = 0;
		/* AckReq also on the packet that fills the window: the
		 * requester waits for an ACK of it before sending on */
		bool ackreq = last || ++qp->ackreq_ctr % ACKREQ_EVERY == 0 ||
			      psn_cmp(psn + 1, retry_point(qp)) >=
				      (int32_t)(qp->cwnd << 8);

		if (write && first) {
			put_be64(ext, wr->remote_addr);
			put_be32(ext + 8, wr->rkey);
			put_be32(ext + 12, wr->sge.length);
			extlen = RETH_LEN;
		}
		if (last && (rdma_op_flags(op) & (OPF_IMM | OPF_IETH))) {
			put_be32(ext + extlen, wr->imm);
			extlen += IMM_LEN;
		}
		ok = rdma_tx_pkt(qp, op, psn,
				 last && (wr->flags & SL_RDMA_SEND_SOLICITED),
				 ackreq, ext, extlen,
				 (const uint8_t *)(uintptr_t)wr->sge.addr + off,
				 plen);
	}
	if (!ok)
		return false;
	if (psn_cmp(psn, qp->snd_max) < 0)
		qp->st.retransmits++;
	/* a READ request takes the PSNs of all its responses: snd_max must
	 * cover them, or the completer drops every response but the first
	 * as "never asked for" and the READ crawls on timeouts */
	end = (w->first_psn + next_off) & PSN_MASK;
	if (psn_cmp(end, qp->snd_max) > 0)
		qp->snd_max = end;
	qp->cur_off = next_off;
	qp->req_psn = (w->first_psn + next_off) & PSN_MASK;
	if (next_off >= w->npsn) {
		qp->sq_cur++;
		qp->cur_off = 0;
	}
	if (!qp->timer)
		rdma_timer_kick(qp);
	return true;
}

unsigned rdma_req_output(struct sl_rdma_qp *qp)
{
	unsigned sent = 0;

	if (qp->state != SL_RDMA_QPS_RTS || qp->rnr_wait)
		return 0;
	while (sent < REQ_BURST && qp->ep->txn < EP_TXQ - 16 &&
	       qp->sq_cur != qp->sq_tail) {
		struct swqe *w = &qp->sq[qp->sq_cur & qp->sq_mask];

		if (psn_cmp(qp->req_psn, retry_point(qp)) >=
		    (int32_t)(qp->cwnd << 8))
			break;
		if (!w->started) {
			if (w->loc_err) {
				/* completions stay in order: wait for the
				 * ones before it */
				if (qp->sq_head != qp->sq_cur)
					break;
				rdma_sq_fail_head(qp, w->loc_err, 0);
				return sent;
			}
			if (is_rd_atomic(w->wr.opcode) &&
			    rd_atomic_out(qp) >= qp->attr.max_rd_atomic)
				break;
			/* a fenced request waits for earlier READs and
			 * atomics: a READ that is retried re-reads memory */
			if ((w->wr.flags & SL_RDMA_SEND_FENCE) &&
			    rd_atomic_out(qp))
				break;
			w->first_psn = qp->req_psn;
			w->started = 1;
			w->done = 0;
			qp->cur_off = 0;
		}
		if (!req_one(qp, w))
			break;
		sent++;
	}
	return sent;
}

void rdma_req_timers(struct sl_rdma_qp *qp, uint64_t now)
{
	if (qp->rnr_wait && now >= qp->rnr_until) {
		qp->rnr_wait = false;
		rdma_timer_kick(qp);
	}
	if (!qp->timer || now < qp->timer)
		return;
	if (!outstanding(qp)) {
		qp->timer = 0;
		return;
	}
	qp->st.timeouts++;
	if (qp->retry_left == 0) {
		rdma_sq_fail_head(qp, SL_RDMA_WC_RETRY_EXC_ERR, 0);
		return;
	}
	qp->retry_left--;
	qp->gb_valid = false;
	rdma_goback(qp, retry_point(qp));
	qp->timer = now + qp->timeout_ns;
}
