// SPDX-License-Identifier: MIT
/*
 * Shared by the receive benchmarks on the veth test bed (bench/rx_bench.c,
 * `sluice bench`): the frame and the live-frames sender that feed them,
 * NAPI kthread pinning and dpdk-testpmd as a peer. See rxcore.h. testpmd's statistics are printf()s, so it runs under
 * `stdbuf -oL` with its output in a log file that is read back from the
 * start each time (small: a few KiB per row); a command is answered when
 * one more prompt or counter line appears in it.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sluice/core.h>
#include <sluice/live.h>
#include <sluice/net.h>
#include <sluice/port.h>
#include <sluice/mem.h>

#include "rxcore.h"

#define TESTPMD_START_S 30.0 /* EAL start, PMD probe, XDP program load */
#define LOG_MAX (1 << 18)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

int rxc_frame(const struct tb *tb, uint16_t sport, uint16_t dport,
	      uint8_t *frame)
{
	struct sl_udp_params up = { 0 };

	up.src.family = up.dst.family = AF_INET;
	up.src.v4 = tb->end[TB_A].ip4;
	up.dst.v4 = tb->end[TB_B].ip4;
	up.src.port = sport;
	up.dst.port = dport;
	memcpy(up.src_mac, tb->end[TB_A].mac, SL_ETH_ALEN);
	memcpy(up.dst_mac, tb->end[TB_B].mac, SL_ETH_ALEN);
	return sl_udp_build(frame, RXC_FRAME_LEN, &up, NULL,
			    RXC_FRAME_LEN - sl_udp_hdr_len(&up)) ==
			       RXC_FRAME_LEN ?
		       0 :
		       -EINVAL;
}

/*
 * The fallback sender: an AF_PACKET port in A (no XDP program on A, so the
 * forwarding rows' counter there still attaches), the frame copied into
 * each buffer, bursts of 256 through sl_tx_burst; paced runs spin on the
 * clock between bursts. It costs the sender a socket buffer and a trip
 * through the veth per frame, so it offers ~1 Mpps where live frames
 * offer ~12: rows above that rate say they measured the sender.
 */
#define PORT_SENDER_BURST 256

static int port_sender(struct rxc_sender *s)
{
	struct sl_port_opts po = { .sz = sizeof(po), .n_bufs = 4096 };
	struct sl_pkt *pkts[PORT_SENDER_BURST];
	uint64_t sent = 0, t0, end, now;
	struct sl_port *port;
	char spec[48];
	cpu_set_t set;
	int err = 0;

	snprintf(spec, sizeof(spec), "packet:%s", s->tb->end[TB_A].ifname);
	port = sl_port_open(spec, &po);
	if (!port)
		return -errno;
	if (s->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(s->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	t0 = sl_time_ns();
	end = t0 + (uint64_t)(s->seconds * 1e9);
	while ((now = sl_time_ns()) < end) {
		struct sl_pool *pool = sl_port_pool(port);
		unsigned n = PORT_SENDER_BURST, i, took;

		if (s->rate_pps) {
			/* frames due by now, evenly spaced from t0 */
			uint64_t due = (uint64_t)((double)(now - t0) / 1e9 *
						  (double)s->rate_pps);

			if (due <= sent)
				continue;
			if (due - sent < n)
				n = (unsigned)(due - sent);
		}
		if (sl_pkt_alloc_bulk(pool, pkts, n) != 0)
			continue; /* all in flight: the TX ring gives back */
		for (i = 0; i < n; i++)
			sl_pkt_set(pkts[i],
				   s->frames ?
					   s->frames + (sent + i) %
							       s->n_frames *
							       s->frame_len :
					   s->frame,
				   (uint32_t)s->frame_len);
		took = sl_tx_burst(port, 0, pkts, (uint16_t)n);
		if (took < n)
			sl_pkt_free_bulk(pkts + took, n - took);
		sent += took;
	}
	s->res.frames = sent;
	s->res.seconds = (double)(sl_time_ns() - t0) / 1e9;
	s->res.mpps = s->res.seconds > 0 ? (double)sent / s->res.seconds / 1e6 :
					   0;
	sl_port_close(port);
	return err;
}

/* Live frames refused once (EPERM or EOPNOTSUPP from the kernel, not from
 * our side): the port sender from then on, without asking again. */
static int live_refused;

void *rxc_sender_main(void *arg)
{
	struct rxc_sender *s = arg;
	struct sl_live_opts o = {
		.sz = sizeof(o),
		.ifindex = s->tb->end[TB_A].ifindex,
		.frame = s->frame,
		.frame_len = s->frame_len,
		.flows = 1,
		.duration_s = s->seconds,
		.cpu = s->cpu,
		.rate_pps = s->rate_pps,
	};

	s->res.sz = sizeof(s->res);
	s->engine = "xdp-live";
	s->err = tb_enter(s->tb, TB_A);
	if (s->err) {
		snprintf(s->msg, sizeof(s->msg), "sender: %s", tb_error());
		return NULL;
	}
	if (!__atomic_load_n(&live_refused, __ATOMIC_RELAXED)) {
		s->err = sl_live_run(&o, &s->res);
		if (s->err != -EOPNOTSUPP && s->err != -EPERM) {
			if (s->err)
				snprintf(s->msg, sizeof(s->msg), "sender: %s",
					 sl_last_error());
			return NULL;
		}
		snprintf(s->live_why, sizeof(s->live_why), "%s",
			 sl_last_error());
		__atomic_store_n(&live_refused, 1, __ATOMIC_RELAXED);
	}
	s->engine = "packet port";
	s->err = port_sender(s);
	if (s->err)
		snprintf(s->msg, sizeof(s->msg), "sender (packet port): %s",
			 *sl_last_error() ? sl_last_error() :
					    strerror(-s->err));
	return NULL;
}

int rxc_pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void rxc_cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !c)
			continue;
		c += 1 + strspn(c + 1, " \t");
		c[strcspn(c, "\n")] = '\0';
		snprintf(buf, len, "%s", c);
		break;
	}
	fclose(f);
}

void rxc_loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, len, "?");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, " ")] = '\0';
	fclose(f);
}

int rxc_napi_setup(const struct tb *tb, int side, const char *ifname)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "ethtool -K %.15s gro on >/dev/null 2>&1 && "
		 "echo 1 > /sys/class/net/%.15s/threaded",
		 ifname, ifname);
	return tb_run(tb, side, cmd);
}

int rxc_pin_napi(const char *ifname, int cpu, int *pids, unsigned max)
{
	char want[64], path[64], comm[64];
	struct dirent *de;
	cpu_set_t set;
	int n = 0;
	DIR *d;

	snprintf(want, sizeof(want), "napi/%s-", ifname);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);
		size_t len;
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		len = strcspn(comm, "\n");
		comm[len] = '\0';
		/* the full name, or (cut at 15) a prefix of it */
		if (strncmp(comm, want, strlen(want)) &&
		    (len != 15 || strncmp(comm, want, len)))
			continue;
		if (sched_setaffinity(pid, sizeof(set), &set))
			continue;
		if (pids && (unsigned)n < max)
			pids[n] = pid;
		n++;
	}
	closedir(d);
	return n;
}

uint64_t rxc_task_cpu_ns(int pid)
{
	unsigned long long ns = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

const char *rxc_which(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[1024], *dir, *save;

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/bin:/sbin:/bin",
		 path ? path : "");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", dir, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* ---- dpdk-testpmd ------------------------------------------------------ */

/* The whole log so far into buf (terminated); bytes read. */
static size_t read_log(const struct testpmd *t, char *buf, size_t len)
{
	ssize_t n = t->log_fd >= 0 ? pread(t->log_fd, buf, len - 1, 0) : -1;

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static unsigned count_in_log(const struct testpmd *t, const char *what)
{
	static char log[LOG_MAX];
	const char *p = log;
	unsigned n = 0;

	read_log(t, log, sizeof(log));
	while ((p = strstr(p, what))) {
		n++;
		p += strlen(what);
	}
	return n;
}

static int send_cmd(struct testpmd *t, const char *cmd)
{
	size_t len = strlen(cmd);

	return write(t->in_fd, cmd, len) == (ssize_t)len ? 0 : -EIO;
}

/* Wait until the log holds `what` at least `times` times, or testpmd
 * died, or timeout_s passed. 0 or -errno. */
static int wait_for(struct testpmd *t, const char *what, unsigned times,
		    double timeout_s)
{
	double end = now_s() + timeout_s;
	int st;

	for (;;) {
		if (count_in_log(t, what) >= times)
			return 0;
		if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
			t->pid = 0;
			return -ECHILD;
		}
		if (now_s() > end)
			return -ETIMEDOUT;
		nap(5000000);
	}
}

/* The line of the log that says why testpmd failed. */
static void why_failed(const struct testpmd *t, char *out, size_t len)
{
	static char log[1 << 16];
	const char *cause;

	read_log(t, log, sizeof(log));
	cause = strstr(log, "Cause: ");
	if (!cause)
		cause = strstr(log, "EAL: FATAL");
	if (!cause)
		snprintf(out, len, "testpmd failed (log: %s)", t->log_path);
	else
		snprintf(out, len, "testpmd: %.*s", (int)strcspn(cause, "\n"),
			 cause);
}

int testpmd_start(struct testpmd *t, const struct tb *tb, int side,
		  const char *ifname, const char *drv, const char *vdev_args,
		  int main_cpu, int fwd_cpu, char *why, size_t why_len)
{
	char bin[256], stdbuf[256], ip[256], vdev[128], prefix[32];
	char lcores[16], mcore[8];
	int in[2], err;
	pid_t pid;

	memset(t, 0, sizeof(*t));
	t->in_fd = t->log_fd = -1;
	t->tb = tb;
	t->side = side;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	t->af_xdp = strstr(drv, "af_xdp") != NULL;
	if (!rxc_which("dpdk-testpmd", bin, sizeof(bin))) {
		snprintf(why, why_len, "not installed (Debian package dpdk)");
		return -ENOENT;
	}
	if (!rxc_which("stdbuf", stdbuf, sizeof(stdbuf)) ||
	    !rxc_which("ip", ip, sizeof(ip))) {
		snprintf(why, why_len,
			 "needs stdbuf (coreutils) and ip (iproute2)");
		return -ENOENT;
	}
	snprintf(vdev, sizeof(vdev), "%s,iface=%s%s", drv, ifname, vdev_args);
	snprintf(prefix, sizeof(prefix), "sl-rxb-%d", (int)getpid());
	/* the main lcore only reads commands (it sleeps); the one
	 * forwarding lcore polls */
	snprintf(lcores, sizeof(lcores), "%d,%d", main_cpu, fwd_cpu);
	snprintf(mcore, sizeof(mcore), "%d", main_cpu);
	snprintf(t->log_path, sizeof(t->log_path), "/tmp/sl-rxb-testpmd.%d.log",
		 (int)getpid());
	t->log_fd =
		open(t->log_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (t->log_fd < 0) {
		err = -errno;
		snprintf(why, why_len, "%s: %s", t->log_path, strerror(-err));
		return err;
	}
	if (pipe2(in, O_CLOEXEC)) {
		err = -errno;
		snprintf(why, why_len, "pipe: %s", strerror(-err));
		return err;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(in[0]);
		close(in[1]);
		snprintf(why, why_len, "fork: %s", strerror(-err));
		return err;
	}
	if (pid == 0) {
		char *argv[] = {
			ip,
			"netns",
			"exec",
			(char *)tb->end[side].ns,
			/* its statistics are printf()s: line-buffered, so
			 * they reach the log when asked for */
			stdbuf,
			"-oL",
			bin,
			"-l",
			lcores,
			"--main-lcore",
			mcore,
			"--no-pci",
			"--no-huge",
			"-m",
			"512",
			"--no-shconf",
			"--file-prefix",
			prefix,
			"--no-telemetry",
			"--vdev",
			vdev,
			"--",
			"--forward-mode=rxonly",
			"--nb-cores=1",
			"--total-num-mbufs=16384",
			"-i",
			NULL,
		};

		/* dies with us, even if we are killed (ip and stdbuf exec,
		 * so this is testpmd's own process) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(127);
		dup2(in[0], 0);
		dup2(t->log_fd, 1);
		dup2(t->log_fd, 2);
		execv(ip, argv);
		_exit(127);
	}
	close(in[0]);
	t->in_fd = in[1];
	t->pid = pid;
	err = wait_for(t, "testpmd> ", 1, TESTPMD_START_S);
	if (!err)
		err = send_cmd(t, "start\n");
	if (!err)
		err = wait_for(t, "testpmd> ", 2, 10.0);
	if (err)
		why_failed(t, why, why_len);
	return err;
}

int testpmd_cmd(struct testpmd *t, const char *cmds, double timeout_s)
{
	unsigned seen = count_in_log(t, "testpmd> "), lines = 0;
	const char *p;

	for (p = cmds; *p; p++)
		lines += *p == '\n';
	if (send_cmd(t, cmds))
		return -EIO;
	return wait_for(t, "testpmd> ", seen + lines, timeout_s);
}

uint64_t testpmd_stat(struct testpmd *t, const char *what)
{
	static char log[LOG_MAX];
	unsigned seen = count_in_log(t, what);
	const char *p, *last = NULL;

	/* answered when one more such line is in the log */
	if (send_cmd(t, "show port stats all\n") ||
	    wait_for(t, what, seen + 1, 2.0))
		return 0;
	read_log(t, log, sizeof(log));
	for (p = log; (p = strstr(p, what)); p++)
		last = p;
	return last ? strtoull(last + strlen(what), NULL, 10) : 0;
}

void testpmd_mode(struct testpmd *t, char *buf, size_t len)
{
	char cmd[64], out[512];

	snprintf(cmd, sizeof(cmd), "ip link show dev %s", t->ifname);
	if (tb_capture(t->tb, t->side, cmd, out, sizeof(out)))
		out[0] = '\0';
	/* which XDP mode its PMD got (libxdp picks native when it can) */
	snprintf(buf, len, "%s",
		 !t->af_xdp		   ? "mmap ring" :
		 strstr(out, "xdpgeneric") ? "copy-generic" :
		 strstr(out, "xdp")	   ? "copy-native" :
					     "?");
}

void testpmd_stop(struct testpmd *t)
{
	char cmd[128];
	int st;

	if (t->pid > 0) {
		/* quit, not a signal: it detaches its XDP program on the way
		 * out; SIGTERM does too, SIGKILL as a last resort */
		send_cmd(t, "stop\nquit\n");
		for (int sig = 0; t->pid > 0 && sig < 3; sig++) {
			double end = now_s() + (sig == 2 ? 5.0 : 3.0);

			if (sig)
				kill(t->pid, sig == 1 ? SIGTERM : SIGKILL);
			while (now_s() < end) {
				if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
					t->pid = 0;
					break;
				}
				nap(10000000);
			}
		}
	}
	if (t->in_fd >= 0)
		close(t->in_fd);
	if (t->log_fd >= 0)
		close(t->log_fd);
	t->in_fd = t->log_fd = -1;
	if (t->log_path[0])
		unlink(t->log_path);
	t->log_path[0] = '\0';
	if (!t->tb || !t->ifname[0])
		return;
	/* what a killed testpmd may leave on the bed's veth */
	snprintf(cmd, sizeof(cmd),
		 "ip link set dev %s xdp off 2>/dev/null; "
		 "ip link set dev %s promisc off",
		 t->ifname, t->ifname);
	tb_run(t->tb, t->side, cmd);
}
