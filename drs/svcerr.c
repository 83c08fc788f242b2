/* svcerr.c - one line for an error answer of the service (see svcerr.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "redact.h"
#include "svcerr.h"
#include "util.h"

/*
 * A field value as shown: trimmed, redacted as -vvv shows text (a service
 * may echo the request), one printable line, cut to fit dstsz with "..."
 * when longer. Empty when s is NULL.
 */
static void
field(char *dst, size_t dstsz, const char *s)
{
	size_t n, used;
	char *r;

	dst[0] = '\0';
	if (s == NULL)
		return;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if ((r = redact_text(s, n, &n)) == NULL) {
		snprintf(dst, dstsz, "(not shown)");
		return;
	}
	used = redact_sanitize(dst, dstsz - 3, r, n, 1);
	if (used < n)
		strcat(dst, "...");
	free(r);
}

/* A string member by key in any letter case; NULL when absent. */
static const char *
get(const struct json *obj, const char *key)
{
	return json_string(json_get_ci(obj, key));
}

static int
same_ci(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return 0;
	}
	return *a == *b;
}

/* The trailer " (client-request-id X)", or nothing. */
static void
append_crid_only(char *out, size_t outsz, const char *request_id)
{
	char crid[SVCERR_FIELD_MAX + 1];

	field(crid, sizeof(crid), request_id);
	if (crid[0] != '\0')
		util_appendf(out, outsz, " (client-request-id %s)", crid);
}

/* The excerpt form, for a body that is not JSON or holds no error details. */
static void
format_excerpt(char *out, size_t outsz, const char *body, size_t len,
    const char *content_type, int is_json, const char *request_id)
{
	char excerpt[SVCERR_EXCERPT_MAX * 4 + 4];
	char ctype[SVCERR_FIELD_MAX + 1];
	size_t rlen = 0, n;
	/* Redacted whole as -vvv shows it, then cut: a secret is never cut in two. */
	char *r = redact_answer(content_type, body, len, &rlen);

	n = rlen < SVCERR_EXCERPT_MAX ? rlen : SVCERR_EXCERPT_MAX;
	if (r != NULL)
		redact_sanitize(excerpt, sizeof(excerpt) - 3, r, n, 0);
	else
		snprintf(excerpt, sizeof(excerpt), "(not shown)");
	if (r != NULL && n < rlen)
		strcat(excerpt, "...");
	free(r);
	field(ctype, sizeof(ctype), content_type);
	if (is_json && ctype[0] != '\0')
		util_appendf(out, outsz, ", no error details (%s, %zu bytes): %s",
		    ctype, len, excerpt);
	else if (is_json)
		util_appendf(out, outsz, ", no error details (%zu bytes): %s", len,
		    excerpt);
	else if (ctype[0] != '\0')
		util_appendf(out, outsz, ", not JSON (%s, %zu bytes): %s", ctype, len,
		    excerpt);
	else
		util_appendf(out, outsz, ", not JSON (%zu bytes): %s", len, excerpt);
	append_crid_only(out, outsz, request_id);
}

/* The members of an error answer, whichever shape it has (borrowed from it). */
struct err_fields {
	const char *type, *msg, *trace, *corr, *sub;
	char num[32];		/* a numeric "code" as text */
};

/* DRS, then the newer DRS shape, then login, then Graph-like. */
static void
find_fields(const struct json *j, struct err_fields *f)
{
	struct json *e, *inner;
	double d;

	f->type = get(j, "ErrorType");
	f->msg = get(j, "Message");
	f->trace = get(j, "TraceId");
	if (f->type == NULL && (f->type = get(j, "code")) == NULL &&
	    json_get_number(j, "code", &d) == 0) {
		snprintf(f->num, sizeof(f->num), "%.0f", d);
		f->type = f->num;
	}
	if (f->type != NULL && get(j, "ErrorType") == NULL)
		f->sub = get(j, "subcode");
	if (f->trace == NULL)
		f->trace = get(j, "requestId");
	if (f->type == NULL)
		f->type = get(j, "error");
	if (f->msg == NULL)
		f->msg = get(j, "error_description");
	if (f->trace == NULL)
		f->trace = get(j, "trace_id");
	f->corr = get(j, "correlation_id");
	if ((e = json_get_ci(j, "error")) == NULL || !json_is_object(e))
		return;
	if (f->type == NULL)
		f->type = get(e, "code");
	if (f->msg == NULL)
		f->msg = get(e, "message");
	inner = json_get_ci(e, "innerError");
	if (f->trace == NULL)
		f->trace = get(inner, "request-id");
	if (f->corr == NULL)
		f->corr = get(inner, "client-request-id");
}

/* " (trace id T, correlation id C, client-request-id R)", the ones there are. */
static void
append_ids(char *out, size_t outsz, const char *trace, char *corr, const char *crid)
{
	const char *sep = "";

	if (corr[0] != '\0' && crid[0] != '\0' && same_ci(corr, crid))
		corr[0] = '\0';
	if (trace[0] == '\0' && corr[0] == '\0' && crid[0] == '\0')
		return;
	util_appendf(out, outsz, " (");
	if (trace[0] != '\0') {
		util_appendf(out, outsz, "trace id %s", trace);
		sep = ", ";
	}
	if (corr[0] != '\0') {
		util_appendf(out, outsz, "%scorrelation id %s", sep, corr);
		sep = ", ";
	}
	if (crid[0] != '\0')
		util_appendf(out, outsz, "%sclient-request-id %s", sep, crid);
	util_appendf(out, outsz, ")");
}

char *
svcerr_format(char *out, size_t outsz, const char *phase, long status,
    const char *body, size_t len, const char *content_type,
    const char *request_id)
{
	char type[2 * SVCERR_FIELD_MAX + 2], sub[SVCERR_FIELD_MAX + 1];
	char msg[SVCERR_MESSAGE_MAX + 1], trace[SVCERR_FIELD_MAX + 1];
	char corr[SVCERR_FIELD_MAX + 1], crid[SVCERR_FIELD_MAX + 1];
	struct err_fields f = { 0 };
	struct json *j = NULL;

	if (outsz == 0)
		return out;
	out[0] = '\0';
	util_appendf(out, outsz, "%s: server answered %ld", phase, status);
	if (len == 0) {
		util_appendf(out, outsz, " with an empty body");
		append_crid_only(out, outsz, request_id);
		return out;
	}
	j = json_parse_quiet(body, len);
	if (j != NULL && json_is_object(j))
		find_fields(j, &f);
	if (f.type == NULL && f.msg == NULL) {
		format_excerpt(out, outsz, body, len, content_type,
		    j != NULL, request_id);
		json_free(j);
		return out;
	}
	field(type, sizeof(type) / 2, f.type);
	field(sub, sizeof(sub), f.sub);
	if (type[0] != '\0' && sub[0] != '\0') {
		strcat(type, "/");
		strcat(type, sub);
	}
	field(msg, sizeof(msg), f.msg);
	field(trace, sizeof(trace), f.trace);
	field(corr, sizeof(corr), f.corr);
	field(crid, sizeof(crid), request_id);
	json_free(j);
	if (type[0] != '\0')
		util_appendf(out, outsz, " %s", type);
	if (msg[0] != '\0')
		util_appendf(out, outsz, ": %s", msg);
	append_ids(out, outsz, trace, corr, crid);
	return out;
}
