/*
 * cookie.c - "drsjoin cookie": the browser SSO cookie x-ms-RefreshTokenCredential
 * made from a stored PRT with a fresh nonce (prtrequest.h), for headless
 * browser tests and kiosk sessions.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cookie.h"
#include "doc.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "prt.h"
#include "prtrequest.h"
#include "sandbox.h"
#include "util.h"

#define COOKIE_NAME "x-ms-RefreshTokenCredential"

static void
usage(void)
{
	printf("usage: drsjoin cookie [--user USER]\n"
	    "\n"
	    "Prints the browser SSO cookie of a user's stored PRT ('drsjoin prt') as\n"
	    "JSON: name (" COOKIE_NAME "), value, domain (the login host) and\n"
	    "the nonce it carries (send it as sso_nonce on /authorize). Each run\n"
	    "gets a fresh nonce; the service takes a cookie for a few minutes.\n"
	    "\n"
	    "  --user USER   which stored PRT (UPN or object id), when several\n");
}

/* The host of url without its port: the cookie's domain. */
static char *
domain_of(const char *url)
{
	const char *h = strstr(url, "://");
	size_t n;

	h = h != NULL ? h + 3 : url;
	n = strcspn(h, ":/");
	return util_asprintf("%.*s", (int)n, h);
}

static int
print_cookie(const char *value, const char *nonce, const char *url)
{
	struct json *o = json_new_object();
	char *domain = domain_of(url);
	int rc = -1;

	if (o != NULL && domain != NULL &&
	    json_set_string(o, "name", COOKIE_NAME) == 0 &&
	    json_set_string(o, "value", value) == 0 &&
	    json_set_string(o, "domain", domain) == 0 &&
	    json_set_string(o, "nonce", nonce) == 0)
		rc = doc_write(o);
	json_free(o);
	free(domain);
	return rc;
}

int
cmd_cookie(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "user", required_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_session *s = NULL;
	struct json *rec = NULL, *prt = NULL;
	const char *user = NULL;
	char *url = NULL, *value = NULL, *nonce = NULL;
	int c, rc = -1;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		}
		if (c != 'U')
			return cli_bad_option("cookie", c, argv);
		user = optarg;
	}
	if (optind < argc)
		return cli_usage("cookie", "unexpected argument '%s'", CLI_SHOWN(argv[optind]));
	if (sandbox_enter() < 0 || prt_load_identity("cookie", 0, &rec) < 0 ||
	    prt_load_stored(user, &prt) < 0 || (url = prtreq_url(rec)) == NULL ||
	    (s = http_session_new()) == NULL ||
	    prtreq_cookie(s, url, rec, prt, &value, &nonce) < 0 ||
	    print_cookie(value, nonce, url) < 0)
		goto out;
	rc = 0;
out:
	util_free_secret(value);
	util_free_secret(nonce);
	http_session_free(s);
	json_free(prt);
	json_free(rec);
	free(url);
	return rc;
}
