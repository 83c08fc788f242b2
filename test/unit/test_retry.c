/* test_retry.c - which answers are retried, Retry-After's jitter, backoff bounds. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "retry.h"
#include "tap.h"

static void
statuses(void)
{
	static const struct {
		long status;
		enum retry_kind kind;
	} t[] = {
		{ 200, RETRY_NEVER }, { 201, RETRY_NEVER }, { 100, RETRY_NEVER },
		{ 301, RETRY_NEVER }, { 302, RETRY_NEVER }, { 400, RETRY_NEVER },
		{ 401, RETRY_NEVER }, { 403, RETRY_NEVER }, { 404, RETRY_NEVER },
		{ 408, RETRY_NEVER }, { 409, RETRY_NEVER }, { 413, RETRY_NEVER },
		{ 429, RETRY_AFTER }, { 503, RETRY_AFTER },
		{ 500, RETRY_BACKOFF }, { 502, RETRY_BACKOFF },
		{ 504, RETRY_BACKOFF }, { 507, RETRY_BACKOFF },
		{ 599, RETRY_BACKOFF },
		{ 501, RETRY_NEVER }, { 505, RETRY_NEVER }, { 600, RETRY_NEVER },
		{ 0, RETRY_NEVER }, { -1, RETRY_NEVER },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK(retry_status_kind(t[i].status) == t[i].kind,
		    "status %ld is %s", t[i].status,
		    t[i].kind == RETRY_NEVER ? "never retried" :
		    t[i].kind == RETRY_AFTER ? "retried after Retry-After" :
		    "retried with backoff");
}

/*
 * Retry-After as the floor plus jitter: the bounds at both ends of rnd, and
 * a spread over many draws (every 1/8 of the range well hit), with no
 * clock. The window doubles with each refusal of the same request, from
 * 1 s to at most 4 s, and does not grow with Retry-After itself.
 */
static void
after(void)
{
	static const struct {
		long secs;
		int refused;
		long lo, hi;
	} t[] = {
		{ 0, 1, 0, 1000 }, { 1, 1, 1000, 2000 }, { 2, 1, 2000, 3000 },
		{ 3, 1, 3000, 4000 }, { 10, 1, 10000, 11000 },
		{ 120, 1, 120000, 121000 }, { -5, 1, 0, 1000 }, { 1, 0, 1000, 2000 },
		{ 1, -3, 1000, 2000 }, { 1, 2, 1000, 3000 }, { 1, 3, 1000, 5000 },
		{ 1, 4, 1000, 5000 }, { 1, 20, 1000, 5000 }, { 19, 2, 19000, 21000 },
		{ 1, 1000000, 1000, 5000 },
	};
	unsigned long x = 2463534242UL;
	size_t i, j;
	long d, lo, hi, span;
	int bins[8];

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		span = t[i].hi - t[i].lo;
		CHECK(retry_after_ms(t[i].secs, t[i].refused, 0) == t[i].lo &&
		    retry_after_ms(t[i].secs, t[i].refused, (unsigned long)span) ==
		    t[i].hi &&
		    retry_after_ms(t[i].secs, t[i].refused, (unsigned long)span + 1) ==
		    t[i].lo,
		    "Retry-After %ld s, refusal %d: waits %ld..%ld ms, rnd reaching "
		    "both ends", t[i].secs, t[i].refused, t[i].lo, t[i].hi);
		memset(bins, 0, sizeof(bins));
		lo = LONG_MAX;
		hi = -1;
		for (j = 0; j < 4000; j++) {
			/* xorshift32: any 32-bit values, as getrandom gives */
			x ^= (x << 13) & 0xffffffffUL;
			x ^= x >> 17;
			x ^= (x << 5) & 0xffffffffUL;
			d = retry_after_ms(t[i].secs, t[i].refused, x);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
			if (d >= t[i].lo && d <= t[i].hi)
				bins[(d - t[i].lo) * 8 / (span + 1)]++;
		}
		for (j = 0; j < 8 && bins[j] > 4000 / 8 / 2; j++)
			;
		CHECK(lo >= t[i].lo && hi <= t[i].hi && j == 8,
		    "Retry-After %ld s, refusal %d: 4000 draws within %ld..%ld ms, "
		    "spread over the whole range (saw %ld..%ld)", t[i].secs,
		    t[i].refused, t[i].lo, t[i].hi, lo, hi);
	}
	CHECK(retry_after_ms(LONG_MAX, INT_MAX, 4294967295UL) > 0 &&
	    retry_after_ms(21600, INT_MAX, 4294967295UL) <= 21600L * 1000 +
	    RETRY_AFTER_JITTER_CAP_MS,
	    "Retry-After: no overflow with huge values");
}

static void
backoff(void)
{
	static const struct {
		int failed;
		long lo, hi;
	} t[] = {
		{ 0, 500, 1000 }, { 1, 500, 1000 }, { 2, 1000, 2000 },
		{ 3, 2000, 4000 }, { 4, 4000, 8000 }, { 5, 4000, 8000 },
		{ 9, 4000, 8000 }, { 1000, 4000, 8000 },
	};
	static const unsigned long rnd[] = {
		0, 1, 2, 499, 500, 501, 1000, 4001, 65535, 2147483647UL,
		4294967295UL,
	};
	size_t i, j;
	long d, lo, hi;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		lo = LONG_MAX;
		hi = -1;
		for (j = 0; j < sizeof(rnd) / sizeof(rnd[0]); j++) {
			d = retry_backoff_ms(t[i].failed, RETRY_BACKOFF_BASE_MS,
			    RETRY_BACKOFF_CAP_MS, rnd[j]);
			if (d < lo)
				lo = d;
			if (d > hi)
				hi = d;
		}
		CHECK(lo >= t[i].lo && hi <= t[i].hi && lo < hi,
		    "backoff after %d failed attempts within [%ld, %ld] ms "
		    "(saw %ld..%ld)", t[i].failed, t[i].lo, t[i].hi, lo, hi);
	}
	CHECK(retry_backoff_ms(1, 1000, 8000, 0) == 500 &&
	    retry_backoff_ms(1, 1000, 8000, 500) == 1000 &&
	    retry_backoff_ms(3, 1000, 8000, 2000) == 4000,
	    "backoff: rnd spans both ends of [d/2, d]");
	CHECK(retry_backoff_ms(30, 1000, 300000, 4294967295UL) <= 300000 &&
	    retry_backoff_ms(64, LONG_MAX / 2, LONG_MAX, 7) > 0,
	    "backoff: no overflow with large attempt counts");
	CHECK(retry_backoff_ms(3, 0, 8000, 9) == 0,
	    "backoff: a zero base waits nothing");
}

int
main(void)
{
	statuses();
	after();
	backoff();
	CHECK(RETRY_DEFAULT_ATTEMPTS == 4 && RETRY_DEFAULT_MAX_WAIT_S == 120 &&
	    RETRY_MAX_WAIT_LIMIT_S == 3600 && RETRY_AFTER_JITTER_MIN_MS == 1000 &&
	    RETRY_BACKOFF_BASE_MS == 1000 && RETRY_BACKOFF_CAP_MS == 8000,
	    "the documented defaults: 4 attempts, 120 s of waiting in all (at "
	    "most 3600), Retry-After + up to 50 %% (at least 1 s), backoff 1 s "
	    "doubling to 8 s");
	return tap_done();
}
