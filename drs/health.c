/* health.c - is the stored identity usable? (status, and join's re-run) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cert.h"
#include "health.h"
#include "identity.h"
#include "keystore.h"
#include "log.h"
#include "machine.h"
#include "state.h"
#include "util.h"

/* The record's certificate, parsed, and checked against the record. */
static int
check_cert(struct health *h, struct cert **out)
{
	const char *thumb = json_get_string(h->rec, "thumbprint");
	const char *id = json_get_string(h->rec, "device_id");
	struct cert *c = NULL;
	char *set, *rel = NULL, *abs = NULL, *pem = NULL;
	size_t len = 0;
	int rc = -1, r;

	*out = NULL;
	if ((set = identity_set_of(h->rec)) == NULL ||
	    (rel = util_asprintf("%s/%s", set, IDENTITY_CERT)) == NULL ||
	    (abs = state_abs(rel)) == NULL)
		goto out;
	if ((r = state_read(rel, 64 * 1024, &pem, &len)) == 1)
		log_fail(EXIT_IO, "%s: missing", abs);
	if (r != 0 || cert_parse_pem(pem, len, EXIT_IO, abs, &c) < 0)
		goto out;
	h->have_cert = 1;
	h->not_after = cert_not_after(c);
	if (!cert_thumbprint_matches(c, thumb)) {
		log_fail(EXIT_IO, "%s is not the device's certificate: its thumbprint "
		    "is %s, device.json says %s", abs, cert_thumbprint(c),
		    thumb != NULL ? thumb : "(none)");
		goto out;
	}
	if (id == NULL || strcasecmp(id, cert_device_id(c)) != 0) {
		log_fail(EXIT_IO, "%s is for device %s, device.json says %s", abs,
		    cert_device_id(c), id != NULL ? id : "(none)");
		goto out;
	}
	if (cert_check_time(c, time(NULL), "the device certificate") < 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	cert_free(c);
	free(pem);
	free(set);
	free(rel);
	free(abs);
	return rc;
}

/* The record was joined on this machine (machine.h), or says nothing. */
static int
check_machine(struct health *h)
{
	char why[128];
	int r;

	if ((r = machine_differs(json_get_object(h->rec, "machine"), why,
	    sizeof(why))) <= 0)
		return r;
	return log_fail(EXIT_IO, "%s/%s: device %s was joined on another machine "
	    "(its %s): a cloned image or a copied state dir; this machine needs "
	    "a device of its own", state_path(), IDENTITY_RECORD,
	    json_get_string(h->rec, "device_id"), why);
}

/*
 * The keys: both load, the device key is the certificate's. *which is the
 * record field of the key a failure is about (a TPM's message names none).
 */
static int
check_keys(const struct json *keys, const struct cert *c, const char **which)
{
	struct keystore_key *dk = NULL;
	int rc = -1;

	*which = "device_key";
	if (keystore_load_device(keys, &dk) < 0)
		return -1;
	*which = NULL;
	if (!cert_public_matches(c, keystore_key(dk))) {
		log_fail(EXIT_IO, "the device key is not the certificate's key "
		    "(the key file was replaced, or the certificate)");
	} else {
		*which = "transport_key";
		rc = keystore_check_transport(keys);
	}
	keystore_key_free(dk);
	return rc;
}

int
health_check(struct health *h)
{
	const struct json *keys = NULL;
	const char *store;
	const char *which = NULL;
	struct cert *c = NULL;
	char why[LOG_LINE_MAX], *named = NULL;
	int r, tpm_closed = 0;

	memset(h, 0, sizeof(*h));
	if ((r = identity_load_why(&h->rec, why, sizeof(why))) == 1)
		return 1;
	if (r != 0 && why[0] == '\0')
		return log_fail(EXIT_IO, "%s: cannot be read", IDENTITY_RECORD);
	if (r == 0) {
		keys = json_get_object(h->rec, "keys");
		store = json_get_string(keys, "store");
		log_catch(why, sizeof(why));
		/* First: a copy's certificate and keys are whole, and not its own. */
		if (check_machine(h) < 0 || keystore_use_recorded_tcti(h->rec) < 0 ||
		    check_cert(h, &c) < 0)
			;
		else if (store == NULL || (strcmp(store, "software") != 0 &&
		    strcmp(store, "tpm") != 0))
			log_fail(EXIT_IO, "device.json names no key store (keys.store "
			    "is %s)", store != NULL ? store : "missing");
		else if (strcmp(store, "tpm") == 0 && keystore_tpm_ready(keys) < 0)
			tpm_closed = 1;
		else
			check_keys(keys, c, &which);
		r = log_caught_code();
		log_catch(NULL, 0);
		cert_free(c);
		if (r == 0)
			return 0;
		/* A bug or no memory says nothing about the identity. */
		if (r == EXIT_INTERNAL)
			return log_fail(EXIT_INTERNAL, "%s", why);
	}
	h->code = tpm_closed ? EXIT_TPM : EXIT_IO;
	/* "tpm: these keys belong to another TPM": which key file. */
	if (which != NULL && strncmp(why, "tpm: ", 5) == 0) {
		/* The record's paths are relative to the state dir: named whole. */
		const char *kp = json_get_string(keys, which);
		char *abs = kp != NULL && kp[0] != '/' ? state_abs(kp) : NULL;

		if ((named = util_asprintf("%s: %s", abs != NULL ? abs :
		    kp != NULL ? kp : which, why)) != NULL)
			snprintf(why, sizeof(why), "%s", named);
		free(abs);
	}
	free(named);
	log_escape(h->reason, sizeof(h->reason), why, sizeof(h->reason) - 1);
	return 0;
}

int
health_fail(const char *cmd, const struct health *h)
{
	if (h->code == EXIT_TPM)
		return log_fail(EXIT_TPM, "%s: the stored identity cannot be checked: "
		    "%s", cmd, h->reason);
	return log_fail(h->code ? h->code : EXIT_IO, "%s: the stored identity is "
	    "not usable: %s ('drsjoin join --force' joins again and replaces it; "
	    "'drsjoin leave --local-only' removes it)", cmd, h->reason);
}

void
health_free(struct health *h)
{
	json_free(h->rec);
	h->rec = NULL;
}
