/* request.h - phase 4: the certificate request in the document. */
#ifndef DRS_REQUEST_H
#define DRS_REQUEST_H

#include "json.h"

/*
 * Builds the PKCS#10 request from the device key the "keys" section names,
 * with the document's nonce unless no_nonce, into the "csr" section:
 * {"type": "pkcs10", "data": <base64 DER>, "nonce": true|false}.
 */
int request_csr(struct json *doc, int no_nonce);

#endif
