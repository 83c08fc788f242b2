/* sandbox.c - Landlock confinement once the options are known (sandbox.h). */
#define _GNU_SOURCE		/* O_PATH, for glibc (the ASan build) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cabundle.h"
#include "cli.h"
#include "log.h"
#include "machine.h"
#include "sandbox.h"
#include "state.h"

/*
 * The Landlock ABI (linux/landlock.h), spelled out here: musl-gcc sees no
 * kernel headers, and these values are the kernel's stable interface.
 */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_RULE_PATH_BENEATH		1

#define FS_EXECUTE	(1ULL << 0)
#define FS_WRITE_FILE	(1ULL << 1)
#define FS_READ_FILE	(1ULL << 2)
#define FS_READ_DIR	(1ULL << 3)
#define FS_REMOVE_DIR	(1ULL << 4)
#define FS_REMOVE_FILE	(1ULL << 5)
#define FS_MAKE_CHAR	(1ULL << 6)
#define FS_MAKE_DIR	(1ULL << 7)
#define FS_MAKE_REG	(1ULL << 8)
#define FS_MAKE_SOCK	(1ULL << 9)
#define FS_MAKE_FIFO	(1ULL << 10)
#define FS_MAKE_BLOCK	(1ULL << 11)
#define FS_MAKE_SYM	(1ULL << 12)
#define FS_REFER	(1ULL << 13)	/* ABI 2 */
#define FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#define FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#define SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)	/* ABI 6 */
#define SCOPE_SIGNAL			(1ULL << 1)	/* ABI 6 */

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4; left 0: see below */
	uint64_t scoped;		/* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* Rights that make sense on a file (the kernel refuses the others there). */
#define FILE_RIGHTS (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | \
	FS_IOCTL_DEV)
#define READ_RIGHTS (FS_READ_FILE | FS_READ_DIR)
/* Under the state dir: files and directories, never links or special files. */
#define STATE_RIGHTS (READ_RIGHTS | FS_WRITE_FILE | FS_REMOVE_DIR | \
	FS_REMOVE_FILE | FS_MAKE_DIR | FS_MAKE_REG | FS_REFER | FS_TRUNCATE)
#define TPM_RIGHTS (FS_READ_FILE | FS_WRITE_FILE | FS_IOCTL_DEV)

/*
 * What every command may read: the OS's name for the join request, the time
 * zone, the random device (mbedTLS and musl use getrandom(2); this is the
 * fallback), and with the network the resolver's files (musl reads
 * resolv.conf and hosts; the others are for a glibc build).
 */
static const char *const common_files[] = {
	"/etc/os-release", "/usr/lib/os-release", "/etc/localtime",
	"/dev/urandom", NULL,
};
static const char *const net_files[] = {
	"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf",
	"/etc/gai.conf", "/etc/services", NULL,
};

#define MAX_RULES 64

static struct {
	unsigned int needs;
	int entered;
	size_t n;
	struct { int fd; uint64_t rights; } rule[MAX_RULES];
} sb;

void
sandbox_setup(unsigned int needs)
{
	sb.needs = needs;
}

int
sandbox_entered(void)
{
	return sb.entered;
}

/*
 * Adds path to the rules with rights (trimmed to a file's rights when it is
 * not a directory). The rule holds the inode the path names now, following
 * links (os-release is one), unless nofollow. A path that is not there
 * needs no rule.
 */
static int
add_path(const char *path, uint64_t rights, int nofollow)
{
	struct stat st;
	int fd;

	if (path == NULL || *path == '\0' || strcmp(path, "-") == 0)
		return 0;
	if (sb.n == MAX_RULES)
		return log_fail(EXIT_INTERNAL, "sandbox: more than %d paths", MAX_RULES);
	fd = open(path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
		    errno == EACCES || errno == ENAMETOOLONG)
			return 0;	/* opening it later fails the same way */
		return log_fail(EXIT_INTERNAL, "sandbox: %s: %s", CLI_SHOWN(path),
		    strerror(errno));
	}
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rights &= FILE_RIGHTS;
	sb.rule[sb.n].fd = fd;
	sb.rule[sb.n].rights = rights;
	sb.n++;
	return 0;
}

int
sandbox_read(const char *path)
{
	return add_path(path, READ_RIGHTS, 0);
}

static int
add_list(const char *const *paths, uint64_t rights)
{
	for (; *paths != NULL; paths++)
		if (add_path(*paths, rights, 0) < 0)
			return -1;
	return 0;
}

/* The TPM device nodes (/dev/tpm0, /dev/tpmrm0, ...), and a device TCTI's path. */
static int
add_tpm(void)
{
	const char *specs[] = { opts.tcti, getenv("DRSJOIN_TCTI"),
	    getenv("TPM2TOOLS_TCTI") };
	struct dirent *e;
	DIR *d;
	size_t i;
	char path[300];

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (specs[i] != NULL && strncmp(specs[i], "device:", 7) == 0 &&
		    add_path(specs[i] + 7, TPM_RIGHTS, 0) < 0)
			return -1;
	if ((d = opendir("/dev")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "tpm", 3) != 0 || strlen(e->d_name) > 64)
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (add_path(path, TPM_RIGHTS, 1) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * The ASan build only (make check runs the integration tests with it; no
 * release has it). At exit LeakSanitizer lists /proc/self/task and reads
 * /proc/self/maps to stop the threads and find the roots; inside Landlock
 * that is refused and it dies instead of reporting ("Can't open
 * /proc/PID/task"). Its reports (and
 * UBSan's) go to files under DRSJOIN_SANITIZER_LOG_DIR when the tests set
 * it, as the test programs keep drsjoin's stderr to themselves.
 */
static int
add_sanitizer(void)
{
	const char *dir = getenv("DRSJOIN_SANITIZER_LOG_DIR");

	/* /proc/self/exe: the binary, for the reports' symbols. */
	if (add_path("/proc/self", READ_RIGHTS, 0) < 0 ||
	    add_path("/proc/self/exe", READ_RIGHTS, 0) < 0)
		return -1;
	return dir == NULL ? 0 : add_path(dir, READ_RIGHTS | FS_WRITE_FILE |
	    FS_MAKE_REG | FS_TRUNCATE, 1);
}
#else
static int
add_sanitizer(void)
{
	return 0;
}
#endif

static void
close_rules(void)
{
	size_t i;

	for (i = 0; i < sb.n; i++)
		close(sb.rule[i].fd);
	sb.n = 0;
}

/* The rights this ABI knows: all of them are handled, so all are denied
 * where no rule grants them. */
static uint64_t
fs_rights(int abi)
{
	uint64_t r = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_READ_DIR |
	    FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR |
	    FS_MAKE_REG | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM;

	if (abi >= 2)
		r |= FS_REFER;
	if (abi >= 3)
		r |= FS_TRUNCATE;
	if (abi >= 5)
		r |= FS_IOCTL_DEV;
	return r;
}

#ifdef DRSJOIN_TEST_HOOKS
/*
 * Test builds only (make check): DRSJOIN_TEST_SANDBOX_WRITE=PATH makes
 * drsjoin try to create PATH once confined, as a bug would, and say what the
 * kernel answered; DRSJOIN_TEST_NO_LANDLOCK=1 plays a kernel without it.
 */
static void
test_write_probe(void)
{
	const char *p = getenv("DRSJOIN_TEST_SANDBOX_WRITE");
	int fd;

	if (p == NULL)
		return;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	fprintf(stderr, "sandbox test: create %s: %s\n", p,
	    fd >= 0 ? "done" : strerror(errno));
	if (fd >= 0)
		close(fd);
}
#define TEST_NO_LANDLOCK() (getenv("DRSJOIN_TEST_NO_LANDLOCK") != NULL)
#else
#define test_write_probe() ((void)0)
#define TEST_NO_LANDLOCK() 0
#endif

/* ENOSYS: not built in; EOPNOTSUPP: built, not enabled at boot; EPERM: a
 * seccomp filter (containers) refusing it. */
static int
not_offered(int err)
{
	return err == ENOSYS || err == EOPNOTSUPP || err == EPERM;
}

/* The paths this command may use, as rules (sb.rule). -1 reported. */
static int
declare_rules(void)
{
	/*
	 * The state dir must exist for a rule to name it: a command that
	 * writes it would create it at its first write anyway.
	 */
	if ((sb.needs & SANDBOX_STATE_WRITE) && state_open(opts.state_dir, 1) < 0)
		return -1;
	/*
	 * csr too, if it can: in "keygen | csr" it gets here before keygen
	 * made the dir, and then could never read the keys. Quietly: where it
	 * cannot be made, reading the keys says why.
	 */
	if ((sb.needs & SANDBOX_STATE_MAKE) && !(sb.needs & SANDBOX_STATE_WRITE)) {
		log_mute(1);
		state_open(opts.state_dir, 1);
		log_mute(0);
	}
	/* Which machine this is (machine.h): keygen, join, status, leave. */
	if (add_list(common_files, READ_RIGHTS) < 0 ||
	    add_path(machine_id_path(), READ_RIGHTS, 0) < 0 ||
	    add_path(machine_dmi_path(), READ_RIGHTS, 0) < 0)
		return -1;
	if ((sb.needs & SANDBOX_NET) &&
	    (add_list(net_files, READ_RIGHTS) < 0 ||
	    /* Every place cabundle_find() may look, as it looks only later. */
	    add_path(opts.cacert, READ_RIGHTS, 0) < 0 ||
	    add_path(getenv("SSL_CERT_FILE"), READ_RIGHTS, 0) < 0 ||
	    add_list(cabundle_system_paths, READ_RIGHTS) < 0))
		return -1;
	if ((sb.needs & SANDBOX_TPM) && add_tpm() < 0)
		return -1;
	if (add_sanitizer() < 0)
		return -1;
	/* Not through a link: the state code refuses a linked state dir itself. */
	if ((sb.needs & (SANDBOX_STATE_READ | SANDBOX_STATE_WRITE)) &&
	    add_path(opts.state_dir, sb.needs & (SANDBOX_STATE_WRITE |
	    SANDBOX_STATE_UPDATE) ? STATE_RIGHTS : READ_RIGHTS, 1) < 0)
		return -1;
	return 0;
}

/* The ruleset of Landlock ABI abi with every rule of sb; -1 reported. */
static int
make_ruleset(long abi)
{
	struct ll_ruleset_attr ra = { 0 };
	struct ll_path_beneath_attr pb;
	uint64_t handled = fs_rights((int)abi);
	int rs;
	size_t i;

	ra.handled_access_fs = handled;
	/*
	 * The network stays open: the service, a proxy (any port the user
	 * names) and swtpm's TCP ports are all legitimate peers. Abstract
	 * UNIX sockets and signals to processes outside are closed (ABI 6).
	 */
	if (abi >= 6)
		ra.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
	rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (rs < 0)
		return log_fail(EXIT_INTERNAL, "sandbox: Landlock ABI %ld ruleset: %s",
		    abi, strerror(errno));
	for (i = 0; i < sb.n; i++) {
		pb.allowed_access = sb.rule[i].rights & handled;
		pb.parent_fd = sb.rule[i].fd;
		if (syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &pb, 0) < 0 &&
		    /* A pipe (/dev/stdin) is no path: Landlock leaves it open. */
		    errno != EBADFD) {
			log_fail(EXIT_INTERNAL, "sandbox: Landlock rule: %s",
			    strerror(errno));
			close(rs);
			return -1;
		}
	}
	return rs;
}

/* Confines this thread (and those it starts) by the rules. -1 reported. */
static int
confine(void)
{
	long abi;
	int rs, rc = -1;

	abi = TEST_NO_LANDLOCK() ? (errno = ENOSYS, -1) :
	    syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (!not_offered(errno))
			return log_fail(EXIT_INTERNAL, "sandbox: Landlock: %s",
			    strerror(errno));
		log_debug(1, "sandbox: this kernel offers no Landlock (%s): "
		    "running unconfined", strerror(errno));
		return 0;
	}
	if ((rs = make_ruleset(abi)) < 0)
		return -1;
	/* Required without CAP_SYS_ADMIN; drsjoin runs no other program. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) < 0) {
		log_fail(EXIT_INTERNAL, "sandbox: cannot enter Landlock: %s",
		    strerror(errno));
		goto out;
	}
	log_debug(1, "sandbox: Landlock ABI %ld: %zu paths readable, writes %s",
	    abi, sb.n, sb.needs & (SANDBOX_STATE_WRITE | SANDBOX_STATE_UPDATE) ?
	    "under the state dir only" : "nowhere");
	rc = 0;
out:
	close(rs);
	return rc;
}

int
sandbox_enter(void)
{
	int rc;

	if (sb.entered)
		return log_fail(EXIT_INTERNAL, "sandbox: entered twice");
	rc = declare_rules() < 0 ? -1 : confine();
	close_rules();
	if (rc == 0) {
		sb.entered = 1;
		test_write_probe();
	}
	return rc;
}
