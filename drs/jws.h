/*
 * jws.h - the signed JWTs drsjoin sends in the PRT protocol (MS-OAPXBC;
 * protocol.md, "PRT request", "Using the PRT", "Browser SSO cookie"):
 *
 *  - RS256, signed by the device key (RSASSA-PKCS1-v1_5, SHA-256; a TPM
 *    key signs in the TPM), header {"alg":"RS256","typ":"JWT","x5c":...}
 *    with the device certificate as standard padded base64 of its DER, as
 *    a bare string or an array of one (JWS_X5C_ARRAY): the PRT request.
 *  - HS256, signed with the key derived from the session key (kdf.h),
 *    header {"alg":"HS256"[,"typ":"JWT"],"ctx":"<standard base64>"
 *    [,"kdf_ver":2]}: the token request with the PRT (JWS_TYP) and the
 *    SSO cookie (no typ). With JWS_KDF_V2 the key is derived with v2 from
 *    ctx and the payload's bytes as given here (the bytes the base64url
 *    part carries).
 *
 * The payload is the caller's JSON text, sent byte for byte. The result
 * holds the PRT or a credential: NUL-terminated, freed with
 * util_free_secret(). Every derived key and signing input is wiped.
 */
#ifndef DRS_JWS_H
#define DRS_JWS_H

#include <stddef.h>
#include <stdint.h>

#include "kdf.h"

#define JWS_TYP		0x1	/* "typ":"JWT" in an HS256 header */
#define JWS_KDF_V2	0x2	/* "kdf_ver":2 (HS256: the key is v2's) */
#define JWS_X5C_ARRAY	0x4	/* RS256: x5c as an array of one */

/* The most payload bytes a JWT carries here. */
#define JWS_PAYLOAD_MAX	KDF_PAYLOAD_MAX

struct key;

/*
 * HS256 with a fresh random ctx of KDF_CTX_LEN bytes. flags: JWS_TYP,
 * JWS_KDF_V2. 0 / -1 (reported).
 */
int jws_hs256(const uint8_t session_key[KDF_KEY_LEN], const char *payload,
    size_t payload_len, int flags, char **out);
/* The same with the caller's ctx (KDF_CTX_MIN..KDF_CTX_MAX bytes). */
int jws_hs256_ctx(const uint8_t session_key[KDF_KEY_LEN], const uint8_t *ctx,
    size_t ctx_len, const char *payload, size_t payload_len, int flags,
    char **out);

/*
 * RS256 signed by dk, with the certificate cert (DER) in x5c. flags:
 * JWS_X5C_ARRAY, JWS_KDF_V2. Signing failures are the key's (keys.h).
 * 0 / -1 (reported).
 */
int jws_rs256_x5c(const struct key *dk, const uint8_t *cert,
    size_t cert_len, const char *payload, size_t payload_len, int flags,
    char **out);

#endif
