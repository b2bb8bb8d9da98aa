// SPDX-License-Identifier: MIT
/*
 * The calls libsluice-preload.so puts in front of libc's (dlsym
 * RTLD_NEXT). Each one asks first whether its fd is a socket sluice
 * serves (one table load) and otherwise goes straight to libc, so a
 * program without UDP sockets runs as it would without the preload.
 * Blocking follows the kernel socket's own settings (O_NONBLOCK,
 * SO_RCVTIMEO), read when there is nothing to receive; a wait sleeps in
 * poll on the port's fd and the kernel socket, after SLUICE_RUN_SPIN
 * microseconds of trying.
 */
/* both fcntl and fcntl64 are defined here: no redirection of one to the
 * other */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ps.h"

bool ps_mode_trust = true;

/* Something may have changed the blocking mode of fd's socket
 * (O_NONBLOCK, SO_RCVTIMEO): its receives ask the kernel again. Atomic,
 * no lock: a signal handler may call it. */
void ps_mode_changed(int fd)
{
	struct ps_sock *s = ps_get(fd);

	if (s)
		__atomic_add_fetch(&s->mode_gen, 1, __ATOMIC_RELEASE);
}

/* A message that passes fds to another process: one of our sockets among
 * them may be changed there, unseen, and is read there through its
 * kernel socket (Node.js's cluster primary binds the socket its workers
 * read): it goes to the kernel, as a fork's does. */
static void scm_check(const struct msghdr *m)
{
	struct cmsghdr *c;

	if (!m || !m->msg_controllen)
		return;
	for (c = CMSG_FIRSTHDR((struct msghdr *)m); c;
	     c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		const int *fds = (const int *)(void *)CMSG_DATA(c);
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			struct ps_sock *s = ps_get(fds[i]);

			if (!s)
				continue;
			__atomic_store_n(&ps_mode_trust, false,
					 __ATOMIC_RELAXED);
			pthread_mutex_lock(&s->lock);
			ps_fallback(s, "its fd was sent in SCM_RIGHTS");
			pthread_mutex_unlock(&s->lock);
		}
	}
}

/* the calls put in front of libc's */
#pragma GCC visibility push(default)

int socket(int domain, int type, int protocol)
{
	int fd;

	ps_init();
	fd = ps_real.socket(domain, type, protocol);
	if (fd >= 0 && ps_on && !ps_inside &&
	    (domain == AF_INET || domain == AF_INET6) &&
	    (type & 0xff) == SOCK_DGRAM &&
	    (protocol == 0 || protocol == IPPROTO_UDP)) {
		ps_untrack(fd, false);
		ps_track(fd, domain);
	}
	return fd;
}

int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	int r;

	ps_init();
	r = ps_real.bind(fd, a, len);
	if (r == 0 && ps_get(fd)) {
		int e = errno;

		ps_after_bind(fd);
		errno = e;
	}
	return r;
}

int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	int r;

	ps_init();
	r = ps_real.connect(fd, a, len);
	if (r == 0 && ps_get(fd)) {
		int e = errno;

		ps_after_connect(fd);
		errno = e;
	}
	return r;
}

int close(int fd)
{
	ps_init();
	/* the library closing its own fds (a port closing, also inside
	 * fork's prepare handler with every lock of ours held) */
	if (ps_inside)
		return ps_real.close(fd);
	if ((ps_get(fd) || ps_epoll_used()) && ps_vforked())
		return ps_real.close(fd); /* the child's copy: not our state */
	if (ps_get(fd))
		ps_untrack(fd, true);
	ps_epoll_forget_epfd(fd);
	return ps_real.close(fd);
}

int close_range(unsigned first, unsigned last, int flags)
{
	ps_init();
	return ps_close_range(first, last, flags);
}

/* glibc's closes through the system call, never close_range's symbol */
void closefrom(int lowfd)
{
	static void (*real)(int);

	ps_init();
	if (lowfd >= 0 && ps_close_range((unsigned)lowfd, ~0u, 0) == 0)
		return;
	if (!real)
		real = dlsym(RTLD_NEXT, "closefrom");
	if (real)
		real(lowfd);
}

int dup(int fd)
{
	int r;

	ps_init();
	r = ps_real.dup(fd);
	if (r >= 0)
		ps_dup(fd, r);
	return r;
}

int dup2(int fd, int nfd)
{
	int r;

	ps_init();
	r = ps_real.dup2(fd, nfd);
	if (r >= 0 && fd != nfd && (ps_get(fd) || ps_get(nfd)) &&
	    !ps_vforked()) {
		ps_untrack(nfd, false);
		ps_dup(fd, nfd);
	}
	return r;
}

int dup3(int fd, int nfd, int flags)
{
	int r;

	ps_init();
	r = ps_real.dup3(fd, nfd, flags);
	if (r >= 0 && (ps_get(fd) || ps_get(nfd)) && !ps_vforked()) {
		ps_untrack(nfd, false);
		ps_dup(fd, nfd);
	}
	return r;
}

static int fcntl_common(int fd, int cmd, void *arg)
{
	int r = ps_real.fcntl(fd, cmd, arg);

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		ps_dup(fd, r);
	if (cmd == F_SETFL)
		ps_mode_changed(fd);
	return r;
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	ps_init();
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...);
int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	ps_init();
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

/* FIONREAD (SIOCINQ): a UDP socket says the size of its next datagram;
 * a served one's may be in the stash, which the kernel does not see. */
int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	struct ps_sock *s = ps_get(fd);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = dlsym(RTLD_NEXT, "ioctl");
	if (s && req == FIONBIO) {
		int r = real(fd, req, arg);

		ps_mode_changed(fd);
		return r;
	}
	if (s && req == FIONREAD && arg) {
		int n = -1;

		pthread_mutex_lock(&s->lock);
		if (s->served)
			n = ps_next_len(s);
		pthread_mutex_unlock(&s->lock);
		if (n >= 0) {
			*(int *)arg = n;
			return 0;
		}
	}
	return real(fd, req, arg);
}

/* ---- receive --------------------------------------------------------- */

/* The program closed one of our fds behind our back (close_range,
 * a loop over every fd): the port cannot be trusted, the kernel socket
 * can. */
static void nval(struct ps_sock *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->dead)
		ps_fallback(s, "the program closed the port's fd");
	pthread_mutex_unlock(&s->lock);
}

/* A kernel socket's receive without a timeout restarts after a signal
 * whose handler has SA_RESTART, and fails with EINTR otherwise; which
 * signal came is not known here, so restart only when every handler has
 * it. Asked only after a signal. */
static bool all_restart(void)
{
	struct sigaction sa;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sigaction(sig, NULL, &sa))
			continue;
		if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
			continue;
		if (!(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

/*
 * A blocking receive that spins (SLUICE_RUN_SPIN) reads the kernel socket
 * only every PS_SPIN_KERNEL rounds: its recvmsg, a system call that finds
 * nothing nearly always, was a quarter of a spinning server's time, and
 * a longer round catches a frame later (sockperf ping-pong, both ends
 * spinning on xdp: p50 1.61 us before, 1.46 after, one run each). A
 * datagram that reached the kernel socket waits at most that many rounds
 * (a few us); the sleep after the spin watches the kernel socket as
 * before.
 */
#define PS_SPIN_KERNEL 32

/* The kept blocking mode of s, when it may be trusted: mode_at says no
 * interposed call changed it since it was read (fcntl F_SETFL, ioctl
 * FIONBIO, setsockopt SO_RCVTIMEO, on any of its fds: a dup shares the
 * socket), no other process may share the socket (fork, SCM_RIGHTS), and
 * it is less than a second old: a change nothing of ours sees (a raw
 * system call, a program exec'd with the fd) counts within that. s's
 * lock held. */
static bool mode_kept(struct ps_sock *s, bool *nb, uint64_t *to_ns)
{
	struct timespec ts;

	if (!__atomic_load_n(&ps_mode_trust, __ATOMIC_RELAXED) ||
	    s->mode_at != __atomic_load_n(&s->mode_gen, __ATOMIC_ACQUIRE))
		return false;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec >=
	    s->mode_until)
		return false;
	*nb = s->mode_nb;
	*to_ns = s->mode_to_ns;
	return true;
}

/* The blocking mode asked of the kernel, and kept. */
static void mode_read(struct ps_sock *s, int fd, bool *nb, uint64_t *to_ns)
{
	unsigned g = __atomic_load_n(&s->mode_gen, __ATOMIC_ACQUIRE);
	struct timeval tv = { 0 };
	socklen_t sl = sizeof(tv);
	struct timespec ts;

	*nb = ps_real.fcntl(fd, F_GETFL) & O_NONBLOCK;
	*to_ns = 0;
	if (!getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &sl) &&
	    (tv.tv_sec || tv.tv_usec))
		*to_ns = (uint64_t)tv.tv_sec * 1000000000ull +
			 (uint64_t)tv.tv_usec * 1000ull;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	pthread_mutex_lock(&s->lock);
	/* g from before the calls: a change meanwhile is asked again */
	s->mode_at = g;
	s->mode_nb = *nb;
	s->mode_to_ns = *to_ns;
	s->mode_until = (uint64_t)ts.tv_sec * 1000000000ull +
			(uint64_t)ts.tv_nsec + 1000000000ull;
	pthread_mutex_unlock(&s->lock);
}

/*
 * A blocking receive that finds nothing sleeps in poll on the port's fd,
 * the kernel socket and the kick eventfd. It used to read the kernel
 * socket first (a recvmsg that fails nearly always) and then ask fcntl
 * and getsockopt for the mode, three system calls before each sleep;
 * with the mode kept (mode_kept) a blocking one goes straight to the
 * poll, which sees a datagram on the kernel socket as well, and the
 * round after it reads both.
 */
static ssize_t do_recv(struct ps_sock *s, int fd, struct msghdr *m, int flags)
{
	bool known = false, nb = false, spinning = false, timed = false;
	bool first = true, rdhup = false, pinned = false;
	uint64_t deadline = UINT64_MAX, spin_end = 0, to_ns = 0;
	unsigned spins = 0;
	ssize_t ret;

	if (flags & (MSG_ERRQUEUE | MSG_OOB))
		return ps_real.recvmsg(fd, m, flags);
	for (;;) {
		struct pollfd pf[3];
		ssize_t r;
		int64_t cap;
		int t = -1, pr;

		pthread_mutex_lock(&s->lock);
		if (s->dead) {
			/* closed while this receive slept (pinned), and fd
			 * may be another file's by now: the socket's copy */
			int g = s->gone_fd;

			pthread_mutex_unlock(&s->lock);
			if (g >= 0) {
				ret = ps_real.recvmsg(g, m, flags);
			} else {
				errno = EBADF;
				ret = -1;
			}
			goto out;
		}
		if (!s->served) {
			r = ps_recv_held(s, m, flags);
			pthread_mutex_unlock(&s->lock);
			ret = r != -EAGAIN ? r : ps_real.recvmsg(fd, m, flags);
			goto out;
		}
		if (first && !(flags & MSG_DONTWAIT))
			known = mode_kept(s, &nb, &to_ns);
		if ((spinning && ++spins % PS_SPIN_KERNEL) ||
		    (first && known && !nb && !ps_spin_us))
			r = ps_recv_port(s, m, flags);
		else
			r = ps_recvmsg(s, fd, m, flags);
		first = false;
		pf[0].fd = s->qfd;
		pf[2].fd = s->kfd;
		pthread_mutex_unlock(&s->lock);
		if (r != -EAGAIN) {
			if (r < 0) {
				errno = (int)-r;
				r = -1;
			}
			ret = r;
			goto out;
		}
		/* shut down for reading (shutdown(2), how another thread
		 * wakes this one) and nothing left: the end, as a blocking
		 * kernel receive says it (the kernel socket stays readable,
		 * and a non-blocking read of it says EAGAIN for ever) */
		if (rdhup) {
			ret = 0;
			goto out;
		}
		if (!known && !(flags & MSG_DONTWAIT))
			mode_read(s, fd, &nb, &to_ns);
		known = true;
		if (!timed) {
			timed = true;
			nb |= (flags & MSG_DONTWAIT) != 0;
			if (to_ns)
				deadline = ps_now_ns() + to_ns;
			spin_end = ps_now_ns() + ps_spin_us * 1000ull;
		}
		if (nb) {
			errno = EAGAIN;
			ret = -1;
			goto out;
		}
		/* from here it waits, and another thread may close fd */
		if (!pinned) {
			ps_sock_pin(s);
			pinned = true;
		}
		spinning = ps_now_ns() < spin_end;
		if (spinning)
			continue;
		if (deadline != UINT64_MAX) {
			uint64_t now = ps_now_ns();

			if (now >= deadline) {
				errno = EAGAIN;
				ret = -1;
				goto out;
			}
			t = (int)((deadline - now + 999999) / 1000000);
		}
		pf[0].events = POLLIN;
		pf[1].fd = fd;
		pf[1].events = POLLIN | POLLRDHUP;
		pf[2].events = POLLIN;
		cap = ps_linger_left(); /* see ps_linger_cut */
		if (cap > 0 && (t < 0 || cap < (int64_t)t * 1000000))
			t = (int)((cap + 999999) / 1000000);
		pr = ps_real.poll(pf, 3, t);
		ps_linger_check();
		if (pr < 0 && errno == EINTR &&
		    (deadline != UINT64_MAX || !all_restart())) {
			ret = -1;
			goto out;
		}
		if (pr > 0 && ((pf[0].revents | pf[2].revents) & POLLNVAL))
			nval(s);
		rdhup = pr > 0 && (pf[1].revents & POLLRDHUP);
	}
out:
	if (pinned) {
		int e = errno;

		ps_sock_unpin(s);
		errno = e;
	}
	return ret;
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	struct ps_sock *s = ps_get(fd);

	if (!s)
		return ps_real.recvmsg(fd, m, flags);
	return do_recv(s, fd, m, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
		 struct sockaddr *from, socklen_t *fromlen)
{
	static ssize_t (*real)(int, void *, size_t, int, struct sockaddr *,
			       socklen_t *);
	struct ps_sock *s = ps_get(fd);
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (!s) {
		if (!real)
			real = dlsym(RTLD_NEXT, "recvfrom");
		return real(fd, buf, len, flags, from, fromlen);
	}
	if (from && fromlen) {
		m.msg_name = from;
		m.msg_namelen = *fromlen;
	}
	r = do_recv(s, fd, &m, flags);
	if (r >= 0 && from && fromlen)
		*fromlen = m.msg_namelen;
	return r;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t blen, int flags);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t blen, int flags)
{
	(void)blen;
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t blen, int flags,
		       struct sockaddr *from, socklen_t *fromlen);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t blen, int flags,
		       struct sockaddr *from, socklen_t *fromlen)
{
	(void)blen;
	return recvfrom(fd, buf, len, flags, from, fromlen);
}

ssize_t read(int fd, void *buf, size_t len)
{
	static ssize_t (*real)(int, void *, size_t);
	struct ps_sock *s = ps_get(fd);
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (!s) {
		if (!real)
			real = dlsym(RTLD_NEXT, "read");
		return real(fd, buf, len);
	}
	return do_recv(s, fd, &m, 0);
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t blen);
ssize_t __read_chk(int fd, void *buf, size_t len, size_t blen)
{
	(void)blen;
	return read(fd, buf, len);
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	struct ps_sock *s = ps_get(fd);
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)n };

	if (!s) {
		if (!real)
			real = dlsym(RTLD_NEXT, "readv");
		return real(fd, iov, n);
	}
	return do_recv(s, fd, &m, 0);
}

/*
 * recvmmsg as the kernel's: each receive blocks as the socket does (a
 * blocking socket waits for all n, until SO_RCVTIMEO or an error ends it
 * with what came), MSG_WAITFORONE makes the ones after the first
 * non-blocking, and a timeout is looked at only after each datagram (the
 * kernel's documented bug: it never ends a wait) and written back with
 * what is left of it.
 */
int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags,
	     struct timespec *t)
{
	static int (*real)(int, struct mmsghdr *, unsigned, int,
			   struct timespec *);
	struct ps_sock *s = ps_get(fd);
	uint64_t end = 0;
	int f = flags & ~MSG_WAITFORONE;
	unsigned i;

	if (!s || !v || !n) {
		if (!real)
			real = dlsym(RTLD_NEXT, "recvmmsg");
		return real(fd, v, n, flags, t);
	}
	if (t) {
		if (t->tv_sec < 0 || t->tv_nsec < 0 ||
		    t->tv_nsec >= 1000000000L) {
			errno = EINVAL;
			return -1;
		}
		end = ps_now_ns() + (uint64_t)t->tv_sec * 1000000000ull +
		      (uint64_t)t->tv_nsec;
	}
	for (i = 0; i < n;) {
		ssize_t r = do_recv(s, fd, &v[i].msg_hdr, f);

		if (r < 0) {
			if (i)
				break;
			return -1;
		}
		v[i++].msg_len = (unsigned)r;
		if (flags & MSG_WAITFORONE)
			f |= MSG_DONTWAIT;
		if (t) {
			uint64_t now = ps_now_ns(), left;

			left = now < end ? end - now : 0;
			t->tv_sec = (time_t)(left / 1000000000ull);
			t->tv_nsec = (long)(left % 1000000000ull);
			if (!left)
				break;
		}
	}
	return (int)i;
}

/* ---- send ------------------------------------------------------------ */

static ssize_t do_send(struct ps_sock *s, int fd, const struct msghdr *m,
		       int flags)
{
	ssize_t r;

	pthread_mutex_lock(&s->lock);
	if (!s->served) {
		bool unbound = !s->local.port && !s->gave_up;

		pthread_mutex_unlock(&s->lock);
		r = ps_real.sendmsg(fd, m, flags);
		if (r >= 0 && unbound) {
			int e = errno;

			/* the kernel gave it an ephemeral port */
			ps_after_bind(fd);
			errno = e;
		}
		return r;
	}
	r = ps_sendmsg(s, fd, m, flags);
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct ps_sock *s = ps_get(fd);

	if (!s) {
		scm_check(m);
		return ps_real.sendmsg(fd, m, flags);
	}
	return do_send(s, fd, m, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	static ssize_t (*real)(int, const void *, size_t, int,
			       const struct sockaddr *, socklen_t);
	struct ps_sock *s = ps_get(fd);
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_name = (void *)to,
			    .msg_namelen = to ? tolen : 0,
			    .msg_iov = &iov,
			    .msg_iovlen = 1 };

	if (!s) {
		if (!real)
			real = dlsym(RTLD_NEXT, "sendto");
		return real(fd, buf, len, flags, to, tolen);
	}
	return do_send(s, fd, &m, flags);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	return sendto(fd, buf, len, flags, NULL, 0);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	struct ps_sock *s = ps_get(fd);

	if (!s) {
		if (!real)
			real = dlsym(RTLD_NEXT, "write");
		return real(fd, buf, len);
	}
	return sendto(fd, buf, len, 0, NULL, 0);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	struct ps_sock *s = ps_get(fd);
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)n };

	if (!s) {
		if (!real)
			real = dlsym(RTLD_NEXT, "writev");
		return real(fd, iov, n);
	}
	return do_send(s, fd, &m, 0);
}

int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	static int (*real)(int, struct mmsghdr *, unsigned, int);
	struct ps_sock *s = ps_get(fd);
	unsigned i;

	if (!s || !v || !n) {
		for (i = 0; !s && v && i < n; i++)
			scm_check(&v[i].msg_hdr);
		if (!real)
			real = dlsym(RTLD_NEXT, "sendmmsg");
		return real(fd, v, n, flags); /* and EFAULT for no v */
	}
	pthread_mutex_lock(&s->lock);
	if (s->served) {
		int r = ps_sendmmsg(s, fd, v, n, flags);

		pthread_mutex_unlock(&s->lock);
		if (r < 0) {
			errno = -r;
			return -1;
		}
		return r;
	}
	pthread_mutex_unlock(&s->lock);
	/* a kernel socket (which the first send may bind), one by one */
	for (i = 0; i < n; i++) {
		ssize_t r = do_send(s, fd, &v[i].msg_hdr, flags);

		if (r < 0) {
			if (i)
				break;
			return -1;
		}
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}
