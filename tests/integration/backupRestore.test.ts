/**
 * Backups end to end with the REAL servers, in the `dev` (Docker host networking) topology on
 * 127.0.0.1: three real tile38-server nodes run by the rendered start script (with the stack's
 * TILE38_RESTORE_CMD) under busybox sh, three real sentinels, one rendered backup agent per node
 * (bash + the real AWS CLI v2) on the node's data dir, the real Versity S3 gateway, and a real
 * sentinel-aware client (ioredis with `sentinels`). Total loss = every node, agent and data dir
 * destroyed (the sentinels too, or not); the cluster is recreated from the same rendered scripts.
 * Every wait is bounded; on failure every process log is shown. No timed assertions (the figures
 * come from `npm run bench:backup`).
 *
 * Ports of this file: S3 27210, sentinels 27220-27222, Tile38 27230-27232. Skipped (with the
 * reason) where tile38-server is not installed.
 */
import * as fs from "fs";
import Redis from "ioredis";
import { BackupCluster } from "../../testing/fixtures/loopback/backupCluster";
import { BackupRig, BackupManifest, sha256 } from "../../testing/fixtures/loopback/backupRig";
import { describeWithTile38 } from "../../testing/fixtures/loopback/cluster";
import { withLogs } from "../../testing/fixtures/loopback/processes";
import { bulkClient, loadPoints, pointId } from "../../testing/probe/pointLoader";
import { idsOn } from "../../testing/probe/writer";
import { waitFor } from "../../testing/probe/wait";

jest.setTimeout(240_000);

const S3_PORT = 27210;
const SENTINEL_PORT = 27220;
const TILE38_PORT = 27230;

let rig: BackupRig | undefined;
let bc: BackupCluster | undefined;
let client: Redis | undefined;
let runs = 0;

beforeAll(async () => {
    if (describeSkipped()) return;
    rig = await BackupRig.start({ s3Port: S3_PORT, bucket: "tile38-ha-e2e", label: "backup-e2e" });
}, 60_000);

afterAll(() => rig?.stop());

afterEach(async () => {
    client?.disconnect();
    client = undefined;
    await bc?.cleanup();
    bc = undefined;
});

function describeSkipped(): boolean {
    return !fs.existsSync("/proc") || require("../../testing/fixtures/loopback/cluster").tile38SkipReason() !== undefined;
}

const logs = () => bc?.h;

/** A backup cluster with its own key prefix. */
async function start(label: string, opts: { intervalSeconds?: number } = {}): Promise<BackupCluster> {
    bc = await BackupCluster.start({ label, sentinelPort: SENTINEL_PORT, tile38Port: TILE38_PORT, rig: rig!, prefix: `${label}-${++runs}/`, ...opts });
    return bc;
}

/** Writes `n` points (ids `<prefix><i>`) through a sentinel-aware client; returns their ids. */
async function write(n: number, prefix: string, from = 0): Promise<string[]> {
    client ??= bulkClient(bc!.target());
    return loadPoints(client, n, { prefix, from, batch: 500 });
}

/** Waits (bounded) until the sentinels agree on a running leader that serves reads; returns it. */
async function servingLeader(timeoutMs = 120_000): Promise<number> {
    const c = bc!.cluster;
    return waitFor(
        async () => {
            const l = await c.agreedLeader();
            if (l < 0) return undefined;
            const s = await c.nodeStatus(l);
            return s && s.role === "master" ? l : undefined;
        },
        { timeoutMs, what: "a leader the sentinels agree on", intervalMs: 200 },
    );
}

/** The leader's ids equal `expected`, and (once healthy) every follower's too. */
async function expectSameData(expected: string[], timeoutMs = 120_000): Promise<number> {
    const c = bc!.cluster;
    const leader = await c.waitHealthy(timeoutMs);
    const want = [...expected].sort();
    expect([...(await idsOn(c.topo.nodes[leader].port, c.passwords.tile38))].sort()).toEqual(want);
    for (let i = 0; i < 3; i++) {
        if (i === leader) continue;
        expect([...(await idsOn(c.topo.nodes[i].port, c.passwords.tile38))].sort()).toEqual(want);
    }
    return leader;
}

/**
 * Waits (bounded) until no surviving sentinel holds replica INFO younger than 6 s. A node
 * recreated at a dead replica's address answers PING but refuses INFO until it has caught up,
 * so a sentinel keeps judging it by the dead process's last INFO (priority, offset); within
 * Sentinel's 5 s INFO validity that makes the new, EMPTY node look promotable (found by this
 * suite: a recreate within 1 s of the loss got the empty node 3 promoted; see the report of
 * issue 11). Rebuilding a lost node takes longer than that in practice; the test waits for it.
 */
async function sentinelsForgetReplicas(): Promise<void> {
    const c = bc!.cluster;
    await waitFor(
        async () => {
            for (let i = 0; i < 3; i++) {
                const replicas = await c.sentinelReplicas(i);
                if (replicas.some((r) => Number(r["info-refresh"]) < 6000)) return false;
            }
            return true;
        },
        { timeoutMs: 30_000, what: "the sentinels' replica INFO to be older than 6 s", intervalMs: 250 },
    );
}

/** Checks that `m` holds exactly the first `m.size` bytes of node `i`'s AOF. */
function expectExactPrefix(m: BackupManifest, i: number): void {
    const aof = fs.readFileSync(bc!.cluster.dataFile(i, "appendonly.aof"));
    const object = rig!.getObject(m.key);
    expect(object.length).toBe(m.size);
    expect(sha256(object)).toBe(m.sha256);
    expect(object.equals(aof.subarray(0, m.size))).toBe(true);
    expect(rig!.getObject(m.manifest).toString()).toBe(JSON.stringify(m));
}

describeWithTile38("backups with the real Tile38, sentinels, agents and S3 (dev topology)", () => {
    for (const sentinels of [true, false]) {
        it(
            `a. total loss (${sentinels ? "sentinels destroyed too" : "sentinels survive"}) → automatic restore → the same points, followers catch up`,
            withLogs(logs, async () => {
                await start(sentinels ? "e2e-all" : "e2e-nodes");
                const leader = await bc!.cluster.agreedLeader();
                const ids = await write(2000, "p");
                const m = await bc!.waitBackupOf(leader);
                expect(m.node).toBe(bc!.nodeName(leader));
                expectExactPrefix(m, leader);

                await bc!.destroyAll({ sentinels });
                if (!sentinels) await sentinelsForgetReplicas();
                await bc!.recreate();
                const restored = await servingLeader();
                expect(bc!.cluster.nodeLog(restored)).toContain("no node holds data: running the restore command");
                expect(bc!.cluster.nodeLog(restored)).toContain(`restored backup ${m.key}`);
                expect(fs.readFileSync(bc!.cluster.dataFile(restored, "appendonly.aof")).subarray(0, m.size).equals(rig!.getObject(m.key))).toBe(true);
                await expectSameData(ids);
                const last = await bc!.call(restored, ["GET", "fleet", pointId(1999, "p"), "POINT"]);
                expect(Array.isArray(last)).toBe(true);
            }),
        );
    }

    for (const damage of ["corrupt", "truncated"] as const) {
        it(
            `b. a ${damage} newest backup is refused with a clear log line and the previous one is restored`,
            withLogs(logs, async () => {
                await start(`e2e-${damage}`);
                const leader = await bc!.cluster.agreedLeader();
                const first = await write(1000, "p");
                const older = await bc!.waitBackupOf(leader);
                await write(500, "q");
                const newest = await bc!.waitBackupOf(leader);
                const all = rig!.manifests(bc!.prefix);
                expect(all[all.length - 1]).toEqual(newest);
                const previous = all[all.length - 2];
                expect(previous.size).toBeGreaterThanOrEqual(older.size);
                const object = rig!.getObject(newest.key);
                if (damage === "corrupt") {
                    object[object.length - 4] ^= 0x20; // same size: only the checksum can tell
                    rig!.putObject(newest.key, object);
                } else {
                    rig!.putObject(newest.key, object.subarray(0, object.length - 7));
                }
                const expected = setIds(rig!.getObject(previous.key));
                for (const id of first) expect(expected.has(id)).toBe(true);

                await bc!.destroyAll({ sentinels: true });
                await bc!.recreate();
                const restored = await servingLeader();
                const refused = damage === "corrupt" ? `REFUSED: backup ${newest.key} is corrupt: sha256 ` : `REFUSED: backup ${newest.key} is truncated: ${newest.size - 7} bytes, its manifest says ${newest.size}`;
                expect(bc!.agentLog(restored)).toContain(refused);
                expect(bc!.cluster.nodeLog(restored)).toContain(`restored backup ${previous.key}`);
                await expectSameData([...expected]);
            }),
        );
    }

    it(
        "c. S3 unreachable at restore time: the node does not start empty, exits, and restores once S3 is back",
        withLogs(logs, async () => {
            await start("e2e-s3down");
            const leader = await bc!.cluster.agreedLeader();
            const ids = await write(1000, "p");
            const m = await bc!.waitBackupOf(leader);
            await bc!.destroyAll({ sentinels: true });
            await rig!.stopServer();
            try {
                await bc!.recreate();
                // A fresh sentinel trio names node 1 (the template's leader).
                const c = bc!.cluster;
                const status = await c.nodeProcs[0]!.waitExit(180_000);
                expect(status.code).toBe(1);
                expect(c.nodeLog(0)).toContain("restore failed; exiting to be retried");
                expect(c.nodeLog(0)).not.toContain("starting as the leader");
                expect(bc!.agentLog(0)).toMatch(/restore request \S+: fail cannot list/);
                expect(fs.existsSync(c.dataFile(0, "appendonly.aof")) && fs.statSync(c.dataFile(0, "appendonly.aof")).size > 0).toBe(false);
                // No node serves an empty data set meanwhile.
                for (let i = 0; i < 3; i++) {
                    const st = await c.nodeStatus(i);
                    expect(st?.role === "master" && st.numObjects === 0).toBe(false);
                }
            } finally {
                await rig!.startServer();
            }
            // The restart policy starts the node again; now S3 answers.
            bc!.cluster.startNode(0);
            const restored = await servingLeader();
            expect(restored).toBe(0);
            expect(bc!.cluster.nodeLog(0)).toContain(`restored backup ${m.key}`);
            await expectSameData(ids);
        }),
    );

    it(
        "d. after a failover the new leader's agent takes over the uploads (one uploader at a time); an unchanged AOF is not uploaded again",
        withLogs(logs, async () => {
            await start("e2e-takeover");
            const c = bc!.cluster;
            const first = await c.agreedLeader();
            await write(500, "p");
            await bc!.waitBackupOf(first);
            await c.killNode(first); // its agent keeps running, as a sidecar container would
            const next = await waitFor(
                async () => {
                    const l = await c.agreedLeader();
                    if (l < 0 || l === first) return undefined;
                    const st = await c.nodeStatus(l);
                    return st?.role === "master" ? l : undefined;
                },
                { timeoutMs: 90_000, what: "a failover away from the killed leader", intervalMs: 200 },
            );
            client?.disconnect();
            client = undefined;
            await write(500, "q", 500);
            const m = await bc!.waitBackupOf(next);
            const count = rig!.manifests(bc!.prefix).length;
            // Three more rounds of the new leader's agent: each finds the AOF unchanged.
            const unchanged = () => (bc!.agentLog(next).match(/unchanged since the last backup/g) ?? []).length;
            const before = unchanged();
            await waitFor(() => unchanged() >= before + 3, { timeoutMs: 60_000, what: "three unchanged rounds of the new leader's agent" });
            const manifests = rig!.manifests(bc!.prefix);
            expect(manifests).toHaveLength(count);
            expect(bc!.pointer()).toEqual(m);
            // Uploads came from the first leader, then from the new one; never from anyone else, never interleaved.
            const nodes = manifests.map((x) => x.node);
            const switchAt = nodes.indexOf(bc!.nodeName(next));
            expect(switchAt).toBeGreaterThan(0);
            expect(nodes.slice(0, switchAt).every((n) => n === bc!.nodeName(first))).toBe(true);
            expect(nodes.slice(switchAt).every((n) => n === bc!.nodeName(next))).toBe(true);
            const third = [0, 1, 2].find((i) => i !== first && i !== next)!;
            expect(bc!.agentLog(third)).toContain("the leader's agent uploads");
            expect(bc!.agentLog(third)).not.toContain("backed up");
            expect(bc!.agentLog(first)).toContain("did not answer SERVER: skipping this round");
        }),
    );

    it(
        "e. a node that starts empty while another node holds data never restores over it: it follows",
        withLogs(logs, async () => {
            await start("e2e-follow");
            const c = bc!.cluster;
            const leader = await c.agreedLeader();
            const ids = await write(1000, "p");
            await bc!.waitBackupOf(leader);
            // A follower loses its volume, then the leader does (restarted before the sentinels notice).
            const follower = (leader + 1) % 3;
            // The agents' logs from here on (each answered the brand-new cluster's first start).
            const agentLogFrom = [0, 1, 2].map((i) => bc!.agentLog(i).length);
            for (const i of [follower, leader]) {
                await c.killNode(i);
                fs.rmSync(c.nodeDirs[i], { recursive: true, force: true });
                fs.mkdirSync(c.nodeDirs[i], { recursive: true });
                c.startNode(i);
                await expectSameData(ids);
            }
            expect(await c.agreedLeader()).not.toBe(leader);
            for (const i of [follower, leader]) {
                expect(c.nodeLog(i)).not.toContain("running the restore command");
                expect(bc!.agentLog(i).slice(agentLogFrom[i])).not.toContain("restore request");
            }
            expect(c.nodeLog(leader)).toContain("the sentinels name this empty node while other nodes hold data: waiting for a failover");
        }),
    );
});

/** Ids of every `SET fleet <id>` in an AOF (a RESP walk; throws on a malformed file). */
function setIds(aof: Buffer): Set<string> {
    const ids = new Set<string>();
    let at = 0;
    const line = () => {
        const end = aof.indexOf("\r\n", at);
        if (end < 0) throw new Error(`no CRLF after byte ${at}`);
        const text = aof.toString("latin1", at, end);
        at = end + 2;
        return text;
    };
    while (at < aof.length) {
        const n = Number(line().slice(1));
        const args: string[] = [];
        for (let a = 0; a < n; a++) {
            const len = Number(line().slice(1));
            args.push(aof.toString("latin1", at, at + len));
            at += len + 2;
        }
        if (args[0]?.toUpperCase() === "SET" && args[1] === "fleet") ids.add(args[2]);
        if (args[0]?.toUpperCase() === "DEL" && args[1] === "fleet") ids.delete(args[2]);
    }
    return ids;
}
