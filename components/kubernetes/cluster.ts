import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig, Target } from "../../config/types";
import { KubernetesTile38ClusterArgs, resolveClusterArgs } from "../clusterArgs";
import { ClusterConnection, clusterConnection } from "../connection";
import { clusterPasswords } from "../passwords";
import { Endpoint, kubernetesTopology, Topology } from "../render/topology";
import { KubernetesClusterBackups } from "./clusterBackups";
import { ClusterConfiguration } from "./clusterConfiguration";
import { CONFIGMAP_KEYS, contentHash, objectLabels, objectNames, sentinelTemplateKey, serviceFqdn } from "./common";
import { ClusterMonitors } from "./monitors";
import { ClusterNetworkPolicies } from "./networkPolicies";
import { KubernetesPasswordSwitch } from "./passwordSwitch";
import { SentinelServiceAccount } from "./sentinelServiceAccount";
import { SentinelStatefulSet } from "./sentinelStatefulSet";
import { Tile38ServiceAccount } from "./serviceAccount";
import { Tile38StatefulSet } from "./tile38StatefulSet";

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
 * ConfigMap, ServiceAccounts, the two StatefulSets with their headless Services and PDBs, the
 * sentinels' client Service, (optionally) NetworkPolicies, a PodMonitor and a PrometheusRule, and
 * with `backup.enabled` (the default) the backup bucket and IAM. Every address is a stable DNS name. Every argument is optional; the
 * cluster comes from the resource options' `kubernetes` provider (or the ambient kubeconfig).
 */
export class KubernetesTile38Cluster extends pulumi.ComponentResource {
    /** How clients connect: sentinels, master name, passwords (secret), URIs. */
    readonly connection: ClusterConnection;
    /** Every Tile38 pod: FQDN and port (for operations; clients go through the sentinels). */
    readonly tile38Endpoints: pulumi.Output<Endpoint[]>;
    /** Every sentinel pod: FQDN and port. */
    readonly sentinelEndpoints: pulumi.Output<Endpoint[]>;
    /** DNS name of the sentinels' client Service (`<prefix>sentinel.<ns>.svc.<domain>`). */
    readonly sentinelServiceHost: pulumi.Output<string>;
    /** The sentinels' client port. */
    readonly sentinelPort: pulumi.Output<number>;
    /** Namespace of every object. */
    readonly namespace: pulumi.Output<string>;
    /** ServiceAccount of the Tile38 pods (for IRSA trust policies). */
    readonly serviceAccountName: pulumi.Output<string>;
    /** Bucket of the AOF backups; undefined when `backup.enabled` is false. */
    readonly backupBucket?: pulumi.Output<string>;
    /** S3 endpoint of the backups (`backup.endpoint`); undefined = AWS or no backups. */
    readonly backupEndpoint?: pulumi.Output<string>;
    /** ARN of the backup writer role the pods assume through IRSA; undefined without `backup.oidcProviderArn`. */
    readonly backupRoleArn?: pulumi.Output<string>;

    constructor(name: string, args: KubernetesTile38ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:index:KubernetesTile38Cluster", name, {}, { ...opts, aliases: [...(opts?.aliases ?? []), { type: "tile38-ha:kubernetes:KubernetesTile38Cluster" }] });
        const { config: cfg, secrets } = resolveClusterArgs(Target.Kubernetes, name, args ?? {});
        const passwords = clusterPasswords(name, secrets, this);
        const plan = planKubernetesCluster(cfg);
        const k = cfg.kubernetes;
        const childOpts: pulumi.ComponentResourceOptions = { parent: this };

        let namespace: pulumi.Output<string>;
        const afterNamespace: pulumi.Resource[] = [];
        if (k.createNamespace) {
            const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: k.namespace, labels: objectLabels(undefined, cfg) } }, { parent: this });
            namespace = ns.metadata.name;
            afterNamespace.push(ns);
        } else {
            namespace = pulumi.output(k.namespace);
        }
        const inNamespace: pulumi.ComponentResourceOptions = { ...childOpts, dependsOn: afterNamespace };

        const staticCredentials = secrets.backupAccessKeyId !== undefined && secrets.backupSecretAccessKey !== undefined;
        // Cloud resources: the ambient AWS provider (or the options' `aws` provider), not the Kubernetes one.
        const backups = cfg.backup.enabled ? new KubernetesClusterBackups(`${name}-backups`, { config: cfg, staticCredentials }, { parent: this }) : undefined;
        const backup = backups?.hook;

        const sentinelServiceAccount = new SentinelServiceAccount(`${name}-sentinel-sa`, { config: cfg }, inNamespace);
        // Before the cluster Secret changes and any pod rolls: the running processes accept the new
        // passwords (the Job reads the old ones from the Secret as still deployed).
        const passwordSwitch = new KubernetesPasswordSwitch(
            `${name}-password-switch`,
            { config: cfg, topology: plan.topology, tile38Password: passwords.tile38, sentinelPassword: passwords.sentinel },
            { ...childOpts, dependsOn: [...afterNamespace, sentinelServiceAccount] },
        );
        const configuration = new ClusterConfiguration(
            `${name}-config`,
            {
                config: cfg,
                topology: plan.topology,
                passwords: { tile38: passwords.tile38, sentinel: passwords.sentinel, backupAccessKeyId: secrets.backupAccessKeyId, backupSecretAccessKey: secrets.backupSecretAccessKey },
            },
            { ...childOpts, dependsOn: [...afterNamespace, passwordSwitch] },
        );
        const serviceAccount = new Tile38ServiceAccount(`${name}-sa`, { config: cfg, extraAnnotations: backup?.serviceAccountAnnotations }, inNamespace);
        const data = configuration.data;
        // Pods are admitted only once their ServiceAccount exists: create both accounts first.
        const afterConfig: pulumi.ComponentResourceOptions = { ...childOpts, dependsOn: [...afterNamespace, configuration, serviceAccount, sentinelServiceAccount] };
        const tile38 = new Tile38StatefulSet(
            `${name}-tile38`,
            {
                config: cfg,
                topology: plan.topology,
                configHash: contentHash(data[CONFIGMAP_KEYS.tile38Start], data[CONFIGMAP_KEYS.tile38Stop]),
                backup,
                passwordsGeneration: passwordSwitch.generation,
            },
            afterConfig,
        );
        const sentinels = new SentinelStatefulSet(
            `${name}-sentinel`,
            {
                config: cfg,
                topology: plan.topology,
                configHash: contentHash(data[CONFIGMAP_KEYS.sentinelStart], ...plan.topology.sentinels.map((s) => data[sentinelTemplateKey(s.index, cfg)])),
            },
            afterConfig,
        );
        if (k.networkPolicies) new ClusterNetworkPolicies(`${name}-netpol`, { config: cfg }, inNamespace);
        // The operator's custom resources only when asked for: their CRDs may not exist.
        if (cfg.metrics.podMonitor || cfg.metrics.prometheusRule) new ClusterMonitors(`${name}-monitors`, { config: cfg, clusterName: name }, inNamespace);

        // Endpoints are known up front (stable names), but consumers should wait for the objects.
        this.tile38Endpoints = tile38.statefulSet.metadata.apply(() => plan.tile38Endpoints);
        this.sentinelEndpoints = sentinels.statefulSet.metadata.apply(() => plan.sentinelEndpoints);
        this.sentinelServiceHost = sentinels.clientService.metadata.apply(() => plan.sentinelServiceHost);
        this.sentinelPort = pulumi.output(cfg.sentinel.port);
        this.namespace = namespace;
        this.serviceAccountName = serviceAccount.name;
        this.connection = clusterConnection(this.sentinelEndpoints, cfg.masterName, passwords);
        this.backupBucket = backups?.bucket.bucketName;
        this.backupEndpoint = cfg.backup.enabled && cfg.backup.endpoint !== undefined ? pulumi.output(cfg.backup.endpoint) : undefined;
        this.backupRoleArn = backups?.iam?.roleArn;
        this.registerOutputs({
            connection: this.connection,
            tile38Endpoints: this.tile38Endpoints,
            sentinelEndpoints: this.sentinelEndpoints,
            sentinelServiceHost: this.sentinelServiceHost,
            namespace: this.namespace,
        });
    }
}
