/* join.c - "drsjoin join": whatever phases the document lacks, then the join. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "cert.h"
#include "cli.h"
#include "config.h"
#include "discovery.h"
#include "doc.h"
#include "health.h"
#include "http.h"
#include "identity.h"
#include "join.h"
#include "jwt.h"
#include "keystore.h"
#include "leave.h"
#include "log.h"
#include "prtstore.h"
#include "login.h"
#include "nonce.h"
#include "osinfo.h"
#include "request.h"
#include "sandbox.h"
#include "sigdefer.h"
#include "state.h"
#include "summary.h"
#include "svcerr.h"
#include "token.h"
#include "util.h"

#define JOIN_TYPE_JOIN 0
#define JOIN_TYPE_REGISTER 4
/* Seconds a nonce from the document is trusted to be still valid. */
#define NONCE_MAX_AGE 240

enum nonce_mode { NONCE_AUTO, NONCE_REQUIRE, NONCE_OFF };

struct join_args {
	const char *in, *display_name, *target_domain, *tenant;
	const char *tenant_what;	/* where tenant came from, for messages */
	enum keystore_choice store;
	enum nonce_mode nonce;
	int join_type, join_type_given, force, keep_old_device;
	int json;	/* --json: JSON on stdout even under -q or at a terminal */
};

/* The join's access token: read before any traffic, or obtained after discovery. */
struct join_token {
	struct token_source src;
	char *token;		/* the access token, once there is one */
	struct jwt_claims claims;
};

void
join_time_text(time_t t, char *buf, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct json *
join_body(const struct json *doc, int join_type, const char *display_name,
    const char *target_domain, const char *os)
{
	struct json *b, *cr, *at;

	if ((b = json_new_object()) == NULL)
		return NULL;
	if ((cr = json_object_at(b, "CertificateRequest")) == NULL ||
	    json_set_string(cr, "Type", "pkcs10") < 0 ||
	    json_set_string(cr, "Data", doc_get(doc, "csr", "data")) < 0 ||
	    json_set_string(b, "TransportKey", doc_get(doc, "keys", "transport_blob")) < 0 ||
	    json_set_string(b, "TargetDomain", target_domain) < 0 ||
	    json_set_string(b, "DeviceType", "Linux") < 0 ||
	    json_set_string(b, "OSVersion", os) < 0 ||
	    json_set_string(b, "DeviceDisplayName", display_name) < 0 ||
	    json_set_number(b, "JoinType", join_type) < 0 ||
	    (at = json_object_at(b, "Attributes")) == NULL ||
	    /* Strings, as the real clients send them. */
	    json_set_string(at, "ReuseDevice", "true") < 0 ||
	    json_set_string(at, "ReturnClientSid", "true") < 0) {
		json_free(b);
		return NULL;
	}
	return b;
}

/* The joined document on stdout, or its summary, or nothing (summary.h). */
static int
join_print(const struct json *doc, int already, int json)
{
	switch (summary_out(json)) {
	case SUMMARY_NONE:
		return 0;
	case SUMMARY_TEXT:
		return summary_join(json_get_object(doc, "device"), already);
	case SUMMARY_JSON:
		break;
	}
	return doc_write(doc);
}

/*
 * Prints the document with the stored identity as its "device" section, in
 * the shape of a first join: tenant, discovery, keys, device; no nonce or
 * CSR. Records from before "tenant" was kept give the id and domain.
 */
static int
print_identity(struct json *doc, const struct json *rec, int json)
{
	struct json *keys = json_get_object(rec, "keys");
	struct json *tenant = json_get_object(rec, "tenant");
	struct json *ep = json_get_object(rec, "endpoints"), *t;

	json_remove(doc, "nonce");
	json_remove(doc, "csr");
	if (tenant != NULL) {
		if (json_set(doc, "tenant", json_dup(tenant)) < 0)
			return -1;
	} else if (json_get_object(doc, "tenant") == NULL) {
		if ((t = json_object_at(doc, "tenant")) == NULL ||
		    json_set_string(t, "id", json_get_string(rec, "tenant_id") ?
		    json_get_string(rec, "tenant_id") : "") < 0 ||
		    json_set_string(t, "domain", json_get_string(rec, "tenant_domain") ?
		    json_get_string(rec, "tenant_domain") : "") < 0)
			return -1;
	}
	if (ep != NULL && json_set(doc, "discovery", json_dup(ep)) < 0)
		return -1;
	if (keys != NULL && json_set(doc, "keys", json_dup(keys)) < 0)
		return -1;
	if (json_set(doc, "device", json_dup(rec)) < 0)
		return -1;
	/* For people: the record's paths are relative to the state dir. */
	if (identity_paths_absolute(json_get_object(doc, "device")) < 0 ||
	    (keys != NULL && identity_paths_absolute(doc) < 0))
		return -1;
	return join_print(doc, 1, json);
}

static struct json *
make_record(const struct json *doc, const struct cert *c, const char *upn,
    const struct join_args *a, const char *target_domain, const char *name,
    const char *crid)
{
	struct json *r;
	char nb[32], na[32], now[32];

	join_time_text(cert_not_before(c), nb, sizeof(nb));
	join_time_text(cert_not_after(c), na, sizeof(na));
	join_time_text(time(NULL), now, sizeof(now));
	if ((r = json_new_object()) == NULL)
		return NULL;
	if (json_set_string(r, "schema", "drsjoin-identity/1") < 0 ||
	    json_set_string(r, "device_id", cert_device_id(c)) < 0 ||
	    json_set_string(r, "tenant_id", doc_get(doc, "tenant", "id")) < 0 ||
	    json_set_string(r, "tenant_domain", target_domain) < 0 ||
	    (upn != NULL && json_set_string(r, "upn", upn) < 0) ||
	    json_set_string(r, "join_type",
	    a->join_type == JOIN_TYPE_JOIN ? "join" : "register") < 0 ||
	    json_set_string(r, "display_name", name) < 0 ||
	    json_set_string(r, "thumbprint", cert_thumbprint(c)) < 0 ||
	    json_set_string(r, "issuer", cert_issuer(c)) < 0 ||
	    json_set_string(r, "not_before", nb) < 0 ||
	    json_set_string(r, "not_after", na) < 0 ||
	    json_set_string(r, "joined_at", now) < 0 ||
	    json_set_string(r, "client_request_id", crid) < 0 ||
	    json_set_string(r, "key_store", doc_get(doc, "keys", "store")) < 0 ||
	    json_set(r, "keys", json_dup(json_get_object(doc, "keys"))) < 0 ||
	    json_set(r, "endpoints", json_dup(json_get_object(doc, "discovery"))) < 0 ||
	    json_set(r, "tenant", json_dup(json_get_object(doc, "tenant"))) < 0) {
		json_free(r);
		return NULL;
	}
	json_remove(json_get_object(r, "keys"), "dir");
	/* The TPM is named by what this run opened, never by the document. */
	json_remove(json_get_object(r, "keys"), "tcti");
	if (doc_get(doc, "keys", "store") != NULL &&
	    strcmp(doc_get(doc, "keys", "store"), "tpm") == 0 && keystore_tpm_spec() != NULL &&
	    json_set_string(r, "tcti", keystore_tpm_spec()) < 0) {
		json_free(r);
		return NULL;
	}
	return r;
}

/* An optional object of the answer: NULL when absent, -1 when not an object. */
static int
opt_object(const struct json *ans, const char *key, struct json **out)
{
	struct json *o = json_get_ci(ans, key);

	*out = NULL;
	if (o == NULL || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return log_fail(EXIT_NETWORK, "join: %s in the answer is not an "
		    "object", key);
	*out = o;
	return 0;
}

/* Text from the certificate goes into device.json: UTF-8, no controls. */
static int
text_ok(const char *what, const char *s)
{
	char why[128];

	if (!answer_text_ok(s, strlen(s), why, sizeof(why)))
		return log_fail(EXIT_NETWORK, "%s %s", what, why);
	return 0;
}

/*
 * Whether a join whose CSR carried the nonce, answered with this error
 * status, is sent once more without it (--nonce auto): no public client
 * sends the nonce extension, so the service may refuse or choke on it, and
 * drsjoin must still join then. Every 4xx but 401 and 403 (the token's; no
 * nonce changes them) and 429 (retried by http.c, then given up), and every
 * 5xx but 503 (retried by http.c, then given up). A 4xx, 501 or 505 created
 * no device. After the other 5xx one may exist, but it would exist as well
 * if drsjoin stopped there (nobody holds its certificate either way), so
 * stopping would add no safety and leave the machine unjoined: the note
 * names that request's client-request-id (nonce_maybe_done).
 */
static int
nonce_fallback_status(long status)
{
	if (status >= 400 && status <= 499)
		return status != 401 && status != 403 && status != 429;
	return status >= 500 && status <= 599 && status != 503;
}

/* After this refusal a device may have been created (see above). */
static int
nonce_maybe_done(long status)
{
	return status >= 500 && status != 501 && status != 505;
}

/*
 * Phase 5 proper: the POST, the checks of the answer, the commit. Returns 1
 * (nothing reported, the refusal in *refusal) when the service refused a CSR
 * carrying a nonce (nonce_fallback_status) and --nonce auto may try without it.
 */
static int
post_join(struct http_session *s, struct json *doc, const char *token,
    const struct jwt_claims *claims, const struct join_args *a,
    char *refusal, size_t refusalsz)
{
	struct http_request rq = { 0 };
	struct http_response rs = { 0 };
	struct json *body = NULL, *ans = NULL, *certj, *user, *rec = NULL;
	struct keystore_key *dk = NULL;
	struct leave_old *held = NULL;
	struct cert *c = NULL;
	char os[256], host[256], why[1024], *url = NULL, *text = NULL, *pem = NULL, *set = NULL;
	char crid[HTTP_REQUEST_ID_LEN + 1];
	const char *ep, *ver, *raw, *thumb, *upn, *domain, *name;
	size_t pem_len = 0;
	int rc = -1, r, sig;

	if ((ep = doc_need(doc, "discovery", "join_endpoint", "join", "discover")) == NULL ||
	    (ver = doc_need(doc, "discovery", "join_version", "join", "discover")) == NULL ||
	    doc_need(doc, "tenant", "id", "join", "discover") == NULL ||
	    doc_need(doc, "keys", "transport_blob", "join", "keygen") == NULL ||
	    doc_need(doc, "keys", "store", "join", "keygen") == NULL ||
	    doc_need(doc, "csr", "data", "join", "csr") == NULL)
		return -1;
	domain = a->target_domain ? a->target_domain : doc_get(doc, "tenant", "domain");
	if (domain == NULL)
		return log_fail(EXIT_INPUT, "join: no target domain; give --target-domain");
	name = a->display_name;
	if (name == NULL) {
		if (osinfo_hostname(host, sizeof(host)) < 0)
			return -1;
		name = host;
	}
	osinfo_version(NULL, os, sizeof(os));
	if ((body = join_body(doc, a->join_type, name, domain, os)) == NULL ||
	    (text = json_print(body, 0)) == NULL ||
	    (url = util_asprintf("%s%sapi-version=%s", ep, strchr(ep, '?') ? "&" : "?",
	    ver)) == NULL)
		goto out;
	rq.phase = "join";
	rq.method = "POST";
	rq.url = url;
	rq.bearer = token;
	rq.body = text;
	rq.body_len = strlen(text);
	rq.content_type = "application/json";
	/*
	 * Sent again only after answers that mean "not processed" (429, 503,
	 * or a connection that failed before the request went out): after a
	 * 500/502/504 or a lost answer a device may exist, and a second POST
	 * could make another one (or be refused for its spent nonce).
	 */
	rq.repeatable = 0;
	rq.resend_unanswered = 0;
	rq.if_maybe_done = "a device may have been created: look for this "
	    "client-request-id in the tenant's audit logs (Entra admin center, "
	    "Devices, Audit logs) before joining again";
	/* A refused request creates no device: the fallback cannot duplicate one. */
	if (a->nonce == NONCE_AUTO && json_get_bool(json_get_object(doc, "csr"), "nonce"))
		rq.pass_if = nonce_fallback_status;
	/*
	 * From the request on a device may exist: SIGINT, SIGTERM and SIGHUP
	 * wait until its identity is stored or the device deleted again.
	 */
	if (http_new_request_id(crid) < 0 || sigdefer_begin() < 0)
		goto out;
	rq.request_id = crid;
	sigdefer_abort_line("join: interrupted twice during the join request "
	    "(client-request-id %s): a device may have been created in tenant %s; "
	    "look for the client-request-id in the tenant's audit logs (Entra admin "
	    "center, Devices, Audit logs)", crid, doc_get(doc, "tenant", "id"));
	util_fault_point("join-post");
	if (http_send(s, &rq, &rs) < 0)
		goto out;
	log_debug(1, "join: answered %ld (client-request-id %s)", rs.status, rs.request_id);
	if (rq.pass_if != NULL && (rs.status < 200 || rs.status > 299)) {
		svcerr_format(refusal, refusalsz, "join", rs.status, rs.body, rs.body_len,
		    rs.content_type, rs.request_id);
		if (nonce_maybe_done(rs.status))
			log_note("join: the service answered %ld: a device may have "
			    "been created by that request; if the tenant shows two "
			    "for this machine, delete the one of client-request-id %s",
			    rs.status, rs.request_id);
		rc = 1;
		if ((sig = sigdefer_end()) != 0)
			rc = log_fail(sigdefer_exit_code(sig), "join: interrupted (%s) "
			    "during the join request, which the service refused (%s): %s",
			    sigdefer_name(sig), refusal, nonce_maybe_done(rs.status) ?
			    "a device may have been created: look for its "
			    "client-request-id in the tenant's audit logs" :
			    "no device was created");
		goto out;
	}
	if ((ans = answer_parse("join", &rs)) == NULL)
		goto out;
	if (opt_object(ans, "Certificate", &certj) < 0 ||
	    answer_string("join", certj, "Certificate", "RawBody", ANSWER_WORD,
	    ANSWER_CERT_MAX, 1, &raw) < 0 ||
	    answer_string("join", certj, "Certificate", "Thumbprint", ANSWER_WORD,
	    ANSWER_WORD_MAX, 1, &thumb) < 0 ||
	    opt_object(ans, "User", &user) < 0 ||
	    answer_string("join", user, "User", "Upn", ANSWER_TEXT,
	    ANSWER_TEXT_MAX, 0, &upn) < 0)
		goto out;
	if (cert_parse_base64(raw, EXIT_NETWORK, "join: Certificate.RawBody", &c) < 0 ||
	    keystore_load_device(json_get_object(doc, "keys"), &dk) < 0 ||
	    cert_check_join(c, keystore_key(dk), thumb) < 0 ||
	    cert_check_time(c, time(NULL), "join: the device certificate") < 0 ||
	    text_ok("join: the certificate's issuer", cert_issuer(c)) < 0)
		goto out;
	/* The token's upn is not checked by anyone: store it only as text. */
	if (upn == NULL && claims->upn != NULL &&
	    answer_text_ok(claims->upn, strlen(claims->upn), why, sizeof(why)) &&
	    strlen(claims->upn) <= ANSWER_TEXT_MAX)
		upn = claims->upn;
	sigdefer_abort_line("join: interrupted twice: device %s was created in tenant "
	    "%s (client-request-id %s); if 'drsjoin status' does not show it, delete "
	    "it in the Entra admin center (Devices, All devices, by its device id)",
	    cert_device_id(c), doc_get(doc, "tenant", "id"), rs.request_id);
	if (cert_pem(c, &pem, &pem_len) < 0 ||
	    (rec = make_record(doc, c, upn, a, domain, name, rs.request_id)) == NULL)
		goto out;
	/* The identity is stored, or the device deleted again (leave_undo_join). */
	log_catch(why, sizeof(why));
	r = (set = identity_staging_check(doc_get(doc, "keys", "dir"))) == NULL ||
	    leave_hold_new(rec, json_get_object(doc, "keys"), pem, &held) < 0 ? -1 : 0;
	util_fault_point("join-commit");
	if (r == 0)
		r = identity_commit(set, pem, rec);
	log_catch(NULL, 0);
	if (r < 0) {
		leave_undo_join(rec, held, why, log_caught_code());
		goto out;
	}
	/* PRTs stored before belong to the identity just replaced. */
	prtstore_forget("join");
	/* Interrupted, cmd_join's one line says it instead. */
	if (sigdefer_pending() == 0)
		log_note("joined: device %s in tenant %s", cert_device_id(c),
		    doc_get(doc, "tenant", "id"));
	/* The nonce and the CSR are spent: a document fed back must not reuse them. */
	json_remove(doc, "nonce");
	json_remove(doc, "csr");
	if (json_set(doc, "keys", json_dup(json_get_object(rec, "keys"))) < 0 ||
	    json_set(doc, "device", rec) < 0) {
		rec = NULL;
		goto out;
	}
	rec = NULL;
	/* For people: the record's paths are relative to the state dir. */
	if (identity_paths_absolute(json_get_object(doc, "device")) < 0 ||
	    identity_paths_absolute(doc) < 0)
		goto out;
	rc = 0;
out:
	/* A signal held over a committed join is reported by cmd_join. */
	sigdefer_end();
	leave_old_free(held);
	json_free(body);
	json_free(ans);
	json_free(rec);
	cert_free(c);
	keystore_key_free(dk);
	http_response_free(&rs);
	free(url);
	util_free_secret(text);	/* holds the nonce */
	free(pem);
	free(set);
	return rc;
}

/*
 * A nonce in the document that the service would no longer take (they live
 * about five minutes) is fetched again rather than sent to be refused.
 */
static int
nonce_fresh(const struct json *doc)
{
	double at;

	if (doc_get(doc, "nonce", "value") == NULL)
		return 0;
	if (json_get_number(json_get_object(doc, "nonce"), "fetched_at", &at) == 0 &&
	    (double)time(NULL) - at <= NONCE_MAX_AGE)
		return 1;
	log_note("join: the document's nonce is older than %d s; getting a new one",
	    NONCE_MAX_AGE);
	return 0;
}

/* The set's name: the last component of keys.dir (checked before). */
static const char *
set_name(const char *dir)
{
	const char *slash = dir != NULL ? strrchr(dir, '/') : NULL;

	return slash != NULL ? slash + 1 : dir != NULL ? dir : "?";
}

/*
 * The nonce the join wants: 0 with one in the document (or none wanted),
 * -1 reported. With --nonce auto a nonce service that is missing or fails
 * is a note, and the join goes on without a nonce.
 */
static int
join_nonce(struct http_session *s, struct json *doc, const struct join_args *a,
    const char *token)
{
	char why[1024];
	int r, code;

	if (a->nonce == NONCE_OFF || nonce_fresh(doc))
		return 0;
	if (a->nonce == NONCE_REQUIRE) {
		if ((r = nonce_run(s, doc, token)) == 1)
			return log_fail(EXIT_NETWORK, "nonce: the tenant's discovery "
			    "answer names no NonceService, and --nonce require");
		return r;
	}
	log_catch(why, sizeof(why));
	r = nonce_run(s, doc, token);
	log_catch(NULL, 0);
	if (r == 1) {
		log_note("join: the tenant names no nonce service; joining "
		    "without a nonce");
	} else if (r < 0) {
		code = log_caught_code();
		/* Only what the service did is forgiven, not local failures. */
		if (code != EXIT_NETWORK && code != EXIT_REFUSED)
			return log_fail(code, "%s", why);
		log_note("join: no nonce (%s); joining without one "
		    "(--nonce require makes this an error)", why);
	}
	if (r != 0)
		json_remove(doc, "nonce");
	return 0;
}

/*
 * --tenant against a ready token's tenant tid, EXIT_INPUT naming both: a
 * GUID before any request; a domain once discovered (discovered: the
 * TenantId its discovery answered, NULL before), before any request that
 * carries the token.
 */
static int
tenant_matches_token(const struct join_args *a, const char *tid, const char *discovered)
{
	const char *given = a->tenant;
	const char *what = a->tenant_what != NULL ? a->tenant_what : "--tenant";

	if (given == NULL || tid == NULL)
		return 0;
	if (util_is_guid(given, strlen(given))) {
		if (strcasecmp(given, tid) != 0)
			return log_fail(EXIT_INPUT, "join: %s %s, but the token "
			    "is for tenant %s", what, given, tid);
	} else if (discovered != NULL && strcasecmp(discovered, tid) != 0) {
		return log_fail(EXIT_INPUT, "join: %s %s is tenant %s, but the "
		    "token is for tenant %s", what, given, discovered, tid);
	}
	return 0;
}

/* The access token, checked against the tenant and service discovered. */
static int
join_token_obtain(struct http_session *s, struct json *doc, struct join_token *t)
{
	const char *tid = doc_get(doc, "tenant", "id");

	if (t->src.kind != TOKEN_ACCESS && t->token == NULL) {
		char why[512];
		int bad;

		if (token_obtain(s, &t->src, doc, &t->token) < 0)
			return -1;
		/* The service's token, not the user's input: a bad one is exit 4. */
		log_catch(why, sizeof(why));
		bad = jwt_parse(t->token, &t->claims) < 0 ||
		    jwt_check(&t->claims, time(NULL)) < 0;
		log_catch(NULL, 0);
		if (bad)
			return log_fail(EXIT_NETWORK, "login: the login service "
			    "answered an unusable access token: %s", why);
		if (tid != NULL && strcasecmp(tid, t->claims.tid) != 0)
			return log_fail(EXIT_NETWORK, "login: the access token is "
			    "for tenant %s, discovery says tenant %s",
			    t->claims.tid, tid);
		log_debug(1, "login: got an access token for %s (audience %s)",
		    t->claims.upn != NULL ? t->claims.upn : "(no upn)", t->claims.aud);
	}
	/* Refused here, before any join request; checked once discovered. */
	if (doc_get(doc, "discovery", "join_endpoint") == NULL)
		return 0;
	return jwt_check_audience(&t->claims,
	    doc_get(doc, "discovery", "join_resource_id"));
}

/* The phases the document lacks, key generation overlapping the network. */
static int
run_join(struct json *doc, struct join_token *t, const struct join_args *a)
{
	struct http_session *s = NULL;
	struct keystore_job *job = NULL;
	const char *tid, *tenant, *domain;
	char why[SVCERR_LINE_MAX], *old_csr = NULL;
	int rc = -1, own_keys = 0, want_nonce, ready = t->src.kind == TOKEN_ACCESS;
	struct json *csr;

	tid = doc_get(doc, "tenant", "id");
	if (ready && tid != NULL && strcasecmp(tid, t->claims.tid) != 0)
		return log_fail(EXIT_INPUT, "join: the token is for tenant %s, the "
		    "document for tenant %s", t->claims.tid, tid);
	tenant = ready ? t->claims.tid : a->tenant != NULL ? a->tenant : tid;
	/* --tenant as a domain is discovered, and then checked against the token. */
	domain = a->tenant != NULL && !util_is_guid(a->tenant, strlen(a->tenant)) ?
	    a->tenant : NULL;
	if (json_get_object(doc, "keys") == NULL) {
		if (keystore_start(a->store, 1, &job) < 0)
			return -1;
		own_keys = 1;
	} else if (doc_need(doc, "keys", "dir", "join", "keygen") == NULL ||
	    keystore_check_doc(doc) < 0) {
		return -1;
	}
	if ((s = http_session_new()) == NULL)
		goto out;
	/*
	 * No tenant named (a refresh token, the device code): the sign-in at
	 * the cloud's "organizations" authority comes first, and the token's
	 * tid is the tenant discovered, as for a ready token.
	 */
	if (tenant == NULL) {
		if (join_token_obtain(s, doc, t) < 0)
			goto out;
		ready = 1;
		log_note("join: signed in for tenant %s", t->claims.tid);
	}
	/*
	 * Where the token (or the BPRT, the refresh token) goes is discovery's
	 * answer now, never the document's.
	 */
	if (discovery_confirm(s, doc, ready ? domain : tenant,
	    ready && domain == NULL ? t->claims.tid : NULL,
	    ready ? t->token : NULL) < 0 ||
	    (ready && domain != NULL && tenant_matches_token(a, t->claims.tid,
	    doc_get(doc, "tenant", "id")) < 0))
		goto out;
	if (join_token_obtain(s, doc, t) < 0)
		goto out;
	if (join_nonce(s, doc, a, t->token) < 0)
		goto out;
	if (job != NULL) {
		rc = keystore_finish(job, doc);
		job = NULL;
		if (rc < 0)
			goto out;
		rc = -1;
	}
	/*
	 * The request is always made again from the set's device key (PKCS#1
	 * v1.5 is deterministic: the same key and nonce give the same bytes).
	 * One in the document for the same nonce must be exactly that one:
	 * a document's request is never sent as read. One made for another
	 * nonce is stale, and replaced.
	 */
	csr = json_get_object(doc, "csr");
	want_nonce = a->nonce != NONCE_OFF && doc_get(doc, "nonce", "value") != NULL;
	if (csr != NULL && doc_get(doc, "csr", "data") != NULL &&
	    json_get_bool(csr, "nonce") == want_nonce &&
	    (old_csr = util_strdup(doc_get(doc, "csr", "data"))) == NULL)
		goto out;
	if (request_csr(doc, !want_nonce) < 0)
		goto out;
	if (old_csr != NULL && strcmp(old_csr, doc_get(doc, "csr", "data")) != 0) {
		log_fail(EXIT_INPUT, "join: the document's csr.data is not the "
		    "certificate request of key set %s for this nonce (changed, or "
		    "made with other keys): drop the csr section, or run 'drsjoin "
		    "csr' again", set_name(doc_get(doc, "keys", "dir")));
		goto out;
	}
	rc = post_join(s, doc, t->token, &t->claims, a, why, sizeof(why));
	if (rc == 1) {
		/* Once, at once: the service would not take our nonce. */
		log_note("%s; joining again without the nonce (--nonce require "
		    "makes this an error)", why);
		json_remove(doc, "nonce");
		rc = request_csr(doc, 1) < 0 ? -1 :
		    post_join(s, doc, t->token, &t->claims, a, why, sizeof(why));
	}
out:
	if (job != NULL)
		keystore_finish(job, doc);
	/* A one-shot join that failed leaves no staged keys behind. */
	if (rc < 0 && own_keys)
		keystore_discard(doc);
	http_session_free(s);
	free(old_csr);
	return rc;
}

static const char *
join_type_name(int t)
{
	return t == JOIN_TYPE_JOIN ? "join" : "register";
}

/*
 * The stored identity, checked before any token is read (a boot script that
 * runs join every boot must keep working after its token file is gone).
 * Returns 1 when this machine is joined as asked, with *rec and h set (the
 * caller checks h: a damaged identity is an error, never "already
 * joined"); 0 to go on and join (*rec set with --force when an identity is
 * stored); -1 when refused (reported). Asked: --tenant, or the document's
 * tenant, if either names one, and --join-type, if given.
 */
static int
already_joined(const struct join_args *a, struct json *doc, struct json **rec,
    struct health *h)
{
	const char *rt, *rd, *want, *stype, *id;
	int have;

	*rec = NULL;
	if (identity_open(opts.state_dir, 1) < 0 || identity_cleanup() < 0)
		return -1;
	if (a->force) {
		/* --force gets past a corrupt record, moving it aside, never deleting keys. */
		if (identity_load_quiet(rec) == IDENTITY_CORRUPT &&
		    identity_quarantine() < 0)
			return -1;
		json_free(*rec);
		*rec = NULL;
		return identity_load(rec) < 0 ? -1 : 0;
	}
	if ((have = health_check(h)) != 0)
		return have == 1 ? 0 : -1;
	if (h->rec == NULL)	/* device.json itself is unusable */
		return health_fail("join", h);
	*rec = h->rec;
	h->rec = NULL;
	id = json_get_string(*rec, "device_id");
	stype = json_get_string(*rec, "join_type");
	if (a->join_type_given && stype != NULL &&
	    strcmp(stype, join_type_name(a->join_type)) != 0)
		return cli_usage("join", "this machine is joined as type '%s' (device %s); "
		    "--join-type %s asks for another: --force replaces the identity",
		    stype, id, join_type_name(a->join_type));
	rt = json_get_string(*rec, "tenant_id");
	rd = json_get_string(*rec, "tenant_domain");
	want = a->tenant != NULL ? a->tenant : doc_get(doc, "tenant", "id");
	if (want == NULL)
		want = doc_get(doc, "tenant", "requested");
	if (want != NULL && !(rt != NULL && strcasecmp(want, rt) == 0) &&
	    !(rd != NULL && strcasecmp(want, rd) == 0))
		return log_fail(EXIT_INPUT, "join: this machine is already joined to "
		    "tenant %s as device %s, not to %s; --force replaces that identity",
		    rt ? rt : "(unknown)", id, want);
	return 1;
}

/*
 * A re-run on a joined machine with a ready token at hand: a token for
 * another tenant than the stored identity's asks for another join, and is
 * refused naming both. The token is optional here: one that cannot be read
 * or parsed is ignored, as on any re-run (its file may be long gone).
 */
static int
token_for_stored(struct join_token *t, int chosen, const struct json *rec)
{
	struct jwt_claims c = { 0 };
	const char *rt = json_get_string(rec, "tenant_id");
	char why[512];
	int rc = 0, bad;

	if (!chosen || t->src.kind != TOKEN_ACCESS || rt == NULL)
		return 0;
	log_catch(why, sizeof(why));
	bad = token_source_read(&t->src) < 0 || jwt_parse(t->src.secret, &c) < 0;
	log_catch(NULL, 0);
	if (bad)
		log_debug(1, "join: the token is not needed on a re-run, and not "
		    "used (%s)", why);
	else if (strcasecmp(c.tid, rt) != 0)
		rc = log_fail(EXIT_INPUT, "join: the token is for tenant %s, this "
		    "machine is joined to tenant %s as device %s; --force replaces "
		    "that identity", c.tid, rt, json_get_string(rec, "device_id"));
	jwt_claims_free(&c);
	return rc;
}

static void
usage(void)
{
	printf("usage: drsjoin join [--token-file FILE|- | --bprt-file FILE|- |\n"
	    "                     --refresh-token-file FILE|- [--client-id ID] |\n"
	    "                     --device-code [--client-id ID]] [--tenant ID|DOMAIN]\n"
	    "                    [--join-type join|register] [--display-name NAME]\n"
	    "                    [--target-domain DOMAIN] [--force [--keep-old-device]]\n"
	    "                    [--key-store tpm|software|auto]\n"
	    "                    [--nonce auto|require|off] [--no-nonce] [--in FILE]\n"
	    "                    [--json]\n"
	    "\n"
	    "Joins this machine to the tenant: runs whichever phases the document\n"
	    "(--in, or stdin when it is not a terminal) lacks - discover, nonce,\n"
	    "keygen, csr - then the join, checks the certificate, and commits the\n"
	    "identity to the state dir. When the state dir already holds a usable\n"
	    "identity (as 'drsjoin status' checks it; for --tenant, or the\n"
	    "document's tenant, if one is named), prints it and changes nothing,\n"
	    "needing no token; a damaged or expired one is an error (exit 7), and\n"
	    "another --join-type or tenant (also a token's) than the stored one is\n"
	    "refused. A --tenant that contradicts the token is refused. --force\n"
	    "joins again, replaces the identity once the new join succeeded, then\n"
	    "deletes the replaced device from its tenant (a failure there is a\n"
	    "warning); --keep-old-device leaves it there.\n"
	    "\n"
	    "Prints the document with the identity as its \"device\" section; at a\n"
	    "terminal a short summary instead (device id, tenant, user, key store),\n"
	    "and under -q nothing; --json prints the document always.\n"
	    "\n"
	    "The access token, never on the command line, comes from one of:\n"
	    "  --token-file FILE          a DRS access token (or DRSJOIN_TOKEN)\n"
	    "  --bprt-file FILE           a bulk enrolment token, exchanged at the\n"
	    "                             tenant's login service (or DRSJOIN_BPRT)\n"
	    "  --refresh-token-file FILE  a user's refresh token, exchanged likewise\n"
	    "                             (or DRSJOIN_REFRESH_TOKEN)\n"
	    "  --device-code              a person signs in with a code on another screen\n"
	    "FILE - is stdin. --client-id ID: the app of a refresh token or of the\n"
	    "device code sign-in (default %s). With the last three, the tenant\n"
	    "comes from --tenant (or the document's tenant section); a BPRT needs\n"
	    "it, while without it a refresh token or the device code signs in at\n"
	    "the cloud's \"organizations\" authority and the access token names\n"
	    "the tenant.\n"
	    "\n"
	    "--nonce auto (the default) uses a nonce when the service gives one, and\n"
	    "joins without it when the nonce service is missing or fails or the\n"
	    "service refuses the CSR carrying it; require makes those errors; off\n"
	    "(or --no-nonce) sends none.\n", LOGIN_BROKER_CLIENT_ID);
}

int
cmd_join(int argc, char **argv)
{
	enum { O_BPRT = 256, O_REFRESH, O_CLIENT_ID, O_DEVICE_CODE, O_TENANT,
	    O_NONCE };
	static const struct option lo[] = {
		{ "token-file", required_argument, NULL, 'T' },
		{ "bprt-file", required_argument, NULL, O_BPRT },
		{ "refresh-token-file", required_argument, NULL, O_REFRESH },
		{ "client-id", required_argument, NULL, O_CLIENT_ID },
		{ "device-code", no_argument, NULL, O_DEVICE_CODE },
		{ "tenant", required_argument, NULL, O_TENANT },
		{ "nonce", required_argument, NULL, O_NONCE },
		{ "join-type", required_argument, NULL, 'j' },
		{ "display-name", required_argument, NULL, 'd' },
		{ "target-domain", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'f' },
		{ "keep-old-device", no_argument, NULL, 'K' },
		{ "key-store", required_argument, NULL, 'k' },
		{ "no-nonce", no_argument, NULL, 'n' },
		{ "in", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct join_args a = { .store = KEYSTORE_AUTO, .join_type = JOIN_TYPE_JOIN };
	struct join_token t = { 0 };
	struct json *doc = NULL, *rec = NULL;
	struct health h = { 0 };
	const char *token_file = NULL, *bprt_file = NULL, *refresh_file = NULL;
	const char *client_id = NULL, *tenant, *conf_token;
	struct leave_old *old = NULL;
	char why[1024], no_token[512];
	int c, rc = -1, done, code = 0, device_code = 0;

	/* The config file's key-store (checked when read), unless given. */
	if (config.key_store != NULL && keystore_parse("join", config.key_store, &a.store) < 0)
		return -1;
	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		switch (c) {
		case 'T': token_file = optarg; break;
		case O_BPRT: bprt_file = optarg; break;
		case O_REFRESH: refresh_file = optarg; break;
		case O_CLIENT_ID:
			if (!util_is_guid(optarg, strlen(optarg)))
				return cli_usage("join", "--client-id: '%s' is "
				    "not an application id (a GUID)", CLI_SHOWN(optarg));
			client_id = optarg;
			break;
		case O_DEVICE_CODE: device_code = 1; break;
		case O_TENANT:
			if (!util_tenant_ok(optarg))
				return cli_usage("join", "--tenant: '%s' is "
				    "neither a tenant id (GUID) nor a domain name",
				    CLI_SHOWN(optarg));
			a.tenant = optarg;
			break;
		case O_NONCE:
			if (strcmp(optarg, "auto") == 0)
				a.nonce = NONCE_AUTO;
			else if (strcmp(optarg, "require") == 0)
				a.nonce = NONCE_REQUIRE;
			else if (strcmp(optarg, "off") == 0)
				a.nonce = NONCE_OFF;
			else
				return cli_usage("join", "--nonce: '%s' is not "
				    "auto, require or off", CLI_SHOWN(optarg));
			break;
		case 'j':
			if (strcmp(optarg, "join") == 0)
				a.join_type = JOIN_TYPE_JOIN;
			else if (strcmp(optarg, "register") == 0)
				a.join_type = JOIN_TYPE_REGISTER;
			else
				return cli_usage("join", "--join-type: '%s' is not join or register",
				    CLI_SHOWN(optarg));
			a.join_type_given = 1;
			break;
		case 'd': a.display_name = optarg; break;
		case 'D': a.target_domain = optarg; break;
		case 'f': a.force = 1; break;
		case 'K': a.keep_old_device = 1; break;
		case 'k':
			if (keystore_parse("join", optarg, &a.store) < 0)
				return -1;
			break;
		case 'n': a.nonce = NONCE_OFF; break;
		case 'i': a.in = optarg; break;
		case 'J': a.json = 1; break;
		case 'h': usage(); return 0;
		default:
			return cli_bad_option("join", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage("join", "unexpected argument '%s' (the token is never "
		    "given on the command line: use --token-file)",
		    CLI_SHOWN(argv[optind]));
	if (a.display_name != NULL && (*a.display_name == '\0' || strlen(a.display_name) > 256))
		return cli_usage("join", "--display-name must be 1 to 256 characters");
	if (a.keep_old_device && !a.force)
		return cli_usage("join", "--keep-old-device goes with --force");
	/*
	 * No token at all is an error only when a join is needed: a re-run on
	 * a joined machine needs none (already_joined below).
	 */
	if (config_token_source(&token_file, &bprt_file, &refresh_file,
	    device_code, &conf_token) < 0)
		return -1;
	log_catch(no_token, sizeof(no_token));
	c = token_source_choose(&t.src, token_file, bprt_file, refresh_file,
	    device_code, client_id);
	t.src.named_by = conf_token;
	code = log_caught_code();
	log_catch(NULL, 0);
	if (c < 0 && strncmp(no_token, "no token", 8) != 0)
		return log_fail(code, "%s", no_token);
	if (c < 0 && config_unit_without_token())
		snprintf(no_token, sizeof(no_token), "no token: put an access "
		    "token in /etc/drsjoin/token.jwt, or name bprt-file or "
		    "refresh-token-file in " DRSJOIN_CONFIG_FILE " (the systemd "
		    "credential drsjoin-token is blank)");
	if (c == 0)
		no_token[0] = '\0';
	if (sandbox_read(a.in) < 0 || sandbox_read(t.src.file) < 0 || sandbox_enter() < 0)
		return -1;

	/* With a secret on stdin, the document comes from --in only. */
	if ((token_source_stdin(&t.src) && a.in == NULL ?
	    doc_new(&doc) : doc_read(a.in, &doc)) < 0)
		goto out;
	/* The file's tenant is a default: --tenant and the document win. */
	if (a.tenant == NULL && doc_get(doc, "tenant", "id") == NULL &&
	    doc_get(doc, "tenant", "requested") == NULL &&
	    (a.tenant = config.tenant) != NULL)
		a.tenant_what = "the config file's tenant";
	/* The stored identity first: a re-run needs no token at all. */
	if ((done = already_joined(&a, doc, &rec, &h)) < 0)
		goto out;
	if (done > 0) {
		/* Another tenant asked for is the clearer error than damage. */
		if (token_for_stored(&t, no_token[0] == '\0', rec) < 0)
			goto out;
		if (h.code != 0) {
			rc = health_fail("join", &h);
			goto out;
		}
		log_note("join: already joined as device %s; nothing to do (--force "
		    "joins again)", json_get_string(rec, "device_id"));
		rc = print_identity(doc, rec, a.json);
		goto out;
	}
	if (no_token[0] != '\0') {
		rc = log_fail(code, "%s", no_token);
		goto out;
	}
	/*
	 * The secret is read, and a ready token checked, before any traffic
	 * and any change to the identity: here, and only here.
	 */
	if (token_source_read(&t.src) < 0)
		goto out;
	if (t.src.kind == TOKEN_ACCESS) {
		t.token = t.src.secret;
		t.src.secret = NULL;
		if (jwt_parse(t.token, &t.claims) < 0 ||
		    jwt_check(&t.claims, time(NULL)) < 0 ||
		    tenant_matches_token(&a, t.claims.tid, NULL) < 0)
			goto out;
	}
	tenant = t.src.kind == TOKEN_ACCESS ? t.claims.tid : a.tenant != NULL ?
	    a.tenant : doc_get(doc, "tenant", "id");
	/* A refresh token or the device code finds its tenant (run_join). */
	if (tenant == NULL && t.src.kind == TOKEN_BPRT) {
		rc = cli_usage("join", "with a %s, give --tenant ID|DOMAIN",
		    token_source_name(&t.src));
		goto out;
	}
	/*
	 * The replaced device is deleted with its own certificate and key once
	 * the new identity is committed, when their files are gone: keep them.
	 */
	if (rec != NULL && a.force && !a.keep_old_device) {
		log_catch(why, sizeof(why));
		c = leave_keep_old(rec, &old);
		log_catch(NULL, 0);
		if (c < 0)
			log_note("warning: join: the replaced device %s will stay in the "
			    "tenant (%s)", json_get_string(rec, "device_id"), why);
	}
	/* A CA bundle that cannot be used is said before any key is made. */
	if (http_cabundle_check() < 0)
		goto out;
	if ((rc = run_join(doc, &t, &a)) == 0 && (c = sigdefer_pending()) != 0) {
		/* Held over the request and the commit; now, what was done. */
		rc = log_fail(sigdefer_exit_code(c), "join: interrupted (%s) during the "
		    "join: device %s was joined to tenant %s and is kept ('drsjoin "
		    "status' shows it)%s%s%s", sigdefer_name(c),
		    doc_get(doc, "device", "device_id"), doc_get(doc, "tenant", "id"),
		    old != NULL ? "; the replaced device " : "",
		    old != NULL ? json_get_string(rec, "device_id") : "",
		    old != NULL ? " stays in the tenant: delete it there" : "");
	} else if (rc == 0) {
		if (old != NULL)
			leave_delete_old(old, doc_get(doc, "device", "device_id"));
		rc = join_print(doc, 0, a.json);
	}
out:
	leave_old_free(old);
	health_free(&h);
	json_free(doc);
	json_free(rec);
	jwt_claims_free(&t.claims);
	util_free_secret(t.token);
	token_source_free(&t.src);
	return rc;
}
