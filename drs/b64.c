/* b64.c - strict base64 and base64url (RFC 4648), no library. */
#include <stdint.h>
#include <stdlib.h>

#include "b64.h"
#include "log.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

static char *
encode(const uint8_t *in, size_t n, const char *alphabet, int pad)
{
	char *out, *o;
	size_t i;
	uint32_t v;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3) {
		log_fail(EXIT_INTERNAL, "base64: input too large");
		return NULL;
	}
	if ((out = malloc(b64_encoded_len(n) + 1)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	o = out;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = alphabet[v >> 6 & 63];
		*o++ = alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		if (pad) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = alphabet[v >> 6 & 63];
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
	return out;
}

char *
b64_encode(const uint8_t *in, size_t n)
{
	return encode(in, n, std_alphabet, 1);
}

char *
b64url_encode(const uint8_t *in, size_t n)
{
	return encode(in, n, url_alphabet, 0);
}

/* The values of A-Z, a-z and 0-9 (the two alphabets' common part), else -1:
 * a CA bundle is 200 KB of base64, decoded at every run (cert_ca_parse). */
static const signed char alnum[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/* The value of c in the alphabet, or -1. */
static inline int
value(char c, int url)
{
	int v = alnum[(unsigned char)c];

	if (v >= 0)
		return v;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static int
bad(int code, const char *what, const char *reason, size_t off)
{
	if (what == NULL)	/* the caller counts it */
		return -1;
	return log_fail(code, "%s: not valid base64: %s at offset %zu",
	    what, reason, off);
}

static int
decode(const char *text, size_t len, int url, int code, const char *what,
    uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t data, i, o = 0, tail;
	uint32_t acc = 0;

	*out = NULL;
	*out_len = 0;
	/* Characters first: the most telling error (a line break, say). */
	for (data = 0; data < len && text[data] != '='; data++)
		if (value(text[data], url) < 0)
			return bad(code, what, "invalid character", data);
	if (data < len && url)
		return bad(code, what, "padding in base64url", data);
	for (i = data; i < len; i++) {
		if (text[i] == '=')
			continue;
		if (value(text[i], url) < 0)
			return bad(code, what, "invalid character", i);
		return bad(code, what, "misplaced padding", data);
	}
	if (len - data > 2)
		return bad(code, what, "too much padding", data);
	tail = data % 4;
	if (!url && len % 4 != 0)
		return bad(code, what, "length not a multiple of 4 "
		    "(truncated, or padding missing)", len);
	if (tail == 1)
		return bad(code, what, url ? "impossible length" :
		    "too much padding", data);
	if ((buf = malloc(data / 4 * 3 + 3)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		return B64_NOMEM;
	}
	for (i = 0; i + 4 <= data; i += 4) {
		acc = (uint32_t)value(text[i], url) << 18 |
		    (uint32_t)value(text[i + 1], url) << 12 |
		    (uint32_t)value(text[i + 2], url) << 6 |
		    (uint32_t)value(text[i + 3], url);
		buf[o++] = (uint8_t)(acc >> 16);
		buf[o++] = (uint8_t)(acc >> 8);
		buf[o++] = (uint8_t)acc;
	}
	if (tail == 2) {
		acc = (uint32_t)value(text[i], url) << 18 |
		    (uint32_t)value(text[i + 1], url) << 12;
		if (acc & 0xffff)
			goto nonzero;
		buf[o++] = (uint8_t)(acc >> 16);
	} else if (tail == 3) {
		acc = (uint32_t)value(text[i], url) << 18 |
		    (uint32_t)value(text[i + 1], url) << 12 |
		    (uint32_t)value(text[i + 2], url) << 6;
		if (acc & 0xff)
			goto nonzero;
		buf[o++] = (uint8_t)(acc >> 16);
		buf[o++] = (uint8_t)(acc >> 8);
	}
	buf[o] = 0;
	*out = buf;
	*out_len = o;
	return 0;
nonzero:
	free(buf);
	return bad(code, what, "non-zero unused bits in the last character",
	    data - 1);
}

int
b64_decode(const char *text, size_t len, int code, const char *what,
    uint8_t **out, size_t *out_len)
{
	return decode(text, len, 0, code, what, out, out_len);
}

int
b64url_decode(const char *text, size_t len, int code, const char *what,
    uint8_t **out, size_t *out_len)
{
	return decode(text, len, 1, code, what, out, out_len);
}
