/* SPDX-License-Identifier: MIT */
/* What the checks (check.c) take from the runtime (lcore.c). */
#ifndef SL_LCORE_INT_H
#define SL_LCORE_INT_H

#include <sluice/lcore.h>

/* Whether a CPU list ("0-3,8", as /sys writes them) names cpu: 1 or 0, or
 * -1 when the list does not parse (then nothing is logged). */
int sl_cpu_list_has(const char *list, unsigned cpu);

#endif
