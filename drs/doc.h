/*
 * doc.h - the JSON document the phases pass along a pipe.
 *
 * Each phase reads the document, adds its own part, keeps every key it does
 * not know, and writes it to stdout. The schema is in docs/state.md.
 */
#ifndef DRS_DOC_H
#define DRS_DOC_H

#include "json.h"

#define DOC_SCHEMA "drsjoin/1"

/*
 * Reads the document from path (--in), else from stdin. A new empty
 * document comes only from --new, or a stdin that is a terminal or
 * /dev/null. A phase sends a space as it starts (doc_announce): stdin
 * holding only blanks is "no document on stdin: did the previous phase
 * fail?", so a pipeline whose earlier phase failed stops; nothing at all is
 * "it is empty" (EXIT_INPUT). A pipe silent for 2 s is said to be awaited
 * (a note), and awaited on. EXIT_INPUT errors name the source.
 */
int doc_read(const char *path, struct json **doc);
/*
 * doc_read for the commands that may start a pipeline (join, discover):
 * stdin silent for 2 s (open, nobody writing: ssh, boot agents) is not
 * read, said in a note, and the document a new one.
 */
int doc_read_start(const char *path, struct json **doc);
/*
 * A phase writing its document into a pipe or socket sends a space at
 * once, so that the next phase knows a document is coming. main calls it
 * for csr, discover, keygen and nonce.
 */
void doc_announce(void);
/* A new empty document. */
int doc_new(struct json **doc);
/* Writes the document to stdout, one JSON object and a newline. */
int doc_write(const struct json *doc);
/* A string at "section.key"; NULL when absent. Borrowed. */
const char *doc_get(const struct json *doc, const char *section, const char *key);
/* Fails with EXIT_INPUT "<cmd>: the document has no <section>.<key>; run <hint> first". */
const char *doc_need(const struct json *doc, const char *section,
    const char *key, const char *cmd, const char *hint);

#endif
