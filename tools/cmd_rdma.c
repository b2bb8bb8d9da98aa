// SPDX-License-Identifier: MIT
/*
 * sluice rdma: bandwidth and latency of the RoCEv2 RC transport
 * (sluice/rdma.h) between two processes, in the manner of the perftest
 * tools (ib_write_bw, ib_read_lat). `sluice rdma server PORT` registers a
 * buffer and answers; `sluice rdma TEST PORT --to ADDR` runs one test
 * against it.
 *
 * The queue pairs learn about each other out of band, as RDMA applications
 * do: the client opens a TCP connection to the server's address and the
 * same port number as its RoCE port (TCP and UDP port numbers are separate,
 * so TCP 4791 is free beside UDP 4791), sends a hello (test, message size,
 * QPN, first PSN, path MTU, address, MAC) and gets the server's answer with
 * the rkey, address and length of its buffer. The connection stays open:
 * the client says "done" on it at the end, so the server stops by itself,
 * and a server or client that dies is noticed by the other.
 *
 * Bandwidth tests keep --window work requests outstanding and time the run
 * from the first post to the last completion. Latency tests run one work
 * request at a time and time each from post to completion: a WRITE's
 * completion needs the responder's ACK, so this is a round trip (perftest's
 * write_lat reports half of a ping-pong instead).
 *
 * Over 800 lines (sluice's exchange, the server and the five tests
 * together): its split by job is issue 15's redesign, which takes the whole
 * tree's layout at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/poll.h> /* not <poll.h>: tools/poll.h shadows it */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sluice/rdma.h>

#include "hist.h"
#include "poll.h"
#include "rdma_tool.h"
#include "sluice.h"

#define RD_MAGIC 0x534c5244u /* "SLRD" */
#define RD_VERSION 1
#define RD_MSG_LEN 128
#define RD_DONE 'D'
#define RD_DEF_SERVER_SIZE (8u << 20)
#define RD_MAX_SERVER_SIZE (1u << 30)
#define RD_MAX_LOCAL (64u << 20) /* client buffer: window * size at most */
#define RD_CQ_DEPTH 1024
#define RD_UDP_BUF 8192 /* a 4096 path MTU with headers and headroom */
#define RD_STALL_NS 10000000000ull /* no completion for this long: fail */

static const char *const rd_names[] = {
	"server", "write-bw", "read-bw", "send-bw", "write-lat", "read-lat",
};

const char *rd_test_name(enum rd_test t)
{
	return rd_names[t];
}

/*
 * The hello and its answer, 128 bytes, big endian:
 *
 *   0 u32 magic  4 u8 version  5 u8 test  6 u8 mtu  7 u8 status (0 ok)
 *   8 u32 qpn   12 u32 psn    16 u8 family (4/6)  18 u16 port
 *  20 u8 addr[16]  36 u8 mac[6]  44 u32 rkey  48 u64 va  56 u64 len
 *  64 u32 size  68 char reason[60] (status != 0)
 */
struct rd_msg {
	uint8_t test, mtu, status;
	uint32_t qpn, psn, rkey, size;
	uint64_t va, len;
	struct sl_addr addr;
	uint8_t mac[SL_ETH_ALEN];
	char reason[60];
};

static void rd_pack(const struct rd_msg *m, uint8_t *b)
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

static int rd_unpack(const uint8_t *b, struct rd_msg *m)
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

/* ---- the side channel ---------------------------------------------- */

static socklen_t rd_sockaddr(const struct sl_addr *a,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		s6->sin6_addr = a->v6;
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	s4->sin_addr = a->v4;
	return sizeof(*s4);
}

static void rd_from_sockaddr(const struct sockaddr_storage *ss,
			     struct sl_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		a->family = AF_INET6;
		a->port = ntohs(s6->sin6_port);
		a->v6 = s6->sin6_addr;
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		a->family = AF_INET;
		a->port = ntohs(s4->sin_port);
		a->v4 = s4->sin_addr;
	}
}

static bool rd_addr_any(const struct sl_addr *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (a->family == AF_INET6)
		return !memcmp(&a->v6, &any6, sizeof(any6));
	return a->family != AF_INET || a->v4.s_addr == htonl(INADDR_ANY);
}

/* Read exactly len bytes within deadline (sl_time_ns). 0, or -1 with a
 * reason in *why: "timeout", "closed", or the errno text. */
int rd_read_full(int fd, void *buf, size_t len, uint64_t deadline,
		 const char **why)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		uint64_t now = sl_time_ns();
		ssize_t n;
		int r;

		if (cli_stop) {
			*why = "interrupted";
			return -1;
		}
		if (now >= deadline) {
			*why = "timeout";
			return -1;
		}
		r = poll(&pf, 1, (int)((deadline - now) / 1000000 + 1));
		if (r < 0 && errno != EINTR) {
			*why = strerror(errno);
			return -1;
		}
		if (r <= 0)
			continue;
		n = recv(fd, p + got, len - got, 0);
		if (n == 0) {
			*why = "connection closed";
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*why = strerror(errno);
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int rd_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Connect to the server's side channel, trying again while it refuses (it
 * may be starting) until the deadline: a server that is not there ends in
 * a message, not a hang.
 */
int rd_dial(const struct sl_addr *to, uint64_t deadline)
{
	struct sockaddr_storage ss;
	socklen_t sl = rd_sockaddr(to, &ss);
	char buf[64];
	int last = 0;

	for (;;) {
		int fd = socket(to->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct pollfd pf;
		int err = 0, one = 1;
		socklen_t el = sizeof(err);
		uint64_t now = sl_time_ns();

		if (fd < 0)
			cli_die("socket: %s", strerror(errno));
		fcntl(fd, F_SETFL, O_NONBLOCK);
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
			goto up;
		if (errno != EINPROGRESS) {
			err = errno;
		} else {
			pf = (struct pollfd){ .fd = fd, .events = POLLOUT };
			if (now < deadline &&
			    poll(&pf, 1,
				 (int)((deadline - now) / 1000000 + 1)) > 0) {
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (!err)
					goto up;
			} else {
				err = ETIMEDOUT;
			}
		}
		close(fd);
		/* a refusal says more than running out of time after it */
		if (err != ETIMEDOUT || !last)
			last = err;
		if (cli_stop)
			cli_die("interrupted");
		if (sl_time_ns() >= deadline)
			break;
		usleep(100000);
		continue;
up:
		fcntl(fd, F_SETFL, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return fd;
	}
	cli_die("no answer from a server at %s within the timeout (%s); "
		"is `sluice rdma server` running there?",
		sl_addr_format(to, buf, sizeof(buf)), strerror(last));
}

/* ---- common ---------------------------------------------------------- */

void rd_open(struct rd_ctx *c, const char *spec, unsigned access)
{
	struct sl_rdma_qp_attr a = {
		.sz = sizeof(a),
		.max_send_wr = RD_SQ_DEPTH,
		.max_recv_wr = RD_SQ_DEPTH,
		.access = access,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.min_rnr_timer = 1,
		.max_rd_atomic = 16,
		.max_dest_rd_atomic = 16,
	};

	/*
	 * udp: ports get buffers for a 4096-byte path MTU (rxe's and RoCE
	 * NICs' largest); the socket takes whatever size it is given. AF_XDP
	 * and packet rings have their own frame sizes (2048 on xdp ports).
	 */
	if (!strncmp(spec, "udp:", 4)) {
		struct sl_pool_opts po = { .sz = sizeof(po),
					   .buf_size = RD_UDP_BUF,
					   .name = "rdma" };
		struct sl_port_opts o = { .sz = sizeof(o) };

		c->pool = sl_pool_create(&po);
		if (!c->pool)
			cli_die("a pool of %u-byte buffers: %s", RD_UDP_BUF,
				sl_last_error());
		o.pool = c->pool;
		c->port = cli_open_port_opts(spec, NULL, &o);
	} else {
		c->port = cli_open_port(spec, NULL);
	}
	c->info.sz = sizeof(c->info);
	sl_port_info(c->port, &c->info);
	c->pd = sl_rdma_pd_create();
	c->cq = sl_rdma_cq_create(RD_CQ_DEPTH);
	if (!c->pd || !c->cq)
		cli_die("%s", sl_last_error());
	c->qp = sl_rdma_qp_create(c->pd, c->port, 0, c->cq, c->cq, &a);
	if (!c->qp)
		cli_die("queue pair: %s", sl_last_error());
}

void rd_close(struct rd_ctx *c)
{
	sl_rdma_qp_destroy(c->qp);
	sl_rdma_cq_destroy(c->cq);
	sl_rdma_pd_destroy(c->pd);
	sl_port_close(c->port);
	if (c->pool)
		sl_pool_destroy(c->pool);
}

uint8_t rd_max_mtu(const struct rd_ctx *c)
{
	struct sl_pkt *p = sl_pkt_alloc(sl_port_pool(c->port));
	uint32_t room = p ? sl_pkt_tailroom(p) : 0;
	uint8_t m;

	if (p)
		sl_pkt_free(p);
	/* Ethernet, IPv6 and UDP, BTH, RETH, immediate, pad and ICRC */
	for (m = 5; m > 1; m--)
		if (14 + 40 + 8 + 12 + 16 + 4 + 3 + 4 + (128u << m) <= room)
			break;
	return m;
}

/* Our RoCE address: a udp: port's own, else the address the kernel uses
 * on the side channel (the interface's) with the RoCE port. */
void rd_local_addr(const struct rd_ctx *c, int fd, struct sl_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint16_t port = SL_RDMA_UDP_PORT;

	if (!strcmp(c->info.driver, "udp")) {
		port = c->info.addr.port;
		if (!rd_addr_any(&c->info.addr)) {
			*a = c->info.addr;
			return;
		}
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		cli_die("getsockname: %s", strerror(errno));
	rd_from_sockaddr(&ss, a);
	a->port = port;
}

static void rd_connect(struct rd_ctx *c, const struct sl_addr *local,
		       uint32_t sq_psn, const struct rd_msg *peer)
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

void rd_peer_mac(const struct rd_ctx *c, const struct sl_addr *remote,
		 uint8_t mac[SL_ETH_ALEN])
{
	struct sl_nexthop nh;
	char buf[64];
	int e;

	memset(mac, 0, SL_ETH_ALEN);
	if (!strcmp(c->info.driver, "udp"))
		return;
	e = sl_route_nexthop(remote, &nh);
	if (!e)
		e = sl_neigh_resolve(nh.ifindex, &nh.via, mac, 1000);
	if (e && e != -ENXIO)
		cli_die("no MAC address for %s: %s",
			sl_addr_format(remote, buf, sizeof(buf)),
			sl_last_error());
}

uint32_t rd_psn(void)
{
	return (uint32_t)(sl_time_ns() * 2654435761u) & 0xffffff;
}

struct json_object *rd_json_qp(struct sl_rdma_qp *qp)
{
	struct sl_rdma_qp_stats s;
	struct sl_rdma_port_stats ps;
	struct json_object *o = json_object_new_object();

	if (sl_rdma_qp_stats(qp, &s) == 0) {
#define ADD(f) json_object_object_add(o, #f, json_object_new_uint64(s.f))
		ADD(tx_pkts);
		ADD(rx_pkts);
		ADD(retransmits);
		ADD(timeouts);
		ADD(seq_naks_sent);
		ADD(seq_naks_rcvd);
		ADD(rnr_naks_sent);
		ADD(rnr_naks_rcvd);
		ADD(err_naks_sent);
		ADD(err_naks_rcvd);
		ADD(dup_reqs);
		ADD(acks_sent);
		ADD(tx_nobuf);
#undef ADD
	}
	if (sl_rdma_port_stats(qp, &ps) == 0) {
		json_object_object_add(o, "rx_bad_icrc",
				       json_object_new_uint64(ps.rx_bad_icrc));
		json_object_object_add(
			o, "rx_icrc_id_unseen",
			json_object_new_uint64(ps.rx_icrc_id_unseen));
		json_object_object_add(o, "rx_not_roce",
				       json_object_new_uint64(ps.rx_not_roce));
		json_object_object_add(
			o, "rx_unknown_qp",
			json_object_new_uint64(ps.rx_unknown_qp));
	}
	return o;
}

void rd_opt_ipv4(const char *opt, const char *arg, struct sl_addr *a)
{
	if (sl_addr_parse(arg, true, a) || a->family != AF_INET)
		cli_usage_fail("%s %s: an IPv4 address (the exchanges carry "
			       "RoCE v2 GIDs of IPv4 addresses)",
			       opt, arg);
}

uint8_t rd_opt_mtu(const char *arg)
{
	uint64_t v = cli_opt_u64("--mtu", arg, 256, 4096);

	switch (v) {
	case 256:
		return 1;
	case 512:
		return 2;
	case 1024:
		return 3;
	case 2048:
		return 4;
	case 4096:
		return 5;
	}
	cli_usage_fail("--mtu %s: one of 256, 512, 1024, 2048, 4096", arg);
}

/* ---- server ---------------------------------------------------------- */

static const char server_help[] =
	"usage: sluice rdma server PORT [options]\n"
	"\n"
	"Register a buffer and answer one `sluice rdma TEST` client, then exit.\n"
	"The client reaches it over TCP on the address and port number of the\n"
	"RoCE port (udp: ports), or on --listen.\n"
	"\n"
	"  --size B          bytes of the buffer (default 8M, at most 1 GiB)\n"
	"  --listen ADDR[:PORT]  side channel address (default: a udp: port's\n"
	"                    address and port; other ports 0.0.0.0:4791)\n"
	"  --mtu B           largest path MTU accepted (default 4096)\n"
	"  --busy            never sleep between empty polls\n"
	"  --json            print the result as JSON on stdout\n"
	"  --oob perftest    serve perftest's ib_* tools instead (--oob "
	"perftest\n"
	"                    --help for its options)\n"
	"\n"
	"example:\n"
	"  sluice rdma server udp:127.0.0.1:4791 &\n"
	"  sluice rdma write-bw udp:127.0.0.1:4792 --to 127.0.0.1:4791\n";

int rd_listen(const struct sl_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = rd_sockaddr(a, &ss);
	int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	char buf[64];

	if (fd < 0)
		cli_die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 4))
		cli_die("side channel on TCP %s: %s",
			sl_addr_format(a, buf, sizeof(buf)), strerror(errno));
	return fd;
}

static void rd_refuse(int fd, struct rd_msg *m, const char *fmt, ...)
	SL_PRINTF_T(3, 4);
static void rd_refuse(int fd, struct rd_msg *m, const char *fmt, ...)
{
	uint8_t b[RD_MSG_LEN];
	va_list ap;

	m->status = 1;
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
	rd_pack(m, b);
	rd_write_full(fd, b, sizeof(b));
	cli_warnx("refused a client: %s", m->reason);
}

static int rd_server(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "busy", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_addr listen_a = { 0 }, local;
	uint64_t size = RD_DEF_SERVER_SIZE, recvs = 0, recv_bytes = 0;
	uint64_t recv_err = 0, t0 = 0, t1 = 0, last_check = 0;
	bool have_listen = false, json = false, done = false;
	uint8_t max_mtu = 5, b[RD_MSG_LEN];
	struct cli_idle idle = { 0 };
	struct sl_rdma_mr *mr;
	struct rd_ctx c = { 0 };
	struct rd_msg hello, ans = { 0 };
	const char *why = "";
	uint32_t slots = 0, slot_size = 0, i;
	uint8_t *buf;
	int lfd, fd, ch, rc = 0;
	char abuf[64];

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hjs:", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			size = cli_opt_u64("--size", optarg, 8,
					   RD_MAX_SERVER_SIZE);
			break;
		case 'l':
			cli_opt_addr("--listen", optarg, true, &listen_a);
			have_listen = true;
			break;
		case 'm':
			max_mtu = rd_opt_mtu(optarg);
			break;
		case 'b':
			idle.busy = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(server_help, stdout);
			return 0;
		default:
			cli_opt_bad(ch, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (a spec such as udp:ADDR:4791)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);

	rd_open(&c, argv[optind],
		SL_RDMA_ACCESS_REMOTE_WRITE | SL_RDMA_ACCESS_REMOTE_READ);
	if (!have_listen) {
		if (!strcmp(c.info.driver, "udp")) {
			listen_a = c.info.addr;
		} else {
			listen_a.family = AF_INET;
			listen_a.v4.s_addr = htonl(INADDR_ANY);
		}
	}
	if (!listen_a.port)
		listen_a.port = SL_RDMA_UDP_PORT;
	/* page-aligned so READ and WRITE targets sit as in a real region */
	buf = aligned_alloc(4096, (size + 4095) & ~(uint64_t)4095);
	if (!buf)
		cli_die("--size %" PRIu64 ": out of memory", size);
	memset(buf, 0, size);
	mr = sl_rdma_reg_mr(c.pd, buf, size,
			    SL_RDMA_ACCESS_LOCAL_WRITE |
				    SL_RDMA_ACCESS_REMOTE_WRITE |
				    SL_RDMA_ACCESS_REMOTE_READ);
	if (!mr)
		cli_die("registering %" PRIu64 " bytes: %s", size,
			sl_last_error());

	lfd = rd_listen(&listen_a);
	if (!json)
		fprintf(stderr,
			"sluice: rdma: server: waiting on TCP %s, %" PRIu64
			" byte buffer\n",
			sl_addr_format(&listen_a, abuf, sizeof(abuf)), size);
	for (;;) {
		struct pollfd pf = { .fd = lfd, .events = POLLIN };

		if (cli_stop) {
			rd_close(&c);
			return 0;
		}
		if (poll(&pf, 1, 200) > 0)
			break;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0)
		cli_die("accept: %s", strerror(errno));
	if (rd_read_full(fd, b, sizeof(b), sl_time_ns() + 5000000000ull,
			 &why) ||
	    rd_unpack(b, &hello))
		cli_die("client hello: %s", *why ? why : "not a sluice client");
	rd_local_addr(&c, fd, &local);

	ans.test = hello.test;
	if (hello.test < RD_WRITE_BW || hello.test > RD_READ_LAT) {
		rd_refuse(fd, &ans, "unknown test %u", hello.test);
		cli_die("client asked for unknown test %u", hello.test);
	}
	if (hello.size > size) {
		rd_refuse(fd, &ans,
			  "messages of %u bytes; the buffer has %" PRIu64,
			  hello.size, size);
		cli_die("client messages of %u bytes do not fit the %" PRIu64
			" byte buffer (--size)",
			hello.size, size);
	}
	if (max_mtu > rd_max_mtu(&c))
		max_mtu = rd_max_mtu(&c);
	c.mtu = hello.mtu < max_mtu ? hello.mtu : max_mtu;
	ans.mtu = c.mtu;
	ans.qpn = sl_rdma_qp_num(c.qp);
	ans.psn = rd_psn();
	ans.addr = local;
	memcpy(ans.mac, c.info.mac, SL_ETH_ALEN);
	ans.rkey = sl_rdma_mr_rkey(mr);
	ans.va = (uintptr_t)buf;
	ans.len = size;
	ans.size = hello.size;
	rd_connect(&c, &local, ans.psn, &hello);
	if (hello.test == RD_SEND_BW) {
		/* receives in slots of the message size, posted before the
		 * answer so the first SEND finds one */
		slot_size = hello.size ? hello.size : 1;
		slots = (uint32_t)(size / slot_size);
		if (slots > RD_SQ_DEPTH)
			slots = RD_SQ_DEPTH;
		for (i = 0; i < slots; i++) {
			struct sl_rdma_sge sge = {
				(uintptr_t)buf + (uint64_t)i * slot_size,
				slot_size, sl_rdma_mr_lkey(mr)
			};

			if (sl_rdma_post_recv(c.qp, i, &sge))
				cli_die("post_recv: %s", sl_last_error());
		}
	}
	rd_pack(&ans, b);
	if (rd_write_full(fd, b, sizeof(b)))
		cli_die("answering the client: %s", strerror(errno));
	fcntl(fd, F_SETFL, O_NONBLOCK);

	while (!cli_stop && !done) {
		struct sl_rdma_wc wc[32];
		int n = sl_rdma_progress(c.qp), k, j;
		uint64_t now;

		k = sl_rdma_poll_cq(c.cq, 32, wc);
		for (j = 0; j < k; j++) {
			struct sl_rdma_sge sge;

			if (wc[j].status != SL_RDMA_WC_SUCCESS) {
				recv_err++;
				continue;
			}
			if (!recvs)
				t0 = sl_time_ns();
			recvs++;
			recv_bytes += wc[j].byte_len;
			sge = (struct sl_rdma_sge){
				(uintptr_t)buf + wc[j].wr_id * slot_size,
				slot_size, sl_rdma_mr_lkey(mr)
			};
			sl_rdma_post_recv(c.qp, wc[j].wr_id, &sge);
		}
		cli_idle_poll(&idle, (unsigned)(n + k));
		/* the side channel: a syscall, so not on every turn */
		now = sl_time_ns();
		if (now - last_check >= 1000000) {
			uint8_t d;
			ssize_t r = recv(fd, &d, 1, 0);

			last_check = now;
			if (r == 1 && d == RD_DONE) {
				done = true;
			} else if (r == 0 || (r < 0 && errno != EAGAIN &&
					      errno != EINTR)) {
				cli_warnx("the client went away before it was "
					  "done");
				rc = 1;
				break;
			}
		}
	}
	t1 = sl_time_ns();
	if (done) {
		uint8_t d = RD_DONE;

		fcntl(fd, F_SETFL, 0);
		rd_write_full(fd, &d, 1);
	}
	close(fd);
	if (json) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(
			r, "test",
			json_object_new_string(rd_names[hello.test]));
		json_object_object_add(r, "size",
				       json_object_new_uint64(hello.size));
		json_object_object_add(r, "recvs",
				       json_object_new_uint64(recvs));
		json_object_object_add(r, "recv_bytes",
				       json_object_new_uint64(recv_bytes));
		json_object_object_add(r, "recv_errors",
				       json_object_new_uint64(recv_err));
		json_object_object_add(r, "done",
				       json_object_new_boolean(done));
		json_object_object_add(r, "qp", rd_json_qp(c.qp));
		json_object_object_add(r, "port", cli_json_port(c.port));
		cli_json_print(r);
	} else {
		printf("rdma server: %s from %s%s", rd_names[hello.test],
		       sl_addr_format(&hello.addr, abuf, sizeof(abuf)),
		       done ? ", done" : ", stopped");
		if (hello.test == RD_SEND_BW)
			printf(", %" PRIu64 " receives, %" PRIu64
			       " bytes in %.3f s",
			       recvs, recv_bytes,
			       recvs ? cli_secs(t1 - t0) : 0);
		printf("\n");
	}
	sl_rdma_dereg_mr(mr);
	rd_close(&c);
	free(buf);
	return rc;
}

/* ---- client ---------------------------------------------------------- */

static const char client_help[] =
	"usage: sluice rdma write-bw|read-bw|send-bw|write-lat|read-lat PORT\n"
	"                   --to ADDR[:PORT] [options]\n"
	"\n"
	"One RDMA test against `sluice rdma server` over the RoCEv2 RC "
	"transport.\n"
	"Bandwidth tests keep --window work requests outstanding and print\n"
	"bytes/s and messages/s; latency tests run one at a time and print the\n"
	"post-to-completion time (a round trip) as percentiles p50, p90, p99,\n"
	"p99.9 and max.\n"
	"\n"
	"  --to ADDR[:PORT]  the server's RoCE address; its side channel is TCP\n"
	"                    on the same address and port (default port 4791)\n"
	"  --size B          message bytes (default 65536 for *-bw, 8 for "
	"*-lat)\n"
	"  --iters N         messages (default 1000 for *-bw, 10000 for *-lat)\n"
	"  --window N        outstanding work requests, *-bw (default: 2 MiB\n"
	"                    worth, 1..128; at most 256)\n"
	"  --mtu B           path MTU 256..4096 (default 1024)\n"
	"  --timeout S       to reach the server (default 5)\n"
	"  --json            print the result as JSON on stdout\n"
	"  --oob perftest    the server is perftest's ib_* tool (--oob "
	"perftest\n"
	"                    --help for its options)\n"
	"\n"
	"PORT is the local RoCE port: udp:ADDR:PORT, or "
	"xdp:IFACE,match=udp:4791.\n"
	"\n"
	"example:\n"
	"  sluice rdma server udp:127.0.0.1:4791 &\n"
	"  sluice rdma write-lat udp:127.0.0.1:4792 --to 127.0.0.1:4791\n";

static int rd_client(enum rd_test test, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool lat = test == RD_WRITE_LAT || test == RD_READ_LAT;
	bool rd = test == RD_READ_BW || test == RD_READ_LAT;
	uint64_t size = lat ? 8 : 65536, iters = lat ? 10000 : 1000;
	uint64_t window = 0, timeout_ns = 5000000000ull;
	uint64_t posted = 0, completed = 0, t0, t1, last_wc, slots, tpost = 0;
	struct sl_addr to = { 0 }, local;
	bool have_to = false, json = false;
	struct rd_ctx c = { .mtu = 3 };
	struct rd_msg hello = { 0 }, ans;
	uint8_t b[RD_MSG_LEN], d;
	struct sl_rdma_mr *mr;
	struct cli_hist *h = NULL;
	const char *why = "";
	uint8_t *buf;
	size_t blen;
	char abuf[64];
	int fd, ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hjt:s:n:w:", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			cli_opt_addr("--to", optarg, true, &to);
			have_to = true;
			break;
		case 's':
			size = cli_opt_u64("--size", optarg, 1,
					   SL_RDMA_MAX_MSG);
			break;
		case 'n':
			iters = cli_opt_u64("--iters", optarg, 1, 1000000000);
			break;
		case 'w':
			window =
				cli_opt_u64("--window", optarg, 1, RD_SQ_DEPTH);
			break;
		case 'm':
			c.mtu = rd_opt_mtu(optarg);
			break;
		case 'T':
			timeout_ns = (uint64_t)(cli_opt_seconds("--timeout",
								optarg) *
						1e9);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(client_help, stdout);
			return 0;
		default:
			cli_opt_bad(ch, optopt, argv);
		}
	}
	if (optind >= argc)
		cli_usage_fail("missing PORT (a spec such as udp:ADDR:0)");
	if (argc - optind > 1)
		cli_usage_fail("unexpected argument '%s'", argv[optind + 1]);
	if (!have_to)
		cli_usage_fail("--to ADDR[:PORT] is required (the server)");
	if (!to.port)
		to.port = SL_RDMA_UDP_PORT;
	if (lat) {
		if (window > 1)
			cli_usage_fail("--window: latency tests run one work "
				       "request at a time");
		window = 1;
	} else if (!window) {
		window = (2u << 20) / size;
		window = window < 1 ? 1 : window > 128 ? 128 : window;
	}
	/* each outstanding request has its own local slot (READs land in
	 * it); past RD_MAX_LOCAL they share, which is fine for bandwidth */
	slots = RD_MAX_LOCAL / size;
	slots = slots < 1 ? 1 : slots > window ? window : slots;
	blen = (size_t)(slots * size);

	rd_open(&c, argv[optind], 0);
	if (!strcmp(c.info.driver, "udp") && c.info.addr.family != to.family)
		cli_usage_fail("--to: an IPv%c server for an IPv%c port",
			       to.family == AF_INET6 ? '6' : '4',
			       c.info.addr.family == AF_INET6 ? '6' : '4');
	buf = aligned_alloc(4096, (blen + 4095) & ~(size_t)4095);
	h = cli_hist_new();
	if (!buf || !h)
		cli_die("--size %" PRIu64 ": out of memory", size);
	for (size_t i = 0; i < blen; i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	mr = sl_rdma_reg_mr(c.pd, buf, blen, SL_RDMA_ACCESS_LOCAL_WRITE);
	if (!mr)
		cli_die("registering %zu bytes: %s", blen, sl_last_error());

	fd = rd_dial(&to, sl_time_ns() + timeout_ns);
	rd_local_addr(&c, fd, &local);
	hello.test = (uint8_t)test;
	hello.mtu = c.mtu;
	hello.qpn = sl_rdma_qp_num(c.qp);
	hello.psn = rd_psn();
	hello.addr = local;
	hello.size = (uint32_t)size;
	memcpy(hello.mac, c.info.mac, SL_ETH_ALEN);
	rd_pack(&hello, b);
	if (rd_write_full(fd, b, sizeof(b)) ||
	    rd_read_full(fd, b, sizeof(b), sl_time_ns() + timeout_ns, &why) ||
	    rd_unpack(b, &ans))
		cli_die("no answer from the server at %s: %s",
			sl_addr_format(&to, abuf, sizeof(abuf)),
			*why ? why : "not a sluice rdma server");
	if (ans.status)
		cli_die("the server refused: %s", ans.reason);
	if (ans.len < size)
		cli_die("the server's buffer has %" PRIu64 " bytes, less than "
			"--size %" PRIu64,
			ans.len, size);
	c.mtu = ans.mtu;
	rd_connect(&c, &local, hello.psn, &ans);

	t0 = last_wc = sl_time_ns();
	while (completed < iters && !cli_stop) {
		struct sl_rdma_wc wc[32];
		uint64_t now;
		int k, j;

		while (posted < iters && posted - completed < window) {
			uint64_t slot = posted % slots;
			/* the remote buffer is used round-robin in message
			 * sized steps, as perftest does */
			uint64_t roff = (posted % (ans.len / size)) * size;
			struct sl_rdma_send_wr wr = {
				.wr_id = posted,
				.opcode = test == RD_SEND_BW ? SL_RDMA_WR_SEND :
					  rd ? SL_RDMA_WR_RDMA_READ :
					       SL_RDMA_WR_RDMA_WRITE,
				.sge = { (uintptr_t)buf + slot * size,
					 (uint32_t)size, sl_rdma_mr_lkey(mr) },
				.rkey = ans.rkey,
				.remote_addr = ans.va + roff,
			};
			int r;

			if (lat)
				tpost = sl_time_ns();
			r = sl_rdma_post_send(c.qp, &wr);
			if (r == -ENOMEM)
				break;
			if (r)
				cli_die("post_send: %s", strerror(-r));
			posted++;
		}
		sl_rdma_progress(c.qp);
		k = sl_rdma_poll_cq(c.cq, 32, wc);
		now = sl_time_ns();
		for (j = 0; j < k; j++) {
			if (wc[j].status != SL_RDMA_WC_SUCCESS)
				cli_die("work request %" PRIu64 " completed "
					"with %s%s",
					wc[j].wr_id,
					sl_rdma_wc_status_str(wc[j].status),
					wc[j].status == SL_RDMA_WC_RETRY_EXC_ERR ?
						" (the server stopped "
						"answering)" :
						"");
			if (lat)
				cli_hist_record(h, now - tpost);
			completed++;
		}
		if (k)
			last_wc = now;
		else if (now - last_wc > RD_STALL_NS)
			cli_die("no completion for %.0f s; the server is not "
				"answering",
				cli_secs(RD_STALL_NS));
	}
	t1 = sl_time_ns();
	if (cli_stop)
		cli_die("interrupted after %" PRIu64 " of %" PRIu64
			" work requests",
			completed, iters);

	/* tell the server; its answer means it saw every request */
	d = RD_DONE;
	if (rd_write_full(fd, &d, 1) ||
	    rd_read_full(fd, &d, 1, sl_time_ns() + timeout_ns, &why))
		cli_warnx("the server did not confirm the end: %s", why);
	close(fd);

	{
		double secs = cli_secs(t1 - t0);
		double bps = secs > 0 ? (double)(completed * size) / secs : 0;
		double mps = secs > 0 ? (double)completed / secs : 0;

		if (json) {
			struct json_object *r = json_object_new_object();

			json_object_object_add(
				r, "test",
				json_object_new_string(rd_names[test]));
			json_object_object_add(r, "size",
					       json_object_new_uint64(size));
			json_object_object_add(
				r, "iters", json_object_new_uint64(completed));
			json_object_object_add(r, "window",
					       json_object_new_uint64(window));
			json_object_object_add(
				r, "mtu", json_object_new_int(128 << c.mtu));
			json_object_object_add(
				r, "bytes",
				json_object_new_uint64(completed * size));
			json_object_object_add(r, "elapsed_s",
					       json_object_new_double(secs));
			json_object_object_add(r, "bytes_per_s",
					       json_object_new_double(bps));
			json_object_object_add(
				r, "gbit_per_s",
				json_object_new_double(bps * 8 / 1e9));
			json_object_object_add(r, "msgs_per_s",
					       json_object_new_double(mps));
			if (lat)
				json_object_object_add(r, "latency_us",
						       cli_json_hist_us(h));
			json_object_object_add(r, "qp", rd_json_qp(c.qp));
			json_object_object_add(r, "port",
					       cli_json_port(c.port));
			cli_json_print(r);
		} else {
			printf("%s: %" PRIu64 " x %" PRIu64
			       " B in %.3f s: %.0f bytes/s (%.3f Gbit/s), "
			       "%.0f msgs/s\n",
			       rd_names[test], completed, size, secs, bps,
			       bps * 8 / 1e9, mps);
			if (lat)
				cli_print_hist_us("  latency:", h);
		}
	}
	sl_rdma_dereg_mr(mr);
	rd_close(&c);
	cli_hist_free(h);
	free(buf);
	return 0;
}

static const char rdma_help[] =
	"usage: sluice rdma server PORT [options]\n"
	"       sluice rdma write-bw|read-bw|send-bw|write-lat|read-lat PORT\n"
	"                   --to ADDR[:PORT] [options]\n"
	"       sluice rdma pingpong PORT [--to ADDR] [options]   (with "
	"ibv_rc_pingpong)\n"
	"\n"
	"RDMA bandwidth and latency over the RoCEv2 RC transport, in the style\n"
	"of perftest. `sluice rdma TEST --help` for the options; with\n"
	"--oob perftest the other end is perftest itself (--oob perftest "
	"--help).\n";

int cmd_rdma(int argc, char **argv)
{
	unsigned i;

	if (argc < 2)
		cli_usage_fail("missing TEST: server, write-bw, read-bw, "
			       "send-bw, write-lat or read-lat");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(rdma_help, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "pingpong"))
		return rd_pingpong(argc - 1, argv + 1);
	for (i = 0; i < SL_ARRAY_SIZE_T(rd_names); i++) {
		if (strcmp(argv[1], rd_names[i]))
			continue;
		if (rd_wants_perftest(argc - 1, argv + 1))
			return rd_perftest((enum rd_test)i, argc - 1, argv + 1);
		if (i == RD_SERVER)
			return rd_server(argc - 1, argv + 1);
		return rd_client((enum rd_test)i, argc - 1, argv + 1);
	}
	cli_usage_fail("unknown test '%s': server, write-bw, read-bw, send-bw, "
		       "write-lat or read-lat",
		       argv[1]);
}
