// SPDX-License-Identifier: MIT
/*
 * sluice's own out-of-band exchange, the default of `sluice rdma`. The
 * queue pairs learn about each other as RDMA applications do: the client opens a TCP connection to the server's address and the
 * same port number as its RoCE port (TCP and UDP port numbers are separate,
 * so TCP 4791 is free beside UDP 4791), sends a hello (test, message size,
 * QPN, first PSN, path MTU, address, MAC) and gets the server's answer with
 * the rkey, address and length of its buffer. The connection stays open:
 * the client says "done" on it at the end, so the server stops by itself,
 * and a server or client that dies is noticed by the other. Here: the
 * messages' wire format, and connecting a queue pair to what a peer sent;
 * the two ends' flows are cmd_rdma_server.c and cmd_rdma_client.c.
 */
#include <string.h>
#include <sys/socket.h>

#include <sluice/rdma.h>

#include "rdma_xchg.h"
#include "sluice.h"

#define RD_MAGIC 0x534c5244u /* "SLRD" */
#define RD_VERSION 1

void rd_pack(const struct rd_msg *m, uint8_t *b)
{
	memset(b, 0, RD_MSG_LEN);
	cli_put_be32(b, RD_MAGIC);
	b[4] = RD_VERSION;
	b[5] = m->test;
	b[6] = m->mtu;
	b[7] = m->status;
	cli_put_be32(b + 8, m->qpn);
	cli_put_be32(b + 12, m->psn);
	b[16] = m->addr.family == AF_INET6 ? 6 : 4;
	b[18] = (uint8_t)(m->addr.port >> 8);
	b[19] = (uint8_t)m->addr.port;
	if (m->addr.family == AF_INET6)
		memcpy(b + 20, &m->addr.v6, 16);
	else
		memcpy(b + 20, &m->addr.v4, 4);
	memcpy(b + 36, m->mac, SL_ETH_ALEN);
	cli_put_be32(b + 44, m->rkey);
	cli_put_be64(b + 48, m->va);
	cli_put_be64(b + 56, m->len);
	cli_put_be32(b + 64, m->size);
	memcpy(b + 68, m->reason, sizeof(m->reason) - 1);
}

int rd_unpack(const uint8_t *b, struct rd_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (cli_get_be32(b) != RD_MAGIC || b[4] != RD_VERSION)
		return -1;
	m->test = b[5];
	m->mtu = b[6];
	m->status = b[7];
	m->qpn = cli_get_be32(b + 8) & 0xffffff;
	m->psn = cli_get_be32(b + 12) & 0xffffff;
	m->addr.family = b[16] == 6 ? AF_INET6 : AF_INET;
	m->addr.port = (uint16_t)(b[18] << 8 | b[19]);
	if (m->addr.family == AF_INET6)
		memcpy(&m->addr.v6, b + 20, 16);
	else
		memcpy(&m->addr.v4, b + 20, 4);
	memcpy(m->mac, b + 36, SL_ETH_ALEN);
	m->rkey = cli_get_be32(b + 44);
	m->va = cli_get_be64(b + 48);
	m->len = cli_get_be64(b + 56);
	m->size = cli_get_be32(b + 64);
	memcpy(m->reason, b + 68, sizeof(m->reason) - 1);
	return 0;
}

void rd_connect(struct rd_ctx *c, const struct sl_addr *local, uint32_t sq_psn,
		const struct rd_msg *peer)
{
	struct sl_rdma_qp_conn q = { .sz = sizeof(q) };

	q.local = *local;
	q.remote = peer->addr;
	memcpy(q.local_mac, c->info.mac, SL_ETH_ALEN);
	memcpy(q.remote_mac, peer->mac, SL_ETH_ALEN);
	q.remote_qpn = peer->qpn;
	q.sq_psn = sq_psn;
	q.rq_psn = peer->psn;
	q.mtu = c->mtu;
	if (sl_rdma_qp_connect(c->qp, &q))
		cli_die("connecting the queue pair: %s", sl_last_error());
}
