/*
 * crypto_sym.h - the symmetric primitives of the PRT protocol (MS-OAPXBC):
 * HMAC-SHA256 (the key derivation, HS256 signatures), AES-256-CBC and
 * AES-256-GCM (the encrypted answers). Thin: the protocol rules (padding,
 * which IV means which mode) are jwe.c's and kdf.c's. No mbedTLS type
 * appears here; crypto_sym.c is the only user of mbedTLS's AES, GCM and HMAC.
 *
 * Every function wipes what it held of a key before it returns.
 */
#ifndef DRS_CRYPTO_SYM_H
#define DRS_CRYPTO_SYM_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_HMAC_SHA256_LEN	32
#define CRYPTO_AES256_KEY_LEN	32
#define CRYPTO_AES_BLOCK	16
#define CRYPTO_GCM_IV_LEN	12
#define CRYPTO_GCM_TAG_LEN	16

/* HMAC-SHA256 of data under key. 0 / -1 (reported, EXIT_INTERNAL). */
int crypto_hmac_sha256(const uint8_t *key, size_t key_len, const void *data,
    size_t len, uint8_t out[CRYPTO_HMAC_SHA256_LEN]);

/*
 * AES-256-CBC decryption of len bytes (a multiple of 16) with iv, no
 * padding removed: out gets len bytes (out may not overlap in). 0 / -1
 * (reported, EXIT_INTERNAL).
 */
int crypto_aes256_cbc_decrypt(const uint8_t key[CRYPTO_AES256_KEY_LEN],
    const uint8_t iv[CRYPTO_AES_BLOCK], const uint8_t *in, size_t len,
    uint8_t *out);

/*
 * AES-256-GCM decryption of len bytes with a 12-byte iv, the additional
 * data aad and a 16-byte tag: out gets len bytes. 0 when the tag verifies,
 * 1 when it does not (not reported; out is wiped), -1 on any other failure
 * (reported, EXIT_INTERNAL).
 */
int crypto_aes256_gcm_decrypt(const uint8_t key[CRYPTO_AES256_KEY_LEN],
    const uint8_t iv[CRYPTO_GCM_IV_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t len, const uint8_t tag[CRYPTO_GCM_TAG_LEN],
    uint8_t *out);

/* 1 when the n bytes at a and b are equal, in time independent of them. */
int crypto_equal(const void *a, const void *b, size_t n);

#endif
