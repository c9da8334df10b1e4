import { MANAGED_TILE38_KEYS, WRITE_TILE38_CONFIG } from "./tile38Config";
import { endpointList, Topology } from "./topology";
import { shellAssignments, SHELL_LIBRARY } from "./shell";

/**
 * Environment a Tile38 start script reads (set per container or pod):
 * - `NODE_HOST`, `NODE_PORT`: this node's advertised name/address and port (required).
 * - `NODE_BIND`: listen address (default 0.0.0.0). `DATA_DIR`: data volume (default /data).
 * - `TILE38_PASSWORD` (required), `SENTINEL_PASSWORD` (empty = sentinels without auth).
 * - `METRICS_PORT`: Prometheus port (optional). `TILE38_BIN`: server binary (default tile38-server).
 * - `TILE38_RESTORE_CMD`: optional command run with DATA_DIR before an empty node becomes the
 *   leader of a cluster in which no node holds data (total loss): it may restore a backup.
 */
export const TILE38_SCRIPT_ENV = ["NODE_HOST", "NODE_PORT", "NODE_BIND", "DATA_DIR", "TILE38_PASSWORD", "SENTINEL_PASSWORD", "METRICS_PORT", "TILE38_BIN", "TILE38_RESTORE_CMD"] as const;

function settings(topo: Topology): string {
    return shellAssignments({
        MASTER_NAME: topo.masterName,
        SENTINELS: endpointList(topo.sentinels),
        TILE38_NODES: endpointList(topo.nodes),
        REPLICA_PRIORITY: topo.replicaPriority,
        STARTUP_TIMEOUT: topo.startupTimeoutSeconds,
        FAILOVER_TIMEOUT_MS: topo.failoverTimeoutMilliseconds,
        MAXMEMORY: topo.maxMemory ?? "",
        MANAGED_KEYS: MANAGED_TILE38_KEYS.join(" "),
    });
}

const COMMON_ENV = String.raw`
export LC_ALL=C
: "${"$"}{NODE_HOST:?NODE_HOST must be set}" "${"$"}{NODE_PORT:?NODE_PORT must be set}"
: "${"$"}{TILE38_PASSWORD:?TILE38_PASSWORD must be set}"
NODE_BIND=${"$"}{NODE_BIND:-0.0.0.0}
DATA_DIR=${"$"}{DATA_DIR:-/data}
SENTINEL_PASSWORD=${"$"}{SENTINEL_PASSWORD:-}
TILE38_BIN=${"$"}{TILE38_BIN:-tile38-server}
LOG_TAG="tile38-ha[$NODE_HOST:$NODE_PORT]"
# Address to reach this node from inside its own container.
case "$NODE_BIND" in 0.0.0.0|::|'') LOCAL_HOST=127.0.0.1 ;; *) LOCAL_HOST=$NODE_BIND ;; esac
`;

/** Shell functions that ask Tile38 nodes about themselves. */
const TILE38_QUERIES = String.raw`
# node_call HOST:PORT CMD... against a Tile38 node with the cluster password.
node_call() { rcall "${"$"}{1%:*}" "${"$"}{1##*:}" "$TILE38_PASSWORD" "$@"; }
node_call_self() { rcall "$LOCAL_HOST" "$NODE_PORT" "$TILE38_PASSWORD" "$@"; }

has_local_data() { [ -s "$DATA_DIR/appendonly.aof" ]; }

# True when another node reports a non-empty AOF, or a sentinel knows a replica with a
# replication offset above 0: then this cluster is not new, and an empty node must not lead.
others_have_data() {
  for _n in $TILE38_NODES; do
    [ "$_n" = "$NODE_HOST:$NODE_PORT" ] && continue
    _size=$(node_call "$_n" OUTPUT json SERVER | sed -n 's/.*"aof_size":\([0-9][0-9]*\).*/\1/p' | head -n 1)
    if [ -n "$_size" ] && [ "$_size" -gt 0 ]; then log "node $_n holds $_size bytes of AOF"; return 0; fi
  done
  for _s in $SENTINELS; do
    _off=$(rcall "${"$"}{_s%:*}" "${"$"}{_s##*:}" "$SENTINEL_PASSWORD" SENTINEL REPLICAS "$MASTER_NAME" |
      awk 'want && /^\$/ { next } want { if ($0 + 0 > max) max = $0 + 0; want = 0; next } $0 == "slave-repl-offset" { want = 1 } END { print max + 0 }')
    if [ "${"$"}{_off:-0}" -gt 0 ]; then log "sentinel $_s knows a replica at offset $_off"; return 0; fi
  done
  return 1
}
`;

const START_MAIN = String.raw`
start_server() {
  # Keep promotion eligibility in step with replication state for the node's whole life.
  priority_loop &
  set -- -d "$DATA_DIR" -h "$NODE_BIND" -p "$NODE_PORT" --appendonly yes
  if [ -n "${"$"}{METRICS_PORT:-}" ]; then set -- "$@" --metrics-addr ":$METRICS_PORT"; fi
  exec "$TILE38_BIN" "$@"
}

start_follower() {
  log "starting as a follower of $1:$2 (replica-priority 0 until caught up)"
  write_tile38_config follower "$1" "$2"
  start_server
}

start_leader() {
  log "starting as the leader: $1"
  write_tile38_config leader
  start_server
}

# A follower reports replica-priority 0 until it has caught up with its leader (Tile38 #750),
# and again whenever it falls back (e.g. the old leader resyncing after it was demoted).
priority_loop() {
  _current=""
  while :; do
    sleep 2
    _role=$(node_call_self INFO replication | sed -n 's/^role:\(.*\)$/\1/p')
    [ -n "$_role" ] || continue
    _want=$REPLICA_PRIORITY
    if [ "$_role" != master ]; then
      case "$(node_call_self OUTPUT json SERVER)" in *'"caught_up":true'*) ;; *) _want=0 ;; esac
    fi
    [ "$_want" = "$_current" ] && continue
    if node_call_self CONFIG SET replica-priority "$_want" | grep -qE '^\+OK|"ok":true'; then
      node_call_self CONFIG REWRITE >/dev/null
      log "replica-priority is now $_want (role $_role)"
      _current=$_want
    fi
  done
}

main() {
  check_password TILE38_PASSWORD "$TILE38_PASSWORD"
  check_password SENTINEL_PASSWORD "$SENTINEL_PASSWORD"
  mkdir -p "$DATA_DIR"
  _deadline=$(( $(date +%s) + STARTUP_TIMEOUT ))
  while :; do
    if _leader=$(leader_from_sentinels); then
      set -- $_leader
      if [ "$1:$2" != "$NODE_HOST:$NODE_PORT" ]; then
        # Follow whoever the sentinels name, whatever the old config says (Tile38 #689).
        start_follower "$1" "$2"
      elif has_local_data; then
        start_leader "the sentinels name this node and it holds data"
      elif ! others_have_data; then
        if [ -n "${"$"}{TILE38_RESTORE_CMD:-}" ]; then
          log "no node holds data: running the restore command"
          sh -c "$TILE38_RESTORE_CMD" || { log "restore failed; exiting to be retried"; exit 1; }
        fi
        start_leader "the sentinels name this node and no node holds data (new cluster or total loss)"
      else
        # An empty node must never lead while others hold data (Tile38 #750): stay down so
        # that the sentinels promote a node that has data, then follow it.
        log "the sentinels name this empty node while other nodes hold data: waiting for a failover"
      fi
    else
      log "no sentinel answered yet"
    fi
    if [ "$(date +%s)" -ge "$_deadline" ]; then
      log "no safe role after ${"$"}{STARTUP_TIMEOUT}s; exiting so that the restart policy retries"
      exit 1
    fi
    sleep 1
  done
}
main
`;

/**
 * The start script of every Tile38 node (one script for all nodes; identity comes from the
 * environment, see {@link TILE38_SCRIPT_ENV}). It asks the sentinels who leads and follows that
 * node; a node leads only when the sentinels name it, and an empty node leads only when no node
 * holds data. It never self-elects without the sentinels.
 */
export function renderTile38StartScript(topo: Topology): string {
    return [
        "#!/bin/sh",
        "# tile38-ha: start one Tile38 node (rendered by components/render/tile38Scripts.ts).",
        "set -eu",
        settings(topo),
        COMMON_ENV,
        SHELL_LIBRARY,
        TILE38_QUERIES,
        WRITE_TILE38_CONFIG,
        START_MAIN,
    ].join("\n");
}

const STOP_MAIN = String.raw`
# Planned stop: if this node leads, ask a sentinel for a failover and wait (bounded) until the
# sentinels name another leader, so clients move before the process goes away.
main() {
  _role=$(node_call_self INFO replication | sed -n 's/^role:\(.*\)$/\1/p')
  if [ "$_role" != master ]; then log "not the leader (role ${"$"}{_role:-unknown}): nothing to hand over"; exit 0; fi
  _deadline=$(( $(date +%s) + FAILOVER_TIMEOUT_MS / 1000 ))
  _asked=""
  while [ "$(date +%s)" -lt "$_deadline" ]; do
    if _leader=$(leader_from_sentinels); then
      set -- $_leader
      if [ "$1:$2" != "$NODE_HOST:$NODE_PORT" ]; then log "leadership moved to $1:$2"; exit 0; fi
    fi
    if [ -z "$_asked" ]; then
      for _s in $SENTINELS; do
        if rcall "${"$"}{_s%:*}" "${"$"}{_s##*:}" "$SENTINEL_PASSWORD" SENTINEL FAILOVER "$MASTER_NAME" | grep -q '^+OK'; then
          log "sentinel $_s started a failover"; _asked=1; break
        fi
      done
    fi
    sleep 1
  done
  log "leadership did not move within the failover timeout; stopping anyway"
  exit 0
}
main
`;

/** Stop hook for a Tile38 node (Kubernetes preStop): hands leadership over before stopping. */
export function renderTile38StopScript(topo: Topology): string {
    return [
        "#!/bin/sh",
        "# tile38-ha: hand leadership over before a planned stop (rendered by components/render/tile38Scripts.ts).",
        "set -eu",
        settings(topo),
        COMMON_ENV,
        SHELL_LIBRARY,
        TILE38_QUERIES,
        STOP_MAIN,
    ].join("\n");
}
