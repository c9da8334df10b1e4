/**
 * The `kubernetes` target's cluster in the pod simulator: the rendered StatefulSets' pods
 * (podSim.ts) plus a client pod (clientPod.ts) through which every check reaches the pods by
 * name. The same health definition as the Docker cluster's (cluster.ts), with pod FQDNs.
 */
import { ClientPod } from "./clientPod";
import { Health, waitUntilHealthy } from "./cluster";
import { K8sObjects, loadK8sObjects } from "./k8sObjects";
import { NodeStatus, nodeStatusCommands, parseNodeStatus } from "../../../components/status/nodeStatus";
import { PodKind, PodSimulator, SimPod } from "./podSim";
import { describeDifference, parseCollection, sameCollection, scanCommand } from "./points";
import { waitFor } from "./wait";
import { pairs, RespValue } from "../../../components/status/resp";

/** Any IPv4 literal, or an IPv6 literal of two or more groups (`::` alone, a wildcard, is none). */
const IPV4 = /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])/;
const IPV6 = /(?<![\w:.-])(?:[0-9a-f]{1,4}:){1,7}:?[0-9a-f]{1,4}(?![\w:])/i;

/** The lines of `text` that hold an IP literal (a sentinel's `bind * -::*` wildcards are not addresses). */
export function ipLiteralLines(text: string): string[] {
    return text.split("\n").filter((l) => IPV4.test(l) || IPV6.test(l.replace(/^bind .*/, "")));
}

/** A pod of one of the two StatefulSets, as the checks see it. */
export interface StatefulPod {
    name: string;
    kind: PodKind;
    /** `<statefulset>-<i>.<headless service>.<namespace>.svc.<cluster domain>`. */
    fqdn: string;
}

/** What the checks need to know about the stack's objects. */
export interface StackFacts {
    masterName: string;
    tile38Port: number;
    sentinelPort: number;
    passwords: { tile38: string; sentinel: string };
}

/** The facts of a rendered stack (its objects under mocks). */
export function stackFacts(o: K8sObjects): StackFacts {
    const env = (name: string, set = o.tile38) => set.main.env.find((e) => e.name === name)?.value;
    const sentinelConf = o.configMap[`${o.sentinel.name}-0.conf`] ?? "";
    return {
        tile38Port: Number(env("NODE_PORT")),
        sentinelPort: Number(env("SELF", o.sentinel)?.split(":").pop()),
        masterName: /^sentinel monitor (\S+) /m.exec(sentinelConf)?.[1] ?? "mymaster",
        passwords: { tile38: o.secret["tile38-password"], sentinel: o.secret["sentinel-password"] },
    };
}

/**
 * The `kubernetes` target's checks, whatever runs the pods (the pod simulator or a real kubelet):
 * every call goes through the client pod, so every name is resolved by the cluster's DNS.
 */
export abstract class StatefulSetChecks<P extends StatefulPod> {
    readonly masterName: string;
    readonly tile38Port: number;
    readonly sentinelPort: number;
    readonly passwords: { tile38: string; sentinel: string };

    protected constructor(facts: StackFacts, readonly client: ClientPod) {
        this.masterName = facts.masterName;
        this.tile38Port = facts.tile38Port;
        this.sentinelPort = facts.sentinelPort;
        this.passwords = facts.passwords;
    }

    /** Pods of one kind, by index. */
    protected abstract podsOf(kind: PodKind): P[];
    /** True while pod `p` runs (as of the last {@link refresh}). */
    abstract running(p: P): boolean;
    /** Brings what {@link running} knows up to date (a real cluster asks its API server). */
    async refresh(): Promise<void> {
        /* the simulator always knows */
    }

    get nodes(): P[] {
        return this.podsOf("tile38");
    }

    get sentinels(): P[] {
        return this.podsOf("sentinel");
    }

    endpoint(p: P): string {
        return `${p.fqdn}:${p.kind === "tile38" ? this.tile38Port : this.sentinelPort}`;
    }

    /** Tile38 pod whose `host:port` this is, or undefined. */
    nodeAt(endpoint: string | undefined): P | undefined {
        return this.nodes.find((n) => this.endpoint(n) === endpoint);
    }

    async nodeCall(p: P, args: (string | number)[], timeoutMs = 2000): Promise<RespValue> {
        return this.client.call(p.fqdn, this.tile38Port, args, this.passwords.tile38, timeoutMs);
    }

    async sentinelCall(p: P, args: (string | number)[], timeoutMs = 2000): Promise<RespValue> {
        return this.client.call(p.fqdn, this.sentinelPort, args, this.passwords.sentinel, timeoutMs);
    }

    /** What Tile38 pod `p` reports, or undefined when it does not answer. */
    async nodeStatus(p: P): Promise<NodeStatus | undefined> {
        try {
            return parseNodeStatus(await this.client.pipeline(p.fqdn, this.tile38Port, nodeStatusCommands(this.passwords.tile38), 2000));
        } catch {
            return undefined;
        }
    }

    /** `host:port` each sentinel pod names as leader (undefined: not running / no answer). */
    async sentinelLeaders(): Promise<(string | undefined)[]> {
        return Promise.all(
            this.sentinels.map(async (s) => {
                if (!this.running(s)) return undefined;
                try {
                    const r = await this.sentinelCall(s, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.masterName], 1500);
                    return Array.isArray(r) && r.length === 2 ? `${String(r[0])}:${String(r[1])}` : undefined;
                } catch {
                    return undefined;
                }
            }),
        );
    }

    /** `host:port` every running sentinel names as leader now (each must answer), or undefined. */
    async agreedLeader(): Promise<string | undefined> {
        const ls = (await this.sentinelLeaders()).filter((_l, i) => this.running(this.sentinels[i]));
        return ls.length > 0 && ls.every((l) => l !== undefined && l === ls[0]) ? ls[0] : undefined;
    }

    async sentinelMaster(s: P): Promise<Record<string, string>> {
        return pairs(await this.sentinelCall(s, ["SENTINEL", "MASTER", this.masterName]));
    }

    async sentinelList(s: P, what: "REPLICAS" | "SENTINELS"): Promise<Record<string, string>[]> {
        const r = await this.sentinelCall(s, ["SENTINEL", what, this.masterName]);
        return Array.isArray(r) ? r.map(pairs) : [];
    }

    /** Healthy exactly as in cluster.ts: one named, writable, running leader; caught-up eligible followers; full sentinel counts. */
    async health(): Promise<Health> {
        await this.refresh();
        const leaders = await this.sentinelLeaders();
        const running = leaders.filter((_l, i) => this.running(this.sentinels[i]));
        if (running.length === 0) return { healthy: false, why: "no sentinel runs" };
        if (running.some((l) => l === undefined)) return { healthy: false, why: `a sentinel does not answer: ${JSON.stringify(leaders)}` };
        if (new Set(running).size !== 1) return { healthy: false, why: `sentinels disagree: ${JSON.stringify(leaders)}` };
        const leader = running[0]!;
        const lp = this.nodeAt(leader);
        if (!lp || !this.running(lp)) return { healthy: false, leader, why: `the sentinels name ${leader}, which does not run` };
        const ls = await this.nodeStatus(lp);
        if (!ls || ls.role !== "master" || ls.readOnly) return { healthy: false, leader, why: `leader ${leader} reports ${JSON.stringify(ls)}` };
        for (const n of this.nodes) {
            if (n === lp || !this.running(n)) continue;
            const s = await this.nodeStatus(n);
            if (!s || s.role !== "slave" || s.following !== leader || !s.caughtUp || !(s.priority! > 0)) return { healthy: false, leader, why: `node ${n.name} reports ${JSON.stringify(s)}` };
        }
        const others = running.length - 1;
        for (const s of this.sentinels) {
            if (!this.running(s)) continue;
            const m = await this.sentinelMaster(s);
            if (Number(m["num-other-sentinels"]) < others) return { healthy: false, leader, why: `${s.name} counts ${m["num-other-sentinels"]} other sentinels` };
            const replicas = await this.sentinelList(s, "REPLICAS");
            for (const n of this.nodes) {
                if (n === lp || !this.running(n)) continue;
                const r = replicas.find((x) => `${x.ip}:${x.port}` === this.endpoint(n));
                if (!r || r.flags !== "slave" || !(Number(r["slave-priority"]) > 0)) {
                    return { healthy: false, leader, why: `${s.name} sees replica ${n.name} as ${JSON.stringify(r && { flags: r.flags, priority: r["slave-priority"] })}` };
                }
            }
        }
        return { healthy: true, leader, why: "healthy" };
    }

    /** Waits (bounded) until {@link health} is healthy; returns the leader pod. */
    async waitHealthy(timeoutMs: number): Promise<P> {
        return this.nodeAt(await waitUntilHealthy(() => this.health(), timeoutMs, 200))!;
    }

    /** Every id of `key` on Tile38 pod `p` (SCAN … IDS). */
    async idsOn(p: P, key = "fleet"): Promise<Set<string>> {
        const r = await this.nodeCall(p, ["SCAN", key, "LIMIT", 10000000, "IDS"], 10_000);
        if (!Array.isArray(r) || !Array.isArray(r[1])) throw new Error(`SCAN ${key} IDS on ${p.name} answered ${JSON.stringify(r)}`);
        return new Set((r[1] as RespValue[]).map(String));
    }

    /** Every id of `key` on Tile38 pod `p` with its object (content, for comparing nodes). */
    async collectionOn(p: P, key = "fleet"): Promise<Map<string, string>> {
        return parseCollection(await this.nodeCall(p, scanCommand(key), 15_000), p.name, key);
    }

    /**
     * Waits (bounded) until the cluster is healthy and every node holds exactly the leader's points
     * (ids and objects); else the differences seen last, per node.
     */
    async waitIdenticalData(timeoutMs: number): Promise<{ identical: boolean; ms: number | null; differences: string[] }> {
        const t0 = Date.now();
        let differences: string[] = [];
        try {
            await waitFor(
                async () => {
                    const leader = await this.waitHealthy(Math.max(1000, t0 + timeoutMs - Date.now()));
                    const mine = await this.collectionOn(leader);
                    differences = [];
                    for (const n of this.nodes) {
                        if (n === leader) continue;
                        const theirs = await this.collectionOn(n).catch((e: Error) => e);
                        if (theirs instanceof Error) differences.push(`${n.name}: ${theirs.message}`);
                        else if (!sameCollection(theirs, mine)) differences.push(`${n.name}: ${describeDifference(theirs, mine)}`);
                    }
                    return differences.length === 0 ? true : undefined;
                },
                { timeoutMs, what: "every node to hold exactly the leader's points", intervalMs: 1000 },
            );
            return { identical: true, ms: Date.now() - t0, differences: [] };
        } catch {
            return { identical: false, ms: null, differences };
        }
    }

    /** Writer options for the client pod: every sentinel by its pod FQDN. */
    writerOptions(intervalMs = 10) {
        return {
            sentinels: this.sentinels.map((s) => ({ host: s.fqdn, port: this.sentinelPort })),
            masterName: this.masterName,
            tile38Password: this.passwords.tile38,
            sentinelPassword: this.passwords.sentinel,
            intervalMs,
        };
    }

}

/**
 * The `kubernetes` target's cluster in the pod simulator: the rendered StatefulSets' pods
 * (podSim.ts) plus a client pod (clientPod.ts) through which every check reaches the pods by name.
 */
export class K8sCluster extends StatefulSetChecks<SimPod> {
    private constructor(readonly sim: PodSimulator, client: ClientPod) {
        super(stackFacts(sim.objects), client);
    }

    /**
     * Renders `stack` under mocks, builds the simulator and the client pod, starts every sentinel
     * pod, then every Tile38 pod (Parallel pod management), and waits (bounded) until healthy.
     */
    static async start(label: string, opts: { stack?: string; objects?: K8sObjects; healthyTimeoutMs?: number } = {}): Promise<K8sCluster> {
        const objects = opts.objects ?? loadK8sObjects(opts.stack ?? "k8s");
        const sim = await PodSimulator.create(objects, label);
        let c: K8sCluster | undefined;
        try {
            const client = await ClientPod.start(sim);
            c = new K8sCluster(sim, client);
            for (const p of sim.pods) await sim.startPod(p.name);
            await c.waitHealthy(opts.healthyTimeoutMs ?? 120_000);
            return c;
        } catch (e) {
            if (c) (e as Error).message += `\n\n----- process logs -----\n${sim.h.logTails(30)}`;
            await sim.destroy();
            throw e;
        }
    }

    protected podsOf(kind: PodKind): SimPod[] {
        return this.sim.podsOf(kind);
    }

    running(p: SimPod): boolean {
        return this.sim.running(p);
    }

    async destroy(): Promise<void> {
        await this.client.stop().catch(() => undefined);
        await this.sim.destroy();
    }
}
