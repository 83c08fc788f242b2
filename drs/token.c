/* token.c - where the join's access token comes from (see token.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cloud.h"
#include "devicecode.h"
#include "doc.h"
#include "config.h"
#include "log.h"
#include "login.h"
#include "proc.h"
#include "state.h"
#include "token.h"
#include "util.h"

static const struct {
	const char *option, *env, *what;
} sources[] = {
	[TOKEN_ACCESS] = { "--token-file", "DRSJOIN_TOKEN", "token" },
	[TOKEN_BPRT] = { "--bprt-file", "DRSJOIN_BPRT", "bulk enrolment token" },
	[TOKEN_REFRESH] = { "--refresh-token-file", "DRSJOIN_REFRESH_TOKEN",
	    "refresh token" },
	[TOKEN_DEVICE_CODE] = { "--device-code", NULL, "device code sign-in" },
};

/* Drops n bytes at the start of s (len bytes) and blanks after them. */
static size_t
drop_front(char *s, size_t len, size_t n)
{
	while (n < len && strchr(" \t", s[n]) != NULL)
		n++;
	memmove(s, s + n, len - n + 1);
	/* The tail left behind held token bytes too. */
	util_wipe(s + len - n + 1, n);
	return len - n;
}

/* JSON quotes around buf (n bytes), maybe with the comma after them. */
static int
unquote(char *buf, size_t *len, const char *what, const char *where)
{
	size_t n = *len;
	char *q;

	if (n < 2 || buf[0] != '"')
		return 0;
	if (buf[n - 1] == ',')
		n--;
	q = memchr(buf + 1, '"', n - 1);
	/* "access_token": "eyJ...", as copied from an answer's line. */
	if (q != NULL && q != buf + n - 1 &&
	    memchr(q, ':', (size_t)(buf + n - q)) != NULL)
		return log_fail(EXIT_INPUT, "%s %s: a JSON member (\"name\": value), "
		    "not a %s: give the token's value alone", what, where, what);
	if (q == NULL || q != buf + n - 1 || memchr(buf, '\\', n) != NULL)
		return log_fail(EXIT_INPUT, "%s %s: starts with a quote that "
		    "does not close at its end: give the %s alone, without "
		    "quotes", what, where, what);
	buf[n - 1] = '\0';
	if ((n = drop_front(buf, n - 1, 1)) == 0)
		return log_fail(EXIT_INPUT, "%s %s: empty", what, where);
	log_note("%s %s: in JSON quotes; read without them", what, where);
	*len = n;
	return 0;
}

/*
 * A token as people paste it: in JSON quotes (copied from a token
 * endpoint's answer, maybe with the comma after it), after "Bearer "
 * (from an Authorization header), or both, or after the UTF-8 byte order
 * mark a Windows editor writes. All are unambiguous: taken off, said in a
 * note. A whole JSON object is named, not searched. Nothing of the token
 * is shown. 0, or -1 (EXIT_INPUT) with buf wiped by the caller.
 */
static int
unwrap_pasted(char *buf, size_t *len, const char *what, const char *where)
{
	size_t n = *len;

	if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		n = drop_front(buf, n, 3);
		log_note("%s %s: starts with a UTF-8 byte order mark (an "
		    "editor's); read without it", what, where);
	}
	if (n > 0 && buf[0] == '{')
		return log_fail(EXIT_INPUT, "%s %s: a JSON object (a token "
		    "endpoint's answer?), not a %s: give the token's value alone",
		    what, where, what);
	if (unquote(buf, &n, what, where) < 0)
		return -1;
	if (n > 7 && strncasecmp(buf, "bearer", 6) == 0 && strchr(" \t", buf[6]) != NULL) {
		n = drop_front(buf, n, 6);
		log_note("%s %s: starts with 'Bearer ' (an Authorization "
		    "header's); read the token after it", what, where);
		/* Bearer "eyJ...": the quotes came with the value. */
		if (unquote(buf, &n, what, where) < 0)
			return -1;
	}
	*len = n;
	return 0;
}

int
token_read_secret(const char *path, const char *env, const char *option,
    const char *what, char **out)
{
	char *buf = NULL;
	const char *v;
	size_t len, start = 0;

	*out = NULL;
	if (path == NULL) {
		/* Taken out of the environment at start (proc_harden). */
		v = env != NULL ? proc_secret_env(env) : NULL;
		if (v == NULL || *v == '\0')
			return log_fail(EXIT_USAGE, "no %s: give %s FILE (or - for "
			    "stdin), or set %s", what, option, env ? env : "it");
		if ((buf = util_strdup(v)) == NULL)
			return -1;
		len = strlen(buf);
	} else if (strcmp(path, "-") == 0) {
		if (isatty(0))
			return log_fail(EXIT_USAGE, "%s -: stdin is a terminal", option);
		char label[64];

		snprintf(label, sizeof(label), "%s (stdin)", what);
		if (state_read_fd(0, label, TOKEN_MAX, EXIT_INPUT, &buf, &len) < 0)
			return -1;
	} else {
		struct stat st;

		if (state_read_file(path, TOKEN_MAX, EXIT_INPUT, &buf, &len) < 0)
			return -1;
		if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
			log_warn("%s file %s can be read by %s (mode %04o): "
			    "make it 0600", what, CLI_SHOWN(path), (st.st_mode & 007) ? "others" :
			    "its group", (unsigned)(st.st_mode & 07777));
	}
	/* Bytes after a NUL would be neither checked nor wiped (strlen). */
	if ((v = memchr(buf, '\0', len)) != NULL) {
		start = (size_t)(v - buf);
		util_free_secret_buf(buf, len);
		return log_fail(EXIT_INPUT, "%s %s: holds a NUL byte at offset %zu",
		    what, path == NULL ? env : strcmp(path, "-") == 0 ? "(stdin)" :
		    CLI_SHOWN(path), start);
	}
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		buf[--len] = '\0';
	while (start < len && strchr(" \t\r\n", buf[start]) != NULL)
		start++;
	if (start == len) {
		util_free_secret(buf);
		if (path != NULL)
			return log_fail(EXIT_INPUT, "%s file %s: empty", what,
			    CLI_SHOWN(path));
		return log_fail(EXIT_INPUT, "%s (%s): empty", what, env);
	}
	len = drop_front(buf, len, start);
	if (unwrap_pasted(buf, &len, what, path == NULL ? env : strcmp(path, "-") == 0 ?
	    "(stdin)" : CLI_SHOWN(path)) < 0) {
		util_free_secret(buf);
		return -1;
	}
	if (len == 0) {
		util_free_secret(buf);
		return log_fail(EXIT_INPUT, "%s %s: empty", what, path != NULL ?
		    CLI_SHOWN(path) : env);
	}
	*out = buf;
	return 0;
}

int
token_source_choose(struct token_source *src, const char *token_file,
    const char *bprt_file, const char *refresh_file, int device_code,
    const char *client_id)
{
	int given = (token_file != NULL) + (bprt_file != NULL) +
	    (refresh_file != NULL) + (device_code != 0), i, set = -1;

	memset(src, 0, sizeof(*src));
	src->client_id = client_id != NULL ? client_id : LOGIN_BROKER_CLIENT_ID;
	if (given > 1)
		return log_fail(EXIT_USAGE, "join: give one of --token-file, "
		    "--bprt-file, --refresh-token-file and --device-code");
	if (token_file != NULL) {
		src->kind = TOKEN_ACCESS;
		src->file = token_file;
	} else if (bprt_file != NULL) {
		src->kind = TOKEN_BPRT;
		src->file = bprt_file;
	} else if (refresh_file != NULL) {
		src->kind = TOKEN_REFRESH;
		src->file = refresh_file;
	} else if (device_code) {
		src->kind = TOKEN_DEVICE_CODE;
	} else {
		for (i = TOKEN_ACCESS; i <= TOKEN_REFRESH; i++) {
			const char *v = proc_secret_env(sources[i].env);

			if (v == NULL || *v == '\0')
				continue;
			if (set >= 0)
				return log_fail(EXIT_USAGE, "join: both %s and %s "
				    "are set; unset one", sources[set].env,
				    sources[i].env);
			set = i;
		}
		if (set < 0)
			return log_fail(EXIT_USAGE, "no token: give --token-file "
			    "FILE (or - for stdin), --bprt-file FILE, "
			    "--refresh-token-file FILE or --device-code, or set "
			    "DRSJOIN_TOKEN, DRSJOIN_BPRT or DRSJOIN_REFRESH_TOKEN");
		src->kind = (enum token_kind)set;
	}
	if (client_id != NULL && src->kind != TOKEN_REFRESH &&
	    src->kind != TOKEN_DEVICE_CODE)
		return log_fail(EXIT_USAGE, "join: --client-id goes with "
		    "--refresh-token-file or --device-code");
	return 0;
}

int
token_source_open_check(const struct token_source *src)
{
	const char *named_by = src->named_by != NULL ? src->named_by :
	    sources[src->kind].option;
	int fd, e;

	if (src->file == NULL || strcmp(src->file, "-") == 0)
		return 0;
	if ((fd = open(src->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) >= 0) {
		close(fd);
		return 0;
	}
	e = errno;
	/* "--bprt-file $BPRT": the token must not reach a CI log as a file name. */
	if (CLI_SHOWN(src->file) != src->file)
		return log_fail(EXIT_INPUT, "%s: a file of %zu characters that "
		    "cannot be opened (%s); the name is not shown: give the file "
		    "that holds the %s, not the %s itself",
		    named_by, strlen(src->file), strerror(e),
		    sources[src->kind].what, sources[src->kind].what);
	return log_fail(EXIT_INPUT, "%s %s: %s", named_by, src->file, strerror(e));
}

int
token_source_stdin(const struct token_source *src)
{
	return state_is_stdin(src->file);
}

const char *
token_source_name(const struct token_source *src)
{
	return sources[src->kind].what;
}

/* A refresh token is opaque printable text; a JWT here is a mix-up. */
static int
check_refresh_token(const struct token_source *src)
{
	const char *s = src->secret, *p, *where = src->file != NULL ?
	    CLI_SHOWN(src->file) : sources[src->kind].env;
	const char *what = sources[src->kind].what;

	for (p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return log_fail(EXIT_INPUT, "%s %s: contains a space or "
			    "control character at offset %zu", what, where,
			    (size_t)(p - s));
	if (strncmp(s, "eyJ", 3) == 0 && (p = strchr(s, '.')) != NULL &&
	    strchr(p + 1, '.') != NULL)
		return log_fail(EXIT_INPUT, "%s %s: this is a JWT (an access "
		    "token?), not a %s; give an access token with --token-file",
		    what, where, what);
	return 0;
}

/* Where a JWT ("eyJ", then two dots) starts in s; 0 when nowhere after 0. */
static size_t
jwt_offset(const char *s)
{
	const char *j = strstr(s, "eyJ"), *dot;

	if (j == NULL || (dot = strchr(j, '.')) == NULL ||
	    strchr(dot + 1, '.') == NULL)
		return 0;
	return (size_t)(j - s);
}

/*
 * An access token is a JWT, whose header always starts "eyJ". Microsoft's
 * refresh tokens (and BPRTs, which are refresh tokens) start "0.", "1." or
 * "M."; a long opaque run is one too. Said without showing any of it.
 */
static int
check_access_token(const struct token_source *src)
{
	const char *s = src->secret, *where = src->file != NULL ?
	    src->file : sources[src->kind].env;
	size_t n = strlen(s), at;

	if (strncmp(s, "eyJ", 3) == 0)
		return 0;
	/* 'eyJ...', "Authorization: Bearer eyJ...": a JWT, not a refresh token. */
	if ((at = jwt_offset(s)) > 0)
		return log_fail(EXIT_INPUT, "token %s: %zu byte%s before the JWT "
		    "in it: give the token alone", strcmp(where, "-") == 0 ?
		    "(stdin)" : CLI_SHOWN(where), at, at == 1 ? "" : "s");
	if (strpbrk(s, " \t") != NULL)
		return 0;
	if ((n > 2 && strchr("01M", s[0]) != NULL && s[1] == '.') || n >= 100)
		return log_fail(EXIT_INPUT, "token %s: not an access token (a JWT); "
		    "this looks like a refresh token or BPRT: use %s",
		    strcmp(where, "-") == 0 ? "(stdin)" : CLI_SHOWN(where),
		    src->named_by != NULL && strncmp(src->named_by,
		    CONFIG_CREDENTIAL, strlen(CONFIG_CREDENTIAL)) == 0 ?
		    "bprt-file or refresh-token-file in " DRSJOIN_CONFIG_FILE
		    " (or the credential drsjoin-bprt or drsjoin-refresh-token)" :
		    src->file == NULL ? "--bprt-file or --refresh-token-file (or "
		    "DRSJOIN_BPRT, DRSJOIN_REFRESH_TOKEN)" :
		    "--bprt-file or --refresh-token-file");
	return 0;
}

int
token_source_read(struct token_source *src)
{
	if (src->kind == TOKEN_DEVICE_CODE)
		return 0;
	if (token_source_open_check(src) < 0)
		return -1;
	if (token_read_secret(src->file, sources[src->kind].env,
	    sources[src->kind].option, sources[src->kind].what, &src->secret) < 0)
		return -1;
	if (src->kind != TOKEN_ACCESS && check_refresh_token(src) < 0)
		return -1;
	if (src->kind == TOKEN_ACCESS && check_access_token(src) < 0)
		return -1;
	return 0;
}

int
token_obtain(struct http_session *s, struct token_source *src,
    const struct json *doc, char **token)
{
	struct login_endpoints ep;
	const char *tid = doc_get(doc, "tenant", "id");
	const char *res = doc_get(doc, "discovery", "join_resource_id");
	char *fallback = NULL;
	int rc = -1;

	*token = NULL;
	if (src->kind == TOKEN_ACCESS) {
		/* Handed over: the caller frees one copy. */
		*token = src->secret;
		src->secret = NULL;
		return 0;
	}
	if (tid == NULL && src->kind == TOKEN_BPRT)
		return log_fail(EXIT_INTERNAL, "login: no tenant id after discovery");
	/*
	 * No tenant yet (a refresh token or the device code without --tenant):
	 * the cloud's own "organizations" authority, never a document's
	 * endpoint; the access token's tid then names the tenant.
	 */
	if (login_endpoints(tid != NULL ? doc_get(doc, "discovery",
	    "token_endpoint") : NULL, opts.cloud->login_host, tid != NULL ? tid :
	    TOKEN_ANY_TENANT, &ep) < 0)
		return -1;
	if (res == NULL) {
		if ((fallback = util_asprintf("urn:ms-drs:%s",
		    opts.cloud->drs_host)) == NULL)
			goto out;
		res = fallback;
	}
	switch (src->kind) {
	case TOKEN_BPRT:
		rc = login_redeem_bprt(s, &ep, src->secret, res, token);
		break;
	case TOKEN_REFRESH:
		rc = login_redeem_refresh(s, &ep, src->client_id, src->secret,
		    token);
		break;
	case TOKEN_DEVICE_CODE:
		/* Again (the token would expire in a wait): its refresh token. */
		if (src->secret != NULL)
			rc = login_redeem_refresh(s, &ep, src->client_id,
			    src->secret, token);
		else
			rc = devicecode_run(s, &ep, src->client_id, token,
			    &src->secret);
		break;
	default:
		rc = log_fail(EXIT_INTERNAL, "login: unknown token source");
		break;
	}
	/*
	 * Kept (wiped by token_source_free): redeemed again when the access
	 * token would expire while the join waits to retry.
	 */
out:
	free(fallback);
	login_endpoints_free(&ep);
	return rc;
}

void
token_source_free(struct token_source *src)
{
	if (src == NULL)
		return;
	util_free_secret(src->secret);
	src->secret = NULL;
}
