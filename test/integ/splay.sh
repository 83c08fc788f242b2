#!/usr/bin/env bash
# join --splay SECONDS (and the config file's splay): a fleet's machines
# spread their first request, each waiting a random part of SECONDS before
# any request. Bounds are checked before anything is done; the wait is said
# and kept; a re-run that finds the machine joined does not wait; a signal
# in the wait stops it at once with nothing sent and nothing kept.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
fresh() { STATE=$T_WORK/state-$1; }
nothing_kept() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }

# 1. Bad values: a usage error naming --splay, before any request or file.
for v in -1 3601 x 1.5 "" 99999999999999999999 " 5" +5; do
	fresh "bad"
	n=$(req_count)
	t_run -- join --splay "$v" --token-file "$TOK" --key-store software
	t_expect "--splay '$v': exit 2" 2 "--splay: '$v' is not a whole number from 0 to 3600"
	t_check "--splay '$v': no request, no state dir" \
	    "$([ "$(req_count)" -eq "$n" ] && [ ! -e "$STATE" ]; echo $?)"
done
# Not UTF-8: shown escaped, one line.
fresh "bad"
t_run -- join --splay "$(printf '\377')" --token-file "$TOK" --key-store software
t_expect "--splay '\\xff': exit 2, shown escaped" 2 "--splay: '\\xff' is not a whole number from 0 to 3600"
CONF=$T_WORK/bad.conf
printf 'splay = 3601\n' >"$CONF"; chmod 600 "$CONF"
fresh "badconf"
t_run --env DRSJOIN_CONFIG="$CONF" -- join --token-file "$TOK" --key-store software
t_expect "config splay = 3601: exit 3 naming FILE:LINE" 3 "$CONF:1"
t_check "config splay = 3601: the key named, nothing done" \
    "$(grep -q 'splay' "$ERR" && [ ! -e "$STATE" ]; echo $?)" "$(head -c 300 "$ERR")"
# With the device code a person signs in: --splay is refused, the file's is not waited for.
fresh "dc"
t_run -- join --splay 5 --device-code --tenant "$EMU_TENANT_ID"
t_expect "--splay with --device-code: exit 2" 2 "--splay spreads a fleet's unattended joins: not with --device-code"

# A ready token that the longest wait would outlive: refused before any
# wait or key (the bound: the splay plus 10 s to send).
SHORT=$(token_file --lifetime 65)
fresh "short"
n=$(req_count)
t_run -- join --splay 60 --token-file "$SHORT" --key-store software
t_expect "--splay 60 with a token for 65 s: exit 3 before any wait" 3 \
    "before a --splay of 60 s could end: give one with more time left"
t_check "--splay 60 with a short token: no wait said, no key made, no request, nothing kept" \
    "$(! grep -q 'before the first request' "$ERR" && ! grep -q 'keygen' "$ERR" &&
       [ "$(req_count)" -eq "$n" ] && nothing_kept && [ ! -e "$STATE/staging" ]; echo $?)" "$(head -c 300 "$ERR")"
ENOUGH=$(token_file --lifetime 100)
fresh "enough"
t_run -- join --splay 1 --token-file "$ENOUGH" --key-store software
t_expect "--splay 1 with a token for 100 s: joins" 0

# 2. The wait: said (how long, which option), and kept before the first request.
fresh "wait"
t0=$(date +%s%N)
t_run -- join --splay 2 --token-file "$TOK" --key-store software
t1=$(date +%s%N)
t_expect "join --splay 2" 0
said=$(sed -n 's/^drsjoin: join: waiting \([0-9.]*\) s before the first request (--splay 2)$/\1/p' "$ERR")
t_check "join --splay 2: says the wait drawn (0 to 2 s) once, and waits it" \
    "$([ -n "$said" ] && [ "$(grep -c 'before the first request' "$ERR")" -eq 1 ] &&
       awk -v s="$said" -v w="$(( t1 - t0 ))" 'BEGIN { exit !(s >= 0 && s <= 2 && w / 1e9 >= s - 0.05) }'; echo $?)" \
    "said '$said', took $(( (t1 - t0) / 1000000 )) ms: $(head -c 300 "$ERR")"
# Random per run: eight draws of 0..1 s are not all the same.
draws=
for i in 1 2 3 4 5 6 7 8; do
	fresh "draw-$i"
	t_run -- join --splay 1 --token-file "$TOK" --key-store software
	draws="$draws $(sed -n 's/^drsjoin: join: waiting \([0-9.]*\) s .*/\1/p' "$ERR")"
done
t_check "--splay 1: each run draws its own wait" \
    "$([ "$(echo $draws | tr ' ' '\n' | sort -u | wc -l)" -gt 1 ]; echo $?)" "draws:$draws"

# 3. Already joined: no wait, no request.
STATE=$T_WORK/state-wait
n=$(req_count)
t0=$(date +%s)
t_run -- join --splay 3600 --token-file "$TOK"
t_check "re-run with --splay 3600 on a joined machine: exit 0 at once, no wait said, no request" \
    "$([ "$RC" -eq 0 ] && [ $(( $(date +%s) - t0 )) -lt 10 ] && ! grep -q 'before the first request' "$ERR" &&
       [ "$(req_count)" -eq "$n" ]; echo $?)" "exit $RC: $(head -c 300 "$ERR")"

# --force joins again: it waits. A BPRT is redeemed after the wait.
t_run -- join --force --splay 1 --token-file "$TOK"
t_check "--force --splay 1 on a joined machine: waits, joins again" \
    "$([ "$RC" -eq 0 ] && grep -q 'before the first request (--splay 1)$' "$ERR"; echo $?)" "exit $RC: $(head -c 300 "$ERR")"
emu_token --bprt >"$T_WORK/bprt"; chmod 600 "$T_WORK/bprt"
fresh "bprt"
t_run -- join --splay 1 --bprt-file "$T_WORK/bprt" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_check "--splay 1 with a BPRT: waits, redeems it, joins" \
    "$([ "$RC" -eq 0 ] && grep -q 'before the first request (--splay 1)$' "$ERR" && [ -f "$STATE/device.json" ]; echo $?)" \
    "exit $RC: $(head -c 300 "$ERR")"

# 4. The config file's splay, and the option over it.
CONF=$T_WORK/good.conf
printf 'splay = 1\n' >"$CONF"; chmod 600 "$CONF"
fresh "conf"
t_run --env DRSJOIN_CONFIG="$CONF" -- join --token-file "$TOK" --key-store software
t_check "config splay = 1: the join waits, saying --splay 1" \
    "$([ "$RC" -eq 0 ] && grep -q 'before the first request (--splay 1)$' "$ERR"; echo $?)" "exit $RC: $(head -c 300 "$ERR")"
fresh "conf0"
t_run --env DRSJOIN_CONFIG="$CONF" -- join --splay 0 --token-file "$TOK" --key-store software
t_check "--splay 0 over the config's: no wait" \
    "$([ "$RC" -eq 0 ] && ! grep -q 'before the first request' "$ERR"; echo $?)" "exit $RC: $(head -c 300 "$ERR")"

# 5. A signal in the wait: at once, nothing sent, nothing kept - also when
# key generation would be slow (DRSJOIN_TEST_KEYGEN_WAIT_FD holds it until
# its descriptor closes: the wait comes before the keys, so it never starts).
# A background job starts with SIGINT and SIGQUIT ignored: given back first.
exec 7< <(sleep 30)
for sig in TERM INT HUP QUIT; do
	case $sig in TERM) code=143 ;; INT) code=130 ;; HUP) code=129 ;; QUIT) code=131 ;; esac
	fresh "sig-$sig"
	n=$(req_count)
	d=$(emu_device_count)
	: >"$ERR"
	env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
	    DRSJOIN_TEST_KEYGEN_WAIT_FD=7 $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$DRSJOIN" join --splay 60 --token-file "$TOK" --key-store software \
	    </dev/null >"$OUT" 2>"$ERR" &
	PID=$!
	said=0
	for i in $(seq 400); do
		grep -q 'before the first request' "$ERR" 2>/dev/null && { said=1; break; }
		sleep 0.05
	done
	if [ "$said" -ne 1 ]; then
		kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
		t_fail "SIG$sig in the --splay wait" "the wait was never said: $(head -c 300 "$ERR")"
		continue
	fi
	t0=$(date +%s)
	kill -"$sig" "$PID"
	RC=0; wait "$PID" || RC=$?
	took=$(( $(date +%s) - t0 ))
	t_expect "SIG$sig in the --splay wait: exit $code" "$code" \
	    "join: interrupted (SIG$sig) during --splay: no request was sent, no device was created"
	t_check "SIG$sig in the --splay wait: at once, no request, no device, no keys kept" \
	    "$([ "$took" -lt 10 ] && [ "$(req_count)" -eq "$n" ] && [ "$(emu_device_count)" -eq "$d" ] &&
	       nothing_kept; echo $?)" "took $took s, requests $(( $(req_count) - n )), devices $(emu_device_count) (was $d)"
done

exec 7<&-

# An ignored SIGHUP (nohup) stays ignored: the wait goes on and the join ends.
fresh "nohup"
: >"$ERR"
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    $PY -c 'import os, signal, sys
signal.signal(signal.SIGHUP, signal.SIG_IGN)
os.execv(sys.argv[1], sys.argv[1:])' "$DRSJOIN" join --splay 2 --token-file "$TOK" --key-store software \
    </dev/null >"$OUT" 2>"$ERR" &
PID=$!
for i in $(seq 400); do
	grep -q 'before the first request' "$ERR" 2>/dev/null && break
	sleep 0.05
done
kill -HUP "$PID" 2>/dev/null
RC=0; wait "$PID" || RC=$?
t_check "nohup'd: SIGHUP in the --splay wait is ignored, the join ends" \
    "$([ "$RC" -eq 0 ] && [ -f "$STATE/device.json" ] && ! grep -q interrupted "$ERR"; echo $?)" \
    "exit $RC: $(head -c 300 "$ERR")"

# A registration waits the same.
fresh "register"
t_run -- join --join-type register --splay 1 --token-file "$TOK" --key-store software
t_check "--join-type register --splay 1: waits, registers" \
    "$([ "$RC" -eq 0 ] && grep -q 'before the first request (--splay 1)$' "$ERR" &&
       [ "$(jget "$STATE/device.json" 'd["join_type"]')" = register ]; echo $?)" "exit $RC: $(head -c 300 "$ERR")"
t_done
