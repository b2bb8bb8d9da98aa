/* SPDX-License-Identifier: MIT */
/*
 * Internal logging and error reporting. sl_fail() is the one way a control
 * call reports an error: it records the message for sl_last_error(), passes
 * it to the application's log callback, sets errno and returns -err, so a
 * caller writes `return sl_fail(EINVAL, "udp:%s: bad address", s);`.
 */
#ifndef SL_CORE_LOG_H
#define SL_CORE_LOG_H

#include <sluice/core.h>

#define SL_PRINTF(a, b) __attribute__((format(printf, a, b)))

int sl_fail(int err, const char *fmt, ...) SL_PRINTF(2, 3);
void sl_log(enum sl_log_level level, const char *fmt, ...) SL_PRINTF(2, 3);
void sl_vlog(enum sl_log_level level, const char *fmt, va_list ap);

#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_dbg(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#define SL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Copy a string into a fixed buffer, always terminated, truncating. */
void sl_strlcpy(char *dst, const char *src, size_t size);

#endif
