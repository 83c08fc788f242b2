/* sigdefer.c - signals held over a step that must not stop half-way. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sigdefer.h"

static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NSIGS (sizeof(sigs) / sizeof(sigs[0]))

static struct sigaction saved[NSIGS];
static int caught[NSIGS];	/* handler installed for sigs[i] */
static int installed;
static volatile sig_atomic_t first;
/* Held: a step that must not stop half-way is under way (sigdefer_hold). */
static volatile sig_atomic_t held;
/*
 * The lines a second signal writes, held or not: each written whole before
 * its length says it is there.
 */
static char abort_buf[1024], idle_buf[1024];
static volatile sig_atomic_t abort_len, idle_len;

static void
on_signal(int sig)
{
	struct sigaction dfl;
	int e = errno;

	if (first == 0) {
		first = sig;
		return;
	}
	/* The second: only async-signal-safe calls from here. */
	if (held && abort_len > 0)
		(void)!write(2, abort_buf, (size_t)abort_len);
	else if (!held && idle_len > 0)
		(void)!write(2, idle_buf, (size_t)idle_len);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	/* Blocked in here, so delivered (and fatal) as the handler returns. */
	raise(sig);
	errno = e;
}

int
sigdefer_begin(void)
{
	struct sigaction sa;
	size_t i;

	first = 0;
	held = 0;
	abort_len = idle_len = 0;
	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* libcurl's waits are bounded by its timeouts and retry on EINTR. */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIGS; i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (i = 0; i < NSIGS; i++) {
		caught[i] = 0;
		/* Ignored (nohup, a background job) stays ignored. */
		if (sigaction(sigs[i], NULL, &saved[i]) == 0 &&
		    saved[i].sa_handler == SIG_IGN)
			continue;
		if (sigaction(sigs[i], &sa, &saved[i]) < 0) {
			while (i-- > 0)
				if (caught[i])
					sigaction(sigs[i], &saved[i], NULL);
			return log_fail(EXIT_INTERNAL, "cannot catch signals: %s",
			    strerror(errno));
		}
		caught[i] = 1;
	}
	installed = 1;
	return 0;
}

/* Sets one of the lines (its length 0 while it is written). */
static void
set_line(char *buf, size_t bufsz, volatile sig_atomic_t *len, const char *fmt,
    va_list ap)
{
	char raw[900];
	size_t n;

	*len = 0;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	memcpy(buf, "drsjoin: ", 9);
	n = 9 + log_escape(buf + 9, bufsz - 10, raw, strlen(raw));
	if (n > bufsz - 1)
		n = bufsz - 1;
	buf[n++] = '\n';
	*len = (sig_atomic_t)n;
}

void
sigdefer_abort_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_line(abort_buf, sizeof(abort_buf), &abort_len, fmt, ap);
	va_end(ap);
}

void
sigdefer_idle_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_line(idle_buf, sizeof(idle_buf), &idle_len, fmt, ap);
	va_end(ap);
}

void
sigdefer_hold(void)
{
	held = 1;
}

void
sigdefer_release(void)
{
	held = 0;
}

int
sigdefer_stop_now(void)
{
	return installed && !held ? first : 0;
}

int
sigdefer_pending(void)
{
	return first;
}

int
sigdefer_end(void)
{
	size_t i;

	if (installed) {
		for (i = 0; i < NSIGS; i++)
			if (caught[i])
				sigaction(sigs[i], &saved[i], NULL);
		installed = 0;
	}
	held = 0;
	abort_len = idle_len = 0;
	return first;
}

int
sigdefer_exit_code(int sig)
{
	return sig == SIGHUP ? EXIT_HANGUP : sig == SIGINT ? EXIT_INTERRUPTED :
	    sig == SIGTERM ? EXIT_TERMINATED : 128 + sig;
}

const char *
sigdefer_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" :
	    sig == SIGHUP ? "SIGHUP" : sig == SIGQUIT ? "SIGQUIT" : "a signal";
}
