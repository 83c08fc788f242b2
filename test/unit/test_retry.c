/* test_retry.c - which answers are retried, Retry-After, backoff bounds. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "retry.h"
#include "tap.h"

/* RFC 9110's example date, Sun, 06 Nov 1994 08:49:37 GMT. */
#define T1994 ((time_t)784111777)

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

static void
ok_after(const char *value, time_t now, long want)
{
	long got = -12345;
	int rc = retry_after_parse(value, now, &got);

	CHECK(rc == 0 && got == want, "Retry-After \"%s\" is %ld s", escaped(value),
	    want);
	if (rc != 0 || got != want)
		fprintf(stderr, "  rc %d, got %ld\n", rc, got);
}

static void
bad_after(const char *value)
{
	long got = -12345;

	CHECK(retry_after_parse(value, T1994, &got) == -1 && got == -12345,
	    "Retry-After \"%s\" is refused, *seconds untouched",
	    value != NULL ? value : "(none)");
}

static void
dates(void)
{
	static const struct {
		const char *s;
		time_t t;
	} good[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", T1994 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", T1994 },
		{ "Sun Nov  6 08:49:37 1994", T1994 },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
		{ "Thu, 29 Feb 2024 12:00:00 GMT", 1709208000 },
		{ "Fri, 01 Jan 2100 00:00:00 GMT", (time_t)4102444800LL },
		{ "Fri, 31 Dec 1999 23:59:59 GMT", 946684799 },
		{ "Saturday, 01-Jan-00 00:00:00 GMT", 946684800 },
		{ "Wed Dec 31 23:59:60 2025", (time_t)1767225600LL },
	};
	static const char *const bad[] = {
		"Sun, 06 Nov 1994 08:49:37 UTC",	/* GMT only */
		"Sun, 6 Nov 1994 08:49:37 GMT",		/* 2-digit day */
		"Sun, 06 Nov 94 08:49:37 GMT",		/* 4-digit year */
		"Sun, 32 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Tue, 29 Feb 2022 00:00:00 GMT",	/* not a leap year */
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT trailing",
		"Sun, 06 Nov 1994 08:49 GMT",
		"Sun Nov 6 08:49:37 1994",		/* asctime pads with a space */
		"",
	};
	size_t i;
	time_t t;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = -1;
		CHECK(retry_http_date(good[i].s, &t) == 0 && t == good[i].t,
		    "HTTP-date \"%s\"", good[i].s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(retry_http_date(bad[i], &t) == -1,
		    "HTTP-date \"%s\" is refused", bad[i]);
}

static void
after(void)
{
	ok_after("0", T1994, 0);
	ok_after("2", T1994, 2);
	ok_after("120", T1994, 120);
	ok_after(" 5 \r\n", T1994, 5);
	ok_after("007", T1994, 7);
	ok_after("99999999999999999999999", T1994, LONG_MAX);
	ok_after("Sun, 06 Nov 1994 08:50:07 GMT", T1994, 30);
	ok_after("Sunday, 06-Nov-94 08:50:07 GMT", T1994, 30);
	ok_after("Sun Nov  6 08:50:07 1994", T1994, 30);
	ok_after("Sun, 06 Nov 1994 08:49:37 GMT", T1994, 0);
	ok_after("Sat, 05 Nov 1994 08:49:37 GMT", T1994, 0);	/* past: now */
	ok_after("Mon, 07 Nov 1994 08:49:37 GMT", T1994, 86400);
	bad_after(NULL);
	bad_after("");
	bad_after("   ");
	bad_after("-1");
	bad_after("+5");
	bad_after("1.5");
	bad_after("5s");
	bad_after("5 6");
	bad_after("soon");
	bad_after("Sun, 06 Nov 1994 08:50:07 PST");
	bad_after("0x10");
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
	dates();
	after();
	backoff();
	CHECK(RETRY_DEFAULT_ATTEMPTS == 4 && RETRY_DEFAULT_MAX_WAIT_S == 30 &&
	    RETRY_BACKOFF_BASE_MS == 1000 && RETRY_BACKOFF_CAP_MS == 8000,
	    "the documented defaults: 4 attempts, Retry-After up to 30 s, "
	    "backoff 1 s doubling to 8 s");
	return tap_done();
}
