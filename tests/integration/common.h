/* SPDX-License-Identifier: MIT */
/*
 * Small helpers the integration tests share: skipping when not root, sockets
 * created inside one side of a test bed, a ping written with raw sockets
 * (so the tests do not depend on iputils being installed) and UDP.
 */
#ifndef SL_ITEST_COMMON_H
#define SL_ITEST_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "sltest.h"
#include "testbed.h"

#include <sluice/probe.h>
#include <sluice/udp.h>

/* Bring a bed up or skip the test with the reason (not root, no netns). */
#define itest_bed_up(tb, opts)                                             \
	do {                                                               \
		int err_ = tb_up((tb), (opts));                            \
		if (err_ == -EPERM || err_ == -EOPNOTSUPP)                 \
			sl_test_skip("needs root with netns and veth: %s", \
				     tb_error());                          \
		if (err_)                                                  \
			fail_msg("tb_up: %s", tb_error());                 \
	} while (0)

/* A socket created in one side's namespace (it stays there for life). */
static inline int itest_socket(const struct tb *tb, int side, int domain,
			       int type, int proto)
{
	int fd;

	assert_int_equal(tb_enter(tb, side), 0);
	fd = socket(domain, type | SOCK_CLOEXEC, proto);
	assert_int_equal(tb_enter(tb, TB_HOME), 0);
	assert_true(fd >= 0);
	return fd;
}

static inline int itest_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static inline uint16_t itest_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* One echo request from side `from` to the other side's address; 1 if the
 * reply came back within a second. */
static inline int itest_ping(const struct tb *tb, int from, int v6)
{
	const struct tb_end *peer = &tb->end[!from];
	uint16_t id = (uint16_t)getpid(), seqno = (uint16_t)(from + 1);
	uint8_t pkt[64], buf[256];
	int fd, got = 0, tries;

	memset(pkt, 0, sizeof(pkt));
	if (!v6) {
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_addr = peer->ip4 };
		struct icmphdr *h = (struct icmphdr *)pkt;

		fd = itest_socket(tb, from, AF_INET, SOCK_RAW, IPPROTO_ICMP);
		h->type = ICMP_ECHO;
		h->un.echo.id = htons(id);
		h->un.echo.sequence = htons(seqno);
		h->checksum = itest_csum(pkt, sizeof(pkt));
		assert_int_equal(sendto(fd, pkt, sizeof(pkt), 0,
					(struct sockaddr *)&to, sizeof(to)),
				 sizeof(pkt));
	} else {
		struct sockaddr_in6 to = { .sin6_family = AF_INET6,
					   .sin6_addr = peer->ip6 };
		struct icmp6_hdr *h = (struct icmp6_hdr *)pkt;

		fd = itest_socket(tb, from, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
		h->icmp6_type = ICMP6_ECHO_REQUEST;
		h->icmp6_id = htons(id);
		h->icmp6_seq = htons(seqno);
		/* the kernel fills the ICMPv6 checksum on raw sockets */
		assert_int_equal(sendto(fd, pkt, sizeof(pkt), 0,
					(struct sockaddr *)&to, sizeof(to)),
				 sizeof(pkt));
	}
	/* a raw socket sees every ICMP message: look for our reply */
	for (tries = 0; !got && tries < 20 && itest_wait(fd, 1000); tries++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		if (!v6) {
			size_t ihl = (size_t)(buf[0] & 0xf) * 4;
			struct icmphdr *r = (struct icmphdr *)(buf + ihl);

			if ((size_t)n >= ihl + sizeof(*r) &&
			    r->type == ICMP_ECHOREPLY &&
			    ntohs(r->un.echo.id) == id)
				got = 1;
		} else {
			struct icmp6_hdr *r = (struct icmp6_hdr *)buf;

			if ((size_t)n >= sizeof(*r) &&
			    r->icmp6_type == ICMP6_ECHO_REPLY &&
			    ntohs(r->icmp6_id) == id)
				got = 1;
		}
	}
	close(fd);
	return got;
}

/* A UDP socket in `side` bound to its own address and port. */
static inline int itest_udp_bound(const struct tb *tb, int side, int v6,
				  uint16_t port)
{
	int fd;

	if (!v6) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons(port),
					 .sin_addr = tb->end[side].ip4 };

		fd = itest_socket(tb, side, AF_INET, SOCK_DGRAM, 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6,
					  .sin6_port = htons(port),
					  .sin6_addr = tb->end[side].ip6 };

		fd = itest_socket(tb, side, AF_INET6, SOCK_DGRAM, 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	return fd;
}

/* Send `msg` from a socket of side `from` to the other side's port. */
static inline void itest_udp_send(const struct tb *tb, int from, int v6,
				  uint16_t port, const char *msg)
{
	const struct tb_end *peer = &tb->end[!from];
	int fd;

	if (!v6) {
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons(port),
					  .sin_addr = peer->ip4 };

		fd = itest_socket(tb, from, AF_INET, SOCK_DGRAM, 0);
		assert_int_equal(sendto(fd, msg, strlen(msg), 0,
					(struct sockaddr *)&to, sizeof(to)),
				 strlen(msg));
	} else {
		struct sockaddr_in6 to = { .sin6_family = AF_INET6,
					   .sin6_port = htons(port),
					   .sin6_addr = peer->ip6 };

		fd = itest_socket(tb, from, AF_INET6, SOCK_DGRAM, 0);
		assert_int_equal(sendto(fd, msg, strlen(msg), 0,
					(struct sockaddr *)&to, sizeof(to)),
				 strlen(msg));
	}
	close(fd);
}

/* Receive one datagram within a second and check its text. */
static inline void itest_udp_expect(int fd, const char *msg)
{
	char buf[256];
	ssize_t n;

	assert_true(itest_wait(fd, 1000));
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, msg);
}

/* Run a shell command on the host (the bed's own `ip` commands); fail the
 * test if it fails. */
static inline void itest_sh(const struct tb *tb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void itest_sh(const struct tb *tb, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = tb_run(tb, TB_HOME, cmd);
	if (rc != 0)
		fail_msg("'%s' exited %d", cmd, rc);
}

/*
 * Send msg from fd (a UDP socket in A) to B's address and UDP port `port`
 * every 100 ms, until `port` (a sluice port in B) receives a frame ending
 * in msg or ms pass. Returns that frame (the caller owns it) or NULL;
 * every other frame received is freed.
 */
static inline struct sl_pkt *itest_exchange(const struct tb *tb,
					    struct sl_port *port, int fd,
					    uint16_t udp_port, const char *msg,
					    int ms)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(udp_port),
				  .sin_addr = tb->end[TB_B].ip4 };
	uint64_t end = sl_time_ns() + (uint64_t)ms * 1000000u, next = 0;
	size_t len = strlen(msg);
	struct sl_pkt *p, *found = NULL;

	assert_int_equal(tb_enter(tb, TB_B), 0);
	while (!found && sl_time_ns() < end) {
		if (sl_time_ns() >= next) {
			assert_int_equal(sendto(fd, msg, len, 0,
						(struct sockaddr *)&to,
						sizeof(to)),
					 len);
			next = sl_time_ns() + 100000000u;
		}
		while (sl_rx_burst(port, 0, &p, 1) == 1) {
			if (!found && p->len >= len &&
			    !memcmp(p->data + p->len - len, msg, len))
				found = p;
			else
				sl_pkt_free(p);
		}
		usleep(500);
	}
	assert_int_equal(tb_enter(tb, TB_HOME), 0);
	return found;
}

/* Turn a received IPv4 UDP frame around for sending back, its UDP
 * checksum cleared (veth's partial checksum would be wrong once swapped). */
static inline void itest_turn_around(struct sl_pkt *p)
{
	size_t l4;

	assert_int_equal(sl_udp_swap(p), 0);
	l4 = 14 + (size_t)(p->data[14] & 0xf) * 4;
	assert_true(p->len >= l4 + 8);
	p->data[l4 + 6] = p->data[l4 + 7] = 0;
}

/* The ids of our steering program on B's interface and of the BPF link
 * holding it; returns B's ifindex. */
static inline int itest_our_xdp(const struct tb *tb, uint32_t *prog_id,
				uint32_t *link_id)
{
	struct sl_iface_facts f = { .sz = sizeof(f) };
	uint32_t id = 0;

	assert_int_equal(tb_enter(tb, TB_B), 0);
	assert_int_equal(sl_probe_iface(tb->end[TB_B].ifname, &f), 0);
	assert_int_equal(tb_enter(tb, TB_HOME), 0);
	assert_int_equal(f.n_xdp_progs, 1);
	assert_true(f.xdp_progs[0].ours);
	*prog_id = f.xdp_progs[0].id;
	*link_id = 0;
	while (bpf_link_get_next_id(id, &id) == 0) {
		struct bpf_link_info li;
		uint32_t len = sizeof(li);
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&li, 0, sizeof(li));
		if (bpf_obj_get_info_by_fd(fd, &li, &len) == 0 &&
		    li.type == BPF_LINK_TYPE_XDP && li.prog_id == *prog_id)
			*link_id = id;
		close(fd);
	}
	assert_true(*link_id != 0);
	return f.ifindex;
}

/* Neither the program nor the link is loaded any more. */
static inline bool itest_xdp_unloaded(uint32_t prog_id, uint32_t link_id)
{
	int pf = bpf_prog_get_fd_by_id(prog_id);
	int lf = bpf_link_get_fd_by_id(link_id);

	if (pf >= 0)
		close(pf);
	if (lf >= 0)
		close(lf);
	return pf < 0 && lf < 0;
}

#endif
