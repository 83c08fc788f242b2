#!/usr/bin/env bash
# Issue 10, keys: a document names its key set, nothing else. The key files
# are drsjoin's own (in the set, by their fixed names); the transport blob
# and the CSR are checked against them, rebuilt or refused, never sent as
# read. Each case says which attack it replays.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

# The public key of a PEM private key, or of a CSR (base64 DER), as PEM.
pub_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null; }
pub_of_csr() { base64 -d | openssl req -inform DER -noout -pubkey 2>/dev/null; }
# The public BCRYPT blob of a PEM private key, base64.
blob_of_key() {
	$PY - "$1" <<'PY'
import base64, subprocess, sys
m = subprocess.run(["openssl", "rsa", "-in", sys.argv[1], "-noout", "-modulus"],
                   capture_output=True, text=True, check=True).stdout.strip().split("=")[1]
n = bytes.fromhex(m)
b = (b"RSA1" + (2048).to_bytes(4, "little") + (3).to_bytes(4, "little") +
     (256).to_bytes(4, "little") + bytes(8) + b"\x01\x00\x01" + n)
print(base64.b64encode(b).decode())
PY
}
# edit IN OUT PYTHON: the document IN changed by PYTHON (on d), into OUT.
edit() {
	$PY - "$1" "$3" >"$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
print(json.dumps(d))
PY
}

# Another RSA-2048 key on the host, as a TLS server's would be.
FOREIGN=$T_WORK/tls-server.key
(umask 077; openssl genrsa -out "$FOREIGN" 2048 2>/dev/null)
FOREIGN_PUB=$(pub_of_key "$FOREIGN")

t_run -- keygen --key-store software
t_expect "keygen" 0
cp "$OUT" "$T_WORK/keys.json"
SET=$(jget "$T_WORK/keys.json" 'd["keys"]["dir"]')
DK_PUB=$(pub_of_key "$SET/device-key.pem")

# Attack: keys.device_key naming another RSA-2048 key of the host made it
# the device key (the CSR, then the device certificate, held its key).
edit "$T_WORK/keys.json" "$T_WORK/dk-path.json" "d['keys']['device_key'] = '$FOREIGN'"
t_run --in "$T_WORK/dk-path.json" -- csr --no-nonce
t_expect "csr with keys.device_key naming a host key" 0
CSR_PUB=$(jget "$OUT" 'd["csr"]["data"]' | pub_of_csr)
t_check "the CSR holds the set's device key, not the key the document named" \
    "$([ -n "$CSR_PUB" ] && [ "$CSR_PUB" = "$DK_PUB" ] && [ "$CSR_PUB" != "$FOREIGN_PUB" ]; echo $?)"
t_run --in "$T_WORK/dk-path.json" -- csr --no-nonce
t_check "the document's key paths are not even read" "$(! grep -q "$FOREIGN" "$ERR"; echo $?)"

# The set's files are opened through the state dir, following no link: a
# key file replaced by a link to another key of the host is refused.
mv "$SET/device-key.pem" "$T_WORK/dk.pem"
ln -s "$FOREIGN" "$SET/device-key.pem"
t_run --in "$T_WORK/keys.json" -- csr --no-nonce
t_check "a key file that is a link (to a host key) is not followed" \
    "$([ "$RC" -eq 7 ] && [ ! -s "$OUT" ]; echo $?)" "exit $RC"
rm "$SET/device-key.pem"
mv "$T_WORK/dk.pem" "$SET/device-key.pem"

# Attack: a foreign transport_blob was sent as read (a transport key of
# someone else's registered for this device).
edit "$T_WORK/keys.json" "$T_WORK/blob.json" "d['keys']['transport_blob'] = '$(blob_of_key "$FOREIGN")'"
n=$(req_count join)
t_run --in "$T_WORK/blob.json" -- join --token-file "$TOK" --no-nonce
t_expect "join refuses a transport_blob that is not the set's transport key" 3 \
    "keys: the document's transport_blob is not the transport key of key set"
t_check "a foreign transport_blob: no join request, no identity" \
    "$([ "$(req_count join)" -eq "$n" ] && [ ! -e "$STATE/device.json" ]; echo $?)"
t_run --in "$T_WORK/blob.json" -- csr --no-nonce
t_expect "csr applies the same check" 3 "keys: the document's transport_blob is not the transport key of key set"

# Attack: a foreign csr.data was sent as read.
STATE_MAIN=$STATE
STATE=$T_WORK/state-other
t_run -- keygen --key-store software
cp "$OUT" "$T_WORK/other-keys.json"
t_run --in "$T_WORK/other-keys.json" -- csr --no-nonce
cp "$OUT" "$T_WORK/other-csr.json"
STATE=$STATE_MAIN
OTHER_CSR=$(jget "$T_WORK/other-csr.json" 'd["csr"]["data"]')
edit "$T_WORK/keys.json" "$T_WORK/csr.json" \
    "d['csr'] = {'type': 'pkcs10', 'data': '$OTHER_CSR', 'nonce': False}"
n=$(req_count join)
t_run --in "$T_WORK/csr.json" -- join --token-file "$TOK" --no-nonce
t_expect "join refuses a csr.data that is not the set's request" 3 \
    "join: the document's csr.data is not the certificate request of key set"
t_check "a foreign csr.data: no join request, no identity" \
    "$([ "$(req_count join)" -eq "$n" ] && [ ! -e "$STATE/device.json" ]; echo $?)"
# A stale one (no nonce, a nonce now): rebuilt from the set's device key.
t_run --in "$T_WORK/csr.json" -- join --token-file "$TOK"
t_expect "join with a stale foreign csr.data rebuilds the request" 0
SENT_PUB=$(jget "$(last_request join)" 'd["body"]["CertificateRequest"]["Data"]' | pub_of_csr)
t_check "the request sent holds the set's device key" \
    "$([ -n "$SENT_PUB" ] && [ "$SENT_PUB" = "$DK_PUB" ]; echo $?)"
t_check "the transport key sent is the set's" \
    "$([ "$(jget "$(last_request join)" 'd["body"]["TransportKey"]')" = "$(blob_of_key "$(recpath "$STATE/device.json" 'd["keys"]["transport_key"]')")" ]; echo $?)"

# A record's keys are found by their set's name, whatever the spelling of
# the state dir; a record naming a file outside identity/ is refused.
t_run -- --state-dir "$STATE/" status --json
t_expect "status with the state dir spelled with a trailing slash" 0
cp "$STATE/device.json" "$T_WORK/device.json.good"
$PY - "$STATE/device.json" "$FOREIGN" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["keys"]["device_key"] = sys.argv[2]
open(sys.argv[1], "w").write(json.dumps(d))
PY
t_run -- status --json
t_check "a record whose device_key is outside identity/ is not used" \
    "$([ "$RC" -ne 0 ] && grep -q "is not a key file of a set in" "$ERR"; echo $?)" "exit $RC"
cp "$T_WORK/device.json.good" "$STATE/device.json"

# Attack: keys.dir without a slash crashed join (SIGSEGV) after reading the token.
STATE=$T_WORK/state-noslash
edit "$T_WORK/keys.json" "$T_WORK/noslash.json" "d['keys']['dir'] = 'noslash'"
t_run --in "$T_WORK/noslash.json" -- join --token-file "$TOK"
t_expect "join with keys.dir 'noslash': refused, no crash" 3 "is not a key set in"
t_run --in "$T_WORK/noslash.json" -- csr
t_expect "csr with keys.dir 'noslash': refused" 3 "is not a key set in"

# A document that names key files but no set (issue 10's csr replay, in
# software): nothing is read from the paths it names.
printf '{"schema":"drsjoin/1","keys":{"store":"software","device_key":"%s"}}\n' "$FOREIGN" \
    >"$T_WORK/noset.json"
t_run --in "$T_WORK/noset.json" -- csr
t_expect "csr with key paths but no key set: refused" 3 "is not a key set in"
t_check "no CSR of the named key was written" "$([ ! -s "$OUT" ]; echo $?)"

t_done
