import { renderScriptFile } from "./scriptFiles";
import { endpointList, Topology } from "./topology";

/**
 * Environment a sentinel start script reads:
 * - `SELF`: this sentinel's advertised `host:port` (required; excluded when asking peers).
 * - `SENTINEL_TEMPLATE`: path of this sentinel's rendered `sentinel.conf` (required).
 * - `DATA_DIR`: its own writable volume (default /data). `REDIS_BIN`: default redis-server.
 * - `TILE38_PASSWORD`, `SENTINEL_PASSWORD`: appended as auth lines (never rendered into files
 *   that Pulumi stores).
 */
export const SENTINEL_SCRIPT_ENV = ["SELF", "SENTINEL_TEMPLATE", "DATA_DIR", "REDIS_BIN", "TILE38_PASSWORD", "SENTINEL_PASSWORD"] as const;

/**
 * The start script of every sentinel (`scripts/sentinel-start.sh`). It builds the sentinel's own
 * writable `sentinel.conf` from its rendered template, monitoring the leader its running peers name,
 * and runs a watchdog beside the sentinel that re-monitors the leader its peers agree on when this
 * sentinel is left naming a node that does not lead (Tile38 replicas never report
 * `master_link_status`, which can strand the sentinel that led the previous failover) and, when
 * hosts are names, resets the sentinel when it has learned a replica by IP address.
 */
export function renderSentinelStartScript(topo: Topology): string {
    return renderScriptFile("sentinel-start.sh", {
        MASTER_NAME: topo.masterName,
        SENTINELS: endpointList(topo.sentinels),
        TILE38_NODES: endpointList(topo.nodes),
        QUORUM: topo.quorum,
        DOWN_AFTER_MS: topo.downAfterMilliseconds,
        FAILOVER_TIMEOUT_MS: topo.failoverTimeoutMilliseconds,
        PARALLEL_SYNCS: topo.parallelSyncs,
        WATCHDOG_STRIKES: watchdogStrikes(topo.downAfterMilliseconds),
    });
}

/**
 * Seconds (one check a second) a sentinel must disagree with all its answering peers, naming a
 * node that does not lead while theirs does, before its watchdog re-monitors their leader: the
 * down-after time, at least 3 s. A normal failover's stragglers catch up through Sentinel's
 * hello messages (every 2 s) well before that.
 */
export function watchdogStrikes(downAfterMilliseconds: number): number {
    return Math.max(3, Math.ceil(downAfterMilliseconds / 1000));
}

/**
 * The Docker health check of every sentinel (`scripts/sentinel-health.sh`): it answers and knows
 * every peer, or the master is down (a new cluster). It paces a rollout of the sentinels.
 * Reads `SELF` (host:port to dial from inside the container) and `SENTINEL_PASSWORD`.
 */
export function renderSentinelHealthScript(topo: Topology): string {
    return renderScriptFile("sentinel-health.sh", { MASTER_NAME: topo.masterName, SENTINELS: endpointList(topo.sentinels) });
}
