/**
 * A Kubernetes pod simulator for the `kubernetes` target: runs the two StatefulSets the stack
 * renders (see k8sObjects.ts) as real processes, each pod in a network namespace of its own with a
 * fresh address at every start, its stable name
 * (`<statefulset>-<i>.<headless service>.<namespace>.svc.<cluster domain>`) published by a real DNS
 * server (dnsServer.ts) that every pod uses as its resolver.
 *
 * What a pod is here, and what the kubelet would do:
 * - the main container's `command` runs under busybox `sh` (the Alpine images' shell) with the
 *   container's env resolved as the kubelet does (`$(VAR)` expansion, `fieldRef: metadata.name`,
 *   `secretKeyRef` from the rendered Secret); its volume mounts are host directories: each
 *   ConfigMap volume holds the rendered ConfigMap keys it projects, `data` is the pod's own
 *   persistent directory (its PVC: it survives restarts), any other volume a fresh emptyDir. Paths
 *   in `command` and env that lie under a mount path are rewritten to that directory (no mount
 *   namespace tricks: the scripts take every path from their env). Processes run as root.
 * - start: new sandbox (new IP), DNS record set (the headless Services publish not-ready
 *   addresses), then the container.
 * What only this simulator does, and why it stays: every pod's network namespace is the test's
 * own, so the partition suite cuts links between pods with iptables inside them (partition.ts).
 * Everything a kubelet does (deletions, force deletions, rolling updates, lost pods, DNS) is
 * proven on a real single-node cluster instead (tests/deploy/k8sDeploy.test.ts).
 * Sidecars (the backup agent) are not run: the backup path needs S3. The one thing a Tile38 start
 * script asks its sidecar, the restore handshake of an empty node in an empty cluster, is answered
 * by a stand-in with `none` (an empty bucket), exactly as the agent answers when no backup exists.
 */
import * as fs from "fs";
import * as path from "path";
import { busyboxPath, busyboxSh, which } from "./busybox";
import { DnsServer } from "./dnsServer";
import { ContainerSpec, K8sObjects, StatefulSetSpec } from "./k8sObjects";
import { PodNetwork, PodSandbox } from "./netns";
import { Harness, ManagedProcess } from "./processes";
import { tile38Binary } from "./cluster";

export type PodKind = "tile38" | "sentinel";

/** One pod of a StatefulSet: stable name and volume, changing sandbox. */
export interface SimPod {
    name: string;
    kind: PodKind;
    index: number;
    fqdn: string;
    /** The pod's persistent volume (`data`). */
    dataDir: string;
    /** Present while the pod exists. */
    sandbox?: PodSandbox;
    proc?: ManagedProcess;
    /** Every address the pod has had, in order. */
    ips: string[];
    /** Incarnations so far. */
    generation: number;
}

const IP_BIN = which("ip") ?? "/usr/sbin/ip";

export class PodSimulator {
    readonly h: Harness;
    readonly net: PodNetwork;
    readonly dns: DnsServer;
    readonly pods: SimPod[];
    private readonly volumeDirs: Record<PodKind, Record<string, string>> = { tile38: {}, sentinel: {} };
    private readonly pathValues: Record<PodKind, string>;
    private readonly stopRestoreStandIns = new Map<string, () => void>();

    private constructor(readonly objects: K8sObjects, label: string, dns: (net: PodNetwork, h: Harness) => DnsServer) {
        this.h = new Harness(`t38sim-${label}`);
        this.net = new PodNetwork(label);
        this.dns = dns(this.net, this.h);
        const server = tile38Binary();
        if (!server) throw new Error("tile38-server not found (TILE38_SERVER or PATH)");
        const redis = which("redis-server");
        if (!redis) throw new Error("redis-server is not installed");
        this.pathValues = {
            tile38: busyboxPath(this.h.dir("tile38-image"), { "tile38-server": server }),
            sentinel: busyboxPath(this.h.dir("redis-image"), { "redis-server": redis }),
        };
        for (const kind of ["tile38", "sentinel"] as const) {
            for (const [volume, items] of Object.entries(this.set(kind).configMapVolumes)) {
                const dir = this.h.dir(`configmap-${kind}-${volume}`);
                for (const [key, file] of Object.entries(items)) {
                    const text = objects.configMap[key];
                    if (text === undefined) throw new Error(`ConfigMap ${objects.configMapName} has no key ${key}`);
                    fs.writeFileSync(path.join(dir, file), text, { mode: 0o444 });
                }
                this.volumeDirs[kind][volume] = dir;
            }
        }
        this.pods = (["tile38", "sentinel"] as const).flatMap((kind) => {
            const s = this.set(kind);
            return Array.from({ length: s.replicas }, (_, index) => {
                const name = `${s.name}-${index}`;
                return { name, kind, index, fqdn: this.fqdn(name, s.serviceName), dataDir: this.h.dir(`pvc-data-${name}`), ips: [], generation: 0 };
            });
        });
    }

    /** Creates the network and the DNS server (bounded); no pod runs yet. */
    static async create(objects: K8sObjects, label: string): Promise<PodSimulator> {
        const sim = new PodSimulator(objects, label, (net, h) => new DnsServer(h, net.clusterNetns, net.dnsAddress, objects.clusterDomain));
        try {
            await sim.dns.start();
        } catch (e) {
            await sim.destroy();
            throw e;
        }
        return sim;
    }

    set(kind: PodKind): StatefulSetSpec {
        return kind === "tile38" ? this.objects.tile38 : this.objects.sentinel;
    }

    fqdn(podName: string, service: string): string {
        return `${podName}.${service}.${this.objects.namespace}.svc.${this.objects.clusterDomain}`;
    }

    /** Kubernetes' search path for pods of the namespace. */
    searchPath(): string[] {
        const { namespace: ns, clusterDomain: d } = this.objects;
        return [`${ns}.svc.${d}`, `svc.${d}`, d];
    }

    pod(name: string): SimPod {
        const p = this.pods.find((x) => x.name === name);
        if (!p) throw new Error(`no pod ${name}`);
        return p;
    }

    podsOf(kind: PodKind): SimPod[] {
        return this.pods.filter((p) => p.kind === kind);
    }

    running(p: SimPod): boolean {
        return !!p.proc && !p.proc.status;
    }

    /** The host directory that a container path lies in, given the pod's mounts. */
    private hostPath(p: SimPod, mounts: Record<string, string>, value: string): string {
        const mount = Object.keys(mounts)
            .sort((a, b) => b.length - a.length)
            .find((m) => value === m || value.startsWith(`${m}/`));
        return mount === undefined ? value : mounts[mount] + value.slice(mount.length);
    }

    /** Mount path -> host directory for this incarnation of the pod. */
    private mounts(p: SimPod, c: ContainerSpec): Record<string, string> {
        const out: Record<string, string> = {};
        for (const m of c.volumeMounts) {
            if (m.name === "data") out[m.mountPath] = p.dataDir;
            else if (this.volumeDirs[p.kind][m.name]) out[m.mountPath] = this.volumeDirs[p.kind][m.name];
            else out[m.mountPath] = this.h.dir(`emptydir-${p.name}-${p.generation}-${m.name}`);
        }
        return out;
    }

    /** The container's env as the kubelet resolves it, paths rewritten to the pod's directories. */
    containerEnv(p: SimPod, c: ContainerSpec, mounts: Record<string, string>): Record<string, string> {
        const env: Record<string, string> = {};
        for (const e of c.env) {
            let v: string;
            if (e.value !== undefined) v = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string) => env[name] ?? all);
            else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") v = p.name;
            else if (e.valueFrom?.secretKeyRef) {
                const { name, key } = e.valueFrom.secretKeyRef;
                if (name !== this.objects.secretName || this.objects.secret[key] === undefined) throw new Error(`${p.name}: env ${e.name} refers to ${name}/${key}, which the rendered Secret lacks`);
                v = this.objects.secret[key];
            } else throw new Error(`${p.name}: env ${e.name} has a source the simulator does not know: ${JSON.stringify(e)}`);
            env[e.name] = this.hostPath(p, mounts, v);
        }
        return { PATH: this.pathValues[p.kind], HOME: mounts["/tmp"] ?? p.dataDir, TZ: "UTC", ...env };
    }

    /** `ip netns exec <sandbox> busybox sh …` for a container command (`sh <script> …`). */
    private command(p: SimPod, argv: string[], mounts: Record<string, string>, netns = p.sandbox!.netns): string[] {
        if (argv[0] !== "sh") throw new Error(`${p.name}: the simulator runs 'sh …' commands only, got ${JSON.stringify(argv)}`);
        return ["netns", "exec", netns, busyboxSh(), "sh", ...argv.slice(1).map((a) => this.hostPath(p, mounts, a))];
    }

    private currentMounts = new Map<string, Record<string, string>>();

    /** Starts pod `name`: new sandbox and address, DNS record, then its main container. */
    async startPod(name: string): Promise<SimPod> {
        const p = this.pod(name);
        if (p.sandbox) throw new Error(`pod ${name} exists`);
        p.generation++;
        p.sandbox = this.net.createSandbox(`${p.name}-${p.generation}`, this.searchPath());
        p.ips.push(p.sandbox.ip);
        await this.dns.set(p.fqdn, p.sandbox.ip);
        const c = this.set(p.kind).main;
        const mounts = this.mounts(p, c);
        this.currentMounts.set(p.name, mounts);
        const env = this.containerEnv(p, c, mounts);
        p.proc = this.h.start({ name: `${p.name}#${p.generation}`, command: IP_BIN, args: this.command(p, c.command, mounts), env, cwd: p.dataDir });
        if (env.TILE38_RESTORE_CMD) this.stopRestoreStandIns.set(p.name, this.restoreStandIn(p, env.TILE38_RESTORE_CMD));
        return p;
    }

    /** Answers the restore handshake of the (not simulated) backup agent: no backup exists. */
    private restoreStandIn(p: SimPod, restoreCmd: string): () => void {
        const dirName = /^RESTORE_DIR_NAME='([^']+)'$/m.exec(restoreCmd)?.[1];
        if (!dirName) throw new Error("TILE38_RESTORE_CMD has no RESTORE_DIR_NAME setting");
        const dir = path.join(p.dataDir, dirName);
        const timer = setInterval(() => {
            try {
                const id = fs.readFileSync(path.join(dir, "request"), "utf8").trim();
                const result = path.join(dir, "result");
                if (id && !(fs.existsSync(result) && fs.readFileSync(result, "utf8").includes(id))) {
                    fs.writeFileSync(`${result}.tmp`, `none ${id}\n`);
                    fs.renameSync(`${result}.tmp`, result);
                }
            } catch {
                /* no request */
            }
        }, 200);
        return () => clearInterval(timer);
    }

    /** Starts a process in a sandbox of its own (e.g. a client pod); the caller stops it. */
    startAux(name: string, command: string, args: string[], env: Record<string, string>): { proc: ManagedProcess; sandbox: PodSandbox } {
        const sandbox = this.net.createSandbox(name, this.searchPath());
        const proc = this.h.start({ name, command: IP_BIN, args: ["netns", "exec", sandbox.netns, command, ...args], env });
        return { proc, sandbox };
    }

    /** Stops every process, the DNS server, and removes every namespace and the temp root. */
    async destroy(): Promise<void> {
        for (const stop of this.stopRestoreStandIns.values()) stop();
        this.stopRestoreStandIns.clear();
        await this.h.stopAll();
        this.net.destroySync();
        await this.h.cleanup();
    }
}
