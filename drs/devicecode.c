/* devicecode.c - the device code sign-in (see devicecode.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "devicecode.h"
#include "json.h"
#include "log.h"
#include "redact.h"
#include "util.h"

#define GRANT "urn:ietf:params:oauth:grant-type:device_code"

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A number that may come as a JSON number or a numeric string (v1 answers). */
static int
number(const struct json *o, const char *key, long min, long max, long *out)
{
	const char *s = json_string(json_get(o, key));
	double d;
	char *end;

	if (json_get(o, key) == NULL || json_is_null(json_get(o, key)))
		return 1;
	if (s != NULL) {
		errno = 0;
		d = (double)strtol(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0')
			return -1;
	} else if (json_get_number(o, key, &d) < 0) {
		return -1;
	}
	if (d < (double)min || d > (double)max)
		return -1;
	*out = (long)d;
	return 0;
}

int
devicecode_parse(const struct http_response *rs, struct devicecode *c)
{
	struct json *a;
	const char *dc, *uc, *uri, *uri1, *msg;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if ((a = answer_parse("login", rs)) == NULL)
		return -1;
	/* Every field checked as answer.h says; v1 names the URL verification_url. */
	if (answer_string("login", a, NULL, "device_code", ANSWER_WORD, 8192, 1,
	    &dc) < 0 ||
	    answer_string("login", a, NULL, "user_code", ANSWER_WORD,
	    sizeof(c->user_code) - 1, 1, &uc) < 0 ||
	    answer_string("login", a, NULL, "verification_uri", ANSWER_URL,
	    sizeof(c->uri) - 1, 0, &uri) < 0 ||
	    answer_string("login", a, NULL, "verification_url", ANSWER_URL,
	    sizeof(c->uri) - 1, uri == NULL, &uri1) < 0 ||
	    answer_string("login", a, NULL, "message", ANSWER_TEXT, 1000, 0,
	    &msg) < 0)
		goto out;
	if (uri == NULL)
		uri = uri1;
	c->expires_in = 900;
	c->interval = 5;
	if (number(a, "expires_in", 1, 86400, &c->expires_in) < 0 ||
	    number(a, "interval", 0, DEVICECODE_INTERVAL_MAX_S, &c->interval) < 0) {
		log_fail(EXIT_NETWORK, "login: the device code answer has a bad "
		    "expires_in or interval");
		goto out;
	}
	if (c->interval == 0)
		c->interval = 5;
	snprintf(c->user_code, sizeof(c->user_code), "%s", uc);
	snprintf(c->uri, sizeof(c->uri), "%s", uri);
	if (msg != NULL)
		snprintf(c->message, sizeof(c->message), "%s", msg);
	else
		snprintf(c->message, sizeof(c->message), "To sign in, open %s "
		    "in a web browser and enter the code %s.", c->uri, c->user_code);
	if ((c->device_code = util_strdup(dc)) == NULL)
		goto out;
	rc = 0;
out:
	json_free(a);
	return rc;
}

void
devicecode_free(struct devicecode *c)
{
	if (c == NULL)
		return;
	util_free_secret(c->device_code);
	c->device_code = NULL;
}

/* The terminal's countdown line, redrawn in place. */
static void
countdown(int tty, double left, const char *user_code)
{
	long s = left > 0 ? (long)(left + 0.5) : 0;
	char code[sizeof(((struct devicecode *)0)->user_code) * 4];

	if (!tty || log_level < 1)
		return;
	log_escape(code, sizeof(code), user_code, sizeof(code) - 1);
	fprintf(stderr, "\rdrsjoin: waiting for the sign-in with code %s: "
	    "%ld:%02ld left (Ctrl-C gives up) \033[K", code, s / 60, s % 60);
	fflush(stderr);
}

static void
countdown_end(int tty)
{
	if (tty && log_level >= 1) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

/* Sleeps until t (monotonic) or Ctrl-C, redrawing the countdown. */
static void
wait_until(double t, double deadline, int tty, const char *user_code)
{
	double left;
	struct timespec ts;

	while (!interrupted && (left = t - now_mono()) > 0) {
		countdown(tty, deadline - now_mono(), user_code);
		if (left > 1)
			left = 1;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);	/* EINTR: Ctrl-C, checked above */
	}
}

/* Asks the service for a device code (*c filled). */
static int
request_code(struct http_session *s, const struct login_endpoints *ep,
    const char *client_id, struct devicecode *c)
{
	struct http_response rs = { 0 };
	const char *pairs[] = { "client_id", client_id, "scope", LOGIN_DRS_SCOPE,
	    NULL, NULL };
	char *form;
	int rc = -1;

	if ((form = login_form(pairs)) == NULL)
		return -1;
	log_debug(1, "login: asking %s for a device code", ep->devicecode_v2);
	if (login_post(s, ep->devicecode_v2, form, 1, &rs) < 0)
		goto out;
	if (rs.status < 200 || rs.status > 299) {
		login_fail(ep->devicecode_v2, "device code request", &rs);
		goto out;
	}
	rc = devicecode_parse(&rs, c);
out:
	http_response_free(&rs);
	util_free_secret(form);
	return rc;
}

/*
 * One poll's answer: 0 signed in (*token set), 1 poll again (c->interval
 * may have grown), -1 reported.
 */
static int
poll_answer(const struct login_endpoints *ep, const struct http_response *rs,
    struct devicecode *c, int tty, char **token, char **refresh)
{
	char err[64];

	if (rs->status >= 200 && rs->status <= 299) {
		countdown_end(tty);
		if (login_take_tokens(rs, "device code sign-in", token, refresh) < 0)
			return -1;
		log_note("login: signed in");
		return 0;
	}
	login_error_code(rs, err, sizeof(err));
	if (strcmp(err, "authorization_pending") == 0)
		return 1;	/* nothing changed: no line in a pipe */
	if (strcmp(err, "slow_down") == 0) {
		if (c->interval + DEVICECODE_SLOW_DOWN_S <= DEVICECODE_INTERVAL_MAX_S)
			c->interval += DEVICECODE_SLOW_DOWN_S;
		if (!tty)
			log_note("login: the service asks to poll more "
			    "slowly: every %ld s", c->interval);
		return 1;
	}
	countdown_end(tty);
	if (strcmp(err, "authorization_declined") == 0)
		return log_fail(EXIT_REFUSED, "login: the sign-in with code %s "
		    "was declined", c->user_code);
	/* RFC 8628 says expired_token; some Entra answers code_expired. */
	if (strcmp(err, "expired_token") == 0 || strcmp(err, "code_expired") == 0)
		return log_fail(EXIT_REFUSED, "login: the device code expired "
		    "before anyone signed in; run drsjoin again for a new one");
	login_fail(ep->token_v2, "device code sign-in", rs);
	return -1;
}

/* Polls the token endpoint until the sign-in, its refusal, expiry or Ctrl-C. */
static int
poll_token(struct http_session *s, const struct login_endpoints *ep,
    const char *client_id, struct devicecode *c, double start, int tty,
    char **token, char **refresh)
{
	struct http_response rs = { 0 };
	const char *pairs[] = { "grant_type", GRANT, "client_id", client_id,
	    "device_code", c->device_code, NULL, NULL };
	double deadline = start + (double)c->expires_in, next;
	char *form;
	int rc = -1;

	if ((form = login_form(pairs)) == NULL)
		return -1;
	/* The first poll one interval after the code, each next one after the answer. */
	next = start + (double)c->interval;
	for (;;) {
		/* Never past the code's life: an interval may be longer than it. */
		wait_until(next < deadline ? next : deadline, deadline, tty,
		    c->user_code);
		if (interrupted)
			break;
		if (now_mono() >= deadline) {
			countdown_end(tty);
			log_fail(EXIT_REFUSED, "login: the device code expired "
			    "after %ld s before anyone signed in; run drsjoin "
			    "again for a new one", c->expires_in);
			goto out;
		}
		http_response_free(&rs);
		if (login_post(s, ep->token_v2, form, 1, &rs) < 0) {
			countdown_end(tty);
			goto out;
		}
		/* Ctrl-C during a poll gives up, even if that poll signed in. */
		if (interrupted)
			break;
		if ((rc = poll_answer(ep, &rs, c, tty, token, refresh)) <= 0)
			goto out;
		rc = -1;
		next = now_mono() + (double)c->interval;
	}
	countdown_end(tty);
	log_fail(EXIT_INTERRUPTED, "login: interrupted while waiting for the "
	    "sign-in with code %s", c->user_code);
out:
	http_response_free(&rs);
	util_free_secret(form);
	return rc;
}

int
devicecode_run(struct http_session *s, const struct login_endpoints *ep,
    const char *client_id, char **token, char **refresh)
{
	struct devicecode c = { 0 };
	struct sigaction sa, old_sa;
	char shown[LOG_LINE_MAX + 1];
	double start;
	int rc = -1, tty = isatty(2), handler = 0;

	*token = NULL;
	if (request_code(s, ep, client_id, &c) < 0)
		goto out;
	start = now_mono();
	/* The person needs this even under -q; escaped as every line is. */
	log_escape(shown, sizeof(shown), c.message, LOG_LINE_MAX);
	fprintf(stderr, "drsjoin: %s\n", shown);
	if (!tty)
		log_note("login: waiting for the sign-in (the code expires in "
		    "%ld s; polling every %ld s)", c.expires_in, c.interval);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	if (sigaction(SIGINT, &sa, &old_sa) == 0)
		handler = 1;
	rc = poll_token(s, ep, client_id, &c, start, tty, token, refresh);
out:
	if (handler)
		sigaction(SIGINT, &old_sa, NULL);
	devicecode_free(&c);
	return rc;
}

int
devicecode_run_refresh(struct http_session *s, const struct login_endpoints *ep,
    const char *client_id, char **refresh_token)
{
	char *access = NULL;
	int rc;

	*refresh_token = NULL;
	rc = devicecode_run(s, ep, client_id, &access, refresh_token);
	util_free_secret(access);
	if (rc == 0 && *refresh_token == NULL)
		rc = log_fail(EXIT_NETWORK, "login: the device code sign-in "
		    "answered no refresh token");
	return rc;
}
