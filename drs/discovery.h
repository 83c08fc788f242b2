/* discovery.h - phase 1: the tenant's registration endpoints. */
#ifndef DRS_DISCOVERY_H
#define DRS_DISCOVERY_H

#include "http.h"
#include "json.h"

/*
 * Discovers tenant (a GUID or a domain name) at the configured discovery URL
 * and writes the document's "tenant" and "discovery" sections. Every field
 * is checked (answer.h); a missing or unusable one is named in the error
 * (EXIT_NETWORK), and so is an answer for another tenant than the one asked
 * for (when a GUID) or than expect_tid (the token's; may be NULL). The
 * request goes without a token; bearer (may be NULL) is sent only when the
 * service answers 401 without it, once, to the same URL.
 */
int discovery_run(struct http_session *s, struct json *doc, const char *tenant,
    const char *expect_tid, const char *bearer);
/*
 * join's discovery. The endpoints the token goes to are never taken from a
 * document: this discovers the tenant again (tenant when not NULL, else the
 * document's tenant.requested, else tid), and a document whose discovery
 * section names other endpoints is refused (EXIT_INPUT, naming the host).
 * tid (the token's, may be NULL when there is no token yet) must be the
 * answer's. On success the document's "tenant" and "discovery" sections are
 * the fresh ones.
 */
int discovery_confirm(struct http_session *s, struct json *doc, const char *tenant,
    const char *tid, const char *bearer);

#endif
