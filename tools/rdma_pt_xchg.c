// SPDX-License-Identifier: MIT
/*
 * perftest's out-of-band exchange, for `sluice rdma ... --oob perftest`.
 * perftest's exchange (perftest_communication.c, without rdma_cm) is a TCP
 * connection, port 18515 by default, on which every step is an "exchange":
 * the client writes its part, then reads the server's, and the server reads
 * then writes, always of the same fixed size:
 *
 *   version    16 bytes, "6.06" and NULs (perftest refuses peers < 5.70)
 *   sys data   4 + 4 bytes: cycle buffer (page) and cache line size, big
 *              endian; both sides take the larger
 *   mtu        2 bytes: the ibv_mtu code in decimal ("3" NUL); the smaller
 *              wins
 *   keys       108 bytes, "LLLL:OOOO:QQQQQQ:PPPPPP:RRRRRRRR:VVVV...V:"
 *              (LID, outstanding reads, QPN, PSN, rkey, address in hex)
 *              then the GID's 16 bytes as "xx:" each and "SSSSSSSS:"
 *              (SRQ number), NUL-terminated. A "handshake" is one key
 *              exchange; the tools repeat it to synchronise.
 *   reports    5 x 8 bytes after a bandwidth run: size, iterations, peak
 *              and average MB/s and Mpps, big endian (doubles byte-swapped)
 *   close      a handshake, then each side writes "done" with its NUL
 *
 * Which steps follow the keys depends on the tool: pt_syncs() and the
 * roles (cmd_rdma_pt_server.c, cmd_rdma_pt_client.c) have them.
 *
 * Waiting on the TCP side channel moves the QP forward (sluice has no
 * hidden threads): a passive server's RDMA work happens while it waits
 * for the client's closing handshake.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/poll.h> /* not <poll.h>: tools/poll.h shadows it */
#include <sys/socket.h>
#include <unistd.h>

#include "poll.h"
#include "rdma_pt.h"
#include "rdma_tool.h"
#include "sluice.h"

#define PT_VERSION "6.06" /* the exchange spoken: perftest 6.06's */
#define PT_MIN_VERSION 5.70 /* perftest's own floor for a peer */
#define PT_CYCLE 4096 /* perftest's cycle buffer: a page */
#define PT_OUT_READS 16 /* our max_dest_rd_atomic (rd_open) */

const char *const pt_names[PT_READ_LAT + 1] = {
	"ib_write_bw",	"ib_read_bw",	"ib_send_bw",
	"ib_atomic_bw", "ib_write_lat", "ib_read_lat",
};

/* Handle what completed while waiting; returns how many. */
int pt_reap(struct pt_sess *s)
{
	struct sl_rdma_wc wc[32];
	int k, j;

	k = sl_rdma_poll_cq(s->c->cq, 32, wc);
	for (j = 0; j < k; j++) {
		if (wc[j].status != SL_RDMA_WC_SUCCESS) {
			if (!s->wc_errors++)
				s->first_err = wc[j].status;
			continue;
		}
		if (wc[j].opcode != SL_RDMA_WC_RECV || !s->rbuf)
			continue;
		s->recvs++;
		s->recv_bytes += wc[j].byte_len;
		{
			uint64_t slot = wc[j].wr_id - PT_RECV_ID;
			struct sl_rdma_sge sge = { (uintptr_t)s->rbuf +
							   slot * s->rslot,
						   s->rslot,
						   sl_rdma_mr_lkey(s->mr) };

			sl_rdma_post_recv(s->c->qp, wc[j].wr_id, &sge);
		}
	}
	return k;
}

/* Read exactly len bytes, moving the QP forward meanwhile. */
int pt_read(struct pt_sess *s, void *buf, size_t len, const char **why)
{
	uint64_t last = sl_time_ns();
	struct cli_idle idle = { 0 };
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(s->fd, (uint8_t *)buf + got, len - got,
				 MSG_DONTWAIT);
		unsigned n = 0;

		if (r > 0) {
			got += (size_t)r;
			last = sl_time_ns();
			continue;
		}
		if (r == 0) {
			*why = "the peer closed the connection";
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			*why = strerror(errno);
			return -1;
		}
		if (cli_stop) {
			*why = "interrupted";
			return -1;
		}
		if (s->connected) {
			n = (unsigned)sl_rdma_progress(s->c->qp);
			n += (unsigned)pt_reap(s);
			if (n)
				last = sl_time_ns();
			cli_idle_poll(&idle, n);
		} else {
			struct pollfd pf = { .fd = s->fd, .events = POLLIN };

			poll(&pf, 1, 100);
		}
		if (sl_time_ns() - last > s->timeout_ns) {
			*why = "no answer within the timeout";
			return -1;
		}
	}
	return 0;
}

/* One exchange of len bytes each way: the client writes first. 0, or -1
 * with *why. */
int pt_xchg_try(struct pt_sess *s, const void *mine, void *theirs, size_t len,
		const char **why)
{
	if (s->client && rd_write_full(s->fd, mine, len)) {
		*why = strerror(errno);
		return -1;
	}
	if (pt_read(s, theirs, len, why))
		return -1;
	if (!s->client && rd_write_full(s->fd, mine, len)) {
		*why = strerror(errno);
		return -1;
	}
	return 0;
}

void pt_xchg(struct pt_sess *s, const char *what, const void *mine,
	     void *theirs, size_t len)
{
	const char *why = "";

	if (pt_xchg_try(s, mine, theirs, len, &why))
		cli_die("perftest exchange (%s): %s", what, why);
}

void pt_keys_fmt(char *m, const struct pt_dest *d)
{
	int n, i;

	memset(m, 0, PT_KEYS);
	n = snprintf(m, PT_KEYS, "%04x:%04x:%06x:%06x:%08x:%016" PRIx64 ":",
		     d->lid & 0xffff, d->out_reads & 0xffff, d->qpn & 0xffffff,
		     d->psn & 0xffffff, d->rkey, d->vaddr);
	for (i = 0; i < 16; i++)
		n += snprintf(m + n, (size_t)(PT_KEYS - n), "%02x:", d->gid[i]);
	snprintf(m + n, (size_t)(PT_KEYS - n), "%08x:", d->srqn);
}

/* Strict: 22 colon-terminated hex fields in 107 characters and a NUL. */
static int pt_keys_parse(const char *m, struct pt_dest *d)
{
	static const uint8_t width[] = { 4, 4, 6, 6, 8, 16 };
	uint64_t v[23];
	const char *p = m;
	unsigned i;

	if (memchr(m, '\0', PT_KEYS) == NULL)
		return -1;
	for (i = 0; i < 23; i++) {
		unsigned w = i < 6 ? width[i] : i < 22 ? 2 : 8, k;

		v[i] = 0;
		for (k = 0; k < w; k++) {
			char ch = p[k];
			unsigned x;

			if (ch >= '0' && ch <= '9')
				x = (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				x = (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				x = (unsigned)(ch - 'A' + 10);
			else
				return -1;
			v[i] = v[i] << 4 | x;
		}
		if (p[w] != ':')
			return -1;
		p += w + 1;
	}
	d->lid = (uint32_t)v[0];
	d->out_reads = (uint32_t)v[1];
	d->qpn = (uint32_t)v[2];
	d->psn = (uint32_t)v[3];
	d->rkey = (uint32_t)v[4];
	d->vaddr = v[5];
	for (i = 0; i < 16; i++)
		d->gid[i] = (uint8_t)v[6 + i];
	d->srqn = (uint32_t)v[22];
	return 0;
}

void pt_shake(struct pt_sess *s, const struct pt_dest *me, struct pt_dest *peer)
{
	char mine[PT_KEYS], theirs[PT_KEYS];

	pt_keys_fmt(mine, me);
	pt_xchg(s, "keys", mine, theirs, PT_KEYS);
	if (pt_keys_parse(theirs, peer))
		cli_die("perftest keys '%.*s' are not LID:OUT:QPN:PSN:RKEY:VA:"
			"GID:SRQN (is the peer perftest >= 5.70 without -R?)",
			PT_KEYS, theirs);
}

/* The close: a handshake, then "done" both ways. */
void pt_close(struct pt_sess *s, const struct pt_dest *me)
{
	struct pt_dest peer;
	char done[sizeof("done")];
	const char *why = "";

	pt_shake(s, me, &peer);
	if (rd_write_full(s->fd, "done", sizeof("done")))
		cli_warnx("perftest close: %s", strerror(errno));
	else if (pt_read(s, done, sizeof(done), &why))
		cli_warnx("perftest close: no \"done\" from the peer: %s", why);
	close(s->fd);
	s->fd = -1;
}

static uint64_t pt_dbl_be(double x)
{
	uint64_t u;

	memcpy(&u, &x, 8);
	return htobe64(u);
}

static double pt_be_dbl(uint64_t u)
{
	double x;

	u = be64toh(u);
	memcpy(&x, &u, 8);
	return x;
}

/* perftest's bandwidth reports (both peers >= 5.33: 8-byte counts). */
void pt_reports(struct pt_sess *s, const struct pt_report *me,
		struct pt_report *peer)
{
	uint64_t m[5] = { htobe64(me->size), htobe64(me->iters),
			  pt_dbl_be(me->bw_peak), pt_dbl_be(me->bw_avg),
			  pt_dbl_be(me->msg_rate) };
	uint64_t t[5];
	unsigned i;

	for (i = 0; i < 5; i++)
		pt_xchg(s, "reports", &m[i], &t[i], 8);
	peer->size = be64toh(t[0]);
	peer->iters = be64toh(t[1]);
	peer->bw_peak = pt_be_dbl(t[2]);
	peer->bw_avg = pt_be_dbl(t[3]);
	peer->msg_rate = pt_be_dbl(t[4]);
}

/*
 * Version, system data and MTU. Returns the agreed ibv_mtu code and the
 * cycle buffer both sides use.
 */
void pt_prologue(struct pt_sess *s, uint8_t max_mtu, uint8_t *mtu,
		 uint64_t *cycle)
{
	char mv[16] = PT_VERSION, tv[17] = { 0 };
	uint32_t mc = htonl(PT_CYCLE), ml = htonl(PT_CACHE_LINE), tc, tl;
	char mm[2] = { (char)('0' + max_mtu), 0 }, tm[3] = { 0 };
	double v;

	pt_xchg(s, "version", mv, tv, 16);
	v = strtod(tv, NULL);
	if (v < PT_MIN_VERSION)
		cli_die("the peer speaks perftest version '%.16s'; this exchange "
			"is perftest's from %.2f on",
			tv, PT_MIN_VERSION);
	pt_xchg(s, "system data", &mc, &tc, 4);
	pt_xchg(s, "system data", &ml, &tl, 4);
	*cycle = ntohl(tc) > PT_CYCLE ? ntohl(tc) : PT_CYCLE;
	if (*cycle > (64u << 20) || (*cycle & (*cycle - 1)))
		cli_die("the peer's cycle buffer of %" PRIu64 " bytes is not a "
			"power of two up to 64 MiB",
			*cycle);
	pt_xchg(s, "mtu", mm, tm, 2);
	if (tm[0] < '1' || tm[0] > '5' || tm[1])
		cli_die("the peer's MTU code '%.2s' is not 1..5 (256..4096)",
			tm);
	*mtu = (uint8_t)(tm[0] - '0') < max_mtu ? (uint8_t)(tm[0] - '0') :
						  max_mtu;
}

/* Handshakes each tool makes between its keys and its run (after the
 * keys themselves): see the tools' main()s. */
unsigned pt_syncs(enum pt_tool t)
{
	return t == PT_WRITE_LAT || t == PT_READ_LAT ? 3 : 2;
}

enum pt_tool pt_tool_of(enum rd_test test)
{
	switch (test) {
	case RD_READ_BW:
		return PT_READ_BW;
	case RD_SEND_BW:
		return PT_SEND_BW;
	case RD_WRITE_LAT:
		return PT_WRITE_LAT;
	case RD_READ_LAT:
		return PT_READ_LAT;
	default:
		return PT_WRITE_BW;
	}
}

void pt_connect(struct pt_sess *s, const struct sl_addr *local, uint32_t sq_psn,
		const struct pt_dest *peer, uint8_t mtu)
{
	struct sl_rdma_qp_conn q = { .sz = sizeof(q) };
	char buf[64];

	if (rd_gid_addr(peer->gid, &q.remote))
		cli_die("the peer's GID is not IPv4-mapped (::ffff:a.b.c.d): "
			"give perftest -x with its RoCE v2 IPv4 GID index");
	q.local = *local;
	q.mtu = mtu;
	q.remote_qpn = peer->qpn;
	q.rq_psn = peer->psn;
	q.sq_psn = sq_psn;
	memcpy(q.local_mac, s->c->info.mac, SL_ETH_ALEN);
	rd_peer_mac(s->c, &q.remote, q.remote_mac);
	if (sl_rdma_qp_connect(s->c->qp, &q))
		cli_die("connecting the queue pair to %s: %s",
			sl_addr_format(&q.remote, buf, sizeof(buf)),
			sl_last_error());
	s->connected = true;
}

void pt_my_dest(struct pt_sess *s, const struct sl_addr *local,
		struct sl_rdma_mr *mr, uint64_t vaddr, struct pt_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->out_reads = PT_OUT_READS;
	d->qpn = sl_rdma_qp_num(s->c->qp);
	d->psn = rd_psn();
	d->rkey = sl_rdma_mr_rkey(mr);
	d->vaddr = vaddr;
	rd_gid_v4(d->gid, local);
}
