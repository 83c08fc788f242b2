/* config.c - the optional configuration file (see config.h). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "cli.h"
#include "cloud.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "proc.h"
#include "retry.h"
#include "state.h"
#include "tpm.h"
#include "util.h"

struct config config;

static char *text;		/* the file's bytes; the values point into it */
static char *abs_path;		/* the file's name, for messages */
static int tcti_chosen;		/* --tcti or the environment chose the TPM */
static char token_where[512];	/* "FILE:LINE: KEY" of the token file */
static int seen_key;		/* a line with one of our keys was read */
static const char *file_named_by = "--config";	/* for messages */
static int crlf_lines;		/* lines that ended in CR LF */

enum kind { K_PROXY, K_TENANT, K_CLOUD, K_STORE, K_FILE, K_TOKEN_FILE, K_TCTI,
    K_URL, K_NUMBER, K_NAME, K_JOIN_TYPE };

#define KEY(name, field, kind) { name, offsetof(struct config, field), kind, 0, 0 }
static const struct key {
	const char *name;
	size_t off;
	enum kind kind;
	long min, max;		/* K_NUMBER */
} keys[] = {
	KEY("tenant", tenant, K_TENANT),
	KEY("cloud", cloud, K_CLOUD),
	KEY("discovery-url", discovery_url, K_URL),
	KEY("proxy", proxy, K_PROXY),
	KEY("cacert", cacert, K_FILE),
	KEY("state-dir", state_dir, K_FILE),
	{ "timeout", offsetof(struct config, timeout), K_NUMBER, 1, 3600 },
	{ "attempts", offsetof(struct config, attempts), K_NUMBER, 1,
	    RETRY_MAX_ATTEMPTS },
	{ "max-wait", offsetof(struct config, max_wait), K_NUMBER, 1,
	    RETRY_MAX_WAIT_LIMIT_S },
	KEY("tcti", tcti, K_TCTI),
	KEY("key-store", key_store, K_STORE),
	KEY("join-type", join_type, K_JOIN_TYPE),
	KEY("display-name", display_name, K_NAME),
	{ "splay", offsetof(struct config, splay), K_NUMBER, 0, RETRY_SPLAY_MAX_S },
	KEY("token-file", token_file, K_TOKEN_FILE),
	KEY("bprt-file", bprt_file, K_TOKEN_FILE),
	KEY("refresh-token-file", refresh_token_file, K_TOKEN_FILE),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char **
slot(const struct key *k)
{
	return (const char **)(void *)((char *)&config + k->off);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* s[0..*n) without the blanks at both ends; returns the new start. */
static char *
trim(char *s, size_t *n)
{
	while (*n > 0 && is_space(*s)) {
		s++;
		(*n)--;
	}
	while (*n > 0 && is_space(s[*n - 1]))
		(*n)--;
	return s;
}

/* A whole number in [min, max], as the options take it. */
static int
number_ok(const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	return errno == 0 && end != v && *end == '\0' && n >= min && n <= max;
}

/*
 * Checks a value by its kind: NULL, or what is wrong with it. The value is
 * echoed only through CLI_SHOWN (check_value): a token pasted where a file
 * name goes must not reach a log.
 */
static const char *
value_wrong(const struct key *k, const char *v, char *why, size_t whysz)
{
	switch (k->kind) {
	case K_TENANT:
		return util_tenant_ok(v) ? NULL :
		    "is neither a tenant id (GUID) nor a domain name";
	case K_CLOUD:
		snprintf(why, whysz, "is not one of %s", cloud_names());
		return cloud_find(v) == NULL ? why : NULL;
	case K_STORE:
		return strcmp(v, "tpm") == 0 || strcmp(v, "software") == 0 ||
		    strcmp(v, "auto") == 0 ? NULL : "is not tpm, software or auto";
	case K_JOIN_TYPE:
		return strcmp(v, "join") == 0 || strcmp(v, "register") == 0 ?
		    NULL : "is not join or register";
	case K_FILE:
	case K_TOKEN_FILE:
		/* No working directory to be relative to in a unit; no stdin. */
		return v[0] == '/' ? NULL : "is not an absolute file name";
	case K_TCTI:
		/* Checked here, not at tpm_open: the error names the file. */
		if (!tpm_spec_known(v))
			return "is not a TCTI drsjoin has (device[:PATH], "
			    "swtpm[:CONF], mssim[:CONF])";
		if (strncmp(v, "device:", 7) == 0 && v[7] != '\0' && v[7] != '/')
			return ": the device is not an absolute file name";
		return NULL;
	case K_URL:
		if (answer_url_ok(v, why, whysz))
			return NULL;
		return "is not a usable https URL";
	case K_PROXY:
		return http_proxy_ok(v, why, whysz) ? NULL : "is not a proxy URL";
	case K_NUMBER:
		snprintf(why, whysz, "is not a whole number from %ld to %ld",
		    k->min, k->max);
		return number_ok(v, k->min, k->max) ? NULL : why;
	case K_NAME:
		return strlen(v) <= 256 ? NULL : "is longer than 256 bytes";
	}
	return NULL;
}

/* Checks one value of key k; 0, or -1 reported naming path:line. */
static int
check_value(const struct key *k, const char *v, int line)
{
	char why[160] = "", what[400];
	const char *p, *wrong;

	for (p = v; *p != '\0' && k->kind != K_NAME; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return log_fail(EXIT_INPUT, "%s:%d: %s: the value holds a "
			    "space or a byte that is not printable ASCII", abs_path,
			    line, k->name);
	if ((wrong = value_wrong(k, v, why, sizeof(why))) == NULL)
		return 0;
	/*
	 * A URL's own reason (in why) says more than the kind's; the URL is
	 * not shown, as --proxy's is not: its user information is a password.
	 */
	if (k->kind == K_URL || k->kind == K_PROXY)
		return log_fail(EXIT_INPUT, "%s:%d: %s: %s%s%s%s", abs_path, line,
		    k->name, strncmp(wrong, "is ", 3) == 0 ? wrong + 3 : wrong,
		    why[0] != '\0' ? " (" : "", why, why[0] != '\0' ? ")" : "");
	snprintf(what, sizeof(what), "%s", wrong);
	return log_fail(EXIT_INPUT, "%s:%d: %s: '%s'%s%s", abs_path, line, k->name,
	    CLI_SHOWN(v), what[0] == ':' ? "" : " ", what);
}

/* "tenant, cloud, ...": the keys, for messages. */
static const char *
key_names(void)
{
	static char names[256];
	size_t i, o = 0;

	for (i = 0; i < NKEYS && o < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
		    i ? ", " : "", keys[i].name);
	return names;
}

/*
 * A word shaped like our keys (lower case, digits, '-'): a misspelt key,
 * shown; anything else (a shell line, "export X") is not echoed.
 */
static int
key_like(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-'))
			return 0;
	return n > 0 && n <= 32;
}

/* The line starts with one of our keys (and a blank): "tenant x". */
static int
starts_with_key(const char *s, size_t n)
{
	size_t i, kn;

	for (i = 0; i < NKEYS; i++) {
		kn = strlen(keys[i].name);
		if (n > kn && memcmp(s, keys[i].name, kn) == 0 && is_space(s[kn]))
			return 1;
	}
	return 0;
}

/*
 * The first line that means something is no "key = value" of ours: another
 * file (DRSJOIN_CONFIG=~/.bashrc). Its lines may hold secrets: none shown.
 */
static int
not_config(int line)
{
	return log_fail(EXIT_INPUT, "%s: not a drsjoin config file (line %d is no "
	    "'key = value' with a key of %s; named by %s)", abs_path, line,
	    key_names(), file_named_by);
}

/* One line (n bytes, no newline); 0, or -1 reported. */
static int
parse_line(char *s, size_t n, int line, int *first_line)
{
	char why[160], *key, *val, *eq;
	size_t kn, vn, i;
	const struct key *k = NULL;

	/* A file saved by a Windows editor: its CR LF ends a line, said once. */
	if (n > 0 && s[n - 1] == '\r') {
		n--;
		crlf_lines++;
	}
	/* Tabs are blanks; any other control byte or bad UTF-8 is refused. */
	for (i = 0; i < n; i++)
		if (s[i] == '\t')
			s[i] = ' ';
	if (!answer_text_ok(s, n, why, sizeof(why)))
		return log_fail(EXIT_INPUT, "%s:%d: the line %s", abs_path, line, why);
	s = trim(s, &n);
	if (n == 0 || s[0] == '#')
		return 0;
	if ((eq = memchr(s, '=', n)) == NULL && !seen_key && !starts_with_key(s, n))
		return not_config(line);
	if (eq == NULL)
		return log_fail(EXIT_INPUT, "%s:%d: expected 'key = value' or a "
		    "'#' comment", abs_path, line);
	kn = (size_t)(eq - s);
	key = trim(s, &kn);
	vn = n - (size_t)(eq + 1 - s);
	val = trim(eq + 1, &vn);
	if (kn == 0)
		return log_fail(EXIT_INPUT, "%s:%d: expected 'key = value': no key "
		    "before '='", abs_path, line);
	for (i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == kn && memcmp(keys[i].name, key, kn) == 0)
			k = &keys[i];
	if (k == NULL && !seen_key && !key_like(key, kn))
		return not_config(line);
	if (k == NULL && !key_like(key, kn))
		return log_fail(EXIT_INPUT, "%s:%d: unknown key (not shown: not a "
		    "word; keys: %s)", abs_path, line, key_names());
	if (k == NULL)
		return log_fail(EXIT_INPUT, "%s:%d: unknown key '%.*s' (keys: %s)",
		    abs_path, line, (int)kn, key, key_names());
	seen_key = 1;
	if (*slot(k) != NULL)
		return log_fail(EXIT_INPUT, "%s:%d: %s given again (first on line %d)",
		    abs_path, line, k->name, first_line[k - keys]);
	if (vn == 0)
		return log_fail(EXIT_INPUT, "%s:%d: %s: no value", abs_path, line, k->name);
	key[kn] = '\0';
	val[vn] = '\0';
	if (check_value(k, val, line) < 0)
		return -1;
	if (k->kind == K_TOKEN_FILE)
		for (i = 0; i < NKEYS; i++)
			if (keys[i].kind == K_TOKEN_FILE && *slot(&keys[i]) != NULL)
				return log_fail(EXIT_INPUT, "%s:%d: %s: %s (line %d) "
				    "names the token already: give one token source",
				    abs_path, line, k->name, keys[i].name,
				    first_line[i]);
	*slot(k) = val;
	first_line[k - keys] = line;
	if (k->kind == K_TOKEN_FILE)
		snprintf(token_where, sizeof(token_where), "%s:%d: %s", abs_path,
		    line, k->name);
	return 0;
}

int
config_load(const char *path)
{
	const char *env = getenv("DRSJOIN_CONFIG");
	int named = 1, fd, rc;
	size_t len;

	if (path != NULL && *path == '\0')
		return cli_usage(NULL, "--config: empty (--config /dev/null reads none)");
	file_named_by = "--config";
	if (path == NULL && env != NULL && *env != '\0') {
		path = env;
		file_named_by = "DRSJOIN_CONFIG";
	}
	if (path == NULL) {
		path = DRSJOIN_CONFIG_FILE;
		file_named_by = "the default";
		named = 0;
	}
	if (strcmp(path, "/dev/null") == 0) {
		log_debug(1, "config: none (/dev/null)");
		return 0;
	}
	if ((abs_path = state_absolute(path)) == NULL)
		return -1;
	if ((fd = state_open_safe_file(abs_path, EXIT_INPUT)) == -2) {
		log_debug(1, "config: %s: none", abs_path);
		if (!named)
			return 0;
		return log_fail(EXIT_INPUT, "%s: no such file (named by %s)", abs_path,
		    file_named_by);
	}
	if (fd < 0)
		return -1;
	rc = state_read_fd(fd, abs_path, CONFIG_MAX, EXIT_INPUT, &text, &len);
	close(fd);
	if (rc < 0 || config_parse(text, len, abs_path) < 0)
		return -1;
	config.path = abs_path;
	log_debug(1, "config: read %s", abs_path);
	return 0;
}

int
config_parse(char *buf, size_t len, const char *path)
{
	int line = 0, first_line[NKEYS] = { 0 };
	size_t off, n;
	char *nl;

	memset(&config, 0, sizeof(config));
	token_where[0] = '\0';
	seen_key = 0;
	crlf_lines = 0;
	abs_path = (char *)path;
	/* A Windows editor's byte order mark: no key starts with it. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		log_note("%s: starts with a UTF-8 byte order mark (a Windows "
		    "editor's); read without it", abs_path);
		buf += 3;
		len -= 3;
	}
	for (off = 0; off < len; off += n + 1) {
		line++;
		nl = memchr(buf + off, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;
		if (parse_line(buf + off, n, line, first_line) < 0)
			return -1;
	}
	if (crlf_lines > 0)
		log_note("%s: %d line%s end%s in CR LF (a Windows editor's); read "
		    "as line ends", abs_path, crlf_lines, crlf_lines == 1 ? "" :
		    "s", crlf_lines == 1 ? "s" : "");
	return 0;
}

static int
env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0';
}

/* A number config_parse checked; 0 when the file did not set it. */
static long
number(const char *v)
{
	return v != NULL ? strtol(v, NULL, 10) : 0;
}

void
config_apply_globals(const char **cloud, long *max_wait)
{
	tcti_chosen = opts.tcti != NULL || env_set("DRSJOIN_TCTI") ||
	    env_set("TPM2TOOLS_TCTI");
	if (*cloud == NULL && config.cloud != NULL)
		*cloud = config.cloud;
	/* libcurl's variables for an https URL. */
	if (opts.proxy == NULL && config.proxy != NULL && !env_set("https_proxy") &&
	    !env_set("HTTPS_PROXY") && !env_set("all_proxy") && !env_set("ALL_PROXY"))
		opts.proxy = config.proxy;
	if (opts.cacert == NULL && config.cacert != NULL && !env_set("SSL_CERT_FILE"))
		opts.cacert = config.cacert;
	if (!tcti_chosen && config.tcti != NULL)
		opts.tcti = config.tcti;
	/* main left these NULL or 0 when neither option nor variable set them. */
	if (opts.state_dir == NULL)
		opts.state_dir = config.state_dir;
	if (opts.discovery_url == NULL)
		opts.discovery_url = config.discovery_url;
	if (opts.timeout == 0)
		opts.timeout = number(config.timeout);
	if (opts.attempts == 0)
		opts.attempts = (int)number(config.attempts);
	if (*max_wait == 0)
		*max_wait = number(config.max_wait);
}

int
config_tcti_default(void)
{
	return !tcti_chosen;
}

/*
 * The join unit's token comes as a systemd credential: LoadCredential= of
 * /etc/drsjoin/token.jwt, or a drop-in's LoadCredentialEncrypted=, named
 * for the kind of token. The unit's SetCredential= default for a file that
 * is not there is a newline: blank means none, so that a token source in
 * the file works under the unit too. Only under systemd's own directory:
 * the environment does not get to name files to read as tokens elsewhere.
 */
#define CRED_DIR_PREFIX	"/run/credentials/"
#define NCRED		3

static const char *const cred_ids[NCRED] = {
	"drsjoin-token", "drsjoin-bprt", "drsjoin-refresh-token"
};
static char cred_path[NCRED][512];
static int cred_blank_seen;	/* a blank credential, and no token anywhere */

/* 1 holds a token, 0 absent or blank, -1 unreadable (EXIT_INPUT). */
static int
cred_state(int i)
{
	char buf[512];
	ssize_t n, k;
	size_t total = 0;
	int fd, rc = 0;

	if ((fd = open(cred_path[i], O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		return log_fail(EXIT_INPUT, CONFIG_CREDENTIAL "%s (%s): %s",
		    cred_ids[i], cred_path[i], errno == ELOOP ?
		    "a symbolic link, refused" : strerror(errno));
	}
	/* Blank to its end (bounded: a token is never that long). */
	while (rc == 0 && total < TOKEN_MAX && (n = read(fd, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		for (k = 0; k < n; k++)
			if (buf[k] != '\n' && buf[k] != ' ' && buf[k] != '\t' && buf[k] != '\r')
				rc = 1;
	}
	if (total >= TOKEN_MAX)
		rc = 1;		/* the token reader says what is wrong */
	close(fd);
	if (rc == 0)
		cred_blank_seen = 1;
	return rc;
}

static int
cred_dir_ok(const char *dir)
{
	return dir != NULL && strncmp(dir, CRED_DIR_PREFIX, strlen(CRED_DIR_PREFIX)) == 0 &&
	    strstr(dir, "/..") == NULL && strlen(dir) <= 256;
}

/*
 * The one credential holding a token: its index, -1 for none, -2 on error
 * (two of them, or one unreadable).
 */
static int
cred_find(void)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	int i, st, found = -1;

	if (!cred_dir_ok(dir))
		return -1;
	for (i = 0; i < NCRED; i++) {
		snprintf(cred_path[i], sizeof(cred_path[i]), "%s/%s", dir, cred_ids[i]);
		if ((st = cred_state(i)) < 0)
			return -2;
		if (st == 0)
			continue;
		if (found >= 0) {
			log_fail(EXIT_USAGE, "join: systemd credentials %s "
			    "and %s both hold a token: give the unit one",
			    cred_ids[found], cred_ids[i]);
			return -2;
		}
		found = i;
	}
	return found;
}

/* token_source_choose() passes over an empty token variable: so does this. */
static int
env_given(const char *v)
{
	return v != NULL && *v != '\0';
}

int
config_token_source(const char **token_file, const char **bprt_file,
    const char **refresh_file, int device_code, const char **named_by)
{
	const char **out[NCRED] = { token_file, bprt_file, refresh_file };
	static char where[64];
	int c;

	*named_by = NULL;
	cred_blank_seen = 0;
	if (*token_file != NULL || *bprt_file != NULL || *refresh_file != NULL ||
	    device_code || env_given(proc_secret_env("DRSJOIN_TOKEN")) ||
	    env_given(proc_secret_env("DRSJOIN_BPRT")) ||
	    env_given(proc_secret_env("DRSJOIN_REFRESH_TOKEN")))
		return 0;
	if ((c = cred_find()) == -2)
		return -1;
	if (token_where[0] != '\0') {
		/* token.jwt (or a drop-in's credential) is an act too: no silent winner. */
		if (c >= 0)
			return log_fail(EXIT_USAGE, "join: %s and the systemd "
			    "credential %s both give a token: remove one",
			    token_where, cred_ids[c]);
		*token_file = config.token_file;
		*bprt_file = config.bprt_file;
		*refresh_file = config.refresh_token_file;
		*named_by = token_where;
		return 0;
	}
	if (c < 0)
		return 0;
	*out[c] = cred_path[c];
	snprintf(where, sizeof(where), CONFIG_CREDENTIAL "%s", cred_ids[c]);
	*named_by = where;
	log_debug(1, "join: the token from the systemd credential %s", cred_ids[c]);
	return 0;
}

int
config_unit_without_token(void)
{
	return cred_blank_seen;
}
