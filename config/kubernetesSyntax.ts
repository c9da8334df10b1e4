/**
 * The syntax rules of the Kubernetes API server (k8s.io/apimachinery validation, v1.32) for the
 * config values that end up verbatim in objects: resource quantities, label keys and values,
 * annotation keys, StorageClass names. A value that breaks them is refused by the cluster at
 * `pulumi up` (found with `npm run validate:k8s`); checking them here reports it before. Pure.
 */
import type { StackConfig } from "./types";
import type { ConfigIssue } from "./issues";

const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * The value of a Kubernetes quantity (`250m`, `2Gi`, `1e3`, `0.5`), or undefined when the API
 * server would refuse it (`10GB`, `1 Gi`, `2gb`).
 */
export function quantityValue(s: string): number | undefined {
    const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]?)|[eE]([+-]?\d+))$/.exec(s);
    if (!m) return undefined;
    const n = Number(m[1]);
    if (m[2] !== undefined) return n * BINARY_SUFFIX[m[2]];
    if (m[4] !== undefined) return n * 10 ** Number(m[4]);
    return n * DECIMAL_SUFFIX[m[3] ?? ""];
}

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `name` is not a DNS-1123 subdomain (StorageClass names, key prefixes), or undefined. */
export function dnsSubdomainProblem(name: string): string | undefined {
    if (name.length > 253) return "is longer than 253 characters";
    if (!DNS_SUBDOMAIN.test(name)) return "must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
    return undefined;
}

/** Why `key` is not a valid label or annotation key (`[prefix/]name`), or undefined. */
export function qualifiedNameProblem(key: string): string | undefined {
    const parts = key.split("/");
    if (parts.length > 2) return "has more than one '/'";
    const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
    if (prefix !== undefined) {
        if (prefix.length === 0) return "has an empty prefix before '/'";
        const p = dnsSubdomainProblem(prefix);
        if (p) return `prefix ${JSON.stringify(prefix)} ${p}`;
    }
    if (name.length === 0) return "has an empty name";
    if (name.length > 63) return "has a name part longer than 63 characters";
    if (!NAME_PART.test(name)) return "name part must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
    return undefined;
}

/** Why `value` is not a valid label value (63 characters at most, may be empty), or undefined. */
export function labelValueProblem(value: string): string | undefined {
    if (value.length > 63) return "is longer than 63 characters";
    if (value !== "" && !NAME_PART.test(value)) return "must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)";
    return undefined;
}

/**
 * What the Kubernetes API server would refuse in the values the config copies into objects
 * (keys relative to the namespace): quantities, label and annotation keys, label values, the
 * StorageClass name, and requests above limits. Found with `npm run validate:k8s` against a
 * real kube-apiserver; reported here before `pulumi up`.
 */
export function validateKubernetesSyntax(cfg: StackConfig): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const add = (key: string, message: string, fix: string) => issues.push({ key, message, fix });
    const k = cfg.kubernetes;
    for (const [key, v] of [["kubernetes.storageSize", k.storageSize], ["kubernetes.sentinelStorageSize", k.sentinelStorageSize]] as const) {
        const q = quantityValue(v);
        if (q === undefined) add(key, `${JSON.stringify(v)} is not a Kubernetes quantity`, 'use e.g. "10Gi" (binary suffixes Ki, Mi, Gi, Ti; not "GB")');
        else if (!(q > 0)) add(key, `${JSON.stringify(v)} is not above zero: the volume claims would be refused`, 'use e.g. "10Gi"');
    }
    for (const [section, r] of [["kubernetes.tile38Resources", k.tile38Resources], ["kubernetes.sentinelResources", k.sentinelResources]] as const) {
        for (const resource of ["cpu", "memory"] as const) {
            const req = quantityValue(r.requests[resource]);
            const lim = quantityValue(r.limits[resource]);
            if (req === undefined || req < 0) add(`${section}.requests.${resource}`, `${JSON.stringify(r.requests[resource])} is not a Kubernetes quantity`, resource === "cpu" ? 'use e.g. "250m" or "1"' : 'use e.g. "512Mi"');
            if (lim === undefined || lim < 0) add(`${section}.limits.${resource}`, `${JSON.stringify(r.limits[resource])} is not a Kubernetes quantity`, resource === "cpu" ? 'use e.g. "1"' : 'use e.g. "2Gi"');
            if (req !== undefined && lim !== undefined && req > lim) {
                add(`${section}.requests.${resource}`, `${r.requests[resource]} is above the limit ${r.limits[resource]}: the API server refuses such a pod template`, "make the request at most the limit");
            }
        }
    }
    if (k.storageClass !== undefined) {
        const p = dnsSubdomainProblem(k.storageClass);
        if (p) add("kubernetes.storageClass", `${JSON.stringify(k.storageClass)} ${p}`, "use the name of a StorageClass of the cluster (kubectl get storageclass)");
    }
    for (const key of Object.keys(k.serviceAccountAnnotations)) {
        const p = qualifiedNameProblem(key);
        if (p) add("kubernetes.serviceAccountAnnotations", `annotation key ${JSON.stringify(key)} ${p}`, "use a key such as eks.amazonaws.com/role-arn");
    }
    const labelMaps = [
        ["kubernetes.clientPodLabels", k.clientPodLabels, "tile38-ha/client"],
        ["kubernetes.labels", k.labels, "team"],
        ["kubernetes.nodeSelector", k.nodeSelector, "kubernetes.io/os"],
        ["metrics.scraperNamespaceLabels", cfg.metrics.scraperNamespaceLabels, "kubernetes.io/metadata.name"],
        ["metrics.scraperPodLabels", cfg.metrics.scraperPodLabels, "app.kubernetes.io/name"],
        ["metrics.monitorLabels", cfg.metrics.monitorLabels, "release"],
    ] as const;
    for (const [field, labels, example] of labelMaps) {
        for (const [key, value] of Object.entries(labels)) {
            const p = qualifiedNameProblem(key);
            if (p) add(field, `label key ${JSON.stringify(key)} ${p}`, `use a key such as ${example}`);
            const v = labelValueProblem(value);
            if (v) add(field, `label value ${JSON.stringify(value)} of ${key} ${v}`, 'use a value such as "true"');
        }
    }
    for (const [field, annotations] of [["kubernetes.annotations", k.annotations], ["kubernetes.podAnnotations", k.podAnnotations]] as const) {
        for (const key of Object.keys(annotations)) {
            const p = qualifiedNameProblem(key);
            if (p) add(field, `annotation key ${JSON.stringify(key)} ${p}`, "use a key such as example.com/owner");
        }
    }
    // The prefix is part of every object name and pod FQDN: "<prefix>sentinel-headless" must stay a DNS label.
    if (k.namePrefix !== "" && (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?-$/.test(k.namePrefix) || k.namePrefix.length > 40)) {
        add("kubernetes.namePrefix", `${JSON.stringify(k.namePrefix)} is not a name prefix Kubernetes accepts`, 'use up to 40 lower-case letters, digits and dashes ending with "-", e.g. "geo-"');
    }
    for (const [field, names] of [["kubernetes.imagePullSecrets", k.imagePullSecrets], ["kubernetes.priorityClassName", k.priorityClassName === undefined ? [] : [k.priorityClassName]]] as const) {
        for (const name of names) {
            const p = dnsSubdomainProblem(name);
            if (p) add(field, `${JSON.stringify(name)} ${p}`, "use the name of an object of the cluster");
        }
    }
    k.tolerations.forEach((t, i) => {
        const known = ["key", "operator", "value", "effect", "tolerationSeconds"];
        const unknown = Object.keys(t).filter((f) => !known.includes(f));
        if (unknown.length > 0) add(`kubernetes.tolerations[${i}]`, `has unknown fields ${unknown.join(", ")}`, `use only ${known.join(", ")}`);
        if (t.operator !== undefined && t.operator !== "Equal" && t.operator !== "Exists") add(`kubernetes.tolerations[${i}].operator`, `${JSON.stringify(t.operator)} is not an operator`, "use Equal or Exists");
        if (t.effect !== undefined && !["NoSchedule", "PreferNoSchedule", "NoExecute"].includes(t.effect)) add(`kubernetes.tolerations[${i}].effect`, `${JSON.stringify(t.effect)} is not a taint effect`, "use NoSchedule, PreferNoSchedule or NoExecute (or leave it out)");
        if (t.operator === "Exists" && t.value !== undefined) add(`kubernetes.tolerations[${i}].value`, "must be empty with operator Exists", "remove value or use operator Equal");
    });
    k.topologySpreadConstraints.forEach((c, i) => {
        for (const f of ["maxSkew", "topologyKey", "whenUnsatisfiable"]) {
            if (c[f] === undefined) add(`kubernetes.topologySpreadConstraints[${i}]`, `has no ${f}`, "give maxSkew, topologyKey and whenUnsatisfiable (labelSelector is filled in)");
        }
    });
    return issues;
}
