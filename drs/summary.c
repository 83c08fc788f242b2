/* summary.c - output for a person at a terminal (see summary.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "summary.h"

enum summary_out
summary_out(int json_opt)
{
	if (json_opt)
		return SUMMARY_JSON;
	if (log_level == 0)
		return SUMMARY_NONE;
	return isatty(1) ? SUMMARY_TEXT : SUMMARY_JSON;
}

const char *
summary_field(const struct json *o, const char *key)
{
	static char buf[4][201];
	static int n;
	const char *v = json_get_string(o, key);
	char *b = buf[n++ % 4];

	if (v == NULL || *v == '\0')
		return "-";
	/*
	 * device.json is ours, but a tampered one must not drive the terminal:
	 * escaped as every stderr line is (C0/C1 controls, invalid UTF-8, bidi
	 * and invisible characters as \xNN; cut on a character boundary).
	 */
	log_escape(b, sizeof(buf[0]), v, sizeof(buf[0]) - 1);
	return b;
}

/* The facts both summaries give, as status names them. */
static void
identity_lines(const struct json *rec)
{
	printf("Device id:     %s\n", summary_field(rec, "device_id"));
	printf("Tenant:        %s (%s)\n", summary_field(rec, "tenant_domain"),
	    summary_field(rec, "tenant_id"));
	printf("User:          %s\n", summary_field(rec, "upn"));
	printf("Key store:     %s\n", summary_field(rec, "key_store"));
}

int
summary_join(const struct json *rec, int already)
{
	printf("Joined:        yes (%s%s)\n", summary_field(rec, "join_type"),
	    already ? "; already, nothing changed" : "");
	identity_lines(rec);
	printf("Details:       drsjoin status (--json for the whole document)\n");
	return 0;
}

int
summary_leave(const struct json *rec, const char *service)
{
	const char *what = "not contacted: the device may still exist in the tenant";

	if (service == NULL) {
		printf("Joined:        no (was not joined: nothing to do)\n");
		return 0;
	}
	if (rec == NULL) {
		printf("Joined:        no (the corrupt identity record was moved "
		    "aside)\n");
		printf("Service:       %s\n", what);
		return 0;
	}
	if (strcmp(service, "deleted") == 0)
		what = "deleted from the tenant";
	else if (strcmp(service, "not_found") == 0)
		what = "was no longer in the tenant";
	printf("Joined:        no (left)\n");
	identity_lines(rec);
	printf("Service:       %s\n", what);
	return 0;
}
