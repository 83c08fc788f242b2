#!/usr/bin/env bash
# Each phase alone, the pipe, the one-shot join, register, status - and what
# drsjoin sent, field by field, from the emulator's request log.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file --upn alice@"$EMU_TENANT_DOMAIN")
D=$T_WORK/doc

# discover, with an unknown key in the input that must survive every phase.
echo '{"schema": "drsjoin/1", "x-image": {"built": "2026-11-01"}}' >"$D.0"
t_run --in "$D.0" -- discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "discover exits 0" 0
cp "$OUT" "$D.1"
t_check "discover: tenant id from TenantInfo" \
    "$([ "$(jget "$D.1" 'd["tenant"]["id"]')" = "$EMU_TENANT_ID" ]; echo $?)"
t_check "discover: join endpoint on the emulator" \
    "$(jget "$D.1" 'd["discovery"]["join_endpoint"]' | grep -q "^$EMU_URL/"; echo $?)"
t_check "discover: unknown keys kept" \
    "$([ "$(jget "$D.1" 'd["x-image"]["built"]')" = 2026-11-01 ]; echo $?)"
R=$(last_request discover)
t_check "discover: GET /{domain}/Discover?api-version=1.9" \
    "$([ "$(jget "$R" 'd["method"]+" "+d["path"]+" "+d["query"]["api-version"]')" = "GET /$EMU_TENANT_DOMAIN/Discover 1.9" ]; echo $?)"
t_check "discover: ocp-adrs-client-name and -version sent" \
    "$([ "$(jget "$R" 'd["headers"]["ocp-adrs-client-name"]')" = drsjoin ] &&
       jget "$R" 'd["headers"]["ocp-adrs-client-version"]' | grep -q '^[0-9]'; echo $?)"

# nonce
t_run --in "$D.1" -- nonce
t_expect "nonce exits 0" 0
cp "$OUT" "$D.2"
t_check "nonce: value in the document" "$([ -n "$(jget "$D.2" 'd["nonce"]["value"]')" ]; echo $?)"
t_check "nonce: earlier sections kept" \
    "$([ "$(jget "$D.2" 'd["tenant"]["id"]+d["x-image"]["built"]')" = "${EMU_TENANT_ID}2026-11-01" ]; echo $?)"
R=$(last_request nonce)
t_check "nonce: api-version 1.0 from discovery" \
    "$([ "$(jget "$R" 'd["query"]["api-version"]')" = 1.0 ]; echo $?)"

# keygen
t_run --in "$D.2" -- keygen --key-store software
t_expect "keygen exits 0" 0
cp "$OUT" "$D.3"
DK=$(jget "$D.3" 'd["keys"]["device_key"]')
TK=$(jget "$D.3" 'd["keys"]["transport_key"]')
t_check "keygen: two key files, 0600" \
    "$([ "$DK" != "$TK" ] && [ "$(stat -c %a "$DK")" = 600 ] && [ "$(stat -c %a "$TK")" = 600 ]; echo $?)"
t_check "keygen: two different RSA-2048 keys" \
    "$(a=$(openssl rsa -in "$DK" -noout -modulus); b=$(openssl rsa -in "$TK" -noout -modulus)
       [ "$a" != "$b" ] && openssl rsa -in "$DK" -noout -text 2>/dev/null | grep -q 'Private-Key: (2048 bit'; echo $?)"
t_check "keygen: no private key material in the document" \
    "$(! grep -q 'PRIVATE' "$D.3"; echo $?)"
t_check "keygen: transport blob is the public BCRYPT blob of the transport key" \
    "$($PY - "$D.3" "$TK" <<'PY'
import base64, json, subprocess, sys
d = json.load(open(sys.argv[1])); b = base64.b64decode(d["keys"]["transport_blob"])
mod = subprocess.run(["openssl", "rsa", "-in", sys.argv[2], "-noout", "-modulus"],
                     capture_output=True, text=True).stdout.strip().split("=")[1]
ok = (len(b) == 283 and b[:4] == b"RSA1" and b[4:8] == (2048).to_bytes(4, "little")
      and b[8:12] == (3).to_bytes(4, "little") and b[12:16] == (256).to_bytes(4, "little")
      and b[16:24] == bytes(8) and b[24:27] == b"\x01\x00\x01" and b[27:].hex().upper() == mod)
sys.exit(0 if ok else 1)
PY
echo $?)"

# csr, with and without the nonce
t_run --in "$D.3" -- csr
t_expect "csr exits 0" 0
cp "$OUT" "$D.4"
jget "$D.4" 'd["csr"]["data"]' | base64 -d >"$T_WORK/csr.der"
t_check "csr: verifies, CN=7E980AD9-..., sha256WithRSA" \
    "$(openssl req -inform DER -in "$T_WORK/csr.der" -verify -noout -text 2>&1 >"$T_WORK/csr.txt" | grep -q 'verify OK' &&
       grep -q 'Subject: CN *= *7E980AD9-B86D-4306-9425-9AC066FB014A' "$T_WORK/csr.txt" &&
       grep -q 'sha256WithRSAEncryption' "$T_WORK/csr.txt"; echo $?)"
NONCE=$(jget "$D.4" 'd["nonce"]["value"]')
t_check "csr: nonce extension holds the nonce as an OCTET STRING" \
    "$(openssl asn1parse -inform DER -in "$T_WORK/csr.der" -strparse 0 >/dev/null 2>&1;
       openssl asn1parse -inform DER -in "$T_WORK/csr.der" | grep -q '1.2.840.113556.1.5.284.2.1' &&
       $PY -c 'import sys; d=open(sys.argv[1],"rb").read(); n=sys.argv[2].encode(); sys.exit(0 if (b"\x04"+bytes([0x82,len(n)>>8,len(n)&255])+n in d or b"\x04"+bytes([0x81,len(n)])+n in d or b"\x04"+bytes([len(n)])+n in d) else 1)' "$T_WORK/csr.der" "$NONCE"; echo $?)"
t_run --in "$D.3" -- csr --no-nonce
t_expect "csr --no-nonce exits 0" 0
jget "$OUT" 'd["csr"]["data"]' | base64 -d >"$T_WORK/csr2.der"
t_check "csr --no-nonce: no nonce extension" \
    "$(openssl req -inform DER -in "$T_WORK/csr2.der" -verify -noout 2>&1 | grep -q 'verify OK' &&
       ! openssl asn1parse -inform DER -in "$T_WORK/csr2.der" | grep -q '1.2.840.113556.1.5.284.2.1' &&
       [ "$(jget "$OUT" 'd["csr"]["nonce"]')" = False ]; echo $?)"

# join from the document
t_run --in "$D.4" -- join --token-file "$TOK"
t_expect "join from the document exits 0" 0
cp "$OUT" "$D.5"
DEV=$(jget "$D.5" 'd["device"]["device_id"]')
t_check "join: device id is a GUID, recorded by the emulator" \
    "$(echo "$DEV" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' &&
       emu_ctl devices | grep -q "$DEV"; echo $?)"
t_check "join: unknown keys still kept" "$([ "$(jget "$D.5" 'd["x-image"]["built"]')" = 2026-11-01 ]; echo $?)"
R=$(last_request join)
HOST=$(hostname); HOST=${HOST%%.*}
OSV=$(. /etc/os-release && echo "$PRETTY_NAME")
t_check "join: body field by field" "$($PY - "$R" "$D.4" "$EMU_TENANT_DOMAIN" "$HOST" "$OSV" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2])); b = r["body"]
want = {
    "CertificateRequest": {"Type": "pkcs10", "Data": doc["csr"]["data"]},
    "TransportKey": doc["keys"]["transport_blob"],
    "TargetDomain": sys.argv[3], "DeviceType": "Linux", "OSVersion": sys.argv[5],
    "DeviceDisplayName": sys.argv[4], "JoinType": 0,
    "Attributes": {"ReuseDevice": "true", "ReturnClientSid": "true"},
}
bad = [k for k in want if b.get(k) != want[k]] + [k for k in b if k not in want]
print(bad, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo $?)"
t_check "join: POST ?api-version=2.0 with bearer, JSON and client-request-id headers" \
    "$([ "$(jget "$R" 'd["method"]+" "+d["query"]["api-version"]+" "+d["headers"]["authorization"]+" "+d["headers"]["content-type"]')" = "POST 2.0 Bearer <redacted> application/json" ] &&
       [ "$(jget "$R" 'd["headers"]["client-request-id"]')" = "$(jget "$D.5" 'd["device"]["client_request_id"]')" ] &&
       [ "$(jget "$R" 'd["nonce"]')" = valid ]; echo $?)"
CERT=$(jget "$D.5" 'd["device"]["certificate"]')
DK=$(jget "$D.5" 'd["keys"]["device_key"]')
t_check "join: the stored certificate certifies the stored device key" \
    "$([ "$(openssl x509 -in "$CERT" -noout -modulus)" = "$(openssl rsa -in "$DK" -noout -modulus)" ]; echo $?)"
t_check "join: device.json 0600, keys moved out of staging" \
    "$([ "$(stat -c %a "$STATE/device.json")" = 600 ] && [ -z "$(ls "$STATE/staging")" ] &&
       [ "$(stat -c %a "$DK")" = 600 ]; echo $?)"

# status
t_run -- status
t_expect "status exits 0" 0
t_check "status: device, tenant, UPN, join type, days left, store" \
    "$([ "$(jget "$OUT" '" ".join(str(d[k]) for k in ("device_id","tenant_id","upn","join_type","key_store","state_dir"))')" = \
        "$DEV $EMU_TENANT_ID alice@$EMU_TENANT_DOMAIN join software $STATE" ] &&
       [ "$(jget "$OUT" 'd["days_left"] > 3600')" = True ]; echo $?)"

# At a terminal, status prints a short summary instead of JSON; --json and
# a pipe give JSON.
t_check "status in a pipe: JSON only, stderr empty" "$([ ! -s "$ERR" ]; echo $?)"
if command -v script >/dev/null; then
	DRSJOIN_STATE_DIR=$STATE script -qec "$DRSJOIN status" /dev/null </dev/null |
	    tr -d '\r' >"$T_WORK/tty" || true
	t_check "status at a terminal: a summary, no JSON" \
	    "$(grep -qx "Joined: *yes (join)" "$T_WORK/tty" &&
	       grep -qx "Tenant: *$EMU_TENANT_DOMAIN ($EMU_TENANT_ID)" "$T_WORK/tty" &&
	       grep -qx "Device id: *$DEV" "$T_WORK/tty" && grep -qx "Key store: *software" "$T_WORK/tty" &&
	       grep -qx "Valid: .* (36[0-9][0-9] days left)" "$T_WORK/tty" &&
	       ! grep -q '[{}]' "$T_WORK/tty"; echo $?)"
	DRSJOIN_STATE_DIR=$STATE script -qec "$DRSJOIN status --json" /dev/null </dev/null |
	    tr -d '\r' >"$T_WORK/tty" || true
	t_check "status --json at a terminal: JSON" \
	    "$([ "$(jget "$T_WORK/tty" 'd["device_id"]')" = "$DEV" ]; echo $?)"
else
	t_skip "status at a terminal" "no script(1)"
fi

# A document whose nonce is stale gets a fresh one before the join.
STATE=$T_WORK/state-stale
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["nonce"]["fetched_at"]-=3600; d.pop("keys"); d.pop("csr"); json.dump(d,open(sys.argv[2],"w"))' "$D.4" "$T_WORK/stale.json"
n=$(req_count nonce)
t_run --in "$T_WORK/stale.json" -- join --token-file "$TOK" --key-store software
t_expect "a stale nonce in the document is fetched again" 0 "join: the document's nonce is older than 240 s; getting a new one"
t_check "stale nonce: one new nonce request, the join's nonce valid" \
    "$([ "$(req_count nonce)" -eq $((n + 1)) ] && [ "$(jget "$(last_request join)" 'd["nonce"]')" = valid ]; echo $?)"

# The whole pipe, in a fresh state dir, through real pipes.
STATE=$T_WORK/state-pipe
export DRSJOIN_DISCOVERY_URL=$EMU_URL DRSJOIN_STATE_DIR=$STATE SSL_CERT_FILE=$EMU_CA
before=$(emu_device_count)
RC=0
"$DRSJOIN" --new discover --tenant "$EMU_TENANT_ID" 2>"$ERR" | "$DRSJOIN" nonce 2>>"$ERR" |
    "$DRSJOIN" keygen --key-store software 2>>"$ERR" | "$DRSJOIN" csr 2>>"$ERR" |
    "$DRSJOIN" join --token-file "$TOK" >"$OUT" 2>>"$ERR" || RC=$?
t_check "the whole pipe joins" \
    "$([ "$RC" -eq 0 ] && [ "$(emu_device_count)" -eq $((before + 1)) ] &&
       [ -n "$(jget "$OUT" 'd["device"]["device_id"]')" ]; echo $?)"
unset DRSJOIN_DISCOVERY_URL DRSJOIN_STATE_DIR SSL_CERT_FILE

# One-shot join, and register.
STATE=$T_WORK/state-oneshot
t_run -- join --token-file "$TOK" --key-store software
t_expect "one-shot join exits 0" 0
t_check "one-shot: discover, nonce and join requests, one each" \
    "$([ "$(jget "$OUT" 'd["device"]["join_type"]')" = join ] &&
       [ "$(jget "$(last_request join)" 'd["nonce"]')" = valid ]; echo $?)"
STATE=$T_WORK/state-register
t_run -- join --token-file "$TOK" --key-store software --join-type register --display-name ci-runner-7
t_expect "register exits 0" 0
t_check "register: JoinType 4 sent, join type register stored" \
    "$([ "$(jget "$(last_request join)" 'd["body"]["JoinType"]')" = 4 ] &&
       [ "$(jget "$(last_request join)" 'd["body"]["DeviceDisplayName"]')" = ci-runner-7 ] &&
       [ "$(jget "$STATE/device.json" 'd["join_type"]')" = register ]; echo $?)"

# -q: a successful join says nothing on stderr.
STATE=$T_WORK/state-quiet
t_run -- -q join --token-file "$TOK" --key-store software
t_check "-q: silent on success, nothing on stdout either" \
    "$([ "$RC" -eq 0 ] && [ ! -s "$ERR" ] && [ ! -s "$OUT" ] && [ -s "$STATE/device.json" ]; echo $?)"
t_run -- -q join --json --token-file "$TOK" --key-store software
t_check "-q with --json: the document on stdout, nothing on stderr" \
    "$([ "$RC" -eq 0 ] && [ ! -s "$ERR" ] &&
       [ "$(jget "$OUT" 'd["device"]["device_id"]')" = "$(jget "$STATE/device.json" 'd["device_id"]')" ]; echo $?)"

# -v -v shows the exchange but never the token or the nonce.
STATE=$T_WORK/state-verbose
t_run -- -v -v join --token-file "$TOK" --key-store software
NONCE=$(jget "$OUT" 'd["nonce"]["value"]')
t_check "-v -v redacts the token and the nonce" \
    "$([ "$RC" -eq 0 ] && grep -q 'Bearer <redacted>' "$ERR" && grep -q 'POST' "$ERR" &&
       ! grep -qF "$(cat "$TOK")" "$ERR" && ! grep -qF "${NONCE:-no nonce}" "$ERR" &&
       ! grep -qF "$(cut -d. -f2 "$TOK")" "$ERR"; echo $?)"
t_check "nonce reuses discovery's connection; the join POST has one of its own (never resent by libcurl)" \
    "$(grep -q 'discover: answer 200.*new connection' "$ERR" &&
       grep -q 'nonce: answer 200.*connection reused' "$ERR" &&
       grep -q 'join: answer 200.*new connection' "$ERR"; echo $?)"


# -v names the CA bundle and where it came from.
t_run -- -v --cacert "$EMU_CA" discover --tenant "$EMU_TENANT_DOMAIN"
t_check "-v names the CA bundle from --cacert" "$(grep -qF "CA bundle: $EMU_CA (from --cacert)" "$ERR"; echo $?)"
t_run -- -v discover --tenant "$EMU_TENANT_DOMAIN"
t_check "-v names the CA bundle from SSL_CERT_FILE" "$(grep -qF "CA bundle: $EMU_CA (from SSL_CERT_FILE)" "$ERR"; echo $?)"
t_run --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt -- --attempts 1 discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "the emulator's certificate is not trusted by the system bundle" 4 \
    "cannot be verified with the CA bundle /etc/ssl/certs/ca-certificates.crt"

# status when not joined.
STATE=$T_WORK/state-none
t_run -- status
t_check "status when not joined: exit 8, {\"joined\": false} on stdout, one error line" \
    "$([ "$RC" -eq 8 ] && [ "$(jget "$OUT" 'd')" = "{'joined': False}" ] &&
       grep -qF "status: not joined (no $STATE/device.json)" "$ERR" && [ "$(errors)" -eq 1 ]; echo $?)"
t_check "status does not create the state dir" "$([ ! -e "$STATE" ]; echo $?)"

t_done
