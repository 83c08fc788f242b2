/* identity.c - staging, committing and finding the device identity. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "identity.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define SET_NAME_LEN 16
#define STR_(x) #x
#define STR(x) STR_(x)

int
identity_open(const char *state_dir, int create)
{
	int rc = state_open(state_dir, create);

	if (rc != 0 || !create)
		return rc;
	return state_lock();
}

static char *
random_name(void)
{
	uint8_t r[SET_NAME_LEN / 2];

	if (crypto_random(r, sizeof(r)) < 0)
		return NULL;
	return util_asprintf("%02x%02x%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

/* A set's name as random_name() makes it, after an optional prefix. */
static int
set_name_ok(const char *s, const char *prefix)
{
	size_t i, n = strlen(prefix);

	if (strncmp(s, prefix, n) != 0)
		return 0;
	for (s += n, i = 0; i < SET_NAME_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

int
identity_staging_new(int ephemeral, char **tmp_rel, char **rel)
{
	char *name = NULL;
	int rc = -1;

	*tmp_rel = *rel = NULL;
	if (state_mkdir("staging") < 0 || (name = random_name()) == NULL)
		goto out;
	*tmp_rel = util_asprintf("staging/.tmp-%s", name);
	*rel = util_asprintf(ephemeral ? "staging/.join-%s" : "staging/%s", name);
	if (*tmp_rel == NULL || *rel == NULL)
		goto out;
	/* A random name: no other set has it. */
	if (state_mkdir(*tmp_rel) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		free(*tmp_rel);
		free(*rel);
		*tmp_rel = *rel = NULL;
	}
	free(name);
	return rc;
}

int
identity_staging_publish(const char *tmp_rel, const char *rel)
{
	if (state_rename(tmp_rel, rel) < 0)
		return -1;
	return state_sync("staging") < 0 ? -1 : 0;
}

/* "staging/SET" for a document's "STATE/staging/SET", or NULL. Not reported. */
static char *
staging_rel(const char *dir)
{
	const char *rel = state_rel(dir), *name;
	struct stat st;

	if (rel == NULL || strncmp(rel, "staging/", 8) != 0)
		return NULL;
	name = rel + 8;
	if (!set_name_ok(name, "") && !set_name_ok(name, ".join-"))
		return NULL;
	if (state_lstat(rel, &st) < 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return util_strdup(rel);
}

char *
identity_staging_check(const char *dir)
{
	char *rel;

	/*
	 * dir comes from a document, and runs as root move it and later remove
	 * it: it must be a set of this state dir's staging area, nothing else.
	 */
	if (dir != NULL && (rel = staging_rel(dir)) != NULL)
		return rel;
	log_fail(EXIT_INPUT, "keys: %s is not a key set in %s/staging "
	    "(the keys of a joined identity cannot join again: run 'drsjoin "
	    "keygen', or leave the keys out of the document)", dir ? dir : "(none)",
	    state_path());
	return NULL;
}

void
identity_staging_discard(const char *dir)
{
	char *rel = dir != NULL ? staging_rel(dir) : NULL;

	if (rel != NULL)
		state_remove(rel);
	free(rel);
}

/* Parses the record; NULL with why set when it is not usable. */
static struct json *
parse_record(const char *buf, size_t len, const char **why)
{
	struct json *rec;

	if (len == 0) {
		*why = "empty";
		return NULL;
	}
	if ((rec = json_parse_quiet(buf, len)) == NULL) {
		*why = "not valid JSON (truncated or damaged)";
		return NULL;
	}
	if (!json_is_object(rec) || json_get_string(rec, "device_id") == NULL) {
		*why = "not a drsjoin identity record (no device_id)";
		json_free(rec);
		return NULL;
	}
	return rec;
}

/*
 * quiet: report nothing (a corrupt record is IDENTITY_CORRUPT); whybuf, when
 * not NULL, gets what is wrong ("PATH: reason") whenever it is not 0 or 1.
 */
static int
load(struct json **rec, int quiet, char *whybuf, size_t whyn)
{
	char *buf = NULL, *abs = NULL;
	const char *why = NULL;
	struct stat st;
	size_t len = 0;
	int rc = -1, fd;

	*rec = NULL;
	if ((abs = state_abs(IDENTITY_RECORD)) == NULL)
		return -1;
	if ((fd = state_openat(IDENTITY_RECORD, O_RDONLY, 0)) < 0) {
		if (errno == ENOENT)
			rc = 1;
		else if (errno == ELOOP)
			why = "a symbolic link, refused";
		else {
			if (whybuf != NULL)
				snprintf(whybuf, whyn, "%s: %s", abs, strerror(errno));
			if (!quiet)
				log_fail(EXIT_IO, "%s: %s", abs, strerror(errno));
		}
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		why = "not a regular file";
	} else if (st.st_size > IDENTITY_RECORD_MAX) {
		why = "larger than " STR(IDENTITY_RECORD_MAX_BYTES) " bytes, the largest "
		    "record drsjoin writes";
	} else {
		log_mute(quiet);
		if (state_read_fd(fd, abs, IDENTITY_RECORD_MAX, EXIT_IO, &buf, &len) == 0)
			*rec = parse_record(buf, len, &why);
		else if (quiet)
			why = "cannot be read";
		log_mute(0);
		if (*rec != NULL)
			rc = 0;
	}
	close(fd);
out:
	if (why != NULL) {
		if (whybuf != NULL)
			snprintf(whybuf, whyn, "%s: %s", abs, why);
		if (quiet)
			rc = IDENTITY_CORRUPT;
		else
			log_fail(EXIT_IO, "%s: %s (see 'drsjoin join --force', or "
			    "'drsjoin leave --local-only' to remove it)", abs, why);
	}
	free(buf);
	free(abs);
	return rc;
}

int
identity_load(struct json **rec)
{
	return load(rec, 0, NULL, 0);
}

int
identity_load_quiet(struct json **rec)
{
	return load(rec, 1, NULL, 0);
}

int
identity_load_why(struct json **rec, char *why, size_t n)
{
	if (n > 0)
		why[0] = '\0';
	return load(rec, 1, why, n);
}

/* The set name in a record's identity_dir, or NULL. */
static const char *
record_set(const struct json *rec)
{
	const char *dir = json_get_string(rec, "identity_dir");
	const char *rel = state_rel(dir);

	if (rel == NULL || strncmp(rel, "identity/", 9) != 0 || !set_name_ok(rel + 9, ""))
		return NULL;
	return rel + 9;
}

char *
identity_set_of(const struct json *rec)
{
	const char *name = record_set(rec);
	char *abs;

	if (name != NULL)
		return util_asprintf("identity/%s", name);
	abs = state_abs(IDENTITY_RECORD);
	log_fail(EXIT_IO, "%s: identity_dir %s is not a set of %s/identity",
	    abs ? abs : IDENTITY_RECORD, json_get_string(rec, "identity_dir") ?
	    json_get_string(rec, "identity_dir") : "(missing)", state_path());
	free(abs);
	return NULL;
}

/* Rewrites the "keys" paths under old_dir to new_dir. */
static int
move_key_paths(struct json *rec, const char *old_dir, const char *new_dir)
{
	static const char *const fields[] = { "device_key", "transport_key" };
	struct json *keys = json_get_object(rec, "keys");
	size_t i, n = strlen(old_dir);

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = json_get_string(keys, fields[i]);
		char *moved;
		int rc;

		if (v == NULL || strncmp(v, old_dir, n) != 0 || (v[n] != '/' && v[n] != '\0'))
			continue;
		if ((moved = util_asprintf("%s%s", new_dir, v + n)) == NULL)
			return -1;
		rc = json_set_string(keys, fields[i], moved);
		free(moved);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
identity_commit(const char *staging, const char *cert_pem, struct json *rec)
{
	struct json *old = NULL;
	char *set = NULL, *cert = NULL, *text = NULL, *old_set = NULL;
	char *abs_staging = NULL, *abs_set = NULL, *abs_cert = NULL, *abs_rec = NULL;
	const char *name, *old_name;
	size_t len;
	int w = 0, rc = -1, have;

	/* A corrupt record was moved aside by --force before: here it is an error. */
	if ((have = identity_load(&old)) < 0)
		goto out;
	if (strncmp(staging, "staging/", 8) != 0 || (!set_name_ok(staging + 8, "") &&
	    !set_name_ok(staging + 8, ".join-")))
		return log_fail(EXIT_INTERNAL, "commit: %s is not a staging set", staging);
	name = strrchr(staging, '-') != NULL ? strrchr(staging, '-') + 1 : staging + 8;
	if ((set = util_asprintf("identity/%s", name)) == NULL ||
	    (cert = util_asprintf("%s/%s", set, IDENTITY_CERT)) == NULL ||
	    (abs_staging = state_abs(staging)) == NULL ||
	    (abs_set = state_abs(set)) == NULL || (abs_cert = state_abs(cert)) == NULL ||
	    (abs_rec = state_abs(IDENTITY_RECORD)) == NULL)
		goto out;
	if (move_key_paths(rec, abs_staging, abs_set) < 0 ||
	    json_set_string(rec, "identity_dir", abs_set) < 0 ||
	    json_set_string(rec, "certificate", abs_cert) < 0 ||
	    (text = json_print(rec, JSON_SORT | JSON_INDENT)) == NULL)
		goto out;
	/* What is written must read back: refused before anything moves. */
	if ((len = strlen(text)) > IDENTITY_RECORD_MAX) {
		log_fail(EXIT_IO, "%s: the new record would be %zu bytes, more than the "
		    "%d drsjoin reads back; nothing was changed", abs_rec, len,
		    IDENTITY_RECORD_MAX);
		goto out;
	}
	if (state_mkdir("identity") < 0 || state_rename(staging, set) < 0)
		goto out;
	if (state_sync("identity") < 0 ||
	    /* Before the commit point, what it will point at must be durable. */
	    (w = state_create(cert, cert_pem, strlen(cert_pem), 0644)) < 0 ||
	    (w > 0 && log_fail(EXIT_IO, "%s: not durable: the identity was not "
	    "replaced", abs_cert) < 0) ||
	    /* The commit point: before it the old identity stands, after it the new. */
	    state_replace(IDENTITY_RECORD, text, len, 0600) < 0) {
		/* The keys go back where the document says they are. */
		unlinkat(state_dirfd(), cert, 0);
		state_rename(set, staging);
		goto out;
	}
	rc = 0;
	/* Only a set of our own identity/ is removed, whatever the record says. */
	old_name = have == 0 ? record_set(old) : NULL;
	if (old_name != NULL && strcmp(old_name, name) != 0 &&
	    (old_set = util_asprintf("identity/%s", old_name)) != NULL &&
	    state_remove(old_set) < 0)
		log_note("could not remove the previous identity's files in %s/%s",
		    state_path(), old_set);
out:
	json_free(old);
	free(set);
	free(cert);
	free(text);
	free(old_set);
	free(abs_staging);
	free(abs_set);
	free(abs_cert);
	free(abs_rec);
	return rc;
}

int
identity_remove(const struct json *rec)
{
	const char *dk = json_get_string(json_get_object(rec, "keys"), "device_key");
	char *set = NULL, *key = NULL;
	int rc = -1;

	dk = dk != NULL && strrchr(dk, '/') != NULL ? strrchr(dk, '/') + 1 : dk;
	util_fault_point("remove-start");
	if (unlinkat(state_dirfd(), IDENTITY_RECORD, 0) < 0 && errno != ENOENT) {
		log_fail(EXIT_IO, "%s/%s: cannot remove: %s", state_path(),
		    IDENTITY_RECORD, strerror(errno));
		goto out;
	}
	util_fault_point("remove-record-unlinked");
	if (state_sync(".") < 0)
		goto out;
	util_fault_point("remove-record-synced");
	/* From here the machine is not joined; what is left is leftovers. */
	log_mute(1);
	set = identity_set_of(rec);
	log_mute(0);
	if (set == NULL) {
		rc = 0;
		goto out;
	}
	/* The private key first: the rest is public. */
	if (dk != NULL && state_name_ok(dk) &&
	    (key = util_asprintf("%s/%s", set, dk)) != NULL &&
	    unlinkat(state_dirfd(), key, 0) < 0 && errno != ENOENT) {
		log_fail(EXIT_IO, "%s/%s: cannot remove: %s", state_path(), key,
		    strerror(errno));
		goto out;
	}
	util_fault_point("remove-device-key-unlinked");
	if (state_remove(set) < 0) {
		log_fail(EXIT_IO, "%s/%s: the identity is gone, but its files here "
		    "could not all be removed", state_path(), set);
		goto out;
	}
	util_fault_point("remove-set-removed");
	/*
	 * No fsync of identity/ here: with the record gone for good, a set that
	 * a crash brings back is a leftover the next run's cleanup removes.
	 */
	rc = 0;
out:
	free(set);
	free(key);
	return rc;
}

/* Removes the entries of directory rel for which keep() says no. */
static void
sweep(const char *rel, int (*keep)(const char *name, const void *arg), const void *arg)
{
	DIR *d;
	struct dirent *e;
	int fd;

	if ((fd = state_openat(rel, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    keep(e->d_name, arg))
			continue;
		p = strcmp(rel, ".") == 0 ? util_strdup(e->d_name) :
		    util_asprintf("%s/%s", rel, e->d_name);
		if (p == NULL)
			break;
		log_debug(1, "removing leftover %s/%s", state_path(), p);
		if (state_remove(p) < 0)
			log_note("could not remove the leftover %s/%s", state_path(), p);
		free(p);
	}
	closedir(d);
}

/*
 * Staging: keygens that never finished (.tmp-) and keys of one-shot joins
 * that never committed (.join-) go; sets made by keygen wait for their join.
 */
static int
keep_staged(const char *name, const void *arg)
{
	(void)arg;
	return name[0] != '.';
}

/* identity/: keep only the set device.json points at. */
static int
keep_identity(const char *name, const void *arg)
{
	const char *current = arg;

	return current != NULL && strcmp(name, current) == 0;
}

/* STATE itself: only the temporaries of atomic writes go. */
static int
keep_state_entry(const char *name, const void *arg)
{
	(void)arg;
	return strstr(name, ".tmp-") == NULL;
}

/* A subdirectory of the state dir that is a link or a file: refused, not followed. */
static int
check_subdir(const char *rel)
{
	struct stat st;

	if (state_lstat(rel, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		st.st_mode = 0;
	}
	if (S_ISDIR(st.st_mode))
		return 0;
	return log_fail(EXIT_IO, "state dir %s: %s is %s, refused (remove it)",
	    state_path(), rel, S_ISLNK(st.st_mode) ? "a symbolic link" :
	    "not a directory");
}

int
identity_cleanup(void)
{
	struct json *rec = NULL;
	int have;

	if (check_subdir("staging") < 0 || check_subdir("identity") < 0)
		return -1;
	have = identity_load_quiet(&rec);
	if (have < 0)
		return -1;
	sweep("staging", keep_staged, NULL);
	/* Under a record that cannot be read, no set is known to be unused. */
	if (have != IDENTITY_CORRUPT)
		sweep("identity", keep_identity, have == 0 ? record_set(rec) : NULL);
	/* device.json.tmp-* from a write that was killed. */
	sweep(".", keep_state_entry, NULL);
	json_free(rec);
	return 0;
}

int
identity_quarantine(void)
{
	char stamp[32], *rec_to = NULL, *ids_to = NULL;
	struct stat st;
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1, ids;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return log_fail(EXIT_INTERNAL, "quarantine: no clock");
	if ((rec_to = util_asprintf("%s.corrupt-%s", IDENTITY_RECORD, stamp)) == NULL ||
	    (ids_to = util_asprintf("identity.corrupt-%s", stamp)) == NULL)
		goto out;
	/* Never over an earlier quarantine: a name taken means try later. */
	if (state_lstat(rec_to, &st) == 0 || state_lstat(ids_to, &st) == 0) {
		log_fail(EXIT_IO, "state dir %s: %s already exists; try again in a second",
		    state_path(), rec_to);
		goto out;
	}
	ids = state_lstat("identity", &st) == 0;
	if (ids && state_rename("identity", ids_to) < 0)
		goto out;
	if (state_lstat(IDENTITY_RECORD, &st) == 0 &&
	    state_rename(IDENTITY_RECORD, rec_to) < 0)
		goto out;
	if (state_sync(".") < 0)
		goto out;
	log_note("moved the unusable %s/%s aside as %s%s%s: nothing was deleted",
	    state_path(), IDENTITY_RECORD, rec_to, ids ? ", its key sets as " : "",
	    ids ? ids_to : "");
	rc = 0;
out:
	free(rec_to);
	free(ids_to);
	return rc;
}
