/* SPDX-License-Identifier: MIT */
/*
 * sluice's one rule for the structs that start with `size_t sz`, the one
 * libbpf keeps for its opts:
 *
 * - sz is the size of the struct the caller was built with; less than the
 *   sz field itself (0 included) is an error;
 * - a smaller struct (a caller built against an older header) is fine:
 *   the fields it lacks read as zero, which means their defaults;
 * - a larger struct (a newer header) is fine when every byte past the
 *   fields this library knows is zero: it asks for nothing that would be
 *   ignored; a non-zero byte there is an error that says so;
 * - an output struct gets min(sz, what the library knows) bytes, the bytes
 *   past those up to sz are zeroed (a newer caller's new fields read as
 *   zero, "not known"), and its sz stays the caller's.
 *
 * So a struct grows at its end only, and a new field may sit in what was
 * the old struct's tail padding only if callers zero their structs (an
 * initializer or memset does): sl_port_opts' ring_size sits in the tail
 * padding of its first version ({sz, pool, n_bufs}).
 */
#ifndef SL_CORE_OPTS_H
#define SL_CORE_OPTS_H

#include <stddef.h>

/*
 * Options in: zero `ours` (ours_sz bytes), copy what the caller's struct
 * has of it (user may be NULL: all defaults), set ours' sz to ours_sz.
 * 0, or -EINVAL with a message naming fn and type.
 */
int sl_opts_in(void *ours, size_t ours_sz, const void *user, const char *fn,
	       const char *type);

/* Output: check out's sz and zero what it has past ours_sz; *n is how many
 * bytes of ours to copy into it. 0, or -EINVAL (out NULL, or sz too small).
 */
int sl_opts_out(void *out, size_t ours_sz, size_t *n, const char *fn,
		const char *type);

#endif
