#!/usr/bin/env bash
# TPM-bound keys end to end on Debian's swtpm: keygen, CSR, the one-shot
# join, status across a swtpm restart, another TPM, and the fallbacks.
. "$(dirname "$0")/../lib-integ.sh"

if ! why=$(swtpm_available); then
	t_skip "TPM join on swtpm" "$why"
	exit 0
fi
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
swtpm_start >/dev/null || { t_fail "swtpm starts" "swtpm_start failed"; exit 1; }
TOK=$(token_file)
TPM=("--env" "DRSJOIN_TCTI=$SWTPM_TCTI")

# keygen into the TPM, then a CSR signed inside it.
t_run "${TPM[@]}" -- keygen --key-store tpm
t_expect "keygen --key-store tpm" 0
cp "$OUT" "$T_WORK/keys.json"
t_check "keygen: TPM blobs, the store and the TPM recorded" \
    "$([ "$(jget "$T_WORK/keys.json" 'd["keys"]["store"]')" = tpm ] &&
       jget "$T_WORK/keys.json" 'd["keys"]["device_key"]' | grep -q 'device-key.tpm$' &&
       [ "$(jget "$T_WORK/keys.json" 'd["keys"]["tcti"]')" = "$SWTPM_TCTI" ] &&
       [ "$(stat -c %a "$(jget "$T_WORK/keys.json" 'd["keys"]["device_key"]')")" = 600 ]; echo $?)"
t_run "${TPM[@]}" -- csr --in "$T_WORK/keys.json" --no-nonce
t_expect "csr signed in the TPM" 0
jget "$OUT" 'd["csr"]["data"]' | base64 -d >"$T_WORK/csr.der"
t_check "the TPM-signed CSR verifies with openssl" \
    "$(openssl req -inform DER -in "$T_WORK/csr.der" -verify -noout 2>&1 | grep -q 'verify OK'; echo $?)"
t_check "the transport blob is the TPM transport key's public key" \
    "$($PY - "$T_WORK/keys.json" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1])); b = base64.b64decode(d["keys"]["transport_blob"])
blob = open(d["keys"]["transport_key"], "rb").read()
# TPM2B_PUBLIC: the modulus is the last TPM2B of the public area.
n = b[27:]
sys.exit(0 if len(b) == 283 and b[:4] == b"RSA1" and n in blob and b[24:27] == b"\x01\x00\x01" else 1)
PY
echo $?)"

# The one-shot join with TPM keys (auto picks the TPM and says so).
STATE=$T_WORK/state-tpm
t_run "${TPM[@]}" -- join --token-file "$TOK"
t_expect "one-shot join with TPM keys (auto)" 0 "keygen: keys in the TPM"
t_check "no software private key in the state dir" \
    "$(! grep -rqs 'PRIVATE KEY' "$STATE"; echo $?)"
t_run "${TPM[@]}" -- status
t_expect "status with TPM keys" 0
t_check "status names the key store and the TPM" \
    "$([ "$(jget "$OUT" 'd["key_store"]')" = tpm ] && jget "$OUT" 'd["tpm"]' | grep -q 'firmware'; echo $?)"
t_run "${TPM[@]}" -- --version
t_check "--version names the TPM in use" "$(grep -q '^  TPM .*firmware' "$OUT"; echo $?)"

# The stored TCTI is used when neither --tcti nor the environment says one.
t_run -- status
t_expect "status finds the TPM the keys were made in" 0

# swtpm stopped and restarted on the same state: the keys still load.
port=$SWTPM_PORT dir=$SWTPM_DIR
swtpm_stop_keep() { kill "$SWTPM_PID" 2>/dev/null; wait "$SWTPM_PID" 2>/dev/null || true; }
swtpm_stop_keep
swtpm_start "$dir" "$port" >/dev/null || { t_fail "swtpm restarts" "swtpm_start failed"; exit 1; }
t_run "${TPM[@]}" -- status
t_expect "status after a swtpm restart on the same state" 0

# A fresh TPM: "these keys belong to another TPM", state untouched.
sum=$(cd "$STATE" && find . -type f ! -name .lock -exec sha256sum {} + | sort)
kill "$SWTPM_PID" 2>/dev/null; wait "$SWTPM_PID" 2>/dev/null || true
SWTPM_PID=
swtpm_start "$T_WORK/fresh-tpm" "$port" >/dev/null || { t_fail "fresh swtpm starts" "swtpm_start failed"; exit 1; }
t_run "${TPM[@]}" -- status
t_expect "keys of another TPM" 6 "tpm: these keys belong to another TPM"
t_check "another TPM: the state is untouched" \
    "$([ "$(cd "$STATE" && find . -type f ! -name .lock -exec sha256sum {} + | sort)" = "$sum" ]; echo $?)"

# No TPM: auto falls back to software and says so; tpm fails with exit 6.
STATE=$T_WORK/state-notpm
t_run --env DRSJOIN_TCTI=device:/nonexistent/tpmrm0 -- keygen
t_expect "no TPM, auto: software keys" 0 "keygen: no usable TPM (-v says why), using software keys"
t_check "no TPM, auto: the document says software" "$([ "$(jget "$OUT" 'd["keys"]["store"]')" = software ]; echo $?)"
n=$(req_count)
t_run --env DRSJOIN_TCTI=device:/nonexistent/tpmrm0 -- join --token-file "$TOK" --key-store tpm
t_expect "no TPM, --key-store tpm: TPM exit code" 6 "tpm: cannot open device:/nonexistent/tpmrm0"
t_check "no TPM, --key-store tpm: no request, no identity" \
    "$([ ! -e "$STATE/device.json" ] && [ "$(req_count)" -eq "$n" ]; echo $?)"
t_run -- --tcti 'tabrmd:bus_type=session' keygen --key-store tpm
t_expect "an unknown TCTI is a usage error" 2 "tpm: unknown TCTI 'tabrmd'"

t_done
