/* SPDX-License-Identifier: MIT */
/*
 * The veth test bed of the integration tests, the benchmarks and `sluice
 * bench` (bed/, a layer above the library that sees only include/sluice/):
 * two network namespaces joined by a veth pair,
 * with IPv4 and IPv6 addresses and neighbour entries pinned both ways (so a
 * program that diverts traffic cannot break address resolution). Side A is
 * the peer, side B the host under test by convention.
 *
 * A bed is named sl-PID-N; its namespaces and veth ends are NAME-a and
 * NAME-b (each end lives in its own namespace, created there directly, so
 * nothing ever appears in the caller's namespace). Beds are registered
 * when created and removed at exit, on SIGINT/SIGTERM/SIGABRT/SIGHUP, and by
 * the next tb_up() of any process when their owner died (SIGKILL),
 * so a failing or killed test leaves nothing behind.
 *
 * Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the `ip` command. Not
 * thread-safe except tb_enter(), which only moves the calling thread.
 */
#ifndef SL_BED_TESTBED_H
#define SL_BED_TESTBED_H

#include <netinet/in.h>
#include <stddef.h>

enum tb_side {
	TB_HOME = -1, /* the namespace the first bed was created from */
	TB_A = 0,
	TB_B = 1,
};

struct tb_opts {
	size_t sz; /* sizeof(struct tb_opts) */
	unsigned queues; /* RX and TX queues per veth end; 0 means 1 */
	unsigned subnet; /* X of 10.77.X.0/24 and fd77:X::/64, 1..254; 0: derived */
};

struct tb_end {
	char ns[32]; /* namespace name, also in /var/run/netns */
	char ifname[16]; /* veth end, inside ns */
	int ifindex; /* inside ns */
	unsigned char mac[6];
	char mac_str[18];
	char ip4_str[16];
	struct in_addr ip4;
	char ip6_str[48];
	struct in6_addr ip6;
};

struct tb {
	char name[16];
	unsigned subnet;
	unsigned queues;
	int up;
	struct tb_end end[2]; /* [TB_A], [TB_B] */
};

/* Create a bed. Returns 0, or -errno with a message for tb_error():
 * -EPERM when not root, -EOPNOTSUPP when the kernel or host lacks network
 * namespaces, veth or the ip command (tests skip on those two), anything
 * else is a failure. On failure nothing is left behind. */
int tb_up(struct tb *tb, const struct tb_opts *opts);

/* Remove the bed (both namespaces, hence the veth pair). Safe to call twice
 * or on a bed that never came up. */
void tb_down(struct tb *tb);

/* Move the calling thread into side A, B or back home. Other threads keep
 * their namespace, so side A can run in one thread and B in another.
 * Returns 0 or -errno. */
int tb_enter(const struct tb *tb, int side);

/* Run a shell command in side A or B (ip netns exec ... sh -c CMD), or at
 * home. Returns its exit status (0..255, 128+signal), or -errno. */
int tb_run(const struct tb *tb, int side, const char *cmd);

/* The same, with stdout and stderr captured into out (always terminated). */
int tb_capture(const struct tb *tb, int side, const char *cmd, char *out,
	       size_t len);

/* The message of the last failure of tb_up() in this thread, ""
 * when none. The bed is not the library: sl_last_error() does not see it. */
const char *tb_error(void);

/* Whether a namespace of this name exists in /var/run/netns. */
int tb_ns_exists(const char *ns);

/* Remove the beds whose owning process is gone (a test killed by SIGKILL
 * cannot clean up after itself). Returns how many namespaces it removed. */
int tb_reap(void);

#endif
