/* http_fail.c - why a transfer or an answer failed, in one line (see http_impl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "http_impl.h"
#include "log.h"
#include "redact.h"
#include "retry.h"
#include "svcerr.h"
#include "util.h"

/* What http_describe() needs to say why a transfer failed. */
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
	if (http_quotes_proxy(s->errbuf))
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
		http_host_only(f->hp, host, sizeof(host));
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
		    http_cfg.timeout_s < HTTP_CONNECT_TIMEOUT_MAX_S ? http_cfg.timeout_s :
		    HTTP_CONNECT_TIMEOUT_MAX_S, http_cfg.timeout_s);
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
void
http_describe(struct http_session *s, const struct http_request *rq, CURLcode rc,
    char *out, size_t outsz, int *code)
{
	struct fail_text f = { .s = s, .rc = rc, .proxy = http_cfg.proxy_shown,
	    .out = out, .outsz = outsz, .code = code };
	size_t n;

	/*
	 * libcurl's threaded resolver at times reports a proxy it could not
	 * resolve as CURLE_COULDNT_RESOLVE_HOST (its text still says "proxy"):
	 * the host we would name is not the one that failed.
	 */
	if (rc == CURLE_COULDNT_RESOLVE_HOST &&
	    (http_cfg.proxy_shown != NULL || http_cfg.env_proxy_shown != NULL) &&
	    strncmp(s->errbuf, "Could not resolve proxy", 23) == 0)
		f.rc = CURLE_COULDNT_RESOLVE_PROXY;
	/* The environment's proxy, when libcurl took it for this URL. */
	curl_easy_getinfo(s->curl, CURLINFO_USED_PROXY, &f.used_proxy);
	if (f.proxy == NULL && (f.used_proxy || f.rc == CURLE_COULDNT_RESOLVE_PROXY))
		f.proxy = http_cfg.env_proxy_shown;
	http_host_port(rq->url, f.hp, sizeof(f.hp));
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
int
http_retryable(struct http_session *s, CURLcode rc, int resendable)
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
int
http_maybe_sent(struct http_session *s, CURLcode rc)
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
int
http_fail_answer_because(const struct http_request *rq,
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

/* "it redirects to URL, ..." for a 3xx answer with a Location; -1 without. */
int
http_redirect_note(struct http_session *s, char *out, size_t outsz)
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
