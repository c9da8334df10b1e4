import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { PolicyDocument, PolicyStatement } from "./backupBucket";

/**
 * Name of the Kubernetes ServiceAccount the Tile38 pods and their backup sidecars run as. It is
 * the one created in components/kubernetes (`OBJECT_NAMES.serviceAccount`); the IRSA role trusts
 * exactly `system:serviceaccount:<namespace>:tile38`.
 */
export const BACKUP_SERVICE_ACCOUNT_NAME = "tile38";

/** Inputs of {@link backupWriterPolicy}. */
export interface BackupWriterPolicyArgs {
    /** ARN of the backup bucket (`arn:<partition>:s3:::<name>`). */
    bucketArn: string;
    /** Key prefix of the backups (ends with `/`); every permission is limited to it. */
    keyPrefix: string;
    /** KMS key of the bucket's default encryption, if any: the writer needs to use it. */
    kmsKeyArn?: string;
}

/**
 * Least-privilege policy of the backup agent: read and write objects under the key prefix only
 * (`s3:PutObject`, `s3:GetObject`, `s3:AbortMultipartUpload` on `<bucket>/<prefix>*`), list only
 * keys under the prefix (`s3:ListBucket` with an `s3:prefix` condition), and, with a KMS key,
 * `kms:GenerateDataKey`/`kms:Decrypt` on that key alone. No delete: old backups leave through
 * the bucket's lifecycle rule, and a stolen credential cannot erase them.
 */
export function backupWriterPolicy(args: BackupWriterPolicyArgs): PolicyDocument {
    if (!args.keyPrefix.endsWith("/") || args.keyPrefix.startsWith("/")) {
        throw new Error(`keyPrefix ${JSON.stringify(args.keyPrefix)} must end with / and not start with /`);
    }
    const statements: PolicyStatement[] = [
        {
            Sid: "ReadWriteBackupObjects",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
            Resource: `${args.bucketArn}/${args.keyPrefix}*`,
        },
        {
            Sid: "ListBackupPrefix",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: args.bucketArn,
            Condition: { StringLike: { "s3:prefix": [`${args.keyPrefix}*`] } },
        },
    ];
    if (args.kmsKeyArn) {
        statements.push({ Sid: "UseBucketKmsKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: args.kmsKeyArn });
    }
    return { Version: "2012-10-17", Statement: statements };
}

/** Inputs of {@link irsaTrustPolicy}. */
export interface IrsaTrustPolicyArgs {
    /** ARN of the cluster's IAM OIDC provider. */
    oidcProviderArn: string;
    /** Its issuer URL; a leading `https://` is removed. */
    oidcProviderUrl: string;
    /** Namespace of the ServiceAccount. */
    namespace: string;
    /** ServiceAccount name (default {@link BACKUP_SERVICE_ACCOUNT_NAME}). */
    serviceAccountName?: string;
}

/**
 * Trust policy of the IRSA role: only tokens that the cluster's OIDC provider issued for
 * `system:serviceaccount:<namespace>:<name>` with audience `sts.amazonaws.com` may assume it.
 */
export function irsaTrustPolicy(args: IrsaTrustPolicyArgs): PolicyDocument {
    const issuer = args.oidcProviderUrl.replace(/^https:\/\//, "").replace(/\/$/, "");
    if (!/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\//.test(args.oidcProviderArn)) {
        throw new Error(`oidcProviderArn ${JSON.stringify(args.oidcProviderArn)} is not an IAM OIDC provider ARN`);
    }
    if (!args.oidcProviderArn.endsWith(`oidc-provider/${issuer}`)) {
        throw new Error(`oidcProviderArn ${args.oidcProviderArn} does not belong to the issuer ${issuer}`);
    }
    const sa = args.serviceAccountName ?? BACKUP_SERVICE_ACCOUNT_NAME;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "BackupServiceAccount",
                Effect: "Allow",
                Principal: { Federated: args.oidcProviderArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringEquals: {
                        [`${issuer}:sub`]: `system:serviceaccount:${args.namespace}:${sa}`,
                        [`${issuer}:aud`]: "sts.amazonaws.com",
                    },
                },
            },
        ],
    };
}

/** Arguments of {@link BackupIam}. */
export interface BackupIamArgs {
    /** ARN of the backup bucket (e.g. `BackupBucket.bucketArn`). */
    bucketArn: pulumi.Input<string>;
    /** Key prefix of the backups (ends with `/`). */
    keyPrefix: string;
    /** KMS key of the bucket's default encryption, if any. */
    kmsKeyArn?: string;
    /**
     * Kubernetes (EKS) only: the IAM OIDC provider ARN (`backup.oidcProviderArn`). With
     * `oidcProviderUrl`, an IRSA role is created. Docker: leave unset; no IAM user or access key is
     * ever created: the agents use the `backupAccessKeyId`/`backupSecretAccessKey` secrets or the
     * host's instance role (attach {@link BackupIam.policyArn} to it).
     */
    oidcProviderArn?: string;
    /** Kubernetes (EKS) only: the OIDC issuer URL (`backup.oidcProviderUrl`, without `https://`). */
    oidcProviderUrl?: string;
    /** Namespace of the ServiceAccount (`kubernetes.namespace`); needed for the IRSA role. */
    namespace?: string;
    /** ServiceAccount name. Default {@link BACKUP_SERVICE_ACCOUNT_NAME}. */
    serviceAccountName?: string;
    /** Tags of the policy and role. Default none. */
    tags?: Record<string, string>;
}

/**
 * Maps the stack's config to {@link BackupIamArgs}: the writer policy always; on the Kubernetes
 * target also the IRSA role when `backup.oidcProviderArn`/`oidcProviderUrl` are set.
 */
export function backupIamArgsFromConfig(config: StackConfig, bucketArn: pulumi.Input<string>): BackupIamArgs {
    const b = config.backup;
    const irsa =
        config.target === "kubernetes"
            ? { oidcProviderArn: b.oidcProviderArn, oidcProviderUrl: b.oidcProviderUrl, namespace: config.kubernetes.namespace, serviceAccountName: `${config.kubernetes.namePrefix}${BACKUP_SERVICE_ACCOUNT_NAME}` }
            : {};
    return { bucketArn, keyPrefix: b.keyPrefix, kmsKeyArn: b.kmsKeyArn, tags: b.tags, ...irsa };
}

/**
 * IAM for the backup agents: a managed policy limited to the key prefix, and on EKS an IRSA role
 * with that policy, trusted only by the Tile38 ServiceAccount. Annotate the ServiceAccount with
 * `eks.amazonaws.com/role-arn: <roleArn>`.
 */
export class BackupIam extends pulumi.ComponentResource {
    /** The writer policy. */
    readonly policy: aws.iam.Policy;
    /** Its ARN (attach it to an instance role for Docker hosts on EC2). */
    readonly policyArn: pulumi.Output<string>;
    /** The IRSA role, when OIDC settings were given. */
    readonly role?: aws.iam.Role;
    /** Its ARN, for the ServiceAccount annotation `eks.amazonaws.com/role-arn`. */
    readonly roleArn?: pulumi.Output<string>;

    constructor(name: string, args: BackupIamArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:aws:BackupIam", name, {}, opts);
        const tags = args.tags ?? {};
        this.policy = new aws.iam.Policy(
            `${name}-writer`,
            {
                description: `tile38-ha backup agent: read/write s3 objects under ${args.keyPrefix} only`,
                policy: pulumi.output(args.bucketArn).apply((bucketArn) => JSON.stringify(backupWriterPolicy({ bucketArn, keyPrefix: args.keyPrefix, kmsKeyArn: args.kmsKeyArn }))),
                tags,
            },
            { parent: this },
        );
        this.policyArn = this.policy.arn;
        const oidc = [args.oidcProviderArn, args.oidcProviderUrl].filter((v) => v !== undefined).length;
        if (oidc === 1) {
            throw new pulumi.ResourceError("BackupIam: set both oidcProviderArn and oidcProviderUrl (IRSA) or neither", this);
        }
        if (args.oidcProviderArn && args.oidcProviderUrl) {
            if (!args.namespace) throw new pulumi.ResourceError("BackupIam: namespace is required for the IRSA role", this);
            const trust = irsaTrustPolicy({
                oidcProviderArn: args.oidcProviderArn,
                oidcProviderUrl: args.oidcProviderUrl,
                namespace: args.namespace,
                serviceAccountName: args.serviceAccountName,
            });
            this.role = new aws.iam.Role(
                `${name}-irsa`,
                { description: "tile38-ha backup sidecars (IRSA)", assumeRolePolicy: JSON.stringify(trust), tags },
                { parent: this },
            );
            new aws.iam.RolePolicyAttachment(`${name}-irsa-writer`, { role: this.role.name, policyArn: this.policy.arn }, { parent: this });
            this.roleArn = this.role.arn;
        }
        this.registerOutputs({ policyArn: this.policyArn, roleArn: this.roleArn });
    }
}
