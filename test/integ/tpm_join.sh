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
KEYSTATE=$STATE
t_check "keygen: TPM blobs and the store recorded, no TCTI (documents never name one)" \
    "$([ "$(jget "$T_WORK/keys.json" 'd["keys"]["store"]')" = tpm ] &&
       jget "$T_WORK/keys.json" 'd["keys"]["device_key"]' | grep -q 'device-key.tpm$' &&
       [ "$(jget "$T_WORK/keys.json" '"tcti" in d["keys"]')" = False ] &&
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

# Issue 10: a TCTI comes from --tcti, DRSJOIN_TCTI, TPM2TOOLS_TCTI or the
# default devices, never from a document or a record's keys section (the
# record's own "tcti", written by join, is tcti_record.sh's). A keys.tcti
# naming this swtpm is not enough: without the environment the default
# device is tried.
rec=$STATE/device.json
$PY - "$rec" "$SWTPM_TCTI" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["keys"]["tcti"] = sys.argv[2]; d.pop("tcti", None)
open(sys.argv[1], "w").write(json.dumps(d))
PY
if [ ! -e /dev/tpmrm0 ] && [ ! -e /dev/tpm0 ]; then
	t_run -- status
	t_expect_unhealthy "a record's keys.tcti is not used (swtpm: outbound connections)" 6 \
	    "status: the stored identity cannot be checked: tpm: cannot open device:/dev/tpmrm0"
	t_run -- -v status
	t_check "-v says that keys.tcti is ignored" \
	    "$(grep -q "keys.tcti is ignored" "$ERR"; echo $?)"
else
	t_skip "a record's keys.tcti is not used" "this machine has a TPM device"
fi
t_run "${TPM[@]}" -- status
t_expect "the record's keys.tcti is ignored when the environment names the TPM" 0
victim=$T_WORK/victim
printf 'precious data, not a TPM\n' >"$victim"
cp "$victim" "$T_WORK/victim.orig"
joined_state=$STATE
STATE=$KEYSTATE
t_run "${TPM[@]}" --in "$T_WORK/keys.json" -- csr --no-nonce
t_expect "csr with TPM keys" 0
$PY - "$T_WORK/keys.json" "device:$victim" >"$T_WORK/keys-victim.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["keys"]["tcti"] = sys.argv[2]
print(json.dumps(d))
PY
t_run "${TPM[@]}" --in "$T_WORK/keys-victim.json" -- csr --no-nonce
t_expect "a document's keys.tcti naming a file is ignored (the environment's TPM signs)" 0
t_check "the file a document named as TPM is unchanged (it was overwritten)" \
    "$(cmp -s "$victim" "$T_WORK/victim.orig"; echo $?)"
printf '{"schema":"drsjoin/1","keys":{"store":"tpm","device_key":"/etc/hostname","tcti":"device:%s"}}\n' \
    "$victim" >"$T_WORK/replay.json"
t_run --in "$T_WORK/replay.json" -- csr
t_check "issue 10 replay: csr with a document's device: TCTI fails" "$([ "$RC" -ne 0 ]; echo $?)" "exit $RC"
t_check "issue 10 replay: the victim is unchanged and not named" \
    "$(cmp -s "$victim" "$T_WORK/victim.orig" && ! grep -q victim "$ERR"; echo $?)"
STATE=$joined_state
# From the command line (trusted), a device TCTI must still be a character device.
t_run -- --tcti "device:$victim" status
t_expect_unhealthy "--tcti device: on a regular file is refused" 6 "not a character device (a regular file)"
t_check "--tcti device: on a regular file: the file is unchanged" \
    "$(cmp -s "$victim" "$T_WORK/victim.orig"; echo $?)"

# swtpm stopped and restarted on the same state: the keys still load.
port=$SWTPM_PORT dir=$SWTPM_DIR
swtpm_stop_keep() { kill "$SWTPM_PID" 2>/dev/null; wait "$SWTPM_PID" 2>/dev/null || true; }
swtpm_stop_keep
swtpm_start "$dir" "$port" >/dev/null || { t_fail "swtpm restarts" "swtpm_start failed"; exit 1; }
t_run "${TPM[@]}" -- status
t_expect "status after a swtpm restart on the same state" 0

# A fresh TPM: "these keys belong to another TPM", state untouched.
sum=$(cd "$STATE" && find . -type f ! -name .lock ! -name status.json -exec sha256sum {} + | sort)
kill "$SWTPM_PID" 2>/dev/null; wait "$SWTPM_PID" 2>/dev/null || true
SWTPM_PID=
swtpm_start "$T_WORK/fresh-tpm" "$port" >/dev/null || { t_fail "fresh swtpm starts" "swtpm_start failed"; exit 1; }
t_run "${TPM[@]}" -- status
t_expect_unhealthy "keys of another TPM: unusable, exit 7" 7 \
    "device-key.tpm: tpm: these keys belong to another TPM"
t_check "another TPM: the state is untouched" \
    "$([ "$(cd "$STATE" && find . -type f ! -name .lock ! -name status.json -exec sha256sum {} + | sort)" = "$sum" ]; echo $?)"

# Issue 10: a replaced SRK. Keys made under a persistent SRK at 0x81000001;
# then another storage key put there: refused by the SRK's recorded name
# (exit 6), before anything is sent to the new one; the state untouched.
TEST_TPM=${DRSJOIN_UNIT_DIR:-$DRSJOIN_TOP/build/check/test}/test_tpm
if [ -x "$TEST_TPM" ]; then
	DRSJOIN_TEST_TCTI=$SWTPM_TCTI "$TEST_TPM" persist first-srk >"$T_WORK/persist.out" 2>&1
	STATE=$T_WORK/state-srk
	t_run "${TPM[@]}" -- join --token-file "$TOK" --key-store tpm
	t_expect "join with keys under a persistent SRK" 0
	t_run "${TPM[@]}" -- status --json
	t_expect "status under the same persistent SRK" 0
	sum=$(cd "$STATE" && find . -type f ! -name .lock ! -name status.json -exec sha256sum {} + | sort)
	DRSJOIN_TEST_TCTI=$SWTPM_TCTI "$TEST_TPM" persist another-srk >>"$T_WORK/persist.out" 2>&1
	t_check "the persistent SRK was replaced" "$(grep -c '^ok' "$T_WORK/persist.out" | grep -qx 2; echo $?)"
	t_run "${TPM[@]}" -- status --json
	t_expect_unhealthy "a replaced SRK is refused" 7 \
	    "tpm: these keys belong to another TPM, or its storage root key was replaced (they were made under the SRK named 000b"
	t_check "a replaced SRK: the state is untouched" \
	    "$([ "$(cd "$STATE" && find . -type f ! -name .lock ! -name status.json -exec sha256sum {} + | sort)" = "$sum" ]; echo $?)"
else
	t_fail "a replaced SRK" "$TEST_TPM is not built"
fi

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
