/**
 * A client writer that runs as its own process (redis-py, go-redis, Lettuce: see
 * testing/clients/): it writes one point every 10 ms through the sentinels and prints one JSON line
 * per write, `{"ack": id, "sent": ms, "at": ms}` or `{"err": message, "sent": ms, "at": ms}`
 * (optionally `"node": "host:port"`, the node the client believes leads). This class reads those
 * lines and offers what {@link PointWriter} offers, so tests and the drill treat every client alike.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as readline from "readline";
import { Ack } from "./writer";
import { sleep, waitFor } from "./wait";

export interface ClientError {
    message: string;
    sentAt: number;
    at: number;
    node?: string;
}

export interface ProcessWriterOptions {
    /** Name for messages (e.g. "redis-py"). */
    name: string;
    command: string;
    args: string[];
    cwd?: string;
    /** Complete environment of the writer process. */
    env: Record<string, string>;
    /** File the writer's stderr goes to. */
    logFile: string;
}

interface Line {
    ack?: string;
    err?: string;
    sent?: number;
    at?: number;
    node?: string;
}

export class ProcessWriter {
    readonly acks: Ack[] = [];
    readonly errorLog: ClientError[] = [];
    private child: ChildProcess | undefined;
    private exited: Promise<void> | undefined;
    private exitStatus: string | undefined;

    constructor(readonly o: ProcessWriterOptions) {}

    get errors(): number {
        return this.errorLog.length;
    }

    /** The most recent distinct error messages (for failure reports). */
    get recentErrors(): string[] {
        const out: string[] = [];
        for (const e of this.errorLog.slice(-2000)) {
            const msg = `${new Date(e.at).toISOString()} ${e.message}${e.node ? ` (node ${e.node})` : ""}`;
            if (out.length === 0 || !out[out.length - 1].endsWith(`${e.message}${e.node ? ` (node ${e.node})` : ""}`)) out.push(msg);
        }
        return out.slice(-20);
    }

    start(): void {
        const fd = fs.openSync(this.o.logFile, "a");
        try {
            this.child = spawn(this.o.command, this.o.args, { cwd: this.o.cwd, env: this.o.env, stdio: ["ignore", "pipe", fd], detached: true });
        } finally {
            fs.closeSync(fd);
        }
        const child = this.child;
        this.exited = new Promise((resolve) => {
            child.on("exit", (code, signal) => {
                this.exitStatus = `code ${String(code)} signal ${String(signal)}`;
                resolve();
            });
            child.on("error", (e) => {
                this.exitStatus = `spawn error ${e.message}`;
                resolve();
            });
        });
        readline.createInterface({ input: child.stdout! }).on("line", (l) => this.onLine(l));
    }

    private onLine(text: string): void {
        let l: Line;
        try {
            l = JSON.parse(text) as Line;
        } catch {
            return; // not one of ours (a library printing to stdout)
        }
        if (typeof l.sent !== "number" || typeof l.at !== "number") return;
        if (typeof l.ack === "string") this.acks.push({ id: l.ack, sentAt: l.sent, ackAt: l.at });
        else if (typeof l.err === "string") this.errorLog.push({ message: l.err, sentAt: l.sent, at: l.at, node: l.node });
    }

    /** Waits (bounded) until the writer has `n` acknowledged writes; fails at once if it exited. */
    async waitAcks(n: number, timeoutMs: number): Promise<void> {
        await waitFor(
            () => {
                if (this.exitStatus) throw new Error(`${this.o.name} writer exited (${this.exitStatus}); see ${this.o.logFile}`);
                return this.acks.length >= n;
            },
            { timeoutMs, what: `${this.o.name}: ${n} acknowledged writes (have ${this.acks.length}; errors: ${this.recentErrors.slice(-3).join(" | ")})` },
        );
    }

    /** Stops the writer (SIGTERM, SIGKILL after 5 s) and waits for its last lines. */
    async stop(): Promise<void> {
        const child = this.child;
        if (!child || this.exitStatus) return;
        try {
            process.kill(-child.pid!, "SIGTERM");
        } catch {
            /* gone */
        }
        await Promise.race([this.exited, sleep(5000)]);
        if (!this.exitStatus) {
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                /* gone */
            }
            await Promise.race([this.exited, sleep(2000)]);
        }
    }

    async close(): Promise<void> {
        await this.stop();
    }

    /** The first acknowledgement of a write sent at or after `t`. */
    firstAckSentAfter(t: number): Ack | undefined {
        return this.acks.find((a) => a.sentAt >= t);
    }
}
