// SPDX-License-Identifier: MIT
/*
 * The telemetry JSON writer (telemetry/json.h). Strings are escaped as RFC
 * 8259 asks: quote, backslash and control characters; bytes above 0x7f
 * pass as they are (names and specs are what the user gave).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "telemetry/json.h"

void sl_jw_init(struct sl_jw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	if (cap)
		buf[0] = '\0';
}

static void put(struct sl_jw *w, const char *s, size_t n)
{
	if (w->overflow)
		return;
	if (w->len + n + 1 > w->cap) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void puts_(struct sl_jw *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_str(struct sl_jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	char esc[7];

	put(w, "\"", 1);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(w, esc, 2);
		} else if (*p < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			put(w, esc, 6);
		} else {
			put(w, (const char *)p, 1);
		}
	}
	put(w, "\"", 1);
}

/* the comma and key before a value */
static void member(struct sl_jw *w, const char *key)
{
	if (w->more[w->depth])
		put(w, ",", 1);
	w->more[w->depth] = true;
	if (key) {
		put_str(w, key);
		put(w, ":", 1);
	}
}

static void open_(struct sl_jw *w, const char *key, char open, char close)
{
	member(w, key);
	put(w, &open, 1);
	if (w->depth + 1 >= SL_JW_DEPTH) {
		w->overflow = true; /* deeper than any reply goes */
		return;
	}
	w->more[++w->depth] = false;
	w->close[w->depth] = close;
}

void sl_jw_obj(struct sl_jw *w, const char *key)
{
	open_(w, key, '{', '}');
}

void sl_jw_arr(struct sl_jw *w, const char *key)
{
	open_(w, key, '[', ']');
}

void sl_jw_end(struct sl_jw *w)
{
	if (w->overflow || !w->depth)
		return;
	put(w, &w->close[w->depth], 1);
	w->depth--;
}

void sl_jw_u64(struct sl_jw *w, const char *key, uint64_t v)
{
	char b[24];

	member(w, key);
	put(w, b, (size_t)snprintf(b, sizeof(b), "%" PRIu64, v));
}

void sl_jw_i64(struct sl_jw *w, const char *key, int64_t v)
{
	char b[24];

	member(w, key);
	put(w, b, (size_t)snprintf(b, sizeof(b), "%" PRId64, v));
}

void sl_jw_str(struct sl_jw *w, const char *key, const char *s)
{
	member(w, key);
	put_str(w, s ? s : "");
}

void sl_jw_bool(struct sl_jw *w, const char *key, bool v)
{
	member(w, key);
	puts_(w, v ? "true" : "false");
}
