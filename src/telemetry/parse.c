// SPDX-License-Identifier: MIT
/*
 * The telemetry query parser (grammar in telemetry/query.h). Every byte of
 * a query comes from another process, so each is checked against the
 * grammar by index within len, and nothing is copied before it is.
 */
#include <errno.h>
#include <string.h>

#include "telemetry/query.h"

static bool cmd_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '/';
}

int sl_tm_parse(const char *in, size_t len, struct sl_tm_query *q,
		const char **why)
{
	size_t i, c, p;

	memset(q, 0, sizeof(*q));
	if (len && in[len - 1] == '\n')
		len--;
	if (len && in[len - 1] == '\r')
		len--;
	if (!len) {
		*why = "empty query: try /";
		return -EINVAL;
	}
	if (len >= SL_TM_MAX_QUERY) {
		*why = "query too long";
		return -EINVAL;
	}
	if (in[0] != '/') {
		*why = "a command starts with /: try /";
		return -EINVAL;
	}
	for (c = 0; c < len && in[c] != ','; c++) {
		if (!cmd_char(in[c])) {
			*why = "a command has only a-z, 0-9, _ and /";
			return -EINVAL;
		}
	}
	if (c >= sizeof(q->cmd)) {
		*why = "command too long";
		return -EINVAL;
	}
	if (c < len) { /* in[c] == ',' */
		p = len - c - 1;
		if (!p) {
			*why = "empty parameter after ,";
			return -EINVAL;
		}
		if (p >= sizeof(q->param)) {
			*why = "parameter too long";
			return -EINVAL;
		}
		for (i = c + 1; i < len; i++) {
			if (in[i] < 0x21 || in[i] > 0x7e) {
				*why = "a parameter has only printable "
				       "characters, no spaces";
				return -EINVAL;
			}
		}
		memcpy(q->param, in + c + 1, p);
		q->has_param = true;
	}
	memcpy(q->cmd, in, c);
	return 0;
}

int sl_tm_param_id(const struct sl_tm_query *q, unsigned *id)
{
	unsigned v = 0;
	size_t i;

	if (!q->has_param || !q->param[0] || strlen(q->param) > 9)
		return -EINVAL;
	for (i = 0; q->param[i]; i++) {
		if (q->param[i] < '0' || q->param[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(q->param[i] - '0');
	}
	*id = v;
	return 0;
}
