#!/usr/bin/env bash
# An https:// proxy (TLS to the proxy, then CONNECT and TLS to the service
# inside it): both certificates are verified with the one CA bundle
# (drs/http.c installs it in every TLS connection), and a refusal names the
# one that failed.
. "$(dirname "$0")/../lib-integ.sh"

if ! command -v openssl >/dev/null 2>&1; then
	t_skip "https proxy" "openssl not installed"
	t_done
	exit
fi
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
P=$T_WORK/proxy
mkdir -p "$P"
if ! (cd "$P" &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj "/CN=drsjoin proxy test CA" &&
    openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 &&
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >srv.ext &&
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -out srv.pem -days 2 -extfile srv.ext) >"$P/log" 2>&1; then
	t_fail "proxy certificates" "openssl failed: $(tail -n 1 "$P/log")"
	t_done
	exit
fi
cat "$EMU_CA" "$P/ca.pem" >"$P/both.pem"

plog=$T_WORK/proxy.log
: >"$plog"
coproc PROXY { exec "$(dirname "$0")/connect-proxy.py" "$plog" "$P/srv.pem" "$P/srv.key"; }
read -r -t 10 port <&"${PROXY[0]}" || { t_fail "proxy starts" "no port"; exit 1; }
stop_proxy() { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; t_cleanup; }
trap stop_proxy EXIT
emu_port=${EMU_URL##*:}
PROXY_URL=https://127.0.0.1:$port
via() {	# BUNDLE ARGS...
	local ca=$1
	shift
	: >"$plog"
	t_run --env SSL_CERT_FILE="$ca" -- --attempts 1 --proxy "$PROXY_URL" "$@"
}

via "$P/both.pem" join --token-file "$TOK" --key-store software
t_expect "join through an https proxy, the bundle holding both CAs" 0
t_check "the proxy was spoken to over TLS and carried the requests" \
    "$(grep -q '^TLS-OK TLSv1' "$plog" && grep -q "^CONNECT 127.0.0.1:$emu_port " "$plog"; echo $?)"
via "$P/both.pem" leave
t_expect "leave (TLS client certificate) through the https proxy" 0 "left: device"

rm -rf "$STATE"
before=$(req_count)
via "$EMU_CA" discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "the proxy's CA not in the bundle: refused, the proxy named" 4 \
    "TLS: the certificate of the proxy $PROXY_URL cannot be verified with the CA bundle $EMU_CA"
t_check "... the proxy saw the handshake fail, the service no request" \
    "$(grep -q '^TLS-FAIL' "$plog" && ! grep -q '^CONNECT' "$plog" &&
       [ "$(req_count)" -eq "$before" ] && [ ! -s "$OUT" ]; echo $?)"
via "$P/ca.pem" discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "the service's CA not in the bundle: refused, the service named" 4 \
    "TLS: the certificate of 127.0.0.1:$emu_port cannot be verified with the CA bundle $P/ca.pem"
t_check "... through the proxy, no request reached the service" \
    "$(grep -q "^CONNECT 127.0.0.1:$emu_port " "$plog" && [ "$(req_count)" -eq "$before" ] &&
       [ ! -s "$OUT" ]; echo $?)"
t_done
