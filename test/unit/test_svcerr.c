/* test_svcerr.c - the one line an error answer of the service becomes. */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "svcerr.h"
#include "tap.h"

#define CRID "0f8fad5b-d9cb-469f-a165-70867728950e"

/* Formats body (NUL-terminated unless len given) and compares exactly. */
static void
expect(const char *name, const char *phase, long status, const char *body,
    size_t len, const char *ctype, const char *crid, const char *want)
{
	char out[SVCERR_LINE_MAX];

	svcerr_format(out, sizeof(out), phase, status, body, len, ctype, crid);
	CHECK(strcmp(out, want) == 0 && strchr(out, '\n') == NULL, "%s", name);
	if (strcmp(out, want) != 0)
		fprintf(stderr, "  got:  %s\n  want: %s\n", out, want);
}

#define EXPECT(name, phase, status, body, ctype, crid, want)		\
	expect(name, phase, status, body, strlen(body), ctype, crid, want)

int
main(void)
{
	char big[1200], want[1200], body[1400], out[SVCERR_LINE_MAX];
	static const char bin[] = { 0x00, (char)0xff, 0x1b, 'A', '\n', (char)0x80 };
	size_t i;

	/* A token endpoint that echoes the form: never the token. */
	EXPECT("an echoed form (text): the token's value redacted", "login", 400,
	    "bad request: grant_type=refresh_token&refresh_token="
	    "1.AXkA%2FYj2%2B3x7Q0G0bJxE5n%2F2mKl9Qz%2BHd4vPz0xR&scope=openid",
	    "text/plain", NULL,
	    "login: server answered 400, not JSON (text/plain, 115 bytes): "
	    "bad request: grant_type=refresh_token&refresh_token=<redacted>"
	    "&scope=openid");
	EXPECT("an echoed token in a message field: redacted", "join", 400,
	    "{\"ErrorType\": \"BadRequest\", \"Message\": \"bad token "
	    "1.AXkA/Yj2+3x7Q0G0bJxE5n/2mKl9Qz+Hd4vPz0xR/7kmNdLsR+Ug= given\"}",
	    "application/json", NULL,
	    "join: server answered 400 BadRequest: bad token <redacted> given");
	EXPECT("a token past the excerpt's cut is not cut in two", "login", 400,
	    "<html><body><p>Something went wrong with this request, here is what "
	    "we received from you:</p> 1.AXkA/Yj2+3x7Q0G0bJxE5n/2mKl9Qz+Hd4vPz0xR"
	    "/7kmNdLsR+Ug=</body></html>", "text/html", NULL,
	    "login: server answered 400, not JSON (text/html, 163 bytes): "
	    "<html><body><p>Something went wrong with this request, here is what "
	    "we received from you:</p> <redacted></body></html>");
	EXPECT("DRS shape", "join", 400,
	    "{\"ErrorType\": \"DirectoryError\", \"Message\": \"The device "
	    "object by the given id (6bd1c62d) is not found.\", \"TraceId\": "
	    "\"1c8bb8b6-5c55-4a59-8a8d-6d0f9d3c2a00\", \"Time\": "
	    "\"10-12-2023 15:05:30Z\"}", "application/json", CRID,
	    "join: server answered 400 DirectoryError: The device object by "
	    "the given id (6bd1c62d) is not found. (trace id "
	    "1c8bb8b6-5c55-4a59-8a8d-6d0f9d3c2a00, client-request-id " CRID ")");
	EXPECT("DRS shape, throttled", "join", 429,
	    "{\"ErrorType\":\"DirectoryError\",\"Message\":\"Your request is "
	    "throttled temporarily. Please try after 300 seconds.\","
	    "\"TraceId\":\"t-1\",\"Time\":\"x\"}", NULL, CRID,
	    "join: server answered 429 DirectoryError: Your request is "
	    "throttled temporarily. Please try after 300 seconds. (trace id "
	    "t-1, client-request-id " CRID ")");
	EXPECT("newer DRS shape: code/subcode, requestId", "join", 400,
	    "{\"code\": \"invalid_request\", \"subcode\": "
	    "\"error_missing_device\", \"operation\": \"POST\", \"message\": "
	    "\"The device is missing.\", \"requestId\": \"r-42\", \"time\": "
	    "\"2024-01-01T00:00:00Z\"}", "application/json", CRID,
	    "join: server answered 400 invalid_request/error_missing_device: "
	    "The device is missing. (trace id r-42, client-request-id " CRID ")");
	EXPECT("newer DRS shape, 403", "discover", 403,
	    "{\"code\":\"authorization_error\",\"subcode\":"
	    "\"error_authorization_request_denied\",\"message\":\"Denied.\","
	    "\"requestId\":\"r-9\"}", NULL, CRID,
	    "discover: server answered 403 authorization_error/"
	    "error_authorization_request_denied: Denied. (trace id r-9, "
	    "client-request-id " CRID ")");
	EXPECT("login shape: white space runs become one space, correlation id "
	    "shown when it differs", "token", 400,
	    "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS50076: "
	    "Due to a configuration change made by your administrator, you "
	    "must use multi-factor authentication.\\r\\nTrace ID: t-7\\r\\n"
	    "Correlation ID: c-7\",\"error_codes\":[50076],\"trace_id\":"
	    "\"t-7\",\"correlation_id\":\"c-7\"}", "application/json", CRID,
	    "token: server answered 400 invalid_grant: AADSTS50076: Due to a "
	    "configuration change made by your administrator, you must use "
	    "multi-factor authentication. Trace ID: t-7 Correlation ID: c-7 "
	    "(trace id t-7, correlation id c-7, client-request-id " CRID ")");
	EXPECT("login shape: correlation id equal to the client-request-id "
	    "(any case) is not repeated", "token", 401,
	    "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000218"
	    ": no.\",\"trace_id\":\"t-8\",\"correlation_id\":"
	    "\"0F8FAD5B-D9CB-469F-A165-70867728950E\"}", NULL, CRID,
	    "token: server answered 401 invalid_client: AADSTS7000218: no. "
	    "(trace id t-8, client-request-id " CRID ")");
	EXPECT("Graph-like nested error", "leave", 404,
	    "{\"error\":{\"code\":\"Request_ResourceNotFound\",\"message\":"
	    "\"Resource 'x' does not exist.\",\"innerError\":{\"request-id\":"
	    "\"q-1\",\"client-request-id\":\"" CRID "\"}}}", NULL, CRID,
	    "leave: server answered 404 Request_ResourceNotFound: Resource 'x' "
	    "does not exist. (trace id q-1, client-request-id " CRID ")");
	EXPECT("keys in another letter case", "join", 400,
	    "{\"errorType\":\"AuthenticationError\",\"message\":\"Bad token.\","
	    "\"traceId\":\"t-3\"}", NULL, CRID,
	    "join: server answered 400 AuthenticationError: Bad token. "
	    "(trace id t-3, client-request-id " CRID ")");
	EXPECT("a numeric code", "join", 400,
	    "{\"code\":42,\"message\":\"odd\"}", NULL, CRID,
	    "join: server answered 400 42: odd (client-request-id " CRID ")");
	EXPECT("type only, no trace id, no client-request-id", "join", 500,
	    "{\"ErrorType\":\"InternalError\"}", NULL, NULL,
	    "join: server answered 500 InternalError");
	EXPECT("message only", "join", 500, "{\"Message\":\"Oops.\"}", NULL,
	    CRID, "join: server answered 500: Oops. (client-request-id " CRID ")");
	EXPECT("control characters and non-ASCII in the message", "join", 400,
	    "{\"ErrorType\":\"E\\u001b[31m\",\"Message\":\"caf\\u00e9 \\u0007"
	    "bell\\n\\nnext\"}", NULL, CRID,
	    "join: server answered 400 E\\x1b[31m: caf\\xc3\\xa9 \\x07bell "
	    "next (client-request-id " CRID ")");

	/* A very long message is cut to SVCERR_MESSAGE_MAX with "...". */
	memset(big, 'm', 1000);
	big[1000] = '\0';
	snprintf(body, sizeof(body), "{\"ErrorType\":\"E\",\"Message\":\"%s\"}",
	    big);
	memset(want, 0, sizeof(want));
	strcpy(want, "join: server answered 400 E: ");
	memset(want + strlen(want), 'm', SVCERR_MESSAGE_MAX - 3);
	strcat(want, "... (client-request-id " CRID ")");
	EXPECT("a long message is cut with ...", "join", 400, body, NULL, CRID,
	    want);

	EXPECT("an empty body", "nonce", 503, "", "text/plain", CRID,
	    "nonce: server answered 503 with an empty body (client-request-id "
	    CRID ")");
	EXPECT("an empty body, no id", "nonce", 502, "", NULL, NULL,
	    "nonce: server answered 502 with an empty body");

	/* An HTML page: first 120 bytes, escaped, then "...". */
	snprintf(body, sizeof(body), "<html>\r\n<head><title>502 Bad Gateway"
	    "</title></head>\r\n<body>\t<center><h1>502 Bad Gateway</h1>"
	    "</center>%s</body></html>", "<hr><center>nginx</center>"
	    "<p>padding padding padding padding padding padding</p>");
	strcpy(want, "discover: server answered 502, not JSON (text/html, ");
	snprintf(want + strlen(want), 32, "%zu bytes): ", strlen(body));
	strcat(want, "<html>\\r\\n<head><title>502 Bad Gateway</title></head>"
	    "\\r\\n<body>\\t<center><h1>502 Bad Gateway</h1></center><hr>"
	    "<center>nginx</... (client-request-id " CRID ")");
	EXPECT("an HTML body: excerpt of 120 bytes, escaped, cut", "discover",
	    502, body, "text/html", CRID, want);

	expect("a binary body: every byte escaped", "join", 500, bin,
	    sizeof(bin), "application/octet-stream", CRID,
	    "join: server answered 500, not JSON (application/octet-stream, "
	    "6 bytes): \\x00\\xff\\x1bA\\n\\x80 (client-request-id " CRID ")");
	EXPECT("plain text without a content type", "join", 500,
	    "Internal Server Error", NULL, CRID,
	    "join: server answered 500, not JSON (21 bytes): Internal Server "
	    "Error (client-request-id " CRID ")");
	EXPECT("JSON cut short is not JSON", "join", 400,
	    "{\"ErrorType\":\"DirectoryError\",\"Mess", "application/json",
	    CRID, "join: server answered 400, not JSON (application/json, 35 "
	    "bytes): {\"ErrorType\":\"DirectoryError\",\"Mess (client-request-id "
	    CRID ")");
	EXPECT("JSON with no error fields", "join", 400, "{\"foo\": 1}",
	    "application/json", CRID,
	    "join: server answered 400, no error details (application/json, "
	    "10 bytes): {\"foo\": 1} (client-request-id " CRID ")");
	EXPECT("a JSON array", "join", 400, "[1,2]", NULL, NULL,
	    "join: server answered 400, no error details (5 bytes): [1,2]");
	EXPECT("a JSON string", "join", 400, "\"DirectoryError\"", NULL, NULL,
	    "join: server answered 400, no error details (16 bytes): "
	    "\"DirectoryError\"");
	EXPECT("a non-string ErrorType is no error type", "join", 400,
	    "{\"ErrorType\":7}", NULL, NULL,
	    "join: server answered 400, no error details (15 bytes): "
	    "{\"ErrorType\":7}");
	EXPECT("a redirect", "discover", 302, "", NULL, CRID,
	    "discover: server answered 302 with an empty body "
	    "(client-request-id " CRID ")");

	/* A small buffer: cut, terminated, no overrun. */
	memset(out, 'X', sizeof(out));
	svcerr_format(out, 16, "join", 400, "{\"Message\":\"m\"}", 15, NULL, CRID);
	CHECK(strcmp(out, "join: server an") == 0 && out[16] == 'X',
	    "a small buffer: cut and NUL-terminated, nothing written past it");

	/* The longest fields, all escapes, still fit in SVCERR_LINE_MAX. */
	{
		static char huge[8 * 300 * 5 + 200];
		char esc[300 * 6 + 1];

		for (i = 0; i < 300; i++)
			memcpy(esc + i * 6, "\\u0001", 6);
		esc[300 * 6] = '\0';
		snprintf(huge, sizeof(huge), "{\"code\":\"%s\",\"subcode\":"
		    "\"%s\",\"message\":\"%s%s\",\"requestId\":\"%s\","
		    "\"correlation_id\":\"%s\"}", esc, esc, esc, esc, esc, esc);
		svcerr_format(out, sizeof(out), "join", 400, huge, strlen(huge),
		    NULL, esc);
		CHECK(strlen(out) < SVCERR_LINE_MAX - 1 &&
		    out[strlen(out) - 1] == ')' && has(out, "...: \\x01") &&
		    has(out, "client-request-id \\u0001"),
		    "the longest line fits in SVCERR_LINE_MAX, uncut (%zu bytes)",
		    strlen(out));
	}
	return tap_done();
}
