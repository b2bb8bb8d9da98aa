// SPDX-License-Identifier: MIT
/*
 * sluice run [--path auto|xdp|packet|kernel] [--report[=FILE]] -- APP ARGS
 *
 * Runs an unmodified program with libsluice-preload.so in LD_PRELOAD, so
 * that its UDP sockets take a bypass path where one opens and stay kernel
 * sockets elsewhere (docs/run.md). It execs APP: signals, the pid and the
 * exit status are APP's. The settings travel in the environment, so
 * programs APP execs get them too.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice.h"

#ifndef SL_PRELOAD_INSTALLED
#define SL_PRELOAD_INSTALLED "libsluice-preload.so"
#endif

/* The library next to this program in the build tree, else the installed
 * one; SLUICE_PRELOAD overrides both. */
static const char *preload_path(char *buf, size_t len)
{
	const char *env = getenv("SLUICE_PRELOAD");
	char exe[PATH_MAX - 64];
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, len, "%s/../preload/libsluice-preload.so",
				 exe);
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	return SL_PRELOAD_INSTALLED;
}

static void run_usage(void)
{
	fprintf(stderr, "usage: sluice run [--path auto|xdp|packet|kernel] "
			"[--report[=FILE]] -- APP [ARGS...]\n");
}

int cmd_run(int argc, char **argv)
{
	const char *path = "auto", *report = NULL, *lib, *old;
	char buf[PATH_MAX], *pre;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--path") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strncmp(a, "--path=", 7)) {
			path = a + 7;
		} else if (!strcmp(a, "--report")) {
			report = "-";
		} else if (!strncmp(a, "--report=", 9)) {
			report = a + 9;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			run_usage();
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "sluice: run: unknown option %s\n", a);
			run_usage();
			return 2;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "sluice: run: no program to run\n");
		run_usage();
		return 2;
	}
	if (strcmp(path, "auto") && strcmp(path, "xdp") &&
	    strcmp(path, "packet") && strcmp(path, "kernel")) {
		fprintf(stderr,
			"sluice: run: --path %s: expected auto, xdp, packet "
			"or kernel\n",
			path);
		return 2;
	}
	lib = preload_path(buf, sizeof(buf));
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		size_t n = strlen(lib) + strlen(old) + 2;

		pre = malloc(n);
		if (!pre)
			return 1;
		snprintf(pre, n, "%s:%s", lib, old);
	} else {
		pre = strdup(lib);
		if (!pre)
			return 1;
	}
	if (setenv("LD_PRELOAD", pre, 1) ||
	    setenv("SLUICE_RUN_PATH", path, 1) ||
	    (report && setenv("SLUICE_RUN_REPORT", report, 1))) {
		perror("sluice: run: setenv");
		return 1;
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "sluice: run: %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
