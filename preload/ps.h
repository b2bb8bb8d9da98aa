/* SPDX-License-Identifier: MIT */
/*
 * libsluice-preload.so, internal: the state of the application's sockets
 * that sluice serves, shared by the interposed calls (calls.c, io.c,
 * wait.c, epoll.c), the engine (sock.c), fork and vfork (fork.c) and the
 * interfaces' ports (iface.c).
 *
 * Design: the application's fd stays the kernel UDP socket it made, bound
 * and connected as the application asked (so the port stays reserved,
 * getsockname, fcntl, dup and close work, and ICMP and datagrams that
 * reach the kernel still have a socket). When the socket is bound on an
 * interface where a bypass path opens, the sluice port of that interface
 * (match= the ports of its sockets) takes its datagrams; receives read
 * that port first
 * and then the kernel socket, sends go out through the port, or through
 * the kernel socket whenever the port cannot send a datagram the way the
 * kernel would (another interface, too big, ring full). Anything sluice
 * does not implement sends the socket back to the kernel for good: it
 * leaves the port (the last one out closes it and its XDP program goes),
 * and the kernel socket, which was there all along, carries on.
 */
#ifndef SLUICE_PRELOAD_PS_H
#define SLUICE_PRELOAD_PS_H

#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <sluice/net.h>
#include <sluice/pkt.h>
#include <sluice/port.h>
#include <sluice/udp.h>

#define PS_MAX_FD 65536
#define PS_STASH 256 /* frames received ahead of the application */
#define PS_IF_SOCKS 32 /* served sockets on one interface */
#define PS_ROUTES 32 /* destinations whose headers are kept */
#define PS_ROUTE_WAYS 4 /* in sets of this many, by address */
/* UDP_SEGMENT: the most datagrams one send is cut into (the kernel's
 * UDP_MAX_SEGMENTS; more is its EINVAL, so such a send is its) */
#define PS_GSO_SEGS 64
#define PS_PORT_FDS 64 /* a port's fds: a socket per queue, maps, links */
/* receive queues a port reads: a device with more leaves the others'
 * datagrams to the kernel sockets (said in the report) */
#define PS_QUEUES 16

/* The libc calls under ours (dlsym RTLD_NEXT), resolved once. */
struct ps_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *,
		     const sigset_t *);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_pwait)(int, struct epoll_event *, int, int,
			   const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int,
			    const struct timespec *, const sigset_t *);
	pid_t (*fork)(void);
	int (*fcntl)(int, int, ...);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
};
extern struct ps_real ps_real;

/* A cached route: the headers for one destination. */
struct ps_route {
	struct sl_addr dst;
	struct sl_udp_params hp;
	/* IPv6: the flow label the kernel's auto_flowlabels would give the
	 * flow, as the header's first word has it (0: none) */
	uint32_t label;
	bool kernel; /* reached through another interface: send by the kernel */
	uint64_t until_ns; /* looked up again after this */
	uint64_t gen; /* ps_rt_gen() when looked up */
};

/* What a receive reports of a datagram besides its bytes: the address
 * and control messages (IP_PKTINFO, SO_TIMESTAMP*, IP_RECVTTL, ...). */
struct ps_rxinfo {
	struct sl_addr src, dst;
	uint64_t ts; /* receive time, ns */
	uint8_t tos, ttl; /* as the IP header had them */
};

/* A datagram a fork child was handed: the parent had taken it from the
 * port (MSG_PEEK, poll) and the child reads it from its socket. Unless
 * SLUICE_RUN_FORK=keep the parent keeps it too, in memory both map
 * (MAP_SHARED): whichever reads it first takes it (taken), as from the
 * kernel socket's queue they share. */
struct ps_dgram {
	uint32_t len;
	uint32_t taken; /* atomic: 1 once a process has read it */
	struct ps_rxinfo ri;
	uint8_t data[];
};
void ps_dgram_free(struct ps_dgram *d);

/* The port of one interface, shared by the sockets served there
 * (iface.c). */
struct ps_iface {
	pthread_mutex_t lock; /* the queue, and every stash of its sockets */
	char ifname[IF_NAMESIZE];
	int ifindex;
	struct sl_port *port;
	bool closing; /* port being closed: a signal's report keeps off it */
	/* the fd the sockets sleep on: the queue's own with one queue; with
	 * several, an epoll set of every queue's fd (readable when one is),
	 * so that every wait (calls.c, wait.c) watches all of them through
	 * the one fd it already had */
	int qfd;
	int epfd; /* that epoll set, -1 with one queue */
	unsigned nq; /* queues the port reads, 1..PS_QUEUES */
	unsigned dev_nq; /* the device's receive queues (0: it did not say) */
	uint32_t mtu; /* the device's, read at open and every port check */
	/* the port stamps arrival times (SL_PORT_F_RX_TS): opened so while
	 * a socket of it wants SO_TIMESTAMP*, which costs every frame a
	 * little on xdp (the steering program stamps it) */
	bool rx_ts;
	unsigned rr; /* the queue the next fill reads first */
	char path[24];
	char want[16]; /* the path asked for (SLUICE_RUN_PATH): reopens */
	const char *path_ptr; /* sl_port_path's string: a change is a switch */
	int port_fds[PS_PORT_FDS]; /* the port's fds: closed in a fork child */
	unsigned n_port_fds;
	struct ps_sock *socks[PS_IF_SOCKS];
	unsigned n_socks;
	uint16_t ports[PS_IF_SOCKS]; /* its match= now */
	unsigned n_ports;
	/* no socket left since (ps_now_ns): the port lingers, taking
	 * nothing (match=none, iface.c) */
	uint64_t idle_ns;
	uint64_t next_check;
	uint64_t rx_unmatched; /* frames for no socket of ours */
	/* the IPv4 identification of the next datagram sent without DF
	 * (IP_MTU_DISCOVER): one counter for all the interface's sockets,
	 * as the kernel's per-destination ones, from a random start */
	uint16_t ip_id;
};

struct ps_sock {
	pthread_mutex_t lock; /* the socket's state */
	int refs; /* fds of the table pointing here */
	/* the memory's: 1 while some fd points here, and 1 for each thread
	 * inside a blocking receive of it (ps_sock_pin); the last unpin
	 * frees it. A thread asleep in a receive while another closes the
	 * fd (and the number is given out again) then wakes to a socket
	 * that is still there, and dead. */
	int pins;
	bool dead; /* its last fd closed; lock */
	/* dead while a receive slept: a copy of its kernel socket, which
	 * the sleepers go on reading, as a kernel receive goes on after the
	 * close (the socket stays bound until it returns); -1 when none */
	int gone_fd;
	int fd; /* the first fd (for the report) */
	bool served; /* a port serves it; false: kernel */
	bool gave_up; /* fell back for good: never served again */
	bool decided; /* served or not for local as it is */
	char path[24]; /* "xdp", "packet", "kernel" */
	char why[256]; /* why kernel (or "" when never tried) */
	struct ps_iface *ifc; /* the interface serving it, NULL: kernel */
	int qfd; /* our copy of the port's queue fd, to sleep on */
	unsigned qgen; /* bumped when qfd is a new port's: epoll adds it */
	/* readable while another socket's receive has put frames in our
	 * stash (an eventfd): a wait on qfd alone would miss them */
	int kfd;
	bool kicked;
	int ifindex;
	char ifname[IF_NAMESIZE];
	struct sl_addr local; /* as the kernel socket is bound */
	bool connected;
	struct sl_addr peer;
	uint16_t ip_id; /* connected: its IPv4 identification (send.c) */
	bool any; /* bound to 0.0.0.0 or ::: takes any destination address */
	/* SO_REUSEPORT when bound: one of a group that shares the address
	 * and port (iface.c spreads the flows over it); rp_bpf: the group
	 * steers by a BPF program, so it is the kernel's. local, reuseport
	 * and rp_bpf are written with ps_ctl held too: other sockets' binds
	 * read them */
	bool reuseport, rp_bpf;
	bool v6only; /* IPv6: IPV6_V6ONLY (else :: takes IPv4 too) */
	bool drop_filter; /* a drop-all filter is on the kernel socket */
	/* receive options the application asked for; SO_TIMESTAMP* as the
	 * kernel keeps them (sock_set_timestamp): one switch for all four,
	 * the last one set choosing ns or us and the layout (ts_set) */
	bool pktinfo, pktinfo6, ts, ts_ns, ts_new, recvtos, recvttl;
	bool recvtclass, recvhops; /* IPV6_RECVTCLASS, IPV6_RECVHOPLIMIT */
	/* SO_TIMESTAMPING's flags, software receive times only (calls.c);
	 * the layout is ts_new's, which the kernel shares with SO_TIMESTAMP* */
	uint32_t tsing;
	/* IP_TOS and IP_TTL, IPV6_TCLASS and IPV6_UNICAST_HOPS, for what the
	 * port sends (ttl, hops 0: the default); the routes below carry
	 * them, and a change empties the routes */
	uint8_t tos, ttl, tclass, hops;
	/* IP_MTU_DISCOVER's DONT, INTERFACE or OMIT: IPv4 datagrams go
	 * without DF, as the kernel's (a router on the way may fragment) */
	bool no_df;
	uint16_t gso; /* UDP_SEGMENT: sends cut into datagrams of this size */
	uint32_t mtu6; /* IPV6_MTU, 0: the device's */
	/* SO_BINDTODEVICE / SO_BINDTOIFINDEX: the socket's device, "" for
	 * none; the port serves it there only */
	char bind_dev[IF_NAMESIZE];
	/* frames taken from the port, not yet read; the interface's lock;
	 * what fill learned of each (struct ps_meta) is in its headroom */
	struct sl_pkt *stash[PS_STASH];
	unsigned head, n;
	uint64_t stash_seq; /* frames stashed so far: edge-triggered epoll */
	/* a fork child's: datagrams the parent had stashed */
	struct ps_dgram *held[PS_STASH];
	unsigned held_head, held_n;
	uint64_t forked; /* stashed datagrams handed to a fork child */
	struct ps_route routes[PS_ROUTES];
	unsigned next_route;
	uint64_t route_queries; /* asked of the kernel: the report's routes= */
	/* the blocking mode a receive follows (calls.c), kept rather than
	 * asked of the kernel (fcntl, getsockopt) before every sleep: valid
	 * while mode_at is mode_gen, which every interposed call that may
	 * change it bumps, and for a second at most */
	unsigned mode_gen, mode_at;
	bool mode_nb;
	uint64_t mode_to_ns; /* SO_RCVTIMEO, 0: none */
	uint64_t mode_until; /* coarse clock */
	/* counters */
	uint64_t rx, rx_bytes, tx, tx_bytes, rx_kernel, tx_kernel;
	uint64_t rx_dropped; /* bad checksum, not for us, lost on fallback */
};

/* What fill parsed of a stashed frame, kept at the start of its
 * headroom (the frame's own buffer: no copy, no memory per socket), so a
 * receive does not parse it again. */
struct ps_meta {
	struct ps_rxinfo ri;
	uint32_t off; /* the payload's offset from data */
	uint32_t len; /* its length */
};

/* What a receive reports of frame p, parsed as v. */
static inline void ps_rxinfo_set(struct ps_rxinfo *ri,
				 const struct sl_udp_view *v,
				 const struct sl_pkt *p)
{
	ri->src = v->src;
	ri->dst = v->dst;
	ri->ts = p->user;
	ri->tos = v->tos;
	ri->ttl = v->ttl;
}

static inline struct ps_meta *ps_meta(struct sl_pkt *p)
{
	uint32_t h = sl_pkt_headroom(p);

	return h >= sizeof(struct ps_meta) && h <= p->room ?
		       (struct ps_meta *)(void *)sl_pkt_buf(p) :
		       NULL;
}

/* Addresses (sl_addr, port aside). */
static inline bool ps_addr_any(const struct sl_addr *a)
{
	return a->family == AF_INET6 ? IN6_IS_ADDR_UNSPECIFIED(&a->v6) :
				       a->v4.s_addr == INADDR_ANY;
}

static inline bool ps_ip_eq(const struct sl_addr *a, const struct sl_addr *b)
{
	if (a->family != b->family)
		return false;
	return a->family == AF_INET6 ? IN6_ARE_ADDR_EQUAL(&a->v6, &b->v6) :
				       a->v4.s_addr == b->v4.s_addr;
}

/* A hash of a's address (not its port), for the route caches. */
static inline uint32_t ps_addr_hash(const struct sl_addr *a)
{
	uint32_t w[4], h;

	if (a->family == AF_INET6) {
		memcpy(w, &a->v6, sizeof(w));
		h = w[0] ^ w[1] ^ w[2] ^ w[3];
	} else {
		h = a->v4.s_addr;
	}
	return (h * 0x9e3779b1u) >> 16;
}

/* a, or the IPv4 address an IPv4-mapped IPv6 one stands for: what the
 * local and peer addresses of a dual-stack socket are to IPv4 frames. */
static inline struct sl_addr ps_unmapped(const struct sl_addr *a)
{
	struct sl_addr u = *a;

	if (a->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->v6)) {
		u.family = AF_INET;
		memcpy(&u.v4, &a->v6.s6_addr[12], sizeof(u.v4));
	}
	return u;
}

/* Both of one SO_REUSEPORT group: unconnected, on the same address and
 * port, both with SO_REUSEPORT. */
static inline bool ps_same_group(const struct ps_sock *a,
				 const struct ps_sock *b)
{
	return a->reuseport && b->reuseport && !a->connected && !b->connected &&
	       a->local.port == b->local.port && ps_ip_eq(&a->local, &b->local);
}

/* sockaddr_in or _in6 to sl_addr: 0, or -1 for another family. */
int ps_from_sockaddr(const void *sa, socklen_t len, struct sl_addr *out);

extern struct ps_sock *ps_tab[PS_MAX_FD];
extern bool ps_on; /* the preload is active (not --path kernel) */
/* Set while this thread is in the library: its own sockets are its own,
 * not the application's, and go to libc untouched. */
extern __thread int ps_inside;

static inline struct ps_sock *ps_get(int fd)
{
	return fd >= 0 && fd < PS_MAX_FD ?
		       __atomic_load_n(&ps_tab[fd], __ATOMIC_ACQUIRE) :
		       NULL;
}

/* Everything below is the preload's own: hidden, even where the file
 * defining it exports its interposed calls. */
#pragma GCC visibility push(hidden)

/* sock.c */
void ps_init(void);
/* iface.c: s (served) turned timestamps on: its port stamps arrival
 * times from now on; s's lock held */
void ps_iface_want_ts(struct ps_sock *s);
/* rx.c: take what f's port has into its sockets' stashes (self: the
 * socket reading, which needs no wake-up); f's lock held. How many
 * frames the port gave. */
uint16_t ps_fill(struct ps_iface *f, struct ps_sock *self);
/* iface.c: the device's MTU (0 when unknown) */
uint32_t ps_dev_mtu(const char *ifname);
/* calls.c: fd's blocking mode may have changed (ask the kernel again) */
void ps_mode_changed(int fd);
void ps_track(int fd, int family);
/* open: fd is still the socket's (a close, before the real one); false
 * when the number holds another file already (dup2 over it) */
void ps_untrack(int fd, bool open);
/* hold s's memory across a blocking receive, which another thread may
 * close under; unpin may free it (s is not to be used after) */
void ps_sock_pin(struct ps_sock *s);
void ps_sock_unpin(struct ps_sock *s);
void ps_dup(int oldfd, int newfd);
void ps_after_bind(int fd);
void ps_after_connect(int fd);
void ps_fallback(struct ps_sock *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ps_rp_bpf(struct ps_sock *s);
/* s went to the kernel with a port: served sockets with its number leave
 * it to the kernel; s's lock not held */
void ps_kernel_takes_port(struct ps_sock *s);
uint64_t ps_now_ns(void);
/* CLOCK_MONOTONIC_COARSE (a few ms of resolution, no counter read): for
 * the fast path's checks that are due every 100 ms or more */
static inline uint64_t ps_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
/* An fd of the preload's own, kept for the life of the process (the
 * report file, the netlink watches): moved up near 7/8 of the fd limit
 * (at most 1024) less slot, so that the program's fds are numbered as
 * without the preload, and known by device and inode, since a program
 * that closes every fd may get the number back for a file of its own.
 * Closes fd; the new one, or -1. */
struct ps_fdid {
	int fd;
	dev_t dev;
	ino_t ino;
	pid_t pid; /* its process (a child's copy is not its own); 0: any */
};
int ps_fd_keep(int fd, int slot, struct ps_fdid *id);
/* id's fd is still the one kept, in this process */
bool ps_fd_ours(const struct ps_fdid *id);
/* the kept fds that are still ours, at most max of them; how many */
unsigned ps_fd_kept(int *fds, unsigned max);
/* A netlink socket of protocol proto subscribed to groups (a bind mask),
 * kept as ps_fd_keep keeps it; its fd, or -1 */
int ps_nl_watch(int proto, uint32_t groups, int slot, struct ps_fdid *id);
/* Read what id's netlink socket has, without waiting: true when it had
 * something, lost something (ENOBUFS), or is no longer ours */
bool ps_nl_changed(const struct ps_fdid *id);
/* The generation of the kernel's routing, address, link and neighbour
 * tables (routes.c): it moves on when one changes; 0 when they cannot
 * be watched. Cheap: read on every send. */
uint64_t ps_rt_gen(uint64_t coarse_now);
/* sl_udp_params_route for dst from port sport, kept for the process
 * (routes.c); never waits for a neighbour (-EAGAIN: not resolved yet,
 * the kernel sends). *asked: the kernel was asked. */
int ps_route_get(const struct sl_addr *dst, uint16_t sport,
		 struct sl_udp_params *hp, int *ifindex, bool *asked);
/* fork's handlers (sock.c): routes.c's locks, and the child's watch */
void ps_routes_fork_lock(void);
void ps_routes_fork_unlock(void);
void ps_routes_fork_child(void);
extern unsigned ps_spin_us;
/* false once another process may share the program's sockets (a fork, a
 * socket's fd sent in SCM_RIGHTS): their blocking mode is asked of the
 * kernel each time from then on */
extern bool ps_mode_trust;
extern const char *ps_report; /* SLUICE_RUN_REPORT, NULL: none */
/* fw.c: SLUICE_RUN_FIREWALL=bypass (set by ps_init); then the netfilter
 * rules served sockets skip (or why they could not be read), for the
 * report; NULL: none */
extern bool ps_fw_bypass;
extern const char *ps_fw_skipped;
/* 0 when netfilter lets a socket be served, else -1 and why; ctl held */
int ps_fw_check(char *why, size_t wlen);
/* Rules that appeared since sockets were served here, asked at most
 * every second by receives and sends: why served sockets go to the
 * kernel now, or NULL. Cheap when not due. */
const char *ps_fw_late(uint64_t coarse_now);
void ps_fw_fork_lock(void);
void ps_fw_fork_unlock(void);
void ps_fw_fork_child(void);

/* report.c */
void ps_report_sock(struct ps_sock *s); /* s's lock held */
void ps_signals_init(void); /* after the settings are read */
/* open the report file before the program can chroot or drop privileges */
void ps_report_open(void);

/* io.c: the lock of s is held by the caller; -errno or bytes */
ssize_t ps_recvmsg(struct ps_sock *s, int fd, struct msghdr *m, int flags);
/* the same from the port alone, without the kernel socket's system call:
 * a blocking receive's spin (calls.c) */
ssize_t ps_recv_port(struct ps_sock *s, struct msghdr *m, int flags);
ssize_t ps_sendmsg(struct ps_sock *s, int fd, const struct msghdr *m,
		   int flags);
/* sendmmsg's messages in bursts (one kick each); how many went, -errno
 * when the first failed; lock held */
int ps_sendmmsg(struct ps_sock *s, int fd, struct mmsghdr *v, unsigned n,
		int flags);
/* a frame is there to read (taken into the stash); lock held */
bool ps_readable(struct ps_sock *s);
/* the same, after taking what the port holds even when the stash has a
 * frame already (a wake on the port's fd: an edge-triggered wait counts
 * new arrivals by stash_seq); lock held */
bool ps_readable_pull(struct ps_sock *s);
/* the size of the next datagram in the stash, -1 when it is empty */
int ps_next_len(struct ps_sock *s);
/* a fork child's datagram into m, -EAGAIN when none */
ssize_t ps_recv_held(struct ps_sock *s, struct msghdr *m, int flags);
/* a held datagram no other process has read is there (those read go) */
bool ps_held_ready(struct ps_sock *s);
/* a served socket, or a fork child's with datagrams handed down */
static inline bool ps_special(const struct ps_sock *s)
{
	return s && (s->served || s->held_n);
}
/* free the stash; the interface's lock held */
void ps_stash_drop(struct ps_sock *s);

/* iface.c; join and leave with s's lock and ps_ctl held */
int ps_iface_join(struct ps_sock *s, const char *path, char *why, size_t wlen);
/* drop_port: take s's port out of the port's match when no other socket
 * has it (s goes to the kernel, which must get its datagrams) */
void ps_iface_leave(struct ps_sock *s, bool drop_port);
/* fill the stashes from the port (when s's is empty, or always with
 * more); whether s's has a frame (lock held) */
bool ps_iface_fill(struct ps_sock *s, bool more);
/* close the ports that have lingered PS_LINGER_NS; ps_ctl held */
void ps_iface_sweep(void);
/* set in mine (a bitmap of PS_MAX_FD) the fds of the interfaces' ports;
 * ps_ctl held */
void ps_iface_fds(uint64_t *mine);
/* when the first lingering port is due to close (ps_now_ns), 0 when no
 * port lingers; written with ps_ctl held, read anywhere */
extern uint64_t ps_linger_due;
/* sock.c: a wait (poll, select, epoll, a blocking receive) before and
 * after it sleeps: close the ports whose linger is over. A program idle
 * in its event loop then gives the interface back 2 s after its last
 * socket there, as one that makes its next socket does. */
void ps_linger_check(void);
/* How long a wait may sleep before ps_linger_check is due: ns, -1 when
 * no port lingers. */
static inline int64_t ps_linger_left(void)
{
	uint64_t due = __atomic_load_n(&ps_linger_due, __ATOMIC_RELAXED), now;

	if (!due)
		return -1;
	now = ps_now_ns();
	return now >= due ? 0 : (int64_t)(due - now);
}

/* Sets of fds as bitmaps of 64-bit words (fd_snapshot, close_range):
 * fd into bits, where it is below max (negative: none) */
static inline void ps_fd_mark(uint64_t *bits, int fd, int max)
{
	if (fd >= 0 && fd < max)
		bits[fd / 64] |= 1ull << (fd % 64);
}

static inline bool ps_fd_marked(const uint64_t *bits, unsigned fd)
{
	return bits[fd / 64] & (1ull << (fd % 64));
}

/* ns to deadline; INT64_MAX for none (UINT64_MAX) */
static inline int64_t ps_left_ns(uint64_t deadline)
{
	uint64_t now = ps_now_ns();

	if (deadline == UINT64_MAX)
		return INT64_MAX;
	return now >= deadline ? 0 : (int64_t)(deadline - now);
}

/* A sleep of *left ns that would outlast a lingering port's linger stops
 * there (ps_linger_check closes it, and the wait goes on for the rest):
 * whether *left was cut. One whose check could not close it now (0 left)
 * sleeps as asked, not in a loop of empty waits. */
static inline bool ps_linger_cut(int64_t *left)
{
	int64_t cap = ps_linger_left();

	if (cap <= 0 || cap >= *left)
		return false;
	*left = cap;
	return true;
}

static inline void ps_to_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}
void ps_iface_fork_lock(void);
void ps_iface_fork_unlock(void);
void ps_iface_fork_drain(void);
void ps_iface_fork_close(void);
void ps_iface_fork_child(void);

/* wait.c */
int ps_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ns,
	    const sigset_t *mask);
/* epoll.c */
void ps_epoll_forget_sock(struct ps_sock *s);
void ps_epoll_forget_epfd(int epfd);
/* the same for every epoll fd in [first, last] */
void ps_epoll_forget_epfds(unsigned first, unsigned last);
/* sock.c: the lock of the socket table's structure, the interfaces'
 * ports and the SO_REUSEPORT groups (the comments say "ctl held") */
extern pthread_mutex_t ps_ctl;
/* SLUICE_RUN_FORK=keep: a fork child's sockets stay served (sock.c) */
extern bool ps_fork_keep;
/* this thread sends every socket to the kernel (fork.c, around a fork):
 * their ports keep their numbers (sock.c's unserve) */
extern __thread bool ps_all_going;
/* fork.c: the pthread_atfork handlers, and the process the preload's
 * state is of (set at init and in a fork child) */
void ps_atfork_prepare(void);
void ps_atfork_parent(void);
void ps_atfork_child(void);
extern pid_t ps_pid;
/* fork.c: whether this is a vfork child (posix_spawn, CPython's
 * subprocess) between its vfork and its exec: it shares the parent's
 * memory, the preload's state with it, and runs no fork handler, so its
 * close and dup2 must leave that state alone. A system call: asked only
 * where the state would change. */
bool ps_vforked(void);
/* epoll.c: whether any epoll set has had a served socket */
bool ps_epoll_used(void);
/* sock.c: close_range(2) as the program means it (calls.c) */
int ps_close_range(unsigned first, unsigned last, int flags);
/* epoll.c: ep_lock around a fork (fork.c) */
void ps_epoll_fork_lock(void);
void ps_epoll_fork_unlock(void);

#pragma GCC visibility pop

#endif
