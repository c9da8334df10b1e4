import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_AGENT_SCRIPT_PATH, backupAgentEnv, renderBackupAgentScript } from "../render/backupScripts";
import { envList } from "./containerSpec";

/**
 * The agent's Docker health check: `health` fails once the last good backup is older than twice
 * the interval, so a broken store, bucket or credentials shows as `unhealthy` in `docker ps`
 * (nothing restarts it: the agent keeps retrying, and restarting would not mend a store).
 */
export const BACKUP_HEALTHCHECK = { interval: "15s", timeout: "10s", retries: 1, startPeriod: "0s" } as const;

/** One Tile38 node as its backup agent sees it. */
export interface BackupAgentNode {
    /** Node name (`<namePrefix>-tile38-<i>`); the agent container is named `<name>-backup`. */
    name: string;
    /** The node's port (host networking: the agent dials it on `tile38Host`). */
    port: number;
    /** Name of the node's data volume (the agent mounts it at /data, like the node). */
    dataVolume: pulumi.Input<string>;
    /** Port of the agent's metrics (`metrics.backupPort + i`); unset = none. */
    metricsPort?: number;
}

/** Arguments of {@link DockerBackupAgents}. */
export interface DockerBackupAgentsArgs {
    /** Pinned AWS CLI image (`backup.agentImage`, default `amazon/aws-cli:2.9.19`). */
    image: string;
    /** One entry per Tile38 node, node 1 first. */
    nodes: BackupAgentNode[];
    /** Address at which the agents reach the nodes (the bind address, or 127.0.0.1 for a wildcard bind). */
    tile38Host: string;
    /** Tile38 password (AUTH before `SERVER`); kept secret. */
    tile38Password: pulumi.Input<string>;
    /** Bucket name (the `BackupBucket`'s, or the local store's). */
    bucket: pulumi.Input<string>;
    /** Key prefix (`backup.keyPrefix`, ends with `/`). */
    keyPrefix: string;
    /** S3 endpoint URL: the local S3 server's, or `backup.endpoint`. Unset = AWS. */
    endpoint?: pulumi.Input<string>;
    /** AWS region (`backup.region`); unset = the CLI's default chain (e.g. the instance's). */
    region?: string;
    /** Create the bucket if missing: true for the local store only. */
    createBucket: boolean;
    /**
     * Access key id (`backupAccessKeyId` secret, or the local server's root key); kept secret.
     * Unset: the AWS CLI's default chain (the host's instance role on EC2).
     */
    accessKeyId?: pulumi.Input<string>;
    /** Secret access key (`backupSecretAccessKey` secret); kept secret. */
    secretAccessKey?: pulumi.Input<string>;
    /** Seconds between backup rounds (`backup.intervalSeconds`). */
    intervalSeconds: number;
    /** Re-upload an unchanged backup after this many seconds (see `refreshSecondsFor(backup.expireDays)`). */
    refreshSeconds: number;
    /** Docker restart policy (`docker.restartPolicy`). */
    restartPolicy: string;
    /** Address the agents' metrics bind (`docker.bindAddress`). @default "127.0.0.1" */
    metricsBind?: string;
}

/**
 * One backup agent container per Tile38 node: the pinned AWS CLI image running the rendered
 * agent script, host networking, the node's data volume at /data. The leader's agent uploads
 * the AOF every interval; every agent answers its node's restore requests.
 * Manual use: `docker exec <node>-backup tile38-ha-backup-agent list|fetch …`.
 */
export class DockerBackupAgents extends pulumi.ComponentResource {
    /** The agent containers, node 1 first. */
    readonly containers: docker.Container[];

    constructor(name: string, args: DockerBackupAgentsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:docker:BackupAgents", name, {}, opts);
        if ((args.accessKeyId === undefined) !== (args.secretAccessKey === undefined)) {
            throw new pulumi.ResourceError("DockerBackupAgents: give both accessKeyId and secretAccessKey, or neither (instance role)", this);
        }
        const script = renderBackupAgentScript({ intervalSeconds: args.intervalSeconds, refreshSeconds: args.refreshSeconds });
        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        this.containers = args.nodes.map((node) => {
            const plain = pulumi.all([args.bucket, args.endpoint]).apply(([bucket, endpoint]) =>
                envList(
                    backupAgentEnv({
                        nodeName: node.name,
                        tile38Host: args.tile38Host,
                        tile38Port: node.port,
                        dataDir: "/data",
                        bucket,
                        keyPrefix: args.keyPrefix,
                        endpoint,
                        region: args.region,
                        createBucket: args.createBucket,
                        metrics: node.metricsPort === undefined ? undefined : { bind: args.metricsBind ?? "127.0.0.1", port: node.metricsPort },
                    }),
                ),
            );
            const secret = pulumi.secret(
                pulumi.all([args.tile38Password, args.accessKeyId, args.secretAccessKey]).apply(([pw, id, key]) =>
                    envList({ TILE38_PASSWORD: pw, AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: key }),
                ),
            );
            return new docker.Container(
                `${node.name}-backup`,
                {
                    name: `${node.name}-backup`,
                    image: image.imageId,
                    networkMode: "host",
                    restart: args.restartPolicy,
                    entrypoints: ["bash", BACKUP_AGENT_SCRIPT_PATH],
                    command: ["run"],
                    envs: pulumi.all([plain, secret]).apply(([p, s]) => [...p, ...s]),
                    uploads: [{ file: BACKUP_AGENT_SCRIPT_PATH, content: script, executable: true }],
                    volumes: [{ volumeName: node.dataVolume, containerPath: "/data" }],
                    healthcheck: { tests: ["CMD", "bash", BACKUP_AGENT_SCRIPT_PATH, "health"], ...BACKUP_HEALTHCHECK },
                    labels: [
                        { label: "tile38-ha.role", value: "backup-agent" },
                        { label: "tile38-ha.node", value: node.name },
                    ],
                },
                { parent: this },
            );
        });
        this.registerOutputs({});
    }
}
