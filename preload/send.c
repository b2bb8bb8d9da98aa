// SPDX-License-Identifier: MIT
/*
 * Send on a served socket, in the calling thread, with the socket's lock
 * held: a datagram goes out through the port when the port can send it as
 * the kernel would (headers from the kernel's routing and neighbour
 * tables, kept per destination; DF, IP ID, TOS, TTL and the
 * IPv6 flow label as the kernel sets them), else through the kernel
 * socket, which is always there.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <sluice/mem.h>

#include "ps.h"

/* route()'s answer when asked not to query and dst is not cached */
static const struct sl_udp_params route_miss;

static uint64_t label_key;
static bool label_auto;

/* net.ipv6.auto_flowlabels, read once: 1 (the default) and 3 label every
 * flow; a random key makes the labels unguessable, as the kernel's */
static void label_init(void)
{
	char v[8] = "";
	int fd = open("/proc/sys/net/ipv6/auto_flowlabels", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, v, sizeof(v) - 1) < 0)
			v[0] = '\0';
		close(fd);
	}
	label_auto = v[0] == '1' || v[0] == '3';
	if (getrandom(&label_key, sizeof(label_key), GRND_NONBLOCK) !=
	    sizeof(label_key))
		label_key = ps_now_ns();
}

/*
 * The flow label of an IPv6 flow, as the kernel sets one on a UDP
 * socket's datagrams (ip6_make_flowlabel): a hash of the flow's addresses
 * and ports, 20 bits, never 0, kept below 0x80000 (the upper half is for
 * labels a program manages, net.ipv6.flowlabel_state_ranges). Routers
 * that spread IPv6 flows over paths by the label need one per flow.
 */
static uint32_t flow_label(const struct sl_addr *src, const struct sl_addr *dst)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	uint64_t w[5], h;
	uint32_t l;
	unsigned i;

	pthread_once(&once, label_init);
	if (!label_auto)
		return 0;
	memcpy(w, &src->v6, 16);
	memcpy(w + 2, &dst->v6, 16);
	w[4] = (uint64_t)src->port << 16 | dst->port | (uint64_t)17 << 32;
	for (h = label_key, i = 0; i < 5; i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	l = (uint32_t)(h >> 40) & 0x7ffff;
	return htonl(l ? l : 1);
}

/*
 * The headers for dst: from the socket's cache, or the process's routes
 * (routes.c: may ask the kernel, never waits for ARP), unless !query:
 * then &route_miss. NULL: send through the kernel. A pointer
 * stays good until the next query (which may reuse its slot).
 *
 * Entries are per address, whatever the port (a DNS or NTP client asks
 * from a new port each time), and hold while the kernel's tables have
 * not changed (routes.c), for a minute at most; every second where that
 * watch could not start.
 */
static const struct sl_udp_params *
route(struct ps_sock *s, const struct sl_addr *dst, bool query, uint64_t now)
{
	uint64_t g = ps_rt_gen(now);
	unsigned set =
		ps_addr_hash(dst) % (PS_ROUTES / PS_ROUTE_WAYS) * PS_ROUTE_WAYS;
	struct sl_addr src;
	struct ps_route *r;
	int ifindex = 0, i;
	bool asked;

	for (i = 0; i < PS_ROUTE_WAYS; i++) {
		r = &s->routes[set + i];
		if (r->until_ns <= now || r->gen != g ||
		    !ps_ip_eq(&r->dst, dst))
			continue;
		if (r->kernel)
			return NULL;
		if (r->hp.dst.port != dst->port) {
			r->hp.dst.port = dst->port;
			if (dst->family == AF_INET6)
				r->label = flow_label(&r->hp.src, dst);
		}
		return &r->hp;
	}
	if (!query)
		return &route_miss;
	r = &s->routes[set + s->next_route++ % PS_ROUTE_WAYS];
	memset(r, 0, sizeof(*r));
	r->dst = *dst;
	r->gen = g;
	r->until_ns = now + (g ? 60000000000ull : 1000000000ull);
	i = ps_route_get(dst, s->local.port, &r->hp, &ifindex, &asked);
	s->route_queries += asked;
	/* bound to an address of the other family than dst (an IPv6 one,
	 * sending to IPv4): the kernel's error */
	src = ps_unmapped(&s->local);
	if (i || ifindex != s->ifindex ||
	    (!s->any && src.family != dst->family)) {
		r->kernel = true;
		return NULL;
	}
	if (!s->any)
		r->hp.src = src;
	r->hp.src.port = s->local.port;
	if (dst->family == AF_INET6)
		r->label = flow_label(&r->hp.src, dst);
	r->hp.tos = dst->family == AF_INET ? s->tos : s->tclass;
	r->hp.flags = dst->family == AF_INET && s->no_df ? SL_BUILD_NO_DF : 0;
	r->hp.ttl = dst->family == AF_INET ? s->ttl : s->hops;
	return &r->hp;
}

/* What a send's IP_PKTINFO or IPV6_PKTINFO asks for: family 0 for none,
 * else its family, the source address (any: the usual one) and the
 * interface (0: any). */
struct send_pi {
	int family;
	struct sl_addr src;
	int ifindex;
};

/* The UDP_SEGMENT size m asks for (its control message, else the
 * socket's), 0 for none, and its IP_PKTINFO or IPV6_PKTINFO in *pi; -1
 * when m has a control message the port does not send as the kernel
 * would (m goes through the kernel). */
static int send_cmsgs(const struct ps_sock *s, const struct msghdr *m,
		      struct send_pi *pi)
{
	struct cmsghdr *c;
	uint16_t gso = s->gso;

	memset(pi, 0, sizeof(*pi));
	if (!m->msg_controllen)
		return gso;
	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level == IPPROTO_UDP &&
		    c->cmsg_type == UDP_SEGMENT &&
		    c->cmsg_len == CMSG_LEN(sizeof(gso))) {
			memcpy(&gso, CMSG_DATA(c), sizeof(gso));
		} else if (c->cmsg_level == IPPROTO_IP &&
			   c->cmsg_type == IP_PKTINFO &&
			   c->cmsg_len == CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo ip;

			/* ipi_spec_dst is the source (ipi_addr is ignored) */
			memcpy(&ip, CMSG_DATA(c), sizeof(ip));
			pi->family = AF_INET;
			pi->src.family = AF_INET;
			pi->src.v4 = ip.ipi_spec_dst;
			pi->ifindex = ip.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
			   c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len ==
				   CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo ip;

			memcpy(&ip, CMSG_DATA(c), sizeof(ip));
			pi->family = AF_INET6;
			pi->src.family = AF_INET6;
			pi->src.v6 = ip.ipi6_addr;
			pi->ifindex = (int)ip.ipi6_ifindex;
		} else {
			return -1;
		}
	}
	return gso;
}

/* Whether a send with pi goes out of the port as hp has it: pi names the
 * port's interface (or none) and the source hp has (or none). A DNS,
 * SNMP or NTP server on 0.0.0.0 answers from the address the query came
 * to, which on an interface with one address is hp's. IPv4's unset
 * source has the kernel pick one even for a socket bound to another:
 * that one is the kernel's to send. */
static bool send_pi_ok(const struct ps_sock *s, const struct send_pi *pi,
		       const struct sl_addr *dst,
		       const struct sl_udp_params *hp)
{
	if (!pi->family)
		return true;
	if (pi->family != dst->family ||
	    (pi->ifindex && pi->ifindex != s->ifindex))
		return false;
	if (ps_addr_any(&pi->src))
		return pi->family == AF_INET6 || s->any;
	return ps_ip_eq(&pi->src, &hp->src);
}

/* The headers m goes out with on the port, route_miss (see route), or
 * NULL: m goes through the kernel. *len: its payload's length; *gso: the
 * size of the datagrams to cut it into, 0 for one. */
static const struct sl_udp_params *send_params(struct ps_sock *s,
					       const struct msghdr *m,
					       int flags, bool query,
					       size_t *len, unsigned *gso)
{
	const struct sl_udp_params *hp;
	struct send_pi pi;
	struct sl_addr dst;
	const char *fw;
	uint64_t now;
	size_t i;
	int g;

	if (!s->served || (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)))
		return NULL;
	/* netfilter rules appeared (fw.c): the kernel's from now on */
	now = ps_coarse_ns();
	fw = ps_fw_late(now);
	if (fw) {
		ps_fallback(s, "%s", fw);
		return NULL;
	}
	g = send_cmsgs(s, m, &pi);
	if (g < 0)
		return NULL;
	if (m->msg_name) {
		if (ps_from_sockaddr(m->msg_name, m->msg_namelen, &dst) ||
		    dst.family != s->local.family)
			return NULL;
	} else if (s->connected) {
		dst = s->peer;
	} else {
		return NULL;
	}
	/* a dual-stack socket sends to an IPv4-mapped address as IPv4, as
	 * the kernel does (udpv6_sendmsg hands it to udp_sendmsg); an
	 * IPV6_V6ONLY one gets the kernel's error */
	if (dst.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&dst.v6)) {
		if (s->v6only)
			return NULL;
		dst = ps_unmapped(&dst);
	}
	/* what a port does not send as the kernel would: broadcast,
	 * multicast, link-local (the scope) */
	if (!dst.port || ps_addr_any(&dst))
		return NULL;
	if (dst.family == AF_INET ? IN_MULTICAST(ntohl(dst.v4.s_addr)) ||
					    dst.v4.s_addr == INADDR_BROADCAST :
				    IN6_IS_ADDR_MULTICAST(&dst.v6) ||
					    IN6_IS_ADDR_LINKLOCAL(&dst.v6))
		return NULL;
	for (*len = 0, i = 0; i < m->msg_iovlen; i++)
		*len += m->msg_iov[i].iov_len;
	/* as the kernel: a datagram no bigger than the size is sent whole,
	 * and one cut into more than UDP_MAX_SEGMENTS pieces is its error
	 * (EINVAL) to give */
	*gso = g && *len > (size_t)g ? (unsigned)g : 0;
	if (*gso && (*len + *gso - 1) / *gso > PS_GSO_SEGS)
		return NULL;
	/* IPV6_MTU: the kernel fragments an IPv6 packet bigger than that */
	if (dst.family == AF_INET6 && s->mtu6 &&
	    40 + 8 + (*gso ? *gso : *len) > s->mtu6)
		return NULL;
	hp = route(s, &dst, query, now);
	if (hp && hp != &route_miss && !send_pi_ok(s, &pi, &dst, hp))
		return NULL;
	return hp;
}

/* len bytes of m's payload from byte from, built into a buffer of f's
 * port; NULL: it goes through the kernel (no buffer, too big for one).
 * f's lock held. */
/* The iovec of m that holds payload byte *at, and *at made the offset in
 * it (msg_iovlen when m has no such byte). */
static size_t iov_find(const struct msghdr *m, size_t *at)
{
	size_t i;

	for (i = 0; i < m->msg_iovlen && *at >= m->msg_iov[i].iov_len; i++)
		*at -= m->msg_iov[i].iov_len;
	return i;
}

/*
 * m's payload bytes [from, from + len) as a datagram of s, built into a
 * buffer of f's port. IPv4 identification as the kernel gives it, DF or
 * not (6.18, tcpdump): a connected socket's own counter, from a random
 * start at connect, one up before each datagram; otherwise a counter per
 * destination (the kernel's are hashed ones, ours is the interface's),
 * one up after each.
 */
static struct sl_pkt *send_build_at(struct ps_sock *s, struct ps_iface *f,
				    const struct msghdr *m,
				    const struct sl_udp_params *hp, size_t from,
				    size_t len)
{
	struct sl_pkt *p;
	size_t off, i, skip = from, left = len;
	uint32_t hl;
	int b;

	p = f->port ? sl_pkt_alloc(sl_port_pool(f->port)) : NULL;
	if (!p)
		return NULL;
	hl = (uint32_t)sl_udp_hdr_len(hp);
	/* too big for a buffer, or for the link (its IP packet over the
	 * MTU: the peer drops the frame): the kernel fragments */
	if (hl + len > sl_pkt_tailroom(p) ||
	    (f->mtu &&
	     hl - SL_ETH_HLEN - (hp->vlan_tci ? 4u : 0u) + len > f->mtu)) {
		sl_pkt_free(p);
		return NULL;
	}
	for (i = iov_find(m, &skip), off = hl; i < m->msg_iovlen && left;
	     i++, skip = 0) {
		size_t k = m->msg_iov[i].iov_len - skip;

		if (k > left)
			k = left;
		memcpy(p->data + off,
		       (const uint8_t *)m->msg_iov[i].iov_base + skip, k);
		off += k;
		left -= k;
	}
	if (hp->src.family == AF_INET) {
		struct sl_udp_params h = *hp;

		h.ip_id = s->connected ? ++s->ip_id : f->ip_id++;
		b = sl_udp_build(p->data, sl_pkt_tailroom(p), &h, NULL, len);
	} else {
		b = sl_udp_build(p->data, sl_pkt_tailroom(p), hp, NULL, len);
	}
	if (b < 0) {
		sl_pkt_free(p);
		return NULL;
	}
	if (hp->src.family == AF_INET6) {
		/* hp is a route's (send_params never builds route_miss) */
		const struct ps_route *r =
			(const void *)((const uint8_t *)hp -
				       offsetof(struct ps_route, hp));
		uint8_t *w = p->data + hl - sizeof(struct sl_udp_hdr) -
			     sizeof(struct sl_ipv6_hdr);
		uint32_t v;

		/* outside every checksum */
		memcpy(&v, w, sizeof(v));
		v |= r->label;
		memcpy(w, &v, sizeof(v));
	}
	p->len = (uint32_t)b;
	return p;
}

/* m whole (as send_build_at). */
static struct sl_pkt *send_build(struct ps_sock *s, struct ps_iface *f,
				 const struct msghdr *m,
				 const struct sl_udp_params *hp, size_t len)
{
	return send_build_at(s, f, m, hp, 0, len);
}

/* Up to n of pk onto f's port; how many went. f's lock held. */
static uint16_t send_burst(struct ps_iface *f, struct sl_pkt **pk, uint16_t n)
{
	uint16_t sent = 0;
	int tries;

	/* queue 0, whatever the queues received on: every send of the
	 * interface holds its lock (the port's pool, a reopen), so other
	 * queues would buy no parallelism, and one ring keeps a socket's
	 * datagrams in the order it sent them */
	ps_inside++;
	for (tries = 0; tries < 4 && sent < n; tries++)
		sent += sl_tx_burst(f->port, 0, pk + sent,
				    (uint16_t)(n - sent));
	ps_inside--;
	return sent;
}

/*
 * UDP_SEGMENT: len bytes of m cut into datagrams of gso bytes (the last
 * shorter), one burst on the port, as the kernel's GSO puts them on the
 * wire. A piece the port cannot build (no buffer, over the MTU: the
 * kernel's EINVAL) sends all of m through the kernel socket instead;
 * what a full ring does not take follows through it, in one send cut
 * the same way.
 */
static ssize_t send_segments(struct ps_sock *s, int fd, const struct msghdr *m,
			     int flags, const struct sl_udp_params *hp,
			     size_t len, unsigned gso)
{
	struct sl_pkt *pk[PS_GSO_SEGS];
	struct ps_iface *f = s->ifc;
	uint16_t n = 0, sent, i;
	size_t off;

	pthread_mutex_lock(&f->lock);
	for (off = 0; off < len; off += gso) {
		size_t k = len - off < gso ? len - off : gso;

		pk[n] = send_build_at(s, f, m, hp, off, k);
		if (!pk[n])
			break;
		n++;
	}
	sent = off >= len ? send_burst(f, pk, n) : 0;
	pthread_mutex_unlock(&f->lock);
	if (sent < n)
		sl_pkt_free_bulk(pk + sent, n - sent);
	if (!sent) { /* nothing went: all of it, GSO and errors, the kernel's */
		if (ps_real.sendmsg(fd, m, flags) < 0)
			return -errno;
		s->tx_kernel++;
		return (ssize_t)len;
	}
	for (i = 0; i < sent; i++) {
		s->tx++;
		s->tx_bytes += i + 1 < n || len % gso == 0 ? gso : len % gso;
	}
	if (sent < n) {
		/* the ring stayed full: the rest through the kernel socket,
		 * cut the same way (UDP_SEGMENT), after what went */
		union {
			char buf[CMSG_SPACE(sizeof(uint16_t))];
			struct cmsghdr align;
		} cm;
		size_t skip = (size_t)sent * gso, j = iov_find(m, &skip);
		size_t k = m->msg_iovlen - j;
		struct iovec *iov = calloc(k, sizeof(*iov));
		struct msghdr rest = *m;
		uint16_t g = (uint16_t)gso;
		struct cmsghdr *c;
		ssize_t r;

		if (!iov)
			return -ENOBUFS;
		/* sent < n: byte sent * gso is in m, so k >= 1 */
		memcpy(iov, m->msg_iov + j, k * sizeof(*iov));
		iov[0].iov_base = (uint8_t *)iov[0].iov_base + skip;
		iov[0].iov_len -= skip;
		rest.msg_iov = iov;
		rest.msg_iovlen = k;
		rest.msg_control = cm.buf;
		rest.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&rest);
		c->cmsg_level = IPPROTO_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(g));
		memcpy(CMSG_DATA(c), &g, sizeof(g));
		r = ps_real.sendmsg(fd, &rest, flags);
		free(iov);
		if (r < 0)
			return -errno;
		s->tx_kernel++;
	}
	return (ssize_t)len;
}

ssize_t ps_sendmsg(struct ps_sock *s, int fd, const struct msghdr *m, int flags)
{
	const struct sl_udp_params *hp;
	struct ps_iface *f;
	struct sl_pkt *p;
	unsigned gso;
	size_t len;
	ssize_t r;

	hp = send_params(s, m, flags, true, &len, &gso);
	if (!hp)
		goto kernel;
	if (gso)
		return send_segments(s, fd, m, flags, hp, len, gso);
	f = s->ifc;
	/* the interface's lock from the buffer to the ring: a reopen
	 * destroys the pool with the port */
	pthread_mutex_lock(&f->lock);
	p = send_build(s, f, m, hp, len);
	if (!p || send_burst(f, &p, 1) != 1) {
		if (p)
			sl_pkt_free(p); /* the ring stays full */
		pthread_mutex_unlock(&f->lock);
		goto kernel;
	}
	pthread_mutex_unlock(&f->lock);
	s->tx++;
	s->tx_bytes += len;
	return (ssize_t)len;
kernel:
	r = ps_real.sendmsg(fd, m, flags);
	if (r < 0)
		return -errno;
	s->tx_kernel++;
	return r;
}

/*
 * sendmmsg: the messages the port sends go in bursts, one ring kick per
 * burst where sendmsg makes one each; a message the port does not send
 * goes through the kernel in its turn. A burst stops at a destination
 * whose headers are not cached (its query waits outside the interface's
 * lock). How many went, or -errno if the first failed.
 */
int ps_sendmmsg(struct ps_sock *s, int fd, struct mmsghdr *v, unsigned n,
		int flags)
{
	unsigned done = 0;

	while (done < n) {
		struct sl_pkt *pk[32];
		size_t lens[32];
		const struct sl_udp_params *hp;
		struct ps_iface *f;
		uint16_t k = 0, sent, i;
		ssize_t r;

		unsigned gso;

		hp = send_params(s, &v[done].msg_hdr, flags, true, &lens[0],
				 &gso);
		f = s->ifc;
		if (hp && !gso) {
			pthread_mutex_lock(&f->lock);
			while ((pk[k] = send_build(s, f, &v[done + k].msg_hdr,
						   hp, lens[k])) &&
			       ++k < 32 && done + k < n) {
				hp = send_params(s, &v[done + k].msg_hdr, flags,
						 false, &lens[k], &gso);
				if (!hp || hp == &route_miss || gso)
					break;
			}
			sent = k ? send_burst(f, pk, k) : 0;
			pthread_mutex_unlock(&f->lock);
			if (sent < k)
				sl_pkt_free_bulk(pk + sent, k - sent);
			for (i = 0; i < sent; i++) {
				v[done + i].msg_len = (unsigned)lens[i];
				s->tx++;
				s->tx_bytes += lens[i];
			}
			done += sent;
			if (sent)
				continue;
		}
		/* the next one alone: cut (UDP_SEGMENT), or through the
		 * kernel (ps_sendmsg says why) */
		r = ps_sendmsg(s, fd, &v[done].msg_hdr, flags);
		if (r < 0)
			return done ? (int)done : (int)r;
		v[done++].msg_len = (unsigned)r;
	}
	return (int)done;
}
