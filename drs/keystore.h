/*
 * keystore.h - where the device and transport keys live: in the TPM, or in
 * software key files. Makes them into a staging set of the state dir and
 * loads them back from what the document or device.json says.
 *
 * The document's "keys" section (never private key material):
 *   store          "software" or "tpm"
 *   dir            the staging set holding the key files (absolute)
 *   device_key     path of the device key (PEM, or TPM blob)
 *   transport_key  path of the transport key (PEM, or TPM blob)
 *   transport_blob the transport key's BCRYPT_RSAKEY_BLOB, base64
 * A "tcti" member (older versions wrote one) is ignored: the TPM comes from
 * --tcti, DRSJOIN_TCTI, TPM2TOOLS_TCTI or the default devices only.
 */
#ifndef DRS_KEYSTORE_H
#define DRS_KEYSTORE_H

#include <stddef.h>

#include "json.h"

struct key;

enum keystore_choice { KEYSTORE_AUTO, KEYSTORE_SOFTWARE, KEYSTORE_TPM };

/* "auto", "software" or "tpm"; a usage error otherwise. */
int keystore_parse(const char *cmd, const char *s, enum keystore_choice *out);

/*
 * Key generation running in its own thread while the network phases go on.
 * ephemeral: the keys of a one-shot join (see identity_staging_new).
 */
struct keystore_job;
int keystore_start(enum keystore_choice choice, int ephemeral,
    struct keystore_job **job);
/* Waits for the job and writes the "keys" section; frees job. */
int keystore_finish(struct keystore_job *job, struct json *doc);
/* Removes the staging set a job made (a failed one-shot join). */
void keystore_discard(const struct json *doc);

/*
 * The checks every phase that uses a document's keys makes (csr, join):
 * keys.dir must be a key set of this state dir's staging area; the
 * transport blob is computed from the set's transport key and must equal
 * the document's transport_blob (else EXIT_INPUT: it was changed or taken
 * from other keys), which it sets when missing. The document's key paths
 * are never opened. 0 / -1.
 */
int keystore_check_doc(struct json *doc);

/*
 * The machine a key set was made on (machine.h), in the set beside the
 * keys: keygen writes it. keystore_check_machine (join): the set of a
 * document's keys was made on this machine, or before drsjoin recorded
 * it; else EXIT_INPUT naming --accept-copied-keys, or with accept a note.
 */
#define KEYSTORE_MACHINE "machine.json"
int keystore_check_machine(const struct json *keys, int accept);

/* A key loaded for use; for the TPM store it holds the TPM open. */
struct keystore_key;
/*
 * Loads the device key of the set a "keys" section names: a document's
 * keys.dir (a staging set), or for a record (no dir) the identity set its
 * device_key lies in. The file is the set's own (device-key.pem or .tpm);
 * the section's paths are not opened.
 */
int keystore_load_device(const struct json *keys, struct keystore_key **out);
/*
 * The device key's file read into memory, to be loaded later with
 * keystore_load_device_bytes() when the file may be gone (join --force
 * deletes the replaced device after the new identity replaced its files).
 * The bytes may be a private key: util_free_secret_buf(*buf, *len).
 */
int keystore_read_device(const struct json *keys, char **buf, size_t *len);
int keystore_load_device_bytes(const struct json *keys, const char *buf,
    size_t len, struct keystore_key **out);
/*
 * For a record's keys (health.c): the TPM they are in can be opened
 * (EXIT_TPM); the transport key loads (a TPM key under the SRK its blob
 * names) and, when the section has a transport_blob, is that key (EXIT_IO).
 */
/*
 * The transport key of a record's keys, to unwrap the PRT's session key
 * (keys_decrypt_oaep_sha1): a TPM key decrypts inside the TPM.
 */
int keystore_load_transport(const struct json *keys, struct keystore_key **out);
int keystore_tpm_ready(const struct json *keys);
int keystore_check_transport(const struct json *keys);
/* The key to sign or compare with. Borrowed. */
struct key *keystore_key(struct keystore_key *k);
void keystore_key_free(struct keystore_key *k);

/*
 * The TCTI of the TPM this run opened, when drsjoin would record it (see
 * keystore_tcti_ok), else NULL: join writes it to the record as "tcti".
 */
const char *keystore_tpm_spec(void);
/*
 * 1 when spec is a TCTI drsjoin records and reads back: device:/dev/tpmN or
 * device:/dev/tpmrmN, or swtpm/mssim with an optional ":" and a
 * configuration of [A-Za-z0-9.,:=_-] (host=...,port=...), at most 128 bytes.
 */
int keystore_tcti_ok(const char *spec);
/*
 * status and leave: the TPM recorded at join (the record's "tcti", written
 * by drsjoin in the root-only state dir, so drsjoin's own choice) is used
 * when neither --tcti nor DRSJOIN_TCTI/TPM2TOOLS_TCTI chose one; it beats
 * the config file's. A recorded TCTI keystore_tcti_ok refuses is EXIT_IO.
 * rec must outlive the TPM's use.
 */
int keystore_use_recorded_tcti(const struct json *rec);
/* What the TPM holding keys says it is; *spec is borrowed. */
int keystore_tpm_info(const struct json *keys, char *buf, size_t n, const char **spec);
/* The storage root key the TPM keys are under: its handle, or "transient ...". */
int keystore_tpm_srk(const struct json *keys, char *buf, size_t n);
/* Closes the TPM the key store kept open (main, at exit). */
void keystore_cleanup(void);

#endif
