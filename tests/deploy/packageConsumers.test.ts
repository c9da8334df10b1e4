/**
 * Other teams' programs through their real front door: a real `pulumi up` of each example
 * consumer, built from the packed tarball (never the source tree), on a Docker engine this suite
 * starts, with local images:
 *   - TypeScript (`examples/docker-typescript`, the tarball installed with its own package.json);
 *   - Python (`examples/python`, after `pulumi package add <the unpacked tarball>`: the generated
 *     `pulumi_tile38_ha` SDK in its virtualenv);
 *   - YAML (`examples/yaml`, after `pulumi package add`).
 * Each: healthy, the kill drill (failover ≤ down-after + 1.5 s, nothing acknowledged lost, every
 * node the leader's points), `pulumi destroy`, volumes removed before the next one.
 * Skipped, with the reason, without root, dockerd, the pulumi toolchain (the Python and YAML
 * consumers also need pulumi-language-python/-yaml), tile38-server or the package registries.
 * Ports: Tile38 24851-24853, sentinels 24001-24003, S3 24900 (127.0.0.1).
 */
import * as fs from "fs";
import { runDrill } from "../../testing/scenarios/drill";
import { ackedLostFigure } from "../../testing/scenarios/drillReport";
import { mustRun } from "../../testing/command";
import { addPackageToPython, addPackageToYaml, installConsumer, packTarball, unpackPluginDir } from "../../testing/packageConsumer";
import { describeUnless, tile38SkipReason } from "../../testing/fixtures/loopback/cluster";
import { Harness } from "../../testing/fixtures/loopback/processes";
import { DeployedCluster, DockerStackOutputs } from "../../testing/fixtures/docker/deployedCluster";
import { DockerEngine, dockerEngineSkipReason, whichSync } from "../../testing/fixtures/docker/dockerEngine";
import { buildLocalImages, LocalImages } from "../../testing/fixtures/docker/localImages";
import { pulumiSkipReason, PulumiStack } from "../../testing/fixtures/pulumiCli";

const MINUTE = 60_000;
const DOWN_AFTER_MS = 3000;
const figures: Record<string, string | number> = {};

const skip = dockerEngineSkipReason() ?? pulumiSkipReason() ?? tile38SkipReason();
const languageSkip = (lang: string) => (whichSync(`pulumi-language-${lang}`) ? undefined : `no pulumi-language-${lang} on PATH (../shared/tools/build-pulumi-languages.sh)`);

/** The consumers' own config: local images and this suite's ports (the examples' defaults otherwise). */
function consumerConfig(images: LocalImages): Record<string, unknown> {
    return {
        tile38Image: images.tile38,
        sentinelImage: images.redis,
        s3Image: images.versitygw,
        backupAgentImage: images.awsCli,
        sentinelExporterImage: images.redisExporter,
        tile38Port: 24851,
        sentinelPort: 24001,
        s3Port: 24900,
    };
}

/** An output object with its keys in camelCase (the Python SDK exports them in snake_case). */
function camelKeys(o: object): Record<string, unknown> {
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()), v]));
}

/** The example's outputs as the drill's probe takes them. */
function asDockerOutputs(o: Record<string, unknown>): DockerStackOutputs {
    const c = camelKeys(o.connection as object) as { masterName: string; sentinels: { host: string; port: number }[]; tile38Password: string; sentinelPassword: string };
    return {
        masterName: c.masterName,
        sentinelEndpoints: c.sentinels,
        tile38Endpoints: o.tile38Endpoints as { host: string; port: number }[],
        // YAML programs also export them on their own (a nested secret reads back as {} there).
        tile38Password: typeof o.tile38Password === "string" ? o.tile38Password : c.tile38Password,
        sentinelPassword: typeof o.sentinelPassword === "string" ? o.sentinelPassword : c.sentinelPassword,
        dockerContainers: { tile38: o.tile38Containers as string[], sentinels: o.sentinelContainers as string[] },
    };
}

describeUnless(skip, "a real pulumi up of other teams' programs, from the packed tarball, on a Docker engine", () => {
    let h: Harness;
    let engine: DockerEngine;
    let images: LocalImages;
    let tarball: string;
    let pluginDir: string;
    const live: PulumiStack[] = [];

    beforeAll(async () => {
        h = new Harness("tile38-ha-consumers");
        engine = await DockerEngine.start(h);
        images = await buildLocalImages(engine, 15 * MINUTE);
        tarball = await packTarball(h.dir("pack"));
        pluginDir = await unpackPluginDir(tarball, h.dir("plugin"));
    }, 25 * MINUTE);

    afterAll(async () => {
        for (const stack of live) {
            const r = await stack.run(["destroy", "--yes"], 5 * MINUTE);
            if (r.code !== 0) process.stderr.write(`cleanup: pulumi destroy failed: ${r.stderr}\n`);
            await stack.remove();
        }
        await engine?.stop();
        await h?.cleanup();
        const w = Math.max(0, ...Object.keys(figures).map((k) => k.length));
        process.stdout.write(`\npackage consumer figures (real pulumi up, real Docker engine):\n${Object.entries(figures).map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n")}\n`);
    }, 10 * MINUTE);

    const cliEnv = () => ({ ...process.env, ...engine.env(), PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" });

    /** up → healthy → kill drill → destroy → volumes removed, for one consumer's project. */
    async function deployAndDrill(what: string, projectDir: string, project: string): Promise<void> {
        const stack = new PulumiStack(projectDir, "dev", h.dir(`state-${what}`), { ...engine.env(), PULUMI_NODEJS_TRANSPILE_ONLY: "true" }, project);
        await stack.init(consumerConfig(images));
        live.push(stack);
        try {
            const up = await stack.up();
            if (up.code !== 0) throw new Error(`${what}: pulumi up failed:\n${up.stdout.slice(-5000)}\n${up.stderr.slice(-3000)}`);
            figures[`${what}: pulumi up s`] = (up.durationMs / 1000).toFixed(1);
            const outputs = await stack.outputs();
            expect(Object.keys(camelKeys(outputs.connection as object)).sort()).toEqual(["lettuceUri", "masterName", "sentinelAddresses", "sentinelPassword", "sentinels", "tile38Password"]);
            const cluster = await DeployedCluster.attach(asDockerOutputs(outputs), { ...process.env, ...engine.env() });
            await cluster.waitHealthy(2 * MINUTE);
            const r = await runDrill(cluster, 1, true);
            figures[`${what}: kill → first acknowledged write ms (down-after + 1.5 s = ${DOWN_AFTER_MS + 1500})`] = r.unplanned.failover_ms.max;
            figures[`${what}: writes acknowledged / lost`] = ackedLostFigure(r);
            expect(r.unplanned.failed_runs).toBe(0);
            expect(r.unplanned.writes_lost).toBe(0);
            expect(r.planned.writes_lost).toBe(0);
            expect(r.nodes_differing_from_leader).toBe(0);
        } finally {
            const down = await stack.run(["destroy", "--yes"], 5 * MINUTE);
            if (down.code === 0) {
                live.splice(live.indexOf(stack), 1);
                await stack.remove();
            }
            // Volumes outlive destroy by design (the data survives); the next consumer starts clean.
            const volumes = (await engine.mustDocker(["volume", "ls", "-q"])).split("\n").filter(Boolean);
            if (volumes.length > 0) await engine.docker(["volume", "rm", ...volumes]);
            expect(down.code).toBe(0);
        }
    }

    it("TypeScript: the tarball in the team's own package.json; up, kill drill, destroy", async () => {
        const dir = await installConsumer("docker-typescript", h.dir("ts"), tarball);
        await deployAndDrill("typescript", dir, "geo-docker");
    }, 20 * MINUTE);

    (languageSkip("python") ? it.skip : it)(`Python: pulumi package add generates the SDK; up, kill drill, destroy${languageSkip("python") ? ` (skipped: ${languageSkip("python")})` : ""}`, async () => {
        const dir = await addPackageToPython(pluginDir, h.dir("py"), cliEnv());
        expect(fs.readFileSync(`${dir}/Pulumi.yaml`, "utf8")).toContain(`tile38-ha: ${pluginDir}`);
        await mustRun(`${dir}/venv/bin/python`, ["-c", "import pulumi_tile38_ha as t; t.DockerTile38Cluster; t.PartialTile38SettingsArgs(port=1)"], { timeoutMs: 60000 });
        await deployAndDrill("python", dir, "geo-python");
    }, 20 * MINUTE);

    (languageSkip("yaml") ? it.skip : it)(`YAML: pulumi package add; up, kill drill, destroy${languageSkip("yaml") ? ` (skipped: ${languageSkip("yaml")})` : ""}`, async () => {
        const dir = await addPackageToYaml(pluginDir, h.dir("yaml"), cliEnv());
        await deployAndDrill("yaml", dir, "geo-yaml");
    }, 20 * MINUTE);
});
