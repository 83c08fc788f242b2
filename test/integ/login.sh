#!/usr/bin/env bash
# Tokens without a human: bulk enrolment tokens (BPRT), refresh tokens, the
# login errors an admin sees, and secrets kept out of logs, state and stdout.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
fresh() { STATE=$T_WORK/state-$1; }
no_identity() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }
secret_file() {	# NAME CONTENT: a 0600 file
	printf '%s\n' "$2" >"$T_WORK/$1"
	chmod 600 "$T_WORK/$1"
	echo "$T_WORK/$1"
}
# No JWT (three base64url parts) anywhere in FILE.
no_jwt() { ! grep -Eq 'eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.' "$1"; }
# What the last request of ROUTE sent: PYEXPR on it as d.
last() { jget "$(last_request "$1")" "$2"; }

BPRT=$(emu_token --bprt)
BPRT_FILE=$(secret_file bprt "$BPRT")

# --- BPRT end to end, at -vvv -------------------------------------------
fresh bprt
n=$(req_count join)
t_run -- -vvv join --bprt-file "$BPRT_FILE" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "BPRT: the join succeeds" 0 "joined: device"
t_check "BPRT: redeemed at the v1 token endpoint the discovery answer names" \
    "$([ "$(last token 'd["path"]')" = "/$EMU_TENANT_ID/oauth2/token" ] &&
       [ "$(last token 'd["body"]["grant_type"]')" = refresh_token ] &&
       [ "$(last token 'd["body"]["client_id"]')" = b90d5b8f-5503-4153-b545-b31cecfaece2 ] &&
       [ "$(last token 'd["body"]["resource"]')" = urn:ms-drs:enterpriseregistration.windows.net ] &&
       [ "$(req_count join)" -eq $((n + 1)) ]; echo $?)"
t_check "BPRT: one token request, on discovery's connection" \
    "$([ "$(req_count token)" -eq 1 ] && grep -q 'login: answer 200.*connection reused' "$ERR"; echo $?)"
t_check "BPRT at -vvv: no BPRT, access token or refresh token on stderr" \
    "$(! grep -qF "$BPRT" "$ERR" && ! grep -qF "${BPRT:20:40}" "$ERR" && no_jwt "$ERR" &&
       grep -q 'refresh_token=<redacted>' "$ERR" && grep -q '"access_token": *"<redacted>"' "$ERR" &&
       grep -q '"refresh_token": *"<redacted>"' "$ERR"; echo $?)"
t_check "BPRT: nothing secret in stdout or the state dir" \
    "$(! grep -rqF "${BPRT:20:40}" "$OUT" "$STATE" && no_jwt "$OUT" &&
       ! grep -rlE 'eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.' "$STATE" >/dev/null; echo $?)"
t_check "BPRT: the document has no token section" "$(jget "$OUT" '"token" not in d' | grep -q True; echo $?)"

n=$(req_count)
t_run -- join --bprt-file "$BPRT_FILE" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "BPRT, joined already: nothing to do" 0 "already joined as device"
t_check "BPRT, joined already: no request at all (not even the exchange)" \
    "$([ "$(req_count)" -eq "$n" ]; echo $?)"
t_run -- join --bprt-file "$BPRT_FILE" --tenant other.example --key-store software
t_expect "BPRT for another tenant than the stored identity: refused" 3 \
    "this machine is already joined to tenant $EMU_TENANT_ID"

fresh bprt-env
t_run --env "DRSJOIN_BPRT=$BPRT" -- join --tenant "$EMU_TENANT_ID" --key-store software
t_expect "BPRT from DRSJOIN_BPRT" 0
fresh bprt-stdin
t_run --in "$BPRT_FILE" -- join --bprt-file - --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "BPRT from stdin" 0

# Issue 23, item 8: -q hides notes, never a warning (the README's CI style).
fresh bprt-quiet
cp "$BPRT_FILE" "$T_WORK/bprt-open"; chmod 644 "$T_WORK/bprt-open"
t_run -- -q join --bprt-file "$T_WORK/bprt-open" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_check "-q: the warning about a BPRT file readable by others still shows, alone" \
    "$([ "$RC" -eq 0 ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
       grep -qx "drsjoin: warning: bulk enrolment token file $T_WORK/bprt-open can be read by others (mode 0644): make it 0600" "$ERR" &&
       [ ! -s "$OUT" ]; echo $?)" "exit $RC, stderr: $(head -3 "$ERR")"

fresh bprt-expired
t_run -- join --bprt-file "$(secret_file bprt-old "$(emu_token --bprt --expired)")" \
    --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "expired BPRT: refused, with the hint" 5 \
    "refused the bulk enrolment token: invalid_grant AADSTS700082: The refresh token has expired"
t_check "expired BPRT: the hint, trace and correlation ids, nothing kept" \
    "$(grep -q 'has expired or was revoked: get a new one' "$ERR" &&
       grep -q '(trace id [0-9a-f-]*, correlation id [0-9a-f-]*)' "$ERR" && no_identity; echo $?)"

# --- a user's refresh token ------------------------------------------------
fresh rt
RT=$(emu_ctl refresh-token)
n=$(req_count token)
t_run -- -vv join --refresh-token-file "$(secret_file rt "$RT")" --tenant "$EMU_TENANT_DOMAIN" \
    --key-store software
t_expect "refresh token: the join succeeds" 0 "joined: device"
t_check "refresh token: v2 endpoint, broker client id, DRS scope" \
    "$([ "$(last token 'd["path"]')" = "/$EMU_TENANT_ID/oauth2/v2.0/token" ] &&
       [ "$(last token 'd["body"]["grant_type"]')" = refresh_token ] &&
       [ "$(last token 'd["body"]["client_id"]')" = 29d9ed98-a469-4536-ade2-f981bc1d605e ] &&
       last token 'd["body"]["scope"]' | grep -q '^01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9/.default' &&
       [ "$(req_count token)" -eq $((n + 1)) ]; echo $?)"
t_check "refresh token at -vv: not on stderr; the rotated one dropped" \
    "$(! grep -qF "$RT" "$ERR" && no_jwt "$ERR" && grep -q 'new refresh token; drsjoin drops it' "$ERR" &&
       ! grep -rqF "${RT:10:40}" "$STATE" "$OUT"; echo $?)"
t_check "refresh token: the v2 token (DRS app id audience) is accepted" \
    "$([ "$(jget "$STATE/device.json" 'd["tenant_id"]')" = "$EMU_TENANT_ID" ]; echo $?)"

fresh rt-client
CID=11111111-2222-4333-8444-555555555555
RT2=$(emu_ctl refresh-token --client-id "$CID")
t_run --env "DRSJOIN_REFRESH_TOKEN=$RT2" -- join --client-id "$CID" --tenant "$EMU_TENANT_DOMAIN" \
    --key-store software
t_expect "refresh token with --client-id, from DRSJOIN_REFRESH_TOKEN" 0
t_check "--client-id is the client sent" "$([ "$(last token 'd["body"]["client_id"]')" = "$CID" ]; echo $?)"
fresh rt-wrong-client
t_run --env "DRSJOIN_REFRESH_TOKEN=$RT2" -- join --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "refresh token of another client: refused" 5 "refused the refresh token: invalid_grant AADSTS70000"
t_check "refresh token of another client: the --client-id hint, not 'expired'" \
    "$(grep -q "another app's refresh token with its --client-id" "$ERR" &&
       ! grep -q 'expired or was revoked' "$ERR"; echo $?)"

# Issue 23, item 9: the one kind of token where the other goes.
fresh bprt-as-rt
t_run -- join --refresh-token-file "$BPRT_FILE" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "a BPRT given as a refresh token: refused, with the --bprt-file hint" 5 \
    "a bulk enrolment token goes with --bprt-file"
t_check "a BPRT given as a refresh token: not 'expired or was revoked', nothing kept" \
    "$(! grep -q 'expired or was revoked' "$ERR" && no_identity; echo $?)"
fresh rt-as-bprt
t_run -- join --bprt-file "$(secret_file rt-as-bprt "$(emu_ctl refresh-token)")" \
    --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "a refresh token given as a BPRT: refused, with the --refresh-token-file hint" 5 \
    "a user's refresh token goes with --refresh-token-file"
t_check "a refresh token given as a BPRT: not 'expired or was revoked', nothing kept" \
    "$(! grep -q 'expired or was revoked' "$ERR" && no_identity; echo $?)"
fresh bprt-quoted
t_run -- join --bprt-file "$(secret_file bprt-quoted "\"$BPRT\"")" --tenant "$EMU_TENANT_DOMAIN" \
    --key-store software
t_expect "a BPRT in JSON quotes: read without them" 0 "bulk enrolment token $T_WORK/bprt-quoted: in JSON quotes"

# --- every AADSTS hint -------------------------------------------------------
hint() {	# CODE HINT-FRAGMENT
	fresh "aadsts$1"
	emu_fault --route token --aadsts "$1" --count 1
	n=$(req_count join)
	t_run -- join --bprt-file "$BPRT_FILE" --tenant "$EMU_TENANT_DOMAIN" --key-store software
	t_expect "AADSTS$1: refused with its hint" 5 "AADSTS$1"
	t_check "AADSTS$1: the hint says '$2'; no join request; nothing kept" \
	    "$(grep -qF "$2" "$ERR" && [ "$(req_count join)" -eq "$n" ] && no_identity; echo $?)"
}
hint 50076 "multi-factor authentication is required for this user"
hint 50079 "use a bulk enrolment token (--bprt-file) or --device-code"
hint 700082 "has expired or was revoked: get a new one"
hint 50155 "replication delay: try again in a few seconds"
hint 53003 "blocked by Conditional Access"

fresh login-down
emu_fault --route token --drop --count 10
t_run -- --attempts 2 join --bprt-file "$BPRT_FILE" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "login service closes the connection: network error" 4 "login:"
emu_fault clear
fresh login-html
emu_fault --route token --non-json --status 400 --count 1
t_run -- join --bprt-file "$BPRT_FILE" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "login service answers an HTML page: refused, shown as such" 5 "login: server answered 400, not JSON"

# --- bad input and usage, all before any traffic -----------------------------
n=$(req_count)
fresh input
t_run -- join --bprt-file "$T_WORK/none" --tenant "$EMU_TENANT_DOMAIN"
t_expect "missing BPRT file" 3 "$T_WORK/none: No such file or directory"
# The token itself given where its file goes ("--bprt-file $BPRT"): a
# standard-base64 token is not shown as the missing file's name (it was).
for tok in '1.AXkA/Yj2+3x7Q0G0bJxE5n/2mKl9Qz+Hd4vPz0xR/7kmNdLsR+Ug=' \
    '0.AXEAq8nQb3Z1dGhlbnRpY2F0ZWRGcm9tVGhlVG9rZW5TZXJ2aWNlX3JlZnJlc2gtdG9rZW4tdGVzdA'; do
	for opt in --bprt-file --refresh-token-file --token-file; do
		t_run -- join "$opt" "$tok" --tenant "$EMU_TENANT_DOMAIN"
		t_expect "$opt with the token instead of a file: bad input" 3 \
		    "the name is not shown: give the file that holds the"
		t_check "$opt with the token instead of a file: the token is not echoed" \
		    "$(! grep -qF "${tok:2:16}" "$ERR"; echo $?)"
	done
done
t_run -- join --bprt-file "$(secret_file empty '')" --tenant "$EMU_TENANT_DOMAIN"
t_expect "empty BPRT file" 3 "bulk enrolment token file $T_WORK/empty: empty"
t_run -- join --bprt-file "$(secret_file jwt "$(emu_token)")" --tenant "$EMU_TENANT_DOMAIN"
t_expect "an access token given as BPRT" 3 "this is a JWT (an access token?), not a bulk enrolment token"
t_run -- join --refresh-token-file "$(secret_file spaced 'abc def')" --tenant "$EMU_TENANT_DOMAIN"
t_expect "refresh token with a space" 3 "refresh token $T_WORK/spaced: contains a space or control character at offset 3"
t_check "bad secrets are never echoed" "$(! grep -q 'abc def' "$ERR"; echo $?)"
t_run -- join --bprt-file "$BPRT_FILE"
t_expect "BPRT without --tenant" 2 "with a bulk enrolment token, give --tenant ID|DOMAIN"
t_run -- join --bprt-file "$BPRT_FILE" --token-file "$BPRT_FILE" --tenant x.example
t_expect "two token sources" 2 "give one of --token-file, --bprt-file, --refresh-token-file and --device-code"
t_run --env "DRSJOIN_BPRT=$BPRT" --env "DRSJOIN_REFRESH_TOKEN=$RT" -- join --tenant x.example
t_expect "two token variables" 2 "both DRSJOIN_BPRT and DRSJOIN_REFRESH_TOKEN are set"
t_run -- join --bprt-file "$BPRT_FILE" --client-id "$CID" --tenant x.example
t_expect "--client-id with a BPRT" 2 "--client-id goes with --refresh-token-file or --device-code"
t_run -- join --client-id nope --device-code --tenant x.example
t_expect "--client-id not a GUID" 2 "--client-id: 'nope' is not an application id"
t_run -- join --device-code --tenant 'a b'
t_expect "--tenant not a tenant" 2 "--tenant: 'a b' is neither a tenant id"
t_run -- join
t_expect "no token source at all" 2 "no token: give --token-file FILE (or - for stdin), --bprt-file FILE"
t_check "bad input: no request, nothing in the state dir" "$([ "$(req_count)" -eq "$n" ] && [ -z "$(state_files)" ]; echo $?)"

# Issue 16, item 9: no copy of a BPRT, a refresh token or the access token
# is left in memory at exit, libcurl's included (its send buffer holds the
# form, its header buffers the bearer token; drs/http.c gives libcurl an
# allocator that wipes what it frees). A test build counts the copies at
# exit (DRSJOIN_TEST_SCAN_AT_EXIT, after drsjoin's own wipes) in every
# writable mapping but the stack, freed memory included. Under musl a freed
# block's bytes mostly go back to the system or are reused before exit:
# without the wipe, a copy of libcurl's (its User-Agent line) stayed in some
# runs only, and none of these secrets in ours. So these guard against a
# copy that stays; they do not prove the wipe.
scan() {	# NAME TEXT ARGS...: join with ARGS, no copy of TEXT left at exit
	local name=$1 text=$2
	shift 2
	STATE=$T_WORK/state-scan-$RANDOM
	t_run --env "DRSJOIN_TEST_SCAN_AT_EXIT=$text" "$@"
	if grep -qx 'drsjoin: test: no scan under ASan' "$ERR"; then
		t_skip "$name" "the ASan build does not scan (drs/proc.c)"
		return
	fi
	t_check "$name" "$([ "$RC" -eq 0 ] &&
	    grep -qx 'drsjoin: test: 0 copies of the scanned text in memory' "$ERR"; echo $?)" \
	    "exit $RC, $(grep 'drsjoin: test:' "$ERR")"
}
RT3=$(emu_ctl refresh-token)
scan "no copy of the refresh token left at exit" "${RT3:16:32}" \
    --env "DRSJOIN_REFRESH_TOKEN=$RT3" -- join --tenant "$EMU_TENANT_DOMAIN" --key-store software
BPRT3=$(emu_token --bprt)
scan "no copy of the BPRT left at exit" "${BPRT3:40:32}" \
    --env "DRSJOIN_BPRT=$BPRT3" -- join --tenant "$EMU_TENANT_ID" --key-store software
TOK3=$(emu_token)
scan "no copy of the access token left at exit" "${TOK3:40:32}" \
    --env "DRSJOIN_TOKEN=$TOK3" -- join --key-store software

t_done
