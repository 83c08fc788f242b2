/*
 * jwe.c - the compact JWEs of MS-OAPXBC: the session key wrapped to the
 * transport key, and the answers encrypted with a key derived from it.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto_sym.h"
#include "json.h"
#include "jwe.h"
#include "kdf.h"
#include "keys.h"
#include "log.h"
#include "redact.h"
#include "util.h"

/* Bounds of the parts no one checks (session_key_jwe's IV, content, tag). */
#define LOOSE_PART_MAX	1024

struct part {
	uint8_t *b;
	size_t len;
};

struct jwe {
	enum jwe_shape shape;
	char *header_text;	/* the header part as received: GCM's AAD */
	size_t header_len;
	uint8_t ctx[KDF_CTX_MAX];
	size_t ctx_len;
	struct part ek, iv, ct, tag;
};

static const char *const part_names[5] = {
	"header", "encrypted key", "IV", "ciphertext", "tag"
};

void
jwe_free(struct jwe *j)
{
	if (j == NULL)
		return;
	free(j->header_text);
	free(j->ek.b);
	free(j->iv.b);
	util_free_secret_buf(j->ct.b, j->ct.len + 1);
	free(j->tag.b);
	util_wipe(j, sizeof(*j));
	free(j);
}

/* Splits text at its dots into exactly five parts. */
static int
split(const char *text, size_t len, const char *p[5], size_t n[5], int code,
    const char *what)
{
	size_t i, k = 0, start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && text[i] != '.')
			continue;
		if (k == 5)
			return log_fail(code, "%s: not a compact JWE (more than "
			    "5 parts)", what);
		p[k] = text + start;
		n[k++] = i - start;
		start = i + 1;
	}
	if (k != 5)
		return log_fail(code, "%s: not a compact JWE (%zu parts, 5 "
		    "expected)", what, k);
	return 0;
}

#define SHOWN_MAX	32	/* bytes of a header string shown in a message */

/* A header string for a message: redacted before the cut (a service may
 * echo a token), then cut to SHOWN_MAX bytes. */
static void
shown(char *dst, size_t dstsz, const char *v)
{
	size_t n = 0;
	char *r = redact_text(v, strlen(v), &n);

	if (r == NULL)
		snprintf(dst, dstsz, "(not shown)");
	else
		snprintf(dst, dstsz, "%.*s%s", (int)(n < SHOWN_MAX ? n : SHOWN_MAX),
		    r, n > SHOWN_MAX ? "..." : "");
	free(r);
}

/* Every member once, and nothing drsjoin would have to honour. */
static int
header_members_ok(const struct json *h, int code, const char *what)
{
	const struct json *m, *m2;
	const char *key;
	char buf[SHOWN_MAX * 4 + 8];

	for (m = json_first(h); m != NULL; m = json_next(m)) {
		key = json_key(m);
		for (m2 = json_next(m); m2 != NULL; m2 = json_next(m2))
			if (strcmp(key, json_key(m2)) == 0) {
				shown(buf, sizeof(buf), key);
				return log_fail(code, "%s: header: member "
				    "'%s' appears twice", what, buf);
			}
		if (strcmp(key, "zip") == 0 || strcmp(key, "crit") == 0)
			return log_fail(code, "%s: header: '%s' is not "
			    "supported", what, key);
	}
	return 0;
}

/* Member key of h must be the string want. */
static int
header_is(const struct json *h, const char *key, const char *want, int code,
    const char *what)
{
	const char *v = json_get_string(h, key);
	char buf[SHOWN_MAX * 4 + 8];

	if (v == NULL)
		return log_fail(code, "%s: header: %s is %s", what, key,
		    json_get(h, key) == NULL ? "missing" : "not a string");
	if (strcmp(v, want) != 0) {
		shown(buf, sizeof(buf), v);
		return log_fail(code, "%s: header: %s is '%s', %s expected",
		    what, key, buf, want);
	}
	return 0;
}

/* The answer's ctx: standard padded base64 of KDF_CTX_MIN..MAX bytes. */
static int
header_ctx(struct jwe *j, const struct json *h, int code, const char *what)
{
	const char *v = json_get_string(h, "ctx");
	char label[160];
	uint8_t *raw = NULL;
	size_t n;

	if (v == NULL)
		return log_fail(code, "%s: header: ctx is %s", what,
		    json_get(h, "ctx") == NULL ? "missing" : "not a string");
	snprintf(label, sizeof(label), "%s: header: ctx", what);
	if (b64_decode(v, strlen(v), code, label, &raw, &n) < 0)
		return -1;
	if (n < KDF_CTX_MIN || n > KDF_CTX_MAX) {
		free(raw);
		return log_fail(code, "%s: header: ctx is %zu bytes, %d to %d "
		    "expected", what, n, KDF_CTX_MIN, KDF_CTX_MAX);
	}
	memcpy(j->ctx, raw, n);
	j->ctx_len = n;
	free(raw);
	return 0;
}

static int
parse_header(struct jwe *j, const char *b64, size_t b64_len, int code,
    const char *what)
{
	char label[160], why[128];
	uint8_t *raw = NULL;
	size_t n;
	struct json *h = NULL;
	int rc = -1;

	snprintf(label, sizeof(label), "%s: header", what);
	if (b64url_decode(b64, b64_len, code, label, &raw, &n) < 0)
		return -1;
	if (n > JWE_HEADER_MAX) {
		log_fail(code, "%s: header: %zu bytes, at most %d", what, n,
		    JWE_HEADER_MAX);
		goto out;
	}
	/* cJSON cuts a key at an escaped NUL: "alg\u0000x" would read as alg. */
	if (memmem(raw, n, "\\u0000", 6) != NULL) {
		log_fail(code, "%s: header: holds an escaped NUL", what);
		goto out;
	}
	if ((h = json_parse_why((const char *)raw, n, why, sizeof(why))) == NULL) {
		log_fail(code, "%s: header: %s", what, why);
		goto out;
	}
	if (!json_is_object(h)) {
		log_fail(code, "%s: header: not a JSON object", what);
		goto out;
	}
	if (header_members_ok(h, code, what) != 0 ||
	    header_is(h, "alg", j->shape == JWE_ANSWER ? "dir" : "RSA-OAEP",
	    code, what) != 0 ||
	    header_is(h, "enc", "A256GCM", code, what) != 0)
		goto out;
	if (j->shape == JWE_ANSWER && header_ctx(j, h, code, what) != 0)
		goto out;
	rc = 0;
out:
	json_free(h);
	free(raw);
	return rc;
}

/* Decodes part i into *p and checks its length against min..max. */
static int
decode_part(const char *b64, size_t b64_len, int i, size_t min, size_t max,
    struct part *p, int code, const char *what)
{
	char label[160];

	snprintf(label, sizeof(label), "%s: %s", what, part_names[i]);
	if (b64url_decode(b64, b64_len, code, label, &p->b, &p->len) < 0) {
		p->b = NULL;
		return -1;
	}
	if (p->len < min || p->len > max) {
		if (min == max)
			return log_fail(code, "%s: %s is %zu bytes, %zu "
			    "expected", what, part_names[i], p->len, min);
		return log_fail(code, "%s: %s is %zu bytes, %zu to %zu "
		    "expected", what, part_names[i], p->len, min, max);
	}
	return 0;
}

/* The parts of session_key_jwe: a wrapped key of the modulus's length. */
static int
parse_session_parts(struct jwe *j, const char *p[5], const size_t n[5],
    int code, const char *what)
{
	if (decode_part(p[1], n[1], 1, KEYS_MODULUS_LEN, KEYS_MODULUS_LEN,
	    &j->ek, code, what) != 0 ||
	    decode_part(p[2], n[2], 2, 0, LOOSE_PART_MAX, &j->iv, code,
	    what) != 0 ||
	    decode_part(p[3], n[3], 3, 0, LOOSE_PART_MAX, &j->ct, code,
	    what) != 0 ||
	    decode_part(p[4], n[4], 4, 0, LOOSE_PART_MAX, &j->tag, code,
	    what) != 0)
		return -1;
	return 0;
}

/* The parts of an answer: no key; CBC (16-byte IV) or GCM (12-byte IV). */
static int
parse_answer_parts(struct jwe *j, const char *p[5], const size_t n[5],
    int code, const char *what)
{
	if (n[1] != 0)
		return log_fail(code, "%s: encrypted key: not empty (alg dir)",
		    what);
	if (decode_part(p[2], n[2], 2, CRYPTO_GCM_IV_LEN, CRYPTO_AES_BLOCK,
	    &j->iv, code, what) != 0)
		return -1;
	if (j->iv.len == CRYPTO_AES_BLOCK) {
		if (decode_part(p[4], n[4], 4, 0, 0, &j->tag, code, what) != 0 ||
		    decode_part(p[3], n[3], 3, CRYPTO_AES_BLOCK, JWE_TEXT_MAX,
		    &j->ct, code, what) != 0)
			return -1;
		if (j->ct.len % CRYPTO_AES_BLOCK != 0)
			return log_fail(code, "%s: ciphertext: %zu bytes are "
			    "not whole AES blocks", what, j->ct.len);
		return 0;
	}
	if (j->iv.len != CRYPTO_GCM_IV_LEN)
		return log_fail(code, "%s: IV is %zu bytes (16: AES-CBC, 12: "
		    "AES-GCM)", what, j->iv.len);
	return decode_part(p[4], n[4], 4, CRYPTO_GCM_TAG_LEN,
	    CRYPTO_GCM_TAG_LEN, &j->tag, code, what) != 0 ||
	    decode_part(p[3], n[3], 3, 0, JWE_TEXT_MAX, &j->ct, code,
	    what) != 0 ? -1 : 0;
}

int
jwe_parse(const char *text, size_t len, enum jwe_shape shape, int code,
    const char *what, struct jwe **out)
{
	const char *p[5];
	size_t n[5];
	struct jwe *j;
	int rc;

	*out = NULL;
	if (len == 0)
		return log_fail(code, "%s: empty, a compact JWE expected", what);
	if (len > JWE_TEXT_MAX)
		return log_fail(code, "%s: %zu bytes, at most %d", what, len,
		    JWE_TEXT_MAX);
	if (split(text, len, p, n, code, what) != 0)
		return -1;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	j->shape = shape;
	rc = parse_header(j, p[0], n[0], code, what);
	if (rc == 0 && (j->header_text = malloc(n[0] + 1)) == NULL)
		rc = log_fail(EXIT_INTERNAL, "out of memory");
	if (rc == 0) {
		memcpy(j->header_text, p[0], n[0]);
		j->header_text[n[0]] = '\0';
		j->header_len = n[0];
		rc = shape == JWE_ANSWER ?
		    parse_answer_parts(j, p, n, code, what) :
		    parse_session_parts(j, p, n, code, what);
	}
	if (rc != 0) {
		jwe_free(j);
		return -1;
	}
	*out = j;
	return 0;
}

int
jwe_session_key(const char *text, size_t len, const struct key *tk,
    int code, const char *what, uint8_t key[JWE_SESSION_KEY_LEN])
{
	struct jwe *j = NULL;
	uint8_t buf[KEYS_MODULUS_LEN];
	size_t n = 0;
	int rc = -1;

	if (jwe_parse(text, len, JWE_SESSION_KEY, code, what, &j) != 0)
		return -1;
	if (keys_decrypt_oaep_sha1(tk, j->ek.b, j->ek.len, buf, sizeof(buf),
	    &n, code, what) != 0)
		goto out;
	if (n != JWE_SESSION_KEY_LEN) {
		log_fail(code, "%s: the session key is %zu bytes, %d expected",
		    what, n, JWE_SESSION_KEY_LEN);
		goto out;
	}
	memcpy(key, buf, JWE_SESSION_KEY_LEN);
	rc = 0;
out:
	util_wipe(buf, sizeof(buf));
	jwe_free(j);
	return rc;
}

/*
 * The length of the plaintext under PKCS#7 padding (1 to 16 bytes, each
 * holding the count), or 0 when the padding is wrong. len >= 16. The
 * bytes are compared without branching on them.
 */
static size_t
unpad(const uint8_t *buf, size_t len)
{
	unsigned pad = buf[len - 1], bad = 0, i;

	bad |= (unsigned)(pad == 0) | (unsigned)(pad > CRYPTO_AES_BLOCK);
	for (i = 0; i < CRYPTO_AES_BLOCK; i++)
		bad |= (unsigned)(i < pad) & (unsigned)(buf[len - 1 - i] != pad);
	return bad ? 0 : len - pad + 1;	/* + 1: 0 stays free for "bad" */
}

/* Decrypts j's ciphertext into out (j->ct.len + 1 bytes). */
static int
decrypt(const struct jwe *j, const uint8_t key[KDF_KEY_LEN], uint8_t *out,
    size_t *out_len, int code, const char *what)
{
	size_t n;
	int rc;

	if (j->iv.len == CRYPTO_GCM_IV_LEN) {
		rc = crypto_aes256_gcm_decrypt(key, j->iv.b,
		    (const uint8_t *)j->header_text, j->header_len, j->ct.b,
		    j->ct.len, j->tag.b, out);
		if (rc == 1)
			return log_fail(code, "%s: does not decrypt with the "
			    "session key (AES-GCM tag mismatch)", what);
		*out_len = j->ct.len;
		return rc;
	}
	if (crypto_aes256_cbc_decrypt(key, j->iv.b, j->ct.b, j->ct.len,
	    out) != 0)
		return -1;
	if ((n = unpad(out, j->ct.len)) == 0)
		return log_fail(code, "%s: does not decrypt with the session "
		    "key (bad AES-CBC padding)", what);
	*out_len = n - 1;
	return 0;
}

int
jwe_decrypt_answer(const char *text, size_t len,
    const uint8_t session_key[JWE_SESSION_KEY_LEN], int code,
    const char *what, char **plain, size_t *plain_len)
{
	struct jwe *j = NULL;
	uint8_t key[KDF_KEY_LEN], *buf = NULL;
	size_t n = 0, size = 0;
	int rc = -1;

	*plain = NULL;
	*plain_len = 0;
	if (jwe_parse(text, len, JWE_ANSWER, code, what, &j) != 0)
		return -1;
	if (kdf_derive_v1(session_key, j->ctx, j->ctx_len, key) != 0)
		goto out;
	size = j->ct.len + 1;
	if ((buf = malloc(size)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	if (decrypt(j, key, buf, &n, code, what) != 0)
		goto out;
	util_wipe(buf + n, size - n);	/* the padding, and the NUL */
	*plain = (char *)buf;
	*plain_len = n;
	buf = NULL;
	rc = 0;
out:
	util_wipe(key, sizeof(key));
	util_free_secret_buf(buf, size);
	jwe_free(j);
	return rc;
}
