/* retry.c - retry policy: statuses, Retry-After, backoff (see retry.h). */
#include <limits.h>

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

long
retry_after_ms(long secs, int refused, unsigned long rnd)
{
	long window = RETRY_AFTER_JITTER_MIN_MS;
	int i;

	if (secs < 0)
		secs = 0;
	if (secs > (LONG_MAX - RETRY_AFTER_JITTER_CAP_MS) / 1000)
		secs = (LONG_MAX - RETRY_AFTER_JITTER_CAP_MS) / 1000;
	for (i = 1; i < refused && window < RETRY_AFTER_JITTER_CAP_MS; i++)
		window *= 2;
	if (window > RETRY_AFTER_JITTER_CAP_MS)
		window = RETRY_AFTER_JITTER_CAP_MS;
	return secs * 1000 + (long)(rnd % ((unsigned long)window + 1));
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
