/**
 * The "client pod" program: runs inside a pod sandbox of the simulator (its own network namespace,
 * the cluster DNS as its resolver) and does, on behalf of the test process, what an application
 * pod would: RESP calls to pods by name, and a sentinel-aware ioredis writer ({@link PointWriter}).
 * The test process cannot reach the pod network (nothing is routed from the host's namespace), so
 * it talks to this program over a Unix socket, which crosses network namespaces.
 *
 * Protocol (HTTP over the Unix socket given as argv[2], JSON bodies):
 * - `POST /pipeline {host, port, commands, timeoutMs, holdMs}` -> `{replies}`; server errors as
 *   `{"$err": msg}`; holdMs keeps the connection open after the last reply.
 * - `POST /writer/start {options, prefix, name}`, `GET /writer/acks?name=W&from=N` -> `{acks, errors}`,
 *   `POST /writer/stop?name=W` -> `{acks, errors, errorLog}`: writers by name (default "main"),
 *   several at once (e.g. one through the sentinels, one pinned to each node).
 */
import * as fs from "fs";
import * as http from "http";
import { respPipeline, RespError, RespValue } from "../../../components/status/resp";
import { PointWriter, WriterOptions } from "./writer";

/** A RESP value as JSON: errors become `{"$err": message}`. */
export type WireValue = string | number | null | { $err: string } | WireValue[];

function toWire(v: RespValue): WireValue {
    if (v instanceof RespError) return { $err: v.message };
    if (Array.isArray(v)) return v.map(toWire);
    return v;
}

async function body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function main(socketPath: string): void {
    const writers = new Map<string, PointWriter>();
    const server = http.createServer((req, res) => {
        const reply = (code: number, v: unknown) => {
            res.writeHead(code, { "content-type": "application/json" });
            res.end(JSON.stringify(v));
        };
        (async () => {
            const url = new URL(req.url ?? "/", "http://agent");
            const b = await body(req);
            switch (`${req.method} ${url.pathname}`) {
                case "POST /pipeline": {
                    const replies = await respPipeline(Number(b.port), b.commands as (string | number)[][], { host: String(b.host), timeoutMs: Number(b.timeoutMs ?? 3000), holdMs: Number(b.holdMs ?? 0) });
                    return reply(200, { replies: replies.map(toWire) });
                }
                case "POST /writer/start": {
                    const name = String(b.name ?? "main");
                    if (writers.has(name)) throw new Error(`writer ${name} runs already`);
                    const w = new PointWriter(b.options as WriterOptions, String(b.prefix ?? "p"));
                    writers.set(name, w);
                    w.start();
                    return reply(200, {});
                }
                case "GET /writer/acks": {
                    const w = writers.get(url.searchParams.get("name") ?? "main");
                    const from = Number(url.searchParams.get("from") ?? 0);
                    return reply(200, { acks: w?.acks.slice(from) ?? [], errors: w?.errors ?? 0 });
                }
                case "POST /writer/stop": {
                    const name = url.searchParams.get("name") ?? "main";
                    const w = writers.get(name);
                    writers.delete(name);
                    if (w) await w.close();
                    return reply(200, { acks: w?.acks ?? [], errors: w?.errors ?? 0, errorLog: w?.errorLog ?? [] });
                }
                default:
                    return reply(404, { error: `no ${req.method} ${url.pathname}` });
            }
        })().catch((e: unknown) => reply(500, { error: e instanceof Error ? e.message : String(e) }));
    });
    fs.rmSync(socketPath, { force: true });
    server.listen(socketPath, () => process.stdout.write(`client agent listening on ${socketPath}\n`));
    const stop = () => server.close(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

if (require.main === module) main(process.argv[2]);
