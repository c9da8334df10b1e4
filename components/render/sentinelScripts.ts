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
 * writable `sentinel.conf` from its rendered template, monitoring the leader its running peers name.
 */
export function renderSentinelStartScript(topo: Topology): string {
    return renderScriptFile("sentinel-start.sh", { MASTER_NAME: topo.masterName, SENTINELS: endpointList(topo.sentinels) });
}
