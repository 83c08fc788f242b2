/* json.c - the only user of cJSON. */
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

struct json *
json_parse(const char *text, size_t len, int code, const char *what)
{
	const char *end = NULL;
	cJSON *c;

	if (len == 0) {
		log_fail(code, "%s: empty, expected a JSON document", what);
		return NULL;
	}
	c = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (c == NULL) {
		size_t off = end != NULL && end >= text ? (size_t)(end - text) : 0;

		/* cJSON stops at the last byte when the text just ends. */
		if (off >= len || (off + 1 == len && text[off] != '}' &&
		    text[off] != ']'))
			log_fail(code, "%s: JSON ends early (truncated?) after %zu bytes",
			    what, len);
		else
			log_fail(code, "%s: not valid JSON at byte %zu", what, off);
		return NULL;
	}
	/* Anything but white space after the value is an error too. */
	for (; end != NULL && (size_t)(end - text) < len; end++) {
		if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
			log_fail(code, "%s: trailing data after the JSON value at byte %zu",
			    what, (size_t)(end - text));
			cJSON_Delete(c);
			return NULL;
		}
	}
	return JS(c);
}

struct json *
json_parse_quiet(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *c;

	if (len == 0 || (c = cJSON_ParseWithLengthOpts(text, len, &end, 0)) == NULL)
		return NULL;
	for (; end != NULL && (size_t)(end - text) < len; end++) {
		if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
			cJSON_Delete(c);
			return NULL;
		}
	}
	return JS(c);
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

char *
json_print(const struct json *j, int pretty)
{
	char *s = pretty ? cJSON_Print(CJ(j)) : cJSON_PrintUnformatted(CJ(j));

	if (s == NULL)
		log_fail(EXIT_INTERNAL, "out of memory");
	return s;
}

const char *
json_library_version(void)
{
	return cJSON_Version();
}
