/* discovery.c - phase 1: GET {base}/{tenant}/Discover. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "discovery.h"
#include "doc.h"
#include "jwt.h"
#include "log.h"
#include "util.h"

/* The api-version drsjoin speaks (protocol.md, phase 1). */
#define DISCOVERY_API "1.9"

static int
is_guid(const char *s)
{
	return util_is_guid(s, strlen(s));
}

int
discovery_tenant_ok(const char *t)
{
	size_t i, n = strlen(t);

	if (is_guid(t))
		return 1;
	/* A domain: letters, digits, '-' and '.', no leading or double dot. */
	if (n == 0 || n > 253 || t[0] == '.' || t[0] == '-' || strchr(t, '.') == NULL ||
	    strstr(t, "..") != NULL || t[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '.')
			return 0;
	return 1;
}

/* "https://..." of the answer, else reported naming the field. */
static const char *
need_url(const struct json *svc, const char *obj, const char *field)
{
	const char *v = json_string(json_get_ci(svc, field));

	if (v == NULL || *v == '\0') {
		log_fail(EXIT_NETWORK, "discover: the answer has no %s.%s", obj, field);
		return NULL;
	}
	if (strncasecmp(v, "https://", 8) != 0) {
		log_fail(EXIT_NETWORK, "discover: %s.%s is not an https:// URL", obj, field);
		return NULL;
	}
	return v;
}

static const char *
need_str(const struct json *svc, const char *obj, const char *field)
{
	const char *v = json_string(json_get_ci(svc, field));

	if (v == NULL || *v == '\0')
		log_fail(EXIT_NETWORK, "discover: the answer has no %s.%s", obj, field);
	return v;
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

/* Reads the answer into the document's "tenant" and "discovery" sections. */
static int
take_answer(struct json *doc, const struct json *ans, const char *tenant,
    const char *base)
{
	struct json *join, *nonce, *info, *pre, *t, *d;
	const char *je, *jv, *ne, *nv, *tid, *name, *old;

	if ((join = need_obj(ans, "DeviceJoinService")) == NULL ||
	    (je = need_url(join, "DeviceJoinService", "JoinEndpoint")) == NULL ||
	    (jv = need_str(join, "DeviceJoinService", "ServiceVersion")) == NULL ||
	    (nonce = need_obj(ans, "NonceService")) == NULL ||
	    (ne = need_url(nonce, "NonceService", "Endpoint")) == NULL ||
	    (nv = need_str(nonce, "NonceService", "ServiceVersion")) == NULL)
		return -1;
	info = json_get_ci(ans, "TenantInfo");
	tid = json_string(json_get_ci(info, "TenantId"));
	if (tid == NULL && is_guid(tenant))
		tid = tenant;
	if (tid == NULL)
		return log_fail(EXIT_NETWORK, "discover: the answer has no TenantInfo.TenantId");
	if (!is_guid(tid))
		return log_fail(EXIT_NETWORK, "discover: TenantInfo.TenantId is not a GUID");
	name = json_string(json_get_ci(info, "TenantName"));

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
	    json_set_string(t, "domain", is_guid(tenant) && name ? name : tenant) < 0)
		return -1;
	if (name != NULL && json_set_string(t, "name", name) < 0)
		return -1;
	if (json_string(json_get_ci(info, "DisplayName")) != NULL &&
	    json_set_string(t, "display_name",
	    json_string(json_get_ci(info, "DisplayName"))) < 0)
		return -1;

	if ((d = json_new_object()) == NULL || json_set(doc, "discovery", d) < 0)
		return -1;
	if (json_set_string(d, "url", base) < 0 ||
	    json_set_string(d, "join_endpoint", je) < 0 ||
	    json_set_string(d, "join_version", jv) < 0 ||
	    json_set_string(d, "nonce_endpoint", ne) < 0 ||
	    json_set_string(d, "nonce_version", nv) < 0)
		return -1;
	if (json_string(json_get_ci(join, "JoinResourceId")) != NULL &&
	    json_set_string(d, "join_resource_id",
	    json_string(json_get_ci(join, "JoinResourceId"))) < 0)
		return -1;
	pre = json_get_ci(ans, "PrecreateService");
	if (json_string(json_get_ci(pre, "PrecreateEndpoint")) != NULL &&
	    json_set_string(d, "precreate_endpoint",
	    json_string(json_get_ci(pre, "PrecreateEndpoint"))) < 0)
		return -1;
	return 0;
}

int
discovery_run(struct http_session *s, struct json *doc, const char *tenant,
    const char *bearer)
{
	struct http_request rq = { 0 };
	struct http_response rs = { 0 };
	struct json *ans = NULL;
	char *base = NULL, *url = NULL;
	size_t n;
	int rc = -1;

	if (!discovery_tenant_ok(tenant))
		return log_fail(EXIT_INPUT, "discover: '%s' is neither a tenant id "
		    "(GUID) nor a domain name", tenant);
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
	rq.bearer = bearer;
	if (http_send(s, &rq, &rs) < 0)
		goto out;
	if ((ans = json_parse(rs.body, rs.body_len, EXIT_NETWORK,
	    "discover: the answer")) == NULL)
		goto out;
	if (!json_is_object(ans)) {
		log_fail(EXIT_NETWORK, "discover: the answer is not a JSON object");
		goto out;
	}
	if (take_answer(doc, ans, tenant, base) < 0)
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

static void
usage(void)
{
	printf("usage: drsjoin discover (--tenant ID|DOMAIN | --token-file FILE) [--in FILE]\n"
	    "\n"
	    "Finds the tenant's registration endpoints and adds the \"tenant\" and\n"
	    "\"discovery\" sections to the document (read from --in or stdin, written\n"
	    "to stdout). With --token-file (- for stdin; or DRSJOIN_TOKEN) the tenant\n"
	    "is the token's tid and the token is sent along.\n");
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

	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
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
		return cli_usage("discover", "unexpected argument '%s'", argv[optind]);
	if (token_file != NULL || (tenant == NULL && getenv("DRSJOIN_TOKEN") != NULL)) {
		if (jwt_read_token(token_file, &token) < 0 ||
		    jwt_parse(token, &claims) < 0 || jwt_check(&claims, time(NULL)) < 0)
			goto out;
		if (tenant == NULL)
			tenant = claims.tid;
	}
	if (tenant == NULL) {
		rc = cli_usage("discover", "give --tenant ID|DOMAIN or --token-file FILE");
		goto out;
	}
	if (doc_read(in, &doc) < 0 || (s = http_session_new()) == NULL)
		goto out;
	if (discovery_run(s, doc, tenant, token) < 0)
		goto out;
	rc = doc_write(doc);
out:
	http_session_free(s);
	json_free(doc);
	jwt_claims_free(&claims);
	util_free_secret(token);
	return rc;
}
