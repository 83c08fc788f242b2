/*
 * sandbox.h - drsjoin confines itself with Landlock once its options are
 * parsed, before it reads a document or a token or sends a byte.
 *
 * Inside, drsjoin can read only what it declared: the files named on its
 * command line, the CA bundles, the resolver's and the OS's files in /etc,
 * the TPM devices, and the state dir; it can write only under the state dir
 * (files and directories: no links, devices, sockets or fifos), and through
 * the descriptors it already holds (stdin, stdout, stderr). A bug that
 * opens another path gets EACCES from the kernel.
 *
 * The order, in every command:
 *
 *   sandbox_setup(SANDBOX_NET | ...)  main, from the command table
 *   sandbox_read(path)           the command, once per file option it got
 *   sandbox_enter()              the command, right after its options
 *
 * Every new option naming a file drsjoin reads must be declared with
 * sandbox_read() (HACKING.md); the tests run each command inside the sandbox.
 * On a kernel without Landlock drsjoin goes on unconfined, and says so at -v.
 */
#ifndef DRS_SANDBOX_H
#define DRS_SANDBOX_H

#define SANDBOX_NET		0x1	/* CA bundles, resolver files */
#define SANDBOX_STATE_READ	0x2	/* read the state dir */
#define SANDBOX_STATE_WRITE	0x4	/* write under the state dir (created) */
#define SANDBOX_TPM		0x8	/* the TPM device nodes */
#define SANDBOX_STATE_MAKE	0x10	/* a reader that makes the state dir if it can */
#define SANDBOX_STATE_UPDATE	0x20	/* a reader that may write an existing one (status.json) */

/*
 * What the command needs besides its own files (SANDBOX_* bits); the state
 * dir, --cacert and --tcti come from opts (cli.h).
 */
void sandbox_setup(unsigned int needs);
/*
 * Declares a file (or directory, read with what is beneath it) the command
 * will read. NULL and "-" (stdin) are no path and are ignored, as is a path
 * that does not exist (reading it fails with ENOENT all the same).
 */
int sandbox_read(const char *path);
/*
 * Enters the sandbox: 0, also when the kernel has no Landlock; -1 (reported)
 * when it could not be built, or the state dir could not be created.
 */
int sandbox_enter(void);
/* 1 once sandbox_enter() ran (confined or not): the network may start. */
int sandbox_entered(void);

#endif
