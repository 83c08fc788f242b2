/*
 * kdf.h - the key derivation of the PRT protocol (MS-OAPXBC; protocol.md,
 * "Key derivation"): NIST SP 800-108 in counter mode with HMAC-SHA256, one
 * block, label "AzureAD-SecureConversation":
 *
 *   derived = HMAC-SHA256(session_key,
 *       00000001 || label || 00 || context || 00000100)
 *
 * v1: context = ctx, the random bytes sent in the JWT header's "ctx" (the
 * service's answers always use v1). v2 (header "kdf_ver": 2): context =
 * SHA-256(ctx || the JWT payload's bytes exactly as sent, before base64url).
 *
 * The session key and the derived key are secrets: the caller wipes them.
 */
#ifndef DRS_KDF_H
#define DRS_KDF_H

#include <stddef.h>
#include <stdint.h>

#define KDF_KEY_LEN	32	/* the session key, and the derived key */
/* The ctx drsjoin accepts: 24 bytes in roadtx and the service's answers,
 * 32 in libhimmelblau. */
#define KDF_CTX_MIN	16
#define KDF_CTX_MAX	64
#define KDF_CTX_LEN	32	/* the ctx drsjoin sends */
/* The most payload bytes kdf_derive_v2 hashes (a request JWT's claims). */
#define KDF_PAYLOAD_MAX	(256 * 1024)

/*
 * v1: out = the key derived from key with context ctx (ctx_len in
 * KDF_CTX_MIN..KDF_CTX_MAX, else EXIT_INTERNAL: the caller checks outside
 * input first). 0 / -1 (reported).
 */
int kdf_derive_v1(const uint8_t key[KDF_KEY_LEN], const uint8_t *ctx,
    size_t ctx_len, uint8_t out[KDF_KEY_LEN]);
/*
 * v2: the same with context SHA-256(ctx || payload), payload_len <=
 * KDF_PAYLOAD_MAX. Every copy of the payload (it holds the PRT) is wiped.
 * 0 / -1 (reported).
 */
int kdf_derive_v2(const uint8_t key[KDF_KEY_LEN], const uint8_t *ctx,
    size_t ctx_len, const void *payload, size_t payload_len,
    uint8_t out[KDF_KEY_LEN]);

#endif
