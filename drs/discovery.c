/* discovery.c - phase 1: GET {base}/{tenant}/Discover. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "cli.h"
#include "config.h"
#include "discovery.h"
#include "doc.h"
#include "jwt.h"
#include "log.h"
#include "login.h"
#include "proc.h"
#include "sandbox.h"
#include "state.h"
#include "util.h"

/* The api-version drsjoin speaks (protocol.md, phase 1). */
#define DISCOVERY_API "1.9"

static int
is_guid(const char *s)
{
	return util_is_guid(s, strlen(s));
}

static struct json *
need_obj(const struct json *ans, const char *obj)
{
	struct json *o = json_get_ci(ans, obj);

	if (!json_is_object(o)) {
		log_fail(EXIT_NETWORK, "discover: the answer has no %s", obj);
		return NULL;
	}
	return o;
}

/* An optional object of the answer: NULL when absent, -1 when not an object. */
static int
opt_obj(const struct json *ans, const char *obj, struct json **out)
{
	struct json *o = json_get_ci(ans, obj);

	*out = NULL;
	if (o == NULL || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return log_fail(EXIT_NETWORK, "discover: %s in the answer is not "
		    "an object", obj);
	*out = o;
	return 0;
}

#define GET(obj, where, key, kind, max, req, out) \
	answer_string("discover", obj, where, key, kind, max, req, out)

/* Sets key to v in obj when v is not NULL. */
static int
set_opt(struct json *obj, const char *key, const char *v)
{
	return v != NULL ? json_set_string(obj, key, v) : 0;
}

/*
 * Reads the answer into the document's "tenant" and "discovery" sections,
 * every field checked (answer.h) before any is taken. The tenant the answer
 * is for must be the one asked for (when that is a GUID) and expect_tid
 * (the token's) when given.
 */
static int
take_answer(struct json *doc, const struct json *ans, const char *tenant,
    const char *expect_tid, const char *base)
{
	struct json *join, *nonce, *info, *pre, *t, *d, *auth, *oauth = NULL;
	const char *je, *jv, *jr, *ne = NULL, *nv = NULL, *pe = NULL, *te = NULL;
	const char *tid, *name, *dname, *old;
	struct login_endpoints ep;

	if ((join = need_obj(ans, "DeviceJoinService")) == NULL ||
	    GET(join, "DeviceJoinService", "JoinEndpoint", ANSWER_URL,
	    ANSWER_URL_MAX, 1, &je) < 0 ||
	    GET(join, "DeviceJoinService", "ServiceVersion", ANSWER_VERSION,
	    ANSWER_WORD_MAX, 1, &jv) < 0 ||
	    GET(join, "DeviceJoinService", "JoinResourceId", ANSWER_WORD,
	    ANSWER_NAME_MAX, 0, &jr) < 0 ||
	    /* No NonceService is no error: the join then goes without a nonce. */
	    opt_obj(ans, "NonceService", &nonce) < 0 ||
	    (nonce != NULL && (GET(nonce, "NonceService", "Endpoint", ANSWER_URL,
	    ANSWER_URL_MAX, 1, &ne) < 0 ||
	    GET(nonce, "NonceService", "ServiceVersion", ANSWER_VERSION,
	    ANSWER_WORD_MAX, 1, &nv) < 0)) ||
	    /* Where a BPRT or refresh token may go (login.h). */
	    opt_obj(ans, "AuthenticationService", &auth) < 0 ||
	    (auth != NULL && opt_obj(auth, "OAuth2", &oauth) < 0) ||
	    GET(oauth, "AuthenticationService.OAuth2", "TokenEndpoint",
	    ANSWER_URL, ANSWER_URL_MAX, 0, &te) < 0 ||
	    opt_obj(ans, "PrecreateService", &pre) < 0 ||
	    GET(pre, "PrecreateService", "PrecreateEndpoint", ANSWER_URL,
	    ANSWER_URL_MAX, 0, &pe) < 0 ||
	    opt_obj(ans, "TenantInfo", &info) < 0 ||
	    GET(info, "TenantInfo", "TenantId", ANSWER_GUID, 36, 0, &tid) < 0 ||
	    GET(info, "TenantInfo", "TenantName", ANSWER_TEXT,
	    ANSWER_NAME_MAX, 0, &name) < 0 ||
	    GET(info, "TenantInfo", "DisplayName", ANSWER_TEXT,
	    ANSWER_TEXT_MAX, 0, &dname) < 0)
		return -1;
	if (te != NULL) {
		if (login_endpoints(te, "-", "-", &ep) < 0)
			return -1;
		login_endpoints_free(&ep);
	}
	if (tid == NULL && is_guid(tenant))
		tid = tenant;
	if (tid == NULL)
		return log_fail(EXIT_NETWORK, "discover: the answer has no TenantInfo.TenantId");
	/* An answer for another tenant would send the token to its endpoints. */
	if (is_guid(tenant) && strcasecmp(tid, tenant) != 0)
		return log_fail(EXIT_NETWORK, "discover: the answer is for tenant "
		    "%s, not for tenant %s that was asked for", tid, tenant);
	if (expect_tid != NULL && strcasecmp(tid, expect_tid) != 0)
		return log_fail(EXIT_NETWORK, "discover: the answer for %s is for "
		    "tenant %s, the token for tenant %s", tenant, tid, expect_tid);

	/* A nonce or CSR made for another tenant must not survive. */
	old = doc_get(doc, "tenant", "id");
	if (old != NULL && strcasecmp(old, tid) != 0) {
		json_remove(doc, "nonce");
		json_remove(doc, "csr");
	}
	if ((t = json_new_object()) == NULL || json_set(doc, "tenant", t) < 0)
		return -1;
	if (json_set_string(t, "requested", tenant) < 0 ||
	    json_set_string(t, "id", tid) < 0 ||
	    json_set_string(t, "domain", is_guid(tenant) && name ? name : tenant) < 0 ||
	    set_opt(t, "name", name) < 0 ||
	    set_opt(t, "display_name", dname) < 0)
		return -1;

	if ((d = json_new_object()) == NULL || json_set(doc, "discovery", d) < 0)
		return -1;
	if (json_set_string(d, "url", base) < 0 ||
	    json_set_string(d, "join_endpoint", je) < 0 ||
	    json_set_string(d, "join_version", jv) < 0 ||
	    set_opt(d, "join_resource_id", jr) < 0 ||
	    json_set_bool(d, "nonce_service", ne != NULL) < 0 ||
	    set_opt(d, "nonce_endpoint", ne) < 0 ||
	    set_opt(d, "nonce_version", nv) < 0 ||
	    set_opt(d, "token_endpoint", te) < 0 ||
	    set_opt(d, "precreate_endpoint", pe) < 0)
		return -1;
	return 0;
}

#undef GET

int
discovery_run(struct http_session *s, struct json *doc, const char *tenant,
    const char *expect_tid, const char *bearer)
{
	struct http_request rq = { 0 };
	struct http_response rs = { 0 };
	struct json *ans = NULL;
	char *base = NULL, *url = NULL;
	size_t n;
	int rc = -1;

	if (!util_tenant_ok(tenant))
		return log_fail(EXIT_INPUT, "discover: '%s' is neither a tenant id "
		    "(GUID) nor a domain name", CLI_SHOWN(tenant));
	if ((base = util_strdup(opts.discovery_url)) == NULL)
		goto out;
	for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		base[n - 1] = '\0';
	if ((url = util_asprintf("%s/%s/Discover?api-version=%s", base, tenant,
	    DISCOVERY_API)) == NULL)
		goto out;
	rq.phase = "discover";
	rq.method = "GET";
	rq.url = url;
	/* Discovery is anonymous: the token goes only after a 401 (protocol.md). */
	rq.bearer_on_401 = bearer;
	if (http_send(s, &rq, &rs) < 0)
		goto out;
	if ((ans = answer_parse("discover", &rs)) == NULL)
		goto out;
	if (take_answer(doc, ans, tenant, expect_tid, base) < 0)
		goto out;
	log_debug(1, "discover: tenant %s, join endpoint %s", doc_get(doc, "tenant", "id"),
	    doc_get(doc, "discovery", "join_endpoint"));
	rc = 0;
out:
	json_free(ans);
	http_response_free(&rs);
	free(base);
	free(url);
	return rc;
}

/* The endpoints a document's "discovery" section may name. */
static const char *const endpoint_keys[] = {
	"join_endpoint", "nonce_endpoint", "precreate_endpoint", "token_endpoint",
};

int
discovery_confirm(struct http_session *s, struct json *doc, const char *tenant,
    const char *tid, const char *bearer)
{
	struct json *fresh = NULL, *old, *m;
	const char *ov, *nv;
	char oh[256], nh[256];
	size_t i;
	int rc = -1;

	/* The tenant asked for before (a domain keeps the target domain), else tid. */
	if (tenant == NULL)
		tenant = doc_get(doc, "tenant", "requested");
	if (tenant == NULL || !util_tenant_ok(tenant))
		tenant = tid;
	if (tenant == NULL)
		return log_fail(EXIT_INTERNAL, "join: no tenant to discover");
	if (doc_new(&fresh) < 0 || discovery_run(s, fresh, tenant, tid, bearer) < 0)
		goto out;
	if ((old = json_get_object(doc, "discovery")) != NULL) {
		for (i = 0; i < sizeof(endpoint_keys) / sizeof(endpoint_keys[0]); i++) {
			if ((m = json_get(old, endpoint_keys[i])) == NULL)
				continue;
			ov = json_string(m);
			nv = doc_get(fresh, "discovery", endpoint_keys[i]);
			if (ov != NULL && nv != NULL && strcmp(ov, nv) == 0)
				continue;
			answer_url_host(ov != NULL ? ov : "(not a string)", oh, sizeof(oh));
			answer_url_host(nv != NULL ? nv : "(none)", nh, sizeof(nh));
			log_fail(EXIT_INPUT, "join: the document's discovery.%s names "
			    "host %s, but discovery of tenant %s names %s; the token "
			    "goes only where discovery says (run 'drsjoin discover' "
			    "again)", endpoint_keys[i], oh, tenant, nh);
			goto out;
		}
	}
	if (json_set(doc, "tenant", json_dup(json_get_object(fresh, "tenant"))) < 0 ||
	    json_set(doc, "discovery", json_dup(json_get_object(fresh, "discovery"))) < 0)
		goto out;
	rc = 0;
out:
	json_free(fresh);
	return rc;
}

static void
usage(void)
{
	printf("usage: drsjoin discover (--tenant ID|DOMAIN | --token-file FILE) [--in FILE]\n"
	    "\n"
	    "Finds the tenant's registration endpoints and adds the \"tenant\" and\n"
	    "\"discovery\" sections to the document (read from --in or stdin, written\n"
	    "to stdout). With --token-file (- for stdin; or DRSJOIN_TOKEN) the tenant\n"
	    "is the token's tid, the answer must be for that tenant, and the token\n"
	    "is sent only if the service answers 401 without it.\n");
}

int
cmd_discover(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "in", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tenant = NULL, *token_file = NULL, *in = NULL;
	struct http_session *s = NULL;
	struct jwt_claims claims = { 0 };
	struct json *doc = NULL;
	char *token = NULL;
	int c, rc = -1;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		switch (c) {
		case 't': tenant = optarg; break;
		case 'T': token_file = optarg; break;
		case 'i': in = optarg; break;
		case 'h': usage(); return 0;
		default:
			return cli_bad_option("discover", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage("discover", "unexpected argument '%s'",
		    CLI_SHOWN(argv[optind]));
	if (sandbox_read(in) < 0 || sandbox_read(token_file) < 0 || sandbox_enter() < 0)
		return -1;
	if (token_file != NULL || (tenant == NULL && proc_secret_env("DRSJOIN_TOKEN") != NULL)) {
		if (jwt_read_token(token_file, &token) < 0 ||
		    jwt_parse(token, &claims) < 0 || jwt_check(&claims, time(NULL)) < 0)
			goto out;
		if (tenant == NULL)
			tenant = claims.tid;
	}
	if (tenant == NULL)
		tenant = config.tenant;
	if (tenant == NULL) {
		rc = cli_usage("discover", "give --tenant ID|DOMAIN or --token-file FILE");
		goto out;
	}
	/* With --token-file -, stdin was the token: the document comes from --in only. */
	if ((state_is_stdin(token_file) && in == NULL ?
	    doc_new(&doc) : doc_read_start(in, &doc)) < 0 || (s = http_session_new()) == NULL)
		goto out;
	if (discovery_run(s, doc, tenant, claims.tid, token) < 0)
		goto out;
	rc = doc_write(doc);
out:
	http_session_free(s);
	json_free(doc);
	jwt_claims_free(&claims);
	util_free_secret(token);
	return rc;
}
