/*
 * identity.h - the device identity in the state directory.
 *
 *   STATE/device.json           the identity record; writing it commits a join
 *   STATE/identity/SET/         certificate.pem and the keys of that identity
 *   STATE/staging/SET/          keys made by keygen, not joined yet
 *   STATE/staging/.tmp-SET/     a keygen in progress
 *   STATE/staging/.join-SET/    keys of a one-shot join, not committed yet
 *
 * SET is a random name. A join renames its staging set into identity/,
 * writes the certificate there, then replaces device.json atomically; only
 * then is the previous identity's set removed. A run killed at any moment
 * leaves either the old or the new device.json, whole; what no record points
 * at is cleaned up by the next run (identity_cleanup).
 */
#ifndef DRS_IDENTITY_H
#define DRS_IDENTITY_H

#include <stddef.h>

#include "json.h"

#define IDENTITY_RECORD "device.json"
#define IDENTITY_CERT "certificate.pem"

/* Creates STATE and takes its lock: 0 / -1 (EXIT_IO). */
int identity_open(const char *state_dir);
/*
 * A new staging set: *tmp_dir is where the keys are written, and
 * identity_staging_publish() renames it to its final *dir. An ephemeral set
 * (a one-shot join's) is removed by the next identity_cleanup() if no join
 * committed it; a set made by keygen is kept for a later join.
 */
int identity_staging_new(const char *state_dir, int ephemeral, char **tmp_dir,
    char **dir);
int identity_staging_publish(const char *tmp_dir, const char *dir);
/*
 * Loads device.json: 0 with *rec set, 1 when there is none (not joined),
 * -1 on error (EXIT_IO, naming the file).
 */
int identity_load(const char *state_dir, struct json **rec);
/*
 * Commits a join: the staging set dir becomes the identity, cert_pem is
 * written into it, rec (its "keys" paths are rewritten to the new place)
 * becomes device.json, and the previous identity's set is removed.
 */
int identity_commit(const char *state_dir, const char *staging_dir,
    const char *cert_pem, struct json *rec);
/*
 * Checks that dir (from a document) is a key set in STATE/staging, not a
 * link, not anything else: EXIT_INPUT otherwise.
 */
int identity_staging_check(const char *state_dir, const char *dir);
/* Removes temporaries and sets no record or document points at. */
int identity_cleanup(const char *state_dir);

#endif
