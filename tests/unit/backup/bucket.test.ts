/** BackupBucket under Pulumi mocks: every resource it declares, with the inputs AWS would receive. */
import * as pulumi from "@pulumi/pulumi";
import { installMocks, invokedFunctions, RecordedResource, settle } from "../../../testing/pulumiMocks";

const recorded: RecordedResource[] = installMocks("backup-test", {});
// Loaded after the mocks are installed, as a program would be.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { BackupBucket, backupBucketArgsFromConfig, tlsOnlyBucketPolicy, backupLifecycleRules } = require("../../../components/aws/backupBucket") as typeof import("../../../components/aws/backupBucket");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultConfig } = require("../../../config/defaults") as typeof import("../../../config/defaults");

type Any = any;
const base = () => backupBucketArgsFromConfig(defaultConfig("dev", "kubernetes", "linux").backup);
const byType = (rs: RecordedResource[], type: string) => rs.filter((r) => r.type === type);
const one = (rs: RecordedResource[], type: string): Record<string, Any> => {
    const found = byType(rs, type);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}: ${rs.map((r) => r.type).join(", ")}`);
    return found[0].inputs as Record<string, Any>;
};
function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}
/** Builds a bucket and returns only the resources it declared. */
async function build(name: string, args: import("../../../components/aws/backupBucket").BackupBucketArgs) {
    const before = recorded.length;
    const b = new BackupBucket(name, args);
    await value(b.bucketArn);
    await settle(recorded);
    return { bucket: b, resources: recorded.slice(before).filter((r) => r.name.startsWith(name)) };
}

describe("BackupBucket (created)", () => {
    let rs: RecordedResource[];
    let bucket: InstanceType<typeof BackupBucket>;
    beforeAll(async () => {
        ({ bucket, resources: rs } = await build("default", base()));
    });

    test("creates the bucket with the configured prefix, tags and no forceDestroy", () => {
        const b = one(rs, "aws:s3/bucket:Bucket");
        expect(b.bucketPrefix).toBe("tile38-ha-dev-backups");
        expect(b.forceDestroy).toBe(false);
        expect(b.tags).toEqual({ project: "tile38-ha", stack: "dev" });
    });
    test("enables versioning", () => {
        expect(one(rs, "aws:s3/bucketVersioning:BucketVersioning").versioningConfiguration).toEqual({ status: "Enabled" });
    });
    test("encrypts by default with SSE-S3 (AES256) when no KMS key is set", () => {
        const rules = one(rs, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").rules;
        expect(rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
    });
    test("turns on all four public access blocks", () => {
        const pab = one(rs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
        expect(pab).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    });
    test("enforces bucket-owner object ownership (ACLs off)", () => {
        expect(one(rs, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    });
    test("bucket policy denies every request without TLS", () => {
        const policy = JSON.parse(one(rs, "aws:s3/bucketPolicy:BucketPolicy").policy);
        expect(policy.Statement).toHaveLength(1);
        const s = policy.Statement[0];
        expect(s.Effect).toBe("Deny");
        expect(s.Principal).toBe("*");
        expect(s.Action).toBe("s3:*");
        expect(s.Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
        expect(s.Resource).toEqual(["arn:aws:s3:::default-fake", "arn:aws:s3:::default-fake/*"]);
    });
    test("lifecycle expires objects under the key prefix and noncurrent versions", () => {
        const rules = one(rs, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules;
        expect(rules).toHaveLength(1);
        expect(rules[0]).toMatchObject({
            status: "Enabled",
            filter: { prefix: "tile38/dev/" },
            expiration: { days: 30 },
            noncurrentVersionExpiration: { noncurrentDays: 7 },
        });
    });
    test("needs no custom provider without an endpoint", () => {
        expect(bucket.provider).toBeUndefined();
        expect(byType(rs, "pulumi:providers:aws")).toHaveLength(0);
    });
    test("outputs the bucket name and ARN", async () => {
        expect(await value(bucket.bucketName)).toBe("default-fake");
        expect(await value(bucket.bucketArn)).toBe("arn:aws:s3:::default-fake");
    });
});

describe("BackupBucket options", () => {
    test("forceDestroy, custom tags and KMS encryption follow the config", async () => {
        const { resources } = await build("kms", {
            ...base(),
            forceDestroy: true,
            tags: { team: "geo" },
            kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/abcd",
            expireDays: 90,
            noncurrentExpireDays: 3,
        });
        const b = one(resources, "aws:s3/bucket:Bucket");
        expect(b.forceDestroy).toBe(true);
        expect(b.tags).toEqual({ team: "geo" });
        expect(one(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").rules).toEqual([
            { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:eu-west-1:123456789012:key/abcd" }, bucketKeyEnabled: true },
        ]);
        const rule = one(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules[0];
        expect(rule.expiration).toEqual({ days: 90 });
        expect(rule.noncurrentVersionExpiration).toEqual({ noncurrentDays: 3 });
    });

    test("region is passed to every bucket resource", async () => {
        const { resources } = await build("regional", { ...base(), region: "eu-central-1" });
        const s3 = resources.filter((r) => r.type.startsWith("aws:s3/"));
        expect(s3.length).toBe(7);
        for (const r of s3) expect((r.inputs as Any).region).toBe("eu-central-1");
    });

    test("a custom endpoint gets its own aws.Provider with path-style addressing", async () => {
        const { bucket, resources } = await build("compat", { ...base(), endpoint: "https://s3.example.internal:9000", region: "eu-west-1" });
        const p = one(resources, "pulumi:providers:aws");
        expect(JSON.parse(p.endpoints)).toEqual([{ s3: "https://s3.example.internal:9000" }]);
        expect(String(p.s3UsePathStyle)).toBe("true");
        expect(p.region).toBe("eu-west-1");
        expect(bucket.provider).toBeDefined();
    });

    test("existingBucket creates nothing and only references the name", async () => {
        const { bucket, resources } = await build("existing", { ...base(), existingBucket: "company-backups" });
        expect(resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
        expect(bucket.bucket).toBeUndefined();
        expect(await value(bucket.bucketName)).toBe("company-backups");
        expect(await value(bucket.bucketArn)).toMatch(/:s3:::company-backups$/);
    });

    test("an existing bucket in an S3-compatible store needs no AWS provider, plugin or invoke", async () => {
        const before = invokedFunctions.length;
        const { bucket, resources } = await build("outside-aws", { ...base(), existingBucket: "tile38-backups", endpoint: "http://10.245.0.1:26900" });
        expect(resources.filter((r) => r.type.startsWith("aws:") || r.type === "pulumi:providers:aws")).toEqual([]);
        expect(bucket.provider).toBeUndefined();
        expect(await value(bucket.bucketArn)).toBe("arn:aws:s3:::tile38-backups");
        expect(invokedFunctions.slice(before).filter((t) => t.startsWith("aws:"))).toEqual([]);
    });

    test("refuses a non-KMS kmsKeyArn and non-positive expiry", () => {
        expect(() => new BackupBucket("bad-kms", { ...base(), kmsKeyArn: "alias/mine" })).toThrow(/not a KMS key ARN/);
        expect(() => new BackupBucket("bad-days", { ...base(), expireDays: 0 })).toThrow(/must be positive/);
    });
});

describe("pure documents", () => {
    test("tlsOnlyBucketPolicy covers the bucket and its objects", () => {
        expect(tlsOnlyBucketPolicy("arn:aws:s3:::b").Statement[0].Resource).toEqual(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]);
    });
    test("backupLifecycleRules aborts stale multipart uploads too", () => {
        expect(backupLifecycleRules("p/", 1, 1)[0].abortIncompleteMultipartUpload).toEqual({ daysAfterInitiation: 1 });
    });
});
