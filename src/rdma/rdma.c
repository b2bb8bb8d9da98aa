// SPDX-License-Identifier: MIT
/*
 * The RoCEv2 reliable-connection transport: protection domains, memory
 * regions, completion queues, queue pairs, and the three engines of a QP
 * (rxe's names): the requester turns work requests into packets, the
 * responder executes incoming requests against registered memory, the
 * completer retires work requests from ACKs and responses. Everything runs
 * inside sl_rdma_progress() on the caller's thread.
 *
 * Requester state: the send queue is a ring of WQEs with three indexes,
 * head (oldest not completed) <= cur (being sent) <= tail (next free).
 * Each WQE gets its PSN range once, when first sent; go-back-N moves cur
 * (and the packet offset inside it) back to the WQE holding the PSN to
 * resend, and since segmentation is deterministic the same packets come
 * out with the same PSNs. A READ resent from response k is a new READ
 * request at PSN first+k for the remaining bytes (rxe req_retry).
 *
 * Responder state: the expected PSN (ePSN), the MSN, the message in
 * progress (SEND into a receive WQE, or WRITE with VA/R_Key/remaining),
 * and a ring of max_dest_rd_atomic records of READ and atomic requests,
 * kept after they are answered so duplicates can be served (§4.7). Output
 * leaves in PSN order: the responses of the records, oldest first, then a
 * coalesced ACK once no earlier response is pending.
 *
 * Every remote access is checked before memory is touched: key known and
 * current (whole-key compare), same PD, right present, range inside the
 * region written so it cannot overflow. A failure is answered with the NAK
 * the spec names and moves the QP to Error; nothing is written.
 *
 * Tables (regions by key index, QPs by number, port queues) change under a
 * mutex on the control path and are read without it on the fast path.
 *
 * Over 800 lines (three engines in one file, where rxe has one per
 * engine): its split by job is issue 15's redesign, which takes the whole
 * tree's layout at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/mem.h>
#include <sluice/port.h>
#include <sluice/rdma.h>

#include "core/log.h"
#include "core/opts.h"
#include "net/cursor.h"
#include "rdma/rdma_int.h"
#include "rdma/wire.h"

#define PSN_MASK 0xffffffu
#define MR_MAX 4096 /* key index space: keys are index << 8 | variant */
#define QP_TAB 4096
#define EP_TXQ 512
#define EP_RX_BURST 64
#define REQ_WINDOW 256 /* PSNs outstanding (rxe: 128) */
#define REQ_WINDOW_MIN 8
#define REQ_BURST 64 /* request packets per progress call and QP */
#define ACKREQ_EVERY 64 /* AckReq at least this often (rxe) */
#define DEF_DEPTH 256

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
	struct sl_rdma_qp *qps;
	unsigned txn;
	struct sl_rdma_port_stats st;
	struct sl_pkt *txq[EP_TXQ];
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_rdma_mr *mr_tab[MR_MAX];
static uint8_t mr_variant[MR_MAX];
static struct sl_rdma_qp *qp_tab[QP_TAB];
static uint32_t qpn_next = 0x11;
static struct ep *eps;

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

/* ---- protection domains and regions ------------------------------------ */

struct sl_rdma_pd *sl_rdma_pd_create(void)
{
	struct sl_rdma_pd *pd = calloc(1, sizeof(*pd));

	if (!pd)
		sl_fail(ENOMEM, "rdma: no memory for a protection domain");
	return pd;
}

int sl_rdma_pd_destroy(struct sl_rdma_pd *pd)
{
	if (!pd)
		return 0;
	if (__atomic_load_n(&pd->refs, __ATOMIC_ACQUIRE))
		return sl_fail(EBUSY, "rdma: protection domain still in use");
	free(pd);
	return 0;
}

#define ACCESS_ALL                                                  \
	(SL_RDMA_ACCESS_LOCAL_WRITE | SL_RDMA_ACCESS_REMOTE_WRITE | \
	 SL_RDMA_ACCESS_REMOTE_READ | SL_RDMA_ACCESS_REMOTE_ATOMIC)
#define ACCESS_REMOTE (ACCESS_ALL & ~SL_RDMA_ACCESS_LOCAL_WRITE)

struct sl_rdma_mr *sl_rdma_reg_mr(struct sl_rdma_pd *pd, void *addr, size_t len,
				  unsigned access)
{
	struct sl_rdma_mr *mr;
	unsigned i;

	if (!pd || !addr || len == 0 || len > UINT32_MAX ||
	    (access & ~ACCESS_ALL)) {
		sl_fail(EINVAL, "rdma: reg_mr: bad arguments");
		return NULL;
	}
	if ((access &
	     (SL_RDMA_ACCESS_REMOTE_WRITE | SL_RDMA_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & SL_RDMA_ACCESS_LOCAL_WRITE)) {
		sl_fail(EINVAL, "rdma: reg_mr: REMOTE_WRITE and REMOTE_ATOMIC "
				"need LOCAL_WRITE too");
		return NULL;
	}
	mr = calloc(1, sizeof(*mr));
	if (!mr) {
		sl_fail(ENOMEM, "rdma: no memory for a region");
		return NULL;
	}
	mr->pd = pd;
	mr->addr = addr;
	mr->len = len;
	mr->access = access;
	mr->valid = true;
	pthread_mutex_lock(&tab_lock);
	for (i = 1; i < MR_MAX && mr_tab[i]; i++)
		;
	if (i == MR_MAX) {
		pthread_mutex_unlock(&tab_lock);
		free(mr);
		sl_fail(ENOMEM, "rdma: all %d region keys are in use", MR_MAX);
		return NULL;
	}
	/* a new variant each time the slot is reused: old keys go stale */
	mr->lkey = i << 8 | ++mr_variant[i];
	mr->rkey = (access & ACCESS_REMOTE) ? mr->lkey : 0;
	__atomic_add_fetch(&pd->refs, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&mr_tab[i], mr, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tab_lock);
	return mr;
}

uint32_t sl_rdma_mr_lkey(const struct sl_rdma_mr *mr)
{
	return mr->lkey;
}

uint32_t sl_rdma_mr_rkey(const struct sl_rdma_mr *mr)
{
	return mr->rkey;
}

int sl_rdma_dereg_mr(struct sl_rdma_mr *mr)
{
	uint32_t i;

	if (!mr)
		return 0;
	i = mr->lkey >> 8;
	pthread_mutex_lock(&tab_lock);
	if (i >= MR_MAX || mr_tab[i] != mr) {
		pthread_mutex_unlock(&tab_lock);
		return sl_fail(EINVAL, "rdma: dereg_mr: not a registered "
				       "region");
	}
	__atomic_store_n(&mr_tab[i], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tab_lock);
	__atomic_sub_fetch(&mr->pd->refs, 1, __ATOMIC_RELEASE);
	free(mr);
	return 0;
}

static struct sl_rdma_mr *mr_by_key(uint32_t key, bool remote)
{
	uint32_t i = key >> 8;
	struct sl_rdma_mr *mr;

	if (i == 0 || i >= MR_MAX)
		return NULL;
	mr = __atomic_load_n(&mr_tab[i], __ATOMIC_ACQUIRE);
	/* the whole key, variant included: a stale key finds nothing */
	if (!mr || !mr->valid || (remote ? mr->rkey : mr->lkey) != key)
		return NULL;
	return mr;
}

/* The §5 checks 3-5: key current, same PD, right present, range inside. */
static uint8_t *mr_check(struct sl_rdma_pd *pd, uint32_t key, bool remote,
			 uint64_t va, uint64_t len, unsigned right)
{
	struct sl_rdma_mr *mr = mr_by_key(key, remote);
	uint64_t iova;

	if (!mr || mr->pd != pd || (right && !(mr->access & right)))
		return NULL;
	iova = (uint64_t)(uintptr_t)mr->addr;
	/* written so that no sum can wrap */
	if (va < iova || len > mr->len || va - iova > mr->len - len)
		return NULL;
	return mr->addr + (va - iova);
}

/* ---- completion queues ------------------------------------------------- */

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

/* ---- port queues ------------------------------------------------------- */

/*
 * Follow the port's path. A udp: port is a socket path: the kernel writes
 * the IPv4 and UDP headers (ID 0 and DF, the socket's port), so the ICRC is
 * computed over those. An auto: port can move between such a path and the
 * raw ones (xdp, packet), so it is asked again on every progress call: a
 * pointer compare while the path stays the same.
 */
static void ep_path(struct ep *ep)
{
	const char *p = sl_port_path(ep->port);

	if (sl_likely(p == ep->path))
		return;
	ep->path = p;
	ep->socket_path = strcmp(p, "udp") == 0;
	ep->sock_port = 0;
	if (ep->socket_path) {
		/* ~2 KiB to zero: only when the path changed */
		struct sl_port_info info = { .sz = sizeof(info) };

		if (sl_port_info(ep->port, &info) == 0)
			ep->sock_port = info.addr.port;
	}
}

static struct ep *ep_get(struct sl_port *port, uint16_t queue)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	struct ep *ep;

	for (ep = eps; ep; ep = ep->next)
		if (ep->port == port && ep->queue == queue) {
			ep->refs++;
			return ep;
		}
	if (sl_port_info(port, &info))
		return NULL;
	/* the ICRC covers the IPv4 ID, which the kernel counts per socket
	 * on a connected one: sluice could not say what it sends */
	if (!strcmp(info.driver, "udp") && info.peer.family == AF_INET) {
		sl_fail(EINVAL,
			"rdma: %s: a udp: port with peer= is connected, and "
			"the kernel numbers its IPv4 IDs, which the ICRC "
			"covers; open it without peer=",
			info.spec);
		return NULL;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		sl_fail(ENOMEM, "rdma: no memory");
		return NULL;
	}
	ep->port = port;
	ep->queue = queue;
	ep->refs = 1;
	ep->pool = sl_port_pool(port);
	ep_path(ep);
	ep->next = eps;
	eps = ep;
	return ep;
}

static void ep_put(struct ep *ep)
{
	struct ep **pp;

	if (--ep->refs)
		return;
	for (pp = &eps; *pp; pp = &(*pp)->next)
		if (*pp == ep) {
			*pp = ep->next;
			break;
		}
	sl_pkt_free_bulk(ep->txq, ep->txn);
	free(ep);
}

static unsigned ep_flush(struct ep *ep)
{
	uint16_t n;

	if (!ep->txn)
		return 0;
	n = sl_tx_burst(ep->port, ep->queue, ep->txq, (uint16_t)ep->txn);
	if (n < ep->txn)
		memmove(ep->txq, ep->txq + n,
			(ep->txn - n) * sizeof(ep->txq[0]));
	ep->txn -= n;
	return n;
}

/* ---- packets out ------------------------------------------------------- */

/* Build one packet for qp and queue it on its port queue. false when there
 * is no room or no buffer (the protocol recovers: a lost packet). */
static bool tx_pkt(struct sl_rdma_qp *qp, uint8_t op, uint32_t psn, bool se,
		   bool ackreq, const uint8_t *ext, unsigned extlen,
		   const void *pay, uint32_t plen)
{
	struct ep *ep = qp->ep;
	unsigned pad = (0u - plen) & 3;
	size_t roce = BTH_LEN + extlen + plen + pad + ICRC_LEN;
	struct sl_pkt *p;
	uint8_t *d, *r, *udp;
	uint32_t icrc;
	int len;

	if (ep->txn >= EP_TXQ)
		return false;
	p = sl_pkt_alloc(ep->pool);
	if (!p) {
		qp->st.tx_nobuf++;
		return false;
	}
	d = p->data;
	if (qp->hdr_len + roce > sl_pkt_tailroom(p)) {
		sl_pkt_free(p);
		qp->st.tx_nobuf++;
		return false;
	}
	r = d + qp->hdr_len;
	r[0] = op;
	r[1] = (uint8_t)((se ? BTH_SE : 0) | pad << 4);
	put_be16(r + 2, 0xffff);
	r[4] = 0;
	put_be24(r + 5, qp->conn.remote_qpn);
	r[8] = ackreq ? BTH_ACKREQ : 0;
	put_be24(r + 9, psn & PSN_MASK);
	if (extlen)
		memcpy(r + BTH_LEN, ext, extlen);
	if (plen)
		memcpy(r + BTH_LEN + extlen, pay, plen);
	memset(r + BTH_LEN + extlen + plen, 0, pad + ICRC_LEN);
	/* on a socket path the kernel sends from the socket's port */
	qp->hp.src.port = qp->ep->socket_path && qp->ep->sock_port ?
				  qp->ep->sock_port :
				  qp->conn.udp_sport;
	len = sl_udp_build(d, sl_pkt_tailroom(p), &qp->hp, NULL, roce);
	if (len < 0) {
		sl_pkt_free(p);
		qp->st.tx_nobuf++;
		return false;
	}
	udp = d + SL_ETH_HLEN + qp->ip_len;
	icrc = rdma_icrc_calc(d + SL_ETH_HLEN, qp->ip_len, udp, 8 + roce,
			      false);
	r += roce - ICRC_LEN;
	r[0] = (uint8_t)icrc;
	r[1] = (uint8_t)(icrc >> 8);
	r[2] = (uint8_t)(icrc >> 16);
	r[3] = (uint8_t)(icrc >> 24);
	if (qp->ip_len == 40) {
		/* the UDP checksum was summed over a zero ICRC: redo it */
		uint16_t c;

		memset(udp + 6, 0, 2);
		c = sl_ipv6_l4_csum(
			(const struct sl_ipv6_hdr *)(d + SL_ETH_HLEN),
			SL_IPPROTO_UDP, udp, 8 + roce);
		memcpy(udp + 6, &c, 2);
	}
	p->len = (uint32_t)len;
	ep->txq[ep->txn++] = p;
	qp->st.tx_pkts++;
	return true;
}

static bool tx_ack(struct sl_rdma_qp *qp, uint8_t syn, uint32_t psn)
{
	uint8_t aeth[AETH_LEN];

	aeth[0] = syn;
	put_be24(aeth + 1, qp->msn);
	if (!tx_pkt(qp, RC_ACK, psn, false, false, aeth, AETH_LEN, NULL, 0))
		return false;
	if (syn == AETH_ACK)
		qp->st.acks_sent++;
	return true;
}

/* ---- completions and errors -------------------------------------------- */

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

static void sq_complete(struct sl_rdma_qp *qp, struct swqe *w, int status,
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

static void rq_complete(struct sl_rdma_qp *qp, struct rwqe *w, int status,
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

/* Error state: flush every outstanding work request. */
static void qp_error(struct sl_rdma_qp *qp)
{
	if (qp->state == SL_RDMA_QPS_ERROR)
		return;
	qp->state = SL_RDMA_QPS_ERROR;
	for (; qp->sq_head != qp->sq_tail; qp->sq_head++)
		sq_complete(qp, &qp->sq[qp->sq_head & qp->sq_mask],
			    SL_RDMA_WC_WR_FLUSH_ERR, 0);
	for (; qp->rq_head != qp->rq_tail; qp->rq_head++)
		rq_complete(qp, &qp->rq[qp->rq_head & qp->rq_mask],
			    SL_RDMA_WC_WR_FLUSH_ERR, SL_RDMA_WC_RECV, 0, false,
			    0);
	qp->sq_cur = qp->sq_tail;
	qp->timer = 0;
	qp->ack_pending = false;
	for (uint32_t i = 0; i < qp->rd_n; i++)
		qp->rd[i].active = 0;
}

/* Complete the head WQE in error and take the QP to Error. */
static void sq_fail_head(struct sl_rdma_qp *qp, int status, uint8_t syn)
{
	if (qp->sq_head != qp->sq_tail) {
		sq_complete(qp, &qp->sq[qp->sq_head & qp->sq_mask], status,
			    syn);
		qp->sq_head++;
	}
	qp_error(qp);
}

/* ---- requester --------------------------------------------------------- */

static bool is_rd_atomic(int op)
{
	return op == SL_RDMA_WR_RDMA_READ ||
	       op == SL_RDMA_WR_ATOMIC_CMP_AND_SWP ||
	       op == SL_RDMA_WR_ATOMIC_FETCH_AND_ADD;
}

static bool is_atomic(int op)
{
	return op == SL_RDMA_WR_ATOMIC_CMP_AND_SWP ||
	       op == SL_RDMA_WR_ATOMIC_FETCH_AND_ADD;
}

static bool outstanding(const struct sl_rdma_qp *qp)
{
	return qp->sq_head != qp->sq_tail &&
	       qp->sq[qp->sq_head & qp->sq_mask].started;
}

/* The oldest PSN not acknowledged (where a retry starts). */
static uint32_t retry_point(const struct sl_rdma_qp *qp)
{
	const struct swqe *w;

	if (!outstanding(qp))
		return qp->req_psn;
	w = &qp->sq[qp->sq_head & qp->sq_mask];
	return (w->first_psn + w->done) & PSN_MASK;
}

static void timer_kick(struct sl_rdma_qp *qp)
{
	qp->timer = (outstanding(qp) && qp->timeout_ns && !qp->rnr_wait) ?
			    sl_time_ns() + qp->timeout_ns :
			    0;
}

/* Go back to psn: the next packet sent is the one that had it. */
static void goback(struct sl_rdma_qp *qp, uint32_t psn)
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
		ok = tx_pkt(qp, RC_READ_REQ, psn, false, true, ext, RETH_LEN,
			    NULL, 0);
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
		ok = tx_pkt(qp,
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
		ok = tx_pkt(qp, op, psn,
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
		timer_kick(qp);
	return true;
}

static unsigned req_output(struct sl_rdma_qp *qp)
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
				sq_fail_head(qp, w->loc_err, 0);
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

/* ---- completer --------------------------------------------------------- */

static void progress_made(struct sl_rdma_qp *qp)
{
	qp->retry_left = qp->attr.retry_cnt;
	qp->rnr_left = qp->attr.rnr_retry;
	qp->gb_valid = false;
	if (qp->cwnd < REQ_WINDOW)
		qp->cwnd++;
	timer_kick(qp);
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
		sq_complete(qp, w, SL_RDMA_WC_SUCCESS, 0);
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
	goback(qp, at);
}

static void comp_done_head(struct sl_rdma_qp *qp, struct swqe *w)
{
	uint32_t i = qp->sq_head;

	sq_complete(qp, w, SL_RDMA_WC_SUCCESS, 0);
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

static void comp_rx(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
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
		timer_kick(qp);
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
				sq_fail_head(qp, SL_RDMA_WC_RNR_RETRY_EXC_ERR,
					     h->syndrome);
				return;
			}
			qp->rnr_left--;
		}
		goback(qp, h->psn);
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
					sq_fail_head(qp,
						     SL_RDMA_WC_RETRY_EXC_ERR,
						     h->syndrome);
					return;
				}
				qp->retry_left--;
			}
			goback(qp, at);
			return;
		}
		qp->st.err_naks_rcvd++;
		sq_fail_head(qp,
			     h->syndrome == AETH_NAK_INV ?
				     SL_RDMA_WC_REM_INV_REQ_ERR :
			     h->syndrome == AETH_NAK_ACCESS ?
				     SL_RDMA_WC_REM_ACCESS_ERR :
				     SL_RDMA_WC_REM_OP_ERR,
			     h->syndrome);
		return;
	}
}

static void req_timers(struct sl_rdma_qp *qp, uint64_t now)
{
	if (qp->rnr_wait && now >= qp->rnr_until) {
		qp->rnr_wait = false;
		timer_kick(qp);
	}
	if (!qp->timer || now < qp->timer)
		return;
	if (!outstanding(qp)) {
		qp->timer = 0;
		return;
	}
	qp->st.timeouts++;
	if (qp->retry_left == 0) {
		sq_fail_head(qp, SL_RDMA_WC_RETRY_EXC_ERR, 0);
		return;
	}
	qp->retry_left--;
	qp->gb_valid = false;
	goback(qp, retry_point(qp));
	qp->timer = now + qp->timeout_ns;
}

/* ---- responder --------------------------------------------------------- */

/* A Class C error: NAK the request, then the QP goes to Error. */
static void resp_fail(struct sl_rdma_qp *qp, uint8_t syn, uint32_t psn)
{
	tx_ack(qp, syn, psn);
	qp->st.err_naks_sent++;
	qp_error(qp);
}

static struct rdrec *rec_alloc(struct sl_rdma_qp *qp)
{
	struct rdrec *r = &qp->rd[qp->rd_next % qp->rd_n];

	if (r->active)
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
			    !mr_check(qp->pd, h->rkey, true, h->va, h->dmalen,
				      SL_RDMA_ACCESS_REMOTE_READ)) {
				resp_fail(qp, AETH_NAK_ACCESS, h->psn);
				return;
			}
			r->next_psn = h->psn;
			r->off = off;
			r->active = 1;
			return;
		}
		return;
	}
	if (h->ackreq) {
		qp->ack_pending = true;
		qp->ack_psn = (qp->epsn - 1) & PSN_MASK;
	}
}

static struct rdrec *rec_oldest(struct sl_rdma_qp *qp);
static unsigned resp_output(struct sl_rdma_qp *qp);

static struct rwqe *rq_front(struct sl_rdma_qp *qp)
{
	return qp->rq_head == qp->rq_tail ? NULL :
					    &qp->rq[qp->rq_head & qp->rq_mask];
}

static void resp_rx(struct sl_rdma_qp *qp, const struct rdma_hdr *h)
{
	unsigned f = h->flags;
	int32_t d;
	struct rwqe *rw;
	uint8_t *dst;

	if (qp->state != SL_RDMA_QPS_RTS)
		return;
	d = psn_cmp(h->psn, qp->epsn);
	if (d > 0) {
		/* a gap: NAK once until the missing packet arrives */
		if (!qp->seq_nak_sent && tx_ack(qp, AETH_NAK_SEQ, qp->epsn)) {
			qp->seq_nak_sent = true;
			qp->st.seq_naks_sent++;
		}
		return;
	}
	if (d < 0) {
		resp_dup(qp, h);
		return;
	}
	qp->seq_nak_sent = false;
	/*
	 * READ responses read memory when they are sent: a later request must
	 * not change it before they are all out. Drain them now; if they do
	 * not all fit, drop the packet unexecuted (as if lost: the requester
	 * resends it, and every response it receives meanwhile counts as
	 * progress, so retries are not used up).
	 */
	if (!(f & OPF_READ) && rec_oldest(qp)) {
		resp_output(qp);
		ep_flush(qp->ep);
		if (rec_oldest(qp)) {
			qp->st.rx_deferred++;
			return;
		}
	}
	/* opcode sequence */
	if (qp->rcur == RCUR_SEND ?
		    !(f & OPF_SEND) || !(f & (OPF_MIDDLE | OPF_LAST)) :
	    qp->rcur == RCUR_WRITE ?
		    !(f & OPF_WRITE) || !(f & (OPF_MIDDLE | OPF_LAST)) :
		    (f & (OPF_MIDDLE | OPF_LAST)) != 0) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return;
	}
	/* QP access */
	if (((f & OPF_WRITE) &&
	     !(qp->attr.access & SL_RDMA_ACCESS_REMOTE_WRITE)) ||
	    ((f & OPF_READ) &&
	     !(qp->attr.access & SL_RDMA_ACCESS_REMOTE_READ)) ||
	    ((f & OPF_ATOMIC) &&
	     !(qp->attr.access & SL_RDMA_ACCESS_REMOTE_ATOMIC))) {
		resp_fail(qp, AETH_NAK_INV, h->psn);
		return;
	}
	/* resources: a receive WQE, or nothing is executed */
	if ((f & OPF_RQ) && !rq_front(qp)) {
		if (tx_ack(qp,
			   (uint8_t)(AETH_RNR | (qp->attr.min_rnr_timer & 31)),
			   h->psn))
			qp->st.rnr_naks_sent++;
		return;
	}
	/* lengths */
	if (f & OPF_PAYLOAD) {
		bool bad = false;

		if (f & (OPF_FIRST | OPF_MIDDLE))
			bad = h->paylen != qp->pmtu || h->pad;
		else if (f & OPF_LAST)
			bad = h->paylen == 0 || h->paylen > qp->pmtu ||
			      h->pad != ((0u - h->paylen) & 3);
		else
			bad = h->paylen > qp->pmtu ||
			      h->pad != ((0u - h->paylen) & 3);
		if (bad) {
			resp_fail(qp, AETH_NAK_INV, h->psn);
			return;
		}
	}

	if (f & OPF_SEND) {
		if (f & (OPF_FIRST | OPF_ONLY))
			qp->s_off = 0;
		rw = rq_front(qp);
		if (!rw) { /* cannot happen: FIRST/ONLY checked, held since */
			resp_fail(qp, AETH_NAK_OP, h->psn);
			return;
		}
		if (h->paylen > rw->sge.length - qp->s_off) {
			rq_complete(qp, rw, SL_RDMA_WC_LOC_LEN_ERR,
				    SL_RDMA_WC_RECV, qp->s_off, false, 0);
			qp->rq_head++;
			resp_fail(qp, AETH_NAK_INV, h->psn);
			return;
		}
		if (h->paylen) {
			dst = mr_check(qp->pd, rw->sge.lkey, false,
				       rw->sge.addr + qp->s_off, h->paylen,
				       SL_RDMA_ACCESS_LOCAL_WRITE);
			if (!dst) {
				rq_complete(qp, rw, SL_RDMA_WC_LOC_PROT_ERR,
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
				struct sl_rdma_mr *mr = mr_by_key(h->imm, true);

				if (!mr || mr->pd != qp->pd) {
					resp_fail(qp, AETH_NAK_OP, h->psn);
					return;
				}
				mr->valid = false;
			}
			rq_complete(qp, rw, SL_RDMA_WC_SUCCESS, SL_RDMA_WC_RECV,
				    qp->s_off, (f & OPF_IMM) != 0, h->imm);
			qp->rq_head++;
			qp->msn = (qp->msn + 1) & PSN_MASK;
			qp->rcur = RCUR_NONE;
		} else {
			qp->rcur = RCUR_SEND;
		}
	} else if (f & OPF_WRITE) {
		if (f & (OPF_FIRST | OPF_ONLY)) {
			if (h->dmalen > (1u << 31) ||
			    ((f & OPF_ONLY) && h->paylen != h->dmalen) ||
			    ((f & OPF_FIRST) && h->dmalen <= h->paylen)) {
				resp_fail(qp, AETH_NAK_INV, h->psn);
				return;
			}
			if (h->dmalen &&
			    !mr_check(qp->pd, h->rkey, true, h->va, h->dmalen,
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
			dst = mr_check(qp->pd, qp->w_rkey, true, qp->w_va,
				       h->paylen, SL_RDMA_ACCESS_REMOTE_WRITE);
			if (!dst) {
				resp_fail(qp, AETH_NAK_ACCESS, h->psn);
				return;
			}
			memcpy(dst, h->payload, h->paylen);
		}
		qp->w_va += h->paylen;
		qp->w_resid -= h->paylen;
		if (f & (OPF_LAST | OPF_ONLY)) {
			if (f & OPF_IMM) {
				rw = rq_front(qp);
				rq_complete(qp, rw, SL_RDMA_WC_SUCCESS,
					    SL_RDMA_WC_RECV_RDMA_WITH_IMM,
					    qp->w_len, true, h->imm);
				qp->rq_head++;
			}
			qp->msn = (qp->msn + 1) & PSN_MASK;
			qp->rcur = RCUR_NONE;
		} else {
			qp->rcur = RCUR_WRITE;
		}
	} else if (f & OPF_READ) {
		struct rdrec *r;
		uint32_t n;

		if (h->dmalen > (1u << 31)) {
			resp_fail(qp, AETH_NAK_INV, h->psn);
			return;
		}
		if (h->dmalen &&
		    !mr_check(qp->pd, h->rkey, true, h->va, h->dmalen,
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
		return;
	} else if (f & OPF_ATOMIC) {
		struct rdrec *r;
		uint64_t *p, orig;

		dst = mr_check(qp->pd, h->rkey, true, h->va, 8,
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
			__atomic_compare_exchange_n(p, &orig, h->swap_add,
						    false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST);
		} else {
			orig = __atomic_fetch_add(p, h->swap_add,
						  __ATOMIC_SEQ_CST);
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
		return;
	} else {
		return; /* a response opcode: not for the responder */
	}
	qp->epsn = (qp->epsn + 1) & PSN_MASK;
	if (h->ackreq) {
		qp->ack_pending = true;
		qp->ack_psn = h->psn;
	}
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

static unsigned resp_output(struct sl_rdma_qp *qp)
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
			if (!tx_pkt(qp, RC_ATOMIC_ACK, r->first, false, false,
				    ext, AETH_LEN + ATMACK_LEN, NULL, 0))
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
				src = mr_check(qp->pd, r->rkey, true,
					       r->va + r->off, plen,
					       SL_RDMA_ACCESS_REMOTE_READ);
				if (!src) {
					resp_fail(qp, AETH_NAK_ACCESS,
						  r->next_psn);
					break;
				}
			}
			if (!tx_pkt(qp, op, r->next_psn, false, false, ext,
				    op == RC_READ_RESP_MIDDLE ? 0 : AETH_LEN,
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

/* ---- receive and progress ---------------------------------------------- */

static bool pkey_match(uint16_t a, uint16_t b)
{
	return (a & 0x7fff) && (a & 0x7fff) == (b & 0x7fff) &&
	       ((a | b) & 0x8000);
}

static void ep_rx(struct ep *ep, const uint8_t *frame, size_t len)
{
	struct sl_frame f;
	struct rdma_hdr h;
	struct sl_rdma_qp *qp;
	const uint8_t *l3, *udp;
	size_t ip_len;

	if (sl_frame_parse(frame, len, &f) != 0 ||
	    f.l4_proto != SL_IPPROTO_UDP ||
	    (f.flags & (SL_FRAME_IP_FRAG | SL_FRAME_IP_EXT)) ||
	    (f.l3 != SL_L3_IPV4 && f.l3 != SL_L3_IPV6)) {
		ep->st.rx_not_roce++;
		return;
	}
	ip_len = f.l4_off - f.l3_off;
	if (ip_len != (f.l3 == SL_L3_IPV4 ? 20u : 40u) ||
	    f.payload_len < BTH_LEN + ICRC_LEN) {
		ep->st.rx_not_roce++;
		return;
	}
	l3 = frame + f.l3_off;
	udp = frame + f.l4_off;
	if (!ep->no_icrc) {
		const uint8_t *w = frame + f.payload_off + f.payload_len - 4;
		uint32_t c = rdma_icrc_calc(l3, ip_len, udp,
					    8 + (size_t)f.payload_len,
					    ep->socket_path);

		if (w[0] != (uint8_t)c || w[1] != (uint8_t)(c >> 8) ||
		    w[2] != (uint8_t)(c >> 16) || w[3] != (uint8_t)(c >> 24)) {
			uint32_t stored = (uint32_t)w[0] | (uint32_t)w[1] << 8 |
					  (uint32_t)w[2] << 16 |
					  (uint32_t)w[3] << 24;
			uint16_t id;

			/* a socket path sees no IPv4 ID; a sender other than
			 * sluice (rxe) writes its own: right for some ID is
			 * right, and counted (wire.h) */
			if (!ep->socket_path || ip_len != 20 ||
			    rdma_icrc_solve_id(l3, udp,
					       8 + (size_t)f.payload_len,
					       stored, &id)) {
				ep->st.rx_bad_icrc++;
				return;
			}
			ep->st.rx_icrc_id_unseen++;
		}
	}
	if (rdma_parse(frame + f.payload_off, f.payload_len, &h)) {
		ep->st.rx_not_roce++;
		return;
	}
	qp = qp_tab[h.dqpn % QP_TAB];
	if (!qp || qp->qpn != h.dqpn || qp->ep != ep ||
	    qp->state == SL_RDMA_QPS_INIT || !pkey_match(h.pkey, 0xffff) ||
	    sl_get_be16(udp + 2) != qp->conn.local.port) {
		ep->st.rx_unknown_qp++;
		return;
	}
	/* the source must be the connected peer */
	if (f.l3 == SL_L3_IPV4 ?
		    qp->conn.remote.family != AF_INET ||
			    memcmp(l3 + 12, &qp->conn.remote.v4, 4) :
		    qp->conn.remote.family != AF_INET6 ||
			    memcmp(l3 + 8, &qp->conn.remote.v6, 16)) {
		ep->st.rx_unknown_qp++;
		return;
	}
	qp->st.rx_pkts++;
	if (h.flags & OPF_RESP)
		comp_rx(qp, &h);
	else
		resp_rx(qp, &h);
}

int sl_rdma_progress(struct sl_rdma_qp *qp)
{
	struct ep *ep = qp->ep;
	struct sl_pkt *pkts[EP_RX_BURST];
	struct sl_rdma_qp *q;
	uint16_t n;
	int work = 0;
	uint64_t now;

	ep_flush(ep);
	n = sl_rx_burst(ep->port, ep->queue, pkts, EP_RX_BURST);
	ep_path(ep); /* the burst may have moved an auto: port */
	for (uint16_t i = 0; i < n; i++) {
		ep_rx(ep, pkts[i]->data, pkts[i]->len);
		sl_pkt_free(pkts[i]);
	}
	work += n;
	now = sl_time_ns();
	for (q = ep->qps; q; q = q->ep_next) {
		if (q->state != SL_RDMA_QPS_RTS)
			continue;
		req_timers(q, now);
		resp_output(q);
		req_output(q);
	}
	work += (int)ep_flush(ep);
	return work;
}

void rdma_input_frame(struct sl_rdma_qp *qp, const uint8_t *frame, size_t len)
{
	ep_rx(qp->ep, frame, len);
}

void rdma_skip_icrc(struct sl_rdma_qp *qp, bool skip)
{
	qp->ep->no_icrc = skip;
}

void rdma_mr_revalidate(struct sl_rdma_mr *mr)
{
	mr->valid = true;
}

uint32_t rdma_qp_epsn(const struct sl_rdma_qp *qp)
{
	return qp->epsn;
}

uint32_t rdma_qp_msn(const struct sl_rdma_qp *qp)
{
	return qp->msn;
}

/* ---- queue pairs (control path) ---------------------------------------- */

static uint32_t pow2(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

struct sl_rdma_qp *sl_rdma_qp_create(struct sl_rdma_pd *pd,
				     struct sl_port *port, uint16_t queue,
				     struct sl_rdma_cq *send_cq,
				     struct sl_rdma_cq *recv_cq,
				     const struct sl_rdma_qp_attr *attrs)
{
	struct sl_rdma_qp *qp;
	struct sl_rdma_qp_attr a = {
		.max_send_wr = DEF_DEPTH,
		.max_recv_wr = DEF_DEPTH,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.min_rnr_timer = 1,
		.max_rd_atomic = 16,
		.max_dest_rd_atomic = 16,
	};
	uint32_t i;

	if (!pd || !port || !send_cq || !recv_cq) {
		sl_fail(EINVAL, "rdma: qp_create: missing pd, port or cq");
		return NULL;
	}
	if (attrs) {
		if (sl_opts_in(&a, sizeof(a), attrs, "sl_rdma_qp_create",
			       "sl_rdma_qp_attr"))
			return NULL;
		if (!a.max_send_wr)
			a.max_send_wr = DEF_DEPTH;
		if (!a.max_recv_wr)
			a.max_recv_wr = DEF_DEPTH;
		if (!a.max_rd_atomic)
			a.max_rd_atomic = 1;
		if (!a.max_dest_rd_atomic)
			a.max_dest_rd_atomic = 1;
	}
	if (a.max_send_wr > 65536 || a.max_recv_wr > 65536 || a.retry_cnt > 7 ||
	    a.rnr_retry > 7 || a.min_rnr_timer > 31 || a.timeout > 31 ||
	    (a.access & ~ACCESS_ALL)) {
		sl_fail(EINVAL, "rdma: qp_create: attribute out of range");
		return NULL;
	}
	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		sl_fail(ENOMEM, "rdma: no memory for a queue pair");
		return NULL;
	}
	qp->attr = a;
	qp->attr.sz = sizeof(a);
	qp->sq_mask = pow2(a.max_send_wr) - 1;
	qp->rq_mask = pow2(a.max_recv_wr) - 1;
	qp->rd_n = a.max_dest_rd_atomic;
	qp->sq = calloc(qp->sq_mask + 1, sizeof(*qp->sq));
	qp->rq = calloc(qp->rq_mask + 1, sizeof(*qp->rq));
	qp->rd = calloc(qp->rd_n, sizeof(*qp->rd));
	if (!qp->sq || !qp->rq || !qp->rd) {
		sl_fail(ENOMEM, "rdma: no memory for queue pair queues");
		goto fail;
	}
	qp->pd = pd;
	qp->scq = send_cq;
	qp->rcq = recv_cq;
	/* timeout 0 means none; 4.096 us << timeout otherwise */
	qp->timeout_ns = a.timeout ? 4096ull << a.timeout : 0;
	qp->retry_left = a.retry_cnt;
	qp->rnr_left = a.rnr_retry;
	pthread_mutex_lock(&tab_lock);
	qp->ep = ep_get(port, queue);
	if (!qp->ep) {
		pthread_mutex_unlock(&tab_lock);
		goto fail;
	}
	for (i = 0; i < QP_TAB; i++) {
		uint32_t n = qpn_next;

		qpn_next = (qpn_next + 1) & PSN_MASK;
		if (qpn_next < 0x11)
			qpn_next = 0x11;
		if (!qp_tab[n % QP_TAB]) {
			qp->qpn = n;
			break;
		}
	}
	if (i == QP_TAB) {
		ep_put(qp->ep);
		pthread_mutex_unlock(&tab_lock);
		sl_fail(ENOMEM, "rdma: all %d queue pair numbers in use",
			QP_TAB);
		goto fail;
	}
	qp->ep_next = qp->ep->qps;
	qp->ep->qps = qp;
	/* atomics: regions take and drop pd refs without tab_lock, and the
	 * destroy calls read these without it */
	__atomic_add_fetch(&send_cq->refs, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&recv_cq->refs, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&pd->refs, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&qp_tab[qp->qpn % QP_TAB], qp, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tab_lock);
	return qp;
fail:
	free(qp->sq);
	free(qp->rq);
	free(qp->rd);
	free(qp);
	return NULL;
}

int sl_rdma_qp_connect(struct sl_rdma_qp *qp,
		       const struct sl_rdma_qp_conn *conn)
{
	struct sl_rdma_qp_conn c;
	struct sl_pkt *p;
	size_t room;

	if (!qp || !conn)
		return sl_fail(EINVAL, "rdma: qp_connect: bad arguments");
	if (sl_opts_in(&c, sizeof(c), conn, "sl_rdma_qp_connect",
		       "sl_rdma_qp_conn"))
		return -EINVAL;
	if (qp->state != SL_RDMA_QPS_INIT)
		return sl_fail(EINVAL,
			       "rdma: qp_connect: QP %#x is not in "
			       "INIT",
			       qp->qpn);
	if (c.mtu == 0)
		c.mtu = 3;
	if (c.mtu > 5)
		return sl_fail(EINVAL,
			       "rdma: qp_connect: path MTU enum %u "
			       "(1..5)",
			       c.mtu);
	if (c.local.family == 0) {
		struct sl_port_info info = { .sz = sizeof(info) };

		if (sl_port_info(qp->ep->port, &info) || info.addr.family == 0)
			return sl_fail(EINVAL, "rdma: qp_connect: no local "
					       "address given and the port "
					       "has none");
		c.local = info.addr;
	}
	ep_path(qp->ep);
	if (qp->ep->socket_path) {
		struct sl_port_info info = { .sz = sizeof(info) };

		/* the kernel sends from the socket's port and address: the
		 * ICRC must cover what it really sends */
		if (sl_port_info(qp->ep->port, &info) == 0 &&
		    info.addr.family == c.local.family)
			c.local.port = info.addr.port;
		c.udp_sport = c.local.port;
	}
	if (c.local.family != c.remote.family ||
	    (c.local.family != AF_INET && c.local.family != AF_INET6))
		return sl_fail(EINVAL, "rdma: qp_connect: local and remote "
				       "addresses must be both IPv4 or IPv6");
	if (!c.local.port)
		c.local.port = SL_RDMA_UDP_PORT;
	if (!c.remote.port)
		c.remote.port = SL_RDMA_UDP_PORT;
	if (!c.udp_sport)
		c.udp_sport = (uint16_t)(0xc000 | ((qp->qpn ^ (qp->qpn >> 14)) &
						   0x3fff));
	if (!c.remote_qpn || c.remote_qpn > PSN_MASK)
		return sl_fail(EINVAL, "rdma: qp_connect: bad remote QPN %#x",
			       c.remote_qpn);
	qp->pmtu = 128u << c.mtu;
	memset(&qp->hp, 0, sizeof(qp->hp));
	memcpy(qp->hp.src_mac, c.local_mac, SL_ETH_ALEN);
	memcpy(qp->hp.dst_mac, c.remote_mac, SL_ETH_ALEN);
	qp->hp.src = c.local;
	qp->hp.src.port = c.udp_sport;
	qp->hp.dst = c.remote;
	qp->hp.ttl = 64;
	qp->hp.ip_id = 0; /* the convention the ICRC is computed with */
	qp->hp.flags = SL_BUILD_NO_L4_CSUM;
	qp->hdr_len = sl_udp_hdr_len(&qp->hp);
	qp->ip_len = c.local.family == AF_INET ? 20 : 40;
	p = sl_pkt_alloc(qp->ep->pool);
	if (!p)
		return sl_fail(ENOBUFS, "rdma: qp_connect: the port's pool "
					"is empty");
	room = sl_pkt_tailroom(p);
	sl_pkt_free(p);
	if (qp->hdr_len + BTH_LEN + RETH_LEN + IMM_LEN + qp->pmtu + 3 +
		    ICRC_LEN >
	    room)
		return sl_fail(EMSGSIZE,
			       "rdma: qp_connect: path MTU %u does "
			       "not fit the port's %zu-byte buffers; "
			       "use a smaller mtu",
			       qp->pmtu, room);
	qp->conn = c;
	qp->conn.sq_psn &= PSN_MASK;
	qp->conn.rq_psn &= PSN_MASK;
	qp->req_psn = qp->snd_max = qp->conn.sq_psn;
	qp->rsp_last = (qp->conn.sq_psn - 1) & PSN_MASK;
	qp->cwnd = REQ_WINDOW;
	qp->epsn = qp->conn.rq_psn;
	qp->state = SL_RDMA_QPS_RTS;
	return 0;
}

int sl_rdma_qp_destroy(struct sl_rdma_qp *qp)
{
	struct sl_rdma_qp **pp;

	if (!qp)
		return 0;
	pthread_mutex_lock(&tab_lock);
	__atomic_store_n(&qp_tab[qp->qpn % QP_TAB], NULL, __ATOMIC_RELEASE);
	for (pp = &qp->ep->qps; *pp; pp = &(*pp)->ep_next)
		if (*pp == qp) {
			*pp = qp->ep_next;
			break;
		}
	ep_put(qp->ep);
	__atomic_sub_fetch(&qp->scq->refs, 1, __ATOMIC_RELEASE);
	__atomic_sub_fetch(&qp->rcq->refs, 1, __ATOMIC_RELEASE);
	__atomic_sub_fetch(&qp->pd->refs, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tab_lock);
	free(qp->sq);
	free(qp->rq);
	free(qp->rd);
	free(qp);
	return 0;
}

uint32_t sl_rdma_qp_num(const struct sl_rdma_qp *qp)
{
	return qp->qpn;
}

int sl_rdma_qp_state(const struct sl_rdma_qp *qp)
{
	return qp->state;
}

int sl_rdma_qp_stats(const struct sl_rdma_qp *qp, struct sl_rdma_qp_stats *out)
{
	*out = qp->st;
	return 0;
}

int sl_rdma_port_stats(const struct sl_rdma_qp *qp,
		       struct sl_rdma_port_stats *out)
{
	*out = qp->ep->st;
	return 0;
}

/* ---- posting ----------------------------------------------------------- */

int sl_rdma_post_send(struct sl_rdma_qp *qp, const struct sl_rdma_send_wr *wr)
{
	struct swqe *w;
	bool local_write;
	uint32_t len;

	if (qp->state != SL_RDMA_QPS_RTS)
		return -(errno = ENOTCONN);
	if (wr->opcode < SL_RDMA_WR_RDMA_WRITE ||
	    wr->opcode > SL_RDMA_WR_SEND_WITH_INV ||
	    wr->sge.length > SL_RDMA_MAX_MSG ||
	    (is_atomic(wr->opcode) && wr->sge.length != 8))
		return -(errno = EINVAL);
	if (qp->sq_tail - qp->sq_head > qp->sq_mask)
		return -(errno = ENOMEM);
	w = &qp->sq[qp->sq_tail & qp->sq_mask];
	memset(w, 0, sizeof(*w));
	w->wr = *wr;
	len = wr->sge.length;
	if (wr->opcode == SL_RDMA_WR_RDMA_READ)
		w->npsn = len ? (len + qp->pmtu - 1) / qp->pmtu : 1;
	else if (is_atomic(wr->opcode))
		w->npsn = 1;
	else
		w->npsn = len ? (len + qp->pmtu - 1) / qp->pmtu : 1;
	/* requester-side key checks never reach the wire */
	local_write = is_rd_atomic(wr->opcode);
	if (len && !mr_check(qp->pd, wr->sge.lkey, false, wr->sge.addr, len,
			     local_write ? SL_RDMA_ACCESS_LOCAL_WRITE : 0))
		w->loc_err = SL_RDMA_WC_LOC_PROT_ERR;
	qp->sq_tail++;
	return 0;
}

int sl_rdma_post_recv(struct sl_rdma_qp *qp, uint64_t wr_id,
		      const struct sl_rdma_sge *sge)
{
	struct rwqe *w;

	if (qp->state == SL_RDMA_QPS_ERROR)
		return -(errno = ENOTCONN);
	if (qp->rq_tail - qp->rq_head > qp->rq_mask)
		return -(errno = ENOMEM);
	if (sge->length && !mr_check(qp->pd, sge->lkey, false, sge->addr,
				     sge->length, SL_RDMA_ACCESS_LOCAL_WRITE))
		return -(errno = EINVAL);
	w = &qp->rq[qp->rq_tail & qp->rq_mask];
	w->wr_id = wr_id;
	w->sge = *sge;
	qp->rq_tail++;
	return 0;
}
