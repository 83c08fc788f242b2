/*
 * test_cert.c - the device certificate: data/cert.der was issued by OpenSSL
 * for key.pem with a GUID CN (data/make-fixtures.sh); the expected values
 * are OpenSSL's (openssl x509 -noout -subject -issuer -dates -fingerprint).
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cert.h"
#include "fixture.h"
#include "keys.h"
#include "log.h"
#include "tap.h"

#define DEVICE_ID	"3f2504e0-4f89-41d3-9a0c-0305e82c3301"
/* openssl x509 -fingerprint -sha1, without the colons */
#define THUMBPRINT	"294362BF5E0E33EFC95EF5575A499B1990BDF0D8"
#define THUMBPRINT_UPPER_CN "4D0C7242120F9A7DFD1A73895C6C219701974874"
/* notBefore=2026-11-22 03:23:38Z, notAfter=2036-11-19 03:23:38Z
 * (date -u -d ... +%s) */
#define NOT_BEFORE	1795317818
#define NOT_AFTER	2110677818
#define ISSUER		"DC=net, DC=windows, " \
	"OU=82dbaca4-3e81-46ca-9c73-0950c1eaca97, CN=MS-Organization-Access"

static struct key *
load_key(const char *name)
{
	struct key *k = NULL;
	uint8_t *pem;
	size_t len;

	if ((pem = fixture_read(name, &len)) == NULL)
		return NULL;
	keys_load_pem((char *)pem, len, name, &k);
	free(pem);
	return k;
}

static void
refused(const uint8_t *der, size_t len, const char *name, const char *reason)
{
	struct cert *c = (struct cert *)&c;
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = cert_parse_der(der, len, EXIT_NETWORK, "join: the certificate",
	    &c);
	err = capture_end();
	CHECK_ERR(rc == -1 && c == NULL && log_exit_code() == EXIT_NETWORK &&
	    lines(err) == 1 && has(err, "drsjoin: join: the certificate: ") &&
	    has(err, reason), err, "refuses %s: %s", name, reason);
	free(err);
}

int
main(void)
{
	uint8_t *der, *upper, *notguid, *pem_want, *bad;
	size_t der_len, upper_len, notguid_len, pem_want_len, len;
	struct cert *c = NULL, *c2 = NULL;
	struct key *dk, *other;
	const uint8_t *raw;
	char *b64, *pem, *err;
	int rc;

	der = fixture_read("cert.der", &der_len);
	upper = fixture_read("cert_upper.der", &upper_len);
	notguid = fixture_read("cert_notguid.der", &notguid_len);
	pem_want = fixture_read("cert.pem", &pem_want_len);
	dk = load_key("key.pem");
	other = load_key("key2.pem");
	if (der == NULL || upper == NULL || notguid == NULL ||
	    pem_want == NULL || dk == NULL || other == NULL)
		return tap_done();

	rc = cert_parse_der(der, der_len, EXIT_NETWORK, "t", &c);
	CHECK(rc == 0 && c != NULL, "parse cert.der");
	if (c == NULL)
		return tap_done();
	CHECK(strcmp(cert_device_id(c), DEVICE_ID) == 0,
	    "device id = the subject CN");
	CHECK(cert_not_before(c) == NOT_BEFORE &&
	    cert_not_after(c) == NOT_AFTER, "validity as time_t (UTC)");
	CHECK(strcmp(cert_issuer(c), ISSUER) == 0, "issuer string");
	CHECK(strcmp(cert_thumbprint(c), THUMBPRINT) == 0,
	    "thumbprint = openssl x509 -fingerprint -sha1, uppercase");
	CHECK(cert_thumbprint_matches(c, THUMBPRINT) &&
	    cert_thumbprint_matches(c, "294362bf5e0e33efc95ef5575a499b1990bdf0d8"),
	    "thumbprint compared in any letter case");
	CHECK(!cert_thumbprint_matches(c, NULL) &&
	    !cert_thumbprint_matches(c, "294362BF5E0E33EFC95EF5575A499B1990BDF0D") &&
	    !cert_thumbprint_matches(c, THUMBPRINT "0") &&
	    !cert_thumbprint_matches(c, THUMBPRINT_UPPER_CN) &&
	    !cert_thumbprint_matches(c, "29:43:62:BF:5E:0E:33:EF:C9:5E:F5:57:5A:"
	    "49:9B:19:90:BD:F0:D8"),
	    "other thumbprints do not match (short, long, another, colons)");
	raw = cert_der(c, &len);
	CHECK(len == der_len && memcmp(raw, der, len) == 0, "DER kept as sent");

	CHECK(cert_public_matches(c, dk) == 1,
	    "public key matches the fixed key");
	CHECK(cert_public_matches(c, other) == 0,
	    "public key does not match another key");

	/* The join checks. */
	log_reset();
	CHECK(cert_check_join(c, dk, "294362bf5e0e33efc95ef5575a499b1990bdf0d8")
	    == 0, "join check passes: Thumbprint and device key");
	log_reset();
	capture_begin();
	rc = cert_check_join(c, other, THUMBPRINT);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_NETWORK &&
	    lines(err) == 1 && has(err, "drsjoin: join: the certificate's "
	    "public key is not the device key"), err,
	    "join check: a certificate for another key is refused");
	free(err);
	log_reset();
	capture_begin();
	rc = cert_check_join(c, dk, THUMBPRINT_UPPER_CN);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_NETWORK &&
	    has(err, "join: the certificate's Thumbprint \"" THUMBPRINT_UPPER_CN
	    "\" is not the SHA-1 of its RawBody (" THUMBPRINT ")"), err,
	    "join check: a wrong Thumbprint is refused");
	free(err);
	log_reset();
	capture_begin();
	rc = cert_check_join(c, dk, NULL);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_NETWORK &&
	    has(err, "no certificate Thumbprint"), err,
	    "join check: a missing Thumbprint is refused");
	free(err);

	/* PEM export: what OpenSSL writes. */
	rc = cert_pem(c, &pem, &len);
	CHECK(rc == 0 && len == pem_want_len && strlen(pem) == len &&
	    memcmp(pem, pem_want, len) == 0,
	    "PEM = openssl x509 -outform PEM");
	if (rc == 0) {
		CHECK(cert_parse_pem(pem, len, EXIT_IO, "t", &c2) == 0 &&
		    strcmp(cert_thumbprint(c2), THUMBPRINT) == 0,
		    "PEM parses back");
		cert_free(c2);
		c2 = NULL;
		free(pem);
	}
	log_reset();
	capture_begin();
	rc = cert_parse_pem("hello", 5, EXIT_IO, "/var/lib/drsjoin/device.pem",
	    &c2);
	err = capture_end();
	CHECK_ERR(rc == -1 && c2 == NULL && log_exit_code() == EXIT_IO &&
	    has(err, "drsjoin: /var/lib/drsjoin/device.pem: not a PEM "
	    "certificate"), err, "PEM: text without a certificate refused");
	free(err);

	/* From base64 (RawBody). */
	b64 = b64_encode(der, der_len);
	CHECK(b64 != NULL && cert_parse_base64(b64, EXIT_NETWORK, "t", &c2) == 0
	    && strcmp(cert_device_id(c2), DEVICE_ID) == 0,
	    "parse from base64 (RawBody)");
	cert_free(c2);
	c2 = NULL;
	if (b64 != NULL) {
		b64[10] = '*';
		log_reset();
		capture_begin();
		rc = cert_parse_base64(b64, EXIT_NETWORK, "join: RawBody", &c2);
		err = capture_end();
		CHECK_ERR(rc == -1 && c2 == NULL &&
		    log_exit_code() == EXIT_NETWORK &&
		    has(err, "join: RawBody: not valid base64: invalid "
		    "character at offset 10"), err,
		    "RawBody that is not base64 refused");
		free(err);
	}
	free(b64);

	/* The device id in lowercase, whatever the service wrote. */
	CHECK(cert_parse_der(upper, upper_len, EXIT_NETWORK, "t", &c2) == 0 &&
	    strcmp(cert_device_id(c2), DEVICE_ID) == 0 &&
	    strcmp(cert_thumbprint(c2), THUMBPRINT_UPPER_CN) == 0,
	    "an uppercase GUID CN gives the lowercase device id");
	cert_free(c2);
	c2 = NULL;

	refused(notguid, notguid_len, "a CN that is not a GUID",
	    "the subject CN \"not-a-device-id\" is not a GUID");
	refused((const uint8_t *)"garbage", 7, "garbage",
	    "not a usable X.509 certificate: ");
	refused(der, 0, "nothing", "empty");
	refused(der, der_len - 1, "a truncated certificate",
	    "not a usable X.509 certificate: ");
	refused(der, 200, "the first 200 bytes",
	    "not a usable X.509 certificate: ");
	if ((bad = malloc(der_len + 2)) != NULL) {
		memcpy(bad, der, der_len);
		bad[der_len] = 0;
		bad[der_len + 1] = 0;
		refused(bad, der_len + 2, "trailing bytes",
		    "2 bytes follow the certificate");
		memcpy(bad, der, der_len);
		bad[der_len / 2] ^= 0x01;	/* a bit flip in the body */
		rc = cert_parse_der(bad, der_len, EXIT_NETWORK, "t", &c2);
		CHECK(rc == -1 || strcmp(cert_thumbprint(c2), THUMBPRINT) != 0,
		    "a flipped bit changes the thumbprint (or is refused)");
		cert_free(c2);
		free(bad);
	}

	cert_free(c);
	cert_free(NULL);
	keys_free(dk);
	keys_free(other);
	free(der);
	free(upper);
	free(notguid);
	free(pem_want);
	return tap_done();
}
