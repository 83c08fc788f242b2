/* test_b64.c - base64 and base64url: RFC 4648 vectors, strict decoding. */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "fixture.h"
#include "log.h"
#include "tap.h"

static const struct {
	const char *plain, *std, *url;
} rfc[] = {
	/* RFC 4648 section 10 */
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

/* Decoding that must fail: the message must name what and the reason. */
static void
bad(int url, const char *text, const char *reason)
{
	uint8_t *out = (uint8_t *)"unchanged";
	size_t len = 99;
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = url ? b64url_decode(text, strlen(text), EXIT_NETWORK, "RawBody",
	    &out, &len) : b64_decode(text, strlen(text), EXIT_NETWORK,
	    "RawBody", &out, &len);
	err = capture_end();
	CHECK_ERR(rc == -1 && out == NULL && len == 0 &&
	    log_exit_code() == EXIT_NETWORK && lines(err) == 1 &&
	    has(err, "drsjoin: RawBody: not valid base64: ") &&
	    has(err, reason), err, "%s \"%s\" rejected: %s",
	    url ? "base64url" : "base64", escaped(text), reason);
	free(err);
}

int
main(void)
{
	uint8_t all[256], *out;
	size_t i, len;
	char *enc;
	int rc;

	for (i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		size_t n = strlen(rfc[i].plain);

		enc = b64_encode((const uint8_t *)rfc[i].plain, n);
		CHECK(enc != NULL && strcmp(enc, rfc[i].std) == 0 &&
		    b64_encoded_len(n) == strlen(rfc[i].std),
		    "base64 encode RFC 4648 \"%s\"", rfc[i].plain);
		free(enc);
		enc = b64url_encode((const uint8_t *)rfc[i].plain, n);
		CHECK(enc != NULL && strcmp(enc, rfc[i].url) == 0,
		    "base64url encode RFC 4648 \"%s\"", rfc[i].plain);
		free(enc);
		rc = b64_decode(rfc[i].std, strlen(rfc[i].std), EXIT_INPUT, "t",
		    &out, &len);
		CHECK(rc == 0 && len == n && memcmp(out, rfc[i].plain, n) == 0 &&
		    out[len] == 0, "base64 decode RFC 4648 \"%s\"", rfc[i].std);
		free(out);
		rc = b64url_decode(rfc[i].url, strlen(rfc[i].url), EXIT_INPUT,
		    "t", &out, &len);
		CHECK(rc == 0 && len == n && memcmp(out, rfc[i].plain, n) == 0,
		    "base64url decode RFC 4648 \"%s\"", rfc[i].url);
		free(out);
	}

	/* The two alphabets differ in 62 and 63. */
	{
		static const uint8_t hi[] = { 0xfb, 0xff, 0xbf };

		enc = b64_encode(hi, sizeof(hi));
		CHECK(enc != NULL && strcmp(enc, "+/+/") == 0,
		    "base64 uses + and /");
		free(enc);
		enc = b64url_encode(hi, sizeof(hi));
		CHECK(enc != NULL && strcmp(enc, "-_-_") == 0,
		    "base64url uses - and _");
		free(enc);
	}

	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)(255 - i);
	for (i = 0; i <= sizeof(all); i += 85) {
		size_t n = i == 255 ? 256 : i;
		int ok = 1;

		enc = b64_encode(all, n);
		ok = enc != NULL && b64_decode(enc, strlen(enc), EXIT_INPUT,
		    "t", &out, &len) == 0 && len == n &&
		    memcmp(out, all, n) == 0;
		if (enc != NULL && ok)
			free(out);
		free(enc);
		enc = b64url_encode(all, n);
		ok = ok && enc != NULL && strchr(enc, '=') == NULL &&
		    b64url_decode(enc, strlen(enc), EXIT_INPUT, "t", &out,
		    &len) == 0 && len == n && memcmp(out, all, n) == 0;
		if (ok)
			free(out);
		free(enc);
		CHECK(ok, "round trip of %zu bytes (all byte values)", n);
	}

	/* Strict decoding. */
	bad(0, "Zg=", "length not a multiple of 4");
	bad(0, "Zg", "length not a multiple of 4");
	bad(0, "Zm9*", "invalid character at offset 3");
	bad(0, "Zm9 ", "invalid character at offset 3");
	bad(0, "Zm9v\nYg==", "invalid character at offset 4");
	bad(0, "Zm9v\r\nYg", "invalid character at offset 4");
	bad(0, "Zg=\n", "invalid character at offset 3");
	bad(0, "Zm9v=", "length not a multiple of 4");
	bad(0, "Zm9-", "invalid character at offset 3");
	bad(0, "Zm9_", "invalid character at offset 3");
	bad(0, "Zg==Zg==", "misplaced padding at offset 2");
	bad(0, "Z=g=", "misplaced padding at offset 1");
	bad(0, "Z===", "too much padding at offset 1");
	bad(0, "====", "too much padding at offset 0");
	bad(0, "Zh==", "non-zero unused bits");
	bad(0, "Zm9=", "non-zero unused bits");
	bad(0, "Zm\xc3\xa9", "invalid character at offset 2");
	bad(1, "Zg==", "padding in base64url at offset 2");
	bad(1, "Zm9+", "invalid character at offset 3");
	bad(1, "Zm9/", "invalid character at offset 3");
	bad(1, "Zm9vY", "impossible length");
	bad(1, "Zh", "non-zero unused bits");

	/* A NUL inside the given length is an invalid character too. */
	log_reset();
	capture_begin();
	rc = b64_decode("Zm\0v", 4, EXIT_INPUT, "token", &out, &len);
	free(capture_end());
	CHECK(rc == -1 && log_exit_code() == EXIT_INPUT,
	    "base64 with a NUL inside rejected, code of the caller");

	return tap_done();
}
