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
import { Harness, ManagedProcess } from "./processes";
import { renderStack, RenderedStack, testStackConfig } from "./render";
import { NodeStatus, nodeStatusCommands, parseNodeStatus } from "./nodeStatus";
import { pairs, resp, respPipeline, RespValue } from "./resp";
import { RunningSentinel, startSentinel } from "./sentinels";
import { sleep, waitFor } from "./wait";

/** Where the real tile38-server is: `TILE38_SERVER`, else `tile38-server` on PATH. */
export function tile38Binary(): string | undefined {
    const env = process.env.TILE38_SERVER;
    if (env) return fs.existsSync(env) ? env : undefined;
    return which("tile38-server");
}

/** Why the Tile38 suites cannot run here, or undefined when they can. */
export function tile38SkipReason(): string | undefined {
    if (!tile38Binary()) return "tile38-server not found (set TILE38_SERVER or put tile38-server 1.37.0 on PATH; see README, 'The real Tile38')";
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

/** Polls `health` (bounded) until it reports healthy; returns the leader it names. */
export async function waitUntilHealthy(health: () => Promise<Health>, timeoutMs: number, intervalMs = 100): Promise<string> {
    let last: Health | undefined;
    try {
        return await waitFor(
            async () => {
                last = await health();
                return last.healthy ? last.leader : undefined;
            },
            { timeoutMs, what: "a healthy cluster", intervalMs },
        );
    } catch (e) {
        throw new Error(`${(e as Error).message}; last: ${last?.why}`);
    }
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

export interface Health {
    healthy: boolean;
    /** `host:port` of the leader every sentinel names, when they agree. */
    leader?: string;
    why: string;
}

export const DEFAULT_PASSWORDS = { tile38: "t38-Secret.pw_1", sentinel: "sentinel-Secret.pw_2" };

export class Tile38Cluster {
    readonly stack: RenderedStack;
    readonly passwords: { tile38: string; sentinel: string };
    readonly nodeDirs: string[];
    readonly sentinelDirs: string[];
    readonly nodeProcs: (ManagedProcess | undefined)[] = [undefined, undefined, undefined];
    readonly sentinelProcs: (RunningSentinel | undefined)[] = [undefined, undefined, undefined];
    private readonly pathValue: string;
    private readonly server: string;

    private constructor(readonly h: Harness, private readonly opts: ClusterOptions) {
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

    endpoint(i: number): string {
        const n = this.topo.nodes[i];
        return `${n.host}:${n.port}`;
    }

    /** Node index of `host:port`, or -1. */
    indexOf(endpoint: string | undefined): number {
        return this.topo.nodes.findIndex((n) => `${n.host}:${n.port}` === endpoint);
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

    nodeRunning(i: number): boolean {
        const p = this.nodeProcs[i];
        return !!p && !p.status;
    }

    /** One command to node `i` with the cluster password; errors are values. */
    async nodeCall(i: number, args: (string | number)[], timeoutMs = 2000): Promise<RespValue> {
        return resp(this.topo.nodes[i].port, args, this.passwords.tile38, { timeoutMs });
    }

    /** One command to sentinel `i`. */
    async sentinelCall(i: number, args: (string | number)[], timeoutMs = 2000): Promise<RespValue> {
        return resp(this.topo.sentinels[i].port, args, this.passwords.sentinel, { timeoutMs });
    }

    /** What node `i` reports, or undefined when it does not answer. */
    async nodeStatus(i: number): Promise<NodeStatus | undefined> {
        try {
            return parseNodeStatus(await respPipeline(this.topo.nodes[i].port, nodeStatusCommands(this.passwords.tile38), { timeoutMs: 2000 }));
        } catch {
            return undefined;
        }
    }

    /** `host:port` each running sentinel names as leader (undefined: not running / no answer). */
    async sentinelLeaders(): Promise<(string | undefined)[]> {
        return Promise.all(
            this.topo.sentinels.map(async (_s, i) => {
                if (!this.sentinelProcs[i]) return undefined;
                try {
                    const r = await this.sentinelCall(i, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.topo.masterName], 1000);
                    return Array.isArray(r) && r.length === 2 ? `${String(r[0])}:${String(r[1])}` : undefined;
                } catch {
                    return undefined;
                }
            }),
        );
    }

    /** SENTINEL MASTER of sentinel `i` as a record. */
    async sentinelMaster(i: number): Promise<Record<string, string>> {
        return pairs(await this.sentinelCall(i, ["SENTINEL", "MASTER", this.topo.masterName]));
    }

    /** SENTINEL REPLICAS of sentinel `i`, one record per replica. */
    async sentinelReplicas(i: number): Promise<Record<string, string>[]> {
        const r = await this.sentinelCall(i, ["SENTINEL", "REPLICAS", this.topo.masterName]);
        return Array.isArray(r) ? r.map(pairs) : [];
    }

    /**
     * Healthy = every running sentinel names the same running leader, which reports role master
     * and is writable; every other running node follows it, is caught up and eligible
     * (replica-priority > 0); every running sentinel counts all other running sentinels and sees
     * at least one running follower as an eligible replica. (A sentinel may still be finishing
     * its last failover: clients and a kill do not wait for that, and neither does this.)
     */
    async health(): Promise<Health> {
        const leaders = await this.sentinelLeaders();
        const running = leaders.filter((_l, i) => this.sentinelProcs[i]);
        if (running.length === 0) return { healthy: false, why: "no sentinel runs" };
        if (running.some((l) => l === undefined)) return { healthy: false, why: `a sentinel does not answer: ${JSON.stringify(leaders)}` };
        if (new Set(running).size !== 1) return { healthy: false, why: `sentinels disagree: ${JSON.stringify(leaders)}` };
        const leader = running[0]!;
        const li = this.indexOf(leader);
        if (li < 0 || !this.nodeRunning(li)) return { healthy: false, leader, why: `the sentinels name ${leader}, which does not run` };
        const ls = await this.nodeStatus(li);
        if (!ls || ls.role !== "master" || ls.readOnly) return { healthy: false, leader, why: `leader ${leader} reports ${JSON.stringify(ls)}` };
        for (let i = 0; i < 3; i++) {
            if (i === li || !this.nodeRunning(i)) continue;
            const s = await this.nodeStatus(i);
            if (!s || s.role !== "slave" || s.following !== leader || !s.caughtUp || !(s.priority! > 0)) {
                return { healthy: false, leader, why: `node ${this.endpoint(i)} reports ${JSON.stringify(s)}` };
            }
        }
        const others = running.length - 1;
        for (let i = 0; i < 3; i++) {
            if (!this.sentinelProcs[i]) continue;
            const m = await this.sentinelMaster(i);
            if (Number(m["num-other-sentinels"]) < others) return { healthy: false, leader, why: `sentinel ${i + 1} counts ${m["num-other-sentinels"]} other sentinels` };
            // Sentinel refreshes a replica's INFO only every 10 s: it must itself already see some
            // running follower as an eligible replica, or a failover now would find no good one.
            const replicas = await this.sentinelReplicas(i);
            const eligible = replicas.some((r) => {
                const n = this.indexOf(`${r.ip}:${r.port}`);
                const down = /s_down|o_down|disconnected/.test(r.flags);
                return n >= 0 && n !== li && this.nodeRunning(n) && !down && Number(r["slave-priority"]) > 0;
            });
            if (!eligible) return { healthy: false, leader, why: `sentinel ${i + 1} sees no eligible replica yet` };
        }
        return { healthy: true, leader, why: "healthy" };
    }

    /** Waits (bounded) until {@link health} is healthy; returns the leader's index. */
    async waitHealthy(timeoutMs: number): Promise<number> {
        return this.indexOf(await waitUntilHealthy(() => this.health(), timeoutMs));
    }

    /** Leader index the sentinels agree on now (or -1). */
    async agreedLeader(): Promise<number> {
        const leaders = (await this.sentinelLeaders()).filter((l, i) => this.sentinelProcs[i] && l);
        return new Set(leaders).size === 1 ? this.indexOf(leaders[0]) : -1;
    }

    /** Runs the rendered stop script (the hand-over) in node `i`'s environment; bounded. */
    async runStopScript(i: number, timeoutMs = 40000): Promise<{ code: number | null; log: string; durationMs: number }> {
        const r = await this.h.run({ name: `tile38-stop-${i + 1}`, command: busyboxSh(), args: ["sh", this.stack.tile38Stop], cwd: this.nodeDirs[i], env: this.nodeEnv(i) }, timeoutMs);
        return { code: r.status.code, log: r.log, durationMs: r.durationMs };
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
