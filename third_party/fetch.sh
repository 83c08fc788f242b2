#!/bin/sh
# fetch.sh DESTDIR - fetch the pinned Debian source packages listed in
# third_party/versions, check each upstream tarball against its pinned SHA256,
# and unpack each one into DESTDIR/<package>/.
#
# The deb-src list is derived from this machine's own apt configuration (the
# Debian archive and security URIs it already uses), with the suite replaced
# by trixie, and lives in a private apt directory: the host's apt state is
# never touched and no archive host name is written in the repo.
#
# Environment:
#   DRSJOIN_DEPS_CACHE       cache root (default ~/.cache/drsjoin-deps); the
#                            private apt dir and downloaded sources live there
#   DRSJOIN_APT_URI          override the Debian archive URI
#   DRSJOIN_APT_SECURITY_URI override the Debian security archive URI
set -eu

here=$(cd "$(dirname "$0")" && pwd)
versions="$here/versions"
dest=${1:?usage: fetch.sh DESTDIR}
cache=${DRSJOIN_DEPS_CACHE:-${HOME:-/root}/.cache/drsjoin-deps}
suite=trixie

die() { echo "fetch.sh: $*" >&2; exit 1; }

for tool in apt-get dpkg-source sha256sum awk; do
	command -v "$tool" >/dev/null 2>&1 || die "missing $tool (run scripts/install-deps.sh)"
done

# Print "URI SUITE SIGNED-BY" for every enabled binary (deb) entry in the
# host's apt configuration, one-line and deb822 formats alike.
apt_entries() {
	etc=$(apt-config shell d Dir::Etc/d | sed "s/^d='\(.*\)'$/\1/")
	[ -n "$etc" ] || etc=/etc/apt
	list=$(apt-config shell f Dir::Etc::sourcelist/f | sed "s/^f='\(.*\)'$/\1/")
	parts=$(apt-config shell p Dir::Etc::sourceparts/d | sed "s/^p='\(.*\)'$/\1/")
	[ -n "$list" ] || list=$etc/sources.list
	[ -n "$parts" ] || parts=$etc/sources.list.d
	for f in "$list" "$parts"/*.list; do
		[ -f "$f" ] || continue
		# deb [options] URI suite component...
		awk '$1 == "deb" {
			sb = "-"
			if ($2 ~ /^\[/) {
				i = 2
				while (i <= NF) {
					if ($i ~ /^\[?signed-by=/) { sb = $i; sub(/^\[?signed-by=/, "", sb); sub(/\]$/, "", sb) }
					if ($i ~ /\]$/) break
					i++
				}
				uri = $(i + 1); s = $(i + 2)
			} else { uri = $2; s = $3 }
			print uri, s, sb
		}' "$f"
	done
	for f in "$parts"/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas: blank-line separated "Field: value" blocks
		awk '
		function flush(   n, m, i, j, u, s) {
			if (types ~ /(^| )deb( |$)/ && enabled !~ /^[Nn]o/) {
				n = split(uris, u, " "); m = split(suites, s, " ")
				for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
					print u[i], s[j], (sb == "" ? "-" : sb)
			}
			types = uris = suites = sb = enabled = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			k = tolower($1); v = $0; sub(/^[^:]*:[ \t]*/, "", v)
			if (k == "types:") types = v
			else if (k == "uris:") uris = v
			else if (k == "suites:") suites = v
			else if (k == "signed-by:" && v !~ /^-----/) sb = v
			else if (k == "enabled:") enabled = v
		}
		END { flush() }' "$f"
	done
}

# The host's own release codename tells which entries are the Debian archive.
# shellcheck disable=SC1091
host_codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
[ -n "$host_codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"

entries=$(apt_entries)
main_uri=${DRSJOIN_APT_URI:-$(echo "$entries" | awk -v c="$host_codename" '$2 == c { print $1; exit }')}
main_sb=$(echo "$entries" | awk -v c="$host_codename" '$2 == c { print $3; exit }')
sec_uri=${DRSJOIN_APT_SECURITY_URI:-$(echo "$entries" | awk -v c="$host_codename-security" '$2 == c { print $1; exit }')}
sec_sb=$(echo "$entries" | awk -v c="$host_codename-security" '$2 == c { print $3; exit }')
[ -n "$main_uri" ] || die "no Debian archive ('deb ... $host_codename') found in the apt configuration; set DRSJOIN_APT_URI"

# Private apt tree: our list, our indexes, our cache; the host's untouched.
apt_dir="$cache/apt"
mkdir -p "$cache"
# Two builds (musl and asan) may fetch at once; apt wants one user per tree.
exec 8>"$cache/.lock-fetch"
if command -v flock >/dev/null 2>&1; then flock 8; fi
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
{
	echo "Types: deb-src"
	echo "URIs: $main_uri"
	echo "Suites: $suite $suite-updates"
	echo "Components: main"
	[ "${main_sb:--}" = - ] || echo "Signed-By: $main_sb"
	if [ -n "$sec_uri" ]; then
		echo
		echo "Types: deb-src"
		echo "URIs: $sec_uri"
		echo "Suites: $suite-security"
		echo "Components: main"
		[ "${sec_sb:--}" = - ] || echo "Signed-By: $sec_sb"
	fi
} >"$apt_dir/sources.list.d/drsjoin.sources"

set -- -o Dir::Etc::SourceList=/dev/null \
	-o Dir::Etc::SourceParts="$apt_dir/sources.list.d" \
	-o Dir::State::Lists="$apt_dir/lists" \
	-o Dir::Cache="$apt_dir/cache" \
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
	-o APT::Get::Only-Source=true -q
# As root apt downloads as _apt, which may not reach a private dir under $HOME.
[ "$(id -u)" != 0 ] || set -- "$@" -o APT::Sandbox::User=root

sha_of() { sha256sum "$1" | awk '{ print $1 }'; }

# Indexes are refreshed only when a pinned package is not downloaded yet.
updated=
mkdir -p "$dest"
grep -v '^[[:space:]]*\(#\|$\)' "$versions" | while read -r pkg ver orig sum; do
	src="$cache/src/${pkg}_$ver"
	if [ ! -f "$src/.complete" ]; then
		if [ -z "$updated" ]; then
			echo "fetch.sh: apt-get update (private list: $suite from the host's Debian archive)" >&2
			apt-get "$@" update >&2 || die "apt-get update failed"
			updated=1
		fi
		rm -rf "$src.tmp"; mkdir -p "$src.tmp"
		(cd "$src.tmp" && apt-get "$@" source --download-only "$pkg=$ver" >&2) ||
			die "cannot download source $pkg=$ver (is it still in the archive?)"
		mv "$src.tmp" "$src.new" && rm -rf "$src" && mv "$src.new" "$src"
		touch "$src/.complete"
	fi
	[ -f "$src/$orig" ] || die "$pkg: upstream tarball $orig not in the source package"
	got=$(sha_of "$src/$orig")
	if [ "$sum" = "-" ]; then
		die "$pkg: no SHA256 pinned for $orig; its SHA256 is $got"
	fi
	[ "$got" = "$sum" ] || die "$pkg: SHA256 MISMATCH for $orig: pinned $sum, got $got ($src)"
	dsc=$(ls "$src"/*.dsc)
	rm -rf "${dest:?}/$pkg"
	# Debian's patches of the pinned package are applied (3.0 quilt); see README.
	dpkg-source --no-check -x "$dsc" "$dest/$pkg" >&2 || die "$pkg: dpkg-source -x failed"
	echo "fetch.sh: $pkg $ver ok ($orig sha256 verified)" >&2
done
