// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for telemetry queries: any message a client can send
 * gets one answer, a JSON object within the buffer, never a crash. A pair
 * port, its pool and a port with a fault decorator are open, so queries
 * that name ids reach real objects; a small answer buffer now and then
 * takes the too-long path.
 */
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

#include "telemetry/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static char buf[SL_TM_MAX_REPLY];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sl_port *a, *b;
	size_t cap = sizeof(buf), len;

	if (!a) {
		a = sl_port_open("pair:fuzz-tm/0", NULL);
		b = sl_port_open("pair:fuzz-tm/1,fault=drop:0.5,seed=1", NULL);
		check(a && b);
	}
	/* the first byte, if odd, asks for a small buffer */
	if (size && (data[0] & 1))
		cap = 64 + data[0];
	memset(buf, 0x5a, sizeof(buf));
	len = sl_tm_answer((const char *)data, size, buf, cap);
	check(len < cap);
	check(buf[len] == '\0' && strlen(buf) == len);
	check(len >= 2 && buf[0] == '{' && buf[len - 1] == '}');
	check(cap == sizeof(buf) || buf[cap] == 0x5a);
	return 0;
}
