/* nonce.c - phase 2: GET {NonceService.Endpoint}?api-version=... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "cli.h"
#include "csr.h"
#include "doc.h"
#include "log.h"
#include "nonce.h"
#include "sandbox.h"
#include "util.h"

int
nonce_run(struct http_session *s, struct json *doc, const char *bearer)
{
	struct http_request rq = { 0 };
	struct http_response rs = { 0 };
	struct json *ans = NULL, *st, *n;
	const char *ep, *ver, *value;
	char *url = NULL;
	int rc = -1;

	/* discover records a tenant without a nonce service as such. */
	if (json_get(json_get_object(doc, "discovery"), "nonce_service") != NULL &&
	    !json_get_bool(json_get_object(doc, "discovery"), "nonce_service"))
		return 1;
	if ((ep = doc_need(doc, "discovery", "nonce_endpoint", "nonce", "discover")) == NULL ||
	    (ver = doc_need(doc, "discovery", "nonce_version", "nonce", "discover")) == NULL)
		return -1;
	if ((url = util_asprintf("%s%sapi-version=%s", ep, strchr(ep, '?') ? "&" : "?",
	    ver)) == NULL)
		goto out;
	rq.phase = "nonce";
	rq.method = "GET";
	rq.url = url;
	/* Anonymous, like discovery: the token only after a 401 (protocol.md). */
	rq.bearer_on_401 = bearer;
	if (http_send(s, &rq, &rs) < 0)
		goto out;
	if ((ans = answer_parse("nonce", &rs)) == NULL)
		goto out;
	/* The spec spells it ReponseStatus; accept the correct spelling too. */
	st = json_get_ci(ans, "ReponseStatus");
	if (st == NULL)
		st = json_get_ci(ans, "ResponseStatus");
	if (st != NULL && !json_is_object(st)) {
		log_fail(EXIT_NETWORK, "nonce: ReponseStatus in the answer is not an object");
		goto out;
	}
	if (answer_string("nonce", ans, NULL, "Value", ANSWER_WORD, CSR_NONCE_MAX,
	    1, &value) < 0 ||
	    csr_nonce_check(value, EXIT_NETWORK, "nonce: Value in the answer") < 0)
		goto out;
	if ((n = json_new_object()) == NULL || json_set(doc, "nonce", n) < 0 ||
	    json_set_string(n, "value", value) < 0 ||
	    json_set_number(n, "fetched_at", (double)time(NULL)) < 0)
		goto out;
	/* A CSR made with an older nonce would be refused. */
	json_remove(doc, "csr");
	log_debug(1, "nonce: got one (%zu characters, not shown)", strlen(value));
	rc = 0;
out:
	json_free(ans);
	http_response_free(&rs);
	free(url);
	return rc;
}

static void
usage(void)
{
	printf("usage: drsjoin nonce [--in FILE]\n"
	    "\n"
	    "Gets a nonce from the discovered tenant's nonce service and adds the\n"
	    "\"nonce\" section to the document (read from --in or stdin, written to\n"
	    "stdout). Needs the \"discovery\" section (drsjoin discover).\n");
}

int
cmd_nonce(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *in = NULL;
	struct http_session *s = NULL;
	struct json *doc = NULL;
	int c, rc = -1;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'h': usage(); return 0;
		default:
			return cli_bad_option("nonce", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage("nonce", "unexpected argument '%s'",
		    CLI_SHOWN(argv[optind]));
	if (sandbox_read(in) < 0 || sandbox_enter() < 0)
		return -1;
	if (doc_read(in, &doc) < 0)
		goto out;
	if ((s = http_session_new()) == NULL || (c = nonce_run(s, doc, NULL)) < 0)
		goto out;
	if (c == 1)
		log_note("nonce: the tenant's discovery answer names no nonce "
		    "service; the document goes on without a nonce");
	rc = doc_write(doc);
out:
	http_session_free(s);
	json_free(doc);
	return rc;
}
