/**
 * The Docker (host networking) topology as real processes on 127.0.0.1: three real
 * `tile38-server` nodes, each run by the REAL rendered start script under busybox sh (as in the
 * Alpine Tile38 image), and three real sentinels run by the rendered sentinel start script. Every
 * process has its own data dir and log; the cluster can kill (SIGKILL, the container dying),
 * stop (SIGTERM to the start script only, as `docker stop` signals PID 1), restart and wipe nodes.
 * Used by the failover suite, the drill and the backup end-to-end tests.
 */
import * as fs from "fs";
import * as path from "path";
import { RawStackValues } from "../../../config/parse";
import { busyboxPath, busyboxSh, scriptEnv, which } from "./busybox";
import { Harness, ManagedProcess, StartOptions } from "./processes";
import { renderStack, RenderedStack, testStackConfig } from "./render";
import { ClusterProbe } from "./clusterProbe";
export { waitUntilHealthy } from "./clusterProbe";
export type { Health } from "./clusterProbe";
import { RunningSentinel, startSentinel } from "./sentinels";
import { sleep } from "./wait";


/** Where the real tile38-server is: `TILE38_SERVER`, else `tile38-server` on PATH. */
export function tile38Binary(): string | undefined {
    const env = process.env.TILE38_SERVER;
    if (env) return fs.existsSync(env) ? env : undefined;
    return which("tile38-server");
}

/** Why the Tile38 suites cannot run here, or undefined when they can. */
export function tile38SkipReason(): string | undefined {
    if (!tile38Binary()) return "tile38-server not found (set TILE38_SERVER or put tile38-server 1.37.0 on PATH; see docs/testing.md, 'The real Tile38')";
    if (!which("busybox")) return "busybox is not installed (apt-get install -y busybox)";
    if (!which("redis-server")) return "redis-server is not installed (apt-get install -y redis-server redis-sentinel)";
    return undefined;
}

/** `describe`, or `describe.skip` with the reason printed and in the title when `reason` is set. */
export function describeUnless(reason: string | undefined, name: string, fn: () => void): void {
    if (reason) {
        // eslint-disable-next-line no-console
        console.warn(`SKIPPED "${name}": ${reason}`);
        describe.skip(`${name} [skipped: ${reason}]`, fn);
    } else {
        describe(name, fn);
    }
}

/** `describe` that is skipped, with the reason printed, when the real Tile38 is missing. */
export function describeWithTile38(name: string, fn: () => void): void {
    describeUnless(tile38SkipReason(), name, fn);
}

export interface ClusterOptions {
    /** Label of the temp root and logs. */
    label: string;
    /** First sentinel port (three consecutive ports). */
    sentinelPort: number;
    /** First Tile38 port (three consecutive ports). */
    tile38Port: number;
    /** Extra raw stack values (e.g. sentinel timings, backup settings). */
    stack?: Omit<RawStackValues, "target">;
    passwords?: { tile38: string; sentinel: string };
    /** Extra environment per node (0-based), e.g. TILE38_RESTORE_CMD. */
    nodeEnv?: (index: number) => Record<string, string>;
    /** Harness to use (default: a new one, cleaned up by {@link Tile38Cluster.cleanup}). */
    harness?: Harness;
    /**
     * Called once the sentinels run and before the nodes start (e.g. to start processes that
     * share the nodes' data dirs, such as backup agents). Default: none.
     */
    beforeNodes?: (cluster: Tile38Cluster) => Promise<void> | void;
}

export const DEFAULT_PASSWORDS = { tile38: "t38-Secret.pw_1", sentinel: "sentinel-Secret.pw_2" };

export class Tile38Cluster extends ClusterProbe {
    readonly stack: RenderedStack;
    readonly passwords: { tile38: string; sentinel: string };
    readonly nodeDirs: string[];
    readonly sentinelDirs: string[];
    readonly nodeProcs: (ManagedProcess | undefined)[] = [undefined, undefined, undefined];
    readonly sentinelProcs: (RunningSentinel | undefined)[] = [undefined, undefined, undefined];
    private readonly pathValue: string;
    private readonly server: string;

    private constructor(readonly h: Harness, private readonly opts: ClusterOptions) {
        super();
        const reason = tile38SkipReason();
        if (reason) throw new Error(reason);
        this.server = tile38Binary()!;
        this.passwords = opts.passwords ?? DEFAULT_PASSWORDS;
        const extra = (key: string) => (opts.stack?.[key] ?? {}) as Record<string, unknown>;
        const cfg = testStackConfig({ ...opts.stack, sentinel: { port: opts.sentinelPort, ...extra("sentinel") }, tile38: { port: opts.tile38Port, ...extra("tile38") } });
        this.stack = renderStack(cfg, h.dir("rendered"));
        this.pathValue = busyboxPath(h.root, { "redis-server": which("redis-server")! });
        this.nodeDirs = [0, 1, 2].map((i) => h.dir(`tile38-${i + 1}-data`));
        this.sentinelDirs = [0, 1, 2].map((i) => h.dir(`sentinel-${i + 1}-data`));
    }

    /** Renders the stack and starts the sentinels, then the nodes; waits (bounded) until healthy. */
    static async start(opts: ClusterOptions, healthyTimeoutMs = 60000): Promise<Tile38Cluster> {
        const c = new Tile38Cluster(opts.harness ?? new Harness(opts.label), opts);
        for (let i = 0; i < 3; i++) await c.startSentinel(i);
        if (opts.beforeNodes) await opts.beforeNodes(c);
        for (let i = 0; i < 3; i++) c.startNode(i);
        await c.waitHealthy(healthyTimeoutMs);
        return c;
    }

    get topo() {
        return this.stack.topo;
    }

    nodeEnv(i: number): Record<string, string> {
        const node = this.topo.nodes[i];
        return scriptEnv(this.pathValue, this.nodeDirs[i], {
            NODE_HOST: node.host,
            NODE_PORT: String(node.port),
            NODE_BIND: this.stack.cfg.docker.bindAddress,
            DATA_DIR: this.nodeDirs[i],
            TILE38_PASSWORD: this.passwords.tile38,
            SENTINEL_PASSWORD: this.passwords.sentinel,
            TILE38_BIN: this.server,
            ...(this.opts.nodeEnv ? this.opts.nodeEnv(i) : {}),
        });
    }

    /** Starts node `i`'s start script (busybox sh). `wipe` empties its data dir first. */
    startNode(i: number, opts: { wipe?: boolean } = {}): ManagedProcess {
        if (this.nodeProcs[i] && !this.nodeProcs[i]!.status) throw new Error(`node ${i + 1} is already running`);
        if (opts.wipe) {
            fs.rmSync(this.nodeDirs[i], { recursive: true, force: true });
            fs.mkdirSync(this.nodeDirs[i], { recursive: true });
        }
        const p = this.h.start({ name: `tile38-${i + 1}`, command: busyboxSh(), args: ["sh", this.stack.tile38Start], cwd: this.nodeDirs[i], env: this.nodeEnv(i) });
        this.nodeProcs[i] = p;
        return p;
    }

    /** The container dying: SIGKILL to the start script, the server and the loop at once. */
    async killNode(i: number): Promise<void> {
        const p = this.nodeProcs[i];
        if (!p) return;
        try {
            process.kill(-p.pgid, "SIGKILL");
        } catch {
            /* gone */
        }
        await p.stop(1000);
    }

    /** The node stalled (`docker pause`, a frozen host): SIGSTOP to all its processes. */
    async freezeNode(i: number): Promise<void> {
        const p = this.nodeProcs[i];
        if (p && !p.status) process.kill(-p.pgid, "SIGSTOP");
    }

    /** The stalled node runs again: SIGCONT to all its processes. */
    async thawNode(i: number): Promise<void> {
        const p = this.nodeProcs[i];
        if (p && !p.status) process.kill(-p.pgid, "SIGCONT");
    }

    /** `docker stop`: SIGTERM to the start script only (PID 1), SIGKILL after `graceMs`. */
    async stopNode(i: number, graceMs = 30000): Promise<void> {
        const p = this.nodeProcs[i];
        if (!p || p.status) return;
        try {
            process.kill(p.child.pid!, "SIGTERM");
        } catch {
            /* gone */
        }
        await Promise.race([p.exited, sleep(graceMs)]);
        await p.stop(1000);
    }

    async startSentinel(i: number): Promise<RunningSentinel> {
        const s = await startSentinel(this.h, this.stack, i, { dataDir: this.sentinelDirs[i], pathValue: this.pathValue, passwords: this.passwords });
        this.sentinelProcs[i] = s;
        return s;
    }

    async stopSentinel(i: number, signal: "SIGTERM" | "SIGKILL" = "SIGKILL"): Promise<void> {
        const s = this.sentinelProcs[i];
        if (!s) return;
        if (signal === "SIGKILL") {
            try {
                process.kill(-s.proc.pgid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        await s.proc.stop(2000);
        this.sentinelProcs[i] = undefined;
    }

    sentinelRunning(i: number): boolean {
        return !!this.sentinelProcs[i];
    }

    async restartNode(i: number): Promise<void> {
        this.startNode(i);
    }

    async logTails(lines = 40): Promise<string> {
        return this.h.logTails(lines);
    }

    nodeRunning(i: number): boolean {
        const p = this.nodeProcs[i];
        return !!p && !p.status;
    }

    /** Runs the rendered stop script (the hand-over) in node `i`'s environment; bounded. */
    async runStopScript(i: number, timeoutMs = 40000): Promise<{ code: number | null; log: string; durationMs: number }> {
        const r = await this.h.run(this.stopScript(i), timeoutMs);
        return { code: r.status.code, log: r.log, durationMs: r.durationMs };
    }

    /** Starts the rendered stop script in node `i`'s environment (as a kubelet starts a preStop hook); the caller stops it. */
    startStopScript(i: number): ManagedProcess {
        return this.h.start(this.stopScript(i));
    }

    private stopScript(i: number): StartOptions {
        return { name: `tile38-stop-${i + 1}`, command: busyboxSh(), args: ["sh", this.stack.tile38Stop], cwd: this.nodeDirs[i], env: this.nodeEnv(i) };
    }

    /** Node `i`'s log so far. */
    nodeLog(i: number): string {
        return this.nodeProcs[i]?.log() ?? "";
    }

    sentinelLogFile(i: number): string | undefined {
        return this.sentinelProcs[i]?.proc.logFile;
    }

    dataFile(i: number, name: string): string {
        return path.join(this.nodeDirs[i], name);
    }

    async cleanup(): Promise<void> {
        await this.h.cleanup();
    }
}
