#!/bin/sh
# make-fixtures.sh - how the fixtures of test/unit/data were made (OpenSSL 3).
#
# Run from this directory. The keys are random, so they are made only when
# absent: making them again changes every known answer in test_csr.c,
# test_cert.c and test_bcrypt_blob.c, which must then be updated from this
# script's output. The certificates carry the dates of the day they were
# made; test_cert.c holds those dates.
set -eu
cd "$(dirname "$0")"

# key.pem: the fixed device key (PKCS#8). key2.pem: another key, also the
# test issuer's key. Test-only keys: private keys are allowed under test/.
[ -f key.pem ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem
[ -f key2.pem ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key2.pem
# Keys keys_load_pem() must refuse: wrong size, wrong exponent, not RSA,
# encrypted (password "test").
[ -f key_rsa1024.pem ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out key_rsa1024.pem
[ -f key_e3.pem ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 -out key_e3.pem
[ -f key_ec.pem ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key_ec.pem
[ -f key_encrypted.pem ] || openssl pkey -in key.pem -aes256 -passout pass:test -out key_encrypted.pem

# The known answer of keys_private_pem(key.pem): PKCS#1 PEM.
openssl rsa -in key.pem -traditional -out key_pkcs1.pem

# The known answer of keys_public_der(key.pem).
openssl pkey -in key.pem -pubout -outform DER -out key_pub.der

# The known answer of keys_bcrypt_blob(key.pem) in test_keys.c: the blob
# built by Python from OpenSSL's modulus, its SHA-256 and base64.
python3 - <<PY
import base64, hashlib, struct, subprocess
mod = subprocess.check_output(["openssl", "rsa", "-in", "key.pem", "-noout", "-modulus"]).decode()
n = bytes.fromhex(mod.strip().split("=")[1])
blob = b"RSA1" + struct.pack("<5I", 2048, 3, 256, 0, 0) + b"\x01\x00\x01" + n
print("blob", len(blob), hashlib.sha256(blob).hexdigest(), base64.b64encode(blob).decode())
PY

# The nonce used by test_csr.c: 300 fixed bytes in standard base64
# (400 characters, so the DER lengths take the two-byte form).
python3 -c 'import base64; print(base64.b64encode(bytes((i * 7 + 3) % 256 for i in range(300))).decode())' > nonce.txt

# The expected CSRs, made by OpenSSL independently of drsjoin: same key,
# subject CN as UTF8String, sha256WithRSAEncryption (PKCS#1 v1.5 is
# deterministic, so drsjoin's bytes must be identical).
cat > csr.cnf <<EOF
[req]
distinguished_name = dn
prompt = no
string_mask = utf8only
[dn]
CN = 7E980AD9-B86D-4306-9425-9AC066FB014A
[nonce]
1.2.840.113556.1.5.284.2.1 = ASN1:OCTETSTRING:$(cat nonce.txt)
EOF
openssl req -new -config csr.cnf -key key.pem -sha256 -outform DER -out csr_nononce.der
openssl req -new -config csr.cnf -reqexts nonce -key key.pem -sha256 -outform DER -out csr_nonce.der
rm csr.cnf
for f in csr_nononce.der csr_nonce.der; do
	openssl req -inform DER -in "$f" -verify -noout
	sha256sum "$f"
done

# A test issuer shaped like the service's (self-signed, key2.pem).
openssl req -new -x509 -key key2.pem -sha256 -days 7300 -set_serial 1 \
	-subj "/DC=net/DC=windows/OU=82dbaca4-3e81-46ca-9c73-0950c1eaca97/CN=MS-Organization-Access" \
	-out issuer.pem

# Device certificates for key.pem, shaped like the service's: extensions as
# OCTET STRINGs (device id 284.2, tenant id 284.5, join type 284.7).
cat > cert.ext <<EOF
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
1.2.840.113556.1.5.284.2 = ASN1:FORMAT:HEX,OCTETSTRING:3f2504e04f8941d39a0c0305e82c3301
1.2.840.113556.1.5.284.5 = ASN1:FORMAT:HEX,OCTETSTRING:72f988bf86f141af91ab2d7cd011db47
1.2.840.113556.1.5.284.7 = ASN1:UTF8String:0
EOF
mkcert() { # out-name subject
	openssl req -new -key key.pem -subj "$2" -out cert.csr
	openssl x509 -req -in cert.csr -CA issuer.pem -CAkey key2.pem \
		-set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 \
		-extfile cert.ext -outform DER -out "$1"
	rm cert.csr
}
mkcert cert.der "/CN=3f2504e0-4f89-41d3-9a0c-0305e82c3301"
mkcert cert_upper.der "/CN=3F2504E0-4F89-41D3-9A0C-0305E82C3301"
mkcert cert_notguid.der "/CN=not-a-device-id"
openssl x509 -inform DER -in cert.der -outform PEM -out cert.pem
rm cert.ext issuer.pem
openssl x509 -inform DER -in cert.der -noout -subject -issuer -dates -fingerprint -sha1
openssl x509 -inform DER -in cert.der -noout -startdate -enddate -dateopt iso_8601 2>/dev/null || true
openssl x509 -inform DER -in cert_upper.der -noout -fingerprint -sha1
