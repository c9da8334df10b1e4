/**
 * The scale bench (`npm run bench -- --points N [--updates-per-point K] [--stack NAME]`): how
 * failover, the hand-over, a rolling restart, a follower's resync and a backup + restore grow with
 * the data. On the dev topology as processes on loopback (three tile38-server nodes run by the
 * rendered start script, three sentinels, the backup agent and the Versity S3 gateway, as
 * bench:backup), or on a deployed Docker stack (testing/fixtures/docker/stackBenchTarget.ts: its
 * containers killed, stopped and started, a follower's volume emptied, its own collections, the
 * restore after total loss left out: it would destroy the stack's data). It loads
 * N points through a sentinel-aware client (N × K SETs when every id is updated K times: the
 * fleet-tracking churn that makes the AOF grow with updates, not data), then, under a steady
 * writer through the sentinels, one step at a time, each measured from its fault:
 *
 *   kill      SIGKILL to the leader: first acknowledged write on the new leader; the killed node
 *             back (its AOF load time, Tile38's own report) and redundancy restored;
 *   hand-over the leader stopped as a rolling update stops it (SIGTERM, the hand-over): the longest
 *             pause between acknowledged writes, then redundancy restored once it is back, and
 *             how much of that is beyond its AOF load;
 *   (kill and hand-over alternate `repeats` times: their figures are medians, each run printed)
 *   rolling   every node stopped and started in turn, followers first: the whole roll and its
 *             longest pause;
 *   wipe      a follower stopped, its data dir emptied, started: until it holds everything again,
 *             and the bytes it fetched (its AOF afterwards);
 *   backup    the leader's agent uploads its AOF; `restore`: every node, sentinel and data dir
 *             destroyed and the cluster recreated from the newest backup, until the leader answers
 *             a read of the last point.
 *
 * "Redundancy restored" = the cluster is healthy by ClusterProbe.health (the sentinels agree,
 * every other node follows the leader, caught up and promotable). At the end every node's data is
 * compared with the leader's by content (a digest of every id and object of both collections) and
 * every acknowledged write must be on the leader (the kill's last 100 ms excepted).
 *
 * The product compacts the AOF itself (tile38-compaction.sh): the leader's AOF size is sampled all
 * along, and `aof_compacted_ratio` is its worst size over its size right after the last compaction.
 * With churn, one more step before the backup, `compaction`: fleet tracking's steady churn under
 * the writer (the ids updated again, up to 20 more rounds, at CHURN_PER_SECOND SETs a second), with
 * the writer's longest pause and the AOF's worst size over its compacted size meanwhile, so that
 * compactions and the followers' reloads run under writes, and the backup and restore that follow
 * are of a compacted AOF.
 */
import * as fs from "fs";
import * as path from "path";
import { machine } from "../machine";
import { BackupCluster } from "../fixtures/loopback/backupCluster";
import { BackupRig } from "../fixtures/loopback/backupRig";
import { ClusterProbe } from "../probe/clusterProbe";
import { bulkClient, loadPoints, pointId, SentinelTarget } from "../probe/pointLoader";
import { collectionDigest } from "../probe/points";
import { aofFigures, compactionSwaps, watchLeaderAof } from "../probe/aofWatch";
import { sleep, waitFor } from "../probe/wait";
import { Ack, lostAfterCompactions, lostAroundKills, PointWriter, REPLICATION_WINDOW_MS } from "../probe/writer";
import { longestPause, median } from "./drillReport";
import { EventLoopLag, longestGapOverlapping, pausesExplained, spansWhere, watchRewriting } from "../probe/pauseCause";
import { resp } from "../../components/status/resp";

/** The compaction step's churn: 10 k vehicles reporting every 5 s (issue 27). */
export const CHURN_PER_SECOND = 2000;

/** Ports of the bench's own cluster (loopback). */
export const BENCH_PORTS = { s3: 27350, sentinel: 27360, tile38: 27370 };

export interface ScaleBenchOptions {
    /** Distinct ids loaded. */
    points: number;
    /** How many times each id is written (1: loaded once). */
    updatesPerPoint: number;
    /** How many times the kill and the hand-over run (their figures are medians). */
    repeats: number;
    /** `tile38.aofCompactionMinMegabytes` of the bench's cluster (default: the product's). */
    compactionMinMegabytes?: number;
    /** Progress lines (stderr). */
    say: (line: string) => void;
}

/**
 * What the bench runs its steps on: a loopback cluster of its own ({@link runScaleBench}) or a
 * deployed stack (testing/fixtures/docker/stackBenchTarget.ts).
 */
export interface BenchTarget {
    /** The cluster: kill (SIGKILL), stop (as a rolling update stops a node: the hand-over), restart. */
    readonly cluster: ClusterProbe;
    /** Where the bench's sentinel-aware clients find the leader. */
    readonly clients: SentinelTarget;
    /** The collection the N points go to, and the one the steady writer writes to. */
    readonly pointsKey: string;
    readonly writesKey: string;
    /** What the figures were measured on (the record's header). */
    readonly where: string;
    /** Tile38's own report of loading its AOF at node `i`'s latest start (ms; -1 without one). */
    loadMs(i: number): Promise<number>;
    /** Starts node `i`, stopped, with its data directory emptied first. */
    startWiped(i: number): Promise<void>;
    /** One backup round of node `i`'s agent, bounded; undefined where there are no backups. */
    backupOnce?(i: number, timeoutMs: number): Promise<void>;
    /** Every node, sentinel and data dir destroyed, then the cluster recreated (it restores the newest backup); undefined where that would destroy data the bench does not own. */
    totalLoss?: { destroy(): Promise<void>; recreate(): Promise<void> };
    /** Removes what the bench left (its collections on a deployed stack; the whole cluster on loopback). */
    cleanup(): Promise<void>;
}

/** One run's figures (ms, bytes); the JSON line of `npm run bench -- --json`. */
export interface ScaleBenchResult {
    points: number;
    updates_per_point: number;
    /** Loading N × K SETs through the leader. */
    write_ms: number;
    /** The leader's AOF after the load. */
    aof_bytes: number;
    /** Each node's Go heap after the load (SERVER heap_size), node 1 first. */
    heap_bytes: number[];
    /** How many times the kill and the hand-over ran (alternating); their figures are medians. */
    repeats: number;
    /** Tile38's own report of loading its AOF when the killed node came back (median). */
    load_ms: number;
    /** Kill → the first write acknowledged by the new leader (median). */
    kill_failover_ms: number;
    /** Kill → redundancy restored, the killed node back (median). */
    kill_redundancy_ms: number;
    /** The hand-over's longest pause between acknowledged writes (median). */
    handover_pause_ms: number;
    /** Hand-over start → redundancy restored, the stopped node back (median). */
    handover_redundancy_ms: number;
    /** The same less that restart's own AOF load (median): what the hand-over costs beyond loading the data. */
    handover_redundancy_beyond_load_ms: number;
    /** Each run's kill → first write, hand-over pause, and redundancy beyond the load. */
    kill_failover_runs_ms: number[];
    handover_pause_runs_ms: number[];
    handover_redundancy_beyond_load_runs_ms: number[];
    rolling_ms: number;
    rolling_longest_pause_ms: number;
    wipe_resync_ms: number;
    wipe_downloaded_bytes: number;
    /** The leader's agent's upload (undefined without backups). */
    backup_upload_ms?: number;
    /** Total loss → the restored leader answers (loopback only). */
    restore_ms?: number;
    writes_acknowledged: number;
    /** Acknowledged writes no node kept, apart from those at a kill's instant and those below. */
    writes_lost: number;
    /** Those acknowledged after a compaction's swap, before a leader kill within 5 s of it (testing/probe/writer.ts lostAfterCompactions). */
    writes_lost_after_compaction: number;
    data_identical: boolean;
    /** The leader's AOF over its size right after the last compaction, at its worst in the compaction step (steady churn). */
    aof_compacted_ratio?: number;
    /** The same over the whole run, bulk loads included (pipelines of 10 000 SETs outrun any compaction). */
    aof_compacted_ratio_overall?: number;
    /** Compactions seen (the leader's AOF dropping). */
    compactions: number;
    /** With churn: the `compaction` step's longest pause between acknowledged writes, whatever its cause. */
    compaction_pause_ms?: number;
    /** With churn: the longest of those pauses that overlapped a rewrite of the leader's AOF (sampled every 20 ms). */
    rewrite_pause_ms?: number;
}

const WRITES = "bench-writes";
const LOOPBACK = "a loopback cluster (testing/scenarios/scaleBench.ts)";

/** Runs the bench on a loopback cluster of its own and removes it afterwards. */
export async function runScaleBench(o: ScaleBenchOptions): Promise<ScaleBenchResult> {
    const target = await loopbackBenchTarget(o);
    try {
        return await benchSteps(target, o);
    } finally {
        await target.cleanup();
    }
}

/** The dev topology on loopback, with its backup agents (stopped: the bench runs them) and S3 store. */
async function loopbackBenchTarget(o: Pick<ScaleBenchOptions, "compactionMinMegabytes">): Promise<BenchTarget> {
    const rig = await BackupRig.start({ s3Port: BENCH_PORTS.s3, bucket: "tile38-ha-scale-bench", label: "scale-bench" });
    let bc: BackupCluster | undefined;
    try {
        // The agents' own loop must not upload behind the bench's back: a long interval, stopped.
        // The product's default ratio (2), explicitly: the bench's figures are for that ratio.
        const stack = { stack: { tile38: { aofCompactionRatio: 2, ...(o.compactionMinMegabytes === undefined ? {} : { aofCompactionMinMegabytes: o.compactionMinMegabytes }) } } };
        bc = await BackupCluster.start({ label: "scale-bench", sentinelPort: BENCH_PORTS.sentinel, tile38Port: BENCH_PORTS.tile38, rig, prefix: "bench/", intervalSeconds: 3600, restoreTimeoutSeconds: 1800, ...stack });
        for (let i = 0; i < 3; i++) await bc.stopAgent(i);
    } catch (e) {
        await bc?.cleanup();
        rig.stop();
        throw e;
    }
    const b = bc;
    const c = b.cluster;
    return {
        cluster: c,
        clients: b.target(),
        pointsKey: "fleet",
        writesKey: WRITES,
        where: LOOPBACK,
        loadMs: async (i) => lastLoadMs(c.nodeLog(i)),
        startWiped: async (i) => void c.startNode(i, { wipe: true }),
        backupOnce: async (i, timeoutMs) => {
            const up = b.backupOnce(i, timeoutMs);
            if (up.code !== 0) throw new Error(`backup failed: ${up.log}`);
        },
        totalLoss: { destroy: () => b.destroyAll({ sentinels: true }), recreate: () => b.recreate() },
        cleanup: async () => {
            await b.cleanup();
            rig.stop();
        },
    };
}

/** The bench's steps on `t` (see the file's header); `t` is left for the caller to clean up. */
export async function benchSteps(t: BenchTarget, o: ScaleBenchOptions): Promise<ScaleBenchResult> {
    let writer: PointWriter | undefined;
    let aofWatch: ReturnType<typeof watchLeaderAof> | undefined;
    try {
        const c = t.cluster;
        aofWatch = watchLeaderAof(c);
        const healthy = (timeoutMs = 30 * 60_000) => c.waitHealthy(timeoutMs);

        o.say(`loading ${o.points} points × ${o.updatesPerPoint} (pipelines of 10000 SETs through the sentinels' leader)`);
        const client = bulkClient(t.clients);
        let at = Date.now();
        for (let k = 0; k < o.updatesPerPoint; k++) await loadPoints(client, o.points, { batch: 10_000, key: t.pointsKey });
        const writeMs = Date.now() - at;
        client.disconnect();
        let leader = await healthy();
        const aofBytes = (await c.nodeStatus(leader))!.aofSize;
        const heapBytes = await Promise.all([0, 1, 2].map((i) => heapSize(c, i)));
        o.say(`loaded in ${writeMs} ms; leader AOF ${aofBytes} bytes; heaps ${heapBytes.join(", ")} bytes`);

        writer = new PointWriter({ ...t.clients, key: t.writesKey });
        writer.start();
        const w = writer;
        await waitFor(() => w.acks.length >= 50, { timeoutMs: 60_000, what: "the writer's first writes" });

        // kill and hand-over, `repeats` times each (alternating): the medians are the figures.
        const runs: { killFailover: number; killRedundancy: number; load: number; pause: number; handoverRedundancy: number; handoverLoad: number }[] = [];
        const killSpans: number[] = [];
        for (let run = 1; run <= o.repeats; run++) {
            // kill
            leader = await healthy();
            const killedAt = Date.now();
            await c.killNode(leader);
            const goneAt = Date.now();
            killSpans.push(killedAt);
            await waitFor(() => c.leadingNode(leader), { timeoutMs: 120_000, what: "a new leader after the kill", intervalMs: 50 });
            const restartAt = Date.now();
            await c.restartNode(leader);
            // A write sent once the old leader is gone: only a new leader can acknowledge it (an ack read
            // after goneAt may still be the old leader's last reply: one run measured 5 ms).
            const firstAck = await waitFor(() => w.firstAckSentAfter(goneAt), { timeoutMs: 120_000, what: "a write after the kill", intervalMs: 20 });
            await healthy();
            const killRedundancyMs = Date.now() - killedAt;
            const loadMs = await t.loadMs(leader);
            o.say(`kill ${run}: first write after ${firstAck.ackAt - killedAt} ms, restarted after ${restartAt - killedAt} ms, AOF load ${loadMs} ms, redundancy after ${killRedundancyMs} ms`);

            // hand-over
            leader = await healthy();
            const stopAt = Date.now();
            await c.stopNode(leader);
            const stoppedAt = Date.now();
            await waitFor(() => w.firstAckSentAfter(stoppedAt), { timeoutMs: 120_000, what: "a write after the hand-over" });
            await c.restartNode(leader);
            const restartedAt = Date.now();
            // Where the wait for redundancy goes: each reason it was not there yet, from when.
            const waits: string[] = [];
            await c.waitHealthy(30 * 60_000, (why) => waits.push(`+${Date.now() - stopAt} ms ${why.replace(/\{[^}]*\}/g, (j) => j.slice(0, 120))}`));
            const handoverRedundancyMs = Date.now() - stopAt;
            const handoverPauseMs = longestPause(w.acks, stopAt, Date.now());
            const handoverLoadMs = await t.loadMs(leader);
            o.say(
                `hand-over ${run}: longest pause ${pausesExplained(w.acks, stopAt, Date.now(), [], 1)[0] ?? "-"}; stopped after ${stoppedAt - stopAt} ms, restarted after ${restartedAt - stopAt} ms, ` +
                    `AOF load ${handoverLoadMs} ms, redundancy after ${handoverRedundancyMs} ms (${handoverRedundancyMs - handoverLoadMs} ms beyond the load); waited for: ${waits.join("; ")}`,
            );
            runs.push({ killFailover: firstAck.ackAt - killedAt, killRedundancy: killRedundancyMs, load: loadMs, pause: handoverPauseMs, handoverRedundancy: handoverRedundancyMs, handoverLoad: handoverLoadMs });
        }
        const med = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
        const all = (f: (r: (typeof runs)[number]) => number) => runs.map(f);

        // rolling restart, followers first
        leader = await healthy();
        const rollAt = Date.now();
        for (const i of [0, 1, 2].filter((x) => x !== leader).concat(leader)) {
            await c.stopNode(i);
            await c.restartNode(i);
            await healthy();
        }
        const rollingMs = Date.now() - rollAt;
        const rollingPauseMs = longestPause(w.acks, rollAt, Date.now());
        o.say(`rolling restart: ${rollingMs} ms, longest pause ${rollingPauseMs} ms`);

        // follower wipe
        leader = await healthy();
        const f = [0, 1, 2].find((x) => x !== leader)!;
        await c.stopNode(f);
        const wipeAt = Date.now();
        await t.startWiped(f);
        await healthy();
        const wipeMs = Date.now() - wipeAt;
        const downloaded = (await c.nodeStatus(f))!.aofSize;
        o.say(`follower wipe: resynced in ${wipeMs} ms, ${downloaded} bytes fetched`);

        let compactionPauseMs: number | undefined;
        let rewritePauseMs: number | undefined;
        let churnFigures: ReturnType<typeof aofFigures> | undefined;
        if (o.updatesPerPoint > 1) {
            const rounds = Math.min(o.updatesPerPoint, 20);
            o.say(`compaction: ${rounds} more rounds of ${o.points} updates under the writer, ${CHURN_PER_SECOND} a second`);
            const churn = bulkClient(t.clients);
            // Where the longest pauses fell (this process late, the leader rewriting): see pauseCause.ts.
            const lag = new EventLoopLag().start();
            const rewriting = watchRewriting(c.topo.nodes[leader], c.passwords.tile38);
            const churnAt = Date.now();
            for (let k = 0; k < rounds; k++) await loadPoints(churn, o.points, { batch: 200, perSecond: CHURN_PER_SECOND, key: t.pointsKey });
            churn.disconnect();
            await healthy();
            const settledAt = Date.now();
            compactionPauseMs = longestPause(w.acks, churnAt, settledAt);
            churnFigures = aofFigures(aofWatch.samples.filter((x) => x.at >= churnAt));
            const rewrites = spansWhere(await rewriting.stop(), (r) => r, "the leader rewrites its AOF");
            const spans = [...lag.stop(), ...rewrites];
            rewritePauseMs = longestGapOverlapping(w.acks, churnAt, settledAt, rewrites);
            o.say(`compaction: longest pause ${compactionPauseMs} ms (${rewritePauseMs} ms while the leader rewrote its AOF), ${churnFigures.compactions} compactions, the AOF at worst ${churnFigures.worstRatio ?? "-"} × its compacted size; ${machine()}`);
            o.say(`compaction: longest pauses: ${pausesExplained(w.acks, churnAt, settledAt, spans, 5).join("; ")}`);
        }

        await sleep(500);
        await w.close();
        leader = await healthy();
        const identical = await sameDataEverywhere(c, leader, [t.pointsKey, t.writesKey]);
        const ids = await idsOf(c, leader, t.writesKey);
        const aofSamples = await aofWatch.stop();
        const aof = aofFigures(aofSamples);
        const swaps = compactionSwaps(aofSamples);
        const { lost, afterCompaction } = lostAfterCompactions(lostAroundKills(w.acks, ids, killSpans).lost, swaps, killSpans);
        const span = (xs: Ack[]) => (xs.length ? ` (acknowledged from ${new Date(xs[0].ackAt).toISOString()} to ${new Date(xs[xs.length - 1].ackAt).toISOString()}, ids ${xs[0].id} to ${xs[xs.length - 1].id})` : "");
        o.say(`writer: ${w.acks.length} acknowledged, ${lost.length} lost${span(lost)}; every node identical: ${identical}`);
        if (afterCompaction.length) {
            const kill = killSpans.find((k) => afterCompaction[afterCompaction.length - 1].ackAt <= k + REPLICATION_WINDOW_MS)!;
            const swap = Math.max(...swaps.filter((x) => x <= kill));
            o.say(`writer: ${afterCompaction.length} more lost at a kill ${kill - swap} ms after a compaction's swap, before the followers had it${span(afterCompaction)}: compaction's known cost`);
        }
        o.say(`AOF: ${aof.compactions} compactions, at worst ${aof.worstRatio ?? "-"} × its compacted size`);

        // backup + restore
        let uploadMs: number | undefined;
        let restoreMs: number | undefined;
        if (t.backupOnce) {
            at = Date.now();
            await t.backupOnce(leader, 30 * 60_000);
            uploadMs = Date.now() - at;
            if (t.totalLoss) {
                await t.totalLoss.destroy();
                const last = pointId(o.points - 1);
                at = Date.now();
                await t.totalLoss.recreate();
                await waitFor(
                    async () => {
                        const l = await c.agreedLeader();
                        return l >= 0 && Array.isArray(await resp(c.topo.nodes[l].port, ["GET", t.pointsKey, last, "POINT"], c.passwords.tile38, { timeoutMs: 2000 }).catch(() => null)) ? l : undefined;
                    },
                    { timeoutMs: 30 * 60_000, what: `the restored leader to answer GET ${t.pointsKey} ${last}`, intervalMs: 50 },
                );
                restoreMs = Date.now() - at;
            }
        }
        o.say(`backup uploaded in ${uploadMs ?? "-"} ms; restored after total loss in ${restoreMs ?? "-"} ms${t.totalLoss ? "" : " (not on this target: it would destroy data the bench does not own)"}`);

        return {
            points: o.points,
            updates_per_point: o.updatesPerPoint,
            write_ms: writeMs,
            aof_bytes: aofBytes,
            heap_bytes: heapBytes,
            repeats: o.repeats,
            load_ms: med((r) => r.load),
            kill_failover_ms: med((r) => r.killFailover),
            kill_redundancy_ms: med((r) => r.killRedundancy),
            handover_pause_ms: med((r) => r.pause),
            handover_redundancy_ms: med((r) => r.handoverRedundancy),
            handover_redundancy_beyond_load_ms: med((r) => r.handoverRedundancy - r.handoverLoad),
            kill_failover_runs_ms: all((r) => r.killFailover),
            handover_pause_runs_ms: all((r) => r.pause),
            handover_redundancy_beyond_load_runs_ms: all((r) => r.handoverRedundancy - r.handoverLoad),
            rolling_ms: rollingMs,
            rolling_longest_pause_ms: rollingPauseMs,
            wipe_resync_ms: wipeMs,
            wipe_downloaded_bytes: downloaded,
            ...(uploadMs === undefined ? {} : { backup_upload_ms: uploadMs }),
            ...(restoreMs === undefined ? {} : { restore_ms: restoreMs }),
            writes_acknowledged: w.acks.length,
            writes_lost: lost.length,
            writes_lost_after_compaction: afterCompaction.length,
            data_identical: identical,
            ...(churnFigures?.worstRatio === undefined ? {} : { aof_compacted_ratio: churnFigures.worstRatio }),
            ...(aof.worstRatio === undefined ? {} : { aof_compacted_ratio_overall: aof.worstRatio }),
            compactions: aof.compactions,
            ...(compactionPauseMs === undefined ? {} : { compaction_pause_ms: compactionPauseMs }),
            ...(rewritePauseMs === undefined ? {} : { rewrite_pause_ms: rewritePauseMs }),
        };
    } finally {
        await writer?.close();
        await aofWatch?.stop();
    }
}

/** Tile38's own report of loading its AOF in a node's log, the latest (ms; -1 without one). */
export function lastLoadMs(log: string): number {
    const loaded = [...log.matchAll(/AOF loaded (\d+) commands: ([\d.]+)s/g)].pop();
    return loaded ? Math.round(Number(loaded[2]) * 1000) : -1;
}

/** SERVER heap_size of node `i` (bytes). */
async function heapSize(c: ClusterProbe, i: number): Promise<number> {
    const r = await c.nodeCall(i, ["SERVER"], 10_000);
    const flat = Array.isArray(r) ? r.map(String) : [];
    const at = flat.indexOf("heap_size");
    return at >= 0 ? Number(flat[at + 1]) : -1;
}

/** Every node's two collections, by content, equal to the leader's. */
async function sameDataEverywhere(c: ClusterProbe, leader: number, keys: string[]): Promise<boolean> {
    for (const key of keys) {
        const want = await collectionDigest(c.topo.nodes[leader], c.passwords.tile38, key);
        for (let i = 0; i < 3; i++) {
            if (i === leader) continue;
            const got = await waitFor(async () => {
                const d = await collectionDigest(c.topo.nodes[i], c.passwords.tile38, key);
                return d.md5 === want.md5 && d.count === want.count ? d : undefined;
            }, { timeoutMs: 60_000, what: `node ${i + 1}'s ${key} to match the leader's` }).catch(() => undefined);
            if (!got) return false;
        }
    }
    return true;
}

/** The writer's ids on the leader. */
async function idsOf(c: ClusterProbe, leader: number, key: string): Promise<Set<string>> {
    const r = await c.nodeCall(leader, ["SCAN", key, "LIMIT", 10_000_000, "IDS"], 30_000);
    if (!Array.isArray(r) || !Array.isArray(r[1])) throw new Error(`SCAN ${key} IDS answered ${JSON.stringify(r).slice(0, 200)}`);
    return new Set((r[1] as unknown[]).map(String));
}

export { machine } from "../machine";

const COLUMNS: [keyof ScaleBenchResult, string][] = [
    ["repeats", "kills / hand-overs"],
    ["write_ms", "load N×K writes ms"],
    ["aof_bytes", "AOF bytes"],
    ["load_ms", "AOF load ms"],
    ["kill_failover_ms", "kill → first write ms"],
    ["kill_redundancy_ms", "kill → redundancy ms"],
    ["handover_pause_ms", "hand-over pause ms"],
    ["handover_redundancy_ms", "hand-over → redundancy ms"],
    ["handover_redundancy_beyond_load_ms", "of which beyond the AOF load ms"],
    ["rolling_ms", "rolling restart ms"],
    ["rolling_longest_pause_ms", "rolling pause ms"],
    ["wipe_resync_ms", "wiped follower resync ms"],
    ["backup_upload_ms", "backup ms"],
    ["restore_ms", "restore ms"],
    ["writes_lost", "lost"],
    ["writes_lost_after_compaction", "lost at a kill just after a compaction"],
    ["compactions", "compactions"],
    ["compaction_pause_ms", "pause under churn ms"],
    ["rewrite_pause_ms", "pause while rewriting ms"],
    ["aof_compacted_ratio", "AOF / compacted"],
];

/**
 * Writes (or replaces) this run's row in the Markdown table of `file`: one row per size (points ×
 * updates), each with its date and machine, the rows sorted by size.
 */
export function recordScaleBench(file: string, r: ScaleBenchResult, where = LOOPBACK, command = "npm run bench -- --points N [--updates-per-point K]"): void {
    const head = [
        `<!-- written by ${command} --record ${path.basename(file)}: each run replaces its own row (points × updates) -->`,
        "",
        `The scale bench on ${where}: every step under a steady writer through the sentinels, each measured from its fault; the kill and hand-over figures are medians of their runs (kills / hand-overs); redundancy = the sentinels agree and every other node follows the leader, caught up and promotable.`,
        "",
        `| points × updates | ${COLUMNS.map(([, h]) => h).join(" | ")} | identical | measured |`,
        `| --- | ${COLUMNS.map(() => "---").join(" | ")} | --- | --- |`,
    ];
    const size = `${r.points} × ${r.updates_per_point}`;
    const row = `| ${size} | ${COLUMNS.map(([k]) => (r[k] === undefined ? "-" : String(r[k]))).join(" | ")} | ${r.data_identical ? "yes" : "NO"} | ${new Date().toISOString().slice(0, 16)}Z, ${machine()} |`;
    const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => /^\| \d+ × \d+ \|/.test(l) && !l.startsWith(`| ${size} |`)) : [];
    const rows = [...old, row].sort((a, b) => sizeOf(a) - sizeOf(b));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, [...head, ...rows, ""].join("\n"));
}

function sizeOf(row: string): number {
    const m = /^\| (\d+) × (\d+) \|/.exec(row);
    return m ? Number(m[1]) * 1e6 + Number(m[2]) : 0;
}
