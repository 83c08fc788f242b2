/*
 * test_tpm.c - drs/tpm.c against a real or emulated TPM.
 *
 * The TPM comes from DRSJOIN_TEST_TCTI (test/integ/tpm_unit.sh starts swtpm
 * and sets it); without it every case is skipped. Modes for the cases that
 * span two TPM lifetimes (the script restarts swtpm in between):
 *
 *	test_tpm                   the in-process cases
 *	test_tpm save DIR          create keys, write DIR/dk.blob, DIR/tk.blob
 *	test_tpm load DIR NAME     both blobs load, dk signs (case NAME)
 *	test_tpm foreign DIR NAME  loading fails: "another TPM" (case NAME)
 *	test_tpm wire DIR          create, load, sign; write the blobs and
 *	                           DIR/hash for the script's bus listener
 *	test_tpm pss DIR           sign RSA-PSS; write DIR/pub.der, DIR/msg,
 *	                           DIR/msg.sig for the script's openssl check
 *	test_tpm persist UNIQUE    make a storage key (unique field UNIQUE)
 *	                           persistent at 0x81000001, replacing any
 *
 * Timings go to stderr as "# ..." lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tcti_device.h>
#include <tss2/tss2_tcti_mssim.h>
#include <tss2/tss2_tcti_swtpm.h>

#include "b64.h"
#include "jwe.h"
#include "keys.h"
#include "log.h"
#include "tpm.h"
#include "tap.h"
#include "util.h"

static const char *tcti;

/* Randomness for the tests' own encryptions: not a secret. */
static int
test_rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	while (len--)
		*buf++ = (unsigned char)rand();
	return 0;
}

/* ---- stderr capture: check the exact message a failure prints --------- */

static int saved_fd = -1;
static FILE *cap;

static void
capture_begin(void)
{
	fflush(stderr);
	cap = tmpfile();
	saved_fd = dup(2);
	dup2(fileno(cap), 2);
	log_reset();
}

/* The captured text, last newline cut. */
static void
capture_end(char *buf, size_t n)
{
	size_t len;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	rewind(cap);
	len = fread(buf, 1, n - 1, cap);
	buf[len] = '\0';
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	fclose(cap);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- our own ESYS context, for what drsjoin must not do itself --------- */

static TSS2_TCTI_CONTEXT *raw_tcti;

static ESYS_CONTEXT *
raw_open(void)
{
	TSS2_RC (*init)(TSS2_TCTI_CONTEXT *, size_t *, const char *);
	const char *conf = strchr(tcti, ':');
	ESYS_CONTEXT *e = NULL;
	size_t size = 0;

	conf = conf && conf[1] ? conf + 1 : NULL;
	if (strncmp(tcti, "swtpm", 5) == 0)
		init = Tss2_Tcti_Swtpm_Init;
	else if (strncmp(tcti, "mssim", 5) == 0)
		init = Tss2_Tcti_Mssim_Init;
	else
		init = Tss2_Tcti_Device_Init;
	if (init(NULL, &size, conf) != TSS2_RC_SUCCESS ||
	    (raw_tcti = calloc(1, size)) == NULL ||
	    init(raw_tcti, &size, conf) != TSS2_RC_SUCCESS ||
	    Esys_Initialize(&e, raw_tcti, NULL) != TSS2_RC_SUCCESS)
		return NULL;
	return e;
}

static void
raw_close(ESYS_CONTEXT *e)
{
	Esys_Finalize(&e);
	Tss2_Tcti_Finalize(raw_tcti);
	free(raw_tcti);
	raw_tcti = NULL;
}

/* How many handles of a type (transient objects, loaded sessions) exist. */
static int
raw_count(TPM2_HANDLE first)
{
	ESYS_CONTEXT *e = raw_open();
	TPMS_CAPABILITY_DATA *c = NULL;
	TPMI_YES_NO more;
	int n = -1;

	if (e && Esys_GetCapability(e, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    TPM2_CAP_HANDLES, first, 64, &more, &c) == TSS2_RC_SUCCESS)
		n = (int)c->data.handles.count;
	Esys_Free(c);
	if (e)
		raw_close(e);
	return n;
}

/* Whether a persistent handle exists. */
static int
raw_exists(TPM2_HANDLE h)
{
	ESYS_CONTEXT *e = raw_open();
	TPMS_CAPABILITY_DATA *c = NULL;
	TPMI_YES_NO more;
	int yes = 0;

	if (e && Esys_GetCapability(e, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    TPM2_CAP_HANDLES, h, 1, &more, &c) == TSS2_RC_SUCCESS)
		yes = c->data.handles.count == 1 && c->data.handles.handle[0] == h;
	Esys_Free(c);
	if (e)
		raw_close(e);
	return yes;
}

/* An RSA-2048 primary template written out here independently of tpm.c:
 * storage (restricted|decrypt, AES-128-CFB) or signing, noDA, SHA-256. */
static void
raw_template(TPM2B_PUBLIC *t, int storage, const char *unique, size_t ulen)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_RSA;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
	    (storage ? TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT :
	    TPMA_OBJECT_SIGN_ENCRYPT);
	t->publicArea.parameters.rsaDetail.symmetric.algorithm =
	    storage ? TPM2_ALG_AES : TPM2_ALG_NULL;
	if (storage) {
		t->publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
		t->publicArea.parameters.rsaDetail.symmetric.mode.aes =
		    TPM2_ALG_CFB;
	}
	t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.rsaDetail.keyBits = 2048;
	t->publicArea.unique.rsa.size = (UINT16)ulen;
	if (unique)
		memcpy(t->publicArea.unique.rsa.buffer, unique, ulen);
}

/* Creates a primary in the owner hierarchy; its modulus into mod (256). */
static ESYS_TR
raw_primary(ESYS_CONTEXT *e, const TPM2B_PUBLIC *tmpl, uint8_t *mod)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC *out = NULL;
	ESYS_TR obj = ESYS_TR_NONE;

	if (Esys_CreatePrimary(e, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, tmpl, &outside, &pcrs, &obj,
	    &out, NULL, NULL, NULL) != TSS2_RC_SUCCESS)
		return ESYS_TR_NONE;
	if (mod && out->publicArea.unique.rsa.size == 256)
		memcpy(mod, out->publicArea.unique.rsa.buffer, 256);
	Esys_Free(out);
	return obj;
}

/* The modulus of the TCG RSA-2048 SRK (unique = 256 zero bytes). */
static int
raw_tcg_srk(uint8_t mod[256])
{
	ESYS_CONTEXT *e = raw_open();
	TPM2B_PUBLIC tmpl;
	ESYS_TR obj;

	if (e == NULL)
		return -1;
	raw_template(&tmpl, 1, NULL, 256);
	obj = raw_primary(e, &tmpl, mod);
	if (obj != ESYS_TR_NONE)
		Esys_FlushContext(e, obj);
	raw_close(e);
	return obj == ESYS_TR_NONE ? -1 : 0;
}

static int raw_persistent_as(int make, int storage, const char *unique);

/* Makes a primary (storage or signing) persistent at 0x81000001, or with
 * make == 0 removes whatever is there. 0 on success. */
static int
raw_persistent(int make, int storage)
{
	return raw_persistent_as(make, storage, "drsjoin-test");
}

/*
 * A storage key someone else could know the private part of: a child of
 * the TCG SRK without fixedTPM and fixedParent (duplicable), made
 * persistent at 0x81000001. 0 on success.
 */
static int
raw_persistent_duplicable(void)
{
	ESYS_CONTEXT *e = raw_open();
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	ESYS_TR srk, obj = ESYS_TR_NONE, pers = ESYS_TR_NONE;
	TSS2_RC rc = 1;

	if (e == NULL)
		return -1;
	raw_template(&tmpl, 1, NULL, 256);
	srk = raw_primary(e, &tmpl, NULL);
	raw_template(&tmpl, 1, NULL, 0);
	tmpl.publicArea.objectAttributes &= ~(TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT);
	if (srk != ESYS_TR_NONE &&
	    Esys_Create(e, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL) ==
	    TSS2_RC_SUCCESS &&
	    Esys_Load(e, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    priv, pub, &obj) == TSS2_RC_SUCCESS) {
		rc = Esys_EvictControl(e, ESYS_TR_RH_OWNER, obj,
		    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 0x81000001,
		    &pers);
	}
	if (obj != ESYS_TR_NONE)
		Esys_FlushContext(e, obj);
	if (srk != ESYS_TR_NONE)
		Esys_FlushContext(e, srk);
	Esys_Free(pub);
	Esys_Free(priv);
	raw_close(e);
	return rc == TSS2_RC_SUCCESS ? 0 : -1;
}

static int
raw_persistent_as(int make, int storage, const char *unique)
{
	ESYS_CONTEXT *e = raw_open();
	TPM2B_PUBLIC tmpl;
	ESYS_TR obj = ESYS_TR_NONE, pers = ESYS_TR_NONE;
	TSS2_RC rc = 1;

	if (e == NULL)
		return -1;
	if (!make) {
		rc = Esys_TR_FromTPMPublic(e, 0x81000001, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, &pers);
		if (rc == TSS2_RC_SUCCESS)
			rc = Esys_EvictControl(e, ESYS_TR_RH_OWNER, pers,
			    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			    0x81000001, &obj);
		else
			rc = TSS2_RC_SUCCESS;	/* nothing there */
		raw_close(e);
		return rc == TSS2_RC_SUCCESS ? 0 : -1;
	}
	/* Not the TCG template's zeros: a different key from the same seed,
	 * so that keys made under it only load under it. */
	raw_template(&tmpl, storage, unique, strlen(unique));
	obj = raw_primary(e, &tmpl, NULL);
	if (obj != ESYS_TR_NONE) {
		rc = Esys_EvictControl(e, ESYS_TR_RH_OWNER, obj,
		    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 0x81000001,
		    &pers);
		Esys_FlushContext(e, obj);
	}
	raw_close(e);
	return rc == TSS2_RC_SUCCESS ? 0 : -1;
}

/*
 * A device key as drsjoin made them before it signed PSS: its scheme fixed
 * to RSASSA/SHA-256, under the TCG SRK; the blob as tpm.h describes it.
 */
static int
raw_old_device_key(struct tpm_keyblob *kb)
{
	ESYS_CONTEXT *e = raw_open();
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	ESYS_TR srk;
	uint8_t buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	size_t off = 0;
	int ok = 0;

	if (e == NULL)
		return -1;
	raw_template(&tmpl, 1, NULL, 256);
	srk = raw_primary(e, &tmpl, NULL);
	raw_template(&tmpl, 0, NULL, 0);
	tmpl.publicArea.objectAttributes &= ~TPMA_OBJECT_NODA;
	tmpl.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
	tmpl.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg =
	    TPM2_ALG_SHA256;
	if (srk != ESYS_TR_NONE &&
	    Esys_Create(e, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL) ==
	    TSS2_RC_SUCCESS &&
	    Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) ==
	    TSS2_RC_SUCCESS &&
	    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) ==
	    TSS2_RC_SUCCESS && (kb->data = malloc(off)) != NULL) {
		memcpy(kb->data, buf, off);
		kb->len = off;
		ok = 1;
	}
	if (srk != ESYS_TR_NONE)
		Esys_FlushContext(e, srk);
	Esys_Free(pub);
	Esys_Free(priv);
	raw_close(e);
	return ok ? 0 : -1;
}

/*
 * Loads a transport key blob under the TCG SRK with our own ESYS context
 * and asks the TPM to decrypt in with scheme (TPM2_ALG_NULL: a raw RSA
 * private operation). The TSS return code; the plaintext into out.
 */
static TSS2_RC
raw_decrypt(const struct tpm_keyblob *kb, TPM2_ALG_ID scheme,
    TPM2_ALG_ID hash, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t *out_len)
{
	ESYS_CONTEXT *e = raw_open();
	TPM2B_PUBLIC tmpl, pub = { 0 };
	TPM2B_PRIVATE priv = { 0 };
	TPM2B_PUBLIC_KEY_RSA cipher = { 0 };
	TPM2B_PUBLIC_KEY_RSA *plain = NULL;
	TPMT_RSA_DECRYPT sch = { 0 };
	TPM2B_DATA label = { 0 };
	ESYS_TR srk, key = ESYS_TR_NONE;
	size_t off = 0;
	TSS2_RC rc = TSS2_BASE_RC_GENERAL_FAILURE;

	if (e == NULL)
		return rc;
	raw_template(&tmpl, 1, NULL, 256);
	srk = raw_primary(e, &tmpl, NULL);
	if (srk == ESYS_TR_NONE ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(kb->data, kb->len, &off, &pub) !=
	    TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(kb->data, kb->len, &off, &priv) !=
	    TSS2_RC_SUCCESS ||
	    Esys_Load(e, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &priv, &pub, &key) != TSS2_RC_SUCCESS)
		goto out;
	cipher.size = (UINT16)in_len;
	memcpy(cipher.buffer, in, in_len);
	sch.scheme = scheme;
	sch.details.oaep.hashAlg = hash;
	rc = Esys_RSA_Decrypt(e, key, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &cipher, &sch, &label, &plain);
	if (rc == TSS2_RC_SUCCESS) {
		memcpy(out, plain->buffer, plain->size);
		*out_len = plain->size;
	}
out:
	Esys_Free(plain);
	if (key != ESYS_TR_NONE)
		Esys_FlushContext(e, key);
	if (srk != ESYS_TR_NONE)
		Esys_FlushContext(e, srk);
	raw_close(e);
	return rc;
}

/* A refusal by the TPM itself, not a failure to get there. */
static int
tpm_said_no(TSS2_RC rc)
{
	return rc != TSS2_RC_SUCCESS &&
	    (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER;
}

/* RSA-OAEP encryption to a public key with mbedTLS, hash SHA-1 or -256. */
static int
oaep_encrypt(const struct tpm_public *pub, mbedtls_md_type_t md,
    const uint8_t *msg, size_t len, uint8_t out[256])
{
	mbedtls_rsa_context rsa;
	int ok;

	mbedtls_rsa_init(&rsa);
	ok = mbedtls_rsa_import_raw(&rsa, pub->modulus, pub->modulus_len,
	    NULL, 0, NULL, 0, NULL, 0, pub->exponent, pub->exponent_len) == 0 &&
	    mbedtls_rsa_complete(&rsa) == 0 &&
	    mbedtls_rsa_set_padding(&rsa, MBEDTLS_RSA_PKCS_V21, md) == 0 &&
	    mbedtls_rsa_rsaes_oaep_encrypt(&rsa, test_rng, NULL, NULL, 0, len,
	    msg, out) == 0;
	mbedtls_rsa_free(&rsa);
	return ok;
}

/* ---- checks ---------------------------------------------------------- */

/* mbedTLS checks the TPM's PKCS#1 v1.5 signature on the public numbers. */
static int
verify(const struct tpm_public *pub, const uint8_t hash[32],
    const uint8_t *sig, size_t sig_len)
{
	mbedtls_rsa_context rsa;
	int ok;

	mbedtls_rsa_init(&rsa);
	ok = mbedtls_rsa_import_raw(&rsa, pub->modulus, pub->modulus_len,
	    NULL, 0, NULL, 0, NULL, 0, pub->exponent, pub->exponent_len) == 0 &&
	    mbedtls_rsa_complete(&rsa) == 0 && sig_len == 256 &&
	    mbedtls_rsa_pkcs1_verify(&rsa, MBEDTLS_MD_SHA256, 32, hash,
	    sig) == 0;
	mbedtls_rsa_free(&rsa);
	return ok;
}

/* mbedTLS checks an RSA-PSS signature: MGF1-SHA-256, exactly salt_len. */
static int
verify_pss(const struct tpm_public *pub, const uint8_t hash[32],
    const uint8_t *sig, size_t sig_len, int salt_len)
{
	mbedtls_rsa_context rsa;
	int ok;

	mbedtls_rsa_init(&rsa);
	ok = mbedtls_rsa_import_raw(&rsa, pub->modulus, pub->modulus_len,
	    NULL, 0, NULL, 0, NULL, 0, pub->exponent, pub->exponent_len) == 0 &&
	    mbedtls_rsa_complete(&rsa) == 0 && sig_len == 256 &&
	    mbedtls_rsa_rsassa_pss_verify_ext(&rsa, MBEDTLS_MD_SHA256, 32, hash,
	    MBEDTLS_MD_SHA256, salt_len, sig) == 0;
	mbedtls_rsa_free(&rsa);
	return ok;
}

/* The public area as the TPM stored it in the blob. */
static int
blob_area(const struct tpm_keyblob *kb, TPMT_PUBLIC *area)
{
	TPM2B_PUBLIC p = { 0 };
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(kb->data, kb->len, &off, &p) !=
	    TSS2_RC_SUCCESS)
		return -1;
	*area = p.publicArea;
	return 0;
}

static int
sign_verifies(struct tpm_key *k, const char *msg)
{
	uint8_t hash[32], sig[512];
	size_t sig_len = 0;

	mbedtls_sha256((const uint8_t *)msg, strlen(msg), hash, 0);
	if (tpm_sign_sha256(k, hash, sig, sizeof(sig), &sig_len) < 0)
		return 0;
	return verify(tpm_key_public(k), hash, sig, sig_len);
}

static int
write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static uint8_t *
read_file(const char *dir, const char *name, size_t *n)
{
	char path[4096];
	uint8_t *p = malloc(8192);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (p == NULL || (f = fopen(path, "rb")) == NULL) {
		free(p);
		return NULL;
	}
	*n = fread(p, 1, 8192, f);
	fclose(f);
	return p;
}

/* ---- cases ----------------------------------------------------------- */

/*
 * Issue 10: a device TCTI wrote a TPM command (12 bytes) into whatever file
 * it named. Only a character device is opened now, checked on the opened
 * descriptor; the file is left as it was.
 */
static void
test_device_checks(void)
{
	char dir[] = "/tmp/drsjoin-tcti.XXXXXX", victim[64], link[64],
	    spec[128], err[1024], back[64];
	const char data[] = "precious data, not a TPM\n";
	struct tpm *t = NULL;
	FILE *f;
	size_t n = 0;
	int r;

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "temp dir for the device checks");
		return;
	}
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link, sizeof(link), "%s/tpmrm0", dir);
	if ((f = fopen(victim, "w")) != NULL) {
		fputs(data, f);
		fclose(f);
	}
	if (symlink("/dev/null", link) < 0)
		CHECK(0, "make a link");

	snprintf(spec, sizeof(spec), "device:%s", victim);
	capture_begin();
	r = tpm_open(spec, &t);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && t == NULL && log_exit_code() == EXIT_TPM &&
	    strstr(err, ": not a character device (a regular file)") &&
	    strncmp(err, "drsjoin: tpm: cannot open device:/tmp/", 38) == 0,
	    "device TCTI on a regular file: refused [%s]", err);
	capture_begin();
	r = tpm_available(spec);
	capture_end(err, sizeof(err));
	CHECK(r == 0 && err[0] == '\0', "tpm_available: a regular file is "
	    "no TPM, quietly");
	if ((f = fopen(victim, "r")) != NULL) {
		n = fread(back, 1, sizeof(back), f);
		fclose(f);
	}
	CHECK(n == sizeof(data) - 1 && memcmp(back, data, n) == 0,
	    "the file named as a TPM device is unchanged");

	snprintf(spec, sizeof(spec), "device:%s", link);
	capture_begin();
	r = tpm_open(spec, &t);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && strstr(err, "not a character device (a symbolic "
	    "link)"), "device TCTI through a symbolic link: refused [%s]", err);
	snprintf(spec, sizeof(spec), "device:%s", dir);
	capture_begin();
	r = tpm_open(spec, &t);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && strstr(err, "not a character device (a directory)"),
	    "device TCTI on a directory: refused [%s]", err);
	/* A character device passes the check; /dev/null then is no TPM. */
	capture_begin();
	r = tpm_open("device:/dev/null", &t);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && t == NULL && log_exit_code() == EXIT_TPM &&
	    strncmp(err, "drsjoin: tpm: cannot open device:/dev/null: ", 44) ==
	    0 && !strstr(err, "character"),
	    "a character device that is no TPM fails at the TCTI [%s]", err);
	unlink(link);
	unlink(victim);
	rmdir(dir);
}

static void
test_open(void)
{
	struct tpm *t = NULL;
	char err[1024], info[128];
	struct tpm_info ti;
	int r;

	r = tpm_open(tcti, &t);
	CHECK(r == 0 && t && strcmp(tpm_spec(t), tcti) == 0, "open by spec");
	CHECK(t && tpm_get_info(t, &ti) == 0 && ti.manufacturer[0] &&
	    ti.firmware[0] && strcmp(ti.firmware, "0.0.0.0") != 0,
	    "manufacturer and firmware version are named");
	CHECK(t && tpm_info(t, info, sizeof(info)) == 0 &&
	    strstr(info, ti.manufacturer) == info &&
	    strstr(info, ", firmware ") != NULL,
	    "tpm_info one line: %s", t ? info : "");
	fprintf(stderr, "# tpm: %s\n", t ? info : "?");
	tpm_close(t);
	t = NULL;
	CHECK(tpm_library_version() &&
	    strcmp(tpm_library_version(), "4.1.3") == 0,
	    "tpm2-tss version read at run time is the pinned 4.1.3");

	setenv("DRSJOIN_TCTI", tcti, 1);
	setenv("TPM2TOOLS_TCTI", "device:/nonexistent/drsjoin-tpm", 1);
	r = tpm_open(NULL, &t);
	CHECK(r == 0 && t && strcmp(tpm_spec(t), tcti) == 0,
	    "DRSJOIN_TCTI chosen before TPM2TOOLS_TCTI");
	tpm_close(t);
	t = NULL;
	unsetenv("DRSJOIN_TCTI");
	setenv("TPM2TOOLS_TCTI", tcti, 1);
	r = tpm_open(NULL, &t);
	CHECK(r == 0 && t && strcmp(tpm_spec(t), tcti) == 0,
	    "TPM2TOOLS_TCTI used without DRSJOIN_TCTI");
	tpm_close(t);
	t = NULL;
	unsetenv("TPM2TOOLS_TCTI");
	CHECK(tpm_available(tcti) == 1, "tpm_available: usable TPM");

	capture_begin();
	r = tpm_open("tabrmd:bus_type=session", &t);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && t == NULL && log_exit_code() == EXIT_USAGE &&
	    strcmp(err, "drsjoin: tpm: unknown TCTI 'tabrmd' in "
	    "'tabrmd:bus_type=session' (drsjoin has device, swtpm and "
	    "mssim)") == 0, "bad TCTI spec: usage error naming it [%s]", err);
	capture_begin();
	r = tpm_available("nope");
	capture_end(err, sizeof(err));
	CHECK(r == -1 && log_exit_code() == EXIT_USAGE && strstr(err,
	    "unknown TCTI 'nope'"), "tpm_available: bad spec is an error");

	capture_begin();
	r = tpm_open("device:/nonexistent/tpmrm0", &t);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && t == NULL && log_exit_code() == EXIT_TPM &&
	    strcmp(err, "drsjoin: tpm: cannot open device:/nonexistent/tpmrm0:"
	    " No such file or directory") == 0,
	    "missing device: EXIT_TPM naming it [%s]", err);
	capture_begin();
	r = tpm_available("device:/nonexistent/tpmrm0");
	capture_end(err, sizeof(err));
	CHECK(r == 0 && err[0] == '\0',
	    "tpm_available: missing device, quietly [%s]", err);
	log_level = 2;
	capture_begin();
	r = tpm_available("device:/nonexistent/tpmrm0");
	capture_end(err, sizeof(err));
	log_level = 1;
	CHECK(r == 0 && strstr(err, "No such file or directory"),
	    "tpm_available: says why under -v [%s]", err);

	/* No spec, no environment: the default devices, both named. */
	if (access("/dev/tpmrm0", F_OK) != 0 && access("/dev/tpm0", F_OK) != 0) {
		capture_begin();
		r = tpm_open(NULL, &t);
		capture_end(err, sizeof(err));
		CHECK(r == -1 && t == NULL && log_exit_code() == EXIT_TPM &&
		    strcmp(err, "drsjoin: tpm: cannot open device:/dev/tpmrm0: "
		    "No such file or directory; and cannot open "
		    "device:/dev/tpm0: No such file or directory") == 0,
		    "no TPM device: EXIT_TPM naming both defaults [%s]", err);
		CHECK(tpm_available(NULL) == 0 && tpm_available("device") == 0,
		    "tpm_available: no TPM device");
	} else {
		SKIP("no TPM device: this machine has /dev/tpmrm0 or /dev/tpm0");
	}

	test_device_checks();

	capture_begin();
	r = tpm_open("swtpm:host=127.0.0.1,port=1", &t);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && log_exit_code() == EXIT_TPM && strncmp(err,
	    "drsjoin: tpm: cannot open swtpm:host=127.0.0.1,port=1: ", 55) == 0,
	    "unreachable swtpm: EXIT_TPM naming it [%s]", err);
}

static void
test_srk(void)
{
	struct tpm *t = NULL;
	struct tpm_public a, b;
	uint8_t tcg[256];
	int pa = -1, pb = -1, ok;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ok = tpm_open(tcti, &t) == 0 && tpm_srk_public(t, &a, &pa) == 0;
	tpm_close(t);
	t = NULL;
	ok = ok && tpm_open(tcti, &t) == 0 && tpm_srk_public(t, &b, &pb) == 0;
	tpm_close(t);
	CHECK(ok && pa == 0 && pb == 0 && a.modulus_len == 256 &&
	    memcmp(&a, &b, sizeof(a)) == 0,
	    "transient SRK is the same key twice");
	CHECK(ok && raw_tcg_srk(tcg) == 0 && memcmp(a.modulus, tcg, 256) == 0,
	    "transient SRK is the key of the TCG RSA-2048 SRK template");
}

/* Creates, checks, loads, signs: the main path. Keeps the blobs. */
static void
test_keys(struct tpm_keyblob *dk, struct tpm_keyblob *tk)
{
	struct tpm *t = NULL;
	struct tpm_key *kd = NULL, *kt = NULL;
	struct tpm_public p;
	TPMT_PUBLIC ad, at;
	TPMA_OBJECT base = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH;
	uint8_t hash[32], sig[256], *bad = NULL;
	size_t sig_len = 0;
	char err[1024];
	double t0, t1;
	int i, r, n = 10;

	t0 = now();
	if (tpm_open(tcti, &t) < 0) {
		CHECK(0, "open for key tests");
		return;
	}
	t1 = now();
	/* The SRK first, so that the timing is of the two keys alone. */
	tpm_srk_public(t, &p, NULL);
	fprintf(stderr, "# tpm: open: %.3f s, transient SRK: %.3f s\n",
	    t1 - t0, now() - t1);
	t0 = now();
	r = tpm_create_keys(t, dk, tk);
	t1 = now();
	fprintf(stderr, "# tpm: create device + transport key: %.3f s\n",
	    t1 - t0);
	CHECK(r == 0 && dk->data && tk->data, "create both keys");
	if (r < 0)
		goto out;
	CHECK(dk->pub.sign == 1 && tk->pub.sign == 0 &&
	    dk->pub.modulus_len == 256 && tk->pub.modulus_len == 256 &&
	    dk->pub.exponent_len == 3 && memcmp(dk->pub.exponent,
	    "\x01\x00\x01", 3) == 0 && memcmp(dk->pub.modulus,
	    tk->pub.modulus, 256) != 0 && (dk->pub.modulus[0] & 0x80),
	    "public numbers: two distinct RSA-2048 keys, e = 65537");
	CHECK(blob_area(dk, &ad) == 0 && ad.type == TPM2_ALG_RSA &&
	    ad.nameAlg == TPM2_ALG_SHA256 &&
	    ad.objectAttributes == (base | TPMA_OBJECT_SIGN_ENCRYPT) &&
	    ad.parameters.rsaDetail.scheme.scheme == TPM2_ALG_NULL &&
	    ad.parameters.rsaDetail.keyBits == 2048,
	    "device key: sign|fixedTPM|fixedParent|sensitiveDataOrigin|"
	    "userWithAuth, null scheme (PKCS#1 v1.5 and PSS per call)");
	CHECK(blob_area(tk, &at) == 0 && at.type == TPM2_ALG_RSA &&
	    at.objectAttributes == (base | TPMA_OBJECT_DECRYPT) &&
	    at.parameters.rsaDetail.scheme.scheme == TPM2_ALG_OAEP &&
	    at.parameters.rsaDetail.scheme.details.oaep.hashAlg ==
	    TPM2_ALG_SHA1 &&
	    at.parameters.rsaDetail.symmetric.algorithm == TPM2_ALG_NULL &&
	    at.parameters.rsaDetail.keyBits == 2048,
	    "transport key: decrypt|fixedTPM|fixedParent|sensitiveDataOrigin|"
	    "userWithAuth, scheme RSA-OAEP/SHA-1 (the service's JWE RSA-OAEP)");
	{
		/* The blob ends with the SRK's name: the TCG SRK here. */
		TPM2B_PUBLIC bp;
		TPM2B_PRIVATE bv;
		TPM2B_NAME bn = { 0 };
		uint8_t srk_mod[256];
		size_t off = 0;

		CHECK(Tss2_MU_TPM2B_PUBLIC_Unmarshal(dk->data, dk->len, &off,
		    &bp) == TSS2_RC_SUCCESS &&
		    Tss2_MU_TPM2B_PRIVATE_Unmarshal(dk->data, dk->len, &off,
		    &bv) == TSS2_RC_SUCCESS &&
		    Tss2_MU_TPM2B_NAME_Unmarshal(dk->data, dk->len, &off,
		    &bn) == TSS2_RC_SUCCESS && off == dk->len &&
		    bn.size == 34 && bn.name[0] == 0x00 && bn.name[1] == 0x0b &&
		    raw_tcg_srk(srk_mod) == 0,
		    "the key blob ends with the SRK's name (SHA-256 name)");
	}
	CHECK(tpm_blob_public(dk->data, dk->len, &p) == 0 &&
	    memcmp(&p, &dk->pub, sizeof(p)) == 0 &&
	    tpm_blob_public(tk->data, tk->len, &p) == 0 &&
	    memcmp(&p, &tk->pub, sizeof(p)) == 0,
	    "public numbers read back from the blobs without a TPM");

	t0 = now();
	r = tpm_load_key(t, dk->data, dk->len, &kd);
	t1 = now();
	fprintf(stderr, "# tpm: load device key: %.3f s\n", t1 - t0);
	CHECK(r == 0 && tpm_load_key(t, tk->data, tk->len, &kt) == 0 &&
	    memcmp(tpm_key_public(kd), &dk->pub, sizeof(p)) == 0 &&
	    memcmp(tpm_key_public(kt), &tk->pub, sizeof(p)) == 0,
	    "both blobs load under the SRK");
	if (kd == NULL)
		goto out;

	mbedtls_sha256((const uint8_t *)"drsjoin", 7, hash, 0);
	t0 = now();
	for (i = 0, r = 0; i < n && r == 0; i++)
		r = tpm_sign_sha256(kd, hash, sig, sizeof(sig), &sig_len);
	t1 = now();
	fprintf(stderr, "# tpm: sign (RSASSA SHA-256, salted session): "
	    "%.1f ms each over %d\n", (t1 - t0) * 1000 / n, n);
	CHECK(r == 0 && sig_len == 256 && verify(&dk->pub, hash, sig,
	    sig_len), "signature made in the TPM verifies with mbedTLS");
	hash[0] ^= 1;
	CHECK(!verify(&dk->pub, hash, sig, sig_len),
	    "the same signature does not verify for another hash");
	CHECK(!verify(&tk->pub, hash, sig, sig_len) &&
	    sign_verifies(kd, "another message"),
	    "and not with the transport key; a second message verifies");

	/* RSA-PSS for TLS 1.3: MGF1-SHA-256, salt = hash length. */
	hash[0] ^= 1;
	t0 = now();
	r = tpm_sign_pss_sha256(kd, hash, sig, sizeof(sig), &sig_len);
	fprintf(stderr, "# tpm: sign (RSA-PSS SHA-256): %.1f ms\n",
	    (now() - t0) * 1000);
	CHECK(r == 0 && sig_len == 256 && verify_pss(&dk->pub, hash, sig,
	    sig_len, 32), "RSA-PSS signature made in the TPM verifies with "
	    "mbedTLS, 32-byte salt (TLS 1.3)");
	CHECK(r == 0 && !verify_pss(&dk->pub, hash, sig, sig_len, 222) &&
	    !verify(&dk->pub, hash, sig, sig_len),
	    "the TPM's PSS salt is not the largest (222), and it is no PKCS#1 "
	    "v1.5 signature");
	CHECK(tpm_sign_sha256(kd, hash, sig, sizeof(sig), &sig_len) == 0 &&
	    verify(&dk->pub, hash, sig, sig_len),
	    "the same key still signs PKCS#1 v1.5 after PSS");
	hash[0] ^= 1;

	capture_begin();
	r = tpm_sign_sha256(kt, hash, sig, sizeof(sig), &sig_len);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && strstr(err, "not a signing key"),
	    "the transport key does not sign [%s]", err);
	capture_begin();
	r = tpm_sign_pss_sha256(kt, hash, sig, sizeof(sig), &sig_len);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && strstr(err, "not a signing key"),
	    "the transport key does not sign PSS either [%s]", err);
	capture_begin();
	r = tpm_sign_sha256(kd, hash, sig, 255, &sig_len);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && strstr(err, "too small"),
	    "signature buffer too small is refused [%s]", err);

	/* A blob cut short, or with a byte after it, is not ours. */
	bad = malloc(dk->len + 1);
	memcpy(bad, dk->data, dk->len);
	bad[dk->len] = 0;
	tpm_key_free(kt);
	kt = NULL;
	capture_begin();
	r = tpm_load_key(t, bad, dk->len - 1, &kt);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && kt == NULL && log_exit_code() == EXIT_INPUT &&
	    strcmp(err, "drsjoin: tpm: not a drsjoin TPM key blob "
	    "(TPM2B_PUBLIC || TPM2B_PRIVATE || TPM2B_NAME)") == 0,
	    "truncated blob: EXIT_INPUT [%s]", err);
	capture_begin();
	r = tpm_blob_public(bad, dk->len + 1, &p);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && log_exit_code() == EXIT_INPUT,
	    "blob with a trailing byte: EXIT_INPUT [%s]", err);
	/* A flipped bit in the sealed private part: the TPM's integrity
	 * check catches it, as it does a blob from another TPM. */
	memcpy(bad, dk->data, dk->len);
	bad[dk->len - 80] ^= 0x01;
	capture_begin();
	r = tpm_load_key(t, bad, dk->len, &kt);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && log_exit_code() == EXIT_TPM && strcmp(err,
	    "drsjoin: tpm: these keys belong to another TPM") == 0,
	    "tampered private part fails the integrity check [%s]", err);
	/* A blob of an older drsjoin (no SRK name): loads, with a note. */
	memcpy(bad, dk->data, dk->len);
	capture_begin();
	r = tpm_load_key(t, bad, dk->len - 36, &kt);
	capture_end(err, sizeof(err));
	CHECK(r == 0 && strcmp(err, "drsjoin: tpm: these keys were made by an "
	    "older drsjoin, which did not record their storage root key: it is "
	    "not checked ('drsjoin join --force' makes new keys)") == 0,
	    "a blob without the SRK's name loads, saying it is unchecked [%s]",
	    err);
	tpm_key_free(kt);
	kt = NULL;
	/* The failed command leaves the session and the SRK usable. */
	CHECK(tpm_load_key(t, tk->data, tk->len, &kt) == 0 &&
	    sign_verifies(kd, "after a failure"),
	    "the same connection loads and signs after a failed load");
out:
	free(bad);
	tpm_key_free(kd);
	tpm_key_free(kt);
	tpm_close(t);
	/* Through a resource manager these are 0 anyway; on swtpm they are
	 * what tpm.c flushed. */
	CHECK(raw_count(TPM2_TRANSIENT_FIRST) == 0 &&
	    raw_count(TPM2_LOADED_SESSION_FIRST) == 0,
	    "nothing left loaded in the TPM after close");
}

/*
 * The transport key decrypts RSA-OAEP/SHA-1 only (our own ESYS context on
 * the blob, after tpm.c closed its connection: swtpm serves one at a time).
 */
static void
test_transport_decrypt(const struct tpm_keyblob *tk)
{
	uint8_t c[256], m[256];
	size_t m_len = 0;
	TSS2_RC drc;
	int i, r;

	/* Replays the attack of issue 10: with a null scheme, whoever can
	 * load the key gets a raw RSA private operation (a signing oracle). */
	for (i = 0; i < 256; i++)
		c[i] = (uint8_t)(i * 7 + 1);
	c[0] = 0x00;	/* below the modulus */
	drc = raw_decrypt(tk, TPM2_ALG_NULL, TPM2_ALG_NULL, c, 256, m,
	    &m_len);
	CHECK(tpm_said_no(drc), "the TPM refuses a raw RSA "
	    "decryption with the transport key [%s]",
	    drc ? Tss2_RC_Decode(drc) : "it decrypted");
	drc = raw_decrypt(tk, TPM2_ALG_RSAES, TPM2_ALG_NULL, c, 256, m,
	    &m_len);
	CHECK(tpm_said_no(drc), "and a PKCS#1 v1.5 decryption "
	    "[%s]", drc ? Tss2_RC_Decode(drc) : "it decrypted");
	CHECK(oaep_encrypt(&tk->pub, MBEDTLS_MD_SHA256,
	    (const uint8_t *)"session key", 11, c) &&
	    tpm_said_no(raw_decrypt(tk, TPM2_ALG_OAEP, TPM2_ALG_SHA256,
	    c, 256, m, &m_len)),
	    "and RSA-OAEP with SHA-256 (the key is fixed to SHA-1)");
	m_len = 0;
	r = oaep_encrypt(&tk->pub, MBEDTLS_MD_SHA1,
	    (const uint8_t *)"session key", 11, c);
	drc = r ? raw_decrypt(tk, TPM2_ALG_OAEP, TPM2_ALG_SHA1, c, 256,
	    m, &m_len) : 1;
	CHECK(drc == TSS2_RC_SUCCESS && m_len == 11 &&
	    memcmp(m, "session key", 11) == 0,
	    "RSA-OAEP/SHA-1 (JWE RSA-OAEP) decrypts in the TPM [%s]",
	    r ? Tss2_RC_Decode(drc) : "encryption failed");
	m_len = 0;
	CHECK(r && raw_decrypt(tk, TPM2_ALG_NULL, TPM2_ALG_NULL, c, 256,
	    m, &m_len) == TSS2_RC_SUCCESS && m_len == 11,
	    "with the null scheme too: the key's own scheme applies");
}

/* A session_key_jwe (header {"enc":"A256GCM","alg":"RSA-OAEP"}) around c. */
static char *
session_jwe(const uint8_t c[256])
{
	char *ek = b64url_encode(c, 256), *j;

	j = ek ? util_asprintf("eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ"
	    ".%s.AAAAAAAAAAAAAAAA.Gg.AAAAAAAAAAAAAAAAAAAAAA", ek) : NULL;
	free(ek);
	return j;
}

/*
 * The PRT's session key (issue 25) unwraps inside the TPM: session_key_jwe
 * through jwe_session_key() with the transport key as a decrypter key
 * (tpm_rsa_decrypt_oaep); a ciphertext the TPM refuses is the caller's
 * error (EXIT_NETWORK for an answer), and the device key does not decrypt.
 */
static void
test_session_key(const struct tpm_keyblob *dkb, const struct tpm_keyblob *tkb)
{
	struct tpm *t = NULL;
	struct tpm_key *kd = NULL, *kt = NULL;
	const struct tpm_public *p;
	struct key *tk = NULL;
	uint8_t sk[JWE_SESSION_KEY_LEN], got[JWE_SESSION_KEY_LEN], c[256], m[256];
	char *jwe = NULL, err[1024] = "";
	size_t i, m_len = 0;
	int ok, r;

	for (i = 0; i < sizeof(sk); i++)
		sk[i] = (uint8_t)(3 * i + 1);
	memset(got, 0, sizeof(got));
	ok = tpm_open(tcti, &t) == 0 &&
	    tpm_load_key(t, dkb->data, dkb->len, &kd) == 0 &&
	    tpm_load_key(t, tkb->data, tkb->len, &kt) == 0 &&
	    (p = tpm_key_public(kt)) != NULL &&
	    keys_from_public_and_decrypter(p->modulus, p->modulus_len,
	    p->exponent, p->exponent_len, tpm_rsa_decrypt_oaep, kt, &tk) == 0 &&
	    oaep_encrypt(p, MBEDTLS_MD_SHA1, sk, sizeof(sk), c) &&
	    (jwe = session_jwe(c)) != NULL;
	CHECK(ok && jwe_session_key(jwe, strlen(jwe), tk, EXIT_NETWORK, "prt",
	    got) == 0 && memcmp(got, sk, sizeof(sk)) == 0,
	    "session_key_jwe unwraps in the TPM with the transport key "
	    "(TPM2_RSA_Decrypt, OAEP/SHA-1)");
	free(jwe);
	jwe = NULL;

	c[100] ^= 0x01;		/* another ciphertext: its padding fails */
	capture_begin();
	r = ok && (jwe = session_jwe(c)) != NULL ?
	    jwe_session_key(jwe, strlen(jwe), tk, EXIT_NETWORK, "prt", got) : 0;
	capture_end(err, sizeof(err));
	CHECK(r == -1 && log_exit_code() == EXIT_NETWORK &&
	    strcmp(err, "drsjoin: prt: the wrapped key does not decrypt with "
	    "the transport key (RSA-OAEP, in the TPM)") == 0,
	    "a ciphertext the TPM refuses is the answer's error [%s]", err);
	free(jwe);

	memset(c, 0xff, sizeof(c));	/* past the modulus */
	capture_begin();
	r = ok && (jwe = session_jwe(c)) != NULL ?
	    jwe_session_key(jwe, strlen(jwe), tk, EXIT_NETWORK, "prt", got) : 0;
	capture_end(err, sizeof(err));
	CHECK(r == -1 && log_exit_code() == EXIT_NETWORK &&
	    strstr(err, "prt: the wrapped key does not decrypt") != NULL,
	    "so is a number past the modulus [%s]", err);
	free(jwe);

	capture_begin();
	r = ok ? tpm_rsa_decrypt_oaep(kd, c, sizeof(c), m, sizeof(m), &m_len) : 0;
	capture_end(err, sizeof(err));
	CHECK(r == -1 && strstr(err, "tpm: decrypt: not a decryption key"),
	    "the device key does not decrypt [%s]", err);
	util_wipe(got, sizeof(got));
	keys_free(tk);
	tpm_key_free(kd);
	tpm_key_free(kt);
	tpm_close(t);
	log_reset();
}

/* A device key fixed to RSASSA (an older drsjoin's) says why it does no PSS. */
static void
test_old_device_key(void)
{
	struct tpm *t = NULL;
	struct tpm_key *k = NULL;
	struct tpm_keyblob old = { 0 };
	uint8_t hash[32], sig[256];
	size_t sig_len = 0;
	char err[1024] = "";
	int r = -1;

	mbedtls_sha256((const uint8_t *)"old", 3, hash, 0);
	capture_begin();	/* the note on a blob without the SRK name */
	r = raw_old_device_key(&old) < 0 || tpm_open(tcti, &t) < 0 ||
	    tpm_load_key(t, old.data, old.len, &k) < 0 ? -1 : 0;
	capture_end(err, sizeof(err));
	if (r < 0) {
		CHECK(0, "make and load an RSASSA-only device key");
		goto out;
	}
	CHECK(sign_verifies(k, "pkcs1"), "an RSASSA-only device key still "
	    "signs PKCS#1 v1.5");
	capture_begin();
	r = tpm_sign_pss_sha256(k, hash, sig, sizeof(sig), &sig_len);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && log_exit_code() == EXIT_TPM && strcmp(err,
	    "drsjoin: tpm: sign with device key (RSA-PSS): the device key was "
	    "made to sign only RSASSA-PKCS1-v1_5 (by an older drsjoin): "
	    "'drsjoin join --force' makes new keys") == 0,
	    "an RSASSA-only device key: PSS refused, saying why [%s]", err);
out:
	tpm_key_free(k);
	tpm_close(t);
	tpm_keyblob_clear(&old);
}

static void
test_persistent(const struct tpm_keyblob *std_dk)
{
	struct tpm *t = NULL;
	struct tpm_key *k = NULL;
	struct tpm_keyblob dk = { 0 }, tk = { 0 };
	struct tpm_public p, std;
	char err[1024];
	int pers = -1, ok, r;

	/* Never evict somebody's real SRK. */
	if (raw_exists(0x81000001)) {
		SKIP("persistent SRK cases: 0x81000001 is in use on this TPM; "
		    "not touching it");
		return;
	}
	if (raw_persistent(1, 1) < 0) {
		CHECK(0, "make a persistent SRK at 0x81000001");
		return;
	}
	ok = tpm_open(tcti, &t) == 0 && tpm_srk_public(t, &p, &pers) == 0 &&
	    tpm_create_keys(t, &dk, &tk) == 0 &&
	    tpm_load_key(t, dk.data, dk.len, &k) == 0 && sign_verifies(k, "x");
	CHECK(ok && pers == 1, "persistent SRK 0x81000001 used when present");
	tpm_key_free(k);
	k = NULL;
	/* Keys from the standard transient SRK do not load under it: proof
	 * that the persistent key really is the parent. */
	capture_begin();
	r = tpm_load_key(t, std_dk->data, std_dk->len, &k);
	capture_end(err, sizeof(err));
	CHECK(r == -1 && strstr(err, "another TPM, or its storage root key "
	    "was replaced"), "keys under the persistent SRK are not under the "
	    "transient one: refused by name, before the load [%s]", err);
	tpm_close(t);
	t = NULL;

	/*
	 * Keys made under the transient SRK still load with a (genuine)
	 * storage key at 0x81000001: their recorded SRK name picks the
	 * transient one. Before the name was recorded, the persistent key was
	 * tried and the keys "belonged to another TPM".
	 */
	ok = tpm_open(tcti, &t) == 0 &&
	    tpm_load_key(t, std_dk->data, std_dk->len, &k) == 0 &&
	    sign_verifies(k, "std");
	CHECK(ok, "keys of the transient SRK load when 0x81000001 holds "
	    "another storage key (the recorded name chooses)");
	tpm_key_free(k);
	k = NULL;
	tpm_close(t);
	t = NULL;

	/*
	 * Issue 10: a substituted SRK. 0x81000001 replaced by another storage
	 * key (as someone who wants the session salt would): the keys made
	 * under the first are refused before anything is sent to it.
	 */
	if (raw_persistent(0, 0) < 0 ||
	    raw_persistent_as(1, 1, "drsjoin-other-srk") < 0) {
		CHECK(0, "replace the persistent SRK");
		goto out;
	}
	ok = tpm_open(tcti, &t) == 0;
	capture_begin();
	r = ok ? tpm_load_key(t, dk.data, dk.len, &k) : 0;
	capture_end(err, sizeof(err));
	CHECK(ok && r == -1 && k == NULL && log_exit_code() == EXIT_TPM &&
	    strncmp(err, "drsjoin: tpm: these keys belong to another TPM, or "
	    "its storage root key was replaced (they were made under the SRK "
	    "named 000b", 104) == 0 && strstr(err, ", this TPM's is 000b"),
	    "a replaced persistent SRK is refused, naming both SRKs (exit 6) "
	    "[%s]", err);
	tpm_close(t);
	t = NULL;

	/*
	 * Issue 10: a storage key at 0x81000001 that is not fixedTPM and
	 * fixedParent (duplicable: its private part can leave the TPM, and
	 * with it every key made under it) is not used as the SRK.
	 */
	if (raw_persistent(0, 0) < 0 || raw_persistent_duplicable() < 0) {
		CHECK(0, "make a duplicable storage key at 0x81000001");
		goto out;
	}
	ok = tpm_open(tcti, &t) == 0 && tpm_srk_public(t, &std, &pers) == 0 &&
	    tpm_load_key(t, std_dk->data, std_dk->len, &k) == 0;
	CHECK(ok && pers == 0, "a storage key at 0x81000001 without fixedTPM "
	    "and fixedParent is not used (transient SRK)");
	tpm_key_free(k);
	k = NULL;
	tpm_close(t);
	t = NULL;

	/* A signing key at 0x81000001 is no SRK: it is passed over. */
	if (raw_persistent(0, 0) < 0 || raw_persistent(1, 0) < 0) {
		CHECK(0, "make a persistent signing key at 0x81000001");
		goto out;
	}
	ok = tpm_open(tcti, &t) == 0 && tpm_srk_public(t, &std, &pers) == 0 &&
	    tpm_load_key(t, std_dk->data, std_dk->len, &k) == 0;
	CHECK(ok && pers == 0 && memcmp(&std, &p, sizeof(p)) != 0,
	    "a non-storage key at 0x81000001 is ignored (transient SRK)");
	tpm_key_free(k);
	k = NULL;
	tpm_close(t);
	t = NULL;
out:
	CHECK(raw_persistent(0, 0) == 0, "remove the persistent test key");
	tpm_keyblob_clear(&dk);
	tpm_keyblob_clear(&tk);
}

/* ---- the modes that span two swtpm lifetimes -------------------------- */

static int
mode_save(const char *dir)
{
	struct tpm *t = NULL;
	struct tpm_keyblob dk = { 0 }, tk = { 0 };
	int ok;

	ok = tpm_open(tcti, &t) == 0 && tpm_create_keys(t, &dk, &tk) == 0 &&
	    write_file(dir, "dk.blob", dk.data, dk.len) == 0 &&
	    write_file(dir, "tk.blob", tk.data, tk.len) == 0;
	CHECK(ok, "create keys and save the blobs");
	tpm_keyblob_clear(&dk);
	tpm_keyblob_clear(&tk);
	tpm_close(t);
	return tap_done();
}

static int
mode_load(const char *dir, const char *name, int foreign)
{
	struct tpm *t = NULL;
	struct tpm_key *kd = NULL, *kt = NULL;
	uint8_t *d = NULL, *tb = NULL;
	size_t dn = 0, tn = 0;
	char err[1024] = "";
	int r = -1;

	d = read_file(dir, "dk.blob", &dn);
	tb = read_file(dir, "tk.blob", &tn);
	if (d && tb && tpm_open(tcti, &t) == 0) {
		capture_begin();
		r = tpm_load_key(t, d, dn, &kd);
		if (r == 0)
			r = tpm_load_key(t, tb, tn, &kt);
		capture_end(err, sizeof(err));
	}
	if (foreign)
		CHECK(r == -1 && log_exit_code() == EXIT_TPM && strncmp(err,
		    "drsjoin: tpm: these keys belong to another TPM, or its "
		    "storage root key was replaced (they were made under the "
		    "SRK named 000b", 104) == 0, "%s [%s]", name, err);
	else
		CHECK(r == 0 && sign_verifies(kd, "after restart"),
		    "%s [%s]", name, err);
	tpm_key_free(kd);
	tpm_key_free(kt);
	tpm_close(t);
	free(d);
	free(tb);
	return tap_done();
}

/*
 * A PSS signature for the script to check with openssl: DIR/pub.der (the
 * device key's SubjectPublicKeyInfo), DIR/msg and DIR/msg.sig.
 */
static int
mode_pss(const char *dir)
{
	struct tpm *t = NULL;
	struct tpm_key *k = NULL;
	struct tpm_keyblob dk = { 0 }, tk = { 0 };
	mbedtls_pk_context pk;
	uint8_t hash[32], sig[256], der[600];
	const char *msg = "TLS 1.3, client CertificateVerify";
	size_t sig_len = 0;
	int ok, n = -1;

	mbedtls_pk_init(&pk);
	mbedtls_sha256((const uint8_t *)msg, strlen(msg), hash, 0);
	ok = tpm_open(tcti, &t) == 0 && tpm_create_keys(t, &dk, &tk) == 0 &&
	    tpm_load_key(t, dk.data, dk.len, &k) == 0 &&
	    tpm_sign_pss_sha256(k, hash, sig, sizeof(sig), &sig_len) == 0 &&
	    mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) ==
	    0 && mbedtls_rsa_import_raw(mbedtls_pk_rsa(pk), dk.pub.modulus, 256,
	    NULL, 0, NULL, 0, NULL, 0, dk.pub.exponent, dk.pub.exponent_len) ==
	    0 && mbedtls_rsa_complete(mbedtls_pk_rsa(pk)) == 0 &&
	    (n = mbedtls_pk_write_pubkey_der(&pk, der, sizeof(der))) > 0 &&
	    write_file(dir, "pub.der", der + sizeof(der) - n, (size_t)n) == 0 &&
	    write_file(dir, "msg", (const uint8_t *)msg, strlen(msg)) == 0 &&
	    write_file(dir, "msg.sig", sig, sig_len) == 0;
	CHECK(ok, "sign RSA-PSS in the TPM for openssl");
	mbedtls_pk_free(&pk);
	tpm_key_free(k);
	tpm_close(t);
	tpm_keyblob_clear(&dk);
	tpm_keyblob_clear(&tk);
	return tap_done();
}

/* Everything that crosses the bus in a join, for the script to inspect. */
static int
mode_wire(const char *dir)
{
	struct tpm *t = NULL;
	struct tpm_key *k = NULL;
	struct tpm_keyblob dk = { 0 }, tk = { 0 };
	uint8_t hash[32], sig[256];
	char msg[64];
	size_t sig_len = 0;
	int ok;

	/* A message of this run: its hash must not be seen on the bus. */
	snprintf(msg, sizeof(msg), "wire %ld %ld", (long)getpid(),
	    (long)time(NULL));
	mbedtls_sha256((const uint8_t *)msg, strlen(msg), hash, 0);
	ok = tpm_open(tcti, &t) == 0 && tpm_create_keys(t, &dk, &tk) == 0 &&
	    tpm_load_key(t, dk.data, dk.len, &k) == 0 &&
	    tpm_sign_sha256(k, hash, sig, sizeof(sig), &sig_len) == 0 &&
	    verify(&dk.pub, hash, sig, sig_len) &&
	    write_file(dir, "dk.blob", dk.data, dk.len) == 0 &&
	    write_file(dir, "tk.blob", tk.data, tk.len) == 0 &&
	    write_file(dir, "hash", hash, sizeof(hash)) == 0;
	CHECK(ok, "create, load and sign through a listener on the bus");
	tpm_key_free(k);
	tpm_close(t);
	tpm_keyblob_clear(&dk);
	tpm_keyblob_clear(&tk);
	return tap_done();
}

int
main(int argc, char **argv)
{
	struct tpm_keyblob dk = { 0 }, tk = { 0 };
	int transients, sessions, persistents;

	tcti = getenv("DRSJOIN_TEST_TCTI");
	if (tcti == NULL || *tcti == '\0') {
		SKIP("tpm: DRSJOIN_TEST_TCTI is not set "
		    "(test/integ/tpm_unit.sh runs this on swtpm)");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "save") == 0)
		return mode_save(argv[2]);
	if (argc == 3 && strcmp(argv[1], "wire") == 0)
		return mode_wire(argv[2]);
	if (argc == 3 && strcmp(argv[1], "pss") == 0)
		return mode_pss(argv[2]);
	/* For the scripts: a storage key at 0x81000001 (replacing any). */
	if (argc == 3 && strcmp(argv[1], "persist") == 0) {
		CHECK(raw_persistent(0, 0) == 0 &&
		    raw_persistent_as(1, 1, argv[2]) == 0,
		    "storage key '%s' persistent at 0x81000001", argv[2]);
		return tap_done();
	}
	if (argc == 4 && strcmp(argv[1], "load") == 0)
		return mode_load(argv[2], argv[3], 0);
	if (argc == 4 && strcmp(argv[1], "foreign") == 0)
		return mode_load(argv[2], argv[3], 1);
	if (argc != 1) {
		fprintf(stderr, "usage: test_tpm [save|wire|pss DIR | load|foreign "
		    "DIR NAME]\n");
		return 2;
	}
	transients = raw_count(TPM2_TRANSIENT_FIRST);
	sessions = raw_count(TPM2_LOADED_SESSION_FIRST);
	persistents = raw_count(TPM2_PERSISTENT_FIRST);
	test_open();
	test_srk();
	test_keys(&dk, &tk);
	if (tk.data)
		test_transport_decrypt(&tk);
	if (dk.data && tk.data)
		test_session_key(&dk, &tk);
	test_old_device_key();
	if (dk.data)
		test_persistent(&dk);
	else
		CHECK(0, "persistent SRK cases need the keys of the main path");
	CHECK(transients >= 0 && raw_count(TPM2_TRANSIENT_FIRST) == transients &&
	    raw_count(TPM2_LOADED_SESSION_FIRST) == sessions &&
	    raw_count(TPM2_PERSISTENT_FIRST) == persistents,
	    "the TPM is left as found (objects, sessions, persistent keys)");
	tpm_keyblob_clear(&dk);
	tpm_keyblob_clear(&tk);
	return tap_done();
}
