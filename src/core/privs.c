// SPDX-License-Identifier: MIT
/*
 * sl_drop_privileges (include/sluice/privs.h): give up what opening the
 * ports needed, with libcap and libseccomp. The order matters:
 *  1. the bounding set first, while CAP_SETPCAP is still effective;
 *  2. the user change with PR_SET_KEEPCAPS, so the capabilities the caller
 *     keeps survive setuid (which clears the effective set);
 *  3. the capability sets, to exactly what is kept;
 *  4. no_new_privs, so nothing executed later gains privileges back (and
 *     so an unprivileged process may install a filter);
 *  5. the seccomp filter last, as it forbids the calls the steps above
 *     make. It is synchronised to every thread (TSYNC).
 *
 * The filter's default is EPERM rather than killing the process: a denied
 * call in an error path (an auto: port trying to reopen, a log file) then
 * shows up as a message, not as a dead process with no explanation.
 */
#include <errno.h>
#include <sched.h>
#include <grp.h>
#include <linux/bpf.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>
#include <sys/capability.h>

#include <sluice/privs.h>

#include "core/log.h"
#include "core/opts.h"

/* What a poll loop over open ports needs, and nothing that creates new
 * access: no socket, open, execve, ptrace, mount, setsockopt, and bpf()
 * only as allowed_bpf below says. */
static const char *const allowed[] = {
	/* I/O on descriptors already open */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"recvfrom",
	"recvmsg",
	"recvmmsg",
	"sendto",
	"sendmsg",
	"sendmmsg",
	"getsockopt",
	/* connections to a socket already listening: the telemetry
	 * server's (include/sluice/telemetry.h); reaches nothing the
	 * process had not set up before the drop */
	"accept4",
	"lseek",
	"fstat",
	"newfstatat",
	"close",
	/* waiting */
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"epoll_wait",
	"epoll_pwait",
	"nanosleep",
	"clock_nanosleep",
	"sched_yield",
	"futex",
	/* time */
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	"time",
	/* memory: malloc and free (the pools are allocated, but libc and an
	 * application's own buffers are not) */
	"brk",
	"mmap",
	"munmap",
	"mremap",
	"madvise",
	"mprotect",
	/* identity and signals (sigaltstack: sanitizers read it on every
	 * noreturn call) */
	"getpid",
	"gettid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"rt_sigreturn",
	"rt_sigprocmask",
	"sigaltstack",
	"restart_syscall",
	"tgkill",
	"getrandom",
	/* starting the poll-loop workers (sl_lcore_launch) after the drop:
	 * threads only, see install_seccomp for clone and clone3 */
	"set_robust_list",
	"rseq",
	"sched_getaffinity",
	"sched_setaffinity",
	/* leaving */
	"exit",
	"exit_group",
};

/* bpf() only to read or clear entries of maps already open: the steering
 * program's counters (an xdp port's xstats) and a queue's entry unbound at
 * close. Both act on a descriptor the process holds and need no
 * capability; loading or attaching programs, and reaching maps or programs
 * by id, stay denied. The command is an int: compare its low 32 bits. */
static const unsigned allowed_bpf[] = {
	BPF_MAP_LOOKUP_ELEM,
	BPF_MAP_DELETE_ELEM,
};

static int install_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	size_t i;
	int err;

	if (!ctx)
		return sl_fail(ENOMEM, "seccomp: cannot make a filter");
	for (i = 0; i < SL_ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		/* a call this architecture does not have (time) is fine */
		if (nr == __NR_SCMP_ERROR)
			continue;
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (err) {
			seccomp_release(ctx);
			return sl_fail(-err, "seccomp: cannot allow %s: %s",
				       allowed[i], strerror(-err));
		}
	}
	for (i = 0; i < SL_ARRAY_SIZE(allowed_bpf); i++) {
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu,
					       allowed_bpf[i]));
		if (err) {
			seccomp_release(ctx);
			return sl_fail(-err, "seccomp: cannot allow bpf: %s",
				       strerror(-err));
		}
	}
	/*
	 * Threads, never processes: clone only with CLONE_THREAD (a fork or
	 * a vfork+exec stays denied), and clone3, whose flags sit in a struct
	 * a filter cannot read, answers ENOSYS, on which glibc's
	 * pthread_create falls back to clone.
	 */
	err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
				       CLONE_THREAD));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	if (err) {
		seccomp_release(ctx);
		return sl_fail(-err, "seccomp: cannot allow threads: %s",
			       strerror(-err));
	}
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err)
		return sl_fail(-err, "seccomp: cannot install the filter: %s",
			       strerror(-err));
	return 0;
}

static int lookup_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(user, &end, 10);
	pw = *user && !*end ? getpwuid((uid_t)n) : getpwnam(user);
	if (!pw) {
		if (*user && !*end) {
			/* a bare number with no passwd entry: its own group */
			*uid = (uid_t)n;
			*gid = (gid_t)n;
			return 0;
		}
		return sl_fail(errno ? errno : ENOENT,
			       "sl_drop_privileges: no user '%s'", user);
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static bool have_cap(cap_t c, cap_value_t v, cap_flag_t set)
{
	cap_flag_value_t f = CAP_CLEAR;

	return cap_get_flag(c, v, set, &f) == 0 && f == CAP_SET;
}

int sl_drop_privileges(const struct sl_privs_opts *opts)
{
	struct sl_privs_opts o = { .sz = sizeof(o) };
	cap_value_t keep[64];
	unsigned n_keep = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	cap_value_t v;
	cap_t c;
	int err;

	if (sl_opts_in(&o, sizeof(o), opts, "sl_drop_privileges",
		       "sl_privs_opts"))
		return -EINVAL;
	if (o.user && (err = lookup_user(o.user, &uid, &gid)))
		return err;

	c = cap_get_proc();
	if (!c)
		return sl_fail(errno,
			       "sl_drop_privileges: cannot read "
			       "capabilities: %s",
			       strerror(errno));
	/* keep only what we have: asking for more would fail */
	for (v = 0; v <= CAP_LAST_CAP && v < 64; v++)
		if ((o.keep_caps & SL_PRIV_CAP(v)) &&
		    have_cap(c, v, CAP_PERMITTED))
			keep[n_keep++] = v;

	/* 1. the bounding set, while CAP_SETPCAP is there to do it; without
	 * it no_new_privs below keeps the set from ever being used */
	if (have_cap(c, CAP_SETPCAP, CAP_EFFECTIVE)) {
		for (v = 0; v <= CAP_LAST_CAP; v++) {
			if (v < 64 && (o.keep_caps & SL_PRIV_CAP(v)))
				continue;
			if (cap_drop_bound(v) && errno != EINVAL) {
				err = errno;
				cap_free(c);
				return sl_fail(err,
					       "sl_drop_privileges: cannot "
					       "drop %s from the bounding "
					       "set: %s",
					       cap_to_name(v), strerror(err));
			}
		}
	}
	cap_free(c);
	/* ambient capabilities would come back on execve */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

	/* 2. the user */
	if (o.user) {
		if (n_keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
			return sl_fail(errno,
				       "sl_drop_privileges: "
				       "PR_SET_KEEPCAPS: %s",
				       strerror(errno));
		if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
			return sl_fail(errno,
				       "sl_drop_privileges: cannot "
				       "become %s (uid %u gid %u): %s",
				       o.user, (unsigned)uid, (unsigned)gid,
				       strerror(errno));
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}

	/* 3. exactly the kept capabilities, effective and permitted */
	c = cap_init();
	if (!c)
		return sl_fail(ENOMEM, "sl_drop_privileges: out of memory");
	if (n_keep &&
	    (cap_set_flag(c, CAP_PERMITTED, (int)n_keep, keep, CAP_SET) ||
	     cap_set_flag(c, CAP_EFFECTIVE, (int)n_keep, keep, CAP_SET))) {
		err = errno;
		cap_free(c);
		return sl_fail(err, "sl_drop_privileges: %s", strerror(err));
	}
	if (cap_set_proc(c)) {
		err = errno;
		cap_free(c);
		return sl_fail(err,
			       "sl_drop_privileges: cannot set "
			       "capabilities: %s",
			       strerror(err));
	}
	cap_free(c);

	/* 4. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return sl_fail(errno, "sl_drop_privileges: no_new_privs: %s",
			       strerror(errno));
	/* 5. */
	if (o.seccomp)
		return install_seccomp();
	return 0;
}
