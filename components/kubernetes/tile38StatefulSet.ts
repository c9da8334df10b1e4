import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { metricsPorts } from "../../config/validate";
import { Topology } from "../render/topology";
import { tile38ReadyCommand } from "../render/tile38Scripts";
import {
    CONFIG_HASH_ANNOTATION,
    PASSWORDS_ANNOTATION,
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
    VOLUME_NAMES,
} from "./common";
import { statefulSetReplacementOptions } from "./statefulSetReplacement";


/** Container port names. */
export const TILE38_PORT_NAMES = { tile38: "tile38", metrics: "metrics" } as const;

/**
 * Extra seconds, on top of `tile38.startupTimeoutSeconds`, that the startup probe allows before
 * Tile38 listens: loading a large AOF happens before the port opens.
 */
export const TILE38_AOF_LOAD_ALLOWANCE_SECONDS = 300;

/**
 * Seconds Kubernetes waits between the preStop hook's start and SIGKILL. The stop script waits
 * up to `failover-timeout` for the sentinels to move leadership away, so the grace period is that
 * plus 30 s for the RESP calls and Tile38's own shutdown.
 */
export function tile38TerminationGraceSeconds(cfg: StackConfig): number {
    return Math.ceil(cfg.sentinel.failoverTimeoutMilliseconds / 1000) + 30;
}

/**
 * A typed hook for the backup feature: what it adds to every Tile38 pod. Everything is optional;
 * without it the pods run Tile38 alone.
 */
export interface Tile38BackupHook {
    /** Extra env vars of the Tile38 container (bucket, region, key prefix, …). Default: none. */
    env?: k8s.types.input.core.v1.EnvVar[];
    /**
     * Shell command the start script runs (as `TILE38_RESTORE_CMD`, with `DATA_DIR` set) before an
     * empty node becomes the leader of a cluster in which no node holds data (total loss); it may
     * restore the newest backup into `$DATA_DIR`. Default: none (start empty).
     */
    restoreCommand?: string;
    /** Extra init containers (e.g. copying a restore tool into a shared volume). Default: none. */
    initContainers?: k8s.types.input.core.v1.Container[];
    /**
     * Extra containers in every Tile38 pod (e.g. an AOF uploader). They may mount the data volume
     * `data` (read-only, at `/data`). Default: none.
     */
    sidecars?: k8s.types.input.core.v1.Container[];
    /** Extra pod volumes for the init containers and sidecars. Default: none. */
    volumes?: k8s.types.input.core.v1.Volume[];
    /** ServiceAccount annotations, e.g. the backup role for IRSA. Default: none. */
    serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
}

/** Headless Service that gives every Tile38 pod its DNS name, published before the pod is ready. */
export function buildTile38HeadlessServiceSpec(cfg: StackConfig): k8s.core.v1.ServiceArgs {
    const ports: k8s.types.input.core.v1.ServicePort[] = [{ name: TILE38_PORT_NAMES.tile38, port: cfg.tile38.port, targetPort: TILE38_PORT_NAMES.tile38 }];
    if (metricsPorts(cfg).length > 0) ports.push({ name: TILE38_PORT_NAMES.metrics, port: cfg.tile38.metricsPort, targetPort: TILE38_PORT_NAMES.metrics });
    return {
        metadata: objectMeta(objectNames(cfg).tile38Headless, cfg, "tile38"),
        spec: {
            clusterIP: "None",
            // Followers resolve the leader (and the sentinels every node) while it is not yet ready:
            // a catching-up follower is never ready, and a leader's name must resolve from its first second.
            publishNotReadyAddresses: true,
            selector: selectorLabels("tile38", cfg),
            ports,
        },
    };
}

/** Options of {@link buildTile38StatefulSetSpec} beyond the config. */
export interface Tile38StatefulSetOptions {
    /** Hash of the scripts the pods run; changing it rolls the pods. */
    configHash: string;
    /** Backup additions. */
    backup?: Tile38BackupHook;
    /**
     * The passwords' generation (KubernetesPasswordSwitch.generation); a change rolls the pods
     * onto the cluster Secret's new passwords once the running processes accept them. Default: none.
     */
    passwordsGeneration?: pulumi.Input<string>;
}

/** The Tile38 container's environment (see TILE38_SCRIPT_ENV in components/render/tile38Scripts.ts). */
export function buildTile38Env(cfg: StackConfig, backup?: Tile38BackupHook): k8s.types.input.core.v1.EnvVar[] {
    const env: k8s.types.input.core.v1.EnvVar[] = [
        POD_NAME_ENV,
        { name: "NODE_HOST", value: ownFqdnExpression(objectNames(cfg).tile38Headless, cfg) },
        { name: "NODE_PORT", value: String(cfg.tile38.port) },
        { name: "DATA_DIR", value: MOUNTS.data },
        secretEnv("TILE38_PASSWORD", K8S_SECRET_KEYS.tile38Password, cfg),
        secretEnv("SENTINEL_PASSWORD", K8S_SECRET_KEYS.sentinelPassword, cfg),
    ];
    if (metricsPorts(cfg).length > 0) env.push({ name: "METRICS_PORT", value: String(cfg.tile38.metricsPort) });
    if (backup?.restoreCommand) env.push({ name: "TILE38_RESTORE_CMD", value: backup.restoreCommand });
    env.push(...(backup?.env ?? []));
    return env;
}

/**
 * The Tile38 StatefulSet. Every pod runs the same start script; its identity is its stable FQDN
 * (`NODE_HOST`), built by the kubelet from the pod name. `Parallel` pod management starts all
 * pods at once (the start script, not the ordinal, decides who leads); rolling updates still
 * replace one pod at a time, highest ordinal first, waiting for readiness, which a follower
 * reaches only once it has caught up (`/healthz`).
 */
export function buildTile38StatefulSetSpec(cfg: StackConfig, topo: Topology, options: Tile38StatefulSetOptions): k8s.apps.v1.StatefulSetArgs {
    const k = cfg.kubernetes;
    const backup = options.backup;
    const metrics = metricsPorts(cfg)[0];
    const ports: k8s.types.input.core.v1.ContainerPort[] = [{ name: TILE38_PORT_NAMES.tile38, containerPort: cfg.tile38.port, protocol: "TCP" }];
    if (metrics !== undefined) ports.push({ name: TILE38_PORT_NAMES.metrics, containerPort: metrics, protocol: "TCP" });

    const annotations: Record<string, pulumi.Input<string>> = { [CONFIG_HASH_ANNOTATION]: options.configHash };
    if (options.passwordsGeneration !== undefined) annotations[PASSWORDS_ANNOTATION] = options.passwordsGeneration;
    if (metrics !== undefined) {
        Object.assign(annotations, { "prometheus.io/scrape": "true", "prometheus.io/port": String(metrics), "prometheus.io/path": "/metrics" });
    }

    const tile38: k8s.types.input.core.v1.Container = {
        name: "tile38",
        image: cfg.tile38.image,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", `${MOUNTS.scripts}/${CONFIGMAP_KEYS.tile38Start}`],
        env: buildTile38Env(cfg, backup),
        ports,
        resources: { requests: { ...k.tile38Resources.requests }, limits: { ...k.tile38Resources.limits } },
        // Every second: readiness is not probed before this passes, and at 5 s a pod that
        // listened moments after a failed check waited up to 5 s more (measured on a real
        // kubelet: a few seconds of every pod of a first deploy). A TCP connect costs nothing.
        startupProbe: {
            tcpSocket: { port: TILE38_PORT_NAMES.tile38 },
            periodSeconds: 1,
            failureThreshold: topo.startupTimeoutSeconds + TILE38_AOF_LOAD_ALLOWANCE_SECONDS,
        },
        readinessProbe: {
            // Ready as in the Docker health check: serving, and the start script's ready mark. A
            // rolling update or a drain moves on only once the sentinels could promote this pod:
            // a pod back with a new IP is counted down by them for up to ~16 s while it serves
            // (measured on a real kubelet), and a rollout that took the leader away meanwhile
            // left no replica to hand over to.
            exec: { command: ["sh", "-c", tile38ReadyCommand("localhost", cfg.tile38.port, MOUNTS.data)] },
            periodSeconds: 2,
            timeoutSeconds: 2,
            failureThreshold: 3,
        },
        livenessProbe: { tcpSocket: { port: TILE38_PORT_NAMES.tile38 }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
        lifecycle: { preStop: { exec: { command: ["sh", `${MOUNTS.scripts}/${CONFIGMAP_KEYS.tile38Stop}`] } } },
        securityContext: containerSecurityContext(),
        volumeMounts: [
            { name: VOLUME_NAMES.data, mountPath: MOUNTS.data },
            { name: VOLUME_NAMES.scripts, mountPath: MOUNTS.scripts, readOnly: true },
            { name: VOLUME_NAMES.tmp, mountPath: MOUNTS.tmp },
        ],
    };

    const volumeClaim: k8s.types.input.core.v1.PersistentVolumeClaim = {
        metadata: { name: VOLUME_NAMES.data, labels: claimLabels("tile38", cfg) },
        spec: {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: k.storageSize } },
            ...(k.storageClass !== undefined ? { storageClassName: k.storageClass } : {}),
        },
    };

    return {
        metadata: objectMeta(objectNames(cfg).tile38, cfg, "tile38"),
        spec: {
            serviceName: objectNames(cfg).tile38Headless,
            replicas: cfg.replicas,
            podManagementPolicy: "Parallel",
            updateStrategy: { type: "RollingUpdate" },
            // Data outlives the StatefulSet and scale-downs: deleting a PVC is a manual decision.
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            selector: { matchLabels: selectorLabels("tile38", cfg) },
            template: {
                metadata: podMeta("tile38", cfg, annotations),
                spec: {
                    serviceAccountName: objectNames(cfg).serviceAccount,
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    terminationGracePeriodSeconds: tile38TerminationGraceSeconds(cfg),
                    securityContext: podSecurityContext("tile38"),
                    ...podScheduling("tile38", cfg),
                    ...(backup?.initContainers?.length ? { initContainers: backup.initContainers } : {}),
                    containers: [tile38, ...(backup?.sidecars ?? [])],
                    volumes: [
                        { name: VOLUME_NAMES.scripts, configMap: { name: objectNames(cfg).configMap, defaultMode: 0o444, items: [
                            { key: CONFIGMAP_KEYS.tile38Start, path: CONFIGMAP_KEYS.tile38Start },
                            { key: CONFIGMAP_KEYS.tile38Stop, path: CONFIGMAP_KEYS.tile38Stop },
                        ] } },
                        { name: VOLUME_NAMES.tmp, emptyDir: { sizeLimit: "64Mi" } },
                        ...(backup?.volumes ?? []),
                    ],
                },
            },
            volumeClaimTemplates: [volumeClaim],
        },
    };
}

/** At most one Tile38 pod down through voluntary disruptions (drains, upgrades). */
export function buildTile38PdbSpec(cfg: StackConfig): k8s.policy.v1.PodDisruptionBudgetArgs {
    return {
        metadata: objectMeta(objectNames(cfg).tile38Pdb, cfg, "tile38"),
        spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels("tile38", cfg) } },
    };
}

/** Arguments of {@link Tile38StatefulSet}. */
export interface Tile38StatefulSetArgs {
    /** The complete stack config: image, port, replicas, resources, storage, metrics. */
    config: StackConfig;
    /** The Kubernetes topology (`kubernetesTopology(config)`). */
    topology: Topology;
    /** Hash of the Tile38 scripts (see `contentHash`); a change rolls the pods. */
    configHash: string;
    /** Backup additions to every pod. Default: none. */
    backup?: Tile38BackupHook;
    /** See {@link Tile38StatefulSetOptions.passwordsGeneration}. Default: none. */
    passwordsGeneration?: pulumi.Input<string>;
}

/** The Tile38 replica set: headless Service, StatefulSet and PodDisruptionBudget. */
export class Tile38StatefulSet extends pulumi.ComponentResource {
    /** Headless Service (`tile38-headless`) that names the pods. */
    readonly headlessService: k8s.core.v1.Service;
    /** The StatefulSet (`tile38`). */
    readonly statefulSet: k8s.apps.v1.StatefulSet;
    /** PodDisruptionBudget, maxUnavailable 1. */
    readonly podDisruptionBudget: k8s.policy.v1.PodDisruptionBudget;

    constructor(name: string, args: Tile38StatefulSetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:Tile38StatefulSet", name, {}, opts);
        this.headlessService = new k8s.core.v1.Service(`${name}-headless`, buildTile38HeadlessServiceSpec(args.config), { parent: this });
        this.statefulSet = new k8s.apps.v1.StatefulSet(
            name,
            buildTile38StatefulSetSpec(args.config, args.topology, { configHash: args.configHash, backup: args.backup, passwordsGeneration: args.passwordsGeneration }),
            // The pods' names must resolve from their first second: create the headless Service first.
            { parent: this, dependsOn: [this.headlessService], ...statefulSetReplacementOptions() },
        );
        this.podDisruptionBudget = new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, buildTile38PdbSpec(args.config), { parent: this });
        this.registerOutputs({ statefulSet: this.statefulSet, headlessService: this.headlessService });
    }
}
