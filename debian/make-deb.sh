#!/bin/sh
# make-deb.sh [OUTDIR] - what `make deb` runs: dpkg-buildpackage -us -uc -b
# on a copy of the tree in a temporary directory, then the .deb (and the
# -dbgsym .ddeb, .buildinfo, .changes) into OUTDIR (default: the top of
# the tree, where .gitignore hides them). A copy because dpkg-buildpackage
# writes its results into the parent of the source directory and its
# clean step runs `make clean`, which would delete a developer's build/.
# The copy holds the working tree's files as they are (tracked and new,
# not ignored ones), so uncommitted changes are packaged too.
# DEB_BUILD_OPTIONS=nocheck skips the unit tests of the build.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
out=${1:-$top}
case "$out" in /*) ;; *) out=$top/$out ;; esac
ver=$(cat VERSION)
cver=$(dpkg-parsechangelog -S Version)
if [ "$cver" != "$ver" ]; then
	echo "make deb: debian/changelog is at $cver but VERSION says $ver:" \
	    "add a changelog entry (dch -v $ver)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/stg-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
src=$tmp/starttls-guard-$ver
mkdir "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
	    tar -c --null --no-recursion --ignore-failed-read -T - -f - 2>/dev/null |
	    tar -x -C "$src" -f -
else
	tar -c --exclude=./build --exclude='./build-*' --exclude='./starttls-guard_*' \
	    --exclude='./starttls-guard-dbgsym_*' -f - . | tar -x -C "$src" -f -
fi
(cd "$src" && dpkg-buildpackage -us -uc -b -J"${DEB_JOBS:-2}") >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log" >&2
	echo "make deb: dpkg-buildpackage failed" >&2
	exit 1
}
mkdir -p "$out"
# one version at a time, so `apt install ./starttls-guard_*.deb` is unambiguous
rm -f "$out"/starttls-guard_*.deb "$out"/starttls-guard-dbgsym_*.ddeb \
    "$out"/starttls-guard_*.buildinfo "$out"/starttls-guard_*.changes
for f in "$tmp"/starttls-guard_"$ver"_* "$tmp"/starttls-guard-dbgsym_"$ver"_*; do
	[ -e "$f" ] || continue
	cp "$f" "$out"/
	echo "  DEB     $out/$(basename "$f")"
done
