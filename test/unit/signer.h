/*
 * signer.h - software signers for keys_from_public_and_signer() in tests:
 * ctx is the software key whose private half signs, as the TPM would
 * (soft_signer: PKCS#1 v1.5, soft_signer_pss: PSS).
 */
#ifndef TEST_SIGNER_H
#define TEST_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

static inline int
soft_signer(void *ctx, const uint8_t hash[32], uint8_t *sig, size_t size,
    size_t *len)
{
	return keys_sign_sha256(ctx, hash, sig, size, len, "test signer");
}

static inline int
soft_signer_pss(void *ctx, const uint8_t hash[32], uint8_t *sig, size_t size,
    size_t *len)
{
	return keys_sign_pss(ctx, hash, sig, size, len, "test signer");
}

#endif
