#!/usr/bin/env bash
# join --device-code: pending -> slow_down -> approved, declined, expired,
# Ctrl-C; the countdown at a terminal, one line per state in a pipe.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
fresh() { STATE=$T_WORK/state-$1; }
no_identity() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }
POLLS=$T_WORK/polls.py
cat >"$POLLS" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("path", "").endswith("/oauth2/v2.0/token") and \
       (r.get("error") or {}).get("error") == sys.argv[2]:
        n += 1
print(n)
EOF
GAP=$T_WORK/gap.py
cat >"$GAP" <<'EOF'
import datetime, json, sys
polls = [json.loads(l) for l in open(sys.argv[1])]
polls = [r for r in polls if r.get("path", "").endswith("/oauth2/v2.0/token")]
t = lambda r: datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
i = max(k for k, r in enumerate(polls) if (r.get("error") or {}).get("error") == "slow_down")
print(int((t(polls[i + 1]) - t(polls[i])).total_seconds() * 1000) if i + 1 < len(polls) else -1)
EOF
# Polls answered with ERROR so far.
polls() { "$PY" "$POLLS" "$(emu_requests)" "$1"; }
# wait_for CMD...: until CMD succeeds (the drsjoin in the background must live).
wait_for() {
	local i=0
	until "$@"; do
		kill -0 "$BG" 2>/dev/null || return 1
		i=$((i + 1)); [ "$i" -lt 1200 ] || return 1
		sleep 0.05
	done
}
# Starts drsjoin --device-code in the background (pid BG), output in OUT/ERR.
start_bg() {
	env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
	    "$DRSJOIN" "$@" </dev/null >"$OUT" 2>"$ERR" &
	BG=$!
}
# The prompt and the state lines are notes, not errors: t_expect counts the rest.
finish_bg() {
	RC=0; wait "$BG" || RC=$?
	cp "$ERR" "$ERR.full"
	sed -i '/: To sign in, /d; /waiting for the sign-in (the code/d; /poll more slowly/d' "$ERR"
}

# --- pending -> slow_down -> success ------------------------------------
fresh ok
p0=$(polls authorization_pending)
start_bg -vvv join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
wait_for eval '[ "$(polls authorization_pending)" -gt "$p0" ]'
emu_fault --route token --oauth-error slow_down --count 1
wait_for eval '[ "$(polls slow_down)" -ge 1 ]'
emu_ctl approve --upn "alice@$EMU_TENANT_DOMAIN" >/dev/null
finish_bg
t_expect "device code: pending, slow_down, approved: joined" 0 "joined: device"
code=$(jget "$(last_request token)" 'd["body"]["grant_type"]')
ERR=$ERR.full
t_check "device code: the service's message with the user code, on stderr" \
    "$(grep -q 'To sign in, use a web browser to open the page https://.*/devicelogin and enter the code [A-Z0-9]\{9\}' "$ERR"; echo $?)"
t_check "device code in a pipe: one line per state, slow_down honoured" \
    "$(grep -q 'waiting for the sign-in (the code expires in 900 s; polling every 1 s)' "$ERR" &&
       grep -q 'the service asks to poll more slowly: every 6 s' "$ERR" &&
       grep -q 'login: signed in' "$ERR" && ! grep -q $'\r' "$ERR"; echo $?)"
t_check "device code at -vvv: the device code and the tokens redacted, no JWT on stderr" \
    "$(grep -q '"device_code": *"<redacted>"' "$ERR" && grep -q 'device_code=<redacted>' "$ERR" &&
       grep -q '"access_token": *"<redacted>"' "$ERR" &&
       ! grep -Eq 'eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.' "$ERR"; echo $?)"
# A lower bound only: the next poll came at least the slowed interval later.
t_check "slow_down: the next poll waited at least 1 + 5 s" \
    "$([ "$("$PY" "$GAP" "$(emu_requests)")" -ge 5900 ]; echo $?)"
t_check "device code: v2 endpoints, the device code grant, the broker client" \
    "$([ "$code" = urn:ietf:params:oauth:grant-type:device_code ] &&
       [ "$(jget "$(last_request token)" 'd["body"]["client_id"]')" = 29d9ed98-a469-4536-ade2-f981bc1d605e ] &&
       [ "$(jget "$(last_request token)" 'd["body"]["device_code"]')" = '<redacted>' ] &&
       [ "$(jget "$STATE/device.json" 'd["upn"]')" = "alice@$EMU_TENANT_DOMAIN" ]; echo $?)"

# --- declined ----------------------------------------------------------------
fresh declined
n=$(req_count join)
p0=$(polls authorization_pending)
start_bg -q join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
wait_for eval '[ "$(polls authorization_pending)" -gt "$p0" ]'
emu_ctl approve --deny >/dev/null
finish_bg
t_expect "device code declined: refused" 5 "was declined"
t_check "-q: the sign-in message still shows, the state lines do not" \
    "$(grep -q ': To sign in, use a web browser' "$ERR.full" &&
       ! grep -q 'waiting for the sign-in (' "$ERR.full"; echo $?)"
t_check "declined: no join request, nothing kept" "$([ "$(req_count join)" -eq "$n" ] && no_identity; echo $?)"

# --- expired -------------------------------------------------------------------
ERR=$T_WORK/err
fresh expired
emu_ctl config --device-code-lifetime 2 >/dev/null
start_bg join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
finish_bg
t_expect "device code expired before anyone signed in" 5 "the device code expired"
t_check "expired: nothing kept" "$(no_identity; echo $?)"
# An interval longer than the code's life: drsjoin gives up when the code
# expires, not one interval later (the bug waited the whole 60 s). A loose
# bound: far below the interval, far above the 2 s lifetime.
fresh expired-interval
emu_ctl config --device-code-lifetime 2 --device-code-interval 60 >/dev/null
t0=$(date +%s)
start_bg join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
finish_bg
t1=$(date +%s)
t_expect "device code expiring before its first poll: refused" 5 "the device code expired"
t_check "no wait beyond expires_in when the interval is longer (took $((t1 - t0)) s)" \
    "$([ $((t1 - t0)) -lt 40 ] && no_identity; echo $?)"
emu_ctl config --device-code-interval 1 >/dev/null
emu_ctl config --device-code-lifetime 900 >/dev/null
fresh expired-answer
p0=$(polls authorization_pending)
start_bg join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
wait_for eval '[ "$(polls authorization_pending)" -gt "$p0" ]'
emu_fault --route token --oauth-error expired_token --count 1
finish_bg
t_expect "expired_token from the service" 5 "the device code expired before anyone signed in"
t_check "expired_token: nothing kept" "$(no_identity; echo $?)"
# code_expired (another name for it in some answers) is the same, not a
# login failure with the service's text.
fresh code-expired
p0=$(polls authorization_pending)
start_bg join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
wait_for eval '[ "$(polls authorization_pending)" -gt "$p0" ]'
emu_fault --route token --oauth-error code_expired --count 1
finish_bg
t_expect "code_expired from the service: as expired_token" 5 \
    "the device code expired before anyone signed in; run drsjoin again for a new one"
t_check "code_expired: nothing kept" "$(no_identity; echo $?)"

# --- Ctrl-C ------------------------------------------------------------------
fresh sigint
p0=$(polls authorization_pending)
start_bg join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
wait_for eval '[ "$(polls authorization_pending)" -gt "$p0" ]'
kill -INT "$BG"
finish_bg
t_expect "Ctrl-C while waiting: exit 130" 130 "login: interrupted while waiting for the sign-in"
t_check "Ctrl-C: no staged keys left" "$(no_identity; echo $?)"

# Ctrl-C while a poll is on the wire, and that poll signs in: no join (the
# bug took the token and joined). The poll is held 20 s by the emulator; the
# fault is taken when the poll arrives, so an empty fault list means in flight.
fresh sigint-poll
n=$(req_count join)
p0=$(polls authorization_pending)
start_bg join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
wait_for eval '[ "$(polls authorization_pending)" -gt "$p0" ]'
emu_fault --route token --delay 20 --count 1
no_faults() {
	emu_ctl faults | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(1 if (d.get("faults") if isinstance(d, dict) else d) else 0)'
}
wait_for no_faults
emu_ctl approve >/dev/null
kill -INT "$BG"
finish_bg
t_expect "Ctrl-C during a poll that signs in: exit 130" 130 "login: interrupted while waiting for the sign-in"
t_check "Ctrl-C during a poll: no join request, nothing kept" \
    "$([ "$(req_count join)" -eq "$n" ] && no_identity; echo $?)"

# --- at a terminal: the countdown ------------------------------------------------
fresh tty
if command -v script >/dev/null 2>&1; then
	p0=$(polls authorization_pending)
	BG_CMD="env DRSJOIN_DISCOVERY_URL=$EMU_URL DRSJOIN_STATE_DIR=$STATE SSL_CERT_FILE=$EMU_CA $DRSJOIN join --device-code --tenant $EMU_TENANT_DOMAIN --key-store software"
	script -qfec "$BG_CMD" "$T_WORK/typescript" </dev/null >/dev/null 2>&1 &
	BG=$!
	wait_for eval '[ "$(polls authorization_pending)" -ge $((p0 + 2)) ]'
	emu_ctl approve >/dev/null
	finish_bg
	t_check "at a terminal: a live countdown redrawn in place, then joined" \
	    "$([ "$RC" -eq 0 ] && grep -q $'\rdrsjoin: waiting for the sign-in with code [A-Z0-9]*: 1[45]:[0-9][0-9] left' "$T_WORK/typescript" &&
	       grep -q 'joined: device' "$T_WORK/typescript" &&
	       ! grep -q 'polling every' "$T_WORK/typescript"; echo $?)"
else
	t_skip "at a terminal: a live countdown" "script(1) is not installed"
fi

# --- bad answers from the device code endpoint ------------------------------------
fresh dc-refused
emu_fault --route token --aadsts 700016 --count 1
t_run -- join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "device code request refused: the hint" 5 "check --client-id and --cloud"
fresh dc-html
emu_fault --route token --non-json --count 1
t_run -- join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "device code answer not JSON" 4 "login: the answer: not valid JSON"

# --- the service's message is escaped like every line --------------------
# Replays: the message went to stderr as the service sent it, so a line
# separator, a zero-width space or a right-to-left mark reached the
# terminal (bidi overrides and isolates are refused in any answer text).
fresh message
emu_ctl config --device-code-message $'Open {uri}\u2028and\u200b enter \u200f{code}\u2060 now.\ufeff\u2029' >/dev/null
p0=$(polls authorization_pending)
start_bg join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
wait_for eval '[ "$(polls authorization_pending)" -gt "$p0" ]'
emu_ctl approve >/dev/null
finish_bg
emu_ctl config --device-code-message '' >/dev/null
t_check "device code: the message's U+2028, U+200B, U+200F, U+2060, U+FEFF and U+2029 are escaped" \
    "$([ "$RC" -eq 0 ] && grep -q 'Open https://.*/devicelogin\\xe2\\x80\\xa8and\\xe2\\x80\\x8b enter \\xe2\\x80\\x8f[A-Z0-9]\{9\}\\xe2\\x81\\xa0 now\.\\xef\\xbb\\xbf\\xe2\\x80\\xa9' "$ERR.full" &&
       ! grep -qP '[\x{2028}\x{2029}\x{200b}\x{200f}\x{2060}\x{feff}]' "$ERR.full"; echo $?)" \
    "exit $RC; $(grep 'Open' "$ERR.full" | head -1)"

# --- the access token would expire in a 429's wait (issue 23): the
# sign-in's refresh token, kept in memory, gets a new one; nobody signs in
# again ---
fresh short-token
emu_ctl config --device-code-message "" --access-token-lifetime 15 >/dev/null
emu_fault --route join --status 429 --retry-after 20 --count 1
p0=$(polls authorization_pending)
nj=$(req_count join)
start_bg join --device-code --tenant "$EMU_TENANT_DOMAIN" --key-store software
wait_for eval '[ "$(polls authorization_pending)" -gt "$p0" ]'
emu_ctl approve --upn "alice@$EMU_TENANT_DOMAIN" >/dev/null
finish_bg
t_expect "device code, the token expiring in a 429's wait: joined" 0 "joined: device"
t_check "... a new token from the sign-in's refresh token after the wait, one sign-in, two POSTs" \
    "$(grep -q 'join: the access token expires at .*: getting a new one with the sign-in.s refresh token' "$ERR.full" &&
       [ "$(jget "$(last_request token)" 'd["body"]["grant_type"]')" = refresh_token ] &&
       [ "$(req_count join)" -eq $((nj + 2)) ] && [ -f "$STATE/device.json" ]; echo $?)" \
    "$(tail -n 3 "$ERR.full")"
emu_ctl config --access-token-lifetime 3600 >/dev/null
emu_fault clear

t_done
