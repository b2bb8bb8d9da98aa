// SPDX-License-Identifier: MIT
/*
 * Ring construction. Everything on the fast path lives in
 * include/sluice/ring.h as static inline functions; this file only checks
 * the arguments, lays the ring out (each side's private fields and its tail
 * on their own pairs of cache lines, slots after them) and frees it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/ring.h>

#include "core/log.h"

#define SL_RING_FLAGS (SL_RING_SP_ENQ | SL_RING_SC_DEQ)

struct sl_ring *sl_ring_create(unsigned size, unsigned flags)
{
	struct sl_ring *r;
	void *mem;
	int err;

	if (size == 0 || (size & (size - 1)) || size > SL_RING_SIZE_MAX) {
		sl_fail(EINVAL,
			"ring: size %u is not a power of two between 1 and %u",
			size, SL_RING_SIZE_MAX);
		return NULL;
	}
	if (flags & ~SL_RING_FLAGS) {
		sl_fail(EINVAL, "ring: unknown flags 0x%x (known: 0x%x)",
			flags & ~SL_RING_FLAGS, SL_RING_FLAGS);
		return NULL;
	}
	/* aligned so that the sides really sit on separate line pairs */
	err = posix_memalign(&mem, SL_RING_SIDE_ALIGN,
			     sizeof(*r) + (size_t)size * sizeof(void *));
	if (err) {
		sl_fail(ENOMEM, "ring: no memory for %u slots", size);
		return NULL;
	}
	r = mem;
	memset(r, 0, sizeof(*r));
	r->flags = flags;
	/* each side keeps its own copy: nothing read-mostly is shared */
	r->prod.size = r->cons.size = size;
	r->prod.mask = r->cons.mask = size - 1;
	/* producer room = capacity + cons.tail - pos, consumer = prod.tail - pos */
	r->prod.lim = size;
	r->cons.lim = 0;
	r->prod.single = !!(flags & SL_RING_SP_ENQ);
	r->cons.single = !!(flags & SL_RING_SC_DEQ);
	return r;
}

void sl_ring_destroy(struct sl_ring *r)
{
	free(r);
}

unsigned sl_ring_capacity(const struct sl_ring *r)
{
	return r->prod.size;
}
