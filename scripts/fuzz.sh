#!/bin/sh
# fuzz.sh DIR NAME... - runs each libFuzzer target DIR/fuzz_NAME for
# FUZZ_SECONDS (default 60) and prints, per target, the executions, their
# rate, the corpus size and whether anything was found (make fuzz).
#
# Corpora: build/fuzz/corpus/NAME receives what libFuzzer finds; the repo's
# seeds test/fuzz/corpus/NAME are read, never written. A crash leaves its
# input in build/fuzz/artifacts/ (add it to test/fuzz/corpus/NAME as a
# regression seed once fixed). FUZZ_JOBS=N runs N targets at once.
# FUZZ_MERGE=1 merges what was found into the repo's seeds, keeping only
# inputs that add coverage (libFuzzer -merge=1).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: fuzz.sh DIR NAME...}
shift
secs=${FUZZ_SECONDS:-60}
export DRSJOIN_TOP="$top"
work=$top/build/fuzz
mkdir -p "$work/corpus" "$work/artifacts" "$work/logs"
failed=0
printf '%-10s %12s %9s %8s  %s\n' target executions "exec/s" corpus result
for name in "$@"; do
	bin=$dir/fuzz_$name
	corpus=$work/corpus/$name
	seeds=$top/test/fuzz/corpus/$name
	log=$work/logs/$name.log
	mkdir -p "$corpus"
	rc=0
	# rss_limit: the targets read at most a few MiB; more is a leak.
	"$bin" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
	    -max_len=65536 -timeout=25 -artifact_prefix="$work/artifacts/$name-" \
	    "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	ncorp=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		result="nothing found"
	else
		result="FOUND (exit $rc): see $log and $work/artifacts/$name-*"
		failed=1
	fi
	printf '%-10s %12s %9s %8s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "$ncorp" "$result"
	if [ "${FUZZ_MERGE:-}" = 1 ] && [ "$rc" -eq 0 ]; then
		"$bin" -merge=1 "$seeds" "$corpus" >>"$log" 2>&1
	fi
done
exit "$failed"
