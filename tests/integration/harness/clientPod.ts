/**
 * Test-side handle of the client pod (clientAgent.ts): a Node process in a sandbox of its own on
 * the simulated pod network, reached over a Unix socket. Every call is bounded.
 */
import * as http from "http";
import * as path from "path";
import type { WireValue } from "./clientAgent";
import { PodSimulator } from "./podSim";
import { RespError, RespValue } from "../../../components/status/resp";
import { waitFor } from "./wait";
import { Ack, WriteError, WriterOptions } from "./writer";

function fromWire(v: WireValue): RespValue {
    if (Array.isArray(v)) return v.map(fromWire);
    if (v !== null && typeof v === "object") return new RespError(v.$err);
    return v;
}

export class ClientPod {
    private constructor(
        readonly socketPath: string,
        private readonly stopAgent: () => Promise<void>,
    ) {}

    /**
     * The agent at `socketPath` (a real pod's, on a host directory it mounts); waits (bounded) until
     * it answers. `gone` says why the agent cannot answer any more (it exited), or undefined.
     */
    static async connect(socketPath: string, stop: () => Promise<void>, gone: () => string | undefined, timeoutMs = 60_000): Promise<ClientPod> {
        const c = new ClientPod(socketPath, stop);
        await waitFor(
            async () => {
                const why = gone();
                if (why) throw new Error(`client agent exited: ${why}`);
                await c.request("GET", "/writer/acks", undefined, 2000);
                return true;
            },
            { timeoutMs, what: "the client pod's agent", intervalMs: 200 },
        );
        return c;
    }

    /** Starts the agent in a new sandbox of `sim` and waits (bounded) until it answers. */
    static async start(sim: PodSimulator, name = "client-0"): Promise<ClientPod> {
        const socketPath = path.join(sim.h.dir("client"), "agent.sock");
        const agent = path.join(__dirname, "clientAgent.ts");
        const { proc } = sim.startAux(name, process.execPath, ["-r", "ts-node/register/transpile-only", agent, socketPath], {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: process.env.HOME ?? "/root",
            TS_NODE_TRANSPILE_ONLY: "true",
            TS_NODE_PROJECT: path.join(__dirname, "..", "..", "..", "tsconfig.dev.json"),
        });
        return ClientPod.connect(
            socketPath,
            () => proc.stop(3000),
            () => (proc.status ? proc.tail(20) : undefined),
        );
    }

    private request<T>(method: string, urlPath: string, payload: unknown, timeoutMs: number): Promise<T> {
        return new Promise((resolve, reject) => {
            const req = http.request({ socketPath: this.socketPath, agent: false, method, path: urlPath, timeout: timeoutMs, headers: { "content-type": "application/json" } }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const v = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as T & { error?: string };
                    if (res.statusCode !== 200) reject(new Error(`client agent ${method} ${urlPath}: ${v.error ?? res.statusCode}`));
                    else resolve(v);
                });
            });
            req.on("timeout", () => req.destroy(new Error(`client agent ${method} ${urlPath} timed out after ${timeoutMs} ms`)));
            req.on("error", reject);
            req.end(payload === undefined ? undefined : JSON.stringify(payload));
        });
    }

    /**
     * Commands on one connection to `host:port` from inside the pod network; the connection stays
     * open `holdMs` after the last reply.
     */
    async pipeline(host: string, port: number, commands: (string | number)[][], timeoutMs = 3000, holdMs = 0): Promise<RespValue[]> {
        const r = await this.request<{ replies: WireValue[] }>("POST", "/pipeline", { host, port, commands, timeoutMs, holdMs }, timeoutMs + holdMs + 2000);
        return r.replies.map(fromWire);
    }

    /** One command, after AUTH when a password is given (an AUTH failure is thrown). */
    async call(host: string, port: number, args: (string | number)[], password?: string, timeoutMs = 3000): Promise<RespValue> {
        if (password === undefined) return (await this.pipeline(host, port, [args], timeoutMs))[0];
        const [auth, reply] = await this.pipeline(host, port, [["AUTH", password], args], timeoutMs);
        if (auth instanceof RespError) throw new Error(`AUTH to ${host}:${port} failed: ${auth.message}`);
        return reply;
    }

    /** Starts a writer named `name`: through the sentinels (ioredis, as the docs tell users to connect), or pinned (`options.direct`). */
    async startWriter(options: WriterOptions, prefix = "p", name = "main"): Promise<void> {
        await this.request("POST", "/writer/start", { options, prefix, name }, 5000);
    }

    /** Acknowledged writes of writer `name` so far, from index `from`. */
    async acks(from = 0, name = "main"): Promise<{ acks: Ack[]; errors: number }> {
        return this.request("GET", `/writer/acks?from=${from}&name=${encodeURIComponent(name)}`, undefined, 5000);
    }

    /** Stops writer `name`; every acknowledged write, and every failed one. */
    async stopWriter(name = "main"): Promise<{ acks: Ack[]; errors: number; errorLog: WriteError[] }> {
        return this.request("POST", `/writer/stop?name=${encodeURIComponent(name)}`, undefined, 15_000);
    }

    async stop(): Promise<void> {
        await this.stopAgent();
    }
}
