/*
 * bench_run IN OUT ERR PROGRAM [ARG...] - runs PROGRAM once with its
 * standard streams on the files IN, OUT and ERR, and prints the seconds
 * from just before posix_spawn() to waitpid()'s return, then its exit code.
 *
 * Not part of drsjoin. make bench's yardsticks time themselves from
 * connect(); this times a whole drsjoin process (exec, start-up, exit and
 * reaping included) with nothing of a harness in it: a Python parent's
 * pipes, selector wake-ups and polling wait added up to a millisecond.
 *
 * exit: 0 (the figure printed), or 1 with a line on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	double start, elapsed;
	pid_t pid;
	int status, err;

	if (argc < 5) {
		fprintf(stderr, "usage: bench_run IN OUT ERR PROGRAM [ARG...]\n");
		return 1;
	}
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, argv[1], O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, argv[2],
	    O_WRONLY | O_CREAT | O_TRUNC, 0600) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, argv[3],
	    O_WRONLY | O_CREAT | O_TRUNC, 0600) != 0) {
		fprintf(stderr, "bench_run: file actions failed\n");
		return 1;
	}
	start = now();
	if ((err = posix_spawn(&pid, argv[4], &fa, NULL, argv + 4, environ)) != 0) {
		fprintf(stderr, "bench_run: %s: %s\n", argv[4], strerror(err));
		return 1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "bench_run: waitpid: %s\n", strerror(errno));
			return 1;
		}
	}
	elapsed = now() - start;
	if (printf("%.6f %d\n", elapsed, WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status)) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "bench_run: writing stdout: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
