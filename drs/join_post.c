/* join_post.c - the join request and its transaction: the POST, the checks of the answer, the commit or the rollback (join_impl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "answer.h"
#include "cert.h"
#include "cli.h"
#include "doc.h"
#include "http.h"
#include "identity.h"
#include "join.h"
#include "join_impl.h"
#include "jwt.h"
#include "keystore.h"
#include "leave.h"
#include "log.h"
#include "osinfo.h"
#include "prtstore.h"
#include "sigdefer.h"
#include "state.h"
#include "svcerr.h"
#include "token.h"
#include "util.h"

/* What the join request's retry_hook needs (http.h): a token outliving the waits. */
struct join_wait {
	struct http_session *s;
	struct json *doc;
	struct join_token *t;
};

int
join_token_expires_within(const struct join_token *t, long wait_s)
{
	return t->claims.exp != 0 &&
	    t->claims.exp <= (long long)time(NULL) + wait_s + JOIN_TOKEN_MARGIN_S;
}

/*
 * The join request's retry_hook: a token that would expire before the
 * request is sent again is not sent. Before a wait, a ready access token
 * that would fails at once, naming its expiry; after it, one from a BPRT,
 * a refresh token or the device code sign-in is redeemed again.
 */
static int
join_token_retry(void *arg, long wait_ms, const char **bearer)
{
	struct join_wait *w = arg;
	struct join_token *t = w->t;
	char at[32];

	if (!join_token_expires_within(t, (wait_ms + 999) / 1000))
		return 0;
	join_time_text((time_t)t->claims.exp, at, sizeof(at));
	if (t->src.kind == TOKEN_ACCESS) {
		if (wait_ms == 0)
			return 0;	/* said before the wait */
		return log_fail(EXIT_INPUT, "join: the access token expires at %s, "
		    "before the join request can be sent again (in %ld s): give "
		    "one with more time left (a BPRT or refresh token is redeemed "
		    "again as needed)", at, (wait_ms + 999) / 1000);
	}
	if (wait_ms != 0)
		return 0;	/* after the wait */
	if (t->src.kind == TOKEN_DEVICE_CODE)
		log_note("join: the access token expires at %s: getting a new one "
		    "with the sign-in's refresh token", at);
	else
		log_note("join: the access token expires at %s: redeeming the %s "
		    "again", at, token_source_name(&t->src));
	util_free_secret(t->token);
	t->token = NULL;
	jwt_claims_free(&t->claims);
	if (join_token_obtain(w->s, w->doc, t) < 0)
		return -1;
	*bearer = t->token;
	return 1;
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
 * The join from its POST to the commit or the rollback. From the 2xx
 * answer on a device may exist: the state every step after it needs, and
 * join_settle() needs to delete or name that device, lives here, so that
 * the rule is written once, in join_check_commit().
 */
struct join_txn {
	struct json *doc;			/* borrowed */
	const struct join_args *a;		/* borrowed */
	struct join_token *tok;			/* borrowed: renewed over the waits */
	const char *tenant, *domain, *name;	/* borrowed */
	char host[256];				/* name's storage when the host name */
	char crid[HTTP_REQUEST_ID_LEN + 1];	/* the POST's client-request-id */
	struct keystore_key *dk;	/* the device key, loaded before the POST */
	struct http_response rs;	/* the 2xx answer */
	struct json *ans;
	const char *raw, *thumb, *upn;	/* borrowed from ans (upn: or the token) */
	struct cert *c;			/* once parsed: the device id is known */
	char *pem;
	size_t pem_len;
	struct json *rec;		/* the record to commit */
	char *set;			/* "staging/SET" */
	struct leave_old *held;		/* certificate and key, to delete the device */
	char why[SVCERR_LINE_MAX + 512];	/* a step's failure (log_catch) */
};

static void
join_txn_free(struct join_txn *t)
{
	leave_old_free(t->held);
	json_free(t->ans);
	json_free(t->rec);
	cert_free(t->c);
	keystore_key_free(t->dk);
	http_response_free(&t->rs);
	free(t->pem);
	free(t->set);
}

/* What the POST needs from the document, and the device key, loaded and checked. */
static int
join_prepare(struct join_txn *t)
{
	struct json *doc = t->doc;

	if (doc_need(doc, "discovery", "join_endpoint", "join", "discover") == NULL ||
	    doc_need(doc, "discovery", "join_version", "join", "discover") == NULL ||
	    (t->tenant = doc_need(doc, "tenant", "id", "join", "discover")) == NULL ||
	    doc_need(doc, "keys", "transport_blob", "join", "keygen") == NULL ||
	    doc_need(doc, "keys", "store", "join", "keygen") == NULL ||
	    doc_need(doc, "csr", "data", "join", "csr") == NULL)
		return -1;
	t->domain = t->a->target_domain ? t->a->target_domain :
	    doc_get(doc, "tenant", "domain");
	if (t->domain == NULL)
		return log_fail(EXIT_INPUT, "join: no target domain; give --target-domain");
	t->name = t->a->display_name;
	if (t->name == NULL) {
		if (osinfo_hostname(t->host, sizeof(t->host)) < 0)
			return -1;
		t->name = t->host;
	}
	/* A key that cannot be used must fail here, before the service makes a device. */
	return keystore_load_device(json_get_object(doc, "keys"), &t->dk);
}

/*
 * The service refused a CSR carrying the nonce (rq->pass_if): 1 (noted:
 * the refusal, in refusal too, then whether a device may exist) for
 * --nonce auto to try without it; a signal held over that request ends
 * the join here instead (never a second POST).
 */
static int
join_refused(struct join_txn *t, char *refusal, size_t refusalsz)
{
	int sig;

	svcerr_format(refusal, refusalsz, "join", t->rs.status, t->rs.body,
	    t->rs.body_len, t->rs.content_type, t->rs.request_id);
	if ((sig = sigdefer_end()) != 0)
		return log_fail(sigdefer_exit_code(sig), "join: interrupted (%s) "
		    "during the join request, which the service refused (%s): %s",
		    sigdefer_name(sig), refusal, nonce_maybe_done(t->rs.status) ?
		    "a device may have been created: look for its "
		    "client-request-id in the tenant's audit logs" :
		    "no device was created");
	/* The refusal first, then what it may have left. */
	log_note("%s; joining again without the nonce (--nonce require makes "
	    "this an error)", refusal);
	if (nonce_maybe_done(t->rs.status))
		log_note("join: the service answered %ld: a device may have been "
		    "created by that request; if the tenant shows two for this "
		    "machine, delete the one of client-request-id %s",
		    t->rs.status, t->rs.request_id);
	return 1;
}

/*
 * The POST: 0 with a 2xx answer in t->rs (signals held from here until
 * join_post ends), 1 or -1 as join_refused, -1 reported.
 */
static int
join_send(struct http_session *s, struct join_txn *t, char *refusal,
    size_t refusalsz)
{
	struct join_wait wait = { s, t->doc, t->tok };
	struct http_request rq = { 0 };
	struct json *body = NULL;
	const char *ep = doc_get(t->doc, "discovery", "join_endpoint");
	char os[256], *url = NULL, *text = NULL;
	int rc = -1;

	osinfo_version(NULL, os, sizeof(os));
	if ((body = join_body(t->doc, t->a->join_type, t->name, t->domain, os)) == NULL ||
	    (text = json_print(body, 0)) == NULL ||
	    (url = util_asprintf("%s%sapi-version=%s", ep, strchr(ep, '?') ? "&" : "?",
	    doc_get(t->doc, "discovery", "join_version"))) == NULL)
		goto out;
	rq.phase = "join";
	rq.method = "POST";
	rq.url = url;
	rq.bearer = t->tok->token;
	rq.retry_hook = join_token_retry;
	rq.retry_hook_arg = &wait;
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
	if (t->a->nonce == NONCE_AUTO && json_get_bool(json_get_object(t->doc, "csr"), "nonce"))
		rq.pass_if = nonce_fallback_status;
	/*
	 * From the request's first byte on a device may exist: SIGINT, SIGTERM,
	 * SIGHUP and SIGQUIT wait until its identity is stored or the device
	 * deleted again. Before that byte, and in a wait between attempts (a
	 * 429), none can: they stop the join at once (http.h).
	 */
	rq.hold_signals = 1;
	rq.if_stopped = "no device was created";
	if (http_new_request_id(t->crid) < 0 || sigdefer_begin() < 0)
		goto out;
	rq.request_id = t->crid;
	sigdefer_abort_line("join: interrupted twice during the join request "
	    "(client-request-id %s): a device may have been created in tenant %s; "
	    "look for the client-request-id in the tenant's audit logs (Entra admin "
	    "center, Devices, Audit logs)", t->crid, t->tenant);
	util_fault_point("join-post");
	if (http_send(s, &rq, &t->rs) < 0)
		goto out;
	log_debug(1, "join: answered %ld (client-request-id %s)", t->rs.status,
	    t->rs.request_id);
	rc = rq.pass_if != NULL && (t->rs.status < 200 || t->rs.status > 299) ?
	    join_refused(t, refusal, refusalsz) : 0;
out:
	json_free(body);
	free(url);
	util_free_secret(text);	/* holds the nonce */
	return rc;
}

/*
 * User.Upn is optional, and the service's word: one that is not usable
 * text is dropped with a warning, the identity stored without a user.
 */
static void
answer_upn(struct join_txn *t)
{
	struct json *user;
	char why[512];
	int bad;

	log_catch(why, sizeof(why));
	bad = opt_object(t->ans, "User", &user) < 0 ||
	    answer_string("join", user, "User", "Upn", ANSWER_TEXT, ANSWER_TEXT_MAX,
	    0, &t->upn) < 0;
	/* Back to the driver's catch (join_check_commit). */
	log_catch(t->why, sizeof(t->why));
	if (bad) {
		t->upn = NULL;
		log_warn("%s: the identity is stored without a user", why);
		return;
	}
	/* The token's upn is not checked by anyone: store it only as text. */
	if (t->upn == NULL && t->tok->claims.upn != NULL &&
	    answer_text_ok(t->tok->claims.upn, strlen(t->tok->claims.upn), why,
	    sizeof(why)) && strlen(t->tok->claims.upn) <= ANSWER_TEXT_MAX)
		t->upn = t->tok->claims.upn;
}

/* The answer's certificate fields, and its user. */
static int
step_answer(struct join_txn *t)
{
	struct json *certj;

	if ((t->ans = answer_parse("join", &t->rs)) == NULL ||
	    opt_object(t->ans, "Certificate", &certj) < 0 ||
	    answer_string("join", certj, "Certificate", "RawBody", ANSWER_WORD,
	    ANSWER_CERT_MAX, 1, &t->raw) < 0 ||
	    answer_string("join", certj, "Certificate", "Thumbprint", ANSWER_WORD,
	    ANSWER_WORD_MAX, 1, &t->thumb) < 0)
		return -1;
	answer_upn(t);
	return 0;
}

/* The certificate: from here on the device id is known. */
static int
step_cert(struct join_txn *t)
{
	if (cert_parse_base64(t->raw, EXIT_NETWORK, "join: Certificate.RawBody", &t->c) < 0)
		return -1;
	sigdefer_abort_line("join: interrupted twice: device %s was created in tenant "
	    "%s (client-request-id %s); if 'drsjoin status' does not show it, delete "
	    "it in the Entra admin center (Devices, All devices, by its device id)",
	    cert_device_id(t->c), t->tenant, t->crid);
	return 0;
}

/* Thumbprint and key (protocol.md, Phase 5). */
static int
step_cert_key(struct join_txn *t)
{
	return cert_check_join(t->c, keystore_key(t->dk), t->thumb);
}

/*
 * Expired is an error. Not yet valid by this machine's clock is the clock's
 * fault, not the service's (it is authoritative): kept, with a warning
 * giving the skew, from the answer's Date when it had one.
 */
static int
step_cert_time(struct join_txn *t)
{
	time_t now = time(NULL), nb = cert_not_before(t->c);
	char a[32], d[32];

	if (nb <= now + CERT_SKEW)
		return cert_check_time(t->c, now, "join: the device certificate");
	join_time_text(nb, a, sizeof(a));
	join_time_text(t->rs.date, d, sizeof(d));
	if (t->rs.date > 0 && t->rs.date - now > CERT_SKEW)
		log_warn("join: the device certificate is not valid before "
		    "%s, %lld s ahead of this machine's clock, which is %lld s behind "
		    "the service's (its answer's Date, %s): set the clock right (NTP); "
		    "the certificate is kept", a, (long long)(nb - now),
		    (long long)(t->rs.date - now), d);
	else if (t->rs.date > 0)
		log_warn("join: the device certificate is not valid before "
		    "%s, %lld s ahead of this machine's clock, which agrees with the "
		    "service's (its answer's Date, %s): the service dated it ahead; "
		    "the certificate is kept", a, (long long)(nb - now), d);
	else
		log_warn("join: the device certificate is not valid before "
		    "%s, %lld s ahead of this machine's clock (the answer had no "
		    "Date): check the clock (NTP); the certificate is kept", a,
		    (long long)(nb - now));
	return 0;
}

/* The record to commit: only text from the certificate that is fit for it. */
static int
step_record(struct join_txn *t)
{
	if (text_ok("join: the certificate's issuer", cert_issuer(t->c)) < 0 ||
	    cert_pem(t->c, &t->pem, &t->pem_len) < 0 ||
	    (t->rec = make_record(t->doc, t->c, t->upn, t->a, t->domain, t->name,
	    t->crid)) == NULL)
		return -1;
	return 0;
}

/* The certificate and the key's file held in memory: the commit may move them. */
static int
step_hold(struct join_txn *t)
{
	const struct json *keys = json_get_object(t->doc, "keys");

	if ((t->set = identity_staging_check(json_get_string(keys, "dir"))) == NULL)
		return -1;
	return leave_hold_new(t->rec, keys, t->pem, &t->held);
}

static int
step_commit(struct join_txn *t)
{
	return identity_commit(t->set, t->pem, t->rec);
}

/*
 * The steps after a 2xx answer, in order; each may fail, and then
 * join_settle() deletes or names the device. The names are the test hooks'
 * (DRSJOIN_TEST_FAIL_AT, _STOP_AT, _KILL_AT; join_rollback.sh lists them
 * from here).
 */
static const struct join_step {
	const char *name;
	int (*run)(struct join_txn *);
} join_steps[] = {
	{ "join-answer", step_answer },
	{ "join-cert", step_cert },
	{ "join-cert-key", step_cert_key },
	{ "join-cert-time", step_cert_time },
	{ "join-record", step_record },
	{ "join-hold", step_hold },
	{ "join-commit", step_commit },
};

/* The device the answer's certificate names, as leave_undo_join wants it. */
static struct json *
undo_record(const struct join_txn *t)
{
	struct json *r;

	if (t->rec != NULL)
		return json_dup(t->rec);
	if ((r = json_new_object()) == NULL ||
	    json_set_string(r, "device_id", cert_device_id(t->c)) < 0 ||
	    json_set_string(r, "tenant_id", t->tenant) < 0 ||
	    json_set_string(r, "client_request_id", t->crid) < 0 ||
	    json_set(r, "endpoints", json_dup(json_get_object(t->doc, "discovery"))) < 0 ||
	    json_set(r, "keys", json_dup(json_get_object(t->doc, "keys"))) < 0) {
		json_free(r);
		return NULL;
	}
	return r;
}

/*
 * A step after the 2xx answer failed (why, its exit code code): the
 * device is deleted again with the certificate in hand when it is for our
 * key; else the one line names the device id (when the answer gave one),
 * the tenant and the client-request-id. Always -1.
 */
static int
join_settle(struct join_txn *t, const char *why, int code)
{
	struct json *rec = NULL;
	const char *cannot = NULL;
	char intr[64] = "";
	int sig, rc;

	if (strncmp(why, "join: ", 6) == 0)
		why += 6;
	if (t->c == NULL || (rec = undo_record(t)) == NULL) {
		if ((sig = sigdefer_pending()) != 0) {
			snprintf(intr, sizeof(intr), "interrupted (%s); ", sigdefer_name(sig));
			code = sigdefer_exit_code(sig);
		}
		return log_fail(code, "join: %s%s; %s%s may have been created in "
		    "tenant %s (client-request-id %s) and is not stored here: look for "
		    "the client-request-id in the tenant's audit logs (Entra admin "
		    "center, Devices, Audit logs) and delete it there", intr, why,
		    t->c != NULL ? "device " : "a device", t->c != NULL ?
		    cert_device_id(t->c) : "", t->tenant, t->crid);
	}
	if (!cert_public_matches(t->c, keystore_key(t->dk))) {
		cannot = "its certificate is not for this machine's device key, "
		    "so it cannot authenticate the deletion";
	} else if (t->held == NULL) {
		if (t->pem == NULL && cert_pem(t->c, &t->pem, &t->pem_len) < 0)
			cannot = "its certificate could not be kept";
		else if (leave_hold_new(rec, json_get_object(t->doc, "keys"), t->pem,
		    &t->held) < 0)
			cannot = "its key could not be read";
	}
	rc = leave_undo_join(rec, cannot == NULL ? t->held : NULL, why, code, cannot);
	json_free(rec);
	return rc;
}

/* The steps after the 2xx answer; any failure settles the device. */
static int
join_check_commit(struct join_txn *t)
{
	size_t i;
	int r = 0, code;

	log_catch(t->why, sizeof(t->why));
	for (i = 0; r == 0 && i < sizeof(join_steps) / sizeof(join_steps[0]); i++) {
		util_fault_point(join_steps[i].name);
		if (util_fault_fail(join_steps[i].name))
			r = log_fail(EXIT_INTERNAL, "join: the step %s failed "
			    "(DRSJOIN_TEST_FAIL_AT)", join_steps[i].name);
		else
			r = join_steps[i].run(t);
	}
	code = log_caught_code();
	log_catch(NULL, 0);
	return r == 0 ? 0 : join_settle(t, t->why, code);
}

/* Committed: the document says so (its spent nonce and CSR removed). */
static int
join_done(struct join_txn *t)
{
	struct json *doc = t->doc;

	/* PRTs stored before belong to the identity just replaced. */
	prtstore_forget("join");
	/* Interrupted, cmd_join's one line says it instead. */
	if (sigdefer_pending() == 0)
		log_note("joined: device %s in tenant %s", cert_device_id(t->c), t->tenant);
	json_remove(doc, "nonce");
	json_remove(doc, "csr");
	if (json_set(doc, "keys", json_dup(json_get_object(t->rec, "keys"))) < 0 ||
	    json_set(doc, "device", t->rec) < 0) {
		t->rec = NULL;
		return -1;
	}
	t->rec = NULL;
	/* For people: the record's paths are relative to the state dir. */
	if (identity_paths_absolute(json_get_object(doc, "device")) < 0 ||
	    identity_paths_absolute(doc) < 0)
		return -1;
	return 0;
}

/*
 * Phase 5 proper: the POST, the checks of the answer, the commit or the
 * rollback. Returns 1 (noted: the refusal, in *refusal too, then whether a
 * device may exist) when the service refused a CSR carrying a nonce
 * (nonce_fallback_status) and --nonce auto may try without it.
 */
int
join_post(struct http_session *s, struct json *doc, struct join_token *tok,
    const struct join_args *a, char *refusal, size_t refusalsz)
{
	struct join_txn t = { .doc = doc, .a = a, .tok = tok };
	int rc = -1;

	if (join_prepare(&t) < 0)
		goto out;
	if ((rc = join_send(s, &t, refusal, refusalsz)) != 0)
		goto out;
	rc = join_check_commit(&t) < 0 || join_done(&t) < 0 ? -1 : 0;
out:
	/* A signal held over a committed join is reported by cmd_join. */
	sigdefer_end();
	join_txn_free(&t);
	return rc;
}
