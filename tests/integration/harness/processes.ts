import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sleep, waitFor } from "./wait";

export interface StartOptions {
    /** Label for logs; also names the log file. */
    name: string;
    command: string;
    args?: string[];
    /** The complete environment (nothing is inherited from the test process). */
    env: Record<string, string>;
    cwd?: string;
}

export interface ExitStatus {
    code: number | null;
    signal: NodeJS.Signals | null;
}

/**
 * True while any live (non-zombie) process of group `pgid` exists. Zombies do not count: an
 * orphan (the start script's background loop, once the script exec'd and exited) is reaped by
 * PID 1, which on some machines does that late.
 */
function groupAlive(pgid: number): boolean {
    try {
        process.kill(-pgid, 0);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
    }
    if (!fs.existsSync("/proc/self/stat")) return true;
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        let stat: string;
        try {
            stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        } catch {
            continue; // exited meanwhile
        }
        // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
    }
    return false;
}

/**
 * A process started in its own process group (spawned detached), its output appended to a log
 * file. {@link stop} signals the whole group, so children the process forked (the start script's
 * background loop) stop with it, even after the main process has exited or exec'd.
 */
export class ManagedProcess {
    readonly child: ChildProcess;
    readonly pgid: number;
    readonly startedAt = Date.now();
    /** Set once the main process has exited. */
    status: ExitStatus | undefined;
    readonly exited: Promise<ExitStatus>;

    constructor(readonly name: string, readonly logFile: string, opts: StartOptions) {
        fs.appendFileSync(logFile, `--- ${new Date().toISOString()} start ${opts.command} ${(opts.args ?? []).join(" ")}\n`);
        const fd = fs.openSync(logFile, "a");
        try {
            this.child = spawn(opts.command, opts.args ?? [], { env: opts.env, cwd: opts.cwd, detached: true, stdio: ["ignore", fd, fd] });
        } finally {
            fs.closeSync(fd);
        }
        if (this.child.pid === undefined) throw new Error(`could not start ${opts.command} for ${name}`);
        this.pgid = this.child.pid;
        this.exited = new Promise((resolve) => {
            this.child.on("exit", (code, signal) => {
                this.status = { code, signal };
                resolve(this.status);
            });
            this.child.on("error", (err) => {
                fs.appendFileSync(logFile, `--- spawn error: ${err.message}\n`);
                this.status = { code: null, signal: null };
                resolve(this.status);
            });
        });
    }

    /** Waits (bounded) for the main process to exit; throws on timeout. */
    async waitExit(timeoutMs: number): Promise<ExitStatus> {
        return waitFor(() => this.status, { timeoutMs, what: `${this.name} to exit`, intervalMs: 50 });
    }

    /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the group is gone. */
    async stop(graceMs = 5000): Promise<void> {
        const signal = (sig: NodeJS.Signals) => {
            try {
                process.kill(-this.pgid, sig);
            } catch {
                /* already gone */
            }
        };
        if (groupAlive(this.pgid)) {
            signal("SIGTERM");
            const deadline = Date.now() + graceMs;
            while (groupAlive(this.pgid) && Date.now() < deadline) await sleep(50);
            if (groupAlive(this.pgid)) {
                fs.appendFileSync(this.logFile, `--- group ${this.pgid} ignored SIGTERM for ${graceMs} ms: SIGKILL\n`);
                signal("SIGKILL");
                const killDeadline = Date.now() + 2000;
                while (groupAlive(this.pgid) && Date.now() < killDeadline) await sleep(50);
            }
        }
        // Let Node reap the main process so that `status` is set.
        if (this.child.exitCode === null && this.child.signalCode === null) await Promise.race([this.exited, sleep(1000)]);
    }

    /** The last `lines` lines of the log. */
    tail(lines = 40): string {
        let text = "";
        try {
            text = fs.readFileSync(this.logFile, "utf8");
        } catch {
            return "(no log)";
        }
        return text.split("\n").slice(-lines - 1).join("\n");
    }

    log(): string {
        return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8") : "";
    }
}

/**
 * Owns a test file's temp directory and every process it starts. Call {@link stopAll} from
 * afterEach/afterAll; wrap test bodies in {@link withLogs} so failures show the log tails.
 */
export class Harness {
    readonly root: string;
    private readonly procs: ManagedProcess[] = [];
    private counter = 0;

    constructor(prefix: string) {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
        fs.mkdirSync(path.join(this.root, "logs"));
    }

    /** A fresh directory under the test's temp root. */
    dir(name: string): string {
        const d = path.join(this.root, `${name}-${++this.counter}`);
        fs.mkdirSync(d, { recursive: true });
        return d;
    }

    start(opts: StartOptions): ManagedProcess {
        const logFile = path.join(this.root, "logs", `${String(++this.counter).padStart(3, "0")}-${opts.name.replace(/[^A-Za-z0-9._-]/g, "_")}.log`);
        const p = new ManagedProcess(opts.name, logFile, opts);
        this.procs.push(p);
        return p;
    }

    /** Starts a process that is expected to exit by itself; bounded; stops what it left behind. */
    async run(opts: StartOptions, timeoutMs: number): Promise<{ status: ExitStatus; durationMs: number; log: string; proc: ManagedProcess }> {
        const proc = this.start(opts);
        const status = await proc.waitExit(timeoutMs);
        const durationMs = Date.now() - proc.startedAt;
        await proc.stop(2000);
        return { status, durationMs, log: proc.log(), proc };
    }

    async stopAll(): Promise<void> {
        const running = this.procs.splice(0);
        await Promise.all(running.map((p) => p.stop()));
        this.finished.push(...running);
    }

    private readonly finished: ManagedProcess[] = [];

    /** Log tails of every process started so far (running or not). */
    logTails(lines = 40): string {
        return [...this.finished, ...this.procs].map((p) => `===== ${p.name} (${p.logFile}) =====\n${p.tail(lines)}`).join("\n");
    }

    /** Forgets the logs of finished processes (call after a passing test). */
    forgetFinished(): void {
        this.finished.splice(0);
    }

    /** Stops everything and removes the temp root (kept, with its logs, when TILE38_HA_KEEP_LOGS is set). */
    async cleanup(): Promise<void> {
        await this.stopAll();
        if (process.env.TILE38_HA_KEEP_LOGS) {
            process.stderr.write(`logs kept in ${this.root}\n`);
            return;
        }
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}

/**
 * Wraps a test body: on failure, the tails of every process log are appended to the error, so
 * the jest report shows what the servers and scripts said.
 */
export function withLogs(h: () => Harness | (Harness | undefined)[] | undefined, fn: () => Promise<void>): () => Promise<void> {
    const harnesses = () => {
        const v = h();
        return (Array.isArray(v) ? v : [v]).filter((x): x is Harness => x !== undefined);
    };
    return async () => {
        for (const x of harnesses()) x.forgetFinished();
        try {
            await fn();
        } catch (e) {
            const tails = harnesses()
                .map((x) => x.logTails())
                .join("\n");
            rethrowWith(e, "process logs", tails || "(no processes)");
        }
    };
}

/** Rethrows a test's failure `e` with `text` appended to its message under a heading. */
export function rethrowWith(e: unknown, heading: string, text: string): never {
    const more = `\n\n----- ${heading} -----\n${text}`;
    if (e instanceof Error) {
        e.message += more;
        throw e;
    }
    throw new Error(`${String(e)}${more}`);
}
