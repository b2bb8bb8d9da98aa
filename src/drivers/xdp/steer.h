/* SPDX-License-Identifier: MIT */
/*
 * Loader for sluice's XDP steering program (bpf/steer.bpf.c), internal to
 * the library: the AF_XDP driver loads it with the port's match rules,
 * attaches it to the interface through a BPF link (so the program goes away
 * with the process, even on SIGKILL), binds each queue's socket in the
 * XSKMAP, and reads its counters. Everything here is control path: none of
 * it is called per packet, and none of it is thread-safe on the same
 * struct sl_steer.
 */
#ifndef SL_DRIVERS_XDP_STEER_H
#define SL_DRIVERS_XDP_STEER_H

#include <stddef.h>
#include <stdint.h>

struct sl_steer;

enum sl_steer_rule_kind {
	SL_STEER_RULE_ALL = 1, /* every frame, ARP included */
	SL_STEER_RULE_UDP = 2, /* UDP (IPv4 or IPv6) to a port in [lo, hi] */
};

/* Ports in host byte order. */
struct sl_steer_rule {
	enum sl_steer_rule_kind kind;
	uint16_t lo;
	uint16_t hi;
};

enum sl_steer_mode {
	SL_STEER_MODE_SKB = 1, /* generic XDP: every driver, after the skb */
	SL_STEER_MODE_DRV = 2, /* native XDP in the driver */
};

/* What sl_steer_find_attached() found. */
enum sl_steer_found {
	SL_STEER_FOUND_NONE = 0,
	SL_STEER_FOUND_OURS = 1,
	SL_STEER_FOUND_OTHER = 2,
};

struct sl_steer_stats {
	uint64_t matched; /* frames a rule matched */
	uint64_t passed; /* frames no rule matched, passed to the kernel */
	uint64_t redirect_failed; /* matched, no socket at the queue: passed */
};

/* Parse one rule: "all", "udp:PORT" or "udp:LO-HI" (ports 1..65535).
 * Returns 0 or -EINVAL with a message. */
int sl_steer_rule_parse(const char *s, struct sl_steer_rule *r);

/* Load the program with n rules (at most 16; n == 0 matches nothing) into
 * the kernel, not attached yet. Needs CAP_BPF (or root). Returns 0 and
 * *out, or -errno with a message (the verifier's last line on a load
 * failure). */
int sl_steer_load(struct sl_steer **out, const struct sl_steer_rule *rules,
		  unsigned n);

/* Replace the rules of a loaded program; frames in flight see either the old
 * or the new table (a single map update). Returns 0 or -errno. */
int sl_steer_set_rules(struct sl_steer *s, const struct sl_steer_rule *rules,
		       unsigned n);

/* Attach to the interface ifindex in the calling thread's network namespace
 * through a BPF link: the kernel detaches it when the link's last fd
 * closes, so a crashed process leaves nothing behind. Refused (-EBUSY, with
 * what is there) when another XDP program is attached in that mode.
 * Returns 0 or -errno. */
/* Turn on SL_STEER_F_* flags (bpf/steer_abi.h) for every frame the program
 * steers from now on; they stay on. 0 or -errno. */
int sl_steer_add_flags(struct sl_steer *s, unsigned flags);

int sl_steer_attach(struct sl_steer *s, int ifindex, enum sl_steer_mode mode);

/* Detach (close the link). Returns 0, or -ENOENT when not attached. */
int sl_steer_detach(struct sl_steer *s);

/* Bind the AF_XDP socket xsk_fd to RX queue `queue` (xsk_fd < 0 unbinds).
 * Returns 0 or -errno. */
int sl_steer_set_xsk(struct sl_steer *s, unsigned queue, int xsk_fd);

/* The counters summed over CPUs. Returns 0 or -errno. */
int sl_steer_read_stats(struct sl_steer *s, struct sl_steer_stats *st);

/* The program's fd, e.g. for BPF_PROG_TEST_RUN in tests. */
int sl_steer_prog_fd(const struct sl_steer *s);

/* Detach if attached and free everything. NULL is fine. */
void sl_steer_destroy(struct sl_steer *s);

/* Which XDP program, if any, is attached to ifindex (in the calling thread's
 * namespace), in any mode. Writes a description for people to `who` (e.g.
 * "id 42 sl_steer (sluice) mode skb"). Returns an enum sl_steer_found or
 * -errno with a message. */
int sl_steer_find_attached(int ifindex, char *who, size_t len);

#endif
