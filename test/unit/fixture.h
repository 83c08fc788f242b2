/*
 * fixture.h - for C unit tests: reading files of test/unit/data, and
 * capturing what the code under test prints on stderr (its log_fail
 * messages), so negative tests can check the message.
 *
 * The data directory is $DRSJOIN_TEST_DATA, else $DRSJOIN_TOP/test/unit/data
 * (test/run sets DRSJOIN_TOP), else test/unit/data next to this header as
 * the compiler saw it (relative to the repository root when built by make).
 */
#ifndef TEST_FIXTURE_H
#define TEST_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

/* The contents of data/<name> plus a NUL (not counted in *len); caller
 * frees. On failure prints a "not ok" line and returns NULL. */
static inline uint8_t *
fixture_read(const char *name, size_t *len)
{
	const char *dir = getenv("DRSJOIN_TEST_DATA");
	char path[4096];
	uint8_t *buf = NULL;
	size_t size = 0, n;
	FILE *f;

	*len = 0;
	if (dir != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	} else if ((dir = getenv("DRSJOIN_TOP")) != NULL) {	/* test/run */
		snprintf(path, sizeof(path), "%s/test/unit/data/%s", dir, name);
	} else {
		const char *here = __FILE__, *slash = strrchr(here, '/');
		int dlen = slash != NULL ? (int)(slash - here) : 1;

		snprintf(path, sizeof(path), "%.*s/data/%s", dlen,
		    slash != NULL ? here : ".", name);
	}
	if ((f = fopen(path, "rb")) == NULL) {
		CHECK(0, "fixture %s: cannot open %s", name, path);
		return NULL;
	}
	for (;;) {
		uint8_t *nb = realloc(buf, size + 4096 + 1);

		if (nb == NULL) {
			free(buf);
			fclose(f);
			CHECK(0, "fixture %s: out of memory", name);
			return NULL;
		}
		buf = nb;
		n = fread(buf + size, 1, 4096, f);
		size += n;
		if (n < 4096)
			break;
	}
	fclose(f);
	buf[size] = 0;
	*len = size;
	return buf;
}

static int capture_saved = -1;
static FILE *capture_file;

/* Sends stderr to a temporary file until capture_end(). */
static inline void
capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	if (capture_file == NULL)
		return;
	capture_saved = dup(2);
	dup2(fileno(capture_file), 2);
}

/* What was printed on stderr since capture_begin(); caller frees. */
static inline char *
capture_end(void)
{
	char *out;
	long n;

	fflush(stderr);
	if (capture_file == NULL)
		return calloc(1, 1);
	dup2(capture_saved, 2);
	close(capture_saved);
	capture_saved = -1;
	n = ftell(capture_file);
	out = calloc(1, n > 0 ? (size_t)n + 1 : 1);
	if (out != NULL && n > 0) {
		rewind(capture_file);
		if (fread(out, 1, (size_t)n, capture_file) != (size_t)n)
			out[0] = '\0';
	}
	fclose(capture_file);
	capture_file = NULL;
	return out;
}

/*
 * CHECK with the captured stderr err: shown on stderr when the check fails,
 * or always when TEST_SHOW_STDERR is set (to review the messages).
 */
#define CHECK_ERR(cond, err, ...) do {					\
	int check_ok_ = (cond);						\
	TAP_LINE(check_ok_, #cond, __VA_ARGS__);			\
	if (!check_ok_ || getenv("TEST_SHOW_STDERR") != NULL)		\
		fprintf(stderr, "  stderr: %s",				\
		    (err) != NULL && *(err) ? (err) : "(nothing)\n");	\
} while (0)

/* s with control and non-ASCII bytes as \xNN, for a test name (one line).
 * A static buffer: one use per statement. */
static inline const char *
escaped(const char *s)
{
	static char buf[256];
	size_t o = 0;

	for (; *s && o + 5 < sizeof(buf); s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

/* 1 when s (may be NULL) contains needle. */
static inline int
has(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

/* Number of lines in s. */
static inline int
lines(const char *s)
{
	int n = 0;

	for (; s != NULL && *s; s++)
		n += *s == '\n';
	return n;
}

#endif
