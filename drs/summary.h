/*
 * summary.h - what join, leave and status print for a person at a
 * terminal, and whether they print JSON, a summary or nothing.
 *
 * join and leave (status always prints, see status.c):
 *   --json            JSON on stdout, whatever else
 *   -q                nothing on stdout (the exit code and stderr tell)
 *   stdout a terminal a short summary, one fact a line
 *   otherwise         JSON (a pipe, a file: scripts)
 */
#ifndef DRS_SUMMARY_H
#define DRS_SUMMARY_H

#include "json.h"

enum summary_out { SUMMARY_JSON, SUMMARY_TEXT, SUMMARY_NONE };

/* What join and leave print, from --json (json_opt), -q and stdout. */
enum summary_out summary_out(int json_opt);

/*
 * A string member of o for the terminal, at most 200 bytes, "-" when
 * absent or empty. A tampered device.json must not drive the terminal:
 * control characters (C0, DEL, C1 as UTF-8) become '?'. Points into one
 * of four static buffers (four fields may be used in one printf).
 */
const char *summary_field(const struct json *o, const char *key);

/*
 * join's summary of the identity record rec ("device" of the document):
 * already says whether this run joined or found it joined. 0 / -1.
 */
int summary_join(const struct json *rec, int already);
/*
 * leave's summary: rec (the removed record; NULL for a corrupt one moved
 * aside) and what the service said ("deleted", "not_found",
 * "not_contacted"); service NULL: this machine was not joined.
 */
int summary_leave(const struct json *rec, const char *service);

#endif
