/**
 * The alert drill: puts a running cluster, one fault at a time, into each state a shipped alert
 * names, and checks that a real Prometheus (scraping the cluster, evaluating the shipped
 * expressions with their `for` cut to 1 s: `RealPrometheus` `drillRules`) fires that alert, that
 * the read-only `status` reports the same state as the drill's own truth (read from the nodes and
 * sentinels directly), and that all of it clears once the fault is undone. The same steps run on
 * the deployed Docker stack and the single-node Kubernetes stack (and on processes on loopback, a
 * Tile38Cluster, where they were written): the target says only how to reach its processes.
 *
 * Steps, in order (each leaves the cluster healthy, bounded waits):
 *  1. leader lost (killed, then back): Tile38HaNoWritableLeader, Tile38HaTile38Down, Tile38HaFailover;
 *  2. a follower's supervisor hangs (its start script's loop frozen) and the follower is made a
 *     leader: Tile38HaTwoLeaders; then it follows the leader through a link that stalls after
 *     the handshake (testing/fixtures/stalledLeader.ts):
 *     Tile38HaFollowerNotCaughtUp, status "not caught up" with the lag the drill measures;
 *  3. one sentinel's watchdog hangs and the sentinel is re-pointed at a follower, deaf to its
 *     peers' hellos (no PUBLISH to it, no SUBSCRIBE from it): Tile38HaSentinelsDisagree;
 *  4. two sentinels of three stall (every process frozen): Tile38HaSentinelDown,
 *     Tile38HaSentinelQuorumLost, the leader fences itself (Tile38HaNodeReadOnly where backup
 *     agents export it), status "no writable leader"; thawed, both stalled sentinels enter TILT:
 *     Tile38HaSentinelTilt, until TILT ends (30 s).
 * The backup alerts belong to the backup drills (a broken store), not here.
 */
import { ClusterStatus } from "../../components/status/clusterStatus";
import { RealPrometheus } from "../fixtures/prometheus";
import { StalledLeader } from "../fixtures/stalledLeader";
import { ClusterProbe } from "../probe/clusterProbe";
import { AlertWatch } from "../probe/alertWatch";
import { freeze, processSubtree, scriptLoops, thaw } from "../probe/processTree";
import { sleep, waitFor } from "../probe/wait";

/**
 * For every shipped alert, the state in which the suites see it fire on a real Prometheus (this
 * drill, or the backup store refusing the agents' keys: the Docker suite's b3, the Kubernetes suite's k2). A unit test keeps it complete; the
 * README's alert list is written from it (`npm run docs:monitoring`).
 */
export const ALERTS_SEEN_LIVE: Record<string, string> = {
    Tile38HaNoWritableLeader: "the leader killed, until a follower is promoted",
    Tile38HaTwoLeaders: "a follower made a leader while its supervisor hangs",
    Tile38HaSentinelsDisagree: "one sentinel re-pointed at a follower, deaf to its peers",
    Tile38HaFailover: "the leader killed (for 10 minutes after)",
    Tile38HaTile38Down: "the leader killed, until it is back",
    Tile38HaFollowerNotCaughtUp: "a follower whose link to its leader stalls after the handshake",
    Tile38HaNodeReadOnly: "two sentinels of three stalled: the leader fences itself",
    Tile38HaSentinelDown: "two sentinels of three stalled",
    Tile38HaSentinelQuorumLost: "two sentinels of three stalled",
    Tile38HaSentinelTilt: "a stalled sentinel runs again",
    Tile38HaBackupStale: "the backup store refuses the agents' keys",
    Tile38HaBackupAgentUnhealthy: "the backup store refuses the agents' keys",
    Tile38HaBackupFailing: "the backup store refuses the agents' keys",
};

/** What the drill needs of a running cluster besides its probe. */
export interface AlertDrillTarget {
    /** Who leads, who follows; kills and restarts nodes. */
    probe: ClusterProbe;
    /** The Prometheus that scrapes this cluster with `drillRules`. */
    prom: RealPrometheus;
    /** The `tile38_ha_cluster` label of its targets. */
    cluster: string;
    /** Pid, on this machine, of the start script of node `i` or sentinel `i` (its container's first process). */
    scriptPid(kind: "node" | "sentinel", i: number): Promise<number>;
    /** The status as `npm run status` computes it for this cluster. */
    status(): Promise<ClusterStatus>;
    /** An address the nodes reach and this machine can listen on, and a free port there (below 32768). */
    stalledLeaderAt: { host: string; port: number };
    /** Backup agents export the nodes' read-only state (Tile38HaNodeReadOnly can fire). */
    agentsExportReadOnly: boolean;
    /** Bound on each wait for an alert to fire or clear. @default 45000 ms */
    alertTimeoutMs?: number;
    /** Bound on each wait for the cluster to be healthy again. @default 90000 ms */
    healthyTimeoutMs?: number;
}

/** One step's figures: ms from the fault to each alert firing, from the undoing to all clear. */
export interface AlertDrillStep {
    step: string;
    firingMs: Record<string, number>;
    clearedMs: number;
    /** The status' verdict while the fault held. */
    verdict: ClusterStatus["verdict"];
    /** Its problems while the fault held. */
    problems: string[];
}

const COLLECTION = "tile38-ha-alert-drill";

/** Runs the four steps; throws on the first mismatch (with the active alerts and the status). */
export async function runAlertDrill(t: AlertDrillTarget): Promise<AlertDrillStep[]> {
    const steps: AlertDrillStep[] = [];
    for (const step of [leaderLost, strayAndStalledFollower, sentinelNamesAnother, twoSentinelsStall]) {
        await t.probe.waitHealthy(t.healthyTimeoutMs ?? 90_000);
        const watch = new AlertWatch(t.prom, t.cluster);
        try {
            steps.push(await step(t, watch));
        } finally {
            await watch.stop();
        }
    }
    await t.probe.nodeCall(await t.probe.agreedLeader(), ["DROP", COLLECTION]);
    return steps;
}

/** `step: alert 1234 ms, …; cleared 5678 ms` per step. */
export function describeAlertDrill(steps: AlertDrillStep[]): string {
    return steps
        .map((s) => `${s.step}: ${Object.entries(s.firingMs).map(([a, ms]) => `${a} ${ms} ms`).join(", ")}; cleared ${s.clearedMs} ms; status ${s.verdict}`)
        .join("\n");
}

/**
 * Waits until `name` fires for this cluster; ms from `since` to the first sample that saw it
 * firing (the watch samples every 250 ms, so alerts awaited one after the other keep their own times).
 */
async function fired(t: AlertDrillTarget, watch: AlertWatch, name: string, since: number): Promise<number> {
    await t.prom.waitForAlert(name, "firing", t.alertTimeoutMs ?? 45_000, { tile38_ha_cluster: t.cluster });
    return (watch.seen.get(name)?.firstFiring ?? Date.now()) - since;
}

/** Waits until none of `names` is active for this cluster. */
async function cleared(t: AlertDrillTarget, names: string[]): Promise<void> {
    for (const n of names) await t.prom.waitForAlert(n, "inactive", t.alertTimeoutMs ?? 45_000, { tile38_ha_cluster: t.cluster });
}

/** The status, checked by `check`; on a mismatch the error carries the whole status. */
async function statusWhere(t: AlertDrillTarget, what: string, check: (s: ClusterStatus) => boolean | Promise<boolean>): Promise<ClusterStatus> {
    let last: ClusterStatus | undefined;
    try {
        return await waitFor(async () => ((last = await t.status()), (await check(last)) ? last : undefined), { timeoutMs: 15_000, what: `status to say ${what}`, intervalMs: 500 });
    } catch (e) {
        throw new Error(`${(e as Error).message}; last status: ${JSON.stringify(last)}`);
    }
}

/** Index of a running follower of the agreed leader. */
function aFollower(t: AlertDrillTarget, leader: number): number {
    return [0, 1, 2].find((i) => i !== leader && t.probe.nodeRunning(i))!;
}

async function leaderLost(t: AlertDrillTarget, watch: AlertWatch): Promise<AlertDrillStep> {
    const p = t.probe;
    const old = await p.agreedLeader();
    const at = Date.now();
    await p.killNode(old);
    const firingMs = {
        Tile38HaNoWritableLeader: await fired(t, watch, "Tile38HaNoWritableLeader", at),
        Tile38HaFailover: await fired(t, watch, "Tile38HaFailover", at),
        Tile38HaTile38Down: await fired(t, watch, "Tile38HaTile38Down", at),
    };
    const promoted = await waitFor(() => p.leadingNode(old), { timeoutMs: 30_000, what: "a promoted leader" });
    const s = await statusWhere(t, `leader ${p.endpoint(promoted)} and ${p.endpoint(old)} silent`, (x) => x.leader === p.endpoint(promoted) && x.nodes.some((n) => n.node === p.endpoint(old) && !n.answers) && x.exitCode === 1);
    const back = Date.now();
    await p.restartNode(old);
    await p.waitHealthy(t.healthyTimeoutMs ?? 90_000);
    await cleared(t, ["Tile38HaNoWritableLeader", "Tile38HaTile38Down"]);
    return { step: "leader lost", firingMs, clearedMs: Date.now() - back, verdict: s.verdict, problems: s.problems };
}

async function strayAndStalledFollower(t: AlertDrillTarget, watch: AlertWatch): Promise<AlertDrillStep> {
    const p = t.probe;
    const leader = await p.agreedLeader();
    const f = aFollower(t, leader);
    const stalled = await StalledLeader.start(t.stalledLeaderAt.host, t.stalledLeaderAt.port, p.topo.nodes[leader]);
    const script = await t.scriptPid("node", f);
    const loops = await freeze(() => scriptLoops(script).flatMap((l) => processSubtree(l).map((x) => x.pid)), `node ${f + 1}'s supervisor (node_life and its stall guard)`);
    let verdict: ClusterStatus["verdict"];
    let problems: string[];
    const firingMs: Record<string, number> = {};
    let back = 0;
    let hold: { stop(): Promise<void> } | undefined;
    try {
        const at = Date.now();
        mustSucceed(await p.nodeCall(f, ["FOLLOW", "no", "one"]), "FOLLOW no one");
        firingMs.Tile38HaTwoLeaders = await fired(t, watch, "Tile38HaTwoLeaders", at);
        await statusWhere(t, `${p.endpoint(f)} also a leader`, (x) => x.leader === p.endpoint(leader) && x.problems.some((m) => m.includes(`node ${p.endpoint(f)} also reports itself a leader`)) && x.exitCode === 1);
        // Writes it misses (the lag the status must report, measured by the drill on both nodes),
        // then it follows the leader through a link that stalls after the handshake.
        const missWrites = async () => {
            for (let k = 0; k < 50; k++) mustSucceed(await p.nodeCall(leader, ["SET", COLLECTION, `k${k}`, "POINT", 33 + Math.random() / 1000, -115]), "SET on the leader");
        };
        await missWrites();
        const cut = Date.now();
        mustSucceed(await p.nodeCall(f, ["FOLLOW", stalled.host, stalled.port], 5000), `FOLLOW the stalled leader ${stalled.endpoint}`);
        // Sentinel re-points a replica that follows another address once failover-timeout has
        // passed (+fix-slave-config; right after a failover the sentinels' watchdogs hold it at
        // 2 s): the drill keeps the follower on the stalled leader, with writes it misses again.
        hold = holdOnStalledLeader(p, f, stalled, missWrites);
        firingMs.Tile38HaFollowerNotCaughtUp = await fired(t, watch, "Tile38HaFollowerNotCaughtUp", cut);
        // Both nodes' AOFs read just before and just after the status, while the follower stays on
        // the proxy: the status's lag must be their difference at one of the two moments (a
        // sentinel re-pointing the follower, and the writes it then misses again, change it between
        // reads: "status 4751, AOFs 3134" once when they were read only after).
        let lags = "";
        const aofLag = async () => {
            const [ls, fs] = [await p.nodeStatus(leader), await p.nodeStatus(f)];
            return fs?.following === stalled.endpoint && !fs.caughtUp && ls ? ls.aofSize - fs.aofSize : undefined;
        };
        const what = `${p.endpoint(f)} not caught up behind ${p.endpoint(leader)}, by as many bytes as the nodes' AOFs differ`;
        let last: ClusterStatus | undefined;
        const s = await waitFor(
            async () => {
                const before = await aofLag();
                const x = (last = await t.status());
                const after = await aofLag();
                const n = x.nodes.find((v) => v.node === p.endpoint(f));
                if (!(n?.caughtUp === false && n.following === stalled.endpoint && x.exitCode === 1)) return undefined;
                lags = `status ${String(n.lagBytes)}, AOFs ${String(before)} before it / ${String(after)} after it`;
                return n.lagBytes !== undefined && n.lagBytes > 0 && (n.lagBytes === before || n.lagBytes === after) ? x : undefined;
            },
            { timeoutMs: 15_000, what: `status to say ${what}`, intervalMs: 500 },
        ).catch((e: Error) => {
            throw new Error(`${e.message}; lag seen last: ${lags}; last status: ${JSON.stringify(last)}`);
        });
        verdict = s.verdict;
        problems = s.problems;
    } finally {
        back = Date.now();
        await hold?.stop();
        thaw(loops);
        await stalled.close();
    }
    await p.waitHealthy(t.healthyTimeoutMs ?? 90_000);
    await cleared(t, ["Tile38HaTwoLeaders", "Tile38HaFollowerNotCaughtUp"]);
    return { step: "stray leader, then a follower of a stalled leader", firingMs, clearedMs: Date.now() - back, verdict, problems };
}

/**
 * Every 250 ms until stopped: node `f` follows `stalled` again (then `missed()` writes on the
 * leader what it misses) whenever something re-pointed it.
 */
function holdOnStalledLeader(p: AlertDrillTarget["probe"], f: number, stalled: StalledLeader, missed: () => Promise<void>): { stop(): Promise<void> } {
    let stopped = false;
    const loop = (async () => {
        while (!stopped) {
            const st = await p.nodeStatus(f);
            if (st && st.following !== stalled.endpoint && !stopped) {
                await p.nodeCall(f, ["FOLLOW", stalled.host, stalled.port], 5000);
                await missed();
            }
            await sleep(250);
        }
    })();
    return {
        stop: async () => {
            stopped = true;
            await loop;
        },
    };
}

async function sentinelNamesAnother(t: AlertDrillTarget, watch: AlertWatch): Promise<AlertDrillStep> {
    const p = t.probe;
    const leader = await p.agreedLeader();
    const f = aFollower(t, leader);
    const j = 2;
    const settings = await p.sentinelMaster(j);
    const script = await t.scriptPid("sentinel", j);
    const loops = await freeze(() => scriptLoops(script).flatMap((l) => processSubtree(l).map((x) => x.pid)), `sentinel ${j + 1}'s watchdog`);
    let s: ClusterStatus;
    const firingMs: Record<string, number> = {};
    let back = 0;
    try {
        const at = Date.now();
        const m = p.topo.masterName;
        const node = p.topo.nodes[f];
        // Deaf to its peers' newer configuration: they cannot PUBLISH their hellos to it (ACL),
        // and it cannot SUBSCRIBE to the hellos on the nodes (renamed, in the same pipeline as the
        // MONITOR so that the new master's links are made after the rename).
        const replies = await p.sentinelPipeline(j, [
            ["ACL", "SETUSER", "default", "-publish"],
            ["SENTINEL", "REMOVE", m],
            ["SENTINEL", "MONITOR", m, node.host, node.port, settings.quorum],
            // Its own timings, before it hears of any peer (a peer takes the down-after it finds).
            ["SENTINEL", "SET", m, "down-after-milliseconds", settings["down-after-milliseconds"], "failover-timeout", settings["failover-timeout"], "auth-pass", p.passwords.tile38],
            ["SENTINEL", "SET", m, "rename-command", "SUBSCRIBE", "TILE38-HA-DRILL-NO-SUBSCRIBE"],
        ]);
        replies.forEach((r, k) => mustSucceed(r, `sentinel ${j + 1}, command ${k + 1} of the re-pointing`));
        firingMs.Tile38HaSentinelsDisagree = await fired(t, watch, "Tile38HaSentinelsDisagree", at);
        s = await statusWhere(t, `sentinel ${j + 1} naming ${p.endpoint(f)}`, (x) => !x.sentinelsAgree && x.leader === p.endpoint(leader) && x.sentinels[j].leader === p.endpoint(f) && x.exitCode === 1);
    } finally {
        // Its peers' next hello (a newer configuration epoch) switches it back to their leader;
        // else the watchdog, which sees it name a node that does not lead while its peers agree
        // on one that does, re-monitors that one (a new master entry: no rename).
        back = Date.now();
        mustSucceed(await p.sentinelCall(j, ["ACL", "SETUSER", "default", "+publish"]), "ACL SETUSER default +publish");
        thaw(loops);
    }
    await p.waitHealthy(t.healthyTimeoutMs ?? 90_000);
    await cleared(t, ["Tile38HaSentinelsDisagree"]);
    return { step: "a sentinel names a follower", firingMs, clearedMs: Date.now() - back, verdict: s.verdict, problems: s.problems };
}

async function twoSentinelsStall(t: AlertDrillTarget, watch: AlertWatch): Promise<AlertDrillStep> {
    const p = t.probe;
    const leader = await p.agreedLeader();
    const stalledSentinels = [0, 1];
    const frozen: number[] = [];
    let s: ClusterStatus;
    const firingMs: Record<string, number> = {};
    const at = Date.now();
    let back = 0;
    try {
        for (const j of stalledSentinels) {
            const script = await t.scriptPid("sentinel", j);
            frozen.push(...(await freeze(() => processSubtree(script).map((x) => x.pid), `sentinel ${j + 1}`)));
        }
        firingMs.Tile38HaSentinelDown = await fired(t, watch, "Tile38HaSentinelDown", at);
        firingMs.Tile38HaSentinelQuorumLost = await fired(t, watch, "Tile38HaSentinelQuorumLost", at);
        if (t.agentsExportReadOnly) firingMs.Tile38HaNodeReadOnly = await fired(t, watch, "Tile38HaNodeReadOnly", at);
        // The leader fences itself once no majority of the sentinels confirms it.
        await waitFor(async () => ((await p.nodeStatus(leader))?.readOnly ? true : undefined), { timeoutMs: 30_000, what: `leader ${p.endpoint(leader)} to fence itself` });
        firingMs.fenced = Date.now() - at;
        s = await statusWhere(
            t,
            "no writable leader, the leader fenced, two sentinels silent",
            (x) => x.exitCode === 2 && stalledSentinels.every((j) => !x.sentinels[j].answers) && x.nodes.some((n) => n.node === p.endpoint(leader) && n.fenced === true),
        );
    } finally {
        back = Date.now();
        thaw(frozen);
    }
    firingMs.Tile38HaSentinelTilt = await fired(t, watch, "Tile38HaSentinelTilt", at);
    await p.waitHealthy(t.healthyTimeoutMs ?? 90_000);
    await cleared(t, ["Tile38HaSentinelDown", "Tile38HaSentinelQuorumLost", "Tile38HaNodeReadOnly"]);
    const clearedMs = Date.now() - back;
    // TILT lasts 30 s after the last clock jump; a sentinel in TILT acts on nothing, so the next
    // test must not start before it ends.
    await t.prom.waitForAlert("Tile38HaSentinelTilt", "inactive", 60_000, { tile38_ha_cluster: t.cluster });
    return { step: "two sentinels stall", firingMs, clearedMs, verdict: s.verdict, problems: s.problems };
}

/** Throws unless a command answered OK (or a plain value, not an error). */
function mustSucceed(reply: unknown, what: string): void {
    const text = typeof reply === "string" ? reply : JSON.stringify(reply);
    if (reply === null || (typeof reply === "object" && !Array.isArray(reply)) || /^(ERR|-)/.test(text)) throw new Error(`${what}: ${text}`);
}

