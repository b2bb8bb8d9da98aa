// SPDX-License-Identifier: MIT
/*
 * The report of libsluice-preload.so (SLUICE_RUN_REPORT, "-": stderr):
 * one line per socket, appended when it closes, when the program exits,
 * and when a signal whose default action ends the process ends it.
 *
 * For the last, the preload stands in for SIG_DFL: at start it puts a
 * handler of its own on those signals the program left at SIG_DFL, and
 * whenever the program sets SIG_DFL again. The handler writes the lines,
 * sets SIG_DFL and raises the signal again, so the program still dies of
 * it (exit status, core). It runs wherever the signal lands, with any
 * lock of the interrupted thread held: the lines are formatted here
 * without stdio, malloc or locks, and go out with open and write. The
 * program never sees the stand-in: sigaction, signal, sigset and the rest
 * report SIG_DFL where it is, and a handler the program sets is exactly
 * its own. SIGKILL and SIGSTOP cannot be caught: no lines.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ps.h"

/* A line being formatted: appends past the end are cut. */
struct line {
	char buf[1024]; /* why, and a counter for each of 16 queues */
	size_t len;
};

static void put_str(struct line *l, const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] && l->len < sizeof(l->buf) - 1; i++)
		l->buf[l->len++] = s[i];
}

static void put_num(struct line *l, unsigned long long v, unsigned base)
{
	char d[24];
	size_t n = 0;

	do {
		d[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = d[--n];
}

static void put_u(struct line *l, const char *name, unsigned long long v)
{
	put_str(l, name, 32);
	put_num(l, v, 10);
}

static void put_ip4(struct line *l, const uint8_t *b)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i)
			put_str(l, ".", 1);
		put_num(l, b[i], 10);
	}
}

/* As inet_ntop writes it: the longest run of two or more zero words as
 * "::", IPv4-mapped and -compatible addresses with their dotted tail. */
static void put_ip6(struct line *l, const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;
	int best = -1, blen = 0, cur = -1, i;

	for (i = 0; i < 8; i++) {
		if (b[2 * i] || b[2 * i + 1]) {
			cur = -1;
			continue;
		}
		if (cur < 0)
			cur = i;
		if (i - cur + 1 > blen) {
			best = cur;
			blen = i - cur + 1;
		}
	}
	if (blen < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + blen) {
			if (i == best)
				put_str(l, ":", 1);
			continue;
		}
		if (i)
			put_str(l, ":", 1);
		if (i == 6 && best == 0 &&
		    (blen == 6 ||
		     (blen == 5 && b[10] == 0xff && b[11] == 0xff))) {
			put_ip4(l, b + 12);
			return;
		}
		put_num(l, (unsigned)b[2 * i] << 8 | b[2 * i + 1], 16);
	}
	if (best >= 0 && best + blen == 8)
		put_str(l, ":", 1);
}

/* s's line, read without its lock when in_signal (a signal handler may
 * not take it: the interrupted thread may hold it). */
static size_t format(struct ps_sock *s, struct line *l, bool in_signal)
{
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct ps_iface *f = s->ifc;

	/* the port's counters are atomic loads, no lock; in a signal
	 * handler only while no thread is reopening the port */
	if (f && f->port &&
	    (!in_signal || !__atomic_load_n(&f->closing, __ATOMIC_ACQUIRE)))
		(void)sl_port_stats(f->port, &st);
	l->len = 0;
	put_u(l, "sluice-run pid=", (unsigned long long)getpid());
	put_u(l, " fd=", (unsigned long long)s->fd);
	put_str(l, s->local.family == AF_INET6 ? " udp6 [" : " udp4 ", 8);
	if (s->local.family == AF_INET6)
		put_ip6(l, &s->local.v6);
	else
		put_ip4(l, (const uint8_t *)&s->local.v4);
	put_u(l, s->local.family == AF_INET6 ? "]:" : ":", s->local.port);
	put_str(l, " path=", 8);
	put_str(l, s->path, sizeof(s->path));
	put_str(l, " iface=", 8);
	put_str(l, s->ifname[0] ? s->ifname : "-", sizeof(s->ifname));
	put_u(l, " rx=", s->rx);
	put_u(l, " rx_bytes=", s->rx_bytes);
	put_u(l, " tx=", s->tx);
	put_u(l, " tx_bytes=", s->tx_bytes);
	put_u(l, " rx_kernel=", s->rx_kernel);
	put_u(l, " tx_kernel=", s->tx_kernel);
	put_u(l, " rx_dropped=", s->rx_dropped);
	put_u(l, " port_rx=", st.rx_packets);
	put_u(l, " port_tx=", st.tx_packets);
	/* several queues: how many, and what each received (the flows RSS
	 * spread); a device with more than the port reads says so, as its
	 * other queues' datagrams reach the kernel socket */
	if (f && (f->nq > 1 || f->dev_nq > f->nq)) {
		unsigned q;

		put_u(l, " queues=", f->nq);
		if (f->dev_nq > f->nq)
			put_u(l, " dev_queues=", f->dev_nq);
		for (q = 0; q < f->nq; q++) {
			struct sl_queue_stats qs = { .sz = sizeof(qs) };

			if (!f->port ||
			    (in_signal &&
			     __atomic_load_n(&f->closing, __ATOMIC_ACQUIRE)) ||
			    sl_port_queue_stats(f->port, (uint16_t)q, &qs))
				qs.rx_packets = 0;
			put_u(l, q ? "/" : " queue_rx=", qs.rx_packets);
		}
	}
	put_u(l, " unmatched=", f ? f->rx_unmatched : 0);
	put_u(l, " forked=", s->forked);
	put_u(l, " routes=", s->route_queries);
	if (s->served && ps_fw_skipped) {
		put_str(l, " skips=\"", 9);
		put_str(l, ps_fw_skipped, 160);
		put_str(l, "\"", 1);
	}
	if (s->why[0]) {
		put_str(l, " why=\"", 8);
		put_str(l, s->why, sizeof(s->why));
		put_str(l, "\"", 1);
	}
	l->buf[l->len++] = '\n'; /* the buffer keeps a byte for it */
	return l->len;
}

/*
 * The report file, opened at start: a server that chroots (in.tftpd -s)
 * or gives up root (chronyd, unbound, dnsmasq) before its sockets close
 * could no longer open it by name. Kept at a high fd number, so that the
 * program's own fds are numbered as without the preload; a program that
 * closes every fd (daemons do) may since have that number for a file of
 * its own, so the device and inode are checked before each write, and
 * where they differ the name is opened as before (ps_fd_keep). A fork
 * child writes its lines to it too.
 */
static struct ps_fdid rep = { .fd = -1 };

void ps_report_open(void)
{
	int fd;

	if (!ps_report || !strcmp(ps_report, "-"))
		return;
	fd = open(ps_report, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (ps_fd_keep(fd, 0, &rep) >= 0)
		rep.pid = 0;
}

static void emit(const struct line *l)
{
	int fd;

	if (!strcmp(ps_report, "-")) {
		(void)!write(2, l->buf, l->len);
		return;
	}
	if (ps_fd_ours(&rep)) {
		(void)!write(rep.fd, l->buf, l->len);
		return;
	}
	fd = open(ps_report, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, l->buf, l->len);
	ps_real.close(fd);
}

void ps_report_sock(struct ps_sock *s)
{
	struct line l;

	if (!ps_report || s->local.family == 0)
		return;
	format(s, &l, false);
	emit(&l);
}

/* At exit, the sockets still open go into the report. */
__attribute__((destructor)) static void ps_fini(void)
{
	unsigned fd;

	for (fd = 0; fd < PS_MAX_FD; fd++) {
		struct ps_sock *s = ps_tab[fd];

		if (!s || s->fd != (int)fd)
			continue;
		if (pthread_mutex_trylock(&s->lock))
			continue;
		ps_report_sock(s);
		pthread_mutex_unlock(&s->lock);
	}
}

/* ---- signals ---------------------------------------------------------- */

/* The signals whose default action ends the process that the preload
 * stands in for; the rest (SIGSEGV, SIGABRT, ...) are left alone. */
static const int fatal_sigs[] = { SIGHUP,  SIGINT,  SIGQUIT, SIGPIPE,
				  SIGUSR1, SIGUSR2, SIGALRM, SIGTERM };
#define N_FATAL (sizeof(fatal_sigs) / sizeof(fatal_sigs[0]))

static bool sig_on; /* a report goes somewhere: stand in */

static bool stands_in(int sig)
{
	unsigned i;

	for (i = 0; sig_on && i < N_FATAL; i++)
		if (fatal_sigs[i] == sig)
			return true;
	return false;
}

static void on_fatal(int sig)
{
	static int busy;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int e = errno;
	sigset_t set;
	unsigned fd;

	/* a second signal in another thread: the first one ends it */
	if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQ_REL)) {
		errno = e;
		return;
	}
	for (fd = 0; fd < PS_MAX_FD && ps_report; fd++) {
		struct ps_sock *s = ps_get((int)fd);
		struct line l;

		if (!s || s->fd != (int)fd || s->local.family == 0)
			continue;
		format(s, &l, true);
		emit(&l);
	}
	(void)ps_real.sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(sig);
	errno = e; /* not reached: the signal ends the process */
}

static int stand_in(int sig, struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = on_fatal,
				.sa_flags = SA_RESTART };
	unsigned i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < N_FATAL; i++)
		sigaddset(&sa.sa_mask, fatal_sigs[i]);
	return ps_real.sigaction(sig, &sa, old);
}

/* What the program sees for a disposition: SIG_DFL for the stand-in. */
static void as_seen(struct sigaction *sa)
{
	if (sa->sa_handler == on_fatal) {
		memset(sa, 0, sizeof(*sa));
		sa->sa_handler = SIG_DFL;
	}
}

void ps_signals_init(void)
{
	unsigned i;

	sig_on = ps_on && ps_report && ps_real.sigaction;
	for (i = 0; i < N_FATAL && sig_on; i++) {
		struct sigaction cur;

		/* inherited SIG_IGN (nohup) and handlers stay */
		if (ps_real.sigaction(fatal_sigs[i], NULL, &cur) == 0 &&
		    cur.sa_handler == SIG_DFL)
			(void)stand_in(fatal_sigs[i], NULL);
	}
}

/* the calls put in front of libc's */
#pragma GCC visibility push(default)

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction o;
	int r;

	ps_init();
	if (!ps_real.sigaction) {
		errno = ENOSYS;
		return -1;
	}
	if (act && act->sa_handler == SIG_DFL && stands_in(sig))
		r = stand_in(sig, &o);
	else
		r = ps_real.sigaction(sig, act, &o);
	if (r == 0 && old) {
		as_seen(&o);
		*old = o;
	}
	return r;
}

int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

typedef void (*ps_handler)(int);

/* signal() and its kin: libc's, unless the program asks for SIG_DFL
 * where the preload stands in. */
static ps_handler set_handler(ps_handler (**real)(int, ps_handler),
			      const char *name, int sig, ps_handler h)
{
	struct sigaction o;
	ps_handler r;

	ps_init();
	if (h == SIG_DFL && stands_in(sig)) {
		if (stand_in(sig, &o))
			return SIG_ERR;
		r = o.sa_handler;
	} else {
		if (!*real)
			*real = (ps_handler(*)(int, ps_handler))dlsym(RTLD_NEXT,
								      name);
		if (!*real) {
			errno = ENOSYS;
			return SIG_ERR;
		}
		r = (*real)(sig, h);
	}
	return r == on_fatal ? SIG_DFL : r;
}

#define SIGNAL_CALL(name)                                   \
	ps_handler name(int sig, ps_handler h);             \
	ps_handler name(int sig, ps_handler h)              \
	{                                                   \
		static ps_handler (*real)(int, ps_handler); \
		return set_handler(&real, #name, sig, h);   \
	}
SIGNAL_CALL(signal)
SIGNAL_CALL(bsd_signal)
SIGNAL_CALL(ssignal)
SIGNAL_CALL(sysv_signal)
SIGNAL_CALL(__sysv_signal)

/* sigset(SIG_DFL) also unblocks the signal; SIG_HOLD blocks it and
 * leaves the disposition, which libc reports as it is. */
ps_handler sigset(int sig, ps_handler h)
{
	static ps_handler (*real)(int, ps_handler);
	sigset_t one, was;
	ps_handler r;

	if (h != SIG_DFL || !(ps_init(), stands_in(sig)))
		return set_handler(&real, "sigset", sig, h);
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (sigprocmask(SIG_UNBLOCK, &one, &was))
		return SIG_ERR;
	r = set_handler(&real, "sigset", sig, h);
	return r != SIG_ERR && sigismember(&was, sig) ? SIG_HOLD : r;
}

#pragma GCC visibility pop
