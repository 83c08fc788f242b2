# Helpers for integration tests against the DRS emulator (bash; source it).
#
#   emu_start [--state-dir DIR] [drs-emulator args...]
#       Start the emulator on a free port, in DIR or in a fresh mktemp dir,
#       wait for its JSON line, export EMU_URL EMU_CA EMU_TENANT_ID
#       EMU_TENANT_DOMAIN EMU_DIR EMU_PID EMU_CONTROL. Fails loudly (message
#       and the emulator's stderr on stderr, status 1) when it does not start,
#       and then removes the directory if it made it. The emulator's stdout
#       and stderr go to EMU_DIR/emulator.out and EMU_DIR/emulator.err.
#   emu_stop            SIGTERM the emulator and wait for it (no-op if not running).
#   emu_cleanup         emu_stop, then remove EMU_DIR if emu_start created it.
#   emu_token [args]    print a token (mint-token args: --upn, --expired, ...).
#   emu_fault [args]    arm a fault (emuctl fault args); "emu_fault clear [--route R]" clears.
#   emu_ctl [args]      any emuctl command (devices, status, config, approve, ...).
#   emu_requests        print the path of requests.jsonl.
#   emu_device_count    print the number of recorded devices.
#
# DRSJOIN_EMU_PKI_CACHE=DIR (test/run sets it): an emulator started in a dir
# that emu_start makes gets its keys and certificates (the TLS CA and server
# certificate, the device CA, the token-signing key) from DIR, made by the
# first emulator of the run, instead of making four RSA keys (~1 s of CPU).
# Emulators of one run then share their CAs; the state (devices, nonces,
# requests) is each one's own.
#
# Call emu_start in the test's own shell, not in $(...) or a pipeline: the
# EMU_* variables must reach the shell that calls emu_cleanup. The emulator
# is started with --exit-with-parent, so it stops by itself (within 0.5 s)
# if that shell dies without cleaning up.
#
# Safe under "set -eu" and from an EXIT trap, e.g.
#   trap emu_cleanup EXIT; emu_start; drsjoin --discovery-url "$EMU_URL" --cacert "$EMU_CA" ...

EMU_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/drs-emulator" && pwd)
. "$(dirname "${BASH_SOURCE[0]}")/lib-pyhelper.sh"
EMU_PYTHON=/usr/bin/python3
EMU_START_TIMEOUT=${EMU_START_TIMEOUT:-15}

emu_start() {
    local dir="" created=0 out err i line
    local -a args=()
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --state-dir) dir=$2; shift 2 ;;
            --state-dir=*) dir=${1#--state-dir=}; shift ;;
            *) args+=("$1"); shift ;;
        esac
    done
    if [ -z "$dir" ]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/drs-emu.XXXXXX") || { echo "emu_start: mktemp failed" >&2; return 1; }
        created=1
    fi
    mkdir -p "$dir"
    [ "$created" = 1 ] && emu_pki_get "$dir"
    out="$dir/emulator.out"
    err="$dir/emulator.err"
    : >"$out"
    "$EMU_HOME/drs-emulator" --state-dir "$dir" --exit-with-parent ${args[@]+"${args[@]}"} \
        >"$out" 2>"$err" &
    EMU_PID=$!
    EMU_DIR=$dir
    EMU_DIR_CREATED=$created
    export EMU_PID EMU_DIR EMU_DIR_CREATED
    i=0
    # Ready once the line is complete (ends in a newline).
    while ! { [ -s "$out" ] && [ -z "$(tail -c 1 "$out")" ]; }; do
        if ! kill -0 "$EMU_PID" 2>/dev/null; then
            echo "emu_start: drs-emulator exited before it was ready; its stderr:" >&2
            sed 's/^/  /' "$err" >&2 || true
            EMU_PID=""
            emu_cleanup
            return 1
        fi
        i=$((i + 1))
        if [ "$i" -gt $((EMU_START_TIMEOUT * 20)) ]; then
            echo "emu_start: drs-emulator (pid $EMU_PID) not ready after ${EMU_START_TIMEOUT}s; its stderr:" >&2
            sed 's/^/  /' "$err" >&2 || true
            emu_cleanup
            return 1
        fi
        sleep 0.05
    done
    # Read the fields with Python (no jq needed).
    line=$("$EMU_PYTHON" -c '
import json, sys
d = json.loads(open(sys.argv[1]).readline())
for k in ("url", "ca", "tenant_id", "tenant_domain", "control"):
    print(d[k])
' "$out") || { echo "emu_start: bad JSON line from drs-emulator: $(cat "$out")" >&2; emu_cleanup; return 1; }
    {
        read -r EMU_URL
        read -r EMU_CA
        read -r EMU_TENANT_ID
        read -r EMU_TENANT_DOMAIN
        read -r EMU_CONTROL
    } <<<"$line"
    export EMU_URL EMU_CA EMU_TENANT_ID EMU_TENANT_DOMAIN EMU_CONTROL
    [ "$created" = 1 ] && emu_pki_put "$dir"
    return 0
}

# The PEM files of the emulator's keys and certificates (drsemu/pki.py FILES).
EMU_PKI_FILES="tls-ca.pem tls-ca.key tls-server.pem tls-server.key device-ca.pem
    device-ca.key token-signing.pem token-signing.key"

# emu_pki_get DIR: copies the run's cached keys into DIR, if there are any.
emu_pki_get() {
    local c=${DRSJOIN_EMU_PKI_CACHE:-}/pki f
    [ -n "${DRSJOIN_EMU_PKI_CACHE:-}" ] && [ -d "$c" ] || return 0
    for f in $EMU_PKI_FILES; do
        cp -p "$c/$f" "$1/$f" || return 0
    done
}

# emu_pki_put DIR: the first emulator of a run leaves its keys for the
# others (a complete set, or none: made aside, then renamed in place).
emu_pki_put() {
    local c=${DRSJOIN_EMU_PKI_CACHE:-} t f
    [ -n "$c" ] && [ ! -d "$c/pki" ] || return 0
    mkdir -p "$c" && t=$(mktemp -d "$c/.pki.XXXXXX") || return 0
    for f in $EMU_PKI_FILES; do
        cp -p "$1/$f" "$t/$f" || { rm -rf "$t"; return 0; }
    done
    mv -T "$t" "$c/pki" 2>/dev/null || rm -rf "$t"
    return 0
}

emu_stop() {
    local pid=${EMU_PID:-} i=0
    [ -n "$pid" ] || return 0
    EMU_PID=""
    kill -TERM "$pid" 2>/dev/null || return 0
    # wait works for our own child; otherwise poll until it is gone.
    wait "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            echo "emu_stop: drs-emulator (pid $pid) ignored SIGTERM for 5s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
    return 0
}

emu_cleanup() {
    emu_stop
    if [ "${EMU_DIR_CREATED:-0}" = 1 ] && [ -n "${EMU_DIR:-}" ]; then
        rm -rf -- "$EMU_DIR"
        EMU_DIR_CREATED=0
    fi
    return 0
}

# mint-token and emuctl run in the test's Python helper (lib-pyhelper.sh),
# or as programs when it cannot be reached.
emu_token() {
    local rc=0
    pyh mint-token --state-dir "${EMU_DIR:?emu_start first}" "$@" || rc=$?
    [ "$rc" -ne 125 ] && return "$rc"
    "$EMU_HOME/mint-token" --state-dir "${EMU_DIR:?emu_start first}" "$@"
}

emu_ctl() {
    local rc=0
    # One that reads stdin (emuctl user: the password) runs itself: the helper has none.
    if [ -p /dev/stdin ] || [ -f /dev/stdin ]; then
        "$EMU_HOME/emuctl" --state-dir "${EMU_DIR:?emu_start first}" "$@"
        return
    fi
    pyh emuctl --state-dir "${EMU_DIR:?emu_start first}" "$@" || rc=$?
    [ "$rc" -ne 125 ] && return "$rc"
    "$EMU_HOME/emuctl" --state-dir "${EMU_DIR:?emu_start first}" "$@"
}

emu_fault() {
    if [ "${1:-}" = clear ]; then
        shift
        emu_ctl clear "$@" >/dev/null
    else
        emu_ctl fault "$@" >/dev/null
    fi
}

emu_requests() {
    echo "${EMU_DIR:?emu_start first}/requests.jsonl"
}

emu_device_count() {
    emu_ctl devices --count
}
