// SPDX-License-Identifier: MIT
/*
 * Next hops from the kernel's tables, over rtnetlink with libmnl:
 * sl_route_nexthop (RTM_GETROUTE: interface, gateway, source address) and
 * sl_neigh_resolve (RTM_GETNEIGH: the MAC address of an on-link address).
 *
 * When the neighbour table has no usable entry, the kernel is asked to
 * resolve the address rather than sluice doing ARP/ND itself over a packet
 * socket: an empty UDP datagram to the discard port (9) from a socket
 * bound to the interface (SO_BINDTODEVICE, MSG_DONTROUTE: on-link, no
 * gateway) makes the kernel send the ARP request or the neighbour
 * solicitation, with its own retries, and put the answer in the table,
 * where the kernel's stack and `ip neigh` see it too. This needs no
 * privilege (SO_BINDTODEVICE is unprivileged since Linux 5.7; CAP_NET_RAW
 * before), works the same for IPv4 and IPv6 (solicited-node multicast,
 * link-local scopes, NOARP devices), and cannot get ARP wrong. The cost is
 * one datagram the target discards (it may answer ICMP port unreachable).
 *
 * Everything here is control path: it opens a netlink socket per call and
 * may sleep up to the timeout. Thread-safe; works in the calling thread's
 * network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "net/ifdev.h"
#include "net/neigh.h"

#define NL_BUF_SIZE 32768 /* a dump message batch */
#define NEIGH_POLL_MS 5 /* table polling period while resolving */
#define NEIGH_RETRIGGER_MS 1000 /* send again if the entry vanished */

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static const void *addr_bytes(const struct sl_addr *a)
{
	return a->family == AF_INET6 ? (const void *)&a->v6 :
				       (const void *)&a->v4;
}

/* ---- message readers -------------------------------------------------- */

struct attrs {
	const struct nlattr *tb[NDA_MAX > RTA_MAX ? NDA_MAX + 1 : RTA_MAX + 1];
	unsigned max;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	unsigned type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

int sl_neigh_msg(const struct nlmsghdr *nlh, int ifindex,
		 const struct sl_addr *ip, uint8_t mac[SL_ETH_ALEN],
		 uint16_t *state)
{
	const struct ndmsg *nd;
	struct attrs t = { .max = NDA_MAX };
	const struct nlattr *dst, *ll;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nd)))
		return -EBADMSG;
	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	nd = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*nd), attr_cb, &t) < 0)
		return -EBADMSG;
	if (nd->ndm_family != ip->family || nd->ndm_ifindex != ifindex ||
	    (nd->ndm_flags & NTF_PROXY))
		return 0;
	dst = t.tb[NDA_DST];
	if (!dst)
		return 0;
	if (mnl_attr_get_payload_len(dst) != addr_len(ip->family))
		return -EBADMSG;
	if (memcmp(mnl_attr_get_payload(dst), addr_bytes(ip),
		   addr_len(ip->family)) != 0)
		return 0;
	if (state)
		*state = nd->ndm_state;
	if (!(nd->ndm_state & SL_NUD_USABLE))
		return 0;
	ll = t.tb[NDA_LLADDR];
	if (!ll)
		return 0; /* e.g. NOARP on a device without addresses */
	if (mnl_attr_get_payload_len(ll) != SL_ETH_ALEN)
		return -EBADMSG;
	memcpy(mac, mnl_attr_get_payload(ll), SL_ETH_ALEN);
	return 1;
}

int sl_route_msg(const struct nlmsghdr *nlh, const struct sl_addr *dst,
		 struct sl_nexthop *out)
{
	const struct rtmsg *rt;
	struct attrs t = { .max = RTA_MAX };
	size_t alen = addr_len(dst->family);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rt)) ||
	    nlh->nlmsg_type != RTM_NEWROUTE)
		return -EBADMSG;
	rt = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*rt), attr_cb, &t) < 0)
		return -EBADMSG;
	if (rt->rtm_family != dst->family)
		return -EBADMSG;
	switch (rt->rtm_type) {
	case RTN_UNICAST:
	case RTN_LOCAL:
	case RTN_BROADCAST:
	case RTN_MULTICAST:
		break;
	default:
		return -ENETUNREACH;
	}
	memset(out, 0, sizeof(*out));
	if (!t.tb[RTA_OIF] || mnl_attr_validate(t.tb[RTA_OIF], MNL_TYPE_U32))
		return -EBADMSG;
	out->ifindex = (int)mnl_attr_get_u32(t.tb[RTA_OIF]);
	out->via = *dst;
	out->via.port = 0;
	if (t.tb[RTA_GATEWAY]) {
		if (mnl_attr_get_payload_len(t.tb[RTA_GATEWAY]) != alen)
			return -EBADMSG;
		memcpy(dst->family == AF_INET6 ? (void *)&out->via.v6 :
						 (void *)&out->via.v4,
		       mnl_attr_get_payload(t.tb[RTA_GATEWAY]), alen);
		out->gateway = true;
	} else if (t.tb[RTA_VIA]) {
		/* a gateway of the other family (RFC 5549): not handled */
		return -EAFNOSUPPORT;
	}
	out->src.family = dst->family;
	if (t.tb[RTA_PREFSRC]) {
		if (mnl_attr_get_payload_len(t.tb[RTA_PREFSRC]) != alen)
			return -EBADMSG;
		memcpy(dst->family == AF_INET6 ? (void *)&out->src.v6 :
						 (void *)&out->src.v4,
		       mnl_attr_get_payload(t.tb[RTA_PREFSRC]), alen);
	}
	return 0;
}

/* ---- netlink plumbing ------------------------------------------------- */

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (!nl) {
		sl_fail(errno, "cannot open a netlink socket: %s",
			strerror(errno));
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		sl_fail(err, "cannot bind a netlink socket: %s", strerror(err));
		return NULL;
	}
	return nl;
}

/* Send the request in buf and run cb on every answer until the end: 0 or
 * -errno (the kernel's, from an NLMSG_ERROR). The answer buffer is the
 * heap's: as static TLS (a __thread array) its 32 KiB would be reserved
 * in every thread's stack of a program that loads libsluice (the
 * preload), and glibc refuses a thread whose stack is smaller than that
 * (Node.js starts one of 32 KiB: "pthread_create: Invalid argument"). */
static int nl_talk(struct mnl_socket *nl, struct nlmsghdr *req, mnl_cb_t cb,
		   void *data)
{
	char *buf = malloc(NL_BUF_SIZE);
	unsigned portid = mnl_socket_get_portid(nl);
	unsigned seq = req->nlmsg_seq;
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, NL_BUF_SIZE);
		if (n < 0) {
			r = -errno;
			goto out;
		}
		r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		/* a plain request has one answer; a dump ends with DONE */
	} while (r > MNL_CB_STOP && (req->nlmsg_flags & NLM_F_DUMP));
	r = r < 0 ? -errno : 0;
out:
	free(buf);
	return r;
}

struct neigh_lookup {
	int ifindex;
	const struct sl_addr *ip;
	uint8_t mac[SL_ETH_ALEN];
	int found; /* 1: usable entry, -EBADMSG: bad message */
	uint16_t state; /* of the entry for ip, 0 when none */
};

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	struct neigh_lookup *l = data;
	int r;

	if (l->found)
		return MNL_CB_OK; /* keep reading to the end of the dump */
	r = sl_neigh_msg(nlh, l->ifindex, l->ip, l->mac, &l->state);
	if (r)
		l->found = r;
	return MNL_CB_OK;
}

/* 1 with mac set, 0 when there is no usable entry (*state: the entry's
 * state, 0 when none), or -errno. */
static int neigh_lookup(struct mnl_socket *nl, int ifindex,
			const struct sl_addr *ip, uint8_t mac[SL_ETH_ALEN],
			uint16_t *state)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct ndmsg *nd;
	struct neigh_lookup l = { .ifindex = ifindex, .ip = ip };
	int err;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (unsigned)time(NULL);
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)ip->family;
	nd->ndm_ifindex = ifindex;
	/* lets the kernel filter the dump by device */
	mnl_attr_put_u32(nlh, NDA_IFINDEX, (uint32_t)ifindex);
	err = nl_talk(nl, nlh, neigh_cb, &l);
	if (err)
		return sl_fail(-err, "neighbour table dump failed: %s",
			       strerror(-err));
	if (l.found < 0)
		return sl_fail(EBADMSG,
			       "bad neighbour message from the kernel");
	*state = l.state;
	if (l.found == 1)
		memcpy(mac, l.mac, SL_ETH_ALEN);
	return l.found;
}

struct route_lookup {
	const struct sl_addr *dst;
	struct sl_nexthop *out;
	int err;
	bool got;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_lookup *l = data;

	if (!l->got) {
		l->err = sl_route_msg(nlh, l->dst, l->out);
		l->got = true;
	}
	return MNL_CB_OK;
}

int sl_route_nexthop(const struct sl_addr *dst, struct sl_nexthop *out)
{
	char req[MNL_SOCKET_BUFFER_SIZE], a[64];
	struct nlmsghdr *nlh;
	struct rtmsg *rt;
	struct mnl_socket *nl;
	struct route_lookup l = { .dst = dst, .out = out };
	int err;

	if (!dst || !out || (dst->family != AF_INET && dst->family != AF_INET6))
		return sl_fail(EINVAL, "sl_route_nexthop: no IPv4 or IPv6 "
				       "destination");
	sl_addr_format(dst, a, sizeof(a));
	nl = nl_open();
	if (!nl)
		return -errno;
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = (unsigned)time(NULL);
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)dst->family;
	rt->rtm_dst_len = (uint8_t)(addr_len(dst->family) * 8);
	mnl_attr_put(nlh, RTA_DST, addr_len(dst->family), addr_bytes(dst));
	err = nl_talk(nl, nlh, route_cb, &l);
	mnl_socket_close(nl);
	if (!err && !l.got)
		err = -EBADMSG;
	if (!err)
		err = l.err;
	if (err == -ENETUNREACH || err == -EHOSTUNREACH)
		return sl_fail(ENETUNREACH, "no route to %s", a);
	if (err)
		return sl_fail(-err, "route lookup for %s failed: %s", a,
			       strerror(-err));
	if (!if_indextoname((unsigned)out->ifindex, out->ifname))
		snprintf(out->ifname, sizeof(out->ifname), "if%d",
			 out->ifindex);
	return 0;
}

/* ---- resolution ------------------------------------------------------- */

/* Make the kernel resolve ip on ifname (see the top of the file). */
static int trigger(const char *ifname, int ifindex, const struct sl_addr *ip)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, err = 0;

	memset(&ss, 0, sizeof(ss));
	if (ip->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(9);
		s6->sin6_addr = ip->v6;
		s6->sin6_scope_id = (uint32_t)ifindex;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(9);
		s4->sin_addr = ip->v4;
		sl = sizeof(*s4);
	}
	fd = socket(ip->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sl_fail(errno, "cannot make a UDP socket: %s",
			       strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
		       (socklen_t)strlen(ifname) + 1)) {
		err = errno;
		sl_fail(err, "cannot bind a socket to %s: %s%s", ifname,
			strerror(err),
			err == EPERM ?
				" (kernels before 5.7 need CAP_NET_RAW)" :
				"");
	} else if (sendto(fd, "", 0, MSG_DONTROUTE, (struct sockaddr *)&ss,
			  sl) < 0 &&
		   errno != EAGAIN) {
		err = errno;
		sl_fail(err, "cannot send to %s on %s: %s",
			inet_ntop(ip->family, addr_bytes(ip),
				  (char[INET6_ADDRSTRLEN]){ 0 },
				  INET6_ADDRSTRLEN),
			ifname, strerror(err));
	}
	close(fd);
	return -err;
}

/* Whether the interface has link-layer addresses: 0, -ENXIO or -ENODEV. */
static int if_check(int ifindex, char ifname[IF_NAMESIZE])
{
	unsigned short type;
	int r;

	if (!if_indextoname((unsigned)ifindex, ifname))
		return sl_fail(ENODEV, "no interface with index %d", ifindex);
	r = sl_if_hwaddr(ifname, NULL, &type);
	if (r)
		return sl_fail(-r, "%s: cannot read its hardware address: %s",
			       ifname, strerror(-r));
	if (type != ARPHRD_ETHER)
		return sl_fail(ENXIO,
			       "%s has no link-layer addresses (%s): no MAC "
			       "address to resolve",
			       ifname,
			       type == ARPHRD_LOOPBACK ? "loopback" :
							 "not Ethernet");
	return 0;
}

int sl_neigh_resolve(int ifindex, const struct sl_addr *ip,
		     uint8_t mac[SL_ETH_ALEN], unsigned timeout_ms)
{
	char ifname[IF_NAMESIZE], a[INET6_ADDRSTRLEN];
	struct mnl_socket *nl;
	uint64_t start = sl_time_ns(), deadline, last_trigger;
	uint16_t state = 0;
	int r;

	if (!ip || !mac || (ip->family != AF_INET && ip->family != AF_INET6))
		return sl_fail(EINVAL,
			       "sl_neigh_resolve: no IPv4 or IPv6 address");
	memset(mac, 0, SL_ETH_ALEN);
	inet_ntop(ip->family, addr_bytes(ip), a, sizeof(a));
	r = if_check(ifindex, ifname);
	if (r)
		return r;
	nl = nl_open();
	if (!nl)
		return -errno;
	r = neigh_lookup(nl, ifindex, ip, mac, &state);
	if (r != 0)
		goto out;
	/* the table only: a caller that sends through the kernel meanwhile
	 * (the kernel resolves it then) wants neither a wait nor our
	 * datagram on the wire */
	if (!timeout_ms) {
		r = sl_fail(EAGAIN, "%s on %s is not resolved yet", a, ifname);
		goto out;
	}
	deadline = start + (uint64_t)timeout_ms * 1000000u;
	last_trigger = sl_time_ns();
	r = trigger(ifname, ifindex, ip);
	if (r)
		goto out;
	for (;;) {
		uint64_t t;

		r = neigh_lookup(nl, ifindex, ip, mac, &state);
		if (r != 0)
			break;
		t = sl_time_ns();
		/* FAILED after our datagram: the kernel has given up */
		if (t >= deadline || (state & NUD_FAILED)) {
			r = sl_fail(EHOSTUNREACH,
				    "no %s from %s on %s within %u ms",
				    ip->family == AF_INET6 ?
					    "neighbour advertisement" :
					    "ARP reply",
				    a, ifname, timeout_ms);
			break;
		}
		if (state == 0 &&
		    t - last_trigger >= NEIGH_RETRIGGER_MS * 1000000ull) {
			last_trigger = t;
			r = trigger(ifname, ifindex, ip);
			if (r)
				break;
		}
		/* round up: never wake just before the deadline */
		poll(NULL, 0,
		     (int)SL_MIN((uint64_t)NEIGH_POLL_MS,
				 (deadline - t + 999999) / 1000000u));
	}
out:
	mnl_socket_close(nl);
	return r > 0 ? 0 : r;
}

int sl_udp_params_route(struct sl_udp_params *hp, const struct sl_addr *dst,
			uint16_t sport, unsigned timeout_ms, int *ifindex)
{
	struct sl_nexthop nh;
	int r;

	if (!hp || !dst)
		return sl_fail(EINVAL, "sl_udp_params_route: NULL argument");
	r = sl_route_nexthop(dst, &nh);
	if (r)
		return r;
	memset(hp, 0, sizeof(*hp));
	r = sl_neigh_resolve(nh.ifindex, &nh.via, hp->dst_mac, timeout_ms);
	if (r && r != -ENXIO)
		return r;
	if (r == 0) {
		r = sl_if_hwaddr(nh.ifname, hp->src_mac, NULL);
		if (r)
			return sl_fail(-r, "%s: cannot read its MAC: %s",
				       nh.ifname, strerror(-r));
	}
	hp->src = nh.src;
	hp->src.port = sport;
	hp->dst = *dst;
	if (ifindex)
		*ifindex = nh.ifindex;
	return 0;
}
