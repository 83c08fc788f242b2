/*
 * http_impl.h - what http.c (the session, its options and one transfer's
 * set-up), http_fail.c (why a transfer failed, in words) and http_send.c
 * (a request over its attempts: the retry policy, the waits) share. Only
 * they include it: curl_* stays behind these three files (HACKING.md).
 */
#ifndef DRS_HTTP_IMPL_H
#define DRS_HTTP_IMPL_H

#include <time.h>

#include <curl/curl.h>

/* Include http.h before: */
struct cert_ca;
struct http_request;
struct http_response;

/* The options of the run (http_set_options). */
struct http_cfg {
	char *cacert;
	char *proxy;
	char *proxy_shown;	/* for messages: without user information */
	char *env_proxy_shown;	/* the environment's, as libcurl picks it, and which variable */
	long timeout_s;
	int attempts;
	long max_wait_s;
	struct curl_slist *resolve;	/* --resolve, as CURLOPT_RESOLVE wants it */
};
extern struct http_cfg http_cfg;
/* Waited between attempts so far, over every request of the run (--max-wait). */
extern long http_waited_ms;

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

/* http.c */
void http_body_reset(struct http_session *s);
int http_setup(struct http_session *s, const struct http_request *rq,
    struct curl_slist *headers);
struct curl_slist *http_build_headers(const struct http_request *rq,
    const char *bearer, const char *request_id);
void http_free_headers(struct curl_slist *l);
int http_load_cabundle(struct http_session *s, const char *phase);
int http_check_request(const struct http_request *rq);
int http_take_answer(struct http_session *s, struct http_response *rs);
unsigned long http_jitter(void);
void http_host_port(const char *url, char *out, size_t outsz);
void http_host_only(const char *hostport, char *out, size_t outsz);
int http_quotes_proxy(const char *err);

/* http_fail.c */
void http_describe(struct http_session *s, const struct http_request *rq,
    CURLcode rc, char *out, size_t outsz, int *code);
int http_retryable(struct http_session *s, CURLcode rc, int resendable);
int http_maybe_sent(struct http_session *s, CURLcode rc);
int http_fail_answer_because(const struct http_request *rq,
    const struct http_response *rs, const char *why);
int http_redirect_note(struct http_session *s, char *out, size_t outsz);

#endif
