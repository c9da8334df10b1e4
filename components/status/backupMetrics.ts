/**
 * The backup agents' records read from their Prometheus metrics (`/metrics` of each agent, see
 * docs/monitoring.md): what `status` shows of the backups wherever the agents' metrics port is
 * reachable (a remote Docker engine, a `kubectl port-forward`), without `docker exec`.
 */
import { BackupRecord, StatusEndpoint } from "./clusterStatus";

/** `name{node="…"} value` lines of tile38-ha's own metrics, by node then name. */
export function parseAgentMetrics(text: string): Map<string, Record<string, number>> {
    const byNode = new Map<string, Record<string, number>>();
    for (const line of text.split("\n")) {
        const m = /^(tile38_ha_\w+)\{node="([^"]*)"\} (\S+)$/.exec(line.trim());
        if (!m) continue;
        const values = byNode.get(m[2]) ?? {};
        values[m[1]] = Number(m[3]);
        byNode.set(m[2], values);
    }
    return byNode;
}

/** One agent's record from its metrics. */
export function recordFromMetrics(node: string, v: Record<string, number>): BackupRecord {
    return {
        node,
        role: v.tile38_ha_backup_uploader === 0 ? "follower" : "leader",
        last_ok_epoch: v.tile38_ha_backup_last_success_timestamp_seconds ?? 0,
        last_ok_size: v.tile38_ha_backup_last_size_bytes ?? 0,
        failures_since_ok: v.tile38_ha_backup_failures_since_success ?? 0,
        last_attempt_epoch: v.tile38_ha_backup_last_attempt_timestamp_seconds ?? 0,
        started_epoch: v.tile38_ha_backup_agent_start_timestamp_seconds ?? 0,
        interval: v.tile38_ha_backup_interval_seconds ?? 0,
    };
}

/** The records of every agent that answers (each bounded by `timeoutMs`); one that does not is left out. */
export async function backupRecordsFromMetrics(agents: StatusEndpoint[], timeoutMs = 3000): Promise<BackupRecord[]> {
    const read = async (a: StatusEndpoint): Promise<BackupRecord[]> => {
        try {
            const res = await fetch(`http://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
            if (!res.ok) return [];
            return [...parseAgentMetrics(await res.text())].filter(([, v]) => v.tile38_ha_backup_interval_seconds !== undefined).map(([node, v]) => recordFromMetrics(node, v));
        } catch {
            return [];
        }
    };
    return (await Promise.all(agents.map(read))).flat();
}
