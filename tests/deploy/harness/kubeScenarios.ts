/**
 * What happens to pods on the real cluster, and what the suite and the drill watch while it
 * happens: the ways a Tile38 pod goes (graceful deletion, force deletion, lost with its node),
 * the StatefulSet's writes acknowledged through the client pod, and a sampler that watches the
 * machine itself (tile38-server processes per volume, writable leaders at every address).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { NODE_NAME } from "../../../testing/kubeCluster";
import { StatefulPod } from "../../integration/harness/k8sCluster";
import { acceptsWrites, nodeStatusCommands, parseNodeStatus } from "../../../components/status/nodeStatus";
import { Sampler } from "../../integration/harness/sampler";
import { sleep, waitFor } from "../../integration/harness/wait";
import { Ack } from "../../integration/harness/writer";
import { KubeStack, KubeTarget, mainContainer, NAMESPACE, podServing } from "./kubeStack";

/**
 * Acknowledged writes of the client pod's writer `name`, pulled incrementally, across pauses: a
 * paused writer's acknowledgements stay, and it resumes with a new id prefix.
 */
export class AckLog {
    readonly all: Ack[] = [];
    private sessionBase = 0;
    private sessions = 0;
    constructor(
        private readonly s: KubeTarget,
        private readonly name = "main",
    ) {}

    /** Starts the writer (every 10 ms through the sentinels), ids prefixed by name and session. */
    async start(intervalMs = 10): Promise<void> {
        this.sessionBase = this.all.length;
        this.sessions++;
        await this.s.checks.client.startWriter(this.s.checks.writerOptions(intervalMs), `${this.name}${this.sessions}-`, this.name);
    }

    async pull(): Promise<Ack[]> {
        const { acks } = await this.s.checks.client.acks(this.all.length - this.sessionBase, this.name);
        this.all.push(...acks);
        return this.all;
    }

    /** Stops the writer; every acknowledgement is kept. */
    async stop(): Promise<Ack[]> {
        const { acks } = await this.s.checks.client.stopWriter(this.name);
        this.all.push(...acks.slice(this.all.length - this.sessionBase));
        return this.all;
    }

    /** Runs `fn` with the writer stopped (a data comparison needs the leader still), then starts it again. */
    async paused<T>(fn: () => Promise<T>): Promise<T> {
        await this.stop();
        try {
            return await fn();
        } finally {
            await this.start();
        }
    }
}

/** Waits until every running sentinel names the same running, writable leader other than `old` and every running follower follows it. */
export async function convergedOnNewLeader(s: KubeTarget, old: string, timeoutMs: number): Promise<StatefulPod> {
    const c = s.checks;
    let why = "";
    try {
        return await waitFor(
            async () => {
                await c.refresh();
                const named = await c.agreedLeader();
                if (!named || named === old) return void (why = `sentinels name ${JSON.stringify(await c.sentinelLeaders())}`);
                const leader = c.nodeAt(named);
                if (!leader || !c.running(leader)) return void (why = `${named} does not run`);
                const st = await c.nodeStatus(leader);
                if (st?.role !== "master" || st.readOnly) return void (why = `${named} reports ${JSON.stringify(st)}`);
                for (const n of c.nodes) {
                    if (n === leader || !c.running(n)) continue;
                    const ns = await c.nodeStatus(n);
                    if (ns?.following !== named) return void (why = `${n.name} reports ${JSON.stringify(ns)}`);
                }
                return leader;
            },
            { timeoutMs, what: "the sentinels and followers to converge on a new leader", intervalMs: 100 },
        );
    } catch (e) {
        throw new Error(`${(e as Error).message}; last seen: ${why}`);
    }
}

/**
 * The first write sent at or after `t` that `leader` holds; waits (bounded) for it. Sent, not
 * acknowledged: a write the old leader answered just before its SIGKILL reached the client just
 * after it, and counted as a failover of 0 ms (drill, once).
 */
export async function firstHeldAck(s: KubeTarget, log: AckLog, leader: StatefulPod, t: number, timeoutMs: number): Promise<Ack> {
    return waitFor(
        async () => {
            const acks = (await log.pull()).filter((a) => a.sentAt >= t);
            if (acks.length === 0) return undefined;
            const ids = await s.checks.idsOn(leader);
            return acks.find((a) => ids.has(a.id));
        },
        { timeoutMs, what: `a write acknowledged by ${leader.name}`, intervalMs: 200 },
    );
}

/**
 * The pids in pod `uid`'s cgroups (v1 pids hierarchy, cgroupfs driver): every process of the pod
 * (its containers and sandbox), or only those of container `containerId`.
 */
export function podProcesses(uid: string, containerId?: string): number[] {
    const pids = new Set<number>();
    const walk = (dir: string, inPod: boolean, inTarget: boolean) => {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        if (inTarget) {
            try {
                for (const l of fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n")) if (l) pids.add(Number(l));
            } catch {
                /* gone */
            }
        }
        for (const e of entries) {
            if (!e.isDirectory()) continue;
            const pod = inPod || e.name === `pod${uid}`;
            walk(path.join(dir, e.name), pod, inTarget || (pod && (containerId === undefined || e.name.includes(containerId))));
        }
    };
    walk("/sys/fs/cgroup/pids/kubepods", false, false);
    return [...pids];
}

/**
 * A node failure for pod `name`: the node is cordoned (its replacement cannot be scheduled), every
 * process of the pod is SIGKILLed at once (no preStop, no SIGTERM) and the pod is force-deleted
 * (the API object goes: CoreDNS stops resolving its name). `back()` uncordons: the StatefulSet's
 * replacement starts with a new address on the same volume. `killedAt`: when the processes died.
 * For 5 s more, whatever starts in the pod's cgroups is killed too (a kubelet that has not seen the
 * deletion yet restarts the dead containers in a new sandbox; a lost node runs nothing).
 */
export async function losePod(s: KubeTarget, name: string): Promise<{ killedAt: number; back: () => Promise<void> }> {
    const uid = s.checks.state(name)?.uid;
    if (!uid) throw new Error(`pod ${name} does not exist`);
    s.cluster.kubectl(["cordon", NODE_NAME]);
    const killAll = () => {
        const pids = podProcesses(uid);
        for (const pid of pids) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        return pids.length;
    };
    if (killAll() === 0) throw new Error(`no process of pod ${name} (${uid}) found in its cgroups`);
    const killedAt = Date.now();
    s.cluster.kubectl(["delete", "pod", "-n", s.checks.namespace, name, "--grace-period=0", "--force", "--wait=false"]);
    // A kubelet that has not seen the deletion yet restarts the dead containers (a new sandbox):
    // a lost node runs nothing, so whatever starts in the pod's cgroups dies too, until they are gone.
    const guard = (async () => {
        for (const until = Date.now() + 5000; Date.now() < until; await sleep(100)) killAll();
    })();
    return {
        killedAt,
        back: async () => {
            await guard;
            s.cluster.tryKubectl(["uncordon", NODE_NAME]);
        },
    };
}

/** `kubectl delete pod` with the default grace period, not waiting; returns when the order was given. */
export function deletePod(s: KubeTarget, name: string, opts: { force?: boolean } = {}): number {
    const t = Date.now();
    s.cluster.kubectl(["delete", "pod", "-n", s.checks.namespace, name, "--wait=false", ...(opts.force ? ["--grace-period=0", "--force"] : [])]);
    return t;
}

/** A watch on one pod: when the API server deleted a given incarnation of it. */
export interface PodGoneWatch {
    /** When the DELETED event of incarnation `uid` arrived (ms since epoch); rejects after `timeoutMs`. */
    goneAt: Promise<number>;
    /** Ends the watch (also before the pod is gone). */
    stop(): void;
}

/**
 * Watches pod `name` (`kubectl get --watch`), resolved once the watch is established: the time of
 * its DELETED event is that of the API server's removal, which polling `kubectl get` (a process
 * start and a full listing per sample) would see hundreds of milliseconds late.
 */
export async function watchPodGone(s: KubeTarget, name: string, uid: string, timeoutMs: number): Promise<PodGoneWatch> {
    const p = spawn(
        s.cluster.kubectlPath,
        ["--kubeconfig", s.cluster.kubeconfig, "get", "pod", name, "-n", s.checks.namespace, "--watch", "--output-watch-events", "-o", "jsonpath={.type} {.object.metadata.uid}{\"\\n\"}"],
        { stdio: ["ignore", "pipe", "pipe"] },
    );
    const stop = () => p.kill("SIGKILL");
    let established: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (established = resolve));
    const goneAt = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
            stop();
            reject(new Error(`pod ${name} (uid ${uid}) not deleted within ${timeoutMs} ms`));
        }, timeoutMs);
        let buffered = "";
        let err = "";
        p.stderr.on("data", (d: Buffer) => (err += d.toString()));
        p.stdout.on("data", (d: Buffer) => {
            const at = Date.now();
            buffered += d.toString();
            const lines = buffered.split("\n");
            buffered = lines.pop() ?? "";
            for (const line of lines) {
                established();
                const [type, seen] = line.trim().split(" ");
                if (type === "DELETED" && seen === uid) {
                    clearTimeout(timer);
                    stop();
                    resolve(at);
                }
            }
        });
        p.on("close", () => {
            clearTimeout(timer);
            established();
            reject(new Error(`the watch of pod ${name} ended before its deletion: ${err.trim()}`));
        });
    });
    goneAt.catch(() => undefined); // observed by the caller; not an unhandled rejection meanwhile
    await Promise.race([ready, sleep(15_000)]);
    return { goneAt, stop };
}

/**
 * The kubelet's steps in ending incarnation `uid` of pod `name`, from its log (level 3), in ms after
 * the preStop hook started: where the time between a deletion and the pod's removal went.
 */
export function kubeletTermination(s: KubeStack, name: string, uid: string): string {
    const at = (line: string) => {
        const m = line.match(/^[IWE]\d{4} (\d\d):(\d\d):(\d\d)\.(\d{3})/);
        return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) : undefined;
    };
    const lines = s.cluster.componentLog("kubelet").split("\n");
    const mine = lines.filter((l) => l.includes(`podUID="${uid}"`));
    const start = mine.find((l) => l.includes('"Running preStop hook"'));
    const t0 = start === undefined ? undefined : at(start);
    if (t0 === undefined) return "(no preStop hook of this pod in the kubelet's log)";
    const steps: string[] = [];
    const step = (what: string, line: string | undefined) => {
        const t = line === undefined ? undefined : at(line);
        if (t !== undefined) steps.push(`${what} +${t - t0} ms`);
    };
    step("preStop hook done", mine.find((l) => l.includes('"PreStop hook completed"')));
    for (const l of mine.filter((x) => x.includes('"Container exited normally"'))) step(`${l.match(/containerName="([^"]+)"/)?.[1] ?? "a container"} exited`, l);
    step("removed from etcd", lines.find((l) => l.includes('"Pod fully terminated and removed from etcd"') && l.includes(`pod="${NAMESPACE}/${name}"`) && (at(l) ?? -1) >= t0));
    return steps.join(", ");
}

/** Follows `kubectl logs -f` of a pod's main container until the container ends (bounded). */
export function followLogs(s: KubeStack, name: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve) => {
        const p = spawn(s.cluster.kubectlPath, ["--kubeconfig", s.cluster.kubeconfig, "logs", "-f", "-n", NAMESPACE, name, "-c", mainContainer(name), "--since=1s"], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        p.stdout.on("data", (d: Buffer) => (out += d.toString()));
        const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
        p.on("close", () => {
            clearTimeout(timer);
            resolve(out);
        });
    });
}

/** One sample of the machine during a scenario. */
export interface MachineSample {
    at: number;
    /** tile38-server processes with an AOF open, per data directory. */
    serversPerVolume: Map<string, number>;
    /** Addresses whose Tile38 answered as a writable leader. */
    writableLeaders: string[];
}

/**
 * Samples, every `intervalMs` until stopped: every tile38-server process on the machine and the
 * data directory whose AOF it holds open (/proc), and every Tile38 address ever seen (old
 * incarnations included, asked through the client pod) that answers as a writable leader.
 */
export class MachineSampler {
    private readonly addresses = new Set<string>();
    private readonly sampler: Sampler<MachineSample>;

    constructor(
        private readonly s: KubeStack,
        intervalMs = 150,
    ) {
        this.sampler = new Sampler(() => this.sample(), intervalMs);
    }

    private async sample(): Promise<MachineSample> {
        for (const [name, st] of this.s.checks.podStates()) if (name.startsWith("tile38-") && st.ip) this.addresses.add(st.ip);
        const at = Date.now();
        const serversPerVolume = new Map<string, number>();
        for (const dir of aofHolders()) serversPerVolume.set(dir, (serversPerVolume.get(dir) ?? 0) + 1);
        const c = this.s.checks;
        const leaders = await Promise.all(
            [...this.addresses].map(async (ip) => {
                try {
                    const st = parseNodeStatus(await c.client.pipeline(ip, c.tile38Port, nodeStatusCommands(c.passwords.tile38), 800));
                    return acceptsWrites(st) ? ip : undefined;
                } catch {
                    return undefined;
                }
            }),
        );
        return { at, serversPerVolume, writableLeaders: leaders.filter((x): x is string => x !== undefined) };
    }

    async stop(): Promise<{ maxServersPerVolume: number; maxWritableLeaders: number; samples: number; twoLeaders: string[] }> {
        const samples = (await this.sampler.stop()).map((x) => x.value);
        return {
            maxServersPerVolume: Math.max(0, ...samples.flatMap((x) => [...x.serversPerVolume.values()])),
            maxWritableLeaders: Math.max(0, ...samples.map((x) => x.writableLeaders.length)),
            samples: samples.length,
            // When, and which addresses, for a failure message.
            twoLeaders: samples.filter((x) => x.writableLeaders.length > 1).map((x) => `${new Date(x.at).toISOString()} ${x.writableLeaders.join(" ")}`),
        };
    }
}

/** True for a tile38-server process that a kubelet runs (in a pod's cgroup): not a loopback drill's or a Docker container's beside it. */
function podTile38Server(pid: string): boolean {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "tile38-server" && fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").includes("kubepods");
}

/** The data directory (device:inode) of every tile38-server of a pod that holds an appendonly.aof open (one entry per process). */
export function aofHolders(): string[] {
    const dirs: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
            if (!podTile38Server(pid)) continue;
            for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
                const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
                if (target.endsWith("/appendonly.aof")) {
                    // The path is the container's (/data); the directory's inode names the volume.
                    const st = fs.statSync(`/proc/${pid}/root${path.dirname(target)}`);
                    dirs.push(`${st.dev}:${st.ino}`);
                    break;
                }
            }
        } catch {
            /* the process went */
        }
    }
    return dirs;
}

/** tile38-server processes of pods on the machine. */
export function tile38Servers(): number {
    return fs.readdirSync("/proc").filter((d) => {
        try {
            return /^\d+$/.test(d) && podTile38Server(d);
        } catch {
            return false;
        }
    }).length;
}

/** What a {@link PodWatcher} saw. */
export interface PodWatch {
    /** Most Tile38 / sentinel pods not running-and-Ready in one sample. */
    maxUnavailable: { tile38: number; sentinel: number };
    /** Pods in the order they were replaced (a new uid seen), with when. */
    replaced: { name: string; at: number }[];
    samples: number;
}

/** Samples the namespace's pods every `intervalMs` (the API server's view) until stopped. */
export class PodWatcher {
    private readonly uids = new Map<string, string>();
    private readonly replaced: { name: string; at: number }[] = [];
    private readonly max = { tile38: 0, sentinel: 0 };
    private samples = 0;
    private readonly sampler: Sampler<void>;

    constructor(
        private readonly s: KubeStack,
        intervalMs = 200,
    ) {
        for (const [name, st] of s.checks.podStates()) this.uids.set(name, st.uid);
        this.sampler = new Sampler(async () => this.sample(), intervalMs);
    }

    private sample(): void {
        const states = this.s.checks.podStates();
        const at = Date.now();
        this.samples++;
        for (const kind of ["tile38", "sentinel"] as const) {
            const names = (kind === "tile38" ? this.s.checks.nodes : this.s.checks.sentinels).map((p) => p.name);
            const down = names.filter((n) => !podServing(states.get(n))).length;
            this.max[kind] = Math.max(this.max[kind], down);
        }
        for (const [name, st] of states) {
            const old = this.uids.get(name);
            if (old !== undefined && old !== st.uid) this.replaced.push({ name, at });
            this.uids.set(name, st.uid);
        }
    }

    async stop(): Promise<PodWatch> {
        await this.sampler.stop();
        return { maxUnavailable: { ...this.max }, replaced: [...this.replaced], samples: this.samples };
    }
}
