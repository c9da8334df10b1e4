/**
 * Which alerts of one cluster went pending or firing during a drill, and when: the active alerts
 * sampled every 250 ms from a live Prometheus (testing/fixtures/prometheus.ts).
 */
import { Sampler } from "./sampler";
import { TILE38_HA_RULE_GROUPS } from "../../components/monitoring/alertRules";
import { ActiveAlert, RealPrometheus } from "../fixtures/prometheus";

/** When an alert was first and last seen active (pending or firing), ms since the epoch. */
export interface AlertSighting {
    firstSeen: number;
    lastSeen: number;
    /** When it was first seen firing, if it was. */
    firstFiring?: number;
    /** The first sample without it after it was last seen; undefined while it is active. */
    resolvedAt?: number;
    states: Set<ActiveAlert["state"]>;
}

/** Samples the active alerts of cluster `cluster` every 250 ms until {@link stop}. */
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
            if (a.state === "firing") s.firstFiring ??= now;
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

/** `name (pending/firing), …` of what was seen, or "none". */
export function describeSightings(seen: Map<string, AlertSighting>): string {
    return [...seen.entries()].map(([name, a]) => `${name} (${[...a.states].join("/")})`).join(", ") || "none";
}

/** The `for` of a shipped alert, in ms (0 when it has none). */
export function shippedAlertForMs(name: string): number {
    const rule = TILE38_HA_RULE_GROUPS.flatMap((g) => g.rules).find((r) => r.alert === name);
    if (!rule) throw new Error(`no shipped alert ${name}`);
    const m = /^(\d+)(s|m)$/.exec(rule.for ?? "0s");
    if (!m) throw new Error(`alert ${name}: cannot read for ${rule.for}`);
    return Number(m[1]) * (m[2] === "m" ? 60_000 : 1000);
}
