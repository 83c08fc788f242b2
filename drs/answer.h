/*
 * answer.h - what drsjoin takes from the service's answers, checked field by
 * field before it is used or stored (discovery.c, nonce.c, join.c).
 *
 * The service is reached over verified TLS, but what it says is still
 * outside input: a compromised or impostor endpoint, a captive proxy with a
 * trusted certificate, or a bug. So every string member is
 *
 * - of its type (a number where a string is expected is refused; null is
 *   the same as absent),
 * - valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF),
 * - free of control characters (C0, DEL, C1) and of the bidirectional
 *   controls (U+202A-U+202E, U+2066-U+2069) that can make a line on a
 *   terminal say something else,
 * - 1 to max bytes long,
 *
 * and of its kind: ANSWER_URL a well-formed https URL (answer_url_ok),
 * ANSWER_GUID a GUID, ANSWER_WORD printable ASCII without spaces (versions,
 * thumbprints, base64).
 *
 * A failure is an unusable answer, EXIT_NETWORK, one line naming the phase,
 * the field and what was wrong, e.g.
 *   discover: TenantInfo.TenantName in the answer is 921600 bytes, more than 256
 *   discover: DeviceJoinService.JoinEndpoint in the answer is not a usable https URL: a line break at byte 31
 * A required member that is absent or empty:
 *   discover: the answer has no DeviceJoinService.JoinEndpoint
 */
#ifndef DRS_ANSWER_H
#define DRS_ANSWER_H

#include <stddef.h>

#include "http.h"
#include "json.h"

/* Limits per field, in bytes. */
#define ANSWER_URL_MAX		2048	/* endpoints */
#define ANSWER_NAME_MAX		256	/* domain names, resource ids */
#define ANSWER_TEXT_MAX		1024	/* display names, UPNs */
#define ANSWER_WORD_MAX		64	/* service versions */
#define ANSWER_CERT_MAX		32768	/* a certificate's base64 (24 KiB of DER) */
/* Bytes of a body shown when it is not the JSON expected. */
#define ANSWER_EXCERPT_MAX	80

enum answer_kind {
	ANSWER_TEXT,	/* UTF-8 text */
	ANSWER_URL,	/* an https URL */
	ANSWER_GUID,	/* 8-4-4-4-12 hex digits */
	ANSWER_WORD,	/* printable ASCII, no space */
	ANSWER_VERSION,	/* letters, digits, '.', '-' (it goes into a query) */
};

/*
 * The body of a 2xx answer as a JSON object. NULL (reported, EXIT_NETWORK)
 * when it is empty, not JSON or not an object, with the HTTP status, the
 * Content-Type, the size and the first ANSWER_EXCERPT_MAX bytes escaped, so
 * that a captive proxy's HTML page is recognised at a glance:
 *   discover: the answer: not valid JSON at byte 0 (HTTP 200, text/html, 5120 bytes): <!DOCTYPE html>\n<html>...
 */
struct json *answer_parse(const char *phase, const struct http_response *rs);

/*
 * The member key (any letter case) of obj, checked as above. where names
 * obj in messages ("DeviceJoinService"), or is NULL for the top level.
 * Returns 0 with *out borrowed from obj, or NULL when the member is absent
 * and not required; -1 when reported. obj may be NULL (then the member is
 * absent).
 */
int answer_string(const char *phase, const struct json *obj, const char *where,
    const char *key, enum answer_kind kind, size_t max, int required,
    const char **out);

/*
 * 1 when the len bytes at s are text as above (UTF-8, no control
 * characters); else 0, and why (whysz > 0) says what and at which byte.
 */
int answer_text_ok(const char *s, size_t len, char *why, size_t whysz);
/*
 * 1 when s is a usable https URL: "https://" (any case), a host name
 * (letters, digits, '-', '.') or a bracketed IPv6 literal, an optional port
 * 1-65535, then an optional path and query of printable ASCII; no user
 * information, no fragment, no space, no control character, none of
 * "<>\^`{|}. Else 0 and why.
 */
int answer_url_ok(const char *s, char *why, size_t whysz);
/* The "host" or "host:port" of an https URL, escaped and cut, for messages. */
void answer_url_host(const char *url, char *out, size_t outsz);

#endif
