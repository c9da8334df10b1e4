/**
 * What a test or drill observes of a running Tile38 + Sentinel cluster, whatever runs it (the
 * rendered scripts as processes, or containers of a deployed stack): what each node and sentinel
 * says, whether the cluster is healthy, and which leader the sentinels agree on. Subclasses say
 * which processes run and how to kill, stop and start them.
 */
import { Endpoint } from "../../components/render/topology";
import { acceptsWrites, NodeStatus, nodeStatusCommands, parseNodeStatus } from "../../components/status/nodeStatus";
import { pairs, resp, RespError, respPipeline, RespValue } from "../../components/status/resp";
import { waitFor } from "./wait";

/**
 * Polls `health` (bounded) until it reports healthy; returns the leader it names. `onWhy` hears
 * each reason it was not healthy yet, when it changes (where a wait's time goes).
 */
export async function waitUntilHealthy(health: () => Promise<Health>, timeoutMs: number, intervalMs = 100, onWhy?: (why: string) => void): Promise<string> {
    let last: Health | undefined;
    try {
        return await waitFor(
            async () => {
                const previous = last?.why;
                last = await health();
                if (!last.healthy && last.why !== previous) onWhy?.(last.why);
                return last.healthy ? last.leader : undefined;
            },
            { timeoutMs, what: "a healthy cluster", intervalMs },
        );
    } catch (e) {
        throw new Error(`${(e as Error).message}; last: ${last?.why}`);
    }
}

export interface Health {
    healthy: boolean;
    /** `host:port` of the leader every sentinel names, when they agree. */
    leader?: string;
    why: string;
}

/** The addresses a probe dials: the master name, the nodes and the sentinels. */
export interface ProbeTopology {
    masterName: string;
    nodes: Endpoint[];
    sentinels: Endpoint[];
}

export abstract class ClusterProbe {
    abstract readonly passwords: { tile38: string; sentinel: string };
    abstract get topo(): ProbeTopology;
    /** Node `i`'s process (container) runs. */
    abstract nodeRunning(i: number): boolean;
    /** Sentinel `i`'s process (container) runs. */
    abstract sentinelRunning(i: number): boolean;
    /** The node dying at once (SIGKILL to its processes: `docker kill`). */
    abstract killNode(i: number): Promise<void>;
    /** A planned stop (SIGTERM to the start script, which hands over first: `docker stop`). */
    abstract stopNode(i: number): Promise<void>;
    /** Starts node `i` again (after a kill or stop). */
    abstract restartNode(i: number): Promise<void>;
    /** The recent log lines of every process, for failure reports. */
    abstract logTails(lines?: number): Promise<string>;

    endpoint(i: number): string {
        const n = this.topo.nodes[i];
        return `${n.host}:${n.port}`;
    }

    /** Node index of `host:port`, or -1. */
    indexOf(endpoint: string | undefined): number {
        return this.topo.nodes.findIndex((n) => `${n.host}:${n.port}` === endpoint);
    }

    /** One command to node `i` with the cluster password; errors are values. */
    async nodeCall(i: number, args: (string | number)[], timeoutMs = 2000): Promise<RespValue> {
        return resp(this.topo.nodes[i].port, args, this.passwords.tile38, { timeoutMs, host: this.topo.nodes[i].host });
    }

    /** One command to sentinel `i`. */
    async sentinelCall(i: number, args: (string | number)[], timeoutMs = 2000): Promise<RespValue> {
        return resp(this.topo.sentinels[i].port, args, this.passwords.sentinel, { timeoutMs, host: this.topo.sentinels[i].host });
    }

    /** Commands to sentinel `i` in one pipeline (after AUTH): processed together, in order. */
    async sentinelPipeline(i: number, commands: (string | number)[][], timeoutMs = 2000): Promise<RespValue[]> {
        const s = this.topo.sentinels[i];
        const [auth, ...replies] = await respPipeline(s.port, [["AUTH", this.passwords.sentinel], ...commands], { timeoutMs, host: s.host });
        if (auth instanceof RespError) throw new Error(`sentinel ${i + 1}: AUTH answered ${JSON.stringify(auth)}`);
        return replies;
    }

    /** What node `i` reports, or undefined when it does not answer. */
    async nodeStatus(i: number): Promise<NodeStatus | undefined> {
        try {
            return parseNodeStatus(await respPipeline(this.topo.nodes[i].port, nodeStatusCommands(this.passwords.tile38), { timeoutMs: 2000, host: this.topo.nodes[i].host }));
        } catch {
            return undefined;
        }
    }

    /** The nodes that answer, all asked at once, as leaders that accept writes (role master, not read-only). */
    async writableLeaders(): Promise<number[]> {
        const st = await Promise.all(this.topo.nodes.map((_n, i) => this.nodeStatus(i)));
        return st.flatMap((x, i) => (acceptsWrites(x) ? [i] : []));
    }

    /** `host:port` each running sentinel names as leader (undefined: not running / no answer). */
    async sentinelLeaders(): Promise<(string | undefined)[]> {
        return (await this.sentinelLeadersAnswered()).leaders;
    }

    /** {@link sentinelLeaders}, and when the last answer arrived (ms since the epoch): what they name was true by then. */
    async sentinelLeadersAnswered(): Promise<{ leaders: (string | undefined)[]; at: number }> {
        let at = 0;
        const leaders = await Promise.all(
            this.topo.sentinels.map(async (_s, i) => {
                if (!this.sentinelRunning(i)) return undefined;
                try {
                    const r = await this.sentinelCall(i, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.topo.masterName], 1000);
                    return Array.isArray(r) && r.length === 2 ? `${String(r[0])}:${String(r[1])}` : undefined;
                } catch {
                    return undefined;
                } finally {
                    at = Math.max(at, Date.now());
                }
            }),
        );
        return { leaders, at };
    }

    /** SENTINEL MASTER of sentinel `i` as a record. */
    async sentinelMaster(i: number): Promise<Record<string, string>> {
        return pairs(await this.sentinelCall(i, ["SENTINEL", "MASTER", this.topo.masterName]));
    }

    /** SENTINEL REPLICAS of sentinel `i`, one record per replica. */
    async sentinelReplicas(i: number): Promise<Record<string, string>[]> {
        return this.sentinelRecords(i, "REPLICAS");
    }

    /** SENTINEL SENTINELS of sentinel `i`: the other sentinels it knows, one record each. */
    async otherSentinels(i: number): Promise<Record<string, string>[]> {
        return this.sentinelRecords(i, "SENTINELS");
    }

    private async sentinelRecords(i: number, what: "REPLICAS" | "SENTINELS"): Promise<Record<string, string>[]> {
        const r = await this.sentinelCall(i, ["SENTINEL", what, this.topo.masterName]);
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
        const running = leaders.filter((_l, i) => this.sentinelRunning(i));
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
            if (!this.sentinelRunning(i)) continue;
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

    /** Waits (bounded) until {@link health} is healthy; returns the leader's index. `onWhy`: see {@link waitUntilHealthy}. */
    async waitHealthy(timeoutMs: number, onWhy?: (why: string) => void): Promise<number> {
        return this.indexOf(await waitUntilHealthy(() => this.health(), timeoutMs, 100, onWhy));
    }

    /** The leader the sentinels agree on, when it reports role master and is not `except`; else undefined (for waitFor). */
    async leadingNode(except = -1): Promise<number | undefined> {
        return (await this.leadingNodeSince(except))?.index;
    }

    /**
     * {@link leadingNode}, and since when it is known to lead: the sentinels' last answer (a
     * sentinel names a node only once that node reported role master, so its role check after
     * them adds nothing to when it was true, only the check's own round trip).
     */
    async leadingNodeSince(except = -1): Promise<{ index: number; at: number } | undefined> {
        const { leaders, at } = await this.sentinelLeadersAnswered();
        const l = this.agreedAmong(leaders);
        return l >= 0 && l !== except && (await this.nodeStatus(l))?.role === "master" ? { index: l, at } : undefined;
    }

    /**
     * Converged: every running sentinel names the same running leader (none answers without one),
     * it reports role master, and every other running node follows it; its index, else undefined
     * (for waitFor).
     */
    async convergedLeader(): Promise<number | undefined> {
        const named = await this.sentinelLeaders();
        if (named.some((l, i) => this.sentinelRunning(i) && !l)) return undefined;
        const leader = await this.leadingNode();
        if (leader === undefined || !this.nodeRunning(leader)) return undefined;
        for (let i = 0; i < this.topo.nodes.length; i++) {
            if (i === leader || !this.nodeRunning(i)) continue;
            if ((await this.nodeStatus(i))?.following !== this.endpoint(leader)) return undefined;
        }
        return leader;
    }

    /** Leader index the sentinels agree on now (or -1). */
    async agreedLeader(): Promise<number> {
        return this.agreedAmong(await this.sentinelLeaders());
    }

    /** Node index every running sentinel that names one names in `leaders` (as {@link sentinelLeaders} gives them), or -1. */
    private agreedAmong(leaders: (string | undefined)[]): number {
        const named = leaders.filter((l, i) => this.sentinelRunning(i) && l);
        return new Set(named).size === 1 ? this.indexOf(named[0]) : -1;
    }

}
