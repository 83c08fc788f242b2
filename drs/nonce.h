/* nonce.h - phase 2: a nonce from the tenant's nonce service. */
#ifndef DRS_NONCE_H
#define DRS_NONCE_H

#include "http.h"
#include "json.h"

/*
 * Fetches a nonce for the discovered tenant into the "nonce" section. The
 * request goes without a token; bearer (may be NULL) is sent only when the
 * service answers 401 without it. The caller makes sure the document's
 * nonce endpoint came from discovery when it passes a bearer. Returns 0;
 * 1 when discovery recorded that the tenant has no nonce service (nothing
 * fetched, nothing reported); -1 when reported.
 */
int nonce_run(struct http_session *s, struct json *doc, const char *bearer);

#endif
