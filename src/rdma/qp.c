// SPDX-License-Identifier: MIT
/*
 * Queue pairs: creating, connecting and destroying them, their state and
 * statistics, posting work requests, and sl_rdma_progress(), which drives
 * a port queue and the engines of its QPs. The QP numbers and region keys
 * live in tables that change under rdma_tab_lock; the references a QP
 * holds on its PD and CQs are atomic, since regions and the destroy calls
 * touch them without the lock.
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
#include "core/registry.h"
#include "rdma/rdma_int.h"
#include "rdma/wire.h"

#define EP_RX_BURST 64
#define DEF_DEPTH 256

pthread_mutex_t rdma_tab_lock = PTHREAD_MUTEX_INITIALIZER;
struct sl_rdma_qp *rdma_qp_tab[QP_TAB];
static uint32_t qpn_next = 0x11;

/* Error state: flush every outstanding work request. */
void rdma_qp_error(struct sl_rdma_qp *qp)
{
	if (qp->state == SL_RDMA_QPS_ERROR)
		return;
	qp->state = SL_RDMA_QPS_ERROR;
	for (; qp->sq_head != qp->sq_tail; qp->sq_head++)
		rdma_sq_complete(qp, &qp->sq[qp->sq_head & qp->sq_mask],
				 SL_RDMA_WC_WR_FLUSH_ERR, 0);
	for (; qp->rq_head != qp->rq_tail; qp->rq_head++)
		rdma_rq_complete(qp, &qp->rq[qp->rq_head & qp->rq_mask],
				 SL_RDMA_WC_WR_FLUSH_ERR, SL_RDMA_WC_RECV, 0,
				 false, 0);
	qp->sq_cur = qp->sq_tail;
	qp->timer = 0;
	qp->ack_pending = false;
	for (uint32_t i = 0; i < qp->rd_n; i++)
		qp->rd[i].active = 0;
}

/* Complete the head WQE in error and take the QP to Error. */
void rdma_sq_fail_head(struct sl_rdma_qp *qp, int status, uint8_t syn)
{
	if (qp->sq_head != qp->sq_tail) {
		rdma_sq_complete(qp, &qp->sq[qp->sq_head & qp->sq_mask], status,
				 syn);
		qp->sq_head++;
	}
	rdma_qp_error(qp);
}

int sl_rdma_progress(struct sl_rdma_qp *qp)
{
	struct ep *ep = qp->ep;
	struct sl_pkt *pkts[EP_RX_BURST];
	struct sl_rdma_qp *q;
	uint16_t n;
	int work = 0;
	uint64_t now;

	rdma_ep_flush(ep);
	n = sl_rx_burst(ep->port, ep->queue, pkts, EP_RX_BURST);
	rdma_ep_path(ep); /* the burst may have moved an auto: port */
	for (uint16_t i = 0; i < n; i++) {
		rdma_ep_rx(ep, pkts[i]->data, pkts[i]->len);
		sl_pkt_free(pkts[i]);
	}
	work += n;
	now = sl_time_ns();
	for (q = ep->qps; q; q = q->ep_next) {
		if (q->state != SL_RDMA_QPS_RTS)
			continue;
		rdma_req_timers(q, now);
		rdma_resp_output(q);
		rdma_req_output(q);
	}
	work += (int)rdma_ep_flush(ep);
	return work;
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
	pthread_mutex_lock(&rdma_tab_lock);
	qp->ep = rdma_ep_get(port, queue);
	if (!qp->ep) {
		pthread_mutex_unlock(&rdma_tab_lock);
		goto fail;
	}
	for (i = 0; i < QP_TAB; i++) {
		uint32_t n = qpn_next;

		qpn_next = (qpn_next + 1) & PSN_MASK;
		if (qpn_next < 0x11)
			qpn_next = 0x11;
		if (!rdma_qp_tab[n % QP_TAB]) {
			qp->qpn = n;
			break;
		}
	}
	if (i == QP_TAB) {
		rdma_ep_put(qp->ep);
		pthread_mutex_unlock(&rdma_tab_lock);
		sl_fail(ENOMEM, "rdma: all %d queue pair numbers in use",
			QP_TAB);
		goto fail;
	}
	qp->ep_next = qp->ep->qps;
	qp->ep->qps = qp;
	/* atomics: regions take and drop pd refs without rdma_tab_lock, and the
	 * destroy calls read these without it */
	__atomic_add_fetch(&send_cq->refs, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&recv_cq->refs, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&pd->refs, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&rdma_qp_tab[qp->qpn % QP_TAB], qp, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rdma_tab_lock);
	sl_reg_add(SL_REG_QP, qp, NULL); /* for telemetry */
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
	rdma_ep_path(qp->ep);
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
	room = SL_MAX(sl_pkt_tailroom(p), qp->ep->big_room);
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
	sl_reg_del(qp); /* first: waits out a telemetry read of it */
	pthread_mutex_lock(&rdma_tab_lock);
	__atomic_store_n(&rdma_qp_tab[qp->qpn % QP_TAB], NULL,
			 __ATOMIC_RELEASE);
	for (pp = &qp->ep->qps; *pp; pp = &(*pp)->ep_next)
		if (*pp == qp) {
			*pp = qp->ep_next;
			break;
		}
	rdma_ep_put(qp->ep);
	__atomic_sub_fetch(&qp->scq->refs, 1, __ATOMIC_RELEASE);
	__atomic_sub_fetch(&qp->rcq->refs, 1, __ATOMIC_RELEASE);
	__atomic_sub_fetch(&qp->pd->refs, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rdma_tab_lock);
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
	/* relaxed: telemetry reads it from its own thread */
	return __atomic_load_n(&qp->state, __ATOMIC_RELAXED);
}

/* The counters are plain words written by the thread that drives the QP;
 * a relaxed load of each aligned word is tear-free, so another thread
 * (telemetry) reads them without stopping it. */
static void load_words(uint64_t *dst, const uint64_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

_Static_assert(sizeof(struct sl_rdma_qp_stats) % sizeof(uint64_t) == 0,
	       "sl_rdma_qp_stats: uint64_t counters only");
_Static_assert(sizeof(struct sl_rdma_port_stats) % sizeof(uint64_t) == 0,
	       "sl_rdma_port_stats: uint64_t counters only");

int sl_rdma_qp_stats(const struct sl_rdma_qp *qp, struct sl_rdma_qp_stats *out)
{
	load_words((uint64_t *)out, (const uint64_t *)&qp->st,
		   sizeof(*out) / sizeof(uint64_t));
	return 0;
}

int sl_rdma_port_stats(const struct sl_rdma_qp *qp,
		       struct sl_rdma_port_stats *out)
{
	load_words((uint64_t *)out, (const uint64_t *)&qp->ep->st,
		   sizeof(*out) / sizeof(uint64_t));
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
	if (len &&
	    !rdma_mr_check(qp->pd, wr->sge.lkey, false, wr->sge.addr, len,
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
	if (sge->length &&
	    !rdma_mr_check(qp->pd, sge->lkey, false, sge->addr, sge->length,
			   SL_RDMA_ACCESS_LOCAL_WRITE))
		return -(errno = EINVAL);
	w = &qp->rq[qp->rq_tail & qp->rq_mask];
	w->wr_id = wr_id;
	w->sge = *sge;
	qp->rq_tail++;
	return 0;
}
