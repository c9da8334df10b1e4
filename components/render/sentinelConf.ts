import { Endpoint, SentinelNode, Topology } from "./topology";

/** Passwords as the sentinel needs them; only tests pass real values (see {@link renderSentinelAuth}). */
export interface SentinelAuth {
    /** Tile38's `requirepass` (Sentinel's `auth-pass` for the monitored set). */
    tile38Password: string;
    /** The sentinels' own `requirepass`, also used between sentinels (`sentinel-pass`). */
    sentinelPassword: string;
}

/**
 * The static part of one sentinel's `sentinel.conf`: where it listens, how it announces
 * itself, what it monitors and the failover timings. No secrets: the start script appends
 * the auth lines from the environment and restores the sentinel's own id and epoch.
 * Every sentinel gets a file of its own, written at start into its own volume, because
 * Sentinel rewrites its config and a shared copy would make several sentinels share one id.
 */
export function renderSentinelConf(sentinel: SentinelNode, topo: Topology, leader: Endpoint, bind: string): string {
    const m = topo.masterName;
    const lines = [
        `# tile38-ha sentinel ${sentinel.index + 1} (${sentinel.name}); rendered by components/render/sentinelConf.ts`,
        `port ${sentinel.port}`,
        `bind ${bind}`,
        "daemonize no",
        'logfile ""',
        "dir /tmp",
        // Names, not IPs: resolve and announce hostnames (Sentinel >= 6.2; failover fixes in 7.0.8).
        ...(topo.hostnames ? ["sentinel resolve-hostnames yes", "sentinel announce-hostnames yes"] : []),
        `sentinel announce-ip ${sentinel.host}`,
        `sentinel announce-port ${sentinel.port}`,
        "sentinel deny-scripts-reconfig yes",
        `sentinel monitor ${m} ${leader.host} ${leader.port} ${topo.quorum}`,
        `sentinel down-after-milliseconds ${m} ${topo.downAfterMilliseconds}`,
        `sentinel parallel-syncs ${m} ${topo.parallelSyncs}`,
        `sentinel failover-timeout ${m} ${topo.failoverTimeoutMilliseconds}`,
    ];
    return lines.join("\n") + "\n";
}

/**
 * The auth lines the start script appends: the sentinel's own password, the password it uses
 * with its peers, and the Tile38 password it authenticates with.
 */
export function renderSentinelAuth(masterName: string, auth: SentinelAuth): string {
    return [`requirepass ${auth.sentinelPassword}`, `sentinel sentinel-pass ${auth.sentinelPassword}`, `sentinel auth-pass ${masterName} ${auth.tile38Password}`].join("\n") + "\n";
}
