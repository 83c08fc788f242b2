/*
 * test_keys.c - RSA-2048 keys: generation (single and the parallel pair),
 * PEM round trip, loading and its refusals, public exports against
 * OpenSSL's answers, and the signer (TPM-style) kind of key.
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "bcrypt_blob.h"
#include "crypto.h"
#include "fixture.h"
#include "keys.h"
#include "log.h"
#include "signer.h"
#include "tap.h"
#include "util.h"

/* key.pem's modulus begins so (openssl rsa -noout -modulus). */
static const uint8_t key_n_prefix[] = {
	0xce, 0x4e, 0xd5, 0xb3, 0x5a, 0x14, 0xd8, 0xb1,
};
/* SHA-256 of the BCRYPT blob of key.pem, built by Python from OpenSSL's
 * modulus (make-fixtures.sh). */
static const char key_blob_sha256[] =
    "434b8d3ec6abb66c3f26b614f719febd60ca6168b393c1ce45717bb7f7dbc333";

static int
hex_is(const uint8_t *b, size_t n, const char *hex)
{
	char s[2 * 64 + 1];
	size_t i;

	for (i = 0; i < n && i < 64; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	return strcmp(s, hex) == 0;
}

/* 1 when k is RSA-2048 with e = 65537; copies the modulus to n. */
static int
is_rsa2048_f4(const struct key *k, uint8_t n[KEYS_MODULUS_LEN])
{
	uint8_t e[KEYS_EXPONENT_MAX];
	size_t e_len = 0;

	return keys_public_rsa(k, n, e, &e_len) == 0 && (n[0] & 0x80) &&
	    e_len == 3 && memcmp(e, "\x01\x00\x01", 3) == 0;
}

static struct key *
load(const char *name)
{
	struct key *k = NULL;
	uint8_t *pem;
	size_t len;

	if ((pem = fixture_read(name, &len)) == NULL)
		return NULL;
	if (keys_load_pem((char *)pem, len, name, &k) != 0)
		CHECK(0, "load %s", name);
	free(pem);
	return k;
}

static void
load_refused(const char *text, size_t len, const char *name,
    const char *reason)
{
	struct key *k = (struct key *)&k;
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = keys_load_pem(text, len, "dk.pem", &k);
	err = capture_end();
	CHECK_ERR(rc == -1 && k == NULL && log_exit_code() == EXIT_INPUT &&
	    lines(err) == 1 && has(err, "drsjoin: dk.pem: ") &&
	    has(err, reason), err, "load refuses %s: %s", name, reason);
	free(err);
}

static void
fixture_refused(const char *fixture, const char *reason)
{
	uint8_t *pem;
	size_t len;

	if ((pem = fixture_read(fixture, &len)) == NULL)
		return;
	load_refused((char *)pem, len, fixture, reason);
	free(pem);
}

/* Signers for keys_from_public_and_signer(). */
static int
failing_signer(void *ctx, const uint8_t hash[32], uint8_t *sig, size_t size,
    size_t *len)
{
	(void)ctx;
	(void)hash;
	(void)sig;
	(void)size;
	(void)len;
	return log_fail(EXIT_TPM, "tpm: TPM2_Sign: the TPM is gone");
}

static int
short_signer(void *ctx, const uint8_t hash[32], uint8_t *sig, size_t size,
    size_t *len)
{
	if (soft_signer(ctx, hash, sig, size, len) != 0)
		return -1;
	*len = 255;
	return 0;
}

/*
 * An independent check of a PSS signature: mbedTLS's verifier on the
 * public key as DER, MGF1-SHA-256 and exactly salt_len bytes of salt.
 */
static int
pss_ok(const struct key *k, const uint8_t hash[32], const uint8_t *sig,
    int salt_len)
{
	mbedtls_pk_context pk;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int ok;

	mbedtls_pk_init(&pk);
	ok = keys_public_der(k, &der, &der_len) == 0 &&
	    mbedtls_pk_parse_public_key(&pk, der, der_len) == 0 &&
	    mbedtls_rsa_rsassa_pss_verify_ext(mbedtls_pk_rsa(pk),
	    MBEDTLS_MD_SHA256, 32, hash, MBEDTLS_MD_SHA256, salt_len, sig) == 0;
	mbedtls_pk_free(&pk);
	free(der);
	return ok;
}

/* A PSS signer with a salt of 20 bytes (the TPM 2.0 spec before 1.38 used
 * the largest salt; some TPMs may use another): ctx is a PEM fixture name. */
static int
short_salt_signer(void *ctx, const uint8_t hash[32], uint8_t *sig,
    size_t size, size_t *len)
{
	mbedtls_pk_context pk;
	uint8_t *pem;
	size_t pem_len;
	int ret = -1;

	(void)size;
	mbedtls_pk_init(&pk);
	if ((pem = fixture_read(ctx, &pem_len)) != NULL &&
	    mbedtls_pk_parse_key(&pk, pem, pem_len + 1, NULL, 0, crypto_rng,
	    NULL) == 0 &&
	    mbedtls_rsa_set_padding(mbedtls_pk_rsa(pk), MBEDTLS_RSA_PKCS_V21,
	    MBEDTLS_MD_SHA256) == 0 &&
	    mbedtls_rsa_rsassa_pss_sign_ext(mbedtls_pk_rsa(pk), crypto_rng, NULL,
	    MBEDTLS_MD_SHA256, 32, hash, 20, sig) == 0) {
		*len = KEYS_SIG_LEN;
		ret = 0;
	}
	mbedtls_pk_free(&pk);
	free(pem);
	return ret;
}

static void
pss_tests(const struct key *dk, const struct key *other)
{
	uint8_t n[KEYS_MODULUS_LEN], e[KEYS_EXPONENT_MAX], hash[32];
	uint8_t s1[KEYS_SIG_LEN], s2[KEYS_SIG_LEN];
	size_t e_len = 0, l1 = 0, l2 = 0;
	struct key *alt = NULL;
	char *err;
	int rc;

	crypto_sha256("TLS 1.3, client CertificateVerify", 33, hash);
	rc = keys_sign_pss(dk, hash, s1, sizeof(s1), &l1, "t");
	CHECK(rc == 0 && l1 == KEYS_SIG_LEN && pss_ok(dk, hash, s1, 32),
	    "keys_sign_pss, software key: verifies as RSA-PSS, MGF1-SHA-256, "
	    "32-byte salt");
	CHECK(rc == 0 && !pss_ok(dk, hash, s1, 20) && !pss_ok(other, hash, s1,
	    32), "the salt is exactly 32 bytes; another key does not verify");
	CHECK(keys_sign_pss(dk, hash, s2, sizeof(s2), &l2, "t") == 0 &&
	    memcmp(s1, s2, sizeof(s1)) != 0 && pss_ok(dk, hash, s2, 32),
	    "two PSS signatures differ (random salt), both verify");
	CHECK(keys_sign_sha256(dk, hash, s2, sizeof(s2), &l2, "t") == 0 &&
	    !pss_ok(dk, hash, s2, 32), "a PKCS#1 v1.5 signature is not PSS");
	hash[0] ^= 1;
	CHECK(!pss_ok(dk, hash, s1, 32), "PSS: another hash does not verify");
	hash[0] ^= 1;

	/* The signer kind: the same interface, checked the same way. */
	keys_public_rsa(dk, n, e, &e_len);
	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    soft_signer_pss, (void *)dk, &alt);
	l1 = 0;
	CHECK(alt != NULL && keys_sign_pss(alt, hash, s1, sizeof(s1), &l1,
	    "t") == 0 && l1 == KEYS_SIG_LEN && pss_ok(dk, hash, s1, 32) &&
	    keys_sign_sha256(alt, hash, s2, sizeof(s2), &l2, "t") == 0,
	    "signer key: keys_sign_pss and keys_sign_sha256 through its two "
	    "signers");
	keys_free(alt);
	alt = NULL;

	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    NULL, (void *)dk, &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_pss(alt, hash, s1, sizeof(s1), &l1, "leave");
	err = capture_end();
	CHECK_ERR(rc == -1 && l1 == 0 && log_exit_code() == EXIT_INTERNAL &&
	    lines(err) == 1 && has(err, "drsjoin: leave: the key's signer "
	    "cannot sign RSA-PSS"), err, "signer without a PSS signer: refused");
	free(err);
	keys_free(alt);
	alt = NULL;

	/* A signer that answers PSS with PKCS#1 v1.5, or with another key. */
	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    soft_signer, (void *)dk, &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_pss(alt, hash, s1, sizeof(s1), &l1, "leave");
	err = capture_end();
	CHECK_ERR(rc == -1 && l1 == 0 && log_exit_code() == EXIT_TPM &&
	    lines(err) == 1 && has(err, "drsjoin: leave: the RSA-PSS signature "
	    "made by the key's signer does not verify"), err,
	    "a PSS signer answering PKCS#1 v1.5 is caught");
	free(err);
	keys_free(alt);
	alt = NULL;
	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    soft_signer_pss, (void *)other, &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_pss(alt, hash, s1, sizeof(s1), &l1, "leave");
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_TPM && lines(err) == 1 &&
	    has(err, "does not verify"), err,
	    "a PSS signer signing with another key is caught");
	free(err);
	keys_free(alt);
	alt = NULL;

	/* TLS 1.3 wants salt = hash length: a 20-byte salt is refused. */
	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    short_salt_signer, (void *)"key.pem", &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_pss(alt, hash, s1, sizeof(s1), &l1, "leave");
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_TPM && lines(err) == 1 &&
	    has(err, "32-byte salt") && pss_ok(dk, hash, s1, 20), err,
	    "a PSS signer with a 20-byte salt (valid PSS, not TLS 1.3's) is "
	    "refused");
	free(err);
	keys_free(alt);
	alt = NULL;

	/* A signer that fails reports once, with its own code. */
	keys_from_public_and_signer(n, sizeof(n), e, e_len, failing_signer,
	    failing_signer, NULL, &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_pss(alt, hash, s1, sizeof(s1), &l1, "leave");
	err = capture_end();
	CHECK_ERR(rc == -1 && l1 == 0 && log_exit_code() == EXIT_TPM &&
	    lines(err) == 1 && has(err, "the TPM is gone"), err,
	    "a failing PSS signer: its one message, its exit code");
	free(err);
	keys_free(alt);
	alt = NULL;
	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    short_signer, (void *)dk, &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_pss(alt, hash, s1, sizeof(s1), &l1, "leave");
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_TPM && lines(err) == 1 &&
	    has(err, "returned 255 bytes"), err,
	    "a PSS signer returning 255 bytes is refused");
	free(err);
	keys_free(alt);

	log_reset();
	capture_begin();
	rc = keys_sign_pss(dk, hash, s1, KEYS_SIG_LEN - 1, &l1, "leave");
	err = capture_end();
	CHECK_ERR(rc == -1 && l1 == 0 && has(err, "too small"), err,
	    "PSS into a short buffer is refused");
	free(err);
}

/*
 * keys_mbedtls_pk: the key as mbedTLS's TLS code uses it. TLS 1.3 signs its
 * CertificateVerify with mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS), TLS
 * 1.2 with mbedtls_pk_sign (PKCS#1 v1.5).
 */
static void
tls_pk_tests(const struct key *dk, const struct key *other)
{
	uint8_t n[KEYS_MODULUS_LEN], e[KEYS_EXPONENT_MAX], hash[48];
	uint8_t sig[KEYS_SIG_LEN], sig2[KEYS_SIG_LEN];
	size_t e_len = 0, len = 0, len2 = 0;
	struct key *alt = NULL;
	mbedtls_pk_context *pk;
	int ret;

	crypto_sha256("CertificateVerify", 17, hash);
	pk = keys_mbedtls_pk(dk);
	ret = mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS, pk, MBEDTLS_MD_SHA256,
	    hash, 32, sig, sizeof(sig), &len, crypto_rng, NULL);
	CHECK(ret == 0 && len == KEYS_SIG_LEN && pss_ok(dk, hash, sig, 32),
	    "software key through mbedTLS: PSS with a 32-byte salt");

	keys_public_rsa(dk, n, e, &e_len);
	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    soft_signer_pss, (void *)dk, &alt);
	pk = alt != NULL ? keys_mbedtls_pk(alt) : NULL;
	len = 0;
	ret = pk ? mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS, pk,
	    MBEDTLS_MD_SHA256, hash, 32, sig, sizeof(sig), &len, crypto_rng,
	    NULL) : -1;
	CHECK(ret == 0 && len == KEYS_SIG_LEN && pss_ok(dk, hash, sig, 32),
	    "signer key through mbedtls_pk_sign_ext: RSA-PSS (TLS 1.3) goes to "
	    "its PSS signer (mbedTLS patch 0003)");
	ret = pk ? mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, 32, sig2,
	    sizeof(sig2), &len2, crypto_rng, NULL) : -1;
	CHECK(ret == 0 && len2 == KEYS_SIG_LEN &&
	    keys_sign_sha256(dk, hash, sig, sizeof(sig), &len, "t") == 0 &&
	    memcmp(sig, sig2, KEYS_SIG_LEN) == 0,
	    "signer key through mbedtls_pk_sign: PKCS#1 v1.5 (TLS 1.2)");
	log_mute(1);
	ret = pk ? mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS, pk,
	    MBEDTLS_MD_SHA384, hash, 48, sig, sizeof(sig), &len, crypto_rng,
	    NULL) : 0;
	log_mute(0);
	CHECK(ret != 0, "signer key: PSS with SHA-384 is refused (SHA-256 "
	    "only)");
	keys_free(alt);
	alt = NULL;

	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    NULL, (void *)dk, &alt);
	ret = alt ? mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS,
	    keys_mbedtls_pk(alt), MBEDTLS_MD_SHA256, hash, 32, sig, sizeof(sig),
	    &len, crypto_rng, NULL) : 0;
	CHECK(ret == MBEDTLS_ERR_PK_TYPE_MISMATCH,
	    "signer key without a PSS signer: mbedTLS refuses PSS");
	keys_free(alt);
	alt = NULL;

	/* A signer holding another key: no signature leaves through TLS. */
	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    soft_signer_pss, (void *)other, &alt);
	log_mute(1);
	ret = alt ? mbedtls_pk_sign(keys_mbedtls_pk(alt), MBEDTLS_MD_SHA256,
	    hash, 32, sig, sizeof(sig), &len, crypto_rng, NULL) : 0;
	len2 = 1;
	ret = ret != 0 && alt && mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS,
	    keys_mbedtls_pk(alt), MBEDTLS_MD_SHA256, hash, 32, sig,
	    sizeof(sig), &len2, crypto_rng, NULL) != 0;
	log_mute(0);
	CHECK(ret, "signer with another key: both mbedTLS signing calls fail");
	keys_free(alt);
}

static void
signer_tests(const struct key *dk, const struct key *other)
{
	uint8_t n[KEYS_MODULUS_LEN], e[KEYS_EXPONENT_MAX], hash[32];
	uint8_t sig_soft[KEYS_SIG_LEN], sig_alt[KEYS_SIG_LEN];
	uint8_t blob_soft[BCRYPT_BLOB_LEN], blob_alt[BCRYPT_BLOB_LEN];
	uint8_t *der_soft = NULL, *der_alt = NULL;
	size_t e_len = 0, len_soft = 0, len_alt = 0, der_soft_len, der_alt_len;
	struct key *alt = NULL;
	char *pem = NULL, *err;
	size_t pem_len;
	int rc;

	crypto_sha256("to be signed", 12, hash);
	CHECK(keys_public_rsa(dk, n, e, &e_len) == 0 &&
	    keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    soft_signer_pss, (void *)dk, &alt) == 0 && alt != NULL &&
	    !keys_is_software(alt),
	    "signer key from a public key and a signing function");
	if (alt == NULL)
		return;
	rc = keys_sign_sha256(dk, hash, sig_soft, sizeof(sig_soft), &len_soft,
	    "t");
	CHECK(rc == 0 && len_soft == KEYS_SIG_LEN &&
	    keys_sign_sha256(alt, hash, sig_alt, sizeof(sig_alt), &len_alt,
	    "t") == 0 && len_alt == KEYS_SIG_LEN &&
	    memcmp(sig_soft, sig_alt, KEYS_SIG_LEN) == 0,
	    "signer key (mbedTLS RSA-alt) signs the same bytes as the software key");
	CHECK(keys_public_der(dk, &der_soft, &der_soft_len) == 0 &&
	    keys_public_der(alt, &der_alt, &der_alt_len) == 0 &&
	    der_soft_len == der_alt_len &&
	    memcmp(der_soft, der_alt, der_alt_len) == 0 &&
	    keys_public_equal(alt, der_soft, der_soft_len) == 1,
	    "signer key: same public DER as the software key");
	CHECK(keys_bcrypt_blob(dk, blob_soft) == 0 &&
	    keys_bcrypt_blob(alt, blob_alt) == 0 &&
	    memcmp(blob_soft, blob_alt, sizeof(blob_alt)) == 0,
	    "signer key: same BCRYPT blob as the software key");
	free(der_soft);
	free(der_alt);

	log_reset();
	capture_begin();
	rc = keys_private_pem(alt, &pem, &pem_len);
	err = capture_end();
	CHECK_ERR(rc == -1 && pem == NULL && log_exit_code() == EXIT_INTERNAL &&
	    has(err, "no private key to export"), err,
	    "signer key: no private key export");
	free(err);
	keys_free(alt);
	alt = NULL;

	/* A signer that fails reports once, with its own code. */
	keys_from_public_and_signer(n, sizeof(n), e, e_len, failing_signer,
	    NULL, NULL, &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_sha256(alt, hash, sig_alt, sizeof(sig_alt), &len_alt,
	    "csr");
	err = capture_end();
	CHECK_ERR(rc == -1 && len_alt == 0 && log_exit_code() == EXIT_TPM &&
	    lines(err) == 1 && has(err, "drsjoin: tpm: TPM2_Sign: the TPM is "
	    "gone"), err, "a failing signer: its one message, its exit code");
	free(err);
	keys_free(alt);
	alt = NULL;

	/* A signer holding another key: caught before use. */
	keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    soft_signer_pss, (void *)other, &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_sha256(alt, hash, sig_alt, sizeof(sig_alt), &len_alt,
	    "csr");
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_TPM && lines(err) == 1 &&
	    has(err, "drsjoin: csr: the signature made by the key's signer "
	    "does not verify with its public key"), err,
	    "a signer signing with another key is caught");
	free(err);
	keys_free(alt);
	alt = NULL;

	keys_from_public_and_signer(n, sizeof(n), e, e_len, short_signer,
	    NULL, (void *)dk, &alt);
	log_reset();
	capture_begin();
	rc = keys_sign_sha256(alt, hash, sig_alt, sizeof(sig_alt), &len_alt,
	    "csr");
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_TPM && lines(err) == 1 &&
	    has(err, "drsjoin: csr: the key's signer returned 255 bytes, not "
	    "a 256-byte signature"), err,
	    "a signer returning 255 bytes is refused");
	free(err);
	keys_free(alt);
	alt = NULL;

	/* The public half must be RSA-2048 with e = 65537. */
	log_reset();
	capture_begin();
	rc = keys_from_public_and_signer(n + 128, 128, e, e_len, soft_signer,
	    soft_signer_pss, (void *)dk, &alt);
	err = capture_end();
	CHECK_ERR(rc == -1 && alt == NULL && log_exit_code() == EXIT_INTERNAL &&
	    has(err, "not RSA-2048"), err,
	    "signer key with a 1024-bit modulus refused");
	free(err);
	log_reset();
	capture_begin();
	rc = keys_from_public_and_signer(n, sizeof(n), (const uint8_t *)"\x03",
	    1, soft_signer, soft_signer_pss, (void *)dk, &alt);
	err = capture_end();
	CHECK_ERR(rc == -1 && alt == NULL && has(err, "65537"), err,
	    "signer key with e = 3 refused");
	free(err);
	log_reset();
	capture_begin();
	rc = keys_from_public_and_signer(n, sizeof(n), e, e_len, NULL, NULL, NULL,
	    &alt);
	err = capture_end();
	CHECK_ERR(rc == -1 && alt == NULL, err,
	    "signer key without a function refused");
	free(err);
}

int
main(void)
{
	uint8_t n1[KEYS_MODULUS_LEN], n2[KEYS_MODULUS_LEN], *der = NULL;
	uint8_t blob[BCRYPT_BLOB_LEN], sha[32], *pub = NULL;
	struct key *a = NULL, *b = NULL, *dk = NULL, *tk = NULL, *fixed, *other;
	struct bcrypt_blob info;
	char *pem = NULL, *err;
	size_t pem_len = 0, der_len = 0, pub_len = 0;
	int rc;

	/* Generation. */
	CHECK(keys_generate(&a) == 0 && a != NULL && keys_is_software(a) &&
	    is_rsa2048_f4(a, n1), "generate: RSA-2048, e = 65537, software");
	CHECK(keys_generate_pair(&dk, &tk) == 0 && dk != NULL && tk != NULL &&
	    is_rsa2048_f4(dk, n1) && is_rsa2048_f4(tk, n2),
	    "generate a pair in parallel: both RSA-2048, e = 65537");
	CHECK(dk != NULL && tk != NULL && memcmp(n1, n2, sizeof(n1)) != 0,
	    "the device key and the transport key differ");
	CHECK(tk != NULL && keys_bcrypt_blob(tk, blob) == 0 &&
	    bcrypt_blob_parse(blob, sizeof(blob), EXIT_INTERNAL, "t",
	    &info) == 0 && memcmp(info.modulus, n2, sizeof(n2)) == 0,
	    "the transport key's BCRYPT blob parses and holds its modulus");

	/* The two-step form: keys made while the caller does other work. */
	{
		struct keys_pending *p = NULL;
		struct key *k1 = NULL, *k2 = NULL;
		uint8_t m1[KEYS_MODULUS_LEN], m2[KEYS_MODULUS_LEN];

		rc = keys_generate_pair_start(&p);
		usleep(1000);	/* "the network requests" */
		CHECK(rc == 0 && keys_generate_pair_finish(p, &k1, &k2) == 0 &&
		    is_rsa2048_f4(k1, m1) && is_rsa2048_f4(k2, m2) &&
		    memcmp(m1, m2, sizeof(m1)) != 0,
		    "start, other work, finish: two different RSA-2048 keys");
		keys_free(k1);
		keys_free(k2);
		p = NULL;
		CHECK(keys_generate_pair_start(&p) == 0 &&
		    keys_generate_pair_finish(p, NULL, NULL) == 0,
		    "start then abandon: waits and frees (no leak under ASan)");
	}

	/* PEM round trip. */
	rc = a != NULL ? keys_private_pem(a, &pem, &pem_len) : -1;
	CHECK(rc == 0 && pem_len == strlen(pem) &&
	    strncmp(pem, "-----BEGIN RSA PRIVATE KEY-----\n", 32) == 0 &&
	    strcmp(pem + pem_len - 30, "-----END RSA PRIVATE KEY-----\n") == 0,
	    "private key as PKCS#1 PEM, *len = strlen (all of it is wiped)");
	CHECK(pem != NULL && keys_load_pem(pem, pem_len, "t", &b) == 0 &&
	    is_rsa2048_f4(b, n2) && is_rsa2048_f4(a, n1) &&
	    memcmp(n1, n2, sizeof(n1)) == 0, "PEM round trip: same key back");
	CHECK(a != NULL && b != NULL && keys_public_der(a, &der, &der_len) == 0 &&
	    keys_public_equal(b, der, der_len) == 1,
	    "PEM round trip: public keys equal");
	if (pem != NULL) {
		/* What callers do: wipe, then free. */
		util_wipe(pem, pem_len);
		CHECK(pem[0] == 0 && pem[pem_len / 2] == 0 &&
		    pem[pem_len - 1] == 0, "the PEM buffer wipes");
		util_free_secret(pem);
	}
	CHECK(a != NULL && dk != NULL && keys_public_equal(dk, der, der_len) == 0,
	    "public_equal: another generated key is not equal");
	free(der);
	der = NULL;
	keys_free(a);
	keys_free(b);
	keys_free(dk);
	keys_free(tk);

	/* The fixed key, against OpenSSL's answers. */
	fixed = load("key.pem");
	other = load("key2.pem");
	CHECK(fixed != NULL && is_rsa2048_f4(fixed, n1) &&
	    memcmp(n1, key_n_prefix, sizeof(key_n_prefix)) == 0,
	    "load key.pem (PKCS#8): OpenSSL's modulus");
	if (fixed == NULL || other == NULL)
		return tap_done();
	CHECK(keys_bcrypt_blob(fixed, blob) == 0 &&
	    crypto_sha256(blob, sizeof(blob), sha) == 0 &&
	    hex_is(sha, sizeof(sha), key_blob_sha256),
	    "BCRYPT blob of key.pem: the known answer");
	/* PKCS#1 PEM out: OpenSSL's bytes; and PKCS#1 PEM in. */
	{
		uint8_t *want;
		size_t want_len;
		struct key *k1 = NULL;

		want = fixture_read("key_pkcs1.pem", &want_len);
		CHECK(want != NULL && keys_private_pem(fixed, &pem,
		    &pem_len) == 0 && pem_len == want_len &&
		    memcmp(pem, want, want_len) == 0,
		    "private PEM of key.pem = openssl rsa -traditional");
		util_free_secret(pem);
		pem = NULL;
		CHECK(want != NULL && keys_load_pem((char *)want, want_len,
		    "key_pkcs1.pem", &k1) == 0 && is_rsa2048_f4(k1, n2) &&
		    memcmp(n1, n2, sizeof(n1)) == 0,
		    "load key_pkcs1.pem (PKCS#1): the same key");
		keys_free(k1);
		free(want);
	}
	pub = fixture_read("key_pub.der", &pub_len);
	CHECK(pub != NULL && keys_public_der(fixed, &der, &der_len) == 0 &&
	    der_len == pub_len && memcmp(der, pub, pub_len) == 0,
	    "public DER of key.pem = openssl pkey -pubout -outform DER");
	free(der);
	CHECK(pub != NULL && keys_public_equal(fixed, pub, pub_len) == 1,
	    "public_equal: key.pem's SubjectPublicKeyInfo");
	CHECK(pub != NULL && keys_public_equal(other, pub, pub_len) == 0,
	    "public_equal: key2.pem is not key.pem");
	CHECK(pub != NULL && keys_public_equal(fixed, pub, pub_len - 1) == 0 &&
	    keys_public_equal(fixed, (const uint8_t *)"garbage", 7) == 0 &&
	    keys_public_equal(fixed, pub, 0) == 0,
	    "public_equal: truncated, garbage and empty are not equal");
	free(pub);

	/* Refusals. */
	load_refused("", 0, "an empty file", "not a PEM private key (empty)");
	load_refused("hello\n", 6, "text", "not a usable private key");
	load_refused("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
	    "KEY-----\n", 56, "a broken PEM", "not a usable private key");
	load_refused("-----BEGIN\0", 11, "a NUL byte", "NUL");
	fixture_refused("key_pub.der", "not a PEM private key");
	fixture_refused("key_rsa1024.pem", "not an RSA-2048 key");
	fixture_refused("key_e3.pem", "public exponent 65537");
	fixture_refused("key_ec.pem", "not an RSA-2048 key");
	fixture_refused("key_encrypted.pem", "the private key is encrypted");

	signer_tests(fixed, other);
	pss_tests(fixed, other);
	tls_pk_tests(fixed, other);

	/* A broken random generator stops key generation, with one line. */
	crypto_test_entropy_fails(1);
	log_reset();
	capture_begin();
	rc = keys_generate_pair(&dk, &tk);
	err = capture_end();
	CHECK_ERR(rc == -1 && dk == NULL && tk == NULL &&
	    log_exit_code() == EXIT_INTERNAL && lines(err) == 1 &&
	    has(err, "drsjoin: random generator: ") &&
	    has(err, "(while keygen: generating an RSA-2048 key)"), err,
	    "keygen with a failing random generator: one clear error");
	free(err);
	crypto_cleanup();

	keys_free(fixed);
	keys_free(other);
	return tap_done();
}
