/** Docker LocalS3Server / DockerBackupAgents under Pulumi mocks, and the Kubernetes sidecar spec. */
import * as pulumi from "@pulumi/pulumi";
import { installMocks, isWireSecret, RecordedResource, settle } from "../../../testing/pulumiMocks";

const recorded: RecordedResource[] = installMocks("backup-wiring-test", {});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LocalS3Server, localS3Endpoint } = require("../../../components/docker/localS3") as typeof import("../../../components/docker/localS3");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DockerBackupAgents } = require("../../../components/docker/backupAgents") as typeof import("../../../components/docker/backupAgents");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sidecar = require("../../../components/kubernetes/backupSidecar") as typeof import("../../../components/kubernetes/backupSidecar");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultConfig } = require("../../../config/defaults") as typeof import("../../../config/defaults");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const render = require("../../../components/render/backupScripts") as typeof import("../../../components/render/backupScripts");

type Any = any;
const ACCESS = "local-root-access-1234";
const SECRET = "local-root-secret-abcdefgh";
const PASSWORD = "tile38-password-xyz";

/** The plain values of a recorded `envs` list (each entry may be a wire secret). */
function envs(inputs: Any): string[] {
    const raw = isWireSecret(inputs.envs) ? (inputs.envs.value as unknown[]) : (inputs.envs as unknown[]);
    return raw.map((e) => (isWireSecret(e) ? String(e.value) : String(e)));
}

describe("LocalS3Server", () => {
    let rs: RecordedResource[];
    beforeAll(async () => {
        const before = recorded.length;
        new LocalS3Server("s3", {
            image: "versity/versitygw:v1.8.0",
            port: 9000,
            bindAddress: "127.0.0.1",
            namePrefix: "tile38-ha-dev",
            accessKeyId: pulumi.secret(ACCESS),
            secretAccessKey: pulumi.secret(SECRET),
            restartPolicy: "unless-stopped",
        });
        await settle(recorded);
        rs = recorded.slice(before);
    });
    test("pinned image, host networking, port on the bind address, persistent volume", () => {
        const c = rs.find((r) => r.type === "docker:index/container:Container")!.inputs as Any;
        expect((rs.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!.inputs as Any).name).toBe("versity/versitygw:v1.8.0");
        expect(c.networkMode).toBe("host");
        expect(c.name).toBe("tile38-ha-dev-s3");
        expect(c.command).toEqual(["--port", "127.0.0.1:9000", "posix", "/data"]);
        expect(c.volumes).toEqual([{ volumeName: "tile38-ha-dev-s3-data", containerPath: "/data" }]);
        expect((rs.find((r) => r.type === "docker:index/volume:Volume")!.inputs as Any).name).toBe("tile38-ha-dev-s3-data");
    });
    test("root credentials travel only as a secret", () => {
        const c = rs.find((r) => r.type === "docker:index/container:Container")!.inputs as Any;
        expect(isWireSecret(c.envs)).toBe(true);
        expect(envs(c)).toEqual([`ROOT_ACCESS_KEY=${ACCESS}`, `ROOT_SECRET_KEY=${SECRET}`]);
        const plain = JSON.stringify(rs.map((r) => ({ ...r.inputs, envs: undefined })));
        expect(plain).not.toContain(SECRET);
    });
    test("endpoint for agents on the same host", () => {
        expect(localS3Endpoint("0.0.0.0", 9000)).toBe("http://127.0.0.1:9000");
        expect(localS3Endpoint("10.0.0.5", 9100)).toBe("http://10.0.0.5:9100");
    });
});

describe("DockerBackupAgents", () => {
    let rs: RecordedResource[];
    beforeAll(async () => {
        const before = recorded.length;
        new DockerBackupAgents("agents", {
            image: "amazon/aws-cli:2.9.19",
            nodes: [1, 2, 3].map((i) => ({ name: `tile38-ha-dev-tile38-${i}`, port: 9850 + i, dataVolume: `tile38-ha-dev-tile38-${i}-data` })),
            tile38Host: "127.0.0.1",
            tile38Password: pulumi.secret(PASSWORD),
            bucket: "tile38-ha-dev-backups",
            keyPrefix: "tile38/dev/",
            endpoint: "http://127.0.0.1:9000",
            createBucket: true,
            accessKeyId: pulumi.secret(ACCESS),
            secretAccessKey: pulumi.secret(SECRET),
            intervalSeconds: 300,
            refreshSeconds: render.refreshSecondsFor(30),
            restartPolicy: "unless-stopped",
        });
        await settle(recorded);
        rs = recorded.slice(before);
    });
    const containers = () => rs.filter((r) => r.type === "docker:index/container:Container").map((r) => r.inputs as Any);

    test("one agent per node, sharing that node's data volume, host networking", () => {
        const cs = containers();
        expect(cs.map((c) => c.name)).toEqual([1, 2, 3].map((i) => `tile38-ha-dev-tile38-${i}-backup`));
        cs.forEach((c, i) => {
            expect(c.networkMode).toBe("host");
            expect(c.volumes).toEqual([{ volumeName: `tile38-ha-dev-tile38-${i + 1}-data`, containerPath: "/data" }]);
            expect(c.entrypoints).toEqual(["bash", render.BACKUP_AGENT_SCRIPT_PATH]);
            expect(c.command).toEqual(["run"]);
            expect(c.uploads[0].content).toBe(render.renderBackupAgentScript({ intervalSeconds: 300, refreshSeconds: render.refreshSecondsFor(30) }));
        });
        expect((rs.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!.inputs as Any).name).toBe("amazon/aws-cli:2.9.19");
    });
    test("environment: node identity, bucket, endpoint; secrets wrapped", () => {
        const c = containers()[1];
        expect(isWireSecret(c.envs)).toBe(true);
        const e = envs(c);
        expect(e).toEqual(
            expect.arrayContaining([
                "NODE_NAME=tile38-ha-dev-tile38-2",
                "TILE38_PORT=9852",
                "TILE38_HOST=127.0.0.1",
                "DATA_DIR=/data",
                "BACKUP_BUCKET=tile38-ha-dev-backups",
                "BACKUP_PREFIX=tile38/dev/",
                "BACKUP_ENDPOINT=http://127.0.0.1:9000",
                "BACKUP_CREATE_BUCKET=1",
                `TILE38_PASSWORD=${PASSWORD}`,
                `AWS_ACCESS_KEY_ID=${ACCESS}`,
                `AWS_SECRET_ACCESS_KEY=${SECRET}`,
            ]),
        );
    });
    test("without keys the CLI's default chain (instance role) is used", async () => {
        const before = recorded.length;
        new DockerBackupAgents("role", {
            image: "amazon/aws-cli:2.9.19",
            nodes: [{ name: "n1", port: 9851, dataVolume: "v1" }],
            tile38Host: "127.0.0.1",
            tile38Password: pulumi.secret(PASSWORD),
            bucket: "b-bucket",
            keyPrefix: "p/",
            region: "eu-west-1",
            createBucket: false,
            intervalSeconds: 60,
            refreshSeconds: 0,
            restartPolicy: "always",
        });
        await settle(recorded);
        const c = recorded.slice(before).find((r) => r.type === "docker:index/container:Container")!.inputs as Any;
        const e = envs(c);
        expect(e.some((x) => x.startsWith("AWS_ACCESS_KEY_ID") || x.startsWith("AWS_SECRET_ACCESS_KEY"))).toBe(false);
        expect(e).toContain("AWS_REGION=eu-west-1");
        expect(e.some((x) => x.startsWith("BACKUP_ENDPOINT"))).toBe(false);
    });
    test("half a key pair is an error", () => {
        expect(
            () =>
                new DockerBackupAgents("half", {
                    image: "amazon/aws-cli:2.9.19",
                    nodes: [],
                    tile38Host: "127.0.0.1",
                    tile38Password: "x",
                    bucket: "b",
                    keyPrefix: "p/",
                    createBucket: false,
                    accessKeyId: "a",
                    intervalSeconds: 60,
                    refreshSeconds: 0,
                    restartPolicy: "always",
                }),
        ).toThrow(/both/);
    });
});

describe("Kubernetes backup sidecar", () => {
    const cfg = defaultConfig("prod", "kubernetes", "linux");
    const c = sidecar.backupSidecarContainer({
        config: cfg,
        bucket: "tile38-ha-prod-backups-abc",
        dataVolumeName: "data",
        tile38PasswordSecret: { name: "tile38-ha-auth", key: "tile38-password" },
    }) as Any;
    const env = (name: string) => (c.env as Any[]).find((e) => e.name === name);

    test("pinned agent image, the node's data volume, the rendered script", () => {
        expect(c.name).toBe("backup-agent");
        expect(c.image).toBe("amazon/aws-cli:2.9.19");
        expect(c.volumeMounts).toEqual([{ name: "data", mountPath: "/data" }]);
        expect(env("BACKUP_AGENT_SCRIPT").value).toBe(render.renderBackupAgentScript({ intervalSeconds: 300, refreshSeconds: render.refreshSecondsFor(30) }));
        expect(c.command.slice(0, 2)).toEqual(["bash", "-c"]);
        expect(c.command[c.command.length - 1]).toBe("run");
    });
    test("identity from the pod name, Tile38 inside the pod, password from the Secret", () => {
        expect(env("POD_NAME").valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
        expect(env("NODE_NAME").value).toBe("$(POD_NAME)");
        expect(env("TILE38_HOST").value).toBe("127.0.0.1");
        expect(env("TILE38_PORT").value).toBe("9851");
        expect(env("BACKUP_BUCKET").value).toBe("$(BACKUP_BUCKET_NAME)");
        expect(env("BACKUP_BUCKET_NAME").value).toBe("tile38-ha-prod-backups-abc");
        expect(env("BACKUP_PREFIX").value).toBe("tile38/prod/");
        expect(env("TILE38_PASSWORD").valueFrom).toEqual({ secretKeyRef: { name: "tile38-ha-auth", key: "tile38-password" } });
        // Kubernetes expands $(VAR) only for variables defined earlier in the list.
        const names = (c.env as Any[]).map((e) => e.name);
        expect(names.indexOf("POD_NAME")).toBeLessThan(names.indexOf("NODE_NAME"));
        expect(names.indexOf("BACKUP_BUCKET_NAME")).toBeLessThan(names.indexOf("BACKUP_BUCKET"));
    });
    test("IRSA by default: no static keys", () => {
        expect(env("AWS_ACCESS_KEY_ID")).toBeUndefined();
        const withKeys = sidecar.backupSidecarContainer({
            config: cfg,
            bucket: "b-bucket",
            dataVolumeName: "data",
            tile38PasswordSecret: { name: "s", key: "k" },
            credentialsSecret: { name: "s3-keys", accessKeyIdKey: "id", secretAccessKeyKey: "secret" },
        }) as Any;
        expect((withKeys.env as Any[]).find((e) => e.name === "AWS_SECRET_ACCESS_KEY").valueFrom).toEqual({ secretKeyRef: { name: "s3-keys", key: "secret" } });
    });
    test("restore env for the Tile38 container", () => {
        expect(render.restoreCommandFor(cfg)).toBe(render.renderRestoreCommand({ timeoutSeconds: 600 }));
        expect(render.restoreCommandFor({ ...cfg, backup: { ...cfg.backup, enabled: false } })).toBeUndefined();
    });
});
