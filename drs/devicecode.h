/*
 * devicecode.h - the device authorization grant (RFC 8628) for a person at
 * another screen.
 *
 * drsjoin asks {authority}/oauth2/v2.0/devicecode for a code (client id,
 * scope LOGIN_DRS_SCOPE), prints the service's message (the verification
 * URL and the user code) on stderr, also under -q, then polls the v2 token
 * endpoint every `interval` seconds (default 5): authorization_pending
 * polls on, slow_down adds 5 s to the interval, authorization_declined and
 * expired_token end it (EXIT_REFUSED), and so does the code's expires_in.
 * At a terminal a countdown line is redrawn on stderr every second; in a
 * pipe, one line per change of state. Ctrl-C (SIGINT) ends the wait with
 * EXIT_INTERRUPTED, after which the caller cleans up as after any failure.
 */
#ifndef DRS_DEVICECODE_H
#define DRS_DEVICECODE_H

#include "http.h"
#include "login.h"

/* Extra seconds of interval a slow_down asks for (RFC 8628, 3.5). */
#define DEVICECODE_SLOW_DOWN_S 5
#define DEVICECODE_INTERVAL_MAX_S 60

/* The device code answer, checked. */
struct devicecode {
	char *device_code;	/* secret */
	char user_code[64];
	char uri[520];		/* verification_uri (v2) or verification_url (v1) */
	char message[1100];	/* the service's, as sent: printed through log_escape */
	long expires_in, interval;	/* numbers, or numeric strings (v1) */
};

/* Reads a 2xx answer into c: 0, or -1 (EXIT_NETWORK) when unusable. */
int devicecode_parse(const struct http_response *rs, struct devicecode *c);
void devicecode_free(struct devicecode *c);

/*
 * Runs the flow: 0 with the access token in *token (util_free_secret), or
 * -1. refresh, when not NULL, gets the answer's refresh token (or NULL):
 * kept in memory to get a new access token in the same run, never stored.
 */
int devicecode_run(struct http_session *s, const struct login_endpoints *ep,
    const char *client_id, char **token, char **refresh);

/*
 * The same flow for drsjoin prt: 0 with the sign-in's refresh token (for
 * client_id, scope LOGIN_DRS_SCOPE with offline_access) in *refresh_token
 * (util_free_secret), the access token dropped; or -1.
 */
int devicecode_run_refresh(struct http_session *s, const struct login_endpoints *ep,
    const char *client_id, char **refresh_token);

#endif
