/* identity.c - staging, committing and finding the device identity. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "identity.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define RECORD_MAX (256 * 1024)

int
identity_open(const char *state_dir)
{
	if (state_mkdir_private(state_dir) < 0)
		return -1;
	return state_lock(state_dir);
}

static char *
random_name(void)
{
	uint8_t r[8];

	if (crypto_random(r, sizeof(r)) < 0)
		return NULL;
	return util_asprintf("%02x%02x%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

int
identity_staging_new(const char *state_dir, int ephemeral, char **tmp_dir, char **dir)
{
	char *staging = NULL, *name = NULL;
	int rc = -1;

	*tmp_dir = *dir = NULL;
	if ((staging = util_asprintf("%s/staging", state_dir)) == NULL ||
	    state_mkdir_private(staging) < 0 || (name = random_name()) == NULL)
		goto out;
	*tmp_dir = util_asprintf("%s/.tmp-%s", staging, name);
	*dir = util_asprintf(ephemeral ? "%s/.join-%s" : "%s/%s", staging, name);
	if (*tmp_dir == NULL || *dir == NULL)
		goto out;
	if (mkdir(*tmp_dir, 0700) < 0) {
		log_fail(EXIT_IO, "%s: cannot create: %s", *tmp_dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		free(*tmp_dir);
		free(*dir);
		*tmp_dir = *dir = NULL;
	}
	free(staging);
	free(name);
	return rc;
}

int
identity_staging_publish(const char *tmp_dir, const char *dir)
{
	char *parent;
	int rc;

	if (rename(tmp_dir, dir) < 0)
		return log_fail(EXIT_IO, "%s: cannot rename to %s: %s", tmp_dir, dir,
		    strerror(errno));
	if ((parent = util_strdup(dir)) == NULL)
		return -1;
	*strrchr(parent, '/') = '\0';
	rc = state_sync_dir(parent);
	free(parent);
	return rc;
}

int
identity_load(const char *state_dir, struct json **rec)
{
	char *path = NULL, *buf = NULL;
	size_t len;
	int rc = -1;

	*rec = NULL;
	if ((path = util_asprintf("%s/%s", state_dir, IDENTITY_RECORD)) == NULL)
		return -1;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		rc = 1;
		goto out;
	}
	if (state_read_file(path, RECORD_MAX, EXIT_IO, &buf, &len) < 0)
		goto out;
	if ((*rec = json_parse(buf, len, EXIT_IO, path)) == NULL)
		goto out;
	if (!json_is_object(*rec) || json_get_string(*rec, "device_id") == NULL) {
		log_fail(EXIT_IO, "%s: not a drsjoin identity record (no device_id)",
		    path);
		json_free(*rec);
		*rec = NULL;
		goto out;
	}
	rc = 0;
out:
	free(buf);
	free(path);
	return rc;
}

/* The last component of a path (a set's name). */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

int
identity_staging_check(const char *state_dir, const char *dir)
{
	struct stat st, staging_st;
	char *staging = NULL, *parent = NULL;
	int ok = 0;

	/*
	 * dir comes from a document, and runs as root move it and later remove
	 * it: it must be a set of this state dir's staging area, nothing else.
	 */
	if ((staging = util_asprintf("%s/staging", state_dir)) == NULL ||
	    (parent = util_strdup(dir)) == NULL)
		goto out;
	*strrchr(parent, '/') = '\0';
	ok = strrchr(dir, '/') != NULL && base_name(dir)[0] != '\0' &&
	    strcmp(base_name(dir), ".") != 0 && strcmp(base_name(dir), "..") != 0 &&
	    lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    stat(parent, &st) == 0 && stat(staging, &staging_st) == 0 &&
	    st.st_dev == staging_st.st_dev && st.st_ino == staging_st.st_ino;
out:
	free(staging);
	free(parent);
	if (!ok)
		return log_fail(EXIT_INPUT, "keys: %s is not a key set in %s/staging "
		    "(the keys of a joined identity cannot join again: run 'drsjoin "
		    "keygen', or leave the keys out of the document)", dir, state_dir);
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
identity_commit(const char *state_dir, const char *staging_dir,
    const char *cert_pem, struct json *rec)
{
	struct json *old = NULL;
	char *ids = NULL, *set_dir = NULL, *cert = NULL, *path = NULL, *text = NULL;
	char *old_set = NULL;
	const char *name, *old_name;
	int rc = -1;

	if (identity_load(state_dir, &old) < 0 ||
	    identity_staging_check(state_dir, staging_dir) < 0)
		goto out;
	name = base_name(staging_dir);
	if (strncmp(name, ".join-", 6) == 0)
		name += 6;
	if ((ids = util_asprintf("%s/identity", state_dir)) == NULL ||
	    state_mkdir_private(ids) < 0 ||
	    (set_dir = util_asprintf("%s/%s", ids, name)) == NULL ||
	    (cert = util_asprintf("%s/%s", set_dir, IDENTITY_CERT)) == NULL ||
	    (path = util_asprintf("%s/%s", state_dir, IDENTITY_RECORD)) == NULL)
		goto out;
	if (rename(staging_dir, set_dir) < 0) {
		log_fail(EXIT_IO, "%s: cannot move to %s: %s", staging_dir, set_dir,
		    strerror(errno));
		goto out;
	}
	if (state_sync_dir(ids) < 0 ||
	    state_write_new(cert, cert_pem, strlen(cert_pem), 0644) < 0 ||
	    move_key_paths(rec, staging_dir, set_dir) < 0 ||
	    json_set_string(rec, "identity_dir", set_dir) < 0 ||
	    json_set_string(rec, "certificate", cert) < 0 ||
	    (text = json_print(rec, JSON_SORT | JSON_INDENT)) == NULL ||
	    /* The commit point: before it the old identity stands, after it the new. */
	    state_write_atomic(path, text, strlen(text), 0600) < 0) {
		/* The keys go back where the document says they are. */
		unlink(cert);
		rename(set_dir, staging_dir);
		goto out;
	}
	rc = 0;
	/* Only a set of our own identity/ is removed, whatever the record says. */
	old_name = old != NULL ? json_get_string(old, "identity_dir") : NULL;
	old_name = old_name != NULL ? base_name(old_name) : "";
	if (*old_name != '\0' && strcmp(old_name, ".") != 0 &&
	    strcmp(old_name, "..") != 0 && strcmp(old_name, name) != 0 &&
	    (old_set = util_asprintf("%s/%s", ids, old_name)) != NULL &&
	    state_remove_tree(old_set) < 0)
		log_note("could not remove the previous identity's files in %s", old_set);
out:
	free(old_set);
	json_free(old);
	free(ids);
	free(set_dir);
	free(cert);
	free(path);
	free(text);
	return rc;
}

/* Removes the entries of dir for which keep() says no. */
static void
sweep(const char *dir, int (*keep)(const char *name, const char *path,
    const void *arg), const void *arg)
{
	DIR *d;
	struct dirent *e;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((p = util_asprintf("%s/%s", dir, e->d_name)) == NULL)
			break;
		if (!keep(e->d_name, p, arg)) {
			log_debug(1, "removing leftover %s", p);
			if (state_remove_tree(p) < 0)
				log_note("could not remove the leftover %s", p);
		}
		free(p);
	}
	closedir(d);
}

/*
 * Staging: keygens that never finished (.tmp-) and keys of one-shot joins
 * that never committed (.join-) go; sets made by keygen wait for their join.
 */
static int
keep_staged(const char *name, const char *path, const void *arg)
{
	(void)path;
	(void)arg;
	return name[0] != '.';
}

/*
 * identity/: keep only the set device.json points at, by name: the state
 * dir may be spelled differently now (a trailing slash, a relative path).
 */
static int
keep_identity(const char *name, const char *path, const void *arg)
{
	const char *current = arg;

	(void)path;
	return current != NULL && strcmp(name, base_name(current)) == 0;
}

/* STATE itself: only the temporaries of atomic writes go. */
static int
keep_state_entry(const char *name, const char *path, const void *arg)
{
	(void)path;
	(void)arg;
	return strstr(name, ".tmp-") == NULL;
}

int
identity_cleanup(const char *state_dir)
{
	struct json *rec = NULL;
	char *staging = NULL, *ids = NULL;
	int rc;

	rc = identity_load(state_dir, &rec);
	if (rc < 0)
		return -1;
	staging = util_asprintf("%s/staging", state_dir);
	ids = util_asprintf("%s/identity", state_dir);
	if (staging == NULL || ids == NULL) {
		rc = -1;
		goto out;
	}
	sweep(staging, keep_staged, NULL);
	sweep(ids, keep_identity, rec ? json_get_string(rec, "identity_dir") : NULL);
	/* device.json.tmp-* from a write that was killed. */
	sweep(state_dir, keep_state_entry, NULL);
	rc = 0;
out:
	json_free(rec);
	free(staging);
	free(ids);
	return rc;
}
