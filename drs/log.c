/* log.c - diagnostics on stderr and the recorded exit code. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int log_level = 1;

static int recorded = -1;
static _Thread_local int muted;
static _Thread_local char *caught;
static _Thread_local size_t caught_size;
static _Thread_local int caught_code;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int
token_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

int
log_looks_secret(const char *s, size_t n)
{
	size_t i, dots = 0, seg = 0, long_segs = 0;
	int upper = 0, lower = 0, digit = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		upper |= c >= 'A' && c <= 'Z';
		lower |= c >= 'a' && c <= 'z';
		digit |= c >= '0' && c <= '9';
		if (c == '.') {
			dots++;
			long_segs += seg >= 16;
			seg = 0;
		} else {
			seg++;
		}
	}
	long_segs += seg >= 16;
	/* A JWT or JWE: a JSON header ("eyJ") and dot-separated base64url parts. */
	if (n >= 16 && memcmp(s, "eyJ", 3) == 0)
		return 1;
	if (dots >= 2 && long_segs >= 2 && upper && lower)
		return 1;
	/* An opaque refresh token, a PRT: long mixed-case base64url. */
	return n >= 40 && upper && lower && digit;
}

/* The length of the valid UTF-8 sequence at s that is safe on a terminal, or 0. */
static size_t
utf8_ok(const unsigned char *s, size_t n)
{
	unsigned int cp;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/*
	 * C1 controls (CSI is U+009B), line and paragraph separators, bidi
	 * overrides, isolates and marks (U+061C, U+200E/F), and the invisible
	 * ones that make two strings look alike (zero-width space, joiners,
	 * word joiner and invisible operators, the BOM).
	 */
	if (cp <= 0x9f || cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
	    cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0xfeff)
		return 0;
	return len;
}

size_t
log_escape(char *out, size_t outsz, const char *in, size_t max)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), i = 0, o = 0, k;
	static const char mark[] = "<redacted>", cut[] = "...(cut)";

	if (outsz == 0)
		return 0;
	if (max > outsz - 1)
		max = outsz - 1;
	while (i < n) {
		char esc[8];
		const char *add = esc;
		size_t alen, used = 1;

		if (token_char(s[i]) && (i == 0 || !token_char(s[i - 1]))) {
			for (k = i; k < n && token_char(s[k]); k++)
				;
			if (log_looks_secret(in + i, k - i)) {
				add = mark;
				alen = sizeof(mark) - 1;
				used = k - i;
				goto put;
			}
		}
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			esc[0] = (char)s[i];
			alen = 1;
		} else if (s[i] >= 0x80 && (used = utf8_ok(s + i, n - i)) > 0) {
			add = in + i;
			alen = used;
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			alen = 4;
			used = 1;
		}
put:
		if (o + alen > max) {
			if (max >= sizeof(cut) - 1) {
				if (o > max - (sizeof(cut) - 1)) {
					o = max - (sizeof(cut) - 1);
					/* Never leave half a UTF-8 sequence before the mark. */
					while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
						o--;
				}
				memcpy(out + o, cut, sizeof(cut) - 1);
				o += sizeof(cut) - 1;
			}
			break;
		}
		memcpy(out + o, add, alen);
		o += alen;
		i += used;
	}
	out[o] = '\0';
	return o;
}

/*
 * Progress: while a wait lasts, a thread redraws one line on stderr (a
 * spinner, or a countdown) - only when stderr is a terminal and not -q.
 * Log lines clear it first; it comes back at the next tick.
 */
static struct {
	pthread_t thread;
	pthread_cond_t cond;
	int running, active, drawn;
	char text[256];
	struct timespec show_at, deadline;	/* deadline.tv_sec 0: a spinner */
} prog = { .cond = PTHREAD_COND_INITIALIZER };

static void
clear_progress(void)
{
	if (prog.drawn) {
		fputs("\r\033[K", stderr);
		prog.drawn = 0;
	}
}

/*
 * One line per call, whole: key generation runs in threads. -v lines carry
 * a UTC timestamp (milliseconds), for logs pasted into a support ticket.
 * Every line is escaped and capped (log_escape): messages carry strings
 * from servers, documents and the command line.
 */
static void
emit_ts(int stamp, size_t max, const char *fmt, va_list ap)
{
	char raw[8192], line[8192], ts[40] = "";
	struct timespec now;
	struct tm tm;

	/* Escaped here, whoever wrote it: messages carry foreign strings. */
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(line, sizeof(line), raw, max);
	if (stamp && clock_gettime(CLOCK_REALTIME, &now) == 0 &&
	    gmtime_r(&now.tv_sec, &tm) != NULL) {
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ ",
		    now.tv_nsec / 1000000);
	}
	pthread_mutex_lock(&lock);
	clear_progress();
	fprintf(stderr, "drsjoin: %s%s\n", ts, line);
	pthread_mutex_unlock(&lock);
}

static void
emit(const char *fmt, va_list ap)
{
	emit_ts(0, LOG_LINE_MAX, fmt, ap);
}

static void __attribute__((format(printf, 1, 2)))
emit_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

int
log_fail(int code, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (caught != NULL) {
		if (caught_code == 0) {
			va_start(ap, fmt);
			vsnprintf(caught, caught_size, fmt, ap);
			va_end(ap);
			caught_code = code;
		}
		return -1;
	}
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
log_warn(const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	/* -q hides notes only: a warning asks for action, as in a CI log. */
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit_line("warning: %s", line);
}

void
log_debug(int n, const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1 + n)
		return;
	va_start(ap, fmt);
	emit_ts(1, LOG_DEBUG_MAX, fmt, ap);
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

static long
ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void
add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static void *
progress_run(void *arg)
{
	static const char spin[] = "|/-\\";
	struct timespec tick;
	unsigned int i = 0;
	long left;

	(void)arg;
	pthread_mutex_lock(&lock);
	while (prog.active) {
		clock_gettime(CLOCK_REALTIME, &tick);
		add_ms(&tick, 200);
		pthread_cond_timedwait(&prog.cond, &lock, &tick);
		if (!prog.active || ms_until(&prog.show_at) > 0)
			continue;
		fputs("\r\033[K", stderr);
		if (prog.deadline.tv_sec != 0) {
			left = ms_until(&prog.deadline);
			fprintf(stderr, "drsjoin: %s %ld s ", prog.text,
			    left > 0 ? (left + 999) / 1000 : 0);
		} else
			fprintf(stderr, "drsjoin: %s %c", prog.text, spin[i++ % 4]);
		fflush(stderr);
		prog.drawn = 1;
	}
	clear_progress();
	fflush(stderr);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void
progress_start(long delay_ms, long countdown_ms, const char *fmt, va_list ap)
{
	char raw[sizeof(prog.text)];

	if (log_level < 1 || !isatty(2) || prog.running)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(prog.text, sizeof(prog.text), raw, sizeof(prog.text) - 1);
	clock_gettime(CLOCK_MONOTONIC, &prog.show_at);
	prog.deadline = prog.show_at;
	add_ms(&prog.show_at, delay_ms);
	if (countdown_ms > 0)
		add_ms(&prog.deadline, countdown_ms);
	else
		prog.deadline.tv_sec = 0;
	prog.active = 1;
	prog.running = pthread_create(&prog.thread, NULL, progress_run, NULL) == 0;
	if (!prog.running)
		prog.active = 0;
}

void
log_progress_begin(long delay_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	progress_start(delay_ms, 0, fmt, ap);
	va_end(ap);
}

void
log_progress_end(void)
{
	if (!prog.running)
		return;
	pthread_mutex_lock(&lock);
	prog.active = 0;
	pthread_cond_signal(&prog.cond);
	pthread_mutex_unlock(&lock);
	pthread_join(prog.thread, NULL);
	prog.running = 0;
}

void
log_sleep_ms(long ms, const char *fmt, ...)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	va_list ap;

	va_start(ap, fmt);
	progress_start(0, ms, fmt, ap);
	va_end(ap);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	log_progress_end();
}

void
log_catch(char *buf, size_t n)
{
	if (buf != NULL && n > 0)
		buf[0] = '\0';
	caught = n > 0 ? buf : NULL;
	caught_size = n;
	if (caught != NULL)
		caught_code = 0;	/* kept after the end, for log_caught_code */
}

int
log_caught_code(void)
{
	return caught_code;
}
