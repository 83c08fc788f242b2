#!/bin/bash
# tpm_unit.sh [TEST_TPM] - drs/tpm.c's unit program (test/unit/test_tpm.c) on
# Debian's swtpm: the in-process cases, then the ones that need two swtpm
# lifetimes (restart on the same state; a fresh state is another TPM).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# The program: $1, else test/run's unit dir, else the usual build places.
bin=${1:-}
if [ -z "$bin" ] && [ -n "${DRSJOIN_UNIT_DIR:-}" ]; then
	bin=$DRSJOIN_UNIT_DIR/test_tpm
fi
for b in "$root/build/check/test/test_tpm" "$root/build/release/test/test_tpm" \
    "$root/test/unit/test_tpm"; do
	[ -n "$bin" ] && break
	[ -x "$b" ] && bin=$b
done
bin=${bin:-$root/build/check/test/test_tpm}

. "$root/test/lib-swtpm.sh"

if ! why=$(swtpm_available); then
	echo "skip - tpm unit tests on swtpm: $why"
	exit 0
fi
if [ ! -x "$bin" ]; then
	echo "not ok - tpm unit tests on swtpm: $bin is not built"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/drsjoin-tpm-unit.XXXXXX")
tap_pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$tap_pid" ]; then
		kill "$tap_pid" 2>/dev/null || true
		wait "$tap_pid" 2>/dev/null || true
	fi
	swtpm_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

st=0
# run STATE ARGS...: the program on a swtpm over STATE, swtpm stopped after.
run() {
	local state=$1

	shift
	if ! swtpm_start "$state" 2>"$work/swtpm.err"; then
		echo "not ok - start swtpm: $(tr '\n' ' ' <"$work/swtpm.err")"
		st=1
		return 0
	fi
	DRSJOIN_TEST_TCTI=$SWTPM_TCTI "$bin" "$@" || st=1
	swtpm_stop
}

# A listener on the TPM bus: a TCP relay in front of swtpm that records
# both directions (cmd.bin, rsp.bin) in DIR, and writes its port to DIR/port.
tap_src='
import os, random, socket, sys, threading
up, d = int(sys.argv[1]), sys.argv[2]
# The swtpm TCTI talks to port P (commands) and P+1 (control): relay both,
# record the first.
while True:
    p = random.randrange(20000, 60000, 2)
    try:
        ls, lc = socket.socket(), socket.socket()
        ls.bind(("127.0.0.1", p))
        lc.bind(("127.0.0.1", p + 1))
        break
    except OSError:
        ls.close()
        lc.close()
out = {"cmd": open(d + "/cmd.bin", "ab"), "rsp": open(d + "/rsp.bin", "ab")}
lock = threading.Lock()
def pump(src, dst, name):
    while True:
        b = src.recv(65536)
        if not b:
            break
        if name:
            with lock:
                out[name].write(b)
                out[name].flush()
        dst.sendall(b)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def serve(l, port, names):
    l.listen(8)
    while True:
        c, _ = l.accept()
        u = socket.create_connection(("127.0.0.1", port))
        for a, b, n in ((c, u, names[0]), (u, c, names[1])):
            threading.Thread(target=pump, args=(a, b, n), daemon=True).start()
threading.Thread(target=serve, args=(lc, up + 1, (None, None)), daemon=True).start()
with open(d + "/port.tmp", "w") as f:
    f.write(str(p))
os.rename(d + "/port.tmp", d + "/port")
serve(ls, up, ("cmd", "rsp"))
'

# What the listener must and must not have seen; one test line per check.
check_src='
import struct, sys
d = sys.argv[1]
cmd = open(d + "/cmd.bin", "rb").read()
rsp = open(d + "/rsp.bin", "rb").read()
h = open(d + "/hash", "rb").read()
def split(path):
    # TPM2B_PUBLIC || TPM2B_PRIVATE || TPM2B_NAME (of the SRK)
    b = open(path, "rb").read()
    n = struct.unpack(">H", b[:2])[0]
    m = struct.unpack(">H", b[2 + n:4 + n])[0]
    return b[2:2 + n], b[4 + n:4 + n + m]
dpub, dpriv = split(d + "/dk.blob")
tpub, tpriv = split(d + "/tk.blob")
def commands(s):
    i = 0
    while i + 10 <= len(s):
        tag, size, code = struct.unpack(">HII", s[i:i + 10])
        yield tag, code, s[i:i + size]
        i += size
def line(ok, name, why):
    print(("ok - " if ok else "not ok - ") + "bus listener: " + name +
          ("" if ok else ": " + why))
    return ok
def window(b):
    m = len(b) // 2
    return b[m:m + 32]
ok = line(dpub[-256:] in rsp and len(cmd) > 0,
          "the capture sees the device key modulus (control)",
          "nothing or the wrong thing was captured")
salted, why = 0, "no StartAuthSession seen"
for tag, code, c in commands(cmd):
    if code != 0x176:
        continue
    key, = struct.unpack(">I", c[10:14])
    ns, = struct.unpack(">H", c[18:20])
    ss, = struct.unpack(">H", c[20 + ns:22 + ns])
    o = 22 + ns + ss
    se, alg, bits, mode, ah = struct.unpack(">BHHHH", c[o:o + 9])
    if key >> 24 not in (0x80, 0x81) or ss == 0:
        why = "a session is not salted (tpmKey 0x%08x, salt %d bytes)" % (key, ss)
        salted = -1
    elif (se, alg, bits, mode, ah) != (0, 0x6, 128, 0x43, 0xB):
        why = "session is not HMAC/AES-128-CFB/SHA-256: %r" % ((se, alg, bits, mode, ah),)
        salted = -1
    elif salted == 0:
        salted = 1
ok &= line(salted == 1, "sessions are salted with the SRK (HMAC, AES-128-CFB)", why)
ok &= line(h not in cmd and h not in rsp,
           "the digest being signed is never seen in clear", "it is")
ok &= line(all(window(p) not in cmd and window(p) not in rsp for p in (dpriv, tpriv)),
           "the sealed private parts are never seen in clear", "they are")
want = {0x153: "Create", 0x157: "Load", 0x15D: "Sign"}
bad = []
for tag, code, c in commands(cmd):
    if code in want:
        o = 10 + 4 + 4      # header, the one handle, authorizationSize
        ns, = struct.unpack(">H", c[o + 4:o + 6])
        attrs = c[o + 6 + ns]
        if (tag != 0x8002 or not attrs & 0x20) and want[code] not in bad:
            bad.append(want[code])
ok &= line(not bad and all(
    any(code == k for _, code, _ in commands(cmd)) for k in want),
    "Create, Load and Sign carry parameter encryption",
    "without: " + ",".join(bad) if bad else "a command was not seen")
sys.exit(0 if ok else 1)
'

# wire: the join path through the listener, then the checks.
wire() {
	local i=0

	mkdir "$work/wire"
	if ! swtpm_start "$work/state-w" 2>"$work/swtpm.err"; then
		echo "not ok - start swtpm: $(tr '\n' ' ' <"$work/swtpm.err")"
		st=1
		return 0
	fi
	python3 -c "$tap_src" "$SWTPM_PORT" "$work/wire" &
	tap_pid=$!
	while [ ! -s "$work/wire/port" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -s "$work/wire/port" ]; then
		DRSJOIN_TEST_TCTI="swtpm:host=127.0.0.1,port=$(cat "$work/wire/port")" \
			"$bin" wire "$work/wire" || st=1
		python3 -c "$check_src" "$work/wire" || st=1
	else
		echo "not ok - bus listener: the relay did not start"
		st=1
	fi
	kill "$tap_pid" 2>/dev/null || true
	wait "$tap_pid" 2>/dev/null || true
	tap_pid=
	swtpm_stop
}

mkdir "$work/blobs"
run "$work/state-a"
run "$work/state-a" save "$work/blobs"
run "$work/state-a" load "$work/blobs" \
	"keys load after swtpm is stopped and restarted on the same state"
run "$work/state-b" foreign "$work/blobs" \
	"keys from another swtpm state: 'these keys belong to another TPM, or its SRK was replaced'"
# The TPM's RSA-PSS signature as TLS 1.3 peers check it: openssl, SHA-256,
# MGF1-SHA-256, salt length exactly 32 (not "auto").
mkdir "$work/pss"
run "$work/state-a" pss "$work/pss"
if [ -s "$work/pss/msg.sig" ] && openssl pkeyutl -verify -pubin -keyform DER \
    -inkey "$work/pss/pub.der" -rawin -digest sha256 \
    -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 \
    -in "$work/pss/msg" -sigfile "$work/pss/msg.sig" >"$work/pss/out" 2>&1; then
	echo "ok - RSA-PSS from the TPM verifies with openssl (SHA-256, 32-byte salt)"
else
	echo "not ok - RSA-PSS from the TPM verifies with openssl: $(tr '\n' ' ' <"$work/pss/out" 2>/dev/null)"
	st=1
fi
if command -v python3 >/dev/null 2>&1; then
	wire
else
	echo "skip - bus listener: python3 is not installed"
fi
exit "$st"
