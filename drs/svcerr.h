/*
 * svcerr.h - one line for an error answer of the service.
 *
 * Shapes understood (keys in any letter case):
 *   DRS:         {"ErrorType", "Message", "TraceId", "Time"}
 *   DRS (newer): {"code", "subcode", "message", "requestId", "time"}
 *   login:       {"error", "error_description", "error_codes", "trace_id",
 *                 "correlation_id"}
 *   Graph-like:  {"error": {"code", "message",
 *                 "innerError": {"request-id", "client-request-id"}}}
 *
 * The line, without the "drsjoin: " log_fail adds:
 *   <phase>: server answered <status> <type>: <message> (trace id <id>, client-request-id <crid>)
 * where <type> is ErrorType, code[/subcode] or error; a part that is absent
 * is left out with its punctuation; the login shape's correlation id is
 * shown as ", correlation id <id>" when it differs from the
 * client-request-id. Field values are made one printable ASCII line (white
 * space runs become one space, other bytes \xNN) and cut: a message after
 * SVCERR_MESSAGE_MAX bytes, the other fields after SVCERR_FIELD_MAX, with
 * "...".
 *
 * A body that is empty:
 *   <phase>: server answered <status> with an empty body (client-request-id <crid>)
 * A body that is not JSON, or JSON in none of the shapes above:
 *   <phase>: server answered <status>, not JSON (<content type>, <n> bytes): <excerpt> (client-request-id <crid>)
 *   <phase>: server answered <status>, no error details (<content type>, <n> bytes): <excerpt> (client-request-id <crid>)
 * Every field and the excerpt are redacted first (redact.h: secret keys'
 * values, "KEY=value" echoes, token-looking runs), as -vvv shows bodies.
 * <excerpt> is the first SVCERR_EXCERPT_MAX bytes of that, sanitised with
 * escapes (\n, \r, \t, \xNN), followed by "..." when cut; the content type
 * is left out when unknown.
 *
 * Pure: no network, no log_fail (the caller reports the line).
 */
#ifndef DRS_SVCERR_H
#define DRS_SVCERR_H

#include <stddef.h>

#define SVCERR_EXCERPT_MAX 120
#define SVCERR_MESSAGE_MAX 400
#define SVCERR_FIELD_MAX 100
/* Enough for every line svcerr_format writes, uncut. */
#define SVCERR_LINE_MAX 2048

/*
 * Writes the line into out (outsz > 0, always NUL-terminated; SVCERR_LINE_MAX
 * holds any line). phase names the operation ("join"); content_type and
 * request_id (the client-request-id sent) may be NULL. body need not be
 * NUL-terminated. Returns out.
 */
char *svcerr_format(char *out, size_t outsz, const char *phase, long status,
    const char *body, size_t len, const char *content_type,
    const char *request_id);

#endif
