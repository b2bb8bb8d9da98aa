/* SPDX-License-Identifier: MIT */
/*
 * Internal header of the RoCEv2 reliable-connection transport, shared by
 * its files (rxe's rxe_loc.h) and seen by the unit tests and the fuzz
 * target: the objects, the tables, the functions one file calls in
 * another, and the hooks the tests use.
 *
 * The transport is split by job, as rxe is: mr.c (protection domains and
 * memory regions, the key registry and the remote access checks), cq.c
 * (completion queues and the completions pushed to them), ep.c (port
 * queues: the packets in and out of a port, shared by the QPs bound to
 * it), req.c (the requester: work requests into packets), comp.c (the
 * completer: ACKs and responses retire work requests), resp.c (the
 * responder: incoming requests against registered memory) and qp.c (QP
 * state and the public QP calls). Everything runs inside
 * sl_rdma_progress() on the caller's thread.
 *
 * Tables (regions by key index, QPs by number, port queues) change under
 * rdma_tab_lock on the control path and are read without it on the fast
 * path.
 */
#ifndef SL_RDMA_INT_H
#define SL_RDMA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/port.h>
#include <sluice/rdma.h>

#include "rdma/wire.h"

#define PSN_MASK 0xffffffu
#define QP_TAB 4096
#define EP_TXQ 512
#define REQ_WINDOW 256 /* PSNs outstanding (rxe: 128) */

#define ACCESS_ALL                                                  \
	(SL_RDMA_ACCESS_LOCAL_WRITE | SL_RDMA_ACCESS_REMOTE_WRITE | \
	 SL_RDMA_ACCESS_REMOTE_READ | SL_RDMA_ACCESS_REMOTE_ATOMIC)

/* ---- objects ---------------------------------------------------------- */

struct sl_rdma_pd {
	int refs; /* regions and QPs in it */
};

struct sl_rdma_mr {
	struct sl_rdma_pd *pd;
	uint8_t *addr;
	size_t len;
	unsigned access;
	uint32_t lkey, rkey;
	bool valid; /* cleared by SEND with Invalidate */
	sl_rdma_mr_write_fn on_write; /* sl_rdma_mr_on_write */
	void *on_write_ctx;
};

struct sl_rdma_cq {
	uint32_t depth;
	uint32_t head, tail; /* free running */
	uint64_t overflows;
	int refs;
	struct sl_rdma_wc *ring;
};

struct swqe {
	struct sl_rdma_send_wr wr;
	uint32_t first_psn;
	uint32_t npsn; /* PSNs used: packets, or READ responses */
	uint32_t done; /* acked packets, or READ responses received */
	uint8_t started;
	uint8_t loc_err; /* LOC_* status found at post time, 0 if none */
};

struct rwqe {
	uint64_t wr_id;
	struct sl_rdma_sge sge;
};

enum { REC_NONE = 0, REC_READ, REC_ATOMIC };

struct rdrec { /* a READ or atomic request, kept for duplicates */
	uint8_t kind;
	uint8_t active; /* responses still to send */
	uint8_t resend; /* active again for a duplicate request */
	uint8_t op;
	uint32_t first, last; /* PSN range */
	uint32_t rkey;
	uint32_t len;
	uint64_t va;
	uint32_t next_psn; /* next response to send */
	uint64_t off; /* byte offset of next_psn */
	uint64_t orig; /* atomic: the value before */
	uint64_t swap_add, compare;
};

enum { RCUR_NONE = 0, RCUR_SEND, RCUR_WRITE };

struct ep; /* a port queue, shared by its QPs */

struct sl_rdma_qp {
	uint32_t qpn;
	int state;
	struct sl_rdma_pd *pd;
	struct ep *ep;
	struct sl_rdma_qp *ep_next;
	struct sl_rdma_cq *scq, *rcq;
	struct sl_rdma_qp_attr attr;
	struct sl_rdma_qp_conn conn;
	uint32_t pmtu;
	struct sl_udp_params hp; /* headers of what we send */
	size_t hdr_len;
	size_t ip_len;
	uint64_t timeout_ns;

	/* requester and completer */
	struct swqe *sq;
	uint32_t sq_mask, sq_head, sq_cur, sq_tail;
	uint32_t cur_off; /* packet offset inside sq[cur] */
	uint32_t req_psn; /* next PSN to send */
	uint32_t snd_max; /* one past the highest PSN ever sent */
	uint32_t ackreq_ctr;
	uint64_t timer; /* ACK timeout deadline, 0: off */
	unsigned retry_left, rnr_left;
	bool rnr_wait;
	uint64_t rnr_until;
	uint32_t cwnd; /* PSNs allowed out: halved on loss, +1 on progress */
	bool gb_valid; /* damping of implied NAKs: last go-back PSN */
	uint32_t gb_psn;
	uint32_t gb_hi; /* rsp_last when that go-back was made */
	uint32_t rsp_last; /* PSN of the last response received */

	/* responder */
	uint32_t epsn, msn;
	bool seq_nak_sent;
	bool ack_pending;
	uint32_t ack_psn;
	int rcur;
	uint32_t w_rkey, w_len, w_resid;
	uint64_t w_va;
	uint32_t s_off;
	struct rwqe *rq;
	uint32_t rq_mask, rq_head, rq_tail;
	struct rdrec *rd;
	uint32_t rd_n, rd_next;

	struct sl_rdma_qp_stats st;
};

struct ep {
	struct ep *next;
	struct sl_port *port;
	uint16_t queue;
	int refs;
	bool socket_path; /* udp: driver: canonical IPv4 header for ICRC */
	const char *path; /* sl_port_path when last looked (ep_path) */
	uint16_t sock_port; /* the socket's UDP port on a socket path */
	bool no_icrc;
	struct sl_pool *pool;
	uint32_t room; /* frame bytes a buffer of pool takes */
	struct sl_pool *big; /* longer frames (see ep_big_pool), or NULL */
	uint32_t big_room;
	struct sl_rdma_qp *qps;
	unsigned txn;
	struct sl_rdma_port_stats st;
	struct sl_pkt *txq[EP_TXQ];
};

/* qp.c: the lock of the tables, and QPs by number */
extern pthread_mutex_t rdma_tab_lock;
extern struct sl_rdma_qp *rdma_qp_tab[QP_TAB];

/* ---- work requests ----------------------------------------------------- */

static inline bool is_rd_atomic(int op)
{
	return op == SL_RDMA_WR_RDMA_READ ||
	       op == SL_RDMA_WR_ATOMIC_CMP_AND_SWP ||
	       op == SL_RDMA_WR_ATOMIC_FETCH_AND_ADD;
}

static inline bool is_atomic(int op)
{
	return op == SL_RDMA_WR_ATOMIC_CMP_AND_SWP ||
	       op == SL_RDMA_WR_ATOMIC_FETCH_AND_ADD;
}

/* Whether the oldest WQE has been sent (so something awaits an answer). */
static inline bool outstanding(const struct sl_rdma_qp *qp)
{
	return qp->sq_head != qp->sq_tail &&
	       qp->sq[qp->sq_head & qp->sq_mask].started;
}

/* ---- mr.c -------------------------------------------------------------- */

/* The region a key names, if current (NULL if not). Fast path. */
struct sl_rdma_mr *rdma_mr_by_key(uint32_t key, bool remote);

/* Where [va, va + len) of the region key names is in memory, or NULL when
 * the access is refused (the spec's §5 checks 3-5). Fast path. */
uint8_t *rdma_mr_check(struct sl_rdma_pd *pd, uint32_t key, bool remote,
		       uint64_t va, uint64_t len, unsigned right);
/* rdma_mr_check, also giving the region (for its on_write hook) */
uint8_t *rdma_mr_check_mr(struct sl_rdma_pd *pd, uint32_t key, bool remote,
			  uint64_t va, uint64_t len, unsigned right,
			  struct sl_rdma_mr **out);

/* ---- cq.c -------------------------------------------------------------- */

/* Push the completion of a send or receive WQE to its CQ (an overflow is
 * counted there, never an error). */
void rdma_sq_complete(struct sl_rdma_qp *qp, struct swqe *w, int status,
		      uint8_t syn);
void rdma_rq_complete(struct sl_rdma_qp *qp, struct rwqe *w, int status,
		      int opcode, uint32_t len, bool has_imm, uint32_t imm);

/* ---- ep.c -------------------------------------------------------------- */

/* The port queue of (port, queue), shared: a new one, or one more
 * reference. NULL with the failure reported. Call with rdma_tab_lock. */
struct ep *rdma_ep_get(struct sl_port *port, uint16_t queue);
/* Drop a reference; the last one frees it. Call with rdma_tab_lock. */
void rdma_ep_put(struct ep *ep);
/* Follow the port's path (socket or raw): cheap when it did not move. */
void rdma_ep_path(struct ep *ep);
/* Hand the queued packets to the port; returns how many it took. */
unsigned rdma_ep_flush(struct ep *ep);
/* One received frame: checked, then handed to its QP's engines. */
void rdma_ep_rx(struct ep *ep, const uint8_t *frame, size_t len);
/* Build one packet for qp and queue it on its port queue. false when there
 * is no room or no buffer (the protocol recovers: a lost packet). */
bool rdma_tx_pkt(struct sl_rdma_qp *qp, uint8_t op, uint32_t psn, bool se,
		 bool ackreq, const uint8_t *ext, unsigned extlen,
		 const void *pay, uint32_t plen);

/* ---- req.c: the requester ---------------------------------------------- */

/* Send what the window allows; returns the packets queued. */
unsigned rdma_req_output(struct sl_rdma_qp *qp);
/* The RNR wait and the ACK timeout, at time now. */
void rdma_req_timers(struct sl_rdma_qp *qp, uint64_t now);
/* Arm the ACK timeout if something is outstanding, else stop it. */
void rdma_timer_kick(struct sl_rdma_qp *qp);
/* Go back to psn: the next packet sent is the one that had it. */
void rdma_goback(struct sl_rdma_qp *qp, uint32_t psn);

/* ---- comp.c: the completer --------------------------------------------- */

/* An ACK, NAK or response for qp's requests. */
void rdma_comp_rx(struct sl_rdma_qp *qp, const struct rdma_hdr *h);

/* ---- resp.c: the responder --------------------------------------------- */

/* A request for qp's responder. */
void rdma_resp_rx(struct sl_rdma_qp *qp, const struct rdma_hdr *h);
/* Send the READ and atomic responses due, then a pending ACK; returns the
 * packets queued. */
unsigned rdma_resp_output(struct sl_rdma_qp *qp);

/* ---- qp.c -------------------------------------------------------------- */

/* Error state: flush every outstanding work request. */
void rdma_qp_error(struct sl_rdma_qp *qp);
/* Complete the head WQE in error and take the QP to Error. */
void rdma_sq_fail_head(struct sl_rdma_qp *qp, int status, uint8_t syn);

/* ---- hooks for the unit tests and the fuzz target ---------------------- */

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
