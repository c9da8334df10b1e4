/**
 * The alert drill (testing/scenarios/alertDrill.ts) on the dev topology as real processes: three
 * tile38-server nodes run by the rendered start script, three redis-sentinels run by theirs, each
 * sentinel's view exported by a real redis_exporter v1.74.0, all scraped by a real Prometheus
 * evaluating the shipped expressions (their `for` cut to 1 s). Every alert but the backup ones
 * fires in the state it names, `status` says the same as the nodes and sentinels, and all of it
 * clears once the fault is undone. (No backup agents here: a fenced leader shows in `status`;
 * Tile38HaNodeReadOnly is proven on the deployed stacks.)
 *
 * Ports of this file: Prometheus 27820, sentinels 27821-27823, Tile38 27824-27826, their metrics
 * 27827-27829, exporters 27830-27832, the stalled leader 27833.
 */
import { clusterStatus } from "../../components/status/clusterStatus";
import { findGoBinary, prometheusSkipReason, RealPrometheus, ScrapeTarget } from "../../testing/fixtures/prometheus";
import { describeUnless, Tile38Cluster, tile38SkipReason } from "../../testing/fixtures/loopback/cluster";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { describeAlertDrill, runAlertDrill } from "../../testing/scenarios/alertDrill";

const PROMETHEUS_PORT = 27820;
const SENTINEL_PORT = 27821;
const TILE38_PORT = 27824;
const METRICS_PORT = 27827;
const EXPORTER_PORT = 27830;
const STALLED_LEADER_PORT = 27833;
const CLUSTER = "drill";

const skip =
    prometheusSkipReason() ??
    tile38SkipReason() ??
    (findGoBinary("redis_exporter") ? undefined : "redis_exporter not found on PATH, in $GOPATH/bin or ~/go/bin (.ci/run builds v1.74.0 from the Go module proxy)");

describeUnless(skip, "the alert drill on processes (Tile38, sentinels, redis_exporter, Prometheus)", () => {
    let cluster: Tile38Cluster | undefined;
    let exporters: Harness;
    let prom: RealPrometheus | undefined;
    const harnesses = () => [cluster?.h, exporters];

    beforeAll(async () => {
        exporters = new Harness("alert-drill-exporters");
        cluster = await Tile38Cluster.start({
            label: "alert-drill",
            sentinelPort: SENTINEL_PORT,
            tile38Port: TILE38_PORT,
            nodeEnv: (i) => ({ METRICS_PORT: String(METRICS_PORT + i) }),
        });
        for (let i = 0; i < 3; i++) {
            exporters.start({
                name: `redis_exporter-${i + 1}`,
                command: findGoBinary("redis_exporter")!,
                args: [`--redis.addr=redis://127.0.0.1:${SENTINEL_PORT + i}`, `--web.listen-address=127.0.0.1:${EXPORTER_PORT + i}`],
                env: { REDIS_PASSWORD: cluster.passwords.sentinel, PATH: process.env.PATH ?? "/usr/bin:/bin" },
            });
        }
        const targets: ScrapeTarget[] = [
            ...[0, 1, 2].map((i) => ({ component: "tile38" as const, cluster: CLUSTER, address: `127.0.0.1:${METRICS_PORT + i}` })),
            ...[0, 1, 2].map((i) => ({ component: "sentinel" as const, cluster: CLUSTER, address: `127.0.0.1:${EXPORTER_PORT + i}` })),
        ];
        prom = await RealPrometheus.start({ port: PROMETHEUS_PORT, targets, drillRules: true });
    }, 90_000);

    afterAll(async () => {
        await prom?.stop();
        await exporters?.cleanup();
        await cluster?.cleanup();
    });

    it(
        "each alert fires in the state it names, status agrees with the nodes and sentinels, and all clears when the fault is undone",
        withLogs(harnesses, async () => {
            const c = cluster!;
            const steps = await runAlertDrill({
                probe: c,
                prom: prom!,
                cluster: CLUSTER,
                scriptPid: async (kind, i) => (kind === "node" ? c.nodeProcs[i]! : c.sentinelProcs[i]!.proc).child.pid!,
                status: () => clusterStatus({ masterName: c.topo.masterName, sentinels: c.topo.sentinels, nodes: c.topo.nodes, tile38Password: c.passwords.tile38, sentinelPassword: c.passwords.sentinel }),
                stalledLeaderAt: { host: "127.0.0.1", port: STALLED_LEADER_PORT },
                agentsExportReadOnly: false,
            });
            console.log(`alert drill on processes (ms from each fault):\n${describeAlertDrill(steps)}`);
            expect(steps.map((s) => Object.keys(s.firingMs)).flat().sort()).toEqual(
                [
                    "Tile38HaFailover",
                    "Tile38HaFollowerNotCaughtUp",
                    "Tile38HaNoWritableLeader",
                    "Tile38HaSentinelDown",
                    "Tile38HaSentinelQuorumLost",
                    "Tile38HaSentinelTilt",
                    "Tile38HaSentinelsDisagree",
                    "Tile38HaTile38Down",
                    "Tile38HaTwoLeaders",
                    "fenced",
                ].sort(),
            );
        }),
        10 * 60_000,
    );
});
