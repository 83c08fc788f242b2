/*
 * config.h - /etc/drsjoin/drsjoin.conf: defaults an admin sets once, so
 * that units and scripts need no drop-ins.
 *
 * Lines "key = value"; '#' starts a comment line; blank lines are fine.
 * Keys are long options' names: tenant, cloud, discovery-url, proxy,
 * cacert, state-dir, timeout, attempts, max-wait, tcti, key-store,
 * join-type, display-name, splay, token-file, bprt-file, refresh-token-file.
 * Precedence, per setting: the command line, then the environment
 * (DRSJOIN_CLOUD, DRSJOIN_DISCOVERY_URL, SSL_CERT_FILE, the proxy
 * variables, DRSJOIN_STATE_DIR, DRSJOIN_TCTI or TPM2TOOLS_TCTI,
 * DRSJOIN_TOKEN, DRSJOIN_BPRT, DRSJOIN_REFRESH_TOKEN), then the file, then
 * the built-in default. join-type, display-name and splay are defaults of
 * a new join (join's own options win). For status and leave a TCTI recorded at join comes
 * between the environment and the file (keystore_use_recorded_tcti()); for
 * join a tenant the document names comes before the file's. main reads no
 * file for "COMMAND --help".
 *
 * The file names token files and the TPM, and root runs drsjoin: it is
 * read like the state dir is opened (every parent and the file itself
 * owned by root or the user running drsjoin and not writable by group or
 * others, no symbolic link anywhere in the path), at most CONFIG_MAX
 * bytes, valid UTF-8 without control characters. An unknown key, a
 * repeated key, a line that is not "key = value" or a bad value is
 * EXIT_INPUT naming FILE:LINE; a value is echoed only as redact_arg shows
 * it. A file whose first meaningful line is no "key = value" of ours
 * (DRSJOIN_CONFIG=~/.bashrc) is "not a drsjoin config file", no line of it
 * shown. It is read in main before the sandbox.
 */
#ifndef DRS_CONFIG_H
#define DRS_CONFIG_H

#define DRSJOIN_CONFIG_FILE	"/etc/drsjoin/drsjoin.conf"
#define CONFIG_MAX		(64 * 1024)
/* Longest token, BPRT or refresh token read (a file, a variable, a credential). */
#define TOKEN_MAX		(64 * 1024)

/* What the file said; NULL for a key it did not set. Strings live until exit. */
struct config {
	const char *path;		/* the file read, or NULL (none, or /dev/null) */
	const char *tenant;
	const char *cloud;
	const char *proxy;
	const char *cacert;
	const char *tcti;
	const char *key_store;		/* "tpm", "software" or "auto" */
	const char *token_file;		/* at most one of these three */
	const char *bprt_file;
	const char *refresh_token_file;
	const char *discovery_url;	/* an https URL */
	const char *state_dir;		/* absolute */
	const char *timeout;		/* whole numbers, checked as the options */
	const char *attempts;
	const char *max_wait;
	const char *display_name;	/* 1 to 256 bytes, spaces allowed */
	const char *join_type;		/* "join" or "register" */
	const char *splay;		/* seconds, 0 to RETRY_SPLAY_MAX_S */
};

extern struct config config;

/*
 * Reads the file: path from --config (or NULL), else DRSJOIN_CONFIG, else
 * DRSJOIN_CONFIG_FILE. "/dev/null" reads none. A missing default file is
 * no error; a missing file that was named is (EXIT_INPUT). 0 / -1.
 */
int config_load(const char *path);

/*
 * Parses len bytes of buf (changed in place; the values point into it and
 * must outlive config) as the file path into config. 0 / -1 (EXIT_INPUT,
 * "path:LINE: ..."). config_load's parser; the fuzz target's entry.
 */
int config_parse(char *buf, size_t len, const char *path);

/*
 * Applies the global settings to opts (cli.h) where neither the command
 * line nor the environment set them: cloud (the name, for main to look
 * up: *cloud), proxy, cacert, tcti, state-dir, discovery-url, timeout,
 * attempts, and max-wait (main's *max_wait, 0 when not given). opts'
 * state_dir and discovery_url are NULL, timeout and attempts 0, when
 * neither set them; main supplies the defaults after this.
 */
void config_apply_globals(const char **cloud, long *max_wait);

/*
 * 1 when the TPM is drsjoin's default choice: neither --tcti nor
 * DRSJOIN_TCTI/TPM2TOOLS_TCTI chose it (the config file's tcti may have).
 */
int config_tcti_default(void);

/*
 * The token source of the file for join, when the command line gave none
 * (*token_file, *bprt_file, *refresh_file NULL, no device_code) and no
 * non-empty secret variable is set; without one in the file, the systemd
 * credential drsjoin-token, drsjoin-bprt or drsjoin-refresh-token (a blank
 * one is none; the file's and a credential together are refused).
 * *named_by: "FILE:LINE: KEY", or CONFIG_CREDENTIAL "ID", for messages;
 * else NULL. 0, or -1: two credentials hold a token, or the file and a
 * credential both give one (EXIT_USAGE); a credential cannot be read
 * (EXIT_INPUT).
 */
#define CONFIG_CREDENTIAL	"systemd credential "
int config_token_source(const char **token_file, const char **bprt_file,
    const char **refresh_file, int device_code, const char **named_by);

/*
 * 1 when config_token_source() found no token anywhere but a blank
 * credential: the join unit with neither /etc/drsjoin/token.jwt nor a
 * token in the file (the "no token" message says so).
 */
int config_unit_without_token(void);

#endif
