/*
 * leave.h - deleting a device from its tenant with its own certificate and
 * key ("drsjoin leave", and the device a "join --force" replaced).
 */
#ifndef DRS_LEAVE_H
#define DRS_LEAVE_H

#include "json.h"

/*
 * The replaced identity of a join --force, read into memory before the new
 * join replaces its files: the record, the certificate, the device key's
 * file. 0 / -1 (reported).
 */
struct leave_old;
int leave_keep_old(const struct json *rec, struct leave_old **out);
/*
 * After the new identity is committed: deletes the old device from its
 * tenant, best effort. A failure is one warning line naming the device id
 * and why, never an error; nothing is deleted when the service gave the new
 * identity the same device id (new_id).
 */
void leave_delete_old(struct leave_old *o, const char *new_id);
/*
 * join --force over a corrupt record, moved aside with its sets to qdir
 * ("identity.corrupt-TIME", relative to the state dir): the replaced
 * device, as the one certificate there names it, is named in a note; with
 * keep_device and a device key there that loads and is the certificate's,
 * *out is set, to be deleted like the replaced device of a usable record
 * (leave_old_endpoint first: the host is the new join's). Otherwise *out
 * stays NULL and the note says the device stays in the tenant.
 * 0 / -1 (out of memory).
 */
int leave_keep_quarantined(const char *qdir, int keep_device, struct leave_old **out);
/* Sets the endpoints a kept identity lacks (its record was unusable). */
int leave_old_endpoint(struct leave_old *o, const struct json *discovery);
/*
 * The device a join has just created, held before its identity is
 * committed: rec (the record to be committed), the certificate, and the
 * device key's file read from the staging set keys (a document's "keys"
 * section) into memory, so that the device can still be deleted when the
 * commit fails half-way, wherever its files then are. 0 / -1 (reported).
 */
int leave_hold_new(const struct json *rec, const struct json *keys,
    const char *cert_pem, struct leave_old **out);
/*
 * A join whose identity could not be stored (commit_error, its exit code
 * code): deletes the device it created again, with the certificate and
 * key held in o (NULL: none could be held), and reports one line: the
 * commit error, then that the device was deleted, or that it stays (its id,
 * tenant and client-request-id, the deletion's error, how to delete it).
 * A signal held over the join (sigdefer_pending) gives the exit code then.
 * Always -1.
 */
int leave_undo_join(const struct json *rec, struct leave_old *o,
    const char *commit_error, int code);
/* Wipes the key bytes and frees; NULL is fine. */
void leave_old_free(struct leave_old *o);

#endif
