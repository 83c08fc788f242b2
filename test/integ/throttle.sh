#!/usr/bin/env bash
# A throttled service (429/503 with Retry-After): drsjoin waits at least the
# Retry-After plus a random extra, within --attempts and --max-wait, says at
# -v what it chose and waited in all, and gives up "throttled" with exit 4.
# No timing is asserted but lower bounds a sleep guarantees.
. "$(dirname "$0")/../lib-integ.sh"

# join's bucket: one at once, then one every 4 s. Two joins started
# together: one POST takes the token, the other is answered 429 with
# Retry-After: S (1 to 4 s, by how far apart they came), waits, and joins.
emu_start --throttle join=0.25:1 >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
fresh() { STATE=$T_WORK/state-$1; }
no_identity() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }
# The waits -v says it chose (in ms, one a line) in file $2 for phase $1.
waits() { sed -n "s/.*$1: waiting \([0-9]*\) ms (Retry-After.*/\1/p" "${2:-$ERR}"; }

n=$(emu_device_count)
pids=
for i in 1 2; do
	DRSJOIN_DISCOVERY_URL=$EMU_URL DRSJOIN_STATE_DIR=$T_WORK/state-pair$i SSL_CERT_FILE=$EMU_CA \
	    "$DRSJOIN" -v join --token-file "$TOK" --key-store software </dev/null \
	    >"$T_WORK/pair$i.out" 2>"$T_WORK/pair$i.err" &
	pids="$pids $!"
done
rcs=
for p in $pids; do rc=0; wait "$p" || rc=$?; rcs="$rcs$rc"; done
# From the emulator's log: the refusal's Retry-After, and the ms from it to
# the next POST with the same client-request-id (the refused one's retry).
refusal=$("$EMU_PYTHON" -c '
import datetime, json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["route"] == "join"]
t = [x for x in r if x.get("throttled")]
if len(t) != 1 or t[0]["status"] != 429:
    sys.exit("refusals: %r" % t)
rid = t[0]["headers"]["client-request-id"]
same = [x for x in r if x["headers"].get("client-request-id") == rid]
ts = [datetime.datetime.strptime(x["time"], "%Y-%m-%dT%H:%M:%S.%fZ") for x in same]
print(t[0]["throttled"]["retry_after"], rid, len(same), same[-1]["status"],
      int((ts[-1] - ts[0]).total_seconds() * 1000))' "$(emu_requests)")
read -r ra rid posts last gap <<<"$refusal"
who=$(grep -l "client-request-id: $rid" "$T_WORK"/pair[12].err | head -n 1)
w=$(waits join "$who")
t_check "throttled emulator: two joins at once both join, one after a 429" \
    "$([ "$rcs" = 00 ] && [ "$(emu_device_count)" -eq $((n + 2)) ] && [ -n "$ra" ] &&
       [ "$posts" = 2 ] && [ "$last" = 200 ]; echo $?)" "exits $rcs, refusal '$refusal'"
t_check "throttled join: waited at least the Retry-After, at most 1 s more, said so at -v" \
    "$([ -n "$w" ] && [ "$(printf '%s\n' "$w" | wc -l)" -eq 1 ] && [ "$w" -ge $((ra * 1000)) ] &&
       [ "$w" -le $((ra * 1000 + 1000)) ] &&
       [ "$gap" -ge $((ra * 1000)) ] &&
       grep -q 'join: server answered 429, retrying in' "$who" &&
       grep -Eq 'join: waited [0-9.]+ s in all over 2 attempts \(this run: [0-9.]+ s of at most 120 s, --max-wait\)' "$who"
       echo $?)" "Retry-After '$ra', wait '$w', gap '$gap' ms"
emu_ctl config --no-throttle join >/dev/null

# The spread: one 429 with Retry-After: 1 for each of several joins, each
# its own process; the waits they chose (at -v) differ and stay in
# [1000, 2000] ms. No clock is read: -v says what each drew.
all=
for i in 1 2 3 4 5 6; do
	fresh "spread$i"
	emu_fault --route join --status 429 --retry-after 1 --count 1 >/dev/null
	t_run -- -v join --token-file "$TOK" --key-store software
	[ "$RC" -eq 0 ] || break
	all="$all $(waits join)"
done
# shellcheck disable=SC2086 # one word a wait
set -- $all
t_check "jitter: 6 processes throttled alike chose waits within [1000, 2000] ms, spread out" \
    "$([ "$#" -eq 6 ] && printf '%s\n' "$@" | awk '$1 < 1000 || $1 > 2000 { bad = 1 }
         { if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 }
         END { exit bad || max - min < 100 }' &&
       [ "$(printf '%s\n' "$@" | sort -u | wc -l)" -ge 4 ]; echo $?)" "waits:$all"

# Refused again and again: the extra's window doubles with each 429 of
# the same request (1, 2, 4 s), Retry-After staying the floor.
fresh growing
emu_fault --route join --status 429 --retry-after 1 --count 3 >/dev/null
t_run -- -v --attempts 4 join --token-file "$TOK" --key-store software
# shellcheck disable=SC2046 # one word a wait
set -- $(waits join)
t_check "429 three times: waits in [1000, 2000], [1000, 3000], [1000, 5000] ms, then joins" \
    "$([ "$RC" -eq 0 ] && [ "$#" -eq 3 ] && [ "$1" -ge 1000 ] && [ "$1" -le 2000 ] &&
       [ "$2" -ge 1000 ] && [ "$2" -le 3000 ] && [ "$3" -ge 1000 ] && [ "$3" -le 5000 ]; echo $?)" \
    "rc $RC, waits: $*"
emu_fault clear >/dev/null

# No Retry-After: the backoff, jittered too.
fresh backoff
emu_fault --route join --status 503 --count 1 >/dev/null
t_run -- -v join --token-file "$TOK" --key-store software
w=$(sed -n 's/.*join: waiting \([0-9]*\) ms (backoff, jittered).*/\1/p' "$ERR")
t_check "503 without Retry-After: a jittered backoff in [500, 1000] ms, then joins" \
    "$([ "$RC" -eq 0 ] && [ -n "$w" ] && [ "$w" -ge 500 ] && [ "$w" -le 1000 ]; echo $?)" "rc $RC, wait '$w'"

# Giving up: exit 4, "throttled", nothing kept, the POST not sent again.
fresh maxwait
emu_fault --route join --status 429 --retry-after 100 --count 1 >/dev/null
n=$(req_count join)
t_run -- --max-wait 5 join --token-file "$TOK" --key-store software
t_expect "Retry-After beyond --max-wait: gives up at once, exit 4" 4 \
    "throttled: it asks to retry after 100 s, more than the 5 s left of the 5 s drsjoin waits in all (--max-wait)"
t_check "Retry-After beyond --max-wait: one POST, nothing kept" \
    "$([ "$(req_count join)" -eq $((n + 1)) ] && no_identity; echo $?)"
emu_fault clear >/dev/null

fresh attempts
emu_fault --route join --status 429 --retry-after 1 --count 5 >/dev/null
n=$(req_count join)
t_run -- --attempts 2 join --token-file "$TOK" --key-store software
t_expect "429 past --attempts: exit 4, throttled" 4 \
    "join: server answered 429 DirectoryError"
t_check "429 past --attempts: the line says throttled and the wait, two POSTs, nothing kept" \
    "$(grep -Eq 'throttled: gave up after 2 attempts \(--attempts\), having waited [12](\.[0-9])? s in all' "$ERR" &&
       [ "$(req_count join)" -eq $((n + 2)) ] && no_identity; echo $?)"
emu_fault clear >/dev/null

# The whole run's budget: the second request may wait only what is left.
fresh budget
emu_fault --route discover --status 503 --retry-after 2 --count 1 >/dev/null
emu_fault --route join --status 429 --retry-after 2 --count 1 >/dev/null
t_run -- --max-wait 3 join --token-file "$TOK" --key-store software
t_expect "--max-wait counts every request's waits: join's 2 s no longer fit" 4 \
    "join: server answered 429 DirectoryError"
t_check "--max-wait over the run: throttled, the left time named, nothing kept" \
    "$(grep -Eq 'throttled: it asks to retry after 2 s, more than the (0|1)(\.[0-9])? s left of the 3 s' "$ERR" &&
       no_identity; echo $?)"
emu_fault clear >/dev/null

# The login service throttled too (a fleet's BPRTs redeemed at once): the
# exchange gives up "throttled", exit 4, as the DRS routes do, not "refused".
BPRT=$T_WORK/bprt
emu_token --bprt >"$BPRT"
chmod 600 "$BPRT"
fresh login-maxwait
emu_fault --route token --status 429 --retry-after 100 --count 1 >/dev/null
n=$(req_count join)
t_run -- --max-wait 5 join --bprt-file "$BPRT" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "login 429, Retry-After beyond --max-wait: exit 4, throttled" 4 "throttled"
t_check "login 429 beyond --max-wait: no join POST, nothing kept" \
    "$([ "$(req_count join)" -eq "$n" ] && no_identity; echo $?)"
emu_fault clear >/dev/null
fresh login-attempts
emu_fault --route token --status 503 --retry-after 1 --count 5 >/dev/null
t_run -- --attempts 2 join --bprt-file "$BPRT" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "login 503 past --attempts: exit 4, throttled" 4 "throttled"
t_check "login 503 past --attempts: nothing kept" "$(no_identity; echo $?)"
emu_fault clear >/dev/null

fresh usage
for bad in 0 3601 x ""; do
	t_run -- --max-wait "$bad" status
	t_expect "--max-wait '$bad' refused" 2 "--max-wait: '$bad' is not a whole number from 1 to 3600"
done
t_done
