import { renderScriptFile } from "./scriptFiles";
import { sentinelTiming } from "./sentinelTiming";
import { MANAGED_TILE38_KEYS } from "./tile38Config";
import { endpointList, Topology } from "./topology";

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

function settings(topo: Topology): Record<string, string | number> {
    return {
        MASTER_NAME: topo.masterName,
        SENTINELS: endpointList(topo.sentinels),
        TILE38_NODES: endpointList(topo.nodes),
        REPLICA_PRIORITY: topo.replicaPriority,
        STARTUP_TIMEOUT: topo.startupTimeoutSeconds,
        FAILOVER_TIMEOUT_MS: topo.failoverTimeoutMilliseconds,
        HANDOVER_SYNC_SECONDS: topo.handoverSyncSeconds,
        FENCE_AFTER_MS: topo.fenceAfterMilliseconds,
        SENTINEL_TIMING: sentinelTiming(topo),
        AOF_COMPACT_RATIO: topo.aofCompactionRatio,
        AOF_COMPACT_MIN_BYTES: topo.aofCompactionMinBytes,
        MAXMEMORY: topo.maxMemory ?? "",
        MANAGED_KEYS: MANAGED_TILE38_KEYS.join(" "),
    };
}

/**
 * The start script of every Tile38 node (`scripts/tile38-start.sh`; one script for all nodes,
 * identity from the environment, see {@link TILE38_SCRIPT_ENV}). It asks the sentinels who leads
 * and follows that node; a node leads only when the sentinels name it, and an empty node leads only
 * when no node holds data. On SIGTERM it hands leadership over before it stops the server; it
 * also hands over when the sentinels name it by an IP address while hosts are names.
 */
export function renderTile38StartScript(topo: Topology): string {
    return renderScriptFile("tile38-start.sh", settings(topo));
}

/**
 * The planned-stop script (`scripts/tile38-stop.sh`): the Kubernetes preStop hook, and what
 * `npm run failover` runs in every node: the leader hands over without losing a write.
 */
export function renderTile38StopScript(topo: Topology): string {
    const s = settings(topo);
    return renderScriptFile("tile38-stop.sh", {
        MASTER_NAME: s.MASTER_NAME,
        SENTINELS: s.SENTINELS,
        TILE38_NODES: s.TILE38_NODES,
        FAILOVER_TIMEOUT_MS: s.FAILOVER_TIMEOUT_MS,
        HANDOVER_SYNC_SECONDS: s.HANDOVER_SYNC_SECONDS,
    });
}

/** The start script's ready mark in the data directory (see tile38-start.sh, `READY_MARK`). */
export const TILE38_READY_MARK = ".tile38-ha-ready";

/**
 * The Tile38 node's health check (Docker) and readiness probe (Kubernetes), for the node's shell:
 * HEALTHZ (serving; a follower caught up; no password needed) and the start script's ready mark
 * (leading and writable, or its AOF checked against its leader's and the sentinels able to promote
 * it). Rollouts move to the next node only once it passes. busybox `wget -T` crashes: the
 * caller's own timeout bounds it.
 */
export function tile38ReadyCommand(host: string, port: number, dataDir: string): string {
    return `wget -q -O /dev/null http://${host}:${port}/healthz && test -f ${dataDir}/${TILE38_READY_MARK} || exit 1`;
}
