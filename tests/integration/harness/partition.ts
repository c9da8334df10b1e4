/**
 * Network cuts between pods of the simulator (podSim.ts), as a real partition makes them: packets
 * vanish (iptables DROP, no reset, no ICMP), so every connection across the cut times out. A cut
 * is made inside the namespace of one pod, for the current addresses of the pods it is cut from,
 * in both directions; the other pods are untouched. {@link PodCuts.healAll} removes every rule.
 * A pod that restarts gets a new sandbox, so a restart also ends its cuts.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import { which } from "./busybox";
import { SimPod } from "./podSim";

const CHAIN = "T38CUT";

function iptablesBin(): string | undefined {
    return which("iptables") ?? (fs.existsSync("/usr/sbin/iptables") ? "/usr/sbin/iptables" : undefined);
}

/** Why cuts cannot be made here (no iptables), or undefined. */
export function partitionSkipReason(): string | undefined {
    return iptablesBin() ? undefined : "iptables is not installed (apt-get install -y iptables)";
}

function iptables(netns: string, args: string[]): void {
    execFileSync(which("ip") ?? "/usr/sbin/ip", ["netns", "exec", netns, iptablesBin() ?? "iptables", "-w", "5", ...args], { timeout: 10_000, stdio: ["ignore", "pipe", "pipe"] });
}

export class PodCuts {
    /** Namespaces that hold the chain, with the pods each one is cut from (for reports). */
    private readonly cuts = new Map<string, { pod: SimPod; from: Set<string> }>();

    /** Cuts `pod` off from `others` (both directions), on top of any cut already made. */
    cut(pod: SimPod, others: SimPod[]): void {
        const netns = pod.sandbox?.netns;
        if (!netns) throw new Error(`${pod.name} is not running: nothing to cut`);
        let entry = this.cuts.get(netns);
        if (!entry) {
            iptables(netns, ["-N", CHAIN]);
            iptables(netns, ["-I", "INPUT", "-j", CHAIN]);
            iptables(netns, ["-I", "OUTPUT", "-j", CHAIN]);
            entry = { pod, from: new Set() };
            this.cuts.set(netns, entry);
        }
        for (const o of others) {
            const addr = o.sandbox?.ip;
            if (!addr) throw new Error(`${o.name} is not running: no address to cut ${pod.name} from`);
            iptables(netns, ["-A", CHAIN, "-s", addr, "-j", "DROP"]);
            iptables(netns, ["-A", CHAIN, "-d", addr, "-j", "DROP"]);
            entry.from.add(o.name);
        }
    }

    /** Heals every cut (a sandbox already gone has none left). */
    healAll(): void {
        for (const [netns] of this.cuts) {
            try {
                iptables(netns, ["-D", "INPUT", "-j", CHAIN]);
                iptables(netns, ["-D", "OUTPUT", "-j", CHAIN]);
                iptables(netns, ["-F", CHAIN]);
                iptables(netns, ["-X", CHAIN]);
            } catch {
                /* the pod restarted or was deleted: its namespace, and its rules, are gone */
            }
        }
        this.cuts.clear();
    }

    /** "pod ↮ a, b" for every cut in place. */
    describe(): string[] {
        return [...this.cuts.values()].map((c) => `${c.pod.name} ↮ ${[...c.from].join(", ")}`);
    }
}
