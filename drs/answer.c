/* answer.c - checks of what the service answers (see answer.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "log.h"
#include "redact.h"
#include "util.h"

/*
 * The length of the UTF-8 sequence at s (n bytes left) and its code point,
 * or 0 when it is not well-formed (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static int
is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

int
answer_text_ok(const char *s, size_t len, char *why, size_t whysz)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t c;

	while (i < len) {
		if ((n = utf8_next(u + i, len - i, &c)) == 0) {
			snprintf(why, whysz, "is not valid UTF-8 (byte 0x%02x at "
			    "offset %zu)", u[i], i);
			return 0;
		}
		if (is_control(c)) {
			snprintf(why, whysz, "holds a control character (U+%04X "
			    "at offset %zu)", (unsigned)c, i);
			return 0;
		}
		i += n;
	}
	return 1;
}

static int
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.';
}

int
answer_url_ok(const char *s, char *why, size_t whysz)
{
	const char *h, *end, *p, *colon = NULL;
	size_t i;
	long port;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n') {
			snprintf(why, whysz, "a line break at byte %zu", i);
			return 0;
		}
		if (c == ' ') {
			snprintf(why, whysz, "a space at byte %zu", i);
			return 0;
		}
		if (c < 0x21 || c > 0x7e) {
			snprintf(why, whysz, "byte 0x%02x at offset %zu (not "
			    "printable ASCII)", c, i);
			return 0;
		}
		if (strchr("\"<>\\^`{|}", c) != NULL) {
			snprintf(why, whysz, "'%c' at byte %zu", c, i);
			return 0;
		}
	}
	if (strncasecmp(s, "https://", 8) != 0) {
		snprintf(why, whysz, "not https://");
		return 0;
	}
	h = s + 8;
	end = h + strcspn(h, "/?#");
	if (*end == '#' || strchr(end, '#') != NULL) {
		snprintf(why, whysz, "it has a fragment ('#')");
		return 0;
	}
	if (end == h) {
		snprintf(why, whysz, "no host");
		return 0;
	}
	if (memchr(h, '@', (size_t)(end - h)) != NULL) {
		snprintf(why, whysz, "user information before the host");
		return 0;
	}
	if (*h == '[') {
		for (p = h + 1; p < end && *p != ']'; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			    (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
				break;
		if (p >= end || *p != ']' || p == h + 1) {
			snprintf(why, whysz, "a bad IPv6 literal");
			return 0;
		}
		p++;
		if (p < end && *p != ':') {
			snprintf(why, whysz, "a bad IPv6 literal");
			return 0;
		}
		colon = p < end ? p : NULL;
	} else {
		for (p = h; p < end && *p != ':'; p++)
			if (!host_char(*p))
				break;
		if (p < end && *p != ':') {
			snprintf(why, whysz, "'%c' in the host name", *p);
			return 0;
		}
		if (p == h || *h == '.' || *h == '-' || p[-1] == '.' ||
		    p - h > 253) {
			snprintf(why, whysz, "a bad host name");
			return 0;
		}
		for (const char *q = h; q + 1 < p; q++)
			if (q[0] == '.' && q[1] == '.') {
				snprintf(why, whysz, "a bad host name");
				return 0;
			}
		colon = p < end ? p : NULL;
	}
	if (colon != NULL) {
		port = 0;
		for (p = colon + 1; p < end; p++) {
			if (*p < '0' || *p > '9' || port > 65535)
				break;
			port = port * 10 + (*p - '0');
		}
		if (p != end || p == colon + 1 || port < 1 || port > 65535) {
			snprintf(why, whysz, "a bad port");
			return 0;
		}
	}
	return 1;
}

void
answer_url_host(const char *url, char *out, size_t outsz)
{
	const char *h = strstr(url, "://"), *end;

	h = h != NULL ? h + 3 : url;
	end = h + strcspn(h, "/?#");
	if (end - h > 200)
		end = h + 200;
	redact_sanitize(out, outsz, h, (size_t)(end - h), 0);
}

/* "Obj.Key" or "Key", for messages. */
static void
field_name(char *out, size_t outsz, const char *where, const char *key)
{
	if (where != NULL)
		snprintf(out, outsz, "%s.%s", where, key);
	else
		snprintf(out, outsz, "%s", key);
}

int
answer_string(const char *phase, const struct json *obj, const char *where,
    const char *key, enum answer_kind kind, size_t max, int required,
    const char **out)
{
	struct json *m = json_get_ci(obj, key);
	const char *v;
	char name[160], why[128];
	size_t len, i;

	*out = NULL;
	field_name(name, sizeof(name), where, key);
	if (m == NULL || json_is_null(m) ||
	    (json_is_string(m) && *json_string(m) == '\0')) {
		if (required)
			return log_fail(EXIT_NETWORK, "%s: the answer has no %s",
			    phase, name);
		return 0;
	}
	if ((v = json_string(m)) == NULL)
		return log_fail(EXIT_NETWORK, "%s: %s in the answer is not a "
		    "string", phase, name);
	len = strlen(v);
	if (len > max)
		return log_fail(EXIT_NETWORK, "%s: %s in the answer is %zu "
		    "bytes, more than %zu", phase, name, len, max);
	if (!answer_text_ok(v, len, why, sizeof(why)))
		return log_fail(EXIT_NETWORK, "%s: %s in the answer %s", phase,
		    name, why);
	switch (kind) {
	case ANSWER_URL:
		if (!answer_url_ok(v, why, sizeof(why)))
			return log_fail(EXIT_NETWORK, "%s: %s in the answer is "
			    "not a usable https URL: %s", phase, name, why);
		break;
	case ANSWER_GUID:
		if (!util_is_guid(v, len))
			return log_fail(EXIT_NETWORK, "%s: %s in the answer is "
			    "not a GUID", phase, name);
		break;
	case ANSWER_WORD:
		for (i = 0; i < len; i++)
			if (v[i] <= 0x20 || v[i] >= 0x7f)
				return log_fail(EXIT_NETWORK, "%s: %s in the "
				    "answer holds a space or a byte that is not "
				    "ASCII (offset %zu)", phase, name, i);
		break;
	case ANSWER_VERSION:
		for (i = 0; i < len; i++)
			if (!host_char(v[i]))
				return log_fail(EXIT_NETWORK, "%s: %s in the "
				    "answer is not a version (offset %zu)", phase,
				    name, i);
		break;
	case ANSWER_TEXT:
		break;
	}
	*out = v;
	return 0;
}

struct json *
answer_parse(const char *phase, const struct http_response *rs)
{
	char why[128], ctype[104], shown[ANSWER_EXCERPT_MAX * 4 + 8], *excerpt;
	struct json *j;
	size_t n;

	if ((j = json_parse_why(rs->body, rs->body_len, why, sizeof(why))) != NULL) {
		if (json_is_object(j))
			return j;
		json_free(j);
		snprintf(why, sizeof(why), "not a JSON object");
	}
	if (rs->content_type != NULL)
		redact_sanitize(ctype, sizeof(ctype), rs->content_type,
		    strnlen(rs->content_type, 100), 1);
	else
		snprintf(ctype, sizeof(ctype), "no Content-Type");
	if (rs->body_len == 0) {
		log_fail(EXIT_NETWORK, "%s: the answer: %s (HTTP %ld, %s)", phase,
		    why, rs->status, ctype);
		return NULL;
	}
	/*
	 * Redacted whole as -vvv shows it (the server may echo a secret), then
	 * its first ANSWER_EXCERPT_MAX bytes: a token is never cut in two.
	 */
	excerpt = redact_answer(rs->content_type, rs->body, rs->body_len, &n);
	if (excerpt != NULL) {
		size_t cut = n < ANSWER_EXCERPT_MAX ? n : ANSWER_EXCERPT_MAX;

		redact_sanitize(shown, sizeof(shown), excerpt, cut, 1);
		if (cut < n)
			strcat(shown, "...");
	}
	log_fail(EXIT_NETWORK, "%s: the answer: %s (HTTP %ld, %s, %zu bytes): %s",
	    phase, why, rs->status, ctype, rs->body_len,
	    excerpt != NULL ? shown : "(not shown)");
	free(excerpt);
	return NULL;
}
