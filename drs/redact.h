/*
 * redact.h - what -v may show of a request or an answer.
 *
 * The rule (one rule for headers, URLs, form bodies and JSON bodies):
 *
 * - Header lines: Authorization and Proxy-Authorization keep their scheme and
 *   lose their credentials ("Authorization: Bearer <redacted>"); the value of
 *   Cookie, Set-Cookie and of any header whose name contains "token" or
 *   "secret" becomes "<redacted>"; Location and Content-Location URLs have
 *   their query redacted as below.
 * - A key is secret when, ignoring letter case, it
 *     ends with "token"          (token, access_token, refresh_token, id_token)
 *     contains "nonce", "secret", "password" or "assertion"
 *     is "value"                 (the nonce answer's Value)
 *     is "device_code", "Authorization" or "PreAuthorizedJoinChallenge"
 *     is "code", in a URL query or a form body only (an OAuth2 authorization
 *                                 code; in JSON, "code" is an error code).
 * - The value of a secret key becomes "<redacted>" (an empty value stays
 *   empty, so "the token was empty" can still be seen). In JSON this applies
 *   to string values of secret keys; in URL queries and form bodies to the
 *   value of a secret parameter.
 * - Anywhere (headers, URLs, bodies of any type, service error excerpts and
 *   messages), whatever its key:
 *   - "KEY=value" with a secret KEY (a form echoed back in an error) keeps
 *     "KEY=" and the value, up to & " ' < > , ; or white space, becomes
 *     "<redacted>";
 *   - a run of token characters (A-Z a-z 0-9 - _ . + / = % ~ * ! $) that
 *     redact_looks_token() takes for a token becomes "<redacted>".
 * - In JSON, other string values longer than REDACT_LONG_STRING characters
 *   (a CSR, a certificate, a transport key) are shortened to their first 32
 *   characters followed by "...(N chars)".
 * - What is shown is then made one printable ASCII line (redact_sanitize),
 *   and a body is cut after REDACT_BODY_MAX bytes of output.
 *
 * Never shown, then: a bearer token, a refresh token, a nonce, an
 * authorization or device code, a password or client secret.
 * All functions are pure; none reports through log_fail.
 */
#ifndef DRS_REDACT_H
#define DRS_REDACT_H

#include <stddef.h>

#define REDACT_MARK "<redacted>"
#define REDACT_LONG_STRING 256
#define REDACT_BODY_MAX 1500

/*
 * 1 when s (n bytes of token characters) may be a token: it holds "eyJ"
 * (a JWT or JWE header) and is 16 or more long; or, taken whole or split at
 * / + . = % ~ * ! $ (standard base64, dotted parts), a part mixes upper and
 * lower case and changes between upper case, lower case and digits at 45%
 * or more of 16 or more adjacent letter/digit pairs, as random base64 does
 * (about 65%) and words, paths, host names, GUIDs and hex do not.
 */
int redact_looks_token(const char *s, size_t n);

/*
 * An argument (a command-line value, a file name, a URL) as an error may
 * echo it: arg itself, unless a run of token characters in it looks like a
 * token (redact_looks_token) or holds a word of more than
 * REDACT_ARG_WORD_MAX characters without - / or . (a hex or base64 secret;
 * paths, host names and GUIDs have none); then, written into buf,
 * "PREF...(N characters, not shown)", where PREF is its first
 * REDACT_ARG_PREFIX characters when it is at least 8 times as long, else
 * nothing. The one function for echoing arguments (cli.h CLI_SHOWN).
 */
#define REDACT_ARG_WORD_MAX 32
#define REDACT_ARG_PREFIX 4
#define REDACT_ARG_BUF 64
const char *redact_arg(const char *arg, char *buf, size_t bufsz);

/* 1 when key (klen bytes) names a secret; form: in a URL query or form body. */
int redact_is_secret_key(const char *key, size_t klen, int form);

/*
 * Writes len bytes of in as one printable ASCII line into out (outsz > 0;
 * always NUL-terminated): bytes 0x20..0x7e are kept, \n \r \t become the two
 * characters "\n" "\r" "\t" (or, with spaces set, runs of them one space),
 * any other byte "\xNN". Stops before an escape that would not fit.
 * Returns the number of input bytes written out (< len when cut).
 */
size_t redact_sanitize(char *out, size_t outsz, const char *in, size_t len,
    int spaces);

/*
 * The following return a new NUL-terminated string the caller frees, or NULL
 * when out of memory (not reported: a -v line is then left out).
 */

/* One header line (trailing CR/LF dropped), redacted and sanitised. */
char *redact_header(const char *line, size_t len);
/*
 * A URL, or a request line "GET /path?query HTTP/1.1": the query redacted,
 * and user information ("https://user:password@host") too.
 */
char *redact_url(const char *url, size_t len);
/* An application/x-www-form-urlencoded body; not sanitised. */
char *redact_form(const char *body, size_t len);
/*
 * A JSON text (also when cut short or invalid: it is scanned, not parsed);
 * not sanitised. Cut at a NUL byte, which JSON text cannot hold.
 */
char *redact_json(const char *text, size_t len);
/* Free text (a service's error message): the anywhere rules; not sanitised. */
char *redact_text(const char *text, size_t len, size_t *outlen);
/*
 * An answer's body, redacted by content type (NULL allowed): JSON, form,
 * or other text (the anywhere rules only); not sanitised, not cut.
 */
char *redact_answer(const char *content_type, const char *body, size_t len,
    size_t *outlen);
/*
 * A body for -v -v: redact_answer(), then sanitised and cut to
 * REDACT_BODY_MAX with "...(N bytes)". Error excerpts (svcerr.c,
 * answer.c) are cut from the same redaction.
 */
char *redact_body(const char *content_type, const char *body, size_t len);

#endif
