/**
 * Turns the Kubernetes resources of a synthesized program into the manifests the Kubernetes
 * provider would send, in apply order (namespace first), and compares what an API server stored
 * with what was sent. Pure.
 */
import { quantityValue } from "../config/kubernetesSyntax";
import type { KubeObject } from "./kubeClient";
import type { SynthesizedResource } from "./synthesize";

/** A manifest together with the Pulumi resource it came from. */
export interface Manifest {
    /** Pulumi type token, e.g. `kubernetes:apps/v1:StatefulSet`. */
    type: string;
    /** Pulumi resource name. */
    resourceName: string;
    object: KubeObject;
    /** The resource options Pulumi would send with it. */
    options: SynthesizedResource["options"];
}

/** `Kind namespace/name`, for reports. */
export function describeObject(o: Pick<KubeObject, "kind" | "metadata">): string {
    return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
}

/** Drops `undefined` and `null` (the provider does not send them). */
function clean(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(clean);
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
                .filter(([, x]) => x !== undefined && x !== null)
                .map(([k, x]) => [k, clean(x)]),
        );
    }
    return v;
}

/** Cluster-wide prerequisites first; within a rank, the program's order (its dependency order). */
const APPLY_RANK: Record<string, number> = { Namespace: 0, CustomResourceDefinition: 0, ServiceAccount: 1, Secret: 1, ConfigMap: 1, Role: 1, ClusterRole: 1, RoleBinding: 2, ClusterRoleBinding: 2 };

/**
 * The Kubernetes objects among `resources` (not the provider itself), as manifests in apply
 * order. Throws if an object lacks apiVersion, kind or metadata.name (the components always name
 * their objects: Pulumi must not add a random suffix).
 */
export function kubernetesManifests(resources: SynthesizedResource[]): Manifest[] {
    const out = resources
        .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"))
        .map((r, i) => {
            const object = clean(r.inputs) as KubeObject;
            if (!object.apiVersion || !object.kind || !object.metadata?.name) {
                throw new Error(`${r.type} ${r.name}: apiVersion, kind and metadata.name must all be set`);
            }
            return { order: i, manifest: { type: r.type, resourceName: r.name, object, options: r.options } };
        });
    out.sort((a, b) => (APPLY_RANK[a.manifest.object.kind] ?? 3) - (APPLY_RANK[b.manifest.object.kind] ?? 3) || a.order - b.order);
    return out.map((x) => x.manifest);
}

/** One place where the stored object differs from what was sent. */
export interface StoredDifference {
    /** JSON-path-like location, e.g. `spec.template.spec.containers[0].ports`. */
    path: string;
    sent: unknown;
    /** `undefined` = the server dropped the field. */
    stored: unknown;
}

/** Quantities are parsed as the API server parses them (config/kubernetesSyntax.ts). */
export { quantityValue };

/** Two scalars the server treats as the same value (quantities are stored canonically: `0.5` → `500m`). */
function sameScalar(sent: unknown, stored: unknown, path: string): boolean {
    if (sent === stored) return true;
    if (typeof sent === "string" && typeof stored === "string" && /(^|\.)(requests|limits|capacity)\.|sizeLimit$|storage$/.test(path)) {
        const a = quantityValue(sent);
        const b = quantityValue(stored);
        return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-12;
    }
    return false;
}

function walk(sent: unknown, stored: unknown, path: string, out: StoredDifference[]): void {
    if (Array.isArray(sent)) {
        if (!Array.isArray(stored) || stored.length !== sent.length) {
            out.push({ path, sent, stored });
            return;
        }
        sent.forEach((x, i) => walk(x, stored[i], `${path}[${i}]`, out));
        return;
    }
    if (typeof sent === "object" && sent !== null) {
        if (typeof stored !== "object" || stored === null || Array.isArray(stored)) {
            out.push({ path, sent, stored });
            return;
        }
        for (const [k, v] of Object.entries(sent as Record<string, unknown>)) {
            walk(v, (stored as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out);
        }
        return;
    }
    if (!sameScalar(sent, stored, path)) out.push({ path, sent, stored });
}

/**
 * Every field of `sent` that the server did not store as sent: dropped (unknown to this API
 * version, or behind a disabled feature gate: such fields are silently cleared, not refused),
 * or changed. The server may add fields (defaults, status); those are not differences.
 * A Secret's `stringData` is write-only: it is compared with the decoded `data`.
 */
export function storedDifferences(sent: KubeObject, stored: KubeObject): StoredDifference[] {
    const out: StoredDifference[] = [];
    const { stringData, ...rest } = sent as KubeObject & { stringData?: Record<string, string> };
    walk(rest, stored, "", out);
    if (sent.kind === "Secret" && stringData) {
        const data = (stored.data ?? {}) as Record<string, string>;
        for (const [k, v] of Object.entries(stringData)) {
            const decoded = data[k] === undefined ? undefined : Buffer.from(data[k], "base64").toString("utf8");
            if (decoded !== v) out.push({ path: `stringData.${k}`, sent: v, stored: decoded });
        }
    }
    return out;
}
