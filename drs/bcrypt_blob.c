/* bcrypt_blob.c - the public BCRYPT_RSAKEY_BLOB ("RSA1") of protocol.md. */
#include <stdint.h>
#include <string.h>

#include "bcrypt_blob.h"
#include "log.h"

#define MODULUS_LEN	256
#define EXPONENT_LEN	3

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Skips leading zero bytes of a big-endian number. */
static const uint8_t *
strip(const uint8_t *p, size_t *len)
{
	while (*len > 0 && *p == 0) {
		p++;
		(*len)--;
	}
	return p;
}

int
bcrypt_blob_build(const uint8_t *n, size_t n_len, const uint8_t *e,
    size_t e_len, uint8_t out[BCRYPT_BLOB_LEN])
{
	static const uint8_t f4[EXPONENT_LEN] = { 0x01, 0x00, 0x01 };

	n = strip(n, &n_len);
	e = strip(e, &e_len);
	if (n_len != MODULUS_LEN || (n[0] & 0x80) == 0)
		return log_fail(EXIT_INTERNAL, "transport key blob: the "
		    "modulus is not 2048 bits");
	if (e_len != EXPONENT_LEN || memcmp(e, f4, EXPONENT_LEN) != 0)
		return log_fail(EXIT_INTERNAL, "transport key blob: the "
		    "public exponent is not 65537");
	put_le32(out, BCRYPT_RSAPUBLIC_MAGIC);
	put_le32(out + 4, MODULUS_LEN * 8);
	put_le32(out + 8, EXPONENT_LEN);
	put_le32(out + 12, MODULUS_LEN);
	put_le32(out + 16, 0);
	put_le32(out + 20, 0);
	memcpy(out + BCRYPT_BLOB_HEADER_LEN, e, EXPONENT_LEN);
	memcpy(out + BCRYPT_BLOB_HEADER_LEN + EXPONENT_LEN, n, MODULUS_LEN);
	return 0;
}

/* Number of significant bits of a big-endian number whose top byte is set. */
static uint32_t
bits(const uint8_t *p, size_t len)
{
	uint32_t b = (uint32_t)(len - 1) * 8;
	uint8_t top = p[0];

	while (top) {
		b++;
		top >>= 1;
	}
	return b;
}

int
bcrypt_blob_parse(const uint8_t *blob, size_t len, int code,
    const char *what, struct bcrypt_blob *out)
{
	uint32_t bitlen, cb_exp, cb_mod, p1, p2;
	const char *why;

	memset(out, 0, sizeof(*out));
	if (len < BCRYPT_BLOB_HEADER_LEN) {
		why = "shorter than its header";
		goto bad;
	}
	if (get_le32(blob) != BCRYPT_RSAPUBLIC_MAGIC) {
		why = get_le32(blob) == 0x32415352u ||
		    get_le32(blob) == 0x33415352u ?
		    "it holds a private key (magic RSA2/RSA3)" :
		    "bad magic (not RSA1)";
		goto bad;
	}
	bitlen = get_le32(blob + 4);
	cb_exp = get_le32(blob + 8);
	cb_mod = get_le32(blob + 12);
	p1 = get_le32(blob + 16);
	p2 = get_le32(blob + 20);
	if (p1 != 0 || p2 != 0) {
		why = "prime lengths are not zero";
		goto bad;
	}
	if (cb_exp < 1 || cb_exp > 8) {
		why = "exponent length not within 1..8";
		goto bad;
	}
	if (bitlen == 0 || bitlen > 16384 || cb_mod != (bitlen + 7) / 8) {
		why = "modulus length does not match BitLength";
		goto bad;
	}
	if (len != (size_t)BCRYPT_BLOB_HEADER_LEN + cb_exp + cb_mod) {
		why = len < (size_t)BCRYPT_BLOB_HEADER_LEN + cb_exp + cb_mod ?
		    "truncated" : "trailing bytes after the modulus";
		goto bad;
	}
	out->exponent = blob + BCRYPT_BLOB_HEADER_LEN;
	out->exponent_len = cb_exp;
	out->modulus = out->exponent + cb_exp;
	out->modulus_len = cb_mod;
	out->bit_length = bitlen;
	if (out->exponent[0] == 0) {
		why = "exponent has a leading zero byte";
		goto bad;
	}
	if (out->modulus[0] == 0 || bits(out->modulus, cb_mod) != bitlen) {
		why = "modulus is not BitLength bits long";
		goto bad;
	}
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return log_fail(code, "%s: not a public BCRYPT RSA blob: %s", what,
	    why);
}
