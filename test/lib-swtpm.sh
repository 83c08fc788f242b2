# lib-swtpm.sh - Debian's swtpm on a free loopback port pair, for tests.
# Source it from bash. Safe under set -eu and from traps.
#
#   swtpm_available            0, or non-zero with the reason on stdout
#   swtpm_start [STATEDIR [PORT]]
#                              starts swtpm (a fresh temp state without
#                              STATEDIR; PORT and PORT+1, or a random free
#                              pair; restart with "$SWTPM_DIR" "$SWTPM_PORT"
#                              to keep both) and exports SWTPM_TCTI
#                              ("swtpm:host=127.0.0.1,port=P"), SWTPM_PID,
#                              SWTPM_PORT, SWTPM_DIR
#   swtpm_stop                 stops it (idempotent); removes the state dir
#                              only when swtpm_start made it
#
# Call swtpm_start in the test's own shell, not in $(...): the process must
# be our child for swtpm_stop to reap it. Use `trap swtpm_stop EXIT`.

SWTPM_PID=${SWTPM_PID:-}
SWTPM_DIR=${SWTPM_DIR:-}
SWTPM_PORT=${SWTPM_PORT:-}
SWTPM_TCTI=${SWTPM_TCTI:-}
_swtpm_tmpdir=

# 0 when something accepts on 127.0.0.1:$1 (bash's /dev/tcp, no nc needed).
_swtpm_accepts() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# shellcheck disable=SC2120 # arguments are optional
# Starts swtpm on a random port pair; retries on another pair when a port
# turns out to be taken (binding is the only race-free test of "free").
swtpm_start() {
	local dir=${1:-} want=${2:-} port tries=0 waited
	local log

	_swtpm_kill
	# Restarting on the temp state we made keeps it; anything else ends it.
	if [ -z "$dir" ] || [ "$dir" != "$_swtpm_tmpdir" ]; then
		_swtpm_cleanup_dir
	fi
	command -v swtpm >/dev/null 2>&1 || {
		echo "swtpm_start: swtpm is not installed" >&2
		return 1
	}
	if [ -z "$dir" ]; then
		_swtpm_tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/drsjoin-swtpm.XXXXXX")
		dir=$_swtpm_tmpdir
	fi
	mkdir -p "$dir"
	log="$dir/swtpm.log"
	while [ "$tries" -lt 10 ]; do
		tries=$((tries + 1))
		# An even port in 20000-59998, so P and P+1 are both free-ish.
		port=${want:-$(( (RANDOM * 32768 + RANDOM) % 20000 * 2 + 20000 ))}
		if [ -z "$want" ] && { _swtpm_accepts "$port" ||
		    _swtpm_accepts "$((port + 1))"; }; then
			continue
		fi
		swtpm socket --tpm2 \
			--server "type=tcp,port=$port,bindaddr=127.0.0.1" \
			--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
			--tpmstate "dir=$dir" \
			--flags not-need-init,startup-clear \
			</dev/null >"$log" 2>&1 &
		SWTPM_PID=$!
		waited=0
		# Up to 5 s for it to accept; an early exit means a bind failure
		# (try another pair) or a swtpm that cannot run at all.
		while [ "$waited" -lt 50 ]; do
			if ! kill -0 "$SWTPM_PID" 2>/dev/null; then
				wait "$SWTPM_PID" 2>/dev/null || true
				SWTPM_PID=
				break
			fi
			if _swtpm_accepts "$port"; then
				SWTPM_PORT=$port
				SWTPM_DIR=$dir
				SWTPM_TCTI="swtpm:host=127.0.0.1,port=$port"
				export SWTPM_PID SWTPM_PORT SWTPM_DIR SWTPM_TCTI
				return 0
			fi
			sleep 0.1
			waited=$((waited + 1))
		done
		if [ -n "$SWTPM_PID" ]; then
			# Running but never accepting: give up on this one.
			kill -KILL "$SWTPM_PID" 2>/dev/null || true
			wait "$SWTPM_PID" 2>/dev/null || true
			SWTPM_PID=
		fi
		# A port taken under us: try another pair, unless one was asked.
		if [ -n "$want" ] ||
		    ! grep -qi "address already in use" "$log" 2>/dev/null; then
			break
		fi
	done
	echo "swtpm_start: swtpm did not start: $(tail -n 3 "$log" 2>/dev/null | tr '\n' ' ')" >&2
	_swtpm_cleanup_dir
	return 1
}

_swtpm_cleanup_dir() {
	if [ -n "$_swtpm_tmpdir" ]; then
		rm -rf "$_swtpm_tmpdir"
		_swtpm_tmpdir=
	fi
}

# Ends the process only: TERM, up to 5 s, then KILL.
_swtpm_kill() {
	local pid=${SWTPM_PID:-} i=0

	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	SWTPM_PID=
	SWTPM_PORT=
	SWTPM_TCTI=
	return 0
}

# Stops the running swtpm and drops a temp state. Always returns 0.
swtpm_stop() {
	_swtpm_kill
	_swtpm_cleanup_dir
	SWTPM_DIR=
	return 0
}

# Whether swtpm can really run here: it is started once and stopped. On
# failure prints the reason on stdout (for "skip - NAME: REASON").
swtpm_available() {
	local err

	if ! command -v swtpm >/dev/null 2>&1; then
		echo "swtpm is not installed (apt-get install swtpm swtpm-tools)"
		return 1
	fi
	# A subshell with no instance of its own: ours, if any, stays up.
	# shellcheck disable=SC2119 # a fresh temp state, on purpose
	if ! err=$( (SWTPM_PID='' _swtpm_tmpdir='' SWTPM_DIR=''
		swtpm_start && swtpm_stop) 2>&1 ); then
		echo "${err:-swtpm does not start}"
		return 1
	fi
	return 0
}
