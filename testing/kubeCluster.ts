/**
 * A real single-node Kubernetes cluster on this machine, as a test fixture: containerd (Debian's,
 * CRI on, its own root, state and socket), etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, a kubelet that runs the pods, kube-proxy (iptables mode) and CoreDNS, every
 * binary from scripts/build-kube.sh (pinned, cached in $HOME). Nothing is pulled: images are
 * docker-archive tarballs imported into containerd; the sandbox image is a local one.
 *
 * Every listener is on 127.0.0.1 or on a bridge this fixture creates (the node address), and pod
 * traffic stays on that bridge (testing/kube-node-host.sh); pods have no default route, their
 * resolver is CoreDNS without `forward` (the machine's resolver is never asked), and the API server
 * reaches the kubelet by the node's InternalIP. `stop()` undoes everything, also after a failed
 * start: processes, pods' processes, mounts, network namespaces, bridge, iptables chains, cgroups,
 * sysctls (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops, net.ipv4.ip_forward).
 * One cluster per machine at a time (cgroups, iptables and sysctls are machine-wide): a lock file
 * names the owner, and a stale one (dead owner) is cleaned up before a new start.
 *
 * Needs root, the binaries, containerd, runc, the CNI plugins (/usr/lib/cni), iptables, openssl.
 */
import { spawnSync } from "child_process";
import * as dgram from "dgram";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { defaultBinDir, hasCommand, LoggedProcess, RunningKubeApiServer, startKubeApiServer, until } from "./kubeApiServer";

/** Binaries the cluster needs from scripts/build-kube.sh. */
const KUBE_BINARIES = ["kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl", "coredns"] as const;
const HOST_SCRIPT = path.join(__dirname, "kube-node-host.sh");
const LOCK_FILE = "/run/tile38-ha-kube-cluster.lock";
const CNI_DIR = "/usr/lib/cni";

/** Addresses and ports of the cluster; defaults keep clear of the other suites' ports. */
export interface KubeClusterNetwork {
    /** Bridge name. @default "t38k8s0" */
    bridge: string;
    /** Node address on the bridge (gateway of the pod network, CoreDNS, kubelet). @default "10.245.0.1" */
    nodeIp: string;
    /** Pod network. @default "10.245.0.0/24" */
    podCidr: string;
    /** Service IP range. @default "10.246.0.0/24" */
    serviceCidr: string;
    /** Ports: API server, etcd client and peer, controller-manager, scheduler, kubelet, kubelet healthz, kube-proxy healthz and metrics, containerd streaming. */
    ports: { api: number; etcdClient: number; etcdPeer: number; controllerManager: number; scheduler: number; kubelet: number; kubeletHealthz: number; proxyHealthz: number; proxyMetrics: number; streaming: number };
}

export const DEFAULT_NETWORK: KubeClusterNetwork = {
    bridge: "t38k8s0",
    nodeIp: "10.245.0.1",
    podCidr: "10.245.0.0/24",
    serviceCidr: "10.246.0.0/24",
    ports: { api: 28100, etcdClient: 28101, etcdPeer: 28102, controllerManager: 28103, scheduler: 28104, kubelet: 28110, kubeletHealthz: 28111, proxyHealthz: 28112, proxyMetrics: 28113, streaming: 28114 },
};

/** The node's name. */
export const NODE_NAME = "t38-node";
/** The sandbox (pause) image; must be among the imported images. */
export const PAUSE_IMAGE = "tile38-ha-local/pause:1";

/** Options of {@link startKubeCluster}. */
export interface KubeClusterOptions {
    /** docker-archive tarballs to import (must include {@link PAUSE_IMAGE}). */
    images: string[];
    network?: KubeClusterNetwork;
    /** Bound on the whole start. @default 120 s */
    timeoutMs?: number;
    /** Keep the work directory after stop (logs). @default false */
    keepDir?: boolean;
    /** Progress lines. */
    log?: (line: string) => void;
}

/** A running cluster. */
export interface KubeCluster {
    readonly network: KubeClusterNetwork;
    /** An admin kubeconfig file (token auth; server https://127.0.0.1:<api>). */
    readonly kubeconfig: string;
    /** The kubectl binary. */
    readonly kubectlPath: string;
    /** containerd's socket (`ctr --address`). */
    readonly containerdSocket: string;
    /** The API server (its admin client). */
    readonly apiServer: RunningKubeApiServer;
    /** Milliseconds from the call to a usable cluster (node Ready, DNS answering). */
    readonly startMs: number;
    /** `kubectl --kubeconfig … ARGS`, bounded; throws with its output when it fails. */
    kubectl(args: string[], opts?: { timeoutMs?: number; input?: string }): string;
    /** The same, returning status and output instead of throwing. */
    tryKubectl(args: string[], opts?: { timeoutMs?: number; input?: string }): { status: number; stdout: string; stderr: string };
    /** Asks CoreDNS for `name`'s A records (empty: NXDOMAIN or no data). */
    resolve(name: string, timeoutMs?: number): Promise<string[]>;
    /** The last lines of every component's log. */
    logTail(lines?: number): string;
    /** The whole log of one component (`kubelet`, `containerd`, …) so far; "" when it has none. */
    componentLog(name: string): string;
    /** Stops everything and undoes every change to the machine. Safe to call twice. */
    stop(): Promise<void>;
}

/** Why the cluster cannot start here, or undefined. */
export function kubeClusterSkipReason(binDir = defaultBinDir()): string | undefined {
    if (process.getuid?.() !== 0) return "not root (the cluster needs a bridge, iptables, cgroups and mounts)";
    const missing = KUBE_BINARIES.filter((b) => !fs.existsSync(path.join(binDir, b)));
    if (missing.length > 0) return `missing ${missing.join(", ")} in ${binDir}: run scripts/build-kube.sh`;
    for (const c of ["containerd", "runc", "ctr", "iptables", "ip", "openssl"]) {
        if (!hasCommand(c)) return `${c} is not installed (apt-get install containerd runc iptables iproute2 openssl)`;
    }
    if (!fs.existsSync(path.join(CNI_DIR, "bridge")) || !fs.existsSync(path.join(CNI_DIR, "host-local"))) return `no CNI bridge/host-local plugins in ${CNI_DIR} (apt-get install containernetworking-plugins)`;
    return undefined;
}

function runOrThrow(cmd: string, args: string[], timeoutMs: number, input?: string): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, input, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    return r.stdout;
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Takes the machine-wide lock; cleans up after a dead owner first. */
function takeLock(workDir: string, net: KubeClusterNetwork): void {
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            fs.writeFileSync(LOCK_FILE, JSON.stringify({ pid: process.pid, workDir, bridge: net.bridge }), { flag: "wx" });
            return;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        let owner: { pid: number; workDir: string; bridge: string } | undefined;
        try {
            owner = JSON.parse(fs.readFileSync(LOCK_FILE, "utf8")) as { pid: number; workDir: string; bridge: string };
        } catch {
            owner = undefined;
        }
        if (owner && pidAlive(owner.pid)) throw new Error(`another test cluster runs on this machine (pid ${owner.pid}, ${owner.workDir}); one at a time`);
        if (owner) cleanupAfter(owner.workDir, owner.bridge);
        fs.rmSync(LOCK_FILE, { force: true });
    }
    throw new Error(`could not take ${LOCK_FILE}`);
}

/** Kills a dead run's daemons (by their work directory) and undoes its machine changes. */
function cleanupAfter(workDir: string, bridge: string): void {
    spawnSync("pkill", ["-9", "-f", workDir], { timeout: 10_000 });
    spawnSync("bash", [HOST_SCRIPT, "teardown", path.join(workDir, "host-state"), bridge, workDir], { timeout: 60_000, stdio: "ignore" });
    fs.rmSync(workDir, { recursive: true, force: true });
}

function kubeconfigFor(url: string, caFile: string, token: string): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- name: t38\n  cluster:\n    server: ${url}\n    certificate-authority: ${caFile}`,
        "users:",
        `- name: admin\n  user:\n    token: ${token}`,
        "contexts:",
        "- name: t38\n  context:\n    cluster: t38\n    user: admin",
        "current-context: t38",
        "",
    ].join("\n");
}

function containerdConfig(dir: string, net: KubeClusterNetwork): string {
    return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "${net.ports.streaming}"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_DIR}"
    conf_dir = "${dir}/net.d"
`;
}

/** CNI: the bridge with the node address as gateway, addresses from host-local, no default route. */
function cniConfig(net: KubeClusterNetwork): string {
    const [base] = net.podCidr.split("/");
    const prefix = base.split(".").slice(0, 3).join(".");
    return JSON.stringify(
        {
            cniVersion: "0.4.0",
            name: "t38-pods",
            type: "bridge",
            bridge: net.bridge,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: { type: "host-local", ranges: [[{ subnet: net.podCidr, gateway: net.nodeIp, rangeStart: `${prefix}.10`, rangeEnd: `${prefix}.250` }]], routes: [{ dst: net.serviceCidr }] },
        },
        null,
        2,
    );
}

function kubeletConfig(dir: string, net: KubeClusterNetwork, caFile: string, containerdSock: string): string {
    return JSON.stringify(
        {
            apiVersion: "kubelet.config.k8s.io/v1beta1",
            kind: "KubeletConfiguration",
            address: net.nodeIp,
            port: net.ports.kubelet,
            readOnlyPort: 0,
            healthzBindAddress: "127.0.0.1",
            healthzPort: net.ports.kubeletHealthz,
            authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: caFile } },
            authorization: { mode: "AlwaysAllow" },
            cgroupDriver: "cgroupfs",
            failCgroupV1: false,
            failSwapOn: false,
            // The machine's resolver must never reach a pod: an empty file, CoreDNS only.
            resolvConf: path.join(dir, "resolv.conf"),
            clusterDNS: [net.nodeIp],
            clusterDomain: "cluster.local",
            containerRuntimeEndpoint: `unix://${containerdSock}`,
            imageGCHighThresholdPercent: 100,
            imageGCLowThresholdPercent: 99,
            evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
            serializeImagePulls: false,
            registerNode: true,
            nodeStatusUpdateFrequency: "2s",
            syncFrequency: "5s",
            fileCheckFrequency: "5s",
            volumeStatsAggPeriod: "0s",
            maxPods: 50,
        },
        null,
        2,
    );
}

function corefile(net: KubeClusterNetwork, kubeconfig: string): string {
    // No `forward`: a name outside the cluster is answered SERVFAIL/REFUSED here, never asked of
    // the machine's resolver. No cache: a deleted pod's name goes when its endpoint goes.
    return `cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind ${net.nodeIp}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} t38
        pods insecure
        ttl 5
    }
}
`;
}

/** A DNS A query for `name` to `server`:53 over UDP; [] for NXDOMAIN/no data; bounded. */
export function queryA(server: string, name: string, timeoutMs = 2000): Promise<string[]> {
    return new Promise((resolve, reject) => {
        const id = Math.floor(Math.random() * 65535);
        const labels = name.replace(/\.$/, "").split(".");
        const q = Buffer.concat([
            Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
            ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
            Buffer.from([0, 0, 1, 0, 1]),
        ]);
        const sock = dgram.createSocket("udp4");
        const timer = setTimeout(() => {
            sock.close();
            reject(new Error(`DNS query for ${name} to ${server} timed out`));
        }, timeoutMs);
        sock.on("message", (msg) => {
            clearTimeout(timer);
            sock.close();
            const rcode = msg[3] & 15;
            const answers = msg.readUInt16BE(6);
            if (rcode !== 0 && rcode !== 3) return reject(new Error(`DNS rcode ${rcode} for ${name}`));
            let off = q.length;
            const ips: string[] = [];
            for (let i = 0; i < answers; i++) {
                off += (msg[off] & 0xc0) === 0xc0 ? 2 : msg.indexOf(0, off) - off + 1;
                const type = msg.readUInt16BE(off);
                const len = msg.readUInt16BE(off + 8);
                if (type === 1 && len === 4) ips.push(Array.from(msg.subarray(off + 10, off + 14)).join("."));
                off += 10 + len;
            }
            resolve(ips);
        });
        sock.on("error", (e) => {
            clearTimeout(timer);
            sock.close();
            reject(e);
        });
        sock.send(q, 53, server);
    });
}

/**
 * Starts the cluster (see the file comment) and waits, bounded, until the node is Ready, the
 * `default` ServiceAccount exists and CoreDNS answers for the API server's Service. On any failure
 * everything is stopped and undone, and the error carries the logs' tails.
 */
export async function startKubeCluster(opts: KubeClusterOptions): Promise<KubeCluster> {
    const started = Date.now();
    const say = opts.log ?? (() => undefined);
    const net = opts.network ?? DEFAULT_NETWORK;
    const reason = kubeClusterSkipReason();
    if (reason) throw new Error(`the test cluster cannot start: ${reason}`);
    const binDir = defaultBinDir();
    const bin = (b: (typeof KUBE_BINARIES)[number]) => path.join(binDir, b);
    const deadline = started + (opts.timeoutMs ?? 120_000);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tile38-ha-cluster-"));
    takeLock(workDir, net);
    const hostState = path.join(workDir, "host-state");
    const procs: LoggedProcess[] = [];
    let apiServer: RunningKubeApiServer | undefined;
    const logTail = (lines = 30) => [apiServer?.logTail(lines) ?? "", ...procs.map((p) => `===== ${p.name} (${p.logFile}) =====\n${p.tail(lines)}`)].join("\n");
    let stopped = false;
    const containerdDir = path.join(workDir, "containerd");
    const containerdSock = path.join(containerdDir, "containerd.sock");
    const kubeconfig = path.join(workDir, "admin.kubeconfig");
    const ctrArgs = (args: string[]) => ["--address", containerdSock, "--namespace", "k8s.io", ...args];
    const ctr = (args: string[], timeoutMs = 120_000) => runOrThrow("ctr", ctrArgs(args), timeoutMs);

    const stop = async () => {
        if (stopped) return;
        stopped = true;
        say("stopping the cluster");
        const byName = (n: string) => procs.find((p) => p.name === n);
        // The kubelet first (it would restart what is killed), then every container, then the rest.
        await byName("kubelet")?.stop(10_000);
        if (byName("containerd") && !byName("containerd")!.exited) {
            const tasks = spawnSync("ctr", ctrArgs(["tasks", "ls", "-q"]), { encoding: "utf8", timeout: 20_000 }).stdout ?? "";
            for (const id of tasks.split("\n").filter(Boolean)) spawnSync("ctr", ctrArgs(["tasks", "kill", "-s", "SIGKILL", id]), { timeout: 10_000 });
        }
        await Promise.all(procs.filter((p) => p.name !== "containerd").map((p) => p.stop()));
        await byName("containerd")?.stop(10_000);
        if (fs.existsSync(bin("kube-proxy"))) spawnSync(bin("kube-proxy"), ["--cleanup", "--proxy-mode=iptables"], { timeout: 30_000, stdio: "ignore" });
        await apiServer?.stop();
        spawnSync("bash", [HOST_SCRIPT, "teardown", hostState, net.bridge, workDir], { timeout: 120_000, stdio: "ignore" });
        if (!opts.keepDir) fs.rmSync(workDir, { recursive: true, force: true });
        fs.rmSync(LOCK_FILE, { force: true });
    };
    const spawnLogged = (name: string, cmd: string, args: string[]) => {
        const p = new LoggedProcess(name, path.join(workDir, `${name}.log`), cmd, args);
        procs.push(p);
        return p;
    };

    try {
        say(`host: bridge ${net.bridge} ${net.nodeIp}, pod traffic kept on it`);
        runOrThrow("bash", [HOST_SCRIPT, "setup", hostState, net.bridge, `${net.nodeIp}/${net.podCidr.split("/")[1]}`], 30_000);

        say("etcd + kube-apiserver");
        apiServer = await startKubeApiServer({
            binaries: { kubeApiServer: bin("kube-apiserver"), etcd: bin("etcd") },
            ports: { api: net.ports.api, etcdClient: net.ports.etcdClient, etcdPeer: net.ports.etcdPeer },
            workDir: path.join(workDir, "apiserver"),
            keepDir: true,
            timeoutMs: Math.max(10_000, deadline - Date.now()),
            serviceClusterIpRange: net.serviceCidr,
            extraCertificateIps: [net.nodeIp],
            extraArgs: [
                // Reach the kubelet by the node's address, never by resolving its name on this machine.
                "--kubelet-preferred-address-types=InternalIP",
            ],
        });
        const certs = apiServer.certs;
        fs.writeFileSync(kubeconfig, kubeconfigFor(apiServer.url, certs.ca, apiServer.adminToken), { mode: 0o600 });

        say("containerd");
        fs.mkdirSync(path.join(containerdDir, "net.d"), { recursive: true });
        fs.writeFileSync(path.join(containerdDir, "config.toml"), containerdConfig(containerdDir, net));
        fs.writeFileSync(path.join(containerdDir, "net.d", "10-t38-pods.conf"), cniConfig(net));
        const containerd = spawnLogged("containerd", "containerd", ["--config", path.join(containerdDir, "config.toml")]);
        await until("containerd's socket", deadline, [containerd], async () => spawnSync("ctr", ctrArgs(["version"]), { timeout: 5000, stdio: "ignore" }).status === 0);
        for (const image of opts.images) {
            say(`importing ${path.basename(image)}`);
            ctr(["images", "import", image]);
        }

        say("controller-manager, scheduler, kubelet, kube-proxy, CoreDNS");
        spawnLogged("kube-controller-manager", bin("kube-controller-manager"), [
            `--kubeconfig=${kubeconfig}`,
            "--bind-address=127.0.0.1",
            `--secure-port=${net.ports.controllerManager}`,
            "--leader-elect=false",
            `--service-account-private-key-file=${certs.saKey}`,
            `--root-ca-file=${certs.ca}`,
            `--service-cluster-ip-range=${net.serviceCidr}`,
            "--allocate-node-cidrs=false",
            "--use-service-account-credentials=false",
            "--v=1",
        ]);
        spawnLogged("kube-scheduler", bin("kube-scheduler"), [`--kubeconfig=${kubeconfig}`, "--bind-address=127.0.0.1", `--secure-port=${net.ports.scheduler}`, "--leader-elect=false", "--v=1"]);
        const kubeletDir = path.join(workDir, "kubelet");
        fs.mkdirSync(kubeletDir, { recursive: true });
        fs.writeFileSync(path.join(kubeletDir, "resolv.conf"), "");
        fs.writeFileSync(path.join(kubeletDir, "config.json"), kubeletConfig(kubeletDir, net, certs.ca, containerdSock));
        const kubelet = spawnLogged("kubelet", bin("kubelet"), [
            `--config=${path.join(kubeletDir, "config.json")}`,
            `--kubeconfig=${kubeconfig}`,
            `--root-dir=${path.join(kubeletDir, "root")}`,
            `--cert-dir=${path.join(kubeletDir, "pki")}`,
            `--node-ip=${net.nodeIp}`,
            `--hostname-override=${NODE_NAME}`,
            // Level 3: the steps of a pod's termination (preStop hook, container exits, removal),
            // which the suite reports when it measures how long a pod takes to go.
            "--v=3",
        ]);
        spawnLogged("kube-proxy", bin("kube-proxy"), [
            `--kubeconfig=${kubeconfig}`,
            "--proxy-mode=iptables",
            `--bind-address=${net.nodeIp}`,
            `--healthz-bind-address=127.0.0.1:${net.ports.proxyHealthz}`,
            `--metrics-bind-address=127.0.0.1:${net.ports.proxyMetrics}`,
            `--cluster-cidr=${net.podCidr}`,
            `--hostname-override=${NODE_NAME}`,
            // Leave the machine's conntrack settings alone.
            "--conntrack-max-per-core=0",
            "--conntrack-tcp-timeout-established=0",
            "--conntrack-tcp-timeout-close-wait=0",
            "--v=1",
        ]);
        fs.writeFileSync(path.join(workDir, "Corefile"), corefile(net, kubeconfig));
        const coredns = spawnLogged("coredns", bin("coredns"), ["-conf", path.join(workDir, "Corefile")]);

        const kubectlRaw = (args: string[], o: { timeoutMs?: number; input?: string } = {}) => {
            const r = spawnSync(bin("kubectl"), ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", timeout: o.timeoutMs ?? 60_000, input: o.input, maxBuffer: 64 << 20 });
            return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
        };
        await until("the node to be Ready", deadline, [containerd, kubelet], async () => {
            const r = kubectlRaw(["get", "node", NODE_NAME, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"], { timeoutMs: 10_000 });
            return r.status === 0 && r.stdout.trim() === "True";
        });
        await until("the default ServiceAccount", deadline, procs, async () => kubectlRaw(["get", "serviceaccount", "default", "-n", "default"], { timeoutMs: 10_000 }).status === 0);
        await until("CoreDNS to answer for kubernetes.default", deadline, [coredns], async () => {
            const ips = await queryA(net.nodeIp, "kubernetes.default.svc.cluster.local", 1000);
            return ips.length > 0;
        });
        const startMs = Date.now() - started;
        say(`cluster usable after ${startMs} ms`);
        const kubectl = (args: string[], o: { timeoutMs?: number; input?: string } = {}) => {
            const r = kubectlRaw(args, o);
            if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
            return r.stdout;
        };
        return {
            network: net,
            kubeconfig,
            kubectlPath: bin("kubectl"),
            containerdSocket: containerdSock,
            apiServer,
            startMs,
            kubectl,
            tryKubectl: kubectlRaw,
            resolve: (name, timeoutMs = 2000) => queryA(net.nodeIp, name, timeoutMs),
            logTail,
            componentLog: (name) => {
                try {
                    return fs.readFileSync(path.join(workDir, `${name}.log`), "utf8");
                } catch {
                    return "";
                }
            },
            stop,
        };
    } catch (e) {
        const tails = logTail(40);
        await stop();
        throw new Error(`${(e as Error).message}\n----- logs -----\n${tails}`);
    }
}
