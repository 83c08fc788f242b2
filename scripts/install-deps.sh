#!/bin/sh
# install-deps.sh - install the Debian packages that building drsjoin, its
# pinned dependencies and its tests need. Only what is missing is installed,
# so a second run is instant and needs no network. Not root and something
# missing: say what, and fail.
set -eu

# Build: compilers and autotools (tpm2-tss has no configure in its tarball),
# dpkg-dev for apt-get source/dpkg-source, python3 for mbedTLS's config.py.
# Tests: openssl (TLS servers), swtpm (TPM simulator), python3-cryptography
# (DRS emulator), file (static-link check), time (peak RSS in make bench),
# strace (crash-consistency tests: it makes each step of a commit fail),
# binutils (nm, objdump, readelf: the hardening checks), iproute2 (ip: the
# loopback of organizations.sh's network namespace).
# Shipping: mandoc and man-db (man page lint), bash and zsh (completion
# tests), systemd (systemd-analyze verify of the units), systemd-container
# and debootstrap (test/integ/nspawn.sh boots the units under a real
# systemd in a minimal Debian root), cloud-init (its schema check of the
# examples), lintian (the .deb).
# aarch64 (third_party/cross.mk): Debian's cross compiler and binutils, the
# target's kernel headers (tpm2-tss), and qemu-user to run what is built.
pkgs="build-essential gcc make musl-tools linux-libc-dev dpkg-dev patch
gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu linux-libc-dev-arm64-cross
qemu-user-static
autoconf automake libtool autoconf-archive libltdl-dev pkg-config
python3 python3-cryptography openssl ca-certificates
swtpm swtpm-tools file xz-utils bzip2 util-linux iproute2 procps time strace binutils
mandoc man-db bash zsh systemd systemd-container debootstrap cloud-init lintian"
# "install-deps.sh fuzz" (make fuzz) adds clang and libFuzzer's runtime.
if [ "${1:-}" = fuzz ]; then
	pkgs="$pkgs clang-14 libclang-rt-14-dev"
fi

# One dpkg-query for all; "ii" (installed, no error) is the only state that
# counts as present.
# shellcheck disable=SC2086 # word splitting of the list is intended
present=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $pkgs 2>/dev/null |
	awk '$2 == "ii" { print $1 }' || true)
missing=
for p in $pkgs; do
	echo "$present" | grep -qx -- "$p" || missing="$missing $p"
done

[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing Debian packages:$missing" >&2
	echo "install-deps.sh: run as root, or: apt-get install$missing" >&2
	exit 1
fi

echo "install-deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Other apt users on the machine: wait for the lock instead of failing.
apt-get -o DPkg::Lock::Timeout=600 update -q >&2
# shellcheck disable=SC2086 # word splitting of the list is intended
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing >&2
