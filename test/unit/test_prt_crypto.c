/*
 * test_prt_crypto.c - the crypto layer of the PRT protocol (MS-OAPXBC):
 * the key derivation (kdf.c), the HS256 and RS256 JWTs (jws.c), the
 * session key unwrap and the encrypted answers (jwe.c, keys.c's RSA-OAEP),
 * against known answers computed by Python (data/make-prt-vectors.py) and
 * the MS-OAPXBC vector of kanidm compact-jwt (data/prt_ms_*), and every
 * malformed JWE shape the generator makes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "fixture.h"
#include "jwe.h"
#include "jws.h"
#include "kdf.h"
#include "keys.h"
#include "log.h"
#include "signer.h"
#include "tap.h"
#include "util.h"

#define MAX_VECTORS 128

static char *vectors;
static const char *vec_name[MAX_VECTORS], *vec_value[MAX_VECTORS];
static size_t nvec;

static void
load_vectors(void)
{
	size_t len;
	char *line, *sp;

	vectors = (char *)fixture_read("prt_vectors.txt", &len);
	for (line = vectors; line != NULL && *line; ) {
		char *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		if (*line != '#' && (sp = strchr(line, ' ')) != NULL &&
		    nvec < MAX_VECTORS) {
			*sp = '\0';
			vec_name[nvec] = line;
			vec_value[nvec++] = sp + 1;
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
}

/* The vector name; "" (and a failed check) when it is missing. */
static const char *
vec(const char *name)
{
	size_t i;

	for (i = 0; i < nvec; i++)
		if (strcmp(vec_name[i], name) == 0)
			return vec_value[i];
	CHECK(0, "vector %s is in prt_vectors.txt", name);
	return "";
}

/* The hex vector name into out (n bytes exactly). */
static int
vec_hex(const char *name, uint8_t *out, size_t n)
{
	const char *h = vec(name);
	size_t i;
	unsigned b;

	if (strlen(h) != 2 * n)
		return 0;
	for (i = 0; i < n; i++) {
		if (sscanf(h + 2 * i, "%2x", &b) != 1)
			return 0;
		out[i] = (uint8_t)b;
	}
	return 1;
}

static uint8_t session_key[KDF_KEY_LEN];

static void
test_kdf(void)
{
	uint8_t ctx24[24], ctx32[32], want[KDF_KEY_LEN], got[KDF_KEY_LEN];
	const char *p = vec("kdf_payload");
	char *err;
	int rc;

	vec_hex("kdf_ctx24", ctx24, sizeof(ctx24));
	vec_hex("kdf_ctx32", ctx32, sizeof(ctx32));
	CHECK(vec_hex("kdf_v1_ctx24", want, sizeof(want)) &&
	    kdf_derive_v1(session_key, ctx24, 24, got) == 0 &&
	    memcmp(got, want, sizeof(got)) == 0, "kdf: v1, 24-byte ctx");
	CHECK(vec_hex("kdf_v1_ctx32", want, sizeof(want)) &&
	    kdf_derive_v1(session_key, ctx32, 32, got) == 0 &&
	    memcmp(got, want, sizeof(got)) == 0, "kdf: v1, 32-byte ctx");
	CHECK(vec_hex("kdf_v2_ctx32", want, sizeof(want)) &&
	    kdf_derive_v2(session_key, ctx32, 32, p, strlen(p), got) == 0 &&
	    memcmp(got, want, sizeof(got)) == 0, "kdf: v2, ctx and payload");
	CHECK(vec_hex("kdf_v2_ctx24_empty", want, sizeof(want)) &&
	    kdf_derive_v2(session_key, ctx24, 24, "", 0, got) == 0 &&
	    memcmp(got, want, sizeof(got)) == 0, "kdf: v2, empty payload");
	/* v2 hashes the bytes: one byte more is another key. */
	CHECK(kdf_derive_v2(session_key, ctx32, 32, p, strlen(p) - 1, got) ==
	    0 && memcmp(got, want, sizeof(got)) != 0,
	    "kdf: v2 depends on every payload byte");

	log_reset();
	capture_begin();
	rc = kdf_derive_v1(session_key, ctx32, KDF_CTX_MIN - 1, got);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INTERNAL &&
	    has(err, "a ctx of 15 bytes (16 to 64 expected)"), err,
	    "kdf: a ctx below 16 bytes is refused");
	free(err);
	log_reset();
	capture_begin();
	rc = kdf_derive_v2(session_key, ctx32, KDF_CTX_MAX + 1, "", 0, got);
	err = capture_end();
	CHECK_ERR(rc == -1 && has(err, "a ctx of 65 bytes"), err,
	    "kdf: a ctx above 64 bytes is refused");
	free(err);
	log_reset();
}

static void
hs256_case(const char *name, const uint8_t *ctx, size_t ctx_len,
    const char *payload, int flags)
{
	char *jwt = NULL;
	int rc = jws_hs256_ctx(session_key, ctx, ctx_len, payload,
	    strlen(payload), flags, &jwt);

	CHECK(rc == 0 && jwt != NULL && strcmp(jwt, vec(name)) == 0,
	    "jws: HS256 %s", name);
	if (jwt != NULL && strcmp(jwt, vec(name)) != 0)
		fprintf(stderr, "  got  %s\n  want %s\n", jwt, vec(name));
	util_free_secret(jwt);
}

static void
test_hs256(void)
{
	uint8_t ctx24[24], ctx32[32], *hdr = NULL;
	char *a = NULL, *b = NULL;
	size_t n = 0;
	const char *p = vec("kdf_payload"), *c = vec("cookie_payload");

	vec_hex("kdf_ctx24", ctx24, sizeof(ctx24));
	vec_hex("kdf_ctx32", ctx32, sizeof(ctx32));
	hs256_case("hs256_v1_typ", ctx32, 32, p, JWS_TYP);
	hs256_case("hs256_v2_typ", ctx32, 32, p, JWS_TYP | JWS_KDF_V2);
	hs256_case("hs256_v1_cookie", ctx24, 24, c, 0);
	hs256_case("hs256_v2_cookie", ctx24, 24, c, JWS_KDF_V2);

	/* A fresh ctx of 32 bytes each time, in standard padded base64. */
	CHECK(jws_hs256(session_key, p, strlen(p), JWS_TYP, &a) == 0 &&
	    jws_hs256(session_key, p, strlen(p), JWS_TYP, &b) == 0 &&
	    strcmp(a, b) != 0, "jws: HS256 with a random ctx differs each time");
	if (a != NULL && strchr(a, '.') != NULL &&
	    b64url_decode(a, (size_t)(strchr(a, '.') - a), EXIT_INTERNAL,
	    "test", &hdr, &n) == 0)
		CHECK(n == strlen("{\"alg\":\"HS256\",\"typ\":\"JWT\","
		    "\"ctx\":\"\"}") + 44 && strstr((char *)hdr, "=\"}") != NULL,
		    "jws: the random ctx is 32 bytes, padded base64 (%s)", hdr);
	else
		CHECK(0, "jws: the random ctx's header decodes");
	free(hdr);
	util_free_secret(a);
	util_free_secret(b);
}

static void
test_rs256(struct key *dk, struct key *signer)
{
	size_t cert_len = 0;
	uint8_t *cert = fixture_read("cert.der", &cert_len);
	const char *p = vec("rs256_payload");
	char *jwt = NULL;

	CHECK(jws_rs256_x5c(dk, cert, cert_len, p, strlen(p), 0, &jwt) == 0 &&
	    strcmp(jwt, vec("rs256_string")) == 0, "jws: RS256, x5c a string");
	util_free_secret(jwt);
	CHECK(jws_rs256_x5c(dk, cert, cert_len, p, strlen(p), JWS_X5C_ARRAY,
	    &jwt) == 0 && strcmp(jwt, vec("rs256_array")) == 0,
	    "jws: RS256, x5c an array of one");
	util_free_secret(jwt);
	CHECK(jws_rs256_x5c(dk, cert, cert_len, p, strlen(p),
	    JWS_X5C_ARRAY | JWS_KDF_V2, &jwt) == 0 &&
	    strcmp(jwt, vec("rs256_array_v2")) == 0,
	    "jws: RS256 with kdf_ver 2");
	util_free_secret(jwt);
	CHECK(jws_rs256_x5c(signer, cert, cert_len, p, strlen(p), 0,
	    &jwt) == 0 && strcmp(jwt, vec("rs256_string")) == 0,
	    "jws: RS256 by a signer key (as the TPM's) is the same");
	util_free_secret(jwt);
	free(cert);
}

static void
answer_ok(const char *name, const char *want_name)
{
	const char *j = vec(name), *want = vec(want_name);
	char *plain = NULL, *err;
	size_t n = 0;
	int rc;

	log_reset();
	capture_begin();
	rc = jwe_decrypt_answer(j, strlen(j), session_key, EXIT_NETWORK,
	    "token", &plain, &n);
	err = capture_end();
	CHECK_ERR(rc == 0 && n == strlen(want) && memcmp(plain, want, n) == 0 &&
	    plain[n] == '\0' && *err == '\0', err, "jwe: answer %s decrypts",
	    name);
	util_free_secret_buf(plain, n + 1);
	free(err);
}

/* Decrypting with the session key 00..1f (its derivation is tested). */
static void
test_answers(void)
{
	answer_ok("jwe_cbc", "answer_plain");
	answer_ok("jwe_gcm", "answer_plain");
	answer_ok("jwe_cbc_block", "block_plain");
	answer_ok("jwe_cbc_ctx16", "answer_plain");
	answer_ok("jwe_cbc_ctx64", "answer_plain");
	answer_ok("jwe_cbc_extra", "answer_plain");
}

/* A decrypter over a software key, for a signer key (as the TPM's). */
static int
soft_decrypt(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t out_size, size_t *out_len)
{
	return keys_decrypt_oaep_sha1(ctx, in, in_len, out, out_size, out_len,
	    EXIT_TPM, "test decrypter");
}

static void
test_session_key(struct key *tk, struct key *signer, struct key *soft)
{
	const char *j = vec("session_jwe");
	uint8_t got[JWE_SESSION_KEY_LEN];
	char *err;
	int rc;

	memset(got, 0, sizeof(got));
	CHECK(jwe_session_key(j, strlen(j), tk, EXIT_NETWORK, "prt", got) == 0 &&
	    memcmp(got, session_key, sizeof(got)) == 0,
	    "jwe: session_key_jwe unwraps with the software transport key");

	log_reset();
	capture_begin();
	rc = jwe_session_key(j, strlen(j), signer, EXIT_NETWORK, "prt", got);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INTERNAL &&
	    has(err, "prt: this key cannot decrypt"), err,
	    "jwe: a signer key without a decrypter says so");
	free(err);
	log_reset();
	keys_set_decrypter(signer, soft_decrypt, soft);
	memset(got, 0, sizeof(got));
	CHECK(jwe_session_key(j, strlen(j), signer, EXIT_NETWORK, "prt",
	    got) == 0 && memcmp(got, session_key, sizeof(got)) == 0,
	    "jwe: session_key_jwe unwraps through a signer key's decrypter");
	util_wipe(got, sizeof(got));
}

/* A decrypter that finds every ciphertext bad, as the TPM may. */
static int
refusing_decrypt(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t out_size, size_t *out_len)
{
	(void)ctx;
	(void)in;
	(void)in_len;
	(void)out;
	(void)out_size;
	*out_len = 0;
	return 1;
}

/* A decrypter-only key (a TPM transport key's shape). */
static void
test_decrypter_key(struct key *soft)
{
	uint8_t n[KEYS_MODULUS_LEN], e[KEYS_EXPONENT_MAX], got[32], hash[32];
	uint8_t sig[KEYS_SIG_LEN];
	const char *j = vec("session_jwe");
	struct key *tk = NULL, *bad_tk = NULL;
	size_t e_len = 0, sig_len = 0;
	char *err;
	int rc;

	CHECK(keys_public_rsa(soft, n, e, &e_len) == 0 &&
	    keys_from_public_and_decrypter(n, sizeof(n), e, e_len, soft_decrypt,
	    soft, &tk) == 0 && jwe_session_key(j, strlen(j), tk, EXIT_NETWORK,
	    "prt", got) == 0 && memcmp(got, session_key, sizeof(got)) == 0,
	    "jwe: session_key_jwe unwraps with a decrypter-only key");
	log_reset();
	capture_begin();
	rc = keys_from_public_and_decrypter(n, sizeof(n), e, e_len,
	    refusing_decrypt, NULL, &bad_tk) == 0 ?
	    jwe_session_key(j, strlen(j), bad_tk, EXIT_NETWORK, "prt", got) : 0;
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_NETWORK && lines(err) == 1 &&
	    has(err, "prt: the wrapped key does not decrypt with the transport "
	    "key (RSA-OAEP, in the TPM)"), err,
	    "jwe: a ciphertext the decrypter refuses is the caller's error");
	free(err);
	log_reset();
	memset(hash, 1, sizeof(hash));
	capture_begin();
	rc = tk != NULL ? keys_sign_sha256(tk, hash, sig, sizeof(sig), &sig_len,
	    "jwt") : 0;
	err = capture_end();
	CHECK_ERR(rc == -1 && has(err, "jwt: this key cannot sign"), err,
	    "keys: a decrypter-only key does not sign");
	free(err);
	log_reset();
	util_wipe(got, sizeof(got));
	keys_free(tk);
	keys_free(bad_tk);
}

/* The kanidm compact-jwt vector: a session key and an answer of the service. */
static void
test_ms_vector(void)
{
	size_t klen = 0, slen = 0, alen = 0, n = 0;
	char *pem = (char *)fixture_read("prt_ms_key.pem", &klen);
	char *sj = (char *)fixture_read("prt_ms_session_key.jwe", &slen);
	char *aj = (char *)fixture_read("prt_ms_answer.jwe", &alen);
	uint8_t want[JWE_SESSION_KEY_LEN], got[JWE_SESSION_KEY_LEN];
	uint8_t hash[CRYPTO_SHA256_LEN], want_hash[CRYPTO_SHA256_LEN];
	struct key *k = NULL;
	char *plain = NULL;

	CHECK(pem != NULL && keys_load_pem(pem, klen, "prt_ms_key.pem", &k) == 0,
	    "ms vector: the transport key loads");
	CHECK(k != NULL && vec_hex("ms_session_key", want, sizeof(want)) &&
	    jwe_session_key(sj, slen, k, EXIT_NETWORK, "prt", got) == 0 &&
	    memcmp(got, want, sizeof(got)) == 0,
	    "ms vector: session_key_jwe unwraps to the published session key");
	CHECK(jwe_decrypt_answer(aj, alen, got, EXIT_NETWORK, "token", &plain,
	    &n) == 0 && (size_t)atoi(vec("ms_plain_len")) == n &&
	    crypto_sha256(plain, n, hash) == 0 &&
	    vec_hex("ms_plain_sha256", want_hash, sizeof(want_hash)) &&
	    memcmp(hash, want_hash, sizeof(hash)) == 0 &&
	    strncmp(plain, "{\"token_type\":\"Bearer\"", 22) == 0,
	    "ms vector: the service's answer (16-byte IV, AES-CBC) decrypts to "
	    "the published plaintext");
	util_free_secret_buf(plain, n + 1);
	keys_free(k);
	free(pem);
	free(sj);
	free(aj);
}

/* Each malformed JWE of the generator and the message it must get. */
static const struct {
	const char *name;
	int session;	/* a session_key_jwe, else an answer */
	const char *msg;
} bad[] = {
	{ "parts4", 0, "token: not a compact JWE (4 parts, 5 expected)" },
	{ "parts6", 0, "token: not a compact JWE (more than 5 parts)" },
	{ "hdr_padded", 0, "token: header: not valid base64" },
	{ "hdr_std_alphabet", 0, "token: header: not valid base64" },
	{ "hdr_not_json", 0, "token: header: not valid JSON" },
	{ "hdr_array", 0, "token: header: not a JSON object" },
	{ "hdr_dup_alg", 0, "token: header: member 'alg' appears twice" },
	{ "hdr_nul_key", 0, "token: header: holds an escaped NUL" },
	{ "hdr_zip", 0, "token: header: 'zip' is not supported" },
	{ "hdr_crit", 0, "token: header: 'crit' is not supported" },
	{ "hdr_big", 0, "token: header: 1101 bytes, at most 1024" },
	{ "alg_wrong", 0, "token: header: alg is 'RSA-OAEP', dir expected" },
	{ "alg_missing", 0, "token: header: alg is missing" },
	{ "alg_number", 0, "token: header: alg is not a string" },
	{ "enc_wrong", 0, "token: header: enc is 'A128GCM', A256GCM expected" },
	{ "ctx_missing", 0, "token: header: ctx is missing" },
	{ "ctx_short", 0, "token: header: ctx is 15 bytes, 16 to 64 expected" },
	{ "ctx_long", 0, "token: header: ctx is 65 bytes, 16 to 64 expected" },
	{ "ctx_url_alphabet", 0, "token: header: ctx: not valid base64" },
	{ "ctx_unpadded", 0, "token: header: ctx: not valid base64" },
	{ "ctx_number", 0, "token: header: ctx is not a string" },
	{ "ek_not_empty", 0, "token: encrypted key: not empty (alg dir)" },
	{ "iv_13", 0, "token: IV is 13 bytes (16: AES-CBC, 12: AES-GCM)" },
	{ "iv_8", 0, "token: IV is 8 bytes, 12 to 16 expected" },
	{ "cbc_tag", 0, "token: tag is 16 bytes, 0 expected" },
	{ "cbc_partial_block", 0, "token: ciphertext: 20 bytes are not whole "
	    "AES blocks" },
	{ "cbc_empty", 0, "token: ciphertext is 0 bytes, 16 to 262144 expected" },
	{ "pad_zero", 0, "token: does not decrypt with the session key (bad "
	    "AES-CBC padding)" },
	{ "pad_17", 0, "(bad AES-CBC padding)" },
	{ "pad_mixed", 0, "(bad AES-CBC padding)" },
	{ "pad_short_run", 0, "(bad AES-CBC padding)" },
	{ "cbc_wrong_key", 0, "(bad AES-CBC padding)" },
	{ "gcm_tag_flipped", 0, "token: does not decrypt with the session key "
	    "(AES-GCM tag mismatch)" },
	{ "gcm_other_aad", 0, "(AES-GCM tag mismatch)" },
	{ "gcm_wrong_key", 0, "(AES-GCM tag mismatch)" },
	{ "gcm_no_tag", 0, "token: tag is 0 bytes, 16 expected" },
	{ "ct_padded", 0, "token: ciphertext: not valid base64" },
	{ "iv_space", 0, "token: IV: not valid base64" },
	{ "ct_trailing_bits", 0, "token: ciphertext: not valid base64" },
	{ "sess_alg_dir", 1, "prt: header: alg is 'dir', RSA-OAEP expected" },
	{ "sess_enc_cbc", 1, "prt: header: enc is 'A256CBC-HS512', A256GCM "
	    "expected" },
	{ "sess_ek_255", 1, "prt: encrypted key is 255 bytes, 256 expected" },
	{ "sess_ek_empty", 1, "prt: encrypted key is 0 bytes, 256 expected" },
	{ "sess_other_key", 1, "prt: the wrapped key does not decrypt with the "
	    "transport key (RSA-OAEP)" },
	{ "sess_key_16", 1, "prt: the session key is 16 bytes, 32 expected" },
	{ "sess_ek_past_modulus", 1, "prt: the wrapped key does not decrypt" },
	{ "sess_iv_big", 1, "prt: IV is 1025 bytes, 0 to 1024 expected" },
};

/* Fails with EXIT_NETWORK, one line holding msg, nothing handed out. */
static void
refused(const char *name, const char *text, size_t len, int session,
    struct key *tk, const char *msg)
{
	uint8_t key[JWE_SESSION_KEY_LEN];
	char *plain = (char *)1, *err;
	size_t n = 1;
	int rc;

	log_reset();
	capture_begin();
	if (session)
		rc = jwe_session_key(text, len, tk, EXIT_NETWORK, "prt", key);
	else
		rc = jwe_decrypt_answer(text, len, session_key, EXIT_NETWORK,
		    "token", &plain, &n);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_NETWORK &&
	    has(err, msg) && lines(err) == 1 &&
	    (session || (plain == NULL && n == 0)), err,
	    "jwe: %s is refused: %s", name, msg);
	free(err);
	log_reset();
}

static void
test_malformed(struct key *tk)
{
	size_t i, count = 0;
	char *big;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char vname[64];
		const char *v;

		snprintf(vname, sizeof(vname), "bad_%s", bad[i].name);
		v = vec(vname);
		refused(bad[i].name, v, strlen(v), bad[i].session, tk,
		    bad[i].msg);
	}
	/* Every malformed vector of the generator has its case above. */
	for (i = 0; i < nvec; i++)
		count += strncmp(vec_name[i], "bad_", 4) == 0;
	CHECK(count == sizeof(bad) / sizeof(bad[0]),
	    "jwe: every malformed vector is tested (%zu of %zu)",
	    sizeof(bad) / sizeof(bad[0]), count);

	refused("empty", "", 0, 0, tk, "token: empty, a compact JWE expected");
	refused("empty session", "", 0, 1, tk, "prt: empty");
	big = malloc(JWE_TEXT_MAX + 2);
	memset(big, 'A', JWE_TEXT_MAX + 1);
	big[JWE_TEXT_MAX + 1] = '\0';
	refused("too long", big, JWE_TEXT_MAX + 1, 0, tk,
	    "token: 262145 bytes, at most 262144");
	free(big);
	/* A header string in a message is redacted before it is cut. */
	{
		const char *jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1cG4iO"
		    "iJhbGljZUBleGFtcGxlIiwidGlkIjoieCJ9.c2lnbmF0dXJlLXNpZ25h"
		    "dHVyZS1zaWduYXR1cmU";
		char *hj = util_asprintf("{\"alg\":\"%s\",\"enc\":"
		    "\"A256GCM\",\"ctx\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
		    jwt);
		char *h64 = b64url_encode((const uint8_t *)hj, strlen(hj));
		char *t = util_asprintf("%s..AAAAAAAAAAAAAAAAAAAAAA."
		    "AAAAAAAAAAAAAAAAAAAAAA.", h64);
		char *err;
		char *plain = NULL;
		size_t n = 0;

		log_reset();
		capture_begin();
		jwe_decrypt_answer(t, strlen(t), session_key, EXIT_NETWORK,
		    "token", &plain, &n);
		err = capture_end();
		CHECK_ERR(has(err, "token: header: alg is '") &&
		    has(err, "', dir expected") && !has(err, "eyJhbGci") &&
		    !has(err, "eyJ1cG4i"), err,
		    "jwe: a token in a header value is not shown");
		free(err);
		free(t);
		free(h64);
		free(hj);
		log_reset();
	}
	/* A NUL inside: the length counts, not the terminator. */
	refused("NUL inside", "a\0b.c.d.e.f", 11, 0, tk,
	    "token: header: not valid base64");
}

int
main(void)
{
	size_t len = 0;
	char *pem;
	struct key *dk = NULL, *signer = NULL;
	uint8_t n[KEYS_MODULUS_LEN], e[KEYS_EXPONENT_MAX];
	size_t e_len = 0;

	load_vectors();
	CHECK(nvec > 60, "prt_vectors.txt holds the vectors (%zu)", nvec);
	CHECK(vec_hex("session_key", session_key, sizeof(session_key)),
	    "the session key of the vectors");
	pem = (char *)fixture_read("key.pem", &len);
	CHECK(pem != NULL && keys_load_pem(pem, len, "key.pem", &dk) == 0,
	    "key.pem loads");
	free(pem);
	if (dk == NULL)
		return tap_done();
	CHECK(keys_public_rsa(dk, n, e, &e_len) == 0 &&
	    keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    NULL, dk, &signer) == 0, "a signer key over key.pem");

	test_kdf();
	test_hs256();
	test_rs256(dk, signer);
	test_answers();
	test_session_key(dk, signer, dk);
	test_decrypter_key(dk);
	/* The key decrypted with OAEP: it still signs PKCS#1 v1.5. */
	test_rs256(dk, signer);
	test_ms_vector();
	test_malformed(dk);

	keys_free(signer);
	keys_free(dk);
	free(vectors);
	crypto_cleanup();
	return tap_done();
}
