#!/usr/bin/env bash
# The nonce never makes a join fail that would succeed without it
# (--nonce auto), unless --nonce require; --nonce off sends none.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
fresh() { STATE=$T_WORK/state-$1; }
no_identity() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }
# Notes are not errors: t_expect counts error lines.
notes_out() { sed -i '/: join: no nonce (/d; /; joining again without the nonce/d; /names no nonce service/d' "$ERR"; }
last_nonce() { jget "$(last_request join)" 'd.get("nonce")'; }

# --- the nonce service fails: the join goes on without one -------------------
fresh nonce500
emu_fault --route nonce --status 500 --count 10
n=$(req_count join)
t_run -- --attempts 2 join --token-file "$TOK" --key-store software
cp "$ERR" "$ERR.full"; notes_out
t_expect "nonce endpoint 500: joined without a nonce" 0 "joined: device"
t_check "nonce endpoint 500: one note naming the failure, one join without nonce" \
    "$([ "$(grep -c 'join: no nonce (nonce: server answered 500' "$ERR.full")" -eq 1 ] &&
       [ "$(req_count join)" -eq $((n + 1)) ] && [ "$(last_nonce)" = absent ] &&
       [ "$(jget "$OUT" 'd["nonce"] if "nonce" in d else None')" = None ]; echo $?)"
emu_fault clear
fresh nonce-nonjson
emu_fault --route nonce --non-json --count 10
t_run -- --attempts 1 join --token-file "$TOK" --key-store software
t_expect "nonce answer not JSON: joined without a nonce" 0
emu_fault clear
fresh nonce-require
emu_fault --route nonce --status 500 --count 10
n=$(req_count join)
t_run -- --attempts 2 join --token-file "$TOK" --key-store software --nonce require
t_expect "--nonce require: a failed nonce is an error" 5 "nonce: server answered 500"
t_check "--nonce require: no join request, nothing kept" \
    "$([ "$(req_count join)" -eq "$n" ] && no_identity; echo $?)"
emu_fault clear

# --- a CSR with the nonce refused: once more without it ---------------------------
emu_ctl config --refuse-nonce >/dev/null
fresh refused
n=$(req_count join)
t_run -- join --token-file "$TOK" --key-store software
cp "$ERR" "$ERR.full"; notes_out
t_expect "CSR with nonce refused with 400: joined with a CSR without it" 0 "joined: device"
t_check "refused nonce: exactly two POSTs, the first with the nonce, a note says so" \
    "$([ "$(req_count join)" -eq $((n + 2)) ] && [ "$(last_nonce)" = absent ] &&
       grep -q 'join: server answered 400 InvalidParameter: CSR carries the nonce extension.*; joining again without the nonce' "$ERR.full" &&
       [ "$(jget "$STATE/device.json" 'd["device_id"]')" != "" ]; echo $?)"
fresh refused-require
n=$(req_count join)
t_run -- join --token-file "$TOK" --key-store software --nonce require
t_expect "--nonce require: a refused nonce is an error, not retried" 5 "CSR carries the nonce extension"
t_check "--nonce require: one POST, nothing kept" "$([ "$(req_count join)" -eq $((n + 1)) ] && no_identity; echo $?)"
fresh off
n=$(req_count nonce)
t_run -- join --token-file "$TOK" --key-store software --nonce off
t_expect "--nonce off: no nonce asked, joined" 0
t_check "--nonce off: no nonce request" "$([ "$(req_count nonce)" -eq "$n" ] && [ "$(last_nonce)" = absent ]; echo $?)"
emu_ctl config --no-refuse-nonce >/dev/null

# Refused again without the nonce: that second answer is the error; no third POST.
fresh other400
emu_fault --route join --status 400 --count 5
n=$(req_count join)
t_run -- join --token-file "$TOK" --key-store software
notes_out
t_expect "400 with and without the nonce: the second refusal is the error" 5 "join: server answered 400"
t_check "400 twice: exactly one retry" "$([ "$(req_count join)" -eq $((n + 2)) ] && no_identity; echo $?)"
emu_fault clear

# --- no NonceService in the discovery answer -----------------------------------
emu_ctl config --no-nonce-service >/dev/null
fresh nosvc
t_run -- discover --tenant "$EMU_TENANT_DOMAIN"
t_check "discover records that there is no nonce service" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["discovery"]["nonce_service"]')" = False ] &&
       [ "$(jget "$OUT" '"nonce_endpoint" in d["discovery"]')" = False ]; echo $?)"
cp "$OUT" "$T_WORK/nosvc.json"
t_run --in "$T_WORK/nosvc.json" -- nonce
t_check "the nonce phase passes such a document on, with a note" \
    "$([ "$RC" -eq 0 ] && grep -q 'names no nonce service' "$ERR" &&
       [ "$(jget "$OUT" '"nonce" in d')" = False ]; echo $?)"
n=$(req_count nonce)
t_run -- join --token-file "$TOK" --key-store software
cp "$ERR" "$ERR.full"; notes_out
t_expect "no NonceService: joined without a nonce" 0 "joined: device"
t_check "no NonceService: a note, no nonce request" \
    "$(grep -q 'the tenant names no nonce service; joining without a nonce' "$ERR.full" &&
       [ "$(req_count nonce)" -eq "$n" ]; echo $?)"
fresh nosvc-require
t_run -- join --token-file "$TOK" --key-store software --nonce require
t_expect "no NonceService with --nonce require: an error" 4 "names no NonceService, and --nonce require"
emu_ctl config --nonce-service >/dev/null

t_run -- join --token-file "$TOK" --nonce sometimes
t_expect "--nonce with a bad value" 2 "--nonce: 'sometimes' is not auto, require or off"

# --- issue 16, item 10: any refusal of a join carrying the nonce ---------------
# The joins logged since the N-th: "nonce" or "plain" (the extension in the
# CSR of the logged body) and the status, on one line.
JOINS=$T_WORK/joins.py
cat >"$JOINS" <<'PY'
import base64, json, sys
oid = bytes.fromhex("060c2a864886f7140105821c0201")	# 1.2.840.113556.1.5.284.2.1
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r for r in rs if r.get("route") == "join"][int(sys.argv[2]):]
out = []
for r in rs:
    cr = ((r.get("body") or {}).get("CertificateRequest") or {}).get("Data") or ""
    out.append("%s %s" % ("nonce" if oid in base64.b64decode(cr) else "plain", r.get("status")))
print(" ".join(out))
PY
joins() { "$PY" "$JOINS" "$(emu_requests)" "$1"; }
# maybe_note STATUS N: after a 500/502/504 the note names the client-request-id
# of the first join since the N-th, after the line of the answer it explains;
# after the others there is no such note.
maybe_note() {
	local first
	first=$("$PY" -c 'import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]
rs=[r for r in rs if r.get("route")=="join"][int(sys.argv[2]):]
print({k.lower(): v for k, v in (rs[0].get("headers") or {}).items()}.get("client-request-id") or "")' "$(emu_requests)" "$2")
	case $1 in
	500|502|504) [ -n "$first" ] && awk -v id="$first" '
	    /; joining again without the nonce/ && !r { r = NR }
	    /a device may have been created by that request/ && index($0, "client-request-id " id) { w = NR }
	    END { exit !(r && w > r) }' "$ERR.full" ;;
	*) ! grep -q "a device may have been created" "$ERR.full" ;;
	esac
}
# Each status once, on the join with the nonce: joined by one more join
# without it, one note, exactly one device made.
# After 500, 502, 504 a device may exist, but it would whether or not
# drsjoin stopped: the same, and a note names the first request's
# client-request-id.
for st in 400 404 409 413 422 501 500 502 504; do
	fresh fb$st
	emu_fault --route join --status "$st" --count 1
	n=$(req_count join)
	d=$(emu_device_count)
	t_run -- join --token-file "$TOK" --key-store software
	cp "$ERR" "$ERR.full"; notes_out
	t_expect "join with the nonce answered $st: joined without it" 0 "joined: device"
	t_check "$st: the nonce, then once without it; one note; one device" \
	    "$([ "$(joins "$n")" = "nonce $st plain 200" ] &&
	       [ "$(grep -c "join: server answered $st .*; joining again without the nonce" "$ERR.full")" -eq 1 ] &&
	       [ "$(emu_device_count)" -eq $((d + 1)) ] &&
	       [ -n "$(jget "$STATE/device.json" 'd["device_id"]')" ] &&
	       maybe_note "$st" "$n"; echo $?)" "joins: $(joins "$n")"
	emu_fault clear
done
# The token's refusals, a throttle that lasts, a 503 that lasts: no fallback.
for st in 401 403 429 503; do
	fresh nofb$st
	emu_fault --route join --status "$st" --retry-after 0 --count 5
	n=$(req_count join)
	d=$(emu_device_count)
	t_run -- --attempts 2 join --token-file "$TOK" --key-store software
	# 429 and 503 that last are throttling (exit 4, issue 17); 401/403 refusals (5)
	want_rc=5; [ "$st" = 429 ] || [ "$st" = 503 ] && want_rc=4
	t_expect "join with the nonce answered $st: an error, no fallback" "$want_rc" "join: server answered $st"
	want="nonce $st"
	[ "$st" = 401 ] || [ "$st" = 403 ] || want="nonce $st nonce $st"
	t_check "$st: no join without the nonce, no device, nothing kept" \
	    "$([ "$(joins "$n")" = "$want" ] && [ "$(emu_device_count)" -eq "$d" ] &&
	       no_identity; echo $?)" "joins: $(joins "$n")"
	emu_fault clear
done
# --nonce require: any refusal is the error.
for st in 404 501; do
	fresh req$st
	emu_fault --route join --status "$st" --count 1
	n=$(req_count join)
	t_run -- join --token-file "$TOK" --key-store software --nonce require
	t_expect "--nonce require, answered $st: the error, no fallback" 5 "join: server answered $st"
	t_check "--nonce require, $st: one POST, nothing kept" \
	    "$([ "$(joins "$n")" = "nonce $st" ] && no_identity; echo $?)" "joins: $(joins "$n")"
	emu_fault clear
done

t_done
