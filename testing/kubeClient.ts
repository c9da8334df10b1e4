/**
 * A minimal Kubernetes REST client on Node's `https` (no dependency): bearer token, the server's
 * CA, resource discovery, server-side apply with strict field validation, get, delete, dry-run
 * create and SubjectAccessReview. Every request is bounded.
 */
import * as https from "https";

/** A Kubernetes object as sent or stored. */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; [k: string]: unknown };
    [k: string]: unknown;
}

/** A raw answer of the API server. */
export interface KubeResponse {
    status: number;
    /** Parsed JSON body, when the body was JSON. */
    json?: Record<string, unknown>;
    text: string;
    /** `Warning` headers (deprecations, ignored fields in non-strict modes). */
    warnings: string[];
}

/** Where a kind lives in the API. */
export interface ResourceInfo {
    /** Plural resource name, e.g. `statefulsets`. */
    name: string;
    namespaced: boolean;
}

/** Connection settings of {@link KubeClient}. */
export interface KubeClientOptions {
    url: string;
    ca: Buffer;
    token: string;
    /** Bound on every request. Default 30 s. */
    timeoutMs?: number;
}

/** The field manager this project applies with (what `kubectl get --show-managed-fields` shows). */
export const FIELD_MANAGER = "tile38-ha-validate";

/** The `message` of a Kubernetes Status body, or the raw text. */
export function statusMessage(r: KubeResponse): string {
    const m = r.json?.message;
    return typeof m === "string" ? m : r.text.slice(0, 2000);
}

export class KubeClient {
    private readonly agent: https.Agent;
    private readonly discovery = new Map<string, Map<string, ResourceInfo>>();

    constructor(private readonly opts: KubeClientOptions) {
        this.agent = new https.Agent({ ca: opts.ca, keepAlive: false });
    }

    /** One HTTP request; JSON in and out. */
    request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<KubeResponse> {
        const url = new URL(path, this.opts.url);
        const payload = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
        return new Promise((resolve, reject) => {
            const req = https.request(
                url,
                {
                    method,
                    agent: this.agent,
                    timeout: this.opts.timeoutMs ?? 30_000,
                    headers: {
                        Authorization: `Bearer ${this.opts.token}`,
                        Accept: "application/json",
                        ...(payload ? { "Content-Type": contentType, "Content-Length": payload.length } : {}),
                    },
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (d: Buffer) => chunks.push(d));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        let json: Record<string, unknown> | undefined;
                        try {
                            json = JSON.parse(text) as Record<string, unknown>;
                        } catch {
                            json = undefined;
                        }
                        const w = res.headers.warning;
                        const warnings = w === undefined ? [] : Array.isArray(w) ? w : [w];
                        resolve({ status: res.statusCode ?? 0, json, text, warnings });
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${this.opts.timeoutMs ?? 30_000} ms`)));
            req.on("error", reject);
            if (payload) req.write(payload);
            req.end();
        });
    }

    /** The resource of `kind` in `apiVersion`, from the server's discovery; undefined if unknown. */
    async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
        let kinds = this.discovery.get(apiVersion);
        if (!kinds) {
            const r = await this.request("GET", apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
            kinds = new Map();
            if (r.status === 200) {
                for (const res of (r.json?.resources ?? []) as { name: string; kind: string; namespaced: boolean }[]) {
                    if (!res.name.includes("/")) kinds.set(res.kind, { name: res.name, namespaced: res.namespaced });
                }
            }
            this.discovery.set(apiVersion, kinds);
        }
        return kinds.get(kind);
    }

    /** The URL path of `obj` (collection when `collection`); throws if the server does not know its kind. */
    async pathOf(obj: Pick<KubeObject, "apiVersion" | "kind" | "metadata">, collection = false): Promise<string> {
        const info = await this.resourceFor(obj.apiVersion, obj.kind);
        if (!info) throw new Error(`the API server does not serve kind ${obj.kind} in ${obj.apiVersion}`);
        const base = obj.apiVersion.includes("/") ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
        const ns = info.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata.namespace ?? "default")}` : "";
        return `${base}${ns}/${info.name}${collection ? "" : `/${encodeURIComponent(obj.metadata.name)}`}`;
    }

    /**
     * Server-side apply (`application/apply-patch+yaml`; JSON is YAML) with
     * `fieldValidation=Strict`: an unknown or duplicate field is an error, not a warning.
     */
    async apply(obj: KubeObject, options: { dryRun?: boolean; force?: boolean; fieldManager?: string } = {}): Promise<KubeResponse> {
        const q = new URLSearchParams({ fieldManager: options.fieldManager ?? FIELD_MANAGER, fieldValidation: "Strict" });
        if (options.force ?? true) q.set("force", "true");
        if (options.dryRun) q.set("dryRun", "All");
        return this.request("PATCH", `${await this.pathOf(obj)}?${q}`, obj, "application/apply-patch+yaml");
    }

    /** GET the stored object. */
    async get(obj: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): Promise<KubeResponse> {
        return this.request("GET", await this.pathOf(obj));
    }

    /** DELETE with a propagation policy (default Foreground, as Pulumi deletes). */
    async delete(obj: Pick<KubeObject, "apiVersion" | "kind" | "metadata">, propagationPolicy = "Foreground"): Promise<KubeResponse> {
        return this.request("DELETE", await this.pathOf(obj), { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy });
    }

    /** POST to the collection with `dryRun=All` and strict validation: validated and admitted, never stored. */
    async createDryRun(obj: KubeObject): Promise<KubeResponse> {
        return this.request("POST", `${await this.pathOf(obj, true)}?dryRun=All&fieldValidation=Strict`, obj);
    }

    /** The API server's own access decision for a user (SubjectAccessReview). */
    async canI(user: string, groups: string[], attrs: { namespace?: string; verb: string; resource: string; group?: string; subresource?: string; name?: string }): Promise<boolean> {
        const r = await this.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SubjectAccessReview",
            spec: { user, groups, resourceAttributes: { group: "", ...attrs } },
        });
        if (r.status !== 201 && r.status !== 200) throw new Error(`SubjectAccessReview failed (${r.status}): ${statusMessage(r)}`);
        return (r.json?.status as { allowed?: boolean } | undefined)?.allowed === true;
    }
}
