// SPDX-License-Identifier: MIT
/*
 * sl_lcore_check (include/sluice/lcore.h): what makes a core dedicated,
 * read from /sys and /proc the way `sluice doctor` reads the host, each
 * finding with its fix. Nothing here refuses or changes anything: a core
 * that shares its CPU with IRQs, kernel threads or a slow governor still
 * runs a worker, with more jitter and a lower rate.
 *
 * The roots are SLUICE_SYSFS_ROOT and SLUICE_PROC_ROOT when set, so the
 * unit tests read fake trees (tests/fixtures/lcore/); a file that is not
 * there (a VM has no cpufreq, a veth no device) is a finding of its own,
 * a note, not an error.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/opts.h"
#include "lcore/lcore.h"

#define IRQ_TAB (1 << 18) /* bytes of /proc/interrupts read */
#define LIST_NAMES 6 /* IRQs or threads named in a finding, then a count */

static const char *sys_root(void)
{
	const char *r = getenv("SLUICE_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

static const char *proc_root(void)
{
	const char *r = getenv("SLUICE_PROC_ROOT");

	return r && *r ? r : "/proc";
}

/* The contents of ROOT/PATH into buf, trailing whitespace cut. 0, or -1
 * when it cannot be read. */
static int read_at(const char *root, char *buf, size_t size, const char *fmt,
		   ...) SL_PRINTF(4, 5);
static int read_at(const char *root, char *buf, size_t size, const char *fmt,
		   ...)
{
	char path[512];
	va_list ap;
	ssize_t len;
	size_t off;
	int fd;

	off = (size_t)snprintf(path, sizeof(path), "%s/", root);
	va_start(ap, fmt);
	vsnprintf(path + off, sizeof(path) - off, fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -1;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = 0;
	return 0;
}

static struct sl_lcore_finding *
add(struct sl_lcore_report *r, const char *check, enum sl_lcore_level level)
{
	struct sl_lcore_finding *f;

	if (r->n >= SL_LCORE_MAX_FINDINGS) /* every check adds one */
		return &r->f[SL_LCORE_MAX_FINDINGS - 1];
	f = &r->f[r->n++];
	memset(f, 0, sizeof(*f));
	sl_strlcpy(f->check, check, sizeof(f->check));
	f->level = level;
	if (level == SL_LCORE_WARN)
		r->warnings++;
	return f;
}

/* Online CPUs but cpu, as a list for the fixes ("0", "0,2-3"); "0" when
 * that cannot be read, the usual housekeeping CPU. */
static void others(unsigned cpu, char *out, size_t size)
{
	char online[256];
	unsigned c, first = 0;
	bool run = false;
	size_t off = 0;

	out[0] = 0;
	if (read_at(sys_root(), online, sizeof(online),
		    "devices/system/cpu/online") == 0) {
		for (c = 0; c <= 4096 && off < size; c++) {
			bool in = c < 4096 && c != cpu &&
				  sl_cpu_list_has(online, c) == 1;

			if (in && !run) {
				first = c;
				run = true;
			}
			if (in || !run)
				continue;
			run = false;
			if (first == c - 1)
				off += (size_t)snprintf(out + off, size - off,
							"%s%u", off ? "," : "",
							first);
			else
				off += (size_t)snprintf(out + off, size - off,
							"%s%u-%u",
							off ? "," : "", first,
							c - 1);
		}
	}
	if (!out[0])
		snprintf(out, size, "%u", cpu ? 0 : 1);
}

/* The value of a kernel command line parameter ("rcu_nocbs=1-3"), into
 * val; 0, or -1 when it is not there. */
static int cmdline_param(const char *name, char *val, size_t size)
{
	char line[4096], *tok, *save = NULL;
	size_t len = strlen(name);

	if (read_at(proc_root(), line, sizeof(line), "cmdline"))
		return -1;
	for (tok = strtok_r(line, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (!strncmp(tok, name, len) &&
		    (tok[len] == '=' || tok[len] == 0)) {
			sl_strlcpy(val, tok[len] ? tok + len + 1 : "", size);
			return 0;
		}
	}
	return -1;
}

static void check_isolated(struct sl_lcore_report *r, unsigned cpu)
{
	struct sl_lcore_finding *f;
	char list[1024];

	if (read_at(sys_root(), list, sizeof(list),
		    "devices/system/cpu/isolated")) {
		f = add(r, "isolcpus", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what),
			 "cannot read /sys/devices/system/cpu/isolated");
		return;
	}
	if (sl_cpu_list_has(list, cpu) == 1) {
		f = add(r, "isolcpus", SL_LCORE_OK);
		snprintf(f->what, sizeof(f->what),
			 "cpu %u is isolated from the scheduler (isolcpus)",
			 cpu);
		return;
	}
	f = add(r, "isolcpus", SL_LCORE_WARN);
	snprintf(f->what, sizeof(f->what),
		 "cpu %u is not isolated (isolated: %.64s): other tasks are "
		 "scheduled on it",
		 cpu, list[0] ? list : "none");
	snprintf(f->fix, sizeof(f->fix),
		 "add isolcpus=%u nohz_full=%u rcu_nocbs=%u to the kernel "
		 "command line and reboot",
		 cpu, cpu, cpu);
}

static void check_nohz(struct sl_lcore_report *r, unsigned cpu)
{
	struct sl_lcore_finding *f;
	char list[1024];

	if (read_at(sys_root(), list, sizeof(list),
		    "devices/system/cpu/nohz_full")) {
		f = add(r, "nohz_full", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what),
			 "no /sys/devices/system/cpu/nohz_full: a kernel "
			 "without CONFIG_NO_HZ_FULL; the tick stays on cpu %u",
			 cpu);
		return;
	}
	if (sl_cpu_list_has(list, cpu) == 1) {
		f = add(r, "nohz_full", SL_LCORE_OK);
		snprintf(f->what, sizeof(f->what),
			 "cpu %u runs without the scheduler tick (nohz_full)",
			 cpu);
		return;
	}
	f = add(r, "nohz_full", SL_LCORE_WARN);
	snprintf(f->what, sizeof(f->what),
		 "cpu %u keeps the scheduler tick (nohz_full: %.64s)", cpu,
		 list[0] && strcmp(list, "(null)") ? list : "none");
	snprintf(f->fix, sizeof(f->fix),
		 "add nohz_full=%u to the kernel command line and reboot", cpu);
}

static void check_rcu(struct sl_lcore_report *r, unsigned cpu)
{
	struct sl_lcore_finding *f;
	char val[1024];

	if (cmdline_param("rcu_nocbs", val, sizeof(val)) == 0 &&
	    (!val[0] || !strcmp(val, "all") ||
	     sl_cpu_list_has(val, cpu) == 1)) {
		f = add(r, "rcu_nocbs", SL_LCORE_OK);
		snprintf(f->what, sizeof(f->what),
			 "cpu %u runs no RCU callbacks (rcu_nocbs=%.64s)", cpu,
			 val[0] ? val : "all");
		return;
	}
	f = add(r, "rcu_nocbs", SL_LCORE_WARN);
	snprintf(f->what, sizeof(f->what),
		 "cpu %u runs RCU callbacks (not in rcu_nocbs= on the kernel "
		 "command line)",
		 cpu);
	snprintf(f->fix, sizeof(f->fix),
		 "add rcu_nocbs=%u to the kernel command line and reboot", cpu);
}

/* The column of cpu's counts in /proc/interrupts (1 for the first), from
 * its header "CPU0 CPU1 ..."; 0 when it has none (an offline CPU). */
static unsigned irq_col(const char *tab, unsigned cpu)
{
	const char *l = tab;
	unsigned i = 0;
	char *end;

	while (*l && *l != '\n') {
		while (*l == ' ')
			l++;
		if (strncmp(l, "CPU", 3))
			break;
		i++;
		if (strtoul(l + 3, &end, 10) == cpu)
			return i;
		l = end;
	}
	return 0;
}

/* The name of an IRQ (the last word of its /proc/interrupts line) and how
 * often it fired in column col. */
static void irq_line(const char *tab, const char *irq, unsigned col, char *name,
		     size_t size, unsigned long long *count)
{
	size_t ilen = strlen(irq);
	const char *l, *e;

	name[0] = 0;
	*count = 0;
	for (l = tab; l && *l; l = e ? e + 1 : NULL) {
		const char *p = l, *q;
		unsigned i;
		char *end;

		e = strchr(l, '\n');
		while (*p == ' ')
			p++;
		if (strncmp(p, irq, ilen) || p[ilen] != ':')
			continue;
		p += ilen + 1;
		for (i = 1; i <= col; i++) {
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			if (i == col)
				*count = v;
			p = end;
		}
		q = e ? e : p + strlen(p);
		while (q > p && q[-1] == ' ')
			q--;
		e = q;
		while (q > p && q[-1] != ' ')
			q--;
		snprintf(name, size, "%.*s", (int)(e - q), q);
		return;
	}
}

static void check_irqs(struct sl_lcore_report *r, unsigned cpu)
{
	char path[512], list[1024], names[512] = "", nums[256] = "";
	char hk[64], name[64];
	char *tab;
	unsigned col;
	struct sl_lcore_finding *f;
	unsigned n = 0, fired = 0;
	size_t off = 0, noff = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/irq", proc_root());
	dir = opendir(path);
	if (!dir) {
		f = add(r, "irqs", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what), "cannot read %.200s", path);
		return;
	}
	/* on the heap: a big host's table is tens of KiB */
	tab = malloc(IRQ_TAB);
	if (tab && read_at(proc_root(), tab, IRQ_TAB, "interrupts"))
		tab[0] = 0;
	col = tab ? irq_col(tab, cpu) : 0;
	while ((d = readdir(dir))) {
		unsigned long long cnt;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		if (read_at(proc_root(), list, sizeof(list),
			    "irq/%s/smp_affinity_list", d->d_name) ||
		    sl_cpu_list_has(list, cpu) != 1)
			continue;
		cnt = 0;
		name[0] = 0;
		if (tab)
			irq_line(tab, d->d_name, col, name, sizeof(name), &cnt);
		if (cnt)
			fired++;
		if (n < LIST_NAMES) {
			off += (size_t)snprintf(names + off,
						sizeof(names) - off,
						"%s%s%s%s%s", n ? ", " : "",
						d->d_name, name[0] ? " (" : "",
						name, name[0] ? ")" : "");
			if (off >= sizeof(names))
				off = sizeof(names) - 1;
		}
		if (n < LIST_NAMES) {
			noff += (size_t)snprintf(nums + noff,
						 sizeof(nums) - noff, "%s%s",
						 n ? " " : "", d->d_name);
			if (noff >= sizeof(nums))
				noff = sizeof(nums) - 1;
		}
		n++;
	}
	closedir(dir);
	free(tab);
	if (!n) {
		f = add(r, "irqs", SL_LCORE_OK);
		snprintf(f->what, sizeof(f->what), "no IRQ may run on cpu %u",
			 cpu);
		return;
	}
	others(cpu, hk, sizeof(hk));
	f = add(r, "irqs", SL_LCORE_WARN);
	snprintf(f->what, sizeof(f->what),
		 "%u IRQ(s) may run on cpu %u (%u fired there): %s%s", n, cpu,
		 fired, names, n > LIST_NAMES ? ", ..." : "");
	snprintf(f->fix, sizeof(f->fix),
		 "for N in %s%s; do echo %s > /proc/irq/$N/smp_affinity_list; "
		 "done (and keep irqbalance off cpu %u)",
		 nums, n > LIST_NAMES ? " ..." : "", hk, cpu);
}

/* Whether comm is a kernel thread that competes with a poll loop: NAPI
 * (threaded NAPI, "napi/IF-ID"), RCU callbacks ("rcuc/N", "rcuop/N") and
 * the no-CB grace-period threads ("rcuog/N"). */
static bool kthread_of_interest(const char *comm)
{
	return !strncmp(comm, "napi/", 5) || !strncmp(comm, "rcuc/", 5) ||
	       !strncmp(comm, "rcuog/", 6) || !strncmp(comm, "rcuop/", 6);
}

static void check_kthreads(struct sl_lcore_report *r, unsigned cpu)
{
	char path[512], comm[64], status[4096], names[512] = "", pids[256] = "";
	char hk[64];
	struct sl_lcore_finding *f;
	size_t off = 0, poff = 0;
	struct dirent *d;
	unsigned n = 0;
	DIR *dir;

	dir = opendir(proc_root());
	if (!dir) {
		f = add(r, "kthreads", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what), "cannot read %s",
			 proc_root());
		return;
	}
	while ((d = readdir(dir))) {
		const char *l;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		if (read_at(proc_root(), comm, sizeof(comm), "%s/comm",
			    d->d_name) ||
		    !kthread_of_interest(comm))
			continue;
		if (read_at(proc_root(), status, sizeof(status), "%s/status",
			    d->d_name))
			continue;
		l = strstr(status, "Cpus_allowed_list:");
		if (!l)
			continue;
		l += strlen("Cpus_allowed_list:");
		while (*l == ' ' || *l == '\t')
			l++;
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(l, "\n"), l);
		if (sl_cpu_list_has(path, cpu) != 1)
			continue;
		if (n < LIST_NAMES) {
			off += (size_t)snprintf(names + off,
						sizeof(names) - off,
						"%s%s (pid %s)", n ? ", " : "",
						comm, d->d_name);
			if (off >= sizeof(names))
				off = sizeof(names) - 1;
			poff += (size_t)snprintf(pids + poff,
						 sizeof(pids) - poff, "%s%s",
						 n ? " " : "", d->d_name);
			if (poff >= sizeof(pids))
				poff = sizeof(pids) - 1;
		}
		n++;
	}
	closedir(dir);
	if (!n) {
		f = add(r, "kthreads", SL_LCORE_OK);
		snprintf(f->what, sizeof(f->what),
			 "no NAPI or RCU kernel thread may run on cpu %u", cpu);
		return;
	}
	others(cpu, hk, sizeof(hk));
	f = add(r, "kthreads", SL_LCORE_WARN);
	snprintf(f->what, sizeof(f->what),
		 "%u NAPI/RCU kernel thread(s) may run on cpu %u: %s%s", n, cpu,
		 names, n > LIST_NAMES ? ", ..." : "");
	snprintf(f->fix, sizeof(f->fix),
		 "for P in %s%s; do taskset -pc %s $P; done (a per-CPU rcuc/%u "
		 "stays: rcu_nocbs=%u)",
		 pids, n > LIST_NAMES ? " ..." : "", hk, cpu, cpu);
}

static void check_governor(struct sl_lcore_report *r, unsigned cpu)
{
	struct sl_lcore_finding *f;
	char gov[64];

	if (read_at(sys_root(), gov, sizeof(gov),
		    "devices/system/cpu/cpu%u/cpufreq/scaling_governor", cpu)) {
		f = add(r, "governor", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what),
			 "cpu %u has no cpufreq (a VM, or the firmware sets "
			 "the frequency): nothing to set here",
			 cpu);
		return;
	}
	if (!strcmp(gov, "performance")) {
		f = add(r, "governor", SL_LCORE_OK);
		snprintf(f->what, sizeof(f->what),
			 "cpu %u runs the performance governor", cpu);
		return;
	}
	f = add(r, "governor", SL_LCORE_WARN);
	snprintf(f->what, sizeof(f->what),
		 "cpu %u runs the %s governor: the clock follows the load, "
		 "so a poll loop's rate and latency wander",
		 cpu, gov);
	snprintf(f->fix, sizeof(f->fix),
		 "cpupower -c %u frequency-set -g performance", cpu);
}

/* The NUMA node of cpu (its cpuN/nodeM link), or -1. */
static int cpu_node(unsigned cpu)
{
	char path[512];
	struct dirent *d;
	int node = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu%u", sys_root(),
		 cpu);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "node", 4) &&
		    isdigit((unsigned char)d->d_name[4])) {
			node = atoi(d->d_name + 4);
			break;
		}
	closedir(dir);
	return node;
}

static void check_numa(struct sl_lcore_report *r, unsigned cpu,
		       const char *ifname)
{
	struct sl_lcore_finding *f;
	char val[32], cpus[256];
	int dev, mine;

	if (!ifname || !*ifname) {
		f = add(r, "numa", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what),
			 "no interface: no device node to match");
		return;
	}
	if (read_at(sys_root(), val, sizeof(val),
		    "class/net/%s/device/numa_node", ifname)) {
		f = add(r, "numa", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what),
			 "%s has no device (virtual, such as a veth): no NUMA "
			 "node to match",
			 ifname);
		return;
	}
	dev = atoi(val);
	mine = cpu_node(cpu);
	if (dev < 0) {
		f = add(r, "numa", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what),
			 "%s's device has no NUMA node (one node, or the "
			 "firmware does not say)",
			 ifname);
		return;
	}
	if (mine < 0) {
		f = add(r, "numa", SL_LCORE_NOTE);
		snprintf(f->what, sizeof(f->what),
			 "%s is on node %d; cpu %u's node is unknown", ifname,
			 dev, cpu);
		return;
	}
	if (mine == dev) {
		f = add(r, "numa", SL_LCORE_OK);
		snprintf(f->what, sizeof(f->what),
			 "cpu %u is on node %d, %s's node", cpu, mine, ifname);
		return;
	}
	if (read_at(sys_root(), cpus, sizeof(cpus),
		    "devices/system/node/node%d/cpulist", dev))
		snprintf(cpus, sizeof(cpus), "?");
	f = add(r, "numa", SL_LCORE_WARN);
	snprintf(f->what, sizeof(f->what),
		 "cpu %u is on node %d, %s on node %d: every frame crosses "
		 "the interconnect",
		 cpu, mine, ifname, dev);
	snprintf(f->fix, sizeof(f->fix), "pick a core on node %d (cpus %.128s)",
		 dev, cpus);
}

int sl_lcore_check(unsigned cpu, const char *ifname,
		   struct sl_lcore_report *out)
{
	struct sl_lcore_report r;
	size_t n;
	int err;

	err = sl_opts_out(out, sizeof(r), &n, "sl_lcore_check",
			  "sl_lcore_report");
	if (err)
		return err;
	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.cpu = cpu;
	check_isolated(&r, cpu);
	check_nohz(&r, cpu);
	check_rcu(&r, cpu);
	check_irqs(&r, cpu);
	check_kthreads(&r, cpu);
	check_governor(&r, cpu);
	check_numa(&r, cpu, ifname);
	r.sz = out->sz;
	memcpy(out, &r, n);
	return 0;
}
