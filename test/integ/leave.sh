#!/usr/bin/env bash
# leave with software keys: the DELETE authenticated by the device
# certificate over TLS 1.2 and 1.3, a device already deleted, refusals that
# keep the identity, --local-only, not joined, tampered records.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

# The identity's files, with their contents: a refused leave changes none.
snapshot() { (cd "$STATE" && find . -type f ! -name .lock | sort | xargs sha256sum); }
deletes() { emu_ctl status | $PY -c 'import json,sys; print(json.load(sys.stdin)["deletes"])'; }
join_sw() {
	t_run -- join --token-file "$TOK" --key-store software
	[ "$RC" -eq 0 ] || t_fail "join for the next case" "exit $RC"
	DEV=$(jget "$STATE/device.json" 'd["device_id"]')
}
# No record and no key set left.
all_gone() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/identity" 2>/dev/null)" ]; }

t_run -- leave
t_expect "leave when not joined: exit 8" 8 "leave: not joined (no $STATE/device.json)"

# The plain case.
join_sw
thumb=$(jget "$STATE/device.json" 'd["thumbprint"]')
devs=$(emu_device_count); dels=$(deletes)
t_run -- leave
t_expect "leave: exit 0" 0 "left: device $DEV deleted from tenant $EMU_TENANT_ID"
req=$(last_request delete)
t_check "leave: one DELETE of the device, by its certificate, no bearer token" \
    "$([ "$(jget "$req" 'd["method"]')" = DELETE ] &&
       [ "$(jget "$req" 'd["path"]')" = "/EnrollmentServer/device/$DEV" ] &&
       [ "$(jget "$req" 'd["query"]["api-version"]')" = 1.0 ] &&
       [ "$(jget "$req" 'd["client_cert"]["thumbprint"]')" = "$thumb" ] &&
       [ "$(jget "$req" '"authorization" in d["headers"]')" = False ] &&
       [ "$(jget "$req" 'd["status"]')" = 200 ] && [ "$(req_count delete)" -eq 1 ]; echo $?)"
t_check "leave: the device is gone from the tenant, the delete counted" \
    "$([ "$(emu_device_count)" -eq $((devs - 1)) ] && [ "$(deletes)" -eq $((dels + 1)) ]; echo $?)"
t_check "leave: stdout says what was done" \
    "$([ "$(jget "$OUT" 'd["device_id"], d["service"], d["joined"]')" = "('$DEV', 'deleted', False)" ]; echo $?)"
t_check "leave: device.json, certificate and keys removed" "$(all_gone; echo $?)"
t_run -- status
t_check "status after leave: exit 8, {\"joined\": false}" \
    "$([ "$RC" -eq 8 ] && [ "$(jget "$OUT" 'd["joined"]')" = False ]; echo $?)"
t_run -- leave
t_expect "leave again: not joined" 8 "leave: not joined"

# TLS 1.2 and TLS 1.3 only servers: the same leave in each.
for v in 1.2 1.3; do
	emu_stop
	if [ "$v" = 1.2 ]; then flags=(--tls-max 1.2); else flags=(--tls-min 1.3); fi
	emu_start --state-dir "$EMU_DIR" "${flags[@]}" >/dev/null ||
	    { t_fail "emulator starts with ${flags[*]}" "emu_start failed"; continue; }
	join_sw
	t_run -- leave
	t_expect "leave over TLS $v only: exit 0" 0 "left: device $DEV"
	t_check "leave over TLS $v: the DELETE went over TLSv$v with the client certificate" \
	    "$(r=$(last_request delete); [ "$(jget "$r" 'd["tls"], d["status"], d["device_id"]')" = \
	       "('TLSv$v', 200, '$DEV')" ] && all_gone; echo $?)"
done
emu_stop
emu_start --state-dir "$EMU_DIR" >/dev/null || { t_fail "emulator restarts" "emu_start failed"; exit 1; }

# -v: one line says where the time went, every step named, in ms.
join_sw
t_run -- -v leave
split=$(grep 'leave: time split: ' "$ERR")
t_check "leave -v: one time split line (start-up and config, key load, handshake, DELETE, removal)" \
    "$([ "$RC" -eq 0 ] && [ "$(printf '%s\n' "$split" | grep -c .)" -eq 1 ] &&
       printf '%s\n' "$split" | grep -Eq 'start-up and config [0-9]+\.[0-9]{2} ms, state dir and key load [0-9]+\.[0-9]{2} ms, handshake [0-9]+\.[0-9]{2} ms \(TCP [0-9]+\.[0-9]{2} ms\), DELETE [0-9]+\.[0-9]{2} ms, local removal [0-9]+\.[0-9]{2} ms; [0-9]+\.[0-9]{2} ms since main' &&
       all_gone; echo $?)" "rc $RC, line: $split"
join_sw
t_run -- -v leave --local-only
t_check "leave --local-only -v: no time split (no request made)" \
    "$([ "$RC" -eq 0 ] && ! grep -q 'time split' "$ERR" && all_gone; echo $?)"

# A device already deleted (by an admin, or a leave whose answer was lost):
# the identity is kept in a copy, the device deleted, the copy put back.
join_sw
cp -a "$STATE" "$T_WORK/state-copy"
t_run -- leave
rm -rf "$STATE"; mv "$T_WORK/state-copy" "$STATE"
t_run -- leave
t_expect "leave of a device already deleted: exit 0 with a note" 0 \
    "leave: device $DEV no longer exists in tenant $EMU_TENANT_ID"
t_check "already deleted: the local identity removed, stdout says not_found" \
    "$(all_gone && [ "$(jget "$OUT" 'd["service"]')" = not_found ]; echo $?)"

# Refusals and failures: the identity stays as it was; a second run finishes.
join_sw
before=$(snapshot); devs=$(emu_device_count)
emu_fault --route delete --status 403
t_run -- leave
t_expect "leave refused with 403: exit 5, naming the device, status, type, trace id" 5 \
    "leave: device $DEV: server answered 403 ServiceError: drs-emulator fault: HTTP 403 (trace id "
t_check "403: identity unchanged, device still in the tenant" \
    "$([ "$(snapshot)" = "$before" ] && [ "$(emu_device_count)" -eq "$devs" ]; echo $?)"
t_check "403: the one error line names --local-only" \
    "$(grep -q "trace id .*; if the device was deleted or disabled in the tenant, 'drsjoin leave --local-only' removes the local identity\$" "$ERR"; echo $?)"
emu_fault --route delete --status 401
t_run -- leave
t_expect "leave refused with 401: exit 5, naming --local-only" 5 "'drsjoin leave --local-only' removes the local identity"
t_check "401: identity unchanged" "$([ "$(snapshot)" = "$before" ]; echo $?)"
emu_fault --route delete --status 500 --count 2
t_run -- --attempts 2 leave
t_expect "leave answered 500 after the retries: exit 5" 5 \
    "leave: device $DEV: server answered 500 InternalServerError"
t_check "500: no --local-only hint (the service may take it later)" "$(! grep -q 'local-only' "$ERR"; echo $?)"
t_check "500: identity unchanged" "$([ "$(snapshot)" = "$before" ]; echo $?)"
emu_fault --route delete --drop
t_run -- --attempts 1 leave
t_expect "leave whose connection is dropped: exit 4, naming the device" 4 "leave: device $DEV: "
t_check "dropped: identity unchanged" "$([ "$(snapshot)" = "$before" ]; echo $?)"
emu_fault --route delete --status 503
t_run -- leave
t_expect "leave: one 503, then the retry deletes" 0 "left: device $DEV"
t_check "after the refusals, the second run finished the job" \
    "$(all_gone && [ "$(emu_device_count)" -eq $((devs - 1)) ]; echo $?)"

# A 200 whose body is cut short: the service deleted the device (its body is
# only informational), so leave must finish, not fail with the device gone.
join_sw
devs=$(emu_device_count)
emu_fault --route delete --truncate
t_run -- --attempts 1 leave
t_expect "leave answered 200 with its body cut short: exit 0, deleted" 0 "left: device $DEV deleted"
t_check "cut-short 200: identity removed, the device gone, stdout says deleted" \
    "$(all_gone && [ "$(emu_device_count)" -eq $((devs - 1)) ] &&
       [ "$(jget "$OUT" 'd["service"]')" = deleted ]; echo $?)"

# --local-only: no traffic, the device stays in the tenant and is named.
join_sw
n=$(req_count); devs=$(emu_device_count)
t_run -- leave --local-only
t_expect "leave --local-only: exit 0, names the device that may remain" 0 \
    "leave: removing the local identity only: device $DEV may still exist in tenant $EMU_TENANT_ID"
t_check "--local-only: no request, the device still in the tenant, local identity gone" \
    "$([ "$(req_count)" -eq "$n" ] && [ "$(emu_device_count)" -eq "$devs" ] && all_gone &&
       [ "$(jget "$OUT" 'd["service"]')" = not_contacted ]; echo $?)"

# A corrupt record: leave refuses it; --local-only moves it aside (keys kept).
join_sw
echo '{"broken' >"$STATE/device.json"
t_run -- leave
t_check "leave over a corrupt device.json: exit 7, naming the file and the way out (--local-only)" \
    "$([ "$RC" -eq 7 ] && grep -q "device.json" "$ERR" && grep -q "drsjoin leave --local-only" "$ERR" &&
       [ -f "$STATE/device.json" ]; echo $?)" "$(head -c 400 "$ERR")"
t_run -- leave --local-only
t_check "leave --local-only over a corrupt device.json: moved aside, not joined" \
    "$([ "$RC" -eq 0 ] && [ ! -e "$STATE/device.json" ] &&
       ls "$STATE" | grep -q '^device.json.corrupt-' && grep -q 'corrupt' "$ERR"; echo $?)"
t_run -- status
t_check "after the corrupt record was moved aside: status says not joined" \
    "$([ "$RC" -eq 8 ] && [ "$(jget "$OUT" 'd["joined"]')" = False ]; echo $?)"

t_run -- leave --bogus
t_expect "leave --bogus: usage" 2 "leave: unknown option '--bogus'"
t_run -- leave extra
t_expect "leave with an argument: usage" 2 "leave: unexpected argument 'extra'"

# A tampered record: the host, the device id and the certificate are checked
# before any traffic, and nothing is removed.
tamper() {	# PYTHON-STATEMENT on the record d
	$PY -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); exec(sys.argv[2]); json.dump(d,open(p,"w"))' \
	    "$STATE/device.json" "$1"
}
for ep in "http://127.0.0.1:1/EnrollmentServer/device/" "https://user@evil.example/x/" \
    "https://evil.example:99999/" "https://a b/" "https://[::1/" "file:///etc/passwd"; do
	join_sw
	tamper "d['endpoints']['join_endpoint'] = '''$ep'''"
	before=$(snapshot); n=$(req_count)
	t_run -- leave
	t_expect "tampered join endpoint '$ep': refused" 7 "the recorded join endpoint is not a well-formed https URL"
	t_check "tampered endpoint '$ep': no request, nothing removed" \
	    "$([ "$(req_count)" -eq "$n" ] && [ "$(snapshot)" = "$before" ]; echo $?)"
	t_run -- leave --local-only
done
join_sw
tamper "d['device_id'] = '../../../etc'"
n=$(req_count)
t_run -- leave
t_expect "a device id that is not a GUID: refused" 7 "leave: the identity record's device_id is not a GUID"
t_check "bad device id: no request" "$([ "$(req_count)" -eq "$n" ]; echo $?)"
t_run -- leave --local-only
t_expect "--local-only gets past a bad device id" 0
join_sw
other=$T_WORK/other-key.pem
openssl genrsa -out "$other" 2048 2>/dev/null
cp "$other" "$(recpath "$STATE/device.json" 'd["keys"]["device_key"]')"
n=$(req_count)
t_run -- leave
t_expect "a device key that is not the certificate's: refused" 7 \
    "leave: device $DEV: the stored certificate is not for the stored device key"
t_check "key mismatch: no request" "$([ "$(req_count)" -eq "$n" ]; echo $?)"
t_run -- leave --local-only

# A record whose device_id names another device of the tenant (issue 23
# item 13): its certificate is this device's, and no DELETE goes out for the
# other one, by leave nor by the join --force that replaces the record (it
# makes no health check of what it replaces).
deletes_of() { $PY -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("route")=="delete" and sys.argv[2].lower() in json.loads(l)["path"].lower()))' "$(emu_requests)" "$1"; }
has_device() { emu_ctl devices >"$T_WORK/devices.json" && grep -qi "\"$1\"" "$T_WORK/devices.json"; }
MINE=$STATE
STATE=$T_WORK/other-device; join_sw; OTHER=$DEV
STATE=$MINE; join_sw
tamper "d['device_id'] = '$OTHER'"
before=$(snapshot)
t_run -- leave
t_expect "a record naming another device: leave refused, exit 7, naming both" 7 \
    "leave: the stored certificate is device $DEV's, the identity record is device $OTHER's"
t_check "a record naming another device: no DELETE for it, it stays, nothing removed" \
    "$([ "$(deletes_of "$OTHER")" -eq 0 ] && [ "$(deletes_of "$DEV")" -eq 0 ] &&
       has_device "$OTHER" && [ "$(snapshot)" = "$before" ]; echo $?)"
t_run -- join --token-file "$TOK" --key-store software --force
t_check "join --force over a record naming another device: joined, no DELETE for it, a warning naming both" \
    "$([ "$RC" -eq 0 ] && [ "$(deletes_of "$OTHER")" -eq 0 ] && has_device "$OTHER" &&
       grep -q "^drsjoin: warning: join: the replaced device $OTHER is still in the tenant (leave: the stored certificate is device $DEV's, the identity record is device $OTHER's); delete it there" "$ERR"; echo $?)" \
    "exit $RC: $(cat "$ERR")"

t_done
