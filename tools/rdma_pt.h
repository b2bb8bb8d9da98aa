/* SPDX-License-Identifier: MIT */
/*
 * perftest's out-of-band exchange (rdma_pt_xchg.c), which the perftest
 * server (cmd_rdma_pt_server.c) and client (cmd_rdma_pt_client.c) of
 * `sluice rdma ... --oob perftest` (cmd_rdma_pt.c) speak, and the layout
 * of perftest's buffers that both ends follow. cli_die on a peer that
 * breaks the exchange.
 */
#ifndef SLUICE_TOOLS_RDMA_PT_H
#define SLUICE_TOOLS_RDMA_PT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <sluice/rdma.h>
#include <sluice/sluice.h>

#include "rdma_tool.h"

#define PT_KEYS 108 /* the keys' message */
#define PT_CACHE_LINE 64
#define PT_RECV_ID (1ull << 40) /* wr_id of a server's receive slot 0 */

enum pt_tool {
	PT_WRITE_BW = 0,
	PT_READ_BW,
	PT_SEND_BW,
	PT_ATOMIC_BW,
	PT_WRITE_LAT,
	PT_READ_LAT,
};

extern const char *const pt_names[PT_READ_LAT + 1]; /* "ib_write_bw", ... */

/* One side's keys. */
struct pt_dest {
	uint32_t lid, out_reads, qpn, psn, rkey, srqn;
	uint64_t vaddr;
	uint8_t gid[16];
};

/* One side of the exchange. */
struct pt_sess {
	int fd;
	bool client;
	uint64_t timeout_ns;
	struct rd_ctx *c; /* moved forward while waiting, once connected */
	bool connected;
	/* a server's receive and error accounting while it waits */
	struct sl_rdma_mr *mr;
	uint8_t *rbuf;
	uint32_t rslot;
	uint64_t recvs, recv_bytes, wc_errors;
	int first_err;
};

/* A bandwidth run's report (MB/s, Mpps). */
struct pt_report {
	uint64_t size, iters;
	double bw_peak, bw_avg, msg_rate;
};

/* Bytes a message occupies in perftest's buffer walk (its INC()). */
static inline uint64_t pt_inc(uint64_t size)
{
	if (size <= PT_CACHE_LINE)
		return PT_CACHE_LINE;
	return (size + PT_CACHE_LINE - 1) / PT_CACHE_LINE * PT_CACHE_LINE;
}

/* Byte j of every message a sluice client sends (not write_lat's). */
static inline uint8_t pt_byte(uint64_t j)
{
	return (uint8_t)(j * 31 + 7);
}

/* The remote offset of message n, as perftest walks the cycle buffer. */
static inline uint64_t pt_roff(uint64_t n, uint64_t size, uint64_t cycle)
{
	uint64_t step = pt_inc(size);

	if (size > cycle / 2)
		return 0;
	return (n % (cycle / step)) * step;
}

/* The tool a sluice test meets (ib_write_bw for write-bw, ...). */
enum pt_tool pt_tool_of(enum rd_test test);
/* Handshakes each tool makes between its keys and its run (after the
 * keys themselves). */
unsigned pt_syncs(enum pt_tool t);

/* Handle what completed while waiting (a server's receives, errors);
 * returns how many. */
int pt_reap(struct pt_sess *s);
/* Read exactly len bytes, moving the QP forward meanwhile. 0, or -1 with
 * *why. */
int pt_read(struct pt_sess *s, void *buf, size_t len, const char **why);
/* One exchange of len bytes each way: the client writes first. 0, or -1
 * with *why; pt_xchg dies instead, naming the step (what). */
int pt_xchg_try(struct pt_sess *s, const void *mine, void *theirs, size_t len,
		const char **why);
void pt_xchg(struct pt_sess *s, const char *what, const void *mine,
	     void *theirs, size_t len);
/* The version, system data and MTU steps: the agreed ibv_mtu code and
 * the cycle buffer both sides use. */
void pt_prologue(struct pt_sess *s, uint8_t max_mtu, uint8_t *mtu,
		 uint64_t *cycle);
/* d as the keys' message (PT_KEYS bytes at m). */
void pt_keys_fmt(char *m, const struct pt_dest *d);
/* A handshake: one exchange of keys. */
void pt_shake(struct pt_sess *s, const struct pt_dest *me,
	      struct pt_dest *peer);
/* The bandwidth reports, both ways. */
void pt_reports(struct pt_sess *s, const struct pt_report *me,
		struct pt_report *peer);
/* The close: a handshake, then "done" both ways; closes s->fd. */
void pt_close(struct pt_sess *s, const struct pt_dest *me);
/* Our keys: QP, a fresh PSN, mr's rkey at vaddr, local's GID. */
void pt_my_dest(struct pt_sess *s, const struct sl_addr *local,
		struct sl_rdma_mr *mr, uint64_t vaddr, struct pt_dest *d);
/* Connect the QP to the peer's keys (cli_die on a GID that is not an
 * IPv4 RoCE v2 one); from then on waiting moves the QP forward. */
void pt_connect(struct pt_sess *s, const struct sl_addr *local, uint32_t sq_psn,
		const struct pt_dest *peer, uint8_t mtu);

/* The roles (cmd_rdma_pt_server.c, cmd_rdma_pt_client.c). */
int pt_server(struct pt_sess *s, enum pt_tool tool, uint64_t size,
	      uint64_t iters, uint64_t region, uint8_t max_mtu,
	      uint16_t oob_port, bool json);
int pt_client(struct pt_sess *s, enum rd_test test, const struct sl_addr *to,
	      uint64_t size, uint64_t iters, uint64_t window, uint8_t max_mtu,
	      bool verify, bool json);
/* Print a role's result: r as JSON, or line (cmd_rdma_pt.c); takes r. */
void pt_result(struct json_object *r, bool json, const char *line);

#endif
