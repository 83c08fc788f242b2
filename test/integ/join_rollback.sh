#!/usr/bin/env bash
# A join leaves no unnamed device in the tenant (issue 16): when the
# identity cannot be stored (a 12 KiB tmpfs state dir: the certificate
# does not fit), the device the service created is deleted again with the
# certificate and key held in memory, software and TPM; when that deletion
# fails too, the one error line names the device, the tenant and the
# client-request-id. SIGINT, SIGTERM and SIGHUP during the join request or
# the commit wait until the identity is stored or the device deleted, then
# exit 128+N saying which; a second signal aborts at once, naming the
# device. After each, every device the emulator holds is known to the state
# dir or named on stderr. (strace-injected EIO/ENOSPC at every commit step:
# crash.sh.)
. "$(dirname "$0")/../lib-integ.sh"

t_with_mounts

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

# A state dir on a 12 KiB tmpfs (a page a file): the two keys and the key
# set's machine.json fit, the certificate does not.
small_state() {
	STATE=$T_WORK/$1
	mkdir -p "$STATE"
	if ! mount -t tmpfs -o size=12k,mode=0700 tmpfs "$STATE" 2>"$T_WORK/mount.err"; then
		return 1
	fi
	MOUNTS+=("$STATE")
}

# The devices of the emulator, one id a line, sorted.
devices() {
	emu_ctl devices | $PY -c 'import json,sys
d=json.load(sys.stdin); d=d["devices"] if isinstance(d,dict) else d
print("\n".join(sorted(x["device_id"].lower() for x in d)))'
}

# Every device the emulator holds now and did not before ($1: a file of
# the ids before) is the state dir's or named on stderr as left in the
# tenant (not in a line saying it was deleted); prints what is not.
unnamed_devices() {
	local id rec=""
	[ -f "$STATE/device.json" ] && rec=$(jget "$STATE/device.json" 'd["device_id"].lower()')
	devices | comm -13 "$1" - | while read -r id; do
		[ "$id" = "$rec" ] || grep -iF "$id" "$ERR" | grep -qv 'was deleted' || echo "$id"
	done
}

# Waits (bounded) until the join request of process $1 went out: the
# emulator took its armed delay fault, then libcurl polls for the answer.
# (Before its first byte a signal is not held: stop.sh.)
wait_sent() {
	wait_fault_taken join || true
	wait_polling "$1" || true
}

# join in the background, stopped at the fault point $1; sets PID. A
# background job of a script starts with SIGINT ignored (and drsjoin keeps
# an ignored signal ignored, as for nohup): it gets the default back first.
join_bg() {
	local at=$1
	shift
	env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" \
	    SSL_CERT_FILE="$EMU_CA" DRSJOIN_TEST_STOP_AT="$at" "$@" \
	    $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$DRSJOIN" join --token-file "$TOK" --key-store software \
	    >"$OUT" 2>"$ERR" &
	PID=$!
}

if ! small_state tiny; then
	t_skip "a full state dir" "cannot mount a tmpfs: $(head -c 200 "$T_WORK/mount.err")"
	exit 0
fi

# 1. The commit fails: the device is deleted again.
devices >"$T_WORK/before"
dels=$(req_count delete)
t_run -- join --token-file "$TOK" --key-store software
t_expect "a full state dir: exit 7, the commit's error" 7 "No space left on device"
t_check "a full state dir: the line says the device was deleted again" \
    "$(grep -q '^drsjoin: join: .*; device [0-9a-f-]* was deleted from tenant [0-9a-f-]* again: nothing is joined$' "$ERR"; echo $?)" \
    "$(head -c 400 "$ERR")"
t_check "a full state dir: one DELETE, no device left in the emulator" \
    "$([ "$(req_count delete)" -eq $((dels + 1)) ] && [ "$(devices)" = "$(cat "$T_WORK/before")" ]; echo $?)"
t_check "a full state dir: no record, no key left" \
    "$([ ! -e "$STATE/device.json" ] && ! grep -rqs 'PRIVATE KEY' "$STATE"; echo $?)"
t_check "a full state dir: status says not joined" "$(t_run -- status; [ "$RC" -eq 8 ]; echo $?)"

# 2. The deletion fails too: the line names device, tenant, client-request-id.
emu_fault --route delete --status 403 --count 1
t_run -- join --token-file "$TOK" --key-store software
t_expect "a full state dir, the deletion refused: exit 7" 7 "No space left on device"
dev=$(grep -o 'device [0-9a-f-]\{36\} (tenant' "$ERR" | cut -d' ' -f2)
crid=$(jget "$(last_request join)" 'd["headers"]["client-request-id"]')
t_check "the deletion refused: the line names the device, the tenant, the client-request-id and what to do" \
    "$([ -n "$dev" ] && grep -qF "tenant $EMU_TENANT_ID, client-request-id $crid) stays in the tenant" "$ERR" &&
       grep -qF "delete it in the Entra admin center" "$ERR" && devices | grep -qx "$dev"; echo $?)" \
    "$(head -c 600 "$ERR")"
t_check "the deletion refused: no device the error does not name" \
    "$(u=$(unnamed_devices "$T_WORK/before"); [ -z "$u" ]; echo $?)"
emu_fault clear

# 3. TPM keys: the deletion authenticates with the TPM key.
if why=$(swtpm_available); then
	swtpm_start >/dev/null || t_fail "swtpm starts" "swtpm_start failed"
	small_state tiny-tpm
	devices >"$T_WORK/before"
	t_run --env "DRSJOIN_TCTI=$SWTPM_TCTI" -- join --token-file "$TOK" --key-store tpm
	t_expect "TPM keys, a full state dir: exit 7" 7 "again: nothing is joined"
	t_check "TPM keys: the device deleted with the TPM key, none left" \
	    "$([ "$(devices)" = "$(cat "$T_WORK/before")" ] &&
	       [ "$(jget "$(last_request delete)" 'd["status"]')" = 200 ]; echo $?)"
	swtpm_stop
else
	t_skip "TPM keys, a full state dir" "$why"
fi

# 4. Signals held over the request: SIGTERM while libcurl waits for the answer.
STATE=$T_WORK/sig-term
devices >"$T_WORK/before"
emu_fault --route join --delay 2 --count 1
join_bg join-post
if wait_stopped "$PID"; then
	kill -CONT "$PID"
	wait_sent "$PID"
	kill -TERM "$PID"
	RC=0; wait "$PID" || RC=$?
	t_expect "SIGTERM during the join request: exit 143 once joined" 143 \
	    "join: interrupted (SIGTERM) during the join: device"
	t_check "SIGTERM: the identity is kept, the line says so, status agrees" \
	    "$(grep -q 'and is kept' "$ERR" && t_run -- status && [ "$RC" -eq 0 ]; echo $?)"
	t_check "SIGTERM: no device the state dir does not know" \
	    "$(u=$(unnamed_devices "$T_WORK/before"); [ -z "$u" ] &&
	       [ "$(devices | wc -l)" -eq $(($(wc -l <"$T_WORK/before") + 1)) ]; echo $?)"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "SIGTERM during the join request" "drsjoin never stopped at join-post (a test build?)"
fi
emu_fault clear

# 5. SIGHUP during the request, and the commit fails: deleted again, 129.
# (Before the request's first byte a signal stops the join at once: stop.sh.)
small_state tiny-hup
devices >"$T_WORK/before"
emu_fault --route join --delay 2 --count 1
join_bg join-post
if wait_stopped "$PID"; then
	kill -CONT "$PID"
	wait_sent "$PID"
	kill -HUP "$PID"
	RC=0; wait "$PID" || RC=$?
	t_expect "SIGHUP during the request, the commit fails: exit 129" 129 \
	    "join: interrupted (SIGHUP); "
	t_check "SIGHUP: the line says the device was deleted again, none left" \
	    "$(grep -q 'again: nothing is joined' "$ERR" && [ "$(devices)" = "$(cat "$T_WORK/before")" ]; echo $?)"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "SIGHUP during the join request" "drsjoin never stopped at join-post"
fi
emu_fault clear

# An ignored SIGHUP (nohup) stays ignored: the join goes on, exit 0.
STATE=$T_WORK/sig-nohup
PID=
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    DRSJOIN_TEST_STOP_AT=join-post nohup "$DRSJOIN" join --token-file "$TOK" \
    --key-store software >"$OUT" 2>"$ERR" </dev/null &
PID=$!
if wait_stopped "$PID"; then
	kill -HUP "$PID"
	kill -CONT "$PID"
	RC=0; wait "$PID" || RC=$?
	t_check "under nohup, SIGHUP stays ignored: joined, exit 0" \
	    "$([ "$RC" -eq 0 ] && [ -f "$STATE/device.json" ]; echo $?)" "exit $RC: $(head -c 300 "$ERR")"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "under nohup" "drsjoin never stopped at join-post"
fi

# 6. SIGINT during the commit that succeeds: 130, kept.
STATE=$T_WORK/sig-int
devices >"$T_WORK/before"
join_bg join-commit
if wait_stopped "$PID"; then
	kill -INT "$PID"
	kill -CONT "$PID"
	RC=0; wait "$PID" || RC=$?
	t_expect "SIGINT during the commit: exit 130, joined and kept" 130 "and is kept"
	t_check "SIGINT: status shows the device the line names" \
	    "$(dev=$(jget "$STATE/device.json" 'd["device_id"]') && grep -qF "device $dev was joined" "$ERR" &&
	       t_run -- status && [ "$RC" -eq 0 ]; echo $?)"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "SIGINT during the commit" "drsjoin never stopped at join-commit"
fi

# 7. A second signal aborts at once, naming the device it leaves: SIGTERM
# once the answer is in (stopped at join-cert, held), then SIGINT at the
# commit: killed by the second, SIGINT, so exit 130 and nothing else.
STATE=$T_WORK/sig-twice
devices >"$T_WORK/before"
join_bg join-cert,join-commit
if wait_stopped "$PID"; then
	kill -TERM "$PID"
	kill -CONT "$PID"
	if wait_stopped "$PID"; then
		kill -INT "$PID"
		kill -CONT "$PID"
	fi
	RC=0; wait "$PID" || RC=$?
	t_check "two signals: killed by the second (SIGINT) at once: exit 130" \
	    "$([ "$RC" -eq 130 ]; echo $?)" "exit $RC"
	t_check "two signals: nothing stored, the line names the device left in the tenant" \
	    "$([ ! -e "$STATE/device.json" ] && grep -q 'interrupted twice: device [0-9a-f-]* was created in tenant' "$ERR" &&
	       u=$(unnamed_devices "$T_WORK/before") && [ -z "$u" ] &&
	       [ "$(devices | wc -l)" -eq $(($(wc -l <"$T_WORK/before") + 1)) ]; echo $?)" \
	    "$(head -c 400 "$ERR")"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "two signals" "drsjoin never stopped at join-cert"
fi

t_done
