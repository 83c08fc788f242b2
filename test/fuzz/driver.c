/*
 * driver.c - runs a fuzz target (LLVMFuzzerTestOneInput) without libFuzzer:
 * over its seeds, then over mutations of them drawn from a fixed-seed
 * generator, so `make check` repeats the same inputs under ASan+UBSan every
 * time. A crash or a sanitizer report ends the program non-zero; a clean
 * run prints one "ok" line.
 *
 * usage: fuzz_NAME [ITERATIONS]   seeds: $DRSJOIN_TOP/test/fuzz/corpus/NAME/
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Sanitizer reports go to this descriptor (weak: absent without ASan). */
void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

#define MAX_SEEDS 64
#define FUZZ_MAX_INPUT 8192

static uint8_t *seed[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS], nseeds;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next(void)
{
	/* xorshift64*: fixed seed, the same inputs every run. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static void
load_seeds(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL && nseeds < MAX_SEEDS) {
		char path[8192];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		seed[nseeds] = malloc(FUZZ_MAX_INPUT);
		seed_len[nseeds] = fread(seed[nseeds], 1, FUZZ_MAX_INPUT, f);
		fclose(f);
		nseeds++;
	}
	if (d != NULL)
		closedir(d);
}

/* One mutation of a seed: flips, byte sets, inserts, deletes, cuts, splices. */
static size_t
mutate(uint8_t *buf, size_t len)
{
	int i, n = 1 + (int)(next() % 8);

	for (i = 0; i < n; i++) {
		size_t at = len ? (size_t)(next() % len) : 0;
		static const uint8_t interesting[] = { 0, 0x7f, 0x80, 0xff, '"', '\\',
		    '{', '}', '[', ']', ':', ',', '.', '=', '0', 'A', ' ', '\n' };

		switch (next() % 7) {
		case 0:
			if (len)
				buf[at] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1:
			if (len)
				buf[at] = interesting[next() % sizeof(interesting)];
			break;
		case 2:
			if (len < FUZZ_MAX_INPUT) {
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (uint8_t)next();
				len++;
			}
			break;
		case 3:
			if (len) {
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
			}
			break;
		case 4:
			len = at;
			break;
		case 5: {
			size_t s = (size_t)(next() % nseeds), from, k;

			if (seed_len[s] == 0)
				break;
			from = (size_t)(next() % seed_len[s]);
			k = (size_t)(next() % (seed_len[s] - from)) + 1;
			if (at + k > FUZZ_MAX_INPUT)
				k = FUZZ_MAX_INPUT - at;
			memcpy(buf + at, seed[s] + from, k);
			if (at + k > len)
				len = at + k;
			break;
		}
		default:
			if (len && len < FUZZ_MAX_INPUT)
				buf[len++] = buf[at];
			break;
		}
	}
	return len;
}

int
main(int argc, char **argv)
{
	const char *top = getenv("DRSJOIN_TOP"), *name = strrchr(argv[0], '/');
	long iterations = argc > 1 ? atol(argv[1]) : 100000, i;
	char dir[4096];
	uint8_t *buf = malloc(FUZZ_MAX_INPUT);
	int devnull;

	name = name ? name + 1 : argv[0];
	if (strncmp(name, "fuzz_", 5) == 0)
		name += 5;
	snprintf(dir, sizeof(dir), "%s/test/fuzz/corpus/%s", top ? top : ".", name);
	load_seeds(dir);
	if (nseeds == 0 || buf == NULL) {
		printf("not ok - fuzz %s: no seeds in %s\n", name, dir);
		return 1;
	}
	/*
	 * The targets report every bad input on stderr: thousands of lines.
	 * Those go to /dev/null; a sanitizer report still reaches the real stderr.
	 */
	if (__sanitizer_set_report_fd != NULL)
		__sanitizer_set_report_fd((void *)(intptr_t)dup(2));
	if (getenv("FUZZ_VERBOSE") == NULL &&
	    (devnull = open("/dev/null", O_WRONLY)) >= 0)
		dup2(devnull, 2);
	for (i = 0; i < (long)nseeds; i++)
		LLVMFuzzerTestOneInput(seed[i], seed_len[i]);
	for (i = 0; i < iterations; i++) {
		size_t s = (size_t)(next() % nseeds), len = seed_len[s];

		memcpy(buf, seed[s], len);
		len = mutate(buf, len);
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("ok - fuzz %s: %zu seeds and %ld mutated inputs, no sanitizer report\n",
	    name, nseeds, iterations);
	for (i = 0; i < (long)nseeds; i++)
		free(seed[i]);
	free(buf);
	return 0;
}
