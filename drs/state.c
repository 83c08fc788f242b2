/* state.c - atomic, private files in the state directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "util.h"

static char *
dir_of(const char *path)
{
	char *d;
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return util_strdup(".");
	if (slash == path)
		return util_strdup("/");
	if ((d = strndup(path, (size_t)(slash - path))) == NULL)
		log_fail(EXIT_INTERNAL, "out of memory");
	return d;
}

int
state_sync_dir(const char *dir)
{
	int fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return log_fail(EXIT_IO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = log_fail(EXIT_IO, "%s: fsync: %s", dir, strerror(errno));
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

static int
write_file(const char *path, const void *buf, size_t len, mode_t mode, int replace)
{
	char *tmp = NULL, *dir = NULL;
	int fd = -1, rc = -1;
	unsigned int r;

	if ((dir = dir_of(path)) == NULL)
		goto out;
	/* A random suffix: two writers of one name never share a temporary. */
	if (getentropy(&r, sizeof(r)) < 0)
		r = (unsigned int)getpid();
	if ((tmp = util_asprintf("%s.tmp-%08x", path, r)) == NULL)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		log_fail(EXIT_IO, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) < 0 || write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		log_fail(EXIT_IO, "%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		log_fail(EXIT_IO, "%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (replace) {
		if (rename(tmp, path) < 0) {
			log_fail(EXIT_IO, "%s: cannot rename into place: %s", path,
			    strerror(errno));
			goto out;
		}
	} else {
		/* link() fails on an existing name: rename() would replace it. */
		if (link(tmp, path) < 0) {
			log_fail(EXIT_IO, "%s: %s", path, errno == EEXIST ?
			    "already exists, not overwritten" : strerror(errno));
			goto out;
		}
		unlink(tmp);
	}
	free(tmp);
	tmp = NULL;
	rc = state_sync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}

int
state_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	return write_file(path, buf, len, mode, 1);
}

int
state_write_new(const char *path, const void *buf, size_t len, mode_t mode)
{
	return write_file(path, buf, len, mode, 0);
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
state_read_file(const char *path, size_t max, int code, char **buf, size_t *len)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_fail(code, "%s: %s", path, errno == ELOOP ?
		    "is a symbolic link, refused" : strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return log_fail(code, "%s: not a regular file", path);
	}
	rc = state_read_fd(fd, path, max, code, buf, len);
	close(fd);
	return rc;
}

int
state_mkdir_private(const char *dir)
{
	struct stat st;
	char *copy, *p;
	int rc = 0;

	if ((copy = util_strdup(dir)) == NULL)
		return -1;
	/* Parents may be shared (/var/lib): create them 0755, the leaf 0700. */
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
			rc = log_fail(EXIT_IO, "%s: cannot create: %s", copy, strerror(errno));
			goto out;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = log_fail(EXIT_IO, "%s: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	if (lstat(dir, &st) < 0) {
		rc = log_fail(EXIT_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		rc = log_fail(EXIT_IO, "%s: not a directory%s", dir,
		    S_ISLNK(st.st_mode) ? " (a symbolic link, refused)" : "");
out:
	free(copy);
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
state_remove_tree(const char *dir)
{
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* A link or a file where a directory was: remove it, not its target. */
		return unlink(dir) < 0 && errno != ENOENT ? -1 : 0;
	}
	if (remove_entries(fd) < 0)
		return -1;
	return rmdir(dir) < 0 && errno != ENOENT ? -1 : 0;
}

int
state_lock(const char *dir)
{
	char *path;
	int fd, err;

	if ((path = util_asprintf("%s/.lock", dir)) == NULL)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_fail(EXIT_IO, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* Held until exit: the descriptor is deliberately never closed. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			log_note("waiting for another drsjoin using %s", dir);
			log_progress_begin(0, "waiting for the lock");
		}
		err = flock(fd, LOCK_EX) < 0 ? errno : 0;
		log_progress_end();
		if (err != 0) {
			errno = err;
			log_fail(EXIT_IO, "%s: cannot lock: %s", path, strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
	}
	free(path);
	return 0;
}
