// SPDX-License-Identifier: MIT
/*
 * The AF_XDP driver: "xdp:IFACE[,queue=N][,queues=N|A-B][,mode=...]
 * [,match=RULES][,replace][,busy_poll]".
 *
 * The UMEM is the port's pool region: chunk = pool buffer, and the UMEM
 * headroom is SL_PKT_META (plus whatever the pool asks beyond the kernel's
 * XDP_PACKET_HEADROOM), so the kernel writes a frame exactly where
 * sl_pkt_reset would put it and a received frame is handed over by setting
 * data and len on the struct sl_pkt at the start of its chunk: no copy.
 * Ports given the same pool share one UMEM (the first socket owns it, the
 * others bind with XDP_SHARED_UMEM and their own fill and completion
 * rings), so forwarding between them only posts an address.
 *
 * Only traffic the port's match= rules name reaches the sockets: our
 * steering program (steer.c), attached through a BPF link so that it dies
 * with the process, redirects matching frames to the socket of their RX
 * queue and passes every other frame to the kernel. One program per
 * interface, shared by the ports on it (different queues).
 *
 * Every descriptor the kernel hands back is checked (xsk_desc.c) before it
 * is followed, and the driver knows which chunks the kernel holds, per
 * socket, so that close gives every one of them back to the pool.
 *
 * Two process-wide registries, under one mutex (control path only): UMEMs
 * by pool and steering programs by (network namespace, ifindex).
 *
 * The device going away (deleted, or moved to another namespace) is told
 * by the kernel to the calls the fast path makes anyway: on
 * NETDEV_UNREGISTER it unbinds every socket on the device (net/xdp/xsk.c,
 * xsk_notifier -> xsk_unbind_dev), and from then on sendto and recvfrom
 * return ENXIO (xsk_check_common), where a device merely down gives
 * ENETDOWN. So the TX kick notices at once on a port that sends; a port
 * that only waits makes one non-blocking recvfrom per XDP_GONE_CHECK_NS of
 * empty receive bursts (a coarse clock read, no system call, on the others;
 * nothing per packet). The port then goes to SL_PORT_ERROR, once, and its
 * bursts stop calling the kernel: receive still hands over what the RX ring
 * held, transmit takes nothing. Close gives everything back as usual.
 *
 * Frames longer than a chunk (an MTU above a page, or above the chunk's
 * room): the UMEM's first socket binds with XDP_USE_SG (Linux 6.6; mb=off
 * does without), and the steering program takes multi-buffer frames. A
 * frame that comes in several descriptors is copied into one buffer of a
 * second pool the port owns (pv->mb_pool), so the application still sees
 * one contiguous packet and the chunks go straight back to the fill ring;
 * frames of one chunk take the zero-copy path as before, at the cost of a
 * test of the descriptor's options. Sending copies a frame longer than a
 * chunk into several, posted all together or not at all. Where the kernel
 * or the driver refuses the flag, the port opens with a chunk's limit and
 * says so (xstats multi_buffer, max_frame; sl_port_info's max_frame).
 *
 * The files: this one opens and closes ports; fast.c has the bursts,
 * umem.c the UMEMs and sockets, ifreg.c the interfaces and their steering
 * programs; xdp_int.h is what they share.
 */
#include <errno.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/if_xdp.h>

#include "steer_abi.h" /* bpf/: the program's ABI */
#include "drivers/xdp/xdp_int.h"
#include "net/ifdev.h"

const char *const xdp_mode_name[MODE_N] = { "zc", "copy-native",
					    "copy-generic" };
const char *const xdp_mode_path[MODE_N] = { "xdp-zc", "xdp-copy-native",
					    "xdp-copy-generic" };

pthread_mutex_t xdp_reg_lock = PTHREAD_MUTEX_INITIALIZER;
struct xdp_umem *xdp_umems;
struct xdp_iface *xdp_ifaces;

/* ---- libxdp's messages go to our log, never to stderr ----------------- */

SL_PRINTF(2, 0)
int xdp_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	sl_vlog(SL_LOG_DEBUG, fmt, ap);
	return 0;
}

static const char *errname(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "?";
}

/*
 * Explain a bind/attach errno in the words of the mode that failed. A
 * zero-copy refusal says what the kernel rejected where it can be known
 * (a device that cannot give it although its driver offers it), else what
 * was asked of it, rather than guess that the driver lacks it.
 */
static void mode_why(enum xdp_mode m, int err, const char *drv,
		     const struct xdp_priv *pv, const struct xdp_umem *u,
		     unsigned queue, char *why, size_t len)
{
	if (m == MODE_ZC && (err == EOPNOTSUPP || err == EINVAL) &&
	    sl_if_zc_blocker(pv->ifname, drv, why, len))
		return;
	if (m == MODE_ZC && err == EOPNOTSUPP)
		snprintf(why, len,
			 "zero-copy not supported by driver %s (%s): it has "
			 "no AF_XDP zero-copy support",
			 drv, errname(err));
	else if (m == MODE_ZC && err == EINVAL)
		snprintf(why, len,
			 "driver %s refused the zero-copy bind (EINVAL) of "
			 "queue %u with UMEM chunks of %u bytes, %u bytes of "
			 "headroom beyond the kernel's %u",
			 drv, queue, u->g.chunk, u->headroom,
			 XDP_PACKET_HEADROOM_);
	else if (m != MODE_GENERIC && err == EOPNOTSUPP)
		snprintf(why, len,
			 "driver %s has no native XDP (%s); generic mode "
			 "works everywhere, slower",
			 drv, errname(err));
	else if (err == EBUSY)
		snprintf(why, len,
			 "busy (EBUSY): another AF_XDP socket or XDP program "
			 "holds this queue or interface");
	else
		snprintf(why, len, "%s (%s)", strerror(err), errname(err));
}

/* ---- open / close ----------------------------------------------------- */

static void xdp_close_locked(struct sl_port *port)
{
	struct xdp_priv *pv = port->priv;
	unsigned i;

	for (i = 0; i < pv->n; i++)
		if (pv->q[i] && pv->ifc) {
			sl_steer_set_xsk(pv->ifc->steer, pv->q[i]->dev_queue,
					 -1);
			pv->ifc->busy_q &= ~(1ull << pv->q[i]->dev_queue);
		}
	if (pv->ifc)
		xdp_iface_put(pv->ifc);
	pv->ifc = NULL;
	/* last queue first, so that a UMEM owner goes with its UMEM */
	for (i = pv->n; i-- > 0;) {
		struct xdp_q *q = pv->q[i];

		if (!q)
			continue;
		pv->q[i] = NULL;
		xdp_q_destroy(q);
		xdp_umem_put(pv->um);
	}
	pv->um = NULL;
	pv->n = 0;
}

static void xdp_close(struct sl_port *port)
{
	struct xdp_priv *pv = port->priv;

	pthread_mutex_lock(&xdp_reg_lock);
	xdp_close_locked(port);
	pthread_mutex_unlock(&xdp_reg_lock);
	/* packets of it still out (an auto: port that changes path under
	 * an application holding some) must stay valid: the pool is then
	 * left to them, a leak rather than a use after free */
	if (pv->mb_pool &&
	    sl_pool_avail(pv->mb_pool) == sl_pool_capacity(pv->mb_pool))
		sl_pool_destroy(pv->mb_pool);
	else if (pv->mb_pool)
		sl_dbg("xdp:%s: %u multi-buffer packets still out at close: "
		       "their pool stays",
		       pv->ifname,
		       sl_pool_capacity(pv->mb_pool) -
			       sl_pool_avail(pv->mb_pool));
	pv->mb_pool = NULL;
}

/* queue=N, queues=N (from queue) or queues=A-B. */
static int parse_queues(const struct sl_spec *spec, uint32_t *base, uint32_t *n)
{
	const char *qs = sl_spec_get(spec, "queues");
	uint64_t a, b;
	int err;

	err = sl_spec_u32(spec, "queue", 0, 0, 1023, base);
	if (err)
		return err;
	*n = 1;
	if (!qs)
		return 0;
	if (strchr(qs, '-')) {
		char lo[16], *dash;

		if (sl_spec_has(spec, "queue"))
			return sl_spec_fail(spec, EINVAL,
					    "give queue=N or queues=A-B, not "
					    "both");
		sl_strlcpy(lo, qs, sizeof(lo));
		dash = strchr(lo, '-');
		if (dash)
			*dash = '\0';
		if (!dash || sl_spec_parse_u64(lo, &a) ||
		    sl_spec_parse_u64(strchr(qs, '-') + 1, &b) || b < a ||
		    b - a + 1 > SL_PORT_MAX_QUEUES || b > 1023)
			return sl_spec_fail(spec, EINVAL,
					    "bad queues '%s': expected A-B "
					    "with A <= B, at most %d queues",
					    qs, SL_PORT_MAX_QUEUES);
		*base = (uint32_t)a;
		*n = (uint32_t)(b - a + 1);
		return 0;
	}
	if (sl_spec_parse_u64(qs, &a) || a < 1 || a > SL_PORT_MAX_QUEUES)
		return sl_spec_fail(spec, EINVAL,
				    "bad queues '%s': expected 1 to %d or A-B",
				    qs, SL_PORT_MAX_QUEUES);
	*n = (uint32_t)a;
	return 0;
}

static int parse_mode(const struct sl_spec *spec, bool try[MODE_N])
{
	const char *m = sl_spec_get(spec, "mode");

	memset(try, 0, MODE_N * sizeof(bool));
	if (!m || !strcmp(m, "auto")) {
		try[MODE_ZC] = try[MODE_NATIVE] = try[MODE_GENERIC] = true;
	} else if (!strcmp(m, "copy")) {
		try[MODE_NATIVE] = try[MODE_GENERIC] = true;
	} else if (!strcmp(m, "zc")) {
		try[MODE_ZC] = true;
	} else if (!strcmp(m, "copy-native") || !strcmp(m, "native")) {
		try[MODE_NATIVE] = true;
	} else if (!strcmp(m, "copy-generic") || !strcmp(m, "generic") ||
		   !strcmp(m, "skb")) {
		try[MODE_GENERIC] = true;
	} else {
		return sl_spec_fail(spec, EINVAL,
				    "bad mode '%s': expected auto, copy, zc, "
				    "copy-native or copy-generic",
				    m);
	}
	return 0;
}

static bool match_equal(const struct sl_match *a, const struct sl_match *b)
{
	unsigned i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->rule[i].kind != b->rule[i].kind ||
		    a->rule[i].lo != b->rule[i].lo ||
		    a->rule[i].hi != b->rule[i].hi)
			return false;
	return true;
}

/* Bring up every queue's socket in mode m, and the program if this port
 * is the interface's first. 0, or -errno with the refusal in why. */
static int try_mode(struct sl_port *port, const struct sl_spec *spec,
		    struct xdp_priv *pv, enum xdp_mode m,
		    struct sl_match *match, uint32_t ring, bool want_sg,
		    const char *drv, char *why, size_t why_len)
{
	struct xdp_umem *u = pv->um;
	uint16_t flags = XDP_USE_NEED_WAKEUP;
	struct sl_steer *steer = NULL;
	unsigned i;
	int err;

	flags |= m == MODE_ZC ? XDP_ZEROCOPY : XDP_COPY;
	if (want_sg)
		flags |= XDP_USE_SG; /* the UMEM's owner asks; see umem.c */
	if (!u->umem)
		u->sg_refused = false;
	if (pv->ifc && pv->ifc->mode != m &&
	    (pv->ifc->mode == MODE_GENERIC || m == MODE_GENERIC)) {
		snprintf(why, why_len,
			 "the interface's steering program, shared with "
			 "another port, runs in %s mode",
			 pv->ifc->mode == MODE_GENERIC ? "generic (skb)" :
							 "native (driver)");
		return -EBUSY;
	}
	if (u->umem && u->mode != m) {
		snprintf(why, why_len,
			 "the pool's UMEM is already in %s mode (a UMEM has "
			 "one mode, set by its first socket)",
			 xdp_mode_name[u->mode]);
		return -EBUSY;
	}
	if (!u->umem)
		u->mode = m;
	for (i = 0; i < pv->n; i++) {
		err = xdp_q_create(pv, u, pv->qbase + i, ring, flags,
				   &pv->q[i]);
		if (err)
			goto fail_q;
	}
	if (!pv->ifc) {
		err = xdp_steer_attach_new(port, spec, pv, m, match, &steer);
		if (err) {
			if (err == -EPERM || err == -EACCES)
				goto fail_keep;
			mode_why(m, -err, drv, pv, u, pv->qbase, why, why_len);
			snprintf(why + strlen(why), why_len - strlen(why),
				 " [attaching the program]");
			goto fail_sockets;
		}
		pv->ifc = calloc(1, sizeof(*pv->ifc));
		if (!pv->ifc) {
			sl_steer_destroy(steer);
			err = sl_spec_fail(spec, ENOMEM, "out of memory");
			goto fail_keep;
		}
		pv->ifc->netns = xdp_netns_id();
		pv->ifc->ifindex = pv->ifindex;
		pv->ifc->steer = steer;
		pv->ifc->mode = m;
		pv->ifc->match = *match;
		pv->ifc->refs = 1;
		pv->ifc->next = xdp_ifaces;
		xdp_ifaces = pv->ifc;
	} else {
		pv->ifc->refs++;
	}
	/* receive times: the program stamps arrival; where it cannot
	 * (metadata refused) the burst's read time stands in (fast.c) */
	if (port->rx_ts && !pv->ifc->stamps) {
		/* the flag first, the program second: a frame stamped
		 * before every port strips stamps would reach one whole */
		__atomic_store_n(&pv->ifc->stamps, true, __ATOMIC_RELEASE);
		(void)sl_steer_add_flags(pv->ifc->steer, SL_STEER_F_RX_TS);
	}
	for (i = 0; i < pv->n; i++) {
		err = sl_steer_set_xsk(pv->ifc->steer, pv->qbase + i,
				       pv->q[i]->fd);
		if (err) {
			err = sl_spec_fail(spec, -err, "%s", sl_last_error());
			xdp_close_locked(port);
			return err;
		}
		pv->ifc->busy_q |= 1ull << (pv->qbase + i);
	}
	return 0;

fail_q:
	if (err == -EPERM || err == -EACCES) {
		err = sl_spec_fail(spec, EPERM, PERM_HINT);
		goto fail_keep;
	}
	if (err == -EBUSY) {
		/* held for longer than a dying socket takes: another mode
		 * would find it just as busy */
		err = sl_spec_fail(spec, EBUSY,
				   "queue %u of %s is taken by another AF_XDP "
				   "socket (EBUSY)",
				   pv->qbase + i, pv->ifname);
		goto fail_keep;
	}
	mode_why(m, -err, drv, pv, u, pv->qbase + i, why, why_len);
	if (i > 0)
		snprintf(why + strlen(why), why_len - strlen(why),
			 " [queue %u]", pv->qbase + i);
	goto undo;
fail_sockets:
	goto undo;
fail_keep:
	/* an error no other mode can cure: the message is set already */
	why[0] = '\0';
undo:
	/* last queue first: the UMEM owner (queue 0 of a new UMEM) goes
	 * last, with the UMEM, when nobody else uses it */
	for (i = pv->n; i-- > 0;)
		if (pv->q[i]) {
			xdp_q_destroy(pv->q[i]);
			pv->q[i] = NULL;
			u->refs--;
		}
	if (!u->refs)
		xdp_umem_release(u);
	return err;
}

/* mb=on (the default) or mb=off: frames of several UMEM chunks. */
static int parse_mb(const struct sl_spec *spec, bool *on)
{
	const char *v = sl_spec_get(spec, "mb");

	*on = true;
	if (!v || !strcmp(v, "on"))
		return 0;
	if (!strcmp(v, "off")) {
		*on = false;
		return 0;
	}
	return sl_spec_fail(spec, EINVAL, "bad mb '%s': expected on or off", v);
}

/*
 * Multi-buffer frames, once the sockets are bound: where the UMEM has
 * XDP_USE_SG, a pool of larger buffers for the frames that span chunks
 * (receive copies them there: a frame stays one contiguous packet), and
 * the port's largest frame either way (info.max_frame). Where the kernel
 * or the driver refused the flag, the port works as before, a chunk per
 * frame, and says so.
 */
static void mb_setup(struct sl_port *port, struct xdp_priv *pv, unsigned nq,
		     const char *drv)
{
	struct xdp_umem *u = pv->um;
	uint32_t max = pv->q[0]->max_copy;
	unsigned i;

	if (u->sg) {
		struct sl_pool_opts po = { .sz = sizeof(po),
					   .n_bufs = XDP_MB_BUFS * nq,
					   .buf_size = XDP_MB_BUF_SIZE,
					   .headroom =
						   sl_pool_headroom(port->pool),
					   .cache_size = 64,
					   .name = "xdp-mb" };

		pv->mb_pool = sl_pool_create(&po);
		if (!pv->mb_pool)
			sl_warn("xdp:%s: no pool for multi-buffer frames (%s): "
				"frames longer than %u bytes are dropped",
				pv->ifname, sl_last_error(), max);
	} else if (u->sg_refused) {
		sl_info("xdp:%s: multi-buffer frames (XDP_USE_SG) refused by "
			"the kernel or driver %s (%s; Linux 6.6 and a driver "
			"that offers them are needed): frames up to %u bytes",
			pv->ifname, drv, errname(u->sg_err), max);
	}
	if (pv->mb_pool) {
		struct sl_pkt *p = sl_pkt_alloc(pv->mb_pool);

		if (p) {
			max = SL_MIN(sl_pkt_tailroom(p), pv->q[0]->max_tx);
			sl_pkt_free(p);
		}
	}
	for (i = 0; i < nq; i++)
		pv->q[i]->mb.pool = pv->mb_pool;
	port->info.max_frame = max;
}

static int xdp_open(struct sl_port *port, const struct sl_spec *spec)
{
	struct xdp_priv *pv = port->priv;
	struct sl_match match;
	struct sl_xsk_geom g = { 0 };
	bool try[MODE_N];
	uint32_t ring = port->opts->ring_size, qbase, nq, headroom = 0, cap;
	unsigned have, i;
	char drv[32], who[200], why[232], all[768];
	const char *mstr;
	int err = 0, found, m;
	bool want_sg = true;

	if (!spec->target[0] || strlen(spec->target) >= IFNAMSIZ)
		return sl_spec_fail(spec, EINVAL,
				    "expected an interface name (at most %d "
				    "characters)",
				    IFNAMSIZ - 1);
	sl_strlcpy(pv->ifname, spec->target, sizeof(pv->ifname));
	err = parse_queues(spec, &qbase, &nq);
	if (!err)
		err = parse_mode(spec, try);
	if (err)
		return err;
	mstr = sl_spec_get(spec, "match");
	if (!mstr || !mstr[0])
		return sl_spec_fail(
			spec, EINVAL,
			"say which traffic to take from the kernel: "
			"match=udp:PORT, match=udp:LO-HI (joined with +), "
			"match=all for every frame (ARP, SSH and ping "
			"included: the host loses them on this interface), "
			"or match=none to hold the port taking nothing");
	err = sl_match_parse(mstr, &match);
	if (err)
		return sl_spec_fail(spec, -err, "%s", sl_last_error());
	if (!is_pow2(ring) || ring < 64 || ring > 16384)
		return sl_spec_fail(spec, EINVAL,
				    "ring size %u: AF_XDP rings need a power "
				    "of two from 64 to 16384",
				    ring);
	err = xdp_pool_geom(spec, port->pool, &g, &headroom);
	if (!err)
		err = parse_mb(spec, &want_sg);
	if (err)
		return err;
	cap = sl_pool_capacity(port->pool);
	if (cap / (2 * nq) < XDP_FILL_BATCH)
		return sl_spec_fail(spec, EINVAL,
				    "a pool of %u buffers is too small for %u "
				    "queue(s): give each at least %u",
				    cap, nq, 2 * XDP_FILL_BATCH);

	pv->ifindex = (int)if_nametoindex(pv->ifname);
	if (!pv->ifindex)
		return sl_spec_fail(spec, ENODEV,
				    "no interface %s in this network namespace",
				    pv->ifname);
	if (qbase + nq > SL_STEER_MAX_QUEUES)
		return sl_spec_fail(spec, EINVAL,
				    "queues up to %d only (the steering "
				    "program's socket map)",
				    SL_STEER_MAX_QUEUES - 1);
	have = xdp_rx_queues(pv->ifname);
	if (have && qbase + nq > have)
		return sl_spec_fail(
			spec, EINVAL,
			"queue%s %u%s%.0u: %s has %u RX queue%s (ethtool -L %s "
			"combined %u gives it more, where the driver allows)",
			nq > 1 ? "s" : "", qbase, nq > 1 ? "-" : "",
			nq > 1 ? qbase + nq - 1 : 0, pv->ifname, have,
			have == 1 ? "" : "s", pv->ifname, qbase + nq);
	/* RSS spreads flows over every RX queue; frames matching match= on a
	 * queue no socket serves go to the kernel (steer_redirect_failed):
	 * say so now rather than let a user wonder where they went */
	if (have > nq)
		sl_warn("xdp:%s: this port serves %s %u%s%.0u of the %u RX "
			"queues of %s: matching frames that RSS puts on the "
			"others go to the kernel unless other ports serve "
			"them (counted in steer_redirect_failed); queues=0-%u "
			"serves them all",
			pv->ifname, nq > 1 ? "queues" : "queue", qbase,
			nq > 1 ? "-" : "", nq > 1 ? qbase + nq - 1 : 0, have,
			pv->ifname, have - 1);
	if (geteuid() != 0) {
		int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

		if (fd < 0 && (errno == EPERM || errno == EACCES))
			return sl_spec_fail(spec, EPERM, PERM_HINT);
		if (fd >= 0)
			close(fd);
	}
	xdp_driver_name(pv->ifname, drv, sizeof(drv));

	pthread_mutex_lock(&xdp_reg_lock);
	pv->ifc = xdp_iface_find(xdp_netns_id(), pv->ifindex);
	if (pv->ifc && !match_equal(&pv->ifc->match, &match)) {
		char a[128], b[128];

		sl_match_format(&pv->ifc->match, a, sizeof(a));
		sl_match_format(&match, b, sizeof(b));
		pv->ifc = NULL;
		err = sl_spec_fail(spec, EBUSY,
				   "another port on %s steers match=%s; ports "
				   "sharing an interface share one program and "
				   "must use the same match= (not %s)",
				   pv->ifname, a, b);
		goto out;
	}
	for (i = 0; pv->ifc && i < nq; i++)
		if (pv->ifc->busy_q & (1ull << (qbase + i))) {
			pv->ifc = NULL;
			err = sl_spec_fail(spec, EBUSY,
					   "queue %u of %s belongs to another "
					   "open port; each queue takes one",
					   qbase + i, pv->ifname);
			goto out;
		}
	if (!pv->ifc) {
		found = sl_steer_find_attached(pv->ifindex, who, sizeof(who));
		if (found < 0) {
			err = found == -EPERM ?
				      sl_spec_fail(spec, EPERM, PERM_HINT) :
				      found;
			goto out;
		}
		if (found == SL_STEER_FOUND_OURS) {
			err = sl_spec_fail(spec, EBUSY,
					   "another sluice process steers %s "
					   "already (%s)",
					   pv->ifname, who);
			goto out;
		}
		if (found == SL_STEER_FOUND_OTHER) {
			if (!sl_spec_has(spec, "replace")) {
				err = sl_spec_fail(
					spec, EBUSY,
					"%s already carries an XDP program "
					"that is not sluice's: %s; add "
					",replace to detach it",
					pv->ifname, who);
				goto out;
			}
			err = xdp_detach_foreign(spec, pv->ifindex, who);
			if (err)
				goto out;
			sl_warn("xdp:%s: replaced the XDP program that was there: %s",
				pv->ifname, who);
		}
	}

	pv->um = xdp_umem_find(port->pool, &g);
	if (!pv->um) {
		pv->um = calloc(1, sizeof(*pv->um));
		if (pv->um)
			pv->um->g = g;
		if (pv->um)
			pv->um->g.owner = calloc(g.len >> g.shift, 1);
		if (!pv->um || !pv->um->g.owner) {
			if (pv->um)
				free(pv->um);
			pv->um = NULL;
			err = sl_spec_fail(spec, ENOMEM, "out of memory");
			goto out;
		}
		pv->um->pool = port->pool;
		pv->um->ring_size = ring;
		pv->um->headroom = headroom;
		pv->um->next = xdp_umems;
		xdp_umems = pv->um;
	}
	pv->n = (uint16_t)nq;
	pv->qbase = qbase;

	err = -EINVAL;
	all[0] = '\0';
	for (m = 0; m < MODE_N; m++) {
		size_t used = strlen(all);

		if (!try[m])
			continue;
		why[0] = '\0';
		err = try_mode(port, spec, pv, (enum xdp_mode)m, &match, ring,
			       want_sg, drv, why, sizeof(why));
		if (!err || !why[0])
			break; /* opened, or an error that is not a refusal */
		sl_port_refuse(port, xdp_mode_path[m], "%s: %s", pv->ifname,
			       why);
		sl_info("xdp:%s: %s refused: %s", pv->ifname, xdp_mode_name[m],
			why);
		snprintf(all + used, sizeof(all) - used, "%s%s: %s",
			 used ? "; " : "", xdp_mode_name[m], why);
	}
	if (err) {
		if (why[0] && try[MODE_ZC] && !try[MODE_NATIVE])
			err = sl_spec_fail(spec, -err,
					   "mode=zc refused: %s; mode=copy or "
					   "mode=auto work on any interface",
					   why);
		else if (why[0])
			err = sl_spec_fail(spec, -err,
					   "no AF_XDP mode could be set up: %s",
					   all);
		if (pv->um && !pv->um->refs)
			xdp_umem_free(pv->um);
		pv->um = NULL;
		pv->n = 0;
		goto out;
	}
	for (i = 0; i < nq; i++) {
		struct xdp_q *q = pv->q[i];

		q->port_id = port->port_id;
		q->queue = (uint16_t)i;
		q->fill_target = SL_MIN(pv->um->ring_size, cap / (2 * nq));
		q->fill_target &= ~(uint32_t)(XDP_FILL_BATCH / 4 - 1);
		if (sl_spec_has(spec, "busy_poll"))
			q->busy_poll =
				sl_busy_poll_enable(port, q->fd, pv->ifname);
		xdp_refill(port, q);
	}
	mb_setup(port, pv, nq, drv);
	port->n_queues = (uint16_t)nq;
	sl_strlcpy(port->info.mode, xdp_mode_name[pv->um->mode],
		   sizeof(port->info.mode));
	sl_strlcpy(port->info.name, pv->ifname, sizeof(port->info.name));
	xdp_get_mac(pv->ifname, port->info.mac);
	if (!strcmp(drv, "veth") && pv->um->mode == MODE_NATIVE)
		sl_info("xdp:%s: native XDP on veth sees only frames from a "
			"peer with an XDP program or with TSO off; use "
			"mode=copy-generic if nothing arrives",
			pv->ifname);
	err = 0;
out:
	pthread_mutex_unlock(&xdp_reg_lock);
	return err;
}

static int xdp_xstats(struct sl_port *port, struct sl_xstat *out, unsigned n)
{
	struct xdp_priv *pv = port->priv;
	struct xdp_statistics ks, sum = { 0 };
	struct sl_steer_stats ss = { 0 };
	uint64_t inv = 0, comp = 0, copied = 0, empty = 0, wake = 0, checks = 0;
	uint64_t txwake = 0, stall = 0, recycled = 0, budget = 0;
	uint64_t mb_rx = 0, mb_bad = 0, mb_long = 0, mb_tx = 0, tx_long = 0;
	unsigned i, k = 0;

	pthread_mutex_lock(&xdp_reg_lock);
	for (i = 0; i < pv->n; i++) {
		struct xdp_q *q = pv->q[i];
		socklen_t len = sizeof(ks);

		inv += __atomic_load_n(&q->rx_invalid_desc, __ATOMIC_RELAXED);
		comp += __atomic_load_n(&q->tx_invalid_comp, __ATOMIC_RELAXED);
		copied += __atomic_load_n(&q->tx_copied, __ATOMIC_RELAXED);
		empty += __atomic_load_n(&q->fill_ring_empty, __ATOMIC_RELAXED);
		wake += __atomic_load_n(&q->wakeups, __ATOMIC_RELAXED);
		txwake += __atomic_load_n(&q->tx_wakeups, __ATOMIC_RELAXED);
		stall += __atomic_load_n(&q->tx_stall_kicks, __ATOMIC_RELAXED);
		checks += __atomic_load_n(&q->link_checks, __ATOMIC_RELAXED);
		recycled +=
			__atomic_load_n(&q->fill_recycled, __ATOMIC_RELAXED);
		mb_rx += __atomic_load_n(&q->rx_mb_frames, __ATOMIC_RELAXED);
		mb_bad += __atomic_load_n(&q->rx_mb_invalid, __ATOMIC_RELAXED);
		mb_long +=
			__atomic_load_n(&q->rx_mb_too_long, __ATOMIC_RELAXED);
		mb_tx += __atomic_load_n(&q->tx_mb_frames, __ATOMIC_RELAXED);
		tx_long += __atomic_load_n(&q->tx_too_long, __ATOMIC_RELAXED);
		if (!budget || q->tx_budget < budget)
			budget = q->tx_budget;
		memset(&ks, 0, sizeof(ks));
		if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &ks, &len) ==
		    0) {
			sum.rx_dropped += ks.rx_dropped;
			sum.rx_invalid_descs += ks.rx_invalid_descs;
			sum.tx_invalid_descs += ks.tx_invalid_descs;
			sum.rx_ring_full += ks.rx_ring_full;
			sum.rx_fill_ring_empty_descs +=
				ks.rx_fill_ring_empty_descs;
			sum.tx_ring_empty_descs += ks.tx_ring_empty_descs;
		}
	}
	if (pv->ifc)
		sl_steer_read_stats(pv->ifc->steer, &ss);
	pthread_mutex_unlock(&xdp_reg_lock);

	sl_xstat_put(out, n, k++, "rx_invalid_desc", inv);
	sl_xstat_put(out, n, k++, "tx_invalid_comp", comp);
	sl_xstat_put(out, n, k++, "tx_copied", copied);
	sl_xstat_put(out, n, k++, "fill_ring_empty", empty);
	sl_xstat_put(out, n, k++, "fill_recycled", recycled);
	sl_xstat_put(out, n, k++, "tx_kick_budget", budget);
	sl_xstat_put(out, n, k++, "wakeups", wake);
	sl_xstat_put(out, n, k++, "tx_wakeups", txwake);
	sl_xstat_put(out, n, k++, "tx_stall_kicks", stall);
	sl_xstat_put(out, n, k++, "link_checks", checks);
	sl_xstat_put(out, n, k++, "multi_buffer", pv->um && pv->um->sg);
	sl_xstat_put(out, n, k++, "max_frame", port->info.max_frame);
	sl_xstat_put(out, n, k++, "rx_mb_frames", mb_rx);
	sl_xstat_put(out, n, k++, "rx_mb_invalid", mb_bad);
	sl_xstat_put(out, n, k++, "rx_mb_too_long", mb_long);
	sl_xstat_put(out, n, k++, "tx_mb_frames", mb_tx);
	sl_xstat_put(out, n, k++, "tx_too_long", tx_long);
	sl_xstat_put(out, n, k++, "xsk_rx_dropped", sum.rx_dropped);
	sl_xstat_put(out, n, k++, "xsk_rx_invalid_descs", sum.rx_invalid_descs);
	sl_xstat_put(out, n, k++, "xsk_tx_invalid_descs", sum.tx_invalid_descs);
	sl_xstat_put(out, n, k++, "xsk_rx_ring_full", sum.rx_ring_full);
	sl_xstat_put(out, n, k++, "xsk_rx_fill_ring_empty_descs",
		     sum.rx_fill_ring_empty_descs);
	sl_xstat_put(out, n, k++, "xsk_tx_ring_empty_descs",
		     sum.tx_ring_empty_descs);
	sl_xstat_put(out, n, k++, "steer_matched", ss.matched);
	sl_xstat_put(out, n, k++, "steer_passed", ss.passed);
	sl_xstat_put(out, n, k++, "steer_redirect_failed", ss.redirect_failed);
	return (int)k;
}

static int xdp_queue_fd(struct sl_port *port, uint16_t queue)
{
	struct xdp_priv *pv = port->priv;

	return pv->q[queue] ? pv->q[queue]->fd : -ENOTSUP;
}

static const char *const xdp_keys[] = { "queue",     "mode", "match", "replace",
					"busy_poll", "mb",   NULL };

const struct sl_driver sl_driver_xdp = {
	.name = "xdp",
	.keys = xdp_keys,
	.priv_size = sizeof(struct xdp_priv),
	.open = xdp_open,
	.close = xdp_close,
	.rx_burst = xdp_rx_burst,
	.tx_burst = xdp_tx_burst,
	.xstats = xdp_xstats,
	.queue_fd = xdp_queue_fd,
	.set_match = xdp_set_match,
	.rx_ts_on = xdp_rx_ts_on,
};
