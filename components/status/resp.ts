import * as net from "net";

/**
 * A tiny RESP2 client (the status command, the tests): one connection per call, every call bounded by a timeout.
 * Server errors are returned as {@link RespError} values (not thrown), so callers can tell them apart.
 */
export class RespError {
    constructor(readonly message: string) {}
    toString(): string {
        return `-${this.message}`;
    }
}

export type RespValue = string | number | null | RespError | RespValue[];

interface Parsed {
    value: RespValue;
    next: number;
}

/** Parses one RESP value from `buf` at `pos`; undefined when the buffer is incomplete. */
function parseAt(buf: Buffer, pos: number): Parsed | undefined {
    const eol = buf.indexOf("\r\n", pos);
    if (eol < 0) return undefined;
    const type = String.fromCharCode(buf[pos]);
    const line = buf.toString("utf8", pos + 1, eol);
    const after = eol + 2;
    switch (type) {
        case "+":
            return { value: line, next: after };
        case "-":
            return { value: new RespError(line), next: after };
        case ":":
            return { value: Number(line), next: after };
        case "$": {
            const len = Number(line);
            if (len < 0) return { value: null, next: after };
            if (buf.length < after + len + 2) return undefined;
            return { value: buf.toString("utf8", after, after + len), next: after + len + 2 };
        }
        case "*": {
            const n = Number(line);
            if (n < 0) return { value: null, next: after };
            const items: RespValue[] = [];
            let p = after;
            for (let i = 0; i < n; i++) {
                const item = parseAt(buf, p);
                if (!item) return undefined;
                items.push(item.value);
                p = item.next;
            }
            return { value: items, next: p };
        }
        default:
            throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
    }
}

function encode(args: (string | number)[]): Buffer {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) {
        const s = String(a);
        parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
    }
    return Buffer.from(parts.join(""));
}

export interface RespOptions {
    host?: string;
    /** Bound on the whole exchange (ms), not counting {@link holdMs}; default 3000. */
    timeoutMs?: number;
    /** Keep the connection open this long (ms) after the last reply, e.g. to stay registered as a replica; default 0. */
    holdMs?: number;
}

/** Sends `commands` on one connection and returns their replies in order. */
export function respPipeline(port: number, commands: (string | number)[][], opts: RespOptions = {}): Promise<RespValue[]> {
    const host = opts.host ?? "127.0.0.1";
    const timeoutMs = (opts.timeoutMs ?? 3000) + (opts.holdMs ?? 0);
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host, port });
        let buf = Buffer.alloc(0);
        const replies: RespValue[] = [];
        let done = false;
        const finish = (err?: Error) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            if (err) reject(err);
            else resolve(replies);
        };
        const timer = setTimeout(() => finish(new Error(`RESP ${commands.map((c) => c[0]).join(",")} to ${host}:${port} timed out after ${timeoutMs} ms`)), timeoutMs);
        sock.on("connect", () => sock.write(Buffer.concat(commands.map(encode))));
        // A complete reply ends with CRLF: chunks are only joined and parsed when one does (joining
        // and parsing a large reply at every chunk took 7 s for 50,000 points).
        let pending: Buffer[] = [];
        sock.on("data", (chunk: Buffer) => {
            pending.push(chunk);
            if (chunk.length < 2 || chunk[chunk.length - 2] !== 13 || chunk[chunk.length - 1] !== 10) return;
            buf = Buffer.concat([buf, ...pending]);
            pending = [];
            try {
                for (;;) {
                    const p = parseAt(buf, 0);
                    if (!p) break;
                    replies.push(p.value);
                    buf = buf.subarray(p.next);
                    if (replies.length === commands.length) {
                        if (opts.holdMs) setTimeout(finish, opts.holdMs);
                        else finish();
                        return;
                    }
                }
            } catch (e) {
                finish(e as Error);
            }
        });
        sock.on("error", (e) => finish(e));
        sock.on("close", () => (replies.length === commands.length ? finish() : finish(new Error(`${host}:${port} closed the connection after ${replies.length} of ${commands.length} replies`))));
    });
}

/**
 * One command, authenticated with `password` when given (an AUTH failure is thrown: use
 * {@link respPipeline} to assert auth errors).
 */
export async function resp(port: number, args: (string | number)[], password?: string, opts: RespOptions = {}): Promise<RespValue> {
    if (password === undefined) return (await respPipeline(port, [args], opts))[0];
    const [auth, reply] = await respPipeline(port, [["AUTH", password], args], opts);
    if (auth instanceof RespError) throw new Error(`AUTH to port ${port} failed: ${auth.message}`);
    return reply;
}

/** A flat [k1, v1, k2, v2, …] reply (SENTINEL MASTER, CONFIG GET) as a record. */
export function pairs(reply: RespValue): Record<string, string> {
    if (!Array.isArray(reply)) throw new Error(`expected an array reply, got ${String(reply)}`);
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
}
