#!/usr/bin/env bash
# -vvv never shows a secret. The nonce is taken from what the service
# received (the nonce extension of the CSR in the emulator's request log),
# not from drsjoin's own output (join strips the spent nonce from the
# document), so the test cannot pass by looking for an empty string.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file --upn alice@"$EMU_TENANT_DOMAIN")

# The nonce inside the CSR of the last join request, as the service saw it.
nonce_from_log() {
	$PY - "$(last_request join)" <<'EOF'
import base64, json, sys
from cryptography import x509
r = json.load(open(sys.argv[1]))
csr = x509.load_der_x509_csr(base64.b64decode(r["body"]["CertificateRequest"]["Data"]))
for ext in csr.extensions:
    if ext.oid.dotted_string == "1.2.840.113556.1.5.284.2.1":
        der = ext.value.value          # an OCTET STRING holding the nonce
        assert der[0] == 0x04
        n, off = der[1], 2
        if n & 0x80:
            k = n & 0x7f
            n, off = int.from_bytes(der[2:2 + k], "big"), 2 + k
        print(der[off:off + n].decode("ascii"))
EOF
}

for v in -vv -vvv; do
	STATE=$T_WORK/state$v
	t_run -- $v join --token-file "$TOK" --key-store software
	t_expect "join $v" 0
	NONCE=$(nonce_from_log)
	t_check "$v: the nonce the service received is known to the test (${#NONCE} chars)" \
	    "$([ "${#NONCE}" -ge 16 ]; echo $?)"
	# The exchange is shown: the nonce answer's body line, with its
	# Value redacted; the join request line, with the bearer redacted.
	t_check "$v: the nonce answer's body is shown, its Value redacted" \
	    "$(grep -q 'nonce: < body: .*"Value": *"<redacted>"' "$ERR"; echo $?)"
	t_check "$v: the bearer token is shown redacted" \
	    "$(grep -q 'Authorization: Bearer <redacted>' "$ERR"; echo $?)"
	t_check "$v: the nonce is nowhere on stderr or stdout" \
	    "$([ -n "$NONCE" ] && ! grep -qF -- "$NONCE" "$ERR" && ! grep -qF -- "$NONCE" "$OUT"; echo $?)"
	# Every part of the token: header, claims, signature.
	leaked=0
	for part in 1 2 3; do
		p=$(cut -d. -f$part "$TOK")
		[ ${#p} -ge 16 ] || { leaked=1; continue; }
		grep -qF -- "$p" "$ERR" && leaked=1
		grep -qF -- "$p" "$OUT" && leaked=1
	done
	t_check "$v: no part of the token is on stderr or stdout" "$([ $leaked -eq 0 ]; echo $?)"
done

t_done
