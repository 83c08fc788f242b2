#!/usr/bin/env bash
# make bench: the one-shot join against the DRS emulator (software keys, and
# TPM keys on swtpm when it can start), each phase alone, peak RSS and the
# stripped size; leave, against a second, fresh emulator, beside one
# handshake and DELETE made with OpenSSL (Python's ssl) and with mbedTLS
# alone (test/bench/handshake.c; OpenSSL's for scale); prt and token beside
# their mbedTLS yardstick (scripts/bench_prt.sh); the fleet summary of
# scripts/bench_fleet.py (make bench-fleet); the aarch64 build
# (BENCH_AARCH64, by default build/release-aarch64/drsjoin): its stripped
# size only. Targets are checked and reported; the exit status says whether
# they were met.
# usage: scripts/bench.sh [DRSJOIN] [RUNS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
drsjoin=$(cd "$(dirname "${1:-$top/drsjoin}")" && pwd)/$(basename "${1:-drsjoin}")
runs=${2:-${BENCH_RUNS:-20}}
handshake=$top/build/release/test/bench_handshake	# leave's baseline
export BENCH_RUN=$top/build/release/test/bench_run	# times each drsjoin run (benchlib.py)
for f in "$handshake" "$BENCH_RUN" "$top/build/release/test/bench_prt"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make bench builds it)" >&2; exit 1; }
done
. "$top/test/lib-emulator.sh"
. "$top/test/lib-swtpm.sh"

work=$(mktemp -d)
leave_pid=
cleanup() {
	emu_stop || true
	EMU_PID=$leave_pid emu_stop || true
	swtpm_stop || true
	rm -rf "$work"
}
trap cleanup EXIT
# leave's own emulator: its DELETE rewrites the whole device store, so the
# joins measured first (whose devices stay) would make each DELETE dearer
# than the last. Here each device is joined just before it leaves: every
# DELETE finds the same store.
emu_start --state-dir "$work/emulator-leave" >/dev/null
leave_pid=$EMU_PID leave_url=$EMU_URL leave_ca=$EMU_CA
emu_token --lifetime 7200 >"$work/leave-token.jwt"
# Leave with what a real install loads: the system's CA bundle (plus the
# emulator's CA, in one file), for scale.
sysbundle=
for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
	if [ -s "$f" ]; then
		sysbundle=$work/system-bundle.pem
		cat "$f" "$leave_ca" >"$sysbundle"
		break
	fi
done
emu_start --state-dir "$work/emulator" >/dev/null
tcti=
if why=$(swtpm_available) && swtpm_start >/dev/null; then
	tcti=$SWTPM_TCTI
else
	echo "bench: no swtpm (${why:-swtpm did not start}): the TPM join is not measured" >&2
fi
emu_token --lifetime 7200 >"$work/token.jwt"
emu_token --bprt >"$work/bprt"
chmod 600 "$work/token.jwt" "$work/bprt" "$work/leave-token.jwt"
strip -o "$work/drsjoin.stripped" "$drsjoin"
# The aarch64 build (make bench builds it): its stripped size, nothing timed.
aarch64=${BENCH_AARCH64:-$top/build/release-aarch64/drsjoin}
aarch64_size=
if [ -x "$aarch64" ]; then
	aarch64-linux-gnu-strip -o "$work/drsjoin-aarch64.stripped" "$aarch64"
	aarch64_size=$(stat -c %s "$work/drsjoin-aarch64.stripped")
fi

rc=0
BENCH_AARCH64_SIZE=$aarch64_size BENCH_TCTI=$tcti /usr/bin/python3 "$top/scripts/bench.py" "$drsjoin" "$work" "$runs" \
    "$EMU_URL" "$EMU_CA" "$EMU_TENANT_DOMAIN" "$(stat -c %s "$work/drsjoin.stripped")" \
    "$handshake" "$leave_url" "$leave_ca" "$work/leave-token.jwt" \
    "$work/emulator-leave/requests.jsonl" "$sysbundle" || rc=$?
# prt and token beside their yardstick (make bench-prt alone), with their own emulator.
echo
"$top/scripts/bench_prt.sh" "$drsjoin" "$runs" || rc=1
# The fleet: N joins at once against a throttled emulator (make bench-fleet);
# BENCH_FLEET=0 leaves it out (its two minutes, while working on the rest).
if [ "${BENCH_FLEET:-1}" != 0 ]; then
	echo
	/usr/bin/python3 "$top/scripts/bench_fleet.py" "$drsjoin" "${FLEET_N:-200}" "${FLEET_RATE:-10}" \
	    "${FLEET_BURST:-10}" || rc=1
else
	echo "bench: BENCH_FLEET=0: the fleet is not measured; make bench did not check all its targets" >&2
	rc=1
fi
exit "$rc"
