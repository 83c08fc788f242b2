#!/bin/sh
# build.sh FLAVOUR       build the pinned dependencies (if not cached) and
#                        print their directory as the last line on stdout
# build.sh --dir FLAVOUR print that directory without building (cheap; used
#                        by deps.mk to name the stamp file make depends on)
# build.sh --clean       remove every built directory (sources stay cached)
#
# FLAVOUR: musl          release libraries for the static drsjoin (musl-gcc, -Os)
#          asan          glibc gcc with ASan+UBSan, for the unit tests only
#          musl-aarch64  the release libraries for aarch64: musl itself built
#                        from its pinned source with Debian's cross compiler
#                        (gcc-aarch64-linux-gnu) into musl/, with its
#                        musl-gcc wrapper, then the four libraries with it
#
# The result is ${DRSJOIN_DEPS_CACHE:-~/.cache/drsjoin-deps}/FLAVOUR-KEY/ with
# include/ and lib/*.a. KEY hashes everything that decides the bytes built:
# the pins, this script, fetch.sh, our patches and config, the compiler name
# and the flags. A complete directory has a .complete stamp, never rebuilt;
# a build happens in a temporary directory renamed into place at the end, so
# an interrupted build leaves no half cache. Build output goes to
# logs/FLAVOUR-KEY.log in the cache; its tail is printed on failure.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache=${DRSJOIN_DEPS_CACHE:-${HOME:-/root}/.cache/drsjoin-deps}
jobs=${DRSJOIN_DEPS_JOBS:-2}

die() { echo "build.sh: $*" >&2; exit 1; }

dir_only=
case ${1:-} in
--dir) dir_only=1; shift ;;
--clean)
	# Built directories, logs and leftovers of killed builds; the verified
	# downloads (src/) and the private apt lists stay, so a rebuild needs no
	# network. rm -rf the cache directory itself to forget everything.
	rm -rf "$cache"/musl-* "$cache"/asan-* "$cache"/.work-* "$cache/logs" \
		"$here/.deps"
	exit 0
	;;
esac
flavour=${1:-}

# The architecture built for; part of the key (see inputs()). cross is the
# GNU triplet of Debian's cross toolchain, empty for a native build.
arch=$(uname -m)
cross=
# The flags every release flavour's libraries are built with.
# Sections let the final -Wl,--gc-sections drop what drsjoin never calls.
# -fPIE: drsjoin is linked static-PIE (the Makefile), so every object
# must be position-independent. The stack protector and stack-clash
# probes harden the libraries that parse what servers send
# (test/integ/hardening.sh checks them with nm).
release_cflags="-Os -ffunction-sections -fdata-sections -fPIE -fstack-protector-strong -fstack-clash-protection"
case $flavour in
musl)
	CC=musl-gcc
	CFLAGS=$release_cflags
	LDFLAGS=
	;;
asan)
	CC=gcc
	CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined"
	LDFLAGS="-fsanitize=address,undefined"
	;;
musl-aarch64)
	# Debian has no musl cross toolchain: musl is built here first, with
	# the cross gcc, and its own musl-gcc wrapper (build_musl) becomes CC
	# for the four libraries. Same flags as the x86-64 release build.
	arch=aarch64
	cross=aarch64-linux-gnu
	debarch=arm64
	CC=$cross-gcc
	CFLAGS=$release_cflags
	LDFLAGS=
	;;
*)
	die "usage: build.sh [--dir] musl|asan|musl-aarch64 | --clean"
	;;
esac

# What decides the output, as "name value" lines in a fixed order. It needs
# no compiler, so deps.mk can name the directory before the build packages
# are installed; the toolchain's versions are recorded in .toolchain instead
# (a Debian stable toolchain update keeps the ABI; clear the cache to rebuild).
inputs() {
	echo "flavour $flavour"
	echo "arch $arch"
	echo "cc $CC"
	echo "cflags $CFLAGS"
	echo "ldflags $LDFLAGS"
	(cd "$here" && find versions build.sh fetch.sh patches config -type f | LC_ALL=C sort |
		xargs sha256sum)
}
key=$(inputs | sha256sum | cut -c1-16)
dest=$cache/$flavour-$key

# The convenience link third_party/.deps/FLAVOUR (git-ignored) for developers.
link_deps() {
	if mkdir -p "$here/.deps" 2>/dev/null; then
		ln -sfn "$dest" "$here/.deps/$flavour" 2>/dev/null || true
	fi
}

if [ -f "$dest/.complete" ]; then
	link_deps
	echo "$dest"
	exit 0
fi
if [ -n "$dir_only" ]; then
	echo "$dest"
	exit 0
fi

command -v "$CC" >/dev/null 2>&1 || die "$CC missing (run scripts/install-deps.sh)"
mkdir -p "$cache/logs"
# One builder per flavour at a time (make -j may ask twice); the second one
# waits, then finds the stamp.
exec 9>"$cache/.lock-$flavour"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -f "$dest/.complete" ]; then
	link_deps
	echo "$dest"
	exit 0
fi

log=$cache/logs/$flavour-$key.log
work=$(mktemp -d "$cache/.work-$flavour-XXXXXX")
bgpids=
# A background step is a subshell running make or configure: stop the whole
# tree, or they would go on writing into a removed directory.
kill_tree() {
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}
cleanup() {
	for p in $bgpids; do kill_tree "$p"; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

: >"$log"
inputs >"$work/inputs"
{
	echo "cc-version $("$CC" -dumpfullversion 2>/dev/null || "$CC" -dumpversion)"
	if [ -n "$cross" ]; then
		dpkg-query -W -f='${Package} ${Version}\n' "gcc-$cross" "binutils-$cross" \
			"linux-libc-dev-$debarch-cross" 2>/dev/null || true
	else
		dpkg-query -W -f='${Package} ${Version}\n' gcc musl-dev libc6-dev 2>/dev/null || true
	fi
} >"$work/toolchain"
{ echo "== drsjoin deps $flavour-$key"; cat "$work/inputs" "$work/toolchain"; } >>"$log"

fail() { # message [step]
	echo "build.sh: $1 (log: $log)" >&2
	echo "---- last lines of the log ----" >&2
	if [ -n "${2:-}" ] && [ -f "$work/$2.log" ]; then
		tail -n 40 "$work/$2.log" >&2
	else
		tail -n 40 "$log" >&2
	fi
	exit 1
}

prefix=$work/prefix
src=$work/src
mkdir -p "$prefix/include" "$prefix/lib" "$src"

# Nothing from the host's pkg-config search path may leak into a build.
PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig
PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
unset CPPFLAGS LIBS 2>/dev/null || true
# Run from make, the top-level's flags and variable overrides (make CC=...)
# would reach the dependencies' own makes.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES 2>/dev/null || true

# The archiver, and for a cross build the configure arguments that name
# the target and its binutils (autoconf would otherwise look for
# aarch64-linux-musl-ar and fall back to the host's).
AR=ar
cross_conf=
if [ -n "$cross" ]; then
	AR=$cross-ar
	cross_conf="--build=$(gcc -dumpmachine) --host=$arch-linux-musl AR=$AR
		RANLIB=$cross-ranlib NM=$cross-nm STRIP=$cross-strip OBJDUMP=$cross-objdump"
fi

start=$(date +%s)
echo "build.sh: building $flavour dependencies into $dest" >&2

"$here/fetch.sh" "$src" >>"$log" 2>&1 || fail "fetching the sources failed"

apply_patches() { # pkg dir
	for p in "$here/patches/$1"/*.patch; do
		[ -f "$p" ] || continue
		echo "== patch $1: $(basename "$p")"
		patch -d "$2" -p1 --batch --forward <"$p" || return 1
	done
}

# The musl-gcc wrapper of a cross build, in DIR/musl/bin: the cross gcc with
# musl's specs (from musl's own tools/musl-gcc.specs.sh, installed by
# make install, which hold absolute paths: rewritten when the build moves
# into place). Ours rather than musl's generated one, which would run
# $REALGCC when that is set (for the host's musl-gcc, say).
write_musl_gcc() { # DIR
	printf '%s\n' '#!/bin/sh' \
		"# drsjoin's $arch musl-gcc (third_party/build.sh): Debian's cross gcc with musl." \
		"exec $cross-gcc \"\$@\" -specs \"$1/musl/lib/musl-gcc.specs\"" \
		>"$prefix/musl/bin/musl-gcc.tmp" &&
		chmod 755 "$prefix/musl/bin/musl-gcc.tmp" &&
		mv "$prefix/musl/bin/musl-gcc.tmp" "$prefix/musl/bin/musl-gcc"
}

# musl for a cross build, into $prefix/musl (include/, lib/, bin/musl-gcc).
# Debian's patches are applied (dpkg-source); its package adds musl-fts,
# which drsjoin does not use. musl picks its own optimisation (-O2, speed
# for string/malloc); -fPIE for static-PIE, and the hardening flags of the
# libraries (musl builds its start-up code without the stack protector).
build_musl() {
	s=$src/musl
	apply_patches musl "$s" || return 1
	(cd "$s" && ./configure CC="$cross-gcc" CROSS_COMPILE="$cross-" \
		CFLAGS="-fPIE -fstack-protector-strong -fstack-clash-protection" \
		--target="$cross" --prefix="$prefix/musl" --syslibdir=/lib \
		--disable-shared --enable-static --enable-wrapper=gcc) || return 1
	make -C "$s" -j"$jobs" && make -C "$s" install || return 1
	[ -f "$prefix/musl/lib/rcrt1.o" ] && [ -f "$prefix/musl/lib/musl-gcc.specs" ] ||
		{ echo "musl: rcrt1.o or musl-gcc.specs not installed"; return 1; }
	write_musl_gcc "$prefix"
}

build_mbedtls() {
	s=$src/mbedtls
	apply_patches mbedtls "$s" || return 1
	# config.py edits include/mbedtls/mbedtls_config.h, which is installed.
	grep -v '^[[:space:]]*\(#\|$\)' "$here/config/mbedtls.conf" | while read -r op name; do
		python3 "$s/scripts/config.py" -f "$s/include/mbedtls/mbedtls_config.h" "$op" "$name" ||
			{ echo "config.py $op $name failed"; exit 1; }
	done || return 1
	# Libraries only: no programs, no tests.
	make -C "$s/library" -j"$jobs" CC="$CC" AR="$AR" CFLAGS="$CFLAGS" static || return 1
	cp -R "$s/include/mbedtls" "$s/include/psa" "$prefix/include/" &&
		cp "$s/library/libmbedcrypto.a" "$s/library/libmbedx509.a" \
			"$s/library/libmbedtls.a" "$prefix/lib/"
}

build_cjson() {
	s=$src/cjson
	apply_patches cjson "$s" || return 1
	# One file; its CMake would add nothing but a configure step.
	# shellcheck disable=SC2086 # CFLAGS is a list of flags
	"$CC" $CFLAGS -std=c89 -c "$s/cJSON.c" -o "$s/cJSON.o" &&
		"$AR" rcs "$prefix/lib/libcjson.a" "$s/cJSON.o" &&
		mkdir -p "$prefix/include/cjson" &&
		cp "$s/cJSON.h" "$prefix/include/cjson/"
}

# tpm2-tss's bootstrap (autoreconf) needs nothing built, so it runs while
# mbedTLS compiles. Its VERSION comes from debian/changelog (Debian's patch).
bootstrap_tss() {
	s=$src/tpm2-tss
	apply_patches tpm2-tss "$s" || return 1
	(cd "$s" && ./bootstrap)
}

# --enable-unity: one translation unit per library, which compiles in a
# third of the time and still leaves sections for --gc-sections to drop.
build_curl() {
	s=$src/curl
	apply_patches curl "$s" || return 1
	# shellcheck disable=SC2086 # cross_conf is a list of arguments
	(cd "$s" && ./configure CC="$CC" CFLAGS="$CFLAGS" LDFLAGS="$LDFLAGS" $cross_conf \
		--prefix="$prefix" --disable-shared --enable-static \
		--disable-dependency-tracking --enable-unity \
		--with-mbedtls="$prefix" --without-openssl --without-gnutls \
		--without-wolfssl --without-rustls --without-bearssl \
		--without-default-ssl-backend \
		--enable-http --enable-proxy --enable-threaded-resolver \
		--disable-ftp --disable-file --disable-ldap --disable-ldaps \
		--disable-rtsp --disable-dict --disable-telnet --disable-tftp \
		--disable-pop3 --disable-imap --disable-smb --disable-smtp \
		--disable-gopher --disable-mqtt --disable-ipfs --disable-websockets \
		--disable-cookies --disable-alt-svc --disable-hsts --disable-doh \
		--disable-mime --disable-form-api --disable-netrc --disable-ntlm \
		--disable-aws --disable-kerberos-auth --disable-negotiate-auth \
		--disable-tls-srp --disable-sspi --disable-progress-meter \
		--disable-manual --disable-docs --disable-libcurl-option \
		--without-ca-bundle --without-ca-path --without-ca-fallback \
		--without-ca-embed \
		--without-libpsl --without-zlib --without-brotli --without-zstd \
		--without-nghttp2 --without-nghttp3 --without-ngtcp2 \
		--without-quiche --without-msh3 --without-libidn2 \
		--without-libssh --without-libssh2 --without-wolfssh \
		--without-librtmp --without-libgsasl --without-gssapi \
		--disable-ares) || return 1
	make -C "$s/lib" -j"$jobs" &&
		make -C "$s/lib" install &&
		make -C "$s/include" install
}

build_tss() {
	s=$src/tpm2-tss
	extra=
	if [ "$flavour" = musl ]; then
		# tctildr.c includes <linux/limits.h>; musl-gcc sees only musl's
		# headers. Give it the kernel's headers and nothing else of /usr/include.
		kinc=$work/kernel-include
		multiarch=$(gcc -print-multiarch)
		mkdir -p "$kinc"
		ln -s /usr/include/linux "$kinc/linux"
		ln -s /usr/include/asm-generic "$kinc/asm-generic"
		ln -s "/usr/include/$multiarch/asm" "$kinc/asm"
		extra="-isystem $kinc"
	elif [ -n "$cross" ]; then
		# The same for the target: the kernel headers of Debian's
		# linux-libc-dev-ARCH-cross, and not the cross glibc beside them.
		kinc=$work/kernel-include
		mkdir -p "$kinc"
		for d in linux asm-generic asm; do
			ln -s "/usr/$cross/include/$d" "$kinc/$d"
		done
		extra="-isystem $kinc"
	fi
	# --enable-nodl: TCTIs linked in and initialised directly, no dlopen.
	# --disable-defaultflags: its -O2 and -fstack-protector-all would
	# override ours. Logging compiled out: errors reach the user once,
	# decoded by drsjoin (Tss2_RC_Decode), and the strings cost size.
	# shellcheck disable=SC2086 # cross_conf is a list of arguments
	(cd "$s" && ./configure CC="$CC" CFLAGS="$CFLAGS -std=gnu99 $extra" $cross_conf \
		CPPFLAGS="-I$prefix/include" LDFLAGS="$LDFLAGS -L$prefix/lib" \
		--prefix="$prefix" --disable-shared --enable-static \
		--disable-dependency-tracking \
		--with-crypto=mbed --enable-nodl --disable-defaultflags \
		--disable-fapi --disable-policy --disable-doxygen-doc \
		--disable-unit --disable-integration --disable-log-file \
		--with-maxloglevel=none \
		--enable-esys --enable-tcti-device --enable-tcti-swtpm \
		--enable-tcti-mssim --disable-tcti-cmd --disable-tcti-pcap \
		--disable-tcti-libtpms --disable-tcti-spi-helper \
		--disable-tcti-spi-ltt2go --disable-tcti-spidev \
		--disable-tcti-spi-ftdi --disable-tcti-i2c-helper \
		--disable-tcti-i2c-ftdi --disable-tcti-fuzzing) || return 1
	# git.mk would regenerate .gitignore with "autoconf --trace", whose side
	# effect rewrites aminclude_static.am and makes make rerun automake and
	# config.status for nothing. A fresh .gitignore skips all that.
	touch "$s/.gitignore" || return 1
	make -C "$s" -j"$jobs" && make -C "$s" install
}

# Run "$@" with its output in its own log, so parallel builds stay readable.
step() { # name command...
	n=$1; shift
	t0=$(date +%s)
	echo "== $n" >"$work/$n.log"
	if "$@" >>"$work/$n.log" 2>&1; then st=0; else st=$?; fi
	echo "== $n: exit $st after $(($(date +%s) - t0)) s" >>"$work/$n.log"
	cat "$work/$n.log" >>"$log"
	return $st
}

step tss-bootstrap bootstrap_tss & tss_boot=$!
bgpids=$tss_boot

# A cross build needs its C library before anything is compiled.
if [ -n "$cross" ]; then
	step musl build_musl & musl_pid=$!
	bgpids="$tss_boot $musl_pid"
	wait "$musl_pid" || fail "musl build failed" musl
	CC=$prefix/musl/bin/musl-gcc
fi

# Steps run in the background and are waited for, so that a signal is acted
# on at once (sh defers traps while a foreground command runs).
step mbedtls build_mbedtls & mbedtls_pid=$!
bgpids="$tss_boot $mbedtls_pid"
wait "$mbedtls_pid" || fail "mbedTLS build failed" mbedtls
step cjson build_cjson || fail "cJSON build failed" cjson
wait "$tss_boot" || fail "tpm2-tss bootstrap failed" tss-bootstrap

# curl and tpm2-tss only need mbedTLS: configure both at once (configure is
# single-threaded, so this is where the second core pays off).
step curl build_curl & curl_pid=$!
step tpm2-tss build_tss & tss_pid=$!
bgpids="$curl_pid $tss_pid"
st_curl=0; wait "$curl_pid" || st_curl=$?
st_tss=0; wait "$tss_pid" || st_tss=$?
bgpids=
[ "$st_curl" = 0 ] || fail "curl build failed" curl
[ "$st_tss" = 0 ] || fail "tpm2-tss build failed" tpm2-tss

# Keep include/ and lib/*.a only: .pc/.la files would name the temporary path.
rm -rf "${prefix:?}/bin" "${prefix:?}/share" "${prefix:?}/etc" "${prefix:?}/var" \
	"${prefix:?}/lib/pkgconfig" "${prefix:?}/lib/udev" \
	"${prefix:?}/lib/sysusers.d" "${prefix:?}/lib/tmpfiles.d"
rm -f "${prefix:?}"/lib/*.la

for lib in mbedtls mbedx509 mbedcrypto curl cjson tss2-esys tss2-sys tss2-mu \
	tss2-rc tss2-tcti-device tss2-tcti-swtpm tss2-tcti-mssim; do
	[ -f "$prefix/lib/lib$lib.a" ] || fail "lib$lib.a was not built"
done

# The musl wrapper and specs name their directory: make them name the
# place the build is moved to.
if [ -n "$cross" ]; then
	sed -i "s|$prefix/|$dest/|g" "$prefix/musl/lib/musl-gcc.specs" || fail "musl-gcc.specs"
	write_musl_gcc "$dest" || fail "musl-gcc"
	! grep -q "$work" "$prefix/musl/lib/musl-gcc.specs" "$prefix/musl/bin/musl-gcc" ||
		fail "the musl wrapper still names $work"
fi

cp "$work/inputs" "$prefix/.inputs"
cp "$work/toolchain" "$prefix/.toolchain"
cp "$log" "$prefix/build.log"
end=$(date +%s)
echo "== built in $((end - start)) s" >>"$log"
date -u +%Y-%m-%dT%H:%M:%SZ >"$prefix/.complete"
rm -rf "$dest"
mv "$prefix" "$dest"
link_deps
echo "build.sh: $flavour dependencies built in $((end - start)) s" >&2
echo "$dest"
