/* test_cabundle.c - which CA bundle is used, and the errors when none is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cabundle.h"
#include "fixture.h"
#include "log.h"
#include "tap.h"

static char dir[64];

/*
 * A -v line without "drsjoin: " and its timestamp ("2026-11-26T13:15:59.584Z ");
 * "" when it has no such prefix.
 */
static const char *
untimed(const char *line)
{
	size_t i;

	if (strncmp(line, "drsjoin: ", 9) != 0 || strlen(line) < 9 + 25)
		return "";
	for (i = 9; i < 9 + 23; i++)
		if (strchr("0123456789-T:.", line[i]) == NULL)
			return "";
	return line[9 + 23] == 'Z' && line[9 + 24] == ' ' ? line + 9 + 25 : "";
}
static char good[128], good2[128], empty[128], sub[128], missing[128];
static char unreadable[128], fifo[128];

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
setup(void)
{
	strcpy(dir, "/tmp/drsjoin-cabundle-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(good, sizeof(good), "%s/ca-certificates.crt", dir);
	snprintf(good2, sizeof(good2), "%s/tls-ca-bundle.pem", dir);
	snprintf(empty, sizeof(empty), "%s/empty.pem", dir);
	snprintf(sub, sizeof(sub), "%s/certs", dir);
	snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
	snprintf(unreadable, sizeof(unreadable), "%s/unreadable.pem", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.pem", dir);
	if (write_file(good, "-----BEGIN CERTIFICATE-----\n") < 0 ||
	    write_file(good2, "-----BEGIN CERTIFICATE-----\n") < 0 ||
	    write_file(empty, "") < 0 ||
	    write_file(unreadable, "-----BEGIN CERTIFICATE-----\n") < 0 ||
	    chmod(unreadable, 0) < 0 || mkdir(sub, 0755) < 0 ||
	    mkfifo(fifo, 0600) < 0)
		return -1;
	return 0;
}

static void
cleanup(void)
{
	unlink(good);
	unlink(good2);
	unlink(empty);
	unlink(unreadable);
	unlink(fifo);
	rmdir(sub);
	rmdir(dir);
}

/* A successful find: the path, the source, and nothing on stderr. */
static void
expect_found(const char *name, const char *cacert, const char *env,
    const char *const *cand, const char *want, enum cabundle_source wsrc)
{
	enum cabundle_source src = (enum cabundle_source)-1;
	const char *got;
	char *err;

	log_reset();
	capture_begin();
	got = cabundle_find(cacert, env, cand, &src);
	err = capture_end();
	CHECK_ERR(got != NULL && strcmp(got, want) == 0 && src == wsrc &&
	    err != NULL && err[0] == '\0', err, "%s", name);
	free(err);
}

/* A failed find: NULL, EXIT_INPUT, exactly the one line want. */
static void
expect_error(const char *name, const char *cacert, const char *env,
    const char *const *cand, const char *want)
{
	const char *got;
	char *err;

	log_reset();
	capture_begin();
	got = cabundle_find(cacert, env, cand, NULL);
	err = capture_end();
	CHECK_ERR(got == NULL && log_exit_code() == EXIT_INPUT && err != NULL &&
	    strcmp(err, want) == 0, err, "%s", name);
	if (err != NULL && strcmp(err, want) != 0)
		fprintf(stderr, "  want: %s", want);
	free(err);
}

int
main(void)
{
	char want[2048], *err;
	const char *got;
	size_t i;

	if (setup() < 0) {
		CHECK(0, "set up a temporary directory");
		cleanup();
		return tap_done();
	}
	{
		const char *const order[] = { missing, empty, sub, good, good2,
		    NULL };
		const char *const order2[] = { good2, good, NULL };
		const char *const none[] = { missing, empty, sub, NULL };
		const char *const nothing[] = { NULL };

		expect_found("the first usable candidate is taken (missing, "
		    "empty and directory skipped)", NULL, NULL, order, good,
		    CABUNDLE_SYSTEM);
		expect_found("candidates are tried in order", NULL, NULL, order2,
		    good2, CABUNDLE_SYSTEM);
		expect_found("SSL_CERT_FILE comes before the candidates", NULL,
		    good2, order, good2, CABUNDLE_ENV);
		expect_found("--cacert comes before SSL_CERT_FILE", good, good2,
		    order2, good, CABUNDLE_OPTION);
		expect_found("an empty SSL_CERT_FILE is as if unset", NULL, "",
		    order2, good2, CABUNDLE_SYSTEM);

		snprintf(want, sizeof(want), "drsjoin: --cacert %s: No such "
		    "file or directory\n", missing);
		expect_error("a missing --cacert is an error naming it, no "
		    "fall-back", missing, good, order, want);
		snprintf(want, sizeof(want), "drsjoin: --cacert %s: is a "
		    "directory, expected a PEM file\n", sub);
		expect_error("a --cacert directory is an error", sub, NULL, order,
		    want);
		snprintf(want, sizeof(want), "drsjoin: --cacert %s: is empty\n",
		    empty);
		expect_error("an empty --cacert is an error", empty, NULL, order,
		    want);
		snprintf(want, sizeof(want), "drsjoin: SSL_CERT_FILE %s: No such "
		    "file or directory\n", missing);
		expect_error("a missing SSL_CERT_FILE is an error naming it, no "
		    "fall-back", NULL, missing, order, want);
		expect_error("--cacert /dev/null: a device, refused", "/dev/null",
		    NULL, order, "drsjoin: --cacert /dev/null: is a character "
		    "device, refused: give a regular file\n");
		/* No writer will ever come: refused at once, not waited for. */
		snprintf(want, sizeof(want), "drsjoin: --cacert %s: is a named "
		    "pipe (FIFO), refused: give a regular file, - for stdin, or "
		    "<(command)\n", fifo);
		expect_error("a named FIFO as --cacert is refused, no wait", fifo,
		    NULL, order, want);
		{
			const char *const with_fifo[] = { fifo, good, NULL };

			expect_found("a named FIFO among the system paths is "
			    "skipped", NULL, NULL, with_fifo, good,
			    CABUNDLE_SYSTEM);
		}
		if (geteuid() == 0) {
			SKIP("an unreadable --cacert is an error: running as "
			    "root, which reads anything");
		} else {
			snprintf(want, sizeof(want), "drsjoin: --cacert %s: "
			    "Permission denied\n", unreadable);
			expect_error("an unreadable --cacert is an error",
			    unreadable, NULL, order, want);
		}

		snprintf(want, sizeof(want), "drsjoin: no CA bundle found (tried "
		    "%s, %s, %s); install the system's CA certificates package, "
		    "or give --cacert FILE or SSL_CERT_FILE\n", missing, empty,
		    sub);
		expect_error("none found: the message lists every path tried",
		    NULL, NULL, none, want);
		expect_error("an empty candidate list", NULL, NULL, nothing,
		    "drsjoin: no CA bundle found (tried no paths); install the "
		    "system's CA certificates package, or give --cacert FILE or "
		    "SSL_CERT_FILE\n");

		/* -v names the bundle used. */
		log_level = 2;
		log_reset();
		capture_begin();
		got = cabundle_find(NULL, NULL, order, NULL);
		err = capture_end();
		snprintf(want, sizeof(want), "CA bundle: %s (system)\n",
		    good);
		CHECK_ERR(got != NULL && err != NULL && strcmp(untimed(err), want) == 0,
		    err, "-v names the system bundle used");
		free(err);
		capture_begin();
		got = cabundle_find(good2, NULL, order, NULL);
		err = capture_end();
		snprintf(want, sizeof(want), "CA bundle: %s (from "
		    "--cacert)\n", good2);
		CHECK_ERR(got != NULL && err != NULL && strcmp(untimed(err), want) == 0,
		    err, "-v names the --cacert bundle");
		free(err);
		capture_begin();
		got = cabundle_find(NULL, good, order, NULL);
		err = capture_end();
		snprintf(want, sizeof(want), "CA bundle: %s (from "
		    "SSL_CERT_FILE)\n", good);
		CHECK_ERR(got != NULL && err != NULL && strcmp(untimed(err), want) == 0,
		    err, "-v names the SSL_CERT_FILE bundle");
		free(err);
		log_level = 1;
	}

	/* The built-in list: the distributions' paths, Debian's first. */
	{
		static const char *const want_paths[] = {
			"/etc/ssl/certs/ca-certificates.crt",
			"/etc/pki/tls/certs/ca-bundle.crt",
			"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
			"/etc/ssl/ca-bundle.pem",
			"/var/lib/ca-certificates/ca-bundle.pem",
			"/etc/ssl/cert.pem",
			"/etc/ca-certificates/extracted/tls-ca-bundle.pem",
		};
		size_t n = sizeof(want_paths) / sizeof(want_paths[0]);
		int same = 1;

		for (i = 0; i < n; i++)
			if (cabundle_system_paths[i] == NULL ||
			    strcmp(cabundle_system_paths[i], want_paths[i]) != 0)
				same = 0;
		CHECK(same && cabundle_system_paths[n] == NULL,
		    "the system paths of Debian/Ubuntu, RHEL/Fedora, SUSE, "
		    "Alpine and Arch, in order");
	}
	cleanup();
	return tap_done();
}
