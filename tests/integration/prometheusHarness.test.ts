/**
 * The live-check harness (testing/fixtures/prometheus.ts) against real processes: a real Prometheus 3.x
 * scrapes a real tile38-server leader and follower (their `--metrics-addr`) and evaluates the
 * shipped rule file. The roles show in `tile38_replication_info`; killing the leader fires
 * Tile38HaTile38Down (and no-writable-leader goes pending), restarting it resolves both; every
 * dashboard query that reads Tile38 returns series; re-pointing the targets takes effect.
 *
 * Ports of this file: Prometheus 27800 (a failing one 27819), Tile38 27801-27802, their metrics
 * 27811-27812.
 */
import * as fs from "fs";
import * as path from "path";
import { resp } from "../../components/status/resp";
import { dashboardQueries } from "../../components/monitoring/dashboard";
import { TILE38_HA_RULE_GROUPS } from "../../components/monitoring/alertRules";
import { prometheusSkipReason, RealPrometheus, ScrapeTarget } from "../../testing/fixtures/prometheus";
import { acceptsTcp } from "../../testing/tcp";
import { describeUnless, tile38Binary } from "../../testing/fixtures/loopback/cluster";
import { Harness, ManagedProcess, withLogs } from "../../testing/fixtures/loopback/processes";
import { waitFor } from "../../testing/probe/wait";

const PROMETHEUS_PORT = 27800;
const NODES = [
    { port: 27801, metrics: 27811 },
    { port: 27802, metrics: 27812 },
];
const CLUSTER = "harness";
const RULES = path.join(__dirname, "../../monitoring/tile38-ha.rules.yml");
const forOf = (alert: string) => TILE38_HA_RULE_GROUPS.flatMap((g) => g.rules).find((r) => r.alert === alert)!.for!;
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)![1]);

const skip = prometheusSkipReason() ?? (tile38Binary() ? undefined : "tile38-server not found (set TILE38_SERVER or put tile38-server 1.37.0 on PATH; see docs/testing.md, 'The real Tile38')");

describeUnless(skip, "RealPrometheus against a real Tile38 leader and follower", () => {
    let h: Harness;
    let prom: RealPrometheus | undefined;
    const procs: (ManagedProcess | undefined)[] = [undefined, undefined];
    const dirs: string[] = [];
    const targets: ScrapeTarget[] = NODES.map((n, i) => ({ component: "tile38", cluster: CLUSTER, address: `127.0.0.1:${n.metrics}`, labels: { node: `harness-tile38-${i + 1}` } }));
    const figures: Record<string, number> = {};

    const startNode = async (i: number) => {
        const n = NODES[i];
        procs[i] = h.start({
            name: `tile38-${i + 1}`,
            command: tile38Binary()!,
            args: ["-h", "127.0.0.1", "-p", String(n.port), "-d", dirs[i], "--metrics-addr", `127.0.0.1:${n.metrics}`],
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        });
        await waitFor(async () => (await acceptsTcp("127.0.0.1", n.port)) && (await acceptsTcp("127.0.0.1", n.metrics)), { timeoutMs: 15_000, what: `tile38 ${i + 1} to listen` });
    };

    beforeAll(async () => {
        h = new Harness("prometheus-harness");
        for (const n of [...NODES.flatMap((x) => [x.port, x.metrics]), PROMETHEUS_PORT]) {
            if (await acceptsTcp("127.0.0.1", n)) throw new Error(`port ${n} is in use: another run of this suite?`);
        }
        dirs.push(h.dir("tile38-1"), h.dir("tile38-2"));
        await startNode(0);
        await startNode(1);
        for (let k = 0; k < 20; k++) await resp(NODES[0].port, ["SET", "fleet", `truck${k}`, "POINT", 33 + k / 100, -115]);
        await resp(NODES[1].port, ["FOLLOW", "127.0.0.1", NODES[0].port]);
        prom = await RealPrometheus.start({ port: PROMETHEUS_PORT, targets, ruleFiles: [RULES] });
    }, 60_000);

    afterAll(async () => {
        await prom?.stop();
        await h?.cleanup();
        console.log(`prometheus harness figures (ms): ${JSON.stringify(figures)}`);
    });

    it(
        "scrapes one leader and one follower, labelled with the job, the component and the cluster",
        withLogs(
            () => h,
            async () => {
                const started = Date.now();
                const roles = await waitFor(
                    async () => {
                        const r = await prom!.query(`tile38_replication_info{tile38_ha_cluster="${CLUSTER}"}`);
                        const byRole = Object.fromEntries(r.map((s) => [s.metric.role, s.metric]));
                        return r.length === 2 && byRole.leader && byRole.follower?.caught_up === "true" ? byRole : undefined;
                    },
                    { timeoutMs: 20_000, what: "a leader and a caught-up follower in tile38_replication_info" },
                );
                figures.firstScrape = Date.now() - started;
                expect(roles.leader).toMatchObject({ job: "tile38", tile38_ha_component: "tile38", tile38_ha_cluster: CLUSTER, instance: `127.0.0.1:${NODES[0].metrics}`, node: "harness-tile38-1" });
                expect(roles.follower).toMatchObject({ instance: `127.0.0.1:${NODES[1].metrics}`, following: `127.0.0.1:${NODES[0].port}`, caught_up_once: "true" });
                // The first evaluation may have seen the follower scraped before the leader: no
                // alert may stay active once both are.
                await waitFor(async () => (await prom!.alerts()).length === 0, { timeoutMs: 5000, what: "no active alert" });
            },
        ),
    );

    it(
        "answers every dashboard query that reads Tile38 with series (and accepts every other one)",
        withLogs(
            () => h,
            async () => {
                // rate() needs two samples of a counter that moved: keep writing for a few scrapes.
                for (let k = 0; k < 5; k++) {
                    await resp(NODES[0].port, ["SET", "fleet", `car${k}`, "POINT", 34, -115]);
                    await new Promise((r) => setTimeout(r, 600));
                }
                const queries = dashboardQueries(CLUSTER).filter((q) => q.components.length === 1 && q.components[0] === "tile38");
                expect(queries.length).toBeGreaterThanOrEqual(10);
                const empty = await waitFor(
                    async () => {
                        const missing: string[] = [];
                        for (const q of queries) if ((await prom!.query(q.expr)).length === 0) missing.push(`${q.panel} ${q.refId}: ${q.expr}`);
                        return missing.length === 0 ? [] : undefined;
                    },
                    { timeoutMs: 15_000, what: "every Tile38 dashboard query to return series" },
                );
                expect(empty).toEqual([]);
                const lag = await prom!.query(queries.find((q) => q.panel.startsWith("Follower lag"))!.expr);
                expect(lag.map((s) => s.metric.instance)).toEqual([`127.0.0.1:${NODES[1].metrics}`]);
                // The sentinels' and agents' queries have nothing to read here, but must parse.
                for (const q of dashboardQueries(CLUSTER)) await expect(prom!.query(q.expr)).resolves.toBeInstanceOf(Array);
            },
        ),
    );

    it(
        "fires Tile38HaTile38Down for the killed leader (no-writable-leader pending meanwhile) and resolves both once it is back",
        withLogs(
            () => h,
            async () => {
                const down = { tile38_ha_cluster: CLUSTER, instance: `127.0.0.1:${NODES[0].metrics}` };
                const killedAt = Date.now();
                // The container dying: SIGKILL, no shutdown.
                process.kill(-procs[0]!.pgid, "SIGKILL");
                await procs[0]!.stop(1000);
                const noLeader = await waitFor(
                    async () => (await prom!.alerts()).find((a) => a.name === "Tile38HaNoWritableLeader" && a.labels.tile38_ha_cluster === CLUSTER),
                    { timeoutMs: 10_000, what: "Tile38HaNoWritableLeader to go pending" },
                );
                expect(noLeader).toMatchObject({ state: "pending", labels: { seen_by: "tile38", severity: "critical" } });
                figures.noLeaderPending = Date.now() - killedAt;
                const forMs = seconds(forOf("Tile38HaTile38Down")) * 1000;
                await prom!.waitForAlert("Tile38HaTile38Down", "firing", forMs + 10_000, down);
                figures.downFiring = Date.now() - killedAt;
                expect(figures.downFiring).toBeGreaterThanOrEqual(forMs);
                const firing = (await prom!.alerts()).find((a) => a.name === "Tile38HaTile38Down" && a.state === "firing")!;
                expect(firing.labels).toMatchObject({ severity: "warning", job: "tile38", tile38_ha_component: "tile38", node: "harness-tile38-1" });
                expect(firing.annotations.summary).toBe(`Tile38 node 127.0.0.1:${NODES[0].metrics} (harness-tile38-1) of ${CLUSTER} is down`);

                const restartedAt = Date.now();
                await startNode(0);
                figures.downResolved = await prom!.waitForAlert("Tile38HaTile38Down", "inactive", 10_000, down);
                figures.noLeaderResolved = await prom!.waitForAlert("Tile38HaNoWritableLeader", "inactive", 10_000, { tile38_ha_cluster: CLUSTER });
                figures.restartToResolved = Date.now() - restartedAt;
            },
        ),
    );

    it(
        "follows setTargets: a target removed is no longer scraped, one added is",
        withLogs(
            () => h,
            async () => {
                await prom!.waitForAlert("Tile38HaTile38Down", "inactive", 10_000);
                // A dropped target's series end with a staleness marker: `up` counts the scraped ones.
                const count = async () => (await prom!.query(`up{tile38_ha_cluster="${CLUSTER}"} == 1`)).length;
                let started = Date.now();
                await prom!.setTargets(targets.slice(1));
                await waitFor(async () => (await count()) === 1, { timeoutMs: 10_000, what: "the removed target to be dropped" });
                figures.targetRemoved = Date.now() - started;
                started = Date.now();
                await prom!.setTargets(targets);
                await waitFor(async () => (await count()) === 2, { timeoutMs: 10_000, what: "the added target to be scraped" });
                figures.targetAdded = Date.now() - started;
                // A removed target's stale markers wait two scrape intervals.
                expect(figures.targetRemoved).toBeLessThan(6000);
                expect(figures.targetAdded).toBeLessThan(3000);
            },
        ),
    );

    it("refuses a port in use, and a rule file Prometheus rejects fails the start with Prometheus' own words", async () => {
        await expect(RealPrometheus.start({ port: PROMETHEUS_PORT, targets: [] })).rejects.toThrow(/already in use/);
        const bad = path.join(h.dir("bad-rules"), "bad.rules.yml");
        fs.writeFileSync(bad, "groups:\n  - name: bad\n    rules:\n      - alert: Broken\n        expr: up ==\n");
        await expect(RealPrometheus.start({ port: PROMETHEUS_PORT + 19, targets: [], ruleFiles: [bad], readyTimeoutMs: 10_000 })).rejects.toThrow(/Prometheus exited[\s\S]*bad\.rules\.yml/);
        expect(await acceptsTcp("127.0.0.1", PROMETHEUS_PORT + 19)).toBe(false);
    });
});
