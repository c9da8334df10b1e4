/**
 * The failover drill of the `kubernetes` target, in the pod simulator
 * (tests/integration/harness/podSim.ts): the k8s stack's real rendered objects, every pod in a
 * network namespace of its own with a new address at every start, names from a real DNS server.
 *
 * Scenario: a sentinel-aware client (ioredis in a client pod) writes a point every 10 ms; then
 * `runs` times in a row, as soon as the cluster is healthy, the leader's pod is LOST (SIGKILL of
 * every process, no preStop: a node failure) and its name is NXDOMAIN for `goneMs`
 * (default down-after + 2 s), after which the pod returns with a new IP; then one planned
 * hand-over (graceful deletion of the leader's pod: its preStop hook, then SIGTERM).
 *
 * Figures (the Docker drill's JSON shape plus `ip_changes` and `ip_literals_in_configs`):
 * failover_ms = kill -> the first write acknowledged once the pod is gone that the new leader
 * holds; converge_ms = kill -> every sentinel names the same live leader and every running
 * follower follows it.
 *
 * `ts-node --transpile-only scripts/drillKubernetes.ts [--json] [--runs N] [--gone-ms MS]`
 * (root, or CAP_NET_ADMIN + CAP_SYS_ADMIN; tile38-server, redis-server, busybox, dnsmasq).
 */
import { K8sCluster } from "../tests/integration/harness/k8sCluster";
import { netnsSkipReason } from "../tests/integration/harness/netns";
import { SimPod } from "../tests/integration/harness/podSim";
import { sleep, waitFor } from "../tests/integration/harness/wait";
import { Ack } from "../tests/integration/harness/writer";
import { DrillResult, median, writesResumedAfter } from "./drillReport";

/** Options of {@link drillKubernetes}. */
export interface KubernetesDrillOptions {
    /** Unplanned leader losses in a row. @default 5 */
    runs?: number;
    /** How long a lost leader's pod (and name) stays gone. @default down-after + 2000 ms */
    goneMs?: number;
    /** Stack file to render (`Pulumi.<stack>.yaml`). @default "k8s" */
    stack?: string;
    /** Progress lines (stderr). @default none */
    log?: (line: string) => void;
}

/** The drill's figures; the Docker drill's shape plus the Kubernetes-only fields. */
export interface KubernetesDrillResult extends DrillResult {
    /** Pod restarts that came back with a new address. */
    ip_changes: number;
    /** IP literals in the rendered sentinel templates and every rewritten sentinel/Tile38 config (must be 0). */
    ip_literals_in_configs: number;
    /** down-after-milliseconds of the stack, and the NXDOMAIN window used. */
    down_after_ms: number;
    nxdomain_ms: number;
}


/** Acks from the client pod since the last call. */
class AckLog {
    readonly all: Ack[] = [];
    constructor(private readonly c: K8sCluster) {}
    async pull(): Promise<Ack[]> {
        const { acks } = await this.c.client.acks(this.all.length);
        this.all.push(...acks);
        return this.all;
    }
}

/** Waits until every running sentinel names the same running leader other than `old` and every running follower follows it. */
async function converged(c: K8sCluster, old: string, timeoutMs: number): Promise<SimPod> {
    return waitFor(
        async () => {
            const named = await c.agreedLeader();
            if (!named || named === old) return undefined;
            const leader = c.nodeAt(named);
            if (!leader || !c.sim.running(leader)) return undefined;
            if ((await c.nodeStatus(leader))?.role !== "master") return undefined;
            for (const n of c.nodes) {
                if (n === leader || !c.sim.running(n)) continue;
                if ((await c.nodeStatus(n))?.following !== named) return undefined;
            }
            return leader;
        },
        { timeoutMs, what: "the sentinels and followers to converge on a new leader", intervalMs: 100 },
    );
}

/**
 * The first write acknowledged at or after `t` (the old leader gone: a write sent just after the
 * kill order may still have been acknowledged by it) that `leader` holds; waits (bounded) for it.
 */
async function firstHeldAck(c: K8sCluster, log: AckLog, leader: SimPod, t: number, timeoutMs: number): Promise<Ack> {
    return waitFor(
        async () => {
            const acks = (await log.pull()).filter((a) => a.ackAt >= t);
            if (acks.length === 0) return undefined;
            const ids = await c.idsOn(leader);
            return acks.find((a) => ids.has(a.id));
        },
        { timeoutMs, what: `a write acknowledged by ${leader.name}`, intervalMs: 200 },
    );
}

/** Runs the drill (see the file comment); cleans up whatever happens. */
export async function drillKubernetes(opts: KubernetesDrillOptions = {}): Promise<KubernetesDrillResult> {
    const reason = netnsSkipReason();
    if (reason) throw new Error(`the Kubernetes drill cannot run here: ${reason}`);
    const say = opts.log ?? (() => undefined);
    const runs = opts.runs ?? 5;
    say("rendering the stack under mocks and starting the pod simulator");
    const c = await K8sCluster.start("drill", { stack: opts.stack ?? "k8s", healthyTimeoutMs: 180_000 });
    try {
        const downAfter = Number((await c.sentinelMaster(c.sentinels[0]))["down-after-milliseconds"]);
        const goneMs = opts.goneMs ?? downAfter + 2000;
        await c.client.startWriter(c.writerOptions(10), "drill");
        const log = new AckLog(c);
        const failover: number[] = [];
        const converge: number[] = [];
        let failed = 0;
        for (let run = 1; run <= runs; run++) {
            const leader = await c.waitHealthy(180_000);
            const old = c.endpoint(leader);
            const deletion = c.sim.deletePod(leader.name, { mode: "lost" });
            const t0 = (await deletion).startedAt;
            const goneAt = Date.now();
            const back = sleep(Math.max(0, t0 + goneMs - Date.now())).then(() => c.sim.startPod(leader.name));
            try {
                const next = await converged(c, old, 120_000);
                converge.push(Date.now() - t0);
                const ack = await firstHeldAck(c, log, next, goneAt, 60_000);
                failover.push(ack.ackAt - t0);
                say(`run ${run}: ${leader.name} lost (NXDOMAIN ${goneMs} ms); ${next.name} leads; failover ${ack.ackAt - t0} ms, converged ${converge[converge.length - 1]} ms`);
            } catch (e) {
                failed++;
                say(`run ${run}: FAILED: ${(e as Error).message}`);
            }
            await back;
        }
        let leader = await c.waitHealthy(180_000);
        await sleep(1000);
        const unplannedAcks = await log.pull();
        const unplannedIds = await c.idsOn(leader);
        const unplannedLost = unplannedAcks.filter((a) => !unplannedIds.has(a.id)).length;
        const unplannedCount = unplannedAcks.length;

        say(`planned hand-over: graceful deletion of ${leader.name}`);
        const tp = Date.now();
        const old = c.endpoint(leader);
        await c.sim.restartPod(leader.name, { mode: "graceful" });
        const next = await converged(c, old, 120_000);
        await firstHeldAck(c, log, next, tp, 60_000);
        leader = await c.waitHealthy(180_000);
        const { acks } = await c.client.stopWriter();
        const ids = await c.idsOn(leader);
        const plannedAcks = acks.slice(unplannedCount);
        const literals = c.ipLiteralsInConfigs().reduce((n, f) => n + f.lines.length, 0);
        return {
            unplanned: {
                runs,
                failed_runs: failed,
                failover_ms: { min: Math.min(...failover), median: median(failover), max: Math.max(...failover) },
                converge_ms: { median: median(converge), max: Math.max(...converge) },
                writes_acknowledged: unplannedCount,
                writes_lost: unplannedLost,
            },
            planned: { failover_ms: writesResumedAfter(plannedAcks, tp), writes_acknowledged: plannedAcks.length, writes_lost: plannedAcks.filter((a) => !ids.has(a.id)).length },
            ip_changes: c.sim.ipChanges,
            ip_literals_in_configs: literals,
            down_after_ms: downAfter,
            nxdomain_ms: goneMs,
        };
    } finally {
        await c.destroy();
    }
}

function arg(name: string): string | undefined {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
}

if (require.main === module) {
    const json = process.argv.includes("--json");
    const runs = arg("--runs") === undefined ? undefined : Number(arg("--runs"));
    const goneMs = arg("--gone-ms") === undefined ? undefined : Number(arg("--gone-ms"));
    drillKubernetes({ runs, goneMs, log: (l) => process.stderr.write(`${l}\n`) }).then(
        (r) => {
            if (!json) {
                const u = r.unplanned;
                process.stdout.write(
                    [
                        `unplanned: ${u.runs} leader pods lost, NXDOMAIN ${r.nxdomain_ms} ms each (down-after ${r.down_after_ms} ms); ${u.failed_runs} failed`,
                        `  failover ms min/median/max ${u.failover_ms.min}/${u.failover_ms.median}/${u.failover_ms.max}; converge ms median/max ${u.converge_ms.median}/${u.converge_ms.max}`,
                        `  writes acknowledged ${u.writes_acknowledged}, lost ${u.writes_lost}`,
                        `planned: failover ${r.planned.failover_ms} ms; writes acknowledged ${r.planned.writes_acknowledged}, lost ${r.planned.writes_lost}`,
                        `ip changes ${r.ip_changes}; IP literals in configs ${r.ip_literals_in_configs}`,
                    ].join("\n") + "\n",
                );
            }
            process.stdout.write(JSON.stringify(r) + "\n", () => process.exit(r.unplanned.failed_runs === 0 && r.ip_literals_in_configs === 0 ? 0 : 1));
        },
        (e: unknown) => {
            process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
