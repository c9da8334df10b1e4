/**
 * The package as a platform team installs it: `npm pack` of this repository, installed into a
 * copy of each TypeScript example with its own package.json and `@pulumi/*` versions. Checks
 * what ships (built JavaScript, declarations, the shell scripts; no tests), what `require`
 * exposes (the API only), that the consumer type-checks (and that a wrong argument type does
 * not), and each example's resources and outputs under the consumer's own Pulumi mocks.
 * Needs the npm registry (as `npm ci` does).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mustRun, runCommand } from "../../testing/command";
import { installConsumer, MockedRun, packTarball, runConsumerUnderMocks, tarballFiles, typeCheckConsumer } from "../../testing/packageConsumer";

jest.setTimeout(15 * 60_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tile38-ha-consumers-"));
let tarball: string;
let dockerDir: string;
let kubeDir: string;

beforeAll(async () => {
    tarball = await packTarball(work);
    dockerDir = await installConsumer("docker-typescript", work, tarball);
    kubeDir = await installConsumer("kubernetes-typescript", work, tarball);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const node = (dir: string, code: string) => runCommand("node", ["-e", code], { cwd: dir, timeoutMs: 60000 });

describe("the packed tarball", () => {
    it("ships built JavaScript, declarations, the shell scripts, PulumiPlugin.yaml, LICENSE and CHANGELOG, and nothing of the tests", async () => {
        const files = await tarballFiles(tarball);
        for (const f of [
            "dist/components/index.js",
            "dist/components/index.d.ts",
            "dist/components/docker/cluster.js",
            "dist/components/kubernetes/cluster.d.ts",
            "dist/components/render/scripts/tile38-node-life.sh",
            "dist/components/render/scripts/sentinel-start.sh",
            "dist/components/status/cli.js",
            "PulumiPlugin.yaml",
            "LICENSE",
            "CHANGELOG.md",
            "README.md",
            "package.json",
        ]) {
            expect(files).toContain(f);
        }
        // The one TypeScript source is the API's entry, for Pulumi's schema inference (tsconfig.json).
        expect(files.filter((f) => /^(tests|testing|scripts|examples|node_modules)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts")))).toEqual(["dist/components/index.ts"]);
        expect(files).toContain("tsconfig.json");
        const pkg = JSON.parse((await mustRun("tar", ["-xzOf", tarball, "package/package.json"], { timeoutMs: 30000 })).stdout);
        expect(pkg.dependencies ?? {}).toEqual({});
        for (const [name, range] of Object.entries(pkg.peerDependencies as Record<string, string>)) {
            expect(name).toMatch(/^@pulumi\//);
            expect(range).toMatch(/^\^\d+\.\d+\.\d+$/);
        }
        expect(pkg.peerDependenciesMeta).toEqual({ "@pulumi/aws": { optional: true } });
    });

    it("require() gives the components and their enums only; internals are not importable", async () => {
        const r = await node(dockerDir, 'console.log(JSON.stringify(Object.keys(require("tile38-ha")).sort()))');
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual(["BackupStore", "ConfigValidationError", "DASHBOARD_FILE", "DEFAULT_IMAGES", "DockerHostOs", "DockerTile38Cluster", "KubernetesTile38Cluster", "RestartPolicy", "TILE38_HA_RULE_GROUPS", "Target", "backupRecordsFromMetrics", "clusterStatus", "dashboardQueries", "formatStatus"]);
        const deep = await node(dockerDir, 'require("tile38-ha/dist/components/render/topology")');
        expect(deep.code).not.toBe(0);
        expect(deep.stderr).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED");
    });

    it("installs the tile38-ha-status command", async () => {
        const bin = path.join(dockerDir, "node_modules/.bin/tile38-ha-status");
        expect(fs.existsSync(bin)).toBe(true);
        const r = await runCommand(bin, ["--help"], { cwd: dockerDir, timeoutMs: 60000 });
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("usage: TILE38_PASSWORD=… SENTINEL_PASSWORD=… tile38-ha-status --sentinels");
    });

    it("uses the consumer's own @pulumi packages (peer dependencies), no second copy", () => {
        expect(fs.existsSync(path.join(dockerDir, "node_modules/tile38-ha/node_modules"))).toBe(false);
        expect(fs.existsSync(path.join(kubeDir, "node_modules/@pulumi/kubernetes"))).toBe(true);
    });
});

describe("a release tag", () => {
    it("npm install git+…#v<version> of a tag scripts/release.sh made gives the built package, no build step", async () => {
        const clone = path.join(work, "release-clone");
        await mustRun("git", ["clone", "-q", path.join(__dirname, "../.."), clone], { timeoutMs: 120000 });
        fs.symlinkSync(path.join(__dirname, "../../node_modules"), path.join(clone, "node_modules"));
        const identity = { GIT_AUTHOR_NAME: "release test", GIT_AUTHOR_EMAIL: "release@test.invalid", GIT_COMMITTER_NAME: "release test", GIT_COMMITTER_EMAIL: "release@test.invalid" };
        const version = (JSON.parse(fs.readFileSync(path.join(clone, "package.json"), "utf8")) as { version: string }).version;
        // The clone has the repository's own release tag, if it was made: this test makes its own.
        await runCommand("git", ["tag", "-d", `v${version}`], { cwd: clone, timeoutMs: 30000 });
        await mustRun("bash", ["scripts/release.sh"], { cwd: clone, env: { ...process.env, ...identity }, timeoutMs: 300000 });
        const consumer = path.join(work, "git-consumer");
        fs.mkdirSync(consumer);
        fs.writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "git-consumer", private: true }));
        await mustRun("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", `git+file://${clone}#v${version}`], { cwd: consumer, timeoutMs: 600000 });
        const r = await node(consumer, 'const t = require("tile38-ha"); console.log(typeof t.DockerTile38Cluster, typeof t.KubernetesTile38Cluster)');
        expect(r.stdout.trim()).toBe("function function");
        expect(fs.existsSync(path.join(consumer, "node_modules/tile38-ha/dist/components/render/scripts/tile38-node-life.sh"))).toBe(true);
    });
});

describe("the TypeScript examples, from the tarball", () => {
    it("type-check against the package's declarations; a wrong argument type does not", async () => {
        await typeCheckConsumer(dockerDir);
        await typeCheckConsumer(kubeDir);
        const bad = path.join(dockerDir, "bad.ts");
        fs.writeFileSync(bad, 'import { DockerTile38Cluster } from "tile38-ha";\nnew DockerTile38Cluster("x", { replicas: "5", tile38: { prot: 1 } });\n');
        const r = await runCommand(path.join(dockerDir, "node_modules/.bin/tsc"), ["--noEmit", "--strict", "--esModuleInterop", "--skipLibCheck", bad], { cwd: dockerDir, timeoutMs: 120000 });
        fs.rmSync(bad);
        expect(r.code).not.toBe(0);
        expect(r.stdout).toMatch(/replicas[\s\S]*Type 'string' is not assignable to type 'number'|Type 'string' is not assignable to type 'number'/);
    });

    describe("docker-typescript under the consumer's mocks, with no stack config", () => {
        let run: MockedRun;
        beforeAll(async () => {
            run = await runConsumerUnderMocks(dockerDir, "geo-docker");
        });
        it("creates three nodes, three sentinels and the backups, named after the component", () => {
            const containers = run.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => r.name).sort();
            expect(containers).toEqual([
                "geo-password-switch",
                "geo-s3",
                "geo-sentinel-1",
                "geo-sentinel-1-exporter",
                "geo-sentinel-2",
                "geo-sentinel-2-exporter",
                "geo-sentinel-3",
                "geo-sentinel-3-exporter",
                "geo-tile38-1",
                "geo-tile38-1-backup",
                "geo-tile38-2",
                "geo-tile38-2-backup",
                "geo-tile38-3",
                "geo-tile38-3-backup",
            ]);
            expect(run.resources.filter((r) => r.type === "tile38-ha:index:DockerTile38Cluster").map((r) => r.name)).toEqual(["geo"]);
            expect(run.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => r.name).sort()).toEqual(
                expect.arrayContaining(["geo-sentinel", "geo-tile38"]),
            );
        });
        it("exports the connection: sentinels, master name, URIs, passwords as secrets", () => {
            const c = run.outputs.connection as Record<string, unknown>;
            expect(c.masterName).toBe("mymaster");
            expect(c.sentinelAddresses).toEqual(["127.0.0.1:5000", "127.0.0.1:5001", "127.0.0.1:5002"]);
            expect(c.sentinels).toEqual([5000, 5001, 5002].map((port) => ({ host: "127.0.0.1", port })));
            expect(c.lettuceUri).toBe("redis-sentinel://127.0.0.1:5000,127.0.0.1:5001,127.0.0.1:5002#mymaster");
            expect(run.secretOutputs.sort()).toEqual(["connection.sentinelPassword", "connection.tile38Password"]);
            expect(run.outputs.tile38Containers).toEqual(["geo-tile38-1", "geo-tile38-2", "geo-tile38-3"]);
        });
    });

    describe("kubernetes-typescript under the consumer's mocks, with no stack config", () => {
        let run: MockedRun;
        beforeAll(async () => {
            run = await runConsumerUnderMocks(kubeDir, "geo-kubernetes");
        });
        it("puts every object into the team's namespace through the team's provider, named after the component", () => {
            const objects = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== "pulumi:providers:kubernetes");
            const inCluster = objects.filter((r) => r.type !== "kubernetes:core/v1:Namespace");
            expect(inCluster.length).toBeGreaterThan(10);
            for (const r of inCluster) {
                const meta = r.inputs.metadata as { name: string; namespace: string; labels: Record<string, string> };
                expect(meta.namespace).toBe("geo");
                expect(meta.name).toMatch(/^geo-/);
                expect(meta.labels.team).toBe("geo");
                expect(r.provider).toMatch(/pulumi:providers:kubernetes::platform::/);
            }
            expect(objects.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => r.name)).toEqual(["geo"]);
            const sts = inCluster.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && (r.inputs.metadata as { name: string }).name === "geo-tile38")!;
            const pod = (sts.inputs.spec as { template: { spec: Record<string, unknown> } }).template.spec;
            expect(pod.tolerations).toEqual([{ key: "dedicated", operator: "Equal", value: "geo", effect: "NoSchedule" }]);
        });
        it("exports the same connection shape as Docker, by stable DNS names", () => {
            const c = run.outputs.connection as Record<string, unknown>;
            expect(c.sentinelAddresses).toEqual([0, 1, 2].map((i) => `geo-sentinel-${i}.geo-sentinel-headless.geo.svc.cluster.local:5000`));
            expect(Object.keys(c).sort()).toEqual(["lettuceUri", "masterName", "sentinelAddresses", "sentinelPassword", "sentinels", "tile38Password"]);
            expect(run.secretOutputs.sort()).toEqual(["connection.sentinelPassword", "connection.tile38Password"]);
            expect(run.outputs.sentinelServiceHost).toBe("geo-sentinel.geo.svc.cluster.local");
        });
    });
});
