// SPDX-License-Identifier: MIT
/*
 * Whether netfilter lets sockets be served here. A port's frames pass none
 * of its hooks, so a rule that would drop, rewrite or track a socket's
 * datagrams would be skipped without a word. Where netfilter has rules (or
 * cannot be read) sockets stay the kernel's, unless SLUICE_RUN_FIREWALL=
 * bypass says to serve them anyway; the report then names what they skip.
 *
 * Rules added while sockets are served (an administrator blocking an
 * address): receives and sends ask netfilter again at most every second
 * (sl_probe_netfilter, about 25 us), and once rules are there every
 * served socket of the process goes to the kernel, named in the report.
 * Frames the port took in the second before that are not delivered: a
 * datagram a new rule may have been meant to stop is lost rather than
 * let through. Rules that go away later do not bring sockets back.
 *
 * A daemon that gives up root (chronyd, unbound) can no longer read
 * netfilter. For it, a socket subscribed to nftables' changes while root
 * (NFNLGRP_NFTABLES: the subscription needs CAP_NET_ADMIN, the messages
 * do not) says whether anything changed: a change it cannot read sends
 * the sockets to the kernel. Legacy iptables sends no such messages: its
 * rules added after a program gave up root are not seen.
 */
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include <sluice/probe.h>

#include "ps.h"

#define FW_EVERY_NS 1000000000ull

bool ps_fw_bypass;
const char *ps_fw_skipped;

static pthread_mutex_t fw_lock = PTHREAD_MUTEX_INITIALIZER;
static int fw_state = -2; /* not asked yet; else sl_probe_netfilter's */
static char fw_where[160], fw_err[160], fw_late[360];
static const char *_Atomic fw_appeared;
static _Atomic uint64_t fw_next_ns;
static struct ps_fdid fw_watch = { .fd = -1 }; /* nftables' changes */

/* fw_lock held */
static int fw_ask(void)
{
	int st;

	ps_inside++;
	st = sl_probe_netfilter(fw_where, sizeof(fw_where));
	if (st < 0)
		snprintf(fw_err, sizeof(fw_err), "%s", sl_last_error());
	ps_inside--;
	atomic_store_explicit(&fw_next_ns, ps_coarse_ns() + FW_EVERY_NS,
			      memory_order_relaxed);
	return st;
}

/* Subscribe to nftables' changes, while we may; fw_lock held. */
static void watch_open(void)
{
	ps_nl_watch(NETLINK_NETFILTER, 1u << (NFNLGRP_NFTABLES - 1), 16,
		    &fw_watch);
}

int ps_fw_check(char *why, size_t wlen)
{
	int r = 0;

	pthread_mutex_lock(&fw_lock);
	if (fw_state == -2) {
		fw_state = fw_ask();
		if (fw_state == 0 && !ps_fw_bypass)
			watch_open();
	}
	if (fw_state == 0)
		goto out;
	if (ps_fw_bypass) {
		ps_fw_skipped = fw_state > 0 ? fw_where : fw_err;
		goto out;
	}
	if (fw_state > 0)
		snprintf(why, wlen,
			 "netfilter has rules a port would skip (%s): "
			 "SLUICE_RUN_FIREWALL=bypass serves anyway",
			 fw_where);
	else
		snprintf(why, wlen,
			 "%s: SLUICE_RUN_FIREWALL=bypass serves anyway",
			 fw_err);
	r = -1;
out:
	pthread_mutex_unlock(&fw_lock);
	return r;
}

const char *ps_fw_late(uint64_t now)
{
	const char *w =
		atomic_load_explicit(&fw_appeared, memory_order_acquire);

	if (w || ps_fw_bypass ||
	    now < atomic_load_explicit(&fw_next_ns, memory_order_relaxed))
		return w;
	/* one thread asks; the others go on until it has */
	if (pthread_mutex_trylock(&fw_lock))
		return NULL;
	/* only sockets served where there were no rules need asking; what
	 * cannot be read counts if nftables changed */
	if (fw_state == 0) {
		bool changed = ps_nl_changed(&fw_watch);
		int st = fw_ask();

		if (st > 0 || (st < 0 && changed)) {
			fw_state = st;
			if (st > 0)
				snprintf(fw_late, sizeof(fw_late),
					 "netfilter rules appeared that a "
					 "port would skip (%s)",
					 fw_where);
			else
				snprintf(fw_late, sizeof(fw_late),
					 "nftables changed, and netfilter "
					 "can no longer be read: %s",
					 fw_err);
			atomic_store_explicit(&fw_appeared, fw_late,
					      memory_order_release);
		}
	}
	pthread_mutex_unlock(&fw_lock);
	return atomic_load_explicit(&fw_appeared, memory_order_acquire);
}

void ps_fw_fork_lock(void)
{
	pthread_mutex_lock(&fw_lock);
}

void ps_fw_fork_unlock(void)
{
	pthread_mutex_unlock(&fw_lock);
}

void ps_fw_fork_child(void)
{
	pthread_mutex_init(&fw_lock, NULL);
	/* the parent reads its own copy; the child subscribes now, while it
	 * has what its parent had (a server's child often gives up root
	 * next: in.tftpd) */
	if (fw_watch.fd >= 0)
		ps_real.close(fw_watch.fd);
	fw_watch.fd = -1;
	if (fw_state == 0 && !ps_fw_bypass)
		watch_open();
}
