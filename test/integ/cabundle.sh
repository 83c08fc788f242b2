#!/usr/bin/env bash
# The CA bundle as drsjoin reads it (drs/cert.c cert_ca_parse, once per
# process, installed in every TLS connection by drs/http.c): a system-sized
# bundle, blocks it skips, bundles it refuses, and that it never trusts more
# than the bundle (a bundle without the emulator's CA fails the handshake).
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
SYS=/etc/ssl/certs/ca-certificates.crt
B=$T_WORK/bundles
mkdir -p "$B"

# Runs drsjoin with --cacert FILE (SSL_CERT_FILE must not win over it).
with_ca() {	# FILE ARGS...
	local ca=$1
	shift
	t_run --env SSL_CERT_FILE=/nonexistent -- --cacert "$ca" "$@"
}
nothing_written() { [ ! -s "$OUT" ] && [ -z "$(state_files)" ]; }

if [ -r "$SYS" ]; then
	cat "$SYS" "$EMU_CA" >"$B/big.pem"
	n=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$B/big.pem")
	with_ca "$B/big.pem" -v discover --tenant "$EMU_TENANT_DOMAIN"
	t_expect "a system bundle plus the emulator's CA: discover works" 0
	t_check "-v: all $n certificates read, none skipped" \
	    "$(grep -qF "CA bundle: $n certificates (0 blocks skipped)" "$ERR"; echo $?)"
	rm -rf "$STATE"
	with_ca "$B/big.pem" -v join --token-file "$TOK" --key-store software
	t_expect "join with it: exit 0" 0
	t_check "join: the bundle is read once for all its connections" \
	    "$([ "$(grep -c 'CA bundle: [0-9]* certificates' "$ERR")" -eq 1 ] &&
	       [ "$(grep -c 'new connection' "$ERR")" -ge 2 ]; echo $?)" \
	    "$(grep -c 'new connection' "$ERR") connections, $(grep -c 'CA bundle: [0-9]* certificates' "$ERR") reads"
	rm -rf "$STATE"
	with_ca "$SYS" discover --tenant "$EMU_TENANT_DOMAIN"
	t_expect "the system bundle alone does not vouch for the emulator" 4 \
	    "cannot be verified with the CA bundle $SYS"
	t_check "... and nothing was written" "$(nothing_written; echo $?)"
else
	t_skip "system-sized bundle" "no $SYS"
fi

# Blocks that are not certificates are skipped, counted at -v.
{ printf -- '-----BEGIN CERTIFICATE-----\nMIIB*broken*\n-----END CERTIFICATE-----\n'
  sed 's/$/\r/' "$EMU_CA"
  printf -- '-----BEGIN PRIVATE KEY-----\nAAECAwQF\n-----END PRIVATE KEY-----\n'
  printf -- '-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n'; } >"$B/mixed.pem"
with_ca "$B/mixed.pem" -v discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "a bundle with broken blocks and CRLF lines: discover works" 0
t_check "-v: 1 certificate, 2 blocks skipped" \
    "$(grep -qF "CA bundle: 1 certificates (2 blocks skipped)" "$ERR"; echo $?)"

ln -s "$EMU_CA" "$B/link.pem"
with_ca "$B/link.pem" discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "a bundle reached through a symbolic link (as on RHEL)" 0

# Refused: one line naming the bundle, exit 3, nothing written.
printf 'not a certificate\n' >"$B/text.pem"
before=$(req_count)
with_ca "$B/text.pem" discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "a bundle of text: exit 3" 3 "discover: the CA bundle $B/text.pem: no certificate in it"
t_check "... nothing written, no request sent" \
    "$(nothing_written && [ "$(req_count)" -eq "$before" ]; echo $?)"
head -c 9000000 /dev/zero | tr '\0' 'A' >"$B/huge.pem"
with_ca "$B/huge.pem" discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "a bundle over 8 MiB: exit 3" 3 "discover: the CA bundle $B/huge.pem: larger than 8388608 bytes"
t_check "... nothing written, no request sent" \
    "$(nothing_written && [ "$(req_count)" -eq "$before" ]; echo $?)"
sed '$d' "$EMU_CA" >"$B/cut.pem"
with_ca "$B/cut.pem" discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "a bundle whose only certificate is cut short: exit 3" 3 \
    "discover: the CA bundle $B/cut.pem: no certificate in it"
t_check "... nothing written, no request sent" \
    "$(nothing_written && [ "$(req_count)" -eq "$before" ]; echo $?)"

# A bundle from SSL_CERT_FILE is named as such in errors (nobody typed its
# name on this command line) and in -v, whose CA line comes once.
t_run --env SSL_CERT_FILE="$B/text.pem" -- discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "SSL_CERT_FILE, a bundle of text: exit 3, named as SSL_CERT_FILE's" 3 \
    "discover: the CA bundle $B/text.pem (from SSL_CERT_FILE): no certificate in it"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$B/other.key" -out "$B/other.pem" \
    -subj /CN=another-ca -days 2 2>/dev/null
t_run --env SSL_CERT_FILE="$B/other.pem" -- discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "SSL_CERT_FILE without the emulator's CA: exit 4, named as SSL_CERT_FILE's" 4 \
    "cannot be verified with the CA bundle $B/other.pem (from SSL_CERT_FILE): "
with_ca "$B/other.pem" discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "--cacert without the emulator's CA: named as given" 4 \
    "cannot be verified with the CA bundle $B/other.pem: "
rm -rf "$STATE"
t_run -- -v join --token-file "$TOK" --key-store software
t_check "-v join: one line names the CA bundle and SSL_CERT_FILE" \
    "$([ "$RC" -eq 0 ] && [ "$(grep -c 'CA bundle: .* (from ' "$ERR")" -eq 1 ] &&
       grep -qF "CA bundle: $EMU_CA (from SSL_CERT_FILE)" "$ERR"; echo $?)" \
    "exit $RC, $(grep -c 'CA bundle: .* (from ' "$ERR") lines"
t_done
