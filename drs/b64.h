/*
 * b64.h - base64 (RFC 4648 section 4, with padding) and base64url (section 5,
 * without padding), our own, no library.
 *
 * Decoding is strict: a character outside the alphabet (whitespace
 * included), misplaced or missing padding, padding in base64url, and
 * non-zero unused bits in the last character are all rejected, and the
 * error names `what` and the offset. The exit code of a decoding failure is
 * chosen by the caller (EXIT_INPUT for the document or a token, EXIT_NETWORK
 * for an answer of the service).
 */
#ifndef DRS_B64_H
#define DRS_B64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the standard encoding of n bytes (padding included, no NUL). */
size_t b64_encoded_len(size_t n);

/* Standard base64 with padding, NUL-terminated; caller frees.
 * NULL (reported) on failure. */
char *b64_encode(const uint8_t *in, size_t n);
/* base64url without padding, NUL-terminated; caller frees. NULL (reported). */
char *b64url_encode(const uint8_t *in, size_t n);

/*
 * Decodes len characters of standard base64 (padding required: len is a
 * multiple of 4). On success *out is a new buffer of *out_len bytes (one
 * extra NUL byte follows it, not counted; an empty input gives a 1-byte
 * buffer) that the caller frees. On failure reports
 * "<what>: not valid base64: <reason> at offset N" with code, returns -1;
 * with what NULL it only returns -1. Out of memory is reported (EXIT_INTERNAL)
 * and returns B64_NOMEM (also < 0).
 */
#define B64_NOMEM	(-2)
int b64_decode(const char *text, size_t len, int code, const char *what,
    uint8_t **out, size_t *out_len);
/* The same for base64url without padding ('=' is rejected). */
int b64url_decode(const char *text, size_t len, int code, const char *what,
    uint8_t **out, size_t *out_len);

#endif
