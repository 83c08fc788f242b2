/*
 * csr.h - the PKCS#10 certificate request of the join (protocol.md,
 * Phase 4), in DER:
 *   subject exactly CN=7E980AD9-B86D-4306-9425-9AC066FB014A (UTF8String),
 *   the device key's RSA-2048 public key (rsaEncryption),
 *   signed with sha256WithRSAEncryption (PKCS#1 v1.5) by the device key,
 *   attributes: with a nonce, one extensionRequest holding one non-critical
 *   extension 1.2.840.113556.1.5.284.2.1 whose extnValue is the DER OCTET
 *   STRING of the nonce's ASCII bytes (04 len <nonce>); without a nonce,
 *   no attribute at all (an empty [0] SET).
 * The bytes are deterministic for a given key and nonce.
 */
#ifndef DRS_CSR_H
#define DRS_CSR_H

#include <stddef.h>
#include <stdint.h>

struct key;

#define CSR_SUBJECT_CN	"7E980AD9-B86D-4306-9425-9AC066FB014A"
#define CSR_NONCE_MAX	8192	/* characters */

/*
 * Checks that nonce can go into the CSR: 1..CSR_NONCE_MAX characters, each
 * printable ASCII without space (0x21..0x7e). On failure reports
 * "<what>: ..." with code (EXIT_NETWORK for the service's answer, EXIT_INPUT
 * for the document) without printing the nonce. 0 / -1.
 */
int csr_nonce_check(const char *nonce, int code, const char *what);

/*
 * Builds the CSR for the device key dk (software or signer), with the nonce
 * extension when nonce is not NULL (checked first, as
 * csr_nonce_check(nonce, EXIT_INPUT, CSR_NONCE_WHAT)). On success *der is a
 * new buffer of *der_len bytes, the caller frees it. 0 / -1 (reported).
 */
#define CSR_NONCE_WHAT	"csr: the document's nonce.value"

int csr_build(const struct key *dk, const char *nonce, uint8_t **der,
    size_t *der_len);

#endif
