import * as pulumi from "@pulumi/pulumi";
import { LoadedStackConfig } from "../config/load";
import { Target } from "../config/types";
import { DockerTile38Cluster, MetricsTargets } from "./docker/cluster";
import { KubernetesTile38Cluster } from "./kubernetes/cluster";
import { createKubernetesProvider } from "./kubernetes/provider";
import { clusterArgsFromConfig } from "./clusterArgs";
import { ClusterPasswords } from "./passwords";
import { Endpoint } from "./render/topology";

/** What the program exports, whatever the target. */
export interface BuiltStack {
    target: Target;
    masterName: string;
    sentinelEndpoints: pulumi.Input<Endpoint[]>;
    sentinelUri: pulumi.Input<string>;
    tile38Endpoints: pulumi.Input<Endpoint[]>;
    tile38Password: pulumi.Output<string>;
    sentinelPassword: pulumi.Output<string>;
    /** Docker: container names of the Tile38 nodes (node 1 first) and of the sentinels; `npm run drill -- --stack` uses them. */
    dockerContainers?: pulumi.Input<{ tile38: string[]; sentinels: string[] }>;
    /** Bucket that holds the AOF backups; undefined when `backup.enabled` is false. */
    backupBucket?: pulumi.Input<string>;
    /** S3 endpoint of the backups (the local store's on Docker, `backup.endpoint`); undefined = AWS. */
    backupEndpoint?: pulumi.Input<string>;
    /** Docker: the agents' S3 access key id (secret), for manual restores; undefined = instance role. */
    backupAccessKeyId?: pulumi.Output<string>;
    /** Docker: the agents' S3 secret access key (secret). */
    backupSecretAccessKey?: pulumi.Output<string>;
    /** Docker: what Prometheus scrapes (`host:port` per component; see docs/monitoring.md). */
    metricsTargets?: pulumi.Input<MetricsTargets>;
}

/**
 * The program's stack outputs: every field of {@link BuiltStack} that has a value. A field left
 * undefined (the backup outputs with backups off) is omitted, not exported empty.
 */
export function stackOutputs(built: BuiltStack): Record<string, unknown> {
    return Object.fromEntries(Object.entries(built).filter(([, v]) => v !== undefined));
}

/**
 * Builds every resource of a stack from its loaded config (the body of index.ts): a thin adapter
 * onto the same components other programs create, with every field of the stack config explicit
 * (so the components' name-derived defaults never apply to a stack) and the passwords from the
 * stack's `ClusterPasswords` (which existing stacks hold in their state at the top level).
 */
export function buildStack({ config, secrets }: LoadedStackConfig): BuiltStack {
    const name = `tile38-ha-${pulumi.getStack()}`;
    const passwords = new ClusterPasswords(name, { tile38Password: secrets.tile38Password, sentinelPassword: secrets.sentinelPassword });
    const args = {
        ...clusterArgsFromConfig(config),
        tile38Password: passwords.tile38,
        sentinelPassword: passwords.sentinel,
        backupAccessKeyId: secrets.backupAccessKeyId,
        backupSecretAccessKey: secrets.backupSecretAccessKey,
    };
    const common = { target: config.target, masterName: config.masterName, tile38Password: passwords.tile38, sentinelPassword: passwords.sentinel };
    switch (config.target) {
        case "docker": {
            const cluster = new DockerTile38Cluster(name, args);
            return {
                ...common,
                sentinelEndpoints: cluster.sentinelEndpoints,
                sentinelUri: cluster.connection.lettuceUri,
                tile38Endpoints: cluster.tile38Endpoints,
                dockerContainers: pulumi.all([cluster.tile38Containers, cluster.sentinelContainers]).apply(([tile38, sentinels]) => ({ tile38, sentinels })),
                backupBucket: cluster.backupBucket,
                backupEndpoint: cluster.backupEndpoint,
                backupAccessKeyId: cluster.backupAccessKeyId,
                backupSecretAccessKey: cluster.backupSecretAccessKey,
                metricsTargets: config.metrics.enabled ? cluster.metricsTargets : undefined,
            };
        }
        case "kubernetes": {
            const cluster = new KubernetesTile38Cluster(name, args, { providers: [createKubernetesProvider(config, `${name}-k8s`)] });
            return {
                ...common,
                sentinelEndpoints: cluster.sentinelEndpoints,
                sentinelUri: cluster.connection.lettuceUri,
                tile38Endpoints: cluster.tile38Endpoints,
                backupBucket: cluster.backupBucket,
                backupEndpoint: cluster.backupEndpoint,
            };
        }
        default: {
            const unknown: never = config.target;
            throw new Error(`unknown target ${String(unknown)}`);
        }
    }
}
