// SPDX-License-Identifier: MIT
/*
 * poll, ppoll, select and pselect over a mix of kernel sockets and
 * served ones (epoll: epoll.c). A served socket is readable when its
 * stash or its port holds a datagram, or its kernel socket has one: the
 * kernel sees the second, so a wait also watches the port's queue fd (the
 * AF_XDP socket) and, before it sleeps, looks at the stashes, which no fd
 * shows.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "ps.h"

/* the calls put in front of libc's */
#pragma GCC visibility push(default)

#define PS_POLL_SMALL 16 /* ps_poll's fds without a malloc */

/* One sleep of a wait on kernel fds alone; ts NULL: no timeout. */
typedef int wait_piece_fn(void *arg, const struct timespec *ts);

/* A wait on kernel fds alone while a port lingers: in pieces (see
 * ps_linger_cut), until one returns something or the time asked is over */
static int cut_wait(int64_t timeout_ns, wait_piece_fn *piece, void *arg)
{
	uint64_t deadline = timeout_ns < 0 ? UINT64_MAX :
					     ps_now_ns() + (uint64_t)timeout_ns;

	for (;;) {
		struct timespec ts;
		int64_t left;
		bool cut;
		int r;

		ps_linger_check();
		left = ps_left_ns(deadline);
		cut = ps_linger_cut(&left);
		ps_to_ts(left, &ts);
		r = piece(arg, deadline != UINT64_MAX || cut ? &ts : NULL);
		if (r || !cut)
			return r;
	}
}

struct ppoll_args {
	struct pollfd *fds;
	nfds_t n;
	const sigset_t *mask;
};

static int ppoll_piece(void *arg, const struct timespec *ts)
{
	struct ppoll_args *a = arg;

	return ps_real.ppoll(a->fds, a->n, ts, a->mask);
}

static int plain_ppoll(struct pollfd *fds, nfds_t n, int64_t timeout_ns,
		       const sigset_t *mask)
{
	struct ppoll_args a = { fds, n, mask };

	return cut_wait(timeout_ns, ppoll_piece, &a);
}

/* Readable served sockets among fds get POLLIN; returns how many. */
static int stash_ready(struct pollfd *fds, nfds_t n, bool *ready)
{
	nfds_t i;
	int k = 0;

	for (i = 0; i < n; i++) {
		struct ps_sock *s = ps_get(fds[i].fd);

		ready[i] = false;
		if (!ps_special(s) || !(fds[i].events & POLLIN))
			continue;
		pthread_mutex_lock(&s->lock);
		ready[i] = ps_held_ready(s) || ps_readable(s);
		pthread_mutex_unlock(&s->lock);
		k += ready[i];
	}
	return k;
}

/* One of our fds was closed behind our back: its socket goes to the
 * kernel (else every wait would wake at once on POLLNVAL). */
static void nval_fd(struct pollfd *fds, nfds_t n, int fd)
{
	nfds_t i;

	for (i = 0; i < n; i++) {
		struct ps_sock *s = ps_get(fds[i].fd);

		if (!s || (s->qfd != fd && s->kfd != fd))
			continue;
		pthread_mutex_lock(&s->lock);
		ps_fallback(s, "the program closed the port's fd");
		pthread_mutex_unlock(&s->lock);
	}
}

int ps_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ns,
	    const sigset_t *mask)
{
	/* a few fds (the common case) on the stack: no malloc per call */
	struct pollfd small[3 * PS_POLL_SMALL], *all = small;
	bool small_ready[PS_POLL_SMALL], *ready = small_ready;
	nfds_t i, m;
	uint64_t deadline = timeout_ns < 0 ? UINT64_MAX :
					     ps_now_ns() + (uint64_t)timeout_ns;
	uint64_t spin_end = ps_now_ns() + ps_spin_us * 1000ull;
	int r, k;

	if (n > PS_POLL_SMALL) {
		all = malloc(sizeof(*all) * 3 * n + sizeof(*ready) * n);
		if (!all) {
			errno = ENOMEM;
			return -1;
		}
		ready = (bool *)(all + 3 * n);
	}
	for (;;) {
		struct timespec ts, *tsp = NULL;
		int64_t left;

		k = stash_ready(fds, n, ready);
		memcpy(all, fds, sizeof(*all) * n);
		m = n;
		for (i = 0; i < n; i++) {
			struct ps_sock *s = ps_get(fds[i].fd);

			all[i].revents = 0;
			if (s && s->served && s->qfd >= 0 &&
			    (fds[i].events & POLLIN)) {
				all[m].fd = s->qfd;
				all[m].events = POLLIN;
				all[m].revents = 0;
				m++;
				all[m].fd = s->kfd;
				all[m].events = POLLIN;
				all[m].revents = 0;
				m++;
			}
		}
		left = k || ps_now_ns() < spin_end ? 0 : ps_left_ns(deadline);
		if (ps_linger_cut(&left) || deadline != UINT64_MAX ||
		    left == 0) {
			ps_to_ts(left, &ts);
			tsp = &ts;
		}
		r = ps_real.ppoll(all, m, tsp, mask);
		ps_linger_check();
		if (r < 0)
			break;
		/* a queue fd that woke: look at its port */
		if (r > 0 && m > n)
			k = stash_ready(fds, n, ready);
		for (i = n; i < m; i++)
			if (all[i].revents & POLLNVAL)
				nval_fd(fds, n, all[i].fd);
		r = 0;
		for (i = 0; i < n; i++) {
			fds[i].revents = all[i].revents;
			if (ready[i])
				fds[i].revents |= POLLIN;
			r += fds[i].revents != 0;
		}
		if (r || ps_left_ns(deadline) == 0)
			break;
		/* woken by a queue fd with nothing for us (a frame not
		 * wanted), or spinning: again */
	}
	if (all != small)
		free(all);
	return r;
}

static bool any_served(const struct pollfd *fds, nfds_t n)
{
	nfds_t i;

	for (i = 0; i < n; i++) {
		struct ps_sock *s = ps_get(fds[i].fd);

		if (ps_special(s))
			return true;
	}
	return false;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	ps_init();
	if (!any_served(fds, n))
		return !ps_linger_due ?
			       ps_real.poll(fds, n, timeout) :
			       plain_ppoll(fds, n,
					   timeout < 0 ? -1 :
							 timeout * 1000000ll,
					   NULL);
	return ps_poll(fds, n, timeout < 0 ? -1 : timeout * 1000000ll, NULL);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t len);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t len)
{
	(void)len;
	return poll(fds, n, timeout);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
	  const sigset_t *mask)
{
	ps_init();
	if (!any_served(fds, n))
		return !ps_linger_due ?
			       ps_real.ppoll(fds, n, t, mask) :
			       plain_ppoll(fds, n,
					   t ? t->tv_sec * 1000000000ll +
							   t->tv_nsec :
					       -1,
					   mask);
	return ps_poll(fds, n, t ? t->tv_sec * 1000000000ll + t->tv_nsec : -1,
		       mask);
}

/* select over poll, when a served fd is in the sets. */
static int sel(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t t_ns,
	       const sigset_t *mask, bool *used)
{
	struct pollfd pf[FD_SETSIZE];
	nfds_t n = 0, i;
	int fd, r;

	*used = false;
	for (fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		short ev = 0;

		if (rd && FD_ISSET(fd, rd))
			ev |= POLLIN;
		if (wr && FD_ISSET(fd, wr))
			ev |= POLLOUT;
		if (ex && FD_ISSET(fd, ex))
			ev |= POLLPRI;
		if (!ev)
			continue;
		pf[n].fd = fd;
		pf[n].events = ev;
		pf[n].revents = 0;
		n++;
	}
	if (!any_served(pf, n))
		return 0;
	*used = true;
	r = ps_poll(pf, n, t_ns, mask);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if (pf[i].revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	r = 0;
	for (i = 0; i < n; i++) {
		short re = pf[i].revents;

		if (rd && (pf[i].events & POLLIN) &&
		    (re & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(pf[i].fd, rd);
			r++;
		}
		if (wr && (pf[i].events & POLLOUT) &&
		    (re & (POLLOUT | POLLERR))) {
			FD_SET(pf[i].fd, wr);
			r++;
		}
		if (ex && (pf[i].events & POLLPRI) && (re & POLLPRI)) {
			FD_SET(pf[i].fd, ex);
			r++;
		}
	}
	return r;
}

/*
 * Linux's select leaves in *tv the time it did not sleep (0 after a
 * timeout), and programs loop on that; pselect does not. Where the
 * kernel's select cannot do the whole wait (a served socket in the sets,
 * a lingering port to close meanwhile), *tv is set so afterwards.
 */
int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	static int (*real_select)(int, fd_set *, fd_set *, fd_set *,
				  struct timeval *);
	uint64_t deadline = UINT64_MAX;
	bool used;
	int r, e;

	ps_init();
	if (!real_select)
		real_select = dlsym(RTLD_NEXT, "select");
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0))
		return real_select(nfds, rd, wr, ex, tv); /* its EINVAL */
	if (tv)
		deadline = ps_now_ns() + (uint64_t)tv->tv_sec * 1000000000ull +
			   (uint64_t)tv->tv_usec * 1000ull;
	r = sel(nfds, rd, wr, ex,
		tv ? tv->tv_sec * 1000000000ll + tv->tv_usec * 1000ll : -1,
		NULL, &used);
	if (!used) {
		struct timespec ts, *tsp = NULL;

		if (!ps_linger_due)
			return real_select(nfds, rd, wr, ex, tv);
		if (tv) {
			ts.tv_sec = tv->tv_sec;
			ts.tv_nsec = tv->tv_usec * 1000;
			tsp = &ts;
		}
		r = pselect(nfds, rd, wr, ex, tsp, NULL);
	}
	if (tv) {
		int64_t left = ps_left_ns(deadline);

		e = errno;
		tv->tv_sec = left / 1000000000;
		tv->tv_usec = left % 1000000000 / 1000;
		errno = e;
	}
	return r;
}

typedef int pselect_fn(int, fd_set *, fd_set *, fd_set *,
		       const struct timespec *, const sigset_t *);

struct pselect_args {
	pselect_fn *real;
	int nfds;
	fd_set *set[3], orig[3]; /* rd, wr, ex: a timeout clears them */
	const sigset_t *mask;
};

static int pselect_piece(void *arg, const struct timespec *ts)
{
	struct pselect_args *a = arg;
	unsigned i;

	for (i = 0; i < 3; i++)
		if (a->set[i])
			*a->set[i] = a->orig[i];
	return a->real(a->nfds, a->set[0], a->set[1], a->set[2], ts, a->mask);
}

static int plain_pselect(pselect_fn *real, int nfds, fd_set *rd, fd_set *wr,
			 fd_set *ex, const struct timespec *t,
			 const sigset_t *mask)
{
	struct pselect_args a = {
		real, nfds, { rd, wr, ex }, { { { 0 } } }, mask
	};
	unsigned i;

	for (i = 0; i < 3; i++)
		if (a.set[i])
			a.orig[i] = *a.set[i];
	return cut_wait(t ? t->tv_sec * 1000000000ll + t->tv_nsec : -1,
			pselect_piece, &a);
}

int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
	    const struct timespec *t, const sigset_t *mask)
{
	static pselect_fn *real_pselect;
	bool used;
	int r;

	ps_init();
	if (!real_pselect)
		real_pselect = dlsym(RTLD_NEXT, "pselect");
	r = sel(nfds, rd, wr, ex,
		t ? t->tv_sec * 1000000000ll + t->tv_nsec : -1, mask, &used);
	if (!used)
		return !ps_linger_due ?
			       real_pselect(nfds, rd, wr, ex, t, mask) :
			       plain_pselect(real_pselect, nfds, rd, wr, ex, t,
					     mask);
	return r;
}
