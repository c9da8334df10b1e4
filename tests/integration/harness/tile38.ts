import * as fs from "fs";
import * as path from "path";
import { busyboxSh, scriptEnv } from "./busybox";
import { ExitStatus, Harness } from "./processes";
import { RenderedStack } from "./render";

/**
 * Writes the TILE38_BIN recorder: a script that writes the command line it was started with to
 * $RECORD_FILE and exits. It serves NOTHING (no port, no protocol) and is no Tile38 stand-in:
 * it only shows which command the start script runs (the decision tests need no live Tile38; the
 * real tile38-server runs in the failover suite).
 */
export function writeRecorder(dir: string): string {
    const file = path.join(dir, "tile38-server-recorder");
    fs.writeFileSync(file, [`#!${busyboxSh()} sh`, `printf '%s\\n' "$0" "$@" > "$RECORD_FILE.tmp"`, `mv "$RECORD_FILE.tmp" "$RECORD_FILE"`, "exit 0", ""].join("\n"), { mode: 0o755 });
    return file;
}

export interface Tile38Run {
    status: ExitStatus;
    durationMs: number;
    log: string;
    /** argv the start script exec'd (argv[0] = TILE38_BIN), or undefined if it exec'd nothing. */
    exec?: string[];
    /** Parsed $DATA_DIR/config after the run, if present (JSON.parse must accept it). */
    config?: Record<string, unknown>;
    configMode?: number;
}

export interface Tile38RunOptions {
    stack: RenderedStack;
    /** Node index in the topology (its advertised host/port come from there). */
    index: number;
    dataDir: string;
    pathValue: string;
    recorder: string;
    tile38Password: string;
    sentinelPassword: string;
    timeoutMs?: number;
}

function nodeEnv(o: Tile38RunOptions, extra: Record<string, string> = {}): Record<string, string> {
    const node = o.stack.topo.nodes[o.index];
    return scriptEnv(o.pathValue, o.dataDir, {
        NODE_HOST: node.host,
        NODE_PORT: String(node.port),
        NODE_BIND: o.stack.cfg.docker.bindAddress,
        DATA_DIR: o.dataDir,
        TILE38_PASSWORD: o.tile38Password,
        SENTINEL_PASSWORD: o.sentinelPassword,
        TILE38_BIN: o.recorder,
        ...extra,
    });
}

/** Runs the rendered Tile38 start script under busybox sh until it exits (bounded). */
export async function runTile38Start(h: Harness, o: Tile38RunOptions): Promise<Tile38Run> {
    const record = path.join(h.dir(`exec-record-${o.index + 1}`), "argv");
    const r = await h.run(
        { name: `tile38-start-${o.index + 1}`, command: busyboxSh(), args: ["sh", o.stack.tile38Start], cwd: o.dataDir, env: nodeEnv(o, { RECORD_FILE: record }) },
        o.timeoutMs ?? 20000,
    );
    const conf = path.join(o.dataDir, "config");
    const run: Tile38Run = { status: r.status, durationMs: r.durationMs, log: r.log };
    if (fs.existsSync(record)) run.exec = fs.readFileSync(record, "utf8").split("\n").slice(0, -1);
    if (fs.existsSync(conf)) {
        const text = fs.readFileSync(conf, "utf8");
        try {
            run.config = JSON.parse(text) as Record<string, unknown>;
        } catch (e) {
            throw new Error(`the start script wrote invalid JSON to ${conf}: ${(e as Error).message}\n${text}`);
        }
        run.configMode = fs.statSync(conf).mode & 0o777;
    }
    return run;
}

/** Runs the rendered Tile38 stop (preStop) script under busybox sh until it exits (bounded). */
export async function runTile38Stop(h: Harness, o: Tile38RunOptions): Promise<Tile38Run> {
    const r = await h.run({ name: `tile38-stop-${o.index + 1}`, command: busyboxSh(), args: ["sh", o.stack.tile38Stop], cwd: o.dataDir, env: nodeEnv(o) }, o.timeoutMs ?? 30000);
    return { status: r.status, durationMs: r.durationMs, log: r.log };
}
