/* log.c - diagnostics on stderr and the recorded exit code. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int log_level = 1;

static int recorded = -1;
static _Thread_local int muted;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* One line per call, whole: key generation runs in threads. */
static void
emit(const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	pthread_mutex_lock(&lock);
	fprintf(stderr, "drsjoin: %s\n", line);
	pthread_mutex_unlock(&lock);
}

int
log_fail(int code, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (muted) {
		if (log_level >= 2) {
			va_start(ap, fmt);
			vsnprintf(line, sizeof(line), fmt, ap);
			va_end(ap);
			log_debug(1, "(not an error here) %s", line);
		}
		return -1;
	}
	pthread_mutex_lock(&lock);
	if (recorded < 0)
		recorded = code;
	pthread_mutex_unlock(&lock);
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
	return -1;
}

void
log_note(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void
log_debug(int n, const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1 + n)
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

int
log_exit_code(void)
{
	return recorded < 0 ? EXIT_INTERNAL : recorded;
}

void
log_reset(void)
{
	recorded = -1;
}

void
log_mute(int on)
{
	muted = on;
}
