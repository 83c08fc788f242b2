/*
 * identity.h - the device identity in the state directory.
 *
 *   STATE/device.json           the identity record; writing it commits a join
 *   STATE/identity/SET/         certificate.pem and the keys of that identity
 *   STATE/staging/SET/          keys made by keygen, not joined yet
 *   STATE/staging/.tmp-SET/     a keygen in progress
 *   STATE/staging/.join-SET/    keys of a one-shot join, not committed yet
 *   STATE/device.json.corrupt-TIME, STATE/identity.corrupt-TIME
 *                               a corrupt record and the sets it may have
 *                               named, moved aside (identity_quarantine)
 *
 * SET is a random name (16 hex digits). A join renames its staging set into
 * identity/, writes the certificate there, then replaces device.json
 * atomically; only then is the previous identity's set removed. A run killed
 * at any moment leaves either the old or the new device.json, whole; what no
 * record points at is cleaned up by the next run (identity_cleanup).
 *
 * Everything goes through state.h (one descriptor, no symbolic links): the
 * names below are relative to the state dir ("staging/SET"). device.json
 * holds its paths relative to the state dir too ("identity/SET/..."), so
 * that a state dir moved or mounted elsewhere keeps a usable record; records
 * of older versions hold absolute paths, read as long as they lie in this
 * state dir. A record whose identity_dir is not a set of this state dir is
 * corrupt (identity_load): no cleanup takes the sets here for unused ones.
 * Documents hold absolute paths (state_abs) for people to read. Only the SET
 * name is taken from either.
 */
#ifndef DRS_IDENTITY_H
#define DRS_IDENTITY_H

#include <stddef.h>

#include "json.h"

#define IDENTITY_RECORD "device.json"
#define IDENTITY_CERT "certificate.pem"
/* The largest device.json read back; the writer refuses a bigger one. */
#define IDENTITY_RECORD_MAX_BYTES 262144	/* 256 KiB, spelled for messages */
#define IDENTITY_RECORD_MAX IDENTITY_RECORD_MAX_BYTES

/*
 * Opens the state dir (state_open: absolute, checked). With create, makes
 * it and takes its lock (commands that write); without, 1 when it does not
 * exist (status: not joined). 0 / 1 / -1 (EXIT_IO).
 */
int identity_open(const char *state_dir, int create);
/*
 * A new staging set: *tmp_rel is where the keys are written, and
 * identity_staging_publish() renames it to its final *rel. An ephemeral set
 * (a one-shot join's) is removed by the next identity_cleanup() if no join
 * committed it; a set made by keygen is kept for a later join.
 */
int identity_staging_new(int ephemeral, char **tmp_rel, char **rel);
int identity_staging_publish(const char *tmp_rel, const char *rel);
/*
 * The staging set a document's keys.dir names ("STATE/staging/SET", this
 * state dir's), as a new relative name "staging/SET". Any other path - a
 * joined identity's set, another directory, a link, a name without a slash -
 * is refused: NULL (EXIT_INPUT). Never crashes on any string.
 */
char *identity_staging_check(const char *dir);
/* Removes the staging set keys.dir names, if it is one (a failed one-shot join). */
void identity_staging_discard(const char *dir);
/*
 * Loads device.json: 0 with *rec set, 1 when there is none (not joined),
 * -1 on error (EXIT_IO, naming the file and what is wrong with it).
 * identity_load_quiet() reports nothing and returns IDENTITY_CORRUPT (2)
 * for a record that exists but cannot be used.
 */
int identity_load(struct json **rec);
#define IDENTITY_CORRUPT 2
int identity_load_quiet(struct json **rec);
/* As identity_load_quiet, with what is wrong ("PATH: reason") in why. */
int identity_load_why(struct json **rec, char *why, size_t n);
/*
 * The paths of a record (identity_dir, certificate, keys) made absolute in
 * place, for people: documents and status output. 0 / -1.
 */
int identity_paths_absolute(struct json *rec);
/*
 * The identity set a record names, "identity/SET" (new string), or NULL
 * (EXIT_IO) when its identity_dir is not a set of this state dir.
 */
char *identity_set_of(const struct json *rec);
/*
 * Commits a join: the staging set staging_rel becomes the identity,
 * cert_pem is written into it, rec (its "keys" paths are rewritten to the
 * new place; identity_dir and certificate are set) becomes device.json, and
 * the previous identity's set is removed. A record bigger than
 * IDENTITY_RECORD_MAX is refused before anything moves (EXIT_IO). A failed
 * fsync after the commit rename is reported and the new record kept.
 */
int identity_commit(const char *staging_rel, const char *cert_pem, struct json *rec);
/*
 * Finishes a removal that was interrupted after its commit point, then
 * removes temporaries and sets no record points at (none under a corrupt
 * record). -1 (EXIT_IO) when the state dir's layout is wrong or the
 * interrupted removal cannot be finished.
 */
int identity_cleanup(void);
/*
 * Moves an unusable device.json aside as device.json.corrupt-TIME, and
 * identity/ (the sets it may name) as identity.corrupt-TIME, so that a new
 * join can start while nothing a person may want back is deleted. Says so
 * (log_note). For join --force and leave --local-only. 0 / -1 (EXIT_IO).
 */
int identity_quarantine(void);
/* As identity_quarantine; *sets gets "identity.corrupt-TIME" when identity/ moved (else NULL). */
int identity_quarantine_sets(char **sets);
/*
 * Removes the stored identity rec (as identity_load gave it), all or
 * nothing, following no link: its set identity/SET is renamed to
 * identity/.remove-SET and that fsync'd - the commit point, from which on
 * identity_load says not joined; then the device key goes (if it cannot,
 * the set is put back and the identity stands whole), the set's other files
 * (certificate, transport key; TPM blobs too: nothing is kept inside the
 * TPM), device.json with the state dir fsync'd, and last the empty set. A
 * run killed at any moment leaves the whole identity or one being removed,
 * which the next identity_cleanup() finishes. A set that is a link or not a
 * directory is refused, nothing removed. 0 / -1 (EXIT_IO).
 */
int identity_remove(const struct json *rec);

/* The public record (pubrec.h): status.json, for status as a user. */
#define IDENTITY_PUBLIC "status.json"
/* Removes the public record; 0 when gone or never there, -1 (errno). */
int identity_public_remove(void);

#endif
