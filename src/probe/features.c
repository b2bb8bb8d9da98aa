// SPDX-License-Identifier: MIT
/*
 * Kernel feature probes, after libbpf's features.c: a table with one probe
 * per feature, each run once and its answer cached. A probe asks the kernel
 * directly where that is possible without privileges (a socket family or
 * syscall that answers EPERM exists; one that answers EAFNOSUPPORT or
 * ENOSYS does not), and falls back on the kernel version only where the
 * direct question needs privileges we may not have; the `why` line says
 * which was done, so nobody mistakes a guess for a measurement.
 *
 * The cache is an array of answers under one mutex: probes are control path
 * and cheap, and two threads probing the same feature at once must agree.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "core/log.h"
#include "probe/probe.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

void sl_probe_kernel_version(int *major, int *minor)
{
	struct utsname u;

	*major = *minor = 0;
	if (uname(&u) == 0 && sscanf(u.release, "%d.%d", major, minor) != 2)
		*major = *minor = 0;
}

int sl_probe_kernel_at_least(int major, int minor)
{
	int ma, mi;

	sl_probe_kernel_version(&ma, &mi);
	return ma > major || (ma == major && mi >= minor);
}

int sl_probe_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		int err = ferror(f) ? EIO : ENODATA;

		fclose(f);
		buf[0] = '\0';
		return -err;
	}
	fclose(f);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int sl_probe_read_long(const char *path, long *out)
{
	char buf[64], *end;
	int err = sl_probe_read_line(path, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	*out = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

static int say(char *why, size_t len, int ret, const char *fmt, ...)
	SL_PRINTF(4, 5);

static int say(char *why, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return ret;
}

/* A feature the kernel has had since major.minor, when it cannot be asked
 * directly without privileges. */
static int by_version(char *why, size_t len, int major, int minor,
		      const char *what)
{
	int ma, mi;

	sl_probe_kernel_version(&ma, &mi);
	if (ma > major || (ma == major && mi >= minor))
		return say(why, len, 1, "kernel %d.%d >= %d.%d (%s)", ma, mi,
			   major, minor, what);
	return say(why, len, 0, "kernel %d.%d < %d.%d (%s)", ma, mi, major,
		   minor, what);
}

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned size)
{
	return syscall(__NR_bpf, cmd, attr, size);
}

/* bpf(2), Linux 3.18. An unknown command answers EINVAL, a missing syscall
 * ENOSYS, a locked-down one EPERM (present, not usable by us). */
static int probe_bpf_syscall(char *why, size_t len)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	if (sys_bpf(-1, &attr, sizeof(attr)) == 0 || errno != ENOSYS)
		return say(why, len, 1, "bpf(2) answered %s: present",
			   strerrorname_np(errno) ? strerrorname_np(errno) :
						    "?");
	return say(why, len, 0, "bpf(2) answered ENOSYS");
}

/* AF_XDP sockets, Linux 4.18 (CONFIG_XDP_SOCKETS). Without CAP_NET_RAW the
 * family answers EPERM, which still proves it is there. */
static int probe_af_xdp(char *why, size_t len)
{
	int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		close(fd);
		return say(why, len, 1, "socket(AF_XDP) opened");
	}
	if (errno == EPERM || errno == EACCES)
		return say(why, len, 1,
			   "socket(AF_XDP) answered EPERM: present");
	return say(why, len, 0, "socket(AF_XDP) answered %s",
		   strerrorname_np(errno) ? strerrorname_np(errno) : "?");
}

/* Kernel BTF in sysfs, Linux 5.4 (CONFIG_DEBUG_INFO_BTF). */
static int probe_btf(char *why, size_t len)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		return say(why, len, 1, "/sys/kernel/btf/vmlinux readable");
	if (errno == EACCES)
		return say(why, len, 1,
			   "/sys/kernel/btf/vmlinux present "
			   "(not readable by us)");
	return say(why, len, 0, "no /sys/kernel/btf/vmlinux");
}

/* XDP_USE_NEED_WAKEUP, Linux 5.4: asking needs a UMEM registration, which
 * needs CAP_NET_RAW and locked memory, so the version decides. */
static int probe_need_wakeup(char *why, size_t len)
{
	return by_version(why, len, 5, 4, "XDP_USE_NEED_WAKEUP");
}

/* io_uring_setup(2), Linux 5.1. Zero entries answer EINVAL; ENOSYS means
 * absent; EPERM means disabled by kernel.io_uring_disabled (6.6). */
static int probe_io_uring(char *why, size_t len)
{
	long r = syscall(__NR_io_uring_setup, 0, NULL);

	if (r >= 0) {
		close((int)r);
		return say(why, len, 1, "io_uring_setup opened a ring");
	}
	if (errno == ENOSYS)
		return say(why, len, 0, "io_uring_setup answered ENOSYS");
	if (errno == EPERM)
		return say(why, len, 0,
			   "io_uring_setup answered EPERM: disabled "
			   "(sysctl kernel.io_uring_disabled)");
	return say(why, len, 1, "io_uring_setup answered %s: present",
		   strerrorname_np(errno) ? strerrorname_np(errno) : "?");
}

/* BPF links for XDP, Linux 5.9. With privileges, BPF_LINK_CREATE on a bad
 * program fd answers EBADF when the command exists; the command itself is
 * 5.7 and XDP attach through it 5.9, so a known command on an older kernel
 * still goes by version. */
static int probe_bpf_link_xdp(char *why, size_t len)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (uint32_t)-1;
	attr.link_create.target_ifindex = 1;
	attr.link_create.attach_type = BPF_XDP;
	if (sys_bpf(BPF_LINK_CREATE, &attr, sizeof(attr)) < 0 &&
	    errno == EBADF && sl_probe_kernel_at_least(5, 9))
		return say(why, len, 1,
			   "BPF_LINK_CREATE answered EBADF on kernel >= 5.9");
	return by_version(why, len, 5, 9, "BPF links for XDP");
}

/* BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18: a test run needs a loaded
 * program (CAP_BPF), so the version decides. */
static int probe_live_frames(char *why, size_t len)
{
	return by_version(why, len, 5, 18, "BPF_F_TEST_XDP_LIVE_FRAMES");
}

/* The netdev generic netlink family, Linux 6.3: XDP features and the
 * zero-copy segment limit as drivers declare them. Unprivileged. */
static int probe_netdev_genl(char *why, size_t len)
{
	int r = sl_netdev_family_present();

	if (r < 0)
		return say(why, len, r, "generic netlink query failed: %s",
			   strerror(-r));
	return say(why, len, r,
		   r ? "netdev family resolved" :
		       "no netdev family (kernel < 6.3)");
}

/* hugetlbfs pages of 2 MiB (CONFIG_HUGETLBFS). */
static int probe_hugetlb(char *why, size_t len)
{
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0)
		return say(why, len, 1, "2 MiB hugepage pool present");
	return say(why, len, 0, "no /sys/kernel/mm/hugepages/hugepages-2048kB");
}

struct feature_probe {
	const char *name;
	int (*probe)(char *why, size_t len);
};

static const struct feature_probe probes[SL_FEAT__COUNT] = {
	[SL_FEAT_BPF_SYSCALL] = { "bpf_syscall", probe_bpf_syscall },
	[SL_FEAT_AF_XDP] = { "af_xdp", probe_af_xdp },
	[SL_FEAT_BTF] = { "btf", probe_btf },
	[SL_FEAT_XDP_NEED_WAKEUP] = { "xdp_need_wakeup", probe_need_wakeup },
	[SL_FEAT_IO_URING] = { "io_uring", probe_io_uring },
	[SL_FEAT_BPF_LINK_XDP] = { "bpf_link_xdp", probe_bpf_link_xdp },
	[SL_FEAT_XDP_LIVE_FRAMES] = { "xdp_live_frames", probe_live_frames },
	[SL_FEAT_NETDEV_GENL] = { "netdev_genl", probe_netdev_genl },
	[SL_FEAT_HUGETLB] = { "hugetlb", probe_hugetlb },
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool done;
	int ret;
	char why[128];
} cache[SL_FEAT__COUNT];

const char *sl_feature_name(enum sl_feature f)
{
	if ((unsigned)f >= SL_FEAT__COUNT)
		return NULL;
	return probes[f].name;
}

int sl_probe_feature(enum sl_feature f, char *why, size_t len)
{
	int ret;

	if ((unsigned)f >= SL_FEAT__COUNT)
		return sl_fail(EINVAL, "sl_probe_feature: no feature %d",
			       (int)f);
	pthread_mutex_lock(&cache_lock);
	if (!cache[f].done) {
		int saved = errno;

		cache[f].ret =
			probes[f].probe(cache[f].why, sizeof(cache[f].why));
		/* a probe that failed is not cached: it may work next time */
		cache[f].done = cache[f].ret >= 0;
		errno = saved;
	}
	ret = cache[f].ret;
	if (why && len)
		sl_strlcpy(why, cache[f].why, len);
	pthread_mutex_unlock(&cache_lock);
	return ret;
}

void sl_probe_reset(void)
{
	pthread_mutex_lock(&cache_lock);
	memset(cache, 0, sizeof(cache));
	pthread_mutex_unlock(&cache_lock);
}
