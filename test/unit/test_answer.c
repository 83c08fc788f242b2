/* test_answer.c - the field checks every answer of the service goes through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "fixture.h"
#include "json.h"
#include "log.h"
#include "tap.h"

static void
text(const char *name, const char *s, size_t len, int want, const char *why_has)
{
	char why[128] = "";
	int got = answer_text_ok(s, len, why, sizeof(why));

	CHECK(got == want && (want || has(why, why_has)), "text: %s (%s)", name,
	    want ? "accepted" : why_has);
	if (got != want || (!want && !has(why, why_has)))
		fprintf(stderr, "  why: %s\n", why);
}
#define TEXT(name, lit, want, why) text(name, lit, sizeof(lit) - 1, want, why)

static void
url(const char *s, int want, const char *why_has)
{
	char why[128] = "", shown[64];
	int got = answer_url_ok(s, why, sizeof(why));
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < sizeof(shown); i++)
		shown[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	shown[i] = '\0';
	CHECK(got == want && (want || has(why, why_has)), "url: %s %s", shown,
	    want ? "accepted" : why_has);
	if (got != want || (!want && !has(why, why_has)))
		fprintf(stderr, "  why: %s\n", why);
}

/* answer_string on {"K": <value>}; msg NULL when it must be accepted. */
static void
field(const char *name, const char *json, enum answer_kind kind, size_t max,
    int required, const char *want_value, const char *msg)
{
	struct json *o = json_parse(json, strlen(json), EXIT_INTERNAL, "fixture");
	const char *v = (const char *)1;
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = answer_string("discover", o, "Obj", "K", kind, max, required, &v);
	err = capture_end();
	if (msg == NULL)
		CHECK_ERR(rc == 0 && (want_value == NULL ? v == NULL :
		    v != NULL && strcmp(v, want_value) == 0) && *err == '\0', err,
		    "field: %s", name);
	else
		CHECK_ERR(rc == -1 && v == NULL && log_exit_code() == EXIT_NETWORK &&
		    has(err, msg) && lines(err) == 1, err, "field: %s: '%s'", name, msg);
	free(err);
	json_free(o);
}

static void
parse(const char *name, long status, const char *ctype, const char *body,
    size_t len, const char *msg)
{
	struct http_response rs = { .status = status };
	struct json *j;
	char *err;

	rs.body = (char *)body;
	rs.body_len = len;
	rs.content_type = (char *)ctype;
	log_reset();
	capture_begin();
	j = answer_parse("discover", &rs);
	err = capture_end();
	if (msg == NULL)
		CHECK_ERR(j != NULL && *err == '\0', err, "parse: %s", name);
	else
		CHECK_ERR(j == NULL && log_exit_code() == EXIT_NETWORK &&
		    has(err, msg) && lines(err) == 1, err, "parse: %s: '%s'", name, msg);
	json_free(j);
	free(err);
}

int
main(void)
{
	char *big, host[64];
	size_t i;

	TEXT("ASCII", "contoso.example", 1, NULL);
	TEXT("empty", "", 1, NULL);
	TEXT("two-byte", "Caf\xc3\xa9 M\xc3\xbcller", 1, NULL);
	TEXT("three-byte", "\xe6\x97\xa5\xe6\x9c\xac", 1, NULL);
	TEXT("four-byte", "\xf0\x9f\x98\x80", 1, NULL);
	TEXT("U+10FFFF", "\xf4\x8f\xbf\xbf", 1, NULL);
	TEXT("lone continuation byte", "ab\x80", 0, "not valid UTF-8 (byte 0x80 at offset 2)");
	TEXT("Latin-1 byte", "Caf\xe9", 0, "not valid UTF-8 (byte 0xe9 at offset 3)");
	TEXT("overlong slash", "\xc0\xaf", 0, "not valid UTF-8");
	TEXT("overlong three-byte", "\xe0\x80\xaf", 0, "not valid UTF-8");
	TEXT("surrogate", "\xed\xa0\x80", 0, "not valid UTF-8");
	TEXT("above U+10FFFF", "\xf4\x90\x80\x80", 0, "not valid UTF-8");
	TEXT("F5 lead byte", "\xf5\x80\x80\x80", 0, "not valid UTF-8");
	TEXT("cut sequence", "ab\xe6\x97", 0, "not valid UTF-8 (byte 0xe6 at offset 2)");
	TEXT("ESC", "a\x1b[31mred", 0, "control character (U+001B at offset 1)");
	TEXT("CR LF", "a\r\nb", 0, "control character (U+000D at offset 1)");
	TEXT("tab", "a\tb", 0, "control character (U+0009");
	TEXT("DEL", "a\x7f", 0, "control character (U+007F");
	TEXT("C1 CSI", "a\xc2\x9b" "31m", 0, "control character (U+009B");
	TEXT("right-to-left override", "a\xe2\x80\xae" "b", 0, "U+202E");
	TEXT("first strong isolate", "\xe2\x81\xa8", 0, "U+2068");
	TEXT("NUL within the length", "a\0b", 0, "U+0000");

	url("https://enterpriseregistration.windows.net/EnrollmentServer/device/", 1, NULL);
	url("https://127.0.0.1:8443/s/x/join/?a=b&c=d", 1, NULL);
	url("HTTPS://Host.Example", 1, NULL);
	url("https://[::1]:443/p", 1, NULL);
	url("https://host.example/p%20q", 1, NULL);
	url("http://host.example/", 0, "not https://");
	url("javascript:alert(1)", 0, "not https://");
	url("https://", 0, "no host");
	url("https:///path", 0, "no host");
	url("https://host.example/a\r\nX-Injected: 1", 0, "a line break at byte 22");
	url("https://host.example/a b", 0, "a space at byte 22");
	url("https://host.example/\x1b[2J", 0, "byte 0x1b");
	url("https://host.example/caf\xc3\xa9", 0, "not printable ASCII");
	url("https://user:pw@host.example/", 0, "user information");
	url("https://evil.example@host.example/", 0, "user information");
	url("https://host.example/#frag", 0, "fragment");
	url("https://host.example/a?b#c", 0, "fragment");
	url("https://host.example:0/", 0, "bad port");
	url("https://host.example:65536/", 0, "bad port");
	url("https://host.example:/", 0, "bad port");
	url("https://host.example:44x/", 0, "bad port");
	url("https://host_name.example/", 0, "'_' in the host name");
	url("https://.example/", 0, "bad host name");
	url("https://a..example/", 0, "bad host name");
	url("https://[::1/", 0, "IPv6");
	url("https://[]/", 0, "IPv6");
	url("https://[::1]x/", 0, "IPv6");
	url("https://host.example/<script>", 0, "'<'");
	url("https://host.example/a\\b", 0, "'\\'");

	answer_url_host("https://evil.example:8443/x?y", host, sizeof(host));
	CHECK(strcmp(host, "evil.example:8443") == 0, "url host: host and port");
	answer_url_host("https://ev\x1bil/x", host, sizeof(host));
	CHECK(strcmp(host, "ev\\x1bil") == 0, "url host: escaped");

	field("present", "{\"k\":\"v\"}", ANSWER_TEXT, 10, 1, "v", NULL);
	field("absent, optional", "{}", ANSWER_TEXT, 10, 0, NULL, NULL);
	field("null, optional", "{\"K\":null}", ANSWER_TEXT, 10, 0, NULL, NULL);
	field("absent, required", "{}", ANSWER_TEXT, 10, 1, NULL,
	    "discover: the answer has no Obj.K");
	field("empty, required", "{\"K\":\"\"}", ANSWER_TEXT, 10, 1, NULL,
	    "discover: the answer has no Obj.K");
	field("a number", "{\"K\":5}", ANSWER_TEXT, 10, 0, NULL,
	    "discover: Obj.K in the answer is not a string");
	field("an object", "{\"K\":{}}", ANSWER_TEXT, 10, 0, NULL,
	    "is not a string");
	field("at the limit", "{\"K\":\"0123456789\"}", ANSWER_TEXT, 10, 1,
	    "0123456789", NULL);
	field("one byte over", "{\"K\":\"0123456789A\"}", ANSWER_TEXT, 10, 1, NULL,
	    "discover: Obj.K in the answer is 11 bytes, more than 10");
	field("escaped ESC", "{\"K\":\"a\\u001b[2J\"}", ANSWER_TEXT, 10, 1, NULL,
	    "discover: Obj.K in the answer holds a control character (U+001B at offset 1)");
	field("raw Latin-1", "{\"K\":\"caf\xe9\"}", ANSWER_TEXT, 10, 1, NULL,
	    "discover: Obj.K in the answer is not valid UTF-8");
	field("escaped C1", "{\"K\":\"\\u009b\"}", ANSWER_TEXT, 10, 1, NULL,
	    "U+009B");
	field("URL with CR LF", "{\"K\":\"https://h.example/\\r\\nX: y\"}",
	    ANSWER_URL, 100, 1, NULL, "control character");
	field("URL over http", "{\"K\":\"http://h.example/\"}", ANSWER_URL, 100, 1,
	    NULL, "discover: Obj.K in the answer is not a usable https URL: not https://");
	field("GUID", "{\"K\":\"0F8FAD5B-D9CB-469F-A165-70867728950E\"}",
	    ANSWER_GUID, 36, 1, "0F8FAD5B-D9CB-469F-A165-70867728950E", NULL);
	field("not a GUID", "{\"K\":\"contoso\"}", ANSWER_GUID, 36, 1, NULL,
	    "is not a GUID");
	field("word with a space", "{\"K\":\"ab cd\"}", ANSWER_WORD, 36, 1, NULL,
	    "holds a space");
	field("version", "{\"K\":\"2.0\"}", ANSWER_VERSION, 36, 1, "2.0", NULL);
	field("version smuggling a parameter", "{\"K\":\"2.0&x=1\"}",
	    ANSWER_VERSION, 36, 1, NULL, "is not a version (offset 3)");
	field("no object at all", "{\"other\":{}}", ANSWER_TEXT, 10, 0, NULL, NULL);

	/* The size check comes before anything else looks at 900 KB. */
	big = malloc(900 * 1024 + 16);
	strcpy(big, "{\"K\":\"");
	for (i = 6; i < 900 * 1024 + 6; i++)
		big[i] = 'a';
	strcpy(big + i, "\"}");
	field("900 KB", big, ANSWER_TEXT, ANSWER_NAME_MAX, 0, NULL,
	    "discover: Obj.K in the answer is 921600 bytes, more than 256");
	free(big);

	/* At most JSON_MAX_VALUES values: {"x":[0,...]} is 2 + the zeros. */
	big = malloc(2 * JSON_MAX_VALUES + 32);
	for (i = JSON_MAX_VALUES - 2; i <= JSON_MAX_VALUES - 1; i++) {
		size_t k, o = (size_t)sprintf(big, "{\"x\":[");

		for (k = 0; k < i; k++)
			o += (size_t)sprintf(big + o, k ? ",0" : "0");
		o += (size_t)sprintf(big + o, "]}");
		parse(i + 2 == JSON_MAX_VALUES ? "exactly JSON_MAX_VALUES values" :
		    "one value more", 200, "application/json", big, o,
		    i + 2 == JSON_MAX_VALUES ? NULL :
		    "discover: the answer: more than 10000 JSON values (HTTP 200");
	}
	free(big);

#define P(name, st, ct, lit, msg) parse(name, st, ct, lit, sizeof(lit) - 1, msg)
	P("an object", 200, "application/json", "{\"a\":1}", NULL);
	/* cJSON itself refuses an escaped lone surrogate. */
	P("escaped lone surrogate", 200, "application/json", "{\"K\":\"\\ud800x\"}",
	    "discover: the answer: not valid JSON at byte");
	P("captive portal HTML", 200, "text/html; charset=utf-8",
	    "<!DOCTYPE html>\n<html><head><title>Hotel WiFi login</title></head>"
	    "<body>Please accept the terms to continue browsing</body></html>",
	    "discover: the answer: not valid JSON at byte 0 (HTTP 200, text/html; "
	    "charset=utf-8, 130 bytes): <!DOCTYPE html> <html><head><title>Hotel "
	    "WiFi login</title></head><body>Please a...");
	P("empty", 204, NULL, "",
	    "discover: the answer: empty, expected a JSON document (HTTP 204, no Content-Type)");
	P("an array", 200, "application/json", "[1,2]",
	    "discover: the answer: not a JSON object (HTTP 200, application/json, 5 bytes): [1,2]");
	P("truncated", 200, "application/json", "{\"a\":\"b",
	    "discover: the answer: JSON ends early (truncated?) after 7 bytes (HTTP 200");
	P("trailing data", 200, NULL, "{} <html>",
	    "discover: the answer: trailing data after the JSON value at byte 3 (HTTP 200, no Content-Type, 9 bytes): {} <html>");
	P("binary, escaped", 200, "application/octet-stream", "\x1b[2J\xff\x00zz",
	    "(HTTP 200, application/octet-stream, 8 bytes): \\x1b[2J\\xff\\x00zz");
	P("content type with escapes", 200, "text/\x1b[31mhtml", "<p>",
	    "text/\\x1b[31mhtml");
	P("a token echoed is not shown", 200, "text/plain",
	    "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln here",
	    "token <redacted> here");
	P("a nonce in a JSON string is not shown", 200, "application/json",
	    "[{\"Value\":\"AAAAsecretnonce\"}]", "<redacted>");
	return tap_done();
}
