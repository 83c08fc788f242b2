/* util.c - wiping secrets and allocation helpers. */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

void
util_wipe(void *p, size_t n)
{
	/* A volatile pointer to memset keeps the store alive (musl and glibc). */
	static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

	if (p != NULL && n > 0)
		wipe_memset(p, 0, n);
}

void
util_free_secret(char *s)
{
	if (s == NULL)
		return;
	util_wipe(s, strlen(s));
	free(s);
}

void
util_free_secret_buf(void *p, size_t n)
{
	util_wipe(p, n);
	free(p);
}

int
util_is_guid(const char *s, size_t len)
{
	size_t i;

	if (len != 36)
		return 0;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

int
util_tenant_ok(const char *t)
{
	size_t i, n = strlen(t);

	if (util_is_guid(t, n))
		return 1;
	/* A domain: letters, digits, '-' and '.', no leading or double dot. */
	if (n == 0 || n > 253 || t[0] == '.' || t[0] == '-' || strchr(t, '.') == NULL ||
	    strstr(t, "..") != NULL || t[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '.')
			return 0;
	return 1;
}

char *
util_strdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		log_fail(EXIT_INTERNAL, "out of memory");
	return d;
}

char *
util_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

int
util_secret_append(char **buf, size_t *len, size_t *cap, const void *data,
    size_t n, size_t first_cap)
{
	size_t c;
	char *nb;

	if (*len + n + 1 > *cap) {
		for (c = *cap ? *cap : first_cap; c < *len + n + 1; c *= 2)
			;
		if ((nb = malloc(c)) == NULL)
			return -1;
		if (*len > 0)
			memcpy(nb, *buf, *len);
		util_free_secret_buf(*buf, *cap);
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

void
util_appendf(char *out, size_t outsz, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	if (used + 1 >= outsz)
		return;
	va_start(ap, fmt);
	vsnprintf(out + used, outsz - used, fmt, ap);
	va_end(ap);
}

#ifdef DRSJOIN_TEST_HOOKS
void
util_fault_point(const char *name)
{
	const char *at = getenv("DRSJOIN_TEST_KILL_AT");

	const char *stop = getenv("DRSJOIN_TEST_STOP_AT");

	if (at != NULL && strcmp(at, name) == 0)
		raise(SIGKILL);
	/* Stopped there, for a test to send signals at a known step. */
	if (stop != NULL && strcmp(stop, name) == 0)
		raise(SIGSTOP);
}
#endif

static struct timespec clock_start;

void
util_clock_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &clock_start);
}

double
util_clock_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - clock_start.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - clock_start.tv_nsec) / 1e6;
}
