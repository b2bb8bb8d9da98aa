// SPDX-License-Identifier: MIT
/*
 * The fds the preload keeps for the life of the process (the report file,
 * the netlink sockets that watch the kernel's tables): out of the
 * program's way, and recognised before each use.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ps.h"

/* every id kept, for close_range (ps_fd_kept): the report, the watches */
static struct ps_fdid *kept[8];
static unsigned n_kept;

int ps_fd_keep(int fd, int slot, struct ps_fdid *id)
{
	struct rlimit rl;
	struct stat st;
	unsigned i;
	int hi = -1;

	for (i = 0; i < n_kept && kept[i] != id; i++)
		;
	if (i == n_kept && n_kept < sizeof(kept) / sizeof(kept[0]))
		kept[n_kept++] = id;

	if (fd < 0)
		return -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 64 &&
	    fstat(fd, &st) == 0) {
		rlim_t at = rl.rlim_cur > 1024 ? 1024 : rl.rlim_cur;

		hi = ps_real.fcntl(fd, F_DUPFD_CLOEXEC,
				   (int)(at - at / 8) - slot);
	}
	ps_real.close(fd);
	if (hi < 0)
		return -1;
	id->fd = hi;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->pid = getpid();
	return hi;
}

unsigned ps_fd_kept(int *fds, unsigned max)
{
	unsigned i, n = 0;

	for (i = 0; i < n_kept && n < max; i++)
		if (ps_fd_ours(kept[i]))
			fds[n++] = kept[i]->fd;
	return n;
}

bool ps_fd_ours(const struct ps_fdid *id)
{
	struct stat st;

	return id->fd >= 0 && (!id->pid || id->pid == getpid()) &&
	       fstat(id->fd, &st) == 0 && st.st_dev == id->dev &&
	       st.st_ino == id->ino;
}

int ps_nl_watch(int proto, uint32_t groups, int slot, struct ps_fdid *id)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = groups };
	int fd, r;

	ps_inside++;
	fd = ps_real.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    proto);
	if (fd >= 0 && ps_real.bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ps_real.close(fd);
		fd = -1;
	}
	r = ps_fd_keep(fd, slot, id);
	ps_inside--;
	return r;
}

bool ps_nl_changed(const struct ps_fdid *id)
{
	char buf[4096];
	bool changed = false;
	ssize_t n;

	if (!ps_fd_ours(id))
		return true;
	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		n = ps_real.recvmsg(id->fd, &m, MSG_DONTWAIT);
		/* ENOBUFS: notifications were lost */
		if (n > 0 || (n < 0 && errno == ENOBUFS))
			changed = true;
		else
			return changed;
	}
}
