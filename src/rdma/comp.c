// SPDX-License-Identifier: MIT
/*
 * The completer: retires the requester's work requests from the ACKs,
 * NAKs and responses that come back, copies READ data and atomic results
 * in, and turns a gap, a NAK or an RNR NAK into a go-back or an error
 * completion (rxe_comp.c).
 */
#include <string.h>

#include <sluice/rdma.h>

#include "core/log.h"
#include "rdma/rdma_int.h"
#include "rdma/wire.h"

static void progress_made(struct sl_rdma_qp *qp)
{
	qp->retry_left = qp->attr.retry_cnt;
	qp->rnr_left = qp->attr.rnr_retry;
	qp->gb_valid = false;
	if (qp->cwnd < REQ_WINDOW)
		qp->cwnd++;
	rdma_timer_kick(qp);
}

/* Retire the WRITE/SEND WQEs an ACK of p covers (incl) or the ones before p
 * (!incl: p is a response or NAK). Returns whether anything moved. */
static bool comp_retire(struct sl_rdma_qp *qp, uint32_t p, bool incl)
{
	bool prog = false;

	while (qp->sq_head != qp->sq_tail) {
		uint32_t i = qp->sq_head;
		struct swqe *w = &qp->sq[i & qp->sq_mask];
		uint32_t last;
		int32_t c;

		if (!w->started || is_rd_atomic(w->wr.opcode))
			break;
		last = (w->first_psn + w->npsn - 1) & PSN_MASK;
		c = psn_cmp(last, p);
		if (incl ? c > 0 : c >= 0) {
			/* partly acknowledged: no need to resend those */
			uint32_t k = ((incl ? p + 1 : p) - w->first_psn) &
				     PSN_MASK;

			if (k < w->npsn && k > w->done) {
				w->done = k;
				prog = true;
				if (qp->sq_cur == i && qp->cur_off < k) {
					qp->cur_off = k;
					qp->req_psn = (w->first_psn + k) &
						      PSN_MASK;
				}
			}
			break;
		}
		rdma_sq_complete(qp, w, SL_RDMA_WC_SUCCESS, 0);
		qp->sq_head++;
		if (qp->sq_cur == i) {
			/* a go-back had not resent it all yet */
			qp->sq_cur = i + 1;
			qp->cur_off = 0;
			if (psn_cmp(qp->req_psn, last + 1) < 0)
				qp->req_psn = (last + 1) & PSN_MASK;
		}
		prog = true;
	}
	return prog;
}

/*
 * The head WQE is a READ or atomic whose response `at` is missing although
 * the later PSN psn was answered: implied NAK, ask again from `at` at once
 * (it costs no retry: the peer is answering).
 *
 * Once we went back to `at`, the responses of the old stream still on the
 * way all come after gb_hi, the last one seen then, and are ignored: asking
 * again for each would restart the peer's stream over and over. The new
 * stream starts at `at`; a response of it past `at` but not past gb_hi
 * means `at` was lost again, so that asks again too, rather than waiting
 * for the ACK timeout (a dup or a reordered stale response can trigger a
 * spare request, which is harmless).
 */
static void implied_nak(struct sl_rdma_qp *qp, struct swqe *w, uint32_t psn)
{
	uint32_t at = (w->first_psn + w->done) & PSN_MASK;

	if (qp->gb_valid && qp->gb_psn == at && psn_cmp(psn, qp->gb_hi) > 0)
		return;
	rdma_goback(qp, at);
}

static void comp_done_head(struct sl_rdma_qp *qp, struct swqe *w)
{
	uint32_t i = qp->sq_head;

	rdma_sq_complete(qp, w, SL_RDMA_WC_SUCCESS, 0);
	qp->sq_head++;
	if (qp->sq_cur == i) {
		qp->sq_cur = i + 1;
		qp->cur_off = 0;
		if (psn_cmp(qp->req_psn, w->first_psn + w->npsn) < 0)
			qp->req_psn = (w->first_psn + w->npsn) & PSN_MASK;
	}
}

static void comp_read_resp(struct sl_rdma_qp *qp, const struct rdma_hdr *h,
			   struct swqe *w)
{
	uint32_t exp = (w->first_psn + w->done) & PSN_MASK;
	uint64_t off;
	bool first, last;
	unsigned f = h->flags;

	if (psn_cmp(h->psn, exp) > 0) {
		implied_nak(qp, w, h->psn);
		return;
	}
	if (h->psn != exp)
		return; /* a duplicate */
	first = w->done == 0;
	last = w->done + 1 == w->npsn;
	off = (uint64_t)w->done * qp->pmtu;
	/* the response must have the shape and length this READ expects */
	if ((first && last && !(f & OPF_ONLY)) ||
	    (first && !last && !(f & OPF_FIRST)) ||
	    (!first && last && !(f & OPF_LAST)) ||
	    (!first && !last && !(f & OPF_MIDDLE)))
		return;
	if (h->paylen != SL_MIN((uint64_t)qp->pmtu, w->wr.sge.length - off))
		return;
	if (h->paylen)
		memcpy((uint8_t *)(uintptr_t)w->wr.sge.addr + off, h->payload,
		       h->paylen);
	w->done++;
	if (w->done == w->npsn)
		comp_done_head(qp, w);
	progress_made(qp);
}

void rdma_comp_rx(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	struct swqe *w;
	bool prog;

	if (qp->state != SL_RDMA_QPS_RTS || !outstanding(qp))
		return;
	/* nothing beyond what was ever sent can be answered */
	if (psn_cmp(h->psn, qp->snd_max) >= 0)
		return;
	qp->rsp_last = h->psn;
	/* the peer is alive and answering: the ACK timeout is for silence
	 * (rxe re-arms it on every response too). A lost response behind a
	 * long queue of stale ones is found by the implied NAK, not by a
	 * timeout that would use up retries while the queue drains */
	if (qp->timer)
		rdma_timer_kick(qp);
	if (h->opcode == RC_ACK && AETH_TYPE(h->syndrome) == 0) {
		prog = comp_retire(qp, h->psn, true);
		if (outstanding(qp)) {
			w = &qp->sq[qp->sq_head & qp->sq_mask];
			if (is_rd_atomic(w->wr.opcode) &&
			    psn_cmp(h->psn, w->first_psn + w->done) >= 0)
				implied_nak(qp, w, h->psn);
		}
		if (prog)
			progress_made(qp);
		return;
	}
	prog = comp_retire(qp, h->psn, false);
	if (prog)
		progress_made(qp);
	w = outstanding(qp) ? &qp->sq[qp->sq_head & qp->sq_mask] : NULL;
	if (h->flags & OPF_READ) {
		if (w && w->wr.opcode == SL_RDMA_WR_RDMA_READ)
			comp_read_resp(qp, h, w);
		else if (w && is_atomic(w->wr.opcode) &&
			 psn_cmp(h->psn, w->first_psn) > 0)
			implied_nak(qp, w, h->psn);
		return;
	}
	if (h->opcode == RC_ATOMIC_ACK) {
		if (!w || !is_rd_atomic(w->wr.opcode))
			return;
		if (is_atomic(w->wr.opcode) && h->psn == w->first_psn) {
			memcpy((void *)(uintptr_t)w->wr.sge.addr, &h->orig, 8);
			w->done = 1;
			comp_done_head(qp, w);
			progress_made(qp);
		} else if (psn_cmp(h->psn, w->first_psn + w->done) > 0) {
			implied_nak(qp, w, h->psn);
		}
		return;
	}
	if (h->opcode != RC_ACK || !w)
		return;
	/* a NAK */
	switch (AETH_TYPE(h->syndrome)) {
	case 1: /* RNR */
		qp->st.rnr_naks_rcvd++;
		if (qp->attr.rnr_retry != 7) {
			if (qp->rnr_left == 0) {
				rdma_sq_fail_head(qp,
						  SL_RDMA_WC_RNR_RETRY_EXC_ERR,
						  h->syndrome);
				return;
			}
			qp->rnr_left--;
		}
		rdma_goback(qp, h->psn);
		qp->rnr_wait = true;
		{
			static const uint32_t rnr_us[32] = {
				655360, 10,    20,    30,     40,     60,
				80,	120,   160,   240,    320,    480,
				640,	960,   1280,  1920,   2560,   3840,
				5120,	7680,  10240, 15360,  20480,  30720,
				40960,	61440, 81920, 122880, 163840, 245760,
				327680, 491520
			};
			qp->rnr_until = sl_time_ns() +
					rnr_us[h->syndrome & 31] * 1000ull;
		}
		qp->timer = 0;
		return;
	case 3:
		if (h->syndrome == AETH_NAK_SEQ) {
			uint32_t at = h->psn;

			qp->st.seq_naks_rcvd++;
			if (qp->rnr_wait)
				return; /* the RNR timer decides */
			if (is_rd_atomic(w->wr.opcode))
				at = (w->first_psn + w->done) & PSN_MASK;
			/* a retry is used up only when going back to the
			 * same place did not help */
			if (qp->gb_valid && qp->gb_psn == at) {
				if (qp->retry_left == 0) {
					rdma_sq_fail_head(
						qp, SL_RDMA_WC_RETRY_EXC_ERR,
						h->syndrome);
					return;
				}
				qp->retry_left--;
			}
			rdma_goback(qp, at);
			return;
		}
		qp->st.err_naks_rcvd++;
		rdma_sq_fail_head(qp,
				  h->syndrome == AETH_NAK_INV ?
					  SL_RDMA_WC_REM_INV_REQ_ERR :
				  h->syndrome == AETH_NAK_ACCESS ?
					  SL_RDMA_WC_REM_ACCESS_ERR :
					  SL_RDMA_WC_REM_OP_ERR,
				  h->syndrome);
		return;
	}
}
