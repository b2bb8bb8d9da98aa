// SPDX-License-Identifier: MIT
/*
 * The `sluice` command: dispatch to the subcommands (one file each,
 * cmd_*.c) and what they share: option checks whose messages name the
 * option at fault, the SIGINT/SIGTERM stop flag, the once-a-second status
 * line on a terminal, JSON results through json-c, turning frames
 * around for fwd and echo, and dropping privileges once the ports are open
 * (--keep-privileges, --user: options of every subcommand, taken out of
 * the arguments here before the subcommand parses the rest).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "hist.h"
#include "sluice.h"

const char *cli_cmd = "";
volatile sig_atomic_t cli_stop;
bool cli_keep_privs;
const char *cli_privs_user;

static void SL_PRINTF_T(2, 0)
	vmsg(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "sluice: %s%s%s", cli_cmd, *cli_cmd ? ": " : "", kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_usage_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	if (*cli_cmd)
		fprintf(stderr, "sluice: try 'sluice %s --help'\n", cli_cmd);
	exit(2);
}

void cli_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	exit(1);
}

void cli_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

uint64_t cli_opt_u64(const char *opt, const char *arg, uint64_t min,
		     uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!*arg || *arg == '-')
		cli_usage_fail("%s %s: not a number", opt, arg);
	v = strtoull(arg, &end, 0);
	if (*end == 'k' || *end == 'K')
		v *= 1000, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1000000, end++;
	if (errno || *end)
		cli_usage_fail("%s %s: not a number", opt, arg);
	if (v < min)
		cli_usage_fail("%s %s: too small: at least %" PRIu64, opt, arg,
			       min);
	if (v > max)
		cli_usage_fail("%s %s: too large: at most %" PRIu64, opt, arg,
			       max);
	return v;
}

double cli_opt_seconds(const char *opt, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || (*end && strcmp(end, "s")) || !isfinite(v))
		cli_usage_fail("%s %s: not a number of seconds", opt, arg);
	if (v <= 0)
		cli_usage_fail("%s %s: must be more than 0 seconds", opt, arg);
	if (v > 1e7)
		cli_usage_fail("%s %s: too long: at most 1e7 seconds", opt,
			       arg);
	return v;
}

void cli_opt_addr(const char *opt, const char *arg, bool port_optional,
		  struct sl_addr *out)
{
	if (sl_addr_parse(arg, port_optional, out))
		cli_usage_fail("%s %s: %s", opt, arg, sl_last_error());
}

void cli_opt_mac(const char *opt, const char *arg, uint8_t mac[SL_ETH_ALEN])
{
	unsigned v[SL_ETH_ALEN];
	char tail;
	int i;

	if (sscanf(arg, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &tail) != 6)
		cli_usage_fail(
			"%s %s: not a MAC address (like 02:00:00:00:00:01)",
			opt, arg);
	for (i = 0; i < SL_ETH_ALEN; i++) {
		if (v[i] > 0xff)
			cli_usage_fail("%s %s: not a MAC address", opt, arg);
		mac[i] = (uint8_t)v[i];
	}
}

void cli_opt_bad(int c, int optopt_val, char *const argv[])
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		cli_usage_fail("%s: needs a value", arg);
	if (optopt_val && optopt_val != '?')
		cli_usage_fail("unknown option '-%c'", optopt_val);
	cli_usage_fail("unknown option '%s'", arg);
}

static void on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

struct sl_port *cli_open_port(const char *spec, const char *role)
{
	struct sl_port_opts o = { .sz = sizeof(o) };

	return cli_open_port_opts(spec, role, &o);
}

struct sl_port *cli_open_port_opts(const char *spec, const char *role,
				   const struct sl_port_opts *o)
{
	struct sl_port *p = sl_port_open(spec, o);

	if (!p)
		cli_die("%s%s%s", role ? role : "", role ? ": " : "",
			*sl_last_error() ? sl_last_error() : strerror(errno));
	return p;
}

/* ---- privileges ------------------------------------------------------- */

/* Anything to give up: uid 0 (which owns what root owns and regains every
 * capability by executing a program), or any capability in any set (a
 * binary given file capabilities with setcap, run by anyone). */
static bool privileged(void)
{
	cap_t c, none;
	bool any = true;

	if (geteuid() == 0 || getuid() == 0)
		return true;
	c = cap_get_proc();
	none = cap_init();
	if (c && none)
		any = cap_compare(c, none) != 0;
	cap_free(c);
	cap_free(none);
	return any;
}

/* LeakSanitizer checks at exit by stopping every thread (clone, ptrace),
 * which the filter forbids, and then fails the run: sanitizer builds drop
 * the capabilities all the same but install no filter. */
#if defined(__SANITIZE_ADDRESS__)
#define SL_TOOL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SL_TOOL_SANITIZED 1
#endif
#endif

void cli_privs_drop(struct sl_port *const *ports, unsigned n, bool seccomp)
{
	struct sl_privs_opts o = { .sz = sizeof(o) };
	struct sl_xstat xs[64];
	unsigned i;

	if (cli_keep_privs)
		return;
	/* nothing to drop, nobody to become: say nothing, change nothing */
	if (!cli_privs_user && !privileged())
		return;
	for (i = 0; i < n; i++)
		sl_port_xstats(ports[i], xs, SL_ARRAY_SIZE_T(xs));
	/*
	 * json-c seeds its string hash the first time it hashes a key, with
	 * getrandom(GRND_NONBLOCK) or else /dev/urandom. Early in a boot (a
	 * fresh VM) the first fails with EAGAIN and, behind the filter, the
	 * second with EPERM, which json-c prints on stderr. Seed it now.
	 */
	json_object_put(json_tokener_parse("{\"seed\":0}"));
	o.user = cli_privs_user;
	o.seccomp = seccomp;
#ifdef SL_TOOL_SANITIZED
	o.seccomp = false;
#endif
	if (sl_drop_privileges(&o))
		cli_die("dropping privileges: %s (--keep-privileges runs "
			"without dropping them)",
			sl_last_error());
}

/* ---- status line ------------------------------------------------------ */

void cli_status_init(struct cli_status *s, bool json)
{
	memset(s, 0, sizeof(*s));
	s->on = !json && isatty(STDERR_FILENO) && !getenv("SLUICE_NO_STATUS");
	s->t0 = s->last_t = sl_time_ns();
}

static void human(char *buf, size_t len, double v, const char *unit)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2f G%s", v / 1e9, unit);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2f M%s", v / 1e6, unit);
	else if (v >= 1e3)
		snprintf(buf, len, "%.2f k%s", v / 1e3, unit);
	else
		snprintf(buf, len, "%.0f %s", v, unit);
}

void cli_status_tick(struct cli_status *s, uint64_t now, const char *what,
		     uint64_t pkts, uint64_t bytes, uint64_t drops)
{
	char pps[32], bps[32], line[160];
	double dt;
	int n;

	if (!s->on || now - s->last_t < 1000000000ull)
		return;
	dt = cli_secs(now - s->last_t);
	human(pps, sizeof(pps), (double)(pkts - s->last_pkts) / dt, "pps");
	human(bps, sizeof(bps), (double)(bytes - s->last_bytes) * 8 / dt,
	      "b/s");
	n = snprintf(line, sizeof(line),
		     "%s: %s  %s  drops %" PRIu64 "  total %" PRIu64 "  %.0f s",
		     what, pps, bps, drops, pkts, cli_secs(now - s->t0));
	/* pad over a longer previous line instead of clearing with ANSI */
	fprintf(stderr, "\r%s%*s", line, s->width > n ? s->width - n : 0, "");
	fflush(stderr);
	s->width = n;
	s->last_t = now;
	s->last_pkts = pkts;
	s->last_bytes = bytes;
}

void cli_status_end(struct cli_status *s)
{
	if (s->on && s->width) {
		fprintf(stderr, "\r%*s\r", s->width, "");
		fflush(stderr);
	}
	s->width = 0;
}

/* ---- results ---------------------------------------------------------- */

/* The counters' JSON, the same keys for a port's totals and for a queue. */
#define COUNTERS(X) SL_QUEUE_STATS_FIELDS(X)
#define ADD(f) json_object_object_add(o, #f, json_object_new_uint64(s->f));

static struct json_object *jq(const struct sl_queue_stats *s)
{
	struct json_object *o = json_object_new_object();

	COUNTERS(ADD)
	return o;
}

static struct json_object *jtotal(const struct sl_port_stats *s)
{
	struct json_object *o = json_object_new_object();

	COUNTERS(ADD)
	return o;
}
#undef ADD
#undef COUNTERS

struct json_object *cli_json_port(struct sl_port *port)
{
	struct json_object *o = json_object_new_object(), *x;
	struct sl_port_info info = { .sz = sizeof(info) };
	struct sl_port_stats st = { .sz = sizeof(st) };
	struct sl_xstat xs[64];
	int n, i;

	if (sl_port_info(port, &info) == 0) {
		json_object_object_add(o, "spec",
				       json_object_new_string(info.spec));
		json_object_object_add(o, "driver",
				       json_object_new_string(info.driver));
		json_object_object_add(o, "mode",
				       json_object_new_string(info.mode));
		json_object_object_add(o, "name",
				       json_object_new_string(info.name));
		json_object_object_add(o, "queues",
				       json_object_new_int(info.n_queues));
	}
	if (sl_port_stats(port, &st) == 0) {
		struct json_object *a = json_object_new_array();

		json_object_object_add(o, "stats", jtotal(&st));
		/* "stats" is their sum */
		for (i = 0; i < st.n_queues; i++) {
			struct sl_queue_stats q = { .sz = sizeof(q) };

			if (sl_port_queue_stats(port, (uint16_t)i, &q) == 0)
				json_object_array_add(a, jq(&q));
		}
		json_object_object_add(o, "queue_stats", a);
	}
	n = sl_port_xstats(port, xs, SL_ARRAY_SIZE_T(xs));
	x = json_object_new_object();
	for (i = 0; i < n && i < (int)SL_ARRAY_SIZE_T(xs); i++)
		json_object_object_add(x, xs[i].name,
				       json_object_new_uint64(xs[i].value));
	json_object_object_add(o, "xstats", x);
	return o;
}

uint64_t cli_port_xstat(struct sl_port *port, const char *name)
{
	struct sl_xstat xs[64];
	int n, i;

	n = sl_port_xstats(port, xs, SL_ARRAY_SIZE_T(xs));
	for (i = 0; i < n && i < (int)SL_ARRAY_SIZE_T(xs); i++)
		if (strcmp(xs[i].name, name) == 0)
			return xs[i].value;
	return 0;
}

static const struct {
	const char *key, *label;
	double q;
} pcts[] = {
	{ "p50", "p50", 50 },	    { "p90", "p90", 90 },  { "p99", "p99", 99 },
	{ "p99.9", "p99.9", 99.9 }, { "max", "max", 100 },
};

static double us(uint64_t ns)
{
	/* three significant digits are all the histogram holds; keep 3
	 * decimals of a microsecond so small values are not rounded away */
	return round((double)ns / 1e3 * 1000.0) / 1000.0;
}

struct json_object *cli_json_hist_us(const struct cli_hist *h)
{
	struct json_object *o = json_object_new_object();
	unsigned i;

	json_object_object_add(o, "samples", json_object_new_uint64(h->n));
	if (!h->n)
		return o;
	json_object_object_add(o, "min", json_object_new_double(us(h->min)));
	json_object_object_add(
		o, "mean",
		json_object_new_double(round(cli_hist_mean(h)) / 1e3));
	for (i = 0; i < SL_ARRAY_SIZE_T(pcts); i++)
		json_object_object_add(
			o, pcts[i].key,
			json_object_new_double(
				us(cli_hist_percentile(h, pcts[i].q))));
	return o;
}

void cli_print_hist_us(const char *label, const struct cli_hist *h)
{
	unsigned i;

	printf("%s", label);
	if (!h->n) {
		printf(" no samples\n");
		return;
	}
	printf(" min %.1f", us(h->min));
	for (i = 0; i < SL_ARRAY_SIZE_T(pcts); i++)
		printf("  %s %.1f", pcts[i].label,
		       us(cli_hist_percentile(h, pcts[i].q)));
	printf(" us (%" PRIu64 " samples)\n", h->n);
}

void cli_json_print(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(obj);
}

/* ---- frames ----------------------------------------------------------- */

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t;
	size_t i;

	for (i = 0; i < n; i++) {
		t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

int cli_frame_swap_mac(uint8_t *frame, uint32_t len)
{
	if (len < SL_ETH_HLEN)
		return -1;
	swap_bytes(frame, frame + SL_ETH_ALEN, SL_ETH_ALEN);
	return 0;
}

/* ---- dispatch --------------------------------------------------------- */

/* The library's messages: errors come back through sl_last_error() and
 * are printed once by whoever failed, so only warnings (and, with
 * SLUICE_DEBUG_LOG set, everything) are shown here. */
static void on_log(enum sl_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	if ((level == SL_LOG_ERROR || level > SL_LOG_WARN) &&
	    !getenv("SLUICE_DEBUG_LOG"))
		return;
	fprintf(stderr, "sluice: %s%s%s: %s\n", cli_cmd, *cli_cmd ? ": " : "",
		level == SL_LOG_WARN  ? "warning" :
		level == SL_LOG_ERROR ? "error" :
					"info",
		msg);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
	/* drops its privileges after setup (cli_privs_drop); bench keeps
	 * them to build its test beds, doctor only reads */
	bool drops;
} cmds[] = {
	{ "gen", cmd_gen, "send UDP frames carrying sequence and time", true },
	{ "sink", cmd_sink, "receive; count loss, reordering, latency", true },
	{ "fwd", cmd_fwd, "forward frames to another port or back (l2fwd)",
	  true },
	{ "echo", cmd_echo, "answer every UDP frame to its sender", true },
	{ "ping", cmd_ping, "UDP round trips against an echo", true },
	{ "capture", cmd_capture, "write what a port receives to pcap", true },
	{ "bench", cmd_bench, "capability versus risk of every path here",
	  false },
	{ "doctor", cmd_doctor, "what this host can do for bypass, per path",
	  false },
	{ "rdma", cmd_rdma, "RDMA bandwidth and latency (perftest style)",
	  false },
	{ "dma", cmd_dma, "payloads into host, file or GPU memory, staged",
	  false },
	{ "stats", cmd_stats, "one process's live counters (telemetry)",
	  false },
	{ "top", cmd_top, "live view of every sluice process here", false },
	{ "run", cmd_run, "run a UDP program with its sockets on a bypass path",
	  false },
};

/*
 * Take --keep-privileges and --user NAME (or --user=NAME) out of a
 * subcommand's arguments, wherever they stand before a "--", so that every
 * subcommand accepts them without each parser knowing them. Returns the
 * new argument count; argv stays NULL-terminated.
 */
static int global_opts(int argc, char **argv, bool drops)
{
	int i, j;

	for (i = j = 1; i < argc; i++) {
		char *a = argv[i];

		if (!strcmp(a, "--")) {
			while (i < argc)
				argv[j++] = argv[i++];
			break;
		}
		if (!strcmp(a, "--keep-privileges")) {
			cli_keep_privs = true;
			continue;
		}
		if (!strcmp(a, "--user")) {
			if (i + 1 >= argc)
				cli_usage_fail("--user: needs a value");
			cli_privs_user = argv[++i];
			continue;
		}
		if (!strncmp(a, "--user=", 7)) {
			cli_privs_user = a + 7;
			continue;
		}
		argv[j++] = a;
	}
	argv[j] = NULL;
	if (cli_privs_user && !*cli_privs_user)
		cli_usage_fail("--user: needs a value");
	if (cli_privs_user && !drops)
		cli_usage_fail(
			"--user: %s keeps its privileges (only the packet "
			"commands drop them)",
			cli_cmd);
	if (cli_privs_user && cli_keep_privs)
		cli_usage_fail(
			"--user and --keep-privileges: give one of them");
	return j;
}

static void usage(FILE *f)
{
	unsigned i;

	fprintf(f,
		"usage: sluice COMMAND [OPTIONS]  (sluice COMMAND --help)\n\n"
		"commands:\n");
	for (i = 0; i < SL_ARRAY_SIZE_T(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f,
		"\nPorts are spec strings: udp:ADDR:PORT[,peer=ADDR:PORT], "
		"pair:NAME/0|1,\npcap:FILE[,write], packet:IFACE, xdp:IFACE, "
		"each with ,capture=FILE.pcap\nand ,fault=drop:P,...,seed=N "
		"options. Once its ports are open a command drops every\n"
		"capability (--keep-privileges: keep them). See sluice(1).\n"
		"\nexamples:\n"
		"  sluice sink udp:127.0.0.1:9000 --duration 10 &\n"
		"  sluice gen udp:127.0.0.1:0 --to 127.0.0.1:9000 --rate 100k "
		"--count 500k\n");
}

int main(int argc, char **argv)
{
	unsigned i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("sluice %s\n", sl_version());
		return 0;
	}
	sl_set_log(on_log, NULL);
	/* results carry measurements, not exact binary fractions */
	json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_GLOBAL);
	for (i = 0; i < SL_ARRAY_SIZE_T(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			cli_cmd = cmds[i].name;
			argc = global_opts(argc - 1, argv + 1, cmds[i].drops);
			cli_signals();
			return cmds[i].fn(argc, argv + 1);
		}
	}
	fprintf(stderr, "sluice: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

uint64_t cli_opt_bytes(const char *opt, const char *arg, uint64_t min,
		       uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!*arg || *arg == '-')
		cli_usage_fail("%s %s: not a size", opt, arg);
	v = strtoull(arg, &end, 0);
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10, end++;
		break;
	case 'm':
	case 'M':
		v <<= 20, end++;
		break;
	case 'g':
	case 'G':
		v <<= 30, end++;
		break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (errno || *end)
		cli_usage_fail("%s %s: not a size (like 65536, 64K or 4M)", opt,
			       arg);
	if (v < min || v > max)
		cli_usage_fail("%s %s: give %" PRIu64 " to %" PRIu64 " bytes",
			       opt, arg, min, max);
	return v;
}
