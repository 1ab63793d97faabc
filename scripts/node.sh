#!/usr/bin/env bash
# Bootstrap the pinned Node.js (24 LTS) from the npm registry and print the folder holding its `node`.
# The machines carry an end-of-life Node 20; the npm registry ships Node's official Linux binary as the
# `node-linux-<arch>` package, which `npm pack` fetches with its integrity checked and without running scripts.
# Cached outside the repo by version: ${LLMOBS_CACHE:-~/.cache/llmobs}/node/<version>/bin.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=$(sed -n 's/^NODE_VERSION=//p' "$HERE/../test/harness/tools/versions.env")
CACHE=${LLMOBS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmobs}
DEST="$CACHE/node/$VERSION"
if [ -x "$DEST/bin/node" ]; then echo "$DEST/bin"; exit 0; fi
case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) echo "node.sh: no node-linux package for architecture $(uname -m)" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "node.sh: need an npm client (any version) to fetch Node $VERSION from the npm registry" >&2; exit 1; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
echo "node.sh: fetching node-linux-$ARCH@$VERSION from the npm registry (first time only)" >&2
(cd "$TMP" && npm pack --silent "node-linux-$ARCH@$VERSION" >/dev/null 2>"$TMP/npm.err") ||
  { echo "node.sh: npm pack node-linux-$ARCH@$VERSION failed: $(grep -m1 -i err "$TMP/npm.err" || tail -n1 "$TMP/npm.err")" >&2; exit 1; }
mkdir -p "$TMP/x" && tar -xzf "$TMP"/node-linux-*.tgz -C "$TMP/x"
GOT=$("$TMP/x/package/bin/node" --version)
[ "$GOT" = "v$VERSION" ] || { echo "node.sh: fetched node reports $GOT, expected v$VERSION" >&2; exit 1; }
mkdir -p "$(dirname "$DEST")" && rm -rf "$DEST.partial" && mv "$TMP/x/package" "$DEST.partial" && mv "$DEST.partial" "$DEST"
echo "$DEST/bin"
