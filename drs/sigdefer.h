/*
 * sigdefer.h - SIGINT, SIGTERM, SIGHUP and SIGQUIT held over a step that must not
 * stop half-way (a join's request and the commit or removal of what it
 * created). The first such signal is only recorded; the caller finishes
 * the step, then exits with sigdefer_exit_code() and a line saying what it
 * did. A second one aborts at once: the handler writes the line set by
 * sigdefer_abort_line() (say, which device may be left behind) and the
 * process dies of that signal.
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
/* The first signal received so far (0: none). */
int sigdefer_pending(void);
/* Restores the earlier handlers; returns the first signal received (0: none). */
int sigdefer_end(void);
/* What a process killed by sig exits with in a shell: 128 + sig. */
int sigdefer_exit_code(int sig);
/* "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT". */
const char *sigdefer_name(int sig);

#endif
