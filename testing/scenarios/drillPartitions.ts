/**
 * The partition drill (issue 19): real network cuts between the pods of the `kubernetes` target
 * deployed on the real single-node cluster (testing/fixtures/kube/kubeStack.ts: a kubelet runs
 * the pods, each in a network namespace of its own; cuts are iptables DROP rules inside a pod's
 * namespace: testing/fixtures/kube/podNetworkCuts.ts). The client pod is never cut, nor is the
 * node (this process, whence the probe dials): both stand on the old leader's side of every cut.
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
 * acknowledged writes at once, fences the Tile38 containers logged (`kubectl logs`), and whether
 * the data matched. The cut moment is when the rules are in place.
 *
 * `npm run drill -- --partitions [--scenarios a,b] [--json]`: on a stack deployed as
 * `--target kubernetes` deploys it (a cluster of its own); `--json`: the last line is one JSON
 * object. Needs what the Kubernetes suite needs (kubeStackSkipReason), and iptables and nsenter.
 */
import { KubeStack, kubeStackSkipReason, KubeTarget } from "../fixtures/kube/kubeStack";
import { PodNetworkCuts, podCutSkipReason } from "../fixtures/kube/podNetworkCuts";
import { mainContainer, StatefulPod } from "../fixtures/kube/statefulPods";
import { runCommand } from "../command";
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
    /** "fenced" lines the Tile38 containers logged during the scenario (`kubectl logs`). */
    fences: number;
    /** Leaders (role master) at the end. */
    leaders_at_end: number;
    /** Every node holds exactly the leader's points after healing. */
    data_identical: boolean;
    /** Heal → every node holds the leader's points (null: never within the bound). */
    converge_ms: number | null;
    /** Per node, what it held that the leader did not (empty when identical). */
    differences: string[];
    /** The whole scenario: writers started → result. */
    scenario_ms: number;
}

export interface PartitionDrillOptions {
    scenarios?: readonly PartitionScenario[];
    /** Progress lines. @default none */
    log?: (line: string) => void;
}

/** Why the drill cannot run here, or undefined. */
export function partitionDrillSkipReason(): string | undefined {
    return kubeStackSkipReason() ?? podCutSkipReason();
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

/** `] fenced: ` lines the Tile38 containers logged since `since` (ms), by `kubectl logs --since-time`. */
async function fencesSince(s: KubeTarget, since: number): Promise<number> {
    const counts = await Promise.all(
        s.probe.nodes.map(async (n) => {
            const r = await runCommand(s.cluster.kubectlPath, ["--kubeconfig", s.cluster.kubeconfig, "logs", "-n", s.probe.namespace, n.name, "-c", mainContainer(n.name), `--since-time=${new Date(since).toISOString()}`], { timeoutMs: 20_000 });
            if (r.code !== 0) throw new Error(`kubectl logs ${n.name}: ${r.stderr.trim()}`);
            return (r.stdout.match(/\] fenced: /g) ?? []).length;
        }),
    );
    return counts.reduce((a, b) => a + b, 0);
}

/** The nodes that report role master now. */
async function leadersNow(s: KubeTarget): Promise<number[]> {
    const st = await Promise.all(s.probe.nodes.map((_n, i) => s.probe.nodeStatus(i)));
    return st.flatMap((x, i) => (x?.role === "master" ? [i] : []));
}

/**
 * Runs one scenario on the healthy stack (see the file comment); heals whatever happens and stops
 * its writers, so that the stack is left as healthy as it was found.
 */
export async function runPartitionScenario(s: KubeTarget, scenario: PartitionScenario, say: (l: string) => void = () => undefined): Promise<PartitionResult> {
    const c = s.probe;
    const startedAt = Date.now();
    const downAfter = Number((await c.sentinelMaster(0))["down-after-milliseconds"]);
    const leader = await c.waitHealthy(180_000);
    const leaderPod = c.nodes[leader];
    const followers = c.nodes.filter((n) => n !== leaderPod);
    const cuts = new PodNetworkCuts(() => c.podStatesAsync());
    const names = (ps: StatefulPod[]) => ps.map((p) => p.name);
    const isolate = () => cuts.cut(leaderPod.name, names([...c.sentinels, ...followers]));
    // Ids unique per run: the stack keeps every point of earlier scenarios and tests.
    const run = `${scenario}-${Date.now().toString(36)}`;
    const pinned = c.nodes.map((n) => `pin-${n.name}`);
    const writers = ["sentinels", ...pinned];
    const client = s.client;
    const stopped = new Map<string, Awaited<ReturnType<typeof client.stopWriter>>>();
    let cutAt = 0;
    let healedAt = 0;
    let newLeaderAt: number | null = null;
    let described: string[] = [];
    try {
        await client.startWriter(c.writerOptions(10), `${run}-s-`, "sentinels");
        for (const [i, n] of c.nodes.entries()) await client.startWriter({ ...c.writerOptions(10), direct: { host: n.fqdn, port: c.tile38Port } }, `${run}-${n.name}-`, pinned[i]);
        const watchLeader = async (untilMs: number) => {
            while (Date.now() < untilMs && newLeaderAt === null) {
                const named = await c.agreedLeader();
                if (named >= 0 && named !== leader) newLeaderAt = Date.now();
                else await sleep(100);
            }
        };
        /** The cut in place (its moment: the rules applied) and described. */
        const cutNow = async (make: () => Promise<void>) => {
            await make();
            cutAt = Date.now();
            described = cuts.describe();
            say(`${scenario}: ${described.join("; ")}`);
        };
        try {
            await sleep(1000);
            switch (scenario) {
                case "isolated":
                case "from-sentinels":
                    await cutNow(scenario === "isolated" ? isolate : () => cuts.cut(leaderPod.name, names(c.sentinels)));
                    await watchLeader(cutAt + 60_000);
                    await sleep(3000);
                    break;
                case "from-followers":
                    await cutNow(() => cuts.cut(leaderPod.name, names(followers)));
                    await watchLeader(cutAt + 3 * downAfter);
                    break;
                case "one-sentinel": {
                    const one = c.sentinels[0];
                    await cutNow(() => cuts.cut(one.name, names([...c.nodes, ...c.sentinels.filter((x) => x !== one)])));
                    await watchLeader(cutAt + 3 * downAfter);
                    break;
                }
                case "flapping": {
                    await cutNow(isolate);
                    described = [`${described.join("; ")} for 2 s, healed 2 s, for 30 s`];
                    // Each phase counts from the moment its rules were applied or removed.
                    for (let t = cutAt; ; t = Date.now()) {
                        await watchLeader(t + 2000);
                        await sleep(Math.max(0, t + 2000 - Date.now()));
                        await cuts.healAll();
                        const healed = Date.now();
                        await watchLeader(healed + 2000);
                        await sleep(Math.max(0, healed + 2000 - Date.now()));
                        if (Date.now() >= cutAt + 30_000) break;
                        await isolate();
                    }
                    break;
                }
            }
        } finally {
            await cuts.healAll();
            healedAt = Date.now();
        }
        say(`${scenario}: healed ${healedAt - cutAt} ms after the cut; waiting for one healthy leader`);
        await c.waitHealthy(180_000);
        await sleep(1000);
        for (const w of writers) stopped.set(w, await client.stopWriter(w));
    } finally {
        for (const w of writers) if (!stopped.has(w)) await client.stopWriter(w).catch(() => undefined);
    }
    const viaSentinels = stopped.get("sentinels")!;
    const perNode: NodeWrites[] = c.nodes.map((n, i) => {
        const w = stopped.get(pinned[i])!;
        return { node: n.name, acks: w.acks, errors: w.errorLog };
    });
    const same = await c.waitIdenticalData(120_000);
    const final = await c.waitHealthy(60_000);
    const held = new Set((await c.collectionOn(final)).keys());
    const all = [...viaSentinels.acks, ...perNode.flatMap((w) => w.acks)];
    const lost = all.filter((a) => !held.has(a.id));
    const oldWrites = perNode[leader];
    const bound = downAfter + 1000;
    const refused = oldWrites.errors.find((e) => e.sentAt >= cutAt && /read only/i.test(e.message));
    const leaders = await leadersNow(s);
    const result: PartitionResult = {
        scenario,
        cuts: described,
        old_leader: leaderPod.name,
        new_leader: c.nodes[final].name,
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
        fences: await fencesSince(s, startedAt),
        leaders_at_end: leaders.length,
        data_identical: same.identical,
        converge_ms: same.ms,
        differences: same.differences,
        scenario_ms: Date.now() - startedAt,
    };
    say(`${scenario}: ${JSON.stringify(result)}`);
    return result;
}

/** Runs the drill (see the file comment) on a stack of its own, deployed as `--target kubernetes` deploys it; removes it whatever happens. */
export async function drillPartitions(opts: PartitionDrillOptions = {}): Promise<PartitionResult[]> {
    const reason = partitionDrillSkipReason();
    if (reason) throw new Error(`the partition drill cannot run here: ${reason}`);
    const say = opts.log ?? (() => undefined);
    say("starting a single-node cluster and deploying the k8s stack with pulumi up");
    const s = await KubeStack.start("partitions", say);
    try {
        await s.probe.waitHealthy(240_000);
        const results: PartitionResult[] = [];
        for (const sc of opts.scenarios ?? PARTITION_SCENARIOS) results.push(await runPartitionScenario(s, sc, say));
        return results;
    } finally {
        say("removing the stack and stopping the cluster");
        await s.destroy();
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
                    `two leaders at once ${r.concurrent_leaders_ms} ms; fences ${r.fences}; leaders at the end ${r.leaders_at_end}; data ${r.data_identical ? `identical (${ms(r.converge_ms)} after healing)` : `DIFFERS: ${r.differences.join("; ")}`}; ` +
                    `scenario ${(r.scenario_ms / 1000).toFixed(1)} s`,
            )
            .join("\n") + "\n"
    );
}
