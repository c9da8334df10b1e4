/**
 * The role decision of the REAL rendered Tile38 start script (and the stop script), run with
 * `busybox sh` as in the Alpine Tile38 image, against three REAL sentinels started by the
 * rendered sentinel start script.
 *
 * TILE38_BIN is a recorder script: it writes the command line the start script runs to a file and
 * exits. It serves nothing and stands in for no Tile38 behaviour: these tests check only what the
 * script decides (which command it runs, the $DATA_DIR/config it writes) from what the sentinels
 * answer, fast and without a Tile38. Everything that needs a live Tile38 (node_life, the
 * empty-node wait, the hand-over of a real leader) is asserted with the real tile38-server in
 * failover.test.ts.
 *
 * Ports of this file: sentinels 25500-25502 (monitoring node 1 at 127.0.0.1:25600), Tile38 node
 * addresses 25600-25602 (nothing listens there), 25700-25702 for a stack whose sentinels are not
 * running.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { MANAGED_TILE38_KEYS, renderTile38Config, StartRole } from "../../components/render/tile38Config";
import { busyboxPath, which } from "../../testing/fixtures/loopback/busybox";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { renderStack, RenderedStack, testStackConfig } from "../../testing/fixtures/loopback/render";
import { pairs, resp } from "../../components/status/resp";
import { RunningSentinel, startSentinel } from "../../testing/fixtures/loopback/sentinels";
import { runTile38Start, runTile38Stop, Tile38Run, Tile38RunOptions, writeRecorder } from "../../testing/fixtures/loopback/tile38";
import { waitFor } from "../../testing/probe/wait";

const PASSWORDS = { tile38: "t38-Secret.pw_1", sentinel: "sentinel-Secret.pw_2" };
const STARTUP_TIMEOUT_S = 3;
const tile38Settings = { port: 25600, startupTimeoutSeconds: STARTUP_TIMEOUT_S, maxMemory: "512mb" };
const cfg = testStackConfig({ sentinel: { port: 25500 }, tile38: tile38Settings });
/** Same nodes, but sentinels on ports where nothing runs. */
const deadCfg = testStackConfig({ sentinel: { port: 25700 }, tile38: tile38Settings });

let clusterH: Harness; // the sentinel trio: beforeAll/afterAll
let h: Harness; // per-test processes: stopped in afterEach
let stack: RenderedStack;
let deadStack: RenderedStack;
let pathValue: string;
let recorder: string;
const sentinels: RunningSentinel[] = [];

const leader = () => stack.topo.nodes[0];

function opts(index: number, dataDir: string, over: Partial<Tile38RunOptions> = {}): Tile38RunOptions {
    return { stack, index, dataDir, pathValue, recorder, tile38Password: PASSWORDS.tile38, sentinelPassword: PASSWORDS.sentinel, ...over };
}

/** A data dir holding an existing Tile38 config (as Tile38 itself would have written it). */
function dataDirWithConfig(name: string, config: Record<string, unknown>): string {
    const dir = h.dir(name);
    fs.writeFileSync(path.join(dir, "config"), JSON.stringify(config, null, 2));
    return dir;
}

/** The managed keys of a written config: what tile38-ha owns. */
function managed(config: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of MANAGED_TILE38_KEYS) if (k in config) out[k] = config[k];
    return out;
}

function unmanaged(config: Record<string, unknown>): Record<string, unknown> {
    const keys = new Set<string>(MANAGED_TILE38_KEYS);
    return Object.fromEntries(Object.entries(config).filter(([k]) => !keys.has(k)));
}

/** The shell writer and the TS renderer must agree on the managed keys for the same role. */
/** The script's managed keys are the renderer's; `startPriority`: a follower's replica-priority at its start (the script's follower_start_priority). */
function expectAgreesWithRenderer(run: Tile38Run, index: number, role: StartRole, startPriority?: number) {
    expect(run.config).toBeDefined();
    const rendered = renderTile38Config(stack.topo.nodes[index], stack.topo, role, PASSWORDS.tile38);
    expect(managed(run.config!)).toEqual(startPriority === undefined ? rendered : { ...rendered, "replica-priority": startPriority });
}

function expectExecedServer(run: Tile38Run, index: number, dataDir: string) {
    expect(run.status.code).toBe(0);
    expect(run.exec).toEqual([recorder, "-d", dataDir, "-h", "127.0.0.1", "-p", String(stack.topo.nodes[index].port), "--appendonly", "yes"]);
}

/** Keys Tile38 writes itself (server_id, follow_id, …) and a nested value with tricky characters. */
const tile38Owned = {
    server_id: "3f9c2d0b8a7e4f61",
    follow_id: "77aa33bb",
    follow_pos: 12345,
    x_nested: { list: [1, { a: "b,c", "d:e": "{not}[json]" }], quote: 'say "hi", then }' },
};

beforeAll(
    withLogs(
        () => clusterH,
        async () => {
            const redis = which("redis-server");
            if (!redis) throw new Error("redis-server is not installed (apt-get install -y redis-server redis-sentinel)");
            clusterH = new Harness("tile38-ha-start-decision");
            stack = renderStack(cfg, clusterH.dir("rendered"));
            deadStack = renderStack(deadCfg, clusterH.dir("rendered-dead"));
            recorder = writeRecorder(clusterH.dir("bin"));
            pathValue = busyboxPath(clusterH.root, { "redis-server": redis });
            for (let i = 0; i < 3; i++) {
                sentinels.push(await startSentinel(clusterH, stack, i, { dataDir: clusterH.dir(`sentinel-${i + 1}-data`), pathValue, passwords: PASSWORDS }));
            }
            for (const s of sentinels) {
                expect(await resp(s.port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", cfg.masterName], PASSWORDS.sentinel)).toEqual(["127.0.0.1", String(leader().port)]);
            }
        },
    ),
    60000,
);

beforeEach(() => {
    h = new Harness("tile38-ha-start-decision-test");
});

afterEach(async () => {
    await h?.cleanup();
});

afterAll(async () => {
    await clusterH?.cleanup();
});

const logs = () => [h, clusterH];

describe("Tile38 start script (busybox sh) against real sentinels", () => {
    it(
        "a node the sentinels do not name follows the named leader and keeps Tile38's own keys",
        withLogs(logs, async () => {
            const dir = dataDirWithConfig("node-3", { ...tile38Owned, read_only: true, requirepass: "old-password", "replica-priority": 100 });
            const run = await runTile38Start(h, opts(2, dir));

            expectExecedServer(run, 2, dir);
            expect(run.log).toContain(`starting as a follower of 127.0.0.1:${leader().port}`);
            const c = run.config!;
            expect(c.follow_host).toBe("127.0.0.1");
            expect(c.follow_port).toBe(leader().port);
            // Empty: it can hold nothing but its leader's AOF, and no sentinel reads its priority before it caught up.
            expect(c["replica-priority"]).toBe(stack.topo.replicaPriority);
            expect(c.requirepass).toBe(PASSWORDS.tile38);
            expect(c.leaderauth).toBe(PASSWORDS.tile38);
            expect(c.replica_announce_ip).toBe("127.0.0.1");
            expect(c.replica_announce_port).toBe(stack.topo.nodes[2].port);
            expect(c.maxmemory).toBe("512mb");
            expect(unmanaged(c)).toEqual(tile38Owned);
            expectAgreesWithRenderer(run, 2, { kind: "follower", leader: leader() }, stack.topo.replicaPriority);
            expect(run.configMode!.toString(8)).toBe("600");
        }),
    );

    it(
        "a stale config following an old leader is replaced by the sentinels' answer (Tile38 #689)",
        withLogs(logs, async () => {
            const oldLeader = stack.topo.nodes[2];
            const dir = dataDirWithConfig("node-2-stale", { ...tile38Owned, follow_host: "127.0.0.1", follow_port: oldLeader.port, leaderauth: "old", "replica-priority": 100 });
            fs.writeFileSync(path.join(dir, "appendonly.aof"), "*1\r\n$4\r\nPING\r\n"); // it holds data: still a follower
            const run = await runTile38Start(h, opts(1, dir));

            expectExecedServer(run, 1, dir);
            expect(run.config!.follow_port).toBe(leader().port);
            expect(run.config!.follow_port).not.toBe(oldLeader.port);
            expect(unmanaged(run.config!)).toEqual(tile38Owned);
            // Its AOF below the floor is removed (fetched whole): empty, it starts at its priority.
            expectAgreesWithRenderer(run, 1, { kind: "follower", leader: leader() }, stack.topo.replicaPriority);
        }),
    );

    it(
        "a node whose port another process holds exits 1 without starting the server (Tile38 would drop the failed bind silently)",
        withLogs(logs, async () => {
            const dir = h.dir("node-1-port-taken");
            // The sentinels monitor this address and connect to whatever listens there: close
            // their connections too, or close() would wait for them.
            const sockets = new Set<net.Socket>();
            const taken = net.createServer((sock) => {
                sockets.add(sock);
                sock.on("error", () => undefined);
            });
            await new Promise<void>((resolve) => taken.listen(stack.topo.nodes[0].port, "127.0.0.1", resolve));
            try {
                const run = await runTile38Start(h, opts(0, dir));
                expect(run.status.code).toBe(1);
                expect(run.exec).toBeUndefined();
                expect(run.log).toContain(`port ${stack.topo.nodes[0].port} is already in use by another process`);
            } finally {
                const closed = new Promise<void>((resolve) => taken.close(() => resolve()));
                for (const sock of sockets) sock.destroy();
                await closed;
            }
        }),
    );

    it(
        "a node whose data directory an earlier incarnation still uses waits for it: never two servers on one AOF",
        withLogs(logs, async () => {
            const flock = which("flock", ["/usr/bin"]);
            if (!flock) throw new Error("flock is not installed (util-linux)");
            const holdLock = (dir: string, seconds: number) =>
                h.start({ name: "earlier-incarnation", command: flock, args: [path.join(dir, ".tile38-ha.lock"), "sleep", String(seconds)], env: { PATH: pathValue } });
            const held = h.dir("node-1-held");
            const holder = holdLock(held, 60);
            await waitFor(() => fs.existsSync(path.join(held, ".tile38-ha.lock")), { timeoutMs: 5000, what: "the lock file" });
            const refused = await runTile38Start(h, opts(0, held, { timeoutMs: (STARTUP_TIMEOUT_S + 10) * 1000 }));
            expect(refused.status.code).toBe(1);
            expect(refused.exec).toBeUndefined();
            expect(refused.config).toBeUndefined();
            expect(refused.log).toContain("still uses");
            await holder.stop(2000);

            const freed = h.dir("node-1-freed");
            holdLock(freed, 2);
            await waitFor(() => fs.existsSync(path.join(freed, ".tile38-ha.lock")), { timeoutMs: 5000, what: "the lock file" });
            const run = await runTile38Start(h, opts(0, freed));
            expectExecedServer(run, 0, freed);
            expect(run.log).toContain("still uses");
            expect(run.log).toContain("is free: starting");
        }),
    );

    it(
        "the node the sentinels name, with no data anywhere, starts as the leader (no follow_host)",
        withLogs(logs, async () => {
            const dir = h.dir("node-1-new");
            const run = await runTile38Start(h, opts(0, dir));

            expectExecedServer(run, 0, dir);
            expect(run.log).toContain("no node holds data");
            expect(run.config!).not.toHaveProperty("follow_host");
            expect(run.config!).not.toHaveProperty("follow_port");
            expect(run.config!["replica-priority"]).toBe(stack.topo.replicaPriority);
            expectAgreesWithRenderer(run, 0, { kind: "leader" });
        }),
    );

    it(
        "the named node holding data leads and drops a stale follow_host, keeping Tile38's own keys",
        withLogs(logs, async () => {
            const dir = dataDirWithConfig("node-1-data", { ...tile38Owned, follow_host: "127.0.0.1", follow_port: stack.topo.nodes[1].port, "replica-priority": 0 });
            fs.writeFileSync(path.join(dir, "appendonly.aof"), "*3\r\n$3\r\nSET\r\n$5\r\nfleet\r\n$5\r\ntruck\r\n");
            const run = await runTile38Start(h, opts(0, dir));

            expectExecedServer(run, 0, dir);
            expect(run.log).toContain("holds data");
            expect(run.config!).not.toHaveProperty("follow_host");
            expect(unmanaged(run.config!)).toEqual(tile38Owned);
            expectAgreesWithRenderer(run, 0, { kind: "leader" });
        }),
    );

    it(
        "with no sentinel reachable it exits non-zero after the startup timeout and never starts the server",
        withLogs(logs, async () => {
            const dir = h.dir("node-3-alone");
            const run = await runTile38Start(h, opts(2, dir, { stack: deadStack, timeoutMs: (STARTUP_TIMEOUT_S + 10) * 1000 }));

            expect(run.status.code).not.toBe(0);
            expect(run.status.code).not.toBeNull();
            expect(run.exec).toBeUndefined();
            expect(run.config).toBeUndefined();
            expect(run.durationMs).toBeGreaterThanOrEqual(STARTUP_TIMEOUT_S * 1000 - 1000); // `date +%s` has 1 s resolution
            expect(run.durationMs).toBeLessThan((STARTUP_TIMEOUT_S + 6) * 1000);
            expect(run.log).toContain("no sentinel answered yet");
            expect(run.log).toContain(`no safe role after ${STARTUP_TIMEOUT_S}s`);
        }),
    );

    it.each([
        ["a space", "pass word"],
        ["a single quote", "pass'word"],
        ["a double quote", 'pass"word'],
    ])(
        "refuses a TILE38_PASSWORD containing %s (exit 2, nothing written or started)",
        (_what, password) =>
            withLogs(logs, async () => {
                const dir = h.dir("node-3-badpw");
                const run = await runTile38Start(h, opts(2, dir, { tile38Password: password }));
                expect(run.status.code).toBe(2);
                expect(run.exec).toBeUndefined();
                expect(run.config).toBeUndefined();
                expect(run.log).toContain("TILE38_PASSWORD may only hold");
            })(),
    );
});

describe("Tile38 stop script (busybox sh)", () => {
    // Its documented behaviour: "if this node leads, ask a sentinel for a failover"; when the node
    // does not answer INFO (no Tile38 here), its role is unknown and it is treated as not leading:
    // the script exits 0 at once without asking for a failover.
    it.each([
        ["a follower", 2],
        ["the node the sentinels name, whose Tile38 does not answer", 0],
    ])(
        "on %s it exits 0 at once and asks for no failover",
        (_what, index) =>
            withLogs(logs, async () => {
                const run = await runTile38Stop(h, opts(index, h.dir(`node-${index + 1}-stop`)));
                expect(run.status.code).toBe(0);
                expect(run.log).toContain("the node does not answer: nothing to hand over");
                expect(run.log).not.toMatch(/sentinel .*: OK|READONLY/);
                // Far below the failover timeout (18 s) it would otherwise wait for.
                expect(run.durationMs).toBeLessThan(5000);
                for (const s of sentinels) {
                    const m = pairs(await resp(s.port, ["SENTINEL", "MASTER", cfg.masterName], PASSWORDS.sentinel));
                    expect(m.flags).not.toContain("failover_in_progress");
                    expect(`${m.ip}:${m.port}`).toBe(`127.0.0.1:${leader().port}`);
                }
            })(),
    );
});
