/* SPDX-License-Identifier: MIT */
/*
 * Telemetry queries: the parser (parse.c, fuzzed by fuzz/fuzz_telemetry.c)
 * and the commands that answer them (cmds.c).
 *
 * A query is one message on the socket:
 *
 *   query = command [ "," param ] [ "\n" | "\r\n" ]
 *   command = "/" *( "a"-"z" / "0"-"9" / "_" / "/" )  (at most 63 bytes)
 *   param = 1*63 ( %x21-7E )
 *
 * The trailing newline is for people typing into socat. The answer is one
 * JSON object whose only key is the command, {"/ports": [0, 1]}, as
 * DPDK's telemetry answers, or {"error": "why"}.
 */
#ifndef SL_TELEMETRY_QUERY_H
#define SL_TELEMETRY_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#define SL_TM_MAX_QUERY 128 /* bytes of a query, newline included */
#define SL_TM_MAX_REPLY 65536 /* bytes of an answer, told to clients */

struct sl_tm_query {
	char cmd[64];
	char param[64];
	bool has_param;
};

/* Parse in[0..len) (not NUL-terminated; a NUL byte is refused). 0, or
 * -EINVAL with *why a static string saying what was wrong. */
int sl_tm_parse(const char *in, size_t len, struct sl_tm_query *q,
		const char **why);

/* A param that is an id: decimal digits, at most 9. 0 or -EINVAL. */
int sl_tm_param_id(const struct sl_tm_query *q, unsigned *id);

/* Answer the query in[0..len) into buf (cap bytes, at least 64), a
 * NUL-terminated JSON object; returns its length. Never fails: a bad
 * query, an unknown command or an answer over cap gets {"error": ...}.
 * Thread-safe (reads the registry); control path. */
size_t sl_tm_answer(const char *in, size_t len, char *buf, size_t cap);

/* The greeting sent to each client on connect. Same rules. */
size_t sl_tm_hello(char *buf, size_t cap);

#endif
