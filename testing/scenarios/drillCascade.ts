/**
 * The cascade drill (issue 24): leader losses spaced as a real cascade spaces them, each one
 * `spacing` after the previous failover's first acknowledged write, while a sentinel-aware client
 * (ioredis) writes a point every 10 ms on top of `points` preloaded points.
 *
 * Per step it reports (the fault's time: when the leader stopped serving, the send time of the last
 * PING it answered while the fault was made, lastAnswer.ts):
 * - promoted_ms: fault → every sentinel names a new leader that reports role master;
 * - failover_ms: fault → the acknowledgement of the first write sent once the fault took effect
 *   (a frozen leader's last answers may still arrive after it);
 * - no_promotable_replica_ms: from the previous failover's first acknowledged write until the
 *   fault (or {@link SETTLE_WINDOW_MS} for the last step), the time in which NO follower was
 *   promotable in a majority of the sentinels' view. Promotable in a sentinel's view: it lists the
 *   node as a replica without s_down, o_down or disconnected, its last PING reply is under 5 s old,
 *   and the node itself reports replica-priority > 0 while it follows the named leader (Sentinel
 *   refreshes every replica's INFO at once when the leader goes down, so what counts is what the
 *   node reports now, not the sentinel's copy of up to 10 s ago);
 * - writes_lost: acknowledged ids of the step the final leader does not hold, and of those the
 *   ones beyond the window every asynchronous failover has (which must be 0): acknowledged more
 *   than 100 ms before a kill, or not in the 2 s after a frozen leader ran again (it answers the
 *   writes already in its sockets before its stall guard fences it);
 * and at the end whether every node holds the leader's data by content (ids and objects).
 */
import * as fs from "fs";
import Redis from "ioredis";
import * as path from "path";
import { ClusterProbe } from "../probe/clusterProbe";
import { collectionDigest, collectionOn, describeDifference, sameCollection } from "../probe/points";
import { bulkClient, loadPoints } from "../probe/pointLoader";
import { Ack, lostWrites, PointWriter, REPLICATION_WINDOW_MS } from "../probe/writer";
import { lastAnswerBefore } from "../probe/lastAnswer";
import { sleep, waitFor } from "../probe/wait";
import { machine } from "../machine";

/** How a leader is lost. */
export type CascadeFault = "kill" | "freeze" | "cut";
export const CASCADE_FAULTS: readonly CascadeFault[] = ["kill", "freeze", "cut"];
/** The issue's spacings (s after the previous failover's first acknowledged write). */
export const DEFAULT_SPACINGS_S = [0, 2, 5, 10, 20, 40];
/** After a frozen leader runs again (or a cut one is reachable again), the writes already in its sockets are answered before its stall guard fences it. */
export const THAW_WINDOW_MS = 2000;
/** The collection of the preloaded points. */
const LOAD_KEY = "cascade-load";
/** A step without a new leader after this long counts as no failover: the lost node is brought back. */
export const NO_FAILOVER_AFTER_MS = 30000;
/** How long after the last failover its promotable-replica time is measured. */
export const SETTLE_WINDOW_MS = 15000;

/** A cluster the cascade can strike: a probe that can also freeze (SIGSTOP) and thaw a node, and cut it off the network and heal it. */
export interface CascadeCluster extends ClusterProbe {
    freezeNode(i: number): Promise<void>;
    thawNode(i: number): Promise<void>;
    /**
     * Cuts node `i` off the network as a real partition does: every packet to and from its
     * Tile38 server and its supervisor is dropped (no reset, no ICMP), towards sentinels, other
     * nodes and clients alike, until {@link healNode}. Undefined where the engine cannot cut yet.
     */
    cutNode?(i: number): Promise<void>;
    healNode?(i: number): Promise<void>;
}

export interface CascadeOptions {
    /** Spacings in seconds; one fault per spacing, after a first fault on the converged cluster. */
    spacingsS?: number[];
    /** Faults, used in turn. @default ["kill"] */
    faults?: CascadeFault[];
    /** Points preloaded before the writer starts (collection `cascade-load`). @default 0 */
    points?: number;
    /** Sentinel down-after-milliseconds of the cluster, for the bound it reports. */
    downAfterMs: number;
    log?: (line: string) => void;
}

export interface CascadeStep {
    step: number;
    fault: CascadeFault;
    /** Requested spacing after the previous failover's first acknowledged write (null: the first fault). */
    spacing_ms: number | null;
    leader: string;
    new_leader: string | null;
    /** Fault → the acknowledgement of the first write sent after the fault took effect (what a client sees). */
    failover_ms: number | null;
    /** Fault → a majority of the sentinels name another node and it reports role master (the server side). */
    promoted_ms: number | null;
    /** Time without a promotable replica after the PREVIOUS failover, up to this fault. */
    no_promotable_replica_ms: number | null;
    writes_acknowledged: number;
    writes_lost: number;
    /** Lost writes outside the window of a kill (100 ms before it) or a thaw (2 s after it): must be 0. */
    writes_lost_beyond_window: number;
}

export interface CascadeResult {
    points: number;
    down_after_ms: number;
    /** down-after + 1.5 s: the bound each failover must meet. */
    failover_bound_ms: number;
    /**
     * With points preloaded: a follower killed and started again → promotable again (it loads its
     * AOF): the data's load time, which bounds the time without a promotable replica where a node
     * must reload. Null without points.
     */
    reload_ms: number | null;
    steps: CascadeStep[];
    /** Time without a promotable replica after the last failover (over {@link SETTLE_WINDOW_MS}). */
    last_no_promotable_replica_ms: number | null;
    writes_acknowledged: number;
    writes_lost: number;
    writes_lost_beyond_window: number;
    data_identical: boolean;
    differing_nodes: string[];
}

/** One sample of the promotable-replica watch. */
interface Sample {
    at: number;
    promotable: boolean;
}

/** True when a majority of the sentinels see some follower of the named leader as promotable (see the header). */
export async function promotableReplica(c: ClusterProbe, unavailable: Set<number>): Promise<boolean> {
    const leader = await c.agreedLeader();
    if (leader < 0) return false;
    const statuses = await Promise.all(c.topo.nodes.map((_n, i) => (i === leader || unavailable.has(i) || !c.nodeRunning(i) ? undefined : c.nodeStatus(i))));
    const good = new Set(statuses.flatMap((s, i) => (s && s.role === "slave" && s.following === c.endpoint(leader) && (s.priority ?? 0) > 0 ? [i] : [])));
    if (good.size === 0) return false;
    let seeing = 0;
    for (let s = 0; s < c.topo.sentinels.length; s++) {
        if (!c.sentinelRunning(s)) continue;
        const replicas = await c.sentinelReplicas(s).catch(() => [] as Record<string, string>[]);
        const sees = replicas.some((r) => good.has(c.indexOf(`${r.ip}:${r.port}`)) && !/s_down|o_down|disconnected/.test(r.flags) && Number(r["last-ok-ping-reply"]) < 5000);
        if (sees) seeing++;
    }
    return seeing * 2 > c.topo.sentinels.length;
}

/** Ms in [from, to) in which the samples say no replica was promotable (a sample holds until the next). */
export function unpromotableMs(samples: Sample[], from: number, to: number): number | null {
    const inRange = samples.filter((s) => s.at >= from && s.at < to);
    if (inRange.length === 0) return null;
    let total = 0;
    let prev = from;
    let prevOk = false; // nothing is known to be promotable before the first sample
    for (const s of inRange) {
        if (!prevOk) total += s.at - prev;
        prev = s.at;
        prevOk = s.promotable;
    }
    if (!prevOk) total += to - prev;
    return total;
}

/** The cluster's cut and heal, or a clear refusal when `faults` ask for a cut it cannot make. */
function cutter(c: CascadeCluster, faults: CascadeFault[]): Required<Pick<CascadeCluster, "cutNode" | "healNode">> {
    const { cutNode, healNode } = c;
    if (cutNode && healNode) return { cutNode: (i) => cutNode.call(c, i), healNode: (i) => healNode.call(c, i) };
    const refuse = () => Promise.reject(new Error("this cluster cannot cut a node off the network"));
    if (faults.includes("cut")) throw new Error(`the cascade's "cut" fault needs a cluster that can cut a node off the network; this one cannot (faults: ${faults.join(", ")})`);
    return { cutNode: refuse, healNode: refuse };
}

/** Runs the cascade on a healthy cluster; leaves every node running. */
export async function runCascade(c: CascadeCluster, opts: CascadeOptions): Promise<CascadeResult> {
    const log = opts.log ?? (() => undefined);
    const spacings = opts.spacingsS ?? DEFAULT_SPACINGS_S;
    const faults = opts.faults ?? ["kill"];
    const points = opts.points ?? 0;
    const cut = cutter(c, faults);
    let reloadMs: number | null = null;
    const conn = {
        sentinels: c.topo.sentinels.map((s) => ({ host: s.host, port: s.port })),
        masterName: c.topo.masterName,
        tile38Password: c.passwords.tile38,
        sentinelPassword: c.passwords.sentinel,
    };
    await c.waitHealthy(120000);
    if (points > 0) {
        const loader: Redis = bulkClient(conn);
        const t0 = Date.now();
        try {
            await loadPoints(loader, points, { key: LOAD_KEY, progress: (n) => n % 200000 === 0 && log(`loaded ${n} points`) });
        } finally {
            loader.disconnect();
        }
        log(`${points} points loaded in ${Date.now() - t0} ms; waiting until every node holds them`);
        // Tile38's caught_up stays true while a follower works through a backlog: wait until every
        // follower's AOF is as long as the leader's (a kill before that loses the backlog).
        const leader = await c.waitHealthy(600000);
        const size = (await c.nodeStatus(leader))!.aofSize;
        for (let i = 0; i < c.topo.nodes.length; i++) {
            if (i !== leader) await waitFor(async () => ((await c.nodeStatus(i))?.aofSize ?? 0) >= size, { timeoutMs: 600000, what: `node ${i + 1} to hold the ${size} bytes of the leader's AOF`, intervalMs: 500 });
        }
        log(`every node holds them after ${Date.now() - t0} ms`);
        reloadMs = await timeFollowerReload(c, leader);
        log(`a follower killed and started again was promotable again after ${reloadMs} ms (the data's load time)`);
    }
    const writer = new PointWriter({ ...conn, key: `cascade-${Date.now()}` });
    const unavailable = new Set<number>();
    const samples: Sample[] = [];
    let sampling = true;
    const sampler = (async () => {
        while (sampling) {
            const at = Date.now();
            samples.push({ at, promotable: await promotableReplica(c, unavailable).catch(() => false) });
            await sleep(Math.max(0, at + 150 - Date.now()));
        }
    })();
    const steps: CascadeStep[] = [];
    /**
     * When an acknowledged write may be lost with its leader, as in any asynchronous failover: from
     * 100 ms before the leader's last answer until 100 ms after the call that made the fault
     * returned, and from a frozen leader's thaw until 2 s after it.
     */
    const windows: [number, number][] = [];
    const faultTimes: number[] = [];
    try {
        writer.start();
        await waitFor(() => writer.acks.length >= 50, { timeoutMs: 30000, what: "the first 50 writes" });
        let previousAck: number | undefined;
        const plan: (number | null)[] = [null, ...spacings];
        for (let k = 0; k < plan.length; k++) {
            const spacing = plan[k];
            const fault = faults[k % faults.length];
            if (spacing === null) await c.waitHealthy(120000);
            else await sleep(Math.max(0, previousAck! + spacing * 1000 - Date.now()));
            const leader = await waitFor(() => c.leadingNode(), { timeoutMs: 60000, what: "a leader the sentinels agree on", intervalMs: 50 });
            if (fault !== "kill") unavailable.add(leader);
            const made = await lastAnswerBefore(c.topo.nodes[leader], c.passwords.tile38, () => (fault === "kill" ? c.killNode(leader) : fault === "freeze" ? c.freezeNode(leader) : cut.cutNode(leader)));
            const [faultAt, goneAt] = [made.lastAnswerAt, made.madeAt];
            faultTimes.push(faultAt);
            const noPromotable = previousAck === undefined ? null : unpromotableMs(samples, previousAck, faultAt);
            let promotedAt: number | undefined;
            windows.push([faultAt - REPLICATION_WINDOW_MS, goneAt + REPLICATION_WINDOW_MS]);
            log(`step ${k}: ${fault} of node ${leader + 1} (${c.endpoint(leader)})${spacing === null ? "" : ` ${spacing} s after the previous failover`}; no promotable replica for ${noPromotable} ms before it`);
            let next: number | undefined;
            let ack: Ack | undefined;
            try {
                const promoted = await waitFor(() => c.leadingNodeSince(leader), { timeoutMs: NO_FAILOVER_AFTER_MS, what: "a new leader", intervalMs: 20 });
                [next, promotedAt] = [promoted.index, promoted.at];
            } catch (e) {
                log(`step ${k}: NO FAILOVER: ${(e as Error).message}\n${await c.logTails(30)}`);
            }
            // The lost node comes back once the sentinels agree on another (or gave up): a killed one
            // is started again, a frozen one runs again (and must fence itself and follow).
            if (fault === "kill") await c.restartNode(leader);
            else {
                const thawAt = Date.now();
                await (fault === "freeze" ? c.thawNode(leader) : cut.healNode(leader));
                windows.push([thawAt, Date.now() + THAW_WINDOW_MS]);
                unavailable.delete(leader);
            }
            if (next === undefined) {
                // No failover: the lost node, back now (as a restart policy brings it back), may lead
                // again; the cascade goes on from whichever node leads.
                next = await waitFor(() => c.leadingNode(), { timeoutMs: 300000, what: "any leader after the lost one came back", intervalMs: 100 }).catch(() => undefined);
                log(`step ${k}: no failover within ${NO_FAILOVER_AFTER_MS} ms; once the lost node was back, ${next === undefined ? "still no leader" : `node ${next + 1} leads`}`);
            }
            if (next !== undefined) {
                ack = await waitFor(() => writer.firstAckSentAfter(goneAt), { timeoutMs: 30000, what: "a write sent after the fault", intervalMs: 20 }).catch(async (e: Error) => {
                    log(`step ${k}: no write acknowledged after the fault: ${e.message}; client errors: ${writer.recentErrors.join(" | ")}`);
                    return undefined;
                });
            }
            steps.push({
                step: k,
                fault,
                spacing_ms: spacing === null ? null : spacing * 1000,
                leader: c.endpoint(leader),
                new_leader: promotedAt === undefined ? null : c.endpoint(next!),
                failover_ms: ack && promotedAt !== undefined ? ack.ackAt - faultAt : null,
                promoted_ms: promotedAt === undefined ? null : promotedAt - faultAt,
                no_promotable_replica_ms: noPromotable,
                writes_acknowledged: 0,
                writes_lost: 0,
                writes_lost_beyond_window: 0,
            });
            log(`step ${k}: ${ack ? `node ${next! + 1} leads; first write acknowledged ${ack.ackAt - faultAt} ms after the fault` : "no write acknowledged"}`);
            if (!ack) break;
            previousAck = ack.ackAt;
        }
        const lastAck = previousAck ?? Date.now();
        await sleep(Math.max(0, lastAck + SETTLE_WINDOW_MS - Date.now()));
        const lastNoPromotable = previousAck === undefined ? null : unpromotableMs(samples, lastAck, lastAck + SETTLE_WINDOW_MS);
        const final = await c.waitHealthy(300000);
        await writer.stop();
        const held = await collectionOn(c.topo.nodes[final], c.passwords.tile38, writer.key);
        const ids = new Set(held.keys());
        const inAWindow = (a: Ack) => windows.some(([from, to]) => a.ackAt >= from && a.ackAt <= to);
        const all = lostWrites(writer.acks, ids);
        const lost = all.filter((a) => !inAWindow(a));
        const inWindow = all.filter(inAWindow);
        for (const a of lost) log(`LOST beyond the window: ${a.id} sent ${new Date(a.sentAt).toISOString()} acknowledged ${new Date(a.ackAt).toISOString()}; windows ${windows.map(([f, t]) => `${new Date(f).toISOString()}..${new Date(t).toISOString()}`).join(", ")}`);
        // A write belongs to the step whose fault came last before it was sent (the first step's
        // writes also hold those sent before the first fault).
        const stepOf = (a: Ack) => {
            let idx = 0;
            for (let i = 0; i < faultTimes.length; i++) if (a.sentAt >= faultTimes[i]) idx = i;
            return idx;
        };
        for (const a of writer.acks) steps[stepOf(a)].writes_acknowledged++;
        for (const a of [...lost, ...inWindow]) steps[stepOf(a)].writes_lost++;
        for (const a of lost) steps[stepOf(a)].writes_lost_beyond_window++;
        const differing: string[] = [];
        const loaded = points > 0 ? await collectionDigest(c.topo.nodes[final], c.passwords.tile38, LOAD_KEY) : undefined;
        if (loaded && loaded.count !== points) {
            differing.push(c.endpoint(final));
            log(`the leader holds ${loaded.count} of the ${points} loaded points`);
        }
        for (let i = 0; i < c.topo.nodes.length; i++) {
            if (i === final || !c.nodeRunning(i)) continue;
            await waitFor(async () => (await c.nodeStatus(i))?.caughtUp, { timeoutMs: 60000, what: `node ${i + 1} caught up` }).catch(() => undefined);
            const theirs = await collectionOn(c.topo.nodes[i], c.passwords.tile38, writer.key).catch(() => new Map<string, string>());
            if (!sameCollection(theirs, held)) {
                differing.push(c.endpoint(i));
                log(`node ${i + 1} differs from the leader in ${writer.key}: ${describeDifference(theirs, held)}`);
            }
            if (loaded) {
                const digest = await collectionDigest(c.topo.nodes[i], c.passwords.tile38, LOAD_KEY).catch((e: Error) => ({ count: -1, md5: e.message }));
                if (digest.md5 !== loaded.md5) {
                    differing.push(c.endpoint(i));
                    log(`node ${i + 1} differs from the leader in ${LOAD_KEY}: ${digest.count} points, digest ${digest.md5} (the leader: ${loaded.count}, ${loaded.md5})`);
                }
            }
        }
        return {
            points,
            down_after_ms: opts.downAfterMs,
            failover_bound_ms: opts.downAfterMs + 1500,
            reload_ms: reloadMs,
            steps,
            last_no_promotable_replica_ms: lastNoPromotable,
            writes_acknowledged: writer.acks.length,
            writes_lost: lost.length + inWindow.length,
            writes_lost_beyond_window: lost.length,
            data_identical: differing.length === 0,
            differing_nodes: [...new Set(differing)],
        };
    } finally {
        sampling = false;
        await sampler;
        await writer.close();
    }
}

/**
 * The issue's goals, judged at every spacing from 5 s up (and the first fault): each leader
 * promoted within down-after + 1.5 s, a promotable replica again within 2 s (or the data's load
 * time, {@link CascadeResult.reload_ms}, where a node must reload); and over the whole run nothing
 * lost beyond the window and every node with the leader's data.
 */
export function cascadeGoalsMet(r: CascadeResult, promotableBoundMs = 2000): boolean {
    const bound = Math.max(promotableBoundMs, r.reload_ms ?? 0);
    const judged = r.steps.filter((s) => s.spacing_ms === null || s.spacing_ms >= 5000);
    return (
        r.steps.every((s) => s.promoted_ms !== null) &&
        judged.every((s) => s.promoted_ms! <= r.failover_bound_ms && (s.no_promotable_replica_ms ?? 0) <= bound) &&
        (r.last_no_promotable_replica_ms ?? 0) <= bound &&
        r.writes_lost_beyond_window === 0 &&
        r.data_identical
    );
}

/** Kills a follower of `leader` and starts it again: ms until it is promotable again (caught up, priority above 0). */
async function timeFollowerReload(c: CascadeCluster, leader: number): Promise<number> {
    const f = c.topo.nodes.findIndex((_n, i) => i !== leader);
    const t0 = Date.now();
    await c.killNode(f);
    await c.restartNode(f);
    await waitFor(async () => {
        const st = await c.nodeStatus(f);
        return st?.role === "slave" && st.caughtUp && (st.priority ?? 0) > 0 ? true : undefined;
    }, { timeoutMs: 600000, what: `node ${f + 1} promotable again after a restart`, intervalMs: 100 });
    const ms = Date.now() - t0;
    await c.waitHealthy(600000);
    return ms;
}

/** A table of the steps and the totals. */
export function describeCascade(r: CascadeResult): string {
    const head = ["step", "fault", "spacing_ms", "leader", "new_leader", "promoted_ms", "failover_ms", "no_promotable_ms", "acked", "lost", "lost_beyond_window"];
    const rows = r.steps.map((s) => [s.step, s.fault, s.spacing_ms ?? "-", s.leader, s.new_leader ?? "NONE", s.promoted_ms ?? "NONE", s.failover_ms ?? "NONE", s.no_promotable_replica_ms ?? "-", s.writes_acknowledged, s.writes_lost, s.writes_lost_beyond_window].map(String));
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i])).join("  ");
    return [
        `cascade: ${r.points} points preloaded${r.reload_ms === null ? "" : ` (a follower's restart until promotable again: ${r.reload_ms} ms)`}; promotion bound ${r.failover_bound_ms} ms (down-after ${r.down_after_ms} + 1500); judged from 5 s spacings up`,
        line(head),
        ...rows.map(line),
        `after the last failover: no promotable replica for ${r.last_no_promotable_replica_ms} ms (of ${SETTLE_WINDOW_MS})`,
        `writes acknowledged ${r.writes_acknowledged}, lost ${r.writes_lost} (${r.writes_lost_beyond_window} beyond the window: from 100 ms before a fault to 100 ms after it took effect, 2 s after a thaw)`,
        `every node holds the leader's data (ids and objects): ${r.data_identical ? "yes" : `NO (${r.differing_nodes.join(", ")})`}`,
        `goals met: ${cascadeGoalsMet(r) ? "yes" : "NO"}`,
    ].join("\n") + "\n";
}

/** The figures a suite prints for a cascade run, keyed with `prefix`. */
export function cascadeFigures(r: CascadeResult, prefix: string): Record<string, string> {
    return {
        [`${prefix} failover ms per step`]: r.steps.map((s) => s.failover_ms ?? "NONE").join(" / "),
        [`${prefix} ms without a promotable replica after each failover`]: [...r.steps.slice(1).map((s) => s.no_promotable_replica_ms ?? 0), r.last_no_promotable_replica_ms].join(" / "),
        [`${prefix} writes acknowledged / lost (beyond the window)`]: `${r.writes_acknowledged} / ${r.writes_lost} (${r.writes_lost_beyond_window})`,
    };
}

/** Writes the cascade's figures to `file` (Markdown): what ran (`how`), when, on which machine, and the table. */
export function recordCascade(file: string, r: CascadeResult, how: string): void {
    const text = [`<!-- written by ${how}; run it again to replace -->`, `Measured ${new Date().toISOString()} on ${machine()} with ${how}:`, "", "```", describeCascade(r).trimEnd(), "```", ""].join("\n");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
}
