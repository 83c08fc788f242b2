/* test_state.c - atomic, exclusive, private files in the state dir. */
#include <dirent.h>
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

static char dir[64];

static char *
path(const char *name)
{
	return util_asprintf("%s/%s", dir, name);
}

/* Entries in dir whose name contains ".tmp-": leftovers of a failed write. */
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

int
main(void)
{
	char *a = NULL, *b = NULL, *buf = NULL, *err = NULL, *ro = NULL, *sub = NULL;
	struct stat st;
	size_t len = 0;
	int rc;

	strcpy(dir, "/tmp/drsjoin-state-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return 1;
	}
	a = path("key.pem");
	b = path("link.pem");

	CHECK(state_write_new(a, "secret\n", 7, 0600) == 0, "write_new creates a file");
	CHECK(stat(a, &st) == 0 && (st.st_mode & 0777) == 0600, "created 0600");
	CHECK(temporaries(dir) == 0, "no temporary left after a write");

	log_reset();
	capture_begin();
	rc = state_write_new(a, "other\n", 6, 0600);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_IO &&
	    has(err, "key.pem: already exists, not overwritten"), err,
	    "write_new never overwrites a key");
	free(err);
	CHECK(state_read_file(a, 100, EXIT_IO, &buf, &len) == 0 && len == 7 &&
	    strcmp(buf, "secret\n") == 0, "the key is unchanged");
	free(buf);
	CHECK(temporaries(dir) == 0, "no temporary left after a refused write");

	CHECK(state_write_atomic(a, "new\n", 4, 0600) == 0 &&
	    state_read_file(a, 100, EXIT_IO, &buf, &len) == 0 && strcmp(buf, "new\n") == 0,
	    "write_atomic replaces");
	free(buf);

	/* Reading through a symbolic link is refused (O_NOFOLLOW). */
	CHECK(symlink(a, b) == 0, "symlink made");
	log_reset();
	capture_begin();
	rc = state_read_file(b, 100, EXIT_INPUT, &buf, &len);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_INPUT &&
	    has(err, "link.pem: is a symbolic link, refused"), err, "a symlink is not read");
	free(err);

	/* Too large. */
	log_reset();
	capture_begin();
	rc = state_read_file(a, 2, EXIT_INPUT, &buf, &len);
	err = capture_end();
	CHECK_ERR(rc == -1 && has(err, "key.pem: larger than 2 bytes"), err,
	    "a file over the limit is refused");
	free(err);

	/* A directory we cannot write to: error names it, nothing is left. */
	ro = path("ro");
	sub = util_asprintf("%s/file", ro);
	mkdir(ro, 0500);
	if (geteuid() == 0) {
		SKIP("unwritable directory: root writes anywhere");
	} else {
		log_reset();
		capture_begin();
		rc = state_write_atomic(sub, "x", 1, 0600);
		err = capture_end();
		CHECK_ERR(rc == -1 && log_exit_code() == EXIT_IO &&
		    has(err, "cannot create"), err, "write into an unwritable dir fails");
		free(err);
	}
	/* A path through a regular file: fails for everyone, root too. */
	log_reset();
	free(sub);
	sub = util_asprintf("%s/sub/file", a);
	capture_begin();
	rc = state_write_atomic(sub, "x", 1, 0600);
	err = capture_end();
	CHECK_ERR(rc == -1 && log_exit_code() == EXIT_IO && has(err, "cannot create") &&
	    lines(err) == 1, err, "write under a non-directory fails with one line");
	free(err);

	/* mkdir_private refuses a symlink where the dir should be. */
	log_reset();
	capture_begin();
	rc = state_mkdir_private(b);
	err = capture_end();
	CHECK_ERR(rc == -1 && has(err, "not a directory (a symbolic link, refused)"),
	    err, "mkdir_private refuses a symlink");
	free(err);
	free(sub);
	sub = path("x/y/z");
	CHECK(state_mkdir_private(sub) == 0 && stat(sub, &st) == 0 &&
	    (st.st_mode & 0777) == 0700, "mkdir_private makes parents, the leaf 0700");

	/* A link where a tree should be: the link goes, its target stays. */
	free(ro);
	ro = path("link-to-x");
	CHECK(symlink(sub, ro) == 0 && state_remove_tree(ro) == 0 &&
	    access(ro, F_OK) != 0 && access(sub, F_OK) == 0,
	    "remove_tree removes a link, never what it points at");
	free(ro);
	ro = path("x/y/z/link");
	CHECK(symlink(dir, ro) == 0, "a link inside the tree to its top");
	CHECK(state_remove_tree(dir) == 0 && access(dir, F_OK) != 0,
	    "remove_tree removes everything");
	free(a);
	free(b);
	free(ro);
	free(sub);
	return tap_done();
}
