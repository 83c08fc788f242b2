#!/usr/bin/env bash
# Where the token goes: only to endpoints that drsjoin's own discovery named,
# never to a document's; discovery and nonce go without it (issue 10).
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
EMU_PORT=${EMU_URL##*:}
fresh() { STATE=$T_WORK/state-$1; }
no_identity() { [ ! -e "$STATE/device.json" ] && [ ! -e "$STATE/identity" ]; }
# The Authorization header of every logged request of a route, one a line ("-" when none).
auth_of() {
	$PY -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("route") == sys.argv[2]:
        print({k.lower(): v for k, v in r.get("headers", {}).items()}.get("authorization", "-"))' \
	    "$(emu_requests)" "$1"
}

# Replays: a document whose discovery.join_endpoint names another https host
# got the bearer token POSTed there. Here the other host is "localhost" (the
# emulator's certificate is valid for it), so on the old main the token
# reached it and the join succeeded.
fresh replay
t_run -- discover --tenant "$EMU_TENANT_ID"
cp "$OUT" "$T_WORK/disc.json"
$PY - "$T_WORK/disc.json" "$T_WORK/evil.json" "$EMU_PORT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["discovery"]["join_endpoint"] = "https://localhost:%s/EnrollmentServer/device/" % sys.argv[3]
json.dump(d, open(sys.argv[2], "w"))
PY
n=$(req_count join)
t_run -- join --in "$T_WORK/evil.json" --token-file "$TOK" --key-store software
t_expect "a document naming another join host is refused" 3 \
    "join: the document's discovery.join_endpoint names host localhost:$EMU_PORT, but discovery of tenant $EMU_TENANT_ID names 127.0.0.1:$EMU_PORT"
t_check "the other host got no join request, nothing stored" \
    "$([ "$(req_count join)" -eq "$n" ] && no_identity; echo $?)"

# The same for the nonce endpoint (the token could follow a 401 there).
$PY - "$T_WORK/disc.json" "$T_WORK/evil-nonce.json" "$EMU_PORT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["discovery"]["nonce_endpoint"] = "https://localhost:%s/EnrollmentServer/nonce/x/" % sys.argv[3]
json.dump(d, open(sys.argv[2], "w"))
PY
n=$(req_count nonce)
t_run -- join --in "$T_WORK/evil-nonce.json" --token-file "$TOK" --key-store software
t_expect "a document naming another nonce host is refused" 3 "discovery.nonce_endpoint names host localhost:$EMU_PORT"
t_check "no nonce request went out" "$([ "$(req_count nonce)" -eq "$n" ]; echo $?)"

# A document whose endpoints are discovery's own joins; join discovered again.
fresh honest
d=$(req_count discover)
t_run -- join --in "$T_WORK/disc.json" --token-file "$TOK" --key-store software
t_expect "a document naming discovery's own endpoints joins" 0
t_check "join discovered again (one round trip)" "$([ "$(req_count discover)" -eq $((d + 1)) ]; echo $?)"

# Replays: the token was sent on discovery (and would be on the nonce).
: >"$(emu_requests)"
fresh anon
t_run -- join --token-file "$TOK" --key-store software
t_expect "one-shot join" 0
t_check "discovery and nonce went without the token, the join with it" \
    "$([ "$(auth_of discover)" = - ] && [ "$(auth_of nonce)" = - ] &&
       [ "$(auth_of join)" = "Bearer <redacted>" ]; echo $?)"
: >"$(emu_requests)"
t_run -- discover --token-file "$TOK"
t_expect "discover --token-file" 0
t_check "discover --token-file sends no token" "$([ "$(auth_of discover)" = - ]; echo $?)"
t_check "discover --token-file: the tenant is the token's" \
    "$([ "$(jget "$OUT" 'd["tenant"]["id"]')" = "$EMU_TENANT_ID" ]; echo $?)"

# Only a 401 brings the token, once, to the same URL.
: >"$(emu_requests)"
emu_fault --route discover --status 401 --count 1
fresh 401
t_run -- join --token-file "$TOK" --key-store software
t_expect "discovery answered 401: once more with the token" 0
t_check "discovery: first without, then with the token" \
    "$([ "$(auth_of discover | tr '\n' ' ')" = "- Bearer <redacted> " ]; echo $?)"
: >"$(emu_requests)"
emu_fault --route nonce --status 401 --count 1
fresh 401n
t_run -- join --token-file "$TOK" --key-store software
t_expect "nonce answered 401: once more with the token" 0
t_check "nonce: first without, then with the token" \
    "$([ "$(auth_of nonce | tr '\n' ' ')" = "- Bearer <redacted> " ]; echo $?)"
: >"$(emu_requests)"
emu_fault --route discover --status 401 --count 5
fresh 401x
t_run -- join --token-file "$TOK" --key-store software
t_expect "discovery answers 401 with the token too: refused" 5 "discover: server answered 401"
t_check "the token was sent once only" \
    "$([ "$(auth_of discover | tr '\n' ' ')" = "- Bearer <redacted> " ] && no_identity; echo $?)"
emu_fault clear
t_run -- discover --tenant "$EMU_TENANT_ID"
t_expect "discover without any token works" 0
emu_fault --route discover --status 401 --count 1
t_run -- discover --tenant "$EMU_TENANT_ID"
t_expect "without a token a 401 is the answer" 5 "discover: server answered 401"
emu_fault clear

t_done
