/*
 * prtstore.h - the users' Primary Refresh Tokens stored in the state dir
 * (issue 25; protocol.md, "After the join: the Primary Refresh Token").
 *
 *   STATE/prt/OID.json   one user's PRT (0600, replaced atomically)
 *
 * OID is the user's object id (a GUID, lower case). A record is a JSON
 * object:
 *   schema           "drsjoin-prt/1"
 *   oid, upn, name   the user (upn and name from the id_token: display only)
 *   tenant_id        the device's tenant (checked against the answer)
 *   device_id        the device that got it
 *   prt              the PRT (secret)
 *   session_key_jwe  the session key wrapped to the transport key (RSA-OAEP):
 *                    it never rests in plain text; prtstore_session_key()
 *                    unwraps it for each use (in the TPM for TPM keys)
 *   obtained, renewed, expires   UTC, ISO 8601 ("2026-12-07T09:30:00Z")
 *   obtained_at, renewed_at, expires_at   the same as seconds since 1970
 *
 * Records are read back as outside input: every member of its kind and
 * within its limit, the file name the record's oid, else EXIT_IO naming the
 * file. Records (struct json) hold the PRT: json_free wipes them.
 */
#ifndef DRS_PRTSTORE_H
#define DRS_PRTSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "json.h"
#include "kdf.h"

#define PRTSTORE_DIR		"prt"
#define PRTSTORE_SCHEMA		"drsjoin-prt/1"
#define PRTSTORE_RECORD_MAX	(256 * 1024)
/* The longest PRT and session_key_jwe taken from an answer or a record. */
#define PRTSTORE_PRT_MAX	(32 * 1024)
#define PRTSTORE_JWE_MAX	4096

/* UTC time as "YYYY-MM-DDTHH:MM:SSZ" into out (>= 21 bytes). */
void prtstore_time_text(time_t t, char *out, size_t n);
/* Sets a time member as both its text (key) and number (key_at). 0 / -1. */
int prtstore_set_time(struct json *r, const char *key, time_t t);
/* A record's time member key_at, or 0. */
time_t prtstore_time(const struct json *r, const char *key);

/*
 * Writes r as prt/OID.json (0600, state_replace), making prt/ (0700) when
 * missing. 0 / -1 (EXIT_IO; the previous record stands).
 */
int prtstore_save(const struct json *r);
/*
 * The record of user: an object id, or a UPN (any letter case); with user
 * NULL, the only record stored (more than one: EXIT_USAGE, naming them).
 * 0 with *r, 1 when there is none (not reported), -1 (reported).
 */
int prtstore_load(const char *user, struct json **r);
/*
 * Removes the temporaries a killed run left in prt/ and tokens/ (the
 * caller holds the state dir's lock). Best effort, silent but at -v.
 */
void prtstore_cleanup(void);
/*
 * Removes prt/OID.json and the access tokens cached with it (tokens/OID):
 * 0, 1 when there was none, -1 (EXIT_IO).
 */
int prtstore_remove(const char *oid);
/*
 * Removes every stored PRT (leave, join --force), and the access tokens
 * cached with them. 0 / -1 (EXIT_IO).
 */
int prtstore_remove_all(void);
/*
 * The same for leave and join (after their commit): a failure is a note
 * naming cmd, never an error of the command that already succeeded.
 */
void prtstore_forget(const char *cmd);
/*
 * Every stored record (status), as an array of their summaries; a record
 * that cannot be read is an entry with "file" and "error". 0 / -1.
 */
int prtstore_list(struct json **arr);
/* What may be shown of r: user, oid, name, tenant, device, the times. */
struct json *prtstore_summary(const struct json *r);

/*
 * The session key of r, unwrapped with the transport key of the identity
 * keys (the record's "keys" section: software, or inside the TPM). The
 * caller wipes key. 0 / -1 (reported; a session_key_jwe that does not
 * unwrap is EXIT_IO: the stored PRT belongs to other keys).
 */
int prtstore_session_key(const struct json *keys, const struct json *r,
    uint8_t key[KDF_KEY_LEN]);

#endif
