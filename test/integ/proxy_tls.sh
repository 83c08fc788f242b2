#!/usr/bin/env bash
# An https:// proxy (TLS to the proxy, then CONNECT and TLS to the service
# inside it): both certificates are verified with the one CA bundle
# (drs/http.c installs it in every TLS connection), and a refusal names the
# one that failed. The device certificate goes to the service alone: a
# proxy that asks for a client certificate gets none (issue 16, item 4),
# software and TPM keys, named by --proxy or by https_proxy.
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
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >srv.ext &&
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
stop_proxy() {
	kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null
	[ -z "${ASK_PID:-}" ] || { kill "$ASK_PID" 2>/dev/null; wait "$ASK_PID" 2>/dev/null; }
	t_cleanup
}
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

# --- Item 4: a proxy that asks every client for a certificate (and would
# accept the device's: it trusts the emulator's device CA) is offered none;
# the service still gets it (leave authenticates with it, exit 0).
alog=$T_WORK/ask.log
: >"$alog"
coproc ASK { exec "$(dirname "$0")/connect-proxy.py" "$alog" "$P/srv.pem" "$P/srv.key" \
    "$EMU_DIR/device-ca.pem"; }
ASK_PID=$!
read -r -t 10 aport <&"${ASK[0]}" || { t_fail "asking proxy starts" "no port"; exit 1; }
offered() {	# NAME: the proxy's log after a join and a leave through it
	t_check "$1: the proxy asked, was offered no certificate, and carried the DELETE" \
	    "$(grep -q '^NO-CLIENT-CERT' "$alog" && ! grep -q '^CLIENT-CERT' "$alog" &&
	       ! grep -q '^TLS-FAIL' "$alog" && grep -q "^CONNECT 127.0.0.1:$emu_port " "$alog"
	       echo $?)" "proxy log: $(tr '\n' '|' <"$alog")"
}
ask() {	# ENV ARGS...: through the asking proxy, named in ENV (K=V) or --proxy
	local e=$1
	shift
	t_run --env SSL_CERT_FILE="$P/both.pem" --env "$e" -- --attempts 1 "$@"
}

rm -rf "$STATE"
AP=https://127.0.0.1:$aport
ask X=1 --proxy "$AP" join --token-file "$TOK" --key-store software
t_expect "software keys: join through a proxy that asks for client certificates" 0
: >"$alog"
ask X=1 --proxy "$AP" leave
t_expect "software keys: leave through it (the service got the certificate)" 0 "left: device"
offered "software keys, --proxy"
t_check "... no device left in the emulator" "$([ "$(emu_device_count)" -eq 0 ]; echo $?)"

# Named by https_proxy, and under a name of its own (localhost).
rm -rf "$STATE"
ask https_proxy=https://localhost:$aport join --token-file "$TOK" --key-store software
t_expect "https_proxy: join through the asking proxy" 0
: >"$alog"
ask https_proxy=https://localhost:$aport leave
t_expect "https_proxy: leave through it" 0 "left: device"
offered "software keys, https_proxy"

if why=$(swtpm_available); then
	swtpm_start >/dev/null || { t_fail "swtpm starts" "swtpm_start failed"; exit 1; }
	rm -rf "$STATE"
	ask DRSJOIN_TCTI="$SWTPM_TCTI" --proxy "$AP" join --token-file "$TOK" --key-store tpm
	t_expect "TPM keys: join through the asking proxy" 0
	: >"$alog"
	ask DRSJOIN_TCTI="$SWTPM_TCTI" --proxy "$AP" leave
	t_expect "TPM keys: leave through it (the TPM signed for the service)" 0 "left: device"
	offered "TPM keys, --proxy"
	t_check "... no device left in the emulator" "$([ "$(emu_device_count)" -eq 0 ]; echo $?)"
else
	t_skip "TPM keys through a proxy that asks for client certificates" "$why"
fi
t_done
