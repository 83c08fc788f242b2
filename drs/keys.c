/*
 * keys.c - RSA-2048 device and transport keys: software keys held by
 * mbedTLS, and signer keys (public key + signing function, for the TPM)
 * held as an mbedTLS RSA-alt key.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>

#include "b64.h"
#include "bcrypt_blob.h"
#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#define EXPONENT	65537
#define PRV_DER_MAX	2048	/* PKCS#1 DER of RSA-2048: ~1.2 KB */
#define SPKI_MAX	600	/* DER SPKI of RSA-2048: 294 bytes */

struct key {
	/*
	 * software: the RSA private key; signer: an RSA-alt key whose signing
	 * calls sign(sign_ctx, ...). Used for signing.
	 */
	mbedtls_pk_context pk;
	/* signer only: the public key (RSA-alt keys cannot be exported). */
	mbedtls_pk_context pub;
	int software;
	keys_sign_fn sign;
	keys_sign_fn sign_pss;	/* NULL: this signer does no PSS */
	void *sign_ctx;
	int signer_failed;	/* the signer reported its own failure */
	int signer_bad;		/* its signature did not verify */
	size_t signer_len;	/* the length the signer returned */
	keys_decrypt_fn decrypt;	/* signer only: RSA-OAEP (the TPM) */
	void *decrypt_ctx;
};

static struct key *
key_new(void)
{
	struct key *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	mbedtls_pk_init(&k->pk);
	mbedtls_pk_init(&k->pub);
	return k;
}

void
keys_free(struct key *k)
{
	if (k == NULL)
		return;
	mbedtls_pk_free(&k->pk);	/* zeroizes the private key */
	mbedtls_pk_free(&k->pub);
	mbedtls_platform_zeroize(k, sizeof(*k));
	free(k);
}

int
keys_is_software(const struct key *k)
{
	return k->software;
}

/* The context that holds the public key, for export. */
static const mbedtls_pk_context *
public_pk(const struct key *k)
{
	return k->software ? &k->pk : &k->pub;
}

/* 1 when pk is an RSA-2048 key with e = 65537. */
static int
shape_ok(const mbedtls_pk_context *pk)
{
	const mbedtls_rsa_context *rsa;
	uint8_t e[KEYS_EXPONENT_MAX];

	if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA)
		return 0;
	rsa = mbedtls_pk_rsa(*pk);
	if (mbedtls_rsa_get_len(rsa) != KEYS_MODULUS_LEN ||
	    mbedtls_pk_get_bitlen(pk) != KEYS_BITS)
		return 0;
	if (mbedtls_rsa_export_raw(rsa, NULL, 0, NULL, 0, NULL, 0, NULL, 0,
	    e, sizeof(e)) != 0)
		return 0;
	return memcmp(e, "\0\0\0\0\0\x01\x00\x01", sizeof(e)) == 0;
}

int
keys_generate(struct key **out)
{
	struct key *k = NULL;
	int ret;

	*out = NULL;
	/*
	 * No crypto_init() here: the first draw seeds the generator, and a
	 * failure then is reported with this operation as its context. (With
	 * two keys made in parallel, crypto_init() in the second thread could
	 * report the first thread's breakage without it.)
	 */
	if ((k = key_new()) == NULL)
		return -1;
	ret = mbedtls_pk_setup(&k->pk,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
	if (ret != 0) {
		keys_free(k);
		return crypto_fail(EXIT_INTERNAL, ret, "keygen: RSA setup");
	}
	ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(k->pk), crypto_rng, NULL,
	    KEYS_BITS, EXPONENT);
	if (ret != 0) {
		keys_free(k);
		return crypto_fail(EXIT_INTERNAL, ret,
		    "keygen: generating an RSA-2048 key");
	}
	k->software = 1;
	*out = k;
	return 0;
}

struct gen_job {
	struct key *key;
	int rc;
};

struct keys_pending {
	struct gen_job job[2];		/* device key, transport key */
	pthread_t thread[2];
	int started[2];
};

static void *
gen_thread(void *arg)
{
	struct gen_job *job = arg;

	job->rc = keys_generate(&job->key);
	return NULL;
}

int
keys_generate_pair_start(struct keys_pending **out)
{
	struct keys_pending *p;
	pthread_attr_t attr;
	int i, attr_ok;

	*out = NULL;
	if (crypto_init() != 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	attr_ok = pthread_attr_init(&attr) == 0;
	/* musl's default thread stack (128 KiB) is tight for bignum code. */
	if (attr_ok)
		pthread_attr_setstacksize(&attr, 512 * 1024);
	for (i = 0; i < 2; i++) {
		p->job[i].rc = -1;
		p->started[i] = pthread_create(&p->thread[i],
		    attr_ok ? &attr : NULL, gen_thread, &p->job[i]) == 0;
		if (!p->started[i])
			log_debug(1, "keygen: cannot start a thread, the key "
			    "will be generated when it is needed");
	}
	if (attr_ok)
		pthread_attr_destroy(&attr);
	*out = p;
	return 0;
}

int
keys_generate_pair_finish(struct keys_pending *p, struct key **dk,
    struct key **tk)
{
	int i, rc = 0;

	if (dk != NULL)
		*dk = NULL;
	if (tk != NULL)
		*tk = NULL;
	if (p == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		if (p->started[i])
			pthread_join(p->thread[i], NULL);
		else
			gen_thread(&p->job[i]);
		if (p->job[i].rc != 0)
			rc = -1;
	}
	if (rc != 0 || dk == NULL || tk == NULL) {
		keys_free(p->job[0].key);
		keys_free(p->job[1].key);
	} else {
		*dk = p->job[0].key;
		*tk = p->job[1].key;
	}
	free(p);
	return rc;
}

int
keys_generate_pair(struct key **dk, struct key **tk)
{
	struct keys_pending *p = NULL;

	*dk = NULL;
	*tk = NULL;
	if (keys_generate_pair_start(&p) != 0)
		return -1;
	return keys_generate_pair_finish(p, dk, tk);
}

int
keys_load_pem(const char *buf, size_t len, const char *what,
    struct key **out)
{
	struct key *k = NULL;
	unsigned char *copy = NULL;
	int ret, rc = -1;

	*out = NULL;
	if (crypto_init() != 0)
		return -1;
	if (len == 0 || memchr(buf, '\0', len) != NULL)
		return log_fail(EXIT_INPUT, "%s: not a PEM private key%s", what,
		    len == 0 ? " (empty)" : " (holds a NUL byte)");
	/* mbedTLS wants PEM NUL-terminated, the NUL counted in the length. */
	if ((copy = malloc(len + 1)) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if ((k = key_new()) == NULL)
		goto out;
	ret = mbedtls_pk_parse_key(&k->pk, copy, len + 1, NULL, 0,
	    crypto_rng, NULL);
	if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
		log_fail(EXIT_INPUT, "%s: the private key is encrypted "
		    "(drsjoin's keys have no passphrase)", what);
		goto out;
	}
	if (ret != 0) {
		crypto_fail(EXIT_INPUT, ret, "%s: not a usable private key",
		    what);
		goto out;
	}
	if (!shape_ok(&k->pk)) {
		log_fail(EXIT_INPUT, "%s: not an RSA-2048 key with public "
		    "exponent 65537", what);
		goto out;
	}
	k->software = 1;
	*out = k;
	k = NULL;
	rc = 0;
out:
	util_free_secret_buf(copy, len + 1);
	keys_free(k);
	return rc;
}

/* RSA-alt callbacks: the key is the struct key. */
static int
alt_sign(void *ctx, mbedtls_f_rng_t *f_rng, void *p_rng,
    mbedtls_md_type_t md_alg, unsigned int hashlen,
    const unsigned char *hash, unsigned char *sig)
{
	struct key *k = ctx;
	size_t len = 0;

	(void)f_rng;
	(void)p_rng;
	if (md_alg != MBEDTLS_MD_SHA256 || hashlen != 32)
		return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
	if (k->sign(k->sign_ctx, hash, sig, KEYS_SIG_LEN, &len) != 0) {
		k->signer_failed = 1;
		return MBEDTLS_ERR_RSA_PRIVATE_FAILED;
	}
	k->signer_len = len;
	if (len != KEYS_SIG_LEN)
		return MBEDTLS_ERR_RSA_PRIVATE_FAILED;
	/* Checked here, so that a TLS handshake (keys_mbedtls_pk) never
	 * sends a signature of another key either. */
	if (mbedtls_pk_verify(&k->pub, MBEDTLS_MD_SHA256, hash, 32, sig,
	    len) != 0) {
		k->signer_bad = 1;
		return MBEDTLS_ERR_RSA_PRIVATE_FAILED;
	}
	return 0;
}

static int
alt_decrypt(void *ctx, size_t *olen, const unsigned char *input,
    unsigned char *output, size_t output_max_len)
{
	(void)ctx;
	(void)olen;
	(void)input;
	(void)output;
	(void)output_max_len;
	return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
}

/* mbedTLS's PSS hook (third_party patch 0003): TLS 1.3 CertificateVerify. */
static int
alt_sign_pss(void *ctx, mbedtls_md_type_t md_alg, const unsigned char *hash,
    size_t hash_len, unsigned char *sig, size_t sig_size, size_t *sig_len)
{
	if (md_alg != MBEDTLS_MD_SHA256 || hash_len != 32)
		return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
	if (keys_sign_pss(ctx, hash, sig, sig_size, sig_len, "tls") != 0)
		return MBEDTLS_ERR_RSA_PRIVATE_FAILED;
	return 0;
}

static size_t
alt_key_len(void *ctx)
{
	(void)ctx;
	return KEYS_MODULUS_LEN;
}

/* A signer or decrypter key's public half, checked. NULL (reported). */
static struct key *
public_key_new(const uint8_t *n, size_t n_len, const uint8_t *e,
    size_t e_len)
{
	struct key *k = NULL;
	mbedtls_rsa_context *rsa = NULL;
	int ret;

	if (crypto_init() != 0)
		return NULL;
	if ((k = key_new()) == NULL)
		return NULL;
	ret = mbedtls_pk_setup(&k->pub,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
	if (ret == 0) {
		rsa = mbedtls_pk_rsa(k->pub);
		ret = mbedtls_rsa_import_raw(rsa, n, n_len, NULL, 0, NULL, 0,
		    NULL, 0, e, e_len);
	}
	if (ret == 0)
		ret = mbedtls_rsa_complete(rsa);
	if (ret == 0)
		ret = mbedtls_rsa_check_pubkey(rsa);
	if (ret != 0) {
		keys_free(k);
		crypto_fail(EXIT_INTERNAL, ret, "keys: the signer's public key");
		return NULL;
	}
	if (!shape_ok(&k->pub)) {
		keys_free(k);
		log_fail(EXIT_INTERNAL, "keys: the signer's public key is not "
		    "RSA-2048 with public exponent 65537");
		return NULL;
	}
	return k;
}

int
keys_from_public_and_decrypter(const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len, keys_decrypt_fn decrypt, void *ctx,
    struct key **out)
{
	struct key *k;

	*out = NULL;
	if (decrypt == NULL)
		return log_fail(EXIT_INTERNAL, "keys: no decrypting function");
	if ((k = public_key_new(n, n_len, e, e_len)) == NULL)
		return -1;
	k->decrypt = decrypt;
	k->decrypt_ctx = ctx;
	*out = k;
	return 0;
}

int
keys_from_public_and_signer(const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len, keys_sign_fn sign, keys_sign_fn sign_pss,
    void *ctx, struct key **out)
{
	struct key *k = NULL;
	int ret;

	*out = NULL;
	if (sign == NULL)
		return log_fail(EXIT_INTERNAL, "keys: no signing function");
	if ((k = public_key_new(n, n_len, e, e_len)) == NULL)
		return -1;
	k->sign = sign;
	k->sign_pss = sign_pss;
	k->sign_ctx = ctx;
	ret = mbedtls_pk_setup_rsa_alt(&k->pk, k, alt_decrypt, alt_sign,
	    alt_key_len);
	if (ret == 0 && sign_pss != NULL)
		ret = mbedtls_pk_rsa_alt_set_sign_pss(&k->pk, alt_sign_pss);
	if (ret != 0)
		goto fail;
	*out = k;
	return 0;
fail:
	keys_free(k);
	return crypto_fail(EXIT_INTERNAL, ret, "keys: the signer's public key");
}

void
keys_set_decrypter(struct key *k, keys_decrypt_fn decrypt, void *ctx)
{
	k->decrypt = decrypt;
	k->decrypt_ctx = ctx;
}

/* A signer key's decryption: its decrypter, checked for the length. */
static int
signer_decrypt(const struct key *k, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t out_size, size_t *out_len, int code,
    const char *what)
{
	int rc;

	if (k->decrypt == NULL)
		return log_fail(EXIT_INTERNAL, "%s: this key cannot decrypt",
		    what);
	rc = k->decrypt(k->decrypt_ctx, in, in_len, out, out_size, out_len);
	if (rc == 1) {
		*out_len = 0;
		return log_fail(code, "%s: the wrapped key does not decrypt "
		    "with the transport key (RSA-OAEP, in the TPM)", what);
	}
	if (rc != 0)
		return -1;	/* reported by the decrypter */
	if (*out_len > out_size)
		return log_fail(EXIT_TPM, "%s: the key's decrypter returned "
		    "%zu bytes, more than %zu", what, *out_len, out_size);
	return 0;
}

int
keys_decrypt_oaep_sha1(const struct key *k, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t out_size, size_t *out_len, int code,
    const char *what)
{
	mbedtls_rsa_context *rsa;
	int ret, padding, md;

	*out_len = 0;
	if (in_len != KEYS_MODULUS_LEN)
		return log_fail(code, "%s: the wrapped key is %zu bytes, not "
		    "%d", what, in_len, KEYS_MODULUS_LEN);
	if (!k->software)
		return signer_decrypt(k, in, in_len, out, out_size, out_len,
		    code, what);
	/* The padding is the context's state: set for this call only, so
	 * that the key signs as before afterwards. */
	rsa = mbedtls_pk_rsa(k->pk);
	padding = mbedtls_rsa_get_padding_mode(rsa);
	md = mbedtls_rsa_get_md_alg(rsa);
	ret = mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21,
	    MBEDTLS_MD_SHA1);
	if (ret == 0)
		ret = mbedtls_rsa_rsaes_oaep_decrypt(rsa, crypto_rng, NULL,
		    NULL, 0, out_len, in, out, out_size);
	mbedtls_rsa_set_padding(rsa, padding, (mbedtls_md_type_t)md);
	if (ret != 0) {
		/* Bad padding, a number past the modulus, too long: all are
		 * the ciphertext's fault (crypto_fail names a broken random
		 * generator, the blinding's, instead). */
		*out_len = 0;
		return crypto_fail(code, ret, "%s: the wrapped key does not "
		    "decrypt with the transport key (RSA-OAEP)", what);
	}
	return 0;
}

/*
 * Not mbedtls_pk_write_key_pem(): its base64 step frees a copy of the key
 * without wiping it. Here every copy is ours and wiped: the DER, its
 * base64, the PEM.
 */
int
keys_private_pem(const struct key *k, char **pem, size_t *len)
{
	/* Split so that a scan of the repo for committed keys does not match code. */
	static const char begin[] = "-----BEGIN RSA " "PRIVATE KEY-----\n";
	static const char end[] = "-----END RSA " "PRIVATE KEY-----\n";
	unsigned char *der = NULL;
	char *b64 = NULL, *out, *o;
	size_t der_len, b64_len, i, line, size;
	int ret, rc = -1;

	*pem = NULL;
	*len = 0;
	if (!k->software)
		return log_fail(EXIT_INTERNAL, "keys: no private key to export "
		    "(the key is held by its signer)");
	if ((der = calloc(1, PRV_DER_MAX)) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	ret = mbedtls_pk_write_key_der(&k->pk, der, PRV_DER_MAX);
	if (ret < 0) {
		crypto_fail(EXIT_INTERNAL, ret, "keys: writing the private "
		    "key");
		goto out;
	}
	der_len = (size_t)ret;
	if ((b64 = b64_encode(der + PRV_DER_MAX - der_len, der_len)) == NULL)
		goto out;
	b64_len = strlen(b64);
	/* 64 characters a line, as OpenSSL and mbedTLS write PEM. */
	size = sizeof(begin) - 1 + b64_len + (b64_len + 63) / 64 +
	    sizeof(end) - 1 + 1;
	if ((out = malloc(size)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	o = out;
	memcpy(o, begin, sizeof(begin) - 1);
	o += sizeof(begin) - 1;
	for (i = 0; i < b64_len; i += line) {
		line = b64_len - i < 64 ? b64_len - i : 64;
		memcpy(o, b64 + i, line);
		o += line;
		*o++ = '\n';
	}
	memcpy(o, end, sizeof(end));	/* with the NUL */
	*pem = out;
	*len = size - 1;
	rc = 0;
out:
	util_free_secret_buf(der, PRV_DER_MAX);
	util_free_secret(b64);
	return rc;
}

int
keys_public_rsa(const struct key *k, uint8_t n[KEYS_MODULUS_LEN],
    uint8_t e[KEYS_EXPONENT_MAX], size_t *e_len)
{
	const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(*public_pk(k));
	uint8_t full[KEYS_EXPONENT_MAX];
	size_t skip = 0;
	int ret;

	ret = mbedtls_rsa_export_raw(rsa, n, KEYS_MODULUS_LEN, NULL, 0,
	    NULL, 0, NULL, 0, full, sizeof(full));
	if (ret != 0)
		return crypto_fail(EXIT_INTERNAL, ret, "keys: exporting the "
		    "public key");
	while (skip < sizeof(full) - 1 && full[skip] == 0)
		skip++;
	*e_len = sizeof(full) - skip;
	memcpy(e, full + skip, *e_len);
	return 0;
}

int
keys_bcrypt_blob(const struct key *k, uint8_t out[BCRYPT_BLOB_LEN])
{
	uint8_t n[KEYS_MODULUS_LEN], e[KEYS_EXPONENT_MAX];
	size_t e_len;

	if (keys_public_rsa(k, n, e, &e_len) != 0)
		return -1;
	return bcrypt_blob_build(n, sizeof(n), e, e_len, out);
}

/* Writes the SPKI of pk at the end of buf; returns its start, or NULL and
 * the mbedTLS error in *err. */
static unsigned char *
spki_of(const mbedtls_pk_context *pk, unsigned char *buf, size_t size,
    size_t *len, int *err)
{
	int ret = mbedtls_pk_write_pubkey_der(pk, buf, size);

	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	*len = (size_t)ret;
	return buf + size - *len;
}

int
keys_public_der(const struct key *k, uint8_t **der, size_t *len)
{
	unsigned char buf[SPKI_MAX], *p;
	int err = 0;

	*der = NULL;
	*len = 0;
	if ((p = spki_of(public_pk(k), buf, sizeof(buf), len, &err)) == NULL)
		return crypto_fail(EXIT_INTERNAL, err, "keys: writing the "
		    "public key");
	if ((*der = malloc(*len)) == NULL) {
		*len = 0;
		return log_fail(EXIT_INTERNAL, "out of memory");
	}
	memcpy(*der, p, *len);
	return 0;
}

int
keys_public_equal(const struct key *k, const uint8_t *spki, size_t len)
{
	unsigned char mine[SPKI_MAX], theirs[SPKI_MAX], *a, *b;
	mbedtls_pk_context other;
	size_t a_len = 0, b_len = 0;
	int err = 0, equal = 0;

	mbedtls_pk_init(&other);
	/* Re-encoded from the parsed key, so that only n and e count. */
	if (mbedtls_pk_parse_public_key(&other, spki, len) == 0 &&
	    mbedtls_pk_get_type(&other) == MBEDTLS_PK_RSA &&
	    (a = spki_of(public_pk(k), mine, sizeof(mine), &a_len, &err)) &&
	    (b = spki_of(&other, theirs, sizeof(theirs), &b_len, &err)))
		equal = a_len == b_len && memcmp(a, b, a_len) == 0;
	mbedtls_pk_free(&other);
	return equal;
}

int
keys_sign_sha256(const struct key *k, const uint8_t hash[32], uint8_t *sig,
    size_t sig_size, size_t *sig_len, const char *what)
{
	/* The signer flag is the only thing signing changes in *k. */
	struct key *mk = (struct key *)k;
	int ret;

	*sig_len = 0;
	if (sig_size < KEYS_SIG_LEN)
		return log_fail(EXIT_INTERNAL, "%s: signature buffer too small",
		    what);
	if (!k->software && k->sign == NULL)
		return log_fail(EXIT_INTERNAL, "%s: this key cannot sign", what);
	mk->signer_failed = 0;
	mk->signer_bad = 0;
	mk->signer_len = KEYS_SIG_LEN;
	ret = mbedtls_pk_sign(&mk->pk, MBEDTLS_MD_SHA256, hash, 32, sig,
	    sig_size, sig_len, crypto_rng, NULL);
	if (ret != 0) {
		*sig_len = 0;
		if (mk->signer_failed)
			return -1;	/* reported by the signer */
		if (mk->signer_len != KEYS_SIG_LEN)
			return log_fail(EXIT_TPM, "%s: the key's signer "
			    "returned %zu bytes, not a %d-byte signature", what,
			    mk->signer_len, KEYS_SIG_LEN);
		if (mk->signer_bad)
			return log_fail(EXIT_TPM, "%s: the signature made by "
			    "the key's signer does not verify with its public "
			    "key (a different key signed)", what);
		return crypto_fail(k->software ? EXIT_INTERNAL : EXIT_TPM, ret,
		    "%s: signing with the %s key", what,
		    k->software ? "software" : "signer's");
	}
	return 0;
}

/* 1 when sig is a PSS signature of hash by pk with exactly a 32-byte salt. */
static int
pss_verifies(const mbedtls_pk_context *pk, const uint8_t hash[32],
    const uint8_t *sig)
{
	return mbedtls_rsa_rsassa_pss_verify_ext(mbedtls_pk_rsa(*pk),
	    MBEDTLS_MD_SHA256, 32, hash, MBEDTLS_MD_SHA256, 32, sig) == 0;
}

int
keys_sign_pss(const struct key *k, const uint8_t hash[32], uint8_t *sig,
    size_t sig_size, size_t *sig_len, const char *what)
{
	size_t len = 0;
	int ret;

	*sig_len = 0;
	if (sig_size < KEYS_SIG_LEN)
		return log_fail(EXIT_INTERNAL, "%s: signature buffer too small",
		    what);
	if (k->software) {
		/*
		 * mbedTLS's PSS takes the largest salt up to the hash length:
		 * 32 bytes for RSA-2048 and SHA-256, as TLS 1.3 wants. The
		 * check below proves it; it costs a public-key operation.
		 */
		ret = mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS,
		    (mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256, hash, 32,
		    sig, sig_size, &len, crypto_rng, NULL);
		if (ret != 0)
			return crypto_fail(EXIT_INTERNAL, ret, "%s: RSA-PSS "
			    "signing with the software key", what);
		if (len != KEYS_SIG_LEN || !pss_verifies(&k->pk, hash, sig))
			return log_fail(EXIT_INTERNAL, "%s: the software key's "
			    "RSA-PSS signature does not verify", what);
		*sig_len = len;
		return 0;
	}
	if (k->sign_pss == NULL)
		return log_fail(EXIT_INTERNAL, "%s: the key's signer cannot "
		    "sign RSA-PSS", what);
	if (k->sign_pss(k->sign_ctx, hash, sig, sig_size, &len) != 0)
		return -1;	/* reported by the signer */
	if (len != KEYS_SIG_LEN)
		return log_fail(EXIT_TPM, "%s: the key's signer returned %zu "
		    "bytes, not a %d-byte signature", what, len, KEYS_SIG_LEN);
	if (!pss_verifies(&k->pub, hash, sig))
		return log_fail(EXIT_TPM, "%s: the RSA-PSS signature made by "
		    "the key's signer does not verify with its public key and "
		    "a 32-byte salt (a different key signed, or another salt "
		    "length)", what);
	*sig_len = len;
	return 0;
}

void *
keys_mbedtls_pk(const struct key *k)
{
	return (void *)&k->pk;
}

/* ---- TLS client authentication ----------------------------------------- */

struct keys_tls {
	struct key *key;		/* borrowed */
	mbedtls_x509_crt crt;
	/* Signer keys in TLS 1.2: the cipher suites whose handshake hash is
	 * SHA-256 (the signer signs SHA-256 only), 0-terminated. */
	int *suites;
};

int
keys_tls_new(struct key *k, const uint8_t *cert_der, size_t cert_len,
    struct keys_tls **out)
{
	struct keys_tls *t;
	const int *all;
	const char *name;
	size_t n, i, j;
	int ret;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	t->key = k;
	mbedtls_x509_crt_init(&t->crt);
	if ((ret = mbedtls_x509_crt_parse_der(&t->crt, cert_der, cert_len)) != 0) {
		keys_tls_free(t);
		return crypto_fail(EXIT_INPUT, ret, "the device certificate");
	}
	if (!k->software) {
		all = mbedtls_ssl_list_ciphersuites();
		for (n = 0; all[n] != 0; n++)
			;
		if ((t->suites = calloc(n + 1, sizeof(int))) == NULL) {
			keys_tls_free(t);
			return log_fail(EXIT_INTERNAL, "out of memory");
		}
		/*
		 * A TLS 1.2 client signs its CertificateVerify with the hash of
		 * the suite's PRF: SHA-384 for the *-SHA384 suites. TLS 1.3
		 * suites choose the signature's hash apart from the suite.
		 */
		for (i = j = 0; i < n; i++) {
			name = mbedtls_ssl_get_ciphersuite_name(all[i]);
			if (name != NULL && strncmp(name, "TLS1-3-", 7) != 0 &&
			    strlen(name) > 6 && strcmp(name + strlen(name) - 6, "SHA384") == 0)
				continue;
			t->suites[j++] = all[i];
		}
	}
	*out = t;
	return 0;
}

int
keys_tls_configure(void *tls_config, void *arg)
{
	mbedtls_ssl_config *conf = tls_config;
	struct keys_tls *t = arg;
	int ret;

	if (t->suites != NULL)
		mbedtls_ssl_conf_ciphersuites(conf, t->suites);
	ret = mbedtls_ssl_conf_own_cert(conf, &t->crt, keys_mbedtls_pk(t->key));
	if (ret != 0)
		return crypto_fail(EXIT_INTERNAL, ret, "TLS client certificate");
	return 0;
}

int
keys_tls_v13(const struct keys_tls *t)
{
	return t->key->software || t->key->sign_pss != NULL;
}

void
keys_tls_free(struct keys_tls *t)
{
	if (t == NULL)
		return;
	mbedtls_x509_crt_free(&t->crt);
	free(t->suites);
	free(t);
}
