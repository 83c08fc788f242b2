/* test_doc.c - the pipeline document and the join request body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "doc.h"
#include "fixture.h"
#include "join.h"
#include "json.h"
#include "log.h"
#include "tap.h"

static char dir[64];

static char *
write_tmp(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

static void
expect_bad(const char *name, const char *text, const char *msg)
{
	struct json *doc = NULL;
	char *err;
	int rc;

	log_reset();
	capture_begin();
	rc = doc_read(write_tmp("bad.json", text), &doc);
	err = capture_end();
	CHECK_ERR(rc == -1 && doc == NULL && log_exit_code() == EXIT_INPUT &&
	    has(err, msg) && lines(err) == 1, err, "%s: refused with '%s'", name, msg);
	free(err);
}

int
main(void)
{
	struct json *doc = NULL, *body = NULL;
	char *text = NULL, buf[64];

	strcpy(dir, "/tmp/drsjoin-doc-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp");
		return 1;
	}

	/*
	 * Empty input is no document: what a failed phase leaves (issue 10:
	 * the next phases took it for a new document and went on). A new one
	 * comes from --new, a terminal or /dev/null.
	 */
	expect_bad("empty input", " \n\t",
	    "bad.json: empty, no document: did the phase that wrote it fail?");
	opts.new_doc = 1;
	CHECK(doc_read(NULL, &doc) == 0 &&
	    strcmp(json_get_string(doc, "schema"), DOC_SCHEMA) == 0 && json_size(doc) == 1,
	    "--new: a new document with the schema");
	json_free(doc);
	opts.new_doc = 0;

	/* Unknown keys survive a read and a write, in their order. */
	CHECK(doc_read(write_tmp("doc.json",
	    "{\"schema\":\"drsjoin/1\",\"zz-custom\":{\"a\":[1,2,{\"b\":null}]},"
	    "\"tenant\":{\"id\":\"t\",\"extra\":true}}"), &doc) == 0, "a document reads");
	CHECK(doc_get(doc, "tenant", "id") != NULL && strcmp(doc_get(doc, "tenant", "id"), "t") == 0,
	    "doc_get reads section.key");
	CHECK(doc_get(doc, "tenant", "nope") == NULL && doc_get(doc, "nope", "id") == NULL,
	    "doc_get: absent is NULL");
	text = json_print(doc, 0);
	CHECK(text != NULL && strcmp(text, "{\"schema\":\"drsjoin/1\",\"zz-custom\":{\"a\":[1,2,{\"b\":null}]},"
	    "\"tenant\":{\"id\":\"t\",\"extra\":true}}") == 0, "unknown keys kept exactly");
	free(text);

	log_reset();
	capture_begin();
	CHECK(doc_need(doc, "discovery", "join_endpoint", "join", "discover") == NULL,
	    "doc_need: absent");
	text = capture_end();
	CHECK_ERR(log_exit_code() == EXIT_INPUT && has(text,
	    "join: the document has no discovery.join_endpoint; run 'drsjoin discover' first"),
	    text, "doc_need names the field and the phase to run");
	free(text);
	json_free(doc);

	expect_bad("not JSON", "{\"schema\": drsjoin}", "not valid JSON at byte 11");
	expect_bad("truncated", "{\"schema\": \"drsjoin/1\", \"tenant\": {", "JSON ends early");
	expect_bad("trailing data", "{\"schema\": \"drsjoin/1\"} {}", "trailing data after the JSON value");
	expect_bad("array", "[]", "not a JSON object");
	expect_bad("no schema", "{\"tenant\": {}}", "not a drsjoin document (no \"schema\")");
	expect_bad("other schema", "{\"schema\": \"drsjoin/2\"}",
	    "schema 'drsjoin/2' is not supported (this drsjoin reads drsjoin/1)");

	/* The join body: exactly the fields of protocol.md, phase 5. */
	doc_read(write_tmp("full.json",
	    "{\"schema\":\"drsjoin/1\",\"csr\":{\"type\":\"pkcs10\",\"data\":\"MIIC\"},"
	    "\"keys\":{\"transport_blob\":\"UlNBMQ==\"}}"), &doc);
	body = join_body(doc, 4, "vm-1", "contoso.example", "Debian GNU/Linux 12 (bookworm)");
	text = body ? json_print(body, 0) : NULL;
	CHECK(text != NULL && strcmp(text,
	    "{\"CertificateRequest\":{\"Type\":\"pkcs10\",\"Data\":\"MIIC\"},"
	    "\"TransportKey\":\"UlNBMQ==\",\"TargetDomain\":\"contoso.example\","
	    "\"DeviceType\":\"Linux\",\"OSVersion\":\"Debian GNU/Linux 12 (bookworm)\","
	    "\"DeviceDisplayName\":\"vm-1\",\"JoinType\":4,"
	    "\"Attributes\":{\"ReuseDevice\":\"true\",\"ReturnClientSid\":\"true\"}}") == 0,
	    "join body: known answer");
	free(text);
	json_free(body);
	json_free(doc);

	join_time_text(0, buf, sizeof(buf));
	CHECK(strcmp(buf, "1970-01-01T00:00:00Z") == 0, "time text: epoch");
	join_time_text(2110000000, buf, sizeof(buf));
	CHECK(strcmp(buf, "2036-11-11T07:06:40Z") == 0, "time text: 2036");

	unlink(write_tmp("empty.json", ""));
	unlink(write_tmp("doc.json", ""));
	unlink(write_tmp("bad.json", ""));
	unlink(write_tmp("full.json", ""));
	rmdir(dir);
	return tap_done();
}
