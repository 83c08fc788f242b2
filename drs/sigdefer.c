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
/* The abort line: written whole before abort_len says it is there. */
static char abort_buf[1024];
static volatile sig_atomic_t abort_len;

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
	if (abort_len > 0)
		(void)!write(2, abort_buf, (size_t)abort_len);
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
	abort_len = 0;
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

void
sigdefer_abort_line(const char *fmt, ...)
{
	char raw[900];
	size_t n;
	va_list ap;

	abort_len = 0;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	memcpy(abort_buf, "drsjoin: ", 9);
	n = 9 + log_escape(abort_buf + 9, sizeof(abort_buf) - 10, raw, strlen(raw));
	if (n > sizeof(abort_buf) - 1)
		n = sizeof(abort_buf) - 1;
	abort_buf[n++] = '\n';
	abort_len = (sig_atomic_t)n;
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
	abort_len = 0;
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
