/* keygen.c - "drsjoin keygen": the device and transport keys, staged in the state dir. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "doc.h"
#include "identity.h"
#include "keystore.h"
#include "log.h"
#include "sandbox.h"

static void
usage(void)
{
	printf("usage: drsjoin keygen [--key-store tpm|software|auto] [--in FILE]\n"
	    "\n"
	    "Makes the device key and the transport key (RSA-2048, two separate\n"
	    "keys) in a staging area of the state dir and adds the \"keys\" section\n"
	    "to the document: where the keys are and the transport key's public\n"
	    "BCRYPT blob, never private key material. auto (the default) uses the\n"
	    "TPM when one answers, otherwise software keys, and says which.\n");
}

int
cmd_keygen(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key-store", required_argument, NULL, 'k' },
		{ "in", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum keystore_choice choice = KEYSTORE_AUTO;
	struct keystore_job *job = NULL;
	struct json *doc = NULL;
	const char *in = NULL;
	int c, rc = -1;

	/* The config file's key-store (checked when read), unless given. */
	if (config.key_store != NULL && keystore_parse("keygen", config.key_store, &choice) < 0)
		return -1;
	while ((c = cli_getopt(argc, argv, ":h", lo)) != -1) {
		switch (c) {
		case 'k':
			if (keystore_parse("keygen", optarg, &choice) < 0)
				return -1;
			break;
		case 'i': in = optarg; break;
		case 'h': usage(); return 0;
		default:
			return cli_bad_option("keygen", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage("keygen", "unexpected argument '%s'",
		    CLI_SHOWN(argv[optind]));
	if (sandbox_read(in) < 0 || sandbox_enter() < 0)
		return -1;
	if (doc_read(in, &doc) < 0 || identity_open(opts.state_dir, 1) < 0 ||
	    identity_cleanup() < 0)
		goto out;
	if (keystore_start(choice, 0, &job) < 0 ||
	    keystore_finish(job, doc) < 0)
		goto out;
	if ((rc = doc_write(doc)) < 0)
		keystore_discard(doc);
out:
	json_free(doc);
	return rc;
}
