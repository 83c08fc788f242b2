/*
 * test_state.c - the state dir: checked like OpenSSH's safe_path, used
 * through one descriptor, no symbolic link followed, atomic private files.
 * Attack replayed (issue 10): a symlink planted inside the state dir
 * ("ln -s /some/dir st/identity") made drsjoin write into or empty its target.
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
#include "log.h"
#include "state.h"
#include "tap.h"
#include "util.h"

static char top[64];

static char *
path(const char *name)
{
	return util_asprintf("%s/%s", top, name);
}

/* Entries in d whose name contains ".tmp-": leftovers of a failed write. */
static int
temporaries(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	int n = 0;

	while (dd != NULL && (e = readdir(dd)) != NULL)
		n += strstr(e->d_name, ".tmp-") != NULL;
	if (dd != NULL)
		closedir(dd);
	return n;
}

static int failing_fsync_calls;

static int
failing_fsync(int fd)
{
	(void)fd;
	failing_fsync_calls++;
	errno = EIO;
	return -1;
}

/* state_open(dir, create) with stderr captured: rc, and *err. */
static int
open_captured(const char *dir, int create, char **err)
{
	int rc;

	log_reset();
	capture_begin();
	rc = state_open(dir, create);
	*err = capture_end();
	return rc;
}

static void
test_absolute(void)
{
	char cwd[4096], *s, *want;

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
	s = state_absolute("/var//lib/./drsjoin/");
	CHECK(s != NULL && strcmp(s, "/var/lib/drsjoin") == 0, "absolute: one spelling");
	free(s);
	s = state_absolute("/a/b/../c/..");
	CHECK(s != NULL && strcmp(s, "/a") == 0, "absolute: .. taken lexically");
	free(s);
	s = state_absolute("/../..");
	CHECK(s != NULL && strcmp(s, "/") == 0, "absolute: .. stops at /");
	free(s);
	/* Replays: a relative --state-dir was stored relative in device.json. */
	s = state_absolute("st");
	want = util_asprintf("%s/st", strcmp(cwd, "/") == 0 ? "" : cwd);
	CHECK(s != NULL && want != NULL && strcmp(s, want) == 0,
	    "absolute: a relative dir is made absolute");
	free(s);
	free(want);
}

static void
test_open(void)
{
	char *d = NULL, *err = NULL, *p = NULL;
	struct stat st;
	int rc;

	/* Created with parents; the dir itself 0700. */
	d = path("new/state");
	rc = open_captured(d, 1, &err);
	CHECK_ERR(rc == 0 && stat(d, &st) == 0 && (st.st_mode & 0777) == 0700,
	    err, "open creates the dir 0700 (under sticky /tmp: accepted)");
	CHECK(state_path() != NULL && strcmp(state_path(), d) == 0, "state_path is the dir");
	free(err);
	free(d);

	d = path("absent");
	rc = open_captured(d, 0, &err);
	CHECK_ERR(rc == 1 && access(d, F_OK) != 0 && *err == '\0', err,
	    "open without create: 1 for a missing dir, nothing made, nothing said");
	free(err);
	free(d);

	/* Group- or world-writable: refused, naming the path and the reason. */
	d = path("gw");
	mkdir(d, 0700);
	chmod(d, 0770);
	rc = open_captured(d, 1, &err);
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_IO && has(err, d) &&
	    has(err, "writable by its group (mode 0770)") && lines(err) == 1, err,
	    "a group-writable state dir is refused (exit 7, path, reason)");
	free(err);
	chmod(d, 01777);
	rc = open_captured(d, 1, &err);
	CHECK_ERR(rc == -1 && has(err, "writable by others"), err,
	    "a sticky world-writable state dir itself is refused");
	free(err);
	free(p);
	p = util_asprintf("%s/sub", d);
	rc = open_captured(p, 1, &err);
	CHECK_ERR(rc == 0 || geteuid() != 0, err,
	    "a root-owned sticky parent (like /tmp) is accepted");
	free(err);
	chmod(d, 0777);
	rc = open_captured(p, 1, &err);
	CHECK_ERR(rc == -1 && has(err, "writable by others (mode 0777)") &&
	    has(err, d), err, "a world-writable parent without the sticky bit is refused");
	free(err);
	free(d);
	free(p);
	p = NULL;

	/* Owned by someone else: refused (root can give it away to test). */
	d = path("other");
	mkdir(d, 0700);
	if (geteuid() != 0 || chown(d, 12345, 12345) < 0) {
		SKIP("a dir owned by another user: needs root");
	} else {
		rc = open_captured(d, 1, &err);
		CHECK_ERR(rc == -1 && has(err, "owned by uid 12345"), err,
		    "a state dir owned by another user is refused");
		free(err);
		p = util_asprintf("%s/inside", d);
		chmod(d, 0755);
		rc = open_captured(p, 1, &err);
		CHECK_ERR(rc == -1 && has(err, "owned by uid 12345") && access(p, F_OK) != 0,
		    err, "a parent owned by another user is refused, nothing created");
		free(err);
	}
	free(d);
	free(p);
	p = NULL;

	/* A symbolic link anywhere in the path is refused. */
	d = path("real");
	mkdir(d, 0700);
	p = path("link");
	symlink(d, p);
	rc = open_captured(p, 1, &err);
	CHECK_ERR(rc == -1 && has(err, "a symbolic link, refused"), err,
	    "a state dir that is a link is refused");
	free(err);
	free(d);
	d = util_asprintf("%s/sub", p);
	rc = open_captured(d, 1, &err);
	CHECK_ERR(rc == -1 && has(err, "a symbolic link, refused") && has(err, p), err,
	    "a link among the parents is refused, naming it");
	free(err);
	free(d);
	free(p);

	/* A file where a directory should be. */
	p = path("file");
	close(open(p, O_CREAT | O_WRONLY, 0600));
	rc = open_captured(p, 1, &err);
	CHECK_ERR(rc == -1 && has(err, "not a directory"), err, "a file is not a state dir");
	free(err);
	d = util_asprintf("%s/sub", p);
	rc = open_captured(d, 1, &err);
	CHECK_ERR(rc == -1 && has(err, "not a directory") && lines(err) == 1, err,
	    "a state dir under a file: one line");
	free(err);
	free(d);
	free(p);
}

static void
test_files(void)
{
	char *d = path("files"), *err = NULL, *buf = NULL, *outside = NULL, *p = NULL;
	struct stat st;
	size_t len = 0;
	int rc;

	CHECK(open_captured(d, 1, &err) == 0, "open the files dir");
	free(err);

	CHECK(state_create("key.pem", "secret\n", 7, 0600) == 0, "create makes a file");
	p = util_asprintf("%s/key.pem", d);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "created 0600");
	CHECK(temporaries(d) == 0, "no temporary left after a write");

	log_reset();
	capture_begin();
	rc = state_create("key.pem", "other\n", 6, 0600);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_IO &&
	    has(err, "key.pem: already exists, not overwritten") && has(err, d), err,
	    "create never overwrites a key, names the absolute path");
	free(err);
	CHECK(state_read("key.pem", 100, &buf, &len) == 0 && len == 7 &&
	    strcmp(buf, "secret\n") == 0, "the key is unchanged");
	free(buf);
	buf = NULL;
	CHECK(temporaries(d) == 0, "no temporary left after a refused write");

	CHECK(state_replace("key.pem", "new\n", 4, 0600) == 0 &&
	    state_read("key.pem", 100, &buf, &len) == 0 && strcmp(buf, "new\n") == 0,
	    "replace replaces");
	free(buf);
	buf = NULL;
	CHECK(state_read("absent", 100, &buf, &len) == 1, "read: 1 for a missing file");

	/* fsync of the directory fails after the rename: the new file stands. */
	state_fsync_dir = failing_fsync;
	log_reset();
	capture_begin();
	rc = state_replace("key.pem", "newer\n", 6, 0600);
	err = capture_end();
	state_fsync_dir = fsync;
	CHECK_ERR(rc == 1 && failing_fsync_calls == 1 && has(err, "may not survive") &&
	    state_read("key.pem", 100, &buf, &len) == 0 && strcmp(buf, "newer\n") == 0,
	    err, "a failed directory fsync after the rename: reported, file kept");
	free(err);
	free(buf);
	buf = NULL;

	/* Links inside the state dir are never followed. */
	outside = path("outside");
	mkdir(outside, 0700);
	free(p);
	p = util_asprintf("%s/ln", d);
	symlink(outside, p);
	log_reset();
	capture_begin();
	rc = state_create("ln/key.pem", "x", 1, 0600);
	err = capture_end();
	free(p);
	p = util_asprintf("%s/key.pem", outside);
	CHECK_ERR(rc == -1 && has(err, "a symbolic link, refused") && access(p, F_OK) != 0,
	    err, "no write through a linked directory");
	free(err);
	CHECK(state_replace("ln", "x", 1, 0600) == 0 && lstat(outside, &st) == 0 &&
	    S_ISDIR(st.st_mode), "replace over a link replaces the link, not its target");
	free(p);
	p = util_asprintf("%s/ln2", d);
	symlink("key.pem", p);
	log_reset();
	capture_begin();
	rc = state_read("ln2", 100, &buf, &len);
	err = capture_end();
	CHECK_ERR(rc == -1 && has(err, "ln2: a symbolic link, refused"), err,
	    "a link is not read");
	free(err);
	{
		static const char *const bad[] = { "../files/key.pem", "/etc/passwd",
		    "a//b", "", "x/..", "x/.", "./key.pem", "key.pem/" };
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			errno = 0;
			rc = state_openat(bad[i], O_RDONLY, 0);
			CHECK(rc < 0 && errno == EINVAL, "the name '%s' is refused", bad[i]);
		}
	}

	/* Too large. */
	log_reset();
	capture_begin();
	rc = state_read("key.pem", 2, &buf, &len);
	err = capture_end();
	CHECK_ERR(rc == -1 && has(err, "key.pem: larger than 2 bytes"), err,
	    "a file over the limit is refused");
	free(err);

	/* mkdir refuses a link where the dir should be, makes 0700. */
	free(p);
	p = util_asprintf("%s/ln3", d);
	symlink(outside, p);
	log_reset();
	capture_begin();
	rc = state_mkdir("ln3");
	err = capture_end();
	CHECK_ERR(rc == -1 && has(err, "a symbolic link, refused"), err,
	    "mkdir refuses a link");
	free(err);
	CHECK(state_mkdir("x") == 0 && state_mkdir("x/y") == 0 && state_mkdir("x") == 0 &&
	    state_lstat("x/y", &st) == 0 && (st.st_mode & 0777) == 0700,
	    "mkdir makes 0700, an existing dir is fine");
	CHECK(state_rename("x/y", "x/z") == 0 && state_lstat("x/z", &st) == 0,
	    "rename");

	/* Removal: a link goes, its target stays; a link inside a tree too. */
	close(open(p, O_RDONLY));
	free(p);
	p = util_asprintf("%s/keep", outside);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	buf = util_asprintf("%s/x/z/link", d);
	symlink(outside, buf);
	CHECK(state_remove("ln3") == 0 && access(p, F_OK) == 0,
	    "remove of a link leaves its target");
	CHECK(state_remove("x") == 0 && state_lstat("x", &st) < 0 && access(p, F_OK) == 0,
	    "remove of a tree never follows the links in it");
	CHECK(state_lock() == 0, "lock");
	free(buf);
	free(outside);
	free(p);
	free(d);
}

/* The input rule (state.h): which paths are descriptor paths and stdin. */
static void
test_inputs(void)
{
	static const char *const fd_paths[] = { "/dev/stdin", "/dev/fd/0",
	    "/dev/fd/63", "/proc/self/fd/9", NULL };
	static const char *const not_fd[] = { "/dev/fd/", "/dev/fd/x",
	    "/dev/fd/1/x", "/dev/fd/1234567890", "/dev/stdinx", "/tmp/dev/fd/3",
	    "/proc/1/fd/3", "/dev/zero", "-", NULL };
	static const char *const stdin_paths[] = { "-", "/dev/stdin", "/dev/fd/0",
	    "/proc/self/fd/0", NULL };
	int pipefd[2], fd, ok = 1;
	char *f = path("named-fifo"), *err = NULL, *buf = NULL, fdp[32];
	size_t i, len = 0;

	for (i = 0; fd_paths[i] != NULL; i++)
		ok &= state_fd_path(fd_paths[i]) == 1;
	for (i = 0; not_fd[i] != NULL; i++)
		ok &= state_fd_path(not_fd[i]) == 0;
	CHECK(ok, "descriptor paths: /dev/stdin, /dev/fd/N, /proc/self/fd/N only");
	ok = state_is_stdin(NULL) == 0 && state_is_stdin("/dev/fd/1") == 0;
	for (i = 0; stdin_paths[i] != NULL; i++)
		ok &= state_is_stdin(stdin_paths[i]) == 1;
	CHECK(ok, "stdin: -, /dev/stdin, /dev/fd/0, /proc/self/fd/0");

	/* A named FIFO without a writer: refused at once. */
	CHECK(f != NULL && mkfifo(f, 0600) == 0, "mkfifo");
	log_reset();
	capture_begin();
	fd = state_input_open(f, 0, f, EXIT_INPUT);
	err = capture_end();
	CHECK_ERR(fd == -1 && log_exit_code() == EXIT_INPUT &&
	    has(err, "is a named pipe (FIFO), refused") && has(err, f), err,
	    "a named FIFO is refused, naming it");
	free(err);
	/* The same pipe through a descriptor path: read to its end. */
	if (pipe(pipefd) == 0) {
		if (write(pipefd[1], "{\"a\":1}", 7) != 7)
			CHECK(0, "write the pipe");
		close(pipefd[1]);
		snprintf(fdp, sizeof(fdp), "/dev/fd/%d", pipefd[0]);
		CHECK(state_read_file(fdp, 100, EXIT_INPUT, &buf, &len) == 0 &&
		    len == 7 && strcmp(buf, "{\"a\":1}") == 0,
		    "a pipe named /dev/fd/N is read to its end");
		free(buf);
		close(pipefd[0]);
	}
	log_reset();
	capture_begin();
	fd = state_input_open("/dev/zero", 1, "/dev/zero", EXIT_INPUT);
	err = capture_end();
	CHECK_ERR(fd == -1 && has(err, "/dev/zero: is a character device, refused"),
	    err, "a character device is refused, even with links followed");
	free(err);
	unlink(f);
	free(f);
}

int
main(void)
{
	strcpy(top, "/tmp/drsjoin-state-XXXXXX");
	if (mkdtemp(top) == NULL) {
		CHECK(0, "mkdtemp");
		return 1;
	}
	test_absolute();
	test_open();
	test_files();
	test_inputs();
	/* Clean up with the code under test, from a fresh descriptor. */
	if (state_open(top, 0) == 0) {
		DIR *dd = opendir(top);
		struct dirent *e;

		while (dd != NULL && (e = readdir(dd)) != NULL)
			if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
				state_remove(e->d_name);
		if (dd != NULL)
			closedir(dd);
	}
	rmdir(top);
	return tap_done();
}
