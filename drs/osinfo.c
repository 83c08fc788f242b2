/* osinfo.c - the OS version and host name for the join request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "osinfo.h"
#include "util.h"

/* Unquotes an os-release value in place: "a\"b" -> a"b. */
static void
unquote(char *v)
{
	char *r = v, *w = v, q = 0;

	if (*r == '"' || *r == '\'')
		q = *r++;
	for (; *r != '\0' && *r != q; r++) {
		if (*r == '\\' && r[1] != '\0')
			r++;
		*w++ = *r;
	}
	*w = '\0';
}

/* os-release is usually a symlink into /usr/lib: follow it, unlike state files. */
static char *
read_small(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(16 * 1024 + 1)) != NULL) {
		n = fread(buf, 1, 16 * 1024, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

int
osinfo_version(const char *path, char *buf, size_t n)
{
	const char *paths[] = { "/etc/os-release", "/usr/lib/os-release" };
	char *text = NULL, *line, *save = NULL;
	size_t i;

	snprintf(buf, n, "Linux");
	for (i = 0; i < 2 && text == NULL; i++) {
		const char *p = path != NULL ? path : paths[i];

		text = read_small(p);
		if (path != NULL)
			break;
	}
	if (text == NULL)
		return 0;	/* no os-release: "Linux" is still true */
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		unquote(line + 12);
		/* Control characters have no place in a JSON field we send. */
		for (char *c = line + 12; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		if (line[12] != '\0')
			snprintf(buf, n, "%s", line + 12);
		break;
	}
	free(text);
	return 0;
}

int
osinfo_hostname(char *buf, size_t n)
{
	char *dot;

	if (gethostname(buf, n) < 0 || buf[0] == '\0')
		return log_fail(EXIT_IO, "cannot read the host name; give --display-name");
	buf[n - 1] = '\0';
	/* The device name in Entra is the short name, as Windows sends it. */
	if ((dot = strchr(buf, '.')) != NULL && dot != buf)
		*dot = '\0';
	return 0;
}
