/*
 * test_log.c - every line on stderr is escaped, capped and redacted
 * centrally. Attacks replayed (issue 10): server and document strings with
 * terminal escapes reached the terminal; "--token eyJ..." printed the token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "log.h"
#include "tap.h"

static char out[8192];
static int stop_after, stop_calls;

/* For log_sleep_ms_unless: SIGTERM's number once called stop_after times. */
static int
stop_later(void)
{
	return ++stop_calls > stop_after ? 15 : 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
esc(const char *in, size_t max)
{
	log_escape(out, sizeof(out), in, max);
	return out;
}

int
main(void)
{
	char big[5000], *err;
	size_t i;

	CHECK(strcmp(esc("plain text: 1.2.3", 100), "plain text: 1.2.3") == 0,
	    "printable ASCII is kept");
	CHECK(strcmp(esc("a\x1b[31mred\x07\r\n\t", 100), "a\\x1b[31mred\\x07\\x0d\\x0a\\x09") == 0,
	    "control characters become \\xNN");
	CHECK(strcmp(esc("x\x7f", 100), "x\\x7f") == 0, "DEL too");
	CHECK(strcmp(esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 100),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == 0, "valid UTF-8 is kept");
	CHECK(strcmp(esc("\xff\xfe\xc3(\xc0\xaf\xed\xa0\x80", 100),
	    "\\xff\\xfe\\xc3(\\xc0\\xaf\\xed\\xa0\\x80") == 0,
	    "invalid UTF-8 (bad bytes, overlong, surrogates) becomes \\xNN");
	CHECK(strcmp(esc("\xc2\x9b" "2J \xe2\x80\xae" "evil \xe2\x80\xa8", 100),
	    "\\xc2\\x9b2J \\xe2\\x80\\xaeevil \\xe2\\x80\\xa8") == 0,
	    "C1 CSI, bidi override and line separator are escaped");
	{
		/* Each invisible or reordering code point, alone between two letters. */
		static const char *const cps[][2] = {
			{ "\xe2\x80\x8b", "U+200B zero-width space" },
			{ "\xe2\x80\x8c", "U+200C zero-width non-joiner" },
			{ "\xe2\x80\x8d", "U+200D zero-width joiner" },
			{ "\xe2\x80\x8e", "U+200E left-to-right mark" },
			{ "\xe2\x80\x8f", "U+200F right-to-left mark" },
			{ "\xe2\x80\xa8", "U+2028 line separator" },
			{ "\xe2\x80\xa9", "U+2029 paragraph separator" },
			{ "\xe2\x80\xaa", "U+202A left-to-right embedding" },
			{ "\xe2\x80\xae", "U+202E right-to-left override" },
			{ "\xe2\x81\xa0", "U+2060 word joiner" },
			{ "\xe2\x81\xa4", "U+2064 invisible plus" },
			{ "\xe2\x81\xa6", "U+2066 left-to-right isolate" },
			{ "\xe2\x81\xa9", "U+2069 pop directional isolate" },
			{ "\xef\xbb\xbf", "U+FEFF zero-width no-break space (BOM)" },
			{ "\xd8\x9c", "U+061C Arabic letter mark" },
		};
		char in[16], want[32];

		for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
			const unsigned char *b = (const unsigned char *)cps[i][0];
			size_t k;

			snprintf(in, sizeof(in), "a%sb", cps[i][0]);
			snprintf(want, sizeof(want), "a");
			for (k = 0; b[k] != '\0'; k++)
				snprintf(want + strlen(want), sizeof(want) - strlen(want),
				    "\\x%02x", b[k]);
			strcat(want, "b");
			CHECK_ERR(strcmp(esc(in, 100), want) == 0, out, "%s is escaped",
			    cps[i][1]);
		}
		/* Their neighbours are ordinary text and stay. */
		CHECK(strcmp(esc("\xe2\x80\x8a\xe2\x80\x90\xe2\x81\xa5\xef\xbb\xbe", 100),
		    "\xe2\x80\x8a\xe2\x80\x90\xe2\x81\xa5\xef\xbb\xbe") == 0,
		    "U+200A hair space, U+2010 hyphen, U+2065 and U+FEFE are kept");
	}
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 1] = '\0';
	CHECK(strlen(esc(big, LOG_LINE_MAX)) == LOG_LINE_MAX &&
	    strstr(out, "...(cut)") != NULL, "a long line is cut at LOG_LINE_MAX");
	memset(big, '\x1b', 3000);
	big[3000] = '\0';
	CHECK(strlen(esc(big, LOG_LINE_MAX)) <= LOG_LINE_MAX, "escapes count in the cap");
	CHECK(strcmp(esc("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10),
	    "\xc3\xa9...(cut)") == 0 && strcmp(esc("a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10),
	    "a...(cut)") == 0, "the cut never splits a UTF-8 sequence");

	/* Tokens: never echoed. */
	CHECK(strstr(esc("unknown option 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl'", 200),
	    "eyJ") == NULL && strstr(out, "<redacted>") != NULL, "a JWT is redacted");
	CHECK(strstr(esc("arg 0.AXEAq8nQb3Z1dGhlbnRpY2F0ZWRGcm9tVGhlVG9rZW5TZXJ2aWNlX3JlZnJlc2g-x", 200),
	    "AXEA") == NULL, "a refresh token is redacted");
	CHECK(strcmp(esc("device d3b07384-d9a0-4c9b-8a0e-2f4c6e8a1b3d thumb "
	    "BD92A8664425E4821A55BEA85E7A564FD03AD7D2 host "
	    "EnterpriseRegistration.windows.net file /tmp/drsjoin-it.v3lWHt/x", 300),
	    "device d3b07384-d9a0-4c9b-8a0e-2f4c6e8a1b3d thumb "
	    "BD92A8664425E4821A55BEA85E7A564FD03AD7D2 host "
	    "EnterpriseRegistration.windows.net file /tmp/drsjoin-it.v3lWHt/x") == 0,
	    "GUIDs, thumbprints, host names and paths are not taken for tokens");

	/* log_fail itself escapes (the central rule). */
	capture_begin();
	log_fail(EXIT_INPUT, "schema '%s' from %s", "x\x1b]0;pwned\x07", "eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.sig");
	log_note("note \x1b[2J");
	log_level = 2;
	log_debug(1, "debug \x9b");
	log_level = 1;
	err = capture_end();
	CHECK_ERR(err != NULL && strchr(err, '\x1b') == NULL && strchr(err, '\x07') == NULL &&
	    strstr(err, "\\x1b]0;pwned\\x07") != NULL && strstr(err, "\\x1b[2J") != NULL &&
	    strstr(err, "\\x9b") != NULL && strstr(err, "eyJ") == NULL && lines(err) == 3,
	    err, "log_fail, log_note and log_debug escape and redact");
	free(err);

	/* A wait a stop request ends (http.c's retry wait; issue 23). */
	{
		double t0 = now_s();
		int r;

		stop_after = 0;
		stop_calls = 0;
		r = log_sleep_ms_unless(5000, stop_later, "retrying in");
		CHECK(r == 15 && now_s() - t0 < 2.5,
		    "log_sleep_ms_unless: a stop already asked ends the wait at once, saying why");
		stop_after = 3;
		stop_calls = 0;
		t0 = now_s();
		r = log_sleep_ms_unless(10000, stop_later, "retrying in");
		CHECK(r == 15 && stop_calls == 4 && now_s() - t0 < 8,
		    "log_sleep_ms_unless: asked later, within a slice of it");
		stop_after = 1000000;
		t0 = now_s();
		r = log_sleep_ms_unless(300, stop_later, "retrying in");
		CHECK(r == 0 && now_s() - t0 >= 0.29,
		    "log_sleep_ms_unless: not asked, the whole wait");
	}
	return tap_done();
}
