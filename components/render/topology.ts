import { StackConfig } from "../../config/types";
import { backupMetricsPorts, metricsPorts, sentinelExporterPorts, sentinelPorts, tile38Ports } from "../../config/validate";

/** A host (name or address) and TCP port. */
export interface Endpoint {
    host: string;
    port: number;
}

/** One Tile38 node as the others and the sentinels see it. */
export interface Tile38Node extends Endpoint {
    /** 0-based position; node 0 is the leader of a brand-new cluster. */
    index: number;
    /** Resource/container/pod name. */
    name: string;
    /** Prometheus metrics port, if metrics are on. */
    metricsPort?: number;
    /** Its backup agent's metrics port, if metrics and backups are on. */
    backupMetricsPort?: number;
}

/** One sentinel as its peers and clients see it. */
export interface SentinelNode extends Endpoint {
    index: number;
    name: string;
    /** Its exporter's (redis_exporter) metrics port, if metrics are on. */
    exporterPort?: number;
}

/**
 * Everything the renderers need, target-independent: who is where and the failover settings.
 * Docker: every host is the advertised host address and ports differ. Kubernetes: every host
 * is a pod's stable FQDN and ports are equal.
 */
export interface Topology {
    masterName: string;
    quorum: number;
    downAfterMilliseconds: number;
    parallelSyncs: number;
    failoverTimeoutMilliseconds: number;
    /** Sentinel `resolve-hostnames`/`announce-hostnames`: on whenever hosts are names, not IPs. */
    hostnames: boolean;
    /** Tile38 `maxmemory`, if set. */
    maxMemory?: string;
    /** Priority a caught-up follower reports to Sentinel. */
    replicaPriority: number;
    /** Seconds a planned hand-over waits for the followers to hold the read-only leader's whole AOF. */
    handoverSyncSeconds: number;
    /** Seconds a starting process waits for the sentinels/peers before it exits to be retried. */
    startupTimeoutSeconds: number;
    /** Milliseconds a leader goes without a majority of sentinels confirming it before it turns read-only. */
    fenceAfterMilliseconds: number;
    /** The leader keeps its AOF below this many times its compacted size (0 = never compacts). */
    aofCompactionRatio: number;
    /** ... and only above this many bytes. */
    aofCompactionMinBytes: number;
    nodes: Tile38Node[];
    sentinels: SentinelNode[];
}

/** True for IPv4/IPv6 literals: the Kubernetes target must never contain one. */
export function isIpLiteral(host: string): boolean {
    return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/**
 * Bound on a planned hand-over's wait for the followers (seconds). Followers stream the AOF live,
 * so they are normally there within milliseconds; a follower still behind after this long makes
 * the hand-over give up (writes re-enabled) rather than promote a node that lacks writes.
 */
export const HANDOVER_SYNC_SECONDS = 10;

/** The self-fencing bound: the stack's, else down-after − 1000 ms, at least 1000 ms. */
export function fenceAfterMilliseconds(cfg: StackConfig): number {
    return cfg.tile38.fenceAfterMilliseconds ?? Math.max(1000, cfg.sentinel.downAfterMilliseconds - 1000);
}

function common(cfg: StackConfig): Omit<Topology, "nodes" | "sentinels" | "hostnames"> {
    return {
        masterName: cfg.masterName,
        quorum: cfg.quorum,
        downAfterMilliseconds: cfg.sentinel.downAfterMilliseconds,
        parallelSyncs: cfg.sentinel.parallelSyncs,
        failoverTimeoutMilliseconds: cfg.sentinel.failoverTimeoutMilliseconds,
        maxMemory: cfg.tile38.maxMemory,
        replicaPriority: cfg.tile38.replicaPriority,
        startupTimeoutSeconds: cfg.tile38.startupTimeoutSeconds,
        handoverSyncSeconds: HANDOVER_SYNC_SECONDS,
        fenceAfterMilliseconds: fenceAfterMilliseconds(cfg),
        aofCompactionRatio: cfg.tile38.aofCompactionRatio,
        aofCompactionMinBytes: cfg.tile38.aofCompactionMinMegabytes * 1024 * 1024,
    };
}

/** Docker with host networking: one address (the host's), one port per process. */
export function dockerTopology(cfg: StackConfig): Topology {
    const host = cfg.docker.advertiseHost;
    const t38 = tile38Ports(cfg);
    const metrics = metricsPorts(cfg);
    const backupMetrics = backupMetricsPorts(cfg);
    const exporters = sentinelExporterPorts(cfg);
    return {
        ...common(cfg),
        hostnames: !isIpLiteral(host),
        nodes: t38.map((port, index) => ({ index, port, host, name: `${cfg.docker.namePrefix}-tile38-${index + 1}`, metricsPort: metrics[index], backupMetricsPort: backupMetrics[index] })),
        sentinels: sentinelPorts(cfg).map((port, index) => ({ index, port, host, name: `${cfg.docker.namePrefix}-sentinel-${index + 1}`, exporterPort: exporters[index] })),
    };
}

/** Names of the StatefulSets and their headless Services (part of every pod's FQDN), shared by the renderers and the Kubernetes components. */
export function kubernetesSetNames(prefix: string) {
    return {
        tile38: `${prefix}tile38`,
        tile38Headless: `${prefix}tile38-headless`,
        sentinel: `${prefix}sentinel`,
        sentinelHeadless: `${prefix}sentinel-headless`,
    };
}

/** The set names of a stack-config cluster (no prefix). */
export const K8S_NAMES = kubernetesSetNames("");

/** Stable FQDN of pod `<set>-<i>` behind headless Service `svc`. */
export function podFqdn(set: string, index: number, svc: string, namespace: string, clusterDomain: string): string {
    return `${set}-${index}.${svc}.${namespace}.svc.${clusterDomain}`;
}

/** Kubernetes StatefulSets: every process has a stable DNS name and the same port. */
export function kubernetesTopology(cfg: StackConfig): Topology {
    const { namespace, clusterDomain } = cfg.kubernetes;
    const names = kubernetesSetNames(cfg.kubernetes.namePrefix);
    return {
        ...common(cfg),
        hostnames: true,
        nodes: Array.from({ length: cfg.replicas }, (_, index) => ({
            index,
            port: cfg.tile38.port,
            host: podFqdn(names.tile38, index, names.tile38Headless, namespace, clusterDomain),
            name: `${names.tile38}-${index}`,
            metricsPort: metricsPorts(cfg)[0],
            backupMetricsPort: backupMetricsPorts(cfg)[0],
        })),
        sentinels: Array.from({ length: cfg.sentinels }, (_, index) => ({
            index,
            port: cfg.sentinel.port,
            host: podFqdn(names.sentinel, index, names.sentinelHeadless, namespace, clusterDomain),
            name: `${names.sentinel}-${index}`,
            exporterPort: sentinelExporterPorts(cfg)[0],
        })),
    };
}

/** `host:port` list, space-separated, as the start scripts read it. */
export function endpointList(endpoints: Endpoint[]): string {
    return endpoints.map((e) => `${e.host}:${e.port}`).join(" ");
}
