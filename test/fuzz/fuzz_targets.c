/*
 * fuzz_targets.c - every parser of outside input, as fuzz targets. One of
 * them is chosen at compile time with -DFUZZ_<NAME> (see the Makefile).
 * Each copies the input into a NUL-terminated buffer of its exact size, so
 * the sanitizers see any read past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "b64.h"
#include "bcrypt_blob.h"
#include "cert.h"
#include "config.h"
#include "devicecode.h"
#include "json.h"
#include "jwe.h"
#include "jwt.h"
#include "keys.h"
#include "log.h"
#include "login.h"
#include "prtrequest.h"
#include "redact.h"
#include "svcerr.h"
#include "tpm.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	log_reset();
#if defined(FUZZ_JSON)
	{
		/* The document and every service answer go through json_parse. */
		struct json *j = json_parse(s, size, EXIT_INPUT, "fuzz");
		char *out = j ? json_print(j, JSON_SORT | JSON_INDENT) : NULL;

		if (j != NULL) {
			json_get_ci(j, "ReponseStatus");
			json_get_string(json_get_object(j, "tenant"), "id");
		}
		free(out);
		json_free(j);
	}
#elif defined(FUZZ_ANSWER)
	{
		/* A service answer: the body, then every member as each kind. */
		struct http_response rs = { .status = 200, .body = s, .body_len = size,
		    .content_type = "text/html" };
		struct json *j = answer_parse("fuzz", &rs), *m;
		const char *v;
		char why[128];
		int k;

		for (m = json_first(j); m != NULL; m = json_next(m))
			for (k = ANSWER_TEXT; k <= ANSWER_VERSION; k++)
				answer_string("fuzz", j, "Obj", json_key(m),
				    (enum answer_kind)k, 64, k & 1, &v);
		json_free(j);
		answer_text_ok(s, size, why, sizeof(why));
		answer_url_ok(s, why, sizeof(why));
		answer_url_host(s, why, sizeof(why));
	}
#elif defined(FUZZ_CONFIG)
	{
		/* /etc/drsjoin/drsjoin.conf: hostile input, as any file. */
		config_parse(s, size, "/etc/drsjoin/drsjoin.conf");
		memset(&config, 0, sizeof(config));
	}
#elif defined(FUZZ_JWT)
	{
		struct jwt_claims c;

		if (jwt_parse(s, &c) == 0) {
			jwt_check(&c, time(NULL));
			jwt_claims_free(&c);
		}
	}
#elif defined(FUZZ_JWE)
	{
		/*
		 * The PRT protocol's JWEs: parsed as a session_key_jwe (its
		 * RSA unwrap is left out: a private-key operation per input
		 * would take the run's time), and as an encrypted answer
		 * decrypted with the session key of the seeds (bytes 0x40 to
		 * 0x5f, test/unit/data/make-prt-vectors.py), so that mutated
		 * seeds reach both ciphers and the padding check.
		 */
		uint8_t key[JWE_SESSION_KEY_LEN];
		struct jwe *j = NULL;
		char *plain = NULL;
		size_t i, n = 0;

		for (i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(0x40 + i);
		if (jwe_parse(s, size, JWE_SESSION_KEY, EXIT_NETWORK, "fuzz",
		    &j) == 0)
			jwe_free(j);
		if (jwe_decrypt_answer(s, size, key, EXIT_NETWORK, "fuzz",
		    &plain, &n) == 0) {
			if (plain[n] != '\0')
				abort();
			util_free_secret_buf(plain, n + 1);
		}
	}
#elif defined(FUZZ_PRTANSWER)
	{
		/*
		 * The PRT answer (drsjoin prt): every member checked, the
		 * session_key_jwe parsed strictly, the unsigned id_token and
		 * client_info decoded, their tenant compared with the device's
		 * (the seeds' tenant, test/fuzz/corpus/prtanswer).
		 */
		struct json *r = NULL;

		if (prtreq_parse_answer(s, size,
		    "d3b07384-d9a0-4c9b-8a0e-2f4c6e8a1b3d",
		    "3b4a723c-e704-4c69-8869-85b0960c7ddd", 1796630000, &r) == 0) {
			if (json_get_string(r, "oid") == NULL ||
			    json_get_string(r, "prt") == NULL)
				abort();
			json_free(r);
		}
	}
#elif defined(FUZZ_SVCERR)
	{
		char line[SVCERR_LINE_MAX];

		svcerr_format(line, sizeof(line), "join", 400, s, size,
		    "application/json", "00000000-0000-0000-0000-000000000000");
		svcerr_format(line, 64, "join", 502, s, size, NULL, NULL);
	}
#elif defined(FUZZ_LOGIN)
	{
		/* Answers of the login service, and discovery's TokenEndpoint. */
		char line[LOGIN_LINE_MAX], err[64], *tok = NULL;
		struct http_response rs = { 0 };
		struct login_endpoints ep;
		struct devicecode dc = { 0 };

		login_error_line(line, sizeof(line), "login.example", "fuzz", 400,
		    s, size, "application/json", "00000000-0000-0000-0000-000000000000");
		login_error_line(line, 80, NULL, "fuzz", 401, s, size, NULL, NULL);
		rs.status = 200;
		rs.body = s;
		rs.body_len = size;
		if (login_take_token(&rs, "fuzz", &tok) == 0)
			free(tok);
		login_error_code(&rs, err, sizeof(err));
		if (devicecode_parse(&rs, &dc) == 0)
			devicecode_free(&dc);
		if (login_endpoints(s, "login.example", "t", &ep) == 0)
			login_endpoints_free(&ep);
	}
#elif defined(FUZZ_REDACT)
	free(redact_body("application/json", s, size));
	free(redact_body("application/x-www-form-urlencoded", s, size));
	free(redact_url(s, size));
	free(redact_header(s, size));
#elif defined(FUZZ_B64)
	{
		uint8_t *out = NULL;
		size_t n;

		if (b64_decode(s, size, EXIT_INPUT, "fuzz", &out, &n) == 0)
			free(out);
		if (b64url_decode(s, size, EXIT_INPUT, "fuzz", &out, &n) == 0)
			free(out);
	}
#elif defined(FUZZ_BCRYPT)
	{
		struct bcrypt_blob b;

		bcrypt_blob_parse(data, size, EXIT_INPUT, "fuzz", &b);
	}
#elif defined(FUZZ_CERT)
	{
		struct cert *c = NULL;

		if (cert_parse_der(data, size, EXIT_NETWORK, "fuzz", &c) == 0)
			cert_free(c);
		if (cert_parse_pem(s, size, EXIT_NETWORK, "fuzz", &c) == 0)
			cert_free(c);
		/* The CA bundle reader: PEM blocks, or one DER certificate. */
		struct cert_ca *ca = NULL;
		size_t i, n, len;

		if (cert_ca_parse(s, size, "fuzz", &ca) == 0) {
			n = cert_ca_count(ca, NULL);
			for (i = 0; i < n; i++)
				if (cert_ca_der(ca, i, &len) == NULL || len == 0)
					abort();
			cert_ca_free(ca);
		}
	}
#elif defined(FUZZ_KEY)
	{
		struct key *k = NULL;

		if (keys_load_pem(s, size, "fuzz", &k) == 0)
			keys_free(k);
	}
#elif defined(FUZZ_TPMBLOB)
	{
		struct tpm_public pub;

		tpm_blob_public(data, size, &pub);
	}
#else
#error "define one FUZZ_<NAME>"
#endif
	free(s);
	return 0;
}
