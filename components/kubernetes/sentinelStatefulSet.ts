import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { Topology } from "../render/topology";
import {
    CONFIG_HASH_ANNOTATION,
    CONFIGMAP_KEYS,
    containerSecurityContext,
    MOUNTS,
    claimLabels,
    podMeta,
    objectMeta,
    objectNames,
    ownFqdnExpression,
    POD_NAME_ENV,
    podSecurityContext,
    podScheduling,
    K8S_SECRET_KEYS,
    secretEnv,
    selectorLabels,
    sentinelTemplateKey,
    VOLUME_NAMES,
} from "./common";
import { sentinelExporterContainer } from "./sentinelExporter";
import { statefulSetReplacementOptions } from "./statefulSetReplacement";


/** Container port name of the sentinels. */
export const SENTINEL_PORT_NAME = "sentinel";

/** Headless Service that gives every sentinel pod its DNS name (its `announce-ip`), published before readiness. */
export function buildSentinelHeadlessServiceSpec(cfg: StackConfig): k8s.core.v1.ServiceArgs {
    return {
        metadata: objectMeta(objectNames(cfg).sentinelHeadless, cfg, "sentinel"),
        spec: {
            clusterIP: "None",
            publishNotReadyAddresses: true,
            selector: selectorLabels("sentinel", cfg),
            ports: [{ name: SENTINEL_PORT_NAME, port: cfg.sentinel.port, targetPort: SENTINEL_PORT_NAME }],
        },
    };
}

/**
 * ClusterIP Service in front of the ready sentinels: the one address clients configure
 * (`sentinel.<ns>.svc.<domain>:<port>`). Clients then learn the other sentinels and the leader
 * by their FQDNs from the sentinels themselves.
 */
export function buildSentinelClientServiceSpec(cfg: StackConfig): k8s.core.v1.ServiceArgs {
    return {
        metadata: objectMeta(objectNames(cfg).sentinelClient, cfg, "sentinel"),
        spec: {
            type: "ClusterIP",
            selector: selectorLabels("sentinel", cfg),
            ports: [{ name: SENTINEL_PORT_NAME, port: cfg.sentinel.port, targetPort: SENTINEL_PORT_NAME }],
        },
    };
}

/** The sentinel container's environment (see SENTINEL_SCRIPT_ENV in components/render/sentinelScripts.ts). */
export function buildSentinelEnv(cfg: StackConfig): k8s.types.input.core.v1.EnvVar[] {
    return [
        POD_NAME_ENV,
        { name: "SELF", value: `${ownFqdnExpression(objectNames(cfg).sentinelHeadless, cfg)}:${cfg.sentinel.port}` },
        { name: "SENTINEL_TEMPLATE", value: `${MOUNTS.templates}/$(POD_NAME).conf` },
        { name: "DATA_DIR", value: MOUNTS.data },
        secretEnv("TILE38_PASSWORD", K8S_SECRET_KEYS.tile38Password, cfg),
        secretEnv("SENTINEL_PASSWORD", K8S_SECRET_KEYS.sentinelPassword, cfg),
    ];
}

/**
 * The sentinel container's readiness command: an authenticated PING. (Sentinel's timing,
 * MIN-LINK-RECONNECT-PERIOD included, is set by the Tile38 nodes: components/render/sentinelTiming.ts.)
 */
export function sentinelReadyCommand(cfg: StackConfig): string {
    return `REDISCLI_AUTH="$SENTINEL_PASSWORD" redis-cli -p ${cfg.sentinel.port} ping | grep -q PONG`;
}

/**
 * The sentinel StatefulSet. Every pod builds its own writable `sentinel.conf` at start from its
 * own template (`/templates/$(POD_NAME).conf`) on its own small persistent volume, so that its
 * `myid` and epochs survive restarts and reschedules (with an emptyDir a restarted sentinel would
 * come back with a new id, and its peers would count a ghost sentinel until `SENTINEL RESET`).
 * With `metrics.enabled` each pod also runs the sentinel's exporter (see sentinelExporter.ts).
 */
export function buildSentinelStatefulSetSpec(cfg: StackConfig, topo: Topology, options: { configHash: string }): k8s.apps.v1.StatefulSetArgs {
    const k = cfg.kubernetes;
    const ping = sentinelReadyCommand(cfg);
    const sentinel: k8s.types.input.core.v1.Container = {
        name: "sentinel",
        image: cfg.sentinel.image,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", `${MOUNTS.scripts}/${CONFIGMAP_KEYS.sentinelStart}`],
        env: buildSentinelEnv(cfg),
        ports: [{ name: SENTINEL_PORT_NAME, containerPort: cfg.sentinel.port, protocol: "TCP" }],
        resources: { requests: { ...k.sentinelResources.requests }, limits: { ...k.sentinelResources.limits } },
        // The start script asks its peers for at most a few seconds before it starts the sentinel.
        // Checked every second, like Tile38's: readiness is not probed before it passes.
        startupProbe: { tcpSocket: { port: SENTINEL_PORT_NAME }, periodSeconds: 1, failureThreshold: 60 },
        readinessProbe: { exec: { command: ["sh", "-c", ping] }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
        livenessProbe: { tcpSocket: { port: SENTINEL_PORT_NAME }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
        securityContext: containerSecurityContext(),
        volumeMounts: [
            { name: VOLUME_NAMES.data, mountPath: MOUNTS.data },
            { name: VOLUME_NAMES.scripts, mountPath: MOUNTS.scripts, readOnly: true },
            { name: VOLUME_NAMES.templates, mountPath: MOUNTS.templates, readOnly: true },
            { name: VOLUME_NAMES.tmp, mountPath: MOUNTS.tmp },
        ],
    };
    const exporter = sentinelExporterContainer(cfg);
    const templateItems = topo.sentinels.map((s) => ({ key: sentinelTemplateKey(s.index, cfg), path: sentinelTemplateKey(s.index, cfg) }));
    return {
        metadata: objectMeta(objectNames(cfg).sentinel, cfg, "sentinel"),
        spec: {
            serviceName: objectNames(cfg).sentinelHeadless,
            replicas: cfg.sentinels,
            podManagementPolicy: "Parallel",
            updateStrategy: { type: "RollingUpdate" },
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            selector: { matchLabels: selectorLabels("sentinel", cfg) },
            template: {
                metadata: podMeta("sentinel", cfg, { [CONFIG_HASH_ANNOTATION]: options.configHash }),
                spec: {
                    serviceAccountName: objectNames(cfg).sentinelServiceAccount,
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    terminationGracePeriodSeconds: 30,
                    securityContext: podSecurityContext("sentinel"),
                    ...podScheduling("sentinel", cfg),
                    // The sentinel first: the pod's default container for kubectl exec and logs.
                    containers: exporter ? [sentinel, exporter] : [sentinel],
                    volumes: [
                        { name: VOLUME_NAMES.scripts, configMap: { name: objectNames(cfg).configMap, defaultMode: 0o444, items: [{ key: CONFIGMAP_KEYS.sentinelStart, path: CONFIGMAP_KEYS.sentinelStart }] } },
                        { name: VOLUME_NAMES.templates, configMap: { name: objectNames(cfg).configMap, defaultMode: 0o444, items: templateItems } },
                        { name: VOLUME_NAMES.tmp, emptyDir: { sizeLimit: "16Mi" } },
                    ],
                },
            },
            volumeClaimTemplates: [
                {
                    metadata: { name: VOLUME_NAMES.data, labels: claimLabels("sentinel", cfg) },
                    spec: {
                        accessModes: ["ReadWriteOnce"],
                        resources: { requests: { storage: k.sentinelStorageSize } },
                        ...(k.storageClass !== undefined ? { storageClassName: k.storageClass } : {}),
                    },
                },
            ],
        },
    };
}

/** At most one sentinel down through voluntary disruptions: a trio keeps its quorum of 2. */
export function buildSentinelPdbSpec(cfg: StackConfig): k8s.policy.v1.PodDisruptionBudgetArgs {
    return {
        metadata: objectMeta(objectNames(cfg).sentinelPdb, cfg, "sentinel"),
        spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels("sentinel", cfg) } },
    };
}

/** Arguments of {@link SentinelStatefulSet}. */
export interface SentinelStatefulSetArgs {
    /** The complete stack config: image, port, sentinel count, resources, storage. */
    config: StackConfig;
    /** The Kubernetes topology (`kubernetesTopology(config)`). */
    topology: Topology;
    /** Hash of the sentinel script and templates (see `contentHash`); a change rolls the pods. */
    configHash: string;
}

/** The sentinel trio: headless Service, client Service, StatefulSet and PodDisruptionBudget. */
export class SentinelStatefulSet extends pulumi.ComponentResource {
    /** Headless Service (`sentinel-headless`) that names the pods. */
    readonly headlessService: k8s.core.v1.Service;
    /** ClusterIP Service (`sentinel`) for clients. */
    readonly clientService: k8s.core.v1.Service;
    /** The StatefulSet (`sentinel`). */
    readonly statefulSet: k8s.apps.v1.StatefulSet;
    /** PodDisruptionBudget, maxUnavailable 1. */
    readonly podDisruptionBudget: k8s.policy.v1.PodDisruptionBudget;

    constructor(name: string, args: SentinelStatefulSetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:SentinelStatefulSet", name, {}, opts);
        this.headlessService = new k8s.core.v1.Service(`${name}-headless`, buildSentinelHeadlessServiceSpec(args.config), { parent: this });
        this.clientService = new k8s.core.v1.Service(`${name}-client`, buildSentinelClientServiceSpec(args.config), { parent: this });
        this.statefulSet = new k8s.apps.v1.StatefulSet(name, buildSentinelStatefulSetSpec(args.config, args.topology, { configHash: args.configHash }), {
            parent: this,
            dependsOn: [this.headlessService],
            ...statefulSetReplacementOptions(),
        });
        this.podDisruptionBudget = new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, buildSentinelPdbSpec(args.config), { parent: this });
        this.registerOutputs({ statefulSet: this.statefulSet, headlessService: this.headlessService, clientService: this.clientService });
    }
}
