/**
 * Issue 24, with the real tile38-server and sentinels (dev topology, loopback): the cluster
 * survives the NEXT fault too. Leader losses spaced as a cascade spaces them (the next one 0, 5
 * and 2 s after the previous failover's first acknowledged write; kills, a freeze and network cuts) each get a
 * failover, nothing acknowledged is lost, every node ends with the leader's data; and when the
 * leader dies with its followers at different offsets, the most advanced one is promoted.
 *
 * Figures (failover time, time without a promotable replica) are printed by
 * `npm run drill -- --cascade`; the bounds here only tell a failover from none (Sentinel's own
 * delay between failovers was 36 s, and a diverged follower waited 72 s at priority 0).
 */
import { runCascade } from "../../testing/scenarios/drillCascade";
import { expectCascadeSurvived } from "../../testing/probe/cascadeExpect";
import { describeWithTile38, Tile38Cluster } from "../../testing/fixtures/loopback/cluster";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { resp } from "../../components/status/resp";
import { sleep, waitFor } from "../../testing/probe/wait";
import { networkCutSkipReason } from "../../testing/fixtures/networkCut";

const SENTINEL_PORT = 27500;
const TILE38_PORT = 27510;

/** A big object: a follower stopped for a moment falls behind by many of them (socket buffers fill). */
const BIG = "y".repeat(100_000);

describeWithTile38("a cascade of leader losses (real tile38-server and sentinels, dev topology)", () => {
    let h: Harness | undefined;
    let cluster: Tile38Cluster | undefined;
    const logs = () => h;
    const start = async (label: string) => {
        h = new Harness(`tile38-ha-${label}`);
        cluster = await Tile38Cluster.start({ label, sentinelPort: SENTINEL_PORT, tile38Port: TILE38_PORT, harness: h });
        return cluster;
    };

    afterEach(async () => {
        await cluster?.cleanup();
        cluster = undefined;
    });

    it(
        "a. kills 0 s and 5 s after the previous failover, then a freeze 2 s after: each is failed over, nothing acknowledged is lost, every node holds the leader's data",
        withLogs(logs, async () => {
            cluster = await start("cascade-a");
            const r = await runCascade(cluster, { spacingsS: [0, 5, 2], faults: ["kill", "kill", "kill", "freeze"], downAfterMs: cluster.stack.cfg.sentinel.downAfterMilliseconds, log: (l) => process.stderr.write(`${l}\n`) });
            process.stderr.write(`${JSON.stringify(r)}\n`);
            expectCascadeSurvived(r, 4);
        }),
        300_000,
    );

    const cutSkip = networkCutSkipReason();
    // eslint-disable-next-line no-console
    if (cutSkip) console.warn(`SKIPPED cascade c (network cuts): ${cutSkip}`);
    (cutSkip ? it.skip : it)(
        "c. the leader cut off the network (every packet of its processes and to its port dropped), 5 s and 10 s after the previous failover, healed once another leads: each is failed over, the cut one fences and follows, nothing acknowledged is lost, same data",
        withLogs(logs, async () => {
            cluster = await start("cascade-c");
            // From 5 s, as the issue judges it: at 0 s the follower promoted first may not have checked its AOF against the new leader yet (see docs/operations.md).
            const r = await runCascade(cluster, { spacingsS: [5, 10], faults: ["cut"], downAfterMs: cluster.stack.cfg.sentinel.downAfterMilliseconds, log: (l) => process.stderr.write(`${l}\n`) });
            process.stderr.write(`${JSON.stringify(r)}\n`);
            expectCascadeSurvived(r, 3);
        }),
        300_000,
    );

    it.each([1, 2])(
        "b. the leader dies while follower %i is behind the other: the other, holding every acknowledged write, is promoted",
        (behind) =>
            withLogs(logs, async () => {
                const c = await start(`cascade-b${behind}`);
                const leader = await c.waitHealthy(60000);
                const lagging = [0, 1, 2].filter((i) => i !== leader)[behind - 1];
                const ahead = [0, 1, 2].find((i) => i !== leader && i !== lagging)!;
                // The lagging follower stopped (well within down-after) while the leader acknowledges
                // 30 MB: more than the loopback socket buffers hold, so it cannot catch up after the kill.
                const node = c.topo.nodes[leader];
                await c.freezeNode(lagging);
                const ids: string[] = [];
                try {
                    for (let k = 0; k < 300; k++) {
                        const id = `big${k}`;
                        const r = await resp(node.port, ["SET", "cascade-big", id, "STRING", BIG], c.passwords.tile38, { host: node.host, timeoutMs: 5000 });
                        if (r !== "OK") throw new Error(`SET ${id} answered ${JSON.stringify(r)}`);
                        ids.push(id);
                    }
                    const leaderSize = (await c.nodeStatus(leader))!.aofSize;
                    await waitFor(async () => (await c.nodeStatus(ahead))!.aofSize >= leaderSize, { timeoutMs: 10000, what: "the other follower to hold everything" });
                    await c.killNode(leader);
                } finally {
                    await c.thawNode(lagging);
                }
                await sleep(1500);
                const [lagSize, aheadSize] = [(await c.nodeStatus(lagging))!.aofSize, (await c.nodeStatus(ahead))!.aofSize];
                expect(lagSize).toBeLessThan(aheadSize); // the test's premise: the two followers differ
                const promoted = await waitFor(() => c.leadingNode(leader), { timeoutMs: 30000, what: "a new leader" });
                expect(c.endpoint(promoted)).toBe(c.endpoint(ahead));
                // Every acknowledged object, with its content, on the new leader.
                const held = (await resp(c.topo.nodes[promoted].port, ["SCAN", "cascade-big", "LIMIT", 1000, "IDS"], c.passwords.tile38, { host: c.topo.nodes[promoted].host, timeoutMs: 10000 })) as unknown[];
                expect(new Set((held[1] as string[]).map(String))).toEqual(new Set(ids));
                const last = await resp(c.topo.nodes[promoted].port, ["GET", "cascade-big", ids[ids.length - 1]], c.passwords.tile38, { host: c.topo.nodes[promoted].host, timeoutMs: 5000 });
                expect(last).toBe(BIG);
            })(),
        180_000,
    );
});
