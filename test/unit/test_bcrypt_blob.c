/* test_bcrypt_blob.c - the public BCRYPT_RSAKEY_BLOB: exact bytes, parser. */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "bcrypt_blob.h"
#include "fixture.h"
#include "log.h"
#include "tap.h"

/* protocol.md: "RSA1", 2048, 3, 256, 0, 0 as little-endian u32. */
static const uint8_t header[BCRYPT_BLOB_HEADER_LEN] = {
	0x52, 0x53, 0x41, 0x31,	0x00, 0x08, 0x00, 0x00,
	0x03, 0x00, 0x00, 0x00,	0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,	0x00, 0x00, 0x00, 0x00,
};
static const uint8_t f4[] = { 0x01, 0x00, 0x01 };

static uint8_t n[256];

static void
rejected(const uint8_t *blob, size_t len, const char *reason,
    const char *name)
{
	struct bcrypt_blob info;
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = bcrypt_blob_parse(blob, len, EXIT_INPUT, "TransportKey", &info);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INPUT &&
	    info.modulus == NULL && lines(err) == 1 &&
	    has(err, "TransportKey: not a public BCRYPT RSA blob: ") &&
	    has(err, reason), err, "parse rejects %s", name);
	free(err);
}

static void
build_rejected(const uint8_t *mod, size_t mod_len, const uint8_t *e,
    size_t e_len, const char *reason, const char *name)
{
	uint8_t blob[BCRYPT_BLOB_LEN];
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = bcrypt_blob_build(mod, mod_len, e, e_len, blob);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INTERNAL &&
	    has(err, reason), err, "build rejects %s", name);
	free(err);
}

int
main(void)
{
	uint8_t blob[BCRYPT_BLOB_LEN], bad[BCRYPT_BLOB_LEN + 1], big[300];
	uint8_t small[24 + 1 + 128];
	struct bcrypt_blob info;
	char *b64;
	size_t i;
	int rc;

	/* A fixed 2048-bit modulus: top bit set, then 01 02 03 ... */
	n[0] = 0xc3;
	for (i = 1; i < sizeof(n); i++)
		n[i] = (uint8_t)i;

	rc = bcrypt_blob_build(n, sizeof(n), f4, sizeof(f4), blob);
	CHECK(rc == 0, "build from a fixed modulus and e = 65537");
	CHECK(memcmp(blob, "\x52\x53\x41\x31", 4) == 0, "magic 52 53 41 31");
	CHECK(memcmp(blob, header, sizeof(header)) == 0,
	    "header: BitLength 2048, cbPublicExp 3, cbModulus 256, primes 0 "
	    "(little-endian)");
	CHECK(memcmp(blob + 24, f4, 3) == 0, "exponent 01 00 01 at offset 24");
	CHECK(memcmp(blob + 27, n, 256) == 0 && blob[27] == 0xc3 &&
	    blob[282] == 0xff, "modulus big-endian at offset 27, to byte 282");
	CHECK(sizeof(blob) == 283 && 24 + 3 + 256 == BCRYPT_BLOB_LEN,
	    "length 283");

	b64 = b64_encode(blob, sizeof(blob));
	CHECK(b64 != NULL && strncmp(b64, "UlNBMQAIAAADAAAAAAEAAAAAAAAAAAAAAQABwwEC",
	    40) == 0 && strlen(b64) == 380, "base64 starts UlNBMQ (and the "
	    "whole header)");
	free(b64);

	/* Leading zeros are not significant: the exponent is made minimal. */
	{
		static const uint8_t e4[] = { 0, 0, 1, 0, 1 };
		uint8_t again[BCRYPT_BLOB_LEN];

		big[0] = 0;
		memcpy(big + 1, n, sizeof(n));
		rc = bcrypt_blob_build(big, 257, e4, sizeof(e4), again);
		CHECK(rc == 0 && memcmp(again, blob, sizeof(blob)) == 0,
		    "leading zero bytes of n and e dropped (minimal exponent)");
	}

	build_rejected(n, 255, f4, 3, "not 2048 bits", "a 2040-bit modulus");
	{
		uint8_t n2[256];

		memcpy(n2, n, sizeof(n2));
		n2[0] = 0x7f;
		build_rejected(n2, 256, f4, 3, "not 2048 bits",
		    "a 2047-bit modulus");
	}
	build_rejected(n, 256, (const uint8_t *)"\x03", 1, "not 65537",
	    "exponent 3");
	build_rejected(n, 256, (const uint8_t *)"\x01\x00\x00\x01", 4,
	    "not 65537", "exponent 2^24 + 1");

	/* Parser. */
	rc = bcrypt_blob_parse(blob, sizeof(blob), EXIT_INPUT, "t", &info);
	CHECK(rc == 0 && info.bit_length == 2048 && info.exponent_len == 3 &&
	    info.exponent == blob + 24 && info.modulus_len == 256 &&
	    info.modulus == blob + 27, "parse the built blob");

	/* Another size: 1024 bits, e = 3 (a general parser). */
	memcpy(small, "RSA1\x00\x04\x00\x00\x01\x00\x00\x00\x80\x00\x00\x00"
	    "\x00\x00\x00\x00\x00\x00\x00\x00\x03", 25);
	memcpy(small + 25, n, 128);
	rc = bcrypt_blob_parse(small, sizeof(small), EXIT_INPUT, "t", &info);
	CHECK(rc == 0 && info.bit_length == 1024 && info.exponent_len == 1 &&
	    info.exponent[0] == 3 && info.modulus_len == 128,
	    "parse a 1024-bit blob with e = 3");

	rejected(blob, 23, "shorter than its header", "23 bytes");
	rejected(blob, 282, "truncated", "a truncated blob");
	memcpy(bad, blob, sizeof(blob));
	bad[283] = 0;
	rejected(bad, 284, "trailing bytes", "a trailing byte");

	memcpy(bad, blob, sizeof(blob));
	bad[3] = '2';
	rejected(bad, 283, "private key (magic RSA2", "magic RSA2");
	bad[3] = '3';
	rejected(bad, 283, "private key", "magic RSA3");
	bad[0] = 0x31;
	bad[3] = 0x52;
	rejected(bad, 283, "bad magic", "magic in the wrong byte order");

	memcpy(bad, blob, sizeof(blob));
	bad[16] = 128;
	rejected(bad, 283, "prime lengths are not zero", "cbPrime1 != 0");
	memcpy(bad, blob, sizeof(blob));
	bad[20] = 128;
	rejected(bad, 283, "prime lengths are not zero", "cbPrime2 != 0");

	memcpy(bad, blob, sizeof(blob));
	bad[4] = 0x01;	/* BitLength 2049 */
	rejected(bad, 283, "modulus length does not match", "BitLength 2049");
	memcpy(bad, blob, sizeof(blob));
	bad[8] = 0;
	rejected(bad, 283, "exponent length", "cbPublicExp 0");
	memcpy(bad, blob, sizeof(blob));
	bad[8] = 9;
	rejected(bad, 283, "exponent length", "cbPublicExp 9");

	/* e written as 00 01 00 01 with cbPublicExp 4: not minimal. */
	memcpy(big, blob, 24);
	big[8] = 4;
	memcpy(big + 24, "\x00\x01\x00\x01", 4);
	memcpy(big + 28, n, 256);
	rejected(big, 284, "leading zero", "a non-minimal exponent");

	memcpy(bad, blob, sizeof(blob));
	bad[27] = 0x43;	/* top bit clear: a 2047-bit number */
	rejected(bad, 283, "not BitLength bits", "a 2047-bit modulus");

	return tap_done();
}
