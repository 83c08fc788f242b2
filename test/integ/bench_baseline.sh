#!/usr/bin/env bash
# make bench's yardstick for leave (test/bench/handshake.c): it must make the
# same authenticated DELETE drsjoin leave makes, over TLS 1.3 with the
# device's certificate and key, or its figure measures something else.
. "$(dirname "$0")/../lib-integ.sh"

HS=$DRSJOIN_UNIT_DIR/bench_handshake
if [ ! -x "$HS" ]; then
	t_fail "bench_handshake is built" "$HS missing (make check builds it)"
	exit 1
fi
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

join_sw() {	# STATE-DIR
	STATE=$1 t_run -- join --token-file "$TOK" --key-store software
	[ "$RC" -eq 0 ] || t_fail "join for the next case" "exit $RC"
}
join_sw "$T_WORK/a"
join_sw "$T_WORK/b"
A=$T_WORK/a/device.json B=$T_WORK/b/device.json
cert_a=$(jget "$A" 'd["certificate"]') key_a=$(jget "$A" 'd["keys"]["device_key"]')
dev_a=$(jget "$A" 'd["device_id"]') thumb_a=$(jget "$A" 'd["thumbprint"]')
key_b=$(jget "$B" 'd["keys"]["device_key"]') dev_b=$(jget "$B" 'd["device_id"]')

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

# The yardstick itself: one DELETE of device A, with A's certificate.
rc=0; "$HS" "$EMU_URL" "$EMU_CA" "$cert_a" "$key_a" "$dev_a" >"$OUT" 2>"$ERR" || rc=$?
req=$(last_request delete)
t_check "the baseline: exit 0, prints seconds and TLSv1.3" \
    "$([ "$rc" -eq 0 ] && [ ! -s "$ERR" ] &&
       grep -Eqx '0\.[0-9]{6} TLSv1\.3' "$OUT"; echo $?)"
t_check "the baseline: one DELETE of the device by its certificate, answered 200" \
    "$([ "$(req_count delete)" -eq 1 ] &&
       [ "$(jget "$req" 'd["path"], d["query"]["api-version"], d["status"]')" = \
         "('/EnrollmentServer/device/$dev_a', '1.0', 200)" ] &&
       [ "$(jget "$req" 'd["client_cert"]["thumbprint"]')" = "$thumb_a" ] &&
       [ "$(emu_device_count)" -eq $((devs - 1)) ]; echo $?)"

# A device the service does not know: the answer is not 200, exit 1.
rc=0; "$HS" "$EMU_URL" "$EMU_CA" "$cert_a" "$key_a" "$dev_a" >"$OUT" 2>"$ERR" || rc=$?
t_check "the device already deleted: exit 1, the status named" \
    "$([ "$rc" -eq 1 ] && [ ! -s "$OUT" ] &&
       grep -Eqx 'bench_handshake: the DELETE answered [0-9]+' "$ERR" &&
       ! grep -q 'answered 200' "$ERR"; echo $?)"

rc=0; "$HS" "$EMU_URL" >"$OUT" 2>"$ERR" || rc=$?
t_check "usage: exit 1, one line" \
    "$([ "$rc" -eq 1 ] && [ "$(wc -l <"$ERR")" -eq 1 ] && grep -q '^bench_handshake: usage' "$ERR"; echo $?)"
t_check "device B untouched" "$([ "$(jget "$B" 'd["device_id"]')" = "$dev_b" ] &&
    emu_ctl devices | grep -q "$dev_b"; echo $?)"
t_done
