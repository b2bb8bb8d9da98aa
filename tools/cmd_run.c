// SPDX-License-Identifier: MIT
/*
 * sluice run [--path auto|xdp|packet|kernel] [--report[=FILE]]
 *            [--firewall kernel|bypass] -- APP ARGS
 *
 * Runs an unmodified program with libsluice-preload.so in LD_PRELOAD, so
 * that its UDP sockets take a bypass path where one opens and stay kernel
 * sockets elsewhere (docs/run.md). It execs APP: signals, the pid and the
 * exit status are APP's. The settings travel in the environment, so
 * programs APP execs get them too.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* app as execvp would find it, into buf; false if it finds none. */
static bool find_app(const char *app, char *buf, size_t len)
{
	const char *dirs = getenv("PATH"), *end;

	if (strchr(app, '/')) {
		snprintf(buf, len, "%s", app);
		return true;
	}
	for (dirs = dirs ? dirs : "/usr/local/bin:/usr/bin:/bin"; *dirs;
	     dirs = *end ? end + 1 : end) {
		end = strchrnul(dirs, ':');
		snprintf(buf, len, "%.*s/%s", (int)(end - dirs),
			 end > dirs ? dirs : ".", app);
		if (access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

/* Whether the ELF file at fd asks for a program interpreter (the dynamic
 * loader, which is what reads LD_PRELOAD): 1 yes, 0 no (static), -1 not
 * an ELF file this reads (a script: its interpreter is what runs). */
static int elf_dynamic(int fd)
{
	unsigned char id[EI_NIDENT];
	uint64_t off;
	unsigned n, size, i;

	if (pread(fd, id, sizeof(id), 0) != (ssize_t)sizeof(id) ||
	    memcmp(id, ELFMAG, SELFMAG))
		return -1;
	if (id[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr h;

		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
			return -1;
		off = h.e_phoff, n = h.e_phnum, size = h.e_phentsize;
	} else if (id[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr h;

		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
			return -1;
		off = h.e_phoff, n = h.e_phnum, size = h.e_phentsize;
	} else {
		return -1;
	}
	/* p_type is the first word of both classes' program headers */
	for (i = 0; i < n && i < 4096; i++) {
		uint32_t type;

		if (pread(fd, &type, sizeof(type),
			  (off_t)(off + (uint64_t)i * size)) !=
		    (ssize_t)sizeof(type))
			return -1;
		if (type == PT_INTERP)
			return 1;
	}
	return 0;
}

/*
 * Why the preload cannot reach app, or NULL: the dynamic loader reads
 * LD_PRELOAD, so a static program never loads the library, and the
 * loader ignores it in a set-user-ID or set-group-ID program run by
 * another user. Such a program runs all the same, on kernel sockets only.
 */
static const char *unreachable(const char *app)
{
	char file[PATH_MAX];
	struct stat st;
	int fd, dyn;

	if (!find_app(app, file, sizeof(file)))
		return NULL; /* execvp says so */
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	dyn = elf_dynamic(fd);
	if (fstat(fd, &st))
		st.st_mode = 0;
	close(fd);
	if (dyn == 0)
		return "statically linked: the preload cannot reach it";
	if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
	    ((st.st_mode & S_ISGID) && st.st_gid != getegid()))
		return "set-user-ID or set-group-ID: the loader ignores "
		       "LD_PRELOAD in it";
	return NULL;
}

/* The report's line for a program the preload cannot reach: this process
 * becomes it, so the pid is its. */
static void report_unreachable(const char *report, const char *app,
			       const char *why)
{
	FILE *f = strcmp(report, "-") ? fopen(report, "ae") : stderr;

	if (!f)
		return;
	fprintf(f, "sluice-run pid=%d program=%s path=kernel why=\"%s\"\n",
		(int)getpid(), app, why);
	if (f != stderr)
		fclose(f);
}

static void run_usage(void)
{
	fprintf(stderr, "usage: sluice run [--path auto|xdp|packet|kernel] "
			"[--report[=FILE]] [--firewall kernel|bypass] -- APP "
			"[ARGS...]\n");
}

int cmd_run(int argc, char **argv)
{
	const char *path = "auto", *report = NULL, *fw = NULL, *lib, *old, *why;
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
		} else if (!strcmp(a, "--firewall") && i + 1 < argc) {
			fw = argv[++i];
		} else if (!strncmp(a, "--firewall=", 11)) {
			fw = a + 11;
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
	if (fw && strcmp(fw, "kernel") && strcmp(fw, "bypass")) {
		fprintf(stderr,
			"sluice: run: --firewall %s: expected kernel or "
			"bypass\n",
			fw);
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
	    (report && setenv("SLUICE_RUN_REPORT", report, 1)) ||
	    (fw && setenv("SLUICE_RUN_FIREWALL", fw, 1))) {
		perror("sluice: run: setenv");
		return 1;
	}
	why = unreachable(argv[i]);
	if (why) {
		fprintf(stderr,
			"sluice: run: %s is %s; its sockets stay the "
			"kernel's\n",
			argv[i], why);
		report = getenv("SLUICE_RUN_REPORT");
		if (report && *report)
			report_unreachable(report, argv[i], why);
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "sluice: run: %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
