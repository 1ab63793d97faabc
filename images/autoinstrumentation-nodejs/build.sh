#!/usr/bin/env bash
# Builds the llmobs Node.js instrumentation bundle into OUT_DIR (created; must not exist or be empty):
#   images/autoinstrumentation-nodejs/build.sh OUT_DIR
# OUT_DIR is what the image holds at /autoinstrumentation and the init container copies into the pod:
#   OUT_DIR/autoinstrumentation.mjs   for NODE_OPTIONS=--import <bundle>/autoinstrumentation.mjs (the default)
#   OUT_DIR/autoinstrumentation.js    for NODE_OPTIONS=--require <bundle>/autoinstrumentation.js
#   OUT_DIR/node_modules/             the pinned packages of package.json (npm ci of package-lock.json)
# Both entry files resolve their packages from OUT_DIR/node_modules, never from the app's.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: build.sh OUT_DIR}
mkdir -p "$OUT"
if [ -n "$(ls -A "$OUT")" ]; then echo "build.sh: $OUT is not empty" >&2; exit 2; fi
install -m 0644 "$HERE/package.json" "$OUT/package.json"
if [ -f "$HERE/package-lock.json" ]; then
  install -m 0644 "$HERE/package-lock.json" "$OUT/package-lock.json"
  npm ci --prefix "$OUT" --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
else
  # First build only: resolve, then keep the lock next to package.json so later builds are exact.
  npm install --prefix "$OUT" --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "build.sh: no package-lock.json yet; copy $OUT/package-lock.json to $HERE" >&2
fi
install -m 0644 "$HERE/autoinstrumentation.mjs" "$HERE/autoinstrumentation.js" "$OUT/"
echo "build.sh: nodejs bundle in $OUT" >&2
