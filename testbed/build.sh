#!/usr/bin/env bash
# Builds the local control plane (kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
# kwok) and the S3 fixture (minio, mc) from the Go module proxy into a cache keyed by version:
#   ${GSO_CACHE:-~/.cache/git-sync-operator}/<component>-<version>/
# A component whose folder holds a .complete marker is not rebuilt.
# Usage: build.sh [kubernetes] [etcd] [kwok] [minio] [mc] [gitea] [flux-bench]   (default: all but flux-bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
cache=${GSO_CACHE:-$HOME/.cache/git-sync-operator}

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the Go toolchain is missing: install Go >= 1.26 (https://go.dev/doc/install, or Debian's golang-go from backports) and put 'go' on PATH" >&2
  exit 2
fi

log() { printf '[build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# make_module DIR MODULE@VERSION [replace lines...]: a throw-away module requiring one module.
make_module() {
  local dir=$1 req=$2; shift 2
  mkdir -p "$dir"
  {
    echo "module gso.local/build"
    echo "go 1.26"
    echo "require ${req%@*} ${req#*@}"
    for r in "$@"; do echo "replace $r"; done
  } >"$dir/go.mod"
}

# tools_file DIR PKG...: a never-compiled file that makes 'go mod tidy' keep the packages' deps.
tools_file() {
  local dir=$1; shift
  { echo "//go:build tools"; echo "package tools"; echo "import ("
    for p in "$@"; do echo "	_ \"$p\""; done; echo ")"; } >"$dir/tools.go"
}

# build COMPONENT VERSION MODULE LDFLAGS PKG... (replace lines via REPLACES array)
build() {
  local name=$1 version=$2 module=$3 ldflags=$4; shift 4
  local out="$cache/$name-$version"
  if [ -f "$out/.complete" ]; then log "$name $version: cached in $out"; return; fi
  local work; work=$(mktemp -d)
  local start=$SECONDS
  log "$name $version: resolving modules (first time only)"
  make_module "$work" "$module@$version" "${REPLACES[@]}"
  tools_file "$work" "$@"
  (cd "$work" && go mod tidy >&2)
  log "$name $version: compiling $* (this takes minutes on 2 cores)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/bin/" "$@")
  post_build "$name" "$version" "$out.tmp" "$work"
  rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/.complete"
  rm -rf "$work"
  log "$name $version: done in $((SECONDS - start)) s -> $out/bin"
}

# build_local NAME VERSION DIR BINARY: a module of this repo (go.mod/go.sum committed).
build_local() {
  local name=$1 version=$2 dir=$3 bin=$4
  local out="$cache/$name-$version"
  if [ -f "$out/.complete" ]; then log "$name $version: cached in $out"; return; fi
  local start=$SECONDS
  log "$name $version: compiling $dir (Go 1.27 toolchain from the module proxy; minutes on 2 cores)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
  (cd "$dir" && GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp/bin/$bin" .)
  rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/.complete"
  log "$name $version: done in $((SECONDS - start)) s -> $out/bin"
}

# build_gitea VERSION: Gitea, a real git host with an API, for the commit-status tests. It needs cgo
# (SQLite) and the replace lines of its own go.mod, which a consumer module does not inherit; its
# templates and locales ship beside the binary (STATIC_ROOT_PATH) so runs need no GOMODCACHE.
build_gitea() {
  local version=$1 out="$cache/gitea-$1"
  if [ -f "$out/.complete" ]; then log "gitea $version: cached in $out"; return; fi
  command -v gcc >/dev/null || { echo "build.sh: gitea needs a C compiler for SQLite: apt-get install gcc" >&2; exit 2; }
  local work; work=$(mktemp -d) start=$SECONDS
  log "gitea $version: resolving modules (first time only)"
  local gomod; gomod=$(cd "$work" && go mod download -json "code.gitea.io/gitea@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  mapfile -t REPLACES < <(go mod edit -json "$gomod" | node -e '
    const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of d.Replace ?? []) console.log(`${r.Old.Path} => ${r.New.Path} ${r.New.Version ?? ""}`.trim());')
  make_module "$work" "code.gitea.io/gitea@$version" "${REPLACES[@]}"
  tools_file "$work" code.gitea.io/gitea
  (cd "$work" && go mod tidy >&2)
  log "gitea $version: compiling (cgo, SQLite; several minutes cold on 2 cores)"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin" "$out.tmp/static"
  (cd "$work" && CGO_ENABLED=1 go build -trimpath -tags "sqlite sqlite_unlock_notify" \
    -ldflags "-s -w -X main.Version=${version#v}" -o "$out.tmp/bin/gitea" code.gitea.io/gitea)
  local src; src=$(cd "$work" && go list -m -f '{{.Dir}}' code.gitea.io/gitea)
  cp -r "$src/templates" "$src/options" "$src/public" "$out.tmp/static/"
  chmod -R a+rX "$out.tmp"
  rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/.complete"
  rm -rf "$work"
  log "gitea $version: done in $((SECONDS - start)) s -> $out/bin"
}

# Component-specific files that must ship beside the binaries.
post_build() {
  local name=$1 version=$2 out=$3 work=$4
  # etcd's main package is the module root (.../server/v3), so go names the binary "server".
  if [ "$name" = etcd ]; then mv "$out/bin/server" "$out/bin/etcd"; fi
  if [ "$name" = kwok ]; then
    # kwok needs stage definitions; they ship inside its module. Copy them so runs need no GOMODCACHE.
    local src; src=$(cd "$work" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
    local f
    for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      cat "$src/kustomize/stage/$f"; echo "---"
    done >"$out/stages.yaml"
  fi
}

k8s_staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller streaming)

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(kubernetes etcd kwok minio mc gitea)
for c in "${want[@]}"; do
  REPLACES=()
  case $c in
    kubernetes)
      staging_version="v0.${KUBERNETES_VERSION#v1.}"
      for s in "${k8s_staging[@]}"; do REPLACES+=("k8s.io/$s => k8s.io/$s $staging_version"); done
      minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
      vpkg=k8s.io/component-base/version
      build kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes \
        "-X $vpkg.gitVersion=$KUBERNETES_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler ;;
    etcd) build etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "" go.etcd.io/etcd/server/v3 ;;
    kwok) build kwok "$KWOK_VERSION" sigs.k8s.io/kwok "" sigs.k8s.io/kwok/cmd/kwok ;;
    minio) build minio "$MINIO_VERSION" github.com/minio/minio "" github.com/minio/minio ;;
    mc) build mc "$MC_VERSION" github.com/minio/mc "" github.com/minio/mc ;;
    gitea) build_gitea "$GITEA_VERSION" ;;
    flux-bench) build_local flux-bench "$FLUX_SSA_VERSION" "$here/../bench/flux" flux-apply ;;
    *) echo "build.sh: unknown component '$c' (known: kubernetes etcd kwok minio mc gitea flux-bench)" >&2; exit 2 ;;
  esac
done
