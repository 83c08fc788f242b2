#!/bin/sh
# deb.sh TOP ROOT OUTDIR [ARCH] - packs ROOT (a `make install DESTDIR=ROOT
# PREFIX=/usr` tree) into OUTDIR/drsjoin_VERSION_ARCH.deb with dpkg-deb,
# adding what Debian policy asks: a stripped binary, the man page and the
# changelog compressed, the copyright file, md5sums, the control file.
# Reproducible like dist.sh (dpkg-deb clamps times to SOURCE_DATE_EPOCH).
# ARCH: amd64 (the default) or arm64 (x86_64 and aarch64 are taken too);
# the binary must be one for it. OUTDIR/SHA256SUMS is rewritten as dist.sh
# does.
#
# No maintainer scripts: the units are not enabled on install, since a join
# needs a token the admin provides first (see drsjoin(8)).
set -eu

top=${1:?usage: deb.sh TOP ROOT OUTDIR}
root=${2:?usage: deb.sh TOP ROOT OUTDIR}
out=${3:?usage: deb.sh TOP ROOT OUTDIR}
arch=${4:-amd64}
die() { echo "deb.sh: $*" >&2; exit 1; }

# shellcheck source=scripts/release-env.sh
. "$(dirname "$0")/release-env.sh"
[ -x "$root/usr/sbin/drsjoin" ] || die "$root/usr/sbin/drsjoin: missing (make install DESTDIR=$root PREFIX=/usr)"
release_arch "$arch" "$root/usr/sbin/drsjoin"

doc=$root/usr/share/doc/drsjoin
$strip --strip-all --remove-section=.comment "$root/usr/sbin/drsjoin"
gzip -9nf "$root/usr/share/man/man8/drsjoin.8"
# The licence is in the copyright file; README.md stays as documentation.
rm -f "$doc/LICENSE"
date=$(date -u -d "@$SOURCE_DATE_EPOCH" -R)
printf '%s\n' "drsjoin ($version) unstable; urgency=medium" "" \
    "  * Release $version; see README.md." "" \
    " -- drsjoin <dev@drsjoin.invalid>  $date" | gzip -9n >"$doc/changelog.gz"
cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: drsjoin
Comment: /usr/sbin/drsjoin is statically linked with Mbed TLS, libcurl,
 tpm2-tss and cJSON, at the versions drsjoin --version names, and with the
 musl C library.

Files: *
Copyright: 2026 the drsjoin authors
License: Apache-2.0

Files: mbedtls
Copyright: The Mbed TLS Contributors
License: Apache-2.0

Files: curl
Copyright: 1996-2025 Daniel Stenberg, <daniel@haxx.se>, and many contributors
License: curl
 Permission to use, copy, modify, and distribute this software for any
 purpose with or without fee is hereby granted, provided that the above
 copyright notice and this permission notice appear in all copies.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT OF THIRD PARTY RIGHTS.
 IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
 OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
 USE OR OTHER DEALINGS IN THE SOFTWARE.
 .
 Except as contained in this notice, the name of a copyright holder shall
 not be used in advertising or otherwise to promote the sale, use or other
 dealings in this Software without prior written authorization of the
 copyright holder.

Files: tpm2-tss
Copyright: the tpm2-tss contributors (Intel Corporation and others)
License: BSD-2-Clause
 Redistribution and use in source and binary forms, with or without
 modification, are permitted provided that the following conditions are met:
 .
 1. Redistributions of source code must retain the above copyright notice,
 this list of conditions and the following disclaimer.
 .
 2. Redistributions in binary form must reproduce the above copyright notice,
 this list of conditions and the following disclaimer in the documentation
 and/or other materials provided with the distribution.
 .
 THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE
 LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
 CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 POSSIBILITY OF SUCH DAMAGE.

Files: cjson
Copyright: 2009-2017 Dave Gamble and cJSON contributors
License: MIT

Files: musl
Copyright: 2005-2020 Rich Felker, et al.
License: MIT

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to
 deal in the Software without restriction, including without limitation the
 rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
 sell copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
 IN THE SOFTWARE.

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT

# drsjoin is one static binary by design (README: it needs nothing from the
# host), so it embeds its libraries; static-PIE has a dynamic section
# without needing any shared library.
mkdir -p "$root/usr/share/lintian/overrides"
cat >"$root/usr/share/lintian/overrides/drsjoin" <<'OVERRIDES'
# One static binary by design: the pinned libraries are linked in.
drsjoin: embedded-library curl [usr/sbin/drsjoin]
drsjoin: embedded-library mbedtls [usr/sbin/drsjoin]
# static-PIE: a dynamic section, no shared library needed.
drsjoin: shared-library-lacks-prerequisites [usr/sbin/drsjoin]
# Root's only: the config file names token files, which live beside it.
drsjoin: non-standard-dir-perm 0700 != 0755 [etc/drsjoin/]
OVERRIDES
chmod 0644 "$root/usr/share/lintian/overrides/drsjoin"

mkdir -p "$root/DEBIAN"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
    xargs -d '\n' md5sum) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: drsjoin
Version: $version
Architecture: $debarch
Maintainer: drsjoin <dev@drsjoin.invalid>
Installed-Size: $size
Recommends: ca-certificates
Suggests: tpm2-tools
Section: admin
Priority: optional
Description: join Linux machines to Microsoft Entra ID
 drsjoin joins (or registers) a Linux machine to a Microsoft Entra ID
 tenant through the Device Registration Service: it discovers the tenant,
 makes the device and transport keys (in the TPM when there is one), builds
 the certificate request, posts the join and stores the identity.
 .
 One static binary, with a man page, bash and zsh completion, and systemd
 units to join at boot and leave at shutdown.
CONTROL
find "$root" -type d -exec chmod 0755 {} +
# /etc/drsjoin holds the config file and token files: root's only. In the
# package (not made by a maintainer script), so dpkg owns it and sets its
# mode on every install and upgrade.
chmod 0700 "$root/etc/drsjoin"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
mkdir -p "$out"
deb=$out/drsjoin_${version}_$debarch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb.tmp" >/dev/null
mv "$deb.tmp" "$deb"
release_sums "$out"
echo "$deb"
