// SPDX-License-Identifier: MIT
/*
 * libsluice-preload.so: syscall(2), for programs that make their socket
 * calls through it rather than through libc's wrappers. libuv does
 * (uv__sendmmsg and uv__recvmmsg are syscall(__NR_sendmmsg, ...) and
 * syscall(__NR_recvmmsg, ...)), so dig and Node.js do. Such a call never
 * reached the preload: a send went out through the kernel socket,
 * uncounted, and a receive read the kernel socket while the port held the
 * datagram, and waited for ever.
 *
 * The calls the preload interposes as libc functions go to those same
 * functions here, with the same arguments (where the system call takes
 * one more, a signal set's size, the libc function knows it); everything
 * else, and every call from inside the library, goes to libc's syscall
 * untouched. Both return -1 and set errno on failure, as syscall does.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ps.h"

typedef long (*syscall_fn)(long, ...);

/* When a wait of *t (a timespec's address; 0: none) from now ends. */
static uint64_t deadline(long t)
{
	const struct timespec *ts = (const struct timespec *)t;

	if (!ts || ts->tv_sec < 0 || ts->tv_nsec < 0 ||
	    ts->tv_nsec >= 1000000000)
		return 0;
	return ps_now_ns() + (uint64_t)ts->tv_sec * 1000000000ull +
	       (uint64_t)ts->tv_nsec;
}

/*
 * The system calls ppoll and pselect6 write the time they did not sleep
 * back into their timespec (libc's wrappers hide it behind a copy, and
 * the preload's functions are those): a wait made through syscall(2)
 * gets it as the kernel's would, after success or a signal.
 */
static long left_back(int r, struct timespec *t, uint64_t end)
{
	uint64_t now;
	int e = errno;

	if (!t || !end || (r < 0 && e != EINTR))
		return r;
	now = ps_now_ns();
	now = now >= end ? 0 : end - now;
	t->tv_sec = (time_t)(now / 1000000000);
	t->tv_nsec = (long)(now % 1000000000);
	errno = e;
	return r;
}

#pragma GCC visibility push(default)

long syscall(long n, ...)
{
	static syscall_fn real;
	syscall_fn fn;
	long a[6];
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	fn = __atomic_load_n(&real, __ATOMIC_RELAXED);
	if (!fn) {
		/* threads may race here: each finds the same function */
		fn = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&real, fn, __ATOMIC_RELAXED);
	}
	if (ps_inside)
		return fn(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	switch (n) {
	case SYS_socket:
		return socket((int)a[0], (int)a[1], (int)a[2]);
	case SYS_bind:
		return bind((int)a[0], (const struct sockaddr *)a[1],
			    (socklen_t)a[2]);
	case SYS_connect:
		return connect((int)a[0], (const struct sockaddr *)a[1],
			       (socklen_t)a[2]);
	case SYS_close:
		return close((int)a[0]);
#ifdef SYS_close_range
	case SYS_close_range:
		return close_range((unsigned)a[0], (unsigned)a[1], (int)a[2]);
#endif
	case SYS_dup:
		return dup((int)a[0]);
#ifdef SYS_dup2
	case SYS_dup2:
		return dup2((int)a[0], (int)a[1]);
#endif
	case SYS_dup3:
		return dup3((int)a[0], (int)a[1], (int)a[2]);
	case SYS_fcntl:
		return fcntl((int)a[0], (int)a[1], a[2]);
	case SYS_ioctl:
		return ioctl((int)a[0], (unsigned long)a[1], a[2]);
	case SYS_setsockopt:
		return setsockopt((int)a[0], (int)a[1], (int)a[2],
				  (const void *)a[3], (socklen_t)a[4]);
	case SYS_read:
		return read((int)a[0], (void *)a[1], (size_t)a[2]);
	case SYS_write:
		return write((int)a[0], (const void *)a[1], (size_t)a[2]);
	case SYS_readv:
		return readv((int)a[0], (const struct iovec *)a[1], (int)a[2]);
	case SYS_writev:
		return writev((int)a[0], (const struct iovec *)a[1], (int)a[2]);
	case SYS_recvfrom:
		return recvfrom((int)a[0], (void *)a[1], (size_t)a[2],
				(int)a[3], (struct sockaddr *)a[4],
				(socklen_t *)a[5]);
	case SYS_sendto:
		return sendto((int)a[0], (const void *)a[1], (size_t)a[2],
			      (int)a[3], (const struct sockaddr *)a[4],
			      (socklen_t)a[5]);
	case SYS_recvmsg:
		return recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]);
	case SYS_sendmsg:
		return sendmsg((int)a[0], (const struct msghdr *)a[1],
			       (int)a[2]);
	case SYS_recvmmsg:
		return recvmmsg((int)a[0], (struct mmsghdr *)a[1],
				(unsigned)a[2], (int)a[3],
				(struct timespec *)a[4]);
	case SYS_sendmmsg:
		return sendmmsg((int)a[0], (struct mmsghdr *)a[1],
				(unsigned)a[2], (int)a[3]);
#ifdef SYS_poll
	case SYS_poll:
		return poll((struct pollfd *)a[0], (nfds_t)a[1], (int)a[2]);
#endif
	case SYS_ppoll: {
		uint64_t end = deadline(a[2]); /* before the wait */

		return left_back(ppoll((struct pollfd *)a[0], (nfds_t)a[1],
				       (const struct timespec *)a[2],
				       (const sigset_t *)a[3]),
				 (struct timespec *)a[2], end);
	}
#ifdef SYS_pselect6
	case SYS_pselect6: {
		/* the system call's sixth argument: the mask and its size */
		const struct {
			const sigset_t *ss;
			size_t len;
		} *sm = (const void *)a[5];
		uint64_t end = deadline(a[4]);

		return left_back(pselect((int)a[0], (fd_set *)a[1],
					 (fd_set *)a[2], (fd_set *)a[3],
					 (const struct timespec *)a[4],
					 sm ? sm->ss : NULL),
				 (struct timespec *)a[4], end);
	}
#endif
#ifdef SYS_select
	case SYS_select:
		return select((int)a[0], (fd_set *)a[1], (fd_set *)a[2],
			      (fd_set *)a[3], (struct timeval *)a[4]);
#endif
	case SYS_epoll_ctl:
		return epoll_ctl((int)a[0], (int)a[1], (int)a[2],
				 (struct epoll_event *)a[3]);
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
		return epoll_wait((int)a[0], (struct epoll_event *)a[1],
				  (int)a[2], (int)a[3]);
#endif
	case SYS_epoll_pwait:
		return epoll_pwait((int)a[0], (struct epoll_event *)a[1],
				   (int)a[2], (int)a[3],
				   (const sigset_t *)a[4]);
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
		return epoll_pwait2((int)a[0], (struct epoll_event *)a[1],
				    (int)a[2], (const struct timespec *)a[3],
				    (const sigset_t *)a[4]);
#endif
	}
	return fn(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#pragma GCC visibility pop
