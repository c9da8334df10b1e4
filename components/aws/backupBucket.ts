import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BackupSettings } from "../../config/types";

/** A minimal IAM/S3 policy document (the JSON AWS expects), built by pure functions. */
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/** One statement of a {@link PolicyDocument}. */
export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | Record<string, string | string[]>;
    Action: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * Bucket policy that denies every request not made over TLS (`aws:SecureTransport` false),
 * whoever makes it.
 */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

/** The lifecycle rules of the backup bucket, limited to the key prefix. */
export function backupLifecycleRules(keyPrefix: string, expireDays: number, noncurrentExpireDays: number): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
    return [
        {
            id: "tile38-ha-backups-expiry",
            status: "Enabled",
            filter: { prefix: keyPrefix },
            expiration: { days: expireDays },
            noncurrentVersionExpiration: { noncurrentDays: noncurrentExpireDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        },
    ];
}

/** Arguments of {@link BackupBucket}. */
export interface BackupBucketArgs {
    /**
     * Name prefix of the bucket to create; AWS appends a random suffix. Ignored with `existingBucket`.
     * Config: `backup.bucketPrefix` (default `tile38-ha-<stack>-backups`).
     */
    bucketPrefix: string;
    /**
     * Use this existing bucket: nothing is created and its settings are left alone (it may be
     * shared with other data); only its name and ARN are returned. Default: unset (create one).
     */
    existingBucket?: string;
    /** Key prefix of the backups (ends with `/`); the lifecycle rule covers only this prefix. */
    keyPrefix: string;
    /** Days after which backup objects under the key prefix expire (default 30). */
    expireDays: number;
    /** Days after which noncurrent versions under the key prefix expire (default 7). */
    noncurrentExpireDays: number;
    /** KMS key ARN for default encryption (`aws:kms`, with an S3 bucket key); unset = SSE-S3 (AES256). */
    kmsKeyArn?: string;
    /** Let `pulumi destroy` delete the bucket while it still holds backups. Default false. */
    forceDestroy: boolean;
    /** Tags of the bucket. Default none. */
    tags?: Record<string, string>;
    /** AWS region of the bucket; unset = the provider's region. */
    region?: string;
    /**
     * Custom S3 endpoint (an S3-compatible store): an `aws.Provider` with this endpoint, path-style
     * addressing and no AWS account checks is created for the bucket. Unset = AWS.
     */
    endpoint?: string;
}

/** Maps the stack's backup settings to {@link BackupBucketArgs}. */
export function backupBucketArgsFromConfig(b: BackupSettings): BackupBucketArgs {
    return {
        bucketPrefix: b.bucketPrefix,
        existingBucket: b.existingBucket,
        keyPrefix: b.keyPrefix,
        expireDays: b.expireDays,
        noncurrentExpireDays: b.noncurrentExpireDays,
        kmsKeyArn: b.kmsKeyArn,
        forceDestroy: b.forceDestroy,
        tags: b.tags,
        region: b.region,
        endpoint: b.endpoint,
    };
}

/**
 * The S3 bucket that holds AOF backups: versioned, encrypted by default (SSE-S3 or KMS), every
 * public access block on, object ownership enforced (no ACLs), TLS-only bucket policy, and a
 * lifecycle rule that expires backups and old versions under the key prefix. With
 * `existingBucket` nothing is created.
 */
export class BackupBucket extends pulumi.ComponentResource {
    /** Bucket name. */
    readonly bucketName: pulumi.Output<string>;
    /** Bucket ARN. */
    readonly bucketArn: pulumi.Output<string>;
    /** The created bucket, unless `existingBucket` was given. */
    readonly bucket?: aws.s3.Bucket;
    /** The provider used for a custom endpoint, if any (pass it to resources that use the bucket). */
    readonly provider?: aws.Provider;

    constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:aws:BackupBucket", name, {}, opts);
        if (args.expireDays <= 0 || args.noncurrentExpireDays <= 0) {
            throw new pulumi.ResourceError("BackupBucket: expireDays and noncurrentExpireDays must be positive", this);
        }
        if (args.kmsKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:/.test(args.kmsKeyArn)) {
            throw new pulumi.ResourceError(`BackupBucket: kmsKeyArn ${JSON.stringify(args.kmsKeyArn)} is not a KMS key ARN`, this);
        }
        // An existing bucket in an S3-compatible store needs no AWS provider at all (no AWS
        // plugin, no account): nothing is created and its ARN has no partition to look up.
        const outsideAws = args.existingBucket !== undefined && args.endpoint !== undefined;
        if (args.endpoint && !outsideAws) {
            this.provider = new aws.Provider(
                `${name}-s3`,
                {
                    region: args.region ?? "us-east-1",
                    endpoints: [{ s3: args.endpoint }],
                    s3UsePathStyle: true,
                    skipCredentialsValidation: true,
                    skipRequestingAccountId: true,
                    skipRegionValidation: true,
                    skipMetadataApiCheck: true,
                },
                { parent: this },
            );
        }
        const child: pulumi.CustomResourceOptions = { parent: this, provider: this.provider };
        const region = args.endpoint ? undefined : args.region;

        if (args.existingBucket) {
            this.bucketName = pulumi.output(args.existingBucket);
            const partition = outsideAws ? pulumi.output("aws") : aws.getPartitionOutput({}, { parent: this, provider: this.provider }).partition;
            this.bucketArn = pulumi.interpolate`arn:${partition}:s3:::${args.existingBucket}`;
        } else {
            const bucket = new aws.s3.Bucket(
                name,
                { bucketPrefix: args.bucketPrefix, forceDestroy: args.forceDestroy, tags: args.tags ?? {}, region },
                child,
            );
            this.bucket = bucket;
            this.bucketName = bucket.bucket;
            this.bucketArn = bucket.arn;
            const ownership = new aws.s3.BucketOwnershipControls(
                `${name}-ownership`,
                { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" }, region },
                child,
            );
            const publicAccess = new aws.s3.BucketPublicAccessBlock(
                `${name}-public-access`,
                { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true, region },
                child,
            );
            const versioning = new aws.s3.BucketVersioning(
                `${name}-versioning`,
                { bucket: bucket.id, versioningConfiguration: { status: "Enabled" }, region },
                child,
            );
            new aws.s3.BucketServerSideEncryptionConfiguration(
                `${name}-encryption`,
                {
                    bucket: bucket.id,
                    region,
                    rules: [
                        args.kmsKeyArn
                            ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }, bucketKeyEnabled: true }
                            : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
                    ],
                },
                child,
            );
            // The policy after the public access block, so that S3 never sees it on an open bucket.
            new aws.s3.BucketPolicy(
                `${name}-tls-only`,
                { bucket: bucket.id, region, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) },
                { ...child, dependsOn: [publicAccess, ownership] },
            );
            new aws.s3.BucketLifecycleConfiguration(
                `${name}-lifecycle`,
                { bucket: bucket.id, region, rules: backupLifecycleRules(args.keyPrefix, args.expireDays, args.noncurrentExpireDays) },
                // Lifecycle rules on noncurrent versions need versioning first.
                { ...child, dependsOn: [versioning] },
            );
        }
        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}
