// SPDX-License-Identifier: MIT
/*
 * Busy polling on kernel sockets: the options behind every driver's
 * `busy_poll` flag (see busy_poll.h for what the kernel does with them).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "port/busy_poll.h"
#include "port/driver.h"

/* Linux 5.11; older libc headers lack them */
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

static int set_int(int fd, int opt, int v)
{
	return setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

int sl_busy_poll_set(int fd, const char **opt)
{
	static const struct {
		int opt;
		int val;
		const char *name;
	} want[] = {
		{ SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL" },
		{ SO_BUSY_POLL, SL_BUSY_POLL_US, "SO_BUSY_POLL" },
		{ SO_BUSY_POLL_BUDGET, SL_BUSY_POLL_BUDGET,
		  "SO_BUSY_POLL_BUDGET" },
	};
	int old[SL_ARRAY_SIZE(want)];
	unsigned i;
	int err;

	for (i = 0; i < SL_ARRAY_SIZE(want); i++) {
		socklen_t l = sizeof(old[i]);

		/* remembered so that a refusal leaves the socket as it was;
		 * an option the kernel cannot read it will not take either */
		if (getsockopt(fd, SOL_SOCKET, want[i].opt, &old[i], &l))
			old[i] = 0;
		if (set_int(fd, want[i].opt, want[i].val) == 0)
			continue;
		err = errno;
		if (opt)
			*opt = want[i].name;
		/* lowering needs no capability */
		while (i-- > 0)
			(void)set_int(fd, want[i].opt, old[i]);
		errno = err;
		return -err;
	}
	return 0;
}

bool sl_busy_poll_enable(struct sl_port *port, int fd, const char *name)
{
	const char *opt = "?";
	int err = sl_busy_poll_set(fd, &opt);
	unsigned i;

	if (err == 0)
		return true;
	for (i = 0; i < port->info.n_refused; i++)
		if (strcmp(port->info.refused[i].path, "busy-poll") == 0)
			return false;
	sl_port_refuse(port, "busy-poll",
		       "%s: the kernel refused busy polling (%s: %s)%s", name,
		       opt, strerror(-err),
		       err == -EPERM	   ? "; it needs CAP_NET_ADMIN" :
		       err == -ENOPROTOOPT ? "; it needs Linux 5.11 or later" :
					     "");
	return false;
}

int sl_busy_poll_get(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &v, &l))
		return -errno;
	return v;
}
