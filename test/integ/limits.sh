#!/usr/bin/env bash
# Every size limit, at exactly the limit (accepted) and one byte past it
# (refused, naming the limit): the document (1 MiB), the token (64 KiB), the
# identity record (256 KiB), the stored certificate (64 KiB), and a server's
# answer (1 MiB) framed by Content-Length, chunked, or by the connection's
# close; and a far larger answer without a length is cut off early.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file --upn alice@"$EMU_TENANT_DOMAIN")

# pad FILE SIZE: appends newlines to FILE up to exactly SIZE bytes (JSON,
# PEM and the token reader all take trailing white space).
pad() {
	$PY -c 'import os, sys
n = int(sys.argv[2]) - os.path.getsize(sys.argv[1])
assert n >= 0, n
open(sys.argv[1], "ab").write(b"\n" * n)' "$1" "$2"
}
size() { stat -c %s "$1"; }

# The document: 1 MiB from --in and from stdin.
MiB=1048576
D=$T_WORK/doc
$PY -c 'import json, sys
d = {"schema": "drsjoin/1", "x-pad": ""}
n = int(sys.argv[1]) - len(json.dumps(d))
d["x-pad"] = "p" * n
open(sys.argv[2], "w").write(json.dumps(d))' $MiB "$D.max"
cp "$D.max" "$D.over" && pad "$D.over" $((MiB + 1))
t_check "test documents are exactly 1 MiB and 1 MiB + 1" \
    "$([ "$(size "$D.max")" -eq $MiB ] && [ "$(size "$D.over")" -eq $((MiB + 1)) ]; echo $?)"
t_run -- csr --in "$D.max"
t_expect "a document of exactly 1 MiB is read (from --in)" 3 "csr: the document has no keys"
t_run -- csr --in "$D.over"
t_expect "a document of 1 MiB + 1 is refused (from --in)" 3 "$D.over: larger than 1048576 bytes"
t_run --in "$D.max" -- csr
t_expect "a document of exactly 1 MiB is read (from stdin)" 3 "csr: the document has no keys"
t_run --in "$D.over" -- csr
t_expect "a document of 1 MiB + 1 is refused (from stdin)" 3 "document (stdin): larger than 1048576 bytes"

# The token: 64 KiB from a file and from stdin.
KiB64=65536
cp "$TOK" "$T_WORK/tok.max" && pad "$T_WORK/tok.max" $KiB64
cp "$TOK" "$T_WORK/tok.over" && pad "$T_WORK/tok.over" $((KiB64 + 1))
t_run -- discover --token-file "$T_WORK/tok.max"
t_expect "a token file of exactly 64 KiB is read" 0
t_run -- discover --token-file "$T_WORK/tok.over"
t_expect "a token file of 64 KiB + 1 is refused" 3 "$T_WORK/tok.over: larger than 65536 bytes"
t_run --in "$T_WORK/tok.max" -- discover --token-file -
t_expect "a token of exactly 64 KiB is read from stdin" 0
t_run --in "$T_WORK/tok.over" -- discover --token-file -
t_expect "a token of 64 KiB + 1 is refused from stdin" 3 "token (stdin): larger than 65536 bytes"

# The identity record (256 KiB) and its certificate (64 KiB), read by status.
t_run -- join --token-file "$TOK" --key-store software
t_expect "a join to read back" 0
REC=$STATE/device.json
CERT=$(recpath "$REC" 'd["certificate"]')
cp "$REC" "$T_WORK/rec" && cp "$CERT" "$T_WORK/cert"
pad "$REC" 262144
t_run -- status
t_expect "an identity record of exactly 256 KiB is read" 0
pad "$REC" 262145
t_run -- status
t_expect_unhealthy "an identity record of 256 KiB + 1 is refused" 7 "$REC: larger than 262144 bytes"
cp "$T_WORK/rec" "$REC"
pad "$CERT" $KiB64
t_run -- status
t_expect "a stored certificate of exactly 64 KiB is read" 0
pad "$CERT" $((KiB64 + 1))
t_run -- status
t_expect_unhealthy "a stored certificate of 64 KiB + 1 is refused" 7 "$CERT: larger than 65536 bytes"
cp "$T_WORK/cert" "$CERT"

# A server's answer: 1 MiB is the most drsjoin reads, however it is framed.
SRV=
stop_srv() { [ -n "$SRV" ] && { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; }; SRV=; }
trap 'stop_srv; t_cleanup' EXIT
# answer SIZE MODE: discover against a server answering SIZE bytes.
answer() {
	local pf=$T_WORK/port.$RANDOM
	"$PY" "$DRSJOIN_TOP/test/integ/answer-server.py" "$EMU_DIR/tls-server.pem" \
	    "$EMU_DIR/tls-server.key" "$1" "$2" "$pf" 2>"$T_WORK/srv.err" &
	SRV=$!
	# Ready once the port file is there (written whole, then renamed).
	while [ ! -s "$pf" ] && kill -0 "$SRV" 2>/dev/null; do sleep 0.05; done
	if [ ! -s "$pf" ]; then
		echo "answer-server failed: $(cat "$T_WORK/srv.err")" >"$ERR"
		RC=99
		return
	fi
	t_run --env DRSJOIN_DISCOVERY_URL="https://127.0.0.1:$(cat "$pf")" -- \
	    --attempts 1 discover --tenant "$EMU_TENANT_DOMAIN"
	stop_srv
}
for mode in length chunked close; do
	answer $MiB $mode
	# Read whole and parsed: JSON without the discovery fields.
	t_expect "an answer of exactly 1 MiB ($mode) is read whole" 4 \
	    "discover: the answer has no DeviceJoinService"
	answer $((MiB + 1)) $mode
	t_expect "an answer of 1 MiB + 1 ($mode) is refused" 4 "is larger than 1048576 bytes"
done
# 32 MiB without a length: drsjoin stops reading at the limit, its memory
# stays small (GNU time's peak RSS).
pf=$T_WORK/port.big
"$PY" "$DRSJOIN_TOP/test/integ/answer-server.py" "$EMU_DIR/tls-server.pem" \
    "$EMU_DIR/tls-server.key" $((32 * MiB)) close "$pf" 2>"$T_WORK/srv.err" &
SRV=$!
while [ ! -s "$pf" ] && kill -0 "$SRV" 2>/dev/null; do sleep 0.05; done
RC=0
env DRSJOIN_DISCOVERY_URL="https://127.0.0.1:$(cat "$pf")" SSL_CERT_FILE="$EMU_CA" \
    DRSJOIN_STATE_DIR="$STATE" /usr/bin/time -f 'rss %M' -o "$T_WORK/rss" \
    "$DRSJOIN" --attempts 1 discover --tenant "$EMU_TENANT_DOMAIN" >"$OUT" 2>"$ERR" || RC=$?
stop_srv
rss=$(sed -n 's/^rss //p' "$T_WORK/rss")
t_expect "an answer of 32 MiB without a length is refused" 4 "is larger than 1048576 bytes"
if [ -n "${DRSJOIN_SANITIZER_LOG_DIR:-}" ]; then
	# The ASan build (test/run, asan.list): its shadow memory is the RSS.
	t_skip "... reading at most about the limit" "peak RSS means nothing under ASan"
else
	t_check "... reading at most about the limit (peak RSS ${rss:-?} kB < 16 MiB)" \
	    "$([ -n "$rss" ] && [ "$rss" -lt 16384 ]; echo $?)"
fi

t_done
