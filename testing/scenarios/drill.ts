/**
 * `npm run drill -- [--kills N] [--json] [--target docker|kubernetes] [--stack NAME]`: a failover
 * drill with the real servers and a sentinel-aware client (ioredis) writing a point every 10 ms.
 * - Docker target (default): the `dev` topology as real processes on 127.0.0.1 (ports
 *   27100-27112): three tile38-server nodes run by the rendered start script under busybox sh and
 *   three Redis Sentinels run by the rendered sentinel start script.
 * - `--stack NAME`: a DEPLOYED Docker stack instead (reads `pulumi stack output --show-secrets`
 *   in the current directory, with the environment's backend and DOCKER_HOST): `docker kill`s
 *   and `docker stop`s its real containers, so a team can rehearse failover on its deployment.
 *   Leaves every container running, and its test points in a collection `drill-<ms>`.
 * - `--target kubernetes`: see drillKubernetes.ts (with `--cascade`: the cascade on a stack deployed
 *   the same way, testing/fixtures/kube/kubeCascadeCluster.ts).
 *
 * Unplanned: N times in a row, as soon as the cluster is healthy, the leader is killed (SIGKILL to
 * its whole process group, as a container dies) and restarted once the sentinels agree on a new
 * leader. Planned: the leader is stopped as `docker stop` and a rolling update stop it (SIGTERM to
 * its start script, which hands over first), then started again. Figures:
 * - failover_ms: kill → the first write acknowledged once the killed process is gone (a write sent
 *   just after the kill order may still be acknowledged by it); for the hand-over: its start
 *   → the first write acknowledged after the pause in which the old leader was read-only;
 * - converge_ms: kill → every sentinel names the same live leader and every other running node
 *   follows it;
 * - writes_acknowledged / writes_lost: acknowledged writes of the phase, and those the final
 *   leader does not hold; writes_lost_at_kill: those acknowledged within 100 ms of a leader's
 *   SIGKILL, which asynchronous replication may lose with it (counted apart, printed, allowed);
 * - nodes_differing_from_leader: followers whose points (ids and objects) differ from the leader's;
 * - fences (own cluster only): times a leader fenced itself (must be 0: no partition here).
 * Prints a table; with `--json` the last line is one JSON object.
 *
 * `--clients [--scenarios kill,kills,freeze,hand-over,rolling]`: the client matrix instead (ioredis,
 * redis-py, go-redis and Lettuce writing at once through kills, back-to-back kills, a frozen leader,
 * a hand-over and a rolling restart; see testing/scenarios/drillClients.ts). Exit 1 if a client lost an
 * acknowledged write or got stuck.
 *
 * `--partitions [--scenarios isolated,from-sentinels,from-followers,one-sentinel,flapping]`: real
 * network cuts between the pods of the k8s stack instead, deployed as `--target kubernetes
 * --cascade` deploys it (testing/scenarios/drillPartitions.ts). Exit 1 if
 * the old leader acknowledged a write after the bound, two nodes acknowledged writes at once, a
 * scenario without a failover lost a write or fenced, or the nodes' data differ.
 */
import * as fs from "fs";
import * as path from "path";
import { describeFigures, DrillResult, longestPause, median, writesResumedAfter } from "./drillReport";
import { CASCADE_FAULTS, CascadeFault, CascadeResult, cascadeGoalsMet, DEFAULT_SPACINGS_S, describeCascade, recordCascade, runCascade } from "./drillCascade";
import { describeClientFigures, drillClients, Scenario, SCENARIOS } from "./drillClients";
import { drillKubernetes } from "./drillKubernetes";
import { describePartitionResults, drillPartitions, PARTITION_SCENARIOS, partitionDrillSkipReason, PartitionResult, PartitionScenario } from "./drillPartitions";
import { Tile38Cluster, tile38SkipReason } from "../fixtures/loopback/cluster";
import { ClusterProbe } from "../probe/clusterProbe";
import { collectionOn, describeDifference, sameCollection } from "../probe/points";
import { Ack, KillSpan, lostAroundKills, PointWriter } from "../probe/writer";
import { runCommand } from "../command";
import { DeployedCluster, dockerStackOutputs } from "../fixtures/docker/deployedCluster";
import { KubeCascadeCluster } from "../fixtures/kube/kubeCascadeCluster";
import { KubeStack, kubeStackSkipReason } from "../fixtures/kube/kubeStack";
import { sleep, waitFor } from "../probe/wait";

interface Args {
    kills: number;
    json: boolean;
    target: "docker" | "kubernetes";
    /** A deployed Docker stack to drill (its `pulumi stack output`) instead of a cluster of its own. */
    stack?: string;
    /** The client matrix (testing/scenarios/drillClients.ts) instead of the ioredis drill. */
    clients: boolean;
    scenarios: Scenario[];
    /** Network cuts between the pods of a k8s stack of its own (testing/scenarios/drillPartitions.ts) instead. */
    partitions: boolean;
    partitionScenarios: PartitionScenario[];
    /** The cascade drill (testing/scenarios/drillCascade.ts) instead. */
    cascade: boolean;
    /** Cascade: points preloaded. */
    points: number;
    /** Cascade: spacings in seconds. */
    spacings: number[];
    /** Cascade: faults used in turn. */
    faults: CascadeFault[];
    /** Cascade: also write the figures, with date, machine and command, to this Markdown file. */
    record?: string;
    /** Cascade on a cluster of its own: `tile38.aofCompactionRatio` (default the stack's; the product's is 2). */
    compactionRatio?: number;
}

const USAGE = `usage: npm run drill -- [--kills N] [--json] [--target docker|kubernetes] [--stack NAME] [--clients [--scenarios ${SCENARIOS.join(",")}]] [--partitions [--scenarios ${PARTITION_SCENARIOS.join(",")}]] [--cascade [--points N] [--spacings ${DEFAULT_SPACINGS_S.join(",")}] [--faults ${CASCADE_FAULTS.join(",")}] [--compaction-ratio R] [--record FILE.md]]`;

/** A list of whole numbers of seconds, each 0-600. */
function parseSpacings(v: string | undefined): number[] {
    const xs = String(v).split(",").map(Number);
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 0 || x > 600)) throw new Error(`--spacings must be whole seconds from 0 to 600, comma-separated (got ${String(v)})\n${USAGE}`);
    return xs;
}

export function parseDrillArgs(argv: string[]): Args {
    const args: Args = { kills: 5, json: false, target: "docker", clients: false, scenarios: [...SCENARIOS], partitions: false, partitionScenarios: [...PARTITION_SCENARIOS], cascade: false, points: 0, spacings: [...DEFAULT_SPACINGS_S], faults: ["kill"] };
    let scenarios: string[] | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--json") args.json = true;
        else if (a === "--kills") args.kills = Number(argv[++i]);
        else if (a === "--clients") args.clients = true;
        else if (a === "--partitions") args.partitions = true;
        else if (a === "--cascade") args.cascade = true;
        else if (a === "--record") {
            const f = argv[++i];
            if (!f || f.startsWith("--")) throw new Error(`--record needs a file\n${USAGE}`);
            args.record = f;
        }
        else if (a === "--points") args.points = Number(argv[++i]);
        else if (a === "--compaction-ratio") args.compactionRatio = Number(argv[++i]);
        else if (a === "--spacings") args.spacings = parseSpacings(argv[++i]);
        else if (a === "--faults") {
            const fs = String(argv[++i]).split(",");
            const bad = fs.filter((f) => !(CASCADE_FAULTS as readonly string[]).includes(f));
            if (bad.length) throw new Error(`--faults: unknown ${bad.join(", ")} (known: ${CASCADE_FAULTS.join(", ")})\n${USAGE}`);
            args.faults = fs as CascadeFault[];
        }
        else if (a === "--scenarios") scenarios = String(argv[++i]).split(",");
        else if (a === "--target") {
            const t = argv[++i];
            if (t !== "docker" && t !== "kubernetes") throw new Error(`--target must be docker or kubernetes (got ${String(t)})\n${USAGE}`);
            args.target = t;
        } else if (a === "--stack") {
            const name = argv[++i];
            if (!name || name.startsWith("--")) throw new Error(`--stack needs a stack name\n${USAGE}`);
            args.stack = name;
        } else throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
    if (args.cascade && (args.clients || args.partitions)) throw new Error(`--cascade does not go with --clients or --partitions\n${USAGE}`);
    if (!Number.isInteger(args.points) || args.points < 0 || args.points > 50_000_000) throw new Error(`--points must be a whole number from 0 to 50000000\n${USAGE}`);
    if (args.compactionRatio !== undefined && (!args.cascade || args.stack || args.target === "kubernetes" || !(args.compactionRatio === 0 || (Number.isInteger(args.compactionRatio) && args.compactionRatio >= 2)))) {
        throw new Error(`--compaction-ratio goes with --cascade on a cluster of its own, and is 0 (off) or a whole number from 2\n${USAGE}`);
    }
    if (args.record && !args.cascade) throw new Error(`--record goes with --cascade\n${USAGE}`);
    if (args.points > 0 && !args.cascade) throw new Error(`--points goes with --cascade\n${USAGE}`);
    if (args.clients && args.partitions) throw new Error(`--clients and --partitions do not go together\n${USAGE}`);
    if (scenarios) {
        const known: readonly string[] = args.partitions ? PARTITION_SCENARIOS : args.clients ? SCENARIOS : [];
        if (known.length === 0) throw new Error(`--scenarios goes with --clients or --partitions\n${USAGE}`);
        const bad = scenarios.filter((x) => !known.includes(x));
        if (bad.length) throw new Error(`--scenarios: unknown ${bad.join(", ")} (known: ${known.join(", ")})\n${USAGE}`);
        if (args.partitions) args.partitionScenarios = scenarios as PartitionScenario[];
        else args.scenarios = scenarios as Scenario[];
    }
    if (args.partitions && args.stack) throw new Error(`--partitions deploys the k8s stack to a single-node cluster of its own; it takes no --stack\n${USAGE}`);
    if (args.partitions) args.target = "kubernetes";
    if (args.clients && args.target !== "docker") throw new Error(`--clients runs the docker (dev) topology only\n${USAGE}`);
    if (!Number.isInteger(args.kills) || args.kills < 1 || args.kills > 100) throw new Error(`--kills must be a whole number from 1 to 100\n${USAGE}`);
    if (args.stack && args.clients) throw new Error(`--stack and --clients do not go together\n${USAGE}`);
    if (args.stack && args.target !== "docker") throw new Error(`--stack drills a deployed Docker stack; it does not go with --target ${args.target}\n${USAGE}`);
    return args;
}

/** Issue 19's goals for one scenario (the suite asserts the same). */
export function partitionGoalsMet(r: PartitionResult): boolean {
    const noFailoverExpected = r.scenario === "from-followers" || r.scenario === "one-sentinel";
    return (
        (r.acknowledged_after_bound ?? 0) === 0 &&
        r.concurrent_leaders_ms === 0 &&
        r.leaders_at_end === 1 &&
        r.data_identical &&
        (!noFailoverExpected || (!r.failover && r.fences === 0 && r.writes_lost === 0))
    );
}

const log = (quiet: boolean, msg: string) => {
    if (!quiet) process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
};

/**
 * The drill on any running cluster: `kills` leader kills (each restarted once the sentinels agree
 * on a new leader), then one planned hand-over (a SIGTERM to the leader's start script, as `docker
 * stop` and a rolling update send; the node is started again and must rejoin), while a
 * sentinel-aware client writes every 10 ms. Writes lost are acknowledged ids the final leader
 * does not hold; afterwards every node must hold exactly the leader's points (ids and values).
 */
export async function runDrill(c: ClusterProbe, kills: number, quiet = false): Promise<DrillResult & Record<string, unknown>> {
    const writer = new PointWriter({
        sentinels: c.topo.sentinels.map((s) => ({ host: s.host, port: s.port })),
        masterName: c.topo.masterName,
        tile38Password: c.passwords.tile38,
        sentinelPassword: c.passwords.sentinel,
        key: `drill-${Date.now()}`,
    });
    try {
        writer.start();
        await waitFor(() => writer.acks.length >= 100, { timeoutMs: 30000, what: "the first 100 writes" });
        const failover: number[] = [];
        const converge: number[] = [];
        const killSpans: KillSpan[] = [];
        let failed = 0;
        for (let k = 1; k <= kills; k++) {
            const leader = await c.waitHealthy(120000);
            const killedAt = Date.now();
            await c.killNode(leader);
            const goneAt = Date.now();
            killSpans.push({ from: killedAt, to: goneAt });
            log(quiet, `kill ${k}: node ${leader + 1} (${c.endpoint(leader)}) killed`);
            let next: number;
            try {
                next = await waitFor(
                    async () => {
                        const l = await c.agreedLeader();
                        return l >= 0 && l !== leader && (await c.nodeStatus(l))?.role === "master" ? l : undefined;
                    },
                    { timeoutMs: 60000, what: "a new leader", intervalMs: 50 },
                );
            } catch {
                failed++;
                log(quiet, `kill ${k}: NO FAILOVER within 60 s`);
                await c.restartNode(leader);
                continue;
            }
            await c.restartNode(leader);
            // A write sent once the old leader is gone: only a new leader can acknowledge it (an ack read
            // after goneAt may still be the old leader's last reply).
            const ack = await waitFor(() => writer.firstAckSentAfter(goneAt), { timeoutMs: 60000, what: "a write after the kill", intervalMs: 20 });
            await waitFor(() => c.convergedLeader(), { timeoutMs: 120000, what: "convergence", intervalMs: 50 });
            const conv = Date.now() - killedAt;
            // Slow convergence is worth its evidence: what the restarted node and the sentinels said.
            if (conv > 10000) log(quiet, `kill ${k}: slow convergence; logs:\n${await c.logTails(25)}`);
            failover.push(ack.ackAt - killedAt);
            converge.push(conv);
            log(quiet, `kill ${k}: node ${next + 1} leads; first write acknowledged after ${ack.ackAt - killedAt} ms; converged after ${conv} ms`);
        }
        const unplannedEnd = Date.now();

        // Planned: the leader stopped as a rolling update stops it, then started again.
        const leader = await c.waitHealthy(120000);
        const plannedStart = Date.now();
        await c.stopNode(leader);
        log(quiet, `hand-over: node ${leader + 1} stopped after ${Date.now() - plannedStart} ms`);
        const stopped = Date.now();
        await waitFor(() => writer.firstAckSentAfter(stopped), { timeoutMs: 60000, what: "a write after the hand-over" });
        await c.restartNode(leader);
        await waitFor(() => c.convergedLeader(), { timeoutMs: 120000, what: "convergence after the hand-over and restart", intervalMs: 100 });
        await sleep(1000);
        await writer.stop();
        const plannedEnd = Date.now();
        const final = await c.waitHealthy(120000);
        const points = await pointsOn(c, final, writer.key);
        const inPhase = (from: number, to: number) => writer.acks.filter((a: Ack) => a.sentAt >= from && a.sentAt < to);
        const lost = (acks: Ack[]) => acks.filter((a) => !points.has(a.id)).length;
        const unplannedAcks = inPhase(0, unplannedEnd);
        const unplannedLost = lostAroundKills(unplannedAcks, new Set(points.keys()), killSpans);
        if (unplannedLost.inWindow.length > 0) log(quiet, `acknowledged at a kill and gone with the leader: ${unplannedLost.inWindow.map((a) => a.id).join(", ")}`);
        const plannedAcks = inPhase(plannedStart, plannedEnd);
        const differing = await nodesDifferingFromLeader(c, final, writer.key, points);
        return {
            unplanned: {
                runs: kills,
                failed_runs: failed,
                failover_ms: { min: Math.min(...failover), median: median(failover), max: Math.max(...failover) },
                converge_ms: { median: median(converge), max: Math.max(...converge) },
                writes_acknowledged: unplannedAcks.length,
                writes_lost: unplannedLost.lost.length,
                writes_lost_at_kill: unplannedLost.inWindow.length,
            },
            planned: {
                failover_ms: writesResumedAfter(plannedAcks, plannedStart),
                pause_ms: longestPause(plannedAcks, plannedStart, plannedEnd),
                writes_acknowledged: plannedAcks.length,
                writes_lost: lost(plannedAcks),
            },
            nodes_differing_from_leader: differing.length,
        };
    } catch (e) {
        // What the servers and scripts said, and what the client saw, before the evidence goes.
        process.stderr.write(`${await c.logTails(60)}\nclient errors:\n${writer.recentErrors.join("\n")}\n`);
        throw e;
    } finally {
        await writer.close();
    }
}

/** Every point of collection `key` on node `i`: id → its object as stored (content, not a count). */
async function pointsOn(c: ClusterProbe, i: number, key: string): Promise<Map<string, string>> {
    return collectionOn(c.topo.nodes[i], c.passwords.tile38, key);
}

/** The nodes (indexes) whose points differ from the leader's: a missing, extra or changed id. */
async function nodesDifferingFromLeader(c: ClusterProbe, leader: number, key: string, leaderPoints: Map<string, string>): Promise<number[]> {
    const differing: number[] = [];
    for (let i = 0; i < c.topo.nodes.length; i++) {
        if (i === leader || !c.nodeRunning(i)) continue;
        const caughtUp = await waitFor(async () => (await c.nodeStatus(i))?.caughtUp, { timeoutMs: 30000, what: `node ${i + 1} caught up` }).catch(() => false);
        const points = caughtUp ? await pointsOn(c, i, key) : new Map<string, string>();
        if (!sameCollection(points, leaderPoints)) {
            differing.push(i);
            log(false, `node ${i + 1} differs from the leader: ${describeDifference(points, leaderPoints)}`);
        }
    }
    return differing;
}

async function runDocker(args: Args): Promise<DrillResult & Record<string, unknown>> {
    const c = await Tile38Cluster.start({ label: "tile38-ha-drill", sentinelPort: 27100, tile38Port: 27110 }, 90000);
    try {
        const result = await runDrill(c, args.kills);
        // No kill or hand-over may make a leader fence itself (a false positive costs writes).
        const logs = path.join(c.h.root, "logs");
        const fenceLines = fs
            .readdirSync(logs)
            .filter((f) => /tile38-\d/.test(f))
            .flatMap((f) => fs.readFileSync(path.join(logs, f), "utf8").split("\n").filter((l) => / fenced: /.test(l)));
        for (const l of fenceLines) log(false, `a leader fenced itself: ${l}`);
        return { ...result, fences: fenceLines.length };
    } finally {
        await c.cleanup();
    }
}

/** The drill on a deployed Docker stack (`pulumi stack output` in the current directory). */
async function runStack(args: Args & { stack: string }): Promise<DrillResult & Record<string, unknown>> {
    const r = await runCommand("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", args.stack, "--non-interactive"], { env: process.env, timeoutMs: 120000 });
    if (r.code !== 0) throw new Error(`pulumi stack output --stack ${args.stack} failed: ${r.stderr.trim()}`);
    const c = await DeployedCluster.attach(dockerStackOutputs(JSON.parse(r.stdout) as Record<string, unknown>));
    return runDrill(c, args.kills);
}

/** Writes the cascade's figures to `file` (drillCascade.recordCascade), naming the command that measured them. */
function recordCascadeRun(file: string, r: CascadeResult, argv: string[]): void {
    recordCascade(file, r, `\`npm run drill -- ${argv.join(" ")}\``);
}

/** The cascade on a cluster of its own (loopback), on a deployed Docker stack, or on the k8s stack deployed to a single-node cluster of its own. */
async function cascade(args: Args): Promise<CascadeResult> {
    const progress = (l: string) => process.stderr.write(`${new Date().toISOString()} ${l}\n`);
    const opts = { spacingsS: args.spacings, faults: args.faults, points: args.points, log: progress };
    if (args.target === "kubernetes") {
        const reason = kubeStackSkipReason();
        if (reason) throw new Error(`the Kubernetes cascade cannot run here: ${reason}`);
        progress("starting a single-node cluster and deploying the k8s stack with pulumi up");
        const s = await KubeStack.start("cascade", progress);
        try {
            await s.probe.waitHealthy(240_000);
            const c = await KubeCascadeCluster.attach(s);
            try {
                const m = await c.sentinelMaster(0);
                return await runCascade(c, { ...opts, downAfterMs: Number(m["down-after-milliseconds"]) });
            } finally {
                await c.close();
            }
        } finally {
            progress("removing the stack and stopping the cluster");
            await s.destroy();
        }
    }
    if (args.stack) {
        const r = await runCommand("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", args.stack, "--non-interactive"], { env: process.env, timeoutMs: 120000 });
        if (r.code !== 0) throw new Error(`pulumi stack output --stack ${args.stack} failed: ${r.stderr.trim()}`);
        const outputs = JSON.parse(r.stdout) as Record<string, unknown>;
        const c = await DeployedCluster.attach(dockerStackOutputs(outputs));
        const m = await c.sentinelMaster(0);
        return runCascade(c, { ...opts, downAfterMs: Number(m["down-after-milliseconds"]) });
    }
    const stack = args.compactionRatio === undefined ? undefined : { tile38: { aofCompactionRatio: args.compactionRatio } };
    const c = await Tile38Cluster.start({ label: "tile38-ha-cascade", sentinelPort: 27100, tile38Port: 27110, stack }, 90000);
    try {
        return await runCascade(c, { ...opts, downAfterMs: c.stack.cfg.sentinel.downAfterMilliseconds });
    } finally {
        await c.cleanup();
    }
}

export async function main(): Promise<number> {
    let args: Args;
    try {
        args = parseDrillArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        return 2;
    }
    if (args.partitions) {
        const reason = partitionDrillSkipReason();
        if (reason) {
            process.stderr.write(`drill: cannot run: ${reason}\n`);
            return 3;
        }
        const rs = await drillPartitions({ scenarios: args.partitionScenarios, log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`) });
        process.stdout.write(describePartitionResults(rs));
        if (args.json) process.stdout.write(`${JSON.stringify(rs)}\n`);
        return rs.every(partitionGoalsMet) ? 0 : 1;
    }
    const skip = args.stack ? undefined : tile38SkipReason();
    if (skip) {
        process.stderr.write(`drill: cannot run: ${skip}\n`);
        return 3;
    }
    if (args.cascade) {
        const r = await cascade(args);
        process.stdout.write(describeCascade(r));
        if (args.record) recordCascadeRun(args.record, r, process.argv.slice(2));
        if (args.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        return cascadeGoalsMet(r) ? 0 : 1;
    }
    if (args.clients) {
        const matrix = await drillClients({ scenarios: args.scenarios, log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`) });
        process.stdout.write(describeClientFigures(matrix));
        if (args.json) process.stdout.write(`${JSON.stringify(matrix)}\n`);
        return matrix.lost_total === 0 && matrix.stuck_total === 0 ? 0 : 1;
    }
    let result: DrillResult & Record<string, unknown>;
    if (args.target === "kubernetes") {
        const k8s = await drillKubernetes({ runs: args.kills, log: (l) => process.stderr.write(`${l}\n`) });
        result = { ...k8s };
    } else if (args.stack) {
        result = await runStack({ ...args, stack: args.stack });
    } else {
        result = await runDocker(args);
    }
    process.stdout.write(describeFigures(result, args.target));
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    const sameData = (result.nodes_differing_from_leader ?? 0) === 0 && (result.fences ?? 0) === 0;
    return result.unplanned.failed_runs === 0 && result.unplanned.writes_lost === 0 && result.planned.writes_lost === 0 && sameData ? 0 : 1;
}

