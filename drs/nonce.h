/* nonce.h - phase 2: a nonce from the tenant's nonce service. */
#ifndef DRS_NONCE_H
#define DRS_NONCE_H

#include "http.h"
#include "json.h"

/* Fetches a nonce for the discovered tenant into the "nonce" section. */
int nonce_run(struct http_session *s, struct json *doc);

#endif
