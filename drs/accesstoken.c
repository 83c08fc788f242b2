/*
 * accesstoken.c - "drsjoin token": an access token obtained with a stored
 * PRT (the HS256 request signed with the key derived from its session key,
 * the JWE answer decrypted: prtrequest.h). Named so because token.c is the
 * join's token sources.
 *
 * Access tokens are cached per user, client and resource (or scope) in
 * STATE/tokens/OID/HASH.json (0600), HASH the SHA-256 of "client\nresource"
 * in hex, until 5 minutes before they expire. Written by state_replace_cache
 * (no fsync): an entry lost or torn by a power loss is only a miss.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accesstoken.h"
#include "answer.h"
#include "cli.h"
#include "crypto.h"
#include "doc.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "login.h"
#include "prt.h"
#include "prtrequest.h"
#include "prtstore.h"
#include "sandbox.h"
#include "state.h"
#include "util.h"

#define CACHE_DIR "tokens"
#define CACHE_MARGIN 300		/* seconds before expiry a cached token goes */
#define RENEW_AFTER (4 * 3600)		/* a PRT older than this is renewed first */
#define CACHE_MAX (128 * 1024)

static void
usage(void)
{
	printf("usage: drsjoin token (--resource R | --scope S) [--client-id C]\n"
	    "                     [--user USER] [--raw] [--fresh]\n"
	    "\n"
	    "Gets an access token with a user's stored PRT ('drsjoin prt'): a request\n"
	    "signed with the key derived from the PRT's session key, its encrypted\n"
	    "answer decrypted. The token carries this device's id, as Conditional\n"
	    "Access asks. Prints JSON (access_token, expires_on, token_type, and\n"
	    "resource or scope), or with --raw the token alone, for an\n"
	    "\"Authorization: Bearer TOKEN\" header.\n"
	    "\n"
	    "  --resource R     the resource (v1), e.g. https://graph.microsoft.com\n"
	    "  --scope S        or the scope (v2)\n"
	    "  --client-id C    the client (default the broker client\n"
	    "                   " LOGIN_BROKER_CLIENT_ID ")\n"
	    "  --user USER      which stored PRT (UPN or object id), when several\n"
	    "  --raw            print the access token alone\n"
	    "  --fresh          get a new token even when a cached one is still good\n"
	    "\n"
	    "A PRT last renewed more than 4 hours ago is renewed first. Tokens are\n"
	    "cached per user, client and resource in the state dir (0600) until 5\n"
	    "minutes before they expire. A revoked or expired PRT exits 5: sign in\n"
	    "again with 'drsjoin prt'.\n");
}

struct token_args {
	const char *resource, *scope, *client_id, *user;
	int raw, fresh;
};

static int
parse(int argc, char **argv, struct token_args *a)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "resource", required_argument, NULL, 'r' },
		{ "scope", required_argument, NULL, 's' },
		{ "client-id", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'U' },
		{ "raw", no_argument, NULL, 'R' },
		{ "fresh", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	char why[128];
	int c;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		switch (c) {
		case 'h': usage(); return 1;
		case 'r': a->resource = optarg; break;
		case 's': a->scope = optarg; break;
		case 'c': a->client_id = optarg; break;
		case 'U': a->user = optarg; break;
		case 'R': a->raw = 1; break;
		case 'F': a->fresh = 1; break;
		default: return cli_bad_option("token", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage("token", "unexpected argument '%s'", CLI_SHOWN(argv[optind]));
	if ((a->resource == NULL) == (a->scope == NULL))
		return cli_usage("token", "give one of --resource and --scope");
	if (a->client_id == NULL)
		a->client_id = LOGIN_BROKER_CLIENT_ID;
	if (!util_is_guid(a->client_id, strlen(a->client_id)))
		return cli_usage("token", "--client-id '%s' is not a GUID",
		    CLI_SHOWN(a->client_id));
	if (!answer_text_ok(a->resource ? a->resource : a->scope,
	    strlen(a->resource ? a->resource : a->scope), why, sizeof(why)) ||
	    strlen(a->resource ? a->resource : a->scope) > ANSWER_URL_MAX)
		return cli_usage("token", "%s is not usable text",
		    a->resource ? "--resource" : "--scope");
	return 0;
}

/* "tokens/OID/HASH.json" for the request a names. */
static char *
cache_rel(const struct json *prt, const struct token_args *a)
{
	static const char hex[] = "0123456789abcdef";
	char *key, name[65];
	uint8_t h[32];
	size_t i;
	int rc;

	if ((key = util_asprintf("%s\n%s\n%s", a->client_id, a->resource ?
	    "resource" : "scope", a->resource ? a->resource : a->scope)) == NULL)
		return NULL;
	rc = crypto_sha256(key, strlen(key), h);
	free(key);
	if (rc < 0)
		return NULL;
	for (i = 0; i < 32; i++) {
		name[2 * i] = hex[h[i] >> 4];
		name[2 * i + 1] = hex[h[i] & 15];
	}
	name[64] = '\0';
	return util_asprintf(CACHE_DIR "/%s/%s.json", json_get_string(prt, "oid"), name);
}

/* What token prints: access_token, expires_on, token_type, resource or scope. */
static struct json *
token_out(const char *at, double expires_on, const char *tt, const struct token_args *a)
{
	struct json *o;

	if ((o = json_new_object()) == NULL ||
	    json_set_string(o, "access_token", at) < 0 ||
	    json_set_number(o, "expires_on", expires_on) < 0 ||
	    json_set_string(o, "token_type", tt ? tt : "Bearer") < 0 ||
	    json_set_string(o, a->resource ? "resource" : "scope",
	    a->resource ? a->resource : a->scope) < 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

/*
 * A cached answer for this request still good for 5 minutes: 0 with *out,
 * 1 none, -1. The entry is written without fsync (cache_put), so a power
 * loss may leave anything in it: it must name this client and resource or
 * scope, and only its known fields are taken.
 */
static int
cache_get(const char *rel, const struct token_args *a, struct json **out)
{
	struct json *j;
	const char *at = NULL, *tt = NULL, *cid, *what;
	char *buf = NULL, why[512];
	size_t len = 0;
	double exp = 0;
	int rc;

	*out = NULL;
	/* Not a file to read (a link, too large, unreadable): a miss, said. */
	log_catch(why, sizeof(why));
	rc = state_read(rel, CACHE_MAX, &buf, &len);
	log_catch(NULL, 0);
	if (rc < 0)
		log_note("token: the cached entry is not used (%s): a new token "
		    "replaces it", why);
	if (rc != 0)
		return 1;
	/* A damaged entry is only a miss: a new token replaces it. */
	j = json_parse_quiet(buf, len);
	util_free_secret_buf(buf, len);
	log_mute(1);
	rc = answer_string("token", j, NULL, "access_token", ANSWER_WORD,
	    LOGIN_TOKEN_MAX, 1, &at) < 0 || answer_string("token", j, NULL,
	    "token_type", ANSWER_WORD, ANSWER_WORD_MAX, 0, &tt) < 0 ? -1 : 0;
	log_mute(0);
	cid = json_get_string(j, "client_id");
	what = json_get_string(j, a->resource ? "resource" : "scope");
	if (j == NULL || rc < 0 || json_get_number(j, "expires_on", &exp) < 0 ||
	    exp - CACHE_MARGIN <= (double)time(NULL) || cid == NULL ||
	    strcmp(cid, a->client_id) != 0 || what == NULL ||
	    strcmp(what, a->resource ? a->resource : a->scope) != 0 ||
	    (*out = token_out(at, exp, tt, a)) == NULL) {
		json_free(j);
		return 1;
	}
	json_free(j);
	return 0;
}

/* The answer o, with the client it was for, as the entry cache_get reads. */
static int
cache_put(const struct json *prt, const char *rel, const struct json *o,
    const struct token_args *a)
{
	struct json *e;
	char *dir, *text = NULL;
	int rc = -1;

	if ((dir = util_asprintf(CACHE_DIR "/%s", json_get_string(prt, "oid"))) == NULL)
		return -1;
	if ((e = json_dup(o)) != NULL && json_set_string(e, "client_id", a->client_id) == 0 &&
	    state_mkdir(CACHE_DIR) == 0 && state_mkdir(dir) == 0 &&
	    (text = json_print(e, JSON_SORT)) != NULL) {
		rc = state_replace_cache(rel, text, strlen(text), 0600) < 0 ? -1 : 0;
		util_free_secret(text);
	}
	json_free(e);
	free(dir);
	return rc;
}

/* The output of a decrypted answer (token_out). */
static struct json *
answer_out(const struct json *plain, const struct token_args *a)
{
	const char *at, *tt;
	long life;

	if (answer_string("token", plain, NULL, "access_token", ANSWER_WORD,
	    LOGIN_TOKEN_MAX, 1, &at) < 0 ||
	    answer_string("token", plain, NULL, "token_type", ANSWER_WORD,
	    ANSWER_WORD_MAX, 0, &tt) < 0 ||
	    prtreq_seconds(plain, "expires_in", 1, &life) < 0)
		return NULL;
	return token_out(at, (double)(time(NULL) + life), tt, a);
}

/* A new access token with the PRT (renewed first when it is old). */
static struct json *
fetch(struct http_session *s, const char *url, const struct json *rec,
    struct json *prt, const struct token_args *a)
{
	struct json *claims = NULL, *plain = NULL, *o = NULL;
	char *redirect = NULL;

	if (time(NULL) - prtstore_time(prt, "renewed") > RENEW_AFTER) {
		log_debug(1, "token: the PRT is older than 4 hours: renewing it");
		if (prtreq_renew(s, url, rec, prt) < 0 || prtstore_save(prt) < 0)
			return NULL;
	}
	if ((redirect = util_asprintf("ms-appx-web://Microsoft.AAD.BrokerPlugin/%s",
	    a->client_id)) == NULL || (claims = json_new_object()) == NULL ||
	    json_set_string(claims, "client_id", a->client_id) < 0 ||
	    json_set_string(claims, a->resource ? "resource" : "scope",
	    a->resource ? a->resource : a->scope) < 0 ||
	    json_set_string(claims, "redirect_uri", redirect) < 0 ||
	    prtreq_use(s, url, rec, prt, claims, &plain) < 0)
		goto out;
	o = answer_out(plain, a);
out:
	json_free(plain);
	json_free(claims);
	free(redirect);
	return o;
}

static int
print_token(const struct json *o, int raw)
{
	if (!raw)
		return doc_write(o);
	if (printf("%s\n", json_get_string(o, "access_token")) < 0 || fflush(stdout) != 0)
		return log_fail(EXIT_IO, "token: writing stdout failed");
	return 0;
}

/* The stored PRT, not past its expiry. */
static int
load_prt(const char *user, struct json **prt)
{
	if (prt_load_stored(user, prt) < 0)
		return -1;
	if (prtstore_time(*prt, "expires") <= time(NULL))
		return log_fail(EXIT_REFUSED, "token: the PRT of %s expired at %s: "
		    "sign in again with 'drsjoin prt'", json_get_string(*prt, "upn") ?
		    json_get_string(*prt, "upn") : json_get_string(*prt, "oid"),
		    json_get_string(*prt, "expires"));
	return 0;
}

int
cmd_token(int argc, char **argv)
{
	struct token_args a = { 0 };
	struct http_session *s = NULL;
	struct json *rec = NULL, *prt = NULL, *o = NULL;
	char *url = NULL, *rel = NULL;
	int rc;

	if ((rc = parse(argc, argv, &a)) != 0)
		return rc > 0 ? 0 : -1;
	rc = -1;
	if (sandbox_enter() < 0 || prt_load_identity("token", 1, &rec) < 0 ||
	    load_prt(a.user, &prt) < 0 || (rel = cache_rel(prt, &a)) == NULL)
		goto out;
	if (!a.fresh && cache_get(rel, &a, &o) == 0) {
		log_debug(1, "token: the cached token is good for 5 minutes more");
		rc = print_token(o, a.raw);
		goto out;
	}
	if ((url = prtreq_url(rec)) == NULL || (s = http_session_new()) == NULL ||
	    (o = fetch(s, url, rec, prt, &a)) == NULL || cache_put(prt, rel, o, &a) < 0)
		goto out;
	rc = print_token(o, a.raw);
out:
	http_session_free(s);
	json_free(o);
	json_free(prt);
	json_free(rec);
	free(rel);
	free(url);
	return rc < 0 ? -1 : 0;
}
