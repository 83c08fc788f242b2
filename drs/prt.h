/* prt.h - "drsjoin prt": a user's Primary Refresh Token (prt.c). */
#ifndef DRS_PRT_H
#define DRS_PRT_H

#include "json.h"

int cmd_prt(int argc, char **argv);
/*
 * The identity record, the state dir locked (with lock: for writing) and the recorded TPM chosen:
 * 0, or -1 (reported; EXIT_NOT_JOINED naming cmd when there is none).
 */
int prt_load_identity(const char *cmd, int lock, struct json **rec);
/*
 * The stored PRT of user (UPN or object id; NULL: the only one): 0 with
 * *r, or -1 (reported; none stored is EXIT_INPUT naming 'drsjoin prt').
 */
int prt_load_stored(const char *user, struct json **r);

#endif
