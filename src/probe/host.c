// SPDX-License-Identifier: MIT
/*
 * Facts about the host: kernel, hugepages, locked-memory limit, CPUs,
 * effective capabilities, IOMMU groups and RDMA devices. Read fresh on
 * every call (they change: an operator reserves hugepages, a process drops
 * its capabilities), from /proc and /sys and with libcap. Anything that
 * cannot be read stays unknown and is named in `unread`; none of it needs
 * privileges.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <sys/capability.h>

#include "core/log.h"
#include "core/opts.h"
#include "probe/probe.h"

static void note(char *buf, size_t len, const char *what)
{
	size_t n = strlen(buf);

	if (n + 3 >= len)
		return;
	if (n) {
		memcpy(buf + n, "; ", 3);
		n += 2;
	}
	sl_strlcpy(buf + n, what, len - n);
}

static long read_or_note(const char *path, struct sl_host_facts *h,
			 const char *what)
{
	long v;

	if (sl_probe_read_long(path, &v) == 0)
		return v;
	note(h->unread, sizeof(h->unread), what);
	return -1;
}

static unsigned effective_caps(void)
{
	static const struct {
		cap_value_t cap;
		unsigned bit;
	} map[] = {
		{ CAP_NET_ADMIN, SL_CAPF_NET_ADMIN },
		{ CAP_NET_RAW, SL_CAPF_NET_RAW },
		{ CAP_BPF, SL_CAPF_BPF },
		{ CAP_IPC_LOCK, SL_CAPF_IPC_LOCK },
		{ CAP_SYS_ADMIN, SL_CAPF_SYS_ADMIN },
	};
	cap_t c = cap_get_proc();
	unsigned caps = 0;
	size_t i;

	if (!c)
		return 0;
	for (i = 0; i < SL_ARRAY_SIZE(map); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(c, map[i].cap, CAP_EFFECTIVE, &v) == 0 &&
		    v == CAP_SET)
			caps |= map[i].bit;
	}
	cap_free(c);
	return caps;
}

void sl_probe_caps_str(unsigned caps, char *buf, size_t len)
{
	static const char *const names[] = { "net_admin", "net_raw", "bpf",
					     "ipc_lock", "sys_admin" };
	size_t i, n = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < SL_ARRAY_SIZE(names); i++) {
		if (!(caps & (1u << i)))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
				      n ? "," : "", names[i]);
		if (n >= len)
			break;
	}
}

static int count_dir(const char *path, char *names, size_t len)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	if (names && len)
		names[0] = '\0';
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (names)
			note(names, len, e->d_name);
	}
	closedir(d);
	return n;
}

int sl_probe_host(struct sl_host_facts *out)
{
	struct sl_host_facts h;
	struct utsname u;
	struct rlimit rl;
	int n;
	size_t sz;

	if (sl_opts_out(out, sizeof(h), &sz, "sl_probe_host", "sl_host_facts"))
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	if (uname(&u) == 0)
		sl_strlcpy(h.kernel, u.release, sizeof(h.kernel));
	sl_probe_kernel_version(&h.kernel_major, &h.kernel_minor);
	h.unprivileged_bpf_disabled =
		(int)read_or_note("/proc/sys/kernel/unprivileged_bpf_disabled",
				  &h, "unprivileged_bpf_disabled");

	h.huge_2m_total = read_or_note(
		"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", &h,
		"2 MiB hugepages");
	h.huge_2m_free = h.huge_2m_total < 0 ?
				 -1 :
				 read_or_note("/sys/kernel/mm/hugepages/"
					      "hugepages-2048kB/free_hugepages",
					      &h, "2 MiB free hugepages");
	/* no 1 GiB pool is common (the CPU or the kernel lacks it): that is
	 * a fact, not something we failed to read */
	if (sl_probe_read_long(
		    "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
		    &h.huge_1g_total) ||
	    sl_probe_read_long("/sys/kernel/mm/hugepages/hugepages-1048576kB/"
			       "free_hugepages",
			       &h.huge_1g_free))
		h.huge_1g_total = h.huge_1g_free = -1;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		h.memlock_cur = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX :
							       rl.rlim_cur;
		h.memlock_max = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX :
							       rl.rlim_max;
	}

	h.cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (sl_probe_read_line("/sys/devices/system/cpu/isolated", h.isolated,
			       sizeof(h.isolated)))
		note(h.unread, sizeof(h.unread), "isolated cpus");
	/* only there with CONFIG_NO_HZ_FULL */
	sl_probe_read_line("/sys/devices/system/cpu/nohz_full", h.nohz_full,
			   sizeof(h.nohz_full));
	if (!strcmp(h.nohz_full, "(null)"))
		h.nohz_full[0] = '\0';
	/* no cpufreq (virtual machines) is a fact: governor stays "" */
	sl_probe_read_line(
		"/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
		h.governor, sizeof(h.governor));

	h.caps = effective_caps();
	h.uid = (int)getuid();
	h.euid = (int)geteuid();

	n = count_dir("/sys/kernel/iommu_groups", NULL, 0);
	h.iommu_groups = n > 0 ? n : -1;
	n = count_dir("/sys/class/infiniband", h.rdma, sizeof(h.rdma));
	h.n_rdma = n > 0 ? (unsigned)n : 0;

	h.sz = out->sz;
	memcpy(out, &h, sz);
	return 0;
}
