/**
 * The whole program under Pulumi mocks with the dev stack's values: resources, host
 * networking, ports, commands, distinct sentinel configs, secrets and outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { installMocks, isWireSecret, RecordedResource, settle } from "../../../testing/pulumiMocks";
import { readStackFile } from "../../../testing/stackFile";
import { stackOutputs } from "../../../components/stack";

const TILE38_SECRET = "stack-given-tile38-password";

type Inputs = Record<string, any>;
let recorded: RecordedResource[];
let program: Record<string, any>;

beforeAll(async () => {
    const { values } = readStackFile(path.join(__dirname, "../../../Pulumi.dev.yaml"));
    recorded = installMocks("dev", { ...values, tile38Password: TILE38_SECRET }, ["tile38Password"]);
    jest.isolateModules(() => {
        program = require("../../../index");
    });
    await settle(recorded);
});

const allContainers = () => recorded.filter((r) => r.type === "docker:index/container:Container");
const role = (c: RecordedResource) => (c.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "tile38-ha.role")!.value;
/** The Tile38 and sentinel containers (backup containers are checked below). */
const containers = () => allContainers().filter((c) => role(c) === "tile38" || role(c) === "sentinel");
const byName = (name: string) => recorded.find((r) => r.name === name)!;
const unwrap = (v: unknown) => (isWireSecret(v) ? v.value : v);
const env = (c: RecordedResource) => Object.fromEntries((unwrap(c.inputs.envs) as string[]).map((e) => e.split(/=(.*)/s).slice(0, 2)));
const entryEnv = (c: RecordedResource) =>
    Object.fromEntries((c.inputs.entrypoints as string[]).filter((e) => e.includes("=")).map((e) => e.split(/=(.*)/s).slice(0, 2)));
function output<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

describe("dev stack under mocks", () => {
    it("creates three Tile38 and three sentinel containers, each with its own volume", () => {
        const names = containers().map((c) => c.name).sort();
        expect(names).toEqual([
            "tile38-ha-dev-sentinel-1", "tile38-ha-dev-sentinel-2", "tile38-ha-dev-sentinel-3",
            "tile38-ha-dev-tile38-1", "tile38-ha-dev-tile38-2", "tile38-ha-dev-tile38-3",
        ]);
        const volumes = recorded.filter((r) => r.type === "docker:index/volume:Volume").map((v) => v.inputs.name);
        // Six data volumes plus the local S3 server's.
        expect(new Set(volumes).size).toBe(7);
        for (const c of containers()) {
            const mounts = c.inputs.volumes as Inputs[];
            expect(mounts).toEqual([{ volumeName: `${c.name}-data`, containerPath: "/data" }]);
        }
    });

    it("runs every container with host networking and a restart policy", () => {
        for (const c of allContainers()) {
            expect(c.inputs.networkMode).toBe("host");
            // The password switch is a job: it runs once per password change and stays exited.
            expect(c.inputs.restart).toBe(role(c) === "password-switch" ? "no" : "unless-stopped");
        }
    });

    it("pulls pinned images", () => {
        const images = recorded.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => r.inputs.name).sort();
        expect(images).toEqual(["amazon/aws-cli:2.9.19", "oliver006/redis_exporter:v1.74.0", "redis:7.2.12-alpine", "tile38/tile38:1.37.0", "versity/versitygw:v1.8.0"]);
        expect(byName("tile38-ha-dev-tile38-1").inputs.image).toBe("sha256:fake-image-id-of-tile38/tile38:1.37.0");
    });

    it("starts Tile38 nodes on 9851-9853 through the start script, with a HEALTHZ check and metrics on 4321-4323", () => {
        [1, 2, 3].forEach((n) => {
            const c = byName(`tile38-ha-dev-tile38-${n}`);
            expect(entryEnv(c)).toEqual({ NODE_HOST: "127.0.0.1", NODE_PORT: String(9850 + n), NODE_BIND: "127.0.0.1", DATA_DIR: "/data", METRICS_PORT: String(4320 + n) });
            expect((c.inputs.entrypoints as string[]).slice(-2)).toEqual(["/bin/sh", "/etc/tile38-ha/tile38-start.sh"]);
            expect((c.inputs.healthcheck as Inputs).tests).toEqual(["CMD-SHELL", `wget -q -O /dev/null http://127.0.0.1:${9850 + n}/healthz && test -f /data/.tile38-ha-ready || exit 1`]);
            const [upload] = c.inputs.uploads as Inputs[];
            expect(upload.file).toBe("/etc/tile38-ha/tile38-start.sh");
            expect(upload.content).toContain("SENTINEL get-master-addr-by-name");
        });
    });

    it("serves metrics by default, each bound like its service: Tile38 on 4321-4323, the sentinels' exporters on 9121-9123, the backup agents on 9141-9143, with the agents' health check", async () => {
        [1, 2, 3].forEach((n) => {
            const exporter = byName(`tile38-ha-dev-sentinel-${n}-exporter`);
            expect(exporter.inputs.command).toEqual([`--redis.addr=redis://127.0.0.1:${4999 + n}`, `--web.listen-address=127.0.0.1:${9120 + n}`]);
            expect(exporter.inputs.image).toBe("sha256:fake-image-id-of-oliver006/redis_exporter:v1.74.0");
            const agent = byName(`tile38-ha-dev-tile38-${n}-backup`);
            expect((agent.inputs.healthcheck as Inputs).tests).toEqual(["CMD", "bash", "/usr/local/bin/tile38-ha-backup-agent", "health"]);
        });
        expect(await output(program.metricsTargets)).toEqual({
            tile38: ["127.0.0.1:4321", "127.0.0.1:4322", "127.0.0.1:4323"],
            sentinel: ["127.0.0.1:9121", "127.0.0.1:9122", "127.0.0.1:9123"],
            backup: ["127.0.0.1:9141", "127.0.0.1:9142", "127.0.0.1:9143"],
        });
    });

    it("starts sentinels on 5000-5002, each from its own template, with a check that it knows its peers", () => {
        const templates = [1, 2, 3].map((n) => {
            const c = byName(`tile38-ha-dev-sentinel-${n}`);
            expect(entryEnv(c).SELF).toBe(`127.0.0.1:${4999 + n}`);
            expect((c.inputs.healthcheck as Inputs).tests).toEqual(["CMD-SHELL", `SELF=127.0.0.1:${4999 + n} /bin/sh /etc/tile38-ha/sentinel-health.sh`]);
            const health = (c.inputs.uploads as Inputs[]).find((u) => u.file === "/etc/tile38-ha/sentinel-health.sh")!;
            expect(health.executable).toBe(true);
            expect(health.content).toContain("SENTINELS='127.0.0.1:5000 127.0.0.1:5001 127.0.0.1:5002'");
            expect(health.content).toContain("num-other-sentinels");
            const template = (c.inputs.uploads as Inputs[]).find((u) => u.file.endsWith("sentinel.conf.template"))!.content as string;
            expect(template).toContain(`port ${4999 + n}\n`);
            expect(template).toContain("sentinel monitor mymaster 127.0.0.1 9851 2\n");
            expect(template).toContain("sentinel down-after-milliseconds mymaster 3000\n");
            expect(template).toContain("sentinel failover-timeout mymaster 18000\n");
            expect(template).toContain("sentinel parallel-syncs mymaster 1\n");
            return template;
        });
        expect(new Set(templates).size).toBe(3);
    });

    it("rolls: every container waits to be healthy within the rollout timeout and stops with a grace", () => {
        for (const c of containers()) {
            expect(c.inputs.wait).toBe(true);
            expect(c.inputs.waitTimeout).toBe(120);
            expect(c.inputs.destroyGraceSeconds).toBe(c.inputs.stopTimeout);
        }
        // Tile38: failover timeout 18 s + follower sync 10 s + 10 s for the server to stop.
        expect(byName("tile38-ha-dev-tile38-1").inputs.destroyGraceSeconds).toBe(38);
        expect(byName("tile38-ha-dev-sentinel-1").inputs.destroyGraceSeconds).toBe(10);
    });

    it("leaves out the outputs that have no value (backups off) instead of exporting them empty", () => {
        const built = { target: "docker" as const, masterName: "m", sentinelEndpoints: [], sentinelUri: "u", tile38Endpoints: [] };
        const secrets = { tile38Password: pulumi.output("a"), sentinelPassword: pulumi.output("b") };
        const outputs = stackOutputs({ ...built, ...secrets, backupBucket: undefined, backupEndpoint: undefined });
        expect(Object.keys(outputs).sort()).toEqual(["masterName", "sentinelEndpoints", "sentinelPassword", "sentinelUri", "target", "tile38Endpoints", "tile38Password"]);
        expect(Object.keys(program)).toEqual(expect.arrayContaining(["backupBucket", "backupEndpoint", "backupAccessKeyId", "backupSecretAccessKey"]));
    });

    it("runs the live password switch before every sentinel and node, with every volume read-only and the new passwords as secrets", async () => {
        const sw = allContainers().find((c) => c.name === "tile38-ha-dev-password-switch")!;
        expect(sw.inputs).toMatchObject({ attach: true, logs: true, mustRun: false, networkMode: "host" });
        expect((sw.inputs.volumes as Inputs[]).map((v) => [v.volumeName, v.containerPath, v.readOnly])).toEqual([
            ...[1, 2, 3].map((i) => [`tile38-ha-dev-tile38-${i}-data`, `/volumes/tile38-ha-dev-tile38-${i}-data`, true]),
            ...[1, 2, 3].map((i) => [`tile38-ha-dev-sentinel-${i}-data`, `/volumes/tile38-ha-dev-sentinel-${i}-data`, true]),
        ]);
        expect(env(sw)).toEqual({ TILE38_PASSWORD: TILE38_SECRET, SENTINEL_PASSWORD: "generated-password-of-tile38-ha-dev-sentinel" });
        const script = (sw.inputs.uploads as Inputs[])[0].content as string;
        expect(script).toContain("TILE38_NODES='127.0.0.1:9851 127.0.0.1:9852 127.0.0.1:9853'");
        expect(script).toContain("NODE_DIRS='/volumes/tile38-ha-dev-tile38-1-data /volumes/tile38-ha-dev-tile38-2-data /volumes/tile38-ha-dev-tile38-3-data'");
        expect(script).not.toContain(TILE38_SECRET);
    });

    it("passes passwords only as secrets", () => {
        for (const c of containers()) {
            expect(isWireSecret(c.inputs.envs)).toBe(true);
            expect(env(c).TILE38_PASSWORD).toBe(TILE38_SECRET);
            expect(env(c).SENTINEL_PASSWORD).toBe("generated-password-of-tile38-ha-dev-sentinel");
        }
        for (const c of allContainers()) expect(isWireSecret(c.inputs.envs)).toBe(true);
        // Outside the secret wrappers no input holds a password.
        const plain = JSON.stringify(recorded.map((r) => r.inputs), (_k, v) => (isWireSecret(v) ? "[secret]" : v));
        expect(plain).not.toContain(TILE38_SECRET);
        expect(plain).not.toContain("generated-password-of");
    });

    it("backs every node up to the local S3 server with generated keys, and restores through the agent", () => {
        const s3 = allContainers().find((c) => c.name === "tile38-ha-dev-s3")!;
        expect(s3.inputs.command).toEqual(["--port", "127.0.0.1:9000", "posix", "/data"]);
        const rootId = env(s3).ROOT_ACCESS_KEY;
        expect(rootId).toBe("generated-password-of-tile38-ha-dev-backups-s3-access-key");
        [1, 2, 3].forEach((n) => {
            const agent = byName(`tile38-ha-dev-tile38-${n}-backup`);
            const e = env(agent);
            expect(e).toMatchObject({
                NODE_NAME: `tile38-ha-dev-tile38-${n}`,
                TILE38_HOST: "127.0.0.1",
                TILE38_PORT: String(9850 + n),
                BACKUP_BUCKET: "tile38-ha-dev-backups",
                BACKUP_PREFIX: "tile38/dev/",
                BACKUP_ENDPOINT: "http://127.0.0.1:9000",
                BACKUP_CREATE_BUCKET: "1",
                TILE38_PASSWORD: TILE38_SECRET,
                AWS_ACCESS_KEY_ID: rootId,
                AWS_SECRET_ACCESS_KEY: env(s3).ROOT_SECRET_KEY,
            });
            // The agent shares the node's data volume: it reads the AOF and places restores there.
            expect(agent.inputs.volumes).toEqual([{ volumeName: `tile38-ha-dev-tile38-${n}-data`, containerPath: "/data" }]);
            // The node asks its agent for the newest backup before it may lead an empty cluster.
            const node = env(byName(`tile38-ha-dev-tile38-${n}`));
            expect(node.TILE38_RESTORE_CMD).toContain("waiting up to $_t s");
            expect(node.TILE38_RESTORE_CMD).toContain("RESTORE_TIMEOUT='600'");
        });
    });

    it("generates the sentinel password but not the one the stack gives", () => {
        const generated = recorded.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => r.name);
        expect(generated.sort()).toEqual(["tile38-ha-dev-backups-s3-access-key", "tile38-ha-dev-backups-s3-secret-key", "tile38-ha-dev-sentinel"]);
    });

    it("exports endpoints, the master name, the Lettuce URI and secret passwords", async () => {
        expect(program.masterName).toBe("mymaster");
        expect(await output(program.sentinelUri)).toBe("redis-sentinel://127.0.0.1:5000,127.0.0.1:5001,127.0.0.1:5002#mymaster");
        expect(await output(program.sentinelEndpoints)).toEqual([5000, 5001, 5002].map((port) => ({ host: "127.0.0.1", port })));
        expect(await output(program.tile38Endpoints)).toEqual([9851, 9852, 9853].map((port) => ({ host: "127.0.0.1", port })));
        expect(await output(program.dockerContainers)).toEqual({ tile38: [1, 2, 3].map((n) => `tile38-ha-dev-tile38-${n}`), sentinels: [1, 2, 3].map((n) => `tile38-ha-dev-sentinel-${n}`) });
        expect(await pulumi.isSecret(program.tile38Password)).toBe(true);
        expect(await pulumi.isSecret(program.sentinelPassword)).toBe(true);
        expect(await output(program.tile38Password)).toBe(TILE38_SECRET);
        expect(await output(program.backupBucket)).toBe("tile38-ha-dev-backups");
        expect(await output(program.backupEndpoint)).toBe("http://127.0.0.1:9000");
        expect(await pulumi.isSecret(program.backupSecretAccessKey)).toBe(true);
        expect(await output(program.backupAccessKeyId)).toBe("generated-password-of-tile38-ha-dev-backups-s3-access-key");
    });
});
