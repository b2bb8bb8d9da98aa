// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the CPU list parser (--cores, and the lists the
 * dedicated-core checks read from /sys and /proc): any byte string must be
 * refused with -EINVAL and a message, or give at most max CPUs, each below
 * 4096, none twice; and sl_cpu_list_has must agree with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/lcore.h>

#include "lcore/lcore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 64

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned cpus[MAX];
	char s[256];
	int n, i, j;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	n = sl_cpu_list_parse(s, cpus, MAX);
	if (n < 0) {
		check(n == -EINVAL && sl_last_error()[0]);
		return 0;
	}
	check(n >= 1 && n <= MAX);
	for (i = 0; i < n; i++) {
		check(cpus[i] < 4096);
		check(sl_cpu_list_has(s, cpus[i]) == 1);
		for (j = 0; j < i; j++)
			check(cpus[i] != cpus[j]);
	}
	return 0;
}
