#!/usr/bin/env bash
# Fetch a Debian package's .deb and unpack it into the cache, keyed by package and version, without
# installing it system-wide (no services started, no root needed once the package lists exist).
#   test/harness/tools/install-debian.sh prometheus     -> prints the folder holding its binaries
# Only for self-contained packages (Prometheus and promtool are static Go binaries).
set -euo pipefail
PKG=${1:?usage: install-debian.sh <package>}
CACHE=${LLMOBS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmobs}
candidate() { apt-cache policy "$PKG" 2>/dev/null | sed -n 's/^ *Candidate: //p'; }
VERSION=$(candidate)
if [ -z "$VERSION" ] || [ "$VERSION" = "(none)" ]; then
  # A fresh machine may have no package lists yet.
  apt-get update -qq >/dev/null 2>&1 || true
  VERSION=$(candidate)
fi
[ -n "$VERSION" ] && [ "$VERSION" != "(none)" ] ||
  { echo "harness: install of $PKG failed: no candidate in Debian's package lists (is apt reachable?)" >&2; exit 1; }
DEST="$CACHE/debian/$PKG-${VERSION//[:~+]/_}"
if [ -f "$DEST/.complete" ]; then echo "$DEST/usr/bin"; exit 0; fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && apt-get download -qq "$PKG=$VERSION" >"$TMP/apt.log" 2>&1) ||
  { echo "harness: install of $PKG $VERSION failed: $(grep -m1 -E '^(E|W):' "$TMP/apt.log" || tail -n1 "$TMP/apt.log")" >&2; exit 1; }
rm -rf "$DEST.partial"; mkdir -p "$DEST.partial"
dpkg-deb -x "$TMP"/*.deb "$DEST.partial"
rm -rf "$DEST"; mv "$DEST.partial" "$DEST"; touch "$DEST/.complete"
echo "harness: unpacked Debian $PKG $VERSION into $DEST" >&2
echo "$DEST/usr/bin"
