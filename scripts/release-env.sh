# shellcheck shell=sh disable=SC2154 # $top: set by the script sourcing this
# Sourced by dist.sh and deb.sh (from their own directory), with $top set
# and die() defined: sets $version (drsjoin's, from drs/cli.h) and exports
# SOURCE_DATE_EPOCH, the time every packed file gets (default: the last
# commit's time), checked to be a number. Defines release_arch and
# release_sums (below).
version=$(sed -n 's/^#define DRSJOIN_VERSION "\(.*\)"$/\1/p' "$top/drs/cli.h")
[ -n "$version" ] || die "no DRSJOIN_VERSION in $top/drs/cli.h"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null) ||
	    die "not a git checkout: set SOURCE_DATE_EPOCH"
fi
# Never empty here: git log -1 prints a commit's time or fails (dies).
case $SOURCE_DATE_EPOCH in *[!0-9]*) die "SOURCE_DATE_EPOCH: not a number" ;; esac
export SOURCE_DATE_EPOCH

# release_arch ARCH BINARY: BINARY must be a static binary for ARCH (x86_64
# or aarch64, or Debian's amd64 or arm64). Sets $strip, the binutils strip
# for it, and $debarch, Debian's name of it.
# shellcheck disable=SC2034 # strip and debarch are for the caller
release_arch() {
	case $1 in
	x86_64 | amd64) machine=x86-64 strip=strip debarch=amd64 ;;
	aarch64 | arm64) machine='ARM aarch64' strip=aarch64-linux-gnu-strip debarch=arm64 ;;
	*) die "$1: not an architecture drsjoin is released for (x86_64, aarch64)" ;;
	esac
	info=$(file -b "$2")
	case $info in
	*'statically linked'* | *'static-pie linked'*) ;;
	*) die "$2: not a static binary" ;;
	esac
	case $info in
	ELF*", $machine,"*) ;;
	*) die "$2: not a binary for $1 (file: $(echo "$info" | cut -d, -f1-2))" ;;
	esac
	command -v "$strip" >/dev/null 2>&1 || die "$strip: missing (scripts/install-deps.sh installs it)"
}

# release_sums OUTDIR: OUTDIR/SHA256SUMS of every tarball and .deb there,
# replaced at once (a temporary file of its own: make -j may pack two).
# The names are drsjoin's own (no blank): ls's list is split on purpose.
# shellcheck disable=SC2046,SC2012
release_sums() {
	(cd "$1" && sums=$(mktemp SHA256SUMS.XXXXXX) || exit 1
	if sha256sum -- $(ls drsjoin-*.tar.gz drsjoin_*.deb 2>/dev/null | sort) >"$sums" &&
	    chmod 644 "$sums" && mv "$sums" SHA256SUMS; then
		exit 0
	fi
	rm -f "$sums"
	exit 1)
}
