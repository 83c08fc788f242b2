/* kdf.c - SP 800-108 counter-mode KDF of MS-OAPXBC, versions 1 and 2. */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "crypto_sym.h"
#include "kdf.h"
#include "log.h"
#include "util.h"

static const char label[] = "AzureAD-SecureConversation";
#define LABEL_LEN	(sizeof(label) - 1)

/* The counter, the label, its 00 separator, then the context and L. */
#define FIXED_MAX	(4 + LABEL_LEN + 1 + KDF_CTX_MAX + 4)

/* SP 800-108 counter mode, one HMAC-SHA256 block (L = 256 bits). */
static int
derive(const uint8_t key[KDF_KEY_LEN], const uint8_t *context,
    size_t context_len, uint8_t out[KDF_KEY_LEN])
{
	static const uint8_t counter[4] = { 0, 0, 0, 1 };
	static const uint8_t bits[4] = { 0, 0, 1, 0 };	/* L = 256 */
	uint8_t in[FIXED_MAX];
	size_t n = 0;
	int rc;

	memcpy(in, counter, 4);
	n += 4;
	memcpy(in + n, label, LABEL_LEN);
	n += LABEL_LEN;
	in[n++] = 0;
	memcpy(in + n, context, context_len);
	n += context_len;
	memcpy(in + n, bits, 4);
	n += 4;
	rc = crypto_hmac_sha256(key, KDF_KEY_LEN, in, n, out);
	util_wipe(in, sizeof(in));
	return rc;
}

static int
ctx_ok(size_t ctx_len)
{
	if (ctx_len < KDF_CTX_MIN || ctx_len > KDF_CTX_MAX)
		return log_fail(EXIT_INTERNAL, "key derivation: a ctx of %zu "
		    "bytes (%d to %d expected)", ctx_len, KDF_CTX_MIN,
		    KDF_CTX_MAX);
	return 0;
}

int
kdf_derive_v1(const uint8_t key[KDF_KEY_LEN], const uint8_t *ctx,
    size_t ctx_len, uint8_t out[KDF_KEY_LEN])
{
	if (ctx_ok(ctx_len) != 0)
		return -1;
	return derive(key, ctx, ctx_len, out);
}

int
kdf_derive_v2(const uint8_t key[KDF_KEY_LEN], const uint8_t *ctx,
    size_t ctx_len, const void *payload, size_t payload_len,
    uint8_t out[KDF_KEY_LEN])
{
	uint8_t hash[CRYPTO_SHA256_LEN], *buf;
	int rc;

	if (ctx_ok(ctx_len) != 0)
		return -1;
	if (payload_len > KDF_PAYLOAD_MAX)
		return log_fail(EXIT_INTERNAL, "key derivation: a payload of "
		    "%zu bytes (at most %d)", payload_len, KDF_PAYLOAD_MAX);
	if ((buf = malloc(ctx_len + payload_len + 1)) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	memcpy(buf, ctx, ctx_len);
	if (payload_len > 0)
		memcpy(buf + ctx_len, payload, payload_len);
	rc = crypto_sha256(buf, ctx_len + payload_len, hash);
	util_free_secret_buf(buf, ctx_len + payload_len + 1);
	if (rc == 0)
		rc = derive(key, hash, sizeof(hash), out);
	util_wipe(hash, sizeof(hash));
	return rc;
}
