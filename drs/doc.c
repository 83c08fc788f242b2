/* doc.c - reading, checking and writing the pipeline document. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "doc.h"
#include "log.h"
#include "state.h"
#include "util.h"

/* A document holds endpoints, a nonce, a CSR and a certificate. */
#define DOC_MAX (1024 * 1024)
/* How long stdin may stay silent before that is said (and, for doc_read_start, taken as no document). */
#define DOC_WAIT_MS 2000

int
doc_new(struct json **docp)
{
	if ((*docp = json_new_object()) == NULL)
		return -1;
	if (json_set_string(*docp, "schema", DOC_SCHEMA) < 0) {
		json_free(*docp);
		*docp = NULL;
		return -1;
	}
	return 0;
}

/*
 * stdin is /dev/null (a service, </dev/null): the device itself, 1:3 on
 * Linux, so that a chroot without /dev says the same.
 */
static int
stdin_is_dev_null(void)
{
	struct stat in;

	return fstat(0, &in) == 0 && S_ISCHR(in.st_mode) &&
	    major(in.st_rdev) == 1 && minor(in.st_rdev) == 3;
}

void
doc_announce(void)
{
	struct stat st;

	/* A space, not a newline: the document stays on one line (read -r). */
	if (fstat(1, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
	    write(1, " ", 1) < 0) {
		/* The document's own write reports a broken stdout. */
	}
}

/*
 * stdin that is no file: waits for its first byte or its end. A phase
 * before this one sends a space as it starts (doc_announce), so its
 * document is always awaited. 1: something to read; 0: nothing came in
 * DOC_WAIT_MS and give_up (said in a note); else a note says what is
 * awaited, and the wait goes on.
 */
static int
stdin_ready(int give_up)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	struct stat st;
	int n, noted = 0;

	if (fstat(0, &st) < 0 || S_ISREG(st.st_mode))
		return 1;
	for (;;) {
		n = poll(&p, 1, noted ? -1 : DOC_WAIT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		/* Readable, closed, or an error that read() then reports. */
		if (n != 0)
			return 1;
		if (give_up) {
			log_note("stdin: nothing came in %d s (an open stdin nobody "
			    "writes to, as under ssh): not read, starting without a "
			    "document (a drsjoin phase before this one sends its first "
			    "byte at once; --in /dev/stdin waits for any writer)",
			    DOC_WAIT_MS / 1000);
			return 0;
		}
		log_note("waiting for the document on stdin: nothing came in %d s "
		    "(--new starts without one)", DOC_WAIT_MS / 1000);
		noted = 1;
	}
}

/* stdin held only blanks (a phase's space) or nothing at all: which. */
static void
no_document(size_t len)
{
	struct stat st;

	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode))
		log_fail(EXIT_INPUT, "no document on stdin: the file is empty or "
		    "blank (--new starts a new document)");
	/* A phase's space and no document: the phase failed. */
	else if (len > 0)
		log_fail(EXIT_INPUT, "no document on stdin: did the previous phase "
		    "fail? (--new starts a new document)");
	else
		log_fail(EXIT_INPUT, "no document on stdin: it is empty, nothing "
		    "was written to it (--new, or </dev/null, starts a new document)");
}

static int
read_doc(const char *path, int give_up, struct json **docp)
{
	char *buf = NULL;
	/* --in as any argument is echoed (a token given as one is not). */
	const char *what = path != NULL ? CLI_SHOWN(path) : "document (stdin)";
	const char *schema;
	struct json *doc = NULL;
	size_t len = 0, i;
	int rc = -1;

	*docp = NULL;
	if (opts.new_doc) {
		if (path != NULL)
			return cli_usage(NULL, "--new and --in contradict each other");
		return doc_new(docp);
	}
	/* Only a terminal or /dev/null on stdin means "no document yet". */
	if (path == NULL && (isatty(0) || stdin_is_dev_null()))
		return doc_new(docp);
	if (path == NULL && !stdin_ready(give_up))
		return doc_new(docp);
	if (path != NULL) {
		if (state_read_file(path, DOC_MAX, EXIT_INPUT, &buf, &len) < 0)
			return -1;
	} else if (state_read_fd(0, what, DOC_MAX, EXIT_INPUT, &buf, &len) < 0) {
		return -1;
	}
	for (i = 0; i < len && strchr(" \t\r\n", buf[i]) != NULL; i++)
		;
	if (i == len) {
		if (path == NULL)
			no_document(len);
		else
			log_fail(EXIT_INPUT, "%s: empty, no document: did the phase that "
			    "wrote it fail? (--new starts a new document)", what);
		goto out;
	}
	if ((doc = json_parse(buf, len, EXIT_INPUT, what)) == NULL)
		goto out;
	if (!json_is_object(doc)) {
		log_fail(EXIT_INPUT, "%s: not a JSON object", what);
		goto out;
	}
	schema = json_get_string(doc, "schema");
	if (schema == NULL) {
		log_fail(EXIT_INPUT, "%s: not a drsjoin document (no \"schema\")", what);
		goto out;
	}
	if (strcmp(schema, DOC_SCHEMA) != 0) {
		log_fail(EXIT_INPUT, "%s: schema '%s' is not supported (this "
		    "drsjoin reads %s)", what, schema, DOC_SCHEMA);
		goto out;
	}
	*docp = doc;
	doc = NULL;
	rc = 0;
out:
	json_free(doc);
	/* The document may hold a nonce. */
	util_free_secret_buf(buf, len);
	return rc;
}

int
doc_read(const char *path, struct json **docp)
{
	return read_doc(path, 0, docp);
}

int
doc_read_start(const char *path, struct json **docp)
{
	return read_doc(path, 1, docp);
}

int
doc_write(const struct json *doc)
{
	char *s = json_print(doc, opts.compact ? JSON_SORT : JSON_SORT | JSON_INDENT);
	int rc = 0;

	if (s == NULL)
		return -1;
	if (fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF)
		rc = log_fail(EXIT_IO, "writing the document to stdout failed");
	util_free_secret(s);
	return rc;
}

const char *
doc_get(const struct json *doc, const char *section, const char *key)
{
	return json_get_string(json_get_object(doc, section), key);
}

const char *
doc_need(const struct json *doc, const char *section, const char *key,
    const char *cmd, const char *hint)
{
	const char *v = doc_get(doc, section, key);

	if (v == NULL || *v == '\0') {
		log_fail(EXIT_INPUT, "%s: the document has no %s.%s; run "
		    "'drsjoin %s' first", cmd, section, key, hint);
		return NULL;
	}
	return v;
}
