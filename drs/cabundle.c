/* cabundle.c - finding the CA bundle at run time (see cabundle.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cabundle.h"
#include "cli.h"
#include "log.h"
#include "state.h"

const char *const cabundle_system_paths[] = {
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/ca-bundle.pem",
	"/var/lib/ca-certificates/ca-bundle.pem",
	"/etc/ssl/cert.pem",
	"/etc/ca-certificates/extracted/tls-ca-bundle.pem",
	NULL,
};

/* NULL when path is a usable bundle, else why not (a static string). */
static const char *
unusable(const char *path)
{
	struct stat st;
	const char *why = NULL;
	int fd;

	/* The input rule of state.h: no wait, a file or a handed-over pipe. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return strerror(errno);
	if (fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = "is a directory, expected a PEM file";
	else if ((why = state_input_refused(path, &st)) == NULL &&
	    S_ISREG(st.st_mode) && st.st_size == 0)
		why = "is empty";
	close(fd);
	return why;
}

/* -v names the bundle once a run, not at each look-up (a check, a session). */
static void
name_bundle(const char *path, const char *from)
{
	static char said[1024];
	char line[sizeof(said)];

	if (log_level < 2)	/* not shown: nothing said */
		return;
	snprintf(line, sizeof(line), "%s (%s)", path, from);
	if (strcmp(line, said) == 0)
		return;
	memcpy(said, line, sizeof(said));
	log_debug(1, "CA bundle: %s", line);
}

const char *
cabundle_find(const char *cacert, const char *ssl_cert_file,
    const char *const *candidates, enum cabundle_source *source)
{
	char tried[1024];
	size_t used = 0;
	const char *why;
	size_t i;

	if (cacert != NULL) {
		if ((why = unusable(cacert)) != NULL) {
			log_fail(EXIT_INPUT, "--cacert %s: %s", CLI_SHOWN(cacert), why);
			return NULL;
		}
		name_bundle(CLI_SHOWN(cacert), "from --cacert");
		if (source != NULL)
			*source = CABUNDLE_OPTION;
		return cacert;
	}
	if (ssl_cert_file != NULL && ssl_cert_file[0] != '\0') {
		if ((why = unusable(ssl_cert_file)) != NULL) {
			log_fail(EXIT_INPUT, "SSL_CERT_FILE %s: %s",
			    CLI_SHOWN(ssl_cert_file), why);
			return NULL;
		}
		name_bundle(CLI_SHOWN(ssl_cert_file), "from SSL_CERT_FILE");
		if (source != NULL)
			*source = CABUNDLE_ENV;
		return ssl_cert_file;
	}
	if (candidates == NULL)
		candidates = cabundle_system_paths;
	tried[0] = '\0';
	for (i = 0; candidates[i] != NULL; i++) {
		int n;

		if ((why = unusable(candidates[i])) == NULL) {
			name_bundle(candidates[i], "system");
			if (source != NULL)
				*source = CABUNDLE_SYSTEM;
			return candidates[i];
		}
		log_debug(2, "CA bundle: not %s: %s", candidates[i], why);
		if (used < sizeof(tried)) {
			n = snprintf(tried + used, sizeof(tried) - used, "%s%s",
			    i > 0 ? ", " : "", candidates[i]);
			if (n > 0)
				used += (size_t)n;
		}
	}
	log_fail(EXIT_INPUT, "no CA bundle found (tried %s); install the "
	    "system's CA certificates package, or give --cacert FILE or "
	    "SSL_CERT_FILE", i > 0 ? tried : "no paths");
	return NULL;
}

int
cabundle_read(const char *path, const char *what, char **buf, size_t *len)
{
	/* A pipe (--cacert <(cmd)) reads once: later sessions get a copy. */
	static char *kept_path, *kept;
	static size_t kept_len;

	if (kept != NULL && strcmp(path, kept_path) == 0) {
		if ((*buf = malloc(kept_len + 1)) == NULL)
			return log_fail(EXIT_INTERNAL, "out of memory");
		memcpy(*buf, kept, kept_len + 1);
		*len = kept_len;
		return 0;
	}
	if (state_read_linked(path, what, CABUNDLE_MAX, EXIT_INPUT, buf, len) < 0)
		return -1;
	if (state_fd_path(path) && kept == NULL &&
	    (kept_path = strdup(path)) != NULL) {
		if ((kept = malloc(*len + 1)) != NULL) {
			memcpy(kept, *buf, *len + 1);
			kept_len = *len;
		} else {
			free(kept_path);
			kept_path = NULL;
		}
	}
	return 0;
}
