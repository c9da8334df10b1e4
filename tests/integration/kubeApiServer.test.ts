/**
 * The Kubernetes objects of the program, as Pulumi mocks record them (the `npm run synth` path),
 * applied to a REAL kube-apiserver v1.32.2 with a real etcd (built from the Go module proxy by
 * scripts/build-kube.sh; tools/kubernetes pins both) on 127.0.0.1:26000-26002, with
 * generated certificates, a token file and RBAC authorization:
 *   a. server-side apply (namespace first, fieldValidation=Strict) of the `k8s` stack and four
 *      other configurations: every object accepted, and stored exactly as sent;
 *   b. a second apply changes nothing (resourceVersion and managedFields unchanged);
 *   c. the updates users make: accepted in place where the server allows it; where it refuses
 *      (StatefulSet volumeClaimTemplates), the refusal is real and the components declare a
 *      replacement for exactly the changed paths, which the server then accepts;
 *   d. the pods' ServiceAccounts are granted nothing, checked with SubjectAccessReview; and the
 *      pods the StatefulSets would create are admitted (dry run) under Pod Security "restricted".
 *
 * Not real here: no kubelet, scheduler or controller-manager, so no pod runs and no controller
 * acts (no garbage collector: deletions use Background propagation, which the API server
 * completes alone). Missing binaries skip the suite with the reason (CI builds them).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { STATEFULSET_MUTABLE_SPEC_FIELDS } from "../../components/kubernetes/statefulSetReplacement";
import { describeObject, kubernetesManifests, Manifest } from "../../testing/fixtures/kube/k8sManifests";
import { admitPods, applyAll, applyOne, formatReport, isClean, ObjectReport } from "../../testing/fixtures/kube/k8sValidation";
import { findKubeBinaries, KUBERNETES_VERSION, RunningKubeApiServer, startKubeApiServer } from "../../testing/fixtures/kube/kubeApiServer";
import { KubeClient, KubeObject, statusMessage } from "../../testing/fixtures/kube/kubeClient";
import { readStackFile } from "../../testing/stackFile";
import { synthesizeInChild } from "../../testing/synthesize";
import { rethrowWith } from "../../testing/fixtures/loopback/processes";

const PORTS = { api: 26000, etcdClient: 26001, etcdPeer: 26002 };
const ROOT = path.join(__dirname, "../..");
const bins = findKubeBinaries();
if (!bins.ok) console.warn(`SKIPPED tests/integration/kubeApiServer.test.ts: ${bins.reason}`);
const suite = bins.ok ? describe : describe.skip;

type Values = Record<string, unknown>;
const base = readStackFile(path.join(ROOT, "Pulumi.k8s.yaml"));
const k8sSection = base.values.kubernetes as Values;
const backupSection = base.values.backup as Values;

/** The k8s stack with changes to its sections (shallow per section). */
function variant(changes: { top?: Values; kubernetes?: Values; backup?: Values; tile38?: Values; sentinel?: Values }): Values {
    return {
        ...base.values,
        ...changes.top,
        kubernetes: { ...k8sSection, ...changes.kubernetes },
        backup: { ...backupSection, ...changes.backup },
        tile38: { ...(base.values.tile38 as Values), ...changes.tile38 },
        sentinel: { ...(base.values.sentinel as Values), ...changes.sentinel },
    };
}

interface Config {
    label: string;
    values: Values;
    secretKeys: string[];
    /** The namespace exists before the stack (createNamespace false): create it as its owner would. */
    preexistingNamespace?: string;
}

const CONFIGS: Config[] = [
    { label: "the k8s stack (Pulumi.k8s.yaml)", values: base.values, secretKeys: base.secretKeys },
    {
        label: "5 Tile38 nodes and 5 sentinels (quorum 3)",
        values: variant({ top: { replicas: "5", sentinels: "5", quorum: "3" }, kubernetes: { namespace: "geo-five" } }),
        secretKeys: base.secretKeys,
    },
    {
        label: "network policies off, an existing namespace, the default StorageClass, no backups",
        values: (() => {
            const v = variant({ kubernetes: { namespace: "geo-shared", createNamespace: "false", networkPolicies: "false" }, backup: { enabled: "false" } });
            delete (v.kubernetes as Values).storageClass;
            return v;
        })(),
        secretKeys: base.secretKeys,
        preexistingNamespace: "geo-shared",
    },
    {
        label: "backups with static keys to an S3-compatible endpoint",
        values: {
            ...variant({ kubernetes: { namespace: "geo-s3" }, backup: { endpoint: "http://minio.storage.svc.cluster.local:9000", region: "us-east-1", existingBucket: "tile38-backups" } }),
            backupAccessKeyId: "synth-placeholder-for-backupAccessKeyId",
            backupSecretAccessKey: "synth-placeholder-for-backupSecretAccessKey",
        },
        secretKeys: [...base.secretKeys, "backupAccessKeyId", "backupSecretAccessKey"],
    },
    {
        label: "metrics port, other ports, a custom cluster domain, IRSA role, fractional CPU, long labels",
        values: variant({
            tile38: { port: "7851", metricsPort: "9100" },
            sentinel: { port: "26379" },
            kubernetes: {
                namespace: "geo-extras",
                clusterDomain: "corp.internal",
                serviceAccountAnnotations: { "example.com/owner": "geo-team" },
                clientPodLabels: { "fleet.example.com/tile38-client": "true", tier: "api" },
                tile38Resources: { requests: { cpu: "0.5", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } },
            },
            backup: {
                oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF",
                oidcProviderUrl: "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF",
            },
        }),
        secretKeys: base.secretKeys,
    },
];

async function manifestsOf(values: Values, secretKeys: string[], stack = "k8s"): Promise<Manifest[]> {
    const r = await synthesizeInChild({ stack, values, secretKeys });
    if (!r.ok) throw new Error(`the program refused the config: ${r.error}`);
    return kubernetesManifests(r.resources);
}

let server: RunningKubeApiServer | undefined;
let admin: KubeClient;
const manifests = new Map<string, Manifest[]>();
const firstApply = new Map<string, ObjectReport[]>();

/** Runs a test body; on failure, appends the API server's and etcd's log tails. */
function withServerLogs(fn: () => Promise<void>): () => Promise<void> {
    return async () => {
        try {
            await fn();
        } catch (e) {
            rethrowWith(e, "kube-apiserver / etcd logs", server ? server.logTail(40) : "(server not started)");
        }
    };
}

function namespaceOf(list: Manifest[]): string {
    const ns = list.find((m) => m.object.metadata.namespace)?.object.metadata.namespace;
    if (!ns) throw new Error("no namespaced object");
    return ns;
}

async function ensureNamespace(name: string): Promise<void> {
    const r = await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name } }, { fieldManager: "cluster-admin" });
    if (r.status >= 300) throw new Error(`namespace ${name}: ${statusMessage(r)}`);
}

suite(`Kubernetes objects on a real kube-apiserver ${KUBERNETES_VERSION}`, () => {
    beforeAll(async () => {
        if (!bins.ok) return;
        const started = Date.now();
        const [srv, ...synthesized] = await Promise.all([
            startKubeApiServer({ binaries: bins, ports: PORTS, timeoutMs: 60_000 }),
            ...CONFIGS.map((c) => manifestsOf(c.values, c.secretKeys)),
        ]);
        server = srv;
        admin = srv.admin;
        CONFIGS.forEach((c, i) => manifests.set(c.label, synthesized[i]));
        console.log(`kube-apiserver ready in ${srv.startMs} ms; ${CONFIGS.length} configs synthesized; beforeAll ${Date.now() - started} ms`);
    }, 240_000);

    afterAll(async () => {
        await server?.stop();
    });

    describe.each(CONFIGS)("$label", (config) => {
        it(
            "a. every object is accepted (strict SSA, namespace first) and stored exactly as sent",
            withServerLogs(async () => {
                const list = manifests.get(config.label)!;
                expect(list[0].object.kind).toBe(config.preexistingNamespace ? list[0].object.kind : "Namespace");
                if (config.preexistingNamespace) {
                    expect(list.some((m) => m.object.kind === "Namespace")).toBe(false);
                    await ensureNamespace(config.preexistingNamespace);
                }
                const reports = await applyAll(admin, list);
                firstApply.set(config.label, reports);
                const problems = reports.filter((r) => !isClean(r)).map(formatReport);
                expect(problems).toEqual([]);
                expect(reports.map((r) => r.outcome)).toEqual(reports.map(() => "created"));
                expect(reports.flatMap((r) => r.warnings)).toEqual([]);
            }),
        );

        it(
            "b. a second apply changes nothing (resourceVersion, generation and managedFields unchanged)",
            withServerLogs(async () => {
                const list = manifests.get(config.label)!;
                const first = firstApply.get(config.label);
                expect(first).toBeDefined();
                const second = await applyAll(admin, list);
                expect(second.filter((r) => r.outcome !== "unchanged" || !isClean(r)).map(formatReport)).toEqual([]);
                const meta = (o: KubeObject | undefined) => {
                    const m = o?.metadata as { resourceVersion?: string; generation?: number; managedFields?: unknown } | undefined;
                    return { resourceVersion: m?.resourceVersion, generation: m?.generation, managedFields: m?.managedFields };
                };
                second.forEach((r, i) => expect([r.id, meta(r.stored)]).toEqual([first![i].id, meta(first![i].stored)]));
            }),
        );

        it(
            "d. the pods and claims the StatefulSets create are admitted (ServiceAccount exists) under Pod Security \"restricted\"",
            withServerLogs(async () => {
                const list = manifests.get(config.label)!;
                const ns = namespaceOf(list);
                // Enforce the strictest Pod Security Standard on the namespace (another field manager,
                // so that the program's own apply is untouched), then dry-run the pods.
                const r = await admin.request("PATCH", `/api/v1/namespaces/${ns}?fieldManager=psa-test`, { metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.32" } } }, "application/merge-patch+json");
                expect([r.status, statusMessage(r)]).toEqual([200, expect.anything()]);
                const pods = await admitPods(admin, list);
                // Per StatefulSet: its first pod and that pod's data claim.
                expect(pods.map((p) => p.id.replace(/ .*\//, " ")).sort()).toEqual([
                    "PersistentVolumeClaim data-sentinel-0 (from StatefulSet sentinel)",
                    "PersistentVolumeClaim data-tile38-0 (from StatefulSet tile38)",
                    "Pod sentinel-0 (from StatefulSet sentinel)",
                    "Pod tile38-0 (from StatefulSet tile38)",
                ]);
                expect(pods.filter((p) => !p.admitted || p.warnings.length > 0)).toEqual([]);
                // Control: the level is enforced (a pod running as root with default privileges is refused).
                const careless: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "careless", namespace: ns }, spec: { serviceAccountName: "tile38", containers: [{ name: "c", image: "busybox:1.36.1" }] } };
                const refused = await admin.createDryRun(careless);
                expect([refused.status, statusMessage(refused)]).toEqual([403, expect.stringContaining('violates PodSecurity "restricted:v1.32"')]);
            }),
        );
    });

    describe("c. updates a user makes", () => {
        const ns = "geo-update";
        const before = variant({ kubernetes: { namespace: ns } });
        let original: Manifest[];

        beforeAll(async () => {
            if (!bins.ok) return;
            original = await manifestsOf(before, base.secretKeys);
            const reports = await applyAll(admin, original);
            expect(reports.filter((r) => !isClean(r)).map(formatReport)).toEqual([]);
        }, 120_000);

        const statefulSets = (list: Manifest[]) => list.filter((m) => m.object.kind === "StatefulSet");
        const isJob = (m: Manifest) => m.object.kind === "Job";
        /** Top-level spec fields of a StatefulSet that differ between two manifests. */
        const changedSpecFields = (a: KubeObject, b: KubeObject) => {
            const sa = a.spec as Record<string, unknown>;
            const sb = b.spec as Record<string, unknown>;
            return [...new Set([...Object.keys(sa), ...Object.keys(sb)])].filter((k) => JSON.stringify(sa[k]) !== JSON.stringify(sb[k]));
        };

        it(
            "a new image version and new resources: accepted in place, no immutable field touched",
            withServerLogs(async () => {
                const updated = await manifestsOf(
                    variant({ kubernetes: { namespace: ns, tile38Resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } } }, tile38: { image: "tile38/tile38:1.36.5" }, sentinel: { image: "valkey/valkey:8.0.2-alpine" } }),
                    base.secretKeys,
                );
                for (const s of statefulSets(updated)) {
                    const old = statefulSets(original).find((o) => o.object.metadata.name === s.object.metadata.name)!;
                    expect(changedSpecFields(old.object, s.object)).toEqual(["template"]);
                }
                // The password-switch Job runs the sentinel image: its template changes with it, and a
                // Job's template is immutable. pulumi-kubernetes replaces a Job whose template changed
                // (delete first: its name is fixed), which re-runs the switch with nothing to change.
                const [jobs, inPlace] = [updated.filter(isJob), updated.filter((m) => !isJob(m))];
                expect(jobs.map((j) => j.object.metadata.name)).toEqual(["tile38-ha-password-switch"]);
                const oldJob = original.find(isJob)!;
                expect(changedSpecFields(oldJob.object, jobs[0].object)).toEqual(["template"]);
                const refused = await applyOne(admin, jobs[0]);
                expect([refused.outcome, refused.status, refused.message]).toEqual(["refused", 422, expect.stringContaining("field is immutable")]);
                const reports = await applyAll(admin, inPlace);
                expect(reports.filter((r) => !isClean(r)).map(formatReport)).toEqual([]);
                expect(reports.filter((r) => r.outcome === "configured").map((r) => r.id).sort()).toEqual([`StatefulSet ${ns}/sentinel`, `StatefulSet ${ns}/tile38`]);
                const replaceJob = async (from: Manifest, to: Manifest) => {
                    expect((await admin.delete(from.object, "Background")).status).toBe(200);
                    const created = await applyOne(admin, to);
                    expect([created.outcome, created.message, created.differences]).toEqual(["created", undefined, []]);
                };
                await replaceJob(oldJob, jobs[0]);
                // Back to the original for the next test.
                await replaceJob(jobs[0], oldJob);
                expect((await applyAll(admin, original)).filter((r) => !isClean(r)).map(formatReport)).toEqual([]);
            }),
        );

        it.each([
            ["kubernetes.storageSize 10Gi -> 20Gi", { storageSize: "20Gi" }, ["tile38"]],
            ["kubernetes.sentinelStorageSize 1Gi -> 2Gi", { sentinelStorageSize: "2Gi" }, ["sentinel"]],
            ["kubernetes.storageClass gp3 -> io2", { storageClass: "io2" }, ["sentinel", "tile38"]],
        ] as [string, Values, string[]][])(
            "%s: the server refuses the in-place update; the component replaces the StatefulSet (delete first), which the server accepts",
            (_label, change, expectedSets) =>
                withServerLogs(async () => {
                    const updated = await manifestsOf(variant({ kubernetes: { namespace: ns, ...change } }), base.secretKeys);
                    const changedSets = statefulSets(updated).filter((s) => {
                        const old = statefulSets(original).find((o) => o.object.metadata.name === s.object.metadata.name)!;
                        return changedSpecFields(old.object, s.object).length > 0;
                    });
                    expect(changedSets.map((s) => s.object.metadata.name).sort()).toEqual(expectedSets);
                    for (const s of changedSets) {
                        const old = statefulSets(original).find((o) => o.object.metadata.name === s.object.metadata.name)!;
                        const fields = changedSpecFields(old.object, s.object);
                        expect(fields).toEqual(["volumeClaimTemplates"]);
                        expect(STATEFULSET_MUTABLE_SPEC_FIELDS as readonly string[]).not.toContain("volumeClaimTemplates");

                        // 1. What `pulumi up` would meet without the component's options: a refusal.
                        const inPlace = await applyOne(admin, s);
                        expect(inPlace.outcome).toBe("refused");
                        expect(inPlace.status).toBe(422);
                        expect(inPlace.message).toMatch(/Forbidden: updates to statefulset spec for fields other than .* are forbidden/);

                        // 2. The component declares a replacement for every changed path, old object deleted first.
                        expect(s.options.deleteBeforeReplace).toBe(true);
                        for (const f of fields) expect(s.options.replaceOnChanges.some((p) => `spec.${f}` === p || `spec.${f}`.startsWith(`${p}.`))).toBe(true);

                        // 3. The replacement Pulumi then performs (delete, then create) is accepted.
                        const del = await admin.delete(s.object, "Background");
                        expect([describeObject(s.object), del.status]).toEqual([describeObject(s.object), 200]);
                        const created = await applyOne(admin, s);
                        expect([created.outcome, created.message, created.differences]).toEqual(["created", undefined, []]);
                    }
                    // Restore the original StatefulSets the same way (they differ in an immutable field again).
                    for (const s of changedSets) {
                        const old = statefulSets(original).find((o) => o.object.metadata.name === s.object.metadata.name)!;
                        expect((await admin.delete(old.object, "Background")).status).toBe(200);
                        expect(isClean(await applyOne(admin, old))).toBe(true);
                    }
                })(),
        );
    });

    describe("d. access review: the pods' ServiceAccounts are granted exactly what the pods use (nothing)", () => {
        const RBAC_KINDS = ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"];
        // What a pod could try with a token: the pods mount none, and the review shows none would work.
        const ATTEMPTS: { verb: string; resource: string; group?: string; subresource?: string; clusterWide?: boolean }[] = [
            ...["get", "list", "watch"].flatMap((verb) => [
                { verb, resource: "pods" },
                { verb, resource: "secrets" },
                { verb, resource: "configmaps" },
                { verb, resource: "services" },
                { verb, resource: "endpoints" },
                { verb, resource: "endpointslices", group: "discovery.k8s.io" },
                { verb, resource: "statefulsets", group: "apps" },
                { verb, resource: "leases", group: "coordination.k8s.io" },
                { verb, resource: "persistentvolumeclaims" },
            ]),
            { verb: "create", resource: "pods", subresource: "exec" },
            { verb: "patch", resource: "pods" },
            { verb: "delete", resource: "pods" },
            { verb: "update", resource: "configmaps" },
            { verb: "create", resource: "serviceaccounts", subresource: "token" },
            { verb: "list", resource: "namespaces", clusterWide: true },
            { verb: "list", resource: "nodes", clusterWide: true },
        ];

        it(
            "no config declares RBAC objects; every pod names its own ServiceAccount, declared in the stack, with no token mounted",
            withServerLogs(async () => {
                for (const [label, list] of manifests) {
                    expect([label, list.filter((m) => RBAC_KINDS.includes(m.object.kind)).map((m) => describeObject(m.object))]).toEqual([label, []]);
                    const accounts = list.filter((m) => m.object.kind === "ServiceAccount");
                    for (const sts of list.filter((m) => m.object.kind === "StatefulSet")) {
                        const pod = (sts.object.spec as { template: { spec: { serviceAccountName?: string; automountServiceAccountToken?: boolean } } }).template.spec;
                        const sa = accounts.find((a) => a.object.metadata.name === pod.serviceAccountName);
                        expect([label, sts.object.metadata.name, pod.serviceAccountName, sa !== undefined]).toEqual([label, sts.object.metadata.name, sts.object.metadata.name, true]);
                        expect(pod.automountServiceAccountToken).toBe(false);
                        expect(sa!.object.automountServiceAccountToken).toBe(false);
                    }
                }
            }),
        );

        it(
            "SubjectAccessReview denies every API call to both ServiceAccounts, in every config",
            withServerLogs(async () => {
                const allowed: string[] = [];
                for (const list of manifests.values()) {
                    const ns = namespaceOf(list);
                    for (const sa of list.filter((m) => m.object.kind === "ServiceAccount")) {
                        const user = `system:serviceaccount:${ns}:${sa.object.metadata.name}`;
                        const groups = ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"];
                        for (const a of ATTEMPTS) {
                            const attrs = { verb: a.verb, resource: a.resource, group: a.group ?? "", ...(a.subresource ? { subresource: a.subresource } : {}), ...(a.clusterWide ? {} : { namespace: ns }) };
                            if (await admin.canI(user, groups, attrs)) allowed.push(`${user} may ${JSON.stringify(attrs)}`);
                        }
                    }
                }
                expect(allowed).toEqual([]);
            }),
        );

        it(
            "the review is live: system:masters is allowed, and a RoleBinding to the account is seen at once",
            withServerLogs(async () => {
                const ns = "geo-five";
                const user = `system:serviceaccount:${ns}:tile38`;
                const groups = ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"];
                const attrs = { namespace: ns, verb: "get", resource: "configmaps" };
                expect(await admin.canI("someone", ["system:masters"], attrs)).toBe(true);
                expect(await admin.canI(user, groups, attrs)).toBe(false);
                const role: KubeObject = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "control", namespace: ns }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] };
                const binding: KubeObject = {
                    apiVersion: "rbac.authorization.k8s.io/v1",
                    kind: "RoleBinding",
                    metadata: { name: "control", namespace: ns },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "control" },
                    subjects: [{ kind: "ServiceAccount", name: "tile38", namespace: ns }],
                };
                try {
                    for (const o of [role, binding]) expect((await admin.apply(o, { fieldManager: "rbac-control" })).status).toBeLessThan(300);
                    expect(await admin.canI(user, groups, attrs)).toBe(true);
                } finally {
                    for (const o of [binding, role]) await admin.delete(o, "Background");
                }
                expect(await admin.canI(user, groups, attrs)).toBe(false);
            }),
        );
    });

    describe("npm run validate:k8s (its own server on 127.0.0.1:26010-26012)", () => {
        /** Runs the CLI as a user does; bounded. */
        const validate = (stack: string) =>
            new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
                const child = spawn("npm", ["run", "-s", "validate:k8s", "--", stack], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
                child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                const timer = setTimeout(() => {
                    child.kill("SIGKILL");
                    reject(new Error(`validate:k8s ${stack} took more than 120 s\n${stdout}\n${stderr}`));
                }, 120_000);
                child.on("close", (code) => {
                    clearTimeout(timer);
                    resolve({ code, stdout, stderr });
                });
            });

        it("k8s: prints the server's answer for every object and exits 0", async () => {
            const r = await validate("k8s");
            expect([r.code, r.stderr.replace(/npm warn.*\n/g, "")]).toEqual([0, ""]);
            const list = manifests.get(CONFIGS[0].label)!;
            for (const m of list) expect(r.stdout).toContain(`created    ${describeObject(m.object)}`);
            expect(r.stdout).toContain(`unchanged  all ${list.length} objects`);
            expect(r.stdout).toMatch(/admitted {3}Pod tile38\/tile38-0 \(from StatefulSet tile38\)/);
            expect(r.stdout).toContain("OK: the API server accepted and stored every object of stack k8s");
        }, 150_000);

        it("a stack the program refuses: exits 1 with the config report, starts no server", async () => {
            const file = path.join(ROOT, "Pulumi.validate-bad.yaml");
            fs.writeFileSync(file, fs.readFileSync(path.join(ROOT, "Pulumi.k8s.yaml"), "utf8").replace("storageSize: 10Gi", "storageSize: 10GB"));
            try {
                const r = await validate("validate-bad");
                expect(r.code).toBe(1);
                expect(r.stderr).toContain('tile38-ha:kubernetes.storageSize: "10GB" is not a Kubernetes quantity');
                expect(r.stdout).not.toContain("kube-apiserver");
            } finally {
                fs.unlinkSync(file);
            }
        }, 150_000);
    });
});
