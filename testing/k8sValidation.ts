/**
 * The checks `npm run validate:k8s` and the Kubernetes API tests run against a real API server:
 * server-side apply of every manifest (namespace first, `fieldValidation=Strict`), comparison of
 * what the server stored with what was sent, and a dry-run of the pods each StatefulSet would
 * create (pod validation and admission: the ServiceAccount exists, the Pod Security level).
 */
import { describeObject, Manifest, storedDifferences, StoredDifference } from "./k8sManifests";
import { KubeClient, KubeObject, KubeResponse, statusMessage } from "./kubeClient";

/** What happened to one object. */
export type ApplyOutcome = "created" | "configured" | "unchanged" | "refused";

/** The server's answer for one manifest. */
export interface ObjectReport {
    manifest: Manifest;
    /** `Kind namespace/name`. */
    id: string;
    outcome: ApplyOutcome;
    /** HTTP status of the apply. */
    status: number;
    /** The server's message when it refused. */
    message?: string;
    /** Fields not stored as sent (empty when refused). */
    differences: StoredDifference[];
    /** Warning headers of the apply. */
    warnings: string[];
    /** The stored object after the apply (undefined when refused). */
    stored?: KubeObject;
}

/** True when the object was accepted and stored exactly as sent. */
export function isClean(r: ObjectReport): boolean {
    return r.outcome !== "refused" && r.differences.length === 0;
}

async function storedObject(client: KubeClient, obj: KubeObject): Promise<KubeObject | undefined> {
    const r = await client.get(obj);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET ${describeObject(obj)}: ${r.status} ${statusMessage(r)}`);
    return r.json as unknown as KubeObject;
}

/** Server-side applies one manifest and reports what the server did and stored. */
export async function applyOne(client: KubeClient, manifest: Manifest, options: { dryRun?: boolean } = {}): Promise<ObjectReport> {
    const obj = manifest.object;
    const id = describeObject(obj);
    let before: KubeObject | undefined;
    let r: KubeResponse;
    try {
        before = await storedObject(client, obj);
        r = await client.apply(obj, options);
    } catch (e) {
        return { manifest, id, outcome: "refused", status: 0, message: (e as Error).message, differences: [], warnings: [] };
    }
    if (r.status < 200 || r.status >= 300) {
        return { manifest, id, outcome: "refused", status: r.status, message: statusMessage(r), differences: [], warnings: r.warnings };
    }
    const stored = r.json as unknown as KubeObject;
    const meta = (o: KubeObject | undefined) => o?.metadata as { resourceVersion?: string } | undefined;
    const outcome: ApplyOutcome = !before ? "created" : meta(before)?.resourceVersion === meta(stored)?.resourceVersion ? "unchanged" : "configured";
    return { manifest, id, outcome, status: r.status, differences: storedDifferences(obj, stored), warnings: r.warnings, stored };
}

/** Applies every manifest in order; continues after a refusal so that one run reports them all. */
export async function applyAll(client: KubeClient, manifests: Manifest[], options: { dryRun?: boolean } = {}): Promise<ObjectReport[]> {
    const out: ObjectReport[] = [];
    for (const m of manifests) out.push(await applyOne(client, m, options));
    return out;
}

/**
 * The pod a StatefulSet creates for `ordinal`: its template, its name, and one PVC volume per
 * volumeClaimTemplate (named `<claim>-<set>-<ordinal>`), as the StatefulSet controller builds it.
 */
export function podFromStatefulSet(sts: KubeObject, ordinal = 0): KubeObject {
    const spec = sts.spec as {
        template: { metadata?: Record<string, unknown>; spec: Record<string, unknown> & { volumes?: unknown[] } };
        volumeClaimTemplates?: { metadata: { name: string } }[];
    };
    const name = `${sts.metadata.name}-${ordinal}`;
    const claims = (spec.volumeClaimTemplates ?? []).map((c) => ({
        name: c.metadata.name,
        persistentVolumeClaim: { claimName: `${c.metadata.name}-${name}` },
    }));
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { ...(spec.template.metadata ?? {}), name, namespace: sts.metadata.namespace },
        spec: { ...spec.template.spec, hostname: name, subdomain: (sts.spec as { serviceName?: string }).serviceName, volumes: [...(spec.template.spec.volumes ?? []), ...claims] },
    };
}

/**
 * The volume claims a StatefulSet creates for `ordinal`, one per volumeClaimTemplate: the
 * StatefulSet's own validation does not validate them (a negative size passes), the claim's does.
 */
export function claimsFromStatefulSet(sts: KubeObject, ordinal = 0): KubeObject[] {
    const spec = sts.spec as { volumeClaimTemplates?: { metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, unknown> }[] };
    return (spec.volumeClaimTemplates ?? []).map((c) => ({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { ...c.metadata, name: `${c.metadata.name}-${sts.metadata.name}-${ordinal}`, namespace: sts.metadata.namespace },
        spec: c.spec,
    }));
}

/** The dry-run creation of one object a StatefulSet would create (its first pod, its claims). */
export interface PodAdmission {
    /** `Kind namespace/name (from StatefulSet name)`. */
    id: string;
    admitted: boolean;
    message?: string;
    warnings: string[];
}

/**
 * Dry-run creates the first pod and its volume claims of every StatefulSet among `manifests`
 * (but those in `skip`, e.g. refused ones): validated and admitted as the StatefulSet controller's
 * requests would be, never stored.
 */
export async function admitPods(client: KubeClient, manifests: Manifest[], skip: Manifest[] = []): Promise<PodAdmission[]> {
    const out: PodAdmission[] = [];
    for (const m of manifests.filter((x) => x.object.kind === "StatefulSet" && !skip.includes(x))) {
        for (const child of [podFromStatefulSet(m.object), ...claimsFromStatefulSet(m.object)]) {
            const id = `${describeObject(child)} (from StatefulSet ${m.object.metadata.name})`;
            const r = await client.createDryRun(child);
            out.push({ id, admitted: r.status === 201 || r.status === 200, message: r.status >= 300 ? statusMessage(r) : undefined, warnings: r.warnings });
        }
    }
    return out;
}

/** One line per object, as `validate:k8s` prints it. */
export function formatReport(r: ObjectReport): string {
    const lines = [`${r.outcome.padEnd(10)} ${r.id}${r.message ? `: ${r.message}` : ""}`];
    for (const w of r.warnings) lines.push(`           warning: ${w}`);
    for (const d of r.differences) {
        lines.push(`           ${d.stored === undefined ? "DROPPED" : "CHANGED"} ${d.path}: sent ${JSON.stringify(d.sent)}, stored ${JSON.stringify(d.stored)}`);
    }
    return lines.join("\n");
}
