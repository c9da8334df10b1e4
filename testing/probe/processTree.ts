/**
 * The processes of a running node or sentinel as /proc shows them on this machine, whatever runs
 * them (a loopback process group, a Docker container, a pod's container): to stall exactly the
 * part a drill names — the whole process, or only the start script's background loop (the node's
 * `node_life`, the sentinel's watchdog) while the server goes on.
 */
import * as fs from "fs";
import { waitFor } from "./wait";

/** One process: its pid, its parent's, its state letter and its command line. */
export interface ProcessEntry {
    pid: number;
    ppid: number;
    state: string;
    cmdline: string;
}

/** One process from /proc, or undefined once it is gone. */
export function processEntry(pid: number): ProcessEntry | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
        return { pid, ppid: Number(fields[1]), state: fields[0], cmdline };
    } catch {
        return undefined;
    }
}

/** The state letter of process `pid` (`T` stopped), or undefined when it is gone. */
export function processState(pid: number): string | undefined {
    return processEntry(pid)?.state;
}

/** Every process on the machine. */
export function processTable(): ProcessEntry[] {
    return fs
        .readdirSync("/proc")
        .filter((e) => /^\d+$/.test(e))
        .map((e) => processEntry(Number(e)))
        .filter((e): e is ProcessEntry => e !== undefined);
}

/** `root` and every process below it. */
export function processSubtree(root: number, table = processTable()): ProcessEntry[] {
    const out = table.filter((p) => p.pid === root);
    for (let i = 0; i < out.length; i++) out.push(...table.filter((p) => p.ppid === out[i].pid));
    return out;
}

/** Of a set of pids (a container's), the one whose parent is outside the set: its first process. */
export function rootOf(pids: number[]): number {
    const set = new Set(pids);
    const roots = pids.map(processEntry).filter((p): p is ProcessEntry => p !== undefined && !set.has(p.ppid));
    if (roots.length !== 1) throw new Error(`expected one first process among ${pids.join(",")}, found ${roots.map((r) => `${r.pid} ${r.cmdline}`).join("; ") || "none"}`);
    return roots[0].pid;
}

/**
 * The start script's background loops: its children that are forks of the script itself (the same
 * command line: a shell subshell), not the server it started.
 */
export function scriptLoops(script: number): number[] {
    const table = processTable();
    const self = table.find((p) => p.pid === script);
    if (!self) throw new Error(`process ${script} is gone`);
    return table.filter((p) => p.ppid === script && p.cmdline === self.cmdline).map((p) => p.pid);
}

/** Sends `signal` to every pid (gone ones skipped); how many there were. */
export function signalAll(pids: number[], signal: NodeJS.Signals): number {
    for (const pid of pids) {
        try {
            process.kill(pid, signal);
        } catch {
            /* gone */
        }
    }
    return pids.length;
}

/**
 * SIGSTOP to what `pids()` lists, repeated until every process it lists is stopped (bounded), so
 * that none forked meanwhile escapes; returns every pid it stopped (for {@link thaw}).
 */
export async function freeze(pids: () => number[], what: string, timeoutMs = 5000): Promise<number[]> {
    const stopped = new Set<number>();
    try {
        await waitFor(
            () => {
                const now = pids();
                signalAll(now.filter((p) => !stopped.has(p)), "SIGSTOP");
                now.forEach((p) => stopped.add(p));
                // A child that exited while its parent was stopped stays a zombie until the parent
                // runs again: it runs nothing, so it counts as stopped.
                return now.length > 0 && now.every((p) => ["T", "Z", "X", undefined].includes(processState(p))) ? true : undefined;
            },
            { timeoutMs, what: `every process of ${what} to stop`, intervalMs: 10 },
        );
    } catch (e) {
        // Never leave half of them stopped: the caller's thaw never runs when this throws (seen:
        // a sentinel's watchdog left frozen for the rest of a run, its IP-entry clean-up with it).
        thaw([...stopped]);
        throw e;
    }
    return [...stopped];
}

/** SIGCONT to every pid {@link freeze} stopped. */
export function thaw(pids: number[]): void {
    signalAll(pids, "SIGCONT");
}
