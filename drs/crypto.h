/*
 * crypto.h - the process-wide random generator, hashes, and the decoding of
 * mbedTLS errors. The one place that knows how mbedTLS is set up; keys.c,
 * csr.c and cert.c build on it. No mbedTLS type appears here.
 *
 * The generator is one CTR_DRBG (AES-256) seeded from the mbedTLS entropy
 * collector (getrandom() on Linux). It is safe to use from several threads
 * at once. A failed seed or reseed is final: every later draw fails too, and
 * the operation that drew fails with "random generator: ..." (EXIT_INTERNAL)
 * instead of carrying on. That line is printed once per process (the two
 * threads of a key pair fail together); later failures only return -1.
 */
#ifndef DRS_CRYPTO_H
#define DRS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA1_LEN		20
#define CRYPTO_SHA256_LEN	32

/*
 * Seeds the generator (and initialises PSA Crypto when the build has it).
 * Idempotent and thread-safe; every function below calls it when needed, so
 * calling it early only moves the cost. 0 / -1 (reported).
 */
int crypto_init(void);
/* Frees the generator (at exit, for leak checkers). crypto_init may follow. */
void crypto_cleanup(void);

/*
 * An f_rng in the mbedTLS shape: fills buf, 0 or a negative mbedTLS error.
 * Does not report: the failure is remembered for crypto_fail(), which the
 * caller reaches through the mbedTLS call that drew. ctx is ignored.
 */
int crypto_rng(void *ctx, unsigned char *buf, size_t len);
/* len random bytes, for callers outside mbedTLS. 0 / -1 (reported). */
int crypto_random(void *buf, size_t len);

/* Hashes of len bytes. 0 / -1 (reported). */
int crypto_sha1(const void *data, size_t len, uint8_t out[CRYPTO_SHA1_LEN]);
int crypto_sha256(const void *data, size_t len,
    uint8_t out[CRYPTO_SHA256_LEN]);

/*
 * Reports an mbedTLS failure: "<message>: <mbedtls_strerror(err)>" with
 * code, or, when the random generator failed under this call, "random
 * generator: <reason> (while <message>)" with EXIT_INTERNAL (once, see
 * above). Returns -1. For keys.c, csr.c and cert.c.
 */
int crypto_fail(int code, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The mbedTLS version, e.g. "Mbed TLS 3.6.6", for --version. */
const char *crypto_library_version(void);

/*
 * Tests only: with fails != 0 every entropy read fails from now on and the
 * generator reseeds at its next draw (so that draw fails, for good); 0
 * mends the entropy source but not a generator already broken.
 * crypto_cleanup() forgets everything.
 */
void crypto_test_entropy_fails(int fails);

#endif
