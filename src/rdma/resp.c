// SPDX-License-Identifier: MIT
/*
 * The responder: executes incoming requests against registered memory and
 * answers them. Its state is the expected PSN (ePSN), the MSN, the
 * message in progress (SEND into a receive WQE, or WRITE with
 * VA/R_Key/remaining), and a ring of max_dest_rd_atomic records of READ
 * and atomic requests, kept after they are answered so duplicates can be
 * served (§4.7). Output leaves in PSN order: the responses of the records,
 * oldest first, then a coalesced ACK once no earlier response is pending.
 * Every remote access is checked (rdma_mr_check) before memory is
 * touched; a failure is answered with the NAK the spec names and moves
 * the QP to Error, and nothing is written.
 */
#include <string.h>

#include <sluice/rdma.h>

#include "core/log.h"
#include "rdma/rdma_int.h"
#include "rdma/wire.h"

static bool tx_ack(struct sl_rdma_qp *qp, uint8_t syn, uint32_t psn)
{
	uint8_t aeth[AETH_LEN];

	aeth[0] = syn;
	put_be24(aeth + 1, qp->msn);
	if (!rdma_tx_pkt(qp, RC_ACK, psn, false, false, aeth, AETH_LEN, NULL,
			 0))
		return false;
	if (syn == AETH_ACK)
		qp->st.acks_sent++;
	return true;
}

/* A Class C error: NAK the request, then the QP goes to Error. */
static void resp_fail(struct sl_rdma_qp *qp, uint8_t syn, uint32_t psn)
{
	tx_ack(qp, syn, psn);
	qp->st.err_naks_sent++;
	rdma_qp_error(qp);
}

/*
 * The record of a new READ or atomic: the oldest slot. A requester keeps at
 * most max_dest_rd_atomic of them outstanding, so the oldest one's request
 * is complete at the requester: still active only to answer a duplicate
 * (a requester that timed out resends them all, and the first answers
 * complete it meanwhile), its resend is of no use and gives way, as rxe's
 * responder overwrites its oldest resource. Active with its first answers
 * still to send: more than max_dest_rd_atomic in flight, NULL.
 */
static struct rdrec *rec_alloc(struct sl_rdma_qp *qp)
{
	struct rdrec *r = &qp->rd[qp->rd_next % qp->rd_n];

	if (r->active && !r->resend)
		return NULL; /* more than max_dest_rd_atomic in flight */
	qp->rd_next++;
	return r;
}

static void resp_dup(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	qp->st.dup_reqs++;
	if (h->flags & (OPF_READ | OPF_ATOMIC)) {
		for (uint32_t i = 0; i < qp->rd_n; i++) {
			struct rdrec *r = &qp->rd[i];
			uint64_t off;

			if (r->kind == REC_ATOMIC && (h->flags & OPF_ATOMIC) &&
			    r->first == h->psn && r->va == h->va &&
			    r->rkey == h->rkey && r->op == h->opcode) {
				/* resend the saved value, never re-execute */
				r->active = 1;
				r->resend = 1;
				return;
			}
			if (r->kind != REC_READ || !(h->flags & OPF_READ) ||
			    psn_cmp(h->psn, r->first) < 0 ||
			    psn_cmp(h->psn, r->last) > 0)
				continue;
			off = (uint64_t)((h->psn - r->first) & PSN_MASK) *
			      qp->pmtu;
			if (h->rkey != r->rkey || h->va != r->va + off ||
			    (uint64_t)h->dmalen + off != r->len)
				return; /* not the same request: drop */
			/* re-execute: the region may be gone by now */
			if (h->dmalen &&
			    !rdma_mr_check(qp->pd, h->rkey, true, h->va,
					   h->dmalen,
					   SL_RDMA_ACCESS_REMOTE_READ)) {
				resp_fail(qp, AETH_NAK_ACCESS, h->psn);
				return;
			}
			r->next_psn = h->psn;
			r->off = off;
			r->active = 1;
			r->resend = 1;
			return;
		}
		return;
	}
	if (h->ackreq) {
		qp->ack_pending = true;
		qp->ack_psn = (qp->epsn - 1) & PSN_MASK;
	}
}

static struct rwqe *rq_front(struct sl_rdma_qp *qp)
{
	return qp->rq_head == qp->rq_tail ? NULL :
					    &qp->rq[qp->rq_head & qp->rq_mask];
}

/* The oldest record with responses to send. */
static struct rdrec *rec_oldest(struct sl_rdma_qp *qp)
{
	struct rdrec *best = NULL;

	for (uint32_t i = 0; i < qp->rd_n; i++) {
		struct rdrec *r = &qp->rd[i];

		if (r->active &&
		    (!best || psn_cmp(r->next_psn, best->next_psn) < 0))
			best = r;
	}
	return best;
}

unsigned rdma_resp_output(struct sl_rdma_qp *qp)
{
	unsigned sent = 0;
	struct rdrec *r;
	uint8_t ext[AETH_LEN + ATMACK_LEN];

	while (qp->state == SL_RDMA_QPS_RTS && qp->ep->txn < EP_TXQ - 4 &&
	       (r = rec_oldest(qp))) {
		put_be24(ext + 1, qp->msn);
		ext[0] = AETH_ACK;
		if (r->kind == REC_ATOMIC) {
			put_be64(ext + AETH_LEN, r->orig);
			if (!rdma_tx_pkt(qp, RC_ATOMIC_ACK, r->first, false,
					 false, ext, AETH_LEN + ATMACK_LEN,
					 NULL, 0))
				break;
			r->active = 0;
		} else {
			uint32_t idx = (r->next_psn - r->first) & PSN_MASK;
			uint32_t n = ((r->last - r->first) & PSN_MASK) + 1;
			uint32_t plen = (uint32_t)SL_MIN((uint64_t)qp->pmtu,
							 r->len - r->off);
			uint8_t op = n == 1	  ? RC_READ_RESP_ONLY :
				     idx == 0	  ? RC_READ_RESP_FIRST :
				     idx == n - 1 ? RC_READ_RESP_LAST :
						    RC_READ_RESP_MIDDLE;
			const uint8_t *src = NULL;

			if (plen) {
				src = rdma_mr_check(qp->pd, r->rkey, true,
						    r->va + r->off, plen,
						    SL_RDMA_ACCESS_REMOTE_READ);
				if (!src) {
					resp_fail(qp, AETH_NAK_ACCESS,
						  r->next_psn);
					break;
				}
			}
			if (!rdma_tx_pkt(qp, op, r->next_psn, false, false, ext,
					 op == RC_READ_RESP_MIDDLE ? 0 :
								     AETH_LEN,
					 src, plen))
				break;
			r->off += plen;
			r->next_psn = (r->next_psn + 1) & PSN_MASK;
			if (idx + 1 >= n)
				r->active = 0;
		}
		sent++;
	}
	if (qp->ack_pending && qp->state == SL_RDMA_QPS_RTS) {
		/* in PSN order: not before an earlier READ's responses */
		r = rec_oldest(qp);
		if ((!r || psn_cmp(r->next_psn, qp->ack_psn) > 0) &&
		    tx_ack(qp, AETH_ACK, qp->ack_psn)) {
			qp->ack_pending = false;
			sent++;
		}
	}
	return sent;
}

/*
 * The steps of a request, as rxe's responder state machine has them: each
 * check returns whether the packet goes on to the next one, having sent
 * whatever NAK it calls for; then the handler of its opcode executes it.
 */

/* The PSN: a gap is NAKed once, a duplicate is served from the records. */
static bool resp_check_psn(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	int32_t d = psn_cmp(h->psn, qp->epsn);

	if (d > 0) {
		/* a gap: NAK once until the missing packet arrives */
		if (!qp->seq_nak_sent && tx_ack(qp, AETH_NAK_SEQ, qp->epsn)) {
			qp->seq_nak_sent = true;
			qp->st.seq_naks_sent++;
		}
		return false;
	}
	if (d < 0) {
		resp_dup(qp, h);
		return false;
	}
	qp->seq_nak_sent = false;
	return true;
}

/*
 * READ responses read memory when they are sent: a later request must not
 * change it before they are all out. Drain them now; if they do not all
 * fit, drop the packet unexecuted (as if lost: the requester resends it,
 * and every response it receives meanwhile counts as progress, so retries
 * are not used up).
 */
static bool resp_drain_reads(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	if ((h->flags & OPF_READ) || !rec_oldest(qp))
		return true;
	rdma_resp_output(qp);
	rdma_ep_flush(qp->ep);
	if (rec_oldest(qp)) {
		qp->st.rx_deferred++;
		return false;
	}
	return true;
}

/* The opcode sequence, and the QP's remote access rights. */
static bool resp_check_op(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	unsigned f = h->flags;

	/* opcode sequence */
	if (qp->rcur == RCUR_SEND ?
		    !(f & OPF_SEND) || !(f & (OPF_MIDDLE | OPF_LAST)) :
	    qp->rcur == RCUR_WRITE ?
		    !(f & OPF_WRITE) || !(f & (OPF_MIDDLE | OPF_LAST)) :
		    (f & (OPF_MIDDLE | OPF_LAST)) != 0) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return false;
	}
	/* QP access */
	if (((f & OPF_WRITE) &&
	     !(qp->attr.access & SL_RDMA_ACCESS_REMOTE_WRITE)) ||
	    ((f & OPF_READ) &&
	     !(qp->attr.access & SL_RDMA_ACCESS_REMOTE_READ)) ||
	    ((f & OPF_ATOMIC) &&
	     !(qp->attr.access & SL_RDMA_ACCESS_REMOTE_ATOMIC))) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return false;
	}
	return true;
}

/* Resources: a receive WQE, or nothing is executed (RNR NAK). */
static bool resp_check_rq(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	if (!(h->flags & OPF_RQ) || rq_front(qp))
		return true;
	if (tx_ack(qp, (uint8_t)(AETH_RNR | (qp->attr.min_rnr_timer & 31)),
		   h->psn))
		qp->st.rnr_naks_sent++;
	return false;
}

/* The payload length against the path MTU and the packet's place. */
static bool resp_check_len(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	unsigned f = h->flags;
	bool bad = false;

	if (!(f & OPF_PAYLOAD))
		return true;
	if (f & (OPF_FIRST | OPF_MIDDLE))
		bad = h->paylen != qp->pmtu || h->pad;
	else if (f & OPF_LAST)
		bad = h->paylen == 0 || h->paylen > qp->pmtu ||
		      h->pad != ((0u - h->paylen) & 3);
	else
		bad = h->paylen > qp->pmtu || h->pad != ((0u - h->paylen) & 3);
	if (bad) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return false;
	}
	return true;
}

/* A SEND or WRITE packet was executed: expect the next PSN, and ACK it
 * (coalesced, from rdma_resp_output) if asked. */
static void resp_next(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	qp->epsn = (qp->epsn + 1) & PSN_MASK;
	if (h->ackreq) {
		qp->ack_pending = true;
		qp->ack_psn = h->psn;
	}
}

static void resp_send(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	unsigned f = h->flags;
	struct rwqe *rw;
	uint8_t *dst;

	if (f & (OPF_FIRST | OPF_ONLY))
		qp->s_off = 0;
	rw = rq_front(qp);
	if (!rw) { /* cannot happen: FIRST/ONLY checked, held since */
		resp_fail(qp, AETH_NAK_OP, h->psn);
		return;
	}
	if (h->paylen > rw->sge.length - qp->s_off) {
		rdma_rq_complete(qp, rw, SL_RDMA_WC_LOC_LEN_ERR,
				 SL_RDMA_WC_RECV, qp->s_off, false, 0);
		qp->rq_head++;
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return;
	}
	if (h->paylen) {
		dst = rdma_mr_check(qp->pd, rw->sge.lkey, false,
				    rw->sge.addr + qp->s_off, h->paylen,
				    SL_RDMA_ACCESS_LOCAL_WRITE);
		if (!dst) {
			rdma_rq_complete(qp, rw, SL_RDMA_WC_LOC_PROT_ERR,
					 SL_RDMA_WC_RECV, 0, false, 0);
			qp->rq_head++;
			resp_fail(qp, AETH_NAK_OP, h->psn);
			return;
		}
		memcpy(dst, h->payload, h->paylen);
	}
	qp->s_off += h->paylen;
	if (f & (OPF_LAST | OPF_ONLY)) {
		if (f & OPF_IETH) {
			struct sl_rdma_mr *mr = rdma_mr_by_key(h->imm, true);

			if (!mr || mr->pd != qp->pd) {
				resp_fail(qp, AETH_NAK_OP, h->psn);
				return;
			}
			mr->valid = false;
		}
		rdma_rq_complete(qp, rw, SL_RDMA_WC_SUCCESS, SL_RDMA_WC_RECV,
				 qp->s_off, (f & OPF_IMM) != 0, h->imm);
		qp->rq_head++;
		qp->msn = (qp->msn + 1) & PSN_MASK;
		qp->rcur = RCUR_NONE;
	} else {
		qp->rcur = RCUR_SEND;
	}
	resp_next(qp, h);
}

static void resp_write(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	unsigned f = h->flags;
	struct sl_rdma_mr *mr = NULL;
	struct rwqe *rw;
	uint8_t *dst;

	if (f & (OPF_FIRST | OPF_ONLY)) {
		if (h->dmalen > (1u << 31) ||
		    ((f & OPF_ONLY) && h->paylen != h->dmalen) ||
		    ((f & OPF_FIRST) && h->dmalen <= h->paylen)) {
			resp_fail(qp, AETH_NAK_INV, h->psn);
			return;
		}
		if (h->dmalen &&
		    !rdma_mr_check(qp->pd, h->rkey, true, h->va, h->dmalen,
				   SL_RDMA_ACCESS_REMOTE_WRITE)) {
			resp_fail(qp, AETH_NAK_ACCESS, h->psn);
			return;
		}
		qp->w_va = h->va;
		qp->w_rkey = h->rkey;
		qp->w_len = qp->w_resid = h->dmalen;
	} else if ((f & OPF_MIDDLE) ? qp->w_resid <= h->paylen :
				      qp->w_resid != h->paylen) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return;
	}
	if (h->paylen) {
		/* checked again per packet: the region may have been
		 * deregistered between two packets of a message */
		dst = rdma_mr_check_mr(qp->pd, qp->w_rkey, true, qp->w_va,
				       h->paylen, SL_RDMA_ACCESS_REMOTE_WRITE,
				       &mr);
		if (!dst) {
			resp_fail(qp, AETH_NAK_ACCESS, h->psn);
			return;
		}
		memcpy(dst, h->payload, h->paylen);
		if (sl_unlikely(mr->on_write))
			mr->on_write(mr->on_write_ctx,
				     (uint64_t)(dst - mr->addr), h->paylen,
				     f & (OPF_LAST | OPF_ONLY));
	}
	qp->w_va += h->paylen;
	qp->w_resid -= h->paylen;
	if (f & (OPF_LAST | OPF_ONLY)) {
		if (f & OPF_IMM) {
			rw = rq_front(qp);
			rdma_rq_complete(qp, rw, SL_RDMA_WC_SUCCESS,
					 SL_RDMA_WC_RECV_RDMA_WITH_IMM,
					 qp->w_len, true, h->imm);
			qp->rq_head++;
		}
		qp->msn = (qp->msn + 1) & PSN_MASK;
		qp->rcur = RCUR_NONE;
	} else {
		qp->rcur = RCUR_WRITE;
	}
	resp_next(qp, h);
}

/* A READ is only recorded here: rdma_resp_output reads and sends it. */
static void resp_read(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	struct rdrec *r;
	uint32_t n;

	if (h->dmalen > (1u << 31)) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return;
	}
	if (h->dmalen && !rdma_mr_check(qp->pd, h->rkey, true, h->va, h->dmalen,
					SL_RDMA_ACCESS_REMOTE_READ)) {
		resp_fail(qp, AETH_NAK_ACCESS, h->psn);
		return;
	}
	r = rec_alloc(qp);
	if (!r) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return;
	}
	n = h->dmalen ? (h->dmalen + qp->pmtu - 1) / qp->pmtu : 1;
	*r = (struct rdrec){
		.kind = REC_READ,
		.active = 1,
		.op = h->opcode,
		.first = h->psn,
		.last = (h->psn + n - 1) & PSN_MASK,
		.rkey = h->rkey,
		.len = h->dmalen,
		.va = h->va,
		.next_psn = h->psn,
	};
	qp->epsn = (qp->epsn + n) & PSN_MASK;
	qp->msn = (qp->msn + 1) & PSN_MASK;
}

/* An atomic executes once, here; its record keeps the value before, for
 * the response and for duplicates. */
static void resp_atomic(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	struct rdrec *r;
	uint64_t *p, orig;
	uint8_t *dst;

	dst = rdma_mr_check(qp->pd, h->rkey, true, h->va, 8,
			    SL_RDMA_ACCESS_REMOTE_ATOMIC);
	if (!dst) {
		resp_fail(qp, AETH_NAK_ACCESS, h->psn);
		return;
	}
	if (h->va & 7) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return;
	}
	r = rec_alloc(qp);
	if (!r) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return;
	}
	p = (uint64_t *)(void *)dst;
	if (h->opcode == RC_CMP_SWAP) {
		orig = h->compare;
		__atomic_compare_exchange_n(p, &orig, h->swap_add, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	} else {
		orig = __atomic_fetch_add(p, h->swap_add, __ATOMIC_SEQ_CST);
	}
	*r = (struct rdrec){
		.kind = REC_ATOMIC,
		.active = 1,
		.op = h->opcode,
		.first = h->psn,
		.last = h->psn,
		.rkey = h->rkey,
		.len = 8,
		.va = h->va,
		.next_psn = h->psn,
		.orig = orig,
		.swap_add = h->swap_add,
		.compare = h->compare,
	};
	qp->epsn = (qp->epsn + 1) & PSN_MASK;
	qp->msn = (qp->msn + 1) & PSN_MASK;
}

void rdma_resp_rx(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	unsigned f = h->flags;

	if (qp->state != SL_RDMA_QPS_RTS || !resp_check_psn(qp, h) ||
	    !resp_drain_reads(qp, h) || !resp_check_op(qp, h) ||
	    !resp_check_rq(qp, h) || !resp_check_len(qp, h))
		return;
	if (f & OPF_SEND)
		resp_send(qp, h);
	else if (f & OPF_WRITE)
		resp_write(qp, h);
	else if (f & OPF_READ)
		resp_read(qp, h);
	else if (f & OPF_ATOMIC)
		resp_atomic(qp, h);
	/* else a response opcode: not for the responder */
}
