#!/usr/bin/env bash
# drsjoin's own TLS settings (drs/http.c), against local OpenSSL servers:
# a certificate signed by the trusted CA but for another host name is
# refused; the same CA's certificate for the right name (the control) is
# accepted. tls/test_tls.sh checks a probe program's settings, not these.
. "$(dirname "$0")/../lib-integ.sh"

if ! command -v openssl >/dev/null 2>&1; then
	t_skip "TLS host names" "openssl not installed"
	t_done
	exit
fi
C=$T_WORK/certs
mkdir -p "$C"
# One CA; three server certificates it signs: for another DNS name, for
# another IP address, and for the address drsjoin connects to.
mkcerts() {
	cd "$C" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
	    -days 2 -subj "/CN=drsjoin name test CA" &&
	for n in dns ip right; do
		case $n in
		dns) san="DNS:enterpriseregistration.example" cn=enterpriseregistration.example ;;
		ip) san="IP:127.0.0.2" cn=127.0.0.2 ;;
		right) san="IP:127.0.0.1" cn=127.0.0.1 ;;
		esac
		openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr \
		    -subj "/CN=$cn" &&
		printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$san" >$n.ext &&
		openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		    -out $n.pem -days 2 -extfile $n.ext || return 1
	done
}
if ! (mkcerts) >"$C/log" 2>&1; then
	t_fail "test certificates" "openssl failed: $(tail -n 1 "$C/log")"
	t_done
	exit
fi

SPID=
stop_server() {
	[ -n "$SPID" ] && { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }
	SPID=
}
trap 'stop_server; t_cleanup' EXIT
# serve NAME: openssl s_server with NAME's certificate on a free loopback
# port (sets PORT); it answers every request with an HTML page.
serve() {
	local tries=0
	while [ $tries -lt 10 ]; do
		tries=$((tries + 1))
		PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		: >"$C/server.log"
		openssl s_server -accept "127.0.0.1:$PORT" -www -cert "$C/$1.pem" \
		    -key "$C/$1.key" </dev/null >"$C/server.log" 2>&1 &
		SPID=$!
		# Ready when it says ACCEPT (a file to wait on, not a sleep).
		while kill -0 "$SPID" 2>/dev/null && ! grep -q '^ACCEPT' "$C/server.log"; do
			sleep 0.05
		done
		grep -q '^ACCEPT' "$C/server.log" && return 0
		stop_server
	done
	return 1
}

# case NAME CERT: discover against a server holding CERT.
try() {
	if ! serve "$1"; then
		t_fail "openssl s_server starts" "$(tail -n 1 "$C/server.log")"
		return 1
	fi
	t_run --env DRSJOIN_DISCOVERY_URL="https://127.0.0.1:$PORT" --env SSL_CERT_FILE="$C/ca.pem" \
	    -- --attempts 1 discover --tenant contoso.example
	stop_server
}

try dns
t_expect "a CA-valid certificate for another DNS name is refused" 4 \
    "discover: TLS: the certificate of 127.0.0.1:$PORT cannot be verified with the CA bundle $C/ca.pem"
t_check "... and the reason is the name" \
    "$(grep -q 'does not match with the expected CN' "$ERR"; echo $?)"
try ip
t_expect "a CA-valid certificate for another IP address is refused" 4 \
    "does not match with the expected CN"
# The control: the same CA, the right name. TLS succeeds; s_server's HTML
# page is then no discovery answer, which is a different error.
try right
t_expect "the same CA's certificate for 127.0.0.1 is accepted (TLS passes)" 4 \
    "discover: the answer: not valid JSON"

t_done
