/*
 * crypto.c - the process-wide CTR_DRBG, SHA-1/SHA-256, mbedTLS error
 * decoding and the library version.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/build_info.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#if defined(MBEDTLS_USE_PSA_CRYPTO)
#include <psa/crypto.h>
#endif

#include "crypto.h"
#include "log.h"

/* The pin of third_party/versions, and the options drsjoin relies on. */
#if MBEDTLS_VERSION_NUMBER != 0x03060600
#error "mbedTLS 3.6.6 expected (third_party/versions)"
#endif
#if !defined(MBEDTLS_THREADING_C) || !defined(MBEDTLS_THREADING_PTHREAD)
#error "mbedTLS must be built with MBEDTLS_THREADING_C and _PTHREAD"
#endif
#if !defined(MBEDTLS_PK_RSA_ALT_SUPPORT)
#error "mbedTLS must be built with MBEDTLS_PK_RSA_ALT_SUPPORT"
#endif
#if !defined(MBEDTLS_CTR_DRBG_C) || !defined(MBEDTLS_ENTROPY_C) || \
    !defined(MBEDTLS_GENPRIME) || !defined(MBEDTLS_PKCS1_V15) || \
    !defined(MBEDTLS_SHA1_C) || !defined(MBEDTLS_SHA256_C) || \
    !defined(MBEDTLS_PEM_WRITE_C) || !defined(MBEDTLS_PEM_PARSE_C) || \
    !defined(MBEDTLS_PK_WRITE_C) || !defined(MBEDTLS_X509_CRT_PARSE_C) || \
    !defined(MBEDTLS_ERROR_C) || !defined(MBEDTLS_VERSION_C)
#error "mbedTLS lacks a module drsjoin needs (third_party/config/mbedtls.conf)"
#endif

enum { UNSEEDED, READY, BROKEN };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state = UNSEEDED;
static int broken_err;		/* why the generator is BROKEN */
static const char *broken_how;	/* "cannot seed", "reseed failed" */
static int broken_reported;	/* the breakage was reported once */
static int entropy_fails;	/* crypto_test_entropy_fails() */
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

/* A generator failure seen by this thread and not yet reported. */
static _Thread_local int rng_failed;

static const char personalization[] = "drsjoin device keys";

/* mbedtls_entropy_func, unless a test broke it. Called with lock held. */
static int
entropy_source(void *ctx, unsigned char *out, size_t len)
{
	if (entropy_fails)
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	return mbedtls_entropy_func(ctx, out, len);
}

/* Lock held: the generator is unusable from now on. */
static void
break_locked(int err, const char *how)
{
	if (state == READY)
		mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	state = BROKEN;
	broken_err = err;
	broken_how = how;
}

/* Seeds when needed. Lock held; returns 0 or an mbedTLS error. */
static int
seed_locked(void)
{
	int ret;

	if (state == READY)
		return 0;
	if (state == BROKEN)
		return broken_err;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	ret = mbedtls_ctr_drbg_seed(&drbg, entropy_source, &entropy,
	    (const unsigned char *)personalization,
	    sizeof(personalization) - 1);
	if (ret != 0) {
		mbedtls_ctr_drbg_free(&drbg);
		break_locked(ret, "cannot seed");
		return ret;
	}
	state = READY;
	return 0;
}

static void
describe(int err, char *buf, size_t size)
{
	mbedtls_strerror(err, buf, size);
	if (buf[0] == '\0')
		snprintf(buf, size, "mbedTLS error -0x%04x", (unsigned)-err);
}

/*
 * Reports the broken generator, once for the process (the threads of a key
 * pair fail together): "random generator: <how>: <why> (while <context>)".
 * Returns -1.
 */
static int
report_broken(const char *context)
{
	char why[160];
	const char *how;
	int err, first;

	rng_failed = 0;
	pthread_mutex_lock(&lock);
	first = !broken_reported;
	broken_reported = 1;
	err = broken_err;
	how = broken_how;
	pthread_mutex_unlock(&lock);
	if (!first)
		return -1;
	describe(err, why, sizeof(why));
	if (context == NULL)
		return log_fail(EXIT_INTERNAL, "random generator: %s: %s", how,
		    why);
	return log_fail(EXIT_INTERNAL, "random generator: %s: %s (while %s)",
	    how, why, context);
}

int
crypto_init(void)
{
	int ret;

	pthread_mutex_lock(&lock);
	ret = seed_locked();
	pthread_mutex_unlock(&lock);
	if (ret != 0)
		return report_broken(NULL);
#if defined(MBEDTLS_USE_PSA_CRYPTO)
	{
		/* PK and X.509 go through PSA in this configuration. */
		psa_status_t st = psa_crypto_init();

		if (st != PSA_SUCCESS)
			return log_fail(EXIT_INTERNAL, "random generator: "
			    "psa_crypto_init failed (PSA status %d)", (int)st);
	}
#endif
	return 0;
}

void
crypto_cleanup(void)
{
	pthread_mutex_lock(&lock);
	if (state == READY) {
		mbedtls_ctr_drbg_free(&drbg);
		mbedtls_entropy_free(&entropy);
	}
	state = UNSEEDED;
	broken_err = 0;
	broken_how = NULL;
	broken_reported = 0;
	entropy_fails = 0;
	pthread_mutex_unlock(&lock);
	rng_failed = 0;
}

int
crypto_rng(void *ctx, unsigned char *buf, size_t len)
{
	size_t chunk;
	int ret;

	(void)ctx;
	pthread_mutex_lock(&lock);
	ret = seed_locked();
	while (ret == 0 && len > 0) {
		chunk = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ?
		    len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
		ret = mbedtls_ctr_drbg_random(&drbg, buf, chunk);
		buf += chunk;
		len -= chunk;
	}
	/* A failed reseed is final: no draw after it succeeds. */
	if (ret != 0 && state == READY)
		break_locked(ret, "reseed failed");
	pthread_mutex_unlock(&lock);
	if (ret != 0)
		rng_failed = 1;
	return ret;
}

int
crypto_random(void *buf, size_t len)
{
	if (crypto_rng(NULL, buf, len) != 0)
		return report_broken("drawing random bytes");
	return 0;
}

int
crypto_sha1(const void *data, size_t len, uint8_t out[CRYPTO_SHA1_LEN])
{
	int ret = mbedtls_sha1(data, len, out);

	if (ret != 0)
		return crypto_fail(EXIT_INTERNAL, ret, "SHA-1");
	return 0;
}

int
crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	int ret = mbedtls_sha256(data, len, out, 0);

	if (ret != 0)
		return crypto_fail(EXIT_INTERNAL, ret, "SHA-256");
	return 0;
}

int
crypto_fail(int code, int err, const char *fmt, ...)
{
	char msg[512], why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rng_failed)
		return report_broken(msg);
	describe(err, why, sizeof(why));
	return log_fail(code, "%s: %s", msg, why);
}

static char version[32];

static void
fill_version(void)
{
	mbedtls_version_get_string_full(version);
}

const char *
crypto_library_version(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, fill_version);
	return version;
}

void
crypto_test_entropy_fails(int fails)
{
	pthread_mutex_lock(&lock);
	entropy_fails = fails;
	if (fails && state == READY)
		mbedtls_ctr_drbg_set_prediction_resistance(&drbg,
		    MBEDTLS_CTR_DRBG_PR_ON);
	pthread_mutex_unlock(&lock);
}
