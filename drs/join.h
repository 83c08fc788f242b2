/* join.h - phase 5 and the one-shot join. */
#ifndef DRS_JOIN_H
#define DRS_JOIN_H

#include <stddef.h>
#include <time.h>

#include "json.h"

/* "2036-11-22T03:12:00Z" */
void join_time_text(time_t t, char *buf, size_t n);

/* The request body of protocol.md, Phase 5, from a complete document. */
struct json *join_body(const struct json *doc, int join_type,
    const char *display_name, const char *target_domain, const char *os);

#endif
