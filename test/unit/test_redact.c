/* test_redact.c - what -v may show: headers, URLs, form and JSON bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "redact.h"
#include "tap.h"

/* A JWT-shaped token (header.payload.signature, base64url). */
#define JWT "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJ1cm46bXMtZHJz" \
	"OmVudGVycHJpc2VyZWdpc3RyYXRpb24ud2luZG93cy5uZXQifQ.c2lnbmF0dXJl-_x"
#define NONCE "AwABAAEAAADnfolhJpSnRYB1SVj-Hgd8AgDs_wUA9P_fXN2J7fkP4vcsXQZK"
#define REFRESH "0.ARoAv4j5cvGGr0GRqy180BHbR1ZPjKGoWStEoiG5Rz3cQNYoAAA"

/* Checks the output of one redaction exactly, and that secret is absent. */
static void
expect(const char *name, char *got, const char *want, const char *secret)
{
	int ok = got != NULL && strcmp(got, want) == 0 &&
	    (secret == NULL || strstr(got, secret) == NULL);

	CHECK(ok, "%s", name);
	if (!ok)
		fprintf(stderr, "  got:  %s\n  want: %s\n",
		    got != NULL ? got : "(NULL)", want);
	free(got);
}

#define HDR(name, line, want, secret) \
	expect(name, redact_header(line, strlen(line)), want, secret)
#define URL(name, url, want, secret) \
	expect(name, redact_url(url, strlen(url)), want, secret)
#define FORM(name, body, want, secret) \
	expect(name, redact_form(body, strlen(body)), want, secret)
#define JSON(name, body, want, secret) \
	expect(name, redact_json(body, strlen(body)), want, secret)
#define BODY(name, ct, body, want, secret) \
	expect(name, redact_body(ct, body, strlen(body)), want, secret)

static void
keys(void)
{
	static const char *const secret[] = {
		"token", "access_token", "refresh_token", "id_token",
		"Refresh_Token", "PrimaryRefreshToken", "nonce", "Nonce",
		"request_nonce", "client_secret", "password", "assertion",
		"client_assertion", "Value", "value", "device_code",
		"PreAuthorizedJoinChallenge", "preauthorizedjoinchallenge",
		"Authorization", "authorization", "prt", "session_key_jwe",
		"x-ms-RefreshTokenCredential", "credential",
	};
	static const char *const open[] = {
		"token_type", "expires_in", "code", "message", "Message",
		"TraceId", "ErrorType", "user_code", "client_id", "scope",
		"grant_type", "api-version", "Values", "Thumbprint", "RawBody",
		"", "tokens",
	};
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (!redact_is_secret_key(secret[i], strlen(secret[i]), 0)) {
			bad++;
			fprintf(stderr, "  not secret: %s\n", secret[i]);
		}
	CHECK(bad == 0, "secret keys are secret");
	bad = 0;
	for (i = 0; i < sizeof(open) / sizeof(open[0]); i++)
		if (redact_is_secret_key(open[i], strlen(open[i]), 0)) {
			bad++;
			fprintf(stderr, "  secret: %s\n", open[i]);
		}
	CHECK(bad == 0, "other keys are not secret in JSON");
	CHECK(redact_is_secret_key("code", 4, 1) &&
	    redact_is_secret_key("Code", 4, 1) &&
	    !redact_is_secret_key("code", 4, 0),
	    "\"code\" is secret in a query or form, not in JSON");
	CHECK(redact_is_secret_key("request", 7, 1) &&
	    !redact_is_secret_key("request", 7, 0) &&
	    !redact_is_secret_key("request_id", 10, 1),
	    "\"request\" (the PRT protocol's signed JWT) is secret in a form, not in JSON");
	CHECK(redact_is_secret_key("tokenX", 5, 0) &&
	    !redact_is_secret_key("tokenX", 6, 0),
	    "the key length is respected (\"token\" of \"tokenX\")");
}

static void
sanitize(void)
{
	char out[64];
	size_t n;

	n = redact_sanitize(out, sizeof(out), "a\r\n\tb\x01\xc3\xa9\x7f", 9, 0);
	CHECK(n == 9 && strcmp(out, "a\\r\\n\\tb\\x01\\xc3\\xa9\\x7f") == 0,
	    "sanitize: escapes control and non-ASCII bytes");
	n = redact_sanitize(out, sizeof(out), "a \r\n\t b\n", 8, 1);
	CHECK(n == 8 && strcmp(out, "a b ") == 0,
	    "sanitize with spaces: white space runs become one space");
	n = redact_sanitize(out, 6, "ab\x01zz", 5, 0);
	CHECK(n == 2 && strcmp(out, "ab") == 0,
	    "sanitize: stops before an escape that would not fit, says so");
	n = redact_sanitize(out, 1, "abc", 3, 0);
	CHECK(n == 0 && out[0] == '\0', "sanitize: a one-byte buffer");
	n = redact_sanitize(out, sizeof(out), "a\0b", 3, 0);
	CHECK(n == 3 && strcmp(out, "a\\x00b") == 0, "sanitize: NUL bytes");
}

static void
headers(void)
{
	HDR("Authorization: Bearer token redacted, scheme kept",
	    "Authorization: Bearer " JWT "\r\n",
	    "Authorization: Bearer <redacted>", JWT);
	HDR("authorization in lower case",
	    "authorization: bearer abc.def", "authorization: bearer <redacted>",
	    "abc.def");
	HDR("Authorization without a scheme",
	    "Authorization: s3cr3t", "Authorization: <redacted>", "s3cr3t");
	HDR("Proxy-Authorization: Basic",
	    "Proxy-Authorization: Basic dXNlcjpwYXNz",
	    "Proxy-Authorization: Basic <redacted>", "dXNlcjpwYXNz");
	HDR("an empty Authorization stays empty", "Authorization: ",
	    "Authorization: ", NULL);
	HDR("Cookie", "Cookie: x=1; y=2", "Cookie: <redacted>", "x=1");
	HDR("Set-Cookie", "Set-Cookie: fpc=AqR2; path=/",
	    "Set-Cookie: <redacted>", "AqR2");
	HDR("a header named like a token",
	    "x-ms-RefreshTokenCredential: " REFRESH,
	    "x-ms-RefreshTokenCredential: <redacted>", REFRESH);
	HDR("other headers unchanged", "Content-Type: application/json\r\n",
	    "Content-Type: application/json", NULL);
	HDR("client-request-id shown",
	    "client-request-id: 0f8fad5b-d9cb-469f-a165-70867728950e",
	    "client-request-id: 0f8fad5b-d9cb-469f-a165-70867728950e", NULL);
	HDR("Location: query redacted",
	    "Location: https://login.example/cb?code=0.AAA&state=s1",
	    "Location: https://login.example/cb?code=<redacted>&state=s1",
	    "0.AAA");
	HDR("a request line: query redacted",
	    "GET /EnrollmentServer/nonce/t/?api-version=1.0&nonce=" NONCE
	    " HTTP/1.1", "GET /EnrollmentServer/nonce/t/?api-version=1.0&"
	    "nonce=<redacted> HTTP/1.1", NONCE);
	HDR("a status line unchanged", "HTTP/1.1 503 Service Unavailable\r\n",
	    "HTTP/1.1 503 Service Unavailable", NULL);
	HDR("a JWT in any header value",
	    "X-Debug: took " JWT " from cache",
	    "X-Debug: took <redacted> from cache", JWT);
	HDR("control bytes in a header escaped",
	    "X-Odd: a\x1b[2Jb", "X-Odd: a\\x1b[2Jb", NULL);
}

static void
urls(void)
{
	URL("query secrets redacted, the rest kept",
	    "https://h.example/p?api-version=2.0&access_token=" JWT
	    "&nonce=" NONCE "&x=1#frag",
	    "https://h.example/p?api-version=2.0&access_token=<redacted>"
	    "&nonce=<redacted>&x=1#frag", NONCE);
	URL("no query: unchanged",
	    "https://enterpriseregistration.windows.net/contoso.com/Discover",
	    "https://enterpriseregistration.windows.net/contoso.com/Discover",
	    NULL);
	URL("user information in a URL",
	    "http://proxyuser:pr0xyPass@proxy.corp:3128",
	    "http://<redacted>@proxy.corp:3128", "pr0xyPass");
	URL("user information with an @ in the password, and a query",
	    "https://u:p@ss@h.example/p?nonce=n1&a=b",
	    "https://<redacted>@h.example/p?nonce=<redacted>&a=b", "ss@");
	URL("an @ after the host is not user information",
	    "https://h.example/p?mail=a@b", "https://h.example/p?mail=a@b",
	    NULL);
	URL("code in a query is secret",
	    "https://h/cb?code=abc&session_state=x",
	    "https://h/cb?code=<redacted>&session_state=x", "abc");
	URL("empty values and bare keys kept", "https://h/p?nonce=&flag&a=b",
	    "https://h/p?nonce=&flag&a=b", NULL);
	FORM("token request form", "client_id=29d9ed98&grant_type="
	    "refresh_token&refresh_token=" REFRESH "&scope=openid",
	    "client_id=29d9ed98&grant_type=refresh_token&refresh_token="
	    "<redacted>&scope=openid", REFRESH);
	FORM("device code poll form", "grant_type=urn:ietf:params:oauth:"
	    "grant-type:device_code&device_code=DAQABAAEAAAD&client_id=c",
	    "grant_type=urn:ietf:params:oauth:grant-type:device_code&"
	    "device_code=<redacted>&client_id=c", "DAQABAAEAAAD");
	FORM("password and client secret", "username=u&password=hunter2&"
	    "client_secret=s3", "username=u&password=<redacted>&client_secret="
	    "<redacted>", "hunter2");
}

static void
json(void)
{
	char *big, *want, *got;
	size_t i;

	JSON("nonce answer: Value redacted, status kept",
	    "{\"ReponseStatus\": {\"message\": \"Successful\", \"traceId\": "
	    "\"t-1\"}, \"Value\": \"" NONCE "\"}",
	    "{\"ReponseStatus\": {\"message\": \"Successful\", \"traceId\": "
	    "\"t-1\"}, \"Value\": \"<redacted>\"}", NONCE);
	JSON("token answer: every token redacted, token_type kept",
	    "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":"
	    "\"" JWT "\",\"refresh_token\":\"" REFRESH "\",\"id_token\":\""
	    JWT "\"}",
	    "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":"
	    "\"<redacted>\",\"refresh_token\":\"<redacted>\",\"id_token\":"
	    "\"<redacted>\"}", REFRESH);
	JSON("keys in other letter cases",
	    "{\"VALUE\":\"a1\",\"Nonce\":\"b2\",\"RefreshToken\":\"c3\"}",
	    "{\"VALUE\":\"<redacted>\",\"Nonce\":\"<redacted>\","
	    "\"RefreshToken\":\"<redacted>\"}", "b2");
	JSON("an empty secret stays empty (to show it was empty)",
	    "{\"Value\":\"\"}", "{\"Value\":\"\"}", NULL);
	JSON("error code shown in JSON",
	    "{\"code\":\"invalid_request\",\"message\":\"m\"}",
	    "{\"code\":\"invalid_request\",\"message\":\"m\"}", NULL);
	JSON("a JWT under any key",
	    "{\"note\":\"" JWT "\",\"list\":[\"" JWT "\"]}",
	    "{\"note\":\"<redacted>\",\"list\":[\"<redacted>\"]}", JWT);
	JSON("an echoed Authorization header with an opaque token",
	    "{\"headers\":{\"Authorization\":\"Bearer opaque-tok\"}}",
	    "{\"headers\":{\"Authorization\":\"<redacted>\"}}",
	    "opaque-tok");
	JSON("an escaped quote does not end the string",
	    "{\"message\":\"a \\\"Value\\\": x\",\"Value\":\"s3\"}",
	    "{\"message\":\"a \\\"Value\\\": x\",\"Value\":\"<redacted>\"}",
	    "s3");
	JSON("a key's reach ends at a non-string value",
	    "{\"Value\":{\"x\":\"shown\"},\"nonce\":7,\"y\":\"also\"}",
	    "{\"Value\":{\"x\":\"shown\"},\"nonce\":7,\"y\":\"also\"}", NULL);
	JSON("a secret in JSON cut short",
	    "{\"access_token\":\"abcdef", "{\"access_token\":\"<redacted>",
	    "abcdef");
	JSON("white space around the colon",
	    "{ \"nonce\" :\n  \"n0nce\" }", "{ \"nonce\" :\n  \"<redacted>\" }",
	    "n0nce");

	/*
	 * A long public value (a CSR) is shortened; what is left of it is
	 * random base64, so it is shown as a token would be.
	 */
	big = malloc(2000);
	want = malloc(2100);
	for (i = 0; i < 1200; i++)
		big[i] = "MIIDxTCCAq2gAwIB"[i % 16];
	big[1200] = '\0';
	snprintf(want, 2100, "{\"CertificateRequest\":{\"Type\":\"pkcs10\","
	    "\"Data\":\"<redacted>...(1200 chars)\"}}");
	{
		char body[1400];

		snprintf(body, sizeof(body), "{\"CertificateRequest\":{\"Type\":"
		    "\"pkcs10\",\"Data\":\"%s\"}}", big);
		got = redact_json(body, strlen(body));
		expect("a long value is shortened with its length", got, want,
		    NULL);
	}
	free(big);
	free(want);
}

static void
bodies(void)
{
	char *body, *got;
	size_t i;

	BODY("a JSON body by content type, white space folded",
	    "application/json; charset=utf-8",
	    "{\n  \"Value\": \"" NONCE "\",\n  \"x\": 1\n}",
	    "{ \"Value\": \"<redacted>\", \"x\": 1 }", NONCE);
	BODY("a JSON body by its first byte", NULL,
	    "  {\"nonce\":\"n\"}", " {\"nonce\":\"<redacted>\"}", NULL);
	BODY("a form body", "application/x-www-form-urlencoded",
	    "refresh_token=" REFRESH "&a=b", "refresh_token=<redacted>&a=b",
	    REFRESH);
	BODY("a text body: JWTs redacted, bytes escaped", "text/html",
	    "<p>token " JWT "</p>\x01\xe9", "<p>token <redacted></p>\\x01\\xe9",
	    JWT);

	body = malloc(5000);
	for (i = 0; i < 4000; i++)
		body[i] = 'a' + (char)(i % 26);
	body[4000] = '\0';
	got = redact_body("text/plain", body, 4000);
	CHECK(got != NULL && strlen(got) < REDACT_BODY_MAX + 32 &&
	    strncmp(got, body, REDACT_BODY_MAX) == 0 &&
	    strcmp(got + REDACT_BODY_MAX, "...(4000 bytes)") == 0,
	    "a long body is cut with its size");
	free(got);
	free(body);

	got = redact_body(NULL, "", 0);
	CHECK(got != NULL && got[0] == '\0', "an empty body");
	free(got);
	got = redact_body("application/octet-stream", "\0\x01", 2);
	CHECK(got != NULL && strcmp(got, "\\x00\\x01") == 0,
	    "a binary body with NUL bytes");
	free(got);
}

/* What redact_looks_token() takes for a token, and what it must not. */
static void
tokens(void)
{
	static const char *const yes[] = {
		JWT, NONCE, REFRESH,
		/* A JWE: five parts. */
		"eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZ"
		    "cgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzc"
		    ".48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9t"
		    "X_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ",
		/* Standard base64, split by / and +. */
		"1.AXkA/Yj2+3x7Q0G0bJxE5n/2mKl9Qz+Hd4vPz0xR/7kmNdLsR+Ug=",
		/* The same, form-encoded. */
		"1.AXkA%2FYj2%2B3x7Q0G0bJxE5n%2F2mKl9Qz%2BHd4vPz0xR%2F7kmNdLsR%2BUg%3D",
		/* The emulator's BPRT: a prefix, base64url JSON and a signature. */
		"1.AQbprt.eyJ0eXAiOiJicHJ0IiwidGlkIjoiN2EzYjVjOWQifQ.c2lnbmF0dXJlX2J5dGVz",
		"0.AAAAq8nQb3Z1dGhlbnRpY2F0ZWRGcm9tVGhlVG9rZW5TZXJ2aWNl",
		"Zm9vYmFyYmF6cXV4cXV1eHh4eHh4eHg9PT0K",
		"8Q~xKp3vLmN2qRsT7uVwXyZ0aBcDeFgHiJkL",
		/* A Microsoft account refresh token's shape. */
		"M.C105_BAY.0.U.-Cq*ewn!Ab3cDEf9GhIjK*LmNoP!qRsTuV$",
	};
	static const char *const no[] = {
		"d3b07384-d9a0-4c9b-8a0e-2f4c6e8a1b3d",
		"D3B07384-D9A0-4C9B-8A0E-2F4C6E8A1B3D",
		"BD92A8664425E4821A55BEA85E7A564FD03AD7D2",
		"EnterpriseRegistration.windows.net",
		"/etc/ssl/certs/ca-certificates.crt",
		"/home/JohnSmith/Projects/DrsJoinTest/CaBundle/MyRootCA2024.pem",
		"MyCompanyRootCA2024-backup.pem",
		"/tmp/drsjoin-it.v3lWHt/x",
		"contoso.onmicrosoft.com",
		"AADSTS700082", "2026-12-05T08:15:35.123Z", "urn:ms-drs:enterpriseregistration.windows.net",
		"https://login.microsoftonline.com/common/oauth2/v2.0/token",
		"ServiceUnavailable", "DeviceRegistrationService", "iPhone14ProMax",
		"package_6c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f@contoso.example",
		"eyJ0",
	};
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!redact_looks_token(yes[i], strlen(yes[i]))) {
			fprintf(stderr, "  not taken for a token: %s\n", yes[i]);
			bad++;
		}
	CHECK(bad == 0, "JWT, JWE, base64 and base64url tokens are taken for tokens");
	bad = 0;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (redact_looks_token(no[i], strlen(no[i]))) {
			fprintf(stderr, "  taken for a token: %s\n", no[i]);
			bad++;
		}
	CHECK(bad == 0, "GUIDs, hex, host names, paths, codes and times are not");
}

/* A service's error text that echoes the request (a token endpoint). */
static void
texts(void)
{
	static const char std[] = "1.AXkA%2FYj2%2B3x7Q0G0bJxE5n%2F2mKl9Qz%2BHd4vPz0xR";
	const char *in;
	char *got;
	size_t n = 0;

	in = "bad request: grant_type=refresh_token&client_id=b90d5b8f&"
	    "refresh_token=" "abc" "&resource=urn:ms-drs:x";
	got = redact_text(in, strlen(in), &n);
	CHECK(got != NULL && strcmp(got, "bad request: grant_type=refresh_token&"
	    "client_id=b90d5b8f&refresh_token=<redacted>&resource=urn:ms-drs:x") == 0 &&
	    n == strlen(got), "a form echoed: a secret key's value, however short");
	free(got);
	in = "AADSTS9002313: Invalid request. Request is malformed or invalid. "
	    "Got 1.AXkA/Yj2+3x7Q0G0bJxE5n/2mKl9Qz+Hd4vPz0xR/7kmNdLsR+Ug= here.";
	got = redact_text(in, strlen(in), &n);
	CHECK(got != NULL && strcmp(got, "AADSTS9002313: Invalid request. Request is "
	    "malformed or invalid. Got <redacted> here.") == 0,
	    "a standard base64 token in a message: the words stay");
	free(got);
	in = std;
	got = redact_text(in, strlen(in), &n);
	CHECK(got != NULL && strstr(got, "AXkA") == NULL, "a form-encoded token alone");
	free(got);
	BODY("a text body: a form echoed back", "text/plain",
	    "bad request: refresh_token=" REFRESH "&scope=openid",
	    "bad request: refresh_token=<redacted>&scope=openid", REFRESH);
	BODY("a JSON error whose message echoes the form", "application/json",
	    "{\"error\":\"invalid_request\",\"error_description\":\"AADSTS900144: "
	    "the request was: grant_type=refresh_token&refresh_token=" REFRESH "\"}",
	    "{\"error\":\"invalid_request\",\"error_description\":\"AADSTS900144: "
	    "the request was: grant_type=refresh_token&refresh_token=<redacted>\"}",
	    REFRESH);
	BODY("an HTML page quoting a token", "text/html",
	    "<pre>token: 1.AXkA/Yj2+3x7Q0G0bJxE5n/2mKl9Qz+Hd4vPz0xR/7kmNdLsR+Ug=</pre>",
	    "<pre>token: <redacted></pre>", "Yj2+3x7Q0G0bJxE5n");
}

int
main(void)
{
	tokens();
	texts();
	keys();
	sanitize();
	headers();
	urls();
	json();
	bodies();
	return tap_done();
}
