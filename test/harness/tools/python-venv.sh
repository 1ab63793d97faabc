#!/usr/bin/env bash
# Create the isolated Python venv of one instrumented-client variant in the cache and print its python.
#   test/harness/tools/python-venv.sh <openai-v2|openllmetry|openinference|all>
# The venv lives in ${LLMOBS_CACHE:-~/.cache/llmobs}/venv/<variant>-<short sha256 of its requirements file>,
# so editing test/clients/python/requirements-<variant>.txt gives a fresh venv and a cached one costs nothing.
# `all` builds every variant and prints each python path. On failure it prints one line naming the variant
# and pip's first error, and keeps pip's full output in a log file.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REQS_DIR=$(cd "$HERE/../../clients/python" && pwd)
CACHE=${LLMOBS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmobs}
VARIANTS="openai-v2 openllmetry openinference"
PYTHON=${LLMOBS_PYTHON:-python3}

build_one() {
  local variant=$1 reqs sha dir lock log why
  reqs="$REQS_DIR/requirements-$variant.txt"
  [ -f "$reqs" ] || { echo "harness: venv $variant failed: unknown variant (known: $VARIANTS)" >&2; return 2; }
  sha=$(sha256sum "$reqs" | cut -c1-12)
  dir="$CACHE/venv/$variant-$sha"
  # The marker is written last, so its presence means pip finished; the interpreter check catches a venv
  # whose base python has since been removed or upgraded under it.
  if [ -f "$dir/.complete" ] && "$dir/bin/python" -c '' 2>/dev/null; then echo "$dir/bin/python"; return 0; fi
  mkdir -p "$CACHE/locks" "$CACHE/logs" "$CACHE/venv"
  # Parallel test files may ask for the same venv at once: one builds, the others wait for it.
  exec {lock}>"$CACHE/locks/venv-$variant-$sha.lock"
  flock "$lock"
  if [ -f "$dir/.complete" ] && "$dir/bin/python" -c '' 2>/dev/null; then
    flock -u "$lock"
    echo "$dir/bin/python"
    return 0
  fi
  log="$CACHE/logs/venv-$variant-$sha.log"
  command -v "$PYTHON" >/dev/null || {
    echo "harness: venv $variant failed: no '$PYTHON' on PATH (Python >= 3.10 is needed) (full log: none)" >&2
    flock -u "$lock"
    return 1
  }
  echo "harness: creating venv $variant (first time only; log: $log)" >&2
  # Under the lock nobody else is using a half-built venv, so it can be built in place: venvs hard-code
  # their own path, so building elsewhere and renaming would leave broken entry points behind.
  rm -rf "$dir"
  if ! (
    set -x
    "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is needed, found " + sys.version' &&
      "$PYTHON" -m venv "$dir" &&
      "$dir/bin/python" -m pip install --no-input --disable-pip-version-check --quiet -r "$reqs" &&
      "$dir/bin/python" -m pip check
  ) >"$log" 2>&1; then
    why=$(grep -v '^+' "$log" | grep -m1 -E '^(ERROR|error)[: ]|Error|No matching distribution|has requirement|not supported' |
      cut -c1-300 || true)
    [ -n "$why" ] || why=$(grep -v '^+' "$log" | grep -v '^[[:space:]]*$' | tail -n1 | cut -c1-300)
    echo "harness: venv $variant failed: ${why:-unknown error} (full log: $log)" >&2
    rm -rf "$dir"
    flock -u "$lock"
    return 1
  fi
  touch "$dir/.complete"
  flock -u "$lock"
  echo "$dir/bin/python"
}

case "${1:-}" in
  all) for v in $VARIANTS; do build_one "$v"; done ;;
  "") echo "usage: python-venv.sh <${VARIANTS// /|}|all>" >&2; exit 2 ;;
  *) build_one "$1" ;;
esac
