/*
 * cert.h - the device certificate the service issues (the join response's
 * Certificate.RawBody), and the same certificate read back from the state
 * dir.
 *
 * Device id: the subject CN, which must be a GUID (8-4-4-4-12 hex digits).
 * It is kept in lowercase, the canonical form Entra shows device ids in
 * (dsregcmd, Graph), whatever the case the service wrote it in; compare
 * device ids case-insensitively anyway.
 */
#ifndef DRS_CERT_H
#define DRS_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cert;
struct key;

#define CERT_THUMBPRINT_LEN	40	/* hex digits of a SHA-1 */

/*
 * Parses one X.509 certificate of len DER bytes (nothing may follow it)
 * whose subject CN is a GUID. Errors name what ("join: the certificate")
 * and use code (EXIT_NETWORK for the service's answer, EXIT_INPUT or
 * EXIT_IO for a stored file). 0 / -1.
 */
int cert_parse_der(const uint8_t *der, size_t len, int code,
    const char *what, struct cert **out);
/* The same from standard base64 (the RawBody field). 0 / -1. */
int cert_parse_base64(const char *b64, int code, const char *what,
    struct cert **out);
/* The same from PEM ("BEGIN CERTIFICATE"; a NUL is not needed). 0 / -1. */
int cert_parse_pem(const char *pem, size_t len, int code, const char *what,
    struct cert **out);
void cert_free(struct cert *c);

/* The device id: the subject CN, a lowercase GUID. Borrowed. */
const char *cert_device_id(const struct cert *c);
/* Validity, UTC, as time_t. */
time_t cert_not_before(const struct cert *c);
time_t cert_not_after(const struct cert *c);
/* The issuer DN as mbedTLS prints it, RDNs in encoded order, e.g.
 * "DC=net, DC=windows, OU=82dbaca4-..., CN=MS-Organization-Access".
 * Borrowed. */
const char *cert_issuer(const struct cert *c);
/* SHA-1 of the DER, CERT_THUMBPRINT_LEN uppercase hex digits. Borrowed. */
const char *cert_thumbprint(const struct cert *c);
/* The DER bytes. Borrowed. */
const uint8_t *cert_der(const struct cert *c, size_t *len);

/* 1 when hex (any letter case, exactly 40 digits) is the thumbprint. */
int cert_thumbprint_matches(const struct cert *c, const char *hex);
/* 1 when the certificate's public key is k's public key, else 0. */
int cert_public_matches(const struct cert *c, const struct key *k);

/*
 * The checks of a join answer (protocol.md, Phase 5): Thumbprint is the
 * SHA-1 of RawBody, and the certificate holds the device key's public key.
 * Failures are EXIT_NETWORK (an unusable answer), e.g. "join: the
 * certificate's public key is not the device key". 0 / -1.
 */
int cert_check_join(const struct cert *c, const struct key *dk,
    const char *thumbprint);

/* Clock skew allowed on notBefore, in seconds (as for the token). */
#define CERT_SKEW	300
/*
 * The certificate is valid at now: notBefore <= now + CERT_SKEW and
 * notAfter > now. Else EXIT_NETWORK, "<what> expired at <time> (now <time>)"
 * or "<what> is not valid before <time> (now <time>)". 0 / -1.
 */
int cert_check_time(const struct cert *c, time_t now, const char *what);

/* The certificate as PEM, NUL-terminated, *len = strlen; caller frees.
 * 0 / -1 (reported). */
int cert_pem(const struct cert *c, char **pem, size_t *len);

/*
 * The CA bundle: the trust anchors of every TLS connection, parsed once per
 * session (http.c). Its PEM blocks ("BEGIN CERTIFICATE") are decoded here
 * and only the DER goes to mbedTLS: mbedTLS's own PEM reader decodes base64
 * in constant time, about 5 ms for a 145-certificate system bundle, and
 * nothing in a bundle is secret. A file without PEM blocks is read as one
 * DER certificate. As mbedTLS's reader does, a block that does not decode
 * or parse is skipped (counted at -v); a bundle with no usable certificate
 * is an error, "<what>: no certificate in it" (EXIT_INPUT). 0 / -1.
 */
struct cert_ca;
int cert_ca_parse(const char *pem, size_t len, const char *what,
    struct cert_ca **out);
/* How many certificates it holds, and how many blocks were skipped. */
size_t cert_ca_count(const struct cert_ca *ca, size_t *skipped);
/* The DER of its i-th certificate (file order), or NULL. Borrowed. */
const uint8_t *cert_ca_der(const struct cert_ca *ca, size_t i, size_t *len);
/* Makes ca the trust anchors of a TLS configuration (an mbedtls_ssl_config
 * *, as void *); ca must outlive every connection made with it. */
void cert_ca_configure(void *tls_config, const struct cert_ca *ca);
void cert_ca_free(struct cert_ca *ca);
/*
 * The server name a TLS connection (an mbedtls_ssl_context *, as void *)
 * sends and verifies the peer's certificate against, when that connection
 * is set up with tls_config; NULL otherwise (not that connection, or no
 * name set). Borrowed.
 */
const char *cert_tls_server_name(void *ssl, const void *tls_config);

#endif
