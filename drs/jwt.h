/*
 * jwt.h - the access token for the join: read it safely, check it locally.
 *
 * The token is a secret: it is read from a file, stdin or DRSJOIN_TOKEN,
 * never argv, and wiped when freed. drsjoin does not verify the signature
 * (the service does); it checks the claims so that a wrong token fails
 * before any network traffic, with a precise reason.
 */
#ifndef DRS_JWT_H
#define DRS_JWT_H

#include <time.h>

/* Clock skew allowed on exp and nbf, in seconds (as Entra ID allows). */
#define JWT_SKEW 300

struct jwt_claims {
	char *tid;	/* tenant id */
	char *upn;	/* upn, else unique_name; may be NULL */
	char *oid;	/* user object id; may be NULL */
	char *aud;	/* the DRS audience that matched */
	long long exp, nbf, iat;	/* 0 when absent (exp is required) */
};

/*
 * Reads the token from path ("-" for stdin), or from the environment
 * variable DRSJOIN_TOKEN when path is NULL. White space around it is
 * dropped. Caller frees with util_free_secret. EXIT_INPUT.
 */
int jwt_read_token(const char *path, char **token);
/* Parses the claims of a compact JWS. EXIT_INPUT errors name the part. */
int jwt_parse(const char *token, struct jwt_claims *out);
/* Checks exp, nbf, audience and tid against now. EXIT_INPUT. */
int jwt_check(const struct jwt_claims *c, time_t now);
/*
 * The audience must be the service's own: join_resource_id as discovery
 * named it (any letter case), or the DRS application id; NULL accepts what
 * jwt_check accepted. EXIT_INPUT naming both.
 */
int jwt_check_audience(const struct jwt_claims *c, const char *join_resource_id);
void jwt_claims_free(struct jwt_claims *c);

#endif
