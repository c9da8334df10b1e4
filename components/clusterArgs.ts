/**
 * The typed arguments of the two cluster components, and their resolution into the complete,
 * validated {@link StackConfig} the components are built from. The same parser and validator
 * serve the stack config (`index.ts`) and these arguments: every problem is reported at once,
 * with its key and fix, when the component is constructed.
 *
 * The interfaces follow what Pulumi's schema inference accepts (`pulumi package add`): interfaces,
 * numbers, strings, booleans, maps, arrays and `as const` enums; no unions, no functions.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, RawStackValues } from "../config/parse";
import { SecretKey } from "../config/schema";
import { BackupSettings, DockerSettings, KubernetesSettings, MetricsSettings, SentinelSettings, StackConfig, Target, Tile38Settings } from "../config/types";
import { ConfigValidationError } from "../config/validate";

/** Arguments both targets take. Every field is optional; the defaults are those of the stack config. */
export interface ClusterArgs {
    /**
     * Number of Tile38 nodes (1 leader + followers).
     * @default 3
     */
    replicas?: number;
    /**
     * Number of sentinels; odd, so that a majority exists.
     * @default 3
     */
    sentinels?: number;
    /**
     * Sentinels that must agree a leader is down; at least a majority, at most `sentinels`.
     * @default 2
     */
    quorum?: number;
    /**
     * Name under which the sentinels monitor the replica set (what clients ask the sentinels for).
     * @default "mymaster"
     */
    masterName?: string;
    /** Tile38 settings (image, port, priorities, fencing, metrics). @default see each field */
    tile38?: Partial<Tile38Settings>;
    /** Sentinel settings (image, port, down-after, failover timeout). @default see each field */
    sentinel?: Partial<SentinelSettings>;
    /**
     * AOF backups to S3. On by default: Docker to a local S3-compatible container, Kubernetes to
     * an AWS bucket the component creates (`enabled: false` turns them off).
     * @default see each field
     */
    backup?: Partial<BackupSettings>;
    /**
     * Prometheus metrics: on by default (Tile38's, the sentinels' through redis_exporter, the
     * backup agents'); on Kubernetes also who may scrape them, a PodMonitor and a PrometheusRule.
     * @default see each field
     */
    metrics?: Partial<MetricsSettings>;
    /**
     * Tile38 password (`requirepass`, `leaderauth`). Unset: a random 32-character password is
     * generated and kept in the state as a secret. Always handled as a secret.
     */
    tile38Password?: pulumi.Input<string>;
    /** Sentinel password; as `tile38Password`. */
    sentinelPassword?: pulumi.Input<string>;
    /**
     * S3 access key id of the backup agents, for a store outside AWS (with `backupSecretAccessKey`;
     * both or neither). Docker `local` store: unset = generated. Unset otherwise = the instance or
     * pod role (IRSA). Kept secret.
     */
    backupAccessKeyId?: pulumi.Input<string>;
    /** S3 secret access key of the backup agents; as `backupAccessKeyId`. Kept secret. */
    backupSecretAccessKey?: pulumi.Input<string>;
}

/** Arguments of `DockerTile38Cluster`: {@link ClusterArgs} and the Docker host. */
export interface DockerTile38ClusterArgs extends ClusterArgs {
    /**
     * The Docker engine and host networking: engine address, advertised and bound address,
     * restart policy, name prefix (default: the component's name), rollout timeout.
     * @default see each field
     */
    docker?: Partial<DockerSettings>;
    /**
     * When a `pulumi up` (not a preview) runs, ask the running sentinels which node leads, so that
     * a running cluster rolls one container at a time, its leader last. When no sentinel answers
     * (a new cluster) every container starts at once.
     * @default true
     */
    observeLiveCluster?: boolean;
}

/** Arguments of `KubernetesTile38Cluster`: {@link ClusterArgs} and the Kubernetes workload settings. */
export interface KubernetesTile38ClusterArgs extends ClusterArgs {
    /**
     * Namespace (created, or an existing one with `createNamespace: false`), object name prefix
     * (default: `"<component name>-"`), storage, resources, scheduling (tolerations, node
     * selector, priority class, affinity and spread), labels and annotations, image pull secrets,
     * NetworkPolicies. The provider (and so the cluster) comes from the resource options: pass
     * `{ provider }` or `{ providers: [provider] }`.
     * @default see each field
     */
    kubernetes?: Partial<KubernetesSettings>;
}

/** The stack-config secrets, as the components take them. */
export type ClusterSecrets = Partial<Record<SecretKey, pulumi.Input<string>>>;

/** A complete, validated config and the secrets given, resolved from a component's arguments. */
export interface ResolvedCluster {
    config: StackConfig;
    secrets: ClusterSecrets;
}

const SECTIONS = ["tile38", "sentinel", "docker", "kubernetes", "backup", "metrics"] as const;

/**
 * Resolves a component's arguments: the stack config's defaults (names from the component's
 * name), the same coercion and validation, every problem at once in one
 * {@link ConfigValidationError} whose keys name the argument (`args.tile38.port`).
 */
export function resolveClusterArgs(target: Target, componentName: string, args: DockerTile38ClusterArgs | KubernetesTile38ClusterArgs, platform: string = process.platform): ResolvedCluster {
    const given = args as Record<string, unknown>;
    const raw: RawStackValues = { target };
    for (const key of ["replicas", "sentinels", "quorum", "masterName", ...SECTIONS] as const) {
        if (given[key] !== undefined) raw[key] = given[key];
    }
    const secrets: ClusterSecrets = {};
    for (const key of ["tile38Password", "sentinelPassword", "backupAccessKeyId", "backupSecretAccessKey"] as const) {
        const v = args[key];
        if (v !== undefined) {
            secrets[key] = v;
            raw[key] = "(secret)";
        }
    }
    const { config, issues } = parseStackConfig(raw, { stack: pulumi.getStack(), platform, component: componentName });
    if (issues.length > 0) {
        throw new ConfigValidationError(
            issues.map((i) => ({ ...i, key: i.key.replace(/^tile38-ha:/, "args.") })),
            `the arguments of ${target === "docker" ? "DockerTile38Cluster" : "KubernetesTile38Cluster"} "${componentName}"`,
        );
    }
    return { config, secrets };
}

/**
 * The arguments that reproduce a stack config exactly (every field explicit): how `index.ts`'s
 * stack-config path hands its validated config to the same components.
 */
export function clusterArgsFromConfig(config: StackConfig): DockerTile38ClusterArgs & KubernetesTile38ClusterArgs {
    const { replicas, sentinels, quorum, masterName, tile38, sentinel, backup, metrics, docker, kubernetes } = config;
    const common = { replicas, sentinels, quorum, masterName, tile38, sentinel, backup, metrics };
    return config.target === "docker" ? { ...common, docker } : { ...common, kubernetes };
}
