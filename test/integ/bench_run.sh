#!/usr/bin/env bash
# make bench's timer of a whole drsjoin process (test/bench/run.c): the
# figure must cover the process from spawn to reaping, no less (a sleep of
# 0.3 s reads at least 0.3 s), and the program's streams, exit code and
# death by a signal must come through, or bench.py's ratios measure
# something else.
. "$(dirname "$0")/../lib-integ.sh"

BR=$DRSJOIN_UNIT_DIR/bench_run
if [ ! -x "$BR" ]; then
	t_fail "bench_run is built" "$BR missing (make check builds it)"
	exit 1
fi
W=$T_WORK
printf 'in-text' >"$W/in"

out=$("$BR" "$W/in" "$W/out" "$W/err" /bin/sh -c 'cat; echo to-err >&2; sleep 0.3; exit 3'); rc=$?
t_check "bench_run: exit 0, the program's exit code and at least its 0.3 s" \
    "$([ "$rc" -eq 0 ] && [ "${out#* }" = 3 ] &&
       awk -v s="${out% *}" 'BEGIN { exit !(s >= 0.3 && s < 5) }'; echo $?)" "rc $rc: $out"
t_check "bench_run: stdin from IN, stdout to OUT, stderr to ERR" \
    "$([ "$(cat "$W/out")" = in-text ] && [ "$(cat "$W/err")" = to-err ]; echo $?)"

# Spawn to reaping, inside what the caller sees: above 0, never above the
# wall time around bench_run itself.
t0=$(date +%s%N)
out=$("$BR" /dev/null "$W/out" "$W/err" /bin/true); rc=$?
t1=$(date +%s%N)
t_check "bench_run: a short run's figure is above 0 and within the caller's wall time" \
    "$([ "$rc" -eq 0 ] && [ "${out#* }" = 0 ] &&
       awk -v s="${out% *}" -v w="$(( t1 - t0 ))" 'BEGIN { exit !(s > 0 && s * 1e9 <= w) }'; echo $?)" \
    "rc $rc: $out, wall $(( t1 - t0 )) ns"

out=$("$BR" /dev/null "$W/out" "$W/err" /bin/sh -c 'kill -TERM $$'); rc=$?
t_check "bench_run: a program killed by SIGTERM reads 143" \
    "$([ "$rc" -eq 0 ] && [ "${out#* }" = 143 ]; echo $?)" "rc $rc: $out"

out=$("$BR" /dev/null "$W/out" "$W/err" "$W/no-such-program" 2>"$W/br-err"); rc=$?
t_check "bench_run: a program that cannot start: exit 1, one line naming it, no figure" \
    "$([ "$rc" -eq 1 ] && [ -z "$out" ] && [ "$(wc -l <"$W/br-err")" -eq 1 ] &&
       grep -q "^bench_run: $W/no-such-program: " "$W/br-err"; echo $?)" "rc $rc: $out $(cat "$W/br-err")"

out=$("$BR" /dev/null "$W/out" 2>"$W/br-err"); rc=$?
t_check "bench_run: too few arguments: exit 1 and its usage" \
    "$([ "$rc" -eq 1 ] && [ -z "$out" ] && grep -q '^usage: bench_run' "$W/br-err"; echo $?)"

t_done
