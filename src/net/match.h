/* SPDX-License-Identifier: MIT */
/*
 * Match rules: which frames a port takes ("match=" in a spec), shared by the
 * drivers that filter in the kernel (packet: a classic BPF socket filter;
 * xdp: the steering program's rule table). One parser (fuzzed), one
 * reference matcher in C that defines what a rule means, and a compiler to
 * classic BPF that must agree with it on every frame (the unit tests and the
 * fuzz target check that through libpcap's bpf_filter()).
 *
 *   all                     every frame (ARP, ICMP, ... included); default
 *   none                    no frame: the port is held ready (its queues,
 *                           its steering program) and takes nothing; alone
 *   udp:PORT                UDP over IPv4 or IPv6 to destination PORT
 *   udp:LO-HI               ... to a destination port in [LO, HI]
 *   RULE+RULE...            any of them (at most SL_MATCH_MAX_RULES)
 *
 * A UDP rule matches an Ethernet frame, untagged or with one 802.1Q/802.1ad
 * tag in the frame, carrying IPv4 (not a non-first fragment, which has no
 * UDP header) or IPv6 whose first next-header is UDP (no extension header
 * walk: classic BPF has no loops). Internal; control path except
 * sl_match_frame.
 */
#ifndef SL_NET_MATCH_H
#define SL_NET_MATCH_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_MATCH_MAX_RULES 16
/* instructions sl_match_cbpf needs at most */
#define SL_MATCH_CBPF_MAX (44 + 2 * SL_MATCH_MAX_RULES) /* 42 + rules + 2 */
/* what an accepting program returns: bytes of the frame to keep */
#define SL_MATCH_SNAP 0x40000u

enum sl_match_kind {
	SL_MATCH_ALL = 1,
	SL_MATCH_UDP = 2,
};

struct sl_match_rule {
	enum sl_match_kind kind;
	uint16_t lo; /* UDP destination ports, host order, lo <= hi */
	uint16_t hi;
};

struct sl_match {
	unsigned n; /* 0 (none) ..SL_MATCH_MAX_RULES after a parse */
	struct sl_match_rule rule[SL_MATCH_MAX_RULES];
};

/* Parse s (NULL or "" mean "all"). 0, or -EINVAL with a message such as
 * "bad match 'udp:0': ports are 1..65535" in sl_last_error(). */
int sl_match_parse(const char *s, struct sl_match *out);

/* Whether the rules take every frame. */
bool sl_match_is_all(const struct sl_match *m);

/* The reference: whether the frame of len bytes matches. Thread-safe,
 * never reads outside the frame. */
bool sl_match_frame(const struct sl_match *m, const void *frame, size_t len);

/* Compile into a classic BPF program for SO_ATTACH_FILTER on a packet
 * socket: it returns SL_MATCH_SNAP for a matching frame and 0 otherwise.
 * Writes at most cap instructions; returns how many, or -ENOSPC. */
int sl_match_cbpf(const struct sl_match *m, struct sock_filter *prog,
		  unsigned cap);

/* "udp:9000+udp:53" into buf; returns buf. */
char *sl_match_format(const struct sl_match *m, char *buf, size_t len);

#endif
