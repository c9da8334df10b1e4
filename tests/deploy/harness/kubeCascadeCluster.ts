/**
 * The cascade drill's cluster (scripts/drillCascade.ts) on a stack deployed to the real
 * single-node Kubernetes cluster (kubeStack.ts): a {@link ClusterProbe} over the pods' stable
 * names that loses a leader's pod as kubeScenarios.losePod does and freezes one by SIGSTOP of its
 * Tile38 container's processes (the kubelet runs on this machine, so they are local processes,
 * found in the pod's cgroups).
 *
 * The cascade writes and probes from this process (ioredis and the RESP helpers dial what the
 * sentinels name: the pods' FQDNs). This machine is the node: it reaches the pod IPs on the node's
 * bridge, and while attached, names under the cluster domain (and only those) are looked up at the
 * cluster's CoreDNS instead of the machine's resolver, as for a host-network pod with
 * `dnsPolicy: ClusterFirstWithHostNet`; a lost pod's name is NXDOMAIN here as in the pods.
 */
import * as fs from "fs";
import dns = require("dns");
import type { CascadeCluster } from "../../../scripts/drillCascade";
import { ClusterProbe, ProbeTopology } from "../../integration/harness/clusterProbe";
import { sleep, waitFor, withTimeout } from "../../integration/harness/wait";
import { NODE_NAME } from "../../../testing/kubeCluster";
import { mustRun, runCommand } from "../../../testing/command";
import { KubeStack, mainContainer, NAMESPACE, podServing } from "./kubeStack";
import { podProcesses } from "./kubeScenarios";

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string | dns.LookupAddress[], family?: number) => void;

/**
 * Makes this process look up names ending in `suffix` at the DNS server `server` (A records,
 * uncached); every other name still goes to the machine's resolver. Returns the undo.
 */
function lookUpClusterNames(suffix: string, server: string): () => void {
    const resolver = new dns.Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([server]);
    const mod = dns as unknown as { lookup: (...args: unknown[]) => void };
    const original = mod.lookup;
    const patched = function (this: unknown, ...args: unknown[]): void {
        const [hostname, options, callback] = args;
        if (typeof hostname !== "string" || !hostname.replace(/\.$/, "").endsWith(suffix)) return original.apply(this, args);
        const cb = (typeof options === "function" ? options : callback) as LookupCallback;
        const all = typeof options === "object" && options !== null && (options as dns.LookupOptions).all === true;
        resolver.resolve4(hostname, (err, addresses) => {
            if (err || addresses.length === 0) {
                const e: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (cluster DNS ${server}: ${err?.code ?? "no address"})`), { code: "ENOTFOUND", syscall: "getaddrinfo", hostname });
                return cb(e);
            }
            if (all) cb(null, addresses.map((address) => ({ address, family: 4 })));
            else cb(null, addresses[0], 4);
        });
    };
    mod.lookup = patched;
    return () => {
        if (mod.lookup === patched) mod.lookup = original;
    };
}

/** Sends `signal` to every pid; how many there were. */
function signalAll(pids: number[], signal: NodeJS.Signals): number {
    for (const pid of pids) {
        try {
            process.kill(pid, signal);
        } catch {
            /* gone */
        }
    }
    return pids.length;
}

/** The state letter of process `pid` (/proc/<pid>/stat), or undefined when it is gone. */
function processState(pid: number): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
    } catch {
        return undefined;
    }
}

/**
 * A {@link CascadeCluster} over a deployed {@link KubeStack}: nodes and sentinels by their pods'
 * FQDNs (the names the sentinels use), leaders lost and frozen on the node. Call {@link close}
 * when done: it lets every lost pod come back, thaws what is frozen and restores name lookup.
 */
export class KubeCascadeCluster extends ClusterProbe implements CascadeCluster {
    readonly passwords: { tile38: string; sentinel: string };
    /** Per node: the `back` of its pod's loss until {@link restartNode}. */
    private readonly lost: ((() => Promise<void>) | undefined)[];
    /** Lost pods being let back (uncordoned once the guard after their deletion ended). */
    private readonly returning: Promise<void>[] = [];
    /** Per node: the pod uid and container id whose processes are stopped. */
    private readonly frozen = new Map<number, { uid: string; containerId: string }>();
    private readonly sentinelsServing: boolean[];

    private constructor(
        readonly s: KubeStack,
        private readonly restoreLookup: () => void,
    ) {
        super();
        this.passwords = s.checks.passwords;
        this.lost = s.checks.nodes.map(() => undefined);
        const states = s.checks.podStates();
        this.sentinelsServing = s.checks.sentinels.map((p) => podServing(states.get(p.name)));
    }

    /** Attaches to a stack whose pods all serve; waits (bounded) until every node answers from here. */
    static async attach(s: KubeStack): Promise<KubeCascadeCluster> {
        const fqdn = s.checks.nodes[0].fqdn;
        const suffix = fqdn.slice(fqdn.indexOf(".svc."));
        const c = new KubeCascadeCluster(s, lookUpClusterNames(suffix, s.cluster.network.nodeIp));
        try {
            const states = s.checks.podStates();
            const down = [...s.checks.nodes, ...s.checks.sentinels].filter((p) => !podServing(states.get(p.name))).map((p) => p.name);
            if (down.length) throw new Error(`pods not running and Ready: ${down.join(", ")}`);
            await waitFor(async () => ((await Promise.all(c.topo.nodes.map((_n, i) => c.nodeStatus(i)))).every(Boolean) ? true : undefined), { timeoutMs: 30_000, what: "every Tile38 pod to answer from this machine" });
            return c;
        } catch (e) {
            await c.close();
            throw e;
        }
    }

    get topo(): ProbeTopology {
        const k = this.s.checks;
        return { masterName: k.masterName, nodes: k.nodes.map((p) => ({ host: p.fqdn, port: k.tile38Port })), sentinels: k.sentinels.map((p) => ({ host: p.fqdn, port: k.sentinelPort })) };
    }

    /** False from the loss of node `i`'s pod until {@link restartNode}; the returning pod counts as running (health waits for it). */
    nodeRunning(i: number): boolean {
        return this.lost[i] === undefined;
    }

    /** The cascade strikes no sentinel: whether its pod served at attach. */
    sentinelRunning(i: number): boolean {
        return this.sentinelsServing[i];
    }

    /** `kubectl` with the cluster's kubeconfig, without blocking this process (bounded; throws on failure). */
    private async kubectl(args: string[]): Promise<string> {
        return (await mustRun(this.s.cluster.kubectlPath, ["--kubeconfig", this.s.cluster.kubeconfig, ...args], { timeoutMs: 20_000 })).stdout;
    }

    /**
     * Node `i`'s pod LOST, as kubeScenarios.losePod loses it: every process of the pod SIGKILLed at
     * once (no preStop, no SIGTERM), the node cordoned and the pod force-deleted (its name stops
     * resolving), and for 5 s after the deletion whatever starts in its cgroups killed too.
     * losePod itself is not used: its kubectl calls are synchronous and stalled this process (the
     * cascade's writer and clock) for 0.3-0.6 s around the kill, so that an acknowledgement sent
     * by the old leader before it died was read afterwards and counted as the failover's first
     * write. Here the kill comes first, right after the pod's uid is read, and cordon and deletion
     * follow (cordon before the deletion, as losePod: the replacement waits for {@link restartNode}).
     */
    async killNode(i: number): Promise<void> {
        const name = this.s.checks.nodes[i].name;
        const uid = (await this.kubectl(["get", "pod", "-n", NAMESPACE, name, "-o", "jsonpath={.metadata.uid}"])).trim();
        const killAll = () => signalAll(podProcesses(uid), "SIGKILL");
        if (killAll() === 0) throw new Error(`no process of pod ${name} (${uid}) found in its cgroups`);
        this.lost[i] = async () => undefined; // not running from now on, whatever follows
        let until = Infinity;
        const guard = (async () => {
            while (Date.now() < until) {
                killAll();
                await sleep(100);
            }
        })();
        try {
            await this.kubectl(["cordon", NODE_NAME]);
            await this.kubectl(["delete", "pod", "-n", NAMESPACE, name, "--grace-period=0", "--force", "--wait=false"]);
        } finally {
            until = Date.now() + 5000;
            this.lost[i] = async () => {
                await guard;
                await runCommand(this.s.cluster.kubectlPath, ["--kubeconfig", this.s.cluster.kubeconfig, "uncordon", NODE_NAME], { timeoutMs: 20_000 });
            };
        }
    }

    /** A planned stop: `kubectl delete pod` (preStop hand-over, then SIGTERM); waits (bounded) until that incarnation is gone. The StatefulSet recreates it. */
    async stopNode(i: number): Promise<void> {
        const name = this.s.checks.nodes[i].name;
        const uid = this.s.checks.state(name)?.uid;
        await this.kubectl(["delete", "pod", "-n", NAMESPACE, name, "--wait=false"]);
        await waitFor(() => (this.s.checks.state(name)?.uid !== uid ? true : undefined), { timeoutMs: 120_000, what: `pod ${name} (${uid}) to go`, intervalMs: 250 });
    }

    /** Lets the StatefulSet bring a lost pod back (uncordon once the 5 s guard after its deletion ended, as losePod's `back`), without waiting for it. */
    async restartNode(i: number): Promise<void> {
        const back = this.lost[i];
        this.lost[i] = undefined;
        if (back) this.returning.push(back());
    }

    /** The pod uid and the id of the Tile38 container of node `i`'s pod, asked of the API server. */
    private async tile38Container(i: number): Promise<{ uid: string; containerId: string }> {
        const name = this.s.checks.nodes[i].name;
        const pod = JSON.parse(await this.kubectl(["get", "pod", "-n", NAMESPACE, name, "-o", "json"])) as { metadata: { uid: string }; status: { containerStatuses?: { name: string; containerID?: string }[] } };
        const id = pod.status.containerStatuses?.find((x) => x.name === mainContainer(name))?.containerID?.replace(/^\w+:\/\//, "");
        if (!id) throw new Error(`pod ${name} has no running ${mainContainer(name)} container`);
        return { uid: pod.metadata.uid, containerId: id };
    }

    /**
     * Node `i` stalled: SIGSTOP to every process of its pod's Tile38 container (the start script,
     * tile38-server, the script's helpers), found in the container's cgroup; repeated until no
     * process of it is left running (bounded), so that none forked meanwhile escapes.
     */
    async freezeNode(i: number): Promise<void> {
        const target = await this.tile38Container(i);
        this.frozen.set(i, target);
        const stopped = new Set<number>();
        await waitFor(
            () => {
                const pids = podProcesses(target.uid, target.containerId);
                signalAll(pids.filter((p) => !stopped.has(p)), "SIGSTOP");
                pids.forEach((p) => stopped.add(p));
                return pids.length > 0 && pids.every((p) => ["T", undefined].includes(processState(p))) ? true : undefined;
            },
            { timeoutMs: 5000, what: `every process of ${this.s.checks.nodes[i].name}'s Tile38 container to stop`, intervalMs: 10 },
        );
    }

    /** The stalled node runs again: SIGCONT to every process of the container it froze. */
    async thawNode(i: number): Promise<void> {
        const target = this.frozen.get(i);
        if (!target) return;
        this.frozen.delete(i);
        signalAll(podProcesses(target.uid, target.containerId), "SIGCONT");
    }

    /** The last lines of every Tile38 and sentinel pod's main container (`kubectl logs --tail`). */
    async logTails(lines = 40): Promise<string> {
        const k = this.s.cluster;
        const logs = await Promise.all(
            [...this.s.checks.nodes, ...this.s.checks.sentinels].map(async (p) => {
                const r = await runCommand(k.kubectlPath, ["--kubeconfig", k.kubeconfig, "logs", "-n", NAMESPACE, p.name, "-c", mainContainer(p.name), `--tail=${lines}`], { timeoutMs: 20_000 });
                return `--- ${p.name}\n${r.stdout}${r.code === 0 ? "" : r.stderr}`;
            }),
        );
        return logs.join("\n");
    }

    /** Thaws what is frozen, lets every lost pod come back (uncordoned), waits for that (bounded), and restores name lookup. */
    async close(): Promise<void> {
        for (const i of [...this.frozen.keys()]) await this.thawNode(i);
        this.lost.forEach((_b, i) => void this.restartNode(i));
        await withTimeout(Promise.allSettled(this.returning), 30_000, "the lost pods to be let back").catch(() => undefined);
        this.restoreLookup();
    }
}
