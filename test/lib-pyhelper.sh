# shellcheck shell=bash
# The tests' Python calls, answered by one Python process per test
# (test/lib-pyhelper.py) instead of a Python start each (bash; sourced by
# lib-emulator.sh).
#
#   pyh COMMAND ARGS...   runs COMMAND (jget FILE EXPR, emuctl ARGS...,
#       mint-token ARGS..., req_count FILE ROUTE, last_request FILE ROUTE
#       DEST) in the helper: its stdout, stderr and exit status are the
#       command's. Status 125, with nothing sent, when the helper cannot be
#       reached: the caller then starts the program itself.
#   pyh_stop              ends the helper (it also ends by itself once the
#       shell that sourced this is gone).
#
# The helper starts on the first call, from any subshell, and is no child of
# the test's shell (a test's "wait" never waits for it). Bash reaches it over
# 127.0.0.1 (/dev/tcp), a connection per call, so calls from $(...),
# pipelines and background jobs are each answered in turn.

PYH_HELPER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib-pyhelper.py
PYH_DIR=${TMPDIR:-/tmp}/drsjoin-pyhelper.$$
PYH_OWNER=$$
PYH_PORT=""
PYH_SECRET=""

# pyh_open: connects fd PYH_FD to the helper, starting it first if needed.
pyh_open() {
	local i=0
	[ "${DRSJOIN_NO_PYHELPER:-}" = 1 ] && return 1
	if [ -z "$PYH_PORT" ]; then
		if [ ! -e "$PYH_DIR/port" ] && mkdir "$PYH_DIR" 2>/dev/null; then
			( /usr/bin/python3 "$PYH_HELPER" "$PYH_DIR" "$PYH_OWNER" \
			    "${EMU_HOME:?}" </dev/null >/dev/null 2>"$PYH_DIR/err" & )
		fi
		while [ ! -e "$PYH_DIR/port" ]; do
			i=$((i + 1))
			[ -d "$PYH_DIR" ] && [ "$i" -le 600 ] || return 1
			sleep 0.02
		done
		read -r PYH_PORT PYH_SECRET _ <"$PYH_DIR/port" || return 1
	fi
	exec {PYH_FD}<>"/dev/tcp/127.0.0.1/$PYH_PORT" || { PYH_PORT=""; return 1; }
} 2>/dev/null

pyh() {
	local LC_ALL=C PYH_FD rc=0 nout=0 nerr=0 out="" err=""
	pyh_open || return 125
	printf '%s\0' $(($# + 2)) "$PYH_SECRET" "$PWD" "$@" >&"$PYH_FD"
	if ! read -r rc nout nerr <&"$PYH_FD"; then
		exec {PYH_FD}>&-
		echo "pyh: no answer from the helper for: $*" >&2
		return 1
	fi
	[ "$nout" -gt 0 ] && IFS= read -r -N "$nout" out <&"$PYH_FD"
	[ "$nerr" -gt 0 ] && IFS= read -r -N "$nerr" err <&"$PYH_FD"
	exec {PYH_FD}>&-
	printf '%s' "$out"
	printf '%s' "$err" >&2
	return "$rc"
}

pyh_stop() {
	local pid
	[ "$$" = "$PYH_OWNER" ] && [ -d "$PYH_DIR" ] || return 0
	local i=0
	read -r _ _ pid <"$PYH_DIR/port" 2>/dev/null && kill "$pid" 2>/dev/null &&
	    while pyh_alive "$pid" && [ "$i" -lt 100 ]; do
		sleep 0.02; i=$((i + 1))	# its CPU time logged, it is gone
	    done
	rm -rf -- "$PYH_DIR"
	return 0
}

# pyh_alive PID: running (not gone, not a zombie left for init to reap).
pyh_alive() {
	local s
	kill -0 "$1" 2>/dev/null || return 1
	read -r s <"/proc/$1/stat" 2>/dev/null || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}
