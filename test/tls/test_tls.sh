#!/bin/sh
# test_tls.sh PROBE - HTTPS through our libcurl + mbedTLS against local
# OpenSSL servers: TLS 1.2 servers signing with RSA-PSS (the mbedTLS 3.6.6
# regression our patch fixes) and with PKCS#1 v1.5, a TLS 1.3 server, and a
# server whose CA the client does not trust.
#
# PROBE is test/tls/tls_probe built against the musl deps. Each server gets a
# throwaway CA and certificate in a mktemp dir and a random free loopback
# port; everything is removed on exit. Prints one line per case
# (ok / not ok / skip) and exits non-zero if a case failed.
set -eu

probe=${1:?usage: test_tls.sh PROBE}
case $probe in /*) ;; *) probe=$PWD/$probe ;; esac

if ! command -v openssl >/dev/null 2>&1; then
	echo "skip - tls: openssl not installed"
	exit 0
fi
if [ ! -x "$probe" ]; then
	echo "not ok - tls: probe $probe not found or not executable"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drsjoin-tls.XXXXXX")
server_pid=
stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1: $2"; failed=1; }

# A CA that signs the server's certificate, and an unrelated one.
mkcerts() {
	cd "$tmp"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
		-days 2 -subj "/CN=drsjoin test CA" &&
		openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key \
			-out other.pem -days 2 -subj "/CN=drsjoin other CA" &&
		openssl req -newkey rsa:2048 -nodes -keyout server.key \
			-out server.csr -subj "/CN=localhost" &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -out server.pem -days 2 -extfile ext
}
if ! (mkcerts) >"$tmp/certs.log" 2>&1; then
	echo "not ok - tls: making test certificates failed: $(tail -n 1 "$tmp/certs.log")"
	exit 1
fi

# start_server ARGS...: s_server on 127.0.0.1 at a random free port; sets
# $port. A port someone else holds makes s_server exit: try another.
start_server() {
	tries=0
	while [ "$tries" -lt 10 ]; do
		tries=$((tries + 1))
		port=$(od -An -N2 -tu2 /dev/urandom | awk '{ print 20000 + $1 % 40000 }')
		: >"$tmp/server.log"
		openssl s_server -accept "127.0.0.1:$port" -www \
			-cert "$tmp/server.pem" -key "$tmp/server.key" "$@" \
			</dev/null >"$tmp/server.log" 2>&1 &
		server_pid=$!
		i=0
		while [ "$i" -lt 50 ]; do
			grep -q '^ACCEPT' "$tmp/server.log" && return 0
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		stop_server
	done
	return 1
}

# run_case NAME EXPECTED_EXIT EXPECTED_OUT_OR_ERR CAFILE -- SERVER_ARGS...
run_case() {
	name=$1 want_rc=$2 want_text=$3 ca=$4
	shift 5
	if ! start_server "$@"; then
		not_ok "$name" "openssl s_server $* did not start: $(tail -n 1 "$tmp/server.log")"
		return
	fi
	rc=0
	"$probe" "https://127.0.0.1:$port/" "$ca" >"$tmp/out" 2>"$tmp/err" || rc=$?
	stop_server
	out=$(cat "$tmp/out")
	err=$(head -n 1 "$tmp/err")
	if [ "$rc" -ne "$want_rc" ]; then
		not_ok "$name" "probe exited $rc, expected $want_rc${err:+: $err}"
	elif [ "$want_rc" -eq 0 ] && [ "$out" != "$want_text" ]; then
		not_ok "$name" "probe printed '$out', expected '$want_text'"
	elif [ "$want_rc" -ne 0 ] && ! grep -qi -- "$want_text" "$tmp/err"; then
		not_ok "$name" "message '$err' does not mention '$want_text'"
	else
		ok "$name"
	fi
}

pss=rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512
pkcs1=RSA+SHA256:RSA+SHA384:RSA+SHA512

# The server may sign its key exchange with RSA-PSS only.
run_case tls12_rsa_pss 0 "tls=TLSv1.2 http=200" "$tmp/ca.pem" -- -tls1_2 -sigalgs "$pss"
# OpenSSL's own choice for a TLS 1.2 server with an RSA key (PSS, too).
run_case tls12_openssl_default 0 "tls=TLSv1.2 http=200" "$tmp/ca.pem" -- -tls1_2
# PKCS#1 v1.5 must keep working.
run_case tls12_rsa_pkcs1 0 "tls=TLSv1.2 http=200" "$tmp/ca.pem" -- -tls1_2 -sigalgs "$pkcs1"
run_case tls13 0 "tls=TLSv1.3 http=200" "$tmp/ca.pem" -- -tls1_3
# Untrusted CA: a clean failure saying why, for 1.3 and 1.2.
run_case tls13_untrusted_ca 3 "not correctly signed by the trusted CA" "$tmp/other.pem" -- -tls1_3
run_case tls12_untrusted_ca 3 "not correctly signed by the trusted CA" "$tmp/other.pem" -- -tls1_2

exit "$failed"
