// SPDX-License-Identifier: MIT
/*
 * The telemetry server (include/sluice/telemetry.h): one thread on a unix
 * SOCK_SEQPACKET socket, started on demand, answering queries with
 * telemetry/cmds.c.
 *
 * It must never hold up the process it reports on: every descriptor is
 * non-blocking, an answer a client does not read at once (its receive
 * queue full) drops that client, a client idle for IDLE_MS is dropped, and
 * past MAX_CLIENTS a new one gets an error and is closed. The thread
 * blocks every signal, so the application's handlers (a stop flag on
 * SIGINT) keep running on the threads that expect them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sluice/telemetry.h>

#include "core/log.h"
#include "core/registry.h"
#include "telemetry/query.h"

#define MAX_CLIENTS 8
#define IDLE_MS 5000
#define DEFAULT_DIR "/run/sluice"

struct client {
	int fd;
	uint64_t deadline_ms;
};

static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool running;
	pthread_t thread;
	int lfd;
	int wake[2]; /* a byte on wake[1] stops the thread */
	char *reply; /* SL_TM_MAX_REPLY bytes, the thread's */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} srv = { .lfd = -1, .wake = { -1, -1 } };

static uint64_t now_ms(void)
{
	return sl_time_ns() / 1000000;
}

static void drop(struct client *c, unsigned *n, unsigned i)
{
	close(c[i].fd);
	c[i] = c[--*n];
}

/* Send without waiting; false if the client cannot take it now. */
static bool send_now(int fd, const char *buf, size_t len)
{
	return send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len;
}

/* One query from a readable client; false when the client is to go. */
static bool serve(struct client *c)
{
	char q[SL_TM_MAX_QUERY];
	ssize_t n;
	size_t len;

	/* MSG_TRUNC: the real length of a longer message, which is then
	 * refused whole rather than answered in part */
	n = recv(c->fd, q, sizeof(q), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	/* n == 0 is an empty message (answered: an error), not the end:
	 * the end comes as POLLHUP */
	if ((size_t)n > sizeof(q))
		len = (size_t)snprintf(srv.reply, SL_TM_MAX_REPLY,
				       "{\"error\":\"query too long\"}");
	else
		len = sl_tm_answer(q, (size_t)n, srv.reply, SL_TM_MAX_REPLY);
	c->deadline_ms = now_ms() + IDLE_MS;
	return send_now(c->fd, srv.reply, len);
}

static void accept_one(struct client *c, unsigned *n)
{
	static const char busy[] = "{\"error\":\"too many clients\"}";
	int fd = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t len;

	if (fd < 0)
		return;
	if (*n >= MAX_CLIENTS) {
		send_now(fd, busy, sizeof(busy) - 1);
		close(fd);
		return;
	}
	len = sl_tm_hello(srv.reply, SL_TM_MAX_REPLY);
	if (!send_now(fd, srv.reply, len)) {
		close(fd);
		return;
	}
	c[*n].fd = fd;
	c[*n].deadline_ms = now_ms() + IDLE_MS;
	++*n;
}

static pthread_mutex_t up_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t up_cond = PTHREAD_COND_INITIALIZER;
static bool up;

static void *server_main(void *arg)
{
	struct pollfd pfd[2 + MAX_CLIENTS];
	struct client c[MAX_CLIENTS];
	unsigned n = 0, i;

	(void)arg;
	/* running: the C library has set the thread up (rseq), which a
	 * seccomp filter installed right after the start may forbid */
	pthread_mutex_lock(&up_lock);
	up = true;
	pthread_cond_signal(&up_cond);
	pthread_mutex_unlock(&up_lock);
	for (;;) {
		uint64_t now = now_ms(), next = UINT64_MAX;
		int timeout = -1;

		pfd[0] = (struct pollfd){ .fd = srv.wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = srv.lfd, .events = POLLIN };
		for (i = 0; i < n; i++) {
			pfd[2 + i] = (struct pollfd){ .fd = c[i].fd,
						      .events = POLLIN };
			if (c[i].deadline_ms < next)
				next = c[i].deadline_ms;
		}
		if (next != UINT64_MAX)
			timeout = next > now ? (int)(next - now) : 0;
		if (poll(pfd, 2 + n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		now = now_ms();
		/* backwards: drop() moves the last client into slot i */
		for (i = n; i-- > 0;) {
			short ev = pfd[2 + i].revents;

			if (ev & (POLLHUP | POLLERR | POLLNVAL))
				drop(c, &n, i);
			else if (ev & POLLIN ? !serve(&c[i]) :
					       c[i].deadline_ms <= now)
				drop(c, &n, i);
		}
		if (pfd[1].revents & POLLIN)
			accept_one(c, &n);
	}
	for (i = 0; i < n; i++)
		close(c[i].fd);
	return NULL;
}

/* A live server at path answers a connect; a stale socket file does not. */
static bool live_at(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return true; /* cannot tell: leave it */
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

static void close_all(void)
{
	if (srv.lfd >= 0)
		close(srv.lfd);
	if (srv.wake[0] >= 0)
		close(srv.wake[0]);
	if (srv.wake[1] >= 0)
		close(srv.wake[1]);
	free(srv.reply);
	srv.lfd = srv.wake[0] = srv.wake[1] = -1;
	srv.reply = NULL;
}

/* Remove the socket at exit; after a privilege drop the filter may refuse
 * it, and clients then skip the stale file (its PID is gone). */
static void at_exit(void)
{
	pthread_mutex_lock(&srv_lock);
	if (srv.running)
		unlink(srv.path);
	pthread_mutex_unlock(&srv_lock);
}

/* A child of fork() has no server thread: forget the parent's server
 * (its socket stays the parent's) so that the child may start its own. */
static void at_fork_child(void)
{
	if (!srv.running)
		return;
	close_all();
	srv.path[0] = '\0';
	srv.running = false;
}

static int start_locked(const char *path)
{
	static bool exit_hooked;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sigset_t all, old;
	int err;

	if (srv.running)
		return sl_fail(EALREADY, "telemetry: already serving at %s",
			       srv.path);
	if (!path) {
		if (mkdir(DEFAULT_DIR, 0700) && errno != EEXIST)
			return sl_fail(errno,
				       "telemetry: cannot make " DEFAULT_DIR
				       ": %s; give a path "
				       "(SLUICE_TELEMETRY=/tmp/x.sock)",
				       strerror(errno));
		snprintf(srv.path, sizeof(srv.path), DEFAULT_DIR "/%d.sock",
			 (int)getpid());
	} else {
		if (!*path || strlen(path) >= sizeof(sa.sun_path))
			return sl_fail(EINVAL,
				       "telemetry: socket path '%s': empty or "
				       "over %zu bytes",
				       path, sizeof(sa.sun_path) - 1);
		sl_strlcpy(srv.path, path, sizeof(srv.path));
	}
	sl_strlcpy(sa.sun_path, srv.path, sizeof(sa.sun_path));

	srv.reply = malloc(SL_TM_MAX_REPLY);
	srv.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (!srv.reply || srv.lfd < 0 || pipe2(srv.wake, O_CLOEXEC)) {
		err = sl_fail(srv.reply ? errno : ENOMEM,
			      "telemetry: cannot make a socket: %s",
			      strerror(srv.reply ? errno : ENOMEM));
		goto fail;
	}
	if (bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno != EADDRINUSE)
			goto fail_listen;
		if (live_at(&sa)) {
			err = sl_fail(EADDRINUSE,
				      "telemetry: %s: another process serves "
				      "there",
				      srv.path);
			goto fail;
		}
		/* stale: its process is gone */
		if (unlink(srv.path) ||
		    bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)))
			goto fail_listen;
	}
	if (listen(srv.lfd, MAX_CLIENTS))
		goto fail_listen;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&srv.thread, NULL, server_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		unlink(srv.path);
		err = sl_fail(-err, "telemetry: cannot start its thread: %s",
			      strerror(-err));
		goto fail;
	}
	pthread_setname_np(srv.thread, "sl-telemetry");
	/* the caller may drop its privileges next (sl_drop_privileges): the
	 * thread must be past its own start by then */
	pthread_mutex_lock(&up_lock);
	while (!up)
		pthread_cond_wait(&up_cond, &up_lock);
	up = false;
	pthread_mutex_unlock(&up_lock);
	srv.running = true;
	if (!exit_hooked)
		exit_hooked = atexit(at_exit) == 0 &&
			      pthread_atfork(NULL, NULL, at_fork_child) == 0;
	return 0;
fail_listen:
	err = sl_fail(errno, "telemetry: cannot listen at %s: %s", srv.path,
		      strerror(errno));
fail:
	close_all();
	srv.path[0] = '\0';
	return err;
}

int sl_telemetry_start(const char *path)
{
	int err;

	pthread_mutex_lock(&srv_lock);
	err = start_locked(path);
	pthread_mutex_unlock(&srv_lock);
	return err;
}

int sl_telemetry_stop(void)
{
	char b = 1;

	pthread_mutex_lock(&srv_lock);
	if (!srv.running) {
		pthread_mutex_unlock(&srv_lock);
		return sl_fail(ENOENT, "telemetry: no server runs");
	}
	if (write(srv.wake[1], &b, 1) != 1)
		sl_warn("telemetry: cannot wake its thread: %s",
			strerror(errno));
	pthread_join(srv.thread, NULL);
	unlink(srv.path);
	close_all();
	srv.path[0] = '\0';
	srv.running = false;
	pthread_mutex_unlock(&srv_lock);
	return 0;
}

const char *sl_telemetry_path(void)
{
	/* the path changes only under srv_lock while no server runs */
	return srv.path;
}

static void env_start(void)
{
	const char *v = getenv("SLUICE_TELEMETRY");
	int err;

	if (!v || !*v || !strcmp(v, "0"))
		return;
	err = sl_telemetry_start(strcmp(v, "1") ? v : NULL);
	if (err && err != -EALREADY)
		sl_warn("%s (SLUICE_TELEMETRY=%s); running without it",
			sl_last_error(), v);
}

void sl_telemetry_env_start(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, env_start);
}
