#!/usr/bin/env bash
# "Already joined" means usable (issue 16, item 2): for each way a stored
# identity can be damaged, a re-run of join exits 7 with the way out
# (--force, leave --local-only), sends nothing and changes nothing; status
# prints its JSON with "healthy": false and the reason, and exits 7 (6 when
# the TPM cannot be opened). Software keys, then TPM keys on swtpm.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
HINT="('drsjoin join --force' joins again and replaces it; 'drsjoin leave --local-only' removes it)"

snapshot() { (cd "$STATE" && find . -type f ! -name .lock | sort | xargs sha256sum); }
# status writes one file, the public record (status.json): the rest stays.
snapshot_private() { (cd "$STATE" && find . -type f ! -name .lock ! -name status.json | sort | xargs sha256sum); }
rec() { recpath "$STATE/device.json" "$1"; }
# edit_record PYTHON: runs PYTHON on device.json as d, writes it back.
edit_record() {
	$PY - "$STATE/device.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); exec(sys.argv[2])
open(sys.argv[1], "w").write(json.dumps(d))
PY
}

# fresh NAME software|tpm: a joined identity in a state dir of its own, for
# one kind of damage.
fresh() {
	STATE=$T_WORK/state-$1
	if [ "$2" = tpm ]; then
		t_run "${TPM[@]}" -- join --token-file "$TOK" --key-store tpm
	else
		t_run -- join --token-file "$TOK" --key-store software
	fi
	[ "$RC" -eq 0 ] || t_fail "$1: the first join" "exit $RC"
	SET=$(rec 'd["identity_dir"]')
}

# damaged NAME CODE REASON [drsjoin global args...]: the re-run and status.
damaged() {
	local name=$1 code=$2 reason=$3 snap n priv
	shift 3
	snap=$(snapshot); n=$(req_count); priv=$(snapshot_private)
	t_run "$@" -- join --token-file "$TOK"
	if [ "$code" -eq 7 ]; then
		t_expect "$name: join exits 7 with the reason and the way out" 7 \
		    "join: the stored identity is not usable: "
		t_check "$name: join's line gives the reason and the way out" \
		    "$(grep -qF -- "$reason" "$ERR" && grep -qF -- "$HINT" "$ERR"; echo $?)" "$(cat "$ERR")"
	else
		t_expect "$name: join exits $code" "$code" "join: the stored identity cannot be checked: $reason"
	fi
	t_check "$name: join sent nothing, changed nothing" \
	    "$([ "$(req_count)" -eq "$n" ] && [ "$(snapshot)" = "$snap" ]; echo $?)"
	t_run "$@" -- status --json
	t_expect_unhealthy "$name: status --json: healthy false, the reason, exit $code" "$code" "$reason"
	t_check "$name: status --json: still the identity's fields" \
	    "$(jget "$OUT" 'd["joined"] is True and d["state_dir"]' | grep -q .; echo $?)"
	t_run "$@" -- status
	t_expect_unhealthy "$name: status in a pipe: the same JSON" "$code" "$reason"
	t_check "$name: status changed nothing but status.json, which now says unhealthy, with the reason" \
	    "$([ "$(snapshot_private)" = "$priv" ] && { [ "$code" -eq 6 ] ||
	       [ "$(jget "$STATE/status.json" 'd["healthy"] is False and d["reason"]' | head -c 40)" = "$(jget "$OUT" 'd["reason"]' | head -c 40)" ]; }; echo $?)"
}

# A healthy identity: "healthy": true and no reason, at exit 0.
fresh good software
t_run -- status --json
t_check "a usable identity: healthy true, no reason, exit 0" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["healthy"] is True and "reason" not in d')" = True ]; echo $?)"
GOOD_STATE=$STATE GOOD_SET=$SET

# --- the certificate ------------------------------------------------------
fresh cert-missing software
rm "$SET/certificate.pem"
damaged "certificate missing" 7 "$SET/certificate.pem: missing"

fresh cert-garbled software
echo garbage >"$SET/certificate.pem"
damaged "certificate garbled" 7 "$SET/certificate.pem: not a PEM certificate"

fresh cert-other software
cp "$GOOD_SET/certificate.pem" "$SET/certificate.pem"
damaged "another identity's certificate" 7 \
    "$SET/certificate.pem is not the device's certificate: its thumbprint is $(jget "$GOOD_STATE/device.json" 'd["thumbprint"]')"

# The record made to agree with another identity's certificate: only the
# key comparison can tell.
fresh cert-otherkey software
cp "$GOOD_SET/certificate.pem" "$SET/certificate.pem"
edit_record "g = json.load(open('$GOOD_STATE/device.json')); d['thumbprint'] = g['thumbprint']; d['device_id'] = g['device_id']"
damaged "a certificate for another key" 7 "the device key is not the certificate's key"

# Expired: the same key and device id, signed by the device key, and the
# record's thumbprint made to match, so that only the date is wrong.
fresh cert-expired software
$PY - "$SET/device-key.pem" "$SET/certificate.pem" "$STATE/device.json" <<'PY'
import datetime, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
rec = json.load(open(sys.argv[3]))
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, rec["device_id"])])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now - datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
open(sys.argv[2], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
rec["thumbprint"] = cert.fingerprint(hashes.SHA1()).hex().upper()
open(sys.argv[3], "w").write(json.dumps(rec))
PY
damaged "an expired certificate" 7 "the device certificate expired at "
t_check "an expired certificate: status says how long ago" \
    "$(jget "$OUT" 'd["days_left"]' | grep -qx -- '-1'; echo $?)" "days_left $(jget "$OUT" 'd.get("days_left")')"

# --- the keys ---------------------------------------------------------------
fresh dk-missing software
rm "$SET/device-key.pem"
damaged "device key missing" 7 "$SET/device-key.pem: No such file or directory"

fresh dk-garbled software
echo garbage >"$SET/device-key.pem"
damaged "device key garbled" 7 "$SET/device-key.pem: not a usable private key"

fresh dk-other software
cp "$GOOD_SET/device-key.pem" "$SET/device-key.pem"
damaged "device key replaced by another key" 7 "the device key is not the certificate's key"

fresh tk-missing software
rm "$SET/transport-key.pem"
damaged "transport key missing" 7 "$SET/transport-key.pem: No such file or directory"

fresh tk-garbled software
printf -- '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' >"$SET/transport-key.pem"
damaged "transport key garbled" 7 "$SET/transport-key.pem: not a usable private key"

fresh tk-other software
cp "$GOOD_SET/transport-key.pem" "$SET/transport-key.pem"
damaged "transport key replaced by another key" 7 \
    "$SET/transport-key.pem is not the transport key the device was registered with"

# --- the record -------------------------------------------------------------
fresh rec-corrupt software
head -c 100 "$STATE/device.json" >"$STATE/device.json.new" && mv "$STATE/device.json.new" "$STATE/device.json"
damaged "device.json truncated" 7 "$STATE/device.json: not valid JSON (truncated or damaged)"
t_check "device.json truncated: status still says joined, with no record fields" \
    "$([ "$(jget "$OUT" 'd["joined"] is True and "device_id" not in d')" = True ]; echo $?)"

fresh rec-store software
edit_record "d['keys']['store'] = 'floppy'"
damaged "device.json naming no key store" 7 "device.json names no key store (keys.store is floppy)"

# --force and leave --local-only, the ways out the message names, work.
STATE=$T_WORK/state-dk-other
t_run -- join --token-file "$TOK" --force
t_expect "the way out: join --force over a damaged identity" 0
t_run -- status --json
t_check "after --force: healthy" "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["healthy"]')" = True ]; echo $?)"
STATE=$T_WORK/state-tk-other
t_run -- leave --local-only
t_expect "the way out: leave --local-only removes a damaged identity" 0
t_run -- status --json
t_check "after leave --local-only: not joined" "$([ "$RC" -eq 8 ]; echo $?)"

# join --force over a corrupt record (issue 23 item 11): the record is moved
# aside with its sets; the device the certificate there names is named, and
# deleted once the new join stands when its key loads; else it stays, named.
has_device() { emu_ctl devices >"$T_WORK/devices.json" && grep -qi "\"$1\"" "$T_WORK/devices.json"; }
corrupt() {	# NAME: a fresh identity whose device.json is cut short; OLD its device
	fresh "$1" software
	OLD=$(jget "$STATE/device.json" 'd["device_id"]')
	head -c 100 "$STATE/device.json" >"$STATE/device.json.new" && mv "$STATE/device.json.new" "$STATE/device.json"
}
corrupt force-corrupt
t_run -- join --token-file "$TOK" --force
t_check "join --force over a corrupt record: names the old device from its certificate and deletes it" \
    "$([ "$RC" -eq 0 ] && grep -q "^drsjoin: join: the unusable record was device $OLD's (its certificate in $STATE/identity.corrupt-[0-9TZ]*/[0-9a-f]*): deleted from the tenant once the new join succeeds" "$ERR" &&
       grep -q "^drsjoin: join: deleted the replaced device $OLD from the tenant" "$ERR" && ! has_device "$OLD"; echo $?)" \
    "exit $RC: $(cat "$ERR")"
corrupt force-corrupt-key
echo garbage >"$SET/device-key.pem"
t_run -- join --token-file "$TOK" --force
t_check "join --force over a corrupt record whose key does not load: the old device named, kept, the reason given" \
    "$([ "$RC" -eq 0 ] && grep -q "^drsjoin: warning: join: the unusable record was device $OLD's (its certificate in $STATE/identity.corrupt-.*), whose key device-key.pem cannot be used (.*not a usable private key.*): it stays in the tenant; delete it there" "$ERR" &&
       has_device "$OLD"; echo $?)" "exit $RC: $(cat "$ERR")"
corrupt force-corrupt-keep
t_run -- join --token-file "$TOK" --force --keep-old-device
t_check "join --force --keep-old-device over a corrupt record: the old device named and kept" \
    "$([ "$RC" -eq 0 ] && grep -q "^drsjoin: join: the unusable record was device $OLD's (.*): it stays in the tenant (--keep-old-device)" "$ERR" &&
       has_device "$OLD"; echo $?)" "exit $RC: $(cat "$ERR")"
corrupt force-corrupt-nocert
rm "$SET/certificate.pem"
t_run -- join --token-file "$TOK" --force
t_check "join --force over a corrupt record without a readable certificate: says the old device is not known" \
    "$([ "$RC" -eq 0 ] && grep -q "^drsjoin: warning: join: identity.corrupt-[0-9TZ]*: the unusable record's device is not known (no certificate could be read): it may stay in the tenant" "$ERR" &&
       has_device "$OLD"; echo $?)" "exit $RC: $(cat "$ERR")"

# At a terminal, status's summary says why.
STATE=$T_WORK/state-dk-garbled SET=$(rec 'd["identity_dir"]')
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    script -qec "$(printf '%q ' "$DRSJOIN" status)" /dev/null </dev/null >"$T_WORK/tty" 2>&1
t_check "status at a terminal: 'Healthy: no' and the reason in the summary" \
    "$(grep -q "^Healthy:       no: $SET/device-key.pem: not a usable private key" "$T_WORK/tty" &&
       grep -q '^Device id: ' "$T_WORK/tty"; echo $?)" "$(head -5 "$T_WORK/tty")"
STATE=$T_WORK/state-rec-corrupt
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    script -qec "$(printf '%q ' "$DRSJOIN" status)" /dev/null </dev/null >"$T_WORK/tty" 2>&1
t_check "status at a terminal, corrupt record: the reason in the summary" \
    "$(grep -q '^Healthy:       no: .*device.json: not valid JSON' "$T_WORK/tty"; echo $?)" "$(head -5 "$T_WORK/tty")"
STATE=$GOOD_STATE
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    script -qec "$(printf '%q ' "$DRSJOIN" status)" /dev/null </dev/null >"$T_WORK/tty" 2>&1
t_check "status at a terminal, usable identity: 'Healthy: yes'" \
    "$(grep -q '^Healthy:       yes' "$T_WORK/tty"; echo $?)" "$(head -5 "$T_WORK/tty")"

# A state dir status cannot open: still a document on stdout.
STATE=$T_WORK/state-open
mkdir -p "$STATE" && chmod 0777 "$STATE"
t_run -- status --json
t_expect_unhealthy "a state dir that cannot be used: status prints the reason as JSON" 7 "$STATE"
chmod 0700 "$STATE"

# --- TPM keys on swtpm --------------------------------------------------------
if ! why=$(swtpm_available); then
	t_skip "damaged TPM keys" "$why"
	t_done
	exit
fi
swtpm_start >/dev/null || { t_fail "swtpm starts" "swtpm_start failed"; t_done; exit 1; }
TPM=("--env" "DRSJOIN_TCTI=$SWTPM_TCTI")

fresh tpm-good tpm
t_run "${TPM[@]}" -- join --token-file "$TOK" --key-store tpm
t_expect "TPM keys: the re-run is already joined" 0 "already joined"
t_run "${TPM[@]}" -- status --json
t_check "TPM keys: healthy" "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["healthy"]')" = True ]; echo $?)"
TPM_GOOD_SET=$SET

# A blob whose recorded SRK name is another's: refused before the key is loaded.
fresh tpm-srk tpm
$PY - "$SET/device-key.tpm" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 0xff
open(sys.argv[1], "wb").write(bytes(b))
PY
damaged "TPM device key blob for another SRK" 7 \
    "$SET/device-key.tpm: tpm: these keys belong to another TPM, or its storage root key was replaced" "${TPM[@]}"

# A blob whose private part was changed: the TPM refuses to load it.
fresh tpm-corrupt tpm
$PY - "$SET/device-key.tpm" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
# TPM2B_PUBLIC, then TPM2B_PRIVATE: flip a byte inside the private part.
pub = int.from_bytes(b[0:2], "big") + 2
b[pub + 20] ^= 0xff
open(sys.argv[1], "wb").write(bytes(b))
PY
damaged "TPM device key blob corrupted" 7 "$SET/device-key.tpm: tpm: these keys belong to another TPM" "${TPM[@]}"

fresh tpm-garbled tpm
echo garbage >"$SET/transport-key.tpm"
damaged "TPM transport key blob garbled" 7 "$SET/transport-key.tpm: tpm: not a drsjoin TPM key blob" "${TPM[@]}"

# Another identity's TPM device key: it loads, and is not the certificate's.
fresh tpm-other tpm
cp "$TPM_GOOD_SET/device-key.tpm" "$SET/device-key.tpm"
damaged "TPM device key of another identity" 7 "the device key is not the certificate's key" "${TPM[@]}"

# The TPM cannot be opened: nothing is known about the keys (exit 6, no --force).
STATE=$T_WORK/state-tpm-good
damaged "the TPM cannot be opened" 6 "tpm: cannot open device:/nonexistent/tpmrm0" \
    --env DRSJOIN_TCTI=device:/nonexistent/tpmrm0
t_check "the TPM cannot be opened: no --force advice" "$(! grep -q -- '--force' "$ERR"; echo $?)"

t_done
