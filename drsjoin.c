/*
 * drsjoin - join a Linux machine to Microsoft Entra ID through the Device
 * Registration Service.
 *
 * main owns the global options and the command table; each subcommand lives
 * in its module under drs/.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesstoken.h"
#include "answer.h"
#include "cli.h"
#include "cloud.h"
#include "config.h"
#include "cookie.h"
#include "crypto.h"
#include "doc.h"
#include "http.h"
#include "json.h"
#include "keystore.h"
#include "log.h"
#include "proc.h"
#include "prt.h"
#include "retry.h"
#include "sandbox.h"
#include "state.h"
#include "tpm.h"
#include "util.h"

#define CMD_NETWORK	0x1	/* may talk to the service: set up HTTP */
#define CMD_PHASE	0x2	/* writes a document for a next phase: doc_announce */

struct command {
	const char *name;
	int (*fn)(int, char **);
	unsigned int flags;
	unsigned int sandbox;	/* SANDBOX_*: what it may touch besides its files */
	const char *summary;
};

/* Kept alphabetical. */
static const struct command commands[] = {
	{ "cookie", cmd_cookie, CMD_NETWORK, SANDBOX_NET | SANDBOX_STATE_READ | SANDBOX_TPM,
	    "print the browser SSO cookie of a stored PRT" },
	{ "csr", cmd_csr, CMD_PHASE, SANDBOX_STATE_READ | SANDBOX_STATE_MAKE | SANDBOX_TPM,
	    "build the certificate request from the device key (and nonce)" },
	{ "discover", cmd_discover, CMD_NETWORK | CMD_PHASE, SANDBOX_NET,
	    "find the tenant's registration endpoints" },
	{ "join", cmd_join, CMD_NETWORK,
	    SANDBOX_NET | SANDBOX_STATE_WRITE | SANDBOX_TPM,
	    "join the device (runs every missing phase first)" },
	{ "keygen", cmd_keygen, CMD_PHASE, SANDBOX_STATE_WRITE | SANDBOX_TPM,
	    "make the device and transport keys" },
	{ "leave", cmd_leave, CMD_NETWORK,
	    SANDBOX_NET | SANDBOX_STATE_WRITE | SANDBOX_TPM,
	    "delete this device from the tenant, then the local identity" },
	{ "nonce", cmd_nonce, CMD_NETWORK | CMD_PHASE, SANDBOX_NET,
	    "get a nonce from the tenant's nonce service" },
	{ "prt", cmd_prt, CMD_NETWORK,
	    SANDBOX_NET | SANDBOX_STATE_WRITE | SANDBOX_TPM,
	    "get, renew or remove a user's Primary Refresh Token" },
	{ "status", cmd_status, CMD_NETWORK,
	    SANDBOX_NET | SANDBOX_STATE_READ | SANDBOX_STATE_UPDATE | SANDBOX_TPM,
	    "show the identity stored on this machine" },
	{ "token", cmd_token, CMD_NETWORK,
	    SANDBOX_NET | SANDBOX_STATE_WRITE | SANDBOX_TPM,
	    "get an access token with a stored PRT" },
};

static const char exit_table[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  internal error (a bug, or an unexpected library failure)\n"
    "  2  usage: bad command line\n"
    "  3  bad input: a file, the JSON document or the token\n"
    "  4  network: the service could not be reached, or its answer was unusable,\n"
    "     or it throttled the requests (429/503) past --attempts or --max-wait\n"
    "  5  refused: the service answered with an error\n"
    "  6  TPM: no usable TPM, or the TPM failed\n"
    "  7  local I/O: the state directory, key files, or writing the output\n"
    "  8  not joined (status, leave, prt, token, cookie)\n"
    "  129  join interrupted by SIGHUP (after its request: kept or deleted again)\n"
    "  130  interrupted by Ctrl-C (join --device-code; join's request)\n"
    "  131  join interrupted by SIGQUIT (after its request: kept or deleted again)\n"
    "  143  join interrupted by SIGTERM (after its request: kept or deleted again)\n";

/*
 * status as a user: root's config file (0600) cannot be read, and status
 * needs nothing from it (the public record, pubrec.h): not an error.
 */
static int
config_not_for_user(int argc, char **argv, const char *config_path)
{
	const char *p = config_path != NULL ? config_path : getenv("DRSJOIN_CONFIG");

	if (p == NULL || *p == '\0')
		p = DRSJOIN_CONFIG_FILE;
	if (optind >= argc || strcmp(argv[optind], "status") != 0 || geteuid() == 0 ||
	    access(p, R_OK) == 0 || errno != EACCES)
		return 0;
	log_debug(1, "config: %s cannot be read as uid %u (it is root's): status "
	    "goes on without it", p, (unsigned)geteuid());
	return 1;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: drsjoin [global options] COMMAND [options]\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
	    "\n"
	    "Global options:\n"
	    "  -v, --verbose          more detail on stderr (repeat for more)\n"
	    "  -q, --quiet            errors and warnings only (join and leave: no\n"
	    "                         JSON either, unless --json)\n"
	    "  --cacert FILE          CA bundle for the service (or SSL_CERT_FILE)\n"
	    "  --proxy URL            HTTPS proxy (default: the proxy environment variables)\n"
	    "  --timeout SECONDS      time limit of each request (default 30)\n"
	    "  --attempts N           tries per request, with retries (default 4)\n"
	    "  --max-wait SECONDS     the most time spent waiting between tries, in\n"
	    "                         all (default 120); a Retry-After is waited plus\n"
	    "                         a random extra of up to 1 s, 2 s, then 4 s as\n"
	    "                         the same request is refused again\n"
	    "  --state-dir DIR        where the identity lives (default %s,\n"
	    "                         or DRSJOIN_STATE_DIR)\n"
	    "  --cloud NAME           public, usgov or china: the cloud's registration\n"
	    "                         and login hosts (default public, or DRSJOIN_CLOUD)\n"
	    "  --discovery-url URL    the registration service (default the cloud's, %s\n"
	    "                         for public; or DRSJOIN_DISCOVERY_URL)\n"
	    "  --resolve HOST:PORT:ADDRESS  connect to ADDRESS for HOST:PORT (repeatable;\n"
	    "                         TLS still checks HOST)\n"
	    "  --tcti SPEC            the TPM, e.g. device:/dev/tpmrm0 (or DRSJOIN_TCTI;\n"
	    "                         status and leave: the one recorded at join)\n"
	    "  --config FILE          settings file (default %s, or\n"
	    "                         DRSJOIN_CONFIG; /dev/null reads none)\n"
	    "  --compact              JSON on one line (default: indented, two spaces)\n"
	    "  --new                  start a new document: read none from stdin\n"
	    "  -h, --help             this text\n"
	    "  -V, --version          versions of drsjoin and its libraries\n"
	    "\n"
	    "Global options come before the command. 'drsjoin COMMAND --help'\n"
	    "describes a command.\n"
	    "\n%s",
	    DRSJOIN_STATE_DIR, DRSJOIN_DISCOVERY_URL, DRSJOIN_CONFIG_FILE, exit_table);
}

static int
version(void)
{
	struct tpm *t = NULL;
	char tpm[128];

	printf("drsjoin %s\n", DRSJOIN_VERSION);
	printf("  mbedTLS   %s\n", crypto_library_version());
	printf("  libcurl   %s\n", http_library_version());
	printf("  tpm2-tss  %s\n", tpm_library_version());
	printf("  cJSON     %s\n", json_library_version());
	/* The TPM is named only when one answers; its absence is no error. */
	if (tpm_available(opts.tcti) == 1 && tpm_open(opts.tcti, &t) == 0 &&
	    tpm_info(t, tpm, sizeof(tpm)) == 0)
		printf("  TPM       %s (%s)\n", tpm, tpm_spec(t));
	tpm_close(t);
	log_reset();
	return 0;
}

/*
 * The state dir absolute and in one spelling (no "." or trailing slashes),
 * so that the record names it from anywhere. An empty one is a usage error.
 */
static int
state_dir_option(char **copy)
{
	if (*opts.state_dir == '\0')
		return cli_usage(NULL, "--state-dir: empty");
	if ((*copy = state_absolute(opts.state_dir)) == NULL)
		return -1;
	opts.state_dir = *copy;
	return 0;
}

/* Said before any key is made: a typo must not cost a TPM key generation. */
static int
discovery_url_check(void)
{
	char why[128];

	if (answer_url_ok(opts.discovery_url, why, sizeof(why)))
		return 0;
	return cli_usage(NULL, "%s: not a usable https URL (%s)",
	    opts.discovery_url == getenv("DRSJOIN_DISCOVERY_URL") ?
	    "DRSJOIN_DISCOVERY_URL" : "--discovery-url", why);
}

/* Writes stdout out; a full disk must not look like success. */
static int
flush_stdout(void)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		return log_fail(EXIT_IO, "writing the output: %s", strerror(errno));
	return 0;
}

enum { O_CACERT = 256, O_PROXY, O_TIMEOUT, O_ATTEMPTS, O_MAX_WAIT, O_STATE_DIR,
    O_DISCOVERY_URL, O_TCTI, O_COMPACT, O_CLOUD, O_RESOLVE, O_NEW, O_CONFIG };
enum { RESOLVE_MAX = 16 };

static const struct option longopts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "cacert", required_argument, NULL, O_CACERT },
	{ "proxy", required_argument, NULL, O_PROXY },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "attempts", required_argument, NULL, O_ATTEMPTS },
	{ "max-wait", required_argument, NULL, O_MAX_WAIT },
	{ "state-dir", required_argument, NULL, O_STATE_DIR },
	{ "discovery-url", required_argument, NULL, O_DISCOVERY_URL },
	{ "tcti", required_argument, NULL, O_TCTI },
	{ "compact", no_argument, NULL, O_COMPACT },
	{ "cloud", required_argument, NULL, O_CLOUD },
	{ "resolve", required_argument, NULL, O_RESOLVE },
	{ "new", no_argument, NULL, O_NEW },
	{ "config", required_argument, NULL, O_CONFIG },
	{ NULL, 0, NULL, 0 },
};

/* What the global options say beyond opts (cli.h). */
struct globals {
	const char *resolve[RESOLVE_MAX + 1];
	const char *cloud, *config_path;
	char *state_dir, *discovery_url;	/* owned copies */
	int nresolve, verbose, quiet, show_version;
	long max_wait;
};

/* The environment's settings, before the command line overrides them. */
static void
from_environment(struct globals *g)
{
	/* NULL when not set: the config file's comes before the default. */
	opts.state_dir = getenv("DRSJOIN_STATE_DIR");
	if (opts.state_dir != NULL && *opts.state_dir == '\0')
		opts.state_dir = NULL;
	opts.discovery_url = getenv("DRSJOIN_DISCOVERY_URL");
	if (opts.discovery_url != NULL && *opts.discovery_url == '\0')
		opts.discovery_url = NULL;
	g->cloud = getenv("DRSJOIN_CLOUD");
	if (g->cloud != NULL && *g->cloud == '\0')
		g->cloud = NULL;
}

/* One global option with its value (optarg). 0, or -1 reported. */
static int
global_option(struct globals *g, int c, char **argv)
{
	long n;

	switch (c) {
	case 'v': g->verbose++; break;
	case 'q': g->quiet = 1; break;
	case 'V': g->show_version = 1; break;
	case O_CACERT: opts.cacert = optarg; break;
	case O_PROXY: opts.proxy = optarg; break;
	case O_TIMEOUT:
		if (cli_number(NULL, "--timeout", optarg, 1, 3600, &n) < 0)
			return -1;
		opts.timeout = n;
		break;
	case O_ATTEMPTS:
		if (cli_number(NULL, "--attempts", optarg, 1, 20, &n) < 0)
			return -1;
		opts.attempts = (int)n;
		break;
	case O_MAX_WAIT:
		if (cli_number(NULL, "--max-wait", optarg, 1, RETRY_MAX_WAIT_LIMIT_S, &n) < 0)
			return -1;
		g->max_wait = n;
		break;
	case O_STATE_DIR: opts.state_dir = optarg; break;
	case O_DISCOVERY_URL: opts.discovery_url = optarg; break;
	case O_TCTI: opts.tcti = optarg; break;
	case O_NEW: opts.new_doc = 1; break;
	case O_CONFIG: g->config_path = optarg; break;
	case O_COMPACT: opts.compact = 1; break;
	case O_CLOUD: g->cloud = optarg; break;
	case O_RESOLVE:
		if (g->nresolve == RESOLVE_MAX)
			return cli_usage(NULL, "--resolve: at most %d entries",
			    RESOLVE_MAX);
		g->resolve[g->nresolve++] = optarg;
		break;
	default:
		return cli_bad_option(NULL, c, argv);
	}
	return 0;
}

/* The global options, up to the command name. 1 after --help, 0, or -1 reported. */
static int
parse_globals(int argc, char **argv, struct globals *g)
{
	int c;

	/* '+': global options stop at the command name. */
	opterr = 0;
	cli_global_options = longopts;
	cli_global_short = "vqV";
	while ((c = cli_getopt(argc, argv, "+:vqhV", longopts)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return flush_stdout() < 0 ? -1 : 1;
		}
		if (global_option(g, c, argv) < 0)
			return -1;
	}
	if (g->quiet && g->verbose)
		return cli_usage(NULL, "-q and -v contradict each other");
	log_level = g->quiet ? 0 : 1 + g->verbose;
	return 0;
}

/* The command of that name, or NULL. */
static const struct command *
lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* The command of that name, or NULL (reported). */
static const struct command *
find_command(const char *name)
{
	const struct command *cmd = lookup(name);

	if (cmd == NULL)
		cli_usage(NULL, "unknown command '%s'", CLI_SHOWN(name));
	return cmd;
}

/* The config file, the state dir, the cloud and its discovery URL. */
static int
settle_globals(int argc, char **argv, struct globals *g)
{
	/* "COMMAND --help" is fixed text: a broken file does not hide it. */
	int help = optind + 1 < argc && (strcmp(argv[optind + 1], "--help") == 0 ||
	    strcmp(argv[optind + 1], "-h") == 0);
	const struct command *cmd;

	/* First: a next phase waits for the document once it sees this byte. */
	if (optind < argc && !g->show_version && !help &&
	    (cmd = lookup(argv[optind])) != NULL && (cmd->flags & CMD_PHASE))
		doc_announce();
	/* The file's settings where the command line and environment set none. */
	if (!g->show_version && !help &&
	    !config_not_for_user(argc, argv, g->config_path) &&
	    config_load(g->config_path) < 0)
		return -1;
	config_apply_globals(&g->cloud, &g->max_wait);
	if (opts.state_dir == NULL)
		opts.state_dir = DRSJOIN_STATE_DIR;
	if (state_dir_option(&g->state_dir) < 0)
		return -1;
	opts.cloud = cloud_default();
	if (g->cloud != NULL && (opts.cloud = cloud_find(g->cloud)) == NULL)
		return cli_usage(NULL, "--cloud '%s': expected %s%s",
		    CLI_SHOWN(g->cloud), cloud_names(),
		    getenv("DRSJOIN_CLOUD") == g->cloud ? " (from DRSJOIN_CLOUD)" : "");
	if (opts.discovery_url == NULL) {
		/* The cloud's registration host; --discovery-url overrides it. */
		if ((g->discovery_url = util_asprintf("https://%s",
		    opts.cloud->drs_host)) == NULL)
			return -1;
		opts.discovery_url = g->discovery_url;
	}
	return 0;
}

/* Shared setup chosen by the command's flags, the command, the teardown. */
static int
run_command(const struct command *cmd, int argc, char **argv, struct globals *g)
{
	int c, rc, net = 0;

	if (cmd->flags & CMD_NETWORK) {
		struct http_options ho = { opts.cacert, opts.proxy, opts.timeout,
		    opts.attempts, g->max_wait, g->resolve };

		if (http_global_init() < 0)
			return -1;
		net = 1;
		if (http_set_options(&ho) < 0 || discovery_url_check() < 0) {
			http_global_cleanup();
			return -1;
		}
	}
	/* The command enters the sandbox once it has read its options. */
	sandbox_setup(cmd->sandbox);
	/* The command sees its own name as argv[0], as getopt expects. */
	c = optind;
	optind = 1;
	opterr = 0;
	rc = cmd->fn(argc - c, argv + c);
	if (rc == 0)
		rc = flush_stdout();
	keystore_cleanup();
	if (net)
		http_global_cleanup();
	return rc;
}

int
main(int argc, char **argv)
{
	struct globals g = { .resolve = { NULL } };
	const struct command *cmd;
	int rc = -1;

	util_clock_start();
	/* Before anything opens a file or reads a secret. */
	if (proc_harden() < 0)
		return log_exit_code();
	/*
	 * A reader of stdout or stderr that went away (| head -1) must not kill
	 * a join between its request and its commit: writes fail with EPIPE
	 * instead, stdout's reported when it is closed, stderr's ignored.
	 */
	signal(SIGPIPE, SIG_IGN);
	from_environment(&g);
	if ((rc = parse_globals(argc, argv, &g)) != 0)
		return rc > 0 ? EXIT_OK : log_exit_code();
	rc = -1;
	/* The first -v line: what a support ticket needs to know first. */
	log_debug(1, "drsjoin %s (%s; %s; tpm2-tss %s; cJSON %s)", DRSJOIN_VERSION,
	    crypto_library_version(), http_library_version(), tpm_library_version(),
	    json_library_version());
	if (settle_globals(argc, argv, &g) < 0)
		goto out;
	if (g.show_version) {
		rc = version() == 0 ? flush_stdout() : -1;
		goto out;
	}
	if (optind >= argc) {
		usage(stderr);
		cli_usage(NULL, "no command given");
		goto out;
	}
	if ((cmd = find_command(argv[optind])) != NULL)
		rc = run_command(cmd, argc, argv, &g);
out:
	free(g.state_dir);
	free(g.discovery_url);
	return rc == 0 ? EXIT_OK : log_exit_code();
}
