/*
 * prt.c - "drsjoin prt": a user's Primary Refresh Token, obtained with the
 * device identity (prtrequest.h), stored in the state dir (prtstore.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "devicecode.h"
#include "doc.h"
#include "http.h"
#include "identity.h"
#include "json.h"
#include "keystore.h"
#include "log.h"
#include "login.h"
#include "prt.h"
#include "prtrequest.h"
#include "prtstore.h"
#include "sandbox.h"
#include "state.h"
#include "token.h"
#include "util.h"

static void
usage(void)
{
	printf("usage: drsjoin prt [--refresh-token-file FILE | --device-code |\n"
	    "                   --username USER --password-file FILE | --renew |\n"
	    "                   --remove] [--user USER]\n"
	    "\n"
	    "Gets a user's Primary Refresh Token (PRT) with this device's identity:\n"
	    "the request is signed by the device key, and the PRT's session key comes\n"
	    "wrapped to the transport key (in the TPM with TPM keys). The PRT is\n"
	    "stored per user in the state dir (0600; the session key stays wrapped)\n"
	    "and a JSON summary is printed: user, oid, tenant, obtained, renewed,\n"
	    "expires - no secret.\n"
	    "\n"
	    "  --refresh-token-file FILE  a refresh token of the broker client\n"
	    "                             29d9ed98-a469-4536-ade2-f981bc1d605e (- for\n"
	    "                             stdin; default DRSJOIN_REFRESH_TOKEN, or the\n"
	    "                             config file's refresh-token-file)\n"
	    "  --device-code              a person signs in on another screen (the\n"
	    "                             code on stderr); the PRT is then requested\n"
	    "                             with the sign-in's refresh token\n"
	    "  --username USER            with --password-file: the password grant\n"
	    "  --password-file FILE       (test accounts only; refused under MFA)\n"
	    "  --renew                    renew the stored PRT (the session key stays)\n"
	    "  --remove                   remove the stored PRT ({\"removed\": ...})\n"
	    "  --user USER                which stored PRT (UPN or object id) for\n"
	    "                             --renew and --remove, when several are stored\n"
	    "\n"
	    "Requests go only to the login host of the cloud the device joined, or to\n"
	    "the service --discovery-url names. 'leave' and a forced 'join' remove\n"
	    "every stored PRT. Exit 5 when the service refuses (a revoked or expired\n"
	    "PRT, a deleted or disabled device), 4 for an unusable answer (nothing is\n"
	    "stored then), 8 when not joined.\n");
}

enum prt_action { PRT_GET, PRT_RENEW, PRT_REMOVE };

struct prt_args {
	enum prt_action action;
	const char *refresh_file;
	const char *username;
	const char *password_file;
	const char *user;
	int device_code;
};

/*
 * Nothing given: DRSJOIN_REFRESH_TOKEN, else the config file's
 * refresh-token-file or the systemd credential drsjoin-refresh-token (a
 * ready token or a BPRT named there is join's, not a user's).
 */
static int
config_file_source(struct prt_args *a)
{
	const char *tf = NULL, *bf = NULL, *rf = NULL, *by = NULL;

	if (config_token_source(&tf, &bf, &rf, 0, &by) < 0)
		return -1;
	if (rf != NULL) {
		log_debug(1, "prt: the refresh token of %s", by ? by : "the config file");
		a->refresh_file = rf;
	}
	return 0;
}

static int
parse(int argc, char **argv, struct prt_args *a)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "refresh-token-file", required_argument, NULL, 'r' },
		{ "username", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "renew", no_argument, NULL, 'R' },
		{ "remove", no_argument, NULL, 'X' },
		{ "user", required_argument, NULL, 'U' },
		{ "device-code", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	int c, actions = 0;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		switch (c) {
		case 'h': usage(); return 1;
		case 'r': a->refresh_file = optarg; actions++; break;
		case 'u': a->username = optarg; break;
		case 'p': a->password_file = optarg; actions++; break;
		case 'R': a->action = PRT_RENEW; actions++; break;
		case 'X': a->action = PRT_REMOVE; actions++; break;
		case 'U': a->user = optarg; break;
		case 'D': a->device_code = 1; actions++; break;
		default: return cli_bad_option("prt", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage("prt", "unexpected argument '%s'", CLI_SHOWN(argv[optind]));
	if (actions > 1)
		return cli_usage("prt", "give one of --refresh-token-file, "
		    "--device-code, --password-file, --renew and --remove");
	if ((a->username != NULL) != (a->password_file != NULL))
		return cli_usage("prt", "--username and --password-file go together");
	if (a->user != NULL && a->action == PRT_GET)
		return cli_usage("prt", "--user names a stored PRT: for --renew or --remove");
	if (actions == 0 && config_file_source(a) < 0)
		return -1;
	if ((a->refresh_file != NULL && sandbox_read(a->refresh_file) < 0) ||
	    (a->password_file != NULL && sandbox_read(a->password_file) < 0))
		return -1;
	return 0;
}

int
prt_load_identity(const char *cmd, int lock, struct json **rec)
{
	int rc;

	*rec = NULL;
	if ((rc = identity_open(opts.state_dir, 0)) == 1)
		goto not_joined;
	if (rc < 0 || (lock && state_lock() < 0) || (rc = identity_load(rec)) < 0)
		return -1;
	if (rc == 1)
		goto not_joined;
	/* Locked: what a killed run left half-written can go. */
	if (lock)
		prtstore_cleanup();
	return keystore_use_recorded_tcti(*rec);
not_joined:
	return log_fail(EXIT_NOT_JOINED, "%s: not joined (no %s/%s): join first",
	    cmd, opts.state_dir, IDENTITY_RECORD);
}

/* Prints the summary of r (no secret). */
static int
print_summary(const struct json *r)
{
	struct json *o = prtstore_summary(r);
	int rc = o != NULL ? doc_write(o) : -1;

	json_free(o);
	return rc;
}

static int
do_remove(const struct prt_args *a)
{
	struct json *r = NULL, *o = NULL;
	int rc = -1, have;

	if ((have = prtstore_load(a->user, &r)) < 0)
		return -1;
	if (have == 0 && prtstore_remove(json_get_string(r, "oid")) < 0)
		goto out;
	if ((o = have == 0 ? prtstore_summary(r) : json_new_object()) == NULL ||
	    json_set_bool(o, "removed", have == 0) < 0 || doc_write(o) < 0)
		goto out;
	rc = 0;
out:
	json_free(o);
	json_free(r);
	return rc;
}

/* The stored PRT of a->user; a missing one is an error naming prt. */
int
prt_load_stored(const char *user, struct json **r)
{
	int have = prtstore_load(user, r);

	if (have == 1)
		return log_fail(EXIT_INPUT, "prt: no PRT stored%s%s: sign in with "
		    "'drsjoin prt' first", user ? " for " : "", user ? CLI_SHOWN(user) : "");
	return have;
}

static int
do_renew(struct http_session *s, const char *url, const struct json *rec,
    const struct prt_args *a)
{
	struct json *r = NULL;
	int rc = -1;

	if (prt_load_stored(a->user, &r) < 0 || prtreq_renew(s, url, rec, r) < 0 ||
	    prtstore_save(r) < 0 || print_summary(r) < 0)
		goto out;
	rc = 0;
out:
	json_free(r);
	return rc;
}

/* --device-code: a refresh token of the broker client, at the same login host. */
static int
sign_in(struct http_session *s, const char *url, char **rt)
{
	struct login_endpoints ep;
	int rc;

	if (login_endpoints(url, NULL, NULL, &ep) < 0)
		return -1;
	rc = devicecode_run_refresh(s, &ep, LOGIN_BROKER_CLIENT_ID, rt);
	login_endpoints_free(&ep);
	return rc;
}

static int
do_get(struct http_session *s, const char *url, const struct json *rec,
    const struct prt_args *a)
{
	struct json *r = NULL;
	char *secret = NULL;
	int rc = -1, pw = a->password_file != NULL;

	if (a->device_code) {
		if (sign_in(s, url, &secret) < 0)
			return -1;
	} else if ((pw ? token_read_secret(a->password_file, NULL, "--password-file",
	    "password", &secret) : token_read_secret(a->refresh_file,
	    "DRSJOIN_REFRESH_TOKEN", "--refresh-token-file", "refresh token",
	    &secret)) < 0) {
		return -1;
	}
	if (prtreq_get(s, url, rec, pw ? PRTREQ_PASSWORD : PRTREQ_REFRESH_TOKEN,
	    secret, a->username, &r) < 0 || prtstore_save(r) < 0 ||
	    print_summary(r) < 0)
		goto out;
	rc = 0;
out:
	util_free_secret(secret);
	json_free(r);
	return rc;
}

int
cmd_prt(int argc, char **argv)
{
	struct prt_args a = { 0 };
	struct http_session *s = NULL;
	struct json *rec = NULL;
	char *url = NULL;
	int rc;

	if ((rc = parse(argc, argv, &a)) != 0)
		return rc > 0 ? 0 : -1;
	rc = -1;
	if (sandbox_enter() < 0 || prt_load_identity("prt", 1, &rec) < 0)
		goto out;
	if (a.action == PRT_REMOVE) {
		rc = do_remove(&a);
		goto out;
	}
	if ((url = prtreq_url(rec)) == NULL || (s = http_session_new()) == NULL)
		goto out;
	rc = a.action == PRT_RENEW ? do_renew(s, url, rec, &a) :
	    do_get(s, url, rec, &a);
out:
	http_session_free(s);
	free(url);
	json_free(rec);
	return rc < 0 ? -1 : 0;
}
