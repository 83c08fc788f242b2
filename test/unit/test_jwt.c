/* test_jwt.c - the token's claims, checked locally before any traffic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "fixture.h"
#include "jwt.h"
#include "log.h"
#include "tap.h"
#include "util.h"

static const char hdr_rs256[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
static time_t now = 1790000000;

/* header.payload.signature with the given JSON parts. */
static char *
token(const char *hdr, const char *payload)
{
	char *h = b64url_encode((const uint8_t *)hdr, strlen(hdr));
	char *p = b64url_encode((const uint8_t *)payload, strlen(payload));
	char *t = util_asprintf("%s.%s.c2lnbmF0dXJl", h, p);

	free(h);
	free(p);
	return t;
}

static char *
claims(long long exp, long long nbf, const char *aud, const char *tid)
{
	return util_asprintf("{\"aud\":%s,\"iss\":\"https://sts.windows.net/x/\","
	    "\"tid\":%s,\"upn\":\"alice@contoso.example\",\"oid\":\"o-1\","
	    "\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld}", aud, tid, exp, nbf, nbf);
}

#define AUD1 "\"urn:ms-drs:enterpriseregistration.windows.net\""
#define AUD2 "\"01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9\""
#define TID "\"8e1c4a6f-0d2b-4c4e-9a51-3f0c2b7d9e10\""

/* Parses and checks; returns the rc and the captured stderr in *err. */
static int
run(const char *tok, struct jwt_claims *c, char **err)
{
	int rc;

	log_reset();
	capture_begin();
	rc = jwt_parse(tok, c);
	if (rc == 0)
		rc = jwt_check(c, now);
	*err = capture_end();
	return rc;
}

static void
expect_fail(const char *name, const char *hdr, const char *payload, const char *msg)
{
	struct jwt_claims c;
	char *t = token(hdr, payload), *err = NULL;
	int rc = run(t, &c, &err);

	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INPUT && has(err, msg) &&
	    lines(err) == 1, err, "%s: refused with '%s'", name, msg);
	jwt_claims_free(&c);
	free(err);
	free(t);
}

static void
expect_raw_fail(const char *name, const char *tok, const char *msg)
{
	struct jwt_claims c;
	char *err = NULL;
	int rc = run(tok, &c, &err);

	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INPUT && has(err, msg) &&
	    lines(err) == 1, err, "%s: refused with '%s'", name, msg);
	jwt_claims_free(&c);
	free(err);
}

int
main(void)
{
	struct jwt_claims c;
	char *p, *t, *err;

	/* A good v1 token: every claim read. */
	p = claims(now + 3600, now - 60, AUD1, TID);
	t = token(hdr_rs256, p);
	CHECK(run(t, &c, &err) == 0, "v1 token accepted");
	CHECK(c.tid && strcmp(c.tid, "8e1c4a6f-0d2b-4c4e-9a51-3f0c2b7d9e10") == 0, "tid read");
	CHECK(c.upn && strcmp(c.upn, "alice@contoso.example") == 0, "upn read");
	CHECK(c.oid && strcmp(c.oid, "o-1") == 0, "oid read");
	CHECK(c.exp == now + 3600 && c.nbf == now - 60, "exp and nbf read");
	CHECK(err && *err == '\0', "a good token prints nothing");
	jwt_claims_free(&c);
	free(err);
	free(t);
	free(p);

	/* v2 audience, an audience array, unique_name instead of upn. */
	p = claims(now + 60, now, AUD2, TID);
	t = token(hdr_rs256, p);
	CHECK(run(t, &c, &err) == 0 && strcmp(c.aud, "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9") == 0,
	    "v2 audience (DRS application id) accepted");
	jwt_claims_free(&c); free(err); free(t); free(p);
	p = claims(now + 60, now, "[\"api://other\"," AUD1 "]", TID);
	t = token(hdr_rs256, p);
	CHECK(run(t, &c, &err) == 0 && strcmp(c.aud, "urn:ms-drs:enterpriseregistration.windows.net") == 0,
	    "an audience array holding the DRS audience is accepted");
	jwt_claims_free(&c); free(err); free(t); free(p);
	t = token(hdr_rs256, "{\"aud\":" AUD1 ",\"tid\":" TID ",\"unique_name\":\"bob@x.example\",\"exp\":1790003600}");
	CHECK(run(t, &c, &err) == 0 && c.upn && strcmp(c.upn, "bob@x.example") == 0,
	    "unique_name stands in for upn");
	jwt_claims_free(&c); free(err); free(t);

	/* The clock-skew allowance, both ways. */
	p = claims(now - JWT_SKEW + 10, now - 7200, AUD1, TID);
	t = token(hdr_rs256, p);
	CHECK(run(t, &c, &err) == 0, "expired by less than the skew allowance: accepted");
	jwt_claims_free(&c); free(err); free(t); free(p);
	p = claims(now + 3600, now + JWT_SKEW - 10, AUD1, TID);
	t = token(hdr_rs256, p);
	CHECK(run(t, &c, &err) == 0, "nbf within the skew allowance: accepted");
	jwt_claims_free(&c); free(err); free(t); free(p);

	/* Each refusal has its own reason. */
	p = claims(now - 3600, now - 7200, AUD1, TID);
	expect_fail("expired", hdr_rs256, p, "token: expired 3600 s ago");
	free(p);
	p = claims(now + 7200, now + 3600, AUD1, TID);
	expect_fail("not yet valid", hdr_rs256, p, "token: not valid before 3600 s from now");
	free(p);
	p = claims(now + 3600, now, "\"https://graph.microsoft.com\"", TID);
	expect_fail("wrong audience", hdr_rs256, p,
	    "token: audience 'https://graph.microsoft.com' is not the Device Registration Service");
	free(p);
	p = claims(now + 3600, now, "[\"a\",\"b\"]", TID);
	expect_fail("audience array without DRS", hdr_rs256, p, "token: audience 'a' is not");
	free(p);
	expect_fail("no tid", hdr_rs256, "{\"aud\":" AUD1 ",\"exp\":1790003600}",
	    "token: no tenant id (claim 'tid')");
	expect_fail("no exp", hdr_rs256, "{\"aud\":" AUD1 ",\"tid\":" TID "}",
	    "token: no expiry (claim 'exp')");
	expect_fail("no aud", hdr_rs256, "{\"tid\":" TID ",\"exp\":1790003600}",
	    "token: no audience (claim 'aud')");
	expect_fail("exp not a number", hdr_rs256,
	    "{\"aud\":" AUD1 ",\"tid\":" TID ",\"exp\":\"soon\"}",
	    "token: claim 'exp' is not a time");
	expect_fail("alg none", "{\"alg\":\"none\"}", "{\"aud\":" AUD1 "}",
	    "token: unsigned (alg none)");
	expect_fail("payload not an object", hdr_rs256, "[1,2]",
	    "token: payload: not a JSON object");
	expect_fail("payload not JSON", hdr_rs256, "{\"aud\":",
	    "token: payload: JSON ends early");
	expect_raw_fail("two parts", "eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ",
	    "token: not a JWT (expected three dot-separated parts)");
	expect_raw_fail("five parts (JWE)", "a.b.c.d.e", "token: an encrypted JWE");
	expect_raw_fail("bad base64url", "eyJhbGciOiJSUzI1NiJ9.e+J=.c2ln",
	    "token: payload: not valid base64");
	expect_raw_fail("a space inside", "eyJhbGciOiJSUzI1NiJ9 .a.b",
	    "token: contains a space or control character at offset 20");
	expect_raw_fail("empty signature", "eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.",
	    "token: unsigned");
	return tap_done();
}
