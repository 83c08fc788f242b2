/* join.c - "drsjoin join": whatever phases the document lacks, then the join. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
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
#include "crypto.h"
#include "discovery.h"
#include "doc.h"
#include "health.h"
#include "http.h"
#include "identity.h"
#include "join.h"
#include "join_impl.h"
#include "jwt.h"
#include "keystore.h"
#include "leave.h"
#include "log.h"
#include "prtstore.h"
#include "login.h"
#include "machine.h"
#include "nonce.h"
#include "osinfo.h"
#include "pubrec.h"
#include "request.h"
#include "retry.h"
#include "sandbox.h"
#include "sigdefer.h"
#include "state.h"
#include "summary.h"
#include "svcerr.h"
#include "token.h"
#include "util.h"


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
int
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


/*
 * The request is always made again from the set's device key (PKCS#1 v1.5
 * is deterministic: the same key and nonce give the same bytes). One in the
 * document for the same nonce must be exactly that one: a document's
 * request is never sent as read. One made for another nonce is stale, and
 * replaced.
 */
static int
join_csr(struct json *doc, const struct join_args *a)
{
	struct json *csr = json_get_object(doc, "csr");
	int want_nonce = a->nonce != NONCE_OFF && doc_get(doc, "nonce", "value") != NULL;
	char *old_csr = NULL;
	int rc = -1;

	if (csr != NULL && doc_get(doc, "csr", "data") != NULL &&
	    json_get_bool(csr, "nonce") == want_nonce &&
	    (old_csr = util_strdup(doc_get(doc, "csr", "data"))) == NULL)
		return -1;
	if (request_csr(doc, !want_nonce) < 0)
		goto out;
	if (old_csr != NULL && strcmp(old_csr, doc_get(doc, "csr", "data")) != 0) {
		log_fail(EXIT_INPUT, "join: the document's csr.data is not the "
		    "certificate request of key set %s for this nonce (changed, or "
		    "made with other keys): drop the csr section, or run 'drsjoin "
		    "csr' again", set_name(doc_get(doc, "keys", "dir")));
		goto out;
	}
	rc = 0;
out:
	free(old_csr);
	return rc;
}

/* The phases the document lacks, key generation overlapping the network. */
/*
 * --splay: machines of a fleet started together spread their first request
 * over s seconds (docs/fleet.md), each waiting a random part of it, before
 * anything else of the join is done (keys included, so that a stop is at
 * once). A ready access token must outlive the longest wait (refused
 * before it, whatever the draw); a BPRT or refresh token is redeemed after
 * it. A signal ends the wait: nothing was sent. 0, or -1 reported.
 */
static int
join_splay(long s, const struct join_token *t)
{
	char at[32];
	uint32_t r;
	long ms;
	int sig, late;

	_Static_assert(RETRY_SPLAY_MAX_S < UINT32_MAX / 1000, "the draw's range fits");
	if (s <= 0)
		return 0;
	if (t->src.kind == TOKEN_ACCESS && join_token_expires_within(t, s)) {
		join_time_text((time_t)t->claims.exp, at, sizeof(at));
		return log_fail(EXIT_INPUT, "join: the access token expires at %s, "
		    "before a --splay of %ld s could end: give one with more time "
		    "left, a BPRT or refresh token (redeemed after the wait), or a "
		    "shorter --splay", at, s);
	}
	/* Caught from before the note on: a stop seen there is said, never lost. */
	if (sigdefer_begin() < 0)
		return -1;
	if (crypto_random(&r, sizeof(r)) < 0) {
		sigdefer_end();
		return -1;
	}
	ms = (long)(r % ((uint32_t)s * 1000 + 1));
	log_note("join: waiting %.1f s before the first request (--splay %ld)",
	    ms / 1000.0, s);
	sig = log_sleep_ms_unless(ms, sigdefer_stop_now, "join: --splay");
	/* One that came after the last look is not forgotten either. */
	if ((late = sigdefer_end()) != 0 && sig == 0)
		sig = late;
	if (sig != 0)
		return log_fail(sigdefer_exit_code(sig), "join: interrupted (%s) "
		    "during --splay: no request was sent, no device was created",
		    sigdefer_name(sig));
	return 0;
}

static int
run_join(struct json *doc, struct join_token *t, const struct join_args *a)
{
	struct http_session *s = NULL;
	struct keystore_job *job = NULL;
	const char *tid, *tenant, *domain;
	char why[SVCERR_LINE_MAX];
	int rc = -1, own_keys = 0, ready = t->src.kind == TOKEN_ACCESS;

	tid = doc_get(doc, "tenant", "id");
	if (ready && tid != NULL && strcasecmp(tid, t->claims.tid) != 0)
		return log_fail(EXIT_INPUT, "join: the token is for tenant %s, the "
		    "document for tenant %s", t->claims.tid, tid);
	tenant = ready ? t->claims.tid : a->tenant != NULL ? a->tenant : tid;
	/* --tenant as a domain is discovered, and then checked against the token. */
	domain = a->tenant != NULL && !util_is_guid(a->tenant, strlen(a->tenant)) ?
	    a->tenant : NULL;
	/* Not with a person at the keyboard (--splay itself is refused there). */
	if (t->src.kind == TOKEN_DEVICE_CODE && a->splay > 0)
		log_note("join: the config file's splay is not waited for: a person "
		    "signs in (--device-code)");
	else if (join_splay(a->splay, t) < 0)
		return -1;
	if (json_get_object(doc, "keys") == NULL) {
		if (keystore_start(a->store, 1, &job) < 0)
			return -1;
		own_keys = 1;
	} else if (doc_need(doc, "keys", "dir", "join", "keygen") == NULL ||
	    keystore_check_doc(doc) < 0 ||
	    keystore_check_machine(json_get_object(doc, "keys"), a->accept_copied) < 0) {
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
	if (join_csr(doc, a) < 0)
		goto out;
	rc = join_post(s, doc, t, a, why, sizeof(why));
	if (rc == 1) {
		/* Once, at once: the service would not take our nonce (noted). */
		json_remove(doc, "nonce");
		rc = request_csr(doc, 1) < 0 ? -1 :
		    join_post(s, doc, t, a, why, sizeof(why));
	}
out:
	if (job != NULL)
		keystore_finish(job, doc);
	/* A one-shot join that failed leaves no staged keys behind. */
	if (rc < 0 && own_keys)
		keystore_discard(doc);
	http_session_free(s);
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
    struct health *h, struct leave_old **old)
{
	const char *rt, *rd, *want, *stype, *id;
	char *moved = NULL;
	int have;

	*rec = NULL;
	if (identity_open(opts.state_dir, 1) < 0 || identity_cleanup() < 0)
		return -1;
	if (a->force) {
		/* --force gets past a corrupt record, moving it aside, never deleting keys. */
		if (identity_load_quiet(rec) == IDENTITY_CORRUPT &&
		    identity_quarantine_sets(&moved) < 0)
			return -1;
		/* Its device is named, and deleted after the join when its key loads. */
		have = moved != NULL ? leave_keep_quarantined(moved, !a->keep_old_device,
		    old) : 0;
		free(moved);
		if (have < 0)
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

/*
 * An identity joined on another machine (machine.h): its device is that
 * machine's, so join --force replaces it here and leaves the device alone.
 */
static int
copied_identity(const struct json *rec)
{
	char why[128];

	if (machine_differs(json_get_object(rec, "machine"), why, sizeof(why)) <= 0)
		return 0;
	log_note("join: device %s was joined on another machine (its %s): this "
	    "copy is replaced, and the device is left to that machine",
	    json_get_string(rec, "device_id"), why);
	return 1;
}

static void
usage(void)
{
	printf("usage: drsjoin join [--token-file FILE|- | --bprt-file FILE|- |\n"
	    "                     --refresh-token-file FILE|- [--client-id ID] |\n"
	    "                     --device-code [--client-id ID]] [--tenant ID|DOMAIN]\n"
	    "                    [--join-type join|register] [--display-name NAME]\n"
	    "                    [--target-domain DOMAIN] [--force [--keep-old-device]]\n"
	    "                    [--key-store tpm|software|auto] [--accept-copied-keys]\n"
	    "                    [--nonce auto|require|off] [--no-nonce] [--in FILE]\n"
	    "                    [--splay SECONDS] [--json]\n"
	    "\n"
	    "Joins this machine to the tenant: runs whichever phases the document\n"
	    "(--in, or stdin when it is not a terminal and not silent for 2 s)\n"
	    "lacks - discover, nonce, keygen, csr - then the join, checks the\n"
	    "certificate, and commits the identity to the state dir. When the\n"
	    "state dir already holds a usable\n"
	    "identity (as 'drsjoin status' checks it; for --tenant, or the\n"
	    "document's tenant, if one is named), prints it and changes nothing,\n"
	    "needing no token; a damaged or expired one is an error (exit 7), and\n"
	    "another --join-type or tenant (also a token's) than the stored one is\n"
	    "refused. A --tenant that contradicts the token is refused. --force\n"
	    "joins again, replaces the identity once the new join succeeded, then\n"
	    "deletes the replaced device from its tenant (a failure there is a\n"
	    "warning); --keep-old-device leaves it there. An identity joined on\n"
	    "another machine (a cloned image, a copied state dir) is not usable\n"
	    "here, and --force leaves its device to that machine. Keys that keygen\n"
	    "made on another machine are refused unless --accept-copied-keys.\n"
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
	    "(or --no-nonce) sends none.\n"
	    "\n"
	    "--splay SECONDS (0 to %d; the config file's splay): machines of a fleet\n"
	    "started together spread their joins over SECONDS, each waiting a random\n"
	    "part of it before its keys and requests: about the fleet's size divided\n"
	    "by the joins a second its tenant takes. A re-run that finds the machine\n"
	    "joined does not wait; not with --device-code.\n",
	    LOGIN_BROKER_CLIENT_ID, RETRY_SPLAY_MAX_S);
}

enum { O_BPRT = 256, O_REFRESH, O_CLIENT_ID, O_DEVICE_CODE, O_TENANT, O_NONCE,
    O_ACCEPT_COPIED, O_SPLAY };
static const struct option join_longopts[] = {
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
	{ "accept-copied-keys", no_argument, NULL, O_ACCEPT_COPIED },
	{ "splay", required_argument, NULL, O_SPLAY },
	{ "key-store", required_argument, NULL, 'k' },
	{ "no-nonce", no_argument, NULL, 'n' },
	{ "in", required_argument, NULL, 'i' },
	{ "json", no_argument, NULL, 'J' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The token options, before the token source is chosen from them. */
struct join_token_opts {
	const char *token_file, *bprt_file, *refresh_file, *client_id;
	int device_code;
};

/* One option with a value (optarg) that needs a check. 0, or -1 reported. */
static int
value_option(int c, struct join_args *a, struct join_token_opts *o)
{
	static const char *const nonces[] = { "auto", "require", "off" };
	size_t i;

	switch (c) {
	case O_CLIENT_ID:
		if (!util_is_guid(optarg, strlen(optarg)))
			return cli_usage("join", "--client-id: '%s' is not an "
			    "application id (a GUID)", CLI_SHOWN(optarg));
		o->client_id = optarg;
		return 0;
	case O_TENANT:
		if (!util_tenant_ok(optarg))
			return cli_usage("join", "--tenant: '%s' is neither a tenant "
			    "id (GUID) nor a domain name", CLI_SHOWN(optarg));
		a->tenant = optarg;
		return 0;
	case O_NONCE:
		for (i = 0; i < 3; i++)
			if (strcmp(optarg, nonces[i]) == 0) {
				/* NONCE_AUTO, NONCE_REQUIRE, NONCE_OFF, in order. */
				a->nonce = (enum nonce_mode)i;
				return 0;
			}
		return cli_usage("join", "--nonce: '%s' is not auto, require or off",
		    CLI_SHOWN(optarg));
	case 'j':
		if (strcmp(optarg, "join") != 0 && strcmp(optarg, "register") != 0)
			return cli_usage("join", "--join-type: '%s' is not join or "
			    "register", CLI_SHOWN(optarg));
		a->join_type = strcmp(optarg, "join") == 0 ? JOIN_TYPE_JOIN :
		    JOIN_TYPE_REGISTER;
		a->join_type_given = 1;
		return 0;
	case 'k':
		return keystore_parse("join", optarg, &a->store);
	case O_SPLAY:
		a->splay_given = 1;
		return cli_number("join", "--splay", optarg, 0, RETRY_SPLAY_MAX_S,
		    &a->splay);
	}
	return log_fail(EXIT_INTERNAL, "join: option %d", c);
}

/* The command line, over the config file's defaults. 1 after --help, 0, -1 reported. */
static int
parse_options(int argc, char **argv, struct join_args *a, struct join_token_opts *o)
{
	int c;

	/* The config file's key-store (checked when read), unless given. */
	if (config.key_store != NULL && keystore_parse("join", config.key_store, &a->store) < 0)
		return -1;
	/* Defaults of a new join (checked when read); the options win. */
	if (config.join_type != NULL && strcmp(config.join_type, "register") == 0)
		a->join_type = JOIN_TYPE_REGISTER;
	a->display_name = config.display_name;
	if (config.splay != NULL)
		a->splay = strtol(config.splay, NULL, 10);
	while ((c = cli_getopt(argc, argv, ":h", join_longopts)) != -1) {
		switch (c) {
		case 'T': o->token_file = optarg; break;
		case O_BPRT: o->bprt_file = optarg; break;
		case O_REFRESH: o->refresh_file = optarg; break;
		case O_DEVICE_CODE: o->device_code = 1; break;
		case 'd': a->display_name = optarg; break;
		case 'D': a->target_domain = optarg; break;
		case 'f': a->force = 1; break;
		case 'K': a->keep_old_device = 1; break;
		case O_ACCEPT_COPIED: a->accept_copied = 1; break;
		case 'n': a->nonce = NONCE_OFF; break;
		case 'i': a->in = optarg; break;
		case 'J': a->json = 1; break;
		case 'h': usage(); return 1;
		case O_CLIENT_ID: case O_TENANT: case O_NONCE: case 'j': case 'k':
		case O_SPLAY:
			if (value_option(c, a, o) < 0)
				return -1;
			break;
		default:
			return cli_bad_option("join", c, argv);
		}
	}
	if (o->device_code && a->splay_given && a->splay > 0)
		return cli_usage("join", "--splay spreads a fleet's unattended joins: "
		    "not with --device-code, where a person signs in");
	return 0;
}

/* What the options say together. -1 reported. */
static int
check_args(int argc, char **argv, const struct join_args *a)
{
	char why[512];

	if (optind < argc)
		return cli_usage("join", "unexpected argument '%s' (the token is never "
		    "given on the command line: use --token-file)",
		    CLI_SHOWN(argv[optind]));
	if (a->display_name != NULL && (*a->display_name == '\0' ||
	    strlen(a->display_name) > 256))
		return cli_usage("join", "--display-name must be 1 to 256 characters");
	/* What the config file's display-name takes: no control or bidi character. */
	if (a->display_name != NULL && !answer_text_ok(a->display_name,
	    strlen(a->display_name), why, sizeof(why)))
		return cli_usage("join", "--display-name: %s", why);
	if (a->keep_old_device && !a->force)
		return cli_usage("join", "--keep-old-device goes with --force");
	return 0;
}

/*
 * The token source, not read yet. No token at all is an error only when a
 * join is needed (a re-run on a joined machine needs none): then no_token
 * holds the line and *code its exit code; else no_token is empty.
 */
static int
choose_token(struct join_token_opts *o, struct join_token *t, char *no_token,
    size_t n, int *code)
{
	const char *conf_token;
	int c;

	if (config_token_source(&o->token_file, &o->bprt_file, &o->refresh_file,
	    o->device_code, &conf_token) < 0)
		return -1;
	log_catch(no_token, n);
	c = token_source_choose(&t->src, o->token_file, o->bprt_file,
	    o->refresh_file, o->device_code, o->client_id);
	t->src.named_by = conf_token;
	*code = log_caught_code();
	log_catch(NULL, 0);
	if (c < 0 && strncmp(no_token, "no token", 8) != 0)
		return log_fail(*code, "%s", no_token);
	if (c < 0 && config_unit_without_token())
		snprintf(no_token, n, "no token: put an access token in "
		    "/etc/drsjoin/token.jwt, or name bprt-file or refresh-token-file "
		    "in " DRSJOIN_CONFIG_FILE " (the systemd credential "
		    "drsjoin-token is blank)");
	if (c == 0)
		no_token[0] = '\0';
	return 0;
}

/* A re-run on a joined machine: the stored identity, checked and printed. */
static int
rerun(struct join_token *t, int have_token, struct json *doc, struct json *rec,
    struct health *h, int json)
{
	/* Another tenant asked for is the clearer error than damage. */
	if (token_for_stored(t, have_token, rec) < 0)
		return -1;
	if (h->code != 0)
		return health_fail("join", h);
	log_note("join: already joined as device %s; nothing to do (--force joins "
	    "again)", json_get_string(rec, "device_id"));
	/* A machine joined before status.json was written gets it now. */
	pubrec_update(rec, NULL, 1, 0);
	return print_identity(doc, rec, json);
}

/*
 * The secret read, and a ready token checked, before any traffic and any
 * change to the identity: here, and only here.
 */
static int
read_token(struct join_token *t, const struct join_args *a, const struct json *doc)
{
	const char *tenant;

	if (token_source_read(&t->src) < 0)
		return -1;
	if (t->src.kind == TOKEN_ACCESS) {
		t->token = t->src.secret;
		t->src.secret = NULL;
		if (jwt_parse(t->token, &t->claims) < 0 ||
		    jwt_check(&t->claims, time(NULL)) < 0 ||
		    tenant_matches_token(a, t->claims.tid, NULL) < 0)
			return -1;
	}
	tenant = t->src.kind == TOKEN_ACCESS ? t->claims.tid : a->tenant != NULL ?
	    a->tenant : doc_get(doc, "tenant", "id");
	/* A refresh token or the device code finds its tenant (run_join). */
	if (tenant == NULL && t->src.kind == TOKEN_BPRT)
		return cli_usage("join", "with a %s, give --tenant ID|DOMAIN",
		    token_source_name(&t->src));
	return 0;
}

/*
 * The replaced device is deleted with its own certificate and key once the
 * new identity is committed, when their files are gone: keep them.
 */
static void
keep_replaced(const struct join_args *a, const struct json *rec, struct leave_old **old)
{
	char why[1024];
	int c;

	if (rec == NULL || !a->force || a->keep_old_device || copied_identity(rec))
		return;
	log_catch(why, sizeof(why));
	c = leave_keep_old(rec, old);
	log_catch(NULL, 0);
	if (c < 0)
		log_warn("join: the replaced device %s will stay in the tenant (%s)",
		    json_get_string(rec, "device_id"), why);
}

/* After run_join: a signal held over it said, or the replaced device deleted. */
static int
join_finish(int rc, struct json *doc, const struct json *rec, struct leave_old *old,
    int json)
{
	int sig;

	if (rc == 0 && (sig = sigdefer_pending()) != 0)
		/* Held over the request and the commit; now, what was done. */
		return log_fail(sigdefer_exit_code(sig), "join: interrupted (%s) "
		    "during the join: device %s was joined to tenant %s and is kept "
		    "('drsjoin status' shows it)%s%s%s", sigdefer_name(sig),
		    doc_get(doc, "device", "device_id"), doc_get(doc, "tenant", "id"),
		    old != NULL ? "; the replaced device " : "",
		    old != NULL ? json_get_string(rec, "device_id") : "",
		    old != NULL ? " stays in the tenant: delete it there" : "");
	if (rc != 0)
		return rc;
	pubrec_update(json_get_object(doc, "device"), NULL, 1, 1);
	if (old != NULL && leave_old_endpoint(old, json_get_object(doc, "discovery")) == 0)
		leave_delete_old(old, doc_get(doc, "device", "device_id"));
	return join_print(doc, 0, json);
}

int
cmd_join(int argc, char **argv)
{
	struct join_args a = { .store = KEYSTORE_AUTO, .join_type = JOIN_TYPE_JOIN };
	struct join_token_opts o = { 0 };
	struct join_token t = { 0 };
	struct json *doc = NULL, *rec = NULL;
	struct health h = { 0 };
	struct leave_old *old = NULL;
	char no_token[512];
	int rc = -1, done, code = 0;

	if ((rc = parse_options(argc, argv, &a, &o)) != 0)
		return rc > 0 ? 0 : -1;
	rc = -1;
	if (check_args(argc, argv, &a) < 0 ||
	    choose_token(&o, &t, no_token, sizeof(no_token), &code) < 0)
		return -1;
	if (sandbox_read(a.in) < 0 || sandbox_read(t.src.file) < 0 || sandbox_enter() < 0)
		return -1;
	/* With a secret on stdin, the document comes from --in only. */
	if ((token_source_stdin(&t.src) && a.in == NULL ?
	    doc_new(&doc) : doc_read_start(a.in, &doc)) < 0)
		goto out;
	/* The file's tenant is a default: --tenant and the document win. */
	if (a.tenant == NULL && doc_get(doc, "tenant", "id") == NULL &&
	    doc_get(doc, "tenant", "requested") == NULL &&
	    (a.tenant = config.tenant) != NULL)
		a.tenant_what = "the config file's tenant";
	/* The stored identity first: a re-run needs no token at all. */
	if ((done = already_joined(&a, doc, &rec, &h, &old)) < 0)
		goto out;
	if (done > 0) {
		rc = rerun(&t, no_token[0] == '\0', doc, rec, &h, a.json);
		goto out;
	}
	if (no_token[0] != '\0') {
		rc = log_fail(code, "%s", no_token);
		goto out;
	}
	if (read_token(&t, &a, doc) < 0)
		goto out;
	keep_replaced(&a, rec, &old);
	/* A CA bundle that cannot be used is said before any key is made. */
	if (http_cabundle_check() < 0)
		goto out;
	rc = join_finish(run_join(doc, &t, &a), doc, rec, old, a.json);
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
