/*
 * tpm.h - the device and transport keys inside a TPM 2.0 (tpm2-tss ESYS).
 *
 * This is the only module that sees Esys_* / Tss2_*. Everything else deals
 * in key blobs (bytes to store in the state dir), RSA public numbers, and a
 * signing callback.
 *
 * Key blob file format (one file per key, written by the caller, 0600):
 *
 *	TPM2B_PUBLIC || TPM2B_PRIVATE || TPM2B_NAME
 *
 * each exactly as Tss2_MU_TPM2B_*_Marshal write it (a big-endian u16 size,
 * then that many bytes), nothing before, between or after. Splitting it
 * after the first two gives the files tpm2-tools takes as `tpm2_load -u PUB
 * -r PRIV`. The private part is the key sealed by the storage root key
 * (SRK): it is useless outside the TPM that created it. The name is the
 * SRK's (nameAlg || digest of its public area): loading looks for the SRK
 * of that name (0x81000001 or the transient one) and refuses to use any
 * other (EXIT_TPM). Blobs of older drsjoin versions end after the private
 * part: they load under the SRK chosen as for new keys, unchecked, with a
 * note saying so once.
 *
 * SRK: the persistent key at 0x81000001 when it is an RSA-2048 restricted
 * decryption (storage) key that the TPM made and keeps (fixedTPM,
 * fixedParent, sensitiveDataOrigin: not imported, not duplicable),
 * otherwise a transient primary in the owner hierarchy from the TCG
 * RSA-2048 SRK template (AES-128-CFB, SHA-256, restricted|decrypt|fixedTPM|
 * fixedParent|sensitiveDataOrigin|userWithAuth|noDA, unique = 256 zero
 * bytes); that template gives the same key every run on the same TPM.
 *
 * Create, Load and Sign run in an HMAC session salted with the SRK and with
 * AES-128-CFB parameter encryption of the first command/response parameter.
 *
 * Errors follow log.h: -1 (or NULL) after one log_fail() line; TPM failures
 * use EXIT_TPM, an unparsable blob EXIT_INPUT, a bad TCTI spec EXIT_USAGE.
 *
 * A struct tpm and its keys are used by one thread at a time (ESYS is not
 * thread-safe). Keys borrow their struct tpm: free them before tpm_close().
 */
#ifndef DRS_TPM_H
#define DRS_TPM_H

#include <stddef.h>
#include <stdint.h>

struct tpm;
struct tpm_key;

/* The RSA public numbers of a key, big-endian, minimal exponent (01 00 01). */
struct tpm_public {
	uint8_t modulus[256];
	size_t modulus_len;		/* 256: only RSA-2048 keys are made/accepted */
	uint8_t exponent[4];
	size_t exponent_len;		/* 3 for 65537 */
	int sign;			/* 1: signing key (device), 0: decryption key */
	int pss;			/* 1: a signing key that may sign RSA-PSS (its scheme is null
					 * or RSAPSS; an older drsjoin fixed it to RSASSA) */
};

/* A key created in the TPM, ready to be written to the state dir. */
struct tpm_keyblob {
	uint8_t *data;			/* the file format above; owned */
	size_t len;
	struct tpm_public pub;
};

/*
 * Opens the TPM. spec (e.g. from --tcti) may be NULL: then DRSJOIN_TCTI,
 * then TPM2TOOLS_TCTI, then device:/dev/tpmrm0, then device:/dev/tpm0.
 * Syntax as tpm2-tools: "device[:PATH]", "swtpm[:host=H,port=P]",
 * "mssim[:host=H,port=P]". Errors name the TCTI:
 * "tpm: cannot open device:/dev/tpmrm0: No such file or directory".
 */
int tpm_open(const char *spec, struct tpm **out);
/* Flushes the SRK (if transient) and the session, finalises ESYS and the
 * TCTI. Free the keys first. NULL is fine. */
void tpm_close(struct tpm *tpm);
/* The TCTI spec that was opened (borrowed, lives as long as tpm). */
const char *tpm_spec(const struct tpm *tpm);

/*
 * For --key-store auto: 1 when the TPM that spec selects (as tpm_open) opens
 * and answers, 0 when not (the reason goes to log_debug(1), nothing else is
 * printed), -1 when the spec is malformed (log_fail, EXIT_USAGE).
 */
int tpm_available(const char *spec);
/*
 * 1 when spec names a TCTI drsjoin has (device, swtpm, mssim), as tpm_open
 * parses it, else 0: a TCTI from a file is checked where it is read.
 */
int tpm_spec_known(const char *spec);

/*
 * Creates the device key (RSA-2048, sign, null scheme: it signs both
 * RSASSA-PKCS1-v1_5 and RSA-PSS) and the transport key (RSA-2048, decrypt,
 * scheme RSA-OAEP with SHA-1, the service's JWE "RSA-OAEP": the TPM refuses
 * every other decryption, raw RSA included) under the SRK. Both are fixedTPM|fixedParent|sensitiveDataOrigin|
 * userWithAuth with an empty auth value. On failure neither is set.
 */
int tpm_create_keys(struct tpm *tpm, struct tpm_keyblob *dk,
    struct tpm_keyblob *tk);
/* Frees the blob bytes and zeroes the struct; NULL is fine. */
void tpm_keyblob_clear(struct tpm_keyblob *kb);

/*
 * Reads the public numbers from a stored blob without a TPM (the transport
 * key's BCRYPT blob, the certificate check). EXIT_INPUT when malformed.
 */
int tpm_blob_public(const uint8_t *blob, size_t len, struct tpm_public *pub);

/*
 * Loads a blob under the SRK whose name it records. Another TPM, a TPM
 * cleared since, or a replaced SRK: "tpm: these keys belong to another
 * TPM, or its storage root key was replaced (...names...)"; a blob that the
 * SRK cannot unseal (altered, or an older blob of another TPM): exactly
 * "tpm: these keys belong to another TPM". Both EXIT_TPM.
 */
int tpm_load_key(struct tpm *tpm, const uint8_t *blob, size_t len,
    struct tpm_key **out);
/* Flushes the key from the TPM and frees it; NULL is fine. */
void tpm_key_free(struct tpm_key *key);
/* The loaded key's public numbers (borrowed, lives as long as key). */
const struct tpm_public *tpm_key_public(const struct tpm_key *key);

/*
 * RSASSA-PKCS1-v1_5 signature of a SHA-256 hash, computed inside the TPM
 * (TPM2_Sign, TPM_ALG_RSASSA). key is a struct tpm_key * (void * so that
 * this is keys.h's keys_sign_fn as is). sig_size must be >= 256.
 */
int tpm_sign_sha256(void *key, const uint8_t hash[32], uint8_t *sig,
    size_t sig_size, size_t *sig_len);
/*
 * RSASSA-PSS signature of a SHA-256 hash (TPM2_Sign, TPM_ALG_RSAPSS), MGF1
 * with SHA-256 and a salt as long as the hash (32 bytes): what TPM 2.0 spec
 * 1.38 and later use, what swtpm/libtpms and current hardware do, and what
 * TLS 1.3 requires (RFC 8446 4.2.3). keys.c checks the salt length of every
 * signature. A device key made by an older drsjoin (its scheme fixed to
 * RSASSA) cannot sign PSS: EXIT_TPM saying so.
 */
int tpm_sign_pss_sha256(void *key, const uint8_t hash[32], uint8_t *sig,
    size_t sig_size, size_t *sig_len);

/*
 * RSAES-OAEP decryption (SHA-1, MGF1-SHA-1, empty label) inside the TPM
 * with the transport key (TPM2_RSA_Decrypt; its scheme is fixed to that):
 * the PRT's session key. The answer comes back encrypted on the wire (the
 * salted session's response encryption). key is a struct tpm_key * (void *
 * so that this is keys.h's keys_decrypt_fn as is); in_len must be 256.
 * Returns 0 (*out_len bytes in out, which the caller wipes), 1 when the TPM
 * finds the ciphertext does not decrypt under the key (not reported: the
 * caller says whose ciphertext it was), -1 on any other failure (reported,
 * EXIT_TPM).
 */
int tpm_rsa_decrypt_oaep(void *key, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t out_size, size_t *out_len);

/* The SRK's public numbers; *persistent = 1 when 0x81000001 is used. */
int tpm_srk_public(struct tpm *tpm, struct tpm_public *pub, int *persistent);

/* What the TPM says it is. Strings are NUL-terminated, trailing blanks cut. */
struct tpm_info {
	char manufacturer[5];		/* TPM2_PT_MANUFACTURER, e.g. "IBM", "IFX" */
	char vendor[17];		/* TPM2_PT_VENDOR_STRING_1..4, may be "" */
	char firmware[24];		/* FIRMWARE_VERSION_1/2 as "a.b.c.d" */
};
int tpm_get_info(struct tpm *tpm, struct tpm_info *info);
/* The same as one line: "IBM SW TPM, firmware 8217.4131.22.13624". */
int tpm_info(struct tpm *tpm, char *buf, size_t n);

/* The tpm2-tss version linked in, read at run time ("4.1.3"). */
const char *tpm_library_version(void);

#endif
