// SPDX-License-Identifier: MIT
/*
 * fork and vfork: what a fork child gets of the served sockets (the
 * handlers ps_init registers with pthread_atfork), and how the preload
 * knows a vfork child, which shares the program's memory until its exec
 * and runs no handler.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ps.h"

pid_t ps_pid;

bool ps_vforked(void)
{
	return getpid() != ps_pid;
}

/*
 * Datagrams a served socket had taken from its port but not yet read go
 * to the child of a fork, as if it had read them from the kernel
 * socket they share: a parent that peeks and forks a child to read
 * (socat UDP-RECVFROM,fork) works. Prepare copies them while every
 * served socket is locked; the parent then drops its own, the child keeps
 * the copies.
 */
void ps_atfork_prepare(void)
{
	unsigned fd, i;

	/* a child shares every socket's O_NONBLOCK and SO_RCVTIMEO and may
	 * change them where our calls do not see it */
	__atomic_store_n(&ps_mode_trust, false, __ATOMIC_RELAXED);
	ps_epoll_fork_lock();
	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *s = ps_tab[fd];

		if (s && s->fd == (int)fd)
			pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_lock(&ps_ctl);
	ps_iface_fork_lock();
	if (!ps_fork_keep)
		ps_iface_fork_drain();
	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *s = ps_tab[fd];

		if (!s || s->fd != (int)fd)
			continue;
		for (i = 0; s->served && i < s->n && s->held_n < PS_STASH;
		     i++) {
			struct sl_pkt *p = s->stash[(s->head + i) % PS_STASH];
			struct sl_udp_view v;
			struct ps_dgram *d;

			if (sl_udp_parse(p, &v))
				continue;
			d = mmap(NULL, sizeof(*d) + v.len,
				 PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			if (d == MAP_FAILED)
				break;
			d->len = v.len;
			d->taken = 0;
			ps_rxinfo_set(&d->ri, &v, p);
			memcpy(d->data, v.payload, v.len);
			s->held[(s->held_head + s->held_n++) % PS_STASH] = d;
		}
		/* what was copied is the child's: the parent drops its own */
		if (s->held_n) {
			uint64_t d = s->rx_dropped;

			s->forked += s->n;
			ps_stash_drop(s);
			s->rx_dropped = d;
		}
	}
	if (!ps_fork_keep)
		ps_iface_fork_close();
	/* last: nothing above asks a route or netfilter */
	ps_fw_fork_lock();
	ps_routes_fork_lock();
}

void ps_atfork_parent(void)
{
	unsigned fd;

	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *s = ps_tab[fd];

		if (!s || s->fd != (int)fd || !s->served || !ps_fork_keep)
			continue;
		/* a socket kept on its port holds nothing but the copies made
		 * for the child (socat's children read what the parent
		 * peeked); one going to the kernel shares them with it */
		while (s->held_n) {
			ps_dgram_free(s->held[s->held_head]);
			s->held_head = (s->held_head + 1) % PS_STASH;
			s->held_n--;
		}
	}
	ps_routes_fork_unlock();
	ps_fw_fork_unlock();
	ps_iface_fork_unlock();
	pthread_mutex_unlock(&ps_ctl);
	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *s = ps_tab[fd];

		if (s && s->fd == (int)fd)
			pthread_mutex_unlock(&s->lock);
	}
	ps_epoll_fork_unlock();
	if (ps_fork_keep)
		return;
	/* The child's copy is a kernel socket that receives only what the
	 * port leaves to the kernel: so that parent and child share the
	 * socket as they would without sluice, the parent's goes to the
	 * kernel too (SLUICE_RUN_FORK=keep keeps it on the port). The ports
	 * closed before the fork (ps_iface_fork_close). */
	ps_all_going = true;
	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *s = ps_tab[fd];

		if (!s || s->fd != (int)fd)
			continue;
		pthread_mutex_lock(&s->lock);
		if (s->served)
			ps_fallback(s, "fork: shared with a child process");
		pthread_mutex_unlock(&s->lock);
	}
	ps_all_going = false;
}

/* The child of a fork shares the parent's rings through the inherited
 * memory: it must not touch them. Its sockets fall back to the kernel; it
 * closes its copies of the ports' fds (so that the steering links go
 * with the parent) and leaves the ports' memory alone. An unserved
 * socket keeps what it was handed. */
void ps_atfork_child(void)
{
	unsigned fd;

	pthread_mutex_init(&ps_ctl, NULL);
	ps_pid = getpid();
	ps_epoll_fork_unlock();
	ps_iface_fork_child();
	ps_routes_fork_child();
	ps_fw_fork_child();
	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *s = ps_tab[fd];

		if (!s || s->fd != (int)fd)
			continue;
		pthread_mutex_init(&s->lock, NULL);
		s->forked = 0;
		if (!s->served)
			continue;
		if (s->qfd >= 0)
			ps_real.close(s->qfd);
		s->qfd = -1;
		s->ifc = NULL; /* the parent's */
		s->n = 0;
		s->served = false;
		if (s->drop_filter) {
			int z = 0;

			ps_real.setsockopt(s->fd, SOL_SOCKET, SO_DETACH_FILTER,
					   &z, sizeof(z));
			s->drop_filter = false;
		}
		snprintf(s->why, sizeof(s->why),
			 "fork: the child's copy of a %s socket of %d", s->path,
			 (int)getppid());
		snprintf(s->path, sizeof(s->path), "kernel");
	}
}
