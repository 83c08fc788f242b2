/*
 * test_identity.c - committing, loading and recovering the identity.
 * Attacks and defects replayed (issue 10):
 * - a failed directory fsync after the commit rename rolled back the new
 *   set while device.json already named it: both identities lost;
 * - a record bigger than the reader's limit was written, then could not be
 *   read back (status, join, join --force all failed);
 * - a corrupt device.json blocked everything; nothing moved it aside;
 * - keys.dir "noslash" (or any odd path) in a document crashed join.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "machine.h"
#include "state.h"
#include "tap.h"
#include "util.h"

static char top[64];
static int fsync_calls;

/* Fails the fsync of the state dir itself: the one after device.json's rename. */
static int
failing_fsync(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) == 0 && fstat(state_dirfd(), &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		fsync_calls++;
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

/* A staging set with a key file in it; its relative and absolute names. */
static int
new_set(char **rel, char **abs)
{
	char *tmp = NULL, *key = NULL;
	int rc = -1;

	if (identity_staging_new(1, &tmp, rel) < 0 ||
	    (key = util_asprintf("%s/device-key.pem", tmp)) == NULL ||
	    state_create(key, "KEY\n", 4, 0600) < 0 ||
	    identity_staging_publish(tmp, *rel) < 0 || (*abs = state_abs(*rel)) == NULL)
		goto out;
	rc = 0;
out:
	free(tmp);
	free(key);
	return rc;
}

/* {"device_id": id, "keys": {"device_key": "SET/device-key.pem"}} */
static struct json *
record(const char *id, const char *set_abs)
{
	struct json *r = json_new_object(), *k;
	char *dk = util_asprintf("%s/device-key.pem", set_abs);

	if (r == NULL || dk == NULL || json_set_string(r, "device_id", id) < 0 ||
	    (k = json_object_at(r, "keys")) == NULL ||
	    json_set_string(k, "device_key", dk) < 0) {
		json_free(r);
		r = NULL;
	}
	free(dk);
	return r;
}

static char *
file_text(const char *rel)
{
	char *buf = NULL;
	size_t len;

	if (state_read(rel, 1 << 20, &buf, &len) != 0)
		return NULL;
	return buf;
}

static int
count_prefix(const char *prefix)
{
	DIR *d = opendir(top);
	struct dirent *e;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d != NULL)
		closedir(d);
	return n;
}

static void
test_commit(void)
{
	struct json *r = NULL, *got = NULL;
	char *rel = NULL, *abs = NULL, *first = NULL, *err = NULL, *text = NULL;
	const char *dk;
	struct stat st;
	int rc;

	CHECK(new_set(&rel, &abs) == 0, "a staging set");
	r = record("first", abs);
	CHECK(r != NULL && identity_commit(rel, "CERT\n", r) == 0, "commit");
	CHECK(identity_load(&got) == 0 && strcmp(json_get_string(got, "device_id"), "first") == 0,
	    "the record loads");
	first = identity_set_of(got);
	dk = json_get_string(json_get_object(got, "keys"), "device_key");
	CHECK(first != NULL && dk != NULL && strncmp(dk, first, strlen(first)) == 0 &&
	    dk[strlen(first)] == '/' && state_lstat(rel, &st) < 0 &&
	    strcmp(json_get_string(got, "identity_dir"), first) == 0,
	    "the keys moved into identity/, their paths too, relative to the state dir");
	json_free(r);
	json_free(got);
	got = NULL;
	free(rel);
	free(abs);

	/* The directory fsync fails after the commit rename: the new record stands. */
	CHECK(new_set(&rel, &abs) == 0, "a second staging set");
	r = record("second", abs);
	state_fsync_dir = failing_fsync;
	fsync_calls = 0;
	log_reset();
	capture_begin();
	rc = identity_commit(rel, "CERT2\n", r);
	err = capture_end();
	state_fsync_dir = fsync;
	CHECK_ERR(rc == 0 && fsync_calls == 1 && has(err, "may not survive") && identity_load(&got) == 0 &&
	    strcmp(json_get_string(got, "device_id"), "second") == 0, err,
	    "a failed fsync after the rename: the new record is kept");
	free(text);
	text = util_asprintf("%s/%s", "identity", json_get_string(got, "identity_dir") ?
	    strrchr(json_get_string(got, "identity_dir"), '/') + 1 : "none");
	CHECK(text != NULL && state_lstat(text, &st) == 0 && state_lstat(first, &st) < 0,
	    "... its set is in place, the old set removed");
	free(err);
	json_free(r);
	json_free(got);
	got = NULL;
	free(rel);
	free(abs);
	free(first);
	free(text);
}

static void
test_record_size(void)
{
	struct json *r = NULL, *got = NULL;
	char *rel = NULL, *abs = NULL, *before = NULL, *after = NULL, *err = NULL;
	char *pad = NULL, *p = NULL, *dir = NULL, *cert = NULL;
	size_t base, n;
	struct stat st;
	int rc;

	/* The size of the record as commit writes it, with an empty pad. */
	CHECK(new_set(&rel, &abs) == 0, "size: a staging set");
	/* As commit writes them: relative to the state dir. */
	dir = util_strdup("identity/0123456789abcdef");
	cert = util_strdup("identity/0123456789abcdef/" IDENTITY_CERT);
	r = json_new_object();
	json_set_string(r, "device_id", "big");
	json_set_string(r, "identity_dir", dir);
	json_set_string(r, "certificate", cert);
	/* commit adds the machine it joined on (machine.h) */
	json_set(r, "machine", machine_identity());
	json_set_string(r, "pad", "");
	p = json_print(r, JSON_SORT | JSON_INDENT);
	base = p != NULL ? strlen(p) : 0;
	n = IDENTITY_RECORD_MAX - base;
	pad = malloc(n + 2);
	memset(pad, 'a', n + 1);
	pad[n + 1] = '\0';

	/* One byte over: refused before anything moves. */
	json_set_string(r, "pad", pad);
	before = file_text(IDENTITY_RECORD);
	log_reset();
	capture_begin();
	rc = identity_commit(rel, "CERT3\n", r);
	err = capture_end();
	after = file_text(IDENTITY_RECORD);
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_IO && has(err, "more than") &&
	    has(err, "nothing was changed") && before != NULL && after != NULL &&
	    strcmp(before, after) == 0 && state_lstat(rel, &st) == 0, err,
	    "a record one byte over the reader's limit is refused, nothing moved");
	free(err);

	/* Exactly the limit: written and read back. */
	pad[n] = '\0';
	json_set_string(r, "pad", pad);
	log_reset();
	capture_begin();
	rc = identity_commit(rel, "CERT3\n", r);
	err = capture_end();
	CHECK_ERR(rc == 0, err, "a record of exactly %d bytes is written", IDENTITY_RECORD_MAX);
	free(err);
	free(after);
	after = file_text(IDENTITY_RECORD);
	CHECK(after != NULL && strlen(after) == IDENTITY_RECORD_MAX, "... it is %d bytes",
	    IDENTITY_RECORD_MAX);
	CHECK(identity_load(&got) == 0 && strcmp(json_get_string(got, "pad"), pad) == 0,
	    "... and reads back");
	json_free(got);
	json_free(r);
	free(rel);
	free(abs);
	free(before);
	free(after);
	free(pad);
	free(p);
	free(dir);
	free(cert);
}

static void
test_corrupt(void)
{
	struct json *got = NULL;
	char *set = NULL, *err = NULL, *q = NULL;
	struct stat st;
	int rc;

	CHECK(identity_load(&got) == 0 && (set = identity_set_of(got)) != NULL,
	    "corrupt: a record to damage");
	json_free(got);
	got = NULL;
	CHECK(state_replace(IDENTITY_RECORD, "{\"device_id\": \"tru", 18, 0600) == 0,
	    "corrupt: the record truncated");
	log_reset();
	capture_begin();
	rc = identity_load(&got);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_IO && has(err, top) &&
	    has(err, "device.json: not valid JSON") && lines(err) == 1, err,
	    "a corrupt record: exit 7 naming the file and what is wrong");
	free(err);
	CHECK(identity_load_quiet(&got) == IDENTITY_CORRUPT, "load_quiet says corrupt");
	{
		char why[256];

		log_reset();
		capture_begin();
		rc = identity_load_why(&got, why, sizeof(why));
		err = capture_end();
		CHECK_ERR(rc == IDENTITY_CORRUPT && got == NULL && *err == '\0' &&
		    has(why, top) && has(why, "device.json: not valid JSON") &&
		    !has(why, "--force"), err,
		    "load_why: corrupt, silent, what is wrong without the advice");
		free(err);
	}
	CHECK(identity_cleanup() == 0 && state_lstat(set, &st) == 0,
	    "cleanup under a corrupt record removes no identity set");
	log_reset();
	capture_begin();
	rc = identity_quarantine();
	err = capture_end();
	CHECK_ERR(rc == 0 && state_lstat(IDENTITY_RECORD, &st) < 0 &&
	    count_prefix("device.json.corrupt-") == 1 &&
	    count_prefix("identity.corrupt-") == 1 && state_lstat("identity", &st) < 0 &&
	    has(err, "nothing was deleted"), err,
	    "quarantine moves the record and the sets aside, says so");
	free(err);
	{
		DIR *d = opendir(top);
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL)
			if (strncmp(e->d_name, "identity.corrupt-", 17) == 0)
				q = util_asprintf("%s/%s", e->d_name, set + strlen("identity/"));
		if (d != NULL)
			closedir(d);
	}
	CHECK(q != NULL && state_lstat(q, &st) == 0 && S_ISDIR(st.st_mode),
	    "the keys a valid record might name are kept");
	CHECK(identity_load(&got) == 1, "after quarantine: not joined");
	free(q);
	free(set);
}

static void
test_staging_check(void)
{
	char *rel = NULL, *abs = NULL, *s, *err, *bad[16];
	size_t i, nb = 0;

	CHECK(new_set(&rel, &abs) == 0, "check: a staging set");
	s = identity_staging_check(abs);
	CHECK(s != NULL && strcmp(s, rel) == 0, "a set of this staging area is accepted");
	free(s);
	bad[nb++] = util_strdup("noslash");
	bad[nb++] = util_strdup("");
	bad[nb++] = util_strdup("/");
	bad[nb++] = util_strdup(".");
	bad[nb++] = util_strdup("..");
	bad[nb++] = util_strdup(top);
	bad[nb++] = util_asprintf("%s/", top);
	bad[nb++] = util_asprintf("%s/staging", top);
	bad[nb++] = util_asprintf("%s/staging/", top);
	bad[nb++] = util_asprintf("%s/staging/..", top);
	bad[nb++] = util_asprintf("%s/staging/../staging/%s", top, rel + 8);
	bad[nb++] = util_asprintf("%s//%s", top, rel);
	bad[nb++] = util_asprintf("%s/identity/0123456789abcdef", top);
	bad[nb++] = util_asprintf("%s/staging/.tmp-0123456789abcdef", top);
	bad[nb++] = util_asprintf("%s/", abs);
	bad[nb++] = NULL;
	for (i = 0; i < nb; i++) {
		log_reset();
		capture_begin();
		s = identity_staging_check(bad[i]);
		err = capture_end();
		CHECK_ERR(s == NULL && log_exit_code() == EXIT_INPUT &&
		    has(err, "is not a key set in"), err, "keys.dir '%s' is refused",
		    bad[i] ? escaped(bad[i]) : "(null)");
		free(err);
		free(s);
		free(bad[i]);
	}
	identity_staging_discard("noslash");
	identity_staging_discard(NULL);
	CHECK(1, "discard of odd paths does not crash");
	free(rel);
	free(abs);
}

int
main(void)
{
	strcpy(top, "/tmp/drsjoin-identity-XXXXXX");
	if (mkdtemp(top) == NULL) {
		CHECK(0, "mkdtemp");
		return 1;
	}
	CHECK(identity_open(top, 1) == 0, "open the state dir");
	test_commit();
	test_record_size();
	test_staging_check();
	test_corrupt();
	{
		DIR *d = opendir(top);
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				state_remove(e->d_name);
		if (d != NULL)
			closedir(d);
	}
	rmdir(top);
	return tap_done();
}
