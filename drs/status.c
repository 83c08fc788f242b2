/* status.c - "drsjoin status": the identity stored on this machine. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "cli.h"
#include "doc.h"
#include "identity.h"
#include "json.h"
#include "keystore.h"
#include "log.h"
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
	printf("usage: drsjoin status [--json]\n"
	    "\n"
	    "Shows the identity stored in the state dir: device id, tenant, UPN,\n"
	    "join type, thumbprint, expiry and days left, the join endpoint's host,\n"
	    "the key store and where the keys are (for TPM keys also the TCTI and the\n"
	    "SRK). Checks that the certificate and both keys still load. At a\n"
	    "terminal a short summary, otherwise (or with --json) JSON. When this\n"
	    "machine is not joined, prints {\"joined\": false} (or \"Joined: no\")\n"
	    "and exits 8.\n");
}

/* The certificate's expiry, from the certificate in the record's set. */
static int
cert_expiry(const struct json *rec, time_t *not_after)
{
	struct cert *c = NULL;
	char *set, *rel = NULL, *abs = NULL, *pem = NULL;
	size_t len;
	int rc = -1, r;

	if ((set = identity_set_of(rec)) == NULL ||
	    (rel = util_asprintf("%s/%s", set, IDENTITY_CERT)) == NULL ||
	    (abs = state_abs(rel)) == NULL)
		goto out;
	if ((r = state_read(rel, 64 * 1024, &pem, &len)) == 1)
		log_fail(EXIT_IO, "%s: missing", abs);
	if (r != 0 || cert_parse_pem(pem, len, EXIT_IO, abs, &c) < 0)
		goto out;
	*not_after = cert_not_after(c);
	rc = 0;
out:
	cert_free(c);
	free(pem);
	free(set);
	free(rel);
	free(abs);
	return rc;
}

/* A record field for the terminal, escaped (summary.h). */
static const char *
field(const struct json *o, const char *key)
{
	return summary_field(o, key);
}

/* For people at a terminal, as dsregcmd /status: one fact a line. */
static int
summary(const struct json *o)
{
	double days = 0;

	json_get_number(o, "days_left", &days);
	printf("Joined:        yes (%s)\n", field(o, "join_type"));
	printf("Tenant:        %s (%s)\n", field(o, "tenant_domain"), field(o, "tenant_id"));
	printf("Device id:     %s\n", field(o, "device_id"));
	printf("Display name:  %s\n", field(o, "display_name"));
	printf("User:          %s\n", field(o, "upn"));
	if (json_get_string(o, "tpm") != NULL)
		printf("Key store:     tpm (%s, %s)\n", field(o, "tpm"), field(o, "tcti"));
	else
		printf("Key store:     %s\n", field(o, "key_store"));
	printf("Certificate:   %s\n", field(o, "thumbprint"));
	printf("Valid:         %s to %s (%s%ld days left)\n", field(o, "not_before"),
	    field(o, "not_after"), days < 0 ? "expired, " : "", (long)days);
	printf("Join host:     %s\n", field(o, "join_host"));
	if (json_get_string(o, "srk") != NULL)
		printf("SRK:           %s\n", field(o, "srk"));
	printf("Device key:    %s\n", field(o, "device_key"));
	printf("Transport key: %s\n", field(o, "transport_key"));
	printf("State dir:     %s\n", field(o, "state_dir"));
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

int
cmd_status(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct json *rec = NULL, *out = NULL, *keys;
	const char *v, *spec;
	char info[128], host[300];
	time_t not_after = 0;
	long days;
	size_t i;
	int c, rc = -1, have, json = 0;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		}
		if (c == 'j') {
			json = 1;
			continue;
		}
		return cli_bad_option("status", c, argv);
	}
	if (optind < argc)
		return cli_usage("status", "unexpected argument '%s'",
		    CLI_SHOWN(argv[optind]));
	if (sandbox_enter() < 0)
		return -1;
	if ((have = identity_open(opts.state_dir, 0)) < 0 ||
	    (have == 0 && (have = identity_load(&rec)) < 0))
		goto out;
	if (have == 1) {
		/* Parseable either way: scripts read stdout, people the line. */
		if (!json && isatty(1))
			printf("Joined:        no\n");
		else if ((out = json_new_object()) == NULL ||
		    json_set_bool(out, "joined", 0) < 0 || doc_write(out) < 0)
			goto out;
		log_fail(EXIT_NOT_JOINED, "status: not joined (no %s/%s)", opts.state_dir,
		    IDENTITY_RECORD);
		goto out;
	}
	if (keystore_use_recorded_tcti(rec) < 0)
		goto out;
	if ((out = json_new_object()) == NULL || json_set_bool(out, "joined", 1) < 0)
		goto out;
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		if ((v = json_get_string(rec, copied[i])) != NULL &&
		    json_set_string(out, copied[i], v) < 0)
			goto out;
	if (cert_expiry(rec, &not_after) < 0)
		goto out;
	days = (long)((not_after - time(NULL)) / 86400);
	if (json_set_number(out, "days_left", (double)days) < 0 ||
	    json_set_string(out, "state_dir", opts.state_dir) < 0)
		goto out;
	if (endpoint_host(json_get_string(json_get_object(rec, "endpoints"),
	    "join_endpoint"), host, sizeof(host)) == 0 &&
	    json_set_string(out, "join_host", host) < 0)
		goto out;
	keys = json_get_object(rec, "keys");
	if (keystore_check(keys) < 0)
		goto out;
	v = json_get_string(keys, "store");
	if (v != NULL && strcmp(v, "tpm") == 0) {
		if (keystore_tpm_info(keys, info, sizeof(info), &spec) < 0)
			goto out;
		if (json_set_string(out, "tpm", info) < 0 ||
		    json_set_string(out, "tcti", spec) < 0)
			goto out;
		if (keystore_tpm_srk(keys, info, sizeof(info)) < 0 ||
		    json_set_string(out, "srk", info) < 0)
			goto out;
	}
	/* Where the keys are: what a support ticket asks for. */
	if ((v = json_get_string(keys, "device_key")) != NULL &&
	    json_set_string(out, "device_key", v) < 0)
		goto out;
	if ((v = json_get_string(keys, "transport_key")) != NULL &&
	    json_set_string(out, "transport_key", v) < 0)
		goto out;
	if (!json && isatty(1))
		rc = summary(out);
	else
		rc = doc_write(out);
out:
	json_free(out);
	json_free(rec);
	return rc;
}
