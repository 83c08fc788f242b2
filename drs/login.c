/* login.c - the login service's token endpoint (see login.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "json.h"
#include "log.h"
#include "login.h"
#include "redact.h"
#include "retry.h"
#include "svcerr.h"
#include "util.h"

/* Longest URL accepted from the discovery answer. */
#define URL_MAX 2048

static int
url_char_ok(int c)
{
	return c > ' ' && c < 0x7f && c != '"' && c != '<' && c != '>' &&
	    c != '\\' && c != '^' && c != '`' && c != '{' && c != '|' && c != '}';
}

int
login_endpoints(const char *token_endpoint, const char *login_host,
    const char *tenant, struct login_endpoints *ep)
{
	const char *p, *host, *path, *o;
	size_t n;

	memset(ep, 0, sizeof(*ep));
	if (token_endpoint == NULL) {
		ep->authority = util_asprintf("https://%s/%s", login_host, tenant);
	} else {
		n = strlen(token_endpoint);
		for (p = token_endpoint; *p != '\0'; p++)
			if (!url_char_ok((unsigned char)*p))
				break;
		/* host only once the prefix is known to be there (fuzz finding). */
		host = strncasecmp(token_endpoint, "https://", 8) == 0 ?
		    token_endpoint + 8 : NULL;
		path = host != NULL ? strchr(host, '/') : NULL;
		if (n > URL_MAX || *p != '\0' || host == NULL ||
		    path == NULL || path == host ||
		    memchr(host, '@', (size_t)(path - host)) != NULL ||
		    strpbrk(token_endpoint, "?#") != NULL ||
		    (o = strstr(path, "/oauth2/")) == NULL || o == path ||
		    (strcmp(o, "/oauth2/token") != 0 &&
		    strcmp(o, "/oauth2/v2.0/token") != 0))
			return log_fail(EXIT_NETWORK, "discover: Authentication"
			    "Service.OAuth2.TokenEndpoint is not an https://HOST/"
			    "TENANT/oauth2/token URL");
		ep->authority = util_asprintf("%.*s", (int)(o - token_endpoint),
		    token_endpoint);
	}
	if (ep->authority == NULL ||
	    (ep->token_v1 = util_asprintf("%s/oauth2/token", ep->authority)) == NULL ||
	    (ep->token_v2 = util_asprintf("%s/oauth2/v2.0/token", ep->authority)) == NULL ||
	    (ep->devicecode_v2 = util_asprintf("%s/oauth2/v2.0/devicecode",
	    ep->authority)) == NULL) {
		login_endpoints_free(ep);
		return -1;
	}
	return 0;
}

void
login_endpoints_free(struct login_endpoints *ep)
{
	if (ep == NULL)
		return;
	free(ep->authority);
	free(ep->token_v1);
	free(ep->token_v2);
	free(ep->devicecode_v2);
	memset(ep, 0, sizeof(*ep));
}

/* Percent-encodes s onto the end of out (which has room: 3 bytes a byte). */
static void
encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = out + strlen(out);

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			*o++ = (char)c;
		} else if (c == ' ') {
			*o++ = '+';
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
}

char *
login_form(const char *const *pairs)
{
	size_t i, n = 1;
	char *f;

	for (i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
		n += 3 * (strlen(pairs[i]) + strlen(pairs[i + 1])) + 2;
	if ((f = calloc(1, n)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	for (i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2) {
		if (i > 0)
			strcat(f, "&");
		encode(f, pairs[i]);
		strcat(f, "=");
		encode(f, pairs[i + 1]);
	}
	return f;
}

int
login_post(struct http_session *s, const char *url, const char *form,
    int pass_errors, struct http_response *rs)
{
	return login_post_as(s, "login", url, form, pass_errors, rs);
}

int
login_post_as(struct http_session *s, const char *phase, const char *url,
    const char *form, int pass_errors, struct http_response *rs)
{
	struct http_request rq = { 0 };

	rq.phase = phase;
	rq.method = "POST";
	rq.url = url;
	rq.body = form;
	rq.body_len = strlen(form);
	rq.content_type = "application/x-www-form-urlencoded";
	/* Redeeming a refresh token again is harmless: retries are fine. */
	rq.repeatable = 1;
	rq.resend_unanswered = 1;
	rq.pass_errors = pass_errors;
	return http_send(s, &rq, rs);
}

int
login_take_token(const struct http_response *rs, const char *what,
    char **access_token)
{
	return login_take_tokens(rs, what, access_token, NULL);
}

int
login_take_tokens(const struct http_response *rs, const char *what,
    char **access_token, char **refresh_token)
{
	struct json *ans;
	const char *at, *tt, *rt;
	int rc = -1;

	*access_token = NULL;
	if (refresh_token != NULL)
		*refresh_token = NULL;
	(void)what;
	if ((ans = answer_parse("login", rs)) == NULL)
		return -1;
	if (answer_string("login", ans, NULL, "access_token", ANSWER_WORD,
	    LOGIN_TOKEN_MAX, 1, &at) < 0 ||
	    answer_string("login", ans, NULL, "token_type", ANSWER_WORD,
	    ANSWER_WORD_MAX, 0, &tt) < 0)
		goto out;
	if (tt != NULL && strcasecmp(tt, "Bearer") != 0) {
		log_fail(EXIT_NETWORK, "login: token_type in the answer is not Bearer");
		goto out;
	}
	if ((*access_token = util_strdup(at)) == NULL)
		goto out;
	/* A rotated refresh token is not kept: see docs/tokens.md. */
	log_mute(1);
	if (answer_string("login", ans, NULL, "refresh_token", ANSWER_WORD,
	    LOGIN_TOKEN_MAX, 0, &rt) == 0 && rt != NULL) {
		if (refresh_token == NULL)
			log_debug(1, "login: the answer holds a new refresh token; "
			    "drsjoin drops it");
		else if ((*refresh_token = util_strdup(rt)) == NULL)
			log_debug(1, "login: out of memory keeping the refresh token");
	}
	log_mute(0);
	rc = 0;
out:
	json_free(ans);	/* wipes the tokens */
	return rc;
}

void
login_error_code(const struct http_response *rs, char *err, size_t errsz)
{
	struct json *j = json_parse_quiet(rs->body, rs->body_len);
	const char *e = json_get_string(j, "error");

	snprintf(err, errsz, "%s", e != NULL && strlen(e) < errsz ? e : "");
	json_free(j);
}

const char *
login_hint(long code, const char *error)
{
	switch (code) {
	case 50076:
	case 50079:
	case 50072:
	case 50074:
		return "multi-factor authentication is required for this user, "
		    "which a refresh token cannot give: use a bulk enrolment "
		    "token (--bprt-file) or --device-code";
	case 700082:
	case 70008:
	case 50173:
	case 700084:
	case 9002313:
		return "the refresh token or bulk enrolment token has expired or "
		    "was revoked: get a new one";
	case 50155:
		return "device authentication failed; right after a join this is "
		    "replication delay: try again in a few seconds";
	case 53003:
		return "blocked by Conditional Access: an administrator can see "
		    "which policy in the tenant's sign-in logs (correlation id above)";
	case 90002:
		return "the tenant does not exist in this cloud: check --tenant and --cloud";
	case 700016:
		return "the client id is not known in this tenant or cloud: "
		    "check --client-id and --cloud";
	case 500011:
		return "the registration service is not known to this login "
		    "service: check --cloud";
	default:
		break;
	}
	if (error != NULL && strcmp(error, "invalid_grant") == 0)
		return "the refresh token or bulk enrolment token has expired or "
		    "was revoked: get a new one";
	if (error != NULL && strcmp(error, "interaction_required") == 0)
		return "the user must sign in interactively: use --device-code";
	return NULL;
}

/*
 * AADSTS70000 to a BPRT or refresh token: the grant is not this client's.
 * A BPRT is a refresh token of the bulk enrolment client, so the usual
 * mix-up is the other kind of token given: not "expired or revoked".
 */
static const char *
kind_hint(long code, const char *what)
{
	if (code != 70000)
		return NULL;
	if (strcmp(what, "bulk enrolment token") == 0)
		return "the service does not take it as a bulk enrolment token "
		    "(it was issued to another client): a user's refresh token "
		    "goes with --refresh-token-file";
	if (strcmp(what, "refresh token") == 0)
		return "the service does not take it from this client (it was "
		    "issued to another one): a bulk enrolment token goes with "
		    "--bprt-file, another app's refresh token with its --client-id";
	return NULL;
}

/* One printable line of at most max bytes of s (up to its first line break). */
static void
first_line(char *dst, size_t dstsz, const char *s, size_t max)
{
	size_t n = strcspn(s, "\r\n"), used, rlen;
	int cut;
	char *r;

	dst[0] = '\0';
	if (dstsz < 4)
		return;
	/* Redacted before the cut: a service may echo the request's token. */
	if ((r = redact_text(s, n, &rlen)) == NULL) {
		snprintf(dst, dstsz, "(not shown)");
		return;
	}
	cut = rlen > max;
	if (cut)
		rlen = max;
	used = redact_sanitize(dst, dstsz - 3, r, rlen, 1);
	if (used < rlen || cut)
		strcat(dst, "...");
	free(r);
}

char *
login_error_line(char *out, size_t outsz, const char *host, const char *what,
    long status, const char *body, size_t len, const char *content_type,
    const char *request_id)
{
	struct json *j = json_parse_quiet(body, len), *codes;
	const char *err = json_get_string(j, "error"), *desc, *hint;
	char e[80], d[420], t[80], c[80];
	long code = 0;
	double num;

	if (!json_is_object(j) || err == NULL) {
		json_free(j);
		return svcerr_format(out, outsz, "login", status, body, len,
		    content_type, request_id);
	}
	desc = json_get_string(j, "error_description");
	codes = json_get(j, "error_codes");
	if (json_is_array(codes) && json_first(codes) != NULL) {
		struct json *box = json_new_object();

		/* json_get_number wants a member: box the first element. */
		if (box != NULL && json_set(box, "n", json_dup(json_first(codes))) == 0 &&
		    json_get_number(box, "n", &num) == 0 && num > 0 && num < 1e9)
			code = (long)num;
		json_free(box);
	}
	if (code == 0 && desc != NULL && strncmp(desc, "AADSTS", 6) == 0)
		code = strtol(desc + 6, NULL, 10);
	first_line(e, sizeof(e), err, 60);
	out[0] = '\0';
	util_appendf(out, outsz, "login: %s%srefused the %s: %s", host ? host : "",
	    host ? " " : "", what, e);
	if (desc != NULL) {
		/* The description starts "AADSTS<n>: "; shown once. */
		first_line(d, sizeof(d), desc, 400);
		util_appendf(out, outsz, " %s", d);
	} else if (code != 0) {
		util_appendf(out, outsz, " AADSTS%ld", code);
	}
	t[0] = c[0] = '\0';
	if (json_get_string(j, "trace_id") != NULL)
		first_line(t, sizeof(t), json_get_string(j, "trace_id"), 60);
	if (json_get_string(j, "correlation_id") != NULL)
		first_line(c, sizeof(c), json_get_string(j, "correlation_id"), 60);
	if (t[0] != '\0' || c[0] != '\0')
		util_appendf(out, outsz, " (%s%s%s%s%s)", t[0] ? "trace id " : "", t,
		    t[0] && c[0] ? ", " : "", c[0] ? "correlation id " : "", c);
	else if (request_id != NULL && *request_id != '\0')
		util_appendf(out, outsz, " (client-request-id %s)", request_id);
	if ((hint = kind_hint(code, what)) != NULL ||
	    (hint = login_hint(code, err)) != NULL)
		util_appendf(out, outsz, "; %s", hint);
	json_free(j);
	return out;
}

/* "host[:port]" of an https URL, for messages. */
static void
url_host(const char *url, char *out, size_t outsz)
{
	const char *h = strstr(url, "://");

	h = h != NULL ? h + 3 : url;
	snprintf(out, outsz, "%.*s", (int)strcspn(h, "/?#"), h);
}

int
login_fail(const char *url, const char *what, const struct http_response *rs)
{
	char line[LOGIN_LINE_MAX], host[300];

	url_host(url, host, sizeof(host));
	login_error_line(line, sizeof(line), host, what, rs->status, rs->body,
	    rs->body_len, rs->content_type, rs->request_id);
	/* 429/503 left after the retries: throttled, worth a later run (http.c). */
	if (retry_status_kind(rs->status) == RETRY_AFTER)
		return log_fail(EXIT_NETWORK, "%s; throttled (past --attempts or "
		    "--max-wait)", line);
	return log_fail(EXIT_REFUSED, "%s", line);
}

/* POSTs a refresh_token grant and takes the access token of its answer. */
static int
redeem(struct http_session *s, const char *url, const char *what,
    const char *const *pairs, char **access_token)
{
	struct http_response rs = { 0 };
	char *form = NULL;
	int rc = -1;

	*access_token = NULL;
	if ((form = login_form(pairs)) == NULL)
		return -1;
	log_debug(1, "login: redeeming the %s at %s", what, url);
	if (login_post(s, url, form, 1, &rs) < 0)
		goto out;
	if (rs.status < 200 || rs.status > 299) {
		login_fail(url, what, &rs);
		goto out;
	}
	rc = login_take_token(&rs, what, access_token);
out:
	http_response_free(&rs);
	util_free_secret(form);
	return rc;
}

int
login_redeem_bprt(struct http_session *s, const struct login_endpoints *ep,
    const char *bprt, const char *resource, char **access_token)
{
	const char *pairs[] = {
		"grant_type", "refresh_token",
		"client_id", LOGIN_BPRT_CLIENT_ID,
		"refresh_token", bprt,
		"resource", resource,
		"scope", "openid",
		NULL, NULL,
	};

	return redeem(s, ep->token_v1, "bulk enrolment token", pairs, access_token);
}

int
login_redeem_refresh(struct http_session *s, const struct login_endpoints *ep,
    const char *client_id, const char *refresh_token, char **access_token)
{
	const char *pairs[] = {
		"grant_type", "refresh_token",
		"client_id", client_id,
		"refresh_token", refresh_token,
		"scope", LOGIN_DRS_SCOPE,
		"client_info", "1",
		NULL, NULL,
	};

	return redeem(s, ep->token_v2, "refresh token", pairs, access_token);
}
