/*
 * test_prt_answer.c - the PRT answer as hostile input (prtrequest.c's
 * prtreq_parse_answer): what is stored from a good one, and the one line
 * for each way a bad one is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cli.h"
#include "json.h"
#include "log.h"
#include "prtrequest.h"
#include "tap.h"
#include "util.h"

#define TENANT "d3b07384-d9a0-4c9b-8a0e-2f4c6e8a1b3d"
#define OTHER "00000000-0000-4000-8000-00000000bad1"
#define DEVICE "3b4a723c-e704-4c69-8869-85b0960c7ddd"
#define OID "ECF625B2-37C0-59F7-ACD2-47A246FC8E65"
/* Five base64url parts, 256 bytes of encrypted key (RSA-2048). */
static char skj[700];

static char *
b64u(const char *s)
{
	return b64url_encode((const uint8_t *)s, strlen(s));
}

/* An id_token (unsigned) with these claims. */
static char *
id_token(const char *claims)
{
	char *h = b64u("{\"alg\":\"none\",\"typ\":\"JWT\"}"), *p = b64u(claims);
	char *t = util_asprintf("%s.%s.", h, p);

	free(h);
	free(p);
	return t;
}

/* An answer: fmt gets the id_token and the session_key_jwe. */
static char *
answer(const char *tt, const char *life, const char *claims, const char *extra)
{
	char *idt = id_token(claims);
	char *a = util_asprintf("{\"token_type\":\"%s\",\"refresh_token\":\"0.AAprt\","
	    "\"refresh_token_expires_in\":%s,\"id_token\":\"%s\","
	    "\"session_key_jwe\":\"%s\"%s}", tt, life, idt, skj, extra);

	free(idt);
	return a;
}

#define GOOD_CLAIMS "{\"oid\":\"" OID "\",\"tid\":\"" TENANT "\",\"upn\":\"u@contoso.example\",\"name\":\"U\"}"

/* Parses a; 0 when accepted. why gets the line of a refusal. */
static int
parse(const char *a, char *why, size_t n, struct json **r)
{
	int rc;

	*why = '\0';
	log_reset();
	log_catch(why, n);
	rc = prtreq_parse_answer(a, strlen(a), TENANT, DEVICE, 1000, r);
	log_catch(NULL, 0);
	return rc;
}

static void
refused(const char *name, char *a, const char *msg)
{
	struct json *r = NULL;
	char why[LOG_LINE_MAX];
	int rc = parse(a, why, sizeof(why), &r);

	TAP_LINE(rc < 0 && r == NULL && log_caught_code() == EXIT_NETWORK &&
	    strstr(why, msg) != NULL, why, "refused: %s", name);
	free(a);
}

/* The token endpoint prtreq_url gives a record joined through durl. */
static char *
url_for(const char *durl, const char *named)
{
	char *text = util_asprintf("{\"tenant_id\":\"%s\",\"endpoints\":{\"url\":\"%s\"}}",
	    TENANT, durl);
	struct json *rec = json_parse(text, strlen(text), EXIT_INTERNAL, "test");
	char *u, why[LOG_LINE_MAX];

	opts.discovery_url = named;
	log_reset();
	log_catch(why, sizeof(why));
	u = prtreq_url(rec);
	log_catch(NULL, 0);
	json_free(rec);
	free(text);
	return u;
}

/* The trust rule: the joined cloud's login host, or the service named now. */
static void
trust(void)
{
	char *u;

	u = url_for("https://enterpriseregistration.windows.net", NULL);
	CHECK(u != NULL && strcmp(u, "https://login.microsoftonline.com/" TENANT "/oauth2/token") == 0,
	    "joined through the public cloud: its login host");
	free(u);
	u = url_for("https://EnterpriseRegistration.microsoftonline.us", "https://evil.example");
	CHECK(u != NULL && strcmp(u, "https://login.microsoftonline.us/" TENANT "/oauth2/token") == 0,
	    "joined through usgov: its login host, whatever --discovery-url says now");
	free(u);
	u = url_for("https://enterpriseregistration.partner.microsoftonline.cn/", NULL);
	CHECK(u != NULL && strcmp(u, "https://login.partner.microsoftonline.cn/" TENANT "/oauth2/token") == 0,
	    "joined through china: its login host");
	free(u);
	u = url_for("https://127.0.0.1:8443", "https://127.0.0.1:8443");
	CHECK(u != NULL && strcmp(u, "https://127.0.0.1:8443/" TENANT "/oauth2/token") == 0,
	    "joined through another service named now: that origin");
	free(u);
	u = url_for("https://127.0.0.1:8443", "https://127.0.0.1:9443");
	CHECK(u == NULL && log_caught_code() == EXIT_USAGE,
	    "joined through another service, a different one named now: refused");
	free(u);
	u = url_for("https://127.0.0.1:8443", NULL);
	CHECK(u == NULL && log_caught_code() == EXIT_USAGE,
	    "joined through another service, none named now: refused");
	free(u);
	u = url_for("http://127.0.0.1:8443", "http://127.0.0.1:8443");
	CHECK(u == NULL && log_caught_code() == EXIT_IO, "a record's plain http URL: refused");
	free(u);
	u = url_for("https://enterpriseregistration.windows.net.evil.example", NULL);
	CHECK(u == NULL, "a cloud's host as a prefix of another: refused");
	free(u);
}

int
main(void)
{
	struct json *r = NULL;
	char why[LOG_LINE_MAX], key[256], *a, *hdr, *ek;
	double v = 0;

	memset(key, 'A', sizeof(key));
	hdr = b64u("{\"enc\":\"A256GCM\",\"alg\":\"RSA-OAEP\"}");
	ek = b64url_encode((const uint8_t *)key, sizeof(key));
	snprintf(skj, sizeof(skj), "%s.%s.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA", hdr, ek);
	free(ek);
	free(hdr);

	a = answer("pop", "1209599", GOOD_CLAIMS, "");
	CHECK(parse(a, why, sizeof(why), &r) == 0 && r != NULL, "a good answer is taken (%s)", why);
	CHECK(r != NULL && strcmp(json_get_string(r, "oid"), "ecf625b2-37c0-59f7-acd2-47a246fc8e65") == 0 &&
	    strcmp(json_get_string(r, "upn"), "u@contoso.example") == 0 &&
	    strcmp(json_get_string(r, "tenant_id"), TENANT) == 0 &&
	    strcmp(json_get_string(r, "device_id"), DEVICE) == 0 &&
	    strcmp(json_get_string(r, "prt"), "0.AAprt") == 0,
	    "the record: oid in lower case, upn, tenant, device, the PRT");
	CHECK(r != NULL && json_get_number(r, "expires_at", &v) == 0 && v == 1000 + 1209599,
	    "expires from refresh_token_expires_in, never a fixed lifetime");
	json_free(r);
	free(a);
	a = answer("POP", "\"3600\"", GOOD_CLAIMS, ",\"client_info\":\"eyJ1dGlkIjoiZDNiMDczODQtZDlhMC00YzliLThhMGUtMmY0YzZlOGExYjNkIn0\"");
	CHECK(parse(a, why, sizeof(why), &r) == 0, "the lifetime as a string, client_info of the tenant (%s)", why);
	json_free(r);
	free(a);

	refused("token_type Bearer", answer("Bearer", "1", GOOD_CLAIMS, ""), "token_type in the answer is not pop");
	refused("a lifetime of 0", answer("pop", "0", GOOD_CLAIMS, ""), "refresh_token_expires_in in the answer is not a number");
	refused("a lifetime of 1e300", answer("pop", "1e300", GOOD_CLAIMS, ""), "refresh_token_expires_in");
	refused("a lifetime \"12x\"", answer("pop", "\"12x\"", GOOD_CLAIMS, ""), "refresh_token_expires_in");
	refused("the id_token of another tenant",
	    answer("pop", "1", "{\"oid\":\"" OID "\",\"tid\":\"" OTHER "\"}", ""),
	    "is for tenant " OTHER ", not the device's tenant " TENANT);
	refused("client_info of another tenant", answer("pop", "1", GOOD_CLAIMS,
	    ",\"client_info\":\"eyJ1dGlkIjoiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDBiYWQxIn0\""),
	    "client_info is for tenant " OTHER);
	refused("client_info not base64url", answer("pop", "1", GOOD_CLAIMS, ",\"client_info\":\"e30=\""),
	    "client_info");
	refused("an id_token without oid", answer("pop", "1", "{\"tid\":\"" TENANT "\"}", ""),
	    "no oid");
	refused("an upn with a control character", answer("pop", "1",
	    "{\"oid\":\"" OID "\",\"tid\":\"" TENANT "\",\"upn\":\"a\\u001b[2Jb\"}", ""), "upn");
	a = util_asprintf("{\"token_type\":\"pop\",\"refresh_token\":\"0.AA\",\"refresh_token_expires_in\":1,"
	    "\"id_token\":\"x.y.\",\"session_key_jwe\":\"a.b.c.d\"}");
	refused("a session_key_jwe of four parts", a, "session_key_jwe in the answer");
	a = util_asprintf("{\"token_type\":\"pop\",\"refresh_token\":\"0.A A\",\"refresh_token_expires_in\":1}");
	refused("a PRT with a space", a, "refresh_token");
	a = util_asprintf("<html>captive portal</html>");
	refused("not JSON", a, "not valid JSON");
	trust();
	return tap_done();
}
