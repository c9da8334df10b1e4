import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import type { BackupBucket } from "../aws/backupBucket";
import type { BackupIam } from "../aws/backupIam";
import { loadAwsBackups } from "../aws/load";
import { restoreCommandFor } from "../render/backupScripts";
import { backupSidecarContainer } from "./backupSidecar";
import { K8S_SECRET_KEYS, MOUNTS, objectNames, VOLUME_NAMES } from "./common";
import { Tile38BackupHook } from "./tile38StatefulSet";

/**
 * The backup additions of every Tile38 pod, given the bucket and (optionally) the IRSA role:
 * the restore command, the agent sidecar on the data volume, and the ServiceAccount annotation.
 * `staticCredentials` = read `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` from the cluster Secret.
 * Pure.
 */
export function kubernetesBackupHook(
    config: StackConfig,
    bucket: pulumi.Input<string>,
    roleArn: pulumi.Input<string> | undefined,
    staticCredentials: boolean,
): Tile38BackupHook {
    return {
        restoreCommand: restoreCommandFor(config),
        sidecars: [
            backupSidecarContainer({
                config,
                bucket,
                dataVolumeName: VOLUME_NAMES.data,
                dataMountPath: MOUNTS.data,
                tmpVolumeName: VOLUME_NAMES.tmp,
                tile38PasswordSecret: { name: objectNames(config).secret, key: K8S_SECRET_KEYS.tile38Password },
                credentialsSecret: staticCredentials
                    ? { name: objectNames(config).secret, accessKeyIdKey: K8S_SECRET_KEYS.backupAccessKeyId, secretAccessKeyKey: K8S_SECRET_KEYS.backupSecretAccessKey }
                    : undefined,
            }),
        ],
        serviceAccountAnnotations: roleArn !== undefined ? { "eks.amazonaws.com/role-arn": roleArn } : undefined,
    };
}

/** Arguments of {@link KubernetesClusterBackups}. */
export interface KubernetesClusterBackupsArgs {
    /** The validated stack config (`target: kubernetes`, `backup.enabled: true`, store `aws`). */
    config: StackConfig;
    /**
     * The sidecars read static S3 keys from the cluster Secret (set when the stack gives
     * `backupAccessKeyId`/`backupSecretAccessKey`). Default false: IRSA or the node's role.
     */
    staticCredentials?: boolean;
}

/**
 * Backups of the Kubernetes target: a hardened {@link BackupBucket} (or `backup.existingBucket`),
 * on AWS proper the writer policy and, with `backup.oidcProviderArn`/`oidcProviderUrl`, an IRSA
 * role trusted only by the Tile38 ServiceAccount; and the {@link Tile38BackupHook} to hand to
 * `KubernetesTile38Cluster`.
 */
export class KubernetesClusterBackups extends pulumi.ComponentResource {
    /** The bucket. */
    readonly bucket: BackupBucket;
    /** Writer policy and IRSA role (AWS proper only: no `backup.endpoint`). */
    readonly iam?: BackupIam;
    /** What every Tile38 pod gets. */
    readonly hook: Tile38BackupHook;

    constructor(name: string, args: KubernetesClusterBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:ClusterBackups", name, {}, opts);
        const { config } = args;
        const b = config.backup;
        if (config.target !== "kubernetes" || !b.enabled || b.store !== "aws") {
            throw new pulumi.ResourceError("KubernetesClusterBackups needs target kubernetes with backup.enabled and store aws", this);
        }
        const { BackupBucket, backupBucketArgsFromConfig, BackupIam, backupIamArgsFromConfig } = loadAwsBackups();
        this.bucket = new BackupBucket(`${name}-bucket`, backupBucketArgsFromConfig(b), { parent: this });
        if (!b.endpoint) {
            this.iam = new BackupIam(`${name}-iam`, backupIamArgsFromConfig(config, this.bucket.bucketArn), { parent: this });
        }
        this.hook = kubernetesBackupHook(config, this.bucket.bucketName, this.iam?.roleArn, args.staticCredentials ?? false);
        this.registerOutputs({ bucketName: this.bucket.bucketName, roleArn: this.iam?.roleArn });
    }
}
