// SPDX-License-Identifier: MIT
/*
 * The engine of libsluice-preload.so: which socket a port serves, opening
 * and closing ports, falling back to the kernel, fork, and the report.
 *
 * A UDP socket (IPv4 or IPv6) is served once it has a local port: after
 * bind, or after connect or a first send gave it an ephemeral one. Its
 * interface is the one holding the bound address; for 0.0.0.0 or :: the
 * only non-loopback interface that is up (or SLUICE_RUN_IFACE). The port is
 * "PATH:IFACE,match=udp:PORT" with PATH from SLUICE_RUN_PATH (auto, xdp,
 * packet): auto: decides by the same probe and policy as everywhere else.
 * The sockets of one interface share its port (iface.c).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sluice/mem.h>
#include <sluice/probe.h>

#include "ps.h"

struct ps_real ps_real;
struct ps_sock *ps_tab[PS_MAX_FD];
bool ps_on;
__thread int ps_inside;
unsigned ps_spin_us;

pthread_mutex_t ps_ctl = PTHREAD_MUTEX_INITIALIZER;
static char ps_path[16] = "auto";
const char *ps_report;
bool ps_fork_keep; /* SLUICE_RUN_FORK=keep */
__thread bool ps_all_going; /* this thread sends every socket away */

uint64_t ps_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * A program that closes every fd (a daemon starting, a sandbox, a child
 * before exec: closefrom, close_range) closes its own. Its sockets in the
 * range leave the table as close() has them leave (their ports' rules
 * with them), and the preload's own fds (ports, copies and kicks, the
 * report, the watches) stay open, out of the range: before, the program
 * closed them, and the preload, closing a port later, closed numbers the
 * program had been given again since (tools-run: a pipe of the
 * program's). Ours are close-on-exec: an exec still leaves none behind.
 */
static int real_close_range(unsigned first, unsigned last, int flags)
{
	static int (*real)(unsigned, unsigned, int);
	int r;

	if (!real)
		real = dlsym(RTLD_NEXT, "close_range");
	if (real)
		return real(first, last, flags);
	ps_inside++; /* libc without it: the system call, not ours */
	r = (int)syscall(SYS_close_range, first, last, flags);
	ps_inside--;
	return r;
}

int ps_close_range(unsigned first, unsigned last, int flags)
{
	static uint64_t mine[PS_MAX_FD / 64];
	int kept[8], r = 0, e = 0;
	unsigned fd, cur = first, i, n;

	if (ps_inside || (flags & CLOSE_RANGE_CLOEXEC) || ps_vforked())
		return real_close_range(first, last, flags);
	for (fd = first; fd <= last && fd < PS_MAX_FD; fd++)
		if (__atomic_load_n(&ps_tab[fd], __ATOMIC_RELAXED))
			ps_untrack((int)fd, true);
	ps_epoll_forget_epfds(first, last);
	pthread_mutex_lock(&ps_ctl);
	memset(mine, 0, sizeof(mine));
	ps_iface_fds(mine);
	n = ps_fd_kept(kept, sizeof(kept) / sizeof(kept[0]));
	for (i = 0; i < n; i++)
		ps_fd_mark(mine, kept[i], PS_MAX_FD);
	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *s = ps_tab[fd];

		if (s) {
			ps_fd_mark(mine, s->qfd, PS_MAX_FD);
			ps_fd_mark(mine, s->kfd, PS_MAX_FD);
		}
	}
	ps_inside++;
	for (fd = first; fd <= last && fd < PS_MAX_FD; fd++) {
		if (!ps_fd_marked(mine, fd))
			continue;
		if (fd > cur && real_close_range(cur, fd - 1, flags) && !e)
			e = errno;
		cur = fd + 1;
	}
	if (cur <= last && real_close_range(cur, last, flags) && !e)
		e = errno;
	ps_inside--;
	pthread_mutex_unlock(&ps_ctl);
	if (e) {
		errno = e;
		r = -1;
	}
	return r;
}

void ps_linger_check(void)
{
	/* not inside the preload's own calls, and never waiting for ctl:
	 * a signal handler's poll may have interrupted its holder */
	if (ps_inside || ps_linger_left() != 0 ||
	    pthread_mutex_trylock(&ps_ctl))
		return;
	ps_inside++;
	ps_iface_sweep();
	ps_inside--;
	pthread_mutex_unlock(&ps_ctl);
}

#define REAL(name) ps_real.name = dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) void ps_init(void)
{
	const char *p;

	if (ps_real.socket)
		return;
	REAL(socket);
	REAL(bind);
	REAL(connect);
	REAL(close);
	REAL(dup);
	REAL(dup2);
	REAL(dup3);
	REAL(setsockopt);
	REAL(recvmsg);
	REAL(sendmsg);
	REAL(poll);
	REAL(ppoll);
	REAL(epoll_ctl);
	REAL(epoll_pwait);
	REAL(epoll_pwait2);
	REAL(fork);
	REAL(fcntl);
	p = getenv("SLUICE_RUN_PATH");
	if (p && *p)
		snprintf(ps_path, sizeof(ps_path), "%s", p);
	ps_on = strcmp(ps_path, "kernel") != 0;
	ps_report = getenv("SLUICE_RUN_REPORT");
	if (ps_report && !*ps_report)
		ps_report = NULL;
	p = getenv("SLUICE_RUN_FORK");
	ps_fork_keep = p && !strcmp(p, "keep");
	p = getenv("SLUICE_RUN_FIREWALL");
	ps_fw_bypass = p && !strcmp(p, "bypass");
	p = getenv("SLUICE_RUN_SPIN");
	if (p)
		ps_spin_us = (unsigned)strtoul(p, NULL, 10);
	REAL(sigaction);
	ps_pid = getpid();
	pthread_atfork(ps_atfork_prepare, ps_atfork_parent, ps_atfork_child);
	ps_report_open();
	ps_signals_init();
}

void ps_track(int fd, int family)
{
	struct ps_sock *s;

	if (fd < 0 || fd >= PS_MAX_FD)
		return;
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	pthread_mutex_init(&s->lock, NULL);
	s->refs = 1;
	s->pins = 1;
	s->gone_fd = -1;
	s->fd = fd;
	s->qfd = -1;
	s->kfd = -1;
	s->mode_gen = 1; /* mode_at 0: not known yet */
	s->local.family = family;
	snprintf(s->path, sizeof(s->path), "kernel");
	__atomic_store_n(&ps_tab[fd], s, __ATOMIC_RELEASE);
}

static void unserve(struct ps_sock *s);

void ps_sock_pin(struct ps_sock *s)
{
	__atomic_add_fetch(&s->pins, 1, __ATOMIC_ACQ_REL);
}

void ps_sock_unpin(struct ps_sock *s)
{
	if (__atomic_sub_fetch(&s->pins, 1, __ATOMIC_ACQ_REL))
		return;
	if (s->gone_fd >= 0)
		ps_real.close(s->gone_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Drop a table reference; fd: the number it was at, still open (-1:
 * gone already), whose socket the receives asleep in it go on reading
 * once the last reference is dropped. */
static void put(struct ps_sock *s, int fd)
{
	bool last;

	pthread_mutex_lock(&ps_ctl);
	last = --s->refs == 0;
	pthread_mutex_unlock(&ps_ctl);
	if (!last)
		return;
	ps_epoll_forget_sock(s);
	pthread_mutex_lock(&s->lock);
	ps_report_sock(s);
	unserve(s);
	while (s->held_n) {
		ps_dgram_free(s->held[s->held_head]);
		s->held_head = (s->held_head + 1) % PS_STASH;
		s->held_n--;
	}
	if (fd >= 0 && __atomic_load_n(&s->pins, __ATOMIC_ACQUIRE) > 1)
		s->gone_fd = ps_real.fcntl(fd, F_DUPFD_CLOEXEC, 0);
	s->dead = true;
	pthread_mutex_unlock(&s->lock);
	if (s->kfd >= 0)
		ps_real.close(s->kfd);
	s->kfd = -1;
	ps_sock_unpin(s);
}

void ps_untrack(int fd, bool open)
{
	struct ps_sock *s;

	if (fd < 0 || fd >= PS_MAX_FD)
		return;
	s = __atomic_exchange_n(&ps_tab[fd], NULL, __ATOMIC_ACQ_REL);
	if (s)
		put(s, open ? fd : -1);
}

void ps_dup(int oldfd, int newfd)
{
	struct ps_sock *s = ps_get(oldfd);

	if (!s || newfd == oldfd)
		return;
	if (newfd < 0 || newfd >= PS_MAX_FD) {
		pthread_mutex_lock(&s->lock);
		ps_fallback(s, "dup'ed to fd %d, beyond the preload's table",
			    newfd);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	pthread_mutex_lock(&ps_ctl);
	s->refs++;
	pthread_mutex_unlock(&ps_ctl);
	ps_untrack(newfd, false);
	__atomic_store_n(&ps_tab[newfd], s, __ATOMIC_RELEASE);
}

int ps_from_sockaddr(const void *sa, socklen_t len, struct sl_addr *out)
{
	const struct sockaddr_in *sin = sa;
	const struct sockaddr_in6 *sin6 = sa;

	memset(out, 0, sizeof(*out));
	if (len >= sizeof(*sin) && sin->sin_family == AF_INET) {
		out->family = AF_INET;
		out->v4 = sin->sin_addr;
		out->port = ntohs(sin->sin_port);
		return 0;
	}
	if (len >= sizeof(*sin6) && sin6->sin6_family == AF_INET6) {
		out->family = AF_INET6;
		out->v6 = sin6->sin6_addr;
		out->port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}

/* The interface that holds addr (0.0.0.0 or ::: the only one up that is
 * not loopback and has an address of that family, or SLUICE_RUN_IFACE).
 * 0, or -1 with why. */
static int find_iface(const struct sl_addr *addr, const char *dev, char *ifname,
		      char *why, size_t wlen)
{
	struct ifaddrs *ifa, *i;
	const char *env = dev && *dev ? dev : getenv("SLUICE_RUN_IFACE");
	bool any = ps_addr_any(addr);
	unsigned n = 0;

	if (getifaddrs(&ifa)) {
		snprintf(why, wlen, "getifaddrs: %s", strerror(errno));
		return -1;
	}
	ifname[0] = 0;
	for (i = ifa; i; i = i->ifa_next) {
		struct sl_addr a;

		if (!i->ifa_addr ||
		    ps_from_sockaddr(i->ifa_addr,
				     addr->family == AF_INET6 ?
					     sizeof(struct sockaddr_in6) :
					     sizeof(struct sockaddr_in),
				     &a) ||
		    a.family != addr->family)
			continue;
		if (!any) {
			/* bound to a device: the address must be its */
			if (ps_ip_eq(&a, addr) &&
			    (!dev || !*dev || !strcmp(dev, i->ifa_name))) {
				snprintf(ifname, IF_NAMESIZE, "%s",
					 i->ifa_name);
				n = 1;
				break;
			}
			continue;
		}
		if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		if (env && *env) {
			if (strcmp(env, i->ifa_name))
				continue;
		} else if (n && strcmp(ifname, i->ifa_name)) {
			n++;
			continue;
		}
		if (!n)
			n = 1;
		snprintf(ifname, IF_NAMESIZE, "%s", i->ifa_name);
	}
	freeifaddrs(ifa);
	if (n == 1 && ifname[0])
		return 0;
	if (!any)
		snprintf(why, wlen, "no interface%s%s holds the bound address",
			 dev && *dev ? " but " : "", dev && *dev ? dev : "");
	else if (dev && *dev)
		snprintf(why, wlen, "bound to device %s: not up with IPv%c",
			 dev, addr->family == AF_INET6 ? '6' : '4');
	else if (env && *env)
		snprintf(why, wlen, "SLUICE_RUN_IFACE=%s: not up with IPv%c",
			 env, addr->family == AF_INET6 ? '6' : '4');
	else if (!n)
		snprintf(why, wlen,
			 "bound to any address, no interface up "
			 "but loopback");
	else
		snprintf(why, wlen,
			 "bound to any address with %u interfaces "
			 "up: set SLUICE_RUN_IFACE to serve one",
			 n);
	return -1;
}

/* Every path's port needs CAP_NET_RAW (xdp CAP_NET_ADMIN and CAP_BPF too):
 * a program that gave it up before this bind (named does at its start,
 * even as root) is told so, not the netfilter probe's EPERM. 0, or -1. */
static int caps(char *why, size_t wlen)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d) || d[0].effective & (1u << CAP_NET_RAW))
		return 0;
	snprintf(why, wlen,
		 "the program has given up CAP_NET_RAW, which a port needs "
		 "(with CAP_NET_ADMIN and CAP_BPF on xdp)");
	return -1;
}

/* Serve s by its interface's port; ctl held. */
static void serve(struct ps_sock *s)
{
	/* an IPv4-mapped address is on the interface of its IPv4 one */
	struct sl_addr local = ps_unmapped(&s->local);
	char why[256];

	if (find_iface(&local, s->bind_dev, s->ifname, why, sizeof(why)) ||
	    ps_fw_check(why, sizeof(why)) ||
	    ps_iface_join(s, ps_path, why, sizeof(why))) {
		snprintf(s->why, sizeof(s->why), "%s", why);
		return;
	}
	s->why[0] = 0;
	s->served = true;
}

/* Leave the port; s's lock held. */
static void unserve(struct ps_sock *s)
{
	if (!s->served)
		return;
	pthread_mutex_lock(&ps_ctl);
	/* closed, or to the kernel for good: the port leaves the socket's
	 * number to the kernel, unless every socket is going (fork: the
	 * port closes) */
	ps_iface_leave(s, !ps_all_going);
	pthread_mutex_unlock(&ps_ctl);
	s->served = false;
	snprintf(s->path, sizeof(s->path), "kernel");
}

void ps_fallback(struct ps_sock *s, const char *fmt, ...)
{
	va_list ap;

	if (s->gave_up)
		return; /* the first reason stands */
	s->gave_up = true;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	unserve(s);
}

/* Where s is bound (as the kernel says: la), and whether it is one of a
 * SO_REUSEPORT group, which the kernel decides at bind; s's lock held. */
static void set_local(struct ps_sock *s, const struct sl_addr *la)
{
	int v = 0;
	socklen_t vl = sizeof(v);

	if (la->port &&
	    getsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &v, &vl) != 0)
		v = 0;
	pthread_mutex_lock(&ps_ctl);
	s->local = *la;
	s->any = ps_addr_any(la);
	s->reuseport = la->port && v;
	pthread_mutex_unlock(&ps_ctl);
}

/* The inodes of /proc/net/FILE's sockets on port (host order), up to
 * max; how many (-1 when it cannot be read). */
static int port_inodes(const char *file, uint16_t port, unsigned long *ino,
		       int max)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/net/%s", file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		unsigned lport;
		unsigned long inode;

		/* sl local:port remote st queues tr retr uid timeout inode */
		if (sscanf(line,
			   " %*d: %*[0-9A-Fa-f]:%x %*s %*s %*s %*s %*s %*s "
			   "%*s %lu",
			   &lport, &inode) == 2 &&
		    lport == port)
			ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/*
 * Whether a socket that is none of this process's is on s's port: with
 * SO_REUSEPORT or SO_REUSEADDR another program's socket may share it
 * (the kernel spreads a group's datagrams over its sockets, and gives a
 * broadcast to each), and a port would take all of them. Asked at serve
 * time; one that joins later is not seen (docs/run.md).
 */
static bool port_shared(const struct ps_sock *s)
{
	unsigned long ino[64];
	struct stat me;
	int v = 0, n4, n6, i;
	socklen_t vl = sizeof(v);
	unsigned fd;

	if (!s->reuseport &&
	    (getsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &v, &vl) || !v))
		return false;
	n4 = port_inodes("udp", s->local.port, ino, 64);
	n6 = port_inodes("udp6", s->local.port, ino + (n4 > 0 ? n4 : 0),
			 64 - (n4 > 0 ? n4 : 0));
	if (n4 < 0 && n6 < 0)
		return false; /* no /proc: as before */
	n4 = (n4 > 0 ? n4 : 0) + (n6 > 0 ? n6 : 0);
	if (fstat(s->fd, &me))
		me.st_ino = 0;
	for (i = 0; i < n4; i++) {
		/* s itself, usually the only one: no walk of the table */
		bool ours = ino[i] == (unsigned long)me.st_ino;

		for (fd = 0; fd < PS_MAX_FD && !ours; fd++) {
			const struct ps_sock *t = ps_tab[fd];
			struct stat st;

			ours = t && t->local.port == s->local.port &&
			       fstat((int)fd, &st) == 0 &&
			       (unsigned long)st.st_ino == ino[i];
		}
		if (!ours)
			return true;
	}
	return false;
}

/* Whether s's SO_REUSEPORT group (sockets on its address and port with
 * SO_REUSEPORT) has a BPF program: the fd it was attached on, or -1.
 * ctl held: a socket is freed only after its last put takes ctl. */
static int group_bpf(const struct ps_sock *s)
{
	unsigned fd;

	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *t = ps_get((int)fd);

		if (t && t != s && t->rp_bpf && t->reuseport &&
		    t->local.port == s->local.port &&
		    ps_ip_eq(&t->local, &s->local))
			return (int)fd;
	}
	return -1;
}

/*
 * s's SO_REUSEPORT group steers by a BPF program (SO_ATTACH_REUSEPORT_*),
 * which a port cannot run: every socket of the group goes to the kernel,
 * and those that join it later (refresh asks group_bpf). s has fallen
 * back already; its lock is not held.
 */
void ps_rp_bpf(struct ps_sock *s)
{
	struct ps_sock *m[64];
	unsigned fd, n = 0, i;

	pthread_mutex_lock(&s->lock);
	pthread_mutex_lock(&ps_ctl);
	s->rp_bpf = true;
	for (fd = 0; fd < PS_MAX_FD && n < 64 && s->reuseport; fd++) {
		struct ps_sock *t = ps_get((int)fd);

		if (t && t != s && t->fd == (int)fd && t->reuseport &&
		    t->local.port == s->local.port &&
		    ps_ip_eq(&t->local, &s->local)) {
			t->rp_bpf = true; /* the mark stays with the group */
			t->refs++; /* kept until its fallback below */
			m[n++] = t;
		}
	}
	pthread_mutex_unlock(&ps_ctl);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&m[i]->lock);
		ps_fallback(m[i],
			    "its SO_REUSEPORT group steers by a BPF program "
			    "(attached on fd %d)",
			    s->fd);
		pthread_mutex_unlock(&m[i]->lock);
		put(m[i], -1);
	}
}

static bool on_loopback(const struct sl_addr *a)
{
	struct sl_addr u = ps_unmapped(a);

	return u.family == AF_INET ? (ntohl(u.v4.s_addr) >> 24) == 127 :
				     IN6_IS_ADDR_LOOPBACK(&u.v6);
}

/* A kernel socket of the program, other than s, that has port (not on
 * loopback, whose datagrams never cross a port): its fd, or -1. The
 * steering program matches a port number whatever the family and
 * address, so a port that serves that number takes the kernel socket's
 * datagrams too (unbound's [::]:53, sent to the kernel by an option
 * before its bind, beside a served 0.0.0.0:53). ctl held. */
static int kernel_port(const struct ps_sock *s, uint16_t port)
{
	unsigned fd;

	for (fd = 0; port && fd < PS_MAX_FD; fd++) {
		struct ps_sock *t = ps_get((int)fd);

		if (t && t != s && t->fd == (int)fd && t->local.port == port &&
		    !__atomic_load_n(&t->served, __ATOMIC_RELAXED) &&
		    !on_loopback(&t->local) && !ps_same_group(s, t))
			return (int)fd;
	}
	return -1;
}

/*
 * Kernel socket s has a port now (bound, or sent to the kernel since): the
 * served sockets with that port go to the kernel (the last one out takes
 * the port number out of the match), so that the kernel, which holds
 * every one of these sockets, hands each datagram to the socket it
 * chooses. Those of s's SO_REUSEPORT group stay: a datagram for s reaches
 * one of them, as when s closes. s's lock is not held.
 */
void ps_kernel_takes_port(struct ps_sock *s)
{
	struct ps_sock *m[64];
	unsigned fd, n = 0, i;

	pthread_mutex_lock(&ps_ctl);
	for (fd = 0; fd < PS_MAX_FD && n < 64 && s->local.port &&
		     !on_loopback(&s->local);
	     fd++) {
		struct ps_sock *t = ps_get((int)fd);

		if (t && t != s && t->fd == (int)fd &&
		    t->local.port == s->local.port &&
		    __atomic_load_n(&t->served, __ATOMIC_RELAXED) &&
		    !ps_same_group(s, t)) {
			t->refs++; /* kept until its fallback below */
			m[n++] = t;
		}
	}
	pthread_mutex_unlock(&ps_ctl);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&m[i]->lock);
		ps_fallback(m[i],
			    "port %u is a kernel socket's too (fd %d): the "
			    "kernel hands out its datagrams",
			    s->local.port, s->fd);
		pthread_mutex_unlock(&m[i]->lock);
		put(m[i], -1);
	}
}

/* Read where the kernel socket is bound (and to whom connected) and serve
 * it if it has a port and is not served yet (a socket sent to the kernel
 * for good only has its address read). True when it stays a kernel
 * socket with a port, which the served sockets must then leave to it
 * (ps_kernel_takes_port, once s's lock is released). */
static bool refresh(struct ps_sock *s, bool connected_call)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct sl_addr la;
	int bpf_fd, kfd = -1;

	if (!s->local.family || !ps_on)
		return false;
	if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) ||
	    ps_from_sockaddr(&ss, sl, &la))
		return false;
	if (s->gave_up) {
		/* where its group is: others bound there go to the kernel;
		 * and its port is the kernel's */
		set_local(s, &la);
		return la.port != 0;
	}
	if (s->served &&
	    (la.port != s->local.port ||
	     (!ps_ip_eq(&la, &s->local) && !ps_addr_any(&la) && !s->any))) {
		/* the kernel moved the socket (disconnect): serve anew */
		unserve(s);
		s->decided = false;
	}
	if (!s->served && s->decided && la.port == s->local.port &&
	    ps_ip_eq(&la, &s->local))
		return false;
	set_local(s, &la);
	if (la.family == AF_INET6) {
		int v = 0;
		socklen_t vl = sizeof(v);

		if (getsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl) == 0)
			s->v6only = v;
	}
	if (connected_call) {
		sl = sizeof(ss);
		s->connected =
			getpeername(s->fd, (struct sockaddr *)&ss, &sl) == 0 &&
			ps_from_sockaddr(&ss, sl, &s->peer) == 0;
		/* the kernel's connect starts the socket's IPv4 ids anew */
		if (s->connected &&
		    getrandom(&s->ip_id, sizeof(s->ip_id), GRND_NONBLOCK) !=
			    sizeof(s->ip_id))
			s->ip_id = (uint16_t)ps_now_ns();
		memset(s->routes, 0, sizeof(s->routes));
	}
	if (s->served || !s->local.port || s->gave_up)
		return false;
	s->decided = true;
	/* a dual-stack socket on an IPv4-mapped address (bound there, or
	 * given it by a connect to an IPv4 peer, as Java's sockets are) is
	 * served as its IPv4 address: the checks are on that */
	la = ps_unmapped(&la);
	if (on_loopback(&la)) {
		snprintf(s->why, sizeof(s->why), "bound on loopback");
		return false;
	}
	if (la.family == AF_INET ? IN_MULTICAST(ntohl(la.v4.s_addr)) :
				   IN6_IS_ADDR_MULTICAST(&la.v6)) {
		snprintf(s->why, sizeof(s->why), "bound to a multicast group");
		return true;
	}
	if (la.family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&la.v6)) {
		snprintf(s->why, sizeof(s->why),
			 "bound to a link-local address");
		return true;
	}
	if (port_shared(s)) {
		snprintf(s->why, sizeof(s->why),
			 "port %u is another program's socket's too "
			 "(SO_REUSEPORT or SO_REUSEADDR): a port would take "
			 "its datagrams",
			 s->local.port);
		return true;
	}
	pthread_mutex_lock(&ps_ctl);
	bpf_fd = s->reuseport ? group_bpf(s) : -1;
	if (bpf_fd >= 0) {
		s->rp_bpf = true; /* the mark stays with the group */
	} else if (caps(s->why, sizeof(s->why))) {
		/* no port: the kernel sockets on its number are no matter */
	} else if ((kfd = kernel_port(s, s->local.port)) < 0) {
		ps_inside++;
		serve(s);
		ps_inside--;
	}
	pthread_mutex_unlock(&ps_ctl);
	if (bpf_fd >= 0)
		ps_fallback(s,
			    "its SO_REUSEPORT group steers by a BPF program "
			    "(attached on fd %d)",
			    bpf_fd);
	else if (kfd >= 0)
		ps_fallback(s,
			    "port %u is a kernel socket's too (fd %d): the "
			    "kernel hands out its datagrams",
			    s->local.port, kfd);
	return !s->served; /* a kernel socket with a port */
}

void ps_after_bind(int fd)
{
	struct ps_sock *s = ps_get(fd);
	bool bpf, take;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	take = refresh(s, false);
	bpf = s->rp_bpf && s->gave_up;
	pthread_mutex_unlock(&s->lock);
	if (bpf) /* a program attached before bind: the group joined */
		ps_rp_bpf(s);
	if (take)
		ps_kernel_takes_port(s);
}

void ps_after_connect(int fd)
{
	struct ps_sock *s = ps_get(fd);
	bool take;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	take = refresh(s, true);
	pthread_mutex_unlock(&s->lock);
	if (take)
		ps_kernel_takes_port(s);
}
