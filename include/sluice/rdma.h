/* SPDX-License-Identifier: MIT */
/*
 * One-sided remote memory: the InfiniBand reliable-connection (RC) transport
 * in user space, on the wire as RoCEv2 (UDP port 4791), over any sluice port.
 *
 * The objects are shaped after the verbs RDMA users know: protection domains
 * (sl_rdma_pd), memory regions registered with access rights giving an lkey
 * and an rkey (sl_rdma_mr), completion queues (sl_rdma_cq) and RC queue
 * pairs (sl_rdma_qp) over a port queue. Several queue pairs may share one
 * port queue: received packets are demultiplexed by destination QP number.
 *
 * There are no hidden threads: the application calls sl_rdma_progress() in
 * its poll loop, which receives from the port, runs the responder and the
 * completer, transmits, and runs the retransmission and RNR timers. Every
 * object of one port queue (its queue pairs, and the completion queues and
 * regions they use) must be used from one thread at a time; registering and
 * deregistering regions is thread-safe with respect to other registrations
 * but must not race with a progress call that may touch the region.
 *
 * Limits of this implementation: one scatter/gather element per work
 * request; messages up to SL_RDMA_MAX_MSG (1 GiB); every work request is
 * signalled (produces a completion).
 *
 * ICRC on the socket path: on "udp:" ports the kernel writes the IP header,
 * and the receiver never sees the sender's IPv4 ID and flags. sluice fixes
 * the convention the spec allows: the ICRC is computed over an IPv4 header
 * with ID 0, DF set and no options, whatever the kernel sends (IPv6 headers
 * are reconstructed exactly). On the other drivers (pair, xdp, packet) every
 * byte is ours and the frames carry exactly that header (ID 0, DF), so the
 * ICRC in a capture is right byte for byte.
 */
#ifndef SLUICE_RDMA_H
#define SLUICE_RDMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>
#include <sluice/net.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sl_port;
struct sl_rdma_pd;
struct sl_rdma_mr;
struct sl_rdma_cq;
struct sl_rdma_qp;

#define SL_RDMA_UDP_PORT 4791
#define SL_RDMA_MAX_MSG (1u << 30)

/* Access rights of a region (the values of ibv_access_flags). Local read is
 * always allowed; REMOTE_WRITE and REMOTE_ATOMIC require LOCAL_WRITE. */
#define SL_RDMA_ACCESS_LOCAL_WRITE 1u
#define SL_RDMA_ACCESS_REMOTE_WRITE 2u
#define SL_RDMA_ACCESS_REMOTE_READ 4u
#define SL_RDMA_ACCESS_REMOTE_ATOMIC 8u

/* Completion status (the values of ibv_wc_status). */
enum sl_rdma_wc_status {
	SL_RDMA_WC_SUCCESS = 0,
	SL_RDMA_WC_LOC_LEN_ERR = 1,
	SL_RDMA_WC_LOC_QP_OP_ERR = 2,
	SL_RDMA_WC_LOC_PROT_ERR = 4,
	SL_RDMA_WC_WR_FLUSH_ERR = 5,
	SL_RDMA_WC_BAD_RESP_ERR = 7,
	SL_RDMA_WC_REM_INV_REQ_ERR = 9,
	SL_RDMA_WC_REM_ACCESS_ERR = 10,
	SL_RDMA_WC_REM_OP_ERR = 11,
	SL_RDMA_WC_RETRY_EXC_ERR = 12,
	SL_RDMA_WC_RNR_RETRY_EXC_ERR = 13,
};

/* "SUCCESS", "REM_ACCESS_ERR", ... ("?" for an unknown value). */
SL_API const char *sl_rdma_wc_status_str(int status);

/* What a completion was for. */
enum sl_rdma_wc_opcode {
	SL_RDMA_WC_SEND = 0,
	SL_RDMA_WC_RDMA_WRITE,
	SL_RDMA_WC_RDMA_READ,
	SL_RDMA_WC_COMP_SWAP,
	SL_RDMA_WC_FETCH_ADD,
	SL_RDMA_WC_RECV = 128,
	SL_RDMA_WC_RECV_RDMA_WITH_IMM,
};

struct sl_rdma_wc {
	uint64_t wr_id;
	int status; /* enum sl_rdma_wc_status */
	int opcode; /* enum sl_rdma_wc_opcode */
	uint32_t byte_len; /* received bytes (RECV), RETH length (WITH_IMM) */
	uint32_t imm; /* host order, valid when has_imm */
	uint32_t qp_num;
	uint8_t has_imm;
	uint8_t vendor_err; /* the AETH syndrome of a NAK that caused it */
	uint8_t rsvd[2];
};

/* Work request operations. */
enum sl_rdma_wr_opcode {
	SL_RDMA_WR_RDMA_WRITE = 0,
	SL_RDMA_WR_RDMA_WRITE_WITH_IMM,
	SL_RDMA_WR_SEND,
	SL_RDMA_WR_SEND_WITH_IMM,
	SL_RDMA_WR_RDMA_READ,
	SL_RDMA_WR_ATOMIC_CMP_AND_SWP,
	SL_RDMA_WR_ATOMIC_FETCH_AND_ADD,
	SL_RDMA_WR_SEND_WITH_INV,
};

/* sl_rdma_send_wr.flags */
#define SL_RDMA_SEND_SOLICITED (1u << 0)
/* Start only when every earlier READ and atomic has completed: without it
 * a later WRITE may change memory a READ that is retried reads again (as
 * with IBV_SEND_FENCE). */
#define SL_RDMA_SEND_FENCE (1u << 1)

/* A local buffer: addr inside a region registered with lkey. */
struct sl_rdma_sge {
	uint64_t addr;
	uint32_t length;
	uint32_t lkey;
};

struct sl_rdma_send_wr {
	uint64_t wr_id;
	int opcode; /* enum sl_rdma_wr_opcode */
	unsigned flags; /* SL_RDMA_SEND_* */
	struct sl_rdma_sge sge; /* atomics: 8 bytes receiving the old value */
	uint32_t imm; /* host order: WITH_IMM immediate, SEND_WITH_INV rkey */
	uint32_t rkey; /* RDMA and atomics */
	uint64_t remote_addr; /* RDMA and atomics */
	uint64_t compare_add; /* CMP_AND_SWP: compare; FETCH_AND_ADD: add */
	uint64_t swap; /* CMP_AND_SWP */
};

/* ---- protection domains and memory regions (control path) ----------- */

/* NULL with errno set on failure. */
SL_API struct sl_rdma_pd *sl_rdma_pd_create(void);
/* 0, or -EBUSY while regions or queue pairs still use it. */
SL_API int sl_rdma_pd_destroy(struct sl_rdma_pd *pd);

/*
 * Register len bytes at addr (1 byte up to 4 GiB - 1) with access (SL_RDMA_ACCESS_*). Returns the region, or NULL with
 * errno set: EINVAL (REMOTE_WRITE or REMOTE_ATOMIC without LOCAL_WRITE, a
 * NULL address, unknown flags), ENOMEM (no free key). The region's iova is
 * addr: remote peers address it by virtual address. Keys are (index << 8 |
 * variant) and compared whole, so deregistration makes them stale at once.
 */
SL_API struct sl_rdma_mr *sl_rdma_reg_mr(struct sl_rdma_pd *pd, void *addr,
					 size_t len, unsigned access);
/* The rkey is 0 when no REMOTE_* right was asked for (as in rxe). */
SL_API uint32_t sl_rdma_mr_lkey(const struct sl_rdma_mr *mr);
SL_API uint32_t sl_rdma_mr_rkey(const struct sl_rdma_mr *mr);
/* 0 or -errno. The keys are stale when it returns. */
SL_API int sl_rdma_dereg_mr(struct sl_rdma_mr *mr);

/*
 * For a region whose bytes go on somewhere once they arrive (a file or a
 * GPU through the staging engine: `sluice rdma server --target`): fn is
 * called after each packet of a remote WRITE placed its bytes, with their
 * offset in the region and length, and last set on a message's last
 * packet; in the thread that runs sl_rdma_progress, before the packet is
 * acknowledged, so a fn that waits holds the requester back
 * (back-pressure) rather than letting it run ahead. fn must not call into
 * the queue pair. Set it before the rkey is handed out; NULL removes it.
 * 0, or -EINVAL.
 */
typedef void (*sl_rdma_mr_write_fn)(void *ctx, uint64_t off, uint32_t len,
				    bool last);
SL_API int sl_rdma_mr_on_write(struct sl_rdma_mr *mr, sl_rdma_mr_write_fn fn,
			       void *ctx);

/* ---- completion queues ----------------------------------------------- */

/* A queue of up to depth completions. NULL with errno set on failure. */
SL_API struct sl_rdma_cq *sl_rdma_cq_create(unsigned depth);
SL_API int sl_rdma_cq_destroy(struct sl_rdma_cq *cq);
/* Take up to n completions, oldest first; returns how many. Completions that
 * find the queue full are counted (sl_rdma_cq_overflows) and lost. Fast
 * path. */
SL_API int sl_rdma_poll_cq(struct sl_rdma_cq *cq, int n, struct sl_rdma_wc *wc);
SL_API uint64_t sl_rdma_cq_overflows(const struct sl_rdma_cq *cq);

/* ---- queue pairs ----------------------------------------------------- */

enum sl_rdma_qp_state {
	SL_RDMA_QPS_INIT = 0, /* created, not connected */
	SL_RDMA_QPS_RTS, /* connected: sends and receives */
	SL_RDMA_QPS_ERROR, /* failed: work requests are flushed */
};

struct sl_rdma_qp_attr {
	size_t sz; /* sizeof(struct sl_rdma_qp_attr) */
	uint32_t max_send_wr; /* send queue depth (default 256) */
	uint32_t max_recv_wr; /* receive queue depth (default 256) */
	unsigned access; /* REMOTE_* operations the responder accepts */
	uint8_t timeout; /* local ACK timeout 4.096 us << timeout; 0 = none
			  * (default 14, 67 ms) */
	uint8_t retry_cnt; /* 0..7 (default 7; 7 retries, not infinite) */
	uint8_t rnr_retry; /* 0..7, 7 = infinite (default 7) */
	uint8_t min_rnr_timer; /* RNR NAK timer code 0..31 (default 1) */
	uint8_t max_rd_atomic; /* outstanding READ+atomic (default 16) */
	uint8_t max_dest_rd_atomic; /* accepted from the peer (default 16) */
	uint8_t rsvd[2];
};

/* Where the peer is: exchanged out of band. */
struct sl_rdma_qp_conn {
	size_t sz; /* sizeof(struct sl_rdma_qp_conn) */
	struct sl_addr local; /* our address; port 0 means 4791, or on udp:
			       * ports the port's own address if family is 0 */
	struct sl_addr remote; /* the peer's address; port 0 means 4791 */
	uint8_t local_mac[SL_ETH_ALEN]; /* for xdp/packet ports */
	uint8_t remote_mac[SL_ETH_ALEN];
	uint32_t remote_qpn;
	uint32_t sq_psn; /* our first PSN (24 bits) */
	uint32_t rq_psn; /* the peer's first PSN: our expected PSN */
	uint8_t mtu; /* path MTU as ibv_mtu: 1=256 .. 5=4096 (0: 3 = 1024) */
	uint16_t udp_sport; /* 0: 0xC000 + a hash of the QPN (not on udp:) */
};

/*
 * Create an RC queue pair on queue `queue` of port, in pd, completing sends
 * to send_cq and receives to recv_cq (may be the same). attrs may be NULL.
 * NULL with errno set on failure. The QP number (sl_rdma_qp_num) is unique
 * in the process. Control path.
 */
SL_API struct sl_rdma_qp *
sl_rdma_qp_create(struct sl_rdma_pd *pd, struct sl_port *port, uint16_t queue,
		  struct sl_rdma_cq *send_cq, struct sl_rdma_cq *recv_cq,
		  const struct sl_rdma_qp_attr *attrs);
/* Connect (INIT -> RTS). 0 or -errno: -EINVAL for a bad MTU or address,
 * -EMSGSIZE when the path MTU does not fit the port's buffers. */
SL_API int sl_rdma_qp_connect(struct sl_rdma_qp *qp,
			      const struct sl_rdma_qp_conn *conn);
SL_API int sl_rdma_qp_destroy(struct sl_rdma_qp *qp);
SL_API uint32_t sl_rdma_qp_num(const struct sl_rdma_qp *qp);
SL_API int sl_rdma_qp_state(const struct sl_rdma_qp *qp);

/*
 * Post one send-queue work request. 0, or -EINVAL (bad opcode, length over
 * SL_RDMA_MAX_MSG, atomic with a buffer other than 8 bytes), -ENOMEM (the
 * send queue is full), -ENOTCONN (QP not in RTS). A local buffer that its
 * lkey does not cover is not refused here: the request completes with
 * LOC_PROT_ERR (or LOC_LEN_ERR) as with verbs. Fast path.
 */
SL_API int sl_rdma_post_send(struct sl_rdma_qp *qp,
			     const struct sl_rdma_send_wr *wr);
/* Post one receive buffer. 0, -ENOMEM (queue full), -EINVAL, or -ENOTCONN
 * in the Error state. Fast path. */
SL_API int sl_rdma_post_recv(struct sl_rdma_qp *qp, uint64_t wr_id,
			     const struct sl_rdma_sge *sge);

/*
 * Move the transport of qp's port queue forward: receive and handle up to a
 * burst of packets for every QP of that port queue, transmit what is due,
 * run the timers. Returns how many packets were received plus sent (0: idle).
 * Fast path: no allocation but pool buffers, no logging.
 */
SL_API int sl_rdma_progress(struct sl_rdma_qp *qp);

/* Counters of a QP. */
struct sl_rdma_qp_stats {
	uint64_t tx_pkts, rx_pkts;
	uint64_t retransmits; /* packets sent again (go-back-N) */
	uint64_t timeouts; /* local ACK timeouts */
	uint64_t seq_naks_sent, seq_naks_rcvd;
	uint64_t rnr_naks_sent, rnr_naks_rcvd;
	uint64_t err_naks_sent, err_naks_rcvd;
	uint64_t dup_reqs; /* duplicate requests seen by the responder */
	uint64_t rx_deferred; /* requests dropped behind unsent READ data */
	uint64_t acks_sent;
	uint64_t tx_nobuf; /* packets not built for lack of pool buffers */
};
SL_API int sl_rdma_qp_stats(const struct sl_rdma_qp *qp,
			    struct sl_rdma_qp_stats *out);

/* Packets dropped before reaching a QP, per port queue of qp: bad frames,
 * bad ICRC, unknown QP. */
struct sl_rdma_port_stats {
	uint64_t rx_not_roce; /* not UDP, or malformed headers */
	uint64_t rx_bad_icrc;
	uint64_t rx_unknown_qp; /* DestQP not on this port queue, P_Key */
	/* udp: ports over IPv4 only: frames whose ICRC is right for an IPv4
	 * ID other than 0, which a socket cannot see (the sender is not
	 * sluice, e.g. rxe): accepted, with the 16 bits of the ICRC that do
	 * not go into finding the ID as their check */
	uint64_t rx_icrc_id_unseen;
};
SL_API int sl_rdma_port_stats(const struct sl_rdma_qp *qp,
			      struct sl_rdma_port_stats *out);

/* ---- wire helpers ---------------------------------------------------- */

/*
 * The ICRC of a RoCEv2 Ethernet frame (IPv4 or IPv6, UDP, BTH ... ICRC), as
 * the value whose bytes are stored least significant first in the last 4
 * bytes of the UDP payload. socket_path: compute it over an IPv4 header
 * with ID 0, DF and no options: what the kernel writes for a udp: port,
 * which is unconnected and never fragments (IP_PMTUDISC_DO). Returns 0 and
 * sets *icrc, or -EBADMSG when the frame is not UDP over IP with room for
 * a BTH and an ICRC. Thread-safe.
 */
SL_API int sl_rdma_icrc(const void *frame, size_t len, bool socket_path,
			uint32_t *icrc);
/* 0 when the frame's stored ICRC is right, -EBADMSG otherwise. */
SL_API int sl_rdma_icrc_check(const void *frame, size_t len, bool socket_path);

#ifdef __cplusplus
}
#endif
#endif
