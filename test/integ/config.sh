#!/usr/bin/env bash
# /etc/drsjoin/drsjoin.conf (--config, DRSJOIN_CONFIG): each key applied,
# the command line and the environment winning over it, and the file as
# hostile input (links, modes, owners, size, bytes, keys, lines): every
# refusal exit 3 naming FILE:LINE, before anything is read or written.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
C=$T_WORK/etc/drsjoin.conf
mkdir -m 755 "$T_WORK/etc"
conf() { printf '%s\n' "$@" >"$C"; chmod 600 "$C"; }
# crun ARGS...: drsjoin with the test's config file.
crun() { t_run --env DRSJOIN_CONFIG="$C" "$@"; }

# --- each key, and what wins over it ---
conf "# drsjoin settings" "" "tenant = $EMU_TENANT_DOMAIN"
crun -- --new discover
t_check "tenant: discover without --tenant uses the file's" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["tenant"]["domain"]')" = "$EMU_TENANT_DOMAIN" ]; echo $?)" "rc $RC"
crun -- --new discover --tenant nosuch.example
t_check "tenant: --tenant wins over the file" \
    "$([ "$RC" -ne 0 ] && grep -q 'nosuch.example' "$ERR"; echo $?)" "rc $RC"
t_run -- --new discover
t_expect "tenant: without the file discover still wants --tenant" 2 "give --tenant"
emu_token --bprt >"$T_WORK/bprt"; chmod 600 "$T_WORK/bprt"
conf "tenant = other.example"
t_run -- --new discover --tenant "$EMU_TENANT_DOMAIN"; cp "$OUT" "$T_WORK/disc.json"
crun --in "$T_WORK/disc.json" -- join --bprt-file "$T_WORK/bprt" --key-store software
t_expect "tenant: the document's (discover --tenant) wins over the file's" 0
rm -rf "$STATE"

# A file a Windows editor saved: its byte order mark and CR LF line ends
# are read as such, said in a note (review: were "not a drsjoin config
# file" and "a control character (U+000D)").
printf '\357\273\277# drsjoin\r\ntenant = %s\r\n' "$EMU_TENANT_DOMAIN" >"$C"; chmod 600 "$C"
crun -- --new discover
t_check "a Windows-saved file (BOM, CR LF): read, said in a note" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["tenant"]["domain"]')" = "$EMU_TENANT_DOMAIN" ] &&
       grep -q 'starts with a UTF-8 byte order mark' "$ERR" &&
       grep -q '2 lines end in CR LF' "$ERR"; echo $?)" "rc $RC; $(head -3 "$ERR")"
printf 'tenant = a\rb.example\r\n' >"$C"; chmod 600 "$C"
crun -- --new discover
t_expect "a CR inside a line is still a control character" 3 "$C:1: the line holds a control character (U+000D"

conf "cacert = $EMU_CA"
crun --env SSL_CERT_FILE= -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "cacert: the file's CA bundle verifies the service" 0
crun --env SSL_CERT_FILE=/nonexistent/ca.pem -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_check "cacert: SSL_CERT_FILE wins over the file" \
    "$([ "$RC" -ne 0 ] && grep -q '/nonexistent/ca.pem' "$ERR"; echo $?)" "rc $RC"
crun --env SSL_CERT_FILE=/nonexistent/ca.pem -- --cacert "$EMU_CA" --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "cacert: --cacert wins over both" 0
# Told apart: the file names a usable CA that is not the emulator's.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_WORK/other.key" -out "$T_WORK/other.pem" \
    -subj /CN=another-ca -days 2 2>/dev/null
conf "cacert = $T_WORK/other.pem"
crun --env SSL_CERT_FILE= -- --cacert "$EMU_CA" --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "cacert: --cacert wins over the file's other CA" 0
crun --env SSL_CERT_FILE= -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "cacert: the file's other CA is used without --cacert" 4 \
    "cannot be verified with the CA bundle $T_WORK/other.pem"
conf "cacert = $EMU_CA"
crun --env SSL_CERT_FILE= -- --cacert "$T_WORK/other.pem" --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "cacert: --cacert's other CA wins over the file's right one" 4 \
    "cannot be verified with the CA bundle $T_WORK/other.pem"

conf "proxy = http://127.0.0.1:9"
crun -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_check "proxy: the file's proxy is used (nothing listens there: exit 4)" "$([ "$RC" -eq 4 ]; echo $?)" "rc $RC"
crun --env https_proxy= --env HTTPS_PROXY= -- --proxy "" --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "proxy: --proxy '' (none) wins over the file" 0
plog=$T_WORK/proxy.log
coproc PROXY { exec "$DRSJOIN_TOP/test/integ/connect-proxy.py" "$plog"; }
read -r -t 10 pport <&"${PROXY[0]}" || { t_fail "proxy starts" "no port"; exit 1; }
for v in https_proxy HTTPS_PROXY ALL_PROXY; do
	: >"$plog"
	crun --env "$v=http://127.0.0.1:$pport" -- --new discover --tenant "$EMU_TENANT_DOMAIN"
	t_check "proxy: $v wins over the file's (a dead one)" \
	    "$([ "$RC" -eq 0 ] && grep -q '^CONNECT ' "$plog"; echo $?)" "rc $RC"
done
kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null

conf "key-store = tpm" "tcti = device:/nonexistent/tpm-of-the-file"
crun -- keygen
t_expect "key-store and tcti: keygen uses the file's (its TPM is missing: exit 6)" 6 "tpm-of-the-file"
crun -- --tcti device:/nonexistent/tpm-of-the-command-line keygen
t_expect "tcti: --tcti wins over the file" 6 "tpm-of-the-command-line"
crun --env DRSJOIN_TCTI=device:/nonexistent/tpm-of-the-env -- keygen
t_expect "tcti: DRSJOIN_TCTI wins over the file" 6 "tpm-of-the-env"
crun -- keygen --key-store software
t_check "key-store: --key-store wins over the file" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["keys"]["store"]')" = software ]; echo $?)" "rc $RC"
rm -rf "$STATE"

conf "token-file = $TOK" "key-store = software"
crun -- join
t_check "token-file: join without a token option uses the file's (software keys from the file)" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$STATE/device.json" 'd["key_store"]')" = software ]; echo $?)" "rc $RC"
rm -rf "$STATE"
crun --env DRSJOIN_TOKEN= -- join
t_expect "token-file: an empty DRSJOIN_TOKEN is no token, so the file's is used" 0
rm -rf "$STATE"
printf 'not.a.token\n' >"$T_WORK/bad.tok"; chmod 600 "$T_WORK/bad.tok"
conf "bprt-file = $T_WORK/bad.tok" "key-store = software"
crun -- join --token-file "$TOK"
t_expect "token files: --token-file wins over the file's bprt-file" 0
rm -rf "$STATE"
crun --env DRSJOIN_TOKEN="$(cat "$TOK")" -- join
t_expect "token files: DRSJOIN_TOKEN wins over the file's bprt-file" 0
rm -rf "$STATE"
conf "token-file = $T_WORK/bad.tok"
crun -- join
t_expect "token-file: the file's token is the one read (a bad one: exit 3)" 3
t_check "token-file: nothing was written" "$([ -z "$(state_files)" ]; echo $?)"
# A systemd credential is the token source only in systemd's own directory
# (systemd.sh runs the unit's, and one climbing out of it): a
# CREDENTIALS_DIRECTORY elsewhere names no file to read as a token.
mkdir -m 700 "$T_WORK/creds"; cp "$TOK" "$T_WORK/creds/drsjoin-token"
t_run --env CREDENTIALS_DIRECTORY="$T_WORK/creds" -- --config /dev/null join --key-store software
t_expect "CREDENTIALS_DIRECTORY outside /run/credentials/: not systemd's, no token read" 2 "no token"
t_check "CREDENTIALS_DIRECTORY elsewhere: nothing was written" "$([ -z "$(state_files)" ]; echo $?)"
conf "key-store = software" "token-file = $T_WORK/gone.jwt"
crun -- join
t_expect "token-file: a missing one is named with the FILE:LINE that named it" 3 \
    "$C:2: token-file $T_WORK/gone.jwt: No such file or directory"
t_run -- join --token-file "$TOK" --key-store software
crun -- join
t_expect "token-file: a joined machine's re-run needs none (the file's is gone)" 0 "already joined"
rm -rf "$STATE"

# --- where the file comes from ---
conf "tenant = $EMU_TENANT_DOMAIN"
t_run -- --config "$C" --new discover
t_expect "--config FILE is read" 0
printf 'bogus\n' >"$T_WORK/other.conf"; chmod 600 "$T_WORK/other.conf"
t_run --env DRSJOIN_CONFIG="$T_WORK/other.conf" -- --config "$C" --new discover
t_expect "--config wins over DRSJOIN_CONFIG" 0
crun -- --config /dev/null --new discover
t_expect "--config /dev/null reads none" 2 "give --tenant"
t_run --env DRSJOIN_CONFIG="$T_WORK/missing.conf" -- status
t_expect "a named file that is missing: exit 3" 3 "$T_WORK/missing.conf: no such file (named by DRSJOIN_CONFIG)"
t_run -- --config "" status
t_expect "--config '': usage" 2 "--config: empty"
(cd "$T_WORK" && env DRSJOIN_STATE_DIR="$STATE" "$DRSJOIN" --config etc/drsjoin.conf -v status \
    >/dev/null 2>"$ERR")
t_check "a relative --config is taken from the working directory" \
    "$(grep -q "config: read $C" "$ERR"; echo $?)"
if [ ! -e /etc/drsjoin/drsjoin.conf ]; then
	env -u DRSJOIN_CONFIG DRSJOIN_STATE_DIR="$STATE" "$DRSJOIN" -v status >/dev/null 2>"$ERR"
	t_check "no /etc/drsjoin/drsjoin.conf: no error (it is optional)" \
	    "$([ $? -eq 8 ] && grep -q 'config: /etc/drsjoin/drsjoin.conf: none' "$ERR"; echo $?)"
else
	t_skip "no /etc/drsjoin/drsjoin.conf" "this machine has one"
fi

# --- issue 23, item 11: the keys a unit otherwise needs a drop-in for ---
# t_run sets DRSJOIN_STATE_DIR and DRSJOIN_DISCOVERY_URL; empty is unset.
NOENV=(--env DRSJOIN_STATE_DIR= --env DRSJOIN_DISCOVERY_URL=)
CST=$T_WORK/st-conf
conf "state-dir = $CST" "discovery-url = $EMU_URL" "display-name = Build agent 7" \
    "join-type = register"
n=$(req_count join)
crun "${NOENV[@]}" -- join --token-file "$TOK" --key-store software
t_check "state-dir, discovery-url, display-name, join-type: a join with the file's" \
    "$([ "$RC" -eq 0 ] && [ "$(req_count join)" -eq $((n + 1)) ] &&
       [ "$(jget "$CST/device.json" 'd["join_type"]')" = register ] &&
       [ "$(jget "$CST/device.json" 'd["display_name"]')" = "Build agent 7" ] &&
       [ ! -e "$STATE/device.json" ]; echo $?)" "rc $RC"
crun "${NOENV[@]}" -- join --token-file "$TOK" --key-store software --force \
    --join-type join --display-name cli-name
t_check "join-type, display-name: join's options win over the file's" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$CST/device.json" 'd["join_type"]')" = join ] &&
       [ "$(jget "$CST/device.json" 'd["display_name"]')" = cli-name ]; echo $?)" "rc $RC"
crun --env DRSJOIN_DISCOVERY_URL= -- status
t_check "state-dir: DRSJOIN_STATE_DIR wins over the file (not joined there)" \
    "$([ "$RC" -eq 8 ] && grep -qF "not joined (no $STATE/device.json)" "$ERR"; echo $?)" "rc $RC"
crun "${NOENV[@]}" -- --state-dir "$T_WORK/st-cli" status
t_check "state-dir: --state-dir wins over the file" \
    "$([ "$RC" -eq 8 ] && grep -qF "not joined (no $T_WORK/st-cli/device.json)" "$ERR"; echo $?)" "rc $RC"
crun "${NOENV[@]}" -- status
t_expect "state-dir: status reads the file's" 0
conf "discovery-url = https://127.0.0.1:9" "attempts = 1"
crun -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "discovery-url: DRSJOIN_DISCOVERY_URL wins over the file" 0
crun "${NOENV[@]}" -- --discovery-url "$EMU_URL" --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "discovery-url: --discovery-url wins over the file" 0
crun "${NOENV[@]}" -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_check "discovery-url: the file's is used (nothing listens there: exit 4)" \
    "$([ "$RC" -eq 4 ] && grep -q '127.0.0.1' "$ERR"; echo $?)" "rc $RC"
conf "attempts = 1"
emu_fault --route discover --status 503 --count 1
n=$(req_count discover)
crun -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_check "attempts: the file's (1): one request, no retry" \
    "$([ "$RC" -ne 0 ] && [ "$(req_count discover)" -eq $((n + 1)) ]; echo $?)" "rc $RC"
emu_fault --route discover --status 503 --count 1
crun -- --attempts 2 --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "attempts: --attempts wins over the file" 0
emu_fault clear
conf "max-wait = 5"
emu_fault --route discover --status 429 --retry-after 100 --count 1
crun -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "max-wait: the file's (5 s) against a Retry-After of 100 s: gives up at once" 4 \
    "more than the 5 s left of the 5 s drsjoin waits in all"
emu_fault clear
conf "timeout = 1" "attempts = 1"
emu_fault --route discover --delay 4 --count 2
crun -- --new discover --tenant "$EMU_TENANT_DOMAIN"
t_check "timeout: the file's (1 s) against an answer 4 s late: exit 4" \
    "$([ "$RC" -eq 4 ]; echo $?)" "rc $RC"
crun -- --timeout 30 --new discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "timeout: --timeout wins over the file" 0
emu_fault clear

# --- a broken file: COMMAND --help still works, the commands do not ---
conf "colour = blue"
for cmd in csr discover join keygen leave nonce status; do
	crun -- "$cmd" --help
	t_check "$cmd --help is shown despite a broken file" \
	    "$([ "$RC" -eq 0 ] && grep -q "usage: drsjoin $cmd" "$OUT" && [ ! -s "$ERR" ]; echo $?)" "rc $RC"
done
crun -- status -h
t_check "status -h is shown despite a broken file" "$([ "$RC" -eq 0 ] && [ -s "$OUT" ]; echo $?)" "rc $RC"
crun -- leave --local-only
t_expect "leave --local-only with a broken file: exit 3 (no local-only exception)" 3 "$C:1: unknown key 'colour'"
crun -- join --display-name --help
t_expect "--help as an option's value is not a request for help" 3 "$C:1: unknown key 'colour'"

# Review: --display-name takes what the file's display-name takes, no
# control or bidi character (the file refused them, the option did not).
STATE=$T_WORK/st-dname
for v in "$(printf 'a\033[31mb')|U+001B at offset 1" "$(printf 'a\342\200\256b')|U+202E at offset 1" \
    "$(printf 'two\nlines')|U+000A at offset 3"; do
	t_run -- join --token-file "$TOK" --key-store software --display-name "${v%%|*}"
	t_expect "--display-name holding ${v#*|}: exit 2, named" 2 \
	    "--display-name: holds a control character (${v#*|})"
	t_check "--display-name holding ${v#*|}: nothing written" "$([ ! -e "$STATE" ]; echo $?)"
done

# --- hostile files: exit 3, one line naming the file (and line), nothing written ---
bad() {	# NAME MESSAGE: runs keygen (it would write) with $C
	rm -rf "$STATE"
	crun -- keygen --key-store software
	t_expect "$1" 3 "$2"
	t_check "$1: nothing written" "$([ ! -e "$STATE" ]; echo $?)"
}
conf "tenant = $EMU_TENANT_DOMAIN" "# fine" "colour = blue"
bad "an unknown key names FILE:LINE and the key" "$C:3: unknown key 'colour'"
conf "" "tenant $EMU_TENANT_DOMAIN"
bad "a line without '=' names FILE:LINE" "$C:2: expected 'key = value'"
conf "= x"
bad "no key before '='" "$C:1: expected 'key = value': no key"
conf "tenant ="
bad "a key without a value" "$C:1: tenant: no value"
conf "cloud = public" "cloud = usgov"
bad "a key given twice" "$C:2: cloud given again (first on line 1)"
conf "cloud = mars"
bad "a bad cloud" "$C:1: cloud: 'mars' is not one of"
conf "tenant = not a domain!"
bad "a value with a space" "$C:1: tenant: the value holds a space"
conf "tenant = -bad-"
bad "a bad tenant" "$C:1: tenant: '-bad-' is neither"
conf "key-store = hsm"
bad "a bad key-store" "$C:1: key-store: 'hsm' is not tpm, software or auto"
conf "tcti = tabrmd:bus_type=system"
bad "a TCTI drsjoin does not have" "$C:1: tcti: 'tabrmd:bus_type=system' is not a TCTI drsjoin has"
conf "tcti = device:dev/tpmrm0"
bad "a relative TPM device" "$C:1: tcti: 'device:dev/tpmrm0': the device is not an absolute file name"
conf "token-file = token.jwt"
bad "a relative token file" "$C:1: token-file: 'token.jwt' is not an absolute file name"
conf "cacert = -"
bad "stdin as the CA bundle" "$C:1: cacert: '-' is not an absolute file name"
conf "token-file = /a" "bprt-file = /b"
bad "two token sources" "$C:2: bprt-file: token-file (line 1) names the token already"
printf 'tenant = %s\n# caf\xe9\n' "$EMU_TENANT_DOMAIN" >"$C"
bad "bytes that are not UTF-8 name FILE:LINE" "$C:2: the line is not valid UTF-8"
printf 'tenant = x\x01y\n' >"$C"
bad "a control character" "$C:1: the line holds a control character"
printf 'tenant = a\0b\n' >"$C"
bad "a NUL byte" "$C:1: the line holds a control character"
for kv in "attempts = 0|attempts: '0' is not a whole number from 1 to 20" \
    "max-wait = 1h|max-wait: '1h' is not a whole number from 1 to 3600" \
    "timeout = 99999|timeout: '99999' is not a whole number from 1 to 3600" \
    "join-type = hybrid|join-type: 'hybrid' is not join or register" \
    "state-dir = var/lib/drsjoin|state-dir: 'var/lib/drsjoin' is not an absolute file name" \
    "discovery-url = http://drs.example|discovery-url: not a usable https URL" \
    "proxy = ftp://proxy.example|proxy: not a proxy URL (the scheme is not" \
    "display-name = $(head -c 257 /dev/zero | tr '\0' n)|display-name: 'nnnn...(257 characters, not shown)' is longer than 256 bytes"; do
	conf "tenant = $EMU_TENANT_DOMAIN" "${kv%%|*}"
	bad "${kv%%=*}: a bad value is exit 3 naming FILE:LINE" "$C:2: ${kv#*|}"
done
t_check "a bad proxy in the file is not called --proxy" "$(! grep -q -- '--proxy' "$ERR"; echo $?)"
# A URL's user information is a password: never echoed (as --proxy's is not).
for kv in "proxy = ftp://alice:Hunter2pass@proxy.example:3128|proxy: not a proxy URL (the scheme is not" \
    "discovery-url = http://alice:Hunter2pass@drs.example|discovery-url: not a usable https URL (not https://)"; do
	conf "${kv%%|*}"
	bad "${kv%% =*} with a password: exit 3 naming FILE:LINE" "$C:1: ${kv#*|}"
	t_check "${kv%% =*} with a password: the password not shown" "$(! grep -q 'Hunter2pass' "$ERR"; echo $?)" \
	    "$(head -1 "$ERR")"
done
# Values are echoed as arguments are: a secret where a file name goes is not.
HEX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
conf "bprt-file = $HEX"
bad "a BPRT where the bprt-file's name goes: exit 3" "$C:1: bprt-file: '"
t_check "a BPRT where the bprt-file's name goes: not echoed" \
    "$(! grep -qF "${HEX:8:40}" "$ERR" && grep -q '(64 characters, not shown)' "$ERR"; echo $?)"
conf "cloud = eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"
bad "a token as the cloud: exit 3" "$C:1: cloud: '"
t_check "a token as the cloud: not echoed" "$(! grep -qF 'eyJhdWQiOiJ4In0' "$ERR"; echo $?)"
# Another file named by mistake: said so, no line of it shown.
printf '%s\n' '# ~/.bashrc' '' 'export PYENV_ROOT="$HOME/.pyenv"' 'API_TOKEN=s3cr3t-value' >"$C"
bad "DRSJOIN_CONFIG naming a shell file: not a drsjoin config file" \
    "$C: not a drsjoin config file (line 3 is no 'key = value' with a key of tenant,"
t_check "a shell file: no line of it shown, DRSJOIN_CONFIG named" \
    "$(! grep -q 'PYENV\|export\|s3cr3t' "$ERR" && grep -q 'named by DRSJOIN_CONFIG' "$ERR"; echo $?)"
printf '%s\n' 'API_TOKEN=s3cr3t-value' >"$C"
bad "a file of NAME=value lines: not a drsjoin config file" "$C: not a drsjoin config file (line 1"
t_check "NAME=value: neither name nor value shown" "$(! grep -q 'API_TOKEN\|s3cr3t' "$ERR"; echo $?)"
printf 'tenant = %s\nexport X=1\n' "$EMU_TENANT_DOMAIN" >"$C"
bad "a line that is not a key after good ones: exit 3, not echoed" "$C:2: unknown key (not shown"
printf 'tenant = caf\xc3\xa9.example\n' >"$C"
bad "a value that is not ASCII" "$C:1: tenant: the value holds a space or a byte that is not printable ASCII"
{ printf 'tenant = %s\n' "$EMU_TENANT_DOMAIN"; head -c 70000 /dev/zero | tr '\0' '#'; echo; } >"$C"
bad "a file over 64 KiB" "$C: larger than 65536 bytes"
conf "tenant = $EMU_TENANT_DOMAIN"
chmod 602 "$C"
bad "a file writable by others" "$C: writable by others (mode 0602)"
chmod 620 "$C"
bad "a file writable by its group" "$C: writable by its group (mode 0620)"
chmod 600 "$C"; chmod 777 "$T_WORK/etc"
bad "a parent writable by others" "$C: $T_WORK/etc: writable by others"
chmod 755 "$T_WORK/etc"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$C"
	bad "a file owned by another user" "$C: owned by uid 65534"
	chown 0 "$C"
else
	t_skip "a file owned by another user" "needs root"
fi
ln -s "$C" "$T_WORK/link.conf"
rm -rf "$STATE"
t_run --env DRSJOIN_CONFIG="$T_WORK/link.conf" -- keygen --key-store software
t_expect "a symbolic link is refused" 3 "$T_WORK/link.conf: a symbolic link, refused"
ln -s "$T_WORK/etc" "$T_WORK/linkdir"
t_run --env DRSJOIN_CONFIG="$T_WORK/linkdir/drsjoin.conf" -- keygen --key-store software
t_expect "a symbolic link among the parents is refused" 3 "$T_WORK/linkdir: a symbolic link, refused"
mkfifo -m 600 "$T_WORK/fifo.conf"
RC=0; timeout 10 env DRSJOIN_CONFIG="$T_WORK/fifo.conf" DRSJOIN_STATE_DIR="$STATE" "$DRSJOIN" status \
    >"$OUT" 2>"$ERR" || RC=$?
t_expect "a FIFO is refused without blocking" 3 "$T_WORK/fifo.conf: not a regular file"
# Not even opened: opening a FIFO wakes its writer (a device: acts on it).
rm -f "$T_WORK/woke"
$PY -c 'import os, sys; os.open(sys.argv[1], os.O_WRONLY); open(sys.argv[2], "w").close()' \
    "$T_WORK/fifo.conf" "$T_WORK/woke" &
wpid=$!
for i in $(seq 200); do [ "$(cat /proc/$wpid/wchan 2>/dev/null)" = wait_for_partner ] && break; sleep 0.05; done
if [ "$(cat /proc/$wpid/wchan 2>/dev/null)" = wait_for_partner ]; then
	t_run --env DRSJOIN_CONFIG="$T_WORK/fifo.conf" -- status
	sleep 0.5
	t_check "a FIFO is not opened (its writer still waits)" \
	    "$([ "$RC" -eq 3 ] && [ ! -e "$T_WORK/woke" ]; echo $?)" "rc $RC"
else
	t_skip "a FIFO is not opened" "the writer never blocked in open"
fi
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
t_run --env DRSJOIN_CONFIG="$T_WORK/etc" -- status
t_expect "a directory is refused" 3 "$T_WORK/etc: not a regular file"
t_check "no state dir appeared through any refusal" "$([ ! -e "$STATE" ]; echo $?)"
t_done
