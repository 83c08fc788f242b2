/* test_json.c - the printer behind stdout: indentation, key order, escapes. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "tap.h"

/* Parses in, prints with flags, compares with want. */
static void
expect(const char *name, const char *in, int flags, const char *want)
{
	struct json *j = json_parse(in, strlen(in), EXIT_INPUT, name);
	char *s = j != NULL ? json_print(j, flags) : NULL;

	TAP_LINE(s != NULL && strcmp(s, want) == 0, s ? s : "(null)", "%s", name);
	free(s);
	json_free(j);
}

int
main(void)
{
	struct json *j;
	char *s, *t;

	expect("two spaces per level, a space after the colon, no tabs",
	    "{\"a\":{\"b\":[1,{\"c\":true}]}}", JSON_INDENT,
	    "{\n  \"a\": {\n    \"b\": [\n      1,\n      {\n        \"c\": true\n"
	    "      }\n    ]\n  }\n}");
	expect("compact: one line, no spaces", "{ \"a\" : [ 1 , 2 ], \"b\" : { } }", 0,
	    "{\"a\":[1,2],\"b\":{}}");
	expect("insertion order without JSON_SORT", "{\"z\":1,\"a\":2,\"m\":3}", 0,
	    "{\"z\":1,\"a\":2,\"m\":3}");
	expect("sorted keys at every level", "{\"z\":{\"y\":1,\"b\":2},\"a\":[{\"d\":1,\"c\":2}]}",
	    JSON_SORT, "{\"a\":[{\"c\":2,\"d\":1}],\"z\":{\"b\":2,\"y\":1}}");
	expect("duplicate keys keep their order when sorted",
	    "{\"k\":1,\"a\":0,\"k\":2,\"k\":3}", JSON_SORT, "{\"a\":0,\"k\":1,\"k\":2,\"k\":3}");
	expect("empty containers stay on one line", "{\"a\":{},\"b\":[]}", JSON_INDENT,
	    "{\n  \"a\": {},\n  \"b\": []\n}");
	expect("escapes: quote, backslash, control characters",
	    "[\"q\\\"b\\\\n\\n\\t\\u0001\\u007f/\"]", 0, "[\"q\\\"b\\\\n\\n\\t\\u0001\\u007f/\"]");
	expect("valid UTF-8 passes through", "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]", 0,
	    "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
	expect("malformed UTF-8 becomes \\ufffd (stray, truncated, overlong, surrogate)",
	    "[\"a\xff" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e\"]", 0,
	    "[\"a\\ufffdb\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffde\"]");
	expect("numbers: integers, fractions, exponents, negative zero",
	    "[0,-7,1795000000,9007199254740993,0.1,1e300,-0.0,2.5e-7]", 0,
	    "[0,-7,1795000000,9007199254740992,0.1,1e+300,0,2.5e-07]");
	expect("null, true, false", "{\"n\":null,\"t\":true,\"f\":false}", JSON_SORT,
	    "{\"f\":false,\"n\":null,\"t\":true}");

	/* What the printer writes, the parser reads back to the same text. */
	s = "{\"b\":[1.5,\"x\\u0001y\"],\"a\":{\"c\":null}}";
	j = json_parse(s, strlen(s), EXIT_INPUT, "rt");
	s = j ? json_print(j, JSON_SORT | JSON_INDENT) : NULL;
	json_free(j);
	j = s ? json_parse(s, strlen(s), EXIT_INPUT, "rt2") : NULL;
	t = j ? json_print(j, JSON_SORT | JSON_INDENT) : NULL;
	TAP_LINE(s != NULL && t != NULL && strcmp(s, t) == 0 && strchr(s, '\t') == NULL,
	    t ? t : "(null)", "the output parses back to itself");
	free(s);
	free(t);
	json_free(j);

	/* Deep nesting (cJSON's parser allows 1000 levels) prints. */
	{
		char deep[2001];
		int i;

		for (i = 0; i < 1000; i++) {
			deep[i] = '[';
			deep[1000 + i] = ']';
		}
		deep[2000] = '\0';
		j = json_parse(deep, 2000, EXIT_INPUT, "deep");
		s = j ? json_print(j, JSON_INDENT) : NULL;
		TAP_LINE(s != NULL && strlen(s) > 1000000, "deep", "1000 levels print indented");
		free(s);
		json_free(j);
	}
	return tap_done();
}
