#!/usr/bin/env bash
# No duplicate joins: the join POST is never sent twice by the HTTP layer.
# Replays issue 10: a server that reads the POST on a reused (kept-alive)
# connection and closes without answering got the POST twice, because
# libcurl silently resends on a dead reused connection.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
LOG=$T_WORK/posts.log
: >"$LOG"
"$PY" "$DRSJOIN_TOP/test/integ/close-on-post.py" "$EMU_DIR/tls-server.pem" \
    "$EMU_DIR/tls-server.key" "$EMU_TENANT_ID" "$LOG" >"$T_WORK/port" &
SRV=$!
trap 'kill $SRV 2>/dev/null; t_cleanup' EXIT
while [ ! -s "$T_WORK/port" ]; do
	kill -0 "$SRV" 2>/dev/null || { t_fail "test server starts" "it exited"; exit 1; }
	sleep 0.05
done
PORT=$(cat "$T_WORK/port")

STATE=$T_WORK/state-close
t_run -- --discovery-url "https://127.0.0.1:$PORT" join --token-file "$TOK" --key-store software
t_expect "a join POST answered by a closed connection fails" 4 \
    "a device may have been created: look for this client-request-id"
t_check "the POST reached the server exactly once" "$([ "$(wc -l <"$LOG")" -eq 1 ]; echo $?)" \
    "$(wc -l <"$LOG") POSTs: $(cat "$LOG")"
t_check "the POST went on a connection of its own" \
    "$(grep -q 'request-on-connection=1 ' "$LOG"; echo $?)"
crid=$(sed -n 's/.*crid=//p' "$LOG" | head -1)
t_check "the error names the client-request-id the server got" \
    "$([ -n "$crid" ] && grep -qF "client-request-id $crid" "$ERR"; echo $?)"
t_check "nothing was committed, no staged keys left" \
    "$([ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; echo $?)"

t_done
