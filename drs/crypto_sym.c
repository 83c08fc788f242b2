/*
 * crypto_sym.c - HMAC-SHA256, AES-256-CBC and AES-256-GCM over mbedTLS,
 * for the PRT protocol (kdf.c, jwe.c, jws.c).
 */
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/gcm.h>
#include <mbedtls/md.h>

#include "crypto.h"
#include "crypto_sym.h"
#include "log.h"

#if !defined(MBEDTLS_AES_C) || !defined(MBEDTLS_CIPHER_MODE_CBC) || \
    !defined(MBEDTLS_GCM_C) || !defined(MBEDTLS_MD_C)
#error "mbedTLS lacks AES, CBC, GCM or HMAC (third_party/config/mbedtls.conf)"
#endif

int
crypto_hmac_sha256(const uint8_t *key, size_t key_len, const void *data,
    size_t len, uint8_t out[CRYPTO_HMAC_SHA256_LEN])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	int ret;

	if (md == NULL)
		return log_fail(EXIT_INTERNAL, "HMAC-SHA256: no SHA-256");
	/* mbedtls_md_hmac zeroizes its context, padded key included. */
	ret = mbedtls_md_hmac(md, key, key_len, data, len, out);
	if (ret != 0)
		return crypto_fail(EXIT_INTERNAL, ret, "HMAC-SHA256");
	return 0;
}

int
crypto_aes256_cbc_decrypt(const uint8_t key[CRYPTO_AES256_KEY_LEN],
    const uint8_t iv[CRYPTO_AES_BLOCK], const uint8_t *in, size_t len,
    uint8_t *out)
{
	mbedtls_aes_context aes;
	uint8_t chain[CRYPTO_AES_BLOCK];
	int ret;

	if (len % CRYPTO_AES_BLOCK != 0)
		return log_fail(EXIT_INTERNAL, "AES-256-CBC: %zu bytes are not "
		    "whole blocks", len);
	memcpy(chain, iv, sizeof(chain));	/* mbedTLS updates the IV */
	mbedtls_aes_init(&aes);
	ret = mbedtls_aes_setkey_dec(&aes, key, 256);
	if (ret == 0 && len > 0)
		ret = mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, len,
		    chain, in, out);
	mbedtls_aes_free(&aes);		/* zeroizes the key schedule */
	if (ret != 0)
		return crypto_fail(EXIT_INTERNAL, ret, "AES-256-CBC");
	return 0;
}

int
crypto_aes256_gcm_decrypt(const uint8_t key[CRYPTO_AES256_KEY_LEN],
    const uint8_t iv[CRYPTO_GCM_IV_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t len, const uint8_t tag[CRYPTO_GCM_TAG_LEN],
    uint8_t *out)
{
	mbedtls_gcm_context gcm;
	int ret;

	mbedtls_gcm_init(&gcm);
	ret = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
	if (ret == 0)
		ret = mbedtls_gcm_auth_decrypt(&gcm, len, iv, CRYPTO_GCM_IV_LEN,
		    aad, aad_len, tag, CRYPTO_GCM_TAG_LEN, in, out);
	mbedtls_gcm_free(&gcm);		/* zeroizes the key schedule */
	if (ret == MBEDTLS_ERR_GCM_AUTH_FAILED)
		return 1;		/* mbedTLS wiped out */
	if (ret != 0)
		return crypto_fail(EXIT_INTERNAL, ret, "AES-256-GCM");
	return 0;
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return mbedtls_ct_memcmp(a, b, n) == 0;
}
