/*
 * leave.c - "drsjoin leave": delete this machine's device from the tenant,
 * authenticated by the device certificate and key (TLS client
 * authentication, no token), then remove the local identity. Also the
 * deletion of the device a "join --force" replaced.
 *
 * The request: DELETE https://{host}/EnrollmentServer/device/{id}?api-version=1.0
 * where host is the join endpoint's, as recorded in device.json at join time
 * (the root-owned state dir, never a document).
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "answer.h"
#include "cert.h"
#include "cli.h"
#include "doc.h"
#include "http.h"
#include "identity.h"
#include "json.h"
#include "keys.h"
#include "keystore.h"
#include "leave.h"
#include "log.h"
#include "machine.h"
#include "prtstore.h"
#include "sandbox.h"
#include "sigdefer.h"
#include "state.h"
#include "summary.h"
#include "svcerr.h"
#include "util.h"

#define CERT_FILE_MAX (64 * 1024)
#define ORIGIN_MAX 2048	/* as ANSWER_URL_MAX */

/* What a device deletion came to. */
enum outcome { DELETED, NOT_FOUND };

/*
 * Where a leave's time went (util_clock_ms at each step's end; the
 * request's own times from http.c), shown at -v so that a slower leave
 * shows which step it came from (make bench prints it).
 */
static struct {
	double config, keys, sent;
	double connect, tls, total;	/* the DELETE's, from its start */
} split;

/* A device's identity, ready to authenticate a deletion. */
struct leave_old {
	struct json *rec;		/* the identity record */
	char *cert_pem;
	size_t cert_len;
	char *key_buf;			/* the device key file (secret for software keys) */
	size_t key_len;
};

/*
 * "https://host[:port]" of the recorded join endpoint, which must be a
 * usable https URL (answer_url_ok: no user information, a well-formed host,
 * a port 1-65535, nothing odd).
 */
static int
origin_of(const char *ep, const char *device_id, char *out, size_t outsz)
{
	char why[128];
	size_t n;

	if (ep == NULL)
		return log_fail(EXIT_IO, "leave: device %s: the identity record has "
		    "no join endpoint (endpoints.join_endpoint)", device_id);
	if (!answer_url_ok(ep, why, sizeof(why))) {
		answer_url_host(ep, out, outsz);
		return log_fail(EXIT_IO, "leave: device %s: the recorded join endpoint "
		    "is not a well-formed https URL (%s): host %s", device_id, why, out);
	}
	n = 8 + strcspn(ep + 8, "/?");
	if (n >= outsz)
		return log_fail(EXIT_IO, "leave: device %s: the recorded join "
		    "endpoint's host is too long", device_id);
	snprintf(out, outsz, "https://%.*s", (int)(n - 8), ep + 8);
	return 0;
}

/* 1 when s holds w, in any letter case. */
static int
has_words(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, w, n) == 0)
			return 1;
	return 0;
}

/* Is this error answer the service saying the device does not exist? */
static int
device_not_found(const struct http_response *rs)
{
	struct json *ans;
	const char *type = NULL, *msg = NULL, *sub = NULL;
	int gone = 0;

	if (rs->status != 400 && rs->status != 404)
		return 0;
	if ((ans = json_parse_quiet(rs->body, rs->body_len)) == NULL)
		return 0;
	/* Only looked at: a field that is not plain text is no "not found". */
	log_mute(1);
	if (answer_string("leave", ans, NULL, "ErrorType", ANSWER_WORD,
	    ANSWER_WORD_MAX, 0, &type) < 0 ||
	    answer_string("leave", ans, NULL, "Message", ANSWER_TEXT,
	    ANSWER_TEXT_MAX, 0, &msg) < 0 ||
	    answer_string("leave", ans, NULL, "subcode", ANSWER_WORD,
	    ANSWER_WORD_MAX, 0, &sub) < 0)
		type = msg = sub = NULL;
	log_mute(0);
	/* DRS: DirectoryError "The device object by the given id (...) is not found." */
	if (type != NULL && strcasecmp(type, "DirectoryError") == 0 && msg != NULL &&
	    has_words(msg, "not found"))
		gone = 1;
	/* The newer shape. */
	if (sub != NULL && (strcasecmp(sub, "error_missing_device") == 0 ||
	    strcasecmp(sub, "error_device_not_found") == 0))
		gone = 1;
	json_free(ans);
	return gone;
}

/*
 * Deletes the device of o from its tenant: 0 with *outcome, or -1
 * (reported: the device id, the HTTP status, the error type and the trace
 * id, or why no answer came; refused_hint, when not NULL, added after a
 * 401 or 403).
 */
static int
delete_device(const struct leave_old *o, enum outcome *outcome,
    const char *refused_hint)
{
	const char *id = json_get_string(o->rec, "device_id");
	struct http_request rq = { 0 };
	struct http_response rs = { 0 };
	struct http_session *s = NULL;
	struct keystore_key *k = NULL;
	struct keys_tls *tls = NULL;
	struct cert *c = NULL;
	const uint8_t *der;
	char origin[ORIGIN_MAX], *url = NULL, *phase = NULL;
	size_t der_len;
	int rc = -1;

	if (id == NULL || !util_is_guid(id, strlen(id)))
		return log_fail(EXIT_IO, "leave: the identity record's device_id "
		    "is not a GUID");
	if (origin_of(json_get_string(json_get_object(o->rec, "endpoints"),
	    "join_endpoint"), id, origin, sizeof(origin)) < 0)
		return -1;
	if ((phase = util_asprintf("leave: device %s", id)) == NULL ||
	    (url = util_asprintf("%s/EnrollmentServer/device/%s?api-version=1.0",
	    origin, id)) == NULL)
		goto out;
	if (cert_parse_pem(o->cert_pem, o->cert_len, EXIT_IO,
	    json_get_string(o->rec, "certificate"), &c) < 0)
		goto out;
	if (strcasecmp(cert_device_id(c), id) != 0) {
		log_fail(EXIT_IO, "leave: the stored certificate is device %s's, the "
		    "identity record is device %s's", cert_device_id(c), id);
		goto out;
	}
	if (keystore_load_device_bytes(json_get_object(o->rec, "keys"), o->key_buf,
	    o->key_len, &k) < 0)
		goto out;
	if (!cert_public_matches(c, keystore_key(k))) {
		log_fail(EXIT_IO, "leave: device %s: the stored certificate is not "
		    "for the stored device key", id);
		goto out;
	}
	der = cert_der(c, &der_len);
	if (keys_tls_new(keystore_key(k), der, der_len, &tls) < 0 ||
	    (s = http_session_new()) == NULL)
		goto out;
	rq.phase = phase;
	rq.method = "DELETE";
	rq.url = url;
	rq.tls_client = keys_tls_configure;
	rq.tls_client_arg = tls;
	rq.tls12_only = !keys_tls_v13(tls);
	rq.pass_errors = 1;
	rq.body_informational = 1;	/* a 2xx is the deletion, whatever its body */
	split.keys = util_clock_ms();
	if (http_send(s, &rq, &rs) < 0)
		goto out;
	split.sent = util_clock_ms();
	split.connect = rs.connect_ms;
	split.tls = rs.tls_ms;
	split.total = rs.total_ms;
	if (rs.status >= 200 && rs.status <= 299) {
		*outcome = DELETED;
	} else if (device_not_found(&rs)) {
		*outcome = NOT_FOUND;
	} else if ((rs.status == 401 || rs.status == 403) && refused_hint != NULL) {
		char line[SVCERR_LINE_MAX + 256];
		int code;

		log_catch(line, sizeof(line));
		http_fail_answer(&rq, &rs);
		code = log_caught_code();
		log_catch(NULL, 0);
		log_fail(code, "%s; %s", line, refused_hint);
		goto out;
	} else {
		http_fail_answer(&rq, &rs);
		goto out;
	}
	log_debug(1, "leave: device %s: answered %ld (client-request-id %s)", id,
	    rs.status, rs.request_id);
	rc = 0;
out:
	http_response_free(&rs);
	http_session_free(s);
	keys_tls_free(tls);
	keystore_key_free(k);	/* wipes a software key */
	cert_free(c);
	free(url);
	free(phase);
	return rc;
}

int
leave_keep_old(const struct json *rec, struct leave_old **out)
{
	struct leave_old *o;
	char *set = NULL, *rel = NULL;
	int r;

	*out = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	if ((o->rec = json_dup(rec)) == NULL)
		goto fail;
	/* The certificate of the record's own set, through the state dir. */
	if ((set = identity_set_of(rec)) == NULL ||
	    (rel = util_asprintf("%s/%s", set, IDENTITY_CERT)) == NULL)
		goto fail;
	if ((r = state_read(rel, CERT_FILE_MAX, &o->cert_pem, &o->cert_len)) == 1)
		log_fail(EXIT_IO, "%s/%s: missing", state_path(), rel);
	if (r != 0 || keystore_read_device(json_get_object(rec, "keys"),
	    &o->key_buf, &o->key_len) < 0)
		goto fail;
	free(set);
	free(rel);
	*out = o;
	return 0;
fail:
	free(set);
	free(rel);
	leave_old_free(o);
	return -1;
}

/*
 * The certificates of the key sets moved aside in qdir: *n of them, the
 * first one's set name and PEM kept (the device a corrupt record named,
 * when it is the only one), every device id in ids (", "-separated).
 */
static int
quarantined_certs(const char *qdir, char *set, size_t setn, char **pem,
    size_t *pem_len, char *ids, size_t idsn, int *n)
{
	struct dirent *e;
	struct cert *c;
	char *rel, *buf;
	size_t len, used = 0;
	DIR *d;
	int fd;

	*n = 0;
	ids[0] = '\0';
	if ((fd = state_openat(qdir, O_RDONLY | O_DIRECTORY, 0)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	log_mute(1);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || (rel = util_asprintf("%s/%s/%s", qdir,
		    e->d_name, IDENTITY_CERT)) == NULL)
			continue;
		buf = NULL;
		len = 0;
		c = NULL;
		if (state_read(rel, CERT_FILE_MAX, &buf, &len) == 0 &&
		    cert_parse_pem(buf, len, EXIT_IO, rel, &c) == 0) {
			snprintf(ids + used, idsn - used, "%s%s", *n ? ", " : "",
			    cert_device_id(c));
			used = strlen(ids);
			if ((*n)++ == 0) {
				snprintf(set, setn, "%s", e->d_name);
				*pem = buf;
				*pem_len = len;
				buf = NULL;
			}
		}
		cert_free(c);
		free(buf);
		free(rel);
	}
	log_mute(0);
	closedir(d);
	return 0;
}

/* The quarantined device's record: what delete_device needs but the host. */
static struct json *
quarantined_record(const char *id, const char *dir, const char **store)
{
	struct json *rec = json_new_object(), *keys;
	char *p = util_asprintf("%s/device-key.tpm", dir);
	struct stat st;

	*store = p != NULL && state_lstat(p, &st) == 0 ? "tpm" : "software";
	free(p);
	if (rec == NULL || json_set_string(rec, "device_id", id) < 0 ||
	    (keys = json_object_at(rec, "keys")) == NULL ||
	    json_set_string(keys, "store", *store) < 0) {
		json_free(rec);
		return NULL;
	}
	return rec;
}

int
leave_keep_quarantined(const char *qdir, int keep_device, struct leave_old **out)
{
	struct keystore_key *k = NULL;
	struct leave_old *o = NULL;
	struct cert *c = NULL;
	const char *store;
	char set[256], ids[512], why[LOG_LINE_MAX] = "", *pem = NULL, *dir = NULL, *kf = NULL;
	size_t pem_len = 0;
	int n, rc = -1;

	*out = NULL;
	if (quarantined_certs(qdir, set, sizeof(set), &pem, &pem_len, ids,
	    sizeof(ids), &n) < 0)
		return -1;
	if (n != 1) {
		log_warn("join: %s: the unusable record's device is not known "
		    "(%s): it may stay in the tenant; delete it there", qdir, n == 0 ?
		    "no certificate could be read" : ids);
		free(pem);
		return 0;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (dir = util_asprintf("%s/%s", qdir, set)) == NULL ||
	    cert_parse_pem(pem, pem_len, EXIT_IO, dir, &c) < 0 ||
	    (o->rec = quarantined_record(cert_device_id(c), dir, &store)) == NULL ||
	    (kf = util_asprintf("%s/device-key.%s", dir, strcmp(store, "tpm") == 0 ?
	    "tpm" : "pem")) == NULL)
		goto out;
	o->cert_pem = pem;
	o->cert_len = pem_len;
	pem = NULL;
	rc = 0;
	/* Deleted once the new identity stands, when its key loads and is the certificate's. */
	log_catch(why, sizeof(why));
	if (keep_device && (state_read(kf, 64 * 1024, &o->key_buf, &o->key_len) != 0 ||
	    keystore_load_device_bytes(json_get_object(o->rec, "keys"), o->key_buf,
	    o->key_len, &k) < 0 || !cert_public_matches(c, keystore_key(k))) &&
	    why[0] == '\0')
		snprintf(why, sizeof(why), "not the certificate's key");
	log_catch(NULL, 0);
	if (!keep_device)
		log_note("join: the unusable record was device %s's (its certificate "
		    "in %s/%s): it stays in the tenant (--keep-old-device)",
		    cert_device_id(c), state_path(), dir);
	else if (why[0] != '\0')
		log_warn("join: the unusable record was device %s's (its "
		    "certificate in %s/%s), whose key %s cannot be used (%s): it "
		    "stays in the tenant; delete it there", cert_device_id(c),
		    state_path(), dir, strrchr(kf, '/') + 1, why);
	else {
		log_note("join: the unusable record was device %s's (its certificate "
		    "in %s/%s): deleted from the tenant once the new join succeeds",
		    cert_device_id(c), state_path(), dir);
		*out = o;
		o = NULL;
	}
out:
	keystore_key_free(k);
	leave_old_free(o);
	cert_free(c);
	free(pem);
	free(dir);
	free(kf);
	return rc;
}

int
leave_old_endpoint(struct leave_old *o, const struct json *discovery)
{
	if (json_get_object(o->rec, "endpoints") != NULL || discovery == NULL)
		return 0;
	return json_set(o->rec, "endpoints", json_dup(discovery));
}

int
leave_hold_new(const struct json *rec, const struct json *keys, const char *cert_pem,
    struct leave_old **out)
{
	struct leave_old *o;

	*out = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	o->cert_len = strlen(cert_pem);
	if ((o->rec = json_dup(rec)) == NULL ||
	    /* The staged keys: the record's own are not committed yet. */
	    json_set(o->rec, "keys", json_dup(keys)) < 0 ||
	    (o->cert_pem = util_strdup(cert_pem)) == NULL ||
	    keystore_read_device(keys, &o->key_buf, &o->key_len) < 0) {
		leave_old_free(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* 1 when device id is the identity stored here: never deleted by a rollback. */
static int
stored_device(const char *id)
{
	struct json *rec = NULL;
	const char *sid;
	int same = 0;

	if (identity_load_quiet(&rec) == 0 && (sid = json_get_string(rec,
	    "device_id")) != NULL)
		same = strcasecmp(sid, id) == 0;
	json_free(rec);
	return same;
}

int
leave_undo_join(const struct json *rec, struct leave_old *o, const char *commit_error,
    int code, const char *cannot)
{
	const char *id = json_get_string(rec, "device_id");
	const char *tid = json_get_string(rec, "tenant_id");
	const char *crid = json_get_string(rec, "client_request_id");
	enum outcome oc = DELETED;
	char why[1024], intr[64] = "";
	int rc = -1, sig, kept = 0;

	if (id == NULL)
		id = "(unknown)";
	if (tid == NULL)
		tid = "(unknown)";
	if (crid == NULL)
		crid = "(unknown)";
	sigdefer_abort_line("join: interrupted twice while deleting device %s again "
	    "(tenant %s, client-request-id %s), whose identity could not be stored "
	    "here: it may stay in the tenant; delete it in the Entra admin center "
	    "(Devices, All devices, by its device id)", id, tid, crid);
	/* The service reused the stored identity's device (ReuseDevice): it stays. */
	if (stored_device(id)) {
		kept = 1;
	} else if (o == NULL) {
		snprintf(why, sizeof(why), "%s", cannot != NULL ? cannot :
		    "its key could not be read");
	} else {
		log_debug(1, "join: the identity could not be stored; deleting "
		    "device %s again", id);
		log_catch(why, sizeof(why));
		rc = delete_device(o, &oc, NULL);
		log_catch(NULL, 0);
	}
	/* A signal held over the join gives the exit code, the line says what was done. */
	if ((sig = sigdefer_pending()) != 0) {
		snprintf(intr, sizeof(intr), "interrupted (%s); ", sigdefer_name(sig));
		code = sigdefer_exit_code(sig);
	}
	if (kept)
		return log_fail(code, "join: %s%s; device %s is the identity still "
		    "stored here (the service gave the new join its id): kept, not "
		    "deleted (tenant %s, client-request-id %s)", intr, commit_error,
		    id, tid, crid);
	if (rc == 0)
		return log_fail(code, "join: %s%s; device %s was deleted from tenant %s "
		    "again%s: nothing is joined", intr, commit_error, id, tid,
		    oc == NOT_FOUND ? " (the service no longer had it)" : "");
	return log_fail(code, "join: %s%s; and device %s (tenant %s, client-request-id "
	    "%s) stays in the tenant, not stored here: deleting it failed (%s); delete "
	    "it in the Entra admin center (Devices, All devices, by its device id) "
	    "or with Microsoft Graph", intr, commit_error, id, tid, crid, why);
}

void
leave_old_free(struct leave_old *o)
{
	if (o == NULL)
		return;
	json_free(o->rec);
	free(o->cert_pem);
	util_free_secret_buf(o->key_buf, o->key_len);
	free(o);
}

void
leave_delete_old(struct leave_old *o, const char *new_id)
{
	const char *id = json_get_string(o->rec, "device_id");
	enum outcome oc = DELETED;
	char why[2048];
	int rc;

	if (id == NULL)
		return;
	/* A service that reused the device object gave the new identity its id. */
	if (new_id != NULL && strcasecmp(id, new_id) == 0) {
		log_note("join: the service kept device %s for the new identity; "
		    "nothing to delete", id);
		return;
	}
	log_catch(why, sizeof(why));
	rc = delete_device(o, &oc, NULL);
	log_catch(NULL, 0);
	if (rc < 0)
		log_warn("join: the replaced device %s is still in the "
		    "tenant (%s); delete it there", id, why);
	else if (oc == NOT_FOUND)
		log_note("join: the replaced device %s was no longer in the tenant", id);
	else
		log_note("join: deleted the replaced device %s from the tenant", id);
}

/*
 * stdout: what was done, for scripts (JSON), or for a person (summary.h).
 * service NULL: not joined (--if-joined), printed as "not_contacted".
 */
static int
print_result(const struct json *rec, const char *service, int json)
{
	struct json *out;
	int rc = -1;

	switch (summary_out(json)) {
	case SUMMARY_NONE:
		return 0;
	case SUMMARY_TEXT:
		return summary_leave(rec, service);
	case SUMMARY_JSON:
		break;
	}
	if ((out = json_new_object()) == NULL)
		return -1;
	if ((json_get_string(rec, "device_id") == NULL ||
	    json_set_string(out, "device_id", json_get_string(rec, "device_id")) == 0) &&
	    (json_get_string(rec, "tenant_id") == NULL ||
	    json_set_string(out, "tenant_id", json_get_string(rec, "tenant_id")) == 0) &&
	    json_set_string(out, "service", service != NULL ? service :
	    "not_contacted") == 0 &&
	    json_set_bool(out, "joined", 0) == 0)
		rc = doc_write(out);
	json_free(out);
	return rc;
}

/*
 * An identity joined on another machine (machine.h) is a copy: deleting
 * its device would take it from the machine it belongs to. -1 (reported).
 */
static int
copied_elsewhere(const struct json *rec, const char *id)
{
	char why[128];
	int r;

	if ((r = machine_differs(json_get_object(rec, "machine"), why, sizeof(why))) <= 0)
		return r;
	return log_fail(EXIT_IO, "leave: device %s was joined on another machine "
	    "(its %s): this is a copy (a cloned image or state dir), and deleting "
	    "the device would take it from that machine; nothing was deleted: "
	    "'drsjoin leave --local-only' removes the copy here", id, why);
}

static void
usage(void)
{
	printf("usage: drsjoin leave [--local-only] [--if-joined] [--json]\n"
	    "\n"
	    "Deletes this machine's device from the tenant, authenticated by the\n"
	    "device certificate and key (TLS client authentication, no token), on\n"
	    "the host it joined through, then removes the local identity. When the\n"
	    "service says the device no longer exists, the local identity is\n"
	    "removed too. When the service refuses or cannot be reached, nothing\n"
	    "local changes: run it again. --local-only removes the local identity\n"
	    "without contacting the service (the device then stays in the tenant).\n"
	    "An identity joined on another machine (a cloned image or state dir)\n"
	    "is not deleted from the tenant: --local-only removes the copy.\n"
	    "A refused deletion (401, 403: the device was deleted or disabled in\n"
	    "the tenant) names --local-only.\n"
	    "\n"
	    "Prints {\"device_id\", \"tenant_id\", \"service\": \"deleted\" |\n"
	    "\"not_found\" | \"not_contacted\", \"joined\": false}; at a terminal a\n"
	    "short summary instead, and under -q nothing (--json: the JSON always).\n"
	    "Exits 8 when this machine is not joined; --if-joined makes that a\n"
	    "success (exit 0, {\"joined\": false, \"service\": \"not_contacted\"}), for\n"
	    "an EXIT trap that must not hide why a job failed.\n");
}

/* The time split of a leave that went to the service (-v). */
static void
show_split(void)
{
	double now = util_clock_ms(), before = split.sent - split.total;

	log_debug(1, "leave: time split: start-up and config %.2f ms, state dir and "
	    "key load %.2f ms, handshake %.2f ms (TCP %.2f ms), DELETE %.2f ms, "
	    "local removal %.2f ms; %.2f ms since main (request set-up %.2f ms)",
	    split.config, split.keys - split.config, split.tls, split.connect,
	    split.total - split.tls, now - split.sent, now, before - split.keys);
}

int
cmd_leave(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "local-only", no_argument, NULL, 'l' },
		{ "if-joined", no_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json *rec = NULL;
	struct leave_old *o = NULL;
	enum outcome oc = DELETED;
	const char *id, *tid;
	int c, rc = -1, have, local_only = 0, if_joined = 0, json = 0;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		switch (c) {
		case 'l': local_only = 1; break;
		case 'i': if_joined = 1; break;
		case 'j': json = 1; break;
		case 'h': usage(); return 0;
		default:
			return cli_bad_option("leave", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage("leave", "unexpected argument '%s'",
		    CLI_SHOWN(argv[optind]));
	if (sandbox_enter() < 0)
		return -1;
	split.config = util_clock_ms();
	/* The cleanup also finishes a leave that was killed half-way. */
	if (identity_open(opts.state_dir, 1) < 0 || identity_cleanup() < 0)
		goto out;
	/* --local-only gets past a corrupt record: moved aside, keys kept. */
	if (local_only && identity_load_quiet(&rec) == IDENTITY_CORRUPT) {
		if (identity_quarantine() < 0)
			goto out;
		prtstore_forget("leave");
		log_note("leave: the identity record was corrupt and is moved aside; "
		    "its device may still exist in the tenant");
		rc = print_result(NULL, "not_contacted", json);
		goto out;
	}
	json_free(rec);
	rec = NULL;
	if ((have = identity_load(&rec)) < 0)
		goto out;
	if (have == 1 && if_joined) {
		log_note("leave: not joined; nothing to do (--if-joined)");
		rc = print_result(NULL, NULL, json);
		goto out;
	}
	if (have == 1) {
		log_fail(EXIT_NOT_JOINED, "leave: not joined (no %s/%s); "
		    "--if-joined makes this no error", state_path(), IDENTITY_RECORD);
		goto out;
	}
	if (keystore_use_recorded_tcti(rec) < 0)
		goto out;
	id = json_get_string(rec, "device_id");
	tid = json_get_string(rec, "tenant_id");
	if (local_only) {
		log_note("leave: removing the local identity only: device %s may still "
		    "exist in tenant %s; an administrator can delete it there", id,
		    tid != NULL ? tid : "(unknown)");
		if (identity_remove(rec) < 0)
			goto out;
		prtstore_forget("leave");
		rc = print_result(rec, "not_contacted", json);
		goto out;
	}
	if (copied_elsewhere(rec, id) < 0)
		goto out;
	/* The service no longer takes this device: only the local copy can go. */
	if (leave_keep_old(rec, &o) < 0 || delete_device(o, &oc, "if the device "
	    "was deleted or disabled in the tenant, 'drsjoin leave --local-only' "
	    "removes the local identity") < 0)
		goto out;
	/* The key is wiped from memory before its files go. */
	leave_old_free(o);
	o = NULL;
	if (oc == NOT_FOUND)
		log_note("leave: device %s no longer exists in tenant %s (deleted by an "
		    "administrator, or by an earlier leave); removing the local identity",
		    id, tid != NULL ? tid : "(unknown)");
	if (identity_remove(rec) < 0)
		goto out;
	/* A user's PRT is bound to this device: it goes with it. */
	prtstore_forget("leave");
	show_split();
	if (oc == DELETED)
		log_note("left: device %s deleted from tenant %s", id,
		    tid != NULL ? tid : "(unknown)");
	rc = print_result(rec, oc == DELETED ? "deleted" : "not_found", json);
out:
	leave_old_free(o);
	json_free(rec);
	return rc;
}
