/**
 * Issue 27, AOF compaction as part of the product, with the real tile38-server and sentinels (dev
 * topology, loopback): under fleet-tracking churn (the same ids updated again and again) and a
 * writer through the sentinels, the leader compacts its AOF by itself, each follower reloads the
 * compacted file in place, one at a time, and afterwards
 * every node holds the leader's data by content (the last value of every id), no acknowledged write
 * is lost, and no node counts its AOF twice.
 *
 * Figures (pause under compaction, the AOF's worst size over its compacted size) are printed by
 * `npm run bench -- --points N --updates-per-point K`.
 */
import * as fs from "fs";
import * as path from "path";
import { describeWithTile38, Tile38Cluster } from "../../testing/fixtures/loopback/cluster";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { bulkClient } from "../../testing/probe/pointLoader";
import { collectionOn, describeDifference, sameCollection } from "../../testing/probe/points";
import { Sampler } from "../../testing/probe/sampler";
import { waitFor } from "../../testing/probe/wait";
import { lostWrites, PointWriter, idsOn } from "../../testing/probe/writer";
import { aofFigures, watchLeaderAof } from "../../testing/probe/aofWatch";
import { longestPause } from "../../testing/scenarios/drillReport";
import { EventLoopLag, pausesExplained, spansWhere, watchRewriting } from "../../testing/probe/pauseCause";
import { resp } from "../../components/status/resp";

const SENTINEL_PORT = 27540;
const TILE38_PORT = 27550;
const IDS = 10_000;
const ROUNDS = 25;

describeWithTile38("AOF compaction (real tile38-server and sentinels, dev topology)", () => {
    let h: Harness | undefined;
    let cluster: Tile38Cluster | undefined;
    let writer: PointWriter | undefined;

    afterEach(async () => {
        await writer?.close();
        await cluster?.cleanup();
        cluster = undefined;
        writer = undefined;
    });

    it(
        "the leader compacts under churn, the followers reload one at a time, every node ends with the leader's data and nothing acknowledged is lost",
        withLogs(() => h, async () => {
            h = new Harness("tile38-ha-compaction");
            const c = (cluster = await Tile38Cluster.start({ label: "compaction", sentinelPort: SENTINEL_PORT, tile38Port: TILE38_PORT, harness: h, stack: { tile38: { aofCompactionRatio: 2, aofCompactionMinMegabytes: 2 } } }));
            const leader = await c.waitHealthy(60_000);
            const followers = [0, 1, 2].filter((i) => i !== leader);
            const w = (writer = new PointWriter({ sentinels: c.topo.sentinels, masterName: c.topo.masterName, tile38Password: c.passwords.tile38, sentinelPassword: c.passwords.sentinel, key: "compaction-writes" }));
            w.start();
            const aof = watchLeaderAof(c, 200);
            // At each moment, how many followers answer (a reloading one restarts) and how many Sentinel
            // could promote (INFO role slave, priority above 0).
            const followerView = new Sampler(async () => {
                const infos = await Promise.all(followers.map((i) => resp(c.topo.nodes[i].port, ["INFO", "replication"], c.passwords.tile38, { host: c.topo.nodes[i].host, timeoutMs: 1000 }).then(String, () => "")));
                return {
                    answering: infos.filter((i) => /role:/.test(i)).length,
                    promotable: infos.filter((i) => /role:slave/.test(i) && Number(/slave_priority:(\d+)/.exec(i)?.[1] ?? 0) > 0).length,
                };
            }, 200);
            // Where the longest pauses fell: the leader's rewrite (sampled every 20 ms), a follower
            // away, or this process not scheduled (the writer's acknowledgement is then late whatever
            // the server did).
            const lag = new EventLoopLag().start();
            const rewriting = watchRewriting(c.topo.nodes[leader], c.passwords.tile38);

            // Fleet tracking: every id moves at every round (its last position is the one to keep).
            const at = (id: number, round: number) => [(33 + round / 1000).toFixed(6), (-112 - id / 100_000).toFixed(6)];
            const churn = bulkClient({ sentinels: c.topo.sentinels, masterName: c.topo.masterName, tile38Password: c.passwords.tile38, sentinelPassword: c.passwords.sentinel });
            const churnAt = Date.now();
            try {
                for (let round = 0; round < ROUNDS; round++) {
                    for (let start = 0; start < IDS; start += 2000) {
                        const p = churn.pipeline();
                        for (let id = start; id < start + 2000; id++) p.call("SET", "fleet", `truck${id}`, "POINT", ...at(id, round));
                        for (const [err] of (await p.exec()) ?? []) if (err) throw err;
                    }
                }
            } finally {
                churn.disconnect();
            }
            // Every compaction done and every follower reloaded after each (one reload per compaction;
            // the next compaction waits for them): the logs say so and the cluster is healthy. A
            // compaction still due when the churn ends runs after the first reloads (seen).
            const count = (log: string, re: RegExp) => (log.match(re) ?? []).length;
            const reloadsDone = () => {
                const compactions = count(c.nodeLog(leader), /AOF compacted/g);
                return compactions > 0 && followers.every((i) => count(c.nodeLog(i), /reloading its AOF \(a prefix of .*\) in place/g) >= compactions);
            };
            await waitFor(reloadsDone, { timeoutMs: 120_000, what: "a compaction and both followers' reload after each" });
            await waitFor(async () => reloadsDone() && (await c.health()).healthy && (await Promise.all([0, 1, 2].map((i) => c.nodeStatus(i)))).every((s) => s && !(s.role === "slave" && !s.caughtUp)), { timeoutMs: 120_000, what: "the cluster healthy again" });
            const settledAt = Date.now();
            const pause = longestPause(w.acks, churnAt, settledAt);
            await w.close();
            const figures = aofFigures(await aof.stop());
            const view = await followerView.stop();
            const spans = [...lag.stop(), ...spansWhere(await rewriting.stop(), (r) => r, "the leader rewrites its AOF"), ...spansWhere(view, (v) => v.answering < 2, "a follower restarts")];
            let longestNoPromotable = 0;
            for (let i = 0, since: number | undefined; i < view.length; i++) {
                if (view[i].value.promotable > 0) since = undefined;
                else longestNoPromotable = Math.max(longestNoPromotable, view[i].at - (since ??= view[i].at));
            }
            process.stderr.write(`compaction: ${figures.compactions} compactions, AOF at worst ${figures.worstRatio} x compacted, longest pause ${pause} ms, longest time without a promotable follower ${longestNoPromotable} ms (samples every 200 ms); longest pauses: ${pausesExplained(w.acks, churnAt, settledAt, spans).join("; ")}\n`);

            // One follower restarts at a time: never both away at once.
            expect(view.filter((s) => s.value.answering === 0)).toEqual([]);
            expect(figures.compactions).toBeGreaterThan(0);

            // The same data everywhere, by content: every id at its last position, the writer's writes all there.
            const expected = new Map([...Array(IDS).keys()].map((id) => [`truck${id}`, JSON.stringify({ type: "Point", coordinates: [Number(at(id, ROUNDS - 1)[1]), Number(at(id, ROUNDS - 1)[0])] })]));
            const onLeader = await collectionOn(c.topo.nodes[leader], c.passwords.tile38, "fleet");
            if (!sameCollection(onLeader, expected)) throw new Error(`the leader's fleet is not the last round's: ${describeDifference(onLeader, expected)}`);
            for (const key of ["fleet", "compaction-writes"]) {
                const want = await collectionOn(c.topo.nodes[leader], c.passwords.tile38, key);
                for (const i of followers) {
                    const got = await collectionOn(c.topo.nodes[i], c.passwords.tile38, key);
                    if (!sameCollection(got, want)) throw new Error(`node ${i + 1}'s ${key} differs from the leader's: ${describeDifference(got, want)}`);
                }
            }
            expect(lostWrites(w.acks, await idsOn(c.topo.nodes[leader].port, c.passwords.tile38, "compaction-writes"))).toEqual([]);

            // No node counts its AOF twice (its server's size is its file's, give or take a second of
            // writes) once the reloads are done: a compaction still due may start while the checks above
            // run (seen under load: one at the second the cluster was healthy again), and its reloads
            // must end too.
            const countsTwice = async () => {
                const off: string[] = [];
                for (const i of [0, 1, 2]) {
                    const reported = (await c.nodeStatus(i))?.aofSize ?? -1;
                    const file = fs.statSync(path.join(c.nodeDirs[i], "appendonly.aof")).size;
                    if (Math.abs(reported - file) >= 512 * 1024) off.push(`node ${i + 1}: reports ${reported}, file ${file}`);
                }
                return off;
            };
            await waitFor(async () => reloadsDone() && (await countsTwice()).length === 0, { timeoutMs: 120_000, what: "every reload done and no node counting its AOF twice" }).catch(() => undefined);
            expect(await countsTwice()).toEqual([]);
        }),
        300_000,
    );
});
