/* status.c - "drsjoin status": the identity stored on this machine. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "doc.h"
#include "health.h"
#include "identity.h"
#include "json.h"
#include "keystore.h"
#include "http.h"
#include "log.h"
#include "pubrec.h"
#include "prtrequest.h"
#include "prtstore.h"
#include "sandbox.h"
#include "state.h"
#include "summary.h"
#include "util.h"

static const char *const copied[] = {
	"device_id", "tenant_id", "tenant_domain", "upn", "join_type",
	"display_name", "thumbprint", "not_before", "not_after", "joined_at",
	"key_store", "certificate",
};

static void
usage(void)
{
	printf("usage: drsjoin status [--json] [--check]\n"
	    "\n"
	    "Shows the identity stored in the state dir: device id, tenant, UPN,\n"
	    "join type, thumbprint, expiry and days left, the join endpoint's host,\n"
	    "the key store and where the keys are (for TPM keys also the TCTI and the\n"
	    "SRK). Checks what join checks before it calls this machine joined:\n"
	    "the certificate is the record's and valid now, both keys load, the\n"
	    "device key is the certificate's (\"healthy\"; when false, \"reason\"\n"
	    "says why, and status exits 7, or 6 when the TPM cannot be opened).\n"
	    "At a terminal a short summary, otherwise (or with --json) JSON, in\n"
	    "every case. When this machine is not joined, prints {\"joined\": false}\n"
	    "(or \"Joined: no\") and exits 8. Root's status writes what it found to\n"
	    "the public record status.json in the state dir; a user who is not root\n"
	    "gets the public facts from it (no keys checked), with \"checked_at\".\n"
	    "\n"
	    "Each user's stored PRT ('drsjoin prt') is listed under \"prts\": user,\n"
	    "obtained, renewed, expires. --check also asks the service whether this\n"
	    "device still authenticates (a request signed by the device key):\n"
	    "\"device_auth\" is ok, disabled or deleted (then status exits 5).\n");
}

/* A record field for the terminal, escaped (summary.h). */
static const char *
field(const struct json *o, const char *key)
{
	return summary_field(o, key);
}

/* The stored PRTs, one line each. */
static void
prt_lines(const struct json *prts)
{
	const struct json *p;

	for (p = json_first(prts); p != NULL; p = json_next(p)) {
		if (json_get_string(p, "error") != NULL)
			printf("PRT:           %s: %s\n", field(p, "file"), field(p, "error"));
		else
			printf("PRT:           %s (obtained %s, renewed %s, expires %s)\n",
			    field(p, "user"), field(p, "obtained"), field(p, "renewed"),
			    field(p, "expires"));
	}
}

/* For people at a terminal, as dsregcmd /status: one fact a line. */
static int
summary(const struct json *o)
{
	double days = 0;
	int healthy = json_get_bool(o, "healthy");

	if (json_get_string(o, "device_id") == NULL) {
		/* No record to show (damaged, or the state dir unreadable). */
		printf("Joined:        %s\n", json_get(o, "joined") != NULL ?
		    "yes (the record cannot be used)" : "unknown");
		printf("Healthy:       no: %s\n", field(o, "reason"));
		printf("State dir:     %s\n", field(o, "state_dir"));
		return 0;
	}
	json_get_number(o, "days_left", &days);
	printf("Joined:        yes (%s)\n", field(o, "join_type"));
	if (healthy)
		printf("Healthy:       yes\n");
	else
		printf("Healthy:       no: %s\n", field(o, "reason"));
	printf("Tenant:        %s (%s)\n", field(o, "tenant_domain"), field(o, "tenant_id"));
	printf("Device id:     %s\n", field(o, "device_id"));
	printf("Display name:  %s\n", field(o, "display_name"));
	if (json_get(o, "checked_at") != NULL) {
		/* The public record (pubrec.h): no user, host or key paths. */
		printf("Key store:     %s\n", field(o, "key_store"));
		printf("Certificate:   %s\n", field(o, "thumbprint"));
		printf("Valid:         %s to %s\n", field(o, "not_before"),
		    field(o, "not_after"));
		printf("Checked:       by root at %s\n", field(o, "checked_at"));
		printf("State dir:     %s\n", field(o, "state_dir"));
		return 0;
	}
	printf("User:          %s\n", field(o, "upn"));
	if (json_get_string(o, "tpm") != NULL)
		printf("Key store:     tpm (%s, %s)\n", field(o, "tpm"), field(o, "tcti"));
	else
		printf("Key store:     %s\n", field(o, "key_store"));
	printf("Certificate:   %s\n", field(o, "thumbprint"));
	if (json_get(o, "days_left") != NULL)
		printf("Valid:         %s to %s (%s%ld days left)\n", field(o, "not_before"),
		    field(o, "not_after"), days < 0 ? "expired, " : "", (long)days);
	else
		printf("Valid:         %s to %s (the certificate cannot be read)\n",
		    field(o, "not_before"), field(o, "not_after"));
	printf("Join host:     %s\n", field(o, "join_host"));
	if (json_get_string(o, "srk") != NULL)
		printf("SRK:           %s\n", field(o, "srk"));
	printf("Device key:    %s\n", field(o, "device_key"));
	printf("Transport key: %s\n", field(o, "transport_key"));
	printf("State dir:     %s\n", field(o, "state_dir"));
	if (json_get_string(o, "device_auth") != NULL)
		printf("Device auth:   %s\n", field(o, "device_auth"));
	prt_lines(json_get(o, "prts"));
	return 0;
}

/* The host[:port] of the recorded join endpoint; -1 when there is none. */
static int
endpoint_host(const char *ep, char *out, size_t n)
{
	const char *h;
	size_t len;

	if (ep == NULL || (h = strstr(ep, "://")) == NULL)
		return -1;
	h += 3;
	len = strcspn(h, "/?#");
	if (len == 0 || len >= n)
		return -1;
	memcpy(out, h, len);
	out[len] = '\0';
	return 0;
}

/* What the state dir says when it holds no identity (file: of which): exit 8. */
static int
not_joined(int json, const char *file)
{
	struct json *out = NULL;
	int rc = 0;

	/* Parseable either way: scripts read stdout, people the line. */
	if (!json && isatty(1))
		printf("Joined:        no\n");
	else if ((out = json_new_object()) == NULL ||
	    json_set_bool(out, "joined", 0) < 0 || doc_write(out) < 0)
		rc = -1;
	json_free(out);
	if (rc < 0)
		return -1;
	if (strcmp(file, PUBREC_FILE) == 0)
		return log_fail(EXIT_NOT_JOINED, "status: not joined (no %s/%s, the "
		    "public record a join writes; a machine joined before drsjoin "
		    "wrote it shows here once root has run 'drsjoin status')",
		    opts.state_dir, file);
	return log_fail(EXIT_NOT_JOINED, "status: not joined (no %s/%s)", opts.state_dir,
	    file);
}

/*
 * For a user who cannot read root's state dir: the public record, as root
 * last found the identity (pubrec.h). 1 when the state dir is readable.
 */
static int
public_status(int json, int *rc)
{
	struct json *out = NULL;
	char why[LOG_LINE_MAX], reason[LOG_LINE_MAX];
	int r, code;

	log_catch(why, sizeof(why));
	r = pubrec_load(opts.state_dir, &out);
	code = log_caught_code();
	log_catch(NULL, 0);
	if (r == 1)
		return 1;
	if (r < 0) {
		/* Still a document on stdout, as for a state dir root cannot use. */
		log_escape(reason, sizeof(reason), why, sizeof(reason) - 1);
		if ((out = json_new_object()) == NULL ||
		    json_set_bool(out, "healthy", 0) < 0 ||
		    json_set_string(out, "reason", reason) < 0 ||
		    json_set_string(out, "state_dir", opts.state_dir) < 0 ||
		    (!json && isatty(1) ? summary(out) : doc_write(out)) < 0)
			*rc = -1;
		else
			*rc = log_fail(code ? code : EXIT_IO, "%s", why);
	} else if (r == 2)
		*rc = not_joined(json, PUBREC_FILE);
	else if ((!json && isatty(1) ? summary(out) : doc_write(out)) < 0)
		*rc = -1;
	else if (json_get_bool(out, "healthy"))
		*rc = 0;
	else
		*rc = log_fail(EXIT_IO, "status: the stored identity is not usable: %s "
		    "(as root last found it, at %s; as root, 'drsjoin join --force' "
		    "joins again and replaces it)", json_get_string(out, "reason"),
		    json_get_string(out, "checked_at") ? json_get_string(out,
		    "checked_at") : "an unknown time");
	json_free(out);
	return 0;
}

/* The TPM's name and SRK for TPM keys; best effort for an unusable identity. */
static int
tpm_fields(struct json *out, const struct json *keys, int healthy)
{
	const char *spec;
	char info[128];
	int rc = 0;

	log_mute(!healthy);
	if (keystore_tpm_info(keys, info, sizeof(info), &spec) < 0 ||
	    json_set_string(out, "tpm", info) < 0 ||
	    json_set_string(out, "tcti", spec) < 0 ||
	    keystore_tpm_srk(keys, info, sizeof(info)) < 0 ||
	    json_set_string(out, "srk", info) < 0)
		rc = healthy ? -1 : 0;
	log_mute(0);
	return rc;
}

/*
 * status --check: does the service still take this device? *state "ok",
 * "disabled" or "deleted" (then EXIT_REFUSED, -1); -1 when it cannot say.
 */
static int
device_check(const struct json *rec, const char **state)
{
	struct http_session *s = NULL;
	char *url = NULL;
	int rc = -1;

	*state = NULL;
	if ((url = prtreq_url(rec)) == NULL || (s = http_session_new()) == NULL ||
	    prtreq_device_check(s, url, rec, state) < 0)
		goto out;
	rc = 0;
	if (strcmp(*state, "ok") != 0)
		rc = log_fail(EXIT_REFUSED, "status: the service says device %s was "
		    "%s in tenant %s", json_get_string(rec, "device_id"), *state,
		    json_get_string(rec, "tenant_id"));
out:
	http_session_free(s);
	free(url);
	return rc;
}

/* The status document of a stored identity, usable or not (h->code). */
static struct json *
status_doc(const struct health *h)
{
	const struct json *rec = h->rec, *keys = json_get_object(h->rec, "keys");
	struct json *out, *prts = NULL;
	const char *v;
	char host[300];
	size_t i;

	if ((out = json_new_object()) == NULL ||
	    json_set_bool(out, "joined", 1) < 0 ||
	    json_set_bool(out, "healthy", h->code == 0) < 0 ||
	    (h->code != 0 && json_set_string(out, "reason", h->reason) < 0) ||
	    json_set_string(out, "state_dir", opts.state_dir) < 0)
		goto fail;
	if (rec == NULL)
		return out;
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		if ((v = json_get_string(rec, copied[i])) != NULL &&
		    json_set_string(out, copied[i], v) < 0)
			goto fail;
	if (h->have_cert && json_set_number(out, "days_left",
	    (double)(long)((h->not_after - time(NULL)) / 86400)) < 0)
		goto fail;
	if (endpoint_host(json_get_string(json_get_object(rec, "endpoints"),
	    "join_endpoint"), host, sizeof(host)) == 0 &&
	    json_set_string(out, "join_host", host) < 0)
		goto fail;
	v = json_get_string(keys, "store");
	if (v != NULL && strcmp(v, "tpm") == 0 && h->code != EXIT_TPM &&
	    tpm_fields(out, keys, h->code == 0) < 0)
		goto fail;
	/* Where the keys are: what a support ticket asks for. */
	if ((v = json_get_string(keys, "device_key")) != NULL &&
	    json_set_string(out, "device_key", v) < 0)
		goto fail;
	if ((v = json_get_string(keys, "transport_key")) != NULL &&
	    json_set_string(out, "transport_key", v) < 0)
		goto fail;
	if (prtstore_list(&prts) < 0 || json_set(out, "prts", prts) < 0)
		goto fail;
	return out;
fail:
	json_free(out);
	return NULL;
}

int
cmd_status(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct health h = { 0 };
	struct json *out = NULL;
	char why[LOG_LINE_MAX];
	const char *auth = NULL;
	int c, rc = -1, have, json = 0, code, check = 0, checked = 0;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		}
		if (c == 'j') {
			json = 1;
			continue;
		}
		if (c == 'c') {
			check = 1;
			continue;
		}
		return cli_bad_option("status", c, argv);
	}
	if (optind < argc)
		return cli_usage("status", "unexpected argument '%s'",
		    CLI_SHOWN(argv[optind]));
	if (sandbox_enter() < 0)
		return -1;
	if (public_status(json, &rc) == 0)
		return rc;
	log_catch(why, sizeof(why));
	have = identity_open(opts.state_dir, 0);
	code = log_caught_code();
	log_catch(NULL, 0);
	if (have < 0) {
		/* Still a document on stdout: "joined" is unknown, so absent. */
		log_escape(h.reason, sizeof(h.reason), why, sizeof(h.reason) - 1);
		if ((out = json_new_object()) == NULL ||
		    json_set_bool(out, "healthy", 0) < 0 ||
		    json_set_string(out, "reason", h.reason) < 0 ||
		    json_set_string(out, "state_dir", opts.state_dir) < 0 ||
		    (!json && isatty(1) ? summary(out) : doc_write(out)) < 0)
			goto out;
		rc = log_fail(code ? code : EXIT_IO, "%s", why);
		goto out;
	}
	if (have == 1) {
		rc = not_joined(json, IDENTITY_RECORD);
		goto out;
	}
	if ((have = health_check(&h)) == 1) {
		/* Users must not be told of a device that is gone. */
		pubrec_forget();
		rc = not_joined(json, IDENTITY_RECORD);
		goto out;
	}
	if (have < 0)
		goto out;
	/* What users see (status.json): not when the TPM told nothing. */
	if (h.code != EXIT_TPM)
		pubrec_update(h.rec, h.code != 0 ? h.reason : NULL, 0, 0);
	/* Only a usable identity can ask; the document is printed either way. */
	if (check && h.code == 0)
		checked = device_check(h.rec, &auth) < 0 ? -1 : 1;
	/* For people: the record's paths are relative to the state dir. */
	if ((h.rec != NULL && identity_paths_absolute(h.rec) < 0) ||
	    (out = status_doc(&h)) == NULL ||
	    (auth != NULL && json_set_string(out, "device_auth", auth) < 0))
		goto out;
	if ((!json && isatty(1) ? summary(out) : doc_write(out)) < 0)
		goto out;
	rc = h.code != 0 ? health_fail("status", &h) : checked < 0 ? -1 : 0;
out:
	json_free(out);
	health_free(&h);
	return rc;
}
