/*
 * state.h - files in the state directory: atomic, exclusive, private.
 */
#ifndef DRS_STATE_H
#define DRS_STATE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes buf to path atomically: a temporary name beside it created with
 * O_CREAT|O_EXCL|O_NOFOLLOW and mode, fsync'd, renamed over path, and the
 * directory fsync'd. A half-written temporary is removed. Errors: EXIT_IO.
 */
int state_write_atomic(const char *path, const void *buf, size_t len, mode_t mode);
/* Same, but fails (EXIT_IO) when path exists: for keys, never overwritten. */
int state_write_new(const char *path, const void *buf, size_t len, mode_t mode);

/*
 * Reads a whole regular file (not through a final symlink) of at most max
 * bytes into a new NUL-terminated buffer. Errors are reported with code
 * (EXIT_INPUT for user files, EXIT_IO for state files) naming path.
 * *len may be NULL.
 */
int state_read_file(const char *path, size_t max, int code, char **buf, size_t *len);
/* Reads all of fd (stdin) into a new NUL-terminated buffer, at most max bytes. */
int state_read_fd(int fd, const char *what, size_t max, int code, char **buf, size_t *len);

/* Creates dir (and missing parents) 0700; refuses a symlink. EXIT_IO. */
int state_mkdir_private(const char *dir);
/* fsync of a directory, so a rename in it survives a crash. */
int state_sync_dir(const char *dir);
/*
 * Removes a directory tree we created. Follows no symbolic link, not even
 * at dir itself (a link there is removed, not its target). Best effort and
 * silent: -1 when something could not be removed; callers say what matters.
 */
int state_remove_tree(const char *dir);

/* Exclusive lock on DIR/.lock for the life of the process; EXIT_IO. */
int state_lock(const char *dir);

#endif
