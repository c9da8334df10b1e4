/**
 * A Tile38 cluster with backups, as the Docker target deploys it: the real cluster of
 * {@link Tile38Cluster} (three tile38-server nodes run by the rendered start script with the
 * stack's `TILE38_RESTORE_CMD`, three sentinels), one backup agent per node (the rendered agent
 * script with the real AWS CLI, on the node's data dir, watching the node's port) and the real
 * S3-compatible server of {@link BackupRig}. It can destroy everything — nodes, agents, every data
 * dir, and the sentinels too if asked — and recreate the cluster from the same rendered scripts:
 * the total loss the backups are for.
 */
import * as fs from "fs";
import { refreshSecondsFor, restoreCommandFor } from "../../../components/render/backupScripts";
import { RawStackValues } from "../../../config/parse";
import { BackupManifest, BackupRig, AgentNode } from "./backupRig";
import { Tile38Cluster } from "./cluster";
import { Harness, ManagedProcess, rethrowWith } from "./processes";
import { RespValue } from "../../../components/status/resp";
import { SentinelTarget } from "./pointLoader";
import { waitFor } from "./wait";

/** Options of {@link BackupCluster.start}. */
export interface BackupClusterOptions {
    /** Label of the temp root, logs and node names (`<label>-tile38-<n>`). */
    label: string;
    /** First of three sentinel ports. */
    sentinelPort: number;
    /** First of three Tile38 ports. */
    tile38Port: number;
    /** The S3 server (shared by the tests of a file; its owner stops it). */
    rig: BackupRig;
    /** Key prefix of this cluster's backups (ends with `/`). */
    prefix: string;
    /** `backup.intervalSeconds` of the stack (the agents' loop). @default 2 */
    intervalSeconds?: number;
    /** `backup.restoreTimeoutSeconds` of the stack. @default 120 */
    restoreTimeoutSeconds?: number;
    /** Extra raw stack values (sentinel timings, …). */
    stack?: Omit<RawStackValues, "target" | "backup">;
    /** Bound on the first healthy wait, ms. @default 60000 */
    healthyTimeoutMs?: number;
}

export class BackupCluster {
    readonly agents: (ManagedProcess | undefined)[] = [undefined, undefined, undefined];
    /** When the last {@link recreate} started (ms since epoch). */
    recreatedAt = 0;

    private constructor(
        readonly rig: BackupRig,
        readonly h: Harness,
        readonly opts: BackupClusterOptions,
    ) {}

    private c: Tile38Cluster | undefined;

    get cluster(): Tile38Cluster {
        if (!this.c) throw new Error("the cluster has not started");
        return this.c;
    }

    get prefix(): string {
        return this.opts.prefix;
    }

    /** Starts sentinels, the agents, then the nodes; waits (bounded) until the cluster is healthy. */
    static async start(opts: BackupClusterOptions): Promise<BackupCluster> {
        const h = new Harness(`tile38-ha-${opts.label}`);
        const bc = new BackupCluster(opts.rig, h, opts);
        const stack = {
            ...opts.stack,
            backup: { intervalSeconds: opts.intervalSeconds ?? 2, restoreTimeoutSeconds: opts.restoreTimeoutSeconds ?? 120 },
        };
        try {
            await Tile38Cluster.start(
                {
                    label: opts.label,
                    sentinelPort: opts.sentinelPort,
                    tile38Port: opts.tile38Port,
                    harness: h,
                    stack: stack as Omit<RawStackValues, "target">,
                    // The stack's own restore command, as the Docker target sets it on every node.
                    nodeEnv: () => ({ TILE38_RESTORE_CMD: restoreCommandFor(bc.cluster.stack.cfg)! }),
                    beforeNodes: (c) => {
                        bc.c = c;
                        bc.writeAgentScript();
                        for (let i = 0; i < 3; i++) bc.startAgent(i);
                    },
                },
                opts.healthyTimeoutMs ?? 60_000,
            );
            return bc;
        } catch (e) {
            const tails = h.logTails();
            await h.cleanup();
            rethrowWith(e, "process logs", tails);
        }
    }

    private agentScript = "";

    /** The agent script rendered from this stack's settings (interval, refresh age). */
    private writeAgentScript(): void {
        const cfg = this.cluster.stack.cfg;
        this.agentScript = this.rig.renderAgentScript(this.h.dir("agent"), {
            intervalSeconds: cfg.backup.intervalSeconds,
            refreshSeconds: refreshSecondsFor(cfg.backup.expireDays),
        });
    }

    /** Node `i`'s name in object keys and manifests. */
    nodeName(i: number): string {
        return `${this.opts.label}-tile38-${i + 1}`;
    }

    agentNode(i: number): AgentNode {
        return { name: this.nodeName(i), port: this.cluster.topo.nodes[i].port, password: this.cluster.passwords.tile38, dataDir: this.cluster.nodeDirs[i] };
    }

    agentEnv(i: number, extra: Record<string, string> = {}): Record<string, string> {
        return this.rig.agentEnv(this.prefix, this.agentNode(i), extra);
    }

    /** Starts node `i`'s agent loop (the sidecar). */
    startAgent(i: number): ManagedProcess {
        const p = this.agents[i];
        if (p && !p.status) throw new Error(`agent ${i + 1} is already running`);
        const a = this.rig.startAgent(this.h, `agent-${i + 1}`, this.agentEnv(i), this.agentScript);
        this.agents[i] = a;
        return a;
    }

    async stopAgent(i: number): Promise<void> {
        await this.agents[i]?.stop(2000);
    }

    /** Runs node `i`'s agent once (`backup-once`), bounded. */
    backupOnce(i: number, timeoutMs = 300_000): { code: number | null; log: string } {
        return this.rig.agent(["backup-once"], this.agentEnv(i), timeoutMs, this.agentScript);
    }

    agentLog(i: number): string {
        return this.agents[i]?.log() ?? "";
    }

    /** Where a sentinel-aware client finds the leader. */
    target(): SentinelTarget {
        const c = this.cluster;
        return {
            sentinels: c.topo.sentinels.map((s) => ({ host: s.host, port: s.port })),
            masterName: c.topo.masterName,
            tile38Password: c.passwords.tile38,
            sentinelPassword: c.passwords.sentinel,
        };
    }

    /**
     * Total loss: every node and agent killed (SIGKILL), every node's data dir emptied; with
     * `sentinels`, the sentinels are killed and their volumes emptied too.
     */
    async destroyAll(opts: { sentinels: boolean }): Promise<void> {
        const c = this.cluster;
        await Promise.all([0, 1, 2].map((i) => c.killNode(i)));
        await Promise.all([0, 1, 2].map((i) => this.agents[i]?.stop(1000)));
        if (opts.sentinels) await Promise.all([0, 1, 2].map((i) => c.stopSentinel(i, "SIGKILL")));
        const dirs = opts.sentinels ? [...c.nodeDirs, ...c.sentinelDirs] : c.nodeDirs;
        for (const d of dirs) {
            fs.rmSync(d, { recursive: true, force: true });
            fs.mkdirSync(d, { recursive: true });
        }
    }

    /**
     * Recreates the cluster from the same rendered scripts: the sentinels that do not run (in
     * parallel, until each answers), then every agent and every node (the empty volumes as they
     * are). Does not wait for health.
     */
    async recreate(): Promise<void> {
        const c = this.cluster;
        this.recreatedAt = Date.now();
        await Promise.all([0, 1, 2].filter((i) => !c.sentinelProcs[i]).map((i) => c.startSentinel(i)));
        for (let i = 0; i < 3; i++) this.startAgent(i);
        for (let i = 0; i < 3; i++) c.startNode(i);
    }

    /** The pointer, or undefined. */
    pointer(): BackupManifest | undefined {
        return this.rig.pointer(this.prefix);
    }

    /**
     * Waits (bounded) until the pointer names a backup of exactly node `i`'s current `aof_size`
     * uploaded by node `i`'s agent, and returns it.
     */
    async waitBackupOf(i: number, timeoutMs = 60_000): Promise<BackupManifest> {
        let last = "";
        try {
            return await waitFor(
                async () => {
                    const s = await this.cluster.nodeStatus(i);
                    const p = this.pointer();
                    last = `node ${i + 1} aof_size ${s?.aofSize}, pointer ${JSON.stringify(p)}`;
                    return s && p && p.node === this.nodeName(i) && p.size === s.aofSize && s.aofSize > 0 ? p : undefined;
                },
                { timeoutMs, what: `a backup of node ${i + 1}'s whole AOF`, intervalMs: 500 },
            );
        } catch (e) {
            throw new Error(`${(e as Error).message}; last: ${last}`);
        }
    }

    /** One command to node `i` with the cluster password (errors are values). */
    call(i: number, args: (string | number)[], timeoutMs = 5000): Promise<RespValue> {
        return this.cluster.nodeCall(i, args, timeoutMs);
    }

    async cleanup(): Promise<void> {
        await this.h.cleanup();
    }
}
