/*
 * cli.h - what main hands every subcommand, and the subcommands themselves.
 */
#ifndef DRS_CLI_H
#define DRS_CLI_H

#include <stddef.h>

#define DRSJOIN_VERSION "0.1.0"
#define DRSJOIN_DISCOVERY_URL "https://enterpriseregistration.windows.net"

struct cloud;
#define DRSJOIN_STATE_DIR "/var/lib/drsjoin"

/* Global options, set by main before a subcommand runs. Borrowed strings. */
struct options {
	const char *cacert;		/* --cacert, or NULL */
	const char *proxy;		/* --proxy, or NULL: the environment's */
	const char *state_dir;		/* --state-dir, DRSJOIN_STATE_DIR */
	const char *discovery_url;	/* --discovery-url, DRSJOIN_DISCOVERY_URL, else the cloud's */
	const struct cloud *cloud;	/* --cloud, DRSJOIN_CLOUD; never NULL once main ran */
	const char *tcti;		/* --tcti, or NULL */
	long timeout;			/* seconds per request; 0: the default */
	int attempts;			/* per request, with retries; 0: the default */
	int compact;			/* --compact: JSON on one line */
	int new_doc;			/* --new: start a new document, read no stdin */
};

extern struct options opts;

/* Subcommands: return 0, or -1 with the failure reported (log_fail). */
int cmd_discover(int argc, char **argv);
int cmd_nonce(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_csr(int argc, char **argv);
int cmd_join(int argc, char **argv);
int cmd_leave(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* Reports a usage error for cmd (EXIT_USAGE) and returns -1. */
int cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * The value s of option opt (as "--timeout") as a whole number from min to
 * max: digits, a '-' before them at most; else the usage error (exit 2)
 * naming opt and the range, for command cmd (NULL: a global option).
 */
int cli_number(const char *cmd, const char *opt, const char *s, long min, long max,
    long *out);

/*
 * getopt_long, without its abbreviations: before the first option of argv
 * is parsed, every "--name" (up to a "--", or for shortopts starting with
 * '+' the first non-option) must be a whole name of longopts, else a usage
 * error naming only "--name" (never what follows '=') and CLI_REPORTED is
 * returned, which cli_bad_option() passes on silently. The error names
 * argv[0] as the command unless shortopts starts with '+' (main).
 */
#define CLI_REPORTED 0x10000
struct option;
int cli_getopt(int argc, char **argv, const char *shortopts,
    const struct option *longopts);

/*
 * arg as an error may echo it (an option's value, a file name): itself,
 * unless it may be a token; then at most a short prefix and its length
 * (redact_arg in redact.h), so a token pasted on the command line never
 * reaches stderr (or a CI log). Every echoed argument goes through it.
 */
#define CLI_SHOWN_BUF 64
const char *cli_shown(const char *arg, char *buf, size_t bufsz);
/* cli_shown with a buffer that lives as long as the full expression. */
#define CLI_SHOWN(arg) cli_shown((arg), (char[CLI_SHOWN_BUF]){ 0 }, CLI_SHOWN_BUF)

/*
 * main's options, set by main: a command that meets one of them after its
 * name says to put it before the command (cli_getopt, cli_bad_option).
 */
extern const struct option *cli_global_options;
extern const char *cli_global_short;	/* the letters, e.g. "vqV" */

/* The usage error for getopt_long's c that is no option of cmd (':' or '?'). */
int cli_bad_option(const char *cmd, int c, char **argv);

#endif
