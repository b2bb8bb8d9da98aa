/* SPDX-License-Identifier: MIT */
/*
 * What the `sluice rdma` tests share (cmd_rdma.c): the port, queue pair
 * and completion queue of a test, and the TCP helpers of an out-of-band
 * exchange. cmd_rdma.c speaks sluice's own exchange, cmd_rdma_pp.c
 * ibv_rc_pingpong's. Control path; sl_die on what a test cannot go on
 * without.
 */
#ifndef SLUICE_TOOLS_RDMA_TOOL_H
#define SLUICE_TOOLS_RDMA_TOOL_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <sluice/rdma.h>
#include <sluice/sluice.h>

#define RD_SQ_DEPTH 256

struct rd_ctx {
	struct sl_port *port;
	struct sl_port_info info;
	struct sl_rdma_pd *pd;
	struct sl_rdma_cq *cq;
	struct sl_rdma_qp *qp;
	uint8_t mtu;
};

/* Open spec, a PD, a CQ and an RC QP whose responder allows access. */
void rd_open(struct rd_ctx *c, const char *spec, unsigned access);
/* Our RoCE address: a udp: port's own, else the side channel's (fd). */
void rd_local_addr(const struct rd_ctx *c, int fd, struct sl_addr *a);
/* A first PSN (24 bits). */
uint32_t rd_psn(void);
/* The QP's counters and its port queue's, as JSON. */
struct json_object *rd_json_qp(struct sl_rdma_qp *qp);
/* --mtu B as an ibv_mtu code (sl_usage_fail on a bad one). */
uint8_t rd_opt_mtu(const char *arg);

/* TCP: exactly len bytes before deadline (0, or -1 with *why); all of
 * buf (0 or -1); connect, retrying while refused, until deadline; listen
 * (sl_die on failure). */
int rd_read_full(int fd, void *buf, size_t len, uint64_t deadline,
		 const char **why);
int rd_write_full(int fd, const void *buf, size_t len);
int rd_dial(const struct sl_addr *to, uint64_t deadline);
int rd_listen(const struct sl_addr *a);

/* `sluice rdma pingpong` (cmd_rdma_pp.c). */
int rd_pingpong(int argc, char **argv);

#endif
