/**
 * `npm run drill -- --clients [--json]`: the client matrix (issue 20). The dev topology as real
 * processes on 127.0.0.1 (sentinels 24100-24102, Tile38 24110-24112: the rendered scripts, real
 * tile38-server and Redis Sentinel), and every documented sentinel-aware client at once — ioredis
 * (in-process), redis-py, go-redis and Lettuce (their own processes, testing/clients/) — each
 * writing one point every 10 ms with ids of its own. Scenarios, one after the other, each once the
 * cluster is healthy:
 * - kill: the leader SIGKILLed (its whole process group, as a container dies), restarted once the
 *   sentinels agree on a new leader;
 * - kills 1-3: three such kills back to back;
 * - freeze: the leader's process group SIGSTOPped (a stalled host, `docker pause`) until the
 *   sentinels agree on a new leader, then SIGCONTed;
 * - hand-over: the rendered stop script on the leader (`npm run failover`); the old leader runs on
 *   as a follower;
 * - rolling: every node stopped (SIGTERM to its start script, as `docker stop`: the leader hands
 *   over) and started again, followers first; the fault time is the leader's stop.
 * Figures per client and scenario (times from the fault):
 * - resume_ms: the first write acknowledged after the client's longest pause in the scenario
 *   (counting only writes the final leader holds);
 * - acknowledged / lost: writes of the scenario acknowledged, and those of them (by id) the final
 *   leader does not hold;
 * - misdirected: failed writes that a node which does not lead refused (`not the leader`,
 *   `read only`) or an old address refused (connection refused) more than 2 s after every sentinel
 *   named the new leader; stuck = misdirected > 0 or no write acknowledged within 30 s.
 * Server side: agreed_ms (every sentinel's GET-MASTER-ADDR-BY-NAME names the new leader) and
 * masters_ms (every sentinel's SENTINEL MASTER entry, what redis-py reads, names it).
 */
import { writesResumedAfter } from "./drillReport";
import { Tile38Cluster } from "../fixtures/loopback/cluster";
import { CLIENT_NAMES, ClientName, clientSkipReason, clientWriter, ClientWriter, CLIENT_VERSIONS } from "../probe/clientWriters";
import { Ack, idsOn } from "../probe/writer";
import { sleep, waitFor } from "../probe/wait";

export interface ClientFigures {
    resume_ms: number | null;
    acknowledged: number;
    lost: number;
    misdirected: number;
    stuck: boolean;
    /** When the lost writes were sent, ms from the fault: [first, last]. */
    lost_sent_ms?: [number, number];
}

export interface ScenarioFigures {
    scenario: string;
    agreed_ms: number | null;
    masters_ms: number | null;
    clients: Partial<Record<ClientName, ClientFigures>>;
}

export interface ClientDrillResult {
    clients: Partial<Record<ClientName, string>>;
    skipped: Partial<Record<ClientName, string>>;
    scenarios: ScenarioFigures[];
    lost_total: number;
    stuck_total: number;
}

export const SCENARIOS = ["kill", "kills", "freeze", "hand-over", "rolling"] as const;
export type Scenario = (typeof SCENARIOS)[number];

const MISDIRECTED = /not the leader|read only|refused/i;
/** How long after every sentinel named the new leader a client may still fail on an old node. */
const GRACE_MS = 2000;
/** No write acknowledged this long after the fault: stuck. */
const RESUME_BOUND_MS = 30000;

interface Window {
    scenario: string;
    start: number;
    faultAt: number;
    end: number;
    agreedAt?: number;
    mastersAt?: number;
}

/** Every running sentinel names `leader` (GET-MASTER-ADDR) / lists it (SENTINEL MASTER). */
async function sentinelViews(c: Tile38Cluster, leader: string): Promise<{ agreed: boolean; masters: boolean }> {
    const named = await c.sentinelLeaders();
    const agreed = named.every((l, i) => !c.sentinelProcs[i] || l === leader);
    let masters = agreed;
    for (let i = 0; masters && i < 3; i++) {
        if (!c.sentinelProcs[i]) continue;
        const m = await c.sentinelMaster(i).catch(() => ({}) as Record<string, string>);
        masters = `${m.ip}:${m.port}` === leader;
    }
    return { agreed, masters };
}

/** The leader the sentinels agree on, once it is not `old` and reports role master. */
async function newLeader(c: Tile38Cluster, old: number): Promise<number> {
    return waitFor(
        async () => {
            const l = await c.agreedLeader();
            return l >= 0 && l !== old && (await c.nodeStatus(l))?.role === "master" ? l : undefined;
        },
        { timeoutMs: 60000, what: `a leader other than node ${old + 1}`, intervalMs: 50 },
    );
}

/** Watches the sentinels from `faultAt` until stopped; records when they all name/list a leader other than `old`. */
function watchSentinels(c: Tile38Cluster, w: Window, old: string): () => Promise<void> {
    let on = true;
    const loop = (async () => {
        while (on && !(w.agreedAt && w.mastersAt)) {
            const leader = (await c.sentinelLeaders()).find((l, i) => c.sentinelProcs[i] && l);
            if (leader && leader !== old) {
                const v = await sentinelViews(c, leader);
                if (v.agreed && !w.agreedAt) w.agreedAt = Date.now();
                if (v.masters && !w.mastersAt) w.mastersAt = Date.now();
            }
            await sleep(100);
        }
    })();
    return async () => {
        on = false;
        await loop;
    };
}

/** Waits until every writer has acknowledged a write sent after `t` (bounded; a stuck client only delays). */
async function settle(writers: Map<ClientName, ClientWriter>, t: number, c: Tile38Cluster): Promise<void> {
    await waitFor(() => c.convergedLeader(), { timeoutMs: 120000, what: "convergence", intervalMs: 100 });
    const until = Date.now() + RESUME_BOUND_MS;
    while (Date.now() < until && [...writers.values()].some((w) => !w.firstAckSentAfter(Math.max(t, Date.now() - 1000)))) await sleep(200);
    await sleep(2000);
}

export async function drillClients(opts: { scenarios: readonly Scenario[]; log: (l: string) => void }): Promise<ClientDrillResult> {
    const log = opts.log;
    const c = await Tile38Cluster.start({ label: "tile38-ha-drill-clients", sentinelPort: 24100, tile38Port: 24110 }, 90000);
    const target = { sentinels: c.topo.sentinels.map((s) => ({ host: s.host, port: s.port })), masterName: c.topo.masterName, tile38Password: c.passwords.tile38, sentinelPassword: c.passwords.sentinel };
    const writers = new Map<ClientName, ClientWriter>();
    const skipped: Partial<Record<ClientName, string>> = {};
    for (const name of CLIENT_NAMES) {
        const why = clientSkipReason(name);
        if (why) {
            skipped[name] = why;
            log(`SKIPPED ${name}: ${why}`);
        } else writers.set(name, clientWriter(name, target, { ioredis: "io", "redis-py": "py", "go-redis": "go", lettuce: "lt" }[name], c.h.dir("client-logs")));
    }
    const windows: Window[] = [];
    try {
        for (const w of writers.values()) w.start();
        for (const [name, w] of writers) await waitFor(() => w.acks.length >= 100, { timeoutMs: 60000, what: `${name}: the first 100 writes` });
        let start = Date.now();
        const run = async (scenario: string, fault: (leader: number, w: Window) => Promise<void>) => {
            const leader = await c.waitHealthy(120000);
            const w: Window = { scenario, start, faultAt: Date.now(), end: 0 };
            const stopWatch = watchSentinels(c, w, c.endpoint(leader));
            await fault(leader, w);
            await settle(writers, w.faultAt, c);
            await stopWatch();
            w.end = Date.now();
            start = w.end;
            windows.push(w);
            for (const [name, wr] of writers) {
                const errs = wr.errorLog.filter((e) => e.at >= w.faultAt && e.at < w.end);
                const kinds = new Map<string, number>();
                for (const e of errs) kinds.set(e.message.slice(0, 80), (kinds.get(e.message.slice(0, 80)) ?? 0) + 1);
                log(`${scenario}: ${name} errors: ${[...kinds].map(([m, n]) => `${n}x ${m}`).join(" | ") || "none"}`);
            }
            log(`${scenario}: agreed after ${w.agreedAt ? w.agreedAt - w.faultAt : "-"} ms, SENTINEL MASTER after ${w.mastersAt ? w.mastersAt - w.faultAt : "-"} ms`);
        };
        const kill = async (leader: number, w: Window) => {
            w.faultAt = Date.now();
            await c.killNode(leader);
            await newLeader(c, leader);
            c.startNode(leader);
        };
        for (const s of opts.scenarios) {
            if (s === "kill") await run("kill", kill);
            else if (s === "kills") for (let k = 1; k <= 3; k++) await run(`kills ${k}/3`, kill);
            else if (s === "freeze")
                await run("freeze", async (leader, w) => {
                    const pgid = c.nodeProcs[leader]!.pgid;
                    w.faultAt = Date.now();
                    process.kill(-pgid, "SIGSTOP");
                    try {
                        await newLeader(c, leader);
                    } finally {
                        process.kill(-pgid, "SIGCONT");
                    }
                });
            else if (s === "hand-over")
                await run("hand-over", async (leader, w) => {
                    w.faultAt = Date.now();
                    const r = await c.runStopScript(leader, 60000);
                    if (!/leadership moved/.test(r.log)) log(`hand-over: leadership did not move:\n${r.log}`);
                });
            else if (s === "rolling")
                await run("rolling", async (leader, w) => {
                    for (const i of [0, 1, 2].filter((n) => n !== leader)) {
                        await c.stopNode(i, 30000);
                        c.startNode(i);
                        await c.waitHealthy(120000);
                    }
                    w.faultAt = Date.now();
                    await c.stopNode(leader, 30000);
                    c.startNode(leader);
                });
        }
        for (const w of writers.values()) await w.stop();
        const final = await c.waitHealthy(120000);
        const ids = await idsOn(c.topo.nodes[final].port, c.passwords.tile38);
        const scenarios = windows.map((win) => figures(win, writers, ids));
        const all = scenarios.flatMap((s) => Object.values(s.clients));
        return {
            clients: Object.fromEntries([...writers.keys()].map((n) => [n, CLIENT_VERSIONS[n]])),
            skipped,
            scenarios,
            lost_total: all.reduce((n, f) => n + (f?.lost ?? 0), 0),
            stuck_total: all.filter((f) => f?.stuck).length,
        };
    } catch (e) {
        process.stderr.write(`${c.h.logTails(60)}\n`);
        for (const [name, w] of writers) process.stderr.write(`${name} errors:\n${w.recentErrors.join("\n")}\n`);
        throw e;
    } finally {
        for (const w of writers.values()) await w.close();
        await c.cleanup();
    }
}

function figures(win: Window, writers: Map<ClientName, ClientWriter>, ids: Set<string>): ScenarioFigures {
    const clients: Partial<Record<ClientName, ClientFigures>> = {};
    for (const [name, w] of writers) {
        const acks = w.acks.filter((a: Ack) => a.sentAt >= win.start && a.sentAt < win.end);
        const afterFault = acks.filter((a) => a.sentAt >= win.faultAt - 1000);
        const resumed = w.acks.some((a) => a.sentAt >= win.faultAt && a.ackAt - win.faultAt <= RESUME_BOUND_MS && ids.has(a.id));
        const agreed = win.agreedAt ?? win.faultAt;
        const misdirected = w.errorLog.filter((e) => e.at >= win.faultAt && e.at < win.end && e.at > agreed + GRACE_MS && MISDIRECTED.test(e.message)).length;
        const lost = acks.filter((a) => !ids.has(a.id));
        clients[name] = {
            // Only writes the final leader holds: an acknowledgement from a deposed leader is no resumption.
            resume_ms: resumed ? writesResumedAfter(afterFault.filter((a) => ids.has(a.id)), win.faultAt) : null,
            acknowledged: acks.length,
            lost: lost.length,
            misdirected,
            stuck: !resumed || misdirected > 0,
        };
        if (lost.length) clients[name]!.lost_sent_ms = [lost[0].sentAt - win.faultAt, lost[lost.length - 1].sentAt - win.faultAt];
    }
    return { scenario: win.scenario, agreed_ms: win.agreedAt ? win.agreedAt - win.faultAt : null, masters_ms: win.mastersAt ? win.mastersAt - win.faultAt : null, clients };
}

/** The matrix as a table: one row per scenario and client. */
export function describeClientFigures(r: ClientDrillResult): string {
    const head = ["scenario", "client", "resume ms", "acked", "lost", "misdirected", "stuck", "sentinels agree ms", "SENTINEL MASTER ms"];
    const rows: string[][] = [];
    for (const s of r.scenarios) {
        for (const [name, f] of Object.entries(s.clients)) {
            rows.push([s.scenario, `${name} ${r.clients[name as ClientName] ?? ""}`, String(f!.resume_ms ?? "never"), String(f!.acknowledged), String(f!.lost), String(f!.misdirected), f!.stuck ? "YES" : "no", String(s.agreed_ms ?? "-"), String(s.masters_ms ?? "-")]);
        }
    }
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((x, i) => x.padEnd(widths[i])).join("  ").trimEnd();
    const skipped = Object.entries(r.skipped).map(([n, why]) => `SKIPPED ${n}: ${why}`);
    return [line(head), ...rows.map(line), `lost (all clients, all scenarios): ${r.lost_total}; stuck: ${r.stuck_total}`, ...skipped].join("\n") + "\n";
}
