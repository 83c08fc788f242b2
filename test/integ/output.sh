#!/usr/bin/env bash
# Output people read and scripts parse: two-space JSON with sorted keys and
# --compact; -v lines with timestamps and versions; progress on stderr at a
# terminal (script(1) gives one) for long waits, nothing extra in a pipe.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }

t_run -- discover --tenant "$EMU_TENANT_DOMAIN"
cp "$OUT" "$T_WORK/pretty.json"
t_check "JSON: two spaces per level, no tab, one value per line" \
    "$([ "$RC" -eq 0 ] && ! grep -q "$(printf '\t')" "$OUT" &&
       sed -n 2p "$OUT" | grep -q '^  "[a-z]' && grep -q '^    "id": "' "$OUT" &&
       [ "$(tail -n 1 "$OUT")" = "}" ]; echo $?)"
t_check "JSON: the members of every object sorted by key" \
    "$($PY -c 'import json,sys
def ok(v):
    if isinstance(v, dict):
        return list(v) == sorted(v) and all(ok(x) for x in v.values())
    return all(ok(x) for x in v) if isinstance(v, list) else True
sys.exit(0 if ok(json.load(open(sys.argv[1]))) else 1)' "$OUT"; echo $?)"
t_run -- --compact discover --tenant "$EMU_TENANT_DOMAIN"
t_check "--compact: one line, the same document" \
    "$([ "$RC" -eq 0 ] && [ "$(wc -l <"$OUT")" -eq 1 ] &&
       [ "$(jget "$OUT" 'json.dumps(d, sort_keys=True)')" = "$(jget "$T_WORK/pretty.json" 'json.dumps(d, sort_keys=True)')" ]; echo $?)"
# Feeding the indented document on: the next phase reads it.
t_run --in "$T_WORK/pretty.json" -- nonce
t_expect "an indented document reads back" 0

# -v: timestamps on the lines it adds; the first names the versions.
t_run -- discover --tenant "$EMU_TENANT_DOMAIN"
cp "$ERR" "$T_WORK/quiet.err"
t_run -- -v discover --tenant "$EMU_TENANT_DOMAIN"
ts='^drsjoin: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '
t_check "-v: the first line is timestamped and names drsjoin and its four libraries" \
    "$(head -n 1 "$ERR" | grep -Eq "${ts}drsjoin [0-9.]+ \\(Mbed TLS [0-9.]+; libcurl/[0-9.]+ .*; tpm2-tss [0-9.]+; cJSON [0-9.]+\\)\$"; echo $?)"
t_check "-v: every line -v adds carries a timestamp" \
    "$([ "$(grep -vxFf "$T_WORK/quiet.err" "$ERR" | grep -vEc "$ts")" -eq 0 ] &&
       [ "$(grep -Ec "$ts" "$ERR")" -ge 3 ]; echo $?)"
t_check "without -v: no timestamp" "$(! grep -Eq "$ts" "$T_WORK/quiet.err"; echo $?)"

if ! command -v script >/dev/null || ! command -v flock >/dev/null; then
	t_skip "progress at a terminal" "no script(1) or flock(1)"
	t_done; exit
fi
ESC=$(printf '\033')
# Waits (up to 120 s) until another process holds the state dir's lock.
lock_held() {
	local i
	for i in $(seq 1200); do
		flock -n "$STATE/.lock" true 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
# Runs drsjoin under script(1) (a terminal on stdin, stdout and stderr).
tty_run() {	# OUTFILE drsjoin-args...
	local f=$1; shift
	env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
	    script -qec "$(printf '%q ' "$DRSJOIN" "$@")" /dev/null </dev/null >"$f" 2>&1
}
# Waits (up to 120 s; the machine is loaded) until FILE holds TEXT.
wait_for() {
	local i
	for i in $(seq 1200); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# status at a terminal prints what device.json says; a tampered record must
# not drive the terminal.
STATE=$T_WORK/state-tty
t_run -- join --token-file "$(token_file)" --key-store software
$PY -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["display_name"]="x\u001b[31mred\u009bK\u0007\u202egnp"; json.dump(d,open(p,"w"))' \
    "$STATE/device.json"
tty_run "$T_WORK/tty" status
t_check "status at a terminal: control, C1 and bidi characters from the record escaped" \
    "$(grep -qF 'Display name:  x\x1b[31mred\xc2\x9bK\x07\xe2\x80\xaegnp' "$T_WORK/tty" &&
       ! grep -q "$(printf '\u202e')" "$T_WORK/tty" && ! grep -q "$ESC" "$T_WORK/tty" &&
       ! grep -q "$(printf '\a')" "$T_WORK/tty"; echo $?)" "$(cat -v "$T_WORK/tty" | head -5)"

# join and leave at a terminal: a short summary instead of the document
# (device id, tenant, user, key store); --json forces the JSON; -q prints
# nothing; the record's strings escaped as status escapes them.
STATE=$T_WORK/state-tty-join
tty_run "$T_WORK/tty" join --token-file "$(token_file --upn "alice@$EMU_TENANT_DOMAIN")" --key-store software
id=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "join at a terminal: the summary, not the document" \
    "$(grep -q '^Joined:        yes (join)' "$T_WORK/tty" && grep -q "^Device id:     $id" "$T_WORK/tty" &&
       grep -q "^Tenant:        $EMU_TENANT_DOMAIN ($EMU_TENANT_ID)" "$T_WORK/tty" &&
       grep -q "^User:          alice@$EMU_TENANT_DOMAIN" "$T_WORK/tty" &&
       grep -q '^Key store:     software' "$T_WORK/tty" && ! grep -q '[{}]' "$T_WORK/tty"; echo $?)" \
    "$(cat -v "$T_WORK/tty" | head -8)"
tty_run "$T_WORK/tty" join --json --token-file "$(token_file)"
t_check "join --json at a terminal: the document (already joined), no summary" \
    "$(grep -q "\"device_id\": \"$id\"" "$T_WORK/tty" && grep -q 'already joined as device' "$T_WORK/tty" &&
       ! grep -q '^Joined:' "$T_WORK/tty"; echo $?)" "$(cat -v "$T_WORK/tty" | head -5)"
tty_run "$T_WORK/tty" -q join --token-file "$(token_file)"
t_check "-q join at a terminal: nothing at all" "$([ ! -s "$T_WORK/tty" ]; echo $?)" "$(cat -v "$T_WORK/tty" | head -3)"
$PY -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["upn"]="x\u001b[31mred\u009bK"; json.dump(d,open(p,"w"))' \
    "$STATE/device.json"
tty_run "$T_WORK/tty" leave
t_check "leave at a terminal: the summary, the record's strings escaped" \
    "$(grep -q '^Joined:        no (left)' "$T_WORK/tty" && grep -q "^Device id:     $id" "$T_WORK/tty" &&
       grep -q '^Service:       deleted from the tenant' "$T_WORK/tty" &&
       grep -qF 'User:          x\x1b[31mred\xc2\x9bK' "$T_WORK/tty" && ! grep -q "$ESC" "$T_WORK/tty" &&
       ! grep -q '[{}]' "$T_WORK/tty" && [ ! -e "$STATE/device.json" ]; echo $?)" "$(cat -v "$T_WORK/tty" | head -8)"
tty_run "$T_WORK/tty" leave --if-joined; rc=$?
t_check "leave --if-joined at a terminal, not joined: says so, exit 0" \
    "$([ "$rc" -eq 0 ] && grep -q '^Joined:        no (was not joined: nothing to do)' "$T_WORK/tty" &&
       grep -q 'leave: not joined; nothing to do (--if-joined)' "$T_WORK/tty"; echo $?)" "$(cat -v "$T_WORK/tty" | head -3)"
tty_run "$T_WORK/tty" leave --if-joined --json
t_check "leave --if-joined --json at a terminal: the JSON" \
    "$(grep -q '"service": "not_contacted"' "$T_WORK/tty" && grep -q '"joined": false' "$T_WORK/tty"; echo $?)"
STATE=$T_WORK/state

# A retry with backoff: a countdown at a terminal.
emu_fault --route discover --status 503 --retry-after 2 --count 1 >/dev/null
tty_run "$T_WORK/tty" discover --tenant "$EMU_TENANT_DOMAIN"
t_check "retry at a terminal: a countdown on the same line, cleared after" \
    "$(grep -Eq 'server answered 503, retrying in (2(\.[0-9])?|3) s' "$T_WORK/tty" &&
       tr '\r' '\n' <"$T_WORK/tty" | grep -aq "^$ESC\\[Kdrsjoin: discover: retrying in [123] s \$" &&
       [ "$(tr '\r' '\n' <"$T_WORK/tty" | grep -a '{$' | head -n 1)" = "$ESC[K{" ]; echo $?)"
emu_fault --route discover --status 503 --retry-after 1 --count 1 >/dev/null
t_run -- discover --tenant "$EMU_TENANT_DOMAIN"
t_check "retry in a pipe: the one note line, no countdown" \
    "$([ "$RC" -eq 0 ] && [ "$(wc -l <"$ERR")" -eq 1 ] && grep -Eq 'retrying in (1(\.[0-9])?|2) s' "$ERR" &&
       ! grep -q "$(printf '[\r\033]')" "$ERR"; echo $?)"

# A slow key generation (a TPM can take many seconds): a spinner after a
# second. The test build's hook holds keygen until the test has seen it.
mkfifo "$T_WORK/keygen-release"
DRSJOIN_TEST_KEYGEN_WAIT_FD=7 tty_run "$T_WORK/tty-keygen" keygen --key-store software \
    7< <(cat "$T_WORK/keygen-release") &
runner=$!
if wait_for "$T_WORK/tty-keygen" "keygen: making the keys"; then
	echo >"$T_WORK/keygen-release"
	wait "$runner"; rc=$?
	t_check "slow keygen at a terminal: a spinner, cleared, then the document" \
	    "$([ "$rc" -eq 0 ] &&
	       tr '\r' '\n' <"$T_WORK/tty-keygen" | grep -aEq "^$ESC\\[Kdrsjoin: keygen: making the keys [|/\\\\-]\$" &&
	       [ "$(tr '\r' '\n' <"$T_WORK/tty-keygen" | grep -a '{$' | head -n 1)" = "$ESC[K{" ]; echo $?)"
else
	echo >"$T_WORK/keygen-release"; wait "$runner"
	t_fail "slow keygen at a terminal: a spinner" "none in 120 s: $(cat -v "$T_WORK/tty-keygen" | head -5)"
fi
# In a pipe: held 1.5 s, longer than the spinner's delay (a slower machine
# only holds it longer).
t_run --env DRSJOIN_TEST_KEYGEN_WAIT_FD=7 -- keygen --key-store software 7< <(sleep 1.5)
t_check "slow keygen in a pipe: no spinner, no extra line" \
    "$([ "$RC" -eq 0 ] && [ ! -s "$ERR" ]; echo $?)" "$(cat -v "$ERR" | head -3)"

# A lock held by another run: a spinner until it is released.
mkdir -p "$STATE"; chmod 700 "$STATE"
mkfifo "$T_WORK/release"
flock "$STATE/.lock" -c "cat '$T_WORK/release' >/dev/null" &
holder=$!
lock_held
tty_run "$T_WORK/tty-lock" keygen --key-store software &
runner=$!
if wait_for "$T_WORK/tty-lock" "waiting for the lock"; then
	echo >"$T_WORK/release"
	wait "$runner"; rc=$?
	t_check "lock held elsewhere, at a terminal: a spinner, then the run goes on" \
	    "$([ "$rc" -eq 0 ] && grep -q "waiting for another drsjoin using $STATE" "$T_WORK/tty-lock" &&
	       tr '\r' '\n' <"$T_WORK/tty-lock" | grep -aEq "^$ESC\\[Kdrsjoin: waiting for the lock [|/\\\\-]\$" &&
	       grep -q '"schema": "drsjoin/1"' "$T_WORK/tty-lock"; echo $?)"
else
	echo >"$T_WORK/release"; wait "$runner"
	t_fail "lock held elsewhere, at a terminal: a spinner" "no spinner in 120 s: $(cat -v "$T_WORK/tty-lock" | head -5)"
fi
wait "$holder"
flock "$STATE/.lock" -c "cat '$T_WORK/release' >/dev/null" &
holder=$!
lock_held
t_run -- keygen --key-store software &
runner=$!
if wait_for "$ERR" "waiting for another drsjoin"; then
	echo >"$T_WORK/release"
	wait "$runner"
	t_check "lock held elsewhere, in a pipe: the one note line, no spinner" \
	    "$([ "$(wc -l <"$ERR")" -eq 1 ] && ! grep -q "$(printf '[\r\033]')" "$ERR" &&
	       [ "$(jget "$OUT" 'd["keys"]["store"]')" = software ]; echo $?)"
else
	echo >"$T_WORK/release"; wait "$runner"
	t_fail "lock held elsewhere, in a pipe" "no note in 120 s"
fi
wait "$holder"
t_done
