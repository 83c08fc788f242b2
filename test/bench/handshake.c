/*
 * bench_handshake URL CAFILE CERT KEY DEVICE_ID - the baseline of `make
 * bench`'s leave target: one TLS handshake with the device's certificate and
 * key plus one DELETE round trip, made with mbedTLS alone (the TLS library
 * drsjoin is built on), in this process.
 *
 * Not part of drsjoin. It is the least a client must do for the same
 * deletion: no libcurl, no state directory, no start-up in the figure. The
 * CA, certificate and key are read before the clock starts; the key is
 * fresh, as in any process that deletes a device, so its first signature
 * makes its blinding values inside the handshake.
 *
 * stdout: the seconds from connect() to the end of the answer's body, and the
 * TLS version, e.g. "0.007012 TLSv1.3".
 * exit: 0 the answer was 200, 1 anything else (a line on stderr).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

static int
fail(const char *what, int ret)
{
	char msg[128] = "";

	if (ret != 0)
		mbedtls_strerror(ret, msg, sizeof(msg));
	fprintf(stderr, "bench_handshake: %s%s%s\n", what, ret ? ": " : "", msg);
	return 1;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Reads the answer: its status, then the body Content-Length says. */
static int
read_answer(mbedtls_ssl_context *ssl, int *status)
{
	char buf[16384], *end, *cl;
	size_t have = 0, want = 0;
	int n;

	for (;;) {
		if (have == sizeof(buf) - 1)
			return fail("answer too long", 0);
		n = mbedtls_ssl_read(ssl, (unsigned char *)buf + have,
		    sizeof(buf) - 1 - have);
		if (n == MBEDTLS_ERR_SSL_WANT_READ ||
		    n == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
		if (n <= 0)
			return fail("reading the answer", n);
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (want == 0) {
			if (sscanf(buf, "HTTP/1.1 %d", status) != 1)
				return fail("not an HTTP answer", 0);
			cl = strstr(buf, "Content-Length:");
			want = (size_t)(end + 4 - buf) +
			    (cl != NULL && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
		}
		if (have >= want)
			return 0;
	}
}

int
main(int argc, char **argv)
{
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca, crt;
	mbedtls_pk_context key;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_net_context net;
	char host[256], port[16], req[512];
	const char *p, *colon;
	double start, elapsed;
	int ret, status = 0, rc = 1, one = 1;
	size_t off = 0, len;

	if (argc != 6 || strncmp(argv[1], "https://", 8) != 0 ||
	    (colon = strrchr(argv[1] + 8, ':')) == NULL)
		return fail("usage: bench_handshake https://HOST:PORT CAFILE "
		    "CERT KEY DEVICE_ID", 0);
	p = argv[1] + 8;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
	snprintf(port, sizeof(port), "%s", colon + 1);
	psa_crypto_init();
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	mbedtls_net_init(&net);
	if ((ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	    NULL, 0)) != 0) {
		fail("seeding the generator", ret);
		goto out;
	}
	if ((ret = mbedtls_x509_crt_parse_file(&ca, argv[2])) != 0 ||
	    (ret = mbedtls_x509_crt_parse_file(&crt, argv[3])) != 0 ||
	    (ret = mbedtls_pk_parse_keyfile(&key, argv[4], NULL,
	    mbedtls_ctr_drbg_random, &drbg)) != 0) {
		fail("reading the CA, certificate or key", ret);
		goto out;
	}
	if ((ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0 ||
	    (ret = mbedtls_ssl_conf_own_cert(&conf, &crt, &key)) != 0) {
		fail("TLS configuration", ret);
		goto out;
	}
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0 ||
	    (ret = mbedtls_ssl_set_hostname(&ssl, host)) != 0) {
		fail("TLS setup", ret);
		goto out;
	}
	len = (size_t)snprintf(req, sizeof(req), "DELETE "
	    "/EnrollmentServer/device/%s?api-version=1.0 HTTP/1.1\r\n"
	    "Host: %s:%s\r\nAccept: application/json\r\n\r\n", argv[5], host, port);
	if (len >= sizeof(req)) {
		fail("device id too long", 0);
		goto out;
	}

	start = now();
	if ((ret = mbedtls_net_connect(&net, host, port,
	    MBEDTLS_NET_PROTO_TCP)) != 0) {
		fail("connect", ret);
		goto out;
	}
	/* As libcurl does: without it, each flight waits for a delayed ACK. */
	setsockopt(net.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
	while ((ret = mbedtls_ssl_handshake(&ssl)) != 0) {
		if (ret != MBEDTLS_ERR_SSL_WANT_READ &&
		    ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
			fail("TLS handshake", ret);
			goto out;
		}
	}
	while (off < len) {
		ret = mbedtls_ssl_write(&ssl, (unsigned char *)req + off, len - off);
		if (ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret <= 0) {
			fail("sending the request", ret);
			goto out;
		}
		off += (size_t)ret;
	}
	if (read_answer(&ssl, &status) != 0)
		goto out;
	elapsed = now() - start;

	if (status != 200) {
		fprintf(stderr, "bench_handshake: the DELETE answered %d\n", status);
		goto out;
	}
	printf("%.6f %s\n", elapsed, mbedtls_ssl_get_version(&ssl));
	rc = 0;
	mbedtls_ssl_close_notify(&ssl);
out:
	mbedtls_net_free(&net);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return rc;
}
