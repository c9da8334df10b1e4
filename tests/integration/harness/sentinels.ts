import * as path from "path";
import { busyboxSh, scriptEnv } from "./busybox";
import { Harness, ManagedProcess } from "./processes";
import { RenderedStack } from "./render";
import { resp } from "../../../components/status/resp";
import { GiveUp, waitFor } from "./wait";

export interface Passwords {
    tile38: string;
    sentinel: string;
}

export interface SentinelStart {
    /** The sentinel's own volume (its sentinel.conf is written here). */
    dataDir: string;
    /** Rendered template; default: this sentinel's template naming node 0. */
    template?: string;
    /** PATH from {@link busyboxPath} (must contain redis-server). */
    pathValue: string;
    passwords: Passwords;
    /** Bound on the wait for the sentinel to answer. @default 15000 */
    readyTimeoutMs?: number;
}

/** A running sentinel started by the real rendered start script under busybox sh. */
export interface RunningSentinel {
    index: number;
    port: number;
    dataDir: string;
    conf: string;
    template: string;
    proc: ManagedProcess;
}

export function sentinelConfPath(dataDir: string): string {
    return path.join(dataDir, "sentinel.conf");
}

/**
 * Starts sentinel `index` of `stack` with the rendered start script (REDIS_BIN=redis-server,
 * `busybox sh script`) and waits, bounded, until it answers an authenticated PING.
 */
export async function startSentinel(h: Harness, stack: RenderedStack, index: number, opts: SentinelStart): Promise<RunningSentinel> {
    const node = stack.topo.sentinels[index];
    const template = opts.template ?? stack.sentinelTemplate(index);
    const proc = h.start({
        name: `sentinel-${index + 1}`,
        command: busyboxSh(),
        args: ["sh", stack.sentinelStart],
        cwd: opts.dataDir,
        env: scriptEnv(opts.pathValue, opts.dataDir, {
            SELF: `${node.host}:${node.port}`,
            SENTINEL_TEMPLATE: template,
            DATA_DIR: opts.dataDir,
            REDIS_BIN: "redis-server",
            TILE38_PASSWORD: opts.passwords.tile38,
            SENTINEL_PASSWORD: opts.passwords.sentinel,
        }),
    });
    await waitFor(
        async () => {
            if (proc.status) throw new GiveUp(`sentinel ${index + 1} exited: ${JSON.stringify(proc.status)}`);
            return (await resp(node.port, ["PING"], opts.passwords.sentinel, { timeoutMs: 1000 })) === "PONG";
        },
        { timeoutMs: opts.readyTimeoutMs ?? 15000, what: `sentinel ${index + 1} on port ${node.port} to answer PING` },
    );
    return { index, port: node.port, dataDir: opts.dataDir, conf: sentinelConfPath(opts.dataDir), template, proc };
}
