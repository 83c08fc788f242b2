#!/usr/bin/env bash
# The Landlock sandbox (drs/sandbox.c): every command enters it, a write
# outside the state dir is refused by the kernel, a document naming a key
# outside the state dir cannot make drsjoin read it, and what drsjoin does
# need (the CA bundle, /etc/os-release through its link, the state dir, the
# files on the command line) still works inside.
#
# DRSJOIN_TEST_SANDBOX_WRITE and DRSJOIN_TEST_NO_LANDLOCK exist only in the
# test build (make check's -DDRSJOIN_TEST_HOOKS).
. "$(dirname "$0")/../lib-integ.sh"

# The kernel's Landlock ABI, asked without drsjoin (-1: none).
abi=$($PY -c 'import ctypes
print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))' 2>/dev/null || echo -1)
if [ "${abi:--1}" -lt 1 ]; then
	t_run --env DRSJOIN_STATE_DIR="$STATE" -- -v status
	t_check "without Landlock in the kernel: a -v note, and the command runs" \
	    "$([ "$RC" -eq 8 ] && grep -q 'sandbox: this kernel offers no Landlock' "$ERR"; echo $?)"
	t_skip "the sandbox's confinement" "this kernel offers no Landlock"
	t_done
	exit
fi

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file --upn alice@"$EMU_TENANT_DOMAIN")
D=$T_WORK/doc

# Each command says at -v that it is confined: a command that forgot to call
# sandbox_enter() would not.
t_run -- -v discover --tenant "$EMU_TENANT_DOMAIN"
cp "$OUT" "$D.1"
t_check "discover runs confined (Landlock ABI $abi), and works" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes nowhere" "$ERR"; echo $?)"
t_run --in "$D.1" -- -v nonce
cp "$OUT" "$D.2"
t_check "nonce runs confined, and works" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes nowhere" "$ERR"; echo $?)"
t_run --in "$D.2" -- -v keygen --key-store software
cp "$OUT" "$D.3"
t_check "keygen runs confined, writing under the state dir only, and works" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes under the state dir only" "$ERR" &&
       [ -n "$(jget "$D.3" 'd["keys"]["device_key"]')" ]; echo $?)"
t_run -- -v csr --in "$D.3"
cp "$OUT" "$D.4"
t_check "csr runs confined, reads --in and the keys, and works" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes nowhere" "$ERR" &&
       [ -n "$(jget "$D.4" 'd["csr"]["data"]')" ]; echo $?)"
t_run -- -v join --in "$D.4" --token-file "$TOK"
t_check "join runs confined, reads --in and --token-file, and joins" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes under the state dir only" "$ERR" &&
       [ -f "$STATE/device.json" ]; echo $?)"
t_run -- -v status
t_check "status runs confined, reads the identity, may write under the state dir only (status.json)" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes under the state dir only" "$ERR"; echo $?)"

# What join read inside the sandbox: /etc/os-release is a link into /usr/lib
# on most systems, and its PRETTY_NAME must still reach the service.
pretty=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
if [ -n "$pretty" ]; then
	R=$(last_request join)
	t_check "join read /etc/os-release (through its link) inside the sandbox" \
	    "$([ "$(jget "$R" 'd["body"]["OSVersion"]')" = "$pretty" ]; echo $?)"
else
	t_skip "os-release inside the sandbox" "this machine has no PRETTY_NAME"
fi

# The machine's identity (machine.h) read inside the sandbox: machine-id, and
# the DMI product UUID where there is one; both hashed into device.json.
if grep -qxE '[0-9a-f]{32}' /etc/machine-id 2>/dev/null; then
	t_check "join read /etc/machine-id inside the sandbox (its hash in device.json)" \
	    "$([ "$(jget "$STATE/device.json" 'len(d["machine"]["machine_id"])')" = 32 ]; echo $?)"
else
	t_skip "machine-id inside the sandbox" "this machine has no /etc/machine-id"
fi
if grep -qxiE '[0-9a-f-]{36}' /sys/class/dmi/id/product_uuid 2>/dev/null &&
    ! grep -qxE '[0-]{36}|03000200-0400-0500-0006-000700080009' /sys/class/dmi/id/product_uuid; then
	t_check "join read the DMI product UUID inside the sandbox (its hash in device.json)" \
	    "$([ "$(jget "$STATE/device.json" 'len(d["machine"]["product_uuid"])')" = 32 ]; echo $?)"
else
	t_skip "DMI product UUID inside the sandbox" "no readable /sys/class/dmi/id/product_uuid here"
fi

# A write outside the state dir, as a bug would try it: refused by the kernel.
# The same probe inside the state dir succeeds, and without Landlock outside
# too, so the probe itself is known to work.
for cmd in keygen join status; do
	rm -f "$T_WORK/outside.$cmd"
	case $cmd in
	keygen) args=(keygen --key-store software) ;;
	join) args=(join --token-file "$TOK") ;;
	status) args=(status) ;;
	esac
	t_run --env DRSJOIN_TEST_SANDBOX_WRITE="$T_WORK/outside.$cmd" -- "${args[@]}"
	t_check "$cmd: a write outside the state dir is refused by the kernel" \
	    "$([ "$RC" -eq 0 ] && grep -q "sandbox test: create $T_WORK/outside.$cmd: Permission denied" "$ERR" &&
	       [ ! -e "$T_WORK/outside.$cmd" ]; echo $?)"
done
t_run --env DRSJOIN_TEST_SANDBOX_WRITE="$T_WORK/next-to-state" -- keygen --key-store software
t_check "keygen: not even beside the state dir" \
    "$(grep -q "create $T_WORK/next-to-state: Permission denied" "$ERR" && [ ! -e "$T_WORK/next-to-state" ]; echo $?)"
t_run --env DRSJOIN_TEST_SANDBOX_WRITE="$STATE/probe" -- keygen --key-store software
t_check "keygen: the same write inside the state dir is allowed (the probe works)" \
    "$(grep -q "create $STATE/probe: done" "$ERR" && [ -f "$STATE/probe" ]; echo $?)"
rm -f "$STATE/probe"
# status writes the public record (status.json) in the state dir, and nowhere else.
t_run --env DRSJOIN_TEST_SANDBOX_WRITE="$T_WORK/next-to-state" -- status
t_check "status: no write beside the state dir" \
    "$([ "$RC" -eq 0 ] && grep -q "create $T_WORK/next-to-state: Permission denied" "$ERR" && [ ! -e "$T_WORK/next-to-state" ]; echo $?)"
t_run --env DRSJOIN_TEST_SANDBOX_WRITE="$T_WORK/unconfined" --env DRSJOIN_TEST_NO_LANDLOCK=1 \
    -- -v keygen --key-store software
t_check "a kernel without Landlock: a -v note, the command works, unconfined" \
    "$([ "$RC" -eq 0 ] && grep -q 'sandbox: this kernel offers no Landlock (.*): running unconfined' "$ERR" &&
       grep -q "create $T_WORK/unconfined: done" "$ERR" && [ -f "$T_WORK/unconfined" ]; echo $?)"
t_run --env DRSJOIN_TEST_NO_LANDLOCK=1 -- keygen --key-store software
t_check "without Landlock and without -v: no note" "$([ "$RC" -eq 0 ] && [ ! -s "$ERR" ]; echo $?)"

# An attack the sandbox backed up: a document naming as the device key a
# file outside the state dir. drsjoin no longer opens a document's key
# paths at all (test/integ/keys_trust.sh): confined or not, the set's own
# key signs and the named file is not touched.
t_run -- keygen --key-store software
cp "$OUT" "$D.k"
openssl genrsa -out "$T_WORK/stolen-key" 2048 2>/dev/null
$PY - "$D.k" "$T_WORK/stolen-key" "$T_WORK/attack.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["keys"]["device_key"] = sys.argv[2]
json.dump(d, open(sys.argv[3], "w"))
EOF
setkey=$(jget "$D.k" 'd["keys"]["dir"]')/device-key.pem
t_run -- csr --in "$T_WORK/attack.json"
t_check "a document's key path outside the state dir is not used (confined)" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["csr"]["data"]' | base64 -d |
       openssl req -inform DER -noout -pubkey)" = "$(openssl pkey -in "$setkey" -pubout)" ]; echo $?)"
t_run --env DRSJOIN_TEST_NO_LANDLOCK=1 -- csr --in "$T_WORK/attack.json"
t_check "nor unconfined: the set's own key signs" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["csr"]["data"]' | base64 -d |
       openssl req -inform DER -noout -pubkey)" = "$(openssl pkey -in "$setkey" -pubout)" ]; echo $?)"

# leave runs confined too, and a record naming a device key outside the
# state dir cannot make it read (and present) that key.
STATE=$T_WORK/state-leave
t_run -- join --token-file "$TOK" --key-store software
cp "$(recpath "$STATE/device.json" 'd["keys"]["device_key"]')" "$T_WORK/leave-key"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["keys"]["device_key"]=sys.argv[2]; json.dump(d,open(sys.argv[1],"w"))' \
    "$STATE/device.json" "$T_WORK/leave-key"
n=$(req_count delete)
t_run -- leave
t_expect "leave: a record's key path outside the state dir is refused, never opened" 3 \
    "keys: $T_WORK/leave-key is not a key file of a set in $STATE/identity"
t_check "leave: nothing sent with the outside key" "$([ "$(req_count delete)" -eq "$n" ]; echo $?)"
t_run -- leave --local-only
t_run -- join --token-file "$TOK" --key-store software
# After the join (issue 25): each command confined, the credential file read inside.
RTF=$T_WORK/sandbox-rt
emu_ctl refresh-token >"$RTF"
chmod 600 "$RTF"
t_run -- -v prt --refresh-token-file "$RTF"
t_check "prt runs confined, reads --refresh-token-file, stores the PRT" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes under the state dir only" "$ERR" &&
       [ -n "$(ls "$STATE/prt")" ]; echo $?)"
t_run -- -v token --resource https://graph.microsoft.com
t_check "token runs confined, writing its cache under the state dir" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes under the state dir only" "$ERR" &&
       [ -d "$STATE/tokens" ]; echo $?)"
t_run -- -v cookie
t_check "cookie runs confined, writing nothing" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes nowhere" "$ERR"; echo $?)"
t_run -- -v status --check
t_check "status --check runs confined, writing under the state dir only (status.json), and asks the service" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes under the state dir only" "$ERR" &&
       [ "$(jget "$OUT" 'd["device_auth"]')" = ok ]; echo $?)"
t_run -- -v leave
t_check "leave runs confined, writing under the state dir only, and leaves" \
    "$([ "$RC" -eq 0 ] && grep -q "sandbox: Landlock ABI $abi: .* writes under the state dir only" "$ERR" &&
       [ ! -e "$STATE/device.json" ]; echo $?)"

# The CA bundle given by --cacert (not SSL_CERT_FILE) is readable inside.
t_run --env SSL_CERT_FILE= -- --cacert "$EMU_CA" discover --tenant "$EMU_TENANT_DOMAIN"
t_expect "the CA bundle from --cacert is read inside the sandbox" 0

t_done
