#!/usr/bin/env bash
# Builds a real kube-apiserver (k8s.io/kubernetes v1.32.2) and etcd (go.etcd.io/etcd/server/v3
# v3.5.16) from the Go module proxy, pinned by the wrapper module tools/kube-apiserver
# (go.mod + go.sum), for the Kubernetes API tests and `npm run validate:k8s`.
#
# Binaries are cached in $HOME/.cache/tile38-ha/k8s-v1.32.2/ (override with K8S_BIN_DIR) and
# rebuilt only when the wrapper module's go.mod or go.sum change. Cold build: about 7 minutes on
# 2 cores; warm (binaries cached): well under a second.
# Prints the binary directory on stdout; progress goes to stderr.
set -euo pipefail

K8S_VERSION=v1.32.2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODULE_DIR="$ROOT/tools/kube-apiserver"
BIN_DIR="${K8S_BIN_DIR:-$HOME/.cache/tile38-ha/k8s-${K8S_VERSION}}"
GO="${GO:-go}"
if ! command -v "$GO" >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; fi
if ! command -v "$GO" >/dev/null 2>&1; then
  echo "build-kube-apiserver: no Go toolchain on PATH (set GO=/path/to/go)" >&2
  exit 2
fi

stamp="$(cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum" | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/etcd" ] \
  && [ "$(cat "$BIN_DIR/.stamp" 2>/dev/null || true)" = "$stamp" ]; then
  echo "$BIN_DIR"
  exit 0
fi

mkdir -p "$BIN_DIR"
# One build at a time (CI and a developer's test run may race for the same cache).
exec 9>"$BIN_DIR/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/etcd" ] \
  && [ "$(cat "$BIN_DIR/.stamp" 2>/dev/null || true)" = "$stamp" ]; then
  echo "$BIN_DIR"
  exit 0
fi

started=$(date +%s)
tmp="$(mktemp -d "$BIN_DIR/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=${K8S_VERSION}"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=32"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
echo "build-kube-apiserver: building kube-apiserver ${K8S_VERSION} and etcd into $BIN_DIR (cold: ~7 min)" >&2
(
  cd "$MODULE_DIR"
  export GOFLAGS="-mod=readonly ${GOFLAGS:-}" CGO_ENABLED=0
  "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
)
mv -f "$tmp/kube-apiserver" "$tmp/etcd" "$BIN_DIR/"
echo "$stamp" >"$BIN_DIR/.stamp"
echo "build-kube-apiserver: done in $(( $(date +%s) - started )) s" >&2
echo "$BIN_DIR"
