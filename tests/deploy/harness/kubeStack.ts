/**
 * The `kubernetes` target through its real front door: the single-node cluster of
 * testing/kubeCluster.ts (a kubelet runs the pods), local volumes of a `t38-local` StorageClass,
 * an S3-compatible store (versitygw) on the node's bridge address for the backups, a real
 * `pulumi up` of a test stack with the kubernetes provider, and a client pod (the project's client
 * agent under the installed Node.js, the project mounted read-only) through which every check
 * reaches the pods by their stable names, resolved by CoreDNS.
 *
 * Images are built on this machine (localImages.ts) and imported; nothing is pulled. Everything
 * is undone by {@link KubeStack.destroy}, also after a failed start.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { acceptsTcp } from "../../../testing/tcp";
import { KubeCluster, kubeClusterSkipReason, NODE_NAME, startKubeCluster } from "../../../testing/kubeCluster";
import { ClientPod } from "../../integration/harness/clientPod";
import { PodKind } from "../../integration/harness/podSim";
import { StackFacts, StatefulPod, StatefulSetChecks } from "../../integration/harness/k8sCluster";
import { tile38SkipReason } from "../../integration/harness/cluster";
import { which } from "../../integration/harness/busybox";
import { Sampler } from "../../integration/harness/sampler";
import { waitFor } from "../../integration/harness/wait";
import { buildImageArchives, ImageArchives } from "./localImages";
import { KUBERNETES_PLUGINS, pulumiSkipReason, PulumiStack } from "./pulumiCli";
import { checkoutPreviousRelease, previewOperations, previousReleaseConfig, previousReleaseSkipReason, recreatingSteps, removePreviousRelease, replacementReasons } from "../../../testing/previousRelease";

const PROJECT_DIR = path.join(__dirname, "../../..");
/** The stack's namespace. */
export const NAMESPACE = "tile38";
export const STORAGE_CLASS = "t38-local";
const S3_PORT = 28190;
const S3_KEYS = { id: "t38-k8s-backup", secret: "t38-k8s-backup-secret-key" };
export const BUCKET = "tile38-ha-k8s-test";
export const KEY_PREFIX = "tile38/k8s-test/";

/** Why the suite cannot run here, or undefined. */
export function kubeStackSkipReason(): string | undefined {
    return kubeClusterSkipReason() ?? pulumiSkipReason(KUBERNETES_PLUGINS) ?? tile38SkipReason() ?? (which("versitygw") || fs.existsSync(path.join(os.homedir(), "go/bin/versitygw")) ? undefined : "versitygw is not installed (.ci/run installs it)");
}

/** One pod as `kubectl get pods` shows it. */
export interface PodState {
    uid: string;
    ip: string;
    ready: boolean;
    /** The main container runs (a terminating pod may still). */
    running: boolean;
    terminating: boolean;
}

/** The main container of a StatefulSet pod is named like its set (`tile38-2` → `tile38`). */
export function mainContainer(podName: string): string {
    return podName.replace(/-\d+$/, "");
}

/** The pod runs its main container, is Ready and is not being deleted. */
export function podServing(st: PodState | undefined): boolean {
    return st !== undefined && st.ready && st.running && !st.terminating;
}

interface PodJson {
    metadata: { name: string; uid: string; deletionTimestamp?: string };
    status: { podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; state: { running?: unknown } }[] };
}

/** The stack's config for this cluster (every other setting: the defaults / Pulumi.k8s.yaml's). */
export function kubeStackConfig(cluster: KubeCluster, images: ImageArchives["tags"], over: { tile38Image?: string } = {}): Record<string, unknown> {
    return {
        target: "kubernetes",
        replicas: 3,
        sentinels: 3,
        quorum: 2,
        masterName: "mymaster",
        tile38: { image: over.tile38Image ?? images.tile38, port: 9851 },
        sentinel: { image: images.redis, port: 5000, downAfterMilliseconds: 3000, parallelSyncs: 1, failoverTimeoutMilliseconds: 18000 },
        kubernetes: {
            namespace: NAMESPACE,
            createNamespace: true,
            kubeconfig: cluster.kubeconfig,
            storageClass: STORAGE_CLASS,
            storageSize: "1Gi",
            sentinelStorageSize: "1Gi",
            tile38Resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "1Gi" } },
            sentinelResources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "128Mi" } },
        },
        backup: {
            enabled: true,
            store: "aws",
            existingBucket: BUCKET,
            endpoint: `http://${cluster.network.nodeIp}:${S3_PORT}`,
            keyPrefix: KEY_PREFIX,
            intervalSeconds: 10,
            agentImage: images.awsCli,
        },
        metrics: { sentinelExporterImage: images.redisExporter },
    };
}

/** The checks of k8sCluster.ts on pods a real kubelet runs. */
export class KubeletChecks extends StatefulSetChecks<StatefulPod> {
    private states = new Map<string, PodState>();

    constructor(
        readonly cluster: KubeCluster,
        private readonly pods: StatefulPod[],
        facts: StackFacts,
        client: ClientPod,
        /** The cluster's namespace (another team's cluster lives in its own). */
        readonly namespace: string = NAMESPACE,
        /** Its ConfigMap of scripts and sentinel templates. */
        readonly configMapName = "tile38-ha-scripts",
    ) {
        super(facts, client);
    }

    protected podsOf(kind: PodKind): StatefulPod[] {
        return this.pods.filter((p) => p.kind === kind);
    }

    running(p: StatefulPod): boolean {
        return this.states.get(p.name)?.running ?? false;
    }

    /** Every pod of the namespace as the API server has it now. */
    podStates(): Map<string, PodState> {
        const r = this.cluster.tryKubectl(["get", "pods", "-n", this.namespace, "-o", "json"], { timeoutMs: 15_000 });
        if (r.status !== 0) throw new Error(`kubectl get pods: ${r.stderr}`);
        const items = (JSON.parse(r.stdout) as { items: PodJson[] }).items;
        return new Map(
            items.map((i) => {
                const main = i.status.containerStatuses?.find((c) => c.name === mainContainer(i.metadata.name)) ?? i.status.containerStatuses?.[0];
                return [
                    i.metadata.name,
                    {
                        uid: i.metadata.uid,
                        ip: i.status.podIP ?? "",
                        ready: i.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
                        running: main?.state.running !== undefined,
                        terminating: i.metadata.deletionTimestamp !== undefined,
                    },
                ];
            }),
        );
    }

    async refresh(): Promise<void> {
        this.states = this.podStates();
    }

    state(name: string): PodState | undefined {
        return this.podStates().get(name);
    }

    /** `kubectl logs` of the pod's main container (`previous`: its last terminated instance). */
    logs(name: string, previous = false): string {
        const r = this.cluster.tryKubectl(["logs", "-n", this.namespace, name, "-c", mainContainer(name), ...(previous ? ["--previous"] : [])], { timeoutMs: 20_000 });
        return r.stdout;
    }

    /** Waits (bounded) until every pod of both StatefulSets runs and is Ready, then until the cluster is healthy; the leader. */
    async waitSettled(timeoutMs: number): Promise<StatefulPod> {
        const t0 = Date.now();
        await waitFor(
            async () => {
                const states = this.podStates();
                return [...this.nodes, ...this.sentinels].every((p) => podServing(states.get(p.name))) ? true : undefined;
            },
            { timeoutMs, what: "every pod to run and be Ready", intervalMs: 250 },
        );
        return this.waitHealthy(Math.max(1000, timeoutMs - (Date.now() - t0)));
    }

    /** Waits (bounded) until pod `name` exists with another uid than `oldUid` and is Ready. */
    async waitReplaced(name: string, oldUid: string, timeoutMs: number): Promise<PodState> {
        return waitFor(
            async () => {
                const s = this.state(name);
                return s && s.uid !== oldUid && s.ready && !s.terminating ? s : undefined;
            },
            { timeoutMs, what: `pod ${name} to come back Ready`, intervalMs: 250 },
        );
    }
}

/** A running deployment of the stack on the real cluster. */
/** What the scenarios and the drill need of a deployed cluster: the node, its checks, the work directory (the volumes). */
export interface KubeTarget {
    readonly cluster: KubeCluster;
    readonly checks: KubeletChecks;
    readonly workDir: string;
}

export class KubeStack implements KubeTarget {
    private constructor(
        readonly cluster: KubeCluster,
        readonly stack: PulumiStack,
        readonly images: ImageArchives,
        readonly workDir: string,
        private readonly s3: ChildProcess,
        readonly s3Dir: string,
        readonly checks: KubeletChecks,
        readonly firstUpMs: number,
        /** Every container log, kept after its pod is gone. */
        readonly podLogs: PodLogArchive,
        /** Local PersistentVolumes created so far. */
        private volumes: number,
        /** `pulumi preview` of this tree over the stack release 0.1.0 created: step counts by operation (or why skipped). */
        readonly upgradeOperations: Record<string, number> | string,
    ) {}

    /**
     * Builds the images, starts the cluster and the S3 store, creates local volumes, runs a real
     * `pulumi up`, starts the client pod and waits (bounded) until the cluster is healthy.
     */
    static async start(label: string, log: (line: string) => void = () => undefined, opts: { fromPreviousRelease?: boolean } = {}): Promise<KubeStack> {
        const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `tile38-ha-${label}-`));
        const undo: (() => Promise<void> | void)[] = [() => fs.rmSync(workDir, { recursive: true, force: true })];
        const cleanup = async () => {
            for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => undefined);
        };
        try {
            log("building the images (docker-archive tarballs)");
            const images = await buildImageArchives(workDir, 15 * 60_000);
            const cluster = await startKubeCluster({ images: images.files, log });
            undo.push(() => cluster.stop());
            const podLogs = new PodLogArchive(path.join(workDir, "pod-logs"));
            undo.push(() => podLogs.stop());
            const volumes = createStorage(cluster, path.join(workDir, "volumes"), 0, 6);

            const s3Dir = path.join(workDir, "s3");
            fs.mkdirSync(path.join(s3Dir, BUCKET), { recursive: true });
            const gw = which("versitygw") ?? path.join(os.homedir(), "go/bin/versitygw");
            const s3Log = fs.openSync(path.join(workDir, "versitygw.log"), "a");
            const s3 = spawn(gw, ["--port", `${cluster.network.nodeIp}:${S3_PORT}`, "posix", s3Dir], {
                env: { PATH: process.env.PATH ?? "", ROOT_ACCESS_KEY: S3_KEYS.id, ROOT_SECRET_KEY: S3_KEYS.secret },
                stdio: ["ignore", s3Log, s3Log],
            });
            fs.closeSync(s3Log); // the gateway has its own copy
            undo.push(() => void s3.kill("SIGKILL"));
            await waitFor(() => acceptsTcp(cluster.network.nodeIp, S3_PORT), { timeoutMs: 15_000, what: "the S3 store" });

            const stack = new PulumiStack(PROJECT_DIR, `k8s-test-${label}`, path.join(workDir, "pulumi-state"), {});
            const config = kubeStackConfig(cluster, images.tags);
            await stack.init(config);
            undo.push(() => stack.remove());
            await stack.setSecret("backupAccessKeyId", S3_KEYS.id);
            await stack.setSecret("backupSecretAccessKey", S3_KEYS.secret);
            // The stack is created by the previous release, as a team that upgrades has it, then
            // updated by this tree: the preview in between must replace and delete nothing.
            const noRelease = opts.fromPreviousRelease ? await previousReleaseSkipReason() : "not asked for";
            let upgrade: Record<string, number> | string = `skipped: ${noRelease}`;
            if (!noRelease) {
                const old = await checkoutPreviousRelease(path.join(workDir, "release-0.1.0"));
                try {
                    stack.writeConfig(previousReleaseConfig(config));
                    fs.copyFileSync(stack.configFile, path.join(old, path.basename(stack.configFile)));
                    stack.writeConfig(config);
                    log("pulumi up of release 0.1.0");
                    const first = await new PulumiStack(old, stack.name, path.join(workDir, "pulumi-state"), {}).up(15 * 60_000);
                    if (first.code !== 0) throw new Error(`pulumi up of 0.1.0 exited ${first.code}:\n${first.stdout.slice(-6000)}\n${first.stderr.slice(-3000)}`);
                    const preview = (await stack.must(["preview", "--json", "--show-sames"], 10 * 60_000)).stdout;
                    upgrade = { ...previewOperations(preview), recreating: recreatingSteps(preview).length };
                    for (const step of replacementReasons(preview)) log(`upgrade preview: ${step}`);
                } finally {
                    await removePreviousRelease(old);
                }
            }
            log("pulumi up");
            const up = await stack.up(15 * 60_000);
            if (up.code !== 0) throw new Error(`pulumi up exited ${up.code}:\n${up.stdout.slice(-6000)}\n${up.stderr.slice(-3000)}`);
            const outputs = await stack.outputs();
            const endpoints = (key: string) => outputs[key] as { host: string; port: number }[];
            const pods: StatefulPod[] = [
                ...endpoints("tile38Endpoints").map((e) => ({ name: e.host.split(".")[0], kind: "tile38" as const, fqdn: e.host })),
                ...endpoints("sentinelEndpoints").map((e) => ({ name: e.host.split(".")[0], kind: "sentinel" as const, fqdn: e.host })),
            ];
            const facts = {
                masterName: String(outputs.masterName),
                tile38Port: endpoints("tile38Endpoints")[0].port,
                sentinelPort: endpoints("sentinelEndpoints")[0].port,
                passwords: { tile38: String(outputs.tile38Password), sentinel: String(outputs.sentinelPassword) },
            };
            const client = await startClientPod(cluster, path.join(workDir, "client"), images.tags.node);
            undo.push(() => client.stop());
            const checks = new KubeletChecks(cluster, pods, facts, client);
            const s = new KubeStack(cluster, stack, images, workDir, s3, s3Dir, checks, up.durationMs, podLogs, volumes, upgrade);
            undo.length = 0;
            return s;
        } catch (e) {
            await cleanup();
            throw e;
        }
    }

    /** Objects in the S3 store under the backup prefix (relative keys). */
    backupObjects(): string[] {
        const root = path.join(this.s3Dir, BUCKET, KEY_PREFIX);
        const walk = (dir: string): string[] =>
            fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.relative(root, path.join(dir, d.name))])) : [];
        return walk(root);
    }

    /** More local volumes (after PVCs were deleted, their volumes stay Released). */
    addVolumes(n: number): void {
        this.volumes = createStorage(this.cluster, path.join(this.workDir, "volumes"), this.volumes, n);
    }

    /**
     * Removes everything: the stack's state (no `pulumi destroy`: the whole cluster goes, and
     * stopping every pod gracefully would only add a minute), the S3 store, the cluster, the work
     * directory.
     */
    async destroy(): Promise<void> {
        await this.podLogs.stop();
        await this.stack.remove().catch(() => undefined);
        this.s3.kill("SIGKILL");
        await this.cluster.stop();
        fs.rmSync(this.workDir, { recursive: true, force: true });
    }
}

/**
 * `n` more local PersistentVolumes of 1Gi on the node, named from `first` on; with the first ones
 * the `t38-local` StorageClass. Returns how many exist now.
 */
function createStorage(cluster: KubeCluster, dir: string, first: number, n: number): number {
    const docs: string[] = [];
    if (first === 0) {
        docs.push(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: ${STORAGE_CLASS} }
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain`);
    }
    for (let i = first; i < first + n; i++) {
        const name = `t38-pv-${i}`;
        const volDir = path.join(dir, name);
        fs.mkdirSync(volDir, { recursive: true, mode: 0o755 });
        docs.push(`apiVersion: v1
kind: PersistentVolume
metadata: { name: ${name} }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ${STORAGE_CLASS}
  local: { path: ${volDir} }
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{ key: kubernetes.io/hostname, operator: In, values: [${NODE_NAME}] }]`);
    }
    cluster.kubectl(["apply", "-f", "-"], { input: docs.join("\n---\n") });
    return first + n;
}

/**
 * The client pod: the project's client agent (tests/integration/harness/clientAgent.ts) under
 * the installed Node.js, the project mounted read-only at its own path, the agent's socket on a
 * host directory; labelled as a client (the NetworkPolicies admit it).
 */
async function startClientPod(cluster: KubeCluster, socketDir: string, image: string): Promise<ClientPod> {
    fs.mkdirSync(socketDir, { recursive: true });
    const agent = path.join(PROJECT_DIR, "tests/integration/harness/clientAgent.ts");
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "client", namespace: NAMESPACE, labels: { "tile38-ha/client": "true" } },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 2,
            containers: [
                {
                    name: "agent",
                    image,
                    imagePullPolicy: "Never",
                    command: ["node", "-r", "ts-node/register/transpile-only", agent, "/agent/agent.sock"],
                    workingDir: PROJECT_DIR,
                    env: [
                        { name: "HOME", value: "/tmp" },
                        { name: "TS_NODE_TRANSPILE_ONLY", value: "true" },
                        { name: "TS_NODE_PROJECT", value: path.join(PROJECT_DIR, "tsconfig.dev.json") },
                    ],
                    volumeMounts: [
                        { name: "project", mountPath: PROJECT_DIR, readOnly: true },
                        { name: "agent", mountPath: "/agent" },
                    ],
                },
            ],
            volumes: [
                { name: "project", hostPath: { path: PROJECT_DIR, type: "Directory" } },
                { name: "agent", hostPath: { path: socketDir, type: "Directory" } },
            ],
        },
    };
    cluster.kubectl(["apply", "-f", "-"], { input: JSON.stringify(pod) });
    const gone = () => {
        const r = cluster.tryKubectl(["get", "pod", "client", "-n", NAMESPACE, "-o", "jsonpath={.status.phase}"], { timeoutMs: 10_000 });
        return r.stdout === "Failed" || r.stdout === "Succeeded" ? cluster.tryKubectl(["logs", "client", "-n", NAMESPACE]).stdout.slice(-2000) : undefined;
    };
    const stop = async () => void cluster.tryKubectl(["delete", "pod", "client", "-n", NAMESPACE, "--grace-period=0", "--force", "--wait=false"], { timeoutMs: 20_000 });
    return ClientPod.connect(path.join(socketDir, "agent.sock"), stop, gone, 120_000);
}

/**
 * Keeps every container log the kubelet writes (/var/log/pods, removed with the pod) in a work
 * directory, hard-linked when first seen (scanned every 2 s), so that a failed scenario can show
 * what a pod that is gone said. Lines are CRI log lines (`<RFC3339 time> stdout|stderr F <text>`).
 */
export class PodLogArchive {
    private readonly sampler: Sampler<void>;

    constructor(
        readonly dir: string,
        private readonly source = "/var/log/pods",
    ) {
        fs.mkdirSync(dir, { recursive: true });
        this.sampler = new Sampler(async () => this.copy(), 2000);
    }

    private copy(): void {
        const walk = (rel: string) => {
            let entries: fs.Dirent[];
            try {
                entries = fs.readdirSync(path.join(this.source, rel), { withFileTypes: true });
            } catch {
                return;
            }
            for (const e of entries) {
                const r = path.join(rel, e.name);
                if (e.isDirectory()) walk(r);
                else if (e.name.endsWith(".log")) {
                    try {
                        const from = path.join(this.source, r);
                        const to = path.join(this.dir, r);
                        if (fs.existsSync(to)) {
                            const [a, b] = [fs.statSync(from), fs.statSync(to)];
                            if (a.ino === b.ino || a.size === b.size) continue;
                        }
                        fs.mkdirSync(path.dirname(to), { recursive: true });
                        // A hard link where it can: it keeps every line written until the
                        // container ends, also when the kubelet removes the pod (and its logs)
                        // before the next scan; a copy lost a fast-stopping pod's last seconds.
                        try {
                            fs.linkSync(from, to);
                        } catch {
                            fs.copyFileSync(from, to); // another filesystem (or a copy to refresh)
                        }
                    } catch {
                        /* rotated or gone */
                    }
                }
            }
        };
        walk("");
    }

    /** Lines of every archived log of a pod whose name starts with `podPrefix`, at or after `since` (ms), oldest first. */
    lines(podPrefix: string, since: number, match = /tile38-ha|sentinel|[+-](sdown|odown|failover|switch)/): string[] {
        this.copy();
        const out: { t: string; line: string }[] = [];
        for (const podDir of fs.readdirSync(this.dir)) {
            const [, pod] = podDir.split("_");
            if (!pod?.startsWith(podPrefix)) continue;
            for (const container of fs.readdirSync(path.join(this.dir, podDir))) {
                for (const f of fs.readdirSync(path.join(this.dir, podDir, container))) {
                    for (const l of fs.readFileSync(path.join(this.dir, podDir, container, f), "utf8").split("\n")) {
                        const m = /^(\S+) (?:stdout|stderr) \S (.*)$/.exec(l);
                        if (!m || Date.parse(m[1]) < since || !match.test(m[2])) continue;
                        out.push({ t: m[1], line: `${pod}/${container}: ${m[2]}` });
                    }
                }
            }
        }
        return out.sort((a, b) => a.t.localeCompare(b.t)).map((x) => x.line);
    }

    async stop(): Promise<void> {
        await this.sampler.stop();
    }
}
