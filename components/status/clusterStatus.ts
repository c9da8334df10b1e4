/**
 * A read-only look at a running cluster: what each sentinel says (its leader, quorum, epoch),
 * what each node says (role, whom it follows, caught up, bytes behind the leader, read-only or
 * fenced), the backup agents' records when the caller can read them, and one verdict. It sends
 * only AUTH, SENTINEL GET-MASTER-ADDR-BY-NAME / CKQUORUM / MASTER / REPLICAS, OUTPUT, SERVER and
 * INFO: it changes nothing.
 */
import { NodeStatus, nodeStatusCommands, parseNodeStatus } from "./nodeStatus";
import { pairs, RespError, respPipeline, RespValue } from "./resp";

/** A host and port. */
export interface StatusEndpoint {
    host: string;
    port: number;
}

/** What the status needs to know of a cluster. */
export interface StatusTarget {
    masterName: string;
    sentinels: StatusEndpoint[];
    tile38Password: string;
    sentinelPassword: string;
    /** The Tile38 nodes; undefined: the leader and the replicas the sentinels list. */
    nodes?: StatusEndpoint[];
    /** The backup agents' records (`status.json`), when the caller can read them; undefined: unknown. */
    backups?: () => Promise<BackupRecord[]>;
    /** Bound on each query. @default 2000 ms */
    timeoutMs?: number;
    /**
     * Where to open the connection to an endpoint (e.g. a local `kubectl port-forward` of a pod
     * whose DNS name answers only inside the cluster); everything else stays in the endpoints'
     * own names, as the sentinels use them; undefined: it cannot be reached now (e.g. its pod is
     * gone), and it is reported as not answering. @default the endpoint itself
     */
    connect?: (e: StatusEndpoint) => StatusEndpoint | undefined;
}

/** One backup agent's record of its rounds (backup-agent.sh `record_round`). */
export interface BackupRecord {
    node: string;
    role: "leader" | "follower";
    last_ok_epoch: number;
    last_ok_size: number;
    failures_since_ok: number;
    last_attempt_epoch: number;
    started_epoch: number;
    interval: number;
}

export interface SentinelView {
    sentinel: string;
    answers: boolean;
    /** The leader it names (`host:port`). */
    leader?: string;
    /** `SENTINEL CKQUORUM`: whether it could reach a quorum and a majority for a failover. */
    quorumOk?: boolean;
    quorumMessage?: string;
    configEpoch?: number;
    /** Flags of the master in its view (`master`, `s_down`, `o_down`, `failover_in_progress`…). */
    flags?: string;
}

export interface NodeView {
    node: string;
    answers: boolean;
    role?: "leader" | "follower";
    following?: string;
    caughtUp?: boolean;
    /** Bytes of the leader's AOF it does not hold yet (followers). */
    lagBytes?: number;
    aofSize?: number;
    readOnly?: boolean;
    /** A leader that made itself read-only: it could not get a majority of sentinels to confirm it leads. */
    fenced?: boolean;
    /** Its replica-priority (followers; 0 = never promoted). */
    priority?: number;
}

export interface BackupView {
    /** Node whose agent uploads (the leader's), or the freshest record's. */
    node: string;
    lastOkAgeSeconds?: number;
    lastOkSizeBytes?: number;
    failuresSinceOk: number;
    intervalSeconds: number;
    /** The last good backup is older than twice the interval (or none since the agent started that long ago). */
    stale: boolean;
}

export type Verdict = "healthy" | "degraded" | "no writable leader";

export interface ClusterStatus {
    at: string;
    masterName: string;
    /** The node a majority of all sentinels names. */
    leader?: string;
    sentinelsAgree: boolean;
    sentinels: SentinelView[];
    nodes: NodeView[];
    backup: BackupView | "unknown";
    verdict: Verdict;
    /** Exit code: 0 healthy, 1 degraded, 2 no writable leader. */
    exitCode: 0 | 1 | 2;
    problems: string[];
}

const key = (e: StatusEndpoint) => `${e.host}:${e.port}`;

async function askSentinel(s: StatusEndpoint, t: StatusTarget): Promise<{ view: SentinelView; replicas: StatusEndpoint[] }> {
    const m = t.masterName;
    const to = t.connect ? t.connect(s) : s;
    if (!to) return { view: { sentinel: key(s), answers: false }, replicas: [] };
    try {
        const [auth, addr, quorum, master, replicas] = await respPipeline(
            to.port,
            [["AUTH", t.sentinelPassword], ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", m], ["SENTINEL", "CKQUORUM", m], ["SENTINEL", "MASTER", m], ["SENTINEL", "REPLICAS", m]],
            { host: to.host, timeoutMs: t.timeoutMs ?? 2000 },
        );
        if (auth instanceof RespError) return { view: { sentinel: key(s), answers: false }, replicas: [] };
        const leader = Array.isArray(addr) && addr.length === 2 ? `${String(addr[0])}:${String(addr[1])}` : undefined;
        const mp = Array.isArray(master) ? pairs(master) : {};
        const reps = Array.isArray(replicas) ? (replicas as RespValue[]).map((r) => pairs(r)).map((r) => ({ host: r.ip, port: Number(r.port) })) : [];
        return {
            view: {
                sentinel: key(s),
                answers: true,
                leader,
                quorumOk: typeof quorum === "string" && quorum.startsWith("OK"),
                quorumMessage: quorum instanceof RespError ? quorum.message : String(quorum),
                configEpoch: mp["config-epoch"] === undefined ? undefined : Number(mp["config-epoch"]),
                flags: mp.flags,
            },
            replicas: reps,
        };
    } catch {
        return { view: { sentinel: key(s), answers: false }, replicas: [] };
    }
}

async function askNode(n: StatusEndpoint, t: StatusTarget): Promise<NodeStatus | undefined> {
    const to = t.connect ? t.connect(n) : n;
    if (!to) return undefined;
    try {
        return parseNodeStatus(await respPipeline(to.port, nodeStatusCommands(t.tile38Password), { host: to.host, timeoutMs: t.timeoutMs ?? 2000 }));
    } catch {
        return undefined;
    }
}

/** The backup agents' records as one view: the leader's agent's, else the freshest. */
export function backupView(records: BackupRecord[], now: number): BackupView | "unknown" {
    if (records.length === 0) return "unknown";
    const leader = records.filter((r) => r.role === "leader").sort((a, b) => b.last_attempt_epoch - a.last_attempt_epoch)[0];
    const r = leader ?? [...records].sort((a, b) => b.last_ok_epoch - a.last_ok_epoch)[0];
    const bound = 2 * r.interval;
    const newestOk = Math.max(...records.map((x) => x.last_ok_epoch));
    const stale = newestOk > 0 ? now - newestOk > bound : now - Math.min(...records.map((x) => x.started_epoch)) > bound;
    return {
        node: r.node,
        lastOkAgeSeconds: newestOk > 0 ? now - newestOk : undefined,
        lastOkSizeBytes: newestOk > 0 ? records.find((x) => x.last_ok_epoch === newestOk)?.last_ok_size : undefined,
        failuresSinceOk: r.failures_since_ok,
        intervalSeconds: r.interval,
        stale,
    };
}

/** Asks every sentinel and node (at once, each bounded) and judges. */
export async function clusterStatus(t: StatusTarget, now = Date.now()): Promise<ClusterStatus> {
    const asked = await Promise.all(t.sentinels.map((s) => askSentinel(s, t)));
    const sentinels = asked.map((a) => a.view);
    const votes = new Map<string, number>();
    for (const s of sentinels) if (s.leader) votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
    const majority = Math.floor(t.sentinels.length / 2) + 1;
    const leader = [...votes].find(([, n]) => n >= majority)?.[0];
    const sentinelsAgree = sentinels.every((s) => s.answers) && votes.size === 1;

    let nodeEndpoints = t.nodes;
    if (!nodeEndpoints) {
        // Every node any sentinel names (a minority's leader too: it may be the one fenced) and lists.
        const seen = new Map<string, StatusEndpoint>();
        for (const named of [leader, ...sentinels.map((s) => s.leader)]) {
            if (named) seen.set(named, { host: named.slice(0, named.lastIndexOf(":")), port: Number(named.slice(named.lastIndexOf(":") + 1)) });
        }
        for (const a of asked) for (const r of a.replicas) seen.set(key(r), r);
        nodeEndpoints = [...seen.values()];
    }
    const statuses = await Promise.all(nodeEndpoints.map((n) => askNode(n, t)));
    const leaderStatus = statuses[nodeEndpoints.findIndex((n) => key(n) === leader)];
    const nodes: NodeView[] = nodeEndpoints.map((n, i) => {
        const st = statuses[i];
        if (!st) return { node: key(n), answers: false };
        const isLeader = st.role === "master";
        return {
            node: key(n),
            answers: true,
            role: isLeader ? "leader" : "follower",
            following: st.following,
            caughtUp: isLeader ? undefined : st.caughtUp,
            lagBytes: !isLeader && leaderStatus ? Math.max(0, leaderStatus.aofSize - st.aofSize) : undefined,
            aofSize: st.aofSize,
            readOnly: st.readOnly,
            fenced: isLeader && st.readOnly,
            priority: st.priority,
        };
    });

    const backup = t.backups ? backupView(await t.backups().catch(() => []), Math.floor(now / 1000)) : "unknown";
    const problems: string[] = [];
    let noLeader = false;
    const leaderView = nodes.find((n) => n.node === leader);
    if (!leader) {
        noLeader = true;
        problems.push(`no leader named by a majority of the ${t.sentinels.length} sentinels (${JSON.stringify(Object.fromEntries(votes))})`);
    } else if (!leaderView?.answers) {
        noLeader = true;
        problems.push(`the leader the sentinels name, ${leader}, does not answer`);
    } else if (leaderView.role !== "leader") {
        noLeader = true;
        problems.push(`the sentinels name ${leader}, which reports itself a follower`);
    } else if (leaderView.fenced) {
        noLeader = true;
        problems.push(`the leader ${leader} is fenced (read-only: it cannot get a majority of sentinels to confirm it leads)`);
    }
    for (const s of sentinels) {
        if (!s.answers) problems.push(`sentinel ${s.sentinel} does not answer`);
        else if (s.quorumOk === false) problems.push(`sentinel ${s.sentinel}: ${s.quorumMessage}`);
        else if (leader && s.leader !== leader) problems.push(`sentinel ${s.sentinel} names ${s.leader ?? "no leader"}`);
    }
    for (const n of nodes) {
        if (n.node === leader) continue;
        if (!n.answers) problems.push(`node ${n.node} does not answer`);
        else if (n.role === "leader") problems.push(`node ${n.node} also reports itself a leader${n.readOnly ? " (read-only)" : ""}`);
        else if (leader && n.following !== leader) problems.push(`node ${n.node} follows ${n.following ?? "no one"}, not ${leader}`);
        else if (!n.caughtUp) problems.push(`node ${n.node} has not caught up (${n.lagBytes ?? "?"} bytes behind)`);
    }
    if (backup !== "unknown" && backup.stale) problems.push(`the last good backup is ${backup.lastOkAgeSeconds === undefined ? "missing" : `${backup.lastOkAgeSeconds} s old`} (bound ${2 * backup.intervalSeconds} s); ${backup.failuresSinceOk} rounds failed since`);
    else if (backup !== "unknown" && backup.failuresSinceOk > 0) problems.push(`${backup.failuresSinceOk} backup rounds failed since the last good one`);

    const verdict: Verdict = noLeader ? "no writable leader" : problems.length > 0 ? "degraded" : "healthy";
    return {
        at: new Date(now).toISOString(),
        masterName: t.masterName,
        leader,
        sentinelsAgree,
        sentinels,
        nodes,
        backup,
        verdict,
        exitCode: verdict === "healthy" ? 0 : verdict === "degraded" ? 1 : 2,
        problems,
    };
}

/** The status for people: one line per sentinel and node, the backup, then the verdict line. */
export function formatStatus(s: ClusterStatus): string {
    const lines = [`tile38-ha status of "${s.masterName}" at ${s.at}`, "sentinels:"];
    for (const v of s.sentinels) {
        lines.push(
            v.answers
                ? `  ${v.sentinel.padEnd(24)} leader ${v.leader ?? "-"}  quorum ${v.quorumOk ? "ok" : "NOT ok"}  epoch ${v.configEpoch ?? "?"}  flags ${v.flags ?? "?"}`
                : `  ${v.sentinel.padEnd(24)} does not answer`,
        );
    }
    lines.push("nodes:");
    for (const n of s.nodes) {
        if (!n.answers) lines.push(`  ${n.node.padEnd(24)} does not answer`);
        else if (n.role === "leader") lines.push(`  ${n.node.padEnd(24)} leader${n.fenced ? " FENCED (read-only)" : ""}  aof ${n.aofSize} bytes`);
        else lines.push(`  ${n.node.padEnd(24)} follower of ${n.following ?? "-"}  ${n.caughtUp ? "caught up" : "NOT caught up"}  behind ${n.lagBytes ?? "?"} bytes  priority ${n.priority ?? "?"}${n.readOnly ? "  read-only" : ""}`);
    }
    const b = s.backup;
    lines.push(
        b === "unknown"
            ? "backup: unknown (the agents' records are not readable from here)"
            : `backup: last good ${b.lastOkAgeSeconds === undefined ? "never" : `${b.lastOkAgeSeconds} s ago (${b.lastOkSizeBytes} bytes)`}, ${b.failuresSinceOk} failed rounds since, interval ${b.intervalSeconds} s${b.stale ? "  STALE" : ""}`,
    );
    lines.push(`${s.verdict.toUpperCase()}${s.problems.length ? `: ${s.problems.join("; ")}` : `: leader ${s.leader}, ${s.nodes.length - 1} followers caught up, ${s.sentinels.length} sentinels agree`}`);
    return lines.join("\n");
}
