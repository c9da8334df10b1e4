/** The backup IAM documents (pure) and the BackupIam component under Pulumi mocks. */
import * as pulumi from "@pulumi/pulumi";
import { installMocks, RecordedResource, settle } from "../../../testing/pulumiMocks";

const recorded: RecordedResource[] = installMocks("backup-iam-test", {});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const iam = require("../../../components/aws/backupIam") as typeof import("../../../components/aws/backupIam");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { OBJECT_NAMES } = require("../../../components/kubernetes/common") as typeof import("../../../components/kubernetes/common");

type Any = any;
const BUCKET = "arn:aws:s3:::tile38-ha-prod-backups-123";
const OIDC_URL = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789";
const OIDC_ARN = `arn:aws:iam::123456789012:oidc-provider/${OIDC_URL}`;

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

describe("backupWriterPolicy", () => {
    const doc = iam.backupWriterPolicy({ bucketArn: BUCKET, keyPrefix: "tile38/prod/" });

    test("object access only under the key prefix, and no delete", () => {
        const objects = doc.Statement.find((s) => s.Sid === "ReadWriteBackupObjects")!;
        expect(objects.Effect).toBe("Allow");
        expect(objects.Action).toEqual(["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]);
        expect(objects.Resource).toBe(`${BUCKET}/tile38/prod/*`);
        const actions = doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
        expect(actions.some((a) => /Delete|\*/.test(a))).toBe(false);
    });
    test("ListBucket is limited to the prefix by an s3:prefix condition", () => {
        const list = doc.Statement.find((s) => s.Action === "s3:ListBucket")!;
        expect(list.Resource).toBe(BUCKET);
        expect(list.Condition).toEqual({ StringLike: { "s3:prefix": ["tile38/prod/*"] } });
    });
    test("no KMS statement without a key; exactly that key with one", () => {
        expect(doc.Statement.some((s) => String(s.Action).includes("kms:"))).toBe(false);
        const kms = iam.backupWriterPolicy({ bucketArn: BUCKET, keyPrefix: "p/", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k" });
        const k = kms.Statement.find((s) => s.Sid === "UseBucketKmsKey")!;
        expect(k.Action).toEqual(["kms:GenerateDataKey", "kms:Decrypt"]);
        expect(k.Resource).toBe("arn:aws:kms:eu-west-1:123456789012:key/k");
    });
    test("refuses a prefix that does not end with /", () => {
        expect(() => iam.backupWriterPolicy({ bucketArn: BUCKET, keyPrefix: "tile38" })).toThrow(/must end with \//);
    });
});

describe("irsaTrustPolicy", () => {
    test("trusts only the tile38 ServiceAccount of the namespace through the cluster's OIDC provider", () => {
        const doc = iam.irsaTrustPolicy({ oidcProviderArn: OIDC_ARN, oidcProviderUrl: `https://${OIDC_URL}`, namespace: "geo" });
        expect(doc.Statement).toHaveLength(1);
        const s = doc.Statement[0];
        expect(s.Effect).toBe("Allow");
        expect(s.Principal).toEqual({ Federated: OIDC_ARN });
        expect(s.Action).toBe("sts:AssumeRoleWithWebIdentity");
        expect(s.Condition).toEqual({
            StringEquals: { [`${OIDC_URL}:sub`]: "system:serviceaccount:geo:tile38", [`${OIDC_URL}:aud`]: "sts.amazonaws.com" },
        });
    });
    test("refuses an ARN that is not an OIDC provider or belongs to another issuer", () => {
        expect(() => iam.irsaTrustPolicy({ oidcProviderArn: "arn:aws:iam::123456789012:role/x", oidcProviderUrl: OIDC_URL, namespace: "n" })).toThrow(/not an IAM OIDC provider/);
        expect(() => iam.irsaTrustPolicy({ oidcProviderArn: OIDC_ARN, oidcProviderUrl: "oidc.eks.us-east-1.amazonaws.com/id/OTHER", namespace: "n" })).toThrow(/does not belong/);
    });
    test("the ServiceAccount name is the one the Kubernetes components create", () => {
        expect(iam.BACKUP_SERVICE_ACCOUNT_NAME).toBe(OBJECT_NAMES.serviceAccount);
    });
});

describe("BackupIam component", () => {
    test("Docker (no OIDC): only the writer policy; no user, no access key, no role", async () => {
        const before = recorded.length;
        const c = new iam.BackupIam("docker", { bucketArn: BUCKET, keyPrefix: "tile38/dev/" });
        await value(c.policyArn);
        await settle(recorded);
        const mine = recorded.slice(before).filter((r) => r.name.startsWith("docker"));
        expect(mine.map((r) => r.type).sort()).toEqual(["aws:iam/policy:Policy", "tile38-ha:aws:BackupIam"]);
        expect(recorded.some((r) => r.type === "aws:iam/user:User" || r.type === "aws:iam/accessKey:AccessKey")).toBe(false);
        expect(c.roleArn).toBeUndefined();
        const policy = JSON.parse((mine.find((r) => r.type === "aws:iam/policy:Policy")!.inputs as Any).policy);
        expect(policy).toEqual(iam.backupWriterPolicy({ bucketArn: BUCKET, keyPrefix: "tile38/dev/" }));
    });

    test("EKS: an IRSA role with the trust policy and the writer policy attached", async () => {
        const before = recorded.length;
        const c = new iam.BackupIam("eks", { bucketArn: BUCKET, keyPrefix: "tile38/prod/", oidcProviderArn: OIDC_ARN, oidcProviderUrl: OIDC_URL, namespace: "tile38" });
        await value(c.roleArn!);
        await settle(recorded);
        const mine = recorded.slice(before).filter((r) => r.name.startsWith("eks"));
        const role = mine.find((r) => r.type === "aws:iam/role:Role")!.inputs as Any;
        expect(JSON.parse(role.assumeRolePolicy)).toEqual(iam.irsaTrustPolicy({ oidcProviderArn: OIDC_ARN, oidcProviderUrl: OIDC_URL, namespace: "tile38" }));
        const attach = mine.find((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment")!.inputs as Any;
        expect(attach.policyArn).toBe(await value(c.policyArn));
        expect(await value(c.roleArn!)).toMatch(/^arn:aws:iam::123456789012:role\//);
    });

    test("half an OIDC configuration is an error", () => {
        expect(() => new iam.BackupIam("half", { bucketArn: BUCKET, keyPrefix: "p/", oidcProviderArn: OIDC_ARN })).toThrow(/both/);
    });
});
