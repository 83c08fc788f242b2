/*
 * keys.h - the RSA-2048 keys of a device: the device key (dk, signs the CSR)
 * and the transport key (tk, its public part goes to the service as a
 * BCRYPT blob).
 *
 * A struct key is opaque and is one of two kinds:
 *  - software: the private key is in memory (generated, or loaded from PEM);
 *  - signer: only the public key is in memory, and signing calls a function
 *    (a TPM-bound key: tpm.c's tpm_sign_sha256 / tpm_sign_pss_sha256).
 * Every function below works on both kinds except keys_private_pem().
 *
 * Two signature schemes, both over a SHA-256 digest: RSASSA-PKCS1-v1_5
 * (keys_sign_sha256: the CSR, TLS 1.2) and RSASSA-PSS (keys_sign_pss: the
 * TLS 1.3 CertificateVerify, RFC 8446 4.2.3 rsa_pss_rsae_sha256: MGF1 with
 * SHA-256, salt length = hash length = 32).
 * All keys are RSA-2048 with e = 65537. A key is used by one thread at a
 * time; different keys may be used in parallel.
 */
#ifndef DRS_KEYS_H
#define DRS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "bcrypt_blob.h"

#define KEYS_BITS		2048
#define KEYS_MODULUS_LEN	256	/* bytes */
#define KEYS_EXPONENT_MAX	8	/* bytes of a public exponent */
#define KEYS_SIG_LEN		256	/* an RSA-2048 signature */

struct key;

/*
 * Signs hash (a SHA-256 digest) with RSASSA-PKCS1-v1_5 (the DigestInfo
 * encoding of SHA-256 is the signer's job, as TPM2_Sign with
 * TPM_ALG_RSASSA/SHA256 does it), or for the PSS signer with RSASSA-PSS
 * (MGF1-SHA-256, 32-byte salt: TPM2_Sign with TPM_ALG_RSAPSS/SHA256).
 * Writes *sig_len (= KEYS_SIG_LEN) bytes into sig (sig_size bytes
 * available). Returns 0, or -1 after reporting the failure with log_fail
 * (e.g. EXIT_TPM); keys.c adds no second message. keys.c verifies every
 * signature with the public key before using it (PSS: with exactly a
 * 32-byte salt).
 */
typedef int (*keys_sign_fn)(void *ctx, const uint8_t hash[32], uint8_t *sig,
    size_t sig_size, size_t *sig_len);

/* A new software RSA-2048 key, e = 65537. 0 / -1 (reported). */
int keys_generate(struct key **out);
/*
 * The device key and the transport key, two separate software keys
 * generated in parallel (two threads). Both or neither: on failure *dk and
 * *tk are NULL. 0 / -1 (reported).
 */
int keys_generate_pair(struct key **dk, struct key **tk);

/*
 * The same in two steps, so that the network requests run while the keys
 * are generated: _start starts the two threads and returns at once;
 * _finish waits for them and hands over both keys (or neither: 0 / -1,
 * reported by the thread that failed). _finish must be called exactly once
 * for every successful _start, also to abandon the keys: with dk or tk
 * NULL it waits and frees them. 0 / -1 (reported).
 */
struct keys_pending;
int keys_generate_pair_start(struct keys_pending **out);
int keys_generate_pair_finish(struct keys_pending *p, struct key **dk,
    struct key **tk);

/*
 * Loads a software key from a PEM private key (PKCS#1 or unencrypted
 * PKCS#8) of len bytes (a NUL is not needed). Errors are EXIT_INPUT and
 * name what (e.g. the file name): not a key, encrypted, not RSA-2048 with
 * e = 65537. 0 / -1.
 */
int keys_load_pem(const char *buf, size_t len, const char *what,
    struct key **out);

/*
 * A signer key: the public key n (big-endian, 2048 bits), e (big-endian,
 * 65537) and the functions that sign with the private half: sign for
 * PKCS#1 v1.5, sign_pss for PSS (NULL: the key cannot sign PSS, and
 * keys_sign_pss fails saying so). Both get ctx, which is borrowed and must
 * outlive the key. 0 / -1 (reported, EXIT_INTERNAL: the numbers come from
 * our own TPM code).
 */
int keys_from_public_and_signer(const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len, keys_sign_fn sign, keys_sign_fn sign_pss,
    void *ctx, struct key **out);

/* Frees a key, wiping private material. NULL is fine. */
void keys_free(struct key *k);

/* 1 for a software key (private key in memory), 0 for a signer key. */
int keys_is_software(const struct key *k);

/*
 * The private key as PKCS#1 PEM (the "RSA PRIVATE KEY" armour), NUL-terminated,
 * *len = strlen. The caller wipes and frees it with util_free_secret().
 * Software keys only. 0 / -1 (reported).
 */
int keys_private_pem(const struct key *k, char **pem, size_t *len);

/* The modulus (KEYS_MODULUS_LEN bytes, big-endian) and the exponent in its
 * minimal big-endian length (*e_len bytes, here 3: 01 00 01). 0 / -1. */
int keys_public_rsa(const struct key *k, uint8_t n[KEYS_MODULUS_LEN],
    uint8_t e[KEYS_EXPONENT_MAX], size_t *e_len);

/* The public BCRYPT_RSAKEY_BLOB of the key (protocol.md). 0 / -1. */
int keys_bcrypt_blob(const struct key *k, uint8_t out[BCRYPT_BLOB_LEN]);

/* The public key as DER SubjectPublicKeyInfo (rsaEncryption, NULL
 * parameters); caller frees. 0 / -1 (reported). */
int keys_public_der(const struct key *k, uint8_t **der, size_t *len);

/*
 * 1 when spki (DER SubjectPublicKeyInfo, len bytes) holds the public key of
 * k (same modulus and exponent), 0 when it holds another key or does not
 * parse. Reports nothing.
 */
int keys_public_equal(const struct key *k, const uint8_t *spki, size_t len);

/*
 * RSASSA-PKCS1-v1_5 signature of a SHA-256 digest, KEYS_SIG_LEN bytes into
 * sig (sig_size >= KEYS_SIG_LEN). For a signer key the signer is called and
 * its signature checked against the public key; a failure the signer did
 * not report itself (wrong length, a signature that does not verify) is
 * EXIT_TPM. what names the operation in errors ("csr"). 0 / -1 (reported).
 */
int keys_sign_sha256(const struct key *k, const uint8_t hash[32],
    uint8_t *sig, size_t sig_size, size_t *sig_len, const char *what);

/*
 * RSASSA-PSS signature of a SHA-256 digest (MGF1-SHA-256, salt length 32,
 * as TLS 1.3 requires), KEYS_SIG_LEN bytes into sig (sig_size >=
 * KEYS_SIG_LEN). Software keys sign with mbedTLS; signer keys call their
 * PSS signer and the signature is verified with the public key, salt length
 * included (a signer that used another salt length fails, EXIT_TPM). Same
 * errors as keys_sign_sha256. 0 / -1 (reported).
 *
 */
int keys_sign_pss(const struct key *k, const uint8_t hash[32], uint8_t *sig,
    size_t sig_size, size_t *sig_len, const char *what);

/*
 * RSAES-OAEP decryption with SHA-1, MGF1-SHA-1 and an empty label (the
 * PRT's session key, wrapped to the transport key: protocol.md). in_len
 * must be KEYS_MODULUS_LEN. A software key decrypts with mbedTLS; a signer
 * key calls the decrypter set with keys_set_decrypter() (the TPM's
 * TPM2_RSA_Decrypt, tpm_rsa_decrypt_oaep): it returns 0, 1 when the
 * ciphertext does not decrypt under the key (not reported), or -1 after
 * reporting its own failure. A ciphertext that does not decrypt is
 * reported here with code (the caller knows whether it came from the
 * service or from a stored file), naming what.
 * out gets *out_len <= out_size bytes; the caller wipes them. 0 / -1.
 */
typedef int (*keys_decrypt_fn)(void *ctx, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t out_size, size_t *out_len);
/* Gives a signer key its decrypter (ctx borrowed, as the signer's). */
void keys_set_decrypter(struct key *k, keys_decrypt_fn decrypt, void *ctx);
/*
 * A key that only decrypts, through decrypt (a TPM transport key: its
 * scheme allows nothing else): the public key n, e as for
 * keys_from_public_and_signer; signing with it fails. 0 / -1 (reported).
 */
int keys_from_public_and_decrypter(const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len, keys_decrypt_fn decrypt, void *ctx,
    struct key **out);
int keys_decrypt_oaep_sha1(const struct key *k, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t out_size, size_t *out_len, int code,
    const char *what);

/*
 * The key as an mbedtls_pk_context * (void * so that this header stays
 * free of mbedTLS), borrowed, for mbedtls_ssl_conf_own_cert() (TLS client
 * authentication, e.g. from curl's CURLOPT_SSL_CTX_FUNCTION). A software
 * key is a plain RSA key. A signer key is an RSA-alt key whose
 * mbedtls_pk_sign() goes to the PKCS#1 v1.5 signer and whose
 * mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS) - TLS 1.3's CertificateVerify,
 * SHA-256 only - goes to keys_sign_pss() (third_party/patches/mbedtls/0003:
 * unpatched mbedTLS 3.6 does no PSS with RSA-alt keys). A signer's
 * signatures made through it are checked with the public key as
 * keys_sign_sha256/keys_sign_pss check them (PSS failures are reported with
 * the operation "tls"; PKCS#1 v1.5 ones only fail the mbedTLS call). The
 * key must outlive every TLS session that uses it; one thread at a time.
 */
void *keys_mbedtls_pk(const struct key *k);

/*
 * TLS client authentication with a device key and its certificate (leave:
 * the service knows the device by them). http.c stays free of mbedTLS: it
 * calls keys_tls_configure() with the TLS library's configuration of each
 * new connection (an mbedtls_ssl_config *, as void *) through its
 * tls_client hook (http.h).
 *
 * A software key signs as mbedTLS does: PKCS#1 v1.5 in TLS 1.2, RSA-PSS in
 * TLS 1.3. A signer key signs through its signer: PKCS#1 v1.5 of a SHA-256
 * hash in TLS 1.2 (the connection offers only cipher suites whose handshake
 * hash is SHA-256 then), and RSA-PSS in TLS 1.3 only when it has a PSS
 * signer (keys_from_public_and_signer); without one it must stay at TLS
 * 1.2 (keys_tls_v13() says 0). The key goes in as keys_mbedtls_pk().
 */
struct keys_tls;
/* k (borrowed, must outlive the result) and the certificate's DER. 0 / -1. */
int keys_tls_new(struct key *k, const uint8_t *cert_der, size_t cert_len,
    struct keys_tls **out);
/* The http.h tls_client hook: arg is the struct keys_tls. 0 / -1 (reported). */
int keys_tls_configure(void *tls_config, void *arg);
/* 1 when the key can sign a TLS 1.3 CertificateVerify (RSA-PSS). */
int keys_tls_v13(const struct keys_tls *t);
void keys_tls_free(struct keys_tls *t);

#endif
