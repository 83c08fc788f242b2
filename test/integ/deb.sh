#!/usr/bin/env bash
# make deb: a package lintian accepts without errors or warnings, built
# reproducibly, and installed and removed with `apt-get install ./x.deb`.
#
# apt installs into a fresh root of its own (an empty dpkg database, dpkg
# --root), not into this machine: several test runs share the machine, and
# a package installed on it by one run would race another run's install
# and removal, and hold apt's lock against everyone else's apt-get. The
# package has no maintainer scripts and no dependencies, so the fresh root
# tests the same unpack apt does on a real system.
#
# make deb packs the arm64 .deb too, from build/check-aarch64/drsjoin here
# (DRSJOIN_AARCH64; make check builds it when qemu-aarch64-static is
# installed); it is linted, installed (in a root whose dpkg takes arm64) and
# run under qemu-user the same way.
. "$(dirname "$0")/../lib-integ.sh"

top=$DRSJOIN_TOP
version=$(sed -n 's/^#define DRSJOIN_VERSION "\(.*\)"$/\1/p' "$top/drs/cli.h")
deb=drsjoin_${version}_amd64.deb
deb64=drsjoin_${version}_arm64.deb
A64=${DRSJOIN_AARCH64:-$top/build/check-aarch64/drsjoin}
export SOURCE_DATE_EPOCH=1790000000
if [ ! -x "$A64" ]; then
	t_fail "the aarch64 build to pack" "$A64 is missing: make check builds it (make ARCH=aarch64 MODE=check $A64)"
	exit 1
fi
mk_deb() { # DISTDIR [make args]
	local d=$1; shift
	make -s -C "$top" deb DIST_BIN="$DRSJOIN" DIST_BIN_AARCH64="$A64" DISTDIR="$d" "$@" >"$OUT" 2>"$ERR"
}

A=$T_WORK/a
mk_deb "$A"; RC=$?
t_check "make deb: $deb and $deb64, both in SHA256SUMS" \
    "$([ "$RC" -eq 0 ] && [ -f "$A/$deb" ] && [ -f "$A/$deb64" ] && (cd "$A" && sha256sum -c --quiet SHA256SUMS) &&
       grep -q " $deb\$" "$A/SHA256SUMS" && grep -q " $deb64\$" "$A/SHA256SUMS" &&
       [ "$(wc -l <"$A/SHA256SUMS")" -eq 2 ] && [ ! -e "$A/deb-root" ] && [ ! -e "$A/deb-root-arm64" ]; echo $?)" \
    "rc $RC: $(ls "$A" | tr '\n' ' ')"
t_check "make deb says first that it builds the aarch64 package too" \
    "$(head -n 1 "$OUT" | grep -q "^make deb: builds $A/drsjoin_VERSION_amd64.deb and the aarch64 package $A/drsjoin_VERSION_arm64.deb (cross-compiled"; echo $?)" \
    "$(head -n 1 "$OUT")"
# docs/building.md's install line, expanded where both packages are: this
# machine's alone (a glob naming both is a conflict for apt).
cmd=$(sed -n 's|^ *apt install \(\./build/dist/drsjoin_.*\.deb\)$|\1|p' "$top/docs/building.md")
mkdir -p "$T_WORK/g/build" && ln -s "$A" "$T_WORK/g/build/dist"
got=$(cd "$T_WORK/g" && eval "printf '%s\n' $cmd")
t_check "docs/building.md's apt install line names this machine's package alone, of the two" \
    "$([ "$(wc -l <<<"$cmd")" -eq 1 ] && [ "$got" = "./build/dist/drsjoin_${version}_$(dpkg --print-architecture).deb" ] &&
       ! grep -q 'apt install [^ ]*drsjoin_\*\.deb' "$top/docs/building.md" "$top/README.md"; echo $?)" "'$cmd' gives '$got'"
mk_deb "$T_WORK/b"
t_check "make deb is reproducible (both)" \
    "$(cmp "$A/$deb" "$T_WORK/b/$deb" >&2 && cmp "$A/$deb64" "$T_WORK/b/$deb64" >&2; echo $?)"
SOURCE_DATE_EPOCH=yesterday mk_deb "$T_WORK/e"; RC=$?
t_check "make deb refuses a SOURCE_DATE_EPOCH that is no number, packs nothing, leaves no deb-root" \
    "$([ "$RC" -ne 0 ] && grep -q 'deb.sh: SOURCE_DATE_EPOCH: not a number' "$ERR" &&
       [ ! -e "$T_WORK/e/$deb" ] && [ ! -e "$T_WORK/e/$deb64" ] && [ ! -e "$T_WORK/e/deb-root" ] &&
       [ ! -e "$T_WORK/e/deb-root-arm64" ]; echo $?)" \
    "rc $RC; $(ls "$T_WORK/e" 2>&1 | tr '\n' ' ')"
make -s -C "$top" deb DIST_BIN="$DRSJOIN" DIST_BIN_AARCH64="$DRSJOIN" DISTDIR="$T_WORK/f" >"$OUT" 2>"$ERR"; RC=$?
t_check "make deb refuses an x86-64 binary for arm64: no arm64 .deb, no deb-root left" \
    "$([ "$RC" -ne 0 ] && grep -q 'deb.sh: .*: not a binary for arm64 (file: ELF 64-bit LSB pie executable, x86-64)' "$ERR" &&
       [ ! -e "$T_WORK/f/$deb64" ] && [ ! -e "$T_WORK/f/deb-root-arm64" ]; echo $?)" \
    "rc $RC; $(cat "$ERR" | tail -2 | tr '\n' ' ')"
for d in "$deb" "$deb64"; do
	a=${d##*_}; a=${a%.deb}
	t_check "control ($a): package, version, architecture, no dependencies" \
	    "$(f=$(dpkg-deb -f "$A/$d" Package Version Architecture Depends | tr '\n' ' ')
	       [ "$f" = "Package: drsjoin Version: $version Architecture: $a " ]; echo $?)"
done
t_check "the two packages hold the same files; only the binary differs" \
    "$(cmp -s <(dpkg-deb -c "$A/$deb" | awk '{ print $1, $6 }') <(dpkg-deb -c "$A/$deb64" | awk '{ print $1, $6 }') &&
       diff <(dpkg-deb --fsys-tarfile "$A/$deb" | tar -xOf - --exclude=./usr/sbin/drsjoin | sha256sum) \
            <(dpkg-deb --fsys-tarfile "$A/$deb64" | tar -xOf - --exclude=./usr/sbin/drsjoin | sha256sum) >&2 &&
       dpkg-deb --fsys-tarfile "$A/$deb64" | tar -xOf - ./usr/sbin/drsjoin >"$T_WORK/bin64" &&
       file -b "$T_WORK/bin64" | grep -q 'ARM aarch64.*static-pie linked, stripped'; echo $?)"

if command -v lintian >/dev/null; then
	for d in "$deb" "$deb64"; do
		lintian --fail-on error,warning "$A/$d" >"$OUT" 2>"$ERR"; RC=$?
		t_check "lintian ($d): no error, no warning" "$([ "$RC" -eq 0 ] && ! grep -q '^[EW]:' "$OUT"; echo $?)" \
		    "$(grep '^[EW]:' "$OUT" | head -5 | tr '\n' ' ')"
		ov=$(dpkg-deb --fsys-tarfile "$A/$d" | tar -xOf - ./usr/share/lintian/overrides/drsjoin | grep -v '^#')
		extra=$(grep -vE '^drsjoin: ((embedded-library (curl|mbedtls)|shared-library-lacks-prerequisites) \[usr/sbin/drsjoin\]|non-standard-dir-perm 0700 != 0755 \[etc/drsjoin/\])$' <<<"$ov")
		readme=$(tr '\n' ' ' <"$top/docs/building.md" | sed -n 's/.*no error, no warning; \([0-9]*\) lintian overrides.*/\1/p')
		t_check "lintian overrides ($d) are only the static binary's and /etc/drsjoin's 0700, as many as the README says ($readme)" \
		    "$([ "$(wc -l <<<"$ov")" -eq 4 ] && [ "$readme" = "$(wc -l <<<"$ov")" ] && [ -z "$extra" ]; echo $?)" "$extra"
	done
	# Without its override the 0700 directory is what lintian warns about.
	mkdir "$T_WORK/nov" && (cd "$T_WORK/nov" && dpkg-deb -R "$A/$deb" r &&
	    sed -i '/non-standard-dir-perm/d' r/usr/share/lintian/overrides/drsjoin &&
	    dpkg-deb --root-owner-group -b r x.deb >/dev/null)
	lintian "$T_WORK/nov/x.deb" >"$OUT" 2>&1
	t_check "lintian without that override warns about /etc/drsjoin 0700 (the override is needed)" \
	    "$(grep -q 'W: drsjoin: non-standard-dir-perm 0700 != 0755 \[etc/drsjoin/\]' "$OUT"; echo $?)"
else
	t_skip "lintian" "not installed (scripts/install-deps.sh installs it)"
fi

R=$T_WORK/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/cache/apt/archives/partial" \
    "$R/var/lib/apt/lists/partial" "$R/var/log/apt"
: >"$R/var/lib/dpkg/status"
apt_root() {
	apt-get -q -y -o Dir::State::status="$R/var/lib/dpkg/status" -o Dir::State="$R/var/lib/apt" \
	    -o Dir::Cache="$R/var/cache/apt" -o Dir::Log="$R/var/log/apt" \
	    -o DPkg::Options::=--root="$R" -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
	    --no-install-recommends "$@" >"$OUT" 2>"$ERR"
}
host_before=$(dpkg-query -W -f='${Status}' drsjoin 2>/dev/null)
host_foreign=$(dpkg --print-foreign-architectures)
(cd "$A" && apt_root install "./$deb"); RC=$?
t_check "apt-get install ./$deb" \
    "$([ "$RC" -eq 0 ] && grep -q '^Setting up drsjoin ('"$version"')' "$OUT" &&
       [ "$(dpkg --root="$R" -s drsjoin | sed -n 's/^Status: //p')" = "install ok installed" ]; echo $?)" \
    "rc $RC: $(tail -3 "$ERR")"
t_check "installed: binary, man page, completion, units, docs, copyright, /etc/drsjoin 0700" \
    "$([ -x "$R/usr/sbin/drsjoin" ] && "$R/usr/sbin/drsjoin" --version | grep -q "^drsjoin $version\$" &&
       zcat "$R/usr/share/man/man8/drsjoin.8.gz" | cmp -s - "$top/drsjoin.8" &&
       [ -f "$R/usr/share/bash-completion/completions/drsjoin" ] &&
       [ -f "$R/usr/share/zsh/vendor-completions/_drsjoin" ] &&
       grep -q '^ExecStart=/usr/sbin/drsjoin ' "$R/lib/systemd/system/drsjoin-join.service" &&
       [ -f "$R/usr/share/doc/drsjoin/examples/cloud-init.yaml" ] &&
       grep -q '^License: BSD-2-Clause' "$R/usr/share/doc/drsjoin/copyright" &&
       [ "$(stat -c '%a %U' "$R/etc/drsjoin")" = "700 root" ]; echo $?)"
t_check "this machine's own dpkg database is untouched" \
    "$([ "$(dpkg-query -W -f='${Status}' drsjoin 2>/dev/null)" = "$host_before" ]; echo $?)"
apt_root remove drsjoin; RC=$?
t_check "apt-get remove drsjoin: every file gone" \
    "$([ "$RC" -eq 0 ] && [ -z "$(find "$R" -path "$R/var" -prune -o ! -type d -print)" ]; echo $?)" \
    "$(find "$R" -path "$R/var" -prune -o ! -type d -print | head -3)"

# The arm64 package, in a fresh root whose dpkg takes arm64 as a foreign
# architecture (that root's own setting, not this machine's).
R=$T_WORK/root64
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/cache/apt/archives/partial" \
    "$R/var/lib/apt/lists/partial" "$R/var/log/apt"
: >"$R/var/lib/dpkg/status"
echo arm64 >"$R/var/lib/dpkg/arch"
(cd "$A" && apt_root -o APT::Architectures::=arm64 install "./$deb64"); RC=$?
t_check "apt-get install ./$deb64 (a root taking arm64)" \
    "$([ "$RC" -eq 0 ] && grep -q '^Setting up drsjoin:arm64 ('"$version"')' "$OUT" &&
       [ "$(dpkg --root="$R" -s drsjoin:arm64 | sed -n 's/^Status: //p')" = "install ok installed" ]; echo $?)" \
    "rc $RC: $(tail -3 "$ERR") $(tail -3 "$OUT")"
if command -v qemu-aarch64-static >/dev/null 2>&1; then
	t_check "installed arm64 drsjoin runs under qemu-user" \
	    "$(qemu-aarch64-static "$R/usr/sbin/drsjoin" --version | grep -q "^drsjoin $version\$"; echo $?)"
else
	t_skip "installed arm64 drsjoin runs" "qemu-aarch64-static is not installed"
fi
apt_root -o APT::Architectures::=arm64 remove drsjoin:arm64; RC=$?
t_check "apt-get remove drsjoin:arm64: every file gone" \
    "$([ "$RC" -eq 0 ] && [ -z "$(find "$R" -path "$R/var" -prune -o ! -type d -print)" ]; echo $?)" \
    "$(find "$R" -path "$R/var" -prune -o ! -type d -print | head -3)"
t_check "this machine's dpkg architectures are untouched" \
    "$([ "$(dpkg --print-foreign-architectures)" = "$host_foreign" ]; echo $?)"
t_done
