/* http_send.c - a request over its attempts: the retry policy and its waits (see http.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "http_impl.h"
#include "log.h"
#include "redact.h"
#include "retry.h"
#include "sigdefer.h"
#include "util.h"

static void
format_delay(char *out, size_t outsz, long ms)
{
	if (ms % 1000 == 0)
		snprintf(out, outsz, "%ld s", ms / 1000);
	else
		snprintf(out, outsz, "%ld.%ld s", ms / 1000, (ms % 1000) / 100);
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
	long left = http_cfg.max_wait_s * 1000L - http_waited_ms;

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
	if ((h = http_build_headers(rq, *bearer, request_id)) == NULL)
		return -1;
	http_free_headers(*headers);
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
	http_waited_ms += ms;
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

/*
 * Waits wait_ms before the next attempt, because of reason. A failed
 * transfer's backoff is said at -v after the note (backoff_line), as it
 * always was. -1 reported.
 */
static int
retry_wait(struct try *t, long wait_ms, const char *reason, int backoff_line)
{
	char delay[32];

	if (call_retry_hook(t->s, t->rq, wait_ms, &t->bearer, t->rs->request_id,
	    &t->headers) < 0)
		return -1;
	format_delay(delay, sizeof(delay), wait_ms);
	log_note("%s: %s, retrying in %s (attempt %d of %d)", t->rq->phase,
	    reason, delay, t->attempt + 1, http_cfg.attempts);
	if (backoff_line)
		log_debug(1, "%s: waiting %ld ms (backoff, jittered)", t->rq->phase,
		    wait_ms);
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
	http_body_reset(s);
	s->have_retry_after = 0;
	s->date = 0;
	s->hook_failed = 0;
	s->stopped = s->request_out = 0;
	if ((sig = sigdefer_stop_now()) != 0)
		return fail_stopped(rq, sig, "before the request went out");
	if (http_setup(s, rq, t->headers) < 0)
		return -1;
	log_debug(1, "%s: %s %s (attempt %d of %d)", rq->phase, rq->method,
	    t->shown != NULL ? t->shown : "", t->attempt, http_cfg.attempts);
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
	http_describe(t->s, rq, rc, t->why, sizeof(t->why), &code);
	/* The status line said done: sending again would not be the same request. */
	if (rq->body_informational && status >= 200 && status <= 299) {
		log_note("%s: answered %ld, but %s; the answer's body is not "
		    "needed", rq->phase, status, t->why);
		http_body_reset(t->s);
		t->rs->status = status;
		return 0;
	}
	if (t->attempt < http_cfg.attempts && http_retryable(t->s, rc, t->resendable) &&
	    (left = wait_left_ms()) > 0) {
		wait_ms = retry_backoff_ms(t->attempt, RETRY_BACKOFF_BASE_MS,
		    RETRY_BACKOFF_CAP_MS, http_jitter());
		if (wait_ms > left)
			wait_ms = left;
		return retry_wait(t, wait_ms, t->why, 1) < 0 ? -1 : 1;
	}
	if (rq->if_maybe_done != NULL && http_maybe_sent(t->s, rc))
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
	if (http_take_answer(s, rs) < 0)
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
	http_fail_answer_because(t->rq, t->rs, why);
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
			    "at least " : "", (long)ra, delay, http_cfg.max_wait_s);
			return give_up(t, t->why);
		}
		*wait_ms = retry_after_ms((long)ra, t->refused, http_jitter());
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
		format_delay(total, sizeof(total), http_waited_ms);
		snprintf(t->why, sizeof(t->why), "gave up after %d attempts, having "
		    "waited %s in all (--max-wait)", t->attempt, total);
		return give_up(t, t->why);
	}
	*wait_ms = retry_backoff_ms(t->attempt, RETRY_BACKOFF_BASE_MS,
	    RETRY_BACKOFF_CAP_MS, http_jitter());
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
		    http_redirect_note(t->s, t->why, sizeof(t->why)) == 0)
			http_fail_answer_because(rq, t->rs, t->why);
		else
			http_fail_answer(rq, t->rs);
		return -1;
	}
	if (t->attempt == http_cfg.attempts) {
		format_delay(total, sizeof(total), http_waited_ms);
		snprintf(t->why, sizeof(t->why), "gave up after %d attempts "
		    "(--attempts), having waited %s in all", t->attempt, total);
		return give_up(t, t->why);
	}
	if ((r = next_wait(t, status, wait_left_ms(), &wait_ms)) < 0 || wait_ms == 0)
		return r;
	snprintf(reason, sizeof(reason), "server answered %ld", status);
	return retry_wait(t, wait_ms, reason, 0) < 0 ? -1 : 1;
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
	if (http_check_request(rq) < 0)
		return -1;
	if (rq->request_id != NULL)
		snprintf(rs->request_id, sizeof(rs->request_id), "%s", rq->request_id);
	else if (http_new_request_id(rs->request_id) < 0)
		return -1;
	if (http_load_cabundle(s, rq->phase) < 0 ||
	    (t.headers = http_build_headers(rq, t.bearer, rs->request_id)) == NULL)
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
	for (t.attempt = 1; t.attempt <= http_cfg.attempts; t.attempt++) {
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
		format_delay(total, sizeof(total), http_waited_ms);
		log_debug(1, "%s: waited %s in all over %d attempts (this run: %s "
		    "of at most %ld s, --max-wait)", rq->phase, delay, rs->attempts,
		    total, http_cfg.max_wait_s);
	}
	/* Drop the handle's pointers to this request's buffers. */
	curl_easy_reset(s->curl);
	http_body_reset(s);
	http_free_headers(t.headers);
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
