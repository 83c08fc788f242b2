#!/usr/bin/env bash
# The command line: help, version, usage errors, bad documents; the binary
# is static and needs nothing from the host.
. "$(dirname "$0")/../lib-integ.sh"

t_run -- --help
t_check "--help lists every subcommand, the global options and the exit codes" \
    "$([ "$RC" -eq 0 ] && for c in discover nonce keygen csr join status; do
         grep -Eq "^  $c +[a-z]" "$OUT" || exit 1; done &&
       grep -q -- '--discovery-url URL' "$OUT" && grep -q -- '--state-dir DIR' "$OUT" &&
       grep -q '^  8  not joined' "$OUT" && [ ! -s "$ERR" ]; echo $?)"
t_check "--help and docs/exit-codes.md give the same exit-code table" \
    "$(diff <(sed -n 's/^  \([0-9]\+\)  .*/\1/p' "$OUT") \
            <(sed -n 's/^| \([0-9]\+\) | .*/\1/p' "$DRSJOIN_TOP/docs/exit-codes.md") >/dev/null; echo $?)"

t_run -- --version
t_check "--version names drsjoin and the four libraries, read at run time" \
    "$([ "$RC" -eq 0 ] && grep -q '^drsjoin [0-9]' "$OUT" && grep -q 'Mbed TLS 3.6.6' "$OUT" &&
       grep -q 'libcurl/8.14.1 mbedTLS/3.6.6' "$OUT" && grep -q 'tpm2-tss  4.1.3' "$OUT" &&
       grep -q 'cJSON     1.7.18' "$OUT"; echo $?)"

t_run -- frobnicate
t_expect "unknown command" 2 "unknown command 'frobnicate'"
t_run -- --frobnicate status
t_expect "unknown global option" 2 "unknown option '--frobnicate'"
t_run -- status --frobnicate
t_expect "unknown command option" 2 "status: unknown option '--frobnicate'"
t_run -- --timeout 0 status
t_expect "bad --timeout" 2 "--timeout: '0' is not a whole number from 1 to 3600"
t_run -- --attempts x status
t_expect "bad --attempts" 2 "--attempts: 'x' is not a whole number from 1 to 20"
# A token pasted where an argument goes is never echoed, whatever its
# alphabet (replays "join echoes an unexpected positional argument": a
# refresh token in standard base64, or with '*' and '!', was printed whole).
for secret in '1.AXkA/Yj2+3x7Q0G0bJxE5n/2mKl9Qz+Hd4vPz0xR/7kmNdLsR+Ug=' \
    'M.C105_BAY.0.U.-Cq*ewn!Ab3cDEf9GhIjK*LmNoP!qRsTuV$'; do
	for argv in "join $secret" "status $secret" "discover $secret" "$secret" \
	    "join --nonce $secret" "--cloud $secret status" "--timeout $secret status" \
	    "join -$secret"; do
		set -f; t_run -- $argv; set +f
		t_expect "argv '${argv%% *} ...': a usage error" 2 ""
		t_check "argv '${argv%% *} ...' with a token: the token is not echoed" \
		    "$(! grep -qF -- "${secret:2:20}" "$ERR"; echo $?)"
	done
done
t_run -- join -Zq
t_expect "an unknown short option in a cluster is named" 2 "join: unknown option '-Z'"

t_run -- --timeout
t_expect "a global option without its value" 2 "option '--timeout' needs a value"
t_run -- join --in
t_expect "a command option without its value" 2 "join: option '--in' needs a value"
t_run -- --state-dir '' status
t_expect "an empty --state-dir" 2 "--state-dir: empty"
t_run -- -q -v status
t_expect "-q with -v" 2 "-q and -v contradict each other"
t_run --
t_check "no command: usage on stderr, exit 2" \
    "$([ "$RC" -eq 2 ] && grep -q 'no command given' "$ERR" && grep -q '^usage:' "$ERR" && [ ! -s "$OUT" ]; echo $?)"
t_run -- keygen --key-store hsm
t_expect "bad --key-store" 2 "keygen: --key-store: 'hsm' is not tpm, software or auto"
t_run -- join --join-type hybrid
t_expect "bad --join-type" 2 "join: --join-type: 'hybrid' is not join or register"
for c in discover nonce keygen csr join status; do
	t_run -- "$c" --help
	t_check "$c --help" "$([ "$RC" -eq 0 ] && grep -q "^usage: drsjoin $c" "$OUT"; echo $?)"
done
t_run -- discover
t_expect "discover without a tenant" 2 "discover: give --tenant ID|DOMAIN or --token-file FILE"
t_run -- discover --tenant 'con toso/../x'
t_expect "discover with a malformed tenant" 3 "is neither a tenant id (GUID) nor a domain name"

# Bad documents: named, exit 3, nothing written.
printf '{"schema": "drsjoin/1", "tenant": ' >"$T_WORK/trunc.json"
t_run --in "$T_WORK/trunc.json" -- nonce
t_expect "truncated document on stdin" 3 "document (stdin): JSON ends early"
t_run -- nonce --in "$T_WORK/trunc.json"
t_expect "truncated document from --in" 3 "$T_WORK/trunc.json: JSON ends early"
echo '{"schema": "drsjoin/9"}' >"$T_WORK/v9.json"
t_run -- csr --in "$T_WORK/v9.json"
t_expect "unknown schema" 3 "schema 'drsjoin/9' is not supported (this drsjoin reads drsjoin/1)"
echo '{"tenant": {}}' >"$T_WORK/noschema.json"
t_run -- csr --in "$T_WORK/noschema.json"
t_expect "not a drsjoin document" 3 "not a drsjoin document (no \"schema\")"
echo '[1]' >"$T_WORK/array.json"
t_run -- csr --in "$T_WORK/array.json"
t_expect "not an object" 3 "not a JSON object"
echo '{"schema": "drsjoin/1"}' >"$T_WORK/empty.json"
t_run -- csr --in "$T_WORK/empty.json"
t_expect "csr without keys" 3 "csr: the document has no keys; run 'drsjoin keygen' first"
t_run -- nonce --in "$T_WORK/empty.json"
t_expect "nonce without discovery" 3 "nonce: the document has no discovery.nonce_endpoint; run 'drsjoin discover' first"
# Key files are the set's own (test/integ/keys_trust.sh): a missing one, or
# one that is no key, is named by its place in the set.
t_run -- keygen --key-store software
cp "$OUT" "$T_WORK/set.json"
set_dir=$(jget "$T_WORK/set.json" 'd["keys"]["dir"]')
mv "$set_dir/device-key.pem" "$T_WORK/dk.pem"
t_run -- csr --in "$T_WORK/set.json"
t_expect "csr with a missing key file" 7 "$set_dir/device-key.pem: No such file or directory"
cp "$T_WORK/array.json" "$set_dir/device-key.pem"
t_run -- csr --in "$T_WORK/set.json"
t_expect "csr with a file that is no key" 3 "$set_dir/device-key.pem"
rm -rf "$STATE"
echo '{"schema": "drsjoin/1", "keys": {"store": "floppy"}}' >"$T_WORK/store.json"
t_run -- csr --in "$T_WORK/store.json"
t_expect "csr with an unknown key store" 3 "keys: store is 'floppy', expected software or tpm"

# A full stdout must not look like success.
if [ -w /dev/full ]; then
	RC=0; "$DRSJOIN" --help >/dev/full 2>"$ERR" || RC=$?
	t_check "writing to a full disk fails with exit 7" \
	    "$([ "$RC" -eq 7 ] && grep -q 'writing the output' "$ERR"; echo $?)"
else
	t_skip "writing to a full disk" "no /dev/full"
fi

# Static, and needs nothing from the host.
# (static-PIE: test/integ/hardening.sh checks the ELF headers.)
t_check "file says static-pie linked" "$(file -L "$DRSJOIN" | grep -q 'static-pie linked'; echo $?)"
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$T_WORK/chroot"
	cp "$DRSJOIN" "$T_WORK/chroot/drsjoin"
	RC=0; chroot "$T_WORK/chroot" /drsjoin --version >"$OUT" 2>"$ERR" || RC=$?
	t_check "--version works alone in an empty chroot" \
	    "$([ "$RC" -eq 0 ] && grep -q 'Mbed TLS 3.6.6' "$OUT" && [ "$(ls "$T_WORK/chroot")" = drsjoin ]; echo $?)"
	RC=0; env -u SSL_CERT_FILE chroot "$T_WORK/chroot" /drsjoin --discovery-url https://127.0.0.1:9 \
	    discover --tenant contoso.example >"$OUT" 2>"$ERR" || RC=$?
	t_expect "in an empty chroot, no CA bundle: the paths tried are named" 3 \
	    "no CA bundle found (tried /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt,"
else
	t_skip "--version in an empty chroot" "needs root for chroot"
fi

t_done
