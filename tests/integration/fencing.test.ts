/**
 * Self-fencing and convergence with the REAL servers (dev topology on 127.0.0.1: three
 * tile38-server 1.37.0 nodes run by the rendered start script under busybox sh, three Redis
 * Sentinels, a sentinel-aware ioredis client writing every 10 ms):
 * - a frozen leader (SIGSTOP of its processes, as `docker pause` or a VM stall) resumed after a
 *   follower was promoted: it becomes a follower and every node holds exactly the leader's points
 *   (ids and objects) — before the fix it kept, for good, the write that waited in its socket;
 * - the leader cut off from every sentinel (all three frozen: none can answer): it refuses writes
 *   within the fence bound, and accepts them again once a majority names it again;
 * - one sentinel frozen: nothing changes, no fence.
 * Figures (fence time) are printed; bounds are asserted loosely (machines are shared).
 * Ports of this file: sentinels 27400-27402, Tile38 nodes 27410-27412.
 */
import { describeWithTile38, Tile38Cluster } from "../../testing/fixtures/loopback/cluster";
import { collectionOn, describeDifference, sameCollection } from "../../testing/probe/points";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { resp } from "../../components/status/resp";
import { sleep, waitFor } from "../../testing/probe/wait";
import { PointWriter } from "../../testing/probe/writer";

let h: Harness | undefined;
let cluster: Tile38Cluster;
let writer: PointWriter | undefined;

afterEach(async () => {
    // A frozen process cannot die of SIGTERM: thaw everything before the harness stops it.
    if (cluster) {
        for (const p of [...cluster.nodeProcs, ...cluster.sentinelProcs.map((s) => s?.proc)]) if (p && !p.status) signalGroup(p.pgid, "SIGCONT");
    }
    await writer?.close();
    writer = undefined;
    await h?.cleanup();
    h = undefined;
});

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
    try {
        process.kill(-pgid, sig);
    } catch {
        /* gone */
    }
}

async function clusterWithWrites(): Promise<PointWriter> {
    h = new Harness("tile38-ha-fencing");
    cluster = await Tile38Cluster.start({ label: "fencing", sentinelPort: 27400, tile38Port: 27410, harness: h });
    writer = new PointWriter({ sentinels: cluster.topo.sentinels, masterName: cluster.topo.masterName, tile38Password: cluster.passwords.tile38, sentinelPassword: cluster.passwords.sentinel });
    writer.start();
    await waitFor(() => writer!.acks.length >= 200, { timeoutMs: 20000, what: "200 writes" });
    return writer;
}

/** Waits until every running node holds exactly the leader's points; returns the leader's. */
async function expectSameData(timeoutMs = 60000): Promise<Map<string, string>> {
    const leader = await cluster.waitHealthy(timeoutMs);
    const mine = await collectionOn(cluster.topo.nodes[leader], cluster.passwords.tile38, "fleet");
    for (let i = 0; i < 3; i++) {
        if (i === leader) continue;
        const theirs = await waitFor(
            async () => {
                const p = await collectionOn(cluster.topo.nodes[i], cluster.passwords.tile38, "fleet");
                return sameCollection(p, mine) ? p : undefined;
            },
            { timeoutMs, what: `node ${i + 1} to hold exactly the leader's points` },
        ).catch(async () => collectionOn(cluster.topo.nodes[i], cluster.passwords.tile38, "fleet"));
        expect(`node ${i + 1}: ${describeDifference(theirs, mine)}`).toBe(`node ${i + 1}: extra 0, missing 0, changed 0`);
    }
    return mine;
}

/** A write sent straight to node `i` (not through the sentinels): "OK", or the error it answers. */
async function writeTo(i: number, id: string): Promise<string> {
    try {
        const r = await resp(cluster.topo.nodes[i].port, ["SET", "fence-probe", id, "POINT", "33", "-112"], cluster.passwords.tile38, { timeoutMs: 1000 });
        return typeof r === "string" ? r : JSON.stringify(r);
    } catch (e) {
        return (e as Error).message;
    }
}

const logs = () => h;

describeWithTile38("self-fencing and convergence with the real tile38-server and sentinels", () => {
    it(
        "a frozen leader resumed after a failover follows the new leader, and every node holds exactly its points",
        withLogs(logs, async () => {
            const w = await clusterWithWrites();
            const leader = await cluster.waitHealthy(30000);
            const frozenAt = Date.now();
            signalGroup(cluster.nodeProcs[leader]!.pgid, "SIGSTOP");
            let electedAt = 0;
            const next = await waitFor(
                async () => {
                    const l = await cluster.agreedLeader();
                    const elected = l >= 0 && l !== leader && (await cluster.nodeStatus(l))?.role === "master";
                    electedAt = Date.now();
                    return elected ? l : undefined;
                },
                { timeoutMs: 30000, what: "a new leader while the old one is frozen", intervalMs: 50 },
            );
            await sleep(1000);
            signalGroup(cluster.nodeProcs[leader]!.pgid, "SIGCONT");
            const resumedAt = Date.now();

            await waitFor(async () => (await cluster.nodeStatus(leader))?.following === cluster.endpoint(next), { timeoutMs: 60000, what: "the old leader to follow the new one" });
            await sleep(2000);
            await w.stop();
            const points = await expectSameData();
            // Lost can only be what the old leader acknowledged just before it froze (asynchronous
            // replication, as in any failover) or in the instant after it resumed, before its own
            // loop (frozen with it) could fence it: the writes waiting in its sockets. Nothing after.
            expect(w.acks.filter((a) => a.ackAt > resumedAt + 2000 && !points.has(a.id)).map((a) => a.id)).toEqual([]);
            const lost = w.acks.filter((a) => !points.has(a.id));
            const said = cluster.nodeLog(leader);
            // eslint-disable-next-line no-console
            console.log(
                `frozen leader: new leader ${electedAt - frozenAt} ms after the freeze; acknowledged and lost: ${lost.filter((a) => a.ackAt <= frozenAt).length} before the freeze, ` +
                    `${lost.filter((a) => a.ackAt > resumedAt).length} after it resumed; old leader: ${said.split("\n").filter((l) => /fenced|resync/.test(l)).map((l) => l.replace(/^.*\] /, "")).join(" | ") || "none"}`,
            );
        }),
        180000,
    );

    it(
        "the leader cut off from every sentinel refuses writes within the fence bound, and takes them again once a majority names it",
        withLogs(logs, async () => {
            const w = await clusterWithWrites();
            const leader = await cluster.waitHealthy(30000);
            await w.stop();
            expect(await writeTo(leader, "before")).toBe("OK");
            expect(cluster.nodeLog(leader)).not.toMatch(/fenced/);
            const cutAt = Date.now();
            for (const s of cluster.sentinelProcs) signalGroup(s!.proc.pgid, "SIGSTOP");
            const refused = await waitFor(async () => (/read only/.test(await writeTo(leader, `p${Date.now()}`)) ? Date.now() : undefined), {
                timeoutMs: 20000,
                what: "the cut-off leader to refuse writes",
                intervalMs: 50,
            });
            const fenceMs = refused - cutAt;
            // eslint-disable-next-line no-console
            console.log(`cut off from every sentinel: writes refused ${fenceMs} ms after the cut (bound: fence ${cluster.topo.fenceAfterMilliseconds} ms, down-after ${cluster.topo.downAfterMilliseconds} ms)`);
            expect(fenceMs).toBeLessThanOrEqual(cluster.topo.downAfterMilliseconds + 3000);
            // The script logs right after its READONLY: wait (bounded) for the line.
            await waitFor(() => /fenced: no majority of the sentinels/.test(cluster.nodeLog(leader)), { timeoutMs: 5000, what: "the fence in the leader's log" });
            for (const s of cluster.sentinelProcs) signalGroup(s!.proc.pgid, "SIGCONT");
            await waitFor(async () => (await writeTo(leader, "after")) === "OK", { timeoutMs: 30000, what: "writes accepted again" });
            await waitFor(() => /fence lifted/.test(cluster.nodeLog(leader)), { timeoutMs: 5000, what: "the lifted fence in the leader's log" });
        }),
        180000,
    );

    it(
        "one sentinel frozen: no fence, writes go on",
        withLogs(logs, async () => {
            const w = await clusterWithWrites();
            const leader = await cluster.waitHealthy(30000);
            signalGroup(cluster.sentinelProcs[0]!.proc.pgid, "SIGSTOP");
            const n = w.acks.length;
            await sleep(8000);
            signalGroup(cluster.sentinelProcs[0]!.proc.pgid, "SIGCONT");
            expect(w.acks.length - n).toBeGreaterThan(200);
            await w.stop();
            expect(cluster.nodeLog(leader)).not.toMatch(/fenced/);
            await expectSameData();
        }),
        120000,
    );
});
