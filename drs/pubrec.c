/* pubrec.c - the world-readable public record, status.json (pubrec.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "identity.h"
#include "json.h"
#include "log.h"
#include "machine.h"
#include "pubrec.h"
#include "state.h"
#include "util.h"

#define PUBREC_MAX (16 * 1024)

/* The record's facts that are no secret (no UPN, no paths, no keys). */
static const char *const public_fields[] = {
	"device_id", "tenant_id", "tenant_domain", "join_type", "display_name",
	"thumbprint", "not_before", "not_after", "joined_at", "key_store",
};

/* The public record of rec, without the time of the check. */
static struct json *
public_doc(const struct json *rec, const char *reason)
{
	struct json *o = json_new_object(), *m = NULL;
	const char *v, *mid;
	size_t i;

	if (o == NULL || json_set_string(o, "schema", "drsjoin-status/1") < 0 ||
	    json_set_bool(o, "joined", 1) < 0 ||
	    json_set_bool(o, "healthy", reason == NULL) < 0 ||
	    (reason != NULL && json_set_string(o, "reason", reason) < 0))
		goto fail;
	for (i = 0; i < sizeof(public_fields) / sizeof(public_fields[0]); i++)
		if ((v = json_get_string(rec, public_fields[i])) != NULL &&
		    json_set_string(o, public_fields[i], v) < 0)
			goto fail;
	/* Only the machine-id's hash: a user reads that file anyway. */
	mid = json_get_string(json_get_object(rec, "machine"), "machine_id");
	if (mid != NULL && ((m = json_object_at(o, "machine")) == NULL ||
	    json_set_string(m, "machine_id", mid) < 0))
		goto fail;
	return o;
fail:
	json_free(o);
	return NULL;
}

/*
 * A record that cannot be read (rec NULL): the facts status.json holds,
 * now unhealthy for reason. NULL when there is none.
 */
static struct json *
damaged_doc(const char *reason)
{
	struct json *old = NULL;
	char *buf = NULL;
	size_t len = 0;

	if (state_read(PUBREC_FILE, PUBREC_MAX, &buf, &len) == 0 &&
	    (old = json_parse_quiet(buf, len)) != NULL &&
	    (!json_is_object(old) || json_set_bool(old, "healthy", 0) < 0 ||
	    json_set_string(old, "reason", reason) < 0)) {
		json_free(old);
		old = NULL;
	}
	if (old != NULL)
		json_remove(old, "checked_at");
	free(buf);
	return old;
}

/* 1 when status.json says what pub says (the time of the check aside). */
static int
unchanged(const struct json *pub)
{
	struct json *old = NULL;
	char *buf = NULL, *a = NULL, *b = NULL;
	size_t len = 0;
	struct stat st;
	int same = 0;

	/* A status.json users cannot read (a restore, a chmod) is written again. */
	if (state_lstat(PUBREC_FILE, &st) == 0 && (st.st_mode & 07777) == 0644 &&
	    state_read(PUBREC_FILE, PUBREC_MAX, &buf, &len) == 0 &&
	    (old = json_parse_quiet(buf, len)) != NULL) {
		json_remove(old, "checked_at");
		a = json_print(old, JSON_SORT);
		b = json_print(pub, JSON_SORT);
		same = a != NULL && b != NULL && strcmp(a, b) == 0;
	}
	json_free(old);
	free(buf);
	free(a);
	free(b);
	return same;
}

/* The lock, if no other drsjoin holds it: -1 when it does (or cannot be had). */
static int
try_lock(void)
{
	int fd = state_openat(".lock", O_RDWR | O_CREAT, 0600);

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* device.json still names the identity rec was read from. */
static int
same_record(const struct json *rec)
{
	static const char *const keys[] = { "device_id", "thumbprint", "identity_dir" };
	struct json *now = NULL;
	const char *a, *b;
	int same = identity_load_quiet(&now) == 0;
	size_t i;

	for (i = 0; same && i < sizeof(keys) / sizeof(keys[0]); i++) {
		a = json_get_string(rec, keys[i]);
		b = json_get_string(now, keys[i]);
		same = (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
	}
	json_free(now);
	return same;
}

/*
 * Under the lock: device.json is still what status found (rec), or still
 * unusable (rec NULL) and not a record a join committed since.
 */
static int
still_current(const struct json *rec)
{
	struct json *now = NULL;
	int r;

	if (rec != NULL)
		return same_record(rec);
	r = identity_load_quiet(&now);
	json_free(now);
	return r != 0 && r != 1;
}

/* The state dir traversable by others: status.json is opened by its name only. */
static void
open_to_users(void)
{
	struct stat st;

	if (fstat(state_dirfd(), &st) == 0 && (st.st_mode & 011) != 011 &&
	    fchmod(state_dirfd(), (st.st_mode & 07777) | 011) < 0)
		log_debug(1, "status.json: cannot open %s to others: %s",
		    state_path(), strerror(errno));
}

/* Writes pub with the time of the check; the state dir traversable by others. */
static int
write_pub(struct json *pub)
{
	char now[32], *text = NULL;
	struct tm tm;
	time_t t = time(NULL);
	int rc = -1;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json_set_string(pub, "checked_at", now) < 0 ||
	    (text = json_print(pub, JSON_SORT | JSON_INDENT)) == NULL)
		return -1;
	open_to_users();
	rc = state_replace(PUBREC_FILE, text, strlen(text), 0644);
	free(text);
	return rc;
}

void
pubrec_update(const struct json *rec, const char *reason, int locked, int loud)
{
	struct json *pub = NULL;
	char why[LOG_LINE_MAX] = "";
	int lock = -1;

	util_fault_point("pubrec-update");
	log_catch(why, sizeof(why));
	/*
	 * status: never in the way of a join or leave, nor behind one; what it
	 * writes is read under the lock, so never a join's record gone stale.
	 */
	if (!locked && ((lock = try_lock()) < 0 || !still_current(rec))) {
		log_debug(1, "%s/%s: not updated: another drsjoin is changing the "
		    "identity", state_path(), PUBREC_FILE);
		goto out;
	}
	pub = rec != NULL ? public_doc(rec, reason) : damaged_doc(reason);
	if (pub == NULL)
		goto out;
	/* The same facts: still open the dir, as the users' line promises. */
	if (unchanged(pub))
		open_to_users();
	else if (write_pub(pub) < 0 && why[0] == '\0')
		snprintf(why, sizeof(why), "%s", strerror(errno));
out:
	log_catch(NULL, 0);
	if (why[0] != '\0' && loud)
		log_warn("%s/%s, the public record 'drsjoin status' shows "
		    "users, was not written (%s); root's next status writes it",
		    state_path(), PUBREC_FILE, why);
	else if (why[0] != '\0')
		log_debug(1, "%s/%s: not written: %s", state_path(), PUBREC_FILE, why);
	if (lock >= 0)
		close(lock);
	json_free(pub);
}

void
pubrec_forget(void)
{
	struct json *rec = NULL;
	int lock = try_lock();

	/* Not joined under the lock too: never a record a join just wrote. */
	if (lock >= 0 && identity_load_quiet(&rec) == 1 &&
	    identity_public_remove() < 0)
		log_debug(1, "%s/%s: not removed: %s", state_path(), PUBREC_FILE,
		    strerror(errno));
	json_free(rec);
	if (lock >= 0)
		close(lock);
}

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SSZ"; -1 if it is not one. */
static time_t
parse_time(const char *s)
{
	struct tm tm = { 0 };
	int n = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 20 || s[n] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/*
 * What root found, and what a user can still tell: a certificate that
 * expired since, or a record written on another machine (its machine-id).
 */
static int
public_health(struct json *d)
{
	char why[LOG_LINE_MAX], mwhy[128];
	time_t na = parse_time(json_get_string(d, "not_after")), now = time(NULL);
	int r;

	if (na != -1 && json_set_number(d, "days_left", (double)(long)((na - now) /
	    86400)) < 0)
		return -1;
	why[0] = '\0';
	if ((r = machine_differs(json_get_object(d, "machine"), mwhy, sizeof(mwhy))) < 0)
		return -1;
	if (r > 0)
		snprintf(why, sizeof(why), "device %s was joined on another machine "
		    "(its %s): a cloned image or a copied state dir",
		    json_get_string(d, "device_id"), mwhy);
	else if (na != -1 && na < now && json_get_bool(d, "healthy"))
		snprintf(why, sizeof(why), "the device certificate expired at %s",
		    json_get_string(d, "not_after"));
	if (why[0] != '\0' && (json_set_bool(d, "healthy", 0) < 0 ||
	    json_set_string(d, "reason", why) < 0))
		return -1;
	json_remove(d, "machine");
	json_remove(d, "schema");
	return 0;
}

int
pubrec_load(const char *state_dir, struct json **doc)
{
	struct stat st;
	char *path = NULL, *buf = NULL;
	size_t len = 0;
	int fd, rc = -1;

	*doc = NULL;
	if (geteuid() == 0 || stat(state_dir, &st) < 0 ||
	    access(state_dir, R_OK | X_OK) == 0)
		return 1;
	if (access(state_dir, X_OK) < 0)
		return log_fail(EXIT_IO, "status: %s is closed to users (mode %04o): "
		    "run status as root, which opens it to them (0711: status.json "
		    "alone can be read)", state_dir, (unsigned)(st.st_mode & 07777));
	if ((path = util_asprintf("%s/%s", state_dir, PUBREC_FILE)) == NULL)
		return -1;
	log_debug(1, "status: %s cannot be read as uid %u: %s, as root last wrote it",
	    state_dir, (unsigned)geteuid(), path);
	if ((fd = state_open_safe_file(path, EXIT_IO)) == -2) {
		rc = 2;
		goto out;
	}
	if (fd < 0)
		goto out;
	rc = state_read_fd(fd, path, PUBREC_MAX, EXIT_IO, &buf, &len);
	close(fd);
	if (rc < 0)
		goto out;
	rc = -1;
	if ((*doc = json_parse_quiet(buf, len)) == NULL || !json_is_object(*doc) ||
	    json_get_string(*doc, "device_id") == NULL) {
		log_fail(EXIT_IO, "%s: not a drsjoin public record (damaged): run "
		    "status as root, which writes it again", path);
		goto out;
	}
	if (json_set_string(*doc, "state_dir", state_dir) < 0 || public_health(*doc) < 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		json_free(*doc);
		*doc = NULL;
	}
	free(path);
	free(buf);
	return rc;
}
