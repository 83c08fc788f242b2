/* keystore.c - making, staging and loading the device and transport keys. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "bcrypt_blob.h"
#include "cli.h"
#include "config.h"
#include "doc.h"
#include "identity.h"
#include "keys.h"
#include "keystore.h"
#include "log.h"
#include "machine.h"
#include "sandbox.h"
#include "state.h"
#include "tpm.h"
#include "util.h"

#define KEY_FILE_MAX (64 * 1024)

struct keystore_job {
	pthread_t thread;
	enum keystore_choice choice;
	int rc;
	int tpm;			/* the store used: 1 TPM, 0 software */
	char *tmp_dir, *dir;		/* the staging set, before/after publishing,
					   relative to the state dir */
	char *device_key, *transport_key;	/* file names inside the set */
	char *blob;			/* transport key BCRYPT blob, base64 */
};

struct keystore_key {
	struct key *key;
	struct tpm_key *tkey;
};

/*
 * One TPM connection for the whole run: opening one may create the
 * transient SRK, which takes seconds on some hardware TPMs. Used by one
 * thread at a time: the keygen thread, then the main thread after it.
 */
static struct tpm *shared_tpm;

static struct tpm *
get_tpm(const char *tcti)
{
	if (shared_tpm == NULL && tpm_open(tcti, &shared_tpm) < 0)
		return NULL;
	return shared_tpm;
}

void
keystore_cleanup(void)
{
	tpm_close(shared_tpm);
	shared_tpm = NULL;
}

/*
 * The TPM of a "keys" section: --tcti, DRSJOIN_TCTI, TPM2TOOLS_TCTI or the
 * default devices (tpm_open reads the environment), never the section's
 * own "tcti". A document can be written by anyone, and a TCTI names a file
 * that root opens and writes a command into, or a host to connect to.
 */
static struct tpm *
keys_tpm(const struct json *keys)
{
	static int noted;
	const char *env1 = getenv("DRSJOIN_TCTI"), *env2 = getenv("TPM2TOOLS_TCTI");

	if (shared_tpm == NULL && !noted && json_get_string(keys, "tcti") != NULL &&
	    opts.tcti == NULL && (env1 == NULL || !*env1) && (env2 == NULL || !*env2)) {
		noted = 1;
		log_debug(1, "keys: the document's keys.tcti is ignored: the TPM is "
		    "/dev/tpmrm0 or /dev/tpm0 unless --tcti or DRSJOIN_TCTI says another");
	}
	return get_tpm(opts.tcti);
}

int
keystore_tcti_ok(const char *spec)
{
	size_t n = spec != NULL ? strlen(spec) : 0, i = 0;
	const char *p;

	if (n == 0 || n > 128)
		return 0;
	if (strncmp(spec, "device:/dev/tpm", 15) == 0) {
		p = spec + 15;
		if (strncmp(p, "rm", 2) == 0)
			p += 2;
		while (p[i] >= '0' && p[i] <= '9')
			i++;
		return i >= 1 && i <= 3 && p[i] == '\0';
	}
	if (strncmp(spec, "swtpm", 5) == 0 || strncmp(spec, "mssim", 5) == 0) {
		p = spec + 5;
		if (*p == '\0')
			return 1;
		if (*p++ != ':')
			return 0;
		return strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.,:=_-") == strlen(p);
	}
	return 0;
}

const char *
keystore_tpm_spec(void)
{
	const char *spec = shared_tpm != NULL ? tpm_spec(shared_tpm) : NULL;

	if (spec != NULL && !keystore_tcti_ok(spec)) {
		log_debug(1, "keys: the TCTI %s is not recorded (status and leave "
		    "need --tcti)", spec);
		return NULL;
	}
	return spec;
}

int
keystore_use_recorded_tcti(const struct json *rec)
{
	const char *spec = json_get_string(rec, "tcti");
	const char *store = json_get_string(json_get_object(rec, "keys"), "store");

	if (spec == NULL || store == NULL || strcmp(store, "tpm") != 0 ||
	    !config_tcti_default())
		return 0;
	if (!keystore_tcti_ok(spec))
		return log_fail(EXIT_IO, "%s/%s: tcti '%.140s' is not a TCTI drsjoin "
		    "records (device:/dev/tpm*, swtpm or mssim); give --tcti",
		    state_path(), IDENTITY_RECORD, spec);
	log_debug(1, "keys: the TPM recorded at join: %s", spec);
	opts.tcti = spec;
	return 0;
}

int
keystore_tpm_info(const struct json *keys, char *buf, size_t n, const char **spec)
{
	struct tpm *tpm = keys_tpm(keys);

	if (tpm == NULL || tpm_info(tpm, buf, n) < 0)
		return -1;
	*spec = tpm_spec(tpm);
	return 0;
}

int
keystore_parse(const char *cmd, const char *s, enum keystore_choice *out)
{
	if (strcmp(s, "auto") == 0)
		*out = KEYSTORE_AUTO;
	else if (strcmp(s, "software") == 0)
		*out = KEYSTORE_SOFTWARE;
	else if (strcmp(s, "tpm") == 0)
		*out = KEYSTORE_TPM;
	else
		return cli_usage(cmd, "--key-store: '%s' is not tpm, software or "
		    "auto", CLI_SHOWN(s));
	return 0;
}

static int
write_key(struct keystore_job *j, const char *name, const void *buf, size_t len,
    char **path)
{
	char *p = util_asprintf("%s/%s", j->tmp_dir, name);

	if (p == NULL)
		return -1;
	if (state_create(p, buf, len, 0600) < 0) {
		free(p);
		return -1;
	}
	free(p);
	*path = util_strdup(name);
	return *path == NULL ? -1 : 0;
}

static int
set_blob(struct keystore_job *j, const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len)
{
	uint8_t blob[BCRYPT_BLOB_LEN];

	if (bcrypt_blob_build(n, n_len, e, e_len, blob) < 0)
		return -1;
	j->blob = b64_encode(blob, sizeof(blob));
	return j->blob == NULL ? -1 : 0;
}

static int
make_software(struct keystore_job *j)
{
	struct key *dk = NULL, *tk = NULL;
	uint8_t n[KEYS_MODULUS_LEN], e[KEYS_EXPONENT_MAX];
	char *pem = NULL;
	size_t len = 0, e_len;
	int rc = -1;

	if (keys_generate_pair(&dk, &tk) < 0)
		goto out;
	if (keys_private_pem(dk, &pem, &len) < 0 ||
	    write_key(j, "device-key.pem", pem, len, &j->device_key) < 0)
		goto out;
	util_free_secret(pem);
	pem = NULL;
	if (keys_private_pem(tk, &pem, &len) < 0 ||
	    write_key(j, "transport-key.pem", pem, len, &j->transport_key) < 0)
		goto out;
	if (keys_public_rsa(tk, n, e, &e_len) < 0 ||
	    set_blob(j, n, sizeof(n), e, e_len) < 0)
		goto out;
	rc = 0;
out:
	util_free_secret(pem);
	keys_free(dk);
	keys_free(tk);
	return rc;
}

static int
make_tpm(struct keystore_job *j)
{
	struct tpm *tpm;
	struct tpm_keyblob dk = { 0 }, tk = { 0 };
	int rc = -1;

	if ((tpm = get_tpm(opts.tcti)) == NULL)
		goto out;
	if (tpm_create_keys(tpm, &dk, &tk) < 0)
		goto out;
	if (write_key(j, "device-key.tpm", dk.data, dk.len, &j->device_key) < 0 ||
	    write_key(j, "transport-key.tpm", tk.data, tk.len, &j->transport_key) < 0 ||
	    set_blob(j, tk.pub.modulus, tk.pub.modulus_len, tk.pub.exponent,
	    tk.pub.exponent_len) < 0)
		goto out;
	rc = 0;
out:
	tpm_keyblob_clear(&dk);
	tpm_keyblob_clear(&tk);
	return rc;
}

#ifdef DRSJOIN_TEST_HOOKS
/*
 * Test builds only: DRSJOIN_TEST_KEYGEN_WAIT_FD=N makes key generation
 * wait for end of file on the inherited descriptor N, as a slow TPM would
 * (the progress test releases it when it has seen the spinner).
 */
static void
test_keygen_wait(void)
{
	const char *s = getenv("DRSJOIN_TEST_KEYGEN_WAIT_FD");
	ssize_t n;
	char c;
	int fd;

	if (s == NULL || (fd = atoi(s)) < 3)
		return;
	while ((n = read(fd, &c, 1)) > 0 || (n < 0 && errno == EINTR))
		;
}
#else
#define test_keygen_wait() ((void)0)
#endif

static void *
run(void *arg)
{
	struct keystore_job *j = arg;

	test_keygen_wait();
	j->rc = j->tpm ? make_tpm(j) : make_software(j);
	return NULL;
}

/* Picks the store on the calling thread: the TPM probe talks to stderr. */
static int
pick_store(enum keystore_choice choice)
{
	int avail;

	if (choice == KEYSTORE_SOFTWARE)
		return 0;
	if (choice == KEYSTORE_TPM)
		return 1;
	if ((avail = tpm_available(opts.tcti)) < 0)
		return -1;
	if (avail)
		log_note("keygen: keys in the TPM");
	else
		log_note("keygen: no usable TPM (-v says why), using software keys");
	return avail;
}

static void
job_free(struct keystore_job *j)
{
	if (j == NULL)
		return;
	free(j->tmp_dir);
	free(j->dir);
	free(j->device_key);
	free(j->transport_key);
	free(j->blob);
	free(j);
}

/*
 * The machine the keys are made on, in their set (machine.h): a join
 * elsewhere (a cloned image, a copied state dir) sees they are copies.
 */
static int
write_machine(struct keystore_job *j)
{
	struct json *m = machine_identity();
	char *text = m != NULL ? json_print(m, JSON_SORT) : NULL, *rel = NULL;
	int rc = -1;

	if (text != NULL && (rel = util_asprintf("%s/%s", j->tmp_dir,
	    KEYSTORE_MACHINE)) != NULL)
		rc = state_create(rel, text, strlen(text), 0600) < 0 ? -1 : 0;
	json_free(m);
	free(text);
	free(rel);
	return rc;
}

int
keystore_start(enum keystore_choice choice, int ephemeral, struct keystore_job **out)
{
	struct keystore_job *j;
	pthread_attr_t attr;
	int err;

	*out = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	j->choice = choice;
	/* The TPM is opened here, so that a missing one fails before any traffic. */
	if ((j->tpm = pick_store(choice)) < 0 || (j->tpm && get_tpm(opts.tcti) == NULL) ||
	    identity_staging_new(ephemeral, &j->tmp_dir, &j->dir) < 0) {
		job_free(j);
		return -1;
	}
	/* musl's default thread stack (128 KiB) is tight for bignum and TPM code. */
	if ((err = pthread_attr_init(&attr)) == 0) {
		pthread_attr_setstacksize(&attr, 512 * 1024);
		err = pthread_create(&j->thread, &attr, run, j);
		pthread_attr_destroy(&attr);
	}
	if (err != 0) {
		state_remove(j->tmp_dir);
		job_free(j);
		return log_fail(EXIT_INTERNAL, "keygen: cannot start a thread: %s",
		    strerror(err));
	}
	*out = j;
	return 0;
}

int
keystore_finish(struct keystore_job *j, struct json *doc)
{
	struct json *k = NULL;
	char *dk = NULL, *tk = NULL, *dir = NULL;
	int rc = -1;

	/* A TPM can take many seconds over RSA keys: say so at a terminal. */
	log_progress_begin(1000, "keygen: making the keys%s", j->tpm ? " in the TPM" : "");
	pthread_join(j->thread, NULL);
	log_progress_end();
	if (j->rc < 0) {
		state_remove(j->tmp_dir);
		goto out;
	}
	if (write_machine(j) < 0 || identity_staging_publish(j->tmp_dir, j->dir) < 0) {
		state_remove(j->tmp_dir);
		goto out;
	}
	if ((dir = state_abs(j->dir)) == NULL ||
	    (dk = util_asprintf("%s/%s", dir, j->device_key)) == NULL ||
	    (tk = util_asprintf("%s/%s", dir, j->transport_key)) == NULL ||
	    (k = json_new_object()) == NULL)
		goto out;
	if (json_set_string(k, "store", j->tpm ? "tpm" : "software") < 0 ||
	    json_set_string(k, "dir", dir) < 0 ||
	    json_set_string(k, "device_key", dk) < 0 ||
	    json_set_string(k, "transport_key", tk) < 0 ||
	    json_set_string(k, "transport_blob", j->blob) < 0)
		goto out;
	if (json_set(doc, "keys", k) < 0) {
		k = NULL;
		goto out;
	}
	k = NULL;
	/* A CSR of an older key would not match. */
	json_remove(doc, "csr");
	rc = 0;
out:
	json_free(k);
	free(dk);
	free(tk);
	free(dir);
	job_free(j);
	return rc;
}

void
keystore_discard(const struct json *doc)
{
	identity_staging_discard(doc_get(doc, "keys", "dir"));
}

/*
 * The key set a "keys" section names, as a path in the state dir: a
 * document's keys.dir, which must be a set of STATE/staging; or, in a
 * record (no dir; doc 0), the set in STATE/identity that its device_key is
 * in.
 * Only the set's name is taken from the section: the files in it are ours,
 * by their fixed names (set_file). New string; NULL (EXIT_INPUT).
 */
static char *
keys_set(const struct json *keys, int doc)
{
	const char *dir = json_get_string(keys, "dir"), *dk, *rel, *slash;
	int r;

	/* csr reads the state dir without opening it otherwise. */
	if (state_path() == NULL && (r = state_open(opts.state_dir, 0)) != 0) {
		if (r == 1)
			log_fail(EXIT_INPUT, "keys: no state dir %s: run 'drsjoin keygen'",
			    opts.state_dir);
		return NULL;
	}
	if (dir != NULL || json_get_string(keys, "device_key") == NULL || doc)
		return identity_staging_check(dir);	/* never crashes on any string */
	/* A record: STATE/identity/SET/<file>. */
	dk = json_get_string(keys, "device_key");
	rel = state_rel_any(dk);
	if (rel != NULL && strncmp(rel, "identity/", 9) == 0 &&
	    (slash = strchr(rel + 9, '/')) != NULL && strchr(slash + 1, '/') == NULL)
		return strndup(rel, (size_t)(slash - rel));
	log_fail(EXIT_INPUT, "keys: %s is not a key file of a set in %s/identity",
	    dk, state_path());
	return NULL;
}

/* The file a store keeps a key in, inside its set. */
static const char *
key_file_name(const char *store, int transport)
{
	if (strcmp(store, "tpm") == 0)
		return transport ? "transport-key.tpm" : "device-key.tpm";
	return transport ? "transport-key.pem" : "device-key.pem";
}

/* Reads one key file of a set (relative to the state dir), following no link. */
static int
set_file(const char *set, const char *name, char **buf, size_t *len)
{
	char *rel = util_asprintf("%s/%s", set, name), *abs = NULL;
	int rc = -1;

	if (rel == NULL || (abs = state_abs(rel)) == NULL)
		goto out;
	if ((rc = state_read(rel, KEY_FILE_MAX, buf, len)) == 1)
		rc = log_fail(EXIT_IO, "%s: %s", abs, strerror(ENOENT));
out:
	free(rel);
	free(abs);
	return rc;
}

static const char *
store_of(const struct json *keys)
{
	const char *s = json_get_string(keys, "store");

	if (s == NULL || (strcmp(s, "software") != 0 && strcmp(s, "tpm") != 0)) {
		log_fail(EXIT_INPUT, "keys: store is %s%s%s, expected software or tpm",
		    s ? "'" : "", s ? s : "missing", s ? "'" : "");
		return NULL;
	}
	return s;
}

/*
 * Loads the device key (transport 0) or the transport key (1) of the set a
 * "keys" section names, from its file or, when given, from those bytes
 * (keystore_read_device: the key of an identity join --force replaced).
 */
static int
load(const struct json *keys, int transport, const char *given, size_t given_len,
    struct keystore_key **out)
{
	struct keystore_key *k = NULL;
	const struct tpm_public *pub;
	const char *store, *name;
	struct tpm *tpm;
	char *buf = NULL, *set = NULL, *what = NULL;
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	/* Bytes read before: their set may be gone or moved (a join rolled back). */
	if ((store = store_of(keys)) == NULL ||
	    (given == NULL && (set = keys_set(keys, 0)) == NULL))
		goto out;
	name = key_file_name(store, transport);
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	if ((what = given != NULL ? util_asprintf("the device key (%s, read before)", name) :
	    util_asprintf("%s/%s/%s", state_path(), set, name)) == NULL)
		goto out;
	if (given != NULL) {
		if ((buf = malloc(given_len + 1)) == NULL) {
			log_fail(EXIT_INTERNAL, "out of memory");
			goto out;
		}
		memcpy(buf, given, given_len);
		buf[given_len] = '\0';
		len = given_len;
	} else if (set_file(set, name, &buf, &len) < 0) {
		goto out;
	}
	if (strcmp(store, "software") == 0) {
		if (keys_load_pem(buf, len, what, &k->key) < 0)
			goto out;
	} else {
		if ((tpm = keys_tpm(keys)) == NULL ||
		    tpm_load_key(tpm, (uint8_t *)buf, len, &k->tkey) < 0)
			goto out;
		pub = tpm_key_public(k->tkey);
		if (keys_from_public_and_signer(pub->modulus, pub->modulus_len,
		    pub->exponent, pub->exponent_len, tpm_sign_sha256,
		    /* Keys of an older drsjoin sign PKCS#1 v1.5 only (TLS 1.2). */
		    pub->pss ? tpm_sign_pss_sha256 : NULL, k->tkey,
		    &k->key) < 0)
			goto out;
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	util_free_secret_buf(buf, len);
	keystore_key_free(k);
	free(set);
	free(what);
	return rc;
}

/*
 * The BCRYPT blob (base64) of the transport key of the set keys names,
 * from the key file itself: a PEM key's public half, or the public area
 * of a TPM blob (no TPM needed). New string; NULL (reported).
 */
static char *
transport_blob_of(const struct json *keys)
{
	struct tpm_public pub;
	struct key *k = NULL;
	uint8_t blob[BCRYPT_BLOB_LEN];
	const char *store, *name;
	char *buf = NULL, *set = NULL, *b64 = NULL, *what = NULL;
	size_t len = 0;
	int ok = 0;

	if ((store = store_of(keys)) == NULL || (set = keys_set(keys, 1)) == NULL)
		goto out;
	name = key_file_name(store, 1);
	if (set_file(set, name, &buf, &len) < 0 ||
	    (what = util_asprintf("%s/%s/%s", state_path(), set, name)) == NULL)
		goto out;
	if (strcmp(store, "software") == 0)
		ok = keys_load_pem(buf, len, what, &k) == 0 &&
		    keys_bcrypt_blob(k, blob) == 0;
	else
		ok = tpm_blob_public((uint8_t *)buf, len, &pub) == 0 &&
		    !pub.sign && bcrypt_blob_build(pub.modulus, pub.modulus_len,
		    pub.exponent, pub.exponent_len, blob) == 0;
	if (!ok && log_exit_code() == 0)
		log_fail(EXIT_IO, "keys: %s is not a transport key", what);
	if (ok)
		b64 = b64_encode(blob, sizeof(blob));
out:
	keys_free(k);
	util_free_secret_buf(buf, len);
	free(set);
	free(what);
	return b64;
}

int
keystore_check_doc(struct json *doc)
{
	struct json *keys = json_get_object(doc, "keys");
	const char *have;
	char *blob = NULL, *set = NULL;
	int rc = -1;

	if (keys == NULL)
		return log_fail(EXIT_INPUT, "keys: the document has no keys; run "
		    "'drsjoin keygen' first");
	if (store_of(keys) == NULL || (set = keys_set(keys, 1)) == NULL ||
	    (blob = transport_blob_of(keys)) == NULL)
		goto out;
	have = json_get_string(keys, "transport_blob");
	if (have != NULL && strcmp(have, blob) != 0) {
		const char *slash = strrchr(set, '/');

		log_fail(EXIT_INPUT, "keys: the document's transport_blob is not the "
		    "transport key of key set %s (changed, or taken from other keys): "
		    "drop it, or run 'drsjoin keygen' again", slash ? slash + 1 : set);
		goto out;
	}
	rc = json_set_string(keys, "transport_blob", blob);
out:
	free(blob);
	free(set);
	return rc;
}

int
keystore_check_machine(const struct json *keys, int accept)
{
	struct json *m = NULL;
	char *set = NULL, *rel = NULL, *buf = NULL, why[128];
	const char *name;
	size_t len = 0;
	int rc = -1, r;

	if ((set = keys_set(keys, 1)) == NULL ||
	    (rel = util_asprintf("%s/%s", set, KEYSTORE_MACHINE)) == NULL)
		goto out;
	name = strrchr(set, '/') != NULL ? strrchr(set, '/') + 1 : set;
	/* A set made before drsjoin recorded the machine: nothing to compare. */
	if ((r = state_read(rel, 4096, &buf, &len)) != 0) {
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	if ((m = json_parse_quiet(buf, len)) == NULL || !json_is_object(m)) {
		log_fail(EXIT_IO, "%s/%s: not a machine record (damaged): run "
		    "'drsjoin keygen' again", state_path(), rel);
		goto out;
	}
	if ((r = machine_differs(m, why, sizeof(why))) <= 0) {
		rc = r;
		goto out;
	}
	if (accept) {
		log_note("join: key set %s was made on another machine (%s): used "
		    "as asked (--accept-copied-keys)", name, why);
		rc = 0;
		goto out;
	}
	log_fail(EXIT_INPUT, "join: key set %s was made on another machine (its %s): "
	    "a cloned image or a copied state dir, and every copy would join "
	    "with the same device key; run 'drsjoin keygen' on this machine (or "
	    "join without the document's keys), or give --accept-copied-keys "
	    "if the keys were copied on purpose", name, why);
out:
	json_free(m);
	free(buf);
	free(set);
	free(rel);
	return rc;
}

int
keystore_load_device(const struct json *keys, struct keystore_key **out)
{
	return load(keys, 0, NULL, 0, out);
}

int
keystore_read_device(const struct json *keys, char **buf, size_t *len)
{
	const char *store;
	char *set;
	int rc;

	*buf = NULL;
	*len = 0;
	if ((store = store_of(keys)) == NULL || (set = keys_set(keys, 0)) == NULL)
		return -1;
	rc = set_file(set, key_file_name(store, 0), buf, len);
	free(set);
	return rc;
}

int
keystore_load_device_bytes(const struct json *keys, const char *buf, size_t len,
    struct keystore_key **out)
{
	return load(keys, 0, buf, len, out);
}

int
keystore_tpm_srk(const struct json *keys, char *buf, size_t n)
{
	struct tpm *tpm = keys_tpm(keys);
	struct tpm_public pub;
	int persistent = 0;

	if (tpm == NULL || tpm_srk_public(tpm, &pub, &persistent) < 0)
		return -1;
	snprintf(buf, n, "%s", persistent ? "0x81000001" :
	    "transient (the TCG RSA-2048 SRK template)");
	return 0;
}

int
keystore_tpm_ready(const struct json *keys)
{
	return keys_tpm(keys) != NULL ? 0 : -1;
}

int
keystore_load_transport(const struct json *keys, struct keystore_key **out)
{
	if (load(keys, 1, NULL, 0, out) < 0)
		return -1;
	/* A TPM transport key decrypts inside the TPM (TPM2_RSA_Decrypt). */
	if ((*out)->tkey != NULL)
		keys_set_decrypter((*out)->key, tpm_rsa_decrypt_oaep, (*out)->tkey);
	return 0;
}

int
keystore_check_transport(const struct json *keys)
{
	struct keystore_key *t = NULL;
	uint8_t blob[BCRYPT_BLOB_LEN];
	const char *want = json_get_string(keys, "transport_blob"), *store;
	char *have = NULL, *set = NULL;
	int rc = -1;

	if (load(keys, 1, NULL, 0, &t) < 0)
		goto out;
	/* The service encrypts to the key it was given at the join. */
	if (want != NULL) {
		if (keys_bcrypt_blob(t->key, blob) < 0 ||
		    (have = b64_encode(blob, sizeof(blob))) == NULL)
			goto out;
		if (strcmp(have, want) != 0) {
			store = store_of(keys);
			set = keys_set(keys, 0);
			log_fail(EXIT_IO, "keys: %s/%s/%s is not the transport key "
			    "the device was registered with (the record's "
			    "transport_blob)", state_path(), set ? set : "?",
			    key_file_name(store ? store : "software", 1));
			goto out;
		}
	}
	rc = 0;
out:
	keystore_key_free(t);
	free(have);
	free(set);
	return rc;
}

struct key *
keystore_key(struct keystore_key *k)
{
	return k->key;
}

void
keystore_key_free(struct keystore_key *k)
{
	if (k == NULL)
		return;
	keys_free(k->key);
	tpm_key_free(k->tkey);
	free(k);
}
