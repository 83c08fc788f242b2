/* retry.c - retry policy: statuses, Retry-After, backoff (see retry.h). */
#include <limits.h>
#include <string.h>

#include "retry.h"

enum retry_kind
retry_status_kind(long status)
{
	if (status == 429 || status == 503)
		return RETRY_AFTER;
	if (status >= 500 && status <= 599 && status != 501 && status != 505)
		return RETRY_BACKOFF;
	return RETRY_NEVER;
}

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const wdays[] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
};
static const char *const wdays_long[] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
	"Sunday",
};

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Exactly n digits at *p; advances. -1 when not. */
static int
digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
lit(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		return -1;
	*p += n;
	return 0;
}

/* One of names (count n) at *p, case-sensitive as RFC 9110 says; advances. */
static int
name(const char **p, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (strncmp(*p, names[i], l) == 0) {
			*p += l;
			return i;
		}
	}
	return -1;
}

/* "08:49:37" */
static int
hms(const char **p, int *h, int *m, int *s)
{
	if (digits(p, 2, h) < 0 || lit(p, ":") < 0 || digits(p, 2, m) < 0 ||
	    lit(p, ":") < 0 || digits(p, 2, s) < 0)
		return -1;
	return *h <= 23 && *m <= 59 && *s <= 60 ? 0 : -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's method). */
static long long
days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

int
retry_http_date(const char *s, time_t *t)
{
	const char *p = s;
	int y = 0, mon, d = 0, h, mi, sec;
	long long days;

	if (name(&p, wdays_long, 7) >= 0) {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
		if (lit(&p, ", ") < 0 || digits(&p, 2, &d) < 0 ||
		    lit(&p, "-") < 0 || (mon = name(&p, months, 12)) < 0 ||
		    lit(&p, "-") < 0 || digits(&p, 2, &y) < 0 ||
		    lit(&p, " ") < 0 || hms(&p, &h, &mi, &sec) < 0 ||
		    lit(&p, " GMT") < 0)
			return -1;
		/* Two-digit years: 70..99 are 19xx, the rest 20xx. */
		y += y >= 70 ? 1900 : 2000;
	} else if (name(&p, wdays, 7) >= 0) {
		if (*p == ',') {
			/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
			if (lit(&p, ", ") < 0 || digits(&p, 2, &d) < 0 ||
			    lit(&p, " ") < 0 ||
			    (mon = name(&p, months, 12)) < 0 ||
			    lit(&p, " ") < 0 || digits(&p, 4, &y) < 0 ||
			    lit(&p, " ") < 0 || hms(&p, &h, &mi, &sec) < 0 ||
			    lit(&p, " GMT") < 0)
				return -1;
		} else {
			/* asctime: "Sun Nov  6 08:49:37 1994" */
			if (lit(&p, " ") < 0 ||
			    (mon = name(&p, months, 12)) < 0 ||
			    lit(&p, " ") < 0)
				return -1;
			if (*p == ' ') {
				p++;
				if (digits(&p, 1, &d) < 0)
					return -1;
			} else if (digits(&p, 2, &d) < 0) {
				return -1;
			}
			if (lit(&p, " ") < 0 || hms(&p, &h, &mi, &sec) < 0 ||
			    lit(&p, " ") < 0 || digits(&p, 4, &y) < 0)
				return -1;
		}
	} else {
		return -1;
	}
	if (*p != '\0' || d < 1 || d > days_in_month(y, mon + 1))
		return -1;
	days = days_from_civil(y, mon + 1, d);
	*t = (time_t)(days * 86400 + h * 3600 + mi * 60 + sec);
	return 0;
}

int
retry_after_parse(const char *value, time_t now, long *seconds)
{
	char buf[64];
	const char *p;
	size_t n;
	time_t t;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' ||
	    value[n - 1] == '\r' || value[n - 1] == '\n'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, value, n);
	buf[n] = '\0';
	if (is_digit((unsigned char)buf[0])) {
		long v = 0;

		for (p = buf; *p != '\0'; p++) {
			if (!is_digit((unsigned char)*p))
				return -1;
			if (v > (LONG_MAX - (*p - '0')) / 10)
				v = LONG_MAX;
			else if (v != LONG_MAX)
				v = v * 10 + (*p - '0');
		}
		*seconds = v;
		return 0;
	}
	if (retry_http_date(buf, &t) < 0)
		return -1;
	*seconds = t <= now ? 0 : (t - now > LONG_MAX ? LONG_MAX : (long)(t - now));
	return 0;
}

long
retry_backoff_ms(int failed, long base_ms, long cap_ms, unsigned long rnd)
{
	long d = base_ms, half;
	int i;

	if (failed < 1)
		failed = 1;
	for (i = 1; i < failed && d < cap_ms; i++)
		d = d > cap_ms / 2 ? cap_ms : d * 2;
	if (d > cap_ms)
		d = cap_ms;
	if (d <= 0)
		return 0;
	half = d / 2;
	return half + (long)(rnd % (unsigned long)(d - half + 1));
}
