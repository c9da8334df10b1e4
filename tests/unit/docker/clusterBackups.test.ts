/**
 * DockerTile38Cluster's backups under Pulumi mocks, created through the typed arguments with `backup.store: aws`: the hardened bucket and the
 * writer policy instead of the local server; agents without bucket creation; keys from the stack
 * or the instance role; an S3-compatible endpoint without IAM.
 */
import * as pulumi from "@pulumi/pulumi";
import { installMocks, isWireSecret, RecordedResource, settle } from "../../../testing/pulumiMocks";

const recorded: RecordedResource[] = installMocks("prod", {});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DockerTile38Cluster } = require("../../../components/docker/cluster") as typeof import("../../../components/docker/cluster");

const envs = (r: RecordedResource): Record<string, string> => {
    const list = (isWireSecret(r.inputs.envs) ? r.inputs.envs.value : r.inputs.envs) as string[];
    return Object.fromEntries(list.map((e) => e.split(/=(.*)/s).slice(0, 2)));
};

async function build(name: string, backup: Partial<import("../../../config/types").BackupSettings>, keys?: { id: string; secret: string }) {
    const before = recorded.length;
    const cluster = new DockerTile38Cluster(name, {
        docker: { hostOs: "linux" },
        backup,
        tile38Password: pulumi.secret("pw"),
        sentinelPassword: pulumi.secret("spw"),
        backupAccessKeyId: keys ? pulumi.secret(keys.id) : undefined,
        backupSecretAccessKey: keys ? pulumi.secret(keys.secret) : undefined,
    });
    await settle(recorded);
    return { cluster, rs: recorded.slice(before) };
}
const agents = (rs: RecordedResource[]) => rs.filter((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-backup"));

describe("Docker backups to AWS", () => {
    it("instance role: bucket, writer policy, no local server, agents without keys that do not create buckets", async () => {
        const { cluster, rs } = await build("role", { store: "aws" });
        const buckets = rs.filter((r) => r.type === "aws:s3/bucket:Bucket");
        expect(buckets.map((b) => b.inputs.bucketPrefix)).toEqual(["role-backups"]);
        expect(rs.filter((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy")).toHaveLength(1);
        const policy = JSON.parse(rs.find((r) => r.type === "aws:iam/policy:Policy")!.inputs.policy as string);
        expect(policy.Statement[0].Resource).toMatch(/\/tile38\/prod\/role\/\*$/);
        expect(rs.some((r) => r.type === "aws:iam/accessKey:AccessKey" || r.type === "aws:iam/user:User")).toBe(false);
        expect(rs.some((r) => r.name === "role-s3")).toBe(false);
        expect(agents(rs)).toHaveLength(3);
        for (const a of agents(rs)) {
            const e = envs(a);
            expect(e.BACKUP_CREATE_BUCKET).toBe("0");
            expect(e.BACKUP_ENDPOINT).toBeUndefined();
            expect(e.AWS_ACCESS_KEY_ID).toBeUndefined();
            // The name AWS gives the created bucket (the mocks' fake name).
            expect(e.BACKUP_BUCKET).toBe(`${buckets[0].name}-fake`);
        }
        expect(cluster.backupAccessKeyId).toBeUndefined();
    });

    it("S3-compatible endpoint with keys from the stack: no IAM, keys only as secrets", async () => {
        const { cluster, rs } = await build("compat", { store: "aws", endpoint: "https://minio.internal:9000" }, { id: "AKIDSTACK", secret: "SECRETSTACK" });
        expect(rs.some((r) => r.type.startsWith("aws:iam/"))).toBe(false);
        for (const a of agents(rs)) {
            expect(isWireSecret(a.inputs.envs)).toBe(true);
            expect(envs(a)).toMatchObject({ BACKUP_ENDPOINT: "https://minio.internal:9000", AWS_ACCESS_KEY_ID: "AKIDSTACK", AWS_SECRET_ACCESS_KEY: "SECRETSTACK" });
        }
        expect(await pulumi.isSecret(cluster.backupSecretAccessKey!)).toBe(true);
        const plain = JSON.stringify(rs.map((r) => r.inputs), (_k, v) => (isWireSecret(v) ? "[secret]" : v));
        expect(plain).not.toContain("SECRETSTACK");
    });

    it("backups off: neither store nor agents nor restore command", async () => {
        const { cluster, rs } = await build("off", { enabled: false });
        expect(cluster.backupBucket).toBeUndefined();
        expect(agents(rs)).toHaveLength(0);
        const node = rs.find((r) => r.type === "docker:index/container:Container" && r.name === "off-tile38-1")!;
        expect(envs(node).TILE38_RESTORE_CMD).toBeUndefined();
    });
});
