/**
 * The live check of the metrics on the real node: a real Prometheus (testing/prometheus.ts) on
 * this machine scraping every metrics port of the deployed pods at their pod IPs (the host
 * reaches them through the cluster's bridge, where the node address is the pods' gateway), with
 * the shipped rule file, labelled as the PodMonitor labels them (`tile38_ha_component`,
 * `tile38_ha_cluster`, `node` = the pod). The test cluster's bridge CNI enforces no
 * NetworkPolicy: who may scrape is the unit tests' part.
 */
import * as path from "path";
import { renderBackupAgentScript } from "../../../components/render/backupScripts";
import { ActiveAlert, RealPrometheus, ScrapeTarget } from "../../../testing/prometheus";
import { Sampler } from "../../integration/harness/sampler";
import { KubeStack } from "./kubeStack";

/** Prometheus' API port (the suite's range 28170-28179). */
export const PROMETHEUS_PORT = 28170;
/** Scrape and rule evaluation interval, s. */
export const SCRAPE_INTERVAL_S = 1;
/** The shipped rule file. */
export const RULE_FILE = path.join(__dirname, "../../../monitoring/tile38-ha.rules.yml");
/** The stack's metrics ports (the defaults: `tile38.metricsPort`, `metrics.backupPort`, `metrics.sentinelExporterPort`). */
export const METRICS_PORTS = { tile38: 4321, backup: 9141, sentinel: 9121 } as const;

/** The cluster's name, the `tile38_ha_cluster` label: the stack program names its component `tile38-ha-<stack>`. */
export function clusterName(s: KubeStack): string {
    return `tile38-ha-${s.stack.name}`;
}

/**
 * Whether this tree's backup agent serves metrics at all (its script reads
 * `BACKUP_METRICS_PORT`); until it does, its port is set but nothing answers there.
 */
export function backupAgentServesMetrics(): boolean {
    return renderBackupAgentScript({ intervalSeconds: 10, refreshSeconds: 60 }).includes("BACKUP_METRICS_PORT");
}

/** Every metrics endpoint of the stack's pods at their current pod IPs. */
export function podTargets(s: KubeStack, opts: { backups: boolean }): ScrapeTarget[] {
    const states = s.checks.podStates();
    const cluster = clusterName(s);
    const at = (pod: string, port: number) => {
        const ip = states.get(pod)?.ip;
        if (!ip) throw new Error(`pod ${pod} has no IP`);
        return `${ip}:${port}`;
    };
    return [
        ...s.checks.nodes.flatMap((n) => [
            { component: "tile38" as const, cluster, address: at(n.name, METRICS_PORTS.tile38), labels: { node: n.name } },
            ...(opts.backups ? [{ component: "backup" as const, cluster, address: at(n.name, METRICS_PORTS.backup), labels: { node: n.name } }] : []),
        ]),
        ...s.checks.sentinels.map((x) => ({ component: "sentinel" as const, cluster, address: at(x.name, METRICS_PORTS.sentinel), labels: { node: x.name } })),
    ];
}

/** When an alert was first and last seen active (pending or firing), ms since the epoch. */
export interface AlertSighting {
    firstSeen: number;
    lastSeen: number;
    /** The first sample without it after it was last seen; undefined while it is active. */
    resolvedAt?: number;
    states: Set<ActiveAlert["state"]>;
}

/** Samples the active alerts every 250 ms: which ones went pending or firing, and when. */
export class AlertWatch {
    readonly seen = new Map<string, AlertSighting>();
    private readonly sampler: Sampler<void>;

    constructor(
        private readonly prom: RealPrometheus,
        private readonly cluster: string,
    ) {
        this.sampler = new Sampler(() => this.sample(), 250);
    }

    private async sample(): Promise<void> {
        const now = Date.now();
        const active = (await this.prom.alerts()).filter((a) => a.labels.tile38_ha_cluster === this.cluster);
        for (const a of active) {
            const s = this.seen.get(a.name) ?? { firstSeen: now, lastSeen: now, states: new Set() };
            s.lastSeen = now;
            s.resolvedAt = undefined;
            s.states.add(a.state);
            this.seen.set(a.name, s);
        }
        for (const [name, s] of this.seen) if (s.resolvedAt === undefined && !active.some((a) => a.name === name)) s.resolvedAt = now;
    }

    /** Stops sampling after one last sample (so an alert seen inactive just before counts as resolved). */
    async stop(): Promise<Map<string, AlertSighting>> {
        await this.sampler.stop();
        await this.sample().catch(() => undefined);
        return this.seen;
    }
}

/** What the metrics say of the cluster: every target's `up`, each node's role, each sentinel's leader. */
export interface MetricsView {
    /** `component/node` → `up`. */
    up: Record<string, number>;
    /** Node → `role` (and `following`) of its `tile38_replication_info` series. */
    roles: Record<string, string>;
    /** Sentinel → the leader address its exporter reports with status ok. */
    sentinelLeaders: Record<string, string>;
}

/** The metrics' view of cluster `cluster` now. */
export async function metricsView(prom: RealPrometheus, cluster: string): Promise<MetricsView> {
    const sel = `tile38_ha_cluster="${cluster}"`;
    const by = <T>(samples: { metric: Record<string, string>; value: number }[], key: (m: Record<string, string>) => string, value: (s: { metric: Record<string, string>; value: number }) => T) =>
        Object.fromEntries(samples.map((s) => [key(s.metric), value(s)]));
    return {
        up: by(await prom.query(`up{${sel}}`), (m) => `${m.tile38_ha_component}/${m.node}`, (s) => s.value),
        // Prometheus drops empty labels: a leader's series has no `following`.
        roles: by(await prom.query(`tile38_replication_info{${sel}} == 1`), (m) => m.node, (s) => (s.metric.role === "follower" ? `follower of ${s.metric.following ?? "?"}` : s.metric.role)),
        sentinelLeaders: by(await prom.query(`redis_sentinel_master_status{${sel}} == 1`), (m) => m.node, (s) => s.metric.master_address),
    };
}

/** The view the metrics must show of a healthy cluster led by `leader` (the suite's own truth). */
export function expectedView(s: KubeStack, targets: ScrapeTarget[], leader: { name: string }): MetricsView {
    const leaderEndpoint = s.checks.endpoint(s.checks.nodes.find((n) => n.name === leader.name)!);
    return {
        up: Object.fromEntries(targets.map((t) => [`${t.component}/${t.labels?.node}`, 1])),
        roles: Object.fromEntries(s.checks.nodes.map((n) => [n.name, n.name === leader.name ? "leader" : `follower of ${leaderEndpoint}`])),
        sentinelLeaders: Object.fromEntries(s.checks.sentinels.map((x) => [x.name, leaderEndpoint])),
    };
}
