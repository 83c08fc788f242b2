#!/bin/sh
# nspawn-root.sh - print the path of a minimal Debian root that
# systemd-nspawn -b can boot (systemd as PID 1), making it first if it is
# not cached. Used by test/integ/nspawn.sh.
#
# The root is this machine's own release (VERSION_CODENAME of
# /etc/os-release) and architecture, made by debootstrap --variant=minbase
# with systemd, systemd-sysv and dbus, from the mirror this machine's apt
# already uses for that suite (apt-get indextargets): no archive host is
# named here. It is cached under $DRSJOIN_NSPAWN_CACHE (default
# /var/cache/drsjoin-nspawn) in a directory named for the suite, the
# architecture and a hash of how it is made, so that a change of either
# makes a new one; the tests never write to it (they boot it with
# --volatile=overlay). Made in a temporary directory and renamed into
# place, under a lock: an interrupted or concurrent run never leaves a
# half-made root where the next one looks.
#
# Exit 0 with the path on stdout; exit 1 with one line on stderr saying
# why it cannot be made (not root, a tool missing, no apt source for the
# suite, debootstrap failed: its log's last line).
set -eu

cache=${DRSJOIN_NSPAWN_CACHE:-/var/cache/drsjoin-nspawn}
variant=minbase
include=systemd,systemd-sysv,dbus
# Bump when the way the root is made changes.
recipe=1

die() { echo "nspawn-root.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, systemd-nspawn)"
for t in debootstrap systemd-nspawn dpkg apt-get flock; do
	command -v "$t" >/dev/null || die "$t: not installed (scripts/install-deps.sh installs it)"
done
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || die "/etc/os-release names no VERSION_CODENAME"
arch=$(dpkg --print-architecture)
key=$(printf '%s\n' "$recipe" "$variant" "$include" | sha256sum | cut -c1-12)
root=$cache/$suite-$arch-$key

[ -x "$root/lib/systemd/systemd" ] && { echo "$root"; exit 0; }

# The mirror apt uses for the suite's main component.
# shellcheck disable=SC2016 # $(REPO_URI) is apt's field, not the shell's
mirror=$(apt-get indextargets --format '$(REPO_URI)' "Release: $suite" \
    'Identifier: Packages' 'Component: main' 2>/dev/null | head -n 1)
[ -n "$mirror" ] || die "apt has no source for $suite main (or no lists: apt-get update)"
case $mirror in
http://* | https://* | file:/*) ;;
*) die "apt's source for $suite is not http, https or file, which debootstrap takes" ;;
esac
# apt's own proxy, when the environment names none.
if [ -z "${http_proxy:-}" ]; then
	p=$(apt-config dump --format '%v' Acquire::http::Proxy 2>/dev/null || true)
	case $p in http://* | https://*) export http_proxy="$p" ;; esac
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# Made by another run while this one waited.
[ -x "$root/lib/systemd/systemd" ] && { echo "$root"; exit 0; }
tmp=$cache/.tmp-$suite-$arch-$key
rm -rf "$tmp"
mkdir -p "$tmp"
if ! debootstrap --variant="$variant" --include="$include" --arch="$arch" \
    "$suite" "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
	# Its last line, with the mirror's address left to the log.
	line=$(tail -n 1 "$tmp/debootstrap.log" | awk -v m="$mirror" '{
	    while ((i = index($0, m)) > 0)
	        $0 = substr($0, 1, i - 1) "MIRROR/" substr($0, i + length(m))
	    print }')
	cp "$tmp/debootstrap.log" "$cache/debootstrap-failed.log" 2>/dev/null || true
	rm -rf "$tmp"
	die "debootstrap $suite from apt's mirror for it failed (log: $cache/debootstrap-failed.log): $line"
fi
# The apt lists and the downloaded packages are not needed to boot.
rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*_Packages 2>/dev/null || true
rm -rf "$root"
mv "$tmp/root" "$root"
rm -rf "$tmp"
echo "$root"
