/*
 * tpm.c - device and transport keys in a TPM 2.0, through tpm2-tss ESYS.
 *
 * The only user of Esys_* / Tss2_*. Every TSS return code is decoded here,
 * once, into a line naming the operation. See tpm.h for the contracts.
 */
/* O_PATH: glibc (the ASan build) declares it only with _GNU_SOURCE. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tcti_device.h>
#include <tss2/tss2_tcti_mssim.h>
#include <tss2/tss2_tcti_swtpm.h>

#include "log.h"
#include "tpm.h"
#include "util.h"

/* The TCG-recommended persistent handle of the storage root key. */
#define SRK_PERSISTENT 0x81000001u
#define RSA_BITS 2048
#define RSA_BYTES (RSA_BITS / 8)

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char *spec;
	ESYS_TR srk;			/* ESYS_TR_NONE until first needed */
	TPM2B_NAME srk_name;		/* its name, once it is chosen */
	int srk_persistent;		/* then only closed, never flushed */
	int legacy_noted;		/* said once: a blob without SRK name */
	ESYS_TR session;		/* salted HMAC session, lazily started */
};

struct tpm_key {
	struct tpm *tpm;		/* borrowed */
	ESYS_TR handle;
	struct tpm_public pub;
	TPM2_ALG_ID scheme;		/* the key's own: NULL, or fixed */
};

typedef TSS2_RC (*tcti_init_fn)(TSS2_TCTI_CONTEXT *, size_t *, const char *);

static const struct {
	const char *name;
	tcti_init_fn init;
} tctis[] = {
	{ "device", Tss2_Tcti_Device_Init },
	{ "mssim", Tss2_Tcti_Mssim_Init },
	{ "swtpm", Tss2_Tcti_Swtpm_Init },
};

static const char *const default_devices[] = {
	"device:/dev/tpmrm0",	/* the kernel resource manager: flushes for us */
	"device:/dev/tpm0",
};

static TSS2_RC read_info(struct tpm *tpm, struct tpm_info *info);

/* The layer bits stripped and, for format-one codes, the handle/parameter/
 * session number too: what is left says what went wrong. */
static TSS2_RC
rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc & 0xfff;
}

/* A hint for the failures a user can do something about. */
static const char *
rc_hint(TSS2_RC rc)
{
	switch (rc_base(rc)) {
	case TPM2_RC_BAD_AUTH:
	case TPM2_RC_AUTH_FAIL:
		return " (the owner hierarchy or the SRK has a password: "
		    "provision an SRK without one at 0x81000001)";
	case TPM2_RC_LOCKOUT:
		return " (the TPM is in dictionary-attack lockout)";
	case TPM2_RC_OBJECT_MEMORY:
	case TPM2_RC_SESSION_MEMORY:
		return " (the TPM is full of objects left by another program; "
		    "without a resource manager, flush them)";
	default:
		return "";
	}
}

static int
fail_rc(const char *what, TSS2_RC rc)
{
	return log_fail(EXIT_TPM, "tpm: %s: %s%s", what, Tss2_RC_Decode(rc),
	    rc_hint(rc));
}

/* ---- opening ---------------------------------------------------------- */

/* The spec from the argument, then the environment, or NULL for default. */
static const char *
choose_spec(const char *spec)
{
	const char *env;

	if (spec && *spec)
		return spec;
	if ((env = getenv("DRSJOIN_TCTI")) && *env)
		return env;
	if ((env = getenv("TPM2TOOLS_TCTI")) && *env)
		return env;
	return NULL;
}

/* Splits "name[:conf]" and finds the init function. conf is NULL (the
 * TCTI's defaults) when absent or empty. -1 with why set when unknown. */
static int
parse_spec(const char *spec, tcti_init_fn *init, const char **conf,
    char *why, size_t n)
{
	const char *colon = strchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	size_t i;

	*conf = colon && colon[1] ? colon + 1 : NULL;
	for (i = 0; i < sizeof(tctis) / sizeof(tctis[0]); i++) {
		if (strlen(tctis[i].name) == len &&
		    strncmp(spec, tctis[i].name, len) == 0) {
			*init = tctis[i].init;
			return 0;
		}
	}
	snprintf(why, n, "tpm: unknown TCTI '%.*s' in '%s' "
	    "(drsjoin has device, swtpm and mssim)", (int)len, spec, spec);
	return -1;
}

/*
 * A device TCTI's path must name a character device: the TCTI writes a TPM
 * command into whatever it opens. The path is opened here with O_PATH and
 * O_NOFOLLOW (nothing is read or written, and /dev/tpm0's one-opener rule
 * is not touched), checked with fstat, and the TCTI then opens that very
 * inode through /proc/self/fd: no other file can be swapped in between.
 * 0 with *pfd open and proc set, or -1 with why set.
 */
static int
open_device_checked(const char *spec, const char *path, int *pfd, char *proc,
    size_t proc_n, char *why, size_t n)
{
	struct stat st;
	int fd;

	*pfd = -1;
	memset(&st, 0, sizeof(st));
	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(why, n, "tpm: cannot open %s: %s", spec,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		snprintf(why, n, "tpm: cannot open %s: not a character device "
		    "(%s)", spec, S_ISLNK(st.st_mode) ? "a symbolic link" :
		    S_ISREG(st.st_mode) ? "a regular file" : S_ISDIR(st.st_mode) ?
		    "a directory" : "not a TPM");
		close(fd);
		return -1;
	}
	snprintf(proc, proc_n, "/proc/self/fd/%d", fd);
	if (access(proc, F_OK) < 0) {
		snprintf(why, n, "tpm: cannot open %s: /proc is not mounted "
		    "(drsjoin opens the checked device through /proc/self/fd)",
		    spec);
		close(fd);
		return -1;
	}
	*pfd = fd;
	return 0;
}

/* 1 when the TCTI's descriptor is the device that was checked. */
static int
same_device(TSS2_TCTI_CONTEXT *tcti, int checked)
{
	TSS2_TCTI_POLL_HANDLE h[4];
	size_t num = 4;
	struct stat a, b;

	return Tss2_Tcti_GetPollHandles(tcti, h, &num) == TSS2_RC_SUCCESS &&
	    num == 1 && fstat(h[0].fd, &a) == 0 && fstat(checked, &b) == 0 &&
	    S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev;
}

static int open_one(struct tpm *t, const char *spec, char *why, size_t n);

/* A bare "device": the usual devices, in order; why says why each failed. */
static int
open_default_devices(struct tpm *t, char *why, size_t n)
{
	size_t len;

	if (open_one(t, default_devices[0], why, n) == 0)
		return 0;
	len = strlen(why);
	if (len + 8 >= n)
		return open_one(t, default_devices[1], why, n);
	memcpy(why + len, "; and ", 7);
	if (open_one(t, default_devices[1], why + len + 6, n - len - 6) == 0)
		return 0;
	/* "tpm: " again in the middle reads badly: drop it. */
	if (strncmp(why + len + 6, "tpm: ", 5) == 0)
		memmove(why + len + 6, why + len + 11, strlen(why + len + 11) + 1);
	return -1;
}

/*
 * t->tcti initialised with conf; for a device (dev_fd >= 0, reopened as
 * proc), checked to be the device that was checked. -1 with why set.
 */
static int
init_tcti(struct tpm *t, const char *spec, tcti_init_fn init, const char *conf,
    int dev_fd, const char *proc, char *why, size_t n)
{
	size_t size = 0;
	int fd, err = 0;
	TSS2_RC rc;

	if ((rc = init(NULL, &size, conf)) != TSS2_RC_SUCCESS) {
		snprintf(why, n, "tpm: cannot open %s: %s", spec, Tss2_RC_Decode(rc));
		return -1;
	}
	if ((t->tcti = calloc(1, size)) == NULL) {
		snprintf(why, n, "tpm: cannot open %s: out of memory", spec);
		return -1;
	}
	if ((rc = init(t->tcti, &size, conf)) != TSS2_RC_SUCCESS) {
		free(t->tcti);
		t->tcti = NULL;
		/* The TCTI loses errno; ask the (checked) device again. */
		if (dev_fd >= 0) {
			if ((fd = open(proc, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
				err = errno;
			else
				close(fd);
		}
		snprintf(why, n, "tpm: cannot open %s: %s", spec,
		    err ? strerror(err) : Tss2_RC_Decode(rc));
		return -1;
	}
	if (dev_fd >= 0 && !same_device(t->tcti, dev_fd)) {
		snprintf(why, n, "tpm: cannot open %s: the device changed while "
		    "it was opened", spec);
		Tss2_Tcti_Finalize(t->tcti);
		free(t->tcti);
		t->tcti = NULL;
		return -1;
	}
	return 0;
}

/* ESYS on t->tcti, started where a simulator needs it. -1 with why set. */
static int
start_esys(struct tpm *t, const char *spec, int simulator, char *why, size_t n)
{
	TSS2_RC rc;

	if ((rc = Esys_Initialize(&t->esys, t->tcti, NULL)) != TSS2_RC_SUCCESS) {
		snprintf(why, n, "tpm: cannot open %s: %s", spec, Tss2_RC_Decode(rc));
		return -1;
	}
	/* Simulators may start powered but not started; a kernel device has
	 * been started by the firmware. "Already started" is success. */
	if (simulator) {
		rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
		if (rc != TSS2_RC_SUCCESS && rc_base(rc) != TPM2_RC_INITIALIZE) {
			snprintf(why, n, "tpm: %s: startup: %s", spec,
			    Tss2_RC_Decode(rc));
			return -1;
		}
	}
	if ((t->spec = strdup(spec)) == NULL) {
		snprintf(why, n, "tpm: cannot open %s: out of memory", spec);
		return -1;
	}
	return 0;
}

/* Initialises one TCTI and ESYS on it. -1 with why set on failure. */
static int
open_one(struct tpm *t, const char *spec, char *why, size_t n)
{
	tcti_init_fn init;
	const char *conf;
	char proc[64];
	int dev_fd = -1, r;

	if (parse_spec(spec, &init, &conf, why, n) < 0)
		return -1;
	if (init == Tss2_Tcti_Device_Init && conf == NULL)
		return open_default_devices(t, why, n);
	if (init == Tss2_Tcti_Device_Init) {
		if (open_device_checked(spec, conf, &dev_fd, proc, sizeof(proc),
		    why, n) < 0)
			return -1;
		conf = proc;
	}
	r = init_tcti(t, spec, init, conf, dev_fd, proc, why, n);
	if (dev_fd >= 0)
		close(dev_fd);
	if (r < 0)
		return -1;
	if (start_esys(t, spec, init != Tss2_Tcti_Device_Init, why, n) < 0) {
		Esys_Finalize(&t->esys);
		Tss2_Tcti_Finalize(t->tcti);
		free(t->tcti);
		t->tcti = NULL;
		return -1;
	}
	return 0;
}

/* Opens and asks one cheap question, so that "usable" means it answers. */
static int
open_checked(const char *spec, struct tpm **out, char *why, size_t n,
    int *bad_spec)
{
	struct tpm *t = NULL;
	const char *chosen = choose_spec(spec);
	tcti_init_fn init;
	const char *conf;
	struct tpm_info info;
	TSS2_RC rc;

	*out = NULL;
	*bad_spec = 0;
	if (chosen && parse_spec(chosen, &init, &conf, why, n) < 0) {
		*bad_spec = 1;
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(why, n, "tpm: out of memory");
		return -1;
	}
	t->srk = ESYS_TR_NONE;
	t->session = ESYS_TR_NONE;
	if (open_one(t, chosen ? chosen : "device", why, n) < 0) {
		free(t);
		return -1;
	}
	log_debug(1, "tpm: opened %s", t->spec);
	/* A device node that opens but whose TPM does not answer (a TPM 1.2
	 * behind /dev/tpm0, a wedged simulator) is not usable either. */
	if ((rc = read_info(t, &info)) != TSS2_RC_SUCCESS) {
		snprintf(why, n, "tpm: %s does not answer: %s", t->spec,
		    Tss2_RC_Decode(rc));
		tpm_close(t);
		return -1;
	}
	*out = t;
	return 0;
}

int
tpm_open(const char *spec, struct tpm **out)
{
	char why[512];
	int bad_spec;

	if (open_checked(spec, out, why, sizeof(why), &bad_spec) < 0)
		return log_fail(bad_spec ? EXIT_USAGE : EXIT_TPM, "%s", why);
	return 0;
}

int
tpm_available(const char *spec)
{
	struct tpm *t = NULL;
	char why[512];
	int bad_spec;

	if (open_checked(spec, &t, why, sizeof(why), &bad_spec) < 0) {
		if (bad_spec)
			return log_fail(EXIT_USAGE, "%s", why);
		log_debug(1, "%s", why);
		return 0;
	}
	tpm_close(t);
	return 1;
}

int
tpm_spec_known(const char *spec)
{
	tcti_init_fn init;
	const char *conf;
	char why[160];

	return spec != NULL && parse_spec(spec, &init, &conf, why, sizeof(why)) == 0;
}

const char *
tpm_spec(const struct tpm *tpm)
{
	return tpm ? tpm->spec : NULL;
}

void
tpm_close(struct tpm *tpm)
{
	if (tpm == NULL)
		return;
	if (tpm->esys) {
		/* Without a resource manager (swtpm, mssim, /dev/tpm0) what we
		 * leave loaded stays loaded: flush it. */
		if (tpm->session != ESYS_TR_NONE)
			Esys_FlushContext(tpm->esys, tpm->session);
		if (tpm->srk != ESYS_TR_NONE) {
			if (tpm->srk_persistent)
				Esys_TR_Close(tpm->esys, &tpm->srk);
			else
				Esys_FlushContext(tpm->esys, tpm->srk);
		}
		Esys_Finalize(&tpm->esys);
	}
	if (tpm->tcti) {
		Tss2_Tcti_Finalize(tpm->tcti);
		free(tpm->tcti);
	}
	free(tpm->spec);
	free(tpm);
}

/* ---- the storage root key and the session ------------------------------ */

/* Fills pub from an RSA public area; -1 when it is not one we make. */
static int
public_from_area(const TPMT_PUBLIC *a, struct tpm_public *pub)
{
	uint32_t e;
	size_t i;

	memset(pub, 0, sizeof(*pub));
	if (a->type != TPM2_ALG_RSA ||
	    a->parameters.rsaDetail.keyBits != RSA_BITS ||
	    a->unique.rsa.size != RSA_BYTES)
		return -1;
	memcpy(pub->modulus, a->unique.rsa.buffer, RSA_BYTES);
	pub->modulus_len = RSA_BYTES;
	/* 0 in the public area means the default exponent, 65537. */
	e = a->parameters.rsaDetail.exponent ? a->parameters.rsaDetail.exponent
	    : 65537;
	for (i = 0; i < 4; i++) {
		uint8_t b = (uint8_t)(e >> (24 - 8 * i));

		if (b || pub->exponent_len)
			pub->exponent[pub->exponent_len++] = b;
	}
	pub->sign = (a->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) != 0;
	pub->pss = pub->sign &&
	    (a->parameters.rsaDetail.scheme.scheme == TPM2_ALG_NULL ||
	    a->parameters.rsaDetail.scheme.scheme == TPM2_ALG_RSAPSS);
	return 0;
}

/* 1 when two names are the same. */
static int
name_eq(const TPM2B_NAME *a, const TPM2B_NAME *b)
{
	return a->size == b->size && a->size <= sizeof(a->name) &&
	    memcmp(a->name, b->name, a->size) == 0;
}

/* A name for messages: its hash algorithm and first 8 digest bytes. */
static void
name_text(const TPM2B_NAME *nm, char *buf, size_t n)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < nm->size && i < 10 && len + 3 < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%02x",
		    nm->name[i]);
	if (nm->size > 10 && len + 4 < n)
		snprintf(buf + len, n - len, "...");
}

static int
get_name(struct tpm *t, ESYS_TR tr, TPM2B_NAME *out)
{
	TPM2B_NAME *nm = NULL;
	TSS2_RC rc;

	if ((rc = Esys_TR_GetName(t->esys, tr, &nm)) != TSS2_RC_SUCCESS)
		return fail_rc("read the storage root key's name", rc);
	*out = *nm;
	Esys_Free(nm);
	return 0;
}

/*
 * Uses 0x81000001 when it holds an RSA-2048 storage key that the TPM made
 * and keeps (fixedTPM, fixedParent, sensitiveDataOrigin) and, with want,
 * whose name is want. A storage key without those attributes may have been
 * imported or be duplicable: someone may know its private part, and with it
 * unseal every key made under it. 1 used, 0 not.
 */
static int
try_persistent_srk(struct tpm *t, const TPM2B_NAME *want)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPM2B_PUBLIC *pub = NULL;
	TPMI_YES_NO more;
	ESYS_TR tr = ESYS_TR_NONE;
	TPMA_OBJECT attrs = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
	    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN;
	TPM2B_NAME name;
	int used = 0;
	TSS2_RC rc;

	/* Ask first: reading a handle that is not there is an error. */
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_HANDLES, SRK_PERSISTENT, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS || cap->data.handles.count < 1 ||
	    cap->data.handles.handle[0] != SRK_PERSISTENT)
		goto out;
	if (Esys_TR_FromTPMPublic(t->esys, SRK_PERSISTENT, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &tr) != TSS2_RC_SUCCESS)
		goto out;
	if (Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &pub, NULL, NULL) != TSS2_RC_SUCCESS)
		goto out;
	if (pub->publicArea.type != TPM2_ALG_RSA ||
	    pub->publicArea.parameters.rsaDetail.keyBits != RSA_BITS ||
	    (pub->publicArea.objectAttributes & attrs) != attrs ||
	    (pub->publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT)) {
		log_debug(1, "tpm: 0x%08x is not an RSA-2048 storage key made "
		    "in this TPM (restricted, decrypt, fixedTPM, fixedParent, "
		    "sensitiveDataOrigin); using a transient SRK",
		    SRK_PERSISTENT);
		goto out;
	}
	if (get_name(t, tr, &name) < 0)
		goto out;
	if (want != NULL && !name_eq(&name, want)) {
		log_debug(1, "tpm: the keys were not made under 0x%08x; trying "
		    "the transient SRK", SRK_PERSISTENT);
		goto out;
	}
	t->srk_name = name;
	t->srk = tr;
	t->srk_persistent = 1;
	tr = ESYS_TR_NONE;
	used = 1;
	log_debug(1, "tpm: SRK is the persistent key 0x%08x", SRK_PERSISTENT);
out:
	if (tr != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, &tr);
	Esys_Free(cap);
	Esys_Free(pub);
	return used;
}

/* The TCG RSA-2048 SRK template (storage key of the EK Credential Profile
 * with userWithAuth and noDA, as the Provisioning Guidance gives it). */
static void
srk_template(TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_RSA;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED |
	    TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	p->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	p->publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.rsaDetail.keyBits = RSA_BITS;
	p->publicArea.parameters.rsaDetail.exponent = 0;
	p->publicArea.unique.rsa.size = RSA_BYTES;	/* all zero */
}

static int
srk_mismatch(const TPM2B_NAME *have, const TPM2B_NAME *want)
{
	char a[32], b[32];

	name_text(want, a, sizeof(a));
	name_text(have, b, sizeof(b));
	return log_fail(EXIT_TPM, "tpm: these keys belong to another TPM, or "
	    "its storage root key was replaced (they were made under the SRK "
	    "named %s, this TPM's is %s)", a, b);
}

/*
 * The SRK: with want (the name recorded in a key blob), the one of that
 * name or none; without, 0x81000001 when usable, else the transient one.
 * The name is checked before anything is sent to the key: the session is
 * salted to it, and a key of someone else's could read the salt.
 */
static int
need_srk(struct tpm *t, const TPM2B_NAME *want)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TPM2B_NAME name;
	TSS2_RC rc;

	memset(&name, 0, sizeof(name));
	if (t->srk != ESYS_TR_NONE) {
		if (want != NULL && !name_eq(&t->srk_name, want))
			return srk_mismatch(&t->srk_name, want);
		return 0;
	}
	if (try_persistent_srk(t, want))
		return 0;
	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	srk_template(&tmpl);
	/* A password session: the template is public and the auth empty, and
	 * there is no key yet to salt a session with. */
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
	    &t->srk, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->srk = ESYS_TR_NONE;
		return fail_rc("create storage root key", rc);
	}
	if (get_name(t, t->srk, &name) < 0 ||
	    (want != NULL && !name_eq(&name, want))) {
		Esys_FlushContext(t->esys, t->srk);
		t->srk = ESYS_TR_NONE;
		return want != NULL && name.size ? srk_mismatch(&name, want) : -1;
	}
	t->srk_name = name;
	log_debug(1, "tpm: SRK is a transient primary (TCG RSA-2048 template)");
	return 0;
}

/*
 * The one session that authorises Create, Load and Sign. The salt is
 * encrypted to the SRK, so the session key is unknown to a bus listener;
 * with it the TPM encrypts the first TPM2B parameter each way (AES-128-CFB)
 * and both sides check the HMAC of every command and response.
 */
static int
need_session(struct tpm *t)
{
	TPMT_SYM_DEF sym;
	TSS2_RC rc;

	if (t->session != ESYS_TR_NONE)
		return 0;
	if (need_srk(t, NULL) < 0)
		return -1;
	memset(&sym, 0, sizeof(sym));
	sym.algorithm = TPM2_ALG_AES;
	sym.keyBits.aes = 128;
	sym.mode.aes = TPM2_ALG_CFB;
	rc = Esys_StartAuthSession(t->esys, t->srk, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym,
	    TPM2_ALG_SHA256, &t->session);
	if (rc != TSS2_RC_SUCCESS) {
		t->session = ESYS_TR_NONE;
		return fail_rc("start salted session", rc);
	}
	return 0;
}

/* Sets which directions the next command encrypts; the session stays open. */
static int
session_for(struct tpm *t, TPMA_SESSION dirs, const char *what)
{
	TSS2_RC rc;

	if (need_session(t) < 0)
		return -1;
	rc = Esys_TRSess_SetAttributes(t->esys, t->session,
	    TPMA_SESSION_CONTINUESESSION | dirs,
	    TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_DECRYPT |
	    TPMA_SESSION_ENCRYPT);
	if (rc != TSS2_RC_SUCCESS)
		return fail_rc(what, rc);
	return 0;
}

int
tpm_srk_public(struct tpm *tpm, struct tpm_public *pub, int *persistent)
{
	TPM2B_PUBLIC *p = NULL;
	TSS2_RC rc;
	int ret = -1;

	if (need_srk(tpm, NULL) < 0)
		return -1;
	rc = Esys_ReadPublic(tpm->esys, tpm->srk, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &p, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		fail_rc("read storage root key", rc);
		goto out;
	}
	if (public_from_area(&p->publicArea, pub) < 0) {
		log_fail(EXIT_TPM, "tpm: the storage root key is not RSA-2048");
		goto out;
	}
	if (persistent)
		*persistent = tpm->srk_persistent;
	ret = 0;
out:
	Esys_Free(p);
	return ret;
}

/* ---- creating keys ---------------------------------------------------- */

static void
child_template(TPM2B_PUBLIC *p, int sign)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_RSA;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_USERWITHAUTH |
	    (sign ? TPMA_OBJECT_SIGN_ENCRYPT : TPMA_OBJECT_DECRYPT);
	p->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	if (sign) {
		/*
		 * Null: each TPM2_Sign names its scheme. The device key signs
		 * the CSR with RSASSA-PKCS1-v1_5 and a TLS 1.3
		 * CertificateVerify with RSA-PSS; a key fixed to one refuses
		 * the other. Without the decrypt attribute the TPM still
		 * refuses a raw RSA operation with it.
		 */
		p->publicArea.parameters.rsaDetail.scheme.scheme =
		    TPM2_ALG_NULL;
	} else {
		/*
		 * Fixed to RSA-OAEP with SHA-1, the JWE "RSA-OAEP" the service
		 * wraps session keys with: the TPM then refuses any other
		 * decryption, a raw RSA private operation included (with a
		 * null scheme, whoever can load the key could use it as a raw
		 * RSA oracle, e.g. to sign with it).
		 */
		p->publicArea.parameters.rsaDetail.scheme.scheme =
		    TPM2_ALG_OAEP;
		p->publicArea.parameters.rsaDetail.scheme.details.oaep
		    .hashAlg = TPM2_ALG_SHA1;
	}
	p->publicArea.parameters.rsaDetail.keyBits = RSA_BITS;
	p->publicArea.parameters.rsaDetail.exponent = 0;
}

static int
create_one(struct tpm *t, int sign, struct tpm_keyblob *kb)
{
	const char *what = sign ? "create device key" : "create transport key";
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	uint8_t buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE) +
	    sizeof(TPM2B_NAME)];
	size_t off = 0;
	TSS2_RC rc;
	int ret = -1;

	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	child_template(&tmpl, sign);
	/* Encrypt the (empty) sensitive data in and the sealed private out. */
	if (session_for(t, TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT,
	    what) < 0)
		return -1;
	rc = Esys_Create(t->esys, t->srk, t->session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &priv, &pub,
	    NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		fail_rc(what, rc);
		goto out;
	}
	if (public_from_area(&pub->publicArea, &kb->pub) < 0) {
		log_fail(EXIT_TPM, "tpm: %s: the TPM returned an unexpected "
		    "public area", what);
		goto out;
	}
	/* The SRK's name last: loading checks that the parent is the same. */
	if ((rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off))
	    != TSS2_RC_SUCCESS ||
	    (rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off))
	    != TSS2_RC_SUCCESS ||
	    (rc = Tss2_MU_TPM2B_NAME_Marshal(&t->srk_name, buf, sizeof(buf),
	    &off)) != TSS2_RC_SUCCESS) {
		fail_rc(what, rc);
		goto out;
	}
	if ((kb->data = malloc(off)) == NULL) {
		log_fail(EXIT_INTERNAL, "tpm: %s: out of memory", what);
		goto out;
	}
	memcpy(kb->data, buf, off);
	kb->len = off;
	ret = 0;
out:
	util_wipe(buf, sizeof(buf));
	Esys_Free(priv);
	Esys_Free(pub);
	return ret;
}

int
tpm_create_keys(struct tpm *tpm, struct tpm_keyblob *dk,
    struct tpm_keyblob *tk)
{
	memset(dk, 0, sizeof(*dk));
	memset(tk, 0, sizeof(*tk));
	if (create_one(tpm, 1, dk) < 0 || create_one(tpm, 0, tk) < 0) {
		tpm_keyblob_clear(dk);
		tpm_keyblob_clear(tk);
		return -1;
	}
	return 0;
}

void
tpm_keyblob_clear(struct tpm_keyblob *kb)
{
	if (kb == NULL)
		return;
	free(kb->data);
	memset(kb, 0, sizeof(*kb));
}

/* ---- loading and using keys ------------------------------------------- */

/* Splits a blob; whatever is not exactly the format is an input error.
 * srk->size is 0 for a blob of an older drsjoin (no name recorded). */
static int
parse_blob(const uint8_t *blob, size_t len, TPM2B_PUBLIC *pub,
    TPM2B_PRIVATE *priv, TPM2B_NAME *srk, struct tpm_public *out)
{
	size_t off = 0;

	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	memset(srk, 0, sizeof(*srk));
	if (blob == NULL ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, len, &off, pub) !=
	    TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, len, &off, priv) !=
	    TSS2_RC_SUCCESS || priv->size == 0 ||
	    (off < len && (Tss2_MU_TPM2B_NAME_Unmarshal(blob, len, &off, srk) !=
	    TSS2_RC_SUCCESS || srk->size == 0)) || off != len)
		return log_fail(EXIT_INPUT, "tpm: not a drsjoin TPM key blob "
		    "(TPM2B_PUBLIC || TPM2B_PRIVATE || TPM2B_NAME)");
	if (public_from_area(&pub->publicArea, out) < 0)
		return log_fail(EXIT_INPUT, "tpm: key blob does not hold an "
		    "RSA-2048 key");
	return 0;
}

int
tpm_blob_public(const uint8_t *blob, size_t len, struct tpm_public *pub)
{
	TPM2B_PUBLIC p;
	TPM2B_PRIVATE s;
	TPM2B_NAME n;
	int rc = parse_blob(blob, len, &p, &s, &n, pub);

	util_wipe(&s, sizeof(s));
	return rc;
}

int
tpm_load_key(struct tpm *tpm, const uint8_t *blob, size_t len,
    struct tpm_key **out)
{
	struct tpm_key *k = NULL;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_NAME srk;
	TSS2_RC rc, base;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return log_fail(EXIT_INTERNAL, "tpm: load key: out of memory");
	k->tpm = tpm;
	k->handle = ESYS_TR_NONE;
	if (parse_blob(blob, len, &pub, &priv, &srk, &k->pub) < 0)
		goto fail;
	k->scheme = pub.publicArea.parameters.rsaDetail.scheme.scheme;
	if (srk.size == 0 && !tpm->legacy_noted) {
		tpm->legacy_noted = 1;
		log_note("tpm: these keys were made by an older drsjoin, which "
		    "did not record their storage root key: it is not checked "
		    "('drsjoin join --force' makes new keys)");
	}
	if (need_srk(tpm, srk.size ? &srk : NULL) < 0)
		goto fail;
	/* The private part is already sealed by the SRK; encrypting it again
	 * costs nothing and keeps the rule simple. */
	if (session_for(tpm, TPMA_SESSION_DECRYPT, "load key") < 0)
		goto fail;
	rc = Esys_Load(tpm->esys, tpm->srk, tpm->session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &priv, &pub, &k->handle);
	if (rc != TSS2_RC_SUCCESS) {
		k->handle = ESYS_TR_NONE;
		base = rc_base(rc);
		/* The SRK of this TPM cannot unseal it: the integrity HMAC, or
		 * the public/private binding, does not check out. */
		if (base == TPM2_RC_INTEGRITY || base == TPM2_RC_BINDING)
			log_fail(EXIT_TPM, "tpm: these keys belong to another "
			    "TPM");
		else
			fail_rc("load key", rc);
		goto fail;
	}
	util_wipe(&priv, sizeof(priv));
	*out = k;
	return 0;
fail:
	util_wipe(&priv, sizeof(priv));
	free(k);
	return -1;
}

void
tpm_key_free(struct tpm_key *key)
{
	if (key == NULL)
		return;
	if (key->handle != ESYS_TR_NONE && key->tpm && key->tpm->esys)
		Esys_FlushContext(key->tpm->esys, key->handle);
	free(key);
}

const struct tpm_public *
tpm_key_public(const struct tpm_key *key)
{
	return key ? &key->pub : NULL;
}

/* TPM2_Sign of a SHA-256 digest with scheme alg (RSASSA or RSAPSS). */
static int
sign_digest(struct tpm_key *k, TPM2_ALG_ID alg, const uint8_t hash[32],
    uint8_t *sig, size_t sig_size, size_t *sig_len)
{
	const char *what = alg == TPM2_ALG_RSAPSS ?
	    "sign with device key (RSA-PSS)" : "sign with device key";
	struct tpm *t;
	TPM2B_DIGEST digest;
	TPMT_SIG_SCHEME scheme;
	TPMT_TK_HASHCHECK check;
	TPMT_SIGNATURE *s = NULL;
	TSS2_RC rc;
	int ret = -1;

	if (k == NULL || !k->pub.sign)
		return log_fail(EXIT_INTERNAL, "tpm: sign: not a signing key");
	if (sig_size < RSA_BYTES)
		return log_fail(EXIT_INTERNAL, "tpm: sign: buffer of %zu bytes "
		    "is too small", sig_size);
	/* A key fixed to another scheme: the TPM would say only "scheme". */
	if (k->scheme != TPM2_ALG_NULL && k->scheme != alg)
		return log_fail(EXIT_TPM, "tpm: %s: the device key was made "
		    "to sign only %s (by an older drsjoin): 'drsjoin join "
		    "--force' makes new keys", what, k->scheme ==
		    TPM2_ALG_RSASSA ? "RSASSA-PKCS1-v1_5" : "another scheme");
	t = k->tpm;
	memset(&digest, 0, sizeof(digest));
	memset(&scheme, 0, sizeof(scheme));
	memset(&check, 0, sizeof(check));
	digest.size = 32;
	memcpy(digest.buffer, hash, 32);
	scheme.scheme = alg;
	/* rsassa and rsapss are the same TPMS_SCHEME_HASH. */
	scheme.details.any.hashAlg = TPM2_ALG_SHA256;
	/* A null ticket: the key is not restricted, so the TPM signs any
	 * digest, not only those it hashed itself. */
	check.tag = TPM2_ST_HASHCHECK;
	check.hierarchy = TPM2_RH_NULL;
	/* The digest goes in encrypted; the signature is public anyway (and
	 * not a TPM2B, so it could not be encrypted). */
	if (session_for(t, TPMA_SESSION_DECRYPT, "sign") < 0)
		return -1;
	rc = Esys_Sign(t->esys, k->handle, t->session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &digest, &scheme, &check, &s);
	if (rc != TSS2_RC_SUCCESS)
		return fail_rc(what, rc);
	/* rsassa and rsapss are the same TPMS_SIGNATURE_RSA. */
	if (s->sigAlg != alg || s->signature.rsassa.hash != TPM2_ALG_SHA256 ||
	    s->signature.rsassa.sig.size != RSA_BYTES) {
		log_fail(EXIT_TPM, "tpm: %s: unexpected signature from the TPM",
		    what);
		goto out;
	}
	memcpy(sig, s->signature.rsassa.sig.buffer, RSA_BYTES);
	*sig_len = RSA_BYTES;
	ret = 0;
out:
	Esys_Free(s);
	return ret;
}

int
tpm_sign_sha256(void *key, const uint8_t hash[32], uint8_t *sig,
    size_t sig_size, size_t *sig_len)
{
	return sign_digest(key, TPM2_ALG_RSASSA, hash, sig, sig_size, sig_len);
}

int
tpm_sign_pss_sha256(void *key, const uint8_t hash[32], uint8_t *sig,
    size_t sig_size, size_t *sig_len)
{
	return sign_digest(key, TPM2_ALG_RSAPSS, hash, sig, sig_size, sig_len);
}

/* 1 when the TPM says its self-test passed: it is in service. */
static int
in_service(struct tpm *t)
{
	TPM2B_MAX_BUFFER *data = NULL;
	TPM2_RC result = TPM2_RC_FAILURE;
	TSS2_RC rc;

	rc = Esys_GetTestResult(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &data, &result);
	Esys_Free(data);
	return rc == TSS2_RC_SUCCESS && result == TPM2_RC_SUCCESS;
}

/*
 * The TPM refused the ciphertext itself: a value or size out of range (bad
 * OAEP padding, a number past the modulus), as the specification has it.
 * libtpms (swtpm) answers a bad padding with TPM_RC_FAILURE instead and
 * stays in service: a TPM whose self-test still passes refused the
 * ciphertext, not itself.
 */
static int
ciphertext_refused(struct tpm *t, TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return 0;
	if (rc == TPM2_RC_FAILURE)
		return in_service(t);
	if (!(rc & TPM2_RC_FMT1))
		return 0;
	rc &= TPM2_RC_FMT1 | 0x3f;	/* the error, without its parameter */
	return rc == TPM2_RC_VALUE || rc == TPM2_RC_SIZE;
}

int
tpm_rsa_decrypt_oaep(void *key, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t out_size, size_t *out_len)
{
	const char *what = "decrypt with transport key";
	struct tpm_key *k = key;
	TPM2B_PUBLIC_KEY_RSA cipher;
	TPM2B_PUBLIC_KEY_RSA *plain = NULL;
	TPMT_RSA_DECRYPT scheme;
	TPM2B_DATA label;
	TSS2_RC rc;
	int ret = -1;

	*out_len = 0;
	if (k == NULL || k->pub.sign)
		return log_fail(EXIT_INTERNAL, "tpm: decrypt: not a "
		    "decryption key");
	if (in_len != RSA_BYTES)
		return log_fail(EXIT_INTERNAL, "tpm: decrypt: %zu bytes, not "
		    "%d", in_len, RSA_BYTES);
	memset(&cipher, 0, sizeof(cipher));
	memset(&scheme, 0, sizeof(scheme));
	memset(&label, 0, sizeof(label));	/* the empty label */
	cipher.size = RSA_BYTES;
	memcpy(cipher.buffer, in, RSA_BYTES);
	scheme.scheme = TPM2_ALG_OAEP;
	scheme.details.oaep.hashAlg = TPM2_ALG_SHA1;
	/* The session key comes back encrypted; the ciphertext is public. */
	if (session_for(k->tpm, TPMA_SESSION_ENCRYPT, "decrypt") < 0)
		return -1;
	rc = Esys_RSA_Decrypt(k->tpm->esys, k->handle, k->tpm->session,
	    ESYS_TR_NONE, ESYS_TR_NONE, &cipher, &scheme, &label, &plain);
	if (rc != TSS2_RC_SUCCESS)
		return ciphertext_refused(k->tpm, rc) ? 1 : fail_rc(what, rc);
	if (plain->size > out_size) {
		log_fail(EXIT_TPM, "tpm: %s: %u bytes from the TPM, more than "
		    "%zu", what, (unsigned)plain->size, out_size);
		goto out;
	}
	memcpy(out, plain->buffer, plain->size);
	*out_len = plain->size;
	ret = 0;
out:
	util_wipe(plain, sizeof(*plain));
	Esys_Free(plain);
	return ret;
}

/* ---- what the TPM is -------------------------------------------------- */

/* Four big-endian ASCII bytes; NULs and control characters dropped. */
static void
append_chars(char *dst, size_t n, uint32_t v)
{
	size_t len = strlen(dst);
	int i;

	for (i = 3; i >= 0 && len + 1 < n; i--) {
		char c = (char)(v >> (8 * i));

		if (c >= 0x20 && c < 0x7f)
			dst[len++] = c;
	}
	dst[len] = '\0';
}

/* Runs of blanks become one, none at either end ("SW   TPM " -> "SW TPM"). */
static void
squeeze_blanks(char *s)
{
	char *w = s, *r;

	for (r = s; *r; r++) {
		if (*r == ' ' && (w == s || w[-1] == ' '))
			continue;
		*w++ = *r;
	}
	if (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

/* Quiet: tpm_available() uses it to tell a TPM that answers. */
static TSS2_RC
read_info(struct tpm *tpm, struct tpm_info *info)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	uint32_t fw1 = 0, fw2 = 0, i, v;
	TSS2_RC rc;

	memset(info, 0, sizeof(*info));
	rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER,
	    TPM2_PT_FIRMWARE_VERSION_2 - TPM2_PT_MANUFACTURER + 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	for (i = 0; i < cap->data.tpmProperties.count; i++) {
		v = cap->data.tpmProperties.tpmProperty[i].value;
		switch (cap->data.tpmProperties.tpmProperty[i].property) {
		case TPM2_PT_MANUFACTURER:
			append_chars(info->manufacturer,
			    sizeof(info->manufacturer), v);
			break;
		case TPM2_PT_VENDOR_STRING_1:
		case TPM2_PT_VENDOR_STRING_2:
		case TPM2_PT_VENDOR_STRING_3:
		case TPM2_PT_VENDOR_STRING_4:
			append_chars(info->vendor, sizeof(info->vendor), v);
			break;
		case TPM2_PT_FIRMWARE_VERSION_1:
			fw1 = v;
			break;
		case TPM2_PT_FIRMWARE_VERSION_2:
			fw2 = v;
			break;
		}
	}
	Esys_Free(cap);
	squeeze_blanks(info->manufacturer);
	squeeze_blanks(info->vendor);
	if (!info->manufacturer[0])
		return TSS2_BASE_RC_GENERAL_FAILURE;
	snprintf(info->firmware, sizeof(info->firmware), "%u.%u.%u.%u",
	    fw1 >> 16, fw1 & 0xffff, fw2 >> 16, fw2 & 0xffff);
	return TSS2_RC_SUCCESS;
}

int
tpm_get_info(struct tpm *tpm, struct tpm_info *info)
{
	TSS2_RC rc = read_info(tpm, info);

	if (rc == TSS2_BASE_RC_GENERAL_FAILURE)
		return log_fail(EXIT_TPM, "tpm: the TPM does not name its "
		    "manufacturer");
	if (rc != TSS2_RC_SUCCESS)
		return fail_rc("read TPM properties", rc);
	return 0;
}

int
tpm_info(struct tpm *tpm, char *buf, size_t n)
{
	struct tpm_info info;

	if (tpm_get_info(tpm, &info) < 0)
		return -1;
	snprintf(buf, n, "%s%s%s, firmware %s", info.manufacturer,
	    info.vendor[0] ? " " : "", info.vendor, info.firmware);
	return 0;
}

const char *
tpm_library_version(void)
{
	return Tss2_Drsjoin_Version();
}
