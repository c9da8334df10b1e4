import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { Endpoint, kubernetesTopology, Topology } from "../render/topology";
import { KubernetesClusterBackups } from "./clusterBackups";
import { ClusterConfiguration, ClusterSecrets } from "./clusterConfiguration";
import { CONFIGMAP_KEYS, contentHash, objectLabels, objectNames, sentinelTemplateKey, serviceFqdn } from "./common";
import { ClusterNetworkPolicies } from "./networkPolicies";
import { SentinelServiceAccount } from "./sentinelServiceAccount";
import { SentinelStatefulSet } from "./sentinelStatefulSet";
import { Tile38ServiceAccount } from "./serviceAccount";
import { Tile38BackupHook, Tile38StatefulSet } from "./tile38StatefulSet";

/** Arguments of {@link KubernetesTile38Cluster}. */
export interface KubernetesTile38ClusterArgs {
    /** The complete, validated stack config; `target` must be `kubernetes`. */
    config: StackConfig;
    /** The cluster passwords (e.g. from `ClusterPasswords`) and backup keys; they end up only in the Secret. */
    passwords: ClusterSecrets;
    /**
     * Backup additions to the Tile38 pods (env, restore command, sidecars, IRSA annotations).
     * Default: with `backup.enabled` (the default), {@link KubernetesClusterBackups} creates the
     * bucket (and IAM) and supplies them; give a hook to bring your own instead. Without
     * `backup.enabled` and without a hook, the pods run Tile38 alone.
     */
    backup?: Tile38BackupHook;
    /** Provider for every object (see `createKubernetesProvider`). Default: the ambient default provider. */
    provider?: k8s.Provider;
}

/** The pure plan of the cluster: topology, ConfigMap hashes, endpoints. */
export interface KubernetesClusterPlan {
    topology: Topology;
    tile38Endpoints: Endpoint[];
    sentinelEndpoints: Endpoint[];
    sentinelServiceHost: string;
}

/** Computes the plan of {@link KubernetesTile38Cluster} without creating anything. */
export function planKubernetesCluster(cfg: StackConfig): KubernetesClusterPlan {
    if (cfg.target !== "kubernetes") {
        throw new Error(`KubernetesTile38Cluster needs target "kubernetes" (got ${JSON.stringify(cfg.target)})`);
    }
    const topology = kubernetesTopology(cfg);
    return {
        topology,
        tile38Endpoints: topology.nodes.map(({ host, port }) => ({ host, port })),
        sentinelEndpoints: topology.sentinels.map(({ host, port }) => ({ host, port })),
        sentinelServiceHost: serviceFqdn(objectNames(cfg).sentinelClient, cfg),
    };
}

/**
 * A Tile38 replica set watched by a sentinel trio on Kubernetes: optional Namespace, Secret,
 * ConfigMap, ServiceAccount, the two StatefulSets with their headless Services and PDBs, the
 * sentinels' client Service and (optionally) NetworkPolicies. Every address is a stable DNS name.
 */
export class KubernetesTile38Cluster extends pulumi.ComponentResource {
    /** Every Tile38 pod: FQDN and port. */
    readonly tile38Endpoints: pulumi.Output<Endpoint[]>;
    /** Every sentinel pod: FQDN and port. */
    readonly sentinelEndpoints: pulumi.Output<Endpoint[]>;
    /** DNS name of the sentinels' client Service (`sentinel.<ns>.svc.<domain>`). */
    readonly sentinelServiceHost: pulumi.Output<string>;
    /** The sentinels' client port. */
    readonly sentinelPort: pulumi.Output<number>;
    /** Name under which the sentinels monitor the replica set. */
    readonly masterName: pulumi.Output<string>;
    /** Namespace of every object. */
    readonly namespace: pulumi.Output<string>;
    /** ServiceAccount of the Tile38 pods (for IRSA trust policies). */
    readonly serviceAccountName: pulumi.Output<string>;
    /** The ConfigMap (scripts, sentinel templates) and the Secret (passwords). */
    readonly configuration: ClusterConfiguration;
    /** The Tile38 StatefulSet with its headless Service and PDB. */
    readonly tile38: Tile38StatefulSet;
    /** The sentinel StatefulSet with its headless and client Services and PDB. */
    readonly sentinels: SentinelStatefulSet;
    /** Bucket and IAM of the backups; undefined when `backup.enabled` is false or a hook was given. */
    readonly backups?: KubernetesClusterBackups;
    /** The NetworkPolicies; undefined when `kubernetes.networkPolicies` is false. */
    readonly networkPolicies?: ClusterNetworkPolicies;

    constructor(name: string, args: KubernetesTile38ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:KubernetesTile38Cluster", name, {}, opts);
        const cfg = args.config;
        if (cfg.target !== "kubernetes") {
            throw new pulumi.ResourceError(`args.config.target must be target "kubernetes" (got ${JSON.stringify(cfg.target)}): use DockerTile38Cluster for docker`, this);
        }
        const plan = planKubernetesCluster(cfg);
        const k = cfg.kubernetes;
        const childOpts: pulumi.ComponentResourceOptions = { parent: this, ...(args.provider ? { providers: [args.provider] } : {}) };

        let namespace: pulumi.Output<string>;
        const afterNamespace: pulumi.Resource[] = [];
        if (k.createNamespace) {
            const ns = new k8s.core.v1.Namespace(
                `${name}-namespace`,
                { metadata: { name: k.namespace, labels: objectLabels(undefined, cfg) } },
                { parent: this, ...(args.provider ? { provider: args.provider } : {}) },
            );
            namespace = ns.metadata.name;
            afterNamespace.push(ns);
        } else {
            namespace = pulumi.output(k.namespace);
        }
        const inNamespace: pulumi.ComponentResourceOptions = { ...childOpts, dependsOn: afterNamespace };

        let backup = args.backup;
        if (backup === undefined && cfg.backup.enabled) {
            const staticCredentials = args.passwords.backupAccessKeyId !== undefined && args.passwords.backupSecretAccessKey !== undefined;
            // Cloud resources: they use the ambient AWS provider, not the Kubernetes one.
            this.backups = new KubernetesClusterBackups(`${name}-backups`, { config: cfg, staticCredentials }, { parent: this });
            backup = this.backups.hook;
        }

        this.configuration = new ClusterConfiguration(`${name}-config`, { config: cfg, topology: plan.topology, passwords: args.passwords }, inNamespace);
        const serviceAccount = new Tile38ServiceAccount(
            `${name}-sa`,
            { config: cfg, extraAnnotations: backup?.serviceAccountAnnotations },
            inNamespace,
        );
        const sentinelServiceAccount = new SentinelServiceAccount(`${name}-sentinel-sa`, { config: cfg }, inNamespace);
        const data = this.configuration.data;
        // Pods are admitted only once their ServiceAccount exists: create both accounts first.
        const afterConfig: pulumi.ComponentResourceOptions = { ...childOpts, dependsOn: [...afterNamespace, this.configuration, serviceAccount, sentinelServiceAccount] };
        this.tile38 = new Tile38StatefulSet(
            `${name}-tile38`,
            {
                config: cfg,
                topology: plan.topology,
                configHash: contentHash(data[CONFIGMAP_KEYS.tile38Start], data[CONFIGMAP_KEYS.tile38Stop]),
                backup,
            },
            afterConfig,
        );
        this.sentinels = new SentinelStatefulSet(
            `${name}-sentinel`,
            {
                config: cfg,
                topology: plan.topology,
                configHash: contentHash(data[CONFIGMAP_KEYS.sentinelStart], ...plan.topology.sentinels.map((s) => data[sentinelTemplateKey(s.index, cfg)])),
            },
            afterConfig,
        );
        if (k.networkPolicies) this.networkPolicies = new ClusterNetworkPolicies(`${name}-netpol`, { config: cfg }, inNamespace);

        // Endpoints are known up front (stable names), but consumers should wait for the objects.
        this.tile38Endpoints = this.tile38.statefulSet.metadata.apply(() => plan.tile38Endpoints);
        this.sentinelEndpoints = this.sentinels.statefulSet.metadata.apply(() => plan.sentinelEndpoints);
        this.sentinelServiceHost = this.sentinels.clientService.metadata.apply(() => plan.sentinelServiceHost);
        this.sentinelPort = pulumi.output(cfg.sentinel.port);
        this.masterName = pulumi.output(cfg.masterName);
        this.namespace = namespace;
        this.serviceAccountName = serviceAccount.name;
        this.registerOutputs({
            tile38Endpoints: this.tile38Endpoints,
            sentinelEndpoints: this.sentinelEndpoints,
            sentinelServiceHost: this.sentinelServiceHost,
            sentinelPort: this.sentinelPort,
            masterName: this.masterName,
            namespace: this.namespace,
            serviceAccountName: this.serviceAccountName,
        });
    }
}
