// SPDX-License-Identifier: MIT
/* The `sz` rule (core/opts.h). */
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "core/opts.h"

int sl_opts_in(void *ours, size_t ours_sz, const void *user, const char *fn,
	       const char *type)
{
	size_t sz, i;

	memset(ours, 0, ours_sz);
	if (user) {
		memcpy(&sz, user, sizeof(sz));
		if (sz < sizeof(size_t))
			return sl_fail(EINVAL,
				       "%s: %s.sz is %zu (set it to "
				       "sizeof(struct %s))",
				       fn, type, sz, type);
		for (i = ours_sz; i < sz; i++)
			if (((const unsigned char *)user)[i])
				return sl_fail(EINVAL,
					       "%s: struct %s of %zu bytes "
					       "sets fields past the %zu this "
					       "library knows (byte %zu): a "
					       "newer sluice has them",
					       fn, type, sz, ours_sz, i);
		memcpy(ours, user, sz < ours_sz ? sz : ours_sz);
	}
	memcpy(ours, &ours_sz, sizeof(ours_sz));
	return 0;
}

int sl_opts_out(void *out, size_t ours_sz, size_t *n, const char *fn,
		const char *type)
{
	size_t sz;

	if (!out)
		return sl_fail(EINVAL, "%s: no output", fn);
	memcpy(&sz, out, sizeof(sz));
	if (sz < sizeof(size_t))
		return sl_fail(EINVAL,
			       "%s: out->sz is %zu (set it to "
			       "sizeof(struct %s))",
			       fn, sz, type);
	/* a newer caller's fields this library does not know read as zero,
	 * not as whatever its memory held */
	if (sz > ours_sz)
		memset((unsigned char *)out + ours_sz, 0, sz - ours_sz);
	*n = sz < ours_sz ? sz : ours_sz;
	return 0;
}
