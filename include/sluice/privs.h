/* SPDX-License-Identifier: MIT */
/*
 * Dropping privileges once the ports are open.
 *
 * Opening an xdp or packet port needs capabilities (CAP_NET_ADMIN, CAP_BPF,
 * CAP_NET_RAW); running it does not: the sockets, rings and UMEM stay
 * usable after the capabilities are gone. So an application opens its
 * ports, calls sl_drop_privileges, and runs its poll loop with nothing it
 * could misuse. Irreversible.
 */
#ifndef SLUICE_PRIVS_H
#define SLUICE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bit for capability CAP (linux/capability.h numbers) in keep_caps. */
#define SL_PRIV_CAP(cap) (1ull << (cap))

struct sl_privs_opts {
	size_t sz; /* sizeof(struct sl_privs_opts) */
	/* capabilities to keep, SL_PRIV_CAP(CAP_...) bits; 0: none */
	uint64_t keep_caps;
	/* switch to this user (name or number) and its primary group, with
	 * no supplementary groups; NULL: stay */
	const char *user;
	/* install a seccomp filter that allows only what a poll loop needs
	 * (I/O on open descriptors, poll, time, sleep, futex, memory,
	 * signals, exit); anything else fails with EPERM */
	bool seccomp;
};

/*
 * Drop every capability not in keep_caps (effective, permitted,
 * inheritable, ambient and the bounding set), optionally become `user`,
 * optionally install the seccomp filter, and set no_new_privs. Returns 0,
 * or -errno with a message naming the step that failed (the process may
 * then be partly dropped: treat a failure as fatal). opts may be NULL
 * (drop everything, no user change, no filter).
 *
 * Capabilities and the filter apply to the calling thread and to threads
 * it creates afterwards: call it before starting worker threads (the user
 * change applies to every thread). Control path, not thread-safe.
 */
SL_API int sl_drop_privileges(const struct sl_privs_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
