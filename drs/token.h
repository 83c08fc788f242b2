/*
 * token.h - where the join's access token comes from.
 *
 * One of (join options; the first three also "-" for stdin):
 *   --token-file FILE          a ready DRS access token     DRSJOIN_TOKEN
 *   --bprt-file FILE           a bulk enrolment token       DRSJOIN_BPRT
 *   --refresh-token-file FILE  a user's refresh token       DRSJOIN_REFRESH_TOKEN
 *   --device-code              a person signs in elsewhere
 * Without an option, the one variable of the three that is set (two set is
 * a usage error). token_read_secret() is the only reader of those
 * variables.
 *
 * Two steps, each called from one place in join:
 * - token_source_read(): before any traffic, reads the secret (a ready
 *   token is then parsed and checked locally by the caller);
 * - token_obtain(): after the join's own discovery, exchanges a BPRT or
 *   refresh token, or runs the device code flow, at the login endpoints that
 *   discovery answer named (login.h). A ready token is handed over as is.
 *   Without a tenant (no --tenant, and a refresh token or the device code),
 *   before any discovery: at the --cloud's login host, authority
 *   "organizations"; the caller takes the tenant from the token's tid.
 * Secrets are wiped when freed and never written anywhere.
 */
#ifndef DRS_TOKEN_H
#define DRS_TOKEN_H

#include <stddef.h>

#include "http.h"
#include "json.h"

/* The authority of a sign-in whose tenant the access token will name. */
#define TOKEN_ANY_TENANT "organizations"

enum token_kind { TOKEN_ACCESS, TOKEN_BPRT, TOKEN_REFRESH, TOKEN_DEVICE_CODE };

struct token_source {
	enum token_kind kind;
	const char *file;	/* FILE or "-" (stdin); NULL: the environment */
	const char *client_id;	/* refresh token and device code */
	char *secret;		/* what was read (NULL for the device code) */
	const char *named_by;	/* who named file, for messages (NULL: its option) */
};

/*
 * Chooses the source from the options given (at most one; NULL/0 when not
 * given), else from the environment. client_id may be NULL (the default
 * client). EXIT_USAGE.
 */
int token_source_choose(struct token_source *src, const char *token_file,
    const char *bprt_file, const char *refresh_file, int device_code,
    const char *client_id);
/* 1 when the source is stdin (then the document comes from --in only). */
int token_source_stdin(const struct token_source *src);
/* Reads the secret: EXIT_INPUT for an unreadable, empty or malformed one. */
int token_source_read(struct token_source *src);
/*
 * The source's file can be opened (token_source_read asks), else exit 3
 * naming it - unless the name could be the secret itself, which is never shown.
 */
int token_source_open_check(const struct token_source *src);
/* "bulk enrolment token", ... for messages. */
const char *token_source_name(const struct token_source *src);

/*
 * An access token for the join (*token: util_free_secret). doc holds the
 * discovery answer join fetched itself ("tenant", "discovery"), or no
 * tenant id at all (then TOKEN_ANY_TENANT; not for a BPRT).
 */
int token_obtain(struct http_session *s, struct token_source *src,
    const struct json *doc, char **token);
void token_source_free(struct token_source *src);

/*
 * Reads a secret from path ("-": stdin, which must not be a terminal), or
 * from the environment variable env when path is NULL; white space around
 * it dropped. option and what name it in messages ("--token-file",
 * "token"). EXIT_USAGE when there is none, EXIT_INPUT when unreadable or
 * empty.
 */
int token_read_secret(const char *path, const char *env, const char *option,
    const char *what, char **out);

#endif
