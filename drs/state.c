/* state.c - the state directory: one checked descriptor, no symbolic links. */
/* O_PATH: walking the parents needs no read permission on them. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "redact.h"
#include "state.h"
#include "util.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)	/* linux/fs.h, which musl-gcc does not see */
#endif

static int sfd = -1;		/* the state dir */
static char *spath;		/* its absolute path */

int (*state_fsync_dir)(int fd) = fsync;

char *
state_absolute(const char *dir)
{
	char cwd[PATH_MAX], *joined, *out, *p, *save = NULL;
	size_t n = 0;

	if (dir == NULL || *dir == '\0') {
		log_fail(EXIT_USAGE, "--state-dir: empty (see 'drsjoin --help')");
		return NULL;
	}
	if (*dir == '/')
		joined = util_strdup(dir);
	else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		log_fail(EXIT_IO, "state dir %s: relative, and the working directory "
		    "is unknown: %s", dir, strerror(errno));
		return NULL;
	} else
		joined = util_asprintf("%s/%s", cwd, dir);
	if (joined == NULL)
		return NULL;
	if ((out = malloc(strlen(joined) + 2)) == NULL) {
		free(joined);
		log_fail(EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	for (p = strtok_r(joined, "/", &save); p != NULL; p = strtok_r(NULL, "/", &save)) {
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, p, strlen(p));
		n += strlen(p);
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(joined);
	return out;
}

int
state_name_ok(const char *name)
{
	return name != NULL && *name != '\0' && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/*
 * Is the directory st (at path) safe to hold, or lead to, root's state?
 * NULL when it is, else why not.
 */
static const char *
unsafe(const struct stat *st, int leaf, char *why, size_t n)
{
	uid_t me = geteuid();

	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(why, n, "owned by uid %u (only root%s may own it)",
		    (unsigned)st->st_uid, me != 0 ? " or the user running drsjoin" : "");
		return why;
	}
	if ((st->st_mode & 022) == 0)
		return NULL;
	/* /tmp: others may add entries, but not rename or remove ours. */
	if (!leaf && (st->st_mode & S_ISVTX) && st->st_uid == 0)
		return NULL;
	snprintf(why, n, "writable by %s (mode %04o)",
	    (st->st_mode & 002) ? "others" : "its group", (unsigned)(st->st_mode & 07777));
	return why;
}

/* Why openat(O_NOFOLLOW|O_DIRECTORY) of a path component refused it. */
static const char *
link_or_not_dir(int fd, const char *p)
{
	struct stat st;

	return fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode) ? "a symbolic link, refused (give the real path)" :
	    "not a directory";
}

/*
 * A user who is not root meeting root's default state dir (EACCES, EPERM,
 * or refused as root's) is told the two ways on; "" otherwise.
 */
static const char *
root_hint(const char *dir, int e, int refused_owner)
{
	if (geteuid() == 0 || strcmp(dir, DRSJOIN_STATE_DIR) != 0 ||
	    !(e == EACCES || e == EPERM || refused_owner))
		return "";
	return "; it is root's: run drsjoin as root (sudo), or give --state-dir "
	    "DIR (or DRSJOIN_STATE_DIR) for a state dir of your own";
}

int
state_open(const char *dir, int create)
{
	struct stat st;
	char *copy = NULL, *p, *next, why[128];
	const char *bad = NULL, *hint;
	int fd = -1, sub, rc = -1, leaf;

	if (dir == NULL || dir[0] != '/')
		return log_fail(EXIT_INTERNAL, "state dir %s: not absolute", dir ? dir : "(none)");
	if ((copy = util_strdup(dir)) == NULL)
		return -1;
	if ((fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		log_fail(EXIT_IO, "state dir %s: /: %s", dir, strerror(errno));
		goto out;
	}
	p = copy + 1;
	if (*p == '\0') {
		bad = "is /, refused";
		goto refused;
	}
	if ((bad = unsafe(&st, 0, why, sizeof(why))) != NULL) {
		*p = '\0';
		goto refused;
	}
	for (; p != NULL; p = next) {
		if ((next = strchr(p, '/')) != NULL)
			*next++ = '\0';
		leaf = next == NULL;
		sub = openat(fd, p, (leaf ? O_RDONLY : O_PATH) | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, p, leaf ? 0700 : 0755) < 0 && errno != EEXIST) {
				log_fail(EXIT_IO, "state dir %s: %s: cannot create: %s%s",
				    dir, copy, strerror(errno), root_hint(dir, errno, 0));
				goto out;
			}
			sub = openat(fd, p, (leaf ? O_RDONLY : O_PATH) | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
		if (sub < 0) {
			if (errno == ENOENT && !create) {
				rc = 1;
				goto out;
			}
			if (errno == ELOOP || errno == ENOTDIR) {
				bad = link_or_not_dir(fd, p);
				goto refused;
			}
			log_fail(EXIT_IO, "state dir %s: %s: %s%s", dir, copy,
			    strerror(errno), root_hint(dir, errno, 0));
			goto out;
		}
		close(fd);
		fd = sub;
		if (fstat(fd, &st) < 0) {
			log_fail(EXIT_IO, "state dir %s: %s: %s", dir, copy, strerror(errno));
			goto out;
		}
		if ((bad = unsafe(&st, leaf, why, sizeof(why))) != NULL)
			goto refused;
		if (next != NULL)
			next[-1] = '/';
	}
	free(spath);
	if (sfd >= 0)
		close(sfd);
	if ((spath = util_strdup(dir)) == NULL) {
		sfd = -1;
		goto out;
	}
	sfd = fd;
	fd = -1;
	rc = 0;
	goto out;
refused:
	/* copy is cut after the component that is wrong. */
	hint = root_hint(dir, 0, bad == why && strncmp(why, "owned", 5) == 0);
	if (strcmp(copy, dir) == 0)
		log_fail(EXIT_IO, "state dir %s: %s%s", dir, bad, hint);
	else
		log_fail(EXIT_IO, "state dir %s: %s: %s%s", dir, copy, bad, hint);
out:
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int
state_open_safe_file(const char *path, int code)
{
	struct stat st;
	char *copy, *p, *next, why[128];
	const char *bad = NULL;
	int fd, sub, leaf, rc = -1;

	if (path == NULL || path[0] != '/' || path[1] == '\0')
		return log_fail(EXIT_INTERNAL, "%s: not an absolute file name",
		    path ? path : "(none)");
	if ((copy = util_strdup(path)) == NULL)
		return -1;
	if ((fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		log_fail(code, "%s: /: %s", path, strerror(errno));
		goto out;
	}
	if ((bad = unsafe(&st, 0, why, sizeof(why))) != NULL) {
		copy[1] = '\0';
		goto refused;
	}
	for (p = copy + 1; p != NULL; p = next) {
		if ((next = strchr(p, '/')) != NULL)
			*next++ = '\0';
		leaf = next == NULL || *next == '\0';
		/* Opening a FIFO or a device acts on it: look first. */
		if (leaf && fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			bad = "not a regular file";
			goto refused;
		}
		/* O_NONBLOCK: one swapped in since fails the check below, never blocks. */
		sub = openat(fd, p, (leaf ? O_RDONLY | O_NONBLOCK | O_NOCTTY :
		    O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno == ENOENT) {
				rc = -2;
				goto out;
			}
			if (errno == ELOOP || errno == ENOTDIR) {
				bad = link_or_not_dir(fd, p);
				goto refused;
			}
			log_fail(code, "%s: %s: %s", path, copy, strerror(errno));
			goto out;
		}
		close(fd);
		fd = sub;
		if (fstat(fd, &st) < 0) {
			log_fail(code, "%s: %s: %s", path, copy, strerror(errno));
			goto out;
		}
		if (leaf) {
			/* The file: as a leaf directory would be, but regular. */
			if (!S_ISREG(st.st_mode))
				bad = "not a regular file";
			else {
				st.st_mode = (st.st_mode & 07777) | S_IFDIR;
				bad = unsafe(&st, 1, why, sizeof(why));
			}
		} else
			bad = unsafe(&st, 0, why, sizeof(why));
		if (bad != NULL)
			goto refused;
		if (next != NULL)
			next[-1] = '/';
		if (leaf)
			break;
	}
	rc = fd;
	fd = -1;
	goto out;
refused:
	if (strcmp(copy, path) == 0)
		log_fail(code, "%s: %s", path, bad);
	else
		log_fail(code, "%s: %s: %s", path, copy, bad);
out:
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

const char *
state_path(void)
{
	return spath;
}

int
state_dirfd(void)
{
	return sfd;
}

char *
state_abs(const char *rel)
{
	if (strcmp(rel, ".") == 0)
		return util_strdup(spath ? spath : "(no state dir)");
	return util_asprintf("%s/%s", spath ? spath : "(no state dir)", rel);
}

/* rel is '/'-separated plain names: none empty, "." or "..". */
static int
rel_ok(const char *rel)
{
	const char *p, *c;

	for (p = c = rel;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == c || p - c > NAME_MAX || (p - c == 1 && c[0] == '.') ||
			    (p - c == 2 && c[0] == '.' && c[1] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			c = p + 1;
		}
	}
}

const char *
state_rel(const char *abs)
{
	size_t n;

	if (spath == NULL || abs == NULL)
		return NULL;
	n = strlen(spath);
	if (strncmp(abs, spath, n) != 0 || abs[n] != '/' || !rel_ok(abs + n + 1))
		return NULL;
	return abs + n + 1;
}

const char *
state_rel_any(const char *path)
{
	if (path == NULL)
		return NULL;
	if (path[0] == '/')
		return state_rel(path);
	return rel_ok(path) ? path : NULL;
}

/*
 * The directory holding rel's last component, walked from the state dir
 * with O_NOFOLLOW on each component; *leaf points into rel. -1 with errno.
 */
static int
open_parent(const char *rel, const char **leaf)
{
	char name[NAME_MAX + 1];
	const char *p = rel, *slash;
	int fd, sub;

	if (sfd < 0) {
		errno = EBADF;
		return -1;
	}
	/* The whole name is checked before anything is opened. */
	if (!rel_ok(rel)) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = fcntl(sfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);

		if (n == 0 || n > NAME_MAX)
			goto inval;
		memcpy(name, p, n);
		name[n] = '\0';
		if (!state_name_ok(name))
			goto inval;
		sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			int e = errno;
			struct stat st;

			/* O_DIRECTORY|O_NOFOLLOW on a link says ENOTDIR: say what it is. */
			if (e == ENOTDIR && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				e = ELOOP;
			close(fd);
			errno = e;
			return -1;
		}
		close(fd);
		fd = sub;
		p = slash + 1;
	}
	if (!state_name_ok(p))
		goto inval;
	*leaf = p;
	return fd;
inval:
	close(fd);
	errno = EINVAL;
	return -1;
}

int
state_openat(const char *rel, int flags, mode_t mode)
{
	const char *leaf;
	int dfd, fd, e;

	if (strcmp(rel, ".") == 0) {
		if (sfd < 0) {
			errno = EBADF;
			return -1;
		}
		return openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if ((dfd = open_parent(rel, &leaf)) < 0)
		return -1;
	fd = openat(dfd, leaf, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
	e = errno;
	close(dfd);
	errno = e;
	return fd;
}

int
state_lstat(const char *rel, struct stat *st)
{
	const char *leaf;
	int dfd, rc, e;

	if ((dfd = open_parent(rel, &leaf)) < 0)
		return -1;
	rc = fstatat(dfd, leaf, st, AT_SYMLINK_NOFOLLOW);
	e = errno;
	close(dfd);
	errno = e;
	return rc;
}

/* The reason for errno after a state_* call on rel. */
static const char *
why(int e)
{
	if (e == ELOOP)
		return "a symbolic link, refused";
	if (e == EINVAL)
		return "not a valid name in the state dir";
	return strerror(e);
}

/* Reports code, "PATH/rel: what: reason". */
static int
fail(const char *rel, const char *what, int e)
{
	char *abs = state_abs(rel);

	log_fail(EXIT_IO, "%s: %s%s%s", abs ? abs : rel, what, *what ? ": " : "", why(e));
	free(abs);
	return -1;
}

int
state_lock(void)
{
	struct stat st;
	int fd;

	fd = state_openat(".lock", O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return fail(".lock", "", errno);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(".lock", "not a regular file", EINVAL);
	}
	/* Held until exit: the descriptor is deliberately never closed. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err;

		if (errno == EWOULDBLOCK) {
			log_note("waiting for another drsjoin using %s", spath);
			log_progress_begin(0, "waiting for the lock");
		}
		err = flock(fd, LOCK_EX) < 0 ? errno : 0;
		log_progress_end();
		if (err != 0) {
			fail(".lock", "cannot lock", err);
			close(fd);
			return -1;
		}
	}
	return 0;
}

int
state_sync(const char *rel)
{
	int fd, rc = 0;

	if ((fd = state_openat(rel, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return fail(rel, "", errno);
	if (state_fsync_dir(fd) < 0 && errno != EINVAL)
		rc = fail(rel, "fsync", errno);
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Renames from to to in dfd unless to exists (EEXIST): renameat2() with
 * RENAME_NOREPLACE, atomic and leaving nothing behind. Where the file
 * system lacks it (EINVAL), linkat() then unlinkat() of from; if that
 * unlink fails the link is undone, so either from or to stands, never both.
 */
static int
rename_noreplace(int dfd, const char *from, const char *to)
{
	int err;

	if (syscall(SYS_renameat2, dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(dfd, from, dfd, to, 0) < 0)
		return -1;
	if (unlinkat(dfd, from, 0) < 0) {
		err = errno;
		unlinkat(dfd, to, 0);
		errno = err;
		return -1;
	}
	return 0;
}

#define WRITE_REPLACE	1	/* over an existing rel */
#define WRITE_NOSYNC	2	/* a cache: atomic, not made durable */

static int
write_file(const char *rel, const void *buf, size_t len, mode_t mode, int how)
{
	int replace = how & WRITE_REPLACE;
	char tmp[NAME_MAX + 1];
	const char *leaf;
	unsigned int r;
	int dfd, fd = -1, rc = -1, made = 0;

	if ((dfd = open_parent(rel, &leaf)) < 0)
		return fail(rel, "cannot create", errno);
	/* A random suffix: two writers of one name never share a temporary. */
	if (getentropy(&r, sizeof(r)) < 0)
		r = (unsigned int)getpid();
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%08x", leaf, r) >= sizeof(tmp)) {
		fail(rel, "cannot create", ENAMETOOLONG);
		goto out;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		fail(rel, "cannot create", errno);
		goto out;
	}
	made = 1;
	if (fchmod(fd, mode) < 0 || write_all(fd, buf, len) < 0 ||
	    (!(how & WRITE_NOSYNC) && fsync(fd) < 0)) {
		fail(rel, "cannot write", errno);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		fail(rel, "cannot write", errno);
		goto out;
	}
	fd = -1;
	if (replace) {
		if (renameat(dfd, tmp, dfd, leaf) < 0) {
			fail(rel, "cannot rename into place", errno);
			goto out;
		}
	} else {
		/* Never over an existing name: renameat() would replace it. */
		if (rename_noreplace(dfd, tmp, leaf) < 0) {
			if (errno == EEXIST) {
				char *abs = state_abs(rel);

				log_fail(EXIT_IO, "%s: already exists, not overwritten",
				    abs ? abs : rel);
				free(abs);
			} else {
				fail(rel, "cannot create", errno);
			}
			goto out;
		}
	}
	made = 0;
	rc = 0;
	/* The new file stands: a failed fsync now is reported, not undone. */
	if (!(how & WRITE_NOSYNC) && state_fsync_dir(dfd) < 0 && errno != EINVAL) {
		char *abs = state_abs(rel);

		log_warn("%s: written, but the fsync of its directory failed (%s): it "
		    "may not survive a power loss", abs ? abs : rel, strerror(errno));
		free(abs);
		rc = 1;
	}
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlinkat(dfd, tmp, 0);
	close(dfd);
	return rc;
}

int
state_replace(const char *rel, const void *buf, size_t len, mode_t mode)
{
	return write_file(rel, buf, len, mode, WRITE_REPLACE);
}

int
state_replace_cache(const char *rel, const void *buf, size_t len, mode_t mode)
{
	return write_file(rel, buf, len, mode, WRITE_REPLACE | WRITE_NOSYNC);
}

int
state_create(const char *rel, const void *buf, size_t len, mode_t mode)
{
	return write_file(rel, buf, len, mode, 0);
}

int
state_read(const char *rel, size_t max, char **buf, size_t *len)
{
	struct stat st;
	char *abs;
	int fd, rc;

	/* O_NONBLOCK: a FIFO planted here is refused below, never waited on. */
	if ((fd = state_openat(rel, O_RDONLY | O_NONBLOCK, 0)) < 0) {
		if (errno == ENOENT)
			return 1;
		return fail(rel, "", errno);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(rel, "not a regular file", EINVAL) ;
	}
	if ((abs = state_abs(rel)) == NULL) {
		close(fd);
		return -1;
	}
	rc = state_read_fd(fd, abs, max, EXIT_IO, buf, len);
	free(abs);
	close(fd);
	return rc;
}

int
state_mkdir(const char *rel)
{
	struct stat st;
	const char *leaf;
	int dfd, rc = 0;

	if ((dfd = open_parent(rel, &leaf)) < 0)
		return fail(rel, "cannot create", errno);
	if (mkdirat(dfd, leaf, 0700) < 0 && errno != EEXIST)
		rc = fail(rel, "cannot create", errno);
	else if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = fail(rel, "", errno);
	else if (S_ISLNK(st.st_mode))
		rc = fail(rel, "", ELOOP);
	else if (!S_ISDIR(st.st_mode))
		rc = fail(rel, "not a directory", EEXIST);
	close(dfd);
	return rc;
}

int
state_rename(const char *from, const char *to)
{
	const char *fl, *tl;
	char *af, *at;
	int fd1, fd2 = -1, rc = 0;

	if ((fd1 = open_parent(from, &fl)) < 0)
		return fail(from, "cannot rename", errno);
	if ((fd2 = open_parent(to, &tl)) < 0 || renameat(fd1, fl, fd2, tl) < 0) {
		int e = errno;

		af = state_abs(from);
		at = state_abs(to);
		rc = log_fail(EXIT_IO, "%s: cannot rename to %s: %s", af ? af : from,
		    at ? at : to, why(e));
		free(af);
		free(at);
	}
	close(fd1);
	if (fd2 >= 0)
		close(fd2);
	return rc;
}

int
state_unlink(const char *rel)
{
	const char *leaf;
	int dfd, rc, e;

	if ((dfd = open_parent(rel, &leaf)) < 0)
		return -1;
	rc = unlinkat(dfd, leaf, 0);
	e = errno;
	close(dfd);
	errno = e;
	return rc;
}

/* Empties the directory open at fd (which it closes), entry by entry. */
static int
remove_entries(int fd)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		sub = openat(dirfd(d), e->d_name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			if (remove_entries(sub) < 0 ||
			    unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
				rc = -1;
		} else if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

int
state_remove(const char *rel)
{
	const char *leaf;
	int dfd, fd, rc = 0;

	if ((dfd = open_parent(rel, &leaf)) < 0)
		return errno == ENOENT ? 0 : -1;
	fd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* A link or a file where a directory was: remove it, not its target. */
		if (errno != ENOENT && unlinkat(dfd, leaf, 0) < 0 && errno != ENOENT)
			rc = -1;
	} else if (remove_entries(fd) < 0 ||
	    (unlinkat(dfd, leaf, AT_REMOVEDIR) < 0 && errno != ENOENT)) {
		rc = -1;
	}
	close(dfd);
	return rc;
}

int
state_read_fd(int fd, const char *what, size_t max, int code, char **bufp, size_t *lenp)
{
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nbuf = malloc(cap + 1)) == NULL) {
				util_free_secret_buf(buf, len);
				return log_fail(EXIT_INTERNAL, "out of memory");
			}
			if (len > 0)
				memcpy(nbuf, buf, len);
			/* Inputs may be tokens: never leave a copy behind. */
			util_free_secret_buf(buf, len);
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			util_free_secret_buf(buf, len);
			return log_fail(code, "%s: cannot read: %s", what, strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			util_free_secret_buf(buf, len);
			return log_fail(code, "%s: larger than %zu bytes", what, max);
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

int
state_fd_path(const char *path)
{
	const char *n;

	if (strcmp(path, "/dev/stdin") == 0)
		return 1;
	if (strncmp(path, "/dev/fd/", 8) == 0)
		n = path + 8;
	else if (strncmp(path, "/proc/self/fd/", 14) == 0)
		n = path + 14;
	else
		return 0;
	if (*n == '\0' || strlen(n) > 9)
		return 0;
	for (; *n != '\0'; n++)
		if (*n < '0' || *n > '9')
			return 0;
	return 1;
}

int
state_is_stdin(const char *path)
{
	return path != NULL && (strcmp(path, "-") == 0 ||
	    strcmp(path, "/dev/stdin") == 0 || strcmp(path, "/dev/fd/0") == 0 ||
	    strcmp(path, "/proc/self/fd/0") == 0);
}

const char *
state_input_refused(const char *path, const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return NULL;
	/* A pipe the shell handed over (<(cmd), /dev/stdin): its writer runs. */
	if (S_ISFIFO(st->st_mode) && state_fd_path(path))
		return NULL;
	if (S_ISFIFO(st->st_mode))
		return "is a named pipe (FIFO), refused: give a regular file, - "
		    "for stdin, or <(command)";
	if (S_ISDIR(st->st_mode))
		return "is a directory, not a regular file";
	if (S_ISCHR(st->st_mode))
		return "is a character device, refused: give a regular file";
	if (S_ISBLK(st->st_mode))
		return "is a block device, refused: give a regular file";
	if (S_ISSOCK(st->st_mode))
		return "is a socket, refused: give a regular file";
	return "is not a regular file";
}

int
state_input_open(const char *path, int follow, const char *what, int code)
{
	struct stat st;
	const char *why;
	int fd, flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

	/*
	 * Non-blocking: opening a FIFO without a writer, or a device, must
	 * not wait. A descriptor path (/dev/fd/N, /dev/stdin) is a link to
	 * what the shell opened, so it is followed whatever follow says.
	 */
	fd = open(path, flags | (follow || state_fd_path(path) ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return log_fail(code, "%s: %s", what, errno == ELOOP && !follow &&
		    !state_fd_path(path) ? "is a symbolic link, refused" :
		    strerror(errno));
	if (fstat(fd, &st) < 0) {
		log_fail(code, "%s: %s", what, strerror(errno));
		close(fd);
		return -1;
	}
	if ((why = state_input_refused(path, &st)) != NULL) {
		log_fail(code, "%s: %s", what, why);
		close(fd);
		return -1;
	}
	/* A pipe is read to its end, as stdin is: block for its writer. */
	if (S_ISFIFO(st.st_mode) && fcntl(fd, F_SETFL,
	    fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		log_fail(code, "%s: %s", what, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* state_read_file and state_read_linked: open as an input, then read it all. */
static int
read_input(const char *path, int follow, const char *what, size_t max,
    int code, char **buf, size_t *len)
{
	int fd, rc;

	if ((fd = state_input_open(path, follow, what, code)) < 0)
		return -1;
	rc = state_read_fd(fd, what, max, code, buf, len);
	close(fd);
	return rc;
}

int
state_read_file(const char *path, size_t max, int code, char **buf, size_t *len)
{
	char shown[REDACT_ARG_BUF];

	/* The name as any argument is echoed: a token given as one is not. */
	return read_input(path, 0, redact_arg(path, shown, sizeof(shown)), max,
	    code, buf, len);
}

int
state_read_linked(const char *path, const char *what, size_t max, int code,
    char **buf, size_t *len)
{
	return read_input(path, 1, what, max, code, buf, len);
}
