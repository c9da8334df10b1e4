/**
 * Failover with the REAL servers, in the `dev` (Docker host networking) topology on 127.0.0.1:
 * three real tile38-server 1.37.0 nodes run by the rendered start script under busybox sh, three
 * real Redis Sentinels run by the rendered sentinel start script, and a real sentinel-aware client
 * (ioredis with `sentinels`). Every wait is bounded; on failure every process log is shown.
 *
 * Ports of this file: sentinels 27000-27002, Tile38 nodes 27010-27012. Skipped (with the reason)
 * where tile38-server is not installed.
 */
import * as fs from "fs";
import { writesResumedAfter } from "../../testing/scenarios/drillReport";
import { describeWithTile38, Tile38Cluster } from "../../testing/fixtures/loopback/cluster";
import { collectionOn, describeDifference, sameCollection } from "../../testing/probe/points";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { Sampler } from "../../testing/probe/sampler";
import { Ack, idsOn, lostAroundKills, lostWrites, PointWriter, REPLICATION_WINDOW_MS } from "../../testing/probe/writer";
import { sleep, waitFor } from "../../testing/probe/wait";

const SENTINEL_PORT = 27000;
const TILE38_PORT = 27010;

let h: Harness | undefined;
let cluster: Tile38Cluster;
let writer: PointWriter | undefined;

async function startCluster(): Promise<Tile38Cluster> {
    h = new Harness("tile38-ha-failover");
    cluster = await Tile38Cluster.start({ label: "failover", sentinelPort: SENTINEL_PORT, tile38Port: TILE38_PORT, harness: h });
    return cluster;
}

function newWriter(prefix = "p"): PointWriter {
    const w = new PointWriter({
        sentinels: cluster.topo.sentinels.map((s) => ({ host: s.host, port: s.port })),
        masterName: cluster.topo.masterName,
        tile38Password: cluster.passwords.tile38,
        sentinelPassword: cluster.passwords.sentinel,
    }, prefix);
    writer = w;
    return w;
}

/** When a leader was SIGKILLed in the current test (ms since epoch): see lostAroundKills. */
let leaderKills: number[] = [];

/** SIGKILL of node `i`, noting the time when it led. */
async function killNode(i: number): Promise<void> {
    if ((await cluster.agreedLeader()) === i) leaderKills.push(Date.now());
    await cluster.killNode(i);
}

/** Waits (bounded) until `n` more writes have been acknowledged. */
async function waitAcks(w: PointWriter, n: number, timeoutMs = 20000): Promise<void> {
    const target = w.acks.length + n;
    await waitFor(() => w.acks.length >= target, { timeoutMs, what: `${n} acknowledged writes (have ${w.acks.length})` });
}

afterEach(async () => {
    leaderKills = [];
    await writer?.close();
    writer = undefined;
    await h?.cleanup();
    h = undefined;
});

const logs = () => h;

describeWithTile38("failover with the real tile38-server and sentinels (dev topology)", () => {
    it(
        "a. bootstraps: one leader, caught-up followers, every sentinel counts 2 others, distinct sentinel ids",
        withLogs(logs, async () => {
            await startCluster();
            const leader = await cluster.agreedLeader();
            expect(leader).toBe(0); // node 1 leads a brand-new cluster
            const roles = await Promise.all([0, 1, 2].map((i) => cluster.nodeStatus(i)));
            expect(roles.map((r) => r?.role)).toEqual(["master", "slave", "slave"]);
            for (const r of roles.slice(1)) {
                expect(r).toMatchObject({ following: cluster.endpoint(0), caughtUp: true, caughtUpOnce: true, priority: 100 });
            }
            const ids = new Set<string>();
            for (let i = 0; i < 3; i++) {
                const m = await cluster.sentinelMaster(i);
                expect(m["num-other-sentinels"]).toBe("2");
                expect(m.quorum).toBe("2");
                expect(m["num-slaves"]).toBe("2");
                expect(m.flags).toBe("master");
                const myid = fs.readFileSync(cluster.sentinelProcs[i]!.conf, "utf8").match(/^sentinel myid (\w+)$/m)?.[1];
                expect(myid).toBeDefined();
                ids.add(myid!);
            }
            expect(ids.size).toBe(3);
        }),
    );

    it(
        "b. a sentinel-aware client (ioredis) writes points that every follower serves",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(200);
            await w.stop();
            const acked = new Set(w.acks.map((a) => a.id));
            for (let i = 0; i < 3; i++) {
                await waitFor(
                    async () => {
                        const ids = await idsOn(cluster.topo.nodes[i].port, cluster.passwords.tile38);
                        return [...acked].every((id) => ids.has(id));
                    },
                    { timeoutMs: 10000, what: `node ${i + 1} to hold every acknowledged point` },
                );
            }
            // A follower refuses writes: clients can only write through the leader.
            const refused = await cluster.nodeCall(1, ["SET", "fleet", "x", "POINT", 1, 2]);
            expect(String(refused)).toContain("not the leader");
        }),
    );

    it(
        "c. the leader killed (SIGKILL) and not restarted: a new leader, writes resume, nothing acknowledged 1 s before the kill is lost",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(200);
            await killNode(0);
            // Once it is gone: a write sent while killNode asked the sentinels who leads went to the old leader.
            const killedAt = Date.now();
            const resumed = await waitResumed(w, killedAt, "a write acknowledged after the kill");
            const newLeader = await waitFor(async () => {
                const l = await cluster.agreedLeader();
                return l > 0 ? l : undefined;
            }, { timeoutMs: 20000, what: "the sentinels to agree on a new leader" });
            await waitAcks(w, 50);
            await w.stop();
            const ids = await idsOn(cluster.topo.nodes[newLeader].port, cluster.passwords.tile38);
            expect(lostWrites(w.acks, ids, killedAt - 1000)).toEqual([]);
            expect(ids.has(resumed.id)).toBe(true);
            // The other follower follows the new leader.
            const other = [1, 2].find((i) => i !== newLeader)!;
            await waitFor(async () => (await cluster.nodeStatus(other))?.following === cluster.endpoint(newLeader), { timeoutMs: 20000, what: "the other follower to follow the new leader" });
            // eslint-disable-next-line no-console
            console.log(`failover after SIGKILL: first acknowledged write ${resumed.ackAt - killedAt} ms after the kill`);
        }),
    );

    it(
        "d. the old leader restarted: rejoins as a follower and never accepts a write as leader",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(100);
            await killNode(0);
            const newLeader = await waitNewLeader(0);
            cluster.startNode(0);
            // Write straight to the restarted node from the moment it starts until it follows.
            const accepted: string[] = [];
            const followed = await waitFor(
                async () => {
                    const r = await cluster.nodeCall(0, ["SET", "fleet", `direct${Date.now()}`, "POINT", 1, 2], 500).catch(() => undefined);
                    if (r === "OK") accepted.push(String(r));
                    return (await cluster.nodeStatus(0))?.following === cluster.endpoint(newLeader);
                },
                { timeoutMs: 30000, what: "the old leader to follow the new leader", intervalMs: 20 },
            );
            expect(followed).toBe(true);
            expect(accepted).toEqual([]);
            await cluster.waitHealthy(60000);
            expect(await cluster.agreedLeader()).toBe(newLeader);
            await waitAcks(w, 50);
            await w.stop();
            await expectAllOnEveryNode(w);
        }),
    );

    it(
        "e. a follower restarted after a failover follows the current leader, not the one its config names (Tile38 #689)",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(100);
            await killNode(2); // its config says: follow node 1
            await killNode(0);
            const newLeader = await waitNewLeader(0);
            expect(newLeader).toBe(1);
            await waitAcks(w, 50);
            const stale = JSON.parse(fs.readFileSync(cluster.dataFile(2, "config"), "utf8")) as Record<string, unknown>;
            expect(`${String(stale.follow_host)}:${String(stale.follow_port)}`).toBe(cluster.endpoint(0));
            cluster.startNode(2);
            cluster.startNode(0);
            await cluster.waitHealthy(60000);
            expect(await cluster.agreedLeader()).toBe(1);
            expect(cluster.nodeLog(2)).not.toContain("cannot follow a follower");
            await waitAcks(w, 50);
            await w.stop();
            await expectAllOnEveryNode(w);
        }),
    );

    it(
        "f. a node restarted with a wiped data dir during a failover is never promoted and catches up (Tile38 #750)",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(300);
            const named = new Set<string>();
            let watching = true;
            const watcher = (async () => {
                while (watching) {
                    for (const l of await cluster.sentinelLeaders()) if (l) named.add(l);
                    await sleep(50);
                }
            })();
            try {
                await killNode(1);
                await killNode(0);
                cluster.startNode(1, { wipe: true });
                const newLeader = await waitNewLeader(0);
                expect(newLeader).toBe(2);
                cluster.startNode(0);
                await cluster.waitHealthy(60000);
                await waitAcks(w, 50);
            } finally {
                watching = false;
                await watcher;
            }
            await w.stop();
            expect(named.has(cluster.endpoint(1))).toBe(false);
            expect(await cluster.agreedLeader()).toBe(2);
            await expectAllOnEveryNode(w);
        }),
    );

    it(
        "g. one sentinel down: failover still happens; two down: none; when they return, healthy",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(100);
            await cluster.stopSentinel(2);
            const second = await killLeaderAndRecover(0);

            await cluster.stopSentinel(1);
            await killNode(second);
            // One sentinel cannot reach quorum 2: it keeps naming the dead leader, nobody is promoted.
            const downAfter = cluster.stack.cfg.sentinel.downAfterMilliseconds;
            await sleep(downAfter * 3);
            expect(await cluster.sentinelLeaders()).toEqual([cluster.endpoint(second), undefined, undefined]);
            const roles = await Promise.all([0, 1, 2].filter((i) => i !== second).map((i) => cluster.nodeStatus(i)));
            expect(roles.map((r) => r?.role)).toEqual(["slave", "slave"]);

            await cluster.startSentinel(1);
            await cluster.startSentinel(2);
            const third = await waitNewLeader(second, 60000);
            cluster.startNode(second);
            await cluster.waitHealthy(60000);
            expect(await cluster.agreedLeader()).toBe(third);
            await waitAcks(w, 50);
            await w.stop();
            await expectAllOnEveryNode(w, Date.now());
        }),
    );

    it(
        "h. planned hand-over (the stop script, as `npm run failover` runs it): no acknowledged write is lost",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(200);
            const started = Date.now();
            const run = await cluster.runStopScript(0);
            expect(run.code).toBe(0);
            expect(run.log).toMatch(/leadership moved to 127\.0\.0\.1:\d+ in \d+ ms/);
            const newLeader = await cluster.agreedLeader();
            expect(newLeader).toBeGreaterThan(0);
            const handedOver = Date.now();
            await waitResumed(w, handedOver, "a write acknowledged after the hand-over");
            // The old leader follows at once and is writable again as a follower would be.
            const old = await cluster.nodeStatus(0);
            expect(old).toMatchObject({ role: "slave", following: cluster.endpoint(newLeader), readOnly: false });
            await cluster.waitHealthy(60000);
            await waitAcks(w, 100);
            await w.stop();
            await expectAllOnEveryNode(w);
            // eslint-disable-next-line no-console
            console.log(`planned hand-over: writes resumed ${writesResumedAfter(w.acks.filter((a) => a.sentAt >= started), started)} ms after it began`);
        }),
    );

    it(
        "h. planned hand-over on `docker stop` (SIGTERM to the start script): no acknowledged write is lost, and the restarted node is writable-safe",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(200);
            await cluster.stopNode(0, 30000);
            expect(cluster.nodeLog(0)).toMatch(/leadership moved to 127\.0\.0\.1:\d+ in \d+ ms/);
            // Handed over, it follows the new leader: no 2-3 s tile38-server shutdown after that.
            expect(cluster.nodeLog(0)).toMatch(/a follower of 127\.0\.0\.1:\d+, which leads: stopping tile38-server at once/);
            const newLeader = await cluster.agreedLeader();
            expect(newLeader).toBeGreaterThan(0);
            await waitAcks(w, 100);
            cluster.startNode(0);
            await cluster.waitHealthy(60000);
            expect(await cluster.agreedLeader()).toBe(newLeader);
            expect((await cluster.nodeStatus(0))?.readOnly).toBe(false);
            await w.stop();
            await expectAllOnEveryNode(w);
        }),
    );

    it(
        "h. planned hand-over right after an unplanned failover (the nodes' AOF sizes differ by then): no acknowledged write is lost",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(100);
            const leader = await killLeaderAndRecover(0);
            await waitAcks(w, 100);
            const run = await cluster.runStopScript(leader);
            expect(run.code).toBe(0);
            expect(run.log).toMatch(/leadership moved to 127\.0\.0\.1:\d+ in \d+ ms/);
            expect(await cluster.agreedLeader()).not.toBe(leader);
            await cluster.waitHealthy(60000);
            await waitAcks(w, 100);
            await w.stop();
            await expectAllOnEveryNode(w);
        }),
    );

    it(
        "h. two hand-overs at once (a force-deleted pod: its preStop hook runs on while SIGTERM hands over too): one failover, never two writable leaders, 0 lost",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(200);
            const epoch = Number((await cluster.sentinelMaster(0))["config-epoch"]);
            const leaders = new Sampler(() => cluster.writableLeaders(), 25);
            // As a kubelet does with a force-deleted pod: the hook is left running once its failover
            // is under way, the start script gets SIGTERM, and everything is killed 2 s later.
            const hook = cluster.startStopScript(0);
            try {
                await waitFor(async () => (await Promise.all([0, 1, 2].map((i) => cluster.sentinelMaster(i)))).some((m) => m.flags.includes("failover_in_progress")), {
                    timeoutMs: 20000,
                    what: "the hook's failover to start",
                    intervalMs: 20,
                });
                await cluster.stopNode(0, 2000);
            } finally {
                await hook.stop(0);
            }
            const next = await waitNewLeader(0);
            await waitAcks(w, 100);
            const seen = await leaders.stop();
            const two = seen.filter((x) => x.value.length > 1).map((x) => `${new Date(x.at).toISOString()} nodes ${x.value.map((i) => i + 1).join(", ")}`);
            expect(two).toEqual([]);
            expect(cluster.nodeLog(0)).toMatch(/another hand-over of this node is under way|not the leader: nothing to hand over/);
            cluster.startNode(0);
            expect(await cluster.waitHealthy(60000)).toBe(next);
            // One failover: a second one (another sentinel asked while the first ran) takes a new epoch.
            for (let i = 0; i < 3; i++) expect(Number((await cluster.sentinelMaster(i))["config-epoch"])).toBe(epoch + 1);
            await w.stop();
            await expectAllOnEveryNode(w);
        }),
    );

    it(
        "i. three leader kills in a row, each as soon as the cluster is healthy: every one fails over, and all sentinels agree within 20 s",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(100);
            let leader = 0;
            for (let k = 0; k < 3; k++) {
                const killedAt = Date.now();
                await killNode(leader);
                const next = await waitNewLeader(leader);
                cluster.startNode(leader);
                leader = next;
                await waitResumed(w, killedAt, `a write after kill ${k + 1}`);
                await cluster.waitHealthy(60000);
            }
            const lastFailover = Date.now();
            await waitFor(
                async () => {
                    const l = await cluster.sentinelLeaders();
                    return l.every((x) => x === cluster.endpoint(leader));
                },
                { timeoutMs: 20000, what: "all three sentinels to name the same leader" },
            );
            // eslint-disable-next-line no-console
            console.log(`three kills in a row: sentinels agreed ${Date.now() - lastFailover} ms after the cluster was healthy`);
            await w.stop();
            await expectAllOnEveryNode(w, Date.now());
        }),
    );

    it(
        "k. followers stopped under writes exit at once, the lone leader last with a full shutdown; all restarted, every node holds exactly every acknowledged point",
        withLogs(logs, async () => {
            const w = await clusterWithWrites(200);
            const stopMs: string[] = [];
            const stop = async (i: number) => {
                const t = Date.now();
                await cluster.stopNode(i, 30000);
                stopMs.push(`node ${i + 1} ${Date.now() - t} ms`);
            };
            for (const i of [1, 2]) {
                await stop(i);
                expect(cluster.nodeLog(i)).toMatch(/a follower of 127\.0\.0\.1:27010, which leads: stopping tile38-server at once/);
                await waitAcks(w, 50);
            }
            await w.stop();
            await stop(0);
            expect(cluster.nodeLog(0)).not.toMatch(/stopping tile38-server at once/);
            expect(cluster.nodeLog(0)).toMatch(/stopped/);
            // eslint-disable-next-line no-console
            console.log(`SIGTERM → start script exited: ${stopMs.join(", ")}`);
            for (const i of [0, 1, 2]) cluster.startNode(i);
            expect(await cluster.waitHealthy(60000)).toBe(0);
            await expectAllOnEveryNode(w);
        }),
    );

    it(
        "j. a sentinel left naming a node that does not lead is corrected by its watchdog, and the others are not disturbed",
        withLogs(logs, async () => {
            await startCluster();
            await killNode(2);
            const dead = cluster.topo.nodes[2];
            // Strand sentinel 1 as a lost reconfiguration phase would: it monitors a dead node.
            expect(await cluster.sentinelCall(0, ["SENTINEL", "REMOVE", cluster.topo.masterName])).toBe("OK");
            expect(await cluster.sentinelCall(0, ["SENTINEL", "MONITOR", cluster.topo.masterName, dead.host, dead.port, 2])).toBe("OK");
            expect((await cluster.sentinelLeaders())[0]).toBe(cluster.endpoint(2));
            const fixed = await waitFor(
                async () => {
                    const l = await cluster.sentinelLeaders();
                    return l.every((x) => x === cluster.endpoint(0)) ? Date.now() : undefined;
                },
                { timeoutMs: 30000, what: "the watchdog to re-monitor the peers' leader" },
            );
            expect(fs.readFileSync(cluster.sentinelLogFile(0)!, "utf8")).toMatch(/watchdog: peers agree on 127\.0\.0\.1 27010, this sentinel names 127\.0\.0\.1 27012/);
            for (const i of [1, 2]) expect(fs.readFileSync(cluster.sentinelLogFile(i)!, "utf8")).not.toContain("watchdog:");
            // Re-monitored with the rendered timings and the Tile38 password: it sees the leader's replica again.
            // (MONITOR first, SET right after: wait for both.)
            const m = await waitFor(
                async () => {
                    const x = await cluster.sentinelMaster(0);
                    return x["down-after-milliseconds"] === String(cluster.stack.cfg.sentinel.downAfterMilliseconds) ? x : undefined;
                },
                { timeoutMs: 5000, what: "sentinel 1's rendered down-after" },
            );
            expect(m["failover-timeout"]).toBe(String(cluster.stack.cfg.sentinel.failoverTimeoutMilliseconds));
            expect(m["parallel-syncs"]).toBe(String(cluster.stack.cfg.sentinel.parallelSyncs));
            await waitFor(async () => Number((await cluster.sentinelMaster(0))["num-slaves"]) >= 1, { timeoutMs: 20000, what: "sentinel 1 to see the replica again" });
            expect(fixed).toBeGreaterThan(0);
        }),
    );
});

/** A started cluster and a writer that has `acks` acknowledged writes. */
async function clusterWithWrites(acks: number): Promise<PointWriter> {
    await startCluster();
    const w = newWriter();
    w.start();
    await waitAcks(w, acks);
    return w;
}

/** Kills leader `old` (SIGKILL), waits for a new one, restarts `old` and waits until healthy. */
async function killLeaderAndRecover(old: number): Promise<number> {
    await killNode(old);
    const next = await waitNewLeader(old);
    cluster.startNode(old);
    await cluster.waitHealthy(60000);
    return next;
}

/** The first write sent after `t` and acknowledged (bounded); the writer's errors on timeout. */
async function waitResumed(w: PointWriter, t: number, what: string): Promise<Ack> {
    try {
        return await waitFor(() => w.firstAckSentAfter(t), { timeoutMs: 30000, what });
    } catch (e) {
        throw new Error(`${(e as Error).message}; the client's recent errors:\n${w.recentErrors.join("\n")}`);
    }
}

/** The index of the leader the sentinels agree on once it is not `old` (bounded). */
async function waitNewLeader(old: number, timeoutMs = 30000): Promise<number> {
    return waitFor(
        async () => {
            const l = await cluster.agreedLeader();
            return l >= 0 && l !== old && (await cluster.nodeStatus(l))?.role === "master" ? l : undefined;
        },
        { timeoutMs, what: `the sentinels to agree on a leader other than node ${old + 1}` },
    );
}

/**
 * Every write acknowledged (before `before`, default: all) is held by every running node
 * (followers may need a moment to catch up: bounded wait) — but for a write acknowledged within
 * REPLICATION_WINDOW_MS of a leader's SIGKILL (see leaderKills), which may be gone, from every
 * node alike; such losses are printed.
 */
async function expectAllOnEveryNode(w: PointWriter, before = Infinity): Promise<void> {
    const leader = await cluster.agreedLeader();
    const ids = await idsOn(cluster.topo.nodes[leader].port, cluster.passwords.tile38);
    const { lost, inWindow: killed } = lostAroundKills(w.acks, ids, leaderKills, before);
    if (killed.length) console.log(`acknowledged within ${REPLICATION_WINDOW_MS} ms of a leader's SIGKILL and lost with it: ${killed.map((a) => `${a.id} (${a.ackAt - leaderKills[0]} ms)`).join(", ")}`);
    expect(lost.map((a) => a.id)).toEqual([]);
    // Every node holds exactly what the leader holds, lost or not.
    const expected = w.acks.filter((a) => a.ackAt < before && !killed.includes(a));
    for (let i = 0; i < 3; i++) {
        if (!cluster.nodeRunning(i) || i === leader) continue;
        await waitFor(
            async () => {
                const mine = await idsOn(cluster.topo.nodes[i].port, cluster.passwords.tile38);
                return lostWrites(expected, mine).length === 0 && killed.every((a) => !mine.has(a.id));
            },
            { timeoutMs: 20000, what: `node ${i + 1} to hold every acknowledged write, and none the leader lost` },
        );
    }
    // And by content: every running node holds the leader's ids with the same objects, no more.
    const theirs = await collectionOn(cluster.topo.nodes[leader], cluster.passwords.tile38, w.key);
    for (let i = 0; i < 3; i++) {
        if (!cluster.nodeRunning(i) || i === leader) continue;
        let last = new Map<string, string>();
        await waitFor(
            async () => {
                last = await collectionOn(cluster.topo.nodes[i], cluster.passwords.tile38, w.key);
                return sameCollection(last, theirs);
            },
            { timeoutMs: 20000, what: `node ${i + 1} to hold exactly the leader's points` },
        ).catch((e: Error) => {
            throw new Error(`${e.message}: ${describeDifference(last, theirs)}`);
        });
    }
}
