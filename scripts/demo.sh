#!/usr/bin/env bash
# The main job: a one-shot join against the bundled DRS emulator, then status.
# usage: scripts/demo.sh [DRSJOIN]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
drsjoin=$(cd "$(dirname "${1:-$top/drsjoin}")" && pwd)/$(basename "${1:-drsjoin}")
# shellcheck source=../test/lib-emulator.sh
. "$top/test/lib-emulator.sh"

work=$(mktemp -d)
cleanup() { emu_stop || true; rm -rf "$work"; }
trap cleanup EXIT

emu_start --state-dir "$work/emulator"
echo "DRS emulator at $EMU_URL (tenant $EMU_TENANT_DOMAIN, $EMU_TENANT_ID)" >&2
emu_token --upn demo@"$EMU_TENANT_DOMAIN" > "$work/token.jwt"
chmod 600 "$work/token.jwt"

export DRSJOIN_DISCOVERY_URL=$EMU_URL DRSJOIN_STATE_DIR=$work/state
# The demo is the emulator's: this machine's /etc/drsjoin/drsjoin.conf stays out.
export DRSJOIN_CONFIG=/dev/null
echo "+ drsjoin --cacert \$EMU_CA join --token-file token.jwt --key-store ${DEMO_KEY_STORE:-auto}" >&2
"$drsjoin" --cacert "$EMU_CA" join --token-file "$work/token.jwt" \
    --key-store "${DEMO_KEY_STORE:-auto}" > "$work/join.json"
echo "+ drsjoin status" >&2
"$drsjoin" status
echo "The emulator now holds $(emu_device_count) device(s)." >&2
