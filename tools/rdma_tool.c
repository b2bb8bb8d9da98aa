// SPDX-License-Identifier: MIT
/*
 * What every `sluice rdma` test shares, whichever exchange it speaks
 * (rdma_tool.h): the port, protection domain, completion queue and RC
 * queue pair of a test, its RoCE address and the peer's MAC, the options
 * all of them parse, the QP's counters as JSON, and the TCP side channel
 * the out-of-band exchanges run on (sluice's, perftest's,
 * ibv_rc_pingpong's). Control path; cli_die on what a test cannot go on
 * without.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/poll.h> /* not <poll.h>: tools/poll.h shadows it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/rdma.h>

#include "rdma_tool.h"
#include "sluice.h"

#define RD_CQ_DEPTH 1024
#define RD_UDP_BUF 8192 /* a 4096 path MTU with headers and headroom */
#define RD_XDP_BUF 4096 /* a page: AF_XDP's largest chunk */

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

int rd_accept(int lfd)
{
	int fd;

	for (;;) {
		struct pollfd pf = { .fd = lfd, .events = POLLIN };

		if (cli_stop) {
			close(lfd);
			return -1;
		}
		if (poll(&pf, 1, 200) > 0)
			break;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0)
		cli_die("accept: %s", strerror(errno));
	return fd;
}

void rd_oob_addr(const struct rd_ctx *c, uint16_t port, struct sl_addr *a)
{
	*a = c->info.addr.family ? c->info.addr :
				   (struct sl_addr){ .family = AF_INET };
	a->port = port;
}

void rd_gid_v4(uint8_t gid[16], const struct sl_addr *a)
{
	memset(gid, 0, 10);
	gid[10] = gid[11] = 0xff;
	memcpy(gid + 12, &a->v4, 4);
}

int rd_gid_addr(const uint8_t gid[16], struct sl_addr *a)
{
	unsigned i;

	for (i = 0; i < 10; i++)
		if (gid[i])
			return -1;
	if (gid[10] != 0xff || gid[11] != 0xff)
		return -1;
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(&a->v4, gid + 12, 4);
	a->port = SL_RDMA_UDP_PORT;
	return 0;
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
	 * NICs' largest); the socket takes whatever size it is given. xdp
	 * ports get UMEM chunks of a page, the most AF_XDP takes: alone a
	 * 2048-byte path MTU; with multi-buffer frames (the port's
	 * max_frame) 4096, frames spanning two chunks. packet rings have
	 * their own frame size.
	 */
	if (!strncmp(spec, "udp:", 4) || !strncmp(spec, "xdp:", 4)) {
		bool xdp = spec[0] == 'x';
		struct sl_pool_opts po = { .sz = sizeof(po),
					   .buf_size = xdp ? RD_XDP_BUF :
							     RD_UDP_BUF,
					   .n_bufs = xdp ? 8192 : 0,
					   .name = "rdma" };
		struct sl_port_opts o = { .sz = sizeof(o) };

		c->pool = sl_pool_create(&po);
		if (!c->pool)
			cli_die("a pool of %u-byte buffers: %s", po.buf_size,
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
	/* an xdp port with multi-buffer frames takes more than a buffer */
	if (c->info.max_frame > room)
		room = c->info.max_frame;
	/* Ethernet, IPv6 and UDP, BTH, RETH, immediate, pad and ICRC */
	for (m = 5; m > 1; m--)
		if (14 + 40 + 8 + 12 + 16 + 4 + 3 + 4 + (128u << m) <= room)
			break;
	return m;
}

uint8_t rd_path_mtu(int fd, uint8_t mtu)
{
	int ip_mtu = 0, hdr;
	socklen_t len = sizeof(ip_mtu);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint8_t m;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return mtu;
	if (ss.ss_family == AF_INET6) {
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &ip_mtu, &len))
			return mtu;
		hdr = 40;
	} else {
		if (getsockopt(fd, IPPROTO_IP, IP_MTU, &ip_mtu, &len))
			return mtu;
		hdr = 20;
	}
	/* IP, UDP, BTH, RETH, immediate, pad and ICRC around the payload;
	 * RoCE never fragments (the kernel would refuse: DF) */
	for (m = mtu; m > 1; m--)
		if (hdr + 8 + 12 + 16 + 4 + 3 + 4 + (128 << m) <= ip_mtu)
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

void *rd_map_file(const char *path, uint64_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		cli_die("--from %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0)
		cli_die("--from %s: not a regular file with bytes in it", path);
	if ((uint64_t)st.st_size > UINT32_MAX)
		cli_die("--from %s: %lld bytes; a region holds at most 4 GiB",
			path, (long long)st.st_size);
	/* private and writable: a region is registered for local writes,
	 * which a WRITE's source never gets */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		cli_die("--from %s: mmap: %s", path, strerror(errno));
	*len = (uint64_t)st.st_size;
	return p;
}
