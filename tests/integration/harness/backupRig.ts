/**
 * A real S3-compatible server (the Versity S3 gateway, `versitygw posix`) on 127.0.0.1 plus the
 * rendered backup agent run with the real AWS CLI v2 against a real Tile38 node, and the rendered
 * restore command run under busybox `sh` — shared by the backup integration tests and
 * `npm run bench:backup`. The S3 server can be stopped and started again on the same port and
 * directory ({@link BackupRig.stopServer}, {@link BackupRig.startServer}): S3 unreachable.
 *
 * Required binaries (`.ci/run` installs them; a missing one is an error, never a skip):
 * versitygw (`go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`), the AWS CLI v2
 * (`apt-get install awscli`; override with AWS_CLI=/path), busybox, bash.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { acceptsTcp } from "../../../testing/tcp";
import { BACKUP_POINTER_NAME, BackupAgentSettings, renderBackupAgentScript, renderRestoreCommand } from "../../../components/render/backupScripts";
import { which } from "./busybox";
import { Harness, ManagedProcess } from "./processes";
import { waitFor, withTimeout } from "./wait";

const ACCESS_KEY = "backuptestaccess";
const SECRET_KEY = "backuptestsecret-0123456789";

export const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function requireBinary(name: string, candidates: (string | undefined)[], install: string): string {
    for (const c of candidates) if (c && fs.existsSync(c)) return c;
    throw new Error(`${name} is missing: ${install}`);
}

function kill(proc: ChildProcess): void {
    if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
        try {
            process.kill(-proc.pid, "SIGKILL");
        } catch {
            /* already gone */
        }
    }
}

/** Options of {@link BackupRig.start}. */
export interface BackupRigOptions {
    /** Loopback port of the S3 server; each user picks its own. */
    s3Port: number;
    /** Bucket the agents create and use. */
    bucket: string;
    /** Label of the temporary work directory. */
    label: string;
    /**
     * Agent settings baked into the rendered agent script (the stack's `backup.intervalSeconds`
     * and refresh age). @default { intervalSeconds: 3600, refreshSeconds: 86400 }
     */
    agentSettings?: BackupAgentSettings;
}

/** The Tile38 node an agent watches. */
export interface AgentNode {
    /** `NODE_NAME` (object keys, manifests). */
    name: string;
    /** The node's port on 127.0.0.1. */
    port: number;
    /** The node's password (empty = no AUTH). */
    password: string;
    /** The node's data dir (the shared volume). */
    dataDir: string;
}

/** The S3 server, the agent script and helpers; {@link BackupRig.stop} kills everything it started. */
export class BackupRig {
    readonly endpoint: string;
    private readonly loops: ChildProcess[] = [];
    private server?: ChildProcess;
    private readonly s3Root: string;

    private constructor(
        readonly options: BackupRigOptions,
        readonly work: string,
        readonly awsCli: string,
        readonly busybox: string,
        readonly agentScript: string,
        private readonly gateway: string,
    ) {
        this.endpoint = `http://127.0.0.1:${options.s3Port}`;
        this.s3Root = path.join(work, "s3");
    }

    /** Resolves the binaries, writes the agent script and starts the S3 server (bounded wait). */
    static async start(options: BackupRigOptions): Promise<BackupRig> {
        const gw = requireBinary(
            "versitygw",
            [process.env.VERSITYGW, which("versitygw"), path.join(os.homedir(), "go/bin/versitygw")],
            "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0",
        );
        // Debian's CLI, not whatever `aws` comes first on PATH (a pyenv shim may shadow it).
        const awsCli = requireBinary("the AWS CLI v2", [process.env.AWS_CLI, "/usr/bin/aws"], "apt-get install awscli (Debian's AWS CLI 2.x), or set AWS_CLI=/path/to/aws");
        const busybox = requireBinary("busybox", [which("busybox"), "/usr/bin/busybox", "/bin/busybox"], "apt-get install busybox");
        requireBinary("bash", [which("bash")], "install bash");
        const version = spawnSync(awsCli, ["--version"], { encoding: "utf8" });
        if (!/aws-cli\/2\./.test(`${version.stdout}${version.stderr}`)) throw new Error(`${awsCli} is not AWS CLI v2: ${version.stdout}${version.stderr}`);

        const work = fs.mkdtempSync(path.join(os.tmpdir(), `tile38-ha-${options.label}-`));
        const agentScript = path.join(work, "tile38-ha-backup-agent");
        fs.writeFileSync(agentScript, renderBackupAgentScript(options.agentSettings ?? { intervalSeconds: 3600, refreshSeconds: 86400 }));
        const rig = new BackupRig(options, work, awsCli, busybox, agentScript, gw);
        fs.mkdirSync(rig.s3Root);
        try {
            await rig.startServer();
        } catch (e) {
            rig.stop();
            throw e;
        }
        return rig;
    }

    /** Starts the S3 server (again) on the same port and directory; waits, bounded, until it accepts. */
    async startServer(): Promise<void> {
        if (this.server && this.server.exitCode === null && this.server.signalCode === null) return;
        // Another process on the port (a stray S3 server of an interrupted run) would answer for
        // this one: the test would use its data, and could never make S3 unreachable.
        if (await acceptsTcp("127.0.0.1", this.options.s3Port)) throw new Error(`port 127.0.0.1:${this.options.s3Port} is already in use by another process: stop it (ss -ltnp) and run again`);
        const log = (name: string) => fs.openSync(path.join(this.work, name), "a");
        this.server = spawn(this.gateway, ["--port", `127.0.0.1:${this.options.s3Port}`, "posix", this.s3Root], {
            env: { PATH: process.env.PATH ?? "", ROOT_ACCESS_KEY: ACCESS_KEY, ROOT_SECRET_KEY: SECRET_KEY },
            detached: true,
            stdio: ["ignore", log("versitygw.log"), log("versitygw.err")],
        });
        await waitFor(() => acceptsTcp("127.0.0.1", this.options.s3Port), { timeoutMs: 15_000, what: `the S3 server on 127.0.0.1:${this.options.s3Port}` });
    }

    /** Stops the S3 server (S3 unreachable); its data stays for {@link startServer}. */
    async stopServer(): Promise<void> {
        const server = this.server;
        if (!server) return;
        this.server = undefined;
        if (server.exitCode === null && server.signalCode === null) {
            const exited = new Promise((resolve) => server.once("exit", resolve));
            kill(server);
            await withTimeout(exited, 10_000, "the S3 server to exit");
        }
        await waitFor(async () => !(await acceptsTcp("127.0.0.1", this.options.s3Port)), { timeoutMs: 10_000, what: `port ${this.options.s3Port} to close` });
    }

    /** Kills the agent loops and the S3 server and removes the work directory. */
    stop(): void {
        for (const l of this.loops) kill(l);
        if (this.server) kill(this.server);
        fs.rmSync(this.work, { recursive: true, force: true });
    }

    /** Environment of the AWS CLI: the server's keys, no profile, no instance metadata. */
    commonEnv(): Record<string, string> {
        return {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: this.work,
            LC_ALL: "C",
            AWS_ACCESS_KEY_ID: ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY: SECRET_KEY,
            AWS_DEFAULT_REGION: "us-east-1",
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_CONFIG_FILE: path.join(this.work, "aws-config-none"),
            AWS_SHARED_CREDENTIALS_FILE: path.join(this.work, "aws-credentials-none"),
        };
    }

    /** Environment of the agent of `node` (the components set the same variables). */
    agentEnv(prefix: string, node: AgentNode, extra: Record<string, string> = {}): Record<string, string> {
        return {
            ...this.commonEnv(),
            AWS_BIN: this.awsCli,
            NODE_NAME: node.name,
            TILE38_HOST: "127.0.0.1",
            TILE38_PORT: String(node.port),
            TILE38_PASSWORD: node.password,
            DATA_DIR: node.dataDir,
            BACKUP_BUCKET: this.options.bucket,
            BACKUP_PREFIX: prefix,
            BACKUP_ENDPOINT: this.endpoint,
            BACKUP_CREATE_BUCKET: "1",
            ...extra,
        };
    }

    /** Writes the agent script rendered with `settings` into `dir` and returns its path. */
    renderAgentScript(dir: string, settings: BackupAgentSettings): string {
        const file = path.join(dir, "tile38-ha-backup-agent");
        fs.writeFileSync(file, renderBackupAgentScript(settings));
        return file;
    }

    /** Runs the agent once (bounded) and returns its exit code and log. */
    agent(args: string[], env: Record<string, string>, timeoutMs = 60_000, script = this.agentScript): { code: number | null; log: string } {
        const r = spawnSync("bash", [script, ...args], { env, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 });
        if (r.error) throw r.error;
        return { code: r.status, log: `${r.stdout}${r.stderr}` };
    }

    /**
     * Starts the agent's loop (the sidecar) as a process of `h` (its log is shown when a test
     * fails; `h` stops it). Without `h`, a bare background process killed by {@link stop}.
     */
    startAgent(h: Harness, name: string, env: Record<string, string>, script = this.agentScript): ManagedProcess {
        return h.start({ name, command: which("bash")!, args: [script, "run"], env });
    }

    /** Starts the agent's loop outside any harness; killed by {@link stop} or {@link kill}. */
    startLoop(env: Record<string, string>): { proc: ChildProcess; log: () => string } {
        let log = "";
        const proc = spawn("bash", [this.agentScript, "run"], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        proc.stdout!.on("data", (d) => (log += d));
        proc.stderr!.on("data", (d) => (log += d));
        this.loops.push(proc);
        return { proc, log: () => log };
    }

    /** Kills one process this rig started. */
    kill(proc: ChildProcess): void {
        kill(proc);
    }

    /** The AWS CLI against the server (bounded). */
    aws(args: string[], input?: Buffer): Buffer {
        const r = spawnSync(this.awsCli, ["--endpoint-url", this.endpoint, ...args], { env: this.commonEnv(), input, timeout: 120_000, maxBuffer: 1 << 30 });
        if (r.error) throw r.error;
        if (r.status !== 0) throw new Error(`aws ${args.join(" ")} failed: ${r.stderr.toString()}`);
        return r.stdout;
    }

    getObject(key: string): Buffer {
        return this.aws(["s3", "cp", `s3://${this.options.bucket}/${key}`, "-"]);
    }

    putObject(key: string, body: Buffer): void {
        this.aws(["s3", "cp", "-", `s3://${this.options.bucket}/${key}`], body);
    }

    listKeys(prefix: string): string[] {
        const out = this.aws(["s3api", "list-objects-v2", "--bucket", this.options.bucket, "--prefix", prefix, "--query", "Contents[].Key", "--output", "text"])
            .toString()
            .trim();
        return out === "None" || out === "" ? [] : out.split(/\s+/).sort();
    }

    /** The pointer (`latest.json`) under `prefix`, or undefined when there is none (or S3 is down). */
    pointer(prefix: string): BackupManifest | undefined {
        try {
            return JSON.parse(this.getObject(`${prefix}${BACKUP_POINTER_NAME}`).toString()) as BackupManifest;
        } catch {
            return undefined;
        }
    }

    /** Every manifest under `prefix`, oldest first. */
    manifests(prefix: string): BackupManifest[] {
        return this.listKeys(`${prefix}manifests/`).map((k) => JSON.parse(this.getObject(k).toString()) as BackupManifest);
    }

    /** A fresh data directory under the work directory, optionally holding an AOF. */
    newDataDir(name: string, aof?: Buffer): string {
        const d = path.join(this.work, name);
        fs.mkdirSync(d, { recursive: true });
        if (aof) fs.writeFileSync(path.join(d, "appendonly.aof"), aof);
        return d;
    }

    /** The restore command exactly as a Tile38 start script runs it: `sh -c "$TILE38_RESTORE_CMD"` under busybox. */
    runRestore(dataDir: string, timeoutSeconds: number): Promise<{ code: number | null; log: string }> {
        const cmd = renderRestoreCommand({ timeoutSeconds });
        return new Promise((resolve, reject) => {
            let log = "";
            const p = spawn(this.busybox, ["sh", "-c", cmd], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DATA_DIR: dataDir }, stdio: ["ignore", "pipe", "pipe"] });
            p.stdout.on("data", (d) => (log += d));
            p.stderr.on("data", (d) => (log += d));
            const killer = setTimeout(() => p.kill("SIGKILL"), (timeoutSeconds + 30) * 1000);
            p.on("error", reject);
            p.on("close", (code) => {
                clearTimeout(killer);
                resolve({ code, log });
            });
        });
    }
}

/** A manifest (and the pointer, its copy) as the agent writes it. */
export interface BackupManifest {
    version: number;
    node: string;
    /** Key of the AOF object. */
    key: string;
    /** Key of this manifest. */
    manifest: string;
    /** Bytes (Tile38's `aof_size` when it was taken). */
    size: number;
    sha256: string;
    time: string;
    /** Seconds since the epoch. */
    epoch: number;
}
