/* proc.c - standard descriptors, no core dumps, secrets out of the environment. */
/* O_PATH */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "util.h"

static const char *const secret_vars[] = PROC_SECRET_VARS;
#define NSECRETS (sizeof(secret_vars) / sizeof(secret_vars[0]))
static char *secrets[NSECRETS];

static void
wipe_secrets(void)
{
	size_t i;

	for (i = 0; i < NSECRETS; i++) {
		util_free_secret(secrets[i]);
		secrets[i] = NULL;
	}
}

/*
 * Copies secret variable i (its first entry, as getenv() reads it), then
 * wipes the value of every entry of that name where it lies (an
 * environment may hold a name twice; unsetenv() drops every entry but
 * leaves the bytes, which /proc/PID/environ still shows) and unsets it.
 * -1 (reported) when out of memory, the values wiped all the same.
 */
static int
take_secret(size_t i)
{
	const char *name = secret_vars[i];
	size_t n = strlen(name);
	char **e, *v;
	int first = 1, rc = 0;

	for (e = environ; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, name, n) != 0 || (*e)[n] != '=')
			continue;
		v = *e + n + 1;
		if (first && *v != '\0' && secrets[i] == NULL &&
		    (secrets[i] = util_strdup(v)) == NULL)
			rc = -1;
		first = 0;
		util_wipe(v, strlen(v));
	}
	unsetenv(name);
	return rc;
}

int
proc_harden(void)
{
	struct rlimit no_core = { 0, 0 };
	size_t i;
	int fd, nomem = 0;

	/* Lowest free descriptor first: each open fills the gap it finds. */
	for (fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* Without /dev (a bare chroot), any descriptor that is no file of ours. */
		if ((n = open("/dev/null", O_RDWR)) < 0 &&
		    (n = open("/", O_PATH | O_DIRECTORY)) < 0)
			abort();	/* no stderr to say it on, and nothing safe to do */
		if (n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || setrlimit(RLIMIT_CORE, &no_core) < 0)
		return log_fail(EXIT_INTERNAL, "cannot disable core dumps: %s",
		    strerror(errno));
	for (i = 0; i < NSECRETS; i++)
		if (take_secret(i) < 0)
			nomem = 1;
	atexit(wipe_secrets);
	return nomem ? -1 : 0;
}

const char *
proc_secret_env(const char *name)
{
	size_t i;

	for (i = 0; i < NSECRETS; i++)
		if (strcmp(name, secret_vars[i]) == 0)
			return secrets[i];
	return NULL;
}
