/*
 * prtrequest.h - the requests of the PRT protocol (MS-OAPXBC; protocol.md,
 * "After the join: the Primary Refresh Token"), on the v1 token endpoint of
 * the device's tenant:
 *   - srv_challenge (the nonce),
 *   - the PRT request: an RS256 JWT signed by the device key with its
 *     certificate in x5c, answered with the PRT and the session key wrapped
 *     to the transport key,
 *   - a request with the PRT: an HS256 JWT signed with the key derived from
 *     the session key, answered with a JWE encrypted with it (an access
 *     token, or with scope "aza" a renewed PRT),
 *   - the device-only request (status --check: does this device still
 *     authenticate?).
 *
 * Trust: requests go only to https://<the login host of the cloud whose
 * registration service the device joined through>/<the device's tenant>/
 * oauth2/token, or, for a device joined through another service (the
 * emulator), to that service's origin when --discovery-url (or
 * DRSJOIN_DISCOVERY_URL) names it now. Every answer is hostile input: each
 * member by kind and limit (answer.h), the JWEs strictly (jwe.h), the
 * id_token (unsigned) for display only; its tenant must be the device's.
 */
#ifndef DRS_PRTREQUEST_H
#define DRS_PRTREQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http.h"
#include "json.h"
#include "kdf.h"

#define PRTREQ_PASSWORD_CLIENT_ID "38aa3b87-a06d-4817-b275-7a316988d93b"
/* The most seconds a PRT or access token answer may say it lives. */
#define PRTREQ_LIFETIME_MAX (400L * 86400)

/*
 * The token endpoint for the device record rec, as above. New string;
 * NULL (EXIT_USAGE when the device joined through a service that is not
 * named now).
 */
char *prtreq_url(const struct json *rec);

enum prtreq_cred { PRTREQ_REFRESH_TOKEN, PRTREQ_PASSWORD };

/*
 * A new PRT for the user of the credential (a refresh token of the broker
 * client, or a user name and password), requested with the device key of
 * rec: *out is the store record (prtstore.h) for rec's device and tenant.
 * 0 / -1 (reported: EXIT_REFUSED for a refusal, EXIT_NETWORK for an unusable
 * answer).
 */
int prtreq_get(struct http_session *s, const char *url, const struct json *rec,
    enum prtreq_cred kind, const char *secret, const char *username,
    struct json **out);
/*
 * The store record from a PRT answer body (200, JSON), checked as above
 * against the device's tenant and id. Pure, for the fuzz target. 0 / -1
 * (EXIT_NETWORK).
 */
int prtreq_parse_answer(const char *body, size_t len, const char *tenant,
    const char *device_id, time_t now, struct json **out);

/*
 * A request with the PRT of the store record prt: claims (the caller's:
 * client_id, resource or scope, ...) get grant_type, refresh_token,
 * request_nonce, iss, aud, iat and exp, are signed HS256 with the session
 * key (unwrapped with rec's transport key for this request, then wiped),
 * and the JWE answer is decrypted: *plain is its JSON, checked to be an
 * object whose id_token and access_token name rec's tenant. 0 / -1.
 */
int prtreq_use(struct http_session *s, const char *url, const struct json *rec,
    const struct json *prt, struct json *claims, struct json **plain);
/*
 * Renews the PRT of prt in place (a new prt, renewed, expires; the session
 * key stays). 0 / -1.
 */
int prtreq_renew(struct http_session *s, const char *url, const struct json *rec,
    struct json *prt);
/*
 * status --check: the device-only request (grant_type device_token, signed
 * by the device key, as roadlib's get_token_for_device). 0 with *state
 * "ok", "disabled" or "deleted"; -1 for any other failure (reported).
 */
int prtreq_device_check(struct http_session *s, const char *url,
    const struct json *rec, const char **state);
/*
 * The browser SSO cookie x-ms-RefreshTokenCredential of prt: an HS256 JWT
 * (no typ, kdf_ver 2) of refresh_token, request_nonce (a fresh
 * srv_challenge nonce, in *nonce) and is_primary. Both util_free_secret.
 * 0 / -1.
 */
int prtreq_cookie(struct http_session *s, const char *url, const struct json *rec,
    const struct json *prt, char **value, char **nonce);
/*
 * The seconds a member says (a JSON number or a string of digits, as the
 * service sends both), 1..PRTREQ_LIFETIME_MAX. 0 / -1 (EXIT_NETWORK).
 */
int prtreq_seconds(const struct json *o, const char *key, int required,
    long *out);

#endif
