// SPDX-License-Identifier: MIT
/*
 * What an interface's port receives, handed to its sockets: each frame is
 * parsed and checked as the kernel would (addresses, checksums), given to
 * the socket the kernel would have chosen (a connected one whose peer
 * sent it, one bound to the destination address, one on the any address;
 * a SO_REUSEPORT group by flow hash), stamped with its arrival for
 * SO_TIMESTAMP*, and put in that socket's stash, waking it when it is not
 * the one reading. A port that fails in use sends the socket to the
 * kernel. The interface's lock is held throughout.
 */
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include <sluice/mem.h>

#include "ps.h"

/* A hash of the datagram's flow (addresses and ports, both ways), for
 * spreading over a SO_REUSEPORT group: the same flow, the same value. */
static uint32_t flow_hash(const struct sl_udp_view *v)
{
	uint32_t w[8];
	uint64_t h = (uint64_t)v->src.port << 16 | v->dst.port;
	unsigned i, n;

	if (v->src.family == AF_INET6) {
		memcpy(w, &v->src.v6, 16);
		memcpy(w + 4, &v->dst.v6, 16);
		n = 8;
	} else {
		w[0] = v->src.v4.s_addr;
		w[1] = v->dst.v4.s_addr;
		n = 2;
	}
	for (i = 0; i < n; i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* The socket the kernel would deliver this datagram to, or NULL. A
 * SO_REUSEPORT group shares its flows as the kernel's does: the hash of
 * the flow scaled to the group's size picks one, so a flow stays on one
 * socket while the group stays as it is (not the kernel's own choice:
 * its hash has a secret of its own). */
static struct ps_sock *lookup(struct ps_iface *f, const struct sl_udp_view *v)
{
	struct ps_sock *best = NULL, *group[PS_IF_SOCKS];
	int score = 0, scores[PS_IF_SOCKS];
	unsigned i, n = 0;

	for (i = 0; i < f->n_socks; i++) {
		struct ps_sock *s = f->socks[i];
		struct sl_addr local, peer;
		int sc = 1;

		scores[i] = 0;
		if (s->local.port != v->dst.port)
			continue;
		/*
		 * An IPv6 socket on :: takes IPv4 too unless IPV6_V6ONLY; one
		 * that was on :: and connected to an IPv4 peer since has
		 * IPv4-mapped addresses, and takes that peer's IPv4 frames
		 * (iperf3's UDP server does that).
		 */
		local = ps_unmapped(&s->local);
		if (local.family != v->dst.family &&
		    !(local.family == AF_INET6 && s->any && !s->v6only))
			continue;
		if (!s->any) {
			if (!ps_ip_eq(&local, &v->dst))
				continue;
			sc += 2;
		}
		if (s->connected) {
			peer = ps_unmapped(&s->peer);
			if (!ps_ip_eq(&peer, &v->src) ||
			    s->peer.port != v->src.port)
				continue;
			sc += 4;
		}
		scores[i] = sc;
		if (sc > score) {
			score = sc;
			best = s;
		}
	}
	if (!best || !best->reuseport || best->connected)
		return best;
	for (i = 0; i < f->n_socks; i++)
		if (scores[i] == score && ps_same_group(f->socks[i], best))
			group[n++] = f->socks[i];
	return group[((uint64_t)flow_hash(v) * n) >> 32];
}

/* Up to n frames from f's queues into pk: each call starts at the queue
 * after the one the last started at and reads on while the budget lasts,
 * so a busy queue cannot starve the others (over nq calls each queue
 * comes first once) and one call still sees every queue when they are
 * quiet. f's lock held. */
static uint16_t burst(struct ps_iface *f, struct sl_pkt **pk, uint16_t n)
{
	unsigned q, k;
	uint16_t got = 0;

	if (f->nq == 1)
		return sl_rx_burst(f->port, 0, pk, n);
	q = f->rr;
	f->rr = (q + 1) % f->nq;
	for (k = 0; k < f->nq && got < n; k++, q = (q + 1) % f->nq)
		got += sl_rx_burst(f->port, (uint16_t)q, pk + got,
				   (uint16_t)(n - got));
	return got;
}

/* Take what the port has into the stashes of the sockets it is for;
 * f's lock held. How many frames the port gave. */
uint16_t ps_fill(struct ps_iface *f, struct ps_sock *self)
{
	struct sl_pkt *pk[32];
	uint16_t got, i;
	uint64_t now = 0, mono = 0;
	bool ts = false;

	got = burst(f, pk, 32);
	if (!got)
		return 0;
	if (sl_port_path(f->port) != f->path_ptr) {
		/* an auto: port moved to another path (packet: the kernel
		 * socket gets these too): not ours to deliver; check_port
		 * sends the sockets to the kernel */
		sl_pkt_free_bulk(pk, got);
		f->next_check = 0;
		return got;
	}
	/* SO_TIMESTAMP* or SO_TIMESTAMPING (chronyd sets only that) */
	for (i = 0; i < f->n_socks; i++)
		ts |= f->socks[i]->ts || f->socks[i]->tsing;
	if (ts) {
		/* the port's receive times are sl_time_ns's (monotonic):
		 * SO_TIMESTAMP wants the wall clock's, now - (mono now -
		 * arrival) */
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
		mono = sl_time_ns();
	}
	for (i = 0; i < got; i++) {
		struct sl_udp_view v;
		struct ps_sock *s = NULL;
		struct ps_meta *m;

		if (!sl_udp_parse(pk[i], &v) &&
		    (size_t)(v.payload - pk[i]->data) + v.len <= pk[i]->len)
			s = lookup(f, &v);
		if (s) {
			sl_pkt_csum_check(pk[i]);
			if (sl_pkt_rx_l3_csum(pk[i]) == SL_CSUM_BAD ||
			    sl_pkt_rx_l4_csum(pk[i]) == SL_CSUM_BAD ||
			    s->n == PS_STASH) {
				s->rx_dropped++;
				s = NULL;
			}
		} else {
			f->rx_unmatched++;
		}
		if (!s) {
			sl_pkt_free(pk[i]);
			continue;
		}
		pk[i]->user = now;
		if (now && (pk[i]->flags & SL_PKT_F_RX_TS) &&
		    pk[i]->rx_ts <= mono)
			pk[i]->user = now - (mono - pk[i]->rx_ts);
		m = ps_meta(pk[i]);
		if (m) {
			ps_rxinfo_set(&m->ri, &v, pk[i]);
			m->off = (uint32_t)(v.payload - pk[i]->data);
			m->len = v.len;
		}
		if (s != self && !s->n && !s->kicked) {
			(void)eventfd_write(s->kfd, 1);
			s->kicked = true;
		}
		s->stash[(s->head + s->n++) % PS_STASH] = pk[i];
		s->stash_seq++;
	}
	return got;
}

/* Is the port still working? Asked when a burst finds nothing, at most
 * every 100 ms: a port in error (interface gone, program detached and no
 * path left) sends the socket to the kernel. f's lock held. */
static const char *check_port(struct ps_iface *f, char *why, size_t len)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	/* asked on every empty burst of a spinning receive: the coarse
	 * clock (a load, no counter read) is plenty for 100 ms */
	uint64_t now = ps_coarse_ns();

	if (now < f->next_check)
		return NULL;
	f->next_check = now + 100000000ull;
	f->mtu = ps_dev_mtu(f->ifname); /* it may have changed */
	if (sl_port_info(f->port, &info) == 0 && info.state == SL_PORT_ERROR) {
		snprintf(why, len, "the %s port failed: %s", f->path,
			 info.error);
		return why;
	}
	if (strcmp(sl_port_path(f->port), f->path)) {
		snprintf(why, len, "the port moved to the %s path",
			 sl_port_path(f->port));
		return why;
	}
	return NULL;
}

bool ps_iface_fill(struct ps_sock *s, bool more)
{
	struct ps_iface *f = s->ifc;
	char why[320];
	const char *bad = NULL, *fw;
	bool r;

	if (!f)
		return false;
	pthread_mutex_lock(&f->lock);
	ps_inside++; /* an auto: port may reopen a path in this burst */
	if ((!s->n || (more && s->n < PS_STASH)) && f->port) {
		ps_fill(f, s);
		if (!s->n)
			bad = check_port(f, why, sizeof(why));
	} else if (!f->port) {
		snprintf(why, sizeof(why),
			 "the port of %s could not be "
			 "reopened",
			 f->ifname);
		bad = why;
	}
	/* before anything is handed out (not on an empty spin): netfilter
	 * rules that appeared may have been added to stop it (fw.c) */
	if (!bad && s->n && (fw = ps_fw_late(ps_coarse_ns()))) {
		ps_stash_drop(s);
		bad = fw;
	}
	r = s->n > 0;
	ps_inside--;
	pthread_mutex_unlock(&f->lock);
	if (bad)
		ps_fallback(s, "%s", bad);
	return r;
}
