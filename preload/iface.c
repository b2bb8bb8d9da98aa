// SPDX-License-Identifier: MIT
/*
 * One port per interface, shared by the served sockets bound on it: the
 * steering program is the interface's and takes one match= list, so the
 * port matches the union of the sockets' ports and a receive hands each
 * frame to the socket the kernel would have chosen (a connected socket
 * whose peer sent it, else one bound to its destination address, else
 * one bound to 0.0.0.0; within a SO_REUSEPORT group, the one the flow's
 * hash picks). A socket joining with a new port reopens the
 * port with the longer list; datagrams arriving meanwhile reach the
 * kernel sockets, which receives read as well, so none is lost. The
 * port takes every receive queue of the device (at most PS_QUEUES: RSS
 * spreads the flows over them), reads them in turn and sends on queue 0.
 *
 * Locks: a socket's lock, then ps_ctl (which guards the interface list
 * and the membership), then the interface's lock (the port's queue and
 * the stashes of all its sockets). Nothing takes a socket's lock while
 * holding an interface's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include <sluice/mem.h>

#include "ps.h"

#define PS_IFACES 16

struct ps_iface *ps_ifaces[PS_IFACES];

/* The fds open now, as a bitmap over the first 4096. */
static void fd_snapshot(uint64_t *bits)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	memset(bits, 0, 4096 / 8);
	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (fd > 0)
			ps_fd_mark(bits, fd, 4096);
	}
	closedir(d);
}

/* Never readable: stands at a socket's qfd number while its port is
 * reopened, since a copy of the old AF_XDP fd would keep the old socket,
 * and the device queue with it, taken. */
static int ph_fd = -1;

static int placeholder(void)
{
	if (ph_fd < 0)
		ph_fd = eventfd(0, EFD_CLOEXEC);
	return ph_fd;
}

static void close_port(struct ps_iface *f)
{
	unsigned i;

	for (i = 0; i < f->n_socks; i++) {
		struct ps_sock *s = f->socks[i];

		ps_stash_drop(s);
		if (s->qfd >= 0 && placeholder() >= 0)
			(void)ps_real.dup3(placeholder(), s->qfd, O_CLOEXEC);
	}
	if (f->port) {
		__atomic_store_n(&f->closing, true, __ATOMIC_SEQ_CST);
		ps_inside++;
		sl_port_close(f->port);
		ps_inside--;
	}
	f->port = NULL;
	__atomic_store_n(&f->closing, false, __ATOMIC_RELEASE);
	if (f->epfd >= 0)
		ps_real.close(f->epfd);
	f->epfd = -1;
	f->qfd = -1;
	f->nq = 1;
	f->n_port_fds = 0;
	f->n_ports = 0;
}

/* The device's MTU, 0 when it does not say: a datagram whose IP packet
 * is bigger goes through the kernel, which fragments it (or gives its
 * error), as it would have. */
uint32_t ps_dev_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	uint32_t mtu = 0;
	int fd;

	ps_inside++; /* our own socket, not the application's */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (!ioctl(fd, SIOCGIFMTU, &ifr) && ifr.ifr_mtu > 0)
			mtu = (uint32_t)ifr.ifr_mtu;
		ps_real.close(fd);
	}
	ps_inside--;
	return mtu;
}

/* The device's receive queues: what ethtool's channels say (the count
 * the xdp driver checks queues= against), else the rx-* entries of
 * sysfs; 0 when neither says. */
static unsigned dev_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	char dir[64 + IF_NAMESIZE];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;
	int fd;

	ps_inside++; /* our own socket, not the application's */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ps_inside--;
	if (fd >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ifr.ifr_data = (void *)&ch;
		if (!ioctl(fd, SIOCETHTOOL, &ifr))
			n = ch.rx_count + ch.combined_count;
		ps_real.close(fd);
	}
	if (n)
		return n;
	snprintf(dir, sizeof(dir), "/sys/class/net/%s/queues", ifname);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "rx-", 3);
	closedir(d);
	return n;
}

/* The fd the sockets sleep on for f's nq queues: the queue's own with
 * one, else an epoll set of them all (f->epfd). -1 on failure. */
static int sleep_fd(struct ps_iface *f)
{
	unsigned q;
	int fd;

	if (f->nq == 1)
		return sl_port_queue_fd(f->port, 0);
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0)
		return -1;
	for (q = 0; q < f->nq; q++) {
		struct epoll_event ev = { .events = EPOLLIN };

		fd = sl_port_queue_fd(f->port, (uint16_t)q);
		ev.data.u32 = q;
		if (fd < 0 ||
		    ps_real.epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev))
			return -1;
	}
	return f->epfd;
}

/* Whether a socket of f asks for receive times. */
static bool wants_ts(const struct ps_iface *f)
{
	unsigned i;

	for (i = 0; i < f->n_socks; i++)
		if (f->socks[i]->ts || f->socks[i]->tsing)
			return true;
	return false;
}

/*
 * Give f's working port the rules for ports[0..n) in place: nothing is
 * closed, so nothing the port or the stashes hold is lost, and the new
 * socket's datagrams do not go to the kernel meanwhile. 0; -1 when the
 * port cannot (then it reopens); -2 with why (when given) when the rules
 * are refused (then nothing changes). f's lock held.
 */
static int rematch(struct ps_iface *f, const char *path, const uint16_t *ports,
		   unsigned n, char *why, size_t wlen)
{
	char mt[PS_IF_SOCKS * 12];
	size_t len = 0;
	unsigned i;
	int r;

	if (!f->port || strcmp(path, f->want) ||
	    sl_port_path(f->port) != f->path_ptr)
		return -1;
	if (wants_ts(f) && !f->rx_ts)
		f->rx_ts = sl_port_rx_ts_on(f->port) == 0;
	if (!n)
		len = (size_t)snprintf(mt, sizeof(mt), "none");
	for (i = 0; i < n && len < sizeof(mt); i++)
		len += (size_t)snprintf(mt + len, sizeof(mt) - len, "%sudp:%u",
					i ? "+" : "", ports[i]);
	if (len >= sizeof(mt))
		return -1;
	ps_inside++;
	r = sl_port_set_match(f->port, mt);
	ps_inside--;
	if (r == -EINVAL && why) {
		/* rules the port cannot take (more than it holds): a reopen
		 * would fail the same way after dropping what the other
		 * sockets wait for; the port stays as it is */
		const char *e = sl_last_error();
		size_t el = strlen(e);

		snprintf(why, wlen, "the %s port for %u ports on %s: %s%s",
			 f->path, n, f->ifname, el > 100 ? "..." : "",
			 el > 100 ? e + el - 100 : e);
		return -2;
	}
	if (r)
		return -1;
	if (n)
		memcpy(f->ports, ports, n * sizeof(*ports));
	f->n_ports = n;
	/* a socket that joined sleeps on its own copy of the port's fd */
	for (i = 0; i < f->n_socks; i++)
		if (f->socks[i]->qfd < 0)
			f->socks[i]->qfd =
				ps_real.fcntl(f->qfd, F_DUPFD_CLOEXEC, 0);
	return 0;
}

/* (Re)open f's port for ports[0..n); f's lock held. 0 or -1 with why. */
static int open_port(struct ps_iface *f, const char *path,
		     const uint16_t *ports, unsigned n, char *why, size_t wlen)
{
	char spec[PS_IF_SOCKS * 12 + 80];
	uint64_t before[64], after[64];
	struct sl_port_stats st = { .sz = sizeof(st) };
	/* receive times of arrival, for SO_TIMESTAMP* (fill), only where a
	 * socket wants them */
	bool ts = wants_ts(f);
	struct sl_port_opts po = { .sz = sizeof(po),
				   .flags = ts ? SL_PORT_F_RX_TS : 0 };
	struct sl_port *p;
	const char *got;
	size_t len;
	unsigned i, nq = 1;
	int fd;

	/* packet: a TPACKET_V2 frame ring; the default V3 block ring hands
	 * a lone datagram over only when the block retire timer fires
	 * (milliseconds): a round trip of a ping-pong waited for it */
	len = (size_t)snprintf(spec, sizeof(spec), "%s:%s%s,match=", path,
			       f->ifname,
			       strcmp(path, "packet") ? "" : ",tpacket=v2");
	for (i = 0; i < n && len < sizeof(spec); i++)
		len += (size_t)snprintf(spec + len, sizeof(spec) - len,
					"%sudp:%u", i ? "+" : "", ports[i]);
	/* RSS spreads the flows over the device's receive queues, and the
	 * steering program hands a frame to the AF_XDP socket of the queue
	 * it came in on: a port on queue 0 alone left the others' datagrams
	 * to the kernel. One AF_PACKET socket sees every queue: packet:
	 * keeps one (an auto: port that ends up there reads its queues=
	 * fanout sockets in turn, as it would xdp queues) */
	f->dev_nq = strcmp(path, "packet") ? dev_rx_queues(f->ifname) : 0;
	f->mtu = ps_dev_mtu(f->ifname);
	nq = f->dev_nq > PS_QUEUES ? PS_QUEUES : f->dev_nq ? f->dev_nq : 1;
	if (len >= sizeof(spec))
		nq = 1;
	if (nq > 1)
		snprintf(spec + len, sizeof(spec) - len, ",queues=%u", nq);
	close_port(f);
	fd_snapshot(before);
	ps_inside++;
	p = sl_port_open(spec, &po);
	if (!p && nq > 1) {
		/* the queues refused (a pool too small for them all, a
		 * driver that binds fewer): queue 0, as with one */
		spec[len] = '\0';
		nq = 1;
		p = sl_port_open(spec, &po);
	}
	ps_inside--;
	if (!p) {
		/* the library's reason, which starts with the spec and may
		 * quote the match= list: with many ports those alone would
		 * fill the report's why, so its end (the reason) is kept */
		const char *e = sl_last_error();
		size_t sl = strlen(spec), el;

		if (!strncmp(e, spec, sl) && e[sl] == ':' && e[sl + 1] == ' ')
			e += sl + 2;
		el = strlen(e);
		snprintf(why, wlen, "the %s port for %u ports on %s: %s%s",
			 path, n, f->ifname, el > 100 ? "..." : "",
			 el > 100 ? e + el - 100 : e);
		return -1;
	}
	got = sl_port_path(p);
	/* an auto: port's path decides: the kernel path has one queue */
	if (sl_port_stats(p, &st) == 0 && st.n_queues >= 1 && st.n_queues < nq)
		nq = st.n_queues;
	f->port = p;
	f->nq = nq;
	fd = sleep_fd(f);
	f->port = NULL;
	if ((strcmp(got, "xdp") && strcmp(got, "packet")) || fd < 0) {
		if (f->epfd >= 0)
			ps_real.close(f->epfd);
		f->epfd = -1;
		f->nq = 1;
		snprintf(why, wlen, "%s took the %s path%s", spec, got,
			 fd < 0 ? " with no fd to sleep on" :
				  ": the kernel socket is that");
		ps_inside++;
		sl_port_close(p);
		ps_inside--;
		return -1;
	}
	fd_snapshot(after);
	for (i = 0; i < 4096; i++) {
		if (!ps_fd_marked(after, i) || ps_fd_marked(before, i))
			continue;
		/* never to a program we exec: the steering link with it */
		(void)ps_real.fcntl((int)i, F_SETFD, FD_CLOEXEC);
		if (f->n_port_fds < PS_PORT_FDS)
			f->port_fds[f->n_port_fds++] = (int)i;
	}
	f->port = p;
	f->qfd = fd;
	f->rr = 0;
	f->rx_ts = ts;
	snprintf(f->path, sizeof(f->path), "%s", got);
	f->path_ptr = got;
	if (n)
		memcpy(f->ports, ports, n * sizeof(*ports));
	f->n_ports = n;
	/* each socket sleeps on its own copy of the fd, at a number that
	 * stays across reopens (epoll keys on it) */
	for (i = 0; i < f->n_socks; i++) {
		struct ps_sock *s = f->socks[i];

		if (s->qfd >= 0)
			(void)ps_real.dup3(fd, s->qfd, O_CLOEXEC);
		else
			s->qfd = ps_real.fcntl(fd, F_DUPFD_CLOEXEC, 0);
		__atomic_add_fetch(&s->qgen, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

static void set_filter(struct ps_sock *s, bool on)
{
	if (on && !s->drop_filter) {
		/* AF_PACKET gets a copy, the kernel socket would too: make the
		 * kernel socket drop what the port reads */
		struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
		struct sock_fprog prog = { .len = 1, .filter = &drop };

		s->drop_filter = ps_real.setsockopt(s->fd, SOL_SOCKET,
						    SO_ATTACH_FILTER, &prog,
						    sizeof(prog)) == 0;
	} else if (!on && s->drop_filter) {
		int z = 0;

		(void)ps_real.setsockopt(s->fd, SOL_SOCKET, SO_DETACH_FILTER,
					 &z, sizeof(z));
		s->drop_filter = false;
	}
}

/*
 * A port outlives its last socket by PS_LINGER_NS: a program that makes a
 * socket per request (a resolver, nginx's upstream sockets, a script)
 * would otherwise load, attach and detach the steering program every time
 * (about 46 ms on veth, which the request waits for). Meanwhile its rules
 * are none: it takes no frame and names no number (a number held by a
 * socket of ours would go free if the program closed every fd, and the
 * port would take the datagrams of whoever got it next). A lingering port
 * goes at the program's next join or leave after that, at its next wait
 * (ps_linger_check), or with the process.
 */
#define PS_LINGER_NS 2000000000ull

uint64_t ps_linger_due;

/* f's last socket left: keep its port, taking nothing. f's lock held. */
static bool linger(struct ps_iface *f)
{
	uint64_t due;

	if (rematch(f, f->want, NULL, 0, NULL, 0))
		return false;
	f->idle_ns = ps_now_ns();
	due = f->idle_ns + PS_LINGER_NS;
	if (!ps_linger_due || due < ps_linger_due)
		__atomic_store_n(&ps_linger_due, due, __ATOMIC_RELAXED);
	return true;
}

void ps_iface_sweep(void)
{
	uint64_t now = ps_now_ns(), due = 0;
	unsigned i;

	for (i = 0; i < PS_IFACES; i++) {
		struct ps_iface *f = ps_ifaces[i];

		if (!f || f->n_socks)
			continue;
		if (now - f->idle_ns < PS_LINGER_NS) {
			if (!due || f->idle_ns + PS_LINGER_NS < due)
				due = f->idle_ns + PS_LINGER_NS;
			continue;
		}
		ps_ifaces[i] = NULL;
		pthread_mutex_lock(&f->lock);
		close_port(f);
		pthread_mutex_unlock(&f->lock);
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
	__atomic_store_n(&ps_linger_due, due, __ATOMIC_RELAXED);
}

int ps_iface_join(struct ps_sock *s, const char *path, char *why, size_t wlen)
{
	struct ps_iface *f = NULL;
	uint16_t ports[PS_IF_SOCKS];
	unsigned i, n = 0, free_i = PS_IFACES;
	bool have = false;
	int r = 0;

	ps_iface_sweep();
	for (i = 0; i < PS_IFACES; i++) {
		if (ps_ifaces[i] && !strcmp(ps_ifaces[i]->ifname, s->ifname))
			f = ps_ifaces[i];
		else if (!ps_ifaces[i] && free_i == PS_IFACES)
			free_i = i;
	}
	if (!f) {
		if (free_i == PS_IFACES) {
			snprintf(why, wlen, "more than %d interfaces served",
				 PS_IFACES);
			return -1;
		}
		f = calloc(1, sizeof(*f));
		if (!f) {
			snprintf(why, wlen, "out of memory");
			return -1;
		}
		pthread_mutex_init(&f->lock, NULL);
		snprintf(f->ifname, sizeof(f->ifname), "%s", s->ifname);
		snprintf(f->want, sizeof(f->want), "%s", path);
		f->ifindex = (int)if_nametoindex(s->ifname);
		f->qfd = -1;
		f->epfd = -1;
		f->nq = 1;
		if (getrandom(&f->ip_id, sizeof(f->ip_id), GRND_NONBLOCK) !=
		    sizeof(f->ip_id))
			f->ip_id = (uint16_t)(ps_now_ns() >> 10);
		ps_ifaces[free_i] = f;
	}
	if (f->n_socks == PS_IF_SOCKS) {
		snprintf(why, wlen, "%s serves %d sockets already", f->ifname,
			 PS_IF_SOCKS);
		return -1;
	}
	pthread_mutex_lock(&f->lock);
	/* a lingering port has no rule */
	for (i = 0; f->n_socks && i < f->n_ports; i++) {
		ports[n++] = f->ports[i];
		have |= f->ports[i] == s->local.port;
	}
	if (s->kfd < 0)
		s->kfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->socks[f->n_socks++] = s;
	s->ifc = f;
	s->qfd = -1;
	if (!have) {
		ports[n++] = s->local.port;
		r = rematch(f, path, ports, n, why, wlen);
		if (r == -2) {
			r = -1; /* refused: the port keeps its rules */
		} else if (r) {
			r = open_port(f, path, ports, n, why, wlen);
			if (r && n > 1) {
				/* the others keep what they had */
				char w2[8];

				f->n_socks--;
				(void)open_port(f, path, ports, n - 1, w2,
						sizeof(w2));
				f->n_socks++;
			}
		}
	} else {
		s->qfd = ps_real.fcntl(f->qfd, F_DUPFD_CLOEXEC, 0);
	}
	if (r || s->qfd < 0 || s->kfd < 0) {
		f->n_socks--;
		s->ifc = NULL;
		if (s->qfd >= 0)
			ps_real.close(s->qfd);
		s->qfd = -1;
		if (!r)
			snprintf(why, wlen, "dup of the port's fd, eventfd: %s",
				 strerror(errno));
		r = -1;
	} else {
		s->ifindex = f->ifindex;
		snprintf(s->path, sizeof(s->path), "%s", f->path);
		set_filter(s, !strcmp(f->path, "packet"));
	}
	pthread_mutex_unlock(&f->lock);
	if (!f->n_socks) {
		for (i = 0; i < PS_IFACES; i++)
			if (ps_ifaces[i] == f)
				ps_ifaces[i] = NULL;
		close_port(f);
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
	return r;
}

void ps_iface_want_ts(struct ps_sock *s)
{
	struct ps_iface *f = s->ifc;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	/* in place: a reopen here could not take the device's queue back
	 * while another thread sleeps in poll on the old socket (iperf2 sets
	 * SO_TIMESTAMP with its listener waiting); where it fails, receive
	 * times stay the reads' */
	if (f->port && !f->rx_ts) {
		ps_inside++;
		f->rx_ts = sl_port_rx_ts_on(f->port) == 0;
		ps_inside--;
	}
	pthread_mutex_unlock(&f->lock);
}

/* Take port out of f's port's rules when none of its sockets has it; f's
 * lock held. In place where the port can; else a reopen, which drops
 * what the stashes held (counted), as a join's does; a port that cannot
 * reopen sends the others to the kernel at their next receive. */
static void unmatch(struct ps_iface *f, uint16_t port)
{
	struct sl_port_info info = { .sz = sizeof(info) };
	uint16_t ports[PS_IF_SOCKS];
	unsigned i, n = 0;
	char why[8];

	/* a failing port: each socket finds out at its next receive */
	if (sl_port_path(f->port) != f->path_ptr ||
	    (sl_port_info(f->port, &info) == 0 && info.state == SL_PORT_ERROR))
		return;
	for (i = 0; i < f->n_socks; i++)
		if (f->socks[i]->local.port == port)
			return;
	for (i = 0; i < f->n_ports; i++)
		if (f->ports[i] != port)
			ports[n++] = f->ports[i];
	if (n < f->n_ports && rematch(f, f->want, ports, n, NULL, 0))
		(void)open_port(f, f->want, ports, n, why, sizeof(why));
}

void ps_iface_leave(struct ps_sock *s, bool drop_port)
{
	struct ps_iface *f = s->ifc;
	unsigned i;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	ps_stash_drop(s);
	for (i = 0; i < f->n_socks; i++)
		if (f->socks[i] == s)
			f->socks[i] = f->socks[--f->n_socks];
	set_filter(s, false);
	if (s->qfd >= 0)
		ps_real.close(s->qfd);
	s->qfd = -1;
	s->ifc = NULL;
	/* the socket's number leaves the match when no other socket has it:
	 * a closed socket's number goes back to the kernel, which may give
	 * it to another program, whose datagrams the port would otherwise
	 * take and drop (and where nobody has it, the kernel answers ICMP
	 * port unreachable); a socket gone to the kernel for good needs its
	 * datagrams left to the kernel. The reopen drops what the other
	 * sockets' stashes held (counted), as a join's does. */
	if (!f->n_socks && !(drop_port && f->port && linger(f)))
		close_port(f);
	else if (f->n_socks && drop_port && f->port)
		unmatch(f, s->local.port);
	pthread_mutex_unlock(&f->lock);
	if (!f->n_socks && !f->port) {
		for (i = 0; i < PS_IFACES; i++)
			if (ps_ifaces[i] == f)
				ps_ifaces[i] = NULL;
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
	ps_iface_sweep();
}

void ps_iface_fds(uint64_t *mine)
{
	unsigned i, k;

	ps_fd_mark(mine, ph_fd, PS_MAX_FD);
	for (i = 0; i < PS_IFACES; i++) {
		struct ps_iface *f = ps_ifaces[i];

		if (!f)
			continue;
		for (k = 0; k < f->n_port_fds; k++)
			ps_fd_mark(mine, f->port_fds[k], PS_MAX_FD);
		ps_fd_mark(mine, f->qfd, PS_MAX_FD);
		ps_fd_mark(mine, f->epfd, PS_MAX_FD);
	}
}

/* fork: every lock, so that the child gets them free and the stashes
 * whole; then ps_iface_fork_unlock (parent) or ps_iface_fork_child. */
void ps_iface_fork_lock(void)
{
	unsigned i;

	for (i = 0; i < PS_IFACES; i++)
		if (ps_ifaces[i])
			pthread_mutex_lock(&ps_ifaces[i]->lock);
}

void ps_iface_fork_unlock(void)
{
	unsigned i;

	for (i = 0; i < PS_IFACES; i++)
		if (ps_ifaces[i])
			pthread_mutex_unlock(&ps_ifaces[i]->lock);
}

/*
 * fork, before it (every lock held), unless SLUICE_RUN_FORK=keep: the
 * sockets go to the kernel in parent and child, and the child may send
 * and expect its answer at once, before the parent has run again. So the
 * steering goes before the fork: ps_iface_fork_drain takes what the
 * ports' rings hold into the stashes (which the child gets copies of),
 * then ps_iface_fork_close drops the kernel sockets' filters and closes
 * the ports, and every later datagram waits in the kernel socket that
 * parent and child share.
 */
void ps_iface_fork_drain(void)
{
	unsigned i, rounds;

	for (i = 0; i < PS_IFACES; i++) {
		struct ps_iface *f = ps_ifaces[i];

		if (!f || !f->port)
			continue;
		ps_inside++;
		for (rounds = 0; rounds <= PS_STASH / 32 && ps_fill(f, NULL);
		     rounds++)
			;
		ps_inside--;
	}
}

void ps_iface_fork_close(void)
{
	unsigned i, k;

	for (i = 0; i < PS_IFACES; i++) {
		struct ps_iface *f = ps_ifaces[i];

		if (!f || !f->port)
			continue;
		for (k = 0; k < f->n_socks; k++)
			set_filter(f->socks[k], false);
		close_port(f);
	}
}

/* In a fork child: close the copies of the ports' fds (so that the
 * steering links go with the parent) and forget the ports, whose memory
 * is the parent's. */
void ps_iface_fork_child(void)
{
	unsigned i, k;

	for (i = 0; i < PS_IFACES; i++) {
		struct ps_iface *f = ps_ifaces[i];

		if (!f)
			continue;
		for (k = 0; k < f->n_port_fds; k++)
			ps_real.close(f->port_fds[k]);
		ps_ifaces[i] = NULL; /* leaked: the parent's */
	}
}
