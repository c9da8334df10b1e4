/**
 * The backup agent and the restore handshake against a REAL S3-compatible server (the Versity S3
 * gateway, `versitygw posix`, on 127.0.0.1:19610) with the REAL AWS CLI (Debian's `awscli`, the
 * same 2.9.19 the agent image pins) and busybox `sh` (the Tile38 image's shell) for the restore
 * command.
 *
 * What is NOT real here: Tile38. tile38-server cannot be installed on these machines (the Go
 * module proxy refuses github.com/tidwall/tile38), and no fake Tile38 is run instead. So nothing
 * listens on the agent's TILE38_PORT, and the agent takes `aof_size` from the documented test seam
 * AOF_SIZE_OVERRIDE, which it reads only when Tile38 does not answer `SERVER`. The AOF files are
 * written in Tile38's on-disk format (RESP commands). Not covered, because it needs a running
 * Tile38: reading `aof_size` from a live `SERVER` reply, and the leader/follower decision.
 *
 * Required binaries (CI installs them; a missing one fails the suite with a message, nothing is
 * skipped): versitygw (`go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`),
 * the AWS CLI v2 (`apt-get install awscli`; override with AWS_CLI=/path), busybox, bash.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { RESTORE_HANDSHAKE_DIR } from "../../components/render/backupScripts";
import { BackupRig, respCommand, sha256 } from "./harness/backupRig";

// Every wait below is bounded on its own (spawnSync timeouts, restore timeouts, port wait);
// this only lifts Jest's 5 s default for tests that make several real S3 round trips.
jest.setTimeout(180_000);

const BUCKET = "tile38-ha-test-backups";
let rig: BackupRig;
let work = "";
let awsCli = "";
let ENDPOINT = "";

// Thin bindings, so that each test reads as the operation it checks.
const commonEnv = () => rig.commonEnv();
const agentEnv = (prefix: string, dataDir: string, extra: Record<string, string> = {}) => rig.agentEnv(prefix, dataDir, extra);
const agent = (args: string[], env: Record<string, string>) => rig.agent(args, env);
const getObject = (key: string) => rig.getObject(key);
const putObject = (key: string, body: Buffer) => rig.putObject(key, body);
const listKeys = (prefix: string) => rig.listKeys(prefix);
const newDataDir = (name: string, aof?: Buffer) => rig.newDataDir(name, aof);
const startLoop = (env: Record<string, string>) => rig.startLoop(env);
const stop = (proc: Parameters<BackupRig["kill"]>[0]) => rig.kill(proc);
const runRestore = (dataDir: string, timeoutSeconds: number) => rig.runRestore(dataDir, timeoutSeconds);
const backup = (prefix: string, dataName: string, aof: Buffer) => rig.backup(prefix, dataName, aof);

const CMD_A = respCommand("SET", "fleet", "truck1", "POINT", "33.5123", "-112.2693");
const CMD_B = respCommand("SET", "fleet", "truck2", "FIELD", "speed", "90", "POINT", "33.4626", "-112.1695");
const CMD_C = respCommand("DEL", "fleet", "truck1");

beforeAll(async () => {
    // S3 on 127.0.0.1:19610; nothing listens on 19611 (Tile38 cannot run on this machine).
    rig = await BackupRig.start({ s3Port: 19610, noTile38Port: 19611, bucket: BUCKET, label: "backup-it" });
    work = rig.work;
    awsCli = rig.awsCli;
    ENDPOINT = rig.endpoint;
}, 60_000);

afterAll(() => rig?.stop());

describe("backup upload (aof_size from the AOF_SIZE_OVERRIDE seam: Tile38 cannot run here)", () => {
    const prefix = "upload/";
    const aof = Buffer.concat([CMD_A, CMD_B, CMD_C.subarray(0, 10)]); // a command still being written after aof_size
    const size = CMD_A.length + CMD_B.length;
    let manifest: Record<string, unknown>;

    test("uploads exactly the first aof_size bytes with a manifest and a pointer", () => {
        const dir = newDataDir("upload", aof);
        const r = agent(["backup-once"], agentEnv(prefix, dir, { AOF_SIZE_OVERRIDE: String(size) }));
        expect(r.log).toContain("TEST SEAM");
        expect(r.code).toBe(0);

        const pointer = JSON.parse(getObject(`${prefix}latest.json`).toString());
        const manifests = listKeys(`${prefix}manifests/`);
        expect(manifests).toHaveLength(1);
        manifest = JSON.parse(getObject(manifests[0]).toString());
        expect(pointer).toEqual(manifest);
        expect(manifest).toMatchObject({ version: 1, node: "tile38-ha-test-tile38-1", size, sha256: sha256(aof.subarray(0, size)), manifest: manifests[0] });
        expect(String(manifest.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(Math.abs(Number(manifest.epoch) - Date.now() / 1000)).toBeLessThan(120);

        const object = getObject(String(manifest.key));
        expect(object.equals(aof.subarray(0, size))).toBe(true);
        expect(listKeys(`${prefix}aof/`)).toEqual([manifest.key]);
    });

    test("uploads nothing when size and sha256 equal the last backup", () => {
        const dir = path.join(work, "upload");
        const r = agent(["backup-once"], agentEnv(prefix, dir, { AOF_SIZE_OVERRIDE: String(size) }));
        expect(r.code).toBe(0);
        expect(r.log).toContain("nothing uploaded");
        expect(listKeys(`${prefix}aof/`)).toHaveLength(1);
        expect(listKeys(`${prefix}manifests/`)).toHaveLength(1);
    });

    test("a grown AOF is uploaded again and the pointer moves", () => {
        const dir = path.join(work, "upload");
        const grown = Buffer.concat([CMD_A, CMD_B, CMD_C]);
        fs.writeFileSync(path.join(dir, "appendonly.aof"), grown);
        const r = agent(["backup-once"], agentEnv(prefix, dir, { AOF_SIZE_OVERRIDE: String(grown.length) }));
        expect(r.code).toBe(0);
        expect(listKeys(`${prefix}aof/`)).toHaveLength(2);
        const pointer = JSON.parse(getObject(`${prefix}latest.json`).toString());
        expect(pointer.size).toBe(grown.length);
        expect(pointer.sha256).toBe(sha256(grown));
        expect(pointer.key).not.toBe(manifest.key);
        expect(getObject(pointer.key).equals(grown)).toBe(true);
    });

    test("an unchanged backup older than the refresh age is uploaded again (bucket expiry must not remove the only backup)", () => {
        const dir = path.join(work, "upload");
        const grown = fs.readFileSync(path.join(dir, "appendonly.aof"));
        const r = agent(["backup-once"], agentEnv(prefix, dir, { AOF_SIZE_OVERRIDE: String(grown.length), BACKUP_REFRESH_SECONDS: "1" }));
        // The previous upload is at least one second old by now (each aws call takes longer).
        expect(r.code).toBe(0);
        expect(r.log).toContain("uploading it again before it expires");
        expect(listKeys(`${prefix}aof/`)).toHaveLength(3);
    });

    test("a size that does not end with CRLF is not uploaded", () => {
        const p = "badsize/";
        const dir = newDataDir("badsize", Buffer.concat([CMD_A, CMD_B]));
        const r = agent(["backup-once"], agentEnv(p, dir, { AOF_SIZE_OVERRIDE: String(CMD_A.length + 5) }));
        expect(r.code).not.toBe(0);
        expect(r.log).toContain("not an AOF prefix");
        expect(listKeys(p)).toEqual([]);
    });

    test("a file shorter than aof_size (not flushed yet) is retried later, not uploaded", () => {
        const p = "short/";
        const dir = newDataDir("short", CMD_A);
        const r = agent(["backup-once"], agentEnv(p, dir, { AOF_SIZE_OVERRIDE: String(CMD_A.length + CMD_B.length) }));
        expect(r.code).not.toBe(0);
        expect(r.log).toContain("not flushed yet");
        expect(listKeys(p)).toEqual([]);
    });

    test("without Tile38 and without the seam, nothing is uploaded", () => {
        const p = "notile38/";
        const dir = newDataDir("notile38", CMD_A);
        const r = agent(["backup-once"], agentEnv(p, dir));
        expect(r.code).not.toBe(0);
        expect(r.log).toContain("did not answer SERVER: skipping");
        expect(listKeys(p)).toEqual([]);
    });
});

describe("restore handshake (agent loop + busybox restore command)", () => {
    test("places a byte-identical copy of the newest backup", async () => {
        const p = "restore-ok/";
        backup(p, "restore-ok-src1", CMD_A);
        const newest = Buffer.concat([CMD_A, CMD_B]);
        const m = backup(p, "restore-ok-src2", newest);
        const target = newDataDir("restore-ok-target");
        const loop = startLoop(agentEnv(p, target));
        try {
            const r = await runRestore(target, 60);
            expect(r.log).toContain(`restored backup ${m.key}`);
            expect(r.code).toBe(0);
            expect(fs.readFileSync(path.join(target, "appendonly.aof")).equals(newest)).toBe(true);
            expect(fs.readFileSync(path.join(target, RESTORE_HANDSHAKE_DIR, "result"), "utf8")).toMatch(/^ok /);
            expect(fs.existsSync(path.join(target, RESTORE_HANDSHAKE_DIR, "request"))).toBe(false);
        } finally {
            stop(loop.proc);
        }
    });

    test("a corrupt newest backup is refused and the previous one is restored", async () => {
        const p = "restore-corrupt/";
        const older = backup(p, "restore-corrupt-src1", CMD_A);
        const newest = backup(p, "restore-corrupt-src2", Buffer.concat([CMD_A, CMD_B]));
        // Same size, different bytes: only the checksum can tell.
        const tampered = Buffer.concat([CMD_A, CMD_B]);
        tampered[tampered.length - 4] = "X".charCodeAt(0);
        putObject(String(newest.key), tampered);
        const target = newDataDir("restore-corrupt-target");
        const loop = startLoop(agentEnv(p, target));
        try {
            const r = await runRestore(target, 60);
            expect(r.code).toBe(0);
            expect(loop.log()).toContain(`backup ${newest.key} is corrupt`);
            expect(r.log).toContain(`restored backup ${older.key}`);
            expect(fs.readFileSync(path.join(target, "appendonly.aof")).equals(CMD_A)).toBe(true);
        } finally {
            stop(loop.proc);
        }
    });

    test("a truncated newest backup is refused and the previous one is restored", async () => {
        const p = "restore-truncated/";
        const older = backup(p, "restore-trunc-src1", CMD_A);
        const full = Buffer.concat([CMD_A, CMD_B]);
        const newest = backup(p, "restore-trunc-src2", full);
        putObject(String(newest.key), full.subarray(0, full.length - 7));
        const target = newDataDir("restore-trunc-target");
        const loop = startLoop(agentEnv(p, target));
        try {
            const r = await runRestore(target, 60);
            expect(r.code).toBe(0);
            expect(loop.log()).toContain(`backup ${newest.key} is truncated: ${full.length - 7} bytes, its manifest says ${full.length}`);
            expect(r.log).toContain(`restored backup ${older.key}`);
            expect(fs.readFileSync(path.join(target, "appendonly.aof")).equals(CMD_A)).toBe(true);
        } finally {
            stop(loop.proc);
        }
    });

    test("when every backup is refused the restore fails (the node must not start empty)", async () => {
        const p = "restore-allbad/";
        const only = backup(p, "restore-allbad-src", CMD_A);
        putObject(String(only.key), CMD_A.subarray(0, 5));
        const target = newDataDir("restore-allbad-target");
        const loop = startLoop(agentEnv(p, target));
        try {
            const r = await runRestore(target, 60);
            expect(r.code).toBe(1);
            expect(r.log).toContain("restore failed: all 1 backups were refused");
            expect(fs.existsSync(path.join(target, "appendonly.aof"))).toBe(false);
        } finally {
            stop(loop.proc);
        }
    });

    test("no backup at all: a brand-new cluster starts empty", async () => {
        const p = "restore-none/";
        const target = newDataDir("restore-none-target");
        const loop = startLoop(agentEnv(p, target));
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
        const started = Date.now();
        const r = await runRestore(target, 3);
        expect(r.code).toBe(1);
        expect(r.log).toContain("did not answer within 3 s");
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(fs.existsSync(path.join(target, RESTORE_HANDSHAKE_DIR, "request"))).toBe(false);
    });
});

describe("manual restore of a chosen backup (agent list / fetch)", () => {
    const p = "manual/";
    let older: Record<string, unknown>;
    let newest: Record<string, unknown>;
    beforeAll(() => {
        older = backup(p, "manual-src1", CMD_A);
        newest = backup(p, "manual-src2", Buffer.concat([CMD_A, CMD_B, CMD_C]));
    });

    test("list shows the manifests newest first with size and node", () => {
        const r = agent(["list"], agentEnv(p, path.join(work, "manual-src1")));
        expect(r.code).toBe(0);
        const lines = r.log.split("\n").filter((l) => l.startsWith(p));
        expect(lines.map((l) => l.split("\t")[0])).toEqual([newest.manifest, older.manifest]);
        expect(lines[1].split("\t")[1]).toBe(String(CMD_A.length));
    });

    test("fetch writes a verified, byte-identical copy of the chosen backup and refuses to overwrite", () => {
        const out = path.join(newDataDir("manual-out"), "appendonly.aof");
        const env = agentEnv(p, path.join(work, "manual-out"));
        const r = agent(["fetch", String(older.manifest), out], env);
        expect(r.code).toBe(0);
        expect(fs.readFileSync(out).equals(CMD_A)).toBe(true);
        const again = agent(["fetch", "latest", out], env);
        expect(again.code).not.toBe(0);
        expect(again.log).toContain("exists and is not empty");
        const forced = agent(["fetch", "latest", out], { ...env, FORCE: "1" });
        expect(forced.code).toBe(0);
        expect(fs.readFileSync(out).equals(Buffer.concat([CMD_A, CMD_B, CMD_C]))).toBe(true);
    });

    test("scripts/restore-backup.ts fetches a chosen backup with the same checks", () => {
        const out = path.join(newDataDir("manual-script"), "chosen.aof");
        const r = spawnSync(
            process.execPath,
            [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(__dirname, "../../scripts/restore-backup.ts"),
                "--bucket", BUCKET, "--prefix", p, "--endpoint", ENDPOINT, "--aws", awsCli, "fetch", String(older.manifest), out],
            { env: commonEnv(), encoding: "utf8", timeout: 90_000 },
        );
        expect(`${r.stdout}${r.stderr}`).toContain(`restored ${older.key}`);
        expect(r.status).toBe(0);
        expect(fs.readFileSync(out).equals(CMD_A)).toBe(true);
    });
});
