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
/* Wipes the key bytes and frees; NULL is fine. */
void leave_old_free(struct leave_old *o);

#endif
