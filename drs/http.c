/* http.c - HTTPS requests to the service; the only user of curl_* (see http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>		/* malloc_usable_size */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "cabundle.h"
#include "cert.h"
#include "cli.h"		/* DRSJOIN_VERSION */
#include "http.h"
#include "log.h"
#include "redact.h"
#include "retry.h"
#include "sandbox.h"
#include "sigdefer.h"
#include "svcerr.h"
#include "util.h"

#if LIBCURL_VERSION_NUM != 0x080e01
#error "drsjoin is pinned to libcurl 8.14.1 (third_party/versions)"
#endif


static struct {
	char *cacert;
	char *proxy;
	char *proxy_shown;	/* for messages: without user information */
	char *env_proxy_shown;	/* the environment's, as libcurl picks it, and which variable */
	long timeout_s;
	int attempts;
	long max_wait_s;
	struct curl_slist *resolve;	/* --resolve, as CURLOPT_RESOLVE wants it */
} cfg = {
	.timeout_s = HTTP_DEFAULT_TIMEOUT_S,
	.attempts = RETRY_DEFAULT_ATTEMPTS,
	.max_wait_s = RETRY_DEFAULT_MAX_WAIT_S,
};

/* Waited between attempts so far, over every request of the run (--max-wait). */
static long waited_ms;

struct http_session {
	CURL *curl;
	char *cabundle;			/* found before the first request */
	struct cert_ca *ca;		/* its certificates, read then */
	char errbuf[CURL_ERROR_SIZE];
	const char *phase;		/* of the request under way, for -v */
	const struct http_request *rq;	/* under way, for the TLS hook */
	int hook_failed;		/* the TLS hook reported its failure */
	int stopped;			/* the signal that aborted the transfer (sigdefer.h) */
	int request_out;		/* its bytes may go out (CURLOPT_PREREQFUNCTION) */
	/* The answer being received. */
	char *body;
	size_t body_len, body_cap;
	int too_large;
	char retry_after[64];
	int have_retry_after;
	time_t date;			/* its Date header (join: the service's clock) */
};

/*
 * libcurl's memory, wiped when it is given back. POSTFIELDS sends from our
 * buffer, but libcurl still copies the request (headers with the bearer
 * token, and the body: a form with a BPRT or refresh token) into its send
 * buffer and dynamic buffers, and frees them without wiping (issue 16).
 */
static void
curl_wipe_free(void *p)
{
	if (p != NULL) {
		util_wipe(p, malloc_usable_size(p));
		free(p);
	}
}

static void *
curl_wipe_realloc(void *p, size_t n)
{
	size_t have;
	void *q;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		curl_wipe_free(p);
		return NULL;
	}
	if (n <= (have = malloc_usable_size(p)))
		return p;
	/* Never realloc(): it may move the bytes and leave the old ones. */
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, have);
	curl_wipe_free(p);
	return q;
}

static char *
curl_wipe_strdup(const char *str)
{
	size_t n = strlen(str) + 1;
	char *d = malloc(n);

	if (d != NULL)
		memcpy(d, str, n);
	return d;
}

int
http_global_init(void)
{
	const curl_version_info_data *v;
	CURLcode rc;

	if ((rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc,
	    curl_wipe_free, curl_wipe_realloc, curl_wipe_strdup, calloc)) !=
	    CURLE_OK)
		return log_fail(EXIT_INTERNAL, "cannot initialise libcurl: %s",
		    curl_easy_strerror(rc));
	v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || !(v->features & CURL_VERSION_SSL) ||
	    v->ssl_version == NULL || strncmp(v->ssl_version, "mbedTLS/", 8) != 0)
		return log_fail(EXIT_INTERNAL, "libcurl was built without its "
		    "mbedTLS backend (%s)", v != NULL && v->ssl_version != NULL ?
		    v->ssl_version : "no TLS");
	return 0;
}

void
http_global_cleanup(void)
{
	curl_global_cleanup();
	free(cfg.cacert);
	util_free_secret(cfg.proxy);
	free(cfg.proxy_shown);
	free(cfg.env_proxy_shown);
	curl_slist_free_all(cfg.resolve);
	cfg.cacert = cfg.proxy = cfg.proxy_shown = cfg.env_proxy_shown = NULL;
	cfg.resolve = NULL;
}

const char *
http_library_version(void)
{
	static char buf[128];
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	snprintf(buf, sizeof(buf), "libcurl/%s %s", v->version,
	    v->ssl_version != NULL ? v->ssl_version : "(no TLS)");
	return buf;
}

/* "HOST:PORT:ADDRESS", as curl's --resolve takes it (one address). */
static int
resolve_ok(const char *e)
{
	const char *c1 = strchr(e, ':'), *c2, *p;
	char addr[INET6_ADDRSTRLEN + 2];
	unsigned char buf[sizeof(struct in6_addr)];
	long port = 0;
	size_t n;

	if (c1 == NULL || c1 == e || (c2 = strchr(c1 + 1, ':')) == NULL ||
	    c2 == c1 + 1 || c2 - c1 > 6)
		return 0;
	for (p = e; p < c1; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	for (p = c1 + 1; p < c2; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535)
		return 0;
	p = c2 + 1;
	n = strlen(p);
	if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(addr))
		return 0;
	memcpy(addr, p, n);
	addr[n] = '\0';
	return inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1;
}

/*
 * A proxy as libcurl takes it: [SCHEME://][USER:PASSWORD@]HOST[:PORT][/],
 * SCHEME one libcurl speaks. 1, or 0 with why. Checked before any key is
 * made, so that a typo costs no key generation.
 */
static int
proxy_ok(const char *p, char *why, size_t whysz)
{
	static const char *const schemes[] = { "http://", "https://", "socks4://",
	    "socks4a://", "socks5://", "socks5h://", NULL };
	const char *h = strstr(p, "://"), *end, *at, *port;
	size_t i;

	for (i = 0; p[i] != '\0'; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f) {
			snprintf(why, whysz, "a space or control character at "
			    "byte %zu", i);
			return 0;
		}
	if (h != NULL) {
		for (i = 0; schemes[i] != NULL; i++)
			if (strncasecmp(p, schemes[i], strlen(schemes[i])) == 0)
				break;
		if (schemes[i] == NULL) {
			snprintf(why, whysz, "the scheme is not http, https, "
			    "socks4, socks4a, socks5 or socks5h");
			return 0;
		}
		h += 3;
	} else {
		h = p;
	}
	end = h + strcspn(h, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0) {
		snprintf(why, whysz, "a path after the host");
		return 0;
	}
	at = memchr(h, '@', (size_t)(end - h));
	if (at != NULL)
		h = at + 1;
	port = *h == '[' ? memchr(h, ']', (size_t)(end - h)) : h;
	port = port != NULL ? memchr(port, ':', (size_t)(end - port)) : NULL;
	if (h == end || h == port) {
		snprintf(why, whysz, "no host");
		return 0;
	}
	if (port != NULL) {
		long n = 0;

		for (port++; port < end && *port >= '0' && *port <= '9' && n <= 65535;
		    port++)
			n = n * 10 + (*port - '0');
		if (port != end || n < 1 || n > 65535) {
			snprintf(why, whysz, "the port is not a number from 1 "
			    "to 65535");
			return 0;
		}
	}
	return 1;
}

/*
 * A proxy for messages, without its user information: libcurl reads one
 * without a scheme as http://, and so is it shown (the user information of
 * "user:password@host" then goes too). NULL: out of memory (reported).
 */
static char *
proxy_shown(const char *p)
{
	char *full = NULL, *shown;
	const char *at, *sep;

	if (strstr(p, "://") == NULL) {
		if ((full = util_asprintf("http://%s", p)) == NULL)
			return NULL;
		p = full;
	}
	/*
	 * Its user information redacted up to the last '@' (an environment
	 * proxy's password may hold an unencoded / ? # or space, where
	 * redact_url stops), then echoed as any argument is.
	 */
	if ((at = strrchr(p, '@')) != NULL && (sep = strstr(p, "://")) != NULL &&
	    sep < at) {
		char *cut = util_asprintf("%.*s://<redacted>%s", (int)(sep - p), p, at);

		util_free_secret(full);
		full = cut;
		if ((p = full) == NULL) {
			log_fail(EXIT_INTERNAL, "out of memory");
			return NULL;
		}
	}
	if ((shown = redact_url(p, strlen(p))) != NULL && CLI_SHOWN(shown) != shown) {
		char *cut = util_strdup(CLI_SHOWN(shown));

		free(shown);
		shown = cut;
	}
	if (shown == NULL)
		log_fail(EXIT_INTERNAL, "out of memory");
	util_free_secret(full);
	return shown;
}

/*
 * The proxy libcurl takes from the environment for https:// URLs, in its
 * order, with the variable's name; NULL when none is set.
 */
static const char *
env_proxy(const char **var)
{
	static const char *const vars[] = { "https_proxy", "HTTPS_PROXY",
	    "all_proxy", "ALL_PROXY", NULL };
	const char *v;
	size_t i;

	for (i = 0; vars[i] != NULL; i++)
		if ((v = getenv(vars[i])) != NULL && *v != '\0') {
			*var = vars[i];
			return v;
		}
	return NULL;
}

/* Whether libcurl's error text quotes the proxy (given or the environment's). */
static int
quotes_proxy(const char *err)
{
	const char *var, *p = cfg.proxy != NULL ? cfg.proxy : env_proxy(&var);

	return p != NULL && *p != '\0' && strstr(err, p) != NULL;
}

int
http_set_options(const struct http_options *o)
{
	struct curl_slist *resolve = NULL, *l;
	char *cacert = NULL, *proxy = NULL, *shown, why[128];
	const char *ev, *var = NULL;
	size_t i;

	if (o->timeout_s < 0 || o->timeout_s > 3600)
		return log_fail(EXIT_USAGE, "--timeout %ld: expected 1 to 3600 "
		    "seconds", o->timeout_s);
	if (o->attempts < 0 || o->attempts > RETRY_MAX_ATTEMPTS)
		return log_fail(EXIT_USAGE, "--attempts %d: expected 1 to %d",
		    o->attempts, RETRY_MAX_ATTEMPTS);
	if (o->max_wait_s < 0 || o->max_wait_s > RETRY_MAX_WAIT_LIMIT_S)
		return log_fail(EXIT_USAGE, "--max-wait %ld: expected 1 to %d "
		    "seconds", o->max_wait_s, RETRY_MAX_WAIT_LIMIT_S);
	for (i = 0; o->resolve != NULL && o->resolve[i] != NULL; i++) {
		if (!resolve_ok(o->resolve[i])) {
			curl_slist_free_all(resolve);
			return log_fail(EXIT_USAGE, "--resolve '%s': expected "
			    "HOST:PORT:ADDRESS, e.g. enterpriseregistration."
			    "windows.net:443:192.0.2.10", CLI_SHOWN(o->resolve[i]));
		}
		if ((l = curl_slist_append(resolve, o->resolve[i])) == NULL) {
			curl_slist_free_all(resolve);
			return log_fail(EXIT_INTERNAL, "out of memory");
		}
		resolve = l;
	}
	/* "" is libcurl's "no proxy", the environment's included. */
	if (o->proxy != NULL && *o->proxy != '\0' && !proxy_ok(o->proxy, why,
	    sizeof(why))) {
		curl_slist_free_all(resolve);
		return log_fail(EXIT_USAGE, "--proxy: not a proxy URL (%s); expected "
		    "[http://|https://|socks5://...][USER:PASSWORD@]HOST[:PORT]", why);
	}
	if (o->cacert != NULL && (cacert = util_strdup(o->cacert)) == NULL) {
		curl_slist_free_all(resolve);
		return -1;
	}
	if (o->proxy != NULL && (proxy = util_strdup(o->proxy)) == NULL) {
		free(cacert);
		curl_slist_free_all(resolve);
		return -1;
	}
	curl_slist_free_all(cfg.resolve);
	cfg.resolve = resolve;
	free(cfg.cacert);
	util_free_secret(cfg.proxy);
	free(cfg.proxy_shown);
	cfg.cacert = cacert;
	cfg.proxy = proxy;
	cfg.proxy_shown = NULL;
	if (proxy != NULL && *proxy != '\0' &&
	    (cfg.proxy_shown = proxy_shown(proxy)) == NULL)
		return -1;
	free(cfg.env_proxy_shown);
	cfg.env_proxy_shown = NULL;
	if (proxy != NULL) {
		log_debug(1, "proxy: %s", cfg.proxy_shown != NULL ?
		    cfg.proxy_shown : "none (--proxy '')");
	} else if ((ev = env_proxy(&var)) != NULL) {
		/* Named in errors when libcurl used it (no_proxy may skip it). */
		if ((shown = proxy_shown(ev)) == NULL)
			return -1;
		cfg.env_proxy_shown = util_asprintf("%s (from %s)", shown, var);
		free(shown);
		if (cfg.env_proxy_shown == NULL)
			return -1;
		log_debug(1, "proxy: %s%s", cfg.env_proxy_shown,
		    getenv("no_proxy") != NULL || getenv("NO_PROXY") != NULL ?
		    "; not for the hosts no_proxy names" : "");
	}
	cfg.timeout_s = o->timeout_s ? o->timeout_s : HTTP_DEFAULT_TIMEOUT_S;
	cfg.attempts = o->attempts ? o->attempts : RETRY_DEFAULT_ATTEMPTS;
	cfg.max_wait_s = o->max_wait_s ? o->max_wait_s : RETRY_DEFAULT_MAX_WAIT_S;
	return 0;
}

int
http_cabundle_check(void)
{
	return cabundle_find(cfg.cacert, getenv("SSL_CERT_FILE"), NULL, NULL) ==
	    NULL ? -1 : 0;
}

struct http_session *
http_session_new(void)
{
	struct http_session *s;

	/* No byte goes out before the command confined itself (sandbox.h). */
	if (!sandbox_entered()) {
		log_fail(EXIT_INTERNAL, "bug: a network session before the sandbox");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_fail(EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	if ((s->curl = curl_easy_init()) == NULL) {
		free(s);
		log_fail(EXIT_INTERNAL, "cannot create a libcurl handle");
		return NULL;
	}
	return s;
}

static void
body_reset(struct http_session *s)
{
	util_free_secret_buf(s->body, s->body_cap);
	s->body = NULL;
	s->body_len = s->body_cap = 0;
	s->too_large = 0;
}

void
http_session_free(struct http_session *s)
{
	if (s == NULL)
		return;
	curl_easy_cleanup(s->curl);	/* its connections use s->ca */
	body_reset(s);
	free(s->cabundle);
	cert_ca_free(s->ca);
	free(s);
}

void
http_response_free(struct http_response *rs)
{
	if (rs == NULL)
		return;
	util_free_secret_buf(rs->body, rs->body_len + 1);
	free(rs->content_type);
	rs->body = rs->content_type = NULL;
	rs->body_len = 0;
}

int
http_new_request_id(char out[HTTP_REQUEST_ID_LEN + 1])
{
	unsigned char b[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return log_fail(EXIT_INTERNAL, "getrandom: %s",
			    strerror(errno));
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	snprintf(out, HTTP_REQUEST_ID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* Jitter only: a failing getrandom falls back to the clock. */
static unsigned long
jitter(void)
{
	unsigned int r;
	struct timespec ts;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_nsec;
}

/* "host:port" of an https URL, for messages. */
static void
host_port(const char *url, char *out, size_t outsz)
{
	const char *h = strstr(url, "://"), *end, *at, *p;
	size_t n;

	h = h != NULL ? h + 3 : url;
	end = h + strcspn(h, "/?#");
	for (at = h; (p = memchr(at, '@', (size_t)(end - at))) != NULL; at = p + 1)
		;
	h = at;
	n = (size_t)(end - h);
	/* A port is there when the last ':' follows any ']' of an IPv6 literal. */
	p = NULL;
	for (at = h; at < end; at++)
		if (*at == ':')
			p = at;
		else if (*at == ']')
			p = NULL;
	if (p != NULL)
		snprintf(out, outsz, "%.*s", (int)n, h);
	else
		snprintf(out, outsz, "%.*s:443", (int)n, h);
}

/* The host alone (for "cannot resolve"). */
static void
host_only(const char *hostport, char *out, size_t outsz)
{
	const char *colon = strrchr(hostport, ':');
	size_t n = colon != NULL ? (size_t)(colon - hostport) : strlen(hostport);

	snprintf(out, outsz, "%.*s", (int)n, hostport);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_session *s = arg;
	size_t n = size * nmemb;

	if (n > (size_t)HTTP_MAX_BODY - s->body_len) {
		s->too_large = 1;
		return 0;
	}
	if (util_secret_append(&s->body, &s->body_len, &s->body_cap, data, n,
	    4096) < 0)
		return 0;
	return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_session *s = arg;
	size_t n = size * nmemb, i;
	static const char ra[] = "Retry-After:";

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new answer (after a 100 Continue, say): start afresh. */
		s->have_retry_after = 0;
		s->retry_after[0] = '\0';
		s->date = 0;
	} else if (n > 5 && n < 128 && strncasecmp(data, "Date:", 5) == 0) {
		char v[128];
		time_t t;

		memcpy(v, data + 5, n - 5);
		v[n - 5] = '\0';
		v[strcspn(v, "\r\n")] = '\0';
		s->date = (t = curl_getdate(v, NULL)) > 0 ? t : 0;
	} else if (n > sizeof(ra) - 1 &&
	    strncasecmp(data, ra, sizeof(ra) - 1) == 0) {
		const char *v = data + sizeof(ra) - 1;
		size_t vn = n - (sizeof(ra) - 1);

		while (vn > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vn--;
		}
		while (vn > 0 && (v[vn - 1] == '\r' || v[vn - 1] == '\n' ||
		    v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		if (vn >= sizeof(s->retry_after))
			vn = sizeof(s->retry_after) - 1;
		for (i = 0; i < vn; i++)
			s->retry_after[i] = v[i];
		s->retry_after[vn] = '\0';
		s->have_retry_after = 1;
	}
	return n;
}

/* -v: headers as they go and come, redacted; curl's notes with -v -v -v. */
static int
on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct http_session *s = arg;
	const char *dir = type == CURLINFO_HEADER_OUT ? ">" : "<";
	size_t i = 0, end;
	char *line;

	(void)h;
	switch (type) {
	case CURLINFO_TEXT:
		while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
			size--;
		if ((line = redact_header(data, size)) != NULL) {
			/* A note has no "Name:" shape; redact_header keeps it as is. */
			log_debug(3, "%s: * %s", s->phase, line);
			free(line);
		}
		break;
	case CURLINFO_HEADER_OUT:
	case CURLINFO_HEADER_IN:
		while (i < size) {
			for (end = i; end < size && data[end] != '\n'; end++)
				;
			if (end > i && !(end - i == 1 && data[i] == '\r') &&
			    (line = redact_header(data + i, end - i)) != NULL) {
				log_debug(1, "%s: %s %s", s->phase, dir, line);
				free(line);
			}
			i = end + 1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Wipes each header line (one holds the bearer token), then frees the list. */
static void
free_headers(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		if (p->data != NULL)
			util_wipe(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* Appends one header line; -1 (reported) when out of memory. */
static int
add_header(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (n == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	*l = n;
	return 0;
}

static int
has_crlf(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/* The request's header list, or NULL (reported). */
static struct curl_slist *
build_headers(const struct http_request *rq, const char *bearer,
    const char *request_id)
{
	struct curl_slist *l = NULL;
	char line[256];
	char *auth = NULL;
	size_t i;

	if (add_header(&l, "Accept: application/json") < 0 ||
	    add_header(&l, "ocp-adrs-client-name: drsjoin") < 0 ||
	    add_header(&l, "ocp-adrs-client-version: " DRSJOIN_VERSION) < 0 ||
	    add_header(&l, "Expect:") < 0)
		goto fail;
	snprintf(line, sizeof(line), "client-request-id: %s", request_id);
	if (add_header(&l, line) < 0)
		goto fail;
	if (rq->body != NULL && rq->content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", rq->content_type);
		if (add_header(&l, line) < 0)
			goto fail;
	}
	if (bearer != NULL) {
		int bad;

		if ((auth = util_asprintf("Authorization: Bearer %s", bearer)) == NULL)
			goto fail;
		bad = add_header(&l, auth) < 0;
		util_free_secret(auth);
		if (bad)
			goto fail;
	}
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++)
		if (add_header(&l, rq->headers[i]) < 0)
			goto fail;
	return l;
fail:
	free_headers(l);
	return NULL;
}

/* A request that must reach the server at most once (see http.h). */
static int
once_only(const struct http_request *rq)
{
	return strcmp(rq->method, "POST") == 0 && !rq->resend_unanswered;
}

#define SET(opt, val) do {						\
	if ((rc = curl_easy_setopt(c, opt, val)) != CURLE_OK) {		\
		log_fail(EXIT_INTERNAL, "%s: libcurl refused " #opt ": %s",	\
		    rq->phase, curl_easy_strerror(rc));			\
		return -1;						\
	}								\
} while (0)

int
http_proxy_ok(const char *url, char *why, size_t whysz)
{
	return proxy_ok(url, why, whysz);
}

/* Whether the proxy libcurl uses is an https:// one (--proxy, else env_proxy()). */
static int
proxy_is_tls(void)
{
	const char *var, *p = cfg.proxy != NULL ? cfg.proxy : env_proxy(&var);

	return p != NULL && strncasecmp(p, "https://", 8) == 0;
}

/* a and b name the same host (case, a final dot and IPv6 brackets aside). */
static int
same_host(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na >= 2 && a[0] == '[' && a[na - 1] == ']') {
		a++;
		na -= 2;
	}
	if (nb >= 2 && b[0] == '[' && b[nb - 1] == ']') {
		b++;
		nb -= 2;
	}
	if (na > 1 && a[na - 1] == '.')
		na--;
	if (nb > 1 && b[nb - 1] == '.')
		nb--;
	return na == nb && na > 0 && strncasecmp(a, b, na) == 0;
}

/*
 * Whether the handshake being set up is the service's, not an https://
 * proxy's: libcurl calls on_tls_config for both, and the TLS client
 * identity is for the service alone (issue 16). Both must hold: the name
 * the handshake sends and verifies the peer against is the URL's host, and
 * no https:// proxy still waits for its CONNECT answer (its handshake comes
 * first; the service's after a 2xx CONNECT; a SOCKS proxy has neither).
 */
static int
origin_handshake(struct http_session *s, CURL *c, void *tls_config)
{
	struct curl_tlssessioninfo *ti = NULL;
	long used_proxy = 0, connect_code = 0;
	const char *name;
	char hp[300], host[300];

	if (curl_easy_getinfo(c, CURLINFO_USED_PROXY, &used_proxy) != CURLE_OK ||
	    curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &connect_code) != CURLE_OK)
		return 0;
	if (used_proxy && connect_code / 100 != 2 && proxy_is_tls())
		return 0;
	if (curl_easy_getinfo(c, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK ||
	    ti == NULL || ti->backend != CURLSSLBACKEND_MBEDTLS ||
	    (name = cert_tls_server_name(ti->internals, tls_config)) == NULL)
		return 0;
	host_port(s->rq->url, hp, sizeof(hp));
	host_only(hp, host, sizeof(host));
	return same_host(name, host);
}

/*
 * CURLOPT_SSL_CTX_FUNCTION, for every TLS connection (the proxy's too): the
 * session's CA bundle as trust anchors (libcurl is given no CA file, and
 * has none built in), and the request's TLS client identity if it has one,
 * in the service's handshake only.
 */
static CURLcode
on_tls_config(CURL *c, void *tls_config, void *arg)
{
	struct http_session *s = arg;

	cert_ca_configure(tls_config, s->ca);
	if (s->rq->tls_client == NULL)
		return CURLE_OK;
	if (!origin_handshake(s, c, tls_config)) {
		log_debug(1, "%s: a TLS handshake not with the service (an "
		    "https proxy's): no client certificate offered", s->phase);
		return CURLE_OK;
	}
	if (s->rq->tls_client(tls_config, s->rq->tls_client_arg) < 0) {
		s->hook_failed = 1;
		return CURLE_SSL_CERTPROBLEM;
	}
	return CURLE_OK;
}

/*
 * CURLOPT_PREREQFUNCTION: the connection (and TLS) is up, the request's
 * first byte goes out next. A request that may create a device holds the
 * signals from here on; one already received stops it, nothing sent.
 */
static int
on_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip,
    int conn_primary_port, int conn_local_port)
{
	struct http_session *s = arg;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	if (s->rq->hold_signals)
		sigdefer_hold();
	if ((s->stopped = sigdefer_stop_now()) != 0) {
		if (s->rq->hold_signals)
			sigdefer_release();
		return CURL_PREREQFUNC_ABORT;
	}
	s->request_out = 1;
	return CURL_PREREQFUNC_OK;
}

/* CURLOPT_XFERINFOFUNCTION: a signal not held aborts the transfer. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_session *s = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return (s->stopped = sigdefer_stop_now()) != 0;
}

/*
 * Sets up one attempt. The handle is reset first (live connections, the
 * DNS and TLS session caches stay), so every option is set here.
 */
static int
setup(struct http_session *s, const struct http_request *rq,
    struct curl_slist *headers)
{
	CURL *c = s->curl;
	CURLcode rc;
	long timeout_ms = cfg.timeout_s * 1000L;
	long connect_ms = (cfg.timeout_s < HTTP_CONNECT_TIMEOUT_MAX_S ?
	    cfg.timeout_s : HTTP_CONNECT_TIMEOUT_MAX_S) * 1000L;

	curl_easy_reset(c);
	s->errbuf[0] = '\0';
	SET(CURLOPT_ERRORBUFFER, s->errbuf);
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2 |
	    (rq->tls12_only ? (long)CURL_SSLVERSION_MAX_TLSv1_2 : 0L));
	/* The trust anchors are s->ca, set by on_tls_config. */
	SET(CURLOPT_SSL_CTX_FUNCTION, on_tls_config);
	SET(CURLOPT_SSL_CTX_DATA, s);
	SET(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
	if (cfg.proxy != NULL)
		SET(CURLOPT_PROXY, cfg.proxy);
	if (cfg.resolve != NULL)
		SET(CURLOPT_RESOLVE, cfg.resolve);
	if (once_only(rq)) {
		/* See http.h: libcurl resends on a dead reused connection. */
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
	}
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SET(CURLOPT_USERAGENT, "drsjoin/" DRSJOIN_VERSION);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_MAX_BODY);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, s);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, s);
	SET(CURLOPT_PREREQFUNCTION, on_prereq);
	SET(CURLOPT_PREREQDATA, s);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, s);
	SET(CURLOPT_NOPROGRESS, 0L);
	if (strcmp(rq->method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(rq->method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, rq->method);
		if (rq->body != NULL || strcmp(rq->method, "POST") == 0) {
			SET(CURLOPT_POSTFIELDS, rq->body != NULL ? rq->body : "");
			SET(CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)(rq->body != NULL ? rq->body_len : 0));
		}
	}
	if (rq->tls_client != NULL) {
		/* The certificate is part of the connection: never share one. */
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
	}
	if (log_level >= 2) {
		SET(CURLOPT_DEBUGFUNCTION, on_debug);
		SET(CURLOPT_DEBUGDATA, s);
		SET(CURLOPT_VERBOSE, 1L);
	}
	return 0;
}

#undef SET

/* What describe() needs to say why a transfer failed. */
struct fail_text {
	struct http_session *s;
	CURLcode rc;
	const char *proxy;		/* the proxy in the way, shown; or NULL */
	long used_proxy;
	char hp[300];			/* host:port of the URL */
	char reason[CURL_ERROR_SIZE + 160];	/* libcurl's own words, sanitised */
	char *out;
	size_t outsz;
	int *code;
};

/* libcurl's error text as one safe line (or its code's text). */
static void
curl_reason(struct fail_text *f)
{
	struct http_session *s = f->s;
	const char *cs = curl_easy_strerror(f->rc);
	size_t n;
	char *r;

	snprintf(f->reason, sizeof(f->reason), "%s", cs);
	if (s->errbuf[0] == '\0')
		return;
	/* One line: mbedTLS's verify notes end in (and may hold) \n. */
	n = strnlen(s->errbuf, sizeof(s->errbuf));
	while (n > 0 && (s->errbuf[n - 1] == '\n' || s->errbuf[n - 1] == '\r' ||
	    s->errbuf[n - 1] == ' '))
		n--;
	/*
	 * libcurl quotes what it was given (a proxy URL): redacted, and not
	 * shown at all when it holds the proxy as given (a password
	 * redact_text cannot delimit).
	 */
	if (quotes_proxy(s->errbuf))
		return;
	if ((r = redact_text(s->errbuf, n, &n)) != NULL)
		redact_sanitize(f->reason, sizeof(f->reason), r, n, 1);
	free(r);
}

/* Name resolution, connecting, time limits. 0 when not one of those. */
static int
describe_connect(struct fail_text *f)
{
	const char *p = f->proxy;
	char host[300];
	long oserr = 0;

	switch (f->rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		host_only(f->hp, host, sizeof(host));
		snprintf(f->out, f->outsz, "cannot resolve host %s: %s", host, f->reason);
		return 1;
	case CURLE_COULDNT_RESOLVE_PROXY:
		snprintf(f->out, f->outsz, "cannot resolve the proxy%s%s: %s",
		    p != NULL ? " " : "", p != NULL ? p : "", f->reason);
		return 1;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(f->s->curl, CURLINFO_OS_ERRNO, &oserr);
		snprintf(f->out, f->outsz, "cannot connect to %s%s%s: %s", f->hp,
		    p != NULL ? " through the proxy " : "", p != NULL ? p : "",
		    oserr != 0 ? strerror((int)oserr) : f->reason);
		return 1;
	case CURLE_OPERATION_TIMEDOUT:
		/* reason says which limit: connecting, or the whole exchange. */
		snprintf(f->out, f->outsz, "no answer from %s in time: %s (limits: "
		    "%ld s to connect, %ld s a request)", f->hp, f->reason,
		    cfg.timeout_s < HTTP_CONNECT_TIMEOUT_MAX_S ? cfg.timeout_s :
		    HTTP_CONNECT_TIMEOUT_MAX_S, cfg.timeout_s);
		return 1;
	default:
		return 0;
	}
}

/* TLS: the peer's certificate, the handshake, our CA bundle and key. 0 when not TLS. */
static int
describe_tls(struct fail_text *f)
{
	const char *p = f->proxy, *ca = f->s->cabundle;
	long status = 0;

	switch (f->rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		/* Through a proxy that never answered the CONNECT: the proxy's
		 * own certificate (an https:// proxy) is the one refused. */
		curl_easy_getinfo(f->s->curl, CURLINFO_HTTP_CONNECTCODE, &status);
		if (f->used_proxy && status == 0)
			snprintf(f->out, f->outsz, "TLS: the certificate of the "
			    "proxy%s%s cannot be verified with the CA bundle %s: %s",
			    p != NULL ? " " : "", p != NULL ? p : "", ca, f->reason);
		else
			snprintf(f->out, f->outsz, "TLS: the certificate of %s cannot "
			    "be verified with the CA bundle %s: %s", f->hp, ca,
			    f->reason);
		return 1;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(f->out, f->outsz, "TLS handshake with %s failed: %s", f->hp,
		    f->reason);
		return 1;
	case CURLE_SSL_CACERT_BADFILE:
		*f->code = EXIT_INPUT;
		snprintf(f->out, f->outsz, "cannot use the CA bundle %s: %s", ca,
		    f->reason);
		return 1;
	case CURLE_SSL_CERTPROBLEM:
		*f->code = EXIT_INPUT;
		snprintf(f->out, f->outsz, "cannot use the TLS client certificate or "
		    "key: %s", f->reason);
		return 1;
	default:
		return 0;
	}
}

/* The exchange itself: sending, the answer cut short or too large, memory. */
static void
describe_exchange(struct fail_text *f)
{
	const char *cs = curl_easy_strerror(f->rc);
	long status = 0;

	switch (f->rc) {
	case CURLE_PARTIAL_FILE:
		snprintf(f->out, f->outsz, "the answer from %s was cut short: %s",
		    f->hp, f->reason);
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (f->rc == CURLE_FILESIZE_EXCEEDED || f->s->too_large) {
			snprintf(f->out, f->outsz, "the answer from %s is larger "
			    "than %ld bytes", f->hp, (long)HTTP_MAX_BODY);
		} else {
			*f->code = EXIT_INTERNAL;
			snprintf(f->out, f->outsz, "out of memory reading the "
			    "answer from %s", f->hp);
		}
		break;
	case CURLE_OUT_OF_MEMORY:
		*f->code = EXIT_INTERNAL;
		snprintf(f->out, f->outsz, "out of memory");
		break;
	case CURLE_RECV_ERROR:
		/* mbedTLS reads 0 at a close without close_notify. */
		if (strstr(f->reason, "(-0x0000)") != NULL)
			snprintf(f->reason, sizeof(f->reason), "the server closed "
			    "the connection");
		curl_easy_getinfo(f->s->curl, CURLINFO_RESPONSE_CODE, &status);
		snprintf(f->out, f->outsz, status != 0 ? "the answer from %s was "
		    "cut short: %s" : "connection to %s failed: %s", f->hp, f->reason);
		break;
	case CURLE_GOT_NOTHING:
		snprintf(f->out, f->outsz, "%s closed the connection without an "
		    "answer", f->hp);
		break;
	case CURLE_SEND_ERROR:
		snprintf(f->out, f->outsz, "connection to %s failed: %s", f->hp,
		    f->reason);
		break;
	default:
		if (strcmp(f->reason, cs) != 0)
			snprintf(f->out, f->outsz, "request to %s failed: %s (%s)",
			    f->hp, cs, f->reason);
		else
			snprintf(f->out, f->outsz, "request to %s failed: %s", f->hp, cs);
		break;
	}
}

/* The reason a transfer failed, for messages; *code the exit code. */
static void
describe(struct http_session *s, const struct http_request *rq, CURLcode rc,
    char *out, size_t outsz, int *code)
{
	struct fail_text f = { .s = s, .rc = rc, .proxy = cfg.proxy_shown,
	    .out = out, .outsz = outsz, .code = code };
	size_t n;

	/*
	 * libcurl's threaded resolver at times reports a proxy it could not
	 * resolve as CURLE_COULDNT_RESOLVE_HOST (its text still says "proxy"):
	 * the host we would name is not the one that failed.
	 */
	if (rc == CURLE_COULDNT_RESOLVE_HOST &&
	    (cfg.proxy_shown != NULL || cfg.env_proxy_shown != NULL) &&
	    strncmp(s->errbuf, "Could not resolve proxy", 23) == 0)
		f.rc = CURLE_COULDNT_RESOLVE_PROXY;
	/* The environment's proxy, when libcurl took it for this URL. */
	curl_easy_getinfo(s->curl, CURLINFO_USED_PROXY, &f.used_proxy);
	if (f.proxy == NULL && (f.used_proxy || f.rc == CURLE_COULDNT_RESOLVE_PROXY))
		f.proxy = cfg.env_proxy_shown;
	host_port(rq->url, f.hp, sizeof(f.hp));
	curl_reason(&f);
	*code = EXIT_NETWORK;
	if (!describe_connect(&f) && !describe_tls(&f))
		describe_exchange(&f);
	/* Whatever failed, a proxy in the way is named. */
	n = strlen(out);
	if (f.proxy != NULL && strstr(out, "proxy") == NULL && n + 1 < outsz)
		snprintf(out + n, outsz - n, " (through the proxy %s)", f.proxy);
}

/*
 * Whether a failed transfer may be tried again: failures before the request
 * went out always; failures after it only for a request safe to resend.
 */
static int
retryable(struct http_session *s, CURLcode rc, int resendable)
{
	long sent = 0;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return 1;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(s->curl, CURLINFO_REQUEST_SIZE, &sent);
		return sent == 0 || resendable;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
		return resendable;
	default:
		return 0;
	}
}

/* Whether a failed transfer may have reached the server whole. */
static int
maybe_sent(struct http_session *s, CURLcode rc)
{
	long sent = 0;

	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(s->curl, CURLINFO_REQUEST_SIZE, &sent);
		return sent != 0;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return 1;
	default:
		return 0;
	}
}

static void
format_delay(char *out, size_t outsz, long ms)
{
	if (ms % 1000 == 0)
		snprintf(out, outsz, "%ld s", ms / 1000);
	else
		snprintf(out, outsz, "%ld.%ld s", ms / 1000, (ms % 1000) / 100);
}

/* A 5xx that may come after the work was done (not 501, 503, 505). */
static int
maybe_done_status(long status)
{
	return status >= 500 && status <= 599 && status != 501 &&
	    status != 503 && status != 505;
}

/*
 * Given up on a 429/503: the service throttles (or is too busy). That is
 * EXIT_NETWORK, worth a restart later, and the line says "throttled".
 */
static int
throttled(long status)
{
	return retry_status_kind(status) == RETRY_AFTER;
}

int
http_fail_answer(const struct http_request *rq, const struct http_response *rs)
{
	char line[SVCERR_LINE_MAX];

	svcerr_format(line, sizeof(line), rq->phase, rs->status, rs->body,
	    rs->body_len, rs->content_type, rs->request_id);
	if (throttled(rs->status))
		return log_fail(EXIT_NETWORK, "%s; throttled", line);
	if (rq->if_maybe_done != NULL && maybe_done_status(rs->status))
		return log_fail(EXIT_REFUSED, "%s; %s", line, rq->if_maybe_done);
	return log_fail(EXIT_REFUSED, "%s", line);
}

/* Fails with the answer's line and a reason for not retrying further. */
static int
fail_answer_because(const struct http_request *rq,
    const struct http_response *rs, const char *why)
{
	char line[SVCERR_LINE_MAX];

	svcerr_format(line, sizeof(line), rq->phase, rs->status, rs->body,
	    rs->body_len, rs->content_type, rs->request_id);
	if (throttled(rs->status))
		return log_fail(EXIT_NETWORK, "%s; throttled: %s", line, why);
	if (rq->if_maybe_done != NULL && maybe_done_status(rs->status))
		return log_fail(EXIT_REFUSED, "%s; %s; %s", line, why,
		    rq->if_maybe_done);
	return log_fail(EXIT_REFUSED, "%s; %s", line, why);
}

/* Hands the received answer over to rs. */
static int
take_answer(struct http_session *s, struct http_response *rs)
{
	char *ct = NULL;

	http_response_free(rs);
	if (curl_easy_getinfo(s->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL && (rs->content_type = util_strdup(ct)) == NULL)
		return -1;
	if (s->body == NULL && (s->body = calloc(1, 1)) == NULL)
		return log_fail(EXIT_INTERNAL, "out of memory");
	if (s->body_cap == 0)
		s->body_cap = 1;
	rs->body = s->body;
	rs->body_len = s->body_len;
	rs->date = s->date;
	/* The buffer moves to rs. */
	s->body = NULL;
	s->body_len = s->body_cap = 0;
	return 0;
}

/* "it redirects to URL, ..." for a 3xx answer with a Location; -1 without. */
static int
redirect_note(struct http_session *s, char *out, size_t outsz)
{
	char *loc = NULL, *shown;

	if (curl_easy_getinfo(s->curl, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK ||
	    loc == NULL || (shown = redact_url(loc, strlen(loc))) == NULL)
		return -1;
	snprintf(out, outsz, "it redirects to %.300s, which drsjoin does not "
	    "follow", shown);
	free(shown);
	return 0;
}

/* Finds and reads the CA bundle, once a session. 0 / -1 (reported). */
static int
load_cabundle(struct http_session *s, const char *phase)
{
	enum cabundle_source from = CABUNDLE_SYSTEM;
	const char *path;
	char *what = NULL, *buf = NULL;
	size_t len = 0, count, skipped;
	int rc = -1;

	/*
	 * Once: libcurl's TLS session cache (one per handle, so per session)
	 * no longer has a CA file name in its keys, so a session must keep
	 * one bundle for its whole life.
	 */
	if (s->ca != NULL)
		return 0;
	free(s->cabundle);
	s->cabundle = NULL;
	path = cabundle_find(cfg.cacert, getenv("SSL_CERT_FILE"), NULL, &from);
	/*
	 * s->cabundle names it in messages: as an argument is echoed, and
	 * from the environment said so (nobody typed that name here).
	 */
	if (path == NULL || (s->cabundle = util_asprintf("%s%s", CLI_SHOWN(path),
	    from == CABUNDLE_ENV ? " (from SSL_CERT_FILE)" : "")) == NULL ||
	    (what = util_asprintf("%s: the CA bundle %s", phase, s->cabundle)) == NULL)
		return -1;
	if (cabundle_read(path, what, &buf, &len) == 0 &&
	    cert_ca_parse(buf, len, what, &s->ca) == 0) {
		count = cert_ca_count(s->ca, &skipped);
		log_debug(1, "CA bundle: %zu certificates (%zu blocks skipped)",
		    count, skipped);
		rc = 0;
	}
	free(buf);
	free(what);
	return rc;
}

/* Checks what is sent as it is; -1 (reported) when unusable. */
static int
check_request(const struct http_request *rq)
{
	size_t i;
	char *shown;

	if (rq->phase == NULL || rq->method == NULL || rq->url == NULL)
		return log_fail(EXIT_INTERNAL, "http: request without phase, "
		    "method or URL");
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0 &&
	    strcmp(rq->method, "DELETE") != 0)
		return log_fail(EXIT_INTERNAL, "%s: unsupported method %s",
		    rq->phase, rq->method);
	if (strncasecmp(rq->url, "https://", 8) != 0 || rq->url[8] == '\0' ||
	    has_crlf(rq->url) || strchr(rq->url, ' ') != NULL) {
		shown = redact_url(rq->url, strlen(rq->url));
		log_fail(EXIT_INPUT, "%s: refusing the URL %s: drsjoin only "
		    "speaks https:// to the service", rq->phase,
		    shown != NULL ? shown : "(unprintable)");
		free(shown);
		return -1;
	}
	if (has_crlf(rq->bearer))
		return log_fail(EXIT_INPUT, "%s: the access token holds a line "
		    "break", rq->phase);
	if (has_crlf(rq->content_type) || has_crlf(rq->request_id) ||
	    (rq->request_id != NULL && strlen(rq->request_id) > HTTP_REQUEST_ID_LEN))
		return log_fail(EXIT_INTERNAL, "%s: bad Content-Type or "
		    "client-request-id", rq->phase);
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++)
		if (has_crlf(rq->headers[i]) || strchr(rq->headers[i], ':') == NULL)
			return log_fail(EXIT_INTERNAL, "%s: bad header line %zu",
			    rq->phase, i);
	return 0;
}

/* libcurl's cap on a Retry-After it reads (6 hours). */
#define RETRY_AFTER_CAP_S 21600

/*
 * A Retry-After of seconds with more digits than libcurl reads (it then
 * says 0, as for none): longer than any wait, not absent.
 */
static int
too_many_seconds(const char *v)
{
	size_t n = strspn(v, "0123456789");

	return n > 0 && v[n] == '\0' && strspn(v, "0") < n;
}

/* What is left of --max-wait, in milliseconds. */
static long
wait_left_ms(void)
{
	long left = cfg.max_wait_s * 1000L - waited_ms;

	return left > 0 ? left : 0;
}

/* The request whose retry_hook runs (its requests are part of its wait). */
static const struct http_request *waiting_rq;

/*
 * Stopped by a signal that is not held (sigdefer.h): -1, reported. A
 * request made by a retry_hook is said as the waiting one's stop.
 */
static int
fail_stopped(const struct http_request *rq, int sig, const char *when)
{
	const struct http_request *w = waiting_rq != NULL ? waiting_rq : rq;

	if (w != rq)
		return log_fail(sigdefer_exit_code(sig), "%s: interrupted (%s) "
		    "while waiting to send the request again (%s: %s)%s%s",
		    w->phase, sigdefer_name(sig), rq->phase, when,
		    w->if_stopped != NULL ? ": " : "",
		    w->if_stopped != NULL ? w->if_stopped : "");
	return log_fail(sigdefer_exit_code(sig), "%s: interrupted (%s) %s%s%s",
	    rq->phase, sigdefer_name(sig), when, rq->if_stopped != NULL ? ": " : "",
	    rq->if_stopped != NULL ? rq->if_stopped : "");
}

/*
 * Around a wait (wait_ms 0: after it): the caller's retry_hook, which may
 * give a new bearer token; then the headers carry it. 0, or -1 (reported).
 */
static int
call_retry_hook(struct http_session *s, const struct http_request *rq,
    long wait_ms, const char **bearer, const char *request_id,
    struct curl_slist **headers)
{
	const struct http_request *outer = waiting_rq;
	struct curl_slist *h;
	int r;

	if (rq->retry_hook == NULL)
		return 0;
	if (rq->hold_signals)
		sigdefer_release();	/* not carried out: nothing in flight */
	if (waiting_rq == NULL)
		waiting_rq = rq;
	r = rq->retry_hook(rq->retry_hook_arg, wait_ms, bearer);
	/* Its requests (on this session, say) ended theirs: ours again. */
	waiting_rq = outer;
	s->phase = rq->phase;
	s->rq = rq;
	if (r <= 0)
		return r;
	if ((h = build_headers(rq, *bearer, request_id)) == NULL)
		return -1;
	free_headers(*headers);
	*headers = h;
	return 0;
}

/*
 * Waits before the next attempt, counted against --max-wait: 0, or -1 when
 * a signal stopped it (reported). The attempt before was not carried out
 * (or may be sent again): nothing is in flight, nothing held.
 */
static int
retry_pause(const struct http_request *rq, long ms, long *req_waited)
{
	int sig;

	if (rq->hold_signals) {
		sigdefer_release();
		if (rq->if_stopped != NULL)
			sigdefer_idle_line("%s: interrupted twice while waiting to "
			    "send the request again: %s", rq->phase, rq->if_stopped);
	}
	sig = log_sleep_ms_unless(ms, sigdefer_stop_now, "%s: retrying in",
	    rq->phase);
	waited_ms += ms;
	*req_waited += ms;
	if (sig != 0)
		return fail_stopped(rq, sig, "while waiting to send the request "
		    "again");
	return 0;
}

/* One request over its attempts (send_attempts): what each step needs. */
struct try {
	struct http_session *s;
	const struct http_request *rq;
	struct http_response *rs;
	struct curl_slist *headers;
	const char *bearer;		/* the token sent: a retry_hook may renew it */
	char *shown;			/* the URL, redacted */
	int pass_401, repeatable, resendable, attempt, refused;
	long req_waited;		/* ms this request waited */
	char why[CURL_ERROR_SIZE + 600];
};

/* Waits wait_ms before the next attempt, because of reason. -1 reported. */
static int
retry_wait(struct try *t, long wait_ms, const char *reason)
{
	char delay[32];

	if (call_retry_hook(t->s, t->rq, wait_ms, &t->bearer, t->rs->request_id,
	    &t->headers) < 0)
		return -1;
	format_delay(delay, sizeof(delay), wait_ms);
	log_note("%s: %s, retrying in %s (attempt %d of %d)", t->rq->phase,
	    reason, delay, t->attempt + 1, cfg.attempts);
	return retry_pause(t->rq, wait_ms, &t->req_waited) < 0 ||
	    call_retry_hook(t->s, t->rq, 0, &t->bearer, t->rs->request_id,
	    &t->headers) < 0 ? -1 : 0;
}

/* One transfer: its status in *status, curl's result in *rc. -1 reported. */
static int
attempt_once(struct try *t, CURLcode *rc, long *status)
{
	struct http_session *s = t->s;
	const struct http_request *rq = t->rq;
	int sig;

	t->rs->attempts = t->attempt;
	body_reset(s);
	s->have_retry_after = 0;
	s->date = 0;
	s->hook_failed = 0;
	s->stopped = s->request_out = 0;
	if ((sig = sigdefer_stop_now()) != 0)
		return fail_stopped(rq, sig, "before the request went out");
	if (setup(s, rq, t->headers) < 0)
		return -1;
	log_debug(1, "%s: %s %s (attempt %d of %d)", rq->phase, rq->method,
	    t->shown != NULL ? t->shown : "", t->attempt, cfg.attempts);
	if (log_level >= 3 && rq->body != NULL && t->attempt == 1) {
		char *b = redact_body(rq->content_type, rq->body, rq->body_len);

		if (b != NULL)
			log_debug(2, "%s: > body: %s", rq->phase, b);
		free(b);
	}
	*rc = curl_easy_perform(s->curl);
	*status = 0;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* A transfer that failed: 0 done after all, 1 sent again, -1 reported. */
static int
transfer_failed(struct try *t, CURLcode rc, long status)
{
	const struct http_request *rq = t->rq;
	long wait_ms, left;
	int code;

	if (t->s->hook_failed)
		return -1;	/* reported by the hook */
	if (rc == CURLE_ABORTED_BY_CALLBACK && t->s->stopped != 0)
		return fail_stopped(rq, t->s->stopped, t->s->request_out ?
		    "during the request" : "before the request went out");
	describe(t->s, rq, rc, t->why, sizeof(t->why), &code);
	/* The status line said done: sending again would not be the same request. */
	if (rq->body_informational && status >= 200 && status <= 299) {
		log_note("%s: answered %ld, but %s; the answer's body is not "
		    "needed", rq->phase, status, t->why);
		body_reset(t->s);
		t->rs->status = status;
		return 0;
	}
	if (t->attempt < cfg.attempts && retryable(t->s, rc, t->resendable) &&
	    (left = wait_left_ms()) > 0) {
		wait_ms = retry_backoff_ms(t->attempt, RETRY_BACKOFF_BASE_MS,
		    RETRY_BACKOFF_CAP_MS, jitter());
		if (wait_ms > left)
			wait_ms = left;
		log_debug(1, "%s: waiting %ld ms (backoff, jittered)", rq->phase,
		    wait_ms);
		return retry_wait(t, wait_ms, t->why) < 0 ? -1 : 1;
	}
	if (rq->if_maybe_done != NULL && maybe_sent(t->s, rc))
		return log_fail(code, "%s: %s; %s (client-request-id %s)", rq->phase,
		    t->why, rq->if_maybe_done, t->rs->request_id);
	if (t->attempt > 1)
		return log_fail(code, "%s: %s; gave up after %d attempts", rq->phase,
		    t->why, t->attempt);
	return log_fail(code, "%s: %s", rq->phase, t->why);
}

/* The answer read whole, its times noted. -1 reported. */
static int
take_whole_answer(struct try *t, long status)
{
	struct http_session *s = t->s;
	struct http_response *rs = t->rs;
	curl_off_t us = 0, t_us;
	long conns = 0;

	curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(s->curl, CURLINFO_TOTAL_TIME_T, &us);
	rs->total_ms = (double)us / 1e3;
	if (curl_easy_getinfo(s->curl, CURLINFO_CONNECT_TIME_T, &t_us) == CURLE_OK)
		rs->connect_ms = (double)t_us / 1e3;
	if (curl_easy_getinfo(s->curl, CURLINFO_APPCONNECT_TIME_T, &t_us) == CURLE_OK)
		rs->tls_ms = (double)t_us / 1e3;
	rs->status = status;
	if (take_answer(s, rs) < 0)
		return -1;
	log_debug(1, "%s: answer %ld, %zu bytes%s%s, %ld ms, %s", t->rq->phase,
	    status, rs->body_len, rs->content_type != NULL ? ", " : "",
	    rs->content_type != NULL ? rs->content_type : "",
	    (long)(us / 1000), conns == 0 ? "connection reused" : "new connection");
	if (log_level >= 3 && rs->body_len > 0) {
		char *b = redact_body(rs->content_type, rs->body, rs->body_len);

		if (b != NULL)
			log_debug(2, "%s: < body: %s", t->rq->phase, b);
		free(b);
	}
	return 0;
}

/* Given up on an answer: 0 when the caller takes errors, else -1 reported. */
static int
give_up(struct try *t, const char *why)
{
	if (t->rq->pass_errors)
		return 0;
	fail_answer_because(t->rq, t->rs, why);
	return -1;
}

/*
 * The wait before sending again after a throttled or failing answer, in
 * *wait_ms: Retry-After as the floor (retry.h), else the backoff. 0 in
 * *wait_ms with a return of 0 or -1 when drsjoin gives up (given_up).
 */
static int
next_wait(struct try *t, long status, long left, long *wait_ms)
{
	struct http_session *s = t->s;
	int after = retry_status_kind(status) == RETRY_AFTER;
	char delay[32], total[32];
	curl_off_t ra = 0;

	*wait_ms = 0;
	/* Throttled again: the next wait spreads wider (retry.h). */
	t->refused += after;
	if (after && s->have_retry_after && curl_easy_getinfo(s->curl,
	    CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra == 0 &&
	    too_many_seconds(s->retry_after))
		ra = RETRY_AFTER_CAP_S;
	if (after && s->have_retry_after && ra > 0) {
		/* libcurl read it: seconds, or an HTTP-date still ahead. */
		if (ra > left / 1000) {
			format_delay(delay, sizeof(delay), left);
			/* libcurl caps what it reads at 6 hours. */
			snprintf(t->why, sizeof(t->why), "it asks to retry after "
			    "%s%ld s, more than the %s left of the %ld s drsjoin "
			    "waits in all (--max-wait)", ra >= RETRY_AFTER_CAP_S ?
			    "at least " : "", (long)ra, delay, cfg.max_wait_s);
			return give_up(t, t->why);
		}
		*wait_ms = retry_after_ms((long)ra, t->refused, jitter());
		if (*wait_ms > left)
			*wait_ms = left;
		log_debug(1, "%s: waiting %ld ms (Retry-After %ld s, plus %ld ms of "
		    "jitter)", t->rq->phase, *wait_ms, (long)ra,
		    *wait_ms - (long)ra * 1000);
		return 0;
	}
	if (s->have_retry_after)
		log_debug(1, "%s: the Retry-After \"%s\" asks for no wait (0, a date "
		    "past, or unreadable): backing off", t->rq->phase, s->retry_after);
	if (left == 0) {
		format_delay(total, sizeof(total), waited_ms);
		snprintf(t->why, sizeof(t->why), "gave up after %d attempts, having "
		    "waited %s in all (--max-wait)", t->attempt, total);
		return give_up(t, t->why);
	}
	*wait_ms = retry_backoff_ms(t->attempt, RETRY_BACKOFF_BASE_MS,
	    RETRY_BACKOFF_CAP_MS, jitter());
	if (*wait_ms > left)
		*wait_ms = left;
	log_debug(1, "%s: waiting %ld ms (backoff, jittered)", t->rq->phase, *wait_ms);
	return 0;
}

/* An answer read: 0 done, 1 sent again after a wait, -1 reported. */
static int
answered(struct try *t, long status)
{
	const struct http_request *rq = t->rq;
	char total[32], reason[64];
	long wait_ms;
	int r;

	if (status >= 200 && status <= 299)
		return 0;
	switch (retry_status_kind(status)) {
	case RETRY_AFTER:
		break;
	case RETRY_BACKOFF:
		if (t->repeatable)
			break;
		/* FALLTHROUGH */
	case RETRY_NEVER:
	default:
		if (rq->pass_errors || (t->pass_401 && status == 401) ||
		    (rq->pass_if != NULL && rq->pass_if(status)))
			return 0;
		if (status >= 300 && status <= 399 &&
		    redirect_note(t->s, t->why, sizeof(t->why)) == 0)
			fail_answer_because(rq, t->rs, t->why);
		else
			http_fail_answer(rq, t->rs);
		return -1;
	}
	if (t->attempt == cfg.attempts) {
		format_delay(total, sizeof(total), waited_ms);
		snprintf(t->why, sizeof(t->why), "gave up after %d attempts "
		    "(--attempts), having waited %s in all", t->attempt, total);
		return give_up(t, t->why);
	}
	if ((r = next_wait(t, status, wait_left_ms(), &wait_ms)) < 0 || wait_ms == 0)
		return r;
	snprintf(reason, sizeof(reason), "server answered %ld", status);
	return retry_wait(t, wait_ms, reason) < 0 ? -1 : 1;
}

/* http_send, where pass_401 returns a 401 answer (0) instead of reporting it. */
static int
send_attempts(struct http_session *s, const struct http_request *rq,
    struct http_response *rs, int pass_401)
{
	struct try t = { .s = s, .rq = rq, .rs = rs, .bearer = rq->bearer,
	    .pass_401 = pass_401 };
	char delay[32], total[32];
	int is_post, ret = -1;
	long status = 0;
	CURLcode rc = CURLE_OK;

	memset(rs, 0, sizeof(*rs));
	if (check_request(rq) < 0)
		return -1;
	if (rq->request_id != NULL)
		snprintf(rs->request_id, sizeof(rs->request_id), "%s", rq->request_id);
	else if (http_new_request_id(rs->request_id) < 0)
		return -1;
	if (load_cabundle(s, rq->phase) < 0 ||
	    (t.headers = build_headers(rq, t.bearer, rs->request_id)) == NULL)
		return -1;
	if (rq->hold_signals && rq->if_stopped != NULL)
		sigdefer_idle_line("%s: interrupted twice before the request went "
		    "out: %s", rq->phase, rq->if_stopped);
	is_post = strcmp(rq->method, "POST") == 0;
	t.repeatable = !is_post || rq->repeatable;
	t.resendable = !is_post || rq->resend_unanswered;
	s->phase = rq->phase;
	s->rq = rq;
	t.shown = redact_url(rq->url, strlen(rq->url));
	for (t.attempt = 1; t.attempt <= cfg.attempts; t.attempt++) {
		if (attempt_once(&t, &rc, &status) < 0)
			break;
		if (rc != CURLE_OK)
			ret = transfer_failed(&t, rc, status);
		else
			ret = take_whole_answer(&t, status) < 0 ? -1 :
			    answered(&t, status);
		if (ret != 1)
			break;
		ret = -1;
	}
	if (t.req_waited > 0) {
		format_delay(delay, sizeof(delay), t.req_waited);
		format_delay(total, sizeof(total), waited_ms);
		log_debug(1, "%s: waited %s in all over %d attempts (this run: %s "
		    "of at most %ld s, --max-wait)", rq->phase, delay, rs->attempts,
		    total, cfg.max_wait_s);
	}
	/* Drop the handle's pointers to this request's buffers. */
	curl_easy_reset(s->curl);
	body_reset(s);
	free_headers(t.headers);
	free(t.shown);
	s->phase = NULL;
	s->rq = NULL;
	return ret;
}

int
http_send(struct http_session *s, const struct http_request *rq,
    struct http_response *rs)
{
	struct http_request r;
	int rc;

	if (rq->bearer_on_401 == NULL || rq->bearer != NULL)
		return send_attempts(s, rq, rs, 0);
	/* First without the token; a 401 from that URL brings it, once. */
	r = *rq;
	r.bearer_on_401 = NULL;
	if ((rc = send_attempts(s, &r, rs, 1)) < 0 || rs->status != 401)
		return rc;
	log_debug(1, "%s: answered 401 without a token; once more with it",
	    rq->phase);
	http_response_free(rs);
	r.bearer = rq->bearer_on_401;
	return send_attempts(s, &r, rs, 0);
}
