/**
 * The read-only status (components/status: `npm run status`, the package's `tile38-ha-status`)
 * against a real cluster on loopback (tile38-server 1.37.0, Redis Sentinel), compared with the
 * cluster's own truth in each state the drills create: healthy; a follower down (degraded);
 * the sentinels short of a majority, the leader fenced (no writable leader); healthy again.
 * Ports: Tile38 27720-27722, sentinels 27730-27732 (127.0.0.1).
 */
import * as path from "path";
import { clusterStatus, ClusterStatus, formatStatus, StatusTarget } from "../../components/status/clusterStatus";
import { runCommand } from "../../testing/command";
import { describeWithTile38, Tile38Cluster } from "../../testing/fixtures/loopback/cluster";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { waitFor } from "../../testing/probe/wait";

const SENTINEL_PORT = 27730;
const TILE38_PORT = 27720;

describeWithTile38("status: a read-only look that matches the cluster's truth", () => {
    let h: Harness;
    let c: Tile38Cluster;
    const logs = () => h;
    const target = (): StatusTarget => ({
        masterName: c.topo.masterName,
        sentinels: c.topo.sentinels.map(({ host, port }) => ({ host, port })),
        tile38Password: c.passwords.tile38,
        sentinelPassword: c.passwords.sentinel,
    });
    /** The status once it shows `verdict` (bounded: the cluster moves between states). */
    const statusWhen = (verdict: ClusterStatus["verdict"], timeoutMs = 30000) =>
        waitFor(async () => {
            const s = await clusterStatus(target());
            return s.verdict === verdict ? s : undefined;
        }, { timeoutMs, what: `status ${verdict}`, intervalMs: 250 });

    beforeAll(async () => {
        h = new Harness("tile38-ha-status");
        c = await Tile38Cluster.start({ label: "status", sentinelPort: SENTINEL_PORT, tile38Port: TILE38_PORT, harness: h });
    });
    afterAll(async () => c?.cleanup());

    it("healthy: the leader, its caught-up followers (0 bytes behind) and the sentinels, as the cluster has them; exit 0", withLogs(logs, async () => {
        const leader = await c.waitHealthy(60000);
        const s = await statusWhen("healthy");
        expect(s.exitCode).toBe(0);
        expect(s.leader).toBe(c.endpoint(leader));
        expect(s.sentinelsAgree).toBe(true);
        expect(s.sentinels.every((v) => v.answers && v.quorumOk && v.leader === c.endpoint(leader))).toBe(true);
        // Learned from the sentinels: the leader and both replicas.
        expect(s.nodes.map((n) => n.node).sort()).toEqual([0, 1, 2].map((i) => c.endpoint(i)).sort());
        for (const n of s.nodes) {
            const truth = (await c.nodeStatus([0, 1, 2].find((i) => c.endpoint(i) === n.node)!))!;
            expect(n.role).toBe(truth.role === "master" ? "leader" : "follower");
            if (n.role === "follower") expect({ following: n.following, caughtUp: n.caughtUp, lag: n.lagBytes }).toEqual({ following: c.endpoint(leader), caughtUp: true, lag: 0 });
        }
        // What an operator sees (the README shows a sample of it).
        process.stdout.write(`\nstatus of a healthy cluster:\n${formatStatus(s)}\n`);
    }));

    it("the command-line form (tile38-ha-status, passwords from the environment) prints the same as JSON and exits 0; bad usage exits 3", withLogs(logs, async () => {
        const cli = path.join(__dirname, "../../components/status/cli.ts");
        const env = { ...process.env, TILE38_PASSWORD: c.passwords.tile38, SENTINEL_PASSWORD: c.passwords.sentinel };
        const sentinels = c.topo.sentinels.map((s) => `${s.host}:${s.port}`).join(",");
        const r = await runCommand("npx", ["ts-node", "--transpile-only", cli, "--sentinels", sentinels, "--master", c.topo.masterName, "--json"], { env, timeoutMs: 60000 });
        expect(r.code).toBe(0);
        const s = JSON.parse(r.stdout) as ClusterStatus;
        expect(s.verdict).toBe("healthy");
        expect(r.stdout).not.toContain(c.passwords.tile38);
        const text = await runCommand("npx", ["ts-node", "--transpile-only", cli, "--sentinels", sentinels], { env, timeoutMs: 60000 });
        expect(text.stdout).toMatch(/^HEALTHY: leader 127\.0\.0\.1:\d+, 2 followers caught up, 3 sentinels agree$/m);
        expect((await runCommand("npx", ["ts-node", "--transpile-only", cli], { env, timeoutMs: 60000 })).code).toBe(3);
    }));

    it("a follower down: degraded (exit 1), naming it; back: healthy", withLogs(logs, async () => {
        const leader = await c.waitHealthy(60000);
        const follower = [0, 1, 2].find((i) => i !== leader)!;
        await c.killNode(follower);
        const s = await statusWhen("degraded");
        expect(s.exitCode).toBe(1);
        expect(s.problems.join("; ")).toContain(c.endpoint(follower));
        await c.restartNode(follower);
        await c.waitHealthy(60000);
        await statusWhen("healthy", 60000);
    }));

    it("two sentinels gone: no majority names a leader and the leader fences itself: no writable leader (exit 2); back: healthy", withLogs(logs, async () => {
        const leader = await c.waitHealthy(60000);
        await c.stopSentinel(1);
        await c.stopSentinel(2);
        const s = await waitFor(async () => {
            const st = await clusterStatus(target());
            return st.nodes.find((n) => n.node === c.endpoint(leader))?.fenced ? st : undefined;
        }, { timeoutMs: 30000, what: "the status to show the fenced leader", intervalMs: 250 });
        expect(s.verdict).toBe("no writable leader");
        expect(s.exitCode).toBe(2);
        expect((await c.nodeStatus(leader))!.readOnly).toBe(true); // the truth
        expect(s.sentinels.filter((v) => !v.answers)).toHaveLength(2);
        await c.startSentinel(1);
        await c.startSentinel(2);
        await c.waitHealthy(60000);
        await statusWhen("healthy", 60000);
    }));
});
