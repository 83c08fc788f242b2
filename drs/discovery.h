/* discovery.h - phase 1: the tenant's registration endpoints. */
#ifndef DRS_DISCOVERY_H
#define DRS_DISCOVERY_H

#include "http.h"
#include "json.h"

/*
 * Discovers tenant (a GUID or a domain name) and writes the document's
 * "tenant" and "discovery" sections. bearer may be NULL. A required endpoint
 * missing from the answer is named in the error (EXIT_NETWORK).
 */
int discovery_run(struct http_session *s, struct json *doc, const char *tenant,
    const char *bearer);
/* 1 when tenant is a GUID or a plausible domain name, else 0. */
int discovery_tenant_ok(const char *tenant);

#endif
