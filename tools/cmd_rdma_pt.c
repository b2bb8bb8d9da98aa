// SPDX-License-Identifier: MIT
/*
 * sluice rdma TEST --oob perftest: perftest's own out-of-band exchange, so
 * that ib_write_bw, ib_read_bw, ib_send_bw, ib_atomic_bw, ib_write_lat and
 * ib_read_lat (linux-rdma/perftest) run against sluice as client or as
 * server, over Linux's rxe or a RoCE NIC.
 *
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
 * Which steps follow the keys depends on the tool; pt_plan() has them. A
 * perftest server does not learn the client's message size or count, so
 * a sluice server is told the tool (--tool) and, where the server's run
 * depends on them, -s and -n (--size, --iters) as perftest's server is.
 *
 * Waiting on the TCP side channel moves the QP forward (sluice has no
 * hidden threads): a passive server's RDMA work happens while it waits
 * for the client's closing handshake.
 *
 * Over 800 lines (the exchange, the server's and the client's flows for
 * six tools, and --verify together): splitting tools/cmd_rdma*.c into the
 * exchanges and the two roles is issue 15's redesign.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/poll.h> /* not <poll.h>: tools/poll.h shadows it */
#include <sys/socket.h>
#include <unistd.h>

#include "hist.h"
#include "poll.h"
#include "rdma_tool.h"
#include "sluice.h"

#define PT_OOB_PORT 18515
#define PT_KEYS 108
#define PT_VERSION "6.06" /* the exchange spoken: perftest 6.06's */
#define PT_MIN_VERSION 5.70 /* perftest's own floor for a peer */
#define PT_CYCLE 4096 /* perftest's cycle buffer: a page */
#define PT_CACHE_LINE 64
#define PT_OUT_READS 16 /* our max_dest_rd_atomic (rd_open) */
#define PT_RECV_ID (1ull << 40)

enum pt_tool {
	PT_WRITE_BW = 0,
	PT_READ_BW,
	PT_SEND_BW,
	PT_ATOMIC_BW,
	PT_WRITE_LAT,
	PT_READ_LAT,
};

static const char *const pt_names[] = {
	"ib_write_bw",	"ib_read_bw",	"ib_send_bw",
	"ib_atomic_bw", "ib_write_lat", "ib_read_lat",
};

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

/* Bytes a message occupies in perftest's buffer walk (its INC()). */
static uint64_t pt_inc(uint64_t size)
{
	if (size <= PT_CACHE_LINE)
		return PT_CACHE_LINE;
	return (size + PT_CACHE_LINE - 1) / PT_CACHE_LINE * PT_CACHE_LINE;
}

/* Byte j of every message a sluice client sends (not write_lat's). */
static uint8_t pt_byte(uint64_t j)
{
	return (uint8_t)(j * 31 + 7);
}

/* The remote offset of message n, as perftest walks the cycle buffer. */
static uint64_t pt_roff(uint64_t n, uint64_t size, uint64_t cycle)
{
	uint64_t step = pt_inc(size);

	if (size > cycle / 2)
		return 0;
	return (n % (cycle / step)) * step;
}

/* Handle what completed while waiting; returns how many. */
static int pt_reap(struct pt_sess *s)
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
static int pt_read(struct pt_sess *s, void *buf, size_t len, const char **why)
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
static int pt_xchg_try(struct pt_sess *s, const void *mine, void *theirs,
		       size_t len, const char **why)
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

static void pt_xchg(struct pt_sess *s, const char *what, const void *mine,
		    void *theirs, size_t len)
{
	const char *why = "";

	if (pt_xchg_try(s, mine, theirs, len, &why))
		cli_die("perftest exchange (%s): %s", what, why);
}

static void pt_keys_fmt(char *m, const struct pt_dest *d)
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

static void pt_shake(struct pt_sess *s, const struct pt_dest *me,
		     struct pt_dest *peer)
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
static void pt_close(struct pt_sess *s, const struct pt_dest *me)
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

struct pt_report {
	uint64_t size, iters;
	double bw_peak, bw_avg, msg_rate;
};

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
static void pt_reports(struct pt_sess *s, const struct pt_report *me,
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
static void pt_prologue(struct pt_sess *s, uint8_t max_mtu, uint8_t *mtu,
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
static unsigned pt_syncs(enum pt_tool t)
{
	return t == PT_WRITE_LAT || t == PT_READ_LAT ? 3 : 2;
}

static enum pt_tool pt_tool_of(enum rd_test test)
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

static void pt_connect(struct pt_sess *s, const struct sl_addr *local,
		       uint32_t sq_psn, const struct pt_dest *peer, uint8_t mtu)
{
	struct sl_rdma_qp_conn q = { .sz = sizeof(q) };
	char buf[64];
	unsigned i;

	for (i = 0; i < 10; i++)
		if (peer->gid[i])
			break;
	if (i < 10 || peer->gid[10] != 0xff || peer->gid[11] != 0xff)
		cli_die("the peer's GID is not IPv4-mapped (::ffff:a.b.c.d): "
			"give perftest -x with its RoCE v2 IPv4 GID index");
	q.remote.family = AF_INET;
	memcpy(&q.remote.v4, peer->gid + 12, 4);
	q.remote.port = SL_RDMA_UDP_PORT;
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

static void pt_my_dest(struct pt_sess *s, const struct sl_addr *local,
		       struct sl_rdma_mr *mr, uint64_t vaddr, struct pt_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->out_reads = PT_OUT_READS;
	d->qpn = sl_rdma_qp_num(s->c->qp);
	d->psn = rd_psn();
	d->rkey = sl_rdma_mr_rkey(mr);
	d->vaddr = vaddr;
	d->gid[10] = d->gid[11] = 0xff;
	memcpy(d->gid + 12, &local->v4, 4);
}

static const char pt_help[] =
	"usage: sluice rdma server PORT --oob perftest [--tool ib_TOOL] "
	"[options]\n"
	"       sluice rdma write-bw|read-bw|send-bw|write-lat|read-lat PORT\n"
	"                   --oob perftest --to ADDR [options]\n"
	"\n"
	"perftest's own exchange (TCP 18515), so that perftest's tools are the\n"
	"other end: as clients of `sluice rdma server`, or as servers of a\n"
	"sluice test. RC over RoCE v2, IPv4 GIDs (give perftest -x with the\n"
	"IPv4 RoCE v2 GID index). Pass both ends the same -s and -n.\n"
	"\n"
	"  --tool T          server: the client's tool, one of ib_write_bw\n"
	"                    (default), ib_read_bw, ib_send_bw, ib_atomic_bw,\n"
	"                    ib_write_lat, ib_read_lat\n"
	"  --to ADDR         client: the perftest server's address\n"
	"  --oob-port N      TCP port of the exchange (default 18515)\n"
	"  --size B          message bytes, as perftest's -s (default 65536\n"
	"                    for bandwidth, 2 for latency, 8 for atomics)\n"
	"  --iters N         messages, as perftest's -n (default 1000)\n"
	"  --window N        client: outstanding requests, as perftest's -t\n"
	"                    (default 128; READs also at most the peer's\n"
	"                    outstanding reads)\n"
	"  --buffer B        server: bytes of the registered region (default\n"
	"                    what the client's walk needs: the larger of the\n"
	"                    size and the 4096-byte cycle)\n"
	"  --mtu B           largest path MTU offered, 256..4096 (default the\n"
	"                    largest the port's buffers hold, 4096 on udp:;\n"
	"                    the smaller of the two ends' offers wins)\n"
	"  --timeout S       without a word from the peer (default 30)\n"
	"  --verify          write-bw: READ back what the WRITEs left and check\n"
	"                    every byte (the server's region must allow READ:\n"
	"                    sluice's and tests/lab/verbs_peer.py's do,\n"
	"                    ib_write_bw's does not)\n"
	"  --json            print the result as JSON on stdout\n"
	"\n"
	"Data checked: ib_write_lat's bytes (zeros, the iteration in the last\n"
	"byte), ib_atomic_bw's fetch-and-adds (the targets sum to -n), the\n"
	"size of every ib_send_bw message; perftest itself checks nothing.\n"
	"Not spoken: rdma_cm (-R), several QPs (-q), duplex (-b), UD/UC/XRC/DC,\n"
	"--run_infinitely, -a (all sizes), --report_per_port.\n"
	"\n"
	"example (the guest of scripts/lab.sh runs perftest):\n"
	"  sluice rdma server udp:10.78.0.1:4791 --oob perftest --tool "
	"ib_write_bw\n"
	"  ib_write_bw -d rxe0 -x 1 -n 1000 10.78.0.1   (in the guest)\n";

bool rd_wants_perftest(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--oob=perftest"))
			return true;
		if (!strcmp(argv[i], "--oob") && i + 1 < argc) {
			if (strcmp(argv[i + 1], "perftest"))
				cli_usage_fail("--oob %s: the exchanges are "
					       "sluice's (default) and "
					       "perftest",
					       argv[i + 1]);
			return true;
		}
	}
	return false;
}

static void pt_result(struct json_object *r, bool json, const char *line)
{
	if (json) {
		cli_json_print(r);
		return;
	}
	fputs(line, stdout);
	json_object_put(r);
}

/* sluice as the server of a perftest client. */
static int pt_server(struct pt_sess *s, enum pt_tool tool, uint64_t size,
		     uint64_t iters, uint64_t region, uint8_t max_mtu,
		     uint16_t oob_port, bool json)
{
	struct sl_addr oob, local;
	struct pt_dest me, peer;
	struct pt_report mine = { 0 }, theirs = { 0 };
	struct json_object *r = json_object_new_object();
	uint64_t cycle, t0, bad = 0, sum = 0, i;
	uint8_t mtu, *buf;
	struct sl_rdma_mr *mr;
	int lfd, rc = 0;
	bool gone = false;
	char line[256], abuf[64];

	oob = s->c->info.addr.family ? s->c->info.addr :
				       (struct sl_addr){ .family = AF_INET };
	oob.port = oob_port;
	lfd = rd_listen(&oob);
	if (!json)
		fprintf(stderr,
			"sluice: rdma: waiting for %s on TCP %s (perftest's "
			"exchange)\n",
			pt_names[tool],
			sl_addr_format(&oob, abuf, sizeof(abuf)));
	for (;;) {
		struct pollfd pf = { .fd = lfd, .events = POLLIN };

		if (cli_stop)
			return 1;
		if (poll(&pf, 1, 200) > 0)
			break;
	}
	s->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (s->fd < 0)
		cli_die("accept: %s", strerror(errno));
	rd_local_addr(s->c, s->fd, &local);
	if (local.family != AF_INET)
		cli_die("perftest's exchange here is for IPv4 RoCE v2 GIDs");

	pt_prologue(s, max_mtu, &mtu, &cycle);
	/* what the client's walk touches; for SENDs room for a queue of
	 * receives */
	if (!region)
		region = tool == PT_SEND_BW ? size * RD_SQ_DEPTH :
			 size > cycle	    ? size :
					      cycle;
	if (region > (64u << 20) && tool == PT_SEND_BW)
		region = size > (64u << 20) ? size : 64u << 20;
	/* write_lat: the client's writes land in the first half, ours come
	 * from the second */
	buf = aligned_alloc(4096, (2 * region + 4095) & ~(uint64_t)4095);
	if (!buf)
		cli_die("--buffer %" PRIu64 ": out of memory", region);
	memset(buf, 0, 2 * region);
	mr = sl_rdma_reg_mr(s->c->pd, buf, region,
			    SL_RDMA_ACCESS_LOCAL_WRITE |
				    SL_RDMA_ACCESS_REMOTE_WRITE |
				    SL_RDMA_ACCESS_REMOTE_READ |
				    SL_RDMA_ACCESS_REMOTE_ATOMIC);
	if (!mr)
		cli_die("registering %" PRIu64 " bytes: %s", region,
			sl_last_error());
	pt_my_dest(s, &local, mr, (uintptr_t)buf, &me);
	pt_shake(s, &me, &peer);
	pt_connect(s, &local, me.psn, &peer, mtu);
	if (tool == PT_SEND_BW) {
		/* receives in message-sized slots before the last sync, as
		 * perftest's server posts them */
		s->mr = mr;
		s->rbuf = buf;
		s->rslot = (uint32_t)(size ? size : 1);
		for (i = 0; i < RD_SQ_DEPTH && (i + 1) * s->rslot <= region;
		     i++) {
			struct sl_rdma_sge sge = { (uintptr_t)buf +
							   i * s->rslot,
						   s->rslot,
						   sl_rdma_mr_lkey(mr) };

			if (sl_rdma_post_recv(s->c->qp, PT_RECV_ID + i, &sge))
				cli_die("post_recv: %s", sl_last_error());
		}
		if (!i)
			cli_die("--size %" PRIu64 " is over --buffer %" PRIu64,
				size, region);
	}
	for (i = 0; i < pt_syncs(tool); i++)
		pt_shake(s, &me, &peer);
	if (tool == PT_SEND_BW)
		pt_shake(s, &me, &peer);
	t0 = sl_time_ns();

	if (tool == PT_WRITE_LAT) {
		/* ping-pong on the last byte: perftest's server writes first
		 * and then answers each write it sees */
		struct sl_rdma_mr *smr =
			sl_rdma_reg_mr(s->c->pd, buf + region, region,
				       SL_RDMA_ACCESS_LOCAL_WRITE);
		volatile uint8_t *poll_b = buf + size - 1;
		uint8_t *post_b = buf + region + size - 1;
		uint64_t scnt = 0, rcnt = 0, ccnt = 0, last = sl_time_ns();

		if (!smr || size > region)
			cli_die("write_lat buffers: %s", sl_last_error());
		while (scnt < iters || ccnt < iters || rcnt < iters) {
			if (rcnt < iters && scnt) {
				rcnt++;
				while (*poll_b != (uint8_t)rcnt) {
					sl_rdma_progress(s->c->qp);
					pt_reap(s);
					if (cli_stop || s->wc_errors ||
					    sl_time_ns() - last > s->timeout_ns)
						cli_die("write_lat: no write %" PRIu64
							" from the client%s",
							rcnt,
							s->wc_errors ?
								" (a request "
								"failed)" :
								"");
				}
				last = sl_time_ns();
				/* perftest's buffer is zeros but for the
				 * counter */
				for (i = 0; i + 1 < size; i++)
					bad += buf[i] != 0;
			}
			if (scnt < iters) {
				struct sl_rdma_send_wr wr = {
					.opcode = SL_RDMA_WR_RDMA_WRITE,
					.sge = { (uintptr_t)buf + region,
						 (uint32_t)size,
						 sl_rdma_mr_lkey(smr) },
					.rkey = peer.rkey,
					.remote_addr = peer.vaddr,
				};

				*post_b = (uint8_t)++scnt;
				while (sl_rdma_post_send(s->c->qp, &wr) ==
				       -ENOMEM)
					sl_rdma_progress(s->c->qp);
			}
			while (ccnt < scnt) {
				struct sl_rdma_wc wc;

				sl_rdma_progress(s->c->qp);
				if (sl_rdma_poll_cq(s->c->cq, 1, &wc) != 1) {
					if (cli_stop ||
					    sl_time_ns() - last > s->timeout_ns)
						cli_die("write_lat: no completion");
					continue;
				}
				if (wc.status != SL_RDMA_WC_SUCCESS)
					cli_die("write_lat: a write completed "
						"with %s",
						sl_rdma_wc_status_str(
							wc.status));
				ccnt++;
			}
		}
		/* the client's last write is acknowledged by our progress;
		 * a little more so its ACK goes out */
		for (i = 0; i < 1000; i++)
			sl_rdma_progress(s->c->qp);
		close(s->fd);
		sl_rdma_dereg_mr(smr);
		snprintf(line, sizeof(line),
			 "rdma server (perftest): %s: %" PRIu64 " x %" PRIu64
			 " B ping-pong%s\n",
			 pt_names[tool], iters, size,
			 bad ? ", DATA WRONG" : ", data checked");
	} else {
		/* passive: the client's requests are served while we wait
		 * for its closing handshake */
		char km[PT_KEYS], kt[PT_KEYS];
		const char *why = "";

		/* the client's end of the run; a client whose request failed
		 * leaves instead: say so with the counters */
		pt_keys_fmt(km, &me);
		if (pt_xchg_try(s, km, kt, PT_KEYS, &why)) {
			cli_warnx("%s left before its end: %s", pt_names[tool],
				  why);
			gone = true;
		} else if (tool == PT_READ_LAT || tool == PT_SEND_BW) {
			/* that was the close's handshake */
			(void)rd_write_full(s->fd, "done", sizeof("done"));
		} else {
			pt_reports(s, &mine, &theirs);
			pt_close(s, &me);
		}
		if (tool == PT_SEND_BW) {
			/* perftest's client counts its sends complete when
			 * acknowledged: they were all received */
			bad = s->recvs != iters ||
			      s->recv_bytes != iters * size;
		} else if (tool == PT_ATOMIC_BW) {
			/* fetch-and-add of 1 (perftest's ATOMIC_ADD_VALUE)
			 * on the 8-byte targets of its walk */
			for (i = 0; i + 8 <= region; i += pt_inc(8)) {
				uint64_t v;

				memcpy(&v, buf + i, 8);
				sum += v;
			}
			bad = sum != iters;
		}
		if (tool == PT_SEND_BW)
			snprintf(line, sizeof(line),
				 "rdma server (perftest): %s: %" PRIu64
				 " receives, %" PRIu64
				 " bytes (expected %" PRIu64 " x %" PRIu64
				 ")%s\n",
				 pt_names[tool], s->recvs, s->recv_bytes, iters,
				 size,
				 bad ? ", COUNT WRONG" : ", all received");
		else if (tool == PT_ATOMIC_BW)
			snprintf(line, sizeof(line),
				 "rdma server (perftest): %s: targets sum to "
				 "%" PRIu64 " (expected %" PRIu64 ")%s\n",
				 pt_names[tool], sum, iters,
				 bad ? ", DATA WRONG" : ", data checked");
		else if (tool == PT_READ_LAT)
			snprintf(line, sizeof(line),
				 "rdma server (perftest): %s: done\n",
				 pt_names[tool]);
		else
			snprintf(line, sizeof(line),
				 "rdma server (perftest): %s: the client "
				 "reports %" PRIu64 " x %" PRIu64
				 " B, %.2f MB/s\n",
				 pt_names[tool], theirs.iters, theirs.size,
				 theirs.bw_avg);
	}
	if (gone)
		rc = 1;
	if (s->wc_errors) {
		rc = 1;
		cli_warnx("%" PRIu64 " work completions failed, the first with "
			  "%s",
			  s->wc_errors, sl_rdma_wc_status_str(s->first_err));
	}
	json_object_object_add(r, "tool",
			       json_object_new_string(pt_names[tool]));
	json_object_object_add(r, "role", json_object_new_string("server"));
	json_object_object_add(r, "mtu", json_object_new_int(128 << mtu));
	json_object_object_add(r, "size", json_object_new_uint64(size));
	json_object_object_add(r, "iters", json_object_new_uint64(iters));
	json_object_object_add(r, "recvs", json_object_new_uint64(s->recvs));
	json_object_object_add(r, "bad", json_object_new_uint64(bad));
	json_object_object_add(r, "peer_left_early",
			       json_object_new_boolean(gone));
	json_object_object_add(
		r, "elapsed_s",
		json_object_new_double(cli_secs(sl_time_ns() - t0)));
	if (tool != PT_SEND_BW && tool < PT_WRITE_LAT) {
		json_object_object_add(r, "peer_bw_avg_MBps",
				       json_object_new_double(theirs.bw_avg));
		json_object_object_add(r, "peer_iters",
				       json_object_new_uint64(theirs.iters));
	}
	json_object_object_add(r, "qp", rd_json_qp(s->c->qp));
	json_object_object_add(r, "port", cli_json_port(s->c->port));
	pt_result(r, json, line);
	sl_rdma_dereg_mr(mr);
	free(buf);
	return rc || bad ? 1 : 0;
}

/*
 * --verify: READ back what the WRITEs left in the server's region (every
 * place perftest's walk wrote) and compare it with what was sent. The
 * server's region must allow READ: sluice's does, perftest's ib_write_bw
 * does not (it registers REMOTE_WRITE only). Returns the bytes wrong;
 * *checked the bytes compared.
 */
static uint64_t pt_read_back(struct pt_sess *s, const struct pt_dest *peer,
			     uint64_t size, uint64_t iters, uint64_t cycle,
			     uint64_t *checked)
{
	uint64_t step = pt_inc(size), n, i, j, len, bad = 0;
	uint64_t last = sl_time_ns();
	struct sl_rdma_send_wr wr = { .opcode = SL_RDMA_WR_RDMA_READ,
				      .rkey = peer->rkey,
				      .remote_addr = peer->vaddr };
	struct sl_rdma_mr *mr;
	struct sl_rdma_wc wc;
	uint8_t *b;

	n = size > cycle / 2 ? 1 : cycle / step;
	if (n > iters)
		n = iters;
	len = (n - 1) * step + size;
	if (len > SL_RDMA_MAX_MSG)
		cli_die("--verify: %" PRIu64 " bytes to read back, over one "
			"READ's %u",
			len, SL_RDMA_MAX_MSG);
	b = aligned_alloc(4096, (len + 4095) & ~(uint64_t)4095);
	if (!b)
		cli_die("--verify: out of memory");
	memset(b, 0, len);
	mr = sl_rdma_reg_mr(s->c->pd, b, len, SL_RDMA_ACCESS_LOCAL_WRITE);
	if (!mr)
		cli_die("--verify: %s", sl_last_error());
	wr.sge = (struct sl_rdma_sge){ (uintptr_t)b, (uint32_t)len,
				       sl_rdma_mr_lkey(mr) };
	if (sl_rdma_post_send(s->c->qp, &wr))
		cli_die("--verify: post READ: %s", sl_last_error());
	for (;;) {
		sl_rdma_progress(s->c->qp);
		if (sl_rdma_poll_cq(s->c->cq, 1, &wc) == 1)
			break;
		if (cli_stop || sl_time_ns() - last > s->timeout_ns)
			cli_die("--verify: no answer to the READ");
	}
	if (wc.status != SL_RDMA_WC_SUCCESS)
		cli_die("--verify: the READ completed with %s%s",
			sl_rdma_wc_status_str(wc.status),
			wc.status == SL_RDMA_WC_REM_ACCESS_ERR ?
				" (the server's region does not allow READ: "
				"perftest's ib_write_bw registers it for WRITE "
				"only)" :
				"");
	for (i = 0; i < n; i++)
		for (j = 0; j < size; j++)
			bad += b[i * step + j] != pt_byte(j);
	*checked = n * size;
	sl_rdma_dereg_mr(mr);
	free(b);
	return bad;
}

/* sluice as the client of a perftest server. */
static int pt_client(struct pt_sess *s, enum rd_test test,
		     const struct sl_addr *to_in, uint64_t size, uint64_t iters,
		     uint64_t window, uint8_t max_mtu, bool verify, bool json)
{
	uint64_t checked = 0;
	enum pt_tool tool = pt_tool_of(test);
	bool lat = tool == PT_WRITE_LAT || tool == PT_READ_LAT;
	struct sl_addr to = *to_in, local;
	struct pt_dest me, peer;
	struct pt_report mine = { 0 }, theirs = { 0 };
	struct json_object *r = json_object_new_object();
	struct cli_hist *h = cli_hist_new();
	uint64_t cycle, t0, t1, posted = 0, done = 0, bad = 0, i, tprev = 0;
	uint64_t span;
	uint8_t mtu, *buf;
	struct sl_rdma_mr *mr;
	char line[320];
	double secs;

	s->fd = rd_dial(&to, sl_time_ns() + s->timeout_ns);
	rd_local_addr(s->c, s->fd, &local);
	if (local.family != AF_INET)
		cli_die("perftest's exchange here is for IPv4 RoCE v2 GIDs");
	pt_prologue(s, max_mtu, &mtu, &cycle);
	/* our region: what we send from or read into (bandwidth: one slot
	 * per outstanding request), and for write_lat where the server's
	 * writes land */
	span = lat ? size : size * window;
	buf = aligned_alloc(4096, (2 * span + 4095) & ~(uint64_t)4095);
	if (!buf || !h)
		cli_die("--size %" PRIu64 ": out of memory", size);
	/* write_lat sends zeros with the count in the last byte, as
	 * perftest does; other tests the same pattern in every message */
	for (i = 0; i < 2 * span; i++)
		buf[i] = tool == PT_WRITE_LAT ? 0 : pt_byte(i % size);
	mr = sl_rdma_reg_mr(s->c->pd, buf, 2 * span,
			    SL_RDMA_ACCESS_LOCAL_WRITE |
				    SL_RDMA_ACCESS_REMOTE_WRITE);
	if (!mr)
		cli_die("registering %" PRIu64 " bytes: %s", 2 * span,
			sl_last_error());
	pt_my_dest(s, &local, mr, (uintptr_t)buf + span, &me);
	pt_shake(s, &me, &peer);
	pt_connect(s, &local, me.psn, &peer, mtu);
	for (i = 0; i < pt_syncs(tool); i++)
		pt_shake(s, &me, &peer);
	if (tool == PT_SEND_BW)
		pt_shake(s, &me, &peer);
	if (tool == PT_READ_BW && peer.out_reads && window > peer.out_reads)
		window = peer.out_reads;

	t0 = sl_time_ns();
	if (tool == PT_WRITE_LAT) {
		volatile uint8_t *poll_b = buf + span + size - 1;
		uint8_t *post_b = buf + size - 1;
		uint64_t scnt = 0, rcnt = 0, last = t0;

		/* the server wrote first; answer each write we see */
		while (scnt < iters) {
			struct sl_rdma_send_wr wr = {
				.opcode = SL_RDMA_WR_RDMA_WRITE,
				.sge = { (uintptr_t)buf, (uint32_t)size,
					 sl_rdma_mr_lkey(mr) },
				.rkey = peer.rkey,
				.remote_addr = peer.vaddr,
			};
			struct sl_rdma_wc wc;
			uint64_t now;

			rcnt++;
			while (*poll_b != (uint8_t)rcnt) {
				sl_rdma_progress(s->c->qp);
				if (cli_stop ||
				    sl_time_ns() - last > s->timeout_ns)
					cli_die("write_lat: no write %" PRIu64
						" from the server",
						rcnt);
			}
			now = sl_time_ns();
			last = now;
			if (tprev)
				cli_hist_record(h, (now - tprev) / 2);
			tprev = now;
			for (i = 0; i + 1 < size; i++)
				bad += buf[span + i] != 0;
			*post_b = (uint8_t)++scnt;
			while (sl_rdma_post_send(s->c->qp, &wr) == -ENOMEM)
				sl_rdma_progress(s->c->qp);
			do {
				sl_rdma_progress(s->c->qp);
				if (cli_stop ||
				    sl_time_ns() - last > s->timeout_ns)
					cli_die("write_lat: no completion");
			} while (sl_rdma_poll_cq(s->c->cq, 1, &wc) != 1);
			if (wc.status != SL_RDMA_WC_SUCCESS)
				cli_die("write_lat: a write completed with %s",
					sl_rdma_wc_status_str(wc.status));
			done++;
		}
		t1 = sl_time_ns();
		/* the last ACK out before the server closes */
		for (i = 0; i < 1000; i++)
			sl_rdma_progress(s->c->qp);
		close(s->fd);
	} else {
		uint64_t last = t0, tpost = 0;

		if (lat)
			window = 1;
		while (done < iters) {
			struct sl_rdma_wc wc[32];
			int k, j;

			while (posted < iters && posted - done < window) {
				uint64_t slot = lat ? 0 : posted % window;
				struct sl_rdma_send_wr wr = {
					.wr_id = posted,
					.opcode =
						tool == PT_SEND_BW ?
							SL_RDMA_WR_SEND :
						tool == PT_WRITE_BW ?
							SL_RDMA_WR_RDMA_WRITE :
							SL_RDMA_WR_RDMA_READ,
					.sge = { (uintptr_t)buf + slot * size,
						 (uint32_t)size,
						 sl_rdma_mr_lkey(mr) },
					.rkey = peer.rkey,
					.remote_addr =
						peer.vaddr +
						(lat ? 0 :
						       pt_roff(posted, size,
							       cycle)),
				};
				int e;

				tpost = sl_time_ns();
				e = sl_rdma_post_send(s->c->qp, &wr);
				if (e == -ENOMEM)
					break;
				if (e)
					cli_die("post_send: %s", strerror(-e));
				posted++;
			}
			sl_rdma_progress(s->c->qp);
			k = sl_rdma_poll_cq(s->c->cq, 32, wc);
			for (j = 0; j < k; j++) {
				if (wc[j].status != SL_RDMA_WC_SUCCESS)
					cli_die("request %" PRIu64 " completed "
						"with %s",
						wc[j].wr_id,
						sl_rdma_wc_status_str(
							wc[j].status));
				if (lat)
					cli_hist_record(h,
							sl_time_ns() - tpost);
				done++;
			}
			if (k)
				last = sl_time_ns();
			else if (cli_stop ||
				 sl_time_ns() - last > s->timeout_ns)
				cli_die("no completion after %" PRIu64
					" of %" PRIu64 " requests",
					done, iters);
		}
		t1 = sl_time_ns();
		secs = cli_secs(t1 - t0);
		mine.size = size;
		mine.iters = done;
		mine.bw_avg =
			secs > 0 ? (double)(done * size) / secs / 1048576.0 : 0;
		mine.bw_peak = mine.bw_avg;
		mine.msg_rate = secs > 0 ? (double)done / secs / 1e6 : 0;
		if (verify)
			bad = pt_read_back(s, &peer, size, iters, cycle,
					   &checked);
		if (tool != PT_READ_LAT && tool != PT_SEND_BW) {
			pt_shake(s, &me, &peer);
			pt_reports(s, &mine, &theirs);
		}
		pt_close(s, &me);
	}
	secs = cli_secs(t1 - t0);
	if (lat)
		snprintf(line, sizeof(line),
			 "%s with perftest: %" PRIu64 " x %" PRIu64
			 " B in %.3f s%s\n",
			 rd_test_name(test), done, size, secs,
			 tool == PT_WRITE_LAT ?
				 (bad ? ", DATA WRONG" : ", data checked") :
				 "");
	else
		snprintf(line, sizeof(line),
			 "%s with perftest: %" PRIu64 " x %" PRIu64
			 " B in %.3f s: %.2f MB/s, %.4f Mpps%s\n",
			 rd_test_name(test), done, size, secs, mine.bw_avg,
			 mine.msg_rate,
			 !verify ? "" :
			 bad	 ? ", READ BACK WRONG" :
				   ", read back and checked");
	json_object_object_add(r, "test",
			       json_object_new_string(rd_test_name(test)));
	json_object_object_add(r, "peer_tool",
			       json_object_new_string(pt_names[tool]));
	json_object_object_add(r, "mtu", json_object_new_int(128 << mtu));
	json_object_object_add(r, "size", json_object_new_uint64(size));
	json_object_object_add(r, "iters", json_object_new_uint64(done));
	json_object_object_add(r, "elapsed_s", json_object_new_double(secs));
	json_object_object_add(r, "bad", json_object_new_uint64(bad));
	if (verify)
		json_object_object_add(r, "read_back_bytes",
				       json_object_new_uint64(checked));
	if (lat)
		json_object_object_add(r, "latency_us", cli_json_hist_us(h));
	json_object_object_add(r, "qp", rd_json_qp(s->c->qp));
	json_object_object_add(r, "port", cli_json_port(s->c->port));
	pt_result(r, json, line);
	if (lat && !json)
		cli_print_hist_us(tool == PT_WRITE_LAT ?
					  "  one way (half a round trip):" :
					  "  latency:",
				  h);
	cli_hist_free(h);
	sl_rdma_dereg_mr(mr);
	free(buf);
	return bad ? 1 : 0;
}

int rd_perftest(enum rd_test test, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "oob", required_argument, NULL, 'O' },
		{ "tool", required_argument, NULL, 'k' },
		{ "to", required_argument, NULL, 't' },
		{ "oob-port", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "buffer", required_argument, NULL, 'B' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verify", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum pt_tool tool = pt_tool_of(test);
	struct rd_ctx c = { 0 };
	struct pt_sess s = { .fd = -1, .c = &c, .timeout_ns = 30000000000ull };
	struct sl_addr to = { 0 };
	uint64_t size = 0, iters = 1000, window = 128, region = 0;
	uint8_t max_mtu = 5;
	uint16_t oob_port = PT_OOB_PORT;
	bool json = false, have_to = false, mtu_given = false, verify = false;
	int ch, rc;
	unsigned i;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hj", lo, NULL)) != -1) {
		switch (ch) {
		case 'O':
			break; /* rd_wants_perftest checked it */
		case 'k':
			for (i = 0; i < SL_ARRAY_SIZE_T(pt_names); i++)
				if (!strcmp(optarg, pt_names[i]) ||
				    !strcmp(optarg, pt_names[i] + 3))
					break;
			if (i == SL_ARRAY_SIZE_T(pt_names))
				cli_usage_fail("--tool %s: one of ib_write_bw, "
					       "ib_read_bw, ib_send_bw, "
					       "ib_atomic_bw, ib_write_lat, "
					       "ib_read_lat",
					       optarg);
			tool = (enum pt_tool)i;
			break;
		case 't':
			rd_opt_ipv4("--to", optarg, &to);
			have_to = true;
			break;
		case 'o':
			oob_port = (uint16_t)cli_opt_u64("--oob-port", optarg,
							 1, 65535);
			break;
		case 's':
			size = cli_opt_u64("--size", optarg, 1,
					   SL_RDMA_MAX_MSG);
			break;
		case 'n':
			iters = cli_opt_u64("--iters", optarg, 1, 1000000000);
			break;
		case 'w':
			window = cli_opt_u64("--window", optarg, 1,
					     RD_SQ_DEPTH / 2);
			break;
		case 'B':
			region = cli_opt_u64("--buffer", optarg, 8, 1u << 30);
			break;
		case 'm':
			max_mtu = rd_opt_mtu(optarg);
			mtu_given = true;
			break;
		case 'T':
			s.timeout_ns = (uint64_t)(cli_opt_seconds("--timeout",
								  optarg) *
						  1e9);
			break;
		case 'V':
			verify = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(pt_help, stdout);
			return 0;
		default:
			cli_opt_bad(ch, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (udp:ADDR:4791 or "
			       "xdp:IFACE,match=udp:4791)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);
	if (test == RD_SERVER && have_to)
		cli_usage_fail("--to is for the tests; a server waits");
	if (test != RD_SERVER && !have_to)
		cli_usage_fail("--to ADDR is required (the perftest server)");
	if (verify && test != RD_WRITE_BW)
		cli_usage_fail("--verify reads back what write-bw wrote");
	if (!size)
		size = tool == PT_ATOMIC_BW ? 8 :
		       tool >= PT_WRITE_LAT ? 2 :
					      65536;
	if (tool == PT_ATOMIC_BW && size != 8)
		cli_usage_fail("--size: atomics are 8 bytes");
	if (region && region < size)
		cli_usage_fail("--buffer %" PRIu64 " is under --size %" PRIu64,
			       region, size);
	if (test != RD_SERVER && size * window > (64u << 20))
		window = (64u << 20) / size ? (64u << 20) / size : 1;
	to.port = oob_port;
	s.client = test != RD_SERVER;

	rd_open(&c, argv[optind],
		SL_RDMA_ACCESS_REMOTE_WRITE | SL_RDMA_ACCESS_REMOTE_READ |
			SL_RDMA_ACCESS_REMOTE_ATOMIC);
	if (max_mtu > rd_max_mtu(&c)) {
		if (mtu_given)
			cli_warnx("--mtu: this port's buffers hold a path MTU "
				  "of %u at most",
				  128u << rd_max_mtu(&c));
		max_mtu = rd_max_mtu(&c);
	}
	if (test == RD_SERVER)
		rc = pt_server(&s, tool, size, iters, region, max_mtu, oob_port,
			       json);
	else
		rc = pt_client(&s, test, &to, size, iters, window, max_mtu,
			       verify, json);
	if (s.fd >= 0)
		close(s.fd);
	rd_close(&c);
	return rc;
}
