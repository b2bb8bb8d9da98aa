// SPDX-License-Identifier: MIT
/*
 * epoll over a mix of kernel sockets and served ones: the application's
 * registration of a served fd is kept for the kernel socket (writability,
 * errors, datagrams the kernel got) and the port's queue fd is added to
 * the same epoll set; both carry a tag in their data, and epoll_wait
 * turns tagged events back into the application's one event for that fd.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ps.h"

/* the calls put in front of libc's */
#pragma GCC visibility push(default)

#define EP_SLOTS 1024
#define EP_TAG 0x51c3e00000000000ull
#define EP_TAG_MASK 0xfffff00000000000ull
/* what a tagged registration watches: the kernel socket, the port's fd,
 * the socket's kick eventfd */
#define EP_KERNEL 0ull
#define EP_Q (1ull << 32)
#define EP_K (2ull << 32)
#define EP_KIND_MASK (3ull << 32)

struct ep_reg {
	bool used;
	int epfd;
	int fd; /* the application's */
	int qfd; /* the port's fd we added, -1 when none */
	int kfd; /* the socket's kick eventfd we added, -1 when none */
	struct ps_sock *s;
	uint32_t events; /* as the application asked */
	uint64_t data; /* the application's */
	uint64_t seen_seq; /* edge-triggered: stash seq reported */
	unsigned qgen; /* the socket's qgen when qfd was added */
};

static struct ep_reg ep_regs[EP_SLOTS];
static pthread_mutex_t ep_lock = PTHREAD_MUTEX_INITIALIZER;
/* 1 + the highest slot ever used: every scan stops there (all 1024 slots,
 * 56 KiB, were read twice per epoll_wait), and close() skips the scan of
 * a program that never registered a served socket. Grows under ep_lock. */
static unsigned ep_top;

/* ---- epoll ----------------------------------------------------------- */

static struct ep_reg *ep_find(int epfd, int fd)
{
	unsigned i;

	for (i = 0; i < ep_top; i++)
		if (ep_regs[i].used && ep_regs[i].epfd == epfd &&
		    ep_regs[i].fd == fd)
			return &ep_regs[i];
	return NULL;
}

static void ep_free(struct ep_reg *r)
{
	if (r->qfd >= 0)
		(void)ps_real.epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->qfd, NULL);
	if (r->kfd >= 0)
		(void)ps_real.epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->kfd, NULL);
	r->used = false;
}

/* Watch fd in epfd with ev for a registration that watches *have (-1:
 * nothing yet): a change of the events when it is the same fd, else an
 * add, kept in *have when it took. ep_lock held. */
static void ep_watch(int epfd, int *have, int fd, struct epoll_event *ev)
{
	if (*have == fd)
		(void)ps_real.epoll_ctl(epfd, EPOLL_CTL_MOD, fd, ev);
	else if (ps_real.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev) == 0)
		*have = fd;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct ps_sock *s;
	struct ep_reg *r;
	struct epoll_event kev, qev;
	unsigned i;
	int ret;

	ps_init();
	s = ps_get(fd);
	pthread_mutex_lock(&ep_lock);
	r = ep_find(epfd, fd);
	/* a UDP socket not served yet is registered too (sipp adds its
	 * socket before the bind): ep_refresh adds the port's fd once it is */
	if (!s || (!r && op != EPOLL_CTL_ADD)) {
		pthread_mutex_unlock(&ep_lock);
		return ps_real.epoll_ctl(epfd, op, fd, ev);
	}
	if (op == EPOLL_CTL_DEL) {
		ret = ps_real.epoll_ctl(epfd, op, fd, ev);
		ep_free(r);
		pthread_mutex_unlock(&ep_lock);
		return ret;
	}
	if (ev && (ev->events & (EPOLLONESHOT | EPOLLEXCLUSIVE))) {
		pthread_mutex_lock(&s->lock);
		ps_fallback(s, "epoll_ctl with EPOLLONESHOT or EPOLLEXCLUSIVE");
		pthread_mutex_unlock(&s->lock);
		if (r) {
			/* back to the application's own registration */
			ret = ps_real.epoll_ctl(epfd, op, fd, ev);
			ep_free(r);
			pthread_mutex_unlock(&ep_lock);
			return ret;
		}
		pthread_mutex_unlock(&ep_lock);
		return ps_real.epoll_ctl(epfd, op, fd, ev);
	}
	if (!r) {
		for (i = 0; i < EP_SLOTS && ep_regs[i].used; i++)
			;
		if (i == EP_SLOTS) {
			pthread_mutex_unlock(&ep_lock);
			pthread_mutex_lock(&s->lock);
			ps_fallback(s, "more than %d epoll registrations",
				    EP_SLOTS);
			pthread_mutex_unlock(&s->lock);
			return ps_real.epoll_ctl(epfd, op, fd, ev);
		}
		r = &ep_regs[i];
		memset(r, 0, sizeof(*r));
		if (i >= ep_top)
			__atomic_store_n(&ep_top, i + 1, __ATOMIC_RELAXED);
		r->epfd = epfd;
		r->fd = fd;
		r->qfd = -1;
		r->kfd = -1;
		r->s = s;
	}
	kev.events = ev->events;
	kev.data.u64 = EP_TAG | (uint64_t)(r - ep_regs);
	ret = ps_real.epoll_ctl(epfd, op, fd, &kev);
	if (ret) {
		if (op == EPOLL_CTL_ADD)
			r->used = false;
		pthread_mutex_unlock(&ep_lock);
		return ret;
	}
	r->used = true;
	r->events = ev->events;
	r->data = ev->data.u64;
	r->qgen = __atomic_load_n(&s->qgen, __ATOMIC_ACQUIRE);
	if (s->served && s->qfd >= 0 && s->kfd >= 0 && (ev->events & EPOLLIN)) {
		uint64_t tag = kev.data.u64;

		qev.events = EPOLLIN | (ev->events & EPOLLET);
		qev.data.u64 = tag | EP_Q;
		ep_watch(epfd, &r->qfd, s->qfd, &qev);
		qev.data.u64 = tag | EP_K;
		ep_watch(epfd, &r->kfd, s->kfd, &qev);
	} else {
		if (r->qfd >= 0)
			(void)ps_real.epoll_ctl(epfd, EPOLL_CTL_DEL, r->qfd,
						NULL);
		if (r->kfd >= 0)
			(void)ps_real.epoll_ctl(epfd, EPOLL_CTL_DEL, r->kfd,
						NULL);
		r->qfd = r->kfd = -1;
	}
	pthread_mutex_unlock(&ep_lock);
	return 0;
}

/* fork: ep_lock comes first (it is taken before sockets' locks), so that
 * the child does not inherit it held by a thread it does not have */
void ps_epoll_fork_lock(void)
{
	pthread_mutex_lock(&ep_lock);
}

void ps_epoll_fork_unlock(void)
{
	pthread_mutex_unlock(&ep_lock);
}

void ps_epoll_forget_sock(struct ps_sock *s)
{
	unsigned i;

	pthread_mutex_lock(&ep_lock);
	for (i = 0; i < ep_top; i++)
		if (ep_regs[i].used && ep_regs[i].s == s)
			ep_free(&ep_regs[i]);
	pthread_mutex_unlock(&ep_lock);
}

bool ps_epoll_used(void)
{
	return __atomic_load_n(&ep_top, __ATOMIC_RELAXED) != 0;
}

void ps_epoll_forget_epfd(int epfd)
{
	ps_epoll_forget_epfds((unsigned)epfd, (unsigned)epfd);
}

void ps_epoll_forget_epfds(unsigned first, unsigned last)
{
	unsigned i;

	if (!__atomic_load_n(&ep_top, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&ep_lock);
	for (i = 0; i < ep_top; i++)
		if (ep_regs[i].used && (unsigned)ep_regs[i].epfd >= first &&
		    (unsigned)ep_regs[i].epfd <= last)
			ep_regs[i].used = false;
	pthread_mutex_unlock(&ep_lock);
}

/* A socket's port was reopened: its qfd is the new port's now (same
 * number, new file), which the epoll set does not watch yet; or a socket
 * registered before it had a port is served since, and the set watches
 * neither its port's fd nor its kick. ep_lock held. */
static void ep_refresh(int epfd)
{
	unsigned i;

	for (i = 0; i < ep_top; i++) {
		struct ep_reg *r = &ep_regs[i];
		struct ps_sock *s = r->s;
		struct epoll_event qev;
		unsigned g;

		if (!r->used || r->epfd != epfd || !(r->events & EPOLLIN))
			continue;
		qev.events = EPOLLIN | (r->events & EPOLLET);
		if (r->qfd < 0) {
			int qfd, kfd;

			pthread_mutex_lock(&s->lock);
			qfd = s->served ? s->qfd : -1;
			kfd = s->kfd;
			g = __atomic_load_n(&s->qgen, __ATOMIC_ACQUIRE);
			pthread_mutex_unlock(&s->lock);
			if (qfd < 0 || kfd < 0)
				continue;
			qev.data.u64 = EP_TAG | EP_Q | i;
			if (ps_real.epoll_ctl(epfd, EPOLL_CTL_ADD, qfd, &qev))
				continue;
			r->qfd = qfd;
			r->qgen = g;
			qev.data.u64 = EP_TAG | EP_K | i;
			if (ps_real.epoll_ctl(epfd, EPOLL_CTL_ADD, kfd, &qev) ==
			    0)
				r->kfd = kfd;
			continue;
		}
		g = __atomic_load_n(&s->qgen, __ATOMIC_ACQUIRE);
		if (g == r->qgen)
			continue;
		r->qgen = g;
		qev.data.u64 = EP_TAG | EP_Q | i;
		if (ps_real.epoll_ctl(epfd, EPOLL_CTL_ADD, r->qfd, &qev) &&
		    errno == EEXIST)
			(void)ps_real.epoll_ctl(epfd, EPOLL_CTL_MOD, r->qfd,
						&qev);
	}
}

/* Served sockets of epfd with datagrams waiting where no fd shows them:
 * into out (at most max). */
static int ep_stashed(int epfd, struct epoll_event *out, int max)
{
	unsigned i;
	int k = 0;

	for (i = 0; i < ep_top && k < max; i++) {
		struct ep_reg *r = &ep_regs[i];
		bool rd;

		if (!r->used || r->epfd != epfd || !ps_special(r->s) ||
		    !(r->events & EPOLLIN))
			continue;
		pthread_mutex_lock(&r->s->lock);
		rd = ps_held_ready(r->s) || r->s->n > 0 || ps_readable(r->s);
		if (rd && (r->events & EPOLLET)) {
			rd = r->s->stash_seq != r->seen_seq;
			r->seen_seq = r->s->stash_seq;
		}
		pthread_mutex_unlock(&r->s->lock);
		if (!rd)
			continue;
		out[k].events = EPOLLIN;
		out[k].data.u64 = EP_TAG | i;
		k++;
	}
	return k;
}

/* Turn tagged events into the application's, one per fd. */
static int ep_translate(struct epoll_event *ev, int n)
{
	int i, j, k = 0;

	for (i = 0; i < n; i++) {
		uint64_t d = ev[i].data.u64;
		struct ep_reg *r;
		uint32_t e = ev[i].events;

		if ((d & EP_TAG_MASK) != EP_TAG ||
		    (d & ~(EP_TAG_MASK | EP_KIND_MASK)) >= EP_SLOTS) {
			ev[k++] = ev[i];
			continue;
		}
		r = &ep_regs[d & ~(EP_TAG_MASK | EP_KIND_MASK)];
		if (!r->used)
			continue;
		if ((d & EP_KIND_MASK) != EP_KERNEL) {
			/* the port's fd wakes every socket of the interface,
			 * the kick is a hint: readable if a datagram waits;
			 * edge-triggered, if one came since the last report
			 * (as ep_stashed asks) */
			bool rd;

			pthread_mutex_lock(&r->s->lock);
			rd = ps_held_ready(r->s) || ps_readable_pull(r->s);
			if (rd && (r->events & EPOLLET)) {
				rd = r->s->stash_seq != r->seen_seq;
				r->seen_seq = r->s->stash_seq;
			}
			pthread_mutex_unlock(&r->s->lock);
			e = rd ? EPOLLIN : 0;
		}
		e &= r->events | EPOLLERR | EPOLLHUP;
		for (j = 0; j < k; j++)
			if (ev[j].data.u64 == r->data &&
			    (ev[j].events & 0x80000000u))
				break;
		if (j < k) {
			ev[j].events |= e;
			continue;
		}
		if (!e)
			continue;
		ev[k].events = e | 0x80000000u; /* ours, for merging */
		ev[k].data.u64 = r->data;
		k++;
	}
	for (j = 0; j < k; j++)
		ev[j].events &= ~0x80000000u;
	return k;
}

int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
		 const struct timespec *t, const sigset_t *mask)
{
	uint64_t deadline;
	int n;

	ps_init();
	deadline = t ? ps_now_ns() + (uint64_t)t->tv_sec * 1000000000ull +
				   (uint64_t)t->tv_nsec :
		       UINT64_MAX;
	for (;;) {
		struct timespec ts, *tsp = NULL;
		int64_t left = ps_left_ns(deadline);
		int k;

		pthread_mutex_lock(&ep_lock);
		ep_refresh(epfd);
		k = ep_stashed(epfd, ev, max);
		pthread_mutex_unlock(&ep_lock);
		if (k)
			left = 0;
		ps_linger_check();
		if (ps_linger_cut(&left) || deadline != UINT64_MAX || k) {
			ps_to_ts(left, &ts);
			tsp = &ts;
		}
		/* epoll_pwait's milliseconds round up: a sleep cut for a
		 * linger must not end just before it is over */
		n = ps_real.epoll_pwait2 ?
			    ps_real.epoll_pwait2(epfd, ev + k, max - k, tsp,
						 mask) :
			    ps_real.epoll_pwait(
				    epfd, ev + k, max - k,
				    tsp ? (int)((left + 999999) / 1000000) : -1,
				    mask);
		if (n < 0 && !k)
			return n;
		if (n < 0)
			n = 0;
		pthread_mutex_lock(&ep_lock);
		n = ep_translate(ev, k + n);
		pthread_mutex_unlock(&ep_lock);
		if (n || ps_left_ns(deadline) == 0)
			return n;
	}
}

int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
		const sigset_t *mask)
{
	struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };

	return epoll_pwait2(epfd, ev, max, timeout < 0 ? NULL : &ts, mask);
}

int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	return epoll_pwait(epfd, ev, max, timeout, NULL);
}
