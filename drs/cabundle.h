/*
 * cabundle.h - which CA bundle verifies the service's TLS certificate.
 *
 * No bundle is compiled in. The one used is, in this order:
 *   1. --cacert FILE;
 *   2. the SSL_CERT_FILE environment variable (when set and not empty);
 *   3. the first usable file among the usual system paths
 *      (cabundle_system_paths).
 * A --cacert or SSL_CERT_FILE that cannot be used is an error naming it
 * (EXIT_INPUT), never a silent fall-back to the system bundle; when no
 * system bundle is found the error lists every path tried (EXIT_INPUT).
 * "Usable" means: opens for reading, is a regular file (after symlinks), and
 * is not empty. Whether it holds certificates is for cert_ca_parse (cert.h)
 * to say: http.c finds and reads the bundle once, before a session's first
 * request, so commands that make no request never look for a bundle.
 *
 * Pure (no network, no TLS library).
 */
#ifndef DRS_CABUNDLE_H
#define DRS_CABUNDLE_H

/*
 * The usual bundle paths, NULL-terminated, in the order they are tried:
 *   /etc/ssl/certs/ca-certificates.crt                Debian, Ubuntu, Arch, Alpine
 *   /etc/pki/tls/certs/ca-bundle.crt                  RHEL, Fedora, CentOS
 *   /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem RHEL, Fedora (ca-trust)
 *   /etc/ssl/ca-bundle.pem                            SUSE
 *   /var/lib/ca-certificates/ca-bundle.pem            SUSE (generated)
 *   /etc/ssl/cert.pem                                 Alpine, macOS-like layouts
 *   /etc/ca-certificates/extracted/tls-ca-bundle.pem  Arch (p11-kit)
 */
extern const char *const cabundle_system_paths[];

/* Where the chosen bundle came from, for -v. */
enum cabundle_source {
	CABUNDLE_OPTION,	/* --cacert */
	CABUNDLE_ENV,		/* SSL_CERT_FILE */
	CABUNDLE_SYSTEM,	/* one of the candidates */
};

/*
 * Chooses the bundle. cacert is --cacert (or NULL), ssl_cert_file the value
 * of SSL_CERT_FILE (or NULL; the caller reads the environment), candidates a
 * NULL-terminated list (NULL: cabundle_system_paths). Returns the chosen path,
 * borrowed from the arguments, and sets *source when source is not NULL;
 * NULL (reported, EXIT_INPUT) when none is usable. Names the bundle with
 * log_debug(1).
 */
const char *cabundle_find(const char *cacert, const char *ssl_cert_file,
    const char *const *candidates, enum cabundle_source *source);

/* The largest bundle read: a system bundle is about 220 KB. */
#define CABUNDLE_MAX	(8 * 1024 * 1024)
/*
 * Reads the bundle at path (symlinks followed, as cabundle_find checks it)
 * into a new NUL-terminated buffer. Errors (EXIT_INPUT) start with what,
 * e.g. "discover: the CA bundle /etc/ssl/cert.pem: larger than 8388608
 * bytes". A pipe named by a descriptor path (--cacert <(cmd)) is read
 * once; later calls for it get a copy. 0 / -1.
 */
int cabundle_read(const char *path, const char *what, char **buf, size_t *len);

#endif
