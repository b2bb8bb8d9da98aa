// SPDX-License-Identifier: MIT
/*
 * The veth test bed; see testbed.h. Configuration goes through the `ip`
 * command (fork/exec, output captured for the error message), which keeps
 * this file short and the steps identical to what a person would type.
 * Removal does not: a namespace is deleted the way `ip netns del` does it
 * (detach its bind mount, unlink the file), with two system calls that are
 * async-signal-safe, so the same code serves the atexit handler and the
 * signal handlers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "testbed.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The bed sits above the library and sees only its public headers, so it
 * keeps its own last message (tb_error()) the way the library
 * keeps sl_last_error(): per thread, set with errno, returned as -err. */
static __thread char bed_err[512];

__attribute__((format(printf, 2, 3))) static int bed_fail(int err,
							  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bed_err, sizeof(bed_err), fmt, ap);
	va_end(ap);
	errno = err;
	return -err;
}

const char *tb_error(void)
{
	return bed_err;
}

#define NETNS_DIR "/var/run/netns"
#define MAX_BEDS 32

extern char **environ;

/* Beds to remove at exit or on a signal. Plain arrays written before the
 * handlers may look at them; owner guards against a forked child removing
 * its parent's beds when it exits. */
static struct {
	pid_t owner;
	char path[2][64];
} beds[MAX_BEDS];
static int handlers_set;
static struct sigaction old_sa[NSIG];
static int home_fd = -1;
static unsigned seq;
static const char *ip_path;

static void ns_remove_path(const char *path)
{
	umount2(path, MNT_DETACH);
	unlink(path);
}

static void cleanup_all(void)
{
	pid_t me = getpid();
	int i;

	for (i = 0; i < MAX_BEDS; i++) {
		if (beds[i].owner != me)
			continue;
		ns_remove_path(beds[i].path[0]);
		ns_remove_path(beds[i].path[1]);
		beds[i].owner = 0;
	}
}

static void on_signal(int sig)
{
	cleanup_all();
	sigaction(sig, &old_sa[sig], NULL);
	raise(sig);
}

static void set_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGABRT, SIGHUP };
	struct sigaction sa;
	unsigned i;

	if (handlers_set)
		return;
	handlers_set = 1;
	atexit(cleanup_all);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		sigaction(sigs[i], &sa, &old_sa[sigs[i]]);
		/* a signal the process ignores (SIGINT in a background job)
		 * must not start removing beds that are still in use */
		if (old_sa[sigs[i]].sa_handler == SIG_IGN)
			sigaction(sigs[i], &old_sa[sigs[i]], NULL);
	}
}

static int register_bed(const struct tb *tb)
{
	int i;

	for (i = 0; i < MAX_BEDS; i++) {
		if (beds[i].owner && kill(beds[i].owner, 0) == 0)
			continue;
		snprintf(beds[i].path[0], sizeof(beds[i].path[0]), "%s/%s",
			 NETNS_DIR, tb->end[0].ns);
		snprintf(beds[i].path[1], sizeof(beds[i].path[1]), "%s/%s",
			 NETNS_DIR, tb->end[1].ns);
		beds[i].owner = getpid();
		return 0;
	}
	return -ENOSPC;
}

static void unregister_bed(const struct tb *tb)
{
	char path[64];
	int i;

	snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, tb->end[0].ns);
	for (i = 0; i < MAX_BEDS; i++)
		if (beds[i].owner == getpid() && !strcmp(beds[i].path[0], path))
			beds[i].owner = 0;
}

static const char *find_ip(void)
{
	static const char *const paths[] = { "/usr/sbin/ip", "/sbin/ip",
					     "/usr/bin/ip", "/bin/ip" };
	unsigned i;

	for (i = 0; !ip_path && i < ARRAY_SIZE(paths); i++)
		if (access(paths[i], X_OK) == 0)
			ip_path = paths[i];
	return ip_path;
}

/* fork/exec argv, stdout and stderr into out. Returns the exit status
 * (128+signal when killed) or -errno. */
static int run_argv(char *const argv[], char *out, size_t len)
{
	int pfd[2], status;
	size_t used = 0;
	pid_t pid;

	if (out && len)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		if (out) {
			dup2(pfd[1], 1);
			dup2(pfd[1], 2);
		}
		execve(argv[0], argv, environ);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char sink[256];
		char *dst = out && used + 1 < len ? out + used : sink;
		size_t room = out && used + 1 < len ? len - used - 1 :
						      sizeof(sink);
		ssize_t n = read(pfd[0], dst, room);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink) {
			used += (size_t)n;
			out[used] = '\0';
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Run `ip ARGS`, ARGS split on spaces (none of ours contain one). Returns 0
 * or -EIO with a message naming the command and what ip said. */
static int ip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ip(const char *fmt, ...)
{
	char cmd[512], out[512], *argv[48], *tok, *save;
	int argc = 0, rc;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	{
		char copy[512];

		memcpy(copy, cmd, sizeof(copy));
		argv[argc++] = (char *)ip_path;
		for (tok = strtok_r(copy, " ", &save); tok && argc < 47;
		     tok = strtok_r(NULL, " ", &save))
			argv[argc++] = tok;
		argv[argc] = NULL;
		rc = run_argv(argv, out, sizeof(out));
	}
	if (rc == 0)
		return 0;
	n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	if (strstr(out, "Operation not permitted"))
		return bed_fail(EPERM, "testbed: ip %s: %s", cmd, out);
	if (strstr(out, "Unknown device type") || strstr(out, "not supported"))
		return bed_fail(EOPNOTSUPP, "testbed: ip %s: %s", cmd, out);
	return bed_fail(EIO, "testbed: ip %s: exit %d: %s", cmd, rc, out);
}

int tb_ns_exists(const char *ns)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, ns);
	return access(path, F_OK) == 0;
}

static int enter_ns(const char *ns)
{
	char path[96];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		err = -errno;
	close(fd);
	return err;
}

int tb_enter(const struct tb *tb, int side)
{
	if (side == TB_HOME) {
		if (home_fd < 0)
			return -EINVAL;
		return setns(home_fd, CLONE_NEWNET) ? -errno : 0;
	}
	if (!tb || (side != TB_A && side != TB_B))
		return -EINVAL;
	return enter_ns(tb->end[side].ns);
}

/* Work that must happen inside one side's namespace, done in a thread of its
 * own so the caller's namespace never changes. */
struct side_job {
	const struct tb_end *end;
	int ifindex;
	int err;
};

static int write_sysctl(const char *ifname, const char *key, const char *val)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", ifname,
		 key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static void *side_setup(void *arg)
{
	struct side_job *j = arg;
	struct ifreq ifr;
	int fd, i;

	j->err = enter_ns(j->end->ns);
	if (j->err)
		return NULL;
	/* no router solicitations or autoconfiguration chatter on the link:
	 * tests count frames */
	write_sysctl(j->end->ifname, "accept_ra", "0");
	write_sysctl(j->end->ifname, "router_solicitations", "0");
	write_sysctl(j->end->ifname, "dad_transmits", "0");
	j->ifindex = (int)if_nametoindex(j->end->ifname);
	if (!j->ifindex) {
		j->err = -errno;
		return NULL;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		j->err = -errno;
		return NULL;
	}
	/* the carrier comes up once both ends are up: wait for it (2 s) */
	j->err = -ETIMEDOUT;
	for (i = 0; i < 200; i++) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
			 j->end->ifname);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
		    (ifr.ifr_flags & (IFF_UP | IFF_RUNNING)) ==
			    (IFF_UP | IFF_RUNNING)) {
			j->err = 0;
			break;
		}
		usleep(10000);
	}
	close(fd);
	return NULL;
}

static int side_job_run(struct tb_end *end)
{
	struct side_job j = { .end = end };
	pthread_t t;
	int err;

	err = pthread_create(&t, NULL, side_setup, &j);
	if (err)
		return -err;
	pthread_join(t, NULL);
	if (!j.err)
		end->ifindex = j.ifindex;
	return j.err;
}

static int dead_owner(const char *name)
{
	unsigned long pid, n;
	char side, extra;

	/* only our own pattern, sl-PID-N-a|b: never a name someone else chose */
	if (sscanf(name, "sl-%lu-%lu-%c%c", &pid, &n, &side, &extra) != 3 ||
	    (side != 'a' && side != 'b') || !pid)
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int tb_reap(void)
{
	char path[300];
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(NETNS_DIR);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (!dead_owner(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, de->d_name);
		ns_remove_path(path);
		n++;
	}
	closedir(d);
	return n;
}

static void fill_end(struct tb *tb, int side)
{
	struct tb_end *e = &tb->end[side];
	unsigned char mac[6] = { 0x02,
				 0x73,
				 0x6c,
				 (unsigned char)tb->subnet,
				 (unsigned char)(seq & 0xff),
				 (unsigned char)(side + 1) };
	char base[16];

	/* names are at most 13 characters (checked in tb_up) */
	memcpy(base, tb->name, sizeof(base));
	snprintf(e->ns, sizeof(e->ns), "%.13s-%c", base, 'a' + side);
	snprintf(e->ifname, sizeof(e->ifname), "%.13s-%c", base, 'a' + side);
	memcpy(e->mac, mac, sizeof(mac));
	snprintf(e->mac_str, sizeof(e->mac_str),
		 "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	snprintf(e->ip4_str, sizeof(e->ip4_str), "10.77.%u.%d", tb->subnet,
		 side + 1);
	snprintf(e->ip6_str, sizeof(e->ip6_str), "fd77:%x::%d", tb->subnet,
		 side + 1);
	inet_pton(AF_INET, e->ip4_str, &e->ip4);
	inet_pton(AF_INET6, e->ip6_str, &e->ip6);
}

static int configure(struct tb *tb)
{
	struct tb_end *a = &tb->end[0], *b = &tb->end[1];
	int err, s;

	err = ip("netns add %s", a->ns);
	if (err)
		return err;
	err = ip("netns add %s", b->ns);
	if (err)
		return err;
	/* both ends are born inside their namespaces: a crash between two
	 * steps cannot leave a veth in the caller's namespace */
	err = ip(
		"link add %s netns %s address %s numtxqueues %u numrxqueues %u "
		"type veth peer name %s netns %s address %s numtxqueues %u "
		"numrxqueues %u",
		a->ifname, a->ns, a->mac_str, tb->queues, tb->queues, b->ifname,
		b->ns, b->mac_str, tb->queues, tb->queues);
	if (err)
		return err;
	for (s = 0; s < 2; s++) {
		struct tb_end *me = &tb->end[s], *peer = &tb->end[!s];

		/* no link-local address: no DAD, no router solicitation,
		 * nothing on the wire the tests did not send */
		err = ip("-n %s link set %s addrgenmode none", me->ns,
			 me->ifname);
		if (!err)
			err = ip("-n %s addr add %s/24 dev %s", me->ns,
				 me->ip4_str, me->ifname);
		if (!err)
			err = ip("-n %s -6 addr add %s/64 dev %s nodad", me->ns,
				 me->ip6_str, me->ifname);
		if (!err)
			err = ip("-n %s link set lo up", me->ns);
		if (!err)
			err = ip("-n %s link set %s up", me->ns, me->ifname);
		if (!err)
			err = ip("-n %s neigh replace %s lladdr %s dev %s nud "
				 "permanent",
				 me->ns, peer->ip4_str, peer->mac_str,
				 me->ifname);
		if (!err)
			err = ip("-n %s -6 neigh replace %s lladdr %s dev %s "
				 "nud permanent",
				 me->ns, peer->ip6_str, peer->mac_str,
				 me->ifname);
		if (err)
			return err;
	}
	for (s = 0; s < 2; s++) {
		err = side_job_run(&tb->end[s]);
		if (err)
			return bed_fail(-err, "testbed: %s in %s: %s",
					tb->end[s].ifname, tb->end[s].ns,
					strerror(-err));
	}
	return 0;
}

int tb_up(struct tb *tb, const struct tb_opts *opts)
{
	unsigned queues = 1, subnet = 0;
	int err;

	if (!tb)
		return bed_fail(EINVAL, "testbed: no bed");
	memset(tb, 0, sizeof(*tb));
	if (opts &&
	    opts->sz >=
		    offsetof(struct tb_opts, queues) + sizeof(opts->queues) &&
	    opts->queues)
		queues = opts->queues;
	if (opts && opts->sz >= sizeof(*opts))
		subnet = opts->subnet;
	if (queues > 64 || subnet > 254)
		return bed_fail(EINVAL, "testbed: queues 1..64, subnet 1..254");
	if (geteuid() != 0)
		return bed_fail(EPERM,
				"testbed: needs root (network namespaces "
				"and veth)");
	if (access("/proc/self/ns/net", F_OK))
		return bed_fail(EOPNOTSUPP, "testbed: kernel without network "
					    "namespaces");
	if (!find_ip())
		return bed_fail(EOPNOTSUPP, "testbed: the ip command "
					    "(iproute2) is missing");
	if (home_fd < 0) {
		home_fd =
			open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (home_fd < 0)
			return bed_fail(errno, "testbed: own namespace: %s",
					strerror(errno));
	}
	tb_reap();
	set_handlers();

	if (seq > 99)
		return bed_fail(ENOSPC, "testbed: 100 beds per process at most "
					"(interface names are 15 characters)");
	if (snprintf(tb->name, sizeof(tb->name), "sl-%d-%u", (int)getpid(),
		     seq) > 13)
		return bed_fail(ENAMETOOLONG, "testbed: name %s too long",
				tb->name);
	/* a /24 of its own per bed, so two beds never look alike in a
	 * capture; isolation comes from the namespaces, not from this */
	tb->subnet = subnet ? subnet : 1 + ((unsigned)getpid() * 7 + seq) % 254;
	tb->queues = queues;
	fill_end(tb, 0);
	fill_end(tb, 1);
	seq++;

	/* registered before the first namespace exists, so an interrupt
	 * during set-up still removes what was made */
	err = register_bed(tb);
	if (err)
		return bed_fail(-err, "testbed: too many beds");
	tb->up = 1;
	err = configure(tb);
	if (err) {
		tb_down(tb);
		return err;
	}
	return 0;
}

void tb_down(struct tb *tb)
{
	char path[96];
	int s;

	if (!tb || !tb->up)
		return;
	for (s = 0; s < 2; s++) {
		snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, tb->end[s].ns);
		ns_remove_path(path);
	}
	unregister_bed(tb);
	tb->up = 0;
}

static int run_in(const struct tb *tb, int side, const char *cmd, char *out,
		  size_t len)
{
	char *argv[8];
	int argc = 0;

	if (!cmd)
		return -EINVAL;
	if (side == TB_A || side == TB_B) {
		if (!tb || !find_ip())
			return -EINVAL;
		argv[argc++] = (char *)ip_path;
		argv[argc++] = "netns";
		argv[argc++] = "exec";
		argv[argc++] = (char *)tb->end[side].ns;
	} else if (side != TB_HOME) {
		return -EINVAL;
	}
	argv[argc++] = "/bin/sh";
	argv[argc++] = "-c";
	argv[argc++] = (char *)cmd;
	argv[argc] = NULL;
	return run_argv(argv, out, len);
}

int tb_run(const struct tb *tb, int side, const char *cmd)
{
	return run_in(tb, side, cmd, NULL, 0);
}

int tb_capture(const struct tb *tb, int side, const char *cmd, char *out,
	       size_t len)
{
	if (!out || !len)
		return -EINVAL;
	return run_in(tb, side, cmd, out, len);
}
