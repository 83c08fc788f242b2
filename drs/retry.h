/*
 * retry.h - when to ask the service again, and how long to wait first.
 *
 * The policy http.c follows (pure parts here, so they are unit-tested):
 * - 429 and 503 (throttled, or busy): retried. A Retry-After header (seconds
 *   or an HTTP-date; libcurl reads it: CURLINFO_RETRY_AFTER) is the floor of
 *   the wait: Retry-After plus a random extra drawn from a window that
 *   doubles with each refusal of the same request, from
 *   RETRY_AFTER_JITTER_MIN_MS up to RETRY_AFTER_JITTER_CAP_MS (1, 2, 4, 4...
 *   seconds; retry_after_ms), so that a fleet throttled together does not
 *   come back in one wave, and spreads out further while it keeps being
 *   refused. The window does not grow with Retry-After itself: a service
 *   that counts its queue already spreads the fleet by the value it sends
 *   (a wait of half of it more only lets its slots go unused). A Retry-After
 *   of 0, a date already past, or one libcurl cannot read: the backoff below.
 * - Other 5xx except 501 and 505 (those will not change by asking again):
 *   retried with the backoff below.
 * - Every other status (1xx/3xx/4xx): never retried.
 * - Connection failures (see http.c): retried with the same backoff.
 * - Backoff before attempt n+1: d = RETRY_BACKOFF_BASE_MS * 2^(n-1), capped
 *   at RETRY_BACKOFF_CAP_MS, then "equal jitter": a delay drawn uniformly
 *   from [d/2, d] (1 s, 2 s, 4 s, 8 s... each halved at worst).
 * - Bounds: at most RETRY_DEFAULT_ATTEMPTS attempts a request (--attempts,
 *   1..RETRY_MAX_ATTEMPTS), and at most RETRY_DEFAULT_MAX_WAIT_S seconds of
 *   waiting in all, over every request of the run (--max-wait,
 *   1..RETRY_MAX_WAIT_LIMIT_S). A Retry-After longer than what is left of
 *   that is not waited for: drsjoin gives up at once; a jittered wait is cut
 *   to what is left.
 * - Every draw comes from getrandom() in the process that waits, so that
 *   processes started together do not share it.
 */
#ifndef DRS_RETRY_H
#define DRS_RETRY_H

#define RETRY_DEFAULT_ATTEMPTS 4
#define RETRY_MAX_ATTEMPTS 20
#define RETRY_DEFAULT_MAX_WAIT_S 120
#define RETRY_MAX_WAIT_LIMIT_S 3600
/* join --splay: the longest spread of a fleet's first requests, in seconds. */
#define RETRY_SPLAY_MAX_S 3600
#define RETRY_BACKOFF_BASE_MS 1000L
#define RETRY_BACKOFF_CAP_MS 8000L
#define RETRY_AFTER_JITTER_MIN_MS 1000L
#define RETRY_AFTER_JITTER_CAP_MS 4000L

enum retry_kind {
	RETRY_NEVER,	/* give up: the answer will not change */
	RETRY_AFTER,	/* 429, 503: honour Retry-After, else back off */
	RETRY_BACKOFF,	/* other transient 5xx: back off */
};

/* How an HTTP status is retried. */
enum retry_kind retry_status_kind(long status);

/*
 * The wait in milliseconds for a Retry-After of secs seconds (secs >= 0)
 * after the refused-th refusal (429/503) of the same request (refused >= 1):
 * secs * 1000 plus rnd (any random 32-bit value) drawn into [0, w], w =
 * RETRY_AFTER_JITTER_MIN_MS * 2^(refused-1) capped at
 * RETRY_AFTER_JITTER_CAP_MS ("full jitter" on top of the floor). Saturates
 * rather than overflows.
 */
long retry_after_ms(long secs, int refused, unsigned long rnd);

/*
 * The wait in milliseconds before the next attempt after `failed` failed
 * attempts (failed >= 1): base * 2^(failed-1) capped at cap, jittered into
 * [d/2, d] by rnd (any random 32-bit value).
 */
long retry_backoff_ms(int failed, long base_ms, long cap_ms, unsigned long rnd);

#endif
