/*
 * retry.h - when to ask the service again, and how long to wait first.
 *
 * The policy http.c follows (pure parts here, so they are unit-tested):
 * - 429 and 503: retried; a Retry-After header (delay-seconds or an
 *   HTTP-date) is honoured when it asks for at most the configured cap
 *   (default RETRY_DEFAULT_MAX_WAIT_S); when it asks for longer, drsjoin
 *   gives up at once with an error saying so rather than sleep that long.
 *   Without a usable Retry-After: the backoff below.
 * - Other 5xx except 501 and 505 (those will not change by asking again):
 *   retried with exponential backoff and jitter.
 * - Every other status (1xx/3xx/4xx): never retried.
 * - Connection failures (see http.c): retried with the same backoff.
 * - Backoff before attempt n+1: d = RETRY_BACKOFF_BASE_MS * 2^(n-1), capped
 *   at RETRY_BACKOFF_CAP_MS, then "equal jitter": a delay drawn uniformly
 *   from [d/2, d] (1 s, 2 s, 4 s, 8 s... each halved at worst).
 * - At most RETRY_DEFAULT_ATTEMPTS attempts (configurable 1..RETRY_MAX_ATTEMPTS).
 */
#ifndef DRS_RETRY_H
#define DRS_RETRY_H

#include <time.h>

#define RETRY_DEFAULT_ATTEMPTS 4
#define RETRY_MAX_ATTEMPTS 20
#define RETRY_DEFAULT_MAX_WAIT_S 30
#define RETRY_BACKOFF_BASE_MS 1000L
#define RETRY_BACKOFF_CAP_MS 8000L

enum retry_kind {
	RETRY_NEVER,	/* give up: the answer will not change */
	RETRY_AFTER,	/* 429, 503: honour Retry-After, else back off */
	RETRY_BACKOFF,	/* other transient 5xx: back off */
};

/* How an HTTP status is retried. */
enum retry_kind retry_status_kind(long status);

/*
 * Parses a Retry-After value (surrounding white space allowed): 1*DIGIT
 * seconds, or an HTTP-date in any of the three forms of RFC 9110 (IMF-fixdate
 * "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT",
 * asctime "Sun Nov  6 08:49:37 1994"), taken relative to now. Sets *seconds
 * (a date in the past gives 0; a huge number saturates at LONG_MAX) and
 * returns 0; returns -1 for anything else (negative, fractional, garbage).
 */
int retry_after_parse(const char *value, time_t now, long *seconds);

/* Parses an HTTP-date (the three forms above) into *t. 0 / -1. */
int retry_http_date(const char *s, time_t *t);

/*
 * The wait in milliseconds before the next attempt after `failed` failed
 * attempts (failed >= 1): base * 2^(failed-1) capped at cap, jittered into
 * [d/2, d] by rnd (any random 32-bit value).
 */
long retry_backoff_ms(int failed, long base_ms, long cap_ms, unsigned long rnd);

#endif
