/* prtrequest.c - the PRT protocol's requests and answers (prtrequest.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "answer.h"
#include "b64.h"
#include "cert.h"
#include "cli.h"
#include "cloud.h"
#include "jwe.h"
#include "jws.h"
#include "keys.h"
#include "keystore.h"
#include "log.h"
#include "login.h"
#include "prtrequest.h"
#include "prtstore.h"
#include "retry.h"
#include "state.h"
#include "util.h"

#define JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define ID_TOKEN_MAX (32 * 1024)
#define NONCE_MAX 4096
#define CERT_FILE_MAX (64 * 1024)
#define SIGN_IN_AGAIN "sign in again with 'drsjoin prt'"

/* "https://host[:port]" of url into out; -1 when it is no https URL. */
static int
origin_of(const char *url, char *out, size_t n)
{
	size_t len;

	if (url == NULL || strncasecmp(url, "https://", 8) != 0)
		return -1;
	len = 8 + strcspn(url + 8, "/?#");
	if (len == 8 || len >= n)
		return -1;
	memcpy(out, url, len);
	out[len] = '\0';
	return 0;
}

char *
prtreq_url(const struct json *rec)
{
	static const char *const names[] = { "public", "usgov", "china" };
	const char *durl = json_get_string(json_get_object(rec, "endpoints"), "url");
	const char *tid = json_get_string(rec, "tenant_id");
	const struct cloud *c;
	char o[512], named[512];
	size_t i;

	if (tid == NULL || !util_is_guid(tid, strlen(tid)) ||
	    origin_of(durl, o, sizeof(o)) < 0) {
		log_fail(EXIT_IO, "prt: the identity record names no usable "
		    "registration service or tenant id");
		return NULL;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((c = cloud_find(names[i])) != NULL &&
		    strcasecmp(o + 8, c->drs_host) == 0)
			return util_asprintf("https://%s/%s/oauth2/token",
			    c->login_host, tid);
	/* Not a cloud's: only the service the user names now (an emulator). */
	if (opts.discovery_url != NULL &&
	    origin_of(opts.discovery_url, named, sizeof(named)) == 0 &&
	    strcasecmp(named, o) == 0)
		return util_asprintf("%s/%s/oauth2/token", o, tid);
	log_fail(EXIT_USAGE, "prt: this device joined through %s, no cloud's "
	    "registration service: name it with --discovery-url to send PRT "
	    "requests to its login endpoint", o);
	return NULL;
}

/* The AADSTS code of an error answer, or 0. */
static long
aadsts_of(const struct http_response *rs)
{
	struct json *j = json_parse_quiet(rs->body, rs->body_len);
	const char *d = json_get_string(j, "error_description");
	long code = 0;

	if (d != NULL && strncmp(d, "AADSTS", 6) == 0)
		code = strtol(d + 6, NULL, 10);
	json_free(j);
	return code;
}

/*
 * login.h's line for a PRT request: without its "login: " and, when there
 * is a hint of the PRT's own, without the login hint (about refresh
 * tokens and BPRTs), which would mislead; then with this one.
 */
static const char *
own_line(char *line, const char *hint)
{
	char *p = line, *c;

	if (strncmp(p, "login: ", 7) == 0)
		p += 7;
	if (hint == NULL)
		return p;
	if ((c = strstr(p, "correlation id")) != NULL && (c = strchr(c, ')')) != NULL)
		c[1] = '\0';
	util_appendf(p, LOGIN_LINE_MAX - (size_t)(p - line), "; %s", hint);
	return p;
}

/* Reports an error answer (login.h's line) with a hint; -1. */
static int
fail_answer(const char *url, const char *what, const struct http_response *rs)
{
	char line[LOGIN_LINE_MAX], host[300];
	const char *hint = NULL;
	long code = aadsts_of(rs);

	answer_url_host(url, host, sizeof(host));
	login_error_line(line, sizeof(line), host, what, rs->status, rs->body,
	    rs->body_len, rs->content_type, rs->request_id);
	if (retry_status_kind(rs->status) == RETRY_AFTER)
		return log_fail(EXIT_NETWORK, "prt: %s; throttled (past --attempts "
		    "or --max-wait)", own_line(line, NULL));
	if (code == 700003 || code == 135011)
		hint = "this device was deleted or disabled in the tenant "
		    "('drsjoin status --check')";
	else if (code == 70000 || code == 9002313)
		hint = "the PRT expired or was revoked: " SIGN_IN_AGAIN;
	return log_fail(EXIT_REFUSED, "prt: %s", own_line(line, hint));
}

/*
 * POSTs form; 0 with a 200 answer in *rs (with pass, any 4xx answer too),
 * else -1 (reported).
 */
static int
post_pass(struct http_session *s, const char *url, const char *what,
    const char *form, int pass, struct http_response *rs)
{
	/* Nothing is created twice: a PRT request sent again is harmless. */
	if (login_post_as(s, "prt", url, form, 1, rs) < 0)
		return -1;
	if (rs->status != 200 && !(pass && rs->status >= 400 && rs->status < 500 &&
	    rs->status != 429))
		return fail_answer(url, what, rs);
	return 0;
}

static int
post(struct http_session *s, const char *url, const char *what,
    const char *form, struct http_response *rs)
{
	return post_pass(s, url, what, form, 0, rs);
}

/* A fresh srv_challenge nonce (*nonce: util_free_secret). */
static int
get_nonce(struct http_session *s, const char *url, char **nonce)
{
	struct http_response rs = { 0 };
	struct json *ans = NULL;
	const char *n;
	int rc = -1;

	*nonce = NULL;
	if (post(s, url, "the nonce request", "grant_type=srv_challenge", &rs) < 0 ||
	    (ans = answer_parse("prt: the nonce", &rs)) == NULL ||
	    answer_string("prt: the nonce", ans, NULL, "Nonce", ANSWER_WORD,
	    NONCE_MAX, 1, &n) < 0 || (*nonce = util_strdup(n)) == NULL)
		goto out;
	rc = 0;
out:
	json_free(ans);
	http_response_free(&rs);
	return rc;
}

int
prtreq_seconds(const struct json *o, const char *key, int required, long *out)
{
	struct json *m = json_get(o, key);
	const char *s;
	double d = 0;
	char *end = NULL;

	*out = 0;
	if (m == NULL || json_is_null(m)) {
		if (!required)
			return 0;
		return log_fail(EXIT_NETWORK, "prt: the answer has no %s", key);
	}
	if (json_is_string(m)) {
		s = json_string(m);
		if (*s < '0' || *s > '9' || strlen(s) > 12)
			goto bad;
		d = (double)strtol(s, &end, 10);
		if (*end != '\0')
			goto bad;
	} else if (json_get_number(o, key, &d) < 0) {
		goto bad;
	}
	if (d < 1 || d > (double)PRTREQ_LIFETIME_MAX || d != (double)(long)d)
		goto bad;
	*out = (long)d;
	return 0;
bad:
	return log_fail(EXIT_NETWORK, "prt: %s in the answer is not a number of "
	    "seconds from 1 to %ld", key, PRTREQ_LIFETIME_MAX);
}

/*
 * The payload of a JWT (signed or not: the id_token is for display only)
 * as a JSON object, each part strict base64url. NULL (EXIT_NETWORK).
 */
static struct json *
jwt_payload(const char *tok, const char *what)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	struct json *j = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	char why[128];

	if (d2 == NULL || strchr(d2 + 1, '.') != NULL) {
		log_fail(EXIT_NETWORK, "%s: not a JWT (three parts)", what);
		return NULL;
	}
	snprintf(why, sizeof(why), "%.64s's payload", what);
	if (b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), EXIT_NETWORK, why, &p, &n) < 0)
		return NULL;
	if ((j = json_parse(n ? (const char *)p : "", n, EXIT_NETWORK, why)) != NULL &&
	    !json_is_object(j)) {
		log_fail(EXIT_NETWORK, "%s: not a JSON object", why);
		json_free(j);
		j = NULL;
	}
	util_free_secret_buf(p, n);
	return j;
}

/* The tenant a token (member key of ans, a JWT) names must be tenant. */
static int
check_token_tenant(const struct json *ans, const char *key, const char *tenant,
    int required, struct json **claims)
{
	struct json *c = NULL;
	const char *tok, *tid;
	char what[64];
	int rc = -1;

	snprintf(what, sizeof(what), "prt: %s", key);
	if (answer_string("prt", ans, NULL, key, ANSWER_WORD, ID_TOKEN_MAX * 2,
	    required, &tok) < 0)
		return -1;
	if (tok == NULL)
		return 0;
	if ((c = jwt_payload(tok, what)) == NULL ||
	    answer_string(what, c, NULL, "tid", ANSWER_GUID, 36, 1, &tid) < 0)
		goto out;
	if (strcasecmp(tid, tenant) != 0) {
		log_fail(EXIT_NETWORK, "prt: the answer's %s is for tenant %s, not "
		    "the device's tenant %s", key, tid, tenant);
		goto out;
	}
	if (claims != NULL) {
		*claims = c;
		c = NULL;
	}
	rc = 0;
out:
	json_free(c);
	return rc;
}

/* client_info, when present: base64url {"uid", "utid"}; utid the tenant. */
static int
check_client_info(const struct json *ans, const char *tenant)
{
	struct json *j = NULL;
	const char *ci, *utid;
	uint8_t *p = NULL;
	size_t n = 0;
	int rc = -1;

	if (answer_string("prt", ans, NULL, "client_info", ANSWER_WORD, 4096, 0,
	    &ci) < 0)
		return -1;
	if (ci == NULL)
		return 0;
	if (b64url_decode(ci, strlen(ci), EXIT_NETWORK, "prt: client_info", &p, &n) < 0 ||
	    (j = json_parse(n ? (const char *)p : "", n, EXIT_NETWORK,
	    "prt: client_info")) == NULL ||
	    answer_string("prt: client_info", j, NULL, "utid", ANSWER_GUID, 36, 0,
	    &utid) < 0)
		goto out;
	if (utid != NULL && strcasecmp(utid, tenant) != 0) {
		log_fail(EXIT_NETWORK, "prt: the answer's client_info is for tenant "
		    "%s, not the device's tenant %s", utid, tenant);
		goto out;
	}
	rc = 0;
out:
	json_free(j);
	free(p);
	return rc;
}

/* The user of the id_token into r: oid (required), upn, name. */
static int
set_user(struct json *r, const struct json *idc)
{
	const char *oid, *upn = NULL, *name;
	char low[37];
	size_t i;

	if (answer_string("prt: id_token", idc, NULL, "oid", ANSWER_GUID, 36, 1, &oid) < 0 ||
	    answer_string("prt: id_token", idc, NULL, "upn", ANSWER_TEXT,
	    ANSWER_TEXT_MAX, 0, &upn) < 0 ||
	    (upn == NULL && answer_string("prt: id_token", idc, NULL,
	    "preferred_username", ANSWER_TEXT, ANSWER_TEXT_MAX, 0, &upn) < 0) ||
	    answer_string("prt: id_token", idc, NULL, "name", ANSWER_TEXT,
	    ANSWER_TEXT_MAX, 0, &name) < 0)
		return -1;
	for (i = 0; i < 36; i++)
		low[i] = (char)tolower((unsigned char)oid[i]);
	low[36] = '\0';
	if (json_set_string(r, "oid", low) < 0 ||
	    (upn != NULL && json_set_string(r, "upn", upn) < 0) ||
	    (name != NULL && json_set_string(r, "name", name) < 0))
		return -1;
	return 0;
}

/* The PRT answer's own members: token_type pop, the PRT, the session key. */
static int
check_prt_members(const struct json *ans, const char **prt, const char **skj,
    long *life)
{
	const char *tt;
	struct jwe *j = NULL;

	if (answer_string("prt", ans, NULL, "token_type", ANSWER_WORD,
	    ANSWER_WORD_MAX, 1, &tt) < 0 ||
	    answer_string("prt", ans, NULL, "refresh_token", ANSWER_WORD,
	    PRTSTORE_PRT_MAX, 1, prt) < 0 ||
	    answer_string("prt", ans, NULL, "session_key_jwe", ANSWER_WORD,
	    PRTSTORE_JWE_MAX, 1, skj) < 0 ||
	    prtreq_seconds(ans, "refresh_token_expires_in", 1, life) < 0)
		return -1;
	if (strcasecmp(tt, "pop") != 0)
		return log_fail(EXIT_NETWORK, "prt: token_type in the answer is "
		    "not pop");
	if (jwe_parse(*skj, strlen(*skj), JWE_SESSION_KEY, EXIT_NETWORK,
	    "prt: session_key_jwe in the answer", &j) < 0)
		return -1;
	jwe_free(j);
	return 0;
}

int
prtreq_parse_answer(const char *body, size_t len, const char *tenant,
    const char *device_id, time_t now, struct json **out)
{
	struct http_response rs = { 0 };
	struct json *ans = NULL, *idc = NULL, *r = NULL;
	const char *prt, *skj;
	long life;
	int rc = -1;

	*out = NULL;
	rs.status = 200;
	rs.body = (char *)body;
	rs.body_len = len;
	rs.content_type = (char *)"application/json";
	if ((ans = answer_parse("prt: the PRT answer", &rs)) == NULL ||
	    check_prt_members(ans, &prt, &skj, &life) < 0 ||
	    check_token_tenant(ans, "id_token", tenant, 1, &idc) < 0 ||
	    check_client_info(ans, tenant) < 0)
		goto out;
	if ((r = json_new_object()) == NULL ||
	    json_set_string(r, "schema", PRTSTORE_SCHEMA) < 0 ||
	    set_user(r, idc) < 0 ||
	    json_set_string(r, "tenant_id", tenant) < 0 ||
	    json_set_string(r, "device_id", device_id) < 0 ||
	    json_set_string(r, "prt", prt) < 0 ||
	    json_set_string(r, "session_key_jwe", skj) < 0 ||
	    prtstore_set_time(r, "obtained", now) < 0 ||
	    prtstore_set_time(r, "renewed", now) < 0 ||
	    prtstore_set_time(r, "expires", now + life) < 0)
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	json_free(r);
	json_free(idc);
	json_free(ans);
	return rc;
}

/* The device key and certificate (DER) of the record's identity. */
static int
device_creds(const struct json *rec, struct keystore_key **dk, struct cert **c)
{
	const char *path = json_get_string(rec, "certificate"), *rel;
	char *buf = NULL, *abs = NULL;
	size_t len = 0;
	int rc = -1;

	*dk = NULL;
	*c = NULL;
	if (path == NULL || (rel = state_rel_any(path)) == NULL)
		return log_fail(EXIT_IO, "prt: the identity record names no "
		    "certificate in this state dir");
	if ((abs = state_abs(rel)) == NULL)
		return -1;
	if ((rc = state_read(rel, CERT_FILE_MAX, &buf, &len)) != 0) {
		if (rc == 1)
			log_fail(EXIT_IO, "%s: missing", abs);
		rc = -1;
		goto out;
	}
	rc = -1;
	if (cert_parse_pem(buf, len, EXIT_IO, abs, c) < 0 ||
	    keystore_load_device(json_get_object(rec, "keys"), dk) < 0)
		goto out;
	rc = 0;
out:
	free(buf);
	free(abs);
	return rc;
}

/* The form of a jwt-bearer request carrying jwt (tgt for the PRT request). */
static char *
bearer_form(const char *jwt, int tgt)
{
	const char *pairs[] = {
		"grant_type", JWT_BEARER, "request", jwt, "client_info", "1",
		"windows_api_version", "2.0", tgt ? "tgt" : NULL, "true", NULL,
	};

	return login_form(pairs);
}

/* RS256-signs claims with the device key and POSTs them; 200 in *rs. */
static int
post_signed(struct http_session *s, const char *url, const struct json *rec,
    const char *what, const struct json *claims, int tgt, int pass,
    struct http_response *rs)
{
	struct keystore_key *dk = NULL;
	struct cert *c = NULL;
	const uint8_t *der;
	char *payload = NULL, *jwt = NULL, *form = NULL;
	size_t der_len;
	int rc = -1;

	if (device_creds(rec, &dk, &c) < 0 ||
	    (payload = json_print(claims, 0)) == NULL)
		goto out;
	der = cert_der(c, &der_len);
	if (jws_rs256_x5c(keystore_key(dk), der, der_len, payload,
	    strlen(payload), 0, &jwt) < 0 || (form = bearer_form(jwt, tgt)) == NULL)
		goto out;
	rc = post_pass(s, url, what, form, pass, rs);
out:
	util_free_secret(form);
	util_free_secret(jwt);
	util_free_secret(payload);
	cert_free(c);
	keystore_key_free(dk);
	return rc;
}

/* The session key of a new answer must unwrap with the transport key. */
static int
check_unwraps(const struct json *rec, const struct json *r)
{
	struct keystore_key *tk = NULL;
	const char *skj = json_get_string(r, "session_key_jwe");
	uint8_t key[KDF_KEY_LEN];
	int rc;

	if (keystore_load_transport(json_get_object(rec, "keys"), &tk) < 0)
		return -1;
	rc = jwe_session_key(skj, strlen(skj), keystore_key(tk), EXIT_NETWORK,
	    "prt: session_key_jwe in the answer", key);
	util_wipe(key, sizeof(key));
	keystore_key_free(tk);
	return rc;
}

int
prtreq_get(struct http_session *s, const char *url, const struct json *rec,
    enum prtreq_cred kind, const char *secret, const char *username,
    struct json **out)
{
	struct http_response rs = { 0 };
	struct json *claims = NULL;
	char *nonce = NULL;
	int pw = kind == PRTREQ_PASSWORD, rc = -1;

	*out = NULL;
	if (get_nonce(s, url, &nonce) < 0 || (claims = json_new_object()) == NULL ||
	    json_set_string(claims, "client_id", pw ? PRTREQ_PASSWORD_CLIENT_ID :
	    LOGIN_BROKER_CLIENT_ID) < 0 ||
	    json_set_string(claims, "request_nonce", nonce) < 0 ||
	    json_set_string(claims, "scope", pw ? "openid aza ugs" : "openid aza") < 0 ||
	    json_set_string(claims, "grant_type", pw ? "password" : "refresh_token") < 0 ||
	    (pw && (json_set_string(claims, "username", username) < 0 ||
	    json_set_string(claims, "password", secret) < 0)) ||
	    (!pw && json_set_string(claims, "refresh_token", secret) < 0))
		goto out;
	if (post_signed(s, url, rec, pw ? "password sign-in" : "refresh token",
	    claims, 1, 0, &rs) < 0 ||
	    prtreq_parse_answer(rs.body, rs.body_len, json_get_string(rec, "tenant_id"),
	    json_get_string(rec, "device_id"), time(NULL), out) < 0 ||
	    check_unwraps(rec, *out) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		json_free(*out);
		*out = NULL;
	}
	util_free_secret(nonce);
	json_free(claims);
	http_response_free(&rs);
	return rc;
}

/* The standard claims of a request with the PRT, added to claims. */
static int
use_claims(struct json *claims, const char *url, const struct json *prt,
    const char *nonce)
{
	char host[300];
	time_t now = time(NULL);

	answer_url_host(url, host, sizeof(host));
	if (json_set_string(claims, "grant_type", "refresh_token") < 0 ||
	    json_set_string(claims, "refresh_token",
	    json_get_string(prt, "prt")) < 0 ||
	    json_set_string(claims, "request_nonce", nonce) < 0 ||
	    json_set_string(claims, "iss", "aad:brokerplugin") < 0 ||
	    json_set_string(claims, "aud", host) < 0 ||
	    json_set_number(claims, "iat", (double)now) < 0 ||
	    json_set_number(claims, "exp", (double)(now + 300)) < 0)
		return -1;
	return 0;
}

/* The decrypted answer: a JSON object naming the device's tenant. */
static int
open_answer(const struct http_response *rs, const uint8_t key[KDF_KEY_LEN],
    const char *tenant, struct json **plain)
{
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	*plain = NULL;
	if (jwe_decrypt_answer(rs->body, rs->body_len, key, EXIT_NETWORK,
	    "prt: the answer", &text, &len) < 0)
		return -1;
	if ((*plain = json_parse(text, len, EXIT_NETWORK,
	    "prt: the decrypted answer")) == NULL)
		goto out;
	if (!json_is_object(*plain)) {
		log_fail(EXIT_NETWORK, "prt: the decrypted answer is not a JSON object");
		goto out;
	}
	if (check_token_tenant(*plain, "id_token", tenant, 0, NULL) < 0 ||
	    check_token_tenant(*plain, "access_token", tenant, 0, NULL) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		json_free(*plain);
		*plain = NULL;
	}
	util_free_secret_buf(text, len + 1);
	return rc;
}

int
prtreq_use(struct http_session *s, const char *url, const struct json *rec,
    const struct json *prt, struct json *claims, struct json **plain)
{
	struct http_response rs = { 0 };
	uint8_t key[KDF_KEY_LEN];
	char *nonce = NULL, *payload = NULL, *jwt = NULL, *form = NULL;
	int rc = -1, have_key = 0;

	*plain = NULL;
	if (strcasecmp(json_get_string(prt, "device_id"),
	    json_get_string(rec, "device_id") ? json_get_string(rec, "device_id") : "") != 0)
		return log_fail(EXIT_IO, "prt: the stored PRT of %s was issued to "
		    "device %s, not this one: %s", json_get_string(prt, "oid"),
		    json_get_string(prt, "device_id"), SIGN_IN_AGAIN);
	if (get_nonce(s, url, &nonce) < 0 || use_claims(claims, url, prt, nonce) < 0 ||
	    (payload = json_print(claims, 0)) == NULL)
		goto out;
	if (prtstore_session_key(json_get_object(rec, "keys"), prt, key) < 0)
		goto out;
	have_key = 1;
	if (jws_hs256(key, payload, strlen(payload), JWS_TYP | JWS_KDF_V2, &jwt) < 0 ||
	    (form = bearer_form(jwt, 0)) == NULL ||
	    post(s, url, "request with the PRT", form, &rs) < 0 ||
	    open_answer(&rs, key, json_get_string(rec, "tenant_id"), plain) < 0)
		goto out;
	rc = 0;
out:
	if (have_key)
		util_wipe(key, sizeof(key));
	util_free_secret(form);
	util_free_secret(jwt);
	util_free_secret(payload);
	util_free_secret(nonce);
	http_response_free(&rs);
	return rc;
}

int
prtreq_renew(struct http_session *s, const char *url, const struct json *rec,
    struct json *prt)
{
	struct json *claims = json_new_object(), *plain = NULL;
	const char *np;
	long life;
	time_t now = time(NULL);
	int rc = -1;

	if (claims == NULL ||
	    json_set_string(claims, "client_id", PRTREQ_PASSWORD_CLIENT_ID) < 0 ||
	    json_set_string(claims, "scope", "openid aza ugs") < 0 ||
	    prtreq_use(s, url, rec, prt, claims, &plain) < 0)
		goto out;
	if (answer_string("prt: the renewal", plain, NULL, "refresh_token",
	    ANSWER_WORD, PRTSTORE_PRT_MAX, 1, &np) < 0 ||
	    prtreq_seconds(plain, "refresh_token_expires_in", 1, &life) < 0)
		goto out;
	/* No new session key comes with a renewal: the stored one stays. */
	if (json_set_string(prt, "prt", np) < 0 ||
	    prtstore_set_time(prt, "renewed", now) < 0 ||
	    prtstore_set_time(prt, "expires", now + life) < 0)
		goto out;
	rc = 0;
out:
	json_free(plain);
	json_free(claims);
	return rc;
}

int
prtreq_cookie(struct http_session *s, const char *url, const struct json *rec,
    const struct json *prt, char **value, char **nonce)
{
	struct json *claims = json_new_object();
	uint8_t key[KDF_KEY_LEN];
	char *payload = NULL;
	int rc = -1, have_key = 0;

	*value = *nonce = NULL;
	if (claims == NULL || get_nonce(s, url, nonce) < 0 ||
	    json_set_string(claims, "refresh_token", json_get_string(prt, "prt")) < 0 ||
	    json_set_string(claims, "request_nonce", *nonce) < 0 ||
	    json_set_string(claims, "is_primary", "true") < 0 ||
	    (payload = json_print(claims, 0)) == NULL ||
	    prtstore_session_key(json_get_object(rec, "keys"), prt, key) < 0)
		goto out;
	have_key = 1;
	if (jws_hs256(key, payload, strlen(payload), JWS_KDF_V2, value) < 0)
		goto out;
	rc = 0;
out:
	if (have_key)
		util_wipe(key, sizeof(key));
	if (rc < 0) {
		util_free_secret(*nonce);
		*nonce = NULL;
	}
	util_free_secret(payload);
	json_free(claims);
	return rc;
}

int
prtreq_device_check(struct http_session *s, const char *url,
    const struct json *rec, const char **state)
{
	struct http_response rs = { 0 };
	struct json *claims = json_new_object(), *ans = NULL;
	char *nonce = NULL;
	long code;
	int rc = -1;

	*state = NULL;
	if (claims == NULL || get_nonce(s, url, &nonce) < 0 ||
	    json_set_string(claims, "client_id", LOGIN_BROKER_CLIENT_ID) < 0 ||
	    json_set_string(claims, "request_nonce", nonce) < 0 ||
	    json_set_string(claims, "grant_type", "device_token") < 0 ||
	    json_set_string(claims, "resource", LOGIN_DRS_APP_ID) < 0 ||
	    post_signed(s, url, rec, "device check", claims, 0, 1, &rs) < 0)
		goto out;
	if (rs.status == 200) {
		/* Answered: the device authenticates (the token is not kept). */
		if ((ans = answer_parse("status: the device check", &rs)) == NULL)
			goto out;
		*state = "ok";
	} else if ((code = aadsts_of(&rs)) == 700003) {
		*state = "deleted";
	} else if (code == 135011) {
		*state = "disabled";
	} else {
		fail_answer(url, "device check", &rs);
		goto out;
	}
	rc = 0;
out:
	json_free(ans);
	json_free(claims);
	util_free_secret(nonce);
	http_response_free(&rs);
	return rc;
}
