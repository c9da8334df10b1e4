/**
 * A private pod network made of Linux network namespaces (iproute2), for the Kubernetes pod
 * simulator. One "cluster" namespace holds a bridge (the node's pod network) and the DNS server;
 * every pod sandbox is a namespace of its own with one veth pair whose other end sits on that
 * bridge. The addresses exist only inside these namespaces: nothing is added to the host's own
 * namespace (no address, no route, no link), and no packet can leave towards the host's networks.
 *
 * Every namespace this module creates is named `t38sim-<pid>-…`; {@link PodNetwork.destroy}
 * removes them all (also on process exit), and a new network first removes the leftovers of runs
 * whose process is gone.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { which } from "./busybox";

/** Locally administered, fixed MAC of the simulated cluster's bridge. */
const BRIDGE_MAC = "02:38:00:00:00:01";

/** Prefix of every namespace, bridge and resolver directory the simulator creates. */
export const NETNS_PREFIX = "t38sim-";

/** The pod network: a /16 that exists only inside the simulator's namespaces. */
const SUBNET_PREFIX = "10.238";
const GATEWAY = `${SUBNET_PREFIX}.0.1`;

function ip(args: string[], timeoutMs = 10_000): string {
    return execFileSync(which("ip") ?? "/usr/sbin/ip", args, { encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"] });
}

/** Namespaces that currently exist. */
export function listNetns(): string[] {
    try {
        return ip(["netns", "list"])
            .split("\n")
            .map((l) => l.split(" ")[0])
            .filter((n) => n.length > 0);
    } catch {
        return [];
    }
}

function deleteNetns(name: string): void {
    try {
        ip(["netns", "del", name]);
    } catch {
        /* already gone */
    }
    fs.rmSync(path.join("/etc/netns", name), { recursive: true, force: true });
}

/** Removes the namespaces of earlier runs whose process no longer exists. */
function removeStale(): void {
    for (const ns of listNetns()) {
        const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(ns);
        if (!m) continue;
        const pid = Number(m[1]);
        let alive = true;
        try {
            process.kill(pid, 0);
        } catch (e) {
            alive = (e as NodeJS.ErrnoException).code === "EPERM";
        }
        if (!alive) deleteNetns(ns);
    }
}

let cachedSkip: string | null | undefined;

/**
 * Why the simulator cannot run here (not root / no CAP_NET_ADMIN, iproute2 or dnsmasq missing),
 * or undefined when it can. Tries to create and delete a namespace with a veth pair and a bridge.
 */
export function netnsSkipReason(): string | undefined {
    if (cachedSkip !== undefined) return cachedSkip ?? undefined;
    const reason = (() => {
        if (process.platform !== "linux") return "network namespaces need Linux";
        if (!which("ip") && !fs.existsSync("/usr/sbin/ip")) return "iproute2 is not installed (apt-get install -y iproute2)";
        if (!which("dnsmasq") && !fs.existsSync("/usr/sbin/dnsmasq")) return "dnsmasq is not installed (apt-get install -y dnsmasq-base)";
        const probe = `${NETNS_PREFIX}${process.pid}-probe`;
        try {
            ip(["netns", "add", probe]);
            ip(["-n", probe, "link", "add", "br0", "type", "bridge"]);
            ip(["-n", probe, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
            return undefined;
        } catch (e) {
            const msg = (e as { stderr?: string }).stderr?.trim() || (e as Error).message;
            return `cannot create network namespaces here (needs root or CAP_NET_ADMIN + CAP_SYS_ADMIN): ${msg}`;
        } finally {
            deleteNetns(probe);
        }
    })();
    cachedSkip = reason ?? null;
    return reason;
}

/** One pod sandbox: its namespace and its address on the pod network. */
export interface PodSandbox {
    netns: string;
    ip: string;
}

/**
 * The simulated cluster network: a bridge in namespace `<prefix>-net` with the gateway address
 * (where the DNS server listens), and pod sandboxes attached to it. Every sandbox gets an address
 * never used before in this network, as a rescheduled pod gets a new IP.
 */
export class PodNetwork {
    readonly id: string;
    readonly clusterNetns: string;
    /** Where the DNS server listens: the bridge's address inside the cluster namespace. */
    readonly dnsAddress = GATEWAY;
    private nextHost = 10;
    private readonly sandboxes = new Set<string>();
    private readonly onExit = () => this.destroySync();

    constructor(label: string) {
        removeStale();
        this.id = `${NETNS_PREFIX}${process.pid}-${label}`;
        this.clusterNetns = `${this.id}-net`;
        process.on("exit", this.onExit);
        try {
            this.add(this.clusterNetns);
            // A fixed MAC: a bridge without one takes the lowest MAC of its ports, so it changed
            // whenever a pod's veth came or went, and the pods' ARP entries for the DNS server went
            // stale: lookups timed out for seconds (seen as Sentinel TILT and failed hand-overs).
            ip(["-n", this.clusterNetns, "link", "add", "br0", "address", BRIDGE_MAC, "type", "bridge"]);
            ip(["-n", this.clusterNetns, "addr", "add", `${GATEWAY}/16`, "dev", "br0"]);
            ip(["-n", this.clusterNetns, "link", "set", "br0", "up"]);
        } catch (e) {
            this.destroySync();
            throw e;
        }
    }

    private add(name: string): void {
        ip(["netns", "add", name]);
        this.sandboxes.add(name);
        ip(["-n", name, "link", "set", "lo", "up"]);
    }

    /** The next unused address (10.238.0.10, .11, …, then 10.238.1.x). */
    private allocate(): string {
        const n = this.nextHost++;
        return `${SUBNET_PREFIX}.${Math.floor(n / 250)}.${(n % 250) + 2}`;
    }

    /**
     * Creates a pod sandbox `<id>-<name>` with a fresh address, `resolv.conf` pointing at the DNS
     * server (with Kubernetes' search path and ndots), attached to the bridge.
     */
    createSandbox(name: string, resolvSearch: string[]): PodSandbox {
        const netns = `${this.id}-${name}`;
        if (this.sandboxes.has(netns)) throw new Error(`sandbox ${netns} exists`);
        const addr = this.allocate();
        const peer = `v${addr.split(".").slice(2).join("x")}`; // unique within the cluster namespace, <= 15 chars
        this.add(netns);
        try {
            ip(["-n", netns, "link", "add", "eth0", "type", "veth", "peer", "name", peer, "netns", this.clusterNetns]);
            ip(["-n", netns, "addr", "add", `${addr}/16`, "dev", "eth0"]);
            ip(["-n", netns, "link", "set", "eth0", "up"]);
            ip(["-n", this.clusterNetns, "link", "set", peer, "master", "br0"]);
            ip(["-n", this.clusterNetns, "link", "set", peer, "up"]);
            ip(["-n", netns, "route", "add", "default", "via", GATEWAY]);
            // `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf.
            const etc = path.join("/etc/netns", netns);
            fs.mkdirSync(etc, { recursive: true });
            fs.writeFileSync(path.join(etc, "resolv.conf"), `nameserver ${GATEWAY}\nsearch ${resolvSearch.join(" ")}\noptions ndots:5\n`);
        } catch (e) {
            this.deleteSandbox(netns);
            throw e;
        }
        return { netns, ip: addr };
    }

    /** Deletes a sandbox (its veth pair goes with it: the address vanishes from the network). */
    deleteSandbox(netns: string): void {
        deleteNetns(netns);
        this.sandboxes.delete(netns);
    }

    /** Every sandbox (and the cluster namespace) still present. */
    live(): string[] {
        return [...this.sandboxes];
    }

    /** Removes every namespace and resolver directory of this network. */
    destroySync(): void {
        for (const ns of [...this.sandboxes]) this.deleteSandbox(ns);
        for (const ns of listNetns()) if (ns.startsWith(`${this.id}-`)) deleteNetns(ns);
        process.removeListener("exit", this.onExit);
    }
}
