/*
 * test_proc.c - the process hardening done first thing in main.
 * Defects replayed (issue 10): with fd 1 or 2 closed at start, output
 * landed in the state dir's lock file; DRSJOIN_TOKEN stayed in the
 * environment (/proc/PID/environ) for the whole run; core dumps were on.
 * Issue 16: a name given twice kept its second value where it was.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "tap.h"

extern char **environ;	/* declared by unistd.h only for _GNU_SOURCE */

/* In a child with fds 0-2 closed: are they /dev/null after proc_harden? */
static int
closed_fds_child(void)
{
	struct stat st, null;
	int fd, fl;

	close(0);
	close(1);
	close(2);
	if (proc_harden() < 0 || stat("/dev/null", &null) < 0)
		return 10;
	for (fd = 0; fd <= 2; fd++) {
		if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != null.st_rdev)
			return 20 + fd;
		if ((fl = fcntl(fd, F_GETFL)) < 0 || (fl & O_ACCMODE) != O_RDWR)
			return 30 + fd;
	}
	/* The next file opened does not become stdout. */
	if ((fd = open("/dev/zero", O_RDONLY)) <= 2)
		return 40;
	return 0;
}

/*
 * In a child whose environment names DRSJOIN_TOKEN and DRSJOIN_BPRT twice
 * (execve() takes such an array; a shell's env cannot make one): is every
 * copy wiped, and the first one kept, as getenv() would read it?
 */
static int
twice_child(void)
{
	static char t1[] = "DRSJOIN_TOKEN=eyJfirst.e30.c2ln";
	static char home[] = "HOME=/root";
	static char t2[] = "DRSJOIN_TOKEN=eyJsecond.e30.c2ln";
	static char b1[] = "DRSJOIN_BPRT=";
	static char b2[] = "DRSJOIN_BPRT=bprtSECOND";
	static char t3[] = "DRSJOIN_TOKEN=eyJthird.e30.c2ln";
	static char *env[] = { t1, home, t2, b1, b2, t3, NULL };
	const char *v;

	environ = env;
	if (proc_harden() < 0)
		return 10;
	if (strstr(t1, "first") != NULL || strstr(t2, "second") != NULL ||
	    strstr(t3, "third") != NULL || strstr(b2, "SECOND") != NULL)
		return 20;	/* a copy left where it was */
	if (getenv("DRSJOIN_TOKEN") != NULL || getenv("DRSJOIN_BPRT") != NULL)
		return 30;
	if ((v = proc_secret_env("DRSJOIN_TOKEN")) == NULL ||
	    strcmp(v, "eyJfirst.e30.c2ln") != 0)
		return 40;
	/* The first BPRT is empty, so none, as getenv() would say. */
	if (proc_secret_env("DRSJOIN_BPRT") != NULL)
		return 50;
	if ((v = getenv("HOME")) == NULL || strcmp(v, "/root") != 0)
		return 60;
	return 0;
}

int
main(void)
{
	static char tok[] = "DRSJOIN_TOKEN=eyJhbGciOiJSUzI1NiJ9.e30.c2ln";
	static char rt[] = "DRSJOIN_REFRESH_TOKEN=0.AAAArefresh";
	static char empty[] = "DRSJOIN_BPRT=";
	struct rlimit rl;
	pid_t pid;
	int status = -1;

	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(closed_fds_child());
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "closed fds 0-2 are opened on /dev/null, read-write (child said %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(twice_child());
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a name given twice: every copy wiped, the first kept (child said %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	putenv(tok);
	putenv(rt);
	putenv(empty);
	CHECK(proc_harden() == 0, "proc_harden");
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "not dumpable");
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0,
	    "no core file size");
	CHECK(getenv("DRSJOIN_TOKEN") == NULL && getenv("DRSJOIN_REFRESH_TOKEN") == NULL &&
	    getenv("DRSJOIN_BPRT") == NULL, "the secret variables are unset");
	CHECK(strstr(tok, "eyJ") == NULL && strstr(rt, "refresh") == NULL,
	    "their values are wiped where they were");
	CHECK(proc_secret_env("DRSJOIN_TOKEN") != NULL &&
	    strcmp(proc_secret_env("DRSJOIN_TOKEN"), "eyJhbGciOiJSUzI1NiJ9.e30.c2ln") == 0 &&
	    strcmp(proc_secret_env("DRSJOIN_REFRESH_TOKEN"), "0.AAAArefresh") == 0,
	    "drsjoin still has the values");
	CHECK(proc_secret_env("DRSJOIN_BPRT") == NULL, "an empty variable is no value");
	CHECK(proc_secret_env("HOME") == NULL, "other variables are not secrets");
	return tap_done();
}
