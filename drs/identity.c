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
#include "machine.h"
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
 * The set name in a record's identity_dir ("identity/SET", or as older
 * records have it, "STATE/identity/SET"), or NULL.
 */
static const char *
record_set(const struct json *rec)
{
	const char *dir = json_get_string(rec, "identity_dir");
	const char *rel = state_rel_any(dir);

	if (rel == NULL || strncmp(rel, "identity/", 9) != 0 || !set_name_ok(rel + 9, ""))
		return NULL;
	return rel + 9;
}

/* Where the set of a removal that started is: "identity/.remove-SET". */
#define REMOVING_PREFIX ".remove-"

/*
 * 1 when rec's set has been marked for removal (identity_remove renamed
 * identity/SET to identity/.remove-SET, and nothing put SET back): from
 * that rename on, the machine is not joined, and the next run that writes
 * finishes the removal (identity_cleanup).
 */
static int
removing(const struct json *rec)
{
	const char *name = record_set(rec);
	char rel[64];
	struct stat st;

	if (name == NULL)
		return 0;
	snprintf(rel, sizeof(rel), "identity/%s", name);
	if (state_lstat(rel, &st) == 0 || errno != ENOENT)
		return 0;
	snprintf(rel, sizeof(rel), "identity/" REMOVING_PREFIX "%s", name);
	return state_lstat(rel, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * identity_load; with removing_out (identity_cleanup), a record whose set
 * is being removed is returned (rc 1) and *removing_out set. quiet: report
 * nothing (a corrupt record is IDENTITY_CORRUPT); whybuf, when not NULL,
 * gets what is wrong ("PATH: reason") whenever it is not 0 or 1.
 */
static int
load(struct json **rec, int quiet, int *removing_out, char *whybuf, size_t whyn)
{
	char *buf = NULL, *abs = NULL, moved_why[512];
	const char *why = NULL, *moved;
	int cleanup = removing_out != NULL;
	struct stat st;
	size_t len = 0;
	int rc = -1, fd;

	*rec = NULL;
	if (removing_out != NULL)
		*removing_out = 0;
	if ((abs = state_abs(IDENTITY_RECORD)) == NULL)
		return -1;
	/* O_NONBLOCK: a FIFO is refused below as not a regular file, never waited on. */
	if ((fd = state_openat(IDENTITY_RECORD, O_RDONLY | O_NONBLOCK, 0)) < 0) {
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
		if (*rec != NULL && record_set(*rec) == NULL) {
			/*
			 * Its keys are somewhere this state dir does not know (it
			 * was moved, renamed or bind-mounted, or the record was
			 * edited): like a corrupt record, so that no cleanup takes
			 * the key sets here for unused ones.
			 */
			moved = json_get_string(*rec, "identity_dir");
			if (moved == NULL)
				moved = "(missing)";
			snprintf(moved_why, sizeof(moved_why), "its identity_dir %.300s is "
			    "not a key set of this state dir: if the state dir was "
			    "moved, renamed or bind-mounted, use it where it was joined "
			    "(--state-dir), or move it back; nothing was removed", moved);
			why = moved_why;
			json_free(*rec);
			*rec = NULL;
		}
		if (*rec != NULL)
			rc = 0;
		if (*rec != NULL && removing(*rec)) {
			if (removing_out != NULL)
				*removing_out = 1;
			rc = 1;
		}
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
	if (rc == 1 && *rec != NULL && !cleanup) {
		log_debug(1, "%s: device %s is being removed (a removal was "
		    "interrupted): not joined; the next drsjoin that writes "
		    "finishes it", abs, json_get_string(*rec, "device_id"));
		json_free(*rec);
		*rec = NULL;
	}
	free(buf);
	free(abs);
	return rc;
}

int
identity_load(struct json **rec)
{
	return load(rec, 0, NULL, NULL, 0);
}

int
identity_load_quiet(struct json **rec)
{
	return load(rec, 1, NULL, NULL, 0);
}

int
identity_load_why(struct json **rec, char *why, size_t n)
{
	if (n > 0)
		why[0] = '\0';
	return load(rec, 1, NULL, why, n);
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

int
identity_paths_absolute(struct json *rec)
{
	static const char *const fields[] = { "identity_dir", "certificate",
	    "device_key", "transport_key" };
	struct json *keys = json_get_object(rec, "keys");
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct json *o = i < 2 ? rec : keys;
		const char *v = json_get_string(o, fields[i]);
		char *abs;
		int rc;

		if (v == NULL || v[0] == '/' || state_rel_any(v) == NULL)
			continue;
		if ((abs = state_abs(v)) == NULL)
			return -1;
		rc = json_set_string(o, fields[i], abs);
		free(abs);
		if (rc < 0)
			return -1;
	}
	return 0;
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
	/* Relative to the state dir: a moved state dir keeps a usable record. */
	if (move_key_paths(rec, abs_staging, set) < 0 ||
	    /* The machine joined on (machine.h): a copy elsewhere is told. */
	    json_set(rec, "machine", machine_identity()) < 0 ||
	    json_set_string(rec, "identity_dir", set) < 0 ||
	    json_set_string(rec, "certificate", cert) < 0 ||
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
		state_unlink(cert);
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

static int keep_nothing(const char *name, const void *arg);
static int sweep(const char *rel, int (*keep)(const char *, const void *),
    const void *arg);

/*
 * The removal after its commit point (identity/.remove-SET exists, and
 * the record names SET): the files of the set, the record, then the empty
 * set, which marks the removal until the record is gone for good.
 */
static int
finish_removal(const char *gone, const char *id)
{
	char *abs = state_abs(gone);
	int rc = -1;

	if (sweep(gone, keep_nothing, NULL) < 0) {
		log_fail(EXIT_IO, "%s: not all files of device %s's identity could be "
		    "removed (its private key is gone): %s/%s is kept, and the next "
		    "drsjoin command that writes tries again", abs ? abs : gone, id,
		    state_path(), IDENTITY_RECORD);
		goto out;
	}
	util_fault_point("remove-set-emptied");
	if (state_unlink(IDENTITY_RECORD) < 0 && errno != ENOENT) {
		log_fail(EXIT_IO, "%s/%s: cannot remove: %s", state_path(),
		    IDENTITY_RECORD, strerror(errno));
		goto out;
	}
	util_fault_point("remove-record-unlinked");
	/* What users see goes with it (pubrec.h). */
	if (identity_public_remove() < 0)
		log_note("could not remove %s/%s: %s", state_path(), IDENTITY_PUBLIC,
		    strerror(errno));
	if (state_sync(".") < 0)
		goto out;
	util_fault_point("remove-record-synced");
	/* Not joined for good now: an empty set left or brought back is swept. */
	if (state_remove(gone) < 0)
		log_note("could not remove the empty %s: the next run does",
		    abs ? abs : gone);
	rc = 0;
out:
	free(abs);
	return rc;
}

int
identity_remove(const struct json *rec)
{
	const char *dk = json_get_string(json_get_object(rec, "keys"), "device_key");
	const char *name = record_set(rec), *id = json_get_string(rec, "device_id");
	char *set = NULL, *gone = NULL, *key = NULL, *abs = NULL;
	struct stat st;
	int rc = -1, e;

	dk = dk != NULL && strrchr(dk, '/') != NULL ? strrchr(dk, '/') + 1 : dk;
	if (id == NULL)
		id = "(unknown)";
	/* identity_load refuses a record that names no set of this state dir. */
	if (name == NULL)
		return log_fail(EXIT_INTERNAL, "remove: the record names no key set");
	if ((set = util_asprintf("identity/%s", name)) == NULL ||
	    (gone = util_asprintf("identity/" REMOVING_PREFIX "%s", name)) == NULL ||
	    (abs = state_abs(set)) == NULL)
		goto out;
	util_fault_point("remove-start");
	if (state_lstat(set, &st) < 0) {
		if (errno != ENOENT) {
			log_fail(EXIT_IO, "%s: %s; nothing was removed", abs,
			    strerror(errno));
			goto out;
		}
		/* A set that is gone already: only the record is left to remove. */
		if (state_mkdir(gone) < 0)
			goto out;
	} else if (!S_ISDIR(st.st_mode)) {
		log_fail(EXIT_IO, "%s: %s: not followed, nothing was removed "
		    "(remove it yourself, then run drsjoin leave --local-only)", abs,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
		goto out;
	} else if (state_rename(set, gone) < 0) {
		goto out;	/* nothing changed */
	}
	/*
	 * The commit point: from this rename on the machine is not joined
	 * (identity_load), and the next run finishes the removal.
	 */
	if (state_sync("identity") < 0) {
		if (state_rename(gone, set) == 0)
			state_sync("identity");
		goto out;
	}
	util_fault_point("remove-set-marked");
	/* The private key first: the rest is public. */
	if (dk != NULL && state_name_ok(dk) &&
	    (key = util_asprintf("%s/%s", gone, dk)) != NULL &&
	    state_unlink(key) < 0 && errno != ENOENT) {
		e = errno;
		/* Nothing is gone yet: the whole identity is put back. */
		if (state_rename(gone, set) == 0 && state_sync("identity") == 0)
			log_fail(EXIT_IO, "%s/%s: cannot remove: %s; nothing was removed "
			    "here: the identity of device %s stays whole", abs, dk,
			    strerror(e), id);
		else
			log_fail(EXIT_IO, "%s/%s: cannot remove: %s, nor put back: the "
			    "next drsjoin command that writes tries again", abs, dk,
			    strerror(e));
		goto out;
	}
	util_fault_point("remove-device-key-unlinked");
	rc = finish_removal(gone, id);
out:
	free(set);
	free(gone);
	free(key);
	free(abs);
	return rc;
}

/*
 * Removes the entries of directory rel for which keep() says no, following
 * no link. -1 when one could not be removed (each said in a note).
 */
static int
sweep(const char *rel, int (*keep)(const char *name, const void *arg), const void *arg)
{
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;

	if ((fd = state_openat(rel, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    keep(e->d_name, arg))
			continue;
		p = strcmp(rel, ".") == 0 ? util_strdup(e->d_name) :
		    util_asprintf("%s/%s", rel, e->d_name);
		if (p == NULL) {
			rc = -1;
			break;
		}
		log_debug(1, "removing %s/%s", state_path(), p);
		if (state_remove(p) < 0) {
			log_note("could not remove %s/%s", state_path(), p);
			rc = -1;
		}
		free(p);
	}
	closedir(d);
	return rc;
}

static int
keep_nothing(const char *name, const void *arg)
{
	(void)name;
	(void)arg;
	return 0;
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
	int have, marked, rc;

	if (check_subdir("staging") < 0 || check_subdir("identity") < 0)
		return -1;
	have = load(&rec, 1, &marked, NULL, 0);
	if (have < 0)
		return -1;
	if (marked) {
		/* A removal that was interrupted after its commit point. */
		const char *id = json_get_string(rec, "device_id");
		char *gone = util_asprintf("identity/" REMOVING_PREFIX "%s",
		    record_set(rec));

		log_debug(1, "finishing the removal of device %s's identity, which was "
		    "interrupted", id != NULL ? id : "(unknown)");
		rc = gone == NULL ? -1 : finish_removal(gone, id != NULL ? id : "(unknown)");
		free(gone);
		json_free(rec);
		rec = NULL;
		if (rc < 0)
			return -1;
		have = 1;
	}
	sweep("staging", keep_staged, NULL);
	/* Under a record that cannot be read, no set is known to be unused. */
	if (have != IDENTITY_CORRUPT)
		sweep("identity", keep_identity, have == 0 ? record_set(rec) : NULL);
	/* device.json.tmp-* from a write that was killed. */
	sweep(".", keep_state_entry, NULL);
	/* A public record left by a removal killed before it went. */
	if (have == 1 && identity_public_remove() < 0)
		log_note("could not remove %s/%s: %s", state_path(), IDENTITY_PUBLIC,
		    strerror(errno));
	json_free(rec);
	return 0;
}

int
identity_quarantine(void)
{
	return identity_quarantine_sets(NULL);
}

int
identity_quarantine_sets(char **sets)
{
	char stamp[32], *rec_to = NULL, *ids_to = NULL;
	struct stat st;
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1, ids;

	if (sets != NULL)
		*sets = NULL;
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
	/* It told users of the record moved aside. */
	if (identity_public_remove() < 0)
		log_note("could not remove %s/%s: %s", state_path(), IDENTITY_PUBLIC,
		    strerror(errno));
	if (state_sync(".") < 0)
		goto out;
	log_note("moved the unusable %s/%s aside as %s%s%s: nothing was deleted",
	    state_path(), IDENTITY_RECORD, rec_to, ids ? ", its key sets as " : "",
	    ids ? ids_to : "");
	rc = 0;
	if (sets != NULL && ids) {
		*sets = ids_to;
		ids_to = NULL;
	}
out:
	free(rec_to);
	free(ids_to);
	return rc;
}

int
identity_public_remove(void)
{
	struct stat st;

	/* Looked for first: no system call that changes the state dir for nothing. */
	if (state_lstat(IDENTITY_PUBLIC, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (state_unlink(IDENTITY_PUBLIC) < 0 && errno != ENOENT)
		return -1;
	return 0;
}
