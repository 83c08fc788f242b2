#!/usr/bin/env bash
# make bench's mbedTLS yardstick for leave (test/bench/handshake.c): it must
# make the same authenticated DELETE drsjoin leave makes, over TLS 1.3 with
# the device's certificate and key, read the answer whole (by its
# Content-Length, in any case, which it requires) and give up on a server
# that does not answer, or its figure measures something else.
. "$(dirname "$0")/../lib-integ.sh"

HS=$DRSJOIN_UNIT_DIR/bench_handshake
if [ ! -x "$HS" ]; then
	t_fail "bench_handshake is built" "$HS missing (make check builds it)"
	exit 1
fi
SRV=
stop_srv() { [ -n "$SRV" ] && { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; }; SRV=; }
trap 'stop_srv; t_cleanup' EXIT
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

join_sw() {	# STATE-DIR
	STATE=$1 t_run -- join --token-file "$TOK" --key-store software
	[ "$RC" -eq 0 ] || t_fail "join for the next case" "exit $RC"
}
join_sw "$T_WORK/a"
join_sw "$T_WORK/b"
join_sw "$T_WORK/c"
A=$T_WORK/a/device.json B=$T_WORK/b/device.json C=$T_WORK/c/device.json
cert_a=$(recpath "$A" 'd["certificate"]') key_a=$(recpath "$A" 'd["keys"]["device_key"]')
dev_a=$(jget "$A" 'd["device_id"]') thumb_a=$(jget "$A" 'd["thumbprint"]')
key_b=$(recpath "$B" 'd["keys"]["device_key"]') dev_b=$(jget "$B" 'd["device_id"]')
dev_c=$(jget "$C" 'd["device_id"]') thumb_c=$(jget "$C" 'd["thumbprint"]')

# Device A's certificate with device B's key: the server refuses the
# handshake (in TLS 1.3 the client may learn it only when it sends the
# request or reads the answer), nothing is deleted.
devs=$(emu_device_count)
rc=0; "$HS" "$EMU_URL" "$EMU_CA" "$cert_a" "$key_b" "$dev_a" >"$OUT" 2>"$ERR" || rc=$?
t_check "another device's key: exit 1, one line naming the refusal, no DELETE" \
    "$([ "$rc" -eq 1 ] && [ ! -s "$OUT" ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
       grep -Eq '^bench_handshake: (TLS handshake|sending the request|reading the answer): ' "$ERR" &&
       [ "$(req_count delete)" -eq 0 ] &&
       [ "$(emu_device_count)" -eq "$devs" ]; echo $?)"

# A real leave of device C: the record the yardstick's must match.
STATE=$T_WORK/c t_run -- leave
cp "$(last_request delete)" "$T_WORK/leave.json"
t_expect "drsjoin leave of device C (the record to compare with)" 0

# The yardstick itself: one DELETE of device A, with A's certificate.
rc=0; "$HS" "$EMU_URL" "$EMU_CA" "$cert_a" "$key_a" "$dev_a" >"$OUT" 2>"$ERR" || rc=$?
req=$(last_request delete)
read -r _ _ body <"$OUT"
t_check "the baseline: exit 0, prints seconds, TLSv1.3 and the body's length" \
    "$([ "$rc" -eq 0 ] && [ ! -s "$ERR" ] &&
       grep -Eqx '[0-9]+\.[0-9]{6} TLSv1\.3 [0-9]+' "$OUT"; echo $?)" "$(cat "$OUT" "$ERR")"
# The emulator's answer: {"DeviceId": ..., "Deleted": true, "TraceId": ...,
# "Time": ...}, about 130 bytes whatever the hour.
t_check "the baseline read the emulator's whole answer body (${body:-?} bytes)" \
    "$([ -n "$body" ] && [ "$body" -ge 100 ] && [ "$body" -le 200 ]; echo $?)"
t_check "the baseline: one DELETE of the device by its certificate, answered 200" \
    "$([ "$(req_count delete)" -eq 2 ] &&
       [ "$(jget "$req" 'd["path"], d["query"]["api-version"], d["status"]')" = \
         "('/EnrollmentServer/device/$dev_a', '1.0', 200)" ] &&
       [ "$(jget "$req" 'd["client_cert"]["thumbprint"]')" = "$thumb_a" ] &&
       [ "$(emu_device_count)" -eq $((devs - 2)) ]; echo $?)"
# The same request as drsjoin's: method, route, TLS version, query, path
# (but for the device id), each by its own device's certificate.
same() {	# PYEXPR: equal on both records
	[ "$(jget "$req" "$1")" = "$(jget "$T_WORK/leave.json" "$1")" ]
}
t_check "the baseline's DELETE is drsjoin leave's: TLSv1.3, method, path, query, own certificate" \
    "$([ "$(jget "$req" 'd["tls"]')" = TLSv1.3 ] && same 'd["tls"]' &&
       same 'd["method"], d["route"], d["query"], d["status"]' &&
       [ "$(jget "$req" 'd["path"]' | sed "s/$dev_a/ID/")" = \
         "$(jget "$T_WORK/leave.json" 'd["path"]' | sed "s/$dev_c/ID/")" ] &&
       [ "$(jget "$T_WORK/leave.json" 'd["client_cert"]["thumbprint"]')" = "$thumb_c" ] &&
       [ "$(jget "$req" 'd["client_cert"]["thumbprint"]')" = "$thumb_a" ]; echo $?)" \
    "$(cat "$req" "$T_WORK/leave.json")"

# A device the service does not know: the answer is not 200, exit 1.
rc=0; "$HS" "$EMU_URL" "$EMU_CA" "$cert_a" "$key_a" "$dev_a" >"$OUT" 2>"$ERR" || rc=$?
t_check "the device already deleted: exit 1, the status named" \
    "$([ "$rc" -eq 1 ] && [ ! -s "$OUT" ] &&
       grep -Eqx 'bench_handshake: the DELETE answered [0-9]+' "$ERR" &&
       ! grep -q 'answered 200' "$ERR"; echo $?)"

# Against a server of known answers (test/integ/answer-server.py): the
# body is read whole by its Content-Length, whatever its case; no
# Content-Length is a failure, not an answer ending with its headers; a
# server that never answers is given up on after TIMEOUT_MS.
srv() {	# SIZE MODE: start answer-server; sets SRV and PORT
	local pf=$T_WORK/port.$RANDOM
	"$PY" "$DRSJOIN_TOP/test/integ/answer-server.py" "$EMU_DIR/tls-server.pem" \
	    "$EMU_DIR/tls-server.key" "$1" "$2" "$pf" 2>"$T_WORK/srv.err" &
	SRV=$!
	while [ ! -s "$pf" ] && kill -0 "$SRV" 2>/dev/null; do sleep 0.05; done
	PORT=$(cat "$pf" 2>/dev/null)
}
hs_srv() {	# [TIMEOUT_MS]: the yardstick against it, given up after 60 s
	rc=0
	timeout 60 "$HS" "https://127.0.0.1:$PORT" "$EMU_CA" "$cert_a" "$key_a" "$dev_a" "$@" \
	    >"$OUT" 2>"$ERR" || rc=$?
	stop_srv
}
for mode in length lower; do
	srv 5000 $mode; hs_srv
	t_check "an answer of 5000 bytes framed by $mode Content-Length: read whole" \
	    "$([ "$rc" -eq 0 ] && [ ! -s "$ERR" ] &&
	       grep -Eqx '[0-9]+\.[0-9]{6} TLSv1\.3 5000' "$OUT"; echo $?)" "rc $rc: $(cat "$OUT" "$ERR")"
done
for mode in chunked close; do
	srv 5000 $mode; hs_srv
	t_check "an answer without Content-Length ($mode): exit 1, one line" \
	    "$([ "$rc" -eq 1 ] && [ ! -s "$OUT" ] &&
	       [ "$(cat "$ERR")" = "bench_handshake: the answer has no Content-Length" ]; echo $?)" \
	    "rc $rc: $(cat "$OUT" "$ERR")"
done
srv 10 silent; hs_srv 300
t_check "a server that never answers: given up after TIMEOUT_MS, exit 1, one line" \
    "$([ "$rc" -eq 1 ] && [ ! -s "$OUT" ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
       grep -q '^bench_handshake: reading the answer: .*timed out' "$ERR"; echo $?)" \
    "rc $rc: $(cat "$OUT" "$ERR")"

rc=0; "$HS" "$EMU_URL" >"$OUT" 2>"$ERR" || rc=$?
t_check "usage: exit 1, one line" \
    "$([ "$rc" -eq 1 ] && [ "$(wc -l <"$ERR")" -eq 1 ] && grep -q '^bench_handshake: usage' "$ERR"; echo $?)"
rc=0; "$HS" "$EMU_URL" "$EMU_CA" "$cert_a" "$key_a" "$dev_a" 0 >"$OUT" 2>"$ERR" || rc=$?
t_check "TIMEOUT_MS 0: exit 1, one line, no request" \
    "$([ "$rc" -eq 1 ] && [ ! -s "$OUT" ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
       grep -q '^bench_handshake: TIMEOUT_MS: ' "$ERR" && [ "$(req_count delete)" -eq 3 ]; echo $?)"
t_check "device B untouched" "$([ "$(jget "$B" 'd["device_id"]')" = "$dev_b" ] &&
    emu_ctl devices | grep -q "$dev_b"; echo $?)"
t_done
