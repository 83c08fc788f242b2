/*
 * machine.h - which machine this is, to catch cloned images and copied
 * state dirs: keys made by keygen in an image, or an identity joined
 * before the image was cloned, would otherwise give every clone the same
 * device key or the same device, silently.
 *
 * Two facts name a machine: /etc/machine-id (systemd's, world-readable; a
 * clone keeps it unless the image was generalised) and the DMI product
 * UUID (/sys/class/dmi/id/product_uuid, readable by root only; a cloned VM
 * gets a new one, a disk moved to new hardware too). Neither is stored as
 * read: systemd asks that the machine id not be exposed, and records and
 * documents get pasted into tickets. Each is stored as an app-specific
 * hash (SHA-256 over a drsjoin label, the fact's name and its value, 128
 * bits in hex), enough to say "not this machine" and nothing more.
 *
 *   {"machine_id": "<32 hex>", "product_uuid": "<32 hex>"}
 *
 * A member is left out when its fact cannot be read (no file, systemd's
 * "uninitialized", a placeholder UUID firmware gives every board, or not
 * root for the UUID).
 */
#ifndef DRS_MACHINE_H
#define DRS_MACHINE_H

#include <stddef.h>

#include "json.h"

#define MACHINE_ID_PATH "/etc/machine-id"
#define MACHINE_DMI_PATH "/sys/class/dmi/id/product_uuid"

/*
 * The files read (test builds: DRSJOIN_TEST_MACHINE_ID and
 * DRSJOIN_TEST_PRODUCT_UUID name others), for the sandbox's rules.
 */
const char *machine_id_path(void);
const char *machine_dmi_path(void);
/* This machine's facts as above: a new object, NULL on no memory (reported). */
struct json *machine_identity(void);
/*
 * 1 when the machine object rec (a record's or a key set's "machine") names
 * another machine than this one: a fact both sides have differs (one this
 * run cannot read is not compared). why gets which ("its /etc/machine-id
 * and DMI product UUID are not this machine's"). 0 when it is this machine
 * or nothing can be compared (rec NULL: an older record or key set). -1 on
 * no memory (reported).
 */
int machine_differs(const struct json *rec, char *why, size_t n);

#endif
