/* jwt.c - reading the join token and checking its claims locally. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "json.h"
#include "jwt.h"
#include "log.h"
#include "state.h"
#include "token.h"
#include "util.h"

static const char *const drs_audiences[] = {
	"urn:ms-drs:enterpriseregistration.windows.net",
	"01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",	/* the DRS application id */
};

int
jwt_read_token(const char *path, char **token)
{
	/* token.c reads every secret variable, in one place. */
	return token_read_secret(path, "DRSJOIN_TOKEN", "--token-file", "token",
	    token);
}

/* Decodes one base64url part of the token into a JSON object. */
static struct json *
part_json(const char *s, size_t len, const char *what)
{
	uint8_t *raw = NULL;
	size_t raw_len;
	struct json *j;
	char label[64];

	snprintf(label, sizeof(label), "token: %s", what);
	if (b64url_decode(s, len, EXIT_INPUT, label, &raw, &raw_len) < 0)
		return NULL;
	j = json_parse((const char *)raw, raw_len, EXIT_INPUT, label);
	util_free_secret_buf(raw, raw_len);
	if (j != NULL && !json_is_object(j)) {
		log_fail(EXIT_INPUT, "%s: not a JSON object", label);
		json_free(j);
		return NULL;
	}
	return j;
}

static char *
dup_claim(const struct json *p, const char *key)
{
	const char *v = json_get_string(p, key);

	return v != NULL && *v != '\0' ? util_strdup(v) : NULL;
}

static int
time_claim(const struct json *p, const char *key, long long *out)
{
	double d;

	*out = 0;
	if (json_get(p, key) == NULL)
		return 0;
	if (json_get_number(p, key, &d) < 0 || d < 0 || d > 1e13)
		return log_fail(EXIT_INPUT, "token: claim '%s' is not a time", key);
	*out = (long long)d;
	return 0;
}

static int
audience_ok(const char *aud)
{
	size_t i;

	for (i = 0; i < sizeof(drs_audiences) / sizeof(drs_audiences[0]); i++)
		if (strcmp(aud, drs_audiences[i]) == 0)
			return 1;
	/* Sovereign clouds: urn:ms-drs:<their registration host>. */
	return strncmp(aud, "urn:ms-drs:", 11) == 0 && aud[11] != '\0';
}

/* The DRS audience among aud (a string or an array), else the first seen. */
static char *
pick_audience(const struct json *p)
{
	struct json *a = json_get(p, "aud"), *e;
	const char *first = NULL;

	if (json_string(a) != NULL)
		return util_strdup(json_string(a));
	for (e = json_is_array(a) ? json_first(a) : NULL; e; e = json_next(e)) {
		const char *s = json_string(e);

		if (s == NULL)
			continue;
		if (audience_ok(s))
			return util_strdup(s);
		if (first == NULL)
			first = s;
	}
	return first != NULL ? util_strdup(first) : NULL;
}

int
jwt_parse(const char *token, struct jwt_claims *out)
{
	const char *dot1, *dot2, *p;
	struct json *hdr = NULL, *pay = NULL;
	const char *alg;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	for (p = token; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return log_fail(EXIT_INPUT, "token: contains a space or "
			    "control character at offset %zu", (size_t)(p - token));
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL) {
		if (dot2 != NULL && strchr(dot2 + 1, '.') != NULL)
			return log_fail(EXIT_INPUT, "token: an encrypted JWE, not an "
			    "access token (expected three dot-separated parts)");
		return log_fail(EXIT_INPUT, "token: not a JWT (expected three "
		    "dot-separated parts)");
	}
	if ((hdr = part_json(token, (size_t)(dot1 - token), "header")) == NULL)
		goto out;
	alg = json_get_string(hdr, "alg");
	if (alg == NULL || strcmp(alg, "none") == 0 || dot2[1] == '\0') {
		log_fail(EXIT_INPUT, "token: unsigned (alg %s), the service "
		    "would refuse it", alg ? alg : "missing");
		goto out;
	}
	if ((pay = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload")) == NULL)
		goto out;
	if (time_claim(pay, "exp", &out->exp) < 0 ||
	    time_claim(pay, "nbf", &out->nbf) < 0 ||
	    time_claim(pay, "iat", &out->iat) < 0)
		goto out;
	out->tid = dup_claim(pay, "tid");
	out->upn = dup_claim(pay, "upn");
	if (out->upn == NULL)
		out->upn = dup_claim(pay, "unique_name");
	out->oid = dup_claim(pay, "oid");
	out->aud = pick_audience(pay);
	rc = 0;
out:
	json_free(hdr);
	json_free(pay);
	if (rc < 0)
		jwt_claims_free(out);
	return rc;
}

int
jwt_check(const struct jwt_claims *c, time_t now)
{
	if (c->exp == 0)
		return log_fail(EXIT_INPUT, "token: no expiry (claim 'exp')");
	if ((long long)now > c->exp + JWT_SKEW)
		return log_fail(EXIT_INPUT, "token: expired %lld s ago; get a "
		    "new one", (long long)now - c->exp);
	if (c->nbf != 0 && (long long)now + JWT_SKEW < c->nbf)
		return log_fail(EXIT_INPUT, "token: not valid before %lld s "
		    "from now (is the clock right?)", c->nbf - (long long)now);
	if (c->aud == NULL)
		return log_fail(EXIT_INPUT, "token: no audience (claim 'aud')");
	if (!audience_ok(c->aud))
		return log_fail(EXIT_INPUT, "token: audience '%s' is not the "
		    "Device Registration Service (want %s or %s)", c->aud,
		    drs_audiences[0], drs_audiences[1]);
	if (c->tid == NULL)
		return log_fail(EXIT_INPUT, "token: no tenant id (claim 'tid')");
	return 0;
}

int
jwt_check_audience(const struct jwt_claims *c, const char *join_resource_id)
{
	if (c->aud == NULL)
		return log_fail(EXIT_INPUT, "token: no audience (claim 'aud')");
	if (strcmp(c->aud, drs_audiences[1]) == 0 || join_resource_id == NULL ||
	    strcasecmp(c->aud, join_resource_id) == 0)
		return 0;
	return log_fail(EXIT_INPUT, "token: audience '%.200s' is not this "
	    "service's: discovery names JoinResourceId '%.200s' (or the DRS "
	    "application id %s); was the token made for another cloud?",
	    c->aud, join_resource_id, drs_audiences[1]);
}

void
jwt_claims_free(struct jwt_claims *c)
{
	if (c == NULL)
		return;
	free(c->tid);
	free(c->upn);
	free(c->oid);
	free(c->aud);
	memset(c, 0, sizeof(*c));
}
