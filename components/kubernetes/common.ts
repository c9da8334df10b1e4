/**
 * Names, labels and pod-level building blocks shared by the Kubernetes components.
 * Everything here is pure: plain objects that tests inspect directly.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { StackConfig } from "../../config/types";
import { kubernetesSetNames } from "../render/topology";


/**
 * Names of every object of one cluster: `kubernetes.namePrefix` + a fixed name. The StatefulSet
 * and headless Service names are part of the pods' FQDNs (and so of every rendered config);
 * Pulumi must not add a random suffix, so every object sets `metadata.name` explicitly. Two
 * clusters with different prefixes share a namespace.
 */
export function kubernetesObjectNames(prefix: string) {
    const p = (name: string) => `${prefix}${name}`;
    const sets = kubernetesSetNames(prefix);
    return {
        ...sets,
        /** ClusterIP Service in front of the ready sentinels (what clients connect to). */
        sentinelClient: sets.sentinel,
        /** ConfigMap with the start/stop scripts and one sentinel template per sentinel pod. */
        configMap: p("tile38-ha-scripts"),
        /** Secret with both passwords. */
        secret: p("tile38-ha-auth"),
        /** Job (and its ConfigMap) that switches the running pods to new passwords (passwordSwitch.ts). */
        passwordSwitch: p("tile38-ha-password-switch"),
        /** ServiceAccount of the Tile38 pods (and their backup sidecars: IRSA). */
        serviceAccount: sets.tile38,
        /**
         * ServiceAccount of the sentinel pods: their own, bound to nothing, so that they never run as
         * the namespace's `default` account and inherit whatever someone grants to it.
         */
        sentinelServiceAccount: sets.sentinel,
        tile38Pdb: sets.tile38,
        sentinelPdb: sets.sentinel,
        tile38NetworkPolicy: sets.tile38,
        sentinelNetworkPolicy: sets.sentinel,
        /** PodMonitor of both StatefulSets' pods (`metrics.podMonitor`). */
        podMonitor: p("tile38-ha"),
        /** PrometheusRule with the shipped alert rules (`metrics.prometheusRule`). */
        prometheusRule: p("tile38-ha"),
    };
}

/** The names of one cluster's objects (see {@link kubernetesObjectNames}). */
export function objectNames(cfg: StackConfig): ReturnType<typeof kubernetesObjectNames> {
    return kubernetesObjectNames(cfg.kubernetes.namePrefix);
}

/** The names of a stack-config cluster (no prefix: `tile38`, `sentinel`, …). */
export const OBJECT_NAMES = kubernetesObjectNames("");

/** Keys of the Secret. */
export const K8S_SECRET_KEYS = {
    tile38Password: "tile38-password",
    sentinelPassword: "sentinel-password",
    /** Static S3 credentials of the backup sidecars (S3-compatible stores outside AWS). */
    backupAccessKeyId: "backup-access-key-id",
    backupSecretAccessKey: "backup-secret-access-key",
} as const;

/** Keys of the ConfigMap (sentinel templates: {@link sentinelTemplateKey}). */
export const CONFIGMAP_KEYS = {
    tile38Start: "tile38-start.sh",
    tile38Stop: "tile38-stop.sh",
    sentinelStart: "sentinel-start.sh",
} as const;

/** ConfigMap key of the template of sentinel pod `<prefix>sentinel-<index>`; equals `$(POD_NAME).conf`. */
export function sentinelTemplateKey(index: number, cfg?: StackConfig): string {
    return `${kubernetesSetNames(cfg?.kubernetes.namePrefix ?? "").sentinel}-${index}.conf`;
}

/** Where the pods mount things. */
export const MOUNTS = {
    /** Persistent data volume (Tile38 AOF + config; sentinel's own sentinel.conf). */
    data: "/data",
    /** Scripts from the ConfigMap (read-only). */
    scripts: "/scripts",
    /** Sentinel templates from the ConfigMap (read-only). */
    templates: "/templates",
    /** Writable scratch space: the root filesystem is read-only. */
    tmp: "/tmp",
} as const;

/** Volume names inside the pod templates; backup sidecars mount {@link VOLUME_NAMES.data}. */
export const VOLUME_NAMES = {
    data: "data",
    scripts: "scripts",
    templates: "templates",
    tmp: "tmp",
} as const;

/** Which half of the cluster a label set selects. */
export type Component = "tile38" | "sentinel";

/** Key of the label that tells the clusters of one namespace apart (see {@link instanceLabel}). */
export const INSTANCE_LABEL_KEY = "app.kubernetes.io/instance";

/**
 * The `app.kubernetes.io/instance` label of a cluster with a name prefix (the prefix without its
 * dash); none without one, so that stacks created before prefixes keep their (immutable) selectors.
 */
function instanceLabel(cfg?: StackConfig): Record<string, string> {
    const prefix = cfg?.kubernetes.namePrefix ?? "";
    return prefix === "" ? {} : { [INSTANCE_LABEL_KEY]: prefix.replace(/-$/, "") };
}

/** Labels that select the pods of one component of one cluster (StatefulSet selector, Services, PDBs, policies). */
export function selectorLabels(component: Component, cfg?: StackConfig): Record<string, string> {
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": "tile38-ha",
        "app.kubernetes.io/component": component === "tile38" ? "database" : "failover-monitor",
        ...instanceLabel(cfg),
    };
}

/** Labels on every object and pod: the team's `kubernetes.labels`, the selector labels and `managed-by`. */
export function objectLabels(component?: Component, cfg?: StackConfig): Record<string, string> {
    const base = component ? selectorLabels(component, cfg) : { "app.kubernetes.io/part-of": "tile38-ha", ...instanceLabel(cfg) };
    return { ...(cfg?.kubernetes.labels ?? {}), ...base, "app.kubernetes.io/managed-by": "pulumi" };
}

/** Labels of the volume claim templates: the selector labels only (a StatefulSet's claim templates cannot change). */
export function claimLabels(component: Component, cfg: StackConfig): Record<string, string> {
    return { ...selectorLabels(component, cfg), "app.kubernetes.io/managed-by": "pulumi" };
}

/** `metadata` of a namespaced object: its name, labels and the team's `kubernetes.annotations`. */
export function objectMeta(name: string, cfg: StackConfig, component?: Component): k8s.types.input.meta.v1.ObjectMeta {
    const annotations = cfg.kubernetes.annotations;
    return { name, namespace: cfg.kubernetes.namespace, labels: objectLabels(component, cfg), ...(Object.keys(annotations).length > 0 ? { annotations } : {}) };
}

/**
 * Scheduling and registry settings of every pod from the `kubernetes` section: tolerations, node
 * selector, priority class, image pull secrets, and the affinity and spread (the team's override
 * or the defaults {@link preferredAntiAffinity} and {@link topologySpread}). Fields left unset are
 * omitted, so a stack without them renders the same pod template as before they existed.
 */
export function podScheduling(component: Component, cfg: StackConfig): Partial<k8s.types.input.core.v1.PodSpec> {
    const k = cfg.kubernetes;
    const override = component === "tile38" ? k.tile38Affinity : k.sentinelAffinity;
    const spread: k8s.types.input.core.v1.TopologySpreadConstraint[] =
        k.topologySpreadConstraints.length > 0
            ? k.topologySpreadConstraints.map((c) => ({ labelSelector: { matchLabels: selectorLabels(component, cfg) }, ...c }) as k8s.types.input.core.v1.TopologySpreadConstraint)
            : topologySpread(component, cfg);
    return {
        topologySpreadConstraints: spread,
        affinity: override ?? preferredAntiAffinity(component, cfg),
        ...(k.tolerations.length > 0 ? { tolerations: k.tolerations } : {}),
        ...(Object.keys(k.nodeSelector).length > 0 ? { nodeSelector: k.nodeSelector } : {}),
        ...(k.priorityClassName !== undefined ? { priorityClassName: k.priorityClassName } : {}),
        ...(k.imagePullSecrets.length > 0 ? { imagePullSecrets: k.imagePullSecrets.map((name) => ({ name })) } : {}),
    };
}

/** Pod-template metadata: labels, the team's `kubernetes.podAnnotations` and the component's own annotations. */
export function podMeta(component: Component, cfg: StackConfig, annotations: Record<string, pulumi.Input<string>>): k8s.types.input.meta.v1.ObjectMeta {
    return { labels: objectLabels(component, cfg), annotations: { ...cfg.kubernetes.podAnnotations, ...annotations } };
}

/**
 * Security identities. The Redis image runs as `redis` (uid 999, gid 1000). The Tile38 image
 * has a `tile38` user created with `adduser -S` (uid not fixed by its Dockerfile) and runs as
 * root by default; Kubernetes can only enforce `runAsNonRoot` with a numeric uid, so Tile38 runs
 * as an arbitrary unprivileged uid and `fsGroup` makes the data volume writable for it. Tile38
 * writes only to its data directory and the scripts only to `$DATA_DIR` and /tmp, so no entry in
 * the image's /etc/passwd is needed.
 */
export const POD_IDENTITIES = {
    tile38: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
    sentinel: { runAsUser: 999, runAsGroup: 1000, fsGroup: 1000 },
} as const;

/** Pod-level securityContext: non-root, RuntimeDefault seccomp, volume ownership by fsGroup. */
export function podSecurityContext(component: Component): k8s.types.input.core.v1.PodSecurityContext {
    return {
        ...POD_IDENTITIES[component],
        runAsNonRoot: true,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level securityContext: no privilege escalation, no capabilities, read-only root. */
export function containerSecurityContext(): k8s.types.input.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
    };
}

/**
 * Spread the pods of one component: at most one more pod on any node than on another (hard,
 * honouring taints and node affinity so tainted nodes do not count as empty domains), and
 * across zones where possible (soft: `ScheduleAnyway`, single-zone clusters still schedule).
 */
export function topologySpread(component: Component, cfg?: StackConfig): k8s.types.input.core.v1.TopologySpreadConstraint[] {
    const labelSelector = { matchLabels: selectorLabels(component, cfg) };
    return [
        {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "DoNotSchedule",
            nodeAffinityPolicy: "Honor",
            nodeTaintsPolicy: "Honor",
            labelSelector,
        },
        {
            maxSkew: 1,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector,
        },
    ];
}

/** Soft anti-affinity: prefer nodes that do not already run a pod of the same component. */
export function preferredAntiAffinity(component: Component, cfg?: StackConfig): k8s.types.input.core.v1.Affinity {
    return {
        podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
                {
                    weight: 100,
                    podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: selectorLabels(component, cfg) } },
                },
            ],
        },
    };
}

/** An env var read from the cluster's Secret. */
export function secretEnv(name: string, key: string, cfg: StackConfig): k8s.types.input.core.v1.EnvVar {
    return { name, valueFrom: { secretKeyRef: { name: objectNames(cfg).secret, key } } };
}

/** `POD_NAME` from the downward API; later env values use it as `$(POD_NAME)`. */
export const POD_NAME_ENV: k8s.types.input.core.v1.EnvVar = { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } };

/** `$(POD_NAME).<headless>.<ns>.svc.<domain>`: the pod's own stable FQDN, expanded by the kubelet. */
export function ownFqdnExpression(headlessService: string, cfg: StackConfig): string {
    return `$(POD_NAME).${headlessService}.${cfg.kubernetes.namespace}.svc.${cfg.kubernetes.clusterDomain}`;
}

/** DNS name of a Service. */
export function serviceFqdn(service: string, cfg: StackConfig): string {
    return `${service}.${cfg.kubernetes.namespace}.svc.${cfg.kubernetes.clusterDomain}`;
}

/** Short hash of rendered content; put on pod templates so that changed scripts roll the pods. */
export function contentHash(...parts: string[]): string {
    const h = createHash("sha256");
    for (const p of parts) h.update(p).update("\0");
    return h.digest("hex").slice(0, 16);
}

/** Pod-template annotation that carries {@link contentHash}. */
export const CONFIG_HASH_ANNOTATION = "tile38-ha/config-hash";

/** Tile38 pod-template annotation that carries the passwords' generation: a rotation rolls the pods. */
export const PASSWORDS_ANNOTATION = "tile38-ha/passwords";
