// SPDX-License-Identifier: MIT
/*
 * Routes for served sends (send.c keeps each socket's last few): what the
 * kernel's routing and neighbour tables say of a destination address,
 * kept for the whole process, and the watch that says when to ask again.
 *
 * A query costs 16 system calls (route, neighbour, two MACs; about 30 to
 * 70 us here), and the send waits on it: an NTP server's answer then
 * leaves that much after its transmit time, which its clients read as an
 * offset. So answers are kept per address (whatever the port: DNS and NTP
 * clients ask from a new one each time), shared by the sockets, until one
 * of the kernel's tables changes; ten minutes at most, a second where the
 * watch cannot start. An address whose neighbour is not resolved yet is
 * sent to through the kernel, which resolves it, until its entry appears:
 * no send waits for ARP, and no datagram of ours goes on the wire.
 *
 * The watch: one rtnetlink socket per process, subscribed to the route,
 * address, link and neighbour notifications, read without waiting at most
 * every 100 ms by whichever send comes first. Any message, a lost one
 * (ENOBUFS), a fork child's own socket, or a socket that is no longer
 * ours (a program closing every fd) moves the generation on, and every
 * kept route is asked again.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ps.h"

#define WATCH_EVERY_NS 100000000ull

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ps_fdid nl = { .fd = -1 };
static bool nl_failed; /* no socket: routes are asked every second */
static _Atomic uint64_t gen = 1;
static _Atomic uint64_t next_ns;

/* The socket, kept where the program does not see it; lock held. */
static void watch_open(void)
{
	if (ps_nl_watch(NETLINK_ROUTE,
			RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR |
				RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR |
				RTMGRP_IPV6_ROUTE,
			8, &nl) < 0)
		nl_failed = true;
}

/* Read what came; lock held. True when some table changed, or may have. */
static bool watch_read(void)
{
	/* not ours to close when the number is the program's now */
	if (!ps_fd_ours(&nl)) {
		watch_open();
		return true;
	}
	return ps_nl_changed(&nl);
}

uint64_t ps_rt_gen(uint64_t now)
{
	int e;

	if (nl_failed)
		return 0;
	if (now < atomic_load_explicit(&next_ns, memory_order_relaxed))
		return atomic_load_explicit(&gen, memory_order_acquire);
	e = errno;
	/* one thread reads; the others go on with what is known */
	if (pthread_mutex_trylock(&lock) == 0) {
		atomic_store_explicit(&next_ns, now + WATCH_EVERY_NS,
				      memory_order_relaxed);
		if (watch_read())
			atomic_fetch_add_explicit(&gen, 1,
						  memory_order_acq_rel);
		pthread_mutex_unlock(&lock);
	}
	errno = e;
	return nl_failed ? 0 : atomic_load_explicit(&gen, memory_order_acquire);
}

/* ---- the routes, shared ---------------------------------------------- */

#define RC_SETS 1024
#define RC_WAYS 4

struct rc_entry {
	struct sl_addr dst; /* port 0 */
	struct sl_udp_params hp; /* as the query gave it, ports 0 */
	int ifindex;
	int err; /* the query's: 0, or -errno (the kernel sends) */
	uint64_t gen;
	uint64_t until_ns;
};

static pthread_mutex_t rc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rc_entry *rc; /* RC_SETS * RC_WAYS, made on first use */
static unsigned rc_next;

int ps_route_get(const struct sl_addr *dst, uint16_t sport,
		 struct sl_udp_params *hp, int *ifindex, bool *asked)
{
	uint64_t now = ps_coarse_ns(), g = ps_rt_gen(now);
	struct rc_entry *set, *e, n;
	unsigned i;

	*asked = false;
	pthread_mutex_lock(&rc_lock);
	if (!rc)
		rc = calloc(RC_SETS * RC_WAYS, sizeof(*rc));
	set = rc ? rc + ps_addr_hash(dst) % RC_SETS * RC_WAYS : NULL;
	for (i = 0; set && i < RC_WAYS; i++) {
		e = &set[i];
		if (e->until_ns > now && e->gen == g &&
		    ps_ip_eq(&e->dst, dst)) {
			n = *e;
			pthread_mutex_unlock(&rc_lock);
			goto out;
		}
	}
	pthread_mutex_unlock(&rc_lock);

	/* asked outside the lock: other sockets' sends go on */
	memset(&n, 0, sizeof(n));
	n.dst = *dst;
	n.dst.port = 0;
	n.gen = g;
	n.until_ns = now + (g ? 600000000000ull : 1000000000ull);
	ps_inside++;
	n.err = sl_udp_params_route(&n.hp, dst, 0, 0, &n.ifindex);
	ps_inside--;
	*asked = true;
	pthread_mutex_lock(&rc_lock);
	if (set)
		set[rc_next++ % RC_WAYS] = n;
	pthread_mutex_unlock(&rc_lock);
out:
	if (n.err)
		return n.err;
	*hp = n.hp;
	hp->src.port = sport;
	hp->dst.port = dst->port;
	*ifindex = n.ifindex;
	return 0;
}

/* fork: the child must not find either lock held by a thread it does not
 * have; it closes its copy of the watch (the parent reads its own) before
 * the program runs on and could close that number itself, and asks every
 * route again */
void ps_routes_fork_lock(void)
{
	pthread_mutex_lock(&lock);
	pthread_mutex_lock(&rc_lock);
}

void ps_routes_fork_unlock(void)
{
	pthread_mutex_unlock(&rc_lock);
	pthread_mutex_unlock(&lock);
}

void ps_routes_fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
	pthread_mutex_init(&rc_lock, NULL);
	if (nl.fd >= 0)
		ps_real.close(nl.fd);
	nl.fd = -1;
	atomic_store_explicit(&next_ns, 0, memory_order_relaxed);
}
