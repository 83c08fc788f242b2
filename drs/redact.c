/* redact.c - what -v may show of a request or an answer (see redact.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redact.h"

/* A growing output buffer; oom set once an allocation failed. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void
add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

/* The string of b (never NULL unless out of memory); b is spent. */
static char *
finish(struct buf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (b->p == NULL)
		return strdup("");
	return b->p;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
eq_ci(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static int
ends_ci(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && strncasecmp(s + n - l, lit, l) == 0;
}

static int
contains_ci(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit), i, j;

	for (i = 0; l <= n && i <= n - l; i++) {
		for (j = 0; j < l && lower((unsigned char)s[i + j]) == lit[j]; j++)
			;
		if (j == l)
			return 1;
	}
	return 0;
}

int
redact_is_secret_key(const char *key, size_t klen, int form)
{
	return ends_ci(key, klen, "token") ||
	    contains_ci(key, klen, "nonce") ||
	    contains_ci(key, klen, "secret") ||
	    contains_ci(key, klen, "password") ||
	    contains_ci(key, klen, "assertion") ||
	    eq_ci(key, klen, "value") ||
	    eq_ci(key, klen, "device_code") ||
	    eq_ci(key, klen, "Authorization") ||
	    eq_ci(key, klen, "PreAuthorizedJoinChallenge") ||
	    /* The PRT protocol: the PRT, its wrapped session key, the SSO
	     * cookie, and the signed JWT a form's "request" carries. */
	    eq_ci(key, klen, "prt") ||
	    contains_ci(key, klen, "session_key") ||
	    contains_ci(key, klen, "credential") ||
	    (form && eq_ci(key, klen, "request")) ||
	    (form && eq_ci(key, klen, "code"));
}

size_t
redact_sanitize(char *out, size_t outsz, const char *in, size_t len,
    int spaces)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	int in_space = 0;

	if (outsz == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		char esc[5];
		size_t n;

		if (spaces && (c == '\n' || c == '\r' || c == '\t' || c == ' ')) {
			if (in_space)
				continue;
			esc[0] = ' ';
			n = 1;
			in_space = 1;
		} else if (c >= 0x20 && c < 0x7f) {
			esc[0] = (char)c;
			n = 1;
			in_space = 0;
		} else {
			esc[0] = '\\';
			n = 2;
			if (c == '\n')
				esc[1] = 'n';
			else if (c == '\r')
				esc[1] = 'r';
			else if (c == '\t')
				esc[1] = 't';
			else {
				esc[1] = 'x';
				esc[2] = hex[c >> 4];
				esc[3] = hex[c & 15];
				n = 4;
			}
			in_space = 0;
		}
		if (o + n + 1 > outsz)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return i;
}

/*
 * The characters of tokens: base64 and base64url, JWT dots, %-escapes,
 * and the * ! $ ~ of Microsoft account refresh tokens and client secrets.
 */
static int
run_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '+' || c == '/' || c == '=' || c == '%' || c == '~' ||
	    c == '*' || c == '!' || c == '$';
}

/* 1 upper, 2 lower, 3 digit, 0 anything else. */
static int
char_class(int c)
{
	return c >= 'A' && c <= 'Z' ? 1 : c >= 'a' && c <= 'z' ? 2 :
	    c >= '0' && c <= '9' ? 3 : 0;
}

/*
 * Random base64 changes between upper case, lower case and digits at about
 * two adjacent characters in three; words, paths, host names and GUIDs
 * (one case) far less often. Mixed case, 16 or more adjacent pairs, and
 * changes at 45% of them or more: a token.
 */
static int
random_looking(const char *s, size_t n)
{
	size_t i, pairs = 0, changes = 0;
	int seen = 0, a, b;

	for (i = 0; i < n; i++) {
		a = char_class((unsigned char)s[i]);
		seen |= a ? 1 << a : 0;
		if (i == 0 || a == 0 || (b = char_class((unsigned char)s[i - 1])) == 0)
			continue;
		pairs++;
		changes += a != b;
	}
	return (seen & 6) == 6 && pairs >= 16 && changes * 20 >= pairs * 9;
}

int
redact_looks_token(const char *s, size_t n)
{
	size_t i, start = 0;

	/* A JWT or JWE: a base64url JSON header ("eyJ"). */
	for (i = 0; n >= 16 && i + 3 <= n; i++)
		if (memcmp(s + i, "eyJ", 3) == 0)
			return 1;
	if (random_looking(s, n))
		return 1;
	/* Standard base64 split at '/' and '+', or parts between dots. */
	for (i = 0; i <= n; i++)
		if (i == n || strchr("/+.=%~*!$", s[i]) != NULL) {
			if (random_looking(s + start, i - start))
				return 1;
			start = i + 1;
		}
	return 0;
}

const char *
redact_arg(const char *arg, char *buf, size_t bufsz)
{
	size_t n = strlen(arg), i = 0, j, k;
	int hide = 0;

	while (!hide && i < n) {
		if (!run_char((unsigned char)arg[i])) {
			i++;
			continue;
		}
		for (j = i; j < n && run_char((unsigned char)arg[j]); j++)
			;
		hide = redact_looks_token(arg + i, j - i);
		/* One long word of base64 or hex, without - / or .: a secret. */
		for (k = i; !hide && k < j; ) {
			size_t w = k;

			while (w < j && strchr("-/.", arg[w]) == NULL)
				w++;
			hide = w - k > REDACT_ARG_WORD_MAX;
			k = w + 1;
		}
		i = j;
	}
	if (!hide)
		return arg;
	/* At most an eighth of it, from a token's public start ("eyJ0", "0.AX"). */
	snprintf(buf, bufsz, "%.*s...(%zu characters, not shown)",
	    n >= 8 * REDACT_ARG_PREFIX ? REDACT_ARG_PREFIX : 0, arg, n);
	return buf;
}

/*
 * Copies s into b, made safe to show as text: the value after a secret
 * key and '=' (a form echoed back) and every run of token characters that
 * redact_looks_token() takes for a token become the mark.
 */
static void
add_scrubbed(struct buf *b, const char *s, size_t n)
{
	size_t i = 0, start = 0, j, eq;

	while (i < n) {
		if (!run_char((unsigned char)s[i]) ||
		    (i > 0 && run_char((unsigned char)s[i - 1]))) {
			i++;
			continue;
		}
		for (j = i; j < n && run_char((unsigned char)s[j]); j++)
			;
		/* Dots that end a run end a sentence, not a token. */
		while (j > i + 1 && s[j - 1] == '.')
			j--;
		for (eq = i; eq < j && s[eq] != '='; eq++)
			;
		if (eq < j && eq > i && redact_is_secret_key(s + i, eq - i, 1)) {
			/* key=value: the value ends where a form field would. */
			for (j = eq + 1; j < n && strchr("&\"' \t\r\n<>,;", s[j]) == NULL; j++)
				;
			if (j > eq + 1) {	/* an empty value stays empty */
				add(b, s + start, eq + 1 - start);
				adds(b, REDACT_MARK);
				start = j;
			}
			i = j;
			continue;
		}
		if (redact_looks_token(s + i, j - i)) {
			add(b, s + start, i - start);
			adds(b, REDACT_MARK);
			start = j;
		}
		i = j;
	}
	add(b, s + start, n - start);
}

/* key=value&... with the values of secret keys redacted. */
static void
add_form(struct buf *b, const char *s, size_t n)
{
	size_t i = 0;

	while (i <= n) {
		size_t end = i, eq;

		while (end < n && s[end] != '&')
			end++;
		for (eq = i; eq < end && s[eq] != '='; eq++)
			;
		if (eq < end && eq + 1 < end &&
		    redact_is_secret_key(s + i, eq - i, 1)) {
			add(b, s + i, eq + 1 - i);
			adds(b, REDACT_MARK);
		} else {
			add(b, s + i, end - i);
		}
		if (end < n)
			add(b, "&", 1);
		i = end + 1;
	}
}

static void
add_url(struct buf *b, const char *s, size_t n)
{
	const char *q, *auth, *end, *at;
	size_t qs, qe;

	/* scheme://user:password@host: the user information is a secret. */
	auth = n >= 3 ? memchr(s, ':', n) : NULL;
	if (auth != NULL && (size_t)(auth - s) + 3 <= n &&
	    memcmp(auth, "://", 3) == 0) {
		auth += 3;
		for (end = auth; end < s + n && *end != '/' && *end != '?' &&
		    *end != '#' && *end != ' '; end++)
			;
		at = NULL;
		for (q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		if (at != NULL) {
			add(b, s, (size_t)(auth - s));
			adds(b, REDACT_MARK);
			n -= (size_t)(at - s);
			s = at;
		}
	}
	q = memchr(s, '?', n);
	if (q == NULL) {
		add(b, s, n);
		return;
	}
	qs = (size_t)(q - s) + 1;
	for (qe = qs; qe < n && s[qe] != '#' && s[qe] != ' '; qe++)
		;
	add(b, s, qs);
	add_form(b, s + qs, qe - qs);
	add(b, s + qe, n - qe);
}

static int
json_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
add_json(struct buf *b, const char *s, size_t n)
{
	const char *key = NULL;
	size_t klen = 0, i = 0;

	while (i < n) {
		size_t j, next, k, clen;
		int closed;

		if (s[i] != '"') {
			/* Any token but ':' ends the reach of the last key. */
			if (!json_space((unsigned char)s[i]) && s[i] != ':')
				key = NULL;
			add(b, s + i, 1);
			i++;
			continue;
		}
		for (j = i + 1; j < n && s[j] != '"'; j++)
			if (s[j] == '\\')
				j++;
		closed = j < n;
		if (j > n)
			j = n;
		next = closed ? j + 1 : n;
		clen = j - (i + 1);
		for (k = next; k < n && json_space((unsigned char)s[k]); k++)
			;
		if (k < n && s[k] == ':') {
			key = s + i + 1;
			klen = clen;
			add(b, s + i, next - i);
		} else if (key != NULL && clen > 0 &&
		    redact_is_secret_key(key, klen, 0)) {
			add(b, "\"", 1);
			adds(b, REDACT_MARK);
			if (closed)
				add(b, "\"", 1);
			key = NULL;
		} else if (clen > REDACT_LONG_STRING) {
			char tail[48];

			add(b, s + i, 33);
			snprintf(tail, sizeof(tail), "...(%zu chars)", clen);
			adds(b, tail);
			if (closed)
				add(b, "\"", 1);
			key = NULL;
		} else {
			add(b, s + i, next - i);
			key = NULL;
		}
		i = next;
	}
}

/*
 * Runs one of the add_* rewriters (NULL: none), then the JWT scrub; the
 * length of the result (which may hold NUL bytes) goes to *outlen.
 */
static char *
rewrite(void (*fn)(struct buf *, const char *, size_t), const char *s,
    size_t n, size_t *outlen)
{
	struct buf first = { 0 }, second = { 0 };

	if (fn != NULL) {
		fn(&first, s, n);
		if (first.oom) {
			free(first.p);
			return NULL;
		}
		s = first.p != NULL ? first.p : "";
		n = first.len;
	}
	add_scrubbed(&second, s, n);
	free(first.p);
	*outlen = second.len;
	return finish(&second);
}

/* Sanitises s into a new string, cut to max output bytes (0: no limit). */
static char *
sanitized(const char *s, size_t n, int spaces, size_t max, size_t total)
{
	size_t cap = n * 4 + 1, used;
	char *out;

	if (max > 0 && cap > max + 1)
		cap = max + 1;
	if ((out = malloc(cap + 32)) == NULL)
		return NULL;
	used = redact_sanitize(out, cap, s, n, spaces);
	if (used < n)
		snprintf(out + strlen(out), 32, "...(%zu bytes)", total);
	return out;
}

char *
redact_header(const char *line, size_t len)
{
	struct buf b = { 0 };
	const char *colon, *v;
	size_t nlen, vlen, i, n;
	char *raw, *scrubbed, *out;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	colon = memchr(line, ':', len);
	nlen = colon != NULL ? (size_t)(colon - line) : len;
	for (i = 0; i < nlen && line[i] != ' '; i++)
		;
	if (colon == NULL || i < nlen || nlen == 0) {
		/* A request or status line. */
		add_url(&b, line, len);
	} else {
		v = colon + 1;
		vlen = len - nlen - 1;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		add(&b, line, (size_t)(v - line));
		if (eq_ci(line, nlen, "Authorization") ||
		    eq_ci(line, nlen, "Proxy-Authorization")) {
			const char *sp = memchr(v, ' ', vlen);

			if (sp != NULL) {
				add(&b, v, (size_t)(sp - v) + 1);
			}
			if (vlen > 0)
				adds(&b, REDACT_MARK);
		} else if (eq_ci(line, nlen, "Cookie") ||
		    eq_ci(line, nlen, "Set-Cookie") ||
		    contains_ci(line, nlen, "token") ||
		    contains_ci(line, nlen, "secret")) {
			if (vlen > 0)
				adds(&b, REDACT_MARK);
		} else if (eq_ci(line, nlen, "Location") ||
		    eq_ci(line, nlen, "Content-Location")) {
			add_url(&b, v, vlen);
		} else {
			add(&b, v, vlen);
		}
	}
	if ((raw = finish(&b)) == NULL)
		return NULL;
	scrubbed = rewrite(NULL, raw, strlen(raw), &n);
	free(raw);
	if (scrubbed == NULL)
		return NULL;
	out = sanitized(scrubbed, n, 0, 0, 0);
	free(scrubbed);
	return out;
}

char *
redact_url(const char *url, size_t len)
{
	size_t n;
	char *raw = rewrite(add_url, url, len, &n), *out;

	if (raw == NULL)
		return NULL;
	out = sanitized(raw, n, 0, 0, 0);
	free(raw);
	return out;
}

char *
redact_form(const char *body, size_t len)
{
	size_t n;

	return rewrite(add_form, body, len, &n);
}

char *
redact_json(const char *text, size_t len)
{
	size_t n;

	return rewrite(add_json, text, len, &n);
}

char *
redact_text(const char *text, size_t len, size_t *outlen)
{
	size_t n;
	char *out = rewrite(NULL, text, len, &n);

	if (out != NULL && outlen != NULL)
		*outlen = n;
	return out;
}

char *
redact_answer(const char *content_type, const char *body, size_t len,
    size_t *outlen)
{
	void (*fn)(struct buf *, const char *, size_t) = NULL;
	size_t i;

	if (content_type != NULL && strstr(content_type, "json") != NULL)
		fn = add_json;
	else if (content_type != NULL &&
	    strstr(content_type, "x-www-form-urlencoded") != NULL)
		fn = add_form;
	else {
		for (i = 0; i < len && json_space((unsigned char)body[i]); i++)
			;
		if (i < len && (body[i] == '{' || body[i] == '['))
			fn = add_json;
	}
	return rewrite(fn, body, len, outlen);
}

char *
redact_body(const char *content_type, const char *body, size_t len)
{
	char *raw, *out;
	size_t n;

	if ((raw = redact_answer(content_type, body, len, &n)) == NULL)
		return NULL;
	out = sanitized(raw, n, 1, REDACT_BODY_MAX, len);
	free(raw);
	return out;
}
