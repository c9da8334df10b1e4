/**
 * The Sentinel trio as the Docker target runs it (host networking = processes on the host):
 * the REAL rendered sentinel.conf templates and the REAL rendered start script, run with
 * `busybox sh` (as in the Alpine Redis image) and REDIS_BIN=redis-server (Debian's 7.0.15),
 * three real sentinels on 127.0.0.1:25000-25002.
 *
 * Ports of this file: 25000-25099 (sentinels), 25100-25199 (Tile38 node addresses the sentinels
 * monitor; nothing listens there).
 *
 * Nothing listens at the monitored address here: sentinels discover each other only through the
 * hello channel of a reachable monitored node, so `num-other-sentinels`, replica discovery and
 * failover are asserted with real Tile38 nodes in failover.test.ts.
 */
import * as fs from "fs";
import { busyboxPath, which } from "../../testing/fixtures/loopback/busybox";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { renderStack, RenderedStack, testStackConfig } from "../../testing/fixtures/loopback/render";
import { pairs, resp, respPipeline, RespError } from "../../components/status/resp";
import { runCommand } from "../../testing/command";
import { RunningSentinel, startSentinel } from "../../testing/fixtures/loopback/sentinels";
import { waitFor } from "../../testing/probe/wait";

const PASSWORDS = { tile38: "t38-Secret.pw_1", sentinel: "sentinel-Secret.pw_2" };
const cfg = testStackConfig({ sentinel: { port: 25000 }, tile38: { port: 25100 } });

let h: Harness;
let stack: RenderedStack;
let pathValue: string;
let trio: RunningSentinel[] = [];

const readConf = (s: RunningSentinel) => fs.readFileSync(s.conf, "utf8");
const confLines = (text: string) => text.split("\n").map((l) => l.trim());

async function startTrio(): Promise<RunningSentinel[]> {
    const out: RunningSentinel[] = [];
    for (let i = 0; i < 3; i++) {
        out.push(await startSentinel(h, stack, i, { dataDir: h.dir(`sentinel-${i + 1}-data`), pathValue, passwords: PASSWORDS }));
    }
    return out;
}

beforeAll(() => {
    const redis = which("redis-server");
    if (!redis) throw new Error("redis-server is not installed (apt-get install -y redis-server redis-sentinel)");
    h = new Harness("tile38-ha-sentinel-trio");
    stack = renderStack(cfg, h.dir("rendered"));
    pathValue = busyboxPath(h.root, { "redis-server": redis });
});

beforeEach(
    withLogs(
        () => h,
        async () => {
            trio = await startTrio();
        },
    ),
);

afterEach(async () => {
    await h?.stopAll();
});

afterAll(async () => {
    await h?.cleanup();
});

const leader = () => stack.topo.nodes[0];

describe("rendered sentinel trio (real redis-sentinel 7.0, busybox sh)", () => {
    it(
        "accepts only the sentinel password",
        withLogs(() => h, async () => {
            for (const s of trio) {
                const [noAuth] = await respPipeline(s.port, [["PING"]]);
                expect(noAuth).toBeInstanceOf(RespError);
                expect((noAuth as RespError).message).toMatch(/^NOAUTH/);

                const [noAuthSentinel] = await respPipeline(s.port, [["SENTINEL", "MASTER", cfg.masterName]]);
                expect((noAuthSentinel as RespError).message).toMatch(/^NOAUTH/);

                const [wrong, after] = await respPipeline(s.port, [["AUTH", "not-the-password"], ["PING"]]);
                expect((wrong as RespError).message).toMatch(/^WRONGPASS/);
                expect((after as RespError).message).toMatch(/^NOAUTH/);

                // The Tile38 password is not the sentinel's.
                const [other] = await respPipeline(s.port, [["AUTH", PASSWORDS.tile38]]);
                expect((other as RespError).message).toMatch(/^WRONGPASS/);

                const [ok, pong] = await respPipeline(s.port, [["AUTH", PASSWORDS.sentinel], ["PING"]]);
                expect(ok).toBe("OK");
                expect(pong).toBe("PONG");
            }
        }),
    );

    it(
        "monitors the configured leader with quorum 2 and the original timings",
        withLogs(() => h, async () => {
            for (const s of trio) {
                const m = pairs(await resp(s.port, ["SENTINEL", "MASTER", cfg.masterName], PASSWORDS.sentinel));
                expect(m.name).toBe("mymaster");
                expect(m.quorum).toBe("2");
                expect(m["down-after-milliseconds"]).toBe("3000");
                expect(m["failover-timeout"]).toBe("18000");
                expect(m["parallel-syncs"]).toBe("1");
                expect(m.ip).toBe("127.0.0.1");
                expect(m.port).toBe(String(leader().port));
                expect(await resp(s.port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", cfg.masterName], PASSWORDS.sentinel)).toEqual(["127.0.0.1", String(leader().port)]);
                // num-other-sentinels is deliberately not asserted: see the header (blocked by the missing Tile38).
            }
        }),
    );

    it(
        "the Docker health check: a new cluster's sentinel is healthy while its master has never answered, before down-after marks it down",
        withLogs(() => h, async () => {
            for (const s of trio) {
                const flags = pairs(await resp(s.port, ["SENTINEL", "MASTER", cfg.masterName], PASSWORDS.sentinel)).flags;
                expect(flags).toBe("master,disconnected");
                const r = await runCommand("sh", [stack.sentinelHealth], { env: { PATH: pathValue, SELF: `127.0.0.1:${s.port}`, SENTINEL_PASSWORD: PASSWORDS.sentinel }, timeoutMs: 10_000 });
                expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
            }
            // A wrong password: it does not answer SENTINEL MASTER, unhealthy.
            const bad = await runCommand("sh", [stack.sentinelHealth], { env: { PATH: pathValue, SELF: `127.0.0.1:${trio[0].port}`, SENTINEL_PASSWORD: "wrong" }, timeoutMs: 10_000 });
            expect(bad.code).toBe(1);
            expect(bad.stderr).toContain("does not answer SENTINEL MASTER mymaster");
        }),
    );

    it(
        "gives every sentinel its own id and its own config file",
        withLogs(() => h, async () => {
            const ids = await Promise.all(trio.map(async (s) => String(await resp(s.port, ["SENTINEL", "MYID"], PASSWORDS.sentinel))));
            for (const id of ids) expect(id).toMatch(/^[0-9a-f]{40}$/);
            expect(new Set(ids).size).toBe(3);

            const inodes = new Set(trio.map((s) => fs.statSync(s.conf).ino));
            expect(inodes.size).toBe(3);
            for (const [i, s] of trio.entries()) {
                // Sentinel wrote its generated id into the file the start script gave it.
                await waitFor(() => confLines(readConf(s)).includes(`sentinel myid ${ids[i]}`), { timeoutMs: 5000, what: `sentinel ${i + 1} to write its myid` });
                expect(confLines(readConf(s))).toContain(`port ${s.port}`);
                for (const [j, id] of ids.entries()) if (j !== i) expect(readConf(s)).not.toContain(id);
            }
        }),
    );

    it(
        "keeps its myid and current epoch across a restart",
        withLogs(() => h, async () => {
            const s = trio[2];
            const id = String(await resp(s.port, ["SENTINEL", "MYID"], PASSWORDS.sentinel));
            // Advance the epoch the way a peer's failover election does: a vote request for
            // epoch 5. The sentinel adopts epoch 5, votes for that candidate and saves its config.
            const candidate = "a".repeat(40);
            const vote = await resp(s.port, ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", leader().port, 5, candidate], PASSWORDS.sentinel);
            expect(vote).toEqual([0, candidate, 5]);
            await waitFor(() => confLines(readConf(s)).includes("sentinel current-epoch 5"), { timeoutMs: 5000, what: "current-epoch 5 in sentinel.conf" });

            await s.proc.stop();
            const again = await startSentinel(h, stack, 2, { dataDir: s.dataDir, template: s.template, pathValue, passwords: PASSWORDS });

            expect(await resp(again.port, ["SENTINEL", "MYID"], PASSWORDS.sentinel)).toBe(id);
            // Epoch 5 survived: a vote request for the older epoch 3 gets no vote. A sentinel that
            // had lost its epoch (0) would vote for it and answer [0, other, 3].
            const other = "b".repeat(40);
            const stale = (await resp(again.port, ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", leader().port, 3, other], PASSWORDS.sentinel)) as unknown[];
            expect(stale[1]).not.toBe(other);
            expect(stale[2]).toBe(5);
            const lines = confLines(readConf(again));
            expect(lines).toContain("sentinel current-epoch 5");
            expect(lines).toContain(`sentinel myid ${id}`);
            expect(lines.filter((l) => l.startsWith("sentinel myid "))).toHaveLength(1);
        }),
    );

    it(
        "a sentinel started later monitors the leader its running peers name, not its template's",
        withLogs(() => h, async () => {
            const late = trio[2];
            await late.proc.stop();
            // A fresh volume and a template that names node 2 as the initial leader.
            const otherLeader = stack.topo.nodes[1];
            const template = stack.sentinelTemplate(2, otherLeader);
            expect(fs.readFileSync(template, "utf8")).toContain(`sentinel monitor mymaster 127.0.0.1 ${otherLeader.port} 2`);

            const fresh = await startSentinel(h, stack, 2, { dataDir: h.dir("sentinel-3-fresh"), template, pathValue, passwords: PASSWORDS });
            const m = pairs(await resp(fresh.port, ["SENTINEL", "MASTER", cfg.masterName], PASSWORDS.sentinel));
            expect(`${m.ip}:${m.port}`).toBe(`127.0.0.1:${leader().port}`);
            expect(m.quorum).toBe("2");
            expect(confLines(readConf(fresh))).toContain(`sentinel monitor mymaster 127.0.0.1 ${leader().port} 2`);
            expect(fresh.proc.log()).toContain(`peers name the leader: 127.0.0.1 ${leader().port}`);
        }),
    );

    it(
        "denies script reconfiguration",
        withLogs(() => h, async () => {
            for (const s of trio) {
                expect(confLines(readConf(s))).toContain("sentinel deny-scripts-reconfig yes");
                for (const option of ["notification-script", "client-reconfig-script"]) {
                    const r = await resp(s.port, ["SENTINEL", "SET", cfg.masterName, option, "/bin/true"], PASSWORDS.sentinel);
                    expect(r).toBeInstanceOf(RespError);
                    expect((r as RespError).message).toMatch(/denied/i);
                }
                const m = pairs(await resp(s.port, ["SENTINEL", "MASTER", cfg.masterName], PASSWORDS.sentinel));
                expect(m["notification-script"]).toBeUndefined();
            }
        }),
    );

    it(
        "writes the auth lines only into the sentinel's own conf (mode 600), never into the template",
        withLogs(() => h, async () => {
            // Sentinel's rewrite may quote values (it writes `requirepass "…"`).
            const q = (v: string) => `"?${v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"?`;
            const authLines = [
                new RegExp(`^requirepass ${q(PASSWORDS.sentinel)}$`),
                new RegExp(`^sentinel sentinel-pass ${q(PASSWORDS.sentinel)}$`),
                new RegExp(`^sentinel auth-pass mymaster ${q(PASSWORDS.tile38)}$`),
            ];
            for (const s of trio) {
                const template = fs.readFileSync(s.template, "utf8");
                expect(template).not.toMatch(/requirepass|sentinel-pass|auth-pass/);
                expect(template).not.toContain(PASSWORDS.sentinel);
                expect(template).not.toContain(PASSWORDS.tile38);

                // Force a config rewrite by the sentinel itself, then check the file it left.
                expect(await resp(s.port, ["SENTINEL", "SET", cfg.masterName, "quorum", "2"], PASSWORDS.sentinel)).toBe("OK");
                expect(await resp(s.port, ["SENTINEL", "FLUSHCONFIG"], PASSWORDS.sentinel)).toBe("OK");
                const lines = confLines(readConf(s));
                for (const re of authLines) expect(lines.filter((l) => re.test(l))).toHaveLength(1);
                expect((fs.statSync(s.conf).mode & 0o777).toString(8)).toBe("600");
                // Nothing else in the sentinel's volume is readable by others either.
                for (const f of fs.readdirSync(s.dataDir)) expect((fs.statSync(`${s.dataDir}/${f}`).mode & 0o077).toString(8)).toBe("0");
            }
        }),
    );
});
