/* cli.c - the global options every subcommand reads, and usage errors. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"
#include "cloud.h"
#include "log.h"

/* Set by main from the command line and the environment. */
struct options opts = {
	.state_dir = DRSJOIN_STATE_DIR,
	.discovery_url = DRSJOIN_DISCOVERY_URL,
	.timeout = 30,
	.attempts = 4,
};

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cmd != NULL)
		return log_fail(EXIT_USAGE, "%s: %s (see 'drsjoin %s --help')",
		    cmd, msg, cmd);
	return log_fail(EXIT_USAGE, "%s (see 'drsjoin --help')", msg);
}

int
cli_bad_option(const char *cmd, int c, char **argv)
{
	/* getopt returns ':' for a missing value when the option string starts with ':'. */
	if (c == ':')
		return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
	return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
}
