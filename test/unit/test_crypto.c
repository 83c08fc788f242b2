/* test_crypto.c - hashes, the shared random generator, its failure. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fixture.h"
#include "log.h"
#include "tap.h"

static int
hex_is(const uint8_t *b, size_t n, const char *hex)
{
	char s[2 * 64 + 1];
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	return strcmp(s, hex) == 0;
}

#define THREADS	4
#define DRAWS	500

static void *
drawer(void *arg)
{
	uint8_t buf[64];
	int i, *failed = arg;

	for (i = 0; i < DRAWS; i++)
		if (crypto_random(buf, sizeof(buf)) != 0)
			(*failed)++;
	return NULL;
}

int
main(void)
{
	uint8_t h1[CRYPTO_SHA1_LEN], h2[CRYPTO_SHA256_LEN];
	uint8_t a[32], b[32], zero[32] = { 0 }, *big;
	pthread_t t[THREADS];
	int failed[THREADS] = { 0 }, i, ok, rc;
	char *err;

	/* FIPS 180 examples. */
	CHECK(crypto_sha1("abc", 3, h1) == 0 && hex_is(h1, sizeof(h1),
	    "a9993e364706816aba3e25717850c26c9cd0d89d"), "SHA-1 of \"abc\"");
	CHECK(crypto_sha1("", 0, h1) == 0 && hex_is(h1, sizeof(h1),
	    "da39a3ee5e6b4b0d3255bfef95601890afd80709"), "SHA-1 of \"\"");
	CHECK(crypto_sha256("abc", 3, h2) == 0 && hex_is(h2, sizeof(h2),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	    "SHA-256 of \"abc\"");
	big = malloc(1000000);
	memset(big, 'a', 1000000);
	CHECK(crypto_sha256(big, 1000000, h2) == 0 && hex_is(h2, sizeof(h2),
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	    "SHA-256 of a million \"a\"");

	CHECK(strcmp(crypto_library_version(), "Mbed TLS 3.6.6") == 0,
	    "library version is the pinned Mbed TLS 3.6.6");

	CHECK(crypto_init() == 0 && crypto_init() == 0, "init, twice");
	CHECK(crypto_random(a, sizeof(a)) == 0 &&
	    crypto_random(b, sizeof(b)) == 0 && memcmp(a, b, sizeof(a)) != 0 &&
	    memcmp(a, zero, sizeof(a)) != 0, "two draws differ");
	/* More than one CTR_DRBG request (1024 bytes) at once. */
	memset(big, 0, 5000);
	CHECK(crypto_random(big, 5000) == 0 &&
	    memcmp(big + 4968, zero, sizeof(zero)) != 0,
	    "a 5000-byte draw fills the whole buffer");

	ok = 1;
	for (i = 0; i < THREADS; i++)
		ok &= pthread_create(&t[i], NULL, drawer, &failed[i]) == 0;
	for (i = 0; ok && i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ok &= failed[i] == 0;
	}
	CHECK(ok, "%d threads draw %d times each at once", THREADS, DRAWS);

	/* A failed reseed breaks the generator for good. */
	log_reset();
	crypto_test_entropy_fails(1);
	capture_begin();
	rc = crypto_random(a, sizeof(a));
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INTERNAL &&
	    lines(err) == 1 && has(err, "drsjoin: random generator: reseed "
	    "failed: ") && has(err, "entropy") &&
	    has(err, "(while drawing random bytes)"), err,
	    "a failed reseed fails the draw: \"random generator: ...\"");
	free(err);

	crypto_test_entropy_fails(0);
	log_reset();
	capture_begin();
	rc = crypto_random(a, sizeof(a));
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INTERNAL &&
	    lines(err) == 0, err, "after a failed reseed no draw succeeds, "
	    "even with entropy back (reported once only)");
	free(err);

	/* A failed seed. */
	crypto_cleanup();
	crypto_test_entropy_fails(1);
	log_reset();
	capture_begin();
	rc = crypto_init();
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INTERNAL &&
	    lines(err) == 1 && has(err, "drsjoin: random generator: cannot "
	    "seed: "), err,
	    "a failed seed: \"random generator: cannot seed: ...\"");
	free(err);

	crypto_cleanup();
	log_reset();
	CHECK(crypto_init() == 0 && crypto_random(a, sizeof(a)) == 0,
	    "after cleanup the generator seeds again");
	crypto_cleanup();
	free(big);
	return tap_done();
}
