/* SPDX-License-Identifier: MIT */
/*
 * What the subcommands of the `sluice` tool share: the gen payload layout,
 * option parsing helpers that name the option at fault, the stop flag set by
 * SIGINT/SIGTERM, the live status line, ports opened by spec, and JSON
 * output. Errors of use exit 2, failures at run time exit 1, both with one
 * line "sluice: CMD: what was wrong" on stderr.
 */
#ifndef SL_TOOLS_SLUICE_H
#define SL_TOOLS_SLUICE_H

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <sluice/sluice.h>

#define SL_PRINTF_T(a, b) __attribute__((format(printf, a, b)))
#define SL_ARRAY_SIZE_T(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The payload of a gen frame (all fields big endian):
 *
 *   0  u64 sequence   0, 1, 2, ... over the whole run, all flows together
 *   8  u32 magic      SL_GEN_MAGIC | SL_GEN_F_* flags in the low byte
 *  12  u64 tx_ns      send time, sl_time_ns(), if SL_GEN_F_TS
 *  20  u64 total      frames the run sends, if SL_GEN_F_TOTAL
 *  28  ...            zeros up to --size
 *
 * The sequence comes first because the in-kernel generator (xdp-live,
 * bpf/live.bpf.c) writes exactly the first 8 payload bytes of its template;
 * everything after them is the template's, identical in every frame, so an
 * xdp-live run carries the magic without SL_GEN_F_TS. A payload shorter than
 * 12 bytes carries no magic: such frames count as foreign at the sink.
 */
#define SL_GEN_MAGIC 0x534c4700u /* "SLG" */
#define SL_GEN_MAGIC_MASK 0xffffff00u
#define SL_GEN_F_TS 0x01u
#define SL_GEN_F_TOTAL 0x02u
#define SL_GEN_OFF_SEQ 0
#define SL_GEN_OFF_MAGIC 8
#define SL_GEN_OFF_TS 12
#define SL_GEN_OFF_TOTAL 20
#define SL_GEN_MIN_MAGIC 12
#define SL_GEN_MIN_TS 20
#define SL_GEN_MIN_TOTAL 28

static inline void cli_put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t cli_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void cli_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t cli_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* ---- the command line ------------------------------------------------- */

/* The subcommand running, for messages ("gen"). */
extern const char *cli_cmd;

/* Print "sluice: CMD: ..." and exit 2 (usage) or 1 (runtime). */
void cli_usage_fail(const char *fmt, ...) SL_PRINTF_T(1, 2)
	__attribute__((noreturn));
void cli_die(const char *fmt, ...) SL_PRINTF_T(1, 2) __attribute__((noreturn));
/* A warning line on stderr ("sluice: CMD: warning: ..."). */
void cli_warnx(const char *fmt, ...) SL_PRINTF_T(1, 2);

/* Numbers of options, each checked and named in the message on error. */
uint64_t cli_opt_u64(const char *opt, const char *arg, uint64_t min,
		     uint64_t max);
/* A byte count with an optional binary suffix (K, M, G = KiB, MiB, GiB;
 * "KiB" also taken), min..max; exits with a usage error otherwise. */
uint64_t cli_opt_bytes(const char *opt, const char *arg, uint64_t min,
		       uint64_t max);
double cli_opt_seconds(const char *opt, const char *arg);
void cli_opt_addr(const char *opt, const char *arg, bool port_optional,
		  struct sl_addr *out);
void cli_opt_mac(const char *opt, const char *arg, uint8_t mac[SL_ETH_ALEN]);

/*
 * getopt_long glue: the long options every subcommand knows are added by
 * the subcommand itself; this reports an unknown option or a missing
 * argument (getopt's return '?' or ':') the same way for all.
 */
void cli_opt_bad(int c, int optopt_val, char *const argv[]);

/* ---- running ---------------------------------------------------------- */

/* Set by SIGINT/SIGTERM (and SIGALRM-free timers): loops poll it. */
extern volatile sig_atomic_t cli_stop;
/* Install the handlers (no SA_RESTART: a blocking call returns EINTR). */
void cli_signals(void);

/*
 * Privileges. The dispatcher takes --keep-privileges and --user NAME out of
 * any subcommand's arguments (so every subcommand accepts them) into these.
 * The packet subcommands (gen, sink, fwd, echo, ping, capture) then call
 * cli_privs_drop() once their ports and files are open, right before their
 * loop: every capability goes (the open sockets, rings and XDP link keep
 * working), then the user changes with --user, then, with seccomp set, a
 * filter allows only what a poll loop over open descriptors needs. A
 * process that is not root, holds no capability and has no --user has
 * nothing to drop: then it does nothing and prints nothing. Exits 1 with
 * the library's message when a step fails. ports[0..n) are polled once for
 * their extended counters first, so that what the counters read lazily
 * (libbpf's CPU count, from a file) is read while files can still be
 * opened.
 */
extern bool cli_keep_privs;
extern const char *cli_privs_user;
void cli_privs_drop(struct sl_port *const *ports, unsigned n, bool seccomp);

/* The paragraph each packet subcommand's --help ends with. */
#define SL_PRIVS_HELP                                                           \
	"\n"                                                                    \
	"Once its ports are open it drops every capability and limits itself\n" \
	"to I/O on them (a seccomp filter):\n"                                  \
	"  --keep-privileges  keep the capabilities and skip the filter\n"      \
	"  --user NAME        also become NAME (no supplementary groups)\n"

/* Open a port or exit 1 with the library's message. */
struct sl_port *cli_open_port(const char *spec, const char *role);
/* The same with options (a pool to share, ...). */
struct sl_port *cli_open_port_opts(const char *spec, const char *role,
				   const struct sl_port_opts *o);

/* The live status line on stderr, shown only on a terminal and without
 * --json: call cli_status_tick() often; it redraws at most once a second
 * from the counters given (cumulative). cli_status_end() clears it. */
struct cli_status {
	bool on;
	uint64_t t0, last_t;
	uint64_t last_pkts, last_bytes;
	int width;
};
void cli_status_init(struct cli_status *s, bool json);
void cli_status_tick(struct cli_status *s, uint64_t now, const char *what,
		     uint64_t pkts, uint64_t bytes, uint64_t drops);
void cli_status_end(struct cli_status *s);

/* ---- results ---------------------------------------------------------- */

/* The port's info, stats and xstats as a JSON object. */
struct json_object *cli_json_port(struct sl_port *port);
/* One xstat by name, 0 when the port has none of that name. */
uint64_t cli_port_xstat(struct sl_port *port, const char *name);
/* Percentiles of a histogram in microseconds: {"p50":..,...,"max":..}. */
struct cli_hist;
struct json_object *cli_json_hist_us(const struct cli_hist *h);
/* The same as one text line: "p50 12.3  p90 ...  max ... us". */
void cli_print_hist_us(const char *label, const struct cli_hist *h);
/* Print obj pretty to stdout, then free it. */
void cli_json_print(struct json_object *obj);

/* ---- frames ----------------------------------------------------------- */

/* Swap the MAC addresses of a frame in place (l2fwd). Returns 0, or -1
 * (unchanged) for a frame shorter than an Ethernet header. Fast path. */
int cli_frame_swap_mac(uint8_t *frame, uint32_t len);

/* The source address the kernel would use towards dst (port left 0).
 * 0 or -1 (no route). Control path. */
int cli_kernel_src(const struct sl_addr *dst, struct sl_addr *out);
/* A complete IPv4 neighbour entry for ip, from /proc/net/arp. 0 or -1. */
int cli_arp_lookup(const struct sl_addr *ip, uint8_t mac[SL_ETH_ALEN]);

/* Move frames from ports in[i] to out[i] (i < n, at most 2 directions).
 * With swap_ip each frame is turned around (sl_udp_swap: checked, a
 * partial checksum completed on send); frames it refuses are dropped and
 * counted, as not UDP or as a bad checksum. Otherwise, with turn, the MACs
 * are swapped; and every frame sent on that a local sender left with a
 * partial checksum gets it completed (sl_pkt_csum_forward). Runs until count
 * frames were received, duration_s passed, or a signal; prints the result
 * (JSON with json). With cores, a worker per core over its share of the
 * queues. Returns the exit status. Used by fwd and echo. */
struct cli_cores;
struct cli_relay {
	const char *what; /* "fwd", "echo" */
	const struct cli_cores *cores; /* --cores (cores.h); NULL: none */
	unsigned n;
	struct sl_port *in[2], *out[2];
	bool turn, swap_ip, json, busy;
	uint64_t count;
	double duration_s;
};
int cli_relay_run(const struct cli_relay *r);

/* Seconds as a double from a sl_time_ns() difference. */
static inline double cli_secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* The subcommands. Each returns the process exit status. */
int cmd_gen(int argc, char **argv);
int cmd_sink(int argc, char **argv);
int cmd_fwd(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_rdma(int argc, char **argv);
int cmd_dma(int argc, char **argv);
/* `sluice dma topo` (cmd_dma_topo.c), and its matrix for doctor */
int cmd_dma_topo(int argc, char **argv);
struct sl_dma_topo;
void cli_dma_matrix_print(struct sl_dma_topo *t);
struct json_object *cli_dma_topo_json(struct sl_dma_topo *t);
int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
