/* json.c - the only user of cJSON. */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "log.h"
#include "util.h"

#if CJSON_VERSION_MAJOR != 1 || CJSON_VERSION_MINOR != 7 || CJSON_VERSION_PATCH != 18
#error "cJSON 1.7.18 expected (third_party/versions)"
#endif

/* struct json is cJSON; the cast stays in this file. */
#define CJ(j) ((cJSON *)(j))
#define JS(c) ((struct json *)(c))

/*
 * A look at the text before cJSON builds it: *values, an upper bound of the
 * values in it; returns 1 when it ends inside a string or an open object or
 * array.
 */
static int
scan(const char *text, size_t len, size_t *values)
{
	size_t i, depth = 0;
	int in_str = 0;

	*values = 1;
	for (i = 0; i < len; i++) {
		if (in_str) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_str = 0;
		} else if (text[i] == '"') {
			in_str = 1;
		} else if (text[i] == '{' || text[i] == '[') {
			depth++;
			(*values)++;
		} else if (text[i] == ',') {
			(*values)++;
		} else if ((text[i] == '}' || text[i] == ']') && depth > 0) {
			depth--;
		}
	}
	return in_str || depth > 0;
}

struct json *
json_parse_why(const char *text, size_t len, char *why, size_t whysz)
{
	const char *end = NULL;
	cJSON *c;
	size_t i, values;
	int early;

	if (len == 0) {
		snprintf(why, whysz, "empty, expected a JSON document");
		return NULL;
	}
	/*
	 * cJSON takes any control byte for white space and keeps raw ones in
	 * strings; JSON allows neither (RFC 8259).
	 */
	for (i = 0; i < len; i++) {
		unsigned char b = (unsigned char)text[i];

		if (b < 0x20 && b != ' ' && b != '\t' && b != '\n' && b != '\r') {
			snprintf(why, whysz, "not valid JSON at byte %zu (control "
			    "byte 0x%02x)", i, b);
			return NULL;
		}
	}
	/* Each value costs cJSON about 80 bytes: a megabyte of "0," is 40 MB. */
	early = scan(text, len, &values);
	if (values > JSON_MAX_VALUES) {
		snprintf(why, whysz, "more than %d JSON values", JSON_MAX_VALUES);
		return NULL;
	}
	c = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (c == NULL) {
		size_t off = end != NULL && end >= text ? (size_t)(end - text) : 0;

		/* cJSON stops at the last byte when the text just ends. */
		if (off >= len || (off + 1 == len && text[off] != '}' &&
		    text[off] != ']') || early)
			snprintf(why, whysz, "JSON ends early (truncated?) after "
			    "%zu bytes", len);
		else
			snprintf(why, whysz, "not valid JSON at byte %zu", off);
		return NULL;
	}
	/* Anything but white space after the value is an error too. */
	for (; end != NULL && (size_t)(end - text) < len; end++) {
		if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
			snprintf(why, whysz, "trailing data after the JSON value "
			    "at byte %zu", (size_t)(end - text));
			cJSON_Delete(c);
			return NULL;
		}
	}
	return JS(c);
}

struct json *
json_parse(const char *text, size_t len, int code, const char *what)
{
	char why[128];
	struct json *j = json_parse_why(text, len, why, sizeof(why));

	if (j == NULL)
		log_fail(code, "%s: %s", what, why);
	return j;
}

struct json *
json_parse_quiet(const char *text, size_t len)
{
	char why[128];

	/* The same rules, bounds included: an error answer may be a megabyte. */
	return json_parse_why(text, len, why, sizeof(why));
}

/* Documents hold nonces and answers hold certificates: wipe every string. */
static void
wipe(cJSON *c)
{
	for (; c != NULL; c = c->next) {
		if (c->valuestring != NULL)
			util_wipe(c->valuestring, strlen(c->valuestring));
		wipe(c->child);
	}
}

void
json_free(struct json *j)
{
	wipe(CJ(j));
	cJSON_Delete(CJ(j));
}

static struct json *
checked(cJSON *c)
{
	if (c == NULL)
		log_fail(EXIT_INTERNAL, "out of memory");
	return JS(c);
}

struct json *
json_new_object(void)
{
	return checked(cJSON_CreateObject());
}

struct json *
json_new_array(void)
{
	return checked(cJSON_CreateArray());
}

struct json *
json_dup(const struct json *j)
{
	return checked(cJSON_Duplicate(CJ(j), 1));
}

int
json_is_null(const struct json *j)
{
	return cJSON_IsNull(CJ(j));
}

int
json_is_object(const struct json *j)
{
	return cJSON_IsObject(CJ(j));
}

int
json_is_array(const struct json *j)
{
	return cJSON_IsArray(CJ(j));
}

int
json_is_string(const struct json *j)
{
	return cJSON_IsString(CJ(j));
}

struct json *
json_get(const struct json *obj, const char *key)
{
	if (!cJSON_IsObject(CJ(obj)))
		return NULL;
	return JS(cJSON_GetObjectItemCaseSensitive(CJ(obj), key));
}

struct json *
json_get_ci(const struct json *obj, const char *key)
{
	if (!cJSON_IsObject(CJ(obj)))
		return NULL;
	return JS(cJSON_GetObjectItem(CJ(obj), key));
}

const char *
json_get_string(const struct json *obj, const char *key)
{
	return json_string(json_get(obj, key));
}

struct json *
json_get_object(const struct json *obj, const char *key)
{
	struct json *j = json_get(obj, key);

	return cJSON_IsObject(CJ(j)) ? j : NULL;
}

int
json_get_number(const struct json *obj, const char *key, double *out)
{
	cJSON *c = CJ(json_get(obj, key));

	if (!cJSON_IsNumber(c))
		return -1;
	*out = c->valuedouble;
	return 0;
}

int
json_get_bool(const struct json *obj, const char *key)
{
	return cJSON_IsTrue(CJ(json_get(obj, key)));
}

const char *
json_string(const struct json *j)
{
	return cJSON_IsString(CJ(j)) ? CJ(j)->valuestring : NULL;
}

int
json_set(struct json *obj, const char *key, struct json *child)
{
	if (child == NULL)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(CJ(obj), key);
	if (!cJSON_AddItemToObject(CJ(obj), key, CJ(child))) {
		cJSON_Delete(CJ(child));
		return log_fail(EXIT_INTERNAL, "out of memory");
	}
	return 0;
}

int
json_set_string(struct json *obj, const char *key, const char *val)
{
	if (val == NULL)
		return log_fail(EXIT_INTERNAL, "bug: no value for \"%s\"", key);
	return json_set(obj, key, checked(cJSON_CreateString(val)));
}

int
json_set_number(struct json *obj, const char *key, double val)
{
	return json_set(obj, key, checked(cJSON_CreateNumber(val)));
}

int
json_set_bool(struct json *obj, const char *key, int val)
{
	return json_set(obj, key, checked(cJSON_CreateBool(val)));
}

int
json_append(struct json *arr, struct json *child)
{
	if (child == NULL)
		return -1;
	if (!cJSON_AddItemToArray(CJ(arr), CJ(child))) {
		cJSON_Delete(CJ(child));
		return log_fail(EXIT_INTERNAL, "out of memory");
	}
	return 0;
}

struct json *
json_object_at(struct json *obj, const char *key)
{
	struct json *j = json_get_object(obj, key);

	if (j != NULL)
		return j;
	if (json_set(obj, key, json_new_object()) < 0)
		return NULL;
	return json_get(obj, key);
}

void
json_remove(struct json *obj, const char *key)
{
	cJSON_DeleteItemFromObjectCaseSensitive(CJ(obj), key);
}

struct json *
json_first(const struct json *j)
{
	return j == NULL ? NULL : JS(CJ(j)->child);
}

struct json *
json_next(const struct json *j)
{
	return j == NULL ? NULL : JS(CJ(j)->next);
}

const char *
json_key(const struct json *j)
{
	return j == NULL ? NULL : CJ(j)->string;
}

size_t
json_size(const struct json *j)
{
	int n = cJSON_GetArraySize(CJ(j));

	return n < 0 ? 0 : (size_t)n;
}

/*
 * The printer is ours, not cJSON's: cJSON indents with tabs and keeps
 * insertion order; drsjoin prints two-space indentation and, for stdout,
 * keys sorted so that two runs diff cleanly. Strings are always valid
 * UTF-8: a byte that is not part of a well-formed sequence (a lying server,
 * a hostile document) is printed as \ufffd. The buffer may hold a nonce, so
 * it is wiped whenever it moves.
 */
struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (n > SIZE_MAX / 4 - o->len ||
	    util_secret_append(&o->buf, &o->len, &o->cap, s, n, 256) < 0)
		o->failed = 1;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* The length of the well-formed UTF-8 sequence at s (1-4), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) ||	/* overlong */
		    (s[0] == 0xed && s[1] > 0x9f))	/* surrogate */
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

static void
put_string(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	size_t n;

	put(o, "\"", 1);
	while (*s != '\0') {
		switch (*s) {
		case '"': put(o, "\\\"", 2); s++; continue;
		case '\\': put(o, "\\\\", 2); s++; continue;
		case '\b': put(o, "\\b", 2); s++; continue;
		case '\f': put(o, "\\f", 2); s++; continue;
		case '\n': put(o, "\\n", 2); s++; continue;
		case '\r': put(o, "\\r", 2); s++; continue;
		case '\t': put(o, "\\t", 2); s++; continue;
		}
		if (*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
			put(o, esc, 6);
			s++;
		} else if ((n = utf8_len(s)) == 0) {
			put(o, "\\ufffd", 6);
			s++;
		} else {
			put(o, (const char *)s, n);
			s += n;
		}
	}
	put(o, "\"", 1);
}

static void
put_number(struct out *o, double d)
{
	char num[40];

	/* JSON has no NaN or infinity. */
	if (d != d || d > DBL_MAX || d < -DBL_MAX)
		snprintf(num, sizeof(num), "null");
	/* Range first: casting a double outside long long's is undefined. */
	else if (d > -9007199254740992.0 && d < 9007199254740992.0 &&
	    d == (double)(long long)d)
		snprintf(num, sizeof(num), "%lld", (long long)d);
	else {
		snprintf(num, sizeof(num), "%.15g", d);
		if (strtod(num, NULL) != d)
			snprintf(num, sizeof(num), "%.17g", d);
	}
	puts_(o, num);
}

static void
put_indent(struct out *o, int flags, int depth)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)depth * 2;

	if (!(flags & JSON_INDENT))
		return;
	put(o, "\n", 1);
	for (; n > 0; n -= n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1)
		put(o, spaces, n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1);
}

struct member {
	const cJSON *c;
	size_t pos;
};

/* By key, then by position: duplicate keys keep their order. */
static int
member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int r = strcmp(x->c->string ? x->c->string : "", y->c->string ? y->c->string : "");

	if (r != 0)
		return r;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void put_value(struct out *o, const cJSON *c, int flags, int depth);

static void
put_container(struct out *o, const cJSON *c, int flags, int depth)
{
	int obj = cJSON_IsObject(c);
	struct member *m = NULL;
	const cJSON *k;
	size_t n = 0, i;

	for (k = c->child; k != NULL; k = k->next)
		n++;
	if (n == 0) {
		puts_(o, obj ? "{}" : "[]");
		return;
	}
	if ((m = calloc(n, sizeof(*m))) == NULL) {
		o->failed = 1;
		return;
	}
	for (i = 0, k = c->child; k != NULL; k = k->next, i++) {
		m[i].c = k;
		m[i].pos = i;
	}
	if (obj && (flags & JSON_SORT))
		qsort(m, n, sizeof(*m), member_cmp);
	put(o, obj ? "{" : "[", 1);
	for (i = 0; i < n && !o->failed; i++) {
		if (i > 0)
			put(o, ",", 1);
		put_indent(o, flags, depth + 1);
		if (obj) {
			put_string(o, m[i].c->string ? m[i].c->string : "");
			put(o, (flags & JSON_INDENT) ? ": " : ":", (flags & JSON_INDENT) ? 2 : 1);
		}
		put_value(o, m[i].c, flags, depth + 1);
	}
	put_indent(o, flags, depth);
	put(o, obj ? "}" : "]", 1);
	free(m);
}

static void
put_value(struct out *o, const cJSON *c, int flags, int depth)
{
	if (cJSON_IsObject(c) || cJSON_IsArray(c))
		put_container(o, c, flags, depth);
	else if (cJSON_IsString(c))
		put_string(o, c->valuestring ? c->valuestring : "");
	else if (cJSON_IsNumber(c))
		put_number(o, c->valuedouble);
	else if (cJSON_IsTrue(c))
		puts_(o, "true");
	else if (cJSON_IsFalse(c))
		puts_(o, "false");
	else
		puts_(o, "null");
}

char *
json_print(const struct json *j, int flags)
{
	struct out o = { NULL, 0, 0, 0 };

	put_value(&o, CJ(j), flags, 0);
	if (o.failed || o.buf == NULL) {
		util_free_secret_buf(o.buf, o.cap);
		log_fail(EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	return o.buf;
}

const char *
json_library_version(void)
{
	return cJSON_Version();
}
