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
import { describeWithTile38, Tile38Cluster } from "./harness/cluster";
import { Harness, withLogs } from "./harness/processes";
import { idsOn, lostWrites, PointWriter } from "./harness/writer";
import { sleep, waitFor } from "./harness/wait";

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

/** Waits (bounded) until `n` more writes have been acknowledged. */
async function waitAcks(w: PointWriter, n: number, timeoutMs = 20000): Promise<void> {
    const target = w.acks.length + n;
    await waitFor(() => w.acks.length >= target, { timeoutMs, what: `${n} acknowledged writes (have ${w.acks.length})` });
}

afterEach(async () => {
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
            await startCluster();
            const w = newWriter();
            w.start();
            await waitAcks(w, 200);
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
            await startCluster();
            const w = newWriter();
            w.start();
            await waitAcks(w, 200);
            const killedAt = Date.now();
            await cluster.killNode(0);
            const resumed = await waitFor(() => w.firstAckSentAfter(killedAt), { timeoutMs: 30000, what: "a write acknowledged after the kill" });
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
});

export { sleep };
