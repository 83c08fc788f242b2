/*
 * proc.h - the process itself: standard descriptors, core dumps, and
 * secrets handed over in the environment.
 */
#ifndef DRS_PROC_H
#define DRS_PROC_H

/*
 * First thing in main: opens /dev/null on whichever of fds 0, 1, 2 is
 * closed (else the state dir's lock file or a key could become stdout),
 * disables core dumps (PR_SET_DUMPABLE 0, RLIMIT_CORE 0: the process holds
 * tokens and keys), and takes the secret variables (PROC_SECRET_VARS) out
 * of the environment: each value is copied (the first, when a name is
 * there twice, as getenv() reads it), every copy wiped where it was (so
 * /proc/PID/environ no longer shows it) and unset. 0 / -1 (EXIT_INTERNAL).
 */
int proc_harden(void);

/* The environment variables that carry secrets. */
#define PROC_SECRET_VARS { "DRSJOIN_TOKEN", "DRSJOIN_BPRT", "DRSJOIN_REFRESH_TOKEN" }

/*
 * The value a secret variable had at start (one of PROC_SECRET_VARS), or
 * NULL when it was unset or empty. Borrowed; wiped at exit.
 */
const char *proc_secret_env(const char *name);

#endif
