#!/usr/bin/env bash
# Crash consistency of every commit, one system call at a time: each call
# that changes the state dir is made to fail (EIO) or stopped (SIGKILL) by
# strace, and the state must then be the complete old or the complete new
# one, byte for byte. The work is done by crash.py; this sets the scene.
. "$(dirname "$0")/../lib-integ.sh"

if ! command -v strace >/dev/null 2>&1; then
	t_skip "crash consistency" "strace is not installed (scripts/install-deps.sh)"
	exit 0
fi
if ! strace -qq -o /dev/null true 2>/dev/null; then
	t_skip "crash consistency" "strace cannot trace here (ptrace not permitted)"
	exit 0
fi
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file --upn alice@"$EMU_TENANT_DOMAIN")
export TOKEN_FILE=$TOK

# A state dir with a joined identity and a staged key set with its CSR (no
# nonce, so that one document can be joined again and again from a copy).
STATE=$T_WORK/state
t_run -- join --token-file "$TOK" --key-store software
t_expect "the old identity" 0
t_run -- keygen --key-store software
cp "$OUT" "$T_WORK/keys.json"
t_run -- csr --no-nonce --in "$T_WORK/keys.json"
cp "$OUT" "$T_WORK/force.json"
t_expect "a staged key set and its CSR" 0
cp -a "$STATE" "$T_WORK/snap-force"
rm -rf "$STATE"
# A state dir with only a staged set: the first join.
t_run -- keygen --key-store software
cp "$OUT" "$T_WORK/keys1.json"
t_run -- csr --no-nonce --in "$T_WORK/keys1.json"
cp "$OUT" "$T_WORK/first.json"
t_expect "a first key set and its CSR" 0
cp -a "$STATE" "$T_WORK/snap-first"
rm -rf "$STATE"
# An empty state dir: keygen.
mkdir -m 700 "$T_WORK/snap-keygen"
# A joined state dir with a user's PRT: prt --renew replaces its record.
t_run -- join --token-file "$TOK" --key-store software
emu_ctl refresh-token >"$T_WORK/rt" && chmod 600 "$T_WORK/rt"
t_run -- prt --refresh-token-file "$T_WORK/rt"
t_expect "a stored PRT" 0
cp -a "$STATE" "$T_WORK/snap-prt"
# The same with an access token cached: token --fresh replaces its entry
# (state_replace_cache: no fsync, but all or nothing while the machine runs).
t_run -- token --raw --resource https://graph.microsoft.com
t_expect "a cached access token" 0
cp -a "$STATE" "$T_WORK/snap-token"
rm -rf "$STATE"

# leave (once the binary has it): the record goes first, then the set.
have_leave=0
"$DRSJOIN" leave --help >/dev/null 2>&1 && have_leave=1
$PY - "$T_WORK" "$TOK" "$have_leave" <<'EOF'
import json, sys
w, tok, have_leave = sys.argv[1:4]
leave = [{"name": "leave", "snap": w + "/snap-force", "kind": "leave",
          "args": ["leave"], "next": ["keygen", "--key-store", "software"]}]
json.dump(([] if have_leave != "1" else leave) + [
    {"name": "join --force", "snap": w + "/snap-force",
     "args": ["join", "--force", "--no-nonce", "--in", w + "/force.json", "--token-file", tok],
     "next": ["join", "--token-file", tok]},
    {"name": "first join", "snap": w + "/snap-first",
     "args": ["join", "--no-nonce", "--in", w + "/first.json", "--token-file", tok],
     "next": ["join", "--token-file", tok, "--key-store", "software"]},
    {"name": "prt --renew", "snap": w + "/snap-prt", "kind": "prt",
     "args": ["prt", "--renew"], "next": ["prt", "--renew"]},
    {"name": "token --fresh", "snap": w + "/snap-token", "kind": "token",
     "args": ["token", "--fresh", "--resource", "https://graph.microsoft.com"],
     "next": ["token", "--resource", "https://graph.microsoft.com"]},
    {"name": "keygen", "snap": w + "/snap-keygen", "kind": "keygen",
     "args": ["keygen", "--key-store", "software"],
     "next": ["keygen", "--key-store", "software"]},
], open(w + "/scenarios.json", "w"))
EOF
export EMU_URL EMU_CA EMU_CONTROL
"$PY" "$DRSJOIN_TOP/test/integ/crash.py" "$T_WORK" || T_FAILED=$((T_FAILED + 1))
t_done
