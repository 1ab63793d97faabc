#!/usr/bin/env bash
# Build one real component from the Go module proxy into the cache, keyed by component and version.
#   test/harness/tools/build.sh <etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok|helm|otelcol|jaeger|all>
# Prints the binary's path on success. A cached build costs nothing. On failure it prints one line
# naming the component and the first error, and keeps the full Go output in a log file.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"
# LLMOBS_<NAME>=... overrides a pinned version for one run (trying a new release, or a failing build in a test).
for v in $(sed -n 's/^\([A-Z0-9_]*\)=.*/\1/p' "$HERE/versions.env"); do
  o="LLMOBS_$v"
  if [ -n "${!o:-}" ]; then printf -v "$v" '%s' "${!o}"; fi
done
CACHE=${LLMOBS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmobs}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

component_version() {
  case "$1" in
    etcd) echo "$ETCD_VERSION" ;;
    kube-apiserver | kube-controller-manager | kube-scheduler) echo "$K8S_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    # The manifest's digest is in the key: adding a component to otelcol-builder.yaml rebuilds the Collector.
    otelcol) echo "v$OTELCOL_VERSION-$(sha256sum "$HERE/otelcol-builder.yaml" | cut -c1-12)" ;;
    jaeger) echo "$JAEGER_MODULE_VERSION" ;;
    *) echo "unknown component '$1' (known: etcd kube-apiserver kube-controller-manager kube-scheduler kwok helm otelcol jaeger)" >&2; return 2 ;;
  esac
}

build_etcd() { # server/go.mod has ../ replaces, so `go install @v` is refused; a wrapper resolves the same tags
  printf 'module local.invalid/etcdbin\n\ngo 1.24.0\n' > go.mod
  go get -tool "go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}" \
    -o "$1/etcd" go.etcd.io/etcd/server/v3
}

build_kube() { # k8s.io/kubernetes requires staging modules at v0.0.0: replace each by its v0.Y.Z tag
  local cmd=$1 out=$2 staging_version="v0.${K8S_VERSION#v1.}" minor up_mod go_line godebug_line staging ld
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  up_mod=$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  go_line=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$up_mod")
  godebug_line=$(grep -E '^godebug ' "$up_mod" || true)
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$up_mod")
  [ -n "$staging" ] || { echo "error: no ./staging replace directives in $up_mod"; return 1; }
  printf 'module local.invalid/kubebin\n\ngo %s\n\n%s\n' "$go_line" "$godebug_line" > go.mod
  for m in $staging; do go mod edit "-replace=${m}=${m}@${staging_version}"; done
  go get -tool "k8s.io/kubernetes/cmd/${cmd}@${K8S_VERSION}"
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
    ld+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
  done
  go build -trimpath -ldflags "$ld" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd"
}
build_kube-apiserver() { build_kube kube-apiserver "$1"; }
# The controller manager (Deployments -> Pods, garbage collection, namespace deletion) and the scheduler
# (Pods -> kwok's Nodes) turn the bare apiserver into a cluster that behaves like one for the operator's tests.
build_kube-controller-manager() { build_kube kube-controller-manager "$1"; }
build_kube-scheduler() { build_kube kube-scheduler "$1"; }

build_kwok() {
  GOBIN="$1" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}" \
    "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
}

build_helm() { # unstamped, helm reports v3.x and assumes Kubernetes 1.20 for .Capabilities.KubeVersion
  local minor major=${HELM_VERSION%%.*}
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  GOBIN="$1" go install -trimpath -ldflags "-s -w \
    -X helm.sh/helm/${major}/internal/version.version=${HELM_VERSION} \
    -X helm.sh/helm/${major}/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/${major}/pkg/chartutil.k8sVersionMinor=${minor} \
    -X helm.sh/helm/${major}/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/${major}/pkg/lint/rules.k8sVersionMinor=${minor}" \
    "helm.sh/helm/${major}/cmd/helm@${HELM_VERSION}"
}

build_otelcol() {
  GOBIN="$PWD/ocb" go install "go.opentelemetry.io/collector/cmd/builder@v${OTELCOL_VERSION}"
  sed -e "s#@OTELCOL_VERSION@#${OTELCOL_VERSION}#g" -e "s#@OTELCOL_STABLE_VERSION@#${OTELCOL_STABLE_VERSION}#g" \
      -e "s#@OUTPUT_PATH@#$PWD/dist#g" "$HERE/otelcol-builder.yaml" > manifest.yaml
  ./ocb/builder --config=manifest.yaml
  cp dist/otelcol "$1/otelcol"
}

build_jaeger() { # the module's go.mod replaces sarama, so build through a wrapper that carries the replace
  local info up_mod up_dir go_line
  info=$(go mod download -json "github.com/jaegertracing/jaeger@${JAEGER_MODULE_VERSION}")
  up_mod=$(echo "$info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  up_dir=$(echo "$info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  go_line=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$up_mod")
  printf 'module local.invalid/jaegerbin\n\ngo %s\n' "$go_line" > go.mod
  # Start from the release's own go.sum: the checksum database reached here lacks some of the Collector
  # v0.140 modules Jaeger pins, and the release's recorded sums are the ones its authors verified.
  cp "$up_dir/go.sum" go.sum && chmod u+w go.sum
  go mod edit -json "$up_mod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"], r["New"]
    if new.get("Version"):
        lhs = old["Path"] + ("@" + old["Version"] if old.get("Version") else "")
        print("-replace=" + lhs + "=" + new["Path"] + "@" + new["Version"])
' | xargs -r go mod edit
  go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@${JAEGER_MODULE_VERSION}"
  go build -trimpath -ldflags "-s -w \
    -X github.com/jaegertracing/jaeger/internal/version.latestVersion=${JAEGER_VERSION} \
    -X github.com/jaegertracing/jaeger/internal/version.gitCommit=${JAEGER_MODULE_VERSION}" \
    -o "$1/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
}

build_one() {
  local name=$1 version dir log work start
  version=$(component_version "$name")
  dir="$CACHE/bin/$name-$version"
  if [ -f "$dir/.complete" ]; then echo "$dir/$name"; return 0; fi
  mkdir -p "$CACHE/locks"
  # Parallel test files may ask for the same component at once: one builds, the others wait for it.
  exec {lock}>"$CACHE/locks/$name-$version.lock"
  flock "$lock"
  if [ -f "$dir/.complete" ]; then flock -u "$lock"; echo "$dir/$name"; return 0; fi
  command -v go >/dev/null || { echo "harness: cannot build $name $version: no 'go' on PATH (Go >= $GO_TOOLCHAIN_MIN is needed)" >&2; return 1; }
  mkdir -p "$CACHE/logs" "$CACHE/work"
  log="$CACHE/logs/$name-$version.log"
  work=$(mktemp -d "$CACHE/work/$name-$version.XXXXXX")
  rm -rf "$dir.partial"; mkdir -p "$dir.partial"
  start=$(date +%s)
  echo "harness: building $name $version (first time only; log: $log)" >&2
  if ! (cd "$work" && set -x && "build_$name" "$dir.partial") >"$log" 2>&1; then
    local why
    # The first line that reads like an error, skipping the shell trace and Go's progress chatter.
    why=$(grep -vE '^\+|^go: (downloading|finding|added|upgraded)' "$log" |
      grep -m1 -iE 'error|cannot|not found|undefined|no required module|fatal|failed|denied|forbidden' | cut -c1-300 || true)
    [ -n "$why" ] || why=$(grep -v '^+' "$log" | tail -n1 | cut -c1-300)
    echo "harness: build of $name $version failed: ${why:-unknown error} (full log: $log)" >&2
    rm -rf "$work"
    flock -u "$lock"
    return 1
  fi
  rm -rf "$work" "$dir"
  mv "$dir.partial" "$dir"
  touch "$dir/.complete"
  flock -u "$lock"
  echo "harness: built $name $version in $(( $(date +%s) - start ))s" >&2
  echo "$dir/$name"
}

if [ "${1:-}" = all ]; then
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok helm otelcol jaeger; do build_one "$c" >/dev/null; done
else
  build_one "${1:?usage: build.sh <etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok|helm|otelcol|jaeger|all>}"
fi
