/**
 * `npm run drill -- [--kills N] [--json] [--target docker|kubernetes]`: a failover drill with the
 * real servers. Docker target: the `dev` topology as real processes on 127.0.0.1 (ports
 * 27100-27112): three tile38-server nodes run by the rendered start script under busybox sh, three
 * Redis Sentinels run by the rendered sentinel start script, and a sentinel-aware client (ioredis)
 * writing a point every 10 ms.
 *
 * Unplanned: N times in a row, as soon as the cluster is healthy, the leader is killed (SIGKILL to
 * its whole process group, as a container dies) and restarted once the sentinels agree on a new
 * leader. Planned: one hand-over by the rendered stop script (what `npm run failover` and the
 * Kubernetes preStop hook run). Figures:
 * - failover_ms: kill → the first write acknowledged once the killed process is gone (a write sent
 *   just after the kill order may still be acknowledged by it); for the hand-over: its start
 *   → the first write acknowledged after the pause in which the old leader was read-only;
 * - converge_ms: kill → every sentinel names the same live leader and every other running node
 *   follows it;
 * - writes_acknowledged / writes_lost: acknowledged writes of the phase, and those the final
 *   leader does not hold.
 * Prints a table; with `--json` the last line is one JSON object.
 *
 * `--clients [--scenarios kill,kills,freeze,hand-over,rolling]`: the client matrix instead (ioredis,
 * redis-py, go-redis and Lettuce writing at once through kills, back-to-back kills, a frozen leader,
 * a hand-over and a rolling restart; see scripts/drillClients.ts). Exit 1 if a client lost an
 * acknowledged write or got stuck.
 */
import { describeFigures, DrillResult, median, writesResumedAfter } from "./drillReport";
import { describeClientFigures, drillClients, Scenario, SCENARIOS } from "./drillClients";
import { drillKubernetes } from "./drillKubernetes";
import { Tile38Cluster, tile38SkipReason } from "../tests/integration/harness/cluster";
import { Ack, idsOn, PointWriter } from "../tests/integration/harness/writer";
import { sleep, waitFor } from "../tests/integration/harness/wait";

interface Args {
    kills: number;
    json: boolean;
    target: "docker" | "kubernetes";
    /** The client matrix (scripts/drillClients.ts) instead of the ioredis drill. */
    clients: boolean;
    scenarios: Scenario[];
}

const USAGE = `usage: npm run drill -- [--kills N] [--json] [--target docker|kubernetes] [--clients [--scenarios ${SCENARIOS.join(",")}]]`;

export function parseDrillArgs(argv: string[]): Args {
    const args: Args = { kills: 5, json: false, target: "docker", clients: false, scenarios: [...SCENARIOS] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--json") args.json = true;
        else if (a === "--kills") args.kills = Number(argv[++i]);
        else if (a === "--clients") args.clients = true;
        else if (a === "--scenarios") {
            const list = String(argv[++i]).split(",");
            const bad = list.filter((x) => !(SCENARIOS as readonly string[]).includes(x));
            if (bad.length) throw new Error(`--scenarios: unknown ${bad.join(", ")} (known: ${SCENARIOS.join(", ")})\n${USAGE}`);
            args.scenarios = list as Scenario[];
        }
        else if (a === "--target") {
            const t = argv[++i];
            if (t !== "docker" && t !== "kubernetes") throw new Error(`--target must be docker or kubernetes (got ${String(t)})\n${USAGE}`);
            args.target = t;
        } else throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
    if (args.clients && args.target !== "docker") throw new Error(`--clients runs the docker (dev) topology only\n${USAGE}`);
    if (!Number.isInteger(args.kills) || args.kills < 1 || args.kills > 100) throw new Error(`--kills must be a whole number from 1 to 100\n${USAGE}`);
    return args;
}

const log = (quiet: boolean, msg: string) => {
    if (!quiet) process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
};

/** Kill → every running sentinel names the same running master and every other running node follows it. */
async function converged(c: Tile38Cluster): Promise<boolean> {
    const leader = await c.agreedLeader();
    if (leader < 0 || !c.nodeRunning(leader) || (await c.sentinelLeaders()).some((l, i) => c.sentinelProcs[i] && !l)) return false;
    if ((await c.nodeStatus(leader))?.role !== "master") return false;
    for (let i = 0; i < 3; i++) {
        if (i === leader || !c.nodeRunning(i)) continue;
        if ((await c.nodeStatus(i))?.following !== c.endpoint(leader)) return false;
    }
    return true;
}

async function runDocker(args: Args): Promise<DrillResult & Record<string, unknown>> {
    const quiet = false;
    const c = await Tile38Cluster.start({ label: "tile38-ha-drill", sentinelPort: 27100, tile38Port: 27110 }, 90000);
    const writer = new PointWriter({
        sentinels: c.topo.sentinels.map((s) => ({ host: s.host, port: s.port })),
        masterName: c.topo.masterName,
        tile38Password: c.passwords.tile38,
        sentinelPassword: c.passwords.sentinel,
    });
    try {
        writer.start();
        await waitFor(() => writer.acks.length >= 100, { timeoutMs: 30000, what: "the first 100 writes" });
        const failover: number[] = [];
        const converge: number[] = [];
        let failed = 0;
        for (let k = 1; k <= args.kills; k++) {
            const leader = await c.waitHealthy(120000);
            const killedAt = Date.now();
            await c.killNode(leader);
            const goneAt = Date.now();
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
                c.startNode(leader);
                continue;
            }
            c.startNode(leader);
            const ack = await waitFor(() => writer.firstAckAfter(goneAt), { timeoutMs: 60000, what: "a write after the kill", intervalMs: 20 });
            await waitFor(() => converged(c), { timeoutMs: 120000, what: "convergence", intervalMs: 50 });
            const conv = Date.now() - killedAt;
            // Slow convergence is worth its evidence: what the restarted node and the sentinels said.
            if (conv > 10000) log(quiet, `kill ${k}: slow convergence; logs:\n${c.h.logTails(25)}`);
            failover.push(ack.ackAt - killedAt);
            converge.push(conv);
            log(quiet, `kill ${k}: node ${next + 1} leads; first write acknowledged after ${ack.ackAt - killedAt} ms; converged after ${conv} ms`);
        }
        const unplannedEnd = Date.now();

        // Planned hand-over, as `npm run failover` runs it.
        const leader = await c.waitHealthy(120000);
        const plannedStart = Date.now();
        const run = await c.runStopScript(leader, 60000);
        log(quiet, `hand-over from node ${leader + 1}: ${run.log.split("\n").filter((l) => /leadership|abandoned|refused/.test(l)).join(" | ")}`);
        const handedOver = Date.now();
        await waitFor(() => writer.firstAckSentAfter(handedOver), { timeoutMs: 60000, what: "a write after the hand-over" });
        // A rolling update goes on: the old leader restarts and must rejoin as a caught-up follower.
        await c.stopNode(leader);
        c.startNode(leader);
        await waitFor(() => converged(c), { timeoutMs: 120000, what: "convergence after the hand-over and restart", intervalMs: 100 });
        await sleep(1000);
        await writer.stop();
        const plannedEnd = Date.now();
        const final = await c.waitHealthy(120000);
        const ids = await idsOn(c.topo.nodes[final].port, c.passwords.tile38);
        const inPhase = (from: number, to: number) => writer.acks.filter((a: Ack) => a.sentAt >= from && a.sentAt < to);
        const lost = (acks: Ack[]) => acks.filter((a) => !ids.has(a.id)).length;
        const unplannedAcks = inPhase(0, unplannedEnd);
        const plannedAcks = inPhase(plannedStart, plannedEnd);
        return {
            unplanned: {
                runs: args.kills,
                failed_runs: failed,
                failover_ms: { min: Math.min(...failover), median: median(failover), max: Math.max(...failover) },
                converge_ms: { median: median(converge), max: Math.max(...converge) },
                writes_acknowledged: unplannedAcks.length,
                writes_lost: lost(unplannedAcks),
            },
            planned: {
                failover_ms: writesResumedAfter(plannedAcks, plannedStart),
                writes_acknowledged: plannedAcks.length,
                writes_lost: lost(plannedAcks),
            },
        };
    } catch (e) {
        // What the servers and scripts said, and what the client saw, before the evidence goes.
        process.stderr.write(`${c.h.logTails(60)}\nclient errors:\n${writer.recentErrors.join("\n")}\n`);
        throw e;
    } finally {
        await writer.close();
        await c.cleanup();
    }
}

async function main(): Promise<number> {
    let args: Args;
    try {
        args = parseDrillArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        return 2;
    }
    const skip = tile38SkipReason();
    if (skip) {
        process.stderr.write(`drill: cannot run: ${skip}\n`);
        return 3;
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
    } else {
        result = await runDocker(args);
    }
    process.stdout.write(describeFigures(result, args.target));
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.unplanned.failed_runs === 0 && result.unplanned.writes_lost === 0 && result.planned.writes_lost === 0 ? 0 : 1;
}

if (require.main === module) {
    main().then(
        (code) => process.stdout.write("", () => process.exit(code)),
        (e) => {
            process.stderr.write(`drill failed: ${e instanceof Error ? e.stack : String(e)}\n`);
            process.exit(1);
        },
    );
}
