/*
 * test_cert_ca.c - the CA bundle reader (cert_ca_parse): the same
 * certificates as mbedTLS's own reader of the system bundle, the PEM forms
 * bundles use, and what it skips or refuses.
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "b64.h"
#include "cert.h"
#include "fixture.h"
#include "log.h"
#include "tap.h"

#define SYSTEM_BUNDLE	"/etc/ssl/certs/ca-certificates.crt"

static char *pem_good;		/* data/cert.pem */
static size_t pem_good_len;

/* Parses text; returns the count (-1 on failure), *skipped set. */
static long
parse(const char *text, size_t len, size_t *skipped)
{
	struct cert_ca *ca = NULL;
	long n;

	*skipped = 0;
	if (cert_ca_parse(text, len, "t: the CA bundle x", &ca) < 0)
		return -1;
	n = (long)cert_ca_count(ca, skipped);
	cert_ca_free(ca);
	return n;
}

static char *
cat(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s%s%s", a, b, c);
	return s;
}

/* The PEM of data/cert.pem with every "\n" made "\r\n". */
static char *
crlf(const char *pem)
{
	char *s = malloc(strlen(pem) * 2 + 1), *o = s;

	if (s == NULL)
		return NULL;
	for (; *pem != '\0'; pem++) {
		if (*pem == '\n')
			*o++ = '\r';
		*o++ = *pem;
	}
	*o = '\0';
	return s;
}

static void
refused(const char *text, size_t len, const char *name, const char *reason)
{
	struct cert_ca *ca = (struct cert_ca *)&ca;
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = cert_ca_parse(text, len, "discover: the CA bundle x", &ca);
	err = capture_end();
	CHECK_ERR(rc == -1 && ca == NULL && log_exit_code() == EXIT_INPUT &&
	    lines(err) == 1 && has(err, "drsjoin: discover: the CA bundle x: ") &&
	    has(err, reason), err, "refuses %s: %s", name, reason);
	free(err);
}

/* Same certificates, same order, as mbedtls_x509_crt_parse_file. */
static void
same_as_mbedtls(void)
{
	mbedtls_x509_crt ref, *r;
	struct cert_ca *ca = NULL;
	uint8_t *text;
	size_t len, skipped = 9, n_ref = 0;
	FILE *f;
	int ret;

	if ((f = fopen(SYSTEM_BUNDLE, "r")) == NULL) {
		SKIP("the system bundle as mbedTLS reads it: no %s", SYSTEM_BUNDLE);
		return;
	}
	fclose(f);
	setenv("DRSJOIN_TEST_DATA", "/etc/ssl/certs", 1);
	text = fixture_read("ca-certificates.crt", &len);
	unsetenv("DRSJOIN_TEST_DATA");
	mbedtls_x509_crt_init(&ref);
	ret = mbedtls_x509_crt_parse_file(&ref, SYSTEM_BUNDLE);
	for (r = &ref; r != NULL && r->raw.p != NULL; r = r->next)
		n_ref++;
	CHECK(text != NULL && ret >= 0 && n_ref > 100 &&
	    cert_ca_parse((char *)text, len, "t", &ca) == 0,
	    "the system bundle is read (%zu certificates by mbedTLS)", n_ref);
	if (ca != NULL) {
		CHECK(cert_ca_count(ca, &skipped) == n_ref && skipped == (size_t)ret,
		    "the system bundle: as many certificates as mbedTLS's reader "
		    "(%zu), as many skipped (%d)", n_ref, ret);
		for (r = &ref, n_ref = 0; r != NULL && r->raw.p != NULL;
		    r = r->next, n_ref++) {
			const uint8_t *d = cert_ca_der(ca, n_ref, &len);

			if (d == NULL || len != r->raw.len ||
			    memcmp(d, r->raw.p, len) != 0)
				break;
		}
		CHECK(r == NULL || r->raw.p == NULL,
		    "the system bundle: the same DER, in the same order");
	}
	cert_ca_free(ca);
	mbedtls_x509_crt_free(&ref);
	free(text);
}

int
main(void)
{
	uint8_t *der;
	char *s, *good2, *bad;
	size_t skipped, der_len;
	long n;

	pem_good = (char *)fixture_read("cert.pem", &pem_good_len);
	der = fixture_read("cert.der", &der_len);
	if (pem_good == NULL || der == NULL)
		return 1;

	same_as_mbedtls();

	n = parse(pem_good, pem_good_len, &skipped);
	CHECK(n == 1 && skipped == 0, "one PEM certificate");
	s = crlf(pem_good);
	n = s != NULL ? parse(s, strlen(s), &skipped) : -1;
	CHECK(n == 1 && skipped == 0, "CRLF line ends");
	free(s);
	s = cat("# a comment line\nsome text\n", pem_good, "\ntrailing text\n");
	n = s != NULL ? parse(s, strlen(s), &skipped) : -1;
	CHECK(n == 1 && skipped == 0, "text around the block is ignored");
	free(s);
	n = parse((char *)der, der_len, &skipped);
	CHECK(n == 1 && skipped == 0, "a DER file: one certificate");
	/* No line break after the last END line (find() up to the very end). */
	n = parse(pem_good, pem_good_len - 1, &skipped);
	CHECK(pem_good[pem_good_len - 1] == '\n' && n == 1 && skipped == 0,
	    "no line break after the END line");
	/* Blanks at line ends, and one after the BEGIN marker (as mbedTLS). */
	s = malloc(pem_good_len * 3 + 2);
	if (s != NULL) {
		size_t i, o = 0;

		for (i = 0; i < pem_good_len; i++) {
			if (pem_good[i] == '\n' && i > 30) {
				s[o++] = ' ';
				s[o++] = '\t';
			} else if (pem_good[i] == '\n') {
				s[o++] = ' ';
			}
			s[o++] = pem_good[i];
		}
		s[o] = '\0';
	}
	n = s != NULL ? parse(s, strlen(s), &skipped) : -1;
	CHECK(n == 1 && skipped == 0, "blanks and tabs at line ends, a blank "
	    "after BEGIN");
	free(s);

	/* One block broken each way, beside a good one: skipped, counted. */
	good2 = cat(pem_good, pem_good, "");
	n = good2 != NULL ? parse(good2, strlen(good2), &skipped) : -1;
	CHECK(n == 2 && skipped == 0, "two blocks: two certificates");
	bad = cat(pem_good, "-----BEGIN CERTIFICATE-----\nMIIB*not base64*\n"
	    "-----END CERTIFICATE-----\n", pem_good);
	n = bad != NULL ? parse(bad, strlen(bad), &skipped) : -1;
	CHECK(n == 2 && skipped == 1, "a block that is not base64 is skipped");
	free(bad);
	bad = cat(pem_good, "-----BEGIN CERTIFICATE-----\nAAECAwQF\n"
	    "-----END CERTIFICATE-----\n", "");
	n = bad != NULL ? parse(bad, strlen(bad), &skipped) : -1;
	CHECK(n == 1 && skipped == 1, "a block that is not a certificate is skipped");
	free(bad);
	bad = cat("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n"
	    "\nAAECAwQF\n-----END CERTIFICATE-----\n", pem_good, "");
	n = bad != NULL ? parse(bad, strlen(bad), &skipped) : -1;
	CHECK(n == 1 && skipped == 1, "a block with header lines is skipped");
	free(bad);
	bad = cat("-----BEGIN CERTIFICATE----- trailing\nAAECAwQF\n"
	    "-----END CERTIFICATE-----\n", pem_good, "");
	n = bad != NULL ? parse(bad, strlen(bad), &skipped) : -1;
	CHECK(n == 1 && skipped == 1, "a BEGIN line with more on it is skipped");
	free(bad);
	bad = cat(pem_good, "-----BEGIN CERTIFICATE-----\nMIIB", "");
	n = bad != NULL ? parse(bad, strlen(bad), &skipped) : -1;
	CHECK(n == 1 && skipped == 1, "a last block cut short is skipped");
	free(bad);
	/* Other PEM types are not certificates. */
	s = cat("-----BEGIN PRIVATE KEY-----\nAAECAwQF\n-----END PRIVATE KEY-----\n",
	    pem_good, "");
	n = s != NULL ? parse(s, strlen(s), &skipped) : -1;
	CHECK(n == 1 && skipped == 0, "a private key block is not read");
	free(s);

	refused("", 0, "an empty bundle", "no certificate in it");
	refused("hello\n", 6, "text", "no certificate in it");
	s = "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n";
	refused(s, strlen(s), "only a broken block",
	    "no certificate in it (none of its blocks is an X.509 certificate");
	refused((char *)der, der_len - 1, "a truncated DER file",
	    "no certificate in it");
	free(good2);

	free(pem_good);
	free(der);
	return tap_done();
}
