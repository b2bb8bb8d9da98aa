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
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sltest.h"
#include "testbed.h"

/* Bring a bed up or skip the test with the reason (not root, no netns). */
#define itest_bed_up(tb, opts)                                             \
	do {                                                               \
		int err_ = sl_testbed_up((tb), (opts));                    \
		if (err_ == -EPERM || err_ == -EOPNOTSUPP)                 \
			sl_test_skip("needs root with netns and veth: %s", \
				     sl_last_error());                     \
		if (err_)                                                  \
			fail_msg("sl_testbed_up: %s", sl_last_error());    \
	} while (0)

/* A socket created in one side's namespace (it stays there for life). */
static inline int itest_socket(const struct sl_testbed *tb, int side,
			       int domain, int type, int proto)
{
	int fd;

	assert_int_equal(sl_testbed_enter(tb, side), 0);
	fd = socket(domain, type | SOCK_CLOEXEC, proto);
	assert_int_equal(sl_testbed_enter(tb, SL_TESTBED_HOME), 0);
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
static inline int itest_ping(const struct sl_testbed *tb, int from, int v6)
{
	const struct sl_testbed_end *peer = &tb->end[!from];
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
static inline int itest_udp_bound(const struct sl_testbed *tb, int side, int v6,
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
static inline void itest_udp_send(const struct sl_testbed *tb, int from, int v6,
				  uint16_t port, const char *msg)
{
	const struct sl_testbed_end *peer = &tb->end[!from];
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

#endif
