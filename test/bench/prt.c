/*
 * bench_prt prt|token URL CAFILE TENANT CERT KEY TRANSPORT_KEY SECRET_FILE -
 * the yardstick of `make bench`'s prt and token targets: the requests
 * `drsjoin prt` (SECRET_FILE: a refresh token) and `drsjoin token --fresh`
 * (SECRET_FILE: a PRT record, prt/OID.json) make, on one mbedTLS
 * connection, with drsjoin's own crypto layer (libdrs: keys, jws, jwe) and
 * nothing else: no libcurl, no state dir, no checks of the answers beyond
 * what the next step needs. Not part of drsjoin.
 *
 * prt: srv_challenge, the RS256 PRT request, the session key unwrapped.
 * token: srv_challenge, the session key unwrapped, the HS256 request, the
 * JWE answer decrypted.
 *
 * stdout: the seconds from connect() to the last step's end.
 * exit: 0, or 1 with a line on stderr.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "cert.h"
#include "jwe.h"
#include "json.h"
#include "jws.h"
#include "keys.h"
#include "log.h"
#include "util.h"

static mbedtls_ssl_context ssl;
static char host[256], port[16], tenant[64];

static int
fail(const char *what)
{
	fprintf(stderr, "bench_prt: %s\n", what);
	return -1;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);
	size_t n = 0;

	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

/* POSTs form to /TENANT/oauth2/token; the 200 answer's body (malloc'd). */
static char *
post(const char *form)
{
	static char buf[1 << 18];
	char *head, *end, *cl;
	size_t have = 0, want = 0, len = strlen(form), off = 0;
	int n, status = 0;

	n = snprintf(buf, sizeof(buf), "POST /%s/oauth2/token HTTP/1.1\r\nHost: %s:%s\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
	    tenant, host, port, len, form);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return fail("request too long"), NULL;
	len = (size_t)n;
	while (off < len) {
		if ((n = mbedtls_ssl_write(&ssl, (unsigned char *)buf + off, len - off)) <= 0 &&
		    n != MBEDTLS_ERR_SSL_WANT_WRITE)
			return fail("write"), NULL;
		if (n > 0)
			off += (size_t)n;
	}
	for (;;) {
		n = mbedtls_ssl_read(&ssl, (unsigned char *)buf + have, sizeof(buf) - 1 - have);
		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
		if (n <= 0)
			return fail("read"), NULL;
		have += (size_t)n;
		buf[have] = '\0';
		if (want == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			sscanf(buf, "HTTP/1.%*d %d", &status);
			for (cl = buf; (cl = strstr(cl, "\r\n")) != NULL && cl < end; cl += 2)
				if (strncasecmp(cl + 2, "Content-Length:", 15) == 0)
					want = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
			if (want == 0)
				return fail("no Content-Length"), NULL;
		}
		if (want != 0 && have >= want)
			break;
	}
	if (status != 200)
		return fail("not 200"), NULL;
	head = strstr(buf, "\r\n\r\n") + 4;
	return util_strdup(head);
}

/* The srv_challenge nonce. */
static char *
nonce(void)
{
	char *body = post("grant_type=srv_challenge"), *n = NULL;
	struct json *j = body ? json_parse(body, strlen(body), 1, "nonce") : NULL;

	if (j != NULL && json_get_string(j, "Nonce") != NULL)
		n = util_strdup(json_get_string(j, "Nonce"));
	json_free(j);
	free(body);
	return n;
}

static int
do_prt(struct key *dk, const uint8_t *der, size_t der_len, struct key *tk,
    const char *rt)
{
	char payload[70000], form[80000], *n, *jwt = NULL, *body;
	struct json *j;
	uint8_t key[32];
	const char *skj;
	int rc = -1;

	if ((n = nonce()) == NULL)
		return fail("nonce");
	snprintf(payload, sizeof(payload), "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\","
	    "\"request_nonce\":\"%s\",\"scope\":\"openid aza\",\"grant_type\":\"refresh_token\","
	    "\"refresh_token\":\"%s\"}", n, rt);
	free(n);
	if (jws_rs256_x5c(dk, der, der_len, payload, strlen(payload), 0, &jwt) < 0)
		return fail("sign");
	snprintf(form, sizeof(form), "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type"
	    "%%3Ajwt-bearer&request=%s&client_info=1&tgt=true&windows_api_version=2.0", jwt);
	free(jwt);
	if ((body = post(form)) == NULL)
		return -1;
	j = json_parse(body, strlen(body), 1, "answer");
	if (j != NULL && (skj = json_get_string(j, "session_key_jwe")) != NULL &&
	    jwe_session_key(skj, strlen(skj), tk, 1, "session key", key) == 0)
		rc = 0;
	json_free(j);
	free(body);
	return rc;
}

static int
do_token(struct key *tk, const char *record)
{
	struct json *r = json_parse(record, strlen(record), 1, "record"), *a = NULL;
	char payload[70000], form[80000], *n, *jwt = NULL, *body = NULL, *plain = NULL;
	const char *skj, *prt;
	uint8_t key[32];
	size_t plen = 0;
	int rc = -1;

	if (r == NULL || (skj = json_get_string(r, "session_key_jwe")) == NULL ||
	    (prt = json_get_string(r, "prt")) == NULL || (n = nonce()) == NULL)
		return fail("record or nonce");
	snprintf(payload, sizeof(payload), "{\"client_id\":\"29d9ed98-a469-4536-ade2-f981bc1d605e\","
	    "\"resource\":\"https://graph.microsoft.com\",\"redirect_uri\":\"ms-appx-web://"
	    "Microsoft.AAD.BrokerPlugin/29d9ed98-a469-4536-ade2-f981bc1d605e\",\"grant_type\":"
	    "\"refresh_token\",\"refresh_token\":\"%s\",\"request_nonce\":\"%s\",\"iss\":"
	    "\"aad:brokerplugin\",\"aud\":\"%s\",\"iat\":%ld,\"exp\":%ld}", prt, n, host,
	    (long)time(NULL), (long)time(NULL) + 300);
	free(n);
	if (jwe_session_key(skj, strlen(skj), tk, 1, "session key", key) < 0 ||
	    jws_hs256(key, payload, strlen(payload), JWS_TYP | JWS_KDF_V2, &jwt) < 0)
		goto out;
	snprintf(form, sizeof(form), "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type"
	    "%%3Ajwt-bearer&request=%s&client_info=1&windows_api_version=2.0", jwt);
	if ((body = post(form)) == NULL ||
	    jwe_decrypt_answer(body, strlen(body), key, 1, "answer", &plain, &plen) < 0 ||
	    (a = json_parse(plain, plen, 1, "plain")) == NULL ||
	    json_get_string(a, "access_token") == NULL)
		goto out;
	rc = 0;
out:
	json_free(a);
	json_free(r);
	free(plain);
	free(jwt);
	free(body);
	return rc;
}

static int
connect_tls(const char *url, const char *cafile, mbedtls_ssl_config *conf,
    mbedtls_x509_crt *ca, mbedtls_ctr_drbg_context *drbg, mbedtls_net_context *net)
{
	const char *p = url + 8, *colon = strrchr(p, ':');
	int one = 1, ret;

	if (strncmp(url, "https://", 8) != 0 || colon == NULL)
		return fail("URL: https://HOST:PORT");
	snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (mbedtls_x509_crt_parse_file(ca, cafile) != 0 ||
	    mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		return fail("TLS configuration");
	mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(conf, ca, NULL);
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, drbg);
	mbedtls_ssl_conf_read_timeout(conf, 20000);
	if (mbedtls_ssl_setup(&ssl, conf) != 0 || mbedtls_ssl_set_hostname(&ssl, host) != 0 ||
	    mbedtls_net_connect(net, host, port, MBEDTLS_NET_PROTO_TCP) != 0)
		return fail("connect");
	setsockopt(net->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	mbedtls_ssl_set_bio(&ssl, net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	while ((ret = mbedtls_ssl_handshake(&ssl)) != 0)
		if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
			return fail("TLS handshake");
	return 0;
}

int
main(int argc, char **argv)
{
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	mbedtls_ssl_config conf;
	mbedtls_net_context net;
	struct key *dk = NULL, *tk = NULL;
	struct cert *c = NULL;
	const uint8_t *der;
	char *certpem, *dkpem, *tkpem, *secret;
	size_t der_len, l1, l2, l3;
	double start;
	int rc;

	if (argc != 9 || (strcmp(argv[1], "prt") != 0 && strcmp(argv[1], "token") != 0))
		return fail("usage: bench_prt prt|token URL CAFILE TENANT CERT KEY "
		    "TRANSPORT_KEY SECRET_FILE"), 1;
	snprintf(tenant, sizeof(tenant), "%s", argv[4]);
	if (psa_crypto_init() != PSA_SUCCESS)
		return 1;
	/* Read and parsed before the clock starts, as bench_handshake does. */
	if ((certpem = slurp(argv[5], &l1)) == NULL || (dkpem = slurp(argv[6], &l2)) == NULL ||
	    (tkpem = slurp(argv[7], &l3)) == NULL || (secret = slurp(argv[8], NULL)) == NULL ||
	    cert_parse_pem(certpem, l1, 1, "cert", &c) < 0 ||
	    keys_load_pem(dkpem, l2, "device key", &dk) < 0 ||
	    keys_load_pem(tkpem, l3, "transport key", &tk) < 0)
		return fail("reading the files"), 1;
	der = cert_der(c, &der_len);
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_x509_crt_init(&ca);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	mbedtls_net_init(&net);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0)
		return 1;
	start = now();
	if (connect_tls(argv[2], argv[3], &conf, &ca, &drbg, &net) < 0)
		return 1;
	rc = strcmp(argv[1], "prt") == 0 ? do_prt(dk, der, der_len, tk, secret) :
	    do_token(tk, secret);
	if (rc < 0)
		return fail("the requests failed"), 1;
	printf("%.6f\n", now() - start);
	mbedtls_ssl_close_notify(&ssl);
	return 0;
}
