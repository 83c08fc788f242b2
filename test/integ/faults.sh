#!/usr/bin/env bash
# What the service can do wrong, and what drsjoin then says and keeps.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
fresh() { STATE=$T_WORK/state-$1; }
no_identity() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }

fresh unknown
t_run -- discover --tenant fabrikam.example
t_expect "unknown tenant: refused" 5 "discover: server answered 404"

# Without the nonce (with it, a refused join is sent once more without it: nonce.sh).
fresh 500
emu_fault --route join --status 500 --count 1 >/dev/null
n=$(req_count join)
t_run -- join --token-file "$TOK" --key-store software --nonce off
t_expect "join answered 500: not resent, a device may exist" 5 \
    "join: server answered 500 InternalServerError"
t_check "join answered 500: one POST, the error says how to find the device" \
    "$([ "$(req_count join)" -eq $((n + 1)) ] &&
       grep -q 'a device may have been created: look for this client-request-id' "$ERR" &&
       no_identity; echo $?)"
for st in 502 504; do
	fresh "$st"
	emu_fault --route join --status "$st" --count 1 >/dev/null
	n=$(req_count join)
	t_run -- join --token-file "$TOK" --key-store software --nonce off
	t_expect "join answered $st: not resent" 5 "a device may have been created"
	t_check "join answered $st: one POST" "$([ "$(req_count join)" -eq $((n + 1)) ]; echo $?)"
done
fresh 500nonce
emu_fault --route nonce --status 500 --count 1 >/dev/null
n=$(req_count nonce)
t_run -- join --token-file "$TOK" --key-store software
t_expect "a GET answered 500 is retried" 0
t_check "nonce 500 then success: retried once, said so" \
    "$([ "$(req_count nonce)" -eq $((n + 2)) ] && grep -q 'nonce: server answered 500, retrying' "$ERR"; echo $?)"
fresh 503join
emu_fault --route join --status 503 --retry-after 1 --count 1 >/dev/null
n=$(req_count join)
t_run -- join --token-file "$TOK" --key-store software
t_expect "join answered 503 (not processed): resent, joins" 0
t_check "join answered 503: two POSTs, the same nonce still good" \
    "$([ "$(req_count join)" -eq $((n + 2)) ] &&
       [ "$(jget "$(last_request join)" 'd.get("nonce")')" = valid ]; echo $?)"
fresh 429join
emu_fault --route join --status 429 --retry-after 1 --count 1 >/dev/null
n=$(req_count join)
t_run -- join --token-file "$TOK" --key-store software
t_expect "join answered 429: resent, joins" 0
t_check "join answered 429: two POSTs" "$([ "$(req_count join)" -eq $((n + 2)) ]; echo $?)"

fresh 429
emu_fault --route nonce --status 429 --retry-after 1 --count 1 >/dev/null
start=$(date +%s%N)
t_run -- join --token-file "$TOK" --key-store software
t_expect "429 with Retry-After, then success" 0
t_check "429: waited the Retry-After second, plus jitter" \
    "$([ $(( ($(date +%s%N) - start) / 1000000 )) -ge 1000 ] &&
       grep -Eq 'nonce: server answered 429, retrying in (1(\.[0-9])?|2) s' "$ERR"; echo $?)"

fresh 503
emu_fault --route join --status 503 --retry-after 1 --count 50 >/dev/null
start=$(date +%s)
t_run -- --attempts 3 join --token-file "$TOK" --key-store software
t_expect "503 for ever: gives up, throttled (exit 4)" 4 "join: server answered 503 ServiceUnavailable"
t_check "503 for ever: within the bound, after 3 attempts, throttled, nothing kept" \
    "$([ $(($(date +%s) - start)) -lt 15 ] && grep -q 'throttled: gave up after 3 attempts' "$ERR" && no_identity; echo $?)"
emu_fault clear >/dev/null

fresh retry-after-long
emu_fault --route discover --status 503 --retry-after 600 --count 1 >/dev/null
t_run -- join --token-file "$TOK" --key-store software
t_expect "Retry-After beyond --max-wait: gives up at once, throttled" 4 \
    "throttled: it asks to retry after 600 s, more than the 120 s left of the 120 s drsjoin waits in all (--max-wait)"

fresh truncated
emu_fault --route nonce --truncate --count 10 >/dev/null
t_run -- join --token-file "$TOK" --key-store software --nonce require
t_expect "truncated answer" 4 "nonce:"
t_check "truncated answer: nothing kept" "$(no_identity; echo $?)"
emu_fault clear >/dev/null

fresh lostjoin
n=$(req_count join)
emu_fault --route join --truncate --count 1 >/dev/null
t_run -- join --token-file "$TOK" --key-store software
t_expect "join answer lost: not resent with a spent nonce" 4 "join: the answer from"
t_check "join answer lost: one join request only, nothing kept" \
    "$([ "$(req_count join)" -eq $((n + 1)) ] && no_identity; echo $?)"
emu_fault --route join --truncate --count 1 >/dev/null
n=$(req_count join)
t_run -- join --token-file "$TOK" --key-store software --no-nonce
t_expect "join answer lost, no nonce: not resent either" 4 "a device may have been created"
t_check "join answer lost, no nonce: one POST" \
    "$([ "$(req_count join)" -eq $((n + 1)) ]; echo $?)"

fresh nonjson
emu_fault --route discover --non-json --count 1 >/dev/null
t_run -- join --token-file "$TOK" --key-store software
t_expect "non-JSON answer" 4 "discover: the answer: not valid JSON"

fresh nonjson500
emu_fault --route join --non-json --status 502 --count 10 >/dev/null
t_run -- --attempts 2 join --token-file "$TOK" --key-store software --nonce off
t_expect "non-JSON error page: status and first bytes" 5 "join: server answered 502, not JSON"
emu_fault clear >/dev/null

fresh drop
emu_fault --route discover --drop --count 1 >/dev/null
t_run -- join --token-file "$TOK" --key-store software
t_expect "a dropped connection is retried" 0

# Its -v lines in the order they always came: the note, then the wait drawn.
fresh dropv
emu_fault --route discover --drop --count 1 >/dev/null
t_run -- -v join --token-file "$TOK" --key-store software
t_expect "a dropped connection is retried (-v)" 0
t_check "a dropped connection (-v): 'retrying in' before its 'waiting N ms'" \
    "$(awk '/discover: .*retrying in/ && !n { n = NR }
        /discover: waiting [0-9]+ ms \(backoff, jittered\)/ && !w { w = NR }
        END { exit !(n && w && n < w) }' "$ERR"; echo $?)"

fresh wrongkey
n=$(emu_device_count)
emu_fault --route join --wrong-key-cert --count 1 >/dev/null
t_run -- join --token-file "$TOK" --key-store software
t_expect "certificate for another key: refused" 4 "join: the certificate's public key is not the device key"
t_check "certificate for another key: nothing committed" "$(no_identity; echo $?)"

fresh netdown
t_run --env DRSJOIN_DISCOVERY_URL=https://127.0.0.1:9 -- --attempts 1 join --token-file "$TOK" --key-store software
t_expect "unreachable service: names the host" 4 "cannot connect to 127.0.0.1:9"

# State dir problems are local I/O errors, found before any traffic.
n=$(req_count)
: >"$T_WORK/plainfile"
STATE=$T_WORK/plainfile
t_run -- join --token-file "$TOK" --key-store software
t_expect "state dir is a file" 7 "$T_WORK/plainfile: not a directory"
STATE=$T_WORK/plainfile/sub
t_run -- join --token-file "$TOK" --key-store software
t_expect "state dir under a file" 7 "$T_WORK/plainfile/sub: $T_WORK/plainfile: not a directory"
ln -s "$T_WORK" "$T_WORK/link"
STATE=$T_WORK/link
t_run -- join --token-file "$TOK" --key-store software
t_expect "state dir is a symlink" 7 "$T_WORK/link: a symbolic link, refused"
t_check "state dir problems: no request sent" "$([ "$(req_count)" -eq "$n" ]; echo $?)"

# SIGKILL at each step of a commit, deterministically: test/integ/crash.sh.
# Here, a kill while the join request is in flight.
fresh kill
t_run -- join --token-file "$TOK" --key-store software
t_expect "kill: first identity" 0
emu_fault --route join --delay 3 --count 1 >/dev/null
sum=$(sha256sum "$STATE/device.json")
DRSJOIN_DISCOVERY_URL=$EMU_URL DRSJOIN_STATE_DIR=$STATE SSL_CERT_FILE=$EMU_CA \
    "$DRSJOIN" -q join --token-file "$TOK" --key-store software --force >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -9 "$pid"; wait "$pid" 2>/dev/null
t_check "SIGKILL while the join request is in flight: device.json untouched" \
    "$([ "$(sha256sum "$STATE/device.json")" = "$sum" ]; echo $?)"
t_check "SIGKILL leaves staged keys behind (to be cleaned)" \
    "$([ -n "$(ls -A "$STATE/staging")" ]; echo $?)"
emu_fault clear >/dev/null
t_run -- join --token-file "$TOK" --key-store software
t_expect "the next run succeeds" 0 "already joined"
t_check "the next run cleans the staging area and orphans" \
    "$([ -z "$(ls -A "$STATE/staging")" ] &&
       [ "$(ls "$STATE/identity" | wc -l)" -eq 1 ] && ! ls "$STATE" | grep -q tmp; echo $?)"

t_done
