/* http.c - HTTPS to the service: the session, its options and one transfer's set-up (see http.h, http_impl.h). */
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
#include "http_impl.h"
#include "log.h"
#include "redact.h"
#include "retry.h"
#include "sandbox.h"
#include "sigdefer.h"
#include "util.h"

#if LIBCURL_VERSION_NUM != 0x080e01
#error "drsjoin is pinned to libcurl 8.14.1 (third_party/versions)"
#endif


struct http_cfg http_cfg = {
	.timeout_s = HTTP_DEFAULT_TIMEOUT_S,
	.attempts = RETRY_DEFAULT_ATTEMPTS,
	.max_wait_s = RETRY_DEFAULT_MAX_WAIT_S,
};

long http_waited_ms;

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
	free(http_cfg.cacert);
	util_free_secret(http_cfg.proxy);
	free(http_cfg.proxy_shown);
	free(http_cfg.env_proxy_shown);
	curl_slist_free_all(http_cfg.resolve);
	http_cfg.cacert = http_cfg.proxy = http_cfg.proxy_shown = http_cfg.env_proxy_shown = NULL;
	http_cfg.resolve = NULL;
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
int
http_quotes_proxy(const char *err)
{
	const char *var, *p = http_cfg.proxy != NULL ? http_cfg.proxy : env_proxy(&var);

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
	curl_slist_free_all(http_cfg.resolve);
	http_cfg.resolve = resolve;
	free(http_cfg.cacert);
	util_free_secret(http_cfg.proxy);
	free(http_cfg.proxy_shown);
	http_cfg.cacert = cacert;
	http_cfg.proxy = proxy;
	http_cfg.proxy_shown = NULL;
	if (proxy != NULL && *proxy != '\0' &&
	    (http_cfg.proxy_shown = proxy_shown(proxy)) == NULL)
		return -1;
	free(http_cfg.env_proxy_shown);
	http_cfg.env_proxy_shown = NULL;
	if (proxy != NULL) {
		log_debug(1, "proxy: %s", http_cfg.proxy_shown != NULL ?
		    http_cfg.proxy_shown : "none (--proxy '')");
	} else if ((ev = env_proxy(&var)) != NULL) {
		/* Named in errors when libcurl used it (no_proxy may skip it). */
		if ((shown = proxy_shown(ev)) == NULL)
			return -1;
		http_cfg.env_proxy_shown = util_asprintf("%s (from %s)", shown, var);
		free(shown);
		if (http_cfg.env_proxy_shown == NULL)
			return -1;
		log_debug(1, "proxy: %s%s", http_cfg.env_proxy_shown,
		    getenv("no_proxy") != NULL || getenv("NO_PROXY") != NULL ?
		    "; not for the hosts no_proxy names" : "");
	}
	http_cfg.timeout_s = o->timeout_s ? o->timeout_s : HTTP_DEFAULT_TIMEOUT_S;
	http_cfg.attempts = o->attempts ? o->attempts : RETRY_DEFAULT_ATTEMPTS;
	http_cfg.max_wait_s = o->max_wait_s ? o->max_wait_s : RETRY_DEFAULT_MAX_WAIT_S;
	return 0;
}

int
http_cabundle_check(void)
{
	return cabundle_find(http_cfg.cacert, getenv("SSL_CERT_FILE"), NULL, NULL) ==
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

void
http_body_reset(struct http_session *s)
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
	http_body_reset(s);
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
unsigned long
http_jitter(void)
{
	unsigned int r;
	struct timespec ts;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_nsec;
}

/* "host:port" of an https URL, for messages. */
void
http_host_port(const char *url, char *out, size_t outsz)
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
void
http_host_only(const char *hostport, char *out, size_t outsz)
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
void
http_free_headers(struct curl_slist *l)
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
struct curl_slist *
http_build_headers(const struct http_request *rq, const char *bearer,
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
	http_free_headers(l);
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
	const char *var, *p = http_cfg.proxy != NULL ? http_cfg.proxy : env_proxy(&var);

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
	http_host_port(s->rq->url, hp, sizeof(hp));
	http_host_only(hp, host, sizeof(host));
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
int
http_setup(struct http_session *s, const struct http_request *rq,
    struct curl_slist *headers)
{
	CURL *c = s->curl;
	CURLcode rc;
	long timeout_ms = http_cfg.timeout_s * 1000L;
	long connect_ms = (http_cfg.timeout_s < HTTP_CONNECT_TIMEOUT_MAX_S ?
	    http_cfg.timeout_s : HTTP_CONNECT_TIMEOUT_MAX_S) * 1000L;

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
	if (http_cfg.proxy != NULL)
		SET(CURLOPT_PROXY, http_cfg.proxy);
	if (http_cfg.resolve != NULL)
		SET(CURLOPT_RESOLVE, http_cfg.resolve);
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




/* Hands the received answer over to rs. */
int
http_take_answer(struct http_session *s, struct http_response *rs)
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


/* Finds and reads the CA bundle, once a session. 0 / -1 (reported). */
int
http_load_cabundle(struct http_session *s, const char *phase)
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
	path = cabundle_find(http_cfg.cacert, getenv("SSL_CERT_FILE"), NULL, &from);
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
int
http_check_request(const struct http_request *rq)
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

