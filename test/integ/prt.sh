#!/usr/bin/env bash
# After the join (issue 25): drsjoin prt, token, cookie and status --check
# against the emulator's MS-OAPXBC routes, software keys (prt_tpm.sh: TPM
# keys). Each refusal: its exit code, its one line, nothing stored.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
GRAPH=https://graph.microsoft.com
secret_file() {	# NAME CONTENT: a 0600 file
	printf '%s\n' "$2" >"$T_WORK/$1"
	chmod 600 "$T_WORK/$1"
	echo "$T_WORK/$1"
}
# The one stored record, and what a hostile answer must leave unchanged.
prt_file() { ls "$STATE"/prt/*.json 2>/dev/null | head -1; }
prt_sums() { (cd "$STATE" && find prt tokens -type f 2>/dev/null | sort | xargs -r sha256sum); }
rec() { jget "$(prt_file)" "$1"; }
no_jwt() { ! grep -Eq 'eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.' "$1"; }
# Sets a time member of the stored record (KEY_at and its text) SECS from now.
set_time() {
	$PY - "$(prt_file)" "$1" "$2" <<'EOF'
import json, sys, time
p, k, d = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(p)); t = int(time.time()) + d
r[k + "_at"] = t; r[k] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
json.dump(r, open(p, "w"))
EOF
}

STATE=$T_WORK/state
RT_FILE=$(secret_file rt "$(emu_ctl refresh-token)")

t_run -- prt --refresh-token-file "$RT_FILE"
t_expect "not joined: prt refused" 8 "prt: not joined"
t_run -- token --resource "$GRAPH"
t_expect "not joined: token refused" 8 "token: not joined"

t_run -- join --token-file "$(token_file)" --key-store software
t_expect "join (software keys)" 0
DID=$(jget "$STATE/device.json" 'd["device_id"]')

# --- usage ---------------------------------------------------------------------
t_run -- prt
t_expect "prt without a credential: usage" 2 "no refresh token: give --refresh-token-file FILE"
t_run -- prt --renew --remove
t_expect "prt --renew --remove: usage" 2 "give one of --refresh-token-file"
t_run -- prt --username u@contoso.example
t_expect "prt --username alone: usage" 2 "--username and --password-file go together"
t_run -- token
t_expect "token without --resource or --scope: usage" 2 "give one of --resource and --scope"
t_run -- token --resource "$GRAPH" --client-id nope
t_expect "token --client-id not a GUID: usage" 2 "is not a GUID"
t_run -- token --resource "$GRAPH"
t_expect "token before any prt: names drsjoin prt" 3 "no PRT stored: sign in with 'drsjoin prt' first"

# --- prt with a refresh token, at -vvv ------------------------------------------
n=$(req_count)
t_run -- -vvv prt --refresh-token-file "$RT_FILE"
t_expect "prt with a refresh token" 0
PRT=$(rec 'd["prt"]')
t_check "prt: the summary names user, tenant and times, and no secret" \
    "$([ "$(jget "$OUT" 'd["user"]')" = user@contoso.example ] &&
       [ "$(jget "$OUT" 'd["tenant"]')" = "$EMU_TENANT_ID" ] &&
       [ "$(jget "$OUT" 'd["device_id"]')" = "$DID" ] &&
       jget "$OUT" 'd["obtained"] and d["expires"] and "prt" not in d and "session_key_jwe" not in d' | grep -q True &&
       ! grep -qF "$PRT" "$OUT" && no_jwt "$OUT"; echo $?)"
t_check "prt: stored as prt/OID.json, 0600, with the session key still wrapped" \
    "$(f=$(prt_file); [ "$(stat -c %a "$f")" = 600 ] && [ "$(stat -c %a "$STATE/prt")" = 700 ] &&
       [ "$(basename "$f")" = "$(jget "$OUT" 'd["oid"]').json" ] &&
       [ "$(rec 'd["session_key_jwe"].count(".")')" = 4 ] &&
       [ "$(rec 'd["schema"]')" = drsjoin-prt/1 ]; echo $?)"
t_check "prt: a nonce, then the RS256 request to the device's tenant" \
    "$(last=$(last_request token); [ "$(jget "$last" 'd["path"]')" = "/$EMU_TENANT_ID/oauth2/token" ] &&
       [ "$(jget "$last" 'd["body"]["grant_type"]')" = urn:ietf:params:oauth:grant-type:jwt-bearer ] &&
       [ "$(req_count)" -eq $((n + 2)) ]; echo $?)"
t_check "prt at -vvv: no PRT, refresh token, session key or request JWT on stderr" \
    "$(! grep -qF "$PRT" "$ERR" && ! grep -qF "$(cat "$RT_FILE")" "$ERR" && no_jwt "$ERR" &&
       ! grep -qF "$(rec 'd["session_key_jwe"]')" "$ERR" &&
       grep -q '"refresh_token": "<redacted>"' "$ERR" && grep -q '"session_key_jwe": "<redacted>' "$ERR"; echo $?)"

t_run --env "DRSJOIN_REFRESH_TOKEN=$(cat "$RT_FILE")" -- prt
t_expect "prt with DRSJOIN_REFRESH_TOKEN" 0
t_run --in "$RT_FILE" -- prt --refresh-token-file -
t_expect "prt with the refresh token on stdin" 0
t_check "prt again for the same user: one record, replaced" \
    "$([ "$(ls "$STATE/prt" | wc -l)" = 1 ] && [ "$(rec 'd["prt"]')" != "$PRT" ]; echo $?)"
PRT=$(rec 'd["prt"]')

t_run -- prt --refresh-token-file "$(secret_file rt-bad not-a-refresh-token)"
t_expect "prt with an unknown refresh token: refused" 5 "refused the refresh token: invalid_grant"
t_check "refused: the stored PRT unchanged" "$([ "$(rec 'd["prt"]')" = "$PRT" ]; echo $?)"

# --- prt --device-code: a person signs in elsewhere, then the PRT request ------------
emu_ctl config --device-code-interval 1 >/dev/null
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    "$DRSJOIN" prt --device-code </dev/null >"$OUT" 2>"$ERR" &
BG=$!
for _ in $(seq 100); do
	emu_ctl approve --upn "dc@$EMU_TENANT_DOMAIN" >/dev/null 2>&1 && break
	sleep 0.2
done
RC=0; wait "$BG" || RC=$?
t_check "prt --device-code: the code on stderr, approved, the PRT of that user stored" \
    "$([ "$RC" -eq 0 ] && grep -q 'To sign in' "$ERR" && [ "$(jget "$OUT" 'd["user"]')" = "dc@$EMU_TENANT_DOMAIN" ] &&
       [ -f "$STATE/prt/$(jget "$OUT" 'd["oid"]').json" ] && ! grep -q 'eyJ' "$ERR"; echo $?)" "exit $RC: $(cat "$ERR")"
t_run -- prt --remove --user "dc@$EMU_TENANT_DOMAIN"
t_check "prt --remove of the device-code user" "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["removed"]')" = True ]; echo $?)"
CONF=$T_WORK/prt.conf
printf 'refresh-token-file = %s\n' "$RT_FILE" >"$CONF"
chmod 600 "$CONF"
t_run --env DRSJOIN_CONFIG="$CONF" -- prt
t_expect "prt with the config file's refresh-token-file" 0

# --- token ----------------------------------------------------------------------
n=$(req_count)
t_run -- -vvv token --resource "$GRAPH"
t_expect "token --resource" 0
AT=$(jget "$OUT" 'd["access_token"]')
t_check "token: JSON with access_token, expires_on, token_type, resource" \
    "$(jget "$OUT" 'd["token_type"] == "Bearer" and d["resource"] == "'"$GRAPH"'" and d["expires_on"] > 0' | grep -q True &&
       [ "$(req_count)" -eq $((n + 2)) ]; echo $?)"
t_check "token: the access token carries this device's id (deviceid)" \
    "$($PY -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))["deviceid"])' "$AT" | grep -qx "$DID"; echo $?)"
t_check "token at -vvv: no PRT, access token or JWE answer on stderr" \
    "$(! grep -qF "$PRT" "$ERR" && ! grep -qF "${AT:30:40}" "$ERR" && no_jwt "$ERR" &&
       grep -q 'application/jwt' "$ERR"; echo $?)"
t_check "token: cached 0600 under tokens/OID/" \
    "$([ "$(stat -c %a "$(find "$STATE/tokens" -type f | head -1)")" = 600 ]; echo $?)"
n=$(req_count)
t_run -- token --raw --resource "$GRAPH"
t_check "token --raw: the cached token alone, no request" \
    "$([ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = "$AT" ] && [ "$(req_count)" -eq "$n" ]; echo $?)"
t_run -- token --raw --fresh --resource "$GRAPH"
t_check "token --fresh: a new request, a new token" \
    "$([ "$RC" -eq 0 ] && [ "$(cat "$OUT")" != "$AT" ] && [ "$(req_count)" -eq $((n + 2)) ]; echo $?)"
# The cache is written without fsync (a lost entry is a miss): what a power
# loss can leave - empty, torn, zeros, another entry's bytes - is a miss too.
rm -rf "$STATE/tokens"
t_run -- token --raw --resource "$GRAPH"
cached=$(find "$STATE/tokens" -type f)
good=$(cat "$cached")
other_resource=$($PY -c 'import json,sys; d=json.loads(sys.argv[1]); d["resource"]="https://vault.azure.net"; print(json.dumps(d))' "$good")
other_client=$($PY -c 'import json,sys; d=json.loads(sys.argv[1]); d["client_id"]="04b07795-8ddb-461a-bbee-02f9e1bf7b46"; print(json.dumps(d))' "$good")
for torn in "" "${good:0:40}" '{"access_token":"x","expires_on":"soon"}' 'null' zeros \
    "$other_resource" "$other_client"; do
	if [ "$torn" = zeros ]; then head -c 1362 /dev/zero >"$cached"; else printf '%s' "$torn" >"$cached"; fi
	n=$(req_count)
	t_run -- token --raw --resource "$GRAPH"
	t_check "token: a torn cache entry (${#torn} bytes) is a miss: a new token, cached again" \
	    "$([ "$RC" -eq 0 ] && [ -n "$(cat "$OUT")" ] && [ "$(cat "$OUT")" != x ] &&
	       [ "$(req_count)" -eq $((n + 2)) ] && [ "$(jget "$cached" 'd["access_token"]')" = "$(cat "$OUT")" ] &&
	       [ ! -s "$ERR" ]; echo $?)"
done
# An entry too large to be one, or a link planted in its place: not read,
# not followed, said in a note; the new token replaces it with a file.
printf '%s' "$good" >"$T_WORK/elsewhere"
head -c 200000 /dev/zero | tr '\0' a >"$cached"
n=$(req_count)
t_run -- token --raw --resource "$GRAPH"
t_check "token: a 200 KB cache entry is a miss with a note, exit 0, replaced" \
    "$([ "$RC" -eq 0 ] && [ "$(req_count)" -eq $((n + 2)) ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
       grep -q '^drsjoin: token: the cached entry is not used (.*larger than 131072 bytes): a new token replaces it$' "$ERR" &&
       [ "$(jget "$cached" 'd["access_token"]')" = "$(cat "$OUT")" ]; echo $?)" "exit $RC: $(head -c 300 "$ERR")"
rm -f "$cached"; ln -s "$T_WORK/elsewhere" "$cached"
n=$(req_count)
t_run -- token --raw --resource "$GRAPH"
t_check "token: a link planted as the cache entry is not followed: a miss with a note, the link replaced, its target untouched" \
    "$([ "$RC" -eq 0 ] && [ "$(req_count)" -eq $((n + 2)) ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
       grep -q '^drsjoin: token: the cached entry is not used (.*a symbolic link, refused): a new token replaces it$' "$ERR" &&
       [ ! -L "$cached" ] && [ -f "$cached" ] && [ "$(cat "$T_WORK/elsewhere")" = "$good" ] &&
       [ "$(cat "$OUT")" != "$(jget "$T_WORK/elsewhere" 'd["access_token"]')" ]; echo $?)" "exit $RC: $(head -c 300 "$ERR")"
t_run -- token --scope "$GRAPH/.default" --client-id 04b07795-8ddb-461a-bbee-02f9e1bf7b46
t_check "token --scope with another client" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["scope"]')" = "$GRAPH/.default" ] &&
       [ "$(jget "$(last_request token)" 'd["body"]["grant_type"]')" = urn:ietf:params:oauth:grant-type:jwt-bearer ]; echo $?)"

# The AES-GCM variant of the encrypted answer (12-byte IV, the header as AAD).
emu_ctl config --prt-jwe-gcm >/dev/null
t_run -- token --raw --fresh --resource "$GRAPH"
emu_ctl config --no-prt-jwe-gcm >/dev/null
t_check "token: an AES-GCM answer is decrypted too" "$([ "$RC" -eq 0 ] && [ -s "$OUT" ]; echo $?)" "$(cat "$ERR")"

# A PRT last renewed over 4 hours ago is renewed before the token request.
set_time renewed -15000
t_run -- -v token --fresh --resource "$GRAPH"
t_check "token: a PRT renewed over 4 h ago is renewed first, and stored" \
    "$([ "$RC" -eq 0 ] && grep -q 'renewing it' "$ERR" && [ "$(rec 'd["prt"]')" != "$PRT" ] &&
       $PY -c 'import json,sys,time; r=json.load(open(sys.argv[1])); sys.exit(time.time()-r["renewed_at"] > 60)' "$(prt_file)"; echo $?)"
PRT=$(rec 'd["prt"]')

# --- prt --renew ----------------------------------------------------------------
SKJ=$(rec 'd["session_key_jwe"]')
t_run -- prt --renew
t_expect "prt --renew" 0
t_check "prt --renew: a new PRT, the same session key" \
    "$([ "$(rec 'd["prt"]')" != "$PRT" ] && [ "$(rec 'd["session_key_jwe"]')" = "$SKJ" ] &&
       [ "$(jget "$OUT" 'd["user"]')" = user@contoso.example ]; echo $?)"
PRT=$(rec 'd["prt"]')

# Killed just before the record is replaced: the old record whole, no temporary.
sum=$(prt_sums)
t_run --env DRSJOIN_TEST_KILL_AT=prt-save -- prt --renew
t_check "prt --renew killed before its write: the old record whole, no temporary left" \
    "$([ "$RC" -eq 137 ] && [ "$(prt_sums)" = "$sum" ] && [ "$(ls -A "$STATE/prt" | wc -l)" = 1 ]; echo $?)" \
    "exit $RC, $(ls -A "$STATE/prt")"
t_run -- prt --renew
t_expect "prt --renew after the kill" 0
PRT=$(rec 'd["prt"]')

# --- cookie ---------------------------------------------------------------------
t_run -- cookie
t_expect "cookie" 0
C1=$(jget "$OUT" 'd["nonce"]')
t_check "cookie: name, value, domain, nonce" \
    "$(jget "$OUT" 'd["name"] == "x-ms-RefreshTokenCredential" and d["domain"] == "127.0.0.1" and d["value"].count(".") == 2' | grep -q True; echo $?)"
V=$(jget "$OUT" 'd["value"]')
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --cacert "$EMU_CA" \
    -H "Cookie: x-ms-RefreshTokenCredential=$V" \
    "$EMU_URL/$EMU_TENANT_ID/oauth2/authorize?client_id=29d9ed98-a469-4536-ade2-f981bc1d605e&response_type=code&redirect_uri=https://localhost/cb&resource=$GRAPH&sso_nonce=$C1")
t_check "cookie: the service signs the browser in with it (302 with a code)" \
    "$(case $code in "302 https://localhost/cb?code="*) echo 0 ;; *) echo 1 ;; esac)" "got $code"
t_run -- cookie
t_check "cookie: a fresh nonce each time" "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["nonce"]')" != "$C1" ]; echo $?)"

# --- status ---------------------------------------------------------------------
t_run -- status --check
t_check "status --check: device_auth ok, the PRT listed without secrets" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["device_auth"]')" = ok ] &&
       [ "$(jget "$OUT" 'd["prts"][0]["user"]')" = user@contoso.example ] &&
       jget "$OUT" 'd["prts"][0]["renewed"] and d["prts"][0]["expires"]' >/dev/null &&
       ! grep -qF "$PRT" "$OUT"; echo $?)"
t_run -- status
t_check "status: no request without --check" "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" '"device_auth" in d')" = False ]; echo $?)"

# --- password grant, two users --------------------------------------------------
printf 'S3cret-pw\n' | emu_ctl user --upn pw@contoso.example >/dev/null
PW=$(secret_file pw S3cret-pw)
t_run -- prt --username pw@contoso.example --password-file "$(secret_file pw-bad wrong)"
t_expect "prt with a wrong password: refused" 5 "AADSTS50126"
t_check "wrong password: nothing stored for that user" "$([ "$(ls "$STATE/prt" | wc -l)" = 1 ]; echo $?)"
t_run -- prt --username pw@contoso.example --password-file "$PW"
t_expect "prt with a password" 0
PWOID=$(jget "$OUT" 'd["oid"]')
t_check "password: the request used client 38aa3b87 (RS256 claims not logged: the summary names the user)" \
    "$([ "$(jget "$OUT" 'd["user"]')" = pw@contoso.example ] && [ "$(ls "$STATE/prt" | wc -l)" = 2 ]; echo $?)"
t_run -- token --resource "$GRAPH"
t_expect "two users stored, no --user: usage" 2 "2 users have a PRT here"
t_run -- token --resource "$GRAPH" --user PW@contoso.example
t_check "token --user UPN (any case)" "$([ "$RC" -eq 0 ] && [ -n "$(jget "$OUT" 'd["access_token"]')" ]; echo $?)"
t_run -- prt --remove --user pw@contoso.example
t_check "prt --remove --user: removed, with its cached tokens" "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["removed"]')" = True ] &&
    [ "$(ls "$STATE/prt" | wc -l)" = 1 ] && [ ! -e "$STATE/tokens/$PWOID" ] && [ -n "$(ls "$STATE/tokens")" ]; echo $?)"
t_run -- prt --remove --user pw@contoso.example
t_check "prt --remove again: removed false, exit 0" "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["removed"]')" = False ]; echo $?)"

# --- no copy of a secret left in memory at exit (as login.sh: a guard, not a proof) ---
scan() {	# NAME TEXT ARGS...: drsjoin ARGS, no copy of TEXT left at exit
	local name=$1 text=$2
	shift 2
	t_run --env "DRSJOIN_TEST_SCAN_AT_EXIT=$text" -- "$@"
	if grep -qx 'drsjoin: test: no scan under ASan' "$ERR"; then
		t_skip "$name" "the ASan build does not scan (drs/proc.c)"
		return
	fi
	t_check "$name" "$([ "$RC" -eq 0 ] &&
	    grep -qx 'drsjoin: test: 0 copies of the scanned text in memory' "$ERR"; echo $?)" \
	    "exit $RC, $(grep 'drsjoin: test:' "$ERR")"
}
PRT=$(rec 'd["prt"]')
scan "token: no copy of the PRT in memory at exit" "$PRT" token --fresh --resource "$GRAPH"
scan "prt --renew: no copy of the old PRT in memory at exit" "$PRT" prt --renew
scan "cookie: no copy of the PRT in memory at exit" "$(rec 'd["prt"]')" cookie
scan "prt with a password: no copy of it in memory at exit" S3cret-pw \
    prt --username pw@contoso.example --password-file "$PW"
t_run -- prt --remove --user pw@contoso.example

# --- hostile answers: nothing stored ---------------------------------------------
for f in malformed wrong_tenant; do
	before=$(prt_sums)
	emu_fault --route prt --count 2 --prt-answer "$f"
	t_run -- prt --refresh-token-file "$RT_FILE"
	emu_fault clear
	t_check "prt answer $f: exit 4, one line, nothing stored" \
	    "$([ "$RC" -eq 4 ] && [ "$(errors)" -eq 1 ] && [ ! -s "$OUT" ] && [ "$(prt_sums)" = "$before" ]; echo $?)" \
	    "exit $RC: $(cat "$ERR")"
done
t_check "wrong tenant: the line names both tenants" \
    "$(grep -q "for tenant 00000000-0000-4000-8000-00000000bad1, not the device's tenant $EMU_TENANT_ID" "$ERR"; echo $?)"
for f in malformed wrong_ctx bad_padding wrong_tenant; do
	before=$(prt_sums)
	emu_fault --route prt --count 2 --prt-answer "$f"
	t_run -- token --fresh --resource "$GRAPH"
	emu_fault clear
	t_check "token answer $f: exit 4, one line, nothing cached" \
	    "$([ "$RC" -eq 4 ] && [ "$(errors)" -eq 1 ] && [ ! -s "$OUT" ] && [ "$(prt_sums)" = "$before" ]; echo $?)" \
	    "exit $RC: $(cat "$ERR")"
done
emu_fault --route prt --count 20 --status 429 --retry-after 1
t_run -- --attempts 2 token --fresh --resource "$GRAPH"
emu_fault clear
t_expect "throttled token endpoint: exit 4" 4 "throttled"

# --- trust: only the service the device joined through ---------------------------
n=$(req_count)
t_run --env DRSJOIN_DISCOVERY_URL=https://other.example -- token --fresh --resource "$GRAPH"
t_expect "another --discovery-url than the join's: refused before any request" 2 \
    "name it with --discovery-url to send PRT requests"
t_check "no request went out" "$([ "$(req_count)" -eq "$n" ]; echo $?)"

# --- a moved state dir keeps its PRT ----------------------------------------------
mv "$STATE" "$T_WORK/moved"
STATE=$T_WORK/moved
t_run -- token --fresh --resource "$GRAPH"
t_expect "a moved state dir: token with its stored PRT" 0

# --- revoked, expired, disabled, deleted ------------------------------------------
before=$(prt_sums)
emu_ctl revoke-prt >/dev/null
t_run -- token --fresh --resource "$GRAPH"
t_expect "revoked PRT: token refused, naming drsjoin prt" 5 "sign in again with 'drsjoin prt'"
t_run -- prt --renew
t_expect "revoked PRT: renewal refused" 5 "AADSTS70000"
t_check "revoked: the stored PRT and cache unchanged" "$([ "$(prt_sums)" = "$before" ]; echo $?)"
t_run -- prt --refresh-token-file "$RT_FILE"
t_expect "after the revocation: prt signs in again" 0
emu_ctl age-prt --upn user@contoso.example --seconds 1300000 >/dev/null
t_run -- token --fresh --resource "$GRAPH"
t_expect "PRT expired at the service: refused" 5 "sign in again with 'drsjoin prt'"
set_time expires -10
n=$(req_count)
t_run -- token --fresh --resource "$GRAPH"
t_expect "PRT expired locally: refused before any request" 5 "expired at"
t_check "expired locally: no request" "$([ "$(req_count)" -eq "$n" ]; echo $?)"
t_run -- prt --refresh-token-file "$RT_FILE"
emu_ctl device --device-id "$DID" --disable >/dev/null
t_run -- prt --refresh-token-file "$RT_FILE"
t_expect "disabled device: prt refused" 5 "deleted or disabled in the tenant"
t_run -- status --check
t_check "disabled device: status --check exits 5, one line, device_auth disabled in the document" \
    "$([ "$RC" -eq 5 ] && [ "$(errors)" -eq 1 ] && grep -q "was disabled in tenant $EMU_TENANT_ID" "$ERR" &&
       [ "$(jget "$OUT" 'd["device_auth"]')" = disabled ]; echo $?)"
emu_ctl device --device-id "$DID" --enable >/dev/null

# --- a damaged record --------------------------------------------------------------
cp "$(prt_file)" "$T_WORK/good.json"
printf '{"schema": 1}' >"$(prt_file)"
t_run -- token --fresh --resource "$GRAPH"
t_expect "damaged PRT record: refused naming the file" 7 "$(prt_file):"
cp "$T_WORK/good.json" "$(prt_file)"
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); r["device_id"]="00000000-0000-4000-8000-0000000000d1"; json.dump(r, open(sys.argv[1],"w"))' "$(prt_file)"
n=$(req_count)
t_run -- token --fresh --resource "$GRAPH"
t_expect "a PRT record of another device: refused before any request" 7 \
    "was issued to device 00000000-0000-4000-8000-0000000000d1, not this one"
t_check "another device's PRT: no request" "$([ "$(req_count)" -eq "$n" ]; echo $?)"
cp "$T_WORK/good.json" "$(prt_file)"

# --- leave and join --force remove every PRT ------------------------------------
t_run -- join --force --token-file "$(token_file)" --key-store software
t_check "join --force: the stored PRTs and tokens go" \
    "$([ "$RC" -eq 0 ] && [ ! -e "$STATE/prt" ] && [ ! -e "$STATE/tokens" ]; echo $?)"
t_run -- prt --refresh-token-file "$RT_FILE"
t_run -- token --resource "$GRAPH"
t_run -- leave
t_check "leave: the stored PRTs and tokens go" \
    "$([ "$RC" -eq 0 ] && [ ! -e "$STATE/prt" ] && [ ! -e "$STATE/tokens" ]; echo $?)"

# --- a device deleted by an administrator ------------------------------------------
t_run -- join --token-file "$(token_file)" --key-store software
t_run -- prt --refresh-token-file "$RT_FILE"
emu_ctl device --device-id "$(jget "$STATE/device.json" 'd["device_id"]')" --delete >/dev/null
t_run -- token --resource "$GRAPH"
t_expect "deleted device: token refused with the hint" 5 "this device was deleted or disabled in the tenant"
t_run -- status --check
t_check "deleted device: status --check exits 5, device_auth deleted" \
    "$([ "$RC" -eq 5 ] && [ "$(errors)" -eq 1 ] && grep -q "was deleted in tenant" "$ERR" &&
       [ "$(jget "$OUT" 'd["device_auth"]')" = deleted ]; echo $?)"
t_done
