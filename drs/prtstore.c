/* prtstore.c - the users' PRTs in the state dir (prtstore.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "jwe.h"
#include "json.h"
#include "keys.h"
#include "keystore.h"
#include "log.h"
#include "prtstore.h"
#include "state.h"
#include "util.h"

/* The access token cache (accesstoken.c) lives beside the PRTs. */
#define TOKEN_CACHE_DIR "tokens"

void
prtstore_time_text(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "?");
}

int
prtstore_set_time(struct json *r, const char *key, time_t t)
{
	char text[32], at[40];

	prtstore_time_text(t, text, sizeof(text));
	snprintf(at, sizeof(at), "%s_at", key);
	if (json_set_string(r, key, text) < 0 ||
	    json_set_number(r, at, (double)t) < 0)
		return -1;
	return 0;
}

time_t
prtstore_time(const struct json *r, const char *key)
{
	char at[40];
	double v = 0;

	snprintf(at, sizeof(at), "%s_at", key);
	if (json_get_number(r, at, &v) < 0 || v < 0 || v > 4e12)
		return 0;
	return (time_t)v;
}

/* "prt/OID.json" for a valid object id, else NULL (EXIT_INTERNAL). */
static char *
rel_of(const char *oid)
{
	if (oid == NULL || !util_is_guid(oid, strlen(oid))) {
		log_fail(EXIT_INTERNAL, "prt: no valid object id for the record");
		return NULL;
	}
	return util_asprintf(PRTSTORE_DIR "/%s.json", oid);
}

int
prtstore_save(const struct json *r)
{
	char *rel = NULL, *text = NULL;
	int rc = -1;

	if ((rel = rel_of(json_get_string(r, "oid"))) == NULL ||
	    state_mkdir(PRTSTORE_DIR) < 0 ||
	    (text = json_print(r, JSON_INDENT | JSON_SORT)) == NULL)
		goto out;
	if (strlen(text) > PRTSTORE_RECORD_MAX) {
		log_fail(EXIT_IO, "prt: the record would be %zu bytes, more than %d",
		    strlen(text), PRTSTORE_RECORD_MAX);
		goto out;
	}
	util_fault_point("prt-save");
	rc = state_replace(rel, text, strlen(text), 0600) < 0 ? -1 : 0;
out:
	util_free_secret(text);
	free(rel);
	return rc;
}

/* The members of a record, each checked as answer.c checks an answer's. */
static const struct {
	const char *key;
	enum answer_kind kind;
	size_t max;
	int required;
} members[] = {
	{ "schema", ANSWER_WORD, ANSWER_WORD_MAX, 1 },
	{ "oid", ANSWER_GUID, 36, 1 },
	{ "tenant_id", ANSWER_GUID, 36, 1 },
	{ "device_id", ANSWER_GUID, 36, 1 },
	{ "upn", ANSWER_TEXT, ANSWER_TEXT_MAX, 0 },
	{ "name", ANSWER_TEXT, ANSWER_TEXT_MAX, 0 },
	{ "prt", ANSWER_WORD, PRTSTORE_PRT_MAX, 1 },
	{ "session_key_jwe", ANSWER_WORD, PRTSTORE_JWE_MAX, 1 },
	{ "obtained", ANSWER_WORD, ANSWER_WORD_MAX, 1 },
	{ "renewed", ANSWER_WORD, ANSWER_WORD_MAX, 1 },
	{ "expires", ANSWER_WORD, ANSWER_WORD_MAX, 1 },
};

/* Reads and checks prt/NAME (NAME "OID.json"). 0 / 1 none / -1 (EXIT_IO). */
static int
load_file(const char *name, struct json **out)
{
	struct json *r = NULL;
	char *rel = NULL, *buf = NULL, *abs = NULL, line[LOG_LINE_MAX];
	const char *v;
	size_t len = 0, i;
	int rc = -1, st;

	*out = NULL;
	if ((rel = util_asprintf(PRTSTORE_DIR "/%s", name)) == NULL ||
	    (abs = state_abs(rel)) == NULL)
		goto out;
	if ((st = state_read(rel, PRTSTORE_RECORD_MAX, &buf, &len)) != 0) {
		rc = st;
		goto out;
	}
	if ((r = json_parse(buf, len, EXIT_IO, abs)) == NULL)
		goto out;
	log_catch(line, sizeof(line));
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (answer_string("prt", r, NULL, members[i].key, members[i].kind,
		    members[i].max, members[i].required, &v) < 0)
			break;
	log_catch(NULL, 0);
	if (i < sizeof(members) / sizeof(members[0])) {
		log_fail(EXIT_IO, "%s: %s", abs, line);
		goto out;
	}
	v = json_get_string(r, "oid");
	if (strcmp(json_get_string(r, "schema"), PRTSTORE_SCHEMA) != 0 ||
	    strlen(name) != 41 || strncasecmp(name, v, 36) != 0) {
		log_fail(EXIT_IO, "%s: not a PRT record of drsjoin for its "
		    "object id", abs);
		goto out;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	json_free(r);
	util_free_secret_buf(buf, len);
	free(rel);
	free(abs);
	return rc;
}

/* 1 when name is "OID.json". */
static int
record_name(const char *name)
{
	size_t n = strlen(name);

	return n == 41 && strcmp(name + 36, ".json") == 0 &&
	    util_is_guid(name, 36);
}

/* The record names in prt/ into names (up to max); their count, or -1. */
static int
list_names(char names[][42], int max)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	if ((fd = state_openat(PRTSTORE_DIR, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return errno == ENOENT ? 0 : log_fail(EXIT_IO, "%s/%s: %s",
		    state_path(), PRTSTORE_DIR, strerror(errno));
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return log_fail(EXIT_IO, "%s/%s: %s", state_path(),
		    PRTSTORE_DIR, strerror(errno));
	}
	while ((de = readdir(d)) != NULL && n < max)
		if (record_name(de->d_name))
			memcpy(names[n++], de->d_name, 42);
	closedir(d);
	return n;
}

#define PRTSTORE_USERS_MAX 64

/*
 * Removes the temporaries state_replace left in dir (a run killed while it
 * wrote), and with deep those of its subdirectories (tokens/OID/). Called
 * under the state dir's lock: no other writer is running.
 */
static void
sweep(const char *dir, int deep)
{
	struct dirent *de;
	struct stat st;
	char *rel;
	DIR *d;
	int fd;

	if ((fd = state_openat(dir, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!state_name_ok(de->d_name) ||
		    (rel = util_asprintf("%s/%s", dir, de->d_name)) == NULL)
			continue;
		if (strstr(de->d_name, ".tmp-") != NULL) {
			if (state_unlink(rel) == 0)
				log_debug(1, "prt: removed %s/%s, left by a run that "
				    "was killed", state_path(), rel);
		} else if (deep && state_lstat(rel, &st) == 0 && S_ISDIR(st.st_mode)) {
			sweep(rel, 0);
		}
		free(rel);
	}
	closedir(d);
}

void
prtstore_cleanup(void)
{
	sweep(PRTSTORE_DIR, 0);
	sweep(TOKEN_CACHE_DIR, 1);
}

/* The one record stored (user NULL); 1 when none, -1 for several. */
static int
load_only(struct json **r)
{
	char names[PRTSTORE_USERS_MAX][42], list[LOG_LINE_MAX] = "";
	int n, i;

	if ((n = list_names(names, PRTSTORE_USERS_MAX)) <= 0)
		return n < 0 ? -1 : 1;
	if (n == 1)
		return load_file(names[0], r);
	for (i = 0; i < n; i++)
		util_appendf(list, sizeof(list), "%s%.36s", i ? ", " : "", names[i]);
	return log_fail(EXIT_USAGE, "prt: %d users have a PRT here (%s): "
	    "name one with --user", n, list);
}

int
prtstore_load(const char *user, struct json **r)
{
	char names[PRTSTORE_USERS_MAX][42], name[48];
	const char *upn;
	struct json *c;
	int n, i, rc;

	*r = NULL;
	if (user == NULL)
		return load_only(r);
	if (util_is_guid(user, strlen(user))) {
		snprintf(name, sizeof(name), "%s.json", user);
		for (i = 0; name[i] != '\0'; i++)
			if (name[i] >= 'A' && name[i] <= 'F')
				name[i] = (char)(name[i] - 'A' + 'a');
		return load_file(name, r);
	}
	if ((n = list_names(names, PRTSTORE_USERS_MAX)) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((rc = load_file(names[i], &c)) != 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		upn = json_get_string(c, "upn");
		if (upn != NULL && strcasecmp(upn, user) == 0) {
			*r = c;
			return 0;
		}
		json_free(c);
	}
	return 1;
}

int
prtstore_remove(const char *oid)
{
	char *rel = rel_of(oid);
	struct stat st;
	int rc;

	if (rel == NULL)
		return -1;
	rc = state_unlink(rel);
	if (rc < 0 && errno != ENOENT) {
		log_fail(EXIT_IO, "%s/%s: %s", state_path(), rel, strerror(errno));
		free(rel);
		return -1;
	}
	free(rel);
	if (rc < 0)
		return 1;
	if (state_sync(PRTSTORE_DIR) < 0)
		return -1;
	/* The access tokens got with it go too. */
	if ((rel = util_asprintf(TOKEN_CACHE_DIR "/%s", oid)) == NULL)
		return -1;
	if (state_lstat(rel, &st) == 0 && state_remove(rel) < 0)
		rc = log_fail(EXIT_IO, "%s/%s: cannot be removed", state_path(), rel);
	free(rel);
	return rc < 0 ? -1 : 0;
}

int
prtstore_remove_all(void)
{
	static const char *const dirs[] = { PRTSTORE_DIR, TOKEN_CACHE_DIR };
	struct stat st;
	size_t i;
	int rc = 0, removed = 0;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (state_lstat(dirs[i], &st) != 0)
			continue;
		removed = 1;
		if (state_remove(dirs[i]) < 0)
			rc = log_fail(EXIT_IO, "%s/%s: cannot be removed",
			    state_path(), dirs[i]);
	}
	/* Nothing stored (most joins): no system call that changes the dir. */
	if (rc == 0 && removed && state_sync(".") < 0)
		return -1;
	return rc;
}

void
prtstore_forget(const char *cmd)
{
	char why[LOG_LINE_MAX];
	int rc;

	log_catch(why, sizeof(why));
	rc = prtstore_remove_all();
	log_catch(NULL, 0);
	if (rc < 0)
		log_note("%s: the stored PRTs of the previous identity could not "
		    "all be removed: %s", cmd, why);
}

struct json *
prtstore_summary(const struct json *r)
{
	static const char *const shown[] = {
		"upn", "oid", "name", "tenant_id", "device_id", "obtained",
		"renewed", "expires",
	};
	struct json *o = json_new_object();
	const char *v;
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		if ((v = json_get_string(r, shown[i])) != NULL &&
		    json_set_string(o, strcmp(shown[i], "upn") == 0 ? "user" :
		    strcmp(shown[i], "tenant_id") == 0 ? "tenant" : shown[i], v) < 0) {
			json_free(o);
			return NULL;
		}
	if (json_set_bool(o, "expired", prtstore_time(r, "expires") <= time(NULL)) < 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

/* A record that cannot be read, as status shows it. */
static int
append_bad(struct json *arr, const char *name, const char *why)
{
	struct json *o = json_new_object();

	if (o == NULL || json_set_string(o, "file", name) < 0 ||
	    json_set_string(o, "error", why) < 0 || json_append(arr, o) < 0) {
		json_free(o);
		return -1;
	}
	return 0;
}

int
prtstore_list(struct json **arr)
{
	char names[PRTSTORE_USERS_MAX][42], why[LOG_LINE_MAX];
	struct json *a, *r = NULL, *s;
	int n, i, rc;

	if ((a = *arr = json_new_array()) == NULL)
		return -1;
	/* Unreadable (status as another user): said in the list, not fatal. */
	log_catch(why, sizeof(why));
	n = list_names(names, PRTSTORE_USERS_MAX);
	log_catch(NULL, 0);
	if (n < 0)
		return append_bad(a, PRTSTORE_DIR, why);
	for (i = 0; i < n; i++) {
		log_catch(why, sizeof(why));
		rc = load_file(names[i], &r);
		log_catch(NULL, 0);
		if (rc == 1)
			continue;
		if (rc < 0) {
			if (append_bad(a, names[i], why) < 0)
				return -1;
			continue;
		}
		s = prtstore_summary(r);
		json_free(r);
		if (s == NULL || json_append(a, s) < 0)
			return -1;
	}
	return 0;
}

int
prtstore_session_key(const struct json *keys, const struct json *r,
    uint8_t key[KDF_KEY_LEN])
{
	struct keystore_key *tk = NULL;
	const char *jwe = json_get_string(r, "session_key_jwe");
	int rc;

	if (jwe == NULL)
		return log_fail(EXIT_IO, "prt: the record has no session_key_jwe");
	if (keystore_load_transport(keys, &tk) < 0)
		return -1;
	rc = jwe_session_key(jwe, strlen(jwe), keystore_key(tk), EXIT_IO,
	    "prt: the stored session key", key);
	keystore_key_free(tk);
	return rc;
}
