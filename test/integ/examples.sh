#!/usr/bin/env bash
# scripts/examples: the cloud-config passes cloud-init's own schema check,
# and the shell parts of the cloud-config and the kickstart %post, run as
# they are (paths moved under a test root), join against the emulator,
# leave no token behind, and fail with the drsjoin exit code.
. "$(dirname "$0")/../lib-integ.sh"

EX=$DRSJOIN_TOP/scripts/examples
CI=$EX/cloud-init.yaml
KS=$EX/kickstart.ks

if command -v cloud-init >/dev/null; then
	out=$(cloud-init schema --config-file "$CI" 2>&1)
	t_check "cloud-init schema --config-file accepts the cloud-config" \
	    "$([ $? -eq 0 ] && grep -q '^Valid cloud-config' <<<"$out"; echo $?)" "$out"
	tail -n +2 "$CI" >"$T_WORK/noheader.yaml"
	out=$(cloud-init schema --config-file "$T_WORK/noheader.yaml" 2>&1)
	t_check "cloud-init schema rejects it without the #cloud-config line" \
	    "$([ $? -ne 0 ] && grep -q 'needs to begin with "#cloud-config"' <<<"$out"; echo $?)" "$out"
else
	t_skip "cloud-init schema" "cloud-init is not installed (scripts/install-deps.sh installs it)"
fi
t_check "the cloud-config writes the token 0600 (quoted, as cloud-init wants)" \
    "$($PY -c 'import yaml,sys
c=yaml.safe_load(open(sys.argv[1]))
w=[f for f in c["write_files"] if "REPLACE-WITH-THE-TOKEN" in f["content"]]
sys.exit(0 if len(w)==1 and w[0]["permissions"]=="0600" else 1)' "$CI"; echo $?)"
t_check "the examples hold a placeholder, not a token" \
    "$(grep -q REPLACE-WITH-THE-TOKEN "$CI" && grep -q REPLACE-WITH-THE-TOKEN "$KS" &&
       ! grep -qE 'eyJ[A-Za-z0-9_-]{20,}\.' "$CI" "$KS"; echo $?)"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
mkdir -p "$T_WORK/bin"
ln -s "$DRSJOIN" "$T_WORK/bin/drsjoin"

# run_example KIND FILE ROOT TOKEN: sets RC, OUT, ERR
run_example() {
	local root=$3
	mkdir -p "$root"
	RC=0
	env PATH="$T_WORK/bin:$PATH" DRSJOIN_DISCOVERY_URL="$EMU_URL" SSL_CERT_FILE="$EMU_CA" \
	    DRSJOIN_STATE_DIR="$root/var/lib/drsjoin" \
	    $PY "$DRSJOIN_TOP/test/integ/examples.py" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

R=$T_WORK/ci
run_example cloud-init "$CI" "$R" "$(emu_token)"
dev=$(jget "$R/var/lib/drsjoin/device.json" 'd["device_id"]')
t_check "cloud-config: write_files and runcmd join the machine" \
    "$([ "$RC" -eq 0 ] && [ -n "$dev" ] && grep -q "mode 0600" "$OUT" &&
       grep -q "\"device_id\": \"$dev\"" "$OUT"; echo $?)" "rc $RC: $(cat "$OUT")"
t_check "cloud-config: the token file is gone after the join" \
    "$([ -z "$(find "$R/run" -type f)" ]; echo $?)"
t_check "cloud-config: the join's JSON is one line (--compact) in the log" \
    "$(grep -q '^{"device":{' "$OUT"; echo $?)"

R=$T_WORK/ci-expired
run_example cloud-init "$CI" "$R" "$(emu_token --expired)"
t_check "cloud-config with an expired token: fails with exit 3, token removed, no identity" \
    "$([ "$RC" -eq 3 ] && grep -q 'expired' "$ERR" && [ -z "$(find "$R/run" -type f)" ] &&
       [ ! -e "$R/var/lib/drsjoin/device.json" ]; echo $?)" "rc $RC"

R=$T_WORK/ks
run_example kickstart "$KS" "$R" "$(emu_token)"
t_check "kickstart %post joins the machine and removes the token" \
    "$([ "$RC" -eq 0 ] && [ -n "$(jget "$R/var/lib/drsjoin/device.json" 'd["device_id"]')" ] &&
       [ ! -e "$R/root/drsjoin" ]; echo $?)" "rc $RC: $(cat "$OUT" "$ERR" | head -5)"
t_check "kickstart %post fails the install on error (--erroronfail)" \
    "$(grep -q '^%post --erroronfail' "$KS"; echo $?)"

R=$T_WORK/ks-expired
run_example kickstart "$KS" "$R" "$(emu_token --expired)"
t_check "kickstart %post with an expired token: exit 3, token removed" \
    "$([ "$RC" -eq 3 ] && [ ! -e "$R/root/drsjoin" ] &&
       [ ! -e "$R/var/lib/drsjoin/device.json" ]; echo $?)" "rc $RC"
t_done
