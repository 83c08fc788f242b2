#!/usr/bin/env bash
# --proxy and the usual proxy environment variables: the join goes through
# an HTTP CONNECT proxy (a loopback one of the test's own).
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
plog=$T_WORK/proxy.log
: >"$plog"
coproc PROXY { exec "$(dirname "$0")/connect-proxy.py" "$plog"; }
read -r -t 10 port <&"${PROXY[0]}" || { t_fail "proxy starts" "no port"; exit 1; }
stop_proxy() { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; t_cleanup; }
trap stop_proxy EXIT
emu_port=${EMU_URL##*:}

t_run -- --proxy "http://127.0.0.1:$port" join --token-file "$TOK" --key-store software
t_expect "join through --proxy" 0
t_check "--proxy: the proxy carried the requests" \
    "$(grep -q "^CONNECT 127.0.0.1:$emu_port " "$plog"; echo $?)"

: >"$plog"
STATE=$T_WORK/state-env
t_run --env "https_proxy=http://127.0.0.1:$port" -- discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "discover through https_proxy" 0
t_check "https_proxy: the proxy carried the request" \
    "$(grep -q "^CONNECT 127.0.0.1:$emu_port " "$plog"; echo $?)"

: >"$plog"
t_run --env "https_proxy=http://127.0.0.1:$port" --env "no_proxy=127.0.0.1" -- discover --tenant "$EMU_TENANT_DOMAIN"
t_check "no_proxy: a direct connection" "$([ "$RC" -eq 0 ] && [ ! -s "$plog" ]; echo $?)"

t_run -- --attempts 1 --proxy http://127.0.0.1:9 discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "an unreachable proxy is named" 4 "127.0.0.1:9"

t_done
