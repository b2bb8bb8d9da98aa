/* SPDX-License-Identifier: MIT */
/*
 * The contract between the XDP steering program (bpf/steer.bpf.c) and its
 * loader (src/drivers/xdp/steer.c): map names, the rule table and the
 * counters. Only <linux/types.h> types, so both the BPF target and the
 * library compile it; a change here changes both sides at once.
 */
#ifndef SL_STEER_ABI_H
#define SL_STEER_ABI_H

#include <linux/types.h>

/* Names the loader and sl_steer_find_attached() look for: a program called
 * SL_STEER_PROG_NAME that uses a map called SL_STEER_RULES_MAP is ours. Kernel
 * object names hold at most 15 characters. */
#define SL_STEER_PROG_NAME "sl_steer"
#define SL_STEER_RULES_MAP "sl_steer_rules"
#define SL_STEER_STATS_MAP "sl_steer_stats"
#define SL_STEER_XSKS_MAP "sl_steer_xsks"

#define SL_STEER_MAX_RULES 16
/* XSKMAP size: RX queues an interface may steer to; frames from a higher
 * queue index find no socket and pass to the kernel. */
#define SL_STEER_MAX_QUEUES 64

enum sl_steer_kind {
	SL_STEER_NONE = 0,
	SL_STEER_ALL = 1, /* every frame, ARP included */
	SL_STEER_UDP = 2, /* UDP over IPv4/IPv6, destination port in [lo, hi] */
};

/* Ports in host byte order, lo <= hi (the loader checks). */
struct sl_steer_rule_abi {
	__u16 kind;
	__u16 lo;
	__u16 hi;
	__u16 pad;
};

/* sl_steer_conf.flags */
/* put the arrival time (bpf_ktime_get_ns, CLOCK_MONOTONIC) of each frame
 * it redirects in the frame's XDP metadata, as a struct sl_steer_meta: a
 * port that stamps receive times then has when the frame arrived, not when
 * the application read it (AF_XDP copies the metadata with the frame) */
#define SL_STEER_F_RX_TS (1u << 0)

/* The single entry of the rules map. */
struct sl_steer_conf {
	__u32 n_rules;
	__u32 flags; /* SL_STEER_F_* */
	struct sl_steer_rule_abi rule[SL_STEER_MAX_RULES];
};

/* The metadata before a frame's data with SL_STEER_F_RX_TS. The reader
 * clears magic once it has read ts, so that a buffer used again for a
 * frame that got no metadata is not taken for stamped. */
#define SL_STEER_META_MAGIC 0x736c7473746d7031ull /* "sltstmp1" */
struct sl_steer_meta {
	__u64 magic;
	__u64 ts_ns;
};

/* The single entry of the per-CPU counters map. */
struct sl_steer_counters {
	__u64 matched; /* a rule matched: handed to bpf_redirect_map */
	__u64 passed; /* no rule matched: XDP_PASS to the kernel */
	__u64 redirect_failed; /* matched, but no socket at the RX queue: passed */
};

#endif
