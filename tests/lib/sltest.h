/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests: cmocka includes, a skip with a reason
 * that shows in the TAP output, and checks every scenario ends with.
 */
#ifndef SLTEST_H
#define SLTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <sluice/sluice.h>

/* Skip the current test, printing why (the TAP line only says SKIP). */
#define sl_test_skip(...)                              \
	do {                                           \
		printf("# skip reason: " __VA_ARGS__); \
		printf("\n");                          \
		skip();                                \
	} while (0)

/* A pool for tests: n buffers, debug mode (double frees caught). */
struct sl_pool *sl_test_pool(unsigned n);

/* Assert that every buffer of the pool is back and nothing was freed twice. */
void sl_test_pool_full(struct sl_pool *p);

/* A unique name with the prefix "sl-" (for pairs, files, namespaces). */
const char *sl_test_name(const char *what, char *buf, size_t len);

/* A bound on how long something may take before the test calls it hung,
 * scaled by SL_TEST_TIME_SCALE (default 1; the ThreadSanitizer run sets
 * it, its code being many times slower). A bound, never a speed check. */
uint64_t sl_test_bound_ns(uint64_t ns);

/* The port's extended counter called name; fails the test when the port
 * has none of that name. */
uint64_t sl_test_xstat(struct sl_port *port, const char *name);

/* One frame from the port's queue, polled for up to ms; NULL if none came. */
struct sl_pkt *sl_test_rx_one(struct sl_port *port, uint16_t queue, int ms);

/* A path in a fresh temporary directory removed at exit. */
const char *sl_test_tmpfile(const char *name, char *buf, size_t len);

#endif
