/*
 * test_csr.c - the PKCS#10 request: byte-for-byte the CSRs OpenSSL made
 * from the same key (data/csr_nonce.der, data/csr_nononce.der, see
 * data/make-fixtures.sh), with and without the nonce, through the software
 * key and through a signer (RSA-alt) key; the structure for nonces of other
 * lengths; refused nonces.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "csr.h"
#include "fixture.h"
#include "keys.h"
#include "log.h"
#include "signer.h"
#include "tap.h"

/* sha256sum of the fixtures, printed by make-fixtures.sh. */
static const char sha_nonce[] =
    "351861c0fc4638c68c00bb1aec71c517524c35553af8f3558c476e36dad29418";
static const char sha_nononce[] =
    "ee16511ad7daf40b370588928182b6f3959ffd563819cfb2443db84faf02802d";

/* Name: SEQUENCE { SET { SEQUENCE { commonName, UTF8String CN } } } */
static const uint8_t subject[] =
    "\x30\x2f\x31\x2d\x30\x2b\x06\x03\x55\x04\x03\x0c\x24"
    "7E980AD9-B86D-4306-9425-9AC066FB014A";
/* AlgorithmIdentifier sha256WithRSAEncryption, NULL parameters */
static const uint8_t sigalg[] =
    "\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00";
static const uint8_t oid_extreq[] =
    "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e";
static const uint8_t oid_nonce[] =
    "\x06\x0c\x2a\x86\x48\x86\xf7\x14\x01\x05\x82\x1c\x02\x01";

static struct key *dk;
static uint8_t *spki;
static size_t spki_len;

/* A minimal DER reader: one TLV at p (definite lengths up to 4 bytes). */
struct tlv {
	uint8_t tag;
	const uint8_t *hdr, *val, *end;	/* end: just after the value */
	size_t len;
};

static int
tlv(const uint8_t *p, const uint8_t *end, struct tlv *t)
{
	size_t n, i;

	if (end - p < 2)
		return 0;
	t->hdr = p;
	t->tag = *p++;
	if (*p < 0x80) {
		t->len = *p++;
	} else {
		n = *p++ & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - p) < n || *p == 0)
			return 0;
		for (t->len = 0, i = 0; i < n; i++)
			t->len = t->len << 8 | *p++;
		if (t->len < 0x80)
			return 0;	/* not the shortest form: not DER */
	}
	if ((size_t)(end - p) < t->len)
		return 0;
	t->val = p;
	t->end = p + t->len;
	return 1;
}

static int
same(const struct tlv *t, const uint8_t *der, size_t len)
{
	return (size_t)(t->end - t->hdr) == len && memcmp(t->hdr, der, len) == 0;
}

/*
 * Walks a CSR and checks every field of protocol.md Phase 4. nonce NULL:
 * the attributes must be empty. Returns 1 when all is well.
 */
static int
structure_ok(const uint8_t *der, size_t len, const char *nonce)
{
	struct tlv req, info, ver, name, pk, attrs, a, typ, set, exts, ext, oid,
	    val, inner, alg, sig;
	uint8_t hash[32], mine[KEYS_SIG_LEN];
	size_t mine_len;

	if (!tlv(der, der + len, &req) || req.tag != 0x30 ||
	    req.end != der + len)
		return 0;
	if (!tlv(req.val, req.end, &info) || info.tag != 0x30 ||
	    !tlv(info.end, req.end, &alg) || !same(&alg, sigalg, 15) ||
	    !tlv(alg.end, req.end, &sig) || sig.tag != 0x03 ||
	    sig.len != 257 || sig.val[0] != 0 || sig.end != req.end)
		return 0;
	if (!tlv(info.val, info.end, &ver) || !same(&ver,
	    (const uint8_t *)"\x02\x01\x00", 3) ||
	    !tlv(ver.end, info.end, &name) ||
	    !same(&name, subject, sizeof(subject) - 1) ||
	    !tlv(name.end, info.end, &pk) || !same(&pk, spki, spki_len) ||
	    !tlv(pk.end, info.end, &attrs) || attrs.tag != 0xa0 ||
	    attrs.end != info.end)
		return 0;
	if (nonce == NULL) {
		if (attrs.len != 0)
			return 0;
	} else {
		/* One attribute, one extension: no critical flag. */
		if (!tlv(attrs.val, attrs.end, &a) || a.tag != 0x30 ||
		    a.end != attrs.end ||
		    !tlv(a.val, a.end, &typ) ||
		    !same(&typ, oid_extreq, sizeof(oid_extreq) - 1) ||
		    !tlv(typ.end, a.end, &set) || set.tag != 0x31 ||
		    set.end != a.end ||
		    !tlv(set.val, set.end, &exts) || exts.tag != 0x30 ||
		    exts.end != set.end ||
		    !tlv(exts.val, exts.end, &ext) || ext.tag != 0x30 ||
		    ext.end != exts.end ||
		    !tlv(ext.val, ext.end, &oid) ||
		    !same(&oid, oid_nonce, sizeof(oid_nonce) - 1) ||
		    !tlv(oid.end, ext.end, &val) || val.tag != 0x04 ||
		    val.end != ext.end ||
		    !tlv(val.val, val.end, &inner) || inner.tag != 0x04 ||
		    inner.end != val.end || inner.len != strlen(nonce) ||
		    memcmp(inner.val, nonce, inner.len) != 0)
			return 0;
	}
	/* The signature: the fixed key's, over the request info. */
	return crypto_sha256(info.hdr, (size_t)(info.end - info.hdr),
	    hash) == 0 && keys_sign_sha256(dk, hash, mine, sizeof(mine),
	    &mine_len, "t") == 0 && memcmp(mine, sig.val + 1, 256) == 0;
}

static int
sha_is(const uint8_t *der, size_t len, const char *hex)
{
	uint8_t h[32];
	char s[65];
	int i;

	if (crypto_sha256(der, len, h) != 0)
		return 0;
	for (i = 0; i < 32; i++)
		snprintf(s + 2 * i, 3, "%02x", h[i]);
	return strcmp(s, hex) == 0;
}

static int
failing_signer(void *ctx, const uint8_t hash[32], uint8_t *sig, size_t size,
    size_t *len)
{
	(void)ctx;
	(void)hash;
	(void)sig;
	(void)size;
	(void)len;
	return log_fail(EXIT_TPM, "tpm: TPM2_Sign: TPM_RC_AUTH_FAIL");
}

static void
nonce_refused(const char *nonce, const char *name, const char *reason)
{
	uint8_t *der = (uint8_t *)"x";
	size_t len = 1;
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = csr_build(dk, nonce, &der, &len);
	err = capture_end();
	CHECK_ERR(rc == -1 && der == NULL && len == 0 &&
	    log_exit_code() == EXIT_INPUT && lines(err) == 1 &&
	    has(err, "drsjoin: csr: the document's nonce.value: ") &&
	    has(err, reason) &&
	    !has(err, "SECRET"), err, "nonce refused: %s", name);
	free(err);
}

int
main(void)
{
	uint8_t *want_nonce, *want_plain, *der = NULL, *der2 = NULL;
	uint8_t n[KEYS_MODULUS_LEN], e[KEYS_EXPONENT_MAX];
	size_t want_nonce_len, want_plain_len, len = 0, len2 = 0, e_len, i;
	struct key *alt = NULL;
	char *pem, *nonce, *err;
	size_t pem_len, nonce_len;
	int rc;

	pem = (char *)fixture_read("key.pem", &pem_len);
	nonce = (char *)fixture_read("nonce.txt", &nonce_len);
	want_nonce = fixture_read("csr_nonce.der", &want_nonce_len);
	want_plain = fixture_read("csr_nononce.der", &want_plain_len);
	if (pem == NULL || nonce == NULL || want_nonce == NULL ||
	    want_plain == NULL)
		return tap_done();
	while (nonce_len > 0 && nonce[nonce_len - 1] == '\n')
		nonce[--nonce_len] = '\0';
	CHECK(keys_load_pem(pem, pem_len, "key.pem", &dk) == 0 &&
	    keys_public_der(dk, &spki, &spki_len) == 0, "load key.pem");
	free(pem);
	if (dk == NULL)
		return tap_done();

	CHECK(sha_is(want_nonce, want_nonce_len, sha_nonce) &&
	    sha_is(want_plain, want_plain_len, sha_nononce),
	    "the OpenSSL-made fixtures are the recorded ones");
	CHECK(structure_ok(want_plain, want_plain_len, NULL) &&
	    structure_ok(want_nonce, want_nonce_len, nonce),
	    "the checker accepts OpenSSL's CSRs");
	CHECK(!structure_ok(want_nonce, want_nonce_len, NULL) &&
	    !structure_ok(want_plain, want_plain_len, nonce) &&
	    !structure_ok(want_nonce, want_nonce_len - 1, nonce),
	    "the checker can fail (nonce mismatch, truncation)");

	/* With the nonce. */
	rc = csr_build(dk, nonce, &der, &len);
	CHECK(rc == 0 && len == want_nonce_len &&
	    memcmp(der, want_nonce, len) == 0,
	    "CSR with the nonce: byte for byte OpenSSL's (%zu bytes)",
	    want_nonce_len);
	CHECK(rc == 0 && sha_is(der, len, sha_nonce),
	    "CSR with the nonce: SHA-256 known answer");
	CHECK(rc == 0 && structure_ok(der, len, nonce),
	    "CSR with the nonce: subject, key, one non-critical extension "
	    "1.2.840.113556.1.5.284.2.1 = OCTET STRING of the nonce, "
	    "sha256WithRSAEncryption");
	free(der);
	der = NULL;

	/* Without. */
	rc = csr_build(dk, NULL, &der, &len);
	CHECK(rc == 0 && len == want_plain_len &&
	    memcmp(der, want_plain, len) == 0,
	    "CSR without a nonce: byte for byte OpenSSL's (%zu bytes)",
	    want_plain_len);
	CHECK(rc == 0 && sha_is(der, len, sha_nononce) &&
	    structure_ok(der, len, NULL) &&
	    memcmp(der + 354, "\xa0\x00\x30\x0d", 4) == 0,
	    "CSR without a nonce: no extensionRequest at all (empty [0])");
	free(der);
	der = NULL;

	/* The signer (RSA-alt) path gives the same bytes. */
	CHECK(keys_public_rsa(dk, n, e, &e_len) == 0 &&
	    keys_from_public_and_signer(n, sizeof(n), e, e_len, soft_signer,
	    soft_signer_pss, dk, &alt) == 0, "signer key for key.pem");
	CHECK(alt != NULL && csr_build(alt, nonce, &der, &len) == 0 &&
	    len == want_nonce_len && memcmp(der, want_nonce, len) == 0,
	    "signer path, with the nonce: the same bytes");
	free(der);
	der = NULL;
	CHECK(alt != NULL && csr_build(alt, NULL, &der, &len) == 0 &&
	    len == want_plain_len && memcmp(der, want_plain, len) == 0,
	    "signer path, without a nonce: the same bytes");
	free(der);
	der = NULL;
	keys_free(alt);
	alt = NULL;

	keys_from_public_and_signer(n, sizeof(n), e, e_len, failing_signer,
	    NULL, NULL, &alt);
	log_reset();
	capture_begin();
	rc = csr_build(alt, nonce, &der, &len);
	err = capture_end();
	CHECK_ERR(rc == -1 && der == NULL && log_exit_code() == EXIT_TPM &&
	    lines(err) == 1 && has(err, "TPM_RC_AUTH_FAIL"), err,
	    "a failing signer fails the CSR with its own error");
	free(err);
	keys_free(alt);

	/* Nonces of other lengths: DER lengths of 1, 2 and 3 bytes. */
	{
		static const size_t lens[] = { 1, 2, 127, 128, 255, 256,
		    CSR_NONCE_MAX };
		char *v = malloc(CSR_NONCE_MAX + 2);
		int ok = v != NULL;

		for (i = 0; ok && i < sizeof(lens) / sizeof(lens[0]); i++) {
			size_t j;

			for (j = 0; j < lens[i]; j++)
				v[j] = "AZaz09+/=-_.~!"[j % 14];
			v[lens[i]] = '\0';
			ok = csr_build(dk, v, &der, &len) == 0 &&
			    structure_ok(der, len, v);
			if (!ok)
				printf("# nonce length %zu\n", lens[i]);
			free(der);
			der = NULL;
		}
		CHECK(ok, "nonces of 1, 2, 127, 128, 255, 256 and %d "
		    "characters: well-formed and signed", CSR_NONCE_MAX);

		/* Deterministic: the same input gives the same bytes. */
		ok = csr_build(dk, "abc", &der, &len) == 0 &&
		    csr_build(dk, "abc", &der2, &len2) == 0 && len == len2 &&
		    memcmp(der, der2, len) == 0;
		CHECK(ok, "the same key and nonce give the same bytes");
		free(der);
		free(der2);
		der = NULL;

		nonce_refused("", "empty", "empty");
		nonce_refused("SECRET with space", "a space",
		    "not printable ASCII (character 6 is 0x20)");
		nonce_refused("SECRET\twith tab", "a tab", "0x09");
		nonce_refused("SECRET\n", "a line break", "0x0a");
		nonce_refused("SECRET\x7f", "DEL", "0x7f");
		nonce_refused("SECRET\xc3\xa9", "non-ASCII", "0xc3");
		if (v != NULL) {
			memset(v, 'A', CSR_NONCE_MAX + 1);
			v[CSR_NONCE_MAX + 1] = '\0';
			nonce_refused(v, "8193 characters",
			    "longer than 8192 characters");
		}
		free(v);
	}

	log_reset();
	CHECK(csr_nonce_check(nonce, EXIT_NETWORK, "nonce: Value") == 0,
	    "csr_nonce_check accepts the fixture's nonce");
	capture_begin();
	rc = csr_nonce_check("a b", EXIT_NETWORK, "nonce: Value");
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_NETWORK &&
	    has(err, "drsjoin: nonce: Value: not printable"), err,
	    "csr_nonce_check: the caller's code and words");
	free(err);

	free(nonce);
	free(want_nonce);
	free(want_plain);
	free(spki);
	keys_free(dk);
	return tap_done();
}
