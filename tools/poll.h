/* SPDX-License-Identifier: MIT */
/*
 * Idle back-off for the receive loops of the tool. Bursts never block, so a
 * loop that only polls takes a whole core even with nothing to do; after a
 * run of empty polls it sleeps a little (the first frame after a pause then
 * waits up to one sleep). --busy turns that off for latency measurements.
 */
#ifndef SL_TOOLS_POLL_H
#define SL_TOOLS_POLL_H

#include <stdbool.h>
#include <time.h>

#define SL_IDLE_SPINS 2000 /* empty polls before sleeping */
#define SL_IDLE_SLEEP_NS 20000

struct cli_idle {
	bool busy;
	unsigned empty;
};

static inline void cli_idle_poll(struct cli_idle *s, unsigned got)
{
	static const struct timespec nap = { 0, SL_IDLE_SLEEP_NS };

	if (got) {
		s->empty = 0;
		return;
	}
	if (s->busy || ++s->empty < SL_IDLE_SPINS)
		return;
	nanosleep(&nap, NULL);
}

#endif
