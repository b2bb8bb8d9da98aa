// SPDX-License-Identifier: MIT
/*
 * The port spec parser: "DRIVER:TARGET[,KEY=VALUE|,FLAG]..." into a struct
 * sl_spec, and the typed getters drivers read their options with.
 *
 * Spec strings come from command lines and configuration files, so every
 * byte is checked here once (the parser is fuzzed): the length, control
 * characters, empty parts, the driver name, each key against what the driver
 * takes, duplicates, and the form of the options every port takes (queues,
 * capture, fault, seed). Every message starts with the whole spec, so the
 * user sees which string was wrong, then says what is wrong with it.
 *
 * The target is everything after the first ':' up to the first ',': IPv6
 * addresses are bracketed ("udp:[::1]:80") and contain no comma. An item
 * without '=' that follows fault= continues the fault list
 * ("fault=drop:0.1,dup:0.2"), unless it is a flag the driver takes (so
 * "pcap:f,fault=drop:0.1,write" still means write mode).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "port/driver.h"
#include "port/spec.h"

/* Keys every port takes, handled by the port layer (port.c, deco.c). */
static const char *const common_keys[] = { "queues", "capture", "fault", "seed",
					   NULL };

int sl_spec_fail(const struct sl_spec *spec, int err, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sl_fail(err, "%s: %s", spec->text, msg);
}

static bool key_in(const char *const *keys, const char *key)
{
	for (; keys && *keys; keys++)
		if (strcmp(*keys, key) == 0)
			return true;
	return false;
}

int sl_spec_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL; /* overflow */
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int sl_spec_parse_prob(const char *s, double *out)
{
	const char *c;
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	/* strtod also takes spaces, signs, hex, "inf" and "nan": allow only
	 * plain decimal notation */
	for (c = s; *c; c++)
		if (!((*c >= '0' && *c <= '9') || *c == '.' || *c == 'e' ||
		      *c == 'E' ||
		      (c > s && (*c == '-' || *c == '+') &&
		       (c[-1] == 'e' || c[-1] == 'E'))))
			return -EINVAL;
	if (s[0] == 'e' || s[0] == 'E')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno == ERANGE || !isfinite(v) || v < 0.0 || v > 1.0)
		return -EINVAL;
	*out = v;
	return 0;
}

int sl_spec_parse_queues(const char *s, uint64_t *first, uint64_t *count)
{
	const char *dash = strchr(s, '-');
	char lo[24];
	uint64_t a, b;

	if (!dash) {
		if (sl_spec_parse_u64(s, &a) || a < 1 || a > SL_PORT_MAX_QUEUES)
			return -EINVAL;
		*first = 0;
		*count = a;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(lo))
		return -EINVAL;
	memcpy(lo, s, (size_t)(dash - s));
	lo[dash - s] = '\0';
	if (sl_spec_parse_u64(lo, &a) || sl_spec_parse_u64(dash + 1, &b) ||
	    b < a || b - a >= SL_PORT_MAX_QUEUES)
		return -EINVAL;
	*first = a;
	*count = b - a + 1;
	return 0;
}

/* The form of the common options; drivers check their own. */
static int check_common(const struct sl_spec *spec, const struct sl_spec_opt *o)
{
	uint64_t v, first;

	if (strcmp(o->key, "queues") == 0) {
		if (sl_spec_parse_queues(o->val, &first, &v))
			return sl_spec_fail(
				spec, EINVAL,
				"bad queues '%s': expected a number from 1 to %u, or a range A-B",
				o->val, SL_PORT_MAX_QUEUES);
	} else if (strcmp(o->key, "seed") == 0) {
		if (sl_spec_parse_u64(o->val, &v))
			return sl_spec_fail(
				spec, EINVAL,
				"bad seed '%s': expected a number from 0 to %llu",
				o->val, (unsigned long long)UINT64_MAX);
	}
	return 0;
}

static int add_opt(struct sl_spec *out, const struct sl_driver *drv,
		   const char *item, size_t len)
{
	const char *eq = memchr(item, '=', len);
	struct sl_spec_opt *o;
	size_t klen, vlen;
	unsigned i;

	if (len == 0)
		return sl_spec_fail(out, EINVAL,
				    "empty option (two commas in a row, or a "
				    "comma at the end)");
	klen = eq ? (size_t)(eq - item) : len;
	vlen = eq ? len - klen - 1 : 0;
	if (klen == 0)
		return sl_spec_fail(out, EINVAL, "option '%.*s' has no key",
				    (int)len, item);
	/* "fault=drop:0.1,dup:0.2": a bare item continues the fault list,
	 * unless it is one of the driver's flags */
	if (!eq && out->n_opts > 0 &&
	    strcmp(out->opts[out->n_opts - 1].key, "fault") == 0) {
		char flag[sizeof(o->key)];

		flag[0] = '\0';
		if (klen < sizeof(flag)) {
			memcpy(flag, item, klen);
			flag[klen] = '\0';
		}
		if (!key_in(drv->keys, flag)) {
			o = &out->opts[out->n_opts - 1];
			if (strlen(o->val) + 1 + len >= sizeof(o->val))
				return sl_spec_fail(out, EINVAL,
						    "fault list too long (at "
						    "most %zu characters)",
						    sizeof(o->val) - 1);
			strcat(o->val, ",");
			strncat(o->val, item, len);
			return 0;
		}
	}

	if (klen >= sizeof(o->key))
		return sl_spec_fail(out, EINVAL,
				    "option '%.*s...' is too long (keys have "
				    "at most %zu characters)",
				    (int)sizeof(o->key) - 1, item,
				    sizeof(o->key) - 1);
	if (out->n_opts >= SL_SPEC_MAX_OPTS)
		return sl_spec_fail(out, EINVAL,
				    "too many options (at most %d)",
				    SL_SPEC_MAX_OPTS);
	o = &out->opts[out->n_opts];
	memcpy(o->key, item, klen);
	o->key[klen] = '\0';
	if (eq && vlen == 0)
		return sl_spec_fail(out, EINVAL,
				    "option '%s=' has no value after '='",
				    o->key);
	if (vlen >= sizeof(o->val))
		return sl_spec_fail(out, EINVAL,
				    "value of '%s' is too long (at most %zu "
				    "characters)",
				    o->key, sizeof(o->val) - 1);
	memcpy(o->val, eq ? eq + 1 : "", vlen);
	o->val[vlen] = '\0';

	if (!key_in(common_keys, o->key) && !key_in(drv->keys, o->key))
		return sl_spec_fail(out, EINVAL,
				    "option '%s' not taken by driver %s",
				    o->key, drv->name);
	for (i = 0; i < out->n_opts; i++)
		if (strcmp(out->opts[i].key, o->key) == 0)
			return sl_spec_fail(out, EINVAL,
					    "option '%s' given twice", o->key);
	if (key_in(common_keys, o->key) && !eq)
		return sl_spec_fail(out, EINVAL,
				    "option '%s' needs a value (%s=...)",
				    o->key, o->key);
	out->n_opts++;
	return check_common(out, o);
}

static void known_drivers(char *buf, size_t len)
{
	const struct sl_driver *const *d;
	size_t off = 0;

	buf[0] = '\0';
	for (d = sl_drivers; *d && off < len; d++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? ", " : "", (*d)->name);
}

int sl_spec_parse(const char *s, struct sl_spec *out)
{
	const struct sl_driver *drv;
	const char *colon, *p, *comma;
	size_t len, i;
	char known[128];

	memset(out, 0, sizeof(*out));
	if (!s)
		return sl_fail(EINVAL, "no port spec given");
	len = strnlen(s, SL_SPEC_MAX_LEN + 1);
	if (len > SL_SPEC_MAX_LEN)
		return sl_fail(EINVAL,
			       "%.40s...: port spec too long (at most %d "
			       "characters)",
			       s, SL_SPEC_MAX_LEN);
	if (len == 0)
		return sl_fail(EINVAL,
			       "empty port spec (expected DRIVER:TARGET, "
			       "such as udp:127.0.0.1:9000)");
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return sl_fail(EINVAL,
				       "port spec has a control character "
				       "(byte 0x%02x at offset %zu)",
				       (unsigned char)s[i], i);
	memcpy(out->text, s, len + 1);

	colon = strchr(s, ':');
	comma = strchr(s, ',');
	if (!colon || (comma && comma < colon))
		return sl_spec_fail(out, EINVAL,
				    "expected DRIVER:TARGET (such as "
				    "pair:a/0)");
	if (colon == s)
		return sl_spec_fail(out, EINVAL, "no driver name before ':'");
	drv = NULL;
	if ((size_t)(colon - s) < sizeof(out->driver)) {
		memcpy(out->driver, s, (size_t)(colon - s));
		out->driver[colon - s] = '\0';
		drv = sl_driver_find(out->driver);
	}
	if (!drv) {
		known_drivers(known, sizeof(known));
		return sl_spec_fail(out, EINVAL,
				    "unknown driver '%.*s' (known: %s)",
				    (int)SL_MIN(colon - s, 32), s, known);
	}

	p = colon + 1;
	comma = strchr(p, ',');
	len = comma ? (size_t)(comma - p) : strlen(p);
	if (len == 0)
		return sl_spec_fail(out, EINVAL, "nothing after '%s:'",
				    out->driver);
	if (len >= sizeof(out->target))
		return sl_spec_fail(out, EINVAL,
				    "target too long (at most %zu characters)",
				    sizeof(out->target) - 1);
	memcpy(out->target, p, len);
	out->target[len] = '\0';

	while (comma) {
		int err;

		p = comma + 1;
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		err = add_opt(out, drv, p, len);
		if (err)
			return err;
	}
	return 0;
}

const char *sl_spec_get(const struct sl_spec *spec, const char *key)
{
	unsigned i;

	for (i = 0; i < spec->n_opts; i++)
		if (strcmp(spec->opts[i].key, key) == 0)
			return spec->opts[i].val;
	return NULL;
}

bool sl_spec_has(const struct sl_spec *spec, const char *key)
{
	return sl_spec_get(spec, key) != NULL;
}

int sl_spec_u32(const struct sl_spec *spec, const char *key, uint32_t def,
		uint32_t min, uint32_t max, uint32_t *out)
{
	const char *val = sl_spec_get(spec, key);
	uint64_t v;

	if (!val) {
		*out = def;
		return 0;
	}
	if (sl_spec_parse_u64(val, &v))
		return sl_spec_fail(spec, EINVAL,
				    "bad %s '%s': not a number (expected %u to "
				    "%u)",
				    key, val, min, max);
	if (v < min || v > max)
		return sl_spec_fail(spec, EINVAL,
				    "bad %s '%s': expected %u to %u", key, val,
				    min, max);
	*out = (uint32_t)v;
	return 0;
}

int sl_spec_prob(const struct sl_spec *spec, const char *val, const char *what,
		 double *out)
{
	if (sl_spec_parse_prob(val, out))
		return sl_spec_fail(spec, EINVAL,
				    "bad probability '%s' for %s (expected a "
				    "number from 0 to 1)",
				    val, what);
	return 0;
}
