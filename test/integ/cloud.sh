#!/usr/bin/env bash
# --cloud and --resolve: a US Government join against the emulator under the
# real host names, with every TLS check intact; the token's audience must be
# the discovered service's, refused before any join request.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
fresh() { STATE=$T_WORK/state-$1; }
PORT=${EMU_URL##*:}
GOV=enterpriseregistration.microsoftonline.us
GOVLOGIN=login.microsoftonline.us
GOV_ARGS=(--cloud usgov --discovery-url "https://$GOV:$PORT"
    --resolve "$GOV:$PORT:127.0.0.1" --resolve "$GOVLOGIN:$PORT:127.0.0.1")
BPRT=$T_WORK/bprt
emu_token --bprt >"$BPRT"
chmod 600 "$BPRT"
hosts() {	# the Host header of every request of ROUTE, one a line
	"$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["route"] == sys.argv[2]: print(r["headers"]["host"])' "$(emu_requests)" "$1" | sort -u
}

fresh gov
t_run -- "${GOV_ARGS[@]}" join --bprt-file "$BPRT" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "usgov through --resolve: joined with a BPRT" 0 "joined: device"
t_check "usgov: discovery, nonce and join went to the US Government DRS host, the BPRT to its login host" \
    "$([ "$(hosts discover)" = "$GOV:$PORT" ] && [ "$(hosts join)" = "$GOV:$PORT" ] &&
       [ "$(hosts token)" = "$GOVLOGIN:$PORT" ] &&
       [ "$(jget "$(last_request token)" 'd["body"]["resource"]')" = "urn:ms-drs:$GOV" ]; echo $?)"
t_check "usgov: the stored endpoints name the cloud's hosts" \
    "$(grep -q "https://$GOV:$PORT/EnrollmentServer/device/" "$STATE/device.json"; echo $?)"

# A public-cloud token sent to the US Government service: refused here.
fresh gov-mismatch
n=$(req_count join)
t_run -- "${GOV_ARGS[@]}" join --token-file "$(token_file)" --key-store software
t_expect "a public-cloud token against usgov: refused before any join request" 3 \
    "token: audience 'urn:ms-drs:enterpriseregistration.windows.net' is not this service's: discovery names JoinResourceId 'urn:ms-drs:$GOV'"
t_check "audience mismatch: no join request, nothing kept" \
    "$([ "$(req_count join)" -eq "$n" ] && [ ! -e "$STATE/device.json" ] &&
       [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; echo $?)"
fresh gov-token
t_run -- "${GOV_ARGS[@]}" join --token-file "$(token_file --aud "urn:ms-drs:$GOV")" --key-store software
t_expect "a usgov token against usgov: joined" 0
fresh gov-v2
t_run -- "${GOV_ARGS[@]}" join --token-file "$(token_file --aud 01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9)" \
    --key-store software
t_expect "the DRS application id is every cloud's audience" 0

# No AuthenticationService in the answer: the BPRT goes to the cloud's login
# host (443 there, where nothing listens: the connection is refused).
emu_ctl config --no-auth-service >/dev/null
fresh gov-noauth
n=$(req_count token)
t_run -- "${GOV_ARGS[@]}" --resolve "$GOVLOGIN:443:127.0.0.1" --attempts 1 \
    join --bprt-file "$BPRT" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "no AuthenticationService: the cloud's login host is used" 4 \
    "login: cannot connect to $GOVLOGIN:443"
t_check "no AuthenticationService: no token request reached the emulator" \
    "$([ "$(req_count token)" -eq "$n" ]; echo $?)"
emu_ctl config --auth-service >/dev/null

# Without --discovery-url the cloud picks the host (nothing listens on 443 here).
fresh china
t_run --env DRSJOIN_DISCOVERY_URL= --env DRSJOIN_CLOUD=china -- --attempts 1 \
    --resolve enterpriseregistration.partner.microsoftonline.cn:443:127.0.0.1 \
    discover --tenant "$EMU_TENANT_DOMAIN"
t_check "DRSJOIN_CLOUD=china: discovery goes to the China DRS host" \
    "$([ "$RC" -eq 4 ] && grep -q 'enterpriseregistration.partner.microsoftonline.cn:443' "$ERR"; echo $?)"
t_run --env DRSJOIN_DISCOVERY_URL= -- --cloud usgov --attempts 1 --resolve "$GOV:443:127.0.0.1" \
    discover --tenant "$EMU_TENANT_DOMAIN"
t_check "--cloud usgov: discovery goes to the US Government DRS host" \
    "$([ "$RC" -eq 4 ] && grep -q "$GOV:443" "$ERR"; echo $?)"

# TLS stays on: a name the certificate does not carry is refused.
t_run -- --discovery-url "https://drs.example.net:$PORT" --resolve "drs.example.net:$PORT:127.0.0.1" \
    --attempts 1 discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "--resolve keeps host name verification" 4 "TLS: the certificate of drs.example.net:$PORT cannot be verified"

t_run -- --cloud mars status
t_expect "--cloud with an unknown cloud" 2 "--cloud 'mars': expected public|usgov|china"
t_run --env DRSJOIN_CLOUD=mars -- status
t_expect "DRSJOIN_CLOUD with an unknown cloud" 2 "(from DRSJOIN_CLOUD)"
for bad in "host:443" "host:0:127.0.0.1" "host:443:not-an-ip" ":443:127.0.0.1" "host:443:127.0.0.1,10.0.0.1"; do
	t_run -- --resolve "$bad" discover --tenant "$EMU_TENANT_DOMAIN"
	t_expect "--resolve '$bad' refused" 2 "expected HOST:PORT:ADDRESS"
done
for v6 in "h.example:443:[::1]" "h.example:443:::1"; do
	t_run -- --resolve "$v6" --attempts 1 --discovery-url https://h.example:443 discover --tenant x.example
	t_check "--resolve '$v6': an IPv6 address is taken" "$([ "$RC" -eq 4 ] && grep -q 'h.example:443' "$ERR"; echo $?)"
done

t_done
