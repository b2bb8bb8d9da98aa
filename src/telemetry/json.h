/* SPDX-License-Identifier: MIT */
/*
 * A small JSON writer into a fixed buffer, for telemetry replies: the
 * library does not depend on json-c (only the tools do), and its replies
 * are plain objects of numbers and strings. A write that does not fit
 * sets overflow and writes nothing more, so a reply is either whole or
 * known to be cut.
 */
#ifndef SL_TELEMETRY_JSON_H
#define SL_TELEMETRY_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_JW_DEPTH 8

struct sl_jw {
	char *buf;
	size_t cap; /* bytes of buf, the final NUL included */
	size_t len;
	bool overflow;
	unsigned depth;
	bool more[SL_JW_DEPTH]; /* a value is already out at this depth */
	char close[SL_JW_DEPTH]; /* what ends the value open at a depth */
};

void sl_jw_init(struct sl_jw *w, char *buf, size_t cap);
/* key is NULL inside an array (and for the outermost value) */
void sl_jw_obj(struct sl_jw *w, const char *key);
void sl_jw_arr(struct sl_jw *w, const char *key);
void sl_jw_end(struct sl_jw *w); /* closes the innermost object or array */
void sl_jw_u64(struct sl_jw *w, const char *key, uint64_t v);
void sl_jw_i64(struct sl_jw *w, const char *key, int64_t v);
void sl_jw_str(struct sl_jw *w, const char *key, const char *s);
void sl_jw_bool(struct sl_jw *w, const char *key, bool v);

#endif
