#!/usr/bin/env bash
# Builds the Kubernetes binaries the tests use, from the Go module proxy, pinned by two wrapper
# modules (go.mod + go.sum):
# - tools/kubernetes: kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, kubelet,
#   kubectl (k8s.io/kubernetes v1.32.2) and etcd (go.etcd.io/etcd/server/v3 v3.5.16);
# - tools/coredns: CoreDNS v1.12.0 with only the plugins the test cluster's DNS needs.
# The API tests and `npm run validate:k8s` need kube-apiserver + etcd; the real single-node cluster
# (testing/fixtures/kube/kubeCluster.ts) needs all of them.
#
# Binaries are cached in $HOME/.cache/tile38-ha/k8s-v1.32.2/ (override with K8S_BIN_DIR) and
# rebuilt only when a wrapper module's go.mod or go.sum changes. Cold build: about 10 minutes on
# 2 cores; warm (binaries cached): well under a second.
# Prints the binary directory on stdout; progress goes to stderr.
set -euo pipefail

K8S_VERSION=v1.32.2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
K8S_MODULE="$ROOT/tools/kubernetes"
COREDNS_MODULE="$ROOT/tools/coredns"
BIN_DIR="${K8S_BIN_DIR:-$HOME/.cache/tile38-ha/k8s-${K8S_VERSION}}"
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl etcd coredns"
GO="${GO:-go}"
if ! command -v "$GO" >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; fi
if ! command -v "$GO" >/dev/null 2>&1; then
  echo "build-kube: no Go toolchain on PATH (set GO=/path/to/go)" >&2
  exit 2
fi

stamp="$(cat "$K8S_MODULE/go.mod" "$K8S_MODULE/go.sum" "$COREDNS_MODULE/go.mod" "$COREDNS_MODULE/go.sum" "$COREDNS_MODULE/main.go" | sha256sum | cut -d' ' -f1)"
built() {
  local b
  for b in $BINARIES; do [ -x "$BIN_DIR/$b" ] || return 1; done
  [ "$(cat "$BIN_DIR/.stamp" 2>/dev/null || true)" = "$stamp" ]
}
if built; then echo "$BIN_DIR"; exit 0; fi

mkdir -p "$BIN_DIR"
# One build at a time (CI and a developer's test run may race for the same cache).
exec 9>"$BIN_DIR/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if built; then echo "$BIN_DIR"; exit 0; fi

started=$(date +%s)
tmp="$(mktemp -d "$BIN_DIR/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=${K8S_VERSION}"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=32"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
echo "build-kube: building Kubernetes ${K8S_VERSION}, etcd and CoreDNS into $BIN_DIR (cold: ~10 min)" >&2
export GOFLAGS="-mod=readonly ${GOFLAGS:-}" CGO_ENABLED=0
(
  cd "$K8S_MODULE"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl; do
    "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  done
  "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
)
(cd "$COREDNS_MODULE" && "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/coredns" .)
for b in $BINARIES; do mv -f "$tmp/$b" "$BIN_DIR/"; done
echo "$stamp" >"$BIN_DIR/.stamp"
echo "build-kube: done in $(( $(date +%s) - started )) s" >&2
echo "$BIN_DIR"
