// SPDX-License-Identifier: MIT
/*
 * Telemetry client (tm_client.h). Every read has a timeout: a process that
 * stops answering (stopped under a debugger, say) must not hang `sluice
 * top`.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "sluice.h"
#include "tm_client.h"

#define TMC_MAX_REPLY 65536
#define TMC_TIMEOUT_MS 1000

void tmc_path_of(const char *arg, char path[TMC_PATH])
{
	if (strchr(arg, '/'))
		snprintf(path, TMC_PATH, "%s", arg);
	else
		snprintf(path, TMC_PATH, TMC_DIR "/%s.sock", arg);
}

int tmc_connect(const char *path)
{
	struct timeval tv = { .tv_sec = TMC_TIMEOUT_MS / 1000,
			      .tv_usec = TMC_TIMEOUT_MS % 1000 * 1000 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char hello[512];
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    recv(fd, hello, sizeof(hello), 0) <= 0) {
		err = errno ? errno : ECONNRESET;
		close(fd);
		return -err;
	}
	return fd;
}

struct json_object *tmc_query(int fd, const char *query, char *err,
			      size_t err_len)
{
	struct json_object *root, *v, *e;
	char *buf;
	ssize_t n;

	if (send(fd, query, strlen(query), MSG_NOSIGNAL) < 0) {
		snprintf(err, err_len, "%s: cannot ask: %s", query,
			 strerror(errno));
		return NULL;
	}
	buf = malloc(TMC_MAX_REPLY + 1);
	if (!buf) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	n = recv(fd, buf, TMC_MAX_REPLY, 0);
	if (n <= 0) {
		snprintf(err, err_len, "%s: no answer: %s", query,
			 n ? strerror(errno) : "connection closed");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	root = json_tokener_parse(buf);
	free(buf);
	if (!root || !json_object_is_type(root, json_type_object)) {
		snprintf(err, err_len, "%s: not a JSON object", query);
		json_object_put(root);
		errno = EPROTO;
		return NULL;
	}
	if (json_object_object_get_ex(root, "error", &e)) {
		snprintf(err, err_len, "%s: %s", query,
			 json_object_get_string(e));
		json_object_put(root);
		errno = EINVAL;
		return NULL;
	}
	/* the one member: the command's (without its parameter) */
	v = NULL;
	json_object_object_foreach(root, key, val)
	{
		(void)key;
		v = json_object_get(val);
		break;
	}
	json_object_put(root);
	if (!v) {
		snprintf(err, err_len, "%s: empty answer", query);
		errno = EPROTO;
	}
	return v;
}

struct json_object *tmc_snapshot(const char *path, bool xstats, char *err,
				 size_t err_len)
{
	struct json_object *st, *ports;
	size_t i;
	int fd = tmc_connect(path);

	if (fd < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(-fd));
		return NULL;
	}
	st = tmc_query(fd, "/stats", err, err_len);
	if (st && xstats && json_object_object_get_ex(st, "ports", &ports)) {
		for (i = 0; i < json_object_array_length(ports); i++) {
			struct json_object *p, *x;
			char q[64];

			p = json_object_array_get_idx(ports, i);
			snprintf(q, sizeof(q), "/port/xstats,%llu",
				 (unsigned long long)tmc_u64(p, "id"));
			x = tmc_query(fd, q, err, err_len);
			if (!x) /* closed since: no xstats */
				continue;
			json_object_object_del(x, "id");
			json_object_object_add(p, "xstats", x);
		}
	}
	close(fd);
	return st;
}

uint64_t tmc_u64(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

const char *tmc_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return "";
	return json_object_get_string(v);
}

static int by_pid(const void *a, const void *b)
{
	long x = atol(strrchr((const char *)a, '/') + 1);
	long y = atol(strrchr((const char *)b, '/') + 1);

	return (x > y) - (x < y);
}

unsigned tmc_discover(char (*paths)[TMC_PATH], unsigned n)
{
	struct dirent *de;
	unsigned k = 0;
	DIR *d = opendir(TMC_DIR);

	if (!d)
		return 0;
	while ((de = readdir(d)) && k < n) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int fd;

		if (pid <= 0 || strcmp(end, ".sock"))
			continue;
		/* a PID and .sock: short */
		snprintf(paths[k], TMC_PATH, TMC_DIR "/%.32s", de->d_name);
		fd = tmc_connect(paths[k]);
		if (fd >= 0) {
			close(fd);
			k++;
			continue;
		}
		/* stale: remove it only if its process is gone (a live
		 * one may be busy, or serve only its own user) */
		if (kill((pid_t)pid, 0) && errno == ESRCH)
			unlink(paths[k]);
	}
	closedir(d);
	qsort(paths, k, TMC_PATH, by_pid);
	return k;
}
