/*
 * cloud.h - the Entra ID clouds drsjoin knows: each one's registration
 * (DRS) host and login host (protocol.md, "Sovereign clouds").
 */
#ifndef DRS_CLOUD_H
#define DRS_CLOUD_H

struct cloud {
	const char *name;	/* "public", "usgov", "china" */
	const char *drs_host;	/* the discovery host: https://<drs_host> */
	const char *login_host;	/* the token endpoint's host when discovery names none */
};

/* The cloud named name, or NULL. */
const struct cloud *cloud_find(const char *name);
/* The public cloud (the default). */
const struct cloud *cloud_default(void);
/* "public|usgov|china", for messages and --help. */
const char *cloud_names(void);

#endif
