/*
 * bench_handshake URL CAFILE CERT KEY DEVICE_ID [TIMEOUT_MS] - the mbedTLS
 * yardstick of `make bench`'s leave target: one TLS handshake with the
 * device's certificate and key plus one DELETE round trip, made with mbedTLS
 * alone (the TLS library drsjoin is built on), in this process.
 *
 * Not part of drsjoin. What it times is a cold first handshake in a fresh
 * process, from connect() to the end of the answer's body: no libcurl, no
 * state directory, no process start-up, no session resumption. The CA,
 * certificate and key are read before the clock starts (a one-certificate
 * CA file, where drsjoin may load a whole system bundle); the key is fresh,
 * so its first signature makes its blinding values inside the handshake.
 *
 * Every read waits at most TIMEOUT_MS (default 20000) milliseconds, so a
 * hung server cannot hang `make bench`. The answer must carry a
 * Content-Length (any case); its body is read whole.
 *
 * stdout: the seconds from connect() to the end of the answer's body, the
 * TLS version and the body's length in bytes, e.g. "0.007012 TLSv1.3 152".
 * exit: 0 the answer was 200, 1 anything else (a line on stderr).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/*
 * The value of the header NAME (any case) in the header block from HDR to
 * END (the blank line's "\r\n\r\n"), or NULL. The status line is skipped.
 */
static const char *
header(const char *hdr, const char *end, const char *name)
{
	size_t n = strlen(name);
	const char *line;

	for (line = strstr(hdr, "\r\n"); line != NULL && line < end;
	    line = strstr(line + 2, "\r\n"))
		if (strncasecmp(line + 2, name, n) == 0 && line[2 + n] == ':')
			return line + 3 + n;
	return NULL;
}

/*
 * Reads the answer: its status, then the body its Content-Length says, whole;
 * *body is the body's length.
 */
static int
read_answer(mbedtls_ssl_context *ssl, int *status, size_t *body)
{
	char buf[16384], *end, *stop;
	const char *cl;
	size_t have = 0, head = 0, want = 0;
	unsigned long len;
	int n;

	for (;;) {
		if (have == sizeof(buf) - 1)
			return fail("answer too long", 0);
		n = mbedtls_ssl_read(ssl, (unsigned char *)buf + have,
		    sizeof(buf) - 1 - have);
		if (n == MBEDTLS_ERR_SSL_WANT_READ ||
		    n == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
		if (n == 0)
			return fail("the connection closed before the answer's "
			    "end", 0);
		if (n < 0)
			return fail("reading the answer", n);
		have += (size_t)n;
		buf[have] = '\0';
		if (head == 0) {
			if ((end = strstr(buf, "\r\n\r\n")) == NULL)
				continue;
			head = (size_t)(end + 4 - buf);
			if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
				return fail("not an HTTP answer", 0);
			if ((cl = header(buf, end, "Content-Length")) == NULL)
				return fail("the answer has no Content-Length", 0);
			cl += strspn(cl, " \t");
			errno = 0;
			len = strtoul(cl, &stop, 10);
			if (stop == cl || *cl == '-' || errno != 0 ||
			    stop[strspn(stop, " \t")] != '\r' ||
			    len > sizeof(buf) - 1 - head)
				return fail("the answer's Content-Length is not "
				    "a length that fits", 0);
			want = head + len;
		}
		if (have > want)
			return fail("more bytes than the Content-Length", 0);
		if (have == want) {
			*body = have - head;
			return 0;
		}
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
	char *stop;
	unsigned long timeout = 20000;
	int ret, status = 0, rc = 1, one = 1;
	size_t off = 0, len, body = 0;

	if ((argc != 6 && argc != 7) || strncmp(argv[1], "https://", 8) != 0 ||
	    (colon = strrchr(argv[1] + 8, ':')) == NULL)
		return fail("usage: bench_handshake https://HOST:PORT CAFILE "
		    "CERT KEY DEVICE_ID [TIMEOUT_MS]", 0);
	if (argc == 7) {
		errno = 0;
		timeout = strtoul(argv[6], &stop, 10);
		if (stop == argv[6] || *stop != '\0' || argv[6][0] == '-' ||
		    errno != 0 || timeout == 0 || timeout > 600000)
			return fail("TIMEOUT_MS: not a number of milliseconds "
			    "from 1 to 600000", 0);
	}
	p = argv[1] + 8;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (psa_crypto_init() != PSA_SUCCESS)
		return fail("psa_crypto_init failed", 0);
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
	mbedtls_ssl_conf_read_timeout(&conf, (uint32_t)timeout);
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
	/*
	 * As libcurl does. Without it each flight waits for a delayed ACK
	 * (some 40 ms a round trip): a yardstick any client would beat.
	 */
	if (setsockopt(net.fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) != 0) {
		fprintf(stderr, "bench_handshake: setting TCP_NODELAY: %s\n",
		    strerror(errno));
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, NULL,
	    mbedtls_net_recv_timeout);
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
	if (read_answer(&ssl, &status, &body) != 0)
		goto out;
	elapsed = now() - start;

	if (status != 200) {
		fprintf(stderr, "bench_handshake: the DELETE answered %d\n", status);
		goto out;
	}
	printf("%.6f %s %zu\n", elapsed, mbedtls_ssl_get_version(&ssl), body);
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
