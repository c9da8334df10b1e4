/**
 * The partition drill (issue 19): real network cuts between the pods of the `kubernetes` target in
 * the pod simulator (the k8s stack's real rendered objects, every pod in a network namespace of its
 * own; cuts are iptables DROP rules in a pod's namespace: testing/fixtures/podsim/partition.ts).
 * The client pod is never cut: it stands on the old leader's side of every cut.
 *
 * Writers, all in the client pod, one write every 10 ms each: one through the sentinels (ioredis,
 * as users connect) and one pinned to each Tile38 pod (what each node acknowledges, and when).
 *
 * Scenarios (L the leader when the scenario starts, F its followers, S the sentinels):
 * - `isolated`: L ↮ S and F, held until the sentinels agree on a new leader and 3 s more;
 * - `from-sentinels`: L ↮ S only, held likewise;
 * - `from-followers`: L ↮ F only (the sentinels reach everyone), held 3 × down-after;
 * - `one-sentinel`: one sentinel ↮ every other pod, held 3 × down-after;
 * - `flapping`: L ↮ S and F for 2 s, healed 2 s, for 30 s.
 * After healing: the writers stop, and every node must hold exactly the leader's points (ids and
 * objects), waited for (bounded).
 *
 * Figures per scenario: cut → the old leader's first refused write (`read only`), cut → a new
 * leader named by every sentinel, writes the old leader acknowledged more than the bound
 * (down-after + 1 s) after the cut, acknowledged writes lost (by id), the time two nodes
 * acknowledged writes at once, fences logged, and whether the data matched.
 *
 * `npm run drill -- --partitions [--scenarios a,b] [--json]`, or `--json` alone: the last line is
 * one JSON object. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN), iptables, tile38-server,
 * redis-server, busybox and dnsmasq.
 */
import { K8sCluster } from "../fixtures/podsim/k8sCluster";
import { netnsSkipReason } from "../fixtures/podsim/netns";
import { PodCuts, partitionSkipReason } from "../fixtures/podsim/partition";
import { SimPod } from "../fixtures/podsim/podSim";
import { sleep } from "../probe/wait";
import { Ack, WriteError } from "../probe/writer";

export const PARTITION_SCENARIOS = ["isolated", "from-sentinels", "from-followers", "one-sentinel", "flapping"] as const;
export type PartitionScenario = (typeof PARTITION_SCENARIOS)[number];

/** What one scenario measured. */
export interface PartitionResult {
    scenario: PartitionScenario;
    /** The cuts made ("pod ↮ a, b"). */
    cuts: string[];
    old_leader: string;
    new_leader: string;
    /** A node other than the old leader leads at the end. */
    failover: boolean;
    /** Cut → the old leader refused a write as read only (null: it never did). */
    cut_to_fence_ms: number | null;
    /** Cut → every sentinel names a leader other than the old one (null: none did). */
    cut_to_new_leader_ms: number | null;
    /** down-after + 1 s: the longest an isolated leader may acknowledge writes after the cut. */
    bound_ms: number;
    /**
     * Writes the old leader acknowledged later than `bound_ms` after the cut, while cut (goal: 0);
     * null where the leader is not held cut off from the sentinels (it must go on writing there).
     */
    acknowledged_after_bound: number | null;
    /** Every acknowledged write (all writers), and those the final leader does not hold. */
    writes_acknowledged: number;
    writes_lost: number;
    /** When the lost writes were acknowledged, ms after the cut (first, last). */
    lost_window_ms: [number, number] | null;
    /** Total time in which two nodes acknowledged writes at once (goal: 0). */
    concurrent_leaders_ms: number;
    /** Per node: writes the client pinned to it got acknowledged, and its stints of acknowledging ([from, to] ms after the cut). */
    acknowledged_by_node: Record<string, { acknowledged: number; stints: [number, number][] }>;
    /** "fenced" lines the Tile38 nodes logged during the scenario. */
    fences: number;
    /** Leaders (role master) at the end. */
    leaders_at_end: number;
    /** Every node holds exactly the leader's points after healing. */
    data_identical: boolean;
    /** Heal → every node holds the leader's points (null: never within the bound). */
    converge_ms: number | null;
    /** Per node, what it held that the leader did not (empty when identical). */
    differences: string[];
}

export interface PartitionDrillOptions {
    scenarios?: readonly PartitionScenario[];
    /** Stack file to render. @default "k8s" */
    stack?: string;
    /** Progress lines. @default none */
    log?: (line: string) => void;
}

/** Why the drill cannot run here, or undefined. */
export function partitionDrillSkipReason(): string | undefined {
    return netnsSkipReason() ?? partitionSkipReason();
}

interface NodeWrites {
    node: string;
    acks: Ack[];
    errors: WriteError[];
}

/**
 * Intervals in which `w`'s node acknowledged writes: maximal runs of acknowledged writes with no
 * refused one between them, each from the first one's sending to the last one's acknowledgement.
 */
export function ackStints(w: Pick<NodeWrites, "acks" | "errors">): [number, number][] {
    const events = [...w.acks.map((a) => ({ ok: true, sentAt: a.sentAt, at: a.ackAt })), ...w.errors.map((e) => ({ ok: false, sentAt: e.sentAt, at: e.at }))].sort((a, b) => a.sentAt - b.sentAt);
    const stints: [number, number][] = [];
    let open: [number, number] | undefined;
    for (const e of events) {
        if (e.ok) {
            if (open) open[1] = e.at;
            else open = [e.sentAt, e.at];
        } else if (open) {
            stints.push(open);
            open = undefined;
        }
    }
    if (open) stints.push(open);
    return stints;
}

/** Total time in which two different nodes' stints overlap. */
export function concurrentAckMs(perNode: Pick<NodeWrites, "acks" | "errors">[]): number {
    const stints = perNode.map(ackStints);
    let total = 0;
    for (let i = 0; i < stints.length; i++) {
        for (let j = i + 1; j < stints.length; j++) {
            for (const [a0, a1] of stints[i]) for (const [b0, b1] of stints[j]) total += Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
        }
    }
    return total;
}

function fenceLines(p: SimPod): number {
    return (p.proc?.log().match(/\] fenced: /g) ?? []).length;
}

async function leadersNow(c: K8sCluster): Promise<SimPod[]> {
    const st = await Promise.all(c.nodes.map(async (n) => ((await c.nodeStatus(n))?.role === "master" ? n : undefined)));
    return st.filter((n): n is SimPod => n !== undefined);
}

/** Runs one scenario on a healthy cluster (see the file comment); heals whatever happens. */
export async function runPartitionScenario(c: K8sCluster, scenario: PartitionScenario, say: (l: string) => void = () => undefined): Promise<PartitionResult> {
    const downAfter = Number((await c.sentinelMaster(c.sentinels[0]))["down-after-milliseconds"]);
    const leader = await c.waitHealthy(180_000);
    const old = c.endpoint(leader);
    const followers = c.nodes.filter((n) => n !== leader);
    const cuts = new PodCuts();
    const pinned = c.nodes.map((n) => `pin-${n.name}`);
    const fencesBefore = c.nodes.map(fenceLines);
    await c.client.startWriter(c.writerOptions(10), `${scenario}-s-`, "sentinels");
    for (const [i, n] of c.nodes.entries()) await c.client.startWriter({ ...c.writerOptions(10), direct: { host: n.fqdn, port: c.tile38Port } }, `${scenario}-${n.name}-`, pinned[i]);
    let cutAt = 0;
    let newLeaderAt: number | null = null;
    let described: string[] = [];
    const isolate = () => cuts.cut(leader, [...c.sentinels, ...followers]);
    try {
        await sleep(1000);
        cutAt = Date.now();
        const watchLeader = async (untilMs: number) => {
            while (Date.now() < untilMs && newLeaderAt === null) {
                const named = await c.agreedLeader();
                if (named && named !== old) newLeaderAt = Date.now();
                else await sleep(100);
            }
        };
        switch (scenario) {
            case "isolated":
            case "from-sentinels":
                if (scenario === "isolated") isolate();
                else cuts.cut(leader, c.sentinels);
                described = cuts.describe();
                say(`${scenario}: ${described.join("; ")}`);
                await watchLeader(cutAt + 60_000);
                await sleep(3000);
                break;
            case "from-followers":
                cuts.cut(leader, followers);
                described = cuts.describe();
                say(`${scenario}: ${described.join("; ")}`);
                await watchLeader(cutAt + 3 * downAfter);
                break;
            case "one-sentinel": {
                const s = c.sentinels[0];
                cuts.cut(s, [...c.nodes, ...c.sentinels.filter((x) => x !== s)]);
                described = cuts.describe();
                say(`${scenario}: ${described.join("; ")}`);
                await watchLeader(cutAt + 3 * downAfter);
                break;
            }
            case "flapping":
                for (let t = cutAt; t < cutAt + 30_000; t = Date.now()) {
                    isolate();
                    if (described.length === 0) described = [`${cuts.describe().join("; ")} for 2 s, healed 2 s, for 30 s`];
                    await watchLeader(Date.now() + 2000);
                    await sleep(Math.max(0, t + 2000 - Date.now()));
                    cuts.healAll();
                    await watchLeader(Date.now() + 2000);
                    await sleep(Math.max(0, t + 4000 - Date.now()));
                }
                say(`${scenario}: ${described.join("; ")}`);
                break;
        }
    } finally {
        cuts.healAll();
    }
    const healedAt = Date.now();
    say(`${scenario}: healed ${healedAt - cutAt} ms after the cut; waiting for one healthy leader`);
    await c.waitHealthy(180_000);
    await sleep(1000);
    const viaSentinels = await c.client.stopWriter("sentinels");
    const perNode: NodeWrites[] = [];
    for (const [i, n] of c.nodes.entries()) {
        const w = await c.client.stopWriter(pinned[i]);
        perNode.push({ node: n.name, acks: w.acks, errors: w.errorLog });
    }
    const same = await c.waitIdenticalData(120_000);
    const final = await c.waitHealthy(60_000);
    const held = new Set((await c.collectionOn(final)).keys());
    const all = [...viaSentinels.acks, ...perNode.flatMap((w) => w.acks)];
    const lost = all.filter((a) => !held.has(a.id));
    const oldWrites = perNode[c.nodes.indexOf(leader)];
    const bound = downAfter + 1000;
    const refused = oldWrites.errors.find((e) => e.sentAt >= cutAt && /read only/i.test(e.message));
    const leaders = await leadersNow(c);
    const result: PartitionResult = {
        scenario,
        cuts: described,
        old_leader: leader.name,
        new_leader: final.name,
        failover: final !== leader,
        cut_to_fence_ms: refused ? refused.at - cutAt : null,
        cut_to_new_leader_ms: newLeaderAt === null ? null : newLeaderAt - cutAt,
        bound_ms: bound,
        acknowledged_after_bound: scenario === "isolated" || scenario === "from-sentinels" ? oldWrites.acks.filter((a) => a.ackAt > cutAt + bound && a.ackAt < healedAt).length : null,
        writes_acknowledged: all.length,
        writes_lost: lost.length,
        lost_window_ms: lost.length ? [Math.min(...lost.map((a) => a.ackAt)) - cutAt, Math.max(...lost.map((a) => a.ackAt)) - cutAt] : null,
        concurrent_leaders_ms: concurrentAckMs(perNode),
        acknowledged_by_node: Object.fromEntries(perNode.map((w) => [w.node, { acknowledged: w.acks.length, stints: ackStints(w).map(([a, b]) => [a - cutAt, b - cutAt] as [number, number]) }])),
        fences: c.nodes.reduce((n, p, i) => n + fenceLines(p) - fencesBefore[i], 0),
        leaders_at_end: leaders.length,
        data_identical: same.identical,
        converge_ms: same.ms,
        differences: same.differences,
    };
    say(`${scenario}: ${JSON.stringify(result)}`);
    return result;
}

/** Runs the drill (see the file comment) on a cluster of its own; cleans up whatever happens. */
export async function drillPartitions(opts: PartitionDrillOptions = {}): Promise<PartitionResult[]> {
    const reason = partitionDrillSkipReason();
    if (reason) throw new Error(`the partition drill cannot run here: ${reason}`);
    const say = opts.log ?? (() => undefined);
    say("rendering the stack under mocks and starting the pod simulator");
    const c = await K8sCluster.start("cut", { stack: opts.stack ?? "k8s", healthyTimeoutMs: 180_000 });
    try {
        const results: PartitionResult[] = [];
        for (const s of opts.scenarios ?? PARTITION_SCENARIOS) results.push(await runPartitionScenario(c, s, say));
        return results;
    } finally {
        await c.destroy();
    }
}

/** One line per scenario. */
export function describePartitionResults(rs: PartitionResult[]): string {
    const ms = (v: number | null) => (v === null ? "-" : `${v} ms`);
    return (
        rs
            .map(
                (r) =>
                    `${r.scenario.padEnd(15)} failover ${r.failover ? `yes (${r.old_leader} → ${r.new_leader}, ${ms(r.cut_to_new_leader_ms)})` : "no"}; ` +
                    `fence ${ms(r.cut_to_fence_ms)} (bound ${r.bound_ms} ms), acknowledged after the bound ${r.acknowledged_after_bound ?? "n/a"}; ` +
                    `writes ${r.writes_acknowledged} acknowledged, ${r.writes_lost} lost${r.lost_window_ms ? ` (acknowledged ${r.lost_window_ms[0]}..${r.lost_window_ms[1]} ms after the cut)` : ""}; ` +
                    `two leaders at once ${r.concurrent_leaders_ms} ms; fences ${r.fences}; leaders at the end ${r.leaders_at_end}; data ${r.data_identical ? `identical (${ms(r.converge_ms)} after healing)` : `DIFFERS: ${r.differences.join("; ")}`}`,
            )
            .join("\n") + "\n"
    );
}
