#!/usr/bin/env bash
# join --refresh-token-file or --device-code without --tenant: the sign-in
# goes to the cloud's login host, authority "organizations" (never to a
# document's endpoint), the access token's tid names the tenant, and that
# tenant is then discovered. The cloud's hosts are on port 443, so the
# emulator runs there, in a network namespace of this test's own.
if [ -z "${DRSJOIN_ORG_NETNS:-}" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null &&
	    unshare -n true 2>/dev/null; then
		exec unshare -n env DRSJOIN_ORG_NETNS=1 bash -c \
		    'ip link set lo up && exec bash "$0"' "$0"
	fi
	echo "skip - organizations: needs root, ip(8) and unshare -n (port 443 in a namespace)"
	exit 0
fi
. "$(dirname "$0")/../lib-integ.sh"

OTHER_ID=5c2f8a10-1b7e-4c3d-9a6f-0e1d2c3b4a59
OTHER=fabrikam.example
emu_start --port 443 --extra-tenant "$OTHER_ID=$OTHER" >/dev/null ||
    { t_fail "emulator starts on 443" "emu_start failed"; exit 1; }
fresh() { STATE=$T_WORK/state-$1; }
no_identity() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }
DRS=enterpriseregistration.windows.net
LOGIN=login.microsoftonline.com
# The public cloud under its real names, every TLS check intact.
CLOUD=(--resolve "$DRS:443:127.0.0.1" --resolve "$LOGIN:443:127.0.0.1")
ENV=(--env "DRSJOIN_DISCOVERY_URL=https://$DRS")
secret_file() {	# NAME CONTENT: a 0600 file
	printf '%s\n' "$2" >"$T_WORK/$1"
	chmod 600 "$T_WORK/$1"
	echo "$T_WORK/$1"
}
last() { jget "$(last_request "$1")" "$2"; }
# ROUTE's requests as "host path", one a line.
seen() {
	"$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["route"] == sys.argv[2]: print(r["headers"]["host"], r["path"].split("?")[0])' \
	    "$(emu_requests)" "$1"
}

# --- a refresh token of the other tenant, no --tenant ---------------------------
fresh rt
RT=$(emu_ctl refresh-token --tid "$OTHER_ID" --upn "bob@$OTHER")
n=$(req_count token)
t_run "${ENV[@]}" -- "${CLOUD[@]}" join --refresh-token-file "$(secret_file rt "$RT")" \
    --key-store software
t_expect "refresh token without --tenant: joined" 0 "join: signed in for tenant $OTHER_ID"
t_check "refresh token without --tenant: redeemed at the cloud's login host, /organizations, v2" \
    "$([ "$(req_count token)" -eq $((n + 1)) ] &&
       [ "$(seen token | tail -n 1)" = "$LOGIN /organizations/oauth2/v2.0/token" ] &&
       [ "$(last token 'd["body"]["grant_type"]')" = refresh_token ]; echo $?)" "$(seen token)"
t_check "refresh token without --tenant: the token's tenant discovered, joined there" \
    "$([ "$(seen discover | tail -n 1)" = "$DRS /$OTHER_ID/Discover" ] &&
       [ "$(jget "$STATE/device.json" 'd["tenant_id"]')" = "$OTHER_ID" ] &&
       [ "$(jget "$STATE/device.json" 'd["upn"]')" = "bob@$OTHER" ]; echo $?)" "$(seen discover)"

# A document that names a token endpoint but no tenant: the refresh token
# still goes only to the cloud's login host.
fresh rt-doc
printf '{"schema": "drsjoin/1", "discovery": {"token_endpoint": "https://evil.example/x/oauth2/token"}}\n' \
    >"$T_WORK/evil.json"
RT=$(emu_ctl refresh-token)
n=$(req_count token)
t_run "${ENV[@]}" -- "${CLOUD[@]}" -q --attempts 1 join --in "$T_WORK/evil.json" \
    --refresh-token-file "$(secret_file rt2 "$RT")" --key-store software
t_expect "a document's token endpoint, no tenant: the document is then refused as for any token" 3 \
    "the document's discovery.token_endpoint names host evil.example"
t_check "a document's token endpoint, no tenant: the refresh token went to the cloud's login host" \
    "$([ "$(req_count token)" -eq $((n + 1)) ] &&
       [ "$(seen token | tail -n 1)" = "$LOGIN /organizations/oauth2/v2.0/token" ] && no_identity; echo $?)" \
    "exit $RC; $(head -c 300 "$ERR")"

# --- the device code, no --tenant -------------------------------------------------
fresh dc
"$DRSJOIN" "${CLOUD[@]}" --cacert "$EMU_CA" --state-dir "$STATE" --discovery-url "https://$DRS" \
    join --device-code --key-store software </dev/null >"$OUT" 2>"$ERR" &
bg=$!
i=0
until emu_ctl approve --upn "carol@$OTHER" >/dev/null 2>&1; do
	i=$((i + 1)); [ "$i" -lt 600 ] && kill -0 "$bg" 2>/dev/null || break
	sleep 0.1
done
RC=0; wait "$bg" || RC=$?
t_check "device code without --tenant: /organizations at the cloud's login host, joined to the signed-in user's tenant" \
    "$([ "$RC" -eq 0 ] &&
       seen token | grep -qx "$LOGIN /organizations/oauth2/v2.0/devicecode" &&
       [ "$(jget "$STATE/device.json" 'd["tenant_id"]')" = "$OTHER_ID" ] &&
       [ "$(jget "$STATE/device.json" 'd["upn"]')" = "carol@$OTHER" ]; echo $?)" \
    "exit $RC; $(tail -n 3 "$ERR")"

# --- negative: a BPRT still needs --tenant; a refused sign-in ---------------------
fresh bprt
n=$(req_count)
t_run "${ENV[@]}" -- "${CLOUD[@]}" join --bprt-file "$(secret_file bprt "$(emu_token --bprt)")" \
    --key-store software
t_expect "a BPRT without --tenant: a usage error, no request" 2 \
    "with a bulk enrolment token, give --tenant ID|DOMAIN"
t_check "a BPRT without --tenant: nothing sent, nothing kept" \
    "$([ "$(req_count)" -eq "$n" ] && no_identity; echo $?)"
fresh rt-bad
n=$(req_count join)
t_run "${ENV[@]}" -- "${CLOUD[@]}" join --refresh-token-file "$(secret_file rt3 "0.AAAAunknown$RANDOM")" \
    --key-store software
t_expect "an unknown refresh token at /organizations: refused" 5 \
    "login: $LOGIN refused the refresh token: invalid_grant"
t_check "refused at /organizations: no discovery, no join, nothing kept" \
    "$([ "$(req_count join)" -eq "$n" ] && no_identity; echo $?)"

t_done
