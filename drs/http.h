/*
 * http.h - HTTPS requests to the Device Registration Service: the only user
 * of libcurl.
 *
 * What every request gets:
 * - HTTPS only (an http:// URL is refused before any traffic; redirects are
 *   not followed), TLS 1.2 or newer, the peer certificate and host name
 *   always verified against the CA bundle of cabundle.h (found before the
 *   first request, not before), never an option to turn that off.
 * - Headers: User-Agent drsjoin/<version>, Accept: application/json,
 *   ocp-adrs-client-name: drsjoin, ocp-adrs-client-version: <version>,
 *   client-request-id: <guid> (the same id on every attempt of one request),
 *   and Authorization: Bearer <token> when a token is given (rq->bearer),
 *   or (rq->bearer_on_401) only on a second request after the first, to
 *   the same URL, was answered 401 (discovery and nonce are anonymous;
 *   protocol.md).
 * - An answer body of at most HTTP_MAX_BODY bytes (more is an error).
 * - The retry policy of retry.h, with these bounds (see struct http_options):
 *   at most 4 attempts a request; at most 120 s of waiting in all, over the
 *   whole run (a Retry-After longer than what is left is an error at once);
 *   Retry-After waited plus a random extra of up to 1, 2, then 4 s as the
 *   same request is refused again (retry_after_ms); backoff 1, 2, 4, 8 s (jittered down to half). Connection
 *   failures before the request went out (cannot resolve, cannot connect,
 *   connect timeout) are retried for every method. A 429/503 means the
 *   request was not processed, so it is retried for every method. Failures
 *   after the request may have reached the server (reset, timeout, truncated
 *   answer) and 5xx answers other than 429/503 are retried for GET and
 *   DELETE, and for a POST only when the caller says so: rq->repeatable for
 *   a 5xx answer, rq->resend_unanswered for an answer lost after the request
 *   went out. The join sets neither: it may have been done.
 * - A POST without resend_unanswered goes on a connection of its own (fresh,
 *   closed after): libcurl silently sends a request again when a kept-alive
 *   connection turns out dead before any answer byte, and that must never
 *   happen to such a POST. Its rq->if_maybe_done is added to the error when
 *   it may have been carried out (an answer lost after it went out; a 5xx
 *   other than 501, 503, 505).
 * - Per attempt: the whole exchange within the timeout (default 30 s), the
 *   connection within min(timeout, 15 s).
 * - Each retry is one log_note line, e.g.
 *   "join: server answered 503, retrying in 2.3 s (attempt 2 of 4)"; -v
 *   adds the wait chosen in milliseconds, and how long was waited in all.
 * - Giving up on 429/503 (attempts or --max-wait spent) is "throttled":
 *   the svcerr.h line with "; throttled: ..." added, EXIT_NETWORK (a unit
 *   may restart the command later), by http_fail_answer too.
 * - Errors (log_fail, one line): network failures name the phase, the host
 *   and port and the reason (EXIT_NETWORK); TLS verification failures name
 *   the CA bundle used (EXIT_NETWORK); an unusable CA bundle is EXIT_INPUT; an error answer (after the retries) is the
 *   svcerr.h line (EXIT_REFUSED).
 * - -v: each request line (query secrets redacted), the request and answer
 *   headers (redact.h: "Authorization: Bearer <redacted>"), the status, size,
 *   time and whether the connection was reused; -v -v: the bodies too,
 *   redacted by redact.h; -v -v -v: libcurl's own connection notes.
 *
 * Threads: http_global_init() must run in main before any thread starts.
 * A session is used by one thread at a time (drsjoin makes its requests on
 * the main thread while keys are generated in others); separate sessions
 * may live in separate threads.
 */
#ifndef DRS_HTTP_H
#define DRS_HTTP_H

#include <stddef.h>

#define HTTP_DEFAULT_TIMEOUT_S 30L
#define HTTP_CONNECT_TIMEOUT_MAX_S 15L
#define HTTP_MAX_BODY (1024L * 1024L)
#define HTTP_REQUEST_ID_LEN 36	/* a GUID as text */

/* Once, from main, before any thread: 0, or -1 (reported, EXIT_INTERNAL). */
int http_global_init(void);
void http_global_cleanup(void);
/* "libcurl/8.14.1 mbedTLS/3.6.6", read from the library at run time. */
const char *http_library_version(void);

/* The global command line's network options. Strings are copied. */
struct http_options {
	const char *cacert;	/* --cacert FILE, or NULL (then SSL_CERT_FILE, then the system bundle) */
	const char *proxy;	/* --proxy URL, or NULL (then https_proxy, no_proxy... apply) */
	long timeout_s;		/* --timeout: per attempt; 0: HTTP_DEFAULT_TIMEOUT_S */
	int attempts;		/* attempts per request, 1..RETRY_MAX_ATTEMPTS; 0: RETRY_DEFAULT_ATTEMPTS */
	long max_wait_s;	/* --max-wait: the most waited between attempts in all, over the run; 0: RETRY_DEFAULT_MAX_WAIT_S */
	const char *const *resolve;	/* --resolve HOST:PORT:ADDRESS entries, NULL-terminated, or NULL */
};

/*
 * Sets the options for every later request: 0, or -1 (reported, EXIT_USAGE).
 * A --resolve entry pins HOST:PORT to ADDRESS (an IPv4 or IPv6 literal, the
 * latter with or without brackets) as curl's --resolve does; TLS still
 * verifies the certificate for HOST.
 */
int http_set_options(const struct http_options *opt);

/*
 * The CA bundle the first request will use can be opened and is not empty
 * (cabundle.h): 0, or -1 reported (EXIT_INPUT). For a check before slow
 * local work (key generation); the bundle is read at the first request.
 */
int http_cabundle_check(void);

/* One connection (kept alive) per host for the whole run. */
struct http_session;
struct http_session *http_session_new(void);	/* NULL: reported */
void http_session_free(struct http_session *s);	/* NULL is fine */

struct http_request {
	const char *phase;	/* names messages: "discover", "nonce", "join" */
	const char *method;	/* "GET", "POST" or "DELETE" */
	const char *url;	/* https:// only */
	const char *bearer;	/* access token or NULL; secret: never logged, wiped from header buffers */
	const char *bearer_on_401;	/* with bearer NULL: the request goes without a token, and only a 401 answer brings one more request to the same URL with this token */
	const char *const *headers;	/* extra "Name: value" lines, NULL-terminated, or NULL */
	const char *body;	/* or NULL */
	size_t body_len;
	const char *content_type;	/* of body */
	const char *request_id;	/* client-request-id to send; NULL: a fresh one */
	/*
	 * TLS client authentication (leave): called with the TLS library's
	 * configuration of each connection (an mbedtls_ssl_config *) to
	 * install the client certificate and key (keys_tls_configure); 0, or
	 * -1 (reported). Such a request always opens a connection of its own:
	 * one made without the certificate is never reused for it, nor is its
	 * own kept for later requests. Called only for the service's
	 * handshake, never for an https:// proxy's (the proxy gets the CA
	 * bundle alone): the name the handshake verifies must be the URL's
	 * host, and no https proxy may still await its CONNECT answer.
	 */
	int (*tls_client)(void *tls_config, void *arg);
	void *tls_client_arg;
	int tls12_only;		/* at most TLS 1.2 (a key that cannot sign RSA-PSS) */
	int repeatable;		/* a POST to send again after a 5xx answer (see above) */
	int resend_unanswered;	/* a POST to send again when its answer was lost */
	const char *if_maybe_done;	/* a POST that may have been done: said in its error */
	int body_informational;	/* a 2xx whose body did not arrive whole (cut short, too large) still succeeds, with no body: the service acted (leave's DELETE) */
	int pass_errors;	/* return an error answer that is not retried further (status set, 0) instead of reporting it */
	int (*pass_if)(long status);	/* the same for the error statuses this says 1 for (NULL: none) */
};

struct http_response {
	long status;		/* HTTP status; 0 when no answer arrived */
	char *body;		/* NUL-terminated (NUL bytes inside possible); may hold secrets: freed wiped */
	size_t body_len;
	char *content_type;	/* or NULL */
	char request_id[HTTP_REQUEST_ID_LEN + 1];	/* the client-request-id sent */
	int attempts;		/* attempts made */
	/* The last attempt's times from its start, ms: connected, TLS done, answered. */
	double connect_ms, tls_ms, total_ms;
};

/*
 * Sends the request, with the retries above. Returns 0 with a 2xx answer in
 * *rs (or any answer, with rq->pass_errors); -1 when reported. *rs is filled
 * as far as it got (request_id always) and must be freed with
 * http_response_free() in every case.
 */
int http_send(struct http_session *s, const struct http_request *rq,
    struct http_response *rs);
void http_response_free(struct http_response *rs);

/* Reports an error answer the way http_send does (the svcerr.h line, EXIT_REFUSED; 429/503: throttled, EXIT_NETWORK); -1. */
int http_fail_answer(const struct http_request *rq, const struct http_response *rs);

/*
 * 1 when url is a proxy as --proxy takes it ([SCHEME://][USER:PASSWORD@]
 * HOST[:PORT]), else 0 with why (never echoing url): the config file's
 * proxy is checked with it, so that its error names FILE:LINE.
 */
int http_proxy_ok(const char *url, char *why, size_t whysz);

/* A fresh random (v4) GUID, lower case, from getrandom(): 0 / -1 (reported). */
int http_new_request_id(char out[HTTP_REQUEST_ID_LEN + 1]);

#endif
