/*
 * fuzz_whole.c - whole functions that take a whole outside input, as fuzz
 * targets (the leaf parsers are in fuzz_targets.c). One is chosen with
 * -DFUZZ_<NAME>:
 *
 *   DISCOVERY  discovery_run(): the discovery answer, for a tenant GUID
 *              with the token's tenant expected, and for a domain
 *   NONCE      nonce_run(): the nonce answer
 *   JOIN       join_post.c's join_post(): the join answer, checked against the
 *              device key (test/unit/data/key.pem) up to the commit
 *   DOC        doc_read(): a document file, then what the phases look up
 *   REDEEM     login_redeem_bprt() and login_redeem_refresh(): the token
 *              endpoint's answer through the whole redeem (the first byte
 *              picks its HTTP status: most are 200; an error answer makes
 *              the error line), and devicecode_parse() on the same body
 *              (fuzz_targets.c's LOGIN has the login parsers alone)
 *
 * The answers come from fake_http.c (no network); the input is the body.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "devicecode.h"
#include "discovery.h"
#include "doc.h"
#include "http.h"
#include "json.h"
#include "jwt.h"
#include "log.h"
#include "login.h"
#include "nonce.h"
#include "util.h"

#if defined(FUZZ_JOIN)
#include "join_impl.h"
#include "svcerr.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fake_http_answer(const char *body, size_t len);
void fake_http_status(long status);

#define TENANT_ID "d3b07384-d9a0-4c9b-8a0e-2f4c6e8a1b3d"

/* A private state dir, removed at exit: nothing may reach the real one. */
static char state[64];

static void
remove_state(void)
{
	char cmd[128];

	if (state[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz: could not remove %s\n", state);
	}
}

static void
setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	snprintf(state, sizeof(state), "/tmp/drsjoin-fuzz-XXXXXX");
	if (mkdtemp(state) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(remove_state);
	opts.state_dir = state;
	opts.discovery_url = "https://enterpriseregistration.example";
}

#if defined(FUZZ_NONCE) || defined(FUZZ_JOIN)
static struct json *
doc_of(const char *text)
{
	struct json *d = json_parse(text, strlen(text), EXIT_INTERNAL, "fuzz doc");

	if (d == NULL)
		abort();
	return d;
}
#endif

#if defined(FUZZ_JOIN)
static char doc_text[4096];

/* Copies the fixture key src to dst (0600). */
static void
copy_key(const char *src, const char *dst)
{
	char buf[8192];
	ssize_t n;
	int in, out;

	if ((in = open(src, O_RDONLY)) < 0 ||
	    (out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    (n = read(in, buf, sizeof(buf))) <= 0 || write(out, buf, (size_t)n) != n) {
		fprintf(stderr, "fuzz: %s -> %s: %s (set DRSJOIN_TOP)\n", src, dst,
		    strerror(errno));
		abort();
	}
	close(in);
	close(out);
}

/*
 * The document of a join whose keys and CSR are ready: a key set in the
 * private state dir's staging area holding test/unit/data/key.pem as the
 * device key (and as the transport key). The answer's certificate is
 * checked against it; the commit then fails (nothing committed twice).
 */
static void
join_setup(void)
{
	const char *top = getenv("DRSJOIN_TOP");
	char key[2048], set[256], path[320], cmd[300];

	/* After an input that committed, the set is in identity/: again. */
	snprintf(path, sizeof(path), "%s/staging/0123456789abcdef/device-key.pem", state);
	if (doc_text[0] != '\0' && access(path, F_OK) == 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/staging' '%s/identity' '%s/device.json'",
	    state, state, state);
	if (system(cmd) != 0)
		abort();
	if (snprintf(key, sizeof(key), "%s/test/unit/data/key.pem", top ? top : ".") >=
	    (int)sizeof(key))
		abort();
	snprintf(set, sizeof(set), "%s/staging", state);
	if (mkdir(set, 0700) < 0)
		abort();
	snprintf(set, sizeof(set), "%s/staging/0123456789abcdef", state);
	if (mkdir(set, 0700) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/device-key.pem", set);
	copy_key(key, path);
	snprintf(path, sizeof(path), "%s/transport-key.pem", set);
	copy_key(key, path);
	snprintf(doc_text, sizeof(doc_text),
	    "{\"schema\": \"drsjoin/1\","
	    " \"tenant\": {\"id\": \"" TENANT_ID "\", \"domain\": \"contoso.example\"},"
	    " \"discovery\": {\"join_endpoint\": \"https://enterpriseregistration.example/EnrollmentServer/device/\","
	    "  \"join_version\": \"2.0\"},"
	    " \"keys\": {\"store\": \"software\", \"dir\": \"%s\","
	    "  \"transport_blob\": \"UlNBMQAIAAADAAAAAAEAAAAAAAAAAAAAAQAB\"},"
	    " \"csr\": {\"type\": \"pkcs10\", \"data\": \"MIIB\", \"nonce\": false}}",
	    set);
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	log_reset();
	/* Thousands of refusals: not printed (a sanitizer report still is),
	 * unless FUZZ_VERBOSE is set (to see how far a seed gets). */
	log_mute(getenv("FUZZ_VERBOSE") == NULL);
	fake_http_answer((const char *)data, size);
#if defined(FUZZ_DISCOVERY)
	{
		struct http_session *s = http_session_new();
		struct json *doc = NULL;

		if (doc_new(&doc) == 0) {
			discovery_run(s, doc, TENANT_ID, TENANT_ID, NULL);
			json_free(doc);
		}
		log_reset();
		if (doc_new(&doc) == 0) {
			discovery_run(s, doc, "contoso.example", NULL, NULL);
			json_free(doc);
		}
		http_session_free(s);
	}
#elif defined(FUZZ_NONCE)
	{
		struct http_session *s = http_session_new();
		struct json *doc = doc_of("{\"schema\": \"drsjoin/1\", \"discovery\": "
		    "{\"nonce_endpoint\": \"https://enterpriseregistration.example/"
		    "EnrollmentServer/nonce/" TENANT_ID "/\", \"nonce_version\": \"1.0\"},"
		    " \"csr\": {\"data\": \"MIIB\"}}");

		nonce_run(s, doc, NULL);
		json_free(doc);
		http_session_free(s);
	}
#elif defined(FUZZ_JOIN)
	{
		struct http_session *s = http_session_new();
		static char token[] = "eyJ0eXAiOiJKV1QifQ.e30.c2ln";
		struct join_token t = { .token = token, .claims = { .tid = TENANT_ID,
		    .upn = "alice@contoso.example" } };
		struct join_args a = { .display_name = "fuzz",
		    .join_type = JOIN_TYPE_JOIN, .store = KEYSTORE_SOFTWARE };
		struct json *doc;
		char refusal[SVCERR_LINE_MAX];

		join_setup();
		doc = doc_of(doc_text);
		join_post(s, doc, &t, &a, refusal, sizeof(refusal));
		json_free(doc);
		http_session_free(s);
	}
#elif defined(FUZZ_DOC)
	{
		char path[128];
		struct json *doc = NULL;
		int fd;

		snprintf(path, sizeof(path), "%s/doc.json", state);
		unlink(path);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
		    (size > 0 && write(fd, data, size) != (ssize_t)size)) {
			perror("fuzz: writing the document");
			abort();
		}
		close(fd);
		if (doc_read(path, &doc) == 0) {
			/* What the phases look up in a document they are given. */
			static const char *const need[][2] = {
				{ "tenant", "id" }, { "tenant", "domain" },
				{ "discovery", "join_endpoint" }, { "discovery", "nonce_endpoint" },
				{ "nonce", "value" }, { "keys", "store" }, { "keys", "dir" },
				{ "keys", "device_key" }, { "csr", "data" },
			};
			size_t i;
			char *out;

			for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
				doc_need(doc, need[i][0], need[i][1], "fuzz", "fuzz");
			if ((out = json_print(doc, JSON_SORT | JSON_INDENT)) != NULL)
				free(out);
			json_free(doc);
		}
	}
#elif defined(FUZZ_REDEEM)
	{
		static const long status[8] = { 200, 200, 200, 200, 400, 401, 500, 302 };
		static struct login_endpoints ep;
		struct http_session *s = http_session_new();
		struct http_response rs = { 0 };
		struct devicecode dc;
		char *at = NULL;

		if (ep.authority == NULL && login_endpoints(NULL,
		    "login.microsoftonline.example", TENANT_ID, &ep) < 0)
			abort();
		if (size == 0)
			goto redeem_out;
		fake_http_status(status[data[0] % 8]);
		fake_http_answer((const char *)data + 1, size - 1);
		if (login_redeem_bprt(s, &ep, "bprt", "urn:ms-drs:enterpriseregistration."
		    "windows.net", &at) == 0)
			util_free_secret(at);
		at = NULL;
		log_reset();
		if (login_redeem_refresh(s, &ep, LOGIN_BROKER_CLIENT_ID, "rt", &at) == 0)
			util_free_secret(at);
		log_reset();
		/* The device code answer, as devicecode_run() reads a 2xx one. */
		if (http_send(s, &(struct http_request){ .phase = "devicecode",
		    .method = "POST", .url = ep.devicecode_v2, .pass_errors = 1 },
		    &rs) == 0) {
			memset(&dc, 0, sizeof(dc));
			if (devicecode_parse(&rs, &dc) == 0)
				devicecode_free(&dc);
		}
		http_response_free(&rs);
redeem_out:
		http_session_free(s);
		fake_http_status(200);
	}
#else
#error "define one FUZZ_<NAME>"
#endif
	return 0;
}
