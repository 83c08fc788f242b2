#!/usr/bin/env bash
# After the join with TPM keys (issue 25): the PRT request signed inside the
# TPM, the session key unwrapped by TPM2_RSA_Decrypt for each use (never in
# a file), on Debian's swtpm; another TPM cannot use the stored PRT.
. "$(dirname "$0")/../lib-integ.sh"

if ! why=$(swtpm_available); then
	t_skip "PRT with TPM keys on swtpm" "$why"
	exit 0
fi
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
swtpm_start >/dev/null || { t_fail "swtpm starts" "swtpm_start failed"; exit 1; }
GRAPH=https://graph.microsoft.com
RT_FILE=$T_WORK/rt
emu_ctl refresh-token >"$RT_FILE"
chmod 600 "$RT_FILE"
prt_file() { ls "$STATE"/prt/*.json 2>/dev/null | head -1; }

t_run -- --tcti "$SWTPM_TCTI" join --token-file "$(token_file)" --key-store tpm
t_expect "join with TPM keys" 0
# No --tcti from here on: the TPM recorded at join is used.
t_run -- prt --refresh-token-file "$RT_FILE"
t_expect "prt with TPM keys (the recorded TPM)" 0
t_check "prt: the session key stored wrapped only" \
    "$([ "$(jget "$(prt_file)" 'd["session_key_jwe"].count(".")')" = 4 ] &&
       [ "$(stat -c %a "$(prt_file)")" = 600 ]; echo $?)"
t_run -- token --resource "$GRAPH"
t_expect "token with TPM keys: the session key unwrapped inside the TPM" 0
AT=$(jget "$OUT" 'd["access_token"]')
t_check "token: the access token names this device" \
    "$($PY -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))["deviceid"])' "$AT" |
       grep -qx "$(jget "$STATE/device.json" 'd["device_id"]')"; echo $?)"
t_run -- prt --renew
t_expect "prt --renew with TPM keys" 0
t_run -- cookie
t_expect "cookie with TPM keys" 0
t_run -- status --check
t_check "status --check with TPM keys: the device request signed in the TPM" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["device_auth"]')" = ok ]; echo $?)"

# The same state dir on another TPM: the transport key does not load there.
sum=$(sha256sum "$(prt_file)")
swtpm_stop
swtpm_start >/dev/null || { t_fail "a second swtpm starts" "swtpm_start failed"; exit 1; }
t_run -- --tcti "$SWTPM_TCTI" token --fresh --resource "$GRAPH"
t_check "another TPM: token refused (the transport key is not there), nothing changed" \
    "$([ "$RC" -ne 0 ] && [ "$(errors)" -eq 1 ] && [ ! -s "$OUT" ] &&
       [ "$(sha256sum "$(prt_file)")" = "$sum" ]; echo $?)" "exit $RC: $(cat "$ERR")"
t_done
