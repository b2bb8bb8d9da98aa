// SPDX-License-Identifier: MIT
/*
 * Receive on a served socket, in the calling thread, with the socket's
 * lock held: frames from the port are checked as the kernel would
 * (addresses, connected peer, checksums) before they are stashed, so a
 * frame in the stash is a datagram the kernel would have delivered. The
 * send side is send.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/net_tstamp.h>
#include <linux/time_types.h>

#include <sluice/mem.h>

#include "ps.h"

/* The stash is empty: kfd is not readable any more. */
static void ps_unkick(struct ps_sock *s)
{
	eventfd_t v;

	if (s->kicked) {
		(void)eventfd_read(s->kfd, &v);
		s->kicked = false;
	}
}

void ps_stash_drop(struct ps_sock *s)
{
	while (s->n) {
		sl_pkt_free(s->stash[s->head]);
		s->rx_dropped++;
		s->head = (s->head + 1) % PS_STASH;
		s->n--;
	}
	ps_unkick(s);
}

bool ps_readable(struct ps_sock *s)
{
	return s->served && ps_iface_fill(s, false);
}

bool ps_readable_pull(struct ps_sock *s)
{
	return s->served && ps_iface_fill(s, true);
}

static void put_cmsg(struct msghdr *m, size_t *used, int level, int type,
		     const void *data, size_t len)
{
	struct cmsghdr *c;

	if (*used + CMSG_SPACE(len) > m->msg_controllen) {
		m->msg_flags |= MSG_CTRUNC;
		return;
	}
	c = (struct cmsghdr *)((char *)m->msg_control + *used);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	*used += CMSG_SPACE(len);
}

/* The receive time in the one control message the socket's SO_TIMESTAMP*
 * ask for (ts_set in calls.c), in the kernel's own layouts: the old ones
 * are the kernel's long, whatever the program's time_t. */
static void put_tstamp(const struct ps_sock *s, struct msghdr *m, size_t *used,
		       uint64_t tsn)
{
	long long sec = (long long)(tsn / 1000000000ull);
	long long ns = (long long)(tsn % 1000000000ull);

	if (s->ts_ns && s->ts_new) {
		struct __kernel_timespec t = { .tv_sec = sec, .tv_nsec = ns };

		put_cmsg(m, used, SOL_SOCKET, SO_TIMESTAMPNS_NEW, &t,
			 sizeof(t));
	} else if (s->ts_ns) {
		struct __kernel_old_timespec t = {
			.tv_sec = (__kernel_old_time_t)sec,
			.tv_nsec = (long)ns,
		};

		put_cmsg(m, used, SOL_SOCKET, SO_TIMESTAMPNS_OLD, &t,
			 sizeof(t));
	} else if (s->ts_new) {
		struct __kernel_sock_timeval t = { .tv_sec = sec,
						   .tv_usec = ns / 1000 };

		put_cmsg(m, used, SOL_SOCKET, SO_TIMESTAMP_NEW, &t, sizeof(t));
	} else {
		struct __kernel_old_timeval t = {
			.tv_sec = (__kernel_long_t)sec,
			.tv_usec = (__kernel_long_t)(ns / 1000),
		};

		put_cmsg(m, used, SOL_SOCKET, SO_TIMESTAMP_OLD, &t, sizeof(t));
	}
}

#ifndef SOF_TIMESTAMPING_OPT_RX_FILTER
#define SOF_TIMESTAMPING_OPT_RX_FILTER (1 << 17)
#endif

/* SO_TIMESTAMPING's control message: the software time first of three
 * (the hardware ones zero), in the layout ts_new says. */
static void put_tsing(const struct ps_sock *s, struct msghdr *m, size_t *used,
		      uint64_t tsn)
{
	if (!(s->tsing & SOF_TIMESTAMPING_SOFTWARE) ||
	    ((s->tsing & SOF_TIMESTAMPING_OPT_RX_FILTER) &&
	     !(s->tsing & SOF_TIMESTAMPING_RX_SOFTWARE)))
		return;
	if (s->ts_new) {
		struct __kernel_timespec t[3] = { 0 };

		t[0].tv_sec = (long long)(tsn / 1000000000ull);
		t[0].tv_nsec = (long long)(tsn % 1000000000ull);
		put_cmsg(m, used, SOL_SOCKET, SO_TIMESTAMPING_NEW, t,
			 sizeof(t));
	} else {
		struct __kernel_old_timespec t[3] = { 0 };

		t[0].tv_sec = (__kernel_old_time_t)(tsn / 1000000000ull);
		t[0].tv_nsec = (long)(tsn % 1000000000ull);
		put_cmsg(m, used, SOL_SOCKET, SO_TIMESTAMPING_OLD, t,
			 sizeof(t));
	}
}

static void put_int_cmsg(struct msghdr *m, size_t *used, int level, int type,
			 int v)
{
	put_cmsg(m, used, level, type, &v, sizeof(v));
}

/* a as the socket's family names it (IPv4 in an IPv6 socket:
 * ::ffff:a.b.c.d); returns the length. */
static socklen_t to_sockaddr(const struct ps_sock *s, const struct sl_addr *a,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (s->local.family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		if (a->family == AF_INET6) {
			sin6->sin6_addr = a->v6;
		} else {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&sin6->sin6_addr.s6_addr[12], &a->v4, 4);
		}
		return sizeof(*sin6);
	}
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_port = htons(a->port);
	((struct sockaddr_in *)ss)->sin_addr = a->v4;
	return sizeof(struct sockaddr_in);
}

/* One datagram into m, as recvmsg fills it. */
static ssize_t deliver(struct ps_sock *s, struct msghdr *m, int flags,
		       const uint8_t *pl, uint32_t len,
		       const struct ps_rxinfo *ri)
{
	const struct sl_addr *src = &ri->src, *dst = &ri->dst;
	size_t off = 0, i, used = 0;

	m->msg_flags = 0;
	for (i = 0; i < m->msg_iovlen && off < len; i++) {
		size_t k = m->msg_iov[i].iov_len;

		if (k > len - off)
			k = len - off;
		memcpy(m->msg_iov[i].iov_base, pl + off, k);
		off += k;
	}
	if (off < len)
		m->msg_flags |= MSG_TRUNC;
	if (m->msg_name) {
		struct sockaddr_storage ss;
		socklen_t sl = to_sockaddr(s, src, &ss);
		size_t k = m->msg_namelen < sl ? m->msg_namelen : sl;

		memcpy(m->msg_name, &ss, k);
		m->msg_namelen = sl;
	}
	if (m->msg_control && m->msg_controllen) {
		if (s->ts)
			put_tstamp(s, m, &used, ri->ts);
		/* after SO_TIMESTAMP*'s, as __sock_recv_timestamp puts them */
		if (s->tsing)
			put_tsing(s, m, &used, ri->ts);
		if (s->pktinfo && dst->family == AF_INET) {
			struct in_pktinfo pi = { .ipi_ifindex = s->ifindex,
						 .ipi_spec_dst = dst->v4,
						 .ipi_addr = dst->v4 };

			put_cmsg(m, &used, IPPROTO_IP, IP_PKTINFO, &pi,
				 sizeof(pi));
		}
		if (s->pktinfo6 && s->local.family == AF_INET6) {
			struct sockaddr_storage a;
			struct in6_pktinfo pi = {
				.ipi6_ifindex = (unsigned)s->ifindex
			};

			(void)to_sockaddr(s, dst, &a);
			pi.ipi6_addr = ((struct sockaddr_in6 *)&a)->sin6_addr;
			put_cmsg(m, &used, IPPROTO_IPV6, IPV6_PKTINFO, &pi,
				 sizeof(pi));
		}
		/* after IP_PKTINFO, TTL then TOS: the kernel's order
		 * (ip_cmsg_recv_offset), and its sizes: an int, a byte */
		if (s->recvttl && dst->family == AF_INET)
			put_int_cmsg(m, &used, IPPROTO_IP, IP_TTL, ri->ttl);
		if (s->recvtos && dst->family == AF_INET)
			put_cmsg(m, &used, IPPROTO_IP, IP_TOS, &ri->tos, 1);
		/* IPv6: hop limit then traffic class, both ints
		 * (ip6_datagram_recv_specific_ctl) */
		if (s->recvhops && dst->family == AF_INET6)
			put_int_cmsg(m, &used, IPPROTO_IPV6, IPV6_HOPLIMIT,
				     ri->ttl);
		if (s->recvtclass && dst->family == AF_INET6)
			put_int_cmsg(m, &used, IPPROTO_IPV6, IPV6_TCLASS,
				     ri->tos);
	}
	m->msg_controllen = used;
	if (!(flags & MSG_PEEK)) {
		s->rx++;
		s->rx_bytes += len;
	}
	return (ssize_t)((flags & MSG_TRUNC) ? len : off);
}

/* One datagram from the stash into m; -EAGAIN when there is none. */
static ssize_t from_stash(struct ps_sock *s, struct msghdr *m, int flags)
{
	struct ps_rxinfo ri;
	struct sl_pkt *p;
	struct sl_udp_view v;
	struct ps_meta *pm;
	ssize_t r;

	if (!ps_readable(s))
		return -EAGAIN;
	/* the interface's lock: a socket joining may reopen the port and
	 * free the stashes meanwhile */
	pthread_mutex_lock(&s->ifc->lock);
	if (!s->n) {
		pthread_mutex_unlock(&s->ifc->lock);
		return -EAGAIN;
	}
	p = s->stash[s->head];
	pm = ps_meta(p);
	if (pm) {
		r = deliver(s, m, flags, p->data + pm->off, pm->len, &pm->ri);
	} else {
		(void)sl_udp_parse(p, &v);
		ps_rxinfo_set(&ri, &v, p);
		r = deliver(s, m, flags, v.payload, v.len, &ri);
	}
	if (!(flags & MSG_PEEK)) {
		s->head = (s->head + 1) % PS_STASH;
		s->n--;
		sl_pkt_free(p);
		if (!s->n)
			ps_unkick(s);
	}
	pthread_mutex_unlock(&s->ifc->lock);
	return r;
}

void ps_dgram_free(struct ps_dgram *d)
{
	munmap(d, sizeof(*d) + d->len);
}

/* The first held datagram no other process has read, NULL when none;
 * those it read are dropped here. */
static struct ps_dgram *held_first(struct ps_sock *s)
{
	while (s->held_n) {
		struct ps_dgram *d = s->held[s->held_head];

		if (!__atomic_load_n(&d->taken, __ATOMIC_ACQUIRE))
			return d;
		ps_dgram_free(d);
		s->held_head = (s->held_head + 1) % PS_STASH;
		s->held_n--;
	}
	return NULL;
}

bool ps_held_ready(struct ps_sock *s)
{
	return held_first(s) != NULL;
}

int ps_next_len(struct ps_sock *s)
{
	struct sl_udp_view v;
	int n = 0;

	if (!ps_readable(s))
		return ps_held_ready(s) ? (int)s->held[s->held_head]->len : -1;
	pthread_mutex_lock(&s->ifc->lock);
	if (s->n && ps_meta(s->stash[s->head]))
		n = (int)ps_meta(s->stash[s->head])->len;
	else if (s->n && !sl_udp_parse(s->stash[s->head], &v))
		n = (int)v.len;
	pthread_mutex_unlock(&s->ifc->lock);
	return n;
}

ssize_t ps_recv_held(struct ps_sock *s, struct msghdr *m, int flags)
{
	struct ps_dgram *d;
	ssize_t r;

	for (;;) {
		d = held_first(s);
		if (!d)
			return -EAGAIN;
		if (flags & MSG_PEEK)
			return deliver(s, m, flags, d->data, d->len, &d->ri);
		/* ours if the other process has not taken it meanwhile */
		if (!__atomic_exchange_n(&d->taken, 1, __ATOMIC_ACQ_REL))
			break;
	}
	r = deliver(s, m, flags, d->data, d->len, &d->ri);
	ps_dgram_free(d);
	s->held_head = (s->held_head + 1) % PS_STASH;
	s->held_n--;
	return r;
}

ssize_t ps_recv_port(struct ps_sock *s, struct msghdr *m, int flags)
{
	return from_stash(s, m, flags);
}

ssize_t ps_recvmsg(struct ps_sock *s, int fd, struct msghdr *m, int flags)
{
	ssize_t r = from_stash(s, m, flags);

	if (r != -EAGAIN)
		return r;
	/* datagrams that reached the kernel socket: other interfaces,
	 * loopback, RSS queues without a socket, fragments */
	r = ps_real.recvmsg(fd, m, flags | MSG_DONTWAIT);
	if (r < 0)
		return -errno;
	s->rx_kernel++;
	return r;
}
