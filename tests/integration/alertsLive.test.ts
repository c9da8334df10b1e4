/**
 * The shipped alert rules against a real cluster: the dev topology as real processes (three
 * tile38-server nodes run by the rendered start script, three redis-sentinels), each sentinel's
 * view exported by a real redis_exporter v1.74.0, all scraped by a real Prometheus (1 s scrape and
 * evaluation). A healthy cluster raises no alert; killing the leader puts Tile38HaNoWritableLeader
 * in pending and resolves it without firing once the sentinels have promoted a follower, and
 * Tile38HaFailover fires within (scrape interval + its `for` + 5 s) of the promotion; a dead sentinel
 * fires Tile38HaSentinelDown (two of three keep the quorum); the sentinel and Tile38 dashboard
 * queries return series.
 *
 * Ports of this file: Prometheus 27803, sentinels 27804-27806, Tile38 27807-27809, their metrics
 * 27813-27815, exporters 27816-27818 (the rest of 27800-27819 is prometheusHarness.test.ts').
 */
import * as path from "path";
import { dashboardQueries } from "../../components/monitoring/dashboard";
import { ActiveAlert, findGoBinary, prometheusSkipReason, RealPrometheus, ScrapeTarget } from "../../testing/fixtures/prometheus";
import { describeUnless, Tile38Cluster, tile38SkipReason } from "../../testing/fixtures/loopback/cluster";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { waitFor } from "../../testing/probe/wait";

const PROMETHEUS_PORT = 27803;
const SENTINEL_PORT = 27804;
const TILE38_PORT = 27807;
const METRICS_PORT = 27813;
const EXPORTER_PORT = 27816;
const CLUSTER = "live";
const RULES = path.join(__dirname, "../../monitoring/tile38-ha.rules.yml");

const skip =
    prometheusSkipReason() ??
    tile38SkipReason() ??
    (findGoBinary("redis_exporter") ? undefined : "redis_exporter not found on PATH, in $GOPATH/bin or ~/go/bin (.ci/run builds v1.74.0 from the Go module proxy)");

describeUnless(skip, "the shipped alerts on a real cluster (Tile38, sentinels, redis_exporter, Prometheus)", () => {
    let cluster: Tile38Cluster | undefined;
    let exporters: Harness;
    let prom: RealPrometheus | undefined;
    const figures: Record<string, number> = {};
    const harnesses = () => [cluster?.h, exporters];

    beforeAll(async () => {
        exporters = new Harness("alerts-live-exporters");
        cluster = await Tile38Cluster.start({
            label: "alerts-live",
            sentinelPort: SENTINEL_PORT,
            tile38Port: TILE38_PORT,
            nodeEnv: (i) => ({ METRICS_PORT: String(METRICS_PORT + i) }),
        });
        for (let i = 0; i < 3; i++) {
            exporters.start({
                name: `redis_exporter-${i + 1}`,
                command: findGoBinary("redis_exporter")!,
                args: [`--redis.addr=redis://127.0.0.1:${SENTINEL_PORT + i}`, `--web.listen-address=127.0.0.1:${EXPORTER_PORT + i}`],
                // The password through the environment, as the deployed exporters get it.
                env: { REDIS_PASSWORD: cluster.passwords.sentinel, PATH: process.env.PATH ?? "/usr/bin:/bin" },
            });
        }
        const targets: ScrapeTarget[] = [
            ...[0, 1, 2].map((i) => ({ component: "tile38" as const, cluster: CLUSTER, address: `127.0.0.1:${METRICS_PORT + i}` })),
            ...[0, 1, 2].map((i) => ({ component: "sentinel" as const, cluster: CLUSTER, address: `127.0.0.1:${EXPORTER_PORT + i}` })),
        ];
        prom = await RealPrometheus.start({ port: PROMETHEUS_PORT, targets, ruleFiles: [RULES] });
    }, 90_000);

    afterAll(async () => {
        await prom?.stop();
        await exporters?.cleanup();
        await cluster?.cleanup();
        console.log(`alerts on a real cluster, figures (ms): ${JSON.stringify(figures)}`);
    });

    it(
        "raises no alert while the cluster is healthy; the sentinels' and Tile38's dashboard queries return series",
        withLogs(harnesses, async () => {
            await waitFor(
                async () => {
                    const up = await prom!.query(`redis_sentinel_master_status{tile38_ha_cluster="${CLUSTER}"} == 1`);
                    const roles = await prom!.query(`tile38_replication_info{tile38_ha_cluster="${CLUSTER}"}`);
                    return up.length === 3 && roles.length === 3;
                },
                { timeoutMs: 20_000, what: "three sentinels reporting the leader ok and three Tile38 roles" },
            );
            await waitFor(async () => (await prom!.alerts()).length === 0, { timeoutMs: 10_000, what: "no active alert" });
            const [status] = await prom!.query(`redis_sentinel_master_status{tile38_ha_cluster="${CLUSTER}"}`);
            expect(status.metric).toMatchObject({ job: "sentinel", master_name: cluster!.topo.masterName, master_address: cluster!.endpoint(await cluster!.agreedLeader()), master_status: "ok" });
            const queries = dashboardQueries(CLUSTER).filter((q) => !q.components.includes("backup") && !q.panel.startsWith("Writes") && !q.panel.startsWith("Command latency"));
            // rate() needs two scrapes after the first command.
            let missing: string[] = [];
            await waitFor(
                async () => {
                    missing = [];
                    for (const q of queries) if ((await prom!.query(q.expr)).length === 0) missing.push(`${q.panel} ${q.refId}: ${q.expr}`);
                    return missing.length === 0;
                },
                { timeoutMs: 15_000, what: "every sentinel and Tile38 dashboard query to return series" },
            ).catch(() => undefined);
            expect(missing).toEqual([]);
        }),
    );

    it(
        "on the leader's death: no-writable-leader pending then resolved (never firing), failover firing within scrape + for + 5 s of the promotion",
        withLogs(harnesses, async () => {
            const old = await cluster!.agreedLeader();
            expect(old).toBeGreaterThanOrEqual(0);
            const killedAt = Date.now();
            await cluster!.killNode(old);
            const seen: Record<string, ActiveAlert["state"]> = {};
            const watch = async () => {
                for (const a of await prom!.alerts()) {
                    const key = `${a.name}${a.labels.seen_by ? `/${a.labels.seen_by}` : ""}`;
                    if (seen[key] !== "firing") seen[key] = a.state;
                    if (a.name === "Tile38HaNoWritableLeader" && figures.noLeaderPending === undefined) figures.noLeaderPending = Date.now() - killedAt;
                }
            };
            const promoted = await waitFor(
                async () => {
                    await watch();
                    return cluster!.leadingNode(old);
                },
                { timeoutMs: 20_000, what: "the sentinels to promote a follower" },
            );
            const promotedAt = Date.now();
            figures.promoted = promotedAt - killedAt;
            await waitFor(
                async () => {
                    await watch();
                    return (await prom!.alerts()).some((a) => a.name === "Tile38HaFailover" && a.state === "firing" && a.labels.tile38_ha_cluster === CLUSTER);
                },
                { timeoutMs: 1000 + 0 + 5000, what: "Tile38HaFailover to fire" },
            );
            figures.failoverFiring = Date.now() - promotedAt;
            await waitFor(
                async () => {
                    await watch();
                    return !(await prom!.alerts()).some((a) => a.name === "Tile38HaNoWritableLeader");
                },
                { timeoutMs: 10_000, what: "Tile38HaNoWritableLeader to resolve" },
            );
            figures.noLeaderResolved = Date.now() - killedAt;
            // The sentinels' side holds only from the last sentinel's sdown (down-after) to the
            // switch, about a second: a 1 s scrape may or may not see it; never firing either way.
            expect(seen["Tile38HaNoWritableLeader/tile38"]).toBe("pending");
            expect([undefined, "pending"]).toContain(seen["Tile38HaNoWritableLeader/sentinels"]);
            figures.sentinelsSawNoLeader = seen["Tile38HaNoWritableLeader/sentinels"] ? 1 : 0;
            const failover = (await prom!.alerts()).find((a) => a.name === "Tile38HaFailover")!;
            expect(failover.labels).toMatchObject({ severity: "warning", tile38_ha_cluster: CLUSTER, master_name: cluster!.topo.masterName });
            expect(failover.annotations.description).toContain("named 2 different leaders");
            expect(cluster!.endpoint(promoted)).not.toBe(cluster!.endpoint(old));
            // The old leader comes back as a follower: no second leader, Tile38 down resolves.
            await cluster!.restartNode(old);
            await prom!.waitForAlert("Tile38HaTile38Down", "inactive", 30_000);
            await waitFor(async () => (await prom!.query(`tile38_replication_info{tile38_ha_cluster="${CLUSTER}", role="follower"}`)).length === 2, {
                timeoutMs: 30_000,
                what: "the old leader to follow",
            });
            figures.oldLeaderFollows = Date.now() - killedAt;
            // It catches up meanwhile (Tile38HaFollowerNotCaughtUp may be pending): nothing else fires.
            const firing = (await prom!.alerts()).filter((a) => a.state === "firing").map((a) => a.name);
            expect(firing).toEqual(["Tile38HaFailover"]);
        }),
    );

    it(
        "on a sentinel's death: Tile38HaSentinelDown fires after its `for` (the exporter's redis_up 0), quorum holds with two, and it resolves once the sentinel is back",
        withLogs(harnesses, async () => {
            const exporter = { instance: `127.0.0.1:${EXPORTER_PORT + 2}` };
            const killedAt = Date.now();
            await cluster!.stopSentinel(2, "SIGKILL");
            await prom!.waitForAlert("Tile38HaSentinelDown", "firing", 20_000 + 6000, exporter);
            figures.sentinelDownFiring = Date.now() - killedAt;
            const alerts = await prom!.alerts();
            const down = alerts.find((a) => a.name === "Tile38HaSentinelDown")!;
            expect(down.labels).toMatchObject({ severity: "warning", job: "sentinel", tile38_ha_component: "sentinel", tile38_ha_cluster: CLUSTER });
            expect(down.annotations.summary).toBe(`Sentinel 127.0.0.1:${EXPORTER_PORT + 2} of ${CLUSTER} is down`);
            // Two sentinels of three still reach quorum 2.
            expect(alerts.filter((a) => a.name === "Tile38HaSentinelQuorumLost" || a.name === "Tile38HaNoWritableLeader")).toEqual([]);
            const [best] = await prom!.query(`max(redis_sentinel_master_ok_sentinels{tile38_ha_cluster="${CLUSTER}"})`);
            expect(best.value).toBe(2);
            const restartedAt = Date.now();
            await cluster!.startSentinel(2);
            await prom!.waitForAlert("Tile38HaSentinelDown", "inactive", 15_000, exporter);
            figures.sentinelDownResolved = Date.now() - restartedAt;
        }),
    );
});
