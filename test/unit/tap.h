/*
 * tap.h - the test line format of HACKING.md for C unit tests.
 * CHECK(cond, name...) prints "ok - name" or "not ok - name: file:line";
 * tap_done() returns the exit status.
 */
#ifndef TEST_TAP_H
#define TEST_TAP_H

#include <stdio.h>

static int tap_failed;

/* The line for one case whose outcome is ok; text is the failed condition. */
#define TAP_LINE(ok, text, ...) do {					\
	if (ok) {							\
		printf("ok - ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	} else {							\
		tap_failed++;						\
		printf("not ok - ");					\
		printf(__VA_ARGS__);					\
		printf(": %s:%d: %s\n", __FILE__, __LINE__, text);	\
	}								\
	fflush(stdout);							\
} while (0)

#define CHECK(cond, ...) TAP_LINE((cond), #cond, __VA_ARGS__)

#define SKIP(...) do {							\
	printf("skip - ");						\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

static inline int
tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif
