#!/usr/bin/env bash
# status for a user who is not root (issue 23 item 11), as dsregcmd /status:
# the public facts from STATE/status.json, world-readable and without
# secrets, written by join and updated by root's status; root's config file
# is not an error for it. Run as nobody with setpriv.
. "$(dirname "$0")/../lib-integ.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1 ||
    ! id nobody >/dev/null 2>&1; then
	t_skip "status as a user" "needs root, setpriv and the user nobody"
	exit 0
fi
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
# nobody must reach the state dir and the binary.
chmod 0711 "$T_WORK"
BIN=$T_WORK/bin/drsjoin
mkdir -m 0755 "$T_WORK/bin" && cp "$DRSJOIN" "$BIN" && chmod 0755 "$BIN"
STATE=$T_WORK/state

# as_user ARGS...: drsjoin as nobody, as t_run (RC, OUT, ERR).
as_user() {
	RC=0
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
	    env DRSJOIN_STATE_DIR="$STATE" DRSJOIN_CONFIG="${USER_CONFIG:-/dev/null}" \
	    ${USER_ENV[@]+"${USER_ENV[@]}"} "$BIN" "$@" </dev/null >"$OUT" 2>"$ERR" || RC=$?
}
USER_ENV=()

as_user status --json
t_check "as a user, no state dir: not joined, exit 8" \
    "$([ "$RC" -eq 8 ] && [ "$(jget "$OUT" 'd["joined"]')" = False ]; echo $?)" "exit $RC: $(cat "$ERR")"

t_run -- join --token-file "$TOK" --key-store software
DEV=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "a join writes status.json 0644 and opens the state dir to users (0711), nothing else" \
    "$([ "$RC" -eq 0 ] && [ "$(stat -c %a "$STATE/status.json")" = 644 ] &&
       [ "$(stat -c %a "$STATE")" = 711 ] && [ "$(stat -c %a "$STATE/device.json")" = 600 ] &&
       [ "$(stat -c %a "$STATE/identity")" = 700 ]; echo $?)" "exit $RC: $(cat "$ERR")"
t_check "status.json holds no secret, path, user or key: only the public facts" \
    "$([ "$(jget "$STATE/status.json" 'sorted(d)')" = "['checked_at', 'device_id', 'display_name', 'healthy', 'join_type', 'joined', 'joined_at', 'key_store', 'machine', 'not_after', 'not_before', 'schema', 'tenant_domain', 'tenant_id', 'thumbprint']" ] &&
       ! grep -q -e PRIVATE -e upn -e identity/ "$STATE/status.json"; echo $?)" "$(cat "$STATE/status.json")"

as_user status --json
t_check "as a user: status exits 0 with the device, tenant, join time, expiry, health and when root checked" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["device_id"], d["tenant_id"], d["healthy"], bool(d["joined_at"]), bool(d["not_after"]), d["days_left"] > 0, bool(d["checked_at"]), d["state_dir"]')" = \
       "('$DEV', '$EMU_TENANT_ID', True, True, True, True, True, '$STATE')" ] && [ ! -s "$ERR" ]; echo $?)" \
    "exit $RC: $(cat "$ERR") $(cat "$OUT")"
as_user -v status --json
t_check "as a user: -v says the state dir cannot be read and status.json is used" \
    "$([ "$RC" -eq 0 ] && grep -q "status: $STATE cannot be read as uid $(id -u nobody): $STATE/status.json, as root last wrote it" "$ERR"; echo $?)" "$(cat "$ERR")"
setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups env DRSJOIN_STATE_DIR="$STATE" DRSJOIN_CONFIG=/dev/null \
    script -qec "$BIN status" /dev/null </dev/null >"$T_WORK/tty" 2>&1
t_check "as a user at a terminal: the summary, with when root checked" \
    "$(grep -q "^Healthy:       yes" "$T_WORK/tty" && grep -q "^Device id:     $DEV" "$T_WORK/tty" &&
       grep -q "^Checked:       by root at 20" "$T_WORK/tty"; echo $?)" "$(head -12 "$T_WORK/tty")"

# Root's config file (0600) is no error for a user's status; for join it is.
printf 'tenant = %s\n' "$EMU_TENANT_ID" >"$T_WORK/root.conf"; chmod 0600 "$T_WORK/root.conf"
USER_CONFIG=$T_WORK/root.conf
as_user status --json
t_expect "as a user: root's config file (0600) is not an error for status" 0
as_user keygen
t_check "as a user: root's config file is still an error for other commands" \
    "$([ "$RC" -ne 0 ] && grep -q "root.conf" "$ERR"; echo $?)" "exit $RC: $(cat "$ERR")"
USER_CONFIG=

# Root's status updates it: a damaged identity is unhealthy for users too.
SET=$STATE/$(jget "$STATE/device.json" 'd["identity_dir"]')
mv "$SET/device-key.pem" "$T_WORK/dk.pem"
as_user status --json
t_expect "as a user: status.json says healthy until root checks again" 0
t_run -- status --json
t_check "root's status finds it damaged and writes that to status.json" \
    "$([ "$RC" -eq 7 ] && [ "$(jget "$STATE/status.json" 'd["healthy"]')" = False ]; echo $?)"
as_user status --json
t_expect_unhealthy "as a user: unhealthy as root found it, exit 7, the reason" 7 "device-key.pem: No such file or directory"
t_check "as a user: the line says when root found it so" \
    "$(grep -q "(as root last found it, at 20.*; as root, 'drsjoin join --force' joins again and replaces it)" "$ERR"; echo $?)" "$(cat "$ERR")"
mv "$T_WORK/dk.pem" "$SET/device-key.pem"
t_run -- status --json
as_user status --json
t_expect "root's status finds it mended: users see healthy again" 0

# What a user can still tell: an expired certificate, another machine.
cp "$STATE/status.json" "$T_WORK/pub.json"
$PY - "$STATE/status.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["not_after"] = "2020-01-01T00:00:00Z"
json.dump(d, open(sys.argv[1], "w"))
PY
as_user status --json
t_expect_unhealthy "as a user: a certificate expired since root's check is unhealthy" 7 \
    "the device certificate expired at 2020-01-01T00:00:00Z"
cp "$T_WORK/pub.json" "$STATE/status.json"
printf '0123456789abcdef0123456789abcdef\n' >"$T_WORK/other-machine-id"; chmod 0644 "$T_WORK/other-machine-id"
USER_ENV=(DRSJOIN_TEST_MACHINE_ID="$T_WORK/other-machine-id")
as_user status --json
if [ "$(jget "$STATE/status.json" 'bool(d.get("machine"))')" = True ]; then
	t_expect_unhealthy "as a user on a clone (another machine-id): unhealthy" 7 \
	    "device $DEV was joined on another machine (its /etc/machine-id is not this machine's)"
else
	t_skip "as a user on a clone" "this machine has no /etc/machine-id"
fi
USER_ENV=()

# A damaged status.json: exit 7 naming it, JSON still on stdout.
echo garbage >"$STATE/status.json"
as_user status --json
t_expect_unhealthy "as a user: a damaged status.json is exit 7 naming it" 7 "$STATE/status.json: not a drsjoin public record"
cp "$T_WORK/pub.json" "$STATE/status.json"

# leave removes it: not joined for users too.
t_run -- leave
as_user status --json
t_check "after leave: status.json gone, users see not joined (exit 8)" \
    "$([ "$RC" -eq 8 ] && [ ! -e "$STATE/status.json" ] && grep -q "status: not joined (no $STATE/status.json" "$ERR" &&
       [ "$(jget "$OUT" 'd["joined"]')" = False ]; echo $?)" "exit $RC: $(cat "$ERR")"

# A state dir closed to users (an older install's 0700): says how to open it.
chmod 0700 "$STATE"
as_user status --json
t_expect_unhealthy "as a user, a state dir 0700: exit 7, run status as root" 7 "status: $STATE is closed to users (mode 0700)"

t_done
