/* cli.c - the global options every subcommand reads, and usage errors. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cloud.h"
#include "log.h"
#include "redact.h"

/* Set by main from the command line and the environment. */
struct options opts = {
	.state_dir = DRSJOIN_STATE_DIR,
	.discovery_url = DRSJOIN_DISCOVERY_URL,
	/* 0: not given (the config file's, else http.c's default). */
	.timeout = 0,
	.attempts = 0,
};

const struct option *cli_global_options;
const char *cli_global_short = "";

/* The global long option named name (n bytes), or NULL. */
static const struct option *
global_long(const char *name, size_t n)
{
	const struct option *o;

	for (o = cli_global_options; o != NULL && o->name != NULL; o++)
		if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
			return o;
	return NULL;
}

/*
 * A global option given after the command: say where it goes. (Taking it
 * there would make the command's options and the global ones one name
 * space, where a command's own option could later shadow a global one.)
 */
static int
global_after_command(const char *cmd, const char *opt, size_t n, int value)
{
	return log_fail(EXIT_USAGE, "%s: '%.*s' is a global option: put it "
	    "before the command, as in 'drsjoin %.*s%s %s ...' (see 'drsjoin "
	    "--help')", cmd, (int)n, opt, (int)n, opt, value ? " VALUE" : "", cmd);
}

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

/* The usage error for an abbreviated or unknown long option. */
static int
bad_long(const char *cmd, const char *arg, size_t n, const struct option *lo)
{
	const struct option *o, *match = NULL;
	int count = 0;

	if (cmd != NULL && (o = global_long(arg + 2, n - 2)) != NULL)
		return global_after_command(cmd, arg, n, o->has_arg != no_argument);
	for (o = lo; o->name != NULL; o++)
		if (strncmp(o->name, arg + 2, n - 2) == 0) {
			match = o;
			count++;
		}
	if (count == 1)
		return cli_usage(cmd, "unknown option '%.*s' (options are not "
		    "abbreviated: '--%s'?)", (int)n, arg, match->name);
	return cli_usage(cmd, "unknown option '%.*s'", (int)n, arg);
}

int
cli_getopt(int argc, char **argv, const char *shortopts, const struct option *lo)
{
	static char **checked;
	const struct option *o;
	const char *cmd = shortopts[0] == '+' ? NULL : argv[0];
	int i;

	if (checked != argv) {
		checked = argv;
		for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
			const char *a = argv[i];
			size_t n = strcspn(a, "=");

			if (a[0] != '-' || a[1] == '\0') {
				if (cmd == NULL)
					break;	/* main: the command name */
				continue;
			}
			if (a[1] != '-')
				continue;	/* short options take no values here */
			for (o = lo; o->name != NULL; o++)
				if (strlen(o->name) == n - 2 && strncmp(o->name, a + 2, n - 2) == 0)
					break;
			if (o->name == NULL) {
				bad_long(cmd, a, n, lo);
				return CLI_REPORTED;
			}
			if (o->has_arg == required_argument && a[n] != '=')
				i++;	/* its value, whatever it looks like */
		}
	}
	return getopt_long(argc, argv, shortopts, lo, NULL);
}

const char *
cli_shown(const char *arg, char *buf, size_t bufsz)
{
	/* One rule for every echoed value: redact.h, redact_arg. */
	return redact_arg(arg, buf, bufsz);
}

int
cli_bad_option(const char *cmd, int c, char **argv)
{
	char shown[CLI_SHOWN_BUF];

	if (c == CLI_REPORTED)
		return -1;
	/* getopt returns ':' for a missing value when the option string starts with ':'. */
	if (c == ':')
		return cli_usage(cmd, "option '%s' needs a value",
		    cli_shown(argv[optind - 1], shown, sizeof(shown)));
	if (cmd != NULL && c == '?' && optopt > ' ' && optopt < 0x7f &&
	    strchr(cli_global_short, optopt) != NULL)
		return global_after_command(cmd, (char[3]){ '-', (char)optopt, 0 },
		    2, 0);
	/* In a cluster ("-xyz") optind may not have moved: name the letter. */
	if (optopt > ' ' && optopt < 0x7f)
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown option '%s'",
	    cli_shown(argv[optind - 1], shown, sizeof(shown)));
}

int
cli_number(const char *cmd, const char *opt, const char *s, long min, long max,
    long *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	/* strtol's leading blanks and '+' are no number here, as in the config file. */
	if (*d < '0' || *d > '9' || errno != 0 || *end != '\0' || v < min || v > max)
		return cli_usage(cmd, "%s: '%s' is not a whole number from %ld to %ld",
		    opt, CLI_SHOWN(s), min, max);
	*out = v;
	return 0;
}
