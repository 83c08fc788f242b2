/*
 * state.h - the state directory: checked once, then used through one
 * directory descriptor, never following a symbolic link.
 *
 * state_open() checks the state dir and each of its parents as OpenSSH's
 * safe_path does: owned by root or the effective uid, not writable by group
 * or others (a root-owned sticky parent such as /tmp is accepted: nobody
 * else can rename or remove our entry in it), no symbolic link anywhere in
 * the path. It keeps the directory open; every other function takes a name
 * RELATIVE to it ("staging/SET/device-key.pem"): components separated by
 * '/', none empty, "." or "..", no leading '/'. Each component is opened
 * with O_NOFOLLOW, so a link planted inside the state dir is never
 * followed. Errors are EXIT_IO and name the absolute path.
 *
 * Files outside the state dir (documents, token files) are read with
 * state_read_file()/state_read_fd().
 */
#ifndef DRS_STATE_H
#define DRS_STATE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * dir made absolute (relative to the working directory) and normalised:
 * no "." or empty components, ".." taken lexically (a path with a symbolic
 * link in it is refused by state_open anyway). New string; NULL (reported,
 * EXIT_USAGE for an empty dir) on failure.
 */
char *state_absolute(const char *dir);

/*
 * Opens and checks the state dir (absolute, see state_absolute). With
 * create, missing components are made (parents 0755, the dir 0700).
 * 0, or 1 when !create and it does not exist, or -1 (EXIT_IO: "state dir
 * PATH: WHAT is REASON"). Opening another one closes the previous one.
 */
int state_open(const char *dir, int create);
/* The open state dir's absolute path, or NULL when none is open. */
const char *state_path(void);
/* Its descriptor, or -1. */
int state_dirfd(void);
/* "PATH/rel" (or PATH for "."), for messages and records. New string. */
char *state_abs(const char *rel);
/*
 * abs relative to the open state dir: a pointer into abs past "PATH/", or
 * NULL when abs is not inside it (or is not a valid relative name there).
 */
const char *state_rel(const char *abs);
/*
 * A path a record holds, as a name relative to the open state dir: a
 * relative name (what records hold now) as it is, when valid; an absolute
 * path (older records) through state_rel. NULL when it is neither, or lies
 * outside this state dir (a record of a state dir that was moved).
 */
const char *state_rel_any(const char *path);
/* 1 when name is one usable path component: not empty, ".", ".." and no '/'. */
int state_name_ok(const char *name);

/* Exclusive lock on .lock in the state dir for the life of the process. */
int state_lock(void);

/*
 * Opens rel (O_NOFOLLOW on every component), with flags | O_CLOEXEC |
 * O_NOFOLLOW | O_NOCTTY; rel "." is the state dir itself. Not reported:
 * -1 with errno (ELOOP for a link, EINVAL for a bad name).
 */
int state_openat(const char *rel, int flags, mode_t mode);
/* lstat of rel (a link is not followed); -1 with errno, not reported. */
int state_lstat(const char *rel, struct stat *st);

/*
 * Reads the regular file rel (at most max bytes) into a new NUL-terminated
 * buffer: 0, 1 when it does not exist (not reported), -1 (EXIT_IO).
 */
int state_read(const char *rel, size_t max, char **buf, size_t *len);
/*
 * Writes rel atomically: a temporary beside it (O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode), fsync'd, renamed over rel. 0 when renamed and the directory
 * fsync'd; 1 when renamed but the directory fsync failed (reported as a
 * note: the new file stands); -1 (EXIT_IO) when rel is unchanged.
 */
int state_replace(const char *rel, const void *buf, size_t len, mode_t mode);
/*
 * The same without the two fsyncs, for a cache whose loss is only a miss:
 * still all or nothing while the machine runs, but after a power loss rel
 * may be old, empty or torn, so its reader must take any content as
 * hostile. 0 / -1 (EXIT_IO).
 */
int state_replace_cache(const char *rel, const void *buf, size_t len, mode_t mode);
/* Same, but fails (EXIT_IO) when rel exists: for keys, never overwritten
 * (renameat2 RENAME_NOREPLACE: no temporary is left behind). */
int state_create(const char *rel, const void *buf, size_t len, mode_t mode);
/* Creates directory rel 0700; an existing directory is fine, a link is refused. */
int state_mkdir(const char *rel);
/* renameat of from to to, both relative; EXIT_IO. */
int state_rename(const char *from, const char *to);
/* fsync of directory rel ("." for the state dir), so a rename survives a crash. */
int state_sync(const char *rel);
/*
 * Unlinks the file (or link, never its target) rel, its directory reached
 * with O_NOFOLLOW on every component: 0, or -1 with errno (ENOENT
 * included; ELOOP when a directory on the way is a link). Not reported.
 */
int state_unlink(const char *rel);
/*
 * Removes rel: a file, a link (never its target) or a whole tree. Best
 * effort and silent: -1 when something could not be removed.
 */
int state_remove(const char *rel);

/*
 * Files outside the state dir (documents, token files, CA bundles): the
 * input rule. A path is opened O_NONBLOCK (no open waits for a FIFO's
 * writer or a device) and must then be
 *   - a regular file, or
 *   - a pipe named by a descriptor path (state_fd_path: /dev/stdin,
 *     /dev/fd/N, /proc/self/fd/N: process substitution "<(cmd)", or the
 *     shell's stdin), read to its end like stdin (O_NONBLOCK cleared);
 * anything else - a named FIFO on disk (mkfifo: it may never get a
 * writer), a directory, a device (/dev/zero, /dev/tty), a socket - is
 * refused with code, naming what. Reads stop at their size limit, so a
 * pipe or file that never ends is refused, not read into memory.
 */
int state_fd_path(const char *path);
/* 1 when path is stdin ("-", /dev/stdin, /dev/fd/0, /proc/self/fd/0). */
int state_is_stdin(const char *path);
/* Why st (of path) is refused as an input, or NULL when it is accepted. */
const char *state_input_refused(const char *path, const struct stat *st);
/*
 * Opens path as the input rule says (following a final symbolic link only
 * with follow, or for a descriptor path); the descriptor, or -1 reported
 * with code, starting with what.
 */
int state_input_open(const char *path, int follow, const char *what, int code);
/*
 * Reads a whole input (not through a final symlink, save a descriptor
 * path) of at most max bytes into a new NUL-terminated buffer. Errors are
 * reported with code naming path. *len may be NULL.
 */
int state_read_file(const char *path, size_t max, int code, char **buf, size_t *len);
/* The same through symlinks (a system CA bundle may be one), errors
 * starting with what instead of path. */
int state_read_linked(const char *path, const char *what, size_t max, int code,
    char **buf, size_t *len);
/*
 * Opens the regular file path (absolute) for reading after checking it and
 * every parent as state_open checks the state dir: owned by root or the
 * effective uid, not writable by group or others (a root-owned sticky
 * parent excepted), no symbolic link anywhere. The descriptor; -2 when a
 * component does not exist (not reported); -1 reported with code.
 */
int state_open_safe_file(const char *path, int code);
/* Reads all of fd (stdin) into a new NUL-terminated buffer, at most max bytes. */
int state_read_fd(int fd, const char *what, size_t max, int code, char **buf, size_t *len);

/* Test hook: the fsync used for directories (unit tests make it fail). */
extern int (*state_fsync_dir)(int fd);

#endif
