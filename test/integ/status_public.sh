#!/usr/bin/env bash
# The public record status.json under attack (issue 23 item 11, review):
# a state dir an admin closed again (0700) is opened by root's status, as
# the line users get promises, also when status.json says the same; a
# root's status that found the record damaged never writes that over the
# record a join --force committed meanwhile (its lock is taken before it
# reads what it writes); a link planted at status.json is never followed;
# a leave killed past its commit point leaves no status.json to root's status.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
t_run -- join --token-file "$TOK" --key-store software
t_expect "join" 0

# 0700 again, status.json unchanged: root's status opens the dir to users.
chmod 0700 "$STATE"
t_run -- status --json
t_check "root's status opens a state dir closed again (0700) to users (0711), status.json unchanged" \
    "$([ "$RC" -eq 0 ] && [ "$(stat -c %a "$STATE")" = 711 ]; echo $?)" \
    "exit $RC, mode $(stat -c %a "$STATE"): $(cat "$ERR")"

# A link planted at status.json: root's status replaces it, never writes
# through it (the target stays as it was).
echo "not drsjoin's" >"$T_WORK/target"
rm "$STATE/status.json"
ln -s "$T_WORK/target" "$STATE/status.json"
t_run -- status --json
t_check "a link at status.json: replaced by a file, its target untouched" \
    "$([ "$RC" -eq 0 ] && [ -f "$STATE/status.json" ] && [ ! -L "$STATE/status.json" ] &&
       [ "$(cat "$T_WORK/target")" = "not drsjoin's" ] &&
       [ "$(jget "$STATE/status.json" 'd["healthy"]')" = True ]; echo $?)" "exit $RC: $(cat "$ERR")"

# A FIFO planted at status.json: root's status neither blocks on it nor
# fails (it writes a file in its place); a status.json closed to users
# (0600: a restore, an admin's chmod) is made readable again, unchanged.
rm "$STATE/status.json"
mkfifo -m 0644 "$STATE/status.json"
RC=0
timeout 20 env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    "$DRSJOIN" status --json </dev/null >"$OUT" 2>"$ERR" || RC=$?
t_check "a FIFO at status.json: root's status does not block, exits 0, a file in its place" \
    "$([ "$RC" -eq 0 ] && [ -f "$STATE/status.json" ] && [ ! -p "$STATE/status.json" ]; echo $?)" \
    "exit $RC (124: blocked): $(cat "$ERR")"
# (a FIFO left, the next steps would block on it)
[ -p "$STATE/status.json" ] && rm "$STATE/status.json" && t_run -- status --json
chmod 0600 "$STATE/status.json"
t_run -- status --json
t_check "status.json 0600, unchanged: root's status makes it 0644 again" \
    "$([ "$RC" -eq 0 ] && [ "$(stat -c %a "$STATE/status.json")" = 644 ]; echo $?)" \
    "exit $RC, mode $(stat -c %a "$STATE/status.json"): $(cat "$ERR")"

# Root's status finds device.json damaged, then (stopped before it writes)
# a join --force replaces it: the new record's status.json stays healthy.
echo garbage >"$STATE/device.json"
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    DRSJOIN_TEST_STOP_AT=pubrec-update "$DRSJOIN" status --json \
    </dev/null >"$T_WORK/st.out" 2>"$T_WORK/st.err" &
spid=$!
i=0
while [ "$(ps -o stat= -p "$spid" 2>/dev/null | cut -c1)" != T ] && [ "$i" -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
t_check "status stops where it updates status.json" \
    "$([ "$(ps -o stat= -p "$spid" | cut -c1)" = T ]; echo $?)" "$(cat "$T_WORK/st.err")"
t_run -- join --force --token-file "$TOK" --key-store software
NEW=$(jget "$STATE/device.json" 'd["device_id"]')
kill -CONT "$spid"
src=0
wait "$spid" || src=$?
t_check "join --force over the damaged record while status waits" \
    "$([ "$RC" -eq 0 ] && [ "$src" -eq 7 ]; echo $?)" "join exit $RC, status exit $src: $(cat "$ERR" "$T_WORK/st.err")"
t_check "status.json still says the new device is healthy (status wrote nothing stale)" \
    "$([ "$(jget "$STATE/status.json" 'd["device_id"], d["healthy"]')" = "('$NEW', True)" ]; echo $?)" \
    "$(tr -d "\n" <"$STATE/status.json")"

# A leave killed past its commit point (the record gone, status.json not
# yet): root's status, not joined, takes what users read with it.
for at in remove-set-marked remove-record-unlinked; do
	t_run --env DRSJOIN_TEST_KILL_AT=$at -- leave --local-only
	lrc=$RC
	t_run -- status --json
	t_check "leave killed at $at, then root's status: not joined (exit 8), status.json gone" \
	    "$([ "$lrc" -eq 137 ] && [ "$RC" -eq 8 ] && [ ! -e "$STATE/status.json" ]; echo $?)" \
	    "leave exit $lrc, status exit $RC, status.json $(test -e "$STATE/status.json" && echo kept): $(cat "$ERR")"
	t_run -- join --token-file "$TOK" --key-store software
done

# A FIFO planted at device.json: refused as not a regular file, never waited on.
t_run -- leave --local-only
mkfifo -m 0600 "$STATE/device.json"
RC=0
timeout 20 env DRSJOIN_STATE_DIR="$STATE" "$DRSJOIN" status --json </dev/null >"$OUT" 2>"$ERR" || RC=$?
t_check "a FIFO at device.json: root's status does not block, exit 7 naming it" \
    "$([ "$RC" -eq 7 ] && grep -q "device.json: not a regular file" "$ERR"; echo $?)" \
    "exit $RC (124: blocked): $(cat "$ERR")"
rm -f "$STATE/device.json"

t_done
