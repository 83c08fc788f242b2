/*
 * fake_http.c - http.h's session calls for the whole-answer fuzz targets:
 * no network, every request is answered application/json with the body set
 * by fake_http_answer() and the status set by fake_http_status() (200 by
 * default). Linked before libdrs.a, so http.o (and curl) stay out of those
 * targets.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

void fake_http_answer(const char *body, size_t len);
void fake_http_status(long status);

struct http_session {
	int unused;
};

static const char *answer;
static size_t answer_len;
static long answer_status = 200;

/* Later answers have this status (200 by default). */
void
fake_http_status(long status)
{
	answer_status = status;
}

void
fake_http_answer(const char *body, size_t len)
{
	answer = body;
	answer_len = len;
}

struct http_session *
http_session_new(void)
{
	return calloc(1, sizeof(struct http_session));
}

int
http_new_request_id(char out[HTTP_REQUEST_ID_LEN + 1])
{
	strcpy(out, "00000000-0000-4000-8000-000000000000");
	return 0;
}

void
http_session_free(struct http_session *s)
{
	free(s);
}

int
http_send(struct http_session *s, const struct http_request *rq,
    struct http_response *rs)
{
	(void)s;
	memset(rs, 0, sizeof(*rs));
	if (rq == NULL || rq->url == NULL || strncmp(rq->url, "https://", 8) != 0)
		return log_fail(EXIT_INTERNAL, "fake http: not an https URL");
	/* As http.c: an error answer is the caller's only with pass_errors or pass_if. */
	if ((answer_status < 200 || answer_status > 299) && !rq->pass_errors &&
	    (rq->pass_if == NULL || !rq->pass_if(answer_status)))
		return log_fail(EXIT_REFUSED, "%s: server answered %ld", rq->phase,
		    answer_status);
	/* As http.c gives it: a NUL-terminated copy, NUL bytes inside kept. */
	if ((rs->body = malloc(answer_len + 1)) == NULL ||
	    (rs->content_type = strdup("application/json; charset=utf-8")) == NULL) {
		http_response_free(rs);
		return log_fail(EXIT_INTERNAL, "out of memory");
	}
	memcpy(rs->body, answer, answer_len);
	rs->body[answer_len] = '\0';
	rs->body_len = answer_len;
	rs->status = answer_status;
	rs->attempts = 1;
	strcpy(rs->request_id, "00000000-0000-4000-8000-000000000000");
	return 0;
}

void
http_response_free(struct http_response *rs)
{
	if (rs == NULL)
		return;
	free(rs->body);
	free(rs->content_type);
	rs->body = rs->content_type = NULL;
	rs->body_len = 0;
}

/* leave.c's (join --force deletes the replaced device): never reached here. */
int
http_fail_answer(const struct http_request *rq, const struct http_response *rs)
{
	(void)rq;
	(void)rs;
	return log_fail(EXIT_REFUSED, "fake http: an error answer");
}

/* join.c's check before keygen: there is no CA bundle to read here. */
int
http_cabundle_check(void)
{
	return 0;
}

/* config.c checks the file's proxy with it; no file is read here. */
int
http_proxy_ok(const char *url, char *why, size_t whysz)
{
	(void)url;
	(void)why;
	(void)whysz;
	return 1;
}
