/**
 * The Docker target through its real front door: a real `pulumi up` (the pulumi CLI, the Node.js
 * language host, the docker and random providers) of a test stack against a Docker engine this
 * suite starts itself, with local images built without pulling (Tile38 from the installed
 * tile38-server, Redis from Debian, versitygw, the AWS CLI), backups on to the local S3 store, and
 * a sentinel-aware client (ioredis) writing a point every 10 ms through every change:
 *   a. bootstrap: one leader, followers caught up, sentinels agree, a backup uploaded;
 *   b. the drill (`npm run drill -- --stack`'s code): `docker kill` of the leader fails over, the
 *      killed container started again rejoins as a follower; a `docker stop` hands over;
 *   b5. the scale bench on the deployed stack (`npm run bench -- --stack`, 2000 points): its steps
 *      through docker kill / stop / start and an emptied volume, nothing lost, its collections dropped;
 *   c. an image change rolls: one node down at a time, the leader last, 0 acknowledged writes
 *      lost, the longest write pause ≤ 2 s;
 *   c2. a broken release stops at the first node: `pulumi up` fails with a clear error, the
 *      cluster keeps serving writes (and the next `pulumi up` with a good image recovers);
 *   d. a sentinel setting change rolls: a quorum answers throughout, no failover, 0 lost;
 *   e. nothing changed: `pulumi up`/`preview` show no change, `pulumi refresh` no drift;
 *   f. `pulumi destroy` stops gracefully (hand-over in the logs), `pulumi up` brings every point
 *      back from the retained volumes, and from the backup once the volumes are removed;
 *   g. new Tile38 and sentinel passwords: switched live, then rolled; writes go on (the client
 *      reconnects with the new passwords once refused), 0 lost, no password in plain text.
 * Every node's points are compared with the leader's by content (ids and objects).
 * Skipped, with the reason, without root, dockerd, the pulumi toolchain or tile38-server.
 * Ports: Tile38 23851-23853, sentinels 23001-23003, S3 23900, metrics: Tile38 23431-23433, the
 * sentinels' exporters 23121-23123, the backup agents 23141-23143, Prometheus 23090 (all on 127.0.0.1).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { runDrill } from "../../testing/scenarios/drill";
import { ackedLostFigure, longestPause } from "../../testing/scenarios/drillReport";

import { CascadeFault, cascadeFigures, recordCascade, runCascade } from "../../testing/scenarios/drillCascade";
import { expectCascadeSurvived } from "../../testing/probe/cascadeExpect";
import { describeUnless, tile38SkipReason } from "../../testing/fixtures/loopback/cluster";
import { collectionOn, describeDifference, sameCollection } from "../../testing/probe/points";
import { Harness } from "../../testing/fixtures/loopback/processes";
import { resp } from "../../components/status/resp";
import { waitFor } from "../../testing/probe/wait";
import { PointWriter } from "../../testing/probe/writer";
import { runCommand } from "../../testing/command";
import { DeployedCluster, dockerStackOutputs } from "../../testing/fixtures/docker/deployedCluster";
import { DockerEngine, dockerEngineSkipReason } from "../../testing/fixtures/docker/dockerEngine";
import { buildLocalImages, LocalImages } from "../../testing/fixtures/docker/localImages";
import { pulumiSkipReason, PulumiStack } from "../../testing/fixtures/pulumiCli";
import { checkoutPreviousRelease, previewOperations, previousReleaseConfig, previousReleaseSkipReason, PREVIOUS_VERSION, recreatingSteps, removePreviousRelease } from "../../testing/previousRelease";
import { intervalsWhere, Sampler } from "../../testing/probe/sampler";
import { dashboardQueries } from "../../components/monitoring/dashboard";
import { AlertWatch, describeSightings, shippedAlertForMs } from "../../testing/probe/alertWatch";
import { describeAlertDrill, runAlertDrill } from "../../testing/scenarios/alertDrill";
import { prometheusSkipReason, RealPrometheus, ScrapeTarget } from "../../testing/fixtures/prometheus";
import { RULES_FILE } from "../../testing/docs/monitoringFiles";
import { dockerBackupRecords } from "../../testing/stackStatus";
import { clusterStatus, formatStatus } from "../../components/status/clusterStatus";
import { backupRecordsFromMetrics } from "../../components/status/backupMetrics";
import { DeployTimeline, describeTimeline, recordTimeline, TimelineEvent } from "../../testing/probe/deployTimeline";
import { benchSteps, machine, ScaleBenchResult } from "../../testing/scenarios/scaleBench";
import { dockerBenchTarget, STACK_BENCH_KEYS } from "../../testing/fixtures/docker/stackBenchTarget";

const PROJECT_DIR = path.join(__dirname, "../..");
const STACK = "deploy-test";
const KEY_PREFIX = "tile38/deploy-test/";
const COLLECTION = "fleet";
/** The scale bench's size on the deployed stack (b5): its steps, not its figures at size. */
const BENCH_POINTS = 2000;
const MINUTE = 60_000;
const figures: Record<string, string | number> = {};
const PROMETHEUS_PORT = 23090;
/** The alert drill's Prometheus (drill rules) and the stalled leader it points a follower at. */
const DRILL_PROMETHEUS_PORT = 23091;
const STALLED_LEADER_PORT = 23092;
/** What the alert drill proves fires on a stack with backup agents (and `fenced`, the leader's own read-only). */
const DRILL_ALERTS = [
    "Tile38HaFailover",
    "Tile38HaFollowerNotCaughtUp",
    "Tile38HaNoWritableLeader",
    "Tile38HaNodeReadOnly",
    "Tile38HaSentinelDown",
    "Tile38HaSentinelQuorumLost",
    "Tile38HaSentinelTilt",
    "Tile38HaSentinelsDisagree",
    "Tile38HaTile38Down",
    "Tile38HaTwoLeaders",
    "fenced",
].sort();
/** The `tile38_ha_cluster` label of the stack's targets: the stack program names its cluster `tile38-ha-<stack>`. */
const CLUSTER = `tile38-ha-${STACK}`;
/** The Tile38 containers (the stack's docker.namePrefix). */
const TILE38_CONTAINERS = [1, 2, 3].map((i) => `t38deploy-tile38-${i}`);
/** Where the suite writes the timelines of its first deploy and its rolling change (docs/figures/day1-day2.md), when set. */
const TIMELINE_RECORD = process.env.TILE38_HA_DAY_RECORD;

function stackConfig(images: LocalImages, over: { tile38Image?: string; parallelSyncs?: number } = {}): Record<string, unknown> {
    return {
        target: "docker",
        tile38: { image: over.tile38Image ?? images.tile38, ports: [23851, 23852, 23853], metricsPort: 23431 },
        sentinel: { image: images.redis, ports: [23001, 23002, 23003], parallelSyncs: over.parallelSyncs ?? 1 },
        docker: { namePrefix: "t38deploy", rolloutTimeoutSeconds: 60 },
        backup: { enabled: true, store: "local", localImage: images.versitygw, localPort: 23900, agentImage: images.awsCli, intervalSeconds: 10, keyPrefix: KEY_PREFIX },
        metrics: { sentinelExporterImage: images.redisExporter, sentinelExporterPort: 23121, backupPort: 23141 },
    };
}

const skip = dockerEngineSkipReason() ?? pulumiSkipReason() ?? tile38SkipReason();

describeUnless(skip, "a real pulumi up of a Docker stack (rolling changes, graceful destroy)", () => {
    let h: Harness;
    let engine: DockerEngine;
    let images: LocalImages;
    let stack: PulumiStack;
    let cluster: DeployedCluster;
    let writer: PointWriter | undefined;
    let deployed = false;
    /** The live check's Prometheus (b, then b3); stopped in afterAll, also after a failure. */
    let prom: RealPrometheus | undefined;

    const dockerEnv = () => ({ ...process.env, ...engine.env() });
    /** Every metrics endpoint of the stack (its `metricsTargets` output), labelled as docs/monitoring.md scrapes them. */
    const scrapeTargets = async (): Promise<ScrapeTarget[]> => {
        const t = (await stack.outputs()).metricsTargets as Record<"tile38" | "sentinel" | "backup", string[]>;
        const names = { tile38: cluster.outputs.dockerContainers.tile38, sentinel: cluster.outputs.dockerContainers.sentinels, backup: cluster.outputs.dockerContainers.tile38 };
        return (["tile38", "sentinel", "backup"] as const).flatMap((component) => t[component].map((address, i) => ({ component, cluster: CLUSTER, address, labels: { node: names[component][i] } })));
    };
    /** The status as `npm run status` computes it for this stack: the agents' records from their metrics (their files through docker exec agree). */
    const status = () =>
        clusterStatus({
            masterName: cluster.topo.masterName,
            sentinels: cluster.topo.sentinels,
            nodes: cluster.topo.nodes,
            tile38Password: cluster.passwords.tile38,
            sentinelPassword: cluster.passwords.sentinel,
            backups: async () => {
                const agents = ((await stack.outputs()).metricsTargets as { backup: string[] }).backup.map((a) => ({ host: a.split(":")[0], port: Number(a.split(":")[1]) }));
                const fromMetrics = await backupRecordsFromMetrics(agents);
                const fromFiles = await dockerBackupRecords(cluster.outputs.dockerContainers.tile38, dockerEnv());
                expect(fromMetrics.map((r) => [r.node, r.role, r.last_ok_epoch]).sort()).toEqual(fromFiles.map((r) => [r.node, r.role, r.last_ok_epoch]).sort());
                return fromMetrics;
            },
        });
    const attach = async () => {
        cluster = await DeployedCluster.attach(dockerStackOutputs(await stack.outputs()), dockerEnv());
        return cluster;
    };
    /**
     * `pulumi up`; with `timeline` (a section title) its timeline is recorded (DeployTimeline),
     * printed, summed up in the figures, and written to TILE38_HA_DAY_RECORD when set.
     */
    const up = async (what: string, timeline?: string) => {
        const recording = timeline ? await DeployTimeline.start({ h, env: engine.env(), tile38: TILE38_CONTAINERS }) : undefined;
        const r = await stack.up(undefined, recording?.pulumiOutput);
        figures[`${what}: pulumi up s`] = (r.durationMs / 1000).toFixed(1);
        if (recording && timeline) {
            const events = await recording.stop();
            const healthy = (n: string) => Math.max(...events.filter((e: TimelineEvent) => e.subject === n && e.source === "docker" && /health_status: healthy/.test(e.what)).map((e) => e.t));
            const allHealthy = Math.max(...TILE38_CONTAINERS.map(healthy));
            figures[`${what}: up start → every Tile38 container healthy s`] = Number.isFinite(allHealthy) ? (allHealthy / 1000).toFixed(1) : "never";
            const text = describeTimeline(timeline, events, TILE38_CONTAINERS, r.durationMs);
            process.stdout.write(`\n${text}\n`);
            if (TIMELINE_RECORD) {
                const commit = (await runCommand("git", ["describe", "--always", "--dirty"], { env: process.env, cwd: PROJECT_DIR, timeoutMs: 10000 })).stdout.trim();
                recordTimeline(TIMELINE_RECORD, timeline, text, "the Docker deploy suite with TILE38_HA_DAY_RECORD=FILE (tests a and c)", `${machine()}, code ${commit}`);
            }
        }
        return r;
    };
    const mustUp = async (what: string, timeline?: string) => {
        const r = await up(what, timeline);
        if (r.code !== 0) throw new Error(`pulumi up (${what}) failed:\n${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}\n${await cluster?.logTails(30)}`);
        deployed = true;
        return r;
    };
    const startWriter = async () => {
        // A test that failed before stopWriterAndCheck leaves its writer running: stop it first.
        await writer?.close();
        writer = new PointWriter({
            sentinels: cluster.topo.sentinels,
            masterName: cluster.topo.masterName,
            tile38Password: cluster.passwords.tile38,
            sentinelPassword: cluster.passwords.sentinel,
            key: COLLECTION,
        });
        writer.start();
        const n = writer.acks.length;
        await waitFor(() => writer!.acks.length >= n + 50, { timeoutMs: 30000, what: "writes through the sentinels" });
        return writer;
    };
    /** Stops the writer; checks that the leader holds every acknowledged write and every node the leader's points. */
    const stopWriterAndCheck = async (what: string) => {
        const w = writer!;
        await w.close();
        const leader = await cluster.waitHealthy(2 * MINUTE);
        const points = await collectionOn(cluster.topo.nodes[leader], cluster.passwords.tile38, COLLECTION);
        const lost = w.acks.filter((a) => !points.has(a.id));
        figures[`${what}: writes acknowledged / lost`] = `${w.acks.length} / ${lost.length}`;
        expect(lost.map((a) => a.id)).toEqual([]);
        await expectEveryNodeHolds(points);
        return points;
    };
    const expectEveryNodeHolds = async (points: Map<string, string>) => {
        for (let i = 0; i < cluster.topo.nodes.length; i++) {
            const mine = await waitFor(
                async () => {
                    const p = await collectionOn(cluster.topo.nodes[i], cluster.passwords.tile38, COLLECTION);
                    return sameCollection(p, points) ? p : undefined;
                },
                { timeoutMs: 30000, what: `node ${i + 1} to hold exactly the leader's points` },
            ).catch(async () => collectionOn(cluster.topo.nodes[i], cluster.passwords.tile38, COLLECTION));
            if (!sameCollection(mine, points)) throw new Error(`node ${i + 1} differs from the leader: ${describeDifference(mine, points)}`);
        }
    };
    // A node being replaced is down for seconds; 1.5 s without a PONG on a loaded 2-core machine
    // is not one (500 ms once saw all three "down" at once while writes flowed).
    const answers = async (endpoint: { host: string; port: number }, password: string) => {
        try {
            return (await resp(endpoint.port, ["PING"], password, { timeoutMs: 1500, host: endpoint.host })) === "PONG";
        } catch {
            return false;
        }
    };
    const nodesUp = () => Promise.all(cluster.topo.nodes.map((n) => answers(n, cluster.passwords.tile38)));
    const imageOf = async (container: string) => (await engine.mustDocker(["inspect", "-f", "{{.Image}}", container])).trim();
    /** The newest backup pointer in the local store, or undefined. */
    const backupPointer = async (): Promise<{ size: number } | undefined> => {
        const o = await stack.outputs();
        const r = await runCommand("/usr/bin/aws", ["--endpoint-url", String(o.backupEndpoint), "s3", "cp", `s3://${String(o.backupBucket)}/${KEY_PREFIX}latest.json`, "-"], {
            env: { PATH: process.env.PATH, HOME: h.root, AWS_ACCESS_KEY_ID: String(o.backupAccessKeyId), AWS_SECRET_ACCESS_KEY: String(o.backupSecretAccessKey), AWS_DEFAULT_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true" },
            timeoutMs: 30000,
        });
        return r.code === 0 ? (JSON.parse(r.stdout) as { size: number }) : undefined;
    };

    beforeAll(async () => {
        h = new Harness("tile38-ha-deploy");
        engine = await DockerEngine.start(h);
        images = await buildLocalImages(engine, 15 * MINUTE);
        stack = new PulumiStack(PROJECT_DIR, STACK, h.dir("pulumi-state"), { ...engine.env(), PULUMI_NODEJS_TRANSPILE_ONLY: "true" });
        await stack.init(stackConfig(images));
    }, 20 * MINUTE);

    afterAll(async () => {
        await writer?.close();
        await prom?.stop().catch(() => undefined);
        if (deployed) {
            const r = await stack.run(["destroy", "--yes"], 5 * MINUTE);
            if (r.code !== 0) process.stderr.write(`cleanup: pulumi destroy failed: ${r.stderr}\n`);
        }
        await stack?.remove();
        await engine?.stop();
        await h?.cleanup();
        const w = Math.max(...Object.keys(figures).map((k) => k.length));
        process.stdout.write(`\ndeploy suite figures (real pulumi up, real Docker engine):\n${Object.entries(figures).map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n")}\n`);
    }, 10 * MINUTE);

    it(`a0. a stack release ${PREVIOUS_VERSION} created upgrades safely: no volume or store touched; only containers replaced (the nodes, their agents and the sentinels, rolled by a), the exporters new`, async () => {
        if (await previousReleaseSkipReason()) return void (figures[`upgrade from ${PREVIOUS_VERSION}`] = `skipped: ${await previousReleaseSkipReason()}`);
        const old = await checkoutPreviousRelease(path.join(h.root, `release-${PREVIOUS_VERSION}`));
        try {
            const previous = new PulumiStack(old, STACK, stack.stateDir, { ...engine.env(), PULUMI_NODEJS_TRANSPILE_ONLY: "true" });
            fs.copyFileSync(stack.configFile, previous.configFile);
            previous.writeConfig(previousReleaseConfig(stackConfig(images)));
            const r = await previous.up();
            if (r.code !== 0) throw new Error(`pulumi up of ${PREVIOUS_VERSION} failed:\n${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}`);
            deployed = true;
            figures[`${PREVIOUS_VERSION}: first pulumi up s`] = (r.durationMs / 1000).toFixed(1);
            await attach();
            await cluster.waitHealthy(2 * MINUTE);
            const preview = await stack.must(["preview", "--json", "--show-sames"], 5 * MINUTE);
            figures[`upgrade ${PREVIOUS_VERSION} → this tree: preview steps`] = JSON.stringify(previewOperations(preview.stdout));
            // 0.3.0 turns metrics on: the Tile38 nodes (a new METRICS_PORT) and the backup agents
            // (a new script, a health check) are replaced, one node at a time; the exporters are new.
            // The sentinels' start script changed (the node program's shared library, lib.sh): they
            // are replaced one at a time too, their volumes (id, epoch, known peers) kept.
            const container = (urn: string, name: RegExp) => urn.includes("docker:index/container:Container::") && name.test(urn.split("::").pop()!);
            expect(
                recreatingSteps(preview.stdout, {
                    replaceable: (urn) => container(urn, /^t38deploy-(tile38-\d+(-backup)?|sentinel-\d+)$/),
                    // This release adds the live password switch (a one-shot container, run before any replacement).
                    creatable: (urn) => container(urn, /^t38deploy-(sentinel-\d+-exporter|password-switch)$/) || /SentinelExporters::|PasswordSwitch::|RemoteImage::t38deploy-sentinel-exporter-image$/.test(urn),
                }),
            ).toEqual([]);
        } finally {
            await removePreviousRelease(old);
        }
    }, 10 * MINUTE);

    it("a. bootstraps (an update of a0's stack, or a first deploy): one leader, followers caught up, sentinels agree, a backup uploaded", async () => {
        const started = Date.now();
        await mustUp("bootstrap", deployed ? `Docker: update of release ${PREVIOUS_VERSION}'s stack` : "Docker: first deploy");
        await attach();
        await cluster.waitHealthy(2 * MINUTE);
        figures["bootstrap: up start → healthy s"] = ((Date.now() - started) / 1000).toFixed(1);
        await startWriter();
        await waitFor(() => writer!.acks.length >= 300, { timeoutMs: MINUTE, what: "300 writes" });
        await stopWriterAndCheck("bootstrap");
        const pointer = await waitFor(backupPointer, { timeoutMs: 2 * MINUTE, what: "a backup in the local S3 store", intervalMs: 2000 });
        expect(pointer.size).toBeGreaterThan(0);
    }, 6 * MINUTE);

    it("b. the drill on the deployed stack: docker kill fails over, nothing lost, the killed node rejoins; docker stop hands over; a real Prometheus with the shipped rules sees it", async () => {
        const promSkip = prometheusSkipReason();
        if (promSkip) figures["monitoring: live check"] = `SKIPPED: ${promSkip}`;
        prom = promSkip ? undefined : await RealPrometheus.start({ port: PROMETHEUS_PORT, targets: await scrapeTargets(), ruleFiles: [RULES_FILE] });
        const before = await cluster.waitHealthy(MINUTE);
        if (prom) {
            // Every target up, the roles and the sentinels' leader as the cluster's own truth.
            const live = prom;
            const leaderAt = `${cluster.topo.nodes[before].host}:${cluster.topo.nodes[before].port}`;
            const view = async () => ({
                down: (await live.query(`up{tile38_ha_cluster="${CLUSTER}"} == 0 or absent(up{tile38_ha_cluster="${CLUSTER}"})`)).length,
                leaders: (await live.query(`tile38_replication_info{tile38_ha_cluster="${CLUSTER}",role="leader"} == 1`)).map((x) => x.metric.node),
                named: [...new Set((await live.query(`redis_sentinel_master_status{tile38_ha_cluster="${CLUSTER}"} == 1`)).map((x) => x.metric.master_address))],
                active: (await live.alerts()).filter((a) => a.labels.tile38_ha_cluster === CLUSTER).map((a) => a.name),
            });
            const want = { down: 0, leaders: [cluster.outputs.dockerContainers.tile38[before]], named: [leaderAt], active: [] };
            let got = await view();
            await waitFor(async () => (JSON.stringify((got = await view())) === JSON.stringify(want) ? true : undefined), { timeoutMs: MINUTE, what: "the metrics to show the cluster's own truth" }).catch(() => undefined);
            expect(got).toEqual(want);
        }
        const watch = prom ? new AlertWatch(prom, CLUSTER) : undefined;
        const named = new Sampler(() => cluster.sentinelLeaders(), 250);
        const r = await runDrill(cluster, 1, true);
        const sightings = await watch?.stop();
        const leaders = await named.stop();
        figures["drill: kill → first acknowledged write ms"] = r.unplanned.failover_ms.max;
        figures["drill: kill → converged ms"] = r.unplanned.converge_ms.max;
        figures["drill: docker stop of the leader → writes resume ms / longest pause ms"] = `${r.planned.failover_ms} / ${r.planned.pause_ms}`;
        figures["drill: writes acknowledged / lost"] = ackedLostFigure(r);
        expect(r.unplanned.failed_runs).toBe(0);
        expect(r.unplanned.writes_lost).toBe(0);
        expect(r.planned.writes_lost).toBe(0);
        expect(r.nodes_differing_from_leader).toBe(0);
        if (sightings) {
            // The first moment a majority named another leader: the failover's end.
            const first = leaders[0].value.find(Boolean);
            const switched = leaders.find((s) => s.value.filter((l) => l && l !== first).length >= 2)!.at;
            const failover = sightings.get("Tile38HaFailover");
            const noLeader = sightings.get("Tile38HaNoWritableLeader");
            figures["monitoring: failover alert firing after the new leader ms"] = failover?.firstFiring === undefined ? "never" : failover.firstFiring - switched;
            figures["monitoring: no-writable-leader"] = noLeader ? `${[...noLeader.states].join("/")}, inactive again ${(noLeader.resolvedAt ?? Date.now()) - switched} ms after the sentinels named the new leader` : "never active";
            figures["monitoring: alerts active during the drill"] = describeSightings(sightings);
            const bound = 1000 + shippedAlertForMs("Tile38HaFailover") + 5000;
            expect(failover?.firstFiring).toBeDefined();
            expect(failover!.firstFiring! - switched).toBeLessThanOrEqual(bound);
            if (noLeader) expect((noLeader.resolvedAt ?? Infinity) - switched).toBeLessThanOrEqual(1000 + shippedAlertForMs("Tile38HaNoWritableLeader") + 5000);
        }
        // Healthy again after the drill (bounded): the restarted old leader may still be resyncing.
        const health = await cluster.health();
        if (!health.healthy) {
            const t = Date.now();
            await cluster.waitHealthy(2 * MINUTE);
            figures["drill: unhealthy right after it (why), then healthy after ms"] = `${health.why} / ${Date.now() - t}`;
        }
    }, 8 * MINUTE);

    it("b3. never silent: every dashboard query answers; broken backup credentials turn the leader's agent unhealthy, the status stale and fire the three backup alerts; fixed, all clear", async () => {
        if (!prom) return void (figures["monitoring: backups"] = `SKIPPED: ${prometheusSkipReason()}`);
        const live = prom;
        const leader = await cluster.waitHealthy(MINUTE);
        await startWriter();
        // Every panel's query returns series (rates need a minute of writes at most).
        const queries = dashboardQueries(CLUSTER);
        const silent = async () => {
            const empty: string[] = [];
            for (const q of queries) if ((await live.query(q.expr)).length === 0) empty.push(`${q.panel}: ${q.expr}`);
            return empty;
        };
        let empty = await silent();
        await waitFor(async () => ((empty = await silent()).length === 0 ? true : undefined), { timeoutMs: 2 * MINUTE, what: "every dashboard query to return series", intervalMs: 2000 }).catch(() => undefined);
        expect(empty).toEqual([]);
        figures["monitoring: dashboard queries answering"] = queries.length;
        // The agent that uploads (its node leads), as its own metrics say; the others follow.
        const uploader = async () => (await live.query(`tile38_ha_backup_uploader{tile38_ha_cluster="${CLUSTER}"} == 1`)).map((x) => x.metric.node)[0] ?? cluster.outputs.dockerContainers.tile38[leader];
        const agentHealth = async () => (await engine.mustDocker(["inspect", "-f", "{{.State.Health.Status}}", `${await uploader()}-backup`])).trim();
        // Broken credentials: the store comes back on its port and volume with other root keys
        // (the agents' keys are refused: InvalidAccessKeyId), as after a key rotation gone wrong.
        const store = "t38deploy-s3";
        const impostor = "t38deploy-s3-other-keys";
        await engine.mustDocker(["stop", store]);
        await engine.mustDocker([
            "run", "-d", "--name", impostor, "--network", "host", "-v", "t38deploy-s3-data:/data",
            "-e", "ROOT_ACCESS_KEY=not-the-agents-key", "-e", "ROOT_SECRET_KEY=not-the-agents-secret-key",
            images.versitygw, "--port", "127.0.0.1:23900", "posix", "/data",
        ]);
        const brokenAt = Date.now();
        try {
            await live.waitForAlert("Tile38HaBackupStale", "firing", 4 * MINUTE, { tile38_ha_cluster: CLUSTER });
            figures["monitoring: credentials broken → Tile38HaBackupStale firing ms"] = Date.now() - brokenAt;
            // The uploading agent's own verdict and its failed rounds fire too (while its node answers).
            await live.waitForAlert("Tile38HaBackupAgentUnhealthy", "firing", 2 * MINUTE, { tile38_ha_cluster: CLUSTER });
            figures["monitoring: credentials broken → Tile38HaBackupAgentUnhealthy firing ms"] = Date.now() - brokenAt;
            await live.waitForAlert("Tile38HaBackupFailing", "firing", MINUTE, { tile38_ha_cluster: CLUSTER });
            await waitFor(async () => ((await agentHealth()) === "unhealthy" ? true : undefined), { timeoutMs: 2 * MINUTE, what: "the uploading agent unhealthy in docker inspect" });
            // The agent logs to stderr.
            const logs = await engine.docker(["logs", "--tail", "40", `${await uploader()}-backup`]);
            figures["monitoring: the agent's log while broken"] = (`${logs.stdout}${logs.stderr}`.split("\n").find((l) => /failed|InvalidAccessKeyId|Forbidden|AccessDenied|cannot/.test(l)) ?? "").slice(0, 200);
            const s = await status();
            expect(s.backup).not.toBe("unknown");
            expect(s.backup !== "unknown" && s.backup.stale).toBe(true);
            expect(s.verdict).toBe("degraded");
            expect(s.exitCode).toBe(1);
            process.stdout.write(`\nstatus with the backup credentials broken:\n${formatStatus(s)}\n`);
        } finally {
            await engine.docker(["rm", "-f", impostor]);
            await engine.mustDocker(["start", store]);
        }
        const startedAt = Date.now();
        await live.waitForAlert("Tile38HaBackupStale", "inactive", 2 * MINUTE, { tile38_ha_cluster: CLUSTER });
        await live.waitForAlert("Tile38HaBackupAgentUnhealthy", "inactive", MINUTE, { tile38_ha_cluster: CLUSTER });
        await live.waitForAlert("Tile38HaBackupFailing", "inactive", MINUTE, { tile38_ha_cluster: CLUSTER });
        figures["monitoring: credentials fixed → Tile38HaBackupStale inactive ms"] = Date.now() - startedAt;
        await waitFor(async () => ((await agentHealth()) === "healthy" ? true : undefined), { timeoutMs: MINUTE, what: "the leader's agent healthy again" });
        await waitFor(async () => {
            const s = await status();
            return s.backup !== "unknown" && !s.backup.stale && s.exitCode === 0 ? true : undefined;
        }, { timeoutMs: MINUTE, what: "status healthy with a fresh backup" });
        await stopWriterAndCheck("backup store outage");
        await live.stop();
        prom = undefined;
    }, 10 * MINUTE);

    it("b4. the alert drill on the deployed stack: each alert but the backup ones fires in the state it names (a real Prometheus, the shipped expressions, `for` cut to 1 s), status agrees, all clears", async () => {
        const promSkip = prometheusSkipReason();
        if (promSkip) return void (figures["alert drill"] = `SKIPPED: ${promSkip}`);
        const drillProm = await RealPrometheus.start({ port: DRILL_PROMETHEUS_PORT, targets: await scrapeTargets(), drillRules: true });
        try {
            const containers = cluster.outputs.dockerContainers;
            const steps = await runAlertDrill({
                probe: cluster,
                prom: drillProm,
                cluster: CLUSTER,
                scriptPid: async (kind, i) => Number((await engine.mustDocker(["inspect", "-f", "{{.State.Pid}}", (kind === "node" ? containers.tile38 : containers.sentinels)[i]])).trim()),
                status,
                stalledLeaderAt: { host: "127.0.0.1", port: STALLED_LEADER_PORT },
                agentsExportReadOnly: true,
            });
            for (const st of steps) figures[`alert drill: ${st.step}`] = `${Object.entries(st.firingMs).map(([a, ms]) => `${a} ${ms} ms`).join(", ")}; cleared ${st.clearedMs} ms`;
            process.stdout.write(`\nalert drill on the Docker stack (ms from each fault):\n${describeAlertDrill(steps)}\n`);
            expect(steps.flatMap((st) => Object.keys(st.firingMs)).sort()).toEqual(DRILL_ALERTS);
        } finally {
            await drillProm.stop();
        }
    }, 10 * MINUTE);

    it("b2. a cascade on the deployed stack: docker kill, then the new leader's container cut off the network 0 s after the failover, docker kill 5 s after, docker pause 2 s after; each failed over, nothing lost, same data", async () => {
        const m = await cluster.sentinelMaster(0);
        // A measurement at size, outside CI: TILE38_HA_CASCADE_POINTS=1000000 (and TILE38_HA_CASCADE_RECORD=FILE.md).
        const points = Number(process.env.TILE38_HA_CASCADE_POINTS ?? 0);
        const spacingsS = points > 0 ? [5, 10, 20, 40] : [0, 5, 2];
        const faults: CascadeFault[] = points > 0 ? ["kill", "freeze", "cut"] : ["kill", "cut", "kill", "freeze"];
        const r = await runCascade(cluster, { spacingsS, faults, points, downAfterMs: Number(m["down-after-milliseconds"]), log: (l) => process.stderr.write(`cascade: ${l}\n`) });
        if (process.env.TILE38_HA_CASCADE_RECORD) recordCascade(process.env.TILE38_HA_CASCADE_RECORD, r, `the Docker deploy suite's b2 (a real \`pulumi up\` on a Docker engine; TILE38_HA_CASCADE_POINTS=${points})`);
        Object.assign(figures, cascadeFigures(r, "cascade:"));
        expectCascadeSurvived(r, spacingsS.length + 1);
        await cluster.waitHealthy(2 * MINUTE);
    }, 20 * MINUTE);

    it("b5. the scale bench on the deployed stack (`npm run bench -- --stack`): kills, hand-overs, a rolling restart, a follower's volume emptied, a backup; nothing lost, the same data everywhere, its collections dropped", async () => {
        const target = await dockerBenchTarget(cluster, STACK);
        let r: ScaleBenchResult;
        try {
            r = await benchSteps(target, { points: BENCH_POINTS, updatesPerPoint: 1, repeats: 2, say: () => undefined });
        } finally {
            await target.cleanup();
        }
        figures[`bench on the stack (${BENCH_POINTS} points, 2 runs): kill → first write / hand-over pause / rolling pause ms`] = `${r.kill_failover_runs_ms.join(", ")} / ${r.handover_pause_runs_ms.join(", ")} / ${r.rolling_longest_pause_ms}`;
        figures["bench on the stack: wiped follower resync ms / bytes, backup ms"] = `${r.wipe_resync_ms} / ${r.wipe_downloaded_bytes}, ${r.backup_upload_ms ?? "-"}`;
        expect(r.writes_lost).toBe(0);
        expect(r.data_identical).toBe(true);
        expect(r.wipe_downloaded_bytes).toBeGreaterThanOrEqual(r.aof_bytes);
        expect(r.backup_upload_ms).toBeDefined();
        expect(r.restore_ms).toBeUndefined();
        const leader = await cluster.waitHealthy(MINUTE);
        const keys = await cluster.nodeCall(leader, ["KEYS", "*"]);
        expect(Array.isArray(keys)).toBe(true);
        expect(keys).not.toContain(STACK_BENCH_KEYS.points);
        expect(keys).not.toContain(STACK_BENCH_KEYS.writes);
    }, 10 * MINUTE);

    it("c. rolls a Tile38 image change one node at a time, the leader last, losing nothing", async () => {
        const leader = await cluster.waitHealthy(MINUTE);
        await startWriter();
        const sampler = new Sampler(nodesUp, 100);
        stack.writeConfig(stackConfig(images, { tile38Image: images.tile38Next }));
        const from = Date.now();
        await mustUp("image change", "Docker: rolling change of the Tile38 image (3 nodes)");
        const to = Date.now();
        const samples = await sampler.stop();
        const pause = longestPause(writer!.acks, from, to);
        figures["image change: longest write pause ms"] = pause;
        await stopWriterAndCheck("image change");
        // At no moment were two nodes down, and every node was down once (it was replaced).
        expect(Math.max(...samples.map((s) => s.value.filter((u) => !u).length))).toBeLessThanOrEqual(1);
        const downs = cluster.topo.nodes.map((_, i) => intervalsWhere(samples, (v) => !v[i]));
        downs.forEach((d) => expect(d.length).toBeGreaterThanOrEqual(1));
        // The leader was replaced last: its new container was created after every other one. (A
        // follower may still resync once the leader's new container answers: an outage, not a replacement.)
        const created = await Promise.all(cluster.outputs.dockerContainers.tile38.map(async (name) => Date.parse((await engine.mustDocker(["inspect", "-f", "{{.Created}}", name])).trim())));
        created.forEach((t) => expect(t).toBeGreaterThanOrEqual(from - 1000));
        expect(created[leader]).toBe(Math.max(...created));
        // Hand-overs, not failovers: the pause (a printed figure) stays below down-after, which a
        // failover's pause exceeds by the election and promotion.
        expect(pause).toBeLessThan(Number((await cluster.sentinelMaster(0))["down-after-milliseconds"]));
        const next = (await engine.mustDocker(["image", "inspect", "-f", "{{.Id}}", images.tile38Next])).trim();
        for (const name of cluster.outputs.dockerContainers.tile38) expect(await imageOf(name)).toBe(next);
    }, 10 * MINUTE);

    it("c2. stops a broken release at the first node: pulumi up fails clearly, the cluster keeps serving", async () => {
        const leader = await cluster.waitHealthy(MINUTE);
        await startWriter();
        stack.writeConfig(stackConfig(images, { tile38Image: images.tile38Broken }));
        const r = await up("broken release");
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}\n${r.stderr}`).toMatch(/container failed to be in healthy state/);
        const failedAt = Date.now();
        const broken = (await engine.mustDocker(["image", "inspect", "-f", "{{.Id}}", images.tile38Broken])).trim();
        const onBroken = [];
        for (const name of cluster.outputs.dockerContainers.tile38) if ((await imageOf(name)) === broken) onBroken.push(name);
        expect(onBroken).toHaveLength(1);
        expect(onBroken[0]).not.toBe(cluster.outputs.dockerContainers.tile38[leader]);
        // Writes go on after the failed change.
        await waitFor(() => writer!.acks.filter((a) => a.ackAt > failedAt).length >= 100, { timeoutMs: 30000, what: "writes after the failed pulumi up" });
        figures["broken release: nodes on the broken image"] = onBroken.length;
        // A good image again: the next pulumi up replaces the broken node and the cluster heals.
        stack.writeConfig(stackConfig(images, { tile38Image: images.tile38Next }));
        await mustUp("recovery from the broken release");
        await cluster.refresh();
        await stopWriterAndCheck("broken release and recovery");
    }, 10 * MINUTE);

    it("d. rolls a sentinel setting change: a quorum answers throughout, no failover, nothing lost", async () => {
        const leader = await cluster.waitHealthy(MINUTE);
        await startWriter();
        const sentinelsUp = () => Promise.all(cluster.topo.sentinels.map((s) => answers(s, cluster.passwords.sentinel)));
        const answering = new Sampler(sentinelsUp, 100);
        const leaders = new Sampler(() => cluster.sentinelLeaders(), 250);
        stack.writeConfig(stackConfig(images, { tile38Image: images.tile38Next, parallelSyncs: 2 }));
        await mustUp("sentinel setting change");
        const quorum = Math.min(...(await answering.stop()).map((s) => s.value.filter(Boolean).length));
        const named = new Set((await leaders.stop()).flatMap((s) => s.value.filter((l): l is string => !!l)));
        figures["sentinel change: fewest sentinels answering"] = quorum;
        await stopWriterAndCheck("sentinel change");
        expect(quorum).toBeGreaterThanOrEqual(2);
        expect([...named]).toEqual([cluster.endpoint(leader)]);
        const conf = await engine.mustDocker(["exec", cluster.outputs.dockerContainers.sentinels[0], "cat", "/data/sentinel.conf"]);
        expect(conf).toMatch(/parallel-syncs mymaster 2/);
    }, 10 * MINUTE);

    it("e. with nothing changed: no change from up and preview, no drift from refresh", async () => {
        const upAgain = await stack.run(["up", "--yes", "--expect-no-changes"], 5 * MINUTE);
        expect(upAgain.code).toBe(0);
        const preview = await stack.run(["preview", "--expect-no-changes"], 5 * MINUTE);
        expect(preview.code).toBe(0);
        const refresh = await stack.run(["refresh", "--yes", "--expect-no-changes"], 5 * MINUTE);
        if (refresh.code !== 0) throw new Error(`pulumi refresh found drift:\n${refresh.stdout.slice(-4000)}`);
    }, 12 * MINUTE);

    it("f. destroy stops gracefully; up brings every point back from the volumes, then from the backup", async () => {
        const leader = await cluster.waitHealthy(MINUTE);
        const points = await collectionOn(cluster.topo.nodes[leader], cluster.passwords.tile38, COLLECTION);
        expect(points.size).toBeGreaterThan(1000);
        // The containers' logs go with them: follow them while they stop.
        const logs = cluster.outputs.dockerContainers.tile38.map((name) => h.start({ name: `logs-${name}`, command: "docker", args: ["logs", "-f", "--since", "1s", name], env: dockerEnv() as Record<string, string> }));
        const destroy = await stack.run(["destroy", "--yes"], 5 * MINUTE);
        expect(destroy.code).toBe(0);
        deployed = false;
        await Promise.all(logs.map((l) => l.stop(5000)));
        const said = logs.map((l) => l.log());
        figures["destroy: pulumi destroy s"] = (destroy.durationMs / 1000).toFixed(1);
        said.forEach((text) => expect(text).toMatch(/stop requested[\s\S]*stopped/));
        expect(said.join("\n")).toMatch(/leadership moved to/);
        expect((await engine.mustDocker(["ps", "-aq", "--filter", "name=t38deploy"])).trim()).toBe("");

        await mustUp("up after destroy (volumes kept)");
        await attach();
        const back = await cluster.waitHealthy(2 * MINUTE);
        expect(describeDifference(await collectionOn(cluster.topo.nodes[back], cluster.passwords.tile38, COLLECTION), points)).toBe("extra 0, missing 0, changed 0");
        await expectEveryNodeHolds(points);

        // Total loss of the Tile38 volumes: the backup must hold everything first.
        const aofSize = async () => Number((await cluster.nodeStatus(back))?.aofSize ?? -1);
        await waitFor(async () => (await backupPointer())?.size === (await aofSize()), { timeoutMs: 2 * MINUTE, what: "a backup of the whole AOF", intervalMs: 2000 });
        expect((await stack.run(["destroy", "--yes"], 5 * MINUTE)).code).toBe(0);
        deployed = false;
        await engine.mustDocker(["volume", "rm", ...cluster.outputs.dockerContainers.tile38.map((n) => `${n}-data`)]);
        const restoreStart = Date.now();
        await mustUp("up after the Tile38 volumes were removed");
        await attach();
        const restored = await cluster.waitHealthy(3 * MINUTE);
        figures["restore: up start → healthy with every point s"] = ((Date.now() - restoreStart) / 1000).toFixed(1);
        expect(describeDifference(await collectionOn(cluster.topo.nodes[restored], cluster.passwords.tile38, COLLECTION), points)).toBe("extra 0, missing 0, changed 0");
        await expectEveryNodeHolds(points);
        if (fs.existsSync(stack.configFile)) expect(fs.readFileSync(stack.configFile, "utf8")).not.toMatch(/password/i);
    }, 20 * MINUTE);

    // After f: it sets the passwords in the stack config (f checks the config file names none).
    it("g. rotates both passwords by pulumi up: switched live first, then rolled (nodes before sentinels); writes go on, the client switches once refused, nothing lost, no password in plain text", async () => {
        const leader = await cluster.waitHealthy(2 * MINUTE);
        const old = { ...cluster.passwords };
        const next = { tile38: `t38.${crypto.randomBytes(12).toString("hex")}`, sentinel: `sen.${crypto.randomBytes(12).toString("hex")}` };
        await startWriter();
        writer!.expectRotation({ tile38Password: next.tile38, sentinelPassword: next.sentinel });
        // A sentinel answers with either password while the rotation runs.
        const sentinelsUp = () => Promise.all(cluster.topo.sentinels.map(async (x) => (await answers(x, next.sentinel)) || (await answers(x, old.sentinel))));
        const answering = new Sampler(sentinelsUp, 200);
        await stack.setSecret("tile38Password", next.tile38);
        await stack.setSecret("sentinelPassword", next.sentinel);
        const from = Date.now();
        const r = await mustUp("password rotation");
        const to = Date.now();
        const quorum = Math.min(...(await answering.stop()).map((x) => x.value.filter(Boolean).length));
        // Writes went on after the up, with the new passwords.
        const errorsSeen = () => `writer switched at ${writer!.switchedAt ?? "never"}, errors: ${writer!.recentErrors.join(" | ")}`;
        await waitFor(() => writer!.acks.filter((a) => a.ackAt > to).length >= 50, { timeoutMs: 30000, what: "writes after the rotation" }).catch((e: Error) => {
            throw new Error(`${e.message}; ${errorsSeen()}`);
        });
        process.stdout.write(`\npassword rotation: ${errorsSeen()}\n`);
        const pause = longestPause(writer!.acks, from, to);
        figures["password rotation: longest write pause ms"] = pause;
        figures["password rotation: the writer switched passwords s after up start"] = writer!.switchedAt ? ((writer!.switchedAt - from) / 1000).toFixed(1) : "never";
        figures["password rotation: write errors (refused, then reconnected)"] = writer!.errors;
        figures["password rotation: fewest sentinels answering"] = quorum;
        expect(writer!.switchedAt).toBeDefined();
        await attach();
        expect(cluster.passwords).toEqual(next);
        await stopWriterAndCheck("password rotation");
        expect(quorum).toBeGreaterThanOrEqual(2);

        // The switch ran first and succeeded; then every container was replaced, the Tile38 nodes
        // (the leader last) before the sentinels.
        const sw = "t38deploy-password-switch";
        const state = (await engine.mustDocker(["inspect", "-f", "{{.State.ExitCode}} {{.State.FinishedAt}}", sw])).trim().split(" ");
        expect(state[0]).toBe("0");
        const logged = await engine.docker(["logs", sw]);
        const switchLog = `${logged.stdout}${logged.stderr}`;
        process.stdout.write(`\npassword switch log:\n${switchLog}\n`);
        expect(switchLog).toMatch(/every process that answers is on the new passwords/);
        const createdAt = async (name: string) => Date.parse((await engine.mustDocker(["inspect", "-f", "{{.Created}}", name])).trim());
        const nodesCreated = await Promise.all(cluster.outputs.dockerContainers.tile38.map(createdAt));
        const sentinelsCreated = await Promise.all(cluster.outputs.dockerContainers.sentinels.map(createdAt));
        figures["password rotation: switch finished → last container created s"] = ((Math.max(...nodesCreated, ...sentinelsCreated) - Date.parse(state[1])) / 1000).toFixed(1);
        expect(Date.parse(state[1])).toBeLessThanOrEqual(Math.min(...nodesCreated, ...sentinelsCreated));
        [...nodesCreated, ...sentinelsCreated].forEach((t) => expect(t).toBeGreaterThanOrEqual(from - 1000));
        expect(nodesCreated[leader]).toBe(Math.max(...nodesCreated));
        expect(Math.min(...sentinelsCreated)).toBeGreaterThanOrEqual(Math.max(...nodesCreated));

        // The old passwords are refused everywhere, the new ones accepted.
        for (const n of cluster.topo.nodes) {
            expect(await answers(n, next.tile38)).toBe(true);
            expect(await answers(n, old.tile38)).toBe(false);
        }
        for (const x of cluster.topo.sentinels) {
            expect(await answers(x, next.sentinel)).toBe(true);
            expect(await answers(x, old.sentinel)).toBe(false);
        }
        // No password in plain text: not in pulumi's output, the switch's log, or the state (secrets encrypted).
        const exported = (await stack.must(["stack", "export"], 60000)).stdout;
        for (const pw of [next.tile38, next.sentinel, old.tile38, old.sentinel]) {
            expect(`${r.stdout}${r.stderr}`).not.toContain(pw);
            expect(switchLog).not.toContain(pw);
            expect(exported).not.toContain(pw);
        }
        // Nothing left to change.
        expect((await stack.run(["preview", "--expect-no-changes"], 5 * MINUTE)).code).toBe(0);
    }, 15 * MINUTE);
});
