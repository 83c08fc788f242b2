#!/usr/bin/env bash
# The TCTI used at join is recorded in device.json ("tcti") and used by
# status and leave when neither --tcti nor the environment names a TPM (it
# beats the config file's tcti); a record's TCTI drsjoin would not write
# is refused; a document's keys.tcti never reaches the record.
. "$(dirname "$0")/../lib-integ.sh"

if ! why=$(swtpm_available); then
	t_skip "the recorded TCTI" "$why"
	exit 0
fi
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
swtpm_start >/dev/null || { t_fail "swtpm starts" "swtpm_start failed"; exit 1; }
TOK=$(token_file)
rec=$STATE/device.json
setrec() {	# KEY VALUE|-: sets (or with -, removes) a top-level field of the record
	$PY - "$rec" "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if sys.argv[3] == "-": d.pop(sys.argv[2], None)
else: d[sys.argv[2]] = sys.argv[3]
open(sys.argv[1], "w").write(json.dumps(d, indent=2, sort_keys=True))
PY
}

# The piped phases, with a document that names a TCTI of its own.
t_run -- --tcti "$SWTPM_TCTI" keygen --key-store tpm
t_expect "keygen in the TPM named by --tcti" 0
$PY - "$OUT" >"$T_WORK/keys.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["keys"]["tcti"] = "device:/dev/tpm9"
print(json.dumps(d))
PY
t_run --in "$T_WORK/keys.json" -- --tcti "$SWTPM_TCTI" join --token-file "$TOK"
t_expect "join with TPM keys, the TPM named by --tcti only" 0
t_check "the record names the TCTI join used; the document's keys.tcti is not copied" \
    "$([ "$(jget "$rec" 'd["tcti"]')" = "$SWTPM_TCTI" ] &&
       [ "$(jget "$rec" '"tcti" in d["keys"]')" = False ]; echo $?)" "$(jget "$rec" 'd.get("tcti")')"

t_run -- status
t_check "status without --tcti or DRSJOIN_TCTI uses the recorded TPM" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["tcti"]')" = "$SWTPM_TCTI" ] &&
       jget "$OUT" 'd["tpm"]' | grep -q .; echo $?)" "rc $RC"
printf 'tcti = device:/nonexistent/tpm-of-the-file\n' >"$T_WORK/c.conf"; chmod 600 "$T_WORK/c.conf"
t_run --env DRSJOIN_CONFIG="$T_WORK/c.conf" -- status
t_expect "the recorded TCTI beats the config file's" 0
t_run -- --tcti device:/nonexistent/tpm-of-the-command-line status
t_expect_unhealthy "--tcti beats the recorded TCTI" 6 "tpm-of-the-command-line"
t_run --env DRSJOIN_TCTI=device:/nonexistent/tpm-of-the-env -- status
t_expect_unhealthy "DRSJOIN_TCTI beats the recorded TCTI" 6 "tpm-of-the-env"

# A record names only what drsjoin would write.
cp "$rec" "$T_WORK/rec.good"
victim=$T_WORK/victim; printf 'not a TPM\n' >"$victim"; cp "$victim" "$T_WORK/victim.orig"
for bad in "device:$victim" "device:/dev/tpm0x" "device:/dev/tpmrm0/../null" "tabrmd:bus_type=session" \
    "swtpm:host=a b" "swtpm:port=2321;x" "mssim:$(printf 'x%.0s' $(seq 130))" "device:/dev/tpm1234"; do
	cp "$T_WORK/rec.good" "$rec"; setrec tcti "$bad"
	t_run -- status
	t_expect_unhealthy "a recorded TCTI drsjoin would not write is refused (${bad:0:30})" 7 \
	    "device.json: tcti '"
done
t_check "the file a record named as TPM is unchanged" "$(cmp -s "$victim" "$T_WORK/victim.orig"; echo $?)"
cp "$T_WORK/rec.good" "$rec"; setrec tcti "device:$victim"
t_run -- --tcti "$SWTPM_TCTI" status
t_expect "with --tcti a bad recorded TCTI is not read at all" 0

# leave uses the recorded TPM too.
cp "$T_WORK/rec.good" "$rec"
dev=$(jget "$rec" 'd["device_id"]')
t_run -- leave
t_expect "leave without --tcti signs with the recorded TPM" 0 "left: device $dev"

# Software keys: no TCTI recorded.
t_run -- join --token-file "$TOK" --key-store software
t_check "software keys: the record names no TCTI" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$rec" '"tcti" in d')" = False ]; echo $?)" "rc $RC"
t_done
