/*
 * tap.h - the test line format of HACKING.md for C unit tests.
 * CHECK(cond, name...) prints "ok - name" or "not ok - name: file:line";
 * tap_done() returns the exit status.
 */
#ifndef TEST_TAP_H
#define TEST_TAP_H

#include <stdio.h>

static int tap_failed;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		printf("ok - ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	} else {							\
		tap_failed++;						\
		printf("not ok - ");					\
		printf(__VA_ARGS__);					\
		printf(": %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
	}								\
	fflush(stdout);							\
} while (0)

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
