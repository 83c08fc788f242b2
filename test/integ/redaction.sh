#!/usr/bin/env bash
# -vvv never shows a secret. The nonce is taken from what the service
# received (the nonce extension of the CSR in the emulator's request log),
# not from drsjoin's own output (join strips the spent nonce from the
# document), so the test cannot pass by looking for an empty string.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file --upn alice@"$EMU_TENANT_DOMAIN")

# The nonce inside the CSR of the last join request, as the service saw it.
nonce_from_log() {
	$PY - "$(last_request join)" <<'EOF'
import base64, json, sys
from cryptography import x509
r = json.load(open(sys.argv[1]))
csr = x509.load_der_x509_csr(base64.b64decode(r["body"]["CertificateRequest"]["Data"]))
for ext in csr.extensions:
    if ext.oid.dotted_string == "1.2.840.113556.1.5.284.2.1":
        der = ext.value.value          # an OCTET STRING holding the nonce
        assert der[0] == 0x04
        n, off = der[1], 2
        if n & 0x80:
            k = n & 0x7f
            n, off = int.from_bytes(der[2:2 + k], "big"), 2 + k
        print(der[off:off + n].decode("ascii"))
EOF
}

for v in -vv -vvv; do
	STATE=$T_WORK/state$v
	t_run -- $v join --token-file "$TOK" --key-store software
	t_expect "join $v" 0
	NONCE=$(nonce_from_log)
	t_check "$v: the nonce the service received is known to the test (${#NONCE} chars)" \
	    "$([ "${#NONCE}" -ge 16 ]; echo $?)"
	# The exchange is shown: the nonce answer's body line, with its
	# Value redacted; the join request line, with the bearer redacted.
	t_check "$v: the nonce answer's body is shown, its Value redacted" \
	    "$(grep -q 'nonce: < body: .*"Value": *"<redacted>"' "$ERR"; echo $?)"
	t_check "$v: the bearer token is shown redacted" \
	    "$(grep -q 'Authorization: Bearer <redacted>' "$ERR"; echo $?)"
	t_check "$v: the nonce is nowhere on stderr or stdout" \
	    "$([ -n "$NONCE" ] && ! grep -qF -- "$NONCE" "$ERR" && ! grep -qF -- "$NONCE" "$OUT"; echo $?)"
	# Every part of the token: header, claims, signature.
	leaked=0
	for part in 1 2 3; do
		p=$(cut -d. -f$part "$TOK")
		[ ${#p} -ge 16 ] || { leaked=1; continue; }
		grep -qF -- "$p" "$ERR" && leaked=1
		grep -qF -- "$p" "$OUT" && leaked=1
	done
	t_check "$v: no part of the token is on stderr or stdout" "$([ $leaked -eq 0 ]; echo $?)"
done

# --- Echoed arguments: a token given where a value goes is never echoed
# beyond a short prefix, whatever its shape. Replays: --tenant, --client-id
# and --resolve echoed 100 or 300 characters of it; --in, --cacert,
# SSL_CERT_FILE and --proxy the whole of it; standard base64 passed the
# central redaction (split at / and +).
fixed() {	# SEED N TRANSFORM: N random bytes from a fixed seed, base64 then TRANSFORM
	$PY -c 'import base64, random, sys
b = base64.b64encode(random.Random(int(sys.argv[1])).randbytes(int(sys.argv[2]))).decode()
t = sys.argv[3]
if t == "url": b = b.replace("+", "-").replace("/", "_").rstrip("=")
print(b)' "$@"
}
JWE="eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.$(fixed 1 256 url).$(fixed 2 12 url).$(fixed 3 200 url).$(fixed 4 16 url)"
STD="1.AQ$(fixed 5 300 std)"
URLSAFE="0.AXEA$(fixed 6 300 url)"
JWT=$(cat "$TOK")
BPRT=$(emu_token --bprt)
# The longest part of TOKEN after its first 4 characters never shows.
leaks() {	# TOKEN: 0 when a distinctive part of it is on stderr or stdout
	local t=$1 i
	for i in 4 20 60; do
		grep -qF -- "${t:$i:12}" "$ERR" "$OUT" && return 0
	done
	return 1
}
STATE=$T_WORK/state-echo
for name in JWT JWE STD URLSAFE BPRT; do
	tok=${!name}
	for c in "client-id:2:join --device-code --tenant x.example --client-id" \
	    "tenant:2:join --device-code --tenant" "discover-tenant:3:discover --tenant" \
	    "in:3:keygen --key-store software --in" "resolve:2:discover --tenant x.example --resolve" \
	    "cacert:3:discover --tenant x.example --cacert" "proxy:4:--attempts 1 discover --tenant x.example --proxy" \
	    "token-file:3:join --token-file" "bprt-file:3:join --tenant x.example --bprt-file"; do
		what=${c%%:*}; rest=${c#*:}; want=${rest%%:*}; args=${rest#*:}
		# Global options go before the command.
		case $what in
		resolve) t_run -- --resolve "$tok" discover --tenant x.example ;;
		cacert) t_run -- --cacert "$tok" discover --tenant x.example ;;
		proxy) t_run -- -vvv --attempts 1 --proxy "$tok" discover --tenant x.example ;;
		*) # shellcheck disable=SC2086
		   t_run -- $args "$tok" ;;
		esac
		t_check "$name as --$what: refused (exit $want), the token not echoed" \
		    "$({ [ "$RC" -eq "$want" ] ||
		         # a token with a / is no proxy URL: a usage error, before any request
		         { [ "$what" = proxy ] && [ "$RC" -eq 2 ] && grep -q -- '--proxy: not a proxy URL' "$ERR"; }; } &&
		       ! leaks "$tok" &&
		       { grep -qE 'characters, not shown|the name is not shown' "$ERR" ||
		         { [ "$what" = proxy ] && grep -qE 'the proxy (http:)?<redacted>|not a proxy URL' "$ERR"; }; }; echo $?)" \
		    "exit $RC; $(grep -v '^drsjoin: [0-9T:.-]*Z' "$ERR" | head -2)"
	done
	t_run --env "SSL_CERT_FILE=$tok" -- discover --tenant x.example
	t_check "$name as SSL_CERT_FILE: refused (exit 3), the token not echoed" \
	    "$([ "$RC" -eq 3 ] && ! leaks "$tok"; echo $?)" "exit $RC"
	# Issue 23, item 11: leave echoed its unexpected argument whole.
	for cmd in csr discover join keygen leave nonce status; do
		t_run -- "$cmd" "$tok"
		t_check "$name as $cmd's argument: exit 2, the token not echoed" \
		    "$([ "$RC" -eq 2 ] && ! leaks "$tok" &&
		       grep -q "unexpected argument '.*characters, not shown" "$ERR"; echo $?)" \
		    "exit $RC; $(head -2 "$ERR")"
	done
done
# A proxy's password is redacted, the rest of its URL shown.
t_run -- --attempts 1 --proxy "http://alice:$URLSAFE@127.0.0.1:9" discover --tenant x.example
t_check "--proxy with a password: the password not echoed, the proxy named" \
    "$([ "$RC" -eq 4 ] && ! leaks "$URLSAFE" && grep -qF 'http://<redacted>@127.0.0.1:9' "$ERR"; echo $?)" \
    "exit $RC; $(head -2 "$ERR")"
# A password with a / in it breaks the URL: refused before any request, not echoed.
t_run -- --attempts 1 --proxy "http://alice:$STD@127.0.0.1:9" discover --tenant x.example
t_check "--proxy with a password that breaks the URL: refused, not echoed" \
    "$([ "$RC" -eq 2 ] && grep -q -- '--proxy: not a proxy URL' "$ERR" && ! leaks "$STD"; echo $?)" "exit $RC; $(head -2 "$ERR")"
# What is not a token is still named as it was given.
t_run -- keygen --key-store software --in "$T_WORK/no/such/MyCompanyRootCA2024-backup.json"
t_expect "a path that is no token is shown whole" 3 \
    "$T_WORK/no/such/MyCompanyRootCA2024-backup.json: No such file or directory"
t_run -- join --device-code --tenant 'a b'
t_expect "a bad tenant that is no token is shown whole" 2 "--tenant: 'a b' is neither"
t_run -- join --device-code --tenant x.example --client-id "${JWT}"
t_check "a JWT: its public start and length are shown" \
    "$(grep -qF "'eyJ0...(${#JWT} characters, not shown)'" "$ERR" ||
       grep -qF "'${JWT:0:4}...(${#JWT} characters, not shown)'" "$ERR"; echo $?)" "$(head -1 "$ERR")"

# --- A token endpoint that echoes the request: the BPRT (url-safe, the
# emulator's) and a standard-base64 one (form-encoded on the wire) never
# show, at any -v level, whatever the shape of the echo.
STD_BPRT="1.AQ$(fixed 7 400 std)"
enc() { $PY -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
for bprt in "$BPRT" "$STD_BPRT"; do
	kind=url-safe; [ "$bprt" = "$BPRT" ] || kind=standard
	printf '%s\n' "$bprt" >"$T_WORK/echo-bprt"; chmod 600 "$T_WORK/echo-bprt"
	for shape in text json html; do
		for v in "" -v -vv -vvv; do
			STATE=$T_WORK/state-echo-$shape$v
			emu_fault --route token --echo "$shape" --status 400
			# shellcheck disable=SC2086
			t_run -- $v join --key-store software --tenant "$EMU_TENANT_DOMAIN" \
			    --bprt-file "$T_WORK/echo-bprt"
			emu_fault clear
			t_check "echoing token endpoint ($shape${v:+, $v}), $kind BPRT: refused, not shown" \
			    "$([ "$RC" -eq 5 ] && grep -q '^drsjoin: login: ' "$ERR" && ! leaks "$bprt" &&
			       ! leaks "$(enc "$bprt")"; echo $?)" \
			    "exit $RC; $(grep -v '^drsjoin: [0-9T:.-]*Z' "$ERR" | head -2)"
		done
	done
done

t_done
