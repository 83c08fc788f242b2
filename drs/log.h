/*
 * log.h - the one error convention of drsjoin.
 *
 * A function that fails reports once, where the failure is known, through
 * log_fail(), and returns -1 (or NULL). log_fail() records the exit code;
 * only main() exits, with log_exit_code().
 */
#ifndef DRS_LOG_H
#define DRS_LOG_H

#include <stddef.h>

enum exit_code {
	EXIT_OK = 0,
	EXIT_INTERNAL = 1,	/* a bug or an unexpected library failure */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_INPUT = 3,		/* bad file, JSON document or token */
	EXIT_NETWORK = 4,	/* unreachable, or an unusable answer */
	EXIT_REFUSED = 5,	/* the service answered with an error */
	EXIT_TPM = 6,		/* TPM missing or failing */
	EXIT_IO = 7,		/* local I/O: state dir, key files, stdout */
	EXIT_NOT_JOINED = 8,	/* status: no identity stored */
	EXIT_HANGUP = 129,	/* join: SIGHUP held over the request and commit */
	EXIT_INTERRUPTED = 130,	/* Ctrl-C: device code sign-in; join as 129 */
	EXIT_TERMINATED = 143,	/* join: SIGTERM, as 129 */
};

/*
 * Every line is escaped centrally (log_escape): strings from servers,
 * documents and argv can be passed to log_fail/log_note/log_debug as they
 * are. Lines are cut at LOG_LINE_MAX bytes (-v lines: LOG_DEBUG_MAX).
 */
#define LOG_LINE_MAX 1024
#define LOG_DEBUG_MAX 4096

/* 0 with -q, 1 by default, 1 + the number of -v. */
extern int log_level;

/* Prints "drsjoin: <message>" on stderr, records code (first wins), returns -1. */
int log_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An informational line on stderr, unless -q. */
void log_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * "drsjoin: warning: <message>" on stderr, also under -q: something the
 * user must act on (a file mode, a device left in the tenant). It records
 * no exit code.
 */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line on stderr, with a UTC timestamp, when -v was given at least n times (n >= 1). */
void log_debug(int n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Progress for long waits, on stderr at a terminal only (not with -q, and
 * nothing at all in a pipe or a log): log_progress_begin() shows a spinner
 * after delay_ms, with the text, until log_progress_end(); log_sleep_ms()
 * sleeps ms and shows a countdown meanwhile. One at a time, from the main
 * thread.
 */
void log_progress_begin(long delay_ms, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_progress_end(void);
void log_sleep_ms(long ms, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Writes in as one safe terminal line into out (outsz > 0, NUL-terminated),
 * at most max bytes, cut with "...(cut)": printable ASCII and valid UTF-8
 * are kept, except C1 controls, line separators and bidirectional
 * overrides; every other byte becomes "\xNN"; a run that looks like a token
 * (log_looks_secret) becomes "<redacted>". Returns the length written.
 */
size_t log_escape(char *out, size_t outsz, const char *in, size_t max);
/*
 * 1 when the n bytes at s (a run of base64url characters and dots) look
 * like a JWT, a refresh token or a PRT: "eyJ..." of 16 or more, two dots
 * between long mixed-case parts, or 40 or more mixed-case letters and digits.
 * GUIDs, hex thumbprints and host names do not.
 */
int log_looks_secret(const char *s, size_t n);
/* The recorded exit code, EXIT_INTERNAL if a failure went unrecorded. */
int log_exit_code(void);
/* Forgets the recorded code (tests, and retried operations that recovered). */
void log_reset(void);
/*
 * Best-effort checks (is the stored identity still usable?) call code that
 * reports its failures. Between log_mute(1) and log_mute(0) a failure in
 * this thread is neither printed (only shown under -v) nor recorded.
 */
void log_mute(int on);

/*
 * For a failure that the caller may recover from (a nonce that could not be
 * fetched, say): between log_catch(buf, n) and log_catch(NULL, 0), the
 * first failure in this thread is written into buf (without "drsjoin: ")
 * instead of stderr, and not recorded; log_caught_code() returns its exit
 * code (0: none). The caller then reports it, or notes that it went on.
 */
void log_catch(char *buf, size_t n);
int log_caught_code(void);

#endif
