#!/usr/bin/env bash
# make bench-prt: drsjoin prt and token --fresh against the DRS emulator
# (software keys), each beside the same requests made by test/bench/prt.c
# (one mbedTLS connection and drsjoin's crypto layer, timed from connect()
# with its keys read before, as leave's yardstick), target 1.3 x, with peak
# RSS (scripts/bench_prt.py). The exit status says whether the targets
# were met.
# usage: scripts/bench_prt.sh [DRSJOIN] [RUNS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
drsjoin=$(cd "$(dirname "${1:-$top/drsjoin}")" && pwd)/$(basename "${1:-drsjoin}")
runs=${2:-${BENCH_RUNS:-20}}
yard=$top/build/release/test/bench_prt
export BENCH_RUN=$top/build/release/test/bench_run	# times each drsjoin run (benchlib.py)
for f in "$yard" "$BENCH_RUN"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make bench-prt builds it)" >&2; exit 1; }
done
. "$top/test/lib-emulator.sh"

work=$(mktemp -d)
cleanup() {
	emu_stop || true
	rm -rf "$work"
}
trap cleanup EXIT
emu_start --state-dir "$work/emulator" >/dev/null
emu_token --lifetime 7200 >"$work/token.jwt"
emu_ctl refresh-token >"$work/rt"
chmod 600 "$work/token.jwt" "$work/rt"
DRSJOIN_DISCOVERY_URL=$EMU_URL DRSJOIN_STATE_DIR=$work/state SSL_CERT_FILE=$EMU_CA \
    "$drsjoin" -q join --token-file "$work/token.jwt" --key-store software
/usr/bin/python3 "$top/scripts/bench_prt.py" "$drsjoin" "$yard" "$work" "$runs" \
    "$EMU_URL" "$EMU_CA" "$EMU_TENANT_ID" "$work/state" "$work/rt"
