/*
 * bcrypt_blob.h - the public BCRYPT_RSAKEY_BLOB of protocol.md ("RSA1"),
 * the TransportKey of the join request. Pure C.
 *
 *   0  magic "RSA1"  4  BitLength  8  cbPublicExp  12 cbModulus
 *   16 cbPrime1 = 0  20 cbPrime2 = 0 (little-endian u32 each)
 *   24 exponent, big-endian, minimal length; then the modulus, big-endian.
 *
 * For RSA-2048 with e = 65537 the blob is BCRYPT_BLOB_LEN (283) bytes and
 * its standard base64 starts "UlNBMQ".
 */
#ifndef DRS_BCRYPT_BLOB_H
#define DRS_BCRYPT_BLOB_H

#include <stddef.h>
#include <stdint.h>

#define BCRYPT_BLOB_HEADER_LEN	24
#define BCRYPT_BLOB_LEN		283	/* RSA-2048, e = 65537 */
#define BCRYPT_RSAPUBLIC_MAGIC	0x31415352u	/* "RSA1" as LE u32 */

/*
 * Builds the blob of an RSA-2048 public key, e = 65537. n and e are
 * big-endian; leading zero bytes are ignored (the exponent is written in
 * its minimal length). The modulus must be exactly 2048 bits and the
 * exponent 65537, anything else is reported (EXIT_INTERNAL: our keys are
 * always of that shape). 0 / -1.
 */
int bcrypt_blob_build(const uint8_t *n, size_t n_len, const uint8_t *e,
    size_t e_len, uint8_t out[BCRYPT_BLOB_LEN]);

/* A parsed blob; the pointers borrow from the parsed buffer. */
struct bcrypt_blob {
	uint32_t bit_length;
	const uint8_t *exponent;	/* big-endian, minimal */
	size_t exponent_len;
	const uint8_t *modulus;		/* big-endian, top byte set */
	size_t modulus_len;
};

/*
 * Parses and validates a public blob of any RSA size: magic "RSA1", primes
 * absent (cbPrime1 = cbPrime2 = 0), 1..8 exponent bytes without a leading
 * zero, cbModulus = BitLength / 8 rounded up with the modulus of exactly
 * BitLength bits, nothing after the modulus. On failure reports
 * "<what>: not a public BCRYPT RSA blob: <reason>" with code. 0 / -1.
 */
int bcrypt_blob_parse(const uint8_t *blob, size_t len, int code,
    const char *what, struct bcrypt_blob *out);

#endif
