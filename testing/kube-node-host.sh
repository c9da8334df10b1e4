#!/usr/bin/env bash
# The machine-wide side of the single-node test cluster (testing/kubeCluster.ts), in one place so
# that a crashed run can be cleaned up by hand too:
#   kube-node-host.sh setup STATE_DIR BRIDGE GATEWAY_CIDR
#     records the sysctls the kubelet and the CNI bridge change, creates the bridge with the node's
#     address (the kubelet's --node-ip), and keeps pod traffic on it (no forwarding to or from any
#     other interface: pods reach each other, the node address and Service IPs, nothing else).
#   kube-node-host.sh teardown STATE_DIR BRIDGE WORK_DIR
#     kills whatever still runs in the pods' cgroups, unmounts everything under WORK_DIR, deletes
#     the pods' network namespaces, the bridge, the iptables chains kube-proxy, the kubelet and
#     setup added, the pods' cgroups and the directories the kubelet and libcni write outside
#     WORK_DIR, and restores the recorded sysctls. Idempotent; never fails on what is already gone.
set -uo pipefail

SYSCTLS="vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward"
ISOLATE=T38K8S-ISOLATE
BRIDGE_MAC=02:74:33:38:6b:01
# Directories outside WORK_DIR that the kubelet (device plugins, container logs) and libcni (IPAM,
# cache) create.
HOST_DIRS="/var/lib/kubelet /var/lib/cni /var/log/pods /var/log/containers"

cmd=${1:?usage: kube-node-host.sh setup|teardown STATE_DIR BRIDGE ...}
state=${2:?state directory}
bridge=${3:?bridge name}

setup() {
  local gateway_cidr=${1:?gateway address/prefix}
  mkdir -p "$state"
  if [ ! -f "$state/sysctls" ]; then
    local s
    for s in $SYSCTLS; do echo "$s=$(sysctl -n "$s")"; done >"$state/sysctls.tmp"
    mv "$state/sysctls.tmp" "$state/sysctls"
    local d
    for d in $HOST_DIRS; do [ -e "$d" ] || echo "$d"; done >"$state/created-dirs"
  fi
  ip link add "$bridge" type bridge 2>/dev/null || true
  # A fixed MAC: a bridge without one takes the lowest MAC of its ports, so it changes whenever a
  # pod's veth comes or goes, and the pods' ARP entries for the node address (CoreDNS, here) go
  # stale: DNS lookups then hang for seconds, and Sentinel resolves names synchronously (measured:
  # no sentinel answered for 2.5 s after a pod deletion, and one failover took 18 s).
  ip link set "$bridge" address "$BRIDGE_MAC"
  ip addr replace "$gateway_cidr" dev "$bridge"
  ip link set "$bridge" up
  iptables -w -N "$ISOLATE" 2>/dev/null || iptables -w -F "$ISOLATE"
  iptables -w -A "$ISOLATE" -i "$bridge" ! -o "$bridge" -j DROP
  iptables -w -A "$ISOLATE" -o "$bridge" ! -i "$bridge" -j DROP
  iptables -w -C FORWARD -j "$ISOLATE" 2>/dev/null || iptables -w -I FORWARD 1 -j "$ISOLATE"
}

# remove_chains TABLE PATTERN: deletes every rule that jumps to a chain matching PATTERN, then the chains.
remove_chains() {
  local table=$1 pattern=$2 rule chain
  iptables -w -t "$table" -S 2>/dev/null | grep -E -- "-j ($pattern)" | grep '^-A ' | while read -r rule; do
    # shellcheck disable=SC2086 # the rule is a list of iptables words
    iptables -w -t "$table" ${rule/-A/-D} 2>/dev/null || true
  done
  for chain in $(iptables -w -t "$table" -S 2>/dev/null | awk '$1 == "-N" {print $2}' | grep -E "^($pattern)$"); do
    iptables -w -t "$table" -F "$chain" 2>/dev/null || true
  done
  for chain in $(iptables -w -t "$table" -S 2>/dev/null | awk '$1 == "-N" {print $2}' | grep -E "^($pattern)$"); do
    iptables -w -t "$table" -X "$chain" 2>/dev/null || true
  done
}

# pod_cgroups: every kubepods cgroup directory, deepest first.
pod_cgroups() {
  find /sys/fs/cgroup -depth -type d -name 'kubepods*' 2>/dev/null | while read -r top; do
    find "$top" -depth -type d
  done | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

# mounts_under PREFIX: mount points under PREFIX, deepest first.
mounts_under() {
  awk -v w="$1" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r
}

# kill_cgroup DIR: SIGKILL to every process in one cgroup.
kill_cgroup() {
  local pid
  while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$1/cgroup.procs"
}

teardown() {
  local work=${1:?work directory}
  local dir pid m n s
  # 1. Nothing of a pod may outlive the cluster: SIGKILL every process in a pod cgroup (twice:
  #    a dying shim may fork).
  for _ in 1 2; do
    for dir in $(pod_cgroups); do
      kill_cgroup "$dir" 2>/dev/null
    done
    sleep 0.3
  done
  # containerd shims of this cluster (their -address names a socket in WORK_DIR).
  pgrep -f "containerd-shim.*-address $work/" | while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done
  # 2. Mounts under the work directory (overlay roots, shm, volumes, netns), deepest first.
  mounts_under "$work/" | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  { mounts_under /run/netns/cni-; mounts_under /var/run/netns/cni-; } | while read -r m; do
    n=${m##*/}
    ip netns delete "$n" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  # 3. Network: the bridge, the isolation chain, kube-proxy's and the kubelet's chains.
  ip link del "$bridge" 2>/dev/null || true
  iptables -w -D FORWARD -j "$ISOLATE" 2>/dev/null || true
  iptables -w -F "$ISOLATE" 2>/dev/null || true
  iptables -w -X "$ISOLATE" 2>/dev/null || true
  for table in filter nat mangle; do remove_chains "$table" 'KUBE-[A-Z0-9-]+'; done
  # 4. Cgroups (empty now), host directories the cluster created, sysctls.
  for dir in $(pod_cgroups); do rmdir "$dir" 2>/dev/null || true; done
  if [ -f "$state/created-dirs" ]; then
    while read -r dir; do
      [ -n "$dir" ] || continue
      mounts_under "$dir/" | while read -r m; do umount -l "$m" 2>/dev/null || true; done
      rm -rf "$dir"
    done <"$state/created-dirs"
  fi
  if [ -f "$state/sysctls" ]; then
    while IFS= read -r s; do sysctl -qw "$s" >/dev/null 2>&1 || true; done <"$state/sysctls"
  fi
  rm -rf "$state"
}

case "$cmd" in
  setup) setup "${4:-}" ;;
  teardown) teardown "${4:-}" ;;
  *) echo "kube-node-host: unknown command $cmd" >&2; exit 2 ;;
esac
