/* SPDX-License-Identifier: MIT */
/*
 * sluice core: version, errors, the log callback, thread indexes.
 *
 * Conventions used by every sluice header:
 * - control calls return 0 or -errno (and set errno); constructors return
 *   NULL with errno set; sl_last_error() then holds a message for the user
 *   that says what was wrong and what to do;
 * - fast-path calls (_burst, _bulk) return counts and never log: failures go
 *   to counters;
 * - options structs start with `size_t sz` (set it to sizeof the struct) so
 *   the ABI can grow.
 */
#ifndef SLUICE_CORE_H
#define SLUICE_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_API __attribute__((visibility("default")))

#define SL_CACHE_LINE 64
#define SL_CACHE_ALIGNED __attribute__((aligned(SL_CACHE_LINE)))

#ifndef sl_likely
#define sl_likely(x) __builtin_expect(!!(x), 1)
#define sl_unlikely(x) __builtin_expect(!!(x), 0)
#endif

/* Most threads that may use sluice's per-thread caches at once; a thread
 * beyond that still works, without a cache. */
#define SL_MAX_THREADS 64

enum sl_log_level {
	SL_LOG_ERROR = 0,
	SL_LOG_WARN,
	SL_LOG_INFO,
	SL_LOG_DEBUG,
};

typedef void (*sl_log_fn)(enum sl_log_level level, const char *msg, void *ctx);

/* The library never prints: it hands every message to this callback (none by
 * default). Thread-safe; the callback may run on any thread. */
SL_API void sl_set_log(sl_log_fn fn, void *ctx);

/* A ready-made callback that prints to stderr messages at or above the level
 * passed as ctx (cast from enum sl_log_level). */
SL_API void sl_log_stderr(enum sl_log_level level, const char *msg, void *ctx);

/* The message of the last control call that failed on this thread ("" when
 * none). Valid until the next failing call on the same thread. */
SL_API const char *sl_last_error(void);

/* "MAJOR.MINOR.PATCH" */
SL_API const char *sl_version(void);

/* Nanoseconds of CLOCK_MONOTONIC: the clock of every sluice timestamp. */
SL_API uint64_t sl_time_ns(void);

/*
 * A small index for the calling thread, 0..SL_MAX_THREADS-1, stable for the
 * thread's life and reused after it exits; SL_MAX_THREADS when all are taken.
 * Per-thread caches (pools) are indexed by it. Fast path.
 *
 * The inline reads a variable of the library's, with the default TLS model
 * on purpose: the toolchain picks per caller. In an executable's code (the
 * static library's too, once linked into one) it is one load from the
 * thread pointer; in a shared object's, the library's own included, a call
 * to __tls_get_addr (a few ns a burst in a plugin's pool calls, nothing
 * measurable in a port's).
 * Forcing initial-exec here made libsluice.so need static TLS, so dlopen
 * (a plugin, a language binding) failed with "cannot allocate memory in
 * static TLS block"; an exported accessor function instead would cost
 * every program a call where it has a load.
 */
SL_API extern __thread unsigned sl_tls_thread_index_;
SL_API unsigned sl_thread_index_slow(void);

static inline unsigned sl_thread_index(void)
{
	unsigned i = sl_tls_thread_index_;

	/* 0 means "not assigned yet"; stored values are index + 1 */
	return sl_likely(i != 0) ? i - 1 : sl_thread_index_slow();
}

#ifdef __cplusplus
}
#endif
#endif
