/*
 * login.h - the login service's token endpoint (OAuth 2.0): an access token
 * for the Device Registration Service from a bulk enrolment token (BPRT) or
 * a user's refresh token, and the requests of the device code flow.
 *
 * Which endpoint and which parameters (docs/tokens.md):
 * - the authority is the one the tenant's discovery answer names in
 *   AuthenticationService.OAuth2.TokenEndpoint (https://HOST/TENANT/oauth2/
 *   token), else https://<the cloud's login host>/<tenant id>;
 * - BPRT: v1 {authority}/oauth2/token, grant_type=refresh_token, client_id
 *   b90d5b8f-5503-4153-b545-b31cecfaece2, resource=<JoinResourceId>,
 *   scope=openid (what Windows' provisioning packages do);
 * - refresh token: v2 {authority}/oauth2/v2.0/token, grant_type=
 *   refresh_token, the given client id, scope=01cb2876-7ebd-4aa4-9cc9-
 *   d28bd4d359a9/.default openid offline_access (as libhimmelblau does);
 * - device code: v2 {authority}/oauth2/v2.0/devicecode and .../token with
 *   grant_type=urn:ietf:params:oauth:grant-type:device_code (devicecode.h).
 *
 * Secrets (BPRT, refresh tokens, device codes, access tokens) travel only in
 * form bodies and answers, never in URLs; the form bodies are wiped; -v -v
 * shows them redacted (redact.h); a new refresh token in an answer is
 * dropped, never stored (the device code sign-in's is kept in memory for
 * the run: token.h).
 *
 * Errors: an error answer is one line, EXIT_REFUSED:
 *   login: <host> refused the <what>: <error> AADSTS<n>: <first line of
 *   error_description> (trace id T, correlation id C); <hint>
 * with a hint for the common codes (login_hint()); an answer without a
 * usable access token is EXIT_NETWORK.
 */
#ifndef DRS_LOGIN_H
#define DRS_LOGIN_H

#include <stddef.h>

#include "http.h"

#define LOGIN_BPRT_CLIENT_ID "b90d5b8f-5503-4153-b545-b31cecfaece2"
#define LOGIN_BROKER_CLIENT_ID "29d9ed98-a469-4536-ade2-f981bc1d605e"
#define LOGIN_DRS_APP_ID "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"
#define LOGIN_DRS_SCOPE LOGIN_DRS_APP_ID "/.default openid offline_access"
#define LOGIN_LINE_MAX 1400
/* Longest access or refresh token taken from an answer. */
#define LOGIN_TOKEN_MAX (64 * 1024)

struct login_endpoints {
	char *authority;	/* https://HOST[:PORT]/TENANT */
	char *token_v1;		/* {authority}/oauth2/token */
	char *token_v2;		/* {authority}/oauth2/v2.0/token */
	char *devicecode_v2;	/* {authority}/oauth2/v2.0/devicecode */
};

/*
 * The endpoints from the discovery answer's TokenEndpoint (NULL when the
 * answer named none: then https://<login_host>/<tenant>). A TokenEndpoint
 * that is not https://HOST[:PORT]/SEGMENT/oauth2/[v2.0/]token is an unusable
 * answer (EXIT_NETWORK).
 */
int login_endpoints(const char *token_endpoint, const char *login_host,
    const char *tenant, struct login_endpoints *ep);
void login_endpoints_free(struct login_endpoints *ep);

/* The access token for resource from a BPRT (v1). *access_token: util_free_secret. */
int login_redeem_bprt(struct http_session *s, const struct login_endpoints *ep,
    const char *bprt, const char *resource, char **access_token);
/* The access token from a user's refresh token (v2, LOGIN_DRS_SCOPE). */
int login_redeem_refresh(struct http_session *s, const struct login_endpoints *ep,
    const char *client_id, const char *refresh_token, char **access_token);

/*
 * An application/x-www-form-urlencoded body of the NULL-terminated
 * name, value, name, value... list; NULL (reported) when out of memory.
 * Holds secrets: the caller frees with util_free_secret.
 */
char *login_form(const char *const *pairs);

/*
 * POSTs form to url: 0 with the answer in *rs (a 2xx, or with pass_errors
 * any answer that is not retried further), -1 when reported.
 */
int login_post(struct http_session *s, const char *url, const char *form,
    int pass_errors, struct http_response *rs);
/* The same, its messages and -v lines under phase (e.g. "prt"). */
int login_post_as(struct http_session *s, const char *phase, const char *url,
    const char *form, int pass_errors, struct http_response *rs);
/* The access_token of a 200 answer; EXIT_NETWORK when there is none. */
int login_take_token(const struct http_response *rs, const char *what,
    char **access_token);
/*
 * The same, and the answer's refresh token in *refresh_token (NULL when it
 * has none; util_free_secret) when refresh_token is not NULL.
 */
int login_take_tokens(const struct http_response *rs, const char *what,
    char **access_token, char **refresh_token);
/* The "error" of an error answer in the login shape, else "" (into err). */
void login_error_code(const struct http_response *rs, char *err, size_t errsz);
/* Reports an error answer as above (EXIT_REFUSED; a 429/503: EXIT_NETWORK,
 * "throttled"); -1. */
int login_fail(const char *url, const char *what, const struct http_response *rs);

/*
 * Pure: the line for an error answer (without "drsjoin: "), as above; a
 * body in no login shape gets the svcerr.h line. host may be NULL.
 */
char *login_error_line(char *out, size_t outsz, const char *host, const char *what,
    long status, const char *body, size_t len, const char *content_type,
    const char *request_id);
/* Pure: the hint for an AADSTS code or an OAuth error (code 0: none), or NULL. */
const char *login_hint(long aadsts, const char *error);

#endif
