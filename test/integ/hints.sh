#!/usr/bin/env bash
# The hints of the admin's day-to-day: each one's exit code and message, and
# nothing made or sent: a refresh token or BPRT given as --token-file, a
# global option after the command, an environment proxy named (its password
# never), --cacert, --discovery-url and --proxy checked before any key is
# made, and a user who is not root on root's default state dir.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
fresh() { STATE=$T_WORK/state-$1; }
nothing_kept() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; }
secret_file() {	# NAME CONTENT: a 0600 file
	printf '%s\n' "$2" >"$T_WORK/$1"
	chmod 600 "$T_WORK/$1"
	echo "$T_WORK/$1"
}

# --- a refresh token or BPRT where the access token goes ---------------------
BPRT=$(emu_token --bprt)
RT=$(emu_ctl refresh-token)
for kind in bprt rt; do
	fresh "tf-$kind"
	secret=$BPRT; [ "$kind" = rt ] && secret=$RT
	f=$(secret_file "$kind" "$secret")
	n=$(req_count)
	t_run -- join --token-file "$f" --tenant "$EMU_TENANT_DOMAIN" --key-store software
	t_expect "$kind given to --token-file: exit 3, the options it belongs to" 3 \
	    "token $f: not an access token (a JWT); this looks like a refresh token or BPRT: use --bprt-file or --refresh-token-file"
	t_check "$kind given to --token-file: not echoed, nothing sent or kept" \
	    "$(! grep -qF "${secret:8:24}" "$ERR" && [ "$(req_count)" -eq "$n" ] && nothing_kept; echo $?)"
done
fresh tf-env
t_run --env "DRSJOIN_TOKEN=$RT" -- join --key-store software
t_expect "a refresh token in DRSJOIN_TOKEN: names the variables too" 3 \
    "use --bprt-file or --refresh-token-file (or DRSJOIN_BPRT, DRSJOIN_REFRESH_TOKEN)"
t_check "a refresh token in DRSJOIN_TOKEN: not echoed" "$(! grep -qF "${RT:8:24}" "$ERR" && nothing_kept; echo $?)"
fresh tf-short
t_run -- join --token-file "$(secret_file short 'not-a-token')" --key-store software
t_expect "a short non-JWT: still 'not a JWT', no refresh token hint" 3 "token: not a JWT"
t_check "a short non-JWT: no hint" "$(! grep -q 'refresh token or BPRT' "$ERR"; echo $?)"

# --- a global option after the command -----------------------------------------
fresh glob
for args in "join --state-dir /tmp/x" "status -q" "leave -v" "join --cacert=/etc/secret-name" \
    "discover --timeout 5 --tenant x.example" "status --compact"; do
	opt=${args#* }; opt=${opt%% *}; opt=${opt%%=*}
	set -f; t_run -- $args; set +f
	t_expect "'drsjoin $args': a usage error that says to put $opt first" 2 \
	    "${args%% *}: '$opt' is a global option: put it before the command"
done
t_check "a global option's value is never echoed" "$(! grep -q 'secret-name' "$ERR"; echo $?)"
t_check "a global option after the command: nothing made" "$([ ! -e "$STATE" ] && [ ! -e /tmp/x ]; echo $?)"
t_run -- status --json
t_check "a command's own option still works after it" "$([ "$RC" -eq 8 ] && [ "$(jget "$OUT" 'd["joined"]')" = False ]; echo $?)"

# --- the environment's proxy --------------------------------------------------------
# A port nothing listens on: the connection to the proxy is refused.
closed=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for var in https_proxy HTTPS_PROXY all_proxy ALL_PROXY; do
	t_run --env "$var=http://proxyuser:S3cretPw@127.0.0.1:$closed" -- --attempts 1 \
	    discover --tenant "$EMU_TENANT_DOMAIN"
	t_expect "$var: the network error names the proxy and the variable" 4 \
	    "through the proxy http://<redacted>@127.0.0.1:$closed (from $var)"
	t_check "$var: the proxy's user and password are not shown" \
	    "$(! grep -qE 'S3cretPw|proxyuser' "$ERR"; echo $?)"
done
# A password with an unencoded / ? # or space (libcurl may still take it):
# everything up to the last @ is redacted, at -v and in any error.
for pw in 'p/ss?w#rd' 'pa ss'; do
	t_run --env "https_proxy=http://proxyuser:$pw@127.0.0.1:$closed" -- -v --attempts 1 \
	    discover --tenant "$EMU_TENANT_DOMAIN"
	t_check "https_proxy with '$pw' as password: not shown at -v or in the error" \
	    "$(grep -q "proxy: http://<redacted>@127.0.0.1:$closed (from https_proxy)" "$ERR" &&
	       ! grep -qF -e "$pw" -e proxyuser "$ERR"; echo $?)" "$(grep proxy "$ERR" | head -3)"
done
t_run --env "HTTPS_PROXY=proxyuser:S3cretPw@127.0.0.1:$closed" -- -v --attempts 1 \
    discover --tenant "$EMU_TENANT_DOMAIN"
t_check "-v, a proxy without a scheme: named as http:// at -v and in the error, the password not" \
    "$([ "$RC" -eq 4 ] && grep -q "proxy: http://<redacted>@127.0.0.1:$closed (from HTTPS_PROXY)\$" "$ERR" &&
       grep -q "through the proxy http://<redacted>@127.0.0.1:$closed (from HTTPS_PROXY)" "$ERR" &&
       ! grep -qE 'S3cretPw|proxyuser' "$ERR"; echo $?)" "$(grep proxy "$ERR" | head -3)"
t_run --env "https_proxy=http://127.0.0.1:$closed" --env "no_proxy=127.0.0.1" -- --attempts 1 \
    discover --tenant "$EMU_TENANT_DOMAIN"
t_check "no_proxy naming the host: straight there, and no proxy named" \
    "$([ "$RC" -eq 0 ] && ! grep -q 'through the proxy' "$ERR"; echo $?)"
t_run --env "https_proxy=http://127.0.0.1:$closed" -- --attempts 1 --proxy "http://127.0.0.1:$closed" \
    discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "--proxy wins over the environment, and is named as before" 4 \
    "through the proxy http://127.0.0.1:$closed: "
t_check "--proxy: the environment's variable is not named" "$(! grep -q '(from https_proxy)' "$ERR"; echo $?)"
t_run --env "https_proxy=http://127.0.0.1:$closed" -- --attempts 1 --proxy '' discover --tenant "$EMU_TENANT_DOMAIN"
t_check "--proxy '' (none) wins over the environment: straight there" \
    "$([ "$RC" -eq 0 ] && ! grep -q 'proxy' "$ERR"; echo $?)" "$(head -c 300 "$ERR")"

# --- checked before any key is made -----------------------------------------------
# --key-store auto without a TPM says "keygen: no usable TPM" when keygen
# starts: one error line and nothing else means no key generation began.
for case in "--cacert $T_WORK/no-such-ca.pem|3|--cacert $T_WORK/no-such-ca.pem: No such file or directory" \
    "--cacert $T_WORK|3|is a directory, expected a PEM file" \
    "--discovery-url htps://drs.example|2|--discovery-url: not a usable https URL (not https://)" \
    "--discovery-url https://user@drs.example|2|--discovery-url: not a usable https URL (user information before the host)" \
    "--proxy htp://proxy.example:3128|2|--proxy: not a proxy URL (the scheme is not http" \
    "--proxy http://proxy.example:99999|2|--proxy: not a proxy URL (the port is not a number from 1 to 65535)" \
    "--proxy http://proxy.example:3128/path|2|--proxy: not a proxy URL (a path after the host)"; do
	IFS='|' read -r opt code msg <<<"$case"
	fresh pre
	n=$(req_count)
	set -f
	t_run -- $opt --tcti device:/nonexistent/tpm join --token-file "$(token_file)" --key-store auto
	set +f
	t_expect "join $opt: exit $code before any key is made" "$code" "$msg"
	t_check "join $opt: no key made, nothing sent or kept" \
	    "$(! grep -q 'keygen' "$ERR" && [ "$(req_count)" -eq "$n" ] && nothing_kept; echo $?)"
done
printf '' >"$T_WORK/empty.pem"
fresh pre-env
t_run --env "SSL_CERT_FILE=$T_WORK/empty.pem" -- --tcti device:/nonexistent/tpm \
    join --token-file "$(token_file)" --key-store auto
t_expect "SSL_CERT_FILE empty: exit 3 before any key is made" 3 "SSL_CERT_FILE $T_WORK/empty.pem: is empty"
t_check "SSL_CERT_FILE empty: nothing kept" "$(nothing_kept; echo $?)"

# --- not root, on root's default state dir ------------------------------------------
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	t_skip "a user on the default state dir" "needs root and setpriv(1) to become another user"
else
	existed=$([ -e /var/lib/drsjoin ] && echo yes || echo no)
	for cmd in "join --token-file $(token_file)" "leave" "keygen --key-store software"; do
		chmod 644 "$T_WORK"/token.* 2>/dev/null; chmod 755 "$T_WORK"
		RC=0
		set -f
		env -u DRSJOIN_STATE_DIR DRSJOIN_DISCOVERY_URL="$EMU_URL" SSL_CERT_FILE="$EMU_CA" \
		    setpriv --reuid=65534 --regid=65534 --clear-groups "$DRSJOIN" $cmd \
		    </dev/null >"$OUT" 2>"$ERR" || RC=$?
		set +f
		t_expect "as nobody, '${cmd%% *}' on /var/lib/drsjoin: exit 7, run as root or give --state-dir" 7 \
		    "it is root's: run drsjoin as root (sudo), or give --state-dir DIR (or DRSJOIN_STATE_DIR)"
	done
	t_check "as nobody: /var/lib/drsjoin neither made nor changed" \
	    "$([ "$([ -e /var/lib/drsjoin ] && echo yes || echo no)" = "$existed" ]; echo $?)"
	RC=0
	env DRSJOIN_STATE_DIR="$T_WORK/mine" setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$DRSJOIN" leave </dev/null >"$OUT" 2>"$ERR" || RC=$?
	t_check "as nobody, another state dir: no such hint" \
	    "$([ "$RC" -ne 0 ] && ! grep -q "it is root's" "$ERR"; echo $?)" "$(cat "$ERR")"
fi

t_done
