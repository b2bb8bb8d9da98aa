// SPDX-License-Identifier: MIT
/*
 * Core services every layer uses: the log callback, the per-thread last
 * error message, the version string, the monotonic clock and thread indexes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

#ifndef SL_VERSION_STRING
#define SL_VERSION_STRING "0.0.0"
#endif

static sl_log_fn log_fn;
static void *log_ctx;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread char last_error[512];

void sl_set_log(sl_log_fn fn, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

void sl_log_stderr(enum sl_log_level level, const char *msg, void *ctx)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };

	if ((uintptr_t)level > (uintptr_t)ctx)
		return;
	fprintf(stderr, "sluice: %s: %s\n", names[level], msg);
}

void sl_vlog(enum sl_log_level level, const char *fmt, va_list ap)
{
	char msg[512];
	sl_log_fn fn;
	void *ctx;

	pthread_mutex_lock(&log_lock);
	fn = log_fn;
	ctx = log_ctx;
	pthread_mutex_unlock(&log_lock);
	if (!fn)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fn(level, msg, ctx);
}

void sl_log(enum sl_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_vlog(level, fmt, ap);
	va_end(ap);
}

int sl_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	sl_log(SL_LOG_ERROR, "%s", last_error);
	if (err < 0)
		err = -err;
	errno = err;
	return -err;
}

const char *sl_last_error(void)
{
	return last_error;
}

const char *sl_version(void)
{
	return SL_VERSION_STRING;
}

uint64_t sl_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sl_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n;

	if (!size)
		return;
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * Thread indexes. A thread takes the lowest free index on first use and gives
 * it back when it exits (through the key destructor), so programs that start
 * and stop many threads do not run out. Whatever a departed thread left in a
 * per-thread cache stays valid: the next owner of the index simply uses it.
 */
__thread unsigned sl_tls_thread_index_; /* default TLS model: core.h */

static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t index_used; /* bit i: index i is taken */
static pthread_key_t index_key;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void index_release(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg - 1;

	pthread_mutex_lock(&index_lock);
	index_used &= ~(1ull << i);
	pthread_mutex_unlock(&index_lock);
}

static void index_init(void)
{
	pthread_key_create(&index_key, index_release);
}

_Static_assert(SL_MAX_THREADS <= 64, "index_used is one 64-bit mask");

unsigned sl_thread_index_slow(void)
{
	unsigned i;

	pthread_once(&index_once, index_init);
	pthread_mutex_lock(&index_lock);
	for (i = 0; i < SL_MAX_THREADS; i++)
		if (!(index_used & (1ull << i)))
			break;
	if (i < SL_MAX_THREADS)
		index_used |= 1ull << i;
	pthread_mutex_unlock(&index_lock);
	if (i == SL_MAX_THREADS)
		return SL_MAX_THREADS; /* no cache; asked again next time */
	sl_tls_thread_index_ = i + 1;
	pthread_setspecific(index_key, (void *)(uintptr_t)(i + 1));
	return i;
}
