/* test_login.c - login errors and hints, form bodies, token endpoints. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devicecode.h"
#include "log.h"
#include "login.h"
#include "tap.h"
#include "util.h"

#define CRID "0f8fad5b-d9cb-469f-a165-70867728950e"

static void
expect_line(const char *name, const char *body, const char *want)
{
	char out[LOGIN_LINE_MAX];

	login_error_line(out, sizeof(out), "login.microsoftonline.com",
	    "bulk enrolment token", 400, body, strlen(body), "application/json", CRID);
	CHECK(strcmp(out, want) == 0 && strpbrk(out, "\r\n") == NULL, "%s", name);
	if (strcmp(out, want) != 0)
		fprintf(stderr, "  got:  %s\n  want: %s\n", out, want);
}

static void
expect_endpoints(const char *te, const char *want_v1, const char *want_v2,
    const char *want_dc)
{
	struct login_endpoints ep;
	int ok;

	log_mute(1);
	ok = login_endpoints(te, "login.microsoftonline.us", "contoso.example", &ep) == 0;
	log_mute(0);
	if (want_v1 == NULL) {
		/* The name shows no control character (a CR LF case). */
		CHECK(!ok, "TokenEndpoint '%.*s' is refused", (int)strcspn(te, "\r\n"), te);
		if (ok)
			login_endpoints_free(&ep);
		return;
	}
	CHECK(ok && strcmp(ep.token_v1, want_v1) == 0 && strcmp(ep.token_v2, want_v2) == 0 &&
	    strcmp(ep.devicecode_v2, want_dc) == 0, "endpoints from '%s'", te ? te : "(none)");
	if (ok)
		login_endpoints_free(&ep);
}

static int
parse_code(const char *body, struct devicecode *c)
{
	struct http_response rs = { 0 };
	int rc;

	rs.status = 200;
	rs.body = (char *)(uintptr_t)body;
	rs.body_len = strlen(body);
	log_mute(1);
	rc = devicecode_parse(&rs, c);
	log_mute(0);
	return rc;
}

int
main(void)
{
	static const char *const pairs[] = {
		"grant_type", "refresh_token", "refresh_token", "0.A+b/c=d&e f",
		"scope", LOGIN_DRS_SCOPE, NULL, NULL,
	};
	struct devicecode dc = { 0 };
	char *form;

	expect_line("AADSTS50076: error, code, first line, ids, MFA hint",
	    "{\"error\":\"interaction_required\",\"error_description\":\"AADSTS50076: "
	    "You must use multi-factor authentication.\\r\\nTrace ID: 1\\r\\n"
	    "Correlation ID: 2\",\"error_codes\":[50076],\"trace_id\":\"t-1\","
	    "\"correlation_id\":\"c-2\"}",
	    "login: login.microsoftonline.com refused the bulk enrolment token: "
	    "interaction_required AADSTS50076: You must use multi-factor "
	    "authentication. (trace id t-1, correlation id c-2); multi-factor "
	    "authentication is required for this user, which a refresh token "
	    "cannot give: use a bulk enrolment token (--bprt-file) or --device-code");
	expect_line("code from error_codes when the description has none",
	    "{\"error\":\"invalid_grant\",\"error_codes\":[700082]}",
	    "login: login.microsoftonline.com refused the bulk enrolment token: "
	    "invalid_grant AADSTS700082 (client-request-id " CRID "); the "
	    "refresh token or bulk enrolment token has expired or was revoked: "
	    "get a new one");
	expect_line("53003: Conditional Access",
	    "{\"error\":\"access_denied\",\"error_description\":\"AADSTS53003: "
	    "Blocked.\"}",
	    "login: login.microsoftonline.com refused the bulk enrolment token: "
	    "access_denied AADSTS53003: Blocked. (client-request-id " CRID "); "
	    "blocked by Conditional Access: an administrator can see which "
	    "policy in the tenant's sign-in logs (correlation id above)");
	expect_line("escape sequences in the answer are shown escaped",
	    "{\"error\":\"x\\u001b[2J\",\"error_description\":\"AADSTS1: a\\u0007b\"}",
	    "login: login.microsoftonline.com refused the bulk enrolment token: "
	    "x\\x1b[2J AADSTS1: a\\x07b (client-request-id " CRID ")");
	expect_line("not the login shape: the svcerr line",
	    "<html>503</html>",
	    "login: server answered 400, not JSON (application/json, 16 bytes): "
	    "<html>503</html> (client-request-id " CRID ")");
	CHECK(login_hint(50155, "invalid_grant") != NULL &&
	    strstr(login_hint(50155, "invalid_grant"), "replication") != NULL,
	    "50155: replication hint");
	CHECK(login_hint(50079, NULL) == login_hint(50076, NULL), "50079 is MFA too");
	CHECK(login_hint(0, "invalid_grant") != NULL && login_hint(1, "nope") == NULL,
	    "invalid_grant without a code: the expiry hint; others: none");

	form = login_form(pairs);
	CHECK(form != NULL && strcmp(form, "grant_type=refresh_token&refresh_token="
	    "0.A%2Bb%2Fc%3Dd%26e+f&scope=01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9%2F."
	    "default+openid+offline_access") == 0, "form: every reserved byte escaped");
	util_free_secret(form);

	expect_endpoints(NULL, "https://login.microsoftonline.us/contoso.example/oauth2/token",
	    "https://login.microsoftonline.us/contoso.example/oauth2/v2.0/token",
	    "https://login.microsoftonline.us/contoso.example/oauth2/v2.0/devicecode");
	expect_endpoints("https://login.example:8443/tid/oauth2/token",
	    "https://login.example:8443/tid/oauth2/token",
	    "https://login.example:8443/tid/oauth2/v2.0/token",
	    "https://login.example:8443/tid/oauth2/v2.0/devicecode");
	expect_endpoints("https://login.example/tid/oauth2/v2.0/token",
	    "https://login.example/tid/oauth2/token",
	    "https://login.example/tid/oauth2/v2.0/token",
	    "https://login.example/tid/oauth2/v2.0/devicecode");
	expect_endpoints("http://login.example/tid/oauth2/token", NULL, NULL, NULL);
	expect_endpoints("https://login.example/tid/oauth2/token?x=1", NULL, NULL, NULL);
	expect_endpoints("https://user@login.example/tid/oauth2/token", NULL, NULL, NULL);
	expect_endpoints("https://login.example/tid/oauth2/token\r\nX: y", NULL, NULL, NULL);
	expect_endpoints("https://login.example/oauth2/token", NULL, NULL, NULL);
	expect_endpoints("https://login.example/tid/oauth2/authorize", NULL, NULL, NULL);
	expect_endpoints("https://login.example/t id/oauth2/token", NULL, NULL, NULL);

	CHECK(parse_code("{\"user_code\":\"ABC\",\"device_code\":\"D\",\"verification_url\":"
	    "\"https://x.example/dl\",\"expires_in\":\"600\",\"interval\":\"2\"}", &dc) == 0 &&
	    dc.expires_in == 600 && dc.interval == 2 && strcmp(dc.uri, "https://x.example/dl") == 0 &&
	    strstr(dc.message, "ABC") != NULL, "device code: the v1 answer (strings, verification_url)");
	devicecode_free(&dc);
	CHECK(parse_code("{\"user_code\":\"ABC\",\"device_code\":\"D\",\"verification_uri\":"
	    "\"https://x.example/dl\",\"expires_in\":900,\"interval\":0,\"message\":\"m\"}",
	    &dc) == 0 && dc.interval == 5 && strcmp(dc.message, "m") == 0,
	    "device code: the v2 answer; interval 0 means 5");
	devicecode_free(&dc);
	CHECK(parse_code("{\"user_code\":\"ABC\",\"device_code\":\"D\",\"verification_uri\":"
	    "\"https://x.example/dl\",\"message\":\"m\\u001b[2J\"}", &dc) < 0,
	    "device code: a message with a terminal escape is refused");
	CHECK(parse_code("{\"user_code\":\"ABC\",\"device_code\":\"D\",\"verification_uri\":"
	    "\"http://x.example/dl\"}", &dc) < 0, "device code: an http:// URL is refused");
	CHECK(parse_code("{\"user_code\":\"A B\",\"device_code\":\"D\",\"verification_uri\":"
	    "\"https://x.example/dl\"}", &dc) < 0, "device code: a user code with a space is refused");
	CHECK(parse_code("{\"user_code\":\"ABC\",\"device_code\":\"D\",\"verification_uri\":"
	    "\"https://x.example/dl\",\"interval\":3600}", &dc) < 0,
	    "device code: an interval of an hour is refused");
	CHECK(parse_code("{\"user_code\":\"ABC\",\"device_code\":\"D\",\"verification_uri\":"
	    "\"https://x.example/dl\",\"expires_in\":\"9x\"}", &dc) < 0,
	    "device code: a bad expires_in is refused");
	return tap_done();
}
