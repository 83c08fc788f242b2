/*
 * jwe.h - the compact JWEs of the PRT protocol (MS-OAPXBC; protocol.md,
 * "Session key" and "Using the PRT"), read as hostile input.
 *
 * Two shapes:
 *  - JWE_SESSION_KEY, the PRT answer's session_key_jwe: header alg
 *    "RSA-OAEP", enc "A256GCM"; the encrypted key is RSA-OAEP (SHA-1,
 *    MGF1-SHA-1, empty label) of the 32-byte session key under the
 *    transport key. Its other parts are checked only as base64url within
 *    bounds: no public client checks them and drsjoin does not either.
 *  - JWE_ANSWER, an answer encrypted with the session key: header alg
 *    "dir", enc "A256GCM", ctx (standard base64, KDF_CTX_MIN..KDF_CTX_MAX
 *    bytes), an empty encrypted key. The key is the KDF v1 derivation of
 *    the session key with ctx (also when the request used v2). A 16-byte IV
 *    means what the service sends: AES-256-CBC with PKCS#7 padding and an
 *    empty tag; a 12-byte IV means AES-256-GCM with a 16-byte tag and the
 *    header part's ASCII as additional data.
 *
 * Parsing is strict: exactly five parts, base64url without padding (b64.h),
 * every part bounded, the header a JSON object of at most JWE_HEADER_MAX
 * bytes with no member twice and neither "zip" nor "crit" (drsjoin
 * implements neither). Errors name what, the part and the reason, with the
 * caller's code (EXIT_NETWORK for an answer of the service); no secret is
 * ever in a message.
 */
#ifndef DRS_JWE_H
#define DRS_JWE_H

#include <stddef.h>
#include <stdint.h>

#include "kdf.h"

#define JWE_TEXT_MAX	(256 * 1024)	/* the whole compact JWE */
#define JWE_HEADER_MAX	1024		/* the decoded header */
#define JWE_SESSION_KEY_LEN	KDF_KEY_LEN

enum jwe_shape { JWE_SESSION_KEY, JWE_ANSWER };

struct jwe;
struct key;

/*
 * Parses len bytes of text (no NUL needed) as a JWE of the shape. 0 / -1
 * (reported with code: "<what>: <part>: <reason>").
 */
int jwe_parse(const char *text, size_t len, enum jwe_shape shape, int code,
    const char *what, struct jwe **out);
void jwe_free(struct jwe *j);

/*
 * The session key of a session_key_jwe, unwrapped with the transport key
 * tk (software, or a TPM key with its decrypter: keys.h). It must be
 * JWE_SESSION_KEY_LEN bytes. The caller wipes key. 0 / -1 (reported).
 */
int jwe_session_key(const char *text, size_t len, const struct key *tk,
    int code, const char *what, uint8_t key[JWE_SESSION_KEY_LEN]);

/*
 * Decrypts an encrypted answer with the session key: *plain gets
 * *plain_len bytes and a NUL after them (not counted). A wrong padding or
 * tag is "<what>: does not decrypt with the session key (...)". The caller
 * frees *plain with util_free_secret_buf(*plain, *plain_len + 1). Every
 * derived key and intermediate buffer is wiped. 0 / -1 (reported).
 */
int jwe_decrypt_answer(const char *text, size_t len,
    const uint8_t session_key[JWE_SESSION_KEY_LEN], int code,
    const char *what, char **plain, size_t *plain_len);

#endif
