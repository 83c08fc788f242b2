/*
 * pubrec.h - the public record: STATE/status.json, world-readable (0644),
 * so that "drsjoin status" works for a user who is not root, as dsregcmd
 * /status does. It holds only what is no secret: device id, tenant, join
 * type, display name, join time, the certificate's thumbprint and dates,
 * the key store, the health as root last found it and when, and the
 * machine-id hash (machine.h), so that a copy of it on a clone is told too.
 * join writes it when it commits (and a re-run that finds the identity
 * usable), root's status when what it found differs from it; leave and a
 * quarantined record remove it. The state dir is made traversable (0711)
 * for it: others can open status.json by name, list or open nothing else.
 */
#ifndef DRS_PUBREC_H
#define DRS_PUBREC_H

#include "identity.h"
#include "json.h"

#define PUBREC_FILE IDENTITY_PUBLIC

/*
 * With the state dir open: writes the public record of rec (device.json)
 * with its health (reason NULL when healthy) unless status.json already
 * says the same; rec NULL (device.json cannot be used): status.json's own
 * facts, unhealthy for reason. Best effort: a failure is a note (loud: a warning line;
 * else at -v only). locked: the caller holds the state dir's lock; else it
 * is tried before status.json is read, and when another drsjoin holds it,
 * or device.json changed since rec was read (rec NULL: became usable),
 * nothing is written. The state dir is opened to users (0711) also when
 * status.json already says the same (an admin's chmod 0700 undone, as the
 * line a user gets for it says).
 */
void pubrec_update(const struct json *rec, const char *reason, int locked, int loud);
/*
 * With the state dir open and no identity stored: removes a status.json
 * left by a removal killed past its commit point (root's status, which
 * runs no cleanup), under the lock when no other drsjoin holds it.
 */
void pubrec_forget(void);
/*
 * status for a user who is not root and cannot open the state dir: 1 when
 * it can be opened after all, or does not exist (status goes the usual
 * way); 0 with *doc the status document made from status.json (healthy
 * false, with the reason, when root found it so, when the certificate has
 * expired since, or when it was written on another machine); 2 when there
 * is no status.json (not joined); -1 when it cannot be read (reported).
 */
int pubrec_load(const char *state_dir, struct json **doc);

#endif
