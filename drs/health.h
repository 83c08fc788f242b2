/*
 * health.h - is the stored identity usable? The one check that "status" and
 * a re-run of "join" both make, so that they cannot disagree: a machine
 * that "join" calls already joined can authenticate with what it holds.
 */
#ifndef DRS_HEALTH_H
#define DRS_HEALTH_H

#include <time.h>

#include "json.h"
#include "log.h"

struct health {
	struct json *rec;	/* device.json, when it loaded (owned) */
	int have_cert;		/* the certificate parsed: not_after is set */
	time_t not_after;
	/*
	 * 0: usable. EXIT_IO: damaged (--force or leave --local-only is the
	 * way out). EXIT_TPM: the TPM holding the keys could not be opened,
	 * so nothing is known about them (a wrong --tcti, a TPM not ready).
	 */
	int code;
	char reason[LOG_LINE_MAX];	/* what is wrong: one escaped line */
};

/*
 * With the state dir open: loads device.json and checks, the first failure
 * winning: the record (it loads, names a set of identity/ and a key store,
 * and was joined on this machine when it says which: machine.h);
 * the certificate (it reads and parses, is the record's thumbprint and
 * device id, and is valid now: an expired certificate is unusable); the
 * TPM opens (TPM keys); the device key loads (a TPM key under the SRK its
 * blob names) and its public part is the certificate's; the transport key
 * loads and is the one registered. Nothing is printed or recorded.
 * 1: no identity stored (nothing set). 0: h filled in, h->code says
 * whether it is usable. -1: out of memory (reported).
 */
int health_check(struct health *h);
/* Reports h (not usable) once, as cmd's error, with the way out. Returns -1. */
int health_fail(const char *cmd, const struct health *h);
void health_free(struct health *h);

#endif
