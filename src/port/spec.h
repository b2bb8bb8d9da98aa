/* SPDX-License-Identifier: MIT */
/*
 * Port spec strings: "DRIVER:TARGET[,KEY=VALUE|,FLAG]..." parsed once into
 * a struct sl_spec by one parser (fuzzed). The parser checks the grammar,
 * the driver name, which keys each driver takes and the form of the common
 * ones; drivers read their own keys with the typed getters below, which
 * produce the same style of message: "<spec>: <what is wrong>".
 *
 * Commas separate options; an item without '=' that follows fault=... (such
 * as "dup:0.1") continues that option's list, so
 * "pair:a/0,fault=drop:0.1,dup:0.2,seed=7" gives fault="drop:0.1,dup:0.2"
 * and seed="7". (A flag the driver takes, such as pcap's "write", is still
 * a flag there: "pcap:f,fault=drop:0.1,write" is in write mode.)
 */
#ifndef SL_PORT_SPEC_H
#define SL_PORT_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#define SL_SPEC_MAX_LEN 511
#define SL_SPEC_MAX_OPTS 16

struct sl_spec_opt {
	char key[32];
	char val[256]; /* "" for a bare flag such as "write" */
};

struct sl_spec {
	char text[SL_SPEC_MAX_LEN + 1]; /* the whole spec as given */
	char driver[16]; /* "udp", "pair", "pcap", ... */
	char target[256]; /* what follows "driver:" up to the first option */
	unsigned n_opts;
	struct sl_spec_opt opts[SL_SPEC_MAX_OPTS];
};

/* Parse s. 0, or -EINVAL with the message in sl_last_error(). Checks that
 * the driver exists and takes every key given. */
int sl_spec_parse(const char *s, struct sl_spec *out);

/* The value of key, or NULL when absent. */
const char *sl_spec_get(const struct sl_spec *spec, const char *key);
bool sl_spec_has(const struct sl_spec *spec, const char *key);

/* Typed getters: 0 with *out set (def when absent), or -EINVAL with the
 * message "<spec>: bad KEY 'VALUE': <why>" in sl_last_error(). */
int sl_spec_u32(const struct sl_spec *spec, const char *key, uint32_t def,
		uint32_t min, uint32_t max, uint32_t *out);
int sl_spec_prob(const struct sl_spec *spec, const char *val, const char *what,
		 double *out); /* "0.05" -> 0.05, must be in [0, 1] */

/*
 * Report an error about this spec: records "<spec text>: <message>" (like
 * sl_fail) and returns -err, so a driver writes
 *   return sl_spec_fail(spec, EINVAL, "bad address '%s'", a);
 */
int sl_spec_fail(const struct sl_spec *spec, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The strict number readers behind the getters, without a message: 0 or
 * -EINVAL. Decimal digits only (no sign, no spaces), no overflow. */
int sl_spec_parse_u64(const char *s, uint64_t *out);
/* "N" (N queues from 0) or "A-B" (queues A to B): 0 with the first queue
 * and the count (1..SL_PORT_MAX_QUEUES), or -EINVAL. */
int sl_spec_parse_queues(const char *s, uint64_t *first, uint64_t *count);
/* A probability: a decimal number in [0, 1] ("0", "1", "0.25", "1e-3"). */
int sl_spec_parse_prob(const char *s, double *out);

#endif
