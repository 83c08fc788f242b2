/* jws.c - the HS256 and RS256 JWTs of the PRT protocol. */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "crypto_sym.h"
#include "jws.h"
#include "kdf.h"
#include "keys.h"
#include "log.h"
#include "util.h"

/* The certificate drsjoin sends: its own, a few KB of DER. */
#define CERT_MAX	(24 * 1024)

/*
 * "<b64url(header)>.<b64url(payload)>", the signing input, with room for
 * "." and sig_room more characters. NULL (reported).
 */
static char *
signing_input(const char *header, const char *payload, size_t payload_len,
    size_t sig_room, size_t *len)
{
	char *h = NULL, *p = NULL, *s = NULL;
	size_t hl, pl;

	if (payload_len > JWS_PAYLOAD_MAX) {
		log_fail(EXIT_INTERNAL, "jwt: a payload of %zu bytes (at most "
		    "%d)", payload_len, JWS_PAYLOAD_MAX);
		return NULL;
	}
	h = b64url_encode((const uint8_t *)header, strlen(header));
	p = b64url_encode((const uint8_t *)payload, payload_len);
	if (h == NULL || p == NULL)
		goto out;
	hl = strlen(h);
	pl = strlen(p);
	if ((s = malloc(hl + 1 + pl + 1 + sig_room + 1)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(s, h, hl);
	s[hl] = '.';
	memcpy(s + hl + 1, p, pl + 1);
	*len = hl + 1 + pl;
out:
	free(h);
	util_free_secret(p);
	return s;
}

/* Appends "." and the base64url signature to the signing input s. */
static int
append_sig(char *s, size_t len, const uint8_t *sig, size_t sig_len)
{
	char *b = b64url_encode(sig, sig_len);

	if (b == NULL)
		return -1;
	s[len] = '.';
	memcpy(s + len + 1, b, strlen(b) + 1);
	free(b);
	return 0;
}

int
jws_hs256_ctx(const uint8_t session_key[KDF_KEY_LEN], const uint8_t *ctx,
    size_t ctx_len, const char *payload, size_t payload_len, int flags,
    char **out)
{
	uint8_t key[KDF_KEY_LEN], mac[CRYPTO_HMAC_SHA256_LEN];
	char *ctx64 = NULL, *header = NULL, *s = NULL;
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	if (ctx_len < KDF_CTX_MIN || ctx_len > KDF_CTX_MAX)
		return log_fail(EXIT_INTERNAL, "jwt: a ctx of %zu bytes",
		    ctx_len);
	if ((ctx64 = b64_encode(ctx, ctx_len)) == NULL)
		return -1;
	header = util_asprintf("{\"alg\":\"HS256\",%s\"ctx\":\"%s\"%s}",
	    flags & JWS_TYP ? "\"typ\":\"JWT\"," : "", ctx64,
	    flags & JWS_KDF_V2 ? ",\"kdf_ver\":2" : "");
	if (header == NULL)
		goto out;
	if ((s = signing_input(header, payload, payload_len,
	    b64_encoded_len(sizeof(mac)), &len)) == NULL)
		goto out;
	if ((flags & JWS_KDF_V2 ?
	    kdf_derive_v2(session_key, ctx, ctx_len, payload, payload_len,
	    key) :
	    kdf_derive_v1(session_key, ctx, ctx_len, key)) != 0)
		goto out;
	if (crypto_hmac_sha256(key, sizeof(key), s, len, mac) != 0 ||
	    append_sig(s, len, mac, sizeof(mac)) != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	util_wipe(key, sizeof(key));
	util_wipe(mac, sizeof(mac));
	util_free_secret(s);
	free(header);
	free(ctx64);
	return rc;
}

int
jws_hs256(const uint8_t session_key[KDF_KEY_LEN], const char *payload,
    size_t payload_len, int flags, char **out)
{
	uint8_t ctx[KDF_CTX_LEN];

	*out = NULL;
	if (crypto_random(ctx, sizeof(ctx)) != 0)
		return -1;
	return jws_hs256_ctx(session_key, ctx, sizeof(ctx), payload,
	    payload_len, flags, out);
}

int
jws_rs256_x5c(const struct key *dk, const uint8_t *cert, size_t cert_len,
    const char *payload, size_t payload_len, int flags, char **out)
{
	uint8_t hash[CRYPTO_SHA256_LEN], sig[KEYS_SIG_LEN];
	char *cert64 = NULL, *header = NULL, *s = NULL;
	size_t len = 0, sig_len = 0;
	int rc = -1;

	*out = NULL;
	if (cert_len == 0 || cert_len > CERT_MAX)
		return log_fail(EXIT_INTERNAL, "jwt: a certificate of %zu "
		    "bytes", cert_len);
	if ((cert64 = b64_encode(cert, cert_len)) == NULL)
		return -1;
	header = util_asprintf("{\"alg\":\"RS256\",\"typ\":\"JWT\","
	    "\"x5c\":%s\"%s\"%s%s}", flags & JWS_X5C_ARRAY ? "[" : "", cert64,
	    flags & JWS_X5C_ARRAY ? "]" : "",
	    flags & JWS_KDF_V2 ? ",\"kdf_ver\":2" : "");
	if (header == NULL)
		goto out;
	if ((s = signing_input(header, payload, payload_len,
	    b64_encoded_len(sizeof(sig)), &len)) == NULL)
		goto out;
	if (crypto_sha256(s, len, hash) != 0 ||
	    keys_sign_sha256(dk, hash, sig, sizeof(sig), &sig_len, "jwt") != 0 ||
	    append_sig(s, len, sig, sig_len) != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	util_free_secret(s);
	free(header);
	free(cert64);
	return rc;
}
