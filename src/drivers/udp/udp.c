// SPDX-License-Identifier: MIT
/*
 * The udp driver:
 * "udp:ADDR:PORT[,peer=ADDR:PORT][,busy_poll][,gso=off][,gro=off]", the
 * kernel-guarded path.
 * One kernel UDP socket moves datagrams; the driver presents them as
 * Ethernet frames so an application runs unchanged on every driver.
 *
 * Receive (rx.c): recvmmsg() takes a batch of datagrams straight into pool
 * buffers, each placed so that its headers fit in front of it (in the
 * headroom when there is room, else inside the buffer), then Ethernet, IPv4
 * or IPv6, and UDP headers are written there: source = the sender, dest =
 * the address the datagram was sent to (IP_PKTINFO / IPV6_PKTINFO, so it is
 * right even when bound to a wildcard address), TTL 64, DF. The UDP
 * checksum is left 0 over IPv4 (SL_CSUM_NONE: the kernel already checked
 * it) and computed over IPv6, where it is mandatory (SL_CSUM_GOOD): every
 * frame is valid either way. On send the kernel computes every checksum,
 * so SL_PKT_F_TX_* cost nothing here (SL_DRV_CAP_TX_CSUM). The MACs are made up, locally administered: dst
 * 02:00:00:00:00:00 (this port, also info.mac), src 02:00:00:00:00:01 (the
 * kernel "next hop"). With GRO (UDP_GRO, Linux 5.0; gro=off turns it off)
 * the kernel may hand over a run of datagrams of one flow in one message:
 * rx.c cuts it into the same frames, one per datagram (xstats udp_gro_*).
 *
 * Send: each frame is parsed back with sl_frame_parse; a UDP frame of the
 * socket's family is sent to its IP destination and UDP destination port,
 * with the payload taken from the buffer through an iovec (no copy). The
 * kernel chooses the source address and the source port is the socket's:
 * the frame's source fields are not used; the kernel never fragments it
 * (IP_PMTUDISC_DO: DF set, and IPv4 ID 0 while the socket is not
 * connected). Anything else is taken, counted in tx_dropped and freed. A
 * full socket buffer (EAGAIN, ENOBUFS) is back-pressure: the burst returns
 * how many it took and the caller keeps the rest. A send that fails for good (ECONNREFUSED from a vanished peer,
 * EHOSTUNREACH, EMSGSIZE...) takes the packet, counts it in tx_errors and
 * goes on with the rest of the burst.
 *
 * Runs of frames to one destination go out as one UDP GSO message
 * (UDP_SEGMENT, Linux 4.18): the payloads as one iovec list, cut by the
 * kernel into datagrams of the run's first size, all of that size but the
 * last, which may be shorter; at most UDP_GSO_SEGS datagrams and
 * UDP_GSO_BYTES bytes a run. One trip through the stack for the run
 * instead of one per datagram, which is what the RDMA transport's
 * messages are: runs of full MTU packets to one peer. The receiver sees
 * the same datagrams (the kernel cuts the run up, on the way or at the
 * receiving socket). Segmentation numbers the IPv4 Identification of the
 * datagrams it cuts (0, 1, 2, ...), so a frame whose ID an end-to-end
 * check covers (SL_PKT_F_TX_NO_GSO: RoCEv2 over IPv4, whose ICRC does)
 * never joins a run. gso=off sends datagram by datagram. A run the kernel
 * refuses as a run (EINVAL: longer than
 * the path takes; EIO: a device that cannot finish the checksums) is sent
 * datagram by datagram; after EIO the socket stops trying (xstats
 * udp_gso_*).
 *
 * busy_poll: SO_PREFER_BUSY_POLL, SO_BUSY_POLL and SO_BUSY_POLL_BUDGET on
 * the socket (port/busy_poll.h). The receive path needs nothing more: a
 * non-blocking recvmmsg() on an empty socket is where the kernel busy-polls
 * (net/ipv4/udp.c, __skb_recv_udp -> sk_busy_loop). Raising the options
 * needs CAP_NET_ADMIN; without it the refusal is listed in sl_port_info and
 * the port works as without the flag.
 *
 * One queue. The rx and tx scratch arrays are separate, so a queue's rx and
 * tx may run on two threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/udp/udp.h"
#include "drivers/udp/udp_int.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, 4.18 */
#endif
#define UDP_GSO_SEGS 64 /* datagrams per GSO run (the kernel takes 128) */
#define UDP_GSO_BYTES 65000 /* payload bytes per GSO run (one IP packet) */
#define UDP_BUF_MIN (256 * 1024) /* socket buffers asked for, at least */

const uint8_t udp_mac_port[SL_ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x00 };
const uint8_t udp_mac_kernel[SL_ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };

/* ---- open / close ----------------------------------------------------- */

static socklen_t to_sockaddr(const struct sl_addr *a,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		s6->sin6_addr = a->v6;
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		s4->sin_addr = a->v4;
		return sizeof(*s4);
	}
}

void udp_from_sockaddr(const struct sockaddr_storage *ss, struct sl_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = ss->ss_family;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		a->port = ntohs(s6->sin6_port);
		a->v6 = s6->sin6_addr;
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->port = ntohs(s4->sin_port);
		a->v4 = s4->sin_addr;
	}
}

/*
 * Raise a socket buffer to want bytes: SO_*BUFFORCE passes net.core.*mem_max
 * but needs CAP_NET_ADMIN; without it the plain option is capped at the
 * sysctl, which is still better than the default.
 */
static void raise_buf(int fd, int force_opt, int opt, int want)
{
	if (setsockopt(fd, SOL_SOCKET, force_opt, &want, sizeof(want)) == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, opt, &want, sizeof(want));
}

static int setopt_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static int udp_open(struct sl_port *port, const struct sl_spec *spec)
{
	struct udp_priv *u = port->priv;
	const char *peer = sl_spec_get(spec, "peer");
	const char *busy = sl_spec_get(spec, "busy_poll");
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[64], b[64];
	bool no_gro = false;
	int want, err;

	u->fd = -1;
	if (sl_addr_parse(spec->target, false, &u->local))
		return sl_spec_fail(spec, EINVAL, "%s", sl_last_error());
	u->family = u->local.family;
	/* the frames rx makes: IPv4 header computed, UDP checksum 0; over
	 * IPv6, no header checksum and the UDP one computed */
	u->rx_csum = u->family == AF_INET ?
			     SL_PKT_RX_CSUM(SL_CSUM_GOOD, SL_CSUM_NONE) :
			     SL_PKT_RX_CSUM(SL_CSUM_NONE, SL_CSUM_GOOD);
	if (busy && busy[0])
		return sl_spec_fail(spec, EINVAL,
				    "bad busy_poll '%s': it is a flag, "
				    "without a value",
				    busy);
	if (sl_spec_has(spec, "gso")) {
		const char *g = sl_spec_get(spec, "gso");

		if (!strcmp(g, "off"))
			u->no_gso = true;
		else if (strcmp(g, "on"))
			return sl_spec_fail(spec, EINVAL,
					    "bad gso '%s': on (the default) or "
					    "off",
					    g);
	}
	if (sl_spec_has(spec, "gro")) {
		const char *g = sl_spec_get(spec, "gro");

		if (!strcmp(g, "off"))
			no_gro = true;
		else if (strcmp(g, "on"))
			return sl_spec_fail(spec, EINVAL,
					    "bad gro '%s': on (the default) or "
					    "off",
					    g);
	}
	if (peer) {
		if (sl_addr_parse(peer, false, &u->peer))
			return sl_spec_fail(spec, EINVAL, "bad peer: %s",
					    sl_last_error());
		if (u->peer.family != u->family)
			return sl_spec_fail(
				spec, EINVAL,
				"bad peer '%s': an IPv%c peer for an IPv%c "
				"address",
				peer, u->peer.family == AF_INET6 ? '6' : '4',
				u->family == AF_INET6 ? '6' : '4');
		if (u->peer.port == 0)
			return sl_spec_fail(spec, EINVAL,
					    "bad peer '%s': port 0", peer);
	}

	u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		return sl_spec_fail(spec, errno, "cannot make a UDP socket: %s",
				    strerror(errno));
	/*
	 * Never fragment (IP_PMTUDISC_DO): a frame goes out as the one
	 * frame it is, as on every other path, or fails with EMSGSIZE
	 * (tx_errors). It also fixes the IPv4 header the kernel writes: on
	 * an unconnected socket DF is set and the ID is 0 (a connected one
	 * counts IDs per socket; without DF they are hashed), which is what
	 * lets RoCEv2's ICRC, which covers both, be computed before sending.
	 */
	if (u->family == AF_INET6) {
		/* an IPv6 port is IPv6 only: IPv4-mapped senders would make
		 * frames of the other family appear */
		if (setopt_int(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) ||
		    setopt_int(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) ||
		    setopt_int(u->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER,
			       IPV6_PMTUDISC_DO))
			goto fail_opt;
	} else if (setopt_int(u->fd, IPPROTO_IP, IP_PKTINFO, 1) ||
		   setopt_int(u->fd, IPPROTO_IP, IP_MTU_DISCOVER,
			      IP_PMTUDISC_DO)) {
		goto fail_opt;
	}
	/* best effort: the count of datagrams the kernel dropped */
	(void)setopt_int(u->fd, SOL_SOCKET, SO_RXQ_OVFL, 1);
	want = (int)SL_MAX((size_t)UDP_BUF_MIN,
			   (size_t)port->opts->ring_size * SL_PKT_BUF_SIZE);
	raise_buf(u->fd, SO_RCVBUFFORCE, SO_RCVBUF, want);
	raise_buf(u->fd, SO_SNDBUFFORCE, SO_SNDBUF, want);
	if (busy)
		(void)sl_busy_poll_enable(port, u->fd, spec->target);
	/* best effort: without it, datagram by datagram */
	if (!no_gro)
		(void)udp_rx_gro_enable(u);

	sl = to_sockaddr(&u->local, &ss);
	if (bind(u->fd, (struct sockaddr *)&ss, sl)) {
		err = errno;
		sl_spec_fail(spec, err, "cannot bind %s: %s%s",
			     sl_addr_format(&u->local, a, sizeof(a)),
			     strerror(err),
			     err == EACCES ? " (ports below 1024 need "
					     "CAP_NET_BIND_SERVICE)" :
					     "");
		goto fail;
	}
	sl = sizeof(ss);
	if (getsockname(u->fd, (struct sockaddr *)&ss, &sl)) {
		err = errno;
		sl_spec_fail(spec, err, "getsockname: %s", strerror(err));
		goto fail;
	}
	udp_from_sockaddr(&ss, &u->local);
	if (peer) {
		sl = to_sockaddr(&u->peer, &ss);
		if (connect(u->fd, (struct sockaddr *)&ss, sl)) {
			err = errno;
			sl_spec_fail(spec, err, "cannot connect to peer %s: %s",
				     sl_addr_format(&u->peer, b, sizeof(b)),
				     strerror(err));
			goto fail;
		}
		u->connected = true;
	}
	{
		struct sl_udp_params hp = { .src = u->local };

		u->hdr_len = sl_udp_hdr_len(&hp);
	}
	port->n_queues = 1;
	sl_strlcpy(port->info.mode, "socket", sizeof(port->info.mode));
	sl_addr_format(&u->local, port->info.name, sizeof(port->info.name));
	port->info.addr = u->local;
	if (u->connected)
		port->info.peer = u->peer;
	memcpy(port->info.mac, udp_mac_port, SL_ETH_ALEN);
	return 0;

fail_opt:
	err = errno;
	sl_spec_fail(spec, err, "socket option: %s", strerror(err));
fail:
	close(u->fd);
	u->fd = -1;
	udp_rx_close(u);
	return -err;
}

static void udp_close(struct sl_port *port)
{
	struct udp_priv *u = port->priv;

	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	udp_rx_close(u);
}

/* ---- send ------------------------------------------------------------- */

/* Set up message m for frame p, or return false if it is not a UDP frame
 * of the socket's family. */
static bool tx_prepare(struct udp_priv *u, struct udp_tx *tx, unsigned m,
		       struct sl_pkt *p)
{
	struct sl_frame f;
	struct msghdr *mh = &tx->msgs[m].msg_hdr;
	const uint8_t *b = p->data;
	uint16_t dport;

	if (sl_frame_parse(b, p->len, &f) != 0 ||
	    f.l4_proto != SL_IPPROTO_UDP || (f.flags & SL_FRAME_IP_FRAG) ||
	    f.l3 != (u->family == AF_INET6 ? SL_L3_IPV6 : SL_L3_IPV4))
		return false;
	memcpy(&dport, b + f.l4_off + 2, 2);
	memset(&tx->names[m], 0, sizeof(tx->names[m]));
	if (u->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&tx->names[m];

		s6->sin6_family = AF_INET6;
		s6->sin6_port = dport;
		memcpy(&s6->sin6_addr, b + f.l3_off + 24, 16);
		mh->msg_namelen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&tx->names[m];

		s4->sin_family = AF_INET;
		s4->sin_port = dport;
		memcpy(&s4->sin_addr, b + f.l3_off + 16, 4);
		mh->msg_namelen = sizeof(*s4);
	}
	tx->iov[m].iov_base = (void *)(b + f.payload_off);
	tx->iov[m].iov_len = f.payload_len;
	mh->msg_name = &tx->names[m];
	mh->msg_iov = &tx->iov[m];
	mh->msg_iovlen = 1;
	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	mh->msg_flags = 0;
	return true;
}

/* Whether messages a and b go to the same address. */
static bool same_dest(const struct udp_tx *tx, unsigned a, unsigned b)
{
	return tx->msgs[a].msg_hdr.msg_namelen ==
		       tx->msgs[b].msg_hdr.msg_namelen &&
	       !memcmp(&tx->names[a], &tx->names[b],
		       tx->msgs[a].msg_hdr.msg_namelen);
}

/* Cut messages [0, cnt) into runs (above); one message is a run of one.
 * Returns how many runs. */
static unsigned tx_runs(const struct udp_priv *u, struct udp_tx *tx,
			struct sl_pkt **pkts, unsigned cnt)
{
	unsigned m = 0, r = 0, k;

	while (m < cnt) {
		size_t seg = tx->iov[m].iov_len, total = seg;
		struct msghdr *mh = &tx->runs[r].msg_hdr;

		k = m + 1;
		if (!u->no_gso && seg &&
		    !(pkts[tx->idx[m]]->flags & SL_PKT_F_TX_NO_GSO))
			while (k < cnt && k - m < UDP_GSO_SEGS &&
			       tx->iov[k - 1].iov_len == seg &&
			       tx->iov[k].iov_len &&
			       tx->iov[k].iov_len <= seg &&
			       total + tx->iov[k].iov_len <= UDP_GSO_BYTES &&
			       !(pkts[tx->idx[k]]->flags &
				 SL_PKT_F_TX_NO_GSO) &&
			       same_dest(tx, m, k))
				total += tx->iov[k++].iov_len;
		*mh = tx->msgs[m].msg_hdr;
		mh->msg_iov = &tx->iov[m];
		mh->msg_iovlen = k - m;
		if (k - m > 1) {
			struct cmsghdr *cm = &tx->seg[r].align;
			uint16_t s = (uint16_t)seg;

			mh->msg_control = tx->seg[r].b;
			mh->msg_controllen = sizeof(tx->seg[r].b);
			cm->cmsg_level = IPPROTO_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(s));
			memcpy(CMSG_DATA(cm), &s, sizeof(s));
		}
		tx->first[r] = (uint16_t)m;
		tx->count[r] = (uint16_t)(k - m);
		r++;
		m = k;
	}
	return r;
}

static void tx_took(struct udp_tx *tx, struct sl_port_qstats *st,
		    struct sl_pkt **pkts, unsigned m, unsigned cnt,
		    unsigned *n_done, bool sent)
{
	unsigned j;

	for (j = m; j < m + cnt; j++) {
		struct sl_pkt *p = pkts[tx->idx[j]];

		if (sent) {
			st->tx_packets++;
			st->tx_bytes += p->len;
		} else {
			st->tx_errors++;
		}
		tx->done[(*n_done)++] = p;
	}
}

/* Send messages [m0, m0 + cnt) one datagram each. Returns how many were
 * dealt with (sent, or failed for good), cnt unless the socket pushed
 * back. */
static unsigned tx_plain(struct udp_priv *u, struct sl_port_qstats *st,
			 struct sl_pkt **pkts, unsigned m0, unsigned cnt,
			 unsigned *n_done)
{
	struct udp_tx *tx = &u->tx;
	unsigned m = m0, end = m0 + cnt;

	while (m < end) {
		int r = sendmmsg(u->fd, tx->msgs + m, end - m, MSG_DONTWAIT);

		if (r > 0) {
			tx_took(tx, st, pkts, m, (unsigned)r, n_done, true);
			m += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS) {
			st->tx_full++;
			break;
		}
		/* this one failed for good: take it and go on */
		tx_took(tx, st, pkts, m, 1, n_done, false);
		m++;
	}
	return m - m0;
}

/*
 * Send messages [0, cnt) prepared for pkts[idx[]], as runs. Sent and failed
 * packets go to done[]; returns how many messages were dealt with (cnt
 * unless the socket pushed back: then the rest are the caller's again).
 */
static unsigned tx_flush(struct udp_priv *u, struct sl_port_qstats *st,
			 struct sl_pkt **pkts, unsigned cnt, unsigned *n_done)
{
	struct udp_tx *tx = &u->tx;
	unsigned n_runs = tx_runs(u, tx, pkts, cnt), g = 0, dealt = 0, j;

	while (g < n_runs) {
		int r = sendmmsg(u->fd, tx->runs + g, n_runs - g, MSG_DONTWAIT);

		if (r > 0) {
			for (j = g; j < g + (unsigned)r; j++) {
				tx_took(tx, st, pkts, tx->first[j],
					tx->count[j], n_done, true);
				dealt += tx->count[j];
				if (tx->count[j] > 1) {
					u->gso_runs++;
					u->gso_segs += tx->count[j];
				}
			}
			g += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS) {
			st->tx_full++;
			break;
		}
		if (tx->count[g] > 1 &&
		    (errno == EINVAL || errno == EIO || errno == EMSGSIZE)) {
			/* refused as a run: one datagram each */
			unsigned sent;

			if (errno == EIO)
				u->no_gso = true;
			u->gso_refused++;
			sent = tx_plain(u, st, pkts, tx->first[g], tx->count[g],
					n_done);
			dealt += sent;
			if (sent < tx->count[g])
				break;
			g++;
			continue;
		}
		/* this one failed for good: take it and go on */
		tx_took(tx, st, pkts, tx->first[g], tx->count[g], n_done,
			false);
		dealt += tx->count[g];
		g++;
	}
	return dealt;
}

static uint16_t udp_tx(struct sl_port *port, uint16_t queue,
		       struct sl_pkt **pkts, uint16_t n)
{
	struct udp_priv *u = port->priv;
	struct sl_port_qstats *st = &port->qstats[queue];
	struct udp_tx *tx = &u->tx;
	unsigned i = 0, cnt = 0, n_done = 0, dealt;

	/*
	 * Frames go in order, so that "taken" is always a prefix of the
	 * burst: sendable frames gather into a batch, which is sent before
	 * an unsendable frame is dropped, and whenever the batch (or the
	 * list of packets to free) is full.
	 */
	while (i < n) {
		struct sl_pkt *p = pkts[i];

		if (tx_prepare(u, tx, cnt, p)) {
			tx->idx[cnt++] = (uint16_t)i++;
			if (cnt < UDP_BATCH && n_done + cnt < UDP_BATCH)
				continue;
		} else if (cnt == 0) {
			st->tx_dropped++;
			tx->done[n_done++] = p;
			i++;
			if (n_done < UDP_BATCH)
				continue;
		}
		if (cnt) {
			dealt = tx_flush(u, st, pkts, cnt, &n_done);
			if (dealt < cnt) {
				i = tx->idx[dealt];
				goto out;
			}
			cnt = 0;
		}
		if (n_done) {
			sl_pkt_free_bulk(tx->done, n_done);
			n_done = 0;
		}
	}
	if (cnt) {
		dealt = tx_flush(u, st, pkts, cnt, &n_done);
		if (dealt < cnt)
			i = tx->idx[dealt];
	}
out:
	if (n_done)
		sl_pkt_free_bulk(tx->done, n_done);
	return (uint16_t)i;
}

/* ---- counters --------------------------------------------------------- */

static int udp_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n)
{
	struct udp_priv *u = port->priv;

	sl_xstat_put(out, n, 0, "udp_kernel_drops", u->kernel_drops);
	sl_xstat_put(out, n, 1, "udp_rx_truncated", u->rx_truncated);
	sl_xstat_put(out, n, 2, "udp_gso_runs",
		     __atomic_load_n(&u->gso_runs, __ATOMIC_RELAXED));
	sl_xstat_put(out, n, 3, "udp_gso_segs",
		     __atomic_load_n(&u->gso_segs, __ATOMIC_RELAXED));
	sl_xstat_put(out, n, 4, "udp_gso_refused",
		     __atomic_load_n(&u->gso_refused, __ATOMIC_RELAXED));
	sl_xstat_put(out, n, 5, "udp_gro_buffers",
		     __atomic_load_n(&u->gro_bufs, __ATOMIC_RELAXED));
	sl_xstat_put(out, n, 6, "udp_gro_segs",
		     __atomic_load_n(&u->gro_segs, __ATOMIC_RELAXED));
	return 7;
}

static const char *const udp_keys[] = { "peer", "busy_poll", "gso", "gro",
					NULL };

int sl_udp_socket_fd(struct sl_port *port)
{
	if (!port || port->drv != &sl_driver_udp)
		return -1;
	return ((struct udp_priv *)port->priv)->fd;
}

static int udp_queue_fd(struct sl_port *port, uint16_t queue)
{
	(void)queue;
	return ((struct udp_priv *)port->priv)->fd;
}

const struct sl_driver sl_driver_udp = {
	.name = "udp",
	.caps = SL_DRV_CAP_TX_CSUM | SL_DRV_CAP_PAD_POOL,
	.keys = udp_keys,
	.priv_size = sizeof(struct udp_priv),
	.open = udp_open,
	.close = udp_close,
	.rx_burst = udp_rx_burst,
	.tx_burst = udp_tx,
	.xstats = udp_xstats,
	.queue_fd = udp_queue_fd,
};
