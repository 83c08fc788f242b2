# Shared by the integration tests (bash; source it). Each test prints the
# lines of HACKING.md and ends with `t_done`.
#
#   t_ok NAME / t_fail NAME REASON / t_skip NAME REASON
#   t_run [--in FILE] [--env K=V]... -- drsjoin args...
#        runs $DRSJOIN with the emulator's URL and CA and the test state dir;
#        sets RC, OUT (stdout file), ERR (stderr file)
#   t_expect NAME RC [MESSAGE]   checks RC, that stderr has MESSAGE, and that
#        an error is exactly one line
#   jget FILE PYEXPR             evaluates PYEXPR on the JSON in FILE as d
#   req_count [ROUTE]            requests the emulator logged (for ROUTE)
#   state_files                  the files of the state dir, sorted
#   wait_stopped PID / wait_polling PID / wait_fault_taken ROUTE
#        bounded waits for a process at a known step (see below)
set -u

. "$DRSJOIN_TOP/test/lib-emulator.sh"
. "$DRSJOIN_TOP/test/lib-swtpm.sh"

: "${DRSJOIN:?run from test/run, which sets DRSJOIN}"
T_FAILED=0
T_WORK=$(mktemp -d "${TMPDIR:-/tmp}/drsjoin-it.XXXXXX")
STATE=$T_WORK/state
OUT=$T_WORK/out
ERR=$T_WORK/err
RC=0
PY=/usr/bin/python3

t_cleanup() {
	emu_cleanup 2>/dev/null || true
	pyh_stop
	swtpm_stop 2>/dev/null || true
	rm -rf "$T_WORK"
}
trap t_cleanup EXIT

# t_with_mounts: a test that mounts things (tmpfs, bind mounts) lists them
# in MOUNTS; they are unmounted before the work dir goes.
t_with_mounts() {
	MOUNTS=()
	trap 't_cleanup_mounts' EXIT
}
t_cleanup_mounts() {
	local m
	for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	t_cleanup
}

t_ok() { echo "ok - $1"; }
t_fail() {
	echo "not ok - $1: $2"
	T_FAILED=$((T_FAILED + 1))
	{ echo "--- $1: stderr was:"; sed 's/^/  | /' "$ERR" 2>/dev/null | head -20; } >&2
}
t_skip() { echo "skip - $1: $2"; }
t_check() {	# NAME CONDITION-STATUS [REASON]
	if [ "$2" -eq 0 ]; then t_ok "$1"; else t_fail "$1" "${3:-check failed}"; fi
}
t_done() { [ "$T_FAILED" -eq 0 ]; }

t_run() {
	local -a env=()
	local in=/dev/null
	while [ $# -gt 0 ]; do
		case $1 in
		--in) in=$2; shift 2 ;;
		--env) env+=("$2"); shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	RC=0
	# --env comes last, so that it can override the defaults.
	env DRSJOIN_DISCOVERY_URL="${EMU_URL:-https://127.0.0.1:9}" \
	    DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="${EMU_CA:-/nonexistent}" \
	    ${env[@]+"${env[@]}"} "$DRSJOIN" "$@" <"$in" >"$OUT" 2>"$ERR" || RC=$?
}

# t_expect NAME RC [MESSAGE]
t_expect() {
	local name=$1 want=$2 msg=${3:-}
	if [ "$RC" -ne "$want" ]; then
		t_fail "$name" "exit $RC, expected $want"
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$ERR"; then
		t_fail "$name" "stderr lacks '$msg'"
	elif [ "$want" -ne 0 ] && [ "$(errors)" -ne 1 ]; then
		t_fail "$name" "expected exactly one error line, got $(errors)"
	elif [ "$want" -ne 0 ] && [ -s "$OUT" ]; then
		t_fail "$name" "a failure wrote to stdout"
	else
		t_ok "$name"
	fi
}

# Error lines on stderr: retry notes ("..., retrying in N s (attempt ...)")
# and join --splay's wait are not errors.
errors() {
	grep '^drsjoin: ' "$ERR" | grep -v ', retrying in [0-9.]* s (attempt ' |
	    grep -vc '^drsjoin: join: waiting [0-9.]* s before the first request (--splay [0-9]*)$'
}

# jget, req_count and last_request are answered by the test's Python helper
# (lib-pyhelper.sh), or by a Python of their own when it cannot be reached.
jget() {
	local rc=0
	pyh jget "$1" "$2" || rc=$?
	[ "$rc" -ne 125 ] && return "$rc"
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

# A path device.json (FILE) holds, made absolute: records hold paths relative
# to the state dir (older ones absolute paths).
recpath() {
	local p
	p=$(jget "$1" "$2") || return 1
	case $p in
	/*) echo "$p" ;;
	*) echo "$(dirname "$1")/$p" ;;
	esac
}

req_count() {
	local f
	f=$(emu_requests)
	[ -f "$f" ] || { echo 0; return; }
	if [ $# -gt 0 ]; then
		local rc=0
		pyh req_count "$f" "$1" || rc=$?
		[ "$rc" -ne 125 ] && return "$rc"
		$PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("route")==sys.argv[2]))' "$f" "$1"
	else
		wc -l <"$f" | tr -d ' '
	fi
}

# The last logged request of a route, as a JSON file; prints its path.
last_request() {
	local rc=0
	pyh last_request "$(emu_requests)" "$1" "$T_WORK/last.json" || rc=$?
	[ "$rc" -ne 125 ] && { echo "$T_WORK/last.json"; return 0; }
	$PY -c 'import json,sys
r=[json.loads(l) for l in open(sys.argv[1]) if json.loads(l).get("route")==sys.argv[2]]
json.dump(r[-1] if r else {}, open(sys.argv[3],"w"))' "$(emu_requests)" "$1" "$T_WORK/last.json"
	echo "$T_WORK/last.json"
}

state_files() {
	[ -d "$STATE" ] || return 0
	(cd "$STATE" && find . -type f ! -name .lock | sort)
}

# A token for the emulator's tenant in a 0600 file; args go to mint-token.
token_file() {
	local f=$T_WORK/token.$RANDOM
	emu_token "$@" >"$f"
	chmod 600 "$f"
	echo "$f"
}

# t_expect_unhealthy NAME RC [MESSAGE]: status (or another command printing
# the status document) on an unusable identity: exit RC, MESSAGE and one
# error line on stderr, and on stdout JSON with "healthy": false and the
# "reason" that the error line gives.
t_expect_unhealthy() {
	local name=$1 want=$2 msg=${3:-} reason
	reason=$(jget "$OUT" 'd["reason"] if d["healthy"] is False and d["reason"] else ""')
	if [ "$RC" -ne "$want" ]; then
		t_fail "$name" "exit $RC, expected $want"
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$ERR"; then
		t_fail "$name" "stderr lacks '$msg'"
	elif [ "$(errors)" -ne 1 ]; then
		t_fail "$name" "expected exactly one error line, got $(errors)"
	elif [ -z "$reason" ]; then
		t_fail "$name" "stdout is not JSON with \"healthy\": false and a reason"
	elif ! grep -qF -- "$reason" "$ERR"; then
		t_fail "$name" "the error line does not give the reason '$reason'"
	else
		t_ok "$name"
	fi
}

# Waits for a process at a known step (bounded; 0 when it got there):
#   wait_stopped PID        stopped (DRSJOIN_TEST_STOP_AT), up to 20 s
#   wait_polling PID        in poll/ppoll: libcurl waiting for an answer, up to 10 s
#   wait_fault_taken ROUTE  the emulator took the fault armed on ROUTE, up to 10 s
wait_stopped() {
	local i
	for i in $(seq 400); do
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.05
	done
	return 1
}
wait_polling() {
	local i s
	for i in $(seq 200); do
		s=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)
		case $s in 7|271) return 0 ;; esac
		sleep 0.05
	done
	return 1
}
wait_fault_taken() {
	local i
	for i in $(seq 200); do
		emu_ctl faults | grep -q "\"route\": \"$1\"" || return 0
		sleep 0.05
	done
	return 1
}
