#!/usr/bin/env bash
# make dist: the release tarballs (x86-64 and aarch64) and SHA256SUMS;
# reproducible (two builds from the same sources, with other file times,
# modes and umask, are byte-identical); what they hold works: the binary
# (the aarch64 one under qemu-user), and the emulator a user runs to test
# provisioning offline.
#
# The aarch64 binary packed is build/check-aarch64/drsjoin (DRSJOIN_AARCH64),
# which make check builds when qemu-aarch64-static is installed.
. "$(dirname "$0")/../lib-integ.sh"

top=$DRSJOIN_TOP
version=$(sed -n 's/^#define DRSJOIN_VERSION "\(.*\)"$/\1/p' "$top/drs/cli.h")
name=drsjoin-$version-x86_64-linux
name64=drsjoin-$version-aarch64-linux
A64=${DRSJOIN_AARCH64:-$top/build/check-aarch64/drsjoin}
export SOURCE_DATE_EPOCH=1790000000
if [ ! -x "$A64" ]; then
	t_fail "the aarch64 build to pack" "$A64 is missing: make check builds it (make ARCH=aarch64 MODE=check $A64)"
	exit 1
fi

A=$T_WORK/a
make -s -C "$top" dist DIST_BIN="$DRSJOIN" DIST_BIN_AARCH64="$A64" DISTDIR="$A" >"$OUT" 2>"$ERR"; RC=$?
t_check "make dist: $name.tar.gz, $name64.tar.gz and SHA256SUMS of both" \
    "$([ "$RC" -eq 0 ] && [ -f "$A/$name.tar.gz" ] && [ -f "$A/$name64.tar.gz" ] &&
       (cd "$A" && sha256sum -c --quiet SHA256SUMS) && [ "$(wc -l <"$A/SHA256SUMS")" -eq 2 ] &&
       grep -q " $name.tar.gz\$" "$A/SHA256SUMS" && grep -q " $name64.tar.gz\$" "$A/SHA256SUMS" &&
       [ -z "$(ls "$A" | grep -v -e '\.tar\.gz$' -e '^SHA256SUMS$')" ]; echo $?)" \
    "rc $RC: $(ls "$A" 2>&1 | tr '\n' ' ')"

# The same sources elsewhere: new times, group-writable, another umask.
B=$T_WORK/src
mkdir -p "$B/drs" "$B/scripts" "$B/test" "$B/third_party"
cp "$top/drs/cli.h" "$B/drs/"; cp "$top/drsjoin.8" "$top/README.md" "$top/LICENSE" "$B/"
cp -r "$top/scripts/completion" "$top/scripts/systemd" "$top/scripts/examples" "$B/scripts/"
cp -r "$top/docs" "$B/"
cp -r "$top/test/drs-emulator" "$B/test/"; cp "$top/third_party/versions" "$B/third_party/"
find "$B" -exec touch -d '2001-02-03 04:05:06' {} +
chmod -R g+w "$B"
cp "$DRSJOIN" "$T_WORK/drsjoin-copy"
cp "$A64" "$T_WORK/drsjoin-aarch64-copy"
(umask 002 && "$top/scripts/dist.sh" "$B" "$T_WORK/drsjoin-copy" "$T_WORK/b" &&
    "$top/scripts/dist.sh" "$B" "$T_WORK/drsjoin-aarch64-copy" "$T_WORK/b" aarch64) >"$OUT" 2>"$ERR"; RC=$?
t_check "reproducible: another copy of the sources gives byte-identical tarballs, both arches" \
    "$([ "$RC" -eq 0 ] && cmp "$A/$name.tar.gz" "$T_WORK/b/$name.tar.gz" >&2 &&
       cmp "$A/$name64.tar.gz" "$T_WORK/b/$name64.tar.gz" >&2 &&
       cmp "$A/SHA256SUMS" "$T_WORK/b/SHA256SUMS" >&2; echo $?)" "rc $RC"
SOURCE_DATE_EPOCH=1790000001 "$top/scripts/dist.sh" "$B" "$T_WORK/drsjoin-copy" "$T_WORK/c" >/dev/null 2>&1
t_check "SOURCE_DATE_EPOCH is what dates it (the test can tell builds apart)" \
    "$(! cmp -s "$A/$name.tar.gz" "$T_WORK/c/$name.tar.gz"; echo $?)"

tar -tzvf "$A/$name.tar.gz" >"$T_WORK/list"
t_check "members: owner 0/0, one date, sorted by name, rw-r--r-- or rwxr-xr-x" \
    "$(awk -v d="$(date -u -d @$SOURCE_DATE_EPOCH '+%Y-%m-%d %H:%M')" \
        '$2 != "0/0" || $4" "$5 != d || ($1 !~ /^(-rw-r--r--|-rwxr-xr-x|drwxr-xr-x)$/) { bad = 1 } END { exit bad }' \
        <(TZ=UTC tar -tzvf "$A/$name.tar.gz") &&
       tar -tzf "$A/$name.tar.gz" | LC_ALL=C sort -c; echo $?)"
t_check "gzip header: no file name, no time" \
    "$(od -An -tx1 -j3 -N5 "$A/$name.tar.gz" | tr -d ' \n' | grep -qx '0000000000'; echo $?)"
miss=
for f in drsjoin drsjoin.8 README.md LICENSE docs/tokens.md docs/trust.md completion/drsjoin.bash completion/_drsjoin \
    systemd/drsjoin-join.service systemd/drsjoin-leave.service examples/cloud-init.yaml \
    examples/kickstart.ks licenses/mbedtls.txt licenses/curl.txt licenses/tpm2-tss.txt \
    licenses/cjson.txt licenses/musl.txt drs-emulator/drs-emulator drs-emulator/mint-token \
    drs-emulator/emuctl drs-emulator/README.md; do
	tar -tzf "$A/$name.tar.gz" "$name/$f" >/dev/null 2>&1 || miss="$miss $f"
done
t_check "it holds the binary, man page, completion, units, examples, README, LICENSE, licences, emulator" \
    "$([ -z "$miss" ]; echo $?)" "missing:$miss"
t_check "the aarch64 tarball holds the same files, in the same order" \
    "$(cmp -s <(tar -tzf "$A/$name.tar.gz" | sed "s|^$name/||") \
              <(tar -tzf "$A/$name64.tar.gz" | sed "s|^$name64/||"); echo $?)"
t_check "the two differ only in the binary (and the directory's name)" \
    "$(diff <(tar -xzOf "$A/$name.tar.gz" --exclude="$name/drsjoin" | sha256sum) \
            <(tar -xzOf "$A/$name64.tar.gz" --exclude="$name64/drsjoin" | sha256sum) >&2 &&
       ! cmp -s <(tar -xzOf "$A/$name.tar.gz" "$name/drsjoin") <(tar -xzOf "$A/$name64.tar.gz" "$name64/drsjoin");
       echo $?)"
t_check "no test suite, cache or build output in it" \
    "$(! grep -qE '__pycache__|\.pyc$|test_emulator\.py|/build/' "$T_WORK/list"; echo $?)"

X=$T_WORK/x
mkdir "$X" && tar -xzf "$A/$name.tar.gz" -C "$X"
R=$X/$name
t_check "the licences are the libraries' own texts" \
    "$(grep -q 'Apache License' "$R/licenses/mbedtls.txt" && grep -q 'COPYRIGHT AND PERMISSION NOTICE' "$R/licenses/curl.txt" &&
       grep -q 'Redistribution and use in source and binary forms' "$R/licenses/tpm2-tss.txt" &&
       grep -q 'Dave Gamble' "$R/licenses/cjson.txt" && grep -q 'musl as a whole is licensed' "$R/licenses/musl.txt" &&
       grep -q 'Apache License' "$R/LICENSE"; echo $?)"
t_check "the binary is static, stripped, and runs" \
    "$(file -b "$R/drsjoin" | grep -q 'static.*stripped' && file -b "$R/drsjoin" | grep -vq 'not stripped' &&
       "$R/drsjoin" --version | grep -q "^drsjoin $version\$"; echo $?)"

# The shipped emulator, started as its README says, and the shipped binary
# joined against it.
E=$T_WORK/emu
"$R/drs-emulator/drs-emulator" --state-dir "$E" --exit-with-parent >"$T_WORK/emu.out" 2>"$T_WORK/emu.err" &
emu_pid=$!
for _ in $(seq 600); do [ -s "$T_WORK/emu.out" ] && break; sleep 0.1; done
url=$(jget "$T_WORK/emu.out" 'd["url"]'); ca=$(jget "$T_WORK/emu.out" 'd["ca"]')
"$R/drs-emulator/mint-token" --state-dir "$E" >"$T_WORK/tok" 2>>"$T_WORK/emu.err"
chmod 600 "$T_WORK/tok"
RC=0
"$R/drsjoin" --discovery-url "$url" --cacert "$ca" --state-dir "$T_WORK/st" join \
    --token-file "$T_WORK/tok" >"$OUT" 2>"$ERR" || RC=$?
t_check "the shipped drs-emulator starts, mints a token, and the shipped drsjoin joins it" \
    "$([ -n "$url" ] && [ "$RC" -eq 0 ] && [ -f "$T_WORK/st/device.json" ]; echo $?)" \
    "url '$url' rc $RC: $(head -3 "$T_WORK/emu.err")"
t_check "the shipped emuctl lists the device (README's commands)" \
    "$([ "$("$R/drs-emulator/emuctl" --state-dir "$E" devices --count 2>/dev/null)" = 1 ]; echo $?)"

# The aarch64 tarball's binary, under qemu-user: the same joins.
mkdir "$X/64" && tar -xzf "$A/$name64.tar.gz" -C "$X/64"
R64=$X/64/$name64
t_check "the aarch64 binary is an aarch64 static-PIE, stripped" \
    "$(file -b "$R64/drsjoin" | grep -q 'ARM aarch64.*static-pie linked.*stripped' &&
       file -b "$R64/drsjoin" | grep -vq 'not stripped'; echo $?)" "$(file -b "$R64/drsjoin")"
if command -v qemu-aarch64-static >/dev/null 2>&1; then
	RC=0
	qemu-aarch64-static "$R64/drsjoin" --discovery-url "$url" --cacert "$ca" --state-dir "$T_WORK/st64" join \
	    --token-file "$T_WORK/tok" >"$OUT" 2>"$ERR" || RC=$?
	t_check "the shipped aarch64 drsjoin (under qemu-user) joins the shipped emulator" \
	    "$([ "$RC" -eq 0 ] && [ -f "$T_WORK/st64/device.json" ] &&
	       [ "$("$R/drs-emulator/emuctl" --state-dir "$E" devices --count 2>/dev/null)" = 2 ]; echo $?)" \
	    "rc $RC: $(head -2 "$ERR")"
else
	t_skip "the shipped aarch64 drsjoin joins" "qemu-aarch64-static is not installed"
fi
kill "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null

# Refusals: nothing half-written.
"$top/scripts/dist.sh" "$top" /bin/sh "$T_WORK/d" >"$OUT" 2>"$ERR"; RC=$?
t_check "dist.sh refuses a dynamic binary, writes nothing" \
    "$([ "$RC" -ne 0 ] && grep -q 'not a static binary' "$ERR" && [ ! -e "$T_WORK/d" ]; echo $?)"
"$top/scripts/dist.sh" "$top" "$DRSJOIN" "$T_WORK/d" aarch64 >"$OUT" 2>"$ERR"; RC=$?
t_check "dist.sh refuses an x86-64 binary as the aarch64 one, writes nothing" \
    "$([ "$RC" -ne 0 ] && grep -q "not a binary for aarch64 (file: ELF 64-bit LSB pie executable, x86-64)" "$ERR" &&
       [ ! -e "$T_WORK/d" ]; echo $?)" "rc $RC: $(cat "$ERR")"
"$top/scripts/dist.sh" "$top" "$A64" "$T_WORK/d" >"$OUT" 2>"$ERR"; RC=$?
t_check "dist.sh refuses the aarch64 binary as the x86_64 one, writes nothing" \
    "$([ "$RC" -ne 0 ] && grep -q "not a binary for x86_64" "$ERR" && [ ! -e "$T_WORK/d" ]; echo $?)" \
    "rc $RC: $(cat "$ERR")"
"$top/scripts/dist.sh" "$top" "$A64" "$T_WORK/d" riscv64 >"$OUT" 2>"$ERR"; RC=$?
t_check "dist.sh refuses an architecture it does not release, writes nothing" \
    "$([ "$RC" -ne 0 ] && grep -q "riscv64: not an architecture drsjoin is released for (x86_64, aarch64)" "$ERR" &&
       [ ! -e "$T_WORK/d" ]; echo $?)" "rc $RC: $(cat "$ERR")"
SOURCE_DATE_EPOCH=yesterday "$top/scripts/dist.sh" "$top" "$DRSJOIN" "$T_WORK/d" >"$OUT" 2>"$ERR"; RC=$?
t_check "dist.sh refuses a SOURCE_DATE_EPOCH that is no number" \
    "$([ "$RC" -ne 0 ] && grep -q 'SOURCE_DATE_EPOCH: not a number' "$ERR" && [ ! -e "$T_WORK/d" ]; echo $?)"
t_check "build output is ignored by git (build/)" \
    "$(cd "$top" && git check-ignore -q build/dist/$name.tar.gz 2>/dev/null || ! git rev-parse 2>/dev/null; echo $?)"
t_done
