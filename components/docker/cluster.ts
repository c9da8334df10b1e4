import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig, Target } from "../../config/types";
import { ClusterSecrets, DockerTile38ClusterArgs, resolveClusterArgs } from "../clusterArgs";
import { ClusterConnection, clusterConnection } from "../connection";
import { ClusterPasswordOutputs, clusterPasswords } from "../passwords";
import { dockerTopology, Endpoint } from "../render/topology";
import { DockerClusterBackups, dockerRestoreEnv } from "./clusterBackups";
import { observeLiveCluster, sentinelPasswordRotating } from "./liveLeader";
import { DockerPasswordSwitch } from "./passwordSwitch";
import { tile38WaitsForSentinels, unknownLivenessWarning } from "./rolloutOrder";
import { DockerSentinelExporters } from "./sentinelExporters";
import { DockerSentinelTrio } from "./sentinelTrio";
import { DockerTile38ReplicaSet } from "./tile38ReplicaSet";

/**
 * The whole Docker target: pinned images, the Tile38 replica set and the sentinel trio, all
 * with host networking (Linux Docker engines only), and with `backup.enabled` (the default) the
 * backup store and one backup agent per node (see {@link DockerClusterBackups}). Uses an explicit provider when
 * `docker.host` is set, the ambient Docker engine (or the `docker` provider of the resource
 * options) otherwise. Every argument is optional: `new DockerTile38Cluster("geo", {})` is a
 * three-node cluster on 127.0.0.1 with generated passwords and local backups.
 */
export class DockerTile38Cluster extends pulumi.ComponentResource {
    /** How clients connect: sentinels, master name, passwords (secret), URIs. */
    readonly connection: ClusterConnection;
    /** Advertised Tile38 endpoints, node 1 (initial leader) first (for operations; clients go through the sentinels). */
    readonly tile38Endpoints: pulumi.Output<Endpoint[]>;
    /** Advertised sentinel endpoints. */
    readonly sentinelEndpoints: pulumi.Output<Endpoint[]>;
    /** Container names of the Tile38 nodes (node 1 first), for `docker` commands and drills. */
    readonly tile38Containers: pulumi.Output<string[]>;
    /** Container names of the sentinels. */
    readonly sentinelContainers: pulumi.Output<string[]>;
    /** Bucket of the AOF backups; undefined when `backup.enabled` is false. */
    readonly backupBucket?: pulumi.Output<string>;
    /** S3 endpoint of the backups (the local store's); undefined = AWS or no backups. */
    readonly backupEndpoint?: pulumi.Output<string>;
    /** The agents' S3 access key id (secret), for manual restores; undefined = the instance role or no backups. */
    readonly backupAccessKeyId?: pulumi.Output<string>;
    /** The agents' S3 secret access key (secret); as `backupAccessKeyId`. */
    readonly backupSecretAccessKey?: pulumi.Output<string>;
    /** ARN of the IAM policy that lets the backup agents write (attach it to the Docker host's role); store `aws` only. */
    readonly backupWriterPolicyArn?: pulumi.Output<string>;
    /**
     * What Prometheus scrapes (`host:port`, path `/metrics`), per component, empty lists when
     * `metrics.enabled` is false: Tile38's endpoints, the sentinels' exporters, the backup agents.
     */
    readonly metricsTargets: pulumi.Output<MetricsTargets>;

    constructor(name: string, args: DockerTile38ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:index:DockerTile38Cluster", name, {}, { ...opts, aliases: [...(opts?.aliases ?? []), { type: "tile38-ha:docker:Tile38Cluster" }] });
        const { config, secrets } = resolveClusterArgs(Target.Docker, name, args ?? {});
        const passwords = clusterPasswords(name, secrets, this);
        const built = buildDockerCluster(this, config, passwords, secrets, args?.observeLiveCluster ?? true);
        this.connection = clusterConnection(built.sentinels.endpoints, config.masterName, passwords);
        this.tile38Endpoints = pulumi.output(built.replicaSet.endpoints);
        this.sentinelEndpoints = pulumi.output(built.sentinels.endpoints);
        const topo = dockerTopology(config);
        this.tile38Containers = pulumi.output(topo.nodes.map((n) => n.name));
        this.sentinelContainers = pulumi.output(topo.sentinels.map((x) => x.name));
        const b = built.backups;
        this.backupBucket = b?.bucketName;
        this.backupEndpoint = b?.endpoint === undefined ? undefined : pulumi.output(b.endpoint);
        this.backupAccessKeyId = b?.accessKeyId;
        this.backupSecretAccessKey = b?.secretAccessKey;
        this.backupWriterPolicyArn = b?.iam?.policyArn;
        this.metricsTargets = pulumi.output(dockerMetricsTargets(config));
        this.registerOutputs({ connection: this.connection, tile38Endpoints: this.tile38Endpoints, sentinelEndpoints: this.sentinelEndpoints, metricsTargets: this.metricsTargets });
    }
}

/** Prometheus targets (`host:port`) of a Docker cluster, per component. */
export interface MetricsTargets {
    /** Tile38's own metrics, node 1 first. */
    tile38: string[];
    /** The sentinels' exporters, sentinel 1 first. */
    sentinel: string[];
    /** The backup agents, node 1 first (empty without backups). */
    backup: string[];
}

/** The metrics endpoints of a Docker cluster, at its advertised address. */
export function dockerMetricsTargets(config: StackConfig): MetricsTargets {
    const topo = dockerTopology(config);
    const at = (port: number | undefined, host: string) => (port === undefined ? [] : [`${host}:${port}`]);
    return {
        tile38: topo.nodes.flatMap((n) => at(n.metricsPort, n.host)),
        sentinel: topo.sentinels.flatMap((s) => at(s.exporterPort, s.host)),
        backup: topo.nodes.flatMap((n) => at(n.backupMetricsPort, n.host)),
    };
}

/** The children of a Docker cluster. */
interface BuiltDockerCluster {
    replicaSet: DockerTile38ReplicaSet;
    sentinels: DockerSentinelTrio;
    exporters?: DockerSentinelExporters;
    backups?: DockerClusterBackups;
}

/** Pinned images, the sentinel trio, the replica set and the backups, children of `parent`. */
function buildDockerCluster(parent: pulumi.ComponentResource, config: StackConfig, passwords: ClusterPasswordOutputs, secrets: ClusterSecrets, observeLive: boolean): BuiltDockerCluster {
    const prefix = config.docker.namePrefix;
    const provider = config.docker.host ? new docker.Provider(`${prefix}-docker`, { host: config.docker.host }, { parent }) : undefined;
    const child: pulumi.CustomResourceOptions = { parent, provider };
    const pull = (what: string, image: string) => new docker.RemoteImage(`${prefix}-${what}-image`, { name: image, keepLocally: true }, child);
    const tile38Image = pull("tile38", config.tile38.image);
    const sentinelImage = pull("sentinel", config.sentinel.image);
    const componentOpts: pulumi.ComponentResourceOptions = { parent, providers: provider ? [provider] : undefined };

    const topo = dockerTopology(config);
    const observe = observeLive && !pulumi.runtime.isDryRun();
    // Asked before anything changes, with this update's sentinel password: a sentinel that refuses
    // it shows a sentinel password rotation (the running processes still hold the old one).
    const before = observe ? passwords.sentinel.apply((pw) => observeLiveCluster(topo.sentinels, config.masterName, pw)) : undefined;
    const sentinelsLast = before ? before.apply(sentinelPasswordRotating) : pulumi.output(false);
    // The live password switch runs first (once `before` is known), every container after it.
    const passwordSwitch = deferred<DockerPasswordSwitch>();
    const afterSwitch: pulumi.Output<pulumi.Resource[]> = pulumi.output(passwordSwitch.promise).apply((sw) => sw.done.apply((): pulumi.Resource[] => [sw.container]));
    // What the running sentinels say once the switch has run: the rollout order.
    const live = observe ? pulumi.all([afterSwitch, passwords.sentinel]).apply(([, pw]) => observeLiveCluster(topo.sentinels, config.masterName, pw)) : undefined;
    live?.apply((l) => {
        const warning = unknownLivenessWarning(l, topo.sentinels);
        if (warning) void pulumi.log.warn(warning, parent);
    });
    sentinelsLast.apply((last) => {
        if (last) void pulumi.log.info("tile38-ha: the sentinel password changes: the Tile38 nodes roll first, then the sentinels (they accept both passwords until replaced)", parent);
    });
    const nodeContainers = deferred<pulumi.Resource[]>();
    const sentinels = new DockerSentinelTrio(
        `${prefix}-sentinels`,
        {
            config,
            imageId: sentinelImage.imageId,
            tile38Password: passwords.tile38,
            sentinelPassword: passwords.sentinel,
            live,
            after: pulumi.all([afterSwitch, sentinelsLast]).apply(async ([sw, last]): Promise<pulumi.Resource[]> => (last ? [...sw, ...(await nodeContainers.promise)] : sw)),
        },
        componentOpts,
    );
    const replicaSet = new DockerTile38ReplicaSet(
        `${prefix}-tile38`,
        {
            config,
            live,
            imageId: tile38Image.imageId,
            tile38Password: passwords.tile38,
            sentinelPassword: passwords.sentinel,
            extraEnv: () => dockerRestoreEnv(config),
            after: pulumi
                .all([afterSwitch, sentinelsLast, live ?? pulumi.output(undefined)])
                .apply(([sw, last, l]): pulumi.Resource[] => (tile38WaitsForSentinels(l, topo.sentinels.length, last) ? [...sw, ...sentinels.containers] : sw)),
        },
        // Not `dependsOn: [sentinels]`: the component itself would then wait for the sentinels,
        // which wait for the switch, which mounts this component's volumes. Its containers wait.
        componentOpts,
    );
    nodeContainers.resolve(replicaSet.containers);
    const gated = (password: pulumi.Output<string>) => (before ? pulumi.all([password, before]).apply(([pw]) => pw) : password);
    passwordSwitch.resolve(
        new DockerPasswordSwitch(
            `${prefix}-password-switch`,
            {
                config,
                imageId: sentinelImage.imageId,
                tile38Password: gated(passwords.tile38),
                sentinelPassword: gated(passwords.sentinel),
                nodeVolumes: replicaSet.volumes,
                sentinelVolumes: sentinels.volumes,
            },
            componentOpts,
        ),
    );
    const backups = config.backup.enabled
        ? new DockerClusterBackups(
              `${prefix}-backups`,
              { config, replicaSet, tile38Password: passwords.tile38, accessKeyId: secrets.backupAccessKeyId, secretAccessKey: secrets.backupSecretAccessKey },
              componentOpts,
          )
        : undefined;
    const exporters = config.metrics.enabled
        ? new DockerSentinelExporters(
              `${prefix}-sentinel-exporters`,
              { config, imageId: pull("sentinel-exporter", config.metrics.sentinelExporterImage).imageId, sentinelPassword: passwords.sentinel },
              { ...componentOpts, dependsOn: [sentinels] },
          )
        : undefined;
    return { replicaSet, sentinels, exporters, backups };
}

/** A promise and the function that resolves it (for a resource that is constructed after the ones that wait for it). */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
}
