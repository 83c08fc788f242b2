#!/usr/bin/env bash
# The aarch64 build (third_party/cross.mk) under qemu-user: what was built
# (an aarch64 static-PIE ELF with the x86-64 build's hardening, libraries
# included) and that it works against the emulator: --version, a one-shot
# join, status, leave, and a refused server certificate.
#
# usage: aarch64.sh [--full]
#   make check runs it plain (a short smoke, when qemu-aarch64-static is
#   installed); make check-aarch64 runs it with --full, which adds the phases
#   piped one into the next and TPM keys on swtpm over the TCP TCTI (swtpm
#   native, drsjoin emulated), beside phases.sh, leave.sh, tpm_join.sh,
#   idempotent.sh and a hostile-server sample run with the aarch64 binary.
#
# The binary: $DRSJOIN_AARCH64, or build/check-aarch64/drsjoin (make check
# and check-aarch64 build it), run through qemu-aarch64-static by the
# drsjoin-qemu script beside it. Nothing here is timed: emulated time means
# nothing.
. "$(dirname "$0")/../lib-integ.sh"

full=
[ "${1:-}" = --full ] && full=1
QEMU=qemu-aarch64-static
if ! command -v "$QEMU" >/dev/null 2>&1; then
	t_skip "aarch64 under qemu-user" "$QEMU is not installed (scripts/install-deps.sh installs qemu-user-static)"
	exit 0
fi
BIN=${DRSJOIN_AARCH64:-$DRSJOIN_TOP/build/check-aarch64/drsjoin}
RUN=$(dirname "$BIN")/drsjoin-qemu
if [ ! -x "$BIN" ] || [ ! -x "$RUN" ]; then
	t_fail "the aarch64 build is there" \
	    "$BIN or $RUN missing: make check builds them when $QEMU is installed (make ARCH=aarch64 MODE=check $RUN)"
	exit 1
fi
NATIVE=$DRSJOIN
DRSJOIN=$RUN

# What was built. readelf is the host's (it reads any ELF); nm and objdump
# must be the cross binutils'.
hdr=$(readelf -h "$BIN" 2>/dev/null)
prog=$(readelf -lW "$BIN" 2>/dev/null)
dyn=$(readelf -dW "$BIN" 2>/dev/null)
t_check "an ELF64 for aarch64, position-independent (type DYN, flagged PIE)" \
    "$(grep -Eq 'Class: +ELF64' <<<"$hdr" && grep -Eq 'Machine: +AArch64' <<<"$hdr" &&
       grep -Eq 'Type: +DYN' <<<"$hdr" && grep -q 'Flags: .*PIE' <<<"$dyn"; echo $?)" \
    "$(grep -E 'Class|Machine|Type' <<<"$hdr" | tr -s ' ' | tr '\n' ';')"
t_check "static-PIE: no program interpreter, no shared library, file(1) agrees" \
    "$([ -n "$prog" ] && ! grep -q INTERP <<<"$prog" && ! grep -q NEEDED <<<"$dyn" &&
       file -b "$BIN" | grep -q 'ARM aarch64.*static-pie linked'; echo $?)" "$(file -b "$BIN")"
t_check "no text relocations, binds now (full RELRO), stack not executable" \
    "$(! grep -q TEXTREL <<<"$dyn" && grep -q BIND_NOW <<<"$dyn" && grep -q GNU_RELRO <<<"$prog" &&
       grep -E 'GNU_STACK' <<<"$prog" | grep -qv 'RWE'; echo $?)"
deps=$("$DRSJOIN_TOP/third_party/build.sh" --dir musl-aarch64)
if [ -f "$deps/.complete" ]; then
	# The same flags as x86-64 (hardening.sh): each library's objects call
	# the stack protector's handler, and large frames are probed page by
	# page (aarch64 probes store zero at the new stack pointer).
	for lib in c mbedcrypto mbedx509 mbedtls curl tss2-esys tss2-mu cjson; do
		a=$deps/lib/lib$lib.a
		[ "$lib" = c ] && a=$deps/musl/lib/libc.a
		n=$(aarch64-linux-gnu-nm -A "$a" 2>/dev/null | grep -c ' U __stack_chk_fail$')
		t_check "aarch64 lib$lib.a: objects reference __stack_chk_fail (stack protector)" \
		    "$([ "$n" -gt 0 ]; echo $?)" "$n objects"
	done
	for lib in curl tss2-esys; do
		n=$(aarch64-linux-gnu-objdump -d "$deps/lib/lib$lib.a" 2>/dev/null |
		    grep -Ec 'str[[:space:]]+xzr, \[sp')
		t_check "aarch64 lib$lib.a: large frames are probed (stack-clash protection)" \
		    "$([ "$n" -gt 0 ]; echo $?)" "$n probes"
	done
else
	t_fail "the aarch64 dependencies are built" "$deps has no .complete"
fi

# --version: the pinned libraries, the same as the x86-64 build's.
t_run -- --version
want=$(awk '$1 !~ /^#/ && NF == 4 { v = $3; sub(/^[^_]*_/, "", v); sub(/\.orig\.tar.*/, "", v); print $1, v }' \
    "$DRSJOIN_TOP/third_party/versions")
bad=
while read -r pkg v; do
	case $pkg in
	mbedtls) l=mbedTLS ;; curl) l=libcurl ;; tpm2-tss) l=tpm2-tss ;; cjson) l=cJSON ;; *) continue ;;
	esac
	grep -Eq "^  $l +(.*[ /])?$v( |\$)" "$OUT" || bad="$bad $l!=$v"
done <<<"$want"
version=$(sed -n 's/^#define DRSJOIN_VERSION "\(.*\)"$/\1/p' "$DRSJOIN_TOP/drs/cli.h")
t_check "--version under qemu: drsjoin $version and the pinned libraries" \
    "$([ "$RC" -eq 0 ] && [ "$(head -1 "$OUT")" = "drsjoin $version" ] && [ -z "$bad" ]; echo $?)" \
    "rc $RC:$bad: $(head -3 "$OUT" | tr '\n' ' ')"
if [ -x "$NATIVE" ] && [ "$NATIVE" != "$RUN" ] && file -b "$NATIVE" | grep -q x86-64; then
	"$NATIVE" --version 2>/dev/null | sed -n '1,5p' >"$T_WORK/native-version"
	t_check "--version: the same lines as the x86-64 build's" \
	    "$(head -5 "$OUT" | cmp -s - "$T_WORK/native-version"; echo $?)"
fi

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file --upn bob@"$EMU_TENANT_DOMAIN")

# A server certificate no CA of ours signed: refused, one line, exit 4
# (TLS), nothing sent and nothing written.
n=$(req_count)
t_run --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt -- join --token-file "$TOK" --key-store software
t_expect "a server certificate from no CA we trust is refused" 4 "cannot be verified with the CA bundle"
t_check "refused: no request reached the service, nothing in the state dir" \
    "$([ "$(req_count)" -eq "$n" ] && [ ! -e "$STATE/device.json" ] &&
       [ -z "$(state_files | grep -v '^\./keys-')" ]; echo $?)" "$(state_files | tr '\n' ' ')"

# The one-shot join, status and leave.
devs=$(emu_device_count)
t_run -- join --token-file "$TOK" --key-store software
t_expect "one-shot join (software keys) under qemu" 0
DEV=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "joined: the device is in the tenant, the record and private keys 0600" \
    "$([ -n "$DEV" ] && [ "$(emu_device_count)" -eq $((devs + 1)) ] &&
       [ "$(jget "$OUT" 'd["device"]["device_id"]')" = "$DEV" ] &&
       [ "$(stat -c %a "$STATE/device.json")" = 600 ] &&
       [ -n "$(grep -rl 'PRIVATE KEY' "$STATE")" ] &&
       [ -z "$(grep -rl 'PRIVATE KEY' "$STATE" | xargs stat -c %a | grep -vx 600)" ]; echo $?)" \
    "$(cd "$STATE" && find . -type f -exec stat -c '%a %n' {} + | tr '\n' ' ')"
t_run -- status
t_expect "status under qemu" 0
t_check "status: the same device, healthy" \
    "$([ "$(jget "$OUT" 'd["device_id"]')" = "$DEV" ] && [ "$(jget "$OUT" 'd.get("healthy", True)')" = True ]; echo $?)"
t_run -- leave
t_expect "leave under qemu" 0 "left: device $DEV deleted from tenant $EMU_TENANT_ID"
t_check "left: the device is gone from the tenant, no record" \
    "$([ "$(emu_device_count)" -eq "$devs" ] && [ ! -e "$STATE/device.json" ]; echo $?)"

if [ -z "$full" ]; then
	t_done
	exit
fi

# --full: the phases piped, as provisioning scripts run them.
STATE=$T_WORK/state-pipe
RC=0
env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" bash -c '
set -o pipefail
"$1" discover --tenant "$2" | "$1" nonce | "$1" keygen --key-store software | "$1" csr |
    "$1" join --token-file "$3"' sh "$DRSJOIN" "$EMU_TENANT_DOMAIN" "$TOK" >"$OUT" 2>"$ERR" || RC=$?
t_check "discover | nonce | keygen | csr | join under qemu" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["device"]["device_id"]')" = "$(jget "$STATE/device.json" 'd["device_id"]')" ]; echo $?)" \
    "rc $RC: $(head -2 "$ERR" | tr '\n' ' ')"
t_run -- leave
t_expect "leave after the piped join" 0

# TPM keys on swtpm over the TCP TCTI: swtpm runs natively, drsjoin under
# qemu; the device key signs the CSR and the leave's TLS handshake inside it.
if ! why=$(swtpm_available); then
	t_skip "TPM keys under qemu" "$why"
	t_done
	exit
fi
swtpm_start >/dev/null || { t_fail "swtpm starts" "swtpm_start failed"; exit 1; }
STATE=$T_WORK/state-tpm
TPM=(--env "DRSJOIN_TCTI=$SWTPM_TCTI")
t_run "${TPM[@]}" -- join --token-file "$TOK" --key-store tpm
t_expect "one-shot join with TPM keys (swtpm) under qemu" 0
t_check "TPM keys: the store is tpm, no software private key in the state dir" \
    "$([ "$(jget "$STATE/device.json" 'd["keys"]["store"]')" = tpm ] &&
       ! grep -rqs 'PRIVATE KEY' "$STATE"; echo $?)"
t_run "${TPM[@]}" -- status
t_expect "status with TPM keys under qemu" 0
t_check "status names the TPM" "$(jget "$OUT" 'd["tpm"]' | grep -q firmware; echo $?)"
DEV=$(jget "$STATE/device.json" 'd["device_id"]')
t_run "${TPM[@]}" -- leave
t_expect "leave with TPM keys (TLS client key in swtpm) under qemu" 0 "left: device $DEV deleted"
t_done
