// SPDX-License-Identifier: MIT
/*
 * setsockopt on a socket sluice serves: the kernel socket takes every
 * option first (so a value is one the kernel accepts, and getsockopt
 * answers as the kernel's), then the options a port honours are kept for
 * the socket's receives and sends (timestamps, TOS, TTL, DF, ...); any
 * other sends the socket to the kernel for good, named in the report.
 */
#include <errno.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>

#include "ps.h"

/*
 * SO_TIMESTAMP, SO_TIMESTAMPNS and their _NEW (64-bit layout) forms, as the
 * kernel sets them: each turns timestamps on or off for all four, and the
 * last one turned on decides which single control message a receive gets.
 * SO_TIMESTAMP_OLD and _NEW spelled out: SO_TIMESTAMP is one or the other,
 * depending on time_t.
 */
static void ts_set(struct ps_sock *s, int name, bool on)
{
	/* turned off, the layout stays (SO_TIMESTAMPING's uses it too) */
	if (on)
		s->ts_new = name == SO_TIMESTAMP_NEW ||
			    name == SO_TIMESTAMPNS_NEW;
	s->ts = on;
	s->ts_ns = on &&
		   (name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW);
}

#ifndef SOF_TIMESTAMPING_OPT_RX_FILTER
#define SOF_TIMESTAMPING_OPT_RX_FILTER (1 << 17)
#endif

/* SO_TIMESTAMPING: a served socket gives the software receive time (what
 * chronyd asks for), not a transmit or hardware one (false: the kernel's).
 * As in the kernel, the option's old or new layout is the switch the
 * SO_TIMESTAMP* options share. */
static bool tsing_set(struct ps_sock *s, int name, const void *v, socklen_t len)
{
	const uint32_t rx_only =
		SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
		SOF_TIMESTAMPING_OPT_CMSG | SOF_TIMESTAMPING_OPT_TSONLY |
		SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_RX_FILTER;
	int fl;

	if (!v || len < (socklen_t)sizeof(fl))
		return false;
	memcpy(&fl, v, sizeof(fl));
	if ((uint32_t)fl & ~rx_only)
		return false;
	s->tsing = (uint32_t)fl;
	s->ts_new = name == SO_TIMESTAMPING_NEW;
	return true;
}

/* The socket's cached headers are out of date: route() fills them again. */
static void routes_flush(struct ps_sock *s)
{
	unsigned i;

	for (i = 0; i < PS_ROUTES; i++)
		s->routes[i].until_ns = 0;
}

/* A header field of the socket's sends (TOS, TTL, ...) set to v, -1
 * meaning the default (0 here). */
static bool hdr_set(struct ps_sock *s, uint8_t *field, int v)
{
	*field = (uint8_t)(v < 0 ? 0 : v);
	routes_flush(s);
	return true;
}

/*
 * SO_BINDTODEVICE (a name, "" to unbind) and SO_BINDTOIFINDEX (0 to
 * unbind), which the kernel took: before the socket is served, the device
 * it will be served on (find_iface); once served, its own device (or
 * none) is honoured, and another sends it to the kernel, whose socket
 * now takes that device's datagrams.
 */
static bool bind_dev(struct ps_sock *s, int name, const void *v, socklen_t len)
{
	char dev[IF_NAMESIZE] = "";

	if (name == SO_BINDTOIFINDEX) {
		int idx = len >= (socklen_t)sizeof(int) ? *(const int *)v : 0;

		if (idx && !if_indextoname((unsigned)idx, dev))
			return false;
	} else {
		size_t n = len < (socklen_t)sizeof(dev) ? (size_t)len :
							  sizeof(dev) - 1;

		memcpy(dev, v, n);
		dev[n] = '\0';
	}
	if (s->served && dev[0] && strcmp(dev, s->ifname))
		return false;
	snprintf(s->bind_dev, sizeof(s->bind_dev), "%s", dev);
	return true;
}

/* Options a served socket honours (the kernel socket took them first, so
 * the value is one it accepts); any other sends it to the kernel. */
static bool opt_ok(struct ps_sock *s, int level, int name, const void *v,
		   socklen_t len)
{
	int on = v && len >= (socklen_t)sizeof(int) ? *(const int *)v : 1;

	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TIMESTAMP_OLD:
		case SO_TIMESTAMPNS_OLD:
		case SO_TIMESTAMP_NEW:
		case SO_TIMESTAMPNS_NEW:
			ts_set(s, name, on != 0);
			return true;
		case SO_TIMESTAMPING_OLD:
		case SO_TIMESTAMPING_NEW:
			return tsing_set(s, name, v, len);
		case SO_SELECT_ERR_QUEUE: /* nothing a port sends fails */
		case SO_REUSEADDR:
		case SO_REUSEPORT:
		case SO_RCVBUF:
		case SO_SNDBUF:
		case SO_RCVBUFFORCE:
		case SO_SNDBUFFORCE:
		case SO_RCVTIMEO:
		case SO_SNDTIMEO:
#ifdef SO_RCVTIMEO_NEW
		/* the same timeout in a 64-bit layout: the kernel keeps one
		 * value, and mode_read asks it back */
		case SO_RCVTIMEO_NEW:
		case SO_SNDTIMEO_NEW:
#endif
		case SO_BROADCAST:
		case SO_KEEPALIVE:
		case SO_LINGER:
		case SO_BUSY_POLL:
		case SO_RCVLOWAT:
			return true;
		case SO_BINDTODEVICE:
		case SO_BINDTOIFINDEX:
			return bind_dev(s, name, v, len);
		}
		return false;
	}
	if (level == IPPROTO_IP) {
		switch (name) {
		case IP_PKTINFO:
			s->pktinfo = on;
			return true;
		case IP_TOS:
			/* the kernel takes a byte too, and keeps the ECN
			 * bits of a datagram socket's value */
			return hdr_set(s, &s->tos,
				       len >= (socklen_t)sizeof(int) ?
					       (uint8_t)on :
					       *(const uint8_t *)v);
		case IP_TTL:
			return hdr_set(s, &s->ttl, on);
		case IP_RECVTOS:
			s->recvtos = on;
			return true;
		case IP_RECVTTL:
			s->recvttl = on;
			return true;
		case IP_RECVERR: /* nothing a port sends fails later */
			return true;
		case IP_MTU_DISCOVER:
			/* the kernel sets DF for WANT (the default), DO and
			 * PROBE (DNS servers pick OMIT); a datagram over the
			 * MTU is the kernel's (fragments, EMSGSIZE) whatever
			 * the mode */
			s->no_df = on == IP_PMTUDISC_DONT ||
				   on == IP_PMTUDISC_INTERFACE ||
				   on == IP_PMTUDISC_OMIT;
			routes_flush(s);
			return true;
		/* binding to an address no interface holds (chronyd sets
		 * it on its server sockets): such a socket is not served */
		case IP_FREEBIND:
			return true;
		}
	}
	if (level == IPPROTO_UDP) {
		switch (name) {
		case UDP_SEGMENT:
			s->gso = (uint16_t)on;
			return true;
		case UDP_GRO:
			/* the port's datagrams come one by one, as the
			 * kernel's do when it cannot coalesce */
			return true;
		}
		return false;
	}
	if (level == IPPROTO_IPV6) {
		switch (name) {
		case IPV6_V6ONLY:
			s->v6only = on;
			return true;
		case IPV6_RECVPKTINFO:
			s->pktinfo6 = on;
			return true;
		case IPV6_TCLASS:
			return hdr_set(s, &s->tclass, on);
		case IPV6_UNICAST_HOPS:
			return hdr_set(s, &s->hops, on);
		case IPV6_RECVTCLASS:
			s->recvtclass = on;
			return true;
		case IPV6_RECVHOPLIMIT:
			s->recvhops = on;
			return true;
		case IPV6_RECVERR:
		case IPV6_MTU_DISCOVER:
		case IPV6_FREEBIND:
		/* EMSGSIZE rather than fragments (named sets it): a
		 * datagram over the MTU is the kernel socket's to send,
		 * which has the option */
		case IPV6_DONTFRAG:
			return true;
		case IPV6_MTU:
			/* the size the kernel fragments at (unbound's 1280):
			 * a datagram whose packet is bigger is its to send */
			s->mtu6 = on > 0 ? (uint32_t)on : 0;
			return true;
		}
	}
	return false;
}

/* libc's entry point, which the preload stands in for: exported */
#pragma GCC visibility push(default)
int setsockopt(int fd, int level, int name, const void *v, socklen_t len)
{
	struct ps_sock *s;
	bool bpf, fell;
	int r;

	ps_init();
	r = ps_real.setsockopt(fd, level, name, v, len);
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO
#ifdef SO_RCVTIMEO_NEW
				    || name == SO_RCVTIMEO_NEW
#endif
				    ))
		ps_mode_changed(fd);
	s = ps_get(fd);
	if (r || !s)
		return r;
	bpf = level == SOL_SOCKET && (name == SO_ATTACH_REUSEPORT_CBPF ||
				      name == SO_ATTACH_REUSEPORT_EBPF);
	pthread_mutex_lock(&s->lock);
	fell = !s->gave_up;
	if (bpf)
		ps_fallback(s,
			    "SO_ATTACH_REUSEPORT_%cBPF: its SO_REUSEPORT "
			    "group steers by a BPF program",
			    name == SO_ATTACH_REUSEPORT_CBPF ? 'C' : 'E');
	else if (!opt_ok(s, level, name, v, len)) {
		if (level == SOL_SOCKET &&
		    (name == SO_BINDTODEVICE || name == SO_BINDTOIFINDEX))
			ps_fallback(s, "%s: a device other than %s",
				    name == SO_BINDTODEVICE ?
					    "SO_BINDTODEVICE" :
					    "SO_BINDTOIFINDEX",
				    s->ifname);
		else
			ps_fallback(s,
				    "setsockopt(level %d, option %d) is not "
				    "implemented",
				    level, name);
	}
	fell &= s->gave_up && s->local.port;
	/* timestamps on: the port stamps arrival times from now on */
	if (s->served && (s->ts || s->tsing))
		ps_iface_want_ts(s);
	pthread_mutex_unlock(&s->lock);
	if (bpf) /* the whole group goes to the kernel */
		ps_rp_bpf(s);
	if (fell) /* its port number is the kernel's now */
		ps_kernel_takes_port(s);
	return 0;
}
#pragma GCC visibility pop
