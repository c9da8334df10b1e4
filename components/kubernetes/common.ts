/**
 * Names, labels and pod-level building blocks shared by the Kubernetes components.
 * Everything here is pure: plain objects that tests inspect directly.
 */
import * as k8s from "@pulumi/kubernetes";
import { createHash } from "crypto";
import { StackConfig } from "../../config/types";
import { K8S_NAMES } from "../render/topology";


/**
 * Names of every object in the namespace. The StatefulSet and headless Service names are
 * fixed by {@link K8S_NAMES} because the pods' FQDNs (and so every rendered config) contain them;
 * Pulumi must not add a random suffix, so every object sets `metadata.name` explicitly.
 * One tile38-ha cluster per namespace.
 */
export const OBJECT_NAMES = {
    ...K8S_NAMES,
    /** ClusterIP Service in front of the ready sentinels (what clients connect to). */
    sentinelClient: K8S_NAMES.sentinel,
    /** ConfigMap with the start/stop scripts and one sentinel template per sentinel pod. */
    configMap: "tile38-ha-scripts",
    /** Secret with both passwords. */
    secret: "tile38-ha-auth",
    /** ServiceAccount of the Tile38 pods (and their backup sidecars: IRSA). */
    serviceAccount: "tile38",
    /**
     * ServiceAccount of the sentinel pods: their own, bound to nothing, so that they never run as
     * the namespace's `default` account and inherit whatever someone grants to it.
     */
    sentinelServiceAccount: "sentinel",
    tile38Pdb: "tile38",
    sentinelPdb: "sentinel",
    tile38NetworkPolicy: "tile38",
    sentinelNetworkPolicy: "sentinel",
} as const;

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

/** ConfigMap key of the template of sentinel pod `sentinel-<index>`; equals `$(POD_NAME).conf`. */
export function sentinelTemplateKey(index: number): string {
    return `${K8S_NAMES.sentinel}-${index}.conf`;
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

/** Labels that select the pods of one component (StatefulSet selector, Services, PDBs, policies). */
export function selectorLabels(component: Component): Record<string, string> {
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": "tile38-ha",
        "app.kubernetes.io/component": component === "tile38" ? "database" : "failover-monitor",
    };
}

/** Labels on every object: the selector labels plus `managed-by`. */
export function objectLabels(component?: Component): Record<string, string> {
    const base = component ? selectorLabels(component) : { "app.kubernetes.io/part-of": "tile38-ha" };
    return { ...base, "app.kubernetes.io/managed-by": "pulumi" };
}

/** `metadata` of a namespaced object. */
export function objectMeta(name: string, cfg: StackConfig, component?: Component): k8s.types.input.meta.v1.ObjectMeta {
    return { name, namespace: cfg.kubernetes.namespace, labels: objectLabels(component) };
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
export function topologySpread(component: Component): k8s.types.input.core.v1.TopologySpreadConstraint[] {
    const labelSelector = { matchLabels: selectorLabels(component) };
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
export function preferredAntiAffinity(component: Component): k8s.types.input.core.v1.Affinity {
    return {
        podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
                {
                    weight: 100,
                    podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: selectorLabels(component) } },
                },
            ],
        },
    };
}

/** An env var read from the cluster Secret. */
export function secretEnv(name: string, key: string): k8s.types.input.core.v1.EnvVar {
    return { name, valueFrom: { secretKeyRef: { name: OBJECT_NAMES.secret, key } } };
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
