/* request.c - phase 4: "drsjoin csr". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "b64.h"
#include "cli.h"
#include "csr.h"
#include "doc.h"
#include "keystore.h"
#include "log.h"
#include "request.h"
#include "sandbox.h"

int
request_csr(struct json *doc, int no_nonce)
{
	struct keystore_key *dk = NULL;
	struct json *keys, *c = NULL;
	const char *nonce = NULL;
	uint8_t *der = NULL;
	size_t len;
	char *b64 = NULL;
	int rc = -1;

	if ((keys = json_get_object(doc, "keys")) == NULL)
		return log_fail(EXIT_INPUT, "csr: the document has no keys; run "
		    "'drsjoin keygen' first");
	if (!no_nonce)
		nonce = doc_get(doc, "nonce", "value");
	/* The same checks as join: the set, and the transport blob against it. */
	if (keystore_check_doc(doc) < 0 || keystore_load_device(keys, &dk) < 0 ||
	    csr_build(keystore_key(dk), nonce, &der, &len) < 0 ||
	    (b64 = b64_encode(der, len)) == NULL)
		goto out;
	if ((c = json_new_object()) == NULL || json_set_string(c, "type", "pkcs10") < 0 ||
	    json_set_string(c, "data", b64) < 0 ||
	    json_set_bool(c, "nonce", nonce != NULL) < 0)
		goto out;
	rc = json_set(doc, "csr", c);
	c = NULL;
	if (rc == 0 && nonce == NULL && !no_nonce)
		log_note("csr: the document has no nonce; the request carries none");
out:
	json_free(c);
	free(der);
	free(b64);
	keystore_key_free(dk);
	return rc;
}

static void
usage(void)
{
	printf("usage: drsjoin csr [--no-nonce] [--in FILE]\n"
	    "\n"
	    "Builds the PKCS#10 certificate request (CN=7E980AD9-B86D-4306-9425-\n"
	    "9AC066FB014A, RSA-2048, SHA256withRSA) signed by the device key, with\n"
	    "the document's nonce in extension 1.2.840.113556.1.5.284.2.1 unless\n"
	    "--no-nonce, and adds the \"csr\" section to the document.\n");
}

int
cmd_csr(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-nonce", no_argument, NULL, 'n' },
		{ "in", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json *doc = NULL;
	const char *in = NULL;
	int c, rc = -1, no_nonce = 0;

	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		switch (c) {
		case 'n': no_nonce = 1; break;
		case 'i': in = optarg; break;
		case 'h': usage(); return 0;
		default:
			return cli_bad_option("csr", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage("csr", "unexpected argument '%s'",
		    CLI_SHOWN(argv[optind]));
	if (sandbox_read(in) < 0 || sandbox_enter() < 0)
		return -1;
	if (doc_read(in, &doc) < 0 || request_csr(doc, no_nonce) < 0)
		goto out;
	rc = doc_write(doc);
out:
	json_free(doc);
	return rc;
}
