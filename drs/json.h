/*
 * json.h - the JSON documents drsjoin reads and writes, behind one module.
 *
 * Values are opaque; what a getter returns is borrowed from its parent and
 * lives as long as the parent does.
 */
#ifndef DRS_JSON_H
#define DRS_JSON_H

#include <stddef.h>

struct json;

/*
 * What drsjoin reads (documents, answers, the identity record, a token)
 * holds tens of values, not thousands: more is refused before it is built.
 */
#define JSON_MAX_VALUES 10000

/* Parses len bytes; on failure reports "<what>: not valid JSON ..." with code. */
struct json *json_parse(const char *text, size_t len, int code, const char *what);
/* The same, not reported: on failure why (whysz > 0) says what is wrong. */
struct json *json_parse_why(const char *text, size_t len, char *why, size_t whysz);
/*
 * Parses len bytes; NULL when empty or not exactly one JSON value, without
 * reporting (for answers whose JSON-ness is itself the question, such as the
 * body of an error answer).
 */
struct json *json_parse_quiet(const char *text, size_t len);
void json_free(struct json *j);
struct json *json_new_object(void);
struct json *json_new_array(void);
struct json *json_dup(const struct json *j);

int json_is_null(const struct json *j);
int json_is_object(const struct json *j);
int json_is_array(const struct json *j);
int json_is_string(const struct json *j);

/* Member by exact key; NULL when absent. Borrowed. */
struct json *json_get(const struct json *obj, const char *key);
/* Member by key in any letter case; NULL when absent. Borrowed. */
struct json *json_get_ci(const struct json *obj, const char *key);
/* String member, NULL when absent or not a string. Borrowed. */
const char *json_get_string(const struct json *obj, const char *key);
/* Object member, NULL when absent or not an object. Borrowed. */
struct json *json_get_object(const struct json *obj, const char *key);
/* Number member: 0, or -1 when absent or not a number (not reported). */
int json_get_number(const struct json *obj, const char *key, double *out);
/* 1 when the member is true, 0 otherwise (absent, false, not a bool). */
int json_get_bool(const struct json *obj, const char *key);
/* The string of a string value; NULL otherwise. Borrowed. */
const char *json_string(const struct json *j);

/* Setters replace an existing member of the same key. 0 / -1 (reported). */
int json_set_string(struct json *obj, const char *key, const char *val);
int json_set_number(struct json *obj, const char *key, double val);
int json_set_bool(struct json *obj, const char *key, int val);
/* Takes ownership of child, also on failure. */
int json_set(struct json *obj, const char *key, struct json *child);
int json_append(struct json *arr, struct json *child);
/* The object member key, created empty when absent. Borrowed; NULL on failure. */
struct json *json_object_at(struct json *obj, const char *key);
void json_remove(struct json *obj, const char *key);

/* Iteration over members or elements; json_key of a member. Borrowed. */
struct json *json_first(const struct json *j);
struct json *json_next(const struct json *j);
const char *json_key(const struct json *j);
size_t json_size(const struct json *j);

/*
 * Serialises; caller frees (util_free_secret: it may hold a nonce). NULL
 * (reported) on failure. flags: JSON_INDENT, two spaces per level and a
 * space after each colon (else one line, no spaces); JSON_SORT, the members
 * of every object sorted by key (byte order; else as inserted). Strings
 * come out as valid UTF-8: malformed bytes become \ufffd.
 */
#define JSON_INDENT	0x1
#define JSON_SORT	0x2
char *json_print(const struct json *j, int flags);

/* The version of the JSON library, for --version. */
const char *json_library_version(void);

#endif
