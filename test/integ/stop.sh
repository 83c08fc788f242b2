#!/usr/bin/env bash
# A stop request is obeyed at once when no device can exist (issue 23):
# SIGINT, SIGTERM and SIGHUP are held only while a join request is in
# flight (from its first byte) and over the commit or rollback
# (join_rollback.sh). In a wait between attempts (a 429 asking for 30 s),
# and before any byte of the POST went out, the join stops at once: exit
# 128+N, one line saying "no device was created", no further POST, no
# device in the emulator, nothing kept. A second signal's line says what
# was in flight: nothing. No timing is asserted but "well before the
# wait would have ended".
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
fresh() { STATE=$T_WORK/state-$1; }
nothing_kept() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }

# join in the background, extra env first; sets PID. A background job of a
# script starts with SIGINT ignored (and drsjoin keeps an ignored signal
# ignored, as for nohup): it gets the default back first.
join_bg() {
	: >"$ERR"	# now: the job's own redirection comes later
	env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" \
	    SSL_CERT_FILE="$EMU_CA" "$@" \
	    $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$DRSJOIN" join --token-file "$TOK" --key-store software \
	    </dev/null >"$OUT" 2>"$ERR" &
	PID=$!
}

# Waits (bounded, 20 s) until stderr says the join waits to retry.
wait_retrying() {
	local i
	for i in $(seq 400); do
		grep -q 'join: server answered 429, retrying in' "$ERR" 2>/dev/null && return 0
		kill -0 "$PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# 1. The reproduction: 429 with Retry-After: 30, SIGTERM in the wait.
for sig in TERM INT HUP; do
	case $sig in TERM) code=143 ;; INT) code=130 ;; HUP) code=129 ;; esac
	fresh "wait-$sig"
	emu_fault --route join --status 429 --retry-after 30 --count 1
	n=$(req_count join)
	d=$(emu_device_count)
	join_bg
	if wait_retrying; then
		t0=$(date +%s)
		kill -"$sig" "$PID"
		RC=0; wait "$PID" || RC=$?
		took=$(($(date +%s) - t0))
		t_expect "SIG$sig in the wait after a 429: exit $code at once" "$code" \
		    "join: interrupted (SIG$sig) while waiting to send the request again: no device was created"
		t_check "SIG$sig in the wait: stopped well before the 30 s, no second POST, no device, nothing kept" \
		    "$([ "$took" -lt 15 ] && [ "$(req_count join)" -eq $((n + 1)) ] &&
		       [ "$(emu_device_count)" -eq "$d" ] && nothing_kept; echo $?)" \
		    "took $took s, POSTs $(($(req_count join) - n)), devices $(emu_device_count) (was $d)"
	else
		kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
		t_fail "SIG$sig in the wait after a 429" "drsjoin never said it waits to retry"
	fi
	emu_fault clear
done

# 2. Two signals in the wait: the second kills at once, and its line says
# what was in flight: nothing. (Stopped, the process gets both at its
# SIGCONT, Linux the lower-numbered first: SIGINT, then SIGTERM.)
fresh wait-twice
emu_fault --route join --status 429 --retry-after 30 --count 1
n=$(req_count join)
d=$(emu_device_count)
join_bg
if wait_retrying; then
	kill -STOP "$PID"
	kill -TERM "$PID"
	kill -INT "$PID"
	kill -CONT "$PID"
	RC=0; wait "$PID" || RC=$?
	t_check "two signals in the wait: killed by the second (SIGTERM, 143), the line says no device was created" \
	    "$([ "$RC" -eq 143 ] && [ "$(grep -c 'interrupted' "$ERR")" -eq 1 ] &&
	       grep -q '^drsjoin: join: interrupted twice while waiting to send the request again: no device was created$' "$ERR" &&
	       ! grep -q 'may have been created' "$ERR"; echo $?)" "exit $RC: $(tail -n 2 "$ERR" | tr '\n' ' ')"
	t_check "two signals in the wait: one POST, no device" \
	    "$([ "$(req_count join)" -eq $((n + 1)) ] && [ "$(emu_device_count)" -eq "$d" ] &&
	       [ ! -e "$STATE/device.json" ]; echo $?)"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "two signals in the wait" "drsjoin never said it waits to retry"
fi
emu_fault clear

# 3. A signal before any byte of the POST went out (stopped just before
# http_send): no POST at all.
fresh before-post
n=$(req_count join)
d=$(emu_device_count)
join_bg DRSJOIN_TEST_STOP_AT=join-post
if wait_stopped "$PID"; then
	kill -TERM "$PID"
	kill -CONT "$PID"
	RC=0; wait "$PID" || RC=$?
	t_expect "SIGTERM before the join request went out: exit 143" 143 \
	    "join: interrupted (SIGTERM) before the request went out: no device was created"
	t_check "SIGTERM before the join request: no POST, no device, nothing kept" \
	    "$([ "$(req_count join)" -eq "$n" ] && [ "$(emu_device_count)" -eq "$d" ] &&
	       nothing_kept; echo $?)" "POSTs $(($(req_count join) - n))"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "SIGTERM before the join request" "drsjoin never stopped at join-post (a test build?)"
fi

# 3b. A signal while the POST's connection is being made (a CONNECT proxy
# that holds it unanswered): the transfer is aborted at once, not after the
# 15 s connect timeout.
STALL=$T_WORK/stall
coproc SPROXY { CONNECT_PROXY_STALL=$STALL exec "$PY" "$DRSJOIN_TOP/test/integ/connect-proxy.py" "$T_WORK/proxy.log"; }
read -r sport <&"${SPROXY[0]}"
fresh connecting
n=$(req_count join)
d=$(emu_device_count)
join_bg DRSJOIN_TEST_STOP_AT=join-post https_proxy="http://127.0.0.1:$sport"
if wait_stopped "$PID"; then
	touch "$STALL"
	kill -CONT "$PID"
	for i in $(seq 200); do
		grep -q '^STALL ' "$T_WORK/proxy.log" 2>/dev/null && break
		sleep 0.05
	done
	t0=$(date +%s)
	kill -TERM "$PID"
	RC=0; wait "$PID" || RC=$?
	took=$(($(date +%s) - t0))
	t_expect "SIGTERM while the POST's connection is made: exit 143" 143 \
	    "join: interrupted (SIGTERM) before the request went out: no device was created"
	t_check "... aborted at once (not after the connect timeout), no POST, no device" \
	    "$([ "$took" -lt 10 ] && grep -q '^STALL ' "$T_WORK/proxy.log" &&
	       [ "$(req_count join)" -eq "$n" ] && [ "$(emu_device_count)" -eq "$d" ] && nothing_kept; echo $?)" \
	    "took $took s, POSTs $(($(req_count join) - n)), proxy: $(tr '\n' ' ' <"$T_WORK/proxy.log")"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "SIGTERM while the POST's connection is made" "drsjoin never stopped at join-post"
fi
rm -f "$STALL"
kill "$SPROXY_PID" 2>/dev/null; wait "$SPROXY_PID" 2>/dev/null

# 3c. A signal while the token is redeemed again after a wait (issue 23
# item 10): the redemption is part of the wait, so the join stops at once.
BPRT=$T_WORK/bprt
emu_token --bprt >"$BPRT"
chmod 600 "$BPRT"
fresh redeeming
emu_ctl config --access-token-lifetime 5 >/dev/null
emu_fault --route join --status 429 --retry-after 1 --count 1
n=$(req_count join)
d=$(emu_device_count)
: >"$ERR"
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$DRSJOIN" join --bprt-file "$BPRT" --tenant "$EMU_TENANT_DOMAIN" \
    --key-store software </dev/null >"$OUT" 2>"$ERR" &
PID=$!
if wait_retrying; then
	emu_fault --route token --delay 30 --count 1
	for i in $(seq 400); do
		emu_ctl faults | grep -q '"route": "token"' || break
		sleep 0.05
	done
	kill -TERM "$PID"
	RC=0; wait "$PID" || RC=$?
	t_check "SIGTERM while the token is redeemed again in the wait: exit 143, one line, one POST, no device, nothing kept" \
	    "$([ "$RC" -eq 143 ] && [ "$(grep -c 'interrupted' "$ERR")" -eq 1 ] &&
	       grep -qF 'join: interrupted (SIGTERM) while waiting to send the request again (login: during the request): no device was created' "$ERR" &&
	       [ "$(req_count join)" -eq $((n + 1)) ] && [ "$(emu_device_count)" -eq "$d" ] && nothing_kept; echo $?)" \
	    "exit $RC: $(tail -n 2 "$ERR")"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "SIGTERM while the token is redeemed again" "drsjoin never said it waits to retry"
fi
emu_ctl config --access-token-lifetime 3600 >/dev/null
emu_fault clear

# 4. Held from the first byte on: SIGTERM while the service takes 2 s to
# answer is obeyed after the join is stored (join_rollback.sh has more).
# The request is out once the emulator took its armed delay fault.
fresh in-flight
emu_fault --route join --delay 2 --count 1
d=$(emu_device_count)
join_bg
for i in $(seq 200); do
	emu_ctl faults | grep -q '"route": "join"' || break
	sleep 0.05
done
kill -TERM "$PID"
RC=0; wait "$PID" || RC=$?
t_check "SIGTERM while the POST is answered: held, exit 143 once joined, stored, in the emulator" \
    "$([ "$RC" -eq 143 ] && grep -q 'join: interrupted (SIGTERM) during the join: device' "$ERR" &&
       [ -f "$STATE/device.json" ] && [ "$(emu_device_count)" -eq $((d + 1)) ]; echo $?)" \
    "exit $RC: $(grep -v ': [<>*] \|(attempt' "$ERR" | tail -n 3)"
emu_fault clear
t_done
