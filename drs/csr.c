/*
 * csr.c - the PKCS#10 request of protocol.md Phase 4, written with mbedTLS's
 * ASN.1 writer.
 *
 * Not mbedtls_x509write_csr: it writes the public key from the signing
 * context, which an RSA-alt (TPM) key cannot export, and it gives no
 * control over the attribute bytes. Here the public key comes from
 * keys_public_der() and the signature from keys_sign_sha256(), so software
 * and signer keys give the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/oid.h>

#include "crypto.h"
#include "csr.h"
#include "keys.h"
#include "log.h"
#include "util.h"

/* 1.2.840.113556.1.5.284.2.1, the DRS nonce extension. */
#define OID_DRS_NONCE	"\x2a\x86\x48\x86\xf7\x14\x01\x05\x82\x1c\x02\x01"

#define SEQ	(MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define SET	(MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET)
#define CTX0	(MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_CONTEXT_SPECIFIC)

int
csr_nonce_check(const char *nonce, int code, const char *what)
{
	size_t i;

	for (i = 0; nonce[i] != '\0'; i++) {
		if (i >= CSR_NONCE_MAX)
			return log_fail(code, "%s: longer than %d characters",
			    what, CSR_NONCE_MAX);
		if (nonce[i] < 0x21 || nonce[i] > 0x7e)
			return log_fail(code, "%s: not printable ASCII "
			    "(character %zu is 0x%02x)", what, i,
			    (unsigned)(unsigned char)nonce[i]);
	}
	if (i == 0)
		return log_fail(code, "%s: empty", what);
	return 0;
}

/*
 * Writes the tag and length of the len bytes just written after *p;
 * returns the size of that header, or an mbedTLS error.
 */
static int
wrap(unsigned char **p, unsigned char *start, size_t len, unsigned char tag)
{
	int ret;
	size_t n = 0;

	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(p, start, tag));
	return (int)n;
}

/*
 * The attributes [0] IMPLICIT SET OF Attribute, before *p:
 *   [0] { SEQUENCE { extensionRequest, SET { SEQUENCE OF Extension {
 *     SEQUENCE { OID_DRS_NONCE, OCTET STRING { OCTET STRING nonce } } } } } }
 */
static int
write_attributes(unsigned char **p, unsigned char *start, const char *nonce)
{
	int ret;
	size_t len = 0;

	if (nonce != NULL) {
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_octet_string(p,
		    start, (const unsigned char *)nonce, strlen(nonce)));
		MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len,
		    MBEDTLS_ASN1_OCTET_STRING));
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start,
		    OID_DRS_NONCE, MBEDTLS_OID_SIZE(OID_DRS_NONCE)));
		MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SEQ));
		MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SEQ));
		MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SET));
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start,
		    MBEDTLS_OID_PKCS9_CSR_EXT_REQ,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_PKCS9_CSR_EXT_REQ)));
		MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SEQ));
	}
	MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, CTX0));
	return (int)len;
}

/* The subject Name: SEQUENCE { SET { SEQUENCE { cn, UTF8String } } }. */
static int
write_subject(unsigned char **p, unsigned char *start)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_utf8_string(p, start,
	    CSR_SUBJECT_CN, sizeof(CSR_SUBJECT_CN) - 1));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start,
	    MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN)));
	MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SEQ));
	MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SET));
	MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SEQ));
	return (int)len;
}

/* CertificationRequestInfo ::= SEQUENCE { version 0, subject, spki, [0] }. */
static int
write_info(unsigned char **p, unsigned char *start, const uint8_t *spki,
    size_t spki_len, const char *nonce)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, write_attributes(p, start, nonce));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start,
	    spki, spki_len));
	MBEDTLS_ASN1_CHK_ADD(len, write_subject(p, start));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(p, start, 0));
	MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SEQ));
	return (int)len;
}

/* CertificationRequest ::= SEQUENCE { info, sha256WithRSAEncryption, sig }. */
static int
write_request(unsigned char **p, unsigned char *start, const uint8_t *info,
    size_t info_len, const uint8_t *sig, size_t sig_len)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bitstring(p, start, sig,
	    sig_len * 8));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_algorithm_identifier(p,
	    start, MBEDTLS_OID_PKCS1_SHA256,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_PKCS1_SHA256), 0));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start,
	    info, info_len));
	MBEDTLS_ASN1_CHK_ADD(len, wrap(p, start, len, SEQ));
	return (int)len;
}

int
csr_build(const struct key *dk, const char *nonce, uint8_t **der,
    size_t *der_len)
{
	uint8_t *spki = NULL, *buf = NULL, *req = NULL;
	uint8_t hash[CRYPTO_SHA256_LEN], sig[KEYS_SIG_LEN];
	unsigned char *p, *info;
	size_t spki_len = 0, size, info_len, sig_len = 0, req_size;
	int ret, rc = -1;

	*der = NULL;
	*der_len = 0;
	if (nonce != NULL &&
	    csr_nonce_check(nonce, EXIT_INPUT, CSR_NONCE_WHAT) != 0)
		return -1;
	if (keys_public_der(dk, &spki, &spki_len) != 0)
		return -1;
	/* Generous: every length field is at most 4 bytes. */
	size = 256 + spki_len + (nonce != NULL ? strlen(nonce) + 64 : 0);
	if ((buf = malloc(size)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	p = buf + size;
	if ((ret = write_info(&p, buf, spki, spki_len, nonce)) < 0) {
		crypto_fail(EXIT_INTERNAL, ret, "csr: writing the request");
		goto out;
	}
	info = p;
	info_len = (size_t)ret;
	if (crypto_sha256(info, info_len, hash) != 0 ||
	    keys_sign_sha256(dk, hash, sig, sizeof(sig), &sig_len,
	    "csr") != 0)
		goto out;
	req_size = info_len + sig_len + 64;
	if ((req = malloc(req_size)) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	p = req + req_size;
	if ((ret = write_request(&p, req, info, info_len, sig, sig_len)) < 0) {
		crypto_fail(EXIT_INTERNAL, ret, "csr: writing the request");
		goto out;
	}
	/* Move the DER, written backwards, to the start of the buffer. */
	memmove(req, p, (size_t)ret);
	*der = req;
	*der_len = (size_t)ret;
	req = NULL;
	rc = 0;
out:
	free(spki);
	/* Both held the nonce. */
	util_free_secret_buf(buf, size);
	if (req != NULL)
		util_free_secret_buf(req, req_size);
	return rc;
}
