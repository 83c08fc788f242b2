/*
 * join_impl.h - what join.c (drsjoin join: its options, the phases a
 * document lacks, a re-run) and join_post.c (the join request and its
 * transaction: the POST, the checks of the answer, the commit or the
 * rollback) share. Only they (and the join fuzz target) include it.
 */
#ifndef DRS_JOIN_IMPL_H
#define DRS_JOIN_IMPL_H

#include <stddef.h>

#include "jwt.h"
#include "keystore.h"
#include "token.h"

struct http_session;
struct json;

#define JOIN_TYPE_JOIN 0
#define JOIN_TYPE_REGISTER 4
/* Seconds a nonce from the document is trusted to be still valid. */
#define NONCE_MAX_AGE 240

enum nonce_mode { NONCE_AUTO, NONCE_REQUIRE, NONCE_OFF };

struct join_args {
	const char *in, *display_name, *target_domain, *tenant;
	const char *tenant_what;	/* where tenant came from, for messages */
	enum keystore_choice store;
	enum nonce_mode nonce;
	int join_type, join_type_given, force, keep_old_device;
	int accept_copied;	/* --accept-copied-keys: keys made on another machine */
	int json;	/* --json: JSON on stdout even under -q or at a terminal */
	long splay;	/* --splay: seconds the first request is spread over */
	int splay_given;	/* on the command line, not from the config file */
};

/* Seconds of life a token needs to be sent: one request's, on a slow link. */
#define JOIN_TOKEN_MARGIN_S 10

/* The join's access token: read before any traffic, or obtained after discovery. */
struct join_token {
	struct token_source src;
	char *token;		/* the access token, once there is one */
	struct jwt_claims claims;
};

/*
 * 1 when t's token would expire before wait_s seconds and one request more
 * (JOIN_TOKEN_MARGIN_S) have passed (a token without an expiry never does).
 */
int join_token_expires_within(const struct join_token *t, long wait_s);

/* The access token of a BPRT, a refresh token or the device code, checked. */
int join_token_obtain(struct http_session *s, struct json *doc, struct join_token *t);

/*
 * Phase 5 proper: the POST, the checks of the answer, the commit or the
 * rollback (join_post.c). 0 joined, -1 reported, 1 (noted: the refusal,
 * in refusal too, then whether a device may exist) when the service
 * refused a CSR carrying a nonce and --nonce auto may try without it.
 */
int join_post(struct http_session *s, struct json *doc, struct join_token *tok,
    const struct join_args *a, char *refusal, size_t refusalsz);

#endif
