/* SPDX-License-Identifier: MIT */
/*
 * What the `sluice rdma` tests share (rdma_tool.c): the port, queue pair
 * and completion queue of a test, and the TCP helpers of an out-of-band
 * exchange; and the entry points of the command's parts. Sluice's own
 * exchange is rdma_xchg.h's, perftest's rdma_pt.h's, ibv_rc_pingpong's
 * cmd_rdma_pp.c's. Control path; cli_die on what a test cannot go on
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

enum rd_test {
	RD_SERVER = 0,
	RD_WRITE_BW,
	RD_READ_BW,
	RD_SEND_BW,
	RD_WRITE_LAT,
	RD_READ_LAT,
};

/* "server", "write-bw", ... (cmd_rdma.c) */
const char *rd_test_name(enum rd_test t);

struct rd_ctx {
	struct sl_port *port;
	struct sl_port_info info;
	struct sl_rdma_pd *pd;
	struct sl_rdma_cq *cq;
	struct sl_rdma_qp *qp;
	struct sl_pool *pool; /* udp: ports' jumbo buffers; NULL elsewhere */
	uint8_t mtu;
};

/* Open spec, a PD, a CQ and an RC QP whose responder allows access. */
void rd_open(struct rd_ctx *c, const char *spec, unsigned access);
void rd_close(struct rd_ctx *c);
/* The largest path MTU (ibv_mtu code) the port's buffers hold. */
uint8_t rd_max_mtu(const struct rd_ctx *c);
/* The largest path MTU code (1..mtu) whose packets fit the IP MTU of the
 * route the connected side channel fd takes (IP_MTU): RoCE packets are
 * never fragmented, so a larger one would never arrive. mtu when the
 * kernel does not say. */
uint8_t rd_path_mtu(int fd, uint8_t mtu);
/* Our RoCE address: a udp: port's own, else the side channel's (fd). */
void rd_local_addr(const struct rd_ctx *c, int fd, struct sl_addr *a);
/* A first PSN (24 bits). */
uint32_t rd_psn(void);
/* The QP's counters and its port queue's, as JSON. */
struct json_object *rd_json_qp(struct sl_rdma_qp *qp);
/* OPT ADDR: an IPv4 address (cli_usage_fail otherwise). */
void rd_opt_ipv4(const char *opt, const char *arg, struct sl_addr *a);
/* --mtu B as an ibv_mtu code (cli_usage_fail on a bad one). */
uint8_t rd_opt_mtu(const char *arg);

/* TCP: exactly len bytes before deadline (0, or -1 with *why); all of
 * buf (0 or -1); connect, retrying while refused, until deadline; listen
 * (cli_die on failure). */
int rd_read_full(int fd, void *buf, size_t len, uint64_t deadline,
		 const char **why);
int rd_write_full(int fd, const void *buf, size_t len);
int rd_dial(const struct sl_addr *to, uint64_t deadline);
int rd_listen(const struct sl_addr *a);
/* Wait for one connection on lfd, which it closes, while watching
 * cli_stop: the connection, or -1 when stopped (cli_die if accept fails). */
int rd_accept(int lfd);
/* Where a server without an address of its own listens for port: the
 * RoCE port's address, else IPv4's any. */
void rd_oob_addr(const struct rd_ctx *c, uint16_t port, struct sl_addr *a);

/* The IPv4-mapped GID (::ffff:a.b.c.d) of a RoCE v2 address, which the
 * perftest and ibv_rc_pingpong exchanges carry; and back: 0 and the
 * address (on the RoCE port), or -1 when gid is not IPv4-mapped. */
void rd_gid_v4(uint8_t gid[16], const struct sl_addr *a);
int rd_gid_addr(const uint8_t gid[16], struct sl_addr *a);

/* The peer's MAC on xdp/packet ports (route and neighbour; cli_die when
 * there is none); zeros on udp: ports, where the kernel resolves it. */
void rd_peer_mac(const struct rd_ctx *c, const struct sl_addr *remote,
		 uint8_t mac[SL_ETH_ALEN]);

/* `sluice rdma server` (cmd_rdma_server.c) and `sluice rdma TEST`
 * (cmd_rdma_client.c), with sluice's exchange. */
int rd_server(int argc, char **argv);
int rd_client(enum rd_test test, int argc, char **argv);
/* `sluice rdma pingpong` (cmd_rdma_pp.c). */
int rd_pingpong(int argc, char **argv);
/* --oob perftest given (cli_usage_fail on another --oob); then
 * `sluice rdma TEST ... --oob perftest` (cmd_rdma_pt.c). */
bool rd_wants_perftest(int argc, char **argv);
int rd_perftest(enum rd_test test, int argc, char **argv);

/* Map FILE (a regular file, 1 byte to 4 GiB) for reading, privately;
 * dies with a message otherwise. */
void *rd_map_file(const char *path, uint64_t *len);

#endif
