/**
 * The backup agent and the restore handshake against a REAL Tile38 (tile38-server on 127.0.0.1,
 * with a password; a second one following it), a REAL S3-compatible server (the Versity S3
 * gateway, `versitygw posix`) and the REAL AWS CLI (Debian's `awscli`, the same 2.9.19 the agent
 * image pins), with busybox `sh` (the Tile38 image's shell) for the restore command. The agent
 * takes `aof_size` from the node's `SERVER` reply; every backup here is of a live node's AOF.
 * The whole-cluster flows (total loss, failover) are in backupRestore.test.ts.
 *
 * Ports of this file: S3 27200, Tile38 27201 (leader) and 27202 (follower); nothing listens on
 * 27203; the agents' metrics 27204-27205. Skipped (with the reason) where tile38-server is not installed; the other binaries
 * (versitygw, AWS CLI v2, busybox, bash) are required.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { RESTORE_HANDSHAKE_DIR } from "../../components/render/backupScripts";
import { AgentNode, BackupManifest, BackupRig, sha256 } from "../../testing/fixtures/loopback/backupRig";
import { describeWithTile38, tile38Binary, tile38SkipReason } from "../../testing/fixtures/loopback/cluster";
import { Harness, ManagedProcess, withLogs } from "../../testing/fixtures/loopback/processes";
import { resp, respPipeline, RespValue } from "../../components/status/resp";
import { waitFor } from "../../testing/probe/wait";

// Every wait below is bounded on its own (spawnSync timeouts, restore timeouts, port waits).
jest.setTimeout(180_000);

const BUCKET = "tile38-ha-test-backups";
const PASSWORD = "agent-test.pw_1";
const LEADER_PORT = 27201;
const FOLLOWER_PORT = 27202;
const NOBODY_PORT = 27203;
let rig: BackupRig;
let h: Harness;
let leaderDir = "";
let followerDir = "";

const leader = (): AgentNode => ({ name: "tile38-ha-test-tile38-1", port: LEADER_PORT, password: PASSWORD, dataDir: leaderDir });
const agentEnv = (prefix: string, node: AgentNode = leader(), extra: Record<string, string> = {}) => rig.agentEnv(prefix, node, extra);
const agent = (args: string[], env: Record<string, string>) => rig.agent(args, env);
const getObject = (key: string) => rig.getObject(key);
const putObject = (key: string, body: Buffer) => rig.putObject(key, body);
const listKeys = (prefix: string) => rig.listKeys(prefix);
const newDataDir = (name: string) => rig.newDataDir(name);
const startLoop = (env: Record<string, string>) => rig.startLoop(env);
const stop = (proc: Parameters<BackupRig["kill"]>[0]) => rig.kill(proc);
const runRestore = (dataDir: string, timeoutSeconds: number) => rig.runRestore(dataDir, timeoutSeconds);

async function call(port: number, args: (string | number)[]): Promise<RespValue> {
    return resp(port, args, PASSWORD, { timeoutMs: 5000 });
}

/** The leader's SERVER stats. */
async function stats(port = LEADER_PORT): Promise<Record<string, unknown>> {
    const [, , server] = await respPipeline(port, [["AUTH", PASSWORD], ["OUTPUT", "json"], ["SERVER"]], { timeoutMs: 5000 });
    return (JSON.parse(String(server)) as { stats: Record<string, unknown> }).stats;
}

let seq = 0;
/** Writes `n` points to the leader. */
async function writePoints(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
        const r = await call(LEADER_PORT, ["SET", "fleet", `truck${++seq}`, "POINT", 33 + seq / 1000, -112 - seq / 1000]);
        if (r !== "OK" && !(typeof r === "string" && r.includes("ok"))) throw new Error(`SET answered ${JSON.stringify(r)}`);
    }
}

/** Waits until the leader's AOF on disk holds its whole aof_size; returns that size. */
async function flushedAofSize(): Promise<number> {
    return waitFor(
        async () => {
            const size = Number((await stats()).aof_size);
            return size > 0 && fs.statSync(path.join(leaderDir, "appendonly.aof")).size >= size ? size : undefined;
        },
        { timeoutMs: 10_000, what: "the leader's AOF on disk" },
    );
}

/** The first `size` bytes of the leader's AOF. */
const aofPrefix = (size: number) => fs.readFileSync(path.join(leaderDir, "appendonly.aof")).subarray(0, size);

/** A backup of the leader's current AOF under `prefix` (agent backup-once); its manifest and bytes. */
async function backup(prefix: string): Promise<{ m: BackupManifest; bytes: Buffer }> {
    const size = await flushedAofSize();
    const r = agent(["backup-once"], agentEnv(prefix));
    if (r.code !== 0) throw new Error(`backup failed: ${r.log}`);
    const m = JSON.parse(getObject(`${prefix}latest.json`).toString()) as BackupManifest;
    if (m.size !== size) throw new Error(`backup of ${m.size} bytes, aof_size was ${size}`);
    return { m, bytes: aofPrefix(m.size) };
}

function startTile38(port: number, dir: string, config: Record<string, unknown>): ManagedProcess {
    fs.writeFileSync(path.join(dir, "config"), JSON.stringify(config));
    const p = h.start({ name: `tile38-${port}`, command: tile38Binary()!, args: ["-d", dir, "-h", "127.0.0.1", "-p", String(port), "--appendonly", "yes"], env: { PATH: "/usr/bin:/bin" } });
    return p;
}

beforeAll(async () => {
    if (tile38SkipReason()) return;
    rig = await BackupRig.start({ s3Port: 27200, bucket: BUCKET, label: "backup-it" });
    h = new Harness("tile38-ha-backup-it");
    leaderDir = h.dir("leader");
    followerDir = h.dir("follower");
    startTile38(LEADER_PORT, leaderDir, { requirepass: PASSWORD });
    await waitFor(async () => (await call(LEADER_PORT, ["PING"])) === "PONG", { timeoutMs: 15_000, what: "the leader to answer" });
    await writePoints(20);
    startTile38(FOLLOWER_PORT, followerDir, { requirepass: PASSWORD, leaderauth: PASSWORD, follow_host: "127.0.0.1", follow_port: LEADER_PORT });
    await waitFor(async () => (await stats(FOLLOWER_PORT)).caught_up === true, { timeoutMs: 20_000, what: "the follower to catch up" });
}, 90_000);

afterAll(async () => {
    await h?.cleanup();
    rig?.stop();
});

const logs = () => h;

describeWithTile38("backup upload: aof_size from the real node's SERVER", () => {
    const prefix = "upload/";
    let first: BackupManifest;

    test("uploads exactly the first aof_size bytes with a manifest and a pointer", withLogs(logs, async () => {
        const size = await flushedAofSize();
        const r = agent(["backup-once"], agentEnv(prefix));
        expect(r.code).toBe(0);
        expect(r.log).toContain(`backed up ${size} bytes`);

        const pointer = JSON.parse(getObject(`${prefix}latest.json`).toString());
        const manifests = listKeys(`${prefix}manifests/`);
        expect(manifests).toHaveLength(1);
        first = JSON.parse(getObject(manifests[0]).toString());
        expect(pointer).toEqual(first);
        expect(first).toMatchObject({ version: 1, node: "tile38-ha-test-tile38-1", size, sha256: sha256(aofPrefix(size)), manifest: manifests[0] });
        expect(String(first.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(Math.abs(Number(first.epoch) - Date.now() / 1000)).toBeLessThan(120);
        expect(getObject(first.key).equals(aofPrefix(size))).toBe(true);
        expect(listKeys(`${prefix}aof/`)).toEqual([first.key]);
    }));

    test("uploads nothing when size and sha256 equal the last backup", () => {
        const r = agent(["backup-once"], agentEnv(prefix));
        expect(r.code).toBe(0);
        expect(r.log).toContain("nothing uploaded");
        expect(listKeys(`${prefix}aof/`)).toHaveLength(1);
        expect(listKeys(`${prefix}manifests/`)).toHaveLength(1);
    });

    test("a grown AOF is uploaded again and the pointer moves", withLogs(logs, async () => {
        await writePoints(5);
        const size = await flushedAofSize();
        expect(size).toBeGreaterThan(first.size);
        const r = agent(["backup-once"], agentEnv(prefix));
        expect(r.code).toBe(0);
        expect(listKeys(`${prefix}aof/`)).toHaveLength(2);
        const pointer = JSON.parse(getObject(`${prefix}latest.json`).toString());
        expect(pointer.size).toBe(size);
        expect(pointer.sha256).toBe(sha256(aofPrefix(size)));
        expect(pointer.key).not.toBe(first.key);
        expect(getObject(pointer.key).equals(aofPrefix(size))).toBe(true);
    }));

    test("an unchanged backup older than the refresh age is uploaded again (bucket expiry must not remove the only backup)", () => {
        const r = agent(["backup-once"], agentEnv(prefix, leader(), { BACKUP_REFRESH_SECONDS: "1" }));
        // The previous upload is at least one second old by now (each aws call takes longer).
        expect(r.code).toBe(0);
        expect(r.log).toContain("uploading it again before it expires");
        expect(listKeys(`${prefix}aof/`)).toHaveLength(3);
    });

    test("a follower's agent uploads nothing: the leader's agent does", () => {
        const p = "follower/";
        const r = agent(["backup-once"], agentEnv(p, { name: "tile38-ha-test-tile38-2", port: FOLLOWER_PORT, password: PASSWORD, dataDir: followerDir }));
        expect(r.code).toBe(0);
        expect(r.log).toContain(`this node follows 127.0.0.1:${LEADER_PORT}: the leader's agent uploads`);
        expect(listKeys(p)).toEqual([]);
    });

    test("when Tile38 does not answer SERVER, nothing is uploaded", () => {
        const p = "notile38/";
        const r = agent(["backup-once"], agentEnv(p, { ...leader(), port: NOBODY_PORT }));
        expect(r.code).not.toBe(0);
        expect(r.log).toContain(`Tile38 at 127.0.0.1:${NOBODY_PORT} did not answer SERVER: skipping this round`);
        expect(listKeys(p)).toEqual([]);
    });

    test("records every round, and its health turns bad once the last good backup is older than twice the interval (a broken store is never silent)", () => {
        const p = "health/";
        const status = () => JSON.parse(fs.readFileSync(path.join(leaderDir, RESTORE_HANDSHAKE_DIR, "status.json"), "utf8")) as Record<string, number | string>;
        const fast = { BACKUP_INTERVAL: "1" };
        expect(agent(["backup-once"], agentEnv(p, leader(), fast)).code).toBe(0);
        expect(status()).toMatchObject({ role: "leader", failures_since_ok: 0, interval: 1 });
        expect(Math.abs(Number(status().last_ok_epoch) - Date.now() / 1000)).toBeLessThan(30);
        const good = agent(["health"], agentEnv(p, leader(), fast));
        expect(good.code).toBe(0);
        // The store goes away (nothing listens on NOBODY_PORT): rounds fail, counted.
        const broken = agentEnv(p, leader(), { ...fast, BACKUP_ENDPOINT: `http://127.0.0.1:${NOBODY_PORT}`, AWS_MAX_ATTEMPTS: "1" });
        expect(agent(["backup-once"], broken).code).not.toBe(0);
        expect(agent(["backup-once"], broken).code).not.toBe(0);
        expect(status()).toMatchObject({ role: "leader", failures_since_ok: 2 });
        spawnSync("sleep", ["3"]);
        const bad = agent(["health"], broken);
        expect(bad.code).toBe(1);
        expect(bad.log).toMatch(/the last good backup is \d+ s old \(more than twice the 1 s interval\); 2 rounds failed since/);
        // Fixed: the next good round makes it healthy again.
        expect(agent(["backup-once"], agentEnv(p, leader(), fast)).code).toBe(0);
        expect(agent(["health"], agentEnv(p, leader(), fast)).code).toBe(0);
        expect(status().failures_since_ok).toBe(0);
    });

    test("serves its record and its node's state as Prometheus metrics; a broken store turns them unhealthy", async () => {
        const p = "metrics/";
        const scrape = async (port: number): Promise<Record<string, number>> => {
            const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
            expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
            const out: Record<string, number> = {};
            for (const line of (await res.text()).split("\n")) {
                const m = /^(tile38_ha_\w+)\{node="([^"]+)"\} (\S+)$/.exec(line);
                if (m) {
                    expect(m[2]).toBe(leader().name);
                    out[m[1]] = Number(m[3]);
                }
            }
            return out;
        };
        const metricsOf = (port: number) => async () => scrape(port).catch(() => undefined);
        const good = startLoop(agentEnv(p, leader(), { BACKUP_INTERVAL: "2", BACKUP_METRICS_BIND: "127.0.0.1", BACKUP_METRICS_PORT: "27204" }));
        try {
            const m = await waitFor(async () => {
                const v = await metricsOf(27204)();
                return v && v.tile38_ha_backup_last_success_timestamp_seconds > Date.now() / 1000 - 30 ? v : undefined;
            }, { timeoutMs: 30_000, what: "a good round in the agent's metrics" });
            const st = JSON.parse(fs.readFileSync(path.join(leaderDir, RESTORE_HANDSHAKE_DIR, "status.json"), "utf8")) as Record<string, number>;
            expect(m).toMatchObject({
                tile38_ha_backup_last_success_timestamp_seconds: st.last_ok_epoch,
                tile38_ha_backup_last_size_bytes: st.last_ok_size,
                tile38_ha_backup_failures_since_success: 0,
                tile38_ha_backup_interval_seconds: 2,
                tile38_ha_backup_uploader: 1,
                tile38_ha_backup_healthy: 1,
                tile38_ha_node_up: 1,
                tile38_ha_node_read_only: 0,
            });
            expect(m.tile38_ha_backup_last_size_bytes).toBe(Number((await stats()).aof_size));
            expect(m.tile38_ha_backup_last_duration_seconds).toBeGreaterThan(0);
            // The node turns read-only (as a fenced leader does): the next look says so.
            expect(await call(LEADER_PORT, ["READONLY", "yes"])).toBeTruthy();
            try {
                await waitFor(async () => ((await metricsOf(27204)())?.tile38_ha_node_read_only === 1 ? true : undefined), { timeoutMs: 15_000, what: "read_only 1 in the metrics" });
            } finally {
                await call(LEADER_PORT, ["READONLY", "no"]);
            }
        } finally {
            stop(good.proc);
        }
        // A second agent whose store does not answer: its rounds fail, and once the last good
        // backup is older than twice its 1 s interval, healthy turns 0.
        const broken = startLoop(agentEnv(p, leader(), { BACKUP_INTERVAL: "1", BACKUP_ENDPOINT: `http://127.0.0.1:${NOBODY_PORT}`, AWS_MAX_ATTEMPTS: "1", BACKUP_METRICS_BIND: "127.0.0.1", BACKUP_METRICS_PORT: "27205" }));
        try {
            const bad = await waitFor(async () => {
                const v = await metricsOf(27205)();
                return v && v.tile38_ha_backup_healthy === 0 && v.tile38_ha_backup_failures_since_success >= 1 ? v : undefined;
            }, { timeoutMs: 60_000, what: "healthy 0 in the metrics of an agent whose store is gone" });
            expect(bad.tile38_ha_backup_failures_total).toBeGreaterThanOrEqual(1);
            expect(bad.tile38_ha_backup_uploader).toBe(1);
        } finally {
            stop(broken.proc);
        }
    });

    test("a wrong password: Tile38 refuses SERVER, nothing is uploaded", () => {
        const p = "badauth/";
        const r = agent(["backup-once"], agentEnv(p, { ...leader(), password: "wrong-password" }));
        expect(r.code).not.toBe(0);
        expect(r.log).toContain("did not answer SERVER");
        expect(listKeys(p)).toEqual([]);
    });
});

/** Environment of an agent whose node's data dir is `dataDir` (a node that is not running yet). */
const targetEnv = (prefix: string, dataDir: string) => agentEnv(prefix, { name: "tile38-ha-test-tile38-3", port: NOBODY_PORT, password: PASSWORD, dataDir });

describeWithTile38("restore handshake (agent loop + busybox restore command)", () => {
    test("places a byte-identical copy of the newest backup", withLogs(logs, async () => {
        const p = "restore-ok/";
        await backup(p);
        await writePoints(3);
        const newest = await backup(p);
        const target = newDataDir("restore-ok-target");
        const loop = startLoop(targetEnv(p, target));
        try {
            const r = await runRestore(target, 60);
            expect(r.log).toContain(`restored backup ${newest.m.key}`);
            expect(r.code).toBe(0);
            expect(fs.readFileSync(path.join(target, "appendonly.aof")).equals(newest.bytes)).toBe(true);
            expect(fs.readFileSync(path.join(target, RESTORE_HANDSHAKE_DIR, "result"), "utf8")).toMatch(/^ok /);
            expect(fs.existsSync(path.join(target, RESTORE_HANDSHAKE_DIR, "request"))).toBe(false);
        } finally {
            stop(loop.proc);
        }
    }));

    test("when every backup is refused the restore fails (the node must not start empty)", withLogs(logs, async () => {
        const p = "restore-allbad/";
        const only = await backup(p);
        putObject(only.m.key, only.bytes.subarray(0, 5));
        const target = newDataDir("restore-allbad-target");
        const loop = startLoop(targetEnv(p, target));
        try {
            const r = await runRestore(target, 60);
            expect(r.code).toBe(1);
            expect(r.log).toContain("restore failed: all 1 backups were refused");
            expect(loop.log()).toContain(`REFUSED: backup ${only.m.key} is truncated: 5 bytes, its manifest says ${only.m.size}`);
            expect(fs.existsSync(path.join(target, "appendonly.aof"))).toBe(false);
        } finally {
            stop(loop.proc);
        }
    }));

    test("no backup at all: a brand-new cluster starts empty", async () => {
        const p = "restore-none/";
        const target = newDataDir("restore-none-target");
        const loop = startLoop(targetEnv(p, target));
        try {
            const r = await runRestore(target, 60);
            expect(r.code).toBe(0);
            expect(r.log).toContain("no backup exists: starting empty");
            expect(fs.existsSync(path.join(target, "appendonly.aof"))).toBe(false);
        } finally {
            stop(loop.proc);
        }
    });

    test("without an agent the restore command gives up after its timeout", async () => {
        const target = newDataDir("restore-noagent-target");
        const r = await runRestore(target, 3);
        expect(r.code).toBe(1);
        expect(r.log).toContain("did not answer within 3 s");
        expect(fs.existsSync(path.join(target, RESTORE_HANDSHAKE_DIR, "request"))).toBe(false);
    });
});

describeWithTile38("manual restore of a chosen backup (agent list / fetch)", () => {
    const p = "manual/";
    let older: { m: BackupManifest; bytes: Buffer };
    let newest: { m: BackupManifest; bytes: Buffer };
    beforeAll(async () => {
        if (tile38SkipReason()) return;
        older = await backup(p);
        await writePoints(3);
        newest = await backup(p);
    });

    test("list shows the manifests newest first with size and node", () => {
        const r = agent(["list"], agentEnv(p));
        expect(r.code).toBe(0);
        const lines = r.log.split("\n").filter((l) => l.startsWith(p));
        expect(lines.map((l) => l.split("\t")[0])).toEqual([newest.m.manifest, older.m.manifest]);
        expect(lines[1].split("\t")[1]).toBe(String(older.m.size));
        expect(lines[1].split("\t")[3]).toBe("tile38-ha-test-tile38-1");
    });

    test("fetch writes a verified, byte-identical copy of the chosen backup and refuses to overwrite", () => {
        const dir = newDataDir("manual-out");
        const out = path.join(dir, "appendonly.aof");
        const env = targetEnv(p, dir);
        const r = agent(["fetch", older.m.manifest, out], env);
        expect(r.code).toBe(0);
        expect(fs.readFileSync(out).equals(older.bytes)).toBe(true);
        const again = agent(["fetch", "latest", out], env);
        expect(again.code).not.toBe(0);
        expect(again.log).toContain("exists and is not empty");
        const forced = agent(["fetch", "latest", out], { ...env, FORCE: "1" });
        expect(forced.code).toBe(0);
        expect(fs.readFileSync(out).equals(newest.bytes)).toBe(true);
    });

    test("scripts/restore-backup.ts fetches a chosen backup with the same checks", () => {
        const out = path.join(newDataDir("manual-script"), "chosen.aof");
        const r = spawnSync(
            process.execPath,
            [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(__dirname, "../../scripts/restore-backup.ts"),
                "--bucket", BUCKET, "--prefix", p, "--endpoint", rig.endpoint, "--aws", rig.awsCli, "fetch", older.m.manifest, out],
            { env: rig.commonEnv(), encoding: "utf8", timeout: 90_000 },
        );
        expect(`${r.stdout}${r.stderr}`).toContain(`restored ${older.m.key}`);
        expect(r.status).toBe(0);
        expect(fs.readFileSync(out).equals(older.bytes)).toBe(true);
    });
});
