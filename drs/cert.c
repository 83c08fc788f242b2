/* cert.c - the device certificate: parse, check against the join answer,
 * export as PEM. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "b64.h"
#include "cert.h"
#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#define GUID_LEN	36
#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----"
#define PEM_END		"-----END CERTIFICATE-----"

struct cert {
	mbedtls_x509_crt crt;
	char device_id[GUID_LEN + 1];
	char issuer[512];
	char thumbprint[CERT_THUMBPRINT_LEN + 1];
	time_t not_before, not_after;
};

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static time_t
to_time(const mbedtls_x509_time *t)
{
	return (time_t)(days_from_civil(t->year, (unsigned)t->mon,
	    (unsigned)t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec);
}

/* A printable, bounded copy of untrusted text for an error message. */
static void
sanitize(char *out, size_t size, const unsigned char *in, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < size; i++)
		out[o++] = in[i] >= 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
	if (i < len && o + 4 < size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Finds the one subject CN; fills device_id. 0 / -1 (reported). */
static int
take_device_id(struct cert *c, int code, const char *what)
{
	const mbedtls_x509_name *n;
	const mbedtls_x509_buf *cn = NULL;
	char shown[80];
	size_t i;

	for (n = &c->crt.subject; n != NULL; n = n->next) {
		if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN,
		    &n->oid) != 0)
			continue;
		if (cn != NULL)
			return log_fail(code, "%s: the subject has more than "
			    "one CN", what);
		cn = &n->val;
	}
	if (cn == NULL)
		return log_fail(code, "%s: the subject has no CN (the device "
		    "id)", what);
	if (!util_is_guid((const char *)cn->p, cn->len)) {
		sanitize(shown, sizeof(shown), cn->p, cn->len);
		return log_fail(code, "%s: the subject CN \"%s\" is not a GUID "
		    "(the device id)", what, shown);
	}
	for (i = 0; i < GUID_LEN; i++)
		c->device_id[i] = (char)tolower(cn->p[i]);
	c->device_id[GUID_LEN] = '\0';
	return 0;
}

int
cert_parse_der(const uint8_t *der, size_t len, int code, const char *what,
    struct cert **out)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t sha1[CRYPTO_SHA1_LEN];
	struct cert *c;
	int ret, i;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	mbedtls_x509_crt_init(&c->crt);
	if (len == 0) {
		log_fail(code, "%s: empty", what);
		goto fail;
	}
	ret = mbedtls_x509_crt_parse_der(&c->crt, der, len);
	if (ret != 0) {
		crypto_fail(code, ret, "%s: not a usable X.509 certificate",
		    what);
		goto fail;
	}
	if (c->crt.raw.len != len) {
		log_fail(code, "%s: %zu bytes follow the certificate", what,
		    len - c->crt.raw.len);
		goto fail;
	}
	if (take_device_id(c, code, what) != 0)
		goto fail;
	if (mbedtls_x509_dn_gets(c->issuer, sizeof(c->issuer),
	    &c->crt.issuer) < 0) {
		log_fail(code, "%s: the issuer name is too long", what);
		goto fail;
	}
	if (crypto_sha1(der, len, sha1) != 0)
		goto fail;
	for (i = 0; i < CRYPTO_SHA1_LEN; i++) {
		c->thumbprint[2 * i] = hex[sha1[i] >> 4];
		c->thumbprint[2 * i + 1] = hex[sha1[i] & 15];
	}
	c->thumbprint[CERT_THUMBPRINT_LEN] = '\0';
	c->not_before = to_time(&c->crt.valid_from);
	c->not_after = to_time(&c->crt.valid_to);
	*out = c;
	return 0;
fail:
	cert_free(c);
	return -1;
}

int
cert_parse_base64(const char *b64, int code, const char *what,
    struct cert **out)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (b64_decode(b64, strlen(b64), code, what, &der, &len) != 0)
		return -1;
	rc = cert_parse_der(der, len, code, what, out);
	free(der);
	return rc;
}

int
cert_parse_pem(const char *pem, size_t len, int code, const char *what,
    struct cert **out)
{
	mbedtls_pem_context ctx;
	const unsigned char *der;
	char *copy = NULL;
	size_t used = 0, der_len = 0;
	int ret, rc = -1;

	*out = NULL;
	mbedtls_pem_init(&ctx);
	if ((copy = malloc(len + 1)) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	memcpy(copy, pem, len);
	copy[len] = '\0';
	ret = mbedtls_pem_read_buffer(&ctx, PEM_BEGIN, PEM_END,
	    (const unsigned char *)copy, NULL, 0, &used);
	if (ret != 0) {
		if (ret == MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT)
			log_fail(code, "%s: not a PEM certificate", what);
		else
			crypto_fail(code, ret, "%s: not a PEM certificate",
			    what);
		goto out;
	}
	der = mbedtls_pem_get_buffer(&ctx, &der_len);
	rc = cert_parse_der(der, der_len, code, what, out);
out:
	mbedtls_pem_free(&ctx);
	free(copy);
	return rc;
}

void
cert_free(struct cert *c)
{
	if (c == NULL)
		return;
	mbedtls_x509_crt_free(&c->crt);
	free(c);
}

const char *
cert_device_id(const struct cert *c)
{
	return c->device_id;
}

time_t
cert_not_before(const struct cert *c)
{
	return c->not_before;
}

time_t
cert_not_after(const struct cert *c)
{
	return c->not_after;
}

const char *
cert_issuer(const struct cert *c)
{
	return c->issuer;
}

const char *
cert_thumbprint(const struct cert *c)
{
	return c->thumbprint;
}

const uint8_t *
cert_der(const struct cert *c, size_t *len)
{
	*len = c->crt.raw.len;
	return c->crt.raw.p;
}

int
cert_thumbprint_matches(const struct cert *c, const char *hex)
{
	return hex != NULL && strlen(hex) == CERT_THUMBPRINT_LEN &&
	    strcasecmp(hex, c->thumbprint) == 0;
}

int
cert_public_matches(const struct cert *c, const struct key *k)
{
	return keys_public_equal(k, c->crt.pk_raw.p, c->crt.pk_raw.len);
}

int
cert_check_join(const struct cert *c, const struct key *dk,
    const char *thumbprint)
{
	char shown[48];

	if (thumbprint == NULL)
		return log_fail(EXIT_NETWORK, "join: the answer has no "
		    "certificate Thumbprint");
	if (!cert_thumbprint_matches(c, thumbprint)) {
		sanitize(shown, sizeof(shown),
		    (const unsigned char *)thumbprint, strlen(thumbprint));
		return log_fail(EXIT_NETWORK, "join: the certificate's "
		    "Thumbprint \"%s\" is not the SHA-1 of its RawBody (%s)",
		    shown, c->thumbprint);
	}
	if (!cert_public_matches(c, dk))
		return log_fail(EXIT_NETWORK, "join: the certificate's public "
		    "key is not the device key");
	return 0;
}

static void
time_text(time_t t, char *buf, size_t n)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "%lld", (long long)t);
}

int
cert_check_time(const struct cert *c, time_t now, const char *what)
{
	char a[32], b[32];

	if (c->not_before > now + CERT_SKEW) {
		time_text(c->not_before, a, sizeof(a));
		time_text(now, b, sizeof(b));
		return log_fail(EXIT_NETWORK, "%s is not valid before %s (now "
		    "%s)", what, a, b);
	}
	if (c->not_after <= now) {
		time_text(c->not_after, a, sizeof(a));
		time_text(now, b, sizeof(b));
		return log_fail(EXIT_NETWORK, "%s expired at %s (now %s)", what,
		    a, b);
	}
	return 0;
}

int
cert_pem(const struct cert *c, char **pem, size_t *len)
{
	unsigned char *buf = NULL;
	size_t size, olen = 0;
	int ret;

	*pem = NULL;
	*len = 0;
	size = (c->crt.raw.len + 2) / 3 * 4 + c->crt.raw.len / 48 + 128;
	if ((buf = malloc(size)) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	ret = mbedtls_pem_write_buffer(PEM_BEGIN "\n", PEM_END "\n",
	    c->crt.raw.p, c->crt.raw.len, buf, size, &olen);
	if (ret != 0) {
		free(buf);
		return crypto_fail(EXIT_INTERNAL, ret, "writing the "
		    "certificate as PEM");
	}
	*pem = (char *)buf;
	*len = strlen(*pem);
	return 0;
}

/* ---- The CA bundle ------------------------------------------------------ */

struct cert_ca {
	mbedtls_x509_crt chain;
	mbedtls_x509_crt *tail;	/* its last; parse_der appends after it */
	size_t count, skipped;
};

/* The first n-byte needle in [p, end), or NULL (memmem is not POSIX). */
static const char *
find(const char *p, const char *end, const char *needle, size_t n)
{
	for (; (size_t)(end - p) >= n; p++)
		if ((p = memchr(p, needle[0], (size_t)(end - p) - n + 1)) == NULL)
			return NULL;
		else if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

/* Adds one DER certificate; 0, 1 when it was skipped, -1 (reported). */
static int
ca_add(struct cert_ca *ca, const uint8_t *der, size_t len)
{
	/* From the tail: from the head, an 8 MiB bundle would be quadratic. */
	int ret = mbedtls_x509_crt_parse_der(ca->tail, der, len);

	if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED)
		return log_fail(EXIT_INTERNAL, "out of memory");
	if (ret != 0) {
		ca->skipped++;
		return 1;
	}
	while (ca->tail->next != NULL)
		ca->tail = ca->tail->next;
	ca->count++;
	return 0;
}

/*
 * Decodes the base64 between a BEGIN line's end and its END marker (line
 * breaks and blanks ignored, no header lines) and adds it; 0, 1 skipped,
 * -1 (reported).
 */
static int
ca_add_block(struct cert_ca *ca, const char *body, size_t len)
{
	char *text;
	uint8_t *der = NULL;
	size_t i, n = 0, der_len = 0;
	int rc;

	if ((text = malloc(len + 1)) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	for (i = 0; i < len; i++)
		if (body[i] != '\n' && body[i] != '\r' && body[i] != ' ' &&
		    body[i] != '\t')
			text[n++] = body[i];
	/* what NULL: a block that is not base64 is skipped, not reported. */
	rc = b64_decode(text, n, EXIT_INPUT, NULL, &der, &der_len);
	free(text);
	if (rc == B64_NOMEM)
		return -1;
	if (rc < 0) {
		ca->skipped++;
		return 1;
	}
	rc = ca_add(ca, der, der_len);
	free(der);
	return rc;
}

int
cert_ca_parse(const char *pem, size_t len, const char *what,
    struct cert_ca **out)
{
	const size_t blen = strlen(PEM_BEGIN), elen = strlen(PEM_END);
	struct cert_ca *ca;
	const char *p = pem, *end = pem + len, *b, *e;
	int rc = 0;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	mbedtls_x509_crt_init(&ca->chain);
	ca->tail = &ca->chain;
	while (rc >= 0 && (b = find(p, end, PEM_BEGIN, blen)) != NULL) {
		p = b + blen;
		/* The marker ends its line (one blank may follow, as mbedTLS's
		 * reader allows). */
		if (p < end && *p == ' ')
			p++;
		if (p < end && *p == '\r')
			p++;
		if (p >= end || *p != '\n') {
			ca->skipped++;
			continue;
		}
		p++;
		if ((e = find(p, end, PEM_END, elen)) == NULL) {
			ca->skipped++;	/* cut short */
			break;
		}
		rc = ca_add_block(ca, p, (size_t)(e - p));
		p = e + elen;
	}
	/* No PEM at all: one DER certificate (a SEQUENCE). */
	if (rc >= 0 && p == pem && len > 0 && (unsigned char)pem[0] == 0x30)
		rc = ca_add(ca, (const uint8_t *)pem, len);
	if (rc >= 0 && ca->count == 0)
		rc = log_fail(EXIT_INPUT, "%s: no certificate in it%s", what,
		    ca->skipped > 0 ? " (none of its blocks is an X.509 "
		    "certificate mbedTLS reads)" : "");
	if (rc < 0) {
		cert_ca_free(ca);
		return -1;
	}
	*out = ca;
	return 0;
}

size_t
cert_ca_count(const struct cert_ca *ca, size_t *skipped)
{
	if (skipped != NULL)
		*skipped = ca->skipped;
	return ca->count;
}

const uint8_t *
cert_ca_der(const struct cert_ca *ca, size_t i, size_t *len)
{
	const mbedtls_x509_crt *c = &ca->chain;

	for (; c != NULL && c->raw.p != NULL; c = c->next, i--)
		if (i == 0) {
			*len = c->raw.len;
			return c->raw.p;
		}
	return NULL;
}

void
cert_ca_configure(void *tls_config, const struct cert_ca *ca)
{
	/* mbedTLS takes the chain as non-const; it only reads it. */
	mbedtls_ssl_conf_ca_chain(tls_config, (mbedtls_x509_crt *)&ca->chain,
	    NULL);
}

const char *
cert_tls_server_name(void *ssl, const void *tls_config)
{
	const char *name;

	if (ssl == NULL || tls_config == NULL ||
	    mbedtls_ssl_context_get_config(ssl) != tls_config)
		return NULL;
	name = mbedtls_ssl_get_hostname(ssl);
	return name != NULL && *name != '\0' ? name : NULL;
}

void
cert_ca_free(struct cert_ca *ca)
{
	if (ca == NULL)
		return;
	mbedtls_x509_crt_free(&ca->chain);
	free(ca);
}
