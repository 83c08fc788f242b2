# shellcheck shell=sh disable=SC2154 # $top: set by the script sourcing this
# Sourced by dist.sh and deb.sh (from their own directory), with $top set
# and die() defined: sets $version (drsjoin's, from drs/cli.h) and exports
# SOURCE_DATE_EPOCH, the time every packed file gets (default: the last
# commit's time), checked to be a number.
version=$(sed -n 's/^#define DRSJOIN_VERSION "\(.*\)"$/\1/p' "$top/drs/cli.h")
[ -n "$version" ] || die "no DRSJOIN_VERSION in $top/drs/cli.h"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null) ||
	    die "not a git checkout: set SOURCE_DATE_EPOCH"
fi
# Never empty here: git log -1 prints a commit's time or fails (dies).
case $SOURCE_DATE_EPOCH in *[!0-9]*) die "SOURCE_DATE_EPOCH: not a number" ;; esac
export SOURCE_DATE_EPOCH
