#!/usr/bin/env bash
# Builds the llmobs Python instrumentation bundle into OUT_DIR (created; must not exist or be empty):
#   images/autoinstrumentation-python/build.sh OUT_DIR
# OUT_DIR is what the image holds at /autoinstrumentation and the init container copies into the pod:
#   OUT_DIR/<packages of requirements.txt>                       (pip install --target)
#   OUT_DIR/opentelemetry/instrumentation/auto_instrumentation/sitecustomize.py  (this folder's, replacing
#                                                                 the one opentelemetry-instrumentation ships)
# The pod's PYTHONPATH is OUT/opentelemetry/instrumentation/auto_instrumentation:OUT (the webhook's prefix).
# Compiled wheels (wrapt, protobuf) match the python that runs this script: the image builds with 3.12.
# PYTHON overrides the interpreter (default python3).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: build.sh OUT_DIR}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
if [ -n "$(ls -A "$OUT")" ]; then echo "build.sh: $OUT is not empty" >&2; exit 2; fi
"$PYTHON" -m pip install --no-input --disable-pip-version-check --quiet --no-compile \
  --target "$OUT" -r "$HERE/requirements.txt"
# Everything installed must be pinned in requirements.txt: an unpinned transitive means the list is stale.
pinned=$(grep -Eo '^[A-Za-z0-9_.-]+==' "$HERE/requirements.txt" | sed 's/==$//' | tr 'A-Z_.' 'a-z--' | sort)
installed=$(find "$OUT" -maxdepth 1 -name '*.dist-info' -printf '%f\n' | sed -E 's/-[^-]+\.dist-info$//' |
  tr 'A-Z_.' 'a-z--' | sort)
extra=$(comm -13 <(echo "$pinned") <(echo "$installed"))
if [ -n "$extra" ]; then echo "build.sh: installed but not pinned in requirements.txt: $extra" >&2; exit 1; fi
install -m 0644 "$HERE/sitecustomize.py" "$OUT/opentelemetry/instrumentation/auto_instrumentation/sitecustomize.py"
# pip's bin/ holds console scripts with this machine's interpreter path; the pod never runs them.
rm -rf "$OUT/bin"
echo "build.sh: python bundle in $OUT" >&2
