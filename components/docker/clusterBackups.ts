import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackConfig } from "../../config/types";
import type { BackupBucket } from "../aws/backupBucket";
import type { BackupIam } from "../aws/backupIam";
import { loadAwsBackups } from "../aws/load";
import { refreshSecondsFor, restoreCommandFor } from "../render/backupScripts";
import { dockerTopology } from "../render/topology";
import { DockerBackupAgents } from "./backupAgents";
import { localAddress } from "./containerSpec";
import { LocalS3Server } from "./localS3";
import { DockerTile38ReplicaSet } from "./tile38ReplicaSet";

/**
 * Env of every Tile38 node that turns on restore-from-backup (`TILE38_RESTORE_CMD`), for
 * `DockerTile38Cluster`'s `tile38ExtraEnv`. Empty when backups are off. Pure.
 */
export function dockerRestoreEnv(config: StackConfig): Record<string, string> {
    const command = restoreCommandFor(config);
    return command ? { TILE38_RESTORE_CMD: command } : {};
}

/** Arguments of {@link DockerClusterBackups}. */
export interface DockerClusterBackupsArgs {
    /** The validated stack config (`target: docker`, `backup.enabled: true`). */
    config: StackConfig;
    /** The replica set whose nodes are backed up (its data volumes are mounted by the agents). */
    replicaSet: DockerTile38ReplicaSet;
    /** Tile38 password (the agents AUTH before `SERVER`); kept secret. */
    tile38Password: pulumi.Input<string>;
    /**
     * S3 access key id (the `backupAccessKeyId` secret). Store `local`: unset = generated.
     * Store `aws`: unset = the AWS CLI's default chain (the host's instance role).
     */
    accessKeyId?: pulumi.Input<string>;
    /** S3 secret access key (the `backupSecretAccessKey` secret); same defaults as `accessKeyId`. */
    secretAccessKey?: pulumi.Input<string>;
}

/**
 * Backups of the Docker target. Store `local`: an S3-compatible server on the host (the Versity
 * gateway; credentials generated unless given) and a bucket the agents create. Store `aws`: a
 * hardened {@link BackupBucket} (or `backup.existingBucket`) and, on AWS proper, the writer
 * policy to attach to the host's instance role. Both: one {@link DockerBackupAgents} per node.
 */
export class DockerClusterBackups extends pulumi.ComponentResource {
    /** Bucket name the agents write to. */
    readonly bucketName: pulumi.Output<string>;
    /** S3 endpoint the agents use; undefined = AWS. */
    readonly endpoint?: string;
    /** The local S3 server (store `local`). */
    readonly localServer?: LocalS3Server;
    /** The bucket (store `aws`). */
    readonly bucket?: BackupBucket;
    /** The writer policy (store `aws` on AWS proper): attach it to the Docker host's instance role. */
    readonly iam?: BackupIam;
    /** The agent containers. */
    readonly agents: DockerBackupAgents;
    /** S3 access key id the agents use (secret); undefined = the instance role. For manual restores. */
    readonly accessKeyId?: pulumi.Output<string>;
    /** S3 secret access key the agents use (secret); undefined = the instance role. */
    readonly secretAccessKey?: pulumi.Output<string>;

    constructor(name: string, args: DockerClusterBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:docker:ClusterBackups", name, {}, opts);
        const { config } = args;
        const b = config.backup;
        if (config.target !== "docker" || !b.enabled) {
            throw new pulumi.ResourceError("DockerClusterBackups needs target docker with backup.enabled", this);
        }
        if ((args.accessKeyId === undefined) !== (args.secretAccessKey === undefined)) {
            throw new pulumi.ResourceError("DockerClusterBackups: give both accessKeyId and secretAccessKey, or neither", this);
        }
        const prefix = config.docker.namePrefix;
        let accessKeyId = args.accessKeyId;
        let secretAccessKey = args.secretAccessKey;
        let endpoint: pulumi.Input<string> | undefined = b.endpoint;

        if (b.store === "local") {
            if (accessKeyId === undefined || secretAccessKey === undefined) {
                // The local server's root credentials: generated once, kept in state as secrets.
                accessKeyId = pulumi.secret(new random.RandomPassword(`${name}-s3-access-key`, { length: 20, special: false, lower: false }, { parent: this }).result);
                secretAccessKey = pulumi.secret(new random.RandomPassword(`${name}-s3-secret-key`, { length: 40, special: false }, { parent: this }).result);
            }
            this.localServer = new LocalS3Server(
                `${prefix}-s3`,
                {
                    image: b.localImage,
                    port: b.localPort,
                    bindAddress: config.docker.bindAddress,
                    namePrefix: prefix,
                    accessKeyId,
                    secretAccessKey,
                    restartPolicy: config.docker.restartPolicy,
                },
                { parent: this },
            );
            this.endpoint = this.localServer.endpoint;
            endpoint = this.endpoint;
            this.bucketName = pulumi.output(b.existingBucket ?? b.bucketPrefix);
        } else {
            const { BackupBucket, backupBucketArgsFromConfig, BackupIam, backupIamArgsFromConfig } = loadAwsBackups();
            this.bucket = new BackupBucket(`${prefix}-backups`, backupBucketArgsFromConfig(b), { parent: this });
            this.bucketName = this.bucket.bucketName;
            this.endpoint = b.endpoint;
            // IAM exists on AWS proper only; an S3-compatible endpoint uses the static keys.
            if (!b.endpoint) {
                this.iam = new BackupIam(`${prefix}-backup-iam`, backupIamArgsFromConfig(config, this.bucket.bucketArn), { parent: this });
            }
        }

        if (accessKeyId !== undefined && secretAccessKey !== undefined) {
            this.accessKeyId = pulumi.secret(pulumi.output(accessKeyId));
            this.secretAccessKey = pulumi.secret(pulumi.output(secretAccessKey));
        }
        const topo = dockerTopology(config);
        this.agents = new DockerBackupAgents(
            `${prefix}-backup-agents`,
            {
                image: b.agentImage,
                nodes: topo.nodes.map((node, i) => ({ name: node.name, port: node.port, dataVolume: args.replicaSet.volumes[i].name, metricsPort: node.backupMetricsPort })),
                metricsBind: config.docker.bindAddress,
                tile38Host: localAddress(config.docker),
                tile38Password: args.tile38Password,
                bucket: this.bucketName,
                keyPrefix: b.keyPrefix,
                endpoint,
                region: b.region,
                createBucket: b.store === "local",
                accessKeyId,
                secretAccessKey,
                intervalSeconds: b.intervalSeconds,
                refreshSeconds: refreshSecondsFor(b.expireDays),
                restartPolicy: config.docker.restartPolicy,
            },
            { parent: this, dependsOn: this.localServer ? [this.localServer] : [] },
        );
        this.registerOutputs({ bucketName: this.bucketName, endpoint: this.endpoint });
    }
}
