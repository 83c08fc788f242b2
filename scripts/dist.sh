#!/bin/sh
# dist.sh TOP BINARY OUTDIR [ARCH] - the release tarball
# OUTDIR/drsjoin-VERSION-ARCH-linux.tar.gz and OUTDIR/SHA256SUMS (of every
# tarball and .deb in OUTDIR). ARCH: x86_64 (the default) or aarch64; the
# binary must be one for it.
#
# Reproducible: the same sources and binary give the same bytes, whatever
# the files' times, the umask or the user: members sorted by name, owner
# 0:0, every time SOURCE_DATE_EPOCH (default: the last commit's time), modes
# rwxr-xr-x or rw-r--r--, gzip without name or time.
#
# The licence texts of the four libraries and of musl (linked into the
# static binary) come from their upstream tarballs, which third_party/fetch.sh
# checked against third_party/versions.
set -eu

top=${1:?usage: dist.sh TOP BINARY OUTDIR}
bin=${2:?usage: dist.sh TOP BINARY OUTDIR}
out=${3:?usage: dist.sh TOP BINARY OUTDIR}
arch=${4:-x86_64}
die() { echo "dist.sh: $*" >&2; exit 1; }

# shellcheck source=scripts/release-env.sh
. "$(dirname "$0")/release-env.sh"
[ -x "$bin" ] || die "$bin: no such executable (make first)"
release_arch "$arch" "$bin"

name=drsjoin-$version-$arch-linux
stage=$(mktemp -d "${TMPDIR:-/tmp}/drsjoin-dist.XXXXXX")
trap 'rm -rf "$stage"' EXIT
d=$stage/$name
mkdir -p "$d/completion" "$d/systemd" "$d/examples" "$d/docs" "$d/licenses" "$d/drs-emulator"

$strip -o "$d/drsjoin" "$bin"
cp "$top/drsjoin.8" "$top/README.md" "$top/LICENSE" "$d/"
cp "$top/scripts/completion/drsjoin.bash" "$top/scripts/completion/_drsjoin" "$d/completion/"
cp "$top"/scripts/systemd/*.service "$d/systemd/"
cp "$top"/scripts/examples/* "$d/examples/"
cp "$top"/docs/*.md "$d/docs/"
# The emulator, for testing provisioning offline; its own test suite stays.
(cd "$top/test/drs-emulator" && find . -name __pycache__ -prune -o -type f \
    ! -name test_emulator.py ! -name '*.pyc' -print) | while read -r f; do
	mkdir -p "$d/drs-emulator/$(dirname "$f")"
	cp "$top/test/drs-emulator/$f" "$d/drs-emulator/$f"
done

# Licence texts, from the checked upstream tarballs.
cache=${DRSJOIN_DEPS_CACHE:-${HOME:-/root}/.cache/drsjoin-deps}
while read -r pkg debver tarball sum; do
	case $pkg in '' | '#'*) continue ;; esac
	t=$cache/src/${pkg}_$debver/$tarball
	[ -f "$t" ] || die "$t: missing (run make: it fetches the sources)"
	echo "$sum  $t" | sha256sum -c --quiet - >/dev/null || die "$t: SHA256 mismatch"
	case $pkg in curl) lic=COPYING ;; musl) lic=COPYRIGHT ;; *) lic=LICENSE ;; esac
	tar -xf "$t" -O --wildcards --no-wildcards-match-slash "*/$lic" >"$d/licenses/$pkg.txt" ||
	    die "$t: no $lic"
done <"$top/third_party/versions"

chmod -R u=rwX,go=rX "$d"
mkdir -p "$out"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    --format=gnu -C "$stage" -cf - "$name" | gzip -9n >"$out/$name.tar.gz.tmp"
mv "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"
release_sums "$out"
echo "$out/$name.tar.gz"
