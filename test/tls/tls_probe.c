/*
 * tls_probe URL CAFILE - one HTTPS GET through our static libcurl + mbedTLS.
 *
 * A test program, not part of drsjoin: it calls curl directly so the TLS
 * stack can be tested apart from drs/http.c. It trusts CAFILE only, never
 * follows a proxy from the environment, and reports what was negotiated.
 *
 * stdout on success: "tls=<version> http=<status>"
 * stderr on failure: "tls_probe: <curl error>: <detail>"
 * exit: 0 success (HTTP 200), 1 usage or internal error, 2 TLS handshake
 *       failed, 3 the server's certificate was not trusted, 4 other error
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <mbedtls/ssl.h>

#define EXIT_HANDSHAKE 2
#define EXIT_UNTRUSTED 3
#define EXIT_OTHER 4

static char tls_version[32];

/* The TLS context is only valid while the transfer runs: read it here. */
static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	CURL *h = userp;
	struct curl_tlssessioninfo *info = NULL;

	(void)data;
	if (tls_version[0] == '\0' &&
	    curl_easy_getinfo(h, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK &&
	    info != NULL && info->backend == CURLSSLBACKEND_MBEDTLS &&
	    info->internals != NULL) {
		const char *v = mbedtls_ssl_get_version(info->internals);
		snprintf(tls_version, sizeof(tls_version), "%s", v);
	}
	return size * n;
}

int main(int argc, char **argv)
{
	CURL *h = NULL;
	CURLcode rc;
	char err[CURL_ERROR_SIZE] = "";
	long status = 0;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: tls_probe URL CAFILE\n");
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "tls_probe: curl_global_init failed\n");
		return 1;
	}
	h = curl_easy_init();
	if (h == NULL) {
		fprintf(stderr, "tls_probe: curl_easy_init failed\n");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, argv[1]);
	curl_easy_setopt(h, CURLOPT_CAINFO, argv[2]);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, h);
	if (getenv("TLS_PROBE_VERBOSE") != NULL)
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);

	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "tls_probe: %s: %s\n", curl_easy_strerror(rc),
			err[0] ? err : "(no detail)");
		if (rc == CURLE_PEER_FAILED_VERIFICATION)
			ret = EXIT_UNTRUSTED;
		else if (rc == CURLE_SSL_CONNECT_ERROR)
			ret = EXIT_HANDSHAKE;
		else
			ret = EXIT_OTHER;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	printf("tls=%s http=%ld\n", tls_version[0] ? tls_version : "unknown",
	       status);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "tls_probe: writing stdout failed\n");
		goto out;
	}
	ret = status == 200 ? 0 : EXIT_OTHER;
	if (ret != 0)
		fprintf(stderr, "tls_probe: HTTP status %ld\n", status);
out:
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return ret;
}
