/*
 * sigdefer.h - SIGINT, SIGTERM, SIGHUP and SIGQUIT caught over a join, and held only
 * over a step that must not stop half-way (a request that may create a
 * device, from its first byte on, and the commit or removal of what it
 * created): sigdefer_hold() to the end.
 *
 * Caught and not held, a signal is recorded and the step under way stops
 * at once (sigdefer_stop_now(): http.c aborts a transfer or a wait between
 * attempts), exiting with sigdefer_exit_code() and a line saying that
 * nothing was done. Held, the first one is only recorded; the caller
 * finishes the step, then exits with sigdefer_exit_code() and a line saying
 * what it did. A second one aborts at once: the handler writes the line set
 * by sigdefer_abort_line() (held: say, which device may be left behind) or
 * by sigdefer_idle_line() (not held), and the process dies of that signal.
 */
#ifndef DRS_SIGDEFER_H
#define DRS_SIGDEFER_H

/*
 * Installs the handlers, except for a signal that is ignored (nohup, a
 * background job): that one stays ignored. Forgets any signal of an earlier
 * step. 0 / -1.
 */
int sigdefer_begin(void);
/*
 * The line a second signal writes before the process dies (printf-like;
 * escaped as every line; "drsjoin: " and the newline are added). It may
 * be set again as the step learns more.
 */
void sigdefer_abort_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* The line a second signal writes while nothing is held (as above). */
void sigdefer_idle_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/*
 * From now on a signal is held until sigdefer_end() (or sigdefer_release():
 * the request turned out not to be carried out, a wait follows).
 * sigdefer_begin() starts with nothing held.
 */
void sigdefer_hold(void);
void sigdefer_release(void);
/*
 * The signal to stop for at once: one received while the handlers are
 * installed and nothing is held; else 0.
 */
int sigdefer_stop_now(void);
/* The first signal received so far (0: none). */
int sigdefer_pending(void);
/* Restores the earlier handlers; returns the first signal received (0: none). */
int sigdefer_end(void);
/* What a process killed by sig exits with in a shell: 128 + sig. */
int sigdefer_exit_code(int sig);
/* "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT". */
const char *sigdefer_name(int sig);

#endif
