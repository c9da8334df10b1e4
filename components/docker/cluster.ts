import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { lettuceSentinelUri } from "../render/clients";
import { dockerTopology, Endpoint } from "../render/topology";
import { DockerClusterBackups, dockerRestoreEnv } from "./clusterBackups";
import { observeLiveCluster } from "./liveLeader";
import { DockerSentinelTrio } from "./sentinelTrio";
import { DockerTile38ReplicaSet } from "./tile38ReplicaSet";

/** Arguments of {@link DockerTile38Cluster}. */
export interface DockerTile38ClusterArgs {
    /** The validated stack config (`target: docker`). */
    config: StackConfig;
    /** Tile38 password; kept secret. */
    tile38Password: pulumi.Input<string>;
    /** Sentinel password; kept secret. */
    sentinelPassword: pulumi.Input<string>;
    /**
     * Extra environment per Tile38 node (0-based index), e.g. the backup restore hook.
     * @default none
     */
    tile38ExtraEnv?: (index: number) => Record<string, string>;
    /**
     * S3 access key id of the backup agents (the `backupAccessKeyId` secret). Store `local`:
     * unset = generated. Store `aws`: unset = the host's instance role. Kept secret.
     */
    backupAccessKeyId?: pulumi.Input<string>;
    /** S3 secret access key of the backup agents (the `backupSecretAccessKey` secret); as above. */
    backupSecretAccessKey?: pulumi.Input<string>;
    /**
     * When a `pulumi up` (not a preview) runs, ask the running sentinels (at
     * `docker.advertiseHost`) which node leads: a running cluster then rolls, one container at a
     * time, its leader last. Off, or when no sentinel answers (a new stack, after `pulumi
     * destroy`), every container starts at once. A wrong answer costs one more hand-over, never data.
     * @default true
     */
    observeLiveCluster?: boolean;
}

/**
 * The whole Docker target: pinned images, the Tile38 replica set and the sentinel trio, all
 * with host networking (Linux Docker engines only), and with `backup.enabled` (the default) the
 * backup store and one backup agent per node (see {@link DockerClusterBackups}). Uses an explicit provider when
 * `docker.host` is set, the ambient Docker engine otherwise.
 */
export class DockerTile38Cluster extends pulumi.ComponentResource {
    readonly replicaSet: DockerTile38ReplicaSet;
    readonly sentinels: DockerSentinelTrio;
    /** Backup store and agents; undefined when `backup.enabled` is false. */
    readonly backups?: DockerClusterBackups;
    /** Advertised Tile38 endpoints, node 1 (initial leader) first. */
    readonly tile38Endpoints: Endpoint[];
    /** Advertised sentinel endpoints. */
    readonly sentinelEndpoints: Endpoint[];
    /** Container names: Tile38 nodes (node 1 first) and sentinels, for `docker` commands and drills. */
    readonly containerNames: { tile38: string[]; sentinels: string[] };
    /** Lettuce-style `redis-sentinel://…#mymaster` URI. */
    readonly sentinelUri: string;
    /** Sentinel master name. */
    readonly masterName: string;
    /** The Docker provider (explicit when `docker.host` is set). */
    readonly provider?: docker.Provider;

    constructor(name: string, args: DockerTile38ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:docker:Tile38Cluster", name, {}, opts);
        const { config } = args;
        if (config.target !== "docker") {
            throw new pulumi.ResourceError(`DockerTile38Cluster needs config.target "docker", got "${config.target}"`, this);
        }
        const prefix = config.docker.namePrefix;
        this.provider = config.docker.host ? new docker.Provider(`${prefix}-docker`, { host: config.docker.host }, { parent: this }) : undefined;
        const child: pulumi.CustomResourceOptions = { parent: this, provider: this.provider };
        const pull = (what: string, image: string) => new docker.RemoteImage(`${prefix}-${what}-image`, { name: image, keepLocally: true }, child);
        const tile38Image = pull("tile38", config.tile38.image);
        const sentinelImage = pull("sentinel", config.sentinel.image);
        const componentOpts: pulumi.ComponentResourceOptions = { parent: this, providers: this.provider ? [this.provider] : undefined };

        const topo = dockerTopology(config);
        const observe = (args.observeLiveCluster ?? true) && !pulumi.runtime.isDryRun();
        const live = observe ? pulumi.output(args.sentinelPassword).apply((pw) => observeLiveCluster(topo.sentinels, config.masterName, pw)) : undefined;
        this.sentinels = new DockerSentinelTrio(
            `${prefix}-sentinels`,
            { config, imageId: sentinelImage.imageId, tile38Password: args.tile38Password, sentinelPassword: args.sentinelPassword, live },
            componentOpts,
        );
        this.replicaSet = new DockerTile38ReplicaSet(
            `${prefix}-tile38`,
            {
                config,
                live,
                imageId: tile38Image.imageId,
                tile38Password: args.tile38Password,
                sentinelPassword: args.sentinelPassword,
                extraEnv: (i) => ({ ...dockerRestoreEnv(config), ...(args.tile38ExtraEnv ? args.tile38ExtraEnv(i) : {}) }),
            },
            { ...componentOpts, dependsOn: [this.sentinels] },
        );
        if (config.backup.enabled) {
            this.backups = new DockerClusterBackups(
                `${prefix}-backups`,
                {
                    config,
                    replicaSet: this.replicaSet,
                    tile38Password: args.tile38Password,
                    accessKeyId: args.backupAccessKeyId,
                    secretAccessKey: args.backupSecretAccessKey,
                },
                componentOpts,
            );
        }
        this.containerNames = { tile38: topo.nodes.map((n) => n.name), sentinels: topo.sentinels.map((x) => x.name) };
        this.tile38Endpoints = this.replicaSet.endpoints;
        this.sentinelEndpoints = this.sentinels.endpoints;
        this.masterName = config.masterName;
        this.sentinelUri = lettuceSentinelUri(this.sentinelEndpoints, config.masterName);
        this.registerOutputs({ tile38Endpoints: this.tile38Endpoints, sentinelEndpoints: this.sentinelEndpoints, sentinelUri: this.sentinelUri });
    }
}
