/* util.h - small helpers every module may use. */
#ifndef DRS_UTIL_H
#define DRS_UTIL_H

#include <stddef.h>

/* Overwrites n bytes at p in a way the compiler cannot drop. NULL is fine. */
void util_wipe(void *p, size_t n);
/* Wipes a NUL-terminated secret, then frees it. NULL is fine. */
void util_free_secret(char *s);
/* Wipes n bytes, then frees. NULL is fine. */
void util_free_secret_buf(void *p, size_t n);
/* 1 when s (len bytes) is a GUID: 8-4-4-4-12 hex digits. */
int util_is_guid(const char *s, size_t len);
/* 1 when tenant is a GUID or a plausible domain name, else 0. */
int util_tenant_ok(const char *tenant);
/* strdup that reports failure through log_fail. */
char *util_strdup(const char *s);
/* printf into a new string; NULL (reported) on failure. */
char *util_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Appends n bytes to the NUL-terminated buffer *buf (length *len, size
 * *cap; the first allocation is at least first_cap), growing it by copying
 * and wiping the old buffer (it may hold a secret: no realloc). The caller
 * bounds *len + n. -1 when out of memory (not reported; *buf unchanged).
 */
int util_secret_append(char **buf, size_t *len, size_t *cap, const void *data,
    size_t n, size_t first_cap);
/*
 * Milliseconds on the monotonic clock since util_clock_start() (main's
 * first line): where a command's time went, for -v.
 */
void util_clock_start(void);
double util_clock_ms(void);
/* Appends what printf would to out (size outsz, holding a string); cut to fit. */
void util_appendf(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Crash tests: in a test build (make MODE=check, which defines
 * DRSJOIN_TEST_HOOKS) the process kills itself with SIGKILL here when the
 * environment variable DRSJOIN_TEST_KILL_AT names this point, and stops
 * itself (SIGSTOP) when DRSJOIN_TEST_STOP_AT does. A release build
 * compiles it to nothing and reads no such variable.
 */
#ifdef DRSJOIN_TEST_HOOKS
void util_fault_point(const char *name);
#else
#define util_fault_point(name) ((void)0)
#endif

#endif
