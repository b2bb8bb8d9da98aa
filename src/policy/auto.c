// SPDX-License-Identifier: MIT
/*
 * The auto: meta-driver (include/sluice/auto.h): opens an inner port on the
 * fastest path the probe's verdicts and the accepted risk allow, and moves
 * to the next path when the one in use fails for good.
 *
 * The inner port is a whole struct sl_port opened through sl_port_open with
 * the outer port's pool. Its counters are the outer port's: right after it
 * opens, its qstats pointer is pointed at ours (and restored before it
 * closes), so the inner driver counts straight into what sl_port_stats
 * reads, and a switch of path loses no count. Packets come from the outer
 * pool, which outlives every inner port, so those the application holds
 * across a switch stay valid.
 *
 * What the checks tell apart: a path that failed (the driver's fatal
 * state, our XDP program gone) gives way to the next path down; an
 * interface that went (RTM_GETLINK on its ifindex says ENODEV: deleted, or
 * moved to another namespace) is looked up again by name, and the port
 * reopens on a new one from the fastest path, or is in ERROR and keeps
 * looking every check until one appears. A rename is followed: what the
 * path holds is bound to the device, not to its name.
 *
 * Switching under running bursts: each burst marks its queue busy (a
 * sequentially consistent store) and then reads `switching`; the switcher
 * sets `switching` and then waits for every other queue to be idle. With
 * both sides using seq_cst, either the burst sees `switching` and backs off
 * (returning 0), or the switcher sees the queue busy and waits, so nobody
 * runs on an inner port being closed. The cost on the fast path is that
 * store and a load per burst, plus a coarse clock read on queue 0.
 *
 * The control calls that read or change the port in use (xstats, events,
 * path, fd, match, receive times) are auto_ctl.c's; the state both files
 * share is auto_int.h.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>

#include <sluice/auto.h>
#include <sluice/probe.h>

#include "net/ifdev.h"
#include "port/driver.h"
#include "probe/probe.h"
#include "policy/auto_int.h"

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	/* vDSO, no system call: the price of a check on every burst */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The inner spec for path p, or -EINVAL with why (udp without a port). */
static int inner_spec(struct auto_priv *a, enum sl_path p, char *buf,
		      size_t len, char *why, size_t wlen)
{
	char extra[300] = "";
	size_t n = 0;

	if (a->match[0])
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",match=%s",
				      a->match);
	if (a->queues_given && n < sizeof(extra))
		snprintf(extra + n, sizeof(extra) - n, ",queues=%u", a->queues);
	switch (p) {
	case SL_PATH_XDP_ZC:
		snprintf(buf, len, "xdp:%s,mode=zc%s", a->iface, extra);
		return 0;
	case SL_PATH_XDP_COPY:
		snprintf(buf, len, "xdp:%s,mode=copy%s", a->iface, extra);
		return 0;
	case SL_PATH_PACKET:
		snprintf(buf, len, "packet:%s%s", a->iface, extra);
		return 0;
	case SL_PATH_UDP: {
		unsigned lo = 0;
		uint32_t addr;
		char ip[INET_ADDRSTRLEN];

		if (strncmp(a->match, "udp:", 4) != 0 ||
		    sscanf(a->match + 4, "%u", &lo) != 1 || !lo) {
			snprintf(why, wlen,
				 "the udp path binds one UDP port: it needs "
				 "match=udp:PORT (match is '%.64s')",
				 a->match[0] ? a->match : "all");
			return -EINVAL;
		}
		if (a->queues_given && a->queues != 1) {
			snprintf(why, wlen,
				 "the udp path has one queue, %u "
				 "asked for",
				 a->queues);
			return -EINVAL;
		}
		if (sl_probe_iface_ipv4(a->iface, &addr)) {
			snprintf(why, wlen, "%s", sl_last_error());
			return -EADDRNOTAVAIL;
		}
		inet_ntop(AF_INET, &addr, ip, sizeof(ip));
		snprintf(buf, len, "udp:%s:%u", ip, lo);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* Point the inner port's counters at ours (see the top of the file). */
static void adopt(struct sl_port *port, struct auto_priv *a, struct sl_port *in)
{
	a->inner_qstats = in->qstats;
	in->qstats = port->qstats;
}

static void inner_close(struct auto_priv *a)
{
	struct sl_port *in = a->inner;

	if (!in)
		return;
	__atomic_store_n(&a->inner, NULL, __ATOMIC_RELEASE);
	in->qstats = a->inner_qstats;
	sl_port_close(in);
}

/* Our XDP program's id on the interface right after an xdp path opened:
 * the driver refuses to share the interface with anyone else's, so what
 * is attached now is ours. */
static uint32_t attached_prog(struct auto_priv *a)
{
	struct sl_rtnl_link l;

	if (sl_rtnl_getlink(a->nl, NULL, a->ifindex, &l))
		return 0;
	if (l.xdp_prog_id)
		return l.xdp_prog_id;
	return l.xdp_drv_id ? l.xdp_drv_id : l.xdp_skb_id;
}

/* Try the paths from `first` down, within the accepted risk, recording why
 * each one passed over was. 0 with a->inner open, or -errno (-ENOLINK when
 * every path was refused). `log`, when given, collects the refusals for
 * the fallback event too. */
static int open_from(struct sl_port *port, struct auto_priv *a,
		     enum sl_path first, char *log, size_t loglen)
{
	struct sl_path_verdict v[SL_PATH__COUNT];
	struct sl_path_opts po = { .sz = sizeof(po), .queues = a->queues };
	char spec[600], why[512];
	unsigned p;
	int err;

	err = sl_probe_paths(a->iface, &po, v);
	if (err)
		return err;
	for (p = first; p < SL_PATH__COUNT; p++) {
		struct sl_port_opts o = { .sz = sizeof(o),
					  .pool = a->pool,
					  .ring_size = a->ring_size,
					  .port_id = a->port_id,
					  .flags = a->flags };
		struct sl_port_info ii = { .sz = sizeof(ii) };
		const char *name = sl_path_name((enum sl_path)p);
		struct sl_port *in;
		unsigned r;

		why[0] = '\0';
		if (v[p].risk > a->risk)
			snprintf(why, sizeof(why),
				 "risk %s is above the accepted %s (risk=%s "
				 "allows it)",
				 sl_risk_name(v[p].risk), sl_risk_name(a->risk),
				 sl_risk_name(v[p].risk));
		else if (!v[p].available)
			snprintf(why, sizeof(why), "%s%s%s", v[p].reason,
				 v[p].fix[0] ? "; fix: " : "", v[p].fix);
		else if (inner_spec(a, (enum sl_path)p, spec, sizeof(spec), why,
				    sizeof(why)) == 0) {
			in = sl_port_open(spec, &o);
			if (in && port->n_queues && port->info.n_queues &&
			    in->n_queues != port->n_queues) {
				snprintf(why, sizeof(why),
					 "opened %u queue(s), the port has %u",
					 in->n_queues, port->n_queues);
				sl_port_close(in);
				in = NULL;
			}
			if (in) {
				adopt(port, a, in);
				a->path = (enum sl_path)p;
				if (p <= SL_PATH_XDP_COPY)
					a->xdp_prog_id = attached_prog(a);
				else
					a->xdp_prog_id = 0;
				sl_port_info(in, &ii);
				pthread_mutex_lock(&port->lock);
				snprintf(port->info.mode,
					 sizeof(port->info.mode), "%s/%.20s",
					 name, ii.mode);
				memcpy(port->info.mac, ii.mac,
				       sizeof(port->info.mac));
				port->info.addr = ii.addr;
				port->info.peer = ii.peer;
				pthread_mutex_unlock(&port->lock);
				/* what the inner driver itself passed over
				 * (xdp: native refused, generic taken) */
				for (r = 0; r < ii.n_refused; r++)
					sl_port_refuse(port, ii.refused[r].path,
						       "%s", ii.refused[r].why);
				port->n_queues = in->n_queues;
				__atomic_store_n(&a->inner, in,
						 __ATOMIC_RELEASE);
				return 0;
			}
			snprintf(why, sizeof(why), "%s", sl_last_error());
		}
		sl_port_refuse(port, name, "%s", why);
		if (log) {
			size_t n = strlen(log);

			snprintf(log + n, loglen - n, "; %s: %s", name, why);
		}
	}
	return -ENOLINK;
}

static int auto_open(struct sl_port *port, const struct sl_spec *spec)
{
	struct auto_priv *a = port->priv;
	const char *risk = sl_spec_get(spec, "risk");
	const char *match = sl_spec_get(spec, "match");
	int err;

	if (!spec->target[0] || strlen(spec->target) >= IFNAMSIZ)
		return sl_spec_fail(spec, EINVAL,
				    "expected auto:IFACE (an interface name "
				    "of 1 to %d characters)",
				    IFNAMSIZ - 1);
	sl_strlcpy(a->iface, spec->target, sizeof(a->iface));
	a->risk = SL_RISK_MEDIUM;
	if (risk && sl_risk_parse(risk, &a->risk))
		return sl_spec_fail(spec, EINVAL,
				    "bad risk '%s': expected low, medium or "
				    "high",
				    risk);
	if (match)
		sl_strlcpy(a->match, match, sizeof(a->match));
	a->queues_given = sl_spec_has(spec, "queues");
	err = sl_spec_u32(spec, "queues", 1, 1, SL_PORT_MAX_QUEUES, &a->queues);
	if (err)
		return err;
	a->ifindex = (int)if_nametoindex(a->iface);
	if (!a->ifindex)
		return sl_spec_fail(spec, ENODEV,
				    "no interface %s in this network namespace",
				    a->iface);
	a->netns = sl_netns_id();
	a->nl = sl_rtnl_open();
	if (!a->nl)
		return sl_spec_fail(spec, errno, "cannot open rtnetlink: %s",
				    strerror(errno));
	a->pool = port->pool;
	a->ring_size = port->opts->ring_size;
	a->port_id = port->opts->port_id;
	a->flags = port->opts->flags;
	pthread_mutex_init(&a->ctl, NULL);
	sl_strlcpy(port->info.name, a->iface, sizeof(port->info.name));
	port->n_queues = 0; /* any count the first path gives */

	err = open_from(port, a, SL_PATH_XDP_ZC, NULL, 0);
	if (err) {
		char all[SL_PORT_MAX_REFUSED * 256] = "";
		unsigned i;
		size_t n = 0;

		for (i = 0; i < port->info.n_refused && n < sizeof(all); i++)
			n += (size_t)snprintf(all + n, sizeof(all) - n,
					      "%s%s: %s", i ? "; " : "",
					      port->info.refused[i].path,
					      port->info.refused[i].why);
		mnl_socket_close(a->nl);
		pthread_mutex_destroy(&a->ctl);
		return sl_spec_fail(spec, err == -ENOLINK ? ENOTSUP : -err,
				    "no path within risk=%s: %s",
				    sl_risk_name(a->risk), all);
	}
	a->next_check_ns = coarse_ns() + AUTO_CHECK_NS;
	return 0;
}

static void auto_close(struct sl_port *port)
{
	struct auto_priv *a = port->priv;

	inner_close(a);
	if (a->nl)
		mnl_socket_close(a->nl);
	pthread_mutex_destroy(&a->ctl);
}

static void push_event(struct auto_priv *a, int kind, const char *from,
		       const char *to, const char *why)
{
	struct sl_auto_event *e;

	if (a->ev_n == AUTO_MAX_EVENTS) {
		a->ev_head = (a->ev_head + 1) % AUTO_MAX_EVENTS;
		a->ev_n--;
		a->events_lost++;
	}
	e = &a->ev[(a->ev_head + a->ev_n++) % AUTO_MAX_EVENTS];
	memset(e, 0, sizeof(*e));
	e->time_ns = sl_time_ns();
	e->kind = kind;
	sl_strlcpy(e->from, from, sizeof(e->from));
	sl_strlcpy(e->to, to, sizeof(e->to));
	sl_strlcpy(e->why, why, sizeof(e->why));
}

/* What a health check found. */
enum auto_cause {
	CAUSE_NONE = 0, /* the path is fine, or we cannot tell now */
	CAUSE_PATH, /* the path failed; the interface is still there */
	CAUSE_GONE, /* the interface went (deleted, or moved to another
		     * namespace); one of its name may be there again */
};

/* Why the path in use failed for good (in why), or CAUSE_NONE. A rename
 * is followed, not a failure: the sockets and the program are bound to
 * the device, not to its name, so the port takes the new name (for the
 * paths it may open later) and says so in an event. */
static enum auto_cause diagnose(struct sl_port *port, struct auto_priv *a,
				char *why, size_t len)
{
	struct sl_port *in = a->inner;
	struct sl_rtnl_link l;
	int err;

	why[0] = '\0';
	if (!in)
		return CAUSE_NONE;
	/* the link first: an inner xdp or packet port whose device went
	 * away is in ERROR too ("interface gone"), and that is not a path
	 * failing, so falling back would be wrong */
	err = sl_rtnl_getlink(a->nl, NULL, a->ifindex, &l);
	if (err == -ENODEV) {
		snprintf(why, len, "%s (ifindex %d) went away", a->iface,
			 a->ifindex);
		return CAUSE_GONE;
	}
	if (__atomic_load_n(&in->info.state, __ATOMIC_RELAXED) ==
	    SL_PORT_ERROR) {
		struct sl_port_info ii = { .sz = sizeof(ii) };

		sl_port_info(in, &ii);
		snprintf(why, len, "%s failed: %s", sl_path_name(a->path),
			 ii.error[0] ? ii.error : "fatal error");
		return CAUSE_PATH;
	}
	if (err)
		return CAUSE_NONE; /* cannot tell now: try at the next check */
	if (l.name[0] && strcmp(l.name, a->iface) != 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s (ifindex %d) was renamed %s",
			 a->iface, a->ifindex, l.name);
		sl_info("auto:%s", msg);
		push_event(a, SL_AUTO_EVENT_RENAMED, a->iface, l.name, msg);
		sl_strlcpy(a->iface, l.name, sizeof(a->iface));
		pthread_mutex_lock(&port->lock);
		sl_strlcpy(port->info.name, a->iface, sizeof(port->info.name));
		pthread_mutex_unlock(&port->lock);
	}
	if (!a->xdp_prog_id)
		return CAUSE_NONE;
	if (l.xdp_prog_id != a->xdp_prog_id && l.xdp_drv_id != a->xdp_prog_id &&
	    l.xdp_skb_id != a->xdp_prog_id) {
		snprintf(why, len,
			 "our XDP program (id %u) was removed from %s "
			 "(attached now: %s)",
			 a->xdp_prog_id, a->iface,
			 l.xdp_attached ? "another program" : "none");
		return CAUSE_PATH;
	}
	return CAUSE_NONE;
}

/* Whether the calling thread may open paths for the port: inner ports open
 * in the caller's namespace, and one of another namespace may well have an
 * interface of the same name, which would be silently the wrong one. When
 * it cannot tell, it lets the switch go on. */
static bool in_port_netns(struct auto_priv *a)
{
	uint64_t ns = sl_netns_id();

	if (!ns || !a->netns || ns == a->netns)
		return true;
	if (!a->warned_ns) {
		a->warned_ns = true;
		sl_warn("auto:%s: a check from a thread in another network "
			"namespace than the port's: not switching from there",
			a->iface);
	}
	return false;
}

/* Stop the bursts of the other queues (see the top of the file). */
static void quiesce(struct sl_port *port, struct auto_priv *a, int self)
{
	unsigned q;

	__atomic_store_n(&a->switching, 1, __ATOMIC_SEQ_CST);
	for (q = 0; q < port->n_queues; q++)
		while ((int)q != self &&
		       __atomic_load_n(&a->q[q].busy, __ATOMIC_SEQ_CST))
			sched_yield();
}

/* The interface of our name in the port's namespace now: its ifindex, 0
 * when there is none, or -errno when netlink cannot tell. */
static int iface_now(struct auto_priv *a)
{
	struct sl_rtnl_link l;
	int err = sl_rtnl_getlink(a->nl, a->iface, 0, &l);

	if (err == -ENODEV)
		return 0;
	return err ? err : l.ifindex;
}

/* Reopen on a new incarnation of the interface (ifindex idx), from the
 * fastest path again: what failed was the device, not a path. The
 * refusals start over, since they describe this opening. */
static int reopen_new_iface(struct sl_port *port, struct auto_priv *a, int idx,
			    char *log, size_t loglen)
{
	a->ifindex = idx;
	pthread_mutex_lock(&port->lock);
	port->info.n_refused = 0;
	pthread_mutex_unlock(&port->lock);
	return open_from(port, a, SL_PATH_XDP_ZC, log, loglen);
}

/* No path left: the port is in ERROR and its bursts return 0. */
static void no_path(struct sl_port *port, struct auto_priv *a, const char *from,
		    const char *log)
{
	a->dead = true;
	push_event(a, SL_AUTO_EVENT_NO_PATH, from, "", log);
	pthread_mutex_lock(&port->lock);
	sl_strlcpy(port->info.mode, "none", sizeof(port->info.mode));
	pthread_mutex_unlock(&port->lock);
	sl_port_set_state(port, SL_PORT_ERROR, "auto:%s: no path left: %s%s%s",
			  a->iface, log, a->waiting ? "; waiting for " : "",
			  a->waiting ? a->iface : "");
	sl_warn("auto:%s: no path left: %s", a->iface, log);
}

/*
 * The interface went and the port waits for one of the same name: when
 * one is there (and is not the one that already failed to open), reopen.
 * Called with a->ctl held. Returns 1 reopened, -ENOLINK still waiting,
 * -EXDEV when it is back but the caller is in another namespace.
 */
static int check_waiting(struct sl_port *port, struct auto_priv *a, int self)
{
	char log[768];
	int idx = iface_now(a), err;

	if (idx <= 0 || idx == a->tried_ifindex)
		return -ENOLINK;
	if (!in_port_netns(a))
		return -EXDEV;
	quiesce(port, a, self);
	snprintf(log, sizeof(log), "%s is back (ifindex %d)", a->iface, idx);
	err = reopen_new_iface(port, a, idx, log, sizeof(log));
	if (err) {
		a->tried_ifindex = idx;
		no_path(port, a, "", log);
	} else {
		a->dead = false;
		__atomic_store_n(&a->waiting, false, __ATOMIC_RELAXED);
		a->tried_ifindex = 0;
		push_event(a, SL_AUTO_EVENT_REOPENED, "", sl_path_name(a->path),
			   log);
		sl_port_set_state(port, SL_PORT_UP, "%s", "");
		sl_info("auto:%s: back, on %s", a->iface,
			sl_path_name(a->path));
	}
	__atomic_store_n(&a->switching, 0, __ATOMIC_SEQ_CST);
	return err ? -ENOLINK : 1;
}

/*
 * Check and, if the path failed, switch. `self` is the queue whose burst
 * calls (it is busy, and must not wait for itself), or -1. Called with
 * a->ctl held. Returns 1 switched, 0 fine, -ENOLINK no path left, -EXDEV
 * when the path failed but the caller is in another namespace (a burst
 * or check from the port's own namespace will switch).
 *
 * A failed path gives way to the next one down. An interface that went
 * away closes the path too; if one of the same name is already there (a
 * new ifindex: deleted and made again), the port reopens on it from the
 * fastest path; if not, it is in ERROR and waits for one (check_waiting).
 */
static int check_and_switch(struct sl_port *port, struct auto_priv *a, int self)
{
	char why[512], log[768];
	enum auto_cause cause;
	const char *from;
	int err, idx;

	if (a->waiting)
		return check_waiting(port, a, self);
	if (a->dead)
		return -ENOLINK;
	cause = diagnose(port, a, why, sizeof(why));
	if (cause == CAUSE_NONE)
		return 0;
	if (!in_port_netns(a))
		return -EXDEV;

	quiesce(port, a, self);
	from = sl_path_name(a->path);
	sl_warn("auto:%s: %s; falling back", a->iface, why);
	inner_close(a);
	snprintf(log, sizeof(log), "%s", why);
	if (cause == CAUSE_GONE) {
		idx = iface_now(a);
		if (idx > 0) {
			size_t n = strlen(log);

			snprintf(log + n, sizeof(log) - n,
				 "; %s is back as ifindex %d", a->iface, idx);
			err = reopen_new_iface(port, a, idx, log, sizeof(log));
		} else {
			err = -ENODEV;
		}
		/* if nothing opened: wait for it */
		__atomic_store_n(&a->waiting, true, __ATOMIC_RELAXED);
		a->tried_ifindex = idx > 0 ? idx : 0;
	} else {
		err = open_from(port, a, (enum sl_path)(a->path + 1), log,
				sizeof(log));
	}
	if (err) {
		no_path(port, a, from, log);
	} else {
		__atomic_store_n(&a->waiting, false, __ATOMIC_RELAXED);
		a->tried_ifindex = 0;
		if (cause == CAUSE_PATH)
			a->fallbacks++;
		push_event(a,
			   cause == CAUSE_GONE ? SL_AUTO_EVENT_REOPENED :
						 SL_AUTO_EVENT_FALLBACK,
			   from, sl_path_name(a->path), log);
		sl_info("auto:%s: now on %s", a->iface, sl_path_name(a->path));
	}
	__atomic_store_n(&a->switching, 0, __ATOMIC_SEQ_CST);
	return err ? -ENOLINK : 1;
}

/* Enter a burst: 0 when the queue may use the inner port. */
static inline int burst_enter(struct auto_priv *a, uint16_t queue)
{
	__atomic_store_n(&a->q[queue].busy, 1, __ATOMIC_SEQ_CST);
	if (sl_unlikely(__atomic_load_n(&a->switching, __ATOMIC_SEQ_CST))) {
		__atomic_store_n(&a->q[queue].busy, 0, __ATOMIC_RELEASE);
		return -1;
	}
	return 0;
}

static inline void burst_leave(struct sl_port *port, struct auto_priv *a,
			       uint16_t queue)
{
	struct sl_port *in = a->inner;
	bool due;

	__atomic_store_n(&a->q[queue].busy, 0, __ATOMIC_RELEASE);
	if (queue != 0)
		return;
	/* with no inner port only a waiting port has anything to check */
	if (sl_unlikely(!in) && !__atomic_load_n(&a->waiting, __ATOMIC_RELAXED))
		return;
	/* the driver's fatal state is a plain read; the netlink look at the
	 * link only every AUTO_CHECK_NS */
	due = in && __atomic_load_n(&in->info.state, __ATOMIC_RELAXED) ==
			    SL_PORT_ERROR;
	if (!due) {
		uint64_t now = coarse_ns();

		if (sl_likely(now < a->next_check_ns))
			return;
		a->next_check_ns = now + AUTO_CHECK_NS;
		due = true;
	}
	/* a control call holding the lock (xstats, events) just delays the
	 * check to the next burst */
	if (pthread_mutex_trylock(&a->ctl) != 0) {
		a->next_check_ns = 0;
		return;
	}
	__atomic_store_n(&a->q[queue].busy, 1, __ATOMIC_SEQ_CST);
	check_and_switch(port, a, queue);
	__atomic_store_n(&a->q[queue].busy, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&a->ctl);
}

static uint16_t auto_rx(struct sl_port *port, uint16_t queue,
			struct sl_pkt **pkts, uint16_t n)
{
	struct auto_priv *a = port->priv;
	struct sl_port *in;
	uint16_t got = 0;

	if (burst_enter(a, queue))
		return 0;
	in = __atomic_load_n(&a->inner, __ATOMIC_ACQUIRE);
	if (sl_likely(in))
		got = sl_rx_burst(in, queue, pkts, n);
	burst_leave(port, a, queue);
	return got;
}

static uint16_t auto_tx(struct sl_port *port, uint16_t queue,
			struct sl_pkt **pkts, uint16_t n)
{
	struct auto_priv *a = port->priv;
	struct sl_port *in;
	uint16_t took = 0;

	if (burst_enter(a, queue))
		return 0;
	in = __atomic_load_n(&a->inner, __ATOMIC_ACQUIRE);
	if (sl_likely(in))
		took = sl_tx_burst(in, queue, pkts, n);
	burst_leave(port, a, queue);
	return took;
}

int sl_auto_check(struct sl_port *port)
{
	struct auto_priv *a = auto_of(port);
	int r;

	if (!a)
		return sl_fail(EINVAL, "sl_auto_check: not an auto: port");
	pthread_mutex_lock(&a->ctl);
	r = check_and_switch(port, a, -1);
	pthread_mutex_unlock(&a->ctl);
	if (r == -ENOLINK)
		return sl_fail(ENOLINK, "auto:%s: no path left%s", a->iface,
			       a->waiting ? " (waiting for the interface to "
					    "come back)" :
					    "");
	if (r == -EXDEV)
		return sl_fail(EXDEV,
			       "auto:%s: the path needs switching, but this "
			       "thread is not in the port's network namespace: "
			       "call from one that is",
			       a->iface);
	return r;
}

static const char *const auto_keys[] = { "risk", "match", NULL };

const struct sl_driver sl_driver_auto = {
	.name = "auto",
	/* its bursts are the inner port's sl_tx_burst, which fills */
	.caps = SL_DRV_CAP_TX_CSUM,
	.keys = auto_keys,
	.priv_size = sizeof(struct auto_priv),
	.open = auto_open,
	.close = auto_close,
	.rx_burst = auto_rx,
	.tx_burst = auto_tx,
	.xstats = auto_xstats,
	.path = auto_path,
	.queue_fd = auto_queue_fd,
	.set_match = auto_set_match,
	.rx_ts_on = auto_rx_ts_on,
};
